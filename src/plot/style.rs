//! Style: font sizes, margins, the Okabe-Ito palette and the bundled font.

use std::sync::OnceLock;

use plotters::prelude::*;

const FONT: &str = "sans-serif";
pub(super) const TITLE_PX: f64 = 34.0;
pub(super) const DESC_PX: f64 = 30.0;
/// Tick labels, legend text and notes (reference-line labels, in-plot
/// notes) are set at the floor too: at 26, 23 and 22 px they printed at
/// 6.1, 5.4 and 5.2 pt, under the 6-7 pt journals ask for. The layout
/// measures them at these sizes (tick counts, legend boxes, label spots).
pub(super) const TICK_PX: f64 = MIN_TEXT_PX;
pub(super) const LEGEND_PX: f64 = MIN_TEXT_PX;
pub(super) const NOTE_PX: f64 = MIN_TEXT_PX;
/// The width a figure aims at; panels are never narrower than `MIN_PANEL_W`.
pub(super) const FIG_W: u32 = 1600;
pub(super) const MIN_PANEL_W: u32 = 460;
pub(super) const MARGIN: u32 = 18;
pub(super) const TICK_LEN: i32 = 8;
pub(super) const LINE_W: u32 = 3;

/// Okabe-Ito, in the order series get them (yellow left out: too pale on white).
pub(super) const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(230, 159, 0),   // orange
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(0, 0, 0),       // black
];
pub(super) const REF_GREY: RGBColor = RGBColor(90, 90, 90);
/// A reference line's stroke, in the plot and in a legend: `REF_DOT` px
/// drawn every `REF_DOT + REF_GAP` px, `REF_W` px wide, in `REF_GREY`.
pub(super) const REF_DOT: u32 = 3;
pub(super) const REF_GAP: u32 = 6;
pub(super) const REF_W: u32 = 2;
pub(super) const MISSING_GREY: RGBColor = RGBColor(200, 200, 200);

pub(super) fn series_color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// `c` blended with white, `alpha` of the colour kept (an opaque tint).
pub(super) fn tint(c: RGBColor, alpha: f64) -> RGBColor {
    let f = |v: u8| (255.0 - (255.0 - f64::from(v)) * alpha).round() as u8;
    RGBColor(f(c.0), f(c.1), f(c.2))
}

pub(super) fn font(px: f64) -> TextStyle<'static> {
    TextStyle::from((FONT, px).into_font()).color(&BLACK)
}

static FONT_OK: OnceLock<bool> = OnceLock::new();

/// Registers the bundled DejaVu Sans as "sans-serif" (once per process):
/// with the `ab_glyph` feature plotters has no system fonts.
pub(super) fn ensure_font() -> bool {
    *FONT_OK.get_or_init(|| {
        plotters::style::register_font(
            FONT,
            FontStyle::Normal,
            include_bytes!("../../assets/DejaVuSans.ttf"),
        )
        .is_ok()
    })
}

/// The smallest size a title or an axis description shrinks to. A figure
/// `FIG_W` px wide is printed at a text width, 6.5 in = 468 pt, and the
/// SVG sets text at px / 1.24: 30 px is 7.1 pt there. Titles and axis
/// descriptions used to shrink to whatever width they were given (down to
/// 16 px, 3.8 pt; 4.5 pt in committed figures); a text too long at this
/// size is broken into lines instead.
pub(super) const MIN_TEXT_PX: f64 = 30.0;

/// The distance between the baselines of wrapped lines at `px`.
pub(super) fn line_h(px: f64) -> i32 {
    (px * 1.1).round() as i32
}

/// The largest font size up to `max_px` (not below `min_px`) at which `text`
/// fits in `avail` pixels.
pub(super) fn fit_font(text: &str, max_px: f64, min_px: f64, avail: u32) -> f64 {
    match text_w(text, max_px) {
        w if w > avail && w > 0 => (max_px * f64::from(avail) / f64::from(w)).max(min_px),
        _ => max_px,
    }
}

/// `text` at the largest size up to `max_px` (not below `MIN_TEXT_PX`) at
/// which it fits in `avail` pixels, as one line; if it does not fit at
/// `MIN_TEXT_PX` (or `max_px` if that is smaller), broken at spaces into
/// the fewest lines that do (a word wider than `avail` keeps a line of
/// its own and overhangs).
pub(super) fn fit_lines(text: &str, max_px: f64, avail: u32) -> (f64, Vec<String>) {
    let px = fit_font(text, max_px, MIN_TEXT_PX.min(max_px), avail);
    if text_w(text, px) <= avail {
        return (px, vec![text.to_string()]);
    }
    (px, wrap(text, px, avail))
}

/// `text` broken at spaces into lines no wider than `avail` at `px`.
pub(super) fn wrap(text: &str, px: f64, avail: u32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if text_w(&format!("{line} {word}"), px) <= avail => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    lines
}

/// The width of `text` in pixels at `px`.
pub(super) fn text_w(text: &str, px: f64) -> u32 {
    (FONT, px)
        .into_font()
        .box_size(text)
        .map(|s| s.0)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines keep their words in order, each line fits (but a lone word
    /// too wide for any line), and a text that fits stays one line.
    #[test]
    fn wrap_breaks_at_spaces_into_lines_that_fit() {
        assert!(ensure_font());
        let text = "train MSE over the least-squares residual of the same data";
        let avail = text_w(text, 30.0) / 2;
        let lines = wrap(text, 30.0, avail);
        assert!(lines.len() >= 2, "{lines:?}");
        assert_eq!(lines.join(" "), text);
        assert!(lines.iter().all(|l| text_w(l, 30.0) <= avail), "{lines:?}");
        assert_eq!(wrap("a b", 30.0, 1), vec!["a", "b"]);
        assert_eq!(
            fit_lines(text, 30.0, 10_000),
            (30.0, vec![text.to_string()])
        );
        let (px, lines) = fit_lines(text, 34.0, avail);
        assert!(px == MIN_TEXT_PX && lines.len() >= 2, "{px} {lines:?}");
    }

    /// Every text of a figure with tick labels, a legend, a note and a
    /// labelled reference line is drawn at `MIN_TEXT_PX` or more (ticks,
    /// legend and notes were 26, 23 and 22 px: 5.2-6.1 pt printed).
    #[test]
    fn no_text_is_drawn_below_the_floor() {
        use crate::plot::{line_panels, HLine, LinePanel, Series};
        let x: Vec<f64> = (1..=20).map(f64::from).collect();
        let curve = |label: &str, k: f64| Series {
            label: label.into(),
            y: x.iter().map(|v| k / v).collect(),
            x: x.clone(),
            markers: true,
            ..Default::default()
        };
        let panel = LinePanel {
            title: "title".into(),
            x_label: "n".into(),
            y_label: "error".into(),
            series: vec![curve("train", 1.0), curve("test", 2.0)],
            hlines: vec![HLine {
                y: 1.8,
                label: "chance".into(),
                ..Default::default()
            }],
            notes: vec!["a note under the legend".into()],
            ..Default::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("fig");
        line_panels(&stem, &[panel.clone(), panel], 2).unwrap();
        let svg = std::fs::read_to_string(stem.with_extension("svg")).unwrap();
        let sizes: Vec<(f64, &str)> = (svg.split("<text").skip(1))
            .map(|t| {
                let size = t.split("font-size=\"").nth(1).unwrap();
                let body = &t[t.find('>').unwrap() + 1..t.find("</text>").unwrap()];
                (
                    size[..size.find('"').unwrap()].parse().unwrap(),
                    body.trim(),
                )
            })
            .collect();
        for text in ["chance", "train", "a note under the legend", "10"] {
            assert!(sizes.iter().any(|s| s.1 == text), "{text} is not drawn");
        }
        // (The SVG states sizes in points: px / 1.24.)
        for (size, text) in sizes {
            assert!(size >= MIN_TEXT_PX / 1.24 - 1e-9, "{text} at {size}");
        }
    }
}
