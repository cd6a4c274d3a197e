//! Network engines. Nothing here knows about any paper: the studies pass in
//! data, initial weights and hyperparameters.

pub mod activation;
mod block8;
pub mod cnn;
pub mod expressivity;
pub mod gram_update;
pub mod init;
pub mod isa;
mod job_queue;
pub mod linear;
pub mod loss;
pub mod outputs;
pub mod two_layer;
pub mod wide;

/// Elements of an n x m pass (Z, G, C) below which it stays on one thread:
/// a pass over 32768 of them takes about 10 us, several times what handing
/// chunks to the pool costs.
pub(crate) const PARALLEL_FROM: usize = 1 << 15;

/// The larger of two values, NaN when either is: `f64::max` drops a NaN,
/// so a fold of errors by it reads a NaN output as no error (a NaN fit
/// left the expressivity study's worst error at 0, and a fast path that
/// wrote NaN passed its check against the reference; reviews of
/// 2026-12-07). Every "worst error" fold uses this.
pub fn max_or_nan(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// G_ij = d_i a_j sigma'(Z_ij), d_i = l'(f_i, y_i) / n: the coefficients of
/// the first layer's gradient, dL/dW = X^T G. One formula for `two_layer`'s
/// gradient pass and `gram_update`'s move of C, which must agree bit for bit.
#[inline(always)]
pub(crate) fn first_layer_coefficient(d_i: f64, a_j: f64, slope: f64) -> f64 {
    d_i * a_j * slope
}

/// C_ij <- beta C_ij + alpha G_ij: a parameter's move in a GD step with
/// weight decay (beta = 1 - lr lambda, alpha = -lr). The dual coefficients
/// move so, by `two_layer` from a stored G (the gemm update) or inside
/// `gram_update` (the table update), and so does the second layer a_j by
/// its gradient.
#[inline(always)]
pub(crate) fn moved_coefficient(c_ij: f64, g_ij: f64, beta: f64, alpha: f64) -> f64 {
    beta * c_ij + alpha * g_ij
}
