//! Reference lines of a line panel (a theory's value drawn across the
//! plot) and where their labels go: on the line where no curve runs, else
//! in the panel's own legend, else (a shared legend) in the nearest free
//! box above or below, joined to its line by a leader that crosses no
//! data, else in the right margin at the line's height (`margin`).

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axes::short_num;
use super::geometry::{clip_segment, Rect};
use super::legend::{sample_polyline, Entry, Glyph};
use super::margin::{draw_margin_label, draws_leader, margin_or_legend};
use super::style::{font, line_h, text_w, wrap, NOTE_PX, REF_DOT, REF_GAP, REF_GREY, REF_W};
use super::{Chart, DrawResult};

/// What a reference line stands for. Each kind has its own grey stroke, in
/// the plot and in the legend, so that a theory's value, chance and a
/// plain level are told apart (all were dotted alike).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RefKind {
    /// A level to read the curves against (sigma^2, equality): dots.
    #[default]
    Level,
    /// A theory's predicted value, the one a claim compares against: long
    /// dashes.
    Theory,
    /// Chance: short dashes.
    Chance,
}

impl RefKind {
    /// The stroke: dash and gap lengths in pixels.
    pub(super) fn dash(self) -> (u32, u32) {
        match self {
            RefKind::Level => (REF_DOT, REF_GAP),
            RefKind::Theory => (18, 8),
            RefKind::Chance => (8, 6),
        }
    }
}

/// A label box (x0, x1, y0, y1) in plot fractions.
type Bounds = (f64, f64, f64, f64);

/// Where a reference line's label box sits, in plot fractions: at the
/// right or the left end, above or below the line, `shift` further away
/// from it than a label on the line (0: on the line; more: a callout
/// whose leader joins it to the line).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct LabelSpot {
    pub(super) right: bool,
    pub(super) above: bool,
    pub(super) shift: f64,
}

impl LabelSpot {
    /// The box (x0, x1, y0, y1) of a `w` by `h` label for a line at `f`.
    fn bounds(&self, f: f64, (w, h): (f64, f64)) -> Bounds {
        let (x0, x1) = if self.right {
            (0.99 - w, 0.99)
        } else {
            (0.01, 0.01 + w)
        };
        let (y0, y1) = if self.above {
            (f + 0.004 + self.shift, f + h + self.shift)
        } else {
            (f - h - self.shift, f - 0.004 - self.shift)
        };
        (x0, x1, y0, y1)
    }

    /// The plot-fraction x of the leader: the middle of the label box.
    fn leader_x(&self, w: f64) -> f64 {
        if self.right {
            0.99 - w / 2.0
        } else {
            0.01 + w / 2.0
        }
    }
}

/// The four label boxes `shift` away from the line, in the order tried:
/// right-above, left-above, right-below, left-below.
fn four_spots(shift: f64) -> [LabelSpot; 4] {
    [(true, true), (false, true), (true, false), (false, false)].map(|(right, above)| LabelSpot {
        right,
        above,
        shift,
    })
}

/// A band's vertical extent at one x: (x, low, high) in plot fractions.
pub(super) type Span = (f64, f64, f64);

/// A drawn curve's segment, its ends in plot fractions.
pub(super) type Segment = ((f64, f64), (f64, f64));

/// What a label must keep clear of, in plot fractions.
#[derive(Clone, Copy)]
pub(super) struct Avoid<'a> {
    /// Drawn points: curves, markers, band samples, labels, leaders.
    pub(super) points: &'a [(f64, f64)],
    /// The bands' vertical extents (x, low, high).
    pub(super) spans: &'a [Span],
    /// The curves' segments: a box between two sampled `points` of a
    /// segment that crosses it is not free.
    pub(super) segments: &'a [Segment],
    /// The labels already placed.
    pub(super) boxes: &'a [Bounds],
    /// Every reference line's height.
    pub(super) lines: &'a [f64],
    /// The margin (x, y) a label keeps from points and bands: a marker's
    /// radius, since markers are stored as their centres.
    pub(super) clear: (f64, f64),
    /// The height a label keeps from every other reference line, margins
    /// or not: a label's own height, since a label where another line's
    /// label would sit reads as that line's.
    pub(super) line_gap: f64,
}

impl<'a> Avoid<'a> {
    /// The same margins, bands and lines with the drawn `points` and the
    /// label `boxes` as they are now.
    fn with(self, points: &'a [(f64, f64)], boxes: &'a [Bounds]) -> Self {
        Avoid {
            points,
            boxes,
            ..self
        }
    }

    /// Whether the box of a label for the line at `f` lies inside the
    /// plot, holds no drawn point, meets no band and no other reference
    /// line (all with the `clear` margin), and meets no label.
    fn is_free(&self, f: f64, (x0, x1, y0, y1): Bounds) -> bool {
        let cy = self.clear.1;
        // The gap to other lines, on the box's side of its own line only:
        // a line beyond its own is never read as the label's.
        let (lo, hi) = (y0 - self.line_gap, y1 + self.line_gap);
        let (lo, hi) = if y0 >= f {
            (lo.max(f), hi)
        } else {
            (lo, hi.min(f))
        };
        x0 > 0.0
            && x1 < 1.0
            && y1 < 1.0
            && y0 > 0.0
            && !self.meets_data((x0, x1, y0, y1))
            && !self.other_line_within(f, (y0 - cy).min(lo), (y1 + cy).max(hi))
            && !self.meets_label((x0, x1, y0, y1))
    }

    /// Whether the box (a leader: one of zero width), widened by the
    /// `clear` margin, holds a drawn point, meets a band or is crossed by
    /// a curve's segment.
    fn meets_data(&self, (x0, x1, y0, y1): Bounds) -> bool {
        let (cx, cy) = self.clear;
        let r = Rect {
            x0: x0 - cx,
            x1: x1 + cx,
            y0: y0 - cy,
            y1: y1 + cy,
        };
        let inside = |x: f64| x >= r.x0 && x <= r.x1;
        (self.points.iter()).any(|&(x, y)| inside(x) && y >= r.y0 && y <= r.y1)
            || (self.spans.iter()).any(|&(x, lo, hi)| inside(x) && hi >= r.y0 && lo <= r.y1)
            || (self.segments.iter()).any(|&(p, q)| clip_segment(p, q, &r).is_some())
    }

    /// Whether a reference line other than the one at `f` lies between
    /// heights `lo` and `hi`.
    fn other_line_within(&self, f: f64, lo: f64, hi: f64) -> bool {
        (self.lines.iter()).any(|&g| (g - f).abs() > 1e-12 && g >= lo && g <= hi)
    }

    /// Whether the box (a leader: one of zero width) meets a placed label.
    fn meets_label(&self, (x0, x1, y0, y1): Bounds) -> bool {
        (self.boxes.iter()).any(|b| b.0 <= x1 && b.1 >= x0 && b.2 <= y1 && b.3 >= y0)
    }
}

/// The label spot (`w` by `h` plot fractions) on a reference line at plot
/// fraction `f`: the first of `four_spots(0)` whose box is free.
pub(super) fn on_line_spot(f: f64, wh: (f64, f64), avoid: &Avoid) -> Option<LabelSpot> {
    four_spots(0.0)
        .into_iter()
        .find(|s| avoid.is_free(f, s.bounds(f, wh)))
}

/// A callout for a label with no free spot on its line: the four boxes
/// moved away from the line in steps of h / 8, the nearest whose box is
/// free and whose leader crosses no label and no data, tried in tiers:
/// with no other reference line between the box and its line (the reader
/// pairs a label with the nearest line), then across other lines; then
/// both again without the `clear` margin around the box (the leader keeps
/// it); None failing all. (A leader across a label, tried last once, read
/// as a line through the label's words; a leader across the curves, hung
/// from a line over the data to a box under it, was hard to follow to
/// its line: such a label goes to the margin instead.)
pub(super) fn callout_free(f: f64, (w, h): (f64, f64), avoid: &Avoid) -> Option<LabelSpot> {
    let padded = avoid;
    let fits = |s: &LabelSpot, avoid: &Avoid, across: bool| {
        let (x0, x1, y0, y1) = s.bounds(f, (w, h));
        let (reach_lo, reach_hi) = if s.above { (f, y1) } else { (y0, f) };
        let leader = if s.above { (f, y0) } else { (y1, f) };
        let lx = s.leader_x(w);
        avoid.is_free(f, (x0, x1, y0, y1))
            && !avoid.meets_label((lx, lx, reach_lo, reach_hi))
            && !padded.meets_data((lx, lx, leader.0, leader.1))
            && (across || !avoid.other_line_within(f, reach_lo, reach_hi))
    };
    let steps = (8.0 / h.max(1e-3)).ceil() as u32;
    let unpadded = Avoid {
        clear: (0.0, 0.0),
        ..*avoid
    };
    let tiers = [
        (avoid, false),
        (avoid, true),
        (&unpadded, false),
        (&unpadded, true),
    ];
    // A binding, not the tail expression: the tail's temporaries would
    // outlive `unpadded` (edition 2021).
    #[allow(clippy::let_and_return)]
    let found = tiers.into_iter().find_map(|(avoid, across)| {
        (1..=steps)
            .flat_map(|k| four_spots(f64::from(k) * h / 8.0))
            .find(|s| fits(s, avoid, across))
    });
    found
}

/// Reserves the box of `spot` (a label `w` by `h` on a line at `f`) in
/// `boxes`, and its points and a callout's leader in `occupied` (which the
/// legend avoids).
pub(super) fn reserve(
    spot: LabelSpot,
    f: f64,
    (w, h): (f64, f64),
    occupied: &mut Vec<(f64, f64)>,
    boxes: &mut Vec<Bounds>,
) {
    let (x0, x1, y0, y1) = spot.bounds(f, (w, h));
    boxes.push((x0, x1, y0, y1));
    for (i, j) in (0..5).flat_map(|i| (0..3).map(move |j| (i, j))) {
        let (a, b) = (f64::from(i) / 4.0, f64::from(j) / 2.0);
        occupied.push((x0 + (x1 - x0) * a, y0 + (y1 - y0) * b));
    }
    if spot.shift > 0.0 {
        let x = spot.leader_x(w);
        let end = if spot.above { y0 } else { y1 };
        let unit = Rect {
            x0: 0.0,
            x1: 1.0,
            y0: 0.0,
            y1: 1.0,
        };
        sample_polyline(&[(x, f), (x, end)], &unit, occupied);
    }
}

/// A band's vertical extents for the label boxes: (x, low, high) in plot
/// fractions of `rect`, at each of the `run`'s points (x, low, high in
/// transformed coordinates) and 7 between each pair.
pub(super) fn band_spans(run: &[(f64, f64, f64)], rect: &Rect, out: &mut Vec<Span>) {
    let span = |(x, lo, hi): (f64, f64, f64)| {
        let ((fx, a), (_, b)) = (rect.norm((x, lo)), rect.norm((x, hi)));
        (fx, a.min(b), a.max(b))
    };
    for w in run.windows(2) {
        for k in 0..8 {
            let t = f64::from(k) / 8.0;
            let mix = |a: f64, b: f64| a + (b - a) * t;
            out.push(span((
                mix(w[0].0, w[1].0),
                mix(w[0].1, w[1].1),
                mix(w[0].2, w[1].2),
            )));
        }
    }
    out.extend(run.last().map(|&q| span(q)));
}

/// A legend note for a reference line: its kind's grey stroke and `label`.
pub(super) fn reference_entry(label: String, kind: RefKind) -> Entry {
    Entry {
        note: true,
        label,
        glyph: Glyph::Reference(kind),
    }
}

/// The legend entry of reference line `i` of `refs` (height, label, kind,
/// value): its label, and where another line of the panel has the same
/// stroke, its value too (", at 0.09"), since the stroke alone cannot tell
/// the reader which of the lines the entry names.
fn legend_entry(refs: &[(f64, &str, RefKind, f64)], i: usize) -> Entry {
    let (_, label, kind, y) = refs[i];
    let shared_stroke = (refs.iter().enumerate()).any(|(j, r)| j != i && r.2 == kind);
    match shared_stroke {
        true => reference_entry(format!("{label}, at {}", short_num(y)), kind),
        false => reference_entry(label.to_string(), kind),
    }
}

/// A reference line at transformed height `t` with its label.
pub(super) struct PlacedReference<'a> {
    t: f64,
    pub(super) label: &'a str,
    kind: RefKind,
    /// The label's lines, its box width in plot fractions, and where it
    /// goes (None: no label on the line).
    pub(super) lines: Vec<String>,
    w: f64,
    spot: Option<LabelSpot>,
    /// The centre (plot fraction) of a label in the right margin.
    pub(super) margin: Option<f64>,
}

/// Where the labels of a panel's reference lines go when they have no
/// spot on their line.
pub(super) enum RefLegend<'e> {
    /// The panel's own legend: such a label joins it (no label in the plot).
    Own(&'e mut Vec<Entry>),
    /// A legend shared by the figure, which holds the reference entries
    /// `named` (their lines take no label in the plot): such a label gets
    /// a callout, else (no free box: a label over curves is unreadable) a
    /// place in the right margin, `margin` pixels wide, at its line's
    /// height; a margin too narrow for it raises `asks` to the width it
    /// needs (the figure is drawn again with that margin), and labels that
    /// do not fit one above the other there are added to `unplaced` for
    /// the figure to name in its legend.
    Shared {
        named: &'e [Entry],
        unplaced: &'e mut Vec<Entry>,
        margin: u32,
        asks: &'e mut u32,
    },
}

/// Where each reference line's label goes, from its plot-fraction height
/// `frac(t)`. First every label that has a free spot on its line
/// (`on_line_spot`, in order, each box reserved); then the others, as
/// `legend` says: into the panel's own legend, else a callout
/// (`callout_free`, avoiding the band `spans`; lines half as wide if the
/// label has no box at full width), else the right margin or `unplaced`
/// (`margin_or_legend`). A line with an empty label, or one the shared
/// legend names, has no label and takes no room.
pub(super) fn ref_label_spots<'a>(
    refs: &[(f64, &'a str, RefKind, f64)],
    frac: impl Fn(f64) -> f64,
    plot: (u32, u32),
    (occupied, spans, segments): (&mut Vec<(f64, f64)>, &[Span], &[Segment]),
    mut legend: RefLegend<'_>,
) -> Vec<PlacedReference<'a>> {
    let size = |lines: &[String]| {
        let widest = lines.iter().map(|l| text_w(l, NOTE_PX)).max().unwrap_or(0);
        let tall = NOTE_PX + 8.0 + f64::from(line_h(NOTE_PX)) * (lines.len() - 1) as f64;
        let w = f64::from(widest + 12) / f64::from(plot.0.max(1));
        (w, tall / f64::from(plot.1.max(1)))
    };
    // A marker's radius (7 px) and a pixel.
    let clear = (
        8.0 / f64::from(plot.0.max(1)),
        8.0 / f64::from(plot.1.max(1)),
    );
    let lines: Vec<f64> = refs.iter().map(|r| frac(r.0)).collect();
    let fixed = Avoid {
        points: &[],
        spans,
        segments,
        boxes: &[],
        lines: &lines,
        clear,
        line_gap: (NOTE_PX + 8.0) / f64::from(plot.1.max(1)),
    };
    let unlabelled = |i: usize| {
        refs[i].1.is_empty()
            || matches!(&legend, RefLegend::Shared { named, .. }
                if named.contains(&legend_entry(refs, i)))
    };
    let mut boxes = Vec::new();
    let mut placed: Vec<PlacedReference<'a>> = (refs.iter().enumerate())
        .map(|(i, &(t, label, kind, _))| {
            let lines = label_lines(label, plot.0);
            let (w, h) = size(&lines);
            let spot = if unlabelled(i) {
                None
            } else {
                on_line_spot(frac(t), (w, h), &fixed.with(occupied, &boxes))
            };
            if let Some(spot) = spot {
                reserve(spot, frac(t), (w, h), occupied, &mut boxes);
            }
            PlacedReference {
                t,
                label,
                kind,
                lines,
                w,
                spot,
                margin: None,
            }
        })
        .collect();
    let pending = |(i, r): &(usize, &mut PlacedReference)| r.spot.is_none() && !unlabelled(*i);
    let pending: Vec<_> = placed.iter_mut().enumerate().filter(pending).collect();
    let mut rest = Vec::new();
    for (i, r) in pending {
        let entry = legend_entry(refs, i);
        if let RefLegend::Own(entries) = &mut legend {
            entries.push(entry);
            continue;
        }
        let f = frac(r.t);
        let avoid = fixed.with(occupied, &boxes);
        // A label too wide for any free box (at the notes' size a long one
        // spans most of a plot) tries lines half as wide.
        let narrow = label_lines(r.label, plot.0 / 2);
        let found = [r.lines.clone(), narrow]
            .into_iter()
            .find_map(|lines| Some((callout_free(f, size(&lines), &avoid)?, lines)));
        let Some((spot, lines)) = found else {
            rest.push((entry, f, r));
            continue;
        };
        let wh = size(&lines);
        reserve(spot, f, wh, occupied, &mut boxes);
        (r.lines, r.w, r.spot) = (lines, wh.0, Some(spot));
    }
    if let RefLegend::Shared {
        unplaced,
        margin,
        asks,
        ..
    } = legend
    {
        margin_or_legend(rest, plot, (margin, asks), unplaced);
    }
    placed
}

/// Draws the reference lines across `rect` (their kinds' grey strokes) with their labels
/// and the leaders of callouts (`draws_leader`), in the plot or its margin.
pub(super) fn draw_references<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    rect: &Rect,
    refs: Vec<PlacedReference<'_>>,
) -> DrawResult<(), DB> {
    for r in refs {
        let (dash, gap) = r.kind.dash();
        chart.draw_series(DashedLineSeries::new(
            vec![(rect.x0, r.t), (rect.x1, r.t)],
            dash,
            gap,
            REF_GREY.stroke_width(REF_W),
        ))?;
        if let Some(c) = r.margin {
            let at = rect.y0 + c * (rect.y1 - rect.y0);
            draw_margin_label(chart, (rect.x1, r.t, at), r.lines)?;
            continue;
        }
        let Some(spot) = r.spot else {
            continue;
        };
        let sign = if spot.above { 1.0 } else { -1.0 };
        let t = r.t + sign * spot.shift * (rect.y1 - rect.y0);
        let leader_px =
            chart.backend_coord(&(rect.x0, t)).1 - chart.backend_coord(&(rect.x0, r.t)).1;
        if spot.shift > 0.0 && draws_leader(leader_px) {
            let x = rect.x0 + (rect.x1 - rect.x0) * spot.leader_x(r.w);
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x, r.t), (x, t)],
                REF_GREY.stroke_width(1),
            )))?;
        }
        let (dy, v) = if spot.above {
            (-5, VPos::Bottom)
        } else {
            (BELOW_DY, VPos::Top)
        };
        let (x, dx, hp) = if spot.right {
            (rect.x1, -10, HPos::Right)
        } else {
            (rect.x0, 10, HPos::Left)
        };
        let style = font(NOTE_PX).color(&REF_GREY).pos(Pos::new(hp, v));
        let lines = r.lines;
        // Stacked away from the line: the last line nearest it above, the
        // first below.
        let n = lines.len() as i32;
        for (k, line) in lines.into_iter().enumerate() {
            let k = if spot.above {
                k as i32 - (n - 1)
            } else {
                k as i32
            };
            let at = (dx, dy + k * line_h(NOTE_PX));
            chart.draw_series(std::iter::once(
                EmptyElement::at((x, t)) + Text::new(line, at, style.clone()),
            ))?;
        }
    }
    Ok(())
}

/// How far under its line a label below it hangs, in pixels: a 5 px gap
/// plus the part of the glyphs plotters draws above a top-anchored text
/// (its ascenders, about 0.13 of the size: at 30 px a 6 px offset let the
/// dashes touch the letters). The label's box (`NOTE_PX + 8` tall) still
/// holds the text and its descenders.
const BELOW_DY: i32 = 7 + (NOTE_PX * 0.15) as i32;

/// A reference label broken into lines that fit across a plot `plot_w`
/// pixels wide (with the label's 10 px inset on each side): at the notes'
/// size a long label ran past the plot into the next panel.
pub(super) fn label_lines(label: &str, plot_w: u32) -> Vec<String> {
    wrap(label, NOTE_PX, plot_w.saturating_sub(24))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on_line(right: bool, above: bool) -> Option<LabelSpot> {
        Some(LabelSpot {
            right,
            above,
            shift: 0.0,
        })
    }

    /// What the tests avoid: `points`, `spans`, the reference `lines`,
    /// with a margin of 0.02 across and 0.01 up.
    fn avoid<'a>(points: &'a [(f64, f64)], spans: &'a [Span], lines: &'a [f64]) -> Avoid<'a> {
        Avoid {
            points,
            spans,
            segments: &[],
            boxes: &[],
            lines,
            clear: (0.02, 0.01),
            line_gap: 0.0,
        }
    }

    /// Theory, chance and other levels have strokes of their own, and a
    /// line off a fixed axis is named in the legend with its kind's stroke.
    #[test]
    fn each_kind_of_reference_has_its_own_stroke() {
        let kinds = [RefKind::Level, RefKind::Theory, RefKind::Chance];
        for (i, a) in kinds.iter().enumerate() {
            for b in &kinds[i + 1..] {
                assert_ne!(a.dash(), b.dash(), "{a:?} and {b:?}");
            }
        }
        let line = |y: f64, kind: RefKind| crate::plot::HLine {
            y,
            label: format!("{kind:?}"),
            kind,
        };
        let panel = crate::plot::LinePanel {
            y_range: Some((0.0, 1.0)),
            hlines: vec![line(2.0, RefKind::Theory), line(-1.0, RefKind::Chance)],
            ..Default::default()
        };
        let glyphs: Vec<Glyph> = (super::super::line::line_entries(&panel).iter())
            .map(|e| e.glyph)
            .collect();
        assert_eq!(
            glyphs,
            [
                Glyph::Reference(RefKind::Theory),
                Glyph::Reference(RefKind::Chance)
            ]
        );
    }

    /// A reference line's label goes where no curve runs, clear of it by
    /// the margin: left when a curve passes over the right end (or a
    /// marker just beside it, or a band), and the box it takes is
    /// reserved; no spot when curves run along both sides at both ends.
    #[test]
    fn reference_labels_avoid_curves() {
        let wh = (0.3, 0.06);
        let mut occupied: Vec<(f64, f64)> =
            (0..20).map(|k| (0.6 + 0.02 * f64::from(k), 0.53)).collect();
        let mut boxes = Vec::new();
        for expected in [on_line(false, true), on_line(true, false)] {
            let free = Avoid {
                boxes: &boxes,
                ..avoid(&occupied, &[], &[0.5])
            };
            let spot = on_line_spot(0.5, wh, &free);
            assert_eq!(spot, expected);
            reserve(spot.unwrap(), 0.5, wh, &mut occupied, &mut boxes);
        }
        // A marker centre 0.005 above the right box's top is too close.
        let marker = [(0.9, 0.565)];
        assert_eq!(
            on_line_spot(0.5, wh, &avoid(&marker, &[], &[0.5])),
            on_line(false, true)
        );
        let band: Vec<Span> = vec![(0.95, 0.3, 0.9)];
        assert_eq!(
            on_line_spot(0.5, wh, &avoid(&[], &band, &[0.5])),
            on_line(false, true)
        );
        let along = curves_along_the_line();
        assert_eq!(on_line_spot(0.5, wh, &avoid(&along, &[], &[0.5])), None);
        // A segment across the right box, with no sampled point in it.
        let across = [((0.6, 0.45), (1.0, 0.62))];
        let free = Avoid {
            segments: &across,
            ..avoid(&[], &[], &[0.5])
        };
        assert_eq!(on_line_spot(0.5, wh, &free), on_line(false, true));
    }

    /// A label keeps its own height clear of every other line on its side
    /// of its own line (next to another line it reads as that one's); a
    /// line beyond its own does not count.
    #[test]
    fn a_label_keeps_its_height_from_other_lines() {
        let wh = (0.3, 0.06);
        let near = Avoid {
            line_gap: 0.06,
            ..avoid(&[], &[], &[0.5, 0.58])
        };
        assert_eq!(on_line_spot(0.5, wh, &near), on_line(true, false));
        let beyond = Avoid {
            line_gap: 0.06,
            ..avoid(&[], &[], &[0.5, 0.45])
        };
        assert_eq!(on_line_spot(0.5, wh, &beyond), on_line(true, true));
    }

    /// With a shared legend, a label with no free box goes to the right
    /// margin: none yet where the margin is too narrow (the figure is asked
    /// for one), at its line's height where it is wide enough; labels that
    /// do not fit one above the other there, or whose margin would take
    /// over a third of the plot's width, are left to the legend (not drawn
    /// over the curves), with their values where another line has their
    /// stroke; a label the legend names takes no place in the plot.
    #[test]
    fn a_label_with_no_box_goes_to_the_margin_else_the_shared_legend() {
        let full: Vec<(f64, f64)> = (0..=50)
            .flat_map(|i| (0..=50).map(move |j| (0.02 * f64::from(i), 0.02 * f64::from(j))))
            .collect();
        let refs = [
            (0.5, "theory", RefKind::Theory, 0.5),
            (0.2, "floor", RefKind::Theory, 0.2),
            (0.8, "chance", RefKind::Chance, 0.8),
        ];
        let place = |plot: (u32, u32), margin: u32, named: &[Entry]| {
            let (mut unplaced, mut asks) = (Vec::new(), 0);
            let legend = RefLegend::Shared {
                named,
                unplaced: &mut unplaced,
                margin,
                asks: &mut asks,
            };
            let at = (&mut full.clone(), &[][..], &[][..]);
            let placed = ref_label_spots(&refs, |t| t, plot, at, legend);
            let spots: Vec<_> = placed.iter().map(|r| (r.spot, r.margin)).collect();
            (spots, unplaced, asks)
        };
        let (spots, unplaced, asks) = place((600, 400), 0, &[]);
        assert!(asks > 0 && unplaced.is_empty(), "{asks} {unplaced:?}");
        assert!(spots.iter().all(|s| *s == (None, None)), "{spots:?}");
        let (spots, unplaced, again) = place((600, 400), asks, &[]);
        assert!(unplaced.is_empty() && again == 0, "{unplaced:?} {again}");
        let centres: Vec<_> = spots.iter().map(|s| s.1).collect();
        assert_eq!(centres, [Some(0.5), Some(0.2), Some(0.8)]);
        // A plot 90 px tall has no room for three labels one above the other.
        let (_, unplaced, _) = place((600, 90), asks, &[]);
        let named = |label: &str, y: f64, kind| match kind {
            RefKind::Chance => reference_entry(label.into(), kind),
            _ => reference_entry(format!("{label}, at {}", short_num(y)), kind),
        };
        let expected: Vec<Entry> = refs.iter().map(|r| named(r.1, r.3, r.2)).collect();
        assert_eq!(unplaced, expected);
        // Nor a plot 150 px wide for a margin over a third of its width.
        let (_, unplaced, asks_narrow) = place((150, 400), 0, &[]);
        assert!(asks_narrow == 0 && unplaced == expected, "{unplaced:?}");
        let (spots, again, _) = place((600, 90), asks, &expected);
        assert!(again.is_empty() && spots.iter().all(|s| *s == (None, None)));
        // With room, the label sits on its line and nothing is left out.
        let mut none = Vec::new();
        let legend = RefLegend::Shared {
            named: &[],
            unplaced: &mut none,
            margin: 0,
            asks: &mut 0,
        };
        let placed = ref_label_spots(
            &refs,
            |t| t,
            (600, 400),
            (&mut Vec::new(), &[], &[]),
            legend,
        );
        assert!(none.is_empty() && placed.iter().all(|r| r.spot.is_some()));
    }

    /// Points on both sides of a line at 0.5, at both ends.
    fn curves_along_the_line() -> Vec<(f64, f64)> {
        (0..=50)
            .flat_map(|k| [0.47, 0.53].map(|y| (0.02 * f64::from(k), y)))
            .collect()
    }

    /// [`curves_along_the_line`] with gaps at x = 0.16 and 0.84, where the
    /// leaders of a 0.3 wide box at the left or the right end run.
    fn curves_with_gaps() -> Vec<(f64, f64)> {
        let off = |x: f64| (x - 0.16).abs() > 0.05 && (x - 0.84).abs() > 0.05;
        curves_along_the_line()
            .into_iter()
            .filter(|q| off(q.0))
            .collect()
    }

    /// A covered label's callout is the nearest free box away from the
    /// line whose leader crosses no curve, with no other reference line
    /// between itself and its line; its leader is reserved and crosses no
    /// label. Where every leader would cross the curves, or the curves
    /// fill the plot: none.
    #[test]
    fn a_callout_clears_curves_bands_and_other_lines() {
        let wh = (0.3, 0.06);
        let along = curves_along_the_line();
        assert_eq!(callout_free(0.5, wh, &avoid(&along, &[], &[0.5])), None);
        let gaps = curves_with_gaps();
        let spot = callout_free(0.5, wh, &avoid(&gaps, &[], &[0.5])).unwrap();
        assert!(spot.right && spot.above, "{spot:?}");
        // The first step of h / 8 that clears the curves by the margin.
        assert!((spot.shift - 0.0375).abs() < 1e-12, "{spot:?}");
        let (x0, x1, y0, _) = spot.bounds(0.5, wh);
        assert!(y0 - 0.01 > 0.53, "the box clears the curves: {y0}");
        let mut reserved = gaps.clone();
        reserve(spot, 0.5, wh, &mut reserved, &mut Vec::new());
        let leader = spot.leader_x(0.3);
        assert!(x0 < leader && leader < x1);
        assert!((reserved.iter()).any(|&(x, y)| x == leader && y > 0.5 && y < y0));
        // Another reference line just above sends the callout below.
        let spot = callout_free(0.5, wh, &avoid(&gaps, &[], &[0.5, 0.56])).unwrap();
        assert!(spot.right && !spot.above, "{spot:?}");
        // A band over the right half, up to 0.8, sends it left.
        let band: Vec<Span> = (25..=50).map(|k| (0.02 * f64::from(k), 0.4, 0.8)).collect();
        let spot = callout_free(0.5, wh, &avoid(&gaps, &band, &[0.5])).unwrap();
        assert!(!spot.right && spot.above, "{spot:?}");
        // A label box on the leader's path is not crossed.
        let boxes = [(0.8, 0.9, 0.52, 0.6)];
        let beside = Avoid {
            boxes: &boxes,
            ..avoid(&gaps, &[], &[0.5])
        };
        let spot = callout_free(0.5, wh, &beside).unwrap();
        assert!(!spot.right && spot.above, "{spot:?}");
        let full: Vec<(f64, f64)> = (0..=50)
            .flat_map(|i| (0..=50).map(move |j| (0.02 * f64::from(i), 0.02 * f64::from(j))))
            .collect();
        assert_eq!(callout_free(0.5, wh, &avoid(&full, &[], &[0.5])), None);
    }
}
