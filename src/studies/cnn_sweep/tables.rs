//! The run's tables as typed rows (`toolkit::csv`): table.csv, one row per
//! (noise level, architecture) with medians over seeds, and runs.csv, one
//! row per trained model, from which every claim can be recomputed.

use serde::{Deserialize, Serialize};

use super::claims::Cell;
use super::CnnSweepSpec;
use crate::studies::toolkit::csv::display;

/// A row of table.csv: medians over the cell's seeds.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(super) struct CellRow {
    #[serde(serialize_with = "display")]
    pub label_noise: f64,
    pub k: usize,
    pub h1: usize,
    pub h2: usize,
    pub params: usize,
    pub runs: usize,
    #[serde(serialize_with = "display")]
    pub best_train_error: f64,
    #[serde(serialize_with = "display")]
    pub last10_test_error: f64,
    #[serde(serialize_with = "display")]
    pub final_train_error: f64,
    #[serde(serialize_with = "display")]
    pub final_test_error: f64,
}

/// A row of runs.csv: one trained model (seed index `seed` of its cell),
/// its epoch budget and what it measured.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(super) struct SeedRow {
    #[serde(serialize_with = "display")]
    pub label_noise: f64,
    pub k: usize,
    pub h1: usize,
    pub h2: usize,
    pub params: usize,
    pub seed: usize,
    pub epochs: usize,
    #[serde(serialize_with = "display")]
    pub best_train_error: f64,
    #[serde(serialize_with = "display")]
    pub last10_test_error: f64,
    #[serde(serialize_with = "display")]
    pub final_train_error: f64,
    #[serde(serialize_with = "display")]
    pub final_test_error: f64,
}

impl SeedRow {
    /// The record the claims read (no per-epoch metrics).
    pub fn record(&self) -> super::RunRecord {
        super::RunRecord {
            metrics: Default::default(),
            params: self.params,
            best_train_error: self.best_train_error,
            last10_test_error: self.last10_test_error,
            final_train_error: self.final_train_error,
            final_test_error: self.final_test_error,
        }
    }
}

/// table.csv's rows, `cells[l][a]` in level then architecture order.
pub(super) fn cell_rows(spec: &CnnSweepSpec, cells: &[Vec<Cell>]) -> Vec<CellRow> {
    let mut rows = Vec::new();
    for (l, row) in cells.iter().enumerate() {
        for (a, c) in row.iter().enumerate() {
            let [k, h1, h2] = spec.model.archs[a];
            rows.push(CellRow {
                label_noise: spec.data.label_noise[l],
                k,
                h1,
                h2,
                params: c.params,
                runs: c.runs.len(),
                best_train_error: c.median(|r| r.best_train_error),
                last10_test_error: c.median(|r| r.last10_test_error),
                final_train_error: c.median(|r| r.final_train_error),
                final_test_error: c.median(|r| r.final_test_error),
            });
        }
    }
    rows
}

/// runs.csv's rows, in the order of table.csv, seeds in order within a cell.
pub(super) fn seed_rows(spec: &CnnSweepSpec, cells: &[Vec<Cell>]) -> Vec<SeedRow> {
    let mut rows = Vec::new();
    for (l, row) in cells.iter().enumerate() {
        for (a, c) in row.iter().enumerate() {
            let [k, h1, h2] = spec.model.archs[a];
            for (seed, r) in c.runs.iter().enumerate() {
                rows.push(SeedRow {
                    label_noise: spec.data.label_noise[l],
                    k,
                    h1,
                    h2,
                    params: r.params,
                    seed,
                    epochs: spec.epochs_of(a),
                    best_train_error: r.best_train_error,
                    last10_test_error: r.last10_test_error,
                    final_train_error: r.final_train_error,
                    final_test_error: r.final_test_error,
                });
            }
        }
    }
    rows
}
