//! Fuzz target: structure-aware differential fuzzing. A generated well-typed kernel must check,
//! compile to SPIR-V that loads, and give the same buffers on the interpreter and on the Vulkan
//! device (opened once, with the validation layer on, so the layer also validates the SPIR-V);
//! `TK_FUZZ_DEVICE_EVERY=N` runs one case in N on the device (see `tk_fuzz::on_device`).
//! With `TK_FUZZ_DUMP_DIR=dir` each case is also written there as a `.tk` file (run with
//! `-runs=0` over the corpus to render it for `tests/fuzz_corpus.rs`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|kernel: tk_fuzz::gen::Kernel| {
    let case = tk_fuzz::gen::render(&kernel);
    let run = tk_fuzz::on_device(&case);
    let ran = match tk_fuzz::differential(&case, tk_fuzz::shared_device(), run) {
        Ok(ran) => ran,
        Err(e) => panic!("{e}\n--- kernel ---\n{}", case.source),
    };
    if let (true, Some(dir)) = (ran, std::env::var_os("TK_FUZZ_DUMP_DIR")) {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        case.source.hash(&mut hasher);
        case.x.iter().for_each(|v| v.to_bits().hash(&mut hasher));
        case.y.hash(&mut hasher);
        (case.n, case.s.to_bits()).hash(&mut hasher);
        let path = std::path::Path::new(&dir).join(format!("{:016x}.tk", hasher.finish()));
        let _ = std::fs::write(path, tk_fuzz::case_file(&case));
    }
});
