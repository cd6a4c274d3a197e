//! The frame of a panel: title, axes with grid, ticks and labels, and the
//! box around the plot.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axes::Axis;
use super::style::{
    fit_lines, font, line_h, text_w, wrap, DESC_PX, MARGIN, TICK_LEN, TICK_PX, TITLE_PX,
};
use super::{Area, Chart, DrawResult};

/// The titles' font of a figure: one size, and the lines the longest
/// title takes at it (every panel keeps that many, so that its plot lines
/// up with its neighbours').
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct TitleFont {
    pub(super) px: f64,
    pub(super) lines: usize,
}

/// The panel area below its title, drawn in `tf` (`title_font`: one for
/// every panel of a figure).
pub(super) fn titled<DB: DrawingBackend>(
    area: &Area<DB>,
    title: &str,
    tf: TitleFont,
) -> DrawResult<Area<DB>, DB> {
    if title.trim().is_empty() {
        return Ok(area.margin(MARGIN / 2, 0, 0, 0));
    }
    let area = area.margin(MARGIN / 2, 0, 0, 0);
    if tf.lines < 2 {
        return area.titled(title, font(tf.px));
    }
    let (w, _) = area.dim_in_pixel();
    let pad = 5;
    let step = line_h(tf.px);
    let style = font(tf.px).pos(Pos::new(HPos::Center, VPos::Top));
    for (k, line) in title_lines(title, tf.px, w).iter().enumerate() {
        area.draw_text(line, &style, (w as i32 / 2, pad + k as i32 * step))?;
    }
    let top = 2 * pad + (tf.lines as i32 - 1) * step + tf.px.round() as i32;
    Ok(area.margin(top.max(0) as u32, 0, 0, 0))
}

/// `title` in a panel `width` pixels wide at `px`: one line if it fits.
fn title_lines(title: &str, px: f64, width: u32) -> Vec<String> {
    let avail = width.saturating_sub(2 * MARGIN);
    if text_w(title, px) <= avail {
        return vec![title.to_string()];
    }
    wrap(title, px, avail)
}

/// The title font of a figure whose panels are `width` pixels wide: the
/// largest size, up to `TITLE_PX`, at which every title fits, not below
/// `MIN_TEXT_PX` (a longer title is broken into lines). One size for all,
/// so a longer title does not make its panel's smaller than its
/// neighbours'.
pub(super) fn title_font<'a>(titles: impl Iterator<Item = &'a str>, width: u32) -> TitleFont {
    let titles: Vec<&str> = titles.filter(|t| !t.trim().is_empty()).collect();
    let avail = width.saturating_sub(2 * MARGIN);
    let px = (titles.iter())
        .map(|t| fit_lines(t, TITLE_PX, avail).0)
        .fold(TITLE_PX, f64::min);
    let lines = (titles.iter())
        .map(|t| title_lines(t, px, width).len())
        .max()
        .unwrap_or(1);
    TitleFont { px, lines }
}

pub(super) fn max_label_width(axis: &Axis, n: usize) -> u32 {
    let ax = axis.with_n(n);
    ax.ticks(n)
        .iter()
        .map(|&t| text_w(&ax.label(t), TICK_PX))
        .max()
        .unwrap_or(0)
}

/// Label-area sizes that fit the axes' tick labels and descriptions.
pub(super) struct FrameSize {
    nx: usize,
    ny: usize,
    pub(super) x_area: u32,
    y_area: u32,
    /// The axis descriptions, broken into lines that fit along the plot
    /// at `DESC_PX`.
    x_desc: Vec<String>,
    y_desc: Vec<String>,
    /// Extra right margin for a last x label that overhangs the plot.
    overhang: u32,
    /// The plot's approximate size in pixels (for legend placement).
    pub(super) plot: (u32, u32),
}

/// Chooses tick counts so that labels do not overlap, and label-area sizes
/// that hold them; `right` pixels are kept free on the right (colour bar).
pub(super) fn frame_size<DB: DrawingBackend>(
    area: &Area<DB>,
    x: &Axis,
    y: &Axis,
    x_desc: &str,
    y_desc: &str,
    right: u32,
) -> FrameSize {
    let (w, h) = area.dim_in_pixel();
    let desc_gap = 10;
    // Each extra line of a description takes room from the plot across
    // it, which may wrap the other axis' description: settle in turns.
    let extra = |lines: &[String]| (lines.len().max(1) as u32 - 1) * line_h(DESC_PX) as u32;
    let mut x_lines = vec![x_desc.to_string()];
    let (mut x_area, mut y_lines, mut ny, mut y_area, mut plot_w);
    loop {
        x_area = (2 * TICK_LEN) as u32
            + TICK_PX as u32
            + desc_gap
            + DESC_PX as u32
            + extra(&x_lines)
            + 8;
        let plot_h = h.saturating_sub(2 * MARGIN + x_area).max(60);
        y_lines = fit_lines(y_desc, DESC_PX, plot_h).1;
        ny = ((f64::from(plot_h) / (TICK_PX * 2.4)) as usize).clamp(2, 10);
        let y_lab = max_label_width(y, ny);
        y_area = (2 * TICK_LEN) as u32 + y_lab + desc_gap + DESC_PX as u32 + extra(&y_lines) + 12;
        plot_w = w.saturating_sub(2 * MARGIN + y_area + right).max(60);
        let wrapped = fit_lines(x_desc, DESC_PX, plot_w).1;
        if wrapped.len() <= x_lines.len() {
            break;
        }
        x_lines = wrapped;
    }
    let mut nx = ((plot_w / 90) as usize).clamp(2, 10);
    while nx > 2 {
        let ax = x.with_n(nx);
        let ticks = ax.ticks(nx);
        let widest = max_label_width(x, nx);
        // Labels are centred on ticks: neighbours need a gap of a third of a label.
        let need = (ticks.len() as f64) * (f64::from(widest) * 1.35 + 10.0);
        if need <= f64::from(plot_w) {
            break;
        }
        nx -= 1;
    }
    let xn = x.with_n(nx);
    let overhang = xn.ticks(nx).last().map_or(0.0, |&t| {
        let half = f64::from(text_w(&xn.label(t), TICK_PX)) / 2.0;
        half + 4.0 - f64::from(MARGIN) - (1.0 - xn.frac(t)) * f64::from(plot_w)
    });
    let overhang = overhang.max(0.0).ceil() as u32;
    FrameSize {
        nx,
        ny,
        x_area,
        y_area,
        x_desc: x_lines,
        y_desc: y_lines,
        overhang,
        plot: (
            w.saturating_sub(2 * MARGIN + y_area + right),
            h.saturating_sub(2 * MARGIN + x_area),
        ),
    }
}

/// Builds a chart over `x` by `y`, draws its grid, ticks, labels and frame.
pub(super) fn frame<'a, DB: DrawingBackend>(
    area: &'a Area<DB>,
    x: Axis,
    y: Axis,
    x_desc: &str,
    y_desc: &str,
    grid: bool,
    right: u32,
) -> DrawResult<Chart<'a, DB>, DB> {
    let fs = frame_size(area, &x, &y, x_desc, y_desc, right);
    let mut chart = ChartBuilder::on(area)
        .margin(MARGIN)
        .margin_right(MARGIN + right + fs.overhang)
        .x_label_area_size(fs.x_area)
        .y_label_area_size(fs.y_area)
        .build_cartesian_2d(x.with_n(fs.nx), y.with_n(fs.ny))?;
    let mut mesh = chart.configure_mesh();
    // A one-line description is the mesh's; a wrapped one is drawn below.
    if fs.x_desc.len() == 1 {
        mesh.x_desc(x_desc);
    }
    if fs.y_desc.len() == 1 {
        mesh.y_desc(y_desc);
    }
    mesh.x_labels(fs.nx)
        .y_labels(fs.ny)
        .x_label_style(font(TICK_PX))
        .y_label_style(font(TICK_PX))
        .axis_desc_style(font(DESC_PX))
        .axis_style(BLACK.stroke_width(2))
        .bold_line_style(BLACK.mix(0.13))
        .light_line_style(BLACK.mix(0.05))
        .set_all_tick_mark_size(TICK_LEN);
    if !grid {
        mesh.disable_mesh();
    }
    mesh.draw()?;
    draw_wrapped_descs(area, &chart, &fs)?;
    Ok(chart)
}

/// The axis descriptions of more than one line, where the mesh puts a
/// one-line one: across the bottom of the x label area and along the left
/// edge of the y label area, centred on the plot.
fn draw_wrapped_descs<DB: DrawingBackend>(
    area: &Area<DB>,
    chart: &Chart<'_, DB>,
    fs: &FrameSize,
) -> DrawResult<(), DB> {
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    let (bx, by) = area.get_base_pixel();
    let (_, h) = area.dim_in_pixel();
    let step = line_h(DESC_PX);
    if fs.x_desc.len() > 1 {
        let style = font(DESC_PX).pos(Pos::new(HPos::Center, VPos::Bottom));
        let (cx, n) = ((xr.start + xr.end) / 2 - bx, fs.x_desc.len() as i32);
        for (k, line) in fs.x_desc.iter().enumerate() {
            let y = h as i32 - MARGIN as i32 - (n - 1 - k as i32) * step;
            area.draw_text(line, &style, (cx, y))?;
        }
    }
    if fs.y_desc.len() > 1 {
        let style = (font(DESC_PX).transform(FontTransform::Rotate270))
            .pos(Pos::new(HPos::Center, VPos::Top));
        let cy = (yr.start + yr.end) / 2 - by;
        for (k, line) in fs.y_desc.iter().enumerate() {
            area.draw_text(line, &style, (MARGIN as i32 + k as i32 * step, cy))?;
        }
    }
    Ok(())
}

/// A box around the plotting area (of a panel, or of a colour bar).
pub(super) fn draw_box<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &ChartContext<'a, DB, CT>,
) -> DrawResult<(), DB> {
    let pa = chart.plotting_area().strip_coord_spec();
    let (w, h) = pa.dim_in_pixel();
    pa.draw(&Rectangle::new(
        [(0, 0), (w as i32 - 1, h as i32 - 1)],
        BLACK.stroke_width(2),
    ))?;
    Ok(())
}

/// Tick counts a built chart uses (the mesh's choice, for extra grid lines).
pub(super) trait TickCounts {
    fn x_range_n(&self) -> usize;
    fn y_range_n(&self) -> usize;
}

impl<DB: DrawingBackend> TickCounts for Chart<'_, DB> {
    fn x_range_n(&self) -> usize {
        self.as_coord_spec().x_spec().n
    }
    fn y_range_n(&self) -> usize {
        self.as_coord_spec().y_spec().n
    }
}
