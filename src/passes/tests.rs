//! Pass tests: workgroup size, default layouts, backward propagation (no shared-memory
//! conversions in softmax-like kernels), conversions where needed, and the E06xx limits.
use super::layouts::default_layout;
use super::*;
use crate::base::ScalarType::*;
use crate::ir::builder::Builder;
use crate::ir::layout::{local_map, Blocked, Projection};
use crate::ir::test_kernels::{conflict_kernel, row_sums_kernel, running_max_kernel};
use crate::ir::{BinaryOp, InstKind, Layout, ParamKind, ReduceOp, ScanOp};
use crate::spirv::tests::{column_sums, reduce_1d, softmax, vector_add};

fn schedule(kernel: ir::Kernel) -> ir::Module {
    run(ir::Module { kernel }, &Target::portable()).expect("schedule")
}

/// Shared-memory conversions (not register renamings) in a scheduled kernel.
fn moving_conversions(module: &ir::Module) -> usize {
    let k = &module.kernel;
    let s = k.schedule.as_ref().unwrap();
    k.insts
        .iter()
        .filter(|(id, inst)| match inst.kind {
            InstKind::ConvertLayout(v) => {
                let src = s.layouts[v.index()].clone().unwrap();
                let dst = s.layouts[id.index()].clone().unwrap();
                local_map(&src, &dst, &Projection::Identity).is_none()
            }
            _ => false,
        })
        .count()
}

#[test]
fn default_layout_spreads_from_the_last_dim() {
    let b = default_layout(&[1024], 128);
    assert_eq!(b.size_per_thread, vec![4]);
    assert_eq!(b.threads_per_dim, vec![128]);
    assert_eq!(b.regs(), 8);
    // Smaller than the workgroup: leftover invocations replicate.
    let b = default_layout(&[16], 128);
    assert_eq!(
        (b.size_per_thread[0], b.threads_per_dim[0], b.regs()),
        (4, 128, 4)
    );
    let b = default_layout(&[4, 64], 128);
    assert_eq!(b.size_per_thread, vec![1, 4]);
    assert_eq!(b.threads_per_dim, vec![8, 16]);
    assert_eq!(b.threads(), 128);
}

#[test]
fn threads_heuristic_and_attribute() {
    let m = schedule(vector_add(1024));
    assert_eq!(m.kernel.schedule.as_ref().unwrap().threads, 128);
    let m = schedule(vector_add(64));
    assert_eq!(m.kernel.schedule.as_ref().unwrap().threads, 32);
    let mut k = vector_add(1024);
    k.threads = Some(64);
    assert_eq!(schedule(k).kernel.schedule.unwrap().threads, 64);
    for bad in [48, 256] {
        let mut k = vector_add(1024);
        k.threads = Some(bad);
        let err = run(ir::Module { kernel: k }, &Target::portable()).unwrap_err();
        assert_eq!(err.code, "E0607");
    }
}

#[test]
fn every_value_has_a_layout() {
    let m = schedule(softmax(4, 64));
    let k = &m.kernel;
    let s = k.schedule.as_ref().unwrap();
    assert_eq!(k.stage, ir::Stage::Scheduled);
    for (id, inst) in k.insts.iter() {
        let layout = &s.layouts[id.index()];
        match &inst.ty {
            None => assert!(layout.is_none()),
            Some(ty) if ty.is_scalar() => assert_eq!(layout, &Some(Layout::Uniform)),
            Some(ty) => {
                let l = layout.as_ref().expect("tile layout");
                assert_eq!(l.shape(), ty.shape, "{:?}", inst.kind);
                assert_eq!(l.threads(), s.threads);
            }
        }
    }
}

#[test]
fn softmax_needs_no_shared_memory_conversion() {
    let m = schedule(softmax(4, 64));
    assert_eq!(moving_conversions(&m), 0);
    let k = &m.kernel;
    let s = k.schedule.as_ref().unwrap();
    // offs_m (the arange feeding `[:, None]`) got the slice layout of the 2-D tile.
    let arange_m = k
        .insts
        .iter()
        .find(|(_, i)| {
            matches!(i.kind, InstKind::Arange { .. }) && i.ty.as_ref().unwrap().shape == vec![4]
        })
        .unwrap()
        .0;
    assert!(matches!(
        s.layouts[arange_m.index()],
        Some(Layout::Slice { dim: 1, .. })
    ));
    // The reductions produce slices of the loaded tile's layout.
    for (id, inst) in k.insts.iter() {
        if let InstKind::Reduce { value, .. } = inst.kind {
            match (&s.layouts[id.index()], &s.layouts[value.index()]) {
                (Some(Layout::Slice { parent, dim: 1 }), Some(Layout::Blocked(src))) => {
                    assert_eq!(parent, src)
                }
                other => panic!("unexpected reduction layouts {other:?}"),
            }
        }
    }
    assert!(s.shared_bytes > 0);
}

#[test]
fn column_sums_store_through_the_slice_layout() {
    let m = schedule(column_sums(32, 16));
    assert_eq!(moving_conversions(&m), 0);
}

#[test]
fn conflicting_layouts_still_compile() {
    let m = schedule(conflict_kernel());
    let s = m.kernel.schedule.as_ref().unwrap();
    // Every elementwise instruction reads operands of its own layout (or renamings).
    for (id, inst) in m.kernel.insts.iter() {
        if let InstKind::Binary { lhs, rhs, .. } = inst.kind {
            let l = s.layouts[id.index()].clone().unwrap();
            assert_eq!(s.layouts[lhs.index()].as_ref(), Some(&l));
            assert_eq!(s.layouts[rhs.index()].as_ref(), Some(&l));
        }
    }
    crate::spirv::tests::compile(conflict_kernel(), true);
}

#[test]
fn shared_memory_limit_is_a_diagnostic() {
    let mut target = Target::portable();
    target.max_shared_bytes = 64;
    let err = run(
        ir::Module {
            kernel: reduce_1d(ReduceOp::Sum, 1024, 0.0, None),
        },
        &target,
    )
    .unwrap_err();
    assert_eq!(err.code, "E0608");
    assert!(!err.labels.is_empty());
}

#[test]
fn local_map_of_collapsed_broadcast_is_local() {
    let parent = Blocked {
        shape: vec![4, 64],
        size_per_thread: vec![1, 4],
        threads_per_dim: vec![8, 16],
    };
    let mut collapsed = parent.clone();
    collapsed.shape[1] = 1;
    collapsed.size_per_thread[1] = 1;
    let map = local_map(
        &Layout::Blocked(collapsed),
        &Layout::Blocked(parent.clone()),
        &Projection::ZeroDims(vec![1]),
    );
    assert_eq!(map, Some(vec![0; 4]));
    // A slice re-expanded is the same registers.
    let slice = Layout::Slice {
        parent: parent.clone(),
        dim: 1,
    };
    let mut expanded = parent;
    expanded.shape[1] = 1;
    expanded.size_per_thread[1] = 1;
    assert!(local_map(
        &slice,
        &Layout::Blocked(expanded),
        &Projection::RemoveDim(1)
    )
    .is_some());
}

#[test]
fn loop_carried_reduction_keeps_the_slice_layout() {
    let m = schedule(running_max_kernel(8, 64));
    assert_eq!(moving_conversions(&m), 0);
    let s = m.kernel.schedule.as_ref().unwrap();
    assert!(matches!(s.local_layouts[0], Layout::Slice { dim: 1, .. }));
    crate::spirv::tests::compile(running_max_kernel(8, 64), true);
}

#[test]
fn reduced_rows_store_through_arange_without_conversion() {
    // sum(x, 1) stored through arange(BM) pointers: the pointers take the slice layout.
    let m = schedule(row_sums_kernel(16, 32));
    assert_eq!(moving_conversions(&m), 0);
    // The load keeps the default (coalesced) layout.
    let k = &m.kernel;
    let sch = k.schedule.as_ref().unwrap();
    let load = k
        .insts
        .iter()
        .find(|(_, i)| matches!(i.kind, InstKind::Load { .. }))
        .unwrap()
        .0;
    assert_eq!(
        sch.layouts[load.index()],
        Some(Layout::Blocked(default_layout(&[16, 32], sch.threads)))
    );
}

#[test]
fn large_row_reductions_are_chunked_under_the_limit() {
    let mut k = row_sums_kernel(64, 512);
    k.threads = Some(128);
    let m = schedule(k);
    let s = m.kernel.schedule.as_ref().unwrap();
    assert!(s.shared_bytes <= Target::portable().max_shared_bytes);
    assert!(s.shared_bytes > 0);
    crate::spirv::tests::compile(row_sums_kernel(64, 512), true);
}

#[test]
fn cpu_targets_get_one_subgroup_per_workgroup() {
    let mut target = Target::portable();
    target.processor = crate::abi::Processor::Cpu;
    target.subgroup_size = Some(8);
    let m = run(
        ir::Module {
            kernel: vector_add(1024),
        },
        &target,
    )
    .expect("schedule");
    assert_eq!(m.kernel.schedule.as_ref().unwrap().threads, 8);
    let m = run(
        ir::Module {
            kernel: vector_add(16),
        },
        &target,
    )
    .expect("schedule");
    assert_eq!(m.kernel.schedule.as_ref().unwrap().threads, 4);
}

/// `out[r, c] = cumsum(r * 64 + c)` along `axis` of a `[rows, 64]` tile, on `threads` invocations.
fn scan_kernel(rows: u32, axis: u32, threads: u32) -> ir::Kernel {
    let mut b = Builder::new("scan");
    let out = b.add_param(
        "out",
        ParamKind::Pointer {
            pointee: F32,
            mutable: true,
        },
    );
    let shape = vec![rows, 64];
    let p = b.param(out);
    let r = b.arange(0, rows);
    let r = b.expand_dims(r, 1);
    let r = b.broadcast(r, shape.clone());
    let width = b.const_i32(64);
    let width = b.splat(width, shape.clone());
    let r = b.binary(BinaryOp::Mul, r, width);
    let c = b.arange(0, 64);
    let c = b.expand_dims(c, 0);
    let c = b.broadcast(c, shape.clone());
    let offs = b.binary(BinaryOp::Add, r, c);
    let ps = b.splat(p, shape);
    let ptrs = b.ptr_offset(ps, offs);
    let x = b.cast(offs, F32);
    let s = b.scan(ScanOp::Sum, x, axis);
    b.store(ptrs, s, None);
    let mut k = b.finish();
    k.threads = Some(threads);
    k
}

#[test]
fn a_scan_keeps_its_operand_layout_and_stages_only_across_invocations() {
    // 16 invocations over [16, 64] lie along dim 1: dim 0 is scanned in registers.
    for (axis, threads, staged) in [(0, 16, false), (1, 16, true), (0, 128, true)] {
        let m = schedule(scan_kernel(16, axis, threads));
        let s = m.kernel.schedule.as_ref().unwrap();
        let (id, value) = m
            .kernel
            .insts
            .iter()
            .find_map(|(id, inst)| match inst.kind {
                InstKind::Scan { value, .. } => Some((id, value)),
                _ => None,
            })
            .expect("a scan");
        assert_eq!(s.layouts[id.index()], s.layouts[value.index()]);
        let bytes = s.plan(id).and_then(|p| p.scratch()).map_or(0, |r| r.bytes);
        assert_eq!(bytes, if staged { 16 * 64 * 4 } else { 0 }, "axis {axis}");
        crate::spirv::tests::compile(scan_kernel(16, axis, threads), true);
    }
}
