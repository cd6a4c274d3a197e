//! Study 3: label noise under mild overparameterization: the phase change
//! (Wen, Teng, Zhang, ICLR 2023, arXiv 2206.00501).
//!
//! The paper's own model and theorem could not be recovered, so the claims
//! are tested in the standard model of this line of work (Chatterji & Long,
//! JMLR 2021; Cao, Gu & Belkin, NeurIPS 2021):
//! y ~ Unif{+-1}, x = y mu + xi, xi ~ N(0, I_p) (`data::gaussian_mixture`),
//! training labels flipped at rate eta (exactly round(eta n) or Bernoulli),
//! linear classifiers through the origin (`nets::linear`): the min-norm
//! interpolator X^T (X X^T)^-1 y (least squares when p < n), the hard-margin
//! SVM (exact dual solver), and logistic-loss GD tracked against the SVM.
//! Errors are exact: clean = Phi(-<w,mu>/||w||), noisy = eta + (1-2eta) clean
//! (`theory::label_noise`), so every run records the SNR <w,mu>/||w||.
//!
//! Grid: p/n from below 1 to >> 1, eta, several n at each p/n, many seeds,
//! ||mu||^2 = c p^a. Predictions come from the closed form of
//! `theory::label_noise::MinNormTheory` (deterministic equivalents), its
//! n -> infinity limits, and the leave-one-out formula for support-vector
//! proliferation; none is fitted to the measurements.

mod claims;
mod csv;
mod figures;
mod grid;
mod svp;
mod validate;

use ndarray::{Array1, ArrayView1};
use serde::{Deserialize, Serialize};

use self::csv::{GdRow, Row};
use super::toolkit::csv::to_csv;
use super::toolkit::log_schedule;
use super::{Findings, Plan, Results, StudyFns, Sweep, UnitResult};
use crate::data::gaussian_mixture::{GaussianMixture, MixtureSample, NoiseSpectrum};
use crate::data::label_noise::{flip_binary, FlipRule};
use crate::error::{Error, Result};
use crate::nets::linear::{
    cosine, logistic_smoothness, min_norm_solution, signed_gram, svm_active_set, training_accuracy,
    GramFactor, LogisticGd, SvmMethod, SvmOptions,
};
use crate::record::Metrics;
use crate::rng::Numbering;
use crate::runner::RunContext;
use crate::spec::LoadedSpec;
use crate::theory::label_noise::{noisy_label_error, normal_cdf, RegimeRule};

pub use figures::plot;
use validate::position;
pub use validate::validate;

// ---------------------------------------------------------------- the spec

/// Stream keys (`rng::Numbering`): grid job (ratio, size, seed) below
/// 900,000,000, logistic-GD job (ratio, eta, seed) from there on.
pub(crate) const GRID_STREAMS: Numbering = Numbering {
    family: "label_noise:grid",
    radices: &[64, 1_000_000],
    start: 0,
    end: 900_000_000,
};
pub(crate) const GD_STREAMS: Numbering =
    Numbering::from("label_noise:gd", &[64, 1_000_000], 900_000_000);

/// The run counts `--seeds` sets (`studies::run_keys`).
pub const RUN_KEYS: &[&str] = &["data.seeds", "logistic_gd.seeds"];

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelNoiseSpec {
    pub data: DataSpec,
    #[serde(default)]
    pub svm: SvmOptions,
    #[serde(default)]
    pub logistic_gd: Option<GdSpec>,
    #[serde(default)]
    pub claims: ClaimSpec,
    #[serde(default)]
    pub figures: FigureSpec,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// Training-set sizes, increasing (the trend at fixed p/n is read across them).
    pub n: Vec<usize>,
    /// Ratios p/n; p = round(ratio n) must avoid [n - 2, n + 2].
    pub p_over_n: Vec<f64>,
    /// Label-noise rates, 0 <= eta < 1/2.
    pub eta: Vec<f64>,
    #[serde(default = "default_flip")]
    pub flip_rule: FlipRule,
    /// Independent data draws per (p/n, n); every eta reuses the draw's inputs.
    pub seeds: usize,
    pub signal: SignalSpec,
    #[serde(default = "default_noise")]
    pub noise: NoiseSpectrum,
}

fn default_flip() -> FlipRule {
    FlipRule::Exact
}
fn default_noise() -> NoiseSpectrum {
    NoiseSpectrum::Isotropic
}

/// ||mu||^2 = coefficient * p^p_exponent.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalSpec {
    pub coefficient: f64,
    pub p_exponent: f64,
}

impl SignalSpec {
    pub fn mu_norm_sq(&self, p: usize) -> f64 {
        self.coefficient * (p as f64).powf(self.p_exponent)
    }
}

/// Logistic-loss GD from w = 0, tracked against the SVM direction.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GdSpec {
    pub n: usize,
    /// Ratios p/n (each must give p > n + 2: separable data).
    pub p_over_n: Vec<f64>,
    pub eta: Vec<f64>,
    pub seeds: usize,
    pub steps: usize,
    /// Step size lr = lr_factor / L, L = lambda_max(X^T X)/(4n) the loss's smoothness.
    #[serde(default = "one")]
    pub lr_factor: f64,
    /// `logistic_gd.direction_converges_to_svm` compares 1 - cos(w(t),
    /// w_svm) at t = steps with its value at the last record at or before
    /// steps / this (a constant 100 in the code until session 65).
    #[serde(default = "hundred")]
    pub direction_early_factor: f64,
}

fn one() -> f64 {
    1.0
}
fn hundred() -> f64 {
    100.0
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimSpec {
    /// The "mild overparameterization" ratio p/n (> 1, one of data.p_over_n).
    pub mild_ratio: f64,
    /// Relative finite-n tolerance on the closed-form SNR.
    pub snr_tolerance: f64,
    /// Least Spearman correlation of SNR with p/n for "larger models counter noise".
    pub rank_correlation: f64,
    pub regime: RegimeRule,
    /// Cells with predicted P(SVP) >= this count as "SVP predicted".
    pub svp_likely: f64,
    /// Cells with predicted P(SVP) <= this count as "no SVP predicted".
    pub svp_unlikely: f64,
    /// Least pooled SVP fraction in predicted-SVP cells.
    pub svp_min_fraction: f64,
    /// Largest pooled SVP fraction in predicted-no-SVP cells.
    pub svp_max_fraction: f64,
    /// Least p-value of the chi-square test of the measured SVP counts
    /// against the predicted probabilities, over the transition cells
    /// (svp_unlikely < P < svp_likely). Replaced on 2026-12-04 the mean
    /// |fraction - P| over every cell (`svp_calibration`), which the cells
    /// with P near 0 or 1 kept small whatever the transition did.
    pub svp_calibration_p_value: f64,
    /// Least fraction of (p/n, eta) cells whose measured regime equals theory's.
    pub regime_agreement: f64,
}

impl Default for ClaimSpec {
    fn default() -> Self {
        ClaimSpec {
            mild_ratio: 2.0,
            snr_tolerance: 0.1,
            rank_correlation: 0.8,
            regime: RegimeRule::default(),
            svp_likely: 0.95,
            svp_unlikely: 0.05,
            svp_min_fraction: 0.9,
            svp_max_fraction: 0.1,
            svp_calibration_p_value: 0.01,
            regime_agreement: 0.8,
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FigureSpec {
    /// Ratios p/n drawn in the error-vs-n figure (default: the mild ratio and the largest).
    #[serde(default)]
    pub error_vs_n_ratios: Vec<f64>,
}

/// p for a ratio and n.
pub(crate) fn p_of(ratio: f64, n: usize) -> usize {
    ((ratio * n as f64).round() as usize).max(1)
}

// ---------------------------------------------------------------- one run

/// One (data draw, eta) of the phase grid.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct EtaRun {
    /// <w, mu> / sqrt(w^T Sigma w) of the min-norm solution.
    snr_min_norm: f64,
    train_accuracy_min_norm: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    svm: Option<SvmRun>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct SvmRun {
    snr: f64,
    /// Every training point is a support vector (dual a_i > 0 for all i).
    all_support: bool,
    support: usize,
    /// 1 - cos(w_svm, w_min_norm).
    one_minus_cos: f64,
    gap: f64,
    converged: bool,
    fallback: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct JobRecord {
    runs: Vec<EtaRun>,
}

/// A logistic-GD trajectory: rows (t, 1 - cos to SVM, normalised-margin ratio,
/// train accuracy, SNR) and the SVM's own SNR.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct GdRecord {
    svm_snr: f64,
    trace: Vec<[f64; 5]>,
}

fn mixture(spec: &LabelNoiseSpec, p: usize) -> GaussianMixture {
    GaussianMixture {
        p,
        mu_norm: spec.data.signal.mu_norm_sq(p).sqrt(),
        spectrum: spec.data.noise.clone(),
    }
}

/// <w, mu> / sqrt(w^T Sigma w): the argument of the exact clean error Phi(-SNR).
fn snr(w: ArrayView1<f64>, sample: &MixtureSample) -> f64 {
    let along = w.dot(&sample.mu);
    let spread = match &sample.noise_variances {
        None => w.dot(&w),
        Some(l) => w.iter().zip(l.iter()).map(|(a, b)| a * a * b).sum(),
    };
    if spread <= 0.0 {
        0.0
    } else {
        along / spread.sqrt()
    }
}

fn noisy_labels(
    sample: &MixtureSample,
    eta: f64,
    rule: FlipRule,
    rng: &mut crate::rng::Rng,
) -> Array1<f64> {
    let clean = sample.y.to_vec();
    Array1::from(flip_binary(&clean, eta, rule, rng).0)
}

/// A numerical error (exit 3) prefixed with the run it stopped, so that its
/// one line names the run; other errors pass as they are.
fn in_run(label: String, e: Error) -> Error {
    match e {
        Error::Numerical(msg) => Error::Numerical(format!("{label}: {msg}")),
        other => other,
    }
}

/// The logistic-GD run (ratio ri, eta ei, seed s) as errors name it.
fn gd_label(g: &GdSpec, ri: usize, ei: usize, s: usize) -> String {
    let (r, eta, n) = (g.p_over_n[ri], g.eta[ei], g.n);
    format!("logistic GD run p/n = {r}, n = {n}, eta = {eta}, seed {s}")
}

/// The stream index of grid job (ratio ri, size ni, seed s): stable when seeds are added.
fn grid_stream(ri: usize, ni: usize, s: usize) -> u64 {
    GRID_STREAMS.index(&[ri, ni, s])
}

fn run_grid_job(
    spec: &LabelNoiseSpec,
    seed: u64,
    ri: usize,
    ni: usize,
    s: usize,
) -> Result<JobRecord> {
    let n = spec.data.n[ni];
    let p = p_of(spec.data.p_over_n[ri], n);
    let stream = grid_stream(ri, ni, s);
    let sample = mixture(spec, p).sample(n, &mut crate::rng::stream(seed, stream, "data"));
    let x = sample.x.view();
    // X X^T is positive definite when the working dimension is >= n (p > n).
    let gram = if x.ncols() >= n {
        Some(GramFactor::new(x)?)
    } else {
        None
    };
    let mut runs = Vec::with_capacity(spec.data.eta.len());
    for (ei, &eta) in spec.data.eta.iter().enumerate() {
        let mut rng = crate::rng::stream(seed, stream, &format!("flip{ei}"));
        let y = noisy_labels(&sample, eta, spec.data.flip_rule, &mut rng);
        let at_eta = |e| in_run(format!("eta = {eta}"), e);
        let w_mn = match &gram {
            Some(g) => x
                .t()
                .dot(&g.interpolator_coefficients(y.view()).map_err(at_eta)?),
            None => min_norm_solution(x, y.view()).map_err(at_eta)?.0,
        };
        let svm = match &gram {
            Some(g) => {
                let q = signed_gram(g.gram.view(), y.view());
                let sol = svm_active_set(q.view(), &spec.svm)
                    .map_err(|e| Error::Numerical(format!("eta = {eta}: SVM: {e}")))?;
                let w = sol.weights(x, y.view());
                let support = sol.support_count(1e-9);
                Some(SvmRun {
                    snr: snr(w.view(), &sample),
                    all_support: support == n,
                    support,
                    one_minus_cos: 1.0 - cosine(w.view(), w_mn.view()),
                    gap: sol.gap,
                    converged: sol.converged,
                    fallback: sol.method != SvmMethod::ActiveSet,
                })
            }
            None => None,
        };
        runs.push(EtaRun {
            snr_min_norm: snr(w_mn.view(), &sample),
            train_accuracy_min_norm: training_accuracy(x, y.view(), w_mn.view()),
            svm,
        });
    }
    Ok(JobRecord { runs })
}

/// The logistic-GD runs' logged steps: `log_schedule(steps, dense, ratio)`
/// with (dense, ratio) = `GD_LOG`; each logged step keeps a trace row, 4
/// metric rows and a gd.csv row (`studies::memory::label_noise`).
pub const GD_LOG: (usize, f64) = (10, 1.25);

fn run_gd_job(
    spec: &LabelNoiseSpec,
    g: &GdSpec,
    seed: u64,
    ri: usize,
    ei: usize,
    s: usize,
) -> Result<GdRecord> {
    let n = g.n;
    let p = p_of(g.p_over_n[ri], n);
    let stream = GD_STREAMS.index(&[ri, ei, s]);
    let sample = mixture(spec, p).sample(n, &mut crate::rng::stream(seed, stream, "data"));
    let y = noisy_labels(
        &sample,
        g.eta[ei],
        spec.data.flip_rule,
        &mut crate::rng::stream(seed, stream, "flip"),
    );
    let x = sample.x.view();
    let gram = GramFactor::new(x)?;
    let q = signed_gram(gram.gram.view(), y.view());
    let sol = svm_active_set(q.view(), &spec.svm)?;
    let w_svm = sol.weights(x, y.view());
    let svm_margin = 1.0 / w_svm.dot(&w_svm).sqrt();
    let lr = g.lr_factor / logistic_smoothness(x)?;
    let mut gd = LogisticGd::new(x, y.view(), lr);
    let schedule = log_schedule(g.steps, GD_LOG.0, GD_LOG.1, &[]);
    let mut trace = Vec::new();
    for &t in schedule.iter().filter(|&&t| t > 0) {
        while gd.step_count() < t {
            gd.step();
        }
        let w = gd.weights();
        let norm = w.dot(&w).sqrt();
        let min_margin = gd.margins().iter().cloned().fold(f64::INFINITY, f64::min);
        if !norm.is_finite() {
            return Err(Error::Numerical(format!("||w|| = {norm} at step {t}")));
        }
        trace.push([
            t as f64,
            1.0 - cosine(w, w_svm.view()),
            min_margin / norm / svm_margin,
            training_accuracy(x, y.view(), w),
            snr(w, &sample),
        ]);
    }
    Ok(GdRecord {
        svm_snr: snr(w_svm.view(), &sample),
        trace,
    })
}

// ---------------------------------------------------------------- the study

/// The experiment, prepared: sweep 0 is the grid, one unit per (p/n, n,
/// seed) fitting every eta; sweep 1 the logistic-GD runs, if the spec has
/// them.
struct Run {
    spec: LabelNoiseSpec,
    seed: u64,
    name: String,
    /// The grid's (p/n index, n index, seed) units.
    jobs: Vec<(usize, usize, usize)>,
    /// The logistic-GD (p/n index, eta index, seed) units.
    gd_jobs: Vec<(usize, usize, usize)>,
}

/// The grid's (p/n index, n index, seed) units in run order (cells.csv's
/// order, each unit's rows one per eta).
fn grid_jobs(spec: &LabelNoiseSpec) -> Vec<(usize, usize, usize)> {
    let d = &spec.data;
    let seeds = d.seeds;
    (0..d.p_over_n.len())
        .flat_map(|ri| (0..d.n.len()).flat_map(move |ni| (0..seeds).map(move |s| (ri, ni, s))))
        .collect()
}

/// The logistic-GD (p/n index, eta index, seed) units in run order.
fn gd_jobs(spec: &LabelNoiseSpec) -> Vec<(usize, usize, usize)> {
    spec.logistic_gd.as_ref().map_or(Vec::new(), |g| {
        let gd_seeds = g.seeds;
        (0..g.p_over_n.len())
            .flat_map(|ri| {
                (0..g.eta.len()).flat_map(move |ei| (0..gd_seeds).map(move |s| (ri, ei, s)))
            })
            .collect()
    })
}

pub fn plan(loaded: &LoadedSpec, _: &RunContext) -> Result<Box<dyn Plan>> {
    let spec: LabelNoiseSpec = loaded.study_section()?;
    Ok(Box::new(Run {
        seed: loaded.header.seed,
        name: loaded.header.name.clone(),
        jobs: grid_jobs(&spec),
        gd_jobs: gd_jobs(&spec),
        spec,
    }))
}

impl Plan for Run {
    /// Costs: n^2 p per eta for a grid unit (the Gram matrix and the SVM's
    /// dual), steps n p for a GD run.
    fn sweeps(&self) -> Vec<Sweep> {
        let d = &self.spec.data;
        let grid = self.jobs.iter().map(|&(ri, ni, _)| {
            let n = d.n[ni];
            (n * n * p_of(d.p_over_n[ri], n) * d.eta.len()) as f64
        });
        let mut sweeps = vec![Sweep::new(&self.name, grid.collect())];
        if let Some(g) = &self.spec.logistic_gd {
            let gd = self
                .gd_jobs
                .iter()
                .map(|&(ri, _, _)| (g.steps * g.n * p_of(g.p_over_n[ri], g.n)) as f64);
            sweeps.push(Sweep::new("logistic_gd", gd.collect()));
        }
        sweeps
    }

    fn run_unit(&self, sweep: usize, i: usize) -> Result<UnitResult> {
        match (sweep, &self.spec.logistic_gd) {
            (0, _) => {
                let (ri, ni, s) = self.jobs[i];
                let (r, n) = (self.spec.data.p_over_n[ri], self.spec.data.n[ni]);
                let run = run_grid_job(&self.spec, self.seed, ri, ni, s);
                let label = format!("grid run p/n = {r}, n = {n}, seed {s}");
                UnitResult::of(run.map_err(|e| in_run(label, e)))
            }
            (_, Some(g)) => {
                let (ri, ei, s) = self.gd_jobs[i];
                let run = run_gd_job(&self.spec, g, self.seed, ri, ei, s);
                UnitResult::of(run.map_err(|e| in_run(gd_label(g, ri, ei, s), e)))
            }
            (_, None) => unreachable!("no GD sweep without [logistic_gd]"),
        }
    }

    fn findings(self: Box<Self>, mut results: Results) -> Result<Findings> {
        let (spec, jobs) = (&self.spec, &self.jobs);
        let records: Vec<JobRecord> = results.take(0)?;
        let mut metrics = Metrics::default();
        let (rows, solver) = record_grid(spec, jobs, &records, &mut metrics);
        let (gd_rows, gd_seconds) = match &spec.logistic_gd {
            Some(g) => {
                let gd_records: Vec<GdRecord> = results.take(1)?;
                let rows = record_gd(g, &self.gd_jobs, &gd_records, &mut metrics);
                (rows, results.seconds(1))
            }
            None => (Vec::new(), 0.0),
        };

        let (claims, mut details) = claims::analyze(spec, &rows, &gd_rows);
        details.insert("grid_runs".into(), serde_json::json!(jobs.len()));
        details.insert("grid_classifier_fits".into(), serde_json::json!(rows.len()));
        details.insert("grid_seconds".into(), serde_json::json!(results.seconds(0)));
        details.insert("logistic_gd_seconds".into(), serde_json::json!(gd_seconds));
        details.insert(
            "svm_solver".into(),
            serde_json::json!({
                "method": "primal-dual active set on the dual (Cholesky per iteration), coordinate-ascent fallback; stop on relative duality gap",
                "gap_tolerance": spec.svm.gap_tolerance,
                "max_gap": solver.max_gap,
                "fallbacks": solver.fallbacks,
                "not_converged": solver.unconverged,
            }),
        );
        Ok(Findings {
            metrics,
            claims,
            details: serde_json::Value::Object(details),
            extra_files: vec![
                ("cells.csv".into(), to_csv(&rows)),
                ("gd.csv".into(), to_csv(&gd_rows)),
            ],
        })
    }
}

/// How the SVM solver fared over the grid (for the summary).
#[derive(Default)]
struct SolverStats {
    /// Fits that fell back from the active set to coordinate ascent.
    fallbacks: usize,
    unconverged: usize,
    /// The largest relative duality gap at the end.
    max_gap: f64,
}

/// The grid's measurements of each (job, eta) into `metrics` (run id
/// `r{p/n}_n{n}_eta{eta}:{seed}`), and the rows of cells.csv.
fn record_grid(
    spec: &LabelNoiseSpec,
    jobs: &[(usize, usize, usize)],
    records: &[JobRecord],
    metrics: &mut Metrics,
) -> (Vec<Row>, SolverStats) {
    let d = &spec.data;
    let mut rows = Vec::new();
    let mut solver = SolverStats::default();
    for (&(ri, ni, s), rec) in jobs.iter().zip(records) {
        let (ratio, n) = (d.p_over_n[ri], d.n[ni]);
        let p = p_of(ratio, n);
        for (ei, run) in rec.runs.iter().enumerate() {
            let eta = d.eta[ei];
            let label = format!("r{ratio}_n{n}_eta{eta}:{s}");
            let clean = normal_cdf(-run.snr_min_norm);
            metrics.push(&label, 0, "test", "snr_min_norm", run.snr_min_norm);
            metrics.push(&label, 0, "test", "clean_error_min_norm", clean);
            metrics.push(
                &label,
                0,
                "test",
                "noisy_error_min_norm",
                noisy_label_error(clean, eta),
            );
            metrics.push(
                &label,
                0,
                "train",
                "accuracy_min_norm",
                run.train_accuracy_min_norm,
            );
            if let Some(sv) = &run.svm {
                metrics.push(&label, 0, "test", "snr_svm", sv.snr);
                metrics.push(&label, 0, "test", "clean_error_svm", normal_cdf(-sv.snr));
                metrics.push(
                    &label,
                    0,
                    "svm",
                    "all_support_vectors",
                    f64::from(u8::from(sv.all_support)),
                );
                metrics.push(&label, 0, "svm", "support_vectors", sv.support as f64);
                metrics.push(
                    &label,
                    0,
                    "svm",
                    "one_minus_cos_to_min_norm",
                    sv.one_minus_cos,
                );
                metrics.push(&label, 0, "svm", "duality_gap", sv.gap);
                solver.fallbacks += usize::from(sv.fallback);
                solver.unconverged += usize::from(!sv.converged);
                solver.max_gap = solver.max_gap.max(sv.gap);
            }
            rows.push(Row {
                p_over_n: ratio,
                n,
                p,
                eta,
                seed: s,
                snr_min_norm: run.snr_min_norm,
                train_accuracy_min_norm: run.train_accuracy_min_norm,
                snr_svm: run.svm.as_ref().map_or(f64::NAN, |v| v.snr),
                all_support: run
                    .svm
                    .as_ref()
                    .map_or(f64::NAN, |v| f64::from(u8::from(v.all_support))),
                one_minus_cos: run.svm.as_ref().map_or(f64::NAN, |v| v.one_minus_cos),
            });
        }
    }
    (rows, solver)
}

/// The logistic-GD runs: each trajectory into `metrics` (run id
/// `gd_r{p/n}_eta{eta}:{seed}`, split "gd"), and gd.csv's rows.
fn record_gd(
    g: &GdSpec,
    gd_jobs: &[(usize, usize, usize)],
    gd_records: &[GdRecord],
    metrics: &mut Metrics,
) -> Vec<GdRow> {
    let mut gd_rows = Vec::new();
    for (&(ri, ei, s), rec) in gd_jobs.iter().zip(gd_records) {
        let (ratio, eta) = (g.p_over_n[ri], g.eta[ei]);
        let label = format!("gd_r{ratio}_eta{eta}:{s}");
        for row in &rec.trace {
            let t = row[0] as u64;
            metrics.push(&label, t, "gd", "one_minus_cos_to_svm", row[1]);
            metrics.push(&label, t, "gd", "margin_ratio", row[2]);
            metrics.push(&label, t, "gd", "train_accuracy", row[3]);
            metrics.push(&label, t, "gd", "snr", row[4]);
            gd_rows.push(GdRow {
                p_over_n: ratio,
                eta,
                seed: s,
                step: t,
                one_minus_cos: row[1],
                margin_ratio: row[2],
                train_accuracy: row[3],
                snr: row[4],
                svm_snr: rec.svm_snr,
            });
        }
    }
    gd_rows
}

/// The study `study = "label_noise"`.
pub const STUDY: StudyFns = StudyFns {
    name: "label_noise",
    run_keys: RUN_KEYS,
    validate,
    plan,
    figures: plot,
    peak_memory: super::memory::label_noise,
    rejudge: Some(csv::rejudge),
};

#[cfg(test)]
mod tests;
