//! Shared vocabulary of every stage: source files and spans, diagnostics, arenas, scalar types
//! and kernel parameters.
pub mod arena;
pub mod buffer;
pub mod diag;
pub mod param;
pub mod source;
pub mod types;

pub use arena::{Arena, Id};
pub use buffer::{HostBuffer, KernelArg};
pub use diag::{Diagnostic, Diagnostics, Label, Severity};
pub use param::{Param, ParamKind};
pub use source::{FileId, SourceFile, SourceMap, Span};
pub use types::{Literal, ScalarType};
