//! Study: the label-noise phase change of Wen, Teng, Zhang (ICLR 2023,
//! arXiv 2206.00501) with a two-layer ReLU (or leaky-ReLU) network trained
//! by gradient descent, over label noise and model size relative to n.
//!
//! Data (`data::gaussian_mixture`, explicit vectors in R^p): y ~ Unif{+-1},
//! x = y mu + xi, xi ~ N(0, I_p), ||mu||^2 = c p^a (c = 1, a = 1/2 as in
//! `label_noise_phase`); exactly round(eta n) training labels flipped; the
//! test labels are clean. Bayes error Phi(-||mu||).
//!
//! Model: f(x) = sum_j a_j sigma(<w_j, x>), sigma = ReLU (leaky ReLU in the
//! contrast, and in every run of a spec with `model.leaky_slope`:
//! experiments/leaky_label_noise.toml), a_j = +1/sqrt(m), -1/sqrt(m), ... fixed, w_j(0) ~ N(0, omega^2 I_p)
//! with omega = init_scale / sqrt(p). Model size is the trained layer's
//! parameter count over n, m p / n, reached two ways: the width family (p
//! fixed, m = ratio n / p) and the dimension family (m fixed, p = ratio n / m).
//!
//! Training (`nets::two_layer::TwoLayerGd`, the primal or dual engine,
//! whichever `choose_engine` finds cheaper; the dual one when p is large):
//! full-batch GD on the mean logistic loss, first layer only, lr = lr_factor
//! / L with L = lambda_max(X X^T)/(4n), the smoothness of the linear logistic
//! model, which bounds the network's Gauss-Newton curvature because
//! sum_j a_j^2 sigma'(z_j)^2 <= 1. GD stops when every (noisy) training label
//! is fitted or after max_steps; a run that stops at the cap is recorded as
//! not interpolating and kept.
//!
//! Clean test error, by Monte Carlo over the exact law of a fresh point's
//! pre-activations (`mixture_test_error`): z = W^T x = y c + h with c = W^T mu
//! and h ~ N(0, W^T W), so each draw of h scores two test points (y = +1 and
//! y = -1). This is the law of a fresh test set of 2 test_draws points, at
//! cost O(test_draws min(p, m) m) instead of O(test_draws p m).
//!
//! Reference, the "linear prediction": the min-norm linear interpolator of
//! `theory::label_noise` with as many parameters per sample as the network,
//! p_lin / n = m p / n. Its n -> infinity error floor at noise eta is
//! Phi(-sqrt((r - 1) s^2 / (1 - s^2))), r = p_lin / n > 1, s = 1 - 2 eta
//! (reached as ||mu|| -> infinity; below it at any signal), and the ratio
//! where that floor equals the benign excess is the linear phase boundary.
//! It is a reference for the network, not its prediction: the distance is
//! reported.

mod claims;
#[cfg(test)]
mod diagnosis;
mod figures;
mod validate;

pub use validate::validate;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use ndarray_linalg::{Cholesky, UPLO};
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::toolkit::csv::to_csv;
use super::{Findings, Plan, Results, StudyFns, Sweep, UnitResult};
use crate::data::gaussian_mixture::{GaussianMixture, NoiseSpectrum};
use crate::data::label_noise::{flip_binary, FlipRule};
use crate::error::{Error, Result};
use crate::nets::activation::Activation;
use crate::nets::init::{gaussian_first_layer, second_layer, SecondLayerInit};
use crate::nets::linear::logistic_smoothness;
use crate::nets::loss::Loss;
use crate::nets::two_layer::{
    choose_engine, sign_accuracy, EngineKind, GdConfig, TrainedLayers, TwoLayerGd,
};
use crate::record::Metrics;
use crate::rng::{Numbering, Rng};
use crate::runner::RunContext;
use crate::spec::LoadedSpec;
use crate::theory::label_noise::{bayes_error, RegimeRule};

// ---------------------------------------------------------------- the spec

/// Stream keys (`rng::Numbering`): (family, ratio, n, seed). Every eta and
/// both activations of one key train on the same inputs, initialisation
/// and test draws (paired comparisons); the flips differ per eta.
pub(crate) const STREAMS: Numbering = Numbering::from("relu_label_noise", &[64, 64, 1_000_000], 0);

/// The run counts `--seeds` sets (`studies::run_keys`).
pub const RUN_KEYS: &[&str] = &["data.seeds"];

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReluNoiseSpec {
    pub data: DataSpec,
    pub model: ModelSpec,
    pub grid: GridSpec,
    #[serde(default)]
    pub contrast: Option<ContrastSpec>,
    #[serde(default)]
    pub claims: ClaimSpec,
    #[serde(default)]
    pub figures: FigureSpec,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// Training-set sizes, increasing (the trend in n is read across them).
    pub n: Vec<usize>,
    /// Label-noise rates, 0 <= eta < 1/2.
    pub eta: Vec<f64>,
    #[serde(default = "default_flip")]
    pub flip_rule: FlipRule,
    /// ||mu||^2 = coefficient * p^p_exponent.
    pub signal: SignalSpec,
    /// Independent (data, initialisation) draws per (family, ratio, n).
    pub seeds: usize,
    /// Draws of a test point's noise h per network (2 test points each).
    pub test_draws: usize,
}

fn default_flip() -> FlipRule {
    FlipRule::Exact
}

/// ||mu||^2 = coefficient * p^p_exponent.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalSpec {
    pub coefficient: f64,
    pub p_exponent: f64,
}

impl SignalSpec {
    pub fn mu_norm(&self, p: usize) -> f64 {
        (self.coefficient * (p as f64).powf(self.p_exponent)).sqrt()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// W(0) entries ~ N(0, (init_scale / sqrt(p))^2).
    pub init_scale: f64,
    /// lr = lr_factor / L, L = lambda_max(X X^T)/(4n).
    pub lr_factor: f64,
    /// GD stops at zero training error or after this many steps.
    pub max_steps: usize,
    #[serde(default = "default_engine")]
    pub engine: EngineKind,
    /// The grid's networks: ReLU when absent, leaky ReLU with this
    /// negative-side slope when set (then the spec has no contrast).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaky_slope: Option<f64>,
}

impl ModelSpec {
    /// The activation of the grid's networks (`leaky_slope`).
    pub fn activation(&self) -> Activation {
        match self.leaky_slope {
            None => Activation::Relu,
            Some(slope) => Activation::LeakyRelu { slope },
        }
    }
}

fn default_engine() -> EngineKind {
    EngineKind::Auto
}

/// How model size grows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// p fixed, m = ratio n / p.
    Width,
    /// m fixed, p = ratio n / m.
    Dimension,
}

impl Family {
    pub const ALL: [Family; 2] = [Family::Width, Family::Dimension];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            Family::Width => "width",
            Family::Dimension => "dimension",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridSpec {
    /// Parameters per sample m p / n, increasing.
    pub ratios: Vec<f64>,
    /// The width family's fixed input dimension p.
    pub width_p: usize,
    /// The dimension family's fixed width m (even: the second layer alternates signs).
    pub dimension_m: usize,
}

impl GridSpec {
    /// (p, m) of a family at a ratio and n.
    pub fn shape(&self, family: Family, ratio: f64, n: usize) -> (usize, usize) {
        let per = |fixed: usize| ((ratio * n as f64 / fixed as f64).round() as usize).max(1);
        match family {
            Family::Width => (self.width_p, per(self.width_p)),
            Family::Dimension => (per(self.dimension_m), self.dimension_m),
        }
    }
}

/// ReLU against leaky ReLU at one grid cell (same data, initialisation, seeds).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContrastSpec {
    pub family: Family,
    /// One of grid.ratios.
    pub ratio: f64,
    /// One of data.n.
    pub n: usize,
    /// One of data.eta.
    pub eta: f64,
    /// The leaky ReLU's negative-side slope.
    pub leaky_slope: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimSpec {
    /// The "mild" parameters / n of the noisy-floor claims (one of grid.ratios).
    pub mild_ratio: f64,
    /// Level of the one-sided rank tests.
    pub alpha: f64,
    /// The benign / tempered / catastrophic rule (benign_excess is also the
    /// "above the Bayes error" margin).
    pub regime: RegimeRule,
    /// "Levels off": the excess over Bayes at the largest n keeps at least
    /// this fraction of its value at the smallest n.
    pub level_off_fraction: f64,
    /// The claims concern interpolating networks: a cell enters a claim only
    /// if at least this fraction of its runs reach zero training error, and
    /// then with those runs' errors only; a claim that needs a cell with
    /// fewer is inconclusive.
    pub min_interpolated: f64,
}

impl Default for ClaimSpec {
    fn default() -> Self {
        ClaimSpec {
            mild_ratio: 2.0,
            alpha: 0.05,
            regime: RegimeRule::default(),
            level_off_fraction: 0.5,
            min_interpolated: 0.5,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FigureSpec {
    /// The eta of the error-vs-n figure (one of data.eta).
    pub error_vs_n_eta: f64,
}

impl Default for FigureSpec {
    fn default() -> Self {
        FigureSpec {
            error_vs_n_eta: 0.1,
        }
    }
}

pub(crate) fn position(values: &[f64], x: f64) -> Option<usize> {
    values
        .iter()
        .position(|&v| (v - x).abs() <= 1e-12 * x.abs().max(1.0))
}

// ---------------------------------------------------------------- one run

/// One network to train: grid cell (family, ratio index, n index, eta index), seed, activation.
#[derive(Clone, Copy, Debug)]
struct Job {
    family: Family,
    ri: usize,
    ni: usize,
    ei: usize,
    seed: usize,
    activation: Activation,
}

/// What one trained network records.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct RunRecord {
    steps: usize,
    interpolated: bool,
    train_accuracy: f64,
    train_loss: f64,
    /// Training points misfitted at the stop, and those of them with
    /// f(x_i) = 0 exactly. For ReLU that is every unit off: no gradient
    /// flows from them, so GD cannot fit them however long it runs, unless
    /// other points' steps switch a unit back on. (A leaky ReLU always
    /// passes gradient.)
    unfit: usize,
    unfit_dead: usize,
    /// Misclassified test points and test points (2 per draw).
    errors: f64,
    test_points: f64,
    engine: String,
}

/// Draws `mixture_test_error` holds at once: its u (b x k) and h (b x m)
/// are built for `TEST_CHUNK` draws at a time, so its memory does not grow
/// with the number of draws (`studies::memory::relu_label_noise`).
pub const TEST_CHUNK: usize = 4096;

/// The clean test error of f(x) = sum_j a_j sigma(<w_j, x>) on
/// x = y mu + xi, xi ~ N(0, I_p), y uniform on {+-1}, by Monte Carlo over the
/// exact law of the pre-activations z = y c + h, c = W^T mu, h ~ N(0, W^T W)
/// (`w` is p x m). h = B^T u with u ~ N(0, I_k) and B^T B = W^T W: B = W
/// (k = p) when p <= m, else B = L^T from the Cholesky factor of W^T W
/// (k = m). Each draw scores y = +1 (error when f(c + h) <= 0) and y = -1
/// (error when f(-c + h) >= 0). Returns (errors, test points = 2 draws).
/// Cost O(draws k m).
pub fn mixture_test_error(
    w: ArrayView2<f64>,
    a: ArrayView1<f64>,
    act: Activation,
    mu: ArrayView1<f64>,
    draws: usize,
    rng: &mut Rng,
) -> (usize, usize) {
    let (p, m) = w.dim();
    let c = w.t().dot(&mu);
    let factor: Array2<f64> = if p <= m {
        w.to_owned()
    } else {
        // W^T W is positive definite when W has full column rank; if
        // rounding says otherwise, W itself is an exact (costlier) factor.
        match w.t().dot(&w).cholesky(UPLO::Lower) {
            Ok(l) => l.reversed_axes(),
            Err(_) => w.to_owned(),
        }
    };
    let k = factor.nrows();
    let chunk = TEST_CHUNK;
    let mut errors = 0;
    let mut done = 0;
    while done < draws {
        let b = chunk.min(draws - done);
        let u = Array2::from_shape_simple_fn((b, k), || {
            <StandardNormal as Distribution<f64>>::sample(&StandardNormal, rng)
        });
        let h = u.dot(&factor);
        for row in h.axis_iter(Axis(0)) {
            let (mut plus, mut minus) = (0.0, 0.0);
            for ((&hj, &cj), &aj) in row.iter().zip(c.iter()).zip(a.iter()) {
                plus += aj * act.value(hj + cj);
                minus += aj * act.value(hj - cj);
            }
            errors += usize::from(plus <= 0.0) + usize::from(minus >= 0.0);
        }
        done += b;
    }
    (errors, 2 * draws)
}

/// (misfitted points, misfitted points with f_i = 0) of outputs f against labels y.
fn unfit_points(f: ArrayView1<f64>, y: ArrayView1<f64>) -> (usize, usize) {
    f.iter()
        .zip(y.iter())
        .filter(|(&fi, &yi)| fi * yi <= 0.0)
        .fold((0, 0), |(u, d), (&fi, _)| {
            (u + 1, d + usize::from(fi == 0.0))
        })
}

/// A network ready to train: GD state, noisy labels, W(0) and mu.
struct Setup {
    gd: TwoLayerGd,
    y: Array1<f64>,
    w0: Array2<f64>,
    mu: Array1<f64>,
}

/// Draw one run's data, flips and initialisation and set up its GD.
fn setup_run(spec: &ReluNoiseSpec, seed: u64, job: &Job) -> Result<Setup> {
    let d = &spec.data;
    let n = d.n[job.ni];
    let (p, m) = spec.grid.shape(job.family, spec.grid.ratios[job.ri], n);
    let stream = STREAMS.index(&[job.family.index(), job.ri, job.ni, job.seed]);
    let mixture = GaussianMixture {
        p,
        mu_norm: d.signal.mu_norm(p),
        spectrum: NoiseSpectrum::Isotropic,
    };
    let sample = mixture.sample_explicit(n, &mut crate::rng::stream(seed, stream, "data"));
    let (noisy, _) = flip_binary(
        &sample.y.to_vec(),
        d.eta[job.ei],
        d.flip_rule,
        &mut crate::rng::stream(seed, stream, &format!("flip{}", job.ei)),
    );
    let y = Array1::from(noisy);
    let mut init_rng = crate::rng::stream(seed, stream, "init");
    let w0 = gaussian_first_layer(
        p,
        m,
        spec.model.init_scale / (p as f64).sqrt(),
        &mut init_rng,
    );
    let a0 = second_layer(
        SecondLayerInit::Alternating { scale: None },
        &w0,
        &mut init_rng,
    );
    let cfg = GdConfig {
        activation: job.activation,
        loss: Loss::Logistic,
        lr: spec.model.lr_factor / logistic_smoothness(sample.x.view())?,
        weight_decay: 0.0,
        trained: TrainedLayers::First,
    };
    let kind = choose_engine(spec.model.engine, n, p, m, spec.model.max_steps);
    let gd = TwoLayerGd::new(cfg, kind, sample.x, y.clone(), w0.clone(), a0)?;
    Ok(Setup {
        gd,
        y,
        w0,
        mu: sample.mu,
    })
}

/// Train one network by GD until it fits every noisy label or hits the cap,
/// then measure its clean test error.
fn train_run(spec: &ReluNoiseSpec, seed: u64, job: &Job) -> Result<RunRecord> {
    let d = &spec.data;
    let n = d.n[job.ni];
    let stream = STREAMS.index(&[job.family.index(), job.ri, job.ni, job.seed]);
    let Setup { mut gd, y, w0, mu } = setup_run(spec, seed, job)?;
    while sign_accuracy(gd.train_outputs(), y.view()) < 1.0
        && gd.step_count() < spec.model.max_steps
    {
        gd.step().map_err(|e| match e {
            Error::Numerical(msg) => Error::Numerical(format!(
                "{} family, ratio {}, n = {n}, eta = {}, seed {}: {msg}",
                job.family.name(),
                spec.grid.ratios[job.ri],
                d.eta[job.ei],
                job.seed
            )),
            other => other,
        })?;
    }
    let train_accuracy = sign_accuracy(gd.train_outputs(), y.view());
    let (unfit, unfit_dead) = unfit_points(gd.train_outputs(), y.view());
    let w = gd.first_layer(w0.view());
    let (errors, points) = mixture_test_error(
        w.view(),
        gd.second_layer(),
        job.activation,
        mu.view(),
        d.test_draws,
        &mut crate::rng::stream(seed, stream, "test"),
    );
    Ok(RunRecord {
        steps: gd.step_count(),
        interpolated: train_accuracy == 1.0,
        train_accuracy,
        train_loss: gd.train_loss(),
        unfit,
        unfit_dead,
        errors: errors as f64,
        test_points: points as f64,
        engine: format!("{:?}", gd.engine()).to_lowercase(),
    })
}

// ---------------------------------------------------------------- the study

/// One row of runs.csv: a trained network.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Row {
    pub family: Family,
    /// The nominal ratio of the grid.
    pub ratio: f64,
    /// The actual m p / n.
    pub params_over_n: f64,
    pub n: usize,
    pub p: usize,
    pub m: usize,
    pub eta: f64,
    pub seed: usize,
    /// "relu" or "leaky_relu".
    pub activation: String,
    pub steps: usize,
    pub interpolated: bool,
    pub train_accuracy: f64,
    /// Training points misfitted at the stop, and those with every unit off.
    pub unfit: usize,
    pub unfit_dead: usize,
    pub clean_error: f64,
    pub test_points: f64,
    pub bayes_error: f64,
    pub engine: String,
}

impl Row {
    /// Whether the run's network has the activation `act` (by kind: the
    /// leaky slope is the spec's, not recorded per run).
    pub fn trained_with(&self, act: Activation) -> bool {
        self.activation == activation_name(act)
    }
}

/// The network in claims and figures: "ReLU network", "leaky-ReLU network, slope s".
pub(super) fn network_name(act: Activation) -> String {
    match act {
        Activation::Relu => "ReLU network".into(),
        Activation::LeakyRelu { slope } => format!("leaky-ReLU network, slope {slope}"),
    }
}

/// What a misfitted point at f = 0 exactly means for the grid's network:
/// its key in the run details and its phrase in the interpolation check.
pub(super) fn zero_output(act: Activation) -> (&'static str, &'static str) {
    match act {
        Activation::Relu => (
            "unfit_points_with_every_unit_off",
            "with every unit off (f = 0: no gradient flows from them)",
        ),
        // A leaky ReLU passes gradient at f = 0: nothing is switched off.
        Activation::LeakyRelu { .. } => ("unfit_points_at_zero_output", "at f = 0 exactly"),
    }
}

fn activation_name(act: Activation) -> &'static str {
    match act {
        Activation::Relu => "relu",
        Activation::LeakyRelu { .. } => "leaky_relu",
    }
}

/// The grid's jobs (every family, ratio, n, eta, seed; the model's
/// activation), then the contrast's leaky-ReLU jobs.
fn jobs(spec: &ReluNoiseSpec) -> Vec<Job> {
    let (d, g) = (&spec.data, &spec.grid);
    let activation = spec.model.activation();
    let mut out = Vec::new();
    for family in Family::ALL {
        for ri in 0..g.ratios.len() {
            for ni in 0..d.n.len() {
                for ei in 0..d.eta.len() {
                    for seed in 0..d.seeds {
                        out.push(Job {
                            family,
                            ri,
                            ni,
                            ei,
                            seed,
                            activation,
                        });
                    }
                }
            }
        }
    }
    if let Some(k) = &spec.contrast {
        let ri = position(&g.ratios, k.ratio).expect("validated");
        let ni = d.n.iter().position(|&n| n == k.n).expect("validated");
        let ei = position(&d.eta, k.eta).expect("validated");
        let activation = Activation::LeakyRelu {
            slope: k.leaky_slope,
        };
        for seed in 0..d.seeds {
            out.push(Job {
                family: k.family,
                ri,
                ni,
                ei,
                seed,
                activation,
            });
        }
    }
    out
}

/// The experiment, prepared: one unit per job (`jobs`).
struct Run {
    spec: ReluNoiseSpec,
    seed: u64,
    name: String,
    jobs: Vec<Job>,
}

pub fn plan(loaded: &LoadedSpec, _: &RunContext) -> Result<Box<dyn Plan>> {
    let spec: ReluNoiseSpec = loaded.study_section()?;
    Ok(Box::new(Run {
        jobs: jobs(&spec),
        spec,
        seed: loaded.header.seed,
        name: loaded.header.name.clone(),
    }))
}

impl Plan for Run {
    /// Cost max_steps x n p m (a run may stop early once it fits).
    fn sweeps(&self) -> Vec<Sweep> {
        let cost = |j: &Job| {
            let n = self.spec.data.n[j.ni];
            let (p, m) = self
                .spec
                .grid
                .shape(j.family, self.spec.grid.ratios[j.ri], n);
            (self.spec.model.max_steps * n * p * m) as f64
        };
        vec![Sweep::new(&self.name, self.jobs.iter().map(cost).collect())]
    }

    fn run_unit(&self, _: usize, i: usize) -> Result<UnitResult> {
        UnitResult::of(train_run(&self.spec, self.seed, &self.jobs[i]))
    }

    fn findings(self: Box<Self>, mut results: Results) -> Result<Findings> {
        let records: Vec<RunRecord> = results.take(0)?;
        Ok(findings(&self.spec, &self.jobs, &records))
    }
}

/// The metrics, runs.csv and claims of every job's record.
fn findings(spec: &ReluNoiseSpec, jobs: &[Job], records: &[RunRecord]) -> Findings {
    let (d, g) = (&spec.data, &spec.grid);
    let mut metrics = Metrics::default();
    let mut rows = Vec::with_capacity(jobs.len());
    for (job, rec) in jobs.iter().zip(records) {
        let (ratio, n, eta) = (g.ratios[job.ri], d.n[job.ni], d.eta[job.ei]);
        let (p, m) = g.shape(job.family, ratio, n);
        let act = activation_name(job.activation);
        let label = format!(
            "{}_{act}_r{ratio}_n{n}_eta{eta}:{}",
            job.family.name(),
            job.seed
        );
        let clean = rec.errors / rec.test_points;
        let t = rec.steps as u64;
        metrics.push(&label, t, "test", "clean_error", clean);
        metrics.push(&label, t, "train", "accuracy", rec.train_accuracy);
        metrics.push(&label, t, "train", "loss", rec.train_loss);
        metrics.push(
            &label,
            t,
            "train",
            "interpolated",
            f64::from(u8::from(rec.interpolated)),
        );
        rows.push(Row {
            family: job.family,
            ratio,
            params_over_n: (p * m) as f64 / n as f64,
            n,
            p,
            m,
            eta,
            seed: job.seed,
            activation: act.into(),
            steps: rec.steps,
            interpolated: rec.interpolated,
            train_accuracy: rec.train_accuracy,
            unfit: rec.unfit,
            unfit_dead: rec.unfit_dead,
            clean_error: clean,
            test_points: rec.test_points,
            bayes_error: bayes_error(d.signal.mu_norm(p)),
            engine: rec.engine.clone(),
        });
    }
    let (claims, details) = claims::analyze(spec, &rows, jobs.len());
    Findings {
        metrics,
        claims,
        details: serde_json::Value::Object(details),
        extra_files: vec![("runs.csv".into(), to_csv(&rows))],
    }
}

/// `overfit rejudge`: the claims from runs.csv, one row per job, each row
/// naming its job (family, ratio, n, eta, seed, activation) in the spec's order.
fn rejudge(loaded: &LoadedSpec, dir: &std::path::Path) -> Result<super::Judgement> {
    let spec: ReluNoiseSpec = loaded.study_section()?;
    let (d, g) = (&spec.data, &spec.grid);
    let planned: Vec<_> = jobs(&spec)
        .iter()
        .map(|j| {
            let act = activation_name(j.activation).to_string();
            (
                j.family,
                g.ratios[j.ri],
                d.n[j.ni],
                d.eta[j.ei],
                j.seed,
                act,
            )
        })
        .collect();
    let rows: Vec<Row> =
        super::toolkit::csv::rejudge_rows(dir, "runs.csv", &planned, |r: &Row| {
            (r.family, r.ratio, r.n, r.eta, r.seed, r.activation.clone())
        })?;
    let (claims, details) = claims::analyze(&spec, &rows, planned.len());
    Ok(super::Judgement { claims, details })
}

/// The study `study = "relu_label_noise"`.
pub const STUDY: StudyFns = StudyFns {
    name: "relu_label_noise",
    run_keys: RUN_KEYS,
    validate,
    plan,
    figures: figures::plot,
    peak_memory: super::memory::relu_label_noise,
    rejudge: Some(rejudge),
};

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact-law Monte Carlo error equals the error on explicit test
    /// points x = y mu + xi within Monte Carlo noise, on both factor paths
    /// (p <= m and p > m).
    #[test]
    fn exact_law_error_matches_explicit_test_points() {
        for (p, m) in [(3usize, 8usize), (12, 4)] {
            let mut rng = crate::rng::stream(3, p as u64, "t");
            let w = gaussian_first_layer(p, m, 1.0, &mut rng);
            let a = second_layer(SecondLayerInit::Alternating { scale: None }, &w, &mut rng);
            let mixture = GaussianMixture {
                p,
                mu_norm: 0.8,
                spectrum: NoiseSpectrum::Isotropic,
            };
            let act = Activation::Relu;
            let (e, pts) = mixture_test_error(
                w.view(),
                a.view(),
                act,
                mixture.sample_explicit(1, &mut rng).mu.view(),
                40_000,
                &mut rng,
            );
            let test = mixture.sample_explicit(40_000, &mut rng);
            let f = crate::nets::two_layer::outputs_from_preactivations(
                test.x.dot(&w).view(),
                a.view(),
                act,
            );
            let explicit = 1.0 - sign_accuracy(f.view(), test.y.view());
            let exact = e as f64 / pts as f64;
            // Both are means of 40,000+ Bernoulli draws of the same law.
            let sd = (exact * (1.0 - exact) / 40_000.0).sqrt();
            assert!(
                (exact - explicit).abs() < 5.0 * sd + 1e-4,
                "p {p} m {m}: {exact} vs {explicit}"
            );
            assert!(exact > 0.01 && exact < 0.6, "{exact}");
        }
    }

    /// Each family reaches its ratio: m p / n = ratio for integral shapes.
    #[test]
    fn families_grow_width_or_dimension() {
        let g = GridSpec {
            ratios: vec![2.0, 20.0],
            width_p: 25,
            dimension_m: 10,
        };
        assert_eq!(g.shape(Family::Width, 20.0, 100), (25, 80));
        assert_eq!(g.shape(Family::Dimension, 20.0, 100), (200, 10));
    }
}
