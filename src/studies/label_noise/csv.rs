//! The extra files of a label-noise run as typed rows: cells.csv (one row per
//! classifier fit of the phase grid) and gd.csv (the logistic-GD
//! trajectories). The claims read the rows in memory, the figures and
//! `overfit rejudge` read the files back by column name.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{gd_jobs, grid_jobs, LabelNoiseSpec, GD_LOG};
use crate::error::Result;
use crate::spec::LoadedSpec;
use crate::studies::toolkit::csv::rejudge_rows;
use crate::studies::toolkit::log_schedule;
use crate::studies::Judgement;

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

/// `overfit rejudge`: the claims from cells.csv and gd.csv (when the spec has
/// logistic GD), each row naming its run (p/n, n, eta, seed; p/n, eta, seed,
/// step) in the spec's order (`toolkit::csv::rejudge_rows`); else exit 2
/// naming the file and the row.
pub(super) fn rejudge(loaded: &LoadedSpec, dir: &Path) -> Result<Judgement> {
    let spec: LabelNoiseSpec = loaded.study_section()?;
    let d = &spec.data;
    let planned: Vec<(f64, usize, f64, usize)> = grid_jobs(&spec)
        .into_iter()
        .flat_map(|(ri, ni, s)| {
            d.eta
                .iter()
                .map(move |&eta| (d.p_over_n[ri], d.n[ni], eta, s))
        })
        .collect();
    let rows: Vec<Row> = rejudge_rows(dir, "cells.csv", &planned, |r: &Row| {
        (r.p_over_n, r.n, r.eta, r.seed)
    })?;
    let gd_rows: Vec<GdRow> = match &spec.logistic_gd {
        Some(g) => {
            let steps: Vec<u64> = log_schedule(g.steps, GD_LOG.0, GD_LOG.1, &[])
                .into_iter()
                .filter(|&t| t > 0)
                .map(|t| t as u64)
                .collect();
            let planned: Vec<(f64, f64, usize, u64)> = gd_jobs(&spec)
                .into_iter()
                .flat_map(|(ri, ei, s)| {
                    steps
                        .iter()
                        .map(move |&t| (g.p_over_n[ri], g.eta[ei], s, t))
                })
                .collect();
            rejudge_rows(dir, "gd.csv", &planned, |r: &GdRow| {
                (r.p_over_n, r.eta, r.seed, r.step)
            })?
        }
        None => Vec::new(),
    };
    let (claims, details) = super::claims::analyze(&spec, &rows, &gd_rows);
    Ok(Judgement { claims, details })
}
