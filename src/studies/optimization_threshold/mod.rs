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

mod claims;
mod figures;

use std::fmt;

use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::toolkit::log_schedule;
use super::toolkit::probe::{probe_neurons, theorem_covers, ProbeOptions};
use super::{Findings, Plan, Results, StudyFns, Sweep, UnitResult};
use crate::error::{Error, Result};
use crate::nets::wide::{
    init_params, InitScheme, LossConvention, Points, WideConfig, WideGd, WideInit, WideNet,
};
use crate::record::Metrics;
use crate::rng::Numbering;
use crate::runner::RunContext;
use crate::spec::LoadedSpec;
use crate::theory::early_alignment::{cosine, ols, population_d_linear_teacher};

pub use figures::plot;

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
    let t = &s.train;
    super::toolkit::check_logged_steps(spec, "train", t.steps, t.dense_until, t.ratio)?;
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

/// The id of one run in metrics.csv, `d{d}:n{n}:{init id}:s{seed}`: built
/// and read back here only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RunId<'a> {
    d: usize,
    n: usize,
    init: &'a str,
    seed: usize,
}

impl<'a> RunId<'a> {
    fn of(spec: &'a ThresholdSpec, j: &Job) -> Self {
        let ds = &spec.dims[j.dim];
        RunId {
            d: ds.d,
            n: ds.n[j.n_index],
            init: &spec.inits[j.init].id,
            seed: j.seed,
        }
    }

    /// The id `run` names, or None when it is not one of this study's.
    fn parse(run: &'a str) -> Option<Self> {
        let (d, rest) = run.strip_prefix('d')?.split_once(':')?;
        let (n, rest) = rest.strip_prefix('n')?.split_once(':')?;
        let (init, seed) = rest.rsplit_once(":s")?;
        Some(RunId {
            d: d.parse().ok()?,
            n: n.parse().ok()?,
            init,
            seed: seed.parse().ok()?,
        })
    }
}

impl fmt::Display for RunId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "d{}:n{}:{}:s{}", self.d, self.n, self.init, self.seed)
    }
}

/// The experiment, prepared: one unit per (dimension, n, init, seed).
struct Run {
    spec: ThresholdSpec,
    master: u64,
    name: String,
    jobs: Vec<Job>,
}

pub fn plan(loaded: &LoadedSpec, _: &RunContext) -> Result<Box<dyn Plan>> {
    let spec: ThresholdSpec = loaded.study_section()?;
    let mut jobs = Vec::new();
    for (dim, ds) in spec.dims.iter().enumerate() {
        for n_index in 0..ds.n.len() {
            for init in 0..spec.inits.len() {
                for seed in 0..spec.seeds {
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
    Ok(Box::new(Run {
        spec,
        master: loaded.header.seed,
        name: loaded.header.name.clone(),
        jobs,
    }))
}

impl Plan for Run {
    /// Cost steps x m x n d. Largest units first would balance better, but
    /// unit order fixes the output order (results come back in unit order
    /// either way).
    fn sweeps(&self) -> Vec<Sweep> {
        let (steps, m) = (self.spec.train.steps, self.spec.model.m);
        let cost = |j: &Job| {
            let ds = &self.spec.dims[j.dim];
            (steps * m * ds.n[j.n_index] * ds.d) as f64
        };
        vec![Sweep::new(&self.name, self.jobs.iter().map(cost).collect())]
    }

    fn run_unit(&self, _: usize, i: usize) -> Result<UnitResult> {
        UnitResult::of(run_one(&self.spec, self.master, &self.jobs[i]))
    }

    fn findings(self: Box<Self>, mut results: Results) -> Result<Findings> {
        let records: Vec<RunRecord> = results.take(0)?;
        Ok(findings(&self.spec, &self.jobs, &records))
    }
}

/// The metrics, claims and details of every unit's record.
fn findings(spec: &ThresholdSpec, jobs: &[Job], records: &[RunRecord]) -> Findings {
    let seeds = spec.seeds;
    let mut metrics = Metrics::default();
    for (job, rec) in jobs.iter().zip(records) {
        let run = RunId::of(spec, job).to_string();
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

    let table = claims::Table::new(spec, jobs, records);
    let claims::Judged {
        claims,
        thresholds,
        details_dims,
    } = claims::judge(spec, &table);
    Findings {
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
    }
}

/// The study `study = "optimization_threshold"`.
pub const STUDY: StudyFns = StudyFns {
    name: "optimization_threshold",
    run_keys: RUN_KEYS,
    validate,
    plan,
    figures: plot,
    peak_memory: super::memory::optimization_threshold,
};

#[cfg(test)]
mod tests {
    use super::RunId;

    /// A run id reads back as the id it was written from, init ids with a
    /// colon included; other studies' ids do not parse.
    #[test]
    fn run_ids_read_back() {
        for init in ["small", "large", "a:s1"] {
            let id = RunId {
                d: 5,
                n: 120,
                init,
                seed: 3,
            };
            let text = id.to_string();
            assert_eq!(RunId::parse(&text), Some(id), "{text}");
        }
        assert_eq!(
            RunId {
                d: 2,
                n: 10,
                init: "small",
                seed: 0
            }
            .to_string(),
            "d2:n10:small:s0"
        );
        assert_eq!(RunId::parse("main"), None);
        assert_eq!(RunId::parse("lambda:3"), None);
    }
}
