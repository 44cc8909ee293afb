//! `tkc check` and `tkc build`, and the steps every command shares: load, choose a kernel, consts.
#![allow(unused_imports)]
use super::*;

pub(crate) fn load_program(command_line: &CommandLine, file: &Path) -> Result<Program> {
    let name = file.display().to_string();
    let fail = |code, message: String, help: &str| {
        command_line.fail(code, message, &name, "this file", help.into())
    };
    if file.is_dir() {
        return Err(fail(
            "E0901",
            format!("`{name}` is a directory, not a .tk file"),
            "pass the path of a .tk source file",
        ));
    }
    let bytes = std::fs::read(file).map_err(|e| {
        fail(
            "E0901",
            format!("cannot read `{name}`: {e}"),
            "check the path",
        )
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        fail(
            "E0917",
            format!(
                "`{name}` is not UTF-8 text: byte 0x{:02x} at offset {at} (line {line}) is invalid",
                bytes[at]
            ),
            "tk source files are UTF-8 text; check that this is the right file",
        )
    })?;
    let program = driver::check_source(&file.display().to_string(), &text, &DiskLoader);
    if program.has_errors() {
        return Err(program_errors(&program.diagnostics, &program.sources));
    }
    if !program.diagnostics.is_empty() {
        eprint!("{}", render(&program.diagnostics, &program.sources));
    }
    Ok(program)
}

pub(crate) fn choose_kernel<'p>(
    command_line: &CommandLine,
    program: &'p Program,
    name: Option<&str>,
    file: &Path,
) -> Result<&'p KernelSig> {
    let kernels = &program.checked.kernels;
    let names = || {
        kernels
            .iter()
            .map(|k| format!("`{}`", k.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match name {
        Some(name) => kernels.iter().find(|k| k.name == name).ok_or_else(|| {
            command_line.fail(
                "E0902",
                format!("no kernel named `{name}` in {}", file.display()),
                name,
                "unknown kernel",
                format!("the file defines: {}", names()),
            )
        }),
        None => match kernels.len() {
            1 => Ok(&kernels[0]),
            0 => {
                let name = file.display().to_string();
                Err(command_line.fail(
                    "E0903",
                    format!("{name} defines no kernel"),
                    &name,
                    "this file",
                    "declare one with `kernel name(...) { ... }`".into(),
                ))
            }
            _ => {
                let name = file.display().to_string();
                Err(command_line.fail(
                    "E0904",
                    format!("{name} defines several kernels"),
                    &name,
                    "which kernel?",
                    format!("choose one with --kernel: {}", names()),
                ))
            }
        },
    }
}

pub(crate) fn split_assignment<'a>(
    command_line: &CommandLine,
    text: &'a str,
    flag: &str,
) -> Result<(&'a str, &'a str)> {
    text.split_once('=')
        .map(|(a, b)| (a.trim(), b.trim()))
        .ok_or_else(|| {
            command_line.fail(
                "E0905",
                format!("`{text}` is not of the form NAME=VALUE"),
                text,
                "expected NAME=VALUE",
                format!("write e.g. `{flag} n=4096`"),
            )
        })
}

/// Const values from `-D` for kernel `sig`.
pub(crate) fn parse_defines(
    command_line: &CommandLine,
    sig: &KernelSig,
    defines: &[String],
) -> Result<Vec<(String, Literal)>> {
    let mut consts = Vec::new();
    for define in defines {
        let (name, value) = split_assignment(command_line, define, "-D")?;
        let Some(param) = sig.params.iter().find(|p| p.name == name) else {
            let available: Vec<String> = sig
                .params
                .iter()
                .filter(|p| matches!(p.kind, KernelParamKind::Const { .. }))
                .map(|p| format!("`{}`", p.name))
                .collect();
            return Err(command_line.fail(
                "E0906",
                format!("kernel `{}` has no const `{name}`", sig.name),
                name,
                "unknown const",
                if available.is_empty() {
                    "this kernel has no consts".into()
                } else {
                    format!("its consts are {}", available.join(", "))
                },
            ));
        };
        let KernelParamKind::Const { ty, .. } = param.kind else {
            return Err(command_line.fail(
                "E0906",
                format!("`{name}` is a runtime parameter, not a const"),
                name,
                "not a const",
                format!("set it with `--arg {name}={value}`"),
            ));
        };
        let literal = driver::parse_literal(value, ty).map_err(|e| {
            command_line.fail(
                "E0907",
                format!("bad value for const `{name}`: {e}"),
                value,
                "here",
                format!("`{name}` is a {ty}"),
            )
        })?;
        consts.push((name.to_string(), literal));
    }
    Ok(consts)
}

pub(crate) fn check(command_line: &CommandLine, file: &Path, defines: &[String]) -> Result<()> {
    let program = load_program(command_line, file)?;
    if !defines.is_empty() {
        for sig in &program.checked.kernels {
            let consts: Vec<(String, Literal)> = parse_defines(command_line, sig, defines)?;
            driver::lower(&program, &sig.name, &consts)
                .map_err(|d| program_errors(&d, &program.sources))?;
        }
    }
    eprintln!(
        "{}: ok ({} kernel{})",
        file.display(),
        program.checked.kernels.len(),
        if program.checked.kernels.len() == 1 {
            ""
        } else {
            "s"
        }
    );
    Ok(())
}

pub(crate) fn build(
    command_line: &CommandLine,
    file: &Path,
    kernel: Option<&str>,
    output: Option<&Path>,
    emit: Emit,
    defines: &[String],
    unchecked: bool,
    target: BuildTarget,
    cooperative_matrix: Option<&str>,
    divisible: Option<u64>,
) -> Result<()> {
    let coop = cooperative_matrix
        .map(|spec| parse_coop_shape(command_line, spec, target))
        .transpose()?;
    let program = load_program(command_line, file)?;
    let sig = choose_kernel(command_line, &program, kernel, file)?;
    let consts = parse_defines(command_line, sig, defines)?;
    let mut lowered = driver::lower(&program, &sig.name, &consts)
        .map_err(|d| program_errors(&d, &program.sources))?;
    if let Some(n) = divisible {
        if !n.is_power_of_two() || !(2..=driver::MAX_PROMISED_DIVISIBILITY).contains(&n) {
            return Err(command_line.fail(
                "E0921",
                format!("`--divisible {n}` is not 2, 4, 8 or 16"),
                "--divisible",
                "this option",
                "launches are specialised for divisibility by a power of two up to 16".into(),
            ));
        }
        driver::specialize_all(&mut lowered, n);
    }
    let text = match emit {
        Emit::Ir => Some(ir::print::print(&lowered)),
        _ => None,
    };
    let (bytes, text) = match text {
        Some(text) => (None, Some(text)),
        None => {
            let mut target = match target {
                BuildTarget::Portable => tk::abi::Target::portable(),
                BuildTarget::Cpu => tk::abi::Target::cpu(),
                BuildTarget::Gpu => tk::abi::Target::gpu(),
            };
            target.cooperative_matrix = coop;
            let (scheduled, artifact) = driver::compile(lowered, &target, !unchecked)
                .map_err(|d| program_errors(&d.into(), &program.sources))?;
            match emit {
                Emit::IrScheduled => (None, Some(ir::print::print(&scheduled))),
                Emit::Wgsl | Emit::Msl | Emit::Hlsl => {
                    let language = match emit {
                        Emit::Wgsl => tk::export::Language::Wgsl,
                        Emit::Msl => tk::export::Language::Msl,
                        _ => tk::export::Language::Hlsl,
                    };
                    // naga may panic (it is guarded); keep the ICE hook quiet meanwhile.
                    let hook = std::panic::take_hook();
                    std::panic::set_hook(Box::new(|_| {}));
                    let text = tk::export::export(&artifact, language);
                    std::panic::set_hook(hook);
                    let text = text.map_err(|d| program_errors(&d.into(), &program.sources))?;
                    (None, Some(text))
                }
                Emit::Spvasm => {
                    use rspirv::binary::Disassemble;
                    let module = rspirv::dr::load_words(&artifact.words).map_err(|e| Fail {
                        code: 101,
                        text: format!("error[ICE]: internal compiler error: emitted SPIR-V does not load: {e}\n"),
                    })?;
                    (None, Some(module.disassemble()))
                }
                _ => (
                    Some(
                        artifact
                            .words
                            .iter()
                            .flat_map(|w| w.to_le_bytes())
                            .collect::<Vec<u8>>(),
                    ),
                    None,
                ),
            }
        }
    };
    let write = |path: &Path, data: &[u8]| {
        std::fs::write(path, data).map_err(|e| {
            let name = path.display().to_string();
            command_line.fail(
                "E0901",
                format!("cannot write `{name}`: {e}"),
                &name,
                "this file",
                "check the directory exists and is writable".into(),
            )
        })
    };
    match (bytes, text, output) {
        (Some(bytes), _, Some(path)) => write(path, &bytes),
        (Some(bytes), _, None) => write(Path::new(&format!("{}.spv", sig.name)), &bytes),
        (None, Some(text), Some(path)) => write(path, text.as_bytes()),
        (None, Some(text), None) => {
            print!("{text}");
            Ok(())
        }
        (None, None, _) => Ok(()),
    }
}

/// Parses `--cooperative-matrix MxNxK` (powers of two from 8 to 64); the target must fix the
/// subgroup size (cooperative operations need whole subgroups).
fn parse_coop_shape(
    command_line: &CommandLine,
    spec: &str,
    target: BuildTarget,
) -> Result<tk::abi::CoopShape> {
    let bad = |why: &str| {
        command_line.fail(
            "E0920",
            format!("bad --cooperative-matrix `{spec}`: {why}"),
            spec,
            "this tile",
            "write the tile the device offers for f16 operands and f32 accumulators, e.g. \
             --target gpu --cooperative-matrix 16x16x16"
                .into(),
        )
    };
    if matches!(target, BuildTarget::Portable) {
        return Err(bad(
            "the portable target has no fixed subgroup size; add --target gpu",
        ));
    }
    let dims: Vec<Option<u32>> = spec.split('x').map(|d| d.parse().ok()).collect();
    match dims[..] {
        [Some(m), Some(n), Some(k)]
            if [m, n, k]
                .iter()
                .all(|d| d.is_power_of_two() && (8..=64).contains(d)) =>
        {
            Ok(tk::abi::CoopShape { m, n, k })
        }
        _ => Err(bad("expected MxNxK, powers of two from 8 to 64")),
    }
}
