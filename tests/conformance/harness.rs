//! The conformance harness: typed host values, batches of cases compiled into one kernel, runs on
//! the interpreter and the Vulkan device, comparison with tolerances, and the known-failure ledger.
//!
//! A batch owns one input and one output buffer per element type (`in_f16`, `out_bool`, ...);
//! every case reads its inputs from and writes its results to its own slice of those buffers, so
//! many cases share one kernel (one shader compile on lavapipe). When a batch does not compile or
//! run, each of its cases is retried alone so that a failure names exactly the cases it belongs to.
use super::common::{count_op, validate_spirv, Backend};
use half::{bf16, f16};
use std::collections::BTreeMap;
pub use tk::base::{HostBuffer, KernelArg, ScalarType};
use tk::driver::{self, BuildOptions, Source};
use tk::runtime::Device;

pub use ScalarType::*;

pub const INTS: [ScalarType; 8] = [I8, I16, I32, I64, U8, U16, U32, U64];
pub const FLOATS: [ScalarType; 4] = [F16, BF16, F32, F64];
/// Ints and floats (everything but bool).
pub const NUMERIC: [ScalarType; 12] = [I8, I16, I32, I64, U8, U16, U32, U64, F16, BF16, F32, F64];

/// One host value: ints (and bools as 0/1) exactly, floats as f64 (every dtype's values fit).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum V {
    I(i128),
    F(f64),
}

impl V {
    pub fn i(self) -> i128 {
        match self {
            V::I(v) => v,
            V::F(f) => panic!("expected an int value, got float {f}"),
        }
    }
    pub fn f(self) -> f64 {
        match self {
            V::F(v) => v,
            V::I(i) => i as f64,
        }
    }
}

impl std::fmt::Display for V {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            V::I(v) => write!(f, "{v}"),
            V::F(v) => write!(f, "{v:e}"),
        }
    }
}

/// The range of an int type (bool is 0..=1).
pub fn int_range(t: ScalarType) -> (i128, i128) {
    match t {
        Bool => (0, 1),
        I8 => (i8::MIN as i128, i8::MAX as i128),
        I16 => (i16::MIN as i128, i16::MAX as i128),
        I32 => (i32::MIN as i128, i32::MAX as i128),
        I64 => (i64::MIN as i128, i64::MAX as i128),
        U8 => (0, u8::MAX as i128),
        U16 => (0, u16::MAX as i128),
        U32 => (0, u32::MAX as i128),
        U64 => (0, u64::MAX as i128),
        _ => panic!("{t} is not an int type"),
    }
}

/// Wraps an exact integer to `t` (two's complement), as integer arithmetic does.
pub fn wrap(t: ScalarType, v: i128) -> i128 {
    if t == Bool {
        return (v != 0) as i128;
    }
    let bits = t.bits();
    let m = v & ((1i128 << bits) - 1);
    if t.is_signed_int() && m >= 1i128 << (bits - 1) {
        m - (1i128 << bits)
    } else {
        m
    }
}

/// Rounds an f64 to float type `t` (nearest-even); bf16 goes through f32 as the spec says.
pub fn round_to(t: ScalarType, x: f64) -> f64 {
    match t {
        F16 => f16::from_f64(x).to_f64(),
        BF16 => bf16::from_f32(x as f32).to_f64(),
        F32 => x as f32 as f64,
        F64 => x,
        _ => panic!("{t} is not a float type"),
    }
}

/// Builds the value of type `t` closest to `x` (floats rounded, ints wrapped).
pub fn value_of(t: ScalarType, x: f64) -> V {
    if t.is_float() {
        V::F(round_to(t, x))
    } else {
        V::I(wrap(t, x as i128))
    }
}

pub fn encode(t: ScalarType, values: &[V]) -> HostBuffer {
    let mut data = Vec::with_capacity(values.len() * t.bytes() as usize);
    for &v in values {
        match t {
            Bool => data.push((v.i() != 0) as u8),
            I8 | U8 => data.push(v.i() as u8),
            I16 | U16 => data.extend((v.i() as u16).to_le_bytes()),
            I32 | U32 => data.extend((v.i() as u32).to_le_bytes()),
            I64 | U64 => data.extend((v.i() as u64).to_le_bytes()),
            F16 => data.extend(f16::from_f64(v.f()).to_bits().to_le_bytes()),
            BF16 => data.extend(bf16::from_f64(v.f()).to_bits().to_le_bytes()),
            F32 => data.extend((v.f() as f32).to_le_bytes()),
            F64 => data.extend(v.f().to_le_bytes()),
        }
    }
    HostBuffer {
        elem: t,
        shape: vec![values.len()],
        data,
    }
}

pub fn decode(buffer: &HostBuffer) -> Vec<V> {
    let t = buffer.elem;
    buffer
        .data
        .chunks_exact(t.bytes() as usize)
        .map(|c| match t {
            Bool => V::I((c[0] != 0) as i128),
            I8 => V::I(c[0] as i8 as i128),
            U8 => V::I(c[0] as i128),
            I16 => V::I(i16::from_le_bytes([c[0], c[1]]) as i128),
            U16 => V::I(u16::from_le_bytes([c[0], c[1]]) as i128),
            I32 => V::I(i32::from_le_bytes(c.try_into().unwrap()) as i128),
            U32 => V::I(u32::from_le_bytes(c.try_into().unwrap()) as i128),
            I64 => V::I(i64::from_le_bytes(c.try_into().unwrap()) as i128),
            U64 => V::I(u64::from_le_bytes(c.try_into().unwrap()) as i128),
            F16 => V::F(f16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f64()),
            BF16 => V::F(bf16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f64()),
            F32 => V::F(f32::from_le_bytes(c.try_into().unwrap()) as f64),
            F64 => V::F(f64::from_le_bytes(c.try_into().unwrap())),
        })
        .collect()
}

/// The position of `x` on the ordered line of `t`'s floats (adjacent floats differ by one).
fn ordered(t: ScalarType, x: f64) -> i128 {
    let (bits, width) = match t {
        F16 => (f16::from_f64(x).to_bits() as u64, 16),
        BF16 => (bf16::from_f64(x).to_bits() as u64, 16),
        F32 => ((x as f32).to_bits() as u64, 32),
        _ => (x.to_bits(), 64),
    };
    let sign = 1u64 << (width - 1);
    if bits & sign != 0 {
        -((bits & !sign) as i128)
    } else {
        bits as i128
    }
}

/// Distance in units in the last place of `t` between two finite or infinite values.
pub fn ulp_diff(t: ScalarType, a: f64, b: f64) -> u128 {
    (ordered(t, a) - ordered(t, b)).unsigned_abs()
}

/// Vulkan's `ulp(x)` for type `t`: the distance between the floats of `t` around `|x|`, the
/// larger one where `|x|` is a power of two (the gap to the next float up). Infinite for
/// infinities and NaN.
pub fn spacing(t: ScalarType, x: f64) -> f64 {
    let x = round_to(t, x.abs());
    if !x.is_finite() {
        return f64::INFINITY;
    }
    let next = match t {
        F16 => f16::from_bits(f16::from_f64(x).to_bits() + 1).to_f64(),
        BF16 => bf16::from_bits(bf16::from_f64(x).to_bits() + 1).to_f64(),
        F32 => f32::from_bits((x as f32).to_bits() + 1) as f64,
        _ => f64::from_bits(x.to_bits() + 1),
    };
    if next.is_finite() {
        next - x
    } else {
        // The largest finite value: the gap below it.
        x - match t {
            F16 => f16::from_bits(f16::from_f64(x).to_bits() - 1).to_f64(),
            BF16 => bf16::from_bits(bf16::from_f64(x).to_bits() - 1).to_f64(),
            F32 => f32::from_bits((x as f32).to_bits() - 1) as f64,
            _ => f64::from_bits(x.to_bits() - 1),
        }
    }
}

/// The unit roundoff of the type a float operation of `t` computes in on the device: f32 for
/// f16, bf16 and f32 (spec §6: f16/bf16 arithmetic beyond `+ - *` is computed in f32), f64 for
/// f64.
pub fn compute_unit_roundoff(t: ScalarType) -> f64 {
    if t == F64 {
        2f64.powi(-53)
    } else {
        2f64.powi(-24)
    }
}

/// How a float result may differ from the reference; ints are always exact. The variants without
/// `Device` apply on both backends; the `Device` ones hold the interpreter, which is
/// correctly rounded, to the exact reference and the Vulkan device to the bound of Vulkan's
/// precision table ("Precision and Operation of SPIR-V Instructions").
#[derive(Clone, Copy, Debug)]
pub enum Tol {
    /// Equal values (+0 == -0; NaN matches NaN).
    Exact,
    /// Within this many ulps of the result type.
    Ulps(u32),
    /// Within this many ulps, or within this absolute error (for results near a zero of the
    /// function, where ulps are meaningless).
    UlpsOrAbs(u32, f64),
    /// Within this absolute error (reductions: a bound on the rounding of any summation order).
    Abs(f64),
    /// Within this many f32 ulps, or this absolute error (f64 results computed in f32).
    F32Ulps(u32, f64),
    /// Exact on the interpreter; within this absolute error on the device.
    Device(f64),
    /// Exact on the interpreter; on the device within this many floats of the type (positions
    /// on its ordered line, so 1 is either neighbour of the expected value, and the largest
    /// finite value neighbours an infinity).
    DeviceUlps(u32),
    /// A remainder `x % y`: exact on the interpreter; on the device within `.0` of the exact
    /// remainder, or, where the exact remainder lies within `.0` of a discontinuity of
    /// `x - y * trunc(x / y)` (0 or `±|y|`, `.1` being `|y|`), within `.0` of the value on its
    /// other side (any evaluation of Vulkan's formula may round across it).
    DeviceRem(f64, f64),
}

/// Whether `got` passes for `want` under `tol`; `on_device` selects the device's bound of the
/// `Device` tolerances.
pub fn close(t: ScalarType, got: V, want: V, tol: Tol, on_device: bool) -> bool {
    match (got, want) {
        (V::I(a), V::I(b)) => a == b,
        (V::F(a), V::F(b)) => {
            if a.is_nan() || b.is_nan() {
                return a.is_nan() && b.is_nan();
            }
            if a == b {
                return true;
            }
            match tol {
                Tol::Exact => false,
                Tol::Ulps(u) => ulp_diff(t, a, b) <= u as u128,
                Tol::UlpsOrAbs(u, abs) => ulp_diff(t, a, b) <= u as u128 || (a - b).abs() <= abs,
                Tol::Abs(abs) => (a - b).abs() <= abs,
                Tol::F32Ulps(u, abs) => ulp_diff(F32, a, b) <= u as u128 || (a - b).abs() <= abs,
                Tol::Device(_) | Tol::DeviceUlps(_) | Tol::DeviceRem(..) if !on_device => false,
                Tol::Device(abs) => (a - b).abs() <= abs,
                Tol::DeviceUlps(u) => ulp_diff(t, a, b) <= u as u128,
                Tol::DeviceRem(abs, period) => {
                    let near = |p: f64, q: f64| (p - q).abs() <= abs;
                    let at_discontinuity = near(b.abs(), 0.0) || near(b.abs(), period);
                    near(a, b) || at_discontinuity && (near(a, b + period) || near(a, b - period))
                }
            }
        }
        _ => false,
    }
}

/// A slice of one output buffer.
#[derive(Clone, Copy, Debug)]
pub struct Slot {
    pub elem: ScalarType,
    pub offset: usize,
    pub len: usize,
}

/// Expected values for one output slot.
pub struct Check {
    pub slot: Slot,
    pub expected: Vec<V>,
    pub tol: Tol,
    /// Per-element tolerance overriding `tol` (reductions compute one per output).
    pub tols: Option<Vec<Tol>>,
}

pub struct Case {
    pub category: &'static str,
    pub name: String,
    pub body: String,
    pub checks: Vec<Check>,
}

/// A set of cases compiled into one kernel.
pub struct Batch {
    pub label: String,
    /// Items before the kernel (fns, `use`s).
    pub prelude: String,
    inputs: BTreeMap<ScalarType, Vec<V>>,
    /// Initial contents of each output buffer (zeros unless a case asks otherwise).
    outputs: BTreeMap<ScalarType, Vec<V>>,
    pub cases: Vec<Case>,
    pub grid: [u32; 3],
    /// Extra kernel parameters (declaration, value), after the buffers.
    pub scalars: Vec<(String, KernelArg)>,
    /// Cases compiled into one kernel.
    pub per_kernel: usize,
}

impl Batch {
    pub fn new(label: impl Into<String>) -> Batch {
        Batch {
            label: label.into(),
            prelude: String::new(),
            inputs: BTreeMap::new(),
            outputs: BTreeMap::new(),
            cases: Vec::new(),
            grid: [1, 1, 1],
            scalars: Vec::new(),
            per_kernel: CASES_PER_KERNEL,
        }
    }

    /// The number of kernels the batch compiles into.
    pub fn kernels(&self) -> usize {
        self.cases.len().div_ceil(self.per_kernel())
    }

    fn per_kernel(&self) -> usize {
        std::env::var("TK_CONFORMANCE_PER_KERNEL")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(self.per_kernel)
    }

    /// Appends input values; returns a pointer expression to the first one, e.g. `(in_f16 + 64)`.
    pub fn input(&mut self, t: ScalarType, values: &[V]) -> String {
        let buffer = self.inputs.entry(t).or_default();
        let offset = buffer.len();
        buffer.extend_from_slice(values);
        format!("(in_{t} + {offset})")
    }

    /// Reserves `len` outputs; returns the pointer expression and the slot to check.
    pub fn output(&mut self, t: ScalarType, len: usize) -> (String, Slot) {
        let zero = if t.is_float() { V::F(0.0) } else { V::I(0) };
        self.output_with(t, &vec![zero; len])
    }

    /// Like `output`, with the slot holding `initial` before the kernel runs (atomics).
    pub fn output_with(&mut self, t: ScalarType, initial: &[V]) -> (String, Slot) {
        let len = initial.len();
        let buffer = self.outputs.entry(t).or_default();
        let offset = buffer.len();
        buffer.extend_from_slice(initial);
        (
            format!("(out_{t} + {offset})"),
            Slot {
                elem: t,
                offset,
                len,
            },
        )
    }

    pub fn case(&mut self, category: &'static str, name: String, body: String, checks: Vec<Check>) {
        self.cases.push(Case {
            category,
            name,
            body,
            checks,
        });
    }

    fn params(&self) -> (String, Vec<KernelArg>, BTreeMap<ScalarType, usize>) {
        let mut decls = Vec::new();
        let mut args = Vec::new();
        let mut out_index = BTreeMap::new();
        for (t, values) in &self.inputs {
            decls.push(format!("in_{t}: *{t}"));
            args.push(KernelArg::Buffer(encode(*t, values)));
        }
        for (t, initial) in &self.outputs {
            out_index.insert(*t, args.len());
            decls.push(format!("out_{t}: *mut {t}"));
            args.push(KernelArg::Buffer(encode(*t, initial)));
        }
        for (decl, arg) in &self.scalars {
            decls.push(decl.clone());
            args.push(arg.clone());
        }
        (decls.join(", "), args, out_index)
    }

    /// The kernel source holding the given cases.
    pub fn source(&self, cases: &[&Case]) -> String {
        let (params, _, _) = self.params();
        let mut text = format!("{}kernel k({params}) {{\n", self.prelude);
        for case in cases {
            text.push_str(&format!(
                "    // {}\n    {{\n{}\n    }};\n",
                case.name, case.body
            ));
        }
        text.push_str("}\n");
        text
    }
}

/// One case on one backend.
pub struct Outcome {
    pub category: &'static str,
    pub name: String,
    pub backend: &'static str,
    pub result: Result<(), String>,
}

fn run_kernel(
    source: &str,
    args: &[KernelArg],
    grid: [u32; 3],
    backend: &Backend,
) -> Result<Vec<KernelArg>, String> {
    let source = Source::new("conformance.tk", source);
    let mut args = args.to_vec();
    match backend {
        Backend::Interp => {
            let lowered = driver::lower_source(&source, "k", &[]).map_err(|e| e.render(false))?;
            tk::interp::run(&lowered.module, &mut args, grid)
                .map_err(|e| format!("interp: {e:?}"))?
        }
        Backend::Vulkan(device) => {
            let verbose = std::env::var("TK_CONFORMANCE_VERBOSE").is_ok();
            let t0 = std::time::Instant::now();
            // Unchecked by default: every access is in bounds by construction, and safe mode's
            // per-access bounds branches make lavapipe's LLVM compile about 5x slower (25 s
            // against 4.6 s for the 72 i32 binary cases). TK_CONFORMANCE_SAFE=1 runs checked.
            let safe = std::env::var("TK_CONFORMANCE_SAFE").is_ok();
            if let Ok(path) = std::env::var("TK_CONFORMANCE_DUMP") {
                std::fs::write(path, source.text).unwrap();
            }
            let artifact =
                driver::build(&source, "k", &[], &device.target(), &BuildOptions { safe })
                    .map_err(|e| e.render(false))?
                    .artifact;
            let t1 = t0.elapsed();
            validate_spirv(&artifact.words)?;
            defined_in_vulkan(&artifact.words)?;
            let t2 = t0.elapsed();
            let pipeline = device.load(&artifact).map_err(|e| format!("load: {e}"))?;
            let t3 = t0.elapsed();
            device
                .launch(&pipeline, &mut args, grid)
                .map_err(|e| format!("launch: {e}"))?;
            if verbose {
                println!(
                    "  compile {t1:.2?} validate {t2:.2?} load {t3:.2?} launch {:.2?}, {} words",
                    t0.elapsed(),
                    artifact.words.len()
                );
            }
        }
    }
    Ok(args)
}

/// Fails a module with an instruction whose result Vulkan leaves undefined on some devices: the
/// signed remainders `OpSRem` and `OpSMod` (undefined for negative operands without
/// VK_KHR_maintenance8; tk spells `%` as `a - (a / b) * b`).
pub fn defined_in_vulkan(words: &[u32]) -> Result<(), String> {
    for op in [spirv::Op::SRem, spirv::Op::SMod] {
        let n = count_op(words, op);
        if n > 0 {
            return Err(format!(
                "the module has {n} Op{op:?}, undefined in Vulkan for negative operands"
            ));
        }
    }
    Ok(())
}

fn check_case(
    case: &Case,
    args: &[KernelArg],
    out_index: &BTreeMap<ScalarType, usize>,
    on_device: bool,
) -> Result<(), String> {
    for check in &case.checks {
        let slot = check.slot;
        let KernelArg::Buffer(buffer) = &args[out_index[&slot.elem]] else {
            unreachable!("outputs are buffers")
        };
        let values = decode(buffer);
        let got = &values[slot.offset..slot.offset + slot.len];
        for (i, (&g, &w)) in got.iter().zip(&check.expected).enumerate() {
            let tol = check.tols.as_ref().map_or(check.tol, |t| t[i]);
            if !close(slot.elem, g, w, tol, on_device) {
                return Err(format!(
                    "element {i} of {} {}: got {g}, expected {w} (tolerance {tol:?})",
                    slot.len, slot.elem
                ));
            }
        }
    }
    Ok(())
}

/// Cases per kernel (a batch's default). lavapipe compiles at the first dispatch, and LLVM's
/// time grows faster than linearly with the shader: the 72 i32 binary cases took 4.5 s as 72
/// kernels, 2.4 s as 9 kernels of 8 and 4.0 s as 3 kernels of 24 (checked, one kernel of
/// 72: 5 minutes).
pub const CASES_PER_KERNEL: usize = 8;

/// Runs every case of `batch` on both backends.
pub fn run_batch(batch: &Batch, device: &Device) -> Vec<Outcome> {
    let (_, args, out_index) = batch.params();
    let mut outcomes = Vec::new();
    for (label, backend) in [
        ("interp", Backend::Interp),
        ("vulkan", Backend::Vulkan(device)),
    ] {
        let start = std::time::Instant::now();
        let mut retried = 0;
        for chunk in batch.cases.chunks(batch.per_kernel()) {
            let all: Vec<&Case> = chunk.iter().collect();
            let whole = run_kernel(&batch.source(&all), &args, batch.grid, &backend);
            if let (Err(e), Ok(_)) = (&whole, std::env::var("TK_CONFORMANCE_VERBOSE")) {
                println!("{e}");
            }
            let on_device = matches!(backend, Backend::Vulkan(_));
            for case in chunk {
                let result = match &whole {
                    Ok(after) => check_case(case, after, &out_index, on_device),
                    // Alone, so that the failure is pinned to the cases it belongs to.
                    Err(_) => {
                        retried += 1;
                        run_kernel(&batch.source(&[case]), &args, batch.grid, &backend)
                            .and_then(|after| check_case(case, &after, &out_index, on_device))
                    }
                };
                outcomes.push(Outcome {
                    category: case.category,
                    name: case.name.clone(),
                    backend: label,
                    result,
                });
            }
        }
        println!(
            "{} on {label}: {} cases in {:.2?} ({retried} retried alone)",
            batch.label,
            batch.cases.len(),
            start.elapsed(),
        );
    }
    outcomes
}

/// A case that fails today because of a compiler or runtime bug: (case name, backend, reason).
/// The suite asserts that it still fails, so a fix is noticed and the entry removed.
pub type KnownFailure = (&'static str, &'static str, &'static str);

/// Asserts that every case passed except the known failures, which must still fail; prints the
/// number of cases per category.
pub fn finish(title: &str, outcomes: &[Outcome], known: &[KnownFailure]) {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for o in outcomes.iter().filter(|o| o.backend == "interp") {
        *counts.entry(o.category).or_default() += 1;
    }
    let mut unexpected = Vec::new();
    let mut fixed = Vec::new();
    let mut known_seen = 0;
    for o in outcomes {
        let is_known = known
            .iter()
            .any(|(n, b, _)| *n == o.name && *b == o.backend);
        match (&o.result, is_known) {
            (Ok(()), false) => {}
            (Err(e), false) => unexpected.push(format!("{} on {}: {e}", o.name, o.backend)),
            (Ok(()), true) => fixed.push(format!("{} on {}", o.name, o.backend)),
            (Err(_), true) => known_seen += 1,
        }
    }
    for (category, n) in &counts {
        println!("conformance {title}: {category}: {n} cases on both backends");
    }
    println!("conformance {title}: {known_seen} known failures (case × backend)");
    assert!(
        unexpected.is_empty(),
        "{} of {} runs failed:\n{}",
        unexpected.len(),
        outcomes.len(),
        unexpected.join("\n")
    );
    assert!(
        fixed.is_empty(),
        "known failures now pass — remove them from KNOWN_FAILURES:\n{}",
        fixed.join("\n")
    );
}

/// Deterministic pseudo-random numbers (a 64-bit LCG's high bits).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let hi = self.0 >> 32;
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (hi << 32) | (self.0 >> 32)
    }
    /// Uniform in [lo, hi).
    pub fn float(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * (hi - lo)
    }
    /// Uniform in [lo, hi].
    pub fn int(&mut self, lo: i128, hi: i128) -> i128 {
        lo + (self.next_u64() as u128 % (hi - lo + 1) as u128) as i128
    }
    /// Values of `t`: ints over the whole range, floats uniform in [lo, hi) rounded to `t`.
    pub fn values(&mut self, t: ScalarType, n: usize, lo: f64, hi: f64) -> Vec<V> {
        (0..n)
            .map(|_| {
                if t.is_float() {
                    V::F(round_to(t, self.float(lo, hi)))
                } else {
                    let (a, b) = int_range(t);
                    V::I(self.int(a, b))
                }
            })
            .collect()
    }
}
