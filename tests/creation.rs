//! The creation builtins fill `bool` blocks too: `zeros(shape, bool)` and `zeros_like` of a bool
//! block are `false`, `full(shape, true, bool)` is `true`, on the interpreter and on the Vulkan
//! device (where a bool buffer element is 4 bytes and the host's is 1).
mod common;

use common::*;
use tk::base::{HostBuffer, KernelArg, ScalarType};

/// Bool bytes as `HostBuffer` holds them (one byte each, 0 or 1).
fn bools(values: &[bool]) -> KernelArg {
    KernelArg::Buffer(HostBuffer {
        elem: ScalarType::Bool,
        shape: vec![values.len()],
        data: values.iter().map(|&b| b as u8).collect(),
    })
}

#[test]
fn bool_blocks_are_created_false_or_full() {
    let source = "
#[grid(1)]
kernel k(x: *bool, zero: *mut bool, like: *mut bool, full_true: *mut bool) {
    let r = arange(0, 4);
    store(zero + r, zeros([4], bool));
    store(like + r, zeros_like(load(x + r)));
    store(full_true + r, full([4], true, bool));
}
";
    let device = device();
    for backend in [Backend::Interp, Backend::Vulkan(&device)] {
        let args = [
            bools(&[true, false, true, true]),
            bools(&[true; 4]),
            bools(&[true; 4]),
            bools(&[false; 4]),
        ];
        let out = run_source(source, "k", &[], &args, [1, 1, 1], &backend)
            .unwrap_or_else(|e| panic!("{e}"));
        let name = match backend {
            Backend::Interp => "interpreter",
            Backend::Vulkan(_) => "device",
        };
        assert_eq!(buffer(&out, 1).data, vec![0; 4], "zeros on the {name}");
        assert_eq!(buffer(&out, 2).data, vec![0; 4], "zeros_like on the {name}");
        assert_eq!(buffer(&out, 3).data, vec![1; 4], "full on the {name}");
    }
}
