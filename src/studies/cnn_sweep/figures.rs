//! The figures: error against parameter count per noise level (the
//! double-descent curve, with the project's Table 1 at 0% noise), and test
//! error against epoch for a few widths. They read only metrics.csv.

use std::collections::BTreeMap;
use std::path::Path;

use super::spec::{Budget, TableRow};
use super::{arch_of, params_of, CnnSweepSpec};
use crate::error::{Error, Result};
use crate::plot::{self, LinePanel, Series};
use crate::record::{Metrics, RunDir};
use crate::spec::LoadedSpec;
use crate::studies::toolkit::band;
use crate::studies::toolkit::cnn::{finals, group_of};

/// Redraw the figures from metrics.csv: error vs parameters per noise level,
/// and test error vs epoch for a few widths (one panel of each per noise
/// level that has runs).
pub fn plot(loaded: &LoadedSpec, dir: &Path) -> Result<()> {
    let spec: CnnSweepSpec = loaded.study_section()?;
    let rd = RunDir::new(dir);
    let metrics = Metrics::read(&rd.metrics())?;
    let fig_dir = rd.figures();
    std::fs::create_dir_all(&fig_dir).map_err(|e| Error::io(&fig_dir, e))?;
    let finals = finals(&metrics);
    let mut panels = Vec::new();
    let mut epoch_panels = Vec::new();
    let picks: Vec<usize> = if spec.figures.epoch_archs.is_empty() {
        let n = spec.model.archs.len();
        let mut v = vec![0, n / 2, n - 1];
        v.dedup();
        v
    } else {
        spec.figures.epoch_archs.clone()
    };
    for &eta in &spec.data.label_noise {
        let Some(panel) = error_vs_params_panel(&spec, &finals, eta) else {
            continue;
        };
        panels.push(panel);
        epoch_panels.push(test_error_vs_epoch_panel(&spec, &metrics, eta, &picks));
    }
    if !panels.is_empty() {
        let cols = panels.len().min(3);
        plot::line_panels(&fig_dir.join("error_vs_params"), &panels, cols)?;
        plot::line_panels(&fig_dir.join("test_error_vs_epoch"), &epoch_panels, cols)?;
    }
    Ok(())
}

/// Noise level `eta`'s panel of error_vs_params: final train error, final
/// test error and the last-10-epochs test error (median and 20-80% over
/// runs) against the parameter count; None when the level has no runs.
fn error_vs_params_panel(
    spec: &CnnSweepSpec,
    finals: &BTreeMap<String, BTreeMap<String, f64>>,
    eta: f64,
) -> Option<LinePanel> {
    let key = format!("eta{eta}");
    let classes = spec.data.classes.len();
    let mut archs: Vec<(usize, &[usize; 3])> = spec
        .model
        .archs
        .iter()
        .map(|a| (params_of(a, classes), a))
        .collect();
    archs.sort_by_key(|p| p.0);
    let mut x = Vec::new();
    let (mut tr, mut te, mut l10) = (Vec::new(), Vec::new(), Vec::new());
    for (p, a) in &archs {
        let label = arch_of(a).label();
        let runs: Vec<&BTreeMap<String, f64>> = finals
            .iter()
            .filter(|(r, _)| group_of(r) == (key.clone(), label.clone()))
            .map(|(_, v)| v)
            .collect();
        if runs.is_empty() {
            continue;
        }
        x.push(*p as f64);
        let get = |m: &str| {
            runs.iter()
                .filter_map(|v| v.get(m).copied())
                .collect::<Vec<f64>>()
        };
        tr.push(get("final_train_error"));
        te.push(get("final_test_error"));
        l10.push(get("last10_test_error"));
    }
    if x.is_empty() {
        return None;
    }
    let mut series = vec![
        band(
            x.clone(),
            &tr,
            "train error (final epoch), median and 20-80%".into(),
            false,
        ),
        band(x.clone(), &te, "test error (final epoch)".into(), false),
        band(
            x.clone(),
            &l10,
            "test error (mean of last 10 epochs)".into(),
            true,
        ),
    ];
    if eta == 0.0 && !spec.claims.table1.is_empty() {
        for (matched, label) in [
            (
                true,
                "course project's Table 1 test error (one seed), same epochs".to_string(),
            ),
            (
                false,
                "course project's Table 1 at other epochs (not compared)".to_string(),
            ),
        ] {
            let mut pts = table1_points(spec, matched);
            if pts.is_empty() {
                continue;
            }
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            series.push(Series {
                label,
                x: pts.iter().map(|p| p.0).collect(),
                y: pts.iter().map(|p| p.1).collect(),
                band: None,
                dashed: true,
                markers: true,
                color: None,
                reference: false,
            });
        }
    }
    Some(LinePanel {
        title: format!("label noise {eta}, {}", spec.budget_text()),
        x_label: "parameters".into(),
        y_label: "error".into(),
        log_x: true,
        log_y: false,
        x_range: None,
        y_range: None,
        y_floor: None,
        equal_aspect: false,
        series,
        hlines: Vec::new(),
        notes: Vec::new(),
    })
}

/// Noise level `eta`'s panel of test_error_vs_epoch: the test error per
/// epoch (median and 20-80% over runs) of the architectures `picks`.
/// The course project's Table 1 rows as (params, test error), those
/// trained for the epochs our run gave their width (`matched`) or the
/// others. A row at other epochs is no measurement of our models (the
/// claims leave it inconclusive), so the figure draws it apart and says so
/// (review finding, 2026-12-07: a 40-epoch panel showed 70-100-epoch rows
/// as its reference).
fn table1_points(spec: &CnnSweepSpec, matched: bool) -> Vec<(f64, f64)> {
    let classes = spec.data.classes.len();
    let same_budget = |r: &TableRow| match spec.train.budget {
        Budget::Fixed => r.epochs == spec.train.epochs,
        Budget::Table1 => true,
    };
    spec.claims
        .table1
        .iter()
        .filter(|r| same_budget(r) == matched)
        .map(|r| (params_of(&r.arch, classes) as f64, r.test_error))
        .collect()
}

fn test_error_vs_epoch_panel(
    spec: &CnnSweepSpec,
    metrics: &Metrics,
    eta: f64,
    picks: &[usize],
) -> LinePanel {
    let key = format!("eta{eta}");
    let classes = spec.data.classes.len();
    let mut series = Vec::new();
    for &i in picks {
        let a = &spec.model.archs[i];
        let label = arch_of(a).label();
        let own = Metrics {
            rows: metrics
                .rows
                .iter()
                .filter(|r| {
                    r.split == "test"
                        && r.metric == "error"
                        && group_of(&r.run) == (key.clone(), label.clone())
                })
                .cloned()
                .collect(),
        };
        let mut by_epoch: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
        for r in &own.rows {
            by_epoch.entry(r.step).or_default().push(r.value);
        }
        if by_epoch.is_empty() {
            continue;
        }
        let xs: Vec<f64> = by_epoch.keys().map(|&e| e as f64).collect();
        let vals: Vec<Vec<f64>> = by_epoch.into_values().collect();
        let mut s = band(
            xs,
            &vals,
            format!("{label} ({} params)", params_of(a, classes)),
            false,
        );
        s.markers = false;
        series.push(s);
    }
    LinePanel {
        title: format!("test error vs epoch, label noise {eta}"),
        x_label: "epoch".into(),
        y_label: "test error".into(),
        log_x: false,
        log_y: false,
        x_range: None,
        y_range: None,
        y_floor: None,
        equal_aspect: false,
        series,
        hlines: Vec::new(),
        notes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 40-epoch sweep draws apart the 7 rows trained longer; the
    /// budgets spec, each width at its row's epochs, has none apart.
    #[test]
    fn table1_rows_at_other_epochs_are_drawn_apart() {
        let fixed: CnnSweepSpec = crate::spec::committed("cnn_sweep_seed003", false);
        let same: Vec<f64> = table1_points(&fixed, true).iter().map(|p| p.0).collect();
        assert_eq!(same, vec![10608.0, 19488.0, 23299.0, 27150.0]);
        assert_eq!(table1_points(&fixed, false).len(), 7);
        let budgets: CnnSweepSpec = crate::spec::committed("cnn_table1_budgets", false);
        assert_eq!(table1_points(&budgets, true).len(), 11);
        assert!(table1_points(&budgets, false).is_empty());
    }
}
