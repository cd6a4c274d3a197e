//! `overfit rejudge` for the sweep: its claims read only each model's four
//! errors and parameter count, which runs.csv records (`tables::SeedRow`),
//! so a finished run's claims can be recomputed by a later version's rules
//! without retraining a model.

use std::path::Path;

use super::claims::{cells_of, claims};
use super::spec::params_of;
use super::tables::SeedRow;
use super::{CnnSweepSpec, RunRecord};
use crate::error::{Error, Result};
use crate::record::RunDir;
use crate::spec::LoadedSpec;
use crate::studies::toolkit::csv::{error_rate, read_csv};
use crate::studies::Judgement;

/// The claims of the run in `dir` from its runs.csv, which must hold one
/// row per (noise level, architecture, seed) of the resolved spec, in the
/// order `tables::seed_rows` writes them (exit 2 naming the file and row).
pub(super) fn rejudge(loaded: &LoadedSpec, dir: &Path) -> Result<Judgement> {
    let spec: CnnSweepSpec = loaded.study_section()?;
    let path = RunDir::new(dir).file("runs.csv");
    let rows: Vec<SeedRow> = read_csv(&path)?;
    let records = records_in_spec_order(&spec, &rows)
        .map_err(|why| Error::bad(format!("{}: {why}", path.display())))?;
    Ok(Judgement {
        claims: claims(&spec, &cells_of(&records), spec.train.runs),
        details: Default::default(),
    })
}

/// `rows` as records `[level][architecture][seed]`, or why they are not
/// the spec's models (a row count, or the first row whose noise level,
/// architecture, seed, epochs or parameter count is not the expected one,
/// or whose error is no rate in [0, 1]).
fn records_in_spec_order(
    spec: &CnnSweepSpec,
    rows: &[SeedRow],
) -> std::result::Result<Vec<Vec<Vec<RunRecord>>>, String> {
    let (levels, archs, runs) = (
        spec.data.label_noise.len(),
        spec.model.archs.len(),
        spec.train.runs,
    );
    if rows.len() != levels * archs * runs {
        return Err(format!(
            "{} rows, the spec's {levels} noise level(s) x {archs} architectures x {runs} seeds need {}",
            rows.len(),
            levels * archs * runs
        ));
    }
    let classes = spec.data.classes.len();
    let mut rows = rows.iter().enumerate();
    let mut records = Vec::with_capacity(levels);
    for &eta in &spec.data.label_noise {
        let mut level = Vec::with_capacity(archs);
        for (a, arch) in spec.model.archs.iter().enumerate() {
            let expected = (eta, *arch, spec.epochs_of(a), params_of(arch, classes));
            let mut models = Vec::with_capacity(runs);
            for seed in 0..runs {
                let (i, r) = rows.next().expect("counted above");
                if (r.label_noise, [r.k, r.h1, r.h2], r.epochs, r.params) != expected
                    || r.seed != seed
                {
                    return Err(format!(
                        "row {}: label_noise {}, arch [{}, {}, {}], seed {}, {} epochs, {} params; the spec's model here is label_noise {eta}, arch {arch:?}, seed {seed}, {} epochs, {} params",
                        i + 2,
                        r.label_noise,
                        r.k,
                        r.h1,
                        r.h2,
                        r.seed,
                        r.epochs,
                        r.params,
                        expected.2,
                        expected.3
                    ));
                }
                for (column, value) in [
                    ("best_train_error", r.best_train_error),
                    ("last10_test_error", r.last10_test_error),
                    ("final_train_error", r.final_train_error),
                    ("final_test_error", r.final_test_error),
                ] {
                    error_rate(value, &format!("row {}: {column}", i + 2))?;
                }
                models.push(r.record());
            }
            level.push(models);
        }
        records.push(level);
    }
    Ok(records)
}
