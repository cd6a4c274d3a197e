//! The figures: the construction's largest weight and its fit error
//! against n (per d, Gaussian and CIFAR points), and the GD contrast's
//! training error against the step. They read only metrics.csv.

use std::collections::BTreeMap;
use std::path::Path;

use super::{ExpressivitySpec, GdContrast, Targets};
use crate::error::{Error, Result};
use crate::plot::{self, HLine, LinePanel, Series};
use crate::record::{quantile, Metrics, RunDir};
use crate::spec::LoadedSpec;

/// A construction run as read back from metrics.csv: (label, metric -> value).
type Fit = (String, BTreeMap<String, f64>);

/// Draw max|w| vs n, fit error vs n and GD training error vs step from metrics.csv.
pub fn plot(loaded: &LoadedSpec, dir: &Path) -> Result<()> {
    let spec: ExpressivitySpec = loaded.study_section()?;
    let rd = RunDir::new(dir);
    let metrics = Metrics::read(&rd.metrics())?;
    let fig_dir = rd.figures();
    std::fs::create_dir_all(&fig_dir).map_err(|e| Error::io(&fig_dir, e))?;
    let fits = read_fits(&metrics);
    max_weight_vs_n(&spec, &fits, &fig_dir)?;
    fit_error_vs_n(&spec, &fits, &fig_dir)?;
    if let Some(gd) = &spec.gd {
        gd_training_error(gd, &metrics, &fig_dir)?;
    }
    Ok(())
}

/// Construction runs as read back from metrics.csv: (label, metric -> value).
fn read_fits(metrics: &Metrics) -> Vec<(String, BTreeMap<String, f64>)> {
    let mut out: Vec<(String, BTreeMap<String, f64>)> = Vec::new();
    for r in metrics.rows.iter().filter(|r| r.split == "construction") {
        match out.last_mut() {
            Some((label, map)) if *label == r.run => {
                map.insert(r.metric.clone(), r.value);
            }
            _ => out.push((
                r.run.clone(),
                [(r.metric.clone(), r.value)].into_iter().collect(),
            )),
        }
    }
    out
}

/// Median and 20-80% band over runs of `metric` against n, for runs whose
/// label starts with `prefix` and whose d is `d` (any d when None).
fn series_vs_n(
    fits: &[(String, BTreeMap<String, f64>)],
    prefix: &str,
    d: Option<f64>,
    metric: &str,
    label: String,
    dashed: bool,
) -> Option<Series> {
    let rows: Vec<&BTreeMap<String, f64>> = fits
        .iter()
        .filter(|(l, m)| l.starts_with(prefix) && d.is_none_or(|d| m.get("d") == Some(&d)))
        .map(|(_, m)| m)
        .collect();
    let mut ns: Vec<f64> = rows.iter().filter_map(|m| m.get("n").copied()).collect();
    ns.sort_by(f64::total_cmp);
    ns.dedup();
    if ns.is_empty() {
        return None;
    }
    let per_n: Vec<Vec<f64>> = ns
        .iter()
        .map(|&n| {
            rows.iter()
                .filter(|m| m.get("n") == Some(&n))
                .filter_map(|m| m.get(metric).copied())
                .collect()
        })
        .collect();
    Some(Series {
        label,
        x: ns,
        y: per_n.iter().map(|v| quantile(v, 0.5)).collect(),
        band: Some((
            per_n.iter().map(|v| quantile(v, 0.2)).collect(),
            per_n.iter().map(|v| quantile(v, 0.8)).collect(),
        )),
        dashed,
        markers: true,
        color: None,
        reference: false,
    })
}

/// max_weight_vs_n: max|w| against n, one curve per d (+-1 labels; Gaussian
/// labels dashed), the CIFAR runs, and a slope-2 guide through the first median.
fn max_weight_vs_n(spec: &ExpressivitySpec, fits: &[Fit], fig_dir: &Path) -> Result<()> {
    let mut w_series = Vec::new();
    for &d in &spec.gaussian.d {
        for (targets, dashed) in [(Targets::Sign, false), (Targets::Gaussian, true)] {
            if !spec.gaussian.targets.contains(&targets) {
                continue;
            }
            let prefix = format!("gaussian:{}:", targets.tag());
            let name = format!("Gaussian z, d = {d}, {} labels", targets.tag());
            if let Some(s) = series_vs_n(fits, &prefix, Some(d as f64), "max_abs_w", name, dashed) {
                w_series.push(s);
            }
        }
    }
    if let Some(c) = &spec.cifar {
        for &targets in &c.targets {
            let prefix = format!("cifar:{}:", targets.tag());
            let name = format!("CIFAR images (d = 3072), {} labels", targets.tag());
            if let Some(s) = series_vs_n(fits, &prefix, None, "max_abs_w", name, true) {
                w_series.push(s);
            }
        }
    }
    if let Some(first) = w_series.first() {
        if let (Some(&n0), Some(&w0)) = (first.x.first(), first.y.first()) {
            let n_max = spec.gaussian.n.iter().copied().max().unwrap_or(1) as f64;
            // A guide, not data: grey dashes (it was drawn in the next
            // palette colour, dashed like the Gaussian-label medians).
            w_series.push(Series {
                label: "guide: n^2 (theory's slope), through the first median".into(),
                x: vec![n0, n_max],
                y: vec![w0, w0 * (n_max / n0).powi(2)],
                reference: true,
                ..Default::default()
            });
        }
    }
    if w_series.is_empty() {
        return Ok(());
    }
    plot::line_panels(
        &fig_dir.join("max_weight_vs_n"),
        &[LinePanel {
            title: "2n + d construction: largest output weight (median, 20-80% over seeds)".into(),
            x_label: "n (points)".into(),
            y_label: "max_j |w_j|".into(),
            log_x: true,
            log_y: true,
            series: w_series,
            ..Default::default()
        }],
        1,
    )
}

/// fit_error_vs_n: the relative fit error of +-1 labellings against n, one
/// curve per d and for CIFAR, with the rounding certificate (all d).
fn fit_error_vs_n(spec: &ExpressivitySpec, fits: &[Fit], fig_dir: &Path) -> Result<()> {
    let mut err_series = Vec::new();
    if spec.gaussian.targets.contains(&Targets::Sign) {
        let prefix = format!("gaussian:{}:", Targets::Sign.tag());
        for &d in &spec.gaussian.d {
            let name = format!("Gaussian z, d = {d}, {} labels", Targets::Sign.tag());
            let metric = "relative_fit_error";
            if let Some(s) = series_vs_n(fits, &prefix, Some(d as f64), metric, name, false) {
                err_series.push(s);
            }
        }
    }
    if let Some(c) = &spec.cifar {
        if c.targets.contains(&Targets::Sign) {
            let prefix = format!("cifar:{}:", Targets::Sign.tag());
            let name = format!("CIFAR images (d = 3072), {} labels", Targets::Sign.tag());
            if let Some(s) = series_vs_n(fits, &prefix, None, "relative_fit_error", name, false) {
                err_series.push(s);
            }
        }
    }
    // A bound, not a measurement: the only dashed curve, without markers.
    if let Some(mut s) = series_vs_n(
        fits,
        "gaussian:sign:",
        None,
        "relative_rounding_bound",
        "upper bound: rounding certificate 2 gamma_(n+1) max_i sum_j |w_j| A_ij / max|y| (all d)"
            .into(),
        true,
    ) {
        s.markers = false;
        err_series.push(s);
    }
    if err_series.is_empty() {
        return Ok(());
    }
    plot::line_panels(
        &fig_dir.join("fit_error_vs_n"),
        &[LinePanel {
            title:
                "2n + d construction: relative fit error max_i |c(z_i) - y_i| / max|y| (+-1 labels)"
                    .into(),
            x_label: "n (points)".into(),
            y_label: "relative fit error".into(),
            log_x: true,
            log_y: true,
            series: err_series,
            ..Default::default()
        }],
        1,
    )
}

/// gd_training_error: GD training error vs step, median and 20-80% band over
/// seeds per n. A run's error at a step it did not record is its last
/// recorded value (0 once it stopped).
fn gd_training_error(gd: &GdContrast, metrics: &Metrics, fig_dir: &Path) -> Result<()> {
    let mut series = Vec::new();
    for &n in &gd.n {
        let prefix = format!("gd:n{n}:");
        let runs: Vec<Vec<(u64, f64)>> = metrics
            .series("train", "error")
            .into_iter()
            .filter(|(r, _)| r.starts_with(&prefix))
            .map(|(_, pts)| pts)
            .collect();
        let mut steps: Vec<u64> = runs.iter().flatten().map(|p| p.0).collect();
        steps.sort_unstable();
        steps.dedup();
        let at = |pts: &[(u64, f64)], t: u64| {
            pts.iter()
                .take_while(|p| p.0 <= t)
                .last()
                .map_or(f64::NAN, |p| p.1)
        };
        let per_step: Vec<Vec<f64>> = steps
            .iter()
            .map(|&t| runs.iter().map(|r| at(r, t)).collect())
            .collect();
        if steps.is_empty() {
            continue;
        }
        series.push(Series {
            label: format!("n = m = {n}, median and 20-80% over {} seeds", runs.len()),
            x: steps.iter().map(|&t| t as f64 + 1.0).collect(),
            y: per_step.iter().map(|v| quantile(v, 0.5)).collect(),
            band: Some((
                per_step.iter().map(|v| quantile(v, 0.2)).collect(),
                per_step.iter().map(|v| quantile(v, 0.8)).collect(),
            )),
            dashed: false,
            markers: false,
            color: None,
            reference: false,
        });
    }
    if !series.is_empty() {
        plot::line_panels(
            &fig_dir.join("gd_training_error"),
            &[LinePanel {
                title: format!(
                    "GD, two-layer ReLU with m = n hidden units, d = {}, random +-1 labels",
                    gd.d
                ),
                x_label: "t + 1 (GD steps)".into(),
                y_label: "training error".into(),
                log_x: true,
                log_y: false,
                y_range: Some((0.0, 0.6)),
                series,
                hlines: vec![HLine {
                    y: 0.5,
                    label: "chance".into(),
                    kind: crate::plot::RefKind::Chance,
                }],
                ..Default::default()
            }],
            1,
        )?;
    }
    Ok(())
}
