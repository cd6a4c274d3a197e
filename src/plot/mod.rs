//! Publication-quality figures: line panels (with quantile bands, grey
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
//!
//! This module holds the public panel types and entry points and draws and
//! saves whole figures; each kind of panel is drawn in its own submodule
//! (`line`, `histogram`, `scatter`, `heatmap`), on shared axes (`axes`),
//! clipping geometry (`geometry`), panel frames (`frame`), legends
//! (`legend`), markers and curves (`elements`) and style (`style`).

mod axes;
mod elements;
mod frame;
mod geometry;
mod grid;
mod heatmap;
mod histogram;
mod legend;
mod line;
mod margin;
mod reference;
mod scatter;
mod style;

use std::fs;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};

use axes::Axis;
use heatmap::{heatmap_entries, heatmap_panel};
use histogram::{hist_entries, hist_panel};
use legend::{draw_strip, strip_h, Entry};
use line::{line_entries, line_panel};
pub use reference::RefKind;
use scatter::{scatter_entries, scatter_panel};
use style::ensure_font;

// ------------------------------------------------------------------ public API

/// One curve, optionally with a shaded band (e.g. 20-80% quantiles over runs).
///
/// `x` and `y` are paired index by index (the longer one is truncated); a
/// point with a NaN/infinite coordinate, or a non-positive one on a log axis,
/// is skipped and splits the curve. `band` is `(lower, upper)`, paired with
/// `x` the same way. `dashed` draws the curve dashed; `markers` adds a marker
/// (shape chosen per series) at every point. `color` picks the palette
/// colour by index (None: the series' own index), so that two series of
/// one quantity (predicted, measured) can share it. `reference` marks a
/// guide, not a measurement (a slope drawn for comparison): it is drawn
/// dashed in the reference lines' grey, without markers, whatever
/// `dashed`, `markers` and `color` say, so that it is not read as data.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub label: String,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub band: Option<(Vec<f64>, Vec<f64>)>,
    pub dashed: bool,
    pub markers: bool,
    pub color: Option<usize>,
    pub reference: bool,
}

/// A horizontal reference line (e.g. chance level 0.5), drawn in its
/// kind's grey stroke and labelled: on the line where no curve runs, else
/// (`plot::reference`) in the panel's own legend, or as a callout joined
/// to the line by a leader that crosses no data, else in the right margin
/// at the line's height (`plot::margin`), else in the shared legend.
#[derive(Debug, Clone, Default)]
pub struct HLine {
    pub y: f64,
    pub label: String,
    pub kind: RefKind,
}

/// One panel of [`line_panels`]: curves with optional bands and reference
/// lines. `x_range`/`y_range` fix the axis ranges; `None` fits the data with
/// a small margin. `log_x`/`log_y` make the axis logarithmic (base 10).
///
/// Nothing leaves the y axis silently: a curve point (with visible x) below
/// a fixed `y_range` or below `y_floor` (on a log axis: also a non-positive
/// one) is drawn at that limit with a downward-triangle marker, one above a
/// fixed `y_range` at its top with an upward triangle, and the legend counts
/// them ("k values < 1e-16 drawn at 1e-16"); a reference line outside a
/// fixed `y_range` is named in the legend. Bands are clipped. A marker on
/// earlier series' markers is drawn smaller (radius 7, then 4, then 2
/// pixels), so coinciding series show as rings around each other.
#[derive(Debug, Clone, Default)]
pub struct LinePanel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub log_x: bool,
    pub log_y: bool,
    pub x_range: Option<(f64, f64)>,
    pub y_range: Option<(f64, f64)>,
    pub y_floor: Option<f64>,
    /// Linear axes widened so that one unit spans as many pixels across as
    /// up (a circle is drawn round).
    pub equal_aspect: bool,
    pub series: Vec<Series>,
    pub hlines: Vec<HLine>,
    /// Notes in words under the legend: what the panel leaves out and why
    /// (a rule a reader needs to read the curves, not a series).
    pub notes: Vec<String>,
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
/// All groups of a panel share the same `bins` equal-width bins over
/// `x_range`, or without one the range of their finite values (`bins == 0`
/// picks a count from the data size); each group is drawn as a translucent
/// filled step outline, and the y axis counts values per bin. A legend is
/// drawn when there is more than one group.
#[derive(Debug, Clone, Default)]
pub struct HistPanel {
    pub title: String,
    pub x_label: String,
    pub groups: Vec<(String, Vec<f64>)>,
    pub bins: usize,
    /// The bins' range and the x axis, fixed (values outside count in the
    /// end bins). Panels of one quantity given the same range can be
    /// compared, and values within a hair of each other are drawn as the
    /// spike they are; None fits the bins to the values, which spreads any
    /// values, however close, over the whole axis.
    pub x_range: Option<(f64, f64)>,
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
    /// Text notes, each anchored at a point (x, y) of the data and set
    /// beside it on the side of the plot's centre (above it for a point on
    /// the centre line), so that it stays inside the frame.
    pub notes: Vec<(f64, f64, String)>,
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
/// drawn in the end colour, and the colour bar's end then reads "≤ lo" or
/// "≥ hi"); `None` uses the finite values' range. Missing
/// entries of a ragged `values` count as NaN. Overlays are drawn with a white
/// halo so they stay visible on any cell colour; a "no data" swatch joins
/// the legend when some cell is NaN.
///
/// With `categories`, the values are indices into it (0, 1, ...): each
/// cell takes its category's colour, the legend names every category with
/// a swatch and there is no colour bar (a value that is not an index is
/// drawn as missing).
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
    /// The names of the categories the values index; empty: a continuous scale.
    pub categories: Vec<String>,
    /// The legend's name for grey (missing) cells; empty: "no data".
    pub missing_label: String,
    pub log_x: bool,
    pub log_y: bool,
    pub overlays: Vec<Series>,
}

/// Heatmap panels in a grid of `cols` columns; writes stem.png and stem.svg.
/// Errors as for [`line_panels`].
pub fn heatmap_panels(stem: &Path, panels: &[HeatmapPanel], cols: usize) -> Result<()> {
    save(stem, Fig::Heatmaps(panels), cols)
}

// ------------------------------------------------------------------ figures and files

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

    /// Panel `i`, with the part of the legend `legend` leaves it; its
    /// title in `title_font`, a line panel's plot `margin` pixels from its
    /// right edge and at least `floor` pixels above its bottom. Returns the reference entries the figure's legend should
    /// add, the height of the legend strip drawn under the plot and the
    /// margin its labels ask for (`line_panel`; other panels: none, not
    /// measured and none).
    fn draw_panel<DB: DrawingBackend>(
        &self,
        i: usize,
        area: &Area<DB>,
        legend: PanelLegend,
        (title_font, margin, floor): (frame::TitleFont, u32, u32),
    ) -> DrawResult<(Vec<Entry>, Option<u32>, u32), DB> {
        let own = matches!(legend, PanelLegend::Own);
        let none = |_| (Vec::new(), None, 0);
        match self {
            Fig::Lines(p) => {
                let look = (title_font, margin, floor);
                line_panel(area, &p[i], legend, look).map(|(u, h, m)| (u, Some(h), m))
            }
            Fig::Hists(p) => hist_panel(area, &p[i], own, title_font).map(none),
            Fig::Scatters(p) => scatter_panel(area, &p[i], own, title_font).map(none),
            Fig::Heatmaps(p) => heatmap_panel(area, &p[i], own, title_font).map(none),
        }
    }

    fn title(&self, i: usize) -> &str {
        match self {
            Fig::Lines(p) => &p[i].title,
            Fig::Hists(p) => &p[i].title,
            Fig::Scatters(p) => &p[i].title,
            Fig::Heatmaps(p) => &p[i].title,
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

    /// One legend for the whole figure, when there are several panels, each
    /// with a legend of its own, and one panel's entries hold every other
    /// panel's in its order (a panel may draw fewer of the figure's things:
    /// a decision boundary that does not exist yet). A panel without a
    /// legend (one series) keeps the figure from sharing one: its curve's
    /// colour would be read as another panel's first entry. Its notes
    /// (values drawn at a limit, lines off the axis) join the shared legend
    /// when every panel has the same; else (line panels) the shared legend
    /// names the series and each panel keeps its own notes, `true` in the
    /// second field: four copies of one series legend, each with a note
    /// or two of its own, took more room than the plots.
    fn shared_legend(&self) -> Option<(Vec<Entry>, bool)> {
        if self.len() < 2 {
            return None;
        }
        let all: Vec<Vec<Entry>> = (0..self.len()).map(|i| self.entries(i)).collect();
        let series = |e: &Vec<Entry>| e.iter().filter(|x| !x.note).cloned().collect::<Vec<_>>();
        let notes = |e: &Vec<Entry>| e.iter().filter(|x| x.note).cloned().collect::<Vec<_>>();
        let fullest = all.iter().max_by_key(|e| series(e).len())?;
        let within = |e: &Vec<Entry>| {
            let mut rest = fullest.iter();
            e.iter().any(|x| !x.note) && series(e).iter().all(|x| rest.any(|y| y == x))
        };
        if !all.iter().all(within) {
            return None;
        }
        if all.iter().all(|e| notes(e) == notes(fullest)) {
            Some((fullest.clone(), false))
        } else if matches!(self, Fig::Lines(_)) {
            Some((series(fullest), true))
        } else {
            None
        }
    }
}

/// The part of a figure's legend a panel draws under or in its plot.
#[derive(Clone, Copy)]
enum PanelLegend<'e> {
    /// All of it: the figure has no shared legend.
    Own,
    /// Its notes and the labels of its reference lines that found no room
    /// in the plot; the figure's legend names the series
    /// (`grid::Shared::own_notes`).
    Notes,
    /// None: the figure's legend holds these entries, and the reference
    /// labels with no room in any plot.
    Shared(&'e [Entry]),
}

/// Draws `fig` on `root` as `plan` lays it out. Returns the reference
/// entries its panels could not label in place, and each panel's legend
/// strip height where measured.
fn render<DB: DrawingBackend>(
    root: &Area<DB>,
    fig: &Fig,
    plan: &grid::Plan,
) -> DrawResult<grid::Drawn, DB> {
    root.fill(&WHITE)?;
    let (_, h) = root.dim_in_pixel();
    let shared = &plan.shared;
    let (panels, strip) = match shared {
        Some(sh) if !sh.in_cell => {
            let (a, b) = root.split_vertically(h - sh.height);
            (a, Some(b))
        }
        _ => (root.clone(), None),
    };
    let cells = grid::cells(&panels, &plan.heights, plan.cols);
    let narrowest = cells.iter().map(|c| c.dim_in_pixel().0).min().unwrap_or(0);
    let title_font = frame::title_font((0..fig.len()).map(|i| fig.title(i)), narrowest);
    let mut drawn = grid::Drawn::default();
    for (i, area) in cells.iter().enumerate().take(fig.len()) {
        let legend = match shared {
            None => PanelLegend::Own,
            Some(sh) if sh.own_notes => PanelLegend::Notes,
            Some(sh) => PanelLegend::Shared(&sh.entries),
        };
        let look = (title_font, plan.margin, plan.floors[i]);
        let (left_out, strip, asks) = fig.draw_panel(i, area, legend, look)?;
        drawn.margin = drawn.margin.max(asks);
        drawn.unplaced.extend(left_out);
        drawn.strips.push(strip);
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
    root.present()?;
    Ok(drawn)
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

    // BitMapBackend picks the encoder from the extension: keep ".png" last.
    // Drawn again while a drawing changes the layout (`grid::Drawn`; a
    // few rounds at most).
    let png_tmp = dir.join(format!(".{name}.tmp{}.png", std::process::id()));
    let mut seen = grid::Drawn::default();
    let (plan, drawn) = loop {
        let plan = grid::plan(&fig, cols, &seen);
        let drawn = {
            let root = BitMapBackend::new(&png_tmp, (plan.w, plan.h)).into_drawing_area();
            render(&root, &fig, &plan).map_err(|e| e.to_string())
        };
        let shared = plan.shared.is_some();
        match drawn {
            Ok(d) => {
                if !seen.absorb(d, shared) || seen.rounds >= 6 {
                    break (plan, Ok(()));
                }
            }
            Err(e) => break (plan, Err(e)),
        }
    };
    finish(drawn, &png_tmp, &png, &dir)?;

    let svg_tmp = dir.join(format!(".{name}.svg.tmp{}", std::process::id()));
    let drawn = {
        let root = SVGBackend::new(&svg_tmp, (plan.w, plan.h)).into_drawing_area();
        render(&root, &fig, &plan)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    finish(drawn, &svg_tmp, &svg, &dir)
}

/// Moves a drawn temporary file onto its final name in `dir`, or removes
/// it: the file is synced before the rename and its directory after, as
/// `fsio::write_atomic` does, so a crash leaves the old figure or the new
/// one, never an empty file under the figure's name.
fn finish(
    drawn: std::result::Result<(), String>,
    tmp: &Path,
    dst: &Path,
    dir: &Path,
) -> Result<()> {
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
    fs::File::open(tmp)
        .and_then(|f| f.sync_all())
        .and_then(|()| fs::rename(tmp, dst))
        .and_then(|()| crate::fsio::sync_dir(dir))
        .map_err(|e| {
            let _ = fs::remove_file(tmp);
            Error::io(dst, e)
        })
}

#[cfg(test)]
mod tests;
