//! Study 5: the randomization tests of Zhang et al. (ICLR 2017, Sec. 2 and
//! Fig. 1; papers.md S4) on the 4-class CIFAR-10 subset.
//!
//! Data: a fixed subset of n training images (the first n of the file
//! order) and n_test test images, each randomized by `data::randomize`
//! (true labels; labels corrupted with probability p; random labels;
//! shuffled pixels; random pixels; Gaussian pixels), drawn once per
//! (randomization, seed) and shared by every model: every model sees the
//! same corrupted labels / permutations / noise images at a given seed.
//! Test labels are always the true ones; pixel randomizations transform the
//! test images the same way as the training images.
//! Models: any `nets::cnn::Arch` (the course CNN and a one-hidden-layer MLP
//! in the spec), PyTorch's default init from a stream shared by all
//! randomizations (same initial weights and mini-batch order for every
//! setting at a given seed and model).
//! Training: `nets::cnn::fit` with the SAME hyperparameters for every
//! setting: mini-batch SGD with momentum, cross-entropy, measured on the
//! whole training and test sets after every epoch, stopped at the first
//! epoch with zero training error, or at the epoch budget.
//! Recorded per run: training loss and error, test loss and error per
//! epoch; epochs and SGD steps to zero training error (NaN when not
//! reached); the test error at the stop.
//! Claims: every setting fits (one claim per setting and model); random
//! labels take longer than true labels by a small constant factor (ratio of
//! epochs to fit, per seed); test error rises with the corruption p
//! (Spearman rank correlation above its one-sided critical value, and no
//! step down beyond the seed spread) and is at chance for random labels.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use statrs::distribution::{Binomial, ContinuousCDF, DiscreteCDF, StudentsT};

use super::cnn_sweep::{
    band, check_momentum_and_decay, epoch_metrics, fail, finals, load_cifar_pair, sd, CifarPair,
};
use super::{Findings, StudyFns};
use crate::data::cifar;
use crate::data::randomize::{self, Randomization, Setting};
use crate::error::Result;
use crate::nets::cnn::fit::steps_per_epoch;
use crate::nets::cnn::{fit, Arch, FitConfig, FitData, Images, Model, SgdConfig, TrainStateFile};
use crate::plot::{self, HLine, LinePanel};
use crate::record::{quantile, Claim, Measured, Metrics, Prediction, RunDir};
use crate::runner::{sweep, RunContext};
use crate::spec::LoadedSpec;

// ---------------------------------------------------------------- the spec

/// The run counts `--seeds` sets (`studies::run_keys`).
pub const RUN_KEYS: &[&str] = &["train.runs"];

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomizationSpec {
    pub data: DataSpec,
    pub model: ModelSpec,
    pub train: TrainSpec,
    #[serde(default)]
    pub claims: ClaimSpec,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// CIFAR-10 binary folder, relative to the working directory (`--data` overrides).
    #[serde(default = "super::cnn_sweep::default_dir")]
    pub dir: String,
    /// Original CIFAR-10 class ids kept, relabelled 0..k-1 in this order.
    #[serde(default = "super::cnn_sweep::default_classes")]
    pub classes: Vec<u8>,
    /// Training images: the first ones of the kept classes, in file order.
    pub train: usize,
    pub test: usize,
    /// Named randomizations: "true", "random_labels", "shuffled_pixels",
    /// "random_pixels", "gaussian".
    pub settings: Vec<Setting>,
    /// Label-corruption probabilities strictly between 0 ("true") and 1
    /// ("random_labels"): each label replaced by a uniform class with probability p.
    #[serde(default)]
    pub corruption: Vec<f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// One model per entry: `{ kind = "course_cnn", k, h1, h2 }` or `{ kind = "mlp", widths = [...] }`.
    pub archs: Vec<Arch>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSpec {
    /// Epoch budget: a run stops at its first epoch with zero training error or here.
    pub max_epochs: usize,
    /// Mini-batch size of each model, one per `model.archs` entry (the same
    /// for every setting: a model's hyperparameters never change with the data).
    pub batch: Vec<usize>,
    /// Learning rate of each model, one per `model.archs` entry.
    pub lr: Vec<f32>,
    pub momentum: f32,
    #[serde(default)]
    pub weight_decay: f32,
    /// Independent runs (seeds) of every (model, randomization).
    pub runs: usize,
    /// Images per forward pass when measuring the whole sets.
    #[serde(default = "default_eval_batch")]
    pub eval_batch: usize,
    /// Save the resumable training state every this many epochs (0 = never).
    #[serde(default)]
    pub checkpoint_every: usize,
}

fn default_eval_batch() -> usize {
    500
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimSpec {
    /// Predicted range of (epochs to fit random labels) / (epochs to fit true labels).
    #[serde(default = "default_slowdown")]
    pub slowdown: [f64; 2],
    #[serde(default = "default_slowdown_source")]
    pub slowdown_source: String,
    /// Confidence of the binomial interval around chance (random labels).
    #[serde(default = "default_confidence")]
    pub chance_confidence: f64,
    /// One-sided confidence of the Spearman trend test (test error vs p).
    #[serde(default = "default_confidence")]
    pub trend_confidence: f64,
}

fn default_slowdown() -> [f64; 2] {
    [1.5, 3.5]
}
fn default_slowdown_source() -> String {
    "Zhang et al. ICLR 2017, Sec. 2.2 and Fig. 1b: fitting random labels takes a small constant factor longer than true labels (1.5-3.5x in papers.md S4, read from Fig. 1b)".into()
}
fn default_confidence() -> f64 {
    0.99
}

impl Default for ClaimSpec {
    fn default() -> Self {
        ClaimSpec {
            slowdown: default_slowdown(),
            slowdown_source: default_slowdown_source(),
            chance_confidence: default_confidence(),
            trend_confidence: default_confidence(),
        }
    }
}

impl RandomizationSpec {
    /// Every randomization run: the named settings in spec order, then the corruptions.
    pub fn randomizations(&self) -> Vec<Randomization> {
        let mut v: Vec<Randomization> = self
            .data
            .settings
            .iter()
            .map(|s| s.randomization())
            .collect();
        v.extend(
            self.data
                .corruption
                .iter()
                .map(|&p| Randomization::CorruptLabels { p }),
        );
        v
    }
}

/// Validation of everything the types cannot express; returns the resolved spec text.
pub fn validate(spec: &LoadedSpec) -> Result<String> {
    let s: RandomizationSpec = spec.study_section()?;
    let d = &s.data;
    cifar::check_classes(&d.classes).map_err(|m| spec.bad_value("data.classes", m))?;
    if d.classes.len() < 2 {
        return fail(spec, "data.classes", "list at least two classes".into());
    }
    if d.train == 0 || d.test == 0 {
        return fail(spec, "data", "train and test must be >= 1".into());
    }
    if d.settings.is_empty() {
        return fail(
            spec,
            "data.settings",
            format!("list at least one of {:?}", setting_names()),
        );
    }
    let labels: Vec<String> = d
        .settings
        .iter()
        .map(|s| s.randomization().label())
        .collect();
    super::toolkit::check_unique(spec, "data.settings[{}]", &labels)?;
    for (i, &p) in d.corruption.iter().enumerate() {
        let key = format!("data.corruption[{i}]");
        if !(0.0..=1.0).contains(&p) {
            return fail(spec, &key, format!("{p} is outside [0, 1]"));
        }
        if p == 0.0 || p == 1.0 {
            let name = if p == 0.0 { "true" } else { "random_labels" };
            return fail(
                spec,
                &key,
                format!("{p} is the setting {name:?}: list it in data.settings"),
            );
        }
    }
    super::toolkit::check_unique(spec, "data.corruption[{}]", &d.corruption)?;
    if s.model.archs.is_empty() {
        return fail(
            spec,
            "model.archs",
            "list at least one model ({ kind = \"course_cnn\", ... } or { kind = \"mlp\", ... })"
                .into(),
        );
    }
    for (i, a) in s.model.archs.iter().enumerate() {
        let key = format!("model.archs[{i}]");
        let zero = match a {
            Arch::CourseCnn { k, h1, h2 } => [*k, *h1, *h2].contains(&0),
            Arch::Mlp { widths } => widths.contains(&0),
        };
        if zero {
            return fail(spec, &key, format!("{a:?}: every width must be >= 1"));
        }
        Model::for_arch(a, d.classes.len()).map_err(|e| spec.bad_value(&key, e))?;
    }
    let labels: Vec<String> = s.model.archs.iter().map(Arch::label).collect();
    super::toolkit::check_unique(spec, "model.archs[{}]", &labels)?;
    let t = &s.train;
    for (key, v) in [
        ("train.max_epochs", t.max_epochs),
        ("train.runs", t.runs),
        ("train.eval_batch", t.eval_batch),
    ] {
        if v == 0 {
            return fail(spec, key, "must be >= 1".into());
        }
    }
    let models = s.model.archs.len();
    for (key, len) in [("train.batch", t.batch.len()), ("train.lr", t.lr.len())] {
        if len != models {
            return fail(
                spec,
                key,
                format!("{len} entries for {models} models: give one per model.archs entry"),
            );
        }
    }
    for (i, (&b, &lr)) in t.batch.iter().zip(&t.lr).enumerate() {
        if b == 0 {
            return fail(spec, &format!("train.batch[{i}]"), "must be >= 1".into());
        }
        if !(lr > 0.0 && lr.is_finite()) {
            return fail(
                spec,
                &format!("train.lr[{i}]"),
                format!("{lr} must be positive"),
            );
        }
    }
    check_momentum_and_decay(spec, t.momentum, t.weight_decay)?;
    let [low, high] = s.claims.slowdown;
    if !(low > 0.0 && low <= high && high.is_finite()) {
        return fail(
            spec,
            "claims.slowdown",
            format!("[{low}, {high}]: need 0 < low <= high"),
        );
    }
    for (key, c) in [
        ("claims.chance_confidence", s.claims.chance_confidence),
        ("claims.trend_confidence", s.claims.trend_confidence),
    ] {
        if !(c > 0.0 && c < 1.0) {
            return fail(spec, key, format!("{c} is outside (0, 1)"));
        }
    }
    Ok(spec.resolved_toml(&s))
}

fn setting_names() -> Vec<String> {
    Setting::ALL
        .iter()
        .map(|s| s.randomization().label())
        .collect()
}

// ---------------------------------------------------------------- one run

/// What one (model, randomization, seed) run measured (one resumable unit).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct RunRecord {
    metrics: Metrics,
    /// First epoch with zero training error (None: not within the budget).
    epochs_to_fit: Option<usize>,
    steps_to_fit: Option<u64>,
    /// Training and test error at the last measured epoch (the stop).
    final_train_error: f64,
    test_error: f64,
}

/// The run label: randomization, model, seed index, e.g. `corrupt0.2:mlp512:s1`.
fn run_label(r: &Randomization, arch: &Arch, s: usize) -> String {
    format!("{}:{}:s{s}", r.label(), arch.label())
}

/// "corrupt0.2:mlp512:s1" -> ("corrupt0.2", "mlp512").
fn group_of(run: &str) -> (String, String) {
    let mut parts = run.split(':');
    (
        parts.next().unwrap_or("").to_string(),
        parts.next().unwrap_or("").to_string(),
    )
}

/// Randomize, train until zero training error or the budget, measure.
fn train_run(
    spec: &RandomizationSpec,
    data: &CifarPair,
    seed: u64,
    (arch_i, rand_i, s): (usize, usize, usize),
    state: &TrainStateFile,
) -> Result<RunRecord> {
    let arch = &spec.model.archs[arch_i];
    let r = spec.randomizations()[rand_i];
    let label = run_label(&r, arch, s);
    let classes = spec.data.classes.len();
    let t = &spec.train;
    // The randomization depends on (setting, seed) only: shared by every model.
    let rd = randomize::apply(
        r,
        &data.train.pixels,
        &data.train.labels,
        &data.test.pixels,
        classes,
        &mut crate::rng::stream(seed, s as u64, r.stream_purpose()),
    );
    // Init and shuffle depend on (model, seed) only: the same for every setting.
    let mut model = Model::for_arch(arch, classes)?;
    model.init_pytorch(&mut crate::rng::stream(
        seed,
        s as u64,
        &format!("init:{}", arch.label()),
    ));
    let shuffle = crate::rng::stream(seed, s as u64, &format!("shuffle:{}", arch.label()));
    let fit_data = FitData {
        train: Images {
            pixels: &rd.train_pixels,
            labels: &rd.train_labels,
        },
        // Under label randomizations also score the true training labels.
        train_clean_labels: (rd.train_labels != data.train.labels)
            .then_some(&data.train.labels[..]),
        test: Images {
            pixels: &rd.test_pixels,
            labels: &data.test.labels,
        },
    };
    let cfg = FitConfig {
        epochs: t.max_epochs,
        batch: t.batch[arch_i],
        eval_batch: t.eval_batch,
        eval_every: 1,
        sgd: SgdConfig {
            lr: t.lr[arch_i],
            momentum: t.momentum,
            weight_decay: t.weight_decay,
        },
        stop_at_zero_train_error: true,
    };
    let out = fit(
        &mut model,
        &fit_data,
        &cfg,
        shuffle,
        Some(state),
        &label,
        |_, _| Ok(()),
    )?;
    let metrics = epoch_metrics(&label, &out.evals);
    let last = out.evals.last().expect("epoch 0 is always measured");
    let per_epoch = steps_per_epoch(rd.train_labels.len(), t.batch[arch_i]);
    let rec = RunRecord {
        epochs_to_fit: out.zero_train_error_epoch,
        steps_to_fit: out.zero_train_error_epoch.map(|e| e as u64 * per_epoch),
        final_train_error: last.train_error,
        test_error: last.test_error,
        metrics,
    };
    let mut rec = rec;
    let opt = |v: Option<f64>| v.unwrap_or(f64::NAN);
    for (metric, v) in [
        ("params", model.param_count() as f64),
        ("corruption", opt(r.corruption())),
        ("steps_per_epoch", per_epoch as f64),
        ("fitted", rec.epochs_to_fit.is_some() as u8 as f64),
        ("epochs_to_fit", opt(rec.epochs_to_fit.map(|e| e as f64))),
        ("steps_to_fit", opt(rec.steps_to_fit.map(|e| e as f64))),
        ("final_train_error", rec.final_train_error),
        ("test_error", rec.test_error),
    ] {
        rec.metrics
            .push(&label, out.epochs_run as u64, "final", metric, v);
    }
    Ok(rec)
}

// ---------------------------------------------------------------- the study

/// The runs of one (model, randomization), in seed order.
struct Cell<'a> {
    r: Randomization,
    runs: Vec<&'a RunRecord>,
}

impl Cell<'_> {
    fn values(&self, f: impl Fn(&RunRecord) -> f64) -> Vec<f64> {
        self.runs.iter().map(|r| f(r)).collect()
    }
}

pub fn run(loaded: &LoadedSpec, ctx: &RunContext) -> Result<Findings> {
    let spec: RandomizationSpec = loaded.study_section()?;
    let seed = loaded.header.seed;
    let dir: PathBuf = ctx
        .data
        .clone()
        .unwrap_or_else(|| PathBuf::from(&spec.data.dir));
    let data = load_cifar_pair(
        &dir,
        &spec.data.classes,
        ("data.train", spec.data.train),
        ("data.test", spec.data.test),
    )?;
    let runs = spec.train.runs;
    let rands = spec.randomizations();
    let archs = spec.model.archs.len();
    let jobs: Vec<(usize, usize, usize)> = (0..archs)
        .flat_map(|a| (0..rands.len()).flat_map(move |r| (0..runs).map(move |s| (a, r, s))))
        .collect();
    let records = sweep(ctx, &loaded.header.name, jobs.len(), |i| {
        let state = TrainStateFile {
            path: crate::runner::unit_state_path(ctx, &loaded.header.name, i),
            save_every: spec.train.checkpoint_every,
            resume: ctx.resume,
        };
        train_run(&spec, &data, seed, jobs[i], &state)
    })?;

    let mut metrics = Metrics::default();
    for r in &records {
        metrics.rows.extend(r.metrics.rows.iter().cloned());
    }
    // cells[a][r]: the runs of model a under randomization r.
    let cells: Vec<Vec<Cell>> = (0..archs)
        .map(|a| {
            rands
                .iter()
                .enumerate()
                .map(|(ri, &r)| Cell {
                    r,
                    runs: super::toolkit::cell_runs(&jobs, &records, a, ri),
                })
                .collect()
        })
        .collect();
    let claims = claims(&spec, &cells, data.test.len());

    let mut table = String::from(
        "model,randomization,corruption,runs,fitted_runs,median_epochs_to_fit,median_steps_to_fit,median_final_train_error,median_test_error\n",
    );
    for (a, row) in cells.iter().enumerate() {
        for c in row {
            table.push_str(&format!(
                "{},{},{},{},{},{},{},{},{}\n",
                spec.model.archs[a].label(),
                c.r.label(),
                c.r.corruption().map_or(String::new(), |p| p.to_string()),
                c.runs.len(),
                c.runs.iter().filter(|r| r.epochs_to_fit.is_some()).count(),
                quantile(&c.values(epochs_of), 0.5),
                quantile(
                    &c.values(|r| r.steps_to_fit.map_or(f64::NAN, |s| s as f64)),
                    0.5
                ),
                quantile(&c.values(|r| r.final_train_error), 0.5),
                quantile(&c.values(|r| r.test_error), 0.5),
            ));
        }
    }
    let details = serde_json::json!({
        "data_dir": dir.display().to_string(),
        "train_images": data.train.len(),
        "test_images": data.test.len(),
        "max_epochs": spec.train.max_epochs,
        "momentum": spec.train.momentum,
        "runs": runs,
        "models": spec.model.archs.iter().enumerate().map(|(i, a)| serde_json::json!({
            "model": a.label(),
            "params": Model::for_arch(a, spec.data.classes.len()).map(|m| m.param_count()).unwrap_or(0),
            "batch": spec.train.batch[i],
            "lr": spec.train.lr[i],
            "steps_per_epoch": steps_per_epoch(data.train.len(), spec.train.batch[i]),
        })).collect::<Vec<_>>(),
        "table": "medians over runs in table.csv (NaN where a run did not fit); per-run values in metrics.csv (split \"final\")",
    });
    Ok(Findings {
        metrics,
        claims,
        details,
        extra_files: vec![("table.csv".into(), table)],
    })
}

/// Epochs to zero training error, NaN when the budget ran out first.
fn epochs_of(r: &RunRecord) -> f64 {
    r.epochs_to_fit.map_or(f64::NAN, |e| e as f64)
}

/// Spearman's rank correlation (average ranks for ties); NaN when a side is constant.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    fn ranks(v: &[f64]) -> Vec<f64> {
        let mut idx: Vec<usize> = (0..v.len()).collect();
        idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
        let mut out = vec![0.0; v.len()];
        let mut i = 0;
        while i < idx.len() {
            let mut j = i;
            while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
                j += 1;
            }
            for &k in &idx[i..=j] {
                out[k] = (i + j) as f64 / 2.0;
            }
            i = j + 1;
        }
        out
    }
    let (rx, ry) = (ranks(x), ranks(y));
    let n = x.len() as f64;
    let (mx, my) = (rx.iter().sum::<f64>() / n, ry.iter().sum::<f64>() / n);
    let cov: f64 = rx.iter().zip(&ry).map(|(a, b)| (a - mx) * (b - my)).sum();
    let vx: f64 = rx.iter().map(|a| (a - mx).powi(2)).sum();
    let vy: f64 = ry.iter().map(|b| (b - my).powi(2)).sum();
    cov / (vx * vy).sqrt()
}

/// One-sided critical value of a rank correlation over `n` points at
/// `confidence`, from the t approximation: r = t / sqrt(n - 2 + t^2),
/// t the `confidence` quantile of Student's t with n - 2 degrees of freedom.
pub fn spearman_critical(n: usize, confidence: f64) -> f64 {
    if n < 4 {
        return f64::NAN;
    }
    let df = (n - 2) as f64;
    let t = StudentsT::new(0.0, 1.0, df)
        .expect("df > 0")
        .inverse_cdf(confidence);
    t / (df + t * t).sqrt()
}

/// The central `confidence` interval of the error rate of a predictor that
/// is independent of the labels: errors ~ Binomial(n_test, 1 - 1/k), divided by n_test.
pub fn chance_interval(n_test: usize, classes: usize, confidence: f64) -> (f64, f64) {
    let q = 1.0 - 1.0 / classes as f64;
    let b = Binomial::new(q, n_test as u64).expect("q in [0, 1]");
    let tail = (1.0 - confidence) / 2.0;
    (
        b.inverse_cdf(tail) as f64 / n_test as f64,
        b.inverse_cdf(1.0 - tail) as f64 / n_test as f64,
    )
}

/// The claims, each prediction from the paper (never from the measurement).
fn claims(spec: &RandomizationSpec, cells: &[Vec<Cell>], n_test: usize) -> Vec<Claim> {
    let cs = &spec.claims;
    let classes = spec.data.classes.len();
    let budget = spec.train.max_epochs;
    let mut out = Vec::new();
    for (a, row) in cells.iter().enumerate() {
        let arch = spec.model.archs[a].label();
        // 1. Every setting reaches zero training error, hyperparameters unchanged.
        for c in row {
            let missed: Vec<String> = c
                .runs
                .iter()
                .enumerate()
                .filter(|(_, r)| r.epochs_to_fit.is_none())
                .map(|(s, r)| format!("s{s} (train error {:.4})", r.final_train_error))
                .collect();
            let fitted = (c.runs.len() - missed.len()) as f64 / c.runs.len().max(1) as f64;
            let epochs = c.values(epochs_of);
            out.push(Claim::new(
                format!("fits.{arch}.{}", c.r.label()),
                format!(
                    "{arch} reaches zero training error on {} within {budget} epochs in every run, with the hyperparameters of every other setting (value: fraction of runs that did)",
                    c.r.label()
                ),
                "Zhang et al. ICLR 2017, Sec. 2 and Fig. 1a: all randomizations are fitted with unchanged hyperparameters",
                Prediction::AtLeast { bound: 1.0 },
                Measured {
                    runs: c.runs.len(),
                    ..Measured::single(fitted)
                }
                .with_note(if missed.is_empty() {
                    format!(
                        "epochs to fit: median {}, range {}-{}",
                        quantile(&epochs, 0.5),
                        quantile(&epochs, 0.0),
                        quantile(&epochs, 1.0)
                    )
                } else {
                    format!("not fitted: {}", missed.join(", "))
                }),
            ).as_check());
        }
        // 2. Random labels take a small constant factor longer than true labels.
        let find = |r: Randomization| row.iter().find(|c| c.r == r);
        if let (Some(tr), Some(rl)) = (
            find(Randomization::TrueLabels),
            find(Randomization::RandomLabels),
        ) {
            let (te, re) = (tr.values(epochs_of), rl.values(epochs_of));
            let ratios: Vec<f64> = te.iter().zip(&re).map(|(t, r)| r / t).collect();
            let [low, high] = cs.slowdown;
            let measured = if ratios.iter().all(|v| v.is_finite()) {
                Measured::median_of(&ratios).with_note(format!(
                    "per seed: {}; epochs to fit true {:?}, random {:?}",
                    ratios
                        .iter()
                        .map(|v| format!("{v:.3}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    te,
                    re
                ))
            } else {
                let floor: Vec<String> = te
                    .iter()
                    .zip(&re)
                    .map(|(t, r)| {
                        if r.is_finite() {
                            format!("{:.3}", r / t)
                        } else {
                            format!("> {:.3}", budget as f64 / t)
                        }
                    })
                    .collect();
                Measured {
                    runs: ratios.len(),
                    ..Measured::single(f64::NAN)
                }
                .with_note(format!(
                    "a run did not fit within {budget} epochs; per seed: {}",
                    floor.join(", ")
                ))
            };
            out.push(Claim::new(
                format!("slowdown.{arch}.random_over_true"),
                format!("{arch}: epochs to zero training error with random labels / with true labels (per seed, median) is a small constant factor in [{low}, {high}]"),
                cs.slowdown_source.clone(),
                Prediction::Interval { low, high },
                measured,
            ));
        }
        // 3. Test error rises with the corruption p (the label-corruption curve).
        let mut curve: Vec<&Cell> = row.iter().filter(|c| c.r.corruption().is_some()).collect();
        curve.sort_by(|x, y| {
            x.r.corruption()
                .unwrap()
                .total_cmp(&y.r.corruption().unwrap())
        });
        if curve.len() >= 3 {
            let (mut ps, mut errs) = (Vec::new(), Vec::new());
            for c in &curve {
                for v in c.values(|r| r.test_error) {
                    ps.push(c.r.corruption().unwrap());
                    errs.push(v);
                }
            }
            let rho = spearman(&ps, &errs);
            out.push(Claim::new(
                format!("test_error_rises.{arch}.spearman"),
                format!(
                    "{arch}: test error (at the stop) increases with the label corruption p: Spearman rank correlation over all runs above its one-sided {} critical value",
                    cs.trend_confidence
                ),
                "Zhang et al. ICLR 2017, Fig. 1c: test error grows steadily with the label corruption, to chance at p = 1",
                Prediction::AtLeast {
                    bound: spearman_critical(ps.len(), cs.trend_confidence),
                },
                Measured {
                    runs: ps.len(),
                    ..Measured::single(rho)
                }
                .with_note(format!("{} points, p in {:?}", ps.len(), curve.iter().map(|c| c.r.corruption().unwrap()).collect::<Vec<_>>())),
            ));
            // Each step: mean test error at p_{i+1} >= mean at p_i minus 2 standard
            // errors of the difference (seed sd, or the test-set binomial sd for 1 run).
            let stats: Vec<(f64, f64)> = curve
                .iter()
                .map(|c| {
                    let v = c.values(|r| r.test_error);
                    let m = v.iter().sum::<f64>() / v.len() as f64;
                    let seed_sd = sd(&v);
                    let binom = (m * (1.0 - m) / n_test as f64).sqrt();
                    let s = if seed_sd.is_finite() {
                        seed_sd.max(binom)
                    } else {
                        binom
                    };
                    (m, s * s / v.len() as f64)
                })
                .collect();
            let (mut worst, mut at) = (f64::INFINITY, 0);
            for (i, w) in stats.windows(2).enumerate() {
                let margin = w[1].0 - w[0].0 + 2.0 * (w[0].1 + w[1].1).sqrt();
                if margin < worst {
                    (worst, at) = (margin, i);
                }
            }
            out.push(Claim::new(
                format!("test_error_rises.{arch}.steps"),
                format!("{arch}: at every step of p the mean test error does not fall by more than 2 standard errors of the difference (value: the smallest rise + 2 se over the steps)"),
                "Zhang et al. ICLR 2017, Fig. 1c: test error grows steadily with the label corruption",
                Prediction::AtLeast { bound: 0.0 },
                Measured { runs: curve[0].runs.len(), ..Measured::single(worst) }.with_note(format!(
                    "tightest step p = {} -> {}; means {}",
                    curve[at].r.corruption().unwrap(),
                    curve[at + 1].r.corruption().unwrap(),
                    stats.iter().map(|s| format!("{:.4}", s.0)).collect::<Vec<_>>().join(", ")
                )),
            ));
        }
        // 4. Random labels: test error at chance.
        if let Some(rl) = find(Randomization::RandomLabels) {
            let (low, high) = chance_interval(n_test, classes, cs.chance_confidence);
            out.push(Claim::new(
                format!("chance.{arch}.random_labels"),
                format!(
                    "{arch} trained on random labels: test error (median over runs) is at chance 1 - 1/{classes} = {:.4}, within the central {} binomial interval for {n_test} test images",
                    1.0 - 1.0 / classes as f64,
                    cs.chance_confidence
                ),
                "Zhang et al. ICLR 2017, Sec. 2: with random labels the test error is no better than random guessing",
                Prediction::Interval { low, high },
                Measured::median_of(&rl.values(|r| r.test_error)),
            ));
        }
    }
    out
}

// ---------------------------------------------------------------- figures

/// Redraw the figures from metrics.csv: training loss vs steps per setting
/// (Fig. 1a), steps to fit vs p (Fig. 1b), test error vs p (Fig. 1c).
pub fn plot(loaded: &LoadedSpec, dir: &Path) -> Result<()> {
    let spec: RandomizationSpec = loaded.study_section()?;
    let rd = RunDir::new(dir);
    let metrics = Metrics::read(&rd.metrics())?;
    let fig_dir = rd.figures();
    std::fs::create_dir_all(&fig_dir).map_err(|e| crate::error::Error::io(&fig_dir, e))?;
    let finals = finals(&metrics);
    let classes = spec.data.classes.len();
    let rands = spec.randomizations();
    let runs_of = |r: &Randomization, arch: &str| -> Vec<&BTreeMap<String, f64>> {
        finals
            .iter()
            .filter(|(run, _)| group_of(run) == (r.label(), arch.to_string()))
            .map(|(_, v)| v)
            .collect()
    };
    let loss = metrics.series("train", "loss");
    let mut loss_panels = Vec::new();
    let (mut fit_series, mut err_series) = (Vec::new(), Vec::new());
    for arch in &spec.model.archs {
        let al = arch.label();
        // Fig. 1a: the named settings' training loss vs thousands of steps.
        let mut series = Vec::new();
        for r in rands
            .iter()
            .filter(|r| !matches!(r, Randomization::CorruptLabels { .. }))
        {
            let mut by_epoch: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
            let mut per_epoch = f64::NAN;
            for (run, pts) in loss
                .iter()
                .filter(|(run, _)| group_of(run) == (r.label(), al.clone()))
            {
                per_epoch = finals
                    .get(run)
                    .and_then(|f| f.get("steps_per_epoch"))
                    .copied()
                    .unwrap_or(f64::NAN);
                for &(e, v) in pts {
                    by_epoch.entry(e).or_default().push(v);
                }
            }
            if by_epoch.is_empty() {
                continue;
            }
            let xs = by_epoch
                .keys()
                .map(|&e| e as f64 * per_epoch / 1000.0)
                .collect();
            let vals: Vec<Vec<f64>> = by_epoch.into_values().collect();
            let mut s = band(xs, &vals, r.label(), false);
            s.markers = false;
            series.push(s);
        }
        loss_panels.push(LinePanel {
            title: format!("{al}: training loss (whole set)"),
            x_label: "thousand steps".into(),
            y_label: "training loss".into(),
            series,
            ..Default::default()
        });
        // Fig. 1b and 1c: along the label-corruption curve.
        let mut curve: Vec<(f64, Vec<f64>, Vec<f64>)> = rands
            .iter()
            .filter_map(|r| {
                let p = r.corruption()?;
                let runs = runs_of(r, &al);
                (!runs.is_empty()).then(|| {
                    let get = |m: &str| {
                        runs.iter()
                            .map(|v| v.get(m).copied().unwrap_or(f64::NAN))
                            .collect::<Vec<f64>>()
                    };
                    let steps: Vec<f64> = get("steps_to_fit")
                        .into_iter()
                        .map(|s| s / 1000.0)
                        .collect();
                    (p, steps, get("test_error"))
                })
            })
            .collect();
        curve.sort_by(|a, b| a.0.total_cmp(&b.0));
        if curve.is_empty() {
            continue;
        }
        let xs: Vec<f64> = curve.iter().map(|c| c.0).collect();
        // Runs that did not fit (NaN) leave a gap rather than a wrong median.
        let with_nan = |v: &Vec<f64>| {
            if v.iter().all(|x| x.is_finite()) {
                v.clone()
            } else {
                vec![f64::NAN]
            }
        };
        let fits: Vec<Vec<f64>> = curve.iter().map(|c| with_nan(&c.1)).collect();
        fit_series.push(band(xs.clone(), &fits, al.clone(), false));
        let errs: Vec<Vec<f64>> = curve.iter().map(|c| c.2.clone()).collect();
        err_series.push(band(xs, &errs, al, false));
    }
    if !loss_panels.is_empty() {
        let cols = loss_panels.len().min(2);
        plot::line_panels(&fig_dir.join("training_loss"), &loss_panels, cols)?;
    }
    if !fit_series.is_empty() {
        let fit_panel = LinePanel {
            title: "time to fit vs label corruption".into(),
            x_label: "label corruption p".into(),
            y_label: "thousand steps to zero training error".into(),
            series: fit_series,
            ..Default::default()
        };
        let err_panel = LinePanel {
            title: "test error vs label corruption".into(),
            x_label: "label corruption p".into(),
            y_label: "test error (true test labels)".into(),
            series: err_series,
            hlines: vec![HLine {
                y: 1.0 - 1.0 / classes as f64,
                label: format!("chance 1 - 1/{classes}"),
            }],
            ..Default::default()
        };
        plot::line_panels(&fig_dir.join("time_to_fit_vs_p"), &[fit_panel], 1)?;
        plot::line_panels(&fig_dir.join("test_error_vs_p"), &[err_panel], 1)?;
    }
    Ok(())
}

/// The study `study = "randomization"`.
pub const STUDY: StudyFns = StudyFns {
    name: "randomization",
    run_keys: RUN_KEYS,
    validate,
    run,
    figures: plot,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_ranks_with_ties() {
        assert!((spearman(&[1.0, 2.0, 3.0, 4.0], &[10.0, 20.0, 25.0, 40.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        // Ties: x = (0, 0, 1, 1), y = (1, 2, 3, 4): ranks (0.5, 0.5, 2.5, 2.5) vs (0..3).
        let r = spearman(&[0.0, 0.0, 1.0, 1.0], &[1.0, 2.0, 3.0, 4.0]);
        assert!((r - 0.894_427_190_999_916).abs() < 1e-12, "{r}");
        assert!(spearman(&[1.0, 1.0], &[1.0, 2.0]).is_nan());
    }

    #[test]
    fn critical_values_match_tables() {
        // One-sided 1% critical value of Pearson r for n = 18 (df 16) is 0.5425.
        assert!((spearman_critical(18, 0.99) - 0.5425).abs() < 1e-3);
        assert!(spearman_critical(3, 0.99).is_nan());
        // Chance interval for 4 classes and 4000 images: 0.75 +- 2.576 * 0.00685.
        let (lo, hi) = chance_interval(4000, 4, 0.99);
        assert!(
            (lo - 0.7324).abs() < 1e-3 && (hi - 0.7676).abs() < 1e-3,
            "{lo} {hi}"
        );
    }

    fn record(epochs: Option<usize>, test_error: f64) -> RunRecord {
        RunRecord {
            metrics: Metrics::default(),
            epochs_to_fit: epochs,
            steps_to_fit: epochs.map(|e| e as u64 * 10),
            final_train_error: if epochs.is_some() { 0.0 } else { 0.05 },
            test_error,
        }
    }

    /// Every claim can fail: a run that does not fit, a slowdown outside the
    /// range, a falling test-error curve, a random-label model above chance.
    #[test]
    fn claims_fail_when_the_measurements_disagree() {
        let spec: RandomizationSpec = toml::from_str(
            "[data]\ntrain = 10\ntest = 2000\nsettings = [\"true\", \"random_labels\"]\ncorruption = [0.5]\n\
             [model]\narchs = [{ kind = \"mlp\", widths = [8] }]\n\
             [train]\nmax_epochs = 50\nbatch = [4]\nlr = [0.01]\nmomentum = 0.9\nruns = 2\n",
        )
        .unwrap();
        let verdicts = |true_runs: &[RunRecord], corrupt: &[RunRecord], random: &[RunRecord]| {
            fn cell(r: Randomization, runs: &[RunRecord]) -> Cell<'_> {
                Cell {
                    r,
                    runs: runs.iter().collect(),
                }
            }
            let row = vec![
                cell(Randomization::TrueLabels, true_runs),
                cell(Randomization::RandomLabels, random),
                cell(Randomization::CorruptLabels { p: 0.5 }, corrupt),
            ];
            claims(&spec, &[row], 2000)
                .into_iter()
                .map(|c| (c.id, c.holds, c.measured.note))
                .collect::<Vec<_>>()
        };
        let good = verdicts(
            &[record(Some(10), 0.2), record(Some(12), 0.21)],
            &[record(Some(15), 0.5), record(Some(16), 0.52)],
            &[record(Some(25), 0.75), record(Some(26), 0.76)],
        );
        assert!(good.iter().all(|c| c.1), "{good:?}");
        let bad = verdicts(
            &[record(Some(10), 0.2), record(Some(10), 0.2)],
            &[record(Some(15), 0.1), record(None, 0.1)],
            &[record(Some(80), 0.5), record(Some(90), 0.5)],
        );
        let holds = |id: &str| bad.iter().find(|c| c.0 == id).unwrap().1;
        assert!(!holds("fits.mlp8.corrupt0.5"));
        let note = &bad
            .iter()
            .find(|c| c.0 == "fits.mlp8.corrupt0.5")
            .unwrap()
            .2;
        assert!(note.contains("s1"), "{note}");
        assert!(holds("fits.mlp8.random_labels"));
        assert!(!holds("slowdown.mlp8.random_over_true"));
        assert!(!holds("test_error_rises.mlp8.steps"));
        assert!(!holds("test_error_rises.mlp8.spearman"));
        assert!(!holds("chance.mlp8.random_labels"));
    }

    #[test]
    fn labels_group_by_randomization_and_model() {
        let l = run_label(
            &Randomization::CorruptLabels { p: 0.2 },
            &Arch::Mlp { widths: vec![512] },
            1,
        );
        assert_eq!(l, "corrupt0.2:mlp512:s1");
        assert_eq!(group_of(&l), ("corrupt0.2".into(), "mlp512".into()));
    }
}
