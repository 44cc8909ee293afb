//! The autotuner end to end: a kernel with `#[autotune]` is tuned by the first `tkc run`, the
//! choice is persisted under `$XDG_CACHE_HOME/tk/tune`, and a second process reuses it;
//! `tkc tune` prints the table; results stay right under every config.
use std::path::{Path, PathBuf};
use std::process::Command;

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
    let output = Command::new(env!("CARGO_BIN_EXE_tkc"))
        .current_dir(dir)
        .args([command, "add_one.tk", "--arg", "x=zeros:3000"])
        .args([
            "--arg",
            &format!("out=zeros:{n}"),
            "--arg",
            &format!("n={n}"),
        ])
        .args(extra)
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
