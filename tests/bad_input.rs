//! Bad input of every kind through the `tkc` binary: malformed `.npy` files, dtype and shape
//! mismatches, missing and unknown arguments, bad grid expressions, huge tiles, deep nesting,
//! non-UTF-8 and binary sources, empty files and directories. Each case asserts the exit code
//! (docs/language.md §10), the diagnostic code and the message, and that nothing panicked.
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `tkc` (validation layer on for device runs) and returns (exit code, stdout, stderr).
fn tkc(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tkc"))
        .args(args)
        .env("XDG_RUNTIME_DIR", "/tmp")
        .env("NO_COLOR", "1")
        .env("TK_VALIDATION", "1")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run tkc");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Asserts the exit code, that stderr carries `error[code]` and every one of `needles`, and that
/// nothing panicked or reported an internal error.
fn expect(args: &[&str], exit: i32, code: &str, needles: &[&str]) -> String {
    let (status, _, stderr) = tkc(args);
    assert!(
        !stderr.contains("error[ICE]") && !stderr.contains("panicked at"),
        "tkc {args:?} panicked:\n{stderr}"
    );
    // miette wraps long messages at 100 columns behind a `│`; join them back for the needles.
    let joined: String = stderr
        .lines()
        .map(|line| line.trim_start_matches([' ', '│']).trim_end())
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(
        status, exit,
        "tkc {args:?}: wrong exit code; stderr:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!("error[{code}]")),
        "tkc {args:?}: expected error[{code}]; stderr:\n{stderr}"
    );
    for needle in needles {
        assert!(
            joined.contains(needle),
            "tkc {args:?}: stderr lacks `{needle}`:\n{stderr}"
        );
    }
    stderr
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tk-bad-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn s(path: &Path) -> String {
    path.display().to_string()
}

/// A `.npy` file (format 1.0) with the given header dict and data bytes.
fn npy_bytes(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut header = dict.to_string();
    // magic (6) + version (2) + length (2) + header, padded with spaces to 64 and ended by '\n'.
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

fn f32_bytes(n: usize) -> Vec<u8> {
    (0..n).flat_map(|i| (i as f32).to_le_bytes()).collect()
}

const VADD: &str = "examples/vector_add.tk";

/// `tkc run vector_add` with `x` given by `x_arg` and good other arguments.
fn run_vadd_with_x(x_arg: &str) -> Vec<String> {
    [
        "run",
        VADD,
        "--device",
        "interp",
        "--arg",
        x_arg,
        "--arg",
        "y=zeros:100",
        "--arg",
        "out=zeros:100",
        "--arg",
        "n=100",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect()
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[test]
fn malformed_npy_files_are_input_errors() {
    let dir = scratch("npy");
    let good = "{'descr': '<f4', 'fortran_order': False, 'shape': (100,), }";
    let cases: Vec<(&str, Vec<u8>, &[&str])> = vec![
        ("garbage.npy", b"not a numpy file at all".to_vec(), &["is not a .npy file", "magic"]),
        ("empty.npy", Vec::new(), &["is empty, not a .npy file"]),
        (
            "header.npy",
            npy_bytes("{this is not a dict}", &f32_bytes(100)),
            &["has a bad header"],
        ),
        (
            "truncated.npy",
            npy_bytes(good, &f32_bytes(90)),
            &["is truncated", "shape (100) of float32 (400 bytes)", "only 360 bytes"],
        ),
        (
            "trailing.npy",
            npy_bytes(good, &f32_bytes(101)),
            &["4 bytes after the data of shape (100)"],
        ),
        (
            "overflow.npy",
            npy_bytes(
                "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999, 99999999999999), }",
                &f32_bytes(4),
            ),
            &["has a bad header", "too large"],
        ),
        (
            "huge.npy",
            npy_bytes(
                "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296,), }",
                &f32_bytes(4),
            ),
            &["more than the 2^31 elements"],
        ),
        (
            "complex.npy",
            npy_bytes(
                "{'descr': '<c8', 'fortran_order': False, 'shape': (100,), }",
                &f32_bytes(200),
            ),
            &["has dtype `<c8`, which tk does not support"],
        ),
        (
            "fortran.npy",
            npy_bytes(
                "{'descr': '<f4', 'fortran_order': True, 'shape': (10, 10), }",
                &f32_bytes(100),
            ),
            &["is Fortran-ordered"],
        ),
        ("magic_only.npy", b"\x93NUMPY".to_vec(), &["has a bad header"]),
    ];
    for (name, bytes, needles) in cases {
        let path = dir.join(name);
        std::fs::write(&path, &bytes).unwrap();
        let args = run_vadd_with_x(&format!("x={}", s(&path)));
        let stderr = expect(&strs(&args), 2, "E0911", needles);
        assert!(
            stderr.contains(name),
            "the message names the file:\n{stderr}"
        );
    }
    // A directory and a missing file.
    let args = run_vadd_with_x(&format!("x={}", s(&dir)));
    expect(
        &strs(&args),
        2,
        "E0911",
        &["is a directory, not a .npy file"],
    );
    let args = run_vadd_with_x(&format!("x={}", s(&dir.join("missing.npy"))));
    expect(&strs(&args), 2, "E0911", &["cannot open", "missing.npy"]);
}

#[test]
fn a_valid_npy_file_still_runs_and_big_endian_is_converted() {
    let dir = scratch("npy-ok");
    let path = dir.join("be.npy");
    let data: Vec<u8> = (0..100).flat_map(|i| (i as f32).to_be_bytes()).collect();
    std::fs::write(
        &path,
        npy_bytes(
            "{'descr': '>f4', 'fortran_order': False, 'shape': (100,), }",
            &data,
        ),
    )
    .unwrap();
    let out = dir.join("out.npy");
    let mut args = run_vadd_with_x(&format!("x={}", s(&path)));
    args.extend(["--out".to_string(), format!("out={}", s(&out))]);
    let (status, _, stderr) = tkc(&strs(&args));
    assert_eq!(status, 0, "{stderr}");
    let result = tk::npy::read(&out).unwrap();
    assert_eq!(
        result.to_f32(),
        (0..100).map(|i| i as f32).collect::<Vec<_>>()
    );
}

#[test]
fn dtype_and_shape_mismatches() {
    let dir = scratch("dtype");
    let path = dir.join("ints.npy");
    let ints: Vec<u8> = (0..100i32).flat_map(|i| i.to_le_bytes()).collect();
    std::fs::write(
        &path,
        npy_bytes(
            "{'descr': '<i4', 'fortran_order': False, 'shape': (100,), }",
            &ints,
        ),
    )
    .unwrap();
    let args = run_vadd_with_x(&format!("x={}", s(&path)));
    expect(
        &strs(&args),
        2,
        "E0912",
        &[
            "`x` is a *f32 but",
            "holds i32 (int32)",
            "astype(numpy.float32)",
        ],
    );
    for bad in [
        "x=zeros:",
        "x=zeros:abc",
        "x=zeros:4x",
        "x=zeros:99999999999x99999999999",
    ] {
        let args = run_vadd_with_x(bad);
        expect(&strs(&args), 2, "E0910", &["is not a buffer shape", "2^31"]);
    }
    // A buffer too short for the grid: safe mode stops the kernel and names the access.
    let args = run_vadd_with_x("x=zeros:10");
    expect(
        &strs(&args),
        3,
        "E0951",
        &["kernel `vector_add` loaded from `x` out of bounds at index 10"],
    );
}

#[test]
fn missing_unknown_and_malformed_arguments() {
    let base = ["run", VADD, "--device", "interp"];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter().chain(extra).map(|a| a.to_string()).collect()
    };
    let full = [
        "--arg",
        "x=zeros:8",
        "--arg",
        "y=zeros:8",
        "--arg",
        "out=zeros:8",
    ];
    let cases: Vec<(Vec<String>, i32, &str, Vec<&str>)> = vec![
        (
            with(&["--arg", "x=zeros:8"]),
            2,
            "E0909",
            vec![
                "missing arguments `y`, `out`, `n` of kernel `vector_add`",
                "--arg n=4096",
            ],
        ),
        (
            with(&[&full[..], &["--arg", "n=8", "--arg", "z=3"]].concat()),
            2,
            "E0908",
            vec![
                "kernel `vector_add` has no parameter `z`",
                "`x`, `y`, `out`, `n`",
            ],
        ),
        (
            with(&[&full[..], &["--arg", "n=8", "--arg", "n=9"]].concat()),
            2,
            "E0908",
            vec!["`n` is given twice"],
        ),
        (
            with(&[&full[..], &["--arg", "n"]].concat()),
            2,
            "E0905",
            vec!["`n` is not of the form NAME=VALUE"],
        ),
        (
            with(&[&full[..], &["--arg", "n=abc"]].concat()),
            2,
            "E0907",
            vec!["bad value for `n`: `abc` is not an integer"],
        ),
        (
            with(&[&full[..], &["--arg", "n=99999999999"]].concat()),
            2,
            "E0907",
            vec!["99999999999 does not fit in i32"],
        ),
        (
            with(&[&full[..], &["--arg", "BLOCK=64", "--arg", "n=8"]].concat()),
            2,
            "E0908",
            vec![
                "`BLOCK` is a const of kernel `vector_add`, not a runtime parameter",
                "`BLOCK` is a const: set it with `-D BLOCK=64`",
            ],
        ),
        (
            with(&[&full[..], &["--arg", "n=8", "-D", "NOPE=1"]].concat()),
            2,
            "E0906",
            vec!["kernel `vector_add` has no const `NOPE`", "`BLOCK`"],
        ),
        (
            with(&[&full[..], &["--arg", "n=8", "-D", "n=1"]].concat()),
            2,
            "E0906",
            vec!["`n` is a runtime parameter, not a const"],
        ),
        (
            with(&[&full[..], &["--arg", "n=8", "-D", "BLOCK=x"]].concat()),
            2,
            "E0907",
            vec!["bad value for const `BLOCK`"],
        ),
        (
            with(&[&full[..], &["--arg", "n=8", "--kernel", "nope"]].concat()),
            2,
            "E0902",
            vec!["no kernel named `nope`", "`vector_add`"],
        ),
        (
            with(&[&full[..], &["--arg", "n=8", "--out", "n=o.npy"]].concat()),
            2,
            "E0915",
            vec!["`n` is not a pointer parameter of `vector_add`"],
        ),
        (
            with(&[&full[..], &["--arg", "n=8", "--frobnicate"]].concat()),
            2,
            "E0900",
            vec!["--frobnicate"],
        ),
        (vec!["run".into()], 2, "E0900", vec!["FILE"]),
        (
            ["run", VADD, "--device", "banana", "--arg", "x=zeros:8"]
                .iter()
                .chain(&full[2..])
                .chain(&["--arg", "n=8"])
                .map(|a| a.to_string())
                .collect(),
            2,
            "E0916",
            vec!["`banana` is not a device"],
        ),
    ];
    for (args, exit, code, needles) in cases {
        expect(&strs(&args), exit, code, &needles);
    }
    // A const that makes the program invalid is a program error (exit 1), not an input error.
    let args = with(&[&full[..], &["--arg", "n=8", "-D", "BLOCK=0"]].concat());
    expect(
        &strs(&args),
        1,
        "E0407",
        &["`arange(0, 0)` has length 0, not from 1 to 1048576"],
    );
}

#[test]
fn bad_grid_expressions() {
    let grid = |g: &str| -> Vec<String> {
        [
            "run",
            VADD,
            "--device",
            "interp",
            "--arg",
            "x=zeros:8",
            "--arg",
            "y=zeros:8",
            "--arg",
            "out=zeros:8",
            "--arg",
            "n=8",
        ]
        .iter()
        .map(|a| a.to_string())
        .chain([format!("--grid={g}")])
        .collect()
    };
    let cases: &[(&str, &[&str])] = &[
        ("-1", &["grid dimension 0 is -1, outside 0..=4294967295"]),
        ("n - 100", &["grid dimension 0 is -92"]),
        ("4294967296", &["grid dimension 0 is 4294967296"]),
        ("9223372036854775807 + 1", &["overflows 64 bits"]),
        ("-(0 - 9223372036854775807 - 1)", &["overflows 64 bits"]),
        ("3037000500 * 3037000500", &["overflows 64 bits"]),
        ("99999999999999999999", &["is too large"]),
        ("n / 0", &["division by zero"]),
        ("n % (BLOCK - BLOCK)", &["division by zero"]),
        ("cdiv(n, 0)", &["division by zero"]),
        ("cdiv(9223372036854775807, 1)", &["outside 0..=4294967295"]),
        (
            "nope",
            &["`nope` is not an integer parameter or const", "BLOCK, n"],
        ),
        ("n >> 1", &["`>>` is not allowed in a grid"]),
        ("sqrt(n, 1)", &["`sqrt` is not allowed in a grid"]),
        (
            "1, 2, 3, 4",
            &["expected 1 to 3 comma-separated expressions"],
        ),
        ("n *", &["expected 1 to 3"]),
        ("", &["expected 1 to 3"]),
        ("1.5", &["only integers, parameters, consts"]),
    ];
    for (g, needles) in cases {
        let args = grid(g);
        expect(&strs(&args), 2, "E0913", needles);
    }
    // Thousands of nested parentheses hit the parser's depth limit, not the stack.
    let deep = format!("{}n{}", "(".repeat(5000), ")".repeat(5000));
    let args = grid(&deep);
    expect(&strs(&args), 2, "E0913", &["expected 1 to 3"]);
}

/// Writes `text` to a scratch `.tk` file and returns its path.
fn source(dir: &Path, name: &str, text: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    s(&path)
}

fn kernel(body: &str) -> String {
    format!("kernel k(out: *mut i32) {{\n{body}\n}}\n")
}

#[test]
fn huge_tiles_are_program_errors() {
    let dir = scratch("huge");
    let cases = [
        (
            "let a = zeros([1048576, 2], f32);",
            "block of 2097152 elements is too large",
        ),
        (
            "let a = zeros([1048576], f32); let b = a[:, None] + a[None, :];",
            "block of 1099511627776 elements is too large",
        ),
        ("let a = arange(0, 1 << 21);", "arange"),
    ];
    for (i, (body, needle)) in cases.iter().enumerate() {
        let file = source(&dir, &format!("h{i}.tk"), kernel(body).as_bytes());
        let (status, _, stderr) = tkc(&["check", &file]);
        assert_eq!(status, 1, "{body}:\n{stderr}");
        let joined = stderr.replace("\n  │ ", " ");
        assert!(
            joined.contains(needle),
            "{body}: lacks `{needle}`:\n{stderr}"
        );
        assert!(!stderr.contains("error[ICE]"), "{stderr}");
    }
}

#[test]
fn deep_nesting_never_overflows_the_stack() {
    let dir = scratch("deep");
    let n = 5000;
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "parens",
            kernel(&format!("let a = {}1{};", "(".repeat(n), ")".repeat(n))),
            "E0118",
        ),
        (
            "blocks",
            kernel(&format!("{}{}", "{".repeat(n), "}".repeat(n))),
            "E0118",
        ),
        (
            "ifs",
            kernel(&format!("{}{}", "if true {".repeat(n), "}".repeat(n))),
            "E0118",
        ),
        (
            "loops",
            kernel(&format!(
                "{}{}",
                "for i in range(0, 2) {".repeat(n),
                "}".repeat(n)
            )),
            "E0118",
        ),
        (
            "negation",
            kernel(&format!("let a = {}1;", "-".repeat(n))),
            "E0118",
        ),
        (
            "casts",
            kernel(&format!("let a = 1{};", " as i32".repeat(n))),
            "E0118",
        ),
        (
            "sum",
            kernel(&format!("let a = {};", vec!["1"; 4 * n].join(" + "))),
            "E0118",
        ),
        (
            "calls",
            kernel(&format!("let a = {}1{};", "abs(".repeat(n), ")".repeat(n))),
            "E0118",
        ),
        (
            "lists",
            kernel(&format!("let a = {}1{};", "[".repeat(n), "]".repeat(n))),
            "E0118",
        ),
        (
            // One very long line: the diagnostic cannot draw it and says where instead.
            "else_if",
            kernel(&format!(
                "let x = 1; if x == 0 {{ }}{}",
                (1..n)
                    .map(|i| format!(" else if x == {i} {{ }}"))
                    .collect::<String>()
            )),
            "E0118",
        ),
        (
            "fn_chain",
            (0..n)
                .map(|i| format!("fn g{i}(x) {{ g{}(x) }}\n", i + 1))
                .collect::<String>()
                + &format!("fn g{n}(x) {{ x }}\n")
                + &kernel("let a = g0(1);"),
            "E0605",
        ),
        (
            "fn_doubling",
            (0..40)
                .map(|i| format!("fn g{i}(x) {{ g{}(x) + g{}(x) }}\n", i + 1, i + 1))
                .collect::<String>()
                + "fn g40(x) { x }\n"
                + &kernel("let a = g0(1);"),
            "E0606",
        ),
        (
            "nested_unroll",
            kernel(&format!(
                "let mut a = 0; {}a += 1;{}",
                "for i in static_range(0, 2) {".repeat(40),
                "}".repeat(40)
            )),
            "E0606",
        ),
    ];
    for (name, text, code) in cases {
        let file = source(&dir, &format!("{name}.tk"), text.as_bytes());
        for command in ["check", "build"] {
            let args = if command == "build" {
                vec!["build", &file, "--emit", "ir"]
            } else {
                vec!["check", &file]
            };
            let stderr = expect(&args, 1, code, &[]);
            if name == "else_if" {
                assert!(stderr.contains("the line is too long to show"), "{stderr}");
                assert!(
                    stderr.lines().all(|l| l.len() < 1000),
                    "a long line was drawn"
                );
            }
        }
    }
}

#[test]
fn unreadable_sources() {
    let dir = scratch("sources");
    let not_utf8 = source(&dir, "latin1.tk", b"// caf\xe9\nkernel k() {}\n");
    expect(
        &["check", &not_utf8],
        2,
        "E0917",
        &["is not UTF-8 text: byte 0xe9 at offset 6 (line 1)"],
    );
    let mut garbage: Vec<u8> = b"\x7fELF\x02\x01\x01\x00".to_vec();
    garbage.extend((0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
    let garbage = source(&dir, "garbage.tk", &garbage);
    for command in ["check", "build", "run"] {
        expect(&[command, &garbage], 2, "E0917", &["is not UTF-8 text"]);
    }
    // Valid UTF-8 garbage is a program error (exit 1) with parse diagnostics, never a panic.
    let text: String = (0..3000u32)
        .map(|i| char::from_u32(0x20 + (i.wrapping_mul(2654435761) >> 7) % 0x2000).unwrap_or('?'))
        .collect();
    let noise = source(&dir, "noise.tk", text.as_bytes());
    expect(&["check", &noise], 1, "E0101", &["unexpected characters"]);
    let nul = source(&dir, "nul.tk", b"kernel k() {\0}\n");
    expect(&["check", &nul], 1, "E0101", &[]);

    let empty = source(&dir, "empty.tk", b"");
    let (status, _, stderr) = tkc(&["check", &empty]);
    assert_eq!(status, 0, "an empty file checks: {stderr}");
    assert!(stderr.contains("ok (0 kernels)"), "{stderr}");
    expect(&["run", &empty], 2, "E0903", &["defines no kernel"]);
    expect(&["build", &empty], 2, "E0903", &["defines no kernel"]);

    let directory = dir.join("dir.tk");
    std::fs::create_dir_all(&directory).unwrap();
    expect(
        &["check", &s(&directory)],
        2,
        "E0901",
        &["is a directory, not a .tk file"],
    );
    let missing = s(&dir.join("missing.tk"));
    expect(
        &["run", &missing],
        2,
        "E0901",
        &["cannot read", "missing.tk"],
    );
}
