//! The formatter on the repository: every example and stdlib module is formatted (`tkc fmt
//! --check` passes), and formatting is idempotent and keeps the program on every UI test input
//! that parses.
use std::path::{Path, PathBuf};
use std::process::Command;
use tk::syntax::format::{format, FormatError};

fn tk_files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tk"))
        .collect();
    files.sort();
    files
}

#[test]
fn examples_and_stdlib_are_formatted() {
    let mut files = tk_files("examples");
    files.extend(tk_files("stdlib"));
    assert!(files.len() >= 4, "{files:?}");
    let output = Command::new(env!("CARGO_BIN_EXE_tkc"))
        .arg("fmt")
        .arg("--check")
        .args(&files)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn check_lists_unformatted_files_and_fmt_fixes_them() {
    let dir = std::env::temp_dir().join(format!("tk-fmt-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("messy.tk");
    std::fs::write(&file, "kernel k(x:*mut f32){store(x,1.0);}\n").unwrap();
    let tkc = || Command::new(env!("CARGO_BIN_EXE_tkc"));
    let output = tkc().arg("fmt").arg("--check").arg(&file).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("messy.tk"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "kernel k(x:*mut f32){store(x,1.0);}\n"
    );
    let output = tkc().arg("fmt").arg(&file).output().unwrap();
    assert!(output.status.success());
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "kernel k(x: *mut f32) {\n    store(x, 1.0);\n}\n"
    );
    let output = tkc().arg("fmt").arg("--check").arg(&file).output().unwrap();
    assert!(output.status.success());
    // A file with a syntax error is reported and left alone.
    std::fs::write(&file, "kernel k( {\n").unwrap();
    let output = tkc().arg("fmt").arg(&file).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("E011"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "kernel k( {\n");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn formatting_is_idempotent_on_every_ui_input_that_parses() {
    let mut formatted = 0;
    for path in tk_files("tests/ui") {
        let text = std::fs::read_to_string(&path).unwrap();
        match format(&text) {
            Ok(once) => {
                let twice = format(&once).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                assert_eq!(once, twice, "{} is not idempotent", path.display());
                formatted += 1;
            }
            Err(FormatError::Syntax(_)) => {}
            Err(e) => panic!("{}: {e}", path.display()),
        }
    }
    assert!(formatted >= 20, "only {formatted} UI inputs parsed");
}
