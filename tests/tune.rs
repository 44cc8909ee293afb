//! Tuning end to end. The autotuner: a kernel with `#[autotune]` is tuned by the first `tkc run`,
//! the choice is persisted under `$XDG_CACHE_HOME/tk/tune`, and a second process reuses it;
//! `tkc tune` prints the table; results stay right under every config. The schedule search: a
//! kernel without configs is searched by `tkc tune` (progress and table), the winner is stored
//! and reused by `tkc run` and the library; candidates past the device's limits are pruned
//! untimed; candidates that compute something else are caught before the device times them.
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tk::base::{HostBuffer, KernelArg, Literal, ScalarType};
use tk::driver::{self, DiskLoader};
use tk::tune::{self, SearchOptions};

const KERNEL: &str = "
#[grid(cdiv(n, BLOCK))]
#[autotune(key = [n], configs = [{BLOCK = 64, threads = 32}, {BLOCK = 256, threads = 64}, {BLOCK = 1024}])]
kernel add_one(x: *f32, out: *mut f32, n: i32, const BLOCK: i32 = 128) {
    let offs = program_id(0) * BLOCK + arange(0, BLOCK);
    store(out + offs, load(x + offs, mask: offs < n) + 1.0, mask: offs < n);
}
";

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tk-tune-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn tkc(dir: &Path, command: &str, n: usize, extra: &[&str]) -> (bool, String, String) {
    let (out, n) = (format!("out=zeros:{n}"), format!("n={n}"));
    let mut args = vec![
        command,
        "add_one.tk",
        "--arg",
        "x=zeros:3000",
        "--arg",
        &out,
    ];
    args.extend(["--arg", &n]);
    args.extend(extra);
    tkc_in(dir, &args)
}

fn records(dir: &Path) -> Vec<String> {
    match std::fs::read_dir(dir.join("cache/tk/tune")) {
        Ok(entries) => entries
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn tunes_once_then_reuses_across_processes() {
    let dir = temp_dir("reuse");
    std::fs::write(dir.join("add_one.tk"), KERNEL).unwrap();
    let (ok, stdout, stderr) = tkc(&dir, "run", 3000, &[]);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("autotune: tuned 3 configs for n=3000"),
        "{stderr}"
    );
    assert!(
        stdout.contains("out: f32[3000] [1, 1, 1, 1, …, 1, 1, 1]"),
        "{stdout}"
    );
    let saved = records(&dir);
    assert_eq!(saved.len(), 1);
    let record = &saved[0];
    assert!(
        record.starts_with("tk-tune 1\nkernel add_one\n"),
        "{record}"
    );
    assert!(
        record.contains("config 0 {BLOCK = 64, threads = 32} "),
        "{record}"
    );
    assert!(record.contains("config 2 {BLOCK = 1024} "), "{record}");
    let choice: usize = record
        .lines()
        .find_map(|l| l.strip_prefix("choice "))
        .unwrap()
        .parse()
        .unwrap();
    let chosen = [
        "{BLOCK = 64, threads = 32}",
        "{BLOCK = 256, threads = 64}",
        "{BLOCK = 1024}",
    ][choice];

    let (ok, stdout, stderr) = tkc(&dir, "run", 3000, &[]);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains(&format!("autotune: reused {chosen} for n=3000")),
        "{stderr}"
    );
    assert!(!stderr.contains("tuned"), "{stderr}");
    assert!(
        stdout.contains("out: f32[3000] [1, 1, 1, 1, …, 1, 1, 1]"),
        "{stdout}"
    );
    assert_eq!(records(&dir).len(), 1, "reusing writes nothing new");

    // A new key value tunes again, into its own record.
    let (ok, _, stderr) = tkc(&dir, "run", 2000, &[]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("tuned 3 configs for n=2000"), "{stderr}");
    assert_eq!(records(&dir).len(), 2);

    // A -D of a tuned const is the user's choice: no tuning.
    let (ok, _, stderr) = tkc(&dir, "run", 3000, &["-D", "BLOCK=512"]);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("skipped, `-D BLOCK` fixes a tuned const"),
        "{stderr}"
    );
}

#[test]
fn tkc_tune_prints_the_table() {
    let dir = temp_dir("table");
    std::fs::write(dir.join("add_one.tk"), KERNEL).unwrap();
    let (ok, stdout, stderr) = tkc(&dir, "tune", 3000, &["--iterations", "3"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("kernel:  add_one on "), "{stdout}");
    assert!(stdout.contains("key:     n=3000"), "{stdout}");
    assert_eq!(stdout.matches(" ms  {BLOCK = ").count(), 3, "{stdout}");
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with('*')).count(),
        1,
        "{stdout}"
    );
    assert!(stdout.contains("saved:   "), "{stdout}");
    // The next run reuses what `tkc tune` saved.
    let (ok, _, stderr) = tkc(&dir, "run", 3000, &[]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("autotune: reused"), "{stderr}");
}

/// `add_one` without configs: the search finds its tile and workgroup size.
const SEARCHED: &str = "
#[grid(cdiv(n, BLOCK))]
kernel add_one(x: *f32, out: *mut f32, n: i32, const BLOCK: i32 = 128) {
    let offs = program_id(0) * BLOCK + arange(0, BLOCK);
    store(out + offs, load(x + offs, mask: offs < n) + 1.0, mask: offs < n);
}
";

/// Runs `tkc` in `dir` with its own cache.
fn tkc_in(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tkc"))
        .current_dir(dir)
        .args(args)
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .env(
            "XDG_RUNTIME_DIR",
            std::env::var("XDG_RUNTIME_DIR").unwrap_or_else(|_| "/tmp".into()),
        )
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The row of the table the search chose.
fn chosen_row(stdout: &str) -> String {
    let chosen: Vec<&str> = stdout.lines().filter(|l| l.starts_with("* ")).collect();
    assert_eq!(chosen.len(), 1, "{stdout}");
    assert!(
        chosen[0].ends_with("chosen") || chosen[0].contains("chosen,"),
        "{stdout}"
    );
    chosen[0].to_string()
}

/// The config text `{...}` of a table row.
fn config_of(row: &str) -> String {
    let start = row.find('{').unwrap();
    let end = row.find('}').unwrap();
    row[start..=end].to_string()
}

#[test]
fn a_kernel_without_configs_is_searched_then_reused() {
    let dir = temp_dir("search");
    std::fs::write(dir.join("add_one.tk"), SEARCHED).unwrap();
    let launch = [
        "add_one.tk",
        "--arg",
        "x=zeros:3000",
        "--arg",
        "out=zeros:3000",
        "--arg",
        "n=3000",
    ];
    let mut tune_args = vec!["tune"];
    tune_args.extend(launch);
    tune_args.extend(["--max-timed", "2", "--iterations", "2"]);
    let (ok, stdout, stderr) = tkc_in(&dir, &tune_args);
    assert!(ok, "{stderr}");
    // The table: what was searched, the model's work, what was timed, the choice.
    assert!(stdout.contains("kernel:  add_one on "), "{stdout}");
    assert!(stdout.contains("key:     n=3000"), "{stdout}");
    assert!(stdout.contains("space:   BLOCK × threads"), "{stdout}");
    assert!(stdout.contains("model:   "), "{stdout}");
    assert!(
        stdout.contains("predicted") && stdout.contains("measured"),
        "{stdout}"
    );
    let timed_rows = stdout
        .lines()
        .filter(|l| l.contains(" ms  ") && l.matches(" ms").count() == 2);
    assert!((1..=2).contains(&timed_rows.count()), "{stdout}");
    let chosen = config_of(&chosen_row(&stdout));
    assert!(stdout.contains("saved:   "), "{stdout}");
    // Progress on stderr (one line per timed candidate when stderr is not a terminal).
    assert!(
        stderr.contains(&format!("tkc: tune: timed {chosen}: ")),
        "{stderr}"
    );
    let saved = records(&dir);
    assert_eq!(saved.len(), 1);
    assert!(
        saved[0].starts_with("tk-tune 1\nkernel add_one\nsearch\nconfig 0 {BLOCK = "),
        "{}",
        saved[0]
    );

    // A run with the same key reuses the choice and times nothing.
    let mut run_args = vec!["run"];
    run_args.extend(launch);
    let (ok, stdout, stderr) = tkc_in(&dir, &run_args);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "tkc: tune: reused the searched {chosen} for n=3000"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("timed"), "{stderr}");
    assert!(
        stdout.contains("out: f32[3000] [1, 1, 1, 1, …, 1, 1, 1]"),
        "{stdout}"
    );
    assert_eq!(records(&dir).len(), 1, "reusing writes nothing");

    // Another problem size has no stored search: the run keeps the defaults.
    let (ok, _, stderr) = tkc_in(
        &dir,
        &[
            "run",
            "add_one.tk",
            "--arg",
            "x=zeros:2000",
            "--arg",
            "out=zeros:2000",
            "--arg",
            "n=2000",
        ],
    );
    assert!(ok, "{stderr}");
    assert!(!stderr.contains("reused"), "{stderr}");
}

#[test]
fn candidates_past_the_device_limits_are_pruned_untimed() {
    // `trans` moves the whole tile through shared memory: a 128×128 f32 tile needs 64 KiB,
    // past lavapipe's 32 KiB. The `static_assert` leaves small tiles (cheap to time) and
    // 128 (too big); what it refuses does not compile.
    let source = "
#[grid(cdiv(n, BLOCK), cdiv(n, BLOCK))]
kernel transpose(x: *f32, out: *mut f32, n: i32, const BLOCK: i32 = 8) {
    static_assert(BLOCK <= 8 || BLOCK >= 128, \"small tiles or whole rows\");
    let rows = program_id(0) * BLOCK + arange(0, BLOCK);
    let cols = program_id(1) * BLOCK + arange(0, BLOCK);
    let tile = load(x + rows[:, None] * n + cols[None, :], mask: (rows[:, None] < n) & (cols[None, :] < n));
    let mask = (cols[:, None] < n) & (rows[None, :] < n);
    store(out + cols[:, None] * n + rows[None, :], trans(tile), mask: mask);
}
";
    let dir = temp_dir("limits");
    std::fs::write(dir.join("transpose.tk"), source).unwrap();
    let (ok, stdout, stderr) = tkc_in(
        &dir,
        &[
            "tune",
            "transpose.tk",
            "--arg",
            "x=zeros:128x128",
            "--arg",
            "out=zeros:128x128",
            "--arg",
            "n=128",
            "--max-timed",
            "2",
            "--iterations",
            "2",
        ],
    );
    assert!(ok, "{stderr}");
    let limits = stdout
        .lines()
        .find(|l| l.contains("pass the device's limits"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(limits.contains("{BLOCK = 128, threads = "), "{limits}");
    assert!(
        limits.contains("error[E0608]: this reshape or permute needs 65536 bytes"),
        "{limits}"
    );
    let asserted = stdout
        .lines()
        .find(|l| l.contains("do not compile"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(asserted.contains("static assertion failed"), "{asserted}");
    assert!(!stderr.contains("{BLOCK = 128"), "never timed: {stderr}");
    assert!(!config_of(&chosen_row(&stdout)).contains("BLOCK = 128"));
}

#[test]
fn candidates_that_compute_something_else_are_caught_before_timing() {
    // One program sums a whole row: a BLOCK shorter than the row sums part of it, yet stores
    // as much as the defaults do, so only the result check can tell.
    let source = "
#[grid(n_rows)]
kernel row_sum(x: *f32, out: *mut f32, n_rows: i32, n_cols: i32, const BLOCK: i32 = 64) {
    let cols = arange(0, BLOCK);
    let v = load(x + program_id(0) * n_cols + cols, mask: cols < n_cols, other: 0.0);
    store(out + program_id(0), sum(v, axis: 0));
}
";
    let dir = temp_dir("wrong");
    std::fs::write(dir.join("row_sum.tk"), source).unwrap();
    let (ok, stdout, stderr) = tkc_in(
        &dir,
        &[
            "tune",
            "row_sum.tk",
            "--arg",
            "x=zeros:64x64",
            "--arg",
            "out=zeros:64",
            "--arg",
            "n_rows=64",
            "--arg",
            "n_cols=64",
            "--max-timed",
            "1",
            "--iterations",
            "2",
        ],
    );
    assert!(ok, "{stderr}");
    assert!(
        config_of(&chosen_row(&stdout)).starts_with("{BLOCK = 64,"),
        "{stdout}"
    );
    let failed: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("failed:  "))
        .collect();
    assert!(!failed.is_empty(), "{stdout}");
    for line in failed {
        assert!(line.contains("wrong results: `out["), "{line}");
        assert!(line.contains("where the defaults give"), "{line}");
        assert!(!line.contains("BLOCK = 64,"), "{line}");
    }
}

#[test]
fn the_library_search_reuses_its_record() {
    let device = common::device();
    let program = driver::check_source("add_one.tk", SEARCHED, &DiskLoader);
    assert!(!program.has_errors());
    let n = 1000;
    let args = vec![
        KernelArg::Buffer(HostBuffer::zeros(ScalarType::F32, vec![n])),
        KernelArg::Buffer(HostBuffer::zeros(ScalarType::F32, vec![n])),
        KernelArg::Scalar(Literal::Int(n as i128)),
    ];
    let dir = temp_dir("library");
    let options = SearchOptions {
        max_timed: 1,
        iterations: 2,
        budget: Duration::from_secs(20),
        records: Some(dir.clone()),
        ..SearchOptions::default()
    };
    // Searches, or reuses the record; counts the progress events.
    let search_or_reuse = || {
        let mut events = 0;
        let searched = tune::search_or_reuse(
            &device,
            &program,
            "add_one",
            &[],
            &args,
            None,
            &options,
            false,
            &mut |_| events += 1,
        )
        .unwrap();
        (searched, events)
    };
    let (first, events) = search_or_reuse();
    let search = first.search.as_ref().expect("the first call searches");
    assert!(events > 0);
    assert_eq!(search.timed().len(), 1);
    assert!(first.record.as_ref().is_some_and(|p| p.exists()));

    let (second, events) = search_or_reuse();
    assert!(second.search.is_none(), "the second call reuses the record");
    assert_eq!(events, 0, "and times nothing");
    assert_eq!(second.config, first.config);
    let lowered = driver::lower(&program, "add_one", &[]).unwrap();
    let (keys, record) = tune::search_record(
        &device,
        &program,
        &lowered.kernel,
        &[],
        &args,
        true,
        Some(&dir),
    );
    assert_eq!(keys, ["n=1000"]);
    assert_eq!(record, first.record);
    let stored = tune::stored_config(&record.unwrap(), "add_one");
    assert_eq!(stored, Some(first.config));
}
