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

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::toolkit::log_schedule;
use super::{Findings, StudyFns};
use crate::error::{Error, Result};
use crate::nets::wide::{
    init_params, InitScheme, LossConvention, Points, WideConfig, WideGd, WideInit, WideNet,
};
use crate::plot::{self, HLine, HistPanel, LinePanel, Series};
use crate::record::{
    csv_number, fmt_num, quantile, read_csv_records, Claim, Measured, Metrics, Prediction, RunDir,
    Summary,
};
use crate::runner::{sweep, RunContext};
use crate::spec::LoadedSpec;
use crate::theory::early_alignment::{
    alignment_time, cosine, flow_time_per_step, growth_bound, ols, scan_sphere,
    two_neuron_interpolator, Attracts, OlsFit, SphereScan,
};

const SRC: &str = "Boursier & Flammarion, JMLR 26 (2025)";

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
    /// "mean_mse" (public code: torch MSELoss, mean) or "half_square" (papers).
    pub loss: LossConvention,
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
    /// directions are saved for the figures.
    pub snapshot_neurons: usize,
    /// Steps at which those neurons are saved (0, the alignment step and the
    /// last step are always added).
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
    if !(s.model.lambda > 0.0 && s.model.lambda.is_finite()) {
        return bad("model.lambda", "must be a positive number");
    }
    if !(0.0..=1.0).contains(&s.model.gamma) {
        return bad("model.gamma", "must lie in [0, 1]");
    }
    if !(s.train.lr > 0.0 && s.train.lr.is_finite()) {
        return bad("train.lr", "must be a positive number");
    }
    if s.train.steps == 0 {
        return bad("train.steps", "must be >= 1");
    }
    if s.train.ratio.is_nan() || s.train.ratio <= 1.0 {
        return bad("train.ratio", "must be > 1");
    }
    let p = &s.probes;
    let open_unit = |x: f64| x > 0.0 && x < 1.0;
    if !open_unit(p.plateau_drop) {
        return bad("probes.plateau_drop", "must lie in (0, 1)");
    }
    if !(open_unit(p.cluster_cos) && open_unit(p.cluster_mass)) {
        return bad("probes", "cluster_cos and cluster_mass must lie in (0, 1)");
    }
    if p.alignment_step.is_some_and(|t| t > s.train.steps) {
        return bad("probes.alignment_step", "is past train.steps");
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
    if let Some(sw) = &s.lambda_sweep {
        if sw.lambdas.len() < 2 || sw.lambdas.iter().any(|l| !(*l > 0.0 && l.is_finite())) {
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

// ---------------------------------------------------------------- instruments

/// What the instruments read off the neurons at one step.
#[derive(Clone, Debug, Default)]
pub struct NeuronProbe {
    /// Median over active neurons with a_j > 0 of the cosine to the nearest
    /// attracting direction for a_j > 0 (NaN when there is none).
    pub median_cos_pos: f64,
    pub median_cos_neg: f64,
    /// Share of active positive neurons with cosine >= 0.999.
    pub aligned_pos: f64,
    pub active_pos: usize,
    pub active_neg: usize,
    /// Direction clusters holding >= cluster_mass of the total mass.
    pub clusters: usize,
    /// sum_j a_j^2 over a_j > 0 and over a_j < 0.
    pub mass_pos: f64,
    pub mass_neg: f64,
    /// max_j |a_j(t)| / |a_j(0)| over the neurons Theorem 1 covers
    /// (|a_j(0)| >= ||w_j(0)||; NaN when there is none).
    pub max_growth: f64,
}

/// Options of `probe_neurons`.
#[derive(Clone, Copy, Debug)]
pub struct ProbeOptions {
    pub gamma: f64,
    pub cluster_cos: f64,
    pub cluster_mass: f64,
}

/// The heaviest neurons considered when counting clusters (cost O(K clusters)).
const CLUSTER_NEURONS: usize = 4000;

/// Read the instruments off the network. `targets_pos` / `targets_neg` are
/// unit directions attracting neurons with a_j > 0 / a_j < 0; a neuron is
/// active when some training point has <w_j, x_k> > 0; `eligible` marks the
/// neurons whose growth is tracked. Cost O(m (n + T) d).
pub fn probe_neurons(
    net: &WideNet,
    a0: &[f64],
    eligible: &[bool],
    data: &Points,
    targets_pos: &[Vec<f64>],
    targets_neg: &[Vec<f64>],
    opts: &ProbeOptions,
) -> NeuronProbe {
    let d = net.dim();
    let mut w = vec![0.0; d];
    let (mut cos_pos, mut cos_neg) = (Vec::new(), Vec::new());
    let mut p = NeuronProbe::default();
    if !eligible.iter().any(|&e| e) {
        p.max_growth = f64::NAN;
    }
    let mut heavy: Vec<(f64, usize)> = Vec::with_capacity(net.width());
    for j in 0..net.width() {
        let a = net.neuron(j, &mut w);
        let w2: f64 = w.iter().map(|v| v * v).sum();
        if a > 0.0 {
            p.mass_pos += a * a;
        } else {
            p.mass_neg += a * a;
        }
        if eligible[j] && a0[j] != 0.0 {
            p.max_growth = p.max_growth.max(a.abs() / a0[j].abs());
        }
        heavy.push((a * a + w2, j));
        let active = (0..data.len())
            .any(|k| data.row(k).iter().zip(&w).map(|(x, v)| x * v).sum::<f64>() > 0.0);
        if !active || a == 0.0 {
            continue;
        }
        let (targets, out) = if a > 0.0 {
            p.active_pos += 1;
            (targets_pos, &mut cos_pos)
        } else {
            p.active_neg += 1;
            (targets_neg, &mut cos_neg)
        };
        if !targets.is_empty() {
            out.push(
                targets
                    .iter()
                    .map(|t| cosine(&w, t))
                    .fold(f64::NEG_INFINITY, f64::max),
            );
        }
    }
    p.median_cos_pos = quantile(&cos_pos, 0.5);
    p.median_cos_neg = quantile(&cos_neg, 0.5);
    p.aligned_pos = if cos_pos.is_empty() {
        f64::NAN
    } else {
        cos_pos.iter().filter(|&&c| c >= 0.999).count() as f64 / cos_pos.len() as f64
    };
    p.clusters = count_clusters(net, &mut heavy, opts);
    p
}

/// Neurons that satisfy Theorem 1's assumption |a_j(0)| >= ||w_j(0)|| (all of
/// them for balanced and dominated inits; up to rounding for balanced).
pub fn theorem_covers(a0: &[f64], w0: &[f64], d: usize) -> Vec<bool> {
    a0.iter()
        .zip(w0.chunks(d))
        .map(|(a, w)| a.abs() >= (1.0 - 1e-12) * w.iter().map(|v| v * v).sum::<f64>().sqrt())
        .collect()
}

/// Greedy clustering of the heaviest neurons by direction and sign of a_j;
/// returns the number of clusters holding >= cluster_mass of the total mass.
fn count_clusters(net: &WideNet, heavy: &mut [(f64, usize)], opts: &ProbeOptions) -> usize {
    let total: f64 = heavy.iter().map(|h| h.0).sum();
    if total <= 0.0 {
        return 0;
    }
    heavy.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
    let d = net.dim();
    let mut centres: Vec<(f64, Vec<f64>, f64)> = Vec::new(); // (sign, unit direction, mass)
    let mut w = vec![0.0; d];
    for &(mass, j) in heavy.iter().take(CLUSTER_NEURONS) {
        let a = net.neuron(j, &mut w);
        let sign = if a >= 0.0 { 1.0 } else { -1.0 };
        match centres
            .iter_mut()
            .find(|c| c.0 == sign && cosine(&c.1, &w) >= opts.cluster_cos)
        {
            Some(c) => c.2 += mass,
            None => {
                let nw = w.iter().map(|v| v * v).sum::<f64>().sqrt();
                let unit = if nw > 0.0 {
                    w.iter().map(|v| v / nw).collect()
                } else {
                    w.clone()
                };
                centres.push((sign, unit, mass));
            }
        }
    }
    centres
        .iter()
        .filter(|c| c.2 >= opts.cluster_mass * total)
        .count()
}

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
    let loss_series: Vec<(u64, f64)> = rec
        .metrics
        .rows
        .iter()
        .filter(|r| r.split == "train" && r.metric == "loss")
        .map(|r| (r.step, r.value))
        .collect();
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

pub fn run(loaded: &LoadedSpec, ctx: &RunContext) -> Result<Findings> {
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

    let main_plan = RunPlan {
        label: "main".into(),
        stream: 0,
        lambda: spec.model.lambda,
        m: spec.model.m,
        steps: spec.train.steps,
        full: true,
        snapshot_steps: &snap,
        extra_steps: &[t_align],
    };
    let main = sweep(ctx, "main", 1, |_| {
        train_run(&spec, &data, &scan, seed, &main_plan)
    })?
    .remove(0);
    let sweep_recs = match &spec.lambda_sweep {
        Some(sw) => sweep(ctx, "lambda_sweep", sw.lambdas.len(), |i| {
            let plan = RunPlan {
                label: format!("lambda:{i}"),
                stream: 1 + i as u64,
                lambda: sw.lambdas[i],
                m: sw.m,
                steps: sw.steps,
                full: false,
                snapshot_steps: &[],
                extra_steps: &[],
            };
            train_run(&spec, &data, &scan, seed, &plan)
        })?,
        None => Vec::new(),
    };

    let mut claims = Vec::new();
    let ctx_claims = ClaimInputs {
        spec: &spec,
        data: &data,
        scan: &scan,
        fit: &fit,
        t_align,
    };
    for kind in &spec.claims {
        claims.extend(match kind {
            ClaimKind::OlsFit => ols_claims(&ctx_claims, &main),
            ClaimKind::Alignment => alignment_claims(&ctx_claims, &main),
            ClaimKind::Plateau => plateau_claims(&ctx_claims, &main),
            ClaimKind::SparseFit => sparse_claims(&ctx_claims, &main),
        });
    }
    if let Some(sw) = &spec.lambda_sweep {
        claims.extend(sweep_claims(&ctx_claims, sw, &sweep_recs));
    }

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
        "lambda_sweep": spec.lambda_sweep.as_ref().map(|sw| sweep_details(sw, &sweep_recs, &fit)),
        "note": "one run per configuration (--seeds is ignored); lambda_sweep runs draw their init from streams 1.., the main run from stream 0",
    });

    let mut metrics = main.metrics.clone();
    for r in &sweep_recs {
        metrics.extend(r.metrics.clone());
    }
    if let Some(sw) = &spec.lambda_sweep {
        for (i, l) in sw.lambdas.iter().enumerate() {
            metrics.push(&format!("lambda:{i}"), 0, "config", "lambda", *l);
        }
    }
    Ok(Findings {
        metrics,
        claims,
        details,
        extra_files: vec![
            ("neurons.csv".into(), neurons_csv(&main, data.d)),
            ("theory.csv".into(), theory_csv(&data, &scan, &fit)),
            ("fit.csv".into(), fit_csv(&main)),
        ],
    })
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

fn neurons_csv(rec: &RunRecord, d: usize) -> String {
    let mut s = String::from("step,neuron,a");
    for c in 0..d {
        s.push_str(&format!(",w{c}"));
    }
    s.push('\n');
    for snap in &rec.snapshots {
        for (j, a) in snap.a.iter().enumerate() {
            s.push_str(&format!("{},{j},{a:e}", snap.step));
            for c in 0..d {
                s.push_str(&format!(",{:e}", snap.w[j * d + c]));
            }
            s.push('\n');
        }
    }
    s
}

/// The data, the OLS predictions and the extremal vectors, for the figures.
fn theory_csv(data: &Points, scan: &SphereScan, fit: &OlsFit) -> String {
    let mut s = String::from("kind,index,u,v,w\n");
    for k in 0..data.len() {
        s.push_str(&format!(
            "point,{k},{},{},{}\n",
            data.row(k)[0],
            data.y[k],
            fit.predictions[k]
        ));
    }
    for (i, e) in scan.extremal.iter().enumerate() {
        let kind = match e.attracts {
            Attracts::Positive => "extremal_pos",
            Attracts::Negative => "extremal_neg",
        };
        let v = e.direction.get(1).copied().unwrap_or(0.0);
        s.push_str(&format!("{kind},{i},{},{v},{}\n", e.direction[0], e.g));
    }
    s.push_str(&format!(
        "ols_beta,0,{},{},{}\n",
        fit.beta[0],
        fit.beta.get(1).copied().unwrap_or(0.0),
        fit.mse
    ));
    s
}

fn fit_csv(rec: &RunRecord) -> String {
    let mut s = String::from("x,f\n");
    for (x, f) in &rec.fit {
        s.push_str(&format!("{x},{f}\n"));
    }
    s
}

// ---------------------------------------------------------------- claims

struct ClaimInputs<'a> {
    spec: &'a EarlySpec,
    data: &'a Points,
    scan: &'a SphereScan,
    fit: &'a OlsFit,
    t_align: usize,
}

fn series(metrics: &Metrics, run: &str, split: &str, metric: &str) -> Vec<(u64, f64)> {
    metrics
        .rows
        .iter()
        .filter(|r| r.run == run && r.split == split && r.metric == metric)
        .map(|r| (r.step, r.value))
        .collect()
}

fn at(series: &[(u64, f64)], step: usize) -> f64 {
    series
        .iter()
        .find(|(s, _)| *s == step as u64)
        .map(|(_, v)| *v)
        .unwrap_or(f64::NAN)
}

fn phase(metrics: &Metrics, run: &str, name: &str) -> f64 {
    at(&series(metrics, run, "phase", name), 0)
}

fn ols_claims(c: &ClaimInputs<'_>, main: &RunRecord) -> Vec<Claim> {
    let mse = series(&main.metrics, "main", "train", "mse");
    let final_mse = mse.last().map(|v| v.1).unwrap_or(f64::NAN);
    let paper = c
        .spec
        .paper
        .final_loss
        .map(|v| format!(" (paper: {v})"))
        .unwrap_or_default();
    let max_dev = main
        .final_outputs
        .iter()
        .zip(&c.fit.predictions)
        .map(|(f, p)| (f - p).abs())
        .fold(0.0f64, f64::max);
    let mut out = vec![
        Claim::new(
            "ols_fit.final_loss",
            format!(
                "the final mean-MSE training loss equals the OLS residual of (x, 1) -> y computed by least squares{paper}"
            ),
            format!("{SRC}, App. B.1 (spurious convergence to the OLS fit)"),
            Prediction::Near { value: c.fit.mse, tolerance: 1e-3 * c.fit.mse },
            Measured::single(final_mse),
        ),
        Claim::new(
            "ols_fit.predictions",
            format!(
                "max_k |h(x_k) - OLS prediction_k| at the end; OLS predictions {:?}{}",
                c.fit.predictions.iter().map(|v| fmt_num(*v)).collect::<Vec<_>>(),
                if c.spec.paper.predictions.is_empty() { String::new() } else { format!(" (paper: {:?})", c.spec.paper.predictions) }
            ),
            format!("{SRC}, App. B.1"),
            Prediction::AtMost { bound: 5e-3 },
            Measured::single(max_dev),
        ),
    ];
    if let DataSpec::Points { x, y } = &c.spec.data {
        if x.len() == 3 {
            if let Some(neurons) = two_neuron_interpolator([x[0], x[1], x[2]], [y[0], y[1], y[2]]) {
                let interp_mse = x
                    .iter()
                    .zip(y)
                    .map(|(&xv, &yv)| {
                        let f: f64 = neurons
                            .iter()
                            .map(|u| u.a * (u.w_x * xv + u.w_b).max(0.0))
                            .sum();
                        (f - yv) * (f - yv)
                    })
                    .sum::<f64>()
                    / 3.0;
                out.push(Claim::new(
                    "ols_fit.no_interpolation",
                    format!(
                        "the network does not interpolate although two ReLU neurons could: {} relu({} x + {}) + {} relu({} x + {}) has training MSE {} (final MSE / OLS residual)",
                        fmt_num(neurons[0].a), neurons[0].w_x, fmt_num(neurons[0].w_b),
                        fmt_num(neurons[1].a), neurons[1].w_x, fmt_num(neurons[1].w_b),
                        fmt_num(interp_mse)
                    ),
                    format!("{SRC}, App. B.1"),
                    Prediction::AtLeast { bound: 0.99 },
                    Measured::single(final_mse / c.fit.mse).with_note(format!("constructed 2-neuron interpolator MSE {interp_mse:e}")),
                ));
            }
        }
    }
    out
}

fn alignment_claims(c: &ClaimInputs<'_>, main: &RunRecord) -> Vec<Claim> {
    let m = &main.metrics;
    let loss = series(m, "main", "train", "loss");
    let l0 = loss.first().map(|v| v.1).unwrap_or(f64::NAN);
    let ta = c.t_align;
    let how = match c.spec.probes.alignment_step {
        Some(_) => "the paper's reading".to_string(),
        None => format!("tau_eps with eps = {}", c.spec.probes.alignment_eps),
    };
    let paper_l = c
        .spec
        .paper
        .alignment_loss
        .map(|v| format!(" (paper: {v})"))
        .unwrap_or_default();
    let paper_c = c
        .spec
        .paper
        .alignment_cosine
        .map(|v| format!(" (paper: {v})"))
        .unwrap_or_default();
    let npos = c.scan.count(Attracts::Positive);
    let nneg = c.scan.count(Attracts::Negative);
    let flow = flow_time_per_step(c.spec.train.lr, c.spec.train.loss);
    let t_bound = alignment_time(c.spec.probes.bound_eps, c.spec.model.lambda, c.scan.d_max) / flow;
    let growth = series(m, "main", "align", "max_growth");
    let worst = growth
        .iter()
        .filter(|(s, _)| (*s as f64) <= t_bound)
        .map(|(s, g)| g / growth_bound(*s as f64 * flow, c.scan.d_max))
        .fold(0.0f64, f64::max);
    let mut out = vec![
        Claim::new(
            "alignment.loss_flat",
            format!("at the end of alignment (step {ta}, {how}) the loss is within 1% of its start: L(t)/L(0){paper_l}"),
            format!("{SRC}, Theorem 1 (weights stay small up to tau_eps) and App. B.1"),
            Prediction::Interval { low: 0.99, high: 1.0 },
            Measured::single(at(&loss, ta) / l0),
        ),
        Claim::new(
            "alignment.median_cosine",
            format!("at step {ta}, the median cosine of active a_j > 0 neurons to the extremal vector found by scanning G on the circle{paper_c}"),
            format!("{SRC}, Theorem 1 (a_j > 0 neurons align to local maxima of G)"),
            Prediction::AtLeast { bound: 0.999 },
            Measured::single(at(&series(m, "main", "align", "median_cos_pos"), ta)),
        ),
        Claim::new(
            "alignment.clusters",
            format!(
                "at step {ta}, the number of direction clusters holding >= {}% of the mass equals the number of attracting directions from the scan ({npos} for a_j > 0, {nneg} for a_j < 0)",
                100.0 * c.spec.probes.cluster_mass
            ),
            format!("{SRC}, Theorem 1"),
            Prediction::Near { value: (npos + nneg) as f64, tolerance: 0.0 },
            Measured::single(at(&series(m, "main", "align", "clusters"), ta)),
        ),
        Claim::new(
            "alignment.growth_bound",
            format!(
                "for t <= tau_eps (eps = {}, step {}), max_j |a_j(t)|/|a_j(0)| over the neurons with |a_j(0)| >= ||w_j(0)|| (the theorem's assumption) stays under lambda^(-2 eps(t)) = exp(2 D_max t): worst ratio of the two",
                c.spec.probes.bound_eps,
                t_bound.round()
            ),
            format!("{SRC}, Theorem 1 (|a_j(t)| <= |a_j(0)| lambda^(-2 eps))"),
            Prediction::AtMost { bound: 1.0 },
            Measured::single(worst),
        ),
    ];
    if nneg == 0 {
        let mp = series(m, "main", "align", "mass_pos");
        let mn = series(m, "main", "align", "mass_neg");
        let (p, n) = (at(&mp, ta), at(&mn, ta));
        out.push(Claim::new(
            "alignment.negative_neurons_stay_small",
            format!("the scan finds no local minimum of G below 0, so during alignment neurons with a_j < 0 have nowhere to grow: their share of sum_j a_j^2 at step {ta}"),
            format!("{SRC}, Theorem 1 (a_j < 0 neurons go to local minima of G)"),
            Prediction::AtMost { bound: 0.01 },
            Measured::single(n / (p + n)),
        ));
    }
    let _ = c.data;
    out
}

fn plateau_claims(c: &ClaimInputs<'_>, main: &RunRecord) -> Vec<Claim> {
    let flow = flow_time_per_step(c.spec.train.lr, c.spec.train.loss);
    let lambda = c.spec.model.lambda;
    let tau_q = alignment_time(0.25, lambda, c.scan.d_max);
    let tau_1 = alignment_time(1.0, lambda, c.scan.d_max);
    let end = phase(&main.metrics, "main", "plateau_end_step") * flow;
    let half = phase(&main.metrics, "main", "half_step") * flow;
    vec![
        Claim::new(
            "plateau.lasts_past_tau_quarter",
            format!(
                "the loss stays within {}% of L(0) at least until tau_1/4 = -ln(lambda)/(4 D_max) = {} (flow time; step {}): with eps = 1/4 Theorem 1 keeps |h| <~ lambda, far below that drop. Measured: flow time of the plateau's end",
                100.0 * c.spec.probes.plateau_drop,
                fmt_num(tau_q),
                (tau_q / flow).round()
            ),
            format!("{SRC}, Theorem 1"),
            Prediction::AtLeast { bound: tau_q },
            Measured::single(end),
        ),
        Claim::new(
            "plateau.half_time_near_tau_one",
            format!(
                "the loss is half-way down at about tau_1 = -ln(lambda)/D_max = {} (flow time; step {}; eps = 1: aligned neurons grow like lambda e^(D_max t) and h becomes O(1) when they reach O(1/sqrt m)). Measured: flow time at half-way; tolerance 25%",
                fmt_num(tau_1),
                (tau_1 / flow).round()
            ),
            format!("{SRC}, Theorem 1 (tau = -eps ln(lambda)/D_max)"),
            Prediction::Near { value: tau_1, tolerance: 0.25 * tau_1 },
            Measured::single(half),
        ),
    ]
}

fn sparse_claims(c: &ClaimInputs<'_>, main: &RunRecord) -> Vec<Claim> {
    let DataSpec::Interpolated {
        knots_x, knots_y, ..
    } = &c.spec.data
    else {
        return Vec::new();
    };
    let k = kinks(knots_x, knots_y);
    let clusters = series(&main.metrics, "main", "align", "clusters");
    let last = clusters.last().map(|v| v.1).unwrap_or(f64::NAN);
    let paper = c
        .spec
        .paper
        .effective_neurons
        .map(|v| format!(" (paper: {v} on its own draw of the data)"))
        .unwrap_or_default();
    let mse = series(&main.metrics, "main", "train", "mse");
    let final_mse = mse.last().map(|v| v.1).unwrap_or(f64::NAN);
    vec![
        Claim::new(
            "sparse_fit.effective_neurons",
            format!("the final network is an effective fit with fewer neurons than the target has kinks ({k}): direction clusters holding >= {}% of the mass at the end{paper}", 100.0 * c.spec.probes.cluster_mass),
            format!("{SRC}, App. B.2 (simplicity bias of early alignment)"),
            Prediction::AtMost { bound: (k - 1) as f64 },
            Measured::single(last),
        ),
        Claim::new(
            "sparse_fit.no_interpolation",
            format!("the run does not interpolate its {} points: final training MSE over the OLS residual of the data ({})", c.data.len(), fmt_num(c.fit.mse)),
            format!("{SRC}, App. B.2"),
            Prediction::AtLeast { bound: 1e-3 },
            Measured::single(final_mse / c.fit.mse),
        ),
    ]
}

/// Least-squares slope of y on x.
fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let (mx, my) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
    let sxy: f64 = points.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = points.iter().map(|(x, _)| (x - mx) * (x - mx)).sum();
    sxy / sxx
}

fn sweep_rows(sw: &LambdaSweep, recs: &[RunRecord]) -> Vec<(f64, f64, f64)> {
    // (lambda, final mse, half step)
    sw.lambdas
        .iter()
        .zip(recs)
        .enumerate()
        .map(|(i, (&l, r))| {
            let run = format!("lambda:{i}");
            let mse = series(&r.metrics, &run, "train", "mse");
            (
                l,
                mse.last().map(|v| v.1).unwrap_or(f64::NAN),
                phase(&r.metrics, &run, "half_step"),
            )
        })
        .collect()
}

fn sweep_details(sw: &LambdaSweep, recs: &[RunRecord], fit: &OlsFit) -> serde_json::Value {
    let rows = sweep_rows(sw, recs);
    let first_interpolating = rows.iter().find(|r| r.1 < 0.5 * fit.mse).map(|r| r.0);
    serde_json::json!({
        "lambdas": sw.lambdas,
        "final_mse": rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        "half_step": rows.iter().map(|r| r.2).collect::<Vec<_>>(),
        "smallest_lambda_with_mse_below_half_ols": first_interpolating,
    })
}

fn sweep_claims(c: &ClaimInputs<'_>, sw: &LambdaSweep, recs: &[RunRecord]) -> Vec<Claim> {
    let rows = sweep_rows(sw, recs);
    let flow = flow_time_per_step(c.spec.train.lr, c.spec.train.loss);
    let small: Vec<&(f64, f64, f64)> = rows.iter().filter(|r| r.0 <= sw.small_max).collect();
    let spurious =
        small.iter().filter(|r| r.1 >= 0.99 * c.fit.mse).count() as f64 / small.len() as f64;
    let largest = rows.last().expect("validated: >= 2 scales");
    let pts: Vec<(f64, f64)> = small
        .iter()
        .map(|r| (-r.0.ln(), r.2 * flow))
        .filter(|p| p.1.is_finite())
        .collect();
    let measured_slope = if pts.len() >= 2 {
        slope(&pts)
    } else {
        f64::NAN
    };
    let predicted = 1.0 / c.scan.d_max;
    vec![
        Claim::new(
            "lambda_sweep.small_init_spurious",
            format!("every run with lambda <= {} ends at the spurious OLS fit (final MSE >= 0.99 x OLS residual): share of those runs", sw.small_max),
            format!("{SRC}, Sections 3-4 (early alignment is a two-edged sword)"),
            Prediction::AtLeast { bound: 1.0 },
            Measured { value: spurious, q20: None, q80: None, runs: small.len(), note: String::new() },
        ),
        Claim::new(
            "lambda_sweep.large_init_interpolates",
            format!("from the largest scale lambda = {} the network interpolates: final MSE / OLS residual", largest.0),
            format!("{SRC}, Sections 3-4 (without early alignment GD reaches a global minimum)"),
            Prediction::AtMost { bound: 0.01 },
            Measured::single(largest.1 / c.fit.mse),
        ),
        Claim::new(
            "lambda_sweep.escape_slope",
            format!("the half-way flow time grows like ln(1/lambda)/D_max over lambda <= {}: fitted slope vs 1/D_max = {} (tolerance 10%)", sw.small_max, fmt_num(predicted)),
            format!("{SRC}, Theorem 1 (tau = -eps ln(lambda)/D_max)"),
            Prediction::Near { value: predicted, tolerance: 0.1 * predicted },
            Measured { value: measured_slope, q20: None, q80: None, runs: pts.len(), note: String::new() },
        ),
    ]
}

// ---------------------------------------------------------------- figures

/// An extremal direction read back for the figures: (u, v, attracts a_j > 0).
type Direction = (f64, f64, bool);

/// A markers-only series: NaN between points keeps the plot from joining them.
pub fn scatter_series(label: &str, pts: &[(f64, f64)]) -> Series {
    let mut x = Vec::with_capacity(2 * pts.len());
    let mut y = Vec::with_capacity(2 * pts.len());
    for &(a, b) in pts {
        x.extend([a, f64::NAN]);
        y.extend([b, f64::NAN]);
    }
    Series {
        label: label.into(),
        x,
        y,
        band: None,
        dashed: false,
        markers: true,
    }
}

/// A vertical dashed marker line from y0 to y1.
fn vline(label: &str, x: f64, y0: f64, y1: f64) -> Series {
    Series {
        label: label.into(),
        x: vec![x, x],
        y: vec![y0, y1],
        band: None,
        dashed: true,
        markers: false,
    }
}

pub fn plot(loaded: &LoadedSpec, dir: &Path) -> Result<()> {
    let spec: EarlySpec = loaded.study_section()?;
    let rd = RunDir::new(dir);
    let metrics = Metrics::read(&rd.metrics())?;
    let fig_dir = rd.figures();
    std::fs::create_dir_all(&fig_dir).map_err(|e| Error::io(&fig_dir, e))?;
    let summary = Summary::read(dir)?;
    let det = &summary.details;
    let getf = |k: &str| det.get(k).and_then(|v| v.as_f64()).unwrap_or(f64::NAN);
    let ols_mse = det
        .get("ols")
        .and_then(|o| o.get("mse"))
        .and_then(|v| v.as_f64())
        .unwrap_or(f64::NAN);
    let t_align = getf("alignment_step");
    let d_max = getf("d_max");
    let flow = getf("flow_time_per_step");
    let conv_factor = spec.train.loss.factor();

    // Loss vs iteration with the phases marked.
    let loss = series(&metrics, "main", "train", "loss");
    let pts: Vec<(f64, f64)> = loss.iter().map(|(s, l)| (*s as f64 + 1.0, *l)).collect();
    let (lmin, lmax) = pts.iter().fold((f64::INFINITY, 0.0f64), |(a, b), p| {
        (a.min(p.1), b.max(p.1))
    });
    let (y0, y1) = (lmin * 0.8, lmax * 1.2);
    let mut series_l = vec![Series {
        label: format!(
            "training loss ({})",
            match spec.train.loss {
                LossConvention::MeanMse => "mean MSE",
                LossConvention::HalfSquare => "1/2 square",
            }
        ),
        x: pts.iter().map(|p| p.0).collect(),
        y: pts.iter().map(|p| p.1).collect(),
        ..Default::default()
    }];
    let marks = [
        ("end of alignment (claims)", t_align),
        ("tau_1/4 (theory)", getf("tau_quarter_steps")),
        ("tau_1 = -ln(lambda)/D_max (theory)", getf("tau_one_steps")),
        (
            "plateau end (measured)",
            phase(&metrics, "main", "plateau_end_step"),
        ),
        (
            "growth end (measured)",
            phase(&metrics, "main", "growth_end_step"),
        ),
    ];
    for (label, s) in marks {
        if s.is_finite() && s > 0.0 {
            series_l.push(vline(label, s + 1.0, y0, y1));
        }
    }
    let mut panels = vec![LinePanel {
        title: format!(
            "m = {}, lambda = {:e}, {} init",
            spec.model.m,
            spec.model.lambda,
            format!("{:?}", spec.model.init).to_lowercase()
        ),
        x_label: "iteration + 1".into(),
        y_label: "training loss".into(),
        log_x: true,
        log_y: true,
        y_range: Some((y0, y1)),
        series: series_l,
        hlines: vec![HLine {
            y: conv_factor * ols_mse,
            label: "OLS residual (least squares)".into(),
        }],
        ..Default::default()
    }];
    // The growth of a_j against Theorem 1's bound.
    let growth = series(&metrics, "main", "align", "max_growth");
    if !growth.is_empty() {
        let xs: Vec<f64> = growth.iter().map(|(s, _)| *s as f64 + 1.0).collect();
        panels.push(LinePanel {
            title: "second-layer growth during alignment".into(),
            x_label: "iteration + 1".into(),
            y_label: "max_j |a_j(t)| / |a_j(0)|".into(),
            log_x: true,
            log_y: true,
            series: vec![
                Series {
                    label: "measured".into(),
                    x: xs.clone(),
                    y: growth.iter().map(|g| g.1).collect(),
                    ..Default::default()
                },
                Series {
                    label: "bound exp(2 D_max t) = lambda^(-2 eps)".into(),
                    x: xs.clone(),
                    y: growth
                        .iter()
                        .map(|(s, _)| growth_bound(*s as f64 * flow, d_max))
                        .collect(),
                    dashed: true,
                    ..Default::default()
                },
            ],
            y_range: Some((0.5, 1e4)),
            ..Default::default()
        });
        let cos = series(&metrics, "main", "align", "median_cos_pos");
        let clusters = series(&metrics, "main", "align", "clusters");
        panels.push(LinePanel {
            title: "alignment of a_j > 0 neurons".into(),
            x_label: "iteration + 1".into(),
            y_label: "1 - median cosine to extremal vector".into(),
            log_x: true,
            log_y: true,
            series: vec![
                Series {
                    label: "1 - median cosine".into(),
                    x: cos.iter().map(|(s, _)| *s as f64 + 1.0).collect(),
                    y: cos.iter().map(|c| 1.0 - c.1).collect(),
                    ..Default::default()
                },
                vline("end of alignment", t_align + 1.0, 1e-8, 2.0),
            ],
            hlines: vec![HLine {
                y: 1e-3,
                label: "cosine 0.999".into(),
            }],
            y_range: Some((1e-8, 2.0)),
            ..Default::default()
        });
        panels.push(LinePanel {
            title: "direction clusters (>= 1% of mass)".into(),
            x_label: "iteration + 1".into(),
            y_label: "clusters".into(),
            log_x: true,
            series: vec![Series {
                label: "clusters".into(),
                x: clusters.iter().map(|(s, _)| *s as f64 + 1.0).collect(),
                y: clusters.iter().map(|c| c.1).collect(),
                ..Default::default()
            }],
            ..Default::default()
        });
    }
    plot::line_panels(&fig_dir.join("loss_phases"), &panels, 2)?;

    // Neuron directions over time (polar scatter, coloured by sign(a_j)).
    let neurons_path = rd.file("neurons.csv");
    let theory_path = rd.file("theory.csv");
    if neurons_path.exists() && theory_path.exists() {
        let theory = read_csv_records(&theory_path)?;
        let mut extremal = Vec::new();
        let mut points = Vec::new();
        for r in &theory {
            match r.get(0) {
                Some("extremal_pos") | Some("extremal_neg") => extremal.push((
                    csv_number(&theory_path, r, 2)?,
                    csv_number(&theory_path, r, 3)?,
                    r.get(0) == Some("extremal_pos"),
                )),
                Some("point") => points.push((
                    csv_number(&theory_path, r, 2)?,
                    csv_number(&theory_path, r, 3)?,
                    csv_number(&theory_path, r, 4)?,
                )),
                _ => {}
            }
        }
        let rows = read_csv_records(&neurons_path)?;
        let mut steps: Vec<u64> = Vec::new();
        let mut by_step: Vec<Vec<(f64, f64, f64)>> = Vec::new(); // (a, w0, w1)
        for r in &rows {
            let s = csv_number(&neurons_path, r, 0)? as u64;
            let v = (
                csv_number(&neurons_path, r, 2)?,
                csv_number(&neurons_path, r, 3)?,
                r.get(4).and_then(|x| x.parse().ok()).unwrap_or(0.0),
            );
            match steps.iter().position(|&t| t == s) {
                Some(i) => by_step[i].push(v),
                None => {
                    steps.push(s);
                    by_step.push(vec![v]);
                }
            }
        }
        let circle: Vec<(f64, f64)> = (0..=120)
            .map(|i| {
                let t = std::f64::consts::TAU * i as f64 / 120.0;
                (t.cos(), t.sin())
            })
            .collect();
        let mut polar = Vec::new();
        let mut hists = Vec::new();
        let (pos_t, neg_t): (Vec<&Direction>, Vec<&Direction>) = extremal.iter().partition(|e| e.2);
        for (s, neurons) in steps.iter().zip(&by_step) {
            // Radius: log |a_j| rescaled to [0.15, 1] within the snapshot.
            let logs: Vec<f64> = neurons
                .iter()
                .map(|n| n.0.abs().max(1e-300).log10())
                .collect();
            let (lo, hi) = logs
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                    (a.min(v), b.max(v))
                });
            let span = (hi - lo).max(1e-12);
            let place = |n: &(f64, f64, f64), lg: f64| {
                let nw = (n.1 * n.1 + n.2 * n.2).sqrt().max(1e-300);
                let r = 0.15 + 0.85 * (lg - lo) / span;
                (r * n.1 / nw, r * n.2 / nw)
            };
            let pos: Vec<(f64, f64)> = neurons
                .iter()
                .zip(&logs)
                .filter(|(n, _)| n.0 > 0.0)
                .map(|(n, &lg)| place(n, lg))
                .collect();
            let neg: Vec<(f64, f64)> = neurons
                .iter()
                .zip(&logs)
                .filter(|(n, _)| n.0 <= 0.0)
                .map(|(n, &lg)| place(n, lg))
                .collect();
            let mut ser = vec![
                Series {
                    label: "unit circle".into(),
                    x: circle.iter().map(|p| p.0).collect(),
                    y: circle.iter().map(|p| p.1).collect(),
                    dashed: true,
                    ..Default::default()
                },
                scatter_series("a_j > 0", &pos),
                scatter_series("a_j < 0", &neg),
            ];
            if !pos_t.is_empty() {
                ser.push(scatter_series(
                    "extremal vector, a_j > 0 (scan)",
                    &pos_t
                        .iter()
                        .map(|e| (1.08 * e.0, 1.08 * e.1))
                        .collect::<Vec<_>>(),
                ));
            }
            if !neg_t.is_empty() {
                ser.push(scatter_series(
                    "extremal vector, a_j < 0 (scan)",
                    &neg_t
                        .iter()
                        .map(|e| (1.08 * e.0, 1.08 * e.1))
                        .collect::<Vec<_>>(),
                ));
            }
            polar.push(LinePanel {
                title: format!("iteration {s}"),
                x_label: "w_j,x / ||w_j|| (radius: log |a_j|)".into(),
                y_label: "w_j,bias / ||w_j||".into(),
                x_range: Some((-1.2, 1.2)),
                y_range: Some((-1.2, 1.2)),
                series: ser,
                ..Default::default()
            });
            // Cosine of each a_j > 0 neuron to the nearest positive extremal vector.
            if !pos_t.is_empty() {
                let cos: Vec<f64> = neurons
                    .iter()
                    .filter(|n| n.0 > 0.0)
                    .filter(|n| points.iter().any(|p| n.1 * p.0 + n.2 > 0.0))
                    .map(|n| {
                        pos_t
                            .iter()
                            .map(|e| cosine(&[n.1, n.2], &[e.0, e.1]))
                            .fold(f64::NEG_INFINITY, f64::max)
                    })
                    .collect();
                hists.push(HistPanel {
                    title: format!("iteration {s}: active a_j > 0 neurons"),
                    x_label: "cosine to the extremal vector".into(),
                    groups: vec![("cosine".into(), cos)],
                    bins: 40,
                });
            }
        }
        if !polar.is_empty() {
            let cols = polar.len().min(3);
            plot::line_panels(&fig_dir.join("neuron_directions"), &polar, cols)?;
        }
        if !hists.is_empty() {
            let cols = hists.len().min(3);
            plot::hist_panels(&fig_dir.join("cosine_histograms"), &hists, cols)?;
        }
        // The final function against the data and the OLS line.
        let fit_path = rd.file("fit.csv");
        if fit_path.exists() && !points.is_empty() {
            let fit: Vec<(f64, f64)> = read_csv_records(&fit_path)?
                .iter()
                .map(|r| Ok((csv_number(&fit_path, r, 0)?, csv_number(&fit_path, r, 1)?)))
                .collect::<Result<_>>()?;
            let mut ser = vec![
                Series {
                    label: "network at the end".into(),
                    x: fit.iter().map(|p| p.0).collect(),
                    y: fit.iter().map(|p| p.1).collect(),
                    ..Default::default()
                },
                scatter_series(
                    "training points",
                    &points.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>(),
                ),
            ];
            if let DataSpec::Interpolated {
                knots_x, knots_y, ..
            } = &spec.data
            {
                ser.push(Series {
                    label: "target".into(),
                    x: knots_x.clone(),
                    y: knots_y.clone(),
                    dashed: true,
                    ..Default::default()
                });
            } else {
                ser.push(scatter_series(
                    "OLS predictions",
                    &points.iter().map(|p| (p.0, p.2)).collect::<Vec<_>>(),
                ));
            }
            plot::line_panels(
                &fig_dir.join("final_fit"),
                &[LinePanel {
                    title: "the function GD converged to".into(),
                    x_label: "x".into(),
                    y_label: "h(x)".into(),
                    series: ser,
                    ..Default::default()
                }],
                1,
            )?;
        }
    }

    // The lambda sweep: final MSE and half-way time against lambda.
    if let Some(sw) = &spec.lambda_sweep {
        let mut mse = Vec::new();
        let mut half = Vec::new();
        for (i, l) in sw.lambdas.iter().enumerate() {
            let run = format!("lambda:{i}");
            if let Some(v) = series(&metrics, &run, "train", "mse").last() {
                mse.push((*l, v.1));
            }
            let h = phase(&metrics, &run, "half_step");
            if h.is_finite() {
                half.push((*l, h * flow));
            }
        }
        let xs: Vec<f64> = sw.lambdas.clone();
        plot::line_panels(
            &fig_dir.join("lambda_sweep"),
            &[
                LinePanel {
                    title: "where spurious convergence stops".into(),
                    x_label: "init scale lambda".into(),
                    y_label: "final training MSE".into(),
                    log_x: true,
                    log_y: true,
                    series: vec![Series {
                        label: "final MSE".into(),
                        x: mse.iter().map(|p| p.0).collect(),
                        y: mse.iter().map(|p| p.1.max(1e-12)).collect(),
                        markers: true,
                        ..Default::default()
                    }],
                    hlines: vec![HLine {
                        y: ols_mse,
                        label: "OLS residual".into(),
                    }],
                    ..Default::default()
                },
                LinePanel {
                    title: "escape time".into(),
                    x_label: "init scale lambda".into(),
                    y_label: "flow time at half-way".into(),
                    log_x: true,
                    series: vec![
                        Series {
                            label: "measured".into(),
                            x: half.iter().map(|p| p.0).collect(),
                            y: half.iter().map(|p| p.1).collect(),
                            markers: true,
                            ..Default::default()
                        },
                        Series {
                            label: "-ln(lambda)/D_max".into(),
                            x: xs.clone(),
                            y: xs.iter().map(|l| -l.ln() / d_max).collect(),
                            dashed: true,
                            ..Default::default()
                        },
                    ],
                    ..Default::default()
                },
            ],
            2,
        )?;
    }
    Ok(())
}

/// The study `study = "early_alignment"`.
pub const STUDY: StudyFns = StudyFns {
    name: "early_alignment",
    run_keys: &[],
    validate,
    run,
    figures: plot,
};
