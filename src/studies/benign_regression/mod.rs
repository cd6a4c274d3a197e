//! Benign overfitting in linear regression (Bartlett, Long, Lugosi, Tsigler,
//! PNAS 2020, arXiv 1906.11300): when does the minimum-norm interpolator of
//! noisy labels still predict well?
//!
//! Data: x ~ N(0, Sigma), Sigma = diag(k^-alpha, k <= p_n = round(n^a)), a
//! family that crosses the benign boundary as alpha varies (`theory::
//! benign_regression::power_law_regime`); y = <theta*, x> + eps, theta* = e_1
//! (||theta*|| = ||Sigma|| = 1), eps ~ N(0, sigma^2); X = Z Lambda^1/2 with
//! one Z per (n, seed) for every alpha (common random numbers).
//!
//! Model: theta_hat = X^T (X X^T)^-1 y, solved in the n x n dual by Cholesky
//! (O(n^2 p)), and its exact (no test set) excess risk R, bias B and noise
//! average V, E_eps R = B + V: `nets::linear::min_norm_regression`, checked
//! there against the SVD pseudo-inverse. The theorem's predictions and the
//! verdicts are in `claims`, the figure in `figures`.

mod claims;
mod figures;

use ndarray::{Array1, Array2};
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use super::{Findings, Plan, Results, StudyFns, Sweep, UnitResult};
use crate::error::Result;
use crate::nets::linear::{min_norm_regression, RegressionRisk};
use crate::record::Metrics;
use crate::rng::Numbering;
use crate::runner::RunContext;
use crate::spec::LoadedSpec;
use crate::theory::benign_regression::{bound_terms, dimension, power_law};

const SRC: &str = "Bartlett, Long, Lugosi, Tsigler, PNAS 2020 (arXiv 1906.11300)";

/// Stream keys (n, seed): the features and noise of a sample, shared by every alpha.
const STREAMS: Numbering = Numbering::from("benign_regression", &[1000], 0);

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub data: DataSpec,
    pub claims: ClaimSpec,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// Sample sizes.
    pub n: Vec<usize>,
    /// Decay exponents alpha of lambda_k = k^-alpha.
    pub alpha: Vec<f64>,
    /// a in p_n = round(n^a) (a > 1: the dimension grows faster than n).
    pub dimension_exponent: f64,
    /// sigma, the label-noise standard deviation.
    pub noise_sd: f64,
    /// Runs (feature and noise draws) per (alpha, n).
    pub seeds: usize,
}

/// The pre-registered constants of the claims (see the spec's comments).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimSpec {
    /// b in k* = min{k : r_k >= b n}.
    pub b: f64,
    /// c: the theorem's constants are read as the window [1/c, c].
    pub constant: f64,
    /// 1/c_1: the two-sided variance statement is tested where k* < this n.
    pub k_star_fraction: f64,
    /// Largest one-sided p-value of the Kendall trend test for "falls with n".
    pub trend_p_value: f64,
}

/// The check's bound on max_i |x_i^T theta_hat - y_i| / max(1, max_i |y_i|).
const RESIDUAL_TOLERANCE: f64 = 1e-8;

fn validate(spec: &LoadedSpec) -> Result<String> {
    let s: Spec = spec.study_section()?;
    let (d, c) = (&s.data, &s.claims);
    let inside = |key: &str, x: f64, lo: f64, hi: f64| match x > lo && x <= hi {
        true => Ok(()),
        false => Err(spec.bad_value(key, format!("{x} is not in ({lo}, {hi}]"))),
    };
    inside("data.dimension_exponent", d.dimension_exponent, 1.0, 2.5)?;
    inside("data.noise_sd", d.noise_sd, 0.0, 1e6)?;
    inside("claims.b", c.b, 0.0, 1e6)?;
    inside("claims.constant", c.constant, 1.0, 1e6)?;
    inside("claims.k_star_fraction", c.k_star_fraction, 0.0, 1.0)?;
    inside("claims.trend_p_value", c.trend_p_value, 0.0, 1.0)?;
    if let Some(i) = d.alpha.iter().position(|a| !(0.0..=1e3).contains(a)) {
        return Err(spec.bad_value(&format!("data.alpha[{i}]"), "must be in [0, 1000]"));
    }
    super::toolkit::check_unique(spec, "data.n[{}]", &d.n)?;
    super::toolkit::check_unique(spec, "data.alpha[{}]", &d.alpha)?;
    if d.n.len() < 2 || d.alpha.is_empty() || !(1..=1_000_000).contains(&d.seeds) {
        return Err(spec.bad_value("data", "needs two or more n, an alpha, 1 <= seeds <= 1e6"));
    }
    for &n in &d.n {
        let p = dimension(n, d.dimension_exponent);
        let k_star = |&a: &f64| bound_terms(&power_law(a, p), n, c.b);
        let msg = if p <= n || n.saturating_mul(p) > 50_000_000 {
            format!("n = {n} gives p = {p}: need p > n and n p <= 5e7")
        } else if let Some(a) = d.alpha.iter().find(|a| k_star(a).is_none()) {
            format!("k* does not exist (no r_k >= b n, k < p = {p}) at n = {n}, alpha = {a}")
        } else {
            continue;
        };
        return Err(spec.bad_value("data.n", msg));
    }
    Ok(spec.resolved_toml(&s))
}

/// One fit (a row of runs.csv): R, B = R at eps = 0, V = E_eps R - B, residual.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Row {
    pub alpha: f64,
    pub n: usize,
    pub seed: usize,
    pub excess: f64,
    pub bias: f64,
    pub variance: f64,
    pub residual: f64,
}

/// The runs of cell (alpha, n).
fn cell(rows: &[Row], alpha: f64, n: usize) -> impl Iterator<Item = &Row> {
    rows.iter().filter(move |r| r.alpha == alpha && r.n == n)
}

/// The run, prepared: unit i fits (alpha, n, seed), i in row-major order.
struct Run {
    spec: Spec,
    seed: u64,
    name: String,
}

fn plan(loaded: &LoadedSpec, _: &RunContext) -> Result<Box<dyn Plan>> {
    Ok(Box::new(Run {
        spec: loaded.study_section()?,
        seed: loaded.header.seed,
        name: loaded.header.name.clone(),
    }))
}

impl Run {
    /// Unit i's (alpha, n, seed).
    fn job(&self, i: usize) -> (f64, usize, usize) {
        let d = &self.spec.data;
        let (runs, per_alpha) = (d.seeds, d.seeds * d.n.len());
        (d.alpha[i / per_alpha], d.n[i % per_alpha / runs], i % runs)
    }
}

impl Plan for Run {
    /// Cost n^2 p: the dual's Gram matrix dominates.
    fn sweeps(&self) -> Vec<Sweep> {
        let d = &self.spec.data;
        let costs = (0..d.seeds * d.n.len() * d.alpha.len())
            .map(|i| {
                let n = self.job(i).1;
                (n * n * dimension(n, d.dimension_exponent)) as f64
            })
            .collect();
        vec![Sweep::new(&self.name, costs)]
    }

    fn run_unit(&self, _: usize, i: usize) -> Result<UnitResult> {
        let d = &self.spec.data;
        let (alpha, n, seed) = self.job(i);
        let p = dimension(n, d.dimension_exponent);
        let mut rng = crate::rng::stream(self.seed, STREAMS.index(&[n, seed]), "features");
        let gauss = Normal::new(0.0, 1.0).expect("unit normal");
        let z = Array2::from_shape_simple_fn((n, p), || gauss.sample(&mut rng));
        let noise = Array1::from_shape_simple_fn(n, || d.noise_sd * gauss.sample(&mut rng));
        UnitResult::of(
            min_norm_regression(z, &power_law(alpha, p).into(), &noise, d.noise_sd).map(
                |RegressionRisk {
                     excess,
                     bias,
                     variance,
                     residual,
                 }| Row {
                    alpha,
                    n,
                    seed,
                    excess,
                    bias,
                    variance,
                    residual,
                },
            ),
        )
    }

    fn findings(self: Box<Self>, mut results: Results) -> Result<Findings> {
        let rows: Vec<Row> = results.take(0)?;
        let mut metrics = Metrics::default();
        for r in &rows {
            let id = format!("alpha{}_n{}:{}", r.alpha, r.n, r.seed);
            metrics.push(&id, 0, "test", "excess_risk", r.excess);
            metrics.push(&id, 0, "test", "bias", r.bias);
            metrics.push(&id, 0, "test", "variance", r.variance);
            metrics.push(&id, 0, "train", "interpolation_residual", r.residual);
        }
        let extra_files = vec![("runs.csv".into(), super::toolkit::csv::to_csv(&rows))];
        let (claims, details) = claims::judge(&self.spec, &rows);
        Ok(Findings {
            metrics,
            claims,
            details,
            extra_files,
        })
    }
}

/// The study `study = "benign_regression"`.
pub const STUDY: StudyFns = StudyFns {
    name: "benign_regression",
    run_keys: &["data.seeds"],
    validate,
    plan,
    figures: figures::plot,
    peak_memory: super::memory::benign_regression,
    rejudge: None,
};
