//! Study 1: benign overfitting and grokking on XOR-cluster data
//! (Xu, Wang, Frei, Vardi, Hu, ICLR 2024, arXiv 2310.02541).
//!
//! Data: XOR clusters in R^p (`data::xor_cluster`), labels flipped at rate eta,
//! clean test set. Model: f(x; W) = sum_j a_j relu(<w_j, x>), a_j = +-1/sqrt(m)
//! fixed, w_j(0) ~ N(0, omega^2 I_p). Training: full-batch GD on the mean
//! logistic loss, step alpha, first layer only. Measurements at log-spaced
//! steps: train accuracy (noisy labels), train loss, max_i |f(x_i)|, clean
//! test accuracy; at t = 1 the one-step linear limit; for the figure run the
//! neurons' projections on mu1 and mu2.
//! Theory (Theorem 3.1, `theory::xor_cluster`): 100% train accuracy for
//! 1 <= t <= sqrt(n); test accuracy ~ 1/2 at t = 1; near 1 for
//! C n^0.01 <= t <= sqrt(n); f(.; W(1)) ~ (alpha/8n) <sum y_i x_i, .>; the fit
//! is in sign only (`claims`). Figures 1-3 of the paper and a grokking-time
//! map (`figures`), Figs 2-3 from the figure run's files (`csv`).

mod claims;
mod csv;
mod figures;
mod map;
mod theorem_sweep;
mod time_scale;
mod validate;

use serde::{Deserialize, Serialize};

use self::claims::{panel_claims, reference_points, values_at};
use self::map::{grokking_map, map_cells, map_unit};
pub use self::theorem_sweep::TheoremSweepSpec;
use self::theorem_sweep::{sweep_findings, sweep_unit};
pub use self::validate::validate;
use super::toolkit::log_schedule;
use super::{Findings, Plan, Results, StudyFns, Sweep, UnitResult};
use crate::data::label_noise::FlipRule;
use crate::data::xor_cluster::{Representation, XorCluster, XorClusterSample};
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
use crate::spec::LoadedSpec;
use crate::studies::toolkit::stats::line_fit;
use crate::theory::xor_cluster::XorRegime;

// ---------------------------------------------------------------- the spec

/// Stream keys (`rng::Numbering`): (panel k, run r), numbered 1000 k + r
/// below run 1000; and run r of the grokking map (shared by all its cells).
pub(crate) const PANEL_STREAMS: Numbering = Numbering {
    family: "xor_cluster:panel",
    radices: &[1000],
    start: 0,
    end: 1_000_000,
};
pub(crate) const MAP_STREAMS: Numbering = Numbering::from("xor_cluster:map", &[], 1_000_000);

/// The run counts `--seeds` sets (`studies::run_keys`).
pub const RUN_KEYS: &[&str] = &["panels[].runs", "grokking_map.runs", "theorem_sweep.runs"];

/// The runs log every step up to a panel's `dense_until` (the grokking
/// map's: `MAP_DENSE_UNTIL`), then steps growing by `LOG_RATIO`
/// (`toolkit::log_schedule`; the memory estimate counts the rows from the
/// same values).
pub const LOG_RATIO: f64 = 1.05;
pub use self::map::MAP_DENSE_UNTIL;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XorSpec {
    pub data: DataSpec,
    pub model: ModelSpec,
    #[serde(default)]
    pub theory: TheorySpec,
    #[serde(default)]
    pub panels: Vec<PanelSpec>,
    #[serde(default)]
    pub figures: FigureSpec,
    #[serde(default)]
    pub grokking_map: Option<MapSpec>,
    /// Theorem 3.1 part 3 over (n, C), each cell where A1-A6 hold (`theorem_sweep`).
    #[serde(default)]
    pub theorem_sweep: Option<TheoremSweepSpec>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// Ambient dimension p.
    pub p: u64,
    pub n: usize,
    pub n_test: usize,
    /// ||mu||^2, as the paper reports it.
    pub mu_norm_sq: f64,
    /// Label-flip rate eta, 0 <= eta < 1/2.
    pub eta: f64,
    #[serde(default = "default_flip")]
    pub flip_rule: FlipRule,
    #[serde(default = "default_representation")]
    pub representation: Representation,
    /// Exactly n/4 training points per cluster (n divisible by 4) instead of
    /// a uniform draw per point (the paper's).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub balanced: bool,
}

fn default_flip() -> FlipRule {
    FlipRule::Bernoulli
}
fn default_representation() -> Representation {
    Representation::Auto
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    pub m: usize,
    pub omega_init: f64,
    #[serde(default = "default_activation")]
    pub activation: Activation,
    #[serde(default = "default_second_layer")]
    pub second_layer: SecondLayerInit,
    #[serde(default = "default_loss")]
    pub loss: Loss,
    #[serde(default = "default_trained")]
    pub trained: TrainedLayers,
    #[serde(default)]
    pub weight_decay: f64,
    #[serde(default = "default_engine")]
    pub engine: EngineKind,
}

fn default_activation() -> Activation {
    Activation::Relu
}
fn default_second_layer() -> SecondLayerInit {
    SecondLayerInit::RandomSign { scale: None }
}
fn default_loss() -> Loss {
    Loss::Logistic
}
fn default_trained() -> TrainedLayers {
    TrainedLayers::First
}
fn default_engine() -> EngineKind {
    EngineKind::Auto
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TheorySpec {
    /// The constant C of assumptions A1-A6 and of part 3's start C n^0.01.
    pub c: f64,
    /// Fraction of runs that must fit the noisy labels for part 1 to hold
    /// (the theorem's probability 1 - n^-Omega(1) - O(1/sqrt m), constants unknown).
    pub fit_fraction: f64,
    /// Median clean test accuracy that counts as "near 1" for part 3.
    pub late_accuracy: f64,
    /// Largest max_i |f(x_i)| that counts as a fit "in sign only".
    pub max_output: f64,
    /// Largest |L - log 2| that counts as "training loss near log 2".
    pub loss_gap: f64,
    /// Last step the sign-only law (`theory::xor_cluster::SignOnlyLaw`) is
    /// compared with: the activation sets must still be those of W(0).
    #[serde(default = "default_sign_only_until")]
    pub sign_only_until: usize,
    /// k of the finite-width allowance k/sqrt(m) where a law is exact only as
    /// m -> infinity (the one-step linear limit, the sign-only law's time scale).
    pub finite_width_deficit: f64,
    /// Standard errors of the mean or median over runs a tolerance allows for
    /// sampling noise (Fig 1 reference points, the sign-only law).
    pub standard_errors: f64,
    /// Part 2's Omega(1) in n^-Omega(1), which the theorem leaves unnamed:
    /// accuracy within n^-this / 2 of 1/2 at t = 1.
    pub chance_exponent: f64,
    /// Coverage of the bootstrap interval of the time-scale factor s.
    pub bootstrap_coverage: f64,
    /// Resamples of that bootstrap.
    pub bootstrap_resamples: usize,
    /// The largest fraction of those resamples whose fit may fail (no s
    /// covering half the paper's points) before the interval is not
    /// trusted (the row is then inconclusive): the failed draws are
    /// dropped, and if they are the extreme ones, more than a small share
    /// of them moves a tail's endpoint. A constant 0.01 in the code until
    /// session 65.
    #[serde(default = "default_bootstrap_max_failed")]
    pub bootstrap_max_failed: f64,
}

fn default_bootstrap_max_failed() -> f64 {
    0.01
}

fn default_sign_only_until() -> usize {
    60
}

impl TheorySpec {
    /// The finite-width allowance k/sqrt(m), k = `finite_width_deficit`.
    pub fn finite_width_allowance(&self, m: usize) -> f64 {
        self.finite_width_deficit / (m as f64).sqrt()
    }
}

impl Default for TheorySpec {
    fn default() -> Self {
        TheorySpec {
            c: 1.0,
            fit_fraction: 0.9,
            late_accuracy: 0.95,
            max_output: 1e-3,
            loss_gap: 1e-3,
            sign_only_until: default_sign_only_until(),
            finite_width_deficit: 3.0,
            standard_errors: 3.0,
            chance_exponent: 0.5,
            bootstrap_coverage: 0.95,
            bootstrap_resamples: 400,
            bootstrap_max_failed: default_bootstrap_max_failed(),
        }
    }
}

/// Which claims a panel is tested against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimKind {
    /// Theorem 3.1 parts 1-3 on the panel's own sqrt(n) horizon.
    Theorem,
    /// The one-step linear limit and the fit in sign only.
    Mechanism,
    /// The final step's median clean test accuracy is near 1 (grokking completes).
    FinalGeneralization,
    /// Mean train accuracy follows the closed-form sign-only law (`time_scale`).
    SignOnlyLaw,
    /// The time-scale factor mapping the paper's medians onto ours is 1 (`time_scale`).
    PaperTimeScale,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PanelSpec {
    pub id: String,
    /// GD step size alpha.
    pub alpha: f64,
    /// The init scale, when it differs from model.omega_init.
    #[serde(default)]
    pub omega_init: Option<f64>,
    /// A diagnostic panel: not the paper's setting (its rows are hypotheses,
    /// labelled so, and so are its figures).
    #[serde(default)]
    pub diagnostic: bool,
    pub steps: usize,
    pub runs: usize,
    /// Record every step up to this one, then every ~5%.
    #[serde(default = "default_dense")]
    pub dense_until: usize,
    #[serde(default)]
    pub claims: Vec<ClaimKind>,
    /// Values read off the paper's figure: the medians the simulation is compared with.
    #[serde(default)]
    pub reference: Vec<ReferencePoint>,
    /// Use this other panel's reference points instead.
    #[serde(default)]
    pub reference_from: Option<String>,
}

impl PanelSpec {
    /// The panel's init scale omega_init.
    pub fn omega(&self, spec: &XorSpec) -> f64 {
        self.omega_init.unwrap_or(spec.model.omega_init)
    }

    /// The paper's medians this panel is compared with (its own, or `reference_from`'s).
    pub fn references<'a>(&'a self, spec: &'a XorSpec) -> &'a [ReferencePoint] {
        match &self.reference_from {
            Some(id) => spec
                .panels
                .iter()
                .find(|p| &p.id == id)
                .map_or(&[], |p| &p.reference),
            None => &self.reference,
        }
    }
}

fn default_dense() -> usize {
    60
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferencePoint {
    pub step: usize,
    /// "train" or "test".
    pub split: String,
    /// The paper's median accuracy at this step.
    pub median: f64,
    pub source: String,
    /// Read-off error of this value, when not figures.readoff_tolerance.
    #[serde(default)]
    pub readoff: Option<f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FigureSpec {
    /// Panel whose run 0 is drawn in Fig 2 (boundary) and Fig 3 (histograms).
    pub panel: Option<String>,
    pub boundary_steps: Vec<usize>,
    pub histogram_steps: Vec<usize>,
    /// Read-off tolerance added to the statistical one for the Fig 1 medians.
    pub readoff_tolerance: f64,
}

impl Default for FigureSpec {
    fn default() -> Self {
        FigureSpec {
            panel: None,
            boundary_steps: vec![0, 1, 15],
            histogram_steps: vec![0, 1, 2, 3, 10],
            readoff_tolerance: 0.02,
        }
    }
}

/// Beyond the paper: median first step with clean test accuracy >= threshold
/// over a grid of (alpha, omega_init).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapSpec {
    pub alphas: Vec<f64>,
    pub omegas: Vec<f64>,
    pub runs: usize,
    pub max_steps: usize,
    pub threshold: f64,
    /// `depends_on_omega_over_alpha_only` (a check): the largest relative
    /// spread (hi - lo)/(1 + lo) of the grokking step along a diagonal.
    pub diagonal_spread: f64,
    /// `time_grows_like_omega_over_alpha` (a hypothesis): tolerance on the
    /// log-log slope 1.
    pub slope_tolerance: f64,
    /// The slope is fitted over the diagonals whose grokking step exceeds this
    /// multiple of the fastest one (past the fast regime).
    pub fit_above_fastest: f64,
}

// ---------------------------------------------------------------- one run

/// What one training run measured (one resumable unit).
#[derive(Serialize, Deserialize)]
struct RunRecord {
    metrics: Metrics,
    /// Correlation and slope of f(x; W(1)) against (alpha/8n) <sum y_i x_i, x> over test points.
    one_step: Option<(f64, f64)>,
    /// Figure run only: (step, neuron rows (a_j, <w_j,mu1>, <w_j,mu2>)).
    neurons: Vec<(usize, Vec<[f64; 3]>)>,
    /// Figure run only: training points projected on mu1/||mu||, mu2/||mu||, with their noisy label.
    points: Vec<[f64; 3]>,
}

/// The XOR-cluster distribution the data section describes (||mu|| from ||mu||^2).
pub(crate) fn distribution(d: &DataSpec) -> XorCluster {
    XorCluster {
        p: d.p,
        n: d.n,
        n_test: d.n_test,
        mu_norm: d.mu_norm_sq.sqrt(),
        eta: d.eta,
        flip_rule: d.flip_rule,
        representation: d.representation,
        balanced: d.balanced,
    }
}

#[allow(clippy::too_many_arguments)]
fn train_run(
    spec: &XorSpec,
    seed: u64,
    run_label: &str,
    stream: u64,
    alpha: f64,
    omega: f64,
    steps: usize,
    schedule: &[usize],
    figure_steps: &[usize],
    stop_at_accuracy: Option<f64>,
) -> Result<RunRecord> {
    let dist = distribution(&spec.data);
    let mut data_rng = crate::rng::stream(seed, stream, "data");
    let mut init_rng = crate::rng::stream(seed, stream, "init");
    let XorClusterSample {
        x_train,
        y_train,
        x_test,
        y_test,
        means,
        ..
    } = dist.sample(&mut data_rng);
    let (n, d) = x_train.dim();
    let m = spec.model.m;
    let w0 = gaussian_first_layer(d, m, omega, &mut init_rng);
    let a0 = second_layer(spec.model.second_layer, &w0, &mut init_rng);
    let cfg = GdConfig {
        activation: spec.model.activation,
        loss: spec.model.loss,
        lr: alpha,
        weight_decay: spec.model.weight_decay,
        trained: spec.model.trained,
    };
    let kind = choose_engine(spec.model.engine, n, d, m, steps);
    // The one-step linear classifier (alpha/8n) <sum_i y_i x_i, .>, evaluated on the test set.
    let linear_direction = x_train.t().dot(&y_train);
    let linear_test =
        x_test.dot(&linear_direction) * regime(spec, alpha, omega).one_step_linear_coefficient();
    let mu_norm = spec.data.mu_norm_sq.sqrt();
    let points: Vec<[f64; 3]> = if figure_steps.is_empty() {
        Vec::new()
    } else {
        let proj = x_train.dot(&means.t()) / mu_norm;
        proj.outer_iter()
            .zip(y_train.iter())
            .map(|(r, &y)| [r[0], r[1], y])
            .collect()
    };

    let mut gd = TwoLayerGd::new(cfg, kind, x_train, y_train.clone(), w0.clone(), a0)?;
    let test_set = gd.eval_set(x_test, w0.view());
    let centres = ndarray::concatenate(ndarray::Axis(0), &[means.view(), (-&means).view()])
        .expect("same width");
    let centres = ndarray::stack(
        ndarray::Axis(0),
        &[
            centres.row(0),
            centres.row(2),
            centres.row(1),
            centres.row(3),
        ],
    )
    .expect("same width");
    let centre_set = gd.eval_set(centres, w0.view());
    let probe_set = gd.eval_set(means, w0.view());
    let mut rec = RunRecord {
        metrics: Metrics::default(),
        one_step: None,
        neurons: Vec::new(),
        points,
    };
    let mut next = 0;
    for t in 0..=steps {
        let logged = next < schedule.len() && schedule[next] == t;
        if logged || figure_steps.contains(&t) {
            let f_test = gd.outputs(&test_set);
            let test_acc = sign_accuracy(f_test.view(), y_test.view());
            if logged {
                next += 1;
                let f = gd.train_outputs();
                let m = &mut rec.metrics;
                m.push(
                    run_label,
                    t as u64,
                    "train",
                    "accuracy",
                    sign_accuracy(f, y_train.view()),
                );
                m.push(run_label, t as u64, "train", "loss", gd.train_loss());
                m.push(
                    run_label,
                    t as u64,
                    "train",
                    "max_abs_output",
                    f.iter().fold(0.0f64, |acc, v| acc.max(v.abs())),
                );
                m.push(run_label, t as u64, "test", "accuracy", test_acc);
                // Which of the four cluster centres +-mu1 (label +1), +-mu2 (label -1) the
                // network classifies correctly: tells "3 of 4 clusters" failures apart.
                let centres = gd.outputs(&centre_set);
                let correct = centres
                    .iter()
                    .zip([1.0, 1.0, -1.0, -1.0])
                    .filter(|(f, y)| *f * y > 0.0)
                    .count();
                m.push(
                    run_label,
                    t as u64,
                    "test",
                    "cluster_centres_correct",
                    correct as f64,
                );
            }
            if t == 1 {
                let fit = line_fit(&linear_test.to_vec(), &f_test.to_vec());
                rec.one_step = Some((fit.correlation, fit.slope));
            }
            if figure_steps.contains(&t) {
                let proj = gd.preactivations(&probe_set);
                let a = gd.second_layer();
                rec.neurons.push((
                    t,
                    (0..m).map(|j| [a[j], proj[[0, j]], proj[[1, j]]]).collect(),
                ));
            }
            if stop_at_accuracy.is_some_and(|thr| test_acc >= thr) {
                break;
            }
        }
        if t < steps {
            gd.step().map_err(|e| match e {
                Error::Numerical(msg) => Error::Numerical(format!("run {run_label}: {msg}")),
                other => other,
            })?;
        }
    }
    Ok(rec)
}

// ---------------------------------------------------------------- the study

/// The sizes Theorem 3.1 is stated in, at step size `alpha` and init scale `omega`.
fn regime(spec: &XorSpec, alpha: f64, omega: f64) -> XorRegime {
    XorRegime {
        p: spec.data.p as f64,
        n: spec.data.n as f64,
        m: spec.model.m as f64,
        mu_norm_sq: spec.data.mu_norm_sq,
        eta: spec.data.eta,
        alpha,
        omega_init: omega,
    }
}

/// Steps recorded for Figs 2-3 in run 0 of the figure panel.
fn figure_steps(spec: &XorSpec, panel: &PanelSpec) -> Vec<usize> {
    if spec.figures.panel.as_deref() != Some(panel.id.as_str()) {
        return Vec::new();
    }
    let mut s: Vec<usize> = spec
        .figures
        .boundary_steps
        .iter()
        .chain(&spec.figures.histogram_steps)
        .copied()
        .filter(|&t| t <= panel.steps)
        .collect();
    s.sort_unstable();
    s.dedup();
    s
}

/// The experiment, prepared: every (panel, run) trains one network
/// (`train_run`) on the panel's step size (sweep 0); a panel's runs are
/// judged by `panel_claims`; then the grokking map (sweep 1), if the spec
/// has one.
struct Run {
    spec: XorSpec,
    seed: u64,
    name: String,
    /// Every (panel, run) pair is one unit, drawing from the stream of key (k, r).
    jobs: Vec<(usize, usize)>,
    /// The map's (alpha, omega, run) cells.
    cells: Vec<(usize, usize, usize)>,
    /// The theorem sweep's (variant, C, n, run) units (the last sweep).
    sweep_units: Vec<[usize; 4]>,
}

impl Run {
    /// The index of the theorem sweep among the sweeps: after the panels and the map.
    fn theorem_sweep_index(&self) -> usize {
        1 + usize::from(self.spec.grokking_map.is_some())
    }
}

pub fn plan(loaded: &LoadedSpec, _: &RunContext) -> Result<Box<dyn Plan>> {
    let spec: XorSpec = loaded.study_section()?;
    let jobs = spec
        .panels
        .iter()
        .enumerate()
        .flat_map(|(k, p)| (0..p.runs).map(move |r| (k, r)))
        .collect();
    let cells = spec.grokking_map.as_ref().map_or(Vec::new(), map_cells);
    let sweep_units = spec
        .theorem_sweep
        .as_ref()
        .map_or(Vec::new(), TheoremSweepSpec::units);
    Ok(Box::new(Run {
        spec,
        seed: loaded.header.seed,
        name: loaded.header.name.clone(),
        jobs,
        cells,
        sweep_units,
    }))
}

impl Plan for Run {
    /// Cost steps x n m (the data and width are the study's).
    fn sweeps(&self) -> Vec<Sweep> {
        let size = (self.spec.data.n * self.spec.model.m) as f64;
        let panels = self
            .jobs
            .iter()
            .map(|&(k, _)| self.spec.panels[k].steps as f64 * size);
        let mut sweeps = vec![Sweep::new(&self.name, panels.collect())];
        if let Some(map) = &self.spec.grokking_map {
            let cost = map.max_steps as f64 * size;
            sweeps.push(Sweep::new("grokking_map", vec![cost; self.cells.len()]));
        }
        if let Some(sweep) = &self.spec.theorem_sweep {
            let costs = self.sweep_units.iter().map(|&[_, c, n, _]| {
                let reg = sweep.regime(&self.spec, c, n);
                (reg.fit_horizon() + 1) as f64 * reg.n * reg.m
            });
            sweeps.push(Sweep::new("theorem_sweep", costs.collect()));
        }
        sweeps
    }

    fn run_unit(&self, sweep: usize, i: usize) -> Result<UnitResult> {
        let spec = &self.spec;
        if let (1, Some(map)) = (sweep, &spec.grokking_map) {
            return UnitResult::of(map_unit(spec, map, self.seed, self.cells[i]));
        }
        if let Some(ts) = spec
            .theorem_sweep
            .as_ref()
            .filter(|_| sweep == self.theorem_sweep_index())
        {
            return UnitResult::of(sweep_unit(spec, ts, self.seed, self.sweep_units[i]));
        }
        let (k, r) = self.jobs[i];
        let panel = &spec.panels[k];
        let extra: Vec<usize> = panel
            .references(spec)
            .iter()
            .map(|p| p.step)
            .filter(|&t| t <= panel.steps)
            .collect();
        let schedule = log_schedule(panel.steps, panel.dense_until, LOG_RATIO, &extra);
        let fig = if r == 0 {
            figure_steps(spec, panel)
        } else {
            Vec::new()
        };
        UnitResult::of(train_run(
            spec,
            self.seed,
            &format!("{}:{r}", panel.id),
            PANEL_STREAMS.index(&[k, r]),
            panel.alpha,
            panel.omega(spec),
            panel.steps,
            &schedule,
            &fig,
            None,
        ))
    }

    fn findings(self: Box<Self>, mut results: Results) -> Result<Findings> {
        let records: Vec<RunRecord> = results.take(0)?;
        let hits: Vec<f64> = match &self.spec.grokking_map {
            Some(_) => results.take(1)?,
            None => Vec::new(),
        };
        let sweep_runs: Vec<Metrics> = match &self.spec.theorem_sweep {
            Some(_) => results.take(self.theorem_sweep_index())?,
            None => Vec::new(),
        };
        Ok(findings(
            &self.spec,
            self.seed,
            &records,
            &self.cells,
            &hits,
            sweep_runs,
        ))
    }
}

/// The panels' claims, details and figure files from their runs'
/// records, then the grokking map's from its cells' first hits.
fn findings(
    spec: &XorSpec,
    seed: u64,
    records: &[RunRecord],
    cells: &[(usize, usize, usize)],
    hits: &[f64],
    sweep_runs: Vec<Metrics>,
) -> Findings {
    let mut metrics = Metrics::default();
    let mut claims = Vec::new();
    let mut details = serde_json::Map::new();
    let (mut neurons, mut points) = (Vec::new(), Vec::new());
    let mut offset = 0;
    for panel in &spec.panels {
        let recs = &records[offset..offset + panel.runs];
        offset += panel.runs;
        let mut panel_metrics = Metrics::default();
        for rec in recs {
            panel_metrics.rows.extend(rec.metrics.rows.iter().cloned());
        }
        claims.extend(panel_claims(spec, panel, &panel_metrics, recs, seed));
        details.insert(panel.id.clone(), panel_details(spec, panel, &panel_metrics));
        let (n, p) = csv::figure_rows(&panel.id, recs);
        neurons.extend(n);
        points.extend(p);
        metrics.extend(panel_metrics);
    }

    if let Some(map) = &spec.grokking_map {
        let (map_metrics, map_details, map_claims) = grokking_map(map, cells, hits);
        metrics.extend(map_metrics);
        claims.extend(map_claims);
        details.insert("grokking_map".into(), map_details);
    }

    let mut extra_files = csv::figure_files(&neurons, &points);
    if let Some(sweep) = &spec.theorem_sweep {
        let (sweep_metrics, sweep_details, sweep_claims, file) =
            sweep_findings(spec, sweep, seed, sweep_runs);
        metrics.extend(sweep_metrics);
        claims.extend(sweep_claims);
        details.insert("theorem_sweep".into(), sweep_details);
        extra_files.push(file);
    }

    Findings {
        metrics,
        claims,
        details: serde_json::Value::Object(details),
        extra_files,
    }
}

/// A panel's entry in summary.json: its sizes, the theorem's assumptions
/// and quantities at its step size, the GD engine and data representation
/// used, and how many runs ended with k of the four cluster centres right.
/// A diagnostic panel's comparisons with the paper's Fig 1 medians are here
/// (`reference_points`), as evidence for its hypothesis row, not as claims.
fn panel_details(spec: &XorSpec, panel: &PanelSpec, panel_metrics: &Metrics) -> serde_json::Value {
    let runs = panel.runs;
    let reg = regime(spec, panel.alpha, panel.omega(spec));
    let mut details = serde_json::json!({
        "alpha": panel.alpha, "omega_init": panel.omega(spec), "diagnostic": panel.diagnostic,
        "steps": panel.steps, "runs": runs,
        "sign_only_law": reg.sign_only_law(),
        "assumptions_C": spec.theory.c,
        "assumptions": reg.assumptions(spec.theory.c),
        "all_assumptions_hold": reg.violated(spec.theory.c).is_empty(),
        "late_error_exponent_n099_mu4_over_p": reg.late_error_exponent(),
        "fit_horizon_sqrt_n": reg.fit_horizon(),
        "engine": format!("{:?}", choose_engine(spec.model.engine, spec.data.n, distribution(&spec.data).working_dim(), spec.model.m, panel.steps)).to_lowercase(),
        "representation": format!("{:?}", distribution(&spec.data).representation()).to_lowercase(),
        "working_dim": distribution(&spec.data).working_dim(),
        "final_cluster_centres_correct_histogram": (0..=4).map(|k| {
            values_at(panel_metrics, "test", "cluster_centres_correct", panel.steps as u64).iter().filter(|&&v| v == k as f64).count()
        }).collect::<Vec<_>>(),
    });
    if panel.diagnostic {
        let points: Vec<serde_json::Value> = reference_points(spec, panel, panel_metrics)
            .iter()
            .map(|r| serde_json::json!({
                "split": r.split, "step": r.step, "paper_median": r.paper, "our_median": r.ours.value,
                "tolerance": r.tolerance, "within_tolerance": r.within(), "source": r.source,
            }))
            .collect();
        details["reference_points"] = points.into();
    }
    details
}

/// The study `study = "xor_cluster"`.
pub const STUDY: StudyFns = StudyFns {
    name: "xor_cluster",
    run_keys: RUN_KEYS,
    validate,
    plan,
    figures: figures::plot,
    peak_memory: super::memory::xor_grokking,
    rejudge: None,
};
