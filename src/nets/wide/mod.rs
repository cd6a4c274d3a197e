//! Wide, low-dimensional two-layer networks: m up to ~1e6 neurons, n and d
//! small, millions of full-batch GD steps (the early-alignment regime of
//! Boursier & Flammarion).
//!
//! Model: f(x) = sum_j a_j sigma(<w_j, x>), sigma(z) = max(z, gamma z),
//! x in R^d (a bias is an extra constant input coordinate, see
//! `two_layer::with_bias_column`). Loss: L = c/n sum_k (f(x_k) - y_k)^2 with
//! c = 1/2 (the papers' convention, `SquareLoss::HalfSquare`) or c = 1
//! (PyTorch's MSELoss(reduction="mean") in the authors' public code,
//! `SquareLoss::MeanMse`): the shared `Loss::Square(c)`, whose only loss this
//! engine trains. Gradients, with r_k = (2c/n)(f(x_k) - y_k):
//!   dL/da_j = sum_k r_k sigma(<w_j, x_k>),
//!   dL/dw_j = a_j sum_k r_k sigma'(<w_j, x_k>) x_k      (sigma'(0) = gamma).
//! GD: theta <- theta - lr grad L, with small lr a proxy for gradient flow.
//! Balancedness a_j^2 - ||w_j||^2 is constant under the flow and moves by
//! O(lr^2) per GD step.
//!
//! Why not gemm: with d ~ 2 and n ~ 3 a gemm has nothing to block on. The
//! step is one fused pass over the neurons: for each neuron read (a_j, w_j),
//! form its n pre-activations, its gradient, update it in place and add its
//! new contribution a_j sigma(<w_j, x_k>) to the next step's outputs. That is
//! one read and one write of the parameters per step, about (6d + 6) n
//! flops per neuron (`flops_per_step`), no allocation.
//!
//! Layout (struct of arrays, blocked): neurons are split into blocks of B
//! (a multiple of `LANES`; B does not depend on the thread count). Block b
//! stores a[B] then w_0[B], ..., w_{d-1}[B] contiguously, so the inner loops
//! run over 8 neighbouring neurons at once (SIMD lanes). Padding neurons are
//! zero and stay zero (their gradient is zero). Blocks run in parallel
//! (rayon); each block writes its own lane partial sums of the outputs, which
//! are then added in block order and lane order: the result is bit-identical
//! whatever the thread count. The kernel (`kernel.rs`) is written once over
//! `nets::isa::Lanes` and runs with AVX-512 or AVX2+FMA, the best the CPU
//! has, chosen at run time, or with the portable lanes: all do the same fused
//! multiply-adds in the same order per neuron (`f64::mul_add` rounds once,
//! like the FMA instruction), so the SIMD width does not change a single bit
//! either.
//!
//! `reference_step` / `reference_gradients` are the plain loop-by-loop
//! versions the tests compare the fast path with.

use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::nets::activation::Activation;
use crate::nets::isa::Isa;
use crate::rng::Rng;
use kernel::{run_kernel, Block, Pass};

pub use crate::nets::loss::SquareLoss;

mod kernel;

/// Neurons whose partial outputs a block keeps apart (two AVX2 registers of f64).
pub const LANES: usize = 8;
/// Largest block of neurons (fixed, so results do not depend on threads).
pub const MAX_BLOCK: usize = 1024;
/// Largest input dimension (bias coordinate included) of the fused kernel.
pub const MAX_DIM: usize = 16;

/// Floating-point operations of one fused step (see the module doc), a
/// multiply-add counted as 2: per neuron and point, the pre-activation (2d),
/// the a-gradient term (3: gamma z, and r sigma(z) added), the w-gradient
/// terms (2d), then with the updated weights the pre-activation again (2d)
/// and the output term (3); per neuron, the update (3d + 2: a_j gw_c and
/// the step for each w_jc, the step for a_j). In all ((6d + 6) n + 3d + 2) m.
/// Until 2026-12-04 this counted (3d + 5) n m, leaving out the second
/// pre-activation, half the w-gradient's flops and the update: bench lines
/// from before then report the wide step's GFLOP/s low, by 1.88x at the
/// benchmark's d = 2, n = 3. A count for rates, not a contract on the
/// kernel's exact instruction mix.
pub fn flops_per_step(m: usize, n: usize, d: usize) -> f64 {
    (((6 * d + 6) * n + 3 * d + 2) * m) as f64
}

/// Initialisation shapes of Boursier & Flammarion (JMLR 2025, and the public
/// code's `Net`): (a_j, w_j) = (lambda/sqrt m)(a~_j, w~_j).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InitScheme {
    /// w~_j ~ N(0, I_d), a~_j = s_j ||w~_j|| with random signs s_j: a_j^2 = ||w_j||^2.
    Balanced,
    /// w~_j ~ N(0, I_d), a~_j ~ N(0, 1) independently.
    Unbalanced,
    /// w~_j ~ U[-1, 1]^d, a~_j = s_j sqrt(d): |a_j| >= ||w_j|| always.
    Dominated,
}

/// How to draw the initial parameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WideInit {
    pub scheme: InitScheme,
    /// The scale lambda.
    pub lambda: f64,
    /// Second half of the neurons copies the first half with a_j negated,
    /// so f = 0 at initialisation (the public code's `zero_output`; m even).
    #[serde(default)]
    pub symmetric: bool,
}

/// Draw (a, W) with W row-major m x d (neuron j is row j).
pub fn init_params(m: usize, d: usize, init: &WideInit, rng: &mut Rng) -> (Vec<f64>, Vec<f64>) {
    let scale = init.lambda / (m as f64).sqrt();
    let drawn = if init.symmetric { m.div_ceil(2) } else { m };
    let mut a = Vec::with_capacity(m);
    let mut w = Vec::with_capacity(m * d);
    let sign = |rng: &mut Rng| if rng.random::<bool>() { 1.0 } else { -1.0 };
    for _ in 0..drawn {
        let start = w.len();
        match init.scheme {
            InitScheme::Balanced | InitScheme::Unbalanced => {
                for _ in 0..d {
                    let g: f64 = StandardNormal.sample(rng);
                    w.push(scale * g);
                }
            }
            InitScheme::Dominated => {
                for _ in 0..d {
                    w.push(scale * rng.random_range(-1.0..1.0));
                }
            }
        }
        let aj = match init.scheme {
            InitScheme::Balanced => {
                let norm = w[start..].iter().map(|v| v * v).sum::<f64>().sqrt();
                sign(rng) * norm
            }
            InitScheme::Unbalanced => {
                let g: f64 = StandardNormal.sample(rng);
                scale * g
            }
            InitScheme::Dominated => sign(rng) * scale * (d as f64).sqrt(),
        };
        a.push(aj);
    }
    if init.symmetric {
        for j in 0..(m - drawn) {
            a.push(-a[j]);
            w.extend_from_within(j * d..(j + 1) * d);
        }
    }
    (a, w)
}

/// A training or evaluation set: n points in R^d, row-major, with targets.
#[derive(Clone, Debug, PartialEq)]
pub struct Points {
    pub d: usize,
    /// n x d, row-major.
    pub x: Vec<f64>,
    pub y: Vec<f64>,
}

impl Points {
    pub fn new(d: usize, x: Vec<f64>, y: Vec<f64>) -> Result<Self> {
        if d == 0 || x.len() != d * y.len() {
            return Err(Error::bad(format!(
                "wide: {} input values do not form {} points of dimension {d}",
                x.len(),
                y.len()
            )));
        }
        Ok(Points { d, x, y })
    }
    pub fn len(&self) -> usize {
        self.y.len()
    }
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }
    pub fn row(&self, k: usize) -> &[f64] {
        &self.x[k * self.d..(k + 1) * self.d]
    }
}

/// Hyperparameters of the wide GD run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WideConfig {
    /// Leaky-ReLU slope gamma (0: ReLU).
    pub gamma: f64,
    pub lr: f64,
    /// The square loss `Loss::Square(loss)` (a spec spells it like any `Loss`).
    pub loss: SquareLoss,
}

/// The network's parameters in the blocked struct-of-arrays layout.
#[derive(Clone, Debug)]
pub struct WideNet {
    m: usize,
    d: usize,
    bsize: usize,
    params: Vec<f64>,
}

impl WideNet {
    /// From a (length m) and W (row-major m x d).
    pub fn from_arrays(a: &[f64], w: &[f64], d: usize) -> Result<Self> {
        let m = a.len();
        if m == 0 || d == 0 || w.len() != m * d {
            return Err(Error::bad(format!(
                "wide: need m >= 1 and d >= 1 with W of m x d values, got m = {m}, d = {d}, {} weights",
                w.len()
            )));
        }
        if d > MAX_DIM {
            return Err(Error::bad(format!(
                "wide: input dimension {d} (bias included) exceeds the fused kernel's {MAX_DIM}; use nets::two_layer"
            )));
        }
        let bsize = m.next_multiple_of(LANES).min(MAX_BLOCK);
        let blocks = m.div_ceil(bsize);
        let mut params = vec![0.0; blocks * (d + 1) * bsize];
        let mut net = WideNet {
            m,
            d,
            bsize,
            params: Vec::new(),
        };
        for j in 0..m {
            let (base, i) = net.locate(j);
            params[base + i] = a[j];
            for c in 0..d {
                params[base + (c + 1) * bsize + i] = w[j * d + c];
            }
        }
        net.params = params;
        Ok(net)
    }

    /// (offset of j's block, index within the block).
    #[inline]
    fn locate(&self, j: usize) -> (usize, usize) {
        let b = j / self.bsize;
        (b * (self.d + 1) * self.bsize, j % self.bsize)
    }

    pub fn width(&self) -> usize {
        self.m
    }
    pub fn dim(&self) -> usize {
        self.d
    }
    fn blocks(&self) -> usize {
        self.params.len() / ((self.d + 1) * self.bsize)
    }

    /// a_j.
    pub fn a(&self, j: usize) -> f64 {
        let (base, i) = self.locate(j);
        self.params[base + i]
    }
    /// Coordinate c of w_j.
    pub fn w(&self, j: usize, c: usize) -> f64 {
        let (base, i) = self.locate(j);
        self.params[base + (c + 1) * self.bsize + i]
    }
    /// w_j copied into `out` (length d); returns a_j.
    pub fn neuron(&self, j: usize, out: &mut [f64]) -> f64 {
        let (base, i) = self.locate(j);
        for (c, o) in out.iter_mut().enumerate().take(self.d) {
            *o = self.params[base + (c + 1) * self.bsize + i];
        }
        self.params[base + i]
    }
    /// (a, W row-major m x d).
    pub fn to_arrays(&self) -> (Vec<f64>, Vec<f64>) {
        let mut a = Vec::with_capacity(self.m);
        let mut w = vec![0.0; self.m * self.d];
        for j in 0..self.m {
            a.push(self.neuron(j, &mut w[j * self.d..(j + 1) * self.d]));
        }
        (a, w)
    }

    /// Run the kernel over every block (in parallel when there are several)
    /// and return the outputs on `x` (n x d row-major) as block-ordered sums.
    fn pass(
        &mut self,
        isa: Isa,
        x: &[f64],
        gamma: f64,
        pass: Pass<'_>,
        partials: &mut Vec<f64>,
    ) -> Vec<f64> {
        let n = x.len() / self.d;
        let (d, bsize) = (self.d, self.bsize);
        let stride = (d + 1) * bsize;
        let blocks = self.blocks();
        partials.resize(blocks * n * LANES, 0.0);
        let run = |params: &mut [f64], acc: &mut [f64]| {
            let block = Block {
                params,
                bsize,
                x,
                gamma,
                pass,
                acc,
            };
            run_kernel(isa, d, block)
        };
        if blocks == 1 {
            run(&mut self.params, partials);
        } else {
            self.params
                .par_chunks_mut(stride)
                .zip(partials.par_chunks_mut(n * LANES))
                .for_each(|(params, acc)| run(params, acc));
        }
        let mut f = vec![0.0; n];
        for block in partials.chunks(n * LANES) {
            for (k, fk) in f.iter_mut().enumerate() {
                let mut s = 0.0;
                for v in &block[k * LANES..(k + 1) * LANES] {
                    s += v;
                }
                *fk += s;
            }
        }
        f
    }
}

/// A wide network under full-batch GD on a fixed training set.
pub struct WideGd {
    cfg: WideConfig,
    net: WideNet,
    data: Points,
    isa: Isa,
    f: Vec<f64>,
    r: Vec<f64>,
    partials: Vec<f64>,
    loss: f64,
    step: usize,
}

impl WideGd {
    pub fn new(cfg: WideConfig, net: WideNet, data: Points) -> Result<Self> {
        if data.d != net.d {
            return Err(Error::bad(format!(
                "wide: data dimension {} differs from the network's {}",
                data.d, net.d
            )));
        }
        if data.is_empty() {
            return Err(Error::bad("wide: the training set is empty"));
        }
        if !(0.0..=1.0).contains(&cfg.gamma) {
            return Err(Error::bad(format!(
                "wide: leaky-ReLU slope gamma = {} must lie in [0, 1]",
                cfg.gamma
            )));
        }
        let mut gd = WideGd {
            cfg,
            net,
            data,
            isa: Isa::detect(),
            f: Vec::new(),
            r: Vec::new(),
            partials: Vec::new(),
            loss: f64::NAN,
            step: 0,
        };
        gd.f = gd.net.pass(
            gd.isa,
            &gd.data.x,
            cfg.gamma,
            Pass::Forward,
            &mut gd.partials,
        );
        gd.loss = cfg.loss.mean(&gd.f, &gd.data.y);
        Ok(gd)
    }

    /// Force the portable kernel (tests: every ISA must give the same bits).
    pub fn use_plain_kernel(&mut self) {
        self.isa = Isa::Plain;
    }

    pub fn net(&self) -> &WideNet {
        &self.net
    }
    pub fn data(&self) -> &Points {
        &self.data
    }
    pub fn config(&self) -> WideConfig {
        self.cfg
    }
    pub fn step_count(&self) -> usize {
        self.step
    }
    /// Training outputs f(x_k) at the current parameters.
    pub fn outputs(&self) -> &[f64] {
        &self.f
    }
    /// Training loss under the configured convention.
    pub fn loss(&self) -> f64 {
        self.loss
    }
    /// Mean squared error 1/n sum (f - y)^2 (the convention-free number).
    pub fn mse(&self) -> f64 {
        SquareLoss::MeanMse.mean(&self.f, &self.data.y)
    }

    /// One GD step (fused pass). Fails with `Error::Numerical` on NaN/inf.
    pub fn step(&mut self) -> Result<()> {
        let n = self.data.len();
        let scale = 2.0 * self.cfg.loss.factor() / n as f64;
        self.r.clear();
        self.r.extend(
            self.f
                .iter()
                .zip(&self.data.y)
                .map(|(f, y)| scale * (f - y)),
        );
        let pass = Pass::Step {
            r: &self.r,
            lr: self.cfg.lr,
        };
        self.f = self.net.pass(
            self.isa,
            &self.data.x,
            self.cfg.gamma,
            pass,
            &mut self.partials,
        );
        self.step += 1;
        self.loss = self.cfg.loss.mean(&self.f, &self.data.y);
        if !self.loss.is_finite() {
            return Err(Error::Numerical(format!(
                "wide GD: training loss is {} after step {} (weights overflowed; try a smaller lr)",
                self.loss, self.step
            )));
        }
        Ok(())
    }

    /// Run `steps` GD steps.
    pub fn run(&mut self, steps: usize) -> Result<()> {
        for _ in 0..steps {
            self.step()?;
        }
        Ok(())
    }

    /// Network outputs on other points (same input dimension), e.g. a test set.
    pub fn predict(&mut self, x: &[f64]) -> Vec<f64> {
        let mut partials = Vec::new();
        self.net
            .pass(self.isa, x, self.cfg.gamma, Pass::Forward, &mut partials)
    }
}

// ------------------------------------------------------------ plain reference

/// f(x_k) for every training point, loop by loop. `w` row-major m x d.
pub fn reference_outputs(a: &[f64], w: &[f64], x: &Points, gamma: f64) -> Vec<f64> {
    let (d, act) = (x.d, Activation::LeakyRelu { slope: gamma });
    (0..x.len())
        .map(|k| {
            let xk = x.row(k);
            a.iter()
                .enumerate()
                .map(|(j, &aj)| {
                    let z: f64 = (0..d).map(|c| w[j * d + c] * xk[c]).sum();
                    aj * act.value(z)
                })
                .sum()
        })
        .collect()
}

/// Loss and exact gradients (dL/da, dL/dW row-major), loop by loop.
pub fn reference_gradients(
    a: &[f64],
    w: &[f64],
    data: &Points,
    gamma: f64,
    conv: SquareLoss,
) -> (f64, Vec<f64>, Vec<f64>) {
    let (n, d) = (data.len(), data.d);
    let act = Activation::LeakyRelu { slope: gamma };
    let f = reference_outputs(a, w, data, gamma);
    let loss = conv.mean(&f, &data.y);
    let scale = 2.0 * conv.factor() / n as f64;
    let mut ga = vec![0.0; a.len()];
    let mut gw = vec![0.0; w.len()];
    for (k, (fk, yk)) in f.iter().zip(&data.y).enumerate() {
        let rk = scale * (fk - yk);
        let xk = data.row(k);
        for j in 0..a.len() {
            let z: f64 = (0..d).map(|c| w[j * d + c] * xk[c]).sum();
            ga[j] += rk * act.value(z);
            let slope = act.derivative(z);
            for c in 0..d {
                gw[j * d + c] += rk * a[j] * slope * xk[c];
            }
        }
    }
    (loss, ga, gw)
}

/// One plain GD step on (a, W row-major); returns the loss before the step.
pub fn reference_step(a: &mut [f64], w: &mut [f64], data: &Points, cfg: &WideConfig) -> f64 {
    let (loss, ga, gw) = reference_gradients(a, w, data, cfg.gamma, cfg.loss);
    for (v, g) in a.iter_mut().zip(&ga) {
        *v -= cfg.lr * g;
    }
    for (v, g) in w.iter_mut().zip(&gw) {
        *v -= cfg.lr * g;
    }
    loss
}

#[cfg(test)]
mod tests;
