//! The studies: one per paper's experiment, each data -> model -> train ->
//! measure -> compare with the theorem -> record. A study implements
//! [`Study`] and is listed once in [`REGISTRY`]; the runner
//! (`crate::runner`) does everything else (execution, units, shards,
//! summary, provenance). What several studies share is in [`toolkit`]; no
//! study imports another.

pub mod benign_regression;
pub mod cnn_sweep;
pub mod early_alignment;
pub mod expressivity;
pub mod label_noise;
pub mod leaky_relu_benign;
pub mod memory;
pub mod optimization_threshold;
pub mod randomization;
pub mod relu_label_noise;
pub mod toolkit;
pub mod xor_grokking;

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::memory::Peak;
use crate::record::{Claim, Metrics};
use crate::runner::RunContext;
use crate::spec::LoadedSpec;

/// What a study's run hands back to the runner, which writes it: the long
/// metrics table, the claims (predicted vs measured, with their verdicts),
/// study-specific details for summary.json, and extra CSV files
/// (name, text) that its figures read.
pub struct Findings {
    pub metrics: Metrics,
    pub claims: Vec<Claim>,
    pub details: serde_json::Value,
    pub extra_files: Vec<(String, String)>,
}

/// One experiment. The runner calls `validate` before anything is written,
/// then `plan`, runs the plan's units (`Plan::run_unit`, on a thread pool,
/// each kept in the unit store so a run resumes and shards merge), hands
/// their results to `Plan::findings`, writes the findings and calls
/// `figures`, which reads only the run directory (so `overfit plot DIR`
/// redraws it).
pub trait Study: Sync {
    /// The name a spec gives as `study = "..."`.
    fn name(&self) -> &'static str;
    /// The spec keys holding each configuration's number of runs (seeds);
    /// `--seeds N` sets every one (see `LoadedSpec::set_run_counts` for the
    /// path syntax). Empty when the study has one run per configuration.
    fn run_keys(&self) -> &'static [&'static str] {
        &[]
    }
    /// Check the spec's study section; return the resolved spec text
    /// (defaults filled in) that the run directory records.
    fn validate(&self, spec: &LoadedSpec) -> Result<String>;
    /// Read the spec and whatever every unit shares (a data set), and list
    /// the units: the run before any unit runs.
    fn plan(&self, spec: &LoadedSpec, ctx: &RunContext) -> Result<Box<dyn Plan>>;
    /// Draw the figures of a finished run from its recorded files in `dir`.
    fn figures(&self, spec: &LoadedSpec, dir: &Path) -> Result<()>;
    /// The run's peak memory, estimated from the validated spec before
    /// anything is allocated, with `threads` units at once (`memory`,
    /// `crate::memory`); the runner refuses a run above the limit.
    fn peak_memory(&self, spec: &LoadedSpec, threads: usize) -> Result<Peak>;
    /// The claims of the finished run in `dir`, recomputed by this
    /// version's rules from its recorded outputs (`overfit rejudge`).
    /// Exit 2 for a study whose outputs do not hold what its claims read.
    fn rejudge(&self, spec: &LoadedSpec, dir: &Path) -> Result<Judgement> {
        let _ = spec;
        Err(cannot_rejudge(self.name(), dir))
    }
    /// Whether `rejudge` can recompute this study's claims (the CLI test
    /// rejudges every committed run of such a study).
    fn rejudges(&self) -> bool {
        false
    }
}

/// A study's run, prepared: its units, grouped in sweeps, and how their
/// results become the findings. Units are independent: the runner runs
/// them in any order, on any thread, in any process (`--shard`), or loads
/// them from the unit store (`--resume`, `overfit merge`).
pub trait Plan: Sync {
    /// The sweeps in order, each with one estimated cost per unit.
    fn sweeps(&self) -> Vec<Sweep>;
    /// Run unit `index` of sweep `sweep` (its position in `sweeps()`).
    fn run_unit(&self, sweep: usize, index: usize) -> Result<UnitResult>;
    /// The measurements, claims and files from every unit's result.
    fn findings(self: Box<Self>, results: Results) -> Result<Findings>;
    /// What the units read beyond the spec, when anything (the CIFAR
    /// images: their counts and `record::words_hash` of what was loaded),
    /// so that `--resume` and `merge` refuse units computed on other data
    /// (`UnitStore::check_data`) and summary.json's provenance.data names it.
    fn data_identity(&self) -> Option<String> {
        None
    }
}

/// A sweep of a plan: `label` names its folder in the unit store; unit i
/// costs about `costs[i]` (steps x size: only ratios matter, for the
/// progress estimate).
pub struct Sweep {
    pub label: String,
    pub costs: Vec<f64>,
}

impl Sweep {
    pub fn new(label: impl Into<String>, costs: Vec<f64>) -> Self {
        Sweep {
            label: label.into(),
            costs,
        }
    }
}

/// One unit's result, as the unit store keeps it (a TOML value: NaN, inf
/// and every float bit survive, so a fresh, a resumed and a merged run
/// assemble the same bytes).
pub struct UnitResult(pub(crate) toml::Value);

impl UnitResult {
    /// `result` stored, or an error naming why it cannot be.
    pub fn of<T: Serialize>(result: Result<T>) -> Result<UnitResult> {
        let value = toml::Value::try_from(result?)
            .map_err(|e| Error::bad(format!("a unit's result cannot be stored: {e}")))?;
        Ok(UnitResult(value))
    }
}

/// Every unit's result of a plan, by sweep, with each sweep's wall time.
pub struct Results {
    pub(crate) sweeps: Vec<Vec<UnitResult>>,
    pub(crate) seconds: Vec<f64>,
    /// How many units there are and how many this process computed.
    pub(crate) units: crate::record::UnitCounts,
    /// Each sweep's label, and the run directory whose unit store holds
    /// them: where a unit that does not read back lives.
    pub(crate) labels: Vec<String>,
    pub(crate) out: std::path::PathBuf,
    /// Whether the units were gathered from shards (`overfit merge`).
    pub(crate) merged: bool,
}

impl Results {
    /// The results of sweep `sweep` in unit order, as the type its units
    /// returned. A unit that does not read as that type (kept by a
    /// `--resume` or a merge from a build whose study returned another) is
    /// bad input naming its file, so the user can delete it and resume.
    pub fn take<T: DeserializeOwned>(&mut self, sweep: usize) -> Result<Vec<T>> {
        let (store, label) = (
            crate::runner::UnitStore::new(&self.out),
            &self.labels[sweep],
        );
        let redo = if self.merged {
            "it is a shard's copy: delete the unit in its shard, run that shard again with --resume, then merge again"
        } else {
            "delete it and run again with --resume to compute it again"
        };
        std::mem::take(&mut self.sweeps[sweep])
            .into_iter()
            .enumerate()
            .map(|(i, u)| {
                u.0.try_into().map_err(|e: toml::de::Error| {
                    Error::bad(format!(
                        "{}: unit {i} of sweep {label:?} is not what this build's study returns ({}); {redo}",
                        store.path(label, i).display(),
                        // toml's message spans lines: the error is one line.
                        e.message().split_whitespace().collect::<Vec<_>>().join(" ")
                    ))
                })
            })
            .collect()
    }

    /// Seconds sweep `sweep` took in this process (units loaded from the
    /// store count as nothing).
    pub fn seconds(&self, sweep: usize) -> f64 {
        self.seconds[sweep]
    }
}

/// A study given by its functions: the usual way to implement [`Study`]
/// (a study module defines `validate`, `plan` and its figure function, and
/// one `pub const STUDY: StudyFns` that names them).
pub struct StudyFns {
    pub name: &'static str,
    pub run_keys: &'static [&'static str],
    pub validate: fn(&LoadedSpec) -> Result<String>,
    pub plan: fn(&LoadedSpec, &RunContext) -> Result<Box<dyn Plan>>,
    pub figures: fn(&LoadedSpec, &Path) -> Result<()>,
    pub peak_memory: fn(&LoadedSpec, usize) -> Result<Peak>,
    /// `Study::rejudge`, where the run directory holds what the claims read.
    pub rejudge: Option<RejudgeFn>,
}

/// A study's `Study::rejudge`: the spec and the run directory to its claims.
pub type RejudgeFn = fn(&LoadedSpec, &Path) -> Result<Judgement>;

/// What `Study::rejudge` recomputes: the claims, and the summary details
/// computed with them (merged over the run's, key by key; the others, such
/// as the engine a run used, stay as the run recorded them).
pub struct Judgement {
    pub claims: Vec<Claim>,
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl Study for StudyFns {
    fn name(&self) -> &'static str {
        self.name
    }
    fn run_keys(&self) -> &'static [&'static str] {
        self.run_keys
    }
    fn validate(&self, spec: &LoadedSpec) -> Result<String> {
        (self.validate)(spec)
    }
    fn plan(&self, spec: &LoadedSpec, ctx: &RunContext) -> Result<Box<dyn Plan>> {
        (self.plan)(spec, ctx)
    }
    fn figures(&self, spec: &LoadedSpec, dir: &Path) -> Result<()> {
        (self.figures)(spec, dir)
    }
    fn peak_memory(&self, spec: &LoadedSpec, threads: usize) -> Result<Peak> {
        (self.peak_memory)(spec, threads)
    }
    fn rejudge(&self, spec: &LoadedSpec, dir: &Path) -> Result<Judgement> {
        match self.rejudge {
            Some(rejudge) => rejudge(spec, dir),
            None => Err(cannot_rejudge(self.name, dir)),
        }
    }
    fn rejudges(&self) -> bool {
        self.rejudge.is_some()
    }
}

/// The error of `overfit rejudge` on a study without `Study::rejudge`.
fn cannot_rejudge(study: &str, dir: &Path) -> Error {
    Error::bad(format!(
        "{}: study `{study}` cannot recompute its claims from a run's recorded outputs; rerun the spec to judge it by this version's rules",
        dir.display()
    ))
}

/// Every study `study = "..."` can name.
pub static REGISTRY: &[&dyn Study] = &[
    &xor_grokking::STUDY,
    &early_alignment::STUDY,
    &label_noise::STUDY,
    &leaky_relu_benign::STUDY,
    &optimization_threshold::STUDY,
    &expressivity::STUDY,
    &cnn_sweep::STUDY,
    &randomization::STUDY,
    &relu_label_noise::STUDY,
    &benign_regression::STUDY,
];

/// The names of the registered studies.
pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|s| s.name()).collect()
}

/// The study a spec names, or exit 2 naming the spec file and the choices.
pub fn find(spec: &LoadedSpec) -> Result<&'static dyn Study> {
    let name = spec.header.study.as_str();
    REGISTRY
        .iter()
        .copied()
        .find(|s| s.name() == name)
        .ok_or_else(|| {
            Error::bad(format!(
                "{}: key `study` = {name:?}: expected one of {:?}",
                spec.path.display(),
                names()
            ))
        })
}

/// The run keys of study `name` (none for an unknown name).
pub fn run_keys(name: &str) -> &'static [&'static str] {
    REGISTRY
        .iter()
        .find(|s| s.name() == name)
        .map_or(&[], |s| s.run_keys())
}

/// Check the spec's study section before anything is written, and return
/// the resolved spec text.
pub fn validate(spec: &LoadedSpec) -> Result<String> {
    find(spec)?.validate(spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::Runs;
    use std::path::Path;

    /// `--seeds` reaches every run count of every shipped spec: the study's
    /// run keys exist in its spec (the study still validates), and the
    /// resolved spec records the new count at each of them.
    #[test]
    fn seeds_set_every_run_count_of_every_spec() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            for quick in [false, true] {
                let mut spec = crate::spec::load(&path, quick).unwrap();
                let study = spec.header.study.clone();
                let before = Runs::of_text(&study, &validate(&spec).unwrap());
                spec.set_run_counts(run_keys(&study), 7);
                let resolved = validate(&spec).unwrap();
                let after = Runs::of_text(&study, &resolved);
                let what = format!("{} (quick {quick}): {before} -> {after}", path.display());
                assert_eq!(before.0.len(), after.0.len(), "{what}");
                assert!(after.0.values().all(|&v| v == 7), "{what}");
                assert_eq!(after.0.is_empty(), run_keys(&study).is_empty(), "{what}");
                assert!(resolved.starts_with("# resolved spec ("), "{what}");
            }
        }
    }

    /// 2000 runs of several panels (settings, cells) draw from pairwise
    /// distinct streams in every study that numbers its streams (the plain
    /// `1000 k + r` gave run 1000 of panel 0 the stream of run 0 of panel 1),
    /// while keys below the old bounds keep their old numbers.
    #[test]
    fn two_thousand_runs_of_several_panels_get_distinct_streams() {
        use crate::rng::Numbering;
        use rand::RngExt;
        use std::collections::HashMap;
        let runs = 2000;
        // (purpose the families share, families, the key of panel p, run r)
        type Key = fn(usize, usize) -> Vec<usize>;
        let families: &[(&str, &[(Numbering, Key)])] = &[
            (
                "data",
                &[
                    (xor_grokking::PANEL_STREAMS, |p, r| vec![p, r]),
                    (xor_grokking::MAP_STREAMS, |_, r| vec![r]),
                ],
            ),
            (
                "label-noise",
                &[(cnn_sweep::NOISE_STREAMS, |p, r| vec![p, r])],
            ),
            (
                "init",
                &[(cnn_sweep::JOB_STREAMS, |p, r| vec![p % 2, p / 2, r])],
            ),
            (
                "data",
                &[(optimization_threshold::STREAMS, |p, r| {
                    vec![p % 2, p / 2, r]
                })],
            ),
            (
                "data",
                &[(leaky_relu_benign::STREAMS, |p, r| vec![1 + p % 3, p / 3, r])],
            ),
            (
                "data",
                &[
                    (label_noise::GRID_STREAMS, |p, r| vec![p, p % 2, r]),
                    (label_noise::GD_STREAMS, |p, r| vec![p, p % 2, r]),
                ],
            ),
        ];
        for (purpose, fams) in families {
            let mut seen: HashMap<u64, String> = HashMap::new();
            for (numbering, key) in fams.iter() {
                for p in 0..4 {
                    for r in 0..runs {
                        let index = numbering.index(&key(p, r));
                        let first: u64 = crate::rng::stream(2024, index, purpose).random();
                        let what = format!("{} {:?}", numbering.family, key(p, r));
                        // (the map's run r is one key in all its cells)
                        if let Some(other) = seen.insert(first, what.clone()).filter(|o| *o != what)
                        {
                            panic!("{what} draws the stream of {other}");
                        }
                    }
                }
            }
        }
        // Below the old bounds the numbers are the old ones (same streams as before).
        assert_eq!(xor_grokking::PANEL_STREAMS.index(&[1, 999]), 1999);
        assert_eq!(xor_grokking::MAP_STREAMS.index(&[3]), 1_000_003);
        assert_eq!(cnn_sweep::JOB_STREAMS.index(&[2, 16, 2]), 2_016_002);
        assert_eq!(leaky_relu_benign::STREAMS.index(&[3, 5, 7]), 3_000_005_007);
        assert_eq!(label_noise::GRID_STREAMS.index(&[10, 2, 19]), 642_000_019);
        assert_eq!(label_noise::GD_STREAMS.index(&[2, 1, 7]), 1_029_000_007);
    }
}
