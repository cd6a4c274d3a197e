//! The figures of Zhang et al. (ICLR 2017) Fig. 1: training loss against
//! SGD steps per setting (1a), steps to zero training error against the
//! label corruption p (1b), test error against p (1c). They read only
//! metrics.csv.

use std::collections::BTreeMap;
use std::path::Path;

use super::RandomizationSpec;
use crate::data::randomize::Randomization;
use crate::error::{Error, Result};
use crate::plot::{self, HLine, LinePanel, Series};
use crate::record::{Metrics, RunDir};
use crate::spec::LoadedSpec;
use crate::studies::toolkit::band;
use crate::studies::toolkit::cnn::{finals, group_of};

/// Per-run final values by run label (`toolkit::cnn::finals`).
type Finals = BTreeMap<String, BTreeMap<String, f64>>;

/// Redraw the figures from metrics.csv: training loss vs steps per setting
/// (Fig. 1a), steps to fit vs p (Fig. 1b), test error vs p (Fig. 1c).
pub fn plot(loaded: &LoadedSpec, dir: &Path) -> Result<()> {
    let spec: RandomizationSpec = loaded.study_section()?;
    let rd = RunDir::new(dir);
    let metrics = Metrics::read(&rd.metrics())?;
    let fig_dir = rd.figures();
    std::fs::create_dir_all(&fig_dir).map_err(|e| Error::io(&fig_dir, e))?;
    let finals = finals(&metrics);
    training_loss(&spec, &metrics, &finals, &fig_dir)?;
    corruption_curves(&spec, &finals, &fig_dir)
}

/// Fig. 1a (training_loss): per model, the named settings' training loss on
/// the whole set (median and 20-80% over runs) against thousands of steps.
fn training_loss(
    spec: &RandomizationSpec,
    metrics: &Metrics,
    finals: &Finals,
    fig_dir: &Path,
) -> Result<()> {
    let loss = metrics.series("train", "loss");
    let mut loss_panels = Vec::new();
    for arch in &spec.model.archs {
        let al = arch.label();
        let mut series = Vec::new();
        for r in spec
            .randomizations()
            .iter()
            .filter(|r| !matches!(r, Randomization::CorruptLabels { .. }))
        {
            let mut per_epoch = f64::NAN;
            let mut group: Vec<&[(u64, f64)]> = Vec::new();
            for (run, pts) in loss
                .iter()
                .filter(|(run, _)| group_of(run) == (r.label(), al.clone()))
            {
                per_epoch = finals
                    .get(run)
                    .and_then(|f| f.get("steps_per_epoch"))
                    .copied()
                    .unwrap_or(f64::NAN);
                group.push(pts);
            }
            let by_epoch = pool_by_epoch(&group);
            if by_epoch.is_empty() {
                continue;
            }
            let xs = by_epoch
                .keys()
                .map(|&e| e as f64 * per_epoch / 1000.0)
                .collect();
            let vals: Vec<Vec<f64>> = by_epoch.into_values().collect();
            let mut s = band(xs, &vals, r.label(), false);
            s.markers = false;
            series.push(s);
        }
        loss_panels.push(LinePanel {
            title: format!("{al}: training loss (stopped runs held at their last loss)"),
            x_label: "thousand steps".into(),
            y_label: "training loss".into(),
            series,
            ..Default::default()
        });
    }
    if !loss_panels.is_empty() {
        let cols = loss_panels.len().min(2);
        plot::line_panels(&fig_dir.join("training_loss"), &loss_panels, cols)?;
    }
    Ok(())
}

/// The runs' values pooled by epoch, over every epoch any run recorded: a
/// run that stopped (it fit the training set) counts with its last value at
/// the later epochs, so the median and band keep every run and do not jump
/// when one stops.
fn pool_by_epoch(runs: &[&[(u64, f64)]]) -> BTreeMap<u64, Vec<f64>> {
    let mut by_epoch: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    for pts in runs {
        for &(e, v) in *pts {
            by_epoch.entry(e).or_default().push(v);
        }
    }
    for pts in runs {
        let Some(&(last_e, last_v)) = pts.iter().max_by_key(|p| p.0) else {
            continue;
        };
        for (_, vals) in by_epoch.range_mut(last_e + 1..) {
            vals.push(last_v);
        }
    }
    by_epoch
}

/// Figs. 1b and 1c (time_to_fit_vs_p, test_error_vs_p): per model, along
/// the label-corruption curve, thousands of steps to zero training error
/// and the test error (median and 20-80% over runs) against p.
fn corruption_curves(spec: &RandomizationSpec, finals: &Finals, fig_dir: &Path) -> Result<()> {
    let classes = spec.data.classes.len();
    let (mut fit_series, mut err_series) = (Vec::new(), Vec::new());
    for arch in &spec.model.archs {
        let al = arch.label();
        let curve = corruption_curve(spec, finals, &al);
        if curve.is_empty() {
            continue;
        }
        let xs: Vec<f64> = curve.iter().map(|c| c.0).collect();
        // Runs that did not fit (NaN) leave a gap rather than a wrong median.
        let with_nan = |v: &Vec<f64>| {
            if v.iter().all(|x| x.is_finite()) {
                v.clone()
            } else {
                vec![f64::NAN]
            }
        };
        let fits: Vec<Vec<f64>> = curve.iter().map(|c| with_nan(&c.1)).collect();
        fit_series.push(band(xs.clone(), &fits, al.clone(), false));
        let errs: Vec<Vec<f64>> = curve.iter().map(|c| c.2.clone()).collect();
        err_series.push(band(xs, &errs, al, false));
    }
    if fit_series.is_empty() {
        return Ok(());
    }
    let fit_panel = LinePanel {
        title: "time to fit vs label corruption".into(),
        x_label: "label corruption p".into(),
        y_label: "thousand steps to zero training error".into(),
        log_y: spans_a_decade(&fit_series),
        series: fit_series,
        ..Default::default()
    };
    let err_panel = LinePanel {
        title: "test error vs label corruption".into(),
        x_label: "label corruption p".into(),
        y_label: "test error (true test labels)".into(),
        series: err_series,
        hlines: vec![HLine {
            y: 1.0 - 1.0 / classes as f64,
            label: format!("chance 1 - 1/{classes}"),
            kind: crate::plot::RefKind::Chance,
        }],
        ..Default::default()
    };
    plot::line_panels(&fig_dir.join("time_to_fit_vs_p"), &[fit_panel], 1)?;
    plot::line_panels(&fig_dir.join("test_error_vs_p"), &[err_panel], 1)
}

/// Whether the curves' positive values (bands included) span a factor of
/// 10 or more: then they take a log axis. The models fit at different
/// speeds (mlp512 in 2-7 thousand steps, the CNN in 30-70), and on a
/// linear axis the faster model's rise with p lay flat against zero.
fn spans_a_decade(series: &[Series]) -> bool {
    let bands = series.iter().flat_map(|s| s.band.iter());
    let values = (series.iter().flat_map(|s| s.y.iter()))
        .chain(bands.flat_map(|(lo, hi)| lo.iter().chain(hi)))
        .filter(|v| v.is_finite() && **v > 0.0);
    let (lo, hi) = values.fold((f64::INFINITY, 0.0_f64), |(lo, hi), &v| {
        (lo.min(v), hi.max(v))
    });
    hi >= 10.0 * lo
}

/// Model `arch`'s label-corruption curve, sorted by p: (p, thousands of
/// steps to fit per run (NaN: not fitted), test error per run), for every
/// corruption level with runs.
fn corruption_curve(
    spec: &RandomizationSpec,
    finals: &Finals,
    arch: &str,
) -> Vec<(f64, Vec<f64>, Vec<f64>)> {
    let mut curve: Vec<(f64, Vec<f64>, Vec<f64>)> = spec
        .randomizations()
        .iter()
        .filter_map(|r| {
            let p = r.corruption()?;
            let runs: Vec<&BTreeMap<String, f64>> = finals
                .iter()
                .filter(|(run, _)| group_of(run) == (r.label(), arch.to_string()))
                .map(|(_, v)| v)
                .collect();
            (!runs.is_empty()).then(|| {
                let get = |m: &str| {
                    runs.iter()
                        .map(|v| v.get(m).copied().unwrap_or(f64::NAN))
                        .collect::<Vec<f64>>()
                };
                let steps: Vec<f64> = get("steps_to_fit")
                    .into_iter()
                    .map(|s| s / 1000.0)
                    .collect();
                (p, steps, get("test_error"))
            })
        })
        .collect();
    curve.sort_by(|a, b| a.0.total_cmp(&b.0));
    curve
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run that stops early keeps its last loss at the later epochs, so
    /// every epoch pools both runs.
    #[test]
    fn stopped_runs_stay_in_the_pool() {
        let fast = [(0, 2.0), (1, 0.5), (2, 0.01)];
        let slow = [(0, 2.2), (1, 1.5), (2, 1.0), (3, 0.6), (4, 0.02)];
        let pooled = pool_by_epoch(&[&fast, &slow]);
        assert_eq!(pooled.len(), 5);
        assert_eq!(pooled[&3], [0.6, 0.01]);
        assert!(pooled.values().all(|v| v.len() == 2), "{pooled:?}");
    }

    /// The committed runs' times to fit (medians 2.6-7.4 and 33-71 thousand
    /// steps) take a log axis; curves within a factor of 10 keep a linear
    /// one, and zeros and NaNs are left out.
    #[test]
    fn times_to_fit_across_a_decade_take_a_log_axis() {
        let curve = |y: Vec<f64>| Series {
            y,
            ..Default::default()
        };
        let mlp = curve(vec![2.625, 4.5, 7.25]);
        let cnn = curve(vec![33.0, 50.0, 68.0]);
        assert!(spans_a_decade(&[cnn.clone(), mlp.clone()]));
        assert!(!spans_a_decade(std::slice::from_ref(&cnn)));
        assert!(!spans_a_decade(&[mlp, curve(vec![0.0, f64::NAN])]));
        let mut banded = cnn;
        banded.band = Some((vec![3.0; 3], vec![70.0; 3]));
        assert!(spans_a_decade(&[banded]));
    }
}
