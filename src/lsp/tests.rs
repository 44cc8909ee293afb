//! Analysis answers on small files, without a client.
use super::analysis::{enclosing_call, Analysis};
use super::scope::Target;
use crate::base::FileId;
use crate::driver::DiskLoader;
use lsp_types as lsp;

const SOURCE: &str = "use math;

const SCALE: f32 = 2.0;

/// Twice the input.
fn double(x) {
    x * SCALE
}

/// Applies gelu to a tile.
#[grid(cdiv(n, BLOCK))]
kernel act(x: *f32, out: *mut f32, n: i32, const BLOCK: i32 = 256) {
    let offs = program_id(0) * BLOCK + arange(0, BLOCK);
    let mask = offs < n;
    let v = load(x + offs, mask: mask);
    let mut acc = zeros([BLOCK, 2], f32);
    for i in range(0, 4) {
        acc += v[:, None];
    }
    let y = math::gelu(double(v));
    store(out + offs, y + sum(acc, axis: 1), mask: mask);
}
";

fn analysis() -> Analysis {
    Analysis::new("test.tk", SOURCE, &DiskLoader)
}

fn at(needle: &str, nth: usize) -> u32 {
    let mut from = 0;
    for _ in 0..nth {
        from = SOURCE[from..].find(needle).unwrap() + from + 1;
    }
    (SOURCE[from..].find(needle).unwrap() + from) as u32
}

#[test]
fn checks_cleanly() {
    let a = analysis();
    assert_eq!(a.diagnostics(), Vec::new());
}

#[test]
fn hovers_show_types_docs_and_signatures() {
    let a = analysis();
    let hover = |offset| a.hover(offset).map(|(_, text)| text).unwrap_or_default();
    assert!(hover(at("offs < n", 0)).contains("let offs: i32[256]"));
    assert!(hover(at("acc +=", 0)).contains("let mut acc: f32[256, 2]"));
    assert!(hover(at("i in", 0)).contains("for i: i32"));
    let index = hover(at("v[:, None]", 0) + 1);
    assert!(index.contains("f32[256, 1]"), "{index}");
    assert!(hover(at("double(v)", 0)).contains("fn double(x)"));
    assert!(hover(at("double(v)", 0)).contains("Twice the input."));
    assert!(hover(at("gelu(", 0)).contains("fn gelu(x)"));
    assert!(hover(at("sum(", 0)).contains("sum(x, axis: k, keep_dims: false)"));
    assert!(hover(at("SCALE\n", 0)).contains("const SCALE: f32 = 2.0"));
    assert!(hover(at("BLOCK)", 1)).contains("const BLOCK: i32"));
    assert!(hover(at("x: *f32", 0)).contains("x: *f32"));
}

#[test]
fn definitions_of_locals_items_and_stdlib() {
    let a = analysis();
    let def = |offset| a.definition(offset).unwrap();
    let (file, span) = def(at("mask: mask", 0) + 6);
    assert_eq!((file, span.start), (FileId(0), at("mask =", 0)));
    let (file, span) = def(at("double(v)", 0));
    assert_eq!((file, span.start), (FileId(0), at("double(x)", 0)));
    let (file, span) = def(at("gelu(", 0));
    assert_ne!(file, FileId(0));
    let stdlib = &a.program.sources.file(file).text;
    assert!(stdlib[span.start as usize..].starts_with("gelu("));
    assert!(matches!(
        a.index.target_at(at("n, BLOCK", 0), false),
        Some((_, Target::Local(_)))
    ));
}

#[test]
fn symbols_completion_and_signature_help() {
    let a = analysis();
    let symbols = a.symbols();
    let names: Vec<&str> = symbols.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["math", "SCALE", "double", "act"]);
    assert_eq!(symbols[3].kind, lsp::SymbolKind::FUNCTION);
    let labels =
        |offset| -> Vec<String> { a.completion(offset).into_iter().map(|c| c.label).collect() };
    let inside_loop = labels(at("acc +=", 0));
    for name in [
        "i", "v", "acc", "offs", "BLOCK", "double", "SCALE", "load", "math", "for",
    ] {
        assert!(inside_loop.contains(&name.to_string()), "{name}");
    }
    // `y` is not yet defined inside the loop.
    assert!(!inside_loop.contains(&"y".to_string()));
    let members = labels(at("gelu(", 0));
    assert!(members.contains(&"softmax".to_string()), "{members:?}");
    assert!(!members.contains(&"load".to_string()));
    let help = a.signature_help(at("mask: mask);\n}", 0)).unwrap();
    assert!(help.signatures[0].label.starts_with("store("));
    assert_eq!(help.active_parameter, Some(2));
    assert_eq!(enclosing_call("f(a, g(b, c), "), Some(("f".to_string(), 2)));
    assert_eq!(
        enclosing_call("math::gelu("),
        Some(("math::gelu".to_string(), 0))
    );
    assert_eq!(enclosing_call("let x = 1;"), None);
}

#[test]
fn a_broken_file_still_answers() {
    let text = "kernel k(x: *f32) {\n    let a = load(x);\n    let b = a +\n}\n";
    let a = Analysis::new("broken.tk", text, &DiskLoader);
    assert!(!a.diagnostics().is_empty());
    let labels: Vec<String> = a
        .completion(text.find("let b").unwrap() as u32)
        .into_iter()
        .map(|c| c.label)
        .collect();
    assert!(labels.contains(&"a".to_string()));
    // Every offset of the file answers without panicking.
    for offset in 0..=text.len() as u32 {
        let _ = a.hover(offset);
        let _ = a.definition(offset);
        let _ = a.signature_help(offset);
    }
}

/// A 500-line file is checked and indexed fast enough to re-check on every keystroke (the
/// budget of 20 ms is for release builds; debug builds get ten times that).
#[test]
fn large_files_are_analysed_quickly() {
    let text = large_file();
    assert!(text.lines().count() >= 500);
    let start = std::time::Instant::now();
    let a = Analysis::new("large.tk", &text, &DiskLoader);
    let elapsed = start.elapsed();
    assert_eq!(a.diagnostics(), Vec::new());
    let budget = if cfg!(debug_assertions) { 200 } else { 20 };
    assert!(elapsed.as_millis() < budget, "{elapsed:?}");
}

/// 25 kernels of 20 lines each.
pub fn large_file() -> String {
    let mut text = String::new();
    for k in 0..25 {
        text.push_str(&format!(
            "/// Kernel {k}.
#[grid(cdiv(n, BLOCK))]
kernel k{k}(x: *f32, y: *f32, out: *mut f32, n: i32, const BLOCK: i32 = 1024) {{
    let offs = program_id(0) * BLOCK + arange(0, BLOCK);
    let mask = offs < n;
    let a = load(x + offs, mask: mask);
    let b = load(y + offs, mask: mask);
    let mut acc = zeros([BLOCK], f32);
    for i in range(0, 4) {{
        acc += a * b;
    }}
    let m = max(acc, axis: 0);
    let e = exp(acc - m);
    let s = sum(e, axis: 0);
    if n > 0 {{
        store(out + offs, e / s, mask: mask);
    }}
    let c = where(mask, a, b);
    store(out + offs, c + 1.0, mask: mask);
}}
"
        ));
    }
    text
}
