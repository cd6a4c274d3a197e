//! `overfit bench`: time one engine on a synthetic problem and print one
//! line of key=value pairs. Ratios against peers (benches/peers/) are taken
//! from two such lines measured on the same machine in the same session.

use std::time::Instant;

use ndarray::{Array1, Array2};
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};

use crate::error::{Error, Result};
use crate::nets::activation::Activation;
use crate::nets::init::{gaussian_first_layer, second_layer, SecondLayerInit};
use crate::nets::loss::Loss;
use crate::nets::two_layer::{EngineKind, GdConfig, TrainedLayers, TwoLayerGd};

/// `overfit bench two-layer` arguments.
#[derive(Clone, Debug)]
pub struct TwoLayerBench {
    pub p: usize,
    pub n: usize,
    pub m: usize,
    pub engine: EngineKind,
    pub steps: usize,
    pub threads: usize,
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
    crate::studies::set_blas_threads(b.threads);
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
        gd.step()?; // warm-up: first touch of the buffers
        let t1 = Instant::now();
        for _ in 0..b.steps {
            gd.step()?;
        }
        let per_step = t1.elapsed().as_secs_f64() / b.steps as f64;
        Ok(format!(
            "bench=two-layer engine={} p={} n={} m={} dtype=f64 threads={} steps={} setup_s={:.4} s_per_step={:.6e}",
            format!("{:?}", b.engine).to_lowercase(),
            b.p,
            b.n,
            b.m,
            b.threads,
            b.steps,
            setup,
            per_step
        ))
    })
}
