//! The SPIR-V of every example kernel, recorded as a hash per (kernel, target, mode) in
//! `tests/snapshots/spirv_identity.txt`, so that a restructuring of the compiler that should not
//! change the output is checked to change none of it. A change that means to alter the emitted
//! code re-records the table with `TK_BLESS=1 cargo test --test spirv_identity` and says so in its
//! commit message; the diff of the table names every module it changed.
use std::fmt::Write;
use tk::abi::{CoopShape, Target};
use tk::driver::{self, BuildOptions, Source};

const SNAPSHOT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/snapshots/spirv_identity.txt"
);

/// The targets a module is recorded for: the portable floor, lavapipe's CPU schedule, a GPU and a
/// GPU with 16x16x16 cooperative matrices.
fn targets() -> Vec<(&'static str, Target)> {
    let mut coop = Target::gpu();
    coop.cooperative_matrix = Some(CoopShape {
        m: 16,
        n: 16,
        k: 16,
    });
    vec![
        ("portable", Target::portable()),
        ("cpu", Target::cpu()),
        ("gpu", Target::gpu()),
        ("gpu-coop", coop),
    ]
}

/// FNV-1a over the words: stable across platforms and Rust versions.
fn fnv(words: &[u32]) -> u64 {
    let mut hash: u64 = 0xcbf29ce484222325;
    for byte in words.iter().flat_map(|w| w.to_le_bytes()) {
        hash ^= byte as u64;
        hash = hash.wrapping_mul(0x100000001b3);
    }
    hash
}

/// One line per (file, kernel, target, mode): the word count and the hash.
fn table() -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut files: Vec<_> = std::fs::read_dir(format!("{root}/examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tk"))
        .collect();
    files.sort();
    let mut out = String::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let path = path.to_string_lossy();
        let source = Source::new(&path, &text);
        let program = driver::check_source(source.name, source.text, source.loader);
        assert!(!program.has_errors(), "{name}: {:?}", program.diagnostics);
        for kernel in &program.checked.kernels {
            let lowered = driver::lower_source(&source, &kernel.name, &[]).expect("lowers");
            for (target_name, target) in targets() {
                for (mode, safe) in [("safe", true), ("unchecked", false)] {
                    let artifact = driver::build_lowered(&lowered, &target, &BuildOptions { safe })
                        .unwrap_or_else(|e| panic!("{name} {}: {e:?}", kernel.name))
                        .artifact;
                    writeln!(
                        out,
                        "{name} {} {target_name} {mode} {} {:016x}",
                        kernel.name,
                        artifact.words.len(),
                        fnv(&artifact.words)
                    )
                    .unwrap();
                }
            }
        }
    }
    out
}

#[test]
fn example_spirv_is_unchanged() {
    let now = table();
    if std::env::var("TK_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(SNAPSHOT, &now).unwrap();
        return;
    }
    let recorded = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
    let changed: Vec<String> = now
        .lines()
        .zip(recorded.lines().chain(std::iter::repeat("(missing)")))
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("  now {a}\n  was {b}"))
        .collect();
    assert!(
        changed.is_empty() && now.lines().count() == recorded.lines().count(),
        "the SPIR-V of {} example module(s) changed (re-record with TK_BLESS=1 if that is \
         intended):\n{}",
        changed.len(),
        changed.join("\n")
    );
}
