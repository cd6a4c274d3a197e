//! The extra files of an early-alignment run, as typed rows: neurons.csv
//! (snapshots of the first neurons), theory.csv (the data, the OLS fit and
//! the extremal vectors of the scan) and fit.csv (the final function on a
//! grid). The figures read them back by column name.

use serde::{Deserialize, Serialize};

use super::RunRecord;
use crate::nets::wide::Points;
use crate::studies::toolkit::csv::{display, lower_exp, to_csv_with_header};
use crate::theory::early_alignment::{Attracts, OlsFit, SphereScan};

/// One row of neurons.csv: neuron j of the snapshot at `step`, (a_j, w_j).
/// The inputs are (x, 1) (validate refuses `model.bias = false`), so w_j has
/// the two coordinates (w_j,x, w_j,bias).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(super) struct NeuronRow {
    pub step: u64,
    pub neuron: usize,
    #[serde(serialize_with = "lower_exp")]
    pub a: f64,
    #[serde(serialize_with = "lower_exp")]
    pub w0: f64,
    #[serde(serialize_with = "lower_exp")]
    pub w1: f64,
}

/// What a row of theory.csv holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum TheoryKind {
    /// Training point k: (u, v, w) = (x_k, y_k, OLS prediction at x_k).
    #[default]
    Point,
    /// An extremal vector attracting a_j > 0 neurons: (u, v) = the unit
    /// direction, w = G there.
    ExtremalPos,
    /// An extremal vector attracting a_j < 0 neurons, as `ExtremalPos`.
    ExtremalNeg,
    /// The OLS coefficients (u, v) = (slope, intercept) and w = its MSE.
    OlsBeta,
}

/// One row of theory.csv (the columns' meaning depends on `kind`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(super) struct TheoryRow {
    pub kind: TheoryKind,
    pub index: usize,
    #[serde(serialize_with = "display")]
    pub u: f64,
    #[serde(serialize_with = "display")]
    pub v: f64,
    #[serde(serialize_with = "display")]
    pub w: f64,
}

/// One row of fit.csv: the final network h at x.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(super) struct FitRow {
    #[serde(serialize_with = "display")]
    pub x: f64,
    #[serde(serialize_with = "display")]
    pub f: f64,
}

/// neurons.csv: every snapshot of the main run, neuron by neuron.
pub(super) fn neurons_csv(rec: &RunRecord) -> String {
    let mut rows = Vec::new();
    for snap in &rec.snapshots {
        for (j, (&a, w)) in snap.a.iter().zip(snap.w.chunks_exact(2)).enumerate() {
            rows.push(NeuronRow {
                step: snap.step,
                neuron: j,
                a,
                w0: w[0],
                w1: w[1],
            });
        }
    }
    to_csv_with_header(&rows)
}

/// theory.csv: the data, the OLS predictions and the extremal vectors, for the figures.
pub(super) fn theory_csv(data: &Points, scan: &SphereScan, fit: &OlsFit) -> String {
    let mut rows: Vec<TheoryRow> = (0..data.len())
        .map(|k| TheoryRow {
            kind: TheoryKind::Point,
            index: k,
            u: data.row(k)[0],
            v: data.y[k],
            w: fit.predictions[k],
        })
        .collect();
    for (i, e) in scan.extremal.iter().enumerate() {
        rows.push(TheoryRow {
            kind: match e.attracts {
                Attracts::Positive => TheoryKind::ExtremalPos,
                Attracts::Negative => TheoryKind::ExtremalNeg,
            },
            index: i,
            u: e.direction[0],
            v: e.direction.get(1).copied().unwrap_or(0.0),
            w: e.g,
        });
    }
    rows.push(TheoryRow {
        kind: TheoryKind::OlsBeta,
        index: 0,
        u: fit.beta[0],
        v: fit.beta.get(1).copied().unwrap_or(0.0),
        w: fit.mse,
    });
    to_csv_with_header(&rows)
}

/// fit.csv: the final function of the main run on the plotting grid.
pub(super) fn fit_csv(rec: &RunRecord) -> String {
    let rows: Vec<FitRow> = rec.fit.iter().map(|&(x, f)| FitRow { x, f }).collect();
    to_csv_with_header(&rows)
}
