//! The grid of panels: the figure's size and the height of each row.

use plotters::prelude::*;

use super::legend::{entry_w, strip_grid, strip_h, Entry};

use super::reference::reference_entry;
use super::style::{FIG_W, MARGIN, MIN_PANEL_W};
use super::{Area, Fig};

/// A legend shared by all panels: in the first empty grid cell, or in a
/// strip of `height` pixels under the grid with `cols` entries a row. With
/// `own_notes` it names the series only, and each panel draws its notes.
pub(super) struct Shared {
    pub(super) entries: Vec<Entry>,
    pub(super) own_notes: bool,
    pub(super) in_cell: bool,
    pub(super) cols: usize,
    pub(super) height: u32,
}

/// A figure's layout: its size in pixels, the grid's columns and the
/// height of each row, the legend the panels share, if they do, and the
/// margin right of each line panel's plot for reference labels (0: none;
/// every panel gets it, so the plots of a column stay aligned).
pub(super) struct Plan {
    pub(super) w: u32,
    pub(super) h: u32,
    pub(super) cols: usize,
    pub(super) heights: Vec<u32>,
    pub(super) shared: Option<Shared>,
    pub(super) margin: u32,
    /// Each panel's least legend strip: the tallest measured strip of its
    /// row, so that the plots of a row end at one height whatever their
    /// own legends take (0: none, or a legend the figure shares).
    pub(super) floors: Vec<u32>,
}

/// What drawing a figure showed about its layout: the reference entries
/// its panels could not label in place (`unplaced`), the height of each
/// panel's legend strip (`strips`; None: not measured), and the widest
/// margin a panel's reference labels asked for (`margin`). Accumulated
/// over the drawings of one figure, it lays out the next.
#[derive(Default)]
pub(super) struct Drawn {
    pub(super) unplaced: Vec<Entry>,
    pub(super) strips: Vec<Option<u32>>,
    pub(super) margin: u32,
    pub(super) rounds: usize,
}

impl Drawn {
    /// Takes in the drawing `d` (of a figure with a shared legend or not);
    /// whether the layout changes: a new unplaced entry for a shared legend,
    /// a taller strip or a wider margin. Strips and the margin keep their
    /// largest size, so a legend that fits in its plot once its row has
    /// grown keeps the row grown (a label, the margin), and the rounds end.
    pub(super) fn absorb(&mut self, d: Drawn, shared: bool) -> bool {
        self.rounds += 1;
        let mut changed = d.margin > self.margin;
        self.margin = self.margin.max(d.margin);
        for e in d.unplaced {
            if shared && !self.unplaced.contains(&e) {
                self.unplaced.push(e);
                changed = true;
            }
        }
        self.strips
            .resize(d.strips.len().max(self.strips.len()), None);
        for (old, new) in self.strips.iter_mut().zip(d.strips) {
            if new.unwrap_or(0) > old.unwrap_or(0) {
                changed = true;
            }
            *old = match (*old, new) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
        }
        changed
    }
}

/// The layout of `fig` in (up to) `cols` columns, as the drawings `seen`
/// so far ask: its shared legend (if any) holds the entries of the labels
/// that found no box in their plots after its own, and a panel's legend
/// strip, where measured, replaces its estimate (`strip_height`).
pub(super) fn plan(fig: &Fig, cols: usize, seen: &Drawn) -> Plan {
    let (rows, cols, w, ph) = layout(fig.len(), cols, fig.aspect());
    let mut h = ph * rows as u32;
    let extra = &seen.unplaced;
    let shared = fig.shared_legend().map(|(mut entries, own_notes)| {
        entries.extend(
            extra
                .iter()
                .filter(|e| !entries.contains(e))
                .cloned()
                .collect::<Vec<_>>(),
        );
        // An empty cell of the grid holds the legend if it fits there.
        let (cw, ch) = (w / cols as u32, ph);
        let widest = entries.iter().map(entry_w).max().unwrap_or(0);
        if rows * cols > fig.len()
            && widest + 2 * MARGIN as i32 <= cw as i32
            && strip_h(entries.len()) <= ch
        {
            return Shared {
                entries,
                own_notes,
                in_cell: true,
                cols: 1,
                height: 0,
            };
        }
        let (r, c) = strip_grid(&entries, w);
        let height = strip_h(r) + MARGIN;
        h += height;
        Shared {
            entries,
            own_notes,
            in_cell: false,
            cols: c,
            height,
        }
    });
    // Line panels are measured (`Drawn`): none grows before its first
    // drawing. Only line panels keep their notes under a shared legend.
    let grow = (0..fig.len()).map(|i| match (&shared, seen.strips.get(i)) {
        (Some(sh), _) if !sh.own_notes => 0,
        (_, Some(Some(measured))) => excess(*measured, ph, true),
        _ if matches!(fig, Fig::Lines(_)) => 0,
        _ => excess(strip_height(fig, i, w / cols as u32), ph, false),
    });
    let heights = row_heights(ph, cols, &grow.collect::<Vec<_>>());
    h += heights.iter().sum::<u32>() - ph * rows as u32;
    // A row of line panels grows by its tallest measured strip: every
    // panel of it cuts as much, the part under its own legend left blank.
    let floors = (0..fig.len())
        .map(|i| match fig {
            Fig::Lines(_) => heights[i / cols.max(1)] - ph,
            _ => 0,
        })
        .collect();
    Plan {
        w,
        h,
        cols,
        heights,
        shared,
        margin: seen.margin,
        floors,
    }
}

/// Grid shape, figure width and the height of a panel in pixels:
/// (rows, cols, width, panel height).
pub(super) fn layout(n: usize, cols: usize, aspect: f64) -> (usize, usize, u32, u32) {
    let cols = cols.clamp(1, n.max(1));
    let rows = n.div_ceil(cols).max(1);
    let pw = (FIG_W / cols as u32).max(MIN_PANEL_W);
    let ph = ((f64::from(pw) * aspect).round() as u32).clamp(440, 1000);
    (rows, cols, pw * cols as u32, ph)
}

/// The height of the legend strip panel `i` of `fig` would take under it,
/// `width` pixels wide: its entries and, for a line panel, one for each
/// labelled reference line (a label with no room on its line joins the
/// legend when the panel is drawn).
pub(super) fn strip_height(fig: &Fig, i: usize, width: u32) -> u32 {
    let mut entries = fig.entries(i);
    if let Fig::Lines(p) = fig {
        let labelled = p[i].hlines.iter().filter(|l| !l.label.is_empty());
        entries.extend(labelled.map(|l| reference_entry(l.label.clone(), l.kind)));
    }
    if entries.is_empty() {
        return 0;
    }
    strip_h(strip_grid(&entries, width).0)
}

/// The part of a panel's legend strip, `strip` pixels tall, that its row
/// grows by: all of a strip measured under the plot, the part over a
/// quarter of the panel height `ph` of an estimate (`strip_height`, which
/// counts a legend that may go inside its plot). A strip is cut from its
/// panel's cell, so a long legend (legible legend text takes rows of
/// 44 px) squeezed the plot above it to a sliver; growing by the part over
/// a quarter still left plots at two thirds of their neighbours' height.
pub(super) fn excess(strip: u32, ph: u32, measured: bool) -> u32 {
    if measured {
        strip
    } else {
        strip.saturating_sub(ph / 4)
    }
}

/// Each row's height: `ph` plus the largest `excess` of its panels (panel
/// by panel, `cols` a row).
pub(super) fn row_heights(ph: u32, cols: usize, excess: &[u32]) -> Vec<u32> {
    (excess.chunks(cols.max(1)))
        .map(|row| ph + row.iter().copied().max().unwrap_or(0))
        .collect()
}

/// `area` split into rows of `heights` (top to bottom) and `cols` equal
/// columns, row by row, as `split_evenly` splits the columns.
pub(super) fn cells<DB: DrawingBackend>(
    area: &Area<DB>,
    heights: &[u32],
    cols: usize,
) -> Vec<Area<DB>> {
    let (w, _) = area.dim_in_pixel();
    let cols = cols.max(1) as u32;
    let xs: Vec<i32> = (1..cols)
        .map(|k| (k * (w / cols) + k.min(w % cols)) as i32)
        .collect();
    let ys: Vec<i32> = (heights.iter())
        .scan(0, |y, &h| {
            *y += h as i32;
            Some(*y)
        })
        .take(heights.len().saturating_sub(1))
        .collect();
    area.split_by_breakpoints(xs, ys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::legend::{text_note, wrap_notes};
    use crate::plot::reference::label_lines;
    use crate::plot::style::{ensure_font, text_w, LEGEND_PX, MARGIN, NOTE_PX};

    /// A row grows by the largest excess of its panels' strips: all of a
    /// measured one, the part over a quarter of the panel height of an
    /// estimate; rows without long legends keep `ph`.
    #[test]
    fn rows_grow_by_the_excess_of_their_tallest_legend() {
        let strips = [0, 100, 250, 40, 0];
        let grow: Vec<u32> = strips.iter().map(|&s| excess(s, 400, false)).collect();
        assert_eq!(row_heights(400, 2, &grow), vec![400, 550, 400]);
        let grow: Vec<u32> = strips.iter().map(|&s| excess(s, 400, true)).collect();
        assert_eq!(row_heights(400, 2, &grow), vec![500, 650, 400]);
        assert_eq!(row_heights(400, 1, &[]), Vec::<u32>::new());
    }

    /// Drawings accumulate: a new left-out entry changes a shared legend's
    /// layout (not a figure without one), a taller strip changes the rows,
    /// and a strip keeps its tallest height (a legend that fits in its
    /// plot once the row has grown leaves the row grown: no oscillation);
    /// a wider margin changes the layout and is kept, a narrower one not.
    #[test]
    fn drawings_change_the_layout_until_nothing_new_shows() {
        let drawn = |unplaced: Vec<Entry>, strips: Vec<Option<u32>>| Drawn {
            unplaced,
            strips,
            margin: 0,
            rounds: 0,
        };
        let mut seen = Drawn::default();
        let note = text_note("theory");
        assert!(!seen.absorb(drawn(vec![note.clone()], vec![]), false));
        assert!(seen.unplaced.is_empty());
        assert!(seen.absorb(drawn(vec![note.clone()], vec![None, Some(0)]), true));
        assert!(!seen.absorb(drawn(vec![note.clone()], vec![None, Some(0)]), true));
        assert!(seen.absorb(drawn(vec![], vec![None, Some(120)]), true));
        assert!(!seen.absorb(drawn(vec![], vec![None, Some(0)]), true));
        assert_eq!(seen.strips, vec![None, Some(120)]);
        assert_eq!(seen.unplaced, vec![note]);
        assert_eq!(seen.rounds, 5);
        let margin = |m: u32| Drawn {
            margin: m,
            ..drawn(vec![], vec![])
        };
        assert!(seen.absorb(margin(150), true));
        assert!(!seen.absorb(margin(90), true) && seen.margin == 150);
        let fig = [crate::plot::LinePanel::default()];
        assert_eq!(plan(&Fig::Lines(&fig), 1, &seen).margin, 150);
    }

    /// The cells tile the area: equal columns, rows of the given heights.
    #[test]
    fn cells_follow_the_row_heights() {
        let mut buf = vec![0u8; 300 * 700 * 3];
        let root = BitMapBackend::with_buffer(&mut buf, (300, 700)).into_drawing_area();
        let cells = cells(&root, &[300, 400], 2);
        let dims: Vec<_> = cells.iter().map(|c| c.dim_in_pixel()).collect();
        assert_eq!(dims, vec![(150, 300), (150, 300), (150, 400), (150, 400)]);
        assert_eq!(cells[2].get_base_pixel(), (0, 300));
        assert_eq!(cells[3].get_base_pixel(), (150, 300));
    }

    /// A note too wide for its strip becomes lines that fit, words in
    /// order, and takes that many rows; a reference label too wide for its
    /// plot is broken the same way.
    #[test]
    fn long_notes_and_reference_labels_are_broken_into_lines() {
        assert!(ensure_font());
        let text = "each point: median (band: 20-80%) of the runs that fit every label";
        let width = text_w(text, LEGEND_PX) / 2 + 2 * MARGIN + 54;
        let lines = wrap_notes(&[text_note(text)], width);
        assert!(lines.len() >= 2, "{lines:?}");
        let words: Vec<&str> = lines.iter().map(|e| e.label.as_str()).collect();
        assert_eq!(words.join(" "), text);
        assert!(lines
            .iter()
            .all(|e| e.note && text_w(&e.label, LEGEND_PX) + 54 + 2 * MARGIN <= width));
        assert_eq!(strip_grid(&[text_note(text)], width).0, lines.len());
        assert_eq!(wrap_notes(&[text_note(text)], 10_000).len(), 1);
        let plot_w = text_w(text, NOTE_PX) / 2;
        let lines = label_lines(text, plot_w);
        assert!(lines.len() >= 2 && lines.iter().all(|l| text_w(l, NOTE_PX) + 24 <= plot_w));
    }
}
