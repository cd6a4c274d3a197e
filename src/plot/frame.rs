//! The frame of a panel: title, axes with grid, ticks and labels, and the
//! box around the plot.

use plotters::prelude::*;

use super::axes::Axis;
use super::style::{fit_font, font, text_w, DESC_PX, MARGIN, TICK_LEN, TICK_PX, TITLE_PX};
use super::{Area, Chart, DrawResult};

/// The panel area below its title, drawn at `px` (`title_px`: one size for
/// every panel of a figure).
pub(super) fn titled<DB: DrawingBackend>(
    area: &Area<DB>,
    title: &str,
    px: f64,
) -> DrawResult<Area<DB>, DB> {
    if title.trim().is_empty() {
        return Ok(area.margin(MARGIN / 2, 0, 0, 0));
    }
    let area = area.margin(MARGIN / 2, 0, 0, 0);
    area.titled(title, font(px))
}

/// The title size of a figure whose panels are `width` pixels wide: the
/// largest, up to `TITLE_PX`, at which every title fits (not below 18 px).
/// One size for all, so a longer title does not make its panel's smaller
/// than its neighbours'.
pub(super) fn title_px<'a>(titles: impl Iterator<Item = &'a str>, width: u32) -> f64 {
    titles
        .filter(|t| !t.trim().is_empty())
        .map(|t| fit_font(t, TITLE_PX, 18.0, width.saturating_sub(2 * MARGIN)))
        .fold(TITLE_PX, f64::min)
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
    x_desc_px: f64,
    y_desc_px: f64,
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
    let x_area = (2 * TICK_LEN) as u32 + TICK_PX as u32 + desc_gap + DESC_PX as u32 + 8;
    let plot_h = h.saturating_sub(2 * MARGIN + x_area).max(60);
    let y_desc_px = fit_font(y_desc, DESC_PX, 16.0, plot_h);
    let ny = ((f64::from(plot_h) / (TICK_PX * 2.4)) as usize).clamp(2, 10);
    let y_lab = max_label_width(y, ny);
    let y_area = (2 * TICK_LEN) as u32 + y_lab + desc_gap + y_desc_px as u32 + 12;
    let plot_w = w.saturating_sub(2 * MARGIN + y_area + right).max(60);
    let x_desc_px = fit_font(x_desc, DESC_PX, 16.0, plot_w);
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
        x_desc_px,
        y_desc_px,
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
    mesh.x_labels(fs.nx)
        .y_labels(fs.ny)
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_style(font(TICK_PX))
        .y_label_style(font(TICK_PX))
        .axis_desc_style(font(fs.x_desc_px.min(fs.y_desc_px)))
        .axis_style(BLACK.stroke_width(2))
        .bold_line_style(BLACK.mix(0.13))
        .light_line_style(BLACK.mix(0.05))
        .set_all_tick_mark_size(TICK_LEN);
    if !grid {
        mesh.disable_mesh();
    }
    mesh.draw()?;
    Ok(chart)
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
