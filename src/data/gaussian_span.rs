//! Exact low-dimensional representation of many i.i.d. Gaussian vectors in a
//! huge dimension.
//!
//! N vectors g_1..g_N i.i.d. N(0, I_q) with q >= N can be written G = A Q^T,
//! where Q (q x N) has orthonormal columns and A (N x N) is lower triangular
//! with independent entries A_ii ~ chi_{q-i} (i = 0..N-1) and A_ij ~ N(0, 1)
//! for j < i (the Bartlett decomposition). The rows of A are the vectors'
//! coordinates in the orthonormal basis Q. Anything computed from inner
//! products among the g_i, or with an independent isotropic Gaussian vector
//! (whose coordinates in Q are again i.i.d. Gaussian), has the same law in
//! this N-dimensional form as in R^q. Cost O(N^2) draws instead of O(N q).

use ndarray::Array2;
use rand_distr::{ChiSquared, Distribution, StandardNormal};

use crate::rng::Rng;

/// The N x N Bartlett factor A of N i.i.d. N(0, I_q) vectors (requires q >= N).
pub fn bartlett_coordinates(count: usize, q: u64, rng: &mut Rng) -> Array2<f64> {
    assert!(q >= count as u64, "bartlett_coordinates needs q >= N");
    let mut a = Array2::zeros((count, count));
    for i in 0..count {
        for j in 0..i {
            a[[i, j]] = StandardNormal.sample(rng);
        }
        let dof = (q - i as u64) as f64;
        let chi2 = ChiSquared::new(dof).expect("positive degrees of freedom");
        a[[i, i]] = chi2.sample(rng).sqrt();
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Gram A A^T has the law of G G^T: E = q I, Var of an off-diagonal = q.
    #[test]
    fn gram_moments_match_wishart() {
        let (count, q, reps) = (4usize, 50u64, 4000);
        let mut rng = crate::rng::stream(3, 0, "bartlett");
        let (mut diag, mut off, mut off2) = (0.0, 0.0, 0.0);
        for _ in 0..reps {
            let a = bartlett_coordinates(count, q, &mut rng);
            let g = a.dot(&a.t());
            diag += g[[3, 3]];
            off += g[[3, 1]];
            off2 += g[[3, 1]] * g[[3, 1]];
        }
        let r = reps as f64;
        let q = q as f64;
        // Means within 5 standard errors: sd of a diagonal is sqrt(2q), of an off-diagonal sqrt(q).
        assert!(
            (diag / r - q).abs() < 5.0 * (2.0 * q / r).sqrt(),
            "diag mean {}",
            diag / r
        );
        assert!(
            (off / r).abs() < 5.0 * (q / r).sqrt(),
            "off mean {}",
            off / r
        );
        assert!(
            (off2 / r / q - 1.0).abs() < 0.15,
            "off var / q = {}",
            off2 / r / q
        );
    }
}
