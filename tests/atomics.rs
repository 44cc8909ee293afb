//! Atomics end to end: every atomic builtin on scalar and tile pointers, under contention (many
//! programs into one counter, a histogram), with replicated layouts (tiles smaller than the
//! workgroup), masks and safe mode; each case runs on the interpreter and on the Vulkan device and
//! is compared with a plain Rust reference.
mod common;

use common::*;
use tk::base::{HostBuffer, KernelArg, ScalarType};
use tk::driver::{self, BuildOptions, Source, Stage};

fn both(source: &str, args: &[KernelArg], grid: u32) -> [Vec<KernelArg>; 2] {
    let device = device();
    let run = |backend: &Backend| {
        run_source(source, "k", &[], args, [grid, 1, 1], backend).unwrap_or_else(|e| panic!("{e}"))
    };
    [run(&Backend::Interp), run(&Backend::Vulkan(&device))]
}

fn i32s(args: &[KernelArg], k: usize) -> Vec<i32> {
    buffer(args, k).to_i32()
}

fn u32_buffer(values: &[u32]) -> KernelArg {
    let mut b = HostBuffer::zeros(ScalarType::U32, vec![values.len()]);
    for (i, v) in values.iter().enumerate() {
        b.data[4 * i..4 * i + 4].copy_from_slice(&v.to_le_bytes());
    }
    KernelArg::Buffer(b)
}

fn u32s(args: &[KernelArg], k: usize) -> Vec<u32> {
    buffer(args, k).to_i32().iter().map(|&v| v as u32).collect()
}

#[test]
fn counter_under_contention_returns_each_old_value_once() {
    // 40 programs of 128 lanes add 1 to one counter; the old values are a permutation of 0..n.
    let source = "kernel k(c: *mut i32, old: *mut i32, n: i32) {
        let offs = program_id(0) * 128 + arange(0, 128);
        let o = atomic_add(c + offs * 0, 1, mask: offs < n);
        store(old + offs, o, mask: offs < n);
    }";
    let n = 5000;
    for out in both(
        source,
        &[i32_buffer(&[0]), zeros(ScalarType::I32, n), int(n as i64)],
        40,
    ) {
        assert_eq!(i32s(&out, 0), vec![n as i32]);
        let mut olds = i32s(&out, 1);
        olds.sort();
        assert_eq!(olds, (0..n as i32).collect::<Vec<_>>());
    }
}

#[test]
fn scalar_atomic_runs_once_per_program() {
    let source = "kernel k(c: *mut i32, old: *mut i32) {
        let o = atomic_add(c, 2);
        store(old + program_id(0), o);
    }";
    for out in both(source, &[i32_buffer(&[7]), zeros(ScalarType::I32, 64)], 64) {
        assert_eq!(i32s(&out, 0), vec![7 + 128]);
        let mut olds = i32s(&out, 1);
        olds.sort();
        assert_eq!(olds, (0..64).map(|k| 7 + 2 * k).collect::<Vec<_>>());
    }
}

#[test]
fn replicated_layout_adds_once_per_element() {
    // A 4-element tile in a workgroup of many invocations: copies must not repeat the add, and
    // every copy sees the old value (stored back through another layout by `old + r`).
    let source = "kernel k(c: *mut i32, old: *mut i32) {
        let r = arange(0, 4);
        let o = atomic_add(c + r, r + 1);
        store(old + program_id(0) * 4 + r, o);
    }";
    let grid = 16;
    for out in both(
        source,
        &[i32_buffer(&[0; 4]), zeros(ScalarType::I32, 64)],
        grid,
    ) {
        assert_eq!(i32s(&out, 0), vec![16, 32, 48, 64]);
        let olds = i32s(&out, 1);
        for lane in 0..4 {
            let mut seen: Vec<i32> = (0..16).map(|p| olds[p * 4 + lane]).collect();
            seen.sort();
            let step = lane as i32 + 1;
            assert_eq!(seen, (0..16).map(|k| k * step).collect::<Vec<_>>());
        }
    }
}

#[test]
fn histogram_matches_reference() {
    let source = "kernel k(x: *i32, h: *mut i32, n: i32) {
        let offs = program_id(0) * 256 + arange(0, 256);
        let m = offs < n;
        let v = load(x + offs, mask: m);
        atomic_add(h + v, 1, mask: m);
    }";
    let n = 3000;
    let x = random_i32(n, 5, 0, 32);
    let mut expected = vec![0; 32];
    for &v in &x {
        expected[v as usize] += 1;
    }
    let grid = n.div_ceil(256) as u32;
    for out in both(
        source,
        &[i32_buffer(&x), zeros(ScalarType::I32, 32), int(n as i64)],
        grid,
    ) {
        assert_eq!(i32s(&out, 1), expected);
    }
}

#[test]
fn float_atomic_add_sums() {
    // Small integers in f32 add exactly in any order.
    let source = "kernel k(x: *f32, s: *mut f32, n: i32) {
        let offs = program_id(0) * 128 + arange(0, 128);
        let m = offs < n;
        atomic_add(s + (offs % 4), load(x + offs, mask: m), mask: m);
    }";
    let n: usize = 1000;
    let x: Vec<f32> = (0..n).map(|i| (i % 7) as f32 - 3.0).collect();
    let mut expected = vec![0.0f32; 4];
    for (i, v) in x.iter().enumerate() {
        expected[i % 4] += v;
    }
    let grid = n.div_ceil(128) as u32;
    for out in both(
        source,
        &[f32_buffer(&x), f32_buffer(&[0.0; 4]), int(n as i64)],
        grid,
    ) {
        assert_eq!(buffer(&out, 1).to_f32(), expected);
    }
}

#[test]
fn every_integer_atomic_matches_reference() {
    // One program per op; each lane hits its own element so the old values are deterministic.
    let cases: &[(&str, fn(i32, i32) -> i32)] = &[
        ("atomic_add", |a, b| a.wrapping_add(b)),
        ("atomic_max", |a, b| a.max(b)),
        ("atomic_min", |a, b| a.min(b)),
        ("atomic_and", |a, b| a & b),
        ("atomic_or", |a, b| a | b),
        ("atomic_xor", |a, b| a ^ b),
        ("atomic_xchg", |_, b| b),
    ];
    let a = random_i32(64, 1, -1000, 1000);
    let b = random_i32(64, 2, -1000, 1000);
    for (name, f) in cases {
        let source = format!(
            "kernel k(p: *mut i32, v: *i32, old: *mut i32) {{
                let r = arange(0, 64);
                let o = {name}(p + r, load(v + r), mask: r < 60);
                store(old + r, o);
            }}"
        );
        for out in both(
            &source,
            &[i32_buffer(&a), i32_buffer(&b), zeros(ScalarType::I32, 64)],
            1,
        ) {
            let want: Vec<i32> = (0..64)
                .map(|i| if i < 60 { f(a[i], b[i]) } else { a[i] })
                .collect();
            assert_eq!(i32s(&out, 0), want, "{name}");
            let olds: Vec<i32> = (0..64).map(|i| if i < 60 { a[i] } else { 0 }).collect();
            assert_eq!(i32s(&out, 2), olds, "{name} old values");
        }
    }
}

#[test]
fn unsigned_max_min_compare_unsigned() {
    let source = "kernel k(p: *mut u32, q: *mut u32) {
        let r = arange(0, 4);
        atomic_max(p + r, 3000000000);
        atomic_min(q + r, 3000000000);
    }";
    let init = [1u32, 4000000000, 7, 3000000001];
    for out in both(source, &[u32_buffer(&init), u32_buffer(&init)], 1) {
        assert_eq!(
            u32s(&out, 0),
            vec![3000000000, 4000000000, 3000000000, 3000000001]
        );
        assert_eq!(u32s(&out, 1), vec![1, 3000000000, 7, 3000000000]);
    }
}

#[test]
fn compare_and_swap_builds_a_lock_free_claim() {
    // Each program claims slot `pid % 8` only if it is still 0; exactly 8 programs win.
    let source = "kernel k(slots: *mut i32, won: *mut i32) {
        let pid = program_id(0);
        let o = atomic_cas(slots + pid % 8, 0, pid + 1);
        store(won + pid, where(o == 0, 1, 0));
    }";
    for out in both(
        source,
        &[zeros(ScalarType::I32, 8), zeros(ScalarType::I32, 32)],
        32,
    ) {
        let slots = i32s(&out, 0);
        let won = i32s(&out, 1);
        assert_eq!(won.iter().sum::<i32>(), 8);
        for (s, &v) in slots.iter().enumerate() {
            // The winner of slot s is a program p with p % 8 == s and won[p] == 1.
            let p = (v - 1) as usize;
            assert_eq!(p % 8, s);
            assert_eq!(won[p], 1);
        }
    }
}

#[test]
fn tile_compare_and_swap_matches_reference() {
    let source = "kernel k(p: *mut i32, old: *mut i32) {
        let r = arange(0, 8);
        let o = atomic_cas(p + r, r % 2, r * 10);
        store(old + r, o);
    }";
    let init = [0, 1, 5, 1, 0, 0, 6, 1];
    for out in both(source, &[i32_buffer(&init), zeros(ScalarType::I32, 8)], 1) {
        assert_eq!(i32s(&out, 0), vec![0, 10, 5, 30, 40, 0, 6, 70]);
        assert_eq!(i32s(&out, 1), init.to_vec());
    }
}

#[test]
fn out_of_bounds_atomics_are_dropped_and_reported() {
    let source = "kernel k(c: *mut i32) {
        let r = arange(0, 16);
        atomic_add(c + r, 1);
    }";
    let device = device();
    for backend in [Backend::Interp, Backend::Vulkan(&device)] {
        let result = run_source(
            source,
            "k",
            &[],
            &[i32_buffer(&[0; 8])],
            [1, 1, 1],
            &backend,
        );
        let e = result.expect_err("an out-of-bounds atomic is reported");
        assert!(
            e.contains("OutOfBounds") || e.contains("out of bounds"),
            "{e}"
        );
    }
    // Unchecked mode drops nothing silently on the interpreter's side either: the in-bounds half
    // is updated exactly once (checked through the interpreter, which always continues).
    let mut args = vec![i32_buffer(&[0; 8])];
    let lowered = driver::lower_source(&Source::new("t.tk", source), "k", &[]).unwrap();
    let _ = tk::interp::run(&lowered.module, &mut args, [1, 1, 1]);
    assert_eq!(i32s(&args, 0), vec![1; 8]);
}

#[test]
fn float_atomic_add_needs_the_device_feature() {
    let source = "kernel k(s: *mut f32) { atomic_add(s, 1.0); }";
    let mut target = tk::abi::Target::portable();
    target.name = "test device".into();
    target.features.float_atomic_add = false;
    let build = |source| {
        let options = BuildOptions::default();
        driver::build(&Source::new("t.tk", source), "k", &[], &target, &options)
    };
    let e = build(source).expect_err("missing feature");
    assert_eq!(e.stage, Stage::Compile);
    let text = format!("{:?}", e.diagnostics);
    assert!(
        text.contains("E0609") && text.contains("f32 atomic add"),
        "{text}"
    );
    assert!(text.contains("test device"), "{text}");
    // Integer atomics need no feature.
    let source = "kernel k(s: *mut i32) { atomic_add(s, 1); }";
    let artifact = build(source).unwrap().artifact;
    assert!(!artifact.abi.features.float_atomic_add);
}

#[test]
fn every_program_of_a_grid_past_the_dispatch_limit_runs_exactly_once() {
    // More programs than one dispatch row holds (65,535 on lavapipe), and not a whole number of
    // rows: the runtime covers them with a dispatch of whole rows and one of the rest from a
    // base workgroup, so each program adds 1 to its own counter once and no workgroup runs past
    // the grid (the shader has no check for one).
    const SOURCE: &str = "kernel k(count: *mut i32) {
        let old = atomic_add(count + program_id(0), 1);
        store(count + program_id(0), old + 1);
    }";
    let device = device();
    let max_x = device.target().max_workgroups[0];
    for programs in [max_x + 1, 2 * max_x + 7] {
        let args = vec![zeros(ScalarType::I32, programs as usize)];
        let out = run_source(
            SOURCE,
            "k",
            &[],
            &args,
            [programs, 1, 1],
            &Backend::Vulkan(&device),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let counts = i32s(&out, 0);
        let wrong: Vec<(usize, i32)> = counts
            .iter()
            .copied()
            .enumerate()
            .filter(|&(_, c)| c != 1)
            .take(5)
            .collect();
        assert!(wrong.is_empty(), "{programs} programs: counts {wrong:?}");
    }
}
