//! The figures of the leaky-ReLU study, redrawn from runs.csv: the error
//! over (n, d/n) (karhadkar_heatmap), ln(error) against d/k with the fit the
//! claims judge (karhadkar_log_error_vs_d_over_k), and the error against the
//! signal level gamma and in the harmful regime (karhadkar_gamma).

use std::path::Path;

use super::claims::{fit_points, heatmap_cell, pooled};
use super::{GammaSweepSpec, Group, HarmfulSpec, LeakySpec, Row};
use crate::error::Result;
use crate::plot::{self, HLine, HeatmapPanel, LinePanel, Series};
use crate::record::{fmt_num, quantile, RunDir};
use crate::spec::LoadedSpec;
use crate::studies::toolkit::csv::read_csv;
use crate::studies::toolkit::stats::line_fit;
use crate::theory::label_noise::wilson_interval;

/// Draw every figure of the run in `dir`.
pub fn plot(loaded: &LoadedSpec, dir: &Path) -> Result<()> {
    let spec: LeakySpec = loaded.study_section()?;
    let run_dir = RunDir::new(dir);
    let rows: Vec<Row> = read_csv(&run_dir.file("runs.csv"))?;
    let fig_dir = run_dir.figures();
    heatmap_figure(&spec, &rows, &fig_dir)?;
    log_error_figure(&spec, &rows, &fig_dir)?;
    let mut panels = Vec::new();
    if let Some(g) = &spec.gamma_sweep {
        panels.push(gamma_sweep_panel(&spec, g, &rows));
    }
    if let Some(hm) = &spec.harmful {
        panels.push(harmful_panel(&spec, hm, &rows));
    }
    if !panels.is_empty() {
        plot::line_panels(&fig_dir.join("karhadkar_gamma"), &panels, panels.len())?;
    }
    Ok(())
}

/// log10 of the pooled clean error over (d/n, n) at the heatmap's gamma.
fn heatmap_figure(spec: &LeakySpec, rows: &[Row], fig_dir: &Path) -> Result<()> {
    let h = &spec.heatmap;
    // Zero observed errors are drawn at the Wilson upper bound (an upper limit).
    let values: Vec<Vec<f64>> = h
        .d_over_n
        .iter()
        .map(|&r| {
            h.n.iter()
                .map(|&n| {
                    let (e, s) = pooled(heatmap_cell(rows, n, r));
                    if s == 0.0 {
                        f64::NAN
                    } else if e == 0.0 {
                        wilson_interval(e, s, 1.96).1.log10()
                    } else {
                        (e / s).log10()
                    }
                })
                .collect()
        })
        .collect();
    plot::heatmap_panels(
        &fig_dir.join("karhadkar_heatmap"),
        &[HeatmapPanel {
            title: format!(
                "leaky-ReLU net, gamma = {}, k/n = {}, m = {}",
                h.gamma, spec.data.corruption, spec.model.m
            ),
            x_label: "d / n".into(),
            y_label: "n".into(),
            x_values: h.d_over_n.clone(),
            y_values: h.n.iter().map(|&n| n as f64).collect(),
            values,
            value_label: "log10 clean test error (0 errors: 95% upper bound)".into(),
            missing_label: String::new(),
            value_range: Some((-5.0, 0.5f64.log10())),
            categories: Vec::new(),
            log_x: false,
            log_y: false,
            overlays: Vec::new(),
        }],
        1,
    )?;
    Ok(())
}

/// ln(error) against d/k, one series per n, with the pooled straight-line fit.
fn log_error_figure(spec: &LeakySpec, rows: &[Row], fig_dir: &Path) -> Result<()> {
    let h = &spec.heatmap;
    let pts = fit_points(spec, rows);
    let mut series: Vec<Series> =
        h.n.iter()
            .map(|&n| {
                let p: Vec<&(f64, f64, usize)> = pts.iter().filter(|q| q.2 == n).collect();
                Series {
                    label: format!("n = {n}"),
                    x: p.iter().map(|q| q.0).collect(),
                    y: p.iter().map(|q| q.1.exp()).collect(),
                    markers: true,
                    ..Default::default()
                }
            })
            .collect();
    if pts.len() >= 3 {
        let xs: Vec<f64> = pts.iter().map(|p| p.0).collect();
        let ys: Vec<f64> = pts.iter().map(|p| p.1).collect();
        let fit = line_fit(&xs, &ys);
        let (a, b, r2) = (fit.intercept, fit.slope, fit.r2);
        let (lo, hi) = (
            xs.iter().cloned().fold(f64::INFINITY, f64::min),
            xs.iter().cloned().fold(0.0, f64::max),
        );
        series.push(Series {
            label: format!("fit, slope {} (R^2 {})", fmt_num(b), fmt_num(r2)),
            x: vec![lo, hi],
            y: vec![(a + b * lo).exp(), (a + b * hi).exp()],
            dashed: true,
            ..Default::default()
        });
    }
    plot::line_panels(
        &fig_dir.join("karhadkar_log_error_vs_d_over_k"),
        &[LinePanel {
            title: format!(
                "benign regime: error vs d/k (k = {} n flips, cells with >= {} MC errors)",
                spec.data.corruption, spec.claims.min_error_count
            ),
            x_label: "d / k".into(),
            y_label: "clean test error (pooled over runs)".into(),
            log_y: true,
            series,
            ..Default::default()
        }],
        1,
    )?;
    Ok(())
}

/// Error against the signal level gamma at d = d_over_n n, one series per n.
fn gamma_sweep_panel(spec: &LeakySpec, g: &GammaSweepSpec, rows: &[Row]) -> LinePanel {
    LinePanel {
        title: format!("error vs signal level, d = {} n", g.d_over_n),
        x_label: "gamma".into(),
        y_label: "clean test error (mean over runs)".into(),
        series: g
            .n
            .iter()
            .map(|&n| {
                let y = g.gamma.iter().map(|&gm| {
                    let (e, s) = pooled(
                        rows.iter()
                            .filter(|x| x.group == Group::GammaSweep && x.n == n && x.gamma == gm),
                    );
                    if s > 0.0 {
                        e / s
                    } else {
                        f64::NAN
                    }
                });
                Series {
                    label: format!("n = {n}"),
                    x: g.gamma.clone(),
                    y: y.collect(),
                    markers: true,
                    ..Default::default()
                }
            })
            .collect(),
        hlines: vec![HLine {
            y: spec.claims.harmful_error,
            label: "1/8".into(),
            kind: crate::plot::RefKind::Theory,
        }],
        ..Default::default()
    }
}

/// The harmful regime gamma = c alpha^3/d: error against n (median and
/// 20-80% band over runs), one series per c, against the theorem's 1/8.
fn harmful_panel(spec: &LeakySpec, hm: &HarmfulSpec, rows: &[Row]) -> LinePanel {
    LinePanel {
        title: format!("harmful regime gamma = c alpha^3/d, d = {} n", hm.d_over_n),
        x_label: "n".into(),
        y_label: "clean test error (median, 20-80%)".into(),
        y_range: Some((0.0, 0.6)),
        y_floor: None,
        equal_aspect: false,
        series: hm
            .gamma_constant
            .iter()
            .map(|&cst| {
                let stat = |q: f64| -> Vec<f64> {
                    hm.n.iter()
                        .map(|&n| {
                            quantile(
                                &rows
                                    .iter()
                                    .filter(|x| {
                                        x.group == Group::Harmful && x.n == n && x.knob == cst
                                    })
                                    .map(|x| x.errors / x.samples)
                                    .collect::<Vec<_>>(),
                                q,
                            )
                        })
                        .collect()
                };
                Series {
                    label: format!("c = {cst}"),
                    x: hm.n.iter().map(|&n| n as f64).collect(),
                    y: stat(0.5),
                    band: Some((stat(0.2), stat(0.8))),
                    markers: true,
                    ..Default::default()
                }
            })
            .collect(),
        hlines: vec![
            HLine {
                y: spec.claims.harmful_error,
                label: "1/8 (theorem)".into(),
                kind: crate::plot::RefKind::Theory,
            },
            HLine {
                y: 0.5,
                label: "chance".into(),
                kind: crate::plot::RefKind::Chance,
            },
        ],
        ..Default::default()
    }
}
