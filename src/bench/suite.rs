//! `overfit bench all`: every benchmark of the README's performance table,
//! each repeated, with its PyTorch peer timed right after each repetition in
//! the same process tree, printed as the Markdown table the README includes
//! (benches/results/perf.md). The machine heads the table: CPU, SIMD level,
//! BLAS library and core, threads, the load average before and after, the
//! date and the commit, so every number says where it came from.

use std::path::PathBuf;

use super::peak::truncated;
use super::{
    cnn, field_of, peer, two_layer, value_of, wide, CnnBench, Device, TwoLayerBench, WideBench,
};
use crate::error::Result;
use crate::memory::Peak;
use crate::nets::two_layer::EngineKind;

/// `overfit bench all` arguments.
#[derive(Clone, Debug)]
pub struct SuiteOptions {
    pub threads: usize,
    /// Repetitions of every benchmark (and of its peer).
    pub reps: usize,
    /// Time the PyTorch peers too.
    pub peer: bool,
    /// CIFAR-10 binary folder for the CNN rows (random pixels when None).
    pub data: Option<PathBuf>,
    /// Small sizes, for tests: seconds instead of minutes; not for the README.
    pub quick: bool,
    /// `cpu`: the README's CPU table. `cuda`: the CNN rows on the GPU, each
    /// peer run by PyTorch (cuDNN) on the same GPU.
    pub device: Device,
}

/// A speed-up target from the performance issue, judged on every repetition.
#[derive(Clone, Copy, Debug)]
enum Target {
    /// PyTorch's time over ours (or our rate over PyTorch's) at least this.
    Speedup(f64),
    /// Achieved GFLOP/s over the machine's peak at least this.
    PeakFraction(f64),
}

impl Target {
    /// "TARGET: met in K of N" over the repetitions (their speed-ups, or
    /// their bench lines' peak fractions), or "not measured" where none has
    /// a value (a line with no peak: no clock could be had); repetitions
    /// without one are counted apart, never as misses.
    fn judge(&self, ratios: &[f64], lines: &[String]) -> String {
        // Each repetition's measure over the target: met when >= 1.
        let (text, relative): (String, Vec<f64>) = match self {
            Target::Speedup(x) => (format!(">= {x}x"), ratios.iter().map(|r| r / x).collect()),
            Target::PeakFraction(f) => (
                format!(">= {:.0}% of peak", f * 100.0),
                lines
                    .iter()
                    .map(|l| value_of(l, "peak_fraction") / f)
                    .collect(),
            ),
        };
        let repetitions = relative.len();
        let measured: Vec<f64> = relative.into_iter().filter(|v| v.is_finite()).collect();
        let unmeasured = repetitions - measured.len();
        let met = measured.iter().filter(|&&v| v >= 1.0).count();
        match (measured.len(), unmeasured) {
            (0, _) => format!("{text}: not measured"),
            (n, 0) => format!("{text}: met in {met} of {n}"),
            (n, u) => format!("{text}: met in {met} of {n} ({u} not measured)"),
        }
    }
}

/// One benchmark: how to run ours, which peer measures the same thing.
pub enum Bench {
    TwoLayer(TwoLayerBench),
    Wide(WideBench),
    Cnn(CnnBench),
}

struct Row {
    label: String,
    /// Its peer is the PyTorch script of the same problem; the dual step's
    /// is PyTorch's primal step (PyTorch has no dual), timed again right
    /// after each dual repetition, so that every ratio pairs two timings
    /// taken a moment apart (timings on a shared machine drift within
    /// minutes; the dual row used to reuse the primal row's peer timings).
    bench: Bench,
    targets: Vec<Target>,
}

impl Bench {
    /// Our key=value line.
    pub fn run(&self) -> Result<String> {
        match self {
            Bench::TwoLayer(b) => two_layer(b),
            Bench::Wide(b) => wide(b),
            Bench::Cnn(b) => cnn(b),
        }
    }

    /// Its estimated peak memory (`crate::memory`).
    pub fn peak_memory(&self) -> Peak {
        match self {
            Bench::TwoLayer(b) => b.peak_memory(),
            Bench::Wide(b) => b.peak_memory(),
            Bench::Cnn(b) => b.peak_memory(),
        }
    }

    /// The peer's line and its timing (seconds a step, or images a second),
    /// on the device our line `ours` says it ran on.
    pub fn run_peer(&self, ours: &str) -> Result<(String, f64)> {
        match self {
            Bench::TwoLayer(b) => peer("two_layer_step.py", &b.peer_args(), "s_per_step"),
            Bench::Wide(b) => peer("wide_step.py", &b.peer_args(), "s_per_step"),
            Bench::Cnn(b) => peer("cnn_train.py", &b.peer_args(ours), "images_per_s"),
        }
    }

    /// The timing key of both lines; a rate when `images_per_s`.
    pub fn key(&self) -> &'static str {
        match self {
            Bench::Cnn(_) => "images_per_s",
            _ => "s_per_step",
        }
    }

    /// Ours over theirs as "how many times faster" (timings read by `key`).
    pub fn speedup(&self, ours: f64, theirs: f64) -> f64 {
        match self {
            Bench::Cnn(_) => ours / theirs,
            _ => theirs / ours,
        }
    }

    /// The equivalent `overfit bench` command line.
    fn command(&self) -> String {
        match self {
            Bench::TwoLayer(b) => format!(
                "bench two-layer --engine {} --p {} --n {} --m {} --steps {}",
                format!("{:?}", b.engine).to_lowercase(),
                b.p,
                b.n,
                b.m,
                b.steps
            ),
            Bench::Wide(b) => format!(
                "bench wide --m {} --n {} --d {} --steps {}",
                b.m, b.n, b.d, b.steps
            ),
            Bench::Cnn(b) => format!(
                "bench cnn --arch {},{},{} --batch {} --images {} --epochs {}{}{}",
                b.arch.0,
                b.arch.1,
                b.arch.2,
                b.batch,
                b.images,
                b.epochs,
                if b.data.is_some() { " --data DIR" } else { "" },
                if b.device.is_cpu() {
                    ""
                } else {
                    " --device cuda"
                }
            ),
        }
    }
}

/// What the CNN rows train on, for their labels.
fn pixels(opts: &SuiteOptions) -> &'static str {
    if opts.data.is_some() {
        "CIFAR images"
    } else {
        "random pixels"
    }
}

/// The GPU table's benchmarks at `opts`' sizes: the course CNNs' training on
/// the GPU at the sweeps' batch 4 and at batch 128, where issue 7 asks for
/// twice PyTorch's (cuDNN's) rate on the same GPU, for the widest and the
/// narrowest course CNN.
fn gpu_rows(opts: &SuiteOptions) -> Vec<Row> {
    let cnn = |arch, batch, images| CnnBench {
        arch,
        batch,
        images: if opts.quick { 256 } else { images },
        data: opts.data.clone(),
        // The host threads of the header; the GPU step uses one.
        threads: opts.threads,
        epochs: 1,
        device: Device::Cuda,
    };
    let pixels = pixels(opts);
    [
        ((16, 150, 80), 4, 8192, vec![]),
        ((16, 150, 80), 128, 40960, vec![Target::Speedup(2.0)]),
        ((5, 15, 10), 128, 40960, vec![Target::Speedup(2.0)]),
    ]
    .into_iter()
    .map(|(arch, batch, images, targets)| Row {
        label: format!(
            "CNN ({},{},{}) training on the GPU, batch {batch}, images/s, {pixels}",
            arch.0, arch.1, arch.2
        ),
        bench: Bench::Cnn(cnn(arch, batch, images)),
        targets,
    })
    .collect()
}

/// The README's benchmarks at `opts`' sizes (`gpu_rows` on a GPU).
fn rows(opts: &SuiteOptions) -> Vec<Row> {
    if opts.device != Device::Cpu {
        return gpu_rows(opts);
    }
    let q = opts.quick;
    let threads = opts.threads;
    // The dual row times 1000 steps (about 1.2 s on a Zen 4): over 300 steps
    // (0.36 s) one binary read 1.1 to 2.4 ms a step on a shared machine.
    let (p, primal_steps, dual_steps) = if q { (2000, 2, 20) } else { (40000, 10, 1000) };
    let two_layer = |engine, steps| TwoLayerBench {
        p,
        n: 200,
        m: 1000,
        engine,
        product: None,
        steps,
        threads,
    };
    let cnn = |batch, images, epochs| CnnBench {
        arch: (16, 150, 80),
        batch,
        images: if q { 256 } else { images },
        data: opts.data.clone(),
        threads,
        epochs: if q { 1 } else { epochs },
        device: Device::Cpu,
    };
    let wide_m = if q { 20000 } else { 200000 };
    let pixels = pixels(opts);
    vec![
        Row {
            label: format!("two-layer GD step, primal (X^T G by table lookup; its GFLOP/s count the gemm Z = X W's flops and the table's adds), p = {p}, n = 200, m = 1000, f64"),
            bench: Bench::TwoLayer(two_layer(EngineKind::Primal, primal_steps)),
            targets: vec![Target::Speedup(2.0)],
        },
        Row {
            label: "two-layer GD step, dual (K G by table lookup; its GFLOP/s count the table's adds), same problem (peer: PyTorch's primal step)".into(),
            bench: Bench::TwoLayer(two_layer(EngineKind::Dual, dual_steps)),
            targets: vec![Target::Speedup(500.0)],
        },
        Row {
            label: format!("wide GD step (early alignment), m = {wide_m}, n = 3, d = 2, f64"),
            bench: Bench::Wide(WideBench {
                m: wide_m,
                n: 3,
                d: 2,
                steps: if q { 50 } else { 1000 },
                threads,
            }),
            targets: vec![],
        },
        Row {
            label: format!("CNN (16,150,80) training, batch 4, images/s, {pixels}"),
            // 8000 images: ours takes about 0.6 s, long enough to time (at
            // 2000 images, 0.12-0.16 s, three repetitions spread 4.1-5.4x).
            bench: Bench::Cnn(cnn(4, 8000, 1)),
            targets: vec![Target::Speedup(4.0)],
        },
        Row {
            label: format!("CNN (16,150,80) training, batch 128, images/s, {pixels}"),
            bench: Bench::Cnn(cnn(128, 5120, 2)),
            targets: vec![Target::Speedup(2.0), Target::PeakFraction(0.40)],
        },
    ]
}

/// A timing for a table cell: seconds (with a unit) or images per second.
fn cell(key: &str, v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    if key == "images_per_s" {
        format!("{v:.0}")
    } else if v >= 0.1 {
        format!("{v:.3} s")
    } else {
        format!("{:.3} ms", v * 1e3)
    }
}

fn joined(values: &[String]) -> String {
    values.join(" / ")
}

/// The 1-minute load average (/proc/loadavg), as text.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|t| t.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

/// Run every benchmark `opts.reps` times (each followed by its peer when
/// `opts.peer`), reporting each raw line through `progress`, and return the
/// Markdown table.
pub fn run(opts: &SuiteOptions, mut progress: impl FnMut(&str)) -> Result<String> {
    let load_before = load_average();
    let started = crate::record::unix_now();
    let rows = rows(opts);
    let mut ours: Vec<Vec<String>> = Vec::new();
    let mut theirs: Vec<Vec<f64>> = Vec::new();
    let mut peer_versions = Vec::new();
    for row in &rows {
        let mut lines = Vec::new();
        let mut peers = Vec::new();
        for _ in 0..opts.reps.max(1) {
            let line = row.bench.run()?;
            progress(&line);
            if opts.peer {
                let (peer_line, t) = row.bench.run_peer(&line)?;
                progress(&peer_line);
                let version = format!(
                    "{} ({})",
                    field_of(&peer_line, "version").unwrap_or("unknown"),
                    field_of(&peer_line, "peer_backend").unwrap_or("backend unknown")
                );
                if !peer_versions.contains(&version) {
                    peer_versions.push(version);
                }
                peers.push(t);
            }
            lines.push(line);
        }
        ours.push(lines);
        theirs.push(peers);
    }
    let first = ours
        .first()
        .and_then(|l| l.first())
        .cloned()
        .unwrap_or_default();
    let field = |key: &str| header_field(&first, key);
    let mut out = String::new();
    if opts.device != Device::Cpu {
        out.push_str(&format!(
            "GPU: {} (device={}); host below.\n",
            field("gpu"),
            field("device")
        ));
    }
    out.push_str(&format!(
        "Machine: {} ({:?}, kernels {}), {} core {} ({}), {} thread{} of {} cores; load average {} before, {} after; {} UTC; overfit {}{}.\n",
        field("cpu"),
        crate::blas::cpu_level(),
        field("kernels"),
        field("blas"),
        field("blas_core"),
        field("blas_core_choice"),
        field("threads"),
        if field("threads") == "1" { "" } else { "s" },
        std::thread::available_parallelism().map_or(1, |c| c.get()),
        load_before,
        load_average(),
        crate::record::utc_date(started),
        &env!("OVERFIT_GIT_COMMIT")[..env!("OVERFIT_GIT_COMMIT").len().min(12)],
        if env!("OVERFIT_GIT_DIRTY") == "true" { " (dirty)" } else { "" },
    ));
    out.push_str(&format!(
        "Peer: {}. Each cell lists the {} repetitions in order; ratios pair each repetition with the peer's.\n",
        if opts.peer {
            format!(
                "PyTorch {} on the {}, the same problem and threads, run right after each repetition",
                peer_versions.join(", "),
                if opts.device == Device::Cpu { "CPU" } else { "CUDA, cuDNN with PyTorch's default settings, on the same GPU" }
            )
        } else {
            "not run (`--peer` times it)".to_string()
        },
        opts.reps.max(1)
    ));
    if opts.quick {
        out.push_str("Quick sizes (a test of the table, not a measurement to quote).\n");
    }
    out.push_str("\n| benchmark | overfit | GFLOP/s (fraction of peak) | PyTorch | overfit / PyTorch | target |\n|---|---|---|---|---|---|\n");
    let mut peaks = Vec::new();
    let mut probes = Vec::new();
    for ((row, lines), peers) in rows.iter().zip(&ours).zip(&theirs) {
        probes.push(lowest_probe_fraction(lines));
        let key = row.bench.key();
        let ours_v: Vec<f64> = lines.iter().map(|l| value_of(l, key)).collect();
        let rates: Vec<String> = lines
            .iter()
            .map(|l| match value_of(l, "peak_fraction") {
                f if f.is_finite() => format!("{:.1} ({})", value_of(l, "gflops"), truncated(f, 2)),
                // A GPU line states no peak.
                _ => format!("{:.1}", value_of(l, "gflops")),
            })
            .collect();
        let ratios: Vec<f64> = ours_v
            .iter()
            .zip(peers)
            .map(|(&o, &t)| row.bench.speedup(o, t))
            .collect();
        let judged: Vec<String> = row
            .targets
            .iter()
            .map(|t| t.judge(&ratios, lines))
            .collect();
        out.push_str(&format!(
            "| {} (`{}`) | {} | {} | {} | {} | {} |\n",
            row.label,
            row.bench.command(),
            joined(&ours_v.iter().map(|&v| cell(key, v)).collect::<Vec<_>>()),
            joined(&rates),
            if peers.is_empty() {
                "not run".into()
            } else {
                joined(&peers.iter().map(|&v| cell(key, v)).collect::<Vec<_>>())
            },
            if ratios.is_empty() {
                "".into()
            } else {
                joined(
                    &ratios
                        .iter()
                        .map(|&r| format!("{}x", truncated(r, 2)))
                        .collect::<Vec<_>>(),
                )
            },
            judged.join("; ")
        ));
        if let Some(p) = lines.first().and_then(|l| {
            field_of(l, "peak").map(|p| {
                format!(
                    "{p} clock={} ({})",
                    field_of(l, "clock").unwrap_or("unknown"),
                    if key == "images_per_s" { "f32" } else { "f64" }
                )
            })
        }) {
            if peaks.last() != Some(&p) {
                peaks.push(p);
            }
        }
    }
    out.push_str(&footer(opts.device, &peaks, &probes));
    Ok(out)
}

/// The table's footer: how the peak was had (each row's first
/// repetition's `peaks`) and each row's lowest FMA probe (`probes`,
/// `lowest_probe_fraction`); for the GPU, that no peak is stated.
fn footer(device: Device, peaks: &[String], probes: &[Option<f64>]) -> String {
    if device != Device::Cpu {
        return "\nNo peak is stated for the GPU: its rows give GFLOP/s only.\n".to_string();
    }
    if peaks.is_empty() {
        return "\nNo peak: no clock could be measured or read on this machine.\n".to_string();
    }
    let mut out = format!(
        "\nPeak = cores x FMA units x lanes x 2 flops x clock (`bench::peak`; clock=measured: timed on the benchmark's threads by a chain of dependent adds right after each timing; every line's own peak is in the raw lines), first repetition of each row, in row order (a value equal to the one before it given once): {}. Fractions and ratios are cut, not rounded, to the digits shown.\n",
        peaks.join("; ")
    );
    if probes.iter().any(Option::is_some) {
        let each: Vec<String> = probes
            .iter()
            .map(|p| p.map_or("none".to_string(), |f| truncated(f, 2)))
            .collect();
        out.push_str(&format!(
            "The lowest FMA probe of a thread (`bench::fma_probe`: each thread's FMA throughput right after each repetition, which the clock's add chain does not see), as a fraction of one core's peak, in the rows' order: {}.\n",
            each.join(", ")
        ));
    }
    out
}

/// The lowest `fma_probe_gflops` of any thread in `lines` over one core's
/// share of that line's peak (`peak_gflops` over the cores of `peak=`), or
/// None when no line has both.
fn lowest_probe_fraction(lines: &[String]) -> Option<f64> {
    lines
        .iter()
        .filter_map(|l| {
            let cores: f64 = field_of(l, "peak")?.split_once("thr")?.0.parse().ok()?;
            let one_core = value_of(l, "peak_gflops") / cores;
            let probes = field_of(l, "fma_probe_gflops")?;
            let lowest = probes
                .split(',')
                .filter_map(|p| p.parse::<f64>().ok())
                .fold(f64::INFINITY, f64::min);
            (lowest.is_finite() && one_core > 0.0).then_some(lowest / one_core)
        })
        .reduce(f64::min)
}

/// A machine field of a bench line (`blas::machine_fields`) for `bench
/// all`'s header: the CPU's and the GPU's names had their spaces written
/// as '_', so they come back there only; other fields print as written (a
/// core choice such as `user:OPENBLAS_CORETYPE=Zen` keeps its '_').
/// "unknown" when absent.
fn header_field(line: &str, key: &str) -> String {
    let value = field_of(line, key).unwrap_or("unknown");
    if key == "cpu" || key == "gpu" {
        value.replace('_', " ")
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line without a peak (no clock) is not measured, never a miss.
    #[test]
    fn a_repetition_without_a_peak_is_not_counted_as_missing_the_target() {
        let line = |f: &str| format!("bench=cnn images_per_s=1 {f}");
        let target = Target::PeakFraction(0.4);
        let none = [line("peak_gflops=unknown"), line("peak_gflops=unknown")];
        assert_eq!(target.judge(&[], &none), ">= 40% of peak: not measured");
        let mixed = [line("peak_fraction=0.41"), line("peak_gflops=unknown")];
        assert_eq!(
            target.judge(&[], &mixed),
            ">= 40% of peak: met in 1 of 1 (1 not measured)"
        );
        let both = [line("peak_fraction=0.399"), line("peak_fraction=0.400")];
        assert_eq!(target.judge(&[], &both), ">= 40% of peak: met in 1 of 2");
        assert_eq!(
            Target::Speedup(2.0).judge(&[1.99, 2.0, f64::NAN], &[]),
            ">= 2x: met in 1 of 2 (1 not measured)"
        );
    }

    #[test]
    fn header_spaces_underscores_in_the_cpu_field_only() {
        let line = "bench=x cpu=AMD_EPYC_7B13 blas=OpenBLAS-0.3.21 blas_core=Zen \
                    blas_core_choice=user:OPENBLAS_CORETYPE=Zen blas_threads=2";
        assert_eq!(header_field(line, "cpu"), "AMD EPYC 7B13");
        assert_eq!(header_field(line, "blas_core"), "Zen");
        assert_eq!(
            header_field(line, "blas_core_choice"),
            "user:OPENBLAS_CORETYPE=Zen"
        );
        assert_eq!(header_field(line, "peak"), "unknown");
    }

    /// The lowest probe of any thread of any repetition, over one core's
    /// share of its own line's peak; lines without a probe are passed over.
    #[test]
    fn the_lowest_probe_is_a_fraction_of_one_cores_peak() {
        let line = |peak: f64, probes: &str| {
            format!("bench=x peak_gflops={peak} peak=2thr*2fma*16lanes*2*2.700GHz clock=measured {probes}")
        };
        let lines = [
            line(345.6, "fma_probe_gflops=172.8,99.5"),
            line(345.6, ""),
            line(320.0, "fma_probe_gflops=150.0,160.0"),
        ];
        let lowest = lowest_probe_fraction(&lines).expect("two lines have probes");
        assert!((lowest - 99.5 / 172.8).abs() < 1e-12, "{lowest}");
        assert_eq!(lowest_probe_fraction(&lines[1..2]), None);
    }
}
