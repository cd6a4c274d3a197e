//! Label noise for binary labels in {-1, +1}: the clean labels are kept.

use rand::seq::index::sample;
use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::rng::Rng;

/// How the corrupted labels are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlipRule {
    /// Each label flips independently with probability eta (Xu et al.).
    Bernoulli,
    /// Exactly round(eta n) labels, chosen uniformly, flip (Karhadkar et al.'s k).
    Exact,
}

/// Observed labels from clean ones: returns (noisy labels, which were flipped).
pub fn flip_binary(
    clean: &[f64],
    eta: f64,
    rule: FlipRule,
    rng: &mut Rng,
) -> (Vec<f64>, Vec<bool>) {
    let n = clean.len();
    let flipped: Vec<bool> = match rule {
        FlipRule::Bernoulli => (0..n).map(|_| rng.random::<f64>() < eta).collect(),
        FlipRule::Exact => {
            let k = (eta * n as f64).round() as usize;
            let mut mask = vec![false; n];
            for i in sample(rng, n, k.min(n)).iter() {
                mask[i] = true;
            }
            mask
        }
    };
    let noisy = clean
        .iter()
        .zip(&flipped)
        .map(|(&y, &f)| if f { -y } else { y })
        .collect();
    (noisy, flipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_rule_flips_exactly_k() {
        let mut rng = crate::rng::stream(1, 0, "t");
        let clean = vec![1.0; 200];
        let (noisy, flipped) = flip_binary(&clean, 0.1, FlipRule::Exact, &mut rng);
        assert_eq!(flipped.iter().filter(|&&f| f).count(), 20);
        assert_eq!(noisy.iter().filter(|&&y| y < 0.0).count(), 20);
    }

    #[test]
    fn bernoulli_rate_within_binomial_interval() {
        let mut rng = crate::rng::stream(2, 0, "t");
        let n = 20000;
        let eta = 0.05;
        let (_, flipped) = flip_binary(&vec![1.0; n], eta, FlipRule::Bernoulli, &mut rng);
        let k = flipped.iter().filter(|&&f| f).count() as f64;
        let sd = (n as f64 * eta * (1.0 - eta)).sqrt();
        assert!((k - n as f64 * eta).abs() < 4.0 * sd, "{k} flips");
    }
}
