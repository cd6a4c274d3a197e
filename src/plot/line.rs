//! Line panels: curves with quantile bands, markers and reference lines.

use plotters::prelude::*;

use super::axes::{axis_range, short_num, tv, Axis};
use super::elements::{
    draw_curve, draw_markers, marker_radii, MarkerGroup, EDGE_ABOVE, EDGE_BELOW, MARKER_RADII,
    MARKER_SHAPES,
};
use super::frame::{draw_box, frame, frame_size, titled, TitleFont};
use super::geometry::{clip_polygon, clip_polyline, runs, thin, Rect};
use super::legend::{
    below_height, draw_legend, legend_split, plan_legend, sample_polyline, text_note, Entry, Glyph,
    LegendPlace,
};
use super::reference::{
    band_spans, draw_references, ref_label_spots, reference_entry, RefLegend, Segment, Span,
};
use super::style::{series_color, LINE_W, REF_GREY};
use super::{Area, Curve, DrawResult, LinePanel, Marks, PanelLegend, Series};

/// How a series is drawn: colour, dash and marker shape (if any).
#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) struct Look {
    pub(super) color: RGBColor,
    pub(super) dashed: bool,
    pub(super) marker: Option<usize>,
}

/// Each series' look: grey dashes (a reference), else its palette colour
/// with the dash and marker it asks for, except that a look an earlier
/// series has (7 colours) is changed, first by flipping the dash, then by
/// adding a marker shape, so no two series share a legend glyph.
pub(super) fn looks(series: &[Series]) -> Vec<Look> {
    let shape = |l: &Look| l.marker.map(|m| m % MARKER_SHAPES);
    let mut out: Vec<Look> = Vec::with_capacity(series.len());
    for (i, s) in series.iter().enumerate() {
        let color = match s.reference {
            true => REF_GREY,
            false => series_color(s.color.unwrap_or(i)),
        };
        let asked = Look {
            color,
            dashed: s.dashed || s.reference,
            marker: (s.markers && !s.reference).then_some(i),
        };
        let mut options = vec![
            asked,
            Look {
                dashed: !s.dashed,
                ..asked
            },
        ];
        for k in 0..MARKER_SHAPES {
            for dashed in [s.dashed, !s.dashed] {
                options.push(Look {
                    color,
                    dashed,
                    marker: Some(i + k),
                });
            }
        }
        let free = |c: &Look| {
            !out.iter()
                .any(|o| o.color == c.color && o.dashed == c.dashed && shape(o) == shape(c))
        };
        out.push(options.into_iter().find(free).unwrap_or(asked));
    }
    out
}

/// The legend of a line panel: its labelled series, when there are two or more.
/// Notes on what the axis does not show in place follow (see [`limit_notes`]).
pub(super) fn line_entries(p: &LinePanel) -> Vec<Entry> {
    if p.series.iter().filter(|s| !s.label.is_empty()).count() < 2 {
        return limit_notes(p);
    }
    // A series of isolated points (no two neighbours drawable) is a scatter:
    // its glyph is the marker alone.
    let scatter = |s: &Series| {
        let ok = |k: usize| s.x[k].is_finite() && s.y[k].is_finite();
        let n = s.x.len().min(s.y.len());
        s.band.is_none() && n > 0 && (1..n).all(|k| !(ok(k - 1) && ok(k)))
    };
    let entry = |(i, (s, l)): (usize, (&Series, Look))| Entry {
        note: false,
        label: s.label.clone(),
        glyph: if scatter(s) {
            Glyph::Marker {
                shape: l.marker.unwrap_or(i),
                color: l.color,
            }
        } else {
            Glyph::Curve {
                color: l.color,
                dashed: l.dashed,
                marker: l.marker,
                band: s.band.is_some(),
                halo: false,
            }
        },
    };
    let mut out: Vec<Entry> = (p.series.iter().zip(looks(&p.series)).enumerate())
        .filter(|(_, (s, _))| !s.label.is_empty())
        .map(entry)
        .collect();
    out.extend(limit_notes(p));
    out
}

/// The panel's x axis: the fixed range, or every series' x with a margin.
fn x_axis(p: &LinePanel) -> Axis {
    let xs = p.series.iter().flat_map(|s| s.x.iter().copied());
    Axis::new(axis_range(p.log_x, p.x_range, xs, 0.02), p.log_x)
}

/// Whether `u` lies on the x axis `xa`.
fn x_visible(xa: &Axis, u: f64) -> bool {
    xa.t(u)
        .is_some_and(|t| t >= xa.a - 1e-9 && t <= xa.b + 1e-9)
}

/// The panel's y axis: the fixed range, or (auto) the drawn values whose x
/// is visible, bands and reference lines included, with a margin.
fn y_axis(p: &LinePanel, xa: &Axis, drawn: &[(Vec<f64>, Vec<i8>)]) -> Axis {
    let lim = y_limits(p);
    let mut ys: Vec<f64> = Vec::new();
    for (s, (y, _)) in p.series.iter().zip(drawn) {
        for (i, &u) in s.x.iter().enumerate() {
            if !x_visible(xa, u) {
                continue;
            }
            ys.extend(y.get(i));
            if let Some((lo, hi)) = &s.band {
                let at = |v: &f64| to_limits(*v, lim, p.log_y).0;
                ys.extend(lo.get(i).map(at));
                ys.extend(hi.get(i).map(at));
            }
        }
    }
    ys.extend(p.hlines.iter().map(|h| h.y));
    Axis::new(axis_range(p.log_y, p.y_range, ys, 0.05), p.log_y)
}

/// With `p.equal_aspect` (linear axes), `xa` and `ya` widened about their
/// centres so that a unit spans as many pixels across as up in `area`.
fn equal_units<DB: DrawingBackend>(
    area: &Area<DB>,
    p: &LinePanel,
    xa: Axis,
    ya: Axis,
) -> (Axis, Axis) {
    if !p.equal_aspect || p.log_x || p.log_y {
        return (xa, ya);
    }
    let span = |ax: &Axis, s: f64| {
        let c = (ax.a + ax.b) / 2.0;
        Axis::new((c - s / 2.0, c + s / 2.0), false)
    };
    let (mut x, mut y) = (xa, ya);
    // The plot's width depends on the y tick labels: settle it twice.
    for _ in 0..2 {
        let (w, h) = frame_size(area, &x, &y, &p.x_label, &p.y_label, 0).plot;
        let (w, h) = (f64::from(w), f64::from(h));
        let u = ((xa.b - xa.a) / w).max((ya.b - ya.a) / h);
        (x, y) = (span(&xa, u * w), span(&ya, u * h));
    }
    (x, y)
}

/// The fixed y range's ends (low, high) in values, when it is usable.
fn fixed_y(p: &LinePanel) -> Option<(f64, f64)> {
    let (a, b) = p.y_range?;
    let ok = tv(p.log_y, a).is_some() && tv(p.log_y, b).is_some() && a != b;
    ok.then(|| (a.min(b), a.max(b)))
}

/// The lowest and highest y the panel draws in place: a fixed `y_range`'s
/// ends, and `y_floor` (the higher of the two lows).
fn y_limits(p: &LinePanel) -> (Option<f64>, Option<f64>) {
    let fixed = fixed_y(p);
    let floor = p.y_floor.filter(|f| tv(p.log_y, *f).is_some());
    let lo = match (fixed, floor) {
        (Some((a, _)), Some(f)) => Some(a.max(f)),
        (fixed, floor) => fixed.map(|r| r.0).or(floor),
    };
    (lo, fixed.map(|r| r.1))
}

/// `y` moved to the limits: (the value drawn, -1 when it was below the
/// low limit, 1 above the high one, else 0). NaN and infinities stay.
fn to_limits(y: f64, (lo, hi): (Option<f64>, Option<f64>), log: bool) -> (f64, i8) {
    if !y.is_finite() {
        return (y, 0);
    }
    match (lo, hi) {
        (Some(l), _) if y < l || (log && y <= 0.0) => (l, -1),
        (_, Some(h)) if y > h => (h, 1),
        _ => (y, 0),
    }
}

/// Each series' y as drawn (moved to the limits) and which points moved
/// (-1 below, 1 above; only points whose x is visible count).
fn drawn_y(p: &LinePanel, xa: &Axis) -> Vec<(Vec<f64>, Vec<i8>)> {
    let lim = y_limits(p);
    p.series
        .iter()
        .map(|s| {
            s.y.iter()
                .enumerate()
                .map(|(i, &v)| {
                    let (y, f) = to_limits(v, lim, p.log_y);
                    let seen = s.x.get(i).is_some_and(|&u| x_visible(xa, u));
                    (y, if seen { f } else { 0 })
                })
                .unzip()
        })
        .collect()
}

/// Which points moved to a limit (`moved[k] == flag`) get its edge
/// marker: all of them when the series has markers (each is a datum),
/// else only where a run of them begins and ends, so that a dense curve
/// along the limit shows where it reaches and leaves it instead of a smear
/// of markers.
fn marked_at_limit(moved: &[i8], flag: i8, every: bool) -> Vec<usize> {
    let at = |k: Option<usize>| k.and_then(|k| moved.get(k)) == Some(&flag);
    (0..moved.len())
        .filter(|&k| moved[k] == flag)
        .filter(|&k| every || !at(k.checked_sub(1)) || !at(Some(k + 1)))
        .collect()
}

/// Legend notes for what the axis does not show in place: points drawn at
/// a limit (counted), reference lines outside a fixed y range, the panel's `notes`.
fn limit_notes(p: &LinePanel) -> Vec<Entry> {
    let lim = y_limits(p);
    let moved: Vec<i8> = drawn_y(p, &x_axis(p))
        .into_iter()
        .flat_map(|d| d.1)
        .collect();
    let mut out = Vec::new();
    for (flag, end, word, shape) in [(-1, lim.0, "<", EDGE_BELOW), (1, lim.1, ">", EDGE_ABOVE)] {
        let k = moved.iter().filter(|&&m| m == flag).count();
        if let (true, Some(v)) = (k > 0, end) {
            let v = short_num(v);
            let what = if k == 1 { "value" } else { "values" };
            out.push(Entry {
                note: true,
                label: format!("{k} {what} {word} {v} drawn at {v}"),
                glyph: Glyph::Marker {
                    shape,
                    color: REF_GREY,
                },
            });
        }
    }
    if let Some((lo, hi)) = fixed_y(p) {
        for h in &p.hlines {
            let off = if tv(p.log_y, h.y).is_none() || h.y < lo {
                "below"
            } else if h.y > hi {
                "above"
            } else {
                continue;
            };
            let name = if h.label.is_empty() {
                "reference"
            } else {
                &h.label
            };
            let label = format!("{name} = {} ({off} the axis)", short_num(h.y));
            out.push(reference_entry(label, h.kind));
        }
    }
    out.extend(p.notes.iter().map(|t| text_note(t)));
    out
}

/// The bands of panel `p` on axes `xa`, `ya`, clipped to `rect` and
/// thinned for a plot `plot` pixels in size: (colour, polygon) each. Their
/// samples go to `occupied` and their vertical extents to `spans`, for the
/// labels and the legend to avoid.
fn band_polygons(
    p: &LinePanel,
    (xa, ya): (&Axis, &Axis),
    (rect, plot): (&Rect, (u32, u32)),
    looks: &[Look],
    (occupied, spans): (&mut Vec<(f64, f64)>, &mut Vec<Span>),
) -> Vec<(RGBColor, Vec<(f64, f64)>)> {
    let mut bands: Vec<(RGBColor, Vec<(f64, f64)>)> = Vec::new();
    let lim = y_limits(p);
    let at = |v: f64| to_limits(v, lim, p.log_y).0;
    for (i, s) in p.series.iter().enumerate() {
        let Some((lo, hi)) = &s.band else { continue };
        let n = s.x.len().min(lo.len()).min(hi.len());
        let mut run: Vec<(f64, f64, f64)> = Vec::new();
        for k in 0..=n {
            let pt = (k < n)
                .then(|| (xa.t(s.x[k]), ya.t(at(lo[k])), ya.t(at(hi[k]))))
                .and_then(|(a, b, c)| Some((a?, b?, c?)));
            if let Some(q) = pt {
                run.push(q);
                continue;
            }
            if run.len() >= 2 {
                let mut poly: Vec<(f64, f64)> = run.iter().map(|q| (q.0, q.2)).collect();
                poly.extend(run.iter().rev().map(|q| (q.0, q.1)));
                let poly = clip_polygon(&poly, rect);
                if poly.len() >= 3 {
                    for q in &run {
                        for f in [0.0, 0.25, 0.5, 0.75, 1.0] {
                            let pt = (q.0, q.1 + (q.2 - q.1) * f);
                            if rect.contains(pt) {
                                occupied.push(rect.norm(pt));
                            }
                        }
                    }
                    band_spans(&run, rect, spans);
                    bands.push((looks[i].color, thin(poly, rect, plot)));
                }
            }
            run.clear();
        }
    }
    bands
}

/// Draws panel `p` in `area`, with the part of the figure's legend
/// `legend` leaves it, and `margin` pixels right of the plot for reference
/// labels with no room in it. Returns the reference
/// entries the figure's legend should hold (labels with no room in the
/// plot or the margin), the height of the legend strip cut from the panel
/// (0: none) and the margin its labels ask for (0: none).
pub(super) fn line_panel<DB: DrawingBackend>(
    area: &Area<DB>,
    p: &LinePanel,
    legend: PanelLegend,
    (title_font, margin, floor): (TitleFont, u32, u32),
) -> DrawResult<(Vec<Entry>, u32, u32), DB> {
    let area = titled(area, &p.title, title_font)?;
    let xa = x_axis(p);
    let lim = y_limits(p);
    let drawn = drawn_y(p, &xa);
    let ya = y_axis(p, &xa, &drawn);
    let (xa, ya) = equal_units(&area, p, xa, ya);
    let rect = Rect::of(&xa, &ya);
    let plot = frame_size(&area, &xa, &ya, &p.x_label, &p.y_label, margin).plot;

    // Geometry first (transformed and clipped), so the legend can avoid it.
    let mut occupied = Vec::new();
    let looks = looks(&p.series);
    let mut spans: Vec<Span> = Vec::new();
    let mut segments: Vec<Segment> = Vec::new();
    let bands = band_polygons(
        p,
        (&xa, &ya),
        (&rect, plot),
        &looks,
        (&mut occupied, &mut spans),
    );
    let refs: Vec<_> = (p.hlines.iter())
        .filter_map(|h| Some((ya.t(h.y)?, h.label.as_str(), h.kind, h.y)))
        .filter(|r| rect.contains((rect.x0, r.0)))
        .collect();
    let mut curves: Vec<Curve> = Vec::new();
    let mut marks: Vec<Marks> = Vec::new();
    let mut mark_series: Vec<usize> = Vec::new();
    for (i, (s, look)) in p.series.iter().zip(looks).enumerate() {
        let color = look.color;
        let mut points = Vec::new();
        for run in runs(&s.x, &drawn[i].0, &xa, &ya) {
            if run.len() == 1 || look.marker.is_some() {
                points.extend(run.iter().copied());
            }
            for piece in clip_polyline(&run, &rect) {
                let piece = thin(piece, &rect, plot);
                sample_polyline(&piece, &rect, &mut occupied);
                segments.extend(piece.windows(2).map(|w| (rect.norm(w[0]), rect.norm(w[1]))));
                curves.push((color, look.dashed, piece));
            }
        }
        points.retain(|q| rect.contains(*q));
        points.dedup();
        occupied.extend(points.iter().map(|q| rect.norm(*q)));
        marks.push((look.marker.unwrap_or(i), color, points));
        mark_series.push(i);
        for (shape, end, flag) in [(EDGE_BELOW, lim.0, -1), (EDGE_ABOVE, lim.1, 1)] {
            let at_end: Vec<(f64, f64)> = marked_at_limit(&drawn[i].1, flag, look.marker.is_some())
                .into_iter()
                .filter_map(|k| Some((xa.t(*s.x.get(k)?)?, ya.t(end?)?)))
                .filter(|q| rect.contains(*q))
                .collect();
            occupied.extend(at_end.iter().map(|q| rect.norm(*q)));
            marks.push((shape, color, at_end));
            mark_series.push(i);
        }
    }
    // Reference-line labels where no curve runs (after the curves are known),
    // then the legend, which avoids them and the lines.
    let labels_and_legend = |plot: (u32, u32)| {
        let mut occupied = occupied.clone();
        let mut entries = match legend {
            PanelLegend::Own => line_entries(p),
            PanelLegend::Notes => limit_notes(p),
            PanelLegend::Shared(_) => Vec::new(),
        };
        let (mut unplaced, mut asks) = (Vec::new(), 0);
        let legend = match legend {
            PanelLegend::Own | PanelLegend::Notes => RefLegend::Own(&mut entries),
            PanelLegend::Shared(named) => RefLegend::Shared {
                named,
                unplaced: &mut unplaced,
                margin,
                asks: &mut asks,
            },
        };
        let at = (&mut occupied, &spans[..], &segments[..]);
        let placed = ref_label_spots(&refs, |t| ya.frac(t), plot, at, legend);
        for &(t, ..) in &refs {
            sample_polyline(&[(rect.x0, t), (rect.x1, t)], &rect, &mut occupied);
        }
        let place = plan_legend(&area, &entries, &occupied, plot, true);
        (placed, entries, place, (unplaced, asks))
    };
    // The strip cut under the plot: its legend's, or the row's if taller.
    let cut = |place: &LegendPlace| below_height(place).max(floor);
    let (mut placed, mut entries, mut place, mut unplaced) = labels_and_legend(plot);
    if cut(&place) > 0 {
        // The strip under the panel shortens the plot, and a label's height
        // in plot fractions with it: place the labels again at that size.
        (placed, entries, place, unplaced) =
            labels_and_legend((plot.0, plot.1.saturating_sub(cut(&place))));
    }
    let own = below_height(&place);
    let (main, strip) = legend_split(area, &place, cut(&place));
    let (xa, ya) = equal_units(&main, p, xa, ya);
    let mut chart = frame(&main, xa, ya, &p.x_label, &p.y_label, true, margin)?;
    for (color, poly) in bands {
        chart.draw_series(std::iter::once(Polygon::new(poly, color.mix(0.2).filled())))?;
    }
    draw_references(&mut chart, &rect, placed)?;
    for (color, dashed, piece) in curves {
        draw_curve(&mut chart, piece, color, LINE_W, dashed)?;
    }
    // Markers on earlier series' markers are drawn smaller (`marker_radii`),
    // so series that coincide (two medians at 0, say) stay visible.
    let pixel = |q: &(f64, f64)| {
        let (x, y) = chart.backend_coord(q);
        (f64::from(x), f64::from(y))
    };
    let groups: Vec<MarkerGroup> = (mark_series.iter().zip(&marks))
        .map(|(&series, (_, _, points))| (series, points.iter().map(pixel).collect()))
        .collect();
    for ((shape, color, points), radii) in marks.into_iter().zip(marker_radii(&groups)) {
        for r in MARKER_RADII {
            let at_r = (points.iter().zip(&radii)).filter(|(_, &ri)| ri == r);
            draw_markers(&mut chart, at_r.map(|(q, _)| *q).collect(), shape, color, r)?;
        }
    }
    draw_box(&chart)?;
    draw_legend(&chart, strip.as_ref(), &entries, &place)?;
    Ok((unplaced.0, own, unplaced.1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::tests::check;
    use crate::plot::{line_panels, HLine};

    /// Ten solid series without markers (the palette has seven colours):
    /// no two legend glyphs may be the same.
    #[test]
    fn series_glyphs_are_distinct_past_the_palette() {
        let series: Vec<Series> = (0..40)
            .map(|i| Series {
                label: format!("n = {i}"),
                x: vec![1.0, 2.0],
                y: vec![1.0, 2.0],
                dashed: i % 3 == 0,
                ..Default::default()
            })
            .collect();
        for n in [10, 40] {
            let p = LinePanel {
                series: series[..n].to_vec(),
                ..Default::default()
            };
            let glyphs: Vec<Glyph> = line_entries(&p).into_iter().map(|e| e.glyph).collect();
            assert_eq!(glyphs.len(), n);
            for (i, a) in glyphs.iter().enumerate() {
                for b in &glyphs[..i] {
                    let same = match (a, b) {
                        (
                            Glyph::Curve {
                                color: c1,
                                dashed: d1,
                                marker: m1,
                                ..
                            },
                            Glyph::Curve {
                                color: c2,
                                dashed: d2,
                                marker: m2,
                                ..
                            },
                        ) => c1 == c2 && d1 == d2 && m1.map(|m| m % 5) == m2.map(|m| m % 5),
                        _ => a == b,
                    };
                    assert!(
                        !same,
                        "{n} series: series {i} looks like an earlier one: {a:?}"
                    );
                }
            }
        }
    }

    /// Draws `panels` and returns the SVG's text.
    pub(in crate::plot) fn svg_of(panels: &[LinePanel]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("fig");
        line_panels(&stem, panels, 2).unwrap();
        std::fs::read_to_string(dir.path().join("fig.svg")).unwrap()
    }

    /// The centres of the SVG's circles of radius `r`.
    fn circles(svg: &str, r: &str) -> Vec<(f64, f64)> {
        let num = |t: &str, key: &str| -> Option<f64> {
            let i = t.find(key)? + key.len();
            t[i..].split('"').next()?.parse().ok()
        };
        svg.split("<circle")
            .skip(1)
            .filter(|t| t.contains(&format!("r=\"{r}\"")))
            .filter_map(|t| Some((num(t, "cx=\"")?, num(t, "cy=\"")?)))
            .collect()
    }

    /// Data to SVG pixels: on fixed axes x 0..4 and y 0..8, the points
    /// (1, 2), (2, 4), (3, 8) land evenly spaced across, in proportion up,
    /// with y up (y = 8 the top pixel row of the three); a mirrored axis
    /// or uneven spacing fails.
    #[test]
    fn points_land_at_their_pixels() {
        let p = LinePanel {
            x_range: Some((0.0, 4.0)),
            y_range: Some((0.0, 8.0)),
            series: vec![Series {
                label: "points".into(),
                x: vec![1.0, 2.0, 3.0],
                y: vec![2.0, 4.0, 8.0],
                markers: true,
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut pts = circles(&svg_of(&[p]), "7");
        pts.dedup();
        assert_eq!(pts.len(), 3, "{pts:?}");
        let (x1, x2, x3) = (pts[0].0, pts[1].0, pts[2].0);
        let (y1, y2, y3) = (pts[0].1, pts[1].1, pts[2].1);
        // A unit of x is (x3 - x1) / 2 pixels; x = 0 lies one unit left of x1.
        let ux = (x3 - x1) / 2.0;
        assert!(ux > 50.0 && (x2 - x1 - ux).abs() <= 1.0, "{pts:?}");
        // y grows upwards: y = 8 is highest (smallest pixel row), 2 lowest.
        let uy = (y1 - y2) / 2.0;
        assert!(uy > 20.0 && (y2 - y3 - 4.0 * uy).abs() <= 1.5, "{pts:?}");
    }

    /// Two series on the same points: the later one's markers are drawn
    /// smaller, so the earlier one's show around them. Series 0 and 5 both
    /// get the circle (5 shapes), so both are found among the SVG's circles.
    #[test]
    fn a_marker_on_an_earlier_series_marker_is_drawn_smaller() {
        let on = |i: usize, y: f64| Series {
            label: format!("series {i}"),
            x: vec![1.0, 2.0, 3.0],
            y: vec![y; 3],
            markers: true,
            ..Default::default()
        };
        let mut series: Vec<Series> = (0..6).map(|i| on(i, 1.0 + i as f64)).collect();
        series[5].y = series[0].y.clone();
        let p = LinePanel {
            x_range: Some((0.0, 4.0)),
            y_range: Some((0.0, 8.0)),
            series,
            ..Default::default()
        };
        let svg = svg_of(&[p]);
        let (mut full, mut small) = (circles(&svg, "7"), circles(&svg, "4"));
        full.dedup();
        small.dedup();
        assert_eq!(full.len(), 3, "series 0 at full size: {full:?}");
        assert_eq!(small, full, "series 5 smaller, on series 0's points");
    }

    /// Equal units: points on the unit circle lie as far from its centre
    /// across as up, in a panel much wider than tall.
    #[test]
    fn equal_aspect_draws_circles_round() {
        let p = LinePanel {
            x_range: Some((-1.2, 1.2)),
            y_range: Some((-1.2, 1.2)),
            equal_aspect: true,
            series: vec![Series {
                label: "unit circle".into(),
                x: vec![1.0, 0.0, -1.0, 0.0],
                y: vec![0.0, 1.0, 0.0, -1.0],
                markers: true,
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut pts = circles(&svg_of(&[p]), "7");
        pts.dedup();
        assert_eq!(pts.len(), 4, "{pts:?}");
        let across = (pts[0].0 - pts[2].0).abs();
        let up = (pts[3].1 - pts[1].1).abs();
        assert!((across - up).abs() <= 2.0, "across {across}, up {up}");
    }

    /// A curve without markers marks a run of points at a limit at its
    /// two ends; a series with markers marks every point.
    #[test]
    fn edge_markers_mark_the_ends_of_a_run_on_a_curve() {
        let moved = [0, 1, 1, 1, 1, 0, 1, 0, -1, -1];
        assert_eq!(marked_at_limit(&moved, 1, false), [1, 4, 6]);
        assert_eq!(marked_at_limit(&moved, 1, true), [1, 2, 3, 4, 6]);
        assert_eq!(marked_at_limit(&moved, -1, false), [8, 9]);
        assert_eq!(marked_at_limit(&[1, 1, 1], 1, false), [0, 2]);
    }

    /// Two series of one quantity share the colour they ask for (a
    /// dashed prediction, a measured curve with markers); a third keeps
    /// its own index's colour.
    #[test]
    fn series_can_share_a_colour() {
        let series = [
            (Some(0), true, false),
            (Some(0), false, true),
            (None, true, false),
        ]
        .map(|(color, dashed, markers)| Series {
            color,
            dashed,
            markers,
            ..Default::default()
        });
        let l = looks(&series);
        assert_eq!((l[0].color, l[1].color), (series_color(0), series_color(0)));
        assert_eq!((l[0].dashed, l[1].dashed), (true, false));
        assert_eq!(l[2].color, series_color(2));
    }

    /// A series of isolated points gets a marker glyph, a curve a line.
    #[test]
    fn scatter_series_get_marker_glyphs() {
        let nan = f64::NAN;
        let p = LinePanel {
            series: vec![
                Series {
                    label: "points".into(),
                    x: vec![1.0, nan, 2.0, nan],
                    y: vec![1.0, nan, 2.0, nan],
                    markers: true,
                    ..Default::default()
                },
                Series {
                    label: "curve".into(),
                    x: vec![1.0, 2.0],
                    y: vec![1.0, 2.0],
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let glyphs: Vec<Glyph> = line_entries(&p).into_iter().map(|e| e.glyph).collect();
        assert!(matches!(glyphs[0], Glyph::Marker { .. }), "{glyphs:?}");
        assert!(matches!(glyphs[1], Glyph::Curve { .. }), "{glyphs:?}");
    }

    /// Values under a floor or outside a fixed y range, and reference
    /// lines off the axis, are named in the panel, not dropped silently.
    #[test]
    fn values_off_the_axis_are_noted() {
        let fixed = LinePanel {
            y_range: Some((0.0, 1.02)),
            series: vec![Series {
                label: "margin".into(),
                x: vec![1.0, 2.0, 3.0, 4.0],
                y: vec![-2.33, 0.5, 0.9, 1.5],
                ..Default::default()
            }],
            hlines: vec![HLine {
                y: -5.0,
                label: "floor".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let svg = svg_of(&[fixed]);
        assert!(svg.contains("1 value &lt; 0 drawn at 0"), "{svg}");
        assert!(svg.contains("1 value &gt; 1.02 drawn at 1.02"), "{svg}");
        assert!(svg.contains("floor = -5 (below the axis)"), "{svg}");
        let floored = LinePanel {
            log_y: true,
            y_floor: Some(1e-16),
            series: vec![Series {
                label: "train MSE".into(),
                x: vec![1.0, 2.0, 3.0, 4.0],
                y: vec![1.0, 1e-3, 2e-18, 0.0],
                ..Default::default()
            }],
            ..Default::default()
        };
        let svg = svg_of(&[floored]);
        assert!(svg.contains("2 values &lt; 1e-16 drawn at 1e-16"), "{svg}");
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
            y_floor: None,
            equal_aspect: false,
            series: vec![
                Series {
                    label: "train".into(),
                    x: x.clone(),
                    y,
                    band: Some((lo, hi)),
                    dashed: false,
                    markers: false,
                    ..Default::default()
                },
                Series {
                    label: "test".into(),
                    x,
                    y: y2,
                    band: None,
                    dashed: true,
                    markers: true,
                    ..Default::default()
                },
                Series {
                    label: "empty".into(),
                    ..Default::default()
                },
            ],
            hlines: vec![HLine {
                y: 0.5,
                label: "chance".into(),
                kind: crate::plot::RefKind::Chance,
            }],
            notes: vec!["a note in words: what the panel leaves out".into()],
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
}
