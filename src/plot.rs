//! Publication-quality figures: line panels (with quantile bands, dotted
//! reference lines and log axes), overlaid histograms, class scatter plots
//! over a decision field, and heatmaps with a colour bar and overlay curves.
//!
//! Every figure is written twice, `<stem>.png` (raster, about 1600 px wide,
//! fonts sized to stay readable when the figure is printed at column width)
//! and `<stem>.svg` (vector). Each file is written atomically: it is drawn to
//! a temporary file in the same directory and renamed onto its final name,
//! so a reader never sees a half-written figure.
//!
//! Series use the colour-blind-safe Okabe-Ito palette (and, where markers are
//! drawn, a different marker shape per series); heatmaps use a viridis
//! approximation. Text uses the bundled DejaVu Sans (`assets/DejaVuSans.ttf`),
//! registered once as "sans-serif".
//!
//! Bad data never panics: NaN and infinite values are skipped (a NaN splits a
//! curve in two), non-positive values are skipped on log axes, empty series
//! draw nothing, degenerate ranges are padded, and everything is clipped to
//! the axis ranges.
//!
//! Internally each axis works in "transformed" coordinates: the value itself
//! on a linear axis, `log10(value)` on a log axis. Tick positions and labels
//! undo the transform, so log axes are labelled 1, 10, 100 or 10⁻³, 10⁻², ...
//! with minor grid lines at 2..9 × 10ᵏ; tick counts are chosen so that tick
//! labels never overlap.
//!
//! Legends: when every panel of a figure has the same legend, it is drawn
//! once for the figure (in an empty grid cell, or in a strip under the
//! grid); otherwise each panel puts its legend in a corner of the plot that
//! no data falls under, or in a strip under the panel if there is none.

use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::ranged1d::{
    KeyPointHint, KeyPointWeight, NoDefaultFormatting, Ranged, ValueFormatter,
};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::element::{ComposedElement, IntoDynElement};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::{Error, Result};

// ------------------------------------------------------------------ public API

/// One curve, optionally with a shaded band (e.g. 20-80% quantiles over runs).
///
/// `x` and `y` are paired index by index (the longer one is truncated); a
/// point with a NaN/infinite coordinate, or a non-positive one on a log axis,
/// is skipped and splits the curve. `band` is `(lower, upper)`, paired with
/// `x` the same way. `dashed` draws the curve dashed; `markers` adds a marker
/// (shape chosen per series) at every point.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub label: String,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub band: Option<(Vec<f64>, Vec<f64>)>,
    pub dashed: bool,
    pub markers: bool,
}

/// A horizontal reference line (e.g. chance level 0.5), drawn dotted and labelled.
#[derive(Debug, Clone, Default)]
pub struct HLine {
    pub y: f64,
    pub label: String,
}

/// One panel of [`line_panels`]: curves with optional bands and reference
/// lines. `x_range`/`y_range` fix the axis ranges (data outside is clipped);
/// `None` fits the data with a small margin. `log_x`/`log_y` make the axis
/// logarithmic (base 10).
#[derive(Debug, Clone, Default)]
pub struct LinePanel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub log_x: bool,
    pub log_y: bool,
    pub x_range: Option<(f64, f64)>,
    pub y_range: Option<(f64, f64)>,
    pub series: Vec<Series>,
    pub hlines: Vec<HLine>,
}

/// Panels laid out in a grid of `cols` columns; writes stem.png and stem.svg.
///
/// A panel gets a legend when it has more than one labelled series (see the
/// module docs for where it goes). `stem` is the path without extension;
/// its directory is created if missing. Fails with [`Error::BadInput`]
/// (naming the file) when `panels` is empty or drawing fails, and
/// [`Error::Io`] when the directory cannot be created or the finished file
/// cannot be moved into place.
pub fn line_panels(stem: &Path, panels: &[LinePanel], cols: usize) -> Result<()> {
    save(stem, Fig::Lines(panels), cols)
}

/// Overlaid histograms (e.g. <w_j, mu1> and <w_j, mu2> over neurons), one panel each.
///
/// All groups of a panel share the same `bins` equal-width bins over the
/// range of their finite values (`bins == 0` picks a count from the data
/// size); each group is drawn as a translucent filled step outline, and the
/// y axis counts values per bin. A legend is drawn when there is more than
/// one group.
#[derive(Debug, Clone, Default)]
pub struct HistPanel {
    pub title: String,
    pub x_label: String,
    pub groups: Vec<(String, Vec<f64>)>,
    pub bins: usize,
}

/// Histogram panels in a grid of `cols` columns; writes stem.png and stem.svg.
/// Errors as for [`line_panels`].
pub fn hist_panels(stem: &Path, panels: &[HistPanel], cols: usize) -> Result<()> {
    save(stem, Fig::Hists(panels), cols)
}

/// Points in a plane coloured by class (0 or 1, drawn as two marker styles with legend labels `class_labels`),
/// over an optional decision field: `field` values on a regular grid, x_grid.len() x y_grid.len(), field[ix][iy];
/// shade the region where value > 0 lightly in one colour and < 0 in another, and draw the zero contour if easy
/// (a marching-squares outline or just the cell boundary between signs is fine).
///
/// Class 0 is drawn as blue circles, any other class as vermillion
/// triangles. The region where the field is > 0 is shaded light blue (the
/// class-0 colour) and the region where it is < 0 light vermillion (the
/// class-1 colour), so a field that is positive on class 0 shows agreement
/// as matching colours. The zero level set is traced by marching squares
/// and drawn as a black line ("decision boundary" in the legend).
#[derive(Debug, Clone, Default)]
pub struct ScatterPanel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub points: Vec<(f64, f64, usize)>,
    pub class_labels: [String; 2],
    #[allow(clippy::type_complexity)]
    pub field: Option<(Vec<f64>, Vec<f64>, Vec<Vec<f64>>)>,
}

/// Scatter panels in a grid of `cols` columns; writes stem.png and stem.svg.
/// Errors as for [`line_panels`].
pub fn scatter_panels(stem: &Path, panels: &[ScatterPanel], cols: usize) -> Result<()> {
    save(stem, Fig::Scatters(panels), cols)
}

/// A heatmap: values[ix][iy] at (x_values[ix], y_values[iy]) (cell centres; NaN = missing, drawn grey),
/// with a colour bar labelled `value_label`, optional log axes (cells then span geometric midpoints),
/// and overlay curves (e.g. a theoretical boundary) drawn as lines on top with a legend.
///
/// `value_range` fixes the ends of the colour scale (values outside are
/// drawn in the end colour); `None` uses the finite values' range. Missing
/// entries of a ragged `values` count as NaN. Overlays are drawn with a white
/// halo so they stay visible on any cell colour; a "no data" swatch joins
/// the legend when some cell is NaN.
#[derive(Debug, Clone, Default)]
pub struct HeatmapPanel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_values: Vec<f64>,
    pub y_values: Vec<f64>,
    pub values: Vec<Vec<f64>>,
    pub value_label: String,
    pub value_range: Option<(f64, f64)>,
    pub log_x: bool,
    pub log_y: bool,
    pub overlays: Vec<Series>,
}

/// Heatmap panels in a grid of `cols` columns; writes stem.png and stem.svg.
/// Errors as for [`line_panels`].
pub fn heatmap_panels(stem: &Path, panels: &[HeatmapPanel], cols: usize) -> Result<()> {
    save(stem, Fig::Heatmaps(panels), cols)
}

// ------------------------------------------------------------------ style

const FONT: &str = "sans-serif";
const TITLE_PX: f64 = 34.0;
const DESC_PX: f64 = 30.0;
const TICK_PX: f64 = 26.0;
const LEGEND_PX: f64 = 23.0;
const NOTE_PX: f64 = 22.0;
/// The width a figure aims at; panels are never narrower than `MIN_PANEL_W`.
const FIG_W: u32 = 1600;
const MIN_PANEL_W: u32 = 460;
const MARGIN: u32 = 18;
const TICK_LEN: i32 = 8;
const LINE_W: u32 = 3;

/// Okabe-Ito, in the order series get them (yellow left out: too pale on white).
const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(230, 159, 0),   // orange
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(0, 0, 0),       // black
];
const REF_GREY: RGBColor = RGBColor(90, 90, 90);
const MISSING_GREY: RGBColor = RGBColor(200, 200, 200);

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

fn series_color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// `c` blended with white, `alpha` of the colour kept (an opaque tint).
fn tint(c: RGBColor, alpha: f64) -> RGBColor {
    let f = |v: u8| (255.0 - (255.0 - f64::from(v)) * alpha).round() as u8;
    RGBColor(f(c.0), f(c.1), f(c.2))
}

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

fn font(px: f64) -> TextStyle<'static> {
    TextStyle::from((FONT, px).into_font()).color(&BLACK)
}

// ------------------------------------------------------------------ files

static FONT_OK: OnceLock<bool> = OnceLock::new();

/// Registers the bundled DejaVu Sans as "sans-serif" (once per process):
/// with the `ab_glyph` feature plotters has no system fonts.
fn ensure_font() -> bool {
    *FONT_OK.get_or_init(|| {
        plotters::style::register_font(
            FONT,
            FontStyle::Normal,
            include_bytes!("../assets/DejaVuSans.ttf"),
        )
        .is_ok()
    })
}

/// The panels of one figure; a figure is drawn once per backend.
enum Fig<'a> {
    Lines(&'a [LinePanel]),
    Hists(&'a [HistPanel]),
    Scatters(&'a [ScatterPanel]),
    Heatmaps(&'a [HeatmapPanel]),
}

type Area<DB> = DrawingArea<DB, Shift>;
type DrawResult<T, DB> =
    std::result::Result<T, DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;
type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<Axis, Axis>>;
/// A clipped curve piece (colour, dashed, points), transformed coordinates.
type Curve = (RGBColor, bool, Vec<(f64, f64)>);
/// Markers to draw (shape, colour, points), transformed coordinates.
type Marks = (usize, RGBColor, Vec<(f64, f64)>);

impl Fig<'_> {
    fn len(&self) -> usize {
        match self {
            Fig::Lines(p) => p.len(),
            Fig::Hists(p) => p.len(),
            Fig::Scatters(p) => p.len(),
            Fig::Heatmaps(p) => p.len(),
        }
    }

    /// Panel height over width.
    fn aspect(&self) -> f64 {
        match self {
            Fig::Lines(_) | Fig::Hists(_) => 0.72,
            Fig::Scatters(_) => 0.95,
            Fig::Heatmaps(_) => 0.78,
        }
    }

    /// Panel `i`; `own_legend` false leaves its legend to the figure.
    fn draw_panel<DB: DrawingBackend>(
        &self,
        i: usize,
        area: &Area<DB>,
        own_legend: bool,
    ) -> DrawResult<(), DB> {
        match self {
            Fig::Lines(p) => line_panel(area, &p[i], own_legend),
            Fig::Hists(p) => hist_panel(area, &p[i], own_legend),
            Fig::Scatters(p) => scatter_panel(area, &p[i], own_legend),
            Fig::Heatmaps(p) => heatmap_panel(area, &p[i], own_legend),
        }
    }

    fn entries(&self, i: usize) -> Vec<Entry> {
        match self {
            Fig::Lines(p) => line_entries(&p[i]),
            Fig::Hists(p) => hist_entries(&p[i]),
            Fig::Scatters(p) => scatter_entries(&p[i]),
            Fig::Heatmaps(p) => heatmap_entries(&p[i]),
        }
    }

    /// One legend for the whole figure, when every panel has the same
    /// non-empty legend and there are several panels.
    fn shared_legend(&self) -> Option<Vec<Entry>> {
        if self.len() < 2 {
            return None;
        }
        let first = self.entries(0);
        let same = (1..self.len()).all(|i| self.entries(i) == first);
        (same && !first.is_empty()).then_some(first)
    }
}

/// Rows and columns of a legend strip `width` pixels wide.
fn strip_grid(entries: &[Entry], width: u32) -> (usize, usize) {
    let widest = entries.iter().map(entry_w).max().unwrap_or(0);
    let avail = width as i32 - 2 * MARGIN as i32;
    let cols = (1..=entries.len().max(1))
        .rev()
        .find(|&c| c == 1 || c as i32 * (widest + LEG_GAP) <= avail)
        .unwrap_or(1);
    (entries.len().div_ceil(cols), cols)
}

/// The height of a legend strip with `rows` rows.
fn strip_h(rows: usize) -> u32 {
    (rows as i32 * legend_row_h() + LEG_PAD) as u32
}

/// Grid shape and figure size in pixels: (rows, cols, width, height).
fn layout(n: usize, cols: usize, aspect: f64) -> (usize, usize, u32, u32) {
    let cols = cols.clamp(1, n.max(1));
    let rows = n.div_ceil(cols).max(1);
    let pw = (FIG_W / cols as u32).max(MIN_PANEL_W);
    let ph = ((f64::from(pw) * aspect).round() as u32).clamp(440, 1000);
    (rows, cols, pw * cols as u32, ph * rows as u32)
}

/// A legend shared by all panels: in the first empty grid cell, or in a
/// strip of `height` pixels under the grid with `cols` entries a row.
struct Shared {
    entries: Vec<Entry>,
    in_cell: bool,
    cols: usize,
    height: u32,
}

fn render<DB: DrawingBackend>(
    root: &Area<DB>,
    fig: &Fig,
    rows: usize,
    cols: usize,
    shared: &Option<Shared>,
) -> DrawResult<(), DB> {
    root.fill(&WHITE)?;
    let (_, h) = root.dim_in_pixel();
    let (panels, strip) = match shared {
        Some(sh) if !sh.in_cell => {
            let (a, b) = root.split_vertically(h - sh.height);
            (a, Some(b))
        }
        _ => (root.clone(), None),
    };
    let cells = panels.split_evenly((rows, cols));
    for (i, area) in cells.iter().enumerate().take(fig.len()) {
        fig.draw_panel(i, area, shared.is_none())?;
    }
    match (shared, strip) {
        (Some(sh), Some(strip)) => draw_strip(&strip, &sh.entries, sh.cols)?,
        (Some(sh), None) => {
            if let Some(cell) = cells.get(fig.len()) {
                let (_, ch) = cell.dim_in_pixel();
                let top = ch.saturating_sub(strip_h(sh.entries.len())) / 2;
                draw_strip(&cell.margin(top, 0, 0, 0), &sh.entries, 1)?;
            }
        }
        _ => {}
    }
    root.present()
}

/// Draws `fig` to `<stem>.png` and `<stem>.svg`, each atomically.
fn save(stem: &Path, fig: Fig, cols: usize) -> Result<()> {
    let name = stem
        .file_name()
        .ok_or_else(|| Error::bad(format!("{}: figure path has no file name", stem.display())))?
        .to_string_lossy()
        .into_owned();
    let dir = match stem.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let png = dir.join(format!("{name}.png"));
    let svg = dir.join(format!("{name}.svg"));
    if fig.len() == 0 {
        return Err(Error::bad(format!("{}: no panels to draw", png.display())));
    }
    if !ensure_font() {
        return Err(Error::bad(format!(
            "{}: the bundled font assets/DejaVuSans.ttf could not be loaded",
            png.display()
        )));
    }
    fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let (rows, cols, w, mut h) = layout(fig.len(), cols, fig.aspect());
    let shared = fig.shared_legend().map(|entries| {
        // An empty cell of the grid holds the legend if it fits there.
        let (cw, ch) = (w / cols as u32, h / rows as u32);
        let widest = entries.iter().map(entry_w).max().unwrap_or(0);
        if rows * cols > fig.len()
            && widest + 2 * MARGIN as i32 <= cw as i32
            && strip_h(entries.len()) <= ch
        {
            return Shared {
                entries,
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
            in_cell: false,
            cols: c,
            height,
        }
    });

    // BitMapBackend picks the encoder from the extension: keep ".png" last.
    let png_tmp = dir.join(format!(".{name}.tmp.png"));
    let drawn = {
        let root = BitMapBackend::new(&png_tmp, (w, h)).into_drawing_area();
        render(&root, &fig, rows, cols, &shared).map_err(|e| e.to_string())
    };
    finish(drawn, &png_tmp, &png)?;

    let svg_tmp = dir.join(format!(".{name}.svg.tmp"));
    let drawn = {
        let root = SVGBackend::new(&svg_tmp, (w, h)).into_drawing_area();
        render(&root, &fig, rows, cols, &shared).map_err(|e| e.to_string())
    };
    finish(drawn, &svg_tmp, &svg)
}

/// Moves a drawn temporary file onto its final name, or removes it.
fn finish(drawn: std::result::Result<(), String>, tmp: &Path, dst: &Path) -> Result<()> {
    if let Err(e) = drawn {
        let _ = fs::remove_file(tmp);
        return Err(Error::bad(format!("{}: {e}", dst.display())));
    }
    if !tmp.is_file() {
        return Err(Error::bad(format!(
            "{}: the plotting backend wrote no file",
            dst.display()
        )));
    }
    fs::rename(tmp, dst).map_err(|e| {
        let _ = fs::remove_file(tmp);
        Error::io(dst, e)
    })
}

// ------------------------------------------------------------------ axes

/// `v` in an axis' transformed coordinates, or `None` where it cannot be drawn.
fn tv(log: bool, v: f64) -> Option<f64> {
    if !v.is_finite() {
        None
    } else if log {
        (v > 0.0).then(|| v.log10())
    } else {
        Some(v)
    }
}

/// A linear or base-10 log axis over `a..b` in transformed coordinates
/// (`a < b`), with `n` the most labelled ticks it may show.
#[derive(Clone, Copy, Debug)]
struct Axis {
    a: f64,
    b: f64,
    log: bool,
    n: usize,
}

impl Axis {
    fn new((a, b): (f64, f64), log: bool) -> Self {
        Axis { a, b, log, n: 6 }
    }

    fn with_n(self, n: usize) -> Self {
        Axis {
            n: n.max(2),
            ..self
        }
    }

    fn t(&self, v: f64) -> Option<f64> {
        tv(self.log, v)
    }

    /// `t` as a fraction of the axis (0 at `a`, 1 at `b`).
    fn frac(&self, t: f64) -> f64 {
        (t - self.a) / (self.b - self.a)
    }

    /// The labelled ticks, at most `n`, in transformed coordinates.
    fn ticks(&self, n: usize) -> Vec<f64> {
        if self.log {
            log_ticks(self.a, self.b, n, None)
        } else {
            linear_ticks(self.a, self.b, n).0
        }
    }

    /// Every grid line: the ticks plus, on a log axis, the minor 2..9 × 10ᵏ.
    fn grid(&self, n: usize, limit: usize) -> Vec<f64> {
        if self.log {
            log_ticks(self.a, self.b, n, Some(limit))
        } else {
            self.ticks(n)
        }
    }

    fn label(&self, t: f64) -> String {
        if !self.log {
            let (ticks, step) = linear_ticks(self.a, self.b, self.n);
            let max_abs = ticks.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            return linear_label(t, step, max_abs);
        }
        let v = 10f64.powf(t);
        // Plain numbers (0.01 ... 1000) when every power of ten shown is in that range.
        let plain = (self.a - 1e-9).ceil() >= -2.0 && (self.b + 1e-9).floor() <= 3.0;
        let k = t.round();
        if (t - k).abs() < 1e-9 {
            if plain {
                format!("{}", round_sig(v, 3))
            } else {
                format!("10{}", superscript(k as i64))
            }
        } else {
            let e = t.floor();
            if plain || (-2.0..=3.0).contains(&e) {
                format!("{}", round_sig(v, 3))
            } else {
                let m = round_sig(v / 10f64.powf(e), 3);
                format!("{m}×10{}", superscript(e as i64))
            }
        }
    }
}

impl Ranged for Axis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let f = self.frac(*value);
        // Everything drawn is clipped to the axis first; the clamp only keeps
        // stray pixel coordinates sane.
        let f = if f.is_nan() {
            0.0
        } else {
            f.clamp(-20.0, 21.0)
        };
        limit.0 + (f * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        match hint.weight() {
            KeyPointWeight::Bold => self.ticks(hint.max_num_points()),
            KeyPointWeight::Any => self.grid(hint.bold_points(), hint.max_num_points()),
        }
    }

    fn range(&self) -> Range<f64> {
        self.a..self.b
    }
}

impl ValueFormatter<f64> for Axis {
    fn format(value: &f64) -> String {
        format!("{}", round_sig(*value, 4))
    }

    fn format_ext(&self, value: &f64) -> String {
        self.label(*value)
    }
}

/// Ticks at multiples of a 1-2-2.5-5 step, at most `n` of them (but at
/// least two where the range allows), and the step.
fn linear_ticks(a: f64, b: f64, n: usize) -> (Vec<f64>, f64) {
    let n = n.max(2);
    let span = b - a;
    if !span.is_finite() || span <= 0.0 {
        return (vec![a], 1.0);
    }
    let mag = 10f64.powf((span / n as f64).log10().floor() - 1.0);
    let make = |step: f64| -> Vec<f64> {
        let first = (a / step - 1e-9).ceil() as i64;
        let last = (b / step + 1e-9).floor() as i64;
        (first..=last)
            .map(|k| {
                let v = k as f64 * step;
                if v.abs() < step * 1e-9 {
                    0.0
                } else {
                    v
                }
            })
            .collect()
    };
    let mut prev: Option<(Vec<f64>, f64)> = None;
    for scale in [1.0, 10.0, 100.0, 1000.0] {
        for m in [1.0, 2.0, 2.5, 5.0] {
            let step = m * scale * mag;
            let ticks = make(step);
            if ticks.len() <= n {
                if ticks.len() < 2 {
                    if let Some(p) = prev.filter(|p| p.0.len() <= n + 2) {
                        return p;
                    }
                }
                return (ticks, step);
            }
            prev = Some((ticks, step));
        }
    }
    (vec![a, b], span)
}

/// Log-axis ticks in log10 coordinates: powers of ten (every `stride`-th when
/// there are too many); 1-2-5 or 1..9 × 10ᵏ on an axis shorter than two
/// decades' worth of powers; plain linear ticks on a very short axis. With
/// `minor = Some(limit)` returns the grid lines instead (adding 2..9 × 10ᵏ
/// when at most `limit` of them fit).
fn log_ticks(a: f64, b: f64, n: usize, minor: Option<usize>) -> Vec<f64> {
    let n = n.max(2);
    let eps = 1e-9;
    let in_range = |t: f64| t >= a - eps && t <= b + eps;
    let k0 = (a - eps).ceil() as i64;
    let k1 = (b + eps).floor() as i64;
    let with_mantissas = |ms: &[f64]| -> Vec<f64> {
        let mut out = Vec::new();
        for k in (a.floor() as i64)..=(b.ceil() as i64) {
            for &m in ms {
                let t = k as f64 + m.log10();
                if in_range(t) {
                    out.push(t);
                }
            }
        }
        out
    };
    let all_minor: [f64; 9] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
    if k1 - k0 + 1 >= 2 {
        let decades = (k1 - k0 + 1) as usize;
        let stride = decades.div_ceil(n).max(1) as i64;
        let majors: Vec<f64> = (k0..=k1)
            .filter(|k| k.rem_euclid(stride) == 0)
            .map(|k| k as f64)
            .collect();
        return match minor {
            None => majors,
            Some(limit) if stride == 1 => {
                let m = with_mantissas(&all_minor);
                if m.len() <= limit.max(n) {
                    m
                } else {
                    majors
                }
            }
            Some(_) => (k0..=k1).map(|k| k as f64).collect(),
        };
    }
    for ms in [&[1.0, 2.0, 5.0][..], &all_minor[..]] {
        let t = with_mantissas(ms);
        if t.len() >= 2 && t.len() <= n {
            return match minor {
                Some(limit) if ms.len() < 9 => {
                    let m = with_mantissas(&all_minor);
                    if m.len() <= limit.max(n) {
                        m
                    } else {
                        t
                    }
                }
                _ => t,
            };
        }
    }
    let (lo, hi) = (10f64.powf(a), 10f64.powf(b));
    linear_ticks(lo, hi, n)
        .0
        .into_iter()
        .filter(|v| *v > 0.0)
        .map(f64::log10)
        .filter(|t| in_range(*t))
        .collect()
}

fn round_sig(v: f64, sig: i32) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let p = 10f64.powi(sig - 1 - v.abs().log10().floor() as i32);
    (v * p).round() / p
}

/// The fewest decimals that print `step` exactly (at most 12).
fn decimals(step: f64) -> usize {
    (0..=12)
        .find(|&d| {
            let s = step * 10f64.powi(d as i32);
            (s - s.round()).abs() < 1e-6 * s.abs().max(1.0)
        })
        .unwrap_or(12)
}

fn linear_label(v: f64, step: f64, max_abs: f64) -> String {
    if v.abs() < step * 1e-6 {
        return "0".into();
    }
    if !(1e-3..1e5).contains(&max_abs) {
        let e = max_abs.log10().floor();
        let scale = 10f64.powf(e);
        return format!(
            "{:.*}×10{}",
            decimals(step / scale),
            v / scale,
            superscript(e as i64)
        );
    }
    format!("{:.*}", decimals(step), v)
}

fn superscript(k: i64) -> String {
    k.to_string()
        .chars()
        .map(|c| match c {
            '-' => '⁻',
            '0' => '⁰',
            '1' => '¹',
            '2' => '²',
            '3' => '³',
            '4' => '⁴',
            '5' => '⁵',
            '6' => '⁶',
            '7' => '⁷',
            '8' => '⁸',
            _ => '⁹',
        })
        .collect()
}

/// An axis range in transformed coordinates: `fixed` when it is usable,
/// else the data's range widened by `pad` of its span on each side; an
/// empty or single-valued range is padded to something drawable.
fn axis_range(
    log: bool,
    fixed: Option<(f64, f64)>,
    data: impl IntoIterator<Item = f64>,
    pad: f64,
) -> (f64, f64) {
    if let Some((lo, hi)) = fixed {
        if let (Some(a), Some(b)) = (tv(log, lo), tv(log, hi)) {
            if a != b {
                return (a.min(b), a.max(b));
            }
            return widen(a, log);
        }
    }
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for t in data.into_iter().filter_map(|v| tv(log, v)) {
        lo = lo.min(t);
        hi = hi.max(t);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo <= 1e-12 * lo.abs().max(hi.abs()).max(1e-300) {
        return widen(lo, log);
    }
    let s = (hi - lo) * pad;
    (lo - s, hi + s)
}

/// A drawable range around the single value `t`.
fn widen(t: f64, log: bool) -> (f64, f64) {
    let d = if log {
        0.5
    } else if t == 0.0 {
        1.0
    } else {
        t.abs() * 0.1
    };
    (t - d, t + d)
}

// ------------------------------------------------------------------ geometry

/// The visible rectangle in transformed coordinates.
#[derive(Clone, Copy)]
struct Rect {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
}

impl Rect {
    fn of(x: &Axis, y: &Axis) -> Self {
        Rect {
            x0: x.a,
            x1: x.b,
            y0: y.a,
            y1: y.b,
        }
    }

    fn contains(&self, (x, y): (f64, f64)) -> bool {
        let ex = (self.x1 - self.x0) * 1e-9;
        let ey = (self.y1 - self.y0) * 1e-9;
        x >= self.x0 - ex && x <= self.x1 + ex && y >= self.y0 - ey && y <= self.y1 + ey
    }

    /// Position as fractions of the rectangle (y up).
    fn norm(&self, (x, y): (f64, f64)) -> (f64, f64) {
        (
            (x - self.x0) / (self.x1 - self.x0),
            (y - self.y0) / (self.y1 - self.y0),
        )
    }
}

/// Liang-Barsky: the part of segment p-q inside `r`, as parameters (t0, t1).
fn clip_segment(p: (f64, f64), q: (f64, f64), r: &Rect) -> Option<(f64, f64)> {
    let (dx, dy) = (q.0 - p.0, q.1 - p.1);
    let mut t0 = 0.0f64;
    let mut t1 = 1.0f64;
    for (den, num) in [
        (-dx, p.0 - r.x0),
        (dx, r.x1 - p.0),
        (-dy, p.1 - r.y0),
        (dy, r.y1 - p.1),
    ] {
        if den == 0.0 {
            if num < 0.0 {
                return None;
            }
        } else {
            let t = num / den;
            if den < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
        }
    }
    (t0 <= t1).then_some((t0, t1))
}

/// The visible pieces of a polyline.
fn clip_polyline(pts: &[(f64, f64)], r: &Rect) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut cur: Vec<(f64, f64)> = Vec::new();
    for w in pts.windows(2) {
        let (p, q) = (w[0], w[1]);
        let Some((t0, t1)) = clip_segment(p, q, r) else {
            if cur.len() > 1 {
                out.push(std::mem::take(&mut cur));
            }
            cur.clear();
            continue;
        };
        let at = |t: f64| (p.0 + (q.0 - p.0) * t, p.1 + (q.1 - p.1) * t);
        if t0 > 0.0 || cur.is_empty() {
            if cur.len() > 1 {
                out.push(std::mem::take(&mut cur));
            }
            cur = vec![at(t0)];
        }
        cur.push(at(t1));
        if t1 < 1.0 {
            out.push(std::mem::take(&mut cur));
        }
    }
    if cur.len() > 1 {
        out.push(cur);
    }
    out
}

/// Sutherland-Hodgman: polygon `poly` clipped to `r`.
fn clip_polygon(poly: &[(f64, f64)], r: &Rect) -> Vec<(f64, f64)> {
    type Edge = (fn(&Rect, (f64, f64)) -> f64, u8);
    // Signed distance inside each edge (>= 0 inside).
    let edges: [Edge; 4] = [
        (|r, p| p.0 - r.x0, 0),
        (|r, p| r.x1 - p.0, 1),
        (|r, p| p.1 - r.y0, 2),
        (|r, p| r.y1 - p.1, 3),
    ];
    let mut cur = poly.to_vec();
    for (dist, _) in edges {
        if cur.is_empty() {
            break;
        }
        let mut next = Vec::with_capacity(cur.len() + 4);
        for i in 0..cur.len() {
            let p = cur[i];
            let q = cur[(i + 1) % cur.len()];
            let (dp, dq) = (dist(r, p), dist(r, q));
            if dp >= 0.0 {
                next.push(p);
            }
            if (dp >= 0.0) != (dq >= 0.0) {
                let t = dp / (dp - dq);
                next.push((p.0 + (q.0 - p.0) * t, p.1 + (q.1 - p.1) * t));
            }
        }
        cur = next;
    }
    cur
}

/// Splits paired coordinates into runs of drawable points (transformed).
fn runs(xs: &[f64], ys: &[f64], x: &Axis, y: &Axis) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    for (&u, &v) in xs.iter().zip(ys) {
        match (x.t(u), y.t(v)) {
            (Some(a), Some(b)) => cur.push((a, b)),
            _ => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Cell edges around centres `c` (transformed, any order): midpoints between
/// neighbours, half a gap beyond the ends. Returns (lower, upper) per centre.
fn cell_edges(c: &[Option<f64>], log: bool) -> Vec<Option<(f64, f64)>> {
    let mut idx: Vec<usize> = (0..c.len()).filter(|&i| c[i].is_some()).collect();
    idx.sort_by(|&i, &j| c[i].unwrap_or(0.0).total_cmp(&c[j].unwrap_or(0.0)));
    let mut out = vec![None; c.len()];
    let vals: Vec<f64> = idx.iter().filter_map(|&i| c[i]).collect();
    for (k, &i) in idx.iter().enumerate() {
        let v = vals[k];
        let lo = if k > 0 {
            (vals[k - 1] + v) / 2.0
        } else {
            f64::NAN
        };
        let hi = if k + 1 < vals.len() {
            (v + vals[k + 1]) / 2.0
        } else {
            f64::NAN
        };
        let (lo, hi) = match (lo.is_nan(), hi.is_nan()) {
            (false, false) => (lo, hi),
            (true, false) => (v - (hi - v), hi),
            (false, true) => (lo, v + (v - lo)),
            (true, true) => widen(v, log),
        };
        out[i] = Some((lo, hi));
    }
    out
}

// ------------------------------------------------------------------ panel frame

/// The largest font size up to `max_px` (not below `min_px`) at which `text`
/// fits in `avail` pixels.
fn fit_font(text: &str, max_px: f64, min_px: f64, avail: u32) -> f64 {
    match text_w(text, max_px) {
        w if w > avail && w > 0 => (max_px * f64::from(avail) / f64::from(w)).max(min_px),
        _ => max_px,
    }
}

/// The panel area below its title.
fn titled<DB: DrawingBackend>(area: &Area<DB>, title: &str) -> DrawResult<Area<DB>, DB> {
    if title.trim().is_empty() {
        return Ok(area.margin(MARGIN / 2, 0, 0, 0));
    }
    let (w, _) = area.dim_in_pixel();
    let px = fit_font(title, TITLE_PX, 18.0, w.saturating_sub(2 * MARGIN));
    let area = area.margin(MARGIN / 2, 0, 0, 0);
    area.titled(title, font(px))
}

fn max_label_width(axis: &Axis, n: usize) -> u32 {
    let ax = axis.with_n(n);
    ax.ticks(n)
        .iter()
        .map(|&t| text_w(&ax.label(t), TICK_PX))
        .max()
        .unwrap_or(0)
}

/// Label-area sizes that fit the axes' tick labels and descriptions.
struct FrameSize {
    nx: usize,
    ny: usize,
    x_area: u32,
    y_area: u32,
    x_desc_px: f64,
    y_desc_px: f64,
    /// Extra right margin for a last x label that overhangs the plot.
    overhang: u32,
}

/// Chooses tick counts so that labels do not overlap, and label-area sizes
/// that hold them; `right` pixels are kept free on the right (colour bar).
fn frame_size<DB: DrawingBackend>(
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
    }
}

/// Builds a chart over `x` by `y`, draws its grid, ticks, labels and frame.
fn frame<'a, DB: DrawingBackend>(
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

/// A box around the plotting area.
fn draw_box<'a, DB: DrawingBackend + 'a>(chart: &Chart<'a, DB>) -> DrawResult<(), DB> {
    let pa = chart.plotting_area().strip_coord_spec();
    let (w, h) = pa.dim_in_pixel();
    pa.draw(&Rectangle::new(
        [(0, 0), (w as i32 - 1, h as i32 - 1)],
        BLACK.stroke_width(2),
    ))?;
    Ok(())
}

/// What a legend entry shows left of its label.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Glyph {
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
}

#[derive(Clone, PartialEq, Debug)]
struct Entry {
    label: String,
    glyph: Glyph,
}

const GLYPH_W: i32 = 44;
const LEG_PAD: i32 = 12;
const LEG_GAP: i32 = 28;

fn legend_row_h() -> i32 {
    (LEGEND_PX * 1.45).round() as i32
}

/// The width of `text` in pixels at `px`.
fn text_w(text: &str, px: f64) -> u32 {
    (FONT, px)
        .into_font()
        .box_size(text)
        .map(|s| s.0)
        .unwrap_or(0)
}

fn entry_w(e: &Entry) -> i32 {
    GLYPH_W + 10 + text_w(&e.label, LEGEND_PX) as i32
}

/// Where a panel's legend goes.
enum LegendPlace {
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
fn sample_polyline(pts: &[(f64, f64)], r: &Rect, out: &mut Vec<(f64, f64)>) {
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
fn plan_legend<DB: DrawingBackend>(
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

/// Splits off the strip for a legend placed below; returns (plot area, strip).
fn legend_split<DB: DrawingBackend>(
    area: Area<DB>,
    place: &LegendPlace,
) -> (Area<DB>, Option<Area<DB>>) {
    match place {
        LegendPlace::Below { height, .. } => {
            let (_, h) = area.dim_in_pixel();
            let (main, strip) = area.split_vertically(h.saturating_sub(*height));
            (main, Some(strip))
        }
        _ => (area, None),
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
    }
    let style = font(LEGEND_PX).pos(Pos::new(HPos::Left, VPos::Center));
    area.draw_text(&e.label, &style, (x + GLYPH_W + 10, y))
}

/// Draws the legend where `place` says: inside `chart`'s plot or in `strip`.
fn draw_legend<'a, DB: DrawingBackend + 'a>(
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
fn draw_strip<DB: DrawingBackend>(
    strip: &Area<DB>,
    entries: &[Entry],
    cols: usize,
) -> DrawResult<(), DB> {
    let row = legend_row_h();
    let cols = cols.max(1);
    let (w, _) = strip.dim_in_pixel();
    let widths: Vec<i32> = entries.iter().map(entry_w).collect();
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
    Ok(())
}

/// The plot's approximate pixel size in `area` (for legend placement).
fn approx_plot<DB: DrawingBackend>(
    area: &Area<DB>,
    x: &Axis,
    y: &Axis,
    x_desc: &str,
    y_desc: &str,
    right: u32,
) -> (u32, u32) {
    let fs = frame_size(area, x, y, x_desc, y_desc, right);
    let (w, h) = area.dim_in_pixel();
    (
        w.saturating_sub(2 * MARGIN + fs.y_area + right),
        h.saturating_sub(2 * MARGIN + fs.x_area),
    )
}

// ------------------------------------------------------------------ elements

/// The outline of marker `shape` (0 circle, 1 square, 2 triangle, 3 diamond,
/// 4 cross, then repeating) of radius `r`, around (0, 0) in pixels.
fn marker_outline(shape: usize, r: i32) -> Vec<(i32, i32)> {
    let rf = f64::from(r);
    let poly = |pts: &[(f64, f64)]| -> Vec<(i32, i32)> {
        pts.iter()
            .map(|&(x, y)| ((x * rf).round() as i32, (y * rf).round() as i32))
            .collect()
    };
    match shape % 5 {
        0 => (0..20)
            .map(|k| {
                let a = std::f64::consts::TAU * f64::from(k) / 20.0;
                ((rf * a.cos()).round() as i32, (rf * a.sin()).round() as i32)
            })
            .collect(),
        1 => poly(&[(-0.85, -0.85), (0.85, -0.85), (0.85, 0.85), (-0.85, 0.85)]),
        2 => poly(&[(0.0, -1.25), (1.15, 0.8), (-1.15, 0.8)]),
        3 => poly(&[(0.0, -1.25), (1.0, 0.0), (0.0, 1.25), (-1.0, 0.0)]),
        _ => {
            let (a, b) = (1.0, 0.3);
            poly(&[
                (-a, -a + b),
                (-a + b, -a),
                (0.0, -b),
                (a - b, -a),
                (a, -a + b),
                (b, 0.0),
                (a, a - b),
                (a - b, a),
                (0.0, b),
                (-a + b, a),
                (-a, a - b),
                (-b, 0.0),
            ])
        }
    }
}

type Marker<C, DB> = ComposedElement<C, DB, Polygon<(i32, i32)>, PathElement<(i32, i32)>>;
type Dot<C, DB> = ComposedElement<C, DB, Circle<(i32, i32), i32>, Circle<(i32, i32), i32>>;

/// A filled circle with a thin white edge (an SVG circle, not a polygon).
fn dot<DB: DrawingBackend, C>(at: C, color: RGBColor, r: i32) -> Dot<C, DB> {
    EmptyElement::at(at)
        + Circle::new((0, 0), r, color.filled())
        + Circle::new((0, 0), r, edge_style(r))
}

/// The white edge of a marker; none on small markers, where it would
/// swamp the colour.
fn edge_style(r: i32) -> ShapeStyle {
    if r >= 5 {
        WHITE.stroke_width(1)
    } else {
        ShapeStyle::from(&WHITE.mix(0.0))
    }
}

/// Whether marker `shape` is the circle (see [`marker_outline`]).
fn is_circle(shape: usize) -> bool {
    matches!(shape % 5, 0)
}

/// Draws markers of `shape` at `points` (transformed coordinates).
fn draw_markers<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    points: Vec<(f64, f64)>,
    shape: usize,
    color: RGBColor,
    r: i32,
) -> DrawResult<(), DB> {
    if is_circle(shape) {
        chart.draw_series(points.into_iter().map(|q| dot(q, color, r)))?;
    } else {
        chart.draw_series(points.into_iter().map(|q| marker(q, shape, color, r)))?;
    }
    Ok(())
}

/// Drops points within 0.7 px of the last one kept (first and last always
/// kept): invisible under a 3 px line, and keeps dense curves' SVG small.
/// `px` is the plot's size in pixels.
fn thin(pts: Vec<(f64, f64)>, r: &Rect, px: (u32, u32)) -> Vec<(f64, f64)> {
    if pts.len() < 3 {
        return pts;
    }
    let sx = f64::from(px.0.max(1)) / (r.x1 - r.x0);
    let sy = f64::from(px.1.max(1)) / (r.y1 - r.y0);
    let last = pts[pts.len() - 1];
    let mut out = Vec::with_capacity(pts.len().min(4 * px.0 as usize + 16));
    let mut kept = pts[0];
    out.push(kept);
    for &q in &pts[1..pts.len() - 1] {
        if ((q.0 - kept.0) * sx).abs() >= 0.7 || ((q.1 - kept.1) * sy).abs() >= 0.7 {
            out.push(q);
            kept = q;
        }
    }
    out.push(last);
    out
}

/// A filled marker with a thin white edge (so overlapping markers stay
/// apart; no edge when `r` < 5).
fn marker<DB: DrawingBackend, C>(at: C, shape: usize, color: RGBColor, r: i32) -> Marker<C, DB> {
    let v = marker_outline(shape, r);
    let mut edge = v.clone();
    edge.extend(v.first().copied());
    EmptyElement::at(at) + Polygon::new(v, color.filled()) + PathElement::new(edge, edge_style(r))
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

/// Draws one curve (already in transformed coordinates and clipped).
fn draw_curve<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    piece: Vec<(f64, f64)>,
    color: RGBColor,
    width: u32,
    dashed: bool,
) -> DrawResult<(), DB> {
    let st = color.stroke_width(width);
    if dashed {
        chart.draw_series(DashedLineSeries::new(piece, 16, 9, st))?;
    } else {
        chart.draw_series(LineSeries::new(piece, st))?;
    }
    Ok(())
}

// ------------------------------------------------------------------ line panels

/// The legend of a line panel: its labelled series, when there are two or more.
fn line_entries(p: &LinePanel) -> Vec<Entry> {
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

fn line_panel<DB: DrawingBackend>(
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
    let plot = approx_plot(&area, &xa, &ya, &p.x_label, &p.y_label, 0);

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

// ------------------------------------------------------------------ histograms

/// The legend of a histogram panel: its groups, when there are two or more.
fn hist_entries(p: &HistPanel) -> Vec<Entry> {
    if p.groups.len() < 2 {
        return Vec::new();
    }
    let entry = |(i, g): (usize, &(String, Vec<f64>))| Entry {
        label: g.0.clone(),
        glyph: Glyph::Bar(series_color(i)),
    };
    p.groups.iter().enumerate().map(entry).collect()
}

fn hist_panel<DB: DrawingBackend>(
    area: &Area<DB>,
    p: &HistPanel,
    own_legend: bool,
) -> DrawResult<(), DB> {
    let area = titled(area, &p.title)?;
    let finite = || {
        p.groups
            .iter()
            .flat_map(|g| g.1.iter().copied().filter(|v| v.is_finite()))
    };
    let n_all = finite().count();
    let (lo, hi) = axis_range(false, None, finite(), 0.0);
    let bins = if p.bins > 0 {
        p.bins.min(10_000)
    } else {
        ((n_all as f64).sqrt().round() as usize).clamp(10, 60)
    };
    let width = (hi - lo) / bins as f64;
    let counts: Vec<Vec<usize>> = p
        .groups
        .iter()
        .map(|(_, vals)| {
            let mut c = vec![0usize; bins];
            for &v in vals.iter().filter(|v| v.is_finite()) {
                let k = (((v - lo) / width).floor().max(0.0) as usize).min(bins - 1);
                c[k] += 1;
            }
            c
        })
        .collect();
    let top = counts.iter().flatten().copied().max().unwrap_or(0).max(1) as f64;
    let pad = (hi - lo) * 0.02;
    let xa = Axis::new((lo - pad, hi + pad), false);
    let ya = Axis::new((0.0, top * 1.08), false);
    let rect = Rect::of(&xa, &ya);
    let edge = |k: usize| lo + width * k as f64;
    let mut occupied = Vec::new();
    let mut outlines: Vec<(RGBColor, Vec<(f64, f64)>)> = Vec::new();
    for (i, c) in counts.iter().enumerate() {
        let color = series_color(i);
        if c.iter().all(|&n| n == 0) {
            continue;
        }
        let mut o = vec![(edge(0), 0.0)];
        for (k, &n) in c.iter().enumerate() {
            o.push((edge(k), n as f64));
            o.push((edge(k + 1), n as f64));
            for f in [0.0, 0.5, 1.0] {
                for g in [0.0, 0.33, 0.67, 1.0] {
                    occupied.push(rect.norm((edge(k) + width * f, n as f64 * g)));
                }
            }
        }
        o.push((edge(bins), 0.0));
        outlines.push((color, o));
    }
    let entries = if own_legend {
        hist_entries(p)
    } else {
        Vec::new()
    };
    let plot = approx_plot(&area, &xa, &ya, &p.x_label, "count", 0);
    let place = plan_legend(&area, &entries, &occupied, plot, true);
    let (main, strip) = legend_split(area, &place);
    let mut chart = frame(&main, xa, ya, &p.x_label, "count", true, 0)?;
    for (color, o) in &outlines {
        chart.draw_series(std::iter::once(Polygon::new(
            o.clone(),
            color.mix(0.28).filled(),
        )))?;
    }
    for (color, o) in outlines {
        chart.draw_series(LineSeries::new(o, color.stroke_width(LINE_W)))?;
    }
    draw_box(&chart)?;
    draw_legend(&chart, strip.as_ref(), &entries, &place)
}

// ------------------------------------------------------------------ scatter

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
fn scatter_entries(p: &ScatterPanel) -> Vec<Entry> {
    let mut entries: Vec<Entry> = (0..2)
        .map(|class| Entry {
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
            label: "decision boundary".into(),
            glyph,
        });
    }
    entries
}

fn scatter_panel<DB: DrawingBackend>(
    area: &Area<DB>,
    p: &ScatterPanel,
    own_legend: bool,
) -> DrawResult<(), DB> {
    let area = titled(area, &p.title)?;
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
        let ex = cell_edges(&gx.iter().map(|&v| tv(false, v)).collect::<Vec<_>>(), false);
        let ey = cell_edges(&gy.iter().map(|&v| tv(false, v)).collect::<Vec<_>>(), false);
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
    let plot = approx_plot(&area, &xa, &ya, &p.x_label, &p.y_label, 0);
    let place = plan_legend(&area, &entries, &occupied, plot, true);
    let (main, strip) = legend_split(area, &place);
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
        for piece in boundary {
            chart.draw_series(std::iter::once(PathElement::new(
                piece,
                BLACK.stroke_width(LINE_W),
            )))?;
        }
    }
    let r = match pts.len() {
        0..=300 => 7,
        301..=3000 => 5,
        _ => 3,
    };
    for class in 0..2 {
        let (color, shape) = (CLASS_COLORS[class], CLASS_SHAPES[class]);
        let mine = pts.iter().filter(|q| q.2 == class).map(|q| (q.0, q.1));
        draw_markers(&mut chart, mine.collect(), shape, color, r)?;
    }
    draw_box(&chart)?;
    draw_legend(&chart, strip.as_ref(), &entries, &place)
}

/// The span covered by cells (transformed), or an empty range.
fn edges_span(e: &[Option<(f64, f64)>]) -> (f64, f64) {
    e.iter()
        .flatten()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), q| {
            (a.min(q.0), b.max(q.1))
        })
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

/// Tick counts a built chart uses (the mesh's choice, for extra grid lines).
trait TickCounts {
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

// ------------------------------------------------------------------ heatmaps

/// The legend of a heatmap: labelled overlays, and "no data" if a cell is missing.
fn heatmap_entries(p: &HeatmapPanel) -> Vec<Entry> {
    let mut entries: Vec<Entry> = p
        .overlays
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.label.is_empty())
        .map(|(k, s)| Entry {
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
    let xs_ok = |i: &usize| tv(p.log_x, p.x_values[*i]).is_some();
    let ys_ok = |j: &usize| tv(p.log_y, p.y_values[*j]).is_some();
    let missing = (0..p.x_values.len()).filter(xs_ok).any(|i| {
        (0..p.y_values.len()).filter(ys_ok).any(|j| {
            !p.values
                .get(i)
                .and_then(|r| r.get(j))
                .is_some_and(|v| v.is_finite())
        })
    });
    if missing {
        entries.push(Entry {
            label: "no data".into(),
            glyph: Glyph::Swatch(MISSING_GREY),
        });
    }
    entries
}

fn heatmap_panel<DB: DrawingBackend>(
    area: &Area<DB>,
    p: &HeatmapPanel,
    own_legend: bool,
) -> DrawResult<(), DB> {
    let area = titled(area, &p.title)?;
    let ex = cell_edges(
        &p.x_values
            .iter()
            .map(|&v| tv(p.log_x, v))
            .collect::<Vec<_>>(),
        p.log_x,
    );
    let ey = cell_edges(
        &p.y_values
            .iter()
            .map(|&v| tv(p.log_y, v))
            .collect::<Vec<_>>(),
        p.log_y,
    );
    let span = |e: &[Option<(f64, f64)>], log: bool| {
        let s = edges_span(e);
        if s.0 < s.1 {
            s
        } else {
            axis_range(log, None, std::iter::empty(), 0.0)
        }
    };
    let xa = Axis::new(span(&ex, p.log_x), p.log_x);
    let ya = Axis::new(span(&ey, p.log_y), p.log_y);
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
    let (vmin, vmax) = axis_range(false, p.value_range, finite, 0.0);

    // Overlays and the legend (always under the panel: it would hide cells).
    let plot = approx_plot(&area, &xa, &ya, &p.x_label, &p.y_label, 0);
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
    let (area, strip) = legend_split(area, &place);

    // Colour bar strip on the right.
    let (w, h) = area.dim_in_pixel();
    let bar_w = 30u32;
    let cb_axis = Axis::new((vmin, vmax), false);
    let bar_h = h.saturating_sub(2 * MARGIN + 80).max(60);
    let n_cb = ((f64::from(bar_h) / (TICK_PX * 2.4)) as usize).clamp(2, 10);
    let cb_lab = max_label_width(&cb_axis, n_cb);
    let cb_desc_px = fit_font(&p.value_label, DESC_PX, 16.0, bar_h);
    let cb_label_area = (2 * TICK_LEN) as u32 + cb_lab + 12 + cb_desc_px as u32 + 8;
    let cb_total = (bar_w + cb_label_area + MARGIN + 16).min(w / 3);
    let (main, bar_area) = area.split_horizontally(w - cb_total);

    let mut chart = frame(&main, xa, ya, &p.x_label, &p.y_label, false, 0)?;
    let mut rects = Vec::with_capacity(shown.len());
    for &(i, j) in &shown {
        let (Some((x0, x1)), Some((y0, y1))) = (ex[i], ey[j]) else {
            continue;
        };
        let v = value(i, j);
        let color = if v.is_finite() {
            viridis((v - vmin) / (vmax - vmin))
        } else {
            MISSING_GREY
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
    let fs = frame_size(&main, &xa, &ya, &p.x_label, &p.y_label, 0);
    let mut bar = ChartBuilder::on(&bar_area)
        .margin_top(MARGIN)
        .margin_bottom(MARGIN)
        .margin_left(8)
        .margin_right(MARGIN)
        .x_label_area_size(fs.x_area)
        .set_label_area_size(LabelAreaPosition::Right, cb_label_area)
        .build_cartesian_2d(RangedCoordf64::from(0.0..1.0), cb_axis.with_n(n_cb))?;
    bar.configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_labels(n_cb)
        .y_desc(p.value_label.as_str())
        .y_label_style(font(TICK_PX))
        .axis_desc_style(font(cb_desc_px))
        .axis_style(BLACK.stroke_width(2))
        .set_all_tick_mark_size(TICK_LEN)
        .draw()?;
    let steps = 256;
    bar.draw_series((0..steps).map(|k| {
        let f0 = f64::from(k) / f64::from(steps);
        let f1 = f64::from(k + 1) / f64::from(steps);
        let (v0, v1) = (vmin + (vmax - vmin) * f0, vmin + (vmax - vmin) * f1);
        Rectangle::new([(0.0, v0), (1.0, v1)], viridis((f0 + f1) / 2.0).filled())
    }))?;
    let pa = bar.plotting_area().strip_coord_spec();
    let (bw, bh) = pa.dim_in_pixel();
    pa.draw(&Rectangle::new(
        [(0, 0), (bw as i32 - 1, bh as i32 - 1)],
        BLACK.stroke_width(2),
    ))?;
    Ok(())
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

// ------------------------------------------------------------------ tests

#[cfg(test)]
mod tests {
    use super::*;

    fn check(stem: &Path) {
        let png = stem.with_file_name(format!(
            "{}.png",
            stem.file_name().unwrap().to_string_lossy()
        ));
        let svg = stem.with_file_name(format!(
            "{}.svg",
            stem.file_name().unwrap().to_string_lossy()
        ));
        assert!(png.is_file(), "{} missing", png.display());
        assert!(svg.is_file(), "{} missing", svg.display());
        assert!(fs::metadata(&png).unwrap().len() > 0);
        assert!(fs::metadata(&svg).unwrap().len() > 0);
        let leftovers: Vec<_> = fs::read_dir(stem.parent().unwrap())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains("tmp"))
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    }

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

    #[test]
    fn hist_panels_writes_png_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("hist");
        let a: Vec<f64> = (0..500)
            .map(|i| (f64::from(i) * 0.37).sin() * 2.0)
            .collect();
        let b: Vec<f64> = (0..500)
            .map(|i| (f64::from(i) * 0.11).cos() + 1.0)
            .collect();
        let panels = [
            HistPanel {
                title: "t = 0".into(),
                x_label: "projection".into(),
                groups: vec![("<w, mu1>".into(), a), ("<w, mu2>".into(), b)],
                bins: 30,
            },
            HistPanel {
                title: "constant".into(),
                x_label: "v".into(),
                groups: vec![("c".into(), vec![3.0; 10])],
                bins: 0,
            },
            HistPanel {
                title: "empty".into(),
                x_label: "v".into(),
                groups: vec![],
                bins: 10,
            },
        ];
        hist_panels(&stem, &panels, 3).unwrap();
        check(&stem);
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
            value_range: None,
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

    #[test]
    fn no_panels_is_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let err = line_panels(&dir.path().join("none"), &[], 2).unwrap_err();
        assert!(err.to_string().contains("none.png"), "{err}");
    }

    #[test]
    fn log_ticks_are_powers_of_ten() {
        let ax = Axis::new((0.0, 3.0), true);
        assert_eq!(ax.ticks(10), vec![0.0, 1.0, 2.0, 3.0]);
        assert_eq!(ax.label(2.0), "100");
        let wide = Axis::new((-6.0, -1.0), true);
        assert_eq!(wide.label(-3.0), "10⁻³");
        // Less than a decade: 1..9 x 10^k ticks, plainly labelled.
        let short = Axis::new((0.25f64.log10(), 0.6f64.log10()), true);
        let labels: Vec<String> = short.ticks(6).iter().map(|&t| short.label(t)).collect();
        assert_eq!(labels, ["0.3", "0.4", "0.5", "0.6"]);
        let (t, step) = linear_ticks(0.4, 1.02, 6);
        assert_eq!(step, 0.2);
        let want = [0.4, 0.6, 0.8, 1.0];
        assert!(
            t.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12),
            "{t:?}"
        );
        assert_eq!(t.len(), 4);
        // Never a single tick where two fit.
        assert!(linear_ticks(-4.4, 4.4, 3).0.len() >= 2);
    }
}
