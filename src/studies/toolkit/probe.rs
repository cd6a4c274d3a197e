//! Instruments that read a wide two-layer network h(x) = sum_j a_j
//! sigma(<w_j, x>) (`nets::wide`) neuron by neuron: the alignment of each
//! neuron's direction to the extremal vectors of G(w) = <w, D(w, 0)>, the
//! direction clusters, the mass on each sign of a_j, and the growth of a_j
//! that Theorem 1 of Boursier & Flammarion (JMLR 26, 2025) bounds. Used by
//! the early-alignment study and by the optimization-threshold study (Boursier
//! & Flammarion, ICML 2025), which probes the same networks.

use crate::nets::wide::{Points, WideNet};
use crate::record::quantile;
use crate::theory::early_alignment::cosine;

/// What the instruments read off the neurons at one step.
#[derive(Clone, Debug, Default)]
pub struct NeuronProbe {
    /// Median over active neurons with a_j > 0 of the cosine to the nearest
    /// attracting direction for a_j > 0 (NaN when there is none).
    pub median_cos_pos: f64,
    pub median_cos_neg: f64,
    /// Share of active positive neurons with cosine >= 0.999.
    pub aligned_pos: f64,
    pub active_pos: usize,
    pub active_neg: usize,
    /// Direction clusters holding >= cluster_mass of the total mass.
    pub clusters: usize,
    /// sum_j a_j^2 over a_j > 0 and over a_j < 0.
    pub mass_pos: f64,
    pub mass_neg: f64,
    /// max_j |a_j(t)| / |a_j(0)| over the neurons Theorem 1 covers
    /// (|a_j(0)| >= ||w_j(0)||) with a_j(0) != 0; NaN when no neuron counts,
    /// and when one of them is NaN (a diverged neuron).
    pub max_growth: f64,
}

/// Options of `probe_neurons`.
#[derive(Clone, Copy, Debug)]
pub struct ProbeOptions {
    pub gamma: f64,
    pub cluster_cos: f64,
    pub cluster_mass: f64,
}

/// The heaviest neurons considered when counting clusters (cost O(K clusters)).
const CLUSTER_NEURONS: usize = 4000;

/// Read the instruments off the network. `targets_pos` / `targets_neg` are
/// unit directions attracting neurons with a_j > 0 / a_j < 0; a neuron is
/// active when some training point has <w_j, x_k> > 0; `eligible` marks the
/// neurons whose growth is tracked. Cost O(m (n + T) d).
pub fn probe_neurons(
    net: &WideNet,
    a0: &[f64],
    eligible: &[bool],
    data: &Points,
    targets_pos: &[Vec<f64>],
    targets_neg: &[Vec<f64>],
    opts: &ProbeOptions,
) -> NeuronProbe {
    let d = net.dim();
    let mut w = vec![0.0; d];
    let (mut cos_pos, mut cos_neg) = (Vec::new(), Vec::new());
    let mut p = NeuronProbe::default();
    // None until a tracked neuron counts: a probe that measured nothing
    // reports NaN, not a growth of 0 that a growth bound would pass.
    let mut max_growth: Option<f64> = None;
    let mut heavy: Vec<(f64, usize)> = Vec::with_capacity(net.width());
    for j in 0..net.width() {
        let a = net.neuron(j, &mut w);
        let w2: f64 = w.iter().map(|v| v * v).sum();
        if a > 0.0 {
            p.mass_pos += a * a;
        } else {
            p.mass_neg += a * a;
        }
        if eligible[j] && a0[j] != 0.0 {
            let growth = a.abs() / a0[j].abs();
            // A NaN (a diverged neuron) wins and stays, where f64::max drops it.
            max_growth = Some(match max_growth {
                Some(m) if m.is_nan() || m >= growth => m,
                _ => growth,
            });
        }
        heavy.push((a * a + w2, j));
        let active = (0..data.len())
            .any(|k| data.row(k).iter().zip(&w).map(|(x, v)| x * v).sum::<f64>() > 0.0);
        if !active || a == 0.0 {
            continue;
        }
        let (targets, out) = if a > 0.0 {
            p.active_pos += 1;
            (targets_pos, &mut cos_pos)
        } else {
            p.active_neg += 1;
            (targets_neg, &mut cos_neg)
        };
        if !targets.is_empty() {
            out.push(
                targets
                    .iter()
                    .map(|t| cosine(&w, t))
                    .fold(f64::NEG_INFINITY, f64::max),
            );
        }
    }
    p.median_cos_pos = quantile(&cos_pos, 0.5);
    p.median_cos_neg = quantile(&cos_neg, 0.5);
    p.aligned_pos = if cos_pos.is_empty() {
        f64::NAN
    } else {
        cos_pos.iter().filter(|&&c| c >= 0.999).count() as f64 / cos_pos.len() as f64
    };
    p.max_growth = max_growth.unwrap_or(f64::NAN);
    p.clusters = count_clusters(net, &mut heavy, opts);
    p
}

/// Neurons that satisfy Theorem 1's assumption |a_j(0)| >= ||w_j(0)|| (all of
/// them for balanced and dominated inits; up to rounding for balanced).
pub fn theorem_covers(a0: &[f64], w0: &[f64], d: usize) -> Vec<bool> {
    a0.iter()
        .zip(w0.chunks(d))
        .map(|(a, w)| a.abs() >= (1.0 - 1e-12) * w.iter().map(|v| v * v).sum::<f64>().sqrt())
        .collect()
}

/// Greedy clustering of the heaviest neurons by direction and sign of a_j;
/// returns the number of clusters holding >= cluster_mass of the total mass.
fn count_clusters(net: &WideNet, heavy: &mut [(f64, usize)], opts: &ProbeOptions) -> usize {
    let total: f64 = heavy.iter().map(|h| h.0).sum();
    if total <= 0.0 {
        return 0;
    }
    heavy.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
    let d = net.dim();
    let mut centres: Vec<(f64, Vec<f64>, f64)> = Vec::new(); // (sign, unit direction, mass)
    let mut w = vec![0.0; d];
    for &(mass, j) in heavy.iter().take(CLUSTER_NEURONS) {
        let a = net.neuron(j, &mut w);
        let sign = if a >= 0.0 { 1.0 } else { -1.0 };
        match centres
            .iter_mut()
            .find(|c| c.0 == sign && cosine(&c.1, &w) >= opts.cluster_cos)
        {
            Some(c) => c.2 += mass,
            None => {
                let nw = w.iter().map(|v| v * v).sum::<f64>().sqrt();
                let unit = if nw > 0.0 {
                    w.iter().map(|v| v / nw).collect()
                } else {
                    w.clone()
                };
                centres.push((sign, unit, mass));
            }
        }
    }
    centres
        .iter()
        .filter(|c| c.2 >= opts.cluster_mass * total)
        .count()
}

#[cfg(test)]
mod growth_tests {
    use super::*;
    use crate::nets::wide::{Points, WideNet};

    fn growth(a: &[f64], a0: &[f64], eligible: &[bool]) -> f64 {
        let net = WideNet::from_arrays(a, &vec![1.0; 2 * a.len()], 2).unwrap();
        let data = Points::new(2, vec![1.0, 0.5], vec![1.0]).unwrap();
        let opts = ProbeOptions {
            gamma: 0.0,
            cluster_cos: 0.99,
            cluster_mass: 0.5,
        };
        probe_neurons(&net, a0, eligible, &data, &[], &[], &opts).max_growth
    }

    /// max_growth is the largest |a_j| / |a_j(0)| over the tracked neurons,
    /// NaN when none can be measured (it was 0, which passes a growth bound)
    /// and when a tracked neuron's growth is NaN (f64::max dropped it).
    #[test]
    fn max_growth_is_nan_when_nothing_or_a_nan_is_measured() {
        assert_eq!(growth(&[2.0, -3.0], &[1.0, 1.0], &[true, true]), 3.0);
        assert_eq!(growth(&[2.0, -3.0], &[1.0, 1.0], &[true, false]), 2.0);
        assert!(growth(&[2.0, -3.0], &[0.0, 0.0], &[true, true]).is_nan());
        assert!(growth(&[2.0, -3.0], &[1.0, 1.0], &[false, false]).is_nan());
        assert!(growth(&[f64::NAN, 5.0], &[1.0, 1.0], &[true, true]).is_nan());
        assert!(growth(&[5.0, f64::NAN], &[1.0, 1.0], &[true, true]).is_nan());
    }
}
