//! Study: the optimization threshold (Boursier & Flammarion, "Simplicity bias
//! and optimization threshold in two-layer ReLU networks", ICML 2025, arXiv
//! 2410.02348).
//!
//! Data: x ~ N(0, I_d), y = <beta*, x> + sigma eps (a noisy linear teacher,
//! no intercept), n training points; a fresh test set measures the excess
//! risk E_x[(h(x) - <beta*, x>)^2]. Model: h(x) = sum_j a_j sigma(<w_j, x>) on
//! the wide path, no bias (so the population D(w) = beta*/2 of every w has
//! exactly the two extremal directions +-beta*, `theory::early_alignment`).
//! Training: full-batch GD on the square loss from a small balanced init
//! (early alignment), and the same grid from a large init as the contrast.
//!
//! For each d, a log-spaced grid of n from below d to well past the
//! threshold, several seeds each (data drawn once per (d, n, seed) and shared
//! by both inits). Measured: final train MSE, test excess risk, direction
//! clusters and the mass aligned with +-beta*. Predicted, independently of
//! the networks: the least-squares fit of the same data (ndarray-linalg) and
//! the Gaussian-design OLS formulas E[train MSE] = sigma^2 (n - d)/n and
//! E[excess] = sigma^2 d/(n - d - 1).
//!
//! n* (measured) is the smallest n of the grid from which on every n has
//! median train MSE at least half the OLS expectation sigma^2 (n - d)/n.

use std::path::Path;

use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::toolkit::log_schedule;
use super::toolkit::probe::{probe_neurons, theorem_covers, ProbeOptions};
use super::{Findings, StudyFns};
use crate::error::{Error, Result};
use crate::nets::wide::{
    init_params, InitScheme, LossConvention, Points, WideConfig, WideGd, WideInit, WideNet,
};
use crate::plot::{self, HLine, LinePanel, Series};
use crate::record::{fmt_num, quantile, Claim, Measured, Metrics, Prediction, RunDir};
use crate::rng::Numbering;
use crate::runner::{sweep, RunContext};
use crate::spec::LoadedSpec;
use crate::theory::early_alignment::{
    cosine, ols, ols_expected_excess_risk, ols_expected_train_mse, population_d_linear_teacher,
};

const SRC: &str = "Boursier & Flammarion, ICML 2025";

// ---------------------------------------------------------------- the spec

/// Stream keys (`rng::Numbering`): the data of (dimension, n, seed), shared
/// by every init (each init draws under its own purpose).
pub(crate) const STREAMS: Numbering = Numbering::from("optimization_threshold", &[1000, 1000], 0);

/// The run counts `--seeds` sets (`studies::run_keys`).
pub const RUN_KEYS: &[&str] = &["seeds"];

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdSpec {
    pub teacher: TeacherSpec,
    pub model: ModelSpec,
    pub train: TrainSpec,
    pub dims: Vec<DimSpec>,
    /// The init regimes compared; the one with id `small` carries the
    /// threshold claims, the one with id `large` the contrast claims.
    pub inits: Vec<InitSpec>,
    pub seeds: usize,
    #[serde(default)]
    pub theory: TheorySpec,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeacherSpec {
    /// ||beta*||; beta* = ||beta*|| e_1.
    pub beta_norm: f64,
    /// Noise standard deviation sigma.
    pub sigma: f64,
    pub n_test: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    pub m: usize,
    #[serde(default)]
    pub gamma: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSpec {
    pub loss: LossConvention,
    pub steps: usize,
    #[serde(default = "default_dense")]
    pub dense_until: usize,
    #[serde(default = "default_ratio")]
    pub ratio: f64,
}

fn default_dense() -> usize {
    20
}
fn default_ratio() -> f64 {
    1.1
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DimSpec {
    pub d: usize,
    pub n: Vec<usize>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitSpec {
    pub id: String,
    pub scheme: InitScheme,
    pub lambda: f64,
    #[serde(default)]
    pub symmetric: bool,
    /// GD step size (a large init needs a smaller one).
    pub lr: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TheorySpec {
    /// Median train MSE <= this x sigma^2 counts as interpolation.
    pub interpolation_ratio: f64,
    /// Standard errors allowed between a pooled ratio and 1.
    pub z: f64,
    pub cluster_cos: f64,
    pub cluster_mass: f64,
    /// Cosine to +-beta* that counts as aligned.
    pub aligned_cos: f64,
}

impl Default for TheorySpec {
    fn default() -> Self {
        TheorySpec {
            interpolation_ratio: 0.1,
            z: 3.0,
            cluster_cos: 0.99,
            cluster_mass: 0.05,
            aligned_cos: 0.99,
        }
    }
}

pub fn validate(spec: &LoadedSpec) -> Result<String> {
    let s: ThresholdSpec = spec.study_section()?;
    let bad = |k: &str, m: &str| Err(spec.bad_value(k, m));
    if !(s.teacher.sigma > 0.0 && s.teacher.sigma.is_finite()) {
        return bad("teacher.sigma", "must be a positive number");
    }
    if !(s.teacher.beta_norm > 0.0 && s.teacher.beta_norm.is_finite()) {
        return bad("teacher.beta_norm", "must be a positive number");
    }
    if s.teacher.n_test == 0 {
        return bad("teacher.n_test", "must be >= 1");
    }
    if s.model.m == 0 {
        return bad("model.m", "must be >= 1");
    }
    if !(0.0..=1.0).contains(&s.model.gamma) {
        return bad("model.gamma", "must lie in [0, 1]");
    }
    if s.train.steps == 0 || s.train.ratio.is_nan() || s.train.ratio <= 1.0 {
        return bad("train", "steps must be >= 1 and ratio > 1");
    }
    if s.dims.is_empty() {
        return bad("dims", "needs at least one [[dims]] entry");
    }
    for (i, dim) in s.dims.iter().enumerate() {
        if dim.d == 0 || dim.d > crate::nets::wide::MAX_DIM {
            return bad(
                &format!("dims[{i}].d"),
                &format!("must lie in 1..={}", crate::nets::wide::MAX_DIM),
            );
        }
        if dim.n.is_empty() || dim.n.contains(&0) || dim.n.windows(2).any(|w| w[0] >= w[1]) {
            return bad(
                &format!("dims[{i}].n"),
                "must be increasing sample sizes >= 1",
            );
        }
    }
    let ds: Vec<usize> = s.dims.iter().map(|d| d.d).collect();
    super::toolkit::check_unique(spec, "dims[{}].d", &ds)?;
    let ids: Vec<&str> = s.inits.iter().map(|i| i.id.as_str()).collect();
    super::toolkit::check_unique(spec, "inits[{}].id", &ids)?;
    if s.inits.iter().all(|i| i.id != "small") {
        return bad(
            "inits",
            "needs an init with id = \"small\" (the early-alignment regime)",
        );
    }
    for (i, init) in s.inits.iter().enumerate() {
        if !(init.lambda > 0.0 && init.lambda.is_finite() && init.lr > 0.0 && init.lr.is_finite()) {
            return bad(
                &format!("inits[{i}]"),
                "lambda and lr must be positive numbers",
            );
        }
        if init.symmetric && s.model.m % 2 == 1 {
            return bad(&format!("inits[{i}].symmetric"), "needs an even model.m");
        }
    }
    if s.seeds == 0 {
        return bad("seeds", "must be >= 1");
    }
    Ok(spec.resolved_toml(&s))
}

// ---------------------------------------------------------------- one run

/// Gaussian inputs (row-major n x d) and targets <beta*, x> + sigma eps.
fn teacher_sample(
    d: usize,
    n: usize,
    beta: f64,
    sigma: f64,
    rng: &mut crate::rng::Rng,
) -> (Points, Vec<f64>) {
    let x: Vec<f64> = (0..n * d).map(|_| StandardNormal.sample(rng)).collect();
    let clean: Vec<f64> = (0..n).map(|k| beta * x[k * d]).collect();
    let y = clean
        .iter()
        .map(|c| {
            let e: f64 = StandardNormal.sample(rng);
            c + sigma * e
        })
        .collect();
    (Points { d, x, y }, clean)
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct RunRecord {
    train_mse: f64,
    test_excess: f64,
    ols_train_mse: f64,
    ols_test_excess: f64,
    clusters: f64,
    aligned_mass: f64,
    /// Train MSE at log-spaced steps (first seed only).
    curve: Vec<(u64, f64)>,
}

struct Job {
    dim: usize,
    n_index: usize,
    init: usize,
    seed: usize,
}

fn run_one(spec: &ThresholdSpec, master: u64, job: &Job) -> Result<RunRecord> {
    let d = spec.dims[job.dim].d;
    let n = spec.dims[job.dim].n[job.n_index];
    let init = &spec.inits[job.init];
    let t = &spec.teacher;
    // Data shared by every init of (d, n, seed): common random numbers.
    let stream = STREAMS.index(&[job.dim, job.n_index, job.seed]);
    let mut data_rng = crate::rng::stream(master, stream, "data");
    let (train, _) = teacher_sample(d, n, t.beta_norm, t.sigma, &mut data_rng);
    let (test, test_clean) = teacher_sample(d, t.n_test, t.beta_norm, t.sigma, &mut data_rng);
    let fit = ols(&train)?;
    let beta_star: Vec<f64> = (0..d)
        .map(|c| if c == 0 { t.beta_norm } else { 0.0 })
        .collect();
    let ols_test_excess = fit
        .beta
        .iter()
        .zip(&beta_star)
        .map(|(b, s)| (b - s) * (b - s))
        .sum::<f64>();

    let mut init_rng = crate::rng::stream(master, stream, &format!("init-{}", init.id));
    let (a0, w0) = init_params(
        spec.model.m,
        d,
        &WideInit {
            scheme: init.scheme,
            lambda: init.lambda,
            symmetric: init.symmetric,
        },
        &mut init_rng,
    );
    let cfg = WideConfig {
        gamma: spec.model.gamma,
        lr: init.lr,
        loss: spec.train.loss,
    };
    let mut gd = WideGd::new(cfg, WideNet::from_arrays(&a0, &w0, d)?, train.clone())?;
    let schedule = log_schedule(
        spec.train.steps,
        spec.train.dense_until,
        spec.train.ratio,
        &[],
    );
    let mut curve = Vec::new();
    for &s in &schedule {
        gd.run(s - gd.step_count()).map_err(|e| match e {
            Error::Numerical(msg) => Error::Numerical(format!(
                "d = {d}, n = {n}, init {}, seed {}: {msg}",
                init.id, job.seed
            )),
            other => other,
        })?;
        if job.seed == 0 {
            curve.push((s as u64, gd.mse()));
        }
    }
    let f_test = gd.predict(&test.x);
    let test_excess = f_test
        .iter()
        .zip(&test_clean)
        .map(|(f, c)| (f - c) * (f - c))
        .sum::<f64>()
        / t.n_test as f64;
    // Directions: the population extremal vectors +-beta*/||beta*||.
    let dpop = population_d_linear_teacher(&beta_star, spec.model.gamma);
    let unit: Vec<f64> = dpop
        .iter()
        .map(|v| v / dpop.iter().map(|u| u * u).sum::<f64>().sqrt())
        .collect();
    let minus: Vec<f64> = unit.iter().map(|v| -v).collect();
    let opts = ProbeOptions {
        gamma: spec.model.gamma,
        cluster_cos: spec.theory.cluster_cos,
        cluster_mass: spec.theory.cluster_mass,
    };
    let eligible = theorem_covers(&a0, &w0, d);
    let probe = probe_neurons(
        gd.net(),
        &a0,
        &eligible,
        &train,
        std::slice::from_ref(&unit),
        std::slice::from_ref(&minus),
        &opts,
    );
    let net = gd.net();
    let mut w = vec![0.0; d];
    let (mut aligned, mut total) = (0.0, 0.0);
    for j in 0..net.width() {
        let a = net.neuron(j, &mut w);
        let mass = a * a + w.iter().map(|v| v * v).sum::<f64>();
        total += mass;
        let target = if a > 0.0 { &unit } else { &minus };
        if cosine(&w, target) >= spec.theory.aligned_cos {
            aligned += mass;
        }
    }
    Ok(RunRecord {
        train_mse: gd.mse(),
        test_excess,
        ols_train_mse: fit.mse,
        ols_test_excess,
        clusters: probe.clusters as f64,
        aligned_mass: if total > 0.0 {
            aligned / total
        } else {
            f64::NAN
        },
        curve,
    })
}

// ---------------------------------------------------------------- the study

fn run_label(spec: &ThresholdSpec, j: &Job) -> String {
    format!(
        "d{}:n{}:{}:s{}",
        spec.dims[j.dim].d, spec.dims[j.dim].n[j.n_index], spec.inits[j.init].id, j.seed
    )
}

pub fn run(loaded: &LoadedSpec, ctx: &RunContext) -> Result<Findings> {
    let spec: ThresholdSpec = loaded.study_section()?;
    let master = loaded.header.seed;
    let seeds = spec.seeds;
    let mut jobs = Vec::new();
    for (dim, ds) in spec.dims.iter().enumerate() {
        for n_index in 0..ds.n.len() {
            for init in 0..spec.inits.len() {
                for seed in 0..seeds {
                    jobs.push(Job {
                        dim,
                        n_index,
                        init,
                        seed,
                    });
                }
            }
        }
    }
    // Largest jobs first would balance better, but job order fixes the
    // output order; the sweep returns results in job order either way.
    let records = sweep(ctx, &loaded.header.name, jobs.len(), |i| {
        run_one(&spec, master, &jobs[i])
    })?;

    let mut metrics = Metrics::default();
    for (job, rec) in jobs.iter().zip(&records) {
        let run = run_label(&spec, job);
        let last = spec.train.steps as u64;
        let ds = &spec.dims[job.dim];
        metrics.push(&run, 0, "config", "d", ds.d as f64);
        metrics.push(&run, 0, "config", "n", ds.n[job.n_index] as f64);
        for (name, v) in [
            ("train_mse", rec.train_mse),
            ("test_excess", rec.test_excess),
            ("test_mse", rec.test_excess + spec.teacher.sigma.powi(2)),
            ("ols_train_mse", rec.ols_train_mse),
            ("ols_test_excess", rec.ols_test_excess),
            ("clusters", rec.clusters),
            ("aligned_mass", rec.aligned_mass),
        ] {
            metrics.push(&run, last, "final", name, v);
        }
        for (s, v) in &rec.curve {
            metrics.push(&run, *s, "train", "mse", *v);
        }
    }

    let table = Table::new(&spec, &jobs, &records, seeds);
    let mut claims = Vec::new();
    let mut thresholds = Vec::new();
    let mut details_dims = Vec::new();
    for (k, ds) in spec.dims.iter().enumerate() {
        let (c, nstar, det) = dim_claims(&spec, &table, k);
        claims.extend(c);
        thresholds.push((ds.d, nstar));
        details_dims.push(det);
    }
    if thresholds.len() >= 2 {
        claims.push(threshold_scaling_claim(&thresholds));
    }
    Ok(Findings {
        metrics,
        claims,
        details: serde_json::json!({
            "seeds": seeds,
            "dims": details_dims,
            "measured_threshold": thresholds.iter().map(|(d, n)| serde_json::json!({"d": d, "n_star": n})).collect::<Vec<_>>(),
            "n_star_rule": "smallest grid n from which on every n has median train MSE >= 1/2 sigma^2 (n - d)/n (small init)",
            "population_extremal_directions": "+-beta*/||beta*|| (D(w) = (1 + gamma)/2 beta* for every w)",
        }),
        extra_files: Vec::new(),
    })
}

/// Per (dim, n, init): the seeds' records.
struct Table<'a> {
    cells: Vec<Vec<Vec<Vec<&'a RunRecord>>>>,
}

impl<'a> Table<'a> {
    fn new(spec: &ThresholdSpec, jobs: &[Job], recs: &'a [RunRecord], _seeds: usize) -> Self {
        let mut cells: Vec<Vec<Vec<Vec<&RunRecord>>>> = spec
            .dims
            .iter()
            .map(|ds| vec![vec![Vec::new(); spec.inits.len()]; ds.n.len()])
            .collect();
        for (j, r) in jobs.iter().zip(recs) {
            cells[j.dim][j.n_index][j.init].push(r);
        }
        Table { cells }
    }
    fn values(&self, dim: usize, n: usize, init: usize, f: impl Fn(&RunRecord) -> f64) -> Vec<f64> {
        self.cells[dim][n][init].iter().map(|r| f(r)).collect()
    }
}

fn init_index(spec: &ThresholdSpec, id: &str) -> Option<usize> {
    spec.inits.iter().position(|i| i.id == id)
}

/// The measured threshold: smallest grid n from which on every n has median
/// train MSE >= 1/2 sigma^2 (n - d)/n (and n > d).
fn measured_threshold(
    spec: &ThresholdSpec,
    table: &Table<'_>,
    dim: usize,
    init: usize,
) -> Option<usize> {
    let ds = &spec.dims[dim];
    let s2 = spec.teacher.sigma.powi(2);
    let ok: Vec<bool> =
        ds.n.iter()
            .enumerate()
            .map(|(i, &n)| {
                n > ds.d
                    && quantile(&table.values(dim, i, init, |r| r.train_mse), 0.5)
                        >= 0.5 * ols_expected_train_mse(s2.sqrt(), n, ds.d)
            })
            .collect();
    let first = (0..ds.n.len()).find(|&i| ok[i..].iter().all(|&b| b))?;
    Some(ds.n[first])
}

fn dim_claims(
    spec: &ThresholdSpec,
    table: &Table<'_>,
    dim: usize,
) -> (Vec<Claim>, Option<usize>, serde_json::Value) {
    let ds = &spec.dims[dim];
    let d = ds.d;
    let small = init_index(spec, "small").expect("validated");
    let sigma = spec.teacher.sigma;
    let s2 = sigma * sigma;
    let th = &spec.theory;
    let nstar = measured_threshold(spec, table, dim, small);
    let above: Vec<usize> = (0..ds.n.len())
        .filter(|&i| nstar.is_some_and(|ns| ds.n[i] >= ns && ds.n[i] > d + 1))
        .collect();
    let below: Vec<usize> = (0..ds.n.len())
        .filter(|&i| nstar.is_none_or(|ns| ds.n[i] < ns))
        .collect();
    let mut claims = Vec::new();
    let tag = format!("d{d}");
    let ns_text = nstar
        .map(|v| v.to_string())
        .unwrap_or_else(|| "not reached".into());

    // Below n*: interpolation.
    let below_ratio: Vec<f64> = below
        .iter()
        .map(|&i| quantile(&table.values(dim, i, small, |r| r.train_mse), 0.5) / s2)
        .collect();
    claims.push(Claim::new(
        format!("{tag}.below_threshold_interpolates"),
        format!(
            "d = {d}, small init: below the measured n* = {ns_text} the network interpolates: largest median train MSE / sigma^2 over those n ({} sizes)",
            below.len()
        ),
        format!("{SRC}, Fig 1 (below the optimization threshold GD reaches a global minimum)"),
        Prediction::AtMost { bound: th.interpolation_ratio },
        Measured { value: below_ratio.iter().cloned().fold(f64::NAN, f64::max), q20: None, q80: None, runs: below.len(), note: String::new() },
    ));

    // Above n*: the OLS fit. Pooled ratios with theoretical standard errors.
    let mut train_ratios = Vec::new();
    let mut train_var = 0.0;
    let mut excess_ratios = Vec::new();
    let mut net_vs_ols = Vec::new();
    for &i in &above {
        let n = ds.n[i];
        let pred_train = ols_expected_train_mse(sigma, n, d);
        let pred_excess = ols_expected_excess_risk(sigma, n, d).expect("n > d + 1");
        for r in &table.cells[dim][i][small] {
            train_ratios.push(r.train_mse / pred_train);
            train_var += 2.0 / (n - d) as f64;
            excess_ratios.push(r.test_excess / pred_excess);
            net_vs_ols.push(r.train_mse / r.ols_train_mse);
        }
    }
    let k = train_ratios.len().max(1) as f64;
    let se_train = (train_var / k / k).sqrt();
    // ||beta_hat - beta*||^2 / E[.] is close to a chi-square with d degrees of
    // freedom over d: relative variance 2/d (plus O(d/n)).
    let se_excess = (2.0 / d as f64 / k).sqrt();
    let mean = |v: &[f64]| {
        if v.is_empty() {
            f64::NAN
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        }
    };
    let with_spread = |v: &[f64]| Measured {
        value: mean(v),
        q20: (!v.is_empty()).then(|| quantile(v, 0.2)),
        q80: (!v.is_empty()).then(|| quantile(v, 0.8)),
        runs: v.len(),
        note: String::new(),
    };
    claims.push(Claim::new(
        format!("{tag}.above_threshold_train_is_ols"),
        format!("d = {d}, small init, n >= n* = {ns_text}: train MSE over the OLS expectation sigma^2 (n - d)/n, mean over n and seeds (tolerance {} standard errors of the chi-square)", th.z),
        format!("{SRC}, Fig 1 and Theorem (convergence near the OLS estimator above the threshold)"),
        Prediction::Near { value: 1.0, tolerance: th.z * se_train },
        with_spread(&train_ratios),
    ));
    // Near OLS, not at it: one ReLU direction per sign of a_j fits about d
    // more parameters than the linear model, which lowers the train MSE by a
    // factor of about 1 - d/(n - d); allow twice that at the smallest n >= n*.
    let ls_tol = nstar
        .map(|ns| 2.0 * d as f64 / (ns.max(d + 2) - d) as f64)
        .unwrap_or(0.0);
    claims.push(Claim::new(
        format!("{tag}.above_threshold_matches_least_squares"),
        format!("d = {d}, small init, n >= n* = {ns_text}: train MSE over the least-squares residual of the same data (ndarray-linalg), mean over n and seeds; tolerance 2 d/(n* - d) (the d extra directions of a two-neuron fit)"),
        format!("{SRC}, Theorem (the network converges near beta_hat = (X^T X)^-1 X^T y)"),
        Prediction::Near { value: 1.0, tolerance: ls_tol },
        with_spread(&net_vs_ols),
    ));
    claims.push(Claim::new(
        format!("{tag}.above_threshold_excess_risk"),
        format!("d = {d}, small init, n >= n* = {ns_text}: test excess risk over the OLS expectation sigma^2 d/(n - d - 1), mean over n and seeds (tolerance {} standard errors)", th.z),
        format!("{SRC}, Fig 1 (test loss of the OLS estimator above the threshold)"),
        Prediction::Near { value: 1.0, tolerance: th.z * se_excess },
        with_spread(&excess_ratios),
    ));
    let clusters: Vec<f64> = above
        .iter()
        .flat_map(|&i| table.values(dim, i, small, |r| r.clusters))
        .collect();
    let aligned: Vec<f64> = above
        .iter()
        .flat_map(|&i| table.values(dim, i, small, |r| r.aligned_mass))
        .collect();
    claims.push(Claim::new(
        format!("{tag}.above_threshold_two_clusters"),
        format!("d = {d}, small init, n >= n* = {ns_text}: direction clusters holding >= {}% of the mass (median over n and seeds)", 100.0 * th.cluster_mass),
        format!("{SRC}, population extremal vectors +-beta* (D(w) = beta*/2 for every w)"),
        Prediction::Near { value: 2.0, tolerance: 0.0 },
        Measured::median_of(&clusters),
    ));
    claims.push(Claim::new(
        format!("{tag}.above_threshold_aligned_with_beta"),
        format!("d = {d}, small init, n >= n* = {ns_text}: share of the mass a_j^2 + ||w_j||^2 in neurons within cosine {} of sign(a_j) beta* (median over n and seeds)", th.aligned_cos),
        format!("{SRC}, population extremal vectors +-beta*"),
        Prediction::AtLeast { bound: 0.9 },
        Measured::median_of(&aligned),
    ));

    // The large-init contrast.
    let mut contrast = serde_json::Value::Null;
    if let Some(large) = init_index(spec, "large") {
        let interp: Vec<f64> = (0..ds.n.len())
            .map(|i| quantile(&table.values(dim, i, large, |r| r.train_mse), 0.5) / s2)
            .collect();
        claims.push(Claim::new(
            format!("{tag}.large_init_interpolates_everywhere"),
            format!("d = {d}, large init (lambda = {}): largest median train MSE / sigma^2 over every n of the grid", spec.inits[large].lambda),
            format!("{SRC}, Fig 1 (without early alignment the network interpolates)"),
            Prediction::AtMost { bound: th.interpolation_ratio },
            Measured::single(interp.iter().cloned().fold(f64::NAN, f64::max)),
        ));
        let worse: Vec<f64> = above
            .iter()
            .map(|&i| {
                let l = quantile(&table.values(dim, i, large, |r| r.test_excess), 0.5);
                let s = quantile(&table.values(dim, i, small, |r| r.test_excess), 0.5);
                f64::from(l > s)
            })
            .collect();
        claims.push(Claim::new(
            format!("{tag}.large_init_generalises_worse"),
            format!("d = {d}, n >= n* = {ns_text}: share of sample sizes where the large init's median test excess risk exceeds the small init's"),
            format!("{SRC}, Fig 1 (interpolating solutions generalise worse than the OLS-like one)"),
            Prediction::AtLeast { bound: 1.0 },
            Measured { value: mean(&worse), q20: None, q80: None, runs: worse.len(), note: String::new() },
        ));
        contrast = serde_json::json!({ "median_train_mse_over_sigma2": interp });
    }
    let per_n: Vec<serde_json::Value> = ds
        .n
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            serde_json::json!({
                "n": n,
                "median_train_mse": quantile(&table.values(dim, i, small, |r| r.train_mse), 0.5),
                "median_test_excess": quantile(&table.values(dim, i, small, |r| r.test_excess), 0.5),
                "median_ols_train_mse": quantile(&table.values(dim, i, small, |r| r.ols_train_mse), 0.5),
                "ols_expected_train_mse": ols_expected_train_mse(sigma, n, d),
                "ols_expected_excess": ols_expected_excess_risk(sigma, n, d),
            })
        })
        .collect();
    let det = serde_json::json!({ "d": d, "n_star": nstar, "small_init": per_n, "large_init": contrast, "authors_sufficient_scaling_d_cubed": d.pow(3) });
    (claims, nstar, det)
}

fn threshold_scaling_claim(thresholds: &[(usize, Option<usize>)]) -> Claim {
    let (d1, n1) = thresholds[0];
    let (d2, n2) = thresholds[thresholds.len() - 1];
    let exponent = match (n1, n2) {
        (Some(a), Some(b)) => (b as f64 / a as f64).ln() / (d2 as f64 / d1 as f64).ln(),
        _ => f64::NAN,
    };
    Claim::new(
        "threshold.moves_with_d",
        format!(
            "n* grows with d, no faster than the authors' sufficient d^3: exponent ln(n*(d={d2})/n*(d={d1}))/ln({d2}/{d1}) with n* = {} and {}",
            n1.map(|v| v.to_string()).unwrap_or("-".into()),
            n2.map(|v| v.to_string()).unwrap_or("-".into())
        ),
        format!("{SRC}, Section 4 (the analysis needs n of order d^3) and the appendix's larger-d figure"),
        Prediction::Interval { low: 0.01, high: 3.0 },
        Measured::single(exponent),
    )
}

// ---------------------------------------------------------------- figures

pub fn plot(loaded: &LoadedSpec, dir: &Path) -> Result<()> {
    let spec: ThresholdSpec = loaded.study_section()?;
    let rd = RunDir::new(dir);
    let metrics = Metrics::read(&rd.metrics())?;
    let fig_dir = rd.figures();
    std::fs::create_dir_all(&fig_dir).map_err(|e| Error::io(&fig_dir, e))?;
    let sigma = spec.teacher.sigma;
    let s2 = sigma * sigma;
    // Per (run prefix d:n:init) the final values over seeds.
    let collect = |d: usize, n: usize, init: &str, metric: &str| -> Vec<f64> {
        let prefix = format!("d{d}:n{n}:{init}:");
        metrics
            .rows
            .iter()
            .filter(|r| r.split == "final" && r.metric == metric && r.run.starts_with(&prefix))
            .map(|r| r.value)
            .collect()
    };
    let mut panels = Vec::new();
    let mut cluster_panels = Vec::new();
    for ds in &spec.dims {
        let d = ds.d;
        let xs: Vec<f64> = ds.n.iter().map(|&n| n as f64).collect();
        let band_series = |init: &str, metric: &str, label: String, offset: f64| -> Series {
            let vals: Vec<Vec<f64>> = ds.n.iter().map(|&n| collect(d, n, init, metric)).collect();
            Series {
                label,
                x: xs.clone(),
                y: vals.iter().map(|v| quantile(v, 0.5) + offset).collect(),
                band: Some((
                    vals.iter().map(|v| quantile(v, 0.2) + offset).collect(),
                    vals.iter().map(|v| quantile(v, 0.8) + offset).collect(),
                )),
                markers: true,
                ..Default::default()
            }
        };
        let mut train = Vec::new();
        let mut test = Vec::new();
        for init in &spec.inits {
            let name = format!("{} init (lambda = {})", init.id, fmt_num(init.lambda));
            train.push(band_series(&init.id, "train_mse", name.clone(), 0.0));
            test.push(band_series(&init.id, "test_excess", name, s2));
        }
        let dense: Vec<f64> = {
            let (lo, hi) = (xs[0], xs[xs.len() - 1]);
            (0..200)
                .map(|i| lo * (hi / lo).powf(i as f64 / 199.0))
                .collect()
        };
        train.push(Series {
            label: "OLS: sigma^2 (n - d)/n".into(),
            x: dense.iter().copied().filter(|&n| n > d as f64).collect(),
            y: dense
                .iter()
                .copied()
                .filter(|&n| n > d as f64)
                .map(|n| s2 * (n - d as f64) / n)
                .collect(),
            dashed: true,
            ..Default::default()
        });
        test.push(Series {
            label: "OLS: sigma^2 + sigma^2 d/(n - d - 1)".into(),
            x: dense
                .iter()
                .copied()
                .filter(|&n| n > d as f64 + 1.5)
                .collect(),
            y: dense
                .iter()
                .copied()
                .filter(|&n| n > d as f64 + 1.5)
                .map(|n| s2 + s2 * d as f64 / (n - d as f64 - 1.0))
                .collect(),
            dashed: true,
            ..Default::default()
        });
        panels.push(LinePanel {
            title: format!("d = {d}: training loss"),
            x_label: "n (training samples)".into(),
            y_label: "train MSE".into(),
            log_x: true,
            log_y: true,
            series: train,
            hlines: vec![HLine {
                y: s2,
                label: "sigma^2".into(),
            }],
            ..Default::default()
        });
        panels.push(LinePanel {
            title: format!("d = {d}: test loss"),
            x_label: "n (training samples)".into(),
            y_label: "test MSE".into(),
            log_x: true,
            log_y: true,
            series: test,
            hlines: vec![HLine {
                y: s2,
                label: "sigma^2 (Bayes)".into(),
            }],
            ..Default::default()
        });
        let mut cs = Vec::new();
        for init in &spec.inits {
            let vals: Vec<Vec<f64>> =
                ds.n.iter()
                    .map(|&n| collect(d, n, &init.id, "aligned_mass"))
                    .collect();
            cs.push(Series {
                label: format!("{} init: mass aligned with +-beta*", init.id),
                x: xs.clone(),
                y: vals.iter().map(|v| quantile(v, 0.5)).collect(),
                markers: true,
                ..Default::default()
            });
        }
        cluster_panels.push(LinePanel {
            title: format!("d = {d}: neurons on the extremal directions"),
            x_label: "n (training samples)".into(),
            y_label: "share of a_j^2 + ||w_j||^2".into(),
            log_x: true,
            y_range: Some((0.0, 1.05)),
            series: cs,
            ..Default::default()
        });
    }
    plot::line_panels(&fig_dir.join("threshold_losses"), &panels, 2)?;
    plot::line_panels(
        &fig_dir.join("threshold_alignment"),
        &cluster_panels,
        cluster_panels.len().min(2),
    )?;

    // Training curves of the first seed, small init, for each n.
    let mut curves = Vec::new();
    for ds in &spec.dims {
        let mut ser = Vec::new();
        for &n in &ds.n {
            let run = format!("d{}:n{n}:small:s0", ds.d);
            let pts: Vec<(f64, f64)> = metrics
                .rows
                .iter()
                .filter(|r| r.run == run && r.split == "train" && r.metric == "mse")
                .map(|r| (r.step as f64 + 1.0, r.value))
                .collect();
            if !pts.is_empty() {
                ser.push(Series {
                    label: format!("n = {n}"),
                    x: pts.iter().map(|p| p.0).collect(),
                    y: pts.iter().map(|p| p.1.max(1e-16)).collect(),
                    ..Default::default()
                });
            }
        }
        curves.push(LinePanel {
            title: format!("d = {}, small init, first seed", ds.d),
            x_label: "iteration + 1".into(),
            y_label: "train MSE".into(),
            log_x: true,
            log_y: true,
            series: ser,
            hlines: vec![HLine {
                y: s2,
                label: "sigma^2".into(),
            }],
            ..Default::default()
        });
    }
    plot::line_panels(
        &fig_dir.join("threshold_training_curves"),
        &curves,
        curves.len().min(2),
    )?;
    Ok(())
}

/// The study `study = "optimization_threshold"`.
pub const STUDY: StudyFns = StudyFns {
    name: "optimization_threshold",
    run_keys: RUN_KEYS,
    validate,
    run,
    figures: plot,
};
