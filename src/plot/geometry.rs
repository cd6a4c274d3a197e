//! Geometry in transformed coordinates: the visible rectangle, clipping of
//! segments, polylines and polygons, drawable runs, cell edges and thinning.

use super::axes::{tv, widen, Axis};

/// The visible rectangle in transformed coordinates.
#[derive(Clone, Copy)]
pub(super) struct Rect {
    pub(super) x0: f64,
    pub(super) x1: f64,
    pub(super) y0: f64,
    pub(super) y1: f64,
}

impl Rect {
    pub(super) fn of(x: &Axis, y: &Axis) -> Self {
        Rect {
            x0: x.a,
            x1: x.b,
            y0: y.a,
            y1: y.b,
        }
    }

    pub(super) fn contains(&self, (x, y): (f64, f64)) -> bool {
        let ex = (self.x1 - self.x0) * 1e-9;
        let ey = (self.y1 - self.y0) * 1e-9;
        x >= self.x0 - ex && x <= self.x1 + ex && y >= self.y0 - ey && y <= self.y1 + ey
    }

    /// Position as fractions of the rectangle (y up).
    pub(super) fn norm(&self, (x, y): (f64, f64)) -> (f64, f64) {
        (
            (x - self.x0) / (self.x1 - self.x0),
            (y - self.y0) / (self.y1 - self.y0),
        )
    }
}

/// Liang-Barsky: the part of segment p-q inside `r`, as parameters (t0, t1).
pub(super) fn clip_segment(p: (f64, f64), q: (f64, f64), r: &Rect) -> Option<(f64, f64)> {
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
pub(super) fn clip_polyline(pts: &[(f64, f64)], r: &Rect) -> Vec<Vec<(f64, f64)>> {
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
pub(super) fn clip_polygon(poly: &[(f64, f64)], r: &Rect) -> Vec<(f64, f64)> {
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
pub(super) fn runs(xs: &[f64], ys: &[f64], x: &Axis, y: &Axis) -> Vec<Vec<(f64, f64)>> {
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

/// Cell edges around centres `values` (any order) on a linear or log axis,
/// in transformed coordinates: midpoints between neighbours, half a gap
/// beyond the ends. Returns (lower, upper) per centre, `None` for a centre
/// that cannot be drawn.
pub(super) fn cell_edges(values: &[f64], log: bool) -> Vec<Option<(f64, f64)>> {
    let c: Vec<Option<f64>> = values.iter().map(|&v| tv(log, v)).collect();
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

/// Drops points within 0.7 px of the last one kept (first and last always
/// kept): invisible under a 3 px line, and keeps dense curves' SVG small.
/// `px` is the plot's size in pixels.
pub(super) fn thin(pts: Vec<(f64, f64)>, r: &Rect, px: (u32, u32)) -> Vec<(f64, f64)> {
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

/// The span covered by cells (transformed), or an empty range.
pub(super) fn edges_span(e: &[Option<(f64, f64)>]) -> (f64, f64) {
    e.iter()
        .flatten()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), q| {
            (a.min(q.0), b.max(q.1))
        })
}
