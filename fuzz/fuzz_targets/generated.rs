//! Fuzz target: structure-aware differential fuzzing. A generated well-typed kernel must check,
//! compile to SPIR-V that loads, and give the same buffers on the interpreter and on the Vulkan
//! device (opened once, with the validation layer on, so the layer also validates the SPIR-V).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|kernel: tk_fuzz::gen::Kernel| {
    let case = tk_fuzz::gen::render(&kernel);
    if let Err(e) = tk_fuzz::differential(&case, tk_fuzz::shared_device()) {
        panic!("{e}\n--- kernel ---\n{}", case.source);
    }
});
