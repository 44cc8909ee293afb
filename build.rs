//! Generates the parser from `grammar/tk.lalrpop`, and passes a hash of the grammar to the crate
//! (`TK_GRAMMAR_HASH`) so that a parser generated from another checkout's grammar (possible when
//! several checkouts share one target directory) is caught at compile time.
fn main() {
    lalrpop::Configuration::new()
        .set_in_dir("grammar")
        .set_out_dir(std::env::var("OUT_DIR").unwrap())
        .emit_rerun_directives(true)
        .process()
        .unwrap();
    let grammar = std::fs::read("grammar/tk.lalrpop").unwrap();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in grammar {
        hash ^= byte as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    println!("cargo:rustc-env=TK_GRAMMAR_HASH={hash}");
}
