//! Binding a launch's arguments to a kernel's parameters: the one place that checks values given
//! by name or by position (unknown names, consts, values given twice or missing, the wrong kind
//! of value, a buffer's element type, an integer outside its type) and orders them into the
//! `KernelArg`s the interpreter and the runtime take.
//!
//! Every edge goes through it: the CLI's `--arg p=…`, the Rust API's `Launch::arg`, the runtime's
//! and the interpreter's check of ordered arguments, and the Python bindings (numpy arrays and
//! Python scalars by position and by name, consts by keyword). Errors are data: a `BindError`
//! names the kernel and holds a `Problem` naming the parameter. `BindError::message` says it in
//! one sentence; an edge with more to say (the CLI's codes, labels and help, the Rust API's
//! `&mut`) renders the problem in its own words from the same facts.
//!
//! It depends only on `base` and the ABI, so the runtime may use it.
use std::fmt;

use super::Abi;
use crate::base::{HostBuffer, KernelArg, Literal, Param, ParamKind, ScalarType};

/// A kernel's parameters as a launch binds them.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub kernel: String,
    /// The runtime parameters in declaration order: a launch gives one value for each.
    pub runtime: Vec<Param>,
    /// The const parameters' names. Consts are set when the kernel is compiled; a launch argument
    /// naming one is told so rather than that the name is unknown.
    pub consts: Vec<String>,
}

/// Which parameter a value is for: a name, or a position among the runtime parameters (from 0;
/// consts take no position).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key<'a> {
    Name(&'a str),
    Position(usize),
}

impl<'a> From<&'a str> for Key<'a> {
    fn from(name: &'a str) -> Key<'a> {
        Key::Name(name)
    }
}

impl From<usize> for Key<'_> {
    fn from(position: usize) -> Key<'static> {
        Key::Position(position)
    }
}

/// One argument as a caller gives it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A buffer. `writable` is false when the caller forbids the kernel to write it (the Rust
    /// API's `&`, a read-only numpy array): a `*mut` parameter refuses it.
    Buffer { buffer: HostBuffer, writable: bool },
    /// A scalar. `ty` is its type when the caller's language gives it one (a Rust `i64`, a numpy
    /// `float32`); `None` for an untyped value (a Python `int` or `float`, text parsed for the
    /// parameter), which takes the parameter's type when it fits: an untyped integer may be
    /// passed for a float parameter, a typed one may not.
    Scalar {
        value: Literal,
        ty: Option<ScalarType>,
    },
}

/// What a given value was, for the checks and for error messages.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Given {
    Buffer {
        elem: ScalarType,
        bytes: usize,
        writable: bool,
    },
    Scalar {
        value: Literal,
        ty: Option<ScalarType>,
    },
}

/// Arguments that do not fit a kernel's parameters: which kernel, and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct BindError {
    pub kernel: String,
    pub problem: Problem,
}

/// What is wrong with a launch's arguments; each names the parameter it concerns.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// No runtime parameter or const has this name; `params` are the runtime parameters' names.
    UnknownName { name: String, params: Vec<String> },
    /// The name is a const's, which is set when the kernel is compiled, not at launch.
    Const { name: String },
    /// A position past the runtime parameters (`count` of them).
    UnknownPosition { position: usize, count: usize },
    /// A second value for one parameter.
    GivenTwice { param: String },
    /// Parameters no value was given for, in declaration order.
    Missing { params: Vec<Param> },
    /// Ordered arguments, one per runtime parameter, of the wrong count.
    Count { expected: usize, given: usize },
    /// A value of the wrong kind (buffer, bool, integer, float) or the wrong element type.
    Mismatch {
        param: String,
        wanted: ParamKind,
        given: Given,
    },
    /// A read-only buffer for a parameter the kernel writes.
    ReadOnly { param: String, elem: ScalarType },
    /// An integer outside the range of the parameter's type.
    OutOfRange {
        param: String,
        ty: ScalarType,
        value: i128,
    },
    /// A buffer whose bytes are not a whole number of its elements.
    PartialElement {
        param: String,
        bytes: usize,
        elem: ScalarType,
    },
    /// The ABI's parameter indices do not number its `count` parameters once each.
    BadIndex {
        param: String,
        index: u32,
        count: usize,
    },
}

impl Params {
    pub fn new(kernel: impl Into<String>, runtime: Vec<Param>, consts: Vec<String>) -> Params {
        Params {
            kernel: kernel.into(),
            runtime,
            consts,
        }
    }

    /// The parameters an ABI describes: its buffers and scalar fields ordered by parameter index.
    /// An ABI knows no consts.
    pub fn from_abi(abi: &Abi) -> Result<Params, BindError> {
        let buffers = abi.buffers.iter().map(|binding| {
            let kind = ParamKind::Pointer {
                pointee: binding.elem,
                mutable: binding.writable,
            };
            (binding.param_index, &binding.param, kind)
        });
        let scalars = abi
            .push_fields
            .iter()
            .map(|field| (field.param_index, &field.param, ParamKind::Scalar(field.ty)));
        let count = abi.buffers.len() + abi.push_fields.len();
        let mut slots: Vec<Option<Param>> = vec![None; count];
        for (index, name, kind) in buffers.chain(scalars) {
            match slots.get_mut(index as usize) {
                Some(slot @ None) => {
                    *slot = Some(Param {
                        name: name.clone(),
                        kind,
                    })
                }
                _ => {
                    return Err(BindError {
                        kernel: abi.kernel.clone(),
                        problem: Problem::BadIndex {
                            param: name.clone(),
                            index,
                            count,
                        },
                    })
                }
            }
        }
        // `count` entries each filled a distinct one of `count` slots: none is left empty.
        let runtime = slots.into_iter().flatten().collect();
        Ok(Params::new(abi.kernel.clone(), runtime, Vec::new()))
    }

    fn error(&self, problem: Problem) -> BindError {
        BindError {
            kernel: self.kernel.clone(),
            problem,
        }
    }

    /// The index among the runtime parameters of the one `key` names.
    pub fn resolve(&self, key: Key) -> Result<usize, BindError> {
        match key {
            Key::Name(name) => self
                .runtime
                .iter()
                .position(|param| param.name == name)
                .ok_or_else(|| {
                    let name = name.to_string();
                    self.error(if self.consts.contains(&name) {
                        Problem::Const { name }
                    } else {
                        let params = self.runtime.iter().map(|p| p.name.clone()).collect();
                        Problem::UnknownName { name, params }
                    })
                }),
            Key::Position(position) if position < self.runtime.len() => Ok(position),
            Key::Position(position) => Err(self.error(Problem::UnknownPosition {
                position,
                count: self.runtime.len(),
            })),
        }
    }

    /// Checks arguments already in parameter order (the runtime's and the interpreter's input),
    /// without moving them. A buffer may be written (`KernelArg` does not say otherwise) and a
    /// scalar is untyped.
    pub fn check(&self, args: &[KernelArg]) -> Result<(), BindError> {
        if args.len() != self.runtime.len() {
            return Err(self.error(Problem::Count {
                expected: self.runtime.len(),
                given: args.len(),
            }));
        }
        for (param, arg) in self.runtime.iter().zip(args) {
            let given = match arg {
                KernelArg::Buffer(buffer) => Given::Buffer {
                    elem: buffer.elem,
                    bytes: buffer.data.len(),
                    writable: true,
                },
                KernelArg::Scalar(value) => Given::Scalar {
                    value: *value,
                    ty: None,
                },
            };
            check_value(param, given).map_err(|problem| self.error(problem))?;
        }
        Ok(())
    }
}

/// Whether `given` may be passed for `param`.
fn check_value(param: &Param, given: Given) -> Result<(), Problem> {
    let mismatch = || Problem::Mismatch {
        param: param.name.clone(),
        wanted: param.kind,
        given,
    };
    match (param.kind, given) {
        (
            ParamKind::Pointer { pointee, mutable },
            Given::Buffer {
                elem,
                bytes,
                writable,
            },
        ) => {
            if elem != pointee {
                Err(mismatch())
            } else if mutable && !writable {
                Err(Problem::ReadOnly {
                    param: param.name.clone(),
                    elem,
                })
            } else if bytes % elem.bytes() as usize != 0 {
                Err(Problem::PartialElement {
                    param: param.name.clone(),
                    bytes,
                    elem,
                })
            } else {
                Ok(())
            }
        }
        (ParamKind::Scalar(wanted), Given::Scalar { value, ty }) => match value {
            Literal::Bool(_) if wanted.is_bool() => Ok(()),
            Literal::Float(_) if wanted.is_float() => Ok(()),
            Literal::Int(_) if wanted.is_float() && ty.is_none_or(|ty| ty.is_float()) => Ok(()),
            Literal::Int(value) => match wanted.int_range() {
                Some((min, max)) if (min..=max).contains(&value) => Ok(()),
                Some(_) => Err(Problem::OutOfRange {
                    param: param.name.clone(),
                    ty: wanted,
                    value,
                }),
                None => Err(mismatch()),
            },
            _ => Err(mismatch()),
        },
        _ => Err(mismatch()),
    }
}

impl Value {
    fn given(&self) -> Given {
        match self {
            Value::Buffer { buffer, writable } => Given::Buffer {
                elem: buffer.elem,
                bytes: buffer.data.len(),
                writable: *writable,
            },
            Value::Scalar { value, ty } => Given::Scalar {
                value: *value,
                ty: *ty,
            },
        }
    }

    /// The argument for `param`, which the value was checked to fit: an integer for a float
    /// parameter becomes a float.
    fn into_arg(self, param: &Param) -> KernelArg {
        match (self, param.kind) {
            (Value::Buffer { buffer, .. }, _) => KernelArg::Buffer(buffer),
            (
                Value::Scalar {
                    value: Literal::Int(value),
                    ..
                },
                ParamKind::Scalar(ty),
            ) if ty.is_float() => KernelArg::Scalar(Literal::Float(value as f64)),
            (Value::Scalar { value, .. }, _) => KernelArg::Scalar(value),
        }
    }
}

/// Binds values to a kernel's parameters one by one, then orders them: `bind` each (by name or
/// position), then `finish`.
#[derive(Debug)]
pub struct Binder<'p> {
    params: &'p Params,
    args: Vec<Option<KernelArg>>,
}

impl<'p> Binder<'p> {
    pub fn new(params: &'p Params) -> Binder<'p> {
        Binder {
            params,
            args: vec![None; params.runtime.len()],
        }
    }

    /// The index and parameter `key` names, when it may still be given: known, not a const, not
    /// given already. (The CLI reads a value's text by its parameter's type.)
    pub fn param<'k>(&self, key: impl Into<Key<'k>>) -> Result<(usize, &'p Param), BindError> {
        let index = self.params.resolve(key.into())?;
        let param = &self.params.runtime[index];
        if self.args[index].is_some() {
            return Err(self.params.error(Problem::GivenTwice {
                param: param.name.clone(),
            }));
        }
        Ok((index, param))
    }

    /// Checks `value` against the parameter `key` names and keeps it; returns the parameter's
    /// index.
    pub fn bind<'k>(&mut self, key: impl Into<Key<'k>>, value: Value) -> Result<usize, BindError> {
        let (index, param) = self.param(key)?;
        check_value(param, value.given()).map_err(|problem| self.params.error(problem))?;
        self.args[index] = Some(value.into_arg(param));
        Ok(index)
    }

    /// The arguments in parameter order, once every parameter has a value.
    pub fn finish(self) -> Result<Vec<KernelArg>, BindError> {
        let missing: Vec<Param> = self
            .params
            .runtime
            .iter()
            .zip(&self.args)
            .filter(|(_, arg)| arg.is_none())
            .map(|(param, _)| param.clone())
            .collect();
        if !missing.is_empty() {
            return Err(self.params.error(Problem::Missing { params: missing }));
        }
        Ok(self.args.into_iter().flatten().collect())
    }
}

/// Names as `` `a`, `b`, `c` ``.
pub fn quoted_names<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = names.into_iter().map(|name| format!("`{name}`")).collect();
    quoted.join(", ")
}

/// `count` and the noun, plural unless one: "1 argument", "3 arguments".
fn counted(count: usize, noun: &str) -> String {
    format!("{count} {noun}{}", if count == 1 { "" } else { "s" })
}

/// A parameter's kind with its article: "a *mut f32", "a i32 scalar".
fn describe_kind(kind: ParamKind) -> String {
    match kind {
        ParamKind::Pointer { pointee, mutable } => {
            format!("a *{}{pointee}", if mutable { "mut " } else { "" })
        }
        ParamKind::Scalar(ty) => format!("a {ty} scalar"),
    }
}

/// A given value: "a read-only buffer of i32", "a f32 scalar", "the integer 3".
fn describe_given(given: Given) -> String {
    match given {
        Given::Buffer {
            elem,
            writable: false,
            ..
        } => format!("a read-only buffer of {elem}"),
        Given::Buffer { elem, .. } => format!("a buffer of {elem}"),
        Given::Scalar { ty: Some(ty), .. } => format!("a {ty} scalar"),
        Given::Scalar { value, ty: None } => match value {
            Literal::Bool(value) => format!("the bool {value}"),
            Literal::Int(value) => format!("the integer {value}"),
            Literal::Float(value) => format!("the float {value}"),
        },
    }
}

impl BindError {
    /// The problem in one sentence, without the kernel (which `Display` adds).
    pub fn message(&self) -> String {
        match &self.problem {
            Problem::UnknownName { name, params } => format!(
                "no parameter `{name}` (the parameters are {})",
                quoted_names(params.iter().map(String::as_str))
            ),
            Problem::Const { name } => {
                format!("`{name}` is a const, set when the kernel is compiled, not at launch")
            }
            Problem::UnknownPosition { position, count } => format!(
                "there is no parameter at position {position} (counting from 0): the kernel takes \
                 {}",
                counted(*count, "argument")
            ),
            Problem::GivenTwice { param } => format!("`{param}` is given twice"),
            Problem::Missing { params } => format!(
                "missing argument{} {}",
                if params.len() == 1 { "" } else { "s" },
                quoted_names(params.iter().map(|p| p.name.as_str()))
            ),
            Problem::Count { expected, given } => {
                format!("expected {}, got {given}", counted(*expected, "argument"))
            }
            Problem::Mismatch {
                param,
                wanted,
                given,
            } => format!(
                "`{param}` is {}, but the launch passes {}",
                describe_kind(*wanted),
                describe_given(*given)
            ),
            Problem::ReadOnly { param, elem } => format!(
                "`{param}` is a *mut {elem} the kernel writes, but the launch passes a read-only \
                 buffer"
            ),
            Problem::OutOfRange { param, ty, value } => {
                let (min, max) = ty.int_range().unwrap_or_default();
                format!(
                    "`{param}` is a {ty} scalar, but the launch passes {value}, which does not \
                     fit in {ty} ({min} to {max})"
                )
            }
            Problem::PartialElement { param, bytes, elem } => {
                format!("`{param}` holds {bytes} bytes, not a whole number of {elem} elements")
            }
            Problem::BadIndex {
                param,
                index,
                count,
            } => format!(
                "the ABI gives `{param}` parameter index {index}, which another parameter has or \
                 which is past its {count} parameters"
            ),
        }
    }
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bad arguments for kernel `{}`: {}",
            self.kernel,
            self.message()
        )
    }
}

impl std::error::Error for BindError {}

#[cfg(test)]
mod tests;
