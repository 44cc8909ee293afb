//! Submitting recorded commands on the device's one command buffer and fence, with the faults
//! tests inject at each step.
use ash::vk;

use super::super::device::{Context, State};
use super::super::{vk_error, RuntimeError};

/// Records commands into the device's one command buffer, submits them and waits for them.
///
/// The fence is waited for only after a submission that signals it was made, and reset only
/// after that wait succeeded. When a wait fails the submission may still be running: the fence
/// stays marked pending and the next call waits for that work before reusing the command
/// buffer and the fence. So no wait is ever for a fence nothing will signal, and an error at
/// any step leaves the device usable by the next launch (of this thread or another).
pub(super) fn submit(
    context: &Context,
    state: &State,
    record: impl FnOnce(&ash::Device, vk::CommandBuffer),
) -> Result<(), RuntimeError> {
    let device = &context.device;
    let command_buffer = state.command_buffer;
    if state.fence_pending.get() {
        wait_and_reset(context, state)?;
    }
    // SAFETY: the command buffer is idle (the previous submission was waited for) and owned by
    // the state lock the caller holds.
    unsafe {
        fault(SubmitStep::Reset)?;
        device
            .reset_command_buffer(command_buffer, vk::CommandBufferResetFlags::empty())
            .map_err(vk_error("vkResetCommandBuffer"))?;
        fault(SubmitStep::Begin)?;
        device
            .begin_command_buffer(
                command_buffer,
                &vk::CommandBufferBeginInfo::default()
                    .flags(vk::CommandBufferUsageFlags::ONE_TIME_SUBMIT),
            )
            .map_err(vk_error("vkBeginCommandBuffer"))?;
        fault(SubmitStep::Record)?;
        record(device, command_buffer);
        fault(SubmitStep::End)?;
        device
            .end_command_buffer(command_buffer)
            .map_err(vk_error("vkEndCommandBuffer"))?;
        let command_buffers = [command_buffer];
        let submits = [vk::SubmitInfo::default().command_buffers(&command_buffers)];
        fault(SubmitStep::Submit)?;
        // A failed submission leaves the fence as it was: unsignaled and not pending.
        device
            .queue_submit(context.queue, &submits, state.fence)
            .map_err(vk_error("vkQueueSubmit"))?;
    }
    state.fence_pending.set(true);
    wait_and_reset(context, state)
}

/// Waits for the pending submission's fence and resets it. On failure the fence stays pending
/// (and the next submission waits for it again). Without a timeout the wait fails only when the
/// device is lost, after which nothing counts as pending any more and the caller may free the
/// submission's buffers (or out of host or device memory).
fn wait_and_reset(context: &Context, state: &State) -> Result<(), RuntimeError> {
    debug_assert!(
        state.fence_pending.get(),
        "waiting for a fence never submitted"
    );
    let device = &context.device;
    // SAFETY: the fence belongs to this device and a submission that signals it was made.
    unsafe {
        device
            .wait_for_fences(&[state.fence], true, u64::MAX)
            .map_err(vk_error("vkWaitForFences"))?;
        fault(SubmitStep::Wait)?;
        state.fence_pending.set(false);
        device
            .reset_fences(&[state.fence])
            .map_err(vk_error("vkResetFences"))?;
    }
    Ok(())
}

/// The steps of `submit` a test can make fail, as if the Vulkan call had failed.
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::runtime) enum SubmitStep {
    Reset,
    Begin,
    End,
    Submit,
    /// The wait for the fence, failing after the work ended (as a device lost after it would).
    Wait,
    /// Recording, where the injected fault is a panic, as an internal bug would be.
    Record,
}

#[cfg(test)]
thread_local! {
    /// The step at which the calling thread's next `submit` fails (tests only).
    pub(in crate::runtime) static FAIL_AT: std::cell::Cell<Option<SubmitStep>> =
        const { std::cell::Cell::new(None) };
}

/// Fails `step` when a test asked for it on this thread; nothing outside tests.
fn fault(step: SubmitStep) -> Result<(), RuntimeError> {
    #[cfg(test)]
    if FAIL_AT.with(|at| at.get() == Some(step)) {
        FAIL_AT.with(|at| at.set(None));
        if step == SubmitStep::Record {
            panic!("a panic injected by a test while recording");
        }
        return Err(RuntimeError::Vulkan {
            call: format!("{step:?} (injected by a test)"),
            result: "ERROR_UNKNOWN".to_string(),
        });
    }
    let _ = step;
    Ok(())
}
