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
    file: npyz::NpyFile<std::io::BufReader<std::fs::File>>,
    to_le: impl Fn(T) -> Vec<u8>,
) -> Result<Vec<u8>, String> {
    let values = file
        .into_vec::<T>()
        .map_err(|e| format!("cannot read the array data: {e}"))?;
    Ok(values.into_iter().flat_map(to_le).collect())
}

/// Reads a C-ordered `.npy` file.
pub fn read(path: &Path) -> Result<HostBuffer, String> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let npy = npyz::NpyFile::new(std::io::BufReader::new(file))
        .map_err(|e| format!("{} is not a valid .npy file: {e}", path.display()))?;
    let type_str = match npy.dtype() {
        npyz::DType::Plain(type_str) => type_str.to_string(),
        other => {
            return Err(format!(
                "{} holds a structured array ({}); tk reads plain numeric arrays",
                path.display(),
                other.descr()
            ))
        }
    };
    let elem = scalar_type_of(&type_str).ok_or_else(|| {
        format!(
            "{} has dtype `{type_str}`, which tk does not support",
            path.display()
        )
    })?;
    if npy.order() == npyz::Order::Fortran && npy.shape().len() > 1 {
        return Err(format!(
            "{} is Fortran-ordered; save it with np.ascontiguousarray(a)",
            path.display()
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
