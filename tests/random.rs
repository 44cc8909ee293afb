//! `stdlib/random.tk` against a plain Rust port of Triton's `python/triton/language/random.py`
//! (Philox 4x32-10, `uint_to_uniform_float`, Box–Muller): `randint`/`randint4x` bit for bit,
//! `rand` bit for bit, `randn` within a few ulps (it goes through log, sqrt and cos), on the
//! interpreter and on the Vulkan device.
mod common;

use common::*;
use tk::base::{HostBuffer, KernelArg, ScalarType};

/// Triton's `philox_impl` with `philox`'s key split (seed as u64: lo, hi), counter
/// (offset, 0, 0, 0), ten rounds.
fn philox(seed: i64, offset: u32) -> [u32; 4] {
    let (a, b) = (0xD251_1F53u32, 0xCD9E_8D57u32);
    let seed = seed as u64;
    let (mut k0, mut k1) = (seed as u32, (seed >> 32) as u32);
    let (mut c0, mut c1, mut c2, mut c3) = (offset, 0u32, 0u32, 0u32);
    for _ in 0..10 {
        let (old0, old2) = (c0, c2);
        c0 = ((b as u64 * old2 as u64) >> 32) as u32 ^ c1 ^ k0;
        c2 = ((a as u64 * old0 as u64) >> 32) as u32 ^ c3 ^ k1;
        c1 = b.wrapping_mul(old2);
        c3 = a.wrapping_mul(old0);
        k0 = k0.wrapping_add(0x9E37_79B9);
        k1 = k1.wrapping_add(0xBB67_AE85);
    }
    [c0, c1, c2, c3]
}

fn uint_to_uniform_float(x: u32) -> f32 {
    let i = x as i32;
    let i = if i < 0 { -i - 1 } else { i };
    i as f32 * 4.656_612_7e-10
}

fn randn(seed: i64, offset: u32) -> f32 {
    let w = philox(seed, offset);
    let u1 = uint_to_uniform_float(w[0]).max(1.0e-7);
    let u2 = uint_to_uniform_float(w[1]);
    let th = 6.283_185_5_f32 * u2;
    let r = (-2.0 * u1.ln()).sqrt();
    r * th.cos()
}

const SOURCE: &str = "use random;
kernel k(ints: *mut u32, w3: *mut u32, uni: *mut f32, normal: *mut f32, seed: i32) {
    let offs = program_id(0) * 128 + arange(0, 128);
    store(ints + offs, random::randint(seed, offs));
    store(w3 + offs, random::randint4x(seed, offs, 3));
    store(uni + offs, random::rand(seed, offs));
    store(normal + offs, random::randn(seed, offs));
}";

fn u32s(b: &HostBuffer) -> Vec<u32> {
    b.to_i32().iter().map(|&v| v as u32).collect()
}

#[test]
fn reference_port_matches_published_philox_vector() {
    // The Random123 known-answer test for philox4x32-10: counter (0,0,0,0), key (0,0) gives
    // 6627e8d5 e169c58d bc57ac4c 9b00dbd8.
    assert_eq!(
        philox(0, 0),
        [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]
    );
}

#[test]
fn random_matches_triton_on_both_backends() {
    let n = 512;
    let device = device();
    for seed in [0i64, 42, -7, 123_456_789] {
        let args = [
            zeros(ScalarType::U32, n),
            zeros(ScalarType::U32, n),
            zeros(ScalarType::F32, n),
            zeros(ScalarType::F32, n),
            int(seed),
        ];
        for backend in [Backend::Interp, Backend::Vulkan(&device)] {
            let out = run_source(SOURCE, "k", &[], &args, [4, 1, 1], &backend)
                .unwrap_or_else(|e| panic!("{e}"));
            let ints = u32s(buffer(&out, 0));
            let w3 = u32s(buffer(&out, 1));
            let uni = buffer(&out, 2).to_f32();
            let normal = buffer(&out, 3).to_f32();
            for i in 0..n {
                let w = philox(seed, i as u32);
                assert_eq!(ints[i], w[0], "randint seed {seed} offset {i}");
                assert_eq!(w3[i], w[3], "randint4x word 3 seed {seed} offset {i}");
                let u = uint_to_uniform_float(w[0]);
                assert_eq!(uni[i].to_bits(), u.to_bits(), "rand seed {seed} offset {i}");
                assert!((0.0..1.0).contains(&uni[i]));
                let z = randn(seed, i as u32);
                assert!(
                    (normal[i] - z).abs() <= 2e-5 * (1.0 + z.abs()),
                    "randn seed {seed} offset {i}: {} vs {z}",
                    normal[i]
                );
            }
        }
    }
    let _ = KernelArg::Scalar(tk::base::Literal::Int(0));
}
