//! Atomics in the interpreter: program instances run one after another, so each unmasked,
//! in-bounds lane does its read-modify-write in lane order; masked and out-of-bounds lanes give 0
//! (out-of-bounds ones are recorded like stores).
use super::value::{Data, Value};
use super::{read_elements, write_element, Lane, Machine, Stop};
use crate::base::KernelArg;
use crate::ir::{AtomicOp, InstId};

impl Machine<'_> {
    pub(super) fn atomic(
        &mut self,
        id: InstId,
        op: AtomicOp,
        ptr: InstId,
        value: InstId,
        cmp: Option<InstId>,
        mask: Option<InstId>,
    ) -> Result<Value, Stop> {
        let (param, lanes) = self.lanes(id, ptr, mask, true)?;
        let values = self.get(value).data.clone();
        let cmps = cmp.map(|c| self.get(c).data.clone());
        if values.len() != lanes.len() {
            return Err(Stop::Invalid(
                id,
                "value and pointer differ in length".into(),
            ));
        }
        let shape = self.get(ptr).shape.clone();
        let Some(KernelArg::Buffer(buffer)) = self.args.get_mut(param) else {
            unreachable!("checked by lanes")
        };
        let elem = buffer.elem;
        let mut old = Data::zeros(elem, lanes.len());
        for (i, lane) in lanes.iter().enumerate() {
            let Lane::Access(index) = *lane else {
                continue;
            };
            // Read this one element now: an earlier lane may have changed it.
            let mut one = Data::zeros(elem, 1);
            read_elements(buffer, &[Lane::Access(index)], &mut one);
            let new = match (&one, &values) {
                (Data::Int(o), Data::Int(v)) => {
                    let (a, b) = (o[0], v[i]);
                    let c = match &cmps {
                        Some(Data::Int(c)) => c[i],
                        _ => 0,
                    };
                    // i32 and u32 values are held sign- or zero-extended; write_element keeps
                    // the low 32 bits, so wrapping in i64 is exact.
                    Data::Int(vec![match op {
                        AtomicOp::Add => a.wrapping_add(b),
                        AtomicOp::Max => a.max(b),
                        AtomicOp::Min => a.min(b),
                        AtomicOp::And => a & b,
                        AtomicOp::Or => a | b,
                        AtomicOp::Xor => a ^ b,
                        AtomicOp::Xchg => b,
                        AtomicOp::Cas => {
                            if a == c {
                                b
                            } else {
                                a
                            }
                        }
                    }])
                }
                (Data::F32(o), Data::F32(v)) => Data::F32(vec![match op {
                    AtomicOp::Add => o[0] + v[i],
                    AtomicOp::Xchg => v[i],
                    _ => return Err(Stop::Invalid(id, format!("atomic {op:?} on floats"))),
                }]),
                _ => return Err(Stop::Invalid(id, "atomic on this element type".into())),
            };
            write_element(buffer, index, &new, 0);
            old.set_from(i, &one, 0);
        }
        Ok(Value { data: old, shape })
    }
}
