//! The figures: error against parameter count per noise level (the
//! double-descent curve, with the project's Table 1 at 0% noise), and test
//! error against epoch for a few widths. They read only metrics.csv.

use std::collections::BTreeMap;
use std::path::Path;

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
        let mut pts: Vec<(f64, f64)> = spec
            .claims
            .table1
            .iter()
            .map(|r| (params_of(&r.arch, classes) as f64, r.test_error))
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        series.push(Series {
            label: "course project's Table 1 test error (one seed)".into(),
            x: pts.iter().map(|p| p.0).collect(),
            y: pts.iter().map(|p| p.1).collect(),
            band: None,
            dashed: true,
            markers: true,
            color: None,
        });
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
