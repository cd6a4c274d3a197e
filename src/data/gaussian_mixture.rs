//! Two-class Gaussian mixtures for the label-noise studies.
//!
//! 1. The standard mixture of the benign-overfitting line of work
//!    (Chatterji-Long, Cao-Gu-Belkin, Wang-Thrampoulidis):
//!    y ~ Unif{+1, -1}, x = y mu + xi, xi ~ N(0, Sigma) in R^p, with
//!    Sigma = I_p (isotropic) or a diagonal Sigma with a given spectrum.
//! 2. Karhadkar et al. (NeurIPS 2024): x = sqrt(gamma) y v + sqrt(1 - gamma) xi,
//!    ||v|| = 1, xi ~ N(0, (I_d - v v^T) / d): signal and noise in orthogonal
//!    subspaces.
//!
//! Training labels are corrupted by `data::label_noise` (exactly k = round(eta n)
//! flips, or Bernoulli(eta)); the clean labels are kept for clean test errors.
//!
//! Representation of the isotropic mixture. The law is rotation invariant, so
//! mu = ||mu|| e_1. A point's coordinate along e_1 is y ||mu|| + g with
//! g ~ N(0, 1); its other p - 1 coordinates are pure noise. When p - 1 >= n
//! the noise parts of the n points lie in an n-dimensional subspace and their
//! coordinates there are drawn exactly by the Bartlett decomposition
//! (`gaussian_span`), so each point is a vector of length q = 1 + n whatever p
//! is. Every classifier of `nets::linear` lies in the row span of X, and the
//! clean error of a linear classifier w on isotropic test noise depends only on
//! <w, mu> and ||w|| (`theory::label_noise::clean_error`), so these coordinates
//! give the same law of every measured quantity as vectors in R^p, at cost
//! O(n^2) draws instead of O(n p). When p - 1 < n the vectors are explicit.

use ndarray::{s, Array1, Array2};
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::gaussian_span::bartlett_coordinates;
use crate::rng::Rng;

/// Rademacher labels: +1 or -1 with probability 1/2 each.
pub fn rademacher_labels(n: usize, rng: &mut Rng) -> Array1<f64> {
    (0..n)
        .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 })
        .collect()
}

/// The spectrum of the noise covariance Sigma (diagonal in the standard basis).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum NoiseSpectrum {
    /// Sigma = I_p.
    Isotropic,
    /// lambda_k proportional to k^-exponent (k = 1..p), scaled so that
    /// tr Sigma = p (the same total noise energy as I_p). mu lies along the
    /// top eigendirection e_1.
    PowerLaw { exponent: f64 },
}

impl NoiseSpectrum {
    /// The p eigenvalues, largest first.
    pub fn eigenvalues(&self, p: usize) -> Array1<f64> {
        match *self {
            NoiseSpectrum::Isotropic => Array1::ones(p),
            NoiseSpectrum::PowerLaw { exponent } => {
                let raw: Array1<f64> = (1..=p).map(|k| (k as f64).powf(-exponent)).collect();
                let total = raw.sum();
                raw * (p as f64 / total)
            }
        }
    }
}

/// The mixture x = y mu + xi, xi ~ N(0, Sigma), in R^p.
#[derive(Clone, Debug, PartialEq)]
pub struct GaussianMixture {
    pub p: usize,
    /// ||mu||; mu = ||mu|| e_1.
    pub mu_norm: f64,
    pub spectrum: NoiseSpectrum,
}

/// n points of the mixture, in the coordinates described in the module docs.
#[derive(Clone, Debug)]
pub struct MixtureSample {
    /// n x q inputs (q = p explicit, q = 1 + n in span coordinates).
    pub x: Array2<f64>,
    /// Clean labels y_i.
    pub y: Array1<f64>,
    /// mu in the same coordinates (length q).
    pub mu: Array1<f64>,
    /// The diagonal of Sigma in these coordinates, or None for the identity.
    pub noise_variances: Option<Array1<f64>>,
}

impl GaussianMixture {
    /// Whether `sample(n, ..)` uses exact span coordinates (isotropic, p - 1 >= n).
    pub fn uses_span(&self, n: usize) -> bool {
        self.spectrum == NoiseSpectrum::Isotropic && self.p > n
    }

    /// The length q of the sampled vectors.
    pub fn working_dim(&self, n: usize) -> usize {
        if self.uses_span(n) {
            1 + n
        } else {
            self.p
        }
    }

    /// Draw n points with clean Rademacher labels.
    pub fn sample(&self, n: usize, rng: &mut Rng) -> MixtureSample {
        self.draw(n, self.uses_span(n), rng)
    }

    /// Draw n points as explicit vectors in R^p whatever p is (n x p, O(n p)
    /// draws). For models whose test error depends on more than <w, mu> and
    /// ||w||, e.g. a network whose random first layer W(0) has components
    /// outside the span of the data, which the span coordinates drop.
    pub fn sample_explicit(&self, n: usize, rng: &mut Rng) -> MixtureSample {
        self.draw(n, false, rng)
    }

    /// The draw of `sample` (span coordinates when `span`, else explicit).
    fn draw(&self, n: usize, span: bool, rng: &mut Rng) -> MixtureSample {
        let y = rademacher_labels(n, rng);
        let q = if span { 1 + n } else { self.p };
        let mut x = Array2::<f64>::zeros((n, q));
        let noise_variances = if span {
            // Coordinate along mu: y ||mu|| + N(0, 1); the rest: Bartlett coordinates
            // of n i.i.d. N(0, I_{p-1}) vectors.
            for i in 0..n {
                x[[i, 0]] = StandardNormal.sample(rng);
            }
            let rest = bartlett_coordinates(n, (self.p - 1) as u64, rng);
            x.slice_mut(s![.., 1..]).assign(&rest);
            None
        } else {
            let lambda = self.spectrum.eigenvalues(self.p);
            let sd = lambda.mapv(f64::sqrt);
            for mut row in x.rows_mut() {
                for (v, &s) in row.iter_mut().zip(sd.iter()) {
                    *v = s * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, rng);
                }
            }
            match self.spectrum {
                NoiseSpectrum::Isotropic => None,
                _ => Some(lambda),
            }
        };
        for i in 0..n {
            x[[i, 0]] += y[i] * self.mu_norm;
        }
        let mut mu = Array1::zeros(q);
        mu[0] = self.mu_norm;
        MixtureSample {
            x,
            y,
            mu,
            noise_variances,
        }
    }
}

/// Karhadkar et al.'s model in R^d: x = sqrt(gamma) y v + sqrt(1 - gamma) xi,
/// xi ~ N(0, (I - v v^T)/d). Rotation invariance of the network's Gaussian
/// initialisation lets v = e_1: the first coordinate of x is sqrt(gamma) y
/// exactly and the other d - 1 are i.i.d. N(0, (1 - gamma)/d).
#[derive(Clone, Debug, PartialEq)]
pub struct SignalNoiseModel {
    pub d: usize,
    /// Signal level gamma in [0, 1].
    pub gamma: f64,
}

impl SignalNoiseModel {
    /// The unit signal vector v = e_1.
    pub fn signal(&self) -> Array1<f64> {
        let mut v = Array1::zeros(self.d);
        v[0] = 1.0;
        v
    }

    /// n points with clean Rademacher labels: (X n x d, y).
    pub fn sample(&self, n: usize, rng: &mut Rng) -> (Array2<f64>, Array1<f64>) {
        let y = rademacher_labels(n, rng);
        let noise_sd = ((1.0 - self.gamma) / self.d as f64).sqrt();
        let mut x = Array2::<f64>::zeros((n, self.d));
        for (i, mut row) in x.rows_mut().into_iter().enumerate() {
            row[0] = self.gamma.sqrt() * y[i];
            for v in row.iter_mut().skip(1) {
                *v = noise_sd * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, rng);
            }
        }
        (x, y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Span coordinates and explicit vectors give the same law of the Gram
    /// matrix entries and of the projections on mu (first two moments).
    #[test]
    fn span_coordinates_match_explicit_moments() {
        let (n, reps) = (3usize, 3000);
        let span = GaussianMixture {
            p: 40,
            mu_norm: 1.5,
            spectrum: NoiseSpectrum::Isotropic,
        };
        assert!(span.uses_span(n));
        let mut rng = crate::rng::stream(5, 0, "t");
        let (mut k01, mut k00, mut proj) = (0.0, 0.0, 0.0);
        for _ in 0..reps {
            let s = span.sample(n, &mut rng);
            let k = s.x.dot(&s.x.t());
            k01 += s.y[0] * s.y[1] * k[[0, 1]];
            k00 += k[[0, 0]];
            proj += s.y[0] * s.x.row(0).dot(&s.mu);
        }
        let r = reps as f64;
        // E[y0 y1 <x0,x1>] = ||mu||^2; E||x0||^2 = ||mu||^2 + p; E[y0 <x0,mu>] = ||mu||^2.
        let m2 = 1.5f64 * 1.5;
        assert!((k01 / r - m2).abs() < 5.0 * (40.0f64 + 4.0 * m2).sqrt() / r.sqrt());
        assert!((k00 / r - (m2 + 40.0)).abs() < 5.0 * (2.0f64 * 40.0 + 4.0 * m2).sqrt() / r.sqrt());
        assert!((proj / r - m2).abs() < 5.0 * (m2 / r).sqrt());
    }

    #[test]
    fn power_law_spectrum_has_trace_p() {
        let l = NoiseSpectrum::PowerLaw { exponent: 1.0 }.eigenvalues(50);
        assert!((l.sum() - 50.0).abs() < 1e-9);
        assert!(l.windows(2).into_iter().all(|w| w[0] > w[1]));
    }

    #[test]
    fn karhadkar_signal_and_noise_are_orthogonal() {
        let model = SignalNoiseModel { d: 400, gamma: 0.1 };
        let mut rng = crate::rng::stream(1, 0, "t");
        let (x, y) = model.sample(50, &mut rng);
        let v = model.signal();
        for i in 0..50 {
            assert!((x.row(i).dot(&v) - 0.1f64.sqrt() * y[i]).abs() < 1e-15);
        }
        // E||x||^2 = gamma + (1 - gamma)(d - 1)/d ~ 1.
        let mean_sq = x.rows().into_iter().map(|r| r.dot(&r)).sum::<f64>() / 50.0;
        assert!((mean_sq - 1.0).abs() < 0.05, "{mean_sq}");
    }
}
