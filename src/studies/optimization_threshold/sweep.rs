//! The claims of the lambda x horizon sweep (`[sweep]`): in the theory's
//! regime, lambda -> 0, does the small-init network tend to the OLS fit?
//! Per n of the sweep, with r = train MSE / least-squares residual and
//! e = test excess / OLS excess ||beta_hat - beta*||^2 of the same data:
//! - trend: Spearman's rho over runs (final horizon) between ln lambda and
//!   |1 - r| (and |1 - e|), one-sided test that the deviation falls as lambda
//!   falls, p <= trend_alpha;
//! - limit: least-squares line of r (and e) against x = 1/ln(1/lambda) over
//!   the limit_points smallest lambdas, all seeds; its intercept (x -> 0, i.e.
//!   lambda -> 0) is near 1 within the stated tolerance plus z standard
//!   errors of the intercept; inconclusive when those z standard errors
//!   alone exceed the tolerance (`limit_claim`);
//! - horizon: at the smallest lambda, median r at every horizon >= stable_from
//!   stays within train_tolerance_factor d/(n - d) of 1 (the fit is held,
//!   not left, as training goes on);
//! - checks of the data generator: the OLS residual and excess average to
//!   their Gaussian-design expectations sigma^2 (n - d)/n and
//!   sigma^2 d/(n - d - 1).

use super::claims::{mean, median, SRC};
use super::run::{SweepJob, SweepRecord};
use super::ThresholdSpec;
use crate::record::{fmt_num, quantile, Claim, Measured, Prediction};
use crate::studies::toolkit::spearman_increase;
use crate::studies::toolkit::stats::line_fit;
use crate::theory::early_alignment::{
    flow_time_per_step, ols_expected_excess_risk, ols_expected_train_mse,
};

/// One run's ratios at horizon index `h`: (r, e).
fn ratios(rec: &SweepRecord, h: usize) -> (f64, f64) {
    let (train, excess) = rec.at[h];
    (train / rec.ols_train_mse, excess / rec.ols_test_excess)
}

/// Which of the two ratios a claim reads.
#[derive(Clone, Copy)]
enum Ratio {
    Train,
    Excess,
}

impl Ratio {
    fn of(self, rec: &SweepRecord, h: usize) -> f64 {
        let (r, e) = ratios(rec, h);
        match self {
            Ratio::Train => r,
            Ratio::Excess => e,
        }
    }
    fn id(self) -> &'static str {
        match self {
            Ratio::Train => "train",
            Ratio::Excess => "excess",
        }
    }
    fn text(self) -> &'static str {
        match self {
            Ratio::Train => "train MSE / least-squares residual of the same data",
            Ratio::Excess => "test excess risk / OLS excess ||beta_hat - beta*||^2 of the same data (E = sigma^2 d/(n - d - 1))",
        }
    }
}

/// The sweep's claims and checks, with its summary details.
pub(super) fn judge(
    spec: &ThresholdSpec,
    jobs: &[SweepJob],
    recs: &[SweepRecord],
) -> (Vec<Claim>, serde_json::Value) {
    let w = &spec.sweep;
    let mut claims = Vec::new();
    let mut details = Vec::new();
    for (ni, &n) in w.n.iter().enumerate() {
        let runs: Vec<(usize, &SweepRecord)> = jobs
            .iter()
            .zip(recs)
            .filter(|(j, _)| j.n_index == ni)
            .map(|(j, r)| (j.lambda, r))
            .collect();
        let train_tol = w.train_tolerance_factor * w.d as f64 / (n - w.d) as f64;
        for (ratio, tol) in [
            (Ratio::Train, train_tol),
            (Ratio::Excess, w.excess_tolerance),
        ] {
            claims.push(trend_claim(spec, n, &runs, ratio));
            claims.push(limit_claim(spec, n, &runs, ratio, tol));
        }
        claims.push(horizon_claim(spec, n, &runs, train_tol));
        details.push(n_details(spec, n, &runs));
    }
    claims.extend(ols_checks(spec, jobs, recs));
    (claims, serde_json::json!({ "d": w.d, "per_n": details }))
}

/// The trend: |1 - ratio| falls as lambda falls (final horizon).
fn trend_claim(
    spec: &ThresholdSpec,
    n: usize,
    runs: &[(usize, &SweepRecord)],
    ratio: Ratio,
) -> Claim {
    let w = &spec.sweep;
    let last = w.horizons.len() - 1;
    let ln_lambda: Vec<f64> = runs.iter().map(|(l, _)| w.lambdas[*l].ln()).collect();
    let dev: Vec<f64> = runs
        .iter()
        .map(|(_, r)| (1.0 - ratio.of(r, last)).abs())
        .collect();
    // The deviation rises with lambda: p = P(rho' >= rho).
    let (rho, p) = spearman_increase(&ln_lambda, &dev);
    Claim::new(
        format!("sweep.n{n}.{}_trend_in_lambda", ratio.id()),
        format!(
            "d = {}, n = {n}, step {} (flow time {}): as lambda falls over {} values, |1 - {}| falls: one-sided p of Spearman's rho between ln lambda and the deviation over runs (rho = {})",
            w.d, w.horizons[last], fmt_num(w.horizons[last] as f64 * flow_time_per_step(w.lr, spec.train.loss)), w.lambdas.len(), ratio.text(), fmt_num(rho)
        ),
        format!("{SRC}, Theorem (as lambda -> 0 gradient flow converges near the OLS estimator above the threshold)"),
        Prediction::AtMost { bound: w.trend_alpha },
        Measured { value: p, q20: None, q80: None, runs: runs.len(), note: String::new(), quantities: Default::default() },
    )
}

/// The limit: intercept of the ratio against 1/ln(1/lambda) over the
/// smallest lambdas. Holds when |intercept - 1| <= tol + z SE; fails when it
/// is outside even that; inconclusive when it is inside but z SE > tol: the
/// extrapolation is then too uncertain to resolve the tolerance, and a
/// tolerance widened by z SE would admit any intercept near enough to 1 (a
/// claim that could not fail). The SE is the least-squares one, which takes
/// the `limit_points` x seeds points as independent, though the points of
/// one seed share its data (a review of 2026-12-07 found it larger than the
/// seed-clustered SE at n = 80, so no verdict moved; kept as pre-registered).
fn limit_claim(
    spec: &ThresholdSpec,
    n: usize,
    runs: &[(usize, &SweepRecord)],
    ratio: Ratio,
    tol: f64,
) -> Claim {
    let w = &spec.sweep;
    let last = w.horizons.len() - 1;
    let first = w.lambdas.len() - w.limit_points;
    let pts: Vec<(f64, f64)> = runs
        .iter()
        .filter(|(l, _)| *l >= first)
        .map(|(l, r)| (1.0 / (1.0 / w.lambdas[*l]).ln(), ratio.of(r, last)))
        .collect();
    let (x, y): (Vec<f64>, Vec<f64>) = pts.iter().copied().unzip();
    let (a, se) = if y.iter().any(|v| v.is_nan()) {
        (f64::NAN, f64::NAN)
    } else {
        let fit = line_fit(&x, &y);
        match fit.intercept_se {
            Some(se) => (fit.intercept, se),
            None => (f64::NAN, f64::NAN),
        }
    };
    let smallest: Vec<f64> = runs
        .iter()
        .filter(|(l, _)| *l == w.lambdas.len() - 1)
        .map(|(_, r)| ratio.of(r, last))
        .collect();
    let margin = spec.theory.z * se;
    let widened = tol + margin;
    let unresolved = margin > tol && (a - 1.0).abs() <= widened;
    let (value, note) = if unresolved {
        let note = format!(
            "the extrapolation cannot resolve the tolerance: its {} standard errors ({}) exceed the tolerance {}; intercept {}",
            spec.theory.z,
            fmt_num(margin),
            fmt_num(tol),
            fmt_num(a)
        );
        (f64::NAN, note)
    } else {
        (a, String::new())
    };
    Claim::new(
        format!("sweep.n{n}.{}_limit", ratio.id()),
        format!(
            "d = {}, n = {n}, step {}: lambda -> 0 limit of {}: intercept of its least-squares line against 1/ln(1/lambda) over the {} smallest lambdas ({} runs; tolerance {} plus {} standard errors of {} each, {} in all); median at the smallest lambda {}: {}",
            w.d, w.horizons[last], ratio.text(), w.limit_points, pts.len(), fmt_num(tol), spec.theory.z, fmt_num(se), fmt_num(widened), fmt_num(w.lambdas[w.lambdas.len() - 1]), fmt_num(median(&smallest))
        ),
        format!("{SRC}, Theorem and Fig 1 (the network converges near the OLS estimator beta_hat above the threshold)"),
        Prediction::Near { value: 1.0, tolerance: widened },
        if unresolved {
            Measured::single(value)
                .with_runs(pts.len())
                .with_note(note)
                .with_quantity("standard_errors_margin", margin)
                .with_quantity("tolerance", tol)
                .with_quantity("intercept", a)
        } else {
            Measured::single(value).with_runs(pts.len())
        },
    )
}

/// The horizon: at the smallest lambda the fit is held from stable_from on.
fn horizon_claim(
    spec: &ThresholdSpec,
    n: usize,
    runs: &[(usize, &SweepRecord)],
    tol: f64,
) -> Claim {
    let w = &spec.sweep;
    let smallest = w.lambdas.len() - 1;
    let from = w
        .horizons
        .iter()
        .position(|&h| h == w.stable_from)
        .expect("validated");
    let devs: Vec<f64> = (from..w.horizons.len())
        .map(|h| {
            let r: Vec<f64> = runs
                .iter()
                .filter(|(l, _)| *l == smallest)
                .map(|(_, rec)| Ratio::Train.of(rec, h))
                .collect();
            (1.0 - median(&r)).abs()
        })
        .collect();
    Claim::new(
        format!("sweep.n{n}.train_held_over_horizon"),
        format!(
            "d = {}, n = {n}, lambda = {}: largest |1 - median train MSE / least-squares residual| over the horizons {:?} (steps)",
            w.d, fmt_num(w.lambdas[smallest]), &w.horizons[from..]
        ),
        format!("{SRC}, Theorem (convergence, t -> infinity, near OLS: the fit is a limit, not a passing plateau)"),
        Prediction::AtMost { bound: tol },
        Measured { value: crate::record::extreme(&devs, f64::max), q20: None, q80: None, runs: devs.len(), note: String::new(), quantities: Default::default() },
    )
}

/// Sanity of the generator and the least-squares fit: the sweep's samples
/// (one per (n, seed), shared by the lambdas) average to the Gaussian-design
/// expectations, within z standard errors (relative variances 2/(n - d) of
/// the residual, a chi-square, and about 2/d of the excess).
fn ols_checks(spec: &ThresholdSpec, jobs: &[SweepJob], recs: &[SweepRecord]) -> Vec<Claim> {
    let w = &spec.sweep;
    let sigma = spec.teacher.sigma;
    let (mut train, mut excess, mut var_train) = (Vec::new(), Vec::new(), 0.0);
    for (j, r) in jobs.iter().zip(recs).filter(|(j, _)| j.lambda == 0) {
        let n = w.n[j.n_index];
        train.push(r.ols_train_mse / ols_expected_train_mse(sigma, n, w.d));
        var_train += 2.0 / (n - w.d) as f64;
        let e = ols_expected_excess_risk(sigma, n, w.d).expect("validated n > d + 1");
        excess.push(r.ols_test_excess / e);
    }
    let k = train.len() as f64;
    let z = spec.theory.z;
    vec![
        Claim::new(
            "sweep.ols_residual_expectation",
            format!(
                "sweep samples ({} draws): mean least-squares residual over sigma^2 (n - d)/n",
                train.len()
            ),
            "Gaussian design: n * residual / sigma^2 ~ chi-square(n - d)",
            Prediction::Near {
                value: 1.0,
                tolerance: z * (var_train / (k * k)).sqrt(),
            },
            Measured::single(mean(&train)),
        )
        .as_check(),
        Claim::new(
            "sweep.ols_excess_expectation",
            format!(
                "sweep samples ({} draws): mean ||beta_hat - beta*||^2 over sigma^2 d/(n - d - 1)",
                excess.len()
            ),
            "Gaussian design: E ||beta_hat - beta*||^2 = sigma^2 d/(n - d - 1)",
            Prediction::Near {
                value: 1.0,
                tolerance: z * (2.0 / w.d as f64 / k).sqrt(),
            },
            Measured::single(mean(&excess)),
        )
        .as_check(),
    ]
}

/// Per lambda and horizon, the medians of the two ratios at one n.
fn n_details(spec: &ThresholdSpec, n: usize, runs: &[(usize, &SweepRecord)]) -> serde_json::Value {
    let w = &spec.sweep;
    let per_lambda: Vec<serde_json::Value> = w
        .lambdas
        .iter()
        .enumerate()
        .map(|(l, &lambda)| {
            let cell: Vec<&SweepRecord> = runs
                .iter()
                .filter(|(k, _)| *k == l)
                .map(|(_, r)| *r)
                .collect();
            let med = |ratio: Ratio| -> Vec<f64> {
                (0..w.horizons.len())
                    .map(|h| {
                        quantile(
                            &cell.iter().map(|r| ratio.of(r, h)).collect::<Vec<_>>(),
                            0.5,
                        )
                    })
                    .collect()
            };
            serde_json::json!({
                "lambda": lambda,
                "median_train_over_ols": med(Ratio::Train),
                "median_excess_over_ols": med(Ratio::Excess),
            })
        })
        .collect();
    serde_json::json!({ "n": n, "horizons": w.horizons, "per_lambda": per_lambda })
}
