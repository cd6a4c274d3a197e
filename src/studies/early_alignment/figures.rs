//! The figures of the early-alignment study, redrawn from a run directory
//! alone: the loss with its phases and the alignment instruments
//! (loss_phases), the neuron directions and their cosines to the extremal
//! vectors at each snapshot (neuron_directions, cosine_histograms), the final
//! function (final_fit) and the lambda sweep (lambda_sweep).

use std::path::Path;

use super::csv::{FitRow, NeuronRow, TheoryKind, TheoryRow};
use super::{lambda_run, phase, series, DataSpec, EarlySpec, LambdaSweep, MAIN};
use crate::error::{Error, Result};
use crate::nets::wide::SquareLoss;
use crate::plot::{self, HLine, HistPanel, LinePanel, Series};
use crate::record::{fmt_num, quantile, Metrics, RunDir, Summary};
use crate::spec::LoadedSpec;
use crate::studies::toolkit::csv::read_csv;
use crate::theory::early_alignment::{cosine, growth_bound};

/// The theory numbers the run recorded in summary.json (NaN when absent).
struct Recorded {
    /// The OLS residual (mean MSE).
    ols_mse: f64,
    /// The step the alignment claims read.
    t_align: f64,
    d_max: f64,
    /// Flow time of one GD step.
    flow: f64,
    /// tau_1/4 and tau_1 in steps.
    tau_quarter: f64,
    tau_one: f64,
}

impl Recorded {
    fn read(dir: &Path) -> Result<Recorded> {
        let summary = Summary::read(dir)?;
        let det = &summary.details;
        let getf = |k: &str| det.get(k).and_then(|v| v.as_f64()).unwrap_or(f64::NAN);
        Ok(Recorded {
            ols_mse: det
                .get("ols")
                .and_then(|o| o.get("mse"))
                .and_then(|v| v.as_f64())
                .unwrap_or(f64::NAN),
            t_align: getf("alignment_step"),
            d_max: getf("d_max"),
            flow: getf("flow_time_per_step"),
            tau_quarter: getf("tau_quarter_steps"),
            tau_one: getf("tau_one_steps"),
        })
    }
}

/// A markers-only series: NaN between points keeps the plot from joining them.
pub fn scatter_series(label: &str, pts: &[(f64, f64)]) -> Series {
    let mut x = Vec::with_capacity(2 * pts.len());
    let mut y = Vec::with_capacity(2 * pts.len());
    for &(a, b) in pts {
        x.extend([a, f64::NAN]);
        y.extend([b, f64::NAN]);
    }
    Series {
        label: label.into(),
        x,
        y,
        band: None,
        dashed: false,
        markers: true,
        color: None,
        reference: false,
    }
}

/// A vertical dashed marker line from y0 to y1.
fn vline(label: &str, x: f64, y0: f64, y1: f64) -> Series {
    Series {
        label: label.into(),
        x: vec![x, x],
        y: vec![y0, y1],
        band: None,
        dashed: true,
        markers: false,
        color: None,
        reference: false,
    }
}

/// Draw every figure of the run in `dir`.
pub fn plot(loaded: &LoadedSpec, dir: &Path) -> Result<()> {
    let spec: EarlySpec = loaded.study_section()?;
    let rd = RunDir::new(dir);
    let metrics = Metrics::read(&rd.metrics())?;
    let fig_dir = rd.figures();
    std::fs::create_dir_all(&fig_dir).map_err(|e| Error::io(&fig_dir, e))?;
    let rec = Recorded::read(dir)?;

    let loss = loss_panel(&spec, &metrics, &rec);
    let zoom = phases_zoom(&loss);
    let mut panels = vec![loss];
    panels.extend(zoom);
    panels.extend(alignment_panels(&spec, &metrics, &rec));
    plot::line_panels(&fig_dir.join("loss_phases"), &panels, 2)?;

    let neurons_path = rd.file("neurons.csv");
    let theory_path = rd.file("theory.csv");
    if neurons_path.exists() && theory_path.exists() {
        let theory: Vec<TheoryRow> = read_csv(&theory_path)?;
        let neurons: Vec<NeuronRow> = read_csv(&neurons_path)?;
        neuron_figures(&theory, &neurons, &fig_dir)?;
        let fit_path = rd.file("fit.csv");
        if fit_path.exists() && theory.iter().any(|r| r.kind == TheoryKind::Point) {
            let fit: Vec<FitRow> = read_csv(&fit_path)?;
            final_fit_figure(&spec, &theory, &fit, &fig_dir)?;
        }
    }
    if let Some(sw) = &spec.lambda_sweep {
        lambda_sweep_figure(sw, &metrics, &rec, &fig_dir)?;
    }
    Ok(())
}

/// Loss against iteration with the phases marked: the claims' end of
/// alignment, tau_1/4 and tau_1 from theory, the measured plateau and growth ends.
fn loss_panel(spec: &EarlySpec, metrics: &Metrics, rec: &Recorded) -> LinePanel {
    let loss = series(metrics, MAIN, "train", "loss");
    let pts: Vec<(f64, f64)> = loss.iter().map(|(s, l)| (*s as f64 + 1.0, *l)).collect();
    let (lmin, lmax) = pts.iter().fold((f64::INFINITY, 0.0f64), |(a, b), p| {
        (a.min(p.1), b.max(p.1))
    });
    let (y0, y1) = (lmin * 0.8, lmax * 1.2);
    let mut series_l = vec![Series {
        label: format!(
            "training loss ({})",
            match spec.train.loss {
                SquareLoss::MeanMse => "mean MSE",
                SquareLoss::HalfSquare => "1/2 square",
            }
        ),
        x: pts.iter().map(|p| p.0).collect(),
        y: pts.iter().map(|p| p.1).collect(),
        ..Default::default()
    }];
    let marks = [
        ("end of alignment (claims)", rec.t_align),
        ("tau_1/4 (theory)", rec.tau_quarter),
        ("tau_1 = -ln(lambda)/D_max (theory)", rec.tau_one),
        (
            "plateau end (measured)",
            phase(metrics, MAIN, "plateau_end_step"),
        ),
        (
            "growth end (measured)",
            phase(metrics, MAIN, "growth_end_step"),
        ),
    ];
    for (label, s) in marks {
        if s.is_finite() && s > 0.0 {
            series_l.push(vline(label, s + 1.0, y0, y1));
        }
    }
    LinePanel {
        title: format!(
            "m = {}, lambda = {:e}, {} init",
            spec.model.m,
            spec.model.lambda,
            format!("{:?}", spec.model.init).to_lowercase()
        ),
        x_label: "iteration + 1".into(),
        y_label: "training loss".into(),
        log_x: true,
        log_y: true,
        y_range: Some((y0, y1)),
        y_floor: None,
        equal_aspect: false,
        series: series_l,
        hlines: vec![HLine {
            y: spec.train.loss.factor() * rec.ols_mse,
            label: "OLS residual (least squares)".into(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// The loss panel again on linear iterations around its phase lines, which
/// on the log axis of a run 100 times longer than its phases sit within a
/// few pixels of each other (the loss panel's legend names them). The
/// window spans the lines within a factor 4 of their median (a line far
/// later, such as the growth end of a run that keeps learning, would
/// squeeze the rest to one edge), with a fifth of their spread on each side
/// (at least 10% of the last). None without two such lines.
fn phases_zoom(loss: &LinePanel) -> Option<LinePanel> {
    let (curve, lines) = loss.series.split_first()?;
    let mut at: Vec<f64> = lines.iter().map(|l| l.x[0]).collect();
    at.sort_by(f64::total_cmp);
    let median = *at.get(at.len() / 2)?;
    let near = |x: f64| (median / 4.0..=median * 4.0).contains(&x);
    let (first, last) = at
        .iter()
        .filter(|&&x| near(x))
        .fold((f64::INFINITY, 0.0f64), |(a, b), &x| (a.min(x), b.max(x)));
    if at.iter().filter(|&&x| near(x)).count() < 2 {
        return None;
    }
    let pad = (0.2 * (last - first)).max(0.1 * last);
    let (x0, x1) = ((first - pad).max(1.0), last + pad);
    let window = |x: f64| (x0..=x1).contains(&x);
    // The curve's points in the window and one on either side, so that
    // the axis (which clips) shows it reaching both edges.
    let first_in = curve.x.iter().position(|&x| window(x))?;
    let last_in = curve.x.iter().rposition(|&x| window(x))?;
    let kept = first_in.saturating_sub(1)..(last_in + 2).min(curve.x.len());
    let mut series = vec![Series {
        x: curve.x[kept.clone()].to_vec(),
        y: curve.y[kept].to_vec(),
        ..curve.clone()
    }];
    // Every line stays, in order, so each keeps its colour; one outside the
    // window is not drawn. The legend is the loss panel's.
    series.extend(lines.iter().map(|line| {
        let mut line = line.clone();
        if !window(line.x[0]) {
            line.x.fill(f64::NAN);
        }
        line
    }));
    for s in &mut series {
        s.label.clear();
    }
    Some(LinePanel {
        title: "the phases, on linear iterations (lines as at left)".into(),
        log_x: false,
        x_range: Some((x0, x1)),
        series,
        ..loss.clone()
    })
}

/// The growth of a_j against Theorem 1's bound, the median cosine of the
/// a_j > 0 neurons to their extremal vector, and the direction clusters, over
/// the iterations (none when the run recorded no instruments).
fn alignment_panels(spec: &EarlySpec, metrics: &Metrics, rec: &Recorded) -> Vec<LinePanel> {
    let growth = series(metrics, MAIN, "align", "max_growth");
    if growth.is_empty() {
        return Vec::new();
    }
    let xs: Vec<f64> = growth.iter().map(|(s, _)| *s as f64 + 1.0).collect();
    let growth_panel = LinePanel {
        title: "second-layer growth during alignment".into(),
        x_label: "iteration + 1".into(),
        y_label: "max_j |a_j(t)| / |a_j(0)|".into(),
        log_x: true,
        log_y: true,
        series: vec![
            Series {
                label: "measured".into(),
                x: xs.clone(),
                y: growth.iter().map(|g| g.1).collect(),
                ..Default::default()
            },
            Series {
                label: "bound exp(2 D_max t) = lambda^(-2 eps)".into(),
                x: xs.clone(),
                y: growth
                    .iter()
                    .map(|(s, _)| growth_bound(*s as f64 * rec.flow, rec.d_max))
                    .collect(),
                dashed: true,
                ..Default::default()
            },
        ],
        y_range: Some((0.5, 1e4)),
        ..Default::default()
    };
    let cos = series(metrics, MAIN, "align", "median_cos_pos");
    let clusters = series(metrics, MAIN, "align", "clusters");
    let cosine_panel = LinePanel {
        title: "alignment of a_j > 0 neurons".into(),
        x_label: "iteration + 1".into(),
        y_label: "1 - median cosine to extremal vector".into(),
        log_x: true,
        log_y: true,
        series: vec![
            Series {
                label: "1 - median cosine".into(),
                x: cos.iter().map(|(s, _)| *s as f64 + 1.0).collect(),
                y: cos.iter().map(|c| 1.0 - c.1).collect(),
                ..Default::default()
            },
            vline("end of alignment", rec.t_align + 1.0, 1e-8, 2.0),
        ],
        // The claim's bound, alignment.median_cosine.
        hlines: vec![HLine {
            y: 1.0 - spec.tolerances.median_cosine,
            label: format!("cosine {}", spec.tolerances.median_cosine),
            ..Default::default()
        }],
        y_range: Some((1e-8, 2.0)),
        ..Default::default()
    };
    let cluster_panel = LinePanel {
        title: format!(
            "direction clusters (>= {}% of mass)",
            100.0 * spec.probes.cluster_mass
        ),
        x_label: "iteration + 1".into(),
        y_label: "clusters".into(),
        log_x: true,
        series: vec![Series {
            label: "clusters".into(),
            x: clusters.iter().map(|(s, _)| *s as f64 + 1.0).collect(),
            y: clusters.iter().map(|c| c.1).collect(),
            ..Default::default()
        }],
        ..Default::default()
    };
    vec![growth_panel, cosine_panel, cluster_panel]
}

/// The extremal vectors of the scan attracting one sign of a_j, as (u, v).
fn extremal(theory: &[TheoryRow], kind: TheoryKind) -> Vec<(f64, f64)> {
    theory
        .iter()
        .filter(|r| r.kind == kind)
        .map(|r| (r.u, r.v))
        .collect()
}

/// The training points (x_k, y_k, OLS prediction_k).
fn points(theory: &[TheoryRow]) -> Vec<(f64, f64, f64)> {
    theory
        .iter()
        .filter(|r| r.kind == TheoryKind::Point)
        .map(|r| (r.u, r.v, r.w))
        .collect()
}

/// One polar panel and one cosine histogram per snapshot step: the neuron
/// directions over time (coloured by sign(a_j)) and how close the active
/// a_j > 0 neurons are to the nearest positive extremal vector.
fn neuron_figures(theory: &[TheoryRow], neurons: &[NeuronRow], fig_dir: &Path) -> Result<()> {
    let pos_t = extremal(theory, TheoryKind::ExtremalPos);
    let neg_t = extremal(theory, TheoryKind::ExtremalNeg);
    let points = points(theory);
    let mut steps: Vec<u64> = Vec::new();
    let mut by_step: Vec<Vec<&NeuronRow>> = Vec::new();
    for r in neurons {
        match steps.iter().position(|&t| t == r.step) {
            Some(i) => by_step[i].push(r),
            None => {
                steps.push(r.step);
                by_step.push(vec![r]);
            }
        }
    }
    let mut polar = Vec::new();
    let mut hists = Vec::new();
    for (s, snapshot) in steps.iter().zip(&by_step) {
        polar.push(polar_panel(*s, snapshot, &pos_t, &neg_t));
        if !pos_t.is_empty() {
            hists.push(cosine_histogram(*s, snapshot, &pos_t, &points));
        }
    }
    if !polar.is_empty() {
        let cols = polar.len().min(3);
        plot::line_panels(&fig_dir.join("neuron_directions"), &polar, cols)?;
    }
    if !hists.is_empty() {
        let cols = hists.len().min(3);
        plot::hist_panels(&fig_dir.join("cosine_histograms"), &hists, cols)?;
    }
    Ok(())
}

/// The snapshot at iteration `step` on the unit circle: each neuron at its
/// direction w_j/||w_j||, at radius r = log |a_j| rescaled to [0.15, 1]
/// within the snapshot (the title gives the log10 |a_j| range); the extremal
/// vectors just outside the circle. Equal axis units: the circle is round.
fn polar_panel(
    step: u64,
    neurons: &[&NeuronRow],
    pos_t: &[(f64, f64)],
    neg_t: &[(f64, f64)],
) -> LinePanel {
    let circle: Vec<(f64, f64)> = (0..=120)
        .map(|i| {
            let t = std::f64::consts::TAU * i as f64 / 120.0;
            (t.cos(), t.sin())
        })
        .collect();
    let logs: Vec<f64> = neurons
        .iter()
        .map(|n| n.a.abs().max(1e-300).log10())
        .collect();
    let (lo, hi) = logs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let span = (hi - lo).max(1e-12);
    let place = |n: &NeuronRow, lg: f64| {
        let nw = (n.w0 * n.w0 + n.w1 * n.w1).sqrt().max(1e-300);
        let r = 0.15 + 0.85 * (lg - lo) / span;
        (r * n.w0 / nw, r * n.w1 / nw)
    };
    let placed = |keep: fn(f64) -> bool| -> Vec<(f64, f64)> {
        neurons
            .iter()
            .zip(&logs)
            .filter(|(n, _)| keep(n.a))
            .map(|(n, &lg)| place(n, lg))
            .collect()
    };
    let mut ser = vec![
        Series {
            label: "unit circle".into(),
            x: circle.iter().map(|p| p.0).collect(),
            y: circle.iter().map(|p| p.1).collect(),
            dashed: true,
            ..Default::default()
        },
        scatter_series("a_j > 0", &placed(|a| a > 0.0)),
        scatter_series("a_j < 0", &placed(|a| a <= 0.0)),
    ];
    let outside = |t: &[(f64, f64)]| {
        t.iter()
            .map(|e| (1.08 * e.0, 1.08 * e.1))
            .collect::<Vec<_>>()
    };
    if !pos_t.is_empty() {
        ser.push(scatter_series(
            "extremal vector, a_j > 0 (scan)",
            &outside(pos_t),
        ));
    }
    if !neg_t.is_empty() {
        ser.push(scatter_series(
            "extremal vector, a_j < 0 (scan)",
            &outside(neg_t),
        ));
    }
    LinePanel {
        title: format!("iteration {step}; r = 0.15..1: log10|a_j| = {lo:.1}..{hi:.1}"),
        x_label: "r w_j,x / ||w_j||".into(),
        y_label: "r w_j,bias / ||w_j||".into(),
        x_range: Some((-1.2, 1.2)),
        y_range: Some((-1.2, 1.2)),
        y_floor: None,
        equal_aspect: true,
        series: ser,
        ..Default::default()
    }
}

/// The cosine of each active a_j > 0 neuron (some training point has
/// <w_j, (x_k, 1)> > 0) to the nearest positive extremal vector, binned
/// over the whole of [-1, 1] in every panel. (Review finding, 2026-12-07:
/// bins fitted to each panel's values drew a late snapshot whose cosines
/// all lie within 5e-6 of 0.787 as a broad flat spread, and no two panels
/// shared an axis.) The title gives the count and the median, which the
/// fixed bins cannot resolve near 1.
fn cosine_histogram(
    step: u64,
    neurons: &[&NeuronRow],
    pos_t: &[(f64, f64)],
    points: &[(f64, f64, f64)],
) -> HistPanel {
    let cos: Vec<f64> = neurons
        .iter()
        .filter(|n| n.a > 0.0)
        .filter(|n| points.iter().any(|p| n.w0 * p.0 + n.w1 > 0.0))
        .map(|n| {
            pos_t
                .iter()
                .map(|e| cosine(&[n.w0, n.w1], &[e.0, e.1]))
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .collect();
    HistPanel {
        title: format!(
            "iteration {step}: {} active a_j > 0 neurons, median {}",
            cos.len(),
            fmt_num(quantile(&cos, 0.5))
        ),
        x_label: "cosine to the extremal vector".into(),
        groups: vec![("cosine".into(), cos)],
        bins: 80,
        x_range: Some((-1.0, 1.0)),
    }
}

/// The function GD converged to, against the data and the target's knots
/// (interpolated data) or the OLS predictions (fixed points).
fn final_fit_figure(
    spec: &EarlySpec,
    theory: &[TheoryRow],
    fit: &[FitRow],
    fig_dir: &Path,
) -> Result<()> {
    let points = points(theory);
    let mut ser = vec![
        Series {
            label: "network at the end".into(),
            x: fit.iter().map(|p| p.x).collect(),
            y: fit.iter().map(|p| p.f).collect(),
            ..Default::default()
        },
        scatter_series(
            "training points",
            &points.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>(),
        ),
    ];
    if let DataSpec::Interpolated {
        knots_x, knots_y, ..
    } = &spec.data
    {
        ser.push(Series {
            label: "target".into(),
            x: knots_x.clone(),
            y: knots_y.clone(),
            dashed: true,
            ..Default::default()
        });
    } else {
        ser.push(scatter_series(
            "OLS predictions",
            &points.iter().map(|p| (p.0, p.2)).collect::<Vec<_>>(),
        ));
    }
    plot::line_panels(
        &fig_dir.join("final_fit"),
        &[LinePanel {
            title: "the function GD converged to".into(),
            x_label: "x".into(),
            y_label: "h(x)".into(),
            series: ser,
            ..Default::default()
        }],
        1,
    )
}

/// The lambda sweep: final MSE against lambda (where spurious convergence
/// stops) and the half-way flow time against -ln(lambda)/D_max.
fn lambda_sweep_figure(
    sw: &LambdaSweep,
    metrics: &Metrics,
    rec: &Recorded,
    fig_dir: &Path,
) -> Result<()> {
    let mut mse = Vec::new();
    let mut half = Vec::new();
    for (i, l) in sw.lambdas.iter().enumerate() {
        let run = lambda_run(i);
        if let Some(v) = series(metrics, &run, "train", "mse").last() {
            mse.push((*l, v.1));
        }
        let h = phase(metrics, &run, "half_step");
        if h.is_finite() {
            half.push((*l, h * rec.flow));
        }
    }
    let xs: Vec<f64> = sw.lambdas.clone();
    plot::line_panels(
        &fig_dir.join("lambda_sweep"),
        &[
            LinePanel {
                title: "where spurious convergence stops".into(),
                x_label: "init scale lambda".into(),
                y_label: "final training MSE".into(),
                log_x: true,
                log_y: true,
                // The axis reaches the smallest positive MSE; a zero is drawn there, counted.
                y_floor: mse
                    .iter()
                    .map(|p| p.1)
                    .filter(|v| *v > 0.0)
                    .reduce(f64::min),
                series: vec![Series {
                    label: "final MSE".into(),
                    x: mse.iter().map(|p| p.0).collect(),
                    y: mse.iter().map(|p| p.1).collect(),
                    markers: true,
                    ..Default::default()
                }],
                hlines: vec![HLine {
                    y: rec.ols_mse,
                    label: "OLS residual".into(),
                    ..Default::default()
                }],
                ..Default::default()
            },
            LinePanel {
                title: "escape time".into(),
                x_label: "init scale lambda".into(),
                y_label: "flow time at half-way".into(),
                log_x: true,
                series: vec![
                    Series {
                        label: "measured".into(),
                        x: half.iter().map(|p| p.0).collect(),
                        y: half.iter().map(|p| p.1).collect(),
                        markers: true,
                        ..Default::default()
                    },
                    Series {
                        label: "-ln(lambda)/D_max".into(),
                        x: xs.clone(),
                        y: xs.iter().map(|l| -l.ln() / rec.d_max).collect(),
                        dashed: true,
                        ..Default::default()
                    },
                ],
                ..Default::default()
            },
        ],
        2,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The zoom keeps the lines near their median (1.5e3 to 6e3 here) and
    /// leaves out, undrawn but in its place, one 200 times later; every
    /// series stays in order (their colours), and the curve is cut to the
    /// window.
    #[test]
    fn the_phases_zoom_spans_the_lines_near_their_median() {
        let curve: Vec<f64> = (0..2000).map(|i| 1000.0 * f64::from(i)).collect();
        let mut series = vec![Series {
            label: "loss".into(),
            y: curve.iter().map(|x| 1.0 / (1.0 + x)).collect(),
            x: curve,
            ..Default::default()
        }];
        for (i, at) in [1.5e3, 3.7e3, 4.3e3, 6.2e3, 1.4e6].into_iter().enumerate() {
            series.push(vline(&format!("line {i}"), at, 0.0, 1.0));
        }
        let loss = LinePanel {
            series,
            log_x: true,
            ..Default::default()
        };
        let zoom = phases_zoom(&loss).expect("four lines near the median");
        let (x0, x1) = zoom.x_range.expect("a window");
        // Spread 4.7e3: a fifth, 940, on each side.
        assert!(
            (x0 - 560.0).abs() < 1e-9 && (x1 - 7140.0).abs() < 1e-9,
            "{x0} {x1}"
        );
        assert_eq!(zoom.series.len(), 6);
        assert!(zoom.series[5].x.iter().all(|x| x.is_nan()));
        assert!(zoom.series[1..5]
            .iter()
            .all(|s| s.x.iter().all(|x| x.is_finite())));
        // 1000, 2000, ..., 7000 in the window, and 0 and 8000 beside it.
        let kept: Vec<f64> = (0..=8).map(|i| 1000.0 * f64::from(i)).collect();
        assert_eq!(zoom.series[0].x, kept);
        assert!(zoom.series.iter().all(|s| s.label.is_empty()) && !zoom.log_x);
        // Fewer than two lines: no zoom.
        let lone = LinePanel {
            series: loss.series[..2].to_vec(),
            ..Default::default()
        };
        assert!(phases_zoom(&lone).is_none());
    }
}
