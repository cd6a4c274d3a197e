//! Study 4: the course project's CNN width sweep on 4-class CIFAR-10 (seed
//! 003, code github ItayAbuhazera/OverparameterizationProject; Nakkiran et
//! al. 2019, deep double descent, for label noise).
//!
//! Data: CIFAR-10 classes automobile, frog, horse, ship (relabelled 0..3),
//! pixels in [-1, 1] (`data::cifar`); optional label noise drawn once per
//! (noise level, seed), uniform among the wrong classes, the clean labels
//! kept. Model: the course CNN by (k, h1, h2) (`nets::cnn`), PyTorch's
//! default init. Training: mini-batch SGD with momentum, cross-entropy, a
//! seeded shuffle per epoch, the same epoch budget for every width.
//! Measured per epoch on the WHOLE sets (not the last mini-batch): train
//! loss and error (against the labels trained on, and against the clean
//! labels under noise), test loss and error. Per run: the project's own
//! metrics (best-epoch train error, mean test error of the last 10 epochs)
//! and the plain final-epoch ones.
//! Claims (`claims`): the project's Table 1 test errors within the seed
//! spread; the interpolation threshold above n; a test-error peak at 0%
//! noise (tested against the seed spread); under label noise a peak near the
//! interpolation threshold and lower test error for the largest models.
//! Figures (`figures`): error vs parameters, test error vs epoch.
//! Every model is one unit of the run: several train at once, one
//! per core with one BLAS thread each.

mod claims;
mod figures;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use self::claims::{claims, Cell};
use super::toolkit::cnn::{
    check_momentum_and_decay, epoch_metrics, load_cifar_pair, train_state, CifarPair,
};
use super::toolkit::{cell_runs, check_unique, fail};
use super::{Findings, Plan, Results, StudyFns, Sweep, UnitResult};
use crate::data::cifar;
use crate::data::label_noise::FlipRule;
use crate::error::Result;
use crate::nets::cnn::{
    checkpoint, fit, Arch, EpochEval, FitConfig, FitData, Images, Model, SgdConfig, TrainStateFile,
};
use crate::record::Metrics;
use crate::rng::Numbering;
use crate::runner::RunContext;
use crate::spec::LoadedSpec;

// ---------------------------------------------------------------- the spec

/// Stream keys (`rng::Numbering`): the label noise of (level, seed), shared
/// by every width; a model's init and shuffle by (level, architecture, seed).
pub(crate) const NOISE_STREAMS: Numbering = Numbering::from("cnn_sweep:label-noise", &[1000], 0);
pub(crate) const JOB_STREAMS: Numbering = Numbering::from("cnn_sweep:job", &[1000, 1000], 0);

/// The run counts `--seeds` sets (`studies::run_keys`).
pub const RUN_KEYS: &[&str] = &["train.runs"];

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CnnSweepSpec {
    pub data: DataSpec,
    pub model: ModelSpec,
    pub train: TrainSpec,
    #[serde(default)]
    pub claims: ClaimSpec,
    #[serde(default)]
    pub figures: FigureSpec,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// CIFAR-10 binary folder, relative to the working directory (`--data` overrides).
    #[serde(default = "crate::studies::toolkit::cnn::default_dir")]
    pub dir: String,
    /// Original CIFAR-10 class ids kept, relabelled 0..k-1 in this order.
    #[serde(default = "crate::studies::toolkit::cnn::default_classes")]
    pub classes: Vec<u8>,
    /// Training images (the first ones of the kept classes, in file order).
    pub train: usize,
    pub test: usize,
    /// Label-noise levels: fraction of training labels moved to a wrong class.
    #[serde(default = "default_noise")]
    pub label_noise: Vec<f64>,
    #[serde(default = "default_flip")]
    pub flip_rule: FlipRule,
}

fn default_noise() -> Vec<f64> {
    vec![0.0]
}
fn default_flip() -> FlipRule {
    FlipRule::Bernoulli
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// The course CNN's (k, h1, h2), one model per entry.
    pub archs: Vec<[usize; 3]>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSpec {
    /// The same epoch budget for every width.
    pub epochs: usize,
    pub batch: usize,
    pub lr: f32,
    pub momentum: f32,
    #[serde(default)]
    pub weight_decay: f32,
    /// Independent runs (seeds) of every (noise level, architecture).
    pub runs: usize,
    /// Images per forward pass when measuring the whole sets.
    #[serde(default = "default_eval_batch")]
    pub eval_batch: usize,
    /// Measure the whole sets every this many epochs (and at the last).
    #[serde(default = "one")]
    pub eval_every: usize,
    /// Write checkpoints (DIR/checkpoints/<run>.safetensors) at the end of each run.
    #[serde(default)]
    pub checkpoints: bool,
    /// Also every this many epochs (<run>.epoch<E>.safetensors); 0 = only at the end.
    /// The same epochs are the resume points of a killed run (`--resume`).
    #[serde(default)]
    pub checkpoint_every: usize,
    /// Start every run from this safetensors checkpoint (PyTorch state_dict names).
    #[serde(default)]
    pub init_from: Option<String>,
}

fn default_eval_batch() -> usize {
    500
}
fn one() -> usize {
    1
}

/// A row of the course project's Table 1 (seed 003).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableRow {
    pub arch: [usize; 3],
    /// Their best-epoch train error and last-10-epochs mean test error
    /// (accuracies floored to whole percent), and their epochs.
    pub train_error: f64,
    pub test_error: f64,
    pub epochs: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimSpec {
    #[serde(default)]
    pub table1: Vec<TableRow>,
    #[serde(default = "default_table_source")]
    pub table1_source: String,
    /// The reported lower bound on the interpolation threshold (parameters), if claimed.
    #[serde(default)]
    pub interpolation_above: Option<f64>,
    /// Training error that counts as interpolation.
    #[serde(default)]
    pub interpolation_error: f64,
    /// Test the 0%-noise peak against the seed spread.
    #[serde(default = "yes")]
    pub zero_noise_peak: bool,
    /// With noise: the peak's parameter count within this factor of the threshold's.
    #[serde(default = "default_ratio")]
    pub peak_ratio: f64,
}

fn default_table_source() -> String {
    "course project (github ItayAbuhazera/OverparameterizationProject), Table 1".into()
}
fn yes() -> bool {
    true
}
fn default_ratio() -> f64 {
    3.0
}

impl Default for ClaimSpec {
    fn default() -> Self {
        ClaimSpec {
            table1: Vec::new(),
            table1_source: default_table_source(),
            interpolation_above: None,
            interpolation_error: 0.0,
            zero_noise_peak: true,
            peak_ratio: default_ratio(),
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FigureSpec {
    /// Architectures (indices into model.archs) drawn in the test-error-vs-epoch figure;
    /// empty = the smallest, the middle and the largest.
    #[serde(default)]
    pub epoch_archs: Vec<usize>,
}

fn arch_of(a: &[usize; 3]) -> Arch {
    Arch::CourseCnn {
        k: a[0],
        h1: a[1],
        h2: a[2],
    }
}

fn params_of(a: &[usize; 3], classes: usize) -> usize {
    Model::for_arch(&arch_of(a), classes)
        .map(|m| m.param_count())
        .unwrap_or(0)
}

/// Validation of everything the types cannot express; returns the resolved spec text.
pub fn validate(spec: &LoadedSpec) -> Result<String> {
    let s: CnnSweepSpec = spec.study_section()?;
    cifar::check_classes(&s.data.classes).map_err(|m| spec.bad_value("data.classes", m))?;
    if s.data.train == 0 || s.data.test == 0 {
        return fail(spec, "data", "train and test must be >= 1".into());
    }
    for (i, &eta) in s.data.label_noise.iter().enumerate() {
        if !(0.0..1.0).contains(&eta) {
            return fail(
                spec,
                &format!("data.label_noise[{i}]"),
                format!("{eta} is outside [0, 1)"),
            );
        }
        if eta > 0.0 && s.data.classes.len() < 2 {
            return fail(
                spec,
                "data.label_noise",
                "label noise needs at least two classes".into(),
            );
        }
    }
    if s.data.label_noise.is_empty() {
        return fail(
            spec,
            "data.label_noise",
            "list at least one level (0.0 for none)".into(),
        );
    }
    if s.model.archs.is_empty() {
        return fail(spec, "model.archs", "list at least one [k, h1, h2]".into());
    }
    for (i, a) in s.model.archs.iter().enumerate() {
        if a.contains(&0) {
            return fail(
                spec,
                &format!("model.archs[{i}]"),
                format!("{a:?}: k, h1 and h2 must be >= 1"),
            );
        }
    }
    check_unique(spec, "data.label_noise[{}]", &s.data.label_noise)?;
    let labels: Vec<String> = s.model.archs.iter().map(|a| arch_of(a).label()).collect();
    check_unique(spec, "model.archs[{}]", &labels)?;
    let t = &s.train;
    if t.epochs == 0 || t.batch == 0 || t.runs == 0 || t.eval_batch == 0 || t.eval_every == 0 {
        return fail(
            spec,
            "train",
            "epochs, batch, runs, eval_batch and eval_every must be >= 1".into(),
        );
    }
    if !(t.lr > 0.0 && t.lr.is_finite()) {
        return fail(spec, "train.lr", format!("{} must be positive", t.lr));
    }
    check_momentum_and_decay(spec, t.momentum, t.weight_decay)?;
    if let Some(path) = &t.init_from {
        let (tensors, _) =
            checkpoint::read(Path::new(path)).map_err(|e| spec.bad_value("train.init_from", e))?;
        for a in &s.model.archs {
            let m = Model::for_arch(&arch_of(a), s.data.classes.len())?;
            checkpoint::check_matches(&m, &tensors, Path::new(path)).map_err(|e| {
                spec.bad_value("train.init_from", format!("{e} (architecture {a:?})"))
            })?;
        }
    }
    for (i, row) in s.claims.table1.iter().enumerate() {
        if !s.model.archs.contains(&row.arch) {
            return fail(
                spec,
                &format!("claims.table1[{i}].arch"),
                format!("{:?} is not in model.archs", row.arch),
            );
        }
    }
    if s.claims.peak_ratio.is_nan() || s.claims.peak_ratio < 1.0 {
        return fail(spec, "claims.peak_ratio", "must be >= 1".into());
    }
    for (i, &a) in s.figures.epoch_archs.iter().enumerate() {
        if a >= s.model.archs.len() {
            return fail(
                spec,
                &format!("figures.epoch_archs[{i}]"),
                format!("{a} is not an index of model.archs"),
            );
        }
    }
    Ok(spec.resolved_toml(&s))
}

// ---------------------------------------------------------------- one run

/// What one model's training measured (one resumable unit).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct RunRecord {
    metrics: Metrics,
    params: usize,
    best_train_error: f64,
    last10_test_error: f64,
    final_train_error: f64,
    final_test_error: f64,
}

/// The run label: noise level, architecture, seed index.
fn run_label(eta: f64, arch: &[usize; 3], s: usize) -> String {
    format!("eta{eta}:{}:s{s}", arch_of(arch).label())
}

fn load_data(spec: &CnnSweepSpec, dir: &Path) -> Result<CifarPair> {
    load_cifar_pair(
        dir,
        &spec.data.classes,
        ("data.train", spec.data.train),
        ("data.test", spec.data.test),
    )
}

/// Train one model and measure it on the whole sets.
#[allow(clippy::too_many_arguments)]
fn train_run(
    spec: &CnnSweepSpec,
    data: &CifarPair,
    seed: u64,
    level: usize,
    arch_i: usize,
    s: usize,
    checkpoint_dir: &Path,
    state: &TrainStateFile,
) -> Result<RunRecord> {
    let eta = spec.data.label_noise[level];
    let arch = &spec.model.archs[arch_i];
    let label = run_label(eta, arch, s);
    let classes = spec.data.classes.len();
    let t = &spec.train;
    // Noise is shared by every width at a given (level, seed): common random numbers.
    let mut noise_rng = crate::rng::stream(seed, NOISE_STREAMS.index(&[level, s]), "label-noise");
    let (noisy, _) = cifar::noisy_labels(
        &data.train.labels,
        classes,
        eta,
        spec.data.flip_rule,
        &mut noise_rng,
    );
    let job = JOB_STREAMS.index(&[level, arch_i, s]);
    let mut model = Model::for_arch(&arch_of(arch), classes)?;
    match &t.init_from {
        Some(path) => {
            checkpoint::load(&mut model, Path::new(path))?;
        }
        None => model.init_pytorch(&mut crate::rng::stream(seed, job, "init")),
    }
    let data = FitData {
        train: Images {
            pixels: &data.train.pixels,
            labels: &noisy,
        },
        train_clean_labels: (eta > 0.0).then_some(&data.train.labels[..]),
        test: Images {
            pixels: &data.test.pixels,
            labels: &data.test.labels,
        },
    };
    let cfg = FitConfig {
        epochs: t.epochs,
        batch: t.batch,
        eval_batch: t.eval_batch,
        eval_every: t.eval_every,
        sgd: SgdConfig {
            lr: t.lr,
            momentum: t.momentum,
            weight_decay: t.weight_decay,
        },
        stop_at_zero_train_error: false,
    };
    let meta: BTreeMap<String, String> = [
        ("arch".to_string(), arch_of(arch).label()),
        ("run".to_string(), label.clone()),
        ("source".to_string(), "overfit cnn_sweep".to_string()),
    ]
    .into_iter()
    .collect();
    // A user checkpoint every `checkpoint_every` epochs; the same epochs are
    // the resume points of this unit (its state file in the unit store).
    let user_checkpoint = |epoch: usize, model: &Model| {
        if t.checkpoints
            && t.checkpoint_every > 0
            && epoch % t.checkpoint_every == 0
            && epoch < t.epochs
        {
            checkpoint::save(
                model,
                &checkpoint_dir.join(format!("{}.epoch{epoch}.safetensors", file_safe(&label))),
                &meta,
            )?;
        }
        Ok(())
    };
    let shuffle = crate::rng::stream(seed, job, "shuffle");
    let out = fit(
        &mut model,
        &data,
        &cfg,
        shuffle,
        Some(state),
        &label,
        user_checkpoint,
    )?;
    let metrics = epoch_metrics(&label, &out.evals);
    let trained: Vec<&EpochEval> = out.evals.iter().filter(|ev| ev.epoch > 0).collect();
    let train_errors: Vec<f64> = trained.iter().map(|ev| ev.train_error).collect();
    let test_errors: Vec<(usize, f64)> =
        trained.iter().map(|ev| (ev.epoch, ev.test_error)).collect();
    if t.checkpoints {
        checkpoint::save(
            &model,
            &checkpoint_dir.join(format!("{}.safetensors", file_safe(&label))),
            &meta,
        )?;
    }
    let last10: Vec<f64> = test_errors
        .iter()
        .filter(|(ep, _)| ep + 10 > t.epochs)
        .map(|p| p.1)
        .collect();
    let rec = RunRecord {
        params: model.param_count(),
        best_train_error: train_errors.iter().cloned().fold(f64::INFINITY, f64::min),
        last10_test_error: last10.iter().sum::<f64>() / last10.len().max(1) as f64,
        final_train_error: *train_errors.last().unwrap_or(&f64::NAN),
        final_test_error: test_errors.last().map(|p| p.1).unwrap_or(f64::NAN),
        metrics,
    };
    let mut rec = rec;
    let e = t.epochs as u64;
    for (metric, v) in [
        ("params", rec.params as f64),
        ("label_noise", eta),
        ("best_train_error", rec.best_train_error),
        ("last10_test_error", rec.last10_test_error),
        ("final_train_error", rec.final_train_error),
        ("final_test_error", rec.final_test_error),
    ] {
        rec.metrics.push(&label, e, "final", metric, v);
    }
    Ok(rec)
}

/// A run label as a file name: every character other than ASCII letters,
/// digits, '-' and '.' becomes '_'.
fn file_safe(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

// ---------------------------------------------------------------- the study

/// The experiment: every (noise level, architecture, seed) is one model
/// trained by `train_run`; the runs of each (level, architecture) form a
/// cell, judged by `claims` and summarised (medians) in table.csv.
struct Run {
    spec: CnnSweepSpec,
    seed: u64,
    name: String,
    ctx: RunContext,
    dir: PathBuf,
    data: CifarPair,
    /// Every (noise level, architecture, seed).
    jobs: Vec<(usize, usize, usize)>,
}

pub fn plan(loaded: &LoadedSpec, ctx: &RunContext) -> Result<Box<dyn Plan>> {
    let spec: CnnSweepSpec = loaded.study_section()?;
    let dir: PathBuf = ctx
        .data
        .clone()
        .unwrap_or_else(|| PathBuf::from(&spec.data.dir));
    let data = load_data(&spec, &dir)?;
    let runs = spec.train.runs;
    let archs = spec.model.archs.len();
    let jobs = (0..spec.data.label_noise.len())
        .flat_map(|l| (0..archs).flat_map(move |a| (0..runs).map(move |s| (l, a, s))))
        .collect();
    Ok(Box::new(Run {
        spec,
        seed: loaded.header.seed,
        name: loaded.header.name.clone(),
        ctx: ctx.clone(),
        dir,
        data,
        jobs,
    }))
}

impl Plan for Run {
    /// Cost epochs x training images x parameters.
    fn sweeps(&self) -> Vec<Sweep> {
        let (spec, classes) = (&self.spec, self.spec.data.classes.len());
        let per_param = (spec.train.epochs * self.data.train.len()) as f64;
        let cost = |&(_, a, _): &(usize, usize, usize)| {
            per_param * params_of(&spec.model.archs[a], classes) as f64
        };
        vec![Sweep::new(&self.name, self.jobs.iter().map(cost).collect())]
    }

    fn run_unit(&self, _: usize, i: usize) -> Result<UnitResult> {
        let (l, a, s) = self.jobs[i];
        let checkpoint_dir = self.ctx.outputs_dir().join("checkpoints");
        let state = train_state(&self.ctx, &self.name, i, self.spec.train.checkpoint_every);
        UnitResult::of(train_run(
            &self.spec,
            &self.data,
            self.seed,
            l,
            a,
            s,
            &checkpoint_dir,
            &state,
        ))
    }

    fn findings(self: Box<Self>, mut results: Results) -> Result<Findings> {
        let records: Vec<RunRecord> = results.take(0)?;
        Ok(findings(&self, &records))
    }
}

/// The cells' claims and table.csv from every run's record.
fn findings(run: &Run, records: &[RunRecord]) -> Findings {
    let Run {
        spec,
        dir,
        data,
        jobs,
        ..
    } = run;
    let runs = spec.train.runs;
    let levels = spec.data.label_noise.len();
    let archs = spec.model.archs.len();
    let mut metrics = Metrics::default();
    for r in records {
        metrics.rows.extend(r.metrics.rows.iter().cloned());
    }
    // cells[l][a]: the runs of noise level l and architecture a.
    let classes = spec.data.classes.len();
    let cells: Vec<Vec<Cell>> = (0..levels)
        .map(|l| {
            (0..archs)
                .map(|a| Cell {
                    params: params_of(&spec.model.archs[a], classes),
                    runs: cell_runs(jobs, records, l, a),
                })
                .collect()
        })
        .collect();
    let claims = claims(spec, &cells, runs);

    let mut table = String::from("label_noise,k,h1,h2,params,runs,best_train_error,last10_test_error,final_train_error,final_test_error\n");
    for (l, row) in cells.iter().enumerate() {
        for (a, c) in row.iter().enumerate() {
            let ar = spec.model.archs[a];
            table.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{}\n",
                spec.data.label_noise[l],
                ar[0],
                ar[1],
                ar[2],
                c.params,
                c.runs.len(),
                c.median(|r| r.best_train_error),
                c.median(|r| r.last10_test_error),
                c.median(|r| r.final_train_error),
                c.median(|r| r.final_test_error)
            ));
        }
    }
    let details = serde_json::json!({
        "data_dir": dir.display().to_string(),
        "train_images": data.train.len(),
        "test_images": data.test.len(),
        "epochs": spec.train.epochs,
        "batch": spec.train.batch,
        "runs": runs,
        "table": "medians over runs in table.csv; per-run values in metrics.csv (split \"final\")",
        "threads_note": "one model per job of the sweep, one BLAS thread each when several jobs run at once",
    });
    Findings {
        metrics,
        claims,
        details,
        extra_files: vec![("table.csv".into(), table)],
    }
}

/// The study `study = "cnn_sweep"`.
pub const STUDY: StudyFns = StudyFns {
    name: "cnn_sweep",
    run_keys: RUN_KEYS,
    validate,
    plan,
    figures: figures::plot,
    peak_memory: super::memory::cnn_sweep,
};

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny CIFAR folder: records with random bytes and labels among 1, 6, 7, 8 (and 0, filtered out).
    fn fake_cifar(dir: &Path, train: usize, test: usize) {
        use rand::RngExt;
        let mut rng = crate::rng::stream(1, 0, "fake-cifar");
        let mut write = |name: &str, n: usize| {
            let mut b = Vec::new();
            for i in 0..n {
                b.push([1u8, 6, 7, 8, 0][i % 5]);
                b.extend((0..cifar::IMAGE_BYTES).map(|_| rng.random::<u8>()));
            }
            std::fs::write(dir.join(name), b).unwrap();
        };
        write("data_batch_1.bin", train);
        write("test_batch.bin", test);
    }

    #[test]
    fn a_tiny_sweep_runs_end_to_end_on_generated_files() {
        let data = tempfile::tempdir().unwrap();
        fake_cifar(data.path(), 60, 30);
        let out = tempfile::tempdir().unwrap();
        let spec_path = out.path().join("s.toml");
        std::fs::write(
            &spec_path,
            "name = \"t\"\nstudy = \"cnn_sweep\"\nseed = 1\n[data]\ntrain = 40\ntest = 20\nlabel_noise = [0.0, 0.5]\n\
             [model]\narchs = [[2, 6, 4], [4, 10, 6], [6, 12, 8]]\n\
             [train]\nepochs = 2\nbatch = 4\nlr = 1e-2\nmomentum = 0.9\nruns = 2\ncheckpoints = true\n",
        )
        .unwrap();
        let mut ctx = RunContext::new(out.path().join("run"), 2);
        ctx.data = Some(data.path().to_path_buf());
        let summary = match crate::runner::execute(&spec_path, &ctx).unwrap() {
            crate::runner::Outcome::Finished(s) => *s,
            _ => panic!("not finished"),
        };
        assert!(summary
            .claims
            .iter()
            .any(|c| c.id == "noise0.5.largest_below_peak"));
        let metrics = Metrics::read(&out.path().join("run/metrics.csv")).unwrap();
        // 2 levels x 3 archs x 2 runs, epochs 0..=2, train/test loss/error (+ clean error under noise).
        assert_eq!(metrics.series("test", "error").len(), 12);
        assert_eq!(metrics.series("train_clean", "error").len(), 6);
        assert!(out.path().join("run/figures/error_vs_params.svg").is_file());
        // The checkpoint of a run loads back into its architecture.
        let mut m = Model::for_arch(
            &Arch::CourseCnn {
                k: 4,
                h1: 10,
                h2: 6,
            },
            4,
        )
        .unwrap();
        checkpoint::load(
            &mut m,
            &out.path()
                .join("run/checkpoints/eta0_cnn4-10-6_s1.safetensors"),
        )
        .unwrap();
        // Missing data is bad input naming the folder.
        ctx.data = Some(data.path().join("absent"));
        let Err(e) = crate::runner::execute(&spec_path, &ctx) else {
            panic!("absent data accepted")
        };
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("absent"), "{e}");
    }

    #[test]
    fn labels_group_by_noise_and_arch() {
        let l = run_label(0.1, &[5, 15, 10], 2);
        assert_eq!(l, "eta0.1:cnn5-15-10:s2");
        assert_eq!(
            crate::studies::toolkit::cnn::group_of(&l),
            ("eta0.1".into(), "cnn5-15-10".into())
        );
    }
}
