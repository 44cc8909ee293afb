//! Padding: rounds every tile dim up to a power of two before scheduling, and masks the padding so
//! that no result depends on it.
//!
//! The checker allows any positive dim (a row of 100, a head dimension of 80), but the layouts
//! spread a tile over invocations in power-of-two blocks. Rather than teach every layout, plan
//! and emitter the difference, this pass rewrites the Lowered kernel into one whose tiles all have
//! power-of-two dims: a dim `n` becomes `n.next_power_of_two()`, the extra positions (padding)
//! come after the real ones along each dim, and every instruction whose result could see padding
//! is masked:
//!
//! - loads, stores and atomics at padding positions are masked off (a load gives `other`, 0 when
//!   absent, there);
//! - reductions combine the identity in place of padding along the reduced dims;
//! - `dot` zeroes both operands' padding along K, so the product never reads it;
//! - `device_assert` holds at padding positions.
//!
//! Everything else may compute garbage at padding positions, which no real result reads:
//! elementwise ops, broadcasts and permutes keep padding at padding positions, a scan along a dim
//! only reads earlier positions (padding comes last), and `reshape` is allowed by the checker only
//! between shapes whose padded row-major order keeps the real elements first
//! (`sema::elab::reshape_keeps_padding_last`). The interpreter runs the unpadded kernel.
//!
//! A kernel whose tiles are all powers of two is left exactly as it is.
use crate::base::{Literal, ScalarType};
use crate::ir::{BinaryOp, CmpOp, Inst, InstId, InstKind, Kernel, Region, Type, ValueId};

/// Rounds every tile of `kernel` up to power-of-two dims and masks the padding (module doc).
pub fn pad_tiles(kernel: &mut Kernel) {
    let padded = |ty: &Type| ty.shape.iter().any(|d| !d.is_power_of_two());
    let any = kernel
        .insts
        .iter()
        .any(|(_, i)| i.ty.as_ref().is_some_and(padded))
        || kernel.locals.iter().any(|(_, l)| padded(&l.ty));
    if !any {
        return;
    }
    // The real shapes, before rounding up: what the masks compare positions against.
    let real: Vec<Vec<u32>> = kernel
        .insts
        .iter()
        .map(|(_, i)| i.ty.as_ref().map_or(Vec::new(), |t| t.shape.clone()))
        .collect();
    for id in (0..kernel.insts.len()).map(InstId::new) {
        if let Some(ty) = kernel.insts[id].ty.as_mut() {
            round_up(&mut ty.shape);
        }
    }
    for id in (0..kernel.locals.len()).map(crate::ir::LocalId::new) {
        round_up(&mut kernel.locals[id].ty.shape);
    }
    let mut padder = Padder { kernel, real };
    let body = std::mem::take(&mut padder.kernel.body);
    padder.kernel.body = padder.region(body);
}

fn round_up(shape: &mut [u32]) {
    for d in shape {
        *d = d.next_power_of_two();
    }
}

struct Padder<'k> {
    kernel: &'k mut Kernel,
    /// The unpadded shape of each instruction that existed before padding.
    real: Vec<Vec<u32>>,
}

/// The instructions inserted before the one being rewritten, with its span.
struct Insert<'p, 'k> {
    padder: &'p mut Padder<'k>,
    at: InstId,
    out: &'p mut Vec<InstId>,
}

impl Insert<'_, '_> {
    fn push(&mut self, kind: InstKind, ty: Type) -> ValueId {
        let kernel = &mut *self.padder.kernel;
        let id = kernel.insts.alloc(Inst { kind, ty: Some(ty) });
        let span = kernel.span(self.at);
        kernel.spans.resize(id.index(), Default::default());
        kernel.spans.push(span);
        self.out.push(id);
        id
    }

    fn constant(&mut self, ty: ScalarType, lit: Literal) -> ValueId {
        self.push(InstKind::Const(lit), Type::scalar(ty))
    }

    fn splat(&mut self, scalar: ValueId, shape: &[u32]) -> ValueId {
        let ty = self.padder.kernel.ty(scalar).with_shape(shape.to_vec());
        self.push(InstKind::Splat(scalar), ty)
    }

    /// A bool tile of `shape` (padded) that is true at the positions that are real along every
    /// dim in `dims` (`real`: the unpadded shape); `None` when none of them is padded.
    fn real_positions(&mut self, shape: &[u32], real: &[u32], dims: &[usize]) -> Option<ValueId> {
        let mut mask: Option<ValueId> = None;
        let rank = shape.len();
        for &d in dims.iter().filter(|&&d| real[d] != shape[d]) {
            let index = self.push(
                InstKind::Arange { start: 0 },
                Type::tile(ScalarType::I32, vec![shape[d]]),
            );
            let limit = self.constant(ScalarType::I32, Literal::Int(real[d] as i128));
            let limit = self.splat(limit, &[shape[d]]);
            let mut inside = self.push(
                InstKind::Compare {
                    op: CmpOp::Lt,
                    lhs: index,
                    rhs: limit,
                },
                Type::tile(ScalarType::Bool, vec![shape[d]]),
            );
            let mut have = vec![shape[d]];
            for axis in (0..rank).filter(|&a| a != d) {
                have.insert(axis, 1);
                inside = self.push(
                    InstKind::ExpandDims {
                        value: inside,
                        axis: axis as u32,
                    },
                    Type::tile(ScalarType::Bool, have.clone()),
                );
            }
            if have != shape {
                inside = self.push(
                    InstKind::Broadcast(inside),
                    Type::tile(ScalarType::Bool, shape.to_vec()),
                );
            }
            mask = Some(match mask {
                None => inside,
                Some(m) => self.and(m, inside),
            });
        }
        mask
    }

    fn and(&mut self, lhs: ValueId, rhs: ValueId) -> ValueId {
        let ty = self.padder.kernel.ty(lhs).clone();
        self.push(
            InstKind::Binary {
                op: BinaryOp::And,
                lhs,
                rhs,
            },
            ty,
        )
    }

    /// `value` where `mask` holds, the splatted scalar `fill` elsewhere.
    fn select(&mut self, mask: ValueId, value: ValueId, fill: Literal) -> ValueId {
        let ty = self.padder.kernel.ty(value).clone();
        let scalar = ty.scalar_type().unwrap_or(ScalarType::I32);
        let fill = self.constant(scalar, fill);
        let fill = self.splat(fill, &ty.shape);
        self.push(
            InstKind::Select {
                cond: mask,
                on_true: value,
                on_false: fill,
            },
            ty,
        )
    }

    /// The mask of a memory access (`ptr`'s real positions, and `mask` when given).
    fn access_mask(&mut self, ptr: ValueId, mask: Option<ValueId>) -> Option<ValueId> {
        let (shape, real) = self.padder.shapes(ptr)?;
        let dims: Vec<usize> = (0..shape.len()).collect();
        let inside = self.real_positions(&shape, &real, &dims)?;
        Some(match mask {
            Some(m) => self.and(m, inside),
            None => inside,
        })
    }
}

impl Padder<'_> {
    /// The padded and the real shape of a value that existed before padding, when they differ.
    fn shapes(&self, value: ValueId) -> Option<(Vec<u32>, Vec<u32>)> {
        let real = self.real.get(value.index())?;
        let shape = &self.kernel.ty(value).shape;
        (shape != real).then(|| (shape.clone(), real.clone()))
    }

    /// True when `value` is (a conversion of) a load that gives zero where it is masked off,
    /// and so, once padded, zero at every padding position: a `dot` operand that needs no
    /// `select` (and keeps the form a cooperative `dot` recognises).
    fn zero_at_padding(&self, value: ValueId) -> bool {
        let kernel = &*self.kernel;
        let is_zero = |v: ValueId| {
            let v = match kernel.insts[v].kind {
                InstKind::Splat(s) => s,
                _ => v,
            };
            matches!(
                kernel.insts[v].kind,
                InstKind::Const(Literal::Int(0)) | InstKind::Const(Literal::Float(0.0))
            )
        };
        let mut v = value;
        loop {
            match &kernel.insts[v].kind {
                InstKind::Cast(inner) => v = *inner,
                InstKind::Load { other, .. } => return other.is_none_or(is_zero),
                _ => return false,
            }
        }
    }

    fn region(&mut self, region: Region) -> Region {
        let mut out = Vec::with_capacity(region.insts.len());
        for id in region.insts {
            self.inst(id, &mut out);
            out.push(id);
        }
        Region { insts: out }
    }

    /// Masks instruction `id`'s view of padding, inserting what it needs into `out`, and pads
    /// its nested regions.
    fn inst(&mut self, id: InstId, out: &mut Vec<InstId>) {
        let mut kind = std::mem::replace(&mut self.kernel.insts[id].kind, InstKind::Break);
        match &mut kind {
            InstKind::If {
                then_region,
                else_region,
                ..
            } => {
                *then_region = self.region(std::mem::take(then_region));
                *else_region = self.region(std::mem::take(else_region));
            }
            InstKind::For { body, .. } => {
                *body = self.region(std::mem::take(body));
            }
            InstKind::While {
                cond_region, body, ..
            } => {
                *cond_region = self.region(std::mem::take(cond_region));
                *body = self.region(std::mem::take(body));
            }
            _ => self.mask(&mut kind, id, out),
        }
        self.kernel.insts[id].kind = kind;
    }

    /// Masks what instruction `id` (of `kind`) reads at padding positions, inserting the masks
    /// into `out`.
    fn mask(&mut self, kind: &mut InstKind, id: InstId, out: &mut Vec<InstId>) {
        let mut at = Insert {
            padder: self,
            at: id,
            out,
        };
        match kind {
            InstKind::Load {
                ptr,
                mask,
                other: _,
            }
            | InstKind::Store { ptr, mask, .. } => {
                if let Some(m) = at.access_mask(*ptr, *mask) {
                    *mask = Some(m);
                }
            }
            InstKind::Atomic { ptr, mask, .. } => {
                if let Some(m) = at.access_mask(*ptr, *mask) {
                    *mask = Some(m);
                }
            }
            InstKind::Reduce { op, value, axis } => {
                if let Some((shape, real)) = at.padder.shapes(*value) {
                    let dims: Vec<usize> = match axis {
                        Some(a) => vec![*a as usize],
                        None => (0..shape.len()).collect(),
                    };
                    if let Some(inside) = at.real_positions(&shape, &real, &dims) {
                        let ty = at.padder.kernel.ty(*value).scalar_type();
                        let identity = op.identity(ty.unwrap_or(ScalarType::I32));
                        *value = at.select(inside, *value, identity);
                    }
                }
            }
            InstKind::Dot { a, b, .. } => {
                for (operand, k) in [(a, 1), (b, 0)] {
                    let Some((shape, real)) = at.padder.shapes(*operand) else {
                        continue;
                    };
                    if at.padder.zero_at_padding(*operand) {
                        continue;
                    }
                    if let Some(inside) = at.real_positions(&shape, &real, &[k]) {
                        *operand = at.select(inside, *operand, Literal::Float(0.0));
                    }
                }
            }
            InstKind::Assert { cond, .. } => {
                if let Some((shape, real)) = at.padder.shapes(*cond) {
                    let dims: Vec<usize> = (0..shape.len()).collect();
                    if let Some(inside) = at.real_positions(&shape, &real, &dims) {
                        // `cond` where real, true at padding.
                        let fill = Literal::Bool(true);
                        *cond = at.select(inside, *cond, fill);
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::pad_tiles;
    use crate::base::{Literal, ScalarType};
    use crate::ir::builder::Builder;
    use crate::ir::{verify, InstKind, Module, ParamKind, ReduceOp, Stage};

    /// `sum(load(x + arange(0, n)))` stored to `out`, a kernel with one tile of `n`.
    fn sum_of(n: u32) -> Module {
        let mut b = Builder::new("k");
        let pointer = |mutable| ParamKind::Pointer {
            pointee: ScalarType::F32,
            mutable,
        };
        b.add_param("x", pointer(false));
        b.add_param("out", pointer(true));
        let x = b.param(0);
        let out = b.param(1);
        let offs = b.arange(0, n);
        let xs = b.splat(x, vec![n]);
        let ptrs = b.ptr_offset(xs, offs);
        let v = b.load(ptrs, None, None);
        let s = b.reduce(ReduceOp::Sum, v, None);
        b.store(out, s, None);
        Module { kernel: b.finish() }
    }

    /// A kernel of powers of two is left exactly as it is.
    #[test]
    fn powers_of_two_are_untouched() {
        let module = sum_of(64);
        let mut padded = module.clone();
        pad_tiles(&mut padded.kernel);
        assert_eq!(padded, module);
    }

    /// A tile of 100 becomes one of 128 whose load is masked and whose sum reads the identity
    /// at padding positions; the result verifies as a kernel of power-of-two tiles.
    #[test]
    fn a_tile_of_100_is_padded_and_masked() {
        let mut module = sum_of(100);
        pad_tiles(&mut module.kernel);
        let k = &module.kernel;
        let shapes_are_powers_of_two = k
            .insts
            .iter()
            .filter_map(|(_, i)| i.ty.as_ref())
            .all(|t| t.shape.iter().all(|d| d.is_power_of_two()));
        assert!(shapes_are_powers_of_two);
        let mut load_masked = false;
        let mut sum_of_select = false;
        for &id in &k.body.insts {
            match &k.insts[id].kind {
                InstKind::Load { mask, .. } => load_masked = mask.is_some(),
                InstKind::Reduce { value, .. } => {
                    sum_of_select = matches!(k.insts[*value].kind, InstKind::Select { .. })
                }
                _ => {}
            }
        }
        assert!(load_masked && sum_of_select);
        let limit = k
            .insts
            .iter()
            .any(|(_, i)| i.kind == InstKind::Const(Literal::Int(100)));
        assert!(limit, "the mask compares against the real size");
        let mut laid_out = module.clone();
        laid_out.kernel.stage = Stage::LaidOut;
        // Only the missing schedule stops a LaidOut kernel now, not its shapes.
        let error = verify::verify(&laid_out).unwrap_err();
        assert!(!error.contains("power of two"), "{error}");
        assert_eq!(verify::verify(&module), Ok(()));
    }
}
