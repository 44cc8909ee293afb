//! Conformance suite: tables of cases generated in Rust, each compiled into batched kernels, run
//! on the reference interpreter and on the Vulkan device, and compared with a plain Rust
//! reference. One case is one (operation, dtype, shape or variant) checked on both backends.
//! `cargo test --test conformance -- --nocapture` prints the number of cases per category.
#[path = "../common/mod.rs"]
mod common;

mod atomics;
mod binary;
mod casts;
mod control;
mod dot;
mod harness;
mod legacy;
mod reductions;
mod scans;
mod shapes;
mod unary;

use harness::*;

/// Cases that fail today because of a bug outside the test: (case, backend, reason).
const KNOWN_FAILURES: &[KnownFailure] = &[(
    "unary/round/f64/range",
    "vulkan",
    "lavapipe's GLSL.std.450 RoundEven on f64 rounds the tie -27.5 to -27 (f32 ties are right; \
     the interpreter gives -28)",
)];

fn run_all(title: &str, batches: Vec<Batch>) {
    let device = common::device();
    let mut outcomes = Vec::new();
    let filter = std::env::var("TK_CONFORMANCE_FILTER").unwrap_or_default();
    for batch in batches.iter().filter(|b| b.label.contains(&filter)) {
        outcomes.extend(run_batch(batch, &device));
    }
    finish(title, &outcomes, KNOWN_FAILURES);
}

#[test]
fn binary_ops() {
    run_all("binary", binary::batches());
}

#[test]
fn unary_math() {
    run_all("unary", unary::batches());
}

#[test]
fn casts() {
    run_all("casts", casts::batches());
}

#[test]
fn reductions() {
    run_all("reductions", reductions::batches());
}

#[test]
fn scans() {
    run_all("scans", scans::batches());
}

#[test]
fn dot() {
    run_all("dot", dot::batches());
}

#[test]
fn atomics() {
    run_all("atomics", atomics::batches());
}

#[test]
fn shape_ops() {
    run_all("shapes", shapes::batches());
}

#[test]
fn control_flow() {
    run_all("control", control::batches());
}

/// The suite's size, counted from the tables without running them.
#[test]
fn case_count() {
    let categories: [(&str, Vec<Batch>); 9] = [
        ("binary", binary::batches()),
        ("unary", unary::batches()),
        ("casts", casts::batches()),
        ("reductions", reductions::batches()),
        ("scans", scans::batches()),
        ("dot", dot::batches()),
        ("atomics", atomics::batches()),
        ("shapes", shapes::batches()),
        ("control", control::batches()),
    ];
    let mut total = 0;
    for (name, batches) in &categories {
        let n: usize = batches.iter().map(|b| b.cases.len()).sum();
        let kernels: usize = batches.iter().map(|b| b.kernels()).sum();
        println!("{name}: {n} cases in {kernels} kernels");
        total += n;
    }
    println!("total: {total} cases");
    assert!(total >= 1500, "the conformance suite has {total} cases");
}
