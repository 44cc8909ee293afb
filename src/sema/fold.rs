//! Compile-time arithmetic on literals: wrapping to a type, conversions (`as` semantics) and
//! folding of operators, shared by const evaluation and the elaborator.
use crate::base::{Literal, ScalarType};

/// Wraps an integer to the range of `ty` (two's complement), like the IR's integer ops.
pub fn wrap_int(value: i128, ty: ScalarType) -> i128 {
    let bits = ty.bits();
    if !ty.is_int() || bits >= 128 {
        return value;
    }
    let modulus = 1i128 << bits;
    let low = value.rem_euclid(modulus);
    if ty.is_signed_int() && low >= modulus / 2 {
        low - modulus
    } else {
        low
    }
}

/// Whether an untyped integer literal fits `ty` without wrapping.
pub fn int_fits(value: i128, ty: ScalarType) -> bool {
    wrap_int(value, ty) == value
}

/// Rounds a float to the precision of `ty`.
pub fn round_float(value: f64, ty: ScalarType) -> f64 {
    match ty {
        ScalarType::F32 => value as f32 as f64,
        ScalarType::F16 => half::f16::from_f64(value).to_f64(),
        ScalarType::BF16 => half::bf16::from_f64(value).to_f64(),
        _ => value,
    }
}

/// Converts a literal to `to` with the semantics of `as`.
pub fn convert(lit: Literal, to: ScalarType) -> Literal {
    match (lit, to) {
        (Literal::Bool(b), t) if t.is_bool() => Literal::Bool(b),
        (Literal::Bool(b), t) if t.is_float() => Literal::Float(b as u8 as f64),
        (Literal::Bool(b), _) => Literal::Int(b as i128),
        (Literal::Int(v), t) if t.is_bool() => Literal::Bool(v != 0),
        (Literal::Int(v), t) if t.is_float() => Literal::Float(round_float(v as f64, t)),
        (Literal::Int(v), t) => Literal::Int(wrap_int(v, t)),
        (Literal::Float(f), t) if t.is_bool() => Literal::Bool(f != 0.0),
        (Literal::Float(f), t) if t.is_float() => Literal::Float(round_float(f, t)),
        (Literal::Float(f), t) => {
            // Saturating truncation toward zero, NaN → 0, like Rust's `as`.
            let (min, max) = int_range(t);
            let v = if f.is_nan() {
                0
            } else if f <= min as f64 {
                min
            } else if f >= max as f64 {
                max
            } else {
                f.trunc() as i128
            };
            Literal::Int(v)
        }
    }
}

fn int_range(ty: ScalarType) -> (i128, i128) {
    let bits = ty.bits();
    if ty.is_signed_int() {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    }
}

/// The operators that fold on compile-time values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoldOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    And,
    Or,
    Xor,
    Shl,
    Shr,
    Min,
    Max,
    CeilDiv,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoldError {
    DivisionByZero,
    /// The operator does not fold for these operands (the caller emits IR instead).
    NotFoldable,
}

/// Folds `a op b`; both are already of type `ty` (`None`: untyped literals, ints unbounded).
pub fn fold_binary(
    op: FoldOp,
    ty: Option<ScalarType>,
    a: Literal,
    b: Literal,
) -> Result<Literal, FoldError> {
    use FoldOp::*;
    let cmp = |o: std::cmp::Ordering| -> bool {
        match op {
            Eq => o.is_eq(),
            Ne => o.is_ne(),
            Lt => o.is_lt(),
            Le => o.is_le(),
            Gt => o.is_gt(),
            Ge => o.is_ge(),
            _ => unreachable!(),
        }
    };
    let is_cmp = matches!(op, Eq | Ne | Lt | Le | Gt | Ge);
    match (a, b) {
        (Literal::Int(x), Literal::Int(y)) => {
            if is_cmp {
                return Ok(Literal::Bool(cmp(x.cmp(&y))));
            }
            let bits = ty.map_or(64, |t| t.bits()) as i128;
            let v = match op {
                Add => x.wrapping_add(y),
                Sub => x.wrapping_sub(y),
                Mul => x.wrapping_mul(y),
                Div | Rem | CeilDiv if y == 0 => return Err(FoldError::DivisionByZero),
                Div => x.wrapping_div(y),
                Rem => x.wrapping_rem(y),
                CeilDiv => (x + y - 1).wrapping_div(y),
                And => x & y,
                Or => x | y,
                Xor => x ^ y,
                Shl => x.wrapping_shl((y.rem_euclid(bits)) as u32),
                Shr => x >> (y.rem_euclid(bits)) as u32,
                Min => x.min(y),
                Max => x.max(y),
                _ => unreachable!(),
            };
            Ok(Literal::Int(match ty {
                Some(t) => wrap_int(v, t),
                None => v,
            }))
        }
        (Literal::Float(x), Literal::Float(y)) => {
            if is_cmp {
                return Ok(Literal::Bool(match x.partial_cmp(&y) {
                    Some(o) => cmp(o),
                    None => op == Ne,
                }));
            }
            let v = match op {
                Add => x + y,
                Sub => x - y,
                Mul => x * y,
                Div => x / y,
                Rem => x % y,
                Min => {
                    if x.is_nan() {
                        y
                    } else if y.is_nan() {
                        x
                    } else {
                        x.min(y)
                    }
                }
                Max => {
                    if x.is_nan() {
                        y
                    } else if y.is_nan() {
                        x
                    } else {
                        x.max(y)
                    }
                }
                _ => return Err(FoldError::NotFoldable),
            };
            Ok(Literal::Float(match ty {
                Some(t) => round_float(v, t),
                None => v,
            }))
        }
        (Literal::Bool(x), Literal::Bool(y)) => Ok(Literal::Bool(match op {
            And => x & y,
            Or => x | y,
            Xor | Ne => x ^ y,
            Eq => x == y,
            Lt => !x & y,
            Le => x <= y,
            Gt => x & !y,
            Ge => x >= y,
            _ => return Err(FoldError::NotFoldable),
        })),
        _ => Err(FoldError::NotFoldable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ScalarType::*;

    #[test]
    fn wrapping_and_fitting() {
        assert_eq!(wrap_int(300, U8), 44);
        assert_eq!(wrap_int(128, I8), -128);
        assert_eq!(wrap_int(-1, U32), 4294967295);
        assert!(int_fits(2147483647, I32));
        assert!(!int_fits(2147483648, I32));
    }

    #[test]
    fn conversions_follow_as() {
        assert_eq!(convert(Literal::Float(-2.7), I32), Literal::Int(-2));
        assert_eq!(convert(Literal::Float(1e20), I32), Literal::Int(2147483647));
        assert_eq!(convert(Literal::Float(f64::NAN), I32), Literal::Int(0));
        assert_eq!(convert(Literal::Int(3), F32), Literal::Float(3.0));
        assert_eq!(convert(Literal::Int(2), Bool), Literal::Bool(true));
    }

    #[test]
    fn folding() {
        let i = |v| Literal::Int(v);
        assert_eq!(fold_binary(FoldOp::Div, Some(I32), i(-7), i(2)), Ok(i(-3)));
        assert_eq!(fold_binary(FoldOp::Rem, Some(I32), i(-7), i(2)), Ok(i(-1)));
        assert_eq!(
            fold_binary(FoldOp::CeilDiv, Some(I32), i(1000), i(256)),
            Ok(i(4))
        );
        assert_eq!(
            fold_binary(FoldOp::Div, Some(I32), i(1), i(0)),
            Err(FoldError::DivisionByZero)
        );
        assert_eq!(
            fold_binary(FoldOp::Add, Some(I32), i(2147483647), i(1)),
            Ok(i(-2147483648))
        );
        assert_eq!(
            fold_binary(FoldOp::Lt, Some(I32), i(1), i(2)),
            Ok(Literal::Bool(true))
        );
    }
}
