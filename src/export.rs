//! Portable export: a compiled kernel's SPIR-V translated by naga into WGSL, MSL or HLSL, for
//! kernels naga can represent. naga reads the SPIR-V (`spv-in`), its validator checks the module
//! (push constants are "immediates" there), and a back end writes the text. A kernel naga cannot
//! read or write is an `E0620` error naming the language and naga's reason; naga panics on some
//! inputs (its MSL writer on f64, for one), so every call into it runs under `catch_unwind`.
use crate::abi::Artifact;
use crate::base::Diagnostic;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A shading language naga can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Wgsl,
    Msl,
    Hlsl,
}

impl Language {
    pub fn name(self) -> &'static str {
        match self {
            Language::Wgsl => "WGSL",
            Language::Msl => "MSL",
            Language::Hlsl => "HLSL",
        }
    }
}

fn cannot(language: Language, kernel: &str, why: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::error(
        "E0620",
        format!(
            "kernel `{kernel}` cannot be exported to {}: {why}",
            language.name()
        ),
    )
    .with_help(
        "run it through SPIR-V instead (`tkc build`, `tkc run`); naga cannot express every \
         feature tk uses (e.g. f64 in MSL, some subgroup operations, 8-bit types in WGSL)",
    )
}

/// Runs `f`, turning a panic inside naga into an error sentence.
fn guarded<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_string());
            Err(format!("naga panicked ({message})"))
        }
    }
}

/// The naga validator with every capability: whether the target language can express the
/// module is the back end's question.
fn validator() -> naga::valid::Validator {
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all(),
    )
}

/// Reads and validates the artifact's SPIR-V as a naga module.
fn naga_module(artifact: &Artifact) -> Result<(naga::Module, naga::valid::ModuleInfo), String> {
    let words = runtime_non_finite_constants(&without_float_controls(&artifact.words));
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let options = naga::front::spv::Options {
        adjust_coordinate_space: false,
        strict_capabilities: false,
        block_ctx_dump_prefix: None,
    };
    let module = naga::front::spv::parse_u8_slice(&bytes, &options)
        .map_err(|e| format!("naga cannot read the SPIR-V: {e}"))?;
    let info = validator()
        .validate(&module)
        .map_err(|e| format!("naga rejects the module: {}", error_chain(e.as_inner())))?;
    Ok((module, info))
}

/// The float-controls declarations of a module built for a device (`SignedZeroInfNanPreserve`,
/// `RoundingModeRTE` and their extension) taken out: naga cannot read them, and what they promise
/// (NaN and infinities kept, round to nearest even) is what WGSL, MSL and HLSL give anyway.
/// Unreadable input is returned unchanged.
fn without_float_controls(words: &[u32]) -> Vec<u32> {
    use rspirv::binary::Assemble;
    use rspirv::dr::Operand;
    use spirv::{Capability, ExecutionMode};
    let Ok(mut module) = rspirv::dr::load_words(words) else {
        return words.to_vec();
    };
    let controls = [
        Capability::SignedZeroInfNanPreserve,
        Capability::RoundingModeRTE,
    ];
    module.capabilities.retain(
        |i| !matches!(i.operands.first(), Some(Operand::Capability(c)) if controls.contains(c)),
    );
    module.extensions.retain(|i| {
        !matches!(i.operands.first(), Some(Operand::LiteralString(s)) if s == "SPV_KHR_float_controls")
    });
    module.execution_modes.retain(|i| {
        !matches!(
            i.operands.get(1),
            Some(Operand::ExecutionMode(
                ExecutionMode::SignedZeroInfNanPreserve | ExecutionMode::RoundingModeRTE
            ))
        )
    });
    module.assemble()
}

/// WGSL (and naga's validator) forbid infinite and NaN constants, but tk's SPIR-V uses them
/// (`-inf` is the identity of `max`). This rewrite makes each non-finite 32-bit float constant a
/// run-time value: a function variable initialised with the constant's bits, loaded and bitcast
/// at the top of each function, and every use in a function body renamed to that value. Other
/// widths are left alone (naga then reports them). `OpIsNan x`, which WGSL cannot say, becomes
/// `x != x` (unordered). Unreadable input is returned unchanged.
fn runtime_non_finite_constants(words: &[u32]) -> Vec<u32> {
    use rspirv::binary::Assemble;
    use rspirv::dr::{Instruction, Operand};
    use spirv::Op;
    let Ok(mut module) = rspirv::dr::load_words(words) else {
        return words.to_vec();
    };
    let float32: Vec<u32> = module
        .types_global_values
        .iter()
        .filter(|i| i.class.opcode == Op::TypeFloat)
        .filter(|i| matches!(i.operands.first(), Some(Operand::LiteralBit32(32))))
        .filter_map(|i| i.result_id)
        .collect();
    let non_finite: Vec<(u32, u32, u32)> = module
        .types_global_values
        .iter()
        .filter(|i| i.class.opcode == Op::Constant)
        .filter_map(|i| match (i.result_type, i.result_id, i.operands.first()) {
            (Some(ty), Some(id), Some(Operand::LiteralBit32(bits)))
                if float32.contains(&ty) && !f32::from_bits(*bits).is_finite() =>
            {
                Some((id, ty, *bits))
            }
            _ => None,
        })
        .collect();
    // WGSL has no isnan: `x != x` (unordered) is true exactly for NaN.
    let mut changed = false;
    for function in &mut module.functions {
        for block in &mut function.blocks {
            for instruction in &mut block.instructions {
                if instruction.class.opcode == Op::IsNan {
                    if let Some(&Operand::IdRef(x)) = instruction.operands.first() {
                        *instruction = Instruction::new(
                            Op::FUnordNotEqual,
                            instruction.result_type,
                            instruction.result_id,
                            vec![Operand::IdRef(x), Operand::IdRef(x)],
                        );
                        changed = true;
                    }
                }
            }
        }
    }
    if non_finite.is_empty() {
        return if changed {
            module.assemble()
        } else {
            words.to_vec()
        };
    }
    let Some(header) = module.header.as_mut() else {
        return words.to_vec();
    };
    let mut next_id = header.bound;
    let mut fresh = || {
        next_id += 1;
        next_id - 1
    };
    let uint = fresh();
    let uint_pointer = fresh();
    module.types_global_values.push(Instruction::new(
        Op::TypeInt,
        None,
        Some(uint),
        vec![Operand::LiteralBit32(32), Operand::LiteralBit32(0)],
    ));
    module.types_global_values.push(Instruction::new(
        Op::TypePointer,
        None,
        Some(uint_pointer),
        vec![
            Operand::StorageClass(spirv::StorageClass::Function),
            Operand::IdRef(uint),
        ],
    ));
    let mut bit_constants = Vec::new();
    for &(_, _, bits) in &non_finite {
        let id = fresh();
        module.types_global_values.push(Instruction::new(
            Op::Constant,
            Some(uint),
            Some(id),
            vec![Operand::LiteralBit32(bits)],
        ));
        bit_constants.push(id);
    }
    for function in &mut module.functions {
        let mut renamed = Vec::new();
        let mut variables = Vec::new();
        let mut loads = Vec::new();
        for (&(constant, ty, _), &bits) in non_finite.iter().zip(&bit_constants) {
            let (variable, loaded, value) = (fresh(), fresh(), fresh());
            variables.push(Instruction::new(
                Op::Variable,
                Some(uint_pointer),
                Some(variable),
                vec![
                    Operand::StorageClass(spirv::StorageClass::Function),
                    Operand::IdRef(bits),
                ],
            ));
            loads.push(Instruction::new(
                Op::Load,
                Some(uint),
                Some(loaded),
                vec![Operand::IdRef(variable)],
            ));
            loads.push(Instruction::new(
                Op::Bitcast,
                Some(ty),
                Some(value),
                vec![Operand::IdRef(loaded)],
            ));
            renamed.push((constant, value));
        }
        for block in &mut function.blocks {
            for instruction in &mut block.instructions {
                for operand in &mut instruction.operands {
                    if let Operand::IdRef(id) = operand {
                        if let Some(&(_, value)) = renamed.iter().find(|(c, _)| c == id) {
                            *id = value;
                        }
                    }
                }
            }
        }
        let Some(first) = function.blocks.first_mut() else {
            continue;
        };
        // Function variables must open the first block; the loads follow them.
        let after_variables = first
            .instructions
            .iter()
            .position(|i| i.class.opcode != Op::Variable)
            .unwrap_or(first.instructions.len());
        let tail = first.instructions.split_off(after_variables);
        first.instructions.extend(variables);
        first.instructions.extend(loads);
        first.instructions.extend(tail);
    }
    // The constants themselves must go too (naga evaluates every global constant), unless a
    // global still refers to them.
    let globally_used = |id: u32| {
        module.types_global_values.iter().any(|i| {
            i.operands
                .iter()
                .any(|operand| matches!(operand, Operand::IdRef(used) if *used == id))
        })
    };
    let removable: Vec<u32> = non_finite
        .iter()
        .map(|&(id, _, _)| id)
        .filter(|&id| !globally_used(id))
        .collect();
    module
        .types_global_values
        .retain(|i| !i.result_id.is_some_and(|id| removable.contains(&id)));
    module.debug_names.retain(
        |i| !matches!(i.operands.first(), Some(Operand::IdRef(id)) if removable.contains(id)),
    );
    if let Some(header) = module.header.as_mut() {
        header.bound = next_id;
    }
    module.assemble()
}

/// Translates a compiled kernel into `language` source text.
pub fn export(artifact: &Artifact, language: Language) -> Result<String, Diagnostic> {
    let kernel = &artifact.abi.kernel;
    guarded(|| {
        let (module, info) = naga_module(artifact)?;
        match language {
            Language::Wgsl => naga::back::wgsl::write_string(
                &module,
                &info,
                naga::back::wgsl::WriterFlags::empty(),
            )
            .map_err(|e| e.to_string()),
            Language::Msl => {
                let options = naga::back::msl::Options {
                    lang_version: (2, 1),
                    ..Default::default()
                };
                naga::back::msl::write_string(
                    &module,
                    &info,
                    &options,
                    &naga::back::msl::PipelineOptions::default(),
                )
                .map(|(text, _)| text)
                .map_err(|e| e.to_string())
            }
            Language::Hlsl => {
                // Push constants become a constant buffer at b0 of space 0; buffers keep their
                // binding numbers as registers (naga's defaults).
                let options = naga::back::hlsl::Options {
                    shader_model: naga::back::hlsl::ShaderModel::V6_0,
                    immediates_target: Some(naga::back::hlsl::BindTarget {
                        space: 0,
                        register: 0,
                        ..Default::default()
                    }),
                    ..Default::default()
                };
                let pipeline = naga::back::hlsl::PipelineOptions { entry_point: None };
                let mut text = String::new();
                naga::back::hlsl::Writer::new(&mut text, &options, &pipeline)
                    .write(&module, &info, None)
                    .map_err(|e| e.to_string())?;
                Ok(text)
            }
        }
    })
    .map_err(|why| cannot(language, kernel, why))
}

/// Parses WGSL text with naga's WGSL front end and validates it: the check the tests run on
/// every exported kernel.
pub fn validate_wgsl(text: &str) -> Result<(), String> {
    guarded(|| {
        let module = naga::front::wgsl::parse_str(text).map_err(|e| e.emit_to_string(text))?;
        validator()
            .validate(&module)
            .map_err(|e| error_chain(e.as_inner()))?;
        Ok(())
    })
}

/// An error and its sources, joined: naga's top-level messages alone rarely say what is wrong.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
