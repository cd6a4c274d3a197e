//! Axes: linear and log axes in transformed coordinates, their ticks,
//! tick labels and ranges.

use std::ops::Range;

use plotters::coord::ranged1d::{
    KeyPointHint, KeyPointWeight, NoDefaultFormatting, Ranged, ValueFormatter,
};

/// `v` in an axis' transformed coordinates, or `None` where it cannot be drawn.
pub(super) fn tv(log: bool, v: f64) -> Option<f64> {
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
pub(super) struct Axis {
    pub(super) a: f64,
    pub(super) b: f64,
    log: bool,
    pub(super) n: usize,
    /// Whether the low and the high end stand for everything beyond them
    /// (a saturated colour scale): the end is then a tick labelled "≤ a" or
    /// "≥ b". Linear axes only.
    open: (bool, bool),
    /// Tick at these values instead of round numbers (a heatmap's grid).
    grid_values: Option<GridValues>,
}

/// The most grid values an axis ticks.
const GRID_VALUES: usize = 10;

/// Sorted grid values in transformed coordinates (a fixed array, so an
/// `Axis` stays `Copy`).
#[derive(Clone, Copy, Debug)]
struct GridValues {
    t: [f64; GRID_VALUES],
    len: usize,
}

impl Axis {
    pub(super) fn new((a, b): (f64, f64), log: bool) -> Self {
        Axis {
            a,
            b,
            log,
            n: 6,
            open: (false, false),
            grid_values: None,
        }
    }

    /// The axis ticked at the grid `values` that lie on it (a heatmap's cell
    /// centres: a tick then names a cell, not a round number between cells),
    /// every k-th of them when more than `n` would crowd it. Without two
    /// drawable values, or with more than 10 (a dense grid reads better by
    /// round numbers or decades), the round-number ticks stay.
    pub(super) fn at_grid(self, values: &[f64]) -> Self {
        let mut t: Vec<f64> = values.iter().filter_map(|&v| tv(self.log, v)).collect();
        t.sort_by(f64::total_cmp);
        t.dedup();
        if t.len() < 2 || t.len() > GRID_VALUES {
            return self;
        }
        let mut grid = GridValues {
            t: [0.0; GRID_VALUES],
            len: t.len(),
        };
        grid.t[..t.len()].copy_from_slice(&t);
        Axis {
            grid_values: Some(grid),
            ..self
        }
    }

    /// The axis with its low and/or high end labelled "≤ a" / "≥ b".
    pub(super) fn open_ends(self, low: bool, high: bool) -> Self {
        Axis {
            open: (low, high),
            ..self
        }
    }

    pub(super) fn with_n(self, n: usize) -> Self {
        Axis {
            n: n.max(2),
            ..self
        }
    }

    pub(super) fn t(&self, v: f64) -> Option<f64> {
        tv(self.log, v)
    }

    /// `t` as a fraction of the axis (0 at `a`, 1 at `b`).
    pub(super) fn frac(&self, t: f64) -> f64 {
        (t - self.a) / (self.b - self.a)
    }

    /// The labelled ticks, at most `n`, in transformed coordinates.
    pub(super) fn ticks(&self, n: usize) -> Vec<f64> {
        if let Some(g) = &self.grid_values {
            let every = g.len.div_ceil(n.max(2));
            return g.t[..g.len].iter().copied().step_by(every).collect();
        }
        if self.log {
            return log_ticks(self.a, self.b, n, None);
        }
        let (mut ticks, step) = linear_ticks(self.a, self.b, n);
        // An open end is a tick of its own; a tick too close to it goes.
        if self.open.0 {
            ticks.retain(|t| t - self.a > 0.6 * step);
            ticks.insert(0, self.a);
        }
        if self.open.1 {
            ticks.retain(|t| self.b - t > 0.6 * step);
            ticks.push(self.b);
        }
        ticks
    }

    /// Every grid line: the ticks plus, on a log axis, the minor 2..9 × 10ᵏ.
    fn grid(&self, n: usize, limit: usize) -> Vec<f64> {
        if self.log {
            log_ticks(self.a, self.b, n, Some(limit))
        } else {
            self.ticks(n)
        }
    }

    pub(super) fn label(&self, t: f64) -> String {
        if self.grid_values.is_some() && !self.log {
            // The grid value itself, not rounded to a tick step (a log
            // axis' labels below already print any value).
            return format!("{}", round_sig(t, 6));
        }
        if !self.log {
            let end = 1e-9 * (self.b - self.a);
            if self.open.0 && (t - self.a).abs() <= end {
                return format!("≤ {}", round_sig(self.a, 3));
            }
            if self.open.1 && (t - self.b).abs() <= end {
                return format!("≥ {}", round_sig(self.b, 3));
            }
            let (ticks, step) = linear_ticks(self.a, self.b, self.n);
            let max_abs = ticks.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            return linear_label(t, step, max_abs);
        }
        let v = 10f64.powf(t);
        // Plain numbers (0.01 ... 1000) when every power of ten shown is in that range.
        let plain = (self.a - 1e-9).ceil() >= -2.0 && (self.b + 1e-9).floor() <= 3.0;
        let k = t.round();
        let sig = self.log_sig();
        if (t - k).abs() < 1e-9 {
            if plain {
                format!("{}", round_sig(v, sig))
            } else {
                format!("10{}", superscript(k as i64))
            }
        } else {
            let e = t.floor();
            if plain || (-2.0..=3.0).contains(&e) {
                format!("{}", round_sig(v, sig))
            } else {
                let m = round_sig(v / 10f64.powf(e), sig);
                format!("{m}×10{}", superscript(e as i64))
            }
        }
    }

    /// Significant digits of log tick labels: 3, or as many as it takes
    /// for neighbouring ticks (relative gap g) to differ, 1 + ceil(-log10 g).
    fn log_sig(&self) -> i32 {
        let vals: Vec<f64> = self.ticks(self.n).iter().map(|t| 10f64.powf(*t)).collect();
        let gap = vals
            .windows(2)
            .map(|w| (w[1] - w[0]) / w[1])
            .fold(1.0f64, f64::min);
        if gap > 0.0 {
            (1 + (-gap.log10()).ceil() as i32).clamp(3, 15)
        } else {
            3
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
        // Every stride-th power, offset so that as many as possible show
        // (multiples of the stride first): at least two.
        let on = |r: i64| (k0..=k1).filter(move |k| k.rem_euclid(stride) == r);
        let r = (0..stride)
            .max_by_key(|&r| (on(r).count(), -r))
            .unwrap_or(0);
        let majors: Vec<f64> = on(r).map(|k| k as f64).collect();
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

pub(super) fn round_sig(v: f64, sig: i32) -> f64 {
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
            s.round() != 0.0 && (s - s.round()).abs() < 1e-6 * s.abs()
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

/// `v` for a note: plain with 3 significant digits in 0.001..10000, else
/// as 1.5e-16.
pub(super) fn short_num(v: f64) -> String {
    if v == 0.0 || !v.is_finite() || (1e-3..1e4).contains(&v.abs()) {
        return format!("{}", round_sig(v, 3));
    }
    let s = format!("{v:.2e}");
    match s.split_once('e') {
        Some((m, e)) if m.contains('.') => {
            format!("{}e{e}", m.trim_end_matches('0').trim_end_matches('.'))
        }
        _ => s,
    }
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
pub(super) fn axis_range(
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
pub(super) fn widen(t: f64, log: bool) -> (f64, f64) {
    let d = if log {
        0.5
    } else if t == 0.0 {
        1.0
    } else {
        t.abs() * 0.1
    };
    (t - d, t + d)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// The labels of `ax`'s ticks, which must be distinct.
    fn distinct_labels(ax: &Axis, n: usize) -> Vec<String> {
        let ax = ax.with_n(n);
        let labels: Vec<String> = ax.ticks(n).iter().map(|&t| ax.label(t)).collect();
        for (i, l) in labels.iter().enumerate() {
            assert!(
                !labels[..i].contains(l),
                "repeated tick label {l}: {labels:?}"
            );
        }
        labels
    }

    #[test]
    fn distinct_ticks_have_distinct_labels() {
        // A tiny linear span: steps under 1e-6 need their decimals.
        let labels = distinct_labels(&Axis::new((0.5, 0.500002), false), 6);
        assert!(labels.len() >= 2, "{labels:?}");
        // A log axis shorter than a tick's 3 significant digits.
        let short = Axis::new((0.0, 1.0004f64.log10()), true);
        assert!(distinct_labels(&short, 6).len() >= 2);
        let short = Axis::new((5.0, 5.0 + 1.0003f64.log10()), true);
        assert!(distinct_labels(&short, 6).len() >= 2);
        // Three decades with room for two labels: two ticks, not one.
        let ax = Axis::new((-1.5, 1.5), true);
        assert_eq!(ax.ticks(2), vec![-1.0, 1.0]);
        assert_eq!(distinct_labels(&ax, 2), ["0.1", "10"]);
        assert_eq!(Axis::new((0.0, 3.0), true).ticks(2), vec![0.0, 2.0]);
    }

    /// A saturated colour scale labels its ends "≤ lo" / "≥ hi".
    #[test]
    fn open_ends_are_labelled() {
        let ax = Axis::new((-8.0, 0.5f64.log10()), false).open_ends(true, true);
        let labels = distinct_labels(&ax, 5);
        assert_eq!(labels.first().unwrap(), "≤ -8");
        assert_eq!(labels.last().unwrap(), "≥ -0.301");
    }

    /// Data to pixels: a value lands where its fraction of the axis says,
    /// on linear and log axes, with the pixel limits in either order (as
    /// plotters passes them for a y axis, bottom first).
    #[test]
    fn values_map_to_the_expected_pixels() {
        let lin = Axis::new((0.0, 10.0), false);
        assert_eq!(lin.map(&2.5, (100, 500)), 200);
        assert_eq!(lin.map(&2.5, (500, 100)), 400);
        let log = Axis::new((0.0, 4.0), true);
        let t = log.t(100.0).unwrap();
        assert_eq!(log.map(&t, (0, 800)), 400);
        assert_eq!(log.map(&log.t(10.0).unwrap(), (800, 0)), 600);
    }

    /// A heatmap's axis ticks its grid values (n = 50, 75, ... was ticked
    /// 40, 60, ...), every k-th when they would crowd, and keeps round
    /// numbers for a dense grid.
    #[test]
    fn grid_axes_tick_their_grid_values() {
        let ns = [50.0, 75.0, 100.0, 125.0, 150.0];
        let ax = Axis::new((37.5, 162.5), false).at_grid(&ns);
        let labels: Vec<String> = ax.ticks(6).iter().map(|&t| ax.label(t)).collect();
        assert_eq!(labels, ["50", "75", "100", "125", "150"]);
        assert_eq!(ax.ticks(3), vec![50.0, 100.0, 150.0]);
        let alphas = [1e-16, 1e-15, 1e-14];
        let log = Axis::new((-16.5, -13.5), true).at_grid(&alphas);
        let labels: Vec<String> = log.ticks(6).iter().map(|&t| log.label(t)).collect();
        assert_eq!(labels, ["10⁻¹⁶", "10⁻¹⁵", "10⁻¹⁴"]);
        let dense: Vec<f64> = (0..11).map(f64::from).collect();
        let plain = Axis::new((-0.5, 10.5), false);
        assert_eq!(plain.at_grid(&dense).ticks(6), plain.ticks(6));
    }
}
