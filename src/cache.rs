//! The on-disk caches: compiled kernels (`abi::Artifact`s) keyed by everything that decides the
//! SPIR-V, and the Vulkan pipeline cache data of each device, under `$XDG_CACHE_HOME/tk`
//! (falling back to `~/.cache/tk`).
//!
//! A kernel's key hashes the text of every source file of the program, the kernel name, its
//! complete const values (defaults included), its `#[threads]`, the divisibility its launch
//! arguments promise (`driver::specialize`), the target (device name, limits,
//! features, subgroup size) and driver text, the safe-mode flag and the compiler's identity
//! (crate version, grammar hash, and the size and modification time of the running executable,
//! so that a rebuilt compiler never reuses an older one's output). Entries are written to a
//! temporary file and renamed into place, so a reader never sees half an entry; an entry that
//! fails to decode is treated as absent and rewritten.
//!
//! The artifact format is tk's own, little endian: the magic `TKART`, a format version, then
//! length-prefixed fields in `Artifact` order (see `encode_artifact`).
use crate::abi::contract::{Contract, Expr, MaskBound, Op, Rearranged};
use crate::abi::{Abi, Artifact, AssertSite, BufferBinding, Features, PushField, PushRepr, Target};
use crate::base::{FileId, Literal, ScalarType, SourceMap, Span};
use crate::ir;
use std::path::{Path, PathBuf};

/// What a cached compile did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// The artifact came from the cache: nothing was compiled.
    Hit,
    /// The artifact was compiled and stored.
    Miss,
    /// No cache was used (`--no-cache`, or no cache directory could be found).
    Bypassed,
}

/// The root of tk's caches: `$XDG_CACHE_HOME/tk`, else `$HOME/.cache/tk`.
pub fn cache_root() -> Option<PathBuf> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(xdg) = non_empty("XDG_CACHE_HOME") {
        return Some(PathBuf::from(xdg).join("tk"));
    }
    non_empty("HOME").map(|home| PathBuf::from(home).join(".cache").join("tk"))
}

/// A 128-bit FNV-1a hasher: stable across Rust releases and platforms (unlike `DefaultHasher`),
/// which a key persisted on disk needs.
#[derive(Debug, Clone)]
pub struct StableHasher {
    state: u128,
}

impl Default for StableHasher {
    fn default() -> Self {
        StableHasher {
            state: 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d,
        }
    }
}

impl StableHasher {
    pub fn new() -> StableHasher {
        StableHasher::default()
    }
    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
        for &byte in bytes {
            self.state ^= byte as u128;
            self.state = self.state.wrapping_mul(PRIME);
        }
        self
    }
    /// Hashes a field with its length first, so that ("ab", "c") and ("a", "bc") differ.
    pub fn field(&mut self, text: &str) -> &mut Self {
        self.bytes(&(text.len() as u64).to_le_bytes());
        self.bytes(text.as_bytes())
    }
    /// The hash as 32 hex digits (a file name).
    pub fn hex(&self) -> String {
        format!("{:032x}", self.state)
    }
}

/// The file that holds the compiler when it is not the running executable (`set_compiler_file`).
static COMPILER_FILE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Names the file that holds the compiler's code, for its identity: a library loaded into another
/// program (the Python extension, loaded by `python`) names its own shared object, so that a
/// rebuilt library never reuses an older one's kernels. The first call wins.
pub fn set_compiler_file(path: impl Into<PathBuf>) {
    let _ = COMPILER_FILE.set(path.into());
}

/// The compiler's file: the one `set_compiler_file` named, else the running executable.
fn compiler_file() -> Option<PathBuf> {
    COMPILER_FILE
        .get()
        .cloned()
        .or_else(|| std::env::current_exe().ok())
}

/// The compiler's identity: crate version, grammar hash, and the running executable's size and
/// modification time (a rebuild changes them even when the version does not).
pub fn compiler_identity() -> String {
    let executable = compiler_file()
        .and_then(|path| std::fs::metadata(path).ok())
        .map(|meta| {
            let modified = meta
                .modified()
                .ok()
                .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            format!("{}@{modified}", meta.len())
        })
        .unwrap_or_default();
    format!(
        "tk {} grammar {} exe {executable}",
        env!("CARGO_PKG_VERSION"),
        env!("TK_GRAMMAR_HASH")
    )
}

/// The text of a literal for keys: exact for ints, bit-exact for floats.
fn literal_key(value: &Literal) -> String {
    match value {
        Literal::Bool(b) => format!("bool {b}"),
        Literal::Int(i) => format!("int {i}"),
        Literal::Float(f) => format!("float {:016x}", f.to_bits()),
    }
}

/// The cache key of one compile: see the module doc for what goes in.
pub fn kernel_key(
    sources: &SourceMap,
    lowered: &ir::Module,
    target: &Target,
    driver: &str,
    safe: bool,
) -> String {
    let mut hasher = StableHasher::new();
    hasher.field(&compiler_identity());
    for file in &sources.files {
        hasher.field(&file.text);
    }
    let kernel = &lowered.kernel;
    hasher.field(&kernel.name);
    for (name, value) in &kernel.consts {
        hasher.field(name).field(&literal_key(value));
    }
    hasher.field(&format!("threads {:?}", kernel.threads));
    hasher.field(&format!("divisible {:?}", kernel.divisibility));
    hasher.field(&format!("stages {:?}", kernel.stages));
    hasher.field(&format!("vector {:?}", kernel.vector));
    hasher.field(&format!("{target:?}")).field(driver);
    hasher.field(if safe { "safe" } else { "unchecked" });
    hasher.hex()
}

/// The hash of a program's source texts (the autotuner keys its results by it).
pub fn source_hash(sources: &SourceMap) -> String {
    let mut hasher = StableHasher::new();
    for file in &sources.files {
        hasher.field(&file.text);
    }
    hasher.hex()
}

/// Writes `data` to `path` atomically: a temporary file in the same directory, then a rename.
pub fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("entry");
    // The process id and a counter keep concurrent writers (other processes, other threads)
    // from sharing a temporary file.
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let unique = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let temporary = dir.join(format!(".{name}.{}.{unique}.tmp", std::process::id()));
    std::fs::write(&temporary, data)?;
    std::fs::rename(&temporary, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}

/// The compiled-kernel cache: one file per key under its directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelCache {
    pub dir: PathBuf,
}

impl KernelCache {
    pub fn new(dir: impl Into<PathBuf>) -> KernelCache {
        KernelCache { dir: dir.into() }
    }

    /// The cache at `cache_root()/kernels`; `None` when no cache directory can be named.
    pub fn default_location() -> Option<KernelCache> {
        cache_root().map(|root| KernelCache::new(root.join("kernels")))
    }

    pub fn entry_path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.tkart"))
    }

    /// The artifact stored under `key`; `None` when absent or unreadable (a corrupt entry is
    /// simply recompiled and overwritten).
    pub fn get(&self, key: &str) -> Option<Artifact> {
        let bytes = std::fs::read(self.entry_path(key)).ok()?;
        decode_artifact(&bytes)
    }

    pub fn put(&self, key: &str, artifact: &Artifact) -> std::io::Result<()> {
        write_atomic(&self.entry_path(key), &encode_artifact(artifact))
    }
}

const MAGIC: &[u8; 5] = b"TKART";
// 2: the assert table, or the uniform-buffer fields (two branches); 3: both; 4: launch contracts.
const FORMAT_VERSION: u32 = 5;

struct Writer {
    out: Vec<u8>,
}

impl Writer {
    fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    fn text(&mut self, text: &str) {
        self.u32(text.len() as u32);
        self.out.extend_from_slice(text.as_bytes());
    }
    fn scalar(&mut self, ty: ScalarType) {
        self.text(ty.name());
    }
    fn i64(&mut self, v: i64) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    /// An expression in prefix order: a tag, its fields, its operands.
    fn expr(&mut self, e: &Expr) {
        match e {
            Expr::Const(v) => {
                self.u32(0);
                self.i64(*v);
            }
            Expr::Scalar { param, name } => {
                self.u32(1);
                self.u32(*param);
                self.text(name);
            }
            Expr::ProgramId(d) => {
                self.u32(2);
                self.u32(*d);
            }
            Expr::NumPrograms(d) => {
                self.u32(3);
                self.u32(*d);
            }
            Expr::Arange { dim, start, end } => {
                self.u32(4);
                self.u32(*dim);
                self.i64(*start);
                self.i64(*end);
            }
            Expr::Binary { op, lhs, rhs, bits } => {
                self.u32(5);
                self.u32(match op {
                    Op::Add => 0,
                    Op::Sub => 1,
                    Op::Mul => 2,
                    Op::Div => 3,
                    Op::Rem => 4,
                    Op::Min => 5,
                    Op::Max => 6,
                });
                self.u32(*bits);
                self.expr(lhs);
                self.expr(rhs);
            }
            Expr::Loop {
                local,
                start,
                end,
                step,
                bits,
            } => {
                self.u32(6);
                self.u32(*local);
                self.i64(*step);
                self.u32(*bits);
                self.expr(start);
                self.expr(end);
            }
        }
    }
    fn contract(&mut self, c: &Contract) {
        self.u32(c.param);
        self.text(&c.name);
        self.u32(c.store as u32);
        self.u32(c.offsets.len() as u32);
        for offset in &c.offsets {
            self.expr(offset);
        }
        self.u32(c.bounds.len() as u32);
        for bound in &c.bounds {
            self.expr(&bound.lhs);
            self.expr(&bound.limit);
        }
        self.u32(c.index_bits);
        match &c.rearranged {
            None => self.u32(0),
            Some(r) => {
                self.u32(1);
                self.expr(&r.index);
                self.u32(r.computed.len() as u32);
                for e in &r.computed {
                    self.expr(e);
                }
            }
        }
    }
}

/// How deep a cached expression may nest (deeper entries are treated as damaged).
const EXPR_DEPTH: u32 = 256;

struct Reader<'a> {
    bytes: &'a [u8],
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.bytes.len() < n {
            return None;
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Some(head)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn text(&mut self) -> Option<String> {
        let len = self.u32()? as usize;
        String::from_utf8(self.take(len)?.to_vec()).ok()
    }
    fn scalar(&mut self) -> Option<ScalarType> {
        ScalarType::from_name(&self.text()?)
    }
    fn bool(&mut self) -> Option<bool> {
        match self.u32()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    /// An expression written by `Writer::expr`, nested at most `depth` deep.
    fn expr(&mut self, depth: u32) -> Option<Expr> {
        let depth = depth.checked_sub(1)?;
        Some(match self.u32()? {
            0 => Expr::Const(self.i64()?),
            1 => Expr::Scalar {
                param: self.u32()?,
                name: self.text()?,
            },
            2 => Expr::ProgramId(self.u32()?),
            3 => Expr::NumPrograms(self.u32()?),
            4 => Expr::Arange {
                dim: self.u32()?,
                start: self.i64()?,
                end: self.i64()?,
            },
            5 => Expr::Binary {
                op: match self.u32()? {
                    0 => Op::Add,
                    1 => Op::Sub,
                    2 => Op::Mul,
                    3 => Op::Div,
                    4 => Op::Rem,
                    5 => Op::Min,
                    6 => Op::Max,
                    _ => return None,
                },
                bits: self.u32()?,
                lhs: Box::new(self.expr(depth)?),
                rhs: Box::new(self.expr(depth)?),
            },
            6 => Expr::Loop {
                local: self.u32()?,
                step: self.i64()?,
                bits: self.u32()?,
                start: Box::new(self.expr(depth)?),
                end: Box::new(self.expr(depth)?),
            },
            _ => return None,
        })
    }
    fn contract(&mut self) -> Option<Contract> {
        let param = self.u32()?;
        let name = self.text()?;
        let store = self.bool()?;
        let count = self.u32()? as usize;
        let mut offsets = Vec::with_capacity(count.min(64));
        for _ in 0..count {
            offsets.push(self.expr(EXPR_DEPTH)?);
        }
        let count = self.u32()? as usize;
        let mut bounds = Vec::with_capacity(count.min(64));
        for _ in 0..count {
            bounds.push(MaskBound {
                lhs: self.expr(EXPR_DEPTH)?,
                limit: self.expr(EXPR_DEPTH)?,
            });
        }
        let index_bits = self.u32()?;
        let rearranged = match self.u32()? {
            0 => None,
            1 => {
                let index = self.expr(EXPR_DEPTH)?;
                let count = self.u32()? as usize;
                let mut computed = Vec::with_capacity(count.min(64));
                for _ in 0..count {
                    computed.push(self.expr(EXPR_DEPTH)?);
                }
                Some(Rearranged { index, computed })
            }
            _ => return None,
        };
        Some(Contract {
            param,
            name,
            store,
            offsets,
            bounds,
            index_bits,
            rearranged,
        })
    }
}

fn feature_bits(features: &Features) -> u32 {
    let flags = [
        features.float16,
        features.float64,
        features.int8,
        features.int16,
        features.int64,
        features.storage8,
        features.storage16,
        features.subgroup_arithmetic,
        features.float_atomic_add,
        features.subgroup_shuffle,
        features.cooperative_matrix,
        features.float_controls,
    ];
    flags
        .iter()
        .enumerate()
        .fold(0, |bits, (i, &on)| bits | ((on as u32) << i))
}

fn features_from_bits(bits: u32) -> Option<Features> {
    if bits >> 12 != 0 {
        return None;
    }
    let bit = |i: u32| bits & (1 << i) != 0;
    Some(Features {
        float16: bit(0),
        float64: bit(1),
        int8: bit(2),
        int16: bit(3),
        int64: bit(4),
        storage8: bit(5),
        storage16: bit(6),
        subgroup_arithmetic: bit(7),
        float_atomic_add: bit(8),
        subgroup_shuffle: bit(9),
        cooperative_matrix: bit(10),
        float_controls: bit(11),
    })
}

fn repr_code(repr: PushRepr) -> u32 {
    match repr {
        PushRepr::U32 => 0,
        PushRepr::I32 => 1,
        PushRepr::F32 => 2,
        PushRepr::U64 => 3,
        PushRepr::I64 => 4,
        PushRepr::F64 => 5,
    }
}

fn repr_from_code(code: u32) -> Option<PushRepr> {
    Some(match code {
        0 => PushRepr::U32,
        1 => PushRepr::I32,
        2 => PushRepr::F32,
        3 => PushRepr::U64,
        4 => PushRepr::I64,
        5 => PushRepr::F64,
        _ => return None,
    })
}

/// Serialises an artifact in tk's cache format.
pub fn encode_artifact(artifact: &Artifact) -> Vec<u8> {
    let mut w = Writer { out: Vec::new() };
    w.out.extend_from_slice(MAGIC);
    w.u32(FORMAT_VERSION);
    let abi = &artifact.abi;
    w.text(&abi.kernel);
    w.text(&abi.entry_point);
    for size in abi.workgroup_size {
        w.u32(size);
    }
    w.u32(abi.buffers.len() as u32);
    for buffer in &abi.buffers {
        w.u32(buffer.binding);
        w.text(&buffer.param);
        w.u32(buffer.param_index);
        w.scalar(buffer.elem);
        w.u32(buffer.writable as u32);
    }
    w.u32(abi.push_fields.len() as u32);
    for field in &abi.push_fields {
        w.text(&field.param);
        w.u32(field.param_index);
        w.u32(field.offset);
        w.scalar(field.ty);
        w.u32(repr_code(field.repr));
    }
    w.u32(abi.push_bytes);
    match abi.status_binding {
        Some(binding) => {
            w.u32(1);
            w.u32(binding);
        }
        None => w.u32(0),
    }
    match abi.uniform_binding {
        Some(binding) => {
            w.u32(1);
            w.u32(binding);
        }
        None => w.u32(0),
    }
    w.u32(abi.uniform_bytes);
    w.u32(abi.shared_bytes);
    w.u32(feature_bits(&abi.features));
    w.u32(abi.asserts.len() as u32);
    for site in &abi.asserts {
        w.text(&site.message);
        w.u32(site.span.file.0);
        w.u32(site.span.start);
        w.u32(site.span.end);
        w.u32(site.tile as u32);
    }
    w.u32(abi.contracts.len() as u32);
    for contract in &abi.contracts {
        w.contract(contract);
    }
    w.u32(artifact.words.len() as u32);
    for &word in &artifact.words {
        w.u32(word);
    }
    // A trailing checksum catches truncation and bit rot that still decode.
    let mut hasher = StableHasher::new();
    hasher.bytes(&w.out);
    let check = hasher.state as u64;
    w.out.extend_from_slice(&check.to_le_bytes());
    w.out
}

/// Reads an artifact written by `encode_artifact`; `None` for anything malformed.
pub fn decode_artifact(bytes: &[u8]) -> Option<Artifact> {
    if bytes.len() < MAGIC.len() + 12 {
        return None;
    }
    let (body, check) = bytes.split_at(bytes.len() - 8);
    let mut hasher = StableHasher::new();
    hasher.bytes(body);
    if (hasher.state as u64).to_le_bytes() != check {
        return None;
    }
    let mut r = Reader { bytes: body };
    if r.take(MAGIC.len())? != MAGIC || r.u32()? != FORMAT_VERSION {
        return None;
    }
    let kernel = r.text()?;
    let entry_point = r.text()?;
    let workgroup_size = [r.u32()?, r.u32()?, r.u32()?];
    let buffer_count = r.u32()? as usize;
    let mut buffers = Vec::with_capacity(buffer_count.min(1024));
    for _ in 0..buffer_count {
        buffers.push(BufferBinding {
            binding: r.u32()?,
            param: r.text()?,
            param_index: r.u32()?,
            elem: r.scalar()?,
            writable: r.bool()?,
        });
    }
    let field_count = r.u32()? as usize;
    let mut push_fields = Vec::with_capacity(field_count.min(1024));
    for _ in 0..field_count {
        push_fields.push(PushField {
            param: r.text()?,
            param_index: r.u32()?,
            offset: r.u32()?,
            ty: r.scalar()?,
            repr: repr_from_code(r.u32()?)?,
        });
    }
    let push_bytes = r.u32()?;
    let status_binding = if r.bool()? { Some(r.u32()?) } else { None };
    let uniform_binding = if r.bool()? { Some(r.u32()?) } else { None };
    let uniform_bytes = r.u32()?;
    let shared_bytes = r.u32()?;
    let features = features_from_bits(r.u32()?)?;
    let assert_count = r.u32()? as usize;
    let mut asserts = Vec::with_capacity(assert_count.min(1024));
    for _ in 0..assert_count {
        asserts.push(AssertSite {
            message: r.text()?,
            span: Span {
                file: FileId(r.u32()?),
                start: r.u32()?,
                end: r.u32()?,
            },
            tile: r.bool()?,
        });
    }
    let contract_count = r.u32()? as usize;
    let mut contracts = Vec::with_capacity(contract_count.min(1024));
    for _ in 0..contract_count {
        contracts.push(r.contract()?);
    }
    let word_count = r.u32()? as usize;
    if r.bytes.len() != word_count * 4 {
        return None;
    }
    let words = r
        .bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Some(Artifact {
        words,
        abi: Abi {
            kernel,
            entry_point,
            workgroup_size,
            buffers,
            push_fields,
            push_bytes,
            status_binding,
            uniform_binding,
            uniform_bytes,
            shared_bytes,
            features,
            asserts,
            contracts,
        },
    })
}

/// Schedules and emits `lowered` for `target`, or takes the artifact from `cache` when an
/// identical compile was stored before. `driver` is the device's driver text (part of the key).
/// A cache that cannot be written is not an error: the compile result is returned anyway.
pub fn compile(
    sources: &SourceMap,
    lowered: ir::Module,
    target: &Target,
    driver: &str,
    safe: bool,
    cache: Option<&KernelCache>,
) -> Result<(Artifact, CacheOutcome), crate::base::Diagnostic> {
    let Some(cache) = cache else {
        let (_, artifact) = crate::driver::compile(lowered, target, safe)?;
        return Ok((artifact, CacheOutcome::Bypassed));
    };
    let key = kernel_key(sources, &lowered, target, driver, safe);
    if let Some(artifact) = cache.get(&key) {
        return Ok((artifact, CacheOutcome::Hit));
    }
    let (_, artifact) = crate::driver::compile(lowered, target, safe)?;
    let _ = cache.put(&key, &artifact);
    Ok((artifact, CacheOutcome::Miss))
}

/// The file holding the pipeline cache data of the device with this pipeline-cache UUID.
pub fn pipeline_cache_path(uuid: &[u8; 16]) -> Option<PathBuf> {
    let name: String = uuid.iter().map(|b| format!("{b:02x}")).collect();
    cache_root().map(|root| root.join("pipelines").join(format!("{name}.bin")))
}

/// Loads the persisted VkPipelineCache of `device` into it; returns whether data was accepted
/// (absent, unreadable or foreign data is ignored: the device validates the header).
pub fn load_pipeline_cache(device: &crate::runtime::Device) -> bool {
    let Some(path) = pipeline_cache_path(&device.pipeline_cache_uuid()) else {
        return false;
    };
    match std::fs::read(path) {
        Ok(data) => device.import_pipeline_cache(&data).unwrap_or(false),
        Err(_) => false,
    }
}

/// Saves `device`'s VkPipelineCache data for the next process.
pub fn save_pipeline_cache(device: &crate::runtime::Device) -> std::io::Result<()> {
    let Some(path) = pipeline_cache_path(&device.pipeline_cache_uuid()) else {
        return Ok(());
    };
    let data = device
        .export_pipeline_cache()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    write_atomic(&path, &data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Artifact {
        Artifact {
            words: vec![0x0723_0203, 1, 2, 3],
            abi: Abi {
                kernel: "k".into(),
                entry_point: "main".into(),
                workgroup_size: [64, 1, 1],
                buffers: vec![BufferBinding {
                    binding: 0,
                    param: "x".into(),
                    param_index: 0,
                    elem: ScalarType::F16,
                    writable: true,
                }],
                push_fields: vec![PushField {
                    param: "n".into(),
                    param_index: 1,
                    offset: 32,
                    ty: ScalarType::I64,
                    repr: PushRepr::I64,
                }],
                push_bytes: 40,
                status_binding: Some(1),
                uniform_binding: None,
                uniform_bytes: 0,
                shared_bytes: 512,
                features: Features {
                    float16: true,
                    storage16: true,
                    ..Features::default()
                },
                asserts: vec![AssertSite {
                    message: "n > 0".into(),
                    span: Span {
                        file: FileId(0),
                        start: 10,
                        end: 40,
                    },
                    tile: true,
                }],
                contracts: vec![Contract {
                    param: 0,
                    name: "x".into(),
                    store: true,
                    offsets: vec![Expr::Binary {
                        op: Op::Mul,
                        lhs: Box::new(Expr::ProgramId(0)),
                        rhs: Box::new(Expr::Scalar {
                            param: 1,
                            name: "n".into(),
                        }),
                        bits: 64,
                    }],
                    bounds: vec![MaskBound {
                        lhs: Expr::ProgramId(0),
                        limit: Expr::Arange {
                            dim: 1,
                            start: -3,
                            end: 5,
                        },
                    }],
                    index_bits: 32,
                    rearranged: Some(Rearranged {
                        index: Expr::Binary {
                            op: Op::Rem,
                            lhs: Box::new(Expr::ProgramId(0)),
                            rhs: Box::new(Expr::Const(7)),
                            bits: 64,
                        },
                        computed: vec![Expr::Const(3)],
                    }),
                }],
            },
        }
    }

    #[test]
    fn artifacts_round_trip() {
        let artifact = sample();
        let bytes = encode_artifact(&artifact);
        assert_eq!(decode_artifact(&bytes), Some(artifact));
    }

    #[test]
    fn damaged_entries_are_rejected() {
        let bytes = encode_artifact(&sample());
        assert_eq!(decode_artifact(&bytes[..bytes.len() - 1]), None);
        let mut flipped = bytes.clone();
        flipped[10] ^= 1;
        assert_eq!(decode_artifact(&flipped), None);
        assert_eq!(decode_artifact(b"garbage"), None);
        assert_eq!(decode_artifact(&[]), None);
    }

    #[test]
    fn hasher_separates_fields() {
        let a = StableHasher::new().field("ab").field("c").hex();
        let b = StableHasher::new().field("a").field("bc").hex();
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert_eq!(a, StableHasher::new().field("ab").field("c").hex());
    }
}
