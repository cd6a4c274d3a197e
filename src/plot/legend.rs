//! Legends: entries and their glyphs, placement in a free plot corner or a
//! strip, and drawing.

use plotters::element::IntoDynElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::elements::{dot, is_circle, marker, marker_outline};
use super::geometry::Rect;
use super::reference::RefKind;
use super::style::{font, text_w, wrap, LEGEND_PX, LINE_W, MARGIN, REF_GREY, REF_W};
use super::{Area, Chart, DrawResult};

/// Rows and columns of a legend strip `width` pixels wide.
/// The most columns whose widths (each its widest entry, as [`draw_strip`]
/// lays them out) fit, so one long entry does not force a single column.
/// Notes (what a panel could not show in place) are not in the grid: each
/// takes a row of its own under it.
pub(super) fn strip_grid(entries: &[Entry], width: u32) -> (usize, usize) {
    let entries = &wrap_notes(entries, width);
    let notes = entries.iter().filter(|e| e.note).count();
    let entries: Vec<&Entry> = entries.iter().filter(|e| !e.note).collect();
    let widths: Vec<i32> = entries.iter().map(|e| entry_w(e)).collect();
    let avail = width as i32 - 2 * MARGIN as i32;
    let fits = |c: usize| {
        let cols: i32 = (0..c)
            .map(|k| widths.iter().skip(k).step_by(c).copied().max().unwrap_or(0) + LEG_GAP)
            .sum();
        cols <= avail
    };
    let cols = (1..=entries.len().max(1))
        .rev()
        .find(|&c| c == 1 || fits(c))
        .unwrap_or(1);
    (entries.len().div_ceil(cols) + notes, cols)
}

/// The height of a legend strip with `rows` rows.
pub(super) fn strip_h(rows: usize) -> u32 {
    (rows as i32 * legend_row_h() + LEG_PAD) as u32
}

/// What a legend entry shows left of its label.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) enum Glyph {
    Curve {
        color: RGBColor,
        dashed: bool,
        marker: Option<usize>,
        band: bool,
        halo: bool,
    },
    Marker {
        shape: usize,
        color: RGBColor,
    },
    Swatch(RGBColor),
    Bar(RGBColor),
    /// A reference line's grey stroke, as the plot draws its kind.
    Reference(RefKind),
    /// None: a note in words alone (a panel's `notes`), its text where a
    /// glyph's label would start, so it lines up with the entries above.
    Blank,
}

#[derive(Clone, PartialEq, Debug)]
pub(super) struct Entry {
    /// A note on what the panel could not show in place (values drawn at
    /// an axis limit, reference lines off the axis), not a series: it takes
    /// a row of its own under the legend's grid.
    pub(super) note: bool,
    pub(super) label: String,
    pub(super) glyph: Glyph,
}

const GLYPH_W: i32 = 44;
const LEG_PAD: i32 = 12;
const LEG_GAP: i32 = 28;

fn legend_row_h() -> i32 {
    (LEGEND_PX * 1.45).round() as i32
}

/// A note in words alone (see [`Glyph::Blank`]), under the legend's grid.
pub(super) fn text_note(text: &str) -> Entry {
    Entry {
        note: true,
        label: text.to_string(),
        glyph: Glyph::Blank,
    }
}

/// `entries` with every note too wide for a strip `width` pixels wide
/// broken into notes of one line each (the first keeps the glyph): at the
/// legend's size a long note ran past the figure's edge.
pub(super) fn wrap_notes(entries: &[Entry], width: u32) -> Vec<Entry> {
    let avail = width.saturating_sub(2 * MARGIN + (GLYPH_W + 10) as u32);
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        if !e.note || text_w(&e.label, LEGEND_PX) <= avail {
            out.push(e.clone());
            continue;
        }
        for (k, line) in wrap(&e.label, LEGEND_PX, avail).into_iter().enumerate() {
            let glyph = if k == 0 { e.glyph } else { Glyph::Blank };
            out.push(Entry {
                note: true,
                label: line,
                glyph,
            });
        }
    }
    out
}

pub(super) fn entry_w(e: &Entry) -> i32 {
    GLYPH_W + 10 + text_w(&e.label, LEGEND_PX) as i32
}

/// Where a panel's legend goes.
pub(super) enum LegendPlace {
    None,
    /// Inside the plot, in the corner (right?, top?).
    Inside(bool, bool),
    /// In a strip under the panel, `cols` entries a row, `height` pixels tall.
    Below {
        cols: usize,
        height: u32,
    },
}

/// Points along a polyline (normalised to the plot) for legend placement.
pub(super) fn sample_polyline(pts: &[(f64, f64)], r: &Rect, out: &mut Vec<(f64, f64)>) {
    if let [p] = pts {
        out.push(r.norm(*p));
    }
    for w in pts.windows(2) {
        for k in 0..12 {
            let t = f64::from(k) / 12.0;
            out.push(r.norm((
                w[0].0 + (w[1].0 - w[0].0) * t,
                w[0].1 + (w[1].1 - w[0].1) * t,
            )));
        }
    }
    if let Some(p) = pts.last() {
        out.push(r.norm(*p));
    }
}

/// Puts the legend in a plot corner that no drawn point (normalised
/// `occupied`) falls under, else in a strip below the panel. `plot` is the
/// plot's approximate size in pixels.
pub(super) fn plan_legend<DB: DrawingBackend>(
    area: &Area<DB>,
    entries: &[Entry],
    occupied: &[(f64, f64)],
    plot: (u32, u32),
    inside_ok: bool,
) -> LegendPlace {
    if entries.is_empty() {
        return LegendPlace::None;
    }
    let widest = entries.iter().map(entry_w).max().unwrap_or(0);
    if inside_ok {
        let bw = f64::from(widest + 2 * LEG_PAD + 12);
        let bh = f64::from(entries.len() as i32 * legend_row_h() + 2 * LEG_PAD + 12);
        let (fw, fh) = (bw / f64::from(plot.0.max(1)), bh / f64::from(plot.1.max(1)));
        if fw < 0.75 && fh < 0.7 {
            for (right, top) in [(true, true), (false, true), (true, false), (false, false)] {
                let (x0, x1) = if right { (1.0 - fw, 1.01) } else { (-0.01, fw) };
                let (y0, y1) = if top { (1.0 - fh, 1.01) } else { (-0.01, fh) };
                if !occupied
                    .iter()
                    .any(|&(x, y)| x >= x0 && x <= x1 && y >= y0 && y <= y1)
                {
                    return LegendPlace::Inside(right, top);
                }
            }
        }
    }
    let (rows, cols) = strip_grid(entries, area.dim_in_pixel().0);
    LegendPlace::Below {
        cols,
        height: strip_h(rows),
    }
}

/// The height of the strip a legend placed below takes (0: none).
pub(super) fn below_height(place: &LegendPlace) -> u32 {
    match place {
        LegendPlace::Below { height, .. } => *height,
        _ => 0,
    }
}

/// Splits off the `cut` pixels under the plot: the strip for a legend
/// placed below (its top part, when `cut` is taller), or blank space that
/// lines the plot up with its row's; returns (plot area, legend strip).
pub(super) fn legend_split<DB: DrawingBackend>(
    area: Area<DB>,
    place: &LegendPlace,
    cut: u32,
) -> (Area<DB>, Option<Area<DB>>) {
    if cut == 0 {
        return (area, None);
    }
    let (_, h) = area.dim_in_pixel();
    let (main, strip) = area.split_vertically(h.saturating_sub(cut));
    match place {
        LegendPlace::Below { .. } => (main, Some(strip)),
        _ => (main, None),
    }
}

fn draw_entry<DB: DrawingBackend>(
    area: &Area<DB>,
    e: &Entry,
    (x, y): (i32, i32),
) -> DrawResult<(), DB> {
    match e.glyph {
        Glyph::Curve {
            color,
            dashed,
            marker: m,
            band,
            halo,
        } => {
            area.draw(&legend_glyph((x, y), color, dashed, m, band, halo).into_dyn())?;
        }
        Glyph::Marker { shape, color } if is_circle(shape) => {
            area.draw(&dot((x + GLYPH_W / 2, y), color, 8))?
        }
        Glyph::Marker { shape, color } => {
            area.draw(&marker((x + GLYPH_W / 2, y), shape, color, 8))?
        }
        Glyph::Swatch(color) => area.draw(&Rectangle::new(
            [(x + 6, y - 11), (x + GLYPH_W - 6, y + 11)],
            color.filled(),
        ))?,
        Glyph::Bar(color) => {
            let r = [(x + 6, y - 11), (x + GLYPH_W - 6, y + 11)];
            area.draw(&Rectangle::new(r, color.mix(0.28).filled()))?;
            area.draw(&Rectangle::new(r, color.stroke_width(LINE_W)))?;
        }
        Glyph::Reference(kind) => {
            let (dash, gap) = kind.dash();
            let (dot, step) = (dash as i32, (dash + gap) as usize);
            for a in (0..GLYPH_W).step_by(step) {
                let ends = vec![(x + a, y), (x + (a + dot).min(GLYPH_W), y)];
                area.draw(&PathElement::new(ends, REF_GREY.stroke_width(REF_W)))?;
            }
        }
        Glyph::Blank => {}
    }
    let style = font(LEGEND_PX).pos(Pos::new(HPos::Left, VPos::Center));
    area.draw_text(&e.label, &style, (x + GLYPH_W + 10, y))
}

/// Draws the legend where `place` says: inside `chart`'s plot or in `strip`.
pub(super) fn draw_legend<'a, DB: DrawingBackend + 'a>(
    chart: &Chart<'a, DB>,
    strip: Option<&Area<DB>>,
    entries: &[Entry],
    place: &LegendPlace,
) -> DrawResult<(), DB> {
    let row = legend_row_h();
    match *place {
        LegendPlace::None => Ok(()),
        LegendPlace::Inside(right, top) => {
            let pa = chart.plotting_area().strip_coord_spec();
            let (pw, ph) = pa.dim_in_pixel();
            let widest = entries.iter().map(entry_w).max().unwrap_or(0);
            let (bw, bh) = (
                widest + 2 * LEG_PAD,
                entries.len() as i32 * row + 2 * LEG_PAD - row / 4,
            );
            let x0 = if right { pw as i32 - bw - 10 } else { 10 };
            let y0 = if top { 10 } else { ph as i32 - bh - 10 };
            pa.draw(&Rectangle::new(
                [(x0, y0), (x0 + bw, y0 + bh)],
                WHITE.mix(0.9).filled(),
            ))?;
            pa.draw(&Rectangle::new(
                [(x0, y0), (x0 + bw, y0 + bh)],
                BLACK.mix(0.4).stroke_width(1),
            ))?;
            for (k, e) in entries.iter().enumerate() {
                draw_entry(
                    &pa,
                    e,
                    (x0 + LEG_PAD, y0 + LEG_PAD + k as i32 * row + row * 3 / 8),
                )?;
            }
            Ok(())
        }
        LegendPlace::Below { cols, .. } => match strip {
            Some(strip) => draw_strip(strip, entries, cols),
            None => Ok(()),
        },
    }
}

/// Entries in a grid of `cols` columns, centred in `strip`.
pub(super) fn draw_strip<DB: DrawingBackend>(
    strip: &Area<DB>,
    entries: &[Entry],
    cols: usize,
) -> DrawResult<(), DB> {
    let row = legend_row_h();
    let cols = cols.max(1);
    let (w, _) = strip.dim_in_pixel();
    let entries = &wrap_notes(entries, w);
    let (notes, entries): (Vec<&Entry>, Vec<&Entry>) = entries.iter().partition(|e| e.note);
    let widths: Vec<i32> = entries.iter().map(|e| entry_w(e)).collect();
    // Column widths: the widest entry of each column.
    let col_w: Vec<i32> = (0..cols)
        .map(|c| {
            widths
                .iter()
                .skip(c)
                .step_by(cols)
                .copied()
                .max()
                .unwrap_or(0)
        })
        .collect();
    let total: i32 = col_w.iter().sum::<i32>() + LEG_GAP * (cols as i32 - 1);
    let left = ((w as i32 - total) / 2).max(MARGIN as i32);
    for (k, e) in entries.iter().enumerate() {
        let (r, c) = ((k / cols) as i32, k % cols);
        let x = left + col_w[..c].iter().sum::<i32>() + LEG_GAP * c as i32;
        draw_entry(strip, e, (x, r * row + row / 2 + 2))?;
    }
    let grid_rows = entries.len().div_ceil(cols) as i32;
    // One x for all notes, so the lines of a wrapped note line up.
    let x = (notes.iter())
        .map(|e| left.min(((w as i32 - entry_w(e)) / 2).max(MARGIN as i32)))
        .min()
        .unwrap_or(left);
    for (k, e) in notes.iter().enumerate() {
        draw_entry(strip, e, (x, (grid_rows + k as i32) * row + row / 2 + 2))?;
    }
    Ok(())
}

/// The legend glyph of a curve: optional band swatch, solid or dashed line,
/// optional marker; `halo` adds a white outline under the line. Absent parts
/// are drawn fully transparent, which both backends skip.
fn legend_glyph<'a, DB: DrawingBackend + 'a>(
    c: (i32, i32),
    color: RGBColor,
    dashed: bool,
    marker_shape: Option<usize>,
    band: bool,
    halo: bool,
) -> impl IntoDynElement<'a, DB, (i32, i32)> {
    let none = ShapeStyle::from(&WHITE.mix(0.0));
    let line = color.stroke_width(LINE_W);
    let seg = |a: i32, b: i32, on: bool| {
        PathElement::new(vec![(a, 0), (b, 0)], if on { line } else { none })
    };
    let (s1, s2, s3) = if dashed {
        (seg(0, 12, true), seg(20, 32, true), seg(40, 44, true))
    } else {
        (seg(0, 44, true), seg(0, 0, false), seg(0, 0, false))
    };
    let swatch = Rectangle::new(
        [(0, -10), (44, 10)],
        if band { color.mix(0.2).filled() } else { none },
    );
    let under = PathElement::new(
        vec![(0, 0), (44, 0)],
        if halo {
            WHITE.stroke_width(LINE_W + 4)
        } else {
            none
        },
    );
    let mark: Vec<(i32, i32)> = marker_shape
        .map(|m| {
            marker_outline(m, 7)
                .into_iter()
                .map(|(x, y)| (x + 22, y))
                .collect()
        })
        .unwrap_or_default();
    let mut edge = mark.clone();
    edge.extend(mark.first().copied());
    let edge_style = if mark.is_empty() {
        none
    } else {
        WHITE.stroke_width(1)
    };
    EmptyElement::at(c)
        + swatch
        + under
        + s1
        + s2
        + s3
        + Polygon::new(mark, color.filled())
        + PathElement::new(edge, edge_style)
}
