//! The compiled-kernel cache: a second compile of the same kernel compiles nothing (in one
//! process, counted by `driver::SPIRV_COMPILES`, and across `tkc run` processes, reported with
//! `TK_LOG=cache`); changed sources, consts or safety miss; corrupt entries are rewritten.
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;
use tk::base::{KernelArg, Literal};
use tk::cache::{self, CacheOutcome, KernelCache};
use tk::driver::{self, Source};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tk-cache-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Serialises the tests of this binary that compile, so the compile counter sees only one.
static COMPILING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn compiling() -> std::sync::MutexGuard<'static, ()> {
    COMPILING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

const VECTOR_ADD: &str = include_str!("../examples/vector_add.tk");

/// Compiles vector_add through `cache` and returns what the cache did.
fn compile(
    device: &tk::runtime::Device,
    cache: &KernelCache,
    source: &str,
    block: i32,
    safe: bool,
) -> (tk::abi::Artifact, CacheOutcome) {
    let consts = [("BLOCK", Literal::Int(block as i128))];
    let lowered =
        driver::lower_source(&Source::new("vector_add.tk", source), "vector_add", &consts)
            .unwrap_or_else(|e| panic!("{e}"));
    let info = device.info();
    cache::compile(
        &lowered.sources,
        lowered.module,
        &device.target(),
        &info.driver,
        safe,
        Some(cache),
    )
    .unwrap()
}

#[test]
fn second_compile_in_one_process_compiles_nothing() {
    let _lock = compiling();
    let device = common::device();
    let cache = KernelCache::new(temp_dir("in-process"));
    let (first, outcome) = compile(&device, &cache, VECTOR_ADD, 256, true);
    assert_eq!(outcome, CacheOutcome::Miss);
    let before = driver::SPIRV_COMPILES.load(Ordering::SeqCst);
    let (second, outcome) = compile(&device, &cache, VECTOR_ADD, 256, true);
    let after = driver::SPIRV_COMPILES.load(Ordering::SeqCst);
    assert_eq!(outcome, CacheOutcome::Hit);
    assert_eq!(before, after, "a cache hit must not compile SPIR-V");
    assert_eq!(first, second);

    // The cached artifact runs and gives the right answer.
    let pipeline = device.load(&second).unwrap();
    let n = 1000;
    let x: Vec<f32> = (0..n).map(|i| i as f32).collect();
    let mut args = vec![
        KernelArg::Buffer(tk::base::HostBuffer::from_f32(&x, vec![n])),
        KernelArg::Buffer(tk::base::HostBuffer::from_f32(&x, vec![n])),
        KernelArg::Buffer(tk::base::HostBuffer::zeros(
            tk::base::ScalarType::F32,
            vec![n],
        )),
        KernelArg::Scalar(Literal::Int(n as i128)),
    ];
    device.launch(&pipeline, &mut args, [4, 1, 1]).unwrap();
    let KernelArg::Buffer(out) = &args[2] else {
        panic!()
    };
    assert_eq!(out.to_f32()[999], 1998.0);

    // Anything that changes the SPIR-V misses.
    assert_eq!(
        compile(&device, &cache, VECTOR_ADD, 512, true).1,
        CacheOutcome::Miss
    );
    assert_eq!(
        compile(&device, &cache, VECTOR_ADD, 256, false).1,
        CacheOutcome::Miss
    );
    let edited = format!("{VECTOR_ADD}\n// an edit\n");
    assert_eq!(
        compile(&device, &cache, &edited, 256, true).1,
        CacheOutcome::Miss
    );
    assert_eq!(
        compile(&device, &cache, VECTOR_ADD, 256, true).1,
        CacheOutcome::Hit
    );
}

#[test]
fn corrupt_entries_are_ignored_and_rewritten() {
    let _lock = compiling();
    let device = common::device();
    let dir = temp_dir("corrupt");
    let cache = KernelCache::new(&dir);
    assert_eq!(
        compile(&device, &cache, VECTOR_ADD, 128, true).1,
        CacheOutcome::Miss
    );
    let entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        entries.len(),
        1,
        "one entry, no temporary files left: {entries:?}"
    );
    let good = std::fs::read(&entries[0]).unwrap();
    std::fs::write(&entries[0], &good[..good.len() / 2]).unwrap();
    assert_eq!(
        compile(&device, &cache, VECTOR_ADD, 128, true).1,
        CacheOutcome::Miss
    );
    assert_eq!(std::fs::read(&entries[0]).unwrap(), good);
    assert_eq!(
        compile(&device, &cache, VECTOR_ADD, 128, true).1,
        CacheOutcome::Hit
    );
}

#[test]
fn pipeline_cache_data_round_trips_through_the_device() {
    let device = common::device();
    let data = device.export_pipeline_cache().unwrap();
    assert!(device.import_pipeline_cache(&data).unwrap());
    let mut foreign = data.clone();
    foreign[16] ^= 0xff; // another device's UUID
    assert!(!device.import_pipeline_cache(&foreign).unwrap());
    assert!(!device.import_pipeline_cache(b"short").unwrap());
}

fn tkc(cache_home: &Path, extra: &[&str]) -> std::process::Output {
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    let mut command = Command::new(env!("CARGO_BIN_EXE_tkc"));
    command
        .args(["run", &format!("{examples}/vector_add.tk")])
        .args(["--arg", &format!("x={examples}/data/x.npy")])
        .args(["--arg", &format!("y={examples}/data/y.npy")])
        .args([
            "--arg",
            "out=zeros:4096",
            "--arg",
            "n=4096",
            "--device",
            "auto",
        ])
        .args(extra)
        .env("XDG_CACHE_HOME", cache_home)
        .env("TK_LOG", "cache")
        .env(
            "XDG_RUNTIME_DIR",
            std::env::var("XDG_RUNTIME_DIR").unwrap_or_else(|_| "/tmp".into()),
        );
    command.output().unwrap()
}

#[test]
fn second_tkc_run_is_a_cache_hit() {
    let home = temp_dir("tkc");
    let first = tkc(&home, &[]);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{stderr}");
    assert!(stderr.contains("cache miss"), "{stderr}");
    let second = tkc(&home, &[]);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{stderr}");
    assert!(stderr.contains("cache hit"), "{stderr}");
    assert_eq!(
        first.stdout, second.stdout,
        "same output from the cached kernel"
    );
    assert!(home.join("tk/kernels").read_dir().unwrap().count() == 1);
    assert!(home.join("tk/pipelines").read_dir().unwrap().count() == 1);
    let bypass = tkc(&home, &["--no-cache"]);
    let stderr = String::from_utf8_lossy(&bypass.stderr);
    assert!(stderr.contains("cache bypassed"), "{stderr}");
}
