//! The stable text form of the IR (`tkc build --emit ir`), used by snapshot tests.
//!
//! One line per instruction, `%N = op operands : type` (values are named by their arena index,
//! locals `$N`), nested regions indented by two spaces. In the Scheduled stage each value's layout
//! follows its type (`: f32[1024] #blocked<spt=[4], tpd=[128]>`) and each instruction's plan ends
//! its line (`!vector(4)`, `!shared(chunk = 2, scratch = 0..1024)`, `!cooperative`, ...); the
//! header shows the schedule's totals. The output depends only on the module, so it can be
//! compared as text.
use super::layout::{Blocked, Layout};
use super::schedule::{ConvertPlan, DotPlan, Plan, ReducePlan, ScanPlan, Scratch};
use super::*;
use std::fmt::{self, Write};

pub fn print(module: &Module) -> String {
    let kernel = &module.kernel;
    let mut out = String::new();
    header(kernel, &mut out);
    out.push_str(" {\n");
    for (id, local) in kernel.locals.iter() {
        let _ = write!(out, "  local ${} {}: {}", id.index(), local.name, local.ty);
        if let Some(layout) = kernel
            .schedule
            .as_ref()
            .and_then(|s| s.local_layouts.get(id.index()))
        {
            let _ = write!(out, " {layout}");
        }
        out.push('\n');
    }
    region(kernel, &kernel.body, 1, &mut out);
    out.push_str("}\n");
    out
}

/// A type as the printer and the verifier's messages show it: `f32`, `i32[4, 8]`, `*mut f16[64]`.
pub fn type_text(ty: &Type) -> String {
    ty.to_string()
}

fn header(kernel: &Kernel, out: &mut String) {
    let params: Vec<String> = kernel
        .params
        .iter()
        .map(|p| match p.kind {
            ParamKind::Pointer { pointee, mutable } => {
                format!(
                    "{}: *{}{pointee}",
                    p.name,
                    if mutable { "mut " } else { "" }
                )
            }
            ParamKind::Scalar(ty) => format!("{}: {ty}", p.name),
        })
        .collect();
    let _ = write!(out, "kernel {}({})", kernel.name, params.join(", "));
    if !kernel.consts.is_empty() {
        let consts: Vec<String> = kernel
            .consts
            .iter()
            .map(|(name, value)| format!("{name} = {}", literal_text(*value)))
            .collect();
        let _ = write!(out, " consts({})", consts.join(", "));
    }
    if let Some(grid) = &kernel.grid {
        let dims: Vec<String> = grid.iter().map(|g| grid_text(kernel, g)).collect();
        let _ = write!(out, " grid({})", dims.join(", "));
    }
    if let Some(threads) = kernel.threads {
        let _ = write!(out, " threads({threads})");
    }
    // The launch's promises (`driver::specialize`): `n % 16` says 16 divides n, `x.len % 16`
    // that 16 divides the element count of x's buffer.
    let promised: Vec<String> = kernel
        .params
        .iter()
        .enumerate()
        .filter(|&(i, _)| kernel.param_divisibility(i as u32) > 1)
        .map(|(i, p)| {
            let what = match p.kind {
                ParamKind::Pointer { .. } => format!("{}.len", p.name),
                ParamKind::Scalar(_) => p.name.clone(),
            };
            format!("{what} % {}", kernel.param_divisibility(i as u32))
        })
        .collect();
    if !promised.is_empty() {
        let _ = write!(out, " divisible({})", promised.join(", "));
    }
    if let Some(stages) = kernel.stages {
        let _ = write!(out, " stages({stages})");
    }
    if let Some(vector) = kernel.vector {
        let _ = write!(out, " vector({vector})");
    }
    if let Some(schedule) = &kernel.schedule {
        let _ = write!(
            out,
            " schedule(threads = {}, shared_bytes = {}, max_shared_bytes = {}",
            schedule.threads, schedule.shared_bytes, schedule.max_shared_bytes
        );
        if schedule.one_subgroup {
            out.push_str(", one_subgroup");
        }
        for stream in &schedule.streams {
            let _ = write!(
                out,
                ", stream %{}..%{} by {}",
                stream.first.index(),
                stream.last.index(),
                stream.registers
            );
        }
        if schedule.dot_bytes > 0 {
            let _ = write!(out, ", dot_bytes = {}", schedule.dot_bytes);
        }
        for contract in &schedule.contracts {
            let _ = write!(out, ", contract({contract})");
        }
        if let Some(coop) = &schedule.coop {
            let dots: Vec<String> = schedule
                .cooperative_dots()
                .iter()
                .map(|d| format!("%{}", d.index()))
                .collect();
            let _ = write!(
                out,
                ", cooperative_matrix = {}x{}x{} for {} (halves = {}, floats = {}",
                coop.m,
                coop.n,
                coop.k,
                dots.join(", "),
                coop.halves,
                coop.floats
            );
            if coop.vectors > 0 {
                let _ = write!(out, ", vectors = {}", coop.vectors);
            }
            out.push(')');
        }
        out.push(')');
    }
}

fn literal_text(lit: Literal) -> String {
    match lit {
        Literal::Bool(b) => b.to_string(),
        Literal::Int(i) => i.to_string(),
        // `{:?}` keeps a `.0` on whole numbers and spells inf and NaN.
        Literal::Float(f) => format!("{f:?}"),
    }
}

fn grid_text(kernel: &Kernel, expr: &GridExpr) -> String {
    let nested = |e: &GridExpr| match e {
        GridExpr::Add(..)
        | GridExpr::Sub(..)
        | GridExpr::Mul(..)
        | GridExpr::Div(..)
        | GridExpr::Rem(..) => format!("({})", grid_text(kernel, e)),
        _ => grid_text(kernel, e),
    };
    let infix = |a: &GridExpr, op: &str, b: &GridExpr| format!("{} {op} {}", nested(a), nested(b));
    let call = |name: &str, a: &GridExpr, b: &GridExpr| {
        format!("{name}({}, {})", grid_text(kernel, a), grid_text(kernel, b))
    };
    match expr {
        GridExpr::Const(v) => v.to_string(),
        GridExpr::Param(n) => match kernel.params.get(*n as usize) {
            Some(p) => p.name.clone(),
            None => format!("param{n}"),
        },
        GridExpr::Add(a, b) => infix(a, "+", b),
        GridExpr::Sub(a, b) => infix(a, "-", b),
        GridExpr::Mul(a, b) => infix(a, "*", b),
        GridExpr::Div(a, b) => infix(a, "/", b),
        GridExpr::Rem(a, b) => infix(a, "%", b),
        GridExpr::CeilDiv(a, b) => call("cdiv", a, b),
        GridExpr::Min(a, b) => call("minimum", a, b),
        GridExpr::Max(a, b) => call("maximum", a, b),
    }
}

fn indent(depth: usize, out: &mut String) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

fn region(kernel: &Kernel, region: &Region, depth: usize, out: &mut String) {
    for &id in &region.insts {
        inst(kernel, id, depth, out);
    }
}

fn v(id: ValueId) -> String {
    format!("%{}", id.index())
}

fn inst(kernel: &Kernel, id: InstId, depth: usize, out: &mut String) {
    let inst = &kernel.insts[id];
    indent(depth, out);
    if inst.ty.is_some() {
        let _ = write!(out, "%{} = ", id.index());
    }
    let body = match &inst.kind {
        InstKind::Const(lit) => format!("const {}", literal_text(*lit)),
        InstKind::Param(n) => format!("param {n}"),
        InstKind::ProgramId(axis) => format!("program_id {axis}"),
        InstKind::NumPrograms(axis) => format!("num_programs {axis}"),
        InstKind::Arange { start } => format!("arange {start}"),
        InstKind::Splat(x) => format!("splat {}", v(*x)),
        InstKind::Broadcast(x) => format!("broadcast {}", v(*x)),
        InstKind::ExpandDims { value, axis } => format!("expand_dims {}, axis {axis}", v(*value)),
        InstKind::Unary { op, value } => format!("{op} {}", v(*value)),
        InstKind::Binary { op, lhs, rhs } => format!("{op} {}, {}", v(*lhs), v(*rhs)),
        InstKind::Compare { op, lhs, rhs } => format!("cmp {op} {}, {}", v(*lhs), v(*rhs)),
        InstKind::Select {
            cond,
            on_true,
            on_false,
        } => format!("select {}, {}, {}", v(*cond), v(*on_true), v(*on_false)),
        InstKind::Cast(x) => format!("cast {}", v(*x)),
        InstKind::Bitcast(x) => format!("bitcast {}", v(*x)),
        InstKind::Fma { a, b, c } => format!("fma {}, {}, {}", v(*a), v(*b), v(*c)),
        InstKind::Reshape(x) => format!("reshape {}", v(*x)),
        InstKind::Permute { value, perm } => format!("permute {}, {perm:?}", v(*value)),
        InstKind::Dot { a, b, acc } => format!("dot {}, {}, acc {}", v(*a), v(*b), v(*acc)),
        InstKind::PtrOffset { ptr, offset } => format!("ptr_offset {}, {}", v(*ptr), v(*offset)),
        InstKind::Load { ptr, mask, other } => {
            let mut text = format!("load {}", v(*ptr));
            if let Some(m) = mask {
                let _ = write!(text, ", mask {}", v(*m));
            }
            if let Some(o) = other {
                let _ = write!(text, ", other {}", v(*o));
            }
            text
        }
        InstKind::Store { ptr, value, mask } => {
            let mut text = format!("store {}, {}", v(*ptr), v(*value));
            if let Some(m) = mask {
                let _ = write!(text, ", mask {}", v(*m));
            }
            text
        }
        InstKind::Atomic {
            op,
            ptr,
            value,
            cmp,
            mask,
        } => {
            let mut text = format!("atomic {} {}", atomic_name(*op), v(*ptr));
            if let Some(c) = cmp {
                let _ = write!(text, ", cmp {}", v(*c));
            }
            let _ = write!(text, ", {}", v(*value));
            if let Some(m) = mask {
                let _ = write!(text, ", mask {}", v(*m));
            }
            text
        }
        InstKind::Reduce { op, value, axis } => match axis {
            Some(a) => format!("reduce {op} {}, axis {a}", v(*value)),
            None => format!("reduce {op} {}", v(*value)),
        },
        InstKind::Scan { op, value, axis } => format!("scan {op} {}, axis {axis}", v(*value)),
        InstKind::ConvertLayout(x) => format!("convert_layout {}", v(*x)),
        InstKind::LocalGet(local) => format!("local_get ${}", local.index()),
        InstKind::LocalSet { local, value } => {
            format!("local_set ${}, {}", local.index(), v(*value))
        }
        InstKind::If {
            cond,
            then_region,
            else_region,
        } => {
            let _ = writeln!(out, "if {} {{", v(*cond));
            region(kernel, then_region, depth + 1, out);
            if !else_region.insts.is_empty() {
                indent(depth, out);
                out.push_str("} else {\n");
                region(kernel, else_region, depth + 1, out);
            }
            indent(depth, out);
            out.push_str("}\n");
            return;
        }
        InstKind::For {
            var,
            start,
            end,
            step,
            body,
        } => {
            let _ = writeln!(
                out,
                "for ${} in {}..{} step {} {{",
                var.index(),
                v(*start),
                v(*end),
                v(*step)
            );
            region(kernel, body, depth + 1, out);
            indent(depth, out);
            out.push_str("}\n");
            return;
        }
        InstKind::While {
            cond_region,
            cond,
            body,
        } => {
            out.push_str("while {\n");
            region(kernel, cond_region, depth + 1, out);
            indent(depth, out);
            let _ = writeln!(out, "}} test {} {{", v(*cond));
            region(kernel, body, depth + 1, out);
            indent(depth, out);
            out.push_str("}\n");
            return;
        }
        InstKind::Break => "break".to_string(),
        InstKind::Continue => "continue".to_string(),
        InstKind::Return => "return".to_string(),
        InstKind::Assert { cond, message } => format!("assert {}, {message:?}", v(*cond)),
        InstKind::Print { label, value } => match value {
            Some(x) => format!("print {label:?}, {}", v(*x)),
            None => format!("print {label:?}"),
        },
    };
    out.push_str(&body);
    if let Some(ty) = &inst.ty {
        let _ = write!(out, " : {ty}");
        let layout = kernel
            .schedule
            .as_ref()
            .and_then(|s| s.layouts.get(id.index()))
            .and_then(|l| l.as_ref());
        if let Some(layout) = layout {
            let _ = write!(out, " {layout}");
        }
    }
    if let Some(plan) = kernel.schedule.as_ref().and_then(|s| s.plan(id)) {
        let _ = write!(out, " {plan}");
    }
    out.push('\n');
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.elem {
            Elem::Scalar(t) => write!(f, "{t}")?,
            Elem::Ptr {
                pointee, mutable, ..
            } => write!(f, "*{}{pointee}", if mutable { "mut " } else { "" })?,
        }
        if !self.shape.is_empty() {
            write!(f, "{:?}", self.shape)?;
        }
        Ok(())
    }
}

fn blocked_fields(b: &Blocked) -> String {
    format!("spt={:?}, tpd={:?}", b.size_per_thread, b.threads_per_dim)
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Layout::Uniform => write!(f, "#uniform"),
            Layout::Blocked(b) => write!(f, "#blocked<{}>", blocked_fields(b)),
            Layout::Slice { parent, dim } => write!(
                f,
                "#slice<dim={dim}, parent={:?}, {}>",
                parent.shape,
                blocked_fields(parent)
            ),
            Layout::Cooperative(c) => write!(
                f,
                "#cooperative<tile={}x{}, subgroups={}x{}, tiles={}x{}>",
                c.tile[0],
                c.tile[1],
                c.subgroups[0],
                c.subgroups[1],
                c.tiles()[0],
                c.tiles()[1]
            ),
        }
    }
}

fn scratch_text(scratch: &Scratch) -> String {
    format!("scratch = {}..{}", scratch.offset, scratch.end())
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // What is proven of each vector follows its width: `unaligned` when the emitter
            // checks alignment at run time, `one mask` and `whole` (the buffer holds whole
            // vectors) when one condition serves each vector.
            Plan::Access(access) => {
                write!(f, "!vector({}", access.vector)?;
                if access.vector > 1 {
                    if !access.aligned {
                        write!(f, ", unaligned")?;
                    }
                    if access.one_mask {
                        write!(f, ", one mask")?;
                    }
                    if access.whole_vectors {
                        write!(f, ", whole")?;
                    }
                }
                write!(f, ")")?;
                if access.proven {
                    write!(f, " !proven")?;
                }
                Ok(())
            }
            Plan::Reduce(ReducePlan::Registers)
            | Plan::Scan(ScanPlan::Registers)
            | Plan::Dot(DotPlan::Registers)
            | Plan::Convert(ConvertPlan::Registers) => write!(f, "!registers"),
            Plan::Reduce(ReducePlan::Subgroup) | Plan::Scan(ScanPlan::Subgroup) => {
                write!(f, "!subgroup")
            }
            Plan::Reduce(ReducePlan::Shared { chunk, scratch }) => {
                write!(f, "!shared(chunk = {chunk}, {})", scratch_text(scratch))
            }
            Plan::Reduce(ReducePlan::Subgroups { chunk, scratch }) => {
                write!(f, "!subgroups(chunk = {chunk}, {})", scratch_text(scratch))
            }
            Plan::Scan(ScanPlan::Shared(scratch))
            | Plan::Convert(ConvertPlan::Shared(scratch))
            | Plan::Staged(scratch) => write!(f, "!shared({})", scratch_text(scratch)),
            Plan::Dot(DotPlan::Staged(s)) => write!(
                f,
                "!staged(a_row_stride = {}, b_row_stride = {}, k_unroll = {}, vector = {}, \
                 stages = {}, dot = {}..{})",
                s.a_row_stride,
                s.b_row_stride,
                s.k_unroll,
                s.vector,
                s.stages,
                s.region.offset,
                s.region.end()
            ),
            Plan::Dot(DotPlan::Broadcast) => write!(f, "!broadcast"),
            Plan::Dot(DotPlan::Cooperative) => write!(f, "!cooperative"),
            Plan::Convert(ConvertPlan::Cooperative { rows }) => {
                write!(f, "!cooperative(rows = {rows})")
            }
            Plan::Dot(DotPlan::CooperativeTiles(c)) => write!(
                f,
                "!cooperative_tiles(a_row_stride = {}, b_row_stride = {}, stages = {}, \
                 halves = {}..{})",
                c.a_row_stride,
                c.b_row_stride,
                c.stages,
                c.region.offset,
                c.region.end()
            ),
        }
    }
}

impl fmt::Display for UnaryOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UnaryOp::Neg => "neg",
            UnaryOp::Not => "not",
            UnaryOp::BitNot => "bitnot",
            UnaryOp::Abs => "abs",
            UnaryOp::Exp => "exp",
            UnaryOp::Exp2 => "exp2",
            UnaryOp::Log => "log",
            UnaryOp::Log2 => "log2",
            UnaryOp::Sqrt => "sqrt",
            UnaryOp::Rsqrt => "rsqrt",
            UnaryOp::Sin => "sin",
            UnaryOp::Cos => "cos",
            UnaryOp::Tanh => "tanh",
            UnaryOp::Erf => "erf",
            UnaryOp::Floor => "floor",
            UnaryOp::Ceil => "ceil",
            UnaryOp::Round => "round",
            UnaryOp::Sigmoid => "sigmoid",
        })
    }
}

impl fmt::Display for BinaryOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::Div => "div",
            BinaryOp::Rem => "rem",
            BinaryOp::And => "and",
            BinaryOp::Or => "or",
            BinaryOp::Xor => "xor",
            BinaryOp::Shl => "shl",
            BinaryOp::Shr => "shr",
            BinaryOp::Min => "min",
            BinaryOp::Max => "max",
            BinaryOp::Pow => "pow",
            BinaryOp::MulHi => "mulhi",
        })
    }
}

impl fmt::Display for CmpOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CmpOp::Eq => "eq",
            CmpOp::Ne => "ne",
            CmpOp::Lt => "lt",
            CmpOp::Le => "le",
            CmpOp::Gt => "gt",
            CmpOp::Ge => "ge",
        })
    }
}

impl fmt::Display for ReduceOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReduceOp::Sum => "sum",
            ReduceOp::Prod => "prod",
            ReduceOp::Max => "max",
            ReduceOp::Min => "min",
        })
    }
}

impl fmt::Display for ScanOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ScanOp::Sum => "sum",
            ScanOp::Prod => "prod",
        })
    }
}

/// The printed name of an atomic operation.
pub fn atomic_name(op: crate::ir::AtomicOp) -> &'static str {
    use crate::ir::AtomicOp::*;
    match op {
        Add => "add",
        Max => "max",
        Min => "min",
        And => "and",
        Or => "or",
        Xor => "xor",
        Xchg => "xchg",
        Cas => "cas",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::builder::Builder;

    #[test]
    fn prints_a_small_kernel() {
        let mut b = Builder::new("scale");
        let x = b.add_param(
            "x",
            ParamKind::Pointer {
                pointee: ScalarType::F32,
                mutable: true,
            },
        );
        let n = b.add_param("n", ParamKind::Scalar(ScalarType::I32));
        let acc = b.add_local("i", Type::scalar(ScalarType::I32));
        let x = b.param(x);
        let n = b.param(n);
        let zero = b.const_i32(0);
        let one = b.const_i32(1);
        b.begin_region();
        let i = b.local_get(acc);
        let p = b.ptr_offset(x, i);
        let lanes = b.arange(0, 4);
        let lanes = b.cast(lanes, ScalarType::F32);
        let total = b.reduce(ReduceOp::Sum, lanes, None);
        let half = b.const_f32(0.5);
        let scaled = b.binary(BinaryOp::Mul, total, half);
        let positive = b.compare(CmpOp::Gt, scaled, half);
        b.begin_region();
        b.store(p, scaled, None);
        b.push(InstKind::Break, None);
        let then_region = b.end_region();
        b.push(
            InstKind::If {
                cond: positive,
                then_region,
                else_region: Region::default(),
            },
            None,
        );
        let body = b.end_region();
        b.push(
            InstKind::For {
                var: acc,
                start: zero,
                end: n,
                step: one,
                body,
            },
            None,
        );
        let mut kernel = b.finish();
        kernel.consts = vec![("BLOCK".into(), Literal::Int(4))];
        kernel.grid = Some(vec![GridExpr::CeilDiv(
            Box::new(GridExpr::Param(1)),
            Box::new(GridExpr::Const(4)),
        )]);
        let module = Module { kernel };
        assert_eq!(crate::ir::verify::verify(&module), Ok(()));
        let expected = "\
kernel scale(x: *mut f32, n: i32) consts(BLOCK = 4) grid(cdiv(n, 4)) {
  local $0 i: i32
  %0 = param 0 : *mut f32
  %1 = param 1 : i32
  %2 = const 0 : i32
  %3 = const 1 : i32
  for $0 in %2..%1 step %3 {
    %4 = local_get $0 : i32
    %5 = ptr_offset %0, %4 : *mut f32
    %6 = arange 0 : i32[4]
    %7 = cast %6 : f32[4]
    %8 = reduce sum %7 : f32
    %9 = const 0.5 : f32
    %10 = mul %8, %9 : f32
    %11 = cmp gt %10, %9 : bool
    if %11 {
      store %5, %10
      break
    }
  }
}
";
        assert_eq!(print(&module), expected);
    }

    #[test]
    fn prints_layouts_and_plans_when_scheduled() {
        let module = crate::ir::test_kernels::hand_scheduled_sum();
        assert_eq!(crate::ir::verify::verify(&module), Ok(()));
        assert_eq!(
            print(&module),
            "kernel k() schedule(threads = 128, shared_bytes = 512, max_shared_bytes = 16384) {\n  \
             %0 = arange 0 : i32[512] #blocked<spt=[4], tpd=[128]>\n  \
             %1 = reduce sum %0 : i32 #uniform !shared(chunk = 1, scratch = 0..512)\n}\n"
        );
    }
}
