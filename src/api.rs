//! The Rust library API: a `Context` that owns a Vulkan device (or the reference interpreter
//! when there is none), `Kernel`s compiled from a file or a string with const values, typed
//! `Buffer<T>`s made from and read back into slices, and launches that take arguments by name,
//! checked against the kernel's parameters at run time with plain-sentence errors.
//!
//! ```
//! use tk::api::{Buffer, Context, Kernel};
//!
//! let ctx = Context::new()?; // a Vulkan device, or the interpreter when there is none
//! let source = "
//!     #[grid(cdiv(n, BLOCK))]
//!     kernel scale(x: *f32, out: *mut f32, n: i32, s: f32, const BLOCK: i32 = 64) {
//!         let offs = program_id(0) * BLOCK + arange(0, BLOCK);
//!         store(out + offs, load(x + offs, mask: offs < n) * s, mask: offs < n);
//!     }";
//! let kernel = Kernel::from_source(&ctx, "scale.tk", source, "scale", &[("BLOCK", 128.into())])?;
//! let x = Buffer::from_slice(&[1.0f32, 2.0, 3.0]);
//! let mut out = Buffer::<f32>::zeros(3);
//! kernel
//!     .launch(&ctx)
//!     .arg("x", &x)
//!     .arg("out", &mut out)
//!     .arg("n", 3)
//!     .arg("s", 0.5f32)
//!     .run()?;
//! assert_eq!(out.to_vec(), [0.5, 1.0, 1.5]);
//! # Ok::<(), tk::api::Error>(())
//! ```
//!
//! Compiled kernels go through the on-disk cache (`cache`) unless the context was made with
//! `Context::without_cache`. A launch uploads its buffers, runs, and copies the writable ones
//! back; buffers live on the host between launches.
//!
//! For callers from a dynamic language (the Python bindings), `Module` checks a file once and
//! compiles each kernel lazily per set of const values, Triton-style; launches then take values
//! by name or by position (`Key`), scalars untyped (`Literal`) as well as typed, and `bench`
//! returns `tkc bench`'s measurement (`crate::bench`).
use crate::abi::bind::{BindError, Binder, Key, Params, Problem, Value};
use crate::abi::{Artifact, Features, Target};
use crate::base::{diag, Diagnostics, HostBuffer, KernelArg, Literal, ScalarType, SourceMap};
use crate::bench::Measurement;
use crate::cache::{self, CacheOutcome, KernelCache};
use crate::driver::{self, DiskLoader};
use crate::ir;
use crate::runtime::{Device, DeviceChoice, DeviceInfo, Pipeline, RuntimeError, Timing};
use std::fmt;
use std::marker::PhantomData;
use std::path::Path;
use std::time::{Duration, Instant};

mod module;
pub use module::{Module, TuneReport};

/// Everything that can go wrong through the API.
#[derive(Debug, Clone)]
pub enum Error {
    /// The source has errors; `rendered` holds the diagnostics as text with source snippets
    /// (`tkc check`'s rendering, without colour); `sources` locates their spans.
    Compile {
        rendered: String,
        diagnostics: Diagnostics,
        sources: SourceMap,
    },
    /// A file could not be read.
    Io { path: String, message: String },
    /// The arguments of a launch do not fit the kernel. `problem` is the binder's finding when
    /// it made the error (an edge may word it its own way); `None` for the grid and the like.
    Arguments {
        kernel: String,
        message: String,
        problem: Option<Problem>,
    },
    /// The device failed or a safety check stopped the kernel.
    Runtime(RuntimeError),
    /// Safe mode stopped the kernel at an access outside buffer `param` (the first one), on the
    /// device or on the interpreter: the same fields from both.
    OutOfBounds {
        kernel: String,
        param: String,
        index: i64,
        store: bool,
        program: [u32; 3],
    },
    /// The interpreter could not run the kernel (an internal error or its work budget).
    Interpreter(String),
    /// A `device_assert` failed, on the interpreter or on the device (safe mode): the same fields
    /// from both. `location` is the assert's `file:line:col`; `element` the row-major index of a
    /// false element of a tile condition.
    AssertFailed {
        kernel: String,
        message: String,
        location: String,
        element: Option<u64>,
        program: [u32; 3],
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Compile { rendered, .. } => {
                write!(f, "the kernel does not compile:\n{rendered}")
            }
            Error::Io { path, message } => write!(f, "cannot read `{path}`: {message}"),
            Error::Arguments {
                kernel, message, ..
            } => {
                write!(f, "bad arguments for kernel `{kernel}`: {message}")
            }
            Error::Runtime(error) => write!(f, "{error}"),
            Error::OutOfBounds {
                kernel,
                param,
                index,
                store,
                program,
            } => write!(
                f,
                "kernel `{kernel}` {} `{param}` out of bounds at index {index} (program \
                 {program:?})",
                if *store { "stored to" } else { "loaded from" }
            ),
            Error::Interpreter(message) => write!(f, "{message}"),
            Error::AssertFailed {
                kernel,
                message,
                location,
                element,
                program,
            } => {
                write!(
                    f,
                    "device_assert failed in kernel `{kernel}` at {location} (program {program:?}"
                )?;
                if let Some(element) = element {
                    write!(f, ", element {element}")?;
                }
                write!(f, "): {message}")
            }
        }
    }
}

impl std::error::Error for Error {}

impl From<RuntimeError> for Error {
    fn from(error: RuntimeError) -> Error {
        Error::Runtime(error)
    }
}

/// Where kernels run.
enum Backend {
    Vulkan(Device),
    Interpreter,
}

/// The device (or interpreter) kernels are compiled for and run on, and the kernel cache.
pub struct Context {
    backend: Backend,
    cache: Option<KernelCache>,
    /// Where tuning results (`#[autotune]` and the schedule search) are kept and looked up.
    tune_dir: Option<std::path::PathBuf>,
}

impl Context {
    /// The best Vulkan device (`TK_DEVICE` may pick another), or the reference interpreter when
    /// the machine has no Vulkan at all. Uses the default kernel cache. Other device failures are
    /// errors.
    pub fn new() -> Result<Context, Error> {
        match Device::open(DeviceChoice::Auto) {
            Ok(device) => Ok(Context::with_device(device)),
            Err(error) if error.is_unavailable() => Ok(Context::interpreter()),
            Err(error) => Err(error.into()),
        }
    }

    /// The Vulkan device at `index` of `runtime::list_devices()`.
    pub fn device(index: usize) -> Result<Context, Error> {
        Ok(Context::with_device(Device::open(DeviceChoice::Index(
            index,
        ))?))
    }

    /// A context over an already opened device; loads the persisted pipeline cache.
    pub fn with_device(device: Device) -> Context {
        cache::load_pipeline_cache(&device);
        Context {
            backend: Backend::Vulkan(device),
            cache: KernelCache::default_location(),
            tune_dir: crate::tune::default_dir(),
        }
    }

    /// The reference interpreter (CPU, slow, exact semantics).
    pub fn interpreter() -> Context {
        Context {
            backend: Backend::Interpreter,
            cache: None,
            tune_dir: None,
        }
    }

    /// The same context without the on-disk kernel cache and tuning records.
    pub fn without_cache(mut self) -> Context {
        self.cache = None;
        self.tune_dir = None;
        self
    }

    /// The same context with the kernel cache in `dir` and the tuning records in `dir/tune`.
    pub fn with_cache_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Context {
        let dir = dir.into();
        self.tune_dir = Some(dir.join("tune"));
        self.cache = Some(KernelCache::new(dir));
        self
    }

    /// True when kernels run on the reference interpreter.
    pub fn is_interpreter(&self) -> bool {
        matches!(self.backend, Backend::Interpreter)
    }

    /// The device's name, or "reference interpreter".
    pub fn device_name(&self) -> &str {
        match &self.backend {
            Backend::Vulkan(device) => &device.info().name,
            Backend::Interpreter => "reference interpreter",
        }
    }

    /// The Vulkan device, when there is one.
    pub fn vulkan_device(&self) -> Option<&Device> {
        match &self.backend {
            Backend::Vulkan(device) => Some(device),
            Backend::Interpreter => None,
        }
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        if let Backend::Vulkan(device) = &self.backend {
            // A cache that cannot be saved only costs the next process some time.
            let _ = cache::save_pipeline_cache(device);
        }
    }
}

/// One Vulkan device with the facts `tkc devices` lists: what the loader reports of it, and the
/// limits and features of the device once opened (or why it would not open).
#[derive(Debug, Clone)]
pub struct DeviceFacts {
    pub info: DeviceInfo,
    pub target: Result<Target, RuntimeError>,
}

/// The Vulkan devices (none when the machine has no Vulkan), each opened once to read its limits
/// and features: `tkc devices` and `tk.devices()` in Python.
pub fn devices() -> Result<Vec<DeviceFacts>, Error> {
    let infos = match crate::runtime::list_devices() {
        Ok(infos) => infos,
        Err(error) if error.is_unavailable() => Vec::new(),
        Err(error) => return Err(error.into()),
    };
    Ok(infos
        .into_iter()
        .map(|info| {
            let target = Device::open(DeviceChoice::Index(info.index)).map(|d| d.target());
            DeviceFacts { info, target }
        })
        .collect())
}

/// The device features tk uses, by name, with whether `features` has each (`tkc devices`'
/// order).
pub fn feature_list(features: Features) -> [(&'static str, bool); 12] {
    let f = features;
    [
        ("f16", f.float16),
        ("f64", f.float64),
        ("i8", f.int8),
        ("i16", f.int16),
        ("i64", f.int64),
        ("8-bit storage", f.storage8),
        ("16-bit storage", f.storage16),
        ("subgroup arithmetic", f.subgroup_arithmetic),
        ("subgroup shuffle", f.subgroup_shuffle),
        ("float atomic add", f.float_atomic_add),
        ("cooperative matrix", f.cooperative_matrix),
        ("float controls", f.float_controls),
    ]
}

/// A kernel compiled for one context and one set of const values.
pub struct Kernel {
    lowered: ir::Module,
    /// The parameters launches bind their arguments to.
    params: Params,
    /// The program's files, to locate a failed `device_assert`.
    sources: SourceMap,
    artifact: Option<Artifact>,
    pipeline: Option<Pipeline>,
    cache_outcome: CacheOutcome,
    safe: bool,
}

fn compile_error(diagnostics: Diagnostics, sources: &SourceMap) -> Error {
    Error::Compile {
        rendered: diag::render(&diagnostics, sources, false),
        diagnostics,
        sources: sources.clone(),
    }
}

/// Reads a source file for `Kernel::from_file` and `Module::from_file`.
fn read_source(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Checks source text; its errors are a compile error.
fn check_program(name: &str, text: &str) -> Result<driver::Program, Error> {
    let program = driver::check_source(name, text, &DiskLoader);
    if program.has_errors() {
        return Err(compile_error(program.diagnostics, &program.sources));
    }
    Ok(program)
}

impl Kernel {
    /// Compiles kernel `kernel` of the file at `path` (its `use`s are read relative to it).
    pub fn from_file(
        ctx: &Context,
        path: impl AsRef<Path>,
        kernel: &str,
        consts: &[(&str, Const)],
    ) -> Result<Kernel, Error> {
        let path = path.as_ref();
        let text = read_source(path)?;
        Kernel::from_source(ctx, &path.display().to_string(), &text, kernel, consts)
    }

    /// Compiles kernel `kernel` of source text `text`; `name` is the file name diagnostics show.
    pub fn from_source(
        ctx: &Context,
        name: &str,
        text: &str,
        kernel: &str,
        consts: &[(&str, Const)],
    ) -> Result<Kernel, Error> {
        let program = check_program(name, text)?;
        let consts: Vec<(String, Literal)> = consts
            .iter()
            .map(|(name, value)| (name.to_string(), value.0))
            .collect();
        let lowered = driver::lower(&program, kernel, &consts)
            .map_err(|d| compile_error(d, &program.sources))?;
        Kernel::from_lowered(ctx, &program.sources, lowered, true)
    }

    /// Compiles an elaborated kernel for `ctx` (through the kernel cache), in safe mode or not.
    fn from_lowered(
        ctx: &Context,
        sources: &SourceMap,
        lowered: ir::Module,
        safe: bool,
    ) -> Result<Kernel, Error> {
        let params = Params::new(
            lowered.kernel.name.clone(),
            lowered.kernel.params.clone(),
            lowered
                .kernel
                .consts
                .iter()
                .map(|(name, _)| name.clone())
                .collect(),
        );
        let Backend::Vulkan(device) = &ctx.backend else {
            return Ok(Kernel {
                lowered,
                params,
                sources: sources.clone(),
                artifact: None,
                pipeline: None,
                cache_outcome: CacheOutcome::Bypassed,
                safe,
            });
        };
        let (artifact, cache_outcome) = cache::compile(
            sources,
            lowered.clone(),
            &device.target(),
            &device.info().driver,
            safe,
            ctx.cache.as_ref(),
        )
        .map_err(|d| compile_error(d.into(), sources))?;
        let pipeline = device.load(&artifact)?;
        Ok(Kernel {
            lowered,
            params,
            sources: sources.clone(),
            artifact: Some(artifact),
            pipeline: Some(pipeline),
            cache_outcome,
            safe,
        })
    }

    pub fn name(&self) -> &str {
        &self.lowered.kernel.name
    }

    /// The runtime parameters, in order: name and kind.
    pub fn params(&self) -> &[ir::Param] {
        &self.params.runtime
    }

    /// The parameters as launches bind them: the runtime ones and the consts' names (to resolve
    /// a name or a position to a parameter before binding, as the Python bindings do).
    pub fn binding(&self) -> &Params {
        &self.params
    }

    /// The const values this kernel was compiled with, defaults included.
    pub fn consts(&self) -> &[(String, Literal)] {
        &self.lowered.kernel.consts
    }

    /// The elaborated kernel (before scheduling).
    pub fn lowered(&self) -> &ir::Module {
        &self.lowered
    }

    /// Whether the kernel was compiled with safe mode's bounds checks and asserts.
    pub fn is_safe(&self) -> bool {
        self.safe
    }

    /// The compiled SPIR-V and ABI (`None` on the interpreter).
    pub fn artifact(&self) -> Option<&Artifact> {
        self.artifact.as_ref()
    }

    /// Whether compiling this kernel hit the on-disk cache.
    pub fn cache_outcome(&self) -> CacheOutcome {
        self.cache_outcome
    }

    /// Starts a launch on `ctx`; add arguments with `arg`, then `run` or `bench`.
    pub fn launch<'a>(&'a self, ctx: &'a Context) -> Launch<'a> {
        Launch {
            kernel: self,
            ctx,
            args: Vec::new(),
            grid: None,
        }
    }
}

/// A const value for `Kernel::from_file`/`from_source`: `128.into()`, `true.into()`, `0.5.into()`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Const(pub Literal);

impl From<i32> for Const {
    fn from(v: i32) -> Const {
        Const(Literal::Int(v as i128))
    }
}
impl From<bool> for Const {
    fn from(v: bool) -> Const {
        Const(Literal::Bool(v))
    }
}
impl From<f32> for Const {
    fn from(v: f32) -> Const {
        Const(Literal::Float(v as f64))
    }
}
impl From<f64> for Const {
    fn from(v: f64) -> Const {
        Const(Literal::Float(v))
    }
}

/// An element type a `Buffer` can hold.
pub trait Element: Copy + 'static {
    const TYPE: ScalarType;
    fn put(self, out: &mut Vec<u8>);
    /// Reads one element from exactly `TYPE.bytes()` little-endian bytes.
    fn get(bytes: &[u8]) -> Self;
}

macro_rules! number_element {
    ($($t:ty => $ty:ident),*) => {$(
        impl Element for $t {
            const TYPE: ScalarType = ScalarType::$ty;
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn get(bytes: &[u8]) -> Self {
                <$t>::from_le_bytes(bytes.try_into().expect("one element's bytes"))
            }
        }
    )*};
}

number_element!(
    i8 => I8, i16 => I16, i32 => I32, i64 => I64, u8 => U8, u16 => U16, u32 => U32,
    u64 => U64, f32 => F32, f64 => F64, half::f16 => F16, half::bf16 => BF16
);

impl Element for bool {
    const TYPE: ScalarType = ScalarType::Bool;
    fn put(self, out: &mut Vec<u8>) {
        out.push(self as u8);
    }
    fn get(bytes: &[u8]) -> Self {
        bytes[0] != 0
    }
}

/// A typed host buffer for a pointer parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Buffer<T: Element> {
    host: HostBuffer,
    _elem: PhantomData<T>,
}

impl<T: Element> Buffer<T> {
    pub fn from_slice(values: &[T]) -> Buffer<T> {
        let mut data = Vec::with_capacity(values.len() * T::TYPE.bytes() as usize);
        for &value in values {
            value.put(&mut data);
        }
        Buffer {
            host: HostBuffer {
                elem: T::TYPE,
                shape: vec![values.len()],
                data,
            },
            _elem: PhantomData,
        }
    }

    pub fn zeros(len: usize) -> Buffer<T> {
        Buffer {
            host: HostBuffer::zeros(T::TYPE, vec![len]),
            _elem: PhantomData,
        }
    }

    /// Wraps a host buffer (e.g. one read from a `.npy` file) whose element type is `T`.
    pub fn from_host(host: HostBuffer) -> Result<Buffer<T>, HostBuffer> {
        if host.elem == T::TYPE {
            Ok(Buffer {
                host,
                _elem: PhantomData,
            })
        } else {
            Err(host)
        }
    }

    pub fn len(&self) -> usize {
        self.host.len()
    }

    pub fn is_empty(&self) -> bool {
        self.host.is_empty()
    }

    pub fn to_vec(&self) -> Vec<T> {
        self.host
            .data
            .chunks_exact(T::TYPE.bytes() as usize)
            .map(T::get)
            .collect()
    }

    /// Overwrites the contents from a slice of the same length.
    pub fn copy_from_slice(&mut self, values: &[T]) -> Result<(), Error> {
        if values.len() != self.len() {
            return Err(Error::Arguments {
                kernel: String::new(),
                message: format!(
                    "copy of {} elements into a buffer of {}",
                    values.len(),
                    self.len()
                ),
                problem: None,
            });
        }
        *self = Buffer::from_slice(values);
        Ok(())
    }

    pub fn host(&self) -> &HostBuffer {
        &self.host
    }

    pub fn into_host(self) -> HostBuffer {
        self.host
    }
}

/// One argument of a launch, as `Launch::arg` receives it.
pub enum ArgValue<'a> {
    /// A buffer the kernel may only read.
    Input(&'a HostBuffer),
    /// A buffer whose contents the launch replaces with the kernel's result.
    Output(&'a mut HostBuffer),
    Scalar(ScalarType, Literal),
    /// A scalar without a type of its own (a Python `int` or `float`): it takes the parameter's
    /// type when it fits, and an integer may be passed for a float parameter.
    Untyped(Literal),
}

/// Anything `Launch::arg` accepts: `&Buffer<T>`, `&mut Buffer<T>`, `&HostBuffer`,
/// `&mut HostBuffer`, the scalars i32, u32, i64, u64, f32, f64, half::f16 and bool, and an
/// untyped `Literal`.
pub trait IntoArg<'a> {
    fn into_arg(self) -> ArgValue<'a>;
}

impl<'a, T: Element> IntoArg<'a> for &'a Buffer<T> {
    fn into_arg(self) -> ArgValue<'a> {
        ArgValue::Input(&self.host)
    }
}
impl<'a, T: Element> IntoArg<'a> for &'a mut Buffer<T> {
    fn into_arg(self) -> ArgValue<'a> {
        ArgValue::Output(&mut self.host)
    }
}
impl<'a> IntoArg<'a> for &'a HostBuffer {
    fn into_arg(self) -> ArgValue<'a> {
        ArgValue::Input(self)
    }
}
impl<'a> IntoArg<'a> for &'a mut HostBuffer {
    fn into_arg(self) -> ArgValue<'a> {
        ArgValue::Output(self)
    }
}

macro_rules! scalar_arg {
    ($($t:ty => $ty:ident, $lit:ident, $conv:ty),*) => {$(
        impl<'a> IntoArg<'a> for $t {
            fn into_arg(self) -> ArgValue<'a> {
                ArgValue::Scalar(ScalarType::$ty, Literal::$lit(self as $conv))
            }
        }
    )*};
}

scalar_arg!(
    i32 => I32, Int, i128, u32 => U32, Int, i128, i64 => I64, Int, i128, u64 => U64, Int, i128,
    f32 => F32, Float, f64, f64 => F64, Float, f64
);

impl<'a> IntoArg<'a> for half::f16 {
    fn into_arg(self) -> ArgValue<'a> {
        ArgValue::Scalar(ScalarType::F16, Literal::Float(self.to_f64()))
    }
}
impl<'a> IntoArg<'a> for bool {
    fn into_arg(self) -> ArgValue<'a> {
        ArgValue::Scalar(ScalarType::Bool, Literal::Bool(self))
    }
}
impl<'a> IntoArg<'a> for ArgValue<'a> {
    fn into_arg(self) -> ArgValue<'a> {
        self
    }
}
impl<'a> IntoArg<'a> for Literal {
    fn into_arg(self) -> ArgValue<'a> {
        ArgValue::Untyped(self)
    }
}

/// What a launch did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LaunchInfo {
    /// The grid it ran.
    pub grid: [u32; 3],
    /// Device time of the dispatch, from timestamps (Vulkan devices that have them).
    pub gpu_time: Option<Duration>,
    /// Host time of the whole launch: uploads, dispatch, readback.
    pub wall_time: Duration,
}

/// The kernel arguments in parameter order, for each parameter the index of its value in
/// `Launch::args`, and the grid.
type Planned = (Vec<KernelArg>, Vec<usize>, [u32; 3]);

/// A launch being put together: `kernel.launch(&ctx).arg("x", &x).grid([4, 1, 1]).run()`.
pub struct Launch<'a> {
    kernel: &'a Kernel,
    ctx: &'a Context,
    args: Vec<(Key<'a>, ArgValue<'a>)>,
    grid: Option<[u32; 3]>,
}

/// Arguments the binder refused, in the API's words: a read-only buffer for a written parameter
/// and a const are told how to pass them from Rust. The binder's finding goes with it.
fn arguments_error(error: BindError) -> Error {
    let message = match &error.problem {
        Problem::ReadOnly { param, elem } => {
            format!("`{param}` is a *mut {elem} the kernel writes: pass it as `&mut`")
        }
        Problem::Const { name } => format!(
            "`{name}` is a const: give it when compiling the kernel, among the consts of \
             `Kernel::from_file` or `Kernel::from_source`"
        ),
        _ => error.message(),
    };
    Error::Arguments {
        kernel: error.kernel,
        message,
        problem: Some(error.problem),
    }
}

/// Checks `values` against `params` through the binder and orders them; returns the kernel
/// arguments and, per parameter, the index into `values` of its value. Buffers are copied.
fn bind_args(
    params: &Params,
    values: &[(Key<'_>, ArgValue<'_>)],
) -> Result<(Vec<KernelArg>, Vec<usize>), Error> {
    let mut binder = Binder::new(params);
    let mut order = vec![0; params.runtime.len()];
    for (i, (key, value)) in values.iter().enumerate() {
        let value = match value {
            ArgValue::Input(buffer) => Value::Buffer {
                buffer: (*buffer).clone(),
                writable: false,
            },
            ArgValue::Output(buffer) => Value::Buffer {
                buffer: (**buffer).clone(),
                writable: true,
            },
            ArgValue::Scalar(ty, value) => Value::Scalar {
                value: *value,
                ty: Some(*ty),
            },
            ArgValue::Untyped(value) => Value::Scalar {
                value: *value,
                ty: None,
            },
        };
        let index = binder.bind(*key, value).map_err(arguments_error)?;
        order[index] = i;
    }
    let args = binder.finish().map_err(arguments_error)?;
    Ok((args, order))
}

impl<'a> Launch<'a> {
    /// Sets the parameter `key` names: a name (`"x"`) or a position among the runtime
    /// parameters from 0 (`0usize`; consts take none). Checked when the launch runs.
    pub fn arg(mut self, key: impl Into<Key<'a>>, value: impl IntoArg<'a>) -> Launch<'a> {
        self.args.push((key.into(), value.into_arg()));
        self
    }

    /// The grid; without it the kernel's `#[grid]` is evaluated on the scalar arguments.
    pub fn grid(mut self, grid: [u32; 3]) -> Launch<'a> {
        self.grid = Some(grid);
        self
    }

    fn fail(&self, message: String) -> Error {
        Error::Arguments {
            kernel: self.kernel.name().to_string(),
            message,
            problem: None,
        }
    }

    /// Checks the arguments against the parameters and orders them (through the binder);
    /// returns the kernel arguments and, per parameter, the index into `self.args` of its value.
    fn plan(&self) -> Result<Planned, Error> {
        let (args, order) = bind_args(&self.kernel.params, &self.args)?;
        let grid = match self.grid {
            Some(grid) => grid,
            None => match crate::interp::launch_grid(&self.kernel.lowered.kernel, &args) {
                Some(Ok(grid)) => grid,
                Some(Err(e)) => return Err(self.fail(format!("cannot evaluate #[grid]: {e}"))),
                None => {
                    return Err(self.fail(
                        "the kernel has no #[grid]: give one with `.grid([x, y, z])`".into(),
                    ))
                }
            },
        };
        Ok((args, order, grid))
    }

    fn assert_failed(
        &self,
        kernel: String,
        message: String,
        span: crate::base::Span,
        element: Option<u64>,
        program: [u32; 3],
    ) -> Error {
        let sources = &self.kernel.sources;
        let location = if (span.file.0 as usize) < sources.files.len() {
            let (line, col) = sources.line_col(span.file, span.start);
            format!("{}:{line}:{col}", sources.file(span.file).name)
        } else {
            "an unknown place".to_string()
        };
        Error::AssertFailed {
            kernel,
            message,
            location,
            element,
            program,
        }
    }

    /// Runs the kernel once and copies the results into the `&mut` buffers.
    pub fn run(mut self) -> Result<LaunchInfo, Error> {
        let (mut args, order, grid) = self.plan()?;
        let start = Instant::now();
        let gpu_time = match (&self.ctx.backend, &self.kernel.pipeline) {
            (Backend::Vulkan(device), Some(pipeline)) => {
                let report = device
                    .launch(pipeline, &mut args, grid)
                    .map_err(|e| match e {
                        RuntimeError::AssertFailed {
                            kernel,
                            message,
                            span,
                            element,
                            program,
                        } => self.assert_failed(kernel, message, span, element, program),
                        RuntimeError::OutOfBounds {
                            kernel,
                            param,
                            index,
                            store,
                            program,
                        } => Error::OutOfBounds {
                            kernel,
                            param,
                            index,
                            store,
                            program: program_coordinates(program, grid),
                        },
                        other => Error::Runtime(other),
                    })?;
                report.gpu_ns.map(Duration::from_nanos)
            }
            (Backend::Interpreter, _) => {
                crate::interp::run(&self.kernel.lowered, &mut args, grid).map_err(|e| match e {
                    crate::interp::RunError::AssertFailed {
                        kernel,
                        message,
                        span,
                        element,
                        program,
                    } => self.assert_failed(kernel, message, span, element, program),
                    crate::interp::RunError::OutOfBounds {
                        kernel,
                        param,
                        index,
                        store,
                        program,
                    } => Error::OutOfBounds {
                        kernel,
                        param,
                        index,
                        store,
                        program,
                    },
                    other => Error::Interpreter(other.to_string()),
                })?;
                None
            }
            (Backend::Vulkan(_), None) => {
                return Err(self
                    .fail("the kernel was compiled for the interpreter, not this device".into()))
            }
        };
        let wall_time = start.elapsed();
        for (arg, &i) in args.into_iter().zip(&order) {
            if let (ArgValue::Output(target), KernelArg::Buffer(result)) =
                (&mut self.args[i].1, arg)
            {
                target.data = result.data;
            }
        }
        Ok(LaunchInfo {
            grid,
            gpu_time,
            wall_time,
        })
    }

    /// Times the kernel with device timestamps: `warmup` untimed runs, then `iterations` timed
    /// ones (median and minimum). Buffers are left unchanged. Needs a Vulkan device.
    pub fn bench(self, warmup: u32, iterations: u32) -> Result<Timing, Error> {
        let (mut args, _, grid) = self.plan()?;
        match (&self.ctx.backend, &self.kernel.pipeline) {
            (Backend::Vulkan(device), Some(pipeline)) => {
                Ok(device.bench(pipeline, &mut args, grid, warmup, iterations)?)
            }
            _ => Err(self.fail("timing needs a Vulkan device, not the interpreter".into())),
        }
    }

    /// Times the kernel as `tkc bench` does (`crate::bench::measure`): device timestamps
    /// beside the device's copy bandwidth, bytes and dot flops counted by the interpreter unless
    /// `options` give them. Buffers are left unchanged. Needs a Vulkan device.
    pub fn measure(self, options: &crate::bench::BenchOptions) -> Result<Measurement, Error> {
        let (mut args, _, grid) = self.plan()?;
        let (Backend::Vulkan(device), Some(pipeline)) = (&self.ctx.backend, &self.kernel.pipeline)
        else {
            return Err(self.fail("timing needs a Vulkan device, not the interpreter".into()));
        };
        let kernel = self.kernel;
        Ok(crate::bench::measure(
            device,
            pipeline,
            &kernel.lowered,
            &mut args,
            grid,
            options,
            !kernel.safe,
        )?)
    }
}

/// The x, y, z of program `linear` of `grid`, numbered x fastest (as the device numbers them).
fn program_coordinates(linear: u32, grid: [u32; 3]) -> [u32; 3] {
    let (gx, gy) = (grid[0].max(1), grid[1].max(1));
    [linear % gx, (linear / gx) % gy, linear / (gx * gy)]
}
