//! Host-side buffers: the bytes of one pointer argument, as read from and written to `.npy` files,
//! handed to the interpreter or the Vulkan runtime.
use super::{Literal, ScalarType};

/// A dense little-endian array. `bool` elements take one byte (0 or 1), as in numpy.
#[derive(Debug, Clone, PartialEq)]
pub struct HostBuffer {
    pub elem: ScalarType,
    /// The shape to write back (from the input `.npy` or the `zeros:` spec).
    pub shape: Vec<usize>,
    pub data: Vec<u8>,
}

impl HostBuffer {
    pub fn zeros(elem: ScalarType, shape: Vec<usize>) -> HostBuffer {
        let len: usize = shape.iter().product();
        HostBuffer {
            elem,
            data: vec![0; len * elem.bytes() as usize],
            shape,
        }
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len() / self.elem.bytes() as usize
    }
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    pub fn from_f32(values: &[f32], shape: Vec<usize>) -> HostBuffer {
        HostBuffer {
            elem: ScalarType::F32,
            shape,
            data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }
    pub fn from_i32(values: &[i32], shape: Vec<usize>) -> HostBuffer {
        HostBuffer {
            elem: ScalarType::I32,
            shape,
            data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }
    pub fn to_f32(&self) -> Vec<f32> {
        self.data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }
    pub fn to_i32(&self) -> Vec<i32> {
        self.data
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }
}

/// One kernel argument, in the kernel's runtime-parameter order: a buffer for a pointer parameter,
/// a value for a scalar one. Shared by the interpreter and the Vulkan runtime.
#[derive(Debug, Clone, PartialEq)]
pub enum KernelArg {
    Buffer(HostBuffer),
    Scalar(Literal),
}
