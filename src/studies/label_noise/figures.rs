//! The figures of the label-noise study, redrawn from cells.csv, gd.csv and
//! the resolved spec: the phase diagram over (p/n, eta) (phase_diagram), the
//! clean error against n at fixed p/n (error_vs_n), the SVM against the
//! min-norm interpolator (svm_vs_min_norm) and logistic GD against the SVM
//! (logistic_gd_direction).

use std::path::Path;

use super::csv::{GdRow, Row};
use super::grid::Grid;
use super::{position, GdSpec, LabelNoiseSpec};
use crate::error::Result;
use crate::plot::{self, HLine, HeatmapPanel, LinePanel, Series};
use crate::record::{quantile, RunDir};
use crate::spec::LoadedSpec;
use crate::studies::toolkit::csv::read_csv;
use crate::theory::label_noise::{floor_boundary, limit_snr, normal_cdf, MinNormTheory, Regime};

/// Redraw every figure from cells.csv, gd.csv and the resolved spec.
pub fn plot(loaded: &LoadedSpec, dir: &Path) -> Result<()> {
    let spec: LabelNoiseSpec = loaded.study_section()?;
    let run_dir = RunDir::new(dir);
    let fig_dir = run_dir.figures();
    let rows: Vec<Row> = read_csv(&run_dir.file("cells.csv"))?;
    let grid = Grid::new(&spec, &rows);
    phase_diagram_figure(&spec, &grid, &fig_dir)?;
    error_vs_n_figure(&spec, &grid, &fig_dir)?;
    svm_vs_min_norm_figure(&spec, &grid, &fig_dir)?;
    let gd_path = run_dir.file("gd.csv");
    let gd_rows: Vec<GdRow> = if gd_path.is_file() {
        read_csv(&gd_path)?
    } else {
        Vec::new()
    };
    if let (Some(g), false) = (&spec.logistic_gd, gd_rows.is_empty()) {
        logistic_gd_figure(g, &gd_rows, &fig_dir)?;
    }
    Ok(())
}

/// log10 of the clean error Phi(-SNR) (NaN when the SNR is not finite).
fn log_err(s: f64) -> f64 {
    if s.is_finite() {
        normal_cdf(-s).max(1e-300).log10()
    } else {
        f64::NAN
    }
}

/// The benign boundaries over eta drawn on the phase diagram: the measured
/// one (one series: the p < n side, a NaN break, the p > n side) and, when
/// the closed form applies, its n -> infinity limit.
fn boundary_series(spec: &LabelNoiseSpec, grid: &Grid<'_>, svm: bool) -> Vec<Series> {
    let d = &spec.data;
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
        let side =
            |eta: f64| floor_boundary(eta, spec.claims.regime.benign_excess).unwrap_or((1.0, 1.0));
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
}

/// A heatmap over (p/n, eta) of f(ratio index, eta index).
fn heat(
    spec: &LabelNoiseSpec,
    title: String,
    f: &dyn Fn(usize, usize) -> f64,
    overlays: Vec<Series>,
) -> HeatmapPanel {
    let d = &spec.data;
    HeatmapPanel {
        title,
        x_label: "p / n".into(),
        y_label: "label noise eta".into(),
        x_values: d.p_over_n.clone(),
        y_values: d.eta.clone(),
        values: (0..d.p_over_n.len())
            .map(|ri| (0..d.eta.len()).map(|ei| f(ri, ei)).collect())
            .collect(),
        value_label: "log10 median clean error".into(),
        missing_label: String::new(),
        value_range: Some((-8.0, 0.5f64.log10())),
        categories: Vec::new(),
        log_x: true,
        log_y: false,
        overlays,
    }
}

/// Phase diagram: p/n by eta at the largest n (min-norm and SVM clean
/// errors), the measured regimes over n and the closed form's, with the
/// benign boundaries.
fn phase_diagram_figure(spec: &LabelNoiseSpec, grid: &Grid<'_>, fig_dir: &Path) -> Result<()> {
    let d = &spec.data;
    let nmax_i = d.n.len() - 1;
    let nmax = d.n[nmax_i];
    let mut panels = vec![
        heat(
            spec,
            format!("min-norm interpolator / least squares, n = {nmax}"),
            &|ri, ei| log_err(grid.median_snr(ri, nmax_i, ei)),
            boundary_series(spec, grid, false),
        ),
        heat(
            spec,
            format!("hard-margin SVM (p > n), n = {nmax}"),
            &|ri, ei| log_err(grid.median_svm_snr(ri, nmax_i, ei)),
            boundary_series(spec, grid, true),
        ),
    ];
    let mut regimes = heat(
        spec,
        "measured regime over n (min-norm)".into(),
        &|ri, ei| Regime::cell(grid.measured_regime(ri, ei, false)),
        boundary_series(spec, grid, false),
    );
    regimes.categories = Regime::categories();
    panels.push(regimes);
    if grid.has_theory() {
        let mut th = heat(
            spec,
            "closed-form regime over n".into(),
            &|ri, ei| Regime::cell(grid.theory_regime(ri, ei)),
            Vec::new(),
        );
        th.categories = Regime::categories();
        panels.push(th);
    }
    plot::heatmap_panels(&fig_dir.join("phase_diagram"), &panels, 2)?;
    Ok(())
}

/// Clean error against n at fixed p/n (the mild ratio and the largest, or
/// the spec's choice), one panel per eta, with the closed form and its
/// n -> infinity floors.
fn error_vs_n_figure(spec: &LabelNoiseSpec, grid: &Grid<'_>, fig_dir: &Path) -> Result<()> {
    plot::line_panels(
        &fig_dir.join("error_vs_n"),
        &error_vs_n_panels(spec, grid),
        2,
    )
}

/// The panels of [`error_vs_n_figure`].
fn error_vs_n_panels(spec: &LabelNoiseSpec, grid: &Grid<'_>) -> Vec<LinePanel> {
    let d = &spec.data;
    let nmax_i = d.n.len() - 1;
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
        // One colour per p/n in every panel, simulation (solid, markers)
        // and closed form (dashed) alike: the closed form took the next
        // palette colour, so each ratio's pair read as two quantities.
        for (k, &ri) in ratios.iter().enumerate() {
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
                color: Some(k),
                reference: false,
            });
            if grid.has_theory() {
                series.push(Series {
                    label: format!("p/n = {r} (closed form)"),
                    color: Some(k),
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
                            kind: crate::plot::RefKind::Theory,
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
    line
}

/// The fraction of the seeds of cell (ratio, n, eta) where every training
/// point is a support vector (NaN: no SVM).
fn svp_fraction(grid: &Grid<'_>, ri: usize, ni: usize, ei: usize) -> f64 {
    let v = grid.svm_values(ri, ni, ei, |r| r.all_support);
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// SVM against min-norm over the ratios `over` with p > n: the calibration
/// of P(SVP) and where the transition sits (when the closed form applies),
/// then how far apart the two solutions are and their clean-error ratio.
fn svm_vs_min_norm_figure(spec: &LabelNoiseSpec, grid: &Grid<'_>, fig_dir: &Path) -> Result<()> {
    let d = &spec.data;
    let over: Vec<usize> = (0..d.p_over_n.len())
        .filter(|&ri| grid.p(ri, 0) > d.n[0])
        .collect();
    if over.is_empty() {
        return Ok(());
    }
    let xs: Vec<f64> = over.iter().map(|&ri| d.p_over_n[ri]).collect();
    let mut panels = Vec::new();
    if grid.has_theory() {
        panels.push(svp_calibration_panel(spec, grid, &over));
        panels.push(svp_transition_panel(spec, grid, &over));
    }
    // How far apart the two solutions are, and their clean errors, at the largest n.
    let nmax_i = d.n.len() - 1;
    let nmax = d.n[nmax_i];
    panels.push(LinePanel {
        title: format!("SVM vs min-norm direction, n = {nmax}"),
        x_label: "p / n".into(),
        y_label: "median 1 - cos(w_svm, w_mn)".into(),
        log_x: true,
        log_y: true,
        y_range: Some((1e-17, 1.0)),
        series: per_eta_series(spec, &over, &xs, &|ri, ei| {
            quantile(&grid.svm_values(ri, nmax_i, ei, |r| r.one_minus_cos), 0.5)
        }),
        ..Default::default()
    });
    panels.push(LinePanel {
        title: format!("clean error, SVM / min-norm, n = {nmax}"),
        x_label: "p / n".into(),
        y_label: "ratio of median clean errors".into(),
        log_x: true,
        series: per_eta_series(spec, &over, &xs, &|ri, ei| {
            normal_cdf(-grid.median_svm_snr(ri, nmax_i, ei))
                / normal_cdf(-grid.median_snr(ri, nmax_i, ei))
        }),
        hlines: vec![HLine {
            y: 1.0,
            label: "equal".into(),
            ..Default::default()
        }],
        ..Default::default()
    });
    plot::line_panels(&fig_dir.join("svm_vs_min_norm"), &panels, 2)
}

/// Measured fraction of SVP against its predicted probability, one point per
/// (p/n, n) cell, one series per eta.
fn svp_calibration_panel(spec: &LabelNoiseSpec, grid: &Grid<'_>, over: &[usize]) -> LinePanel {
    let d = &spec.data;
    let mut series = Vec::new();
    for (ei, &eta) in d.eta.iter().enumerate() {
        let mut s = Series {
            label: format!("eta = {eta}"),
            markers: true,
            ..Default::default()
        };
        for &ri in over {
            for ni in 0..d.n.len() {
                if let Some(prob) = grid.theory(ri, ni, ei).svp_probability() {
                    // NaN between points: markers only, no connecting line.
                    s.x.extend([prob, f64::NAN]);
                    s.y.extend([svp_fraction(grid, ri, ni, ei), f64::NAN]);
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
    LinePanel {
        title: "support-vector proliferation: every cell".into(),
        x_label: "predicted P(all points are support vectors)".into(),
        y_label: "measured fraction of runs".into(),
        x_range: Some((-0.02, 1.02)),
        y_range: Some((-0.02, 1.02)),
        y_floor: None,
        equal_aspect: false,
        series,
        ..Default::default()
    }
}

/// The ratio p/n at which the predicted P(SVP) is 1/2 for n training points
/// with a `flip` fraction of flipped labels (bisection on a log scale).
fn predicted_half_ratio(spec: &LabelNoiseSpec, n: usize, flip: f64) -> f64 {
    let d = &spec.data;
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
}

/// Measured: log-linear interpolation of the SVP fraction across the grid's
/// ratios `over` to where it crosses 1/2 (NaN: it does not).
fn measured_half(
    spec: &LabelNoiseSpec,
    grid: &Grid<'_>,
    over: &[usize],
    ni: usize,
    ei: usize,
) -> f64 {
    let d = &spec.data;
    let f: Vec<(f64, f64)> = over
        .iter()
        .map(|&ri| (d.p_over_n[ri], svp_fraction(grid, ri, ni, ei)))
        .collect();
    for w in f.windows(2) {
        let ((r0, f0), (r1, f1)) = (w[0], w[1]);
        if f0 < 0.5 && f1 >= 0.5 {
            let t = (0.5 - f0) / (f1 - f0);
            return (r0.ln() + t * (r1.ln() - r0.ln())).exp();
        }
    }
    f64::NAN
}

/// Where the transition sits: p/n with P(SVP) = 1/2 against n, predicted and
/// measured, for the smallest and the largest eta.
fn svp_transition_panel(spec: &LabelNoiseSpec, grid: &Grid<'_>, over: &[usize]) -> LinePanel {
    let d = &spec.data;
    let picks: Vec<usize> = {
        let mut v = vec![0, d.eta.len() - 1];
        v.dedup();
        v
    };
    let ns: Vec<f64> = d.n.iter().map(|&n| n as f64).collect();
    let mut series = Vec::new();
    for (k, &ei) in picks.iter().enumerate() {
        series.push(Series {
            label: format!("eta = {} (predicted)", d.eta[ei]),
            color: Some(k),
            x: ns.clone(),
            y: (0..d.n.len())
                .map(|ni| predicted_half_ratio(spec, d.n[ni], grid.flip_fraction(ni, ei)))
                .collect(),
            dashed: true,
            ..Default::default()
        });
        series.push(Series {
            label: format!("eta = {} (measured)", d.eta[ei]),
            color: Some(k),
            x: ns.clone(),
            y: (0..d.n.len())
                .map(|ni| measured_half(spec, grid, over, ni, ei))
                .collect(),
            markers: true,
            ..Default::default()
        });
    }
    series.push(Series {
        label: "2 ln n (no mean: Ardeshir et al.)".into(),
        color: Some(picks.len()),
        x: ns.clone(),
        y: ns.iter().map(|&n| 2.0 * n.ln()).collect(),
        dashed: true,
        ..Default::default()
    });
    LinePanel {
        title: "the SVP transition: P(SVM = min-norm) = 1/2".into(),
        x_label: "n".into(),
        y_label: "p / n at the transition".into(),
        log_x: true,
        log_y: true,
        series,
        ..Default::default()
    }
}

/// One series per eta of f(ratio index, eta index) against p/n over the
/// ratios `over` (whose values are `xs`), markers only at the grid's ratios.
fn per_eta_series(
    spec: &LabelNoiseSpec,
    over: &[usize],
    xs: &[f64],
    f: &dyn Fn(usize, usize) -> f64,
) -> Vec<Series> {
    spec.data
        .eta
        .iter()
        .enumerate()
        .map(|(ei, &eta)| Series {
            label: format!("eta = {eta}"),
            x: xs.to_vec(),
            y: over.iter().map(|&ri| f(ri, ei)).collect(),
            markers: true,
            ..Default::default()
        })
        .collect()
}

/// Logistic GD against the SVM: 1 - cos(w(t), w_svm) and the normalised
/// margin over the SVM's against t, median and 20-80% band over seeds, one
/// series per (p/n, eta).
fn logistic_gd_figure(g: &GdSpec, gd_rows: &[GdRow], fig_dir: &Path) -> Result<()> {
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
                series: margin_series,
                hlines: vec![HLine {
                    y: 1.0,
                    label: "SVM".into(),
                    ..Default::default()
                }],
                ..Default::default()
            },
        ],
        2,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::study_section;

    /// In error_vs_n each p/n keeps one colour, its simulation and its
    /// closed form alike, in every panel, and no two ratios share one.
    #[test]
    fn error_vs_n_colours_each_ratio_once() {
        let spec: LabelNoiseSpec = study_section("experiments/label_noise_phase.toml");
        let grid = Grid::new(&spec, &[]);
        assert!(grid.has_theory());
        let panels = error_vs_n_panels(&spec, &grid);
        let colour = |p: &LinePanel, label: &str| {
            let s = (p.series.iter()).find(|s| s.label == label);
            s.unwrap_or_else(|| panic!("no {label}")).color
        };
        let mut seen = Vec::new();
        for s in panels[0]
            .series
            .iter()
            .filter(|s| s.label.ends_with("(simulation)"))
        {
            let ratio = s.label.trim_end_matches(" (simulation)");
            for p in &panels {
                assert_eq!(colour(p, &s.label), s.color);
                assert_eq!(colour(p, &format!("{ratio} (closed form)")), s.color);
            }
            assert!(s.color.is_some() && !seen.contains(&s.color), "{seen:?}");
            seen.push(s.color);
        }
        assert!(seen.len() >= 2);
    }
}
