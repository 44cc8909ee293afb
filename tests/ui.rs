//! UI tests: every `tests/ui/*.tk` is checked and its rendered diagnostics are compared with the
//! `.stderr` file beside it. The file name starts with the diagnostic code it demonstrates
//! (`E0301_mixed_types.tk`), and that code must appear in the output. Bless new expectations
//! with `TK_BLESS=1 cargo test --test ui`.
use std::path::{Path, PathBuf};
use tk::base::diag;
use tk::driver::{self, DiskLoader};

fn render(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let name = format!("tests/ui/{}", path.file_name().unwrap().to_string_lossy());
    let program = driver::check_source(&name, &text, &DiskLoader);
    diag::render(&program.diagnostics, &program.sources, false)
}

#[test]
fn ui() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/ui");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tk"))
        .collect();
    cases.sort();
    let bless = std::env::var_os("TK_BLESS").is_some();
    let mut failures = Vec::new();
    for case in &cases {
        let stem = case.file_stem().unwrap().to_string_lossy().to_string();
        let code = stem.split('_').next().unwrap().to_string();
        let actual = render(case);
        if !actual.contains(&format!("[{code}]")) {
            failures.push(format!(
                "{stem}: expected diagnostic {code}, got:\n{actual}"
            ));
            continue;
        }
        let expected_path = case.with_extension("stderr");
        if bless {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        match std::fs::read_to_string(&expected_path) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => failures.push(format!(
                "{stem}: output differs\n--- expected\n{expected}\n--- actual\n{actual}"
            )),
            Err(_) => failures.push(format!(
                "{stem}: no {} (bless with TK_BLESS=1)",
                expected_path.display()
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} ui tests failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
