//! The clean test error of a trained network on Karhadkar et al.'s data
//! model without sampling test points in R^d: the pre-activations of a fresh
//! x have an exact m-dimensional Gaussian law (given y), so the error is an
//! m-dimensional integral, estimated by Monte Carlo over (y, h).

use ndarray::{Array2, ArrayView1, ArrayView2, Axis};
use ndarray_linalg::{Cholesky, UPLO};
use rand_distr::{Distribution, StandardNormal};

use crate::data::gaussian_mixture::rademacher_labels;
use crate::error::{Error, Result};
use crate::nets::activation::Activation;

/// Draws `gaussian_test_error` holds at once: its labels (b), u and h (b x
/// m each) are built for `TEST_CHUNK` draws at a time, so its memory does
/// not grow with the number of draws (`studies::memory::leaky_relu_benign`).
pub const TEST_CHUNK: usize = 4096;

/// The clean test error of f(x) = sum_j a_j sigma(<w_j, x>) on
/// x = sqrt(gamma) y v + sqrt(1 - gamma) xi, xi ~ N(0, (I - v v^T)/d), y uniform on {+-1}, by Monte Carlo
/// over the exact m-dimensional law of the pre-activations (module docs).
/// `w` is d x m, `v` the unit signal direction. Returns (errors, draws).
pub fn gaussian_test_error(
    w: ArrayView2<f64>,
    a: ArrayView1<f64>,
    act: Activation,
    v: ArrayView1<f64>,
    gamma: f64,
    samples: usize,
    rng: &mut crate::rng::Rng,
) -> Result<(usize, usize)> {
    let (d, m) = w.dim();
    let c = w.t().dot(&v);
    let mut g = w.t().dot(&w);
    for i in 0..m {
        for j in 0..m {
            g[[i, j]] = (g[[i, j]] - c[i] * c[j]) / d as f64;
        }
    }
    // A tiny ridge keeps the factorisation defined when G is singular (m >= d).
    let jitter = 1e-14 * (0..m).map(|i| g[[i, i]]).fold(0.0f64, f64::max).max(1e-300);
    for i in 0..m {
        g[[i, i]] += jitter;
    }
    let l = g.cholesky(UPLO::Lower).map_err(|e| {
        Error::Numerical(format!(
            "test-error covariance not positive semidefinite: {e}"
        ))
    })?;
    let chunk = TEST_CHUNK;
    let (sg, sn) = (gamma.sqrt(), (1.0 - gamma).sqrt());
    let mut errors = 0;
    let mut done = 0;
    while done < samples {
        let b = chunk.min(samples - done);
        let y = rademacher_labels(b, rng);
        let u = Array2::from_shape_simple_fn((b, m), || {
            <StandardNormal as Distribution<f64>>::sample(&StandardNormal, rng)
        });
        let h = u.dot(&l.t());
        for (s, row) in h.axis_iter(Axis(0)).enumerate() {
            let f: f64 = row
                .iter()
                .zip(c.iter())
                .zip(a.iter())
                .map(|((&hj, &cj), &aj)| aj * act.value(sg * y[s] * cj + sn * hj))
                .sum();
            errors += usize::from(y[s] * f <= 0.0);
        }
        done += b;
    }
    Ok((errors, samples))
}
