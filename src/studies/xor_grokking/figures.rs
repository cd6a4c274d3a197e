//! The figures: Fig 1 (train and test accuracy against t + 1 per panel),
//! Fig 2 (the figure run's decision boundary in the (mu1, mu2) plane),
//! Fig 3 (histograms of the neurons' projections) of Xu et al. (ICLR 2024),
//! and the grokking-time map with the A5 boundary. They read metrics.csv,
//! neurons.csv and points.csv.

use std::path::Path;

use super::csv::{read_neurons, read_points, NeuronRow, PointRow};
use super::map::map_run;
use super::theorem_sweep::CellRow;
use super::{regime, ClaimKind, MapSpec, PanelSpec, ReferencePoint, XorSpec};
use crate::error::{Error, Result};
use crate::plot::{self, HLine, HeatmapPanel, HistPanel, LinePanel, ScatterPanel, Series};
use crate::record::{quantile, Metrics, RunDir};
use crate::spec::LoadedSpec;
use crate::studies::toolkit::csv::read_csv;

/// The figure run's neurons by step (`csv::read_neurons`).
type Neurons = [(usize, Vec<NeuronRow>)];

/// Draw Figs 1-3 and the grokking map from the recorded files of a run.
pub fn plot(loaded: &LoadedSpec, dir: &Path) -> Result<()> {
    let spec: XorSpec = loaded.study_section()?;
    let rd = RunDir::new(dir);
    let metrics = Metrics::read(&rd.metrics())?;
    let fig_dir = rd.figures();
    std::fs::create_dir_all(&fig_dir).map_err(|e| Error::io(&fig_dir, e))?;
    fig1_accuracy(&spec, &metrics, &fig_dir)?;
    super::time_scale::closed_form_figure(&spec, &metrics, &fig_dir)?;
    // Figs 2-3 from the figure run's neurons and points.
    let neurons_path = rd.file("neurons.csv");
    if let (Some(fig_panel), true) = (&spec.figures.panel, neurons_path.exists()) {
        let neurons = read_neurons(&neurons_path, fig_panel)?;
        let points = read_points(&rd.file("points.csv"), fig_panel)?;
        fig2_decision_boundary(&spec, &neurons, &points, &fig_dir)?;
        fig3_projections(&spec, &neurons, &fig_dir)?;
    }
    if let Some(map) = &spec.grokking_map {
        grokking_map(&spec, map, &metrics, &fig_dir)?;
    }
    if spec.theorem_sweep.is_some() {
        let rows = read_csv::<CellRow>(&rd.file("theorem_sweep.csv"))?;
        theorem_sweep(&spec, &rows, &fig_dir)?;
    }
    Ok(())
}

/// The theorem sweep: per cluster-count variant, the fraction of runs that
/// misclassify a cluster centre at t = sqrt(n) (95% Wilson band), and the
/// median clean test accuracy there (20-80% band), against n, one line per C,
/// under Theorem 3.1 part 3's bound (the claims' `late_accuracy`).
fn theorem_sweep(spec: &XorSpec, rows: &[CellRow], fig_dir: &Path) -> Result<()> {
    let mut variants: Vec<&str> = rows.iter().map(|r| r.variant.as_str()).collect();
    variants.dedup();
    let mut cs: Vec<f64> = rows.iter().map(|r| r.c).collect();
    cs.sort_by(f64::total_cmp);
    cs.dedup();
    let mut panels = Vec::new();
    for variant in &variants {
        let lines = |value: fn(&CellRow) -> (f64, f64, f64)| -> Vec<Series> {
            cs.iter()
                .map(|&c| {
                    let cells: Vec<&CellRow> = rows
                        .iter()
                        .filter(|r| r.variant == *variant && r.c == c)
                        .collect();
                    let v: Vec<(f64, f64, f64)> = cells.iter().map(|r| value(r)).collect();
                    Series {
                        label: format!("C = {c}"),
                        x: cells.iter().map(|r| r.n as f64).collect(),
                        y: v.iter().map(|t| t.0).collect(),
                        band: Some((
                            v.iter().map(|t| t.1).collect(),
                            v.iter().map(|t| t.2).collect(),
                        )),
                        dashed: false,
                        markers: true,
                        color: None,
                        reference: false,
                    }
                })
                .collect()
        };
        panels.push(LinePanel {
            title: format!("{variant} cluster counts: a centre misclassified at t = sqrt(n)"),
            x_label: "n (training points)".into(),
            y_label: "fraction of runs (95% Wilson band)".into(),
            log_x: true,
            y_range: Some((0.0, 1.0)),
            series: lines(|r| (r.failure_fraction, r.failure_low, r.failure_high)),
            ..Default::default()
        });
        panels.push(LinePanel {
            title: format!("{variant} cluster counts: clean test accuracy at t = sqrt(n)"),
            x_label: "n (training points)".into(),
            y_label: "median over runs (20-80% band)".into(),
            log_x: true,
            y_range: Some((0.4, 1.0)),
            series: lines(|r| {
                (
                    r.median_test_accuracy,
                    r.test_accuracy_q20,
                    r.test_accuracy_q80,
                )
            }),
            hlines: vec![
                HLine {
                    y: 0.5,
                    label: "chance".into(),
                    kind: crate::plot::RefKind::Chance,
                },
                HLine {
                    y: spec.theory.late_accuracy,
                    label: format!("theory: >= {} (Thm 3.1 part 3)", spec.theory.late_accuracy),
                    kind: crate::plot::RefKind::Theory,
                },
            ],
            ..Default::default()
        });
    }
    plot::line_panels(&fig_dir.join("theorem_sweep"), &panels, 2)
}

/// Per-step values of (split, metric) across runs: step -> values over runs.
fn across_runs(metrics: &Metrics, split: &str, metric: &str) -> Vec<(u64, Vec<f64>)> {
    let mut by_step: std::collections::BTreeMap<u64, Vec<f64>> = Default::default();
    for r in metrics
        .rows
        .iter()
        .filter(|r| r.split == split && r.metric == metric)
    {
        by_step.entry(r.step).or_default().push(r.value);
    }
    by_step.into_iter().collect()
}

/// Fig 1: per panel, the median and 20-80% band of train and test accuracy
/// against t + 1, with the paper's medians where the panel gives them.
fn fig1_accuracy(spec: &XorSpec, metrics: &Metrics, fig_dir: &Path) -> Result<()> {
    let panels: Vec<LinePanel> = spec
        .panels
        .iter()
        .map(|panel| fig1_panel(spec, panel, metrics))
        .collect();
    if !panels.is_empty() {
        plot::line_panels(&fig_dir.join("fig1_accuracy"), &panels, panels.len().min(2))?;
    }
    Ok(())
}

/// One panel of Fig 1, from the rows of the panel's runs.
fn fig1_panel(spec: &XorSpec, panel: &PanelSpec, metrics: &Metrics) -> LinePanel {
    let prefix = format!("{}:", panel.id);
    let own = Metrics {
        rows: metrics
            .rows
            .iter()
            .filter(|r| r.run.starts_with(&prefix))
            .cloned()
            .collect(),
    };
    let mut series = Vec::new();
    for (split, label) in [
        ("train", "train (noisy labels)"),
        ("test", "test (clean labels)"),
    ] {
        let per_step = across_runs(&own, split, "accuracy");
        let x: Vec<f64> = per_step.iter().map(|(t, _)| *t as f64 + 1.0).collect();
        let med = per_step.iter().map(|(_, v)| quantile(v, 0.5)).collect();
        let lo = per_step.iter().map(|(_, v)| quantile(v, 0.2)).collect();
        let hi = per_step.iter().map(|(_, v)| quantile(v, 0.8)).collect();
        series.push(Series {
            label: format!("{label}, median and 20-80%"),
            x,
            y: med,
            band: Some((lo, hi)),
            dashed: false,
            markers: false,
            color: None,
            reference: false,
        });
    }
    let refs: Vec<&ReferencePoint> = panel.references(spec).iter().collect();
    if !refs.is_empty() {
        for split in ["train", "test"] {
            let pts: Vec<&&ReferencePoint> = refs.iter().filter(|r| r.split == split).collect();
            if !pts.is_empty() {
                series.push(Series {
                    label: format!("paper's {split} median (Fig 1)"),
                    x: pts.iter().map(|r| r.step as f64 + 1.0).collect(),
                    y: pts.iter().map(|r| r.median).collect(),
                    band: None,
                    dashed: true,
                    markers: true,
                    color: None,
                    reference: false,
                });
            }
        }
    }
    // Last, so that the measured and paper series keep their palette
    // colours from panel to panel.
    let mut notes: Vec<String> = reference_provenance(&refs).into_iter().collect();
    if panel.claims.contains(&ClaimKind::Theorem) {
        let (line, note) = part3_mark(spec, panel);
        series.push(line);
        notes.extend(note);
    }
    LinePanel {
        title: format!(
            "{}alpha = {:e}, omega = {:e}, {} runs",
            if panel.diagnostic { "DIAGNOSTIC: " } else { "" },
            panel.alpha,
            panel.omega(spec),
            own.series("test", "accuracy").len()
        ),
        x_label: "t + 1 (GD steps)".into(),
        y_label: "accuracy".into(),
        log_x: true,
        log_y: false,
        x_range: Some((1.0, panel.steps as f64 + 1.0)),
        y_range: Some((0.4, 1.02)),
        y_floor: None,
        equal_aspect: false,
        series,
        hlines: vec![HLine {
            y: 0.5,
            label: "chance".into(),
            kind: crate::plot::RefKind::Chance,
        }],
        notes,
    }
}

/// How the spec says a panel's paper medians were taken (their `source`s):
/// read off the figure, or recovered from its vector form (to a finer
/// read-off error). None without medians.
fn reference_provenance(refs: &[&ReferencePoint]) -> Option<String> {
    let vector: Vec<&&ReferencePoint> = (refs.iter())
        .filter(|r| r.source.contains("vector figure"))
        .collect();
    match vector.len() {
        _ if refs.is_empty() => None,
        0 => Some("paper's medians read off Fig 1".into()),
        v if v == refs.len() => Some("paper's medians recovered from Fig 1's vector figure".into()),
        _ => {
            let at: Vec<String> = ["train", "test"]
                .iter()
                .filter_map(|split| {
                    let steps: Vec<String> = (vector.iter())
                        .filter(|r| r.split == *split)
                        .map(|r| r.step.to_string())
                        .collect();
                    (!steps.is_empty()).then(|| format!("{split} at t = {}", steps.join(", ")))
                })
                .collect();
            Some(format!(
                "paper's medians read off Fig 1, but {} recovered from its vector figure",
                at.join(", ")
            ))
        }
    }
}

/// Theorem 3.1 part 3 on a panel whose claims test it: clean test accuracy
/// at least `late_accuracy` from part 3's start C n^0.01 to the horizon
/// sqrt(n) (where the claim reads it), a grey guide at t + 1. On a panel
/// outside A1-A6 the label says so, with a note for the panel: there the
/// line is this project's extrapolation (its rows are hypotheses), not the
/// theorem's promise.
fn part3_mark(spec: &XorSpec, panel: &PanelSpec) -> (Series, Option<String>) {
    let reg = regime(spec, panel.alpha, panel.omega(spec));
    let horizon = reg.fit_horizon().min(panel.steps) as f64;
    let start = reg.generalization_start(spec.theory.c).min(horizon);
    let bound = spec.theory.late_accuracy;
    let failed = reg.violated(spec.theory.c);
    let (whose, note) = if failed.is_empty() {
        ("Thm 3.1 part 3", None)
    } else {
        let note = format!(
            "* Thm 3.1 part 3 carried past {}, which this panel violates: a hypothesis of this project, not the theorem's promise",
            failed.join(", ")
        );
        ("hypothesis*", Some(note))
    };
    let line = Series {
        label: format!("theory: test accuracy >= {bound} for C n^0.01 <= t <= sqrt(n) ({whose})"),
        x: vec![start + 1.0, horizon + 1.0],
        y: vec![bound; 2],
        reference: true,
        ..Default::default()
    };
    (line, note)
}

/// Fig 2: at each boundary step, the network's output over the (mu1, mu2)
/// plane (an 81 x 81 grid) under the training points coloured by label.
fn fig2_decision_boundary(
    spec: &XorSpec,
    neurons: &Neurons,
    points: &[PointRow],
    fig_dir: &Path,
) -> Result<()> {
    let mu_norm = spec.data.mu_norm_sq.sqrt();
    let act = spec.model.activation;
    let notes = cluster_notes(points, mu_norm);
    let mut scatter = Vec::new();
    for &t in &spec.figures.boundary_steps {
        let Some(rows) = neurons.iter().find(|(s, _)| *s == t).map(|(_, r)| r) else {
            continue;
        };
        let lim = points
            .iter()
            .map(|p| p.u1.abs().max(p.u2.abs()))
            .fold(0.0f64, f64::max)
            * 1.1;
        let grid: Vec<f64> = (0..81)
            .map(|i| -lim + 2.0 * lim * i as f64 / 80.0)
            .collect();
        let field: Vec<Vec<f64>> = grid
            .iter()
            .map(|&u1| {
                grid.iter()
                    .map(|&u2| {
                        rows.iter()
                            .map(|r| r.a * act.value((u1 * r.proj_mu1 + u2 * r.proj_mu2) / mu_norm))
                            .sum()
                    })
                    .collect()
            })
            .collect();
        scatter.push(ScatterPanel {
            title: format!("t = {t}"),
            x_label: "<x, mu1>/||mu||".into(),
            y_label: "<x, mu2>/||mu||".into(),
            points: points
                .iter()
                .map(|p| (p.u1, p.u2, usize::from(p.label < 0.0)))
                .collect(),
            class_labels: ["y = +1".into(), "y = -1".into()],
            field: Some((grid.clone(), grid, field)),
            notes: notes.clone(),
        });
    }
    if !scatter.is_empty() {
        let cols = scatter.len();
        plot::scatter_panels(&fig_dir.join("fig2_decision_boundary"), &scatter, cols)?;
    }
    Ok(())
}

/// Each cluster's label counts, "47 +1, 3 -1" beside its centre (+-||mu||,
/// 0) or (0, +-||mu||) in fig 2's coordinates, when every point lies within
/// ||mu|| / 4 of its nearest centre: clusters far apart next to their
/// spread, each then a few pixels wide at the figure's scale with its
/// flipped labels hidden under the others. None otherwise (the clusters
/// overlap, and the nearest centre need not be a point's own).
fn cluster_notes(points: &[PointRow], mu_norm: f64) -> Vec<(f64, f64, String)> {
    let centres = [
        (mu_norm, 0.0),
        (-mu_norm, 0.0),
        (0.0, mu_norm),
        (0.0, -mu_norm),
    ];
    let mut counts = [[0usize; 2]; 4];
    for p in points {
        let distance = |&(c1, c2): &(f64, f64)| (p.u1 - c1).hypot(p.u2 - c2);
        let nearest = (0..4)
            .min_by(|&i, &j| distance(&centres[i]).total_cmp(&distance(&centres[j])))
            .expect("four centres");
        // False for a NaN distance too.
        let within = distance(&centres[nearest]) <= mu_norm / 4.0;
        if !within {
            return Vec::new();
        }
        counts[nearest][usize::from(p.label < 0.0)] += 1;
    }
    centres
        .iter()
        .zip(counts)
        .filter(|(_, [plus, minus])| plus + minus > 0)
        .map(|(&(c1, c2), [plus, minus])| (c1, c2, format!("{plus} +1, {minus} -1")))
        .collect()
}

/// Fig 3: at each histogram step, the projections <w_j, mu1> and
/// <w_j, mu2> of the neurons with a_j > 0.
fn fig3_projections(spec: &XorSpec, neurons: &Neurons, fig_dir: &Path) -> Result<()> {
    let mut hists = Vec::new();
    for &t in &spec.figures.histogram_steps {
        let Some(rows) = neurons.iter().find(|(s, _)| *s == t).map(|(_, r)| r) else {
            continue;
        };
        let pos: Vec<&NeuronRow> = rows.iter().filter(|r| r.a > 0.0).collect();
        hists.push(HistPanel {
            title: format!("t = {t}, neurons with a_j > 0"),
            x_label: "projection".into(),
            groups: vec![
                (
                    "<w_j, mu1>".into(),
                    pos.iter().map(|r| r.proj_mu1).collect(),
                ),
                (
                    "<w_j, mu2>".into(),
                    pos.iter().map(|r| r.proj_mu2).collect(),
                ),
            ],
            bins: 30,
            x_range: None,
        });
    }
    if !hists.is_empty() {
        // At most 3 a row: 5 across printed at a text width made 4 pt ticks.
        let cols = hists.len().min(3);
        plot::hist_panels(&fig_dir.join("fig3_projections"), &hists, cols)?;
    }
    Ok(())
}

/// The grokking-time map: log10(t + 1) of the median grokking step per
/// (alpha, omega_init), with the A5 boundary omega n m^{3/2} p = alpha ||mu||^2.
fn grokking_map(spec: &XorSpec, map: &MapSpec, metrics: &Metrics, fig_dir: &Path) -> Result<()> {
    let med = metrics.series("map", "median_grokking_step");
    if !med.is_empty() {
        let first = |run: &str| {
            med.iter()
                .find(|(r, _)| r == run)?
                .1
                .first()
                .map(|&(_, v)| v)
        };
        // -1 in metrics.csv: the threshold was not reached within max_steps.
        let values: Vec<Vec<f64>> = (0..map.alphas.len())
            .map(|i| {
                (0..map.omegas.len())
                    .map(|j| match first(&map_run(i, j)) {
                        Some(v) if v >= 0.0 => (v + 1.0).log10(),
                        _ => f64::NAN,
                    })
                    .collect()
            })
            .collect();
        // A5 holds below the omega_init at which it is an equality, for each alpha.
        let a5 = |alpha: f64| regime(spec, alpha, 1.0).a5_boundary_omega();
        let (amin, amax) = (
            map.alphas.iter().cloned().fold(f64::INFINITY, f64::min),
            map.alphas.iter().cloned().fold(0.0, f64::max),
        );
        let xs: Vec<f64> = (0..50)
            .map(|k| amin * (amax / amin).powf(k as f64 / 49.0))
            .collect();
        plot::heatmap_panels(
            &fig_dir.join("grokking_map"),
            &[HeatmapPanel {
                title: format!(
                    "first step with clean test accuracy >= {} (median of runs)",
                    map.threshold
                ),
                x_label: "step size alpha".into(),
                y_label: "init scale omega_init".into(),
                x_values: map.alphas.clone(),
                y_values: map.omegas.clone(),
                values,
                value_label: "log10(t + 1)".into(),
                missing_label: "not reached (or no record)".into(),
                value_range: None,
                categories: Vec::new(),
                log_x: true,
                log_y: true,
                overlays: vec![Series {
                    label: "A5 boundary omega n m^1.5 p = alpha ||mu||^2".into(),
                    x: xs.clone(),
                    y: xs.iter().map(|&a| a5(a)).collect(),
                    band: None,
                    dashed: true,
                    markers: false,
                    color: None,
                    reference: false,
                }],
            }],
            1,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::study_section;

    fn point(u1: f64, u2: f64, label: f64) -> PointRow {
        PointRow {
            panel: "figure".into(),
            run: 0,
            u1,
            u2,
            label,
        }
    }

    /// Fig 1 marks Theorem 3.1 part 3 (accuracy >= 0.95 from C n^0.01 to
    /// sqrt(n)) on a panel with the theorem's claims, as a guide, and on
    /// no other panel.
    #[test]
    fn fig1_marks_the_theorems_bound_where_the_claims_test_it() {
        let spec: XorSpec = study_section("experiments/xor_theorem.toml");
        let mut panel = spec.panels[0].clone();
        assert!(panel.claims.contains(&ClaimKind::Theorem));
        let drawn = fig1_panel(&spec, &panel, &Metrics { rows: Vec::new() });
        let mark = (drawn.series.iter())
            .find(|s| s.label.starts_with("theory: test accuracy >= 0.95"))
            .expect("the theorem's mark");
        let reg = regime(&spec, panel.alpha, panel.omega(&spec));
        let horizon = reg.fit_horizon().min(panel.steps) as f64;
        assert!(mark.reference);
        assert_eq!(mark.y, [spec.theory.late_accuracy; 2]);
        assert_eq!(mark.x[1], horizon + 1.0);
        assert!(mark.x[0] < mark.x[1], "{:?}", mark.x);
        panel.claims.retain(|c| *c != ClaimKind::Theorem);
        let drawn = fig1_panel(&spec, &panel, &Metrics { rows: Vec::new() });
        assert!(drawn.series.iter().all(|s| !s.label.starts_with("theory")));
    }

    /// The sweep's accuracy panels draw part 3's bound, labelled as theory.
    #[test]
    fn the_theorem_sweep_draws_part_3s_bound() {
        let spec: XorSpec = study_section("experiments/xor_theorem.toml");
        let rows: Vec<CellRow> = [32, 100]
            .iter()
            .map(|&n| CellRow {
                variant: "uniform".into(),
                c: 2.0,
                n,
                median_test_accuracy: 0.8,
                test_accuracy_q20: 0.7,
                test_accuracy_q80: 0.9,
                ..Default::default()
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        theorem_sweep(&spec, &rows, dir.path()).unwrap();
        let svg = std::fs::read_to_string(dir.path().join("theorem_sweep.svg")).unwrap();
        assert!(svg.contains("theory: &gt;= 0.95 (Thm 3.1 part 3)"), "{svg}");
    }

    #[test]
    fn cluster_notes_count_each_separated_clusters_labels() {
        let mut points = vec![point(100.0, 1.0, 1.0), point(98.0, -2.0, -1.0)];
        points.extend((0..3).map(|i| point(-1.0, -100.0 + f64::from(i), -1.0)));
        let notes = cluster_notes(&points, 100.0);
        assert_eq!(
            notes,
            vec![
                (100.0, 0.0, "1 +1, 1 -1".to_string()),
                (0.0, -100.0, "0 +1, 3 -1".to_string())
            ]
        );
        // A point between clusters: they overlap, so no counts are shown.
        points.push(point(40.0, 40.0, 1.0));
        assert!(cluster_notes(&points, 100.0).is_empty());
        points.pop();
        points.push(point(f64::NAN, 0.0, 1.0));
        assert!(
            cluster_notes(&points, 100.0).is_empty(),
            "a NaN point has no cluster"
        );
    }
}
