//! XOR-cluster data (Xu et al., ICLR 2024, Section 2).
//!
//! mu1, mu2 in R^p orthogonal with equal norm ||mu||. Clean label
//! ytilde ~ Unif{+1, -1}; if ytilde = +1, x ~ 1/2 N(+mu1, I_p) + 1/2 N(-mu1, I_p),
//! else x ~ 1/2 N(+mu2, I_p) + 1/2 N(-mu2, I_p). The observed training label is
//! flipped with probability eta; test labels stay clean.
//!
//! Representation. The law is rotation invariant, so mu1 = ||mu|| e1 and
//! mu2 = ||mu|| e2 without loss of generality. When p is large (p - 2 >= N, N =
//! n + n_test) the noise part of the N points lies in an N-dimensional subspace
//! and is drawn exactly in its coordinates (`gaussian_span`): each point is then
//! a vector of length d = 2 + N, (x.e1, x.e2, coordinates of the rest). A network
//! whose W(0) has i.i.d. Gaussian entries sees the same law in that basis, since
//! W(0)'s coordinates in any orthonormal basis are again i.i.d. Gaussian and GD
//! never leaves span(X) + W(0). So p = 40000 or p = 10^9 cost the same.

use ndarray::{s, Array1, Array2};
use rand::seq::SliceRandom;
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::gaussian_span::bartlett_coordinates;
use super::label_noise::{flip_binary, FlipRule};
use crate::rng::Rng;

/// How points are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Representation {
    /// Vectors in R^p.
    Explicit,
    /// Exact coordinates in the (2 + N)-dimensional span (needs p >= N + 2).
    Span,
    /// Span when p > 2 + N, else explicit.
    Auto,
}

/// The distribution's parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct XorCluster {
    pub p: u64,
    pub n: usize,
    pub n_test: usize,
    /// ||mu|| (the paper reports ||mu||^2).
    pub mu_norm: f64,
    pub eta: f64,
    pub flip_rule: FlipRule,
    pub representation: Representation,
    /// Exactly n/4 training points in each cluster (n divisible by 4), in
    /// random order, instead of a uniform draw per point; test points stay
    /// uniform.
    pub balanced: bool,
}

/// One draw: training set with noisy and clean labels, clean test set, means.
pub struct XorClusterSample {
    /// n x d training inputs (d = p, or 2 + n + n_test in the span representation).
    pub x_train: Array2<f64>,
    pub y_train: Array1<f64>,
    pub y_train_clean: Array1<f64>,
    /// Which of the four clusters (+mu1, -mu1, +mu2, -mu2 as 0..3) each point came from.
    pub cluster_train: Vec<u8>,
    pub x_test: Array2<f64>,
    pub y_test: Array1<f64>,
    pub cluster_test: Vec<u8>,
    /// mu1 and mu2 as rows of a 2 x d matrix.
    pub means: Array2<f64>,
    pub representation: Representation,
}

impl XorCluster {
    /// Resolve `Auto` for this size.
    pub fn representation(&self) -> Representation {
        let needed = (self.n + self.n_test + 2) as u64;
        match self.representation {
            Representation::Auto if self.p > needed => Representation::Span,
            Representation::Auto => Representation::Explicit,
            r => r,
        }
    }

    /// The working dimension d of the sampled vectors.
    pub fn working_dim(&self) -> usize {
        match self.representation() {
            Representation::Span => 2 + self.n + self.n_test,
            _ => self.p as usize,
        }
    }

    /// Draw clean labels, clusters and means for `count` points: (labels, clusters, mean part).
    /// With `balanced`, the first n points' clusters are a random permutation
    /// of n/4 copies of each (drawn first); the rest draw label and sign per point.
    fn draw_means(&self, count: usize, rng: &mut Rng) -> (Vec<f64>, Vec<u8>, Array2<f64>) {
        let mut labels = Vec::with_capacity(count);
        let mut clusters = Vec::with_capacity(count);
        let mut mean_part = Array2::zeros((count, 2));
        let fixed: Vec<u8> = if self.balanced {
            let mut order: Vec<u8> = (0..self.n).map(|i| (i % 4) as u8).collect();
            order.shuffle(rng);
            order
        } else {
            Vec::new()
        };
        for i in 0..count {
            // Cluster 2 axis + (sign < 0): +mu1, -mu1 (label +1), +mu2, -mu2 (label -1).
            let (ytilde, sign) = match fixed.get(i) {
                Some(&k) => (
                    if k < 2 { 1.0 } else { -1.0 },
                    if k % 2 == 0 { 1.0 } else { -1.0 },
                ),
                None => (
                    if rng.random::<bool>() { 1.0 } else { -1.0 },
                    if rng.random::<bool>() { 1.0 } else { -1.0 },
                ),
            };
            let axis = if ytilde > 0.0 { 0 } else { 1 };
            mean_part[[i, axis]] = sign * self.mu_norm;
            labels.push(ytilde);
            clusters.push((2 * axis + usize::from(sign < 0.0)) as u8);
        }
        (labels, clusters, mean_part)
    }

    /// One sample of the training and test sets.
    pub fn sample(&self, rng: &mut Rng) -> XorClusterSample {
        let total = self.n + self.n_test;
        let rep = self.representation();
        let d = self.working_dim();
        let (labels, clusters, mean_part) = self.draw_means(total, rng);
        // Noise: explicit N(0, I_p), or its exact coordinates (2 free axes + Bartlett block).
        let mut x = Array2::<f64>::zeros((total, d));
        match rep {
            Representation::Span => {
                for v in x.slice_mut(s![.., ..2]).iter_mut() {
                    *v = StandardNormal.sample(rng);
                }
                let rest = bartlett_coordinates(total, self.p - 2, rng);
                x.slice_mut(s![.., 2..]).assign(&rest);
            }
            _ => x.iter_mut().for_each(|v| *v = StandardNormal.sample(rng)),
        }
        {
            let mut first_two = x.slice_mut(s![.., ..2]);
            first_two += &mean_part;
        }
        let mut means = Array2::zeros((2, d));
        means[[0, 0]] = self.mu_norm;
        means[[1, 1]] = self.mu_norm;

        let clean_train = labels[..self.n].to_vec();
        let (noisy, _) = flip_binary(&clean_train, self.eta, self.flip_rule, rng);
        XorClusterSample {
            x_train: x.slice(s![..self.n, ..]).to_owned(),
            y_train: Array1::from(noisy),
            y_train_clean: Array1::from(clean_train),
            cluster_train: clusters[..self.n].to_vec(),
            x_test: x.slice(s![self.n.., ..]).to_owned(),
            y_test: Array1::from(labels[self.n..].to_vec()),
            cluster_test: clusters[self.n..].to_vec(),
            means,
            representation: rep,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist(p: u64, rep: Representation) -> XorCluster {
        XorCluster {
            p,
            n: 400,
            n_test: 100,
            mu_norm: 3.0,
            eta: 0.1,
            flip_rule: FlipRule::Bernoulli,
            representation: rep,
            balanced: false,
        }
    }

    /// Balanced: exactly n/4 training points per cluster, labels following
    /// the cluster; the test set keeps its uniform draw (not balanced).
    #[test]
    fn balanced_sets_exactly_a_quarter_per_cluster() {
        let dist = XorCluster {
            balanced: true,
            n_test: 400,
            ..dist(100_000, Representation::Span)
        };
        let mut rng = crate::rng::stream(13, 0, "xor-test");
        let s = dist.sample(&mut rng);
        for c in 0..4u8 {
            let count = s.cluster_train.iter().filter(|&&k| k == c).count();
            assert_eq!(count, dist.n / 4, "cluster {c}");
        }
        for i in 0..dist.n {
            assert_eq!(s.y_train_clean[i] > 0.0, s.cluster_train[i] < 2);
            let axis = usize::from(s.cluster_train[i] >= 2);
            let sign = if s.cluster_train[i].is_multiple_of(2) {
                1.0
            } else {
                -1.0
            };
            // The mean part sits on the cluster's axis with its sign (noise sd 1, ||mu|| = 3).
            assert!(sign * s.x_train[[i, axis]] > 3.0 - 5.0);
        }
        // Not in file order: the first quarter is not one cluster.
        assert!(s.cluster_train[..dist.n / 4]
            .iter()
            .any(|&k| k != s.cluster_train[0]));
        let uneven = (0..4u8)
            .map(|c| s.cluster_test.iter().filter(|&&k| k == c).count())
            .any(|k| k != dist.n_test / 4);
        assert!(
            uneven,
            "the test set drew uniformly, so almost surely not exactly balanced"
        );
    }

    /// Cluster means, orthogonality, noise scale and flip rate, in both representations.
    #[test]
    fn statistics_match_the_distribution() {
        for (p, rep) in [
            (600u64, Representation::Explicit),
            (100_000u64, Representation::Span),
        ] {
            let dist = dist(p, rep);
            let mut rng = crate::rng::stream(11, 0, "xor-test");
            let sample = dist.sample(&mut rng);
            let x = &sample.x_train;
            let mu = &sample.means;
            assert!(mu.row(0).dot(&mu.row(1)).abs() < 1e-12);
            assert!((mu.row(0).dot(&mu.row(0)).sqrt() - 3.0).abs() < 1e-12);
            // <x, mu1>/||mu|| has mean +-||mu|| on clusters 0/1 and 0 on clusters 2/3, unit variance.
            for c in 0..4u8 {
                let proj: Vec<f64> = (0..dist.n)
                    .filter(|&i| sample.cluster_train[i] == c)
                    .map(|i| x.row(i).dot(&mu.row(0)) / 3.0)
                    .collect();
                let mean = proj.iter().sum::<f64>() / proj.len() as f64;
                let want = match c {
                    0 => 3.0,
                    1 => -3.0,
                    _ => 0.0,
                };
                assert!(
                    (mean - want).abs() < 5.0 / (proj.len() as f64).sqrt(),
                    "cluster {c}: {mean}"
                );
            }
            // ||x||^2 ~ p + ||mu||^2 with sd sqrt(2p).
            let mean_sq = x.rows().into_iter().map(|r| r.dot(&r)).sum::<f64>() / dist.n as f64;
            let want = p as f64 + 9.0;
            assert!(
                (mean_sq - want).abs() < 5.0 * (2.0 * p as f64 / dist.n as f64).sqrt(),
                "{mean_sq} vs {want}"
            );
            // Clean labels follow the cluster axis; the flip rate sits in a binomial interval.
            for i in 0..dist.n {
                assert_eq!(sample.y_train_clean[i] > 0.0, sample.cluster_train[i] < 2);
            }
            let flips = (0..dist.n)
                .filter(|&i| sample.y_train[i] != sample.y_train_clean[i])
                .count() as f64;
            let sd = (dist.n as f64 * 0.1 * 0.9).sqrt();
            assert!((flips - 40.0).abs() < 4.0 * sd, "{flips} flips");
            assert_eq!(sample.representation, rep);
            assert_eq!(x.ncols(), dist.working_dim());
        }
    }

    /// Cross inner products between distinct points: mean 0, variance p (+ mean terms).
    #[test]
    fn span_representation_preserves_inner_product_law() {
        let dist = XorCluster {
            mu_norm: 0.0,
            ..dist(5000, Representation::Span)
        };
        let mut rng = crate::rng::stream(12, 0, "xor-test");
        let s = dist.sample(&mut rng);
        let g = s.x_train.dot(&s.x_train.t());
        let n = dist.n;
        let off: Vec<f64> = (0..n)
            .flat_map(|i| (0..i).map(move |j| (i, j)))
            .map(|(i, j)| g[[i, j]])
            .collect();
        let mean = off.iter().sum::<f64>() / off.len() as f64;
        let var = off.iter().map(|v| v * v).sum::<f64>() / off.len() as f64;
        assert!(mean.abs() < 2.0, "{mean}");
        assert!((var / 5000.0 - 1.0).abs() < 0.05, "{}", var / 5000.0);
    }
}
