//! `tkc run`: arguments from the command line, the launch grid, the device or interpreter, outputs.
#![allow(unused_imports)]
use super::*;
use tk::abi::bind::{quoted_names, BindError, Binder, Given, Key, Params, Problem, Value};

/// The parameters `--arg` and `--out` name: the lowered kernel's runtime parameters and consts.
pub(crate) fn kernel_params(kernel: &ir::Kernel) -> Params {
    Params::new(
        kernel.name.clone(),
        kernel.params.clone(),
        kernel.consts.iter().map(|(name, _)| name.clone()).collect(),
    )
}

/// Kernel arguments from `--arg`, in the IR's parameter order (through the binder).
pub(crate) fn parse_args(
    command_line: &CommandLine,
    kernel: &ir::Kernel,
    specs: &[String],
) -> Result<Vec<KernelArg>> {
    let params = kernel_params(kernel);
    let mut binder = Binder::new(&params);
    for spec in specs {
        let (name, value) = split_assignment(command_line, spec, "--arg")?;
        let refused = |error| argument_failure(command_line, error, spec, value);
        // The parameter's type says how to read the value's text.
        let (_, param) = binder.param(name).map_err(refused)?;
        let arg = match param.kind {
            ParamKind::Scalar(ty) => Value::Scalar {
                value: driver::parse_literal(value, ty).map_err(|e| {
                    command_line.fail(
                        "E0907",
                        format!("bad value for `{name}`: {e}"),
                        value,
                        "here",
                        format!("`{name}` is a {ty}"),
                    )
                })?,
                ty: None,
            },
            ParamKind::Pointer { pointee, .. } => Value::Buffer {
                buffer: parse_buffer(command_line, value, pointee)?,
                writable: true,
            },
        };
        binder.bind(name, arg).map_err(refused)?;
    }
    binder
        .finish()
        .map_err(|error| argument_failure(command_line, error, "run", ""))
}

/// An argument the binder refused, as a diagnostic pointing at `--arg` `spec` (its value text is
/// `value`).
fn argument_failure(command_line: &CommandLine, error: BindError, spec: &str, value: &str) -> Fail {
    let kernel = &error.kernel;
    match &error.problem {
        Problem::UnknownName { name, params } => command_line.fail(
            "E0908",
            format!("kernel `{kernel}` has no parameter `{name}`"),
            name,
            "unknown parameter",
            format!(
                "the kernel's parameters are {}",
                quoted_names(params.iter().map(String::as_str))
            ),
        ),
        Problem::Const { name } => command_line.fail(
            "E0908",
            format!("`{name}` is a const of kernel `{kernel}`, not a runtime parameter"),
            name,
            "a const",
            format!("`{name}` is a const: set it with `-D {name}={value}`"),
        ),
        Problem::GivenTwice { param } => command_line.fail(
            "E0908",
            format!("`{param}` is given twice"),
            spec,
            "second value",
            "give each parameter once".into(),
        ),
        Problem::Missing { params } => {
            let examples: Vec<String> = params
                .iter()
                .map(|p| match p.kind {
                    ParamKind::Scalar(_) => format!("--arg {}=4096", p.name),
                    ParamKind::Pointer { .. } => {
                        format!("--arg {}=data.npy (or zeros:4096)", p.name)
                    }
                })
                .collect();
            command_line.fail(
                "E0909",
                format!(
                    "missing argument{} {} of kernel `{kernel}`",
                    if params.len() > 1 { "s" } else { "" },
                    quoted_names(params.iter().map(|p| p.name.as_str())),
                ),
                "run",
                "",
                format!("add {}", examples.join(" ")),
            )
        }
        // A `.npy` file of another dtype (a `zeros:` buffer takes the parameter's).
        &Problem::Mismatch {
            ref param,
            wanted: ParamKind::Pointer { pointee, .. },
            given: Given::Buffer { elem, .. },
        } => command_line.fail(
            "E0912",
            format!(
                "`{param}` is a *{pointee} but {value} holds {elem} ({})",
                tk::npy::numpy_name(elem)
            ),
            value,
            "wrong dtype",
            format!(
                "convert it with a.astype(numpy.{}) before saving",
                tk::npy::numpy_name(pointee)
            ),
        ),
        _ => command_line.fail(
            "E0908",
            error.message(),
            spec,
            "here",
            "check the --arg values against the kernel's parameters".into(),
        ),
    }
}

/// A buffer from `zeros:SHAPE` (of the parameter's element type) or a `.npy` file (of its own;
/// the binder checks it against the parameter's).
pub(crate) fn parse_buffer(
    command_line: &CommandLine,
    value: &str,
    pointee: ScalarType,
) -> Result<HostBuffer> {
    if let Some(dims) = value.strip_prefix("zeros:") {
        let shape: Option<Vec<usize>> = dims
            .split('x')
            .map(|d| d.trim().replace('_', "").parse::<usize>().ok())
            .collect();
        return match shape {
            Some(shape)
                if !shape.is_empty()
                    && shape
                        .iter()
                        .try_fold(1usize, |a, &d| a.checked_mul(d))
                        .is_some_and(|n| n <= 1 << 31) =>
            {
                Ok(HostBuffer::zeros(pointee, shape))
            }
            _ => Err(command_line.fail(
                "E0910",
                format!("`{dims}` is not a buffer shape"),
                dims,
                "expected a shape such as 4096 or 64x64",
                "write `zeros:N` or `zeros:RxC` (at most 2^31 elements)".into(),
            )),
        };
    }
    tk::npy::read(Path::new(value)).map_err(|e| {
        command_line.fail(
            "E0911",
            e,
            value,
            "this file",
            "pass a .npy file saved with numpy.save, or zeros:N".into(),
        )
    })
}

/// Integer values of consts and scalar arguments, by name, for grid expressions.
pub(crate) fn grid_env(kernel: &ir::Kernel, args: &[KernelArg]) -> Vec<(String, i64)> {
    let mut env: Vec<(String, i64)> = kernel
        .consts
        .iter()
        .filter_map(|(name, value)| match value {
            Literal::Int(v) => Some((name.clone(), *v as i64)),
            _ => None,
        })
        .collect();
    for (param, arg) in kernel.params.iter().zip(args) {
        if let KernelArg::Scalar(Literal::Int(v)) = arg {
            env.push((param.name.clone(), *v as i64));
        }
    }
    env
}

/// Evaluates a `--grid` expression (parsed with the language's own grammar).
pub(crate) fn eval_grid_expr(
    expr: &ast::Expr,
    env: &[(String, i64)],
) -> std::result::Result<i64, String> {
    use ast::{BinaryOp, ExprKind};
    match &expr.kind {
        ExprKind::Int(v) => i64::try_from(*v).map_err(|_| format!("{v} is too large")),
        ExprKind::Path(path) if path.len() == 1 => {
            let name = &path[0].name;
            env.iter().find(|(n, _)| n == name).map(|(_, v)| *v).ok_or_else(|| {
                let names: Vec<&str> = env.iter().map(|(n, _)| n.as_str()).collect();
                format!("`{name}` is not an integer parameter or const (known: {})", names.join(", "))
            })
        }
        ExprKind::Unary { op: ast::UnaryOp::Neg, operand } => eval_grid_expr(operand, env)?
            .checked_neg()
            .ok_or_else(|| "the value overflows 64 bits".to_string()),
        ExprKind::Binary { op, lhs, rhs } => {
            let (a, b) = (eval_grid_expr(lhs, env)?, eval_grid_expr(rhs, env)?);
            let overflow = || format!("`{a} {} {b}` overflows 64 bits", op.symbol());
            if matches!(op, BinaryOp::Div | BinaryOp::Rem) && b == 0 {
                return Err(format!("division by zero (`{a} {} 0`)", op.symbol()));
            }
            match op {
                BinaryOp::Add => a.checked_add(b).ok_or_else(overflow),
                BinaryOp::Sub => a.checked_sub(b).ok_or_else(overflow),
                BinaryOp::Mul => a.checked_mul(b).ok_or_else(overflow),
                BinaryOp::Div => a.checked_div(b).ok_or_else(overflow),
                BinaryOp::Rem => a.checked_rem(b).ok_or_else(overflow),
                _ => Err(format!("`{}` is not allowed in a grid (use + - * / % cdiv minimum maximum)", op.symbol())),
            }
        }
        ExprKind::Call { callee, args } if callee.len() == 1 && args.len() == 2 => {
            let values: std::result::Result<Vec<i64>, String> = args
                .iter()
                .map(|a| match &a.value {
                    ast::ArgValue::Expr(e) if a.name.is_none() => eval_grid_expr(e, env),
                    _ => Err("grid functions take two positional arguments".to_string()),
                })
                .collect();
            let values = values?;
            let (a, b) = (values[0], values[1]);
            match callee[0].name.as_str() {
                "cdiv" if b == 0 => Err(format!("division by zero (`cdiv({a}, 0)`)")),
                "cdiv" => (a as i128 + b as i128 - 1)
                    .checked_div(b as i128)
                    .and_then(|q| i64::try_from(q).ok())
                    .ok_or_else(|| format!("`cdiv({a}, {b})` overflows 64 bits")),
                "minimum" => Ok(a.min(b)),
                "maximum" => Ok(a.max(b)),
                other => Err(format!("`{other}` is not allowed in a grid (use cdiv, minimum, maximum)")),
            }
        }
        ExprKind::Error => Err("the expression does not parse".into()),
        _ => Err("only integers, parameters, consts, + - * / %, cdiv, minimum and maximum are allowed in a grid".into()),
    }
}

pub(crate) fn launch_grid(
    command_line: &CommandLine,
    kernel: &ir::Kernel,
    args: &[KernelArg],
    grid: Option<&str>,
) -> Result<[u32; 3]> {
    let env = grid_env(kernel, args);
    let values: Vec<i64> = match grid {
        Some(text) => {
            let wrapped = format!("#[grid({text})] kernel grid() {{}}");
            let (file, diagnostics) = tk::syntax::parse(&wrapped, Default::default());
            let exprs: Option<Vec<ast::Expr>> = file.items.first().and_then(|item| {
                item.attrs.first().map(|attr| {
                    attr.args
                        .iter()
                        .filter_map(|a| {
                            if let ast::AttrArg::Expr(e) = a {
                                Some(e.clone())
                            } else {
                                None
                            }
                        })
                        .collect()
                })
            });
            let bad = |why: String| {
                command_line.fail(
                    "E0913",
                    format!("bad --grid `{text}`: {why}"),
                    text,
                    "this grid",
                    "write e.g. --grid 'cdiv(n, BLOCK)' or --grid 64,8".into(),
                )
            };
            let exprs = match exprs {
                Some(exprs) if !diagnostics.has_errors() && (1..=3).contains(&exprs.len()) => exprs,
                _ => return Err(bad("expected 1 to 3 comma-separated expressions".into())),
            };
            exprs
                .iter()
                .map(|e| eval_grid_expr(e, &env))
                .collect::<std::result::Result<_, _>>()
                .map_err(bad)?
        }
        None => {
            let Some(result) = tk::interp::launch_grid(kernel, args) else {
                return Err(command_line.fail(
                    "E0914",
                    format!(
                        "kernel `{}` has no #[grid] and no --grid was given",
                        kernel.name
                    ),
                    "run",
                    "",
                    "pass --grid (e.g. --grid 'cdiv(n, BLOCK)') or add #[grid(...)] to the kernel"
                        .into(),
                ));
            };
            return result.map_err(|e| {
                command_line.fail(
                    "E0913",
                    format!("cannot evaluate the kernel's #[grid]: {e}"),
                    "run",
                    "",
                    "check the scalar arguments".into(),
                )
            });
        }
    };
    let mut grid = [1u32; 3];
    for (axis, &v) in values.iter().enumerate() {
        grid[axis] = u32::try_from(v).map_err(|_| {
            command_line.fail(
                "E0913",
                format!("grid dimension {axis} is {v}, outside 0..=4294967295"),
                "run",
                "",
                "check the grid expression and its arguments".into(),
            )
        })?;
    }
    Ok(grid)
}

/// Runs (or, with `bench_options`, times) one launch; a bench returns its measurement.
pub(crate) fn run(
    command_line: &CommandLine,
    launch: &LaunchArgs,
    bench_options: Option<BenchOptions>,
) -> Result<Option<Measurement>> {
    let bench_iterations = bench_options.as_ref().map(|o| o.iterations);
    let program = load_program(command_line, &launch.file)?;
    let sig = choose_kernel(
        command_line,
        &program,
        launch.kernel.as_deref(),
        &launch.file,
    )?;
    let consts = parse_defines(command_line, sig, &launch.defines)?;
    let lowered = driver::lower(&program, &sig.name, &consts)
        .map_err(|d| program_errors(&d, &program.sources))?;
    let mut args = parse_args(command_line, &lowered.kernel, &launch.args)?;
    let params = kernel_params(&lowered.kernel);
    let mut outs: Vec<(usize, PathBuf)> = Vec::new();
    for spec in &launch.outs {
        let (name, path) = split_assignment(command_line, spec, "--out")?;
        match params.resolve(Key::Name(name)) {
            Ok(i) if matches!(params.runtime[i].kind, ParamKind::Pointer { .. }) => {
                outs.push((i, PathBuf::from(path)))
            }
            _ => {
                return Err(command_line.fail(
                    "E0915",
                    format!("`{name}` is not a pointer parameter of `{}`", sig.name),
                    name,
                    "not a buffer",
                    "--out takes a pointer parameter: --out out=result.npy".into(),
                ))
            }
        }
    }
    let grid = launch_grid(command_line, &lowered.kernel, &args, launch.grid.as_deref())?;

    let choice = match launch.device.as_str() {
        "interp" => None,
        "auto" => Some(DeviceChoice::Auto),
        index => match index.parse::<usize>() {
            Ok(i) => Some(DeviceChoice::Index(i)),
            Err(_) => {
                return Err(command_line.fail(
                    "E0916",
                    format!("`{index}` is not a device"),
                    index,
                    "expected auto, interp or an index",
                    "list the devices with `tkc devices`".into(),
                ))
            }
        },
    };
    let device = match choice {
        None => None,
        Some(choice) => match Device::open(choice) {
            Ok(device) => Some(device),
            Err(RuntimeError::NoVulkan { .. } | RuntimeError::NoDevice)
                if matches!(choice, DeviceChoice::Auto) && bench_iterations.is_none() =>
            {
                eprintln!("tkc: no Vulkan device found; running on the reference interpreter");
                None
            }
            Err(error) => return Err(runtime_failure(error)),
        },
    };
    match device {
        None => {
            if bench_iterations.is_some() {
                return Err(command_line.fail(
                    "E0916",
                    "`tkc bench` needs a Vulkan device".into(),
                    "interp",
                    "",
                    "use --device auto or an index".into(),
                ));
            }
            let mut output = tk::interp::RunOutput::default();
            let result = tk::interp::run_with_output(&lowered, &mut args, grid, &mut output);
            // The lines printed before a failure are shown too: they are often why one prints.
            for line in &output.printed {
                println!("{line}");
            }
            result.map_err(|e| run_error_interp(e, &program.sources))?;
        }
        Some(device) => {
            let prints = lowered
                .kernel
                .insts
                .iter()
                .any(|(_, inst)| matches!(inst.kind, ir::InstKind::Print { .. }));
            if prints {
                eprintln!(
                    "tkc: kernel `{}` prints, but `print` runs only on the interpreter \
                     (--device interp)",
                    sig.name
                );
            }
            let (lowered, grid) = match autotuned(
                command_line,
                &device,
                &program,
                sig,
                &consts,
                &lowered,
                &args,
                launch,
            )? {
                Some(tuned) => tuned,
                None => (lowered, grid),
            };
            let traffic = match &bench_options {
                Some(o) if o.bytes.is_none() || o.flops.is_none() => {
                    sample_traffic(&lowered, &args, grid)
                }
                _ => None,
            };
            // Specialised for what the arguments promise (integers and buffer lengths divisible
            // by 16, …), as Triton specialises its launches.
            let mut lowered = lowered;
            tk::driver::specialize(&mut lowered, &args);
            let (artifact, _) = cached_compile(&device, &program, lowered, launch)?;
            let pipeline = device.load(&artifact).map_err(runtime_failure)?;
            if !launch.no_cache {
                // A pipeline cache that cannot be saved only costs the next run some time.
                let _ = tk::cache::save_pipeline_cache(&device);
            }
            match bench_iterations {
                None => {
                    device
                        .launch(&pipeline, &mut args, grid)
                        .map_err(|e| launch_failure(e, &program.sources))?;
                }
                Some(_) => {
                    let options = bench_options.expect("bench iterations come from the options");
                    return bench(
                        &device,
                        &pipeline,
                        &mut args,
                        grid,
                        &options,
                        traffic,
                        &sig.name,
                        launch.unchecked,
                    )
                    .map(Some);
                }
            }
        }
    }
    for (index, path) in &outs {
        if let KernelArg::Buffer(buffer) = &args[*index] {
            tk::npy::write(path, buffer).map_err(|e| {
                command_line.fail(
                    "E0901",
                    e,
                    &path.display().to_string(),
                    "this file",
                    "check the directory exists and is writable".into(),
                )
            })?;
        }
    }
    // The buffers the kernel writes and no --out saves are previewed.
    for (i, (param, arg)) in params.runtime.iter().zip(&args).enumerate() {
        let saved = outs.iter().any(|(index, _)| *index == i);
        let written = matches!(param.kind, ParamKind::Pointer { mutable: true, .. });
        if let (false, true, KernelArg::Buffer(buffer)) = (saved, written, arg) {
            println!("{}: {}", param.name, preview(buffer));
        }
    }
    Ok(None)
}

/// A short numpy-like rendering of a buffer: `f32[4096] [0, 1, 2, …, 4095]`.
pub(crate) fn preview(buffer: &HostBuffer) -> String {
    let n = buffer.len();
    let show = |i: usize| element_text(buffer, i);
    let items: Vec<String> = if n <= 8 {
        (0..n).map(show).collect()
    } else {
        (0..4)
            .map(show)
            .chain(["…".to_string()])
            .chain((n - 3..n).map(show))
            .collect()
    };
    let shape: Vec<String> = buffer.shape.iter().map(|d| d.to_string()).collect();
    format!(
        "{}[{}] [{}]",
        buffer.elem,
        shape.join(", "),
        items.join(", ")
    )
}

pub(crate) fn element_text(buffer: &HostBuffer, i: usize) -> String {
    let size = buffer.elem.bytes() as usize;
    let b = &buffer.data[i * size..(i + 1) * size];
    use ScalarType::*;
    match buffer.elem {
        Bool => (b[0] != 0).to_string(),
        I8 => (b[0] as i8).to_string(),
        U8 => b[0].to_string(),
        I16 => i16::from_le_bytes([b[0], b[1]]).to_string(),
        U16 => u16::from_le_bytes([b[0], b[1]]).to_string(),
        F16 => half::f16::from_le_bytes([b[0], b[1]]).to_string(),
        BF16 => half::bf16::from_le_bytes([b[0], b[1]]).to_string(),
        I32 => i32::from_le_bytes(b.try_into().unwrap()).to_string(),
        U32 => u32::from_le_bytes(b.try_into().unwrap()).to_string(),
        F32 => f32::from_le_bytes(b.try_into().unwrap()).to_string(),
        I64 => i64::from_le_bytes(b.try_into().unwrap()).to_string(),
        U64 => u64::from_le_bytes(b.try_into().unwrap()).to_string(),
        F64 => f64::from_le_bytes(b.try_into().unwrap()).to_string(),
    }
}

/// Compiles through the on-disk kernel cache (unless `--no-cache`) and keeps the device's
/// pipeline cache across runs. `TK_LOG=cache` reports hits and misses on stderr.
pub(crate) fn cached_compile(
    device: &Device,
    program: &Program,
    lowered: ir::Module,
    launch: &LaunchArgs,
) -> Result<(tk::abi::Artifact, tk::cache::CacheOutcome)> {
    let cache = if launch.no_cache {
        None
    } else {
        tk::cache::load_pipeline_cache(device);
        tk::cache::KernelCache::default_location()
    };
    let (artifact, outcome) = tk::cache::compile(
        &program.sources,
        lowered,
        &device.target(),
        &device.info().driver,
        !launch.unchecked,
        cache.as_ref(),
    )
    .map_err(|d| program_errors(&d.into(), &program.sources))?;
    if std::env::var("TK_LOG").is_ok_and(|v| v.split(',').any(|part| part == "cache")) {
        let what = match outcome {
            tk::cache::CacheOutcome::Hit => "cache hit",
            tk::cache::CacheOutcome::Miss => "cache miss (compiled and stored)",
            tk::cache::CacheOutcome::Bypassed => "cache bypassed",
        };
        eprintln!("tkc: {what}: kernel `{}`", artifact.abi.kernel);
    }
    Ok((artifact, outcome))
}
