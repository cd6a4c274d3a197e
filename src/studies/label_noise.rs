//! Study 3: label noise under mild overparameterization: the phase change
//! (Wen, Teng, Zhang, ICLR 2023, arXiv 2206.00501).
//!
//! The paper's own model and theorem could not be recovered, so the claims
//! are tested in the standard model of this line of work (papers.md S3):
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

use std::path::Path;
use std::time::Instant;

use ndarray::{Array1, ArrayView1};
use serde::{Deserialize, Serialize};

use super::toolkit::log_schedule;
use super::{Findings, StudyFns};
use crate::data::gaussian_mixture::{GaussianMixture, MixtureSample, NoiseSpectrum};
use crate::data::label_noise::{flip_binary, FlipRule};
use crate::error::{Error, Result};
use crate::nets::linear::{
    cosine, logistic_smoothness, min_norm_solution, signed_gram, svm_active_set, training_accuracy,
    GramFactor, LogisticGd, SvmMethod, SvmOptions,
};
use crate::plot::{self, HLine, HeatmapPanel, LinePanel, Series};
use crate::record::{quantile, Claim, Measured, Metrics, Prediction, RunDir};
use crate::rng::Numbering;
use crate::runner::{elapsed, sweep, RunContext};
use crate::spec::LoadedSpec;
use crate::theory::label_noise::{
    bayes_error, floor_boundary, limit_snr, normal_cdf, MinNormTheory, Regime, RegimeRule,
};

const SRC: &str = "Wen, Teng, Zhang ICLR 2023 (arXiv 2206.00501)";
const MODEL_NOTE: &str = "the paper's own model is not recoverable; tested in the standard Gaussian-mixture model x = y mu + N(0, I_p) with linear classifiers (papers.md S3)";

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
}

fn one() -> f64 {
    1.0
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
    /// Largest mean |measured SVP fraction - predicted probability| over cells.
    pub svp_calibration: f64,
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
            svp_calibration: 0.1,
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
fn p_of(ratio: f64, n: usize) -> usize {
    ((ratio * n as f64).round() as usize).max(1)
}

fn position(values: &[f64], x: f64) -> Option<usize> {
    values
        .iter()
        .position(|&v| (v - x).abs() <= 1e-12 * x.abs().max(1.0))
}

/// Validation of everything the types cannot express; returns the resolved spec text.
pub fn validate(spec: &LoadedSpec) -> Result<String> {
    let s: LabelNoiseSpec = spec.study_section()?;
    let bad = |k: &str, m: String| Err(spec.bad_value(k, m));
    let d = &s.data;
    if d.n.len() < 2 || d.n.windows(2).any(|w| w[0] >= w[1]) || d.n[0] < 4 {
        return bad(
            "data.n",
            "needs at least two increasing sizes, each >= 4".into(),
        );
    }
    if *d.n.last().unwrap() > 4000 {
        return bad(
            "data.n",
            "sizes above 4000 need an n x n Gram matrix per run that does not fit the time budget"
                .into(),
        );
    }
    if d.p_over_n.is_empty() || d.p_over_n.windows(2).any(|w| w[0] >= w[1]) {
        return bad("data.p_over_n", "needs increasing ratios".into());
    }
    for &r in &d.p_over_n {
        if !(r.is_finite() && r > 0.0) {
            return bad("data.p_over_n", format!("{r} is not a positive number"));
        }
        for &n in &d.n {
            let p = p_of(r, n);
            if p + 2 >= n && p <= n + 2 {
                return bad(
                    "data.p_over_n",
                    format!("ratio {r} gives p = {p} within 2 of n = {n} (the interpolation peak, where X X^T or X^T X is near singular); move it away from 1"),
                );
            }
            if p > 5_000_000 && d.noise != NoiseSpectrum::Isotropic {
                return bad(
                    "data.noise",
                    format!("p = {p}: anisotropic noise needs explicit vectors that do not fit in memory"),
                );
            }
        }
    }
    if d.eta.is_empty() || d.eta.iter().any(|e| !(0.0..0.5).contains(e)) {
        return bad("data.eta", "needs rates in [0, 0.5)".into());
    }
    super::toolkit::check_unique(spec, "data.eta[{}]", &d.eta)?;
    if d.seeds == 0 {
        return bad("data.seeds", "must be >= 1".into());
    }
    if !(d.signal.coefficient.is_finite()
        && d.signal.coefficient >= 0.0
        && d.signal.p_exponent.is_finite())
    {
        return bad(
            "data.signal",
            "coefficient must be >= 0 and p_exponent finite".into(),
        );
    }
    if let NoiseSpectrum::PowerLaw { exponent } = d.noise {
        if !(exponent.is_finite() && exponent >= 0.0) {
            return bad("data.noise.exponent", "must be >= 0".into());
        }
    }
    let c = &s.claims;
    match position(&d.p_over_n, c.mild_ratio) {
        Some(_) if c.mild_ratio > 1.0 => {}
        _ => {
            return bad(
                "claims.mild_ratio",
                format!("{} must be one of data.p_over_n and > 1", c.mild_ratio),
            )
        }
    }
    for &r in &s.figures.error_vs_n_ratios {
        if position(&d.p_over_n, r).is_none() {
            return bad(
                "figures.error_vs_n_ratios",
                format!("{r} is not in data.p_over_n"),
            );
        }
    }
    if !(s.svm.gap_tolerance > 0.0 && s.svm.max_sweeps > 0) {
        return bad(
            "svm",
            "gap_tolerance must be > 0 and max_sweeps >= 1".into(),
        );
    }
    if let Some(g) = &s.logistic_gd {
        if g.n < 4 || g.seeds == 0 || g.steps < 100 || g.eta.is_empty() || g.p_over_n.is_empty() {
            return bad(
                "logistic_gd",
                "needs n >= 4, seeds >= 1, steps >= 100, eta and p_over_n".into(),
            );
        }
        super::toolkit::check_unique(spec, "logistic_gd.p_over_n[{}]", &g.p_over_n)?;
        super::toolkit::check_unique(spec, "logistic_gd.eta[{}]", &g.eta)?;
        for &r in &g.p_over_n {
            if p_of(r, g.n) <= g.n + 2 {
                return bad(
                    "logistic_gd.p_over_n",
                    format!("{r}: GD runs need p > n + 2 (separable data)"),
                );
            }
        }
        if g.eta.iter().any(|e| !(0.0..0.5).contains(e)) {
            return bad("logistic_gd.eta", "needs rates in [0, 0.5)".into());
        }
        if !(g.lr_factor > 0.0 && g.lr_factor < 2.0) {
            return bad(
                "logistic_gd.lr_factor",
                "must be in (0, 2): GD on an L-smooth loss needs lr < 2/L".into(),
            );
        }
    }
    Ok(spec.resolved_toml(&s))
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
        let w_mn = match &gram {
            Some(g) => x.t().dot(&g.interpolator_coefficients(y.view())?),
            None => min_norm_solution(x, y.view())?.0,
        };
        let svm = match &gram {
            Some(g) => {
                let q = signed_gram(g.gram.view(), y.view());
                let sol = svm_active_set(q.view(), &spec.svm).map_err(|e| {
                    Error::Numerical(format!(
                        "SVM at p/n = {}, n = {n}, eta = {eta}, seed {s}: {e}",
                        spec.data.p_over_n[ri]
                    ))
                })?;
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
    let schedule = log_schedule(g.steps, 10, 1.25, &[]);
    let mut trace = Vec::new();
    for &t in schedule.iter().filter(|&&t| t > 0) {
        while gd.step_count() < t {
            gd.step();
        }
        let w = gd.weights();
        let norm = w.dot(&w).sqrt();
        let min_margin = gd.margins().iter().cloned().fold(f64::INFINITY, f64::min);
        if !norm.is_finite() {
            return Err(Error::Numerical(format!(
                "logistic GD: ||w|| = {norm} at step {t}"
            )));
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

// ---------------------------------------------------------------- tables

/// One row of cells.csv: a (p/n, n, eta, seed) run of the grid.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Row {
    p_over_n: f64,
    n: usize,
    p: usize,
    eta: f64,
    seed: usize,
    snr_min_norm: f64,
    train_accuracy_min_norm: f64,
    /// NaN when the SVM was not computed (p < n).
    snr_svm: f64,
    all_support: f64,
    one_minus_cos: f64,
}

/// One row of gd.csv.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct GdRow {
    p_over_n: f64,
    eta: f64,
    seed: usize,
    step: u64,
    one_minus_cos: f64,
    margin_ratio: f64,
    train_accuracy: f64,
    snr: f64,
    svm_snr: f64,
}

fn to_csv<T: Serialize>(rows: &[T]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r).expect("rows serialise");
    }
    String::from_utf8(w.into_inner().expect("in-memory writer")).expect("utf8")
}

fn read_csv<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
    let mut rdr =
        csv::Reader::from_path(path).map_err(|e| Error::bad(format!("{}: {e}", path.display())))?;
    rdr.deserialize()
        .enumerate()
        .map(|(i, r)| r.map_err(|e| Error::bad(format!("{}: row {}: {e}", path.display(), i + 2))))
        .collect()
}

/// The grid's runs by cell (ratio, n, eta) -> rows over seeds.
struct Grid<'a> {
    spec: &'a LabelNoiseSpec,
    cells: Vec<Vec<Vec<Vec<&'a Row>>>>,
}

impl<'a> Grid<'a> {
    fn new(spec: &'a LabelNoiseSpec, rows: &'a [Row]) -> Self {
        let d = &spec.data;
        let mut cells = vec![vec![vec![Vec::new(); d.eta.len()]; d.n.len()]; d.p_over_n.len()];
        for r in rows {
            if let (Some(ri), Some(ni), Some(ei)) = (
                position(&d.p_over_n, r.p_over_n),
                d.n.iter().position(|&n| n == r.n),
                position(&d.eta, r.eta),
            ) {
                cells[ri][ni][ei].push(r);
            }
        }
        Grid { spec, cells }
    }

    fn values(&self, ri: usize, ni: usize, ei: usize, f: impl Fn(&Row) -> f64) -> Vec<f64> {
        self.cells[ri][ni][ei]
            .iter()
            .map(|r| f(r))
            .filter(|v| v.is_finite())
            .collect()
    }

    fn median_snr(&self, ri: usize, ni: usize, ei: usize) -> f64 {
        quantile(&self.values(ri, ni, ei, |r| r.snr_min_norm), 0.5)
    }

    fn median_svm_snr(&self, ri: usize, ni: usize, ei: usize) -> f64 {
        quantile(&self.values(ri, ni, ei, |r| r.snr_svm), 0.5)
    }

    fn p(&self, ri: usize, ni: usize) -> usize {
        p_of(self.spec.data.p_over_n[ri], self.spec.data.n[ni])
    }

    fn flip_fraction(&self, ni: usize, ei: usize) -> f64 {
        let (n, eta) = (self.spec.data.n[ni] as f64, self.spec.data.eta[ei]);
        match self.spec.data.flip_rule {
            FlipRule::Exact => (eta * n).round() / n,
            FlipRule::Bernoulli => eta,
        }
    }

    fn theory(&self, ri: usize, ni: usize, ei: usize) -> MinNormTheory {
        let p = self.p(ri, ni);
        MinNormTheory {
            n: self.spec.data.n[ni] as f64,
            p: p as f64,
            mu_norm_sq: self.spec.data.signal.mu_norm_sq(p),
            flip_fraction: self.flip_fraction(ni, ei),
        }
    }

    /// Theory applies: isotropic noise (the closed forms assume it).
    fn has_theory(&self) -> bool {
        self.spec.data.noise == NoiseSpectrum::Isotropic
    }

    fn bayes(&self, ri: usize, ni: usize) -> f64 {
        bayes_error(self.spec.data.signal.mu_norm_sq(self.p(ri, ni)).sqrt())
    }

    /// Measured regime of cell (ratio, eta) over n, from median clean errors.
    fn measured_regime(&self, ri: usize, ei: usize, svm: bool) -> Option<Regime> {
        let nn = self.spec.data.n.len();
        let errors: Vec<f64> = (0..nn)
            .map(|ni| {
                let s = if svm {
                    self.median_svm_snr(ri, ni, ei)
                } else {
                    self.median_snr(ri, ni, ei)
                };
                normal_cdf(-s)
            })
            .collect();
        if errors.iter().any(|e| !e.is_finite()) {
            return None;
        }
        let bayes: Vec<f64> = (0..nn).map(|ni| self.bayes(ri, ni)).collect();
        Some(self.spec.claims.regime.classify(&errors, &bayes))
    }

    /// Theory's regime of the cell: the same rule on the closed-form curve.
    fn theory_regime(&self, ri: usize, ei: usize) -> Option<Regime> {
        let nn = self.spec.data.n.len();
        let errors: Option<Vec<f64>> = (0..nn)
            .map(|ni| self.theory(ri, ni, ei).clean_error())
            .collect();
        let bayes: Vec<f64> = (0..nn).map(|ni| self.bayes(ri, ni)).collect();
        errors.map(|e| self.spec.claims.regime.classify(&e, &bayes))
    }

    /// Measured benign boundaries for eta: (largest benign ratio below 1 with all
    /// smaller ratios benign, smallest benign ratio above 1 with all larger benign).
    fn benign_boundary(&self, ei: usize, svm: bool) -> (f64, f64) {
        let ratios = &self.spec.data.p_over_n;
        let benign = |ri: usize| self.measured_regime(ri, ei, svm) == Some(Regime::Benign);
        let mut low = f64::NAN;
        for (ri, &r) in ratios.iter().enumerate().filter(|(_, &r)| r < 1.0) {
            if benign(ri) {
                low = r;
            } else {
                break;
            }
        }
        let mut high = f64::NAN;
        for (ri, &r) in ratios.iter().enumerate().rev().filter(|(_, &r)| r > 1.0) {
            if benign(ri) {
                high = r;
            } else {
                break;
            }
        }
        (low, high)
    }
}

/// Spearman rank correlation (average ranks for ties).
fn spearman(x: &[f64], y: &[f64]) -> f64 {
    fn ranks(v: &[f64]) -> Vec<f64> {
        let mut idx: Vec<usize> = (0..v.len()).collect();
        idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
        let mut r = vec![0.0; v.len()];
        let mut i = 0;
        while i < idx.len() {
            let mut j = i;
            while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
                j += 1;
            }
            let avg = (i + j) as f64 / 2.0;
            for k in i..=j {
                r[idx[k]] = avg;
            }
            i = j + 1;
        }
        r
    }
    let (rx, ry) = (ranks(x), ranks(y));
    let n = x.len() as f64;
    let (mx, my) = (rx.iter().sum::<f64>() / n, ry.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in rx.iter().zip(&ry) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    if sxx == 0.0 || syy == 0.0 {
        0.0
    } else {
        sxy / (sxx * syy).sqrt()
    }
}

// ---------------------------------------------------------------- the study

pub fn run(loaded: &LoadedSpec, ctx: &RunContext) -> Result<Findings> {
    let spec: LabelNoiseSpec = loaded.study_section()?;
    let seed = loaded.header.seed;
    let d = &spec.data;
    let seeds = d.seeds;
    let jobs: Vec<(usize, usize, usize)> = (0..d.p_over_n.len())
        .flat_map(|ri| (0..d.n.len()).flat_map(move |ni| (0..seeds).map(move |s| (ri, ni, s))))
        .collect();
    let grid_start = Instant::now();
    let records = sweep(ctx, &loaded.header.name, jobs.len(), |i| {
        let (ri, ni, s) = jobs[i];
        run_grid_job(&spec, seed, ri, ni, s)
    })?;
    let grid_seconds = elapsed(grid_start);

    let mut metrics = Metrics::default();
    let mut rows = Vec::new();
    let mut svm_fallbacks = 0usize;
    let mut svm_unconverged = 0usize;
    let mut max_gap = 0.0f64;
    for (&(ri, ni, s), rec) in jobs.iter().zip(&records) {
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
                crate::theory::label_noise::noisy_label_error(clean, eta),
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
                svm_fallbacks += usize::from(sv.fallback);
                svm_unconverged += usize::from(!sv.converged);
                max_gap = max_gap.max(sv.gap);
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

    let mut gd_rows = Vec::new();
    let mut gd_seconds = 0.0;
    if let Some(g) = &spec.logistic_gd {
        let gd_seeds = g.seeds;
        let gd_jobs: Vec<(usize, usize, usize)> = (0..g.p_over_n.len())
            .flat_map(|ri| {
                (0..g.eta.len()).flat_map(move |ei| (0..gd_seeds).map(move |s| (ri, ei, s)))
            })
            .collect();
        let gd_start = Instant::now();
        let gd_records = sweep(ctx, "logistic_gd", gd_jobs.len(), |i| {
            let (ri, ei, s) = gd_jobs[i];
            run_gd_job(&spec, g, seed, ri, ei, s)
        })?;
        gd_seconds = elapsed(gd_start);
        for (&(ri, ei, s), rec) in gd_jobs.iter().zip(&gd_records) {
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
    }

    let (claims, mut details) = analyze(&spec, &rows, &gd_rows, seeds);
    details.insert("grid_runs".into(), serde_json::json!(jobs.len()));
    details.insert("grid_classifier_fits".into(), serde_json::json!(rows.len()));
    details.insert("grid_seconds".into(), serde_json::json!(grid_seconds));
    details.insert("logistic_gd_seconds".into(), serde_json::json!(gd_seconds));
    details.insert(
        "svm_solver".into(),
        serde_json::json!({
            "method": "primal-dual active set on the dual (Cholesky per iteration), coordinate-ascent fallback; stop on relative duality gap",
            "gap_tolerance": spec.svm.gap_tolerance,
            "max_gap": max_gap,
            "fallbacks": svm_fallbacks,
            "not_converged": svm_unconverged,
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

fn regime_name(r: Option<Regime>) -> &'static str {
    match r {
        Some(Regime::Benign) => "benign",
        Some(Regime::Tempered) => "tempered",
        Some(Regime::Catastrophic) => "catastrophic",
        None => "n/a",
    }
}

/// The claims (predictions from theory only) and the summary details.
fn analyze(
    spec: &LabelNoiseSpec,
    rows: &[Row],
    gd_rows: &[GdRow],
    seeds: usize,
) -> (Vec<Claim>, serde_json::Map<String, serde_json::Value>) {
    let grid = Grid::new(spec, rows);
    let d = &spec.data;
    let c = &spec.claims;
    let tol = c.snr_tolerance;
    let (nmin_i, nmax_i) = (0, d.n.len() - 1);
    let (nmin, nmax) = (d.n[nmin_i], d.n[nmax_i]);
    let mild = position(&d.p_over_n, c.mild_ratio).expect("validated");
    let r_mild = d.p_over_n[mild];
    let mut claims = Vec::new();
    let mut details = serde_json::Map::new();
    let snr_at = |ri: usize, ni: usize, ei: usize| grid.values(ri, ni, ei, |r| r.snr_min_norm);
    let fmt = crate::record::fmt_num;

    details.insert(
        "model".into(),
        serde_json::json!({
            "note": MODEL_NOTE,
            "signal": format!("||mu||^2 = {} p^{}", d.signal.coefficient, d.signal.p_exponent),
            "signal_reason": "||mu|| must grow for benign overfitting even without noise (SNR^2 ~ ||mu||^2/(1 + kappa) at eta = 0); at ||mu||^2 ~ sqrt(p) the classical condition n ||mu||^4 / p -> infinity holds as n grows at fixed p/n, so the only obstacle left is label noise",
            "noise": d.noise,
            "flip_rule": d.flip_rule,
            "min_norm": "p > n: interpolator X^T (X X^T)^-1 y (Cholesky of X X^T); p < n: least squares (X^T X)^-1 X^T y",
            "errors": "exact: clean = Phi(-<w,mu>/||w||), noisy = eta + (1 - 2 eta) clean; no Monte Carlo",
        }),
    );

    if grid.has_theory() {
        // --- eta = 0: benign.
        if let Some(e0) = position(&d.eta, 0.0) {
            let (th_min, th_max) = (grid.theory(mild, nmin_i, e0), grid.theory(mild, nmax_i, e0));
            let (s_min, s_max) = (th_min.snr().unwrap(), th_max.snr().unwrap());
            let meas_min = grid.median_snr(mild, nmin_i, e0);
            let meas_max = grid.median_snr(mild, nmax_i, e0);
            claims.push(Claim::new(
                "benign_without_noise.snr_growth",
                format!(
                    "eta = 0, p/n = {r_mild}: the clean error falls toward 0 as n grows from {nmin} to {nmax} (benign): the SNR <w,mu>/||w|| of the min-norm interpolator grows by the closed form's factor {} (clean error {} -> {}, limit 0 as ||mu|| -> infinity); measured: ratio of median SNRs",
                    fmt(s_max / s_min), fmt(normal_cdf(-s_min)), fmt(normal_cdf(-s_max))
                ),
                format!("{SRC}, phase change: benign without label noise ({MODEL_NOTE}); closed form in theory::label_noise, tolerance {tol} relative"),
                Prediction::AtLeast { bound: (1.0 - tol) * s_max / s_min },
                Measured::single(meas_max / meas_min).with_note(format!(
                    "median clean error {} at n = {nmin} -> {} at n = {nmax}",
                    fmt(normal_cdf(-meas_min)), fmt(normal_cdf(-meas_max))
                )),
            ));
            claims.push(Claim::new(
                "benign_without_noise.snr_level",
                format!("eta = 0, p/n = {r_mild}, n = {nmax}: median SNR of the min-norm interpolator equals the closed form (clean error {})", fmt(normal_cdf(-s_max))),
                format!("{SRC} standard model; closed form derived in theory::label_noise (deterministic equivalents), finite-n tolerance {tol} relative"),
                Prediction::Near { value: s_max, tolerance: tol * s_max },
                Measured::median_of(&snr_at(mild, nmax_i, e0)),
            ));
        }
        // --- eta > 0: the plateau at p/n = mild, and larger models.
        for (ei, &eta) in d.eta.iter().enumerate().filter(|(_, &e)| e > 0.0) {
            let ceiling = limit_snr(r_mild, grid.flip_fraction(nmax_i, ei));
            let th_max = grid.theory(mild, nmax_i, ei).snr().unwrap();
            claims.push(Claim::new(
                format!("noisy_plateau.eta{eta}.not_benign"),
                format!(
                    "eta = {eta}, p/n = {r_mild}: the clean error plateaus at a positive level as n grows (not benign): the SNR cannot exceed its n -> infinity ceiling sqrt((p/n - 1) s^2/(1 - s^2)) = {}, s = 1 - 2 eta, i.e. clean error >= {} at every n; measured: median SNR at n = {nmax}",
                    fmt(ceiling), fmt(normal_cdf(-ceiling))
                ),
                format!("{SRC}, phase change: label noise breaks benign overfitting under mild overparameterization ({MODEL_NOTE}); ceiling from the closed form's limit, +{tol} relative"),
                Prediction::AtMost { bound: ceiling * (1.0 + tol) },
                Measured::median_of(&snr_at(mild, nmax_i, ei)).with_note(format!(
                    "median clean error {} at n = {nmin}, {} at n = {nmax}",
                    fmt(normal_cdf(-grid.median_snr(mild, nmin_i, ei))),
                    fmt(normal_cdf(-grid.median_snr(mild, nmax_i, ei)))
                )),
            ).as_check());
            claims.push(Claim::new(
                format!("noisy_plateau.eta{eta}.snr_level"),
                format!("eta = {eta}, p/n = {r_mild}, n = {nmax}: median SNR equals the closed form (clean error {})", fmt(normal_cdf(-th_max))),
                format!("{SRC} standard model; closed form derived in theory::label_noise, tolerance {tol} relative"),
                Prediction::Near { value: th_max, tolerance: tol * th_max },
                Measured::median_of(&snr_at(mild, nmax_i, ei)),
            ));
            let over: Vec<usize> = (0..d.p_over_n.len())
                .filter(|&ri| d.p_over_n[ri] > 1.0)
                .collect();
            if over.len() >= 3 {
                let xs: Vec<f64> = over.iter().map(|&ri| d.p_over_n[ri]).collect();
                let ys: Vec<f64> = over
                    .iter()
                    .map(|&ri| grid.median_snr(ri, nmax_i, ei))
                    .collect();
                let (first, last) = (over[0], *over.last().unwrap());
                let th = |ri: usize| {
                    grid.theory(ri, nmax_i, ei)
                        .clean_error()
                        .unwrap_or(f64::NAN)
                };
                claims.push(Claim::new(
                    format!("larger_models_counter_noise.eta{eta}"),
                    format!(
                        "eta = {eta}, n = {nmax}: raising p/n lowers the clean error toward 0 (closed form: strictly increasing SNR in p/n, error {} at p/n = {} -> {} at p/n = {}; floor at n -> infinity {} -> {}); measured: Spearman correlation of median SNR with p/n over p/n > 1",
                        fmt(th(first)), d.p_over_n[first], fmt(th(last)), d.p_over_n[last],
                        fmt(normal_cdf(-limit_snr(d.p_over_n[first], grid.flip_fraction(nmax_i, ei)))),
                        fmt(normal_cdf(-limit_snr(d.p_over_n[last], grid.flip_fraction(nmax_i, ei))))
                    ),
                    format!("{SRC}, larger models counter label noise ({MODEL_NOTE}); theory rank correlation 1"),
                    Prediction::AtLeast { bound: c.rank_correlation },
                    Measured::single(spearman(&xs, &ys)).with_note(format!(
                        "median clean error {} at p/n = {} -> {} at p/n = {}",
                        fmt(normal_cdf(-ys[0])), xs[0], fmt(normal_cdf(-ys[ys.len() - 1])), xs[xs.len() - 1]
                    )),
                ));
            }
        }

        // --- Support-vector proliferation.
        let mut likely = (0.0, 0usize);
        let mut unlikely = (0.0, 0usize);
        let mut calibration = Vec::new();
        let mut svp_cells = Vec::new();
        for ri in 0..d.p_over_n.len() {
            for ni in 0..d.n.len() {
                for ei in 0..d.eta.len() {
                    let flags = grid.values(ri, ni, ei, |r| r.all_support);
                    let Some(prob) = grid.theory(ri, ni, ei).svp_probability() else {
                        continue;
                    };
                    if flags.is_empty() {
                        continue;
                    }
                    let frac = flags.iter().sum::<f64>() / flags.len() as f64;
                    calibration.push((frac - prob).abs());
                    if prob >= c.svp_likely {
                        likely.0 += flags.iter().sum::<f64>();
                        likely.1 += flags.len();
                    }
                    if prob <= c.svp_unlikely {
                        unlikely.0 += flags.iter().sum::<f64>();
                        unlikely.1 += flags.len();
                    }
                    svp_cells.push(serde_json::json!({
                        "p_over_n": d.p_over_n[ri], "n": d.n[ni], "eta": d.eta[ei],
                        "predicted_probability": prob, "measured_fraction": frac,
                        "p_over_n_ln_n": grid.p(ri, ni) as f64 / (d.n[ni] as f64 * (d.n[ni] as f64).ln()),
                    }));
                }
            }
        }
        let svp_src = "Hsu-Muthukumar-Xu 2021, Ardeshir-Sanford-Hsu 2021 (SVP once p >~ n log n); mixture-aware probability from the leave-one-out formula in theory::label_noise::MinNormTheory::svp_probability";
        if likely.1 > 0 {
            claims.push(Claim::new(
                "svp.coincide_where_predicted",
                format!("SVM and min-norm interpolator coincide (every point a support vector) in cells where the predicted P(SVP) >= {}: pooled fraction of runs", c.svp_likely),
                svp_src,
                Prediction::AtLeast { bound: c.svp_min_fraction },
                Measured { value: likely.0 / likely.1 as f64, q20: None, q80: None, runs: likely.1, note: String::new() },
            ));
        }
        if unlikely.1 > 0 {
            claims.push(Claim::new(
                "svp.differ_where_not_predicted",
                format!("SVM and min-norm interpolator differ (some point not a support vector) in cells where the predicted P(SVP) <= {} (below the transition): pooled fraction of runs with SVP", c.svp_unlikely),
                svp_src,
                Prediction::AtMost { bound: c.svp_max_fraction },
                Measured { value: unlikely.0 / unlikely.1 as f64, q20: None, q80: None, runs: unlikely.1, note: String::new() },
            ));
        }
        if !calibration.is_empty() {
            let mean = calibration.iter().sum::<f64>() / calibration.len() as f64;
            claims.push(Claim::new(
                "svp.probability_calibration",
                "mean over (p/n, n, eta) cells of |measured SVP fraction - predicted P(SVP)|",
                svp_src,
                Prediction::AtMost {
                    bound: c.svp_calibration,
                },
                Measured {
                    value: mean,
                    q20: None,
                    q80: None,
                    runs: calibration.len(),
                    note: format!("{} cells, {seeds} runs each", calibration.len()),
                },
            ));
        }
        details.insert(
            "support_vector_proliferation".into(),
            serde_json::Value::Array(svp_cells),
        );

        // --- The phase diagram: measured vs theory regimes.
        let mut cells = Vec::new();
        let (mut agree, mut total) = (0usize, 0usize);
        for ri in 0..d.p_over_n.len() {
            for ei in 0..d.eta.len() {
                let meas = grid.measured_regime(ri, ei, false);
                let th = grid.theory_regime(ri, ei);
                if let (Some(a), Some(b)) = (meas, th) {
                    total += 1;
                    agree += usize::from(a == b);
                }
                let ff = grid.flip_fraction(nmax_i, ei);
                cells.push(serde_json::json!({
                    "p_over_n": d.p_over_n[ri], "eta": d.eta[ei],
                    "regime_measured_min_norm": regime_name(meas),
                    "regime_measured_svm": regime_name(grid.measured_regime(ri, ei, true)),
                    "regime_theory": regime_name(th),
                    "median_clean_error_by_n": (0..d.n.len()).map(|ni| normal_cdf(-grid.median_snr(ri, ni, ei))).collect::<Vec<_>>(),
                    "theory_clean_error_by_n": (0..d.n.len()).map(|ni| grid.theory(ri, ni, ei).clean_error().unwrap_or(f64::NAN)).collect::<Vec<_>>(),
                    "bayes_error_by_n": (0..d.n.len()).map(|ni| grid.bayes(ri, ni)).collect::<Vec<_>>(),
                    "limit_error_floor": normal_cdf(-limit_snr(d.p_over_n[ri], ff)),
                }));
            }
        }
        if total > 0 {
            claims.push(Claim::new(
                "phase_diagram.regimes_match_theory",
                format!("fraction of (p/n, eta) cells whose measured regime (benign / tempered / catastrophic, rule: {}) equals the regime of the closed-form curve under the same rule", c.regime.describe()),
                format!("{SRC} phase diagram; Mallinar et al. NeurIPS 2022 taxonomy"),
                Prediction::AtLeast { bound: c.regime_agreement },
                Measured { value: agree as f64 / total as f64, q20: None, q80: None, runs: total, note: format!("{agree} of {total} cells") },
            ));
        }
        details.insert("regime_rule".into(), serde_json::json!(c.regime.describe()));
        details.insert("phase_cells".into(), serde_json::Value::Array(cells));
        let boundaries: Vec<serde_json::Value> = d
            .eta
            .iter()
            .enumerate()
            .map(|(ei, &eta)| {
                let (lo, hi) = grid.benign_boundary(ei, false);
                let th = floor_boundary(eta, c.regime.benign_excess);
                serde_json::json!({
                    "eta": eta,
                    "measured_benign_below_ratio": lo, "measured_benign_above_ratio": hi,
                    "limit_floor_below_benign_excess_ratios": th.map(|(a, b)| vec![a, b]),
                })
            })
            .collect();
        details.insert(
            "benign_boundary".into(),
            serde_json::Value::Array(boundaries),
        );
    } else {
        details.insert("theory".into(), serde_json::json!("the closed forms assume isotropic noise; theory-based claims are skipped for this spectrum"));
    }

    // --- Identity: SVP implies the same solution (always checkable).
    let svp_gaps: Vec<f64> = rows
        .iter()
        .filter(|r| r.all_support == 1.0)
        .map(|r| r.one_minus_cos)
        .collect();
    if !svp_gaps.is_empty() {
        let worst = svp_gaps.iter().cloned().fold(0.0f64, f64::max);
        claims.push(Claim::new(
            "svp.implies_equal_solutions",
            "when every point is a support vector the SVM solution is the min-norm interpolator: max over such runs of 1 - cos(w_svm, w_min_norm)",
            "KKT: all a_i > 0 forces every margin to 1, i.e. X w = y, whose min-norm solution is unique",
            Prediction::AtMost { bound: 1e-9 },
            Measured { value: worst, q20: None, q80: None, runs: svp_gaps.len(), note: String::new() },
        ).as_check());
    }
    // Interpolators fit every (noisy) label.
    let interp: Vec<f64> = rows
        .iter()
        .filter(|r| r.p > r.n)
        .map(|r| r.train_accuracy_min_norm)
        .collect();
    if !interp.is_empty() {
        let worst = interp.iter().cloned().fold(1.0f64, f64::min);
        claims.push(Claim::new(
            "min_norm.fits_noisy_labels",
            "for p > n the min-norm interpolator fits every noisy training label: smallest training accuracy over runs",
            "X^T (X X^T)^-1 y solves X w = y exactly when X has full row rank",
            Prediction::AtLeast { bound: 1.0 },
            Measured { value: worst, q20: None, q80: None, runs: interp.len(), note: String::new() },
        ).as_check());
    }

    // --- Logistic GD -> SVM direction.
    if let Some(g) = &spec.logistic_gd {
        let t_final = g.steps as f64;
        let t_early = t_final / 100.0;
        let mut ratios = Vec::new();
        let mut fits = (0usize, 0usize);
        let mut final_cos = Vec::new();
        let mut keys: Vec<(u64, u64, usize)> = gd_rows
            .iter()
            .map(|r| (r.p_over_n.to_bits(), r.eta.to_bits(), r.seed))
            .collect();
        keys.dedup();
        for key in keys {
            let run: Vec<&GdRow> = gd_rows
                .iter()
                .filter(|r| (r.p_over_n.to_bits(), r.eta.to_bits(), r.seed) == key)
                .collect();
            let Some(last) = run.last() else { continue };
            let early = run.iter().rfind(|r| r.step as f64 <= t_early);
            if let Some(e) = early {
                ratios.push(last.one_minus_cos / e.one_minus_cos);
            }
            fits.1 += 1;
            fits.0 += usize::from(last.train_accuracy == 1.0);
            final_cos.push(last.one_minus_cos);
        }
        let rate = t_early.ln() / t_final.ln();
        if !ratios.is_empty() {
            claims.push(Claim::new(
                "logistic_gd.direction_converges_to_svm",
                format!(
                    "logistic-loss GD's normalised direction converges to the hard-margin SVM's: 1 - cos(w(t), w_svm) at t = {} divided by its value at t = {} (median over runs; theory 1/log^2 t asymptotically, so the ratio is at most log(t_early)/log(t_final) = {} even at the slower 1/log t rate)",
                    g.steps, t_early as u64, fmt(rate)
                ),
                "Soudry, Hoffer, Nacson, Gunasekar, Srebro JMLR 2018 Theorem 3 (w(t) = w_svm log t + O(1))",
                Prediction::AtMost { bound: rate },
                Measured::median_of(&ratios).with_note(format!("median final 1 - cos = {}", fmt(quantile(&final_cos, 0.5)))),
            ));
            claims.push(Claim::new(
                "logistic_gd.fits_noisy_labels",
                format!("logistic GD reaches 100% training accuracy on the noisy labels by t = {} (fraction of runs)", g.steps),
                "separable data: the logistic loss -> 0 under GD with lr < 2/L (Soudry et al. 2018, Lemma 1)",
                Prediction::AtLeast { bound: 1.0 },
                Measured { value: fits.0 as f64 / fits.1.max(1) as f64, q20: None, q80: None, runs: fits.1, note: String::new() },
            ));
        }
    }
    (claims, details)
}

// ---------------------------------------------------------------- figures

/// Redraw every figure from cells.csv, gd.csv and the resolved spec.
pub fn plot(loaded: &LoadedSpec, dir: &Path) -> Result<()> {
    let spec: LabelNoiseSpec = loaded.study_section()?;
    let run_dir = RunDir::new(dir);
    let fig_dir = run_dir.figures();
    let rows: Vec<Row> = read_csv(&run_dir.file("cells.csv"))?;
    let grid = Grid::new(&spec, &rows);
    let d = &spec.data;
    let nmax_i = d.n.len() - 1;
    let nmax = d.n[nmax_i];
    let log_err = |s: f64| {
        if s.is_finite() {
            normal_cdf(-s).max(1e-300).log10()
        } else {
            f64::NAN
        }
    };

    // 1. Phase diagram: p/n by eta at the largest n, with benign boundaries.
    // One series per boundary: the p < n side, a NaN break, the p > n side.
    let boundary_series = |svm: bool| -> Vec<Series> {
        let mut measured = Series {
            label: "measured benign boundary".into(),
            markers: true,
            ..Default::default()
        };
        let (mut below, mut above) = (Vec::new(), Vec::new());
        for ei in 0..d.eta.len() {
            let (lo, hi) = grid.benign_boundary(ei, svm);
            below.push((lo, d.eta[ei]));
            above.push((hi, d.eta[ei]));
        }
        below.reverse();
        for (x, y) in below.into_iter().chain([(f64::NAN, f64::NAN)]).chain(above) {
            measured.x.push(x);
            measured.y.push(y);
        }
        let mut out = vec![measured];
        if grid.has_theory() {
            let mut limit = Series {
                label: format!(
                    "n -> inf: floor = {} (closed form)",
                    spec.claims.regime.benign_excess
                ),
                dashed: true,
                ..Default::default()
            };
            let top = d.eta.iter().cloned().fold(0.0, f64::max);
            let etas: Vec<f64> = (0..=40).map(|k| k as f64 * top / 40.0).collect();
            let side = |eta: f64| {
                floor_boundary(eta, spec.claims.regime.benign_excess).unwrap_or((1.0, 1.0))
            };
            for &eta in etas.iter().rev() {
                limit.x.push(side(eta).0);
                limit.y.push(eta);
            }
            for &eta in &etas {
                limit.x.push(side(eta).1);
                limit.y.push(eta);
            }
            out.push(limit);
        }
        out
    };
    let heat =
        |title: String, f: &dyn Fn(usize, usize) -> f64, overlays: Vec<Series>| HeatmapPanel {
            title,
            x_label: "p / n".into(),
            y_label: "label noise eta".into(),
            x_values: d.p_over_n.clone(),
            y_values: d.eta.clone(),
            values: (0..d.p_over_n.len())
                .map(|ri| (0..d.eta.len()).map(|ei| f(ri, ei)).collect())
                .collect(),
            value_label: "log10 median clean error".into(),
            value_range: Some((-8.0, 0.5f64.log10())),
            log_x: true,
            log_y: false,
            overlays,
        };
    let regime_code = |r: Option<Regime>| match r {
        Some(Regime::Benign) => 0.0,
        Some(Regime::Tempered) => 1.0,
        Some(Regime::Catastrophic) => 2.0,
        None => f64::NAN,
    };
    let mut panels = vec![
        heat(
            format!("min-norm interpolator / least squares, n = {nmax}"),
            &|ri, ei| log_err(grid.median_snr(ri, nmax_i, ei)),
            boundary_series(false),
        ),
        heat(
            format!("hard-margin SVM (p > n), n = {nmax}"),
            &|ri, ei| log_err(grid.median_svm_snr(ri, nmax_i, ei)),
            boundary_series(true),
        ),
    ];
    let mut regimes = heat(
        "measured regime over n (min-norm)".into(),
        &|ri, ei| regime_code(grid.measured_regime(ri, ei, false)),
        boundary_series(false),
    );
    regimes.value_label = "0 benign, 1 tempered, 2 catastrophic".into();
    regimes.value_range = Some((0.0, 2.0));
    panels.push(regimes);
    if grid.has_theory() {
        let mut th = heat(
            "closed-form regime over n".into(),
            &|ri, ei| regime_code(grid.theory_regime(ri, ei)),
            Vec::new(),
        );
        th.value_label = "0 benign, 1 tempered, 2 catastrophic".into();
        th.value_range = Some((0.0, 2.0));
        panels.push(th);
    }
    plot::heatmap_panels(&fig_dir.join("phase_diagram"), &panels, 2)?;

    // 2. Clean error vs n at fixed p/n, one panel per eta.
    let ratios: Vec<usize> = if spec.figures.error_vs_n_ratios.is_empty() {
        let mild = position(&d.p_over_n, spec.claims.mild_ratio).expect("validated");
        let mut v = vec![mild, d.p_over_n.len() - 1];
        v.dedup();
        v
    } else {
        spec.figures
            .error_vs_n_ratios
            .iter()
            .filter_map(|&r| position(&d.p_over_n, r))
            .collect()
    };
    let ns: Vec<f64> = d.n.iter().map(|&n| n as f64).collect();
    let mut line = Vec::new();
    for (ei, &eta) in d.eta.iter().enumerate() {
        let mut series = Vec::new();
        let mut hlines = Vec::new();
        for &ri in &ratios {
            let r = d.p_over_n[ri];
            let q = |ni: usize, level: f64| {
                normal_cdf(-quantile(
                    &grid.values(ri, ni, ei, |x| x.snr_min_norm),
                    1.0 - level,
                ))
            };
            series.push(Series {
                label: format!("p/n = {r} (simulation)"),
                x: ns.clone(),
                y: (0..d.n.len())
                    .map(|ni| normal_cdf(-grid.median_snr(ri, ni, ei)))
                    .collect(),
                band: Some((
                    (0..d.n.len()).map(|ni| q(ni, 0.2)).collect(),
                    (0..d.n.len()).map(|ni| q(ni, 0.8)).collect(),
                )),
                markers: true,
                dashed: false,
            });
            if grid.has_theory() {
                series.push(Series {
                    label: format!("p/n = {r} (closed form)"),
                    x: ns.clone(),
                    y: (0..d.n.len())
                        .map(|ni| grid.theory(ri, ni, ei).clean_error().unwrap_or(f64::NAN))
                        .collect(),
                    dashed: true,
                    ..Default::default()
                });
                if eta > 0.0 {
                    let floor = normal_cdf(-limit_snr(r, grid.flip_fraction(nmax_i, ei)));
                    // Ratios rho < 1 and r > 1 with (1 - rho)/rho = r - 1 share a floor: one line.
                    match hlines
                        .iter_mut()
                        .find(|h: &&mut HLine| (h.y / floor - 1.0).abs() < 1e-9)
                    {
                        Some(h) => h.label.push_str(&format!(", {r}")),
                        None => hlines.push(HLine {
                            y: floor,
                            label: format!("n -> inf floor, p/n = {r}"),
                        }),
                    }
                }
            }
        }
        line.push(LinePanel {
            title: format!("eta = {eta}"),
            x_label: "n".into(),
            y_label: "clean test error".into(),
            log_x: true,
            log_y: true,
            y_range: Some((1e-8, 0.6)),
            series,
            hlines,
            ..Default::default()
        });
    }
    plot::line_panels(&fig_dir.join("error_vs_n"), &line, 2)?;

    // 3. SVM vs min-norm: calibration of P(SVP), the transition's p/n against n,
    //    and how far apart the two solutions are below it.
    let over: Vec<usize> = (0..d.p_over_n.len())
        .filter(|&ri| grid.p(ri, 0) > d.n[0])
        .collect();
    if !over.is_empty() {
        let svp_fraction = |ri: usize, ni: usize, ei: usize| {
            let v = grid.values(ri, ni, ei, |r| r.all_support);
            if v.is_empty() {
                f64::NAN
            } else {
                v.iter().sum::<f64>() / v.len() as f64
            }
        };
        let xs: Vec<f64> = over.iter().map(|&ri| d.p_over_n[ri]).collect();
        let mut panels = Vec::new();
        if grid.has_theory() {
            // (a) measured fraction against predicted probability, one point per (p/n, n) cell.
            let mut series = Vec::new();
            for (ei, &eta) in d.eta.iter().enumerate() {
                let mut s = Series {
                    label: format!("eta = {eta}"),
                    markers: true,
                    ..Default::default()
                };
                for &ri in &over {
                    for ni in 0..d.n.len() {
                        if let Some(prob) = grid.theory(ri, ni, ei).svp_probability() {
                            // NaN between points: markers only, no connecting line.
                            s.x.extend([prob, f64::NAN]);
                            s.y.extend([svp_fraction(ri, ni, ei), f64::NAN]);
                        }
                    }
                }
                series.push(s);
            }
            series.push(Series {
                label: "y = x".into(),
                x: vec![0.0, 1.0],
                y: vec![0.0, 1.0],
                dashed: true,
                ..Default::default()
            });
            panels.push(LinePanel {
                title: "support-vector proliferation: every cell".into(),
                x_label: "predicted P(all points are support vectors)".into(),
                y_label: "measured fraction of runs".into(),
                x_range: Some((-0.02, 1.02)),
                y_range: Some((-0.02, 1.02)),
                series,
                ..Default::default()
            });
            // (b) where the transition sits: p/n with P(SVP) = 1/2, against n.
            let half_ratio = |n: usize, flip: f64| -> f64 {
                let prob = |r: f64| {
                    let p = r * n as f64;
                    MinNormTheory {
                        n: n as f64,
                        p,
                        mu_norm_sq: d.signal.mu_norm_sq(p.round() as usize),
                        flip_fraction: flip,
                    }
                    .svp_probability()
                    .unwrap_or(0.0)
                };
                let (mut lo, mut hi) = (1.0 + 3.0 / n as f64, 1e6);
                if prob(lo) >= 0.5 {
                    return lo;
                }
                for _ in 0..100 {
                    let mid = (lo * hi).sqrt();
                    if prob(mid) < 0.5 {
                        lo = mid
                    } else {
                        hi = mid
                    }
                }
                hi
            };
            // Measured: log-linear interpolation of the SVP fraction across the grid's ratios.
            let measured_half = |ni: usize, ei: usize| -> f64 {
                let f: Vec<(f64, f64)> = over
                    .iter()
                    .map(|&ri| (d.p_over_n[ri], svp_fraction(ri, ni, ei)))
                    .collect();
                for w in f.windows(2) {
                    let ((r0, f0), (r1, f1)) = (w[0], w[1]);
                    if f0 < 0.5 && f1 >= 0.5 {
                        let t = (0.5 - f0) / (f1 - f0);
                        return (r0.ln() + t * (r1.ln() - r0.ln())).exp();
                    }
                }
                f64::NAN
            };
            let picks: Vec<usize> = {
                let mut v = vec![0, d.eta.len() - 1];
                v.dedup();
                v
            };
            let ns: Vec<f64> = d.n.iter().map(|&n| n as f64).collect();
            let mut series = Vec::new();
            for &ei in &picks {
                series.push(Series {
                    label: format!("eta = {} (predicted)", d.eta[ei]),
                    x: ns.clone(),
                    y: (0..d.n.len())
                        .map(|ni| half_ratio(d.n[ni], grid.flip_fraction(ni, ei)))
                        .collect(),
                    dashed: true,
                    ..Default::default()
                });
                series.push(Series {
                    label: format!("eta = {} (measured)", d.eta[ei]),
                    x: ns.clone(),
                    y: (0..d.n.len()).map(|ni| measured_half(ni, ei)).collect(),
                    markers: true,
                    ..Default::default()
                });
            }
            series.push(Series {
                label: "2 ln n (no mean: Ardeshir et al.)".into(),
                x: ns.clone(),
                y: ns.iter().map(|&n| 2.0 * n.ln()).collect(),
                dashed: true,
                ..Default::default()
            });
            panels.push(LinePanel {
                title: "the SVP transition: P(SVM = min-norm) = 1/2".into(),
                x_label: "n".into(),
                y_label: "p / n at the transition".into(),
                log_x: true,
                log_y: true,
                series,
                ..Default::default()
            });
        }
        panels.push(LinePanel {
            title: format!("SVM vs min-norm direction, n = {nmax}"),
            x_label: "p / n".into(),
            y_label: "median 1 - cos(w_svm, w_mn)".into(),
            log_x: true,
            log_y: true,
            y_range: Some((1e-17, 1.0)),
            series: d
                .eta
                .iter()
                .enumerate()
                .map(|(ei, &eta)| Series {
                    label: format!("eta = {eta}"),
                    x: xs.clone(),
                    y: over
                        .iter()
                        .map(|&ri| {
                            quantile(&grid.values(ri, nmax_i, ei, |r| r.one_minus_cos), 0.5)
                                .max(1e-16)
                        })
                        .collect(),
                    markers: true,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        });
        panels.push(LinePanel {
            title: format!("clean error, SVM / min-norm, n = {nmax}"),
            x_label: "p / n".into(),
            y_label: "ratio of median clean errors".into(),
            log_x: true,
            series: d
                .eta
                .iter()
                .enumerate()
                .map(|(ei, &eta)| Series {
                    label: format!("eta = {eta}"),
                    x: xs.clone(),
                    y: over
                        .iter()
                        .map(|&ri| {
                            normal_cdf(-grid.median_svm_snr(ri, nmax_i, ei))
                                / normal_cdf(-grid.median_snr(ri, nmax_i, ei))
                        })
                        .collect(),
                    markers: true,
                    ..Default::default()
                })
                .collect(),
            hlines: vec![HLine {
                y: 1.0,
                label: "equal".into(),
            }],
            ..Default::default()
        });
        plot::line_panels(&fig_dir.join("svm_vs_min_norm"), &panels, 2)?;
    }

    // 4. Logistic GD against the SVM.
    let gd_path = run_dir.file("gd.csv");
    let gd_rows: Vec<GdRow> = if gd_path.is_file() {
        read_csv(&gd_path)?
    } else {
        Vec::new()
    };
    if let (Some(g), false) = (&spec.logistic_gd, gd_rows.is_empty()) {
        let mut cos_series = Vec::new();
        let mut margin_series = Vec::new();
        for &r in &g.p_over_n {
            for &eta in &g.eta {
                let sel: Vec<&GdRow> = gd_rows
                    .iter()
                    .filter(|x| x.p_over_n == r && x.eta == eta)
                    .collect();
                let mut steps: Vec<u64> = sel.iter().map(|x| x.step).collect();
                steps.sort_unstable();
                steps.dedup();
                let stat = |f: &dyn Fn(&GdRow) -> f64, q: f64| -> Vec<f64> {
                    steps
                        .iter()
                        .map(|&t| {
                            quantile(
                                &sel.iter()
                                    .filter(|x| x.step == t)
                                    .map(|x| f(x))
                                    .collect::<Vec<_>>(),
                                q,
                            )
                        })
                        .collect()
                };
                let xs: Vec<f64> = steps.iter().map(|&t| t as f64).collect();
                cos_series.push(Series {
                    label: format!("p/n = {r}, eta = {eta}"),
                    x: xs.clone(),
                    y: stat(&|x| x.one_minus_cos, 0.5),
                    band: Some((
                        stat(&|x| x.one_minus_cos, 0.2),
                        stat(&|x| x.one_minus_cos, 0.8),
                    )),
                    ..Default::default()
                });
                margin_series.push(Series {
                    label: format!("p/n = {r}, eta = {eta}"),
                    x: xs,
                    y: stat(&|x| x.margin_ratio, 0.5),
                    band: Some((
                        stat(&|x| x.margin_ratio, 0.2),
                        stat(&|x| x.margin_ratio, 0.8),
                    )),
                    ..Default::default()
                });
            }
        }
        plot::line_panels(
            &fig_dir.join("logistic_gd_direction"),
            &[
                LinePanel {
                    title: format!("logistic GD vs SVM, n = {}", g.n),
                    x_label: "GD step t".into(),
                    y_label: "1 - cos(w(t), w_svm)".into(),
                    log_x: true,
                    log_y: true,
                    series: cos_series,
                    ..Default::default()
                },
                LinePanel {
                    title: "normalised margin / SVM margin".into(),
                    x_label: "GD step t".into(),
                    y_label: "min_i y_i <w, x_i> / ||w|| / margin_svm".into(),
                    log_x: true,
                    y_range: Some((0.0, 1.02)),
                    series: margin_series,
                    hlines: vec![HLine {
                        y: 1.0,
                        label: "SVM".into(),
                    }],
                    ..Default::default()
                },
            ],
            2,
        )?;
    }
    Ok(())
}

/// The study `study = "label_noise"`.
pub const STUDY: StudyFns = StudyFns {
    name: "label_noise",
    run_keys: RUN_KEYS,
    validate,
    run,
    figures: plot,
};
