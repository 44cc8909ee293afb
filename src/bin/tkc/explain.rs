//! `tkc explain CODE`: the explanation of a diagnostic code from `docs/diagnostics.md` (embedded
//! at build time, so the text and the docs are one file).
use super::*;

const DIAGNOSTICS: &str = include_str!("../../../docs/diagnostics.md");

/// Every entry as (code, title, body).
fn entries() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    DIAGNOSTICS.split("\n## ").skip(1).filter_map(|entry| {
        let (header, body) = entry.split_once('\n')?;
        let (code, title) = header.split_once(": ")?;
        Some((code.trim(), title.trim(), body.trim()))
    })
}

pub(crate) fn explain(code: Option<&str>) -> Result<()> {
    let Some(code) = code else {
        for (code, title, _) in entries() {
            println!("{code:6} {title}");
        }
        return Ok(());
    };
    let wanted = code.trim().to_ascii_uppercase();
    // `0301` and `E301` are accepted for `E0301`.
    let found = entries().find(|(c, _, _)| {
        *c == wanted
            || c.trim_start_matches("E0") == wanted.trim_start_matches('E').trim_start_matches('0')
    });
    match found {
        Some((code, title, body)) => {
            println!("{code}: {title}\n\n{body}");
            Ok(())
        }
        None => Err(Fail {
            code: 2,
            text: render(
                &Diagnostic::error("E0900", format!("`{code}` is not a tk diagnostic code"))
                    .with_help("`tkc explain` with no code lists them all")
                    .into(),
                &SourceMap::new(),
            ),
        }),
    }
}
