//! Label noise under mild overparameterization (Wen, Teng, Zhang, ICLR 2023,
//! arXiv 2206.00501) in the standard model of this line of work, and the
//! quantities Karhadkar et al. (NeurIPS 2024) state for leaky-ReLU networks.
//!
//! Wen et al.'s own model and theorem could not be recovered. The claims are
//! tested in the standard Gaussian-mixture model instead: y ~ Unif{+-1},
//! x = y mu + xi, xi ~ N(0, I_p), training labels flipped at rate eta, linear
//! classifiers (min-norm interpolator, hard-margin SVM, logistic GD).
//!
//! Exact errors of a linear classifier w (no Monte Carlo): y <w, x> is
//! N(<w, mu>, w^T Sigma w) whatever y is, so
//!   clean error  = Phi(-<w, mu> / sqrt(w^T Sigma w)),
//!   noisy error  = eta + (1 - 2 eta) clean error   (test labels flipped at rate eta).
//!
//! Closed form for the min-norm classifier (derived here; see `MinNormTheory`):
//! with mu = ||mu|| e_1 write X = [u, Z'] (u = y ||mu|| + z, Z' the n x (p-1)
//! pure-noise block). Minimising w_1^2 + ||w'||^2 subject to u w_1 + Z' w' = y_obs
//! gives, with B = (Z' Z'^T)^-1,
//!   w_1 = u^T B y / (1 + u^T B u),   ||w||^2 = y^T B y - (u^T B y)^2 / (1 + u^T B u).
//! Z' is independent of (u, y_obs) and E B = I/(p - n - 2) (inverse Wishart),
//! so a^T B b -> a.b / (p - n - 2) for vectors independent of Z' (deterministic
//! equivalents, relative error O(n^-1/2)). With u.y_obs ~ n s ||mu||,
//! s = 1 - 2 eta, ||u||^2 ~ n (||mu||^2 + 1) and kappa = n/(p - n - 2):
//!   SNR = <w,mu>/||w|| = s M sqrt(kappa) / sqrt((1 + kappa (M+1)) (1 + kappa + kappa M (1 - s^2))),
//! M = ||mu||^2. As M -> infinity at fixed p/n = r > 1:
//!   eta = 0:  SNR^2 ~ M/(1 + kappa) -> infinity           (benign),
//!   eta > 0:  SNR^2 -> (r - 1) s^2 / (1 - s^2)            (a positive error floor: tempered),
//! and the floor vanishes as r -> infinity (larger models counter label noise).
//! For p < n the least-squares solution gives the mirror image
//! SNR^2 -> s^2 (1 - rho) / (rho (1 - s^2)), rho = p/n; at p = n the SNR is 0.

use serde::{Deserialize, Serialize};
use statrs::function::erf::{erfc, erfc_inv};

/// Standard normal cdf Phi(x), accurate in both tails (via erfc).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// Exact clean test error Phi(-<w, mu> / sqrt(w^T Sigma w)) of the linear
/// classifier sign(<w, x>) on the mixture x = y mu + N(0, Sigma).
/// `w_sigma_norm` = sqrt(w^T Sigma w) (= ||w|| for isotropic noise); w = 0 errs half the time.
pub fn clean_error(w_dot_mu: f64, w_sigma_norm: f64) -> f64 {
    if w_sigma_norm <= 0.0 {
        return 0.5;
    }
    normal_cdf(-w_dot_mu / w_sigma_norm)
}

/// Error against test labels flipped at rate eta: eta + (1 - 2 eta) clean.
pub fn noisy_label_error(clean: f64, eta: f64) -> f64 {
    eta + (1.0 - 2.0 * eta) * clean
}

/// Bayes error of the isotropic mixture: Phi(-||mu||) (the rule sign(<mu, x>)).
pub fn bayes_error(mu_norm: f64) -> f64 {
    normal_cdf(-mu_norm)
}

/// The deterministic-equivalent SNR of the min-norm classifier: the
/// interpolator X^T (X X^T)^-1 y when p > n + 2, least squares
/// (X^T X)^-1 X^T y when p < n (formulas in the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MinNormTheory {
    pub n: f64,
    pub p: f64,
    /// M = ||mu||^2.
    pub mu_norm_sq: f64,
    /// Fraction of flipped training labels (k/n for exact flips, eta for Bernoulli).
    pub flip_fraction: f64,
}

impl MinNormTheory {
    /// Interpolating regime (p > n + 2): the predicted (<w, mu>, ||w||) of the
    /// min-norm interpolator of labels in {-1, +1}, i.e. (||mu|| w_1, ||w||) with
    /// <w,mu> = kappa s M / (1 + kappa (M+1)) and
    /// ||w||^2 = kappa - kappa^2 s^2 M / (1 + kappa (M+1)), kappa = n/(p - n - 2).
    pub fn interpolator_projections(&self) -> Option<(f64, f64)> {
        let MinNormTheory {
            n,
            p,
            mu_norm_sq: m,
            flip_fraction,
        } = *self;
        if p <= n + 2.0 {
            return None;
        }
        let s = 1.0 - 2.0 * flip_fraction;
        let kappa = n / (p - n - 2.0);
        let denom = 1.0 + kappa * (m + 1.0);
        let along = kappa * s * m / denom;
        let norm_sq = kappa - kappa * kappa * s * s * m / denom;
        Some((along, norm_sq.max(0.0).sqrt()))
    }

    /// Probability that every training point is a support vector (then the
    /// hard-margin SVM equals the min-norm interpolator). Derivation: with
    /// a = K^-1 y the interpolator's dual, the leave-one-out identity
    /// y_i - <w_{-i}, x_i> = a_i / (K^-1)_ii and (K^-1)_ii > 0 give
    /// y_i a_i > 0 <=> y_i <w_{-i}, x_i> < 1, where w_{-i} interpolates the other
    /// n - 1 points. As x_i = y_i^clean mu + xi_i with xi_i independent of w_{-i},
    /// y_i <w_{-i}, x_i> ~ s_i <w_{-i}, mu> + ||w_{-i}|| g_i, g_i ~ N(0, 1), s_i = +1
    /// for a clean label and -1 for a flipped one. Replacing (<w_{-i}, mu>,
    /// ||w_{-i}||) by their deterministic equivalents (a, b) for n - 1 points and
    /// treating the g_i as independent:
    ///   P(SVP) = Phi((1 - a)/b)^(n - k) Phi((1 + a)/b)^k.
    /// Without a mean (M = 0) this reproduces the p ~ 2 n ln n transition; a
    /// strong mean pushes it to larger p (clean points get margins above 1).
    ///
    /// Known bias (a review's Monte Carlo, 2026-12-04, exact mixtures with
    /// round(eta n) flips, 250-1500 draws a cell): the independence step
    /// overestimates P(SVP) by 0.02-0.045 at n = 20-50 inside the
    /// transition (e.g. n = 50, p = 500, ||mu||^2 = sqrt(500), eta = 0.1:
    /// simulated 0.163 +- 0.015, this 0.207), while (a, b) themselves agree
    /// within 1%. Unmeasured at n = 200-800. The pooled 0.95 / 0.05 claims
    /// are far from it; `svp.calibration_in_transition` (a hypothesis, 20
    /// runs a cell) cannot see it, and would at about 200 runs a cell.
    pub fn svp_probability(&self) -> Option<f64> {
        let loo = MinNormTheory {
            n: self.n - 1.0,
            ..*self
        };
        let (a, b) = loo.interpolator_projections()?;
        if b <= 0.0 {
            return Some(if a < 1.0 { 1.0 } else { 0.0 });
        }
        let k = (self.flip_fraction * self.n).round();
        let clean = self.n - k;
        let log_p = clean * normal_cdf((1.0 - a) / b).ln() + k * normal_cdf((1.0 + a) / b).ln();
        Some(log_p.exp())
    }

    /// <w, mu>/||w|| predicted for this size; None inside n - 2 <= p <= n + 2,
    /// where the inverse-Wishart means do not exist (the interpolation peak).
    pub fn snr(&self) -> Option<f64> {
        let MinNormTheory {
            n,
            p,
            mu_norm_sq: m,
            flip_fraction,
        } = *self;
        let s = 1.0 - 2.0 * flip_fraction;
        if p > n + 2.0 {
            self.interpolator_projections()
                .map(|(along, norm)| along / norm)
        } else if p < n - 2.0 {
            let a = s * m / (m + 1.0);
            let noise = (p - 1.0) / (n - p) * (1.0 - s * s * m / (m + 1.0));
            Some(a / (s * s * m / ((m + 1.0) * (m + 1.0)) + noise).sqrt())
        } else {
            None
        }
    }

    /// Predicted clean error Phi(-SNR).
    pub fn clean_error(&self) -> Option<f64> {
        self.snr().map(|snr| normal_cdf(-snr))
    }
}

/// The n -> infinity limit of the SNR at fixed ratio r = p/n with ||mu|| -> infinity
/// (the error floor Phi(-SNR) of a tempered cell); infinity when eta = 0 or r = 0.
pub fn limit_snr(ratio: f64, flip_fraction: f64) -> f64 {
    let s = 1.0 - 2.0 * flip_fraction;
    let noise = 1.0 - s * s;
    if noise <= 0.0 {
        return f64::INFINITY;
    }
    let factor = if ratio > 1.0 {
        ratio - 1.0
    } else if ratio > 0.0 {
        (1.0 - ratio) / ratio
    } else {
        return f64::INFINITY;
    };
    (factor * s * s / noise).sqrt()
}

/// The p/n ratios at which the limiting error floor equals `error`: (rho on the
/// least-squares side p < n, r on the interpolation side p > n). The floor is
/// below `error` for p/n < rho and for p/n > r; None for eta = 0 (no floor).
pub fn floor_boundary(flip_fraction: f64, error: f64) -> Option<(f64, f64)> {
    let s = 1.0 - 2.0 * flip_fraction;
    let noise = 1.0 - s * s;
    if noise <= 0.0 {
        return None;
    }
    let z = -normal_quantile(error);
    let c = z * z * noise / (s * s);
    Some((1.0 / (1.0 + c), 1.0 + c))
}

/// Standard normal quantile Phi^-1(prob) = -sqrt(2) erfc^-1(2 prob).
pub fn normal_quantile(prob: f64) -> f64 {
    -std::f64::consts::SQRT_2 * erfc_inv(2.0 * prob)
}

/// Support-vector proliferation threshold for isotropic Gaussian features:
/// every training point is a support vector (hard-margin SVM = min-norm
/// interpolator) w.h.p. when p > 2 n ln n and not when p < 2 n ln n, a sharp
/// transition (Ardeshir, Sanford, Hsu, NeurIPS 2021; Hsu, Muthukumar, Xu,
/// AISTATS 2021 for the O(n log n) rate). Mixture means add conditions on
/// ||mu|| with unknown constants (Wang and Thrampoulidis 2022), so this is a
/// reference scale, not a sharp prediction for the mixture.
pub fn svp_dimension(n: f64) -> f64 {
    2.0 * n * n.ln()
}

/// Mallinar et al. (NeurIPS 2022) taxonomy of overfitting as n grows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    /// The risk tends to the Bayes risk.
    Benign,
    /// The excess risk tends to a positive, bounded level.
    Tempered,
    /// The risk is as bad as it gets (for 0-1 loss: chance, error -> 1/2).
    Catastrophic,
}

impl Regime {
    /// Every regime, from the best to the worst.
    pub const ALL: [Regime; 3] = [Regime::Benign, Regime::Tempered, Regime::Catastrophic];

    /// The regime's name, as summary.json writes it.
    pub fn name(self) -> &'static str {
        match self {
            Regime::Benign => "benign",
            Regime::Tempered => "tempered",
            Regime::Catastrophic => "catastrophic",
        }
    }

    /// A phase diagram's cell value: the regime's index in `ALL` (NaN: no
    /// regime), with the names as the heatmap's categories. The test
    /// `regime_cells_index_all` keeps the two in step.
    pub fn cell(regime: Option<Regime>) -> f64 {
        match regime {
            Some(Regime::Benign) => 0.0,
            Some(Regime::Tempered) => 1.0,
            Some(Regime::Catastrophic) => 2.0,
            None => f64::NAN,
        }
    }

    /// The categories of `cell`'s values.
    pub fn categories() -> Vec<String> {
        Regime::ALL.iter().map(|r| r.name().to_string()).collect()
    }
}

/// The finite-n rule that sorts a cell's error curve (over increasing n) into a
/// regime. With e_K the error at the largest n, b_K the Bayes error there and
/// e_1 - b_1 the excess at the smallest n:
///   catastrophic if e_K >= `catastrophic_error`;
///   benign if the excess e_K - b_K <= `benign_excess` and it has not grown
///   (e_K - b_K <= e_1 - b_1);
///   tempered otherwise.
/// The same rule classifies the theory's curve and the measured one.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegimeRule {
    pub benign_excess: f64,
    pub catastrophic_error: f64,
}

impl Default for RegimeRule {
    fn default() -> Self {
        RegimeRule {
            benign_excess: 0.01,
            catastrophic_error: 0.4,
        }
    }
}

impl RegimeRule {
    /// Classify errors e_k at increasing n with Bayes errors b_k (same length >= 1).
    pub fn classify(&self, errors: &[f64], bayes: &[f64]) -> Regime {
        let last = errors.len() - 1;
        let excess_last = errors[last] - bayes[last];
        let excess_first = errors[0] - bayes[0];
        if errors[last] >= self.catastrophic_error {
            Regime::Catastrophic
        } else if excess_last <= self.benign_excess && excess_last <= excess_first + 1e-12 {
            Regime::Benign
        } else {
            Regime::Tempered
        }
    }

    /// A statement of the rule for summary.json.
    pub fn describe(&self) -> String {
        format!(
            "with e_K the median clean error at the largest n and b_K the Bayes error Phi(-||mu||) there: catastrophic if e_K >= {}; benign if e_K - b_K <= {} and the excess did not grow from the smallest n; tempered otherwise",
            self.catastrophic_error, self.benign_excess
        )
    }
}

/// Wilson score interval (z standard errors) for a binomial proportion k/N:
/// the confidence interval of a Monte Carlo error estimate.
pub fn wilson_interval(errors: f64, trials: f64, z: f64) -> (f64, f64) {
    if trials <= 0.0 {
        return (0.0, 1.0);
    }
    let ph = errors / trials;
    let z2 = z * z;
    let denom = 1.0 + z2 / trials;
    let centre = (ph + z2 / (2.0 * trials)) / denom;
    let half = z * (ph * (1.0 - ph) / trials + z2 / (4.0 * trials * trials)).sqrt() / denom;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Karhadkar et al.'s harmful regime: gamma <= c alpha^3 / d gives clean test
/// error >= 1/8 (their lower bound; c is the theorem's unspecified constant,
/// taken from the spec).
pub fn harmful_gamma(c: f64, leaky_slope: f64, d: f64) -> f64 {
    c * leaky_slope.powi(3) / d
}

#[cfg(test)]
mod tests {
    use super::Regime;

    /// A regime's phase-diagram cell is its index in `Regime::ALL`.
    #[test]
    fn regime_cells_index_all() {
        for (k, r) in Regime::ALL.into_iter().enumerate() {
            assert_eq!(Regime::cell(Some(r)), k as f64);
            assert_eq!(Regime::categories()[k], r.name());
        }
        assert!(Regime::cell(None).is_nan());
    }

    use super::*;

    #[test]
    fn normal_cdf_and_quantile_agree() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-15);
        assert!((normal_cdf(-1.959963984540054) - 0.025).abs() < 1e-11);
        assert!(normal_cdf(-30.0) > 0.0 && normal_cdf(-30.0) < 1e-190);
        for p in [1e-6, 0.01, 0.3, 0.5, 0.9] {
            assert!((normal_cdf(normal_quantile(p)) - p).abs() < 1e-9 * p);
        }
    }

    #[test]
    fn noisy_error_interpolates_between_eta_and_one_minus_eta() {
        assert_eq!(noisy_label_error(0.0, 0.1), 0.1);
        assert!((noisy_label_error(0.5, 0.1) - 0.5).abs() < 1e-15);
        assert!((noisy_label_error(1.0, 0.1) - 0.9).abs() < 1e-15);
    }

    /// The finite-n formula tends to the stated limits as ||mu|| grows at fixed p/n.
    #[test]
    fn min_norm_snr_tends_to_the_limits() {
        for (r, eta) in [(2.0, 0.1), (5.0, 0.2), (0.5, 0.1), (0.25, 0.05)] {
            let n = 1e7;
            let th = MinNormTheory {
                n,
                p: r * n,
                mu_norm_sq: 1e8,
                flip_fraction: eta,
            };
            let lim = limit_snr(r, eta);
            assert!(
                (th.snr().unwrap() / lim - 1.0).abs() < 1e-3,
                "r {r} eta {eta}: {} vs {lim}",
                th.snr().unwrap()
            );
        }
        // Without noise the SNR grows like sqrt(M / (1 + kappa)).
        let th = |m: f64| MinNormTheory {
            n: 1e6,
            p: 2e6,
            mu_norm_sq: m,
            flip_fraction: 0.0,
        };
        assert!(th(1e4).snr().unwrap() > 3.0 * th(1e3).snr().unwrap());
    }

    /// Without a mean the SVP probability switches from ~0 to ~1 around p = 2 n ln n.
    #[test]
    fn svp_transition_without_mean_is_near_two_n_log_n() {
        let n = 1000.0;
        let prob = |p: f64| {
            MinNormTheory {
                n,
                p,
                mu_norm_sq: 0.0,
                flip_fraction: 0.0,
            }
            .svp_probability()
            .unwrap()
        };
        let threshold = svp_dimension(n);
        assert!(prob(0.6 * threshold) < 0.05, "{}", prob(0.6 * threshold));
        assert!(prob(1.6 * threshold) > 0.95, "{}", prob(1.6 * threshold));
    }

    #[test]
    fn floor_boundary_solves_the_floor_equation() {
        let (rho, r) = floor_boundary(0.1, 0.01).unwrap();
        assert!((normal_cdf(-limit_snr(r, 0.1)) - 0.01).abs() < 1e-9);
        assert!((normal_cdf(-limit_snr(rho, 0.1)) - 0.01).abs() < 1e-9);
        assert!(rho < 1.0 && r > 1.0);
        assert!(floor_boundary(0.0, 0.01).is_none());
    }

    #[test]
    fn regime_rule_sorts_curves() {
        let rule = RegimeRule::default();
        let b = [0.0, 0.0, 0.0];
        assert_eq!(rule.classify(&[0.1, 0.01, 0.001], &b), Regime::Benign);
        assert_eq!(rule.classify(&[0.2, 0.15, 0.12], &b), Regime::Tempered);
        assert_eq!(rule.classify(&[0.45, 0.47, 0.49], &b), Regime::Catastrophic);
    }

    #[test]
    fn wilson_interval_covers_the_estimate() {
        let (lo, hi) = wilson_interval(10.0, 1000.0, 1.96);
        assert!(lo < 0.01 && hi > 0.01 && lo > 0.004 && hi < 0.02);
        let (lo, hi) = wilson_interval(0.0, 1000.0, 1.96);
        assert_eq!(lo, 0.0);
        assert!(hi > 0.0 && hi < 0.005);
    }
}
