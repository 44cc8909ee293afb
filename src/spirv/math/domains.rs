//! GLSL.std.450 functions where the extended instruction set leaves the result undefined, or
//! Vulkan leaves the precision unbounded, spelled so that every device gives the interpreter's
//! (IEEE and C) values there: `sqrt` and `rsqrt` below zero and `rsqrt` at zero, `log` and
//! `log2` at and below zero, `pow` with a negative or zero base, and `sin`/`cos` beyond
//! [-pi, pi], which are first reduced into it. The instruction's own result is computed on every
//! input and selected away where it is undefined (the specification leaves the result undefined,
//! not the behaviour).
use super::super::ctx::R;
use super::super::Emitter;
use super::division::computing_float;
use super::{INVERSE_SQRT, POW, ROUND_EVEN, SQRT, TRUNC};
use crate::base::ScalarType;
use spirv::{Decoration, Op, Word};

/// 2 pi as 6.28125 (8 significant bits, so `k * TWO_PI_HIGH` is exact for |k| < 2^16) plus the
/// rest rounded to f32, for the reduction of `sin`/`cos` arguments (Cody and Waite).
const TWO_PI_HIGH: f64 = 6.28125;
const TWO_PI_LOW: f64 = std::f64::consts::TAU - TWO_PI_HIGH;

impl Emitter<'_> {
    /// `sqrt`: NaN below zero (GLSL.std.450 `Sqrt` is undefined there). f16 computes in f32.
    pub(crate) fn sqrt(&mut self, ty: ScalarType, x: Word) -> R<Word> {
        let wide = computing_float(ty);
        let f = self.cx.compute_ty(wide);
        self.in_compute_float(ty, &[x], &mut |e, xs| {
            let r = e.cx.glsl(SQRT, f, xs)?;
            e.nan_below_zero(wide, xs[0], r)
        })
    }

    /// `rsqrt`: NaN below zero and an infinity with the zero's sign at zero (GLSL.std.450
    /// `InverseSqrt` is undefined for `x <= 0`). f16 computes in f32.
    pub(crate) fn rsqrt(&mut self, ty: ScalarType, x: Word) -> R<Word> {
        let wide = computing_float(ty);
        let f = self.cx.compute_ty(wide);
        self.in_compute_float(ty, &[x], &mut |e, xs| {
            let x = xs[0];
            let bool_ty = e.cx.bool_ty();
            let r = e.cx.glsl(INVERSE_SQRT, f, &[x])?;
            let zero = e.float_const(wide, 0.0);
            let at_zero = e.cx.op(Op::FOrdEqual, bool_ty, &[x, zero])?;
            let inf = e.signed_infinity(wide, x)?;
            let r = e.cx.op(Op::Select, f, &[at_zero, inf, r])?;
            e.nan_below_zero(wide, x, r)
        })
    }

    /// `log` or `log2` (GLSL.std.450 instruction `inst`, computed in f32): -inf at zero and NaN
    /// below (the instructions are undefined for `x <= 0`).
    pub(crate) fn log(&mut self, ty: ScalarType, x: Word, inst: u32) -> R<Word> {
        self.in_f32(ty, &[x], &mut |e, xs| {
            let x = xs[0];
            let f = e.cx.f32();
            let bool_ty = e.cx.bool_ty();
            let r = e.cx.glsl(inst, f, &[x])?;
            let zero = e.cx.const_f32(0.0);
            let at_zero = e.cx.op(Op::FOrdEqual, bool_ty, &[x, zero])?;
            let minus_inf = e.cx.const_f32(f32::NEG_INFINITY);
            let r = e.cx.op(Op::Select, f, &[at_zero, minus_inf, r])?;
            e.nan_below_zero(ScalarType::F32, x, r)
        })
    }

    /// `pow(x, y)` with C's special cases, computed in f32. GLSL.std.450 `Pow` is undefined for
    /// `x < 0` and for `x == 0, y <= 0`, so it runs on `|x|`, and: a negative base gives the
    /// power of `|x|` negated for an odd integer `y`, kept for an even one and NaN otherwise; a
    /// zero base gives a zero (`x` itself for odd `y`) for `y > 0` and an infinity (with the
    /// zero's sign for odd `y`) for `y < 0`; `y == 0`, `x == 1` and `x == -1, y == ±inf` give 1
    /// whatever the other operand, NaN included.
    pub(crate) fn pow(&mut self, ty: ScalarType, x: Word, y: Word) -> R<Word> {
        self.in_f32(ty, &[x, y], &mut |e, xs| {
            let (x, y) = (xs[0], xs[1]);
            let f = e.cx.f32();
            let bool_ty = e.cx.bool_ty();
            let c = |e: &mut Self, v: f32| e.cx.const_f32(v);
            let (zero, one, half) = (c(e, 0.0), c(e, 1.0), c(e, 0.5));
            let (nan, inf) = (c(e, f32::NAN), c(e, f32::INFINITY));
            let x_abs = e.cx.glsl(super::FABS, f, &[x])?;
            let power = e.cx.glsl(POW, f, &[x_abs, y])?;
            // An integer `y` is odd when `y / 2` is not an integer (infinities are even).
            let y_whole = e.cx.glsl(TRUNC, f, &[y])?;
            let y_integer = e.cx.op(Op::FOrdEqual, bool_ty, &[y_whole, y])?;
            let y_half = e.cx.op(Op::FMul, f, &[y, half])?;
            let y_half_whole = e.cx.glsl(TRUNC, f, &[y_half])?;
            let half_fraction =
                e.cx.op(Op::FOrdNotEqual, bool_ty, &[y_half_whole, y_half])?;
            let y_odd =
                e.cx.op(Op::LogicalAnd, bool_ty, &[y_integer, half_fraction])?;
            let negated = e.cx.op(Op::FNegate, f, &[power])?;
            let signed = e.cx.op(Op::Select, f, &[y_odd, negated, power])?;
            let negative_base = e.cx.op(Op::Select, f, &[y_integer, signed, nan])?;
            let x_negative = e.cx.op(Op::FOrdLessThan, bool_ty, &[x, zero])?;
            let r =
                e.cx.op(Op::Select, f, &[x_negative, negative_base, power])?;
            let zero_to_positive = e.cx.op(Op::Select, f, &[y_odd, x, zero])?;
            let signed_inf = e.signed_infinity(ScalarType::F32, x)?;
            let zero_to_negative = e.cx.op(Op::Select, f, &[y_odd, signed_inf, inf])?;
            let y_negative = e.cx.op(Op::FOrdLessThan, bool_ty, &[y, zero])?;
            let y_positive = e.cx.op(Op::FOrdGreaterThan, bool_ty, &[y, zero])?;
            let zero_base =
                e.cx.op(Op::Select, f, &[y_negative, zero_to_negative, nan])?;
            let zero_base =
                e.cx.op(Op::Select, f, &[y_positive, zero_to_positive, zero_base])?;
            let x_zero = e.cx.op(Op::FOrdEqual, bool_ty, &[x, zero])?;
            let r = e.cx.op(Op::Select, f, &[x_zero, zero_base, r])?;
            let y_zero = e.cx.op(Op::FOrdEqual, bool_ty, &[y, zero])?;
            let x_one = e.cx.op(Op::FOrdEqual, bool_ty, &[x, one])?;
            let x_abs_one = e.cx.op(Op::FOrdEqual, bool_ty, &[x_abs, one])?;
            let y_abs = e.cx.glsl(super::FABS, f, &[y])?;
            let y_infinite = e.cx.op(Op::FOrdEqual, bool_ty, &[y_abs, inf])?;
            let one_to_infinity = e.cx.op(Op::LogicalAnd, bool_ty, &[x_abs_one, y_infinite])?;
            let unit = e.cx.op(Op::LogicalOr, bool_ty, &[y_zero, x_one])?;
            let unit = e.cx.op(Op::LogicalOr, bool_ty, &[unit, one_to_infinity])?;
            e.cx.op(Op::Select, f, &[unit, one, r])
        })
    }

    /// `sin` or `cos` (GLSL.std.450 instruction `inst`, computed in f32). Vulkan bounds their
    /// error (2^-11 absolute) only on [-pi, pi], so the argument is reduced there first:
    /// `x - k * 2 pi` with `k = roundEven(x / (2 pi))`, 2 pi split in two so that the first
    /// product is exact for |k| < 2^16 (|x| below about 4e5) and the reduction's error stays
    /// near `|k| 2^-31`. `NoContraction` keeps drivers from folding the two steps back into one
    /// product with a rounded 2 pi. Arguments already in [-pi, pi] pass unchanged (k = 0).
    pub(crate) fn sin_cos(&mut self, ty: ScalarType, x: Word, inst: u32) -> R<Word> {
        self.in_f32(ty, &[x], &mut |e, xs| {
            let x = xs[0];
            let f = e.cx.f32();
            let turns = e.cx.const_f32((1.0 / std::f64::consts::TAU) as f32);
            let high = e.cx.const_f32(TWO_PI_HIGH as f32);
            let low = e.cx.const_f32(TWO_PI_LOW as f32);
            let scaled = e.cx.op(Op::FMul, f, &[x, turns])?;
            let k = e.cx.glsl(ROUND_EVEN, f, &[scaled])?;
            let k_high = e.exact_op(Op::FMul, f, k, high)?;
            let partial = e.exact_op(Op::FSub, f, x, k_high)?;
            let k_low = e.exact_op(Op::FMul, f, k, low)?;
            let reduced = e.exact_op(Op::FSub, f, partial, k_low)?;
            e.cx.glsl(inst, f, &[reduced])
        })
    }

    /// A binary float instruction decorated `NoContraction`: Vulkan may otherwise rearrange
    /// float expressions by the laws of exact arithmetic, which undoes sequences whose point is
    /// where the roundings fall.
    fn exact_op(&mut self, op: Op, ty: Word, a: Word, b: Word) -> R<Word> {
        let id = self.cx.op(op, ty, &[a, b])?;
        self.cx.b.decorate(id, Decoration::NoContraction, []);
        Ok(id)
    }

    /// NaN where `x < 0`, `r` elsewhere (`wide` is the registers' type, F32 or F64).
    fn nan_below_zero(&mut self, wide: ScalarType, x: Word, r: Word) -> R<Word> {
        let f = self.cx.compute_ty(wide);
        let bool_ty = self.cx.bool_ty();
        let zero = self.float_const(wide, 0.0);
        let nan = self.non_finite(wide, f32::NAN)?;
        let negative = self.cx.op(Op::FOrdLessThan, bool_ty, &[x, zero])?;
        self.cx.op(Op::Select, f, &[negative, nan, r])
    }

    /// An infinity with the sign bit of `x` (so -inf for -0): the sign bit read through a
    /// bitcast of `x` in f32 (converting keeps it), since no float comparison tells the zeros
    /// apart.
    fn signed_infinity(&mut self, wide: ScalarType, x: Word) -> R<Word> {
        let f32_ty = self.cx.f32();
        let bool_ty = self.cx.bool_ty();
        let i32_ty = self.cx.i32();
        let narrow = if wide == ScalarType::F64 {
            self.cx.op(Op::FConvert, f32_ty, &[x])?
        } else {
            x
        };
        let bits = self.cx.op(Op::Bitcast, i32_ty, &[narrow])?;
        let zero = self.cx.const_i32(0);
        let negative = self.cx.op(Op::SLessThan, bool_ty, &[bits, zero])?;
        let inf = self.cx.const_f32(f32::INFINITY);
        let minus_inf = self.cx.const_f32(f32::NEG_INFINITY);
        let r = self
            .cx
            .op(Op::Select, f32_ty, &[negative, minus_inf, inf])?;
        self.widen_f32(wide, r)
    }

    /// A NaN or infinity of `wide` (F32 or F64). An f64 one is the f32 one converted: naga,
    /// behind `tkc export`, rejects non-finite float constants, and the export's rewrite of them
    /// (`export::runtime_non_finite_constants`) covers 32-bit ones.
    fn non_finite(&mut self, wide: ScalarType, value: f32) -> R<Word> {
        let c = self.cx.const_f32(value);
        self.widen_f32(wide, c)
    }

    /// An f32 register as `wide` (F32 or F64).
    fn widen_f32(&mut self, wide: ScalarType, x: Word) -> R<Word> {
        if wide == ScalarType::F64 {
            let f64_ty = self.cx.compute_ty(wide);
            self.cx.op(Op::FConvert, f64_ty, &[x])
        } else {
            Ok(x)
        }
    }
}
