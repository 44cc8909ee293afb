//! `tkc`: the command line over the tk library — check, build, run and bench kernels.
//! Exit codes (LANGUAGE.md §10): 0 success; 1 the program has errors; 2 bad command line or input
//! files; 3 the device failed or a safety check stopped the kernel; 101 internal compiler error.
use clap::{Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tk::base::{
    diag, Diagnostic, Diagnostics, HostBuffer, KernelArg, Literal, ScalarType, SourceMap, Span,
};
use tk::driver::{self, DiskLoader, Program};
use tk::ir::{self, ParamKind};
use tk::runtime::{self, Device, DeviceChoice, RuntimeError};
use tk::sema::{KernelParamKind, KernelSig};
use tk::syntax::ast;

#[derive(Parser)]
#[command(
    name = "tkc",
    version,
    about = "The tk kernel compiler: check, build, run and benchmark .tk kernels"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Type-check a file (every kernel at its const defaults, overridable with -D).
    Check {
        file: PathBuf,
        /// Set a const: `-D BLOCK=256`.
        #[arg(short = 'D', value_name = "CONST=VALUE")]
        defines: Vec<String>,
    },
    /// Compile one kernel to SPIR-V (or print its IR / SPIR-V assembly).
    Build {
        file: PathBuf,
        #[arg(long)]
        kernel: Option<String>,
        /// Output file (default: stdout for text forms, KERNEL.spv for binary SPIR-V).
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Emit::Spirv)]
        emit: Emit,
        #[arg(short = 'D', value_name = "CONST=VALUE")]
        defines: Vec<String>,
        /// Leave out the bounds checks of safe mode.
        #[arg(long)]
        unchecked: bool,
    },
    /// Run a kernel on a Vulkan device or the reference interpreter.
    Run(LaunchArgs),
    /// Time a kernel on a Vulkan device against the device's own copy bandwidth.
    Bench {
        #[command(flatten)]
        launch: LaunchArgs,
        #[arg(long, default_value_t = 20)]
        iterations: u32,
    },
    /// List the Vulkan devices.
    Devices,
}

#[derive(Clone, Copy, ValueEnum)]
enum Emit {
    Spirv,
    Spvasm,
    Ir,
    /// The IR after scheduling (layouts).
    IrScheduled,
}

#[derive(clap::Args)]
struct LaunchArgs {
    file: PathBuf,
    #[arg(long)]
    kernel: Option<String>,
    /// The launch grid, e.g. `--grid 'cdiv(n, BLOCK)'` or `--grid 64,8`.
    #[arg(long)]
    grid: Option<String>,
    #[arg(short = 'D', value_name = "CONST=VALUE")]
    defines: Vec<String>,
    /// `--arg x=data.npy`, `--arg out=zeros:4096`, `--arg out=zeros:64x64`, `--arg n=4096`.
    #[arg(long = "arg", value_name = "PARAM=VALUE")]
    args: Vec<String>,
    /// Write a pointer's buffer after the run: `--out out=result.npy`.
    #[arg(long = "out", value_name = "PARAM=PATH")]
    outs: Vec<String>,
    /// `auto` (default), `interp`, or a device index from `tkc devices`.
    #[arg(long, default_value = "auto")]
    device: String,
    /// Leave out the bounds checks of safe mode.
    #[arg(long)]
    unchecked: bool,
}

/// A failed command: the exit code and the text for stderr.
struct Fail {
    code: u8,
    text: String,
}

type Result<T> = std::result::Result<T, Fail>;

/// The command line as a pseudo source file, so input errors render like program errors.
struct CommandLine {
    sources: SourceMap,
    args: Vec<(usize, String)>,
}

impl CommandLine {
    fn new() -> CommandLine {
        let mut text = String::from("tkc");
        let mut args = Vec::new();
        for arg in std::env::args().skip(1) {
            text.push(' ');
            args.push((text.len(), arg.clone()));
            text.push_str(&arg);
        }
        let mut sources = SourceMap::new();
        sources.add("<command line>", text);
        CommandLine { sources, args }
    }

    /// The span of `needle` inside the first argument that contains it.
    fn span_of(&self, needle: &str) -> Span {
        for (offset, arg) in &self.args {
            if let Some(at) = arg.find(needle) {
                return Span::new(Default::default(), offset + at, offset + at + needle.len());
            }
        }
        Span::default()
    }

    /// A bad command line or input file (exit 2).
    fn fail(
        &self,
        code: &'static str,
        message: String,
        needle: &str,
        label: &str,
        help: String,
    ) -> Fail {
        let diagnostic = Diagnostic::error(code, message)
            .with_label(self.span_of(needle), label)
            .with_help(help);
        Fail {
            code: 2,
            text: diag::render_one(&diagnostic, &self.sources, color()),
        }
    }
}

fn color() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn program_errors(diagnostics: &Diagnostics, sources: &SourceMap) -> Fail {
    let internal = diagnostics.iter().any(Diagnostic::is_internal);
    Fail {
        code: if internal { 101 } else { 1 },
        text: diag::render(diagnostics, sources, color()),
    }
}

fn device_failure(code: &'static str, message: String, help: &str) -> Fail {
    let diagnostic = Diagnostic::error(code, message).with_help(help);
    Fail {
        code: 3,
        text: diag::render_one(&diagnostic, &SourceMap::new(), color()),
    }
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error[ICE]: internal compiler error: {info}");
        eprintln!("  help: this is a bug in tk; please report it with the command and kernel that triggered it");
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            use clap::error::ErrorKind;
            if matches!(
                error.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = error.print();
                return ExitCode::SUCCESS;
            }
            eprint!("error[E0900]: {}", error.render());
            eprintln!("  help: run `tkc --help` or `tkc <command> --help` for the usage");
            return ExitCode::from(2);
        }
    };
    match std::panic::catch_unwind(|| dispatch(cli)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(fail)) => {
            eprint!("{}", fail.text);
            ExitCode::from(fail.code)
        }
        Err(_) => ExitCode::from(101),
    }
}

fn dispatch(cli: Cli) -> Result<()> {
    let command_line = CommandLine::new();
    match cli.command {
        Command::Check { file, defines } => check(&command_line, &file, &defines),
        Command::Build {
            file,
            kernel,
            output,
            emit,
            defines,
            unchecked,
        } => build(
            &command_line,
            &file,
            kernel.as_deref(),
            output.as_deref(),
            emit,
            &defines,
            unchecked,
        ),
        Command::Run(launch) => run(&command_line, &launch, None),
        Command::Bench { launch, iterations } => run(&command_line, &launch, Some(iterations)),
        Command::Devices => devices(),
    }
}

fn load_program(command_line: &CommandLine, file: &Path) -> Result<Program> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        let name = file.display().to_string();
        command_line.fail(
            "E0901",
            format!("cannot read `{name}`: {e}"),
            &name,
            "this file",
            "check the path".into(),
        )
    })?;
    let program = driver::check_source(&file.display().to_string(), &text, &DiskLoader);
    if program.has_errors() {
        return Err(program_errors(&program.diagnostics, &program.sources));
    }
    if !program.diagnostics.is_empty() {
        eprint!(
            "{}",
            diag::render(&program.diagnostics, &program.sources, color())
        );
    }
    Ok(program)
}

fn choose_kernel<'p>(
    command_line: &CommandLine,
    program: &'p Program,
    name: Option<&str>,
    file: &Path,
) -> Result<&'p KernelSig> {
    let kernels = &program.checked.kernels;
    let names = || {
        kernels
            .iter()
            .map(|k| format!("`{}`", k.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match name {
        Some(name) => kernels.iter().find(|k| k.name == name).ok_or_else(|| {
            command_line.fail(
                "E0902",
                format!("no kernel named `{name}` in {}", file.display()),
                name,
                "unknown kernel",
                format!("the file defines: {}", names()),
            )
        }),
        None => match kernels.len() {
            1 => Ok(&kernels[0]),
            0 => {
                let name = file.display().to_string();
                Err(command_line.fail(
                    "E0903",
                    format!("{name} defines no kernel"),
                    &name,
                    "this file",
                    "declare one with `kernel name(...) { ... }`".into(),
                ))
            }
            _ => {
                let name = file.display().to_string();
                Err(command_line.fail(
                    "E0904",
                    format!("{name} defines several kernels"),
                    &name,
                    "which kernel?",
                    format!("choose one with --kernel: {}", names()),
                ))
            }
        },
    }
}

fn split_assignment<'a>(
    command_line: &CommandLine,
    text: &'a str,
    flag: &str,
) -> Result<(&'a str, &'a str)> {
    text.split_once('=')
        .map(|(a, b)| (a.trim(), b.trim()))
        .ok_or_else(|| {
            command_line.fail(
                "E0905",
                format!("`{text}` is not of the form NAME=VALUE"),
                text,
                "expected NAME=VALUE",
                format!("write e.g. `{flag} n=4096`"),
            )
        })
}

/// Const values from `-D` for kernel `sig`.
fn parse_defines(
    command_line: &CommandLine,
    sig: &KernelSig,
    defines: &[String],
) -> Result<Vec<(String, Literal)>> {
    let mut consts = Vec::new();
    for define in defines {
        let (name, value) = split_assignment(command_line, define, "-D")?;
        let Some(param) = sig.params.iter().find(|p| p.name == name) else {
            let available: Vec<String> = sig
                .params
                .iter()
                .filter(|p| matches!(p.kind, KernelParamKind::Const { .. }))
                .map(|p| format!("`{}`", p.name))
                .collect();
            return Err(command_line.fail(
                "E0906",
                format!("kernel `{}` has no const `{name}`", sig.name),
                name,
                "unknown const",
                if available.is_empty() {
                    "this kernel has no consts".into()
                } else {
                    format!("its consts are {}", available.join(", "))
                },
            ));
        };
        let KernelParamKind::Const { ty, .. } = param.kind else {
            return Err(command_line.fail(
                "E0906",
                format!("`{name}` is a runtime parameter, not a const"),
                name,
                "not a const",
                format!("set it with `--arg {name}={value}`"),
            ));
        };
        let literal = driver::parse_literal(value, ty).map_err(|e| {
            command_line.fail(
                "E0907",
                format!("bad value for const `{name}`: {e}"),
                value,
                "here",
                format!("`{name}` is a {ty}"),
            )
        })?;
        consts.push((name.to_string(), literal));
    }
    Ok(consts)
}

fn check(command_line: &CommandLine, file: &Path, defines: &[String]) -> Result<()> {
    let program = load_program(command_line, file)?;
    if !defines.is_empty() {
        for sig in &program.checked.kernels {
            let consts: Vec<(String, Literal)> = parse_defines(command_line, sig, defines)?;
            driver::lower(&program, &sig.name, &consts)
                .map_err(|d| program_errors(&d, &program.sources))?;
        }
    }
    eprintln!(
        "{}: ok ({} kernel{})",
        file.display(),
        program.checked.kernels.len(),
        if program.checked.kernels.len() == 1 {
            ""
        } else {
            "s"
        }
    );
    Ok(())
}

fn build(
    command_line: &CommandLine,
    file: &Path,
    kernel: Option<&str>,
    output: Option<&Path>,
    emit: Emit,
    defines: &[String],
    unchecked: bool,
) -> Result<()> {
    let program = load_program(command_line, file)?;
    let sig = choose_kernel(command_line, &program, kernel, file)?;
    let consts = parse_defines(command_line, sig, defines)?;
    let lowered = driver::lower(&program, &sig.name, &consts)
        .map_err(|d| program_errors(&d, &program.sources))?;
    let text = match emit {
        Emit::Ir => Some(ir::print::print(&lowered)),
        _ => None,
    };
    let (bytes, text) = match text {
        Some(text) => (None, Some(text)),
        None => {
            let target = tk::abi::Target::portable();
            let (scheduled, artifact) = driver::compile(lowered, &target, !unchecked)
                .map_err(|d| program_errors(&d.into(), &program.sources))?;
            match emit {
                Emit::IrScheduled => (None, Some(ir::print::print(&scheduled))),
                Emit::Spvasm => {
                    use rspirv::binary::Disassemble;
                    let module = rspirv::dr::load_words(&artifact.words).map_err(|e| Fail {
                        code: 101,
                        text: format!("error[ICE]: internal compiler error: emitted SPIR-V does not load: {e}\n"),
                    })?;
                    (None, Some(module.disassemble()))
                }
                _ => (
                    Some(
                        artifact
                            .words
                            .iter()
                            .flat_map(|w| w.to_le_bytes())
                            .collect::<Vec<u8>>(),
                    ),
                    None,
                ),
            }
        }
    };
    let write = |path: &Path, data: &[u8]| {
        std::fs::write(path, data).map_err(|e| {
            let name = path.display().to_string();
            command_line.fail(
                "E0901",
                format!("cannot write `{name}`: {e}"),
                &name,
                "this file",
                "check the directory exists and is writable".into(),
            )
        })
    };
    match (bytes, text, output) {
        (Some(bytes), _, Some(path)) => write(path, &bytes),
        (Some(bytes), _, None) => write(Path::new(&format!("{}.spv", sig.name)), &bytes),
        (None, Some(text), Some(path)) => write(path, text.as_bytes()),
        (None, Some(text), None) => {
            print!("{text}");
            Ok(())
        }
        (None, None, _) => Ok(()),
    }
}

/// Kernel arguments from `--arg`, in the IR's parameter order.
fn parse_args(
    command_line: &CommandLine,
    kernel: &ir::Kernel,
    sig: &KernelSig,
    specs: &[String],
) -> Result<Vec<KernelArg>> {
    let mut args: Vec<Option<KernelArg>> = vec![None; kernel.params.len()];
    for spec in specs {
        let (name, value) = split_assignment(command_line, spec, "--arg")?;
        let Some(index) = kernel.params.iter().position(|p| p.name == name) else {
            let is_const = sig
                .params
                .iter()
                .any(|p| p.name == name && matches!(p.kind, KernelParamKind::Const { .. }));
            let help = if is_const {
                format!("`{name}` is a const: set it with `-D {name}={value}`")
            } else {
                let names: Vec<String> = kernel
                    .params
                    .iter()
                    .map(|p| format!("`{}`", p.name))
                    .collect();
                format!("the kernel's parameters are {}", names.join(", "))
            };
            return Err(command_line.fail(
                "E0908",
                format!("kernel `{}` has no parameter `{name}`", kernel.name,),
                name,
                "unknown parameter",
                help,
            ));
        };
        if args[index].is_some() {
            return Err(command_line.fail(
                "E0908",
                format!("`{name}` is given twice"),
                spec,
                "second value",
                "give each parameter once".into(),
            ));
        }
        let arg = match kernel.params[index].kind {
            ParamKind::Scalar(ty) => {
                KernelArg::Scalar(driver::parse_literal(value, ty).map_err(|e| {
                    command_line.fail(
                        "E0907",
                        format!("bad value for `{name}`: {e}"),
                        value,
                        "here",
                        format!("`{name}` is a {ty}"),
                    )
                })?)
            }
            ParamKind::Pointer { pointee, .. } => {
                KernelArg::Buffer(parse_buffer(command_line, name, value, pointee)?)
            }
        };
        args[index] = Some(arg);
    }
    let missing: Vec<&ir::Param> = kernel
        .params
        .iter()
        .zip(&args)
        .filter(|(_, a)| a.is_none())
        .map(|(p, _)| p)
        .collect();
    if !missing.is_empty() {
        let examples: Vec<String> = missing
            .iter()
            .map(|p| match p.kind {
                ParamKind::Scalar(_) => format!("--arg {}=4096", p.name),
                ParamKind::Pointer { .. } => format!("--arg {}=data.npy (or zeros:4096)", p.name),
            })
            .collect();
        let names: Vec<String> = missing.iter().map(|p| format!("`{}`", p.name)).collect();
        return Err(command_line.fail(
            "E0909",
            format!(
                "missing argument{} {} of kernel `{}`",
                if missing.len() > 1 { "s" } else { "" },
                names.join(", "),
                kernel.name
            ),
            "run",
            "",
            format!("add {}", examples.join(" ")),
        ));
    }
    Ok(args
        .into_iter()
        .map(|a| a.expect("checked above"))
        .collect())
}

fn parse_buffer(
    command_line: &CommandLine,
    name: &str,
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
    let buffer = tk::npy::read(Path::new(value)).map_err(|e| {
        command_line.fail(
            "E0911",
            e,
            value,
            "this file",
            "pass a .npy file saved with numpy.save, or zeros:N".into(),
        )
    })?;
    if buffer.elem != pointee {
        return Err(command_line.fail(
            "E0912",
            format!(
                "`{name}` is a *{pointee} but {value} holds {} ({})",
                buffer.elem,
                tk::npy::numpy_name(buffer.elem)
            ),
            value,
            "wrong dtype",
            format!(
                "convert it with a.astype(numpy.{}) before saving",
                tk::npy::numpy_name(pointee)
            ),
        ));
    }
    Ok(buffer)
}

/// Integer values of consts and scalar arguments, by name, for grid expressions.
fn grid_env(kernel: &ir::Kernel, args: &[KernelArg]) -> Vec<(String, i64)> {
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
fn eval_grid_expr(expr: &ast::Expr, env: &[(String, i64)]) -> std::result::Result<i64, String> {
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
        ExprKind::Unary { op: ast::UnaryOp::Neg, operand } => Ok(-eval_grid_expr(operand, env)?),
        ExprKind::Binary { op, lhs, rhs } => {
            let (a, b) = (eval_grid_expr(lhs, env)?, eval_grid_expr(rhs, env)?);
            let nonzero = || if b == 0 { Err("division by zero".to_string()) } else { Ok(b) };
            match op {
                BinaryOp::Add => Ok(a.wrapping_add(b)),
                BinaryOp::Sub => Ok(a.wrapping_sub(b)),
                BinaryOp::Mul => Ok(a.wrapping_mul(b)),
                BinaryOp::Div => Ok(a / nonzero()?),
                BinaryOp::Rem => Ok(a % nonzero()?),
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
                "cdiv" if b == 0 => Err("division by zero".into()),
                "cdiv" => Ok((a + b - 1) / b),
                "minimum" => Ok(a.min(b)),
                "maximum" => Ok(a.max(b)),
                other => Err(format!("`{other}` is not allowed in a grid (use cdiv, minimum, maximum)")),
            }
        }
        ExprKind::Error => Err("the expression does not parse".into()),
        _ => Err("only integers, parameters, consts, + - * / %, cdiv, minimum and maximum are allowed in a grid".into()),
    }
}

fn launch_grid(
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

fn run_error_interp(error: tk::interp::RunError) -> Fail {
    use tk::interp::RunError;
    match error {
        RunError::OutOfBounds { kernel, param, index, store, program } => device_failure(
            "E0951",
            format!(
                "kernel `{kernel}` {} `{param}` out of bounds at index {index} (program {program:?})",
                if store { "stored to" } else { "loaded from" }
            ),
            "mask the access (mask: offs < n) or pass a larger buffer; the access was dropped",
        ),
        RunError::AssertFailed { kernel, message, program } => {
            device_failure("E0952", format!("device_assert failed in kernel `{kernel}` (program {program:?}): {message}"), "the assertion's condition was false")
        }
        RunError::BadArguments(message) => Fail { code: 2, text: format!("error[E0908]: {message}\n") },
        RunError::InvalidIr { kernel, message } => {
            Fail { code: 101, text: format!("error[ICE]: internal compiler error: invalid IR for kernel `{kernel}`: {message}\n") }
        }
    }
}

fn runtime_failure(error: RuntimeError) -> Fail {
    let (code, exit, help) = match &error {
        RuntimeError::OutOfBounds { .. } => (
            "E0951",
            3,
            "mask the access (mask: offs < n) or pass a larger buffer; the access was dropped",
        ),
        RuntimeError::MissingFeature { .. } => (
            "E0953",
            3,
            "run on a device with the feature, or use --device interp",
        ),
        RuntimeError::LimitExceeded { .. } => (
            "E0954",
            3,
            "use smaller tiles or fewer threads, or a larger device",
        ),
        RuntimeError::BadDeviceIndex { .. } => ("E0955", 2, "list the devices with `tkc devices`"),
        RuntimeError::NoVulkan { .. } | RuntimeError::NoDevice { .. } => (
            "E0956",
            3,
            "install a Vulkan driver (e.g. mesa-vulkan-drivers) or use --device interp",
        ),
        RuntimeError::BadArguments { .. } => (
            "E0908",
            2,
            "check the --arg values against the kernel's parameters",
        ),
        _ => ("E0950", 3, "the Vulkan driver reported a failure"),
    };
    let mut fail = device_failure(code, error.to_string(), help);
    fail.code = exit;
    fail
}

fn run(
    command_line: &CommandLine,
    launch: &LaunchArgs,
    bench_iterations: Option<u32>,
) -> Result<()> {
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
    let mut args = parse_args(command_line, &lowered.kernel, sig, &launch.args)?;
    let mut outs: Vec<(usize, PathBuf)> = Vec::new();
    for spec in &launch.outs {
        let (name, path) = split_assignment(command_line, spec, "--out")?;
        match lowered.kernel.params.iter().position(|p| p.name == name) {
            Some(i) if matches!(lowered.kernel.params[i].kind, ParamKind::Pointer { .. }) => {
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
            Err(RuntimeError::NoVulkan { .. } | RuntimeError::NoDevice { .. })
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
            tk::interp::run(&lowered, &mut args, grid).map_err(run_error_interp)?;
        }
        Some(device) => {
            let target = device.target();
            let (_, artifact) = driver::compile(lowered, &target, !launch.unchecked)
                .map_err(|d| program_errors(&d.into(), &program.sources))?;
            let pipeline = device.load(&artifact).map_err(runtime_failure)?;
            match bench_iterations {
                None => {
                    device
                        .launch(&pipeline, &mut args, grid)
                        .map_err(runtime_failure)?;
                }
                Some(iterations) => {
                    return bench(
                        &device,
                        &pipeline,
                        &mut args,
                        grid,
                        iterations,
                        &sig.name,
                        launch.unchecked,
                    )
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
    for (i, (param, arg)) in program_params(&args, sig).enumerate() {
        let saved = outs.iter().any(|(index, _)| *index == i);
        if let (false, Some(name), KernelArg::Buffer(buffer)) = (saved, param, arg) {
            println!("{name}: {}", preview(buffer));
        }
    }
    Ok(())
}

/// Mutable pointer parameters' names paired with the arguments (others give `None`).
fn program_params<'a>(
    args: &'a [KernelArg],
    sig: &'a KernelSig,
) -> impl Iterator<Item = (Option<&'a str>, &'a KernelArg)> {
    let mutable: Vec<&str> = sig
        .params
        .iter()
        .filter_map(|p| match p.kind {
            KernelParamKind::Runtime(ParamKind::Pointer { mutable: true, .. }) => {
                Some(p.name.as_str())
            }
            _ => None,
        })
        .collect();
    let runtime: Vec<&str> = sig
        .params
        .iter()
        .filter(|p| matches!(p.kind, KernelParamKind::Runtime(_)))
        .map(|p| p.name.as_str())
        .collect();
    args.iter()
        .enumerate()
        .map(move |(i, arg)| (runtime.get(i).copied().filter(|n| mutable.contains(n)), arg))
}

/// A short numpy-like rendering of a buffer: `f32[4096] [0, 1, 2, …, 4095]`.
fn preview(buffer: &HostBuffer) -> String {
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

fn element_text(buffer: &HostBuffer, i: usize) -> String {
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

fn bench(
    device: &Device,
    pipeline: &runtime::Pipeline,
    args: &mut [KernelArg],
    grid: [u32; 3],
    iterations: u32,
    kernel: &str,
    unchecked: bool,
) -> Result<()> {
    let bytes: u64 = args
        .iter()
        .map(|a| {
            if let KernelArg::Buffer(b) = a {
                b.data.len() as u64
            } else {
                0
            }
        })
        .sum();
    let timing = device
        .bench(pipeline, args, grid, 3, iterations.max(1))
        .map_err(runtime_failure)?;
    // The copy moves `bytes / 2` one way, so it reads and writes `bytes` in all, like the kernel.
    let copy = device
        .copy_bandwidth((bytes / 2).max(4), iterations.max(1))
        .map_err(runtime_failure)?;
    let kernel_gbps = bytes as f64 / timing.median_ns;
    let copy_gbps = bytes as f64 / copy.median_ns;
    println!("device:          {}", device.info().name);
    println!(
        "kernel:          {kernel} ({}, grid {:?})",
        if unchecked { "unchecked" } else { "safe mode" },
        grid
    );
    println!(
        "kernel time:     {:.3} ms (median of {iterations})",
        timing.median_ns / 1e6
    );
    println!("bytes moved:     {bytes} (every buffer once)");
    println!("kernel:          {kernel_gbps:.2} GB/s");
    println!("copy (same run): {copy_gbps:.2} GB/s (vkCmdCopyBuffer, read + write)");
    println!(
        "ratio:           {:.2} of copy bandwidth",
        kernel_gbps / copy_gbps
    );
    Ok(())
}

fn devices() -> Result<()> {
    match runtime::list_devices() {
        Ok(devices) => {
            for info in devices {
                println!(
                    "{}: {} ({:?}, Vulkan {}.{}.{}, subgroup size {})",
                    info.index,
                    info.name,
                    info.kind,
                    info.api_version.0,
                    info.api_version.1,
                    info.api_version.2,
                    info.subgroup_size
                );
            }
            Ok(())
        }
        Err(error) => Err(runtime_failure(error)),
    }
}
