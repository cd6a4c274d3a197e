//! Wide, low-dimensional two-layer networks: m up to ~1e6 neurons, n and d
//! small, millions of full-batch GD steps (the early-alignment regime of
//! Boursier & Flammarion).
//!
//! Model: f(x) = sum_j a_j sigma(<w_j, x>), sigma(z) = max(z, gamma z),
//! x in R^d (a bias is an extra constant input coordinate, see
//! `two_layer::with_bias_column`). Loss: L = c/n sum_k (f(x_k) - y_k)^2 with
//! c = 1/2 (the papers' convention, `LossConvention::HalfSquare`) or c = 1
//! (PyTorch's MSELoss(reduction="mean") in the authors' public code,
//! `LossConvention::MeanMse`). Gradients, with r_k = (2c/n)(f(x_k) - y_k):
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
//! one read and one write of the parameters per step, about (3d + 5) n
//! flops per neuron, no allocation.
//!
//! Layout (struct of arrays, blocked): neurons are split into blocks of B
//! (a multiple of `LANES`; B does not depend on the thread count). Block b
//! stores a[B] then w_0[B], ..., w_{d-1}[B] contiguously, so the inner loops
//! run over 8 neighbouring neurons at once (SIMD lanes). Padding neurons are
//! zero and stay zero (their gradient is zero). Blocks run in parallel
//! (rayon); each block writes its own lane partial sums of the outputs, which
//! are then added in block order and lane order: the result is bit-identical
//! whatever the thread count. Every kernel (AVX2+FMA, chosen at run time
//! when the CPU has it, or the portable one) does the same fused multiply-adds in the same
//! order per neuron (`f64::mul_add` rounds once, like the FMA instruction),
//! so the SIMD width does not change a single bit either.
//!
//! `reference_step` / `reference_gradients` are the plain loop-by-loop
//! versions the tests compare the fast path with.

use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::nets::isa::Isa;
use crate::rng::Rng;

/// Neurons whose partial outputs a block keeps apart (two AVX2 registers of f64).
pub const LANES: usize = 8;
/// Largest block of neurons (fixed, so results do not depend on threads).
pub const MAX_BLOCK: usize = 1024;
/// Largest input dimension (bias coordinate included) of the fused kernel.
pub const MAX_DIM: usize = 16;

/// Which square-loss normalisation L uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossConvention {
    /// L = 1/n sum 1/2 (f - y)^2: Boursier & Flammarion's papers.
    HalfSquare,
    /// L = 1/n sum (f - y)^2: torch.nn.MSELoss(reduction="mean"), the public code.
    /// GD with step lr on this loss equals GD with step 2 lr on `HalfSquare`.
    MeanMse,
}

impl LossConvention {
    /// c in L = c/n sum (f - y)^2.
    pub fn factor(self) -> f64 {
        match self {
            LossConvention::HalfSquare => 0.5,
            LossConvention::MeanMse => 1.0,
        }
    }
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
    pub loss: LossConvention,
}

/// sigma(z) = max(z, gamma z) for 0 <= gamma <= 1, written exactly as the
/// SIMD `max` instruction evaluates it (second operand unless the first is
/// larger), so every kernel gives the same bits.
#[inline(always)]
fn act(z: f64, gamma: f64) -> f64 {
    let gz = gamma * z;
    if z > gz {
        z
    } else {
        gz
    }
}

/// <w_j, x_k> for the LANES neurons of `wv` (coordinate-major), with fused
/// multiply-adds (one rounding each, as the FMA instructions do).
#[inline(always)]
fn preactivation<const D: usize>(wv: &[[f64; LANES]; D], xk: &[f64]) -> [f64; LANES] {
    let mut z = [0.0f64; LANES];
    for l in 0..LANES {
        z[l] = wv[0][l] * xk[0];
    }
    for c in 1..D {
        for l in 0..LANES {
            z[l] = wv[c][l].mul_add(xk[c], z[l]);
        }
    }
    z
}

/// What one kernel call does to a block.
#[derive(Clone, Copy)]
enum Pass<'a> {
    /// GD step with output gradients r (length n), then the new outputs' partials.
    Step { r: &'a [f64], lr: f64 },
    /// Only the outputs' partials.
    Forward,
}

/// The fused kernel on one block of `bsize` neurons with input dimension D.
/// `params` = [a(bsize) | w_0(bsize) | ... | w_{D-1}(bsize)];
/// `acc` (n x LANES) receives lane partial sums of sum_j a_j sigma(<w_j, x_k>)
/// after the update.
#[inline(always)]
fn block_kernel<const D: usize>(
    params: &mut [f64],
    bsize: usize,
    x: &[f64],
    gamma: f64,
    pass: Pass<'_>,
    acc: &mut [f64],
) {
    acc.fill(0.0);
    let (a, w) = params.split_at_mut(bsize);
    let mut g = 0;
    while g < bsize {
        let mut av = [0.0f64; LANES];
        av.copy_from_slice(&a[g..g + LANES]);
        let mut wv = [[0.0f64; LANES]; D];
        for c in 0..D {
            wv[c].copy_from_slice(&w[c * bsize + g..c * bsize + g + LANES]);
        }
        if let Pass::Step { r, lr } = pass {
            let mut ga = [0.0f64; LANES];
            let mut gw = [[0.0f64; LANES]; D];
            for (xk, &rk) in x.chunks_exact(D).zip(r) {
                let z = preactivation::<D>(&wv, xk);
                let grk = gamma * rk;
                let mut q = [0.0f64; LANES];
                for l in 0..LANES {
                    ga[l] = rk.mul_add(act(z[l], gamma), ga[l]);
                    q[l] = if z[l] > 0.0 { rk } else { grk };
                }
                for c in 0..D {
                    for l in 0..LANES {
                        gw[c][l] = q[l].mul_add(xk[c], gw[c][l]);
                    }
                }
            }
            for c in 0..D {
                for l in 0..LANES {
                    wv[c][l] = (-lr).mul_add(av[l] * gw[c][l], wv[c][l]);
                }
            }
            for l in 0..LANES {
                av[l] = (-lr).mul_add(ga[l], av[l]);
            }
            a[g..g + LANES].copy_from_slice(&av);
            for c in 0..D {
                w[c * bsize + g..c * bsize + g + LANES].copy_from_slice(&wv[c]);
            }
        }
        for (xk, out) in x.chunks_exact(D).zip(acc.chunks_exact_mut(LANES)) {
            let z = preactivation::<D>(&wv, xk);
            let out: &mut [f64; LANES] = out.try_into().expect("LANES-wide chunk");
            for l in 0..LANES {
                out[l] = av[l].mul_add(act(z[l], gamma), out[l]);
            }
        }
        g += LANES;
    }
}

macro_rules! isa_variants {
    ($($d:literal),*) => {
        /// Run the kernel for input dimension `d` with the given ISA.
        #[allow(clippy::too_many_arguments)]
        fn run_kernel(isa: Isa, d: usize, params: &mut [f64], bsize: usize, x: &[f64], gamma: f64, pass: Pass<'_>, acc: &mut [f64]) {
            match d {
                $($d => match isa {
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: `Isa::Avx2` is only chosen when the CPU reports avx2 and fma.
                    Isa::Avx2 => unsafe { x86::avx2::kernel::<$d>(params, bsize, x, gamma, pass, acc) },
                    Isa::Plain => block_kernel::<$d>(params, bsize, x, gamma, pass, acc),
                },)*
                _ => unreachable!("input dimension checked at construction"),
            }
        }
    };
}
isa_variants!(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);

/// The same kernel written with explicit x86 SIMD intrinsics (the compiler's
/// loop vectoriser otherwise vectorises the forward pass across samples, with
/// gathers). Every lane does exactly the operations of `block_kernel`, in the
/// same order, with separate multiplies and adds, so the bits agree with the
/// portable kernel.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Pass, LANES};

    /// The kernel body over vectors of W neurons, given the ISA's helpers
    /// `ld`, `st`, `splat`, `mul`, `fma`, `fnma`, `max`, `sel` in scope.
    macro_rules! simd_kernel_body {
        ($params:ident, $bsize:ident, $x:ident, $gamma:ident, $pass:ident, $acc:ident) => {{
            $acc.fill(0.0);
            let n = $x.len() / D;
            assert!(
                $params.len() >= (D + 1) * $bsize
                    && $acc.len() >= n * LANES
                    && $x.len() == n * D
                    && $bsize % LANES == 0
            );
            let pa = $params.as_mut_ptr();
            let pacc = $acc.as_mut_ptr();
            // SAFETY: the helpers only need the kernel's own target features.
            let (zero, gv) = unsafe { (splat(0.0), splat($gamma)) };
            let mut g = 0;
            while g < $bsize {
                // SAFETY: g + W <= bsize, (D + 1) bsize <= params.len(),
                // k LANES + LANES <= acc.len() and k D + D <= x.len() (asserted above).
                unsafe {
                    let mut av = ld(pa.add(g));
                    let mut wv = [zero; D];
                    for (c, wc) in wv.iter_mut().enumerate() {
                        *wc = ld(pa.add((c + 1) * $bsize + g));
                    }
                    if let Pass::Step { r, lr } = $pass {
                        let lrv = splat(lr);
                        let mut ga = zero;
                        let mut gw = [zero; D];
                        for (xk, &rk) in $x.chunks_exact(D).zip(r) {
                            let mut z = mul(wv[0], splat(xk[0]));
                            for c in 1..D {
                                z = fma(wv[c], splat(xk[c]), z);
                            }
                            let rv = splat(rk);
                            ga = fma(rv, max(z, mul(gv, z)), ga);
                            let q = sel(z, rv, splat($gamma * rk));
                            for c in 0..D {
                                gw[c] = fma(q, splat(xk[c]), gw[c]);
                            }
                        }
                        for c in 0..D {
                            wv[c] = fnma(lrv, mul(av, gw[c]), wv[c]);
                            st(pa.add((c + 1) * $bsize + g), wv[c]);
                        }
                        av = fnma(lrv, ga, av);
                        st(pa.add(g), av);
                    }
                    for (k, xk) in $x.chunks_exact(D).enumerate() {
                        let mut z = mul(wv[0], splat(xk[0]));
                        for c in 1..D {
                            z = fma(wv[c], splat(xk[c]), z);
                        }
                        let out = pacc.add(k * LANES + g % LANES);
                        st(out, fma(av, max(z, mul(gv, z)), ld(out)));
                    }
                }
                g += W;
            }
        }};
    }

    pub mod avx2 {
        use super::{Pass, LANES};
        use std::arch::x86_64::*;
        type V = __m256d;
        const W: usize = 4;

        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn ld(p: *const f64) -> V {
            _mm256_loadu_pd(p)
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn st(p: *mut f64, v: V) {
            _mm256_storeu_pd(p, v)
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn splat(v: f64) -> V {
            _mm256_set1_pd(v)
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn mul(a: V, b: V) -> V {
            _mm256_mul_pd(a, b)
        }
        /// a b + c with one rounding.
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn fma(a: V, b: V, c: V) -> V {
            _mm256_fmadd_pd(a, b, c)
        }
        /// c - a b with one rounding.
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn fnma(a: V, b: V, c: V) -> V {
            _mm256_fnmadd_pd(a, b, c)
        }
        /// The second operand unless the first is larger (x86 `max` semantics).
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn max(a: V, b: V) -> V {
            _mm256_max_pd(a, b)
        }
        /// Lane-wise `if z > 0 { pos } else { neg }`.
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn sel(z: V, pos: V, neg: V) -> V {
            _mm256_blendv_pd(
                neg,
                pos,
                _mm256_cmp_pd::<_CMP_GT_OQ>(z, _mm256_setzero_pd()),
            )
        }

        /// `block_kernel` with 4 neurons per AVX2 register (two per lane group).
        #[target_feature(enable = "avx2,fma")]
        pub unsafe fn kernel<const D: usize>(
            params: &mut [f64],
            bsize: usize,
            x: &[f64],
            gamma: f64,
            pass: Pass<'_>,
            acc: &mut [f64],
        ) {
            simd_kernel_body!(params, bsize, x, gamma, pass, acc)
        }
    }
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
        if blocks == 1 {
            run_kernel(isa, d, &mut self.params, bsize, x, gamma, pass, partials);
        } else {
            self.params
                .par_chunks_mut(stride)
                .zip(partials.par_chunks_mut(n * LANES))
                .for_each(|(p, acc)| run_kernel(isa, d, p, bsize, x, gamma, pass, acc));
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
        gd.loss = square_loss(&gd.f, &gd.data.y, cfg.loss);
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
        square_loss(&self.f, &self.data.y, LossConvention::MeanMse)
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
        self.loss = square_loss(&self.f, &self.data.y, self.cfg.loss);
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

/// L = c/n sum (f - y)^2.
pub fn square_loss(f: &[f64], y: &[f64], conv: LossConvention) -> f64 {
    let s: f64 = f.iter().zip(y).map(|(f, y)| (f - y) * (f - y)).sum();
    conv.factor() * s / y.len() as f64
}

// ------------------------------------------------------------ plain reference

/// f(x_k) for every training point, loop by loop. `w` row-major m x d.
pub fn reference_outputs(a: &[f64], w: &[f64], x: &Points, gamma: f64) -> Vec<f64> {
    let d = x.d;
    (0..x.len())
        .map(|k| {
            let xk = x.row(k);
            a.iter()
                .enumerate()
                .map(|(j, &aj)| {
                    let z: f64 = (0..d).map(|c| w[j * d + c] * xk[c]).sum();
                    aj * act(z, gamma)
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
    conv: LossConvention,
) -> (f64, Vec<f64>, Vec<f64>) {
    let (n, d) = (data.len(), data.d);
    let f = reference_outputs(a, w, data, gamma);
    let loss = square_loss(&f, &data.y, conv);
    let scale = 2.0 * conv.factor() / n as f64;
    let mut ga = vec![0.0; a.len()];
    let mut gw = vec![0.0; w.len()];
    for (k, (fk, yk)) in f.iter().zip(&data.y).enumerate() {
        let rk = scale * (fk - yk);
        let xk = data.row(k);
        for j in 0..a.len() {
            let z: f64 = (0..d).map(|c| w[j * d + c] * xk[c]).sum();
            ga[j] += rk * act(z, gamma);
            let slope = if z > 0.0 { 1.0 } else { gamma };
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
mod tests {
    use super::*;
    use crate::test_util::assert_same_bits;

    fn toy(m: usize, d: usize, n: usize, seed: u64) -> (Vec<f64>, Vec<f64>, Points) {
        let mut rng = crate::rng::stream(seed, 0, "wide-test");
        let init = WideInit {
            scheme: InitScheme::Unbalanced,
            lambda: 1.0,
            symmetric: false,
        };
        let (a, w) = init_params(m, d, &init, &mut rng);
        let x: Vec<f64> = (0..n * d).map(|_| rng.random_range(-1.0..1.0)).collect();
        let y: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
        (a, w, Points::new(d, x, y).unwrap())
    }

    #[test]
    fn layout_round_trips() {
        let (a, w, _) = toy(2050, 3, 4, 1);
        let net = WideNet::from_arrays(&a, &w, 3).unwrap();
        let (a2, w2) = net.to_arrays();
        assert_same_bits(&a, &a2, "a");
        assert_same_bits(&w, &w2, "w");
        assert_eq!(net.blocks(), 3);
    }

    #[test]
    fn fast_step_matches_reference_and_every_isa_agrees() {
        let cfg = WideConfig {
            gamma: 0.2,
            lr: 0.05,
            loss: LossConvention::MeanMse,
        };
        let (mut a, mut w, data) = toy(3001, 3, 5, 2);
        let net = WideNet::from_arrays(&a, &w, 3).unwrap();
        let mut fast = WideGd::new(cfg, net.clone(), data.clone()).unwrap();
        let mut plain = WideGd::new(cfg, net.clone(), data.clone()).unwrap();
        plain.use_plain_kernel();
        #[allow(unused_mut)]
        let mut others: Vec<WideGd> = Vec::new();
        #[cfg(target_arch = "x86_64")]
        if Isa::detect() == Isa::Avx2 {
            let mut gd = WideGd::new(cfg, net, data.clone()).unwrap();
            gd.isa = Isa::Avx2;
            others.push(gd);
        }
        for _ in 0..5 {
            reference_step(&mut a, &mut w, &data, &cfg);
            fast.step().unwrap();
            plain.step().unwrap();
            for gd in &mut others {
                gd.step().unwrap();
            }
        }
        let (fa, fw) = fast.net().to_arrays();
        let (pa, pw) = plain.net().to_arrays();
        assert_same_bits(&fa, &pa, "a: SIMD width changed the bits");
        assert_same_bits(&fw, &pw, "w: SIMD width changed the bits");
        assert_same_bits(fast.outputs(), plain.outputs(), "outputs");
        for gd in &others {
            let (ga, gw) = gd.net().to_arrays();
            let isa = format!("{:?}", gd.isa);
            assert_same_bits(&ga, &fa, &format!("a, {isa}"));
            assert_same_bits(&gw, &fw, &format!("w, {isa}"));
            assert_same_bits(gd.outputs(), fast.outputs(), &format!("outputs, {isa}"));
        }
        for (u, v) in fa.iter().zip(&a).chain(fw.iter().zip(&w)) {
            assert!((u - v).abs() <= 1e-12 * (1.0 + v.abs()), "{u} vs {v}");
        }
        let f_ref = reference_outputs(&a, &w, &data, cfg.gamma);
        for (u, v) in fast.outputs().iter().zip(&f_ref) {
            assert!((u - v).abs() <= 1e-10 * (1.0 + v.abs()));
        }
    }

    #[test]
    fn thread_count_does_not_change_bits() {
        let cfg = WideConfig {
            gamma: 0.0,
            lr: 0.01,
            loss: LossConvention::HalfSquare,
        };
        let (a, w, data) = toy(10_000, 2, 3, 3);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let net = WideNet::from_arrays(&a, &w, 2).unwrap();
                let mut gd = WideGd::new(cfg, net, data.clone()).unwrap();
                gd.run(20).unwrap();
                (gd.outputs().to_vec(), gd.net().to_arrays())
            })
        };
        assert_eq!(run(1), run(3));
    }

    #[test]
    fn symmetric_init_has_zero_output() {
        let mut rng = crate::rng::stream(4, 0, "t");
        let init = WideInit {
            scheme: InitScheme::Balanced,
            lambda: 5.0,
            symmetric: true,
        };
        let (a, w) = init_params(100, 3, &init, &mut rng);
        let data = toy(1, 3, 7, 5).2;
        let f = reference_outputs(&a, &w, &data, 0.0);
        assert!(f.iter().all(|v| v.abs() < 1e-12), "{f:?}");
    }

    #[test]
    fn init_shapes_hold() {
        let mut rng = crate::rng::stream(6, 0, "t");
        let m = 4000;
        for scheme in [InitScheme::Balanced, InitScheme::Dominated] {
            let init = WideInit {
                scheme,
                lambda: 1e-3,
                symmetric: false,
            };
            let (a, w) = init_params(m, 2, &init, &mut rng);
            for j in 0..m {
                let nw = (w[2 * j].powi(2) + w[2 * j + 1].powi(2)).sqrt();
                match scheme {
                    InitScheme::Balanced => assert!((a[j].abs() - nw).abs() < 1e-18),
                    _ => assert!(a[j].abs() >= nw),
                }
            }
        }
    }
}
