//! Fuzz target: the checker (names, signatures, elaboration at const defaults) never panics and
//! never reports an internal compiler error, on any text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        tk_fuzz::check(text);
    }
});
