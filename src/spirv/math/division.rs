//! Division and remainder, spelled with sequences whose results Vulkan defines on every device:
//! integer `/` and `%` exact and equal to the interpreter's (division by zero gives 0), float `/`
//! and `%` within the bounds of Vulkan's precision table.
//!
//! What the sequences avoid:
//! - `OpSDiv` is undefined for a zero divisor and for `MIN / -1`, `OpUDiv` and `OpUMod` for a zero
//!   divisor: a divisor that is 0 or -1 is replaced by 1 first (`int_div_rem`).
//! - Vulkan leaves the signed remainder instructions undefined when an operand is negative (its
//!   SPIR-V environment, "Precision and Operation of SPIR-V Instructions"; only
//!   VK_KHR_maintenance8 defines them, and an NVIDIA H200 returned the unsigned remainder):
//!   the signed remainder is `a - (a / b) * b` with `OpSDiv`, as wgpu and IREE emit it.
//! - `OpFRem` is only "inherited from `x - y * trunc(x / y)`" with a quotient computed in the
//!   operands' type, so f16 quotients truncated to the wrong integer on the H200 (a whole `|y|`
//!   off): `float_rem` computes that formula in f32 (f64 for f64) and corrects a quotient that
//!   rounded across an integer.
//! - f16 `OpFDiv` is 2.5 ulp of f16: f16 `/` divides in f32 and rounds once (`float_div`).
use super::super::ctx::R;
use super::super::Emitter;
use super::{FABS, TRUNC};
use crate::base::ScalarType;
use crate::ir::BinaryOp;
use spirv::{Op, Word};

impl Emitter<'_> {
    /// The value of an integer register of type `ty` when it is a constant of the emitter's
    /// (a literal or a const parameter, splatted or not).
    fn int_constant(&self, ty: ScalarType, x: Word) -> Option<i128> {
        let bits = self.cx.const_bits_of(x)?;
        let width = ty.bits();
        let raw = if width == 64 {
            bits as u128
        } else {
            (bits & ((1u64 << width) - 1)) as u128
        };
        let negative = ty.is_signed_int() && (raw >> (width - 1)) & 1 == 1;
        Some(if negative {
            raw as i128 - (1i128 << width)
        } else {
            raw as i128
        })
    }

    /// Integer `a / b` or `a % b` with the interpreter's results on every device: truncation
    /// toward zero, 0 for a zero divisor, `MIN / -1 == MIN` (it wraps) and `MIN % -1 == 0`.
    /// The instructions run on a divisor `b'` that is 1 where `b` is 0 or -1, for which they are
    /// defined whatever `a` is; then `a % b'` is already right (a remainder by 0, 1 or -1 is 0)
    /// and the quotient is scaled by 0 where `b` is 0 and by -1 where it is -1 (the product
    /// wraps, giving MIN for `MIN / -1`). Every guard depends on `b` alone, so for a scalar
    /// divisor (`offs % M`) drivers compute it once, not per element; a constant divisor needs
    /// none and gets none (kernels divide by consts: `pid % GROUP_M`, `offs / BLOCK`).
    pub(crate) fn int_div_rem(
        &mut self,
        op: BinaryOp,
        ty: ScalarType,
        a: Word,
        b: Word,
    ) -> R<Word> {
        let t = self.cx.compute_ty(ty);
        let rem = op == BinaryOp::Rem;
        let zero = self.cx.const_scalar(ty, 0, 0.0);
        if !ty.is_signed_int() {
            match self.int_constant(ty, b) {
                Some(0) => return Ok(zero),
                Some(_) => return self.defined_div_rem(rem, ty, a, b),
                None => {}
            }
            let bool_ty = self.cx.bool_ty();
            let one = self.cx.const_scalar(ty, 1, 0.0);
            let by_zero = self.cx.op(Op::IEqual, bool_ty, &[b, zero])?;
            let divisor = self.cx.op(Op::Select, t, &[by_zero, one, b])?;
            let r = self.defined_div_rem(rem, ty, a, divisor)?;
            return if rem {
                Ok(r)
            } else {
                self.cx.op(Op::Select, t, &[by_zero, zero, r])
            };
        }
        let minus_one = self.cx.const_scalar(ty, -1, 0.0);
        match self.int_constant(ty, b) {
            Some(0) => return Ok(zero),
            Some(-1) if rem => return Ok(zero),
            // `a / -1` is `-a`, which wraps for MIN as the interpreter's division does.
            Some(-1) => return self.cx.op(Op::IMul, t, &[a, minus_one]),
            Some(_) => return self.defined_div_rem(rem, ty, a, b),
            None => {}
        }
        let bool_ty = self.cx.bool_ty();
        let one = self.cx.const_scalar(ty, 1, 0.0);
        let by_zero = self.cx.op(Op::IEqual, bool_ty, &[b, zero])?;
        let by_minus_one = self.cx.op(Op::IEqual, bool_ty, &[b, minus_one])?;
        let replaced = self
            .cx
            .op(Op::LogicalOr, bool_ty, &[by_zero, by_minus_one])?;
        let divisor = self.cx.op(Op::Select, t, &[replaced, one, b])?;
        let r = self.defined_div_rem(rem, ty, a, divisor)?;
        if rem {
            return Ok(r);
        }
        let sign = self.cx.op(Op::Select, t, &[by_minus_one, minus_one, one])?;
        let scale = self.cx.op(Op::Select, t, &[by_zero, zero, sign])?;
        self.cx.op(Op::IMul, t, &[r, scale])
    }

    /// `a / b` or `a % b` for a divisor with which the instructions are defined: not 0, and not
    /// -1 (which is undefined for a dividend of MIN). The signed remainder is `a - (a / b) * b`.
    fn defined_div_rem(&mut self, rem: bool, ty: ScalarType, a: Word, b: Word) -> R<Word> {
        let t = self.cx.compute_ty(ty);
        match (ty.is_signed_int(), rem) {
            (false, false) => self.cx.op(Op::UDiv, t, &[a, b]),
            (false, true) => self.cx.op(Op::UMod, t, &[a, b]),
            (true, false) => self.cx.op(Op::SDiv, t, &[a, b]),
            (true, true) => {
                let q = self.cx.op(Op::SDiv, t, &[a, b])?;
                let m = self.cx.op(Op::IMul, t, &[q, b])?;
                self.cx.op(Op::ISub, t, &[a, m])
            }
        }
    }

    /// Float `x / y`. Vulkan's `OpFDiv` is within 2.5 ulp for `|y|` in [2^-126, 2^126] (f32) and
    /// [2^-14, 2^14] (f16): f16 divides in f32 and rounds once, which keeps it within 1 ulp of
    /// the correctly rounded f16 quotient and takes the f16 subnormal divisors into the range.
    /// bf16 registers are f32 already; f64 divides in f64.
    pub(crate) fn float_div(&mut self, ty: ScalarType, x: Word, y: Word) -> R<Word> {
        let f = self.cx.compute_ty(computing_float(ty));
        self.in_compute_float(ty, &[x, y], &mut |e, xs| {
            e.cx.op(Op::FDiv, f, &[xs[0], xs[1]])
        })
    }

    /// Float `x % y`: C's `fmod`, the remainder of the quotient truncated toward zero, with the
    /// sign of `x`. Computed in f32 (f16, bf16, f32) or f64 as `r = x - y * trunc(x / y)`, then
    /// one fix-up step: where the quotient rounded across an integer, `r` has the wrong sign
    /// (one `|y|` too far) or `|r| >= |y|` (one `|y|` short), and `|y|` is added or taken away.
    /// `fmod`'s special values hold: `y == 0`, `x` infinite or NaN give NaN (through the
    /// formula), an infinite `y` gives `x` (selected: the formula's `inf * 0` would be NaN).
    ///
    /// Error bound, with `u` the unit roundoff of the computing type (2^-24 or 2^-53), `OpFDiv`
    /// within 2.5 ulp (relative `5u`) and the other operations faithful (Vulkan's "correctly
    /// rounded": relative `2u`): while `|x / y| < 1 / (5u)` the truncated quotient is the exact
    /// one or one off, which the fix-up corrects, and the result is within `8u (|x| + |y|)` of
    /// `fmod(x, y)`; beyond, the quotient itself is off by up to `5u |x / y|` and the error stays
    /// within `8u (|x| + |y|)` too. f16 and bf16 results then round once to their type. The
    /// result is exact whenever `y * trunc(x / y)` is exact in the computing type, which for f16
    /// holds while `|x / y| < 2^13` and for bf16 while `|x / y| < 2^16`. Near the discontinuities
    /// of `trunc` (an exact remainder within that bound of 0 or of `±|y|`), a rounded product can
    /// move `r` across them, and the result may be the other end, `|y|` away, as any evaluation
    /// of Vulkan's formula may. Vulkan's `fma` is not necessarily fused ("inherited from OpFMul
    /// followed by OpFAdd"), so it cannot make the product exact; drivers may still contract
    /// `x - y * t` into one, which only makes it more accurate.
    pub(crate) fn float_rem(&mut self, ty: ScalarType, x: Word, y: Word) -> R<Word> {
        let wide = computing_float(ty);
        let f = self.cx.compute_ty(wide);
        let largest_finite = match wide {
            ScalarType::F64 => f64::MAX,
            _ => f32::MAX as f64,
        };
        self.in_compute_float(ty, &[x, y], &mut |e, xs| {
            let (x, y) = (xs[0], xs[1]);
            let bool_ty = e.cx.bool_ty();
            let q = e.cx.op(Op::FDiv, f, &[x, y])?;
            let whole = e.cx.glsl(TRUNC, f, &[q])?;
            let product = e.cx.op(Op::FMul, f, &[y, whole])?;
            let r = e.cx.op(Op::FSub, f, &[x, product])?;
            // `step` is `|y|` with the sign of `x`: the correction that moves `r` toward x's side.
            let zero = e.float_const(wide, 0.0);
            let y_abs = e.cx.glsl(FABS, f, &[y])?;
            let minus_y_abs = e.cx.op(Op::FNegate, f, &[y_abs])?;
            let x_negative = e.cx.op(Op::FOrdLessThan, bool_ty, &[x, zero])?;
            let step = e.cx.op(Op::Select, f, &[x_negative, minus_y_abs, y_abs])?;
            let r_negative = e.cx.op(Op::FOrdLessThan, bool_ty, &[r, zero])?;
            let r_positive = e.cx.op(Op::FOrdGreaterThan, bool_ty, &[r, zero])?;
            let wrong_sign =
                e.cx.op(Op::Select, bool_ty, &[x_negative, r_positive, r_negative])?;
            let r_abs = e.cx.glsl(FABS, f, &[r])?;
            let too_far =
                e.cx.op(Op::FOrdGreaterThanEqual, bool_ty, &[r_abs, y_abs])?;
            let added = e.cx.op(Op::FAdd, f, &[r, step])?;
            let taken = e.cx.op(Op::FSub, f, &[r, step])?;
            let r = e.cx.op(Op::Select, f, &[too_far, taken, r])?;
            // A wrong sign wins where both hold: `r == -step` is an exact integer quotient
            // truncated one too far (a huge quotient's error), and `r + step` is its 0.
            let r = e.cx.op(Op::Select, f, &[wrong_sign, added, r])?;
            // Compared with the largest finite value rather than an infinite constant, which
            // naga (behind `tkc export`) rejects in f64.
            let largest = e.float_const(wide, largest_finite);
            let x_abs = e.cx.glsl(FABS, f, &[x])?;
            let x_finite = e.cx.op(Op::FOrdLessThanEqual, bool_ty, &[x_abs, largest])?;
            let y_infinite = e.cx.op(Op::FOrdGreaterThan, bool_ty, &[y_abs, largest])?;
            let keep_x = e.cx.op(Op::LogicalAnd, bool_ty, &[x_finite, y_infinite])?;
            e.cx.op(Op::Select, f, &[keep_x, x, r])
        })
    }

    /// Runs `f` on `xs` in the float type that arithmetic beyond `+ - *` computes in
    /// (`computing_float`): f32 for f16 (converted there and back, one rounding), the registers'
    /// own type otherwise (f32 for bf16, f64 for f64).
    pub(crate) fn in_compute_float(
        &mut self,
        ty: ScalarType,
        xs: &[Word],
        f: &mut dyn FnMut(&mut Self, &[Word]) -> R<Word>,
    ) -> R<Word> {
        if ty == ScalarType::F16 {
            self.through_f32(ty, xs, f)
        } else {
            f(self, xs)
        }
    }
}

/// The float type in which `in_compute_float` runs arithmetic on `ty`: F64 for f64, F32 else.
pub(crate) fn computing_float(ty: ScalarType) -> ScalarType {
    if ty == ScalarType::F64 {
        ScalarType::F64
    } else {
        ScalarType::F32
    }
}
