//! Histogram panels: overlaid translucent step outlines on shared bins.

use plotters::prelude::*;

use super::axes::{axis_range, Axis};
use super::frame::{draw_box, frame, frame_size, titled, TitleFont};
use super::geometry::Rect;
use super::legend::{below_height, draw_legend, legend_split, plan_legend, Entry, Glyph};
use super::style::{series_color, LINE_W};
use super::{Area, DrawResult, HistPanel};

/// The legend of a histogram panel: its groups, when there are two or more.
pub(super) fn hist_entries(p: &HistPanel) -> Vec<Entry> {
    if p.groups.len() < 2 {
        return Vec::new();
    }
    let entry = |(i, g): (usize, &(String, Vec<f64>))| Entry {
        note: false,
        label: g.0.clone(),
        glyph: Glyph::Bar(series_color(i)),
    };
    p.groups.iter().enumerate().map(entry).collect()
}

/// Edge `k` of `bins` equal bins over `lo..hi` (edge 0 is `lo`, edge
/// `bins` is `hi`, exactly).
fn bin_edge((lo, hi): (f64, f64), bins: usize, k: usize) -> f64 {
    lo + (hi - lo) * k as f64 / bins as f64
}

/// Counts of the finite `vals` in `bins` bins over `lo..hi`: bin k holds
/// edge(k) <= v < edge(k + 1) by the drawn edges (a value on an edge goes
/// right), the last bin also `hi`; values outside go to the end bins.
fn bin_counts(vals: &[f64], (lo, hi): (f64, f64), bins: usize) -> Vec<usize> {
    let mut c = vec![0usize; bins];
    let edge = |k: usize| bin_edge((lo, hi), bins, k);
    for &v in vals.iter().filter(|v| v.is_finite()) {
        let mut k = (((v - lo) / (hi - lo) * bins as f64).floor().max(0.0) as usize).min(bins - 1);
        // The division can land one bin off at an edge: go by the edges.
        if k + 1 < bins && v >= edge(k + 1) {
            k += 1;
        } else if k > 0 && v < edge(k) {
            k -= 1;
        }
        c[k] += 1;
    }
    c
}

/// The range the bins span: `x_range` if set, else the values' own.
fn bin_range(p: &HistPanel) -> (f64, f64) {
    let finite = p
        .groups
        .iter()
        .flat_map(|g| g.1.iter().copied().filter(|v| v.is_finite()));
    axis_range(false, p.x_range, finite, 0.0)
}

pub(super) fn hist_panel<DB: DrawingBackend>(
    area: &Area<DB>,
    p: &HistPanel,
    own_legend: bool,
    title_font: TitleFont,
) -> DrawResult<(), DB> {
    let area = titled(area, &p.title, title_font)?;
    let finite = || {
        p.groups
            .iter()
            .flat_map(|g| g.1.iter().copied().filter(|v| v.is_finite()))
    };
    let n_all = finite().count();
    let (lo, hi) = bin_range(p);
    let bins = if p.bins > 0 {
        p.bins.min(10_000)
    } else {
        ((n_all as f64).sqrt().round() as usize).clamp(10, 60)
    };
    let width = (hi - lo) / bins as f64;
    let counts: Vec<Vec<usize>> = p
        .groups
        .iter()
        .map(|(_, vals)| bin_counts(vals, (lo, hi), bins))
        .collect();
    let top = counts.iter().flatten().copied().max().unwrap_or(0).max(1) as f64;
    let pad = (hi - lo) * 0.02;
    let xa = Axis::new((lo - pad, hi + pad), false);
    let ya = Axis::new((0.0, top * 1.08), false);
    let rect = Rect::of(&xa, &ya);
    let edge = |k: usize| bin_edge((lo, hi), bins, k);
    let mut occupied = Vec::new();
    let mut outlines: Vec<(RGBColor, Vec<(f64, f64)>)> = Vec::new();
    for (i, c) in counts.iter().enumerate() {
        let color = series_color(i);
        if c.iter().all(|&n| n == 0) {
            continue;
        }
        let mut o = vec![(edge(0), 0.0)];
        for (k, &n) in c.iter().enumerate() {
            o.push((edge(k), n as f64));
            o.push((edge(k + 1), n as f64));
            for f in [0.0, 0.5, 1.0] {
                for g in [0.0, 0.33, 0.67, 1.0] {
                    occupied.push(rect.norm((edge(k) + width * f, n as f64 * g)));
                }
            }
        }
        o.push((edge(bins), 0.0));
        outlines.push((color, o));
    }
    let entries = if own_legend {
        hist_entries(p)
    } else {
        Vec::new()
    };
    let plot = frame_size(&area, &xa, &ya, &p.x_label, "count", 0).plot;
    let place = plan_legend(&area, &entries, &occupied, plot, true);
    let (main, strip) = legend_split(area, &place, below_height(&place));
    let mut chart = frame(&main, xa, ya, &p.x_label, "count", true, 0)?;
    for (color, o) in &outlines {
        chart.draw_series(std::iter::once(Polygon::new(
            o.clone(),
            color.mix(0.28).filled(),
        )))?;
    }
    for (color, o) in outlines {
        chart.draw_series(LineSeries::new(o, color.stroke_width(LINE_W)))?;
    }
    draw_box(&chart)?;
    draw_legend(&chart, strip.as_ref(), &entries, &place)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::hist_panels;
    use crate::plot::tests::check;

    /// A value on a bin edge counts in the bin right of it (0.3 and 0.7
    /// of ten bins over 0..1 fall one bin short by plain division); the top
    /// value in the last bin.
    #[test]
    fn values_on_edges_fall_in_the_bin_they_start() {
        let c = bin_counts(&[0.0, 0.3, 0.7, 0.2999, 1.0, f64::NAN], (0.0, 1.0), 10);
        assert_eq!(c, [1, 0, 1, 1, 0, 0, 0, 1, 0, 1]);
        assert_eq!(bin_edge((0.0, 1.0), 10, 3), 0.3);
        assert_eq!(bin_edge((-2.0, 2.0), 8, 8), 2.0);
    }

    /// Values within a hair of each other fill one bin of a fixed range (a
    /// spike), where bins fitted to them spread them over all bins.
    #[test]
    fn a_fixed_range_draws_close_values_as_a_spike() {
        let vals: Vec<f64> = (0..500).map(|i| 0.78699 + 1e-8 * f64::from(i)).collect();
        let mut p = HistPanel {
            groups: vec![("cosine".into(), vals.clone())],
            bins: 80,
            x_range: Some((-1.0, 1.0)),
            ..Default::default()
        };
        let filled = |p: &HistPanel| {
            let c = bin_counts(&vals, bin_range(p), p.bins);
            c.iter().filter(|&&n| n > 0).count()
        };
        assert_eq!(bin_range(&p), (-1.0, 1.0));
        assert_eq!(filled(&p), 1);
        p.x_range = None;
        assert!(filled(&p) > 40, "fitted bins: {}", filled(&p));
    }

    #[test]
    fn hist_panels_writes_png_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("hist");
        let a: Vec<f64> = (0..500)
            .map(|i| (f64::from(i) * 0.37).sin() * 2.0)
            .collect();
        let b: Vec<f64> = (0..500)
            .map(|i| (f64::from(i) * 0.11).cos() + 1.0)
            .collect();
        let panels = [
            HistPanel {
                title: "t = 0".into(),
                x_label: "projection".into(),
                groups: vec![("<w, mu1>".into(), a), ("<w, mu2>".into(), b)],
                bins: 30,
                x_range: None,
            },
            HistPanel {
                title: "constant".into(),
                x_label: "v".into(),
                groups: vec![("c".into(), vec![3.0; 10])],
                bins: 0,
                x_range: None,
            },
            HistPanel {
                title: "empty".into(),
                x_label: "v".into(),
                groups: vec![],
                bins: 10,
                x_range: None,
            },
        ];
        hist_panels(&stem, &panels, 3).unwrap();
        check(&stem);
    }
}
