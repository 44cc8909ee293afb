//! Emission tests: kernels built with the IR builder, scheduled, emitted, and validated with
//! `spirv-val` for Vulkan 1.1 and 1.2.
use super::*;
use crate::base::ScalarType::{self, *};
use crate::ir::builder::Builder;
use crate::ir::{BinaryOp, CmpOp, ParamKind, ReduceOp, Type, UnaryOp};
use std::process::Command;

/// Runs `spirv-val` for both target environments; panics with its output on any error.
pub fn validate(words: &[u32], name: &str) {
    let dir = std::env::temp_dir().join("tk-spirv-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-{}.spv", std::process::id()));
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    std::fs::write(&path, bytes).unwrap();
    for env in ["vulkan1.1", "vulkan1.2"] {
        let out = Command::new("spirv-val")
            .arg("--target-env")
            .arg(env)
            .arg(&path)
            .output()
            .expect("spirv-val is installed");
        if !out.status.success() {
            let dis = Command::new("spirv-dis").arg(&path).output().unwrap();
            panic!(
                "spirv-val ({env}) rejected {name}:\n{}{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&dis.stdout)
            );
        }
    }
    let _ = std::fs::remove_file(&path);
}

/// Schedules and emits a kernel (safe and unchecked), validating both.
pub fn compile(kernel: crate::ir::Kernel, safe: bool) -> Artifact {
    let name = kernel.name.clone();
    let module = crate::passes::run(ir::Module { kernel }, &Target::portable()).expect("schedule");
    let unchecked = emit(&module, &Target::portable(), &EmitOptions { safe: !safe }).expect("emit");
    validate(&unchecked.words, &format!("{name}-alt"));
    let art = emit(&module, &Target::portable(), &EmitOptions { safe }).expect("emit");
    validate(&art.words, &name);
    art
}

fn ptr(b: &mut Builder, name: &str, ty: ScalarType, mutable: bool) -> u32 {
    b.add_param(
        name,
        ParamKind::Pointer {
            pointee: ty,
            mutable,
        },
    )
}

/// `z[i] = x[i] + y[i]` for `i < n`, BLOCK elements per program.
pub fn vector_add(block: u32) -> crate::ir::Kernel {
    let mut b = Builder::new("vector_add");
    let x = ptr(&mut b, "x", F32, false);
    let y = ptr(&mut b, "y", F32, false);
    let z = ptr(&mut b, "z", F32, true);
    let n = b.add_param("n", ParamKind::Scalar(I32));
    let pid = b.program_id(0);
    let bs = b.const_i32(block as i32);
    let start = b.binary(BinaryOp::Mul, pid, bs);
    let ar = b.arange(0, block);
    let st = b.splat(start, vec![block]);
    let offs = b.binary(BinaryOp::Add, st, ar);
    let nv = b.param(n);
    let ns = b.splat(nv, vec![block]);
    let mask = b.compare(CmpOp::Lt, offs, ns);
    let load = |b: &mut Builder, p: u32| {
        let base = b.param(p);
        let bp = b.splat(base, vec![block]);
        let ptrs = b.ptr_offset(bp, offs);
        (ptrs, b.load(ptrs, Some(mask), None))
    };
    let (_, xv) = load(&mut b, x);
    let (_, yv) = load(&mut b, y);
    let sum = b.binary(BinaryOp::Add, xv, yv);
    let zb = b.param(z);
    let zs = b.splat(zb, vec![block]);
    let zp = b.ptr_offset(zs, offs);
    b.store(zp, sum, Some(mask));
    b.finish()
}

#[test]
fn vector_add_validates() {
    let art = compile(vector_add(1024), true);
    assert_eq!(art.abi.buffers.len(), 3);
    assert_eq!(art.abi.status_binding, Some(3));
    assert_eq!(art.abi.push_fields[0].offset, 32);
    assert_eq!(art.abi.push_bytes, 36);
    assert_eq!(art.abi.workgroup_size, [128, 1, 1]);
    let _ = (UnaryOp::Exp, ReduceOp::Sum, Type::scalar(F32));
}
