//! Elementwise math on one register: arithmetic with the opcode for the type's kind, GLSL.std.450
//! functions, erf/tanh/sigmoid expansions, casts with saturation, and bitcasts (bf16 lives in f32
//! registers).
use super::ctx::R;
use super::Emitter;
use crate::base::{Diagnostic, Literal, ScalarType};
use crate::ir::{BinaryOp, CmpOp, ReduceOp, UnaryOp};
use spirv::{Op, Word};

mod division;
mod domains;

// GLSL.std.450 instruction numbers.
const ROUND_EVEN: u32 = 2;
const TRUNC: u32 = 3;
const FSIGN: u32 = 6;
const FABS: u32 = 4;
const FLOOR: u32 = 8;
const CEIL: u32 = 9;
const SIN: u32 = 13;
const COS: u32 = 14;
const TANH: u32 = 21;
const POW: u32 = 26;
const EXP: u32 = 27;
const LOG: u32 = 28;
const EXP2: u32 = 29;
const LOG2: u32 = 30;
const SQRT: u32 = 31;
const INVERSE_SQRT: u32 = 32;
const FMA: u32 = 50;
const NMIN: u32 = 79;
const NMAX: u32 = 80;

impl Emitter<'_> {
    fn float_const(&mut self, ty: ScalarType, value: f64) -> Word {
        self.cx.const_scalar(ty, value as i128, value)
    }

    /// Runs `f` on `x` in f32 when `ty` is f16 or f64 (GLSL.std.450 transcendental functions take
    /// 16/32-bit floats only; f16 gains accuracy in f32), converting back afterwards.
    fn in_f32(
        &mut self,
        ty: ScalarType,
        xs: &[Word],
        f: &mut dyn FnMut(&mut Self, &[Word]) -> R<Word>,
    ) -> R<Word> {
        if matches!(ty, ScalarType::F32 | ScalarType::BF16) {
            return f(self, xs);
        }
        self.through_f32(ty, xs, f)
    }

    /// Converts `xs` to f32, runs `f` on them and converts its result back to `ty`'s registers.
    fn through_f32(
        &mut self,
        ty: ScalarType,
        xs: &[Word],
        f: &mut dyn FnMut(&mut Self, &[Word]) -> R<Word>,
    ) -> R<Word> {
        let f32_ty = self.cx.f32();
        let mut wide = Vec::new();
        for &x in xs {
            wide.push(self.cx.op(Op::FConvert, f32_ty, &[x])?);
        }
        let r = f(self, &wide)?;
        let back = self.cx.compute_ty(ty);
        self.cx.op(Op::FConvert, back, &[r])
    }

    pub(crate) fn unary(&mut self, op: UnaryOp, ty: ScalarType, x: Word) -> R<Word> {
        let t = self.cx.compute_ty(ty);
        let bool_ty = self.cx.bool_ty();
        let float = ty.is_float();
        let glsl1 = |e: &mut Self, inst: u32| -> R<Word> {
            e.in_f32(ty, &[x], &mut |e, xs| {
                let f = e.cx.f32();
                e.cx.glsl(inst, f, xs)
            })
        };
        match op {
            UnaryOp::Neg if float => self.cx.op(Op::FNegate, t, &[x]),
            UnaryOp::Neg => self.cx.op(Op::SNegate, t, &[x]),
            UnaryOp::Not => self.cx.op(Op::LogicalNot, bool_ty, &[x]),
            UnaryOp::BitNot if ty.is_bool() => self.cx.op(Op::LogicalNot, bool_ty, &[x]),
            UnaryOp::BitNot => self.cx.op(Op::Not, t, &[x]),
            UnaryOp::Abs if float => self.cx.glsl(FABS, t, &[x]),
            UnaryOp::Abs if ty.is_signed_int() => {
                let zero = self.cx.const_scalar(ty, 0, 0.0);
                let neg = self.cx.op(Op::SLessThan, bool_ty, &[x, zero])?;
                let n = self.cx.op(Op::SNegate, t, &[x])?;
                self.cx.op(Op::Select, t, &[neg, n, x])
            }
            UnaryOp::Abs => Ok(x),
            _ if !float => Err(Diagnostic::internal(format!("{op:?} on {ty}"))),
            UnaryOp::Floor => self.cx.glsl(FLOOR, t, &[x]),
            UnaryOp::Ceil => self.cx.glsl(CEIL, t, &[x]),
            UnaryOp::Round if ty == ScalarType::F64 => self.round_even_exact(t, x),
            UnaryOp::Round => self.cx.glsl(ROUND_EVEN, t, &[x]),
            UnaryOp::Sqrt => self.sqrt(ty, x),
            UnaryOp::Rsqrt => self.rsqrt(ty, x),
            UnaryOp::Exp => glsl1(self, EXP),
            UnaryOp::Exp2 => glsl1(self, EXP2),
            UnaryOp::Log => self.log(ty, x, LOG),
            UnaryOp::Log2 => self.log(ty, x, LOG2),
            UnaryOp::Sin => self.sin_cos(ty, x, SIN),
            UnaryOp::Cos => self.sin_cos(ty, x, COS),
            UnaryOp::Tanh => self.in_f32(ty, &[x], &mut |e, xs| e.tanh_f32(xs[0])),
            UnaryOp::Erf => self.in_f32(ty, &[x], &mut |e, xs| e.erf_f32(xs[0])),
            UnaryOp::Sigmoid => self.in_f32(ty, &[x], &mut |e, xs| {
                // 1 / (1 + exp(-x))
                let f = e.cx.f32();
                let n = e.cx.op(Op::FNegate, f, &[xs[0]])?;
                let ex = e.cx.glsl(EXP, f, &[n])?;
                let one = e.cx.const_f32(1.0);
                let d = e.cx.op(Op::FAdd, f, &[one, ex])?;
                e.cx.op(Op::FDiv, f, &[one, d])
            }),
        }
    }

    /// tanh: GLSL's for |x| < 1 (accurate near 0), `sign(x) * (1 - 2 / (exp(2|x|) + 1))` beyond
    /// (no overflow to NaN for large |x|).
    fn tanh_f32(&mut self, x: Word) -> R<Word> {
        let f = self.cx.f32();
        let bool_ty = self.cx.bool_ty();
        let small = self.cx.glsl(TANH, f, &[x])?;
        let a = self.cx.glsl(FABS, f, &[x])?;
        let two = self.cx.const_f32(2.0);
        let one = self.cx.const_f32(1.0);
        let a2 = self.cx.op(Op::FMul, f, &[a, two])?;
        let ex = self.cx.glsl(EXP, f, &[a2])?;
        let d = self.cx.op(Op::FAdd, f, &[ex, one])?;
        let q = self.cx.op(Op::FDiv, f, &[two, d])?;
        let big = self.cx.op(Op::FSub, f, &[one, q])?;
        let zero = self.cx.const_f32(0.0);
        let neg = self.cx.op(Op::FOrdLessThan, bool_ty, &[x, zero])?;
        let nbig = self.cx.op(Op::FNegate, f, &[big])?;
        let big = self.cx.op(Op::Select, f, &[neg, nbig, big])?;
        let is_small = self.cx.op(Op::FOrdLessThan, bool_ty, &[a, one])?;
        let r = self.cx.op(Op::Select, f, &[is_small, small, big])?;
        // NaN stays NaN (both compares are false for NaN and `big` is NaN then).
        Ok(r)
    }

    /// erf by Abramowitz–Stegun 7.1.26 (absolute error below 1.5e-7).
    fn erf_f32(&mut self, x: Word) -> R<Word> {
        let f = self.cx.f32();
        let bool_ty = self.cx.bool_ty();
        let a = self.cx.glsl(FABS, f, &[x])?;
        let p = self.cx.const_f32(0.327_591_1);
        let one = self.cx.const_f32(1.0);
        let pa = self.cx.op(Op::FMul, f, &[p, a])?;
        let den = self.cx.op(Op::FAdd, f, &[one, pa])?;
        let t = self.cx.op(Op::FDiv, f, &[one, den])?;
        let coeffs: [f64; 5] = [
            1.061_405_429,
            -1.453_152_027,
            1.421_413_741,
            -0.284_496_736,
            0.254_829_592,
        ];
        let mut poly = self.cx.const_f32(coeffs[0] as f32);
        for &c in &coeffs[1..] {
            let m = self.cx.op(Op::FMul, f, &[poly, t])?;
            let c = self.cx.const_f32(c as f32);
            poly = self.cx.op(Op::FAdd, f, &[m, c])?;
        }
        poly = self.cx.op(Op::FMul, f, &[poly, t])?;
        let a2 = self.cx.op(Op::FMul, f, &[a, a])?;
        let na2 = self.cx.op(Op::FNegate, f, &[a2])?;
        let ex = self.cx.glsl(EXP, f, &[na2])?;
        let pe = self.cx.op(Op::FMul, f, &[poly, ex])?;
        let y = self.cx.op(Op::FSub, f, &[one, pe])?;
        let zero = self.cx.const_f32(0.0);
        let neg = self.cx.op(Op::FOrdLessThan, bool_ty, &[x, zero])?;
        let ny = self.cx.op(Op::FNegate, f, &[y])?;
        let r = self.cx.op(Op::Select, f, &[neg, ny, y])?;
        // Keep NaN: a NaN input gives NaN from `a` already (y is NaN).
        Ok(r)
    }

    pub(crate) fn binary(&mut self, op: BinaryOp, ty: ScalarType, a: Word, b: Word) -> R<Word> {
        let t = self.cx.compute_ty(ty);
        let bool_ty = self.cx.bool_ty();
        if ty.is_bool() {
            return match op {
                BinaryOp::And | BinaryOp::Min | BinaryOp::Mul => {
                    self.cx.op(Op::LogicalAnd, bool_ty, &[a, b])
                }
                BinaryOp::Or | BinaryOp::Max => self.cx.op(Op::LogicalOr, bool_ty, &[a, b]),
                BinaryOp::Xor | BinaryOp::Add | BinaryOp::Sub => {
                    self.cx.op(Op::LogicalNotEqual, bool_ty, &[a, b])
                }
                _ => Err(Diagnostic::internal(format!("{op:?} on bool"))),
            };
        }
        if ty.is_float() {
            return match op {
                BinaryOp::Add => self.cx.op(Op::FAdd, t, &[a, b]),
                BinaryOp::Sub => self.cx.op(Op::FSub, t, &[a, b]),
                BinaryOp::Mul => self.cx.op(Op::FMul, t, &[a, b]),
                BinaryOp::Div => self.float_div(ty, a, b),
                BinaryOp::Rem => self.float_rem(ty, a, b),
                BinaryOp::Min => self.cx.glsl(NMIN, t, &[a, b]),
                BinaryOp::Max => self.cx.glsl(NMAX, t, &[a, b]),
                BinaryOp::Pow => self.pow(ty, a, b),
                _ => Err(Diagnostic::internal(format!("{op:?} on {ty}"))),
            };
        }
        let signed = ty.is_signed_int();
        match op {
            BinaryOp::Add => self.cx.op(Op::IAdd, t, &[a, b]),
            BinaryOp::Sub => self.cx.op(Op::ISub, t, &[a, b]),
            BinaryOp::Mul => self.cx.op(Op::IMul, t, &[a, b]),
            BinaryOp::Div | BinaryOp::Rem => self.int_div_rem(op, ty, a, b),
            BinaryOp::And => self.cx.op(Op::BitwiseAnd, t, &[a, b]),
            BinaryOp::Or => self.cx.op(Op::BitwiseOr, t, &[a, b]),
            BinaryOp::Xor => self.cx.op(Op::BitwiseXor, t, &[a, b]),
            BinaryOp::Shl | BinaryOp::Shr => {
                let mask = self.cx.const_scalar(ty, ty.bits() as i128 - 1, 0.0);
                let count = self.cx.op(Op::BitwiseAnd, t, &[b, mask])?;
                let opcode = match (op, signed) {
                    (BinaryOp::Shl, _) => Op::ShiftLeftLogical,
                    (_, true) => Op::ShiftRightArithmetic,
                    (_, false) => Op::ShiftRightLogical,
                };
                self.cx.op(opcode, t, &[a, count])
            }
            BinaryOp::Min | BinaryOp::Max => {
                let cmp = match (op, signed) {
                    (BinaryOp::Min, true) => Op::SLessThan,
                    (BinaryOp::Min, false) => Op::ULessThan,
                    (_, true) => Op::SGreaterThan,
                    (_, false) => Op::UGreaterThan,
                };
                let c = self.cx.op(cmp, bool_ty, &[a, b])?;
                self.cx.op(Op::Select, t, &[c, a, b])
            }
            BinaryOp::MulHi => {
                let st = self.cx.b.type_struct([t, t]);
                let opcode = if signed {
                    Op::SMulExtended
                } else {
                    Op::UMulExtended
                };
                let pair = self.cx.op(opcode, st, &[a, b])?;
                self.cx
                    .b
                    .composite_extract(t, None, pair, [1])
                    .map_err(super::ctx::ice)
            }
            BinaryOp::Pow => Err(Diagnostic::internal(format!("pow on {ty}"))),
        }
    }

    pub(crate) fn fma(&mut self, ty: ScalarType, a: Word, b: Word, c: Word) -> R<Word> {
        let t = self.cx.compute_ty(ty);
        if ty.is_float() {
            self.cx.glsl(FMA, t, &[a, b, c])
        } else {
            let m = self.binary(BinaryOp::Mul, ty, a, b)?;
            self.binary(BinaryOp::Add, ty, m, c)
        }
    }

    pub(crate) fn compare(&mut self, op: CmpOp, ty: ScalarType, a: Word, b: Word) -> R<Word> {
        let bool_ty = self.cx.bool_ty();
        let (a, b, ty) = if ty.is_bool() {
            // Compare bools as 0/1.
            let u = ScalarType::U32;
            (self.cast(ty, u, a)?, self.cast(ty, u, b)?, u)
        } else {
            (a, b, ty)
        };
        let opcode = if ty.is_float() {
            match op {
                CmpOp::Eq => Op::FOrdEqual,
                CmpOp::Ne => Op::FUnordNotEqual,
                CmpOp::Lt => Op::FOrdLessThan,
                CmpOp::Le => Op::FOrdLessThanEqual,
                CmpOp::Gt => Op::FOrdGreaterThan,
                CmpOp::Ge => Op::FOrdGreaterThanEqual,
            }
        } else if ty.is_signed_int() {
            match op {
                CmpOp::Eq => Op::IEqual,
                CmpOp::Ne => Op::INotEqual,
                CmpOp::Lt => Op::SLessThan,
                CmpOp::Le => Op::SLessThanEqual,
                CmpOp::Gt => Op::SGreaterThan,
                CmpOp::Ge => Op::SGreaterThanEqual,
            }
        } else {
            match op {
                CmpOp::Eq => Op::IEqual,
                CmpOp::Ne => Op::INotEqual,
                CmpOp::Lt => Op::ULessThan,
                CmpOp::Le => Op::ULessThanEqual,
                CmpOp::Gt => Op::UGreaterThan,
                CmpOp::Ge => Op::UGreaterThanEqual,
            }
        };
        self.cx.op(opcode, bool_ty, &[a, b])
    }

    /// `x as to` per `InstKind::Cast`.
    pub(crate) fn cast(&mut self, from: ScalarType, to: ScalarType, x: Word) -> R<Word> {
        if from == to {
            return Ok(x);
        }
        let t = self.cx.compute_ty(to);
        let bool_ty = self.cx.bool_ty();
        if from.is_bool() {
            let one = self.cx.const_scalar(to, 1, 1.0);
            let zero = self.cx.const_scalar(to, 0, 0.0);
            return self.cx.op(Op::Select, t, &[x, one, zero]);
        }
        if to.is_bool() {
            let zero = self.cx.const_scalar(from, 0, 0.0);
            let opcode = if from.is_float() {
                Op::FUnordNotEqual
            } else {
                Op::INotEqual
            };
            return self.cx.op(opcode, bool_ty, &[x, zero]);
        }
        match (from.is_float(), to.is_float()) {
            (true, true) => {
                let (fw, tw) = (float_width(from), float_width(to));
                let y = if fw == tw {
                    x
                } else {
                    self.cx.op(Op::FConvert, t, &[x])?
                };
                if to == ScalarType::BF16 {
                    self.round_to_bf16(y)
                } else {
                    Ok(y)
                }
            }
            (false, true) => {
                let opcode = if from.is_signed_int() {
                    Op::ConvertSToF
                } else {
                    Op::ConvertUToF
                };
                let y = self.cx.op(opcode, t, &[x])?;
                if to == ScalarType::BF16 {
                    self.round_to_bf16(y)
                } else {
                    Ok(y)
                }
            }
            (true, false) => self.float_to_int(from, to, x),
            (false, false) => {
                if from.bits() == to.bits() {
                    self.cx.op(Op::Bitcast, t, &[x])
                } else if from.is_signed_int() {
                    self.cx.op(Op::SConvert, t, &[x])
                } else {
                    self.cx.uconvert(to.bits(), to.is_signed_int(), x)
                }
            }
        }
    }

    /// Truncation toward zero with saturation; NaN gives 0.
    fn float_to_int(&mut self, from: ScalarType, to: ScalarType, x: Word) -> R<Word> {
        // Work in f32 for f16 (its range is small) and bf16 (already f32).
        let (x, fty) = if from == ScalarType::F16 {
            let f = self.cx.f32();
            (self.cx.op(Op::FConvert, f, &[x])?, ScalarType::F32)
        } else if from == ScalarType::BF16 {
            (x, ScalarType::F32)
        } else {
            (x, from)
        };
        let ft = self.cx.compute_ty(fty);
        let t = self.cx.compute_ty(to);
        let bool_ty = self.cx.bool_ty();
        let bits = to.bits();
        let (lo, hi) = if to.is_signed_int() {
            (-(2f64.powi(bits as i32 - 1)), 2f64.powi(bits as i32 - 1))
        } else {
            (0.0, 2f64.powi(bits as i32))
        };
        let (min, max) = if to.is_signed_int() {
            (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
        } else {
            (0, (1i128 << bits) - 1)
        };
        let lo_c = self.float_const(fty, lo);
        let hi_c = self.float_const(fty, hi);
        // Values in (-1, lo] truncate to lo or saturate there anyway: compare against lo - 1
        // would be inexact, so treat x <= lo via saturation to `min`.
        let above = self.cx.op(Op::FOrdGreaterThan, bool_ty, &[x, lo_c])?;
        let below = self.cx.op(Op::FOrdLessThan, bool_ty, &[x, hi_c])?;
        let in_range = self.cx.op(Op::LogicalAnd, bool_ty, &[above, below])?;
        let zero_f = self.float_const(fty, 0.0);
        let safe = self.cx.op(Op::Select, ft, &[in_range, x, zero_f])?;
        let opcode = if to.is_signed_int() {
            Op::ConvertFToS
        } else {
            Op::ConvertFToU
        };
        let conv = self.cx.op(opcode, t, &[safe])?;
        let max_c = self.cx.const_scalar(to, max, 0.0);
        let min_c = self.cx.const_scalar(to, min, 0.0);
        let zero = self.cx.const_scalar(to, 0, 0.0);
        let too_big = self.cx.op(Op::FOrdGreaterThanEqual, bool_ty, &[x, hi_c])?;
        let too_small = self.cx.op(Op::FOrdLessThanEqual, bool_ty, &[x, lo_c])?;
        let r = self.cx.op(Op::Select, t, &[in_range, conv, zero])?;
        let r = self.cx.op(Op::Select, t, &[too_big, max_c, r])?;
        self.cx.op(Op::Select, t, &[too_small, min_c, r])
    }

    /// Rounds an f32 register to bf16 precision (nearest even), keeping NaN.
    pub(crate) fn round_to_bf16(&mut self, x: Word) -> R<Word> {
        let bits = self.bf16_bits_u32(x)?;
        let u = self.cx.u32();
        let f = self.cx.f32();
        let sixteen = self.cx.const_u32(16);
        let wide = self.cx.op(Op::ShiftLeftLogical, u, &[bits, sixteen])?;
        self.cx.op(Op::Bitcast, f, &[wide])
    }

    /// The bf16 bit pattern (in the low 16 bits of a u32) of an f32 register, rounded to nearest
    /// even; NaN becomes the quiet NaN 0x7FC0.
    pub(crate) fn bf16_bits_u32(&mut self, x: Word) -> R<Word> {
        let u = self.cx.u32();
        let bool_ty = self.cx.bool_ty();
        let bits = self.cx.op(Op::Bitcast, u, &[x])?;
        let sixteen = self.cx.const_u32(16);
        let one = self.cx.const_u32(1);
        let hi = self.cx.op(Op::ShiftRightLogical, u, &[bits, sixteen])?;
        let lsb = self.cx.op(Op::BitwiseAnd, u, &[hi, one])?;
        let bias = self.cx.const_u32(0x7FFF);
        let add = self.cx.op(Op::IAdd, u, &[bias, lsb])?;
        let rounded = self.cx.op(Op::IAdd, u, &[bits, add])?;
        let shifted = self.cx.op(Op::ShiftRightLogical, u, &[rounded, sixteen])?;
        let nan = self.cx.op(Op::IsNan, bool_ty, &[x])?;
        let qnan = self.cx.const_u32(0x7FC0);
        self.cx.op(Op::Select, u, &[nan, qnan, shifted])
    }

    pub(crate) fn bitcast(&mut self, from: ScalarType, to: ScalarType, x: Word) -> R<Word> {
        if from == to {
            return Ok(x);
        }
        let t = self.cx.compute_ty(to);
        if from == ScalarType::BF16 {
            // The register holds an exact bf16 value: its high 16 bits are the pattern.
            let u = self.cx.u32();
            let bits = self.cx.op(Op::Bitcast, u, &[x])?;
            let sixteen = self.cx.const_u32(16);
            let hi = self.cx.op(Op::ShiftRightLogical, u, &[bits, sixteen])?;
            let _ = t;
            return self.cx.uconvert(to.bits(), to.is_signed_int(), hi);
        }
        if to == ScalarType::BF16 {
            let u = self.cx.u32();
            let f = self.cx.f32();
            let wide = if from.is_signed_int() || from == ScalarType::F16 {
                let u16t = self.cx.int(16, false);
                let b = self.cx.op(Op::Bitcast, u16t, &[x])?;
                self.cx.op(Op::UConvert, u, &[b])?
            } else {
                self.cx.op(Op::UConvert, u, &[x])?
            };
            let sixteen = self.cx.const_u32(16);
            let shifted = self.cx.op(Op::ShiftLeftLogical, u, &[wide, sixteen])?;
            return self.cx.op(Op::Bitcast, f, &[shifted]);
        }
        self.cx.op(Op::Bitcast, t, &[x])
    }

    // ---- reductions --------------------------------------------------------------------------

    /// Round half to even spelled out with exact steps, for f64: lavapipe 22.3's f64 `RoundEven`
    /// rounds some ties away from even (-27.5 to -27; tests/conformance). `t = trunc(x)` and
    /// `d = x - t` are exact; step away from zero when `|d| > 0.5`, or `|d| == 0.5` and `t` is odd.
    /// NaN stays NaN and infinities stay (their `d` is NaN, so no step).
    fn round_even_exact(&mut self, t: Word, x: Word) -> R<Word> {
        let bool_ty = self.cx.bool_ty();
        let half = self.cx.const_scalar(ScalarType::F64, 0, 0.5);
        let trunc = self.cx.glsl(TRUNC, t, &[x])?;
        let d = self.cx.op(Op::FSub, t, &[x, trunc])?;
        let ad = self.cx.glsl(FABS, t, &[d])?;
        let sign = self.cx.glsl(FSIGN, t, &[x])?;
        let halved = self.cx.op(Op::FMul, t, &[trunc, half])?;
        let floor_halved = self.cx.glsl(FLOOR, t, &[halved])?;
        let odd = self
            .cx
            .op(Op::FOrdNotEqual, bool_ty, &[floor_halved, halved])?;
        let above = self.cx.op(Op::FOrdGreaterThan, bool_ty, &[ad, half])?;
        let tie = self.cx.op(Op::FOrdEqual, bool_ty, &[ad, half])?;
        let tie_odd = self.cx.op(Op::LogicalAnd, bool_ty, &[tie, odd])?;
        let step = self.cx.op(Op::LogicalOr, bool_ty, &[above, tie_odd])?;
        let stepped = self.cx.op(Op::FAdd, t, &[trunc, sign])?;
        self.cx.op(Op::Select, t, &[step, stepped, trunc])
    }

    /// The identity of a reduction on `ty` (`ReduceOp::identity`) as a constant.
    pub(crate) fn reduce_identity(&mut self, op: ReduceOp, ty: ScalarType) -> Word {
        match op.identity(ty) {
            Literal::Bool(b) => self.cx.const_bool(b),
            Literal::Float(v) => self.float_const(ty, v),
            Literal::Int(v) => self.cx.const_scalar(ty, v, 0.0),
        }
    }

    /// Combines two partial results; float max/min propagate NaN.
    pub(crate) fn reduce_combine(
        &mut self,
        op: ReduceOp,
        ty: ScalarType,
        a: Word,
        b: Word,
    ) -> R<Word> {
        use ReduceOp::*;
        match op {
            Sum => self.binary(BinaryOp::Add, ty, a, b),
            Prod => self.binary(BinaryOp::Mul, ty, a, b),
            Max | Min if ty.is_float() => {
                let t = self.cx.compute_ty(ty);
                let bool_ty = self.cx.bool_ty();
                let cmp = if op == Max {
                    Op::FOrdGreaterThan
                } else {
                    Op::FOrdLessThan
                };
                let better = self.cx.op(cmp, bool_ty, &[a, b])?;
                let nan = self.cx.op(Op::IsNan, bool_ty, &[a])?;
                let take_a = self.cx.op(Op::LogicalOr, bool_ty, &[better, nan])?;
                self.cx.op(Op::Select, t, &[take_a, a, b])
            }
            Max => self.binary(BinaryOp::Max, ty, a, b),
            Min => self.binary(BinaryOp::Min, ty, a, b),
        }
    }
}

fn float_width(ty: ScalarType) -> u32 {
    match ty {
        ScalarType::BF16 => 32,
        t => t.bits(),
    }
}
