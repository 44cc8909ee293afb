//! `argmax`, `argmin`, `cumsum` and `cumprod` on the interpreter and on the Vulkan device, against
//! plain Rust references: 1-d and 2-d tiles, both axes (one in registers, one across invocations),
//! f32, i32 and f16, ragged masked loads, NaN propagation, ties going to the lowest index and
//! `keep_dims`. Few kernels, many runtime cases: each kernel compiles once per backend.
mod common;

use common::{buffer, device, int, random_f32, random_i32, run_source, Backend};
use tk::base::{HostBuffer, KernelArg, ScalarType};

const ROWS: usize = 8;
const COLS: usize = 16;

/// Every scan and arg-reduction of one ragged `[8, 16]` tile of element type `T`. Four
/// invocations over a `[8, 16]` tile put dim 0 in each invocation's registers and spread dim 1
/// over the invocations, so both ways of scanning run.
const TILE_TEMPLATE: &str = r#"
#[threads(4)]
kernel scans(x: *T, n_rows: i32, n_cols: i32,
             sum_down: *mut T, sum_across: *mut T, prod_across: *mut T,
             max_down: *mut i32, min_across: *mut i32, max_across_kept: *mut i32, flat: *mut i32) {
    let rows = arange(0, 8);
    let cols = arange(0, 16);
    let offs = rows[:, None] * 16 + cols[None, :];
    let m = (rows[:, None] < n_rows) & (cols[None, :] < n_cols);
    let zero_filled = load(x + offs, mask: m);
    let one_filled = load(x + offs, mask: m, other: 1);
    let low_filled = load(x + offs, mask: m, other: LOW);
    let high_filled = load(x + offs, mask: m, other: HIGH);
    store(sum_down + offs, cumsum(zero_filled, axis: 0));
    store(sum_across + offs, cumsum(zero_filled, axis: -1));
    store(prod_across + offs, cumprod(one_filled, axis: 1));
    store(max_down + cols, argmax(low_filled, axis: 0));
    store(min_across + rows, argmin(high_filled, axis: 1));
    store(max_across_kept + rows[:, None], argmax(low_filled, axis: 1, keep_dims: true));
    store(flat, argmax(low_filled));
    store(flat + 1, argmin(high_filled));
}
"#;

/// A 1-d tile of 256 spread over the default workgroup: scans and arg-reductions without `axis`.
const LINE: &str = r#"
kernel line(x: *f32, n: i32, sums: *mut f32, prods: *mut f32, args: *mut i32) {
    let r = arange(0, 256);
    let m = r < n;
    store(sums + r, cumsum(load(x + r, mask: m)));
    store(prods + r, cumprod(load(x + r, mask: m, other: 1.0), axis: 0));
    let low = load(x + r, mask: m, other: -inf);
    store(args, argmax(low));
    store(args + 1, argmin(load(x + r, mask: m, other: inf), axis: 0));
    store(args + 2 + arange(0, 1), argmax(low, axis: -1, keep_dims: true));
    store(args + 3, argmax(7.0));
}
"#;

/// A 16-element tile on 64 invocations: every element has four copies, and only the first copy
/// of each may feed the scan's shared-memory rounds.
const REPLICATED: &str = r#"
#[threads(64)]
kernel replicated(x: *f32, sums: *mut f32, prods: *mut f32, args: *mut i32) {
    let r = arange(0, 16);
    let v = load(x + r);
    store(sums + r, cumsum(v));
    store(prods + r, cumprod(v, axis: 0));
    store(args, argmax(v));
    store(args + 1, argmin(v));
}
"#;

/// Scans in a workgroup of one subgroup (eight invocations, lavapipe's subgroup), which go
/// through subgroup shuffles: a line shorter than the layout's pattern (replicas), lines of
/// several repetitions of it, and both axes of a tile spread over two dims of invocations.
const SUBGROUP: &str = r#"
#[threads(8)]
kernel subgroup(x: *i32, y: *f32, short: *mut i32, long: *mut i32, across: *mut i32,
                down: *mut i32, prods: *mut i32, floats: *mut f32) {
    let r16 = arange(0, 16);
    store(short + r16, cumsum(load(x + r16)));
    let r = arange(0, 512);
    store(long + r, cumsum(load(x + r)));
    let rows = arange(0, 16);
    let offs = rows[:, None] * 16 + arange(0, 16)[None, :];
    let t = load(x + offs);
    store(across + offs, cumsum(t, axis: 1));
    store(down + offs, cumprod(t, axis: 0));
    let r64 = arange(0, 64);
    store(prods + r64, cumprod(load(x + r64)));
    store(floats + r, cumsum(load(y + r)));
}
"#;

/// The element types the tile kernel runs with: values as f64, exact in the type.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Elem {
    F32,
    F16,
    I32,
}

impl Elem {
    fn scalar(self) -> ScalarType {
        match self {
            Elem::F32 => ScalarType::F32,
            Elem::F16 => ScalarType::F16,
            Elem::I32 => ScalarType::I32,
        }
    }
    fn source(self) -> String {
        let (name, low, high) = match self {
            Elem::F32 => ("f32", "-inf", "inf"),
            Elem::F16 => ("f16", "-inf", "inf"),
            Elem::I32 => ("i32", "-1000000", "1000000"),
        };
        TILE_TEMPLATE
            .replace("*T", &format!("*{name}"))
            .replace("*mut T", &format!("*mut {name}"))
            .replace("LOW", low)
            .replace("HIGH", high)
    }
    /// Rounds to the type (the reference works in the type's precision).
    fn round(self, v: f64) -> f64 {
        match self {
            Elem::F32 => v as f32 as f64,
            Elem::F16 => half::f16::from_f64(v).to_f64(),
            Elem::I32 => (v as i64 as i32) as f64,
        }
    }
    fn combine(self, a: f64, b: f64, product: bool) -> f64 {
        if self == Elem::I32 {
            let (a, b) = (a as i32, b as i32);
            return if product {
                a.wrapping_mul(b)
            } else {
                a.wrapping_add(b)
            } as f64;
        }
        // f16 scans accumulate like the device and the interpreter do within a tolerance.
        self.round(if product { a * b } else { a + b })
    }
    fn buffer(self, values: &[f64]) -> KernelArg {
        let data: Vec<u8> = match self {
            Elem::F32 => values
                .iter()
                .flat_map(|&v| (v as f32).to_le_bytes())
                .collect(),
            Elem::F16 => values
                .iter()
                .flat_map(|&v| half::f16::from_f64(v).to_le_bytes())
                .collect(),
            Elem::I32 => values
                .iter()
                .flat_map(|&v| (v as i32).to_le_bytes())
                .collect(),
        };
        KernelArg::Buffer(HostBuffer {
            elem: self.scalar(),
            shape: vec![values.len()],
            data,
        })
    }
    fn read(self, buffer: &HostBuffer) -> Vec<f64> {
        match self {
            Elem::F32 => buffer.to_f32().iter().map(|&v| v as f64).collect(),
            Elem::I32 => buffer.to_i32().iter().map(|&v| v as f64).collect(),
            Elem::F16 => buffer
                .data
                .chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f64())
                .collect(),
        }
    }
    fn tolerance(self) -> f64 {
        match self {
            Elem::F32 => 1e-5,
            Elem::F16 => 2e-2,
            Elem::I32 => 0.0,
        }
    }
}

/// Inclusive scan of `lane` in index order.
fn scan(elem: Elem, lane: &[f64], product: bool) -> Vec<f64> {
    let mut out = Vec::with_capacity(lane.len());
    for (i, &v) in lane.iter().enumerate() {
        out.push(if i == 0 {
            v
        } else {
            elem.combine(out[i - 1], v, product)
        });
    }
    out
}

/// The index of the first NaN, else of the first maximum (`max`) or minimum.
fn arg_extreme(lane: &[f64], max: bool) -> i32 {
    if let Some(i) = lane.iter().position(|v| v.is_nan()) {
        return i as i32;
    }
    let mut best = 0;
    for (i, &v) in lane.iter().enumerate() {
        if (max && v > lane[best]) || (!max && v < lane[best]) {
            best = i;
        }
    }
    best as i32
}

fn assert_values(what: &str, elem: Elem, actual: &[f64], expected: &[f64]) -> Result<(), String> {
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let ok = (a.is_nan() && e.is_nan())
            || a == e
            || (a - e).abs() <= elem.tolerance() * (1.0 + e.abs());
        if !ok {
            return Err(format!("{what}[{i}]: got {a}, expected {e}"));
        }
    }
    if actual.len() != expected.len() {
        return Err(format!(
            "{what}: {} values, expected {}",
            actual.len(),
            expected.len()
        ));
    }
    Ok(())
}

fn assert_indices(what: &str, actual: &[i32], expected: &[i32]) -> Result<(), String> {
    if actual != expected {
        return Err(format!("{what}: got {actual:?}, expected {expected:?}"));
    }
    Ok(())
}

/// Input data for one tile case: random values with a tie, and NaNs for the float types.
fn tile_input(elem: Elem, seed: u64, with_nan: bool) -> Vec<f64> {
    let mut x: Vec<f64> = match elem {
        // Few distinct values: ties everywhere, and products that stay in range.
        Elem::I32 => random_i32(ROWS * COLS, seed, -3, 4)
            .into_iter()
            .map(f64::from)
            .collect(),
        _ => random_f32(ROWS * COLS, seed)
            .into_iter()
            .map(|v| elem.round(v as f64 * 2.0))
            .collect(),
    };
    if elem != Elem::I32 {
        // Row 1: the maximum twice; column 3: the minimum twice.
        x[COLS + 4] = 5.0;
        x[COLS + 11] = 5.0;
        x[2 * COLS + 3] = -5.0;
        x[5 * COLS + 3] = -5.0;
        if with_nan {
            // Row 2 and column 6 see a NaN (two in row 2: the first wins).
            x[2 * COLS + 9] = f64::NAN;
            x[2 * COLS + 12] = f64::NAN;
            x[4 * COLS + 6] = f64::NAN;
        }
    }
    x
}

fn check_tile(
    elem: Elem,
    backend: &Backend,
    n_rows: usize,
    n_cols: usize,
    seed: u64,
    with_nan: bool,
) -> Result<(), String> {
    let x = tile_input(elem, seed, with_nan);
    let tile = |fill: f64| -> Vec<Vec<f64>> {
        (0..ROWS)
            .map(|r| {
                (0..COLS)
                    .map(|c| {
                        if r < n_rows && c < n_cols {
                            x[r * COLS + c]
                        } else {
                            fill
                        }
                    })
                    .collect()
            })
            .collect()
    };
    let (low, high) = match elem {
        Elem::I32 => (-1e6, 1e6),
        _ => (f64::NEG_INFINITY, f64::INFINITY),
    };
    let zero_filled = tile(0.0);
    let one_filled = tile(1.0);
    let low_filled = tile(low);
    let high_filled = tile(high);
    let column = |t: &[Vec<f64>], c: usize| -> Vec<f64> { t.iter().map(|row| row[c]).collect() };

    let mut sum_down = vec![0.0; ROWS * COLS];
    for c in 0..COLS {
        for (r, v) in scan(elem, &column(&zero_filled, c), false)
            .into_iter()
            .enumerate()
        {
            sum_down[r * COLS + c] = v;
        }
    }
    let sum_across: Vec<f64> = zero_filled
        .iter()
        .flat_map(|row| scan(elem, row, false))
        .collect();
    let prod_across: Vec<f64> = one_filled
        .iter()
        .flat_map(|row| scan(elem, row, true))
        .collect();
    let max_down: Vec<i32> = (0..COLS)
        .map(|c| arg_extreme(&column(&low_filled, c), true))
        .collect();
    let min_across: Vec<i32> = high_filled
        .iter()
        .map(|row| arg_extreme(row, false))
        .collect();
    let max_across: Vec<i32> = low_filled
        .iter()
        .map(|row| arg_extreme(row, true))
        .collect();
    let flat = vec![
        arg_extreme(&low_filled.concat(), true),
        arg_extreme(&high_filled.concat(), false),
    ];

    let n = ROWS * COLS;
    let args = vec![
        elem.buffer(&x),
        int(n_rows as i64),
        int(n_cols as i64),
        KernelArg::Buffer(HostBuffer::zeros(elem.scalar(), vec![n])),
        KernelArg::Buffer(HostBuffer::zeros(elem.scalar(), vec![n])),
        KernelArg::Buffer(HostBuffer::zeros(elem.scalar(), vec![n])),
        common::zeros(ScalarType::I32, COLS),
        common::zeros(ScalarType::I32, ROWS),
        common::zeros(ScalarType::I32, ROWS),
        common::zeros(ScalarType::I32, 2),
    ];
    let out = run_source(&elem.source(), "scans", &[], &args, [1, 1, 1], backend)?;
    let case = format!("{elem:?} {n_rows}x{n_cols} seed {seed}");
    assert_values(
        &format!("{case} cumsum axis 0"),
        elem,
        &elem.read(buffer(&out, 3)),
        &sum_down,
    )?;
    assert_values(
        &format!("{case} cumsum axis -1"),
        elem,
        &elem.read(buffer(&out, 4)),
        &sum_across,
    )?;
    assert_values(
        &format!("{case} cumprod axis 1"),
        elem,
        &elem.read(buffer(&out, 5)),
        &prod_across,
    )?;
    assert_indices(
        &format!("{case} argmax axis 0"),
        &buffer(&out, 6).to_i32(),
        &max_down,
    )?;
    assert_indices(
        &format!("{case} argmin axis 1"),
        &buffer(&out, 7).to_i32(),
        &min_across,
    )?;
    assert_indices(
        &format!("{case} argmax axis 1 keep_dims"),
        &buffer(&out, 8).to_i32(),
        &max_across,
    )?;
    assert_indices(
        &format!("{case} argmax/argmin flat"),
        &buffer(&out, 9).to_i32(),
        &flat,
    )
}

fn check_line(backend: &Backend, n: usize, seed: u64, nan_at: Option<usize>) -> Result<(), String> {
    let mut x: Vec<f32> = random_f32(256, seed);
    // Ties for the maximum and the minimum; the first of each must win.
    x[40] = 3.0;
    x[200] = 3.0;
    x[17] = -3.0;
    x[90] = -3.0;
    if let Some(i) = nan_at {
        x[i] = f32::NAN;
    }
    let filled = |fill: f32| -> Vec<f64> {
        (0..256)
            .map(|i| if i < n { x[i] as f64 } else { fill as f64 })
            .collect()
    };
    let sums = scan(Elem::F32, &filled(0.0), false);
    let prods = scan(Elem::F32, &filled(1.0), true);
    let argmax = arg_extreme(&filled(f32::NEG_INFINITY), true);
    let expected_args = vec![
        argmax,
        arg_extreme(&filled(f32::INFINITY), false),
        argmax,
        0,
    ];
    let args = vec![
        common::f32_buffer(&x),
        int(n as i64),
        common::zeros(ScalarType::F32, 256),
        common::zeros(ScalarType::F32, 256),
        common::zeros(ScalarType::I32, 4),
    ];
    let out = run_source(LINE, "line", &[], &args, [1, 1, 1], backend)?;
    let case = format!("line n {n} seed {seed} NaN at {nan_at:?}");
    let read =
        |i: usize| -> Vec<f64> { buffer(&out, i).to_f32().iter().map(|&v| v as f64).collect() };
    assert_values(&format!("{case} cumsum"), Elem::F32, &read(2), &sums)?;
    assert_values(&format!("{case} cumprod"), Elem::F32, &read(3), &prods)?;
    assert_indices(
        &format!("{case} args"),
        &buffer(&out, 4).to_i32(),
        &expected_args,
    )
}

/// The ragged shapes every tile case runs with (rows, cols), and whether NaNs are injected.
const TILE_CASES: &[(usize, usize, u64, bool)] = &[
    (8, 16, 1, false),
    (6, 13, 2, false),
    (8, 16, 3, true),
    (5, 11, 4, true),
    (1, 1, 5, false),
];

fn run_tiles(elem: Elem, backend: &Backend) {
    let mut failures = Vec::new();
    for &(rows, cols, seed, nan) in TILE_CASES {
        let nan = nan && elem != Elem::I32;
        if let Err(e) = check_tile(elem, backend, rows, cols, seed, nan) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn run_lines(backend: &Backend) {
    let mut failures = Vec::new();
    for (n, seed, nan) in [
        (256, 7, None),
        (200, 8, None),
        (256, 9, Some(150)),
        (100, 10, Some(60)),
        (100, 11, Some(180)),
    ] {
        if let Err(e) = check_line(backend, n, seed, nan) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn run_replicated(backend: &Backend) {
    let mut x = random_f32(16, 12);
    x[3] = 2.0;
    x[9] = 2.0;
    x[12] = -2.0;
    let wide: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let args = vec![
        common::f32_buffer(&x),
        common::zeros(ScalarType::F32, 16),
        common::zeros(ScalarType::F32, 16),
        common::zeros(ScalarType::I32, 2),
    ];
    let out = run_source(REPLICATED, "replicated", &[], &args, [1, 1, 1], backend).unwrap();
    let read =
        |i: usize| -> Vec<f64> { buffer(&out, i).to_f32().iter().map(|&v| v as f64).collect() };
    let checks = [
        assert_values(
            "cumsum",
            Elem::F32,
            &read(1),
            &scan(Elem::F32, &wide, false),
        ),
        assert_values(
            "cumprod",
            Elem::F32,
            &read(2),
            &scan(Elem::F32, &wide, true),
        ),
        assert_indices("args", &buffer(&out, 3).to_i32(), &[3, 12]),
    ];
    for check in checks {
        check.unwrap();
    }
}

fn run_subgroup(backend: &Backend) {
    let x = random_i32(512, 21, -3, 4);
    let y = random_f32(512, 22);
    let args = vec![
        common::i32_buffer(&x),
        common::f32_buffer(&y),
        common::zeros(ScalarType::I32, 16),
        common::zeros(ScalarType::I32, 512),
        common::zeros(ScalarType::I32, 256),
        common::zeros(ScalarType::I32, 256),
        common::zeros(ScalarType::I32, 64),
        common::zeros(ScalarType::F32, 512),
    ];
    let out = run_source(SUBGROUP, "subgroup", &[], &args, [1, 1, 1], backend).unwrap();
    let ints = |i: usize| buffer(&out, i).to_i32();
    // Exact integer scans (wrapping) of `len` elements from `start`, `step` apart.
    let line = |start: usize, len: usize, step: usize, product: bool| -> Vec<i32> {
        let mut acc = if product { 1i32 } else { 0 };
        (0..len)
            .map(|k| {
                let v = x[start + k * step];
                acc = if product {
                    acc.wrapping_mul(v)
                } else {
                    acc.wrapping_add(v)
                };
                acc
            })
            .collect()
    };
    assert_eq!(ints(2), line(0, 16, 1, false), "cumsum of 16");
    assert_eq!(ints(3), line(0, 512, 1, false), "cumsum of 512");
    let across: Vec<i32> = (0..16).flat_map(|r| line(r * 16, 16, 1, false)).collect();
    assert_eq!(ints(4), across, "cumsum along axis 1");
    let columns: Vec<Vec<i32>> = (0..16).map(|c| line(c, 16, 16, true)).collect();
    let down: Vec<i32> = (0..256).map(|i| columns[i % 16][i / 16]).collect();
    assert_eq!(ints(5), down, "cumprod along axis 0");
    assert_eq!(ints(6), line(0, 64, 1, true), "cumprod of 64");
    let wide: Vec<f64> = y.iter().map(|&v| v as f64).collect();
    let floats: Vec<f64> = buffer(&out, 7).to_f32().iter().map(|&v| v as f64).collect();
    assert_values(
        "cumsum of 512 f32",
        Elem::F32,
        &floats,
        &scan(Elem::F32, &wide, false),
    )
    .unwrap();
}

#[test]
fn subgroup_interp() {
    run_subgroup(&Backend::Interp);
}

#[test]
fn subgroup_device() {
    run_subgroup(&Backend::Vulkan(&device()));
}

#[test]
fn replicated_interp() {
    run_replicated(&Backend::Interp);
}

#[test]
fn replicated_device() {
    run_replicated(&Backend::Vulkan(&device()));
}

#[test]
fn tiles_f32_interp() {
    run_tiles(Elem::F32, &Backend::Interp);
}

#[test]
fn tiles_i32_interp() {
    run_tiles(Elem::I32, &Backend::Interp);
}

#[test]
fn tiles_f16_interp() {
    run_tiles(Elem::F16, &Backend::Interp);
}

#[test]
fn lines_interp() {
    run_lines(&Backend::Interp);
}

#[test]
fn tiles_f32_device() {
    run_tiles(Elem::F32, &Backend::Vulkan(&device()));
}

#[test]
fn tiles_i32_device() {
    run_tiles(Elem::I32, &Backend::Vulkan(&device()));
}

#[test]
fn tiles_f16_device() {
    run_tiles(Elem::F16, &Backend::Vulkan(&device()));
}

#[test]
fn lines_device() {
    run_lines(&Backend::Vulkan(&device()));
}
