//! Kernel parameters as a launch sees them: a name and a kind (a buffer of an element type, or a
//! scalar). Shared by the IR, the argument binder (`abi::bind`) and the APIs over it.
use super::ScalarType;

/// One runtime parameter of a kernel (consts are folded away before launch).
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    pub kind: ParamKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// A buffer; `pointee` is its element type.
    Pointer { pointee: ScalarType, mutable: bool },
    /// A runtime scalar (i32 u32 i64 u64 f32 f16 bool).
    Scalar(ScalarType),
}
