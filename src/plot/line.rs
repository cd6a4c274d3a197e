//! Line panels: curves with quantile bands, markers and reference lines.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axes::{axis_range, Axis};
use super::elements::{draw_curve, draw_markers};
use super::frame::{draw_box, frame, frame_size, titled};
use super::geometry::{clip_polygon, clip_polyline, runs, thin, Rect};
use super::legend::{draw_legend, legend_split, plan_legend, sample_polyline, Entry, Glyph};
use super::style::{font, series_color, LINE_W, NOTE_PX, REF_GREY};
use super::{Area, Curve, DrawResult, LinePanel, Marks, Series};

/// The legend of a line panel: its labelled series, when there are two or more.
pub(super) fn line_entries(p: &LinePanel) -> Vec<Entry> {
    if p.series.iter().filter(|s| !s.label.is_empty()).count() < 2 {
        return Vec::new();
    }
    let entry = |(i, s): (usize, &Series)| Entry {
        label: s.label.clone(),
        glyph: Glyph::Curve {
            color: series_color(i),
            dashed: s.dashed,
            marker: s.markers.then_some(i),
            band: s.band.is_some(),
            halo: false,
        },
    };
    p.series
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.label.is_empty())
        .map(entry)
        .collect()
}

pub(super) fn line_panel<DB: DrawingBackend>(
    area: &Area<DB>,
    p: &LinePanel,
    own_legend: bool,
) -> DrawResult<(), DB> {
    let area = titled(area, &p.title)?;
    let xs = p.series.iter().flat_map(|s| s.x.iter().copied());
    let xr = axis_range(p.log_x, p.x_range, xs, 0.02);
    let xa = Axis::new(xr, p.log_x);
    // Auto y range: the values whose x is visible, bands and reference lines included.
    let x_visible = |u: f64| {
        xa.t(u)
            .is_some_and(|t| t >= xr.0 - 1e-9 && t <= xr.1 + 1e-9)
    };
    let mut ys: Vec<f64> = Vec::new();
    for s in &p.series {
        for (i, &u) in s.x.iter().enumerate() {
            if !x_visible(u) {
                continue;
            }
            ys.extend(s.y.get(i));
            if let Some((lo, hi)) = &s.band {
                ys.extend(lo.get(i));
                ys.extend(hi.get(i));
            }
        }
    }
    ys.extend(p.hlines.iter().map(|h| h.y));
    let ya = Axis::new(axis_range(p.log_y, p.y_range, ys, 0.05), p.log_y);
    let rect = Rect::of(&xa, &ya);
    let plot = frame_size(&area, &xa, &ya, &p.x_label, &p.y_label, 0).plot;

    // Geometry first (transformed and clipped), so the legend can avoid it.
    let mut occupied = Vec::new();
    let mut bands: Vec<(RGBColor, Vec<(f64, f64)>)> = Vec::new();
    for (i, s) in p.series.iter().enumerate() {
        let Some((lo, hi)) = &s.band else { continue };
        let n = s.x.len().min(lo.len()).min(hi.len());
        let mut run: Vec<(f64, f64, f64)> = Vec::new();
        for k in 0..=n {
            let pt = (k < n)
                .then(|| (xa.t(s.x[k]), ya.t(lo[k]), ya.t(hi[k])))
                .and_then(|(a, b, c)| Some((a?, b?, c?)));
            if let Some(q) = pt {
                run.push(q);
                continue;
            }
            if run.len() >= 2 {
                let mut poly: Vec<(f64, f64)> = run.iter().map(|q| (q.0, q.2)).collect();
                poly.extend(run.iter().rev().map(|q| (q.0, q.1)));
                let poly = clip_polygon(&poly, &rect);
                if poly.len() >= 3 {
                    for q in &run {
                        for f in [0.0, 0.25, 0.5, 0.75, 1.0] {
                            let pt = (q.0, q.1 + (q.2 - q.1) * f);
                            if rect.contains(pt) {
                                occupied.push(rect.norm(pt));
                            }
                        }
                    }
                    bands.push((series_color(i), thin(poly, &rect, plot)));
                }
            }
            run.clear();
        }
    }
    let mut refs: Vec<(f64, &str)> = Vec::new();
    for h in &p.hlines {
        let Some(t) = ya.t(h.y) else { continue };
        if rect.contains((rect.x0, t)) {
            sample_polyline(&[(rect.x0, t), (rect.x1, t)], &rect, &mut occupied);
            if !h.label.is_empty() {
                let f = ya.frac(t);
                let dy = if f < 0.9 { 0.06 } else { -0.06 };
                occupied.extend([(0.97, f + dy), (0.88, f + dy), (0.80, f + dy)]);
            }
            refs.push((t, h.label.as_str()));
        }
    }
    let mut curves: Vec<Curve> = Vec::new();
    let mut marks: Vec<Marks> = Vec::new();
    for (i, s) in p.series.iter().enumerate() {
        let color = series_color(i);
        let mut points = Vec::new();
        for run in runs(&s.x, &s.y, &xa, &ya) {
            if run.len() == 1 || s.markers {
                points.extend(run.iter().copied());
            }
            for piece in clip_polyline(&run, &rect) {
                let piece = thin(piece, &rect, plot);
                sample_polyline(&piece, &rect, &mut occupied);
                curves.push((color, s.dashed, piece));
            }
        }
        points.retain(|q| rect.contains(*q));
        points.dedup();
        occupied.extend(points.iter().map(|q| rect.norm(*q)));
        marks.push((i, color, points));
    }
    let entries = if own_legend {
        line_entries(p)
    } else {
        Vec::new()
    };

    let place = plan_legend(&area, &entries, &occupied, plot, true);
    let (main, strip) = legend_split(area, &place);
    let mut chart = frame(&main, xa, ya, &p.x_label, &p.y_label, true, 0)?;
    for (color, poly) in bands {
        chart.draw_series(std::iter::once(Polygon::new(poly, color.mix(0.2).filled())))?;
    }
    for (t, label) in refs {
        chart.draw_series(DashedLineSeries::new(
            vec![(rect.x0, t), (rect.x1, t)],
            3,
            6,
            REF_GREY.stroke_width(2),
        ))?;
        if !label.is_empty() {
            let (dy, v) = if ya.frac(t) < 0.9 {
                (-5, VPos::Bottom)
            } else {
                (6, VPos::Top)
            };
            let style = font(NOTE_PX).color(&REF_GREY).pos(Pos::new(HPos::Right, v));
            chart.draw_series(std::iter::once(
                EmptyElement::at((rect.x1, t)) + Text::new(label.to_string(), (-10, dy), style),
            ))?;
        }
    }
    for (color, dashed, piece) in curves {
        draw_curve(&mut chart, piece, color, LINE_W, dashed)?;
    }
    for (shape, color, points) in marks {
        draw_markers(&mut chart, points, shape, color, 7)?;
    }
    draw_box(&chart)?;
    draw_legend(&chart, strip.as_ref(), &entries, &place)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::tests::check;
    use crate::plot::{line_panels, HLine};

    #[test]
    fn line_panels_writes_png_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("lines");
        let x: Vec<f64> = (1..=200).map(|t| f64::from(t) * 5.0).collect();
        let y: Vec<f64> = x
            .iter()
            .map(|t| 0.5 + 0.45 * (1.0 - (-t / 300.0).exp()))
            .collect();
        let lo: Vec<f64> = y.iter().map(|v| v - 0.03).collect();
        let hi: Vec<f64> = y.iter().map(|v| v + 0.03).collect();
        let mut y2 = y.iter().map(|v| v * 0.9).collect::<Vec<_>>();
        y2[50] = f64::NAN;
        let panel = LinePanel {
            title: "accuracy".into(),
            x_label: "step".into(),
            y_label: "accuracy".into(),
            log_x: true,
            log_y: false,
            x_range: None,
            y_range: Some((0.4, 1.02)),
            series: vec![
                Series {
                    label: "train".into(),
                    x: x.clone(),
                    y,
                    band: Some((lo, hi)),
                    dashed: false,
                    markers: false,
                },
                Series {
                    label: "test".into(),
                    x,
                    y: y2,
                    band: None,
                    dashed: true,
                    markers: true,
                },
                Series {
                    label: "empty".into(),
                    ..Default::default()
                },
            ],
            hlines: vec![HLine {
                y: 0.5,
                label: "chance".into(),
            }],
        };
        let degenerate = LinePanel {
            title: "degenerate".into(),
            log_y: true,
            series: vec![Series {
                label: "flat".into(),
                x: vec![1.0, 1.0],
                y: vec![0.0, -1.0],
                ..Default::default()
            }],
            ..Default::default()
        };
        line_panels(&stem, &[panel, degenerate], 2).unwrap();
        check(&stem);
    }
}
