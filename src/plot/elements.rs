//! Drawn elements: markers, dots and curves.

use plotters::element::ComposedElement;
use plotters::prelude::*;

use super::{Chart, DrawResult};

/// The outline of marker `shape` (0 circle, 1 square, 2 triangle, 3 diamond,
/// 4 cross, then repeating; [`EDGE_BELOW`] a downward triangle) of radius `r`, around (0, 0) in pixels.
pub(super) fn marker_outline(shape: usize, r: i32) -> Vec<(i32, i32)> {
    let rf = f64::from(r);
    let poly = |pts: &[(f64, f64)]| -> Vec<(i32, i32)> {
        pts.iter()
            .map(|&(x, y)| ((x * rf).round() as i32, (y * rf).round() as i32))
            .collect()
    };
    if shape == EDGE_BELOW {
        return poly(&[(0.0, 1.25), (1.15, -0.8), (-1.15, -0.8)]);
    }
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

/// How many distinct series marker shapes [`marker_outline`] draws.
pub(super) const MARKER_SHAPES: usize = 5;
/// The marker of a point drawn at the bottom of the axis instead of below
/// it: a downward triangle (not a series shape).
pub(super) const EDGE_BELOW: usize = usize::MAX;
/// The marker of a point drawn at the top of the axis instead of above it:
/// an upward triangle.
pub(super) const EDGE_ABOVE: usize = 2;

type Marker<C, DB> = ComposedElement<C, DB, Polygon<(i32, i32)>, PathElement<(i32, i32)>>;
type Dot<C, DB> = ComposedElement<C, DB, Circle<(i32, i32), i32>, Circle<(i32, i32), i32>>;

/// A filled circle with a thin white edge (an SVG circle, not a polygon).
pub(super) fn dot<DB: DrawingBackend, C>(at: C, color: RGBColor, r: i32) -> Dot<C, DB> {
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
pub(super) fn is_circle(shape: usize) -> bool {
    shape != EDGE_BELOW && matches!(shape % 5, 0)
}

/// Draws markers of `shape` at `points` (transformed coordinates).
pub(super) fn draw_markers<'a, DB: DrawingBackend + 'a>(
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

/// A filled marker with a thin white edge (so overlapping markers stay
/// apart; no edge when `r` < 5).
pub(super) fn marker<DB: DrawingBackend, C>(
    at: C,
    shape: usize,
    color: RGBColor,
    r: i32,
) -> Marker<C, DB> {
    let v = marker_outline(shape, r);
    let mut edge = v.clone();
    edge.extend(v.first().copied());
    EmptyElement::at(at) + Polygon::new(v, color.filled()) + PathElement::new(edge, edge_style(r))
}

/// Draws one curve (already in transformed coordinates and clipped).
pub(super) fn draw_curve<'a, DB: DrawingBackend + 'a>(
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

/// A marker's radius in pixels, by how many earlier series have a marker
/// within `COINCIDING_PX` of its centre: 7 on its own, then smaller, so each
/// earlier marker shows as a rim around the later ones.
pub(super) const MARKER_RADII: [i32; 3] = [7, 4, 2];
const COINCIDING_PX: f64 = 3.0;

/// One series' markers (its points, or its triangles at a limit): the
/// series' index and the markers' pixel positions.
pub(super) type MarkerGroup = (usize, Vec<(f64, f64)>);

/// The radius of each marker of each group, the groups in drawing order,
/// each `(series, pixel positions)`: `MARKER_RADII[k]`, k the number of
/// earlier series (a series' own groups, its limit triangles among them, do
/// not count) with a marker within `COINCIDING_PX`, the last radius for
/// more. Cost O(markers^2) distance tests, a few thousand a panel.
pub(super) fn marker_radii(groups: &[MarkerGroup]) -> Vec<Vec<i32>> {
    let radius = |g: usize, (x, y): (f64, f64)| {
        let mut under: Vec<usize> = groups[..g]
            .iter()
            .filter(|(series, pts)| {
                *series != groups[g].0
                    && pts
                        .iter()
                        .any(|t| (t.0 - x).hypot(t.1 - y) <= COINCIDING_PX)
            })
            .map(|(series, _)| *series)
            .collect();
        under.dedup(); // one series' groups are adjacent
        MARKER_RADII[under.len().min(MARKER_RADII.len() - 1)]
    };
    let radii = |(g, (_, pts)): (usize, &MarkerGroup)| pts.iter().map(|&q| radius(g, q)).collect();
    groups.iter().enumerate().map(radii).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A series' own limit triangles keep the full size on its markers; a
    /// second series on them is drawn smaller, a third smaller still, and
    /// a marker 4 pixels away from any other keeps the full size.
    #[test]
    fn marker_radii_shrink_per_earlier_series_only() {
        let at = |pts: &[(f64, f64)]| pts.to_vec();
        let groups = vec![
            (0, at(&[(10.0, 10.0), (50.0, 50.0)])),
            (0, at(&[(10.0, 10.0)])), // series 0's triangle at the limit
            (1, at(&[(11.0, 11.0), (54.0, 50.0)])),
            (2, at(&[(10.0, 11.0)])),
        ];
        let r = marker_radii(&groups);
        assert_eq!(r, vec![vec![7, 7], vec![7], vec![4, 7], vec![2]]);
    }
}
