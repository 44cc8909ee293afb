//! Checker tests: real source text through `check` and `lower`, IR structure, values from the
//! reference interpreter, and data-driven `(source, expected code)` error cases.
use super::*;
use crate::base::{diag, HostBuffer, KernelArg};
use crate::ir::{GridExpr, InstKind};
use std::collections::HashMap as Map;

mod lowering;

/// Serves `use`d files from memory.
struct MemLoader(Map<String, String>);
impl FileLoader for MemLoader {
    fn load(&self, path: &std::path::Path) -> Option<String> {
        self.0.get(path.to_str()?).cloned()
    }
}

fn check_files(main: &str, others: &[(&str, &str)]) -> (Checked, Diagnostics, SourceMap) {
    let mut sources = SourceMap::new();
    let id = sources.add("dir/main.tk", main);
    let loader = MemLoader(
        others
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    let (checked, diags) = check(&mut sources, id, &loader);
    (checked, diags, sources)
}

fn check_src(src: &str) -> (Checked, Diagnostics, SourceMap) {
    check_files(src, &[])
}

/// Checks and lowers `kernel`; panics with the rendered diagnostics on any error.
fn lower_src(src: &str, kernel: &str, consts: &[(&str, Literal)]) -> ir::Module {
    let (checked, diags, sources) = check_src(src);
    assert!(
        !diags.has_errors(),
        "{}",
        diag::render(&diags, &sources, false)
    );
    let consts: Vec<(String, Literal)> = consts.iter().map(|(n, l)| (n.to_string(), *l)).collect();
    let (module, diags) = lower(&checked, kernel, &consts);
    assert!(
        !diags.has_errors(),
        "{}",
        diag::render(&diags, &sources, false)
    );
    let module = module.expect("no module without errors");
    ir::verify::verify(&module).expect("lowered IR verifies");
    module
}

/// Every instruction kind in the kernel, nested regions included, in order.
fn all_kinds(kernel: &ir::Kernel) -> Vec<InstKind> {
    fn walk(kernel: &ir::Kernel, region: &ir::Region, out: &mut Vec<InstKind>) {
        for &id in &region.insts {
            let kind = kernel.inst(id).kind.clone();
            out.push(kind.clone());
            match &kind {
                InstKind::If {
                    then_region,
                    else_region,
                    ..
                } => {
                    walk(kernel, then_region, out);
                    walk(kernel, else_region, out);
                }
                InstKind::For { body, .. } => walk(kernel, body, out),
                InstKind::While {
                    cond_region, body, ..
                } => {
                    walk(kernel, cond_region, out);
                    walk(kernel, body, out);
                }
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    walk(kernel, &kernel.body, &mut out);
    out
}

fn count(kernel: &ir::Kernel, pred: impl Fn(&InstKind) -> bool) -> usize {
    all_kinds(kernel).iter().filter(|k| pred(k)).count()
}

fn f32_arg(values: &[f32]) -> KernelArg {
    KernelArg::Buffer(HostBuffer::from_f32(values, vec![values.len()]))
}
fn int(v: i128) -> KernelArg {
    KernelArg::Scalar(Literal::Int(v))
}
fn out_f32(arg: &KernelArg) -> Vec<f32> {
    match arg {
        KernelArg::Buffer(b) => b.to_f32(),
        KernelArg::Scalar(_) => panic!("not a buffer"),
    }
}

const VECTOR_ADD: &str = r#"
/// out[i] = x[i] + y[i]
#[grid(cdiv(n, BLOCK))]
kernel vector_add(x: *f32, y: *f32, out: *mut f32, n: i32, const BLOCK: i32 = 1024) {
    let offs = program_id(0) * BLOCK + arange(0, BLOCK);   // i32[BLOCK]
    let mask = offs < n;                                    // bool[BLOCK]
    let a = load(x + offs, mask: mask);                     // f32[BLOCK], 0 where masked off
    let b = load(y + offs, mask: mask);
    store(out + offs, a + b, mask: mask);
}
"#;

#[test]
fn vector_add_lowers_and_runs() {
    let module = lower_src(VECTOR_ADD, "vector_add", &[("BLOCK", Literal::Int(64))]);
    let k = &module.kernel;
    assert_eq!(k.params.len(), 4);
    assert_eq!(k.params[3].kind, ir::ParamKind::Scalar(ScalarType::I32));
    assert_eq!(k.consts, vec![("BLOCK".to_string(), Literal::Int(64))]);
    assert_eq!(
        k.grid,
        Some(vec![GridExpr::CeilDiv(
            Box::new(GridExpr::Param(3)),
            Box::new(GridExpr::Const(64))
        )])
    );
    assert_eq!(
        count(k, |i| matches!(
            i,
            InstKind::Load {
                mask: Some(_),
                other: None,
                ..
            }
        )),
        2
    );
    assert_eq!(
        count(k, |i| matches!(i, InstKind::Store { mask: Some(_), .. })),
        1
    );
    assert_eq!(count(k, |i| matches!(i, InstKind::Arange { start: 0 })), 1);
    // The sum is an f32[64] tile.
    let add = k
        .insts
        .iter()
        .find(|(_, i)| {
            matches!(
                i.kind,
                InstKind::Binary {
                    op: ir::BinaryOp::Add,
                    ..
                }
            ) && i.ty.as_ref().unwrap().scalar_type() == Some(ScalarType::F32)
        })
        .expect("an f32 add");
    assert_eq!(add.1.ty, Some(ir::Type::tile(ScalarType::F32, vec![64])));

    let n = 100;
    let x: Vec<f32> = (0..n).map(|i| i as f32).collect();
    let y: Vec<f32> = (0..n).map(|i| 1000.0 + 2.0 * i as f32).collect();
    let mut args = vec![
        f32_arg(&x),
        f32_arg(&y),
        f32_arg(&vec![0.0; n]),
        int(n as i128),
    ];
    crate::interp::run(&module, &mut args, [2, 1, 1]).expect("runs");
    let out = out_f32(&args[2]);
    for i in 0..n {
        assert_eq!(out[i], x[i] + y[i]);
    }
}

const SOFTMAX: &str = r#"
#[grid(n_rows)]
kernel softmax(x: *f32, out: *mut f32, n_rows: i32, n_cols: i32, const BLOCK: i32 = 1024) {
    let row = program_id(0);
    let cols = arange(0, BLOCK);
    let mask = cols < n_cols;
    let v = load(x + row * n_cols + cols, mask: mask, other: -inf);
    let e = exp(v - max(v, axis: 0));
    store(out + row * n_cols + cols, e / sum(e, axis: 0), mask: mask);
}
"#;

fn softmax_reference(row: &[f32]) -> Vec<f32> {
    let m = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = row.iter().map(|v| (v - m).exp()).collect();
    let s: f32 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

#[test]
fn row_softmax_lowers_and_runs() {
    let module = lower_src(SOFTMAX, "softmax", &[("BLOCK", Literal::Int(16))]);
    let k = &module.kernel;
    assert_eq!(k.grid, Some(vec![GridExpr::Param(2)]));
    assert_eq!(
        count(k, |i| matches!(
            i,
            InstKind::Reduce {
                op: ir::ReduceOp::Max,
                axis: Some(0),
                ..
            }
        )),
        1
    );
    assert_eq!(
        count(k, |i| matches!(
            i,
            InstKind::Reduce {
                op: ir::ReduceOp::Sum,
                axis: Some(0),
                ..
            }
        )),
        1
    );
    // `other: -inf` is folded to one f32 constant splatted to the tile.
    assert!(k
        .insts
        .iter()
        .any(|(_, i)| i.kind == InstKind::Const(Literal::Float(f64::NEG_INFINITY))));

    let (rows, cols) = (3, 10);
    let x: Vec<f32> = (0..rows * cols)
        .map(|i| ((i * 7) % 11) as f32 * 0.25)
        .collect();
    let mut args = vec![
        f32_arg(&x),
        f32_arg(&vec![0.0; rows * cols]),
        int(rows as i128),
        int(cols as i128),
    ];
    crate::interp::run(&module, &mut args, [rows as u32, 1, 1]).expect("runs");
    let out = out_f32(&args[1]);
    for r in 0..rows {
        let want = softmax_reference(&x[r * cols..(r + 1) * cols]);
        for c in 0..cols {
            assert!(
                (out[r * cols + c] - want[c]).abs() < 1e-6,
                "row {r} col {c}"
            );
        }
    }
}

const COLUMN_SUM: &str = r#"
use math;

/// out[c] = sum over rows r of gelu(x[r, c]), BLOCK columns per program, BR rows per step.
#[grid(cdiv(n_cols, BLOCK))]
kernel column_sum(x: *f32, out: *mut f32, n_rows: i32, n_cols: i32, const BR: i32 = 4, const BLOCK: i32 = 32) {
    let offs_c = program_id(0) * BLOCK + arange(0, BLOCK);
    let mut acc = zeros([BLOCK], f32);
    for r in range(0, n_rows, BR) {
        let offs_r = r + arange(0, BR);
        let mask = (offs_r[:, None] < n_rows) & (offs_c[None, :] < n_cols);
        let tile = load(x + offs_r[:, None] * n_cols + offs_c[None, :], mask: mask);
        acc += sum(math::gelu(tile), axis: 0);
    }
    store(out + offs_c, acc, mask: offs_c < n_cols);
}
"#;

fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf_ref(x as f64 * std::f64::consts::FRAC_1_SQRT_2) as f32)
}

/// Abramowitz–Stegun erf, good to ~1e-7, enough for a tolerance check.
fn erf_ref(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.3275911 * x.abs());
    let y = 1.0
        - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t
            + 0.254829592)
            * t
            * (-x * x).exp();
    if x >= 0.0 {
        y
    } else {
        -y
    }
}

#[test]
fn column_sum_with_loop_and_stdlib_lowers_and_runs() {
    let module = lower_src(COLUMN_SUM, "column_sum", &[("BLOCK", Literal::Int(8))]);
    let k = &module.kernel;
    assert_eq!(count(k, |i| matches!(i, InstKind::For { .. })), 1);
    assert!(count(k, |i| matches!(i, InstKind::ExpandDims { axis: 1, .. })) >= 1);
    assert!(count(k, |i| matches!(i, InstKind::ExpandDims { axis: 0, .. })) >= 1);
    assert!(count(k, |i| matches!(i, InstKind::Broadcast(_))) >= 2);
    assert_eq!(
        count(k, |i| matches!(
            i,
            InstKind::Unary {
                op: ir::UnaryOp::Erf,
                ..
            }
        )),
        1
    );
    assert!(k
        .locals
        .iter()
        .any(|(_, l)| l.name == "acc" && l.ty == ir::Type::tile(ScalarType::F32, vec![8])));

    let (rows, cols) = (7, 13);
    let x: Vec<f32> = (0..rows * cols)
        .map(|i| ((i * 5) % 9) as f32 * 0.3 - 1.0)
        .collect();
    let mut args = vec![
        f32_arg(&x),
        f32_arg(&vec![0.0; cols]),
        int(rows as i128),
        int(cols as i128),
    ];
    crate::interp::run(&module, &mut args, [2, 1, 1]).expect("runs");
    let out = out_f32(&args[1]);
    for c in 0..cols {
        let want: f32 = (0..rows).map(|r| gelu(x[r * cols + c])).sum();
        assert!(
            (out[c] - want).abs() < 1e-4,
            "col {c}: {} vs {want}",
            out[c]
        );
    }
}

#[test]
fn check_reports_nothing_for_the_examples() {
    for src in [VECTOR_ADD, SOFTMAX, COLUMN_SUM] {
        let (checked, diags, sources) = check_src(src);
        assert!(
            diags.is_empty(),
            "{}",
            diag::render(&diags, &sources, false)
        );
        assert_eq!(checked.kernels.len(), 1);
    }
    let (checked, _, _) = check_src(VECTOR_ADD);
    let sig = &checked.kernels[0];
    assert_eq!(sig.name, "vector_add");
    assert_eq!(sig.docs.len(), 1);
    assert!(sig.docs[0].contains("out[i] = x[i] + y[i]"));
    assert_eq!(
        sig.params[4].kind,
        KernelParamKind::Const {
            ty: ScalarType::I32,
            default: Some(Literal::Int(1024))
        }
    );
    assert_eq!(
        sig.params[0].kind,
        KernelParamKind::Runtime(ir::ParamKind::Pointer {
            pointee: ScalarType::F32,
            mutable: false
        })
    );
}

#[test]
fn stdlib_math_functions_all_elaborate() {
    let src = r#"
use math;
kernel k(x: *f32, out: *mut f32) {
    let offs = arange(0, 16);
    let v = load(x + offs);
    let t = load(x + arange(0, 4)[:, None] * 4 + arange(0, 4)[None, :]);
    let a = math::gelu(v) + math::gelu_tanh(v) + math::silu(v) + math::softplus(v);
    let b = math::relu(v) + math::leaky_relu(v, 0.01);
    let s = math::softmax(t, 1) + math::logsumexp(t, 0);
    store(out + offs, a + b);
    store(out + arange(0, 4)[:, None] * 4 + arange(0, 4)[None, :], s);
}
"#;
    let module = lower_src(src, "k", &[]);
    let x: Vec<f32> = (0..16).map(|i| i as f32 * 0.5 - 4.0).collect();
    let mut args = vec![f32_arg(&x), f32_arg(&[0.0; 16])];
    crate::interp::run(&module, &mut args, [1, 1, 1]).expect("runs");
    let out = out_f32(&args[1]);
    // Row r of the softmax part: softmax(t[r, :]) + logsumexp(t[:, c]) — check row 0, col 0.
    let t = |r: usize, c: usize| x[r * 4 + c];
    let sm = softmax_reference(&[t(0, 0), t(0, 1), t(0, 2), t(0, 3)])[0];
    let lse = (0..4).map(|r| t(r, 0).exp()).sum::<f32>().ln();
    assert!(
        (out[0] - (sm + lse)).abs() < 1e-4,
        "{} vs {}",
        out[0],
        sm + lse
    );
}

#[test]
fn consts_fold_into_shapes_and_static_range_unrolls() {
    let src = r#"
const HALF: i32 = 64 / 2;
fn twice(x) { x * 2 }
kernel k(out: *mut i32, const N: i32 = 16) {
    static_assert(N % 16 == 0, "N must be a multiple of 16");
    let offs = arange(0, twice(HALF) / 4);
    let mut acc = zeros([N * 2 / 2], i32);
    for i in static_range(0, 3) {
        acc += i;
    }
    store(out + offs, acc);
}
"#;
    let module = lower_src(src, "k", &[]);
    let k = &module.kernel;
    // Three unrolled iterations, each an add with its own constant.
    for v in 0..3 {
        assert!(k
            .insts
            .iter()
            .any(|(_, i)| i.kind == InstKind::Const(Literal::Int(v))));
    }
    assert!(k
        .insts
        .iter()
        .any(|(_, i)| matches!(i.kind, InstKind::Arange { .. })
            && i.ty == Some(ir::Type::tile(ScalarType::I32, vec![16]))));
    let mut args = vec![KernelArg::Buffer(HostBuffer::from_i32(&[9; 32], vec![32]))];
    crate::interp::run(&module, &mut args, [1, 1, 1]).expect("runs");
    match &args[0] {
        KernelArg::Buffer(b) => assert_eq!(b.to_i32()[..16], [3; 16]),
        _ => unreachable!(),
    }
}

#[test]
fn if_expression_while_and_early_return_run() {
    let src = r#"
kernel k(out: *mut i32, n: i32) {
    let pid = program_id(0);
    if pid >= n { return; }
    let mut i = 0;
    let mut total = 0;
    while i < 10 {
        i += 1;
        if i == 3 { continue; }
        if i > 6 { break; }
        total += i;
    }
    let sign = if pid % 2 == 0 { 1 } else { -1 };
    store(out + pid, total * sign);
}
"#;
    let module = lower_src(src, "k", &[]);
    let mut args = vec![
        KernelArg::Buffer(HostBuffer::from_i32(&[7; 4], vec![4])),
        int(3),
    ];
    crate::interp::run(&module, &mut args, [4, 1, 1]).expect("runs");
    match &args[0] {
        // 1 + 2 + 4 + 5 + 6 = 18
        KernelArg::Buffer(b) => assert_eq!(b.to_i32(), vec![18, -18, 18, 7]),
        _ => unreachable!(),
    }
}

#[test]
fn fns_return_early() {
    let src = r#"
fn width(const K: i32) { if K > 2 { return 8; } 4 }
fn first_square_above(x, limit) {
    for i in static_range(0, 6) {
        if i * i > limit { return x + i; }
    }
    for i in range(0, 100) {
        if i * i > limit { return x + i; }
    }
    -1
}
fn clamp_store(o, v) {
    if v > 50 { store(o, 50); return; }
    store(o, v);
}
kernel k(out: *mut i32) {
    let pid = program_id(0);
    static_assert(width(3) == 8 && width(1) == 4, "a compile-time return stays known");
    let z = zeros([width(3)], i32);
    clamp_store(out + pid, first_square_above(sum(z), pid * pid * 7));
}
"#;
    let module = lower_src(src, "k", &[]);
    let mut args = vec![KernelArg::Buffer(HostBuffer::from_i32(&[0; 5], vec![5]))];
    crate::interp::run(&module, &mut args, [5, 1, 1]).expect("runs");
    let expected: Vec<i32> = (0..5)
        .map(|pid| {
            let first = (0..).find(|i: &i32| i * i > pid * pid * 7).unwrap();
            first.min(50)
        })
        .collect();
    match &args[0] {
        KernelArg::Buffer(b) => assert_eq!(b.to_i32(), expected),
        _ => unreachable!(),
    }
    // The second loop is left with `break`, and the rest of the fn is guarded by the flag.
    let kinds = all_kinds(&module.kernel);
    assert!(kinds.iter().any(|k| matches!(k, InstKind::Break)));
    assert_eq!(
        module
            .kernel
            .locals
            .iter()
            .filter(|(_, l)| l.name == "returned")
            .count(),
        2,
        "one flag per early-returning call"
    );
}

#[test]
fn use_file_relative_to_the_user() {
    let main = r#"
use "lib/act.tk";
kernel k(x: *f32, out: *mut f32) {
    let offs = arange(0, 8);
    store(out + offs, act::double(load(x + offs)));
}
"#;
    let act = "fn double(x: f32) -> f32 { x * 2.0 }";
    let (checked, diags, sources) = check_files(main, &[("dir/lib/act.tk", act)]);
    assert!(
        diags.is_empty(),
        "{}",
        diag::render(&diags, &sources, false)
    );
    assert_eq!(sources.files.len(), 2);
    let (module, diags) = lower(&checked, "k", &[]);
    assert!(diags.is_empty());
    assert!(module.is_some());
}

/// `(source, expected code)`: the source must produce a diagnostic with that code.
const ERROR_CASES: &[(&str, &str)] = &[
    ("kernel k(x: *f32) { let a = y; }", "E0201"),
    ("kernel k(x: *f32) { let offs = arange(0, 16); let v = laod(x + offs); }", "E0203"),
    ("fn f(a) { a } fn f(b) { b } kernel k() { }", "E0202"),
    ("kernel k() { let a = program_id(0, 1); }", "E0204"),
    ("kernel k(x: *f32) { let v = load(x, mask2: true); }", "E0205"),
    ("kernel k(x: *mut f32) { store(x); }", "E0206"),
    ("fn f(a) { g(a) } fn g(a) { f(a) } kernel k() { let v = f(1); }", "E0207"),
    ("use nosuch; kernel k() { }", "E0208"),
    ("kernel k() { break; }", "E0209"),
    ("kernel k() { let a = 1; a = 2; }", "E0210"),
    ("kernel k() { let a = program_id(0, axis: 0); }", "E0212"),
    ("#[gird(1)] kernel k() { }", "E0214"),
    ("fn f(a) { a } kernel k() { let v = f; }", "E0215"),
    ("kernel k(x: *f32, n: i32) { let offs = arange(0, 16); let v = load(x + offs) + n; }", "E0301"),
    ("kernel k(n: i32) { let v = n + 1.5; }", "E0302"),
    ("kernel k(n: i32) { let v = n + 3000000000; }", "E0303"),
    ("kernel k(x: f32) { let v = x << 2; }", "E0304"),
    ("kernel k(n: i32) { if n { } }", "E0305"),
    ("kernel k(x: *f32) { for i in range(0.0, 4.0) { } }", "E0306"),
    ("kernel k(x: *f32) { store(x, 1.0); }", "E0307"),
    ("kernel k(n: i32) { let v = load(n); }", "E0308"),
    ("kernel k(x: *mut f32, n: i32) { store(x, n); }", "E0309"),
    ("kernel k() { let a: f32[16] = arange(0, 16); }", "E0310"),
    ("kernel k(n: i32) { let mut a = 0; a = 1.5 * 2.0; }", "E0311"),
    ("kernel k(x: f32) { let mut a = 0; a = x; }", "E0311"),
    ("fn f(a) -> f32 { a + 1 } kernel k(n: i32) { let v = f(n); }", "E0312"),
    ("kernel k(n: i32) { let v = if n > 0 { 1.0 } else { n }; }", "E0302"),
    ("kernel k(n: i32) { let v = if n > 0 { arange(0, 4) } else { arange(0, 8) }; }", "E0313"),
    ("kernel k(x: f32[4]) { }", "E0314"),
    ("kernel k(x: *f32, y: *f32) { let p = x + y; }", "E0315"),
    ("kernel k(x: *f32, y: *f32) { let mut p = x; p = y; }", "E0315"),
    ("kernel k() { let z = zeros([4], 3); }", "E0316"),
    ("kernel k(n: i32) { let v = exp(n); }", "E0317"),
    ("fn f(a: f16) { a } kernel k(x: f32) { let v = f(x); }", "E0318"),
    ("kernel k() { let a = arange(0, 4) < 2; if a && a { } }", "E0319"),
    ("kernel k() { let z = zeros([0], f32); }", "E0401"),
    ("kernel k() { let z = reshape(zeros([48], f32), [4, 12]); }", "E0401"),
    ("kernel k() { let z = reshape(zeros([4, 12], f32), [48]); }", "E0401"),
    ("kernel k() { let v = arange(0, 4) + arange(0, 8); }", "E0402"),
    ("kernel k() { let v = arange(0, 4)[:, :, None]; }", "E0403"),
    ("kernel k() { let z = zeros([2048, 1024], f32); }", "E0404"),
    ("kernel k() { if arange(0, 4) < 2 { } }", "E0405"),
    ("kernel k() { let s = sum(arange(0, 4), axis: 1); }", "E0406"),
    ("kernel k() { let a = arange(12, 12); }", "E0407"),
    ("kernel k(const N: i32 = 12) { static_assert(N % 16 == 0, \"N must be a multiple of 16\"); }", "E0501"),
    ("const A: i32 = 4 / 0; kernel k() { }", "E0503"),
    ("kernel k(n: i32) { let a = arange(0, n); }", "E0504"),
    ("#[grid(x)] kernel k(x: *f32) { }", "E0505"),
    ("kernel k() { for i in range(0, 4, 0) { } }", "E0507"),
    ("#[threads(100)] kernel k() { }", "E0508"),
    ("kernel k() { let v = cumsum(arange(0, 4)[:, None]); }", "E0206"),
    ("kernel k() { let v = cumsum(3); }", "E0403"),
    ("kernel k() { let v = cumprod(arange(0, 4), axis: 1); }", "E0406"),
    ("kernel k() { let v = argmax(arange(0, 4) < 2); }", "E0304"),
    ("fn f(a) { if a > 0 { return 1; } } kernel k(n: i32) { let v = f(n); }", "E0312"),
    ("fn f(a) { if a > 0 { return 1; } return; } kernel k(n: i32) { f(n); }", "E0312"),
    ("fn f(a) { if a > 0 { return 1.5; } a } kernel k(n: i32) { let v = f(n); }", "E0302"),
    ("fn f(a) { if a > 0 { return a; } a + arange(0, 4) } kernel k(n: i32) { let v = f(n); }", "E0312"),
    ("fn f(a) { while (if a > 0 { return 1; } else { a < 3 }) { } 2 } kernel k(n: i32) { let v = f(n); }", "E0602"),
    ("const C: i32 = { return 1; }; kernel k() { let v = C; }", "E0602"),
    ("kernel k() { for i in static_range(0, 100000) { } }", "E0603"),
    ("kernel k() { for i in static_range(0, 4) { break; } }", "E0604"),
    ("kernel k(n: i32) { let v = n + true; }", "E0301"),
    ("kernel k(x: *f32) { let v = load(x + arange(0, 4), mask: arange(0, 8) < 2); }", "E0402"),
    ("kernel k(x: *f32) { let v = load(x, other: 1); let w: i32 = v; }", "E0310"),
    ("kernel k() { let v = -true; }", "E0304"),
    ("kernel k() { let a = 1; a += 1; }", "E0210"),
    ("kernel k() { continue; }", "E0209"),
    ("const A: i32 = B; const B: i32 = A; kernel k() { }", "E0207"),
    ("fn f(a) { f(a) } kernel k() { let v = f(1); }", "E0207"),
    ("kernel k() { let v = math::gelu(1.0); }", "E0208"),
    ("kernel k(x: *f32) { let v = dot(x, x); }", "E0304"),
    ("kernel k(x: *f32) { let v = atomic_add(x, 1.0); }", "E0307"),
    ("kernel k(x: *mut f32) { let v = atomic_max(x, 1.0); }", "E0304"),
    ("fn f(a, a) { a } kernel k() { let v = f(1, 2); }", "E0202"),
    ("kernel k() { print(\"v\", zeros([-3], f32)); }", "E0401"),
];

#[test]
fn error_cases() {
    let mut failures = Vec::new();
    for (src, code) in ERROR_CASES {
        let (_, diags, sources) = check_src(src);
        if !diags.iter().any(|d| d.code == *code) {
            failures.push(format!(
                "{code}: {src}\n{}",
                diag::render(&diags, &sources, false)
            ));
        }
        for d in diags.iter() {
            assert!(
                d.help.is_some() || d.code.starts_with("E01"),
                "{} has no help: {src}",
                d.code
            );
            assert!(!d.labels.is_empty(), "{} has no label: {src}", d.code);
            assert_ne!(d.code, "ICE", "{src}");
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Any positive dim is a block dim (devices pad it to a power of two); the element limit counts
/// the padded shape, and `reshape` keeps to shapes whose padding stays after the real elements.
#[test]
fn blocks_take_any_positive_size() {
    for src in [
        "kernel k() { let z = zeros([12], f32); }",
        "kernel k() { let z = full([3, 100], 1.0, f32); let s = sum(z, axis: 1); }",
        "kernel k() { let a = arange(5, 105); let b = a[:, None] + arange(0, 80)[None, :]; }",
        "kernel k() { let z = reshape(zeros([3, 16], f32), [48]); }",
        "kernel k() { let z = reshape(zeros([1, 100], f32), [100, 1]); }",
        "kernel k() { let z = reshape(zeros([48], f32), [3, 1, 16]); }",
        "kernel k() { let z = zeros([1000, 1000], f32); }",
    ] {
        let (_, diags, sources) = check_src(src);
        assert!(
            !diags.has_errors(),
            "{src}\n{}",
            diag::render(&diags, &sources, false)
        );
    }
    // 1000 x 1100 is 1.1e6 elements padded to 1024 x 2048.
    let (_, diags, _) = check_src("kernel k() { let z = zeros([1000, 1100], f32); }");
    assert!(diags.iter().any(|d| d.code == "E0404"));
    let (_, diags, _) =
        check_src("kernel k() { let z = zeros([600, 1], f32) + zeros([1, 1100], f32); }");
    assert!(diags.iter().any(|d| d.code == "E0404"));
}

#[test]
fn lower_reports_missing_and_unknown_consts() {
    let (checked, diags, _) =
        check_src("kernel k(x: *f32, const N: i32) { let a = arange(0, N); }");
    assert!(
        diags.is_empty(),
        "a kernel without defaults is not elaborated by check"
    );
    let (module, diags) = lower(&checked, "k", &[]);
    assert!(module.is_none());
    assert_eq!(diags.items[0].code, "E0502");
    let (module, diags) = lower(&checked, "k", &[("N".into(), Literal::Int(8))]);
    assert!(module.is_some() && diags.is_empty());
    let (_, diags) = lower(&checked, "k", &[("M".into(), Literal::Int(8))]);
    assert!(diags.iter().any(|d| d.code == "E0216"));
    let (_, diags) = lower(&checked, "kk", &[]);
    assert_eq!(diags.items[0].code, "E0211");
    assert_eq!(diags.items[0].help.as_deref(), Some("did you mean `k`?"));
}

#[test]
fn unknown_name_suggests_a_close_one() {
    let (_, diags, _) = check_src("kernel k(offsets: i32) { let a = offset + 1; }");
    let d = &diags.items[0];
    assert_eq!(d.code, "E0201");
    assert_eq!(d.help.as_deref(), Some("did you mean `offsets`?"));
}

#[test]
fn literal_typing_rule() {
    // `x * 0.5` keeps f16; an int literal becomes a float; an untyped literal alone is i32/f32.
    let src = r#"
kernel k(x: *f16, out: *mut f16, o2: *mut f32, o3: *mut i32) {
    let v = load(x + arange(0, 4)) * 0.5 + 2;
    store(out + arange(0, 4), v);
    store(o2, 1.5);
    store(o3, 7);
}
"#;
    let module = lower_src(src, "k", &[]);
    let k = &module.kernel;
    assert!(k
        .insts
        .iter()
        .any(|(_, i)| i.kind == InstKind::Const(Literal::Float(0.5))
            && i.ty == Some(ir::Type::scalar(ScalarType::F16))));
    assert!(k
        .insts
        .iter()
        .any(|(_, i)| i.kind == InstKind::Const(Literal::Float(2.0))
            && i.ty == Some(ir::Type::scalar(ScalarType::F16))));
}

#[test]
fn never_panics_on_broken_input() {
    let inputs = [
        "kernel",
        "kernel k(",
        "fn f(",
        "kernel k() { let }",
        "kernel k() { x[ }",
        "#[grid(",
        "use ;",
        "kernel k() { let a = [1, 2]; }",
        "kernel k() { let a = \"s\"; }",
        "kernel k() { let a = f32; }",
        "kernel k(x: *f32) { let a = x[:, None]; }",
        "kernel k() { let a = zeros([], f32); }",
        "kernel k() { let a = 99999999999999999999999999999999999; }",
        "kernel k() { static_assert(1, 2); }",
        "kernel k() { print(1); }",
        "kernel k() { let v = store; }",
    ];
    for src in inputs {
        let (checked, diags, _) = check_src(src);
        assert!(diags.iter().all(|d| d.code != "ICE"), "{src}");
        for sig in &checked.kernels {
            let _ = lower(&checked, &sig.name, &[]);
        }
    }
}

/// Runs a one-program kernel `k(x: *f32, out: *mut f32)` over 8 inputs and returns `out`.
fn run_elementwise(body: &str, x: &[f32]) -> Vec<f32> {
    let src = format!(
        "use math;\nkernel k(x: *f32, out: *mut f32, n: i32) {{\n    let offs = arange(0, 8);\n    let v = load(x + offs);\n{body}\n}}\n"
    );
    let module = lower_src(&src, "k", &[]);
    let mut args = vec![f32_arg(x), f32_arg(&[0.0; 8]), int(8)];
    crate::interp::run(&module, &mut args, [1, 1, 1]).expect("runs");
    out_f32(&args[1])
}

#[test]
fn builtins_compute_the_documented_values() {
    let x = [-2.5f32, -1.0, -0.25, 0.0, 0.5, 1.0, 3.0, 7.5];
    type Expect = Box<dyn Fn(usize, f32) -> f32>;
    let cases: Vec<(&str, Expect)> = vec![
        ("store(out + offs, abs(v));", Box::new(|_, v| v.abs())),
        (
            "store(out + offs, clamp(v, -1.0, 1.0));",
            Box::new(|_, v| v.clamp(-1.0, 1.0)),
        ),
        (
            "store(out + offs, fma(v, v, 1.0));",
            Box::new(|_, v| v.mul_add(v, 1.0)),
        ),
        (
            "store(out + offs, where(v > 0.0, v, 0.0 - v));",
            Box::new(|_, v| v.abs()),
        ),
        (
            "store(out + offs, maximum(v, 0.0) + minimum(v, 0.0));",
            Box::new(|_, v| v),
        ),
        (
            "store(out + offs, floor(v) + ceil(v));",
            Box::new(|_, v| v.floor() + v.ceil()),
        ),
        (
            "store(out + offs, (v as i32) as f32);",
            Box::new(|_, v| v.trunc()),
        ),
        (
            "store(out + offs, math::relu(v));",
            Box::new(|_, v| v.max(0.0)),
        ),
        (
            "store(out + offs, math::leaky_relu(v, 0.5));",
            Box::new(|_, v| if v > 0.0 { v } else { 0.5 * v }),
        ),
        (
            "store(out + offs, math::silu(v));",
            Box::new(|_, v| v / (1.0 + (-v).exp())),
        ),
        (
            "store(out + offs, math::softplus(v));",
            Box::new(|_, v| (1.0 + v.exp()).ln()),
        ),
        (
            "store(out + offs, -v * 2 + 1);",
            Box::new(|_, v| -v * 2.0 + 1.0),
        ),
        (
            "let mut a = v; a *= 3.0; a -= 1; store(out + offs, a);",
            Box::new(|_, v| v * 3.0 - 1.0),
        ),
        (
            "store(out + offs, zeros_like(v) + full_like(v, 2.0) + full([8], 1.0, f32));",
            Box::new(|_, _| 3.0),
        ),
        (
            "store(out + offs, broadcast_to(sum(v, axis: 0, keep_dims: true), [8]));",
            Box::new(|_, _| 8.25),
        ),
        (
            "store(out + offs, expand_dims(v, 0)[:, :, None][0 - 0 == 0]);",
            Box::new(|_, v| v),
        ),
        (
            "store(out + offs, (cdiv(offs, 3) + umulhi(offs, offs << 28)) as f32);",
            Box::new(|i, _| {
                let o = i as i64;
                ((o + 2) / 3 + ((o * (o << 28)) >> 32)) as f32
            }),
        ),
        (
            "store(out + offs, bitcast(bitcast(v, i32), f32));",
            Box::new(|_, v| v),
        ),
        (
            "store(out + offs, multiple_of(v, 4) + max_contiguous(v, 8));",
            Box::new(|_, v| 2.0 * v),
        ),
        (
            "store(out + offs, max(v) + min(v) + prod(v[None, :], axis: -1));",
            Box::new(|_, _| 5.0),
        ),
        (
            "store(out + 7 - offs, v);",
            Box::new(|i, _| [7.5f32, 3.0, 1.0, 0.5, 0.0, -0.25, -1.0, -2.5][i]),
        ),
    ];
    for (body, expect) in cases {
        if body.contains("0 - 0 == 0") {
            // Only `:` and `None` index; anything else is a parse or check error, never a panic.
            let src = format!("kernel k(x: *mut f32) {{ let v = load(x + arange(0, 8)); {body} }}");
            let (_, diags, _) = check_src(&src.replace("out", "x"));
            assert!(diags.has_errors(), "{body}");
            continue;
        }
        let out = run_elementwise(body, &x);
        for i in 0..8 {
            let want = expect(i, x[i]);
            assert!(
                (out[i] - want).abs() < 1e-5,
                "{body}: lane {i}: {} vs {want}",
                out[i]
            );
        }
    }
}

#[test]
fn scalar_loads_stores_and_runtime_logic() {
    let src = r#"
kernel k(x: *f32, out: *mut f32, n: i32, flag: bool) {
    let first = load(x);
    let last = load(x + n - 1);
    if flag && first < last || n == 0 {
        store(out, last - first);
    } else {
        store(out, 0.0 - 1.0);
    }
    print("first", first);
    device_assert(first <= last, "sorted");
}
"#;
    let module = lower_src(src, "k", &[]);
    let run = |flag: bool| {
        let mut args = vec![
            f32_arg(&[1.0, 2.0, 5.0]),
            f32_arg(&[0.0]),
            int(3),
            KernelArg::Scalar(Literal::Bool(flag)),
        ];
        let mut output = crate::interp::RunOutput::default();
        crate::interp::run_with_output(&module, &mut args, [1, 1, 1], &mut output).expect("runs");
        assert_eq!(output.printed.len(), 1);
        out_f32(&args[1])[0]
    };
    assert_eq!(run(true), 4.0);
    assert_eq!(run(false), -1.0);
}

#[test]
fn grid_threads_and_autotune_attributes() {
    let src = r#"
#[grid(cdiv(n, BLOCK * 2), maximum(m, 1) + 1, 4 / 2)]
#[threads(64)]
#[autotune(key = [n], configs = [{BLOCK = 64, threads = 32}, {BLOCK = 128, threads = 64}])]
kernel k(out: *mut f32, n: i32, m: i32, const BLOCK: i32 = 64) {
    store(out, 1.0);
}
"#;
    let module = lower_src(src, "k", &[]);
    let k = &module.kernel;
    use GridExpr as G;
    assert_eq!(
        k.grid,
        Some(vec![
            G::CeilDiv(Box::new(G::Param(1)), Box::new(G::Const(128))),
            G::Add(
                Box::new(G::Max(Box::new(G::Param(2)), Box::new(G::Const(1)))),
                Box::new(G::Const(1))
            ),
            G::Const(2),
        ])
    );
    assert_eq!(k.threads, Some(64));
    let (checked, _, _) = check_src(src);
    let tune = checked.kernels[0].autotune.clone().expect("autotune");
    assert_eq!(tune.key, vec!["n".to_string()]);
    assert_eq!(tune.configs.len(), 2);
    assert_eq!(
        tune.configs[1].consts,
        vec![("BLOCK".to_string(), Literal::Int(128))]
    );
    assert_eq!(tune.configs[1].threads, Some(64));
    let bad = src
        .replace("key = [n]", "key = [q]")
        .replace("BLOCK = 128", "BLOK = 128");
    let (_, diags, _) = check_src(&bad);
    let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
    assert_eq!(codes, vec!["E0508", "E0508"]);
}

#[test]
fn stages_attribute_and_autotune_knob() {
    let src = r#"
#[stages(1)]
#[autotune(key = [n], configs = [{BLOCK = 64, stages = 2, vector = 2}, {BLOCK = 128, threads = 64, stages = 4}])]
kernel k(out: *mut f32, n: i32, const BLOCK: i32 = 64) {
    store(out, 1.0);
}
"#;
    let module = lower_src(src, "k", &[]);
    assert_eq!(module.kernel.stages, Some(1));
    assert!(crate::ir::print::print(&module).contains(" stages(1)"));
    let (checked, diags, _) = check_src(src);
    assert!(diags.is_empty(), "{diags:?}");
    let tune = checked.kernels[0].autotune.clone().expect("autotune");
    assert_eq!(tune.configs[0].stages, Some(2));
    assert_eq!(tune.configs[0].vector, Some(2));
    assert_eq!(
        (tune.configs[1].threads, tune.configs[1].stages),
        (Some(64), Some(4))
    );
    for (bad, code) in [
        (src.replace("stages(1)", "stages(0)"), "E0508"),
        (src.replace("stages(1)", "stages(5)"), "E0508"),
        (src.replace("stages = 4", "stages = 8"), "E0508"),
        (src.replace("stages = 4", "stages = 4, vector = 3"), "E0508"),
        (src.replace("#[stages(1)]", "#[stages]"), "E0214"),
        (src.replace("#[stages(1)]", "#[stages(1, 2)]"), "E0214"),
    ] {
        let (_, diags, _) = check_src(&bad);
        let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
        assert_eq!(codes, vec![code], "{bad}");
    }
    // A misspelling is told the attribute it resembles.
    let (_, diags, _) = check_src(&src.replace("#[stages(1)]", "#[stage(1)]"));
    assert_eq!(
        diags.iter().map(|d| d.code).collect::<Vec<_>>(),
        vec!["E0214"]
    );
    assert!(
        format!("{:?}", diags.iter().next().unwrap()).contains("stages"),
        "{diags:?}"
    );
}

#[test]
fn use_errors_and_cycles() {
    let (_, diags, _) = check_src("use \"missing.tk\";\nkernel k() { let v = missing::f(1); }");
    let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
    assert_eq!(codes, vec!["E0208"], "a failed use is reported once");
    let (_, diags, _) = check_files(
        "use \"a.tk\";\nkernel k(out: *mut i32) { store(out, a::f(1)); }",
        &[
            ("dir/a.tk", "use \"b.tk\";\nfn f(x) { b::g(x) }"),
            ("dir/b.tk", "use \"a.tk\";\nfn g(x) { x }"),
        ],
    );
    assert!(
        diags
            .iter()
            .any(|d| d.code == "E0208" && d.message.contains("cycle")),
        "{:?}",
        diags
    );
}

#[test]
fn const_default_using_a_runtime_param_is_reported() {
    let (_, diags, _) = check_src("kernel k(n: i32, const B: i32 = n) { }");
    assert_eq!(diags.items[0].code, "E0504");
}

#[test]
fn spans_point_at_the_source() {
    let (checked, _, sources) = check_src(VECTOR_ADD);
    let (module, _) = lower(&checked, "vector_add", &[]);
    let k = module.unwrap().kernel;
    let (store, _) = k
        .insts
        .iter()
        .find(|(_, i)| matches!(i.kind, InstKind::Store { .. }))
        .unwrap();
    assert_eq!(
        sources.snippet(k.span(store)),
        "store(out + offs, a + b, mask: mask)"
    );
    let (arange, _) = k
        .insts
        .iter()
        .find(|(_, i)| matches!(i.kind, InstKind::Arange { .. }))
        .unwrap();
    assert_eq!(sources.snippet(k.span(arange)), "arange(0, BLOCK)");
}

#[test]
fn never_panics_on_prefixes_and_deletions_of_the_examples() {
    for src in [VECTOR_ADD, SOFTMAX, COLUMN_SUM] {
        let boundaries: Vec<usize> = (0..src.len())
            .filter(|&i| src.is_char_boundary(i))
            .collect();
        // Every prefix, and the source with one character deleted.
        let prefixes = boundaries.iter().map(|&end| src[..end].to_string());
        let deletions = boundaries
            .windows(2)
            .map(|w| format!("{}{}", &src[..w[0]], &src[w[1]..]));
        for (end, text) in prefixes.chain(deletions).enumerate() {
            let (checked, diags, _) = check_src(&text);
            assert!(
                diags.iter().all(|d| !d.is_internal()),
                "prefix {end}: {:?}",
                diags
            );
            for sig in &checked.kernels {
                let (_, diags) = lower(&checked, &sig.name, &[]);
                assert!(
                    diags.iter().all(|d| !d.is_internal()),
                    "prefix {end}: {:?}",
                    diags
                );
            }
        }
    }
}

#[test]
fn loops_over_wide_ints_nested_and_2d_grids() {
    let src = r#"
kernel k(out: *mut i32, n: i64) {
    let x = program_id(0);
    let y = program_id(1);
    let mut total = 0;
    for i in range(0, n) {
        for j in range(i, 0, -1) {
            total += 1;
        }
    }
    let mut k = 0;
    while k < 100 && total > 0 {
        k += 7;
    }
    store(out + y * num_programs(0) + x, total * 1000 + k + x * 10 + y);
}
"#;
    let module = lower_src(src, "k", &[]);
    let k = &module.kernel;
    let for_vars: Vec<ScalarType> = k
        .insts
        .iter()
        .filter_map(|(_, i)| match i.kind {
            InstKind::For { var, .. } => k.locals[var].ty.scalar_type(),
            _ => None,
        })
        .collect();
    assert_eq!(
        for_vars,
        vec![ScalarType::I64, ScalarType::I64],
        "bounds' int type"
    );
    let mut args = vec![
        KernelArg::Buffer(HostBuffer::from_i32(&[0; 6], vec![6])),
        int(4),
    ];
    crate::interp::run(&module, &mut args, [3, 2, 1]).expect("runs");
    // total = 0 + 1 + 2 + 3 = 6; k = 105.
    let want: Vec<i32> = (0..2)
        .flat_map(|y| (0..3).map(move |x| 6105 + x * 10 + y))
        .collect();
    match &args[0] {
        KernelArg::Buffer(b) => assert_eq!(b.to_i32(), want),
        _ => unreachable!(),
    }
}

#[test]
fn deep_fn_nesting_is_a_diagnostic() {
    let mut src = String::from("fn g0(x) { x }\n");
    for i in 1..80 {
        src.push_str(&format!("fn g{i}(x) {{ g{}(x) + 1 }}\n", i - 1));
    }
    src.push_str("kernel k(out: *mut i32) { store(out, g79(0)); }\n");
    let (_, diags, _s) = check_src(&src);
    assert_eq!(
        diags.items.iter().map(|d| d.code).collect::<Vec<_>>(),
        vec!["E0605"],
        "{}",
        diag::render(&diags, &_s, false)
    );
    // Shallower nesting folds to a compile-time value.
    let module = lower_src(&src.replace("g79(0)", "g40(0)"), "k", &[]);
    assert!(module
        .kernel
        .insts
        .iter()
        .any(|(_, i)| i.kind == InstKind::Const(Literal::Int(40))));
}
