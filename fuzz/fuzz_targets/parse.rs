//! Fuzz target: the lexer and parser never panic and always return a file, on any text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = tk::syntax::parse(text, Default::default());
    }
});
