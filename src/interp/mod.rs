//! The reference interpreter: runs Lowered IR on the CPU with the language's semantics (C integer
//! arithmetic, masks, bounds checks). The oracle of differential tests and the fallback when no
//! Vulkan device exists.
//!
//! Program instances run one after another, x fastest, then y, then z. Each instruction evaluates
//! its whole tile at once (see `value` for the representation and the arithmetic). Scheduled IR
//! runs too: the schedule is ignored and `ConvertLayout` is the identity.
//!
//! Decisions where the language leaves freedom: integer division and remainder by zero give 0;
//! sums and products reduce sequentially in index order (f16/bf16 accumulate in f32 and round
//! once); an out-of-bounds load gives 0 and an out-of-bounds store is dropped, the run goes on, and
//! the first such access is reported at the end; a failed `device_assert` stops the run at once.
mod atomics;
mod linalg;
mod value;

#[cfg(test)]
mod tests;

use crate::abi::bind::Params;
use crate::base::{HostBuffer, KernelArg, Literal, ScalarType, Span};
use crate::ir::{self, Elem, InstId, InstKind, Kernel, Region};
use half::{bf16, f16};
use std::fmt;
use value::{Data, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum RunError {
    /// Arguments do not match the kernel's parameters.
    BadArguments(String),
    /// An access outside a buffer (the first one), like the device's safe mode.
    OutOfBounds {
        kernel: String,
        param: String,
        index: i64,
        store: bool,
        program: [u32; 3],
    },
    /// A `device_assert` failed.
    AssertFailed {
        kernel: String,
        message: String,
        /// The `device_assert(..)` call.
        span: Span,
        /// The row-major index of the first false element of a tile condition (`None` for a
        /// scalar condition).
        element: Option<u64>,
        program: [u32; 3],
    },
    /// The IR is malformed in a way the verifier rejects (an internal compiler error).
    InvalidIr { kernel: String, message: String },
    /// `run_with_budget` stopped the run: it did more than `budget` units of work (one unit per
    /// instruction, more for tile instructions: one per element).
    BudgetExceeded { kernel: String, budget: u64 },
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::BadArguments(message) => write!(f, "bad arguments: {message}"),
            RunError::OutOfBounds {
                kernel,
                param,
                index,
                store,
                program,
            } => write!(
                f,
                "kernel `{kernel}`: out-of-bounds {} of `{param}` at index {index} in program {:?}",
                if *store { "store" } else { "load" },
                program
            ),
            RunError::AssertFailed {
                kernel,
                message,
                element,
                program,
                ..
            } => {
                write!(
                    f,
                    "kernel `{kernel}`: device_assert failed in program {program:?}"
                )?;
                if let Some(element) = element {
                    write!(f, " at element {element}")?;
                }
                write!(f, ": {message}")
            }
            RunError::InvalidIr { kernel, message } => {
                write!(f, "kernel `{kernel}`: invalid IR: {message}")
            }
            RunError::BudgetExceeded { kernel, budget } => {
                write!(
                    f,
                    "kernel `{kernel}`: stopped after a budget of {budget} steps"
                )
            }
        }
    }
}

impl std::error::Error for RunError {}

/// What a run produced besides its buffers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunOutput {
    /// The lines of `print`, in execution order: `pid (x, y, z) label: value`, tiles as nested
    /// `[..]` lists.
    pub printed: Vec<String>,
}

/// Runs every program instance of `grid` in order; buffers are updated in place.
pub fn run(module: &ir::Module, args: &mut [KernelArg], grid: [u32; 3]) -> Result<(), RunError> {
    run_with_output(module, args, grid, &mut RunOutput::default())
}

/// Like `run`, and fills `output` (which keeps what was printed before an error too).
pub fn run_with_output(
    module: &ir::Module,
    args: &mut [KernelArg],
    grid: [u32; 3],
    output: &mut RunOutput,
) -> Result<(), RunError> {
    run_limited(module, args, grid, output, u64::MAX)
}

/// Like `run`, but stops with `BudgetExceeded` after `budget` units of work (an instruction is
/// one unit, a tile instruction one per element), so a kernel that loops forever ends. The fuzzers
/// use it.
pub fn run_with_budget(
    module: &ir::Module,
    args: &mut [KernelArg],
    grid: [u32; 3],
    budget: u64,
) -> Result<(), RunError> {
    run_limited(module, args, grid, &mut RunOutput::default(), budget)
}

fn run_limited(
    module: &ir::Module,
    args: &mut [KernelArg],
    grid: [u32; 3],
    output: &mut RunOutput,
    budget: u64,
) -> Result<(), RunError> {
    let mut programs = (0..grid[2])
        .flat_map(|z| (0..grid[1]).flat_map(move |y| (0..grid[0]).map(move |x| [x, y, z])));
    run_programs(module, args, grid, output, budget, &mut programs).map(|_| ())
}

fn run_programs(
    module: &ir::Module,
    args: &mut [KernelArg],
    grid: [u32; 3],
    output: &mut RunOutput,
    budget: u64,
    programs: &mut dyn Iterator<Item = [u32; 3]>,
) -> Result<Traffic, RunError> {
    let kernel = &module.kernel;
    // Verifying first makes the lookups below infallible: a malformed module is an error, never
    // a panic.
    ir::verify::verify(module).map_err(|message| RunError::InvalidIr {
        kernel: kernel.name.clone(),
        message,
    })?;
    check_arguments(kernel, args)?;
    let mut machine = Machine {
        kernel,
        args,
        values: vec![None; kernel.insts.len()],
        locals: vec![None; kernel.locals.len()],
        program: [0; 3],
        grid,
        first_out_of_bounds: None,
        printed: &mut output.printed,
        budget_left: budget,
        traffic: Traffic::default(),
    };
    for [x, y, z] in programs {
        machine.program = [x, y, z];
        machine.locals.iter_mut().for_each(|l| *l = None);
        machine
            .exec_region(&kernel.body)
            .map_err(|error| match error {
                Stop::Assert {
                    message,
                    span,
                    element,
                } => RunError::AssertFailed {
                    kernel: kernel.name.clone(),
                    message,
                    span,
                    element,
                    program: [x, y, z],
                },
                Stop::Invalid(id, message) => RunError::InvalidIr {
                    kernel: kernel.name.clone(),
                    message: format!("%{}: {message}", id.index()),
                },
                Stop::Budget => RunError::BudgetExceeded {
                    kernel: kernel.name.clone(),
                    budget,
                },
            })?;
    }
    match machine.first_out_of_bounds {
        Some(error) => Err(error),
        None => Ok(machine.traffic),
    }
}

/// Evaluates the kernel's `#[grid(..)]` for `args` (missing dims are 1); `None` when the kernel
/// has no grid attribute. Arithmetic is on i64; a negative or oversized dim, a division by zero or
/// a non-integer scalar is a `BadArguments` error.
pub fn launch_grid(kernel: &Kernel, args: &[KernelArg]) -> Option<Result<[u32; 3], RunError>> {
    let exprs = kernel.grid.as_ref()?;
    let mut grid = [1u32; 3];
    for (axis, expr) in exprs.iter().enumerate().take(3) {
        let scalar = |n: u32| match args.get(n as usize) {
            Some(KernelArg::Scalar(Literal::Int(v))) => i64::try_from(*v).ok(),
            _ => None,
        };
        let dim = match expr.eval(&scalar) {
            Ok(dim) => dim,
            Err(message) => return Some(Err(RunError::BadArguments(message))),
        };
        match u32::try_from(dim) {
            Ok(dim) => grid[axis] = dim,
            Err(_) => {
                return Some(Err(RunError::BadArguments(format!(
                    "grid dim {axis} of `{}` evaluates to {dim}",
                    kernel.name
                ))))
            }
        }
    }
    Some(Ok(grid))
}

/// Checks the arguments against the kernel's parameters (the binder's check of ordered
/// arguments, which the runtime makes too).
fn check_arguments(kernel: &Kernel, args: &[KernelArg]) -> Result<(), RunError> {
    Params::new(kernel.name.clone(), kernel.params.clone(), Vec::new())
        .check(args)
        .map_err(|error| RunError::BadArguments(error.message()))
}

/// How a region ended.
enum Flow {
    Next,
    Break,
    Continue,
    Return,
}

/// Why a program instance stopped abnormally.
enum Stop {
    Assert {
        message: String,
        span: Span,
        element: Option<u64>,
    },
    Invalid(InstId, String),
    /// The work budget of `run_with_budget` ran out.
    Budget,
}

struct Machine<'a> {
    kernel: &'a Kernel,
    args: &'a mut [KernelArg],
    /// The latest value of each instruction, indexed like `Kernel::insts`.
    values: Vec<Option<Value>>,
    locals: Vec<Option<Value>>,
    program: [u32; 3],
    grid: [u32; 3],
    first_out_of_bounds: Option<RunError>,
    printed: &'a mut Vec<String>,
    /// Units of work left before the run stops (`u64::MAX` for no limit).
    budget_left: u64,
    /// Memory traffic and dot flops so far (`measure_traffic`).
    traffic: Traffic,
}

/// The work of some programs of a launch, as `tkc bench` counts it: the bytes of every element
/// a load, store or atomic touches (masked-off and out-of-bounds lanes excluded) and
/// `2·M·N·K` flops per `dot`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    pub bytes: u64,
    pub flops: u64,
}

/// Runs only `programs` of `grid` on a copy of `args` and returns their traffic. `tkc bench`
/// samples a few programs and scales by the grid's size.
pub fn measure_traffic(
    module: &ir::Module,
    args: &[KernelArg],
    grid: [u32; 3],
    programs: &[[u32; 3]],
) -> Result<Traffic, RunError> {
    let mut args = args.to_vec();
    run_programs(
        module,
        &mut args,
        grid,
        &mut RunOutput::default(),
        u64::MAX,
        &mut programs.iter().copied(),
    )
}

/// What happens to one lane of a memory access.
#[derive(Clone, Copy)]
enum Lane {
    Access(usize),
    /// Masked off: a load gives `other`, a store does nothing.
    Masked,
    /// Out of bounds: a load gives 0, a store is dropped.
    Outside,
}

impl<'a> Machine<'a> {
    fn exec_region(&mut self, region: &'a Region) -> Result<Flow, Stop> {
        for &id in &region.insts {
            let cost = self.kernel.insts[id]
                .ty
                .as_ref()
                .map_or(1, |ty| ty.shape.iter().map(|&d| d as u64).product::<u64>());
            self.budget_left = self
                .budget_left
                .checked_sub(cost.max(1))
                .ok_or(Stop::Budget)?;
            match self.exec(id)? {
                Flow::Next => {}
                flow => return Ok(flow),
            }
        }
        Ok(Flow::Next)
    }

    fn get(&self, id: InstId) -> &Value {
        // The verifier guarantees definition before use; a missing value is an internal error.
        self.values[id.index()]
            .as_ref()
            .expect("interpreter: operand used before definition")
    }

    fn elem_type(&self, id: InstId) -> ScalarType {
        match self.kernel.ty(id).elem {
            Elem::Scalar(t) => t,
            // Pointer offsets are held as i64.
            Elem::Ptr { .. } => ScalarType::I64,
        }
    }

    fn scalar_bool(&self, id: InstId) -> Result<bool, Stop> {
        match &self.get(id).data {
            Data::Bool(v) if v.len() == 1 => Ok(v[0]),
            _ => Err(Stop::Invalid(id, "expected a scalar bool".into())),
        }
    }

    fn scalar_int(&self, id: InstId) -> Result<i64, Stop> {
        match &self.get(id).data {
            Data::Int(v) if v.len() == 1 => Ok(v[0]),
            _ => Err(Stop::Invalid(id, "expected a scalar integer".into())),
        }
    }

    fn exec(&mut self, id: InstId) -> Result<Flow, Stop> {
        let kernel = self.kernel;
        let inst = &kernel.insts[id];
        let invalid = |message: String| Stop::Invalid(id, message);
        let result_shape = || {
            inst.ty
                .as_ref()
                .map(|t| t.shape.clone())
                .unwrap_or_default()
        };
        let result_type = || match inst.ty.as_ref().map(|t| t.elem) {
            Some(Elem::Scalar(t)) => t,
            _ => ScalarType::I64,
        };
        let value = match &inst.kind {
            InstKind::Const(lit) => Value::scalar(value::literal(*lit, result_type())),
            InstKind::Param(index) => match self.args.get(*index as usize) {
                Some(KernelArg::Scalar(lit)) => Value::scalar(value::literal(*lit, result_type())),
                // A base pointer is offset 0 into its buffer.
                Some(KernelArg::Buffer(_)) => Value::scalar(Data::Int(vec![0])),
                None => return Err(invalid(format!("no parameter {index}"))),
            },
            InstKind::ProgramId(axis) => {
                let pid = self.program.get(*axis as usize).copied().unwrap_or(0);
                Value::scalar(Data::Int(vec![pid as i32 as i64]))
            }
            InstKind::NumPrograms(axis) => {
                let n = self.grid.get(*axis as usize).copied().unwrap_or(1);
                Value::scalar(Data::Int(vec![n as i32 as i64]))
            }
            InstKind::Arange { start } => {
                let shape = result_shape();
                let len = shape.first().copied().unwrap_or(1) as i64;
                let data = (0..len).map(|i| (start + i) as i32 as i64).collect();
                Value {
                    shape,
                    data: Data::Int(data),
                }
            }
            InstKind::Splat(scalar) => {
                let shape = result_shape();
                let len = shape.iter().map(|&d| d as usize).product();
                Value {
                    data: self.get(*scalar).data.splat(len),
                    shape,
                }
            }
            InstKind::Broadcast(source) => {
                let shape = result_shape();
                let source = self.get(*source);
                let indices = value::broadcast_indices(&source.shape, &shape).map_err(invalid)?;
                Value {
                    data: source.data.gather(&indices),
                    shape,
                }
            }
            InstKind::ExpandDims { value, .. } => Value {
                data: self.get(*value).data.clone(),
                shape: result_shape(),
            },
            InstKind::ConvertLayout(source) => self.get(*source).clone(),
            InstKind::Reshape(source) => Value {
                data: self.get(*source).data.clone(),
                shape: result_shape(),
            },
            InstKind::Permute { value, perm } => linalg::permute(self.get(*value), perm),
            InstKind::Dot { a, b, acc } => {
                let (sa, sb) = (&self.kernel.ty(*a).shape, &self.kernel.ty(*b).shape);
                let flops = 2 * sa[0] as u64 * sa[1] as u64 * sb[1] as u64;
                self.traffic.flops += flops;
                linalg::dot(self.get(*a), self.get(*b), self.get(*acc)).map_err(invalid)?
            }
            InstKind::Unary { op, value } => {
                let ty = self.elem_type(*value);
                let operand = self.get(*value);
                Value {
                    data: value::unary(*op, ty, &operand.data).map_err(invalid)?,
                    shape: operand.shape.clone(),
                }
            }
            InstKind::Binary { op, lhs, rhs } => {
                let ty = self.elem_type(*lhs);
                let (a, b) = (self.get(*lhs), self.get(*rhs));
                Value {
                    data: value::binary(*op, ty, &a.data, &b.data).map_err(invalid)?,
                    shape: a.shape.clone(),
                }
            }
            InstKind::Compare { op, lhs, rhs } => {
                let ty = self.elem_type(*lhs);
                let (a, b) = (self.get(*lhs), self.get(*rhs));
                Value {
                    data: Data::Bool(value::compare(*op, ty, &a.data, &b.data).map_err(invalid)?),
                    shape: a.shape.clone(),
                }
            }
            InstKind::Select {
                cond,
                on_true,
                on_false,
            } => {
                let (a, b) = (self.get(*on_true), self.get(*on_false));
                let c = self.get(*cond);
                let len = a.len();
                let c = if c.len() == 1 && len != 1 {
                    c.data.splat(len)
                } else {
                    c.data.clone()
                };
                Value {
                    data: value::select(c.as_bools().map_err(invalid)?, &a.data, &b.data)
                        .map_err(invalid)?,
                    shape: a.shape.clone(),
                }
            }
            InstKind::Cast(source) => {
                let from = self.elem_type(*source);
                let operand = self.get(*source);
                Value {
                    data: value::cast(&operand.data, from, result_type()),
                    shape: operand.shape.clone(),
                }
            }
            InstKind::Bitcast(source) => {
                let from = self.elem_type(*source);
                let operand = self.get(*source);
                Value {
                    data: value::bitcast(&operand.data, from, result_type()),
                    shape: operand.shape.clone(),
                }
            }
            InstKind::Fma { a, b, c } => {
                let ty = self.elem_type(*a);
                let (x, y, z) = (self.get(*a), self.get(*b), self.get(*c));
                Value {
                    data: value::fma(ty, &x.data, &y.data, &z.data).map_err(invalid)?,
                    shape: x.shape.clone(),
                }
            }
            InstKind::PtrOffset { ptr, offset } => {
                let (p, o) = (self.get(*ptr), self.get(*offset));
                let offsets = o.data.as_ints().map_err(invalid)?;
                let bases = p.data.as_ints().map_err(invalid)?;
                if offsets.len() != bases.len() {
                    return Err(invalid("pointer and offset differ in length".into()));
                }
                let data = bases
                    .iter()
                    .zip(offsets)
                    .map(|(&b, &o)| b.wrapping_add(o))
                    .collect();
                Value {
                    data: Data::Int(data),
                    shape: p.shape.clone(),
                }
            }
            InstKind::Load { ptr, mask, other } => self.load(id, *ptr, *mask, *other)?,
            InstKind::Atomic {
                op,
                ptr,
                value,
                cmp,
                mask,
            } => self.atomic(id, *op, *ptr, *value, *cmp, *mask)?,
            InstKind::Store { ptr, value, mask } => {
                self.store(id, *ptr, *value, *mask)?;
                return Ok(Flow::Next);
            }
            InstKind::Reduce { op, value, axis } => {
                let ty = self.elem_type(*value);
                value::reduce(*op, ty, self.get(*value), *axis).map_err(invalid)?
            }
            InstKind::Scan { op, value, axis } => {
                let ty = self.elem_type(*value);
                value::scan(*op, ty, self.get(*value), *axis).map_err(invalid)?
            }
            InstKind::LocalGet(local) => match &self.locals[local.index()] {
                Some(v) => v.clone(),
                // A local read before any write holds zeros.
                None => {
                    let ty = &kernel.locals[*local].ty;
                    let elem = match ty.elem {
                        Elem::Scalar(t) => t,
                        Elem::Ptr { .. } => ScalarType::I64,
                    };
                    Value {
                        data: Data::zeros(elem, ty.num_elements() as usize),
                        shape: ty.shape.clone(),
                    }
                }
            },
            InstKind::LocalSet { local, value } => {
                self.locals[local.index()] = Some(self.get(*value).clone());
                return Ok(Flow::Next);
            }
            InstKind::If {
                cond,
                then_region,
                else_region,
            } => {
                return if self.scalar_bool(*cond)? {
                    self.exec_region(then_region)
                } else {
                    self.exec_region(else_region)
                };
            }
            InstKind::For {
                var,
                start,
                end,
                step,
                body,
            } => return self.exec_for(*var, *start, *end, *step, body),
            InstKind::While {
                cond_region,
                cond,
                body,
            } => loop {
                match self.exec_region(cond_region)? {
                    Flow::Next => {}
                    Flow::Return => return Ok(Flow::Return),
                    Flow::Break => return Ok(Flow::Next),
                    Flow::Continue => continue,
                }
                if !self.scalar_bool(*cond)? {
                    return Ok(Flow::Next);
                }
                match self.exec_region(body)? {
                    Flow::Next | Flow::Continue => {}
                    Flow::Break => return Ok(Flow::Next),
                    Flow::Return => return Ok(Flow::Return),
                }
            },
            InstKind::Break => return Ok(Flow::Break),
            InstKind::Continue => return Ok(Flow::Continue),
            InstKind::Return => return Ok(Flow::Return),
            InstKind::Assert { cond, message } => {
                let c = self.get(*cond);
                let first_false = c.data.as_bools().map_err(invalid)?.iter().position(|&b| !b);
                if let Some(element) = first_false {
                    let tile = !self.kernel.ty(*cond).shape.is_empty();
                    return Err(Stop::Assert {
                        message: message.clone(),
                        span: self.kernel.span(id),
                        element: tile.then_some(element as u64),
                    });
                }
                return Ok(Flow::Next);
            }
            InstKind::Print { label, value } => {
                let [x, y, z] = self.program;
                let mut line = format!("pid ({x}, {y}, {z}) {label}");
                if let Some(v) = value {
                    let ty = self.elem_type(*v);
                    line.push_str(": ");
                    line.push_str(&format_value(self.get(*v), ty));
                }
                self.printed.push(line);
                return Ok(Flow::Next);
            }
        };
        self.values[id.index()] = Some(value);
        Ok(Flow::Next)
    }

    fn exec_for(
        &mut self,
        var: ir::LocalId,
        start: InstId,
        end: InstId,
        step: InstId,
        body: &'a Region,
    ) -> Result<Flow, Stop> {
        let ty = self.elem_type(start);
        // Count in i128 so that the last step can never wrap around and loop forever.
        let wide = |v: i64| {
            if ty == ScalarType::U64 {
                v as u64 as i128
            } else {
                v as i128
            }
        };
        let mut counter = wide(self.scalar_int(start)?);
        let end = wide(self.scalar_int(end)?);
        let step = self.scalar_int(step)? as i128;
        // The step is read as signed so that `range(10, 0, -1)` on unsigned bounds still counts down.
        let step = if ty.is_unsigned_int() && ty != ScalarType::U64 {
            value::wrap_int(ty_signed(ty), step as i64) as i128
        } else {
            step
        };
        if step == 0 {
            return Ok(Flow::Next);
        }
        while (step > 0 && counter < end) || (step < 0 && counter > end) {
            self.locals[var.index()] = Some(Value::scalar(Data::Int(vec![value::wrap_int(
                ty,
                counter as i64,
            )])));
            match self.exec_region(body)? {
                Flow::Next | Flow::Continue => {}
                Flow::Break => break,
                Flow::Return => return Ok(Flow::Return),
            }
            counter += step;
        }
        Ok(Flow::Next)
    }

    /// The buffer and lanes of an access through `ptr` under `mask`, recording the first
    /// out-of-bounds lane.
    fn lanes(
        &mut self,
        id: InstId,
        ptr: InstId,
        mask: Option<InstId>,
        store: bool,
    ) -> Result<(usize, Vec<Lane>), Stop> {
        let param = match self.kernel.ty(ptr).elem {
            Elem::Ptr { param, .. } => param as usize,
            Elem::Scalar(_) => {
                return Err(Stop::Invalid(id, "access through a non-pointer".into()))
            }
        };
        // Traffic counts the bytes the device moves: a bool element is 4 bytes there.
        let (len, elem_bytes) = match self.args.get(param) {
            Some(KernelArg::Buffer(buffer)) => (
                buffer.len() as i64,
                crate::abi::device_elem_bytes(buffer.elem) as u64,
            ),
            _ => return Err(Stop::Invalid(id, format!("parameter {param} is no buffer"))),
        };
        let offsets = self
            .get(ptr)
            .data
            .as_ints()
            .map_err(|m| Stop::Invalid(id, m))?;
        let mask = match mask {
            Some(m) => Some(
                self.get(m)
                    .data
                    .as_bools()
                    .map_err(|m| Stop::Invalid(id, m))?,
            ),
            None => None,
        };
        if mask.is_some_and(|m| m.len() != offsets.len()) {
            return Err(Stop::Invalid(
                id,
                "mask and pointer differ in length".into(),
            ));
        }
        let mut first_outside = None;
        let mut lanes = Vec::with_capacity(offsets.len());
        for (i, &offset) in offsets.iter().enumerate() {
            lanes.push(if mask.is_some_and(|m| !m[i]) {
                Lane::Masked
            } else if offset >= 0 && offset < len {
                Lane::Access(offset as usize)
            } else {
                first_outside.get_or_insert(offset);
                Lane::Outside
            });
        }
        if let (Some(index), None) = (first_outside, &self.first_out_of_bounds) {
            self.first_out_of_bounds = Some(RunError::OutOfBounds {
                kernel: self.kernel.name.clone(),
                param: self.kernel.params[param].name.clone(),
                index,
                store,
                program: self.program,
            });
        }
        let touched = lanes
            .iter()
            .filter(|l| matches!(l, Lane::Access(_)))
            .count() as u64;
        self.traffic.bytes += touched * elem_bytes;
        Ok((param, lanes))
    }

    fn load(
        &mut self,
        id: InstId,
        ptr: InstId,
        mask: Option<InstId>,
        other: Option<InstId>,
    ) -> Result<Value, Stop> {
        let (param, lanes) = self.lanes(id, ptr, mask, false)?;
        let Some(KernelArg::Buffer(buffer)) = self.args.get(param) else {
            unreachable!("checked by lanes")
        };
        let mut data = Data::zeros(buffer.elem, lanes.len());
        read_elements(buffer, &lanes, &mut data);
        let other = other.map(|o| &self.get(o).data);
        for (i, lane) in lanes.iter().enumerate() {
            match lane {
                Lane::Access(_) | Lane::Outside => {}
                Lane::Masked => {
                    if let Some(other) = other {
                        let from = if other.len() == 1 { 0 } else { i };
                        data.set_from(i, other, from);
                    }
                }
            }
        }
        Ok(Value {
            data,
            shape: self.get(ptr).shape.clone(),
        })
    }

    fn store(
        &mut self,
        id: InstId,
        ptr: InstId,
        value: InstId,
        mask: Option<InstId>,
    ) -> Result<(), Stop> {
        let (param, lanes) = self.lanes(id, ptr, mask, true)?;
        let values = &self.values[value.index()]
            .as_ref()
            .expect("interpreter: operand used before definition")
            .data;
        if values.len() != lanes.len() {
            return Err(Stop::Invalid(
                id,
                "value and pointer differ in length".into(),
            ));
        }
        let Some(KernelArg::Buffer(buffer)) = self.args.get_mut(param) else {
            unreachable!("checked by lanes")
        };
        for (i, lane) in lanes.iter().enumerate() {
            if let Lane::Access(index) = lane {
                write_element(buffer, *index, values, i);
            }
        }
        Ok(())
    }
}

/// The signed type of the same width.
fn ty_signed(ty: ScalarType) -> ScalarType {
    match ty {
        ScalarType::U8 => ScalarType::I8,
        ScalarType::U16 => ScalarType::I16,
        ScalarType::U32 => ScalarType::I32,
        ScalarType::U64 => ScalarType::I64,
        other => other,
    }
}

/// Fills the lanes of `out` that access `buffer` from it, decoding by element type once.
fn read_elements(buffer: &HostBuffer, lanes: &[Lane], out: &mut Data) {
    fn fill<T>(out: &mut [T], lanes: &[Lane], decode: impl Fn(usize) -> T) {
        for (i, lane) in lanes.iter().enumerate() {
            if let Lane::Access(index) = lane {
                out[i] = decode(*index);
            }
        }
    }
    let bytes = &buffer.data;
    let b2 = |k: usize| [bytes[2 * k], bytes[2 * k + 1]];
    let b4 = |k: usize| {
        [
            bytes[4 * k],
            bytes[4 * k + 1],
            bytes[4 * k + 2],
            bytes[4 * k + 3],
        ]
    };
    let b8 = |k: usize| -> [u8; 8] { bytes[8 * k..8 * k + 8].try_into().expect("8 bytes") };
    match (out, buffer.elem) {
        (Data::Bool(v), _) => fill(v, lanes, |k| bytes[k] != 0),
        (Data::F32(v), ScalarType::F16) => fill(v, lanes, |k| f16::from_le_bytes(b2(k)).to_f32()),
        (Data::F32(v), ScalarType::BF16) => fill(v, lanes, |k| bf16::from_le_bytes(b2(k)).to_f32()),
        (Data::F32(v), _) => fill(v, lanes, |k| f32::from_le_bytes(b4(k))),
        (Data::F64(v), _) => fill(v, lanes, |k| f64::from_le_bytes(b8(k))),
        (Data::Int(v), ScalarType::I8) => fill(v, lanes, |k| bytes[k] as i8 as i64),
        (Data::Int(v), ScalarType::U8) => fill(v, lanes, |k| bytes[k] as i64),
        (Data::Int(v), ScalarType::I16) => fill(v, lanes, |k| i16::from_le_bytes(b2(k)) as i64),
        (Data::Int(v), ScalarType::U16) => fill(v, lanes, |k| u16::from_le_bytes(b2(k)) as i64),
        (Data::Int(v), ScalarType::I32) => fill(v, lanes, |k| i32::from_le_bytes(b4(k)) as i64),
        (Data::Int(v), ScalarType::U32) => fill(v, lanes, |k| u32::from_le_bytes(b4(k)) as i64),
        (Data::Int(v), _) => fill(v, lanes, |k| i64::from_le_bytes(b8(k))),
    }
}

fn write_element(buffer: &mut HostBuffer, index: usize, values: &Data, i: usize) {
    let bits: u64 = match values {
        Data::Bool(v) => v[i] as u64,
        Data::Int(v) => v[i] as u64,
        Data::F32(v) => match buffer.elem {
            ScalarType::F16 => f16::from_f32(v[i]).to_bits() as u64,
            ScalarType::BF16 => bf16::from_f32(v[i]).to_bits() as u64,
            _ => v[i].to_bits() as u64,
        },
        Data::F64(v) => v[i].to_bits(),
    };
    let width = buffer.elem.bytes() as usize;
    buffer.data[index * width..(index + 1) * width].copy_from_slice(&bits.to_le_bytes()[..width]);
}

/// A value as `print` shows it: a scalar, or nested `[..]` lists row-major.
fn format_value(value: &Value, ty: ScalarType) -> String {
    let element = |i: usize| match &value.data {
        Data::Bool(v) => v[i].to_string(),
        Data::Int(v) if ty == ScalarType::U64 => (v[i] as u64).to_string(),
        Data::Int(v) => v[i].to_string(),
        Data::F32(v) => format!("{:?}", v[i]),
        Data::F64(v) => format!("{:?}", v[i]),
    };
    fn nest(shape: &[u32], start: usize, element: &dyn Fn(usize) -> String) -> String {
        match shape.split_first() {
            None => element(start),
            Some((&dim, rest)) => {
                let stride: usize = rest.iter().map(|&d| d as usize).product();
                let items: Vec<String> = (0..dim as usize)
                    .map(|k| nest(rest, start + k * stride, element))
                    .collect();
                format!("[{}]", items.join(", "))
            }
        }
    }
    nest(&value.shape, 0, &element)
}
