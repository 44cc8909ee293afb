//! Diagnostic explanations (`docs/diagnostics.md`, `tkc explain`) and the machine-readable
//! diagnostic formats: every code the source emits is explained; every `tk` example does what
//! it says (the wrong one produces its code, the fixed one checks cleanly); snapshots of
//! `tkc explain` and of `--error-format json|short`.
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use tk::driver::{check_source, DiskLoader};

const DOCS: &str = include_str!("../docs/diagnostics.md");

struct Entry {
    code: String,
    body: String,
}

fn entries() -> Vec<Entry> {
    DOCS.split("\n## ")
        .skip(1)
        .map(|entry| {
            let (header, body) = entry.split_once('\n').unwrap();
            Entry {
                code: header.split(':').next().unwrap().trim().to_string(),
                body: body.to_string(),
            }
        })
        .collect()
}

/// The first fenced block after `label` in an entry: (language, text).
fn example(body: &str, label: &str) -> (String, String) {
    let after = &body[body.find(label).unwrap_or_else(|| panic!("no {label}"))..];
    let fence = after.find("```").unwrap();
    let rest = &after[fence + 3..];
    let (lang, rest) = rest.split_once('\n').unwrap();
    let end = rest.find("\n```").unwrap();
    (lang.to_string(), rest[..end].to_string())
}

/// Every `"E0…"` string literal in src/.
fn emitted_codes() -> BTreeSet<String> {
    fn walk(dir: &Path, codes: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, codes);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                let bytes = text.as_bytes();
                for (i, _) in text.match_indices("\"E0") {
                    let code = &bytes[i + 1..(i + 6).min(bytes.len())];
                    if bytes.get(i + 6) == Some(&b'"') && code[1..].iter().all(u8::is_ascii_digit) {
                        codes.insert(String::from_utf8(code.to_vec()).unwrap());
                    }
                }
            }
        }
    }
    let mut codes = BTreeSet::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut codes,
    );
    codes
}

#[test]
fn every_emitted_code_is_explained() {
    let explained: BTreeSet<String> = entries().into_iter().map(|e| e.code).collect();
    let codes = emitted_codes();
    assert!(codes.len() > 80, "only {} codes found", codes.len());
    let missing: Vec<&String> = codes.difference(&explained).collect();
    assert!(
        missing.is_empty(),
        "codes without an explanation: {missing:?}"
    );
}

/// Program codes whose wrong example is a command line: they come from specialising a kernel
/// (`sema::lower` with `-D` / `--kernel`), not from checking the file; E0605 needs 65 nested fns;
/// E0620 comes from `tkc build --emit wgsl|msl|hlsl`; E0601 and E0607–E0609 from compiling for a
/// device.
const NOT_FROM_CHECK: &[&str] = &[
    "E0211", "E0216", "E0502", "E0601", "E0605", "E0607", "E0608", "E0609", "E0620",
];

#[test]
fn wrong_examples_produce_their_code_and_fixed_ones_check_cleanly() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for entry in entries() {
        let program_code = entry.code.as_str() < "E0900";
        let (wrong_lang, wrong) = example(&entry.body, "Wrong:");
        let (fixed_lang, fixed) = example(&entry.body, "Fixed:");
        if !program_code || NOT_FROM_CHECK.contains(&entry.code.as_str()) {
            assert_ne!(
                wrong_lang, "tk",
                "{}: a tk example would be checked",
                entry.code
            );
            continue;
        }
        assert_eq!(wrong_lang, "tk", "{}", entry.code);
        assert_eq!(fixed_lang, "tk", "{}", entry.code);
        let program = check_source("wrong.tk", &wrong, &DiskLoader);
        let codes: Vec<&str> = program.diagnostics.iter().map(|d| d.code).collect();
        if !codes.contains(&entry.code.as_str()) {
            failures.push(format!("{}: the wrong example gives {codes:?}", entry.code));
        }
        let program = check_source("fixed.tk", &fixed, &DiskLoader);
        if program.has_errors() {
            let messages: Vec<String> = program.diagnostics.iter().map(|d| d.to_string()).collect();
            failures.push(format!(
                "{}: the fixed example gives {messages:?}",
                entry.code
            ));
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 60, "only {checked} examples checked");
}

fn tkc(args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tkc"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn explain_prints_an_entry() {
    let (code, stdout, _) = tkc(&["explain", "E0301"]);
    assert_eq!(code, Some(0));
    insta::assert_snapshot!("explain_E0301", stdout);
    // Short forms of the code are accepted.
    assert_eq!(tkc(&["explain", "0301"]).1, stdout);
    let (code, _, stderr) = tkc(&["explain", "E9999"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("not a tk diagnostic code"), "{stderr}");
    let (_, list, _) = tkc(&["explain"]);
    assert!(list.lines().count() > 80);
    assert!(list.contains("E0402  shapes cannot be broadcast"), "{list}");
}

#[test]
fn json_and_short_diagnostics() {
    let file = "tests/ui/E0301_mixed_types.tk";
    let (code, _, json) = tkc(&["check", file, "--error-format", "json"]);
    assert_eq!(code, Some(1));
    for line in json.lines() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(value["file"], file);
    }
    insta::assert_snapshot!("json_E0301", json);
    let (code, _, short) = tkc(&["--error-format=short", "check", file]);
    assert_eq!(code, Some(1));
    assert_eq!(
        short,
        "tests/ui/E0301_mixed_types.tk:4:27: error[E0301]: mismatched types: `f32[64]` * `i32`\n"
    );
}

#[test]
fn color_flag_and_no_color() {
    let file = "tests/ui/E0301_mixed_types.tk";
    let (_, _, always) = tkc(&["check", file, "--color", "always"]);
    assert!(
        always.contains('\u{1b}'),
        "no ANSI escapes with --color always"
    );
    let (_, _, never) = tkc(&["check", file, "--color", "never"]);
    assert!(!never.contains('\u{1b}'));
    assert!(never.contains("error[E0301]"));
    // Not a terminal, so `auto` is plain too; NO_COLOR is honoured (and --color always wins).
    let output = Command::new(env!("CARGO_BIN_EXE_tkc"))
        .args(["check", file, "--color", "auto"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&output.stderr).contains('\u{1b}'));
}

#[test]
fn completions_and_help() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, stdout, _) = tkc(&["completions", shell]);
        assert_eq!(code, Some(0), "{shell}");
        assert!(
            stdout.contains("explain") && stdout.contains("fmt"),
            "{shell}"
        );
    }
    let (code, stdout, _) = tkc(&["--help"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("Examples:") && stdout.contains("tkc explain E0301"));
    assert!(stdout.contains("--error-format"));
}
