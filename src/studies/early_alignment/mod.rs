//! Study: early alignment and spurious convergence of small-initialised
//! two-layer ReLU networks (Boursier & Flammarion, JMLR 26 (2025), arXiv
//! 2401.10791; public code github.com/eboursier/early_alignment).
//!
//! Data: scalar inputs with a bias coordinate, either fixed points (App. B.1:
//! x = (-0.75, -0.5, 0.125), y = (1.1, 0.1, 0.8)) or n points uniform on
//! [-1, 1] with targets interpolating a piecewise-linear function (App. B.2,
//! after Stewart et al.). Model: h(x) = sum_j a_j sigma(<w_j, (x, 1)>) with
//! m up to 2e5 neurons on the wide path (`nets::wide`), initialised at scale
//! lambda (balanced, unbalanced or dominated). Training: full-batch GD with a
//! small step on the square loss (the public code's mean MSE or the papers'
//! 1/2 convention), as a proxy for gradient flow.
//!
//! Instruments, recorded at log-spaced steps: the loss; each neuron's cosine
//! to the extremal vector of its sign (found by scanning the circle for the
//! local extrema of G(w) = <w, D(w, 0)>, `theory::early_alignment`); the
//! growth max_j |a_j(t)|/|a_j(0)| against Theorem 1's bound exp(2 D_max t);
//! the number of direction clusters; the mass on each sign; the loss
//! plateau's end, half-way point and growth end. Optionally a sweep over
//! lambda shows where the spurious (non-interpolating) convergence stops.
//!
//! Predictions come from theory computed on the data alone: the extremal
//! vectors and D_max from the scan, tau_eps = -eps ln(lambda)/D_max, the OLS
//! fit by least squares; never from the simulation being judged.

mod claims;
mod csv;
mod figures;
mod tolerances;

pub use tolerances::Tolerances;

use serde::{Deserialize, Serialize};

use super::toolkit::log_schedule;
use super::toolkit::probe::{probe_neurons, theorem_covers, ProbeOptions};
use super::{Findings, Plan, Results, StudyFns, Sweep, UnitResult};
use crate::error::{Error, Result};
use crate::nets::wide::{
    init_params, InitScheme, Points, SquareLoss, WideConfig, WideGd, WideInit, WideNet,
};
use crate::record::Metrics;
use crate::runner::RunContext;
use crate::spec::{open_unit, positive, LoadedSpec};
use crate::theory::early_alignment::{
    alignment_time, cosine, flow_time_per_step, ols, scan_sphere, Attracts, OlsFit, SphereScan,
};

pub use figures::plot;

// ---------------------------------------------------------------- the spec

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlySpec {
    pub data: DataSpec,
    pub model: ModelSpec,
    pub train: TrainSpec,
    #[serde(default)]
    pub probes: ProbeSpec,
    /// Which groups of claims this spec is tested against.
    pub claims: Vec<ClaimKind>,
    /// Numbers the paper reports for this setting (quoted in the claims).
    #[serde(default)]
    pub paper: PaperNumbers,
    #[serde(default)]
    pub lambda_sweep: Option<LambdaSweep>,
    /// The claims' pre-registered tolerances (where the theory fixes none).
    pub tolerances: Tolerances,
}

/// The training inputs (scalar x; the bias coordinate is appended when `model.bias`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DataSpec {
    /// Fixed points (JMLR App. B.1).
    Points { x: Vec<f64>, y: Vec<f64> },
    /// n inputs uniform on [-1, 1], y = piecewise-linear interpolation of the
    /// knots (JMLR App. B.2, as numpy.interp in the public code).
    Interpolated {
        n: usize,
        knots_x: Vec<f64>,
        knots_y: Vec<f64>,
    },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    pub m: usize,
    pub init: InitScheme,
    /// Initialisation scale lambda: (a_j, w_j) = (lambda/sqrt m)(a~_j, w~_j).
    pub lambda: f64,
    /// Leaky-ReLU slope gamma (0: ReLU, as in the public code).
    #[serde(default)]
    pub gamma: f64,
    /// Append the constant input 1 (the hidden layer's bias).
    #[serde(default = "yes")]
    pub bias: bool,
    #[serde(default)]
    pub symmetric: bool,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSpec {
    pub lr: f64,
    /// "mean_mse" (public code: torch MSELoss, mean) or "half_square" (papers;
    /// also "square"); a spec's other losses are rejected when it is read.
    pub loss: SquareLoss,
    pub steps: usize,
    #[serde(default = "default_dense")]
    pub dense_until: usize,
    /// Ratio between consecutive recorded steps after `dense_until`.
    #[serde(default = "default_ratio")]
    pub ratio: f64,
}

fn default_dense() -> usize {
    50
}
fn default_ratio() -> f64 {
    1.03
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeSpec {
    /// Neurons (the first ones, a uniform sample since init is i.i.d.) whose
    /// directions are saved for the figures, at most model.m.
    pub snapshot_neurons: usize,
    /// Steps at which those neurons are saved, each at most train.steps (0,
    /// the alignment step and the last step are always added).
    pub snapshot_steps: Vec<usize>,
    /// The step that ends the alignment phase for the claims (the paper's
    /// reading); when absent, tau_eps with eps = `alignment_eps`.
    pub alignment_step: Option<usize>,
    pub alignment_eps: f64,
    /// Theorem 1's growth bound is checked for t <= tau_eps, eps = this.
    pub bound_eps: f64,
    /// The plateau ends when the loss first falls below (1 - this) L(0).
    pub plateau_drop: f64,
    /// Neurons whose directions (same sign of a_j) have cosine >= this share a cluster.
    pub cluster_cos: f64,
    /// A cluster counts when it holds at least this share of sum_j a_j^2 + ||w_j||^2.
    pub cluster_mass: f64,
    /// Angles scanned on the circle for the extremal vectors.
    pub scan_resolution: usize,
    /// Points of the grid the final function is drawn on.
    pub fit_grid: usize,
}

impl Default for ProbeSpec {
    fn default() -> Self {
        ProbeSpec {
            snapshot_neurons: 1500,
            snapshot_steps: Vec::new(),
            alignment_step: None,
            alignment_eps: 0.6,
            bound_eps: 0.5,
            plateau_drop: 0.01,
            cluster_cos: 0.99,
            cluster_mass: 0.01,
            scan_resolution: 7200,
            fit_grid: 201,
        }
    }
}

/// Groups of claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimKind {
    /// The run ends at the OLS fit of (x, 1) -> y and does not interpolate (App. B.1).
    OlsFit,
    /// At the end of alignment: loss flat, neurons on the extremal vectors, clusters.
    Alignment,
    /// The plateau lasts past tau_1/4 and ends near tau_1 = -ln(lambda)/D_max.
    Plateau,
    /// The final fit has fewer effective neurons than the target has kinks (App. B.2).
    SparseFit,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperNumbers {
    pub final_loss: Option<f64>,
    #[serde(default)]
    pub predictions: Vec<f64>,
    pub alignment_loss: Option<f64>,
    pub alignment_cosine: Option<f64>,
    pub effective_neurons: Option<usize>,
}

/// Beyond the paper: the same data from a range of init scales.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaSweep {
    pub lambdas: Vec<f64>,
    pub m: usize,
    pub steps: usize,
    /// Scales up to this one are "small": they must end at the spurious
    /// (OLS) fit, and their plateau times give the escape slope.
    pub small_max: f64,
}

pub fn validate(spec: &LoadedSpec) -> Result<String> {
    let s: EarlySpec = spec.study_section()?;
    let bad = |k: &str, m: &str| Err(spec.bad_value(k, m));
    match &s.data {
        DataSpec::Points { x, y } => {
            if x.is_empty() || x.len() != y.len() {
                return bad(
                    "data.y",
                    "needs one target per input in data.x (and at least one)",
                );
            }
        }
        DataSpec::Interpolated {
            n,
            knots_x,
            knots_y,
        } => {
            if *n == 0 {
                return bad("data.n", "must be >= 1");
            }
            if knots_x.len() < 2 || knots_x.len() != knots_y.len() {
                return bad(
                    "data.knots_y",
                    "needs >= 2 knots, one value per knot in data.knots_x",
                );
            }
            if knots_x.windows(2).any(|w| w[0] >= w[1]) {
                return bad("data.knots_x", "must be strictly increasing");
            }
        }
    }
    let dim = 1 + usize::from(s.model.bias);
    if !(2..=3).contains(&dim) {
        return bad(
            "model.bias",
            "the early-alignment study scans the circle: keep bias = true (input (x, 1))",
        );
    }
    if s.model.m == 0 {
        return bad("model.m", "must be >= 1");
    }
    if s.model.symmetric && s.model.m % 2 == 1 {
        return bad("model.symmetric", "needs an even m");
    }
    if !positive(s.model.lambda) {
        return bad("model.lambda", "must be a positive number");
    }
    if !(0.0..=1.0).contains(&s.model.gamma) {
        return bad("model.gamma", "must lie in [0, 1]");
    }
    if !positive(s.train.lr) {
        return bad("train.lr", "must be a positive number");
    }
    if s.train.steps == 0 {
        return bad("train.steps", "must be >= 1");
    }
    if s.train.ratio.is_nan() || s.train.ratio <= 1.0 {
        return bad("train.ratio", "must be > 1");
    }
    let t = &s.train;
    super::toolkit::check_logged_steps(spec, "train", t.steps, t.dense_until, t.ratio)?;
    if let Some(sw) = &s.lambda_sweep {
        super::toolkit::check_logged_steps(spec, "train", sw.steps, t.dense_until, t.ratio)?;
    }
    let p = &s.probes;
    if !open_unit(p.plateau_drop) {
        return bad("probes.plateau_drop", "must lie in (0, 1)");
    }
    if !(open_unit(p.cluster_cos) && open_unit(p.cluster_mass)) {
        return bad("probes", "cluster_cos and cluster_mass must lie in (0, 1)");
    }
    s.tolerances.validate(spec)?;
    if p.alignment_step.is_some_and(|t| t > s.train.steps) {
        return bad("probes.alignment_step", "is past train.steps");
    }
    // Both used to be cut to what the run has without a word.
    if let Some(t) = p.snapshot_steps.iter().find(|&&t| t > s.train.steps) {
        return bad(
            "probes.snapshot_steps",
            &format!("holds step {t}, past train.steps = {}", s.train.steps),
        );
    }
    if p.snapshot_neurons > s.model.m {
        return bad(
            "probes.snapshot_neurons",
            &format!(
                "is {}, more than model.m = {}",
                p.snapshot_neurons, s.model.m
            ),
        );
    }
    if s.claims.is_empty() {
        return bad(
            "claims",
            "name at least one of \"ols_fit\", \"alignment\", \"plateau\", \"sparse_fit\"",
        );
    }
    if s.claims.contains(&ClaimKind::SparseFit) && !matches!(s.data, DataSpec::Interpolated { .. })
    {
        return bad(
            "claims",
            "\"sparse_fit\" needs data.kind = \"interpolated\" (the target's kinks)",
        );
    }
    // The claim predicts fewer clusters than the target has kinks; with
    // none its bound was 0 - 1 in usize, which wraps to 2^64 - 1 in a
    // release build, so any count held (review finding, 2026-12-07).
    if let DataSpec::Interpolated {
        knots_x, knots_y, ..
    } = &s.data
    {
        if s.claims.contains(&ClaimKind::SparseFit) && kinks(knots_x, knots_y) == 0 {
            return bad(
                "data.knots_y",
                "\"sparse_fit\" needs a target with a kink (a change of slope at an interior knot); these knots lie on one line",
            );
        }
    }
    if let Some(sw) = &s.lambda_sweep {
        if sw.lambdas.len() < 2 || sw.lambdas.iter().any(|l| !positive(*l)) {
            return bad("lambda_sweep.lambdas", "needs >= 2 positive scales");
        }
        if sw.lambdas.windows(2).any(|w| w[0] >= w[1]) {
            return bad("lambda_sweep.lambdas", "must be increasing");
        }
        if sw.m == 0 || sw.steps == 0 {
            return bad("lambda_sweep", "m and steps must be >= 1");
        }
        if sw.lambdas.iter().filter(|&&l| l <= sw.small_max).count() < 2 {
            return bad(
                "lambda_sweep.small_max",
                "needs >= 2 scales at or below it (for the escape slope)",
            );
        }
    }
    Ok(spec.resolved_toml(&s))
}

// ---------------------------------------------------------------- data

/// The training set: inputs (x, 1) (or x), targets y.
pub fn training_points(spec: &EarlySpec, seed: u64) -> Result<Points> {
    let (xs, ys): (Vec<f64>, Vec<f64>) = match &spec.data {
        DataSpec::Points { x, y } => (x.clone(), y.clone()),
        DataSpec::Interpolated {
            n,
            knots_x,
            knots_y,
        } => {
            use rand::RngExt;
            let mut rng = crate::rng::stream(seed, 0, "data");
            let xs: Vec<f64> = (0..*n).map(|_| rng.random_range(-1.0..1.0)).collect();
            let ys = xs
                .iter()
                .map(|&x| interpolate(knots_x, knots_y, x))
                .collect();
            (xs, ys)
        }
    };
    let d = 1 + usize::from(spec.model.bias);
    let x: Vec<f64> = xs
        .iter()
        .flat_map(|&v| {
            if spec.model.bias {
                vec![v, 1.0]
            } else {
                vec![v]
            }
        })
        .collect();
    debug_assert_eq!(x.len(), d * ys.len());
    Points::new(d, x, ys)
}

/// numpy.interp: piecewise-linear through the knots, constant beyond the ends.
pub fn interpolate(kx: &[f64], ky: &[f64], x: f64) -> f64 {
    if x <= kx[0] {
        return ky[0];
    }
    for i in 1..kx.len() {
        if x <= kx[i] {
            let t = (x - kx[i - 1]) / (kx[i] - kx[i - 1]);
            return ky[i - 1] + t * (ky[i] - ky[i - 1]);
        }
    }
    ky[ky.len() - 1]
}

/// Interior knots where the slope changes.
fn kinks(kx: &[f64], ky: &[f64]) -> usize {
    let slopes: Vec<f64> = (1..kx.len())
        .map(|i| (ky[i] - ky[i - 1]) / (kx[i] - kx[i - 1]))
        .collect();
    slopes
        .windows(2)
        .filter(|w| (w[0] - w[1]).abs() > 1e-12)
        .count()
}

// ---------------------------------------------------------------- measurements

/// Steps (interpolated between records) at which the loss first falls to `level`.
fn first_below(series: &[(u64, f64)], level: f64) -> Option<f64> {
    for w in series.windows(2) {
        let ((s0, l0), (s1, l1)) = (w[0], w[1]);
        if l1 <= level {
            if l0 <= level {
                return Some(s0 as f64);
            }
            let f = (l0 - level) / (l0 - l1);
            return Some(s0 as f64 + f * (s1 - s0) as f64);
        }
    }
    series
        .first()
        .filter(|(_, l)| *l <= level)
        .map(|(s, _)| *s as f64)
}

/// The loss curve's phases: plateau end (loss <= (1 - drop) L(0)), half-way
/// (loss <= (L(0) + L_end)/2) and growth end (loss <= L_end + 1% of the drop).
#[derive(Clone, Copy, Debug)]
pub struct Phases {
    pub plateau_end: f64,
    pub half: f64,
    pub growth_end: f64,
}

pub fn phases(series: &[(u64, f64)], drop: f64) -> Phases {
    let (l0, lend) = (series[0].1, series[series.len() - 1].1);
    let get = |lvl: f64| first_below(series, lvl).unwrap_or(f64::NAN);
    Phases {
        plateau_end: get((1.0 - drop) * l0),
        half: get(0.5 * (l0 + lend)),
        growth_end: get(lend + 0.01 * (l0 - lend)),
    }
}

/// The run id of the main run in metrics.csv.
const MAIN: &str = "main";

/// The run id of the i-th run of the lambda sweep in metrics.csv.
fn lambda_run(i: usize) -> String {
    format!("lambda:{i}")
}

/// The recorded (step, value) of one run's (split, metric), in step order.
fn series(metrics: &Metrics, run: &str, split: &str, metric: &str) -> Vec<(u64, f64)> {
    metrics
        .rows
        .iter()
        .filter(|r| r.run == run && r.split == split && r.metric == metric)
        .map(|r| (r.step, r.value))
        .collect()
}

/// The value a series recorded at `step` (NaN when it recorded none there).
fn at(series: &[(u64, f64)], step: usize) -> f64 {
    series
        .iter()
        .find(|(s, _)| *s == step as u64)
        .map(|(_, v)| *v)
        .unwrap_or(f64::NAN)
}

/// A phase step of a run (split "phase", recorded at step 0; NaN when absent).
fn phase(metrics: &Metrics, run: &str, name: &str) -> f64 {
    at(&series(metrics, run, "phase", name), 0)
}

// ---------------------------------------------------------------- one run

/// Neurons saved at one step for the figures.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Snapshot {
    step: u64,
    a: Vec<f64>,
    /// Row-major, snapshot_neurons x d.
    w: Vec<f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct RunRecord {
    metrics: Metrics,
    final_outputs: Vec<f64>,
    snapshots: Vec<Snapshot>,
    /// The final function on the plotting grid (main run only).
    fit: Vec<(f64, f64)>,
}

struct RunPlan<'a> {
    label: String,
    stream: u64,
    lambda: f64,
    m: usize,
    steps: usize,
    /// Full probes and snapshots (the main run) or the loss only (sweep runs).
    full: bool,
    snapshot_steps: &'a [usize],
    extra_steps: &'a [usize],
}

fn train_run(
    spec: &EarlySpec,
    data: &Points,
    scan: &SphereScan,
    seed: u64,
    plan: &RunPlan<'_>,
) -> Result<RunRecord> {
    let d = data.d;
    let mut rng = crate::rng::stream(seed, plan.stream, "init");
    let init = WideInit {
        scheme: spec.model.init,
        lambda: plan.lambda,
        symmetric: spec.model.symmetric,
    };
    let (a0, w0) = init_params(plan.m, d, &init, &mut rng);
    let eligible = theorem_covers(&a0, &w0, d);
    let cfg = WideConfig {
        gamma: spec.model.gamma,
        lr: spec.train.lr,
        loss: spec.train.loss,
    };
    let mut gd = WideGd::new(cfg, WideNet::from_arrays(&a0, &w0, d)?, data.clone())?;
    let mut extra: Vec<usize> = plan.snapshot_steps.to_vec();
    extra.extend_from_slice(plan.extra_steps);
    let schedule = log_schedule(plan.steps, spec.train.dense_until, spec.train.ratio, &extra);
    let (pos, neg) = (
        scan.directions(Attracts::Positive),
        scan.directions(Attracts::Negative),
    );
    let opts = ProbeOptions {
        gamma: spec.model.gamma,
        cluster_cos: spec.probes.cluster_cos,
        cluster_mass: spec.probes.cluster_mass,
    };
    let keep = spec.probes.snapshot_neurons.min(plan.m);
    let mut rec = RunRecord {
        metrics: Metrics::default(),
        final_outputs: Vec::new(),
        snapshots: Vec::new(),
        fit: Vec::new(),
    };
    let run = plan.label.as_str();
    for &s in &schedule {
        gd.run(s - gd.step_count()).map_err(|e| match e {
            Error::Numerical(msg) => Error::Numerical(format!("run {run}: {msg}")),
            other => other,
        })?;
        let t = s as u64;
        let m = &mut rec.metrics;
        m.push(run, t, "train", "loss", gd.loss());
        m.push(run, t, "train", "mse", gd.mse());
        if plan.full {
            let p = probe_neurons(gd.net(), &a0, &eligible, data, &pos, &neg, &opts);
            m.push(run, t, "align", "median_cos_pos", p.median_cos_pos);
            m.push(run, t, "align", "median_cos_neg", p.median_cos_neg);
            m.push(run, t, "align", "aligned_pos", p.aligned_pos);
            m.push(run, t, "align", "active_pos", p.active_pos as f64);
            m.push(run, t, "align", "active_neg", p.active_neg as f64);
            m.push(run, t, "align", "clusters", p.clusters as f64);
            m.push(run, t, "align", "mass_pos", p.mass_pos);
            m.push(run, t, "align", "mass_neg", p.mass_neg);
            m.push(run, t, "align", "max_growth", p.max_growth);
            if plan.snapshot_steps.contains(&s) {
                let mut w = vec![0.0; keep * d];
                let a = (0..keep)
                    .map(|j| gd.net().neuron(j, &mut w[j * d..(j + 1) * d]))
                    .collect();
                rec.snapshots.push(Snapshot { step: t, a, w });
            }
        }
    }
    rec.final_outputs = gd.outputs().to_vec();
    for (k, f) in rec.final_outputs.iter().enumerate() {
        rec.metrics
            .push(run, plan.steps as u64, "final", &format!("output_{k}"), *f);
    }
    let loss_series = series(&rec.metrics, run, "train", "loss");
    let ph = phases(&loss_series, spec.probes.plateau_drop);
    for (name, v) in [
        ("plateau_end_step", ph.plateau_end),
        ("half_step", ph.half),
        ("growth_end_step", ph.growth_end),
    ] {
        rec.metrics.push(run, 0, "phase", name, v);
    }
    if plan.full && spec.model.bias {
        let g = spec.probes.fit_grid.max(2);
        let (lo, hi) = data
            .x
            .chunks(d)
            .map(|r| r[0])
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            });
        let pad = 0.1 * (hi - lo).max(1e-9);
        let xs: Vec<f64> = (0..g)
            .map(|i| lo - pad + (hi - lo + 2.0 * pad) * i as f64 / (g - 1) as f64)
            .collect();
        let grid: Vec<f64> = xs.iter().flat_map(|&x| [x, 1.0]).collect();
        let f = gd.predict(&grid);
        rec.fit = xs.into_iter().zip(f).collect();
    }
    Ok(rec)
}

// ---------------------------------------------------------------- the study

/// The step the alignment claims read.
fn alignment_step(spec: &EarlySpec, d_max: f64) -> usize {
    spec.probes
        .alignment_step
        .unwrap_or_else(|| {
            let tau = alignment_time(spec.probes.alignment_eps, spec.model.lambda, d_max);
            (tau / flow_time_per_step(spec.train.lr, spec.train.loss)).round() as usize
        })
        .min(spec.train.steps)
}

/// The experiment, prepared: the data, the sphere scan and the OLS fit
/// every run shares; sweep 0 is the main run (full probes and snapshots),
/// sweep 1 the lambda sweep (loss only), if the spec has one.
struct Run {
    spec: EarlySpec,
    seed: u64,
    data: Points,
    scan: SphereScan,
    fit: OlsFit,
    t_align: usize,
    snap: Vec<usize>,
}

pub fn plan(loaded: &LoadedSpec, _: &RunContext) -> Result<Box<dyn Plan>> {
    let spec: EarlySpec = loaded.study_section()?;
    let seed = loaded.header.seed;
    let data = training_points(&spec, seed)?;
    let scan = scan_sphere(&data, spec.model.gamma, spec.probes.scan_resolution)?;
    let fit = ols(&data)?;
    let t_align = alignment_step(&spec, scan.d_max);
    let mut snap: Vec<usize> = spec.probes.snapshot_steps.clone();
    snap.extend([0, t_align, spec.train.steps]);
    snap.retain(|&s| s <= spec.train.steps);
    snap.sort_unstable();
    snap.dedup();
    Ok(Box::new(Run {
        spec,
        seed,
        data,
        scan,
        fit,
        t_align,
        snap,
    }))
}

impl Plan for Run {
    /// Costs: steps x width x n.
    fn sweeps(&self) -> Vec<Sweep> {
        let n = self.data.len();
        let (train, model) = (&self.spec.train, &self.spec.model);
        let mut sweeps = vec![Sweep::new("main", vec![(train.steps * model.m * n) as f64])];
        if let Some(sw) = &self.spec.lambda_sweep {
            let cost = (sw.steps * sw.m * n) as f64;
            sweeps.push(Sweep::new("lambda_sweep", vec![cost; sw.lambdas.len()]));
        }
        sweeps
    }

    fn run_unit(&self, sweep: usize, i: usize) -> Result<UnitResult> {
        let spec = &self.spec;
        let plan = match (sweep, &spec.lambda_sweep) {
            (0, _) => RunPlan {
                label: MAIN.into(),
                stream: 0,
                lambda: spec.model.lambda,
                m: spec.model.m,
                steps: spec.train.steps,
                full: true,
                snapshot_steps: &self.snap,
                extra_steps: &[self.t_align],
            },
            (_, Some(sw)) => RunPlan {
                label: lambda_run(i),
                stream: 1 + i as u64,
                lambda: sw.lambdas[i],
                m: sw.m,
                steps: sw.steps,
                full: false,
                snapshot_steps: &[],
                extra_steps: &[],
            },
            (_, None) => unreachable!("no lambda sweep without [lambda_sweep]"),
        };
        UnitResult::of(train_run(spec, &self.data, &self.scan, self.seed, &plan))
    }

    fn findings(self: Box<Self>, mut results: Results) -> Result<Findings> {
        let Run {
            spec,
            data,
            scan,
            fit,
            t_align,
            ..
        } = *self;
        let main: RunRecord = results.take(0)?.remove(0);
        let sweep_recs: Vec<RunRecord> = match &spec.lambda_sweep {
            Some(_) => results.take(1)?,
            None => Vec::new(),
        };
        let inputs = claims::ClaimInputs {
            spec: &spec,
            data: &data,
            scan: &scan,
            fit: &fit,
            t_align,
        };
        let claims = claims::judge(&inputs, &main, &sweep_recs);

        let flow = flow_time_per_step(spec.train.lr, spec.train.loss);
        let details = serde_json::json!({
            "n": data.len(), "d_with_bias": data.d,
            "loss_convention": spec.train.loss,
            "flow_time_per_step": flow,
            "d_max": scan.d_max,
            "extremal_vectors": scan.extremal,
            "d_star_direction_cosine": d_star_cosine(&data, &scan),
            "ols": fit,
            "alignment_step": t_align,
            "tau_quarter_steps": alignment_time(0.25, spec.model.lambda, scan.d_max) / flow,
            "tau_one_steps": alignment_time(1.0, spec.model.lambda, scan.d_max) / flow,
            "lambda_sweep": spec.lambda_sweep.as_ref().map(|sw| claims::sweep_details(sw, &sweep_recs, &fit)),
            "note": "one run per configuration (--seeds is ignored); lambda_sweep runs draw their init from streams 1.., the main run from stream 0",
        });

        let mut metrics = main.metrics.clone();
        for r in &sweep_recs {
            metrics.extend(r.metrics.clone());
        }
        if let Some(sw) = &spec.lambda_sweep {
            for (i, l) in sw.lambdas.iter().enumerate() {
                metrics.push(&lambda_run(i), 0, "config", "lambda", *l);
            }
        }
        Ok(Findings {
            metrics,
            claims,
            details,
            extra_files: vec![
                ("neurons.csv".into(), csv::neurons_csv(&main)),
                ("theory.csv".into(), csv::theory_csv(&data, &scan, &fit)),
                ("fit.csv".into(), csv::fit_csv(&main)),
            ],
        })
    }
}

/// cos(scanned positive extremal vector, D* = 1/n sum_k y_k x_k), the paper's
/// reading of the 3-point direction (every point active).
fn d_star_cosine(data: &Points, scan: &SphereScan) -> Option<f64> {
    let n = data.len() as f64;
    let mut ds = vec![0.0; data.d];
    for k in 0..data.len() {
        for (c, v) in ds.iter_mut().enumerate() {
            *v += data.y[k] * data.row(k)[c] / n;
        }
    }
    scan.directions(Attracts::Positive)
        .iter()
        .map(|e| cosine(e, &ds))
        .reduce(f64::max)
}

/// The study `study = "early_alignment"`.
pub const STUDY: StudyFns = StudyFns {
    name: "early_alignment",
    run_keys: &[],
    validate,
    plan,
    figures: plot,
    peak_memory: super::memory::early_alignment,
    rejudge: None,
};
