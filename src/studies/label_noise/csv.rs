//! The extra files of a label-noise run as typed rows: cells.csv (one row per
//! classifier fit of the phase grid) and gd.csv (the logistic-GD
//! trajectories). The claims read the rows in memory, the figures read the
//! files back by column name.

use serde::{Deserialize, Serialize};

/// One row of cells.csv: a (p/n, n, eta, seed) run of the grid.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct Row {
    pub p_over_n: f64,
    pub n: usize,
    pub p: usize,
    pub eta: f64,
    pub seed: usize,
    /// <w, mu> / sqrt(w^T Sigma w) of the min-norm interpolator (least squares when p < n).
    pub snr_min_norm: f64,
    pub train_accuracy_min_norm: f64,
    /// NaN when the SVM was not computed (p < n).
    pub snr_svm: f64,
    /// 1 when every training point is a support vector, 0 when not (NaN: no SVM).
    pub all_support: f64,
    /// 1 - cos(w_svm, w_min_norm) (NaN: no SVM).
    pub one_minus_cos: f64,
}

/// One row of gd.csv: logistic GD of one (p/n, eta, seed) at one step.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct GdRow {
    pub p_over_n: f64,
    pub eta: f64,
    pub seed: usize,
    pub step: u64,
    /// 1 - cos(w(t), w_svm).
    pub one_minus_cos: f64,
    /// The normalised margin min_i y_i <w, x_i> / ||w|| over the SVM's.
    pub margin_ratio: f64,
    pub train_accuracy: f64,
    pub snr: f64,
    /// The SNR of the hard-margin SVM of the same data.
    pub svm_snr: f64,
}
