//! The claims of the leaky-ReLU study (Karhadkar, George, Murray, Montufar,
//! Needell, NeurIPS 2024): in the benign regime ln(error) falls linearly in
//! d/k, GD fits every noisy label, and at gamma = c alpha^3/d the error is at
//! least 1/8. The theorems leave their constants unspecified, so the claims
//! test the shapes (R^2 and sign of the slope) and the 1/8 bound.

use super::{d_of, Group, LeakySpec, Row};
use crate::data::label_noise::FlipRule;
use crate::record::{fmt_num, quantile, Claim, Measured, Prediction};
use crate::theory::label_noise::wilson_interval;

const SRC: &str = "Karhadkar, George, Murray, Montufar, Needell NeurIPS 2024 (arXiv 2403.06903)";

/// The runs of heatmap cell (n, d/n = r), in run order.
pub(super) fn heatmap_cell(rows: &[Row], n: usize, r: f64) -> impl Iterator<Item = &Row> {
    rows.iter()
        .filter(move |x| x.group == Group::Heatmap && x.n == n && x.knob == r)
}

/// Pooled Monte Carlo error of `rows`: (errors, draws).
pub(super) fn pooled<'a>(rows: impl Iterator<Item = &'a Row>) -> (f64, f64) {
    rows.fold((0.0, 0.0), |(e, s), r| (e + r.errors, s + r.samples))
}

/// Least-squares line y = a + b x with its R^2.
pub(super) fn linear_fit(x: &[f64], y: &[f64]) -> (f64, f64, f64) {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    let slope = sxy / sxx;
    let r2 = if syy > 0.0 {
        sxy * sxy / (sxx * syy)
    } else {
        0.0
    };
    (my - slope * mx, slope, r2)
}

/// Heatmap cells entering the log-linear fit, those with enough Monte Carlo
/// errors: (d/k, ln pooled error, n).
pub(super) fn fit_points(spec: &LeakySpec, rows: &[Row]) -> Vec<(f64, f64, usize)> {
    let mut pts = Vec::new();
    for &n in &spec.heatmap.n {
        let k = match spec.data.flip_rule {
            FlipRule::Exact => (spec.data.corruption * n as f64).round(),
            FlipRule::Bernoulli => spec.data.corruption * n as f64,
        };
        if k <= 0.0 {
            continue;
        }
        for &r in &spec.heatmap.d_over_n {
            let (e, s) = pooled(heatmap_cell(rows, n, r));
            if e >= spec.claims.min_error_count && s > 0.0 {
                pts.push((d_of(r, n) as f64 / k, (e / s).ln(), n));
            }
        }
    }
    pts
}

/// The claims (Karhadkar et al.'s benign and harmful regimes, GD's fit of
/// the noisy labels) and the summary details (the heatmap cells with Wilson
/// intervals, the log-linear fit).
pub(super) fn analyze(
    spec: &LeakySpec,
    rows: &[Row],
) -> (Vec<Claim>, serde_json::Map<String, serde_json::Value>) {
    let mut claims = Vec::new();
    let mut details = serde_json::Map::new();
    let c = &spec.claims;
    let alpha = spec.model.leaky_slope;
    let eta = spec.data.corruption;
    let benign_note = format!(
        "benign regime: d = Omega(n), k = O(alpha^2 n); here k/n = {eta} vs alpha^2 = {} (the theorem's constants are unspecified, so this setting may lie outside its stated range)",
        alpha * alpha
    );

    // Heatmap cells with Wilson intervals.
    let mut cells = Vec::new();
    for &n in &spec.heatmap.n {
        for &r in &spec.heatmap.d_over_n {
            let sel: Vec<&Row> = heatmap_cell(rows, n, r).collect();
            let (e, s) = pooled(sel.iter().copied());
            let (lo, hi) = wilson_interval(e, s, 1.96);
            cells.push(serde_json::json!({
                "n": n, "d_over_n": r, "d": d_of(r, n), "pooled_error": if s > 0.0 { e / s } else { f64::NAN },
                "wilson95": [lo, hi], "mc_errors": e, "mc_draws": s,
                "median_steps": quantile(&sel.iter().map(|x| x.steps as f64).collect::<Vec<_>>(), 0.5),
            }));
        }
    }
    details.insert("heatmap_cells".into(), serde_json::Value::Array(cells));

    let pts = fit_points(spec, rows);
    if pts.len() >= 3 {
        let xs: Vec<f64> = pts.iter().map(|p| p.0).collect();
        let ys: Vec<f64> = pts.iter().map(|p| p.1).collect();
        let (intercept, slope, r2) = linear_fit(&xs, &ys);
        details.insert("log_error_fit".into(), serde_json::json!({"intercept": intercept, "slope_per_d_over_k": slope, "r2": r2, "points": pts.len()}));
        claims.push(Claim::new(
            "benign.log_error_linear_in_d_over_k",
            format!(
                "gamma = {}: ln(clean test error) falls linearly in d/k (upper bound exp(-C alpha^2 d/k), lower bound exp(-C' d/(alpha k))): R^2 of the straight-line fit over heatmap cells with >= {} Monte Carlo errors (fit slope {} per unit d/k)",
                spec.heatmap.gamma, c.min_error_count, fmt_num(slope)
            ),
            format!("{SRC}, benign-overfitting theorem ({benign_note})"),
            Prediction::AtLeast { bound: c.min_r2 },
            Measured { value: r2, q20: None, q80: None, runs: pts.len(), note: format!("{} cells", pts.len()) },
        ));
        claims.push(Claim::new(
            "benign.log_error_slope_negative",
            "the slope of ln(error) in d/k is negative (error decays exponentially in d/k)",
            format!("{SRC}, benign-overfitting theorem ({benign_note})"),
            Prediction::AtMost { bound: 0.0 },
            Measured::single(slope),
        ));
    }

    let fitted: Vec<&Row> = rows.iter().collect();
    let reached = fitted.iter().filter(|r| r.reached_zero_train_error).count();
    claims.push(Claim::new(
        "gd.reaches_zero_training_error",
        format!("GD on the hinge loss fits every noisy training label within {} steps (fraction of runs)", spec.model.max_steps),
        format!("{SRC}, GD convergence to zero training error"),
        Prediction::AtLeast { bound: 1.0 },
        Measured { value: reached as f64 / fitted.len().max(1) as f64, q20: None, q80: None, runs: fitted.len(), note: String::new() },
    ));

    if let Some(hm) = &spec.harmful {
        let sel: Vec<&Row> = rows.iter().filter(|x| x.group == Group::Harmful).collect();
        let errs: Vec<f64> = sel.iter().map(|r| r.errors / r.samples).collect();
        let above = errs.iter().filter(|&&e| e >= c.harmful_error).count();
        claims.push(Claim::new(
            "harmful.error_at_least_one_eighth",
            format!(
                "harmful regime gamma = c alpha^3 / d (c in {:?}, d = {} n): the clean test error is >= {} (fraction of runs)",
                hm.gamma_constant, hm.d_over_n, c.harmful_error
            ),
            format!("{SRC}, harmful-overfitting theorem (gamma = O(alpha^3/d); the O's constant is unspecified, c taken from the spec)"),
            Prediction::AtLeast { bound: c.harmful_fraction },
            Measured { value: above as f64 / sel.len().max(1) as f64, q20: None, q80: None, runs: sel.len(), note: format!("median error {}", fmt_num(quantile(&errs, 0.5))) },
        ));
    }
    (claims, details)
}
