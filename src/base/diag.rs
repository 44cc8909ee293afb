//! Diagnostics are data: a stable code, a message, labelled spans and a help. They are rendered only
//! at the edge (`render`, used by the CLI and tests; the LSP reads the fields directly).
//!
//! Code ranges: E01xx lexing and parsing, E02xx names and items, E03xx types, E04xx shapes,
//! E05xx compile-time evaluation, E06xx unsupported features and device limits, E09xx command line
//! and input files. Internal compiler errors use code `ICE` and make `tkc` exit with 101.
use super::source::{SourceMap, Span};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable code such as `E0301`; documented in `docs/diagnostics.md`.
    pub code: &'static str,
    pub message: String,
    /// The first label is the primary location.
    pub labels: Vec<Label>,
    pub help: Option<String>,
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            labels: Vec::new(),
            help: None,
            notes: Vec::new(),
        }
    }
    pub fn warning(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }
    /// An internal compiler error: a bug in tk, never the user's fault.
    pub fn internal(message: impl Into<String>) -> Diagnostic {
        Diagnostic::error(
            "ICE",
            format!("internal compiler error: {}", message.into()),
        )
        .with_help("this is a bug in tk; please report it with the kernel that triggered it")
    }
    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }
    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }
    pub fn primary_span(&self) -> Option<Span> {
        self.labels.first().map(|l| l.span)
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
    pub fn is_internal(&self) -> bool {
        self.code == "ICE"
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.code, self.message)
    }
}

/// An ordered collection of diagnostics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }
    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics { items: vec![d] }
    }
}

/// The miette view of one diagnostic over one source file.
#[derive(Debug)]
struct Report<'a> {
    diagnostic: &'a Diagnostic,
    source: miette::NamedSource<String>,
    labels: Vec<miette::LabeledSpan>,
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.diagnostic.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{kind}[{}]: {}",
            self.diagnostic.code, self.diagnostic.message
        )
    }
}
impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        let mut text = self.diagnostic.help.clone().unwrap_or_default();
        for note in &self.diagnostic.notes {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str("note: ");
            text.push_str(note);
        }
        if text.is_empty() {
            None
        } else {
            Some(Box::new(text))
        }
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        if self.labels.is_empty() {
            None
        } else {
            Some(&self.source)
        }
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.clone().into_iter()))
        }
    }
}

/// Renders diagnostics as text with miette: `error[CODE]: message`, then the source line under a
/// `╭─[file:line:col]` header with the labels, then the help. `color` selects ANSI colours (for
/// terminals) or plain text (for files and snapshots).
pub fn render(diagnostics: &Diagnostics, sources: &SourceMap, color: bool) -> String {
    let mut out = String::new();
    for diagnostic in diagnostics.iter() {
        out.push_str(&render_one(diagnostic, sources, color));
    }
    out
}

/// Source lines longer than this are not drawn: miette cannot underline past column 65535 (it
/// panics), and such a line is unreadable anyway. The diagnostic gets a `note: at file:line:col`.
const MAX_DRAWN_LINE: usize = 4096;

pub fn render_one(diagnostic: &Diagnostic, sources: &SourceMap, color: bool) -> String {
    let primary = diagnostic
        .primary_span()
        .filter(|s| (s.file.0 as usize) < sources.files.len());
    if let Some(span) = primary {
        let text = sources.file(span.file).text.as_bytes();
        let long = diagnostic.labels.iter().any(|l| {
            let start = (l.span.start as usize).min(text.len());
            let end = (l.span.end as usize).clamp(start, text.len());
            let line_start = text[..start]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            let line_end = text[end..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(text.len(), |i| end + i);
            line_end - line_start > MAX_DRAWN_LINE
        });
        if long {
            let (line, col) = sources.line_col(span.file, span.start);
            let mut plain = diagnostic.clone();
            plain.labels.clear();
            let name = &sources.file(span.file).name;
            plain.notes.insert(
                0,
                format!("at {name}:{line}:{col} (the line is too long to show)"),
            );
            return render_one(&plain, sources, color);
        }
    }
    let (source, labels) = match primary {
        Some(span) => {
            let file = sources.file(span.file);
            let labels = diagnostic
                .labels
                .iter()
                .filter(|l| l.span.file == span.file)
                .map(|l| {
                    let start = (l.span.start as usize).min(file.text.len());
                    let len = (l.span.len()).min(file.text.len() - start);
                    let text = if l.message.is_empty() {
                        None
                    } else {
                        Some(l.message.clone())
                    };
                    miette::LabeledSpan::new(text, start, len)
                })
                .collect();
            (
                miette::NamedSource::new(file.name.clone(), file.text.clone()),
                labels,
            )
        }
        None => (
            miette::NamedSource::new(String::new(), String::new()),
            Vec::new(),
        ),
    };
    let report = Report {
        diagnostic,
        source,
        labels,
    };
    let theme = if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme).with_width(100);
    let mut text = String::new();
    if handler.render_report(&mut text, &report).is_err() {
        text = format!("{report}\n");
    }
    text
}
