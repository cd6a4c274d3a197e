//! Scatter panels: two classes of points over a shaded decision field and
//! its zero contour (marching squares).

use plotters::prelude::*;

use super::axes::{axis_range, Axis};
use super::elements::draw_markers;
use super::frame::{draw_box, frame, frame_size, titled, TickCounts, TitleFont};
use super::geometry::{cell_edges, clip_polyline, clip_segment, edges_span, Rect};
use super::legend::{
    below_height, draw_legend, legend_split, plan_legend, sample_polyline, Entry, Glyph,
};
use super::style::{font, line_h, text_w, tint, wrap, LINE_W, NOTE_PX, PALETTE, REF_GREY};
use super::{Area, Chart, DrawResult, ScatterPanel};
use plotters::style::text_anchor::{HPos, Pos, VPos};

const CLASS_COLORS: [RGBColor; 2] = [PALETTE[0], PALETTE[1]];
const CLASS_SHAPES: [usize; 2] = [0, 2];

/// The field value at grid node (i, j), NaN where missing.
fn field_value(p: &ScatterPanel, i: usize, j: usize) -> f64 {
    let f = p.field.as_ref().map(|f| &f.2);
    f.and_then(|f| f.get(i))
        .and_then(|r| r.get(j))
        .copied()
        .unwrap_or(f64::NAN)
}

/// The legend of a scatter panel: both classes, and the boundary if drawn.
pub(super) fn scatter_entries(p: &ScatterPanel) -> Vec<Entry> {
    let mut entries: Vec<Entry> = (0..2)
        .map(|class| Entry {
            note: false,
            label: if p.class_labels[class].is_empty() {
                format!("class {class}")
            } else {
                p.class_labels[class].clone()
            },
            glyph: Glyph::Marker {
                shape: CLASS_SHAPES[class],
                color: CLASS_COLORS[class],
            },
        })
        .collect();
    let has_boundary = p
        .field
        .as_ref()
        .is_some_and(|(gx, gy, _)| !zero_contour(gx, gy, &|i, j| field_value(p, i, j)).is_empty());
    if has_boundary {
        let glyph = Glyph::Curve {
            color: BLACK,
            dashed: false,
            marker: None,
            band: false,
            halo: false,
        };
        entries.push(Entry {
            note: false,
            label: "decision boundary".into(),
            glyph,
        });
    }
    entries
}

pub(super) fn scatter_panel<DB: DrawingBackend>(
    area: &Area<DB>,
    p: &ScatterPanel,
    own_legend: bool,
    title_font: TitleFont,
) -> DrawResult<(), DB> {
    let area = titled(area, &p.title, title_font)?;
    let pts: Vec<(f64, f64, usize)> = p
        .points
        .iter()
        .filter(|q| q.0.is_finite() && q.1.is_finite())
        .map(|&(x, y, c)| (x, y, usize::from(c != 0)))
        .collect();
    let mut xr = axis_range(false, None, pts.iter().map(|q| q.0), 0.04);
    let mut yr = axis_range(false, None, pts.iter().map(|q| q.1), 0.04);
    // The field's cells, if any, widen the view to the whole grid.
    let mut cells = None;
    if let Some((gx, gy, f)) = &p.field {
        let ex = cell_edges(gx, false);
        let ey = cell_edges(gy, false);
        let (sx, sy) = (edges_span(&ex), edges_span(&ey));
        if sx.0 < sx.1 && sy.0 < sy.1 {
            if pts.is_empty() {
                (xr, yr) = (sx, sy);
            } else {
                xr = (xr.0.min(sx.0), xr.1.max(sx.1));
                yr = (yr.0.min(sy.0), yr.1.max(sy.1));
            }
            cells = Some((ex, ey, gx, gy, f));
        }
    }
    let xa = Axis::new(xr, false);
    let ya = Axis::new(yr, false);
    let rect = Rect::of(&xa, &ya);
    let value = |i: usize, j: usize| field_value(p, i, j);

    let mut occupied: Vec<(f64, f64)> = pts.iter().map(|q| rect.norm((q.0, q.1))).collect();
    occupied.extend(p.notes.iter().map(|&(x, y, _)| rect.norm((x, y))));
    let mut boundary = Vec::new();
    if let Some((_, _, gx, gy, _)) = &cells {
        for (a, b) in zero_contour(gx, gy, &value) {
            for piece in clip_polyline(&[a, b], &rect) {
                sample_polyline(&piece, &rect, &mut occupied);
                boundary.push(piece);
            }
        }
    }
    let entries = if own_legend {
        scatter_entries(p)
    } else {
        Vec::new()
    };
    let plot = frame_size(&area, &xa, &ya, &p.x_label, &p.y_label, 0).plot;
    let place = plan_legend(&area, &entries, &occupied, plot, true);
    let (main, strip) = legend_split(area, &place, below_height(&place));
    let mut chart = frame(&main, xa, ya, &p.x_label, &p.y_label, cells.is_none(), 0)?;
    if let Some((ex, ey, _, _, _)) = &cells {
        // Light opaque tints: field > 0 in the class-0 colour, < 0 in the class-1 colour.
        let pos = tint(CLASS_COLORS[0], 0.2);
        let neg = tint(CLASS_COLORS[1], 0.2);
        // Runs of same-signed cells up a column become one rectangle.
        let mut rects = Vec::new();
        for (i, ex) in ex.iter().enumerate() {
            let Some((x0, x1)) = *ex else { continue };
            let mut run: Option<(f64, f64, RGBColor)> = None;
            for (j, ey) in ey.iter().enumerate() {
                let v = value(i, j);
                let cell = ey.and_then(|(y0, y1)| {
                    let color = if v > 0.0 {
                        pos
                    } else if v < 0.0 {
                        neg
                    } else {
                        return None;
                    };
                    Some((y0, y1, color))
                });
                run = match (run, cell) {
                    (Some((a, b, c)), Some((y0, y1, color))) if c == color && y0 == b => {
                        Some((a, y1, c))
                    }
                    (prev, next) => {
                        if let Some((a, b, c)) = prev {
                            rects.push(Rectangle::new([(x0, a), (x1, b)], c.filled()));
                        }
                        next
                    }
                };
            }
            if let Some((a, b, c)) = run {
                rects.push(Rectangle::new([(x0, a), (x1, b)], c.filled()));
            }
        }
        chart.draw_series(rects)?;
        // Grid lines over the shading, under the data.
        let grid_style = BLACK.mix(0.1).stroke_width(1);
        for t in xa.ticks(chart.x_range_n()) {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(t, rect.y0), (t, rect.y1)],
                grid_style,
            )))?;
        }
        for t in ya.ticks(chart.y_range_n()) {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(rect.x0, t), (rect.x1, t)],
                grid_style,
            )))?;
        }
        for piece in &boundary {
            chart.draw_series(std::iter::once(PathElement::new(
                piece.clone(),
                BLACK.stroke_width(LINE_W),
            )))?;
        }
    }
    let r = match pts.len() {
        0..=300 => 7,
        301..=3000 => 5,
        _ => 3,
    };
    for layer in layers(&pts, &rect) {
        for class in 0..2 {
            let (color, shape) = (CLASS_COLORS[class], CLASS_SHAPES[class]);
            let mine = layer.iter().filter(|q| q.2 == class).map(|q| (q.0, q.1));
            draw_markers(&mut chart, mine.collect(), shape, color, r)?;
        }
    }
    draw_notes(&mut chart, &rect, &p.notes, &boundary)?;
    draw_box(&chart)?;
    draw_legend(&chart, strip.as_ref(), &entries, &place)
}

/// A note's box [x0, y0, x1, y1] in pixels, `w` by `h`, for a point at
/// `(px, py)`: `dx` beside it (`hp`: which end of the note is there), `dy`
/// above (< 0) or below.
fn note_box(px: i32, py: i32, (dx, hp): (i32, HPos), dy: i32, (w, h): (i32, i32)) -> [i32; 4] {
    let x0 = match hp {
        HPos::Left => px + dx,
        HPos::Right => px + dx - w,
        HPos::Center => px - w / 2,
    };
    let y0 = if dy < 0 { py + dy - h } else { py + dy };
    [x0, y0, x0 + w, y0 + h]
}

/// The panel's notes, each beside its point toward the plot's centre,
/// clear of earlier notes and, where a place nearby is, of the drawn
/// `lines` (the decision boundary's pieces); a note no place keeps clear
/// of the lines is broken into two lines and tried again.
fn draw_notes<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    rect: &Rect,
    notes: &[(f64, f64, String)],
    lines: &[Vec<(f64, f64)>],
) -> DrawResult<(), DB> {
    let pixel = |q: &(f64, f64)| {
        let (x, y) = chart.backend_coord(q);
        (f64::from(x), f64::from(y))
    };
    let segments: Vec<_> = (lines.iter())
        .flat_map(|l| l.windows(2).map(|w| (pixel(&w[0]), pixel(&w[1]))))
        .collect();
    let (left, top) = chart.backend_coord(&(rect.x0, rect.y1));
    let (right, bottom) = chart.backend_coord(&(rect.x1, rect.y0));
    let inside = |b: [i32; 4]| b[0] >= left && b[2] <= right && b[1] >= top && b[3] <= bottom;
    // A line through a note's words (at the notes' size a note beside a
    // point reaches the boundary between the classes) hides them.
    let crosses = |b: [i32; 4]| {
        let pad = Rect {
            x0: f64::from(b[0] - 3),
            x1: f64::from(b[2] + 3),
            y0: f64::from(b[1] - 3),
            y1: f64::from(b[3] + 3),
        };
        (segments.iter()).any(|&(p, q)| clip_segment(p, q, &pad).is_some())
    };
    let mut note_boxes: Vec<[i32; 4]> = Vec::new();
    for (x, y, text) in notes {
        // Toward the centre: a note at the right edge ends left of its point.
        let side = |v: f64, lo: f64, hi: f64| (v - 0.5 * (lo + hi)) / (hi - lo);
        let (sx, sy) = (side(*x, rect.x0, rect.x1), side(*y, rect.y0, rect.y1));
        let (dx, hp) = match sx {
            s if s > 0.1 => (-12, HPos::Right),
            s if s < -0.1 => (12, HPos::Left),
            _ => (0, HPos::Center),
        };
        let dy: i32 = if sy > 0.1 { 12 } else { -12 };
        let (px, py) = chart.backend_coord(&(*x, *y));
        // Half a line apart at least: notes that merely touch read as one.
        let gap = (NOTE_PX as i32 + 4) / 2;
        let meets = |b: [i32; 4]| {
            (note_boxes.iter())
                .any(|o| b[0] < o[2] + gap && o[0] < b[2] + gap && b[1] < o[3] && o[1] < b[3])
        };
        // At the notes' size two notes on one level can meet between their
        // points: a note that would cover an earlier one, or a line, moves a
        // line further from its point, else to its other side (no further:
        // a note far from its point is read as another point's), inside
        // the plot.
        let spot = |rows: &[String], clean: bool| {
            let w = rows.iter().map(|r| text_w(r, NOTE_PX)).max().unwrap_or(0) as i32;
            let wh = (
                w,
                NOTE_PX as i32 + 4 + line_h(NOTE_PX) * (rows.len() as i32 - 1),
            );
            let step = NOTE_PX as i32 + 4;
            [dy, dy + dy.signum() * step, -dy, -dy - dy.signum() * step]
                .into_iter()
                .map(|d| (d, note_box(px, py, (dx, hp), d, wh)))
                .find(|&(_, b)| inside(b) && !meets(b) && (!clean || !crosses(b)))
        };
        let one = vec![text.clone()];
        // Lines of at most 0.6 of the note: two, where a space allows.
        let two = wrap(text, NOTE_PX, text_w(text, NOTE_PX) * 3 / 5 + 1);
        let (rows, (dy, b)) = (spot(&one, true).map(|s| (&one, s)))
            .or_else(|| spot(&two, true).map(|s| (&two, s)))
            .or_else(|| spot(&one, false).map(|s| (&one, s)))
            .unwrap_or((&one, (dy, note_box(px, py, (dx, hp), dy, (0, 0)))));
        note_boxes.push(b);
        let vp = if dy < 0 { VPos::Bottom } else { VPos::Top };
        let style = font(NOTE_PX).color(&REF_GREY).pos(Pos::new(hp, vp));
        // Stacked away from the point: the last line nearest it above.
        let n = rows.len() as i32;
        for (k, row) in rows.iter().enumerate() {
            let k = if dy < 0 { k as i32 - (n - 1) } else { k as i32 };
            let at = (dx, dy + k * line_h(NOTE_PX));
            chart.draw_series(std::iter::once(
                EmptyElement::at((*x, *y)) + Text::new(row.clone(), at, style.clone()),
            ))?;
        }
    }
    Ok(())
}

/// Marching squares: the segments of the zero level set of `value` on the
/// grid `gx` x `gy` (cells with a NaN corner are skipped).
fn zero_contour(
    gx: &[f64],
    gy: &[f64],
    value: &dyn Fn(usize, usize) -> f64,
) -> Vec<((f64, f64), (f64, f64))> {
    let mut out = Vec::new();
    for i in 0..gx.len().saturating_sub(1) {
        for j in 0..gy.len().saturating_sub(1) {
            let (xa, xb, ya, yb) = (gx[i], gx[i + 1], gy[j], gy[j + 1]);
            if ![xa, xb, ya, yb].iter().all(|v| v.is_finite()) {
                continue;
            }
            // Corners counter-clockwise from (i, j).
            let c = [
                ((xa, ya), value(i, j)),
                ((xb, ya), value(i + 1, j)),
                ((xb, yb), value(i + 1, j + 1)),
                ((xa, yb), value(i, j + 1)),
            ];
            if c.iter().any(|q| !q.1.is_finite()) {
                continue;
            }
            let pos = |v: f64| v > 0.0;
            // The crossing on edge k (corner k to corner k + 1), if any.
            let cross = |k: usize| {
                let (p, u) = c[k];
                let (q, v) = c[(k + 1) % 4];
                (pos(u) != pos(v)).then(|| {
                    let t = (u / (u - v)).clamp(0.0, 1.0);
                    (p.0 + (q.0 - p.0) * t, p.1 + (q.1 - p.1) * t)
                })
            };
            let e: Vec<(f64, f64)> = (0..4).filter_map(cross).collect();
            match e.len() {
                2 => out.push((e[0], e[1])),
                4 => {
                    // Saddle: the centre's sign decides which corners connect.
                    let centre = c.iter().map(|q| q.1).sum::<f64>() / 4.0;
                    if pos(centre) == pos(c[0].1) {
                        // Corners 1 and 3 are cut off.
                        out.push((e[0], e[1]));
                        out.push((e[2], e[3]));
                    } else {
                        // Corners 0 and 2 are cut off.
                        out.push((e[3], e[0]));
                        out.push((e[1], e[2]));
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// The points in two layers, drawn in turn: those outnumbered by the other
/// class near them (within `NEAR` of the axes' spans), then the rest. A
/// cluster's majority then lies on top of its few flipped labels; drawn
/// class by class, the class drawn last covered the majority of every
/// cluster of the other class (xor fig 2: 6 triangles hid 54 circles).
fn layers(pts: &[(f64, f64, usize)], rect: &Rect) -> [Vec<(f64, f64, usize)>; 2] {
    const NEAR: f64 = 0.05;
    let at: Vec<(f64, f64)> = pts.iter().map(|q| rect.norm((q.0, q.1))).collect();
    let mut out = [Vec::new(), Vec::new()];
    for (i, q) in pts.iter().enumerate() {
        let mut count = [0usize; 2];
        for (j, o) in pts.iter().enumerate() {
            if (at[i].0 - at[j].0).hypot(at[i].1 - at[j].1) <= NEAR {
                count[o.2] += 1;
            }
        }
        let outnumbered = count[q.2] < count[1 - q.2];
        out[usize::from(!outnumbered)].push(*q);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::scatter_panels;
    use crate::plot::tests::check;

    /// In a cluster of ten circles and two triangles, the triangles are
    /// drawn first and the circles over them, and the other way round in
    /// a cluster of mostly triangles; a lone point is drawn last.
    #[test]
    fn a_clusters_majority_is_drawn_over_its_flipped_labels() {
        let mut pts: Vec<(f64, f64, usize)> =
            (0..10).map(|i| (f64::from(i) * 1e-3, 0.0, 0)).collect();
        pts.extend([(0.0, 0.001, 1), (0.001, 0.0, 1)]);
        pts.extend((0..10).map(|i| (10.0 + f64::from(i) * 1e-3, 10.0, 1)));
        pts.push((10.0, 10.001, 0));
        pts.push((5.0, 5.0, 1));
        let rect = Rect {
            x0: 0.0,
            x1: 10.0,
            y0: 0.0,
            y1: 10.0,
        };
        let [under, over] = layers(&pts, &rect);
        assert_eq!(under, [(0.0, 0.001, 1), (0.001, 0.0, 1), (10.0, 10.001, 0)]);
        assert_eq!(over.len(), 21);
        assert_eq!(over.last(), Some(&(5.0, 5.0, 1)));
    }

    #[test]
    fn scatter_panels_writes_png_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("scatter");
        let points: Vec<(f64, f64, usize)> = (0..200)
            .map(|i| {
                let a = f64::from(i) * 0.7;
                let (x, y) = (2.0 * a.cos() * (1.0 + 0.1 * a.sin()), 2.0 * (a * 1.3).sin());
                (x, y, usize::from(x * y < 0.0))
            })
            .collect();
        let grid: Vec<f64> = (0..41).map(|i| -2.5 + 5.0 * f64::from(i) / 40.0).collect();
        let field: Vec<Vec<f64>> = grid
            .iter()
            .map(|&u| grid.iter().map(|&v| u * v).collect())
            .collect();
        let panels = [
            ScatterPanel {
                title: "t = 100".into(),
                x_label: "<x, mu1>".into(),
                y_label: "<x, mu2>".into(),
                points: points.clone(),
                class_labels: ["y = +1".into(), "y = -1".into()],
                field: Some((grid.clone(), grid, field)),
                notes: vec![(2.0, 0.0, "right".into()), (0.0, -2.0, "below".into())],
            },
            ScatterPanel {
                title: "no field".into(),
                points,
                ..Default::default()
            },
        ];
        scatter_panels(&stem, &panels, 2).unwrap();
        check(&stem);
    }
}
