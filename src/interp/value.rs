//! Runtime values of the interpreter and the elementwise arithmetic on them, with the language's
//! exact numeric semantics (C integers, f32 arithmetic in f32, f16/bf16 computed in f32 and rounded
//! back to nearest-even).
//!
//! A value is a shape plus a flat row-major vector. Elements are stored by class: `bool`; every
//! integer type and every pointer as `i64` (signed types sign-extended, u8..u32 zero-extended, u64
//! as its bit pattern, pointers as element offsets); f16, bf16 and f32 as `f32` (always holding a
//! value exactly representable in the element type); f64 as `f64`.
use crate::base::{Literal, ScalarType};
use crate::ir::{BinaryOp, CmpOp, ReduceOp, ScanOp, UnaryOp};
use half::{bf16, f16};

#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    Bool(Vec<bool>),
    Int(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

/// A scalar (empty shape, one element) or a tile.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub shape: Vec<u32>,
    pub data: Data,
}

/// Why an instruction could not be evaluated (IR that the verifier rejects).
pub type OpResult<T> = Result<T, String>;

impl Data {
    pub fn len(&self) -> usize {
        match self {
            Data::Bool(v) => v.len(),
            Data::Int(v) => v.len(),
            Data::F32(v) => v.len(),
            Data::F64(v) => v.len(),
        }
    }

    /// `len` zeros of the class that holds `ty`.
    pub fn zeros(ty: ScalarType, len: usize) -> Data {
        if ty.is_bool() {
            Data::Bool(vec![false; len])
        } else if ty.is_int() {
            Data::Int(vec![0; len])
        } else if ty == ScalarType::F64 {
            Data::F64(vec![0.0; len])
        } else {
            Data::F32(vec![0.0; len])
        }
    }

    /// The elements at `indices`, in that order.
    pub fn gather(&self, indices: &[usize]) -> Data {
        match self {
            Data::Bool(v) => Data::Bool(gather_from(v, indices)),
            Data::Int(v) => Data::Int(gather_from(v, indices)),
            Data::F32(v) => Data::F32(gather_from(v, indices)),
            Data::F64(v) => Data::F64(gather_from(v, indices)),
        }
    }

    /// The first element repeated `len` times.
    pub fn splat(&self, len: usize) -> Data {
        match self {
            Data::Bool(v) => Data::Bool(vec![v[0]; len]),
            Data::Int(v) => Data::Int(vec![v[0]; len]),
            Data::F32(v) => Data::F32(vec![v[0]; len]),
            Data::F64(v) => Data::F64(vec![v[0]; len]),
        }
    }

    pub fn as_bools(&self) -> OpResult<&[bool]> {
        match self {
            Data::Bool(v) => Ok(v),
            _ => Err("expected a bool value".into()),
        }
    }
    pub fn as_ints(&self) -> OpResult<&[i64]> {
        match self {
            Data::Int(v) => Ok(v),
            _ => Err("expected an integer or pointer value".into()),
        }
    }

    /// Copies element `from` of `source` (same class) into element `to` of `self`.
    pub fn set_from(&mut self, to: usize, source: &Data, from: usize) {
        match (self, source) {
            (Data::Bool(d), Data::Bool(s)) => d[to] = s[from],
            (Data::Int(d), Data::Int(s)) => d[to] = s[from],
            (Data::F32(d), Data::F32(s)) => d[to] = s[from],
            (Data::F64(d), Data::F64(s)) => d[to] = s[from],
            _ => panic!("set_from between different classes"),
        }
    }
}

impl Value {
    pub fn scalar(data: Data) -> Value {
        Value {
            shape: Vec::new(),
            data,
        }
    }
    pub fn len(&self) -> usize {
        self.data.len()
    }
}

// ---- scalar conversions ------------------------------------------------------------------------

/// Wraps an integer to `ty`'s width and re-extends it to the canonical `i64` form.
pub fn wrap_int(ty: ScalarType, v: i64) -> i64 {
    match ty {
        ScalarType::I8 => v as i8 as i64,
        ScalarType::I16 => v as i16 as i64,
        ScalarType::I32 => v as i32 as i64,
        ScalarType::U8 => v as u8 as i64,
        ScalarType::U16 => v as u16 as i64,
        ScalarType::U32 => v as u32 as i64,
        _ => v,
    }
}

/// Rounds an f32 to `ty` (f16 or bf16: nearest-even; f32: unchanged).
pub fn round_f32(ty: ScalarType, v: f32) -> f32 {
    match ty {
        ScalarType::F16 => f16::from_f32(v).to_f32(),
        ScalarType::BF16 => bf16::from_f32(v).to_f32(),
        _ => v,
    }
}

/// Rounds an f64 once, directly, to `ty`'s precision (held as f32 for the narrow types).
fn round_f64_to_narrow(ty: ScalarType, v: f64) -> f32 {
    match ty {
        ScalarType::F16 => f16::from_f64(v).to_f32(),
        ScalarType::BF16 => bf16::from_f64(v).to_f32(),
        _ => v as f32,
    }
}

fn round_all(ty: ScalarType, v: &mut [f32]) {
    if matches!(ty, ScalarType::F16 | ScalarType::BF16) {
        for x in v {
            *x = round_f32(ty, *x);
        }
    }
}

/// A literal as a one-element `Data` of type `ty` (ints wrap, floats round).
pub fn literal(lit: Literal, ty: ScalarType) -> Data {
    let as_f64 = match lit {
        Literal::Bool(b) => b as i64 as f64,
        Literal::Int(i) => i as f64,
        Literal::Float(f) => f,
    };
    if ty.is_bool() {
        let b = match lit {
            Literal::Bool(b) => b,
            Literal::Int(i) => i != 0,
            Literal::Float(f) => f != 0.0,
        };
        Data::Bool(vec![b])
    } else if ty.is_int() {
        let i = match lit {
            Literal::Bool(b) => b as i64,
            Literal::Int(i) => i as i64,
            Literal::Float(f) => float_to_int(ty, f),
        };
        Data::Int(vec![wrap_int(ty, i)])
    } else if ty == ScalarType::F64 {
        Data::F64(vec![as_f64])
    } else {
        Data::F32(vec![round_f64_to_narrow(ty, as_f64)])
    }
}

/// Float → int: truncates toward zero and saturates to `ty`'s range; NaN gives 0.
fn float_to_int(ty: ScalarType, f: f64) -> i64 {
    match ty {
        ScalarType::I8 => f as i8 as i64,
        ScalarType::I16 => f as i16 as i64,
        ScalarType::I32 => f as i32 as i64,
        ScalarType::I64 => f as i64,
        ScalarType::U8 => f as u8 as i64,
        ScalarType::U16 => f as u16 as i64,
        ScalarType::U32 => f as u32 as i64,
        ScalarType::U64 => f as u64 as i64,
        _ => 0,
    }
}

/// An integer in canonical form as f64 (u64 read as unsigned).
fn int_to_f64(from: ScalarType, v: i64) -> f64 {
    if from == ScalarType::U64 {
        v as u64 as f64
    } else {
        v as f64
    }
}

/// `x as to`, elementwise (see `InstKind::Cast`).
pub fn cast(data: &Data, from: ScalarType, to: ScalarType) -> Data {
    // f32 holding an f32 value converts to f32 exactly; other narrow targets round once from f64,
    // which is exact for every f32 and every integer below 2^53.
    match data {
        Data::Bool(v) => {
            let lits: Vec<Literal> = v.iter().map(|&b| Literal::Int(b as i128)).collect();
            concat(lits.into_iter().map(|l| literal(l, to)), to, v.len())
        }
        Data::Int(v) => {
            if to.is_bool() {
                Data::Bool(v.iter().map(|&x| x != 0).collect())
            } else if to.is_int() {
                Data::Int(v.iter().map(|&x| wrap_int(to, x)).collect())
            } else if to == ScalarType::F64 {
                Data::F64(v.iter().map(|&x| int_to_f64(from, x)).collect())
            } else if to == ScalarType::F32 {
                let unsigned = from == ScalarType::U64;
                // Rust's int → f32 conversion rounds once to nearest-even.
                Data::F32(
                    v.iter()
                        .map(|&x| if unsigned { x as u64 as f32 } else { x as f32 })
                        .collect(),
                )
            } else {
                Data::F32(
                    v.iter()
                        .map(|&x| round_f64_to_narrow(to, int_to_f64(from, x)))
                        .collect(),
                )
            }
        }
        Data::F32(v) => {
            if to.is_bool() {
                Data::Bool(v.iter().map(|&x| x != 0.0).collect())
            } else if to.is_int() {
                Data::Int(v.iter().map(|&x| float_to_int(to, x as f64)).collect())
            } else if to == ScalarType::F64 {
                Data::F64(v.iter().map(|&x| x as f64).collect())
            } else {
                Data::F32(v.iter().map(|&x| round_f32(to, x)).collect())
            }
        }
        Data::F64(v) => {
            if to.is_bool() {
                Data::Bool(v.iter().map(|&x| x != 0.0).collect())
            } else if to.is_int() {
                Data::Int(v.iter().map(|&x| float_to_int(to, x)).collect())
            } else if to == ScalarType::F64 {
                Data::F64(v.clone())
            } else {
                Data::F32(v.iter().map(|&x| round_f64_to_narrow(to, x)).collect())
            }
        }
    }
}

/// Joins one-element `Data`s into one.
fn concat(parts: impl Iterator<Item = Data>, ty: ScalarType, len: usize) -> Data {
    let mut out = Data::zeros(ty, len);
    for (i, part) in parts.enumerate() {
        out.set_from(i, &part, 0);
    }
    out
}

/// The raw bits of element `i` of type `ty`.
fn bits_of(data: &Data, ty: ScalarType, i: usize) -> u64 {
    match data {
        Data::Bool(v) => v[i] as u64,
        Data::Int(v) => {
            let width = ty.bits();
            if width >= 64 {
                v[i] as u64
            } else {
                v[i] as u64 & ((1u64 << width) - 1)
            }
        }
        Data::F32(v) => match ty {
            ScalarType::F16 => f16::from_f32(v[i]).to_bits() as u64,
            ScalarType::BF16 => bf16::from_f32(v[i]).to_bits() as u64,
            _ => v[i].to_bits() as u64,
        },
        Data::F64(v) => v[i].to_bits(),
    }
}

/// `bitcast(x, to)`: reinterprets the bits of each element (same width).
pub fn bitcast(data: &Data, from: ScalarType, to: ScalarType) -> Data {
    let n = data.len();
    let bits = (0..n).map(|i| bits_of(data, from, i));
    match to {
        ScalarType::Bool => Data::Bool(bits.map(|b| b != 0).collect()),
        ScalarType::F16 => Data::F32(bits.map(|b| f16::from_bits(b as u16).to_f32()).collect()),
        ScalarType::BF16 => Data::F32(bits.map(|b| bf16::from_bits(b as u16).to_f32()).collect()),
        ScalarType::F32 => Data::F32(bits.map(|b| f32::from_bits(b as u32)).collect()),
        ScalarType::F64 => Data::F64(bits.map(f64::from_bits).collect()),
        _ => Data::Int(bits.map(|b| wrap_int(to, b as i64)).collect()),
    }
}

// ---- elementwise arithmetic --------------------------------------------------------------------

// Plain index loops: iterator adaptors are several times slower in unoptimised (debug) builds,
// which is how tests and `tkc run --device interp` usually run.
fn map1<T: Copy, U>(a: &[T], f: impl Fn(T) -> U) -> Vec<U> {
    let mut out = Vec::with_capacity(a.len());
    for &x in a {
        out.push(f(x));
    }
    out
}
fn map2<T: Copy, U>(a: &[T], b: &[T], f: impl Fn(T, T) -> U) -> Vec<U> {
    let n = a.len().min(b.len());
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(f(a[i], b[i]));
    }
    out
}

fn gather_from<T: Copy>(v: &[T], indices: &[usize]) -> Vec<T> {
    let mut out = Vec::with_capacity(indices.len());
    for &i in indices {
        out.push(v[i]);
    }
    out
}

/// erf in f64, accurate to about 1e-15: the Maclaurin series below 3, the continued fraction of
/// erfc above (where erf is within 2.3e-5 of ±1, so the fraction's accuracy is ample).
pub fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let a = x.abs();
    let result = if a < 3.0 {
        // erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
        let x2 = a * a;
        let mut power = a; // (-1)^n x^(2n+1) / n!
        let mut sum = 0.0;
        for n in 0..200 {
            let term = power / (2 * n + 1) as f64;
            sum += term;
            if term.abs() < 1e-17 * sum.abs() {
                break;
            }
            power *= -x2 / (n + 1) as f64;
        }
        sum * std::f64::consts::FRAC_2_SQRT_PI
    } else if a > 6.0 {
        1.0
    } else {
        // erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), evaluated
        // from the tail.
        let mut tail = a;
        for n in (1..60).rev() {
            tail = a + (n as f64 / 2.0) / tail;
        }
        let erfc = (-a * a).exp() / std::f64::consts::PI.sqrt() / tail;
        1.0 - erfc
    };
    if x < 0.0 {
        -result
    } else {
        result
    }
}

macro_rules! float_ops {
    ($t:ty, $unary:ident, $binary:ident) => {
        fn $unary(op: UnaryOp, a: &[$t]) -> OpResult<Vec<$t>> {
            Ok(match op {
                UnaryOp::Neg => map1(a, |x| -x),
                UnaryOp::Abs => map1(a, |x| x.abs()),
                UnaryOp::Exp => map1(a, |x| x.exp()),
                UnaryOp::Exp2 => map1(a, |x| x.exp2()),
                UnaryOp::Log => map1(a, |x| x.ln()),
                UnaryOp::Log2 => map1(a, |x| x.log2()),
                UnaryOp::Sqrt => map1(a, |x| x.sqrt()),
                UnaryOp::Rsqrt => map1(a, |x| 1.0 / x.sqrt()),
                UnaryOp::Sin => map1(a, |x| x.sin()),
                UnaryOp::Cos => map1(a, |x| x.cos()),
                UnaryOp::Tanh => map1(a, |x| x.tanh()),
                UnaryOp::Erf => map1(a, |x| erf(x as f64) as $t),
                UnaryOp::Floor => map1(a, |x| x.floor()),
                UnaryOp::Ceil => map1(a, |x| x.ceil()),
                UnaryOp::Round => map1(a, |x| x.round_ties_even()),
                UnaryOp::Sigmoid => map1(a, |x| 1.0 / (1.0 + (-x).exp())),
                UnaryOp::Not | UnaryOp::BitNot => {
                    return Err(format!("{op:?} is not defined on floats"))
                }
            })
        }

        fn $binary(op: BinaryOp, a: &[$t], b: &[$t]) -> OpResult<Vec<$t>> {
            Ok(match op {
                BinaryOp::Add => map2(a, b, |x, y| x + y),
                BinaryOp::Sub => map2(a, b, |x, y| x - y),
                BinaryOp::Mul => map2(a, b, |x, y| x * y),
                BinaryOp::Div => map2(a, b, |x, y| x / y),
                // Rust's float `%` is C's fmod.
                BinaryOp::Rem => map2(a, b, |x, y| x % y),
                // IEEE minNum/maxNum: a NaN operand yields the other one (Rust's min/max).
                BinaryOp::Min => map2(a, b, |x, y| x.min(y)),
                BinaryOp::Max => map2(a, b, |x, y| x.max(y)),
                BinaryOp::Pow => map2(a, b, |x, y| x.powf(y)),
                BinaryOp::And
                | BinaryOp::Or
                | BinaryOp::Xor
                | BinaryOp::Shl
                | BinaryOp::Shr
                | BinaryOp::MulHi => return Err(format!("{op:?} is not defined on floats")),
            })
        }
    };
}

float_ops!(f32, unary_f32, binary_f32);
float_ops!(f64, unary_f64, binary_f64);

fn int_pow(ty: ScalarType, base: i64, exp: i64) -> i64 {
    if exp < 0 && !ty.is_unsigned_int() {
        // Only |base| = 1 has a non-zero integer result for a negative exponent.
        return match base {
            1 => 1,
            -1 => {
                if exp % 2 == 0 {
                    1
                } else {
                    -1
                }
            }
            _ => 0,
        };
    }
    let mut result: i64 = 1;
    let mut square = base;
    let mut e = exp as u64;
    while e > 0 {
        if e & 1 == 1 {
            result = result.wrapping_mul(square);
        }
        square = square.wrapping_mul(square);
        e >>= 1;
    }
    wrap_int(ty, result)
}

fn unary_int(ty: ScalarType, op: UnaryOp, a: &[i64]) -> OpResult<Vec<i64>> {
    Ok(match op {
        UnaryOp::Neg => map1(a, |x| wrap_int(ty, x.wrapping_neg())),
        UnaryOp::BitNot => map1(a, |x| wrap_int(ty, !x)),
        UnaryOp::Abs if ty.is_unsigned_int() => a.to_vec(),
        UnaryOp::Abs => map1(a, |x| wrap_int(ty, x.wrapping_abs())),
        UnaryOp::Floor | UnaryOp::Ceil | UnaryOp::Round => a.to_vec(),
        _ => return Err(format!("{op:?} is not defined on integers")),
    })
}

/// One integer operation on canonical values of type `ty`.
fn int_op(ty: ScalarType, op: BinaryOp, x: i64, y: i64) -> i64 {
    let u64 = ty == ScalarType::U64;
    let bits = ty.bits() as i64;
    let shift = y & (bits - 1);
    let w = |v: i64| wrap_int(ty, v);
    match op {
        BinaryOp::Add => w(x.wrapping_add(y)),
        BinaryOp::Sub => w(x.wrapping_sub(y)),
        BinaryOp::Mul => w(x.wrapping_mul(y)),
        // Division by zero gives 0, MIN / -1 wraps to MIN; devices agree (spirv/math/division.rs).
        BinaryOp::Div | BinaryOp::Rem if y == 0 => 0,
        BinaryOp::Div if u64 => ((x as u64) / (y as u64)) as i64,
        BinaryOp::Div => w(x.wrapping_div(y)),
        BinaryOp::Rem if u64 => ((x as u64) % (y as u64)) as i64,
        BinaryOp::Rem => w(x.wrapping_rem(y)),
        BinaryOp::And => x & y,
        BinaryOp::Or => x | y,
        BinaryOp::Xor => w(x ^ y),
        BinaryOp::Shl => w(((x as u64) << shift) as i64),
        BinaryOp::Shr if ty.is_unsigned_int() => w(((x as u64) >> shift) as i64),
        // Canonical signed values are sign-extended, so the i64 shift is arithmetic.
        BinaryOp::Shr => w(x >> shift),
        BinaryOp::Min if u64 => (x as u64).min(y as u64) as i64,
        BinaryOp::Min => x.min(y),
        BinaryOp::Max if u64 => (x as u64).max(y as u64) as i64,
        BinaryOp::Max => x.max(y),
        BinaryOp::Pow => int_pow(ty, x, y),
        BinaryOp::MulHi if ty.is_unsigned_int() => {
            w((((x as u64 as u128) * (y as u64 as u128)) >> bits) as i64)
        }
        BinaryOp::MulHi => w(((x as i128 * y as i128) >> bits) as i64),
    }
}

fn binary_int(ty: ScalarType, op: BinaryOp, a: &[i64], b: &[i64]) -> Vec<i64> {
    map2(a, b, |x, y| int_op(ty, op, x, y))
}

fn binary_bool(op: BinaryOp, a: &[bool], b: &[bool]) -> OpResult<Vec<bool>> {
    Ok(match op {
        BinaryOp::And | BinaryOp::Min | BinaryOp::Mul => map2(a, b, |x, y| x & y),
        BinaryOp::Or | BinaryOp::Max => map2(a, b, |x, y| x | y),
        BinaryOp::Xor => map2(a, b, |x, y| x ^ y),
        _ => return Err(format!("{op:?} is not defined on bool")),
    })
}

fn check_lengths(a: &Data, b: &Data) -> OpResult<()> {
    if a.len() != b.len() {
        return Err(format!(
            "operands have {} and {} elements",
            a.len(),
            b.len()
        ));
    }
    Ok(())
}

/// A unary operation on elements of type `ty`.
pub fn unary(op: UnaryOp, ty: ScalarType, a: &Data) -> OpResult<Data> {
    Ok(match a {
        Data::Bool(v) => match op {
            UnaryOp::Not | UnaryOp::BitNot => Data::Bool(map1(v, |x| !x)),
            _ => return Err(format!("{op:?} is not defined on bool")),
        },
        Data::Int(v) => Data::Int(unary_int(ty, op, v)?),
        Data::F32(v) => {
            let mut out = unary_f32(op, v)?;
            round_all(ty, &mut out);
            Data::F32(out)
        }
        Data::F64(v) => Data::F64(unary_f64(op, v)?),
    })
}

/// A binary operation on two operands of type `ty` and equal length.
pub fn binary(op: BinaryOp, ty: ScalarType, a: &Data, b: &Data) -> OpResult<Data> {
    check_lengths(a, b)?;
    Ok(match (a, b) {
        (Data::Bool(x), Data::Bool(y)) => Data::Bool(binary_bool(op, x, y)?),
        (Data::Int(x), Data::Int(y)) => Data::Int(binary_int(ty, op, x, y)),
        (Data::F32(x), Data::F32(y)) => {
            let mut out = binary_f32(op, x, y)?;
            round_all(ty, &mut out);
            Data::F32(out)
        }
        (Data::F64(x), Data::F64(y)) => Data::F64(binary_f64(op, x, y)?),
        _ => return Err("operands of different types".into()),
    })
}

fn compare_with<T: Copy + PartialOrd>(op: CmpOp, a: &[T], b: &[T]) -> Vec<bool> {
    match op {
        CmpOp::Eq => map2(a, b, |x, y| x == y),
        CmpOp::Ne => map2(a, b, |x, y| x != y),
        CmpOp::Lt => map2(a, b, |x, y| x < y),
        CmpOp::Le => map2(a, b, |x, y| x <= y),
        CmpOp::Gt => map2(a, b, |x, y| x > y),
        CmpOp::Ge => map2(a, b, |x, y| x >= y),
    }
}

/// A comparison of two operands of type `ty`; NaN compares unequal to everything.
pub fn compare(op: CmpOp, ty: ScalarType, a: &Data, b: &Data) -> OpResult<Vec<bool>> {
    check_lengths(a, b)?;
    Ok(match (a, b) {
        (Data::Bool(x), Data::Bool(y)) => compare_with(op, x, y),
        (Data::Int(x), Data::Int(y)) if ty == ScalarType::U64 => {
            let ux: Vec<u64> = map1(x, |v| v as u64);
            let uy: Vec<u64> = map1(y, |v| v as u64);
            compare_with(op, &ux, &uy)
        }
        (Data::Int(x), Data::Int(y)) => compare_with(op, x, y),
        (Data::F32(x), Data::F32(y)) => compare_with(op, x, y),
        (Data::F64(x), Data::F64(y)) => compare_with(op, x, y),
        _ => return Err("operands of different types".into()),
    })
}

/// `where(cond, a, b)` elementwise.
pub fn select(cond: &[bool], a: &Data, b: &Data) -> OpResult<Data> {
    check_lengths(a, b)?;
    if cond.len() != a.len() {
        return Err("condition and operands differ in length".into());
    }
    let mut out = a.clone();
    for (i, _) in cond.iter().enumerate().filter(|(_, &c)| !c) {
        out.set_from(i, b, i);
    }
    Ok(out)
}

/// `fma(a, b, c)`: fused (one rounding) for f32 and f64; f16/bf16 fuse in f32 and round back;
/// ints wrap.
pub fn fma(ty: ScalarType, a: &Data, b: &Data, c: &Data) -> OpResult<Data> {
    check_lengths(a, b)?;
    check_lengths(a, c)?;
    Ok(match (a, b, c) {
        (Data::F32(x), Data::F32(y), Data::F32(z)) => Data::F32(
            (0..x.len())
                .map(|i| round_f32(ty, x[i].mul_add(y[i], z[i])))
                .collect(),
        ),
        (Data::F64(x), Data::F64(y), Data::F64(z)) => {
            Data::F64((0..x.len()).map(|i| x[i].mul_add(y[i], z[i])).collect())
        }
        (Data::Int(x), Data::Int(y), Data::Int(z)) => Data::Int(
            (0..x.len())
                .map(|i| wrap_int(ty, x[i].wrapping_mul(y[i]).wrapping_add(z[i])))
                .collect(),
        ),
        _ => return Err("fma needs numeric operands of one type".into()),
    })
}

// ---- shapes and reductions ---------------------------------------------------------------------

/// For each element of `to` (row-major), the flat index of the element of `from` that numpy
/// broadcasting maps to it (`from` has the same rank; its dims equal `to`'s or are 1).
pub fn broadcast_indices(from: &[u32], to: &[u32]) -> OpResult<Vec<usize>> {
    if from.len() != to.len() || from.iter().zip(to).any(|(&f, &t)| f != t && f != 1) {
        return Err(format!("cannot broadcast {from:?} to {to:?}"));
    }
    let total: usize = to.iter().map(|&d| d as usize).product();
    // Source strides, zero along stretched dims.
    let rank = to.len();
    let mut strides = vec![0usize; rank];
    let mut stride = 1usize;
    for d in (0..rank).rev() {
        strides[d] = if from[d] == 1 { 0 } else { stride };
        stride *= from[d] as usize;
    }
    let mut out = Vec::with_capacity(total);
    let mut coord = vec![0u32; rank];
    let mut source = 0usize;
    for _ in 0..total {
        out.push(source);
        // Advance the row-major odometer, keeping `source` in step.
        for d in (0..rank).rev() {
            coord[d] += 1;
            source += strides[d];
            if coord[d] < to[d] {
                break;
            }
            source -= strides[d] * to[d] as usize;
            coord[d] = 0;
        }
    }
    Ok(out)
}

fn reduce_float<T: Copy + PartialOrd + std::ops::Add<Output = T> + std::ops::Mul<Output = T>>(
    op: ReduceOp,
    data: &[T],
    (outer, n, inner): (usize, usize, usize),
    zero: T,
    one: T,
) -> Vec<T> {
    let mut out = Vec::with_capacity(outer * inner);
    for o in 0..outer {
        for i in 0..inner {
            let lane = (0..n).map(|k| data[(o * n + k) * inner + i]);
            #[allow(clippy::eq_op)]
            let value = match op {
                ReduceOp::Sum => lane.fold(zero, |acc, x| acc + x),
                ReduceOp::Prod => lane.fold(one, |acc, x| acc * x),
                // `x != x` is the NaN test; the first NaN wins and propagates.
                ReduceOp::Max => lane
                    .reduce(|acc, x| {
                        if acc != acc || (x == x && acc >= x) {
                            acc
                        } else {
                            x
                        }
                    })
                    .unwrap_or(zero),
                ReduceOp::Min => lane
                    .reduce(|acc, x| {
                        if acc != acc || (x == x && acc <= x) {
                            acc
                        } else {
                            x
                        }
                    })
                    .unwrap_or(zero),
            };
            out.push(value);
        }
    }
    out
}

/// Reduces `value` (elements of type `ty`) along `axis`, or over every element when `None`.
/// Sums and products run sequentially in index order; f16/bf16 accumulate in f32 and round once.
pub fn reduce(op: ReduceOp, ty: ScalarType, value: &Value, axis: Option<u32>) -> OpResult<Value> {
    let (dims, shape) = match axis {
        None => ((1, value.len(), 1), Vec::new()),
        Some(a) => {
            let a = a as usize;
            if a >= value.shape.len() {
                return Err(format!("axis {a} out of range"));
            }
            let outer: usize = value.shape[..a].iter().map(|&d| d as usize).product();
            let inner: usize = value.shape[a + 1..].iter().map(|&d| d as usize).product();
            let mut shape = value.shape.clone();
            shape.remove(a);
            ((outer, value.shape[a] as usize, inner), shape)
        }
    };
    let data = match &value.data {
        Data::F32(v) => {
            let mut out = reduce_float(op, v, dims, 0.0f32, 1.0f32);
            round_all(ty, &mut out);
            Data::F32(out)
        }
        Data::F64(v) => Data::F64(reduce_float(op, v, dims, 0.0f64, 1.0f64)),
        Data::Int(v) => {
            let (outer, n, inner) = dims;
            let combine = match op {
                ReduceOp::Sum => BinaryOp::Add,
                ReduceOp::Prod => BinaryOp::Mul,
                ReduceOp::Max => BinaryOp::Max,
                ReduceOp::Min => BinaryOp::Min,
            };
            let mut out = Vec::with_capacity(outer * inner);
            for o in 0..outer {
                for i in 0..inner {
                    let mut acc = v[o * n * inner + i];
                    for k in 1..n {
                        acc = int_op(ty, combine, acc, v[(o * n + k) * inner + i]);
                    }
                    out.push(acc);
                }
            }
            Data::Int(out)
        }
        Data::Bool(v) => {
            let (outer, n, inner) = dims;
            let mut out = Vec::with_capacity(outer * inner);
            for o in 0..outer {
                for i in 0..inner {
                    let mut lane = (0..n).map(|k| v[(o * n + k) * inner + i]);
                    out.push(match op {
                        ReduceOp::Sum | ReduceOp::Max => lane.any(|x| x),
                        ReduceOp::Prod | ReduceOp::Min => lane.all(|x| x),
                    });
                }
            }
            Data::Bool(out)
        }
    };
    Ok(Value { shape, data })
}

/// The inclusive scan of `value` (elements of type `ty`) along `axis`, each prefix combined in
/// index order. Ints wrap; f16/bf16 accumulate in f32 and round each result once, like `reduce`.
pub fn scan(op: ScanOp, ty: ScalarType, value: &Value, axis: u32) -> OpResult<Value> {
    let a = axis as usize;
    if a >= value.shape.len() {
        return Err(format!("axis {a} out of range"));
    }
    let outer: usize = value.shape[..a].iter().map(|&d| d as usize).product();
    let n = value.shape[a] as usize;
    let inner: usize = value.shape[a + 1..].iter().map(|&d| d as usize).product();
    // Visits every lane along `axis` in order, handing `step` the flat index of each element.
    let lanes = |step: &mut dyn FnMut(usize, bool)| {
        for o in 0..outer {
            for i in 0..inner {
                for k in 0..n {
                    step((o * n + k) * inner + i, k == 0);
                }
            }
        }
    };
    let data = match &value.data {
        Data::F32(v) => {
            let mut out = vec![0.0f32; v.len()];
            let mut acc = 0.0f32;
            lanes(&mut |at, first| {
                acc = match (first, op) {
                    (true, _) => v[at],
                    (false, ScanOp::Sum) => acc + v[at],
                    (false, ScanOp::Prod) => acc * v[at],
                };
                out[at] = acc;
            });
            round_all(ty, &mut out);
            Data::F32(out)
        }
        Data::F64(v) => {
            let mut out = vec![0.0f64; v.len()];
            let mut acc = 0.0f64;
            lanes(&mut |at, first| {
                acc = match (first, op) {
                    (true, _) => v[at],
                    (false, ScanOp::Sum) => acc + v[at],
                    (false, ScanOp::Prod) => acc * v[at],
                };
                out[at] = acc;
            });
            Data::F64(out)
        }
        Data::Int(v) => {
            let combine = match op {
                ScanOp::Sum => BinaryOp::Add,
                ScanOp::Prod => BinaryOp::Mul,
            };
            let mut out = vec![0i64; v.len()];
            let mut acc = 0i64;
            lanes(&mut |at, first| {
                acc = if first {
                    v[at]
                } else {
                    int_op(ty, combine, acc, v[at])
                };
                out[at] = acc;
            });
            Data::Int(out)
        }
        Data::Bool(_) => return Err("scan of bools".into()),
    };
    Ok(Value {
        shape: value.shape.clone(),
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_run_in_index_order_along_the_axis() {
        let value = Value {
            shape: vec![2, 3],
            data: Data::Int(vec![1, 2, 3, 4, 5, 6]),
        };
        let down = scan(ScanOp::Sum, ScalarType::I32, &value, 0).unwrap();
        assert_eq!(down.data, Data::Int(vec![1, 2, 3, 5, 7, 9]));
        let across = scan(ScanOp::Prod, ScalarType::I32, &value, 1).unwrap();
        assert_eq!(across.data, Data::Int(vec![1, 2, 6, 4, 20, 120]));
        // i8 wraps.
        let bytes = Value {
            shape: vec![3],
            data: Data::Int(vec![100, 100, 100]),
        };
        let wrapped = scan(ScanOp::Sum, ScalarType::I8, &bytes, 0).unwrap();
        assert_eq!(wrapped.data, Data::Int(vec![100, -56, 44]));
        // NaN propagates forward; f16 results are rounded to f16.
        let floats = Value {
            shape: vec![3],
            data: Data::F32(vec![1.0, f32::NAN, 2.0]),
        };
        let Data::F32(out) = scan(ScanOp::Sum, ScalarType::F32, &floats, 0).unwrap().data else {
            panic!("f32 data")
        };
        assert!(out[0] == 1.0 && out[1].is_nan() && out[2].is_nan());
        let halves = Value {
            shape: vec![2],
            data: Data::F32(vec![2048.0, 1.0]),
        };
        let rounded = scan(ScanOp::Sum, ScalarType::F16, &halves, 0).unwrap();
        assert_eq!(rounded.data, Data::F32(vec![2048.0, 2048.0]));
        assert!(scan(ScanOp::Sum, ScalarType::I32, &value, 2).is_err());
    }
}
