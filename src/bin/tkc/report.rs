//! Failures as exit codes plus rendered diagnostics; the command line as a pseudo source file.
#![allow(unused_imports)]
use super::*;

/// A failed command: the exit code and the text for stderr.
pub(crate) struct Fail {
    pub(crate) code: u8,
    pub(crate) text: String,
}

pub(crate) type Result<T> = std::result::Result<T, Fail>;

/// The command line as a pseudo source file, so input errors render like program errors.
pub(crate) struct CommandLine {
    pub(crate) sources: SourceMap,
    pub(crate) args: Vec<(usize, String)>,
}

impl CommandLine {
    pub(crate) fn new() -> CommandLine {
        let mut text = String::from("tkc");
        let mut args = Vec::new();
        for arg in std::env::args().skip(1) {
            text.push(' ');
            args.push((text.len(), arg.clone()));
            text.push_str(&arg);
        }
        let mut sources = SourceMap::new();
        sources.add("<command line>", text);
        CommandLine { sources, args }
    }

    /// The span of `needle` inside the first argument that contains it.
    pub(crate) fn span_of(&self, needle: &str) -> Span {
        for (offset, arg) in &self.args {
            if let Some(at) = arg.find(needle) {
                return Span::new(Default::default(), offset + at, offset + at + needle.len());
            }
        }
        Span::default()
    }

    /// A bad command line or input file (exit 2).
    pub(crate) fn fail(
        &self,
        code: &'static str,
        message: String,
        needle: &str,
        label: &str,
        help: String,
    ) -> Fail {
        let diagnostic = Diagnostic::error(code, message)
            .with_label(self.span_of(needle), label)
            .with_help(help);
        Fail {
            code: 2,
            text: render(&diagnostic.into(), &self.sources),
        }
    }
}

/// How diagnostics are written (`--error-format`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub(crate) enum ErrorFormat {
    /// The source line with labels and help (miette).
    Human,
    /// One line per diagnostic: `file:line:col: error[CODE]: message`.
    Short,
    /// One JSON object per line, for tools.
    Json,
}

/// When to colour the output (`--color`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub(crate) enum ColorChoice {
    /// When stderr is a terminal and `NO_COLOR` is not set.
    Auto,
    Always,
    Never,
}

static OUTPUT: std::sync::OnceLock<(ErrorFormat, ColorChoice)> = std::sync::OnceLock::new();

/// Records the global output flags, once, before any command runs.
pub(crate) fn set_output(format: ErrorFormat, color: ColorChoice) {
    let _ = OUTPUT.set((format, color));
}

fn output() -> (ErrorFormat, ColorChoice) {
    OUTPUT
        .get()
        .copied()
        .unwrap_or((ErrorFormat::Human, ColorChoice::Auto))
}

/// Whether to colour stderr: `--color always|never` decide; `auto` colours a terminal unless
/// `NO_COLOR` is set (https://no-color.org: an explicit flag overrides it).
pub(crate) fn color() -> bool {
    use std::io::IsTerminal;
    match output().1 {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// Renders diagnostics in the format chosen with `--error-format`.
pub(crate) fn render(diagnostics: &Diagnostics, sources: &SourceMap) -> String {
    match output().0 {
        ErrorFormat::Human => diag::render(diagnostics, sources, color()),
        ErrorFormat::Short => diagnostics
            .iter()
            .map(|d| {
                let place = d
                    .primary_span()
                    .filter(|s| (s.file.0 as usize) < sources.files.len())
                    .map(|s| {
                        let (line, col) = sources.line_col(s.file, s.start);
                        format!("{}:{line}:{col}: ", sources.file(s.file).name)
                    })
                    .unwrap_or_default();
                format!("{place}{}[{}]: {}\n", severity_name(d), d.code, d.message)
            })
            .collect(),
        ErrorFormat::Json => diagnostics
            .iter()
            .map(|d| format!("{}\n", json_diagnostic(d, sources)))
            .collect(),
    }
}

fn severity_name(d: &Diagnostic) -> &'static str {
    match d.severity {
        tk::base::Severity::Error => "error",
        tk::base::Severity::Warning => "warning",
    }
}

/// One diagnostic as a JSON object: code, message, severity, file, byte span, 1-based line and
/// column (in characters) of both ends, labels, help and notes.
pub(crate) fn json_diagnostic(d: &Diagnostic, sources: &SourceMap) -> serde_json::Value {
    use serde_json::json;
    let place = |span: Span| {
        if (span.file.0 as usize) >= sources.files.len() {
            return json!(null);
        }
        let (line_start, col_start) = sources.line_col(span.file, span.start);
        let (line_end, col_end) = sources.line_col(span.file, span.end);
        json!({
            "file": sources.file(span.file).name,
            "byte_start": span.start,
            "byte_end": span.end,
            "line_start": line_start,
            "column_start": col_start,
            "line_end": line_end,
            "column_end": col_end,
        })
    };
    let labels: Vec<serde_json::Value> = d
        .labels
        .iter()
        .enumerate()
        .map(|(i, l)| json!({"message": l.message, "primary": i == 0, "span": place(l.span)}))
        .collect();
    let primary = d.primary_span().map(place).unwrap_or(json!(null));
    json!({
        "code": d.code,
        "severity": severity_name(d),
        "message": d.message,
        "file": primary.get("file").cloned().unwrap_or(json!(null)),
        "span": primary,
        "labels": labels,
        "help": d.help,
        "notes": d.notes,
    })
}

pub(crate) fn program_errors(diagnostics: &Diagnostics, sources: &SourceMap) -> Fail {
    let internal = diagnostics.iter().any(Diagnostic::is_internal);
    Fail {
        code: if internal { 101 } else { 1 },
        text: render(diagnostics, sources),
    }
}

pub(crate) fn device_failure(code: &'static str, message: String, help: &str) -> Fail {
    let diagnostic = Diagnostic::error(code, message).with_help(help);
    Fail {
        code: 3,
        text: render(&diagnostic.into(), &SourceMap::new()),
    }
}

/// A failed `device_assert`, from the interpreter or a device's status buffer: the same text for
/// both, naming the kernel, the assert's `file:line:col` and message, the program and (for a tile
/// condition) the element; a label points at the assert when `sources` holds its file.
pub(crate) fn assert_failure(
    kernel: &str,
    message: &str,
    span: Span,
    element: Option<u64>,
    program: [u32; 3],
    sources: &SourceMap,
) -> Fail {
    let known = (span.file.0 as usize) < sources.files.len();
    let at = if known {
        let (line, col) = sources.line_col(span.file, span.start);
        format!(" at {}:{line}:{col}", sources.file(span.file).name)
    } else {
        String::new()
    };
    let element = element
        .map(|e| format!(", element {e}"))
        .unwrap_or_default();
    let mut diagnostic = Diagnostic::error(
        "E0952",
        format!(
            "device_assert failed in kernel `{kernel}`{at} (program {program:?}{element}): {message}"
        ),
    )
    .with_help("the assertion's condition was false; with --unchecked devices skip the check");
    if known {
        diagnostic = diagnostic.with_label(span, "this condition was false");
    }
    Fail {
        code: 3,
        text: render(&diagnostic.into(), sources),
    }
}

/// A device failure, with a failed `device_assert` located in `sources`.
pub(crate) fn launch_failure(error: RuntimeError, sources: &SourceMap) -> Fail {
    match error {
        RuntimeError::AssertFailed {
            kernel,
            message,
            span,
            element,
            program,
        } => assert_failure(&kernel, &message, span, element, program, sources),
        other => runtime_failure(other),
    }
}

pub(crate) fn run_error_interp(error: tk::interp::RunError, sources: &SourceMap) -> Fail {
    use tk::interp::RunError;
    match error {
        RunError::OutOfBounds { kernel, param, index, store, program } => device_failure(
            "E0951",
            format!(
                "kernel `{kernel}` {} `{param}` out of bounds at index {index} (program {program:?})",
                if store { "stored to" } else { "loaded from" }
            ),
            "mask the access (mask: offs < n) or pass a larger buffer; the access was dropped",
        ),
        RunError::AssertFailed { kernel, message, span, element, program } => {
            assert_failure(&kernel, &message, span, element, program, sources)
        }
        RunError::BadArguments(message) => Fail {
            code: 2,
            text: render(&Diagnostic::error("E0908", message).into(), &SourceMap::new()),
        },
        RunError::BudgetExceeded { .. } => device_failure(
            "E0957",
            error.to_string(),
            "the kernel ran past the interpreter's work budget; check that its loops terminate",
        ),
        RunError::InvalidIr { kernel, message } => {
            let message = format!("invalid IR for kernel `{kernel}`: {message}");
            Fail {
                code: 101,
                text: render(&Diagnostic::internal(message).into(), &SourceMap::new()),
            }
        }
    }
}

pub(crate) fn runtime_failure(error: RuntimeError) -> Fail {
    let (code, exit, help) = match &error {
        RuntimeError::AssertFailed { .. } => ("E0952", 3, "the assertion's condition was false"),
        RuntimeError::OutOfBounds { .. } => (
            "E0951",
            3,
            "mask the access (mask: offs < n) or pass a larger buffer; the access was dropped",
        ),
        RuntimeError::ContractBroken { .. } => (
            "E0951",
            3,
            "pass a buffer as large as the contract asks, or smaller sizes; nothing ran",
        ),
        RuntimeError::MissingFeature { .. } => (
            "E0953",
            3,
            "run on a device with the feature, or use --device interp",
        ),
        RuntimeError::LimitExceeded { .. } => (
            "E0954",
            3,
            "use smaller tiles or fewer threads, or a larger device",
        ),
        RuntimeError::GridTooLarge { .. } => (
            "E0954",
            3,
            "give each program more work (a larger BLOCK) so the grid needs fewer programs, or \
             split the work over several launches",
        ),
        RuntimeError::BufferTooLarge { .. } => (
            "E0958",
            3,
            "split the data over several launches, each with a buffer within the limit (pass the \
             pieces as separate arguments), or run on a device with a larger limit",
        ),
        RuntimeError::BadDeviceIndex { .. } => ("E0955", 2, "list the devices with `tkc devices`"),
        RuntimeError::NoVulkan { .. } | RuntimeError::NoDevice => (
            "E0956",
            3,
            "install a Vulkan driver (e.g. mesa-vulkan-drivers) or use --device interp",
        ),
        RuntimeError::BadArguments { .. } => (
            "E0908",
            2,
            "check the --arg values against the kernel's parameters",
        ),
        _ => ("E0950", 3, "the Vulkan driver reported a failure"),
    };
    let mut fail = device_failure(code, error.to_string(), help);
    fail.code = exit;
    fail
}
