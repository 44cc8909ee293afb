//! The runtime under several threads, made deterministic: validation messages go to the thread
//! whose call caused them, a merge into the pipeline cache waits for pipelines being made, a
//! failure at any step of a submission (or a panic while recording) leaves a shared device
//! usable, and the extensions a validation layer predates follow from its version. Every test
//! that could hang runs under a time limit and fails instead.
use std::sync::mpsc;
use std::time::Duration;

use ash::vk;

use super::device::predated_by_layer;
use super::launch::{SubmitStep, FAIL_AT};
use super::tests::{add_args, add_artifact, open, output_f32};
use super::{LeftOutExtension, RuntimeError};

/// Runs `work` on its own thread and fails the test if it takes longer than `limit` (a hang
/// would otherwise stop the whole test binary).
fn within(limit: Duration, work: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        work();
        let _ = done.send(());
    });
    match finished.recv_timeout(limit) {
        Ok(()) => worker.join().expect("the worker finished"),
        // The worker panicked: report its panic.
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = worker.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("still running after {limit:?}: it hangs"),
    }
}

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn validation_messages_reach_the_thread_whose_call_caused_them() {
    within(LIMIT, || {
        let device = open();
        let pipeline = device.load(&add_artifact()).expect("load");
        let (broke, rule_broken) = mpsc::channel();
        let (launched, main_launched) = mpsc::channel();
        std::thread::scope(|scope| {
            let device = &device;
            scope.spawn(move || {
                // A buffer without usage flags breaks a rule the layer checks; this thread does
                // not look at the report until the other thread has launched.
                let info = vk::BufferCreateInfo::default().size(16);
                // SAFETY: an invalid create info on purpose; the layer reports it (and refuses
                // the call), and a buffer made anyway is destroyed at once.
                unsafe {
                    if let Ok(buffer) = device.context.device.create_buffer(&info, None) {
                        device.context.device.destroy_buffer(buffer, None);
                    }
                }
                broke.send(()).expect("main thread waits");
                main_launched.recv().expect("main thread launched");
                match device.context.check_validation() {
                    Err(RuntimeError::Validation { messages }) => {
                        assert!(messages.iter().any(|m| m.contains("usage")), "{messages:?}")
                    }
                    other => panic!("the breaking thread must get its report, got {other:?}"),
                }
            });
            rule_broken.recv().expect("the other thread broke a rule");
            // This thread's launch is clean: the other thread's report is not its error.
            let x: Vec<f32> = (0..64).map(|i| i as f32).collect();
            let mut args = add_args(&x, 1.0);
            let launch = device.launch(&pipeline, &mut args, [1, 1, 1]);
            launched.send(()).expect("the other thread waits");
            launch.expect("a clean launch beside another thread's validation error");
        });
        drop(pipeline);
        device
            .close()
            .expect("every report was taken by its thread");
    });
}

#[test]
fn a_pipeline_cache_merge_waits_for_pipelines_being_made() {
    within(LIMIT, || {
        let device = open();
        let data = device.export_pipeline_cache().expect("export");
        // Held as `load` holds it while it makes a pipeline through the cache.
        let making = device.context.share_pipeline_cache();
        let (done, merged) = mpsc::channel();
        std::thread::scope(|scope| {
            let (device, data) = (&device, &data);
            scope.spawn(move || {
                done.send(device.import_pipeline_cache(data))
                    .expect("waited for");
            });
            assert!(
                merged.recv_timeout(Duration::from_millis(300)).is_err(),
                "the merge ran while a pipeline was being made through the cache"
            );
            drop(making);
            let result = merged.recv_timeout(LIMIT).expect("the merge ends");
            assert_eq!(result, Ok(true));
        });
        device.close().expect("no validation errors");
    });
}

#[test]
fn a_failure_at_any_step_of_a_submission_leaves_the_device_usable() {
    within(LIMIT, || {
        let device = open();
        let pipeline = device.load(&add_artifact()).expect("load");
        let x: Vec<f32> = (0..200).map(|i| i as f32).collect();
        let steps = [
            SubmitStep::Reset,
            SubmitStep::Begin,
            SubmitStep::End,
            SubmitStep::Submit,
            SubmitStep::Wait,
        ];
        for step in steps {
            FAIL_AT.with(|at| at.set(Some(step)));
            let mut args = add_args(&x, 1.0);
            match device.launch(&pipeline, &mut args, [4, 1, 1]) {
                Err(RuntimeError::Vulkan { call, .. }) => {
                    assert!(call.starts_with(&format!("{step:?}")), "{step:?}: {call}")
                }
                other => panic!("{step:?}: expected the injected failure, got {other:?}"),
            }
            // The next launch runs and is right: it neither waits for a fence nothing signals
            // nor submits with one still signaled.
            let mut args = add_args(&x, 2.0);
            device
                .launch(&pipeline, &mut args, [4, 1, 1])
                .unwrap_or_else(|e| panic!("the launch after a failed {step:?}: {e}"));
            let expected: Vec<f32> = x.iter().map(|v| v + 2.0).collect();
            assert_eq!(output_f32(&args, 1), expected, "after {step:?}");
        }
        drop(pipeline);
        device.close().expect("no validation errors");
    });
}

#[test]
fn a_panic_in_one_threads_launch_leaves_a_shared_device_usable() {
    within(LIMIT, || {
        let device = open();
        let pipeline = device.load(&add_artifact()).expect("load");
        let x: Vec<f32> = (0..100).map(|i| i as f32).collect();
        std::thread::scope(|scope| {
            let (device, pipeline, x) = (&device, &pipeline, &x);
            let panicked = scope
                .spawn(move || {
                    FAIL_AT.with(|at| at.set(Some(SubmitStep::Record)));
                    let mut args = add_args(x, 1.0);
                    let _ = device.launch(pipeline, &mut args, [2, 1, 1]);
                })
                .join();
            assert!(panicked.is_err(), "the injected panic happened");
        });
        // Another thread's launch on the same device still gets the allocator and its buffers.
        for s in [3.0, 4.0] {
            let mut args = add_args(&x, s);
            device
                .launch(&pipeline, &mut args, [2, 1, 1])
                .unwrap_or_else(|e| panic!("a launch after another thread's panic: {e}"));
            let expected: Vec<f32> = x.iter().map(|v| v + s).collect();
            assert_eq!(output_f32(&args, 1), expected);
        }
        assert_eq!(
            device.tests_allocated_bytes(),
            0,
            "the panicking launch freed its buffers"
        );
        drop(pipeline);
        device.close().expect("no validation errors");
    });
}

/// Debian's layer 1.3.239 on a device offering every optional extension: only
/// `VK_KHR_cooperative_matrix` (Vulkan 1.3.255) is newer.
#[test]
fn extensions_newer_than_the_validation_layer_are_left_out() {
    let all = [
        ash::khr::_8bit_storage::NAME,
        ash::khr::shader_float16_int8::NAME,
        ash::ext::shader_atomic_float::NAME,
        ash::khr::cooperative_matrix::NAME,
        ash::khr::swapchain::NAME,
    ];
    let debian = vk::make_api_version(0, 1, 3, 239);
    let left = predated_by_layer(debian, &all);
    assert_eq!(
        left,
        vec![LeftOutExtension {
            extension: "VK_KHR_cooperative_matrix".into(),
            introduced: (1, 3, 255),
            layer: (1, 3, 239),
        }]
    );
    assert_eq!(
        left[0].to_string(),
        "validation layer 1.3.239 predates VK_KHR_cooperative_matrix (Vulkan 1.3.255): left out \
         under validation"
    );
    // The header that brought the extension knows it; one before does not.
    let at = |patch| vk::make_api_version(0, 1, 3, patch);
    assert!(predated_by_layer(at(255), &all).is_empty());
    assert_eq!(predated_by_layer(at(254), &all).len(), 1);
    // Only offered extensions are considered.
    assert!(predated_by_layer(debian, &all[..3]).is_empty());
    // An old layer (Vulkan 1.2.131) predates the float atomics and cooperative matrices, not
    // 8-bit storage or float16/int8.
    let old: Vec<String> = predated_by_layer(vk::make_api_version(0, 1, 2, 131), &all)
        .into_iter()
        .map(|left| left.extension)
        .collect();
    assert_eq!(
        old,
        ["VK_EXT_shader_atomic_float", "VK_KHR_cooperative_matrix"]
    );
    let ancient = predated_by_layer(vk::make_api_version(0, 1, 1, 70), &all);
    assert_eq!(ancient.len(), 4);
}

/// On this machine's devices, whatever is listed as left out is newer than the installed layer.
#[test]
fn listed_devices_name_what_validation_leaves_out() {
    for info in super::list_devices().expect("devices") {
        for left in &info.left_out_under_validation {
            assert!(left.introduced > left.layer, "{left}");
        }
        let device = super::Device::open_with(
            super::DeviceChoice::Index(info.index),
            super::DeviceOptions {
                validation: true,
                ..Default::default()
            },
        )
        .expect("opens under validation");
        assert_eq!(
            device.info().left_out_under_validation,
            info.left_out_under_validation
        );
        if info
            .left_out_under_validation
            .iter()
            .any(|left| left.extension == "VK_KHR_cooperative_matrix")
        {
            assert!(!device.target().features.cooperative_matrix);
        }
    }
}
