//! Tests of `verify_schedule`: each check with a schedule that breaks it.
use super::*;
use crate::abi::Target;
use crate::ir::builder::Builder;
use crate::ir::layout::Blocked;
use crate::ir::schedule::{AccessPlan, CoopPlan, DotStaging, Scratch, Stream};
use crate::ir::verify::verify;

use crate::ir::test_kernels::hand_scheduled_sum;

fn schedule_of(m: &mut Module) -> &mut Schedule {
    m.kernel.schedule.as_mut().expect("a schedule")
}

/// The kernel `k` of `source`, scheduled for `target` by the passes.
fn scheduled(source: &str, target: &Target) -> Module {
    scheduled_kernel(source, "k", target)
}

/// The kernel `kernel` of `source`, scheduled for `target` by the passes.
fn scheduled_kernel(source: &str, kernel: &str, target: &Target) -> Module {
    let program = crate::driver::check_source("plans.tk", source, &crate::driver::DiskLoader);
    assert!(!program.has_errors(), "{:?}", program.diagnostics);
    let lowered = crate::driver::lower(&program, kernel, &[]).expect("lowers");
    let module = crate::driver::schedule(lowered, target).expect("schedules");
    assert_eq!(verify(&module), Ok(()));
    module
}

/// The first instruction of `module` that `pick` accepts.
fn find(module: &Module, pick: impl Fn(&InstKind) -> bool) -> InstId {
    module
        .kernel
        .insts
        .iter()
        .find(|(_, inst)| pick(&inst.kind))
        .expect("the kernel has the instruction")
        .0
}

/// Verifies `m` with `plan` for the `dot` `id`.
fn with_dot_plan(m: &mut Module, id: InstId, plan: DotPlan) -> Result<(), String> {
    schedule_of(m).plans[id.index()] = Some(Plan::Dot(plan));
    verify(m)
}

#[test]
fn rejects_a_plan_needing_more_shared_memory_than_the_schedule_declares() {
    let mut m = hand_scheduled_sum();
    assert_eq!(verify(&m), Ok(()));
    schedule_of(&mut m).shared_bytes = 256;
    assert_eq!(
        verify(&m),
        Err(
            "%1: its plan needs scratch bytes 0..512, more than the 256 the schedule \
             declares"
                .into()
        )
    );
}

#[test]
fn rejects_a_scratch_region_too_small_or_misaligned() {
    let mut m = hand_scheduled_sum();
    let region = |offset, bytes| {
        Some(Plan::Reduce(ReducePlan::Shared {
            chunk: 1,
            scratch: Scratch { offset, bytes },
        }))
    };
    schedule_of(&mut m).plans[1] = region(0, 256);
    assert_eq!(
        verify(&m),
        Err("%1: its plan stages 512 bytes in a scratch region of 256".into())
    );
    schedule_of(&mut m).shared_bytes = 1024;
    schedule_of(&mut m).plans[1] = region(2, 512);
    assert_eq!(
        verify(&m),
        Err("%1: scratch at byte 2 is not word-aligned".into())
    );
    schedule_of(&mut m).plans[1] = region(512, 512);
    assert_eq!(verify(&m), Ok(()));
}

#[test]
fn rejects_workgroup_memory_over_the_target_limit() {
    let mut m = hand_scheduled_sum();
    schedule_of(&mut m).max_shared_bytes = 256;
    assert_eq!(
        verify(&m),
        Err(
            "the schedule declares 512 bytes of workgroup memory, more than the target's 256"
                .into()
        )
    );
    // The cooperative arrays count too.
    let mut m = scheduled(DOT, &Target::portable());
    let dot = find(&m, |k| matches!(k, InstKind::Dot { .. }));
    let s = schedule_of(&mut m);
    s.plans[dot.index()] = Some(Plan::Dot(DotPlan::Cooperative));
    s.coop = Some(CoopPlan {
        m: 16,
        n: 16,
        k: 16,
        halves: 1024,
        floats: 1024,
        vectors: 0,
    });
    assert_eq!(verify(&m), Ok(()));
    let s = schedule_of(&mut m);
    s.max_shared_bytes = s.shared_bytes + 2048;
    let error = verify(&m).unwrap_err();
    assert!(error.contains("more than the target's"), "{error}");
}

#[test]
fn rejects_missing_foreign_and_miscounted_plans() {
    let mut m = hand_scheduled_sum();
    schedule_of(&mut m).plans[1] = None;
    assert_eq!(verify(&m), Err("%1: has no plan".into()));
    // While the planning passes run, plans may be missing.
    m.kernel.stage = Stage::LaidOut;
    assert_eq!(verify(&m), Ok(()));
    schedule_of(&mut m).plans.clear();
    assert_eq!(verify(&m), Ok(()));
    m.kernel.stage = Stage::Scheduled;
    assert_eq!(
        verify(&m),
        Err("the schedule has 0 plans for 2 instructions".into())
    );
    schedule_of(&mut m).plans = vec![None, Some(Plan::Access(AccessPlan::scalar()))];
    assert_eq!(
        verify(&m),
        Err(
            "%1: has a plan for another kind of instruction: Access(AccessPlan { vector: 1, \
             aligned: true, one_mask: true, whole_vectors: true, proven: false, other_unobserved: false })"
                .into()
        )
    );
}

#[test]
fn rejects_reduction_plans_the_layouts_do_not_allow() {
    let mut m = hand_scheduled_sum();
    schedule_of(&mut m).plans[1] = Some(Plan::Reduce(ReducePlan::Registers));
    assert_eq!(
        verify(&m),
        Err("%1: a reduction across invocations is planned in registers".into())
    );
    schedule_of(&mut m).plans[1] = Some(Plan::Reduce(ReducePlan::Subgroup));
    assert_eq!(
        verify(&m),
        Err("%1: a subgroup plan in a workgroup that is not one subgroup".into())
    );
    schedule_of(&mut m).one_subgroup = true;
    assert_eq!(verify(&m), Ok(()));
    schedule_of(&mut m).plans[1] = Some(Plan::Reduce(ReducePlan::Shared {
        chunk: 2,
        scratch: Scratch {
            offset: 0,
            bytes: 512,
        },
    }));
    assert_eq!(
        verify(&m),
        Err("%1: chunks of 2 result registers, not between 1 and 1".into())
    );
    // A workgroup of one invocation reduces in registers.
    let mut m = hand_scheduled_sum();
    schedule_of(&mut m).threads = 1;
    schedule_of(&mut m).layouts[0] = Some(Layout::Blocked(Blocked {
        shape: vec![512],
        size_per_thread: vec![512],
        threads_per_dim: vec![1],
    }));
    assert_eq!(
        verify(&m),
        Err("%1: a reduction within each invocation leaves registers".into())
    );
}

#[test]
fn rejects_a_one_subgroup_workgroup_of_one_invocation() {
    let mut b = Builder::new("k");
    b.const_i32(1);
    let mut m = Module { kernel: b.finish() };
    m.kernel.stage = Stage::Scheduled;
    m.kernel.schedule = Some(Schedule {
        layouts: vec![Some(Layout::Uniform)],
        plans: vec![None],
        ..Schedule::new(1, 16384, true)
    });
    assert_eq!(
        verify(&m),
        Err("a workgroup of 1 invocation is marked as one subgroup".into())
    );
}

const SCAN: &str = "kernel k(x: *f32, out: *mut f32) {
    let offs = arange(0, 256);
    store(out + offs, cumsum(load(x + offs), axis: 0));
}";

#[test]
fn rejects_scan_plans_the_layouts_do_not_allow() {
    let mut m = scheduled(SCAN, &Target::portable());
    let scan = find(&m, |k| matches!(k, InstKind::Scan { .. }));
    assert!(matches!(
        schedule_of(&mut m).plan(scan),
        Some(Plan::Scan(ScanPlan::Shared(_)))
    ));
    schedule_of(&mut m).plans[scan.index()] = Some(Plan::Scan(ScanPlan::Registers));
    let error = verify(&m).unwrap_err();
    assert!(
        error.ends_with("a scan across invocations is planned in registers"),
        "{error}"
    );
    schedule_of(&mut m).plans[scan.index()] = Some(Plan::Scan(ScanPlan::Subgroup));
    let error = verify(&m).unwrap_err();
    assert!(error.ends_with("is not one subgroup"), "{error}");
}

#[test]
fn rejects_vector_widths_the_element_type_or_layout_do_not_allow() {
    let mut m = scheduled(SCAN, &Target::portable());
    let load = find(&m, |k| matches!(k, InstKind::Load { .. }));
    let store = find(&m, |k| matches!(k, InstKind::Store { .. }));
    let four = AccessPlan {
        vector: 4,
        aligned: true,
        one_mask: true,
        whole_vectors: false,
        proven: false,
        other_unobserved: false,
    };
    assert_eq!(schedule_of(&mut m).plan(store), Some(&Plan::Access(four)));
    schedule_of(&mut m).plans[load.index()] = Some(Plan::Access(AccessPlan { vector: 3, ..four }));
    assert_eq!(
        verify(&m),
        Err(format!(
            "%{}: accesses of 3 elements (1, 2, 4 or 8)",
            load.index()
        ))
    );
    schedule_of(&mut m).plans[load.index()] = Some(Plan::Access(four));
    // Two elements per invocation cannot make vectors of four.
    let InstKind::Store { ptr, .. } = m.kernel.insts[store].kind else {
        unreachable!()
    };
    let s = schedule_of(&mut m);
    let Some(Layout::Blocked(b)) = s.layouts[ptr.index()].as_mut() else {
        panic!("a blocked pointer tile")
    };
    b.size_per_thread = vec![2];
    assert_eq!(
        verify(&m),
        Err(format!(
            "%{}: accesses of 4 elements that its element type or layout do not allow",
            store.index()
        ))
    );
}

const DOT: &str = "kernel k(a: *f32, b: *f32, c: *mut f32) {
    let m = arange(0, 32);
    let n = arange(0, 32);
    let k = arange(0, 16);
    let x = load(a + m[:, None] * 16 + k[None, :]);
    let y = load(b + k[:, None] * 32 + n[None, :]);
    store(c + m[:, None] * 32 + n[None, :], dot(x, y));
}";

#[test]
fn rejects_dot_plans_that_do_not_fit_the_dot() {
    let mut m = scheduled(DOT, &Target::portable());
    let dot = find(&m, |k| matches!(k, InstKind::Dot { .. }));
    let at = |m: &str| format!("%{}: {m}", dot.index());
    let Some(Plan::Dot(DotPlan::Staged(staging))) = schedule_of(&mut m).plan(dot).cloned() else {
        panic!("a staged dot on a portable target")
    };
    let set = |m: &mut Module, plan| with_dot_plan(m, dot, plan);
    let short = DotStaging {
        a_row_stride: 8,
        ..staging.clone()
    };
    assert_eq!(
        set(&mut m, DotPlan::Staged(short)),
        Err(at(
            "staged rows 8 and 32 elements apart are shorter than M = 32 and N = 32"
        ))
    );
    // 32x32 over 128 invocations leaves no 4x4 blocks: the reads are scalar.
    assert_eq!(staging.vector, 1);
    let wide = DotStaging {
        vector: 4,
        ..staging.clone()
    };
    assert_eq!(
        set(&mut m, DotPlan::Staged(wide)),
        Err(at(
            "four-element staged reads of a register tile or rows that do not come in fours"
        ))
    );
    let none = DotStaging {
        stages: 0,
        ..staging.clone()
    };
    assert_eq!(
        set(&mut m, DotPlan::Staged(none)),
        Err(at("a staged dot with no buffer"))
    );
    let more = DotStaging {
        stages: staging.stages + 1,
        ..staging.clone()
    };
    assert_eq!(
        set(&mut m, DotPlan::Staged(more)),
        Err(at(&format!(
            "its {} buffers need {} bytes of the dot array, its region has {}",
            staging.stages + 1,
            staging.region.bytes / staging.stages * (staging.stages + 1),
            staging.region.bytes
        )))
    );
    let past = DotStaging {
        region: Scratch {
            offset: 16,
            bytes: staging.region.bytes,
        },
        ..staging.clone()
    };
    assert_eq!(
        set(&mut m, DotPlan::Staged(past)),
        Err(at(&format!(
            "its dot region 16..{} ends past the {} bytes of the dot array",
            staging.region.bytes + 16,
            staging.region.bytes
        )))
    );
    let odd = DotStaging {
        k_unroll: 3,
        ..staging.clone()
    };
    assert_eq!(
        set(&mut m, DotPlan::Staged(odd)),
        Err(at("a K loop unrolled 3 times does not divide K = 16"))
    );
    assert_eq!(
        set(&mut m, DotPlan::Registers),
        Err(at(
            "a dot in registers whose operands are not in register layouts"
        ))
    );
    assert_eq!(
        set(&mut m, DotPlan::Cooperative),
        Err(at("a cooperative dot without cooperative arrays"))
    );
    schedule_of(&mut m).coop = Some(CoopPlan {
        m: 64,
        n: 16,
        k: 16,
        halves: 1024,
        floats: 1024,
        vectors: 0,
    });
    assert_eq!(
        verify(&m),
        Err(at(
            "planned on 64x16x16 cooperative matrices but not a dot they tile within the \
             planned arrays"
        ))
    );
    assert_eq!(
        set(&mut m, DotPlan::Staged(staging)),
        Err("the schedule plans cooperative arrays that no dot uses".into())
    );
    // A broadcast dot needs the one subgroup, and the portable target has none.
    assert_eq!(
        with_dot_plan(&mut m, dot, DotPlan::Broadcast),
        Err(at(
            "a subgroup plan in a workgroup that is not one subgroup"
        ))
    );
    // On a CPU device `a` is spread over the lanes and shuffled: the operands are not in
    // register layouts, and `b` must be.
    let mut m = scheduled(DOT, &Target::cpu());
    let dot = find(&m, |k| matches!(k, InstKind::Dot { .. }));
    let at = |m: &str| format!("%{}: {m}", dot.index());
    assert_eq!(
        schedule_of(&mut m).plan(dot),
        Some(&Plan::Dot(DotPlan::Broadcast))
    );
    assert_eq!(
        with_dot_plan(&mut m, dot, DotPlan::Registers),
        Err(at(
            "a dot in registers whose operands are not in register layouts"
        ))
    );
    assert_eq!(with_dot_plan(&mut m, dot, DotPlan::Broadcast), Ok(()));
    // The portable schedule's layouts (rows spread over invocations) do not allow it even
    // where the workgroup is one subgroup.
    let mut m = scheduled(DOT, &Target::portable());
    let dot = find(&m, |k| matches!(k, InstKind::Dot { .. }));
    schedule_of(&mut m).one_subgroup = true;
    assert_eq!(
        with_dot_plan(&mut m, dot, DotPlan::Broadcast),
        Err(format!(
            "%{}: a broadcast dot whose result rows are not in every lane, or whose `a` is \
             not spread over the lanes, or whose `b` is not in its register layout",
            dot.index()
        ))
    );
}

#[test]
fn rejects_conversion_plans_the_layouts_do_not_allow() {
    // The grouped GEMM example moves data between layouts.
    let source = include_str!("../../../examples/grouped_gemm.tk");
    let mut m = scheduled_kernel(source, "grouped_matmul_tile", &Target::portable());
    let schedule = m.kernel.schedule.as_ref().expect("a schedule");
    let moving = (0..m.kernel.insts.len())
        .map(InstId::new)
        .find(|&id| {
            matches!(
                schedule.plan(id),
                Some(Plan::Convert(ConvertPlan::Shared(_)))
            )
        })
        .expect("the matmul kernel moves data between layouts");
    let shared = schedule_of(&mut m).plans[moving.index()].take();
    schedule_of(&mut m).plans[moving.index()] = Some(Plan::Convert(ConvertPlan::Registers));
    assert_eq!(
        verify(&m),
        Err(format!(
            "%{}: a conversion that moves data is planned in registers",
            moving.index()
        ))
    );
    // Into its operand's own layout, the conversion is a renaming.
    schedule_of(&mut m).plans[moving.index()] = shared;
    let InstKind::ConvertLayout(value) = m.kernel.insts[moving].kind else {
        unreachable!()
    };
    let s = schedule_of(&mut m);
    s.layouts[moving.index()] = s.layouts[value.index()].clone();
    assert_eq!(
        verify(&m),
        Err(format!(
            "%{}: a register renaming is planned through shared memory",
            moving.index()
        ))
    );
}

#[test]
fn rejects_streams_that_split_vectors_or_leave_their_region() {
    let mut m = scheduled(
        "kernel k(x: *f32, out: *mut f32) {
            let offs = arange(0, 1024);
            store(out + offs, load(x + offs) * 2.0);
        }",
        &Target::cpu(),
    );
    let stream = match schedule_of(&mut m).streams[..] {
        [stream] => stream,
        ref other => panic!("one stream, not {other:?}"),
    };
    assert_eq!(stream.registers, 8);
    assert_eq!(verify(&m), Ok(()));
    schedule_of(&mut m).streams[0].registers = 4;
    let error = verify(&m).unwrap_err();
    assert!(
        error.contains("passes of 4 registers split the vectors"),
        "{error}"
    );
    schedule_of(&mut m).streams[0] = Stream {
        first: stream.last,
        last: stream.first,
        ..stream
    };
    let error = verify(&m).unwrap_err();
    assert!(error.ends_with("not a run of one region"), "{error}");
}
