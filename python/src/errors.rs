//! The exceptions tk raises in Python and the conversion of the API's errors into them:
//! diagnostics for `CompileError`, the parameter and message of a `LaunchError`, where a
//! `KernelError` stopped, and everything from the device as `DeviceError`.
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyFileNotFoundError, PyOSError};
use pyo3::prelude::*;
use pyo3::BoundObject;
use tk::abi::bind::{BindError, Problem};
use tk::api;
use tk::base::{diag, ParamKind};

create_exception!(
    tk,
    TkError,
    PyException,
    "The base of every error tk raises."
);
create_exception!(
    tk,
    CompileError,
    TkError,
    "The source has errors. `.diagnostics` lists them (each with `code`, `message`, `line`, \
     `column`); `str()` renders them as `tkc check` does."
);
create_exception!(
    tk,
    LaunchError,
    TkError,
    "The arguments do not fit the kernel (a wrong dtype, a missing or unknown parameter, a grid \
     too large, ...). `.kernel`, `.parameter` (or None) and `.message` say which and what."
);
create_exception!(
    tk,
    KernelError,
    TkError,
    "Safe mode stopped the kernel: an access out of bounds (`.parameter`, `.index`, `.store`) or \
     a failed `device_assert` (`.message`, `.location`, `.element`); `.kernel` and `.program` \
     name where."
);
create_exception!(
    tk,
    DeviceError,
    TkError,
    "The Vulkan device failed, or lacks a feature or a limit the kernel needs."
);

/// One diagnostic of a `CompileError`: a stable code (`E0201`), the message, where (file, line,
/// column, 1-based; None without a location), the help, and `str()` as `tkc check` renders it.
#[pyclass(frozen, module = "tk")]
pub(crate) struct Diagnostic {
    #[pyo3(get)]
    code: String,
    #[pyo3(get)]
    message: String,
    /// "error" or "warning".
    #[pyo3(get)]
    severity: String,
    #[pyo3(get)]
    file: Option<String>,
    #[pyo3(get)]
    line: Option<usize>,
    #[pyo3(get)]
    column: Option<usize>,
    #[pyo3(get)]
    help: Option<String>,
    #[pyo3(get)]
    notes: Vec<String>,
    rendered: String,
}

#[pymethods]
impl Diagnostic {
    fn __str__(&self) -> String {
        self.rendered.clone()
    }

    fn __repr__(&self) -> String {
        match (&self.file, self.line, self.column) {
            (Some(file), Some(line), Some(column)) => format!(
                "<Diagnostic {} at {file}:{line}:{column}: {}>",
                self.code, self.message
            ),
            _ => format!("<Diagnostic {}: {}>", self.code, self.message),
        }
    }
}

pub(crate) fn diagnostics_of(
    diagnostics: &tk::base::Diagnostics,
    sources: &tk::base::SourceMap,
) -> Vec<Diagnostic> {
    diagnostics
        .iter()
        .map(|d| {
            let place = d
                .primary_span()
                .filter(|span| (span.file.0 as usize) < sources.files.len())
                .map(|span| {
                    let (line, column) = sources.line_col(span.file, span.start);
                    (sources.file(span.file).name.clone(), line, column)
                });
            Diagnostic {
                code: d.code.to_string(),
                message: d.message.clone(),
                severity: if d.is_error() { "error" } else { "warning" }.to_string(),
                file: place.as_ref().map(|p| p.0.clone()),
                line: place.as_ref().map(|p| p.1),
                column: place.as_ref().map(|p| p.2),
                help: d.help.clone(),
                notes: d.notes.clone(),
                rendered: diag::render_one(d, sources, false),
            }
        })
        .collect()
}

/// Builds an exception of type `T` with message `message` and attributes `fields`.
pub(crate) fn raise<T: pyo3::PyTypeInfo>(
    py: Python<'_>,
    message: String,
    fields: &[(&str, Py<PyAny>)],
) -> PyErr {
    let error = PyErr::new::<T, _>(message.clone());
    let value = error.value(py);
    let _ = value.setattr("message", message);
    for (name, field) in fields {
        let _ = value.setattr(*name, field.clone_ref(py));
    }
    error
}

pub(crate) fn obj<'py, T: IntoPyObject<'py>>(py: Python<'py>, value: T) -> Py<PyAny> {
    value
        .into_pyobject(py)
        .map(|v| v.into_any().unbind())
        .unwrap_or_else(|_| py.None())
}

/// The parameter a binder finding is about.
pub(crate) fn problem_param(problem: &Problem) -> Option<String> {
    match problem {
        Problem::UnknownName { name, .. } | Problem::Const { name } => Some(name.clone()),
        Problem::GivenTwice { param }
        | Problem::Mismatch { param, .. }
        | Problem::ReadOnly { param, .. }
        | Problem::OutOfRange { param, .. }
        | Problem::PartialElement { param, .. }
        | Problem::BadIndex { param, .. } => Some(param.clone()),
        Problem::Missing { params } => params.first().map(|p| p.name.clone()),
        Problem::UnknownPosition { .. } | Problem::Count { .. } => None,
    }
}

/// A binder finding in a numpy user's words: the binder's sentence, and for an array of another
/// dtype the conversion that fits.
pub(crate) fn problem_message(kernel: &str, problem: &Problem) -> String {
    let sentence = BindError {
        kernel: kernel.to_string(),
        problem: problem.clone(),
    }
    .message();
    match problem {
        Problem::Mismatch {
            param,
            wanted: ParamKind::Pointer { pointee, .. },
            given: tk::abi::bind::Given::Buffer { elem, .. },
        } => format!(
            "{sentence} (numpy {}): convert it with {param}.astype(numpy.{})",
            tk::npy::numpy_name(*elem),
            tk::npy::numpy_name(*pointee)
        ),
        Problem::ReadOnly { .. } => format!("{sentence} (the array is not writeable)"),
        _ => sentence,
    }
}

/// `KernelError` for an access outside buffer `param`: one a program ran into on the device
/// (`program`), or one a launch contract refused before anything ran (`None`).
pub(crate) fn out_of_bounds(
    py: Python<'_>,
    text: String,
    kernel: String,
    param: String,
    index: i64,
    store: bool,
    program: Option<[u32; 3]>,
) -> PyErr {
    raise::<KernelError>(
        py,
        text,
        &[
            ("kernel", obj(py, kernel)),
            ("parameter", obj(py, param)),
            ("index", obj(py, index)),
            ("store", obj(py, store)),
            ("program", obj(py, program.map(|p| p.to_vec()))),
            ("location", py.None()),
            ("element", py.None()),
        ],
    )
}

pub(crate) fn launch_error(
    py: Python<'_>,
    kernel: &str,
    param: Option<String>,
    message: String,
) -> PyErr {
    raise::<LaunchError>(
        py,
        format!("bad arguments for kernel `{kernel}`: {message}"),
        &[
            ("kernel", obj(py, kernel)),
            ("parameter", obj(py, param)),
            ("reason", obj(py, message)),
        ],
    )
}

/// The Python exception for an API error.
pub(crate) fn to_py_err(py: Python<'_>, error: api::Error) -> PyErr {
    use tk::runtime::RuntimeError;
    let text = error.to_string();
    match error {
        api::Error::Compile {
            rendered,
            diagnostics,
            sources,
        } => {
            let list: Vec<Py<PyAny>> = diagnostics_of(&diagnostics, &sources)
                .into_iter()
                .map(|d| {
                    Py::new(py, d)
                        .map(|d| d.into_any())
                        .unwrap_or_else(|_| py.None())
                })
                .collect();
            raise::<CompileError>(py, rendered, &[("diagnostics", obj(py, list))])
        }
        api::Error::Io { path, message } => {
            if std::path::Path::new(&path).exists() {
                PyOSError::new_err(text)
            } else {
                PyFileNotFoundError::new_err(format!("cannot read `{path}`: {message}"))
            }
        }
        api::Error::Arguments {
            kernel,
            message,
            problem,
        } => match problem {
            Some(problem) => {
                let message = problem_message(&kernel, &problem);
                launch_error(py, &kernel, problem_param(&problem), message)
            }
            None => launch_error(py, &kernel, None, message),
        },
        api::Error::OutOfBounds {
            kernel,
            param,
            index,
            store,
            program,
        } => out_of_bounds(py, text, kernel, param, index, store, Some(program)),
        // A launch refused by a bounds contract: an out-of-bounds access caught before it ran.
        api::Error::Runtime(RuntimeError::ContractBroken {
            kernel,
            param,
            index,
            store,
            ..
        }) => out_of_bounds(py, text, kernel, param, index, store, None),
        api::Error::AssertFailed {
            kernel,
            message,
            location,
            element,
            program,
        } => {
            let error = raise::<KernelError>(
                py,
                text,
                &[
                    ("kernel", obj(py, kernel)),
                    ("parameter", py.None()),
                    ("index", obj(py, element)),
                    ("store", py.None()),
                    ("program", obj(py, program.to_vec())),
                    ("location", obj(py, location)),
                    ("element", obj(py, element)),
                ],
            );
            let _ = error.value(py).setattr("assert_message", message);
            error
        }
        api::Error::Runtime(
            RuntimeError::GridTooLarge { .. }
            | RuntimeError::BufferTooLarge { .. }
            | RuntimeError::BadArguments { .. },
        ) => {
            let kernel = match &error_kernel(&text) {
                Some(kernel) => kernel.clone(),
                None => String::new(),
            };
            raise::<LaunchError>(
                py,
                text.clone(),
                &[
                    ("kernel", obj(py, kernel)),
                    ("parameter", py.None()),
                    ("reason", obj(py, text)),
                ],
            )
        }
        api::Error::Runtime(_) | api::Error::Interpreter(_) => raise::<DeviceError>(py, text, &[]),
    }
}

/// The kernel a runtime message names in backquotes after "kernel", if any.
pub(crate) fn error_kernel(text: &str) -> Option<String> {
    let rest = &text[text.find("kernel `")? + "kernel `".len()..];
    Some(rest[..rest.find('`')?].to_string())
}
