//! Several threads at once on the Vulkan device (lavapipe here, under the validation layer):
//! threads with a device each, opened and closed while the others launch; threads sharing one
//! device and one pipeline, with pipelines loaded and dropped and the pipeline cache imported and
//! exported between their launches; and the `tk::api` types shared the same way. The kernels are
//! atomics under contention (a counter, a histogram, a compare-and-swap claim) and safe-mode
//! out-of-bounds accesses, so error paths run concurrently with successful launches. Every result
//! is checked, and every error must be the one its own launch caused.
mod common;

use common::*;
use std::io::Write;
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};
use tk::abi::Artifact;
use tk::base::{KernelArg, ScalarType};
use tk::driver::{self, BuildOptions, Source};
use tk::runtime::{Device, Pipeline, RuntimeError};

/// 2 × 128 lanes add 1 to one counter; the old values are a permutation of 0..n.
const COUNTER: &str = "kernel k(c: *mut i32, old: *mut i32, n: i32) {
    let offs = program_id(0) * 128 + arange(0, 128);
    let o = atomic_add(c + offs * 0, 1, mask: offs < n);
    store(old + offs, o, mask: offs < n);
}";

const HISTOGRAM: &str = "kernel k(x: *i32, h: *mut i32, n: i32) {
    let offs = program_id(0) * 256 + arange(0, 256);
    let m = offs < n;
    atomic_add(h + load(x + offs, mask: m), 1, mask: m);
}";

/// Each program claims slot `pid % 8` only if it is still 0: exactly 8 programs win.
const CLAIM: &str = "kernel k(slots: *mut i32, won: *mut i32) {
    let pid = program_id(0);
    let o = atomic_cas(slots + pid % 8, 0, pid + 1);
    store(won + pid, where(o == 0, 1, 0));
}";

/// Adds 1 to 16 elements of `c`: with fewer than 16 the launch reports the first one past the end.
const SIXTEEN: &str = "kernel k(c: *mut i32) {
    let r = arange(0, 16);
    atomic_add(c + r, 1);
}";

/// The four kernels, compiled once (the compiler is not what this test stresses).
struct Kernels {
    counter: Artifact,
    histogram: Artifact,
    claim: Artifact,
    sixteen: Artifact,
}

impl Kernels {
    /// Compiles kernel `k` of each source in safe mode for `device`.
    fn new(device: &Device) -> Kernels {
        let target = device.target();
        let build = |source| {
            let source = Source::new("concurrency.tk", source);
            driver::build(&source, "k", &[], &target, &BuildOptions::default())
                .expect("builds")
                .artifact
        };
        Kernels {
            counter: build(COUNTER),
            histogram: build(HISTOGRAM),
            claim: build(CLAIM),
            sixteen: build(SIXTEEN),
        }
    }
}

struct Loaded {
    counter: Pipeline,
    histogram: Pipeline,
    claim: Pipeline,
    sixteen: Pipeline,
}

impl Loaded {
    fn new(device: &Device, kernels: &Kernels) -> Loaded {
        let load = |artifact| {
            device
                .load(artifact)
                .unwrap_or_else(|e| panic!("load: {e}"))
        };
        Loaded {
            counter: load(&kernels.counter),
            histogram: load(&kernels.histogram),
            claim: load(&kernels.claim),
            sixteen: load(&kernels.sixteen),
        }
    }
}

fn launch(device: &Device, pipeline: &Pipeline, args: &mut [KernelArg], programs: u32) {
    device
        .launch(pipeline, args, [programs, 1, 1])
        .unwrap_or_else(|e| panic!("launch: {e}"));
}

/// One round of every kernel with data that depends on `seed`; every result is checked.
fn round(device: &Device, pipelines: &Loaded, seed: u64, phase: Phase) {
    // The counter: `n` adds under contention, each old value returned exactly once.
    phase.at("launching the counter");
    let n = 200 + (seed % 56) as usize;
    let start = seed as i32 % 1000;
    let mut args = vec![
        i32_buffer(&[start]),
        zeros(ScalarType::I32, n),
        int(n as i64),
    ];
    launch(
        device,
        &pipelines.counter,
        &mut args,
        n.div_ceil(128) as u32,
    );
    assert_eq!(
        buffer(&args, 0).to_i32(),
        vec![start + n as i32],
        "seed {seed}"
    );
    let mut olds = buffer(&args, 1).to_i32();
    olds.sort();
    assert_eq!(
        olds,
        (start..start + n as i32).collect::<Vec<_>>(),
        "seed {seed}"
    );

    // The histogram of random bins.
    phase.at("launching the histogram");
    let n = 700;
    let x = random_i32(n, seed, 0, 16);
    let mut expected = vec![0; 16];
    for &v in &x {
        expected[v as usize] += 1;
    }
    let mut args = vec![i32_buffer(&x), zeros(ScalarType::I32, 16), int(n as i64)];
    launch(
        device,
        &pipelines.histogram,
        &mut args,
        n.div_ceil(256) as u32,
    );
    assert_eq!(buffer(&args, 1).to_i32(), expected, "seed {seed}");

    // The compare-and-swap claim: one winner per slot, and the slot names it.
    phase.at("launching the claim");
    let programs = 16 + (seed % 17) as usize;
    let mut args = vec![zeros(ScalarType::I32, 8), zeros(ScalarType::I32, programs)];
    launch(device, &pipelines.claim, &mut args, programs as u32);
    let (slots, won) = (buffer(&args, 0).to_i32(), buffer(&args, 1).to_i32());
    assert_eq!(won.iter().sum::<i32>(), 8, "seed {seed}");
    for (slot, &winner) in slots.iter().enumerate() {
        let p = (winner - 1) as usize;
        assert_eq!((p % 8, won[p]), (slot, 1), "seed {seed}");
    }

    // An out-of-bounds report: the first element past the end, and nothing stored past it.
    phase.at("launching out of bounds");
    let len = 4 + (seed % 8) as usize;
    let mut args = vec![zeros(ScalarType::I32, len)];
    match device.launch(&pipelines.sixteen, &mut args, [1, 1, 1]) {
        Err(RuntimeError::OutOfBounds {
            param,
            index,
            store,
            ..
        }) => {
            assert_eq!(param, "c");
            assert!(index >= len as i64 && index < 16, "index {index} of {len}");
            assert!(store);
        }
        other => panic!("seed {seed}: expected an out-of-bounds report, got {other:?}"),
    }
    assert_eq!(buffer(&args, 0).to_i32(), vec![1; len], "seed {seed}");
    // The same pipeline in bounds right after its error.
    let mut args = vec![i32_buffer(&[seed as i32; 16])];
    launch(device, &pipelines.sixteen, &mut args, 1);
    assert_eq!(buffer(&args, 0).to_i32(), vec![seed as i32 + 1; 16]);
}

/// What each thread is doing, so that threads which do not finish in time say where they are.
struct Phases(Mutex<Vec<&'static str>>);

/// One thread's handle on the phases.
#[derive(Clone, Copy)]
struct Phase<'a> {
    phases: &'a Phases,
    thread: usize,
}

impl Phase<'_> {
    fn at(self, phase: &'static str) {
        self.phases.0.lock().unwrap_or_else(|p| p.into_inner())[self.thread] = phase;
    }
}

/// Runs `work` on `threads` threads. When they have not all finished after `limit` it names
/// where each thread is and ends the process (a hang would otherwise stop the test binary with
/// no word of where; the captured output of the test would be lost, so this writes to stderr
/// directly).
fn on_threads(threads: usize, limit: Duration, work: impl Fn(Phase) + Sync) {
    let phases = Phases(Mutex::new(vec!["starting"; threads]));
    let (done, finished) = mpsc::channel();
    std::thread::scope(|scope| {
        let (work, phases) = (&work, &phases);
        for thread in 0..threads {
            let done = done.clone();
            scope.spawn(move || {
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    work(Phase { phases, thread })
                }));
                let _ = done.send((thread, result.is_ok()));
                if let Err(panic) = result {
                    std::panic::resume_unwind(panic);
                }
            });
        }
        let deadline = Instant::now() + limit;
        let mut failed = Vec::new();
        for _ in 0..threads {
            let left = deadline.saturating_duration_since(Instant::now());
            match finished.recv_timeout(left) {
                Ok((thread, ok)) => {
                    if !ok {
                        failed.push(thread);
                    }
                }
                Err(_) => {
                    let phases = phases.0.lock().unwrap_or_else(|p| p.into_inner());
                    let mut stderr = std::io::stderr();
                    let _ = writeln!(stderr, "threads still running after {limit:?}:");
                    for (thread, phase) in phases.iter().enumerate() {
                        let _ = writeln!(stderr, "  thread {thread}: {phase}");
                    }
                    std::process::exit(101);
                }
            }
        }
        assert!(failed.is_empty(), "threads {failed:?} failed");
    });
}

const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn threads_with_their_own_devices() {
    // Each thread opens its device twice: devices are created and destroyed while the other
    // threads launch. As many threads as cores, from 4 to 12: on a GPU machine about as many
    // devices at once as the atomics test binary opens with its default test threads (where it
    // hung on an NVIDIA H200), on lavapipe's 2 cores still several.
    let threads = std::thread::available_parallelism().map_or(4, |n| n.get().clamp(4, 12));
    on_threads(threads, LIMIT, |phase| {
        let t = phase.thread;
        for life in 0..2 {
            phase.at("opening a device");
            let device = device();
            phase.at("compiling");
            let kernels = Kernels::new(&device);
            for pass in 0..2 {
                phase.at("loading pipelines");
                let pipelines = Loaded::new(&device, &kernels);
                for r in 0..2 {
                    let seed = (t * 100 + life * 10 + pass * 3 + r) as u64;
                    round(&device, &pipelines, seed, phase);
                }
                phase.at("dropping pipelines");
            }
            phase.at("closing the device");
            device.close().unwrap_or_else(|e| panic!("close: {e}"));
        }
        phase.at("done");
    });
}

#[test]
fn threads_sharing_one_device_and_pipeline() {
    let device = device();
    let kernels = Kernels::new(&device);
    let pipelines = Loaded::new(&device, &kernels);
    on_threads(4, LIMIT, |phase| {
        let t = phase.thread;
        for r in 0..6 {
            round(&device, &pipelines, (t * 100 + r) as u64, phase);
            // Loads and drops between the other threads' launches, and the pipeline cache
            // exported and merged back while pipelines are being made.
            phase.at("loading a pipeline of its own");
            let extra = device.load(&kernels.counter).expect("load");
            let mut args = vec![i32_buffer(&[0]), zeros(ScalarType::I32, 128), int(128)];
            phase.at("launching its own pipeline");
            launch(&device, &extra, &mut args, 1);
            assert_eq!(buffer(&args, 0).to_i32(), vec![128]);
            phase.at("dropping its own pipeline");
            drop(extra);
            if r % 2 == t % 2 {
                phase.at("exporting and importing the pipeline cache");
                let data = device.export_pipeline_cache().expect("export");
                assert!(device.import_pipeline_cache(&data).expect("import"));
            }
        }
        phase.at("done");
    });
    drop(pipelines);
    device.close().unwrap_or_else(|e| panic!("close: {e}"));
}

#[test]
fn api_contexts_and_kernels_are_shared_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<tk::api::Context>();
    send_sync::<tk::api::Kernel>();
    let dir = std::env::temp_dir().join(format!("tk-concurrency-api-{}", std::process::id()));
    let ctx = tk::api::Context::with_device(device()).with_cache_dir(&dir);
    let kernel = tk::api::Kernel::from_source(&ctx, "counter.tk", COUNTER, "k", &[])
        .unwrap_or_else(|e| panic!("{e}"));
    on_threads(4, LIMIT, |phase| {
        let t = phase.thread;
        phase.at("launching through the API");
        for r in 0..5 {
            let n = 100 + 10 * t + r;
            let mut counter = tk::api::Buffer::from_slice(&[t as i32]);
            let mut old = tk::api::Buffer::<i32>::zeros(n);
            kernel
                .launch(&ctx)
                .arg("c", &mut counter)
                .arg("old", &mut old)
                .arg("n", n as i32)
                .grid([n.div_ceil(128) as u32, 1, 1])
                .run()
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(counter.to_vec(), vec![(t + n) as i32]);
            let mut olds = old.to_vec();
            olds.sort();
            assert_eq!(olds, (t as i32..(t + n) as i32).collect::<Vec<_>>());
        }
        phase.at("done");
    });
    drop(kernel);
    drop(ctx);
    let _ = std::fs::remove_dir_all(&dir);
}
