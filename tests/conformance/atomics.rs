//! Atomics under contention: a grid of programs, each of whose 64 lanes updates one of a few
//! shared addresses (so lanes of one program and different programs collide), for every atomic
//! read-modify-write × int dtypes, masked and scalar-pointer forms, f32 `atomic_add` on values
//! whose sums are exact in any order, and `atomic_cas`. Final memory is compared exactly.
use super::harness::*;

/// Programs in the launch.
const PROGRAMS: usize = 8;
const LANES: usize = 64;
/// Shared addresses per case: lane `i` updates address `i % SLOTS`.
const SLOTS: usize = 4;

struct Rmw {
    name: &'static str,
    /// Initial memory, from the dtype's range.
    initial: fn(ScalarType) -> i128,
    apply: fn(ScalarType, i128, i128) -> i128,
}

fn rmws() -> Vec<Rmw> {
    vec![
        Rmw {
            name: "atomic_add",
            initial: |_| 0,
            apply: |t, a, b| wrap(t, a + b),
        },
        Rmw {
            name: "atomic_max",
            initial: |t| wrap(t, 3),
            apply: |_, a, b| a.max(b),
        },
        Rmw {
            name: "atomic_min",
            initial: |t| wrap(t, 3),
            apply: |_, a, b| a.min(b),
        },
        Rmw {
            name: "atomic_and",
            initial: |t| int_range(t).1 | int_range(t).0,
            apply: |_, a, b| a & b,
        },
        Rmw {
            name: "atomic_or",
            initial: |_| 0,
            apply: |_, a, b| a | b,
        },
        Rmw {
            name: "atomic_xor",
            initial: |_| 0,
            apply: |_, a, b| a ^ b,
        },
    ]
}

pub fn batches() -> Vec<Batch> {
    let mut batch = Batch::new("atomics");
    batch.grid = [PROGRAMS as u32, 1, 1];
    let mut rng = Rng::new(1300);
    let lanes = format!("arange(0, {LANES})");
    // 32-bit ints only: 64-bit atomics are a compile error (E0304) in tk.
    for t in [I32, U32] {
        for rmw in rmws() {
            for masked in [false, true] {
                let values: Vec<V> = (0..PROGRAMS * LANES)
                    .map(|_| {
                        if rmw.name == "atomic_and" {
                            // Mostly ones, so that the result is not simply zero.
                            V::I(wrap(t, !(1i128 << rng.int(0, t.bits() as i128 - 1))))
                        } else if rmw.name == "atomic_add" {
                            rng.values(t, 1, 0.0, 0.0)[0]
                        } else {
                            V::I(wrap(t, rng.int(-1000, 1000)))
                        }
                    })
                    .collect();
                let valid = if masked { 40 } else { LANES };
                let init = V::I((rmw.initial)(t));
                let mut expected = vec![init.i(); SLOTS];
                for (k, v) in values.iter().enumerate() {
                    if k % LANES < valid {
                        let s = k % LANES % SLOTS;
                        expected[s] = (rmw.apply)(t, expected[s], v.i());
                    }
                }
                let p = batch.input(t, &values);
                let (out, slot) = batch.output_with(t, &[init; SLOTS]);
                let mask = if masked {
                    format!(", mask: l < {valid}")
                } else {
                    String::new()
                };
                batch.case(
                    "atomics",
                    format!(
                        "{}/{t}/{PROGRAMS}x{LANES}->{SLOTS}{}",
                        rmw.name,
                        if masked { "/masked" } else { "" }
                    ),
                    format!(
                        "let l = {lanes}; let v = load({p} + program_id(0) * {LANES} + l);\n\
                         {}({out} + l % {SLOTS}, v{mask});",
                        rmw.name
                    ),
                    vec![Check {
                        slot,
                        expected: expected.into_iter().map(V::I).collect(),
                        tol: Tol::Exact,
                        tols: None,
                    }],
                );
            }
        }
        // A scalar pointer: one update per program.
        let (out, slot) = batch.output(t, 1);
        batch.case(
            "atomics",
            format!("atomic_add/{t}/scalar"),
            format!("atomic_add({out}, (program_id(0) + 1) as {t});"),
            vec![Check {
                slot,
                expected: vec![V::I((PROGRAMS * (PROGRAMS + 1) / 2) as i128)],
                tol: Tol::Exact,
                tols: None,
            }],
        );
        // Compare-and-swap: every program claims its own slot once; the second swap fails.
        let (out, slot) = batch.output(t, PROGRAMS);
        batch.case(
            "atomics",
            format!("atomic_cas/{t}"),
            format!(
                "let p = {out} + program_id(0); let first = atomic_cas(p, 0, 5);\n\
                 let second = atomic_cas(p, 0, 9);\n\
                 if first == 0 && second == 5 {{ atomic_add(p, 1); }}"
            ),
            vec![Check {
                slot,
                expected: vec![V::I(6); PROGRAMS],
                tol: Tol::Exact,
                tols: None,
            }],
        );
    }
    // f32 adds of multiples of 1/4 stay exact in any order.
    for masked in [false, true] {
        let values: Vec<V> = (0..PROGRAMS * LANES)
            .map(|_| V::F(rng.int(-40, 40) as f64 / 4.0))
            .collect();
        let valid = if masked { 40 } else { LANES };
        let mut expected = vec![0.0; SLOTS];
        for (k, v) in values.iter().enumerate() {
            if k % LANES < valid {
                expected[k % LANES % SLOTS] += v.f();
            }
        }
        let p = batch.input(F32, &values);
        let (out, slot) = batch.output(F32, SLOTS);
        let mask = if masked {
            format!(", mask: l < {valid}")
        } else {
            String::new()
        };
        batch.case(
            "atomics",
            format!(
                "atomic_add/f32/{PROGRAMS}x{LANES}->{SLOTS}{}",
                if masked { "/masked" } else { "" }
            ),
            format!(
                "let l = {lanes}; let v = load({p} + program_id(0) * {LANES} + l);\n\
                 atomic_add({out} + l % {SLOTS}, v{mask});"
            ),
            vec![Check {
                slot,
                expected: expected.into_iter().map(V::F).collect(),
                tol: Tol::Exact,
                tols: None,
            }],
        );
    }
    vec![batch]
}
