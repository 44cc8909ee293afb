//! Integer expressions as sums of products (`Sum`), in exact arithmetic: how `passes::bounds`
//! rewrites an access's index around a mask whose limit moves with the loop
//! (`abi::contract::Rearranged`).
use crate::abi::contract::{Expr, Op};
use std::collections::BTreeMap;

/// A product of factors, sorted. A factor is an expression that is not a sum, difference or
/// product: a scalar argument, a program coordinate, the lanes of an `arange`, a loop variable,
/// or a quotient, remainder, minimum or maximum taken whole.
pub(super) type Product = Vec<Expr>;

/// More terms than this and the rewrite gives up (it proves less, never something false).
const MAX_TERMS: usize = 64;

/// A sum of products with integer coefficients (none zero).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Sum(BTreeMap<Product, i128>);

impl Sum {
    /// `e` expanded into a sum of products (`None` past `MAX_TERMS` or an overflowing
    /// coefficient).
    pub fn of(e: &Expr) -> Option<Sum> {
        match e {
            Expr::Const(c) => Some(Sum::constant(*c as i128)),
            Expr::Binary { op, lhs, rhs, .. } => {
                let (a, b) = (Sum::of(lhs), Sum::of(rhs));
                match op {
                    Op::Add => a?.plus(&b?, 1),
                    Op::Sub => a?.plus(&b?, -1),
                    Op::Mul => a?.times(&b?),
                    Op::Div | Op::Rem | Op::Min | Op::Max => Some(Sum::factor(e.clone())),
                }
            }
            other => Some(Sum::factor(other.clone())),
        }
    }

    fn constant(c: i128) -> Sum {
        let mut terms = BTreeMap::new();
        if c != 0 {
            terms.insert(Vec::new(), c);
        }
        Sum(terms)
    }

    fn factor(e: Expr) -> Sum {
        Sum(BTreeMap::from([(vec![e], 1)]))
    }

    /// `self + sign * other`.
    pub fn plus(&self, other: &Sum, sign: i128) -> Option<Sum> {
        let mut terms = self.0.clone();
        for (product, c) in &other.0 {
            let entry = terms.entry(product.clone()).or_insert(0);
            *entry = entry.checked_add(c.checked_mul(sign)?)?;
            if *entry == 0 {
                terms.remove(product);
            }
        }
        (terms.len() <= MAX_TERMS).then_some(Sum(terms))
    }

    fn times(&self, other: &Sum) -> Option<Sum> {
        let mut sum = Sum::default();
        for (p, c) in &self.0 {
            for (q, d) in &other.0 {
                let mut product: Product = p.iter().chain(q).cloned().collect();
                product.sort();
                let term = Sum(BTreeMap::from([(product, c.checked_mul(*d)?)]));
                sum = sum.plus(&term, 1)?;
            }
        }
        Some(sum)
    }

    /// `self` times `coefficient` and the factors of `product`.
    pub fn scaled(&self, product: &[Expr], coefficient: i128) -> Option<Sum> {
        let term = Sum(BTreeMap::from([(product.to_vec(), coefficient)]));
        self.times(&term)
    }

    /// The terms whose every factor satisfies `keep`, and the others.
    pub fn split(&self, keep: impl Fn(&Expr) -> bool) -> (Sum, Sum) {
        let (kept, rest): (BTreeMap<_, _>, BTreeMap<_, _>) = self
            .0
            .iter()
            .map(|(p, c)| (p.clone(), *c))
            .partition(|(p, _)| p.iter().all(&keep));
        (Sum(kept), Sum(rest))
    }

    pub fn terms(&self) -> impl Iterator<Item = (&Product, i128)> {
        self.0.iter().map(|(p, c)| (p, *c))
    }

    /// Each term as one expression.
    pub fn term_exprs(&self) -> impl Iterator<Item = Expr> + '_ {
        self.terms().map(|(p, c)| product_expr(p, c))
    }

    /// The sum as one expression (64-bit nodes: the kernel never computes it as written).
    pub fn to_expr(&self) -> Expr {
        sum_expr(self.term_exprs()).unwrap_or(Expr::Const(0))
    }
}

/// `coefficient` times the factors of `product`, as one expression.
pub(super) fn product_expr(product: &[Expr], coefficient: i128) -> Expr {
    let constant = Expr::Const(coefficient.clamp(i64::MIN as i128, i64::MAX as i128) as i64);
    let mut factors = product.iter().cloned();
    let Some(first) = factors.next() else {
        return constant;
    };
    let product = factors.fold(first, |p, f| binary(Op::Mul, p, f));
    if coefficient == 1 {
        product
    } else {
        binary(Op::Mul, constant, product)
    }
}

/// The sum of `terms` as one expression (`None` without terms).
pub(super) fn sum_expr(terms: impl Iterator<Item = Expr>) -> Option<Expr> {
    terms.reduce(|sum, term| binary(Op::Add, sum, term))
}

/// The factors of `product` left once those of `part` are taken out, if it holds them all.
pub(super) fn without(product: &[Expr], part: &[Expr]) -> Option<Product> {
    let mut rest = product.to_vec();
    for factor in part {
        let at = rest.iter().position(|f| f == factor)?;
        rest.remove(at);
    }
    Some(rest)
}

pub(super) fn binary(op: Op, lhs: Expr, rhs: Expr) -> Expr {
    Expr::Binary {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
        bits: 64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(name: &str) -> Expr {
        Expr::Scalar {
            param: 0,
            name: name.into(),
        }
    }

    #[test]
    fn products_distribute_over_sums_and_cancel() {
        // (a + 2) * s - 2 * s = a * s
        let a = Expr::ProgramId(0);
        let e = binary(
            Op::Sub,
            binary(
                Op::Mul,
                binary(Op::Add, a.clone(), Expr::Const(2)),
                scalar("s"),
            ),
            binary(Op::Mul, Expr::Const(2), scalar("s")),
        );
        let sum = Sum::of(&e).unwrap();
        assert_eq!(sum.to_expr().to_string(), "s * program_id(0)");
        let mut factors = vec![a, scalar("s")];
        factors.sort();
        assert_eq!(sum.terms().collect::<Vec<_>>(), vec![(&factors, 1)]);
    }
}
