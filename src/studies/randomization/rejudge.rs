//! `overfit rejudge` for the randomization tests: every claim reads a run's
//! epochs and steps to zero training error, its final training error and
//! its test error, which metrics.csv records per run (split "final"), and
//! the test-set size, which summary.json's details record.

use std::collections::HashMap;
use std::path::Path;

use super::claims::{claims, Cell};
use super::{run_label, RandomizationSpec, RunRecord};
use crate::error::{Error, Result};
use crate::record::{Metrics, RunDir, Summary};
use crate::spec::LoadedSpec;
use crate::studies::toolkit::csv::error_rate;
use crate::studies::Judgement;

/// The claims of the run in `dir` from its metrics' "final" rows: each run
/// of the spec (model, randomization, seed, by its label) must have all
/// four values, once, and no other run may have final rows (exit 2 naming
/// the file, and the run and metric, otherwise).
pub(super) fn rejudge(loaded: &LoadedSpec, dir: &Path) -> Result<Judgement> {
    let spec: RandomizationSpec = loaded.study_section()?;
    let path = RunDir::new(dir).metrics();
    let metrics = Metrics::read(&path)?;
    let mut finals: HashMap<(&str, &str), f64> = HashMap::new();
    for r in metrics.rows.iter().filter(|r| r.split == "final") {
        if finals.insert((&r.run, &r.metric), r.value).is_some() {
            let why = format!("run {} has two final {} rows", r.run, r.metric);
            return Err(Error::bad(format!("{}: {why}", path.display())));
        }
    }
    let planned = spec.model.archs.len() * spec.randomizations().len() * spec.train.runs;
    let recorded: std::collections::HashSet<&str> = finals.keys().map(|k| k.0).collect();
    if recorded.len() != planned {
        return Err(Error::bad(format!(
            "{}: final rows of {} runs, the spec plans {planned}",
            path.display(),
            recorded.len()
        )));
    }
    let n_test = Summary::read(dir)?.details["test_images"]
        .as_u64()
        .ok_or_else(|| {
            Error::bad(format!(
                "{}: no details.test_images",
                dir.join("summary.json").display()
            ))
        })?;
    let rands = spec.randomizations();
    let mut records: Vec<Vec<Vec<RunRecord>>> = Vec::new();
    for arch in &spec.model.archs {
        let mut row = Vec::new();
        for r in &rands {
            let mut cell = Vec::new();
            for s in 0..spec.train.runs {
                let label = run_label(r, arch, s);
                let value = |metric: &str| {
                    finals
                        .get(&(label.as_str(), metric))
                        .copied()
                        .ok_or_else(|| {
                            Error::bad(format!(
                                "{}: run {label} has no final {metric}",
                                path.display()
                            ))
                        })
                };
                let rate = |metric: &str| {
                    error_rate(value(metric)?, &format!("run {label}'s final {metric}"))
                        .map_err(|why| Error::bad(format!("{}: {why}", path.display())))
                };
                // Not within the budget: NaN, as train_run writes None.
                let count = |v: f64| v.is_finite().then_some(v);
                cell.push(RunRecord {
                    metrics: Metrics::default(),
                    epochs_to_fit: count(value("epochs_to_fit")?).map(|e| e as usize),
                    steps_to_fit: count(value("steps_to_fit")?).map(|s| s as u64),
                    final_train_error: rate("final_train_error")?,
                    test_error: rate("test_error")?,
                });
            }
            row.push(cell);
        }
        records.push(row);
    }
    let cells: Vec<Vec<Cell>> = records
        .iter()
        .map(|row| {
            row.iter()
                .zip(&rands)
                .map(|(runs, &r)| Cell {
                    r,
                    runs: runs.iter().collect(),
                })
                .collect()
        })
        .collect();
    Ok(Judgement {
        claims: claims(&spec, &cells, n_test as usize),
        details: Default::default(),
    })
}
