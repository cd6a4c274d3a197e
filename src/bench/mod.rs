//! `overfit bench`: time one engine on a synthetic problem and print one
//! line of key=value pairs. Ratios against peers (benches/peers/) are taken
//! from two such lines measured on the same machine in the same session.

use std::time::Instant;

use ndarray::{Array1, Array2};
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};

use crate::error::{Error, Result};
use crate::memory::{Peak, F32, F64};
use crate::nets::activation::Activation;
use crate::nets::gram_update;
use crate::nets::init::{gaussian_first_layer, second_layer, SecondLayerInit};
use crate::nets::loss::Loss;
use crate::nets::two_layer::{
    engine_cost, EngineKind, FirstLayerProduct, GdConfig, TrainedLayers, TwoLayerGd,
};
use crate::studies::memory::{cnn_unit, cnn_workspace, two_layer as two_layer_peak};

pub mod fma_probe;
pub mod peak;
pub mod suite;

/// Held by the library tests that time the CPU (the clock chains, the FMA
/// probe), so that none runs while another loads the cores: once the
/// probe's test ran beside it, a stress round of CI failed the chain
/// test's add/imul ratio (session 60; one guess is that the probe's wide
/// FMAs lowered the clock of a core between the two chains' timings).
#[cfg(test)]
pub(crate) static TIMED_TESTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

use peak::flop_rate_fields;

/// `overfit bench two-layer` arguments.
#[derive(Clone, Debug)]
pub struct TwoLayerBench {
    pub p: usize,
    pub n: usize,
    pub m: usize,
    pub engine: EngineKind,
    /// The product that moves the first layer; `None`: the engine's own
    /// choice (a table from `TABLE_FROM_NEURONS` neurons).
    pub product: Option<FirstLayerProduct>,
    pub steps: usize,
    pub threads: usize,
}

impl TwoLayerBench {
    /// Peak memory: one two-layer unit on n points in R^p, width m
    /// (`studies::memory::two_layer`), named by the flags.
    pub fn peak_memory(&self) -> Peak {
        let mut peak = Peak::new();
        let (n, p, m) = (self.n as f64, self.p as f64, self.m as f64);
        two_layer_peak(
            &mut peak,
            1.0,
            ("--n", n),
            ("--n", 0.0),
            ("--p", p),
            ("--m", m),
        );
        peak
    }
}

/// Time full-batch GD steps of f(x) = sum_j a_j relu(<w_j, x>) with the
/// logistic loss on Gaussian data (the XOR study's step), f64.
/// Returns the key=value line: set-up time (Gram, Z(0)) and seconds per step.
pub fn two_layer(b: &TwoLayerBench) -> Result<String> {
    if b.p == 0 || b.n == 0 || b.m == 0 || b.steps == 0 {
        return Err(Error::bad(
            "bench two-layer: --p, --n, --m and --steps must be >= 1",
        ));
    }
    if b.engine == EngineKind::Auto {
        return Err(Error::bad(
            "bench two-layer: --engine must be primal or dual",
        ));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(b.threads.max(1))
        .build()
        .map_err(|e| Error::bad(format!("--threads: {e}")))?;
    pool.install(|| {
        let mut rng = crate::rng::stream(1, 0, "bench");
        let x = Array2::from_shape_simple_fn((b.n, b.p), || StandardNormal.sample(&mut rng));
        let y: Array1<f64> = (0..b.n).map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 }).collect();
        let w0 = gaussian_first_layer(b.p, b.m, 1e-3, &mut rng);
        let a0 = second_layer(SecondLayerInit::RandomSign { scale: None }, &w0, &mut rng);
        let cfg = GdConfig { activation: Activation::Relu, loss: Loss::Logistic, lr: 0.1, weight_decay: 0.0, trained: TrainedLayers::First };
        let t0 = Instant::now();
        let mut gd = TwoLayerGd::new(cfg, b.engine, x, y, w0, a0)?;
        let setup = t0.elapsed().as_secs_f64();
        if let Some(product) = b.product {
            gd.set_product(product);
        }
        gd.step()?; // warm-up: first touch of the buffers
        let t1 = Instant::now();
        for _ in 0..b.steps {
            gd.step()?;
        }
        let per_step = t1.elapsed().as_secs_f64() / b.steps as f64;
        // The flops the step performs: a product by table lookup counts its
        // adds (`gram_update::adds`), not the gemm's flops: the dual's K G
        // (n rows), the primal's X^T G (p rows) beside its gemm Z = X W.
        let gemm_flops = engine_cost(b.engine, b.n, b.p, b.m, 1) - engine_cost(b.engine, b.n, b.p, b.m, 0);
        let (product, step_flops) = match (gd.product(), b.engine) {
            (FirstLayerProduct::Table, EngineKind::Dual) => ("table", gram_update::adds(b.n, b.n, b.m)),
            (FirstLayerProduct::Table, _) => ("table", gemm_flops / 2.0 + gram_update::adds(b.p, b.n, b.m)),
            (FirstLayerProduct::Gemm, _) => ("gemm", gemm_flops),
        };
        Ok(format!(
            "bench=two-layer engine={} product={product} p={} n={} m={} dtype=f64 threads={} steps={} setup_s={:.4} s_per_step={:.6e} {} {}",
            format!("{:?}", b.engine).to_lowercase(),
            b.p,
            b.n,
            b.m,
            b.threads,
            b.steps,
            setup,
            per_step,
            flop_rate_fields(step_flops, per_step, b.threads, 8),
            crate::blas::machine_fields()
        ))
    })
}

/// `overfit bench wide` arguments.
#[derive(Clone, Debug)]
pub struct WideBench {
    pub m: usize,
    pub n: usize,
    pub d: usize,
    pub steps: usize,
    pub threads: usize,
}

impl WideBench {
    /// Peak memory: the net and its gradient and momentum-free copies
    /// (3 m (d + 1)) and four n x m working arrays, f64.
    pub fn peak_memory(&self) -> Peak {
        let (m, n, d) = (self.m as f64, self.n as f64, self.d as f64);
        let mut peak = Peak::new();
        peak.add("the network", 3.0 * F64, &[("--m", m), ("--d", d + 1.0)])
            .add(
                "the n x m working arrays",
                4.0 * F64,
                &[("--m", m), ("--n", n)],
            );
        peak
    }
}

/// Time full-batch GD steps of the wide path (`nets::wide`): a two-layer
/// ReLU net with m neurons on n points in R^d (the last coordinate a bias
/// input), balanced init at lambda = 1e-3, square loss in the public code's
/// mean-MSE convention, lr 1e-3, both layers trained: the step of Boursier &
/// Flammarion's 3-point example. Peer: benches/peers/wide_step.py.
pub fn wide(b: &WideBench) -> Result<String> {
    use crate::nets::wide::{
        init_params, InitScheme, Points, SquareLoss, WideConfig, WideGd, WideInit, WideNet,
    };
    if b.m == 0 || b.n == 0 || b.d == 0 || b.steps == 0 {
        return Err(Error::bad(
            "bench wide: --m, --n, --d and --steps must be >= 1",
        ));
    }
    if b.d > crate::nets::wide::MAX_DIM {
        return Err(Error::bad(format!(
            "bench wide --d {}: the wide path takes d <= {}",
            b.d,
            crate::nets::wide::MAX_DIM
        )));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(b.threads.max(1))
        .build()
        .map_err(|e| Error::bad(format!("--threads: {e}")))?;
    pool.install(|| {
        let mut rng = crate::rng::stream(1, 0, "bench-wide");
        let mut x = Vec::with_capacity(b.n * b.d);
        for _ in 0..b.n {
            for c in 0..b.d {
                x.push(if c + 1 == b.d && b.d > 1 { 1.0 } else { rng.random_range(-1.0..1.0) });
            }
        }
        let y: Vec<f64> = (0..b.n).map(|_| rng.random_range(0.0..1.0)).collect();
        let init = WideInit { scheme: InitScheme::Balanced, lambda: 1e-3, symmetric: false };
        let (a, w) = init_params(b.m, b.d, &init, &mut rng);
        let cfg = WideConfig { gamma: 0.0, lr: 1e-3, loss: SquareLoss::MeanMse };
        let t0 = Instant::now();
        let mut gd = WideGd::new(cfg, WideNet::from_arrays(&a, &w, b.d)?, Points::new(b.d, x, y)?)?;
        let setup = t0.elapsed().as_secs_f64();
        gd.run(2)?; // warm-up
        let t1 = Instant::now();
        gd.run(b.steps)?;
        let per_step = t1.elapsed().as_secs_f64() / b.steps as f64;
        Ok(format!(
            "bench=wide m={} n={} d={} dtype=f64 threads={} steps={} setup_s={:.4} s_per_step={:.6e} {} {}",
            b.m,
            b.n,
            b.d,
            b.threads,
            b.steps,
            setup,
            per_step,
            flop_rate_fields(crate::nets::wide::flops_per_step(b.m, b.n, b.d), per_step, b.threads, 8),
            crate::blas::machine_fields()
        ))
    })
}

/// `--key value` pairs for a peer's argument list.
fn flags(pairs: &[(&str, usize)]) -> Vec<String> {
    pairs
        .iter()
        .flat_map(|(k, v)| [k.to_string(), v.to_string()])
        .collect()
}

impl TwoLayerBench {
    /// The same problem for benches/peers/two_layer_step.py (at most 10
    /// timed steps: PyTorch's primal step is slow enough to time in few).
    pub fn peer_args(&self) -> Vec<String> {
        let mut args = flags(&[
            ("--p", self.p),
            ("--n", self.n),
            ("--m", self.m),
            ("--steps", self.steps.min(10)),
            ("--threads", self.threads),
        ]);
        args.extend(["--dtype".to_string(), "f64".to_string()]);
        args
    }
}

impl WideBench {
    /// The same problem for benches/peers/wide_step.py (f64).
    pub fn peer_args(&self) -> Vec<String> {
        let mut args = flags(&[
            ("--m", self.m),
            ("--n", self.n),
            ("--d", self.d),
            ("--steps", self.steps),
            ("--threads", self.threads),
        ]);
        args.extend(["--dtype".to_string(), "f64".to_string()]);
        args
    }
}

impl CnnBench {
    /// The same run for benches/peers/cnn_train.py, on the device ours ran
    /// on: the `device=` of our bench line `ours` (`cpu` or `cuda`; `cpu`
    /// when the line has none).
    pub fn peer_args(&self, ours: &str) -> Vec<String> {
        let ran_on = field_of(ours, "device").unwrap_or("cpu");
        let (k, h1, h2) = self.arch;
        let mut args = flags(&[
            ("--batch", self.batch),
            ("--images", self.images),
            ("--epochs", self.epochs),
            ("--threads", self.threads),
        ]);
        args.extend(["--arch".to_string(), format!("{k},{h1},{h2}")]);
        args.extend(["--device".to_string(), ran_on.to_string()]);
        if let Some(dir) = &self.data {
            args.extend(["--data".to_string(), dir.display().to_string()]);
        }
        args
    }
}

/// The Python that runs the peers: `OVERFIT_PYTHON` (e.g. a virtual
/// environment's python with torch), else `python3` on PATH.
pub const PYTHON_ENV: &str = "OVERFIT_PYTHON";

/// The Python named by [`PYTHON_ENV`], else `python3` (the peers and the
/// PyTorch test run it).
pub fn python() -> String {
    std::env::var(PYTHON_ENV).unwrap_or_else(|_| "python3".to_string())
}

/// The text after `key=` in a `key=value ...` line.
pub fn field_of<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

/// The number after `key=` in a `key=value ...` line (NaN when absent).
pub fn value_of(line: &str, key: &str) -> f64 {
    field_of(line, key)
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

/// Run a peer script from benches/peers/ (`python3 SCRIPT ARGS...`, see
/// [`PYTHON_ENV`]) on the
/// same problem and return its output line and the value of `key`
/// (`s_per_step` or `images_per_s`), so a bench can print the ratio of two
/// timings taken in the same session. A missing python3 or torch is bad
/// input (exit 2) naming the script.
pub fn peer(script: &str, args: &[String], key: &str) -> Result<(String, f64)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("benches/peers")
        .join(script);
    let python = python();
    let out = std::process::Command::new(&python)
        .arg(&path)
        .args(args)
        .output()
        .map_err(|e| Error::bad(format!("{}: cannot run {python} ({e})", path.display())))?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let line = text
        .lines()
        .rev()
        .find(|l| l.contains(&format!("{key}=")))
        .map(str::to_string);
    let value = line.as_deref().map(|l| value_of(l, key));
    match (out.status.success(), line, value) {
        (true, Some(line), Some(v)) if v.is_finite() => Ok((line, v)),
        _ => {
            let err = String::from_utf8_lossy(&out.stderr);
            let last = err.lines().last().unwrap_or("no output");
            Err(Error::bad(format!(
                "{}: peer failed ({last}); see benches/peers/README.md for its install line",
                path.display()
            )))
        }
    }
}

pub use crate::nets::cnn::{ChosenDevice, Device};

/// `overfit bench cnn` arguments.
#[derive(Clone, Debug)]
pub struct CnnBench {
    /// The course CNN's (k, h1, h2).
    pub arch: (usize, usize, usize),
    pub batch: usize,
    /// Training images per timed epoch.
    pub images: usize,
    /// CIFAR-10 binary folder (the 4-class subset's classes 1, 6, 7, 8); random pixels when None.
    pub data: Option<std::path::PathBuf>,
    pub threads: usize,
    pub epochs: usize,
    pub device: Device,
}

impl CnnBench {
    /// Peak memory: the images (3072 f32 each) and the CPU training `cnn`
    /// builds (`Cpu::new`): the model, one workspace of ceil(batch /
    /// shards) examples per shard (one shard per thread, at most one per
    /// image of the batch) and an evaluation workspace of one example, each
    /// with its own im2col scratch and parameter gradient
    /// (`studies::memory::cnn_workspace`). Counting one workspace of the
    /// whole batch left out the other shards' scratch and gradients.
    pub fn peak_memory(&self) -> Peak {
        let (k, h1, h2) = self.arch;
        let arch = crate::nets::cnn::Arch::CourseCnn { k, h1, h2 };
        let shards = self.threads.max(1).min(self.batch.max(1));
        let per_shard = ("--batch", self.batch.div_ceil(shards) as f64);
        let mut peak = Peak::new();
        peak.add(
            "the images",
            F32 * 3072.0,
            &[("--images", self.images as f64)],
        );
        cnn_unit(&mut peak, 1.0, "--arch", &arch, 4, per_shard);
        if shards > 1 {
            cnn_workspace(
                &mut peak,
                (shards - 1) as f64,
                "--arch",
                &arch,
                4,
                per_shard,
            );
        }
        cnn_workspace(&mut peak, 1.0, "--arch", &arch, 4, ("eval_batch", 1.0));
        peak
    }
}

/// Time mini-batch SGD (lr 1e-3, momentum 0.9, cross-entropy) of the course
/// CNN: after 10 warm-up mini-batches, `epochs` shuffled passes over
/// `images` images; prints images per second and the device it ran on. On
/// the CPU, `threads` >= 2 splits each mini-batch into that many shards
/// computed in parallel (OpenBLAS itself runs on one thread). Peer:
/// benches/peers/cnn_train.py.
pub fn cnn(b: &CnnBench) -> Result<String> {
    use crate::nets::cnn::{Arch, Cpu, Images, Model, Sgd, SgdConfig};
    if b.batch == 0 || b.images == 0 || b.epochs == 0 {
        return Err(Error::bad(
            "bench cnn: --batch, --images and --epochs must be >= 1",
        ));
    }
    let (k, h1, h2) = b.arch;
    if k == 0 || h1 == 0 || h2 == 0 {
        return Err(Error::bad("bench cnn --arch: k, h1 and h2 must be >= 1"));
    }
    let device = b
        .device
        .choose()
        .map_err(|m| Error::bad(format!("--device {}: {m}", b.device.name())))?;
    let mut rng = crate::rng::stream(1, 0, "bench-cnn");
    let (pixels, labels, source) = match &b.data {
        Some(dir) => {
            let set = crate::data::cifar::load(
                dir,
                crate::data::cifar::Split::Train,
                &[1, 6, 7, 8],
                Some(b.images),
            )?;
            // Fewer than asked would time another problem than the line's
            // options say (and than the peer's, which reads them).
            if set.labels.len() < b.images {
                return Err(Error::bad(format!(
                    "bench cnn --images {}: {} holds {} training images of the four classes; ask for at most that many",
                    b.images,
                    dir.display(),
                    set.labels.len()
                )));
            }
            (set.pixels, set.labels, "cifar")
        }
        None => {
            let pixels = (0..b.images * crate::data::cifar::IMAGE_BYTES)
                .map(|_| rng.random_range(-1.0f32..1.0))
                .collect();
            let labels = (0..b.images).map(|_| rng.random_range(0..4u8)).collect();
            (pixels, labels, "random")
        }
    };
    let images = Images {
        pixels: &pixels,
        labels: &labels,
    };
    let arch = Arch::CourseCnn { k, h1, h2 };
    let mut model = Model::for_arch(&arch, 4)?;
    model.init_pytorch(&mut rng);
    let sgd = SgdConfig {
        lr: 1e-3,
        momentum: 0.9,
        weight_decay: 0.0,
    };
    let sgd = Sgd::new(sgd, model.param_count());
    let secs = match &device {
        ChosenDevice::Cpu => {
            // Two or more threads: the mini-batch is split across them (data
            // parallel; OpenBLAS runs on one thread) when it has at least two images.
            let shards = b.threads.max(1).min(b.batch);
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(shards)
                .build()
                .map_err(|e| Error::bad(format!("--threads: {e}")))?;
            let mut trained = model.clone();
            let mut cpu = Cpu::new(&mut trained, sgd, shards, b.batch, 1);
            pool.install(|| time_cnn(b, &mut cpu, &images, &mut rng))?
        }
        #[cfg(feature = "cuda")]
        ChosenDevice::Cuda(gpu) => {
            let mut on_gpu = crate::gpu::GpuModel::from_host(gpu.clone(), &model, &sgd, b.batch)?;
            time_cnn(b, &mut on_gpu, &images, &mut rng)?
        }
    };
    let trained = (images.len() * b.epochs) as f64;
    // The GPU's peak is not the CPU's: a GPU line reports the rate only.
    let rate = match &device {
        // The peak of the threads that computed: one shard each, at most
        // one per image of a mini-batch.
        ChosenDevice::Cpu => flop_rate_fields(
            trained * model.training_flops_per_example(),
            secs,
            b.threads.max(1).min(b.batch),
            4,
        ),
        #[cfg(feature = "cuda")]
        ChosenDevice::Cuda(gpu) => format!(
            "gflops={:.2} gpu={}",
            trained * model.training_flops_per_example() / secs / 1e9,
            gpu.name().replace(' ', "_")
        ),
    };
    Ok(format!(
        "bench=cnn device={} arch={k},{h1},{h2} params={} batch={} images={} epochs={} data={source} threads={} images_per_s={:.6} {rate} {}",
        device.label(),
        model.param_count(),
        b.batch,
        images.len(),
        b.epochs,
        b.threads,
        trained / secs,
        crate::blas::machine_fields()
    ))
}

/// Seconds for `b.epochs` epochs of `backend`, after 10 warm-up
/// mini-batches; the clock stops after the parameters reached the host
/// (on a GPU, after the device finished).
fn time_cnn<B: crate::nets::cnn::Backend>(
    b: &CnnBench,
    backend: &mut B,
    images: &crate::nets::cnn::Images,
    rng: &mut crate::rng::Rng,
) -> Result<f64> {
    use crate::nets::cnn::train_epoch;
    let n = images.len();
    let mut warm: Vec<usize> = (0..n.min(10 * b.batch)).collect();
    train_epoch(backend, images, &mut warm, b.batch, rng)?;
    let mut order: Vec<usize> = (0..n).collect();
    let t0 = Instant::now();
    for _ in 0..b.epochs {
        train_epoch(backend, images, &mut order, b.batch, rng)?;
    }
    backend.host()?;
    Ok(t0.elapsed().as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::{value_of, CnnBench};

    /// `bench cnn` builds a workspace per shard (thread) and one for
    /// evaluation, each with its own scratch: more threads need more
    /// memory (the estimate ignored the threads).
    #[test]
    fn the_cnn_bench_counts_a_workspace_per_shard() {
        let bench = |threads: usize| CnnBench {
            arch: (16, 150, 80),
            batch: 128,
            images: 4000,
            data: None,
            threads,
            epochs: 1,
            device: crate::nets::cnn::Device::Cpu,
        };
        let (one, two) = (
            bench(1).peak_memory().bytes(),
            bench(2).peak_memory().bytes(),
        );
        // A second shard adds at least one im2col scratch (28 x 28 x 75 f32).
        assert!(two - one > 4.0 * 28.0 * 28.0 * 75.0, "{one} {two}");
    }

    #[test]
    fn value_of_reads_one_key_exactly() {
        let line = "bench=cnn images=4000 images_per_s=1234.5 s=2";
        assert_eq!(value_of(line, "images_per_s"), 1234.5);
        assert_eq!(value_of(line, "s"), 2.0);
        assert!(value_of(line, "images_per").is_nan());
        assert!(value_of(line, "missing").is_nan());
    }
}
