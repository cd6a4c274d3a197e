//! The figures of the optimization-threshold study, redrawn from metrics.csv:
//! train and test loss against n with the OLS expectations
//! (threshold_losses), the mass on the least-squares directions +-beta_hat
//! (threshold_alignment), the training curves of the first seed
//! (threshold_training_curves), the n* rule's ratio on both grids
//! (threshold_nstar) and the sweep: train MSE / OLS residual and excess /
//! OLS excess against lambda, one line per n, and against the horizon
//! (threshold_lambda_sweep).

use std::path::Path;

use super::{DimSpec, RunId, SweepId, ThresholdSpec, NSTAR, SMALL};
use crate::error::{Error, Result};
use crate::plot::{self, HLine, LinePanel, Series};
use crate::record::{fmt_num, quantile, Metrics, RunDir};
use crate::spec::LoadedSpec;
use crate::studies::toolkit::band;

/// Draw every figure of the run in `dir`.
pub fn plot(loaded: &LoadedSpec, dir: &Path) -> Result<()> {
    let spec: ThresholdSpec = loaded.study_section()?;
    let rd = RunDir::new(dir);
    let metrics = Metrics::read(&rd.metrics())?;
    let fig_dir = rd.figures();
    std::fs::create_dir_all(&fig_dir).map_err(|e| Error::io(&fig_dir, e))?;
    let mut panels = Vec::new();
    let mut cluster_panels = Vec::new();
    for ds in &spec.dims {
        panels.extend(loss_panels(&spec, ds, &metrics));
        cluster_panels.push(alignment_panel(&spec, ds, &metrics));
    }
    plot::line_panels(&fig_dir.join("threshold_losses"), &panels, 2)?;
    plot::line_panels(
        &fig_dir.join("threshold_alignment"),
        &cluster_panels,
        cluster_panels.len().min(2),
    )?;
    let curves = training_curves(&spec, &metrics);
    plot::line_panels(
        &fig_dir.join("threshold_training_curves"),
        &curves,
        curves.len().min(2),
    )?;
    let nstar: Vec<LinePanel> = spec
        .dims
        .iter()
        .map(|ds| nstar_panel(&spec, ds, &metrics))
        .collect();
    plot::line_panels(&fig_dir.join("threshold_nstar"), &nstar, nstar.len().min(2))?;
    plot::line_panels(
        &fig_dir.join("threshold_lambda_sweep"),
        &sweep_panels(&spec, &metrics),
        3,
    )?;
    Ok(())
}

/// The final values of `metric` over the seeds of (d, n, init).
fn finals(metrics: &Metrics, d: usize, n: usize, init: &str, metric: &str) -> Vec<f64> {
    metrics
        .rows
        .iter()
        .filter(|r| r.split == "final" && r.metric == metric)
        .filter(|r| {
            RunId::parse(&r.run).is_some_and(|id| id.d == d && id.n == n && id.init == init)
        })
        .map(|r| r.value)
        .collect()
}

/// Dimension d: train MSE and test MSE against n for each init (median and
/// 20-80% band over seeds), with the OLS expectations sigma^2 (n - d)/n and
/// sigma^2 + sigma^2 d/(n - d - 1).
fn loss_panels(spec: &ThresholdSpec, ds: &DimSpec, metrics: &Metrics) -> [LinePanel; 2] {
    let sigma = spec.teacher.sigma;
    let s2 = sigma * sigma;
    let d = ds.d;
    let xs: Vec<f64> = ds.n.iter().map(|&n| n as f64).collect();
    let band_series = |init: &str, metric: &str, label: String, offset: f64| -> Series {
        let vals: Vec<Vec<f64>> =
            ds.n.iter()
                .map(|&n| finals(metrics, d, n, init, metric))
                .collect();
        Series {
            label,
            x: xs.clone(),
            y: vals.iter().map(|v| quantile(v, 0.5) + offset).collect(),
            band: Some((
                vals.iter().map(|v| quantile(v, 0.2) + offset).collect(),
                vals.iter().map(|v| quantile(v, 0.8) + offset).collect(),
            )),
            markers: true,
            ..Default::default()
        }
    };
    let mut train = Vec::new();
    let mut test = Vec::new();
    for init in &spec.inits {
        let name = format!("{} init (lambda = {})", init.id, fmt_num(init.lambda));
        train.push(band_series(&init.id, "train_mse", name.clone(), 0.0));
        test.push(band_series(&init.id, "test_excess", name, s2));
    }
    let dense: Vec<f64> = {
        let (lo, hi) = (xs[0], xs[xs.len() - 1]);
        (0..200)
            .map(|i| lo * (hi / lo).powf(i as f64 / 199.0))
            .collect()
    };
    train.push(Series {
        label: "OLS: sigma^2 (n - d)/n".into(),
        x: dense.iter().copied().filter(|&n| n > d as f64).collect(),
        y: dense
            .iter()
            .copied()
            .filter(|&n| n > d as f64)
            .map(|n| s2 * (n - d as f64) / n)
            .collect(),
        dashed: true,
        ..Default::default()
    });
    test.push(Series {
        label: "OLS: sigma^2 + sigma^2 d/(n - d - 1)".into(),
        x: dense
            .iter()
            .copied()
            .filter(|&n| n > d as f64 + 1.5)
            .collect(),
        y: dense
            .iter()
            .copied()
            .filter(|&n| n > d as f64 + 1.5)
            .map(|n| s2 + s2 * d as f64 / (n - d as f64 - 1.0))
            .collect(),
        dashed: true,
        ..Default::default()
    });
    let interpolation = spec.theory.interpolation_ratio;
    let train_panel = LinePanel {
        title: format!("d = {d}: training loss"),
        x_label: "n (training samples)".into(),
        y_label: "train MSE".into(),
        log_x: true,
        log_y: true,
        series: train,
        hlines: vec![
            HLine {
                y: s2,
                label: "sigma^2".into(),
                ..Default::default()
            },
            // The bound the claims hold the small init to below n*.
            HLine {
                y: interpolation * s2,
                label: format!("theory: interpolates below n* (<= {interpolation} sigma^2)"),
                kind: crate::plot::RefKind::Theory,
            },
        ],
        ..Default::default()
    };
    let test_panel = LinePanel {
        title: format!("d = {d}: test loss"),
        x_label: "n (training samples)".into(),
        y_label: "test MSE".into(),
        log_x: true,
        log_y: true,
        series: test,
        hlines: vec![HLine {
            y: s2,
            label: "sigma^2 (Bayes)".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    [train_panel, test_panel]
}

/// Dimension d: the median share of the mass a_j^2 + ||w_j||^2 aligned with
/// sign(a_j) beta_hat, against n, for each init.
fn alignment_panel(spec: &ThresholdSpec, ds: &DimSpec, metrics: &Metrics) -> LinePanel {
    let d = ds.d;
    let xs: Vec<f64> = ds.n.iter().map(|&n| n as f64).collect();
    let mut cs = Vec::new();
    for init in &spec.inits {
        let vals: Vec<Vec<f64>> =
            ds.n.iter()
                .map(|&n| finals(metrics, d, n, &init.id, "aligned_mass"))
                .collect();
        cs.push(Series {
            label: format!("{} init: mass aligned with +-beta_hat", init.id),
            x: xs.clone(),
            y: vals.iter().map(|v| quantile(v, 0.5)).collect(),
            markers: true,
            ..Default::default()
        });
    }
    LinePanel {
        title: format!("d = {d}: neurons on the least-squares directions"),
        x_label: "n (training samples)".into(),
        y_label: "share of a_j^2 + ||w_j||^2".into(),
        log_x: true,
        y_range: Some((0.0, 1.05)),
        y_floor: None,
        equal_aspect: false,
        series: cs,
        hlines: vec![HLine {
            y: spec.theory.aligned_share,
            label: format!(
                "theory: >= {} aligned above n* (small init)",
                spec.theory.aligned_share
            ),
            kind: crate::plot::RefKind::Theory,
        }],
        ..Default::default()
    }
}

/// Training curves of the first seed, small init, for each n (one panel per d).
fn training_curves(spec: &ThresholdSpec, metrics: &Metrics) -> Vec<LinePanel> {
    let s2 = spec.teacher.sigma * spec.teacher.sigma;
    let mut curves = Vec::new();
    for ds in &spec.dims {
        let mut ser = Vec::new();
        for &n in &ds.n {
            let run = RunId {
                d: ds.d,
                n,
                init: "small",
                seed: 0,
            }
            .to_string();
            let pts: Vec<(f64, f64)> = metrics
                .rows
                .iter()
                .filter(|r| r.run == run && r.split == "train" && r.metric == "mse")
                .map(|r| (r.step as f64 + 1.0, r.value))
                .collect();
            if !pts.is_empty() {
                ser.push(Series {
                    label: format!("n = {n}"),
                    x: pts.iter().map(|p| p.0).collect(),
                    y: pts.iter().map(|p| p.1).collect(),
                    ..Default::default()
                });
            }
        }
        curves.push(LinePanel {
            title: format!("d = {}, small init, first seed", ds.d),
            x_label: "iteration + 1".into(),
            y_label: "train MSE".into(),
            log_x: true,
            log_y: true,
            // Interpolating runs reach round-off: drawn at 1e-16, counted in the legend.
            y_floor: Some(1e-16),
            series: ser,
            hlines: vec![HLine {
                y: s2,
                label: "sigma^2".into(),
                ..Default::default()
            }],
            ..Default::default()
        });
    }
    curves
}

/// Dimension d: train MSE / least-squares residual against n, median and
/// 20-80% band over the seeds of the n* grid (which cuts n*) and of the
/// claims grid's small init, with the rule's ratio.
fn nstar_panel(spec: &ThresholdSpec, ds: &DimSpec, metrics: &Metrics) -> LinePanel {
    let d = ds.d;
    let ns: Vec<usize> = ds.n.iter().copied().filter(|&n| n > d + 1).collect();
    let xs: Vec<f64> = ns.iter().map(|&n| n as f64).collect();
    let series = [
        (NSTAR, "n* grid (cuts n*)"),
        (SMALL, "claims grid, small init"),
    ]
    .iter()
    .map(|(init, label)| {
        let vals: Vec<Vec<f64>> = ns
            .iter()
            .map(|&n| finals(metrics, d, n, init, "train_over_ols"))
            .collect();
        band(xs.clone(), &vals, label.to_string(), *init == SMALL)
    })
    .collect();
    LinePanel {
        title: format!("d = {d}: the n* rule"),
        x_label: "n (training samples)".into(),
        y_label: "train MSE / least-squares residual".into(),
        log_x: true,
        series,
        hlines: vec![HLine {
            y: spec.threshold.ratio,
            label: format!("theory: >= {} above n* (the n* rule)", spec.threshold.ratio),
            kind: crate::plot::RefKind::Theory,
        }],
        ..Default::default()
    }
}

/// The sweep's per-run values of `metric` at `step`, by (n, lambda index).
fn sweep_values(metrics: &Metrics, n: usize, lambda: usize, step: u64, metric: &str) -> Vec<f64> {
    metrics
        .rows
        .iter()
        .filter(|r| r.split == "horizon" && r.metric == metric && r.step == step)
        .filter(|r| SweepId::parse(&r.run).is_some_and(|id| id.n == n && id.lambda == lambda))
        .map(|r| r.value)
        .collect()
}

/// The sweep: train MSE / OLS residual and excess / OLS excess at the last
/// horizon against lambda (one line per n), and train MSE / OLS residual
/// against the horizon at the smallest lambda (one line per n).
/// The ratio the sweep's claims predict as lambda -> 0: GD ends at the
/// least-squares fit.
const OLS_LIMIT: &str = "theory: OLS (lambda -> 0 limit)";

fn sweep_panels(spec: &ThresholdSpec, metrics: &Metrics) -> Vec<LinePanel> {
    let w = &spec.sweep;
    let last = *w.horizons.last().expect("validated") as u64;
    let smallest = w.lambdas.len() - 1;
    let against_lambda = |metric: &str, y_label: &str, title: &str| LinePanel {
        title: title.into(),
        x_label: "lambda (init scale)".into(),
        y_label: y_label.into(),
        log_x: true,
        series: w
            .n
            .iter()
            .map(|&n| {
                let vals: Vec<Vec<f64>> = (0..w.lambdas.len())
                    .map(|l| sweep_values(metrics, n, l, last, metric))
                    .collect();
                band(w.lambdas.clone(), &vals, format!("n = {n}"), false)
            })
            .collect(),
        hlines: vec![HLine {
            y: 1.0,
            label: OLS_LIMIT.into(),
            kind: crate::plot::RefKind::Theory,
        }],
        ..Default::default()
    };
    let horizon = LinePanel {
        title: format!(
            "d = {}, lambda = {}: against the horizon",
            w.d,
            fmt_num(w.lambdas[smallest])
        ),
        x_label: "GD step".into(),
        y_label: "train MSE / least-squares residual".into(),
        log_x: true,
        series: w
            .n
            .iter()
            .map(|&n| {
                let vals: Vec<Vec<f64>> = w
                    .horizons
                    .iter()
                    .map(|&h| sweep_values(metrics, n, smallest, h as u64, "train_over_ols"))
                    .collect();
                let xs = w.horizons.iter().map(|&h| h as f64).collect();
                band(xs, &vals, format!("n = {n}"), false)
            })
            .collect(),
        hlines: vec![HLine {
            y: 1.0,
            label: OLS_LIMIT.into(),
            kind: crate::plot::RefKind::Theory,
        }],
        ..Default::default()
    };
    vec![
        against_lambda(
            "train_over_ols",
            "train MSE / least-squares residual",
            &format!("d = {}, step {last}: train MSE / OLS residual", w.d),
        ),
        against_lambda(
            "excess_over_ols",
            "test excess / OLS excess",
            &format!("d = {}, step {last}: excess risk / OLS's", w.d),
        ),
        horizon,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::study_section;

    /// The figures mark the bounds the claims judge against: the
    /// interpolation bound on the training loss, the aligned share, the
    /// n* rule's ratio, and the sweep's OLS limit, each named as theory.
    #[test]
    fn the_claims_bounds_are_drawn_as_theory() {
        let spec: ThresholdSpec = study_section("experiments/optimization_threshold.toml");
        let (ds, metrics) = (&spec.dims[0], Metrics { rows: Vec::new() });
        let s2 = spec.teacher.sigma.powi(2);
        let theory = |p: &LinePanel, y: f64| {
            (p.hlines.iter()).any(|h| (h.y - y).abs() < 1e-12 && h.label.contains("theory"))
        };
        let [train, _] = loss_panels(&spec, ds, &metrics);
        assert!(theory(&train, spec.theory.interpolation_ratio * s2));
        let aligned = alignment_panel(&spec, ds, &metrics);
        assert!(theory(&aligned, spec.theory.aligned_share));
        assert!(theory(
            &nstar_panel(&spec, ds, &metrics),
            spec.threshold.ratio
        ));
        for p in sweep_panels(&spec, &metrics) {
            assert!(theory(&p, 1.0), "{}", p.title);
        }
    }
}
