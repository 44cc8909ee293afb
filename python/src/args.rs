//! Python values into the API's arguments: numpy arrays into host buffers (dtype, layout and
//! writeability checked), Python and numpy scalars into untyped and typed scalars, keywords into
//! consts.
use numpy::npyffi::flags::NPY_ARRAY_WRITEABLE;
use numpy::{PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt};
use tk::api::{ArgValue, Const};
use tk::base::{HostBuffer, Literal, ScalarType};

use crate::errors::launch_error;

/// tk's element type of a numpy dtype: bool, int/uint 8-64, float16/32/64 and ml_dtypes'
/// bfloat16, in the machine's byte order.
pub(crate) fn elem_of_dtype(dtype: &Bound<'_, numpy::PyArrayDescr>) -> Result<ScalarType, String> {
    let name: String = dtype
        .getattr("name")
        .and_then(|n| n.extract())
        .unwrap_or_default();
    if dtype.is_native_byteorder() == Some(false) {
        return Err(format!(
            "its dtype {name} is not in the machine's byte order: convert it with \
             .astype(numpy.dtype('{name}').newbyteorder('='))"
        ));
    }
    use ScalarType::*;
    Ok(match (dtype.kind(), dtype.itemsize()) {
        (b'b', 1) => Bool,
        (b'i', 1) => I8,
        (b'i', 2) => I16,
        (b'i', 4) => I32,
        (b'i', 8) => I64,
        (b'u', 1) => U8,
        (b'u', 2) => U16,
        (b'u', 4) => U32,
        (b'u', 8) => U64,
        (b'f', 2) => F16,
        (b'f', 4) => F32,
        (b'f', 8) => F64,
        (_, 2) if name == "bfloat16" => BF16,
        _ => {
            return Err(format!(
                "numpy arrays of dtype {name} have no tk element type (tk takes bool, int8 to \
                 int64, uint8 to uint64, float16, float32, float64 and ml_dtypes.bfloat16)"
            ))
        }
    })
}

/// One launch argument as Python gave it, converted.
pub(crate) enum Arg<'py> {
    Array {
        array: Bound<'py, PyUntypedArray>,
        host: HostBuffer,
        /// Bound to a `*mut` parameter and writeable: the launch writes the result back.
        write_back: bool,
    },
    Scalar(ArgValue<'static>),
}

pub(crate) fn is_writeable(array: &Bound<'_, PyUntypedArray>) -> bool {
    // SAFETY: `as_array_ptr` points at the live array object the `Bound` keeps alive.
    unsafe { (*array.as_array_ptr()).fields.flags & NPY_ARRAY_WRITEABLE != 0 }
}

/// The bytes of a C-contiguous array.
pub(crate) fn array_bytes<'a>(array: &'a Bound<'_, PyUntypedArray>, elem: ScalarType) -> &'a [u8] {
    let len = array.len() * elem.bytes() as usize;
    if len == 0 {
        return &[];
    }
    // SAFETY: the array is C-contiguous (checked by the caller) with `len()` elements of
    // `elem.bytes()` bytes each, starting at its data pointer; the GIL is held.
    unsafe {
        let data = (*array.as_array_ptr()).fields.data as *const u8;
        std::slice::from_raw_parts(data, len)
    }
}

/// Converts one Python value for the parameter `param` (its name, for errors; `mutable` when it
/// is a `*mut` pointer).
pub(crate) fn convert<'py>(
    py: Python<'py>,
    kernel: &str,
    param: Option<(&str, bool)>,
    value: &Bound<'py, PyAny>,
) -> PyResult<Arg<'py>> {
    let name = param.map(|p| p.0.to_string());
    let refuse = |message: String| launch_error(py, kernel, name.clone(), message);
    let label = name.clone().unwrap_or_else(|| "an argument".to_string());
    if let Ok(array) = value.cast::<PyUntypedArray>() {
        let elem =
            elem_of_dtype(&array.dtype()).map_err(|why| refuse(format!("`{label}`: {why}")))?;
        if !array.is_c_contiguous() {
            return Err(refuse(format!(
                "`{label}` is not C-contiguous (a slice with steps, or a transpose): tk refuses \
                 it rather than copy silently; pass numpy.ascontiguousarray({label}) and read \
                 the result from that array"
            )));
        }
        let host = HostBuffer {
            elem,
            shape: array.shape().to_vec(),
            data: array_bytes(array, elem).to_vec(),
        };
        let write_back = param.is_some_and(|p| p.1) && is_writeable(array);
        return Ok(Arg::Array {
            array: array.clone(),
            host,
            write_back,
        });
    }
    if value.is_instance_of::<PyBool>() {
        return Ok(Arg::Scalar(ArgValue::Untyped(Literal::Bool(
            value.extract()?,
        ))));
    }
    if value.is_instance_of::<PyInt>() {
        let v: i128 = value
            .extract()
            .map_err(|_| refuse(format!("`{label}`: the integer does not fit in 128 bits")))?;
        return Ok(Arg::Scalar(ArgValue::Untyped(Literal::Int(v))));
    }
    if value.is_instance_of::<PyFloat>() {
        return Ok(Arg::Scalar(ArgValue::Untyped(Literal::Float(
            value.extract()?,
        ))));
    }
    // A numpy scalar (numpy.float32(1.5), numpy.int64(3)): typed by its dtype.
    let numpy = py.import("numpy")?;
    if value.is_instance(&numpy.getattr("generic")?)? {
        let dtype = value.getattr("dtype")?.cast_into::<numpy::PyArrayDescr>()?;
        let ty = elem_of_dtype(&dtype).map_err(|why| refuse(format!("`{label}`: {why}")))?;
        let item = value.call_method0("item")?;
        let literal = if ty.is_bool() {
            Literal::Bool(item.extract()?)
        } else if ty.is_float() {
            Literal::Float(item.extract()?)
        } else {
            Literal::Int(item.extract()?)
        };
        return Ok(Arg::Scalar(ArgValue::Scalar(ty, literal)));
    }
    Err(refuse(format!(
        "`{label}` is a {}: tk takes numpy arrays for pointer parameters and Python or numpy \
         numbers for scalars",
        value.get_type().name()?
    )))
}

/// A const value from a keyword.
pub(crate) fn const_of(
    py: Python<'_>,
    kernel: &str,
    name: &str,
    value: &Bound<'_, PyAny>,
) -> PyResult<Const> {
    let literal = if value.is_instance_of::<PyBool>() {
        Literal::Bool(value.extract()?)
    } else if let Ok(v) = value.extract::<i128>() {
        Literal::Int(v)
    } else if let Ok(v) = value.extract::<f64>() {
        Literal::Float(v)
    } else {
        return Err(launch_error(
            py,
            kernel,
            Some(name.to_string()),
            format!("the const `{name}` takes a bool, an int or a float"),
        ));
    };
    Ok(Const(literal))
}
