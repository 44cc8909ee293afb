//! `.npy` files to and from `HostBuffer`s (npyz). Errors are sentences for the user.
use crate::base::{HostBuffer, ScalarType};
use std::path::Path;

/// The tk element type of a numpy type string such as `<f4` or `|b1`.
fn scalar_type_of(type_str: &str) -> Option<ScalarType> {
    let body = type_str.trim_start_matches(['<', '>', '|', '=']);
    Some(match body {
        "b1" => ScalarType::Bool,
        "i1" => ScalarType::I8,
        "i2" => ScalarType::I16,
        "i4" => ScalarType::I32,
        "i8" => ScalarType::I64,
        "u1" => ScalarType::U8,
        "u2" => ScalarType::U16,
        "u4" => ScalarType::U32,
        "u8" => ScalarType::U64,
        "f2" => ScalarType::F16,
        "f4" => ScalarType::F32,
        "f8" => ScalarType::F64,
        _ => return None,
    })
}

/// numpy's name of a tk element type (for messages).
pub fn numpy_name(ty: ScalarType) -> &'static str {
    use ScalarType::*;
    match ty {
        Bool => "bool",
        I8 => "int8",
        I16 => "int16",
        I32 => "int32",
        I64 => "int64",
        U8 => "uint8",
        U16 => "uint16",
        U32 => "uint32",
        U64 => "uint64",
        F16 => "float16",
        BF16 => "bfloat16",
        F32 => "float32",
        F64 => "float64",
    }
}

fn bytes_of<T: npyz::Deserialize>(
    file: npyz::NpyFile<&[u8]>,
    to_le: impl Fn(T) -> Vec<u8>,
) -> Result<Vec<u8>, String> {
    let values = file
        .into_vec::<T>()
        .map_err(|e| format!("cannot read the array data: {e}"))?;
    Ok(values.into_iter().flat_map(to_le).collect())
}

/// The largest array tk reads: 2^31 elements (the buffers' index range) and 16 GiB.
const MAX_ELEMENTS: u64 = 1 << 31;

/// Reads a C-ordered `.npy` file. Every way a file can be malformed (not a file, no magic, a
/// garbled header, an unsupported dtype, data shorter or longer than the header's shape, a shape
/// too large to hold) is an error sentence naming the file; nothing is allocated before the sizes
/// are known to agree.
pub fn read(path: &Path) -> Result<HostBuffer, String> {
    let name = path.display();
    if path.is_dir() {
        return Err(format!("{name} is a directory, not a .npy file"));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot open {name}: {e}"))?;
    if bytes.is_empty() {
        return Err(format!("{name} is empty, not a .npy file"));
    }
    if !bytes.starts_with(b"\x93NUMPY") {
        return Err(format!(
            "{name} is not a .npy file (it does not start with the magic bytes \\x93NUMPY)"
        ));
    }
    // A header whose shape overflows is rejected by looking at the dict text before npyz
    // multiplies the dimensions.
    check_header_shape(&bytes).map_err(|why| format!("{name} has a bad header: {why}"))?;
    let mut reader: &[u8] = &bytes;
    let header = npyz::NpyHeader::from_reader(&mut reader)
        .map_err(|e| format!("{name} has a bad header: {e}"))?;
    let data_len = reader.len() as u64;
    let npy = npyz::NpyFile::with_header(header, reader);
    let type_str = match npy.dtype() {
        npyz::DType::Plain(type_str) => type_str.to_string(),
        other => {
            return Err(format!(
                "{name} holds a structured array ({}); tk reads plain numeric arrays",
                other.descr()
            ))
        }
    };
    let elem = scalar_type_of(&type_str)
        .ok_or_else(|| format!("{name} has dtype `{type_str}`, which tk does not support"))?;
    if npy.order() == npyz::Order::Fortran && npy.shape().len() > 1 {
        return Err(format!(
            "{name} is Fortran-ordered; save it with np.ascontiguousarray(a)"
        ));
    }
    let dims: Vec<String> = npy.shape().iter().map(|d| d.to_string()).collect();
    let shape_text = format!("({})", dims.join(", "));
    let elements = npy
        .shape()
        .iter()
        .try_fold(1u64, |n, &d| n.checked_mul(d))
        .filter(|&n| n <= MAX_ELEMENTS)
        .ok_or_else(|| {
            format!("{name} has shape {shape_text}, more than the 2^31 elements tk can pass")
        })?;
    let expected = elements * elem.bytes() as u64;
    if data_len < expected {
        return Err(format!(
            "{name} is truncated: its header promises shape {shape_text} of {} ({expected} bytes) \
             but only {data_len} bytes of data follow",
            numpy_name(elem)
        ));
    }
    if data_len > expected {
        return Err(format!(
            "{name} has {} bytes after the data of shape {shape_text} of {}; it is not a valid \
             .npy file",
            data_len - expected,
            numpy_name(elem)
        ));
    }
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    use ScalarType::*;
    let data = match elem {
        Bool => bytes_of::<bool>(npy, |v| vec![v as u8])?,
        I8 => bytes_of::<i8>(npy, |v| v.to_le_bytes().to_vec())?,
        I16 => bytes_of::<i16>(npy, |v| v.to_le_bytes().to_vec())?,
        I32 => bytes_of::<i32>(npy, |v| v.to_le_bytes().to_vec())?,
        I64 => bytes_of::<i64>(npy, |v| v.to_le_bytes().to_vec())?,
        U8 => bytes_of::<u8>(npy, |v| vec![v])?,
        U16 => bytes_of::<u16>(npy, |v| v.to_le_bytes().to_vec())?,
        U32 => bytes_of::<u32>(npy, |v| v.to_le_bytes().to_vec())?,
        U64 => bytes_of::<u64>(npy, |v| v.to_le_bytes().to_vec())?,
        F16 => bytes_of::<half::f16>(npy, |v| v.to_le_bytes().to_vec())?,
        F32 => bytes_of::<f32>(npy, |v| v.to_le_bytes().to_vec())?,
        F64 => bytes_of::<f64>(npy, |v| v.to_le_bytes().to_vec())?,
        BF16 => unreachable!("numpy has no bfloat16 type string"),
    };
    Ok(HostBuffer { elem, shape, data })
}

/// Rejects a header whose `'shape'` tuple has a dimension that does not fit in 64 bits or whose
/// product overflows (npyz would overflow multiplying them). Headers it cannot find a shape in
/// are left to npyz.
fn check_header_shape(bytes: &[u8]) -> Result<(), String> {
    let header_end = bytes.len().min(1 << 16);
    let text = String::from_utf8_lossy(&bytes[..header_end]);
    let Some(at) = text.find("'shape'") else {
        return Ok(());
    };
    let rest = &text[at..];
    let (Some(open), Some(close)) = (rest.find('('), rest.find(')')) else {
        return Ok(());
    };
    if close < open {
        return Ok(());
    }
    let mut product: u64 = 1;
    for dim in rest[open + 1..close]
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        let dim: u64 = dim
            .trim_end_matches('L')
            .parse()
            .map_err(|_| format!("shape entry `{dim}` is not a size"))?;
        product = product
            .checked_mul(dim)
            .ok_or_else(|| format!("shape {} is too large", &rest[open..=close]))?;
    }
    Ok(())
}

fn write_values<T: npyz::AutoSerialize>(
    path: &Path,
    shape: &[u64],
    values: impl Iterator<Item = T>,
) -> std::io::Result<()> {
    use npyz::WriterBuilder;
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(shape)
        .writer(file)
        .begin_nd()?;
    writer.extend(values)?;
    writer.finish()
}

/// Writes a buffer as a C-ordered `.npy` file with the buffer's shape.
pub fn write(path: &Path, buffer: &HostBuffer) -> Result<(), String> {
    let shape: Vec<u64> = buffer.shape.iter().map(|&d| d as u64).collect();
    let bytes = &buffer.data;
    macro_rules! le {
        ($t:ty, $n:expr) => {
            write_values(
                path,
                &shape,
                bytes
                    .chunks_exact($n)
                    .map(|c| <$t>::from_le_bytes(c.try_into().unwrap())),
            )
        };
    }
    use ScalarType::*;
    let result = match buffer.elem {
        Bool => write_values(path, &shape, bytes.iter().map(|&b| b != 0)),
        I8 => le!(i8, 1),
        I16 => le!(i16, 2),
        I32 => le!(i32, 4),
        I64 => le!(i64, 8),
        U8 => le!(u8, 1),
        U16 => le!(u16, 2),
        U32 => le!(u32, 4),
        U64 => le!(u64, 8),
        F16 => le!(half::f16, 2),
        F32 => le!(f32, 4),
        F64 => le!(f64, 8),
        BF16 => {
            return Err(
                "numpy has no bfloat16 dtype; cast the buffer to f32 in the kernel to save it"
                    .into(),
            )
        }
    };
    result.map_err(|e| format!("cannot write {}: {e}", path.display()))
}
