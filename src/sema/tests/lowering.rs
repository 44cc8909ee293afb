//! The builtin table drives lowering: every builtin in `builtins::BUILTINS`, called once, adds the
//! IR operation its `Lowering` names (`exp(v)` a `Unary` with `UnaryOp::Exp`, `maximum(i, i)` a
//! `Binary` with `BinaryOp::Max`, …), and one that cannot be lowered yet reports E0601.
use super::{all_kinds, check_src, lower_src};
use crate::base::Literal;
use crate::ir::{BinaryOp, InstKind, ReduceOp};
use crate::sema::builtins::{Builtin, Lowering, Rearrange, BUILTINS};
use crate::sema::lower;

/// Values of every kind a builtin takes: `v`, `w` f32[16], `a` f32[16, 16], `i` i32[16],
/// `c` bool[16]; `x` is read-only, `y` and `p` writable.
const PRELUDE: &str = "
kernel k(x: *f32, y: *mut f32, p: *mut i32) {
    let offs = arange(0, 16);
    let v = load(x + offs);
    let w = load(x + offs + 16);
    let a = load(x + offs[:, None] * 16 + offs[None, :]);
    let i = load(p + offs);
    let c = v > w;
";

/// Whether an instruction is (part of) what a lowering names.
type Probe = Box<dyn Fn(&InstKind) -> bool>;

/// A call of `builtin` on the prelude's values, and the instructions it must add: each probe
/// matches more instructions of the kernel with the call than without it. `None` for a builtin
/// that cannot be lowered yet.
fn call_and_probes(builtin: &Builtin) -> Option<(String, Vec<Probe>)> {
    let name = builtin.name;
    let call = |args: &str| format!("{name}({args})");
    Some(match builtin.lowering {
        Lowering::ProgramId => (
            call("0"),
            vec![Box::new(|k| matches!(k, InstKind::ProgramId(0)))],
        ),
        Lowering::NumPrograms => (
            call("0"),
            vec![Box::new(|k| matches!(k, InstKind::NumPrograms(0)))],
        ),
        Lowering::Arange => (
            call("0, 16"),
            vec![Box::new(|k| matches!(k, InstKind::Arange { .. }))],
        ),
        Lowering::Zeros => (call("[16], f32"), vec![splat()]),
        Lowering::Full => (call("[16], 2.0, f32"), vec![splat()]),
        Lowering::ZerosLike => (call("v"), vec![splat()]),
        Lowering::FullLike => (call("v, 2.0"), vec![splat()]),
        Lowering::Load => (
            call("x + offs"),
            vec![Box::new(|k| matches!(k, InstKind::Load { .. }))],
        ),
        Lowering::Store => (
            call("y + offs, v"),
            vec![Box::new(|k| matches!(k, InstKind::Store { .. }))],
        ),
        Lowering::Atomic(op) => {
            let args = if op == crate::ir::AtomicOp::Cas {
                "p + offs, i, i"
            } else {
                "p + offs, i"
            };
            (
                call(args),
                vec![Box::new(
                    move |k| matches!(k, InstKind::Atomic { op: o, .. } if *o == op),
                )],
            )
        }
        Lowering::Unary(op) => (
            call("v"),
            vec![Box::new(
                move |k| matches!(k, InstKind::Unary { op: o, .. } if *o == op),
            )],
        ),
        Lowering::Binary(op) => {
            // `pow` takes floats, `umulhi` ints; `maximum` and `minimum` take either.
            let args = if op == BinaryOp::Pow { "v, w" } else { "i, i" };
            (call(args), vec![binary(op)])
        }
        Lowering::CeilDiv => (call("i, i"), vec![binary(BinaryOp::Div)]),
        Lowering::Clamp => (
            call("v, w, w"),
            vec![binary(BinaryOp::Max), binary(BinaryOp::Min)],
        ),
        Lowering::Fma => (
            call("v, w, v"),
            vec![Box::new(|k| matches!(k, InstKind::Fma { .. }))],
        ),
        Lowering::Where => (
            call("c, v, w"),
            vec![Box::new(|k| matches!(k, InstKind::Select { .. }))],
        ),
        Lowering::Bitcast => (
            call("v, i32"),
            vec![Box::new(|k| matches!(k, InstKind::Bitcast(_)))],
        ),
        Lowering::Reduce(op) => (call("a, axis: 1"), vec![reduce(op)]),
        Lowering::ArgReduce(op) => (call("a, axis: 1"), vec![reduce(op), reduce(ReduceOp::Min)]),
        Lowering::Scan(op) => (
            call("v"),
            vec![Box::new(
                move |k| matches!(k, InstKind::Scan { op: o, .. } if *o == op),
            )],
        ),
        Lowering::Dot => (
            call("a, a"),
            vec![Box::new(|k| matches!(k, InstKind::Dot { .. }))],
        ),
        Lowering::Rearrange(op) => match op {
            Rearrange::Reshape => (call("a, [256]"), vec![reshape()]),
            Rearrange::Ravel => (call("a"), vec![reshape()]),
            Rearrange::Trans => (call("a"), vec![permute()]),
            Rearrange::Permute => (call("a, [1, 0]"), vec![permute()]),
            Rearrange::Join => (
                call("v, w"),
                vec![Box::new(|k| matches!(k, InstKind::Select { .. }))],
            ),
        },
        Lowering::BroadcastTo => (
            call("v, [16, 16]"),
            vec![Box::new(|k| matches!(k, InstKind::Broadcast(_)))],
        ),
        Lowering::ExpandDims => (
            call("v, 0"),
            vec![Box::new(|k| matches!(k, InstKind::ExpandDims { .. }))],
        ),
        // Checked at compile time: no instruction (the probe test checks the count is unchanged).
        Lowering::Hint => (call("i, 16"), Vec::new()),
        Lowering::StaticAssert => (call("1 == 1, \"holds\""), Vec::new()),
        Lowering::DeviceAssert => (
            call("c, \"checked\""),
            vec![Box::new(|k| matches!(k, InstKind::Assert { .. }))],
        ),
        Lowering::Print => (
            call("\"v\", v"),
            vec![Box::new(|k| matches!(k, InstKind::Print { .. }))],
        ),
        Lowering::NotYet => return None,
    })
}

fn splat() -> Probe {
    Box::new(|k| matches!(k, InstKind::Splat(_)))
}
fn binary(op: BinaryOp) -> Probe {
    Box::new(move |k| matches!(k, InstKind::Binary { op: o, .. } if *o == op))
}
fn reduce(op: ReduceOp) -> Probe {
    Box::new(move |k| matches!(k, InstKind::Reduce { op: o, .. } if *o == op))
}
fn reshape() -> Probe {
    Box::new(|k| matches!(k, InstKind::Reshape(_)))
}
fn permute() -> Probe {
    Box::new(|k| matches!(k, InstKind::Permute { .. }))
}

/// The instruction kinds of the prelude kernel with `stmt` as its last statement.
fn kinds_with(stmt: &str) -> Vec<InstKind> {
    let src = format!("{PRELUDE}    {stmt}\n}}\n");
    all_kinds(&lower_src(&src, "k", &[]).kernel)
}

#[test]
fn every_builtin_reaches_the_operation_its_table_entry_names() {
    let without = kinds_with("");
    for builtin in BUILTINS {
        let Some((call, probes)) = call_and_probes(builtin) else {
            // Not lowered yet: the call is refused with E0601, never compiled to something else.
            let args = vec!["v"; builtin.params.iter().filter(|p| p.required).count()];
            let src = format!("{PRELUDE}    {}({});\n}}\n", builtin.name, args.join(", "));
            let (checked, diags, _) = check_src(&src);
            let (_, lowered) = lower(&checked, "k", &[] as &[(String, Literal)]);
            assert!(
                diags
                    .iter()
                    .chain(lowered.iter())
                    .any(|d| d.code == "E0601"),
                "`{}` is not lowered but reports no E0601",
                builtin.name
            );
            continue;
        };
        let with = kinds_with(&format!("{call};"));
        if probes.is_empty() {
            assert_eq!(
                with.len(),
                without.len(),
                "`{call}` should add no instruction"
            );
        }
        for (n, probe) in probes.iter().enumerate() {
            let count = |kinds: &[InstKind]| kinds.iter().filter(|k| probe(k)).count();
            assert!(
                count(&with) > count(&without),
                "`{call}` does not emit the operation {n} its lowering {:?} names",
                builtin.lowering
            );
        }
    }
}
