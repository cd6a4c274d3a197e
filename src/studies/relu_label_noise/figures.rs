//! The figures, redrawn from runs.csv and the resolved spec alone: the phase
//! diagram (eta against parameters / n, colour = clean error at the largest
//! n, measured and linear benign boundaries), clean error against n at one
//! eta (one line per ratio, linear floors dashed), and the activation contrast.
//!
//! The phase diagram and the error curves read the claims' evidence: each
//! cell's interpolating runs, and only cells where at least
//! claims.min_interpolated of the runs interpolate. A cell short of them is
//! drawn grey ("not interpolated") or left out, never as benign: the claims
//! concern networks that fit their noisy labels, and a network that does
//! not is no case of benign overfitting. (Review finding, 2026-12-07: the
//! figures read every run, so cells where 0 to 4 of 10 runs fit their
//! labels were drawn benign, with boundary dots, while the claims call them
//! inconclusive.) summary.json's phase_cells and benign_boundary still read
//! every run.

use std::path::Path;

use super::claims::{contrast_pairs, linear_boundary, linear_floor, Evidence, Grid};
use super::{network_name, Family, ReluNoiseSpec, Row};
use crate::error::Result;
use crate::plot::{self, HLine, HeatmapPanel, LinePanel, Series};
use crate::record::{fmt_num, quantile, RunDir};
use crate::spec::LoadedSpec;
use crate::studies::toolkit::csv::read_csv;
use crate::theory::label_noise::Regime;

/// Redraw every figure of a finished run in `dir`.
pub fn plot(loaded: &LoadedSpec, dir: &Path) -> Result<()> {
    let spec: ReluNoiseSpec = loaded.study_section()?;
    let run_dir = RunDir::new(dir);
    let fig_dir = run_dir.figures();
    let rows: Vec<Row> = read_csv(&run_dir.file("runs.csv"))?;
    let grid = Grid::new(&spec, &rows);
    phase_diagram(&spec, &grid, &fig_dir)?;
    error_vs_n(&spec, &grid, &fig_dir)?;
    if let (Some(k), Some((relu, leaky))) = (&spec.contrast, contrast_pairs(&spec, &rows)) {
        let mut paired = Series {
            label: "one seed (same data and init)".into(),
            markers: true,
            ..Default::default()
        };
        for (a, b) in relu.iter().zip(&leaky) {
            // NaN between points: markers only.
            paired.x.extend([a.clean_error, f64::NAN]);
            paired.y.extend([b.clean_error, f64::NAN]);
        }
        let top = relu
            .iter()
            .chain(&leaky)
            .map(|r| r.clean_error)
            .fold(0.0, f64::max)
            * 1.05
            + 1e-3;
        let diagonal = Series {
            label: "equal error".into(),
            x: vec![0.0, top],
            y: vec![0.0, top],
            dashed: true,
            ..Default::default()
        };
        plot::line_panels(
            &fig_dir.join("activation_contrast"),
            &[LinePanel {
                title: format!(
                    "ReLU vs leaky ReLU (slope {}): {} family, m p / n = {}, n = {}, eta = {}",
                    k.leaky_slope,
                    k.family.name(),
                    k.ratio,
                    k.n,
                    k.eta
                ),
                x_label: "clean test error, ReLU".into(),
                y_label: "clean test error, leaky ReLU".into(),
                x_range: Some((0.0, top)),
                y_range: Some((0.0, top)),
                series: vec![paired, diagonal],
                ..Default::default()
            }],
            1,
        )?;
    }
    Ok(())
}

/// The Monte Carlo resolution: errors below it read as 0 and are drawn at it.
fn resolution(spec: &ReluNoiseSpec) -> f64 {
    0.5 / spec.data.test_draws as f64
}

/// An error drawn at the Monte Carlo resolution `floor` if below it; NaN
/// (no interpolating runs to read) stays NaN, where `f64::max` would draw
/// it at the floor, the best error there is.
fn at_floor(error: f64, floor: f64) -> f64 {
    if error.is_nan() {
        error
    } else {
        error.max(floor)
    }
}

/// claims.min_interpolated as a percentage, for the figures' notes.
fn min_interpolated_pct(spec: &ReluNoiseSpec) -> String {
    format!("{}%", fmt_num(100.0 * spec.claims.min_interpolated))
}

/// The legend's name for the grey cells: the claims' rule, said in full.
fn not_interpolated_label(spec: &ReluNoiseSpec) -> String {
    format!(
        "not interpolated: fewer than {} of the runs fit every label (not judged)",
        min_interpolated_pct(spec)
    )
}

fn phase_diagram(spec: &ReluNoiseSpec, grid: &Grid, fig_dir: &Path) -> Result<()> {
    let (d, g) = (&spec.data, &spec.grid);
    let n1 = *d.n.last().unwrap();
    let excess = spec.claims.regime.benign_excess;
    let floor = resolution(spec);
    let top = d.eta.iter().cloned().fold(0.0, f64::max);
    let net = network_name(spec.model.activation());
    let overlays = |family: Family| -> Vec<Series> {
        let mut measured = Series {
            label: "measured benign boundary (interpolating runs)".into(),
            markers: true,
            ..Default::default()
        };
        for &eta in &d.eta {
            measured
                .x
                .push(grid.benign_from(Evidence::Interpolating, family, eta));
            measured.y.push(eta);
        }
        let mut linear = Series {
            label: format!("linear prediction: floor = {excess} (n -> inf)"),
            dashed: true,
            ..Default::default()
        };
        for k in 1..=40 {
            let eta = k as f64 * top / 40.0;
            if let Some(r) = linear_boundary(eta, excess) {
                linear.x.push(r);
                linear.y.push(eta);
            }
        }
        vec![measured, linear]
    };
    let panel = |family: Family, title: String, value: &dyn Fn(f64, f64) -> f64| HeatmapPanel {
        title,
        x_label: "parameters / n = m p / n".into(),
        y_label: "label noise eta".into(),
        x_values: g.ratios.clone(),
        y_values: d.eta.clone(),
        values: g
            .ratios
            .iter()
            .map(|&r| d.eta.iter().map(|&e| value(r, e)).collect())
            .collect(),
        value_label: "log10 median clean error, interpolating runs".into(),
        missing_label: not_interpolated_label(spec),
        value_range: Some((floor.log10(), 0.5f64.log10())),
        categories: Vec::new(),
        log_x: true,
        log_y: false,
        overlays: overlays(family),
    };
    let mut panels = Vec::new();
    for family in Family::ALL {
        let shape = match family {
            Family::Width => format!("p = {}", g.width_p),
            Family::Dimension => format!("m = {}", g.dimension_m),
        };
        panels.push(panel(
            family,
            format!("{net}: {} family ({shape}), n = {n1}", family.name()),
            &|r, e| at_floor(grid.fit_median(family, r, n1, e), floor).log10(),
        ));
    }
    for family in Family::ALL {
        let mut p = panel(
            family,
            format!("{} family: regime over n", family.name()),
            &|r, e| Regime::cell(grid.regime(Evidence::Interpolating, family, r, e)),
        );
        p.categories = Regime::categories();
        panels.push(p);
    }
    plot::heatmap_panels(&fig_dir.join("phase_diagram"), &panels, 2)
}

fn error_vs_n(spec: &ReluNoiseSpec, grid: &Grid, fig_dir: &Path) -> Result<()> {
    let (d, g) = (&spec.data, &spec.grid);
    let eta = spec.figures.error_vs_n_eta;
    let floor = resolution(spec);
    let ns: Vec<f64> = d.n.iter().map(|&n| n as f64).collect();
    let net = network_name(spec.model.activation());
    let note = format!(
        "each point: median (band: 20-80%) of the runs that fit every label; a point where fewer than {} of its runs do is left out (not judged)",
        min_interpolated_pct(spec)
    );
    let mut panels = Vec::new();
    for family in Family::ALL {
        let mut series = Vec::new();
        let mut hlines = Vec::new();
        for &r in &g.ratios {
            // The interpolating runs' quantiles; NaN (a gap) at an n short of them.
            let q = |level: f64| -> Vec<f64> {
                d.n.iter()
                    .map(|&n| {
                        let fit = grid.fit_errors(family, r, n, eta).unwrap_or_default();
                        at_floor(quantile(&fit, level), floor)
                    })
                    .collect()
            };
            series.push(Series {
                label: format!("m p / n = {r} ({net})"),
                x: ns.clone(),
                y: q(0.5),
                band: Some((q(0.2), q(0.8))),
                markers: true,
                dashed: false,
                color: None,
                reference: false,
            });
        }
        // The linear floors, one line each; those below the Monte Carlo
        // resolution share one line at it.
        let mut below = Vec::new();
        for &r in g.ratios.iter().filter(|_| eta > 0.0) {
            let y = linear_floor(r, eta);
            if y < floor {
                below.push(r.to_string());
            } else {
                hlines.push(HLine {
                    y,
                    label: format!("linear, p/n = {r} (n -> inf)"),
                    kind: crate::plot::RefKind::Theory,
                });
            }
        }
        if !below.is_empty() {
            hlines.push(HLine {
                y: floor,
                label: format!(
                    "linear, p/n = {}: below {} (the Monte Carlo resolution)",
                    below.join(", "),
                    fmt_num(floor)
                ),
                kind: crate::plot::RefKind::Theory,
            });
        }
        // The Bayes error, where it is one number for the whole panel (p fixed).
        let bayes: Vec<f64> = g
            .ratios
            .iter()
            .flat_map(|&r| d.n.iter().map(move |&n| grid.bayes(family, r, n)))
            .collect();
        let mut title = format!("{} family, eta = {eta}", family.name());
        if bayes.iter().all(|&b| b == bayes[0]) {
            hlines.push(HLine {
                y: bayes[0].max(floor),
                label: "Bayes error".into(),
                ..Default::default()
            });
        } else {
            title.push_str(" (Bayes error falls with p)");
        }
        panels.push(LinePanel {
            title,
            x_label: "n".into(),
            y_label: "clean test error".into(),
            log_x: true,
            log_y: true,
            y_range: Some((floor * 0.8, 0.6)),
            series,
            hlines,
            notes: vec![note.clone()],
            ..Default::default()
        });
    }
    plot::line_panels(&fig_dir.join("error_vs_n"), &panels, 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::study_section;

    /// On the committed ReLU run, a cell where fewer than min_interpolated
    /// of the runs interpolate at some n is never drawn benign and ends the
    /// boundary walk: dimension family, m p / n = 20, eta = 0.05 fit in 4 of
    /// 10 runs at n = 200, and every run's median called it benign.
    #[test]
    fn cells_short_of_interpolating_runs_are_never_benign() {
        let run = Path::new(env!("CARGO_MANIFEST_DIR")).join("figures/relu_label_noise");
        let spec: ReluNoiseSpec = study_section("figures/relu_label_noise/spec.toml");
        let rows: Vec<Row> = read_csv(&run.join("runs.csv")).unwrap();
        let grid = Grid::new(&spec, &rows);
        let short = |family: Family, r: f64, eta: f64| {
            spec.data
                .n
                .iter()
                .any(|&n| grid.interpolated(family, r, n, eta) < spec.claims.min_interpolated)
        };
        let mut seen = 0;
        for family in Family::ALL {
            for &eta in &spec.data.eta {
                for &r in &spec.grid.ratios {
                    if short(family, r, eta) {
                        assert_eq!(
                            grid.regime(Evidence::Interpolating, family, r, eta),
                            None,
                            "{r} {eta}"
                        );
                        seen += 1;
                    }
                }
                let from = grid.benign_from(Evidence::Interpolating, family, eta);
                for &r in spec.grid.ratios.iter().filter(|&&r| r >= from) {
                    assert!(!short(family, r, eta), "dot over a short cell: {r} {eta}");
                }
            }
        }
        assert!(seen > 10, "{seen} short cells");
        let d = Family::Dimension;
        assert_eq!(
            grid.regime(Evidence::EveryRun, d, 20.0, 0.05),
            Some(Regime::Benign)
        );
        assert_eq!(grid.regime(Evidence::Interpolating, d, 20.0, 0.05), None);
        assert!(grid.benign_from(Evidence::Interpolating, d, 0.05).is_nan());
        // Width family at eta = 0: ratio 1 fits in 3 of 10 runs at n = 50.
        assert_eq!(
            grid.benign_from(Evidence::EveryRun, Family::Width, 0.0),
            1.0
        );
        assert_eq!(
            grid.benign_from(Evidence::Interpolating, Family::Width, 0.0),
            2.0
        );
    }

    /// A cell without interpolating runs stays NaN (drawn as missing), not
    /// at the resolution, which would draw it as the best error there is.
    #[test]
    fn no_runs_is_not_the_floor() {
        assert!(at_floor(f64::NAN, 1e-4).is_nan());
        assert_eq!(at_floor(0.0, 1e-4), 1e-4);
        assert_eq!(at_floor(0.2, 1e-4), 0.2);
    }
}
