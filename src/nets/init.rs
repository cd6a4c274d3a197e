//! Initialisation schemes for two-layer networks (d inputs, m neurons).

use ndarray::{Array1, Array2};
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::rng::Rng;

/// W(0) with i.i.d. N(0, omega^2) entries, d x m.
pub fn gaussian_first_layer(d: usize, m: usize, omega: f64, rng: &mut Rng) -> Array2<f64> {
    Array2::from_shape_simple_fn((d, m), || {
        omega * Distribution::<f64>::sample(&StandardNormal, rng)
    })
}

/// How the second layer a starts.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum SecondLayerInit {
    /// a_j uniform on {+scale, -scale} (Xu et al.: scale = 1/sqrt(m)); `scale` absent means 1/sqrt(m).
    RandomSign { scale: Option<f64> },
    /// a_j = +scale, -scale, +scale, ... (Karhadkar et al.: scale = 1).
    Alternating { scale: Option<f64> },
    /// a_j ~ N(0, std^2).
    Gaussian { std: f64 },
    /// a_j = s_j ||w_j(0)|| with random signs s_j: zero balancedness a_j^2 - ||w_j||^2.
    Balanced,
}

/// a(0) for the given W(0) (needed by `Balanced`).
pub fn second_layer(init: SecondLayerInit, w0: &Array2<f64>, rng: &mut Rng) -> Array1<f64> {
    let m = w0.ncols();
    let default_scale = 1.0 / (m as f64).sqrt();
    let sign = |rng: &mut Rng| if rng.random::<bool>() { 1.0 } else { -1.0 };
    match init {
        SecondLayerInit::RandomSign { scale } => {
            let c = scale.unwrap_or(default_scale);
            (0..m).map(|_| c * sign(rng)).collect()
        }
        SecondLayerInit::Alternating { scale } => {
            let c = scale.unwrap_or(default_scale);
            (0..m).map(|j| if j % 2 == 0 { c } else { -c }).collect()
        }
        SecondLayerInit::Gaussian { std } => (0..m)
            .map(|_| std * Distribution::<f64>::sample(&StandardNormal, rng))
            .collect(),
        SecondLayerInit::Balanced => w0
            .columns()
            .into_iter()
            .map(|col| sign(rng) * col.dot(&col).sqrt())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_init_has_zero_balancedness() {
        let mut rng = crate::rng::stream(1, 0, "t");
        let w0 = gaussian_first_layer(5, 40, 0.3, &mut rng);
        let a = second_layer(SecondLayerInit::Balanced, &w0, &mut rng);
        for (j, col) in w0.columns().into_iter().enumerate() {
            assert!((a[j] * a[j] - col.dot(&col)).abs() < 1e-12);
        }
    }

    #[test]
    fn random_sign_default_scale_is_inverse_sqrt_m() {
        let mut rng = crate::rng::stream(1, 0, "t");
        let w0 = Array2::zeros((3, 100));
        let a = second_layer(SecondLayerInit::RandomSign { scale: None }, &w0, &mut rng);
        assert!(a.iter().all(|&v| (v.abs() - 0.1).abs() < 1e-15));
        let pos = a.iter().filter(|&&v| v > 0.0).count();
        assert!((25..=75).contains(&pos), "{pos} positive of 100");
    }
}
