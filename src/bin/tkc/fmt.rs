//! `tkc fmt [--check] FILES`: formats files in place, or lists those that would change.
use super::*;
use tk::syntax::format::{format, FormatError};

pub(crate) fn fmt(files: &[PathBuf], check: bool) -> Result<()> {
    let mut unformatted = Vec::new();
    let mut failures = String::new();
    for path in files {
        let name = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                failures.push_str(&format!("error[E0901]: cannot read `{name}`: {e}\n"));
                continue;
            }
        };
        match format(&text) {
            Ok(formatted) if formatted == text => {}
            Ok(formatted) if check => {
                let _ = formatted;
                unformatted.push(name);
            }
            Ok(formatted) => {
                if let Err(e) = std::fs::write(path, formatted) {
                    failures.push_str(&format!("error[E0901]: cannot write `{name}`: {e}\n"));
                }
            }
            Err(FormatError::Syntax(diagnostics)) => {
                let mut sources = SourceMap::new();
                sources.add(name.clone(), text);
                failures.push_str(&render(&diagnostics, &sources));
            }
            Err(FormatError::Internal(message)) => {
                failures.push_str(&format!(
                    "error[ICE]: internal compiler error: cannot format `{name}`: {message}\n"
                ));
            }
        }
    }
    if !failures.is_empty() {
        return Err(Fail {
            code: 1,
            text: failures,
        });
    }
    if !unformatted.is_empty() {
        let mut text = String::from("these files are not formatted (run `tkc fmt` on them):\n");
        for name in unformatted {
            text.push_str(&format!("  {name}\n"));
        }
        return Err(Fail { code: 1, text });
    }
    Ok(())
}
