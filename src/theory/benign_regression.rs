//! Benign overfitting of the minimum-norm interpolator in linear regression
//! (Bartlett, Long, Lugosi, Tsigler, PNAS 2020, arXiv 1906.11300).
//!
//! For a covariance with eigenvalues lambda_1 >= lambda_2 >= ... the paper's
//! two effective ranks are
//!   r_k(Sigma) = sum_{i>k} lambda_i / lambda_{k+1},
//!   R_k(Sigma) = (sum_{i>k} lambda_i)^2 / sum_{i>k} lambda_i^2,
//! and the critical index is k* = min{k >= 0 : r_k(Sigma) >= b n}. Their
//! Theorem 4 (universal, unspecified constants b, c, c_1 > 1): if k* >= n/c_1
//! then E R(theta_hat) >= sigma^2 / c; otherwise, with probability >= 1 - delta,
//!   R(theta_hat) <= c ||theta*||^2 ||Sigma|| max{sqrt(r_0/n), r_0/n, sqrt(ln(1/delta)/n)}
//!                 + c ln(1/delta) sigma^2 (k*/n + n/R_{k*}),
//! and E R(theta_hat) >= (sigma^2 / c) (k*/n + n/R_{k*}). A sequence Sigma_n is
//! benign when r_0(Sigma_n)/n, k*_n/n and n/R_{k*_n}(Sigma_n) all tend to 0.
//!
//! The family simulated here is the truncated power law lambda_k = k^-alpha
//! for k <= p_n = round(n^a), a > 1 (`power_law_regime` classifies it);
//! `kendall_decrease` is the trend test of "the excess risk falls with n".

use serde::{Deserialize, Serialize};

use super::label_noise::normal_cdf;

/// lambda_k = k^-alpha, k = 1..p (non-increasing, lambda_1 = 1 = ||Sigma||).
pub fn power_law(alpha: f64, p: usize) -> Vec<f64> {
    (1..=p).map(|k| (k as f64).powf(-alpha)).collect()
}

/// The dimension p_n = round(n^a).
pub fn dimension(n: usize, exponent: f64) -> usize {
    (n as f64).powf(exponent).round() as usize
}

/// The quantities of the theorem's bound at sample size n.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Terms {
    pub k_star: usize,
    /// r_0(Sigma).
    pub r0: f64,
    /// R_{k*}(Sigma).
    pub big_r: f64,
    /// k*/n + n/R_{k*}: the variance term over sigma^2 (constant c = 1).
    pub variance: f64,
    /// max(sqrt(r_0/n), r_0/n): the bias term over ||theta*||^2 ||Sigma|| (c = 1).
    pub bias: f64,
}

/// The theorem's terms for a non-increasing spectrum `lambda` (p entries,
/// zero beyond) and threshold constant b: O(p) by suffix sums. None when no
/// k < p has r_k >= b n (then k* does not exist: the dimension is too small).
pub fn bound_terms(lambda: &[f64], n: usize, b: f64) -> Option<Terms> {
    let p = lambda.len();
    // tail1[k] = sum_{i>k} lambda_i and tail2[k] = sum_{i>k} lambda_i^2 (1-based i, 0-based arrays).
    let (mut tail1, mut tail2) = (vec![0.0; p + 1], vec![0.0; p + 1]);
    for k in (0..p).rev() {
        tail1[k] = tail1[k + 1] + lambda[k];
        tail2[k] = tail2[k + 1] + lambda[k] * lambda[k];
    }
    let nf = n as f64;
    let k_star = (0..p).find(|&k| lambda[k] > 0.0 && tail1[k] / lambda[k] >= b * nf)?;
    let r0 = tail1[0] / lambda[0];
    let big_r = tail1[k_star] * tail1[k_star] / tail2[k_star];
    Some(Terms {
        k_star,
        r0,
        big_r,
        variance: k_star as f64 / nf + nf / big_r,
        bias: (r0 / nf).sqrt().max(r0 / nf),
    })
}

/// The asymptotic verdict of the paper's definition on a spectrum sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    /// r_0/n, k*/n and n/R_{k*} all tend to 0.
    Benign,
    /// r_0/n does not tend to 0: the bias term does not vanish.
    BiasNotBenign,
    /// k*/n does not tend to 0: the variance term stays of order sigma^2.
    VarianceNotBenign,
}

/// The regime of lambda_k = k^-alpha, k <= n^a (a > 1), from the effective
/// ranks' growth: r_0 ~ n^{a(1-alpha)}/(1-alpha) for alpha < 1 (ln p at
/// alpha = 1, bounded above), so r_0/n -> 0 iff a(1-alpha) < 1; for
/// alpha > 1, r_k ~ k/(alpha-1) gives k* ~ (alpha-1) b n, so k*/n does not
/// vanish; for alpha <= 1, k*/n -> 0 and n/R_{k*} -> 0 (R_{k*} grows like
/// p, p/ln p, or n^2/k*).
pub fn power_law_regime(alpha: f64, exponent: f64) -> Regime {
    if alpha > 1.0 {
        Regime::VarianceNotBenign
    } else if exponent * (1.0 - alpha) >= 1.0 {
        Regime::BiasNotBenign
    } else {
        Regime::Benign
    }
}

/// The trend test of the claim "the excess risk falls with n": Kendall's tau_b of (x, y) and the one-sided p-value of "y falls with x":
/// S = sum_{i<j} sign(x_j - x_i) sign(y_j - y_i), normal approximation with
/// the tie-corrected variance [N(N-1)(2N+5) - sum_t t(t-1)(2t+5)] / 18 over
/// groups of t equal x (y continuous) and a continuity correction. O(N^2).
pub fn kendall_decrease(x: &[f64], y: &[f64]) -> (f64, f64) {
    let m = x.len();
    let mut s = 0.0;
    for i in 0..m {
        for j in i + 1..m {
            // f64::signum(0.0) is 1: tied pairs (in x or in y) count 0.
            let untied = f64::from(x[j] != x[i] && y[j] != y[i]);
            s += (x[j] - x[i]).signum() * (y[j] - y[i]).signum() * untied;
        }
    }
    let mut sorted = x.to_vec();
    sorted.sort_by(f64::total_cmp);
    let pairs = (m * m.saturating_sub(1)) as f64 / 2.0;
    let (mut ties, mut var) = (0.0, pairs * (4 * m + 10) as f64 / 18.0);
    for t in sorted.chunk_by(|a, b| a == b).map(|g| g.len() as f64) {
        (ties, var) = (
            ties + t * (t - 1.0) / 2.0,
            var - t * (t - 1.0) * (2.0 * t + 5.0) / 18.0,
        );
    }
    let tau = s / ((pairs - ties) * pairs).sqrt();
    (tau, normal_cdf((s + 1.0) / var.sqrt()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isotropic_ranks_are_the_dimension() {
        // lambda = 1 on p dims: r_k = R_k = p - k, so k* = 0 once p >= b n.
        let t = bound_terms(&vec![1.0; 1000], 100, 1.0).unwrap();
        assert_eq!(t.k_star, 0);
        assert_eq!((t.r0, t.big_r), (1000.0, 1000.0));
        assert!((t.variance - 0.1).abs() < 1e-12);
        assert!((t.bias - 10.0).abs() < 1e-12);
        assert!(bound_terms(&vec![1.0; 50], 100, 1.0).is_none());
    }

    #[test]
    fn spikes_set_k_star() {
        // Three spikes of 100 over an isotropic floor of 1 on 997 dims:
        // r_0 = 1297/100 < n, r_3 = 997 >= n = 200, so k* = 3 and R_3 = 997.
        let mut lambda = vec![100.0; 3];
        lambda.extend(vec![1.0; 997]);
        let t = bound_terms(&lambda, 200, 1.0).unwrap();
        assert_eq!(t.k_star, 3);
        assert!((t.r0 - 12.97).abs() < 1e-12);
        assert!((t.big_r - 997.0).abs() < 1e-9);
        assert!((t.variance - (3.0 / 200.0 + 200.0 / 997.0)).abs() < 1e-12);
    }

    #[test]
    fn regimes_of_the_power_law() {
        use Regime::*;
        let r = |alpha| power_law_regime(alpha, 1.5);
        assert_eq!(
            [r(0.0), r(0.25), r(0.5), r(1.0), r(1.5)],
            [
                BiasNotBenign,
                BiasNotBenign,
                Benign,
                Benign,
                VarianceNotBenign
            ]
        );
        // alpha > 1: k*/n stays near (alpha - 1) b, so the variance term does not vanish.
        let at = |n: usize| {
            let lambda = power_law(2.0, dimension(n, 1.5));
            bound_terms(&lambda, n, 1.0).unwrap().k_star as f64 / n as f64
        };
        assert!(at(100) > 0.5 && at(1600) > 0.5, "{} {}", at(100), at(1600));
        // alpha = 0.5 (benign): the variance term falls with n.
        let v = |n: usize| {
            let lambda = power_law(0.5, dimension(n, 1.5));
            bound_terms(&lambda, n, 1.0).unwrap().variance
        };
        assert!(v(1600) < 0.6 * v(100), "{} {}", v(100), v(1600));
    }

    #[test]
    fn kendall_sees_trends_and_ties() {
        let x = [1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0];
        let (tau, p) = kendall_decrease(&x, &[9.0, 8.0, 7.0, 6.5, 5.0, 4.0, 2.0, 1.0]);
        assert!(tau < -0.9 && p < 0.01, "{tau} {p}");
        let (tau, p) = kendall_decrease(&x, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        assert!(tau > 0.9 && p > 0.99, "{tau} {p}");
        // No ties: S = -10, Var S = 5 4 15 / 18, p = Phi(-9 / sqrt(50/3)) = 0.013743.
        let (tau, p) = kendall_decrease(&[1.0, 2.0, 3.0, 4.0, 5.0], &[5.0, 4.0, 3.0, 2.0, 1.0]);
        assert!(tau == -1.0 && (p - 0.013743).abs() < 1e-5, "{tau} {p}");
        // Tied y values agree with neither direction (f64::signum(0) = 1
        // counted them as rising until 2026-12-04): constant y gives S = 0.
        let (tau, _) = kendall_decrease(&[1.0, 2.0, 3.0], &[5.0, 5.0, 5.0]);
        assert_eq!(tau, 0.0);
        // y = [4, 3, 3, 1]: five falling pairs, one tie, S = -5 (not -4).
        let (tau, _) = kendall_decrease(&[1.0, 2.0, 3.0, 4.0], &[4.0, 3.0, 3.0, 1.0]);
        assert_eq!(tau, -5.0 / 6.0);
    }
}
