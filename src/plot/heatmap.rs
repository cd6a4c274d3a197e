//! Heatmap panels: cells coloured by viridis, overlay curves with a white
//! halo, and a colour bar.

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axes::{axis_range, tv, Axis};
use super::elements::{dot, draw_curve, draw_markers};
use super::frame::{draw_box, frame, frame_size, max_label_width, titled, TitleFont};
use super::geometry::{cell_edges, clip_polyline, edges_span, runs, thin, Rect};
use super::legend::{below_height, draw_legend, legend_split, plan_legend, Entry, Glyph};
use super::style::{
    fit_lines, font, line_h, DESC_PX, LINE_W, MARGIN, MISSING_GREY, TICK_LEN, TICK_PX,
};
use super::{Area, Curve, DrawResult, HeatmapPanel, Marks};

/// matplotlib's viridis sampled at 9 evenly spaced points.
const VIRIDIS: [(u8, u8, u8); 9] = [
    (68, 1, 84),
    (71, 44, 122),
    (59, 81, 139),
    (44, 113, 142),
    (33, 144, 141),
    (39, 173, 129),
    (92, 200, 99),
    (170, 220, 50),
    (253, 231, 37),
];

/// Viridis at `f` in [0, 1] (clamped; NaN gives the low end).
fn viridis(f: f64) -> RGBColor {
    let f = if f.is_nan() { 0.0 } else { f.clamp(0.0, 1.0) };
    let s = f * (VIRIDIS.len() - 1) as f64;
    let i = (s.floor() as usize).min(VIRIDIS.len() - 2);
    let t = s - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |p: u8, q: u8| (f64::from(p) + (f64::from(q) - f64::from(p)) * t).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// The colour of category `k` of `n`: viridis at k / (n - 1).
fn category_color(k: usize, n: usize) -> RGBColor {
    viridis(k as f64 / (n.max(2) - 1) as f64)
}

/// The category a cell's value indexes, if it is one (`p.categories`).
fn category(p: &HeatmapPanel, v: f64) -> Option<usize> {
    let k = v.round();
    (v.is_finite() && v == k && k >= 0.0 && (k as usize) < p.categories.len()).then_some(k as usize)
}

/// Whether a cell's value has a colour: a category's index, or (without
/// categories) any finite value; else the cell is drawn as missing.
fn has_colour(p: &HeatmapPanel, v: f64) -> bool {
    if p.categories.is_empty() {
        v.is_finite()
    } else {
        category(p, v).is_some()
    }
}

/// The legend of a heatmap: labelled overlays, the categories' swatches,
/// and "no data" if a cell is missing.
pub(super) fn heatmap_entries(p: &HeatmapPanel) -> Vec<Entry> {
    let mut entries: Vec<Entry> = p
        .overlays
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.label.is_empty())
        .map(|(k, s)| Entry {
            note: false,
            label: s.label.clone(),
            glyph: Glyph::Curve {
                color: overlay_color(k),
                dashed: s.dashed,
                marker: s.markers.then_some(k),
                band: false,
                halo: true,
            },
        })
        .collect();
    let n = p.categories.len();
    entries.extend(p.categories.iter().enumerate().map(|(k, name)| Entry {
        note: false,
        label: name.clone(),
        glyph: Glyph::Swatch(category_color(k, n)),
    }));
    let xs_ok = |i: &usize| tv(p.log_x, p.x_values[*i]).is_some();
    let ys_ok = |j: &usize| tv(p.log_y, p.y_values[*j]).is_some();
    let missing = (0..p.x_values.len()).filter(xs_ok).any(|i| {
        (0..p.y_values.len()).filter(ys_ok).any(|j| {
            !p.values
                .get(i)
                .and_then(|r| r.get(j))
                .is_some_and(|&v| has_colour(p, v))
        })
    });
    if missing {
        entries.push(Entry {
            note: false,
            label: if p.missing_label.is_empty() {
                "no data".into()
            } else {
                p.missing_label.clone()
            },
            glyph: Glyph::Swatch(MISSING_GREY),
        });
    }
    entries
}

pub(super) fn heatmap_panel<DB: DrawingBackend>(
    area: &Area<DB>,
    p: &HeatmapPanel,
    own_legend: bool,
    title_font: TitleFont,
) -> DrawResult<(), DB> {
    let area = titled(area, &p.title, title_font)?;
    let ex = cell_edges(&p.x_values, p.log_x);
    let ey = cell_edges(&p.y_values, p.log_y);
    let span = |e: &[Option<(f64, f64)>], log: bool| {
        let s = edges_span(e);
        if s.0 < s.1 {
            s
        } else {
            axis_range(log, None, std::iter::empty(), 0.0)
        }
    };
    let xa = Axis::new(span(&ex, p.log_x), p.log_x).at_grid(&p.x_values);
    let ya = Axis::new(span(&ey, p.log_y), p.log_y).at_grid(&p.y_values);
    let rect = Rect::of(&xa, &ya);
    let value = |i: usize, j: usize| {
        p.values
            .get(i)
            .and_then(|r| r.get(j))
            .copied()
            .unwrap_or(f64::NAN)
    };
    let shown: Vec<(usize, usize)> = (0..ex.len())
        .filter(|&i| ex[i].is_some())
        .flat_map(|i| {
            (0..ey.len())
                .filter(|&j| ey[j].is_some())
                .map(move |j| (i, j))
        })
        .collect();
    let finite: Vec<f64> = shown
        .iter()
        .map(|&(i, j)| value(i, j))
        .filter(|v| v.is_finite())
        .collect();
    let (vmin, vmax) = axis_range(false, p.value_range, finite.iter().copied(), 0.0);
    // Cells beyond a fixed scale take its end colour; the bar says so.
    let open = (
        finite.iter().any(|&v| v < vmin),
        finite.iter().any(|&v| v > vmax),
    );

    // Overlays and the legend (always under the panel: it would hide cells).
    let plot = frame_size(&area, &xa, &ya, &p.x_label, &p.y_label, 0).plot;
    let mut curves: Vec<Curve> = Vec::new();
    let mut marks: Vec<Marks> = Vec::new();
    for (k, s) in p.overlays.iter().enumerate() {
        let color = overlay_color(k);
        let mut points = Vec::new();
        for run in runs(&s.x, &s.y, &xa, &ya) {
            if s.markers || run.len() == 1 {
                points.extend(run.iter().copied());
            }
            for piece in clip_polyline(&run, &rect) {
                curves.push((color, s.dashed, thin(piece, &rect, plot)));
            }
        }
        points.retain(|q| rect.contains(*q));
        marks.push((k, color, points));
    }
    let entries = if own_legend {
        heatmap_entries(p)
    } else {
        Vec::new()
    };
    let place = plan_legend(&area, &entries, &[], (1, 1), false);
    let (area, strip) = legend_split(area, &place, below_height(&place));

    // Colour bar strip on the right (categories are named in the legend).
    let (w, h) = area.dim_in_pixel();
    let bar =
        (p.categories.is_empty()).then(|| ColourBar::new((vmin, vmax), open, h, &p.value_label));
    let (main, bar_area) = area.split_horizontally(w - bar.as_ref().map_or(0, |cb| cb.width(w)));

    let mut chart = frame(&main, xa, ya, &p.x_label, &p.y_label, false, 0)?;
    let mut rects = Vec::with_capacity(shown.len());
    for &(i, j) in &shown {
        let (Some((x0, x1)), Some((y0, y1))) = (ex[i], ey[j]) else {
            continue;
        };
        let v = value(i, j);
        let color = match category(p, v) {
            Some(k) => category_color(k, p.categories.len()),
            None if has_colour(p, v) => viridis((v - vmin) / (vmax - vmin)),
            None => MISSING_GREY,
        };
        rects.push(Rectangle::new([(x0, y0), (x1, y1)], color.filled()));
    }
    chart.draw_series(rects)?;
    for (_, _, piece) in &curves {
        chart.draw_series(LineSeries::new(
            piece.clone(),
            WHITE.stroke_width(LINE_W + 4),
        ))?;
    }
    for (color, dashed, piece) in curves {
        draw_curve(&mut chart, piece, color, LINE_W, dashed)?;
    }
    for (shape, color, points) in marks {
        chart.draw_series(points.iter().map(|&q| dot(q, WHITE, 9)))?;
        draw_markers(&mut chart, points, shape, color, 7)?;
    }
    draw_box(&chart)?;
    draw_legend(&chart, strip.as_ref(), &entries, &place)?;

    // The colour bar: a chart of its own, aligned with the main plot.
    let Some(cb) = bar else { return Ok(()) };
    let fs = frame_size(&main, &xa, &ya, &p.x_label, &p.y_label, 0);
    cb.draw(&bar_area, fs.x_area, &p.value_label)
}

/// The colour bar right of a heatmap: a viridis scale over the value range
/// and the size of its label area.
struct ColourBar {
    /// The value axis, over `vmin..vmax`.
    axis: Axis,
    /// The most labelled ticks.
    n: usize,
    /// The description, broken into lines that fit along the bar.
    desc: Vec<String>,
    /// The width of the tick labels and description right of the bar.
    label_area: u32,
}

impl ColourBar {
    /// Sizes the colour bar over `vmin..vmax` in a panel `h` pixels tall,
    /// described by `label`; `open` says which ends saturate (some value
    /// lies beyond them: labelled "≤ vmin" / "≥ vmax").
    fn new((vmin, vmax): (f64, f64), open: (bool, bool), h: u32, label: &str) -> Self {
        let cb_axis = Axis::new((vmin, vmax), false).open_ends(open.0, open.1);
        let bar_h = h.saturating_sub(2 * MARGIN + 80).max(60);
        let n_cb = ((f64::from(bar_h) / (TICK_PX * 2.4)) as usize).clamp(2, 10);
        let cb_lab = max_label_width(&cb_axis, n_cb);
        let desc = fit_lines(label, DESC_PX, bar_h).1;
        let extra = (desc.len() as u32 - 1) * line_h(DESC_PX) as u32;
        let cb_label_area = (2 * TICK_LEN) as u32 + cb_lab + 12 + DESC_PX as u32 + extra + 8;
        ColourBar {
            axis: cb_axis,
            n: n_cb,
            desc,
            label_area: cb_label_area,
        }
    }

    /// The width the colour bar strip takes from a panel `w` pixels wide.
    fn width(&self, w: u32) -> u32 {
        let bar_w = 30u32;
        (bar_w + self.label_area + MARGIN + 16).min(w / 3)
    }

    /// Draws the bar in `bar_area`, described by `label`; `x_area` is the
    /// main plot's x label area, so the bar lines up with the plot.
    fn draw<DB: DrawingBackend>(
        &self,
        bar_area: &Area<DB>,
        x_area: u32,
        label: &str,
    ) -> DrawResult<(), DB> {
        let (vmin, vmax) = (self.axis.a, self.axis.b);
        let mut bar = ChartBuilder::on(bar_area)
            .margin_top(MARGIN)
            .margin_bottom(MARGIN)
            .margin_left(8)
            .margin_right(MARGIN)
            .x_label_area_size(x_area)
            .set_label_area_size(LabelAreaPosition::Right, self.label_area)
            .build_cartesian_2d(RangedCoordf64::from(0.0..1.0), self.axis.with_n(self.n))?;
        let mut mesh = bar.configure_mesh();
        if self.desc.len() == 1 {
            mesh.y_desc(label);
        }
        mesh.disable_mesh()
            .disable_x_axis()
            .y_labels(self.n)
            .y_label_style(font(TICK_PX))
            .axis_desc_style(font(DESC_PX))
            .axis_style(BLACK.stroke_width(2))
            .set_all_tick_mark_size(TICK_LEN)
            .draw()?;
        if self.desc.len() > 1 {
            // Where the mesh puts a one-line description: along the right
            // edge of the label area, read top to bottom, the first line
            // outermost.
            let (_, yr) = bar.plotting_area().get_pixel_range();
            let (_, by) = bar_area.get_base_pixel();
            let (w, _) = bar_area.dim_in_pixel();
            let style = (font(DESC_PX).transform(FontTransform::Rotate90))
                .pos(Pos::new(HPos::Center, VPos::Top));
            let (x0, cy) = (w as i32 - MARGIN as i32, (yr.start + yr.end) / 2 - by);
            for (k, line) in self.desc.iter().enumerate() {
                bar_area.draw_text(line, &style, (x0 - k as i32 * line_h(DESC_PX), cy))?;
            }
        }
        let steps = 256;
        bar.draw_series((0..steps).map(|k| {
            let f0 = f64::from(k) / f64::from(steps);
            let f1 = f64::from(k + 1) / f64::from(steps);
            let (v0, v1) = (vmin + (vmax - vmin) * f0, vmin + (vmax - vmin) * f1);
            Rectangle::new([(0.0, v0), (1.0, v1)], viridis((f0 + f1) / 2.0).filled())
        }))?;
        draw_box(&bar)
    }
}

/// Overlay colours that stand out on viridis (with a white halo).
fn overlay_color(k: usize) -> RGBColor {
    const C: [RGBColor; 4] = [
        RGBColor(213, 94, 0),
        RGBColor(0, 0, 0),
        RGBColor(204, 121, 167),
        RGBColor(86, 180, 233),
    ];
    C[k % C.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::tests::check;
    use crate::plot::{heatmap_panels, Series};

    /// Low values are dark purple, high values yellow (viridis' ends).
    #[test]
    fn colour_map_runs_dark_to_bright() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        let luma =
            |c: RGBColor| 0.3 * f64::from(c.0) + 0.59 * f64::from(c.1) + 0.11 * f64::from(c.2);
        for k in 0..20 {
            let (a, b) = (f64::from(k) / 20.0, f64::from(k + 1) / 20.0);
            assert!(luma(viridis(a)) < luma(viridis(b)), "not brighter at {b}");
        }
    }

    /// Categories get one colour each and a legend swatch each, no
    /// colour bar; a value that indexes no category is drawn as missing.
    #[test]
    fn categories_are_named_in_the_legend_not_on_a_bar() {
        let panel = HeatmapPanel {
            x_values: vec![1.0, 2.0, 3.0],
            y_values: vec![1.0, 2.0],
            values: vec![vec![0.0, 2.0], vec![1.0, 1.5], vec![0.0, f64::NAN]],
            value_label: "regime code".into(),
            categories: vec!["benign".into(), "tempered".into(), "catastrophic".into()],
            ..Default::default()
        };
        let entries = heatmap_entries(&panel);
        let labels: Vec<&str> = entries.iter().map(|e| e.label.as_str()).collect();
        assert_eq!(labels, ["benign", "tempered", "catastrophic", "no data"]);
        assert_eq!(entries[0].glyph, Glyph::Swatch(viridis(0.0)));
        assert_eq!(entries[2].glyph, Glyph::Swatch(viridis(1.0)));
        let dir = tempfile::tempdir().unwrap();
        heatmap_panels(&dir.path().join("cat"), &[panel], 1).unwrap();
        let svg = std::fs::read_to_string(dir.path().join("cat.svg")).unwrap();
        assert!(!svg.contains("regime code"), "no colour bar: {svg}");
        // Cells: two benign (viridis' dark end), one catastrophic (its
        // bright end), two missing (1.5 and NaN).
        let fills = |c: &str| svg.to_uppercase().matches(&format!("FILL=\"{c}\"")).count();
        assert!(fills("#440154") >= 3, "benign cells and swatch");
        assert!(fills("#FDE725") >= 2, "catastrophic cell and swatch");
        assert!(fills("#C8C8C8") >= 3, "missing cells and swatch");
    }

    /// Cells clamped to a fixed scale: the colour bar's ends say "≤" / "≥",
    /// and the lowest cell has the low end's colour.
    #[test]
    fn saturated_colour_bar_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("sat");
        let panel = HeatmapPanel {
            x_values: vec![1.0, 2.0],
            y_values: vec![1.0, 2.0],
            values: vec![vec![-10.0, -4.0], vec![-2.0, 0.0]],
            value_label: "log10 error".into(),
            value_range: Some((-8.0, 0.5f64.log10())),
            ..Default::default()
        };
        heatmap_panels(&stem, &[panel], 1).unwrap();
        let svg = std::fs::read_to_string(dir.path().join("sat.svg")).unwrap();
        assert!(svg.contains("≤ -8"), "{svg}");
        assert!(svg.contains("≥ -0.301"), "{svg}");
        assert!(svg.to_uppercase().contains("FILL=\"#440154\""), "{svg}");
    }

    #[test]
    fn heatmap_panels_writes_png_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("heat");
        let xs: Vec<f64> = (0..8).map(|i| 1e-3 * 3f64.powi(i)).collect();
        let ys: Vec<f64> = (0..6).map(|i| 1e-4 * 4f64.powi(i)).collect();
        let values: Vec<Vec<f64>> = xs
            .iter()
            .enumerate()
            .map(|(i, _)| {
                (0..ys.len())
                    .map(|j| if i + j == 3 { f64::NAN } else { (i * j) as f64 })
                    .collect()
            })
            .collect();
        let panel = HeatmapPanel {
            title: "grokking time".into(),
            x_label: "alpha".into(),
            y_label: "omega".into(),
            x_values: xs.clone(),
            y_values: ys,
            values,
            value_label: "log10(t + 1)".into(),
            missing_label: String::new(),
            value_range: None,
            categories: Vec::new(),
            log_x: true,
            log_y: true,
            overlays: vec![Series {
                label: "boundary".into(),
                x: xs.clone(),
                y: xs.iter().map(|a| a * 0.1).collect(),
                dashed: true,
                ..Default::default()
            }],
        };
        heatmap_panels(&stem, &[panel], 1).unwrap();
        check(&stem);
    }
}
