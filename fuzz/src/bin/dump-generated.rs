//! Renders generated-kernel fuzz inputs (`corpus/generated/*`, the bytes `arbitrary` decodes)
//! into `.tk` files with a `// tk-fuzz generated:` header giving the launch, so the main crate's
//! `tests/fuzz_corpus.rs` can replay them without the `arbitrary` crate.
//! Usage: `cargo run --bin dump-generated -- INPUT_DIR OUTPUT_DIR [MAX]`.
use arbitrary::{Arbitrary, Unstructured};
use tk_fuzz::gen;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (input, output) = (&args[1], &args[2]);
    let max: usize = args
        .get(3)
        .and_then(|m| m.parse().ok())
        .unwrap_or(usize::MAX);
    std::fs::create_dir_all(output).expect("create the output directory");
    let mut entries: Vec<_> = std::fs::read_dir(input)
        .expect("read the input directory")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    let mut written = 0;
    for path in entries {
        if written >= max {
            break;
        }
        let bytes = std::fs::read(&path).expect("read an input");
        let Ok(kernel) = gen::Kernel::arbitrary_take_rest(Unstructured::new(&bytes)) else {
            continue;
        };
        let case = gen::render(&kernel);
        let list = |v: Vec<String>| v.join(",");
        let header = format!(
            "// tk-fuzz generated: block={} n={} s={} x={} y={}\n",
            case.block,
            case.n,
            case.s,
            list(case.x.iter().map(|v| v.to_string()).collect()),
            list(case.y.iter().map(|v| v.to_string()).collect()),
        );
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        std::fs::write(format!("{output}/{name}.tk"), header + &case.source)
            .expect("write a kernel");
        written += 1;
    }
    eprintln!("wrote {written} kernels to {output}");
}
