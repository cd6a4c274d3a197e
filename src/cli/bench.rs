//! `overfit bench`: the arguments of each benchmark and what it prints
//! (one timing line, the PyTorch peer's line and the speed-up with
//! `--peer`, or the whole performance table).

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};

use overfit::bench::suite::Bench;
use overfit::bench::{self, Device, TwoLayerBench, WideBench};
use overfit::memory::{self, Peak};
use overfit::nets::two_layer::{EngineKind, FirstLayerProduct};
use overfit::Error;

use crate::{default_threads, parse_threads};

#[derive(Clone, Copy, ValueEnum)]
pub enum EngineArg {
    Primal,
    Dual,
}

/// How the step computes the first layer's product (X^T G or K G).
#[derive(Clone, Copy, ValueEnum)]
pub enum ProductArg {
    /// The engine's own choice: a table lookup from 64 neurons, else a gemm.
    Auto,
    /// Table lookup on the signs of Z.
    Table,
    /// A gemm on G (the reference).
    Gemm,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum DeviceArg {
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

/// The two-layer engine's float type: f64 only (theory runs are f64); the
/// option names it so a bench line and its peer's agree on the type.
#[derive(Clone, Copy, ValueEnum)]
pub enum Dtype {
    F64,
}

#[derive(Subcommand)]
pub enum BenchEngine {
    /// Full-batch GD steps of the two-layer ReLU net (logistic loss).
    TwoLayer {
        /// Input dimension p.
        #[arg(long, default_value_t = 40000, value_parser = parse_count)]
        p: usize,
        /// Training points n.
        #[arg(long, default_value_t = 200, value_parser = parse_count)]
        n: usize,
        /// Hidden neurons m.
        #[arg(long, default_value_t = 1000, value_parser = parse_count)]
        m: usize,
        /// primal: the weights W (p x m) stepped themselves, O(n p m) a step;
        /// dual: W kept as s(t) W(0) + X^T C with C (n x m) stepped, O(n^2 m)
        /// a step, free of p.
        #[arg(long, value_enum, default_value = "dual")]
        engine: EngineArg,
        /// How the step computes the first layer's product: the engine's
        /// choice, or a table lookup or gemm forced (to compare them).
        #[arg(long, value_enum, default_value = "auto")]
        product: ProductArg,
        /// Float type: f64 only (the theory runs' type).
        #[arg(long, value_enum, default_value = "f64")]
        dtype: Dtype,
        /// GD steps timed (after one untimed warm-up step).
        #[arg(long, default_value_t = 20, value_parser = parse_count)]
        steps: usize,
        /// Worker threads (default: every available CPU).
        #[arg(long, value_parser = parse_threads)]
        threads: Option<usize>,
        /// Also time the PyTorch peer (benches/peers/two_layer_step.py) and print the speed-up.
        #[arg(long)]
        peer: bool,
    },
    /// Full-batch GD steps of the wide path (m neurons, n points in R^d, square loss).
    Wide {
        /// Neurons m.
        #[arg(long, default_value_t = 200000, value_parser = parse_count)]
        m: usize,
        /// Training points n.
        #[arg(long, default_value_t = 3, value_parser = parse_count)]
        n: usize,
        /// Input dimension d (bias included).
        #[arg(long, default_value_t = 2, value_parser = parse_count)]
        d: usize,
        /// GD steps timed.
        #[arg(long, default_value_t = 1000, value_parser = parse_count)]
        steps: usize,
        /// Worker threads (default: every available CPU).
        #[arg(long, value_parser = parse_threads)]
        threads: Option<usize>,
        /// Also time the PyTorch peer (benches/peers/wide_step.py) and print the speed-up.
        #[arg(long)]
        peer: bool,
    },
    /// Every benchmark of the README's performance table, repeated, with the
    /// PyTorch peers (`--peer`); prints the table (the raw lines go to stderr).
    All {
        /// Worker threads (default: every available CPU).
        #[arg(long, value_parser = parse_threads)]
        threads: Option<usize>,
        /// Repetitions of every benchmark and of its peer.
        #[arg(long, default_value_t = 3, value_parser = parse_count)]
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
        /// Mini-batch size.
        #[arg(long, default_value_t = 4, value_parser = parse_count)]
        batch: usize,
        /// Training images an epoch.
        #[arg(long, default_value_t = 4000, value_parser = parse_count)]
        images: usize,
        /// CIFAR-10 binary folder (random pixels when absent).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Epochs timed.
        #[arg(long, default_value_t = 1, value_parser = parse_count)]
        epochs: usize,
        /// Worker threads (default: every available CPU).
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

/// A size or count on the command line: a whole number >= 1.
fn parse_count(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("need at least 1".to_string()),
        Ok(n) => Ok(n),
        Err(_) => Err("not a whole number".to_string()),
    }
}

/// Refuse a bench whose estimated peak memory is above the limit (`overfit::memory`).
fn check_bench_memory(bench: &str, peak: &Peak, max_memory: Option<u64>) -> Result<(), Error> {
    memory::check(peak, memory::limit(max_memory), |flag, msg| {
        Error::bad(format!("bench {bench} {flag}: {msg}"))
    })
}

/// `overfit bench all`: the performance table on stdout, the raw bench and
/// peer lines on stderr, and both written atomically with `--out FILE`
/// (the lines beside it, perf.md -> perf.lines.txt: every field behind the
/// table's cells).
fn bench_all(opts: &bench::suite::SuiteOptions, out: Option<PathBuf>) -> Result<u8, Error> {
    let lines_of = |path: &PathBuf| path.with_extension("lines.txt");
    if let Some(path) = &out {
        overfit::fsio::check_out_files("--out", &[path.clone(), lines_of(path)])?;
    }
    let mut raw = String::new();
    let table = bench::suite::run(opts, |line| {
        eprintln!("{line}");
        raw.push_str(line);
        raw.push('\n');
    })?;
    print!("{table}");
    if let Some(path) = out {
        overfit::fsio::write_atomic(&lines_of(&path), raw.as_bytes())?;
        overfit::fsio::write_atomic(&path, table.as_bytes())?;
    }
    Ok(0)
}

/// One benchmark: refuse it above the memory limit, print our line, and
/// with `speedup_key` (`--peer`) time the PyTorch peer of the same problem,
/// print its line and `speedup_key=` ours over theirs (`Bench::speedup`).
fn bench_one(
    bench: Bench,
    name: &str,
    max_memory: Option<u64>,
    speedup_key: Option<&str>,
) -> Result<u8, Error> {
    check_bench_memory(name, &bench.peak_memory(), max_memory)?;
    let line = bench.run()?;
    println!("{line}");
    if let Some(key) = speedup_key {
        let (peer_line, theirs) = bench.run_peer(&line)?;
        println!("{peer_line}");
        let ours = bench::value_of(&line, bench.key());
        println!(
            "{key}={}",
            bench::peak::truncated(bench.speedup(ours, theirs), 2)
        );
    }
    Ok(0)
}

/// `overfit bench ENGINE`: one timing line, with the PyTorch peer's under `--peer`.
pub fn bench_command(engine: BenchEngine, max_memory: Option<u64>) -> Result<u8, Error> {
    match engine {
        BenchEngine::TwoLayer {
            p,
            n,
            m,
            engine,
            product,
            dtype,
            steps,
            threads,
            peer,
        } => {
            let Dtype::F64 = dtype;
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
                product: match product {
                    ProductArg::Auto => None,
                    ProductArg::Table => Some(FirstLayerProduct::Table),
                    ProductArg::Gemm => Some(FirstLayerProduct::Gemm),
                },
                steps,
                threads,
            };
            // PyTorch has no dual step: the dual engine is timed against its primal one.
            let key = match engine {
                EngineKind::Dual => "speedup_vs_pytorch_primal",
                _ => "speedup_vs_pytorch",
            };
            bench_one(
                Bench::TwoLayer(b),
                "two-layer",
                max_memory,
                peer.then_some(key),
            )
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
            bench_all(&opts, out)
        }
        BenchEngine::Wide {
            m,
            n,
            d,
            steps,
            threads,
            peer,
        } => {
            let b = WideBench {
                m,
                n,
                d,
                steps,
                threads: threads.unwrap_or_else(default_threads),
            };
            let key = peer.then_some("speedup_vs_pytorch");
            bench_one(Bench::Wide(b), "wide", max_memory, key)
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
            let key = peer.then_some("speedup_vs_pytorch");
            bench_one(Bench::Cnn(b), "cnn", max_memory, key)
        }
    }
}
