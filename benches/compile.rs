//! Compile time of every example, source text to SPIR-V words (parse, check, elaborate, schedule,
//! emit), for a CPU device (lavapipe's schedule) and for portable output. Run with
//! `cargo bench --bench compile`; targets (issue 4): vector add < 1 ms, matmul < 10 ms.
use criterion::{criterion_group, criterion_main, Criterion};
use tk::abi::Target;
use tk::driver::{self, BuildOptions, DiskLoader, Source};
use tk::sema::FileLoader;

const EXAMPLES: &[(&str, &str)] = &[
    ("vector_add", "vector_add"),
    ("softmax", "softmax"),
    ("cumsum", "cumsum_rows"),
    ("col_sum", "col_sum"),
    ("layer_norm", "layer_norm_fwd"),
    ("layer_norm", "layer_norm_bwd_dx"),
    ("matmul", "matmul"),
    ("attention", "attention_fwd"),
    ("grouped_gemm", "grouped_matmul_tile"),
    ("layer_norm", "layer_norm_bwd_dwdb"),
];

/// Source text to SPIR-V words for one kernel at its const defaults.
fn compile(path: &str, text: &str, kernel: &str, target: &Target) -> usize {
    let source = Source::new(path, text);
    let build = driver::build(&source, kernel, &[], target, &BuildOptions::default());
    build.expect("builds").artifact.words.len()
}

fn bench(c: &mut Criterion) {
    let root = env!("CARGO_MANIFEST_DIR");
    for (file, kernel) in EXAMPLES {
        let path = format!("{root}/examples/{file}.tk");
        let text = DiskLoader
            .load(std::path::Path::new(&path))
            .unwrap_or_else(|| panic!("{path}"));
        for (name, target) in [("cpu", Target::cpu()), ("portable", Target::portable())] {
            c.bench_function(&format!("compile/{kernel}/{name}"), |b| {
                b.iter(|| compile(&path, &text, kernel, &target))
            });
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
