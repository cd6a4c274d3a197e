//! The `overfit` command line: parse, call the library, print, exit.
//! Exit codes: 0 ok; 1 a claim failed (check); 2 bad input; 3 numerical failure.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use overfit::record::Summary;
use overfit::report::{self, Format, Totals};
use overfit::runner::{self, Outcome, RunContext, Shard};
use overfit::Error;

// The `overfit bench` subcommand: its arguments and what it prints.
#[path = "cli/bench.rs"]
mod bench_cli;
use bench_cli::{bench_command, BenchEngine};

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
    #[command(subcommand)]
    command: Command,
}

/// `--max-memory`, for the commands that allocate a run (`run`, `bench`):
/// the others never read it, so they do not take it (review finding,
/// 2026-12-07: it was global, and `check --max-memory 1K` said nothing).
#[derive(Args, Clone, Copy)]
struct MemoryArg {
    /// The most memory the run may need by its estimate (e.g. 8G, 512M;
    /// default: the memory available now). Above it, exit 2 naming the key
    /// that drives the estimate.
    #[arg(long, global = true, value_parser = overfit::memory::parse_size)]
    max_memory: Option<u64>,
}

// `overfit run`'s arguments (a plain comment: a doc comment would replace
// the subcommand's help line).
#[derive(Args)]
struct RunArgs {
    /// The study's TOML spec (experiments/*.toml).
    spec: PathBuf,
    /// Output directory (default results/<spec name>/, results/<spec name>-quick/ with --quick).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Apply the spec's [quick] overrides (a small version for tests).
    #[arg(long)]
    quick: bool,
    /// Worker threads (default: every available CPU).
    #[arg(long, value_parser = parse_threads)]
    threads: Option<usize>,
    /// Override the number of runs (seeds) of every configuration (default:
    /// the spec's own run counts).
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
    #[command(flatten)]
    memory: MemoryArg,
}

#[derive(Subcommand)]
enum Command {
    /// Run an experiment spec; writes DIR/{spec.toml, metrics.csv, summary.json, figures/}.
    Run(RunArgs),
    /// Join the output directories of `run --shard` into one finished run.
    Merge {
        /// The shards' output directories, every shard of the run.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where the merged run is written.
        #[arg(long)]
        out: PathBuf,
        /// Worker threads for the final figures and claims.
        #[arg(long, value_parser = parse_threads)]
        threads: Option<usize>,
    },
    /// Print the claims table of a finished run and its totals (claims,
    /// hypotheses and checks apart); exit 1 if any row fails, 0 otherwise.
    Check {
        /// A finished run's output directory.
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
        /// The folder holding the runs, one subfolder each.
        #[arg(default_value = "figures")]
        dir: PathBuf,
    },
    /// Redraw the figures of a finished run from its recorded metrics.
    Plot {
        /// A finished run's output directory.
        dir: PathBuf,
    },
    /// Recompute a finished run's claims by this version's rules from its
    /// recorded outputs (nothing retrained), rewrite its summary.json with
    /// them and a `rejudged` entry, and print what changed (verdicts,
    /// kinds, predictions, measurements, statements).
    Rejudge {
        /// A finished run's output directory.
        dir: PathBuf,
    },
    /// List the specs in experiments/.
    List {
        /// The folder of specs.
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
        #[command(flatten)]
        memory: MemoryArg,
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
            let args: Vec<String> = std::env::args().collect();
            eprintln!(
                "error: {}",
                overfit::error::one_line(&one_line_clap_error(&e, &args))
            );
            return ExitCode::from(2);
        }
    };
    if let Err(e) = overfit::nets::isa::Isa::from_env() {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    if let Err(e) = overfit::blas::core_mode() {
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
/// colon (clap lists the missing arguments on the next lines) folded in,
/// clap's tips (`tip: a similar argument exists: '--quick'`) kept, and the
/// help of the (sub)command `args` name: `(see overfit run --help)`.
fn one_line_clap_error(e: &clap::Error, args: &[String]) -> String {
    let (command, at) = command_path(args);
    if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        // clap would print the whole help; the contract's line names the choices.
        let subcommands: Vec<&str> = at
            .get_subcommands()
            .map(|c| c.get_name())
            .filter(|n| *n != "help")
            .collect();
        return format!(
            "{command}: missing subcommand, one of {} (see {command} --help)",
            subcommands.join(", ")
        );
    }
    let text = e.to_string();
    let (tips, mut rest): (Vec<&str>, Vec<&str>) = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .filter(|l| !l.starts_with("Usage:") && !l.starts_with("For more"))
        .partition(|l| l.starts_with("tip:"));
    let first = if rest.is_empty() {
        "bad arguments".to_string()
    } else {
        rest.remove(0).trim_start_matches("error: ").to_string()
    };
    let mut line = if first.ends_with(':') {
        format!("{first} {}", rest.join(", "))
    } else {
        first
    };
    for tip in tips {
        line.push_str("; ");
        line.push_str(tip);
    }
    format!("{line} (see {command} --help)")
}

/// The subcommands that `args` (the program's arguments, its name first)
/// name, after `overfit`: `overfit bench wide` for `overfit bench wide --m 0`.
/// An option's value (`--max-memory 4G`, `--out bench`) is skipped, and the
/// first other word that names none of the current command's subcommands
/// ends the path (a misspelt one: `overfit bench wde` points at `overfit bench`).
fn command_path(args: &[String]) -> (String, clap::Command) {
    let root = Cli::command();
    let takes_value = |command: &clap::Command, word: &str| {
        let long = word.strip_prefix("--").filter(|w| !w.contains('='));
        let found = |c: &clap::Command| {
            c.get_arguments()
                .find(|a| long.is_some_and(|l| a.get_long() == Some(l)))
                .map(|a| a.get_action().takes_values())
        };
        found(command).or_else(|| found(&root)).unwrap_or(false)
    };
    let mut command = root.clone();
    let mut path = vec!["overfit".to_string()];
    let mut words = args.iter().skip(1);
    while let Some(word) = words.next() {
        if word.starts_with('-') {
            if takes_value(&command, word) {
                words.next();
            }
            continue;
        }
        match command.find_subcommand(word).cloned() {
            Some(sub) => {
                path.push(word.clone());
                command = sub;
            }
            None => break,
        }
    }
    (path.join(" "), command)
}

fn dispatch(cli: Cli) -> Result<u8, Error> {
    match cli.command {
        Command::Run(args) => run(args),
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
                .map_err(|e| {
                    Error::bad(format!(
                        "--dir {}: {e} (the folder of specs: run from the repository root or pass --dir)",
                        dir.display()
                    ))
                })?
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
                    let (mut listed, mut unreadable) = (0, 0);
                    for (p, s) in loaded {
                        listed += 1;
                        match s {
                            Ok(s) => println!(
                                "{:<40} {:<14} {}",
                                p.display(),
                                s.header.study,
                                s.header.description
                            ),
                            Err(e) => {
                                unreadable += 1;
                                println!("{:<40} (unreadable: {e})", p.display())
                            }
                        }
                    }
                    // Every spec is listed, and a script still learns that
                    // some do not load (review finding, 2026-12-07: exit 0).
                    if unreadable > 0 {
                        return Err(Error::bad(format!(
                            "--dir {}: {unreadable} of {listed} specs do not load (marked unreadable above)",
                            dir.display()
                        )));
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
        Command::Bench { engine, memory } => bench_command(engine, memory.max_memory),
    }
}

/// `overfit run`: the output directory (default results/NAME[-quick][-shardIofN]), then the run.
fn run(args: RunArgs) -> Result<u8, Error> {
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
        memory,
    } = args;
    let shard = shard.as_deref().map(Shard::parse).transpose()?;
    let resolved = overfit::spec::ResolvedOptions::of_file(&spec);
    let (quick, seed) = (quick || resolved.quick, seed.or(resolved.seed));
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
        max_memory: memory.max_memory,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn clap_line(args: &[&str]) -> String {
        match Cli::try_parse_from(args) {
            Ok(_) => panic!("{args:?} parsed"),
            Err(e) => {
                let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
                one_line_clap_error(&e, &args)
            }
        }
    }

    #[test]
    fn a_clap_error_is_one_line_with_its_tip_and_the_subcommand_help() {
        let line = clap_line(&["overfit", "run", "x.toml", "--qiuck"]);
        assert!(line.contains("unexpected argument '--qiuck'"), "{line}");
        assert!(
            line.contains("tip: a similar argument exists: '--quick'"),
            "{line}"
        );
        assert!(line.ends_with("(see overfit run --help)"), "{line}");
        assert!(!line.contains('\n'), "{line}");
        let line = clap_line(&["overfit", "bench", "wide", "--peeer"]);
        assert!(line.ends_with("(see overfit bench wide --help)"), "{line}");
        let line = clap_line(&["overfit", "bench", "two-layer", "--p", "0"]);
        assert!(
            line.contains("invalid value '0' for '--p <P>': need at least 1"),
            "{line}"
        );
        assert!(
            line.ends_with("(see overfit bench two-layer --help)"),
            "{line}"
        );
        let line = clap_line(&["overfit", "bench", "--max-memory", "4G", "wide", "--m", "0"]);
        assert!(line.ends_with("(see overfit bench wide --help)"), "{line}");
        // --max-memory belongs to run and bench (not global): before the
        // subcommand it is refused, and clap points to where it goes.
        let line = clap_line(&["overfit", "--max-memory", "bench", "wide"]);
        assert!(
            line.contains("unexpected argument '--max-memory'")
                && line.contains("'bench --max-memory' exists"),
            "{line}"
        );
        let line = clap_line(&["overfit", "check", "x", "--max-memory", "1K"]);
        assert!(
            line.contains("unexpected argument '--max-memory'"),
            "{line}"
        );
        let line = clap_line(&["overfit", "bench", "wde", "two-layer"]);
        assert!(line.ends_with("(see overfit bench --help)"), "{line}");
        let line = clap_line(&["overfit", "bench"]);
        assert!(
            line.starts_with("overfit bench: missing subcommand, one of two-layer, wide, all, cnn"),
            "{line}"
        );
        let line = clap_line(&["overfit", "runn"]);
        assert!(line.ends_with("(see overfit --help)"), "{line}");
        let line = clap_line(&["overfit", "merge"]);
        assert!(
            line.contains("required arguments were not provided"),
            "{line}"
        );
        assert!(!line.contains('\n'), "{line}");
    }
}
