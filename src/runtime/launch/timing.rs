//! Timing launches: timestamp query pools, the repetition loop that kernels and the copy
//! reference share, and the figures of the timed repetitions.
use ash::vk;

use super::super::device::Context;
use super::super::{vk_error, RuntimeError, Timing};
use super::{memory_barrier, Scope};

/// A timestamp query pool, destroyed on drop.
pub(super) struct Queries<'a> {
    device: &'a ash::Device,
    pub(super) pool: vk::QueryPool,
    pub(super) count: u32,
}

impl<'a> Queries<'a> {
    pub(super) fn new(context: &'a Context, count: u32) -> Result<Queries<'a>, RuntimeError> {
        let info = vk::QueryPoolCreateInfo::default()
            .query_type(vk::QueryType::TIMESTAMP)
            .query_count(count);
        // SAFETY: object creation on a live device.
        let pool = unsafe { context.device.create_query_pool(&info, None) }
            .map_err(vk_error("vkCreateQueryPool"))?;
        Ok(Queries {
            device: &context.device,
            pool,
            count,
        })
    }

    pub(super) fn write(&self, command_buffer: vk::CommandBuffer, query: u32) {
        // SAFETY: recording into a command buffer in the recording state; query < count.
        unsafe {
            self.device.cmd_write_timestamp(
                command_buffer,
                vk::PipelineStageFlags::BOTTOM_OF_PIPE,
                self.pool,
                query,
            )
        };
    }

    /// Durations in ns of the query pairs (2i, 2i+1).
    pub(super) fn durations(&self, context: &Context) -> Result<Vec<f64>, RuntimeError> {
        let mut ticks = vec![0u64; self.count as usize];
        // SAFETY: the submission that wrote the queries has completed.
        unsafe {
            self.device.get_query_pool_results(
                self.pool,
                0,
                &mut ticks,
                vk::QueryResultFlags::TYPE_64 | vk::QueryResultFlags::WAIT,
            )
        }
        .map_err(vk_error("vkGetQueryPoolResults"))?;
        let period = context.limits.timestamp_period as f64;
        let mask = context.timestamp_mask;
        Ok(ticks
            .chunks_exact(2)
            .map(|pair| (pair[1].wrapping_sub(pair[0]) & mask) as f64 * period)
            .collect())
    }
}

impl Drop for Queries<'_> {
    fn drop(&mut self) {
        // SAFETY: the pool's submission has completed (every path waits for the fence).
        unsafe { self.device.destroy_query_pool(self.pool, None) };
    }
}

/// How many timed dispatches to record, and whether to read results back.
pub(super) struct Runs {
    pub(super) warmup: u32,
    pub(super) timed: u32,
    pub(super) read_back: bool,
}

/// The `q`-quantile (0..=1) of sorted durations, by nearest rank (0 when empty).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// 20th and 80th percentiles of some durations.
fn p20_p80(mut durations: Vec<f64>) -> (f64, f64) {
    durations.sort_by(|a, b| a.total_cmp(b));
    (quantile(&durations, 0.2), quantile(&durations, 0.8))
}

/// The figures of some timed repetitions: median, min, p20 and p80 of their durations.
pub(super) fn summarise(durations: Vec<f64>, iterations: u32, bytes: Option<u64>) -> Timing {
    let (p20_ns, p80_ns) = p20_p80(durations.clone());
    let (median_ns, min_ns) = median_and_min(durations);
    Timing {
        median_ns,
        min_ns,
        p20_ns,
        p80_ns,
        iterations,
        bytes,
    }
}

/// Records `runs.warmup + runs.timed` repetitions of one command (`record`), the barrier
/// `between` (source and destination scopes) before each repetition but the first, and a
/// timestamp pair around each timed one. Kernels and the copy reference are timed by this one
/// loop, so that their figures compare.
pub(super) fn record_repetitions(
    device: &ash::Device,
    command_buffer: vk::CommandBuffer,
    queries: Option<&Queries>,
    runs: &Runs,
    between: (Scope, Scope),
    mut record: impl FnMut(),
) {
    for iteration in 0..runs.warmup + runs.timed {
        let timed = iteration.checked_sub(runs.warmup);
        if iteration > 0 {
            memory_barrier(device, command_buffer, between.0, between.1);
        }
        if let (Some(queries), Some(t)) = (queries, timed) {
            queries.write(command_buffer, 2 * t);
        }
        record();
        if let (Some(queries), Some(t)) = (queries, timed) {
            queries.write(command_buffer, 2 * t + 1);
        }
    }
}

fn median_and_min(mut durations: Vec<f64>) -> (f64, f64) {
    durations.sort_by(|a, b| a.total_cmp(b));
    let n = durations.len();
    if n == 0 {
        return (0.0, 0.0);
    }
    let median = if n % 2 == 1 {
        durations[n / 2]
    } else {
        (durations[n / 2 - 1] + durations[n / 2]) / 2.0
    };
    (median, durations[0])
}

#[cfg(test)]
mod tests {
    #[test]
    fn percentiles_by_nearest_rank() {
        let d: Vec<f64> = (1..=11).map(|v| v as f64).collect();
        assert_eq!(super::p20_p80(d.clone()), (3.0, 9.0));
        assert_eq!(super::median_and_min(d), (6.0, 1.0));
        assert_eq!(super::p20_p80(vec![]), (0.0, 0.0));
    }
}
