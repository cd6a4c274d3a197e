//! Reference labels in the right margin, outside the axes: the fallback
//! for a label that has no free box in its plot, on its line or in a
//! callout whose leader crosses no data. A callout hung far from its
//! line on a leader across the curves (the label-noise `error_vs_n`
//! figures) was hard to pair with its line, and a label sent to the
//! figure's legend was named far from its line; at the line's end,
//! outside the plot, no data is in the way.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::legend::Entry;
use super::reference::PlacedReference;
use super::style::{font, line_h, text_w, wrap, NOTE_PX, REF_GREY};
use super::{Chart, DrawResult};

/// The widest line of a margin label, in pixels: a label breaks into lines
/// this wide (about 15 characters at the notes' size), so that the margin
/// takes an eighth of a two-panel figure's width, not the third a
/// one-line label would.
const MAX_LINE_W: u32 = 200;

/// The gap between the plot's right edge and a margin label's text.
const TEXT_DX: i32 = 20;

/// The vertical gap between stacked margin labels, in plot fractions of a
/// plot `plot_h` pixels tall: 6 px.
pub(super) fn stack_gap(plot_h: u32) -> f64 {
    6.0 / f64::from(plot_h.max(1))
}

/// The shortest leader drawn, in pixels. A label this near its line reads
/// as its own without one, and a shorter leader (a callout moved an eighth
/// of its height off its line) read as a stray tick mark.
const MIN_LEADER_PX: i32 = 12;

/// Whether a leader `px` pixels long (either way) is drawn.
pub(super) fn draws_leader(px: i32) -> bool {
    px.abs() >= MIN_LEADER_PX
}

/// `label` broken into the lines of a margin label.
pub(super) fn margin_lines(label: &str) -> Vec<String> {
    wrap(label, NOTE_PX, MAX_LINE_W)
}

/// The margin (pixels right of the plot) that label `lines` need: the
/// gap and the widest line, and a few pixels to the panel's edge.
pub(super) fn margin_need(lines: &[String]) -> u32 {
    let widest = lines.iter().map(|l| text_w(l, NOTE_PX)).max().unwrap_or(0);
    widest + TEXT_DX as u32 + 6
}

/// A margin label's height in pixels: its lines and the 8 px a box
/// in the plot keeps too.
pub(super) fn margin_h(lines: &[String]) -> f64 {
    NOTE_PX + 8.0 + f64::from(line_h(NOTE_PX)) * (lines.len().max(1) - 1) as f64
}

/// The centres (plot fractions) of margin labels `h` tall for lines at
/// `f`, each `(f, h)`: each as near its line's height as the others let
/// it, in the lines' order from the top, inside the plot's height, with
/// `gap` between neighbours; None when they do not fit one above the
/// other (the labels then go to the figure's legend). A label moved off
/// its line's height is joined to it by a short leader in the margin,
/// where no data runs.
pub(super) fn stack(wanted: &[(f64, f64)], gap: f64) -> Option<Vec<f64>> {
    let mut order: Vec<usize> = (0..wanted.len()).collect();
    order.sort_by(|&a, &b| wanted[b].0.total_cmp(&wanted[a].0));
    let total: f64 =
        wanted.iter().map(|w| w.1).sum::<f64>() + gap * wanted.len().saturating_sub(1) as f64;
    if total > 1.0 {
        return None;
    }
    let mut centre = vec![0.0; wanted.len()];
    // Down from the top: under the top edge and under the label above.
    let mut floor = 1.0 + gap;
    for &i in &order {
        let (f, h) = wanted[i];
        centre[i] = f.min(floor - gap - h / 2.0);
        floor = centre[i] - h / 2.0;
    }
    // Up from the bottom: over the bottom edge and over the label below.
    let mut ceil = -gap;
    for &i in order.iter().rev() {
        let h = wanted[i].1;
        centre[i] = centre[i].max(ceil + gap + h / 2.0);
        ceil = centre[i] + h / 2.0;
    }
    Some(centre)
}

/// Places the labels `rest` (each with its legend entry and its line's
/// plot fraction) that found no box in a plot `plot` pixels in size: in
/// the right margin, `margin` pixels wide, stacked near their lines'
/// heights (`stack`); where it is too narrow, none this time and `asks`
/// raised to the width they need (the figure is drawn again with it).
/// Their entries go to `unplaced` (the figure's legend names them) where
/// they do not fit one above the other, or where the margin they need
/// would take over a third of the plot's width without it: in a
/// three-panel row, a margin for a three-line label left plots a third of
/// their width, their x axes cramped, for a name the legend gave as well.
pub(super) fn margin_or_legend(
    rest: Vec<(Entry, f64, &mut PlacedReference)>,
    (plot_w, plot_h): (u32, u32),
    (margin, asks): (u32, &mut u32),
    unplaced: &mut Vec<Entry>,
) {
    let lines: Vec<Vec<String>> = rest.iter().map(|r| margin_lines(r.2.label)).collect();
    let need = lines.iter().map(|l| margin_need(l)).max().unwrap_or(0);
    if need > (plot_w + margin) / 3 {
        unplaced.extend(rest.into_iter().map(|r| r.0));
        return;
    }
    if need > margin {
        *asks = (*asks).max(need);
        return;
    }
    let wanted: Vec<(f64, f64)> = (rest.iter().zip(&lines))
        .map(|(r, l)| (r.1, margin_h(l) / f64::from(plot_h.max(1))))
        .collect();
    match stack(&wanted, stack_gap(plot_h)) {
        Some(centres) => {
            for ((_, _, r), (c, l)) in rest.into_iter().zip(centres.into_iter().zip(lines)) {
                (r.margin, r.lines) = (Some(c), l);
            }
        }
        None => unplaced.extend(rest.into_iter().map(|r| r.0)),
    }
}

/// Draws a margin label: `lines` right of the plot's right edge `x1`,
/// centred on height `at` (transformed coordinates), and where that is off
/// its line's height `t` (`draws_leader`), a leader from the line's end to
/// the text: a stub out of the frame at the line's height, then a slant,
/// so that it leaves the frame where the line ends, not where a curve
/// crowding that end does.
pub(super) fn draw_margin_label<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    (x1, t, at): (f64, f64, f64),
    lines: Vec<String>,
) -> DrawResult<(), DB> {
    let (_, line_y) = chart.backend_coord(&(x1, t));
    let (_, text_y) = chart.backend_coord(&(x1, at));
    let dy = text_y - line_y;
    if draws_leader(dy) {
        let path = vec![(3, 0), (8, 0), (TEXT_DX - 4, dy)];
        chart.draw_series(std::iter::once(
            EmptyElement::at((x1, t)) + PathElement::new(path, REF_GREY.stroke_width(1)),
        ))?;
    }
    let style = font(NOTE_PX)
        .color(&REF_GREY)
        .pos(Pos::new(HPos::Left, VPos::Center));
    let n = lines.len() as i32;
    for (k, line) in lines.into_iter().enumerate() {
        // Line k of n, the block centred on `at` (offsets in half lines).
        let off = (2 * k as i32 - (n - 1)) * line_h(NOTE_PX) / 2;
        chart.draw_series(std::iter::once(
            EmptyElement::at((x1, at)) + Text::new(line, (TEXT_DX, off), style.clone()),
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Labels with room sit at their lines' heights; a label that would
    /// overlap the one above moves down just enough, one at the top edge
    /// moves inside the plot, and labels that cannot fit one above the
    /// other have no stack.
    #[test]
    fn margin_labels_stack_near_their_lines() {
        let gap = 0.01;
        let free = stack(&[(0.8, 0.1), (0.3, 0.1)], gap).unwrap();
        assert_eq!(free, vec![0.8, 0.3]);
        // 0.97 would stick out over the top; 0.9 then overlaps it.
        let crowded = stack(&[(0.9, 0.1), (0.97, 0.1)], gap).unwrap();
        assert!((crowded[1] - 0.95).abs() < 1e-12, "{crowded:?}");
        assert!((crowded[0] - 0.84).abs() < 1e-12, "{crowded:?}");
        // At the bottom the stack is pushed up from the edge.
        let low = stack(&[(0.02, 0.1), (0.04, 0.1)], gap).unwrap();
        assert!((low[0] - 0.05).abs() < 1e-12, "{low:?}");
        assert!((low[1] - 0.16).abs() < 1e-12, "{low:?}");
        assert_eq!(stack(&[(0.5, 0.6), (0.4, 0.6)], gap), None);
    }

    /// A long label breaks into lines no wider than the margin's line, and
    /// the margin it asks for holds its widest line with the gap.
    #[test]
    fn a_margin_label_breaks_into_narrow_lines() {
        let lines = margin_lines("linear, p/n = 2 (n -> inf)");
        assert!(lines.len() >= 2, "{lines:?}");
        for l in &lines {
            assert!(text_w(l, NOTE_PX) <= MAX_LINE_W, "{l}");
        }
        let need = margin_need(&lines);
        assert!(need > TEXT_DX as u32 && need <= MAX_LINE_W + 20, "{need}");
        assert!(margin_h(&lines) >= 2.0 * NOTE_PX, "{}", margin_h(&lines));
    }

    /// A leader is drawn from 12 px up or down, not shorter.
    #[test]
    fn short_leaders_are_left_out() {
        assert!(!draws_leader(0) && !draws_leader(11) && !draws_leader(-11));
        assert!(draws_leader(12) && draws_leader(-40));
    }
}
