//! Portable export through naga: vector add, softmax and matmul become WGSL (re-parsed and validated by
//! naga's WGSL front end), MSL and HLSL; what naga cannot represent is a clear E0620 error.
use tk::abi::Target;
use tk::driver::{self, BuildOptions, Source};
use tk::export::{export, validate_wgsl, Language};

fn artifact(source: &str, kernel: &str, safe: bool) -> tk::abi::Artifact {
    driver::build(
        &Source::new("export.tk", source),
        kernel,
        &[],
        &Target::portable(),
        &BuildOptions { safe },
    )
    .unwrap_or_else(|e| panic!("{e}"))
    .artifact
}

const VECTOR_ADD: &str = include_str!("../examples/vector_add.tk");
const SOFTMAX: &str = include_str!("../examples/softmax.tk");
const MATMUL: &str = include_str!("../examples/matmul.tk");

fn exports_everywhere(source: &str, kernel: &str) {
    for safe in [true, false] {
        let artifact = artifact(source, kernel, safe);
        let wgsl = export(&artifact, Language::Wgsl).unwrap_or_else(|d| panic!("{d:?}"));
        assert!(wgsl.contains("@compute"), "{wgsl}");
        assert!(wgsl.contains("var<storage, read_write>") || wgsl.contains("var<storage"));
        validate_wgsl(&wgsl).unwrap_or_else(|e| panic!("{e}\n{wgsl}"));
        let msl = export(&artifact, Language::Msl).unwrap_or_else(|d| panic!("{d:?}"));
        assert!(msl.contains("kernel void"), "{msl}");
        let hlsl = export(&artifact, Language::Hlsl).unwrap_or_else(|d| panic!("{d:?}"));
        assert!(hlsl.contains("[numthreads("), "{hlsl}");
    }
}

#[test]
fn vector_add_exports_to_wgsl_msl_and_hlsl() {
    exports_everywhere(VECTOR_ADD, "vector_add");
}

#[test]
fn softmax_exports_to_wgsl_msl_and_hlsl() {
    // Softmax needs -inf (its fill and the identity of `max`), which WGSL forbids as a constant:
    // the export makes it a run-time value.
    exports_everywhere(SOFTMAX, "softmax");
    let wgsl = export(&artifact(SOFTMAX, "softmax", true), Language::Wgsl).unwrap();
    assert!(wgsl.contains("4286578688u"), "-inf's bits: {wgsl}");
}

#[test]
fn matmul_exports_to_wgsl_msl_and_hlsl() {
    // f16 operands, the f32 accumulator of `dot` and its shared-memory staging all survive.
    exports_everywhere(MATMUL, "matmul");
    let wgsl = export(&artifact(MATMUL, "matmul", false), Language::Wgsl).unwrap();
    assert!(wgsl.contains("enable f16;"), "{wgsl}");
    assert!(
        wgsl.contains("var<workgroup>"),
        "dot stages through shared memory: {wgsl}"
    );
}

#[test]
fn what_naga_cannot_write_is_a_clear_error() {
    // naga's MSL writer has no f64 (it used to panic on it; either way it is an error here).
    let source = "kernel wide(x: *mut f64) { store(x, load(x) * 2.0); }";
    let artifact = artifact(source, "wide", true);
    let error = export(&artifact, Language::Msl).unwrap_err();
    assert_eq!(error.code, "E0620");
    assert!(
        error
            .message
            .starts_with("kernel `wide` cannot be exported to MSL: "),
        "{}",
        error.message
    );
}

#[test]
fn garbage_spirv_is_an_error_not_a_panic() {
    let mut artifact = artifact(VECTOR_ADD, "vector_add", true);
    artifact.words.truncate(12);
    let error = export(&artifact, Language::Msl).unwrap_err();
    assert_eq!(error.code, "E0620");
}

#[test]
fn tkc_build_emits_wgsl() {
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tkc"))
        .args([
            "build",
            &format!("{examples}/vector_add.tk"),
            "--emit",
            "wgsl",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let wgsl = String::from_utf8(output.stdout).unwrap();
    validate_wgsl(&wgsl).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tkc"))
        .args(["build", &format!("{examples}/softmax.tk"), "--emit", "wgsl"])
        .output()
        .unwrap();
    assert!(output.status.success());
    validate_wgsl(&String::from_utf8(output.stdout).unwrap()).unwrap();
}
