//! Two-layer networks f(x) = sum_j a_j sigma(<w_j, x>), f64, trained by
//! full-batch gradient descent on L = 1/n sum_i l(f(x_i), y_i) (+ weight decay).
//!
//! Shapes: X is n x d (one sample per row), W is d x m (neuron j is column j),
//! a has length m, pre-activations Z = X W are n x m.
//! Biases are not a separate parameter: append a constant input coordinate
//! (`with_bias_column`), which makes the bias part of w_j, as in the papers.
//!
//! Two exact engines share one step (`backprop_coefficients`):
//! - primal: Z = X W by gemm, then W <- (1 - lr lambda) W - lr X^T G;
//!   O(n d m) per step. Since sigma' takes two values, G = diag(d) S diag(a)
//!   with S read from the signs of Z, and from 64 neurons X^T G is computed
//!   by table lookup (`gram_update`, n d m / 6 adds) rather than by gemm
//!   (2 n d m flops), which halves the step's arithmetic.
//! - dual: full-batch GD keeps W(t) = s(t) W(0) + X^T C(t) (C is n x m,
//!   s(t) = (1 - lr lambda)^t from weight decay), so Z(t) = s Z(0) + K C(t) with
//!   K = X X^T precomputed. One n x n x m product K G a step: O(n^2 m),
//!   independent of d. Since sigma' takes two values, G = diag(d) S diag(a)
//!   with S read from the signs of Z, and from 64 neurons the product is
//!   computed by table lookup (`gram_update`, n^2 m / 6 adds) rather than
//!   by gemm (2 n^2 m flops).
//!   Any other point set v (test data, probe directions such as mu1) is
//!   evaluated through its cross-Gram v X^T and its initial projections v W(0).
//!
//! In both, `FirstLayerProduct` chooses between the table and the gemm; the
//! gemm is the reference.
//!
//! Neither engine allocates inside `step` beyond `par_gemm`'s short list of
//! blocks, the n per-row losses of `backprop_coefficients` and the lists of
//! a pass's parts, one a thread (`job_queue::on_own_threads`) (the table
//! update's scratch, the fused primal forward's partial products included,
//! is allocated at its first step and kept). The exception is the gemm
//! reference product of a primal step with a big X: `par_gemm`'s inner cut
//! (`blas::GemmCut::Inner`) allocates its (blocks - 1) n x m partial
//! products at every call.

use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis, Zip};
use serde::{Deserialize, Serialize};

use super::activation::Activation;
use super::loss::Loss;
use super::{first_layer_coefficient, moved_coefficient, PARALLEL_FROM};
use crate::blas::{par_gemm, GemmCut};
use crate::error::{Error, Result};
use crate::nets::gram_update::{forward_depth, GramUpdate};
use crate::nets::isa::{per_isa, Isa};
use crate::nets::job_queue::{on_own_threads, row_parts};
pub use crate::nets::outputs::{
    output_of_row, outputs_from_preactivations, outputs_from_preactivations_on,
};
use crate::nets::outputs::{outputs_into, ROW_BLOCK};

/// Which layers gradient descent moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainedLayers {
    First,
    Second,
    Both,
}

impl TrainedLayers {
    pub fn first(self) -> bool {
        matches!(self, TrainedLayers::First | TrainedLayers::Both)
    }
    pub fn second(self) -> bool {
        matches!(self, TrainedLayers::Second | TrainedLayers::Both)
    }
}

/// Hyperparameters of full-batch GD.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GdConfig {
    pub activation: Activation,
    pub loss: Loss,
    /// Step size alpha.
    pub lr: f64,
    /// L2 penalty lambda/2 ||theta||^2 on the trained layers.
    pub weight_decay: f64,
    pub trained: TrainedLayers,
}

/// Which exact engine runs the steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EngineKind {
    Primal,
    Dual,
    /// The cheaper of the two for the problem's (n, d, m, steps).
    Auto,
}

/// Floating-point operations of `steps` steps (plus set-up) on an n x d problem
/// with m neurons. Primal: two gemms of 2 n d m flops a step. Dual: K = X X^T
/// (n^2 d, a symmetric product's count; the code forms it with a full gemm,
/// 2 n^2 d) and Z(0) (2 n d m) once, then one 2 n^2 m gemm a step.
/// `Auto` costs what the cheaper of the two costs.
///
/// Both per-step counts are the gemm forms (`FirstLayerProduct::Gemm`).
/// From `TABLE_FROM_NEURONS` neurons each step computes its product by
/// table lookup instead, about n^2 m / 6 adds for the dual's K G and
/// n d m / 6 for the primal's X^T G (`gram_update::adds`), so the model
/// overstates both: `Auto` picks the dual for n < about 2 d, where with
/// the tables (the dual's 2.5x faster than its gemm at n = 200, m = 1000;
/// the primal's step 1.3x) it would pay up to about n = 4 d. Kept
/// as it is: the choice decides which engine's rounding a committed run
/// has, and changing it would change those runs' bits.
pub fn engine_cost(kind: EngineKind, n: usize, d: usize, m: usize, steps: usize) -> f64 {
    let (nf, df, mf, t) = (n as f64, d as f64, m as f64, steps as f64);
    match kind {
        EngineKind::Primal => 4.0 * nf * df * mf * t,
        EngineKind::Dual => nf * nf * df + 2.0 * nf * df * mf + 2.0 * nf * nf * mf * t,
        EngineKind::Auto => engine_cost(EngineKind::Primal, n, d, m, steps).min(engine_cost(
            EngineKind::Dual,
            n,
            d,
            m,
            steps,
        )),
    }
}

/// Resolve `Auto` to the cheaper engine.
pub fn choose_engine(kind: EngineKind, n: usize, d: usize, m: usize, steps: usize) -> EngineKind {
    match kind {
        EngineKind::Auto => {
            if engine_cost(EngineKind::Dual, n, d, m, steps)
                < engine_cost(EngineKind::Primal, n, d, m, steps)
            {
                EngineKind::Dual
            } else {
                EngineKind::Primal
            }
        }
        k => k,
    }
}

/// Append a constant-1 column to X (n x d -> n x (d+1)): the bias as an input.
pub fn with_bias_column(x: ArrayView2<f64>) -> Array2<f64> {
    let (n, d) = x.dim();
    let mut out = Array2::ones((n, d + 1));
    out.slice_mut(s![.., ..d]).assign(&x);
    out
}

/// The fused elementwise core of one GD step, shared by both engines.
///
/// Given Z (n x m), computes f_i = sum_j a_j sigma(Z_ij), the mean loss
/// L = 1/n sum_i l(f_i, y_i), and writes, when asked,
///   G_ij     = (1/n) l'(f_i, y_i) a_j sigma'(Z_ij)     (so dL/dW = X^T G),
///   grad_a_j = (1/n) sum_i l'(f_i, y_i) sigma(Z_ij)    (= dL/da_j).
/// (The table products of both engines read G's factors instead: `g_out` None.)
/// Returns L. Cost O(n m). Without grad_a and with n m >= `PARALLEL_FROM`,
/// the rows are cut into one chunk per thread of the current rayon pool
/// (`backprop_rows`); every row is computed as on one thread and the
/// per-row losses are summed in row order, so the bits do not depend on the
/// thread count. Compiled once per instruction set (`per_isa!`), every
/// compilation with the same bits; it runs with AVX2 at most: the AVX-512
/// compilation was 1.2x slower than the portable one, AVX2 1.3x faster
/// (`cargo bench --bench two_layer -- backprop`, n = 200, m = 1000, AMD
/// EPYC Zen 4). The outputs f_i are summed apart from that cap, on the
/// CPU's widest set (`outputs::outputs_into`).
#[allow(clippy::too_many_arguments)]
pub fn backprop_coefficients(
    z: ArrayView2<f64>,
    a: ArrayView1<f64>,
    y: ArrayView1<f64>,
    act: Activation,
    loss: Loss,
    f_out: &mut Array1<f64>,
    g_out: Option<&mut Array2<f64>>,
    grad_a: Option<&mut Array1<f64>>,
) -> f64 {
    let isa = Isa::detect().min(Isa::AVX2_OR_PLAIN);
    backprop_coefficients_on(isa, z, a, y, act, loss, f_out, g_out, grad_a)
}

/// `backprop_coefficients` compiled for the instruction set `isa` (one of
/// `Isa::available()`). The outputs f_i are summed on the CPU's widest set
/// whatever `isa` (`outputs::outputs_into`; every set gives the serial
/// `output_of_row`'s bits, which the tests check set by set through
/// `outputs_from_preactivations_on`), so `isa` picks the compilation of G,
/// grad_a and the losses only.
///
/// # Panics
/// When the CPU does not run `isa`.
#[allow(clippy::too_many_arguments)]
pub fn backprop_coefficients_on(
    isa: Isa,
    z: ArrayView2<f64>,
    a: ArrayView1<f64>,
    y: ArrayView1<f64>,
    act: Activation,
    loss: Loss,
    f_out: &mut Array1<f64>,
    g_out: Option<&mut Array2<f64>>,
    grad_a: Option<&mut Array1<f64>>,
) -> f64 {
    let (n, m) = z.dim();
    let mut losses = vec![0.0; n];
    let threads = rayon::current_num_threads();
    let rows_per_chunk = row_parts(n, ROW_BLOCK).1;
    if grad_a.is_some() || threads < 2 || n * m < PARALLEL_FROM || rows_per_chunk >= n {
        let (f, g) = (f_out.view_mut(), g_out.map(|g| g.view_mut()));
        backprop_rows_on(isa, z, a, y, act, loss, n, f, g, &mut losses, grad_a);
    } else {
        // Cut as `GramUpdate` cuts Z's rows, part i on thread i
        // (`job_queue::on_own_threads`): each thread reads the rows it
        // updated.
        let (mut f_rest, mut g_rest) = (f_out.view_mut(), g_out.map(|g| g.view_mut()));
        let mut losses_rest = &mut losses[..];
        let mut parts = Vec::with_capacity(threads);
        for r0 in (0..n).step_by(rows_per_chunk) {
            let rows = rows_per_chunk.min(n - r0);
            let (f, f_tail) = f_rest.split_at(Axis(0), rows);
            let (g, g_tail) = match g_rest {
                Some(g) => {
                    let (g, tail) = g.split_at(Axis(0), rows);
                    (Some(g), Some(tail))
                }
                None => (None, None),
            };
            let (l, l_tail) = losses_rest.split_at_mut(rows);
            (f_rest, g_rest, losses_rest) = (f_tail, g_tail, l_tail);
            parts.push((r0, rows, f, g, l));
        }
        on_own_threads(parts, |_, (r0, rows, f, g, l)| {
            let (zc, yc) = (z.slice(s![r0..r0 + rows, ..]), y.slice(s![r0..r0 + rows]));
            backprop_rows_on(isa, zc, a, yc, act, loss, n, f, g, l, None);
        });
    }
    let total: f64 = losses.iter().fold(0.0, |t, &l| t + l);
    total / n as f64
}

/// d_i = l'(f_i, y_i) / n for every training row, as `backprop_coefficients`
/// has them: G_ij = d_i a_j sigma'(Z_ij) for the table products.
fn output_coefficients(loss: Loss, f: &Array1<f64>, y: &Array1<f64>, d: &mut Vec<f64>) {
    let n = y.len() as f64;
    d.clear();
    d.extend(
        f.iter()
            .zip(y)
            .map(|(&fi, &yi)| output_coefficient(loss, fi, yi, n)),
    );
}

/// d_i = l'(f_i, y_i) / n, the per-sample factor of G_ij = d_i a_j sigma'(Z_ij):
/// one formula for the fused core and the table products.
#[inline(always)]
fn output_coefficient(loss: Loss, f: f64, y: f64, n: f64) -> f64 {
    loss.derivative(f, y) / n
}

per_isa! {
    up to AVX2_OR_PLAIN:
    /// `backprop_coefficients` on a block of rows of Z (`y`, `f_out`,
    /// `g_out` and `losses` the same rows; `n` all rows of the batch, the
    /// 1/n of the mean): writes f and each row's loss l(f_i, y_i), G and
    /// the rows' terms of grad_a when asked. (Called only through
    /// `backprop_rows_on`, with the caller's instruction set.)
    #[allow(clippy::too_many_arguments, dead_code)]
    fn backprop_rows / backprop_rows_on(
        z: ArrayView2<f64>,
        a: ArrayView1<f64>,
        y: ArrayView1<f64>,
        act: Activation,
        loss: Loss,
        n: usize,
        f_out: ArrayViewMut1<f64>,
        g_out: Option<ArrayViewMut2<f64>>,
        losses: &mut [f64],
        grad_a: Option<&mut Array1<f64>>,
    ) {
        let (mut f_out, mut g_out, mut grad_a) = (f_out, g_out, grad_a);
        let n = n as f64;
        if let Some(ga) = grad_a.as_deref_mut() {
            ga.fill(0.0);
        }
        outputs_into(z, a, act, f_out.view_mut(), Isa::detect());
        for (i, zrow) in z.outer_iter().enumerate() {
            let fi = f_out[i];
            losses[i] = loss.value(fi, y[i]);
            let di = output_coefficient(loss, fi, y[i], n);
            if let Some(g_out) = g_out.as_mut() {
                Zip::from(g_out.row_mut(i))
                    .and(&zrow)
                    .and(&a)
                    .for_each(|g, &zij, &aj| {
                        *g = first_layer_coefficient(di, aj, act.derivative(zij))
                    });
            }
            if let Some(ga) = grad_a.as_deref_mut() {
                Zip::from(ga)
                    .and(&zrow)
                    .for_each(|ga, &zij| *ga += di * act.value(zij));
            }
        }
    }
}

/// Loss and exact gradients (dL/dW, dL/da) of the network (W, a) on (X, y),
/// without weight decay. The allocating convenience form of the step's core,
/// used by the finite-difference tests and by callers that need one gradient.
pub fn loss_and_gradients(
    x: ArrayView2<f64>,
    y: ArrayView1<f64>,
    w: ArrayView2<f64>,
    a: ArrayView1<f64>,
    act: Activation,
    loss: Loss,
) -> (f64, Array2<f64>, Array1<f64>) {
    let z = x.dot(&w);
    let (n, m) = z.dim();
    let mut f = Array1::zeros(n);
    let mut g = Array2::zeros((n, m));
    let mut grad_a = Array1::zeros(m);
    let l = backprop_coefficients(
        z.view(),
        a,
        y,
        act,
        loss,
        &mut f,
        Some(&mut g),
        Some(&mut grad_a),
    );
    (l, x.t().dot(&g), grad_a)
}

/// The plain reference forward pass, loop by loop, for tests of the fast paths.
pub fn reference_outputs(
    x: ArrayView2<f64>,
    w: ArrayView2<f64>,
    a: ArrayView1<f64>,
    act: Activation,
) -> Array1<f64> {
    let (n, d) = x.dim();
    let m = w.ncols();
    let mut out = Array1::zeros(n);
    for i in 0..n {
        let mut fi = 0.0;
        for j in 0..m {
            let mut zij = 0.0;
            for k in 0..d {
                zij += x[[i, k]] * w[[k, j]];
            }
            fi += a[j] * act.value(zij);
        }
        out[i] = fi;
    }
    out
}

/// How the first layer is stored while training.
enum FirstLayer {
    /// W itself (d x m), with X kept for the products.
    Primal { x: Array2<f64>, w: Array2<f64> },
    /// W = s W(0) + X^T C: the Gram K = X X^T, s and C (Z is updated through K).
    Dual {
        k: Array2<f64>,
        s: f64,
        c: Array2<f64>,
        x_train: Array2<f64>,
    },
}

/// How a step computes the product that moves the first layer: the dual's
/// K G (its only O(n^2 m) work), the primal's X^T G (half its O(n d m) work).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirstLayerProduct {
    /// A gemm on G (`par_gemm`): the reference.
    Gemm,
    /// Table lookup on the signs of Z (`gram_update`): exact for the
    /// two-valued sigma' of ReLU and leaky ReLU, equal to the gemm up to
    /// rounding; the dual's K G is 2.5x faster on one thread at n = 200,
    /// m = 1000.
    Table,
}

/// Neurons from which a step uses `FirstLayerProduct::Table`: below, its
/// tables (2^6 entries a block of 6 samples) cost more than they save.
const TABLE_FROM_NEURONS: usize = 64;

/// A point set prepared for evaluation under the running engine: its
/// pre-activations <w_j(t), v> at any step come from `preactivations`.
pub struct EvalSet {
    inner: EvalInner,
}

enum EvalInner {
    Primal { v: Array2<f64> },
    Dual { cross: Array2<f64>, z0: Array2<f64> },
}

impl EvalSet {
    pub fn len(&self) -> usize {
        match &self.inner {
            EvalInner::Primal { v } => v.nrows(),
            EvalInner::Dual { cross, .. } => cross.nrows(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A two-layer network under full-batch GD, with its training state.
pub struct TwoLayerGd {
    cfg: GdConfig,
    kind: EngineKind,
    layer: FirstLayer,
    a: Array1<f64>,
    y: Array1<f64>,
    /// Current training pre-activations Z(t), n x m.
    z: Array2<f64>,
    /// Scratch: outputs f(x_i), the coefficients G (n x m once a step reads
    /// it; empty under either engine's table product, which reads G's
    /// factors, the dual's moving C in the pass that reads Z's signs) and the
    /// second-layer gradient.
    f: Array1<f64>,
    g: Array2<f64>,
    grad_a: Array1<f64>,
    /// The product that moves the first layer, and the table product's
    /// scratch: its tables and d_i = l'(f_i, y_i) / n.
    product: FirstLayerProduct,
    table: GramUpdate,
    d: Vec<f64>,
    step: usize,
    last_loss: f64,
}

impl TwoLayerGd {
    /// Start GD from (W(0), a(0)) on the training set (X, y).
    /// `kind` must be resolved (`choose_engine`), not `Auto`.
    pub fn new(
        cfg: GdConfig,
        kind: EngineKind,
        x: Array2<f64>,
        y: Array1<f64>,
        w0: Array2<f64>,
        a0: Array1<f64>,
    ) -> Result<Self> {
        let (n, d) = x.dim();
        let m = w0.ncols();
        if w0.nrows() != d || a0.len() != m || y.len() != n {
            return Err(Error::bad(format!(
                "two-layer: inconsistent shapes X {n}x{d}, W {}x{m}, a {}, y {}",
                w0.nrows(),
                a0.len(),
                y.len()
            )));
        }
        let z = x.dot(&w0);
        let layer = match kind {
            EngineKind::Primal | EngineKind::Auto => FirstLayer::Primal { x, w: w0 },
            EngineKind::Dual => {
                let k = x.dot(&x.t());
                FirstLayer::Dual {
                    k,
                    s: 1.0,
                    c: Array2::zeros((n, m)),
                    x_train: x,
                }
            }
        };
        let kind = if kind == EngineKind::Auto {
            EngineKind::Primal
        } else {
            kind
        };
        let mut gd = TwoLayerGd {
            cfg,
            kind,
            layer,
            a: a0,
            y,
            z,
            f: Array1::zeros(n),
            g: Array2::zeros((0, 0)),
            grad_a: Array1::zeros(m),
            product: if m >= TABLE_FROM_NEURONS {
                FirstLayerProduct::Table
            } else {
                FirstLayerProduct::Gemm
            },
            table: GramUpdate::new(),
            d: Vec::with_capacity(n),
            step: 0,
            last_loss: f64::NAN,
        };
        gd.refresh_outputs();
        Ok(gd)
    }

    pub fn engine(&self) -> EngineKind {
        self.kind
    }
    /// The step's product (the dual's K G, the primal's X^T G): the table
    /// from `TABLE_FROM_NEURONS` neurons, else the gemm; this sets it
    /// (tests, benches).
    pub fn set_product(&mut self, how: FirstLayerProduct) {
        self.product = how;
        self.refresh_outputs(); // G, if the new product reads it
    }
    /// The step's product (the dual's K G, the primal's X^T G).
    pub fn product(&self) -> FirstLayerProduct {
        self.product
    }
    pub fn step_count(&self) -> usize {
        self.step
    }
    pub fn second_layer(&self) -> ArrayView1<'_, f64> {
        self.a.view()
    }
    /// Training outputs f(x_i; theta(t)) at the current step.
    pub fn train_outputs(&self) -> ArrayView1<'_, f64> {
        self.f.view()
    }
    /// Mean training loss (without the weight-decay penalty) at the current step.
    pub fn train_loss(&self) -> f64 {
        self.last_loss
    }

    fn refresh_outputs(&mut self) {
        let table = self.product == FirstLayerProduct::Table;
        let (cfg, z, a, y) = (&self.cfg, &self.z, &self.a, &self.y);
        let grad_a = if cfg.trained.second() {
            Some(&mut self.grad_a)
        } else {
            None
        };
        let g = if cfg.trained.first() && !table {
            if self.g.dim() != z.dim() {
                self.g = Array2::zeros(z.dim());
            }
            Some(&mut self.g)
        } else {
            None
        };
        self.last_loss = backprop_coefficients(
            z.view(),
            a.view(),
            y.view(),
            cfg.activation,
            cfg.loss,
            &mut self.f,
            g,
            grad_a,
        );
    }

    /// One GD step: theta <- (1 - lr lambda) theta - lr grad L(theta).
    /// Fails with `Error::Numerical` if the loss or an output is not finite.
    pub fn step(&mut self) -> Result<()> {
        self.check_finite()?;
        let GdConfig {
            lr,
            weight_decay,
            trained,
            ..
        } = self.cfg;
        let shrink = 1.0 - lr * weight_decay;
        // The first layer moves before a: the table update reads a(t).
        if trained.first() {
            let table_product = self.product == FirstLayerProduct::Table;
            if table_product {
                // G_ij = d_i a_j sigma'(Z_ij): the table reads its factors
                // (G is not stored).
                output_coefficients(self.cfg.loss, &self.f, &self.y, &mut self.d);
            }
            let (table, d) = (&mut self.table, &self.d[..]);
            let (a, act) = (
                self.a.as_slice().expect("a is contiguous"),
                self.cfg.activation,
            );
            match &mut self.layer {
                FirstLayer::Primal { x, w } => {
                    // W <- shrink W - lr X^T G inside the product (beta =
                    // shrink): no d x m gradient buffer and no extra pass
                    // over W. Both products are cut into blocks (`par_gemm`:
                    // the first by the d rows of W, so X is packed once; the
                    // second by the m neurons, or for a big X by blocks of
                    // the d inputs, so X and W are packed once; the table by
                    // tiles of W's rows), so the step uses every thread and
                    // its bits do not depend on how many. With the table and
                    // a forward cut by the d inputs, the forward runs inside
                    // the table's pass, on W's rows just updated, still in
                    // cache (`apply_to_then_forward`, in its own blocks of
                    // the d inputs, `forward_depth`).
                    let forward = |x: &Array2<f64>, w: &Array2<f64>, z: &mut Array2<f64>| {
                        par_gemm(1.0, &x.view(), &w.view(), 0.0, &mut z.view_mut())
                    };
                    let (n, inputs) = x.dim();
                    match (table_product, GemmCut::of(n, inputs, w.ncols())) {
                        (true, GemmCut::Inner(_)) => {
                            let depth = forward_depth(inputs);
                            let (x, z, w) = (x.view(), self.z.view_mut(), w.view_mut());
                            table.apply_to_then_forward(-lr, x, d, a, act, shrink, depth, z, w);
                        }
                        (true, _) => {
                            let z = self.z.view();
                            table.apply_to(-lr, x.t(), d, a, act, shrink, z, w.view_mut());
                            forward(x, w, &mut self.z);
                        }
                        (false, _) => {
                            par_gemm(-lr, &x.t(), &self.g.view(), shrink, &mut w.view_mut());
                            forward(x, w, &mut self.z);
                        }
                    }
                }
                FirstLayer::Dual { k, s, c, .. } => {
                    // C <- shrink C - lr G and s <- shrink s, hence
                    // Z = s Z(0) + K C moves by Z <- shrink Z - lr K G: one
                    // product, no copy.
                    *s *= shrink;
                    if table_product {
                        // C moves in the pass that reads Z's signs.
                        let (z, c) = (self.z.view_mut(), Some(c.view_mut()));
                        table.apply(-lr, k.view(), d, a, act, shrink, z, c);
                    } else {
                        let move_c =
                            |c: &mut f64, &g: &f64| *c = moved_coefficient(*c, g, shrink, -lr);
                        let pairs = Zip::from(&mut *c).and(&self.g);
                        if rayon::current_num_threads() > 1 && self.g.len() >= PARALLEL_FROM {
                            pairs.par_for_each(move_c); // elementwise: the same bits
                        } else {
                            pairs.for_each(move_c);
                        }
                        par_gemm(
                            -lr,
                            &k.view(),
                            &self.g.view(),
                            shrink,
                            &mut self.z.view_mut(),
                        );
                    }
                }
            }
        }
        if trained.second() {
            Zip::from(&mut self.a)
                .and(&self.grad_a)
                .for_each(|a, &ga| *a = moved_coefficient(*a, ga, shrink, -lr));
        }
        self.step += 1;
        self.refresh_outputs();
        self.check_finite()
    }

    /// `Error::Numerical` naming the step when the training loss or an
    /// output is not finite: a loss can stay finite (0 for the logistic
    /// loss) while the outputs are infinite with the right signs.
    fn check_finite(&self) -> Result<()> {
        let what = if !self.last_loss.is_finite() {
            format!("the training loss is {}", self.last_loss)
        } else if let Some(v) = self.f.iter().find(|v| !v.is_finite()) {
            format!("a training output is {v}")
        } else {
            return Ok(());
        };
        Err(Error::Numerical(format!(
            "{what} at step {} (outputs or weights overflowed; try a smaller step size lr)",
            self.step
        )))
    }

    /// Prepare a point set V (q x d, same input space as X) for evaluation.
    /// Primal: keeps V. Dual: V X^T (q x n) and V W(0) (q x m), O(q n d + q d m) once;
    /// `w0` must be the W(0) the run started from.
    pub fn eval_set(&self, v: Array2<f64>, w0: ArrayView2<f64>) -> EvalSet {
        let inner = match &self.layer {
            FirstLayer::Primal { .. } => EvalInner::Primal { v },
            FirstLayer::Dual { x_train, .. } => EvalInner::Dual {
                cross: v.dot(&x_train.t()),
                z0: v.dot(&w0),
            },
        };
        EvalSet { inner }
    }

    /// Pre-activations <w_j(t), v_k> of a prepared set (q x m).
    /// Dual cost O(q n m); primal O(q d m).
    pub fn preactivations(&self, set: &EvalSet) -> Array2<f64> {
        match (&set.inner, &self.layer) {
            (EvalInner::Primal { v }, FirstLayer::Primal { w, .. }) => v.dot(w),
            (EvalInner::Dual { cross, z0 }, FirstLayer::Dual { s, c, .. }) => {
                let mut out = z0 * *s;
                general_mat_mul(1.0, cross, c, 1.0, &mut out);
                out
            }
            _ => unreachable!("an EvalSet is only used with the engine that prepared it"),
        }
    }

    /// Network outputs f(v_k) on a prepared set.
    pub fn outputs(&self, set: &EvalSet) -> Array1<f64> {
        outputs_from_preactivations(
            self.preactivations(set).view(),
            self.a.view(),
            self.cfg.activation,
        )
    }

    /// The first layer W(t) as an explicit d x m matrix (dual: s W(0) + X^T C).
    pub fn first_layer(&self, w0: ArrayView2<f64>) -> Array2<f64> {
        match &self.layer {
            FirstLayer::Primal { w, .. } => w.clone(),
            FirstLayer::Dual { s, c, x_train, .. } => {
                let mut w = w0.to_owned() * *s;
                general_mat_mul(1.0, &x_train.t(), c, 1.0, &mut w);
                w
            }
        }
    }
}

/// Mean over the rows where sign(f_i) matches the label y_i (ties count as
/// wrong); NaN for no rows (0 of 0 is no accuracy; it read 0 before the
/// 2026-12-07 review).
pub fn sign_accuracy(f: ArrayView1<f64>, y: ArrayView1<f64>) -> f64 {
    let hits = f
        .iter()
        .zip(y.iter())
        .filter(|(&fi, &yi)| fi * yi > 0.0)
        .count();
    hits as f64 / f.len() as f64
}
