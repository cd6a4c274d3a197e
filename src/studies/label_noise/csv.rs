//! The extra files of a label-noise run as typed rows: cells.csv (one row per
//! classifier fit of the phase grid) and gd.csv (the logistic-GD
//! trajectories). The claims read the rows in memory, the figures and
//! `overfit rejudge` read the files back by column name.

use std::fmt::Debug;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{gd_jobs, grid_jobs, LabelNoiseSpec, GD_LOG};
use crate::error::{Error, Result};
use crate::record::RunDir;
use crate::spec::LoadedSpec;
use crate::studies::toolkit::csv::read_csv;
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
/// step) in the spec's order; else exit 2 naming the file and the row.
pub(super) fn rejudge(loaded: &LoadedSpec, dir: &Path) -> Result<Judgement> {
    let spec: LabelNoiseSpec = loaded.study_section()?;
    let run_dir = RunDir::new(dir);
    let d = &spec.data;
    let cells_path = run_dir.file("cells.csv");
    let rows: Vec<Row> = read_csv(&cells_path)?;
    let planned: Vec<(f64, usize, f64, usize)> = grid_jobs(&spec)
        .into_iter()
        .flat_map(|(ri, ni, s)| {
            d.eta
                .iter()
                .map(move |&eta| (d.p_over_n[ri], d.n[ni], eta, s))
        })
        .collect();
    same_runs(
        &cells_path,
        &planned,
        rows.iter().map(|r| (r.p_over_n, r.n, r.eta, r.seed)),
    )?;
    let gd_rows: Vec<GdRow> = match &spec.logistic_gd {
        Some(g) => {
            let gd_path = run_dir.file("gd.csv");
            let rows: Vec<GdRow> = read_csv(&gd_path)?;
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
            same_runs(
                &gd_path,
                &planned,
                rows.iter().map(|r| (r.p_over_n, r.eta, r.seed, r.step)),
            )?;
            rows
        }
        None => Vec::new(),
    };
    let (claims, details) = super::claims::analyze(&spec, &rows, &gd_rows);
    Ok(Judgement { claims, details })
}

/// The rows of `path` are the planned ones, in order: the same count, and
/// row i names run `planned[i]` (counting the header as row 1).
fn same_runs<K: PartialEq + Debug>(
    path: &Path,
    planned: &[K],
    got: impl ExactSizeIterator<Item = K>,
) -> Result<()> {
    if got.len() != planned.len() {
        let (n, want) = (got.len(), planned.len());
        return Err(Error::bad(format!(
            "{}: {n} rows, the spec plans {want}",
            path.display()
        )));
    }
    for (i, (got, want)) in got.zip(planned).enumerate() {
        if got != *want {
            return Err(Error::bad(format!(
                "{}: row {} is run {got:?}, the spec plans {want:?} there",
                path.display(),
                i + 2
            )));
        }
    }
    Ok(())
}
