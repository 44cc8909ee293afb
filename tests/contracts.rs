//! Launch contracts are sound: a launch that every contract of a kernel admits makes no
//! out-of-bounds access. Random launches of the examples whose accesses are all proven (their
//! per-element checks are gone in safe mode), with buffers shorter than, exactly as long as and
//! longer than the launch needs and sizes that are and are not multiples of the blocks, are
//! checked against the contracts and run on the interpreter, which checks every element. And on
//! the device, where those accesses run unchecked, random admitted launches of vector add and
//! matmul leave the guard elements of their output buffers (past `n`, between and after C's
//! padded rows) exactly as the interpreter does.
mod common;

use common::*;
use tk::abi::{contract, Target};
use tk::base::{KernelArg, ScalarType};
use tk::driver::{self, BuildOptions, Source};
use tk::interp::RunError;

/// A small deterministic generator (the same launches on every run).
struct Rng(u64);

impl Rng {
    /// A value in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }

    /// Lengths for buffers needing `needs` elements: all long enough (as long or up to 40
    /// longer) half of the time, else one of them up to 40 elements short.
    fn lengths(&mut self, needs: &[usize]) -> Vec<usize> {
        let short = (self.below(2) == 0).then(|| self.below(needs.len() as u64) as usize);
        needs
            .iter()
            .enumerate()
            .map(|(i, &need)| {
                if short == Some(i) {
                    need.saturating_sub(1 + self.below(40) as usize)
                } else {
                    need + self.below(40) as usize
                }
            })
            .collect()
    }
}

/// Builds `kernel` of example `file` in safe mode, then runs `LAUNCHES` random launches from
/// `make_args`: each one the contracts admit must run on the interpreter without an
/// out-of-bounds access. Enough launches must be admitted and refused to mean something.
fn contracts_hold(file: &str, kernel: &str, make_args: &dyn Fn(&mut Rng) -> Vec<KernelArg>) {
    const LAUNCHES: u64 = 300;
    let path = format!("{}/examples/{file}.tk", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let lowered = driver::lower_source(&Source::new(&path, &text), kernel, &[]).unwrap();
    let build = driver::build_lowered(&lowered, &Target::cpu(), &BuildOptions::default()).unwrap();
    let contracts = &build.artifact.abi.contracts;
    assert!(!contracts.is_empty(), "{kernel}: no access was proven");
    let (mut admitted, mut refused) = (0, 0);
    let mut rng = Rng(0x7eed ^ kernel.len() as u64);
    for _ in 0..LAUNCHES {
        let mut args = make_args(&mut rng);
        let grid = tk::interp::launch_grid(&lowered.module.kernel, &args)
            .expect("a #[grid]")
            .unwrap();
        if grid.contains(&0) {
            continue;
        }
        match contract::check_all(contracts, &args, grid) {
            Err(_) => refused += 1,
            Ok(()) => {
                admitted += 1;
                let lens: Vec<usize> = args
                    .iter()
                    .filter_map(|a| match a {
                        KernelArg::Buffer(b) => Some(b.len()),
                        KernelArg::Scalar(_) => None,
                    })
                    .collect();
                match tk::interp::run(&lowered.module, &mut args, grid) {
                    Err(e @ RunError::OutOfBounds { .. }) => {
                        panic!("{kernel}: admitted by its contracts, then {e:?} (buffers {lens:?})")
                    }
                    Err(e) => panic!("{kernel}: {e:?}"),
                    Ok(()) => {}
                }
            }
        }
    }
    assert!(
        admitted >= 100 && refused >= 100,
        "{kernel}: {admitted} launches admitted, {refused} refused"
    );
}

fn f32s(n: usize) -> KernelArg {
    zeros(ScalarType::F32, n)
}

/// Two f32 buffers of `lens`, then `rows` and `cols` (softmax's and col_sum's parameters).
fn two_buffers_rows_cols(lens: &[usize], rows: usize, cols: usize) -> Vec<KernelArg> {
    vec![
        f32s(lens[0]),
        f32s(lens[1]),
        int(rows as i64),
        int(cols as i64),
    ]
}

#[test]
fn vector_add_launches_its_contracts_admit_stay_in_bounds() {
    contracts_hold("vector_add", "vector_add", &|rng| {
        let n = 1 + rng.below(3000) as usize;
        let lens = rng.lengths(&[n, n, n]);
        vec![f32s(lens[0]), f32s(lens[1]), f32s(lens[2]), int(n as i64)]
    });
}

#[test]
fn softmax_launches_its_contracts_admit_stay_in_bounds() {
    contracts_hold("softmax", "softmax", &|rng| {
        let (rows, cols) = (1 + rng.below(12) as usize, 1 + rng.below(1100) as usize);
        two_buffers_rows_cols(&rng.lengths(&[rows * cols, rows * cols]), rows, cols)
    });
}

#[test]
fn col_sum_launches_its_contracts_admit_stay_in_bounds() {
    contracts_hold("col_sum", "col_sum", &|rng| {
        let (rows, cols) = (1 + rng.below(70) as usize, 1 + rng.below(200) as usize);
        two_buffers_rows_cols(&rng.lengths(&[rows * cols, cols]), rows, cols)
    });
}

#[test]
fn matmul_launches_its_contracts_admit_stay_in_bounds() {
    // Pointers the K loop advances under a mask whose limit moves with it, program ids mapped
    // in groups through `/`, `%` and `minimum`; row-major, column-major and padded operands.
    contracts_hold("matmul", "matmul", &|rng| {
        let dims = [(); 3].map(|_| 1 + rng.below(80) as i64);
        let [m, n, k] = dims;
        // (outer, inner) strides of an r × c matrix: row-major, column-major, or rows padded.
        let mut strides = |r: i64, c: i64| match rng.below(3) {
            0 => (c, 1),
            1 => (1, r),
            _ => (c + rng.below(5) as i64, 1),
        };
        let (sam, sak) = strides(m, k);
        let (sbk, sbn) = strides(k, n);
        let (scm, scn) = strides(m, n);
        let need = |rows: i64, cols: i64, outer: i64, inner: i64| {
            ((rows - 1) * outer + (cols - 1) * inner + 1) as usize
        };
        let lens = rng.lengths(&[
            need(m, k, sam, sak),
            need(k, n, sbk, sbn),
            need(m, n, scm, scn),
        ]);
        let mut args = vec![
            zeros(ScalarType::F16, lens[0]),
            zeros(ScalarType::F16, lens[1]),
            zeros(ScalarType::F16, lens[2]),
        ];
        args.extend([m, n, k, sam, sak, sbk, sbn, scm, scn].map(int));
        args
    });
}

#[test]
fn grouped_gemm_launches_its_contracts_admit_stay_in_bounds() {
    // Two conjuncts per operand mask, one with a limit that moves with the loop.
    contracts_hold("grouped_gemm", "grouped_matmul_tile", &|rng| {
        let [m, n, k] = [(); 3].map(|_| 1 + rng.below(80) as i64);
        let [lda, ldb, ldc] = [k, n, n].map(|cols| cols + rng.below(4) as i64);
        let lens = rng.lengths(&[
            ((m - 1) * lda + k) as usize,
            ((k - 1) * ldb + n) as usize,
            ((m - 1) * ldc + n) as usize,
        ]);
        let mut args: Vec<KernelArg> = lens.iter().map(|&l| zeros(ScalarType::F16, l)).collect();
        args.extend([m, n, k, lda, ldb, ldc].map(int));
        args
    });
}

/// Runs `LAUNCHES` launches from `make_args` of `kernel` in example `file` on the interpreter and
/// on the device (safe mode, specialised like `tkc run`: the proven accesses carry no
/// per-element check there) and requires the output buffer `out` to come back identical. Each
/// output buffer is longer than the launch's region and filled with a sentinel beyond it:
/// guards inside the buffer itself, where no device robustness could hide a stray write, so
/// every guard the interpreter leaves alone the device must leave alone too.
fn device_keeps_the_guards(
    file: &str,
    kernel: &str,
    out: usize,
    make_args: &dyn Fn(&mut Rng) -> Vec<KernelArg>,
) {
    const LAUNCHES: u64 = 12;
    let path = format!("{}/examples/{file}.tk", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let lowered = driver::lower_source(&Source::new(&path, &text), kernel, &[]).unwrap();
    let device = device();
    let mut rng = Rng(0x6a2d ^ kernel.len() as u64);
    for launch in 0..LAUNCHES {
        let args = make_args(&mut rng);
        let grid = tk::interp::launch_grid(&lowered.module.kernel, &args)
            .expect("a #[grid]")
            .unwrap();
        let build = {
            let mut specialised = lowered.clone();
            driver::specialize(&mut specialised.module, &args);
            driver::build_lowered(&specialised, &device.target(), &BuildOptions::default()).unwrap()
        };
        contract::check_all(&build.artifact.abi.contracts, &args, grid)
            .unwrap_or_else(|e| panic!("{kernel}: launch {launch} refused: {e:?}"));
        let interp = run_source(&text, kernel, &[], &args, grid, &Backend::Interp).unwrap();
        let on_device =
            run_source(&text, kernel, &[], &args, grid, &Backend::Vulkan(&device)).unwrap();
        assert_eq!(
            buffer(&on_device, out).data,
            buffer(&interp, out).data,
            "{kernel}: launch {launch} (grid {grid:?})"
        );
        assert_ne!(
            buffer(&interp, out).data,
            buffer(&args, out).data,
            "{kernel}: launch {launch} wrote nothing"
        );
    }
}

/// Small integers as f32 (sums and products of them are exact in f16 and f32).
fn small_ints(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.below(5) as f32 - 2.0).collect()
}

/// The sentinel beyond each launch's region of an output buffer.
const GUARD: f32 = 99.0;

#[test]
fn vector_add_on_the_device_leaves_the_guards_past_n() {
    device_keeps_the_guards("vector_add", "vector_add", 2, &|rng| {
        let n = 1 + rng.below(5000) as usize;
        let guards = 1 + rng.below(300) as usize;
        vec![
            f32_buffer(&small_ints(rng, n)),
            f32_buffer(&small_ints(rng, n)),
            f32_buffer(&vec![GUARD; n + guards]),
            int(n as i64),
        ]
    });
}

#[test]
fn matmul_on_the_device_leaves_the_guards_between_and_after_the_rows() {
    // C's rows are padded (the padding is guard) and the buffer has a guard tail; A and B come
    // row- or column-major.
    device_keeps_the_guards("matmul", "matmul", 2, &|rng| {
        let [m, n, k] = [(); 3].map(|_| 1 + rng.below(70) as i64);
        let transposed = rng.below(2) == 0;
        let (sam, sak) = if transposed { (1, m) } else { (k, 1) };
        let (sbk, sbn) = if transposed { (1, k) } else { (n, 1) };
        let scm = n + 1 + rng.below(4) as i64;
        let c_len = ((m - 1) * scm + n) as usize + 1 + rng.below(40) as usize;
        let mut args = vec![
            f16_buffer(&small_ints(rng, (m * k) as usize)),
            f16_buffer(&small_ints(rng, (k * n) as usize)),
            f16_buffer(&vec![GUARD; c_len]),
        ];
        args.extend([m, n, k, sam, sak, sbk, sbn, scm, 1].map(int));
        args
    });
}
