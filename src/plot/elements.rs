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
