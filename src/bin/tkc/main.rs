//! `tkc`: the command line over the tk library — check, build, run and bench kernels.
//! Exit codes (docs/language.md §10): 0 success; 1 the program has errors; 2 bad command line or input
//! files; 3 the device failed or a safety check stopped the kernel; 101 internal compiler error.
mod bench;
mod compile;
mod devices;
mod explain;
mod fmt;
mod lsp;
mod report;
mod run;
mod tune;

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

use bench::*;
use compile::*;
use devices::*;
use explain::*;
use fmt::*;
use lsp::*;
use report::*;
use run::*;
use tune::*;

#[derive(Parser)]
#[command(
    name = "tkc",
    version,
    about = "The tk kernel compiler: check, build, run and benchmark .tk kernels",
    after_help = "Examples:
  tkc check examples/vector_add.tk
  tkc run examples/vector_add.tk --arg x=examples/data/x.npy --arg y=examples/data/y.npy \\
      --arg out=zeros:4096 --arg n=4096 --out out=out.npy
  tkc build examples/softmax.tk --emit ir -D BLOCK=256
  tkc fmt --check examples/*.tk
  tkc explain E0301
  tkc check k.tk --error-format json

Exit codes: 0 success, 1 the program has errors, 2 bad command line or input files,
3 the device failed or a safety check stopped the kernel, 101 internal compiler error."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
    /// How to write diagnostics: `human` (source snippets), `short` (one line each) or `json`
    /// (one object per line).
    #[arg(long, global = true, value_enum, default_value_t = ErrorFormat::Human)]
    pub(crate) error_format: ErrorFormat,
    /// Colour the output: `auto` (a terminal without NO_COLOR), `always` or `never`.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub(crate) color: ColorChoice,
}

#[derive(Subcommand)]
pub(crate) enum Command {
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
        /// The device the code is scheduled for: `portable` (any Vulkan 1.1 device), `cpu`
        /// (lavapipe-like: one subgroup of 8 per workgroup, vector views) or `gpu`.
        #[arg(long, value_enum, default_value_t = BuildTarget::Portable)]
        target: BuildTarget,
        /// Compile `dot`s of f16 operands for cooperative matrices of this tile (`MxNxK`, e.g.
        /// `16x16x16`: f16 A and B, f32 accumulator, subgroup scope), as a device offering
        /// `VK_KHR_cooperative_matrix` would get them. Needs `--target gpu` or `cpu`.
        #[arg(long, value_name = "MxNxK")]
        cooperative_matrix: Option<String>,
        /// Compile as for launches whose integer arguments and buffer lengths are all
        /// divisible by N (2, 4, 8 or 16), as `tkc run` specialises each launch for its
        /// arguments: vector accesses then need no element-by-element path.
        #[arg(long, value_name = "N")]
        divisible: Option<u64>,
    },
    /// Run a kernel on a Vulkan device or the reference interpreter.
    Run(LaunchArgs),
    /// Time a kernel on a Vulkan device against the device's own copy bandwidth, measured the
    /// same way (the faster of vkCmdCopyBuffer and a copy shader, device-local, warmed up).
    Bench {
        #[command(flatten)]
        launch: LaunchArgs,
        /// Timed dispatches (after 3 warm-up ones), for the kernel and each copy alike.
        #[arg(long, visible_alias = "reps", default_value_t = 20)]
        iterations: u32,
        /// Print one JSON object (median_us, p20_us, p80_us, gbps, gflops, copy_gbps,
        /// copy_method, copy_buffer_gbps, copy_shader_gbps, ratio_to_copy, device).
        #[arg(long)]
        json: bool,
        /// Bytes one launch moves (default: every buffer once).
        #[arg(long)]
        bytes: Option<u64>,
        /// Floating-point operations one launch does (for GFLOP/s).
        #[arg(long)]
        flops: Option<u64>,
        /// Time the kernel at every power of two NAME from A to B: `--sweep N=1024..16777216`
        /// replaces the word N in every --arg, -D and --grid value.
        #[arg(long, value_name = "NAME=A..B")]
        sweep: Option<String>,
        /// With --sweep: draw throughput against NAME as an SVG line chart.
        #[arg(long, value_name = "PATH.svg", requires = "sweep")]
        plot: Option<PathBuf>,
    },
    /// Benchmark every `#[autotune]` config of a kernel now, or search the schedules of a
    /// kernel without configs (tile consts and knobs, ranked by a cost model, the best few timed);
    /// save the fastest, print the table.
    Tune {
        #[command(flatten)]
        launch: LaunchArgs,
        /// Timed dispatches per config (default: 10 for `#[autotune]`, 5 for a search).
        #[arg(long)]
        iterations: Option<u32>,
        /// Search even when the kernel has `#[autotune]` configs.
        #[arg(long)]
        search: bool,
        /// Seconds the search may spend timing candidates (device compiles included; at least
        /// one is timed).
        #[arg(long, default_value_t = 40.0)]
        budget: f64,
        /// At most this many candidates of a search are timed.
        #[arg(long, default_value_t = 6)]
        max_timed: usize,
    },
    /// List the Vulkan devices.
    Devices,
    /// Format .tk files in place (one canonical layout; comments are kept).
    Fmt {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Change nothing; list the files that would change and exit with 1 if any.
        #[arg(long)]
        check: bool,
    },
    /// Run the language server on stdin/stdout (for editors).
    Lsp,
    /// Explain a diagnostic code with a wrong and a fixed example (no code: list them all).
    Explain { code: Option<String> },
    /// Print a shell completion script: `tkc completions bash > /etc/bash_completion.d/tkc`.
    Completions { shell: clap_complete::Shell },
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum BuildTarget {
    Portable,
    Cpu,
    Gpu,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Emit {
    Spirv,
    Spvasm,
    Ir,
    /// The IR after scheduling (layouts).
    IrScheduled,
    /// WebGPU shading language, translated from the SPIR-V by naga.
    Wgsl,
    /// Metal shading language, translated by naga.
    Msl,
    /// HLSL (shader model 6.0), translated by naga.
    Hlsl,
}

#[derive(clap::Args, Clone)]
pub(crate) struct LaunchArgs {
    pub(crate) file: PathBuf,
    #[arg(long)]
    pub(crate) kernel: Option<String>,
    /// The launch grid, e.g. `--grid 'cdiv(n, BLOCK)'` or `--grid 64,8`.
    #[arg(long)]
    pub(crate) grid: Option<String>,
    #[arg(short = 'D', value_name = "CONST=VALUE")]
    pub(crate) defines: Vec<String>,
    /// `--arg x=data.npy`, `--arg out=zeros:4096`, `--arg out=zeros:64x64`, `--arg n=4096`.
    #[arg(long = "arg", value_name = "PARAM=VALUE")]
    pub(crate) args: Vec<String>,
    /// Write a pointer's buffer after the run: `--out out=result.npy`.
    #[arg(long = "out", value_name = "PARAM=PATH")]
    pub(crate) outs: Vec<String>,
    /// `auto` (default), `interp`, or a device index from `tkc devices`.
    #[arg(long, default_value = "auto")]
    pub(crate) device: String,
    /// Leave out the bounds checks of safe mode.
    #[arg(long)]
    pub(crate) unchecked: bool,
    /// Compile afresh and tune afresh: bypass the kernel, pipeline and autotuning caches.
    #[arg(long)]
    pub(crate) no_cache: bool,
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        // `tkc build --emit ir | head`: the reader closed the pipe. Nothing is wrong with tk;
        // stop quietly, as a command killed by SIGPIPE would.
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
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
    set_output(cli.error_format, cli.color);
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
            target,
            cooperative_matrix,
            divisible,
        } => build(
            &command_line,
            &file,
            kernel.as_deref(),
            output.as_deref(),
            emit,
            &defines,
            unchecked,
            target,
            cooperative_matrix.as_deref(),
            divisible,
        ),
        Command::Run(launch) => run(&command_line, &launch, None).map(|_| ()),
        Command::Bench {
            launch,
            iterations,
            json,
            bytes,
            flops,
            sweep,
            plot,
        } => {
            let options = BenchOptions {
                iterations,
                json,
                bytes,
                flops,
            };
            match sweep {
                Some(spec) => bench_sweep(&command_line, &launch, options, &spec, plot.as_deref()),
                None => {
                    if let Some(m) = run(&command_line, &launch, Some(options))? {
                        if json {
                            println!("{}", m.json(None));
                        } else {
                            m.print();
                        }
                    }
                    Ok(())
                }
            }
        }
        Command::Tune {
            launch,
            iterations,
            search,
            budget,
            max_timed,
        } => tune_command(
            &command_line,
            &launch,
            &TuneArgs {
                search,
                budget,
                max_timed,
                iterations,
            },
        ),
        Command::Devices => devices(),
        Command::Fmt { files, check } => fmt(&files, check),
        Command::Lsp => lsp(),
        Command::Explain { code } => explain(code.as_deref()),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "tkc", &mut std::io::stdout());
            Ok(())
        }
    }
}
