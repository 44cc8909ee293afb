//! Semantic analysis: name resolution over items and `use`d files, kernel signatures, attributes,
//! const evaluation, and the type/shape checker that elaborates a kernel body, specialised for
//! one set of const values, into Lowered IR (fns are inlined at each call).
//!
//! `check` parses the main file and everything it `use`s, builds one item table per file, checks
//! every kernel's signature and attributes, and elaborates each kernel whose consts all have
//! defaults (discarding the IR) so that body errors show up in `tkc check`. `lower` elaborates one
//! kernel for one set of const values. Neither panics on user input; every problem is a
//! `Diagnostic` with a stable code (table below).
//!
//! Layout: `builtins` is the table of builtins, each naming its `Lowering` (the IR operation a
//! call becomes). `elab/` is the elaborator, one file per concern: `values` (the value model),
//! `consts` (const values, global consts, `#[grid]`), `exprs`, `stmts`, `control` (loops, `if`),
//! `returns` (early `return` from inlined fns), `args` (argument binding, shapes, type arguments),
//! `calls` (callee resolution and inlining), and the builtins: `builtin_calls` binds a call and
//! dispatches on its `Lowering` to `creation`, `memory`, `atomics`, `math`, `reductions`,
//! `scans`, `linalg` (`dot`), `shape` and `debug`. `diags/` builds every diagnostic, one
//! constructor each, by code range. `fold` folds compile-time arithmetic.
//!
//! Decisions where the language reference (`docs/language.md`) leaves room (the checker's
//! contract with users):
//! - Compile-time values (literals, consts, `static_range` variables, and anything computed
//!   only from them, including fn results) are folded during elaboration; they become IR
//!   `Const`s only where they meet runtime values. Shapes, axes, `arange` bounds and
//!   `static_assert` need such values (E0504 otherwise).
//! - An `if` whose condition is a compile-time bool elaborates only the taken branch (like
//!   Triton's constexpr `if`), so the other branch may be ill-typed for this specialisation.
//! - Untyped literals: `int op int` stays an untyped int, anything with a float literal is an
//!   untyped float; with a typed operand the literal takes its type (an int literal may become a
//!   float, a float literal may not become an int: E0302). Alone they default to `i32`/`f32`.
//!   Range is checked when the type is fixed (E0303).
//! - Pointers: offsets may be any int type; `ptr - offs` negates the offsets. A `let mut`
//!   pointer keeps pointing into the same parameter.
//! - fns are generic templates: an fn is checked at each call with the argument types, and one
//!   that is never called is not checked. A typed parameter `x: f32` fixes the element type and
//!   allows any shape; `-> T` likewise. The last expression or any `return e;` gives the value.
//!   A `return` reached through compile-time control flow only gives the call's value directly
//!   (it may stay a compile-time value); one under a runtime `if` or loop writes a result local,
//!   sets a `returned` flag (false at the call's entry), leaves runtime loops with `break`, and
//!   the rest of the fn runs under `if !returned`. All returns give one type and shape, and
//!   either every path returns a value or none does (E0312). No `return` in a `while` condition
//!   or a const (E0602).
//! - `break`/`continue` inside `static_range` (unrolled) are E0604; loops do not cross fn
//!   boundaries. `static_range` unrolls at most `elab::MAX_UNROLL` iterations (E0603).
//! - Reductions of a scalar return it unchanged; `keep_dims` re-inserts the reduced dim as 1.
//! - `#[threads(N)]` must be a power of two in 1..=1024. `#[grid]` expressions fold consts and
//!   name runtime int scalar params (`GridExpr::Param`).
//! - The lowered IR is run through `ir::verify`; a failure is reported as an internal compiler
//!   error, never returned.
//!
//!
//! | code | meaning |
//! |---|---|
//! | E0201 | unknown name (with a "did you mean" help) |
//! | E0202 | duplicate definition (label on the first one) |
//! | E0203 | unknown function |
//! | E0204 | too many arguments (or a wrong count for `range`) |
//! | E0205 | unknown named argument |
//! | E0206 | missing required argument |
//! | E0207 | recursion (fns or consts), with the call chain in a note |
//! | E0208 | unknown module, unreadable `use`d file or `use` cycle |
//! | E0209 | `break`/`continue` outside of a loop |
//! | E0210 | assignment to an immutable variable or a non-variable |
//! | E0211 | unknown kernel (in `lower`) |
//! | E0212 | argument given twice |
//! | E0214 | unknown or malformed attribute |
//! | E0215 | a name used as the wrong kind of item (fn as value, kernel called, …) |
//! | E0216 | unknown const parameter in a specialisation request |
//! | E0301 | mismatched types (no implicit conversions) |
//! | E0302 | a float literal where an integer type is required |
//! | E0303 | integer literal out of range for its type |
//! | E0304 | operator or builtin applied to a type it does not take |
//! | E0305 | condition or mask is not `bool` |
//! | E0306 | an integer is required (bounds, axes, dims) |
//! | E0307 | store through a read-only `*T` pointer |
//! | E0308 | `load`/`store` on a non-pointer |
//! | E0309 | stored value's type differs from the pointee |
//! | E0310 | `let` annotation does not match the value |
//! | E0311 | assignment changes a `let mut` variable's type |
//! | E0312 | return value does not match `-> T`, or a kernel returns a value |
//! | E0313 | `if` branches have different types |
//! | E0314 | invalid kernel parameter type |
//! | E0315 | invalid pointer arithmetic |
//! | E0316 | expected a type / string argument, or a type used as a value |
//! | E0317 | math builtin on a type it does not take (e.g. `exp` of an int) |
//! | E0318 | fn argument does not match the parameter's declared type |
//! | E0319 | `&&`/`||` on blocks |
//! | E0401 | block dim not in 1..=2^20, or a `reshape` that padding to powers of two would break |
//! | E0402 | shapes cannot be broadcast together (both shapes shown) |
//! | E0403 | wrong rank (dim count, `:` count) |
//! | E0404 | block has more than 2^20 elements (dims rounded up to powers of two) |
//! | E0405 | block-valued condition in `if`/`while` (use `where`) |
//! | E0406 | axis out of range |
//! | E0407 | `arange` length not in 1..=2^20 |
//! | E0420 | `dot` operands' inner dims differ (`[M, K] × [K, N]`) |
//! | E0421 | `dot` accumulator shape is not the product's `[M, N]` |
//! | E0422 | unknown `dot` `input_precision` (only "ieee") |
//! | E0423 | `reshape` to a different number of elements |
//! | E0424 | `permute` dims are not a permutation |
//! | E0501 | `static_assert` failed |
//! | E0502 | const parameter without a value |
//! | E0503 | division by zero in a compile-time expression |
//! | E0504 | value must be known at compile time |
//! | E0505 | invalid `#[grid]` expression |
//! | E0507 | loop step is zero |
//! | E0508 | invalid `#[threads]` / `#[autotune]` value |
//! | E0601 | builtin not supported yet by the IR (none today); `#[threads]` over the device limit (passes) |
//! | E0602 | `return` in a `while` condition or a const; a pointer-valued block after an early `return` |
//! | E0603 | `static_range` unrolls too many iterations |
//! | E0604 | `break`/`continue` inside `static_range` |
//! | E0605 | fn calls nest too deeply |
//! | E0606 | the kernel grows too large when unrolled and inlined |
pub mod builtins;
mod diags;
mod elab;
mod fold;
#[cfg(test)]
mod tests;

use crate::base::{Diagnostic, Diagnostics, FileId, Literal, ScalarType, SourceMap, Span};
use crate::ir;
use crate::syntax::ast;
use elab::{Elab, Val};
use std::collections::HashMap;

/// Reads the text of a `use`d file; `None` when it cannot be read.
pub trait FileLoader {
    fn load(&self, path: &std::path::Path) -> Option<String>;
}

/// The standard library modules, embedded so `tkc` works from any directory.
const STDLIB: &[(&str, &str)] = &[
    ("math", include_str!("../../stdlib/math.tk")),
    ("random", include_str!("../../stdlib/random.tk")),
];

/// The result of checking a file and everything it uses.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    /// Parsed files by `FileId` (index 0 is the main file).
    pub files: Vec<ast::File>,
    pub kernels: Vec<KernelSig>,
    /// The item table of each file, indexed like `files`.
    pub scopes: Vec<FileScope>,
    /// Values of the global consts that evaluated without error, by (file, name).
    pub consts: HashMap<(u32, String), (ScalarType, Literal)>,
    /// The main file.
    pub main: u32,
}

/// The names a file defines and the modules it `use`s.
#[derive(Debug, Clone, Default)]
pub struct FileScope {
    pub items: HashMap<String, ItemRef>,
    /// Module name → file index.
    pub modules: HashMap<String, u32>,
    /// Modules whose `use` failed (already reported), so their uses stay silent.
    pub failed_modules: Vec<String>,
}

/// An item of a file, by its index in `ast::File::items`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemRef {
    Fn(usize),
    Kernel(usize),
    Const(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct KernelSig {
    pub name: String,
    pub docs: Vec<String>,
    pub span: Span,
    pub params: Vec<KernelParamSig>,
    /// `#[autotune(...)]`, if given (its configs' values already checked against the consts).
    pub autotune: Option<Autotune>,
}

/// The candidate configurations of `#[autotune]`, tuned per distinct value of the `key` params.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Autotune {
    /// Names of runtime scalar parameters.
    pub key: Vec<String>,
    pub configs: Vec<AutotuneConfig>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AutotuneConfig {
    /// Const parameter values, typed like the consts.
    pub consts: Vec<(String, Literal)>,
    pub threads: Option<u32>,
    /// `stages = n`: the buffers each staged `dot` rotates through (overrides `#[stages]`).
    pub stages: Option<u32>,
    /// `vector = n`: the most elements one memory access moves (a power of two up to 8).
    pub vector: Option<u32>,
}

/// The values `#[stages(N)]` and an autotune config's `stages` may take: buffers per staged
/// `dot`.
pub const STAGES: std::ops::RangeInclusive<i128> = 1..=4;

#[derive(Debug, Clone, PartialEq)]
pub struct KernelParamSig {
    pub name: String,
    pub span: Span,
    pub kind: KernelParamKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum KernelParamKind {
    Runtime(ir::ParamKind),
    Const {
        ty: ScalarType,
        default: Option<Literal>,
    },
}

/// The closest of `candidates` to `name` by edit distance, if close enough to be a typo.
pub fn suggest<'c>(name: &str, candidates: impl Iterator<Item = &'c str>) -> Option<String> {
    let limit = (name.len() / 3).max(1);
    candidates
        .filter(|c| *c != name)
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c.to_string())
}

/// Edit distance counting a swap of two neighbours as one edit (optimal string alignment), so
/// `laod` is one edit from `load`.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// Parses (via `syntax::parse`) and checks the main file and its `use`s. Every kernel whose consts
/// all have defaults is also elaborated at those defaults, so its body errors are reported.
pub fn check(
    sources: &mut SourceMap,
    main: FileId,
    loader: &dyn FileLoader,
) -> (Checked, Diagnostics) {
    let mut diags = Diagnostics::new();
    let mut checked = Checked {
        main: main.0,
        ..Checked::default()
    };
    load_files(sources, main, loader, &mut checked, &mut diags);
    for file in 0..checked.files.len() {
        let scope = item_table(&checked.files[file], &mut diags);
        checked.scopes[file].items = scope;
    }

    // Global consts of every file, evaluated once (in dependency order, lazily).
    let mut elab = Elab::new(&checked, "<consts>");
    for (file, ast_file) in checked.files.iter().enumerate() {
        for item in &ast_file.items {
            if let ast::ItemKind::Const(c) = &item.kind {
                elab.global_const(file as u32, &c.name.name, c.name.span);
            }
        }
    }
    let consts: HashMap<(u32, String), (ScalarType, Literal)> = elab
        .global_consts
        .iter()
        .filter_map(|(k, v)| v.map(|v| (k.clone(), v)))
        .collect();
    diags.extend(std::mem::take(&mut elab.diags));
    drop(elab);
    checked.consts = consts;

    // Kernel signatures of the main file.
    let main_file = &checked.files[main.0 as usize];
    let mut kernels = Vec::new();
    for item in &main_file.items {
        if let ast::ItemKind::Kernel(k) = &item.kind {
            kernels.push(kernel_signature(&checked, main.0, item, k, &mut diags));
        }
    }
    checked.kernels = kernels;

    // Elaborate every kernel whose consts all have defaults, for its body diagnostics.
    for sig in &checked.kernels {
        let all_default = sig.params.iter().all(|p| match &p.kind {
            KernelParamKind::Const { default, .. } => default.is_some(),
            KernelParamKind::Runtime(_) => true,
        });
        let signature_ok = !diags
            .iter()
            .any(|d| d.is_error() && d.primary_span().is_some_and(|s| within(s, sig.span)));
        if all_default && signature_ok {
            let (_, d) = lower(&checked, &sig.name, &[]);
            diags.extend(d);
        }
    }
    (checked, dedup(diags))
}

fn within(inner: Span, outer: Span) -> bool {
    inner.file == outer.file && inner.start >= outer.start && inner.end <= outer.end
}

/// Drops repeated diagnostics (an error in a fn inlined twice is reported once).
fn dedup(diags: Diagnostics) -> Diagnostics {
    let mut out = Diagnostics::new();
    for d in diags.items {
        if !out.items.iter().any(|o| {
            o.code == d.code && o.message == d.message && o.primary_span() == d.primary_span()
        }) {
            out.push(d);
        }
    }
    out
}

/// Parses the main file and, transitively, every file it `use`s.
fn load_files(
    sources: &mut SourceMap,
    main: FileId,
    loader: &dyn FileLoader,
    checked: &mut Checked,
    diags: &mut Diagnostics,
) {
    let count = sources.files.len();
    checked.files = vec![ast::File { items: Vec::new() }; count];
    checked.scopes = vec![FileScope::default(); count];
    // Files already loaded, by the name they were added under.
    let mut by_name: HashMap<String, u32> = HashMap::new();
    let mut stack: Vec<u32> = vec![main.0];
    by_name.insert(sources.file(main).name.clone(), main.0);
    parse_into(sources, main.0, checked, diags);
    while let Some(file) = stack.pop() {
        let uses: Vec<ast::UseItem> = checked.files[file as usize]
            .items
            .iter()
            .filter_map(|i| match &i.kind {
                ast::ItemKind::Use(u) => Some(u.clone()),
                _ => None,
            })
            .collect();
        for u in uses {
            let (module, key, span, text) = match &u {
                ast::UseItem::Module(ident) => {
                    let Some((_, text)) = STDLIB.iter().find(|(n, _)| *n == ident.name) else {
                        let names: Vec<&str> = STDLIB.iter().map(|(n, _)| *n).collect();
                        let similar = suggest(&ident.name, names.iter().copied());
                        checked.scopes[file as usize]
                            .failed_modules
                            .push(ident.name.clone());
                        diags.push(diags::unknown_std_module(
                            &ident.name,
                            ident.span,
                            &names,
                            similar,
                        ));
                        continue;
                    };
                    (
                        ident.name.clone(),
                        format!("<stdlib>/{}.tk", ident.name),
                        ident.span,
                        Some(text.to_string()),
                    )
                }
                ast::UseItem::File { path, span } => {
                    let base = std::path::Path::new(&sources.file(FileId(file)).name);
                    let joined = base.parent().unwrap_or(std::path::Path::new("")).join(path);
                    let module = joined
                        .file_stem()
                        .map_or(String::new(), |s| s.to_string_lossy().to_string());
                    let key = joined.to_string_lossy().to_string();
                    (module, key, *span, None)
                }
            };
            if let Some(&existing) = by_name.get(&key) {
                if existing == file || uses_transitively(checked, existing, file) {
                    diags.push(diags::use_cycle(&key, span));
                    continue;
                }
                checked.scopes[file as usize]
                    .modules
                    .insert(module, existing);
                continue;
            }
            let text = match text {
                Some(t) => t,
                None => match loader.load(std::path::Path::new(&key)) {
                    Some(t) => t,
                    None => {
                        checked.scopes[file as usize].failed_modules.push(module);
                        diags.push(diags::unreadable_use(&key, span));
                        continue;
                    }
                },
            };
            let id = sources.add(key.clone(), text);
            checked.files.push(ast::File { items: Vec::new() });
            checked.scopes.push(FileScope::default());
            by_name.insert(key, id.0);
            parse_into(sources, id.0, checked, diags);
            checked.scopes[file as usize].modules.insert(module, id.0);
            stack.push(id.0);
        }
    }
}

/// Whether `user` `use`s `file`, directly or not: then `file` using `user` closes a cycle.
fn uses_transitively(checked: &Checked, user: u32, file: u32) -> bool {
    let mut seen = vec![false; checked.scopes.len()];
    let mut todo = vec![user];
    while let Some(f) = todo.pop() {
        if f == file {
            return true;
        }
        if std::mem::replace(&mut seen[f as usize], true) {
            continue;
        }
        todo.extend(checked.scopes[f as usize].modules.values().copied());
    }
    false
}

fn parse_into(sources: &SourceMap, file: u32, checked: &mut Checked, diags: &mut Diagnostics) {
    let (ast, d) = crate::syntax::parse(&sources.file(FileId(file)).text, FileId(file));
    diags.extend(d);
    checked.files[file as usize] = ast;
}

fn item_name(item: &ast::Item, index: usize) -> Option<(&ast::Ident, ItemRef)> {
    match &item.kind {
        ast::ItemKind::Fn(f) => Some((&f.name, ItemRef::Fn(index))),
        ast::ItemKind::Kernel(k) => Some((&k.name, ItemRef::Kernel(index))),
        ast::ItemKind::Const(c) => Some((&c.name, ItemRef::Const(index))),
        _ => None,
    }
}

/// The names a file defines; duplicates are reported with a label on the first definition.
fn item_table(file: &ast::File, diags: &mut Diagnostics) -> HashMap<String, ItemRef> {
    let mut items: HashMap<String, ItemRef> = HashMap::new();
    let mut first: HashMap<String, Span> = HashMap::new();
    for (index, item) in file.items.iter().enumerate() {
        let Some((ident, r)) = item_name(item, index) else {
            continue;
        };
        if let ast::ItemKind::Fn(f) = &item.kind {
            duplicate_fn_params(f, diags);
        }
        if let Some(span) = first.get(&ident.name) {
            diags.push(diags::duplicate(
                &format!("`{}` is defined", ident.name),
                ident.span,
                *span,
            ));
            continue;
        }
        first.insert(ident.name.clone(), ident.span);
        items.insert(ident.name.clone(), r);
    }
    items
}

fn duplicate_fn_params(f: &ast::FnItem, diags: &mut Diagnostics) {
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for p in &f.params {
        let (ast::FnParam::Value { name, .. } | ast::FnParam::Const { name, .. }) = p;
        if let Some(first) = seen.get(name.name.as_str()) {
            diags.push(diags::duplicate(
                &format!("parameter `{}` is declared", name.name),
                name.span,
                *first,
            ));
        }
        seen.insert(&name.name, name.span);
    }
}

const RUNTIME_SCALARS: [ScalarType; 7] = [
    ScalarType::I32,
    ScalarType::U32,
    ScalarType::I64,
    ScalarType::U64,
    ScalarType::F32,
    ScalarType::F16,
    ScalarType::Bool,
];

/// The IR kind of a runtime kernel parameter; `None` for types a kernel cannot take.
fn runtime_param_kind(ty: &ast::Ty) -> Option<ir::ParamKind> {
    match &ty.kind {
        ast::TyKind::Ptr { mutable, pointee } => Some(ir::ParamKind::Pointer {
            pointee: *pointee,
            mutable: *mutable,
        }),
        ast::TyKind::Scalar(t) if RUNTIME_SCALARS.contains(t) => Some(ir::ParamKind::Scalar(*t)),
        _ => None,
    }
}

/// Checks a kernel's parameters and attributes and records its signature.
fn kernel_signature(
    checked: &Checked,
    file: u32,
    item: &ast::Item,
    k: &ast::KernelItem,
    diags: &mut Diagnostics,
) -> KernelSig {
    let mut params = Vec::new();
    let mut seen: HashMap<&str, Span> = HashMap::new();
    let mut elab = Elab::new(checked, &k.name.name);
    elab.push_frame(file, true);
    for p in &k.params {
        let (name, kind) = match p {
            ast::KernelParam::Value { name, ty } => {
                let kind = runtime_param_kind(ty).unwrap_or_else(|| {
                    diags.push(diags::bad_kernel_param(&name.name, ty.span));
                    ir::ParamKind::Scalar(ScalarType::I32)
                });
                // Bound as a runtime value so a const default that uses it is reported.
                let index = elab.b.add_param(name.name.clone(), kind);
                let value = elab.b.param(index);
                elab.bind_value(&name.name, Val::Rt(value));
                (name, KernelParamKind::Runtime(kind))
            }
            ast::KernelParam::Const { name, ty, default } => {
                if !matches!(ty.ty, ScalarType::I32 | ScalarType::Bool | ScalarType::F32) {
                    diags.push(diags::bad_const_param(&name.name, ty.ty, ty.span));
                }
                let value = default.as_ref().and_then(|d| {
                    let v = elab.expr(d);
                    elab.const_value(&v, d.span, ty.ty)
                });
                elab.bind_value(
                    &name.name,
                    value.map_or(Val::Error, |l| Val::Known {
                        ty: Some(ty.ty),
                        lit: l,
                    }),
                );
                (
                    name,
                    KernelParamKind::Const {
                        ty: ty.ty,
                        default: value,
                    },
                )
            }
        };
        if let Some(first) = seen.get(name.name.as_str()) {
            diags.push(diags::duplicate(
                &format!("parameter `{}` is declared", name.name),
                name.span,
                *first,
            ));
        }
        seen.insert(&name.name, name.span);
        params.push(KernelParamSig {
            name: name.name.clone(),
            span: name.span,
            kind,
        });
    }
    diags.extend(std::mem::take(&mut elab.diags));
    let mut autotune = None;
    for attr in &item.attrs {
        check_attr_shape(attr, diags);
        if attr.name.name == "autotune" {
            autotune = Some(check_autotune(attr, k, &mut elab, diags));
        }
    }
    KernelSig {
        name: k.name.name.clone(),
        docs: item.docs.clone(),
        span: item.span,
        params,
        autotune,
    }
}

/// Attribute checks that need no const values (names and arity).
fn check_attr_shape(attr: &ast::Attr, diags: &mut Diagnostics) {
    match attr.name.name.as_str() {
        "grid" => {
            if attr.args.is_empty()
                || attr.args.len() > 3
                || attr
                    .args
                    .iter()
                    .any(|a| !matches!(a, ast::AttrArg::Expr(_)))
            {
                diags.push(diags::malformed_grid(attr.span));
            }
        }
        "threads" => {
            if attr.args.len() != 1 || !matches!(attr.args[0], ast::AttrArg::Expr(_)) {
                diags.push(diags::malformed_threads(attr.span));
            }
        }
        "stages" => {
            if attr.args.len() != 1 || !matches!(attr.args[0], ast::AttrArg::Expr(_)) {
                diags.push(diags::malformed_stages(attr.span));
            }
        }
        "autotune" => {}
        other => {
            let similar = suggest(other, ["grid", "threads", "stages", "autotune"].into_iter());
            diags.push(diags::unknown_attribute(other, attr.name.span, similar));
        }
    }
}

fn check_autotune(
    attr: &ast::Attr,
    k: &ast::KernelItem,
    elab: &mut Elab,
    diags: &mut Diagnostics,
) -> Autotune {
    let mut spec = Autotune::default();
    let help = "write `#[autotune(key = [n], configs = [{BLOCK = 256, threads = 64}, …])]`";
    let bad = |diags: &mut Diagnostics, span: Span, message: String, help: &str| {
        diags.push(diags::invalid_autotune(message, span, help));
    };
    for arg in &attr.args {
        let ast::AttrArg::Named { name, value } = arg else {
            let message = "`#[autotune]` takes `key = [...]` and `configs = [...]`".to_string();
            bad(diags, attr.span, message, help);
            continue;
        };
        match (name.name.as_str(), value) {
            ("key", ast::AttrVal::List { items, .. }) => {
                for item in items {
                    let param = match item {
                        ast::AttrVal::Expr(ast::Expr {
                            kind: ast::ExprKind::Path(p),
                            ..
                        }) if p.len() == 1 => Some(&p[0]),
                        _ => None,
                    };
                    let runtime = param.is_some_and(|p| {
                        k.params.iter().any(|q| {
                            matches!(q, ast::KernelParam::Value { name, .. } if name.name == p.name)
                        })
                    });
                    match param {
                        Some(p) if runtime => spec.key.push(p.name.clone()),
                        Some(p) => bad(
                            diags,
                            p.span,
                            format!("autotune key `{}` is not a runtime parameter", p.name),
                            "keys name scalar parameters of the kernel",
                        ),
                        None => bad(
                            diags,
                            attr_val_span(item),
                            "autotune keys are parameter names".into(),
                            help,
                        ),
                    }
                }
            }
            ("configs", ast::AttrVal::List { items, .. }) => {
                for item in items {
                    let ast::AttrVal::Record { fields, .. } = item else {
                        let message = "each autotune config is `{NAME = value, …}`".to_string();
                        bad(diags, attr_val_span(item), message, help);
                        continue;
                    };
                    let mut config = AutotuneConfig::default();
                    for (field, value) in fields {
                        let v = elab.expr(value);
                        if field.name == "threads" {
                            match v {
                                Val::Known {
                                    lit: Literal::Int(n),
                                    ..
                                } if (1..=1024).contains(&n) && n & (n - 1) == 0 => {
                                    config.threads = Some(n as u32)
                                }
                                _ => bad(
                                    diags,
                                    value.span,
                                    "`threads` must be a power of two from 1 to 1024".into(),
                                    help,
                                ),
                            }
                            continue;
                        }
                        if field.name == "vector" {
                            match v {
                                Val::Known {
                                    lit: Literal::Int(n),
                                    ..
                                } if matches!(n, 1 | 2 | 4 | 8) => config.vector = Some(n as u32),
                                _ => bad(
                                    diags,
                                    value.span,
                                    "`vector` must be 1, 2, 4 or 8".into(),
                                    help,
                                ),
                            }
                            continue;
                        }
                        if field.name == "stages" {
                            match v {
                                Val::Known {
                                    lit: Literal::Int(n),
                                    ..
                                } if STAGES.contains(&n) => config.stages = Some(n as u32),
                                _ => bad(
                                    diags,
                                    value.span,
                                    "`stages` must be a number from 1 to 4".into(),
                                    help,
                                ),
                            }
                            continue;
                        }
                        let const_ty = k.params.iter().find_map(|p| match p {
                            ast::KernelParam::Const { name, ty, .. } if name.name == field.name => {
                                Some(ty.ty)
                            }
                            _ => None,
                        });
                        let Some(ty) = const_ty else {
                            bad(
                                diags,
                                field.span,
                                format!("`{}` is not a const parameter of the kernel", field.name),
                                "configs set const parameters, `threads`, `stages` and `vector`",
                            );
                            continue;
                        };
                        if let Some(lit) = elab.const_value(&v, value.span, ty) {
                            config.consts.push((field.name.clone(), lit));
                        }
                    }
                    spec.configs.push(config);
                }
            }
            _ => bad(
                diags,
                name.span,
                format!("unexpected `{}` in `#[autotune]`", name.name),
                help,
            ),
        }
    }
    diags.extend(std::mem::take(&mut elab.diags));
    spec
}

fn attr_val_span(v: &ast::AttrVal) -> Span {
    match v {
        ast::AttrVal::Expr(e) => e.span,
        ast::AttrVal::List { span, .. } | ast::AttrVal::Record { span, .. } => *span,
    }
}

/// Elaborates kernel `name` for the given const values (missing ones take their defaults) into
/// Lowered IR.
pub fn lower(
    checked: &Checked,
    name: &str,
    consts: &[(String, Literal)],
) -> (Option<ir::Module>, Diagnostics) {
    let mut diags = Diagnostics::new();
    let file = checked.main;
    let Some(ItemRef::Kernel(index)) = checked
        .scopes
        .get(file as usize)
        .and_then(|s| s.items.get(name))
        .copied()
    else {
        let names: Vec<&str> = checked.kernels.iter().map(|k| k.name.as_str()).collect();
        let similar = suggest(name, names.iter().copied());
        diags.push(diags::unknown_kernel(name, &names, similar));
        return (None, diags);
    };
    let item = &checked.files[file as usize].items[index];
    let ast::ItemKind::Kernel(k) = &item.kind else {
        return (None, diags);
    };
    for (given, _) in consts {
        let known = k
            .params
            .iter()
            .any(|p| matches!(p, ast::KernelParam::Const { name, .. } if name.name == *given));
        if !known {
            let names = k.params.iter().filter_map(|p| match p {
                ast::KernelParam::Const { name, .. } => Some(name.name.as_str()),
                _ => None,
            });
            let similar = suggest(given, names);
            diags.push(diags::unknown_const_param(
                given,
                name,
                k.name.span,
                similar,
            ));
        }
    }

    let mut elab = Elab::new(checked, name);
    elab.push_frame(file, true);
    // Parameters: runtime ones become IR params (their `Param` instructions open the body, so
    // they dominate every use); consts bind compile-time values.
    for p in &k.params {
        match p {
            ast::KernelParam::Value { name: pname, ty } => {
                let Some(kind) = runtime_param_kind(ty) else {
                    elab.diags
                        .push(diags::bad_kernel_param(&pname.name, ty.span));
                    elab.bind_value(&pname.name, Val::Error);
                    continue;
                };
                let i = elab.b.add_param(pname.name.clone(), kind);
                elab.b.span = pname.span;
                let v = elab.b.param(i);
                elab.bind_value(&pname.name, Val::Rt(v));
            }
            ast::KernelParam::Const {
                name: cname,
                ty,
                default,
            } => {
                let given = consts
                    .iter()
                    .find(|(n, _)| *n == cname.name)
                    .map(|(_, l)| *l);
                let value = match (given, default) {
                    (Some(lit), _) => {
                        elab.const_value(&Val::Known { ty: None, lit }, cname.span, ty.ty)
                    }
                    (None, Some(d)) => {
                        let v = elab.expr(d);
                        elab.const_value(&v, d.span, ty.ty)
                    }
                    (None, None) => {
                        elab.diags
                            .push(diags::const_without_value(&cname.name, ty.ty, cname.span));
                        None
                    }
                };
                if let Some(lit) = value {
                    elab.b.kernel.consts.push((cname.name.clone(), lit));
                }
                elab.bind_value(
                    &cname.name,
                    value.map_or(Val::Error, |lit| Val::Known {
                        ty: Some(ty.ty),
                        lit,
                    }),
                );
            }
        }
    }
    if elab.diags.has_errors() {
        diags.extend(elab.diags);
        return (None, diags);
    }
    for attr in &item.attrs {
        match attr.name.name.as_str() {
            "grid" => {
                let mut grid = Vec::new();
                for arg in &attr.args {
                    if let ast::AttrArg::Expr(e) = arg {
                        if let Some(g) = elab.grid_expr(e) {
                            grid.push(g);
                        }
                    }
                }
                elab.b.kernel.grid = Some(grid);
            }
            "threads" => {
                if let Some(ast::AttrArg::Expr(e)) = attr.args.first() {
                    let v = elab.expr(e);
                    match v {
                        Val::Known {
                            lit: Literal::Int(n),
                            ..
                        } if (1..=1024).contains(&n) && (n & (n - 1)) == 0 => {
                            elab.b.kernel.threads = Some(n as u32);
                            elab.b.kernel.threads_span = Some(attr.span);
                        }
                        Val::Error => {}
                        _ => elab.diags.push(diags::invalid_threads(e.span)),
                    }
                }
            }
            "stages" => {
                if let Some(ast::AttrArg::Expr(e)) = attr.args.first() {
                    match elab.expr(e) {
                        Val::Known {
                            lit: Literal::Int(n),
                            ..
                        } if STAGES.contains(&n) => elab.b.kernel.stages = Some(n as u32),
                        Val::Error => {}
                        _ => elab.diags.push(diags::invalid_stages(e.span)),
                    }
                }
            }
            _ => {}
        }
    }
    let v = elab.block(&k.body, false);
    if !matches!(v, Val::Unit | Val::Error) {
        let span = k.body.tail.as_ref().map_or(k.body.span, |t| t.span);
        elab.diags.push(diags::kernel_body_value(span));
    }
    let failed = elab.diags.has_errors();
    diags.extend(std::mem::take(&mut elab.diags));
    if failed {
        return (None, diags);
    }
    let module = ir::Module {
        kernel: elab.b.finish(),
    };
    // The checker promises verified IR; anything else is a bug in tk, not in the kernel.
    if let Err(message) = ir::verify::verify(&module) {
        diags.push(
            Diagnostic::internal(format!("lowered IR of `{name}` does not verify: {message}"))
                .with_label(k.name.span, "while lowering this kernel"),
        );
        return (None, diags);
    }
    (Some(module), diags)
}
