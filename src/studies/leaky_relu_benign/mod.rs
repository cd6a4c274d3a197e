//! Study 3b: benign and harmful overfitting of two-layer leaky-ReLU networks
//! with moderate input dimension (Karhadkar, George, Murray, Montufar,
//! Needell, NeurIPS 2024, arXiv 2403.06903; code kedar2/benign_overfitting):
//! the verified two-layer stand-in for Wen et al.'s phase change.
//!
//! Data (`data::gaussian_mixture::SignalNoiseModel`): x = sqrt(gamma) y v +
//! sqrt(1 - gamma) xi, xi ~ N(0, (I - v v^T)/d), ||v|| = 1; k = round(eta n)
//! training labels flipped (the paper's k; their code flips Bernoulli(eta)),
//! clean test labels. The Bayes error is 0 (<x, v> = sqrt(gamma) y exactly).
//! Network: f(x) = sum_j a_j sigma(<w_j, x>), sigma = leaky ReLU with slope
//! alpha, a_j = +1, -1, +1, ... fixed (`SecondLayerInit::Alternating{scale: 1}`),
//! w_j(0) ~ N(0, (1/(m sqrt d))^2 I). Training: full-batch GD on the hinge loss
//! until every training point is classified correctly (zero training error).
//! Karhadkar et al. sum the hinge loss and use lr 1/(m n); the engine
//! (`nets::two_layer::TwoLayerGd`, `EngineKind::Auto`: the dual engine when d
//! > n) uses the MEAN loss, so lr = 1/m on the mean is the same update.
//!
//! Test error without Monte Carlo over R^d: for a fresh x, the pre-activations
//! are z_j = sqrt(gamma) y <w_j, v> + sqrt(1 - gamma) h_j with h ~ N(0, G),
//! G = W^T (I - v v^T) W / d (m x m). The clean error P(y f(x) <= 0) is thus an
//! m-dimensional Gaussian integral; it is estimated by Monte Carlo over (y, h)
//! with a Wilson confidence interval (`gaussian_test_error`), and checked
//! against explicit test points in the tests.
//!
//! Theory (Karhadkar et al.'s theorems; constants unspecified): benign if d = Omega(n) and
//! k = O(alpha^2 n), error <= exp(-C alpha^2 d/k), lower bound exp(-C' d/(alpha k)):
//! the log error is linear in d/k. Harmful if gamma = O(alpha^3 / d): error >= 1/8.

mod claims;
mod figures;
mod test_error;

use ndarray::Array1;
use serde::{Deserialize, Serialize};

use super::toolkit::csv::to_csv;
use super::{Findings, Plan, Results, StudyFns, Sweep, UnitResult};
use crate::data::gaussian_mixture::SignalNoiseModel;
use crate::data::label_noise::{flip_binary, FlipRule};
use crate::error::{Error, Result};
use crate::nets::activation::Activation;
use crate::nets::init::{gaussian_first_layer, second_layer, SecondLayerInit};
use crate::nets::loss::Loss;
use crate::nets::two_layer::{
    choose_engine, sign_accuracy, EngineKind, GdConfig, TrainedLayers, TwoLayerGd,
};
use crate::record::Metrics;
use crate::rng::Numbering;
use crate::runner::RunContext;
use crate::spec::{open_unit, positive, LoadedSpec};
use crate::theory::label_noise::harmful_gamma;

pub use figures::plot;
pub use test_error::{gaussian_test_error, TEST_CHUNK};

// ---------------------------------------------------------------- the spec

/// Stream keys (`rng::Numbering`): (group, configuration in the group, seed).
pub(crate) const STREAMS: Numbering = Numbering::from("leaky_relu_benign", &[1_000_000, 1000], 0);

/// The run counts `--seeds` sets (`studies::run_keys`).
pub const RUN_KEYS: &[&str] = &["heatmap.seeds", "harmful.seeds", "gamma_sweep.seeds"];

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeakySpec {
    pub model: ModelSpec,
    pub data: DataSpec,
    pub heatmap: HeatmapSpec,
    #[serde(default)]
    pub harmful: Option<HarmfulSpec>,
    #[serde(default)]
    pub gamma_sweep: Option<GammaSweepSpec>,
    #[serde(default)]
    pub claims: ClaimSpec,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Hidden width m.
    pub m: usize,
    /// Leaky-ReLU slope alpha on the negative side.
    pub leaky_slope: f64,
    /// Step size on the MEAN hinge loss is lr_scale / m (Karhadkar: 1/(m n) on the sum).
    #[serde(default = "one")]
    pub lr_scale: f64,
    /// W(0) entries ~ N(0, (init_scale / (m sqrt d))^2).
    #[serde(default = "one")]
    pub init_scale: f64,
    /// GD stops at zero training error or after this many steps.
    pub max_steps: usize,
    #[serde(default = "default_engine")]
    pub engine: EngineKind,
}

fn one() -> f64 {
    1.0
}
fn default_engine() -> EngineKind {
    EngineKind::Auto
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// Label-corruption rate: k = round(eta n) flips ("exact") or Bernoulli(eta).
    pub corruption: f64,
    #[serde(default = "default_flip")]
    pub flip_rule: FlipRule,
    /// Monte Carlo draws of (y, h) per trained network for its test error.
    pub mc_samples: usize,
}

fn default_flip() -> FlipRule {
    FlipRule::Exact
}

/// The benign heatmap over (n, d/n) at one signal level.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeatmapSpec {
    pub n: Vec<usize>,
    pub d_over_n: Vec<f64>,
    pub gamma: f64,
    pub seeds: usize,
}

/// The harmful regime gamma = c alpha^3 / d.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HarmfulSpec {
    pub n: Vec<usize>,
    pub d_over_n: f64,
    /// The constants c in gamma = c alpha^3 / d.
    pub gamma_constant: Vec<f64>,
    pub seeds: usize,
}

/// Error against gamma at d = d_over_n n (Karhadkar et al.'s gamma plot).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GammaSweepSpec {
    pub n: Vec<usize>,
    pub d_over_n: f64,
    pub gamma: Vec<f64>,
    pub seeds: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimSpec {
    /// Least R^2 of the straight-line fit of ln(error) on d/k.
    pub min_r2: f64,
    /// A heatmap cell enters the fit when its pooled Monte Carlo error count is at least this.
    pub min_error_count: f64,
    /// The harmful-regime bound on the clean error (1/8 in the theorem).
    pub harmful_error: f64,
    /// Least fraction of harmful runs at or above the bound ("with high probability").
    pub harmful_fraction: f64,
}

impl Default for ClaimSpec {
    fn default() -> Self {
        ClaimSpec {
            min_r2: 0.8,
            min_error_count: 20.0,
            harmful_error: 0.125,
            harmful_fraction: 0.9,
        }
    }
}

fn d_of(ratio: f64, n: usize) -> usize {
    ((ratio * n as f64).round() as usize).max(2)
}

pub fn validate(spec: &LoadedSpec) -> Result<String> {
    let s: LeakySpec = spec.study_section()?;
    let bad = |k: &str, m: String| Err(spec.bad_value(k, m));
    if s.model.m < 2 || !s.model.m.is_multiple_of(2) {
        return bad(
            "model.m",
            "must be even and >= 2 (alternating second layer)".into(),
        );
    }
    if !open_unit(s.model.leaky_slope) {
        return bad("model.leaky_slope", "must be in (0, 1)".into());
    }
    if !(positive(s.model.lr_scale) && s.model.init_scale >= 0.0) {
        return bad("model", "lr_scale must be > 0 and init_scale >= 0".into());
    }
    if s.model.max_steps == 0 {
        return bad("model.max_steps", "must be >= 1".into());
    }
    if !(0.0..0.5).contains(&s.data.corruption) {
        return bad("data.corruption", "must be in [0, 0.5)".into());
    }
    if s.data.mc_samples < 1000 {
        return bad("data.mc_samples", "must be >= 1000".into());
    }
    let h = &s.heatmap;
    if h.n.is_empty() || h.d_over_n.len() < 2 || h.seeds == 0 || h.n.iter().any(|&n| n < 4) {
        return bad(
            "heatmap",
            "needs n values >= 4, at least two d_over_n values and seeds >= 1".into(),
        );
    }
    super::toolkit::check_unique(spec, "heatmap.n[{}]", &h.n)?;
    super::toolkit::check_unique(spec, "heatmap.d_over_n[{}]", &h.d_over_n)?;
    if !open_unit(h.gamma) {
        return bad("heatmap.gamma", "must be in (0, 1)".into());
    }
    let max_entries =
        h.n.iter()
            .flat_map(|&n| h.d_over_n.iter().map(move |&r| n * d_of(r, n)))
            .max()
            .unwrap_or(0);
    if max_entries > 50_000_000 || h.d_over_n.iter().any(|&r| !positive(r)) {
        return bad(
            "heatmap.d_over_n",
            "ratios must be positive and n x d at most 5e7 entries".into(),
        );
    }
    if let Some(hm) = &s.harmful {
        if hm.n.is_empty()
            || hm.seeds == 0
            || hm.gamma_constant.is_empty()
            || !positive(hm.d_over_n)
        {
            return bad(
                "harmful",
                "needs n, d_over_n > 0, gamma_constant and seeds >= 1".into(),
            );
        }
        if hm
            .gamma_constant
            .iter()
            .any(|&c| !(positive(c) || c == 0.0))
        {
            return bad("harmful.gamma_constant", "must be >= 0".into());
        }
        super::toolkit::check_unique(spec, "harmful.n[{}]", &hm.n)?;
        super::toolkit::check_unique(spec, "harmful.gamma_constant[{}]", &hm.gamma_constant)?;
    }
    if let Some(g) = &s.gamma_sweep {
        if g.n.is_empty() || g.seeds == 0 || g.gamma.is_empty() || !positive(g.d_over_n) {
            return bad(
                "gamma_sweep",
                "needs n, d_over_n > 0, gamma and seeds >= 1".into(),
            );
        }
        if g.gamma.iter().any(|&x| !(0.0..1.0).contains(&x)) {
            return bad("gamma_sweep.gamma", "values must be in [0, 1)".into());
        }
        super::toolkit::check_unique(spec, "gamma_sweep.n[{}]", &g.n)?;
        super::toolkit::check_unique(spec, "gamma_sweep.gamma[{}]", &g.gamma)?;
    }
    Ok(spec.resolved_toml(&s))
}

// ---------------------------------------------------------------- one run

/// One trained network.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct RunRecord {
    steps: usize,
    reached_zero_train_error: bool,
    /// Monte Carlo test errors and draws.
    errors: f64,
    samples: f64,
    engine: String,
}

/// Train one network at (n, d, gamma) and measure its clean test error.
fn train_run(
    spec: &LeakySpec,
    seed: u64,
    stream: u64,
    n: usize,
    d: usize,
    gamma: f64,
) -> Result<RunRecord> {
    let model = SignalNoiseModel { d, gamma };
    let (x, y_clean) = model.sample(n, &mut crate::rng::stream(seed, stream, "data"));
    let (noisy, _) = flip_binary(
        &y_clean.to_vec(),
        spec.data.corruption,
        spec.data.flip_rule,
        &mut crate::rng::stream(seed, stream, "flip"),
    );
    let y = Array1::from(noisy);
    let m = spec.model.m;
    let mut init_rng = crate::rng::stream(seed, stream, "init");
    let omega = spec.model.init_scale / (m as f64 * (d as f64).sqrt());
    let w0 = gaussian_first_layer(d, m, omega, &mut init_rng);
    let a0 = second_layer(
        SecondLayerInit::Alternating { scale: Some(1.0) },
        &w0,
        &mut init_rng,
    );
    let act = Activation::LeakyRelu {
        slope: spec.model.leaky_slope,
    };
    let cfg = GdConfig {
        activation: act,
        loss: Loss::Hinge,
        lr: spec.model.lr_scale / m as f64,
        weight_decay: 0.0,
        trained: TrainedLayers::First,
    };
    let kind = choose_engine(spec.model.engine, n, d, m, spec.model.max_steps);
    let mut gd = TwoLayerGd::new(cfg, kind, x, y.clone(), w0.clone(), a0)?;
    while sign_accuracy(gd.train_outputs(), y.view()) < 1.0
        && gd.step_count() < spec.model.max_steps
    {
        gd.step()?;
    }
    let reached = sign_accuracy(gd.train_outputs(), y.view()) == 1.0;
    let w = gd.first_layer(w0.view());
    let (errors, samples) = gaussian_test_error(
        w.view(),
        gd.second_layer(),
        act,
        model.signal().view(),
        gamma,
        spec.data.mc_samples,
        &mut crate::rng::stream(seed, stream, "test"),
    )?;
    Ok(RunRecord {
        steps: gd.step_count(),
        reached_zero_train_error: reached,
        errors: errors as f64,
        samples: samples as f64,
        engine: format!("{:?}", gd.engine()).to_lowercase(),
    })
}

// ---------------------------------------------------------------- the study

/// One job: which experiment, n, d, gamma, seed.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
struct Job {
    group: Group,
    n: usize,
    d: usize,
    /// The d/n ratio or the harmful constant c, for grouping.
    knob: f64,
    gamma: f64,
    seed: usize,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Group {
    Heatmap,
    Harmful,
    GammaSweep,
}

impl Job {
    /// The job's run label in metrics.csv (`heatmap_n20_d40_gamma0.1:0`).
    fn label(&self) -> String {
        let Job {
            group,
            n,
            d,
            gamma,
            seed,
            ..
        } = self;
        format!("{group:?}_n{n}_d{d}_gamma{gamma}:{seed}").to_lowercase()
    }
}

fn jobs(spec: &LeakySpec) -> Vec<Job> {
    let mut out = Vec::new();
    let h = &spec.heatmap;
    for &n in &h.n {
        for &r in &h.d_over_n {
            for s in 0..h.seeds {
                out.push(Job {
                    group: Group::Heatmap,
                    n,
                    d: d_of(r, n),
                    knob: r,
                    gamma: h.gamma,
                    seed: s,
                });
            }
        }
    }
    if let Some(hm) = &spec.harmful {
        for &n in &hm.n {
            let d = d_of(hm.d_over_n, n);
            for &c in &hm.gamma_constant {
                for s in 0..hm.seeds {
                    let gamma = harmful_gamma(c, spec.model.leaky_slope, d as f64);
                    out.push(Job {
                        group: Group::Harmful,
                        n,
                        d,
                        knob: c,
                        gamma,
                        seed: s,
                    });
                }
            }
        }
    }
    if let Some(g) = &spec.gamma_sweep {
        for &n in &g.n {
            for &gamma in &g.gamma {
                for s in 0..g.seeds {
                    out.push(Job {
                        group: Group::GammaSweep,
                        n,
                        d: d_of(g.d_over_n, n),
                        knob: g.d_over_n,
                        gamma,
                        seed: s,
                    });
                }
            }
        }
    }
    out
}

/// The stream of a job: stable under adding seeds.
fn job_stream(job: &Job, index_in_group: usize) -> u64 {
    let g = match job.group {
        Group::Heatmap => 1,
        Group::Harmful => 2,
        Group::GammaSweep => 3,
    };
    STREAMS.index(&[g, index_in_group, job.seed])
}

/// One row of runs.csv.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Row {
    group: Group,
    n: usize,
    d: usize,
    knob: f64,
    gamma: f64,
    seed: usize,
    steps: usize,
    reached_zero_train_error: bool,
    errors: f64,
    samples: f64,
}

/// The experiment, prepared: one unit per job (`jobs`).
struct Run {
    spec: LeakySpec,
    seed: u64,
    name: String,
    all: Vec<Job>,
    /// Each job's configuration index (ignoring the seed): it names the stream.
    config_index: Vec<usize>,
}

pub fn plan(loaded: &LoadedSpec, _: &RunContext) -> Result<Box<dyn Plan>> {
    let spec: LeakySpec = loaded.study_section()?;
    let all = jobs(&spec);
    let config_index: Vec<usize> = {
        let mut keys: Vec<(Group, usize, u64, u64)> = Vec::new();
        all.iter()
            .map(|j| {
                let key = (j.group, j.n, j.knob.to_bits(), j.gamma.to_bits());
                match keys.iter().position(|k| *k == key) {
                    Some(i) => i,
                    None => {
                        keys.push(key);
                        keys.len() - 1
                    }
                }
            })
            .collect()
    };
    Ok(Box::new(Run {
        spec,
        seed: loaded.header.seed,
        name: loaded.header.name.clone(),
        all,
        config_index,
    }))
}

impl Plan for Run {
    /// Cost max_steps x m x n d (a run may stop early at zero training error).
    fn sweeps(&self) -> Vec<Sweep> {
        let model = &self.spec.model;
        let cost = |j: &Job| (model.max_steps * model.m * j.n * j.d) as f64;
        vec![Sweep::new(&self.name, self.all.iter().map(cost).collect())]
    }

    fn run_unit(&self, _: usize, i: usize) -> Result<UnitResult> {
        let j = &self.all[i];
        let stream = job_stream(j, self.config_index[i]);
        // A divergence names its run, by its label in metrics.csv.
        let run = train_run(&self.spec, self.seed, stream, j.n, j.d, j.gamma);
        UnitResult::of(run.map_err(|e| match e {
            Error::Numerical(msg) => Error::Numerical(format!("run {}: {msg}", j.label())),
            other => other,
        }))
    }

    fn findings(self: Box<Self>, mut results: Results) -> Result<Findings> {
        let records: Vec<RunRecord> = results.take(0)?;
        Ok(findings(&self.spec, &self.all, &records))
    }
}

/// The rows, claims and details of every job's record.
fn findings(spec: &LeakySpec, all: &[Job], records: &[RunRecord]) -> Findings {
    let mut metrics = Metrics::default();
    let mut rows = Vec::new();
    let mut engines: Vec<String> = Vec::new();
    for (j, rec) in all.iter().zip(records) {
        let label = j.label();
        metrics.push(
            &label,
            rec.steps as u64,
            "test",
            "clean_error",
            rec.errors / rec.samples,
        );
        metrics.push(&label, rec.steps as u64, "test", "mc_errors", rec.errors);
        metrics.push(&label, rec.steps as u64, "test", "mc_samples", rec.samples);
        metrics.push(
            &label,
            rec.steps as u64,
            "train",
            "zero_error_reached",
            f64::from(u8::from(rec.reached_zero_train_error)),
        );
        if !engines.contains(&rec.engine) {
            engines.push(rec.engine.clone());
        }
        rows.push(Row {
            group: j.group,
            n: j.n,
            d: j.d,
            knob: j.knob,
            gamma: j.gamma,
            seed: j.seed,
            steps: rec.steps,
            reached_zero_train_error: rec.reached_zero_train_error,
            errors: rec.errors,
            samples: rec.samples,
        });
    }
    let (claims, mut details) = claims::analyze(spec, &rows);
    details.insert("engines_used".into(), serde_json::json!(engines));
    details.insert("runs".into(), serde_json::json!(rows.len()));
    details.insert(
        "setup".into(),
        serde_json::json!({
            "loss": "hinge, MEAN over samples (Karhadkar et al. sum it): lr = lr_scale/m on the mean equals their 1/(m n) on the sum",
            "second_layer": "alternating +1, -1 (SecondLayerInit::Alternating{scale: 1}), fixed",
            "init": format!("W(0) ~ N(0, ({}/(m sqrt d))^2)", spec.model.init_scale),
            "stopping": format!("zero training error (sign) or {} steps", spec.model.max_steps),
            "test_error": "Monte Carlo over the exact m-dimensional Gaussian law of the pre-activations, Wilson 95% intervals",
            "flip_rule": spec.data.flip_rule,
            "bayes_error": 0.0,
        }),
    );
    Findings {
        metrics,
        claims,
        details: serde_json::Value::Object(details),
        extra_files: vec![("runs.csv".into(), to_csv(&rows))],
    }
}

/// `overfit rejudge`: the claims from runs.csv, one row per job, each row
/// naming its job (group, n, d, knob, gamma, seed) in the spec's order.
fn rejudge(loaded: &LoadedSpec, dir: &std::path::Path) -> Result<super::Judgement> {
    let spec: LeakySpec = loaded.study_section()?;
    let planned: Vec<_> = jobs(&spec)
        .iter()
        .map(|j| (j.group, j.n, j.d, j.knob, j.gamma, j.seed))
        .collect();
    let rows: Vec<Row> =
        super::toolkit::csv::rejudge_rows(dir, "runs.csv", &planned, |r: &Row| {
            (r.group, r.n, r.d, r.knob, r.gamma, r.seed)
        })?;
    let (claims, details) = claims::analyze(&spec, &rows);
    Ok(super::Judgement { claims, details })
}

/// The study `study = "leaky_relu_benign"`.
pub const STUDY: StudyFns = StudyFns {
    name: "leaky_relu_benign",
    run_keys: RUN_KEYS,
    validate,
    plan,
    figures: plot,
    peak_memory: super::memory::leaky_relu_benign,
    rejudge: Some(rejudge),
};
