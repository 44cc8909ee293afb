//! Shared vocabulary of every stage: source files and spans, diagnostics, arenas and scalar types.
pub mod arena;
pub mod buffer;
pub mod diag;
pub mod source;
pub mod types;

pub use arena::{Arena, Id};
pub use buffer::{HostBuffer, KernelArg};
pub use diag::{Diagnostic, Diagnostics, Label, Severity};
pub use source::{FileId, SourceFile, SourceMap, Span};
pub use types::{Literal, ScalarType};
