//! Study: the optimization threshold (Boursier & Flammarion, "Simplicity bias
//! and optimization threshold in two-layer ReLU networks", ICML 2025, arXiv
//! 2410.02348).
//!
//! Data: x ~ N(0, I_d), y = <beta*, x> + sigma eps (a noisy linear teacher,
//! no intercept), n training points; a fresh test set measures the excess
//! risk E_x[(h(x) - <beta*, x>)^2]. Model: h(x) = sum_j a_j sigma(<w_j, x>) on
//! the wide path, no bias. Training: full-batch GD on the square loss from a
//! small balanced init (early alignment), and from a large init as the
//! contrast, run to convergence (`ConvergeSpec`).
//!
//! Three parts, each on its own random draws (`run`):
//! - the n* grid (`[threshold]`): small init over the n of `[[dims]]`; n* is
//!   the smallest n > d + 1 at which the median train MSE / least-squares
//!   residual of the same data is >= `threshold.ratio` at n and at the next
//!   grid n (`claims::measured_threshold`);
//! - the claims grid (`[[dims]]`, other seeds, both inits): below n* the net
//!   interpolates, above it it does not and its neurons sit on +-beta_hat
//!   (the sample least-squares direction), the large init interpolates and
//!   generalises worse, n* grows with d no faster than d^3;
//! - the sweep (`[sweep]`): d fixed, a few n, lambda x horizon; whether
//!   train MSE / OLS residual -> 1 and net excess / OLS excess -> 1 as
//!   lambda -> 0 (`sweep`). E[OLS excess] = sigma^2 d/(n - d - 1) and
//!   E[OLS residual] = sigma^2 (n - d)/n for the Gaussian design (checked).

mod claims;
mod figures;
mod run;
mod sweep;

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Findings, Plan, Results, StudyFns, Sweep, UnitResult};
use crate::error::Result;
use crate::nets::wide::{InitScheme, SquareLoss};
use crate::record::Metrics;
use crate::rng::Numbering;
use crate::runner::RunContext;
use crate::spec::{open_unit, positive, LoadedSpec};

pub use figures::plot;
use run::{RunRecord, SweepRecord};

// ---------------------------------------------------------------- the spec

/// Stream keys (`rng::Numbering`) of the claims grid and the n* grid: the
/// data of (dimension, n, seed), shared by every init of the claims grid
/// (purpose "data"); the n* grid draws under purpose "threshold-data", so
/// its samples are independent of the claims grid's.
pub(crate) const STREAMS: Numbering = Numbering::from("optimization_threshold", &[1000, 1000], 0);

/// Stream keys of the sweep: the data of (n, seed), shared by every lambda
/// (purpose "sweep-data"; the init directions too, purpose "sweep-init", so
/// lambda changes only the scale: common random numbers for the trend).
pub(crate) const SWEEP_STREAMS: Numbering =
    Numbering::from("optimization_threshold_sweep", &[1000], 0);

/// The run counts `--seeds` sets (`studies::run_keys`).
pub const RUN_KEYS: &[&str] = &["seeds", "threshold.seeds", "sweep.seeds"];

/// The init id the n* grid and the threshold claims use.
const SMALL: &str = "small";
/// Reserved: the n* grid's runs are `d{d}:n{n}:nstar:s{seed}` in metrics.csv.
const NSTAR: &str = "nstar";

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
    /// Seeds of the claims grid.
    pub seeds: usize,
    pub threshold: NstarSpec,
    pub sweep: SweepSpec,
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
    /// A square loss: "half_square" (also "square") or "mean_mse".
    pub loss: SquareLoss,
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
    /// Run to convergence instead of `train.steps` (absent: train.steps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converge: Option<ConvergeSpec>,
}

/// When a run counts as converged, checked every `window` steps: train
/// MSE / sigma^2 <= `interpolated` (it interpolates: settled), or
/// |L(t) - L(t - window)| <= rel_change L(t - window) (a plateau); at
/// `max_steps` it stops unconverged. The stop is recorded per run (`Stop`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvergeSpec {
    pub window: usize,
    pub rel_change: f64,
    pub interpolated: f64,
    pub max_steps: usize,
}

/// The n* grid: the small init over `[[dims]]`, its own seeds.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NstarSpec {
    pub seeds: usize,
    /// n* rule: median train MSE / least-squares residual >= ratio at n and
    /// at the next grid n.
    pub ratio: f64,
}

/// The lambda x horizon sweep of the small init at one dimension.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    pub d: usize,
    pub n: Vec<usize>,
    /// Init scales, decreasing (balanced init, as the small init).
    pub lambdas: Vec<f64>,
    pub lr: f64,
    /// Steps at which train MSE and test excess are recorded, increasing;
    /// the last is the horizon of the trend and limit claims.
    pub horizons: Vec<usize>,
    /// The horizon claim reads the horizons >= this one.
    pub stable_from: usize,
    pub seeds: usize,
    pub trend_alpha: f64,
    pub limit_points: usize,
    pub train_tolerance_factor: f64,
    pub excess_tolerance: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TheorySpec {
    /// Median train MSE <= this x sigma^2 counts as interpolation.
    pub interpolation_ratio: f64,
    /// Standard errors allowed between an estimate and its prediction.
    pub z: f64,
    pub cluster_cos: f64,
    pub cluster_mass: f64,
    /// Cosine to +-beta_hat (the sample least-squares direction) that
    /// counts as aligned.
    pub aligned_cos: f64,
    /// Share of the mass aligned that the above-n* claim needs.
    #[serde(default = "default_aligned_share")]
    pub aligned_share: f64,
}

fn default_aligned_share() -> f64 {
    0.9
}

impl Default for TheorySpec {
    fn default() -> Self {
        TheorySpec {
            interpolation_ratio: 0.1,
            z: 3.0,
            cluster_cos: 0.99,
            cluster_mass: 0.05,
            aligned_cos: 0.99,
            aligned_share: default_aligned_share(),
        }
    }
}

pub fn validate(spec: &LoadedSpec) -> Result<String> {
    let s: ThresholdSpec = spec.study_section()?;
    let bad = |k: &str, m: &str| Err(spec.bad_value(k, m));
    if !positive(s.teacher.sigma) {
        return bad("teacher.sigma", "must be a positive number");
    }
    if !positive(s.teacher.beta_norm) {
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
        check_dim(spec, &format!("dims[{i}].d"), dim.d)?;
        check_sizes(spec, &format!("dims[{i}].n"), &dim.n)?;
    }
    let ds: Vec<usize> = s.dims.iter().map(|d| d.d).collect();
    super::toolkit::check_unique(spec, "dims[{}].d", &ds)?;
    let ids: Vec<&str> = s.inits.iter().map(|i| i.id.as_str()).collect();
    super::toolkit::check_unique(spec, "inits[{}].id", &ids)?;
    if s.inits.iter().all(|i| i.id != SMALL) {
        return bad(
            "inits",
            "needs an init with id = \"small\" (the early-alignment regime)",
        );
    }
    for (i, init) in s.inits.iter().enumerate() {
        if init.id == NSTAR || init.id.contains(':') {
            return bad(
                &format!("inits[{i}].id"),
                "must not be \"nstar\" (the n* grid's runs) nor contain ':'",
            );
        }
        if !(positive(init.lambda) && positive(init.lr)) {
            return bad(
                &format!("inits[{i}]"),
                "lambda and lr must be positive numbers",
            );
        }
        if init.symmetric && s.model.m % 2 == 1 {
            return bad(&format!("inits[{i}].symmetric"), "needs an even model.m");
        }
        if let Some(c) = &init.converge {
            check_converge(spec, &format!("inits[{i}].converge"), c, t)?;
        }
    }
    if s.seeds == 0 {
        return bad("seeds", "must be >= 1");
    }
    if s.threshold.seeds == 0 {
        return bad("threshold.seeds", "must be >= 1");
    }
    if !open_unit(s.threshold.ratio) {
        return bad("threshold.ratio", "must lie in (0, 1)");
    }
    check_sweep(spec, &s.sweep)?;
    let th = &s.theory;
    if !(positive(th.interpolation_ratio) && positive(th.z)) {
        return bad(
            "theory",
            "interpolation_ratio and z must be positive numbers",
        );
    }
    for (k, v) in [
        ("theory.cluster_cos", th.cluster_cos),
        ("theory.cluster_mass", th.cluster_mass),
        ("theory.aligned_cos", th.aligned_cos),
        ("theory.aligned_share", th.aligned_share),
    ] {
        if !(v > 0.0 && v <= 1.0) {
            return bad(k, "must lie in (0, 1]");
        }
    }
    Ok(spec.resolved_toml(&s))
}

/// An input dimension the wide path takes.
fn check_dim(spec: &LoadedSpec, key: &str, d: usize) -> Result<()> {
    if d == 0 || d > crate::nets::wide::MAX_DIM {
        return Err(spec.bad_value(
            key,
            format!("must lie in 1..={}", crate::nets::wide::MAX_DIM),
        ));
    }
    Ok(())
}

/// Increasing sample sizes >= 1.
fn check_sizes(spec: &LoadedSpec, key: &str, n: &[usize]) -> Result<()> {
    if n.is_empty() || n.contains(&0) || n.windows(2).any(|w| w[0] >= w[1]) {
        return Err(spec.bad_value(key, "must be increasing sample sizes >= 1"));
    }
    Ok(())
}

fn check_converge(spec: &LoadedSpec, key: &str, c: &ConvergeSpec, t: &TrainSpec) -> Result<()> {
    let bad = |k: &str, m: &str| Err(spec.bad_value(&format!("{key}.{k}"), m));
    if c.window == 0 {
        return bad("window", "must be >= 1");
    }
    if c.max_steps < c.window {
        return bad("max_steps", "must be at least the window");
    }
    if !open_unit(c.rel_change) {
        return bad("rel_change", "must lie in (0, 1)");
    }
    if !positive(c.interpolated) {
        return bad("interpolated", "must be a positive number");
    }
    super::toolkit::check_logged_steps(spec, key, c.max_steps, t.dense_until, t.ratio)
}

fn check_sweep(spec: &LoadedSpec, w: &SweepSpec) -> Result<()> {
    let bad = |k: &str, m: &str| Err(spec.bad_value(&format!("sweep.{k}"), m));
    check_dim(spec, "sweep.d", w.d)?;
    check_sizes(spec, "sweep.n", &w.n)?;
    if w.n[0] <= w.d + 1 {
        return bad(
            "n",
            "every n must exceed d + 1 (where the OLS excess risk exists)",
        );
    }
    if w.lambdas.is_empty()
        || !w.lambdas.iter().all(|&l| open_unit(l))
        || w.lambdas.windows(2).any(|p| p[0] <= p[1])
    {
        return bad("lambdas", "must be decreasing init scales in (0, 1)");
    }
    if !positive(w.lr) {
        return bad("lr", "must be a positive number");
    }
    check_sizes(spec, "sweep.horizons", &w.horizons)?;
    if !w.horizons.contains(&w.stable_from) {
        return bad("stable_from", "must be one of sweep.horizons");
    }
    if w.seeds == 0 {
        return bad("seeds", "must be >= 1");
    }
    if !open_unit(w.trend_alpha) {
        return bad("trend_alpha", "must lie in (0, 1)");
    }
    if w.limit_points < 2 || w.limit_points > w.lambdas.len() {
        return bad("limit_points", "must lie in 2..=len(sweep.lambdas)");
    }
    if !positive(w.train_tolerance_factor) {
        return bad("train_tolerance_factor", "must be a positive number");
    }
    if !positive(w.excess_tolerance) {
        return bad("excess_tolerance", "must be a positive number");
    }
    Ok(())
}

// ---------------------------------------------------------------- the study

/// The id of one run of the claims grid or the n* grid in metrics.csv,
/// `d{d}:n{n}:{init id}:s{seed}` (init id `nstar` for the n* grid): built
/// and read back here only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RunId<'a> {
    d: usize,
    n: usize,
    init: &'a str,
    seed: usize,
}

impl<'a> RunId<'a> {
    fn of(spec: &'a ThresholdSpec, grid: run::Grid, j: &run::Job) -> Self {
        let ds = &spec.dims[j.dim];
        RunId {
            d: ds.d,
            n: ds.n[j.n_index],
            init: match grid {
                run::Grid::Claims => &spec.inits[j.init].id,
                run::Grid::Nstar => NSTAR,
            },
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

/// The id of one sweep run, `sweep:n{n}:l{lambda index}:s{seed}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SweepId {
    n: usize,
    lambda: usize,
    seed: usize,
}

impl SweepId {
    fn parse(run: &str) -> Option<Self> {
        let rest = run.strip_prefix("sweep:n")?;
        let (n, rest) = rest.split_once(":l")?;
        let (lambda, seed) = rest.split_once(":s")?;
        Some(SweepId {
            n: n.parse().ok()?,
            lambda: lambda.parse().ok()?,
            seed: seed.parse().ok()?,
        })
    }
}

impl fmt::Display for SweepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sweep:n{}:l{}:s{}", self.n, self.lambda, self.seed)
    }
}

/// The experiment, prepared: sweep 0 the n* grid (one unit per (dimension,
/// n, seed)), sweep 1 the claims grid (per (dimension, n, init, seed)),
/// sweep 2 the lambda x horizon sweep (per (n, lambda, seed)).
struct Run {
    spec: ThresholdSpec,
    master: u64,
    name: String,
    nstar_jobs: Vec<run::Job>,
    jobs: Vec<run::Job>,
    sweep_jobs: Vec<run::SweepJob>,
}

/// The jobs of a grid over `[[dims]]` for the given inits and seeds.
fn grid_jobs(spec: &ThresholdSpec, inits: &[usize], seeds: usize) -> Vec<run::Job> {
    let mut jobs = Vec::new();
    for (dim, ds) in spec.dims.iter().enumerate() {
        for n_index in 0..ds.n.len() {
            for &init in inits {
                for seed in 0..seeds {
                    jobs.push(run::Job {
                        dim,
                        n_index,
                        init,
                        seed,
                    });
                }
            }
        }
    }
    jobs
}

pub fn plan(loaded: &LoadedSpec, _: &RunContext) -> Result<Box<dyn Plan>> {
    let spec: ThresholdSpec = loaded.study_section()?;
    let small = spec
        .inits
        .iter()
        .position(|i| i.id == SMALL)
        .expect("validated");
    let all: Vec<usize> = (0..spec.inits.len()).collect();
    let w = &spec.sweep;
    let mut sweep_jobs = Vec::new();
    for n_index in 0..w.n.len() {
        for lambda in 0..w.lambdas.len() {
            for seed in 0..w.seeds {
                sweep_jobs.push(run::SweepJob {
                    n_index,
                    lambda,
                    seed,
                });
            }
        }
    }
    Ok(Box::new(Run {
        nstar_jobs: grid_jobs(&spec, &[small], spec.threshold.seeds),
        jobs: grid_jobs(&spec, &all, spec.seeds),
        sweep_jobs,
        master: loaded.header.seed,
        name: loaded.header.name.clone(),
        spec,
    }))
}

impl Plan for Run {
    /// Cost steps x m x n d (a converging init at its cap). Largest units
    /// first would balance better, but unit order fixes the output order
    /// (results come back in unit order either way).
    fn sweeps(&self) -> Vec<Sweep> {
        let s = &self.spec;
        let m = s.model.m as f64;
        let grid_cost = |j: &run::Job| {
            let ds = &s.dims[j.dim];
            let steps = s.inits[j.init]
                .converge
                .as_ref()
                .map_or(s.train.steps, |c| c.max_steps);
            steps as f64 * m * (ds.n[j.n_index] * ds.d) as f64
        };
        let w = &s.sweep;
        let last = *w.horizons.last().expect("validated") as f64;
        let sweep_cost = |j: &run::SweepJob| last * m * (w.n[j.n_index] * w.d) as f64;
        vec![
            Sweep::new(
                format!("{}-nstar", self.name),
                self.nstar_jobs.iter().map(grid_cost).collect(),
            ),
            Sweep::new(&self.name, self.jobs.iter().map(grid_cost).collect()),
            Sweep::new(
                format!("{}-sweep", self.name),
                self.sweep_jobs.iter().map(sweep_cost).collect(),
            ),
        ]
    }

    fn run_unit(&self, sweep: usize, i: usize) -> Result<UnitResult> {
        let (s, m) = (&self.spec, self.master);
        match sweep {
            0 => UnitResult::of(run::run_grid(s, m, run::Grid::Nstar, &self.nstar_jobs[i])),
            1 => UnitResult::of(run::run_grid(s, m, run::Grid::Claims, &self.jobs[i])),
            _ => UnitResult::of(run::run_sweep(s, m, &self.sweep_jobs[i])),
        }
    }

    fn findings(self: Box<Self>, mut results: Results) -> Result<Findings> {
        let nstar: Vec<RunRecord> = results.take(0)?;
        let grid: Vec<RunRecord> = results.take(1)?;
        let sweep: Vec<SweepRecord> = results.take(2)?;
        Ok(findings(&self, &nstar, &grid, &sweep))
    }
}

/// The metrics, claims and details of every unit's record.
fn findings(
    run: &Run,
    nstar: &[RunRecord],
    grid: &[RunRecord],
    sweep_recs: &[SweepRecord],
) -> Findings {
    let spec = &run.spec;
    let mut metrics = Metrics::default();
    for (g, jobs, recs) in [
        (run::Grid::Nstar, &run.nstar_jobs, nstar),
        (run::Grid::Claims, &run.jobs, grid),
    ] {
        for (job, rec) in jobs.iter().zip(recs) {
            grid_metrics(spec, g, job, rec, &mut metrics);
        }
    }
    let w = &spec.sweep;
    for (job, rec) in run.sweep_jobs.iter().zip(sweep_recs) {
        let id = SweepId {
            n: w.n[job.n_index],
            lambda: job.lambda,
            seed: job.seed,
        }
        .to_string();
        metrics.push(&id, 0, "config", "n", w.n[job.n_index] as f64);
        metrics.push(&id, 0, "config", "lambda", w.lambdas[job.lambda]);
        for (&h, &(train, excess)) in w.horizons.iter().zip(&rec.at) {
            for (name, v) in [
                ("train_mse", train),
                ("test_excess", excess),
                ("train_over_ols", train / rec.ols_train_mse),
                ("excess_over_ols", excess / rec.ols_test_excess),
            ] {
                metrics.push(&id, h as u64, "horizon", name, v);
            }
        }
        metrics.push(&id, 0, "final", "ols_train_mse", rec.ols_train_mse);
        metrics.push(&id, 0, "final", "ols_test_excess", rec.ols_test_excess);
    }

    let nstar_table = claims::Table::new(spec, &run.nstar_jobs, nstar);
    let table = claims::Table::new(spec, &run.jobs, grid);
    let claims::Judged {
        mut claims,
        thresholds,
        details_dims,
    } = claims::judge(spec, &nstar_table, &table);
    let (sweep_claims, sweep_details) = sweep::judge(spec, &run.sweep_jobs, sweep_recs);
    claims.extend(sweep_claims);
    Findings {
        metrics,
        claims,
        details: serde_json::json!({
            "seeds": spec.seeds,
            "threshold_seeds": spec.threshold.seeds,
            "dims": details_dims,
            "measured_threshold": thresholds.iter().map(|(d, n)| serde_json::json!({"d": d, "n_star": n})).collect::<Vec<_>>(),
            "n_star_rule": format!("smallest n of [[dims]] with n > d + 1 at which the median over the n* grid's own seeds of train MSE / least-squares residual of the same data is >= {} at n and at the next grid n (small init)", spec.threshold.ratio),
            "alignment_directions": "+-beta_hat/||beta_hat||, the sample least-squares direction of each run's data",
            "sweep": sweep_details,
        }),
        extra_files: Vec::new(),
    }
}

/// The metrics rows of one run of a grid.
fn grid_metrics(
    spec: &ThresholdSpec,
    grid: run::Grid,
    job: &run::Job,
    rec: &RunRecord,
    metrics: &mut Metrics,
) {
    let id = RunId::of(spec, grid, job).to_string();
    let ds = &spec.dims[job.dim];
    let last = rec.steps as u64;
    metrics.push(&id, 0, "config", "d", ds.d as f64);
    metrics.push(&id, 0, "config", "n", ds.n[job.n_index] as f64);
    for (name, v) in [
        ("train_mse", rec.train_mse),
        ("test_excess", rec.test_excess),
        ("test_mse", rec.test_excess + spec.teacher.sigma.powi(2)),
        ("ols_train_mse", rec.ols_train_mse),
        ("ols_test_excess", rec.ols_test_excess),
        ("train_over_ols", rec.train_mse / rec.ols_train_mse),
        ("clusters", rec.clusters),
        ("aligned_mass", rec.aligned_mass),
        ("steps", rec.steps as f64),
        ("converged", f64::from(u8::from(rec.stop.converged()))),
    ] {
        metrics.push(&id, last, "final", name, v);
    }
    for (s, v) in &rec.curve {
        metrics.push(&id, *s, "train", "mse", *v);
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
    rejudge: None,
};

#[cfg(test)]
mod tests {
    use super::{RunId, SweepId};

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
        assert_eq!(RunId::parse("sweep:n80:l2:s1"), None);
        let s = SweepId {
            n: 80,
            lambda: 2,
            seed: 1,
        };
        assert_eq!(s.to_string(), "sweep:n80:l2:s1");
        assert_eq!(SweepId::parse(&s.to_string()), Some(s));
        assert_eq!(SweepId::parse("d5:n80:small:s1"), None);
    }
}
