//! Fuzz target: every kernel that checks lowers, schedules and emits SPIR-V that loads back
//! (spirv-val runs on the corpus in `tests/fuzz_corpus.rs`; `TK_FUZZ_SPIRV_VAL=1` runs it here).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for artifact in tk_fuzz::compile(text) {
            if std::env::var_os("TK_FUZZ_SPIRV_VAL").is_some() {
                if let Err(e) = tk_fuzz::spirv_val(&artifact.words) {
                    panic!("{e}");
                }
            }
        }
    }
});
