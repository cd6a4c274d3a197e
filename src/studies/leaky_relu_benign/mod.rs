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
//! Theory (papers.md S3; constants unspecified): benign if d = Omega(n) and
//! k = O(alpha^2 n), error <= exp(-C alpha^2 d/k), lower bound exp(-C' d/(alpha k)):
//! the log error is linear in d/k. Harmful if gamma = O(alpha^3 / d): error >= 1/8.

use std::path::Path;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use ndarray_linalg::{Cholesky, UPLO};
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::{Findings, StudyFns};
use crate::data::gaussian_mixture::{rademacher_labels, SignalNoiseModel};
use crate::data::label_noise::{flip_binary, FlipRule};
use crate::error::{Error, Result};
use crate::nets::activation::Activation;
use crate::nets::init::{gaussian_first_layer, second_layer, SecondLayerInit};
use crate::nets::loss::Loss;
use crate::nets::two_layer::{
    choose_engine, sign_accuracy, EngineKind, GdConfig, TrainedLayers, TwoLayerGd,
};
use crate::plot::{self, HLine, HeatmapPanel, LinePanel, Series};
use crate::record::{fmt_num, quantile, Claim, Measured, Metrics, Prediction, RunDir};
use crate::rng::Numbering;
use crate::runner::{sweep, RunContext};
use crate::spec::LoadedSpec;
use crate::theory::label_noise::{harmful_gamma, wilson_interval};

const SRC: &str = "Karhadkar, George, Murray, Montufar, Needell NeurIPS 2024 (arXiv 2403.06903)";

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

/// A finite number > 0 (false for NaN).
fn positive(x: f64) -> bool {
    x.is_finite() && x > 0.0
}

fn d_of(ratio: f64, n: usize) -> usize {
    ((ratio * n as f64).round() as usize).max(2)
}

pub fn validate(spec: &LoadedSpec) -> Result<String> {
    let s: LeakySpec = spec.study_section()?;
    let bad = |k: &str, m: String| Err(spec.bad_value(k, m));
    if s.model.m < 2 || s.model.m % 2 != 0 {
        return bad(
            "model.m",
            "must be even and >= 2 (alternating second layer)".into(),
        );
    }
    if !(s.model.leaky_slope > 0.0 && s.model.leaky_slope < 1.0) {
        return bad("model.leaky_slope", "must be in (0, 1)".into());
    }
    if !(s.model.lr_scale > 0.0 && s.model.lr_scale.is_finite() && s.model.init_scale >= 0.0) {
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
    if !(h.gamma > 0.0 && h.gamma < 1.0) {
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

/// The clean test error of f(x) = sum_j a_j sigma(<w_j, x>) on
/// x = sqrt(gamma) y v + sqrt(1 - gamma) xi, xi ~ N(0, (I - v v^T)/d), y uniform on {+-1}, by Monte Carlo
/// over the exact m-dimensional law of the pre-activations (module docs).
/// `w` is d x m, `v` the unit signal direction. Returns (errors, draws).
pub fn gaussian_test_error(
    w: ArrayView2<f64>,
    a: ArrayView1<f64>,
    act: Activation,
    v: ArrayView1<f64>,
    gamma: f64,
    samples: usize,
    rng: &mut crate::rng::Rng,
) -> Result<(usize, usize)> {
    let (d, m) = w.dim();
    let c = w.t().dot(&v);
    let mut g = w.t().dot(&w);
    for i in 0..m {
        for j in 0..m {
            g[[i, j]] = (g[[i, j]] - c[i] * c[j]) / d as f64;
        }
    }
    // A tiny ridge keeps the factorisation defined when G is singular (m >= d).
    let jitter = 1e-14 * (0..m).map(|i| g[[i, i]]).fold(0.0f64, f64::max).max(1e-300);
    for i in 0..m {
        g[[i, i]] += jitter;
    }
    let l = g.cholesky(UPLO::Lower).map_err(|e| {
        Error::Numerical(format!(
            "test-error covariance not positive semidefinite: {e}"
        ))
    })?;
    let chunk = 4096;
    let (sg, sn) = (gamma.sqrt(), (1.0 - gamma).sqrt());
    let mut errors = 0;
    let mut done = 0;
    while done < samples {
        let b = chunk.min(samples - done);
        let y = rademacher_labels(b, rng);
        let u = Array2::from_shape_simple_fn((b, m), || {
            <StandardNormal as Distribution<f64>>::sample(&StandardNormal, rng)
        });
        let h = u.dot(&l.t());
        for (s, row) in h.axis_iter(Axis(0)).enumerate() {
            let f: f64 = row
                .iter()
                .zip(c.iter())
                .zip(a.iter())
                .map(|((&hj, &cj), &aj)| aj * act.value(sg * y[s] * cj + sn * hj))
                .sum();
            errors += usize::from(y[s] * f <= 0.0);
        }
        done += b;
    }
    Ok((errors, samples))
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

pub fn run(loaded: &LoadedSpec, ctx: &RunContext) -> Result<Findings> {
    let spec: LeakySpec = loaded.study_section()?;
    let seed = loaded.header.seed;
    let all = jobs(&spec);
    // The configuration index (ignoring the seed) names the stream.
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
    let records = sweep(ctx, &loaded.header.name, all.len(), |i| {
        let j = &all[i];
        train_run(
            &spec,
            seed,
            job_stream(j, config_index[i]),
            j.n,
            j.d,
            j.gamma,
        )
    })?;
    let mut metrics = Metrics::default();
    let mut rows = Vec::new();
    let mut engines: Vec<String> = Vec::new();
    for (j, rec) in all.iter().zip(&records) {
        let label = format!(
            "{:?}_n{}_d{}_gamma{}:{}",
            j.group, j.n, j.d, j.gamma, j.seed
        )
        .to_lowercase();
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
    let (claims, mut details) = analyze(&spec, &rows);
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
    Ok(Findings {
        metrics,
        claims,
        details: serde_json::Value::Object(details),
        extra_files: vec![("runs.csv".into(), to_csv(&rows))],
    })
}

fn to_csv<T: Serialize>(rows: &[T]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r).expect("rows serialise");
    }
    String::from_utf8(w.into_inner().expect("in-memory writer")).expect("utf8")
}

/// Pooled Monte Carlo error of the rows matching `pick`: (errors, draws).
fn pooled<'a>(rows: impl Iterator<Item = &'a Row>) -> (f64, f64) {
    rows.fold((0.0, 0.0), |(e, s), r| (e + r.errors, s + r.samples))
}

/// Least-squares line y = a + b x with its R^2.
fn linear_fit(x: &[f64], y: &[f64]) -> (f64, f64, f64) {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    let slope = sxy / sxx;
    let r2 = if syy > 0.0 {
        sxy * sxy / (sxx * syy)
    } else {
        0.0
    };
    (my - slope * mx, slope, r2)
}

/// Heatmap cells entering the log-linear fit: (d/k, ln pooled error) with enough errors.
fn fit_points(spec: &LeakySpec, rows: &[Row]) -> Vec<(f64, f64, usize)> {
    let mut pts = Vec::new();
    for &n in &spec.heatmap.n {
        let k = match spec.data.flip_rule {
            FlipRule::Exact => (spec.data.corruption * n as f64).round(),
            FlipRule::Bernoulli => spec.data.corruption * n as f64,
        };
        if k <= 0.0 {
            continue;
        }
        for &r in &spec.heatmap.d_over_n {
            let (e, s) = pooled(
                rows.iter()
                    .filter(|x| x.group == Group::Heatmap && x.n == n && x.knob == r),
            );
            if e >= spec.claims.min_error_count && s > 0.0 {
                pts.push((d_of(r, n) as f64 / k, (e / s).ln(), n));
            }
        }
    }
    pts
}

fn analyze(
    spec: &LeakySpec,
    rows: &[Row],
) -> (Vec<Claim>, serde_json::Map<String, serde_json::Value>) {
    let mut claims = Vec::new();
    let mut details = serde_json::Map::new();
    let c = &spec.claims;
    let alpha = spec.model.leaky_slope;
    let eta = spec.data.corruption;
    let benign_note = format!(
        "benign regime: d = Omega(n), k = O(alpha^2 n); here k/n = {eta} vs alpha^2 = {} (the theorem's constants are unspecified, so this setting may lie outside its stated range)",
        alpha * alpha
    );

    // Heatmap cells with Wilson intervals.
    let mut cells = Vec::new();
    for &n in &spec.heatmap.n {
        for &r in &spec.heatmap.d_over_n {
            let sel: Vec<&Row> = rows
                .iter()
                .filter(|x| x.group == Group::Heatmap && x.n == n && x.knob == r)
                .collect();
            let (e, s) = pooled(sel.iter().copied());
            let (lo, hi) = wilson_interval(e, s, 1.96);
            cells.push(serde_json::json!({
                "n": n, "d_over_n": r, "d": d_of(r, n), "pooled_error": if s > 0.0 { e / s } else { f64::NAN },
                "wilson95": [lo, hi], "mc_errors": e, "mc_draws": s,
                "median_steps": quantile(&sel.iter().map(|x| x.steps as f64).collect::<Vec<_>>(), 0.5),
            }));
        }
    }
    details.insert("heatmap_cells".into(), serde_json::Value::Array(cells));

    let pts = fit_points(spec, rows);
    if pts.len() >= 3 {
        let xs: Vec<f64> = pts.iter().map(|p| p.0).collect();
        let ys: Vec<f64> = pts.iter().map(|p| p.1).collect();
        let (intercept, slope, r2) = linear_fit(&xs, &ys);
        details.insert("log_error_fit".into(), serde_json::json!({"intercept": intercept, "slope_per_d_over_k": slope, "r2": r2, "points": pts.len()}));
        claims.push(Claim::new(
            "benign.log_error_linear_in_d_over_k",
            format!(
                "gamma = {}: ln(clean test error) falls linearly in d/k (upper bound exp(-C alpha^2 d/k), lower bound exp(-C' d/(alpha k))): R^2 of the straight-line fit over heatmap cells with >= {} Monte Carlo errors (fit slope {} per unit d/k)",
                spec.heatmap.gamma, c.min_error_count, fmt_num(slope)
            ),
            format!("{SRC}, benign-overfitting theorem ({benign_note})"),
            Prediction::AtLeast { bound: c.min_r2 },
            Measured { value: r2, q20: None, q80: None, runs: pts.len(), note: format!("{} cells", pts.len()) },
        ));
        claims.push(Claim::new(
            "benign.log_error_slope_negative",
            "the slope of ln(error) in d/k is negative (error decays exponentially in d/k)",
            format!("{SRC}, benign-overfitting theorem ({benign_note})"),
            Prediction::AtMost { bound: 0.0 },
            Measured::single(slope),
        ));
    }

    let fitted: Vec<&Row> = rows.iter().collect();
    let reached = fitted.iter().filter(|r| r.reached_zero_train_error).count();
    claims.push(Claim::new(
        "gd.reaches_zero_training_error",
        format!("GD on the hinge loss fits every noisy training label within {} steps (fraction of runs)", spec.model.max_steps),
        format!("{SRC}, GD convergence to zero training error"),
        Prediction::AtLeast { bound: 1.0 },
        Measured { value: reached as f64 / fitted.len().max(1) as f64, q20: None, q80: None, runs: fitted.len(), note: String::new() },
    ));

    if let Some(hm) = &spec.harmful {
        let sel: Vec<&Row> = rows.iter().filter(|x| x.group == Group::Harmful).collect();
        let errs: Vec<f64> = sel.iter().map(|r| r.errors / r.samples).collect();
        let above = errs.iter().filter(|&&e| e >= c.harmful_error).count();
        claims.push(Claim::new(
            "harmful.error_at_least_one_eighth",
            format!(
                "harmful regime gamma = c alpha^3 / d (c in {:?}, d = {} n): the clean test error is >= {} (fraction of runs)",
                hm.gamma_constant, hm.d_over_n, c.harmful_error
            ),
            format!("{SRC}, harmful-overfitting theorem (gamma = O(alpha^3/d); the O's constant is unspecified, c taken from the spec)"),
            Prediction::AtLeast { bound: c.harmful_fraction },
            Measured { value: above as f64 / sel.len().max(1) as f64, q20: None, q80: None, runs: sel.len(), note: format!("median error {}", fmt_num(quantile(&errs, 0.5))) },
        ));
    }
    (claims, details)
}

// ---------------------------------------------------------------- figures

pub fn plot(loaded: &LoadedSpec, dir: &Path) -> Result<()> {
    let spec: LeakySpec = loaded.study_section()?;
    let run_dir = RunDir::new(dir);
    let path = run_dir.file("runs.csv");
    let mut rdr = csv::Reader::from_path(&path)
        .map_err(|e| Error::bad(format!("{}: {e}", path.display())))?;
    let rows: Vec<Row> = rdr
        .deserialize()
        .enumerate()
        .map(|(i, r)| r.map_err(|e| Error::bad(format!("{}: row {}: {e}", path.display(), i + 2))))
        .collect::<Result<_>>()?;
    let fig_dir = run_dir.figures();
    let h = &spec.heatmap;
    let cell = |n: usize, r: f64| {
        pooled(
            rows.iter()
                .filter(|x| x.group == Group::Heatmap && x.n == n && x.knob == r),
        )
    };
    // Zero observed errors are drawn at the Wilson upper bound (an upper limit).
    let values: Vec<Vec<f64>> = h
        .d_over_n
        .iter()
        .map(|&r| {
            h.n.iter()
                .map(|&n| {
                    let (e, s) = cell(n, r);
                    if s == 0.0 {
                        f64::NAN
                    } else if e == 0.0 {
                        wilson_interval(e, s, 1.96).1.log10()
                    } else {
                        (e / s).log10()
                    }
                })
                .collect()
        })
        .collect();
    plot::heatmap_panels(
        &fig_dir.join("karhadkar_heatmap"),
        &[HeatmapPanel {
            title: format!(
                "leaky-ReLU net, gamma = {}, k/n = {}, m = {}",
                h.gamma, spec.data.corruption, spec.model.m
            ),
            x_label: "d / n".into(),
            y_label: "n".into(),
            x_values: h.d_over_n.clone(),
            y_values: h.n.iter().map(|&n| n as f64).collect(),
            values,
            value_label: "log10 clean test error (0 errors: 95% upper bound)".into(),
            value_range: Some((-5.0, 0.5f64.log10())),
            log_x: false,
            log_y: false,
            overlays: Vec::new(),
        }],
        1,
    )?;

    // ln error against d/k, per n, with the pooled fit.
    let pts = fit_points(&spec, &rows);
    let mut series: Vec<Series> =
        h.n.iter()
            .map(|&n| {
                let p: Vec<&(f64, f64, usize)> = pts.iter().filter(|q| q.2 == n).collect();
                Series {
                    label: format!("n = {n}"),
                    x: p.iter().map(|q| q.0).collect(),
                    y: p.iter().map(|q| q.1.exp()).collect(),
                    markers: true,
                    ..Default::default()
                }
            })
            .collect();
    if pts.len() >= 3 {
        let xs: Vec<f64> = pts.iter().map(|p| p.0).collect();
        let (a, b, r2) = linear_fit(&xs, &pts.iter().map(|p| p.1).collect::<Vec<_>>());
        let (lo, hi) = (
            xs.iter().cloned().fold(f64::INFINITY, f64::min),
            xs.iter().cloned().fold(0.0, f64::max),
        );
        series.push(Series {
            label: format!("fit, slope {} (R^2 {})", fmt_num(b), fmt_num(r2)),
            x: vec![lo, hi],
            y: vec![(a + b * lo).exp(), (a + b * hi).exp()],
            dashed: true,
            ..Default::default()
        });
    }
    plot::line_panels(
        &fig_dir.join("karhadkar_log_error_vs_d_over_k"),
        &[LinePanel {
            title: format!(
                "benign regime: error vs d/k (k = {} n flips, cells with >= {} MC errors)",
                spec.data.corruption, spec.claims.min_error_count
            ),
            x_label: "d / k".into(),
            y_label: "clean test error (pooled over runs)".into(),
            log_y: true,
            series,
            ..Default::default()
        }],
        1,
    )?;
    let mut panels = Vec::new();
    if let Some(g) = &spec.gamma_sweep {
        panels.push(LinePanel {
            title: format!("error vs signal level, d = {} n", g.d_over_n),
            x_label: "gamma".into(),
            y_label: "clean test error (mean over runs)".into(),
            series: g
                .n
                .iter()
                .map(|&n| {
                    let y = g.gamma.iter().map(|&gm| {
                        let (e, s) =
                            pooled(rows.iter().filter(|x| {
                                x.group == Group::GammaSweep && x.n == n && x.gamma == gm
                            }));
                        if s > 0.0 {
                            e / s
                        } else {
                            f64::NAN
                        }
                    });
                    Series {
                        label: format!("n = {n}"),
                        x: g.gamma.clone(),
                        y: y.collect(),
                        markers: true,
                        ..Default::default()
                    }
                })
                .collect(),
            hlines: vec![HLine {
                y: spec.claims.harmful_error,
                label: "1/8".into(),
            }],
            ..Default::default()
        });
    }
    if let Some(hm) = &spec.harmful {
        panels.push(LinePanel {
            title: format!("harmful regime gamma = c alpha^3/d, d = {} n", hm.d_over_n),
            x_label: "n".into(),
            y_label: "clean test error (median, 20-80%)".into(),
            y_range: Some((0.0, 0.6)),
            series: hm
                .gamma_constant
                .iter()
                .map(|&cst| {
                    let stat = |q: f64| -> Vec<f64> {
                        hm.n.iter()
                            .map(|&n| {
                                quantile(
                                    &rows
                                        .iter()
                                        .filter(|x| {
                                            x.group == Group::Harmful && x.n == n && x.knob == cst
                                        })
                                        .map(|x| x.errors / x.samples)
                                        .collect::<Vec<_>>(),
                                    q,
                                )
                            })
                            .collect()
                    };
                    Series {
                        label: format!("c = {cst}"),
                        x: hm.n.iter().map(|&n| n as f64).collect(),
                        y: stat(0.5),
                        band: Some((stat(0.2), stat(0.8))),
                        markers: true,
                        ..Default::default()
                    }
                })
                .collect(),
            hlines: vec![
                HLine {
                    y: spec.claims.harmful_error,
                    label: "1/8 (theorem)".into(),
                },
                HLine {
                    y: 0.5,
                    label: "chance".into(),
                },
            ],
            ..Default::default()
        });
    }
    if !panels.is_empty() {
        plot::line_panels(&fig_dir.join("karhadkar_gamma"), &panels, panels.len())?;
    }
    Ok(())
}

/// The study `study = "leaky_relu_benign"`.
pub const STUDY: StudyFns = StudyFns {
    name: "leaky_relu_benign",
    run_keys: RUN_KEYS,
    validate,
    run,
    figures: plot,
};
