//! The `overfit` command line: parse, call the library, print, exit.
//! Exit codes: 0 ok; 1 a claim failed (check); 2 bad input; 3 numerical failure.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use overfit::bench::{self, Device, TwoLayerBench, WideBench};
use overfit::memory::{self, Peak};
use overfit::nets::two_layer::EngineKind;
use overfit::record::Summary;
use overfit::report::{self, Format, Totals};
use overfit::runner::{self, Outcome, RunContext, Shard};
use overfit::Error;

#[derive(Parser)]
#[command(
    name = "overfit",
    version,
    about = "Theorems on overfitting, checked against simulation"
)]
struct Cli {
    /// Say on stderr which CPU and BLAS core this run uses, and why.
    #[arg(long, global = true)]
    verbose: bool,
    /// run and bench: the most memory the run may need by its estimate
    /// (e.g. 8G, 512M; default: the memory available now). Above it, exit 2.
    #[arg(long, global = true, value_parser = overfit::memory::parse_size)]
    max_memory: Option<u64>,
    #[command(subcommand)]
    command: Command,
}

// `overfit run`'s arguments (a plain comment: a doc comment would replace
// the subcommand's help line).
#[derive(Args)]
struct RunArgs {
    spec: PathBuf,
    /// Output directory (default results/<spec name>/, results/<spec name>-quick/ with --quick).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Apply the spec's [quick] overrides (a small version for tests).
    #[arg(long)]
    quick: bool,
    /// Worker threads (default: all cores).
    #[arg(long, value_parser = parse_threads)]
    threads: Option<usize>,
    /// Override the number of runs (seeds) of every configuration.
    #[arg(long, value_parser = parse_seeds)]
    seeds: Option<usize>,
    /// Override the spec's master seed (a replicate with fresh draws; default
    /// output directory results/<spec name>-seed<S>/).
    #[arg(long, value_parser = parse_seed)]
    seed: Option<u64>,
    /// Continue an interrupted run in DIR from its finished runs.
    #[arg(long)]
    resume: bool,
    /// Run only shard I of N (`I/N`), or take I and N from a SLURM array 0..N-1
    /// (`slurm`), or I from SLURM and N as given (`slurm/N`).
    #[arg(long)]
    shard: Option<String>,
    /// CIFAR-10 binary folder for CIFAR specs (overrides the spec's data.dir).
    #[arg(long)]
    data: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run an experiment spec; writes DIR/{spec.toml, metrics.csv, summary.json, figures/}.
    Run(RunArgs),
    /// Join the output directories of `run --shard` into one finished run.
    Merge {
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        #[arg(long)]
        out: PathBuf,
        /// Worker threads for the final figures and claims.
        #[arg(long, value_parser = parse_threads)]
        threads: Option<usize>,
    },
    /// Print the claims table of a finished run and its totals (claims,
    /// hypotheses and checks apart); exit 1 if any row fails, 0 otherwise.
    Check {
        dir: PathBuf,
        #[arg(long, value_enum, default_value = "text")]
        format: FormatArg,
        /// Also exit 1 when any row is inconclusive.
        #[arg(long)]
        strict: bool,
    },
    /// The wall times of every run under DIR (from their summary.json), as a
    /// Markdown table: what the README's study-time table is generated from.
    Times {
        #[arg(default_value = "figures")]
        dir: PathBuf,
    },
    /// Redraw the figures of a finished run from its recorded metrics.
    Plot { dir: PathBuf },
    /// Recompute a finished run's claims by this version's rules from its
    /// recorded outputs (nothing retrained), rewrite its summary.json with
    /// them and a `rejudged` entry, and print what changed (verdicts,
    /// kinds, predictions, measurements, statements).
    Rejudge { dir: PathBuf },
    /// List the specs in experiments/.
    List {
        #[arg(long, default_value = "experiments")]
        dir: PathBuf,
        /// text: a line each; markdown: a table with each spec's committed
        /// run time (RUNS/<name>/summary.json), the README's spec table.
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
        /// Where the committed runs are (markdown).
        #[arg(long, default_value = "figures")]
        runs: PathBuf,
    },
    /// Time one engine on a synthetic problem; prints key=value pairs.
    Bench {
        #[command(subcommand)]
        engine: BenchEngine,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Text,
    Markdown,
    Json,
    Latex,
}

#[derive(Clone, Copy, ValueEnum)]
enum ListFormat {
    Text,
    Markdown,
}

#[derive(Clone, Copy, ValueEnum)]
enum EngineArg {
    Primal,
    Dual,
}

#[derive(Clone, Copy, ValueEnum)]
enum DeviceArg {
    Cpu,
    Cuda,
    Auto,
}

impl From<DeviceArg> for Device {
    fn from(d: DeviceArg) -> Device {
        match d {
            DeviceArg::Cpu => Device::Cpu,
            DeviceArg::Cuda => Device::Cuda,
            DeviceArg::Auto => Device::Auto,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Dtype {
    F64,
    F32,
}

#[derive(Subcommand)]
enum BenchEngine {
    /// Full-batch GD steps of the two-layer ReLU net (logistic loss).
    TwoLayer {
        #[arg(long, default_value_t = 40000)]
        p: usize,
        #[arg(long, default_value_t = 200)]
        n: usize,
        #[arg(long, default_value_t = 1000)]
        m: usize,
        #[arg(long, value_enum, default_value = "dual")]
        engine: EngineArg,
        #[arg(long, value_enum, default_value = "f64")]
        dtype: Dtype,
        #[arg(long, default_value_t = 20)]
        steps: usize,
        #[arg(long, value_parser = parse_threads)]
        threads: Option<usize>,
        /// Also time the PyTorch peer (benches/peers/two_layer_step.py) and print the speed-up.
        #[arg(long)]
        peer: bool,
    },
    /// Full-batch GD steps of the wide path (m neurons, n points in R^d, square loss).
    Wide {
        #[arg(long, default_value_t = 200000)]
        m: usize,
        #[arg(long, default_value_t = 3)]
        n: usize,
        #[arg(long, default_value_t = 2)]
        d: usize,
        #[arg(long, default_value_t = 1000)]
        steps: usize,
        #[arg(long, value_parser = parse_threads)]
        threads: Option<usize>,
    },
    /// Every benchmark of the README's performance table, repeated, with the
    /// PyTorch peers (`--peer`); prints the table (the raw lines go to stderr).
    All {
        #[arg(long, value_parser = parse_threads)]
        threads: Option<usize>,
        /// Repetitions of every benchmark and of its peer.
        #[arg(long, default_value_t = 3)]
        reps: usize,
        /// Also time the PyTorch peers (python3 with torch, or OVERFIT_PYTHON).
        #[arg(long)]
        peer: bool,
        /// CIFAR-10 binary folder for the CNN rows (random pixels when absent).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Small sizes that run in seconds (for tests; not a measurement).
        #[arg(long)]
        quick: bool,
        /// Also write the table to this file (atomically), e.g. benches/results/perf.md,
        /// and the raw bench and peer lines beside it (perf.lines.txt).
        #[arg(long)]
        out: Option<PathBuf>,
        /// cpu: the README's CPU table; cuda: the CNN rows on the GPU, against
        /// PyTorch on the same GPU (a --features cuda build).
        #[arg(long, value_enum, default_value = "cpu")]
        device: DeviceArg,
    },
    /// Mini-batch SGD of the course CNN (k, h1, h2) on CIFAR images; prints images_per_s.
    Cnn {
        /// k,h1,h2 of the course CNN.
        #[arg(long, default_value = "16,150,80")]
        arch: String,
        #[arg(long, default_value_t = 4)]
        batch: usize,
        #[arg(long, default_value_t = 4000)]
        images: usize,
        /// CIFAR-10 binary folder (random pixels when absent).
        #[arg(long)]
        data: Option<PathBuf>,
        #[arg(long, default_value_t = 1)]
        epochs: usize,
        #[arg(long, value_parser = parse_threads)]
        threads: Option<usize>,
        /// cpu, cuda (needs a build with --features cuda and a GPU) or auto (the GPU if present).
        #[arg(long, value_enum, default_value = "cpu")]
        device: DeviceArg,
        /// Also time the PyTorch peer (benches/peers/cnn_train.py) on the same
        /// images, batch and threads, and print the speed-up.
        #[arg(long)]
        peer: bool,
    },
}

/// The most worker threads any command takes: far above any machine's
/// cores, far below what exhausts memory for thread stacks.
const MAX_THREADS: usize = 1024;

/// `--threads N`: 1 <= N <= MAX_THREADS, checked before anything starts.
fn parse_threads(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_THREADS).contains(&n) => Ok(n),
        Ok(_) => Err(format!("need 1 to {MAX_THREADS}")),
        Err(_) => Err("not a whole number".to_string()),
    }
}

/// The largest value a spec holds: a TOML integer is an i64.
const MAX_SPEC_INTEGER: u64 = i64::MAX as u64;

fn parse_seeds(text: &str) -> Result<usize, String> {
    match text.trim().parse::<u64>() {
        Ok(n) if (1..=MAX_SPEC_INTEGER).contains(&n) => {
            usize::try_from(n).map_err(|_| format!("need 1 to {}", usize::MAX))
        }
        Ok(_) => Err(format!("need 1 to {MAX_SPEC_INTEGER}")),
        Err(_) => Err("not a whole number".to_string()),
    }
}

fn parse_seed(text: &str) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(s) if s <= MAX_SPEC_INTEGER => Ok(s),
        Ok(_) => Err(format!("need 0 to {MAX_SPEC_INTEGER} (a spec's integer)")),
        Err(_) => Err("not a whole number".to_string()),
    }
}

fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn main() -> ExitCode {
    // Output piped into a reader that stops early (`overfit list | head`)
    // ends the process quietly, as it does other Unix tools, instead of a
    // panic in `println!` (the Rust runtime ignores SIGPIPE).
    #[cfg(unix)]
    // SAFETY: sets the default disposition of one signal, before any
    // thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // A better OpenBLAS core than the one it picked needs a fresh process
    // (it reads OPENBLAS_CORETYPE at load time): this call re-executes the
    // program once when that is due, before anything else has happened.
    overfit::blas::reexec_with_best_core();
    // Linux pins OpenBLAS to one thread at load time; this covers the rest.
    overfit::blas::pin_one_thread();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version print in full; argument errors get the contract's one line.
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            eprintln!(
                "error: {} (see overfit --help)",
                overfit::error::one_line(&one_line_clap_error(&e))
            );
            return ExitCode::from(2);
        }
    };
    if let Err(e) = overfit::nets::isa::Isa::from_env() {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    if cli.verbose {
        eprintln!("{}", overfit::blas::describe());
    }
    match dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {}", overfit::error::one_line(&e.to_string()));
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// A clap error as one line: its first line, with what follows a trailing
/// colon (clap lists the missing arguments on the next lines) folded in.
fn one_line_clap_error(e: &clap::Error) -> String {
    let text = e.to_string();
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more"));
    let first = lines
        .next()
        .unwrap_or("bad arguments")
        .trim_start_matches("error: ")
        .to_string();
    if first.ends_with(':') {
        let rest: Vec<&str> = lines.collect();
        format!("{first} {}", rest.join(", "))
    } else {
        first
    }
}

/// Refuse a bench whose estimated peak memory is above the limit (`overfit::memory`).
fn check_bench_memory(bench: &str, peak: &Peak, max_memory: Option<u64>) -> Result<(), Error> {
    memory::check(peak, memory::limit(max_memory), |flag, msg| {
        Error::bad(format!("bench {bench} {flag}: {msg}"))
    })
}

fn dispatch(cli: Cli) -> Result<u8, Error> {
    let max_memory = cli.max_memory;
    match cli.command {
        Command::Run(args) => run(args, max_memory),
        Command::Merge { dirs, out, threads } => {
            let ctx = RunContext::new(&out, threads.unwrap_or_else(default_threads));
            let summary = runner::merge(&dirs, &ctx)?;
            print!("{}", report::table(&summary, Format::Text));
            println!("merged {} shards into {}", dirs.len(), out.display());
            Ok(0)
        }
        Command::Times { dir } => {
            print!("{}", overfit::report::wall_times(&dir)?);
            Ok(0)
        }
        Command::Check {
            dir,
            format,
            strict,
        } => {
            let summary = Summary::read(&dir)?;
            if summary.claims.is_empty() {
                return Err(Error::bad(format!(
                    "{}: no claims to check",
                    dir.join("summary.json").display()
                )));
            }
            let format = match format {
                FormatArg::Text => Format::Text,
                FormatArg::Markdown => Format::Markdown,
                FormatArg::Json => Format::Json,
                FormatArg::Latex => Format::Latex,
            };
            print!("{}", report::table(&summary, format));
            Ok(Totals::of(&summary.claims).exit_code(strict))
        }
        Command::Rejudge { dir } => {
            let entry = runner::rejudge(&dir)?;
            for change in &entry.changes {
                println!("{change}");
            }
            println!(
                "rejudged {}: {} row change(s)",
                dir.join("summary.json").display(),
                entry.row_changes()
            );
            Ok(0)
        }
        Command::Plot { dir } => {
            runner::plot(&dir)?;
            println!("redrew {}", dir.join("figures").display());
            Ok(0)
        }
        Command::List { dir, format, runs } => {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
                .map_err(|e| Error::bad(format!("{}: {e}", dir.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            entries.sort();
            let loaded = entries.into_iter().map(|p| {
                let s = overfit::spec::load(&p, false);
                (p, s)
            });
            match format {
                ListFormat::Text => {
                    for (p, s) in loaded {
                        match s {
                            Ok(s) => println!(
                                "{:<40} {:<14} {}",
                                p.display(),
                                s.header.study,
                                s.header.description
                            ),
                            Err(e) => println!("{:<40} (unreadable: {e})", p.display()),
                        }
                    }
                }
                ListFormat::Markdown => {
                    let specs = loaded
                        .map(|(p, s)| s.map(|s| (p, s.header)))
                        .collect::<Result<Vec<_>, Error>>()?;
                    print!("{}", report::spec_table(&specs, &runs)?);
                }
            }
            Ok(0)
        }
        Command::Bench { engine } => bench_command(engine, max_memory),
    }
}

/// `overfit run`: the output directory (default results/NAME[-quick][-shardIofN]), then the run.
fn run(args: RunArgs, max_memory: Option<u64>) -> Result<u8, Error> {
    let RunArgs {
        spec,
        out,
        quick,
        threads,
        seeds,
        seed,
        resume,
        shard,
        data,
    } = args;
    let shard = shard.as_deref().map(Shard::parse).transpose()?;
    let out = match out {
        Some(o) => o,
        None => {
            let loaded = overfit::spec::load(&spec, quick)?;
            // Nor a replicate of another seed, nor a quick run, on a full
            // run's directory.
            let mut base = loaded.header.name;
            if let Some(s) = seed {
                base.push_str(&format!("-seed{s}"));
            }
            if quick {
                base.push_str("-quick");
            }
            let name = match shard {
                Some(s) => format!("{base}-shard{}of{}", s.index, s.count),
                None => base,
            };
            PathBuf::from("results").join(name)
        }
    };
    let ctx = RunContext {
        seeds,
        seed,
        quick,
        resume,
        shard,
        data,
        max_memory,
        ..RunContext::new(&out, threads.unwrap_or_else(default_threads))
    };
    match runner::execute(&spec, &ctx)? {
        Outcome::Finished(summary) => {
            print!("{}", report::table(&summary, Format::Text));
            println!("wrote {} in {:.1} s", out.display(), summary.elapsed_s);
        }
        Outcome::ShardWritten(msg) => println!("{msg} (units in {})", out.display()),
    }
    Ok(0)
}

/// `overfit bench ENGINE`: one timing line, with the PyTorch peer's under `--peer`.
fn bench_command(engine: BenchEngine, max_memory: Option<u64>) -> Result<u8, Error> {
    match engine {
        BenchEngine::TwoLayer {
            p,
            n,
            m,
            engine,
            dtype,
            steps,
            threads,
            peer,
        } => {
            if let Dtype::F32 = dtype {
                return Err(Error::bad("bench two-layer --dtype f32: the two-layer engine is f64 only (theory runs use f64)"));
            }
            let engine = match engine {
                EngineArg::Primal => EngineKind::Primal,
                EngineArg::Dual => EngineKind::Dual,
            };
            let threads = threads.unwrap_or_else(default_threads);
            let b = TwoLayerBench {
                p,
                n,
                m,
                engine,
                steps,
                threads,
            };
            check_bench_memory("two-layer", &b.peak_memory(), max_memory)?;
            let line = bench::two_layer(&b)?;
            println!("{line}");
            if peer {
                let ours = bench::value_of(&line, "s_per_step");
                let (peer_line, theirs) =
                    bench::peer("two_layer_step.py", &b.peer_args(), "s_per_step")?;
                println!("{peer_line}");
                // PyTorch has no dual step: the dual engine is timed against its primal one.
                let key = match engine {
                    EngineKind::Dual => "speedup_vs_pytorch_primal",
                    _ => "speedup_vs_pytorch",
                };
                println!("{key}={}", bench::peak::truncated(theirs / ours, 2));
            }
            Ok(0)
        }
        BenchEngine::All {
            threads,
            reps,
            peer,
            data,
            quick,
            out,
            device,
        } => {
            if reps == 0 {
                return Err(Error::bad("bench all --reps: need at least 1"));
            }
            let opts = bench::suite::SuiteOptions {
                threads: threads.unwrap_or_else(default_threads),
                reps,
                peer,
                data,
                quick,
                // auto: the GPU table when a GPU opens, else the CPU's.
                device: match Device::from(device) {
                    Device::Auto => Device::Auto.choose().map_or(Device::Cpu, |d| d.device()),
                    asked => asked,
                },
            };
            let mut raw = String::new();
            let table = bench::suite::run(&opts, |line| {
                eprintln!("{line}");
                raw.push_str(line);
                raw.push('\n');
            })?;
            print!("{table}");
            if let Some(path) = out {
                // The raw lines beside the table (perf.md -> perf.lines.txt):
                // every field behind its cells, the peers' lines included.
                overfit::fsio::write_atomic(&path.with_extension("lines.txt"), raw.as_bytes())?;
                overfit::fsio::write_atomic(&path, table.as_bytes())?;
            }
            Ok(0)
        }
        BenchEngine::Wide {
            m,
            n,
            d,
            steps,
            threads,
        } => {
            let b = WideBench {
                m,
                n,
                d,
                steps,
                threads: threads.unwrap_or_else(default_threads),
            };
            check_bench_memory("wide", &b.peak_memory(), max_memory)?;
            let line = bench::wide(&b)?;
            println!("{line}");
            Ok(0)
        }
        BenchEngine::Cnn {
            arch,
            batch,
            images,
            data,
            epochs,
            threads,
            device,
            peer,
        } => {
            let parts: Vec<usize> = arch
                .split(',')
                .map(|v| v.trim().parse::<usize>())
                .collect::<Result<_, _>>()
                .ok()
                .filter(|v: &Vec<usize>| v.len() == 3)
                .ok_or_else(|| {
                    Error::bad(format!(
                        "bench cnn --arch {arch:?}: expected k,h1,h2 (three whole numbers)"
                    ))
                })?;
            let threads = threads.unwrap_or_else(default_threads);
            let b = bench::CnnBench {
                arch: (parts[0], parts[1], parts[2]),
                batch,
                images,
                data,
                threads,
                epochs,
                device: device.into(),
            };
            check_bench_memory("cnn", &b.peak_memory(), max_memory)?;
            let line = bench::cnn(&b)?;
            println!("{line}");
            if peer {
                let (peer_line, theirs) =
                    bench::peer("cnn_train.py", &b.peer_args(&line), "images_per_s")?;
                println!("{peer_line}");
                println!(
                    "speedup_vs_pytorch={}",
                    bench::peak::truncated(bench::value_of(&line, "images_per_s") / theirs, 2)
                );
            }
            Ok(0)
        }
    }
}
