//! Histogram panels: overlaid translucent step outlines on shared bins.

use plotters::prelude::*;

use super::axes::{axis_range, Axis};
use super::frame::{draw_box, frame, frame_size, titled};
use super::geometry::Rect;
use super::legend::{draw_legend, legend_split, plan_legend, Entry, Glyph};
use super::style::{series_color, LINE_W};
use super::{Area, DrawResult, HistPanel};

/// The legend of a histogram panel: its groups, when there are two or more.
pub(super) fn hist_entries(p: &HistPanel) -> Vec<Entry> {
    if p.groups.len() < 2 {
        return Vec::new();
    }
    let entry = |(i, g): (usize, &(String, Vec<f64>))| Entry {
        label: g.0.clone(),
        glyph: Glyph::Bar(series_color(i)),
    };
    p.groups.iter().enumerate().map(entry).collect()
}

pub(super) fn hist_panel<DB: DrawingBackend>(
    area: &Area<DB>,
    p: &HistPanel,
    own_legend: bool,
) -> DrawResult<(), DB> {
    let area = titled(area, &p.title)?;
    let finite = || {
        p.groups
            .iter()
            .flat_map(|g| g.1.iter().copied().filter(|v| v.is_finite()))
    };
    let n_all = finite().count();
    let (lo, hi) = axis_range(false, None, finite(), 0.0);
    let bins = if p.bins > 0 {
        p.bins.min(10_000)
    } else {
        ((n_all as f64).sqrt().round() as usize).clamp(10, 60)
    };
    let width = (hi - lo) / bins as f64;
    let counts: Vec<Vec<usize>> = p
        .groups
        .iter()
        .map(|(_, vals)| {
            let mut c = vec![0usize; bins];
            for &v in vals.iter().filter(|v| v.is_finite()) {
                let k = (((v - lo) / width).floor().max(0.0) as usize).min(bins - 1);
                c[k] += 1;
            }
            c
        })
        .collect();
    let top = counts.iter().flatten().copied().max().unwrap_or(0).max(1) as f64;
    let pad = (hi - lo) * 0.02;
    let xa = Axis::new((lo - pad, hi + pad), false);
    let ya = Axis::new((0.0, top * 1.08), false);
    let rect = Rect::of(&xa, &ya);
    let edge = |k: usize| lo + width * k as f64;
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
    let (main, strip) = legend_split(area, &place);
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
            },
            HistPanel {
                title: "constant".into(),
                x_label: "v".into(),
                groups: vec![("c".into(), vec![3.0; 10])],
                bins: 0,
            },
            HistPanel {
                title: "empty".into(),
                x_label: "v".into(),
                groups: vec![],
                bins: 10,
            },
        ];
        hist_panels(&stem, &panels, 3).unwrap();
        check(&stem);
    }
}
