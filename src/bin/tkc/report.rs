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
            text: diag::render_one(&diagnostic, &self.sources, color()),
        }
    }
}

pub(crate) fn color() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

pub(crate) fn program_errors(diagnostics: &Diagnostics, sources: &SourceMap) -> Fail {
    let internal = diagnostics.iter().any(Diagnostic::is_internal);
    Fail {
        code: if internal { 101 } else { 1 },
        text: diag::render(diagnostics, sources, color()),
    }
}

pub(crate) fn device_failure(code: &'static str, message: String, help: &str) -> Fail {
    let diagnostic = Diagnostic::error(code, message).with_help(help);
    Fail {
        code: 3,
        text: diag::render_one(&diagnostic, &SourceMap::new(), color()),
    }
}

pub(crate) fn run_error_interp(error: tk::interp::RunError) -> Fail {
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
        RunError::AssertFailed { kernel, message, program } => {
            device_failure("E0952", format!("device_assert failed in kernel `{kernel}` (program {program:?}): {message}"), "the assertion's condition was false")
        }
        RunError::BadArguments(message) => Fail { code: 2, text: format!("error[E0908]: {message}\n") },
        RunError::BudgetExceeded { .. } => Fail { code: 3, text: format!("error[E0950]: {error}\n") },
        RunError::InvalidIr { kernel, message } => {
            Fail { code: 101, text: format!("error[ICE]: internal compiler error: invalid IR for kernel `{kernel}`: {message}\n") }
        }
    }
}

pub(crate) fn runtime_failure(error: RuntimeError) -> Fail {
    let (code, exit, help) = match &error {
        RuntimeError::OutOfBounds { .. } => (
            "E0951",
            3,
            "mask the access (mask: offs < n) or pass a larger buffer; the access was dropped",
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
        RuntimeError::BadDeviceIndex { .. } => ("E0955", 2, "list the devices with `tkc devices`"),
        RuntimeError::NoVulkan { .. } | RuntimeError::NoDevice { .. } => (
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
