//! The claims of the early-alignment study: what Theorem 1 and the
//! appendices of Boursier & Flammarion (JMLR 26, 2025) predict from the data
//! alone (the extremal vectors and D_max of the scan, tau_eps, the OLS fit),
//! set against the recorded runs.

use super::{
    at, kinks, lambda_run, phase, series, ClaimKind, DataSpec, EarlySpec, LambdaSweep, RunRecord,
    MAIN,
};
use crate::nets::wide::Points;
use crate::record::{extreme, fmt_num, Claim, Measured, Prediction};
use crate::studies::toolkit::stats::line_fit;
use crate::theory::early_alignment::{
    alignment_time, flow_time_per_step, growth_bound, network_formula, two_neuron_interpolator,
    Attracts, OlsFit, SphereScan,
};

const SRC: &str = "Boursier & Flammarion, JMLR 26 (2025)";

/// The constructed two-neuron interpolator's training MSE, exact up to
/// rounding (about 1e-33 on the 3-point data, whose labels are of order 1).
const INTERPOLATOR_MSE: f64 = 1e-20;

/// What the claims are judged from besides the runs: the spec, the data, and
/// the theory computed on the data (scan, OLS fit, the alignment step).
pub(super) struct ClaimInputs<'a> {
    pub spec: &'a EarlySpec,
    pub data: &'a Points,
    pub scan: &'a SphereScan,
    pub fit: &'a OlsFit,
    pub t_align: usize,
}

/// Every claim the spec asks for (its `claims` groups, in order), then the
/// lambda sweep's when it has one.
pub(super) fn judge(c: &ClaimInputs<'_>, main: &RunRecord, sweep_recs: &[RunRecord]) -> Vec<Claim> {
    let mut claims = Vec::new();
    for kind in &c.spec.claims {
        claims.extend(match kind {
            ClaimKind::OlsFit => ols_claims(c, main),
            ClaimKind::Alignment => alignment_claims(c, main),
            ClaimKind::Plateau => plateau_claims(c, main),
            ClaimKind::SparseFit => sparse_claims(c, main),
        });
    }
    if let Some(sw) = &c.spec.lambda_sweep {
        claims.extend(sweep_claims(c, sw, sweep_recs));
    }
    claims
}

fn ols_claims(c: &ClaimInputs<'_>, main: &RunRecord) -> Vec<Claim> {
    let mse = series(&main.metrics, MAIN, "train", "mse");
    let final_mse = mse.last().map(|v| v.1).unwrap_or(f64::NAN);
    let paper = c
        .spec
        .paper
        .final_loss
        .map(|v| format!(" (paper: {v})"))
        .unwrap_or_default();
    // Missing or NaN outputs leave the deviation undefined, not 0.
    let devs: Vec<f64> = if main.final_outputs.len() == c.fit.predictions.len() {
        let pairs = main.final_outputs.iter().zip(&c.fit.predictions);
        pairs.map(|(f, p)| (f - p).abs()).collect()
    } else {
        Vec::new()
    };
    let max_dev = extreme(&devs, f64::max);
    let mut out = vec![
        Claim::new(
            "ols_fit.final_loss",
            format!(
                "the final mean-MSE training loss equals the OLS residual of (x, 1) -> y computed by least squares{paper}, so the network does not interpolate"
            ),
            format!("{SRC}, App. B.1 (spurious convergence to the OLS fit)"),
            Prediction::Near { value: c.fit.mse, tolerance: c.spec.tolerances.final_loss_rel * c.fit.mse },
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
            Prediction::AtMost { bound: c.spec.tolerances.prediction_dev },
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
                        let f: f64 = neurons.iter().map(|u| u.output(xv)).sum();
                        (f - yv) * (f - yv)
                    })
                    .sum::<f64>()
                    / 3.0;
                // A check: that the width is no excuse. Whether the network
                // interpolates is `ols_fit.final_loss`'s question (until
                // 2026-12-05 this row asked it again, final MSE / OLS
                // residual >= spurious_mse_ratio, which held whenever
                // final_loss did: a review).
                out.push(Claim::new(
                    "ols_fit.two_neurons_interpolate",
                    format!(
                        "two ReLU neurons can interpolate the data, so any network of 2 or more neurons has the width to: {} has training MSE <= {INTERPOLATOR_MSE:e}",
                        network_formula(&neurons),
                    ),
                    format!("{SRC}, App. B.1"),
                    Prediction::AtMost { bound: INTERPOLATOR_MSE },
                    Measured::single(interp_mse),
                ).as_check());
            }
        }
    }
    out
}

fn alignment_claims(c: &ClaimInputs<'_>, main: &RunRecord) -> Vec<Claim> {
    let m = &main.metrics;
    let loss = series(m, MAIN, "train", "loss");
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
    let growth = series(m, MAIN, "align", "max_growth");
    // The records in (0, tau_eps]. t = 0 is excluded: there both sides of
    // the bound are 1 by definition, so a ratio of 1 there would make the
    // claim hold whatever the dynamics.
    let window: Vec<(f64, f64)> = growth
        .iter()
        .filter(|(s, _)| *s > 0 && (*s as f64) <= t_bound)
        .map(|&(s, g)| (s as f64, g))
        .collect();
    let ratios: Vec<f64> = window
        .iter()
        .map(|&(s, g)| g / growth_bound(s * flow, c.scan.d_max))
        .collect();
    // No record in (0, tau_eps]: undefined (inconclusive), not a vacuous 0.
    let worst = extreme(&ratios, f64::max);
    // The fastest neuron's log-growth rate over (0, t], in units of D_max,
    // at the last record t <= tau_eps.
    let rate = window
        .last()
        .map_or(f64::NAN, |&(s, g)| g.ln() / (c.scan.d_max * s * flow));
    let rate_tol = c.spec.tolerances.fastest_rate_rel;
    let no_record = "no max_growth record at a step in (0, tau_eps]";
    let mut out = vec![
        Claim::new(
            "alignment.loss_flat",
            format!(
                "at the end of alignment (step {ta}, {how}) the loss is within {}% of its start (probes.plateau_drop): L(t)/L(0){paper_l}",
                100.0 * c.spec.probes.plateau_drop
            ),
            format!("{SRC}, Theorem 1 (weights stay small up to tau_eps) and App. B.1"),
            Prediction::Interval { low: 1.0 - c.spec.probes.plateau_drop, high: 1.0 },
            Measured::single(at(&loss, ta) / l0),
        ),
        Claim::new(
            "alignment.median_cosine",
            format!("at step {ta}, the median cosine of active a_j > 0 neurons to the extremal vector found by scanning G on the circle{paper_c}"),
            format!("{SRC}, Theorem 1 (a_j > 0 neurons align to local maxima of G)"),
            Prediction::AtLeast { bound: c.spec.tolerances.median_cosine },
            Measured::single(at(&series(m, MAIN, "align", "median_cos_pos"), ta)),
        ),
        Claim::new(
            "alignment.clusters",
            format!(
                "at step {ta}, the number of direction clusters holding >= {}% of the mass equals the number of attracting directions from the scan ({npos} for a_j > 0, {nneg} for a_j < 0)",
                100.0 * c.spec.probes.cluster_mass
            ),
            format!("{SRC}, Theorem 1"),
            Prediction::Near { value: (npos + nneg) as f64, tolerance: 0.0 },
            Measured::single(at(&series(m, MAIN, "align", "clusters"), ta)),
        ),
        Claim::new(
            "alignment.growth_bound",
            format!(
                "for 0 < t <= tau_eps (eps = {}, step {}; t = 0 is left out, where both sides are 1 by definition), max_j |a_j(t)|/|a_j(0)| over the neurons with |a_j(0)| >= ||w_j(0)|| (the theorem's assumption) stays under lambda^(-2 eps(t)) = exp(2 D_max t): worst ratio of the two. A check, not a test of the paper: a balanced neuron grows at most like exp(D_max t) (fastest_rate below), half the bound's exponent, so the worst ratio is exp(-D_max dt) at the first record whatever the data (referee review, 2026-12-07)",
                c.spec.probes.bound_eps,
                t_bound.round()
            ),
            format!("{SRC}, Theorem 1 (|a_j(t)| <= |a_j(0)| lambda^(-2 eps))"),
            Prediction::AtMost { bound: 1.0 },
            Measured::single(worst).with_note(if ratios.is_empty() { no_record } else { "" }),
        )
        .as_check(),
        Claim::new(
            "alignment.fastest_rate",
            format!(
                "the fastest neuron's log-growth rate ln(max_j |a_j(t)|/|a_j(0)|)/t at the last record t <= tau_eps (step {}), in units of D_max: a balanced neuron on the extremal direction grows like exp(D_max t), half the exponent of the bound above (GD steps reach it from below)",
                t_bound.round()
            ),
            format!("{SRC}, Theorem 1's dynamics: |a_j|' = ||w_j|| G(w_j/||w_j||) <= |a_j| D_max for balanced neurons; this project's units check of flow time and D_max"),
            Prediction::Interval { low: 1.0 - rate_tol, high: 1.0 },
            Measured::single(rate).with_note(if ratios.is_empty() { no_record } else { "" }),
        )
        .as_check(),
    ];
    if nneg == 0 {
        let mp = series(m, MAIN, "align", "mass_pos");
        let mn = series(m, MAIN, "align", "mass_neg");
        let (p, n) = (at(&mp, ta), at(&mn, ta));
        out.push(Claim::new(
            "alignment.negative_neurons_stay_small",
            format!("the scan finds no local minimum of G below 0, so during alignment neurons with a_j < 0 have nowhere to grow: their share of sum_j a_j^2 at step {ta}"),
            format!("{SRC}, Theorem 1 (a_j < 0 neurons go to local minima of G)"),
            Prediction::AtMost { bound: c.spec.tolerances.negative_share },
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
    let end = phase(&main.metrics, MAIN, "plateau_end_step") * flow;
    let half = phase(&main.metrics, MAIN, "half_step") * flow;
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
                "the loss is half-way down at about tau_1 = -ln(lambda)/D_max = {} (flow time; step {}; eps = 1: aligned neurons grow like lambda e^(D_max t) and h becomes O(1) when they reach O(1/sqrt m)). Measured: flow time at half-way; tolerance {}%",
                fmt_num(tau_1),
                (tau_1 / flow).round(),
                100.0 * c.spec.tolerances.half_time_rel
            ),
            format!("{SRC}, Theorem 1 (tau = -eps ln(lambda)/D_max), read at eps = 1 by this project's heuristic: the theorem bounds the alignment phase, it does not place the half-way point"),
            Prediction::Near { value: tau_1, tolerance: c.spec.tolerances.half_time_rel * tau_1 },
            Measured::single(half),
        )
        .as_hypothesis(),
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
    let clusters = series(&main.metrics, MAIN, "align", "clusters");
    let last = clusters.last().map(|v| v.1).unwrap_or(f64::NAN);
    let paper = c
        .spec
        .paper
        .effective_neurons
        .map(|v| format!(" (paper: {v} on its own draw of the data)"))
        .unwrap_or_default();
    let mse = series(&main.metrics, MAIN, "train", "mse");
    let final_mse = mse.last().map(|v| v.1).unwrap_or(f64::NAN);
    vec![
        Claim::new(
            "sparse_fit.effective_neurons",
            format!("the final network is an effective fit with fewer neurons than the target has kinks ({k}): direction clusters holding >= {}% of the mass at the end{paper}", 100.0 * c.spec.probes.cluster_mass),
            format!("{SRC}, App. B.2 (simplicity bias of early alignment)"),
            Prediction::AtMost { bound: k as f64 - 1.0 },
            Measured::single(last),
        ),
        Claim::new(
            "sparse_fit.no_interpolation",
            format!("the run does not interpolate its {} points: final training MSE over the OLS residual of the data ({})", c.data.len(), fmt_num(c.fit.mse)),
            format!("{SRC}, App. B.2"),
            Prediction::AtLeast { bound: c.spec.tolerances.sparse_mse_ratio },
            Measured::single(final_mse / c.fit.mse),
        ),
    ]
}

fn sweep_rows(sw: &LambdaSweep, recs: &[RunRecord]) -> Vec<(f64, f64, f64)> {
    // (lambda, final mse, half step)
    sw.lambdas
        .iter()
        .zip(recs)
        .enumerate()
        .map(|(i, (&l, r))| {
            let run = lambda_run(i);
            let mse = series(&r.metrics, &run, "train", "mse");
            (
                l,
                mse.last().map(|v| v.1).unwrap_or(f64::NAN),
                phase(&r.metrics, &run, "half_step"),
            )
        })
        .collect()
}

pub(super) fn sweep_details(
    sw: &LambdaSweep,
    recs: &[RunRecord],
    fit: &OlsFit,
) -> serde_json::Value {
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
    // A small-scale run without a final MSE makes the share undefined.
    // At the OLS fit from both sides: a run still on the initial plateau,
    // above the OLS residual, is not at the spurious fit (until 2026-12-05
    // the test was one-sided, final MSE >= ratio x OLS, which such a run
    // passed: a review).
    let tolerance = 1.0 - c.spec.tolerances.spurious_mse_ratio;
    let spurious = if small.iter().all(|r| r.1.is_finite()) {
        let at_ols = |mse: f64| (mse / c.fit.mse - 1.0).abs() <= tolerance;
        small.iter().filter(|r| at_ols(r.1)).count() as f64 / small.len() as f64
    } else {
        f64::NAN
    };
    let largest = rows.last().expect("validated: >= 2 scales");
    let (log_inv_scale, half_time): (Vec<f64>, Vec<f64>) = small
        .iter()
        .map(|r| (-r.0.ln(), r.2 * flow))
        .filter(|p| p.1.is_finite())
        .unzip();
    let measured_slope = if log_inv_scale.len() >= 2 {
        line_fit(&log_inv_scale, &half_time).slope
    } else {
        f64::NAN
    };
    let predicted = 1.0 / c.scan.d_max;
    vec![
        Claim::new(
            "lambda_sweep.small_init_spurious",
            format!("every run with lambda <= {} ends at the spurious OLS fit (|final MSE / OLS residual - 1| <= {}): share of those runs", sw.small_max, fmt_num(tolerance)),
            format!("{SRC}, Sections 3-4 (early alignment is a two-edged sword)"),
            Prediction::AtLeast { bound: 1.0 },
            Measured { value: spurious, q20: None, q80: None, runs: small.len(), note: String::new(), quantities: Default::default() },
        ),
        Claim::new(
            "lambda_sweep.large_init_interpolates",
            format!("from the largest scale lambda = {} the network interpolates: final MSE / OLS residual", largest.0),
            format!("{SRC}, Sections 3-4 (without early alignment GD reaches a global minimum)"),
            Prediction::AtMost { bound: c.spec.tolerances.interpolating_mse_ratio },
            Measured::single(largest.1 / c.fit.mse),
        ),
        Claim::new(
            "lambda_sweep.escape_slope",
            format!("the half-way flow time grows like ln(1/lambda)/D_max over lambda <= {}: fitted slope vs 1/D_max = {} (tolerance {}%)", sw.small_max, fmt_num(predicted), 100.0 * c.spec.tolerances.escape_slope_rel),
            format!("{SRC}, Theorem 1 (tau = -eps ln(lambda)/D_max), extended to the half-way time by this project's heuristic (as plateau.half_time_near_tau_one)"),
            Prediction::Near { value: predicted, tolerance: c.spec.tolerances.escape_slope_rel * predicted },
            Measured { value: measured_slope, q20: None, q80: None, runs: log_inv_scale.len(), note: String::new(), quantities: Default::default() },
        )
        .as_hypothesis(),
    ]
}

#[cfg(test)]
mod tests;
