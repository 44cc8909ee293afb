//! The language reference (`docs/language.md`) against the compiler, so that neither drifts from
//! the other: every builtin of THE table (`tk::sema::builtins`) has exactly one entry in §7, under
//! the heading of its group, and every entry there names a builtin; every fn of the standard
//! library (`stdlib/*.tk`) has exactly one entry in §8 and every entry there names one; the
//! keywords of §2 are the lexer's; every diagnostic code the reference cites exists; and every
//! code block marked `tk` is a complete file that checks without errors.
//!
//! The form of an entry: a line `` #### `NAME(…)` `` (a builtin) or `` #### `MODULE::NAME(…)` ``
//! (a standard library fn). Every `####` line in §7 and §8 must have that form.
use std::collections::BTreeSet;
use std::path::Path;
use tk::driver::{check_source, DiskLoader};
use tk::sema::builtins::{Group, BUILTINS};

const REFERENCE: &str = include_str!("../docs/language.md");
const DIAGNOSTICS: &str = include_str!("../docs/diagnostics.md");

/// The heading under which §7 documents a group of builtins. A new group fails to compile here
/// until the reference has a place for it.
fn group_heading(group: Group) -> &'static str {
    match group {
        Group::Grid => "Grid",
        Group::Creation => "Creation",
        Group::Memory => "Memory",
        Group::Math => "Math",
        Group::Reduction => "Reductions",
        Group::Scan => "Scans",
        Group::LinearAlgebra => "Linear algebra",
        Group::Shape => "Shape",
        Group::Hint => "Hints",
        Group::Debug => "Debug",
    }
}

/// The body of the `## ` section whose heading starts with `prefix` (up to the next `## `).
fn section(prefix: &str) -> &'static str {
    let start = REFERENCE
        .find(&format!("\n## {prefix}"))
        .unwrap_or_else(|| panic!("docs/language.md has no section `## {prefix}`"));
    let body = &REFERENCE[start + 1..];
    let end = body[3..].find("\n## ").map_or(body.len(), |e| e + 3);
    &body[..end]
}

/// One `#### `-entry: the `###` heading it stands under and the name before its `(`.
struct Entry {
    heading: String,
    name: String,
}

/// The entries of a section, in order. Panics on a `####` line that is not of the entry form.
fn entries(section: &str) -> Vec<Entry> {
    let mut heading = String::new();
    let mut found = Vec::new();
    for line in section.lines() {
        if let Some(h) = line.strip_prefix("### ") {
            heading = h.trim().trim_matches('`').to_string();
        } else if let Some(rest) = line.strip_prefix("#### ") {
            let name = rest
                .strip_prefix('`')
                .and_then(|r| r.split_once('('))
                .map(|(name, _)| name)
                .filter(|name| {
                    !name.is_empty()
                        && name
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                })
                .unwrap_or_else(|| {
                    panic!("`{line}` is not an entry of the form #### `NAME(…)` (docs/language.md)")
                });
            found.push(Entry {
                heading: heading.clone(),
                name: name.to_string(),
            });
        }
    }
    found
}

/// The entries of the section titled `title`, after checking that they name every one of
/// `actual` exactly once and nothing else (`what` says what the names are, for the message).
fn entries_naming_exactly(title: &str, actual: &BTreeSet<String>, what: &str) -> Vec<Entry> {
    let documented = entries(section(title));
    let mut names = BTreeSet::new();
    let twice: Vec<&str> = documented
        .iter()
        .filter(|e| !names.insert(e.name.clone()))
        .map(|e| e.name.as_str())
        .collect();
    let missing: Vec<&String> = actual.difference(&names).collect();
    let stale: Vec<&String> = names.difference(actual).collect();
    assert!(
        twice.is_empty() && missing.is_empty() && stale.is_empty(),
        "docs/language.md, section {title}: {what} without an entry {missing:?}; entries naming \
         no {what} {stale:?}; entries given twice {twice:?}"
    );
    documented
}

#[test]
fn every_builtin_has_one_entry_under_its_group_and_no_entry_is_stale() {
    let builtins: BTreeSet<String> = BUILTINS.iter().map(|b| b.name.to_string()).collect();
    let documented = entries_naming_exactly("7. Built-in functions", &builtins, "builtin");
    for builtin in BUILTINS {
        let entry = documented.iter().find(|e| e.name == builtin.name).unwrap();
        assert_eq!(
            entry.heading,
            group_heading(builtin.group),
            "`{}` is documented under the wrong group",
            builtin.name
        );
    }
}

/// Every `module::fn` of `stdlib/*.tk`, read with the compiler's own parser.
fn stdlib_fns() -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("stdlib");
    let mut names = BTreeSet::new();
    for file in std::fs::read_dir(&dir).expect("read stdlib/") {
        let path = file.expect("a stdlib entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("tk") {
            continue;
        }
        let module = path.file_stem().unwrap().to_str().unwrap().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let (file, diagnostics) = tk::syntax::parse(&text, Default::default());
        assert!(
            !diagnostics.has_errors(),
            "{} does not parse",
            path.display()
        );
        for item in &file.items {
            if let tk::syntax::ast::ItemKind::Fn(f) = &item.kind {
                names.insert(format!("{module}::{}", f.name.name));
            }
        }
    }
    names
}

#[test]
fn every_stdlib_fn_has_one_entry_and_no_entry_is_stale() {
    let fns = stdlib_fns();
    assert!(fns.contains("math::softmax") && fns.contains("random::rand"));
    let documented = entries_naming_exactly("8. Standard library", &fns, "stdlib fn");
    for entry in &documented {
        let module = entry.name.split("::").next().unwrap();
        assert_eq!(
            entry.heading, module,
            "`{}` stands under the heading of another module",
            entry.name
        );
    }
}

#[test]
fn the_keywords_of_section_2_are_the_lexers() {
    let line = section("2. Lexical structure")
        .lines()
        .find_map(|l| l.strip_prefix("- keywords: "))
        .expect("a `- keywords: ` line in §2");
    let listed: Vec<&str> = line
        .trim_matches(|c| c == '`' || c == ';')
        .split_whitespace()
        .collect();
    assert_eq!(listed, tk::lsp::analysis::KEYWORDS);
}

#[test]
fn every_cited_diagnostic_code_is_explained() {
    let explained: BTreeSet<&str> = DIAGNOSTICS
        .split("\n## ")
        .skip(1)
        .filter_map(|entry| entry.split(':').next())
        .collect();
    let cited: BTreeSet<&str> = REFERENCE
        .match_indices('E')
        .filter_map(|(i, _)| REFERENCE.get(i..i + 5))
        .filter(|code| code[1..].bytes().all(|b| b.is_ascii_digit()))
        .collect();
    assert!(cited.len() > 50, "the reference cites its diagnostics");
    let unknown: Vec<&&str> = cited.difference(&explained).collect();
    assert!(
        unknown.is_empty(),
        "docs/language.md cites codes docs/diagnostics.md does not explain: {unknown:?}"
    );
}

#[test]
fn every_tk_block_checks_cleanly() {
    let mut blocks = 0;
    for (i, piece) in REFERENCE.split("```tk\n").enumerate().skip(1) {
        let code = &piece[..piece.find("\n```").expect("a closed code block")];
        let name = format!("docs/language.md (tk block {i})");
        let program = check_source(&name, code, &DiskLoader);
        assert!(
            !program.has_errors(),
            "{}",
            tk::base::diag::render(&program.diagnostics, &program.sources, false)
        );
        assert!(
            !program.checked.kernels.is_empty(),
            "{name} defines no kernel"
        );
        blocks += 1;
    }
    assert!(blocks >= 4, "the reference's examples are checked");
}
