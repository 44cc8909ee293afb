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
fn naga_module(
    artifact: &Artifact,
) -> Result<(naga::Module, naga::valid::ModuleInfo), String> {
    let bytes: Vec<u8> = artifact.words.iter().flat_map(|w| w.to_le_bytes()).collect();
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
