//! Tiles of any size (not only powers of two): elementwise ops, `arange`, `zeros`/`full`,
//! broadcasting, loads and stores with and without masks, reductions (`sum`, `max`, `min`,
//! `argmax`, `argmin`), a softmax over rows of 100, `dot` and attention with non-power-of-two
//! dims, scans, `trans` and `reshape`, at sizes 1, 3, 48, 80, 96, 100 and 1000, against a plain
//! Rust reference on the interpreter and on the device under the device's own schedule (CPU), the
//! GPU schedule and the portable one (no processor, no known subgroup size). The scheduler rounds
//! each dim up to a power of two and masks the padding (`passes::pad`); these tests check that
//! no real result sees the padding and that nothing is stored there.
mod common;

use common::*;
use tk::abi::{Processor, Target};
use tk::base::{KernelArg, Literal, ScalarType};
use tk::driver::{self, BuildOptions, Source};
use tk::runtime::Device;

/// The sizes every shape category is checked at.
const SIZES: [usize; 7] = [1, 3, 48, 80, 96, 100, 1000];

/// The 2-D shapes: every size along each dim, the other dim small (1000 beside 1 only):
/// lavapipe compiles a program's whole tile into each invocation's registers, and a tile of
/// 1024 x 4 takes minutes to compile there, as it would written as a power of two.
fn two_d_shapes() -> impl Iterator<Item = (usize, usize)> {
    SIZES
        .iter()
        .filter(|&&n| n < 1000)
        .flat_map(|&n| [(n, 3), (3, n)])
        .chain([(1, 1000), (1000, 1), (1, 48), (96, 1)])
}

/// The device's own schedule, the GPU schedule and the portable one, within the device's limits
/// (the runtime runs a module for any target whose features and limits the device has).
fn targets(device: &Device) -> Vec<(&'static str, Target)> {
    let own = device.target();
    let gpu = Target {
        processor: Processor::Gpu,
        ..own.clone()
    };
    let portable = Target {
        processor: Processor::Unknown,
        subgroup_size: None,
        ..own.clone()
    };
    vec![("cpu", own), ("gpu", gpu), ("portable", portable)]
}

/// Runs kernel `kernel` of `source` on the interpreter and on `device` under every target and
/// returns the failures of `check` (each named by `what` and the backend).
fn on_every_backend(
    device: &Device,
    what: &str,
    source: &str,
    kernel: &str,
    consts: &[(&str, i128)],
    args: &[KernelArg],
    grid: [u32; 3],
    check: &dyn Fn(&[KernelArg]) -> Result<(), String>,
) -> Vec<String> {
    let consts: Vec<(&str, Literal)> = consts.iter().map(|(n, v)| (*n, Literal::Int(*v))).collect();
    let mut failures = Vec::new();
    match run_source(source, kernel, &consts, args, grid, &Backend::Interp) {
        Ok(out) => failures.extend(check(&out).err().map(|e| format!("{what}, interp: {e}"))),
        Err(e) => failures.push(format!("{what}, interp: {e}")),
    }
    for (name, target) in targets(device) {
        let result = (|| -> Result<Vec<KernelArg>, String> {
            let source = Source::new("test.tk", source);
            let mut lowered =
                driver::lower_source(&source, kernel, &consts).map_err(|e| e.render(false))?;
            driver::specialize(&mut lowered.module, args);
            let build = driver::build_lowered(&lowered, &target, &BuildOptions::default())
                .map_err(|e| e.render(false))?;
            validate_spirv(&build.artifact.words)?;
            let pipeline = device
                .load(&build.artifact)
                .map_err(|e| format!("load: {e}"))?;
            let mut out = args.to_vec();
            device
                .launch(&pipeline, &mut out, grid)
                .map_err(|e| format!("launch: {e}"))?;
            Ok(out)
        })();
        match result {
            Ok(out) => failures.extend(check(&out).err().map(|e| format!("{what}, {name}: {e}"))),
            Err(e) => failures.push(format!("{what}, {name}: {e}")),
        }
    }
    failures
}

fn f32s(args: &[KernelArg], index: usize) -> Vec<f32> {
    buffer(args, index).to_f32()
}

fn i32s(args: &[KernelArg], index: usize) -> Vec<i32> {
    buffer(args, index)
        .data
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Exact equality, naming the first difference.
fn assert_equal<T: PartialEq + std::fmt::Debug>(got: &[T], want: &[T]) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!("{} values, expected {}", got.len(), want.len()));
    }
    match got.iter().zip(want).position(|(g, w)| g != w) {
        Some(i) => Err(format!("[{i}] is {:?}, expected {:?}", got[i], want[i])),
        None => Ok(()),
    }
}

/// The index of the first maximum (`max`) or minimum of `xs`.
fn arg_extreme(xs: impl Iterator<Item = f32>, max: bool) -> i32 {
    let mut best: Option<(usize, f32)> = None;
    for (i, x) in xs.enumerate() {
        let better = match best {
            None => true,
            Some((_, b)) => (max && x > b) || (!max && x < b),
        };
        if better {
            best = Some((i, x));
        }
    }
    best.map_or(0, |(i, _)| i as i32)
}

const ONE_D: &str = r#"
kernel one_d(x: *f32, out: *mut f32, red: *mut f32, idx: *mut i32, n: i32, const N: i32 = 1) {
    let offs = arange(0, N);
    let a = load(x + offs);
    let c = full([N], 2.0, f32) + zeros([N], f32);
    store(out + offs, a * c + 1.0);
    let m = offs < n;
    let b = load(x + offs, mask: m, other: 5.0);
    store(out + N + offs, b, mask: m);
    store(red, sum(a));
    store(red + 1, max(a, axis: 0));
    store(red + 2, min(a));
    store(red + 3, sum(b));
    store(red + 4, max(b));
    store(idx, argmax(a, axis: 0));
    store(idx + 1, argmin(a));
    store(idx + 2, sum(offs));
    store(idx + 3, min(offs + 7));
}
"#;

/// 1-D tiles: elementwise ops on `arange`, `full` and `zeros`, loads and stores with and
/// without masks (a masked store leaves the rest of the buffer alone), and every reduction.
#[test]
fn one_dimensional_tiles() {
    let device = device();
    let mut failures = Vec::new();
    for n in SIZES {
        let x = random_f32(n, 11 + n as u64);
        let limit = (n * 2 / 3) as i32;
        let sentinel = -7.0f32;
        let args = vec![
            f32_buffer(&x),
            f32_buffer(&vec![sentinel; 2 * n]),
            zeros(ScalarType::F32, 5),
            zeros(ScalarType::I32, 4),
            int(limit as i64),
        ];
        let check = |out: &[KernelArg]| -> Result<(), String> {
            let mut want: Vec<f32> = x.iter().map(|a| a * 2.0 + 1.0).collect();
            want.extend((0..n).map(|i| if (i as i32) < limit { x[i] } else { sentinel }));
            assert_equal(&f32s(out, 1), &want)?;
            let b: Vec<f32> = (0..n)
                .map(|i| if (i as i32) < limit { x[i] } else { 5.0 })
                .collect();
            let sum = |v: &[f32]| v.iter().map(|&a| a as f64).sum::<f64>() as f32;
            let red = f32s(out, 2);
            let max = x.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let min = x.iter().cloned().fold(f32::INFINITY, f32::min);
            assert_close(&[red[0], red[3]], &[sum(&x), sum(&b)], 1e-4)?;
            let b_max = b.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            assert_equal(&[red[1], red[2], red[4]], &[max, min, b_max])?;
            let want_idx = [
                arg_extreme(x.iter().cloned(), true),
                arg_extreme(x.iter().cloned(), false),
                (0..n as i32).sum(),
                7,
            ];
            assert_equal(&i32s(out, 3), &want_idx)
        };
        failures.extend(on_every_backend(
            &device,
            &format!("N={n}"),
            ONE_D,
            "one_d",
            &[("N", n as i128)],
            &args,
            [1, 1, 1],
            &check,
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const TWO_D: &str = r#"
kernel two_d(
    x: *f32,
    out: *mut f32,
    rows: *mut f32,
    cols: *mut f32,
    n_rows: i32,
    n_cols: i32,
    const R: i32 = 1,
    const C: i32 = 1,
) {
    let r = arange(0, R);
    let c = arange(0, C);
    let offs = r[:, None] * C + c[None, :];
    let a = load(x + offs);
    let row_sum = sum(a, axis: 1);
    let col_max = max(a, axis: 0);
    store(out + offs, a - row_sum[:, None] + col_max[None, :]);
    let m = (r[:, None] < n_rows) & (c[None, :] < n_cols);
    let b = load(x + offs, mask: m, other: 0.0);
    store(out + R * C + offs, b + 1.0, mask: m);
    store(rows + r, row_sum);
    store(rows + R + r, min(a, axis: 1));
    store(rows + 2 * R + r, argmax(a, axis: 1) as f32);
    store(rows + 3 * R + r, sum(b, axis: 1));
    store(cols + c, col_max);
    store(cols + C + c, sum(a, axis: 0));
    store(cols + 2 * C + c, argmin(a, axis: 0) as f32);
    store(cols + 3 * C, sum(a));
    store(cols + 3 * C + 1, max(b));
}
"#;

/// 2-D tiles: broadcasting of reduced rows and columns, masked and unmasked loads and stores,
/// and reductions along each axis and over the whole tile.
#[test]
fn two_dimensional_tiles() {
    let device = device();
    let mut failures = Vec::new();
    for (rn, cn) in two_d_shapes() {
        let x = random_f32(rn * cn, 5 + (rn * cn) as u64);
        let (lr, lc) = (rn - rn / 3, cn - cn / 2);
        let sentinel = -7.0f32;
        let args = vec![
            f32_buffer(&x),
            f32_buffer(&vec![sentinel; 2 * rn * cn]),
            zeros(ScalarType::F32, 4 * rn),
            zeros(ScalarType::F32, 3 * cn + 2),
            int(lr as i64),
            int(lc as i64),
        ];
        let at = |i: usize, j: usize| x[i * cn + j];
        let check = |out: &[KernelArg]| -> Result<(), String> {
            let sum = |v: &mut dyn Iterator<Item = f32>| v.map(|a| a as f64).sum::<f64>() as f32;
            let row_sum: Vec<f32> = (0..rn)
                .map(|i| sum(&mut (0..cn).map(|j| at(i, j))))
                .collect();
            let col = |j: usize| (0..rn).map(move |i| at(i, j));
            let row = |i: usize| (0..cn).map(move |j| at(i, j));
            let col_max: Vec<f32> = (0..cn)
                .map(|j| col(j).fold(f32::NEG_INFINITY, f32::max))
                .collect();
            let inside = |i: usize, j: usize| i < lr && j < lc;
            let got = f32s(out, 1);
            let mut want = Vec::new();
            for i in 0..rn {
                for j in 0..cn {
                    want.push(at(i, j) - row_sum[i] + col_max[j]);
                }
            }
            assert_close(&got[..rn * cn], &want, 1e-4)?;
            let masked: Vec<f32> = (0..rn * cn)
                .map(|f| {
                    let (i, j) = (f / cn, f % cn);
                    if inside(i, j) {
                        at(i, j) + 1.0
                    } else {
                        sentinel
                    }
                })
                .collect();
            assert_equal(&got[rn * cn..], &masked)?;
            let rows = f32s(out, 2);
            assert_close(&rows[..rn], &row_sum, 1e-4)?;
            let row_min: Vec<f32> = (0..rn)
                .map(|i| row(i).fold(f32::INFINITY, f32::min))
                .collect();
            assert_equal(&rows[rn..2 * rn], &row_min)?;
            let row_arg: Vec<f32> = (0..rn).map(|i| arg_extreme(row(i), true) as f32).collect();
            assert_equal(&rows[2 * rn..3 * rn], &row_arg)?;
            let b_rows: Vec<f32> = (0..rn)
                .map(|i| sum(&mut (0..cn).filter(|&j| inside(i, j)).map(|j| at(i, j))))
                .collect();
            assert_close(&rows[3 * rn..], &b_rows, 1e-4)?;
            let cols = f32s(out, 3);
            assert_equal(&cols[..cn], &col_max)?;
            let col_sum: Vec<f32> = (0..cn).map(|j| sum(&mut col(j))).collect();
            assert_close(&cols[cn..2 * cn], &col_sum, 1e-4)?;
            let col_arg: Vec<f32> = (0..cn).map(|j| arg_extreme(col(j), false) as f32).collect();
            assert_equal(&cols[2 * cn..3 * cn], &col_arg)?;
            assert_close(
                &cols[3 * cn..3 * cn + 1],
                &[sum(&mut x.iter().cloned())],
                1e-3,
            )?;
            // Masked-off elements read 0.0.
            let b_max = (0..rn * cn)
                .map(|f| if inside(f / cn, f % cn) { x[f] } else { 0.0 })
                .fold(f32::NEG_INFINITY, f32::max);
            assert_equal(&cols[3 * cn + 1..], &[b_max])
        };
        failures.extend(on_every_backend(
            &device,
            &format!("{rn}x{cn}"),
            TWO_D,
            "two_d",
            &[("R", rn as i128), ("C", cn as i128)],
            &args,
            [1, 1, 1],
            &check,
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Row softmax with a block of exactly the row length, 100, and no mask in the kernel.
#[test]
fn softmax_over_rows_of_100_without_padding_in_the_source() {
    const SOURCE: &str = r#"
kernel softmax(x: *f32, out: *mut f32, const BLOCK: i32 = 100) {
    let row = program_id(0);
    let cols = arange(0, BLOCK);
    let v = load(x + row * BLOCK + cols);
    let e = exp(v - max(v, axis: 0));
    store(out + row * BLOCK + cols, e / sum(e, axis: 0));
}
"#;
    let device = device();
    let (rows, cols) = (7usize, 100usize);
    let x: Vec<f32> = random_f32(rows * cols, 3).iter().map(|v| v * 4.0).collect();
    let mut want = Vec::new();
    for r in 0..rows {
        let row = &x[r * cols..(r + 1) * cols];
        let max = row
            .iter()
            .cloned()
            .fold(f64::NEG_INFINITY, |m, v| m.max(v as f64));
        let e: Vec<f64> = row.iter().map(|&v| (v as f64 - max).exp()).collect();
        let total: f64 = e.iter().sum();
        want.extend(e.iter().map(|v| (v / total) as f32));
    }
    let args = vec![f32_buffer(&x), zeros(ScalarType::F32, rows * cols)];
    let failures = on_every_backend(
        &device,
        "softmax",
        SOURCE,
        "softmax",
        &[],
        &args,
        [rows as u32, 1, 1],
        &|out| assert_close(&f32s(out, 1), &want, 1e-5),
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const DOT: &str = r#"
kernel mm(a: *f32, b: *f32, c: *mut f32, const M: i32 = 1, const N: i32 = 1, const K: i32 = 1) {
    let m = arange(0, M);
    let n = arange(0, N);
    let k = arange(0, K);
    // The loads give 0 at padding positions, their sums with 1 do not: the dot must leave out
    // K's padding itself.
    let x = load(a + m[:, None] * K + k[None, :]) + 1.0;
    let y = load(b + k[:, None] * N + n[None, :]) + 1.0;
    let acc = full([M, N], 0.5, f32);
    store(c + m[:, None] * N + n[None, :], dot(x, y, acc: acc));
}
"#;

/// `dot` with M, N and K not powers of two: K's padding must not enter the sums, and nothing is
/// stored past M and N. The shapes keep the GPU schedule's staged operands within lavapipe's
/// 32 KiB of shared memory (as they would need to at the padded size in the source).
#[test]
fn dot_of_any_size() {
    let device = device();
    let mut failures = Vec::new();
    for (m, n, k) in [
        (48, 3, 48),
        (3, 80, 3),
        (100, 3, 3),
        (3, 3, 100),
        (3, 3, 80),
        (1, 3, 96),
        (1, 1000, 3),
        (3, 1, 1000),
    ] {
        let a = random_f32(m * k + 1, 21);
        let b = random_f32(k * n + 1, 22);
        let sentinel = -7.0f32;
        let args = vec![
            f32_buffer(&a),
            f32_buffer(&b),
            f32_buffer(&vec![sentinel; m * n + 1]),
        ];
        let plus_one = |v: &[f32]| v.iter().map(|x| x + 1.0).collect::<Vec<f32>>();
        let mut want: Vec<f32> =
            matmul_f64(&plus_one(&a[..m * k]), &plus_one(&b[..k * n]), m, n, k)
                .iter()
                .map(|v| v + 0.5)
                .collect();
        want.push(sentinel);
        failures.extend(on_every_backend(
            &device,
            &format!("{m}x{n}x{k}"),
            DOT,
            "mm",
            &[("M", m as i128), ("N", n as i128), ("K", k as i128)],
            &args,
            [1, 1, 1],
            &|out| assert_close(&f32s(out, 2), &want, 1e-5),
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Attention (benches/kernels/attention_f32.tk: examples/attention.tk in f32) with a head
/// dimension of 80 and key blocks of 8 and 12, over 40 positions (a partial last block of keys
/// for 12). Small blocks: lavapipe takes minutes to compile 16 x 32 blocks of a head of 128, as
/// it would written so.
#[test]
fn attention_with_a_head_dimension_of_80() {
    let root = env!("CARGO_MANIFEST_DIR");
    let source =
        std::fs::read_to_string(format!("{root}/benches/kernels/attention_f32.tk")).unwrap();
    let device = device();
    let mut failures = Vec::new();
    let (zh, ctx, d) = (2usize, 40usize, 80usize);
    let scale = 1.0 / (d as f32).sqrt();
    let q = random_f32(zh * ctx * d, 71);
    let k = random_f32(zh * ctx * d, 72);
    let v = random_f32(zh * ctx * d, 73);
    let want = attention_ref(&q, &k, &v, zh, ctx, d, scale);
    let args = vec![
        f32_buffer(&q),
        f32_buffer(&k),
        f32_buffer(&v),
        zeros(ScalarType::F32, zh * ctx * d),
        KernelArg::Scalar(Literal::Float(scale as f64)),
        int(zh as i64),
        int(ctx as i64),
    ];
    for (block_m, block_n) in [(8usize, 8usize), (8, 12)] {
        failures.extend(on_every_backend(
            &device,
            &format!("head 80, blocks {block_m}x{block_n}"),
            &source,
            "attention_fwd",
            &[
                ("HEAD_DIM", d as i128),
                ("BLOCK_M", block_m as i128),
                ("BLOCK_N", block_n as i128),
            ],
            &args,
            [ctx.div_ceil(block_m) as u32, zh as u32, 1],
            &|out| assert_close(&f32s(out, 3), &want, 1e-4),
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const SCANS_AND_TRANSPOSES: &str = r#"
kernel scans(x: *f32, out: *mut f32, const R: i32 = 1, const C: i32 = 1) {
    let r = arange(0, R);
    let c = arange(0, C);
    let offs = r[:, None] * C + c[None, :];
    let a = load(x + offs);
    store(out + offs, cumsum(a, axis: 1));
    store(out + R * C + offs, cumsum(a, axis: 0));
    store(out + 2 * R * C + c[:, None] * R + r[None, :], trans(a));
    store(out + 3 * R * C + offs, trans(trans(a) * 2.0));
}
"#;

/// Scans along each axis and transposes of tiles of any size.
#[test]
fn scans_and_transposes() {
    let device = device();
    let mut failures = Vec::new();
    for (rn, cn) in two_d_shapes() {
        let x = random_f32(rn * cn, 31 + rn as u64);
        let at = |i: usize, j: usize| x[i * cn + j];
        let mut want = vec![0.0f32; 4 * rn * cn];
        for i in 0..rn {
            let mut s = 0.0f64;
            for j in 0..cn {
                s += at(i, j) as f64;
                want[i * cn + j] = s as f32;
            }
        }
        for j in 0..cn {
            let mut s = 0.0f64;
            for i in 0..rn {
                s += at(i, j) as f64;
                want[rn * cn + i * cn + j] = s as f32;
            }
        }
        for i in 0..rn {
            for j in 0..cn {
                want[2 * rn * cn + j * rn + i] = at(i, j);
                want[3 * rn * cn + i * cn + j] = at(i, j) * 2.0;
            }
        }
        let args = vec![f32_buffer(&x), zeros(ScalarType::F32, 4 * rn * cn)];
        failures.extend(on_every_backend(
            &device,
            &format!("{rn}x{cn}"),
            SCANS_AND_TRANSPOSES,
            "scans",
            &[("R", rn as i128), ("C", cn as i128)],
            &args,
            [1, 1, 1],
            &|out| assert_close(&f32s(out, 1), &want, 1e-4),
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const RESHAPES: &str = r#"
kernel reshapes(x: *f32, out: *mut f32, const R: i32 = 1) {
    let r = arange(0, R);
    let c = arange(0, 16);
    let offs = r[:, None] * 16 + c[None, :];
    let a = load(x + offs);
    let flat = ravel(a * 2.0);
    let all = arange(0, R * 16);
    store(out + all, flat);
    store(out + R * 16 + offs, reshape(flat, [R, 16]) + 1.0);
    store(out + 2 * R * 16 + all, cumsum(flat, axis: 0));
    let rows = reshape(sum(a, axis: 1), [1, R]);
    store(out + 3 * R * 16 + r[None, :], rows);
}
"#;

/// `reshape` and `ravel` between shapes whose padding stays after the real elements (a first
/// dim of any size, powers of two after it, and leading 1s).
#[test]
fn reshapes_that_keep_padding_last() {
    let device = device();
    let mut failures = Vec::new();
    for rn in [1usize, 3, 48, 100] {
        let x = random_f32(rn * 16, 41 + rn as u64);
        let mut want: Vec<f32> = x.iter().map(|v| v * 2.0).collect();
        want.extend(x.iter().map(|v| v * 2.0 + 1.0));
        let mut s = 0.0f64;
        want.extend(x.iter().map(|v| {
            s += (v * 2.0) as f64;
            s as f32
        }));
        want.extend((0..rn).map(|i| {
            x[i * 16..(i + 1) * 16]
                .iter()
                .map(|&v| v as f64)
                .sum::<f64>() as f32
        }));
        let args = vec![f32_buffer(&x), zeros(ScalarType::F32, 3 * rn * 16 + rn)];
        failures.extend(on_every_backend(
            &device,
            &format!("{rn}x16"),
            RESHAPES,
            "reshapes",
            &[("R", rn as i128)],
            &args,
            [1, 1, 1],
            &|out| assert_close(&f32s(out, 1), &want, 1e-4),
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const ATOMICS: &str = r#"
kernel count(out: *mut i32, const N: i32 = 1) {
    let offs = arange(0, N);
    let old = atomic_add(out + offs % 4, 1);
    store(out + 4 + offs, where(old >= 0, 1, 0));
}
"#;

/// Atomics at padding positions do nothing: N increments spread over 4 counters.
#[test]
fn atomics_skip_padding() {
    let device = device();
    let mut failures = Vec::new();
    for n in SIZES {
        let mut want: Vec<i32> = (0..4)
            .map(|c| (0..n).filter(|i| i % 4 == c).count() as i32)
            .collect();
        want.extend(std::iter::repeat_n(1, n));
        let args = vec![zeros(ScalarType::I32, 4 + n)];
        failures.extend(on_every_backend(
            &device,
            &format!("N={n}"),
            ATOMICS,
            "count",
            &[("N", n as i128)],
            &args,
            [1, 1, 1],
            &|out| assert_equal(&i32s(out, 0), &want),
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
