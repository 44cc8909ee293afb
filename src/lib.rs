//! tk: a block-level kernel language compiled to SPIR-V and run on any Vulkan device.
//!
//! # Pipeline
//!
//! Data flows one way; each stage has one entry function that takes the previous stage's output.
//!
//! ```text
//! &str ─syntax::parse──▶ ast::File + Diagnostics       logos tokens → lalrpop grammar/tk.lalrpop; never fails
//!      ─sema::check────▶ Checked + Diagnostics         names, `use`s, signatures, attributes, consts
//!      ─sema::lower────▶ ir::Module (Lowered)          body type/shape check fused with elaboration
//!         ├─interp::run─▶ results on the CPU            the reference semantics (tests, --device interp)
//!      ─passes::run────▶ ir::Module (Scheduled)        workgroup size, a layout per tile, conversions
//!      ─spirv::emit────▶ abi::Artifact {words, abi}    rspirv; every module passes spirv-val
//!      ─runtime────────▶ dispatch on a Vulkan device   ash + gpu-allocator; sees only the Artifact
//! ```
//!
//! `driver` strings the stages together for `tkc`, the tests and the benches.
//!
//! # Code map
//!
//! - `base`: spans and the source map, diagnostics as data (stable codes, labels, help; rendered
//!   by miette only at the edge), typed arenas, `ScalarType`, `Literal`, host buffers.
//! - `syntax`: the lexer, the grammar and the AST (a plain owned tree; every expression has an
//!   `ExprId` for side tables). Parsing recovers at statements and items so one mistake does not
//!   hide the next.
//! - `sema`: the checker. Because fns are generic and inlined and shapes depend on const values,
//!   body type checking happens per specialisation, in the same walk that builds the IR
//!   (`sema::lower`); `sema::check` elaborates every kernel at its const defaults so `tkc check`
//!   reports body errors too. `sema::builtins` is THE table of builtins (name, docs, signature,
//!   shape rule, and the lowering the elaborator dispatches on exhaustively) for the checker,
//!   hovers and docs; `sema::diags` has one constructor per diagnostic (code, message, labels,
//!   help as data).
//! - `ir`: the block IR — data, builder, text printer and verifier only. Instructions live in an
//!   arena; control flow is structured (`If`, `For`, `While` own regions); mutable variables are
//!   explicit locals, so `break`/`continue`/`return` need no block arguments. Spans are a side
//!   table. `ir::layout` holds the layout model (blocked, slice and cooperative-matrix layouts)
//!   and its algebra; `ir::schedule` the `Schedule`, the one record of every lowering decision: threads, layouts,
//!   and a plan per instruction that has a choice (vector widths, how reductions, scans, `dot`s
//!   and conversions run, the shared memory each uses), which the verifier checks.
//! - `interp`: executes Lowered IR on the CPU with C integer semantics, masks and bounds checks.
//! - `passes`: the scheduling pipeline, one explicit ordered list of passes, verifier after each;
//!   the passes make every lowering decision and record it in the `Schedule`. The first,
//!   `passes::pad`, rounds tiles of any size up to power-of-two dims and masks the padding, so
//!   the layouts and everything after them see powers of two only.
//! - `spirv`: Scheduled IR → SPIR-V 1.3 compute shader + `abi::Abi` (cooperative matrices for the
//!   f16 `dot`s of devices that offer them: `spirv/coop.rs`). It follows the schedule's plans and
//!   imports nothing from `passes` (tests/hygiene.rs keeps it so).
//! - `abi`: the artifact and binding model — the only type the runtime shares with the compiler.
//!   `abi::bind` is the one argument binder: values by name or position checked against a
//!   kernel's parameters and ordered, for the CLI, the API, the interpreter and the runtime.
//!   `abi::contract` holds the launch contracts of the accesses safe mode proved inside their
//!   buffers (`passes::bounds`), which the runtime checks once before dispatch.
//! - `runtime`: Vulkan instance/device choice, buffers, pipelines, dispatch, readback, timing.
//! - `npy`: `.npy` files to and from host buffers.
//! - `api`: the Rust library API — a `Context` owning the device (or the interpreter when there
//!   is no Vulkan), `Kernel`s compiled from a file or a string with consts, typed `Buffer<T>`s,
//!   launches with arguments by name or position (checked at run time, errors in sentences), and
//!   timing; `api::Module` checks a file once and compiles each kernel lazily per const set
//!   (Triton-style), the form the Python bindings (`python/`, PyO3) take.
//! - `bench`: `tkc bench`'s measurement (device timestamps beside the device's copy bandwidth,
//!   bytes and flops counted by the interpreter), shared by the CLI, the API and Python.
//! - `cache`: the on-disk compiled-kernel cache (`$XDG_CACHE_HOME/tk/kernels`, keyed by every
//!   source text, consts, threads, target, driver, safe flag and compiler build; atomic writes;
//!   corrupt entries recompiled) and the persisted VkPipelineCache (`tk/pipelines/<uuid>.bin`).
//! - `tune`: `#[autotune]` — benchmark each config on the device, persist the fastest under
//!   `tk/tune` keyed by device, driver, source hash and key values, reuse it across processes.
//! - `export`: SPIR-V → WGSL/MSL/HLSL through naga (guarded against its panics); non-finite
//!   constants and `isnan` are rewritten into forms WGSL accepts.
//!
//! # Using tk from Rust
//!
//! ```
//! use tk::api::{Buffer, Context, Kernel};
//!
//! let ctx = Context::new()?.without_cache();
//! let softmax = Kernel::from_file(
//!     &ctx,
//!     concat!(env!("CARGO_MANIFEST_DIR"), "/examples/softmax.tk"),
//!     "softmax",
//!     &[("BLOCK", 4.into())],
//! )?;
//! let x = Buffer::from_slice(&[1.0f32, 2.0, 3.0, 0.0, 0.0, 0.0]);
//! let mut out = Buffer::<f32>::zeros(6);
//! softmax
//!     .launch(&ctx)
//!     .arg("x", &x)
//!     .arg("out", &mut out)
//!     .arg("n_rows", 2)
//!     .arg("n_cols", 3)
//!     .run()?; // the grid comes from the kernel's #[grid(n_rows)]
//! let out = out.to_vec();
//! assert!((out[3] - 1.0 / 3.0).abs() < 1e-6);
//! assert!((out[..3].iter().sum::<f32>() - 1.0).abs() < 1e-6);
//! # Ok::<(), tk::api::Error>(())
//! ```
//!
//! # Invariants
//!
//! - Architecture invariant: lower layers never import higher ones; `ir` knows nothing of the
//!   surface syntax; `runtime` knows nothing of the compiler (only `abi` and `base`).
//! - The library never prints, never exits and never panics on user input: user mistakes are
//!   diagnostics with codes; a broken internal invariant is an internal compiler error (`ICE`,
//!   exit 101 in `tkc`).
//! - Every pointer value derives statically from exactly one pointer parameter (its type records
//!   which), so each parameter is one storage buffer and bounds checks are static in form.
//! - Conditions of control flow are uniform scalars: every invocation of a workgroup takes the
//!   same path, so barriers inside control flow are safe.
//! - Side effects happen once: a replicated tile element and a scalar store are written by one
//!   invocation only.
//! - Every SPIR-V module passes `spirv-val --target-env vulkan1.1` (tests run it on each).
pub mod abi;
pub mod api;
pub mod base;
pub mod bench;
pub mod cache;
pub mod driver;
pub mod export;
pub mod interp;
pub mod ir;
pub mod lsp;
pub mod npy;
pub mod passes;
pub mod runtime;
pub mod sema;
pub mod spirv;
pub mod syntax;
pub mod tune;
