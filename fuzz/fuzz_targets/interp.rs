//! Fuzz target: every kernel that checks runs on the interpreter (small buffers, a work budget)
//! without panicking or finding invalid IR.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        tk_fuzz::interpret(text);
    }
});
