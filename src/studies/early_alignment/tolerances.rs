//! The early-alignment claims' tolerances (the spec's `[tolerances]`), where
//! the theory fixes none.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::spec::{open_unit, positive, LoadedSpec};

/// The tolerances of the claims, written in the spec before the run that
/// judges them: the theory says "equals the OLS fit" or "aligns", not how
/// close a finite run must come.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tolerances {
    /// `ols_fit.final_loss`: |final MSE - OLS residual| <= this x OLS residual.
    pub final_loss_rel: f64,
    /// `ols_fit.predictions`: max_k |h(x_k) - OLS prediction_k| <= this.
    pub prediction_dev: f64,
    /// A run ends at the spurious OLS fit when its final MSE is within
    /// (1 - this) x the OLS residual of it, from either side
    /// (`lambda_sweep.small_init_spurious`).
    pub spurious_mse_ratio: f64,
    /// `alignment.median_cosine`: the median cosine at the alignment step >= this.
    pub median_cosine: f64,
    /// `alignment.negative_neurons_stay_small`: the a_j < 0 share of sum_j a_j^2 <= this.
    pub negative_share: f64,
    /// `plateau.half_time_near_tau_one`: relative tolerance around tau_1.
    pub half_time_rel: f64,
    /// `sparse_fit.no_interpolation`: final MSE / OLS residual >= this.
    pub sparse_mse_ratio: f64,
    /// `lambda_sweep.large_init_interpolates`: final MSE / OLS residual <= this.
    pub interpolating_mse_ratio: f64,
    /// `lambda_sweep.escape_slope`: relative tolerance around 1/D_max.
    pub escape_slope_rel: f64,
    /// `alignment.fastest_rate`: the fastest neuron's log-growth rate over
    /// (0, tau_eps] lies in [1 - this, 1] x D_max.
    pub fastest_rate_rel: f64,
}

impl Tolerances {
    /// Out of range, a claim could not fail (or could not hold): exit 2
    /// naming the key.
    pub fn validate(&self, spec: &LoadedSpec) -> Result<()> {
        let bad = |key: &str, m: &str| Err(spec.bad_value(&format!("tolerances.{key}"), m));
        for (key, v) in [
            ("final_loss_rel", self.final_loss_rel),
            ("prediction_dev", self.prediction_dev),
            ("half_time_rel", self.half_time_rel),
            ("escape_slope_rel", self.escape_slope_rel),
        ] {
            if !positive(v) {
                return bad(key, "must be a positive number");
            }
        }
        for (key, v) in [
            ("spurious_mse_ratio", self.spurious_mse_ratio),
            ("median_cosine", self.median_cosine),
            ("negative_share", self.negative_share),
            ("sparse_mse_ratio", self.sparse_mse_ratio),
            ("interpolating_mse_ratio", self.interpolating_mse_ratio),
            ("fastest_rate_rel", self.fastest_rate_rel),
        ] {
            if !open_unit(v) {
                return bad(key, "must lie in (0, 1)");
            }
        }
        Ok(())
    }
}
