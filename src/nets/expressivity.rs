//! Finite-sample expressivity: a two-layer ReLU network with 2n + d weights
//! that reproduces ANY targets on n distinct points of R^d (the construction
//! behind Theorem 1 of Zhang, Bengio, Hardt, Recht, Vinyals 2017).
//!
//! The network is
//!
//!   c(z) = sum_{j=1..n} w_j relu(<a, z> - b_j),   a in R^d, b, w in R^n,
//!
//! so it has exactly d + 2n parameters. Construction (`construct`):
//! 1. Draw a ~ N(0, I_d). The projections x_i = <a, z_i> of distinct points are
//!    distinct almost surely. A draw whose smallest gap between sorted
//!    projections is below `min_relative_gap * max_i |x_i|` (a near-tie) is
//!    rejected and a is drawn again; the number of rejected draws is reported.
//! 2. Sort the projections, x_(1) < ... < x_(n), and interleave thresholds
//!    (`interleaving_thresholds`): b_j = (x_(j-1) + x_(j)) / 2 for j >= 2 and
//!    b_1 = x_(1) - (x_(2) - x_(1)) / 2 (b_1 = x_(1) - 1 when n = 1).
//! 3. A_ij = relu(x_(i) - b_j) is lower triangular (b_j > x_(j-1) >= x_(i)
//!    when j > i) with a positive diagonal x_(i) - b_i, so A w = y has a
//!    unique solution, found by forward substitution (`solve_weights`):
//!    w_i = (y_i - sum_{j<i} A_ij w_j) / A_ii.
//!
//! Duplicates. Identical points with different targets cannot be fitted by
//! any function: `construct` fails with `Error::BadInput` naming both
//! indices. Identical points with EQUAL targets are merged (the labelling is
//! still a function of the point); the network then has 2 n' + d
//! parameters, n' the number of distinct points, and `Construction::merged`
//! says how many rows were merged.
//!
//! Size of the weights. Let S_i = w_1 + ... + w_i be the slope of c just past
//! b_i. Between x_(i-1) and x_(i) the function rises by
//!   y_i - y_{i-1} = S_{i-1} (x_(i) - x_(i-1)) + w_i (x_(i) - b_i),
//! which gives the O(n) recursion of `solve_weights_linear` and, writing
//! rho_i = (b_i - x_(i-1)) / (x_(i) - b_i),
//!   |S_i| <= |y_i - y_{i-1}| / (x_(i) - b_i) + rho_i |S_{i-1}|,  |w_i| <= |S_i| + |S_{i-1}|
//! (`weight_bound`; y_0 = 0, S_0 = 0). With midpoints rho_i = 1, so
//! max|w| <= 2 sum_k 2 |y_k - y_{k-1}| / h_k with h_k the k-th gap: the weights
//! are as large as the inverse smallest gaps. For n i.i.d. projections with
//! density f, the smallest gap is about 1/(n^2 int f^2), so max|w| grows like n^2.
//!
//! Rounding. Forward substitution is backward stable (Higham, Accuracy and
//! Stability of Numerical Algorithms, Thm 8.5): the computed w solves
//! (A + dA) w = y with |dA| <= gamma_n |A|, gamma_n = n u / (1 - n u),
//! u = 2^-53. Evaluating c at z_i (the same projection arithmetic, so the
//! same A entries) adds at most gamma_n sum_j |w_j| A_ij. Hence
//!   |c(z_i) - y_i| <= 2 gamma_{n+1} sum_j |w_j| relu(x_(i) - b_j),
//! which `fit_report` checks (`rounding_ratio` <= 1). The bound is large when
//! the weights are: relative fit errors of 1e-9 .. 1e-6 are normal at n ~ 1e3.
//!
//! Cost: O(n d) for the projections, O(n log n) to sort, O(n^2) time and O(n)
//! memory for the forward substitution (A is never stored), O(n) for the
//! linear-time recursion; evaluating c at q points costs O(q (d + n)).

use ndarray::{Array1, ArrayView1, ArrayView2};
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::max_or_nan;
use crate::error::{Error, Result};
use crate::rng::Rng;

/// Unit roundoff of f64 (2^-53).
pub const UNIT_ROUNDOFF: f64 = f64::EPSILON / 2.0;

/// gamma_k = k u / (1 - k u), the standard bound on k rounding errors.
pub fn gamma(k: usize) -> f64 {
    let ku = k as f64 * UNIT_ROUNDOFF;
    ku / (1.0 - ku)
}

/// How `construct` draws the direction a.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstructionOptions {
    /// A draw of a is rejected when the smallest gap between sorted
    /// projections is below this fraction of max_i |x_i|. Must be >= 8 u
    /// so that every midpoint lies strictly between its two projections.
    #[serde(default = "default_min_relative_gap")]
    pub min_relative_gap: f64,
    /// Draws rejected before giving up (the points are then nearly identical).
    #[serde(default = "default_max_resamples")]
    pub max_resamples: usize,
}

fn default_min_relative_gap() -> f64 {
    1e-8
}
fn default_max_resamples() -> usize {
    100
}

impl Default for ConstructionOptions {
    fn default() -> Self {
        ConstructionOptions {
            min_relative_gap: default_min_relative_gap(),
            max_resamples: default_max_resamples(),
        }
    }
}

impl ConstructionOptions {
    /// Why these options cannot work, if they cannot.
    pub fn check(&self) -> std::result::Result<(), String> {
        if !(self.min_relative_gap.is_finite() && self.min_relative_gap >= 8.0 * UNIT_ROUNDOFF) {
            return Err(format!(
                "min_relative_gap = {} must be finite and >= 8 u = {:e} (midpoints must separate the projections)",
                self.min_relative_gap,
                8.0 * UNIT_ROUNDOFF
            ));
        }
        if self.min_relative_gap >= 1.0 {
            return Err(format!(
                "min_relative_gap = {} must be below 1",
                self.min_relative_gap
            ));
        }
        Ok(())
    }
}

/// c(z) = sum_j w_j relu(<a, z> - b_j), thresholds b sorted increasingly.
#[derive(Clone, Debug, PartialEq)]
pub struct ReluInterpolant {
    a: Array1<f64>,
    b: Vec<f64>,
    w: Vec<f64>,
}

/// <a, z> summed left to right. Construction and evaluation both use this
/// one function, so a training point's projection is bit-for-bit the one the
/// weights were solved for. O(d).
pub fn project(a: ArrayView1<f64>, z: ArrayView1<f64>) -> f64 {
    a.iter()
        .zip(z.iter())
        .fold(0.0, |s, (&ak, &zk)| s + ak * zk)
}

/// sum_j w_j relu(x - b_j) for a projection x, summed in index order. O(n).
pub fn eval_projection(b: &[f64], w: &[f64], x: f64) -> f64 {
    b.iter()
        .zip(w)
        .fold(0.0, |s, (&bj, &wj)| s + wj * (x - bj).max(0.0))
}

impl ReluInterpolant {
    /// A network from its parts (b must be as long as w).
    pub fn new(a: Array1<f64>, b: Vec<f64>, w: Vec<f64>) -> Self {
        assert_eq!(b.len(), w.len(), "one threshold per output weight");
        ReluInterpolant { a, b, w }
    }
    pub fn direction(&self) -> ArrayView1<'_, f64> {
        self.a.view()
    }
    pub fn thresholds(&self) -> &[f64] {
        &self.b
    }
    pub fn weights(&self) -> &[f64] {
        &self.w
    }
    /// Number of hidden units (n).
    pub fn width(&self) -> usize {
        self.w.len()
    }
    /// d + 2n: the direction a, the thresholds b and the output weights w.
    pub fn parameter_count(&self) -> usize {
        self.a.len() + self.b.len() + self.w.len()
    }
    /// max_j |w_j| (0 for an empty network; NaN when a weight is).
    pub fn max_abs_weight(&self) -> f64 {
        self.w.iter().fold(0.0f64, |m, v| max_or_nan(m, v.abs()))
    }
    /// c(z) for one point. O(d + n).
    pub fn eval(&self, z: ArrayView1<f64>) -> f64 {
        eval_projection(&self.b, &self.w, project(self.a.view(), z))
    }
}

/// A fitted network and how the fit went.
#[derive(Clone, Debug)]
pub struct Construction {
    pub net: ReluInterpolant,
    /// Draws of a rejected for a near-tie.
    pub resamples: usize,
    /// Rows merged into an identical earlier row with the same target.
    pub merged: usize,
    /// Smallest gap between sorted projections over max_i |x_i| (accepted draw).
    pub min_relative_gap: f64,
    /// `weight_bound` on the fitted projections and targets: max|w| <= this (exact arithmetic).
    pub weight_bound: f64,
}

/// Thresholds interleaving sorted distinct projections: b_1 = x_1 - (x_2 - x_1)/2,
/// b_j = (x_{j-1} + x_j)/2 (j >= 2); b_1 = x_1 - 1 when n = 1. O(n).
pub fn interleaving_thresholds(x_sorted: &[f64]) -> Vec<f64> {
    let n = x_sorted.len();
    let mut b = Vec::with_capacity(n);
    if n == 0 {
        return b;
    }
    b.push(if n == 1 {
        x_sorted[0] - 1.0
    } else {
        x_sorted[0] - 0.5 * (x_sorted[1] - x_sorted[0])
    });
    b.extend(x_sorted.windows(2).map(|p| 0.5 * p[0] + 0.5 * p[1]));
    b
}

/// Check b_1 < x_1 and x_{j-1} < b_j < x_j (strictly), so that A is lower
/// triangular with a positive diagonal.
fn check_interleaving(x: &[f64], b: &[f64], y: &[f64]) -> Result<()> {
    if x.len() != b.len() || x.len() != y.len() {
        return Err(Error::bad(format!(
            "expressivity: {} projections, {} thresholds and {} targets (must be equal)",
            x.len(),
            b.len(),
            y.len()
        )));
    }
    for i in 0..x.len() {
        let below = b[i] < x[i];
        let above = i == 0 || b[i] > x[i - 1];
        if !(below && above && b[i].is_finite() && y[i].is_finite()) {
            return Err(Error::bad(format!(
                "expressivity: threshold b[{i}] = {} does not interleave the sorted projections (need x[{}] < b[{i}] < x[{i}] = {})",
                b[i],
                i.max(1) - 1,
                x[i]
            )));
        }
    }
    Ok(())
}

/// Output weights w with sum_j w_j relu(x_i - b_j) = y_i for sorted distinct
/// projections x and interleaving thresholds b (checked): forward
/// substitution on A_ij = relu(x_i - b_j), row by row, entries computed on the
/// fly. Backward stable (see the module docs). O(n^2) time, O(n) memory.
pub fn solve_weights(x_sorted: &[f64], b: &[f64], y: &[f64]) -> Result<Vec<f64>> {
    check_interleaving(x_sorted, b, y)?;
    let mut w = Vec::with_capacity(x_sorted.len());
    for (i, &xi) in x_sorted.iter().enumerate() {
        let known = eval_projection(&b[..i], &w, xi);
        w.push((y[i] - known) / (xi - b[i]));
    }
    Ok(w)
}

/// The same weights in O(n) from the slope recursion of the module docs:
/// w_i = (y_i - y_{i-1} - S_{i-1} (x_i - x_{i-1})) / (x_i - b_i), S_i = S_{i-1} + w_i.
/// Exact in exact arithmetic; in floating point it lacks forward
/// substitution's backward-error guarantee, so `construct` uses
/// `solve_weights` and this one serves as a fast path and a cross-check.
pub fn solve_weights_linear(x_sorted: &[f64], b: &[f64], y: &[f64]) -> Result<Vec<f64>> {
    check_interleaving(x_sorted, b, y)?;
    let mut w = Vec::with_capacity(x_sorted.len());
    let mut slope = 0.0;
    for i in 0..x_sorted.len() {
        let (dy, dx) = if i == 0 {
            (y[0], 0.0)
        } else {
            (y[i] - y[i - 1], x_sorted[i] - x_sorted[i - 1])
        };
        let wi = (dy - slope * dx) / (x_sorted[i] - b[i]);
        slope += wi;
        w.push(wi);
    }
    Ok(w)
}

/// An upper bound on max_i |w_i| from the gaps alone (exact arithmetic):
/// R_i = |y_i - y_{i-1}| / (x_i - b_i) + rho_i R_{i-1}, rho_i = (b_i - x_{i-1})/(x_i - b_i),
/// bounds |S_i|, and max|w| <= max_i (R_i + R_{i-1}). With midpoint
/// thresholds R_n = sum_k 2 |y_k - y_{k-1}| / h_k. O(n). Inputs as `solve_weights`.
pub fn weight_bound(x_sorted: &[f64], b: &[f64], y: &[f64]) -> Result<f64> {
    check_interleaving(x_sorted, b, y)?;
    let (mut r_prev, mut best) = (0.0f64, 0.0f64);
    for i in 0..x_sorted.len() {
        let below = x_sorted[i] - b[i];
        let r = if i == 0 {
            y[0].abs() / below
        } else {
            (y[i] - y[i - 1]).abs() / below + (b[i] - x_sorted[i - 1]) / below * r_prev
        };
        best = best.max(r + r_prev);
        r_prev = r;
    }
    Ok(best)
}

/// Whether rows i and j of Z are identical (coordinate-wise ==).
fn equal_rows(z: ArrayView2<f64>, i: usize, j: usize) -> bool {
    z.row(i).iter().zip(z.row(j).iter()).all(|(a, b)| a == b)
}

/// Build the 2n + d network that reproduces target y_i at every row z_i of Z
/// (n x d): see the module docs. `rng` draws the direction a.
///
/// Errors (`Error::BadInput`): shape mismatch, n = 0 or d = 0, a non-finite
/// entry (named), identical rows with different targets (both indices
/// named), points too close to separate at `min_relative_gap` after
/// `max_resamples` draws (the closest pair named), invalid options.
/// Cost: O(n d + n log n + n^2) per draw of a.
pub fn construct(
    z: ArrayView2<f64>,
    y: ArrayView1<f64>,
    opts: &ConstructionOptions,
    rng: &mut Rng,
) -> Result<Construction> {
    opts.check()
        .map_err(|m| Error::bad(format!("expressivity: {m}")))?;
    let (n, d) = z.dim();
    if y.len() != n {
        return Err(Error::bad(format!(
            "expressivity: {n} points but {} targets",
            y.len()
        )));
    }
    if n == 0 || d == 0 {
        return Err(Error::bad(format!(
            "expressivity: need at least one point of dimension >= 1 (got {n} x {d})"
        )));
    }
    for (i, row) in z.outer_iter().enumerate() {
        if let Some(k) = row.iter().position(|v| !v.is_finite()) {
            return Err(Error::bad(format!(
                "expressivity: point {i} has a non-finite coordinate {k} ({})",
                row[k]
            )));
        }
        if !y[i].is_finite() {
            return Err(Error::bad(format!(
                "expressivity: target {i} is not finite ({})",
                y[i]
            )));
        }
    }
    let mut resamples = 0;
    loop {
        let a: Array1<f64> = (0..d)
            .map(|_| Distribution::<f64>::sample(&StandardNormal, rng))
            .collect();
        let proj: Vec<f64> = z.outer_iter().map(|r| project(a.view(), r)).collect();
        let mut order: Vec<usize> = (0..n).collect();
        // Ties broken by index, so merging keeps the first of identical rows.
        order.sort_by(|&i, &j| proj[i].total_cmp(&proj[j]).then(i.cmp(&j)));
        // Merge identical rows (identical rows have bit-identical projections).
        let mut kept: Vec<usize> = Vec::with_capacity(n);
        let mut merged = 0;
        let mut run_start = 0;
        for (pos, &i) in order.iter().enumerate() {
            if pos > 0 && proj[i] != proj[order[pos - 1]] {
                run_start = pos;
            }
            let twin = order[run_start..pos]
                .iter()
                .copied()
                .find(|&k| equal_rows(z, k, i));
            match twin {
                Some(k) if y[k] == y[i] => merged += 1,
                Some(k) => {
                    return Err(Error::bad(format!(
                        "expressivity: points {} and {} are identical but their targets differ ({} vs {}): no function fits them",
                        k.min(i),
                        k.max(i),
                        y[k.min(i)],
                        y[k.max(i)]
                    )))
                }
                None => kept.push(i),
            }
        }
        let x: Vec<f64> = kept.iter().map(|&i| proj[i]).collect();
        let scale = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let (mut gap, mut pair) = (f64::INFINITY, (0, 0));
        for k in 1..x.len() {
            let g = (x[k] - x[k - 1]) / scale;
            if g < gap || g.is_nan() {
                gap = g;
                pair = (kept[k - 1].min(kept[k]), kept[k - 1].max(kept[k]));
            }
        }
        // scale = 0 with >= 2 distinct points: every projection is 0, a full tie.
        let tie = x.len() >= 2 && (gap.is_nan() || gap < opts.min_relative_gap);
        if tie {
            if resamples >= opts.max_resamples {
                return Err(Error::bad(format!(
                    "expressivity: points {} and {} are too close to separate: after {} draws of a their projections still differ by only {:.3e} of max |<a, z>| (min_relative_gap = {:e})",
                    pair.0,
                    pair.1,
                    resamples + 1,
                    if gap.is_nan() { 0.0 } else { gap },
                    opts.min_relative_gap
                )));
            }
            resamples += 1;
            continue;
        }
        let targets: Vec<f64> = kept.iter().map(|&i| y[i]).collect();
        let b = interleaving_thresholds(&x);
        let w = solve_weights(&x, &b, &targets)?;
        let weight_bound = weight_bound(&x, &b, &targets)?;
        return Ok(Construction {
            net: ReluInterpolant::new(a, b, w),
            resamples,
            merged,
            min_relative_gap: if x.len() >= 2 { gap } else { f64::INFINITY },
            weight_bound,
        });
    }
}

/// How well a network reproduces targets on given points.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    /// max_i |c(z_i) - y_i|.
    pub max_abs_error: f64,
    /// max_i |c(z_i) - y_i| / max_i |y_i| (the absolute error when every y_i = 0).
    pub relative_error: f64,
    /// max_i |c(z_i) - y_i| / (2 gamma_{n+1} sum_j |w_j| relu(x_i - b_j)): at most 1
    /// when the network came from `construct` on these points (module docs).
    /// A zero residual counts 0; a nonzero residual over a zero bound counts inf.
    pub rounding_ratio: f64,
    /// max_i 2 gamma_{n+1} sum_j |w_j| relu(x_i - b_j) / max_i |y_i|: the rounding
    /// certificate on the relative error (same normalisation as `relative_error`).
    pub relative_bound: f64,
    /// Fraction of points with c(z_i) y_i > 0 (sign agreement; meaningful for +-1 targets).
    pub sign_accuracy: f64,
}

/// Evaluate the fit of `net` on (Z, y): errors and the rounding certificate. O(n (d + width)).
pub fn fit_report(net: &ReluInterpolant, z: ArrayView2<f64>, y: ArrayView1<f64>) -> FitReport {
    let g = 2.0 * gamma(net.width() + 1);
    let (mut max_abs, mut ratio, mut y_max, mut hits) = (0.0f64, 0.0f64, 0.0f64, 0usize);
    let mut bound_max = 0.0f64;
    for (row, &yi) in z.outer_iter().zip(y.iter()) {
        let x = project(net.direction(), row);
        let c = eval_projection(&net.b, &net.w, x);
        let res = (c - yi).abs();
        let scale: f64 = net
            .b
            .iter()
            .zip(&net.w)
            .map(|(&bj, &wj)| wj.abs() * (x - bj).max(0.0))
            .sum();
        let r = if res == 0.0 { 0.0 } else { res / (g * scale) };
        max_abs = max_or_nan(max_abs, res);
        bound_max = max_or_nan(bound_max, g * scale);
        ratio = max_or_nan(ratio, r);
        y_max = y_max.max(yi.abs());
        hits += usize::from(c * yi > 0.0);
    }
    FitReport {
        max_abs_error: max_abs,
        relative_error: if y_max > 0.0 {
            max_abs / y_max
        } else {
            max_abs
        },
        rounding_ratio: ratio,
        relative_bound: if y_max > 0.0 {
            bound_max / y_max
        } else {
            bound_max
        },
        sign_accuracy: hits as f64 / y.len().max(1) as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array2};
    use proptest::prelude::*;

    fn gaussian(n: usize, d: usize, rng: &mut crate::rng::Rng) -> Array2<f64> {
        Array2::from_shape_simple_fn((n, d), || Distribution::<f64>::sample(&StandardNormal, rng))
    }

    /// A NaN weight gives a NaN fit, never a perfect one: the worst error,
    /// the rounding ratio and the largest weight are NaN, so the claims
    /// that read them are inconclusive.
    #[test]
    fn a_nan_weight_is_no_fit() {
        let net = ReluInterpolant::new(array![1.0], vec![0.5, 1.5], vec![1.0, f64::NAN]);
        let (z, y) = (array![[1.0], [2.0]], array![0.5, 1.0]);
        let r = fit_report(&net, z.view(), y.view());
        assert!(
            r.max_abs_error.is_nan() && r.relative_error.is_nan(),
            "{r:?}"
        );
        assert!(
            r.rounding_ratio.is_nan() && r.relative_bound.is_nan(),
            "{r:?}"
        );
        assert!(net.max_abs_weight().is_nan());
        let finite = ReluInterpolant::new(array![1.0], vec![0.5, 1.5], vec![1.0, -2.0]);
        assert_eq!(finite.max_abs_weight(), 2.0);
    }

    #[test]
    fn three_point_example() {
        let x = [1.0, 2.0, 3.0];
        let b = [0.5, 1.5, 2.5];
        let y = [5.0, -1.0, 4.0];
        assert_eq!(solve_weights(&x, &b, &y).unwrap(), vec![10.0, -32.0, 54.0]);
        assert_eq!(
            solve_weights_linear(&x, &b, &y).unwrap(),
            vec![10.0, -32.0, 54.0]
        );
        assert_eq!(interleaving_thresholds(&x), b.to_vec());
        // R = 10, 12 + 10 = 22, 10 + 22 = 32 bound |S| = (10, 22, 32): max(R_i + R_{i-1}) = 54 = |w_3|.
        assert_eq!(weight_bound(&x, &b, &y).unwrap(), 54.0);
    }

    #[test]
    fn rejects_thresholds_that_do_not_interleave() {
        let e = solve_weights(&[1.0, 2.0], &[0.5, 2.0], &[1.0, 1.0]).unwrap_err();
        assert!(e.to_string().contains("b[1]"), "{e}");
        assert!(solve_weights(&[1.0, 2.0], &[1.0, 1.5], &[1.0, 1.0]).is_err());
    }

    #[test]
    fn one_point_and_zero_point() {
        let mut rng = crate::rng::stream(1, 0, "t");
        let z = array![[0.0, 0.0]];
        let c = construct(z.view(), array![3.0].view(), &Default::default(), &mut rng).unwrap();
        assert_eq!(c.net.parameter_count(), 4);
        assert_eq!(c.net.eval(z.row(0)), 3.0);
    }

    #[test]
    fn nearly_identical_points_are_named() {
        // Two distinct points that differ by 1e-12 relative: rejected, named.
        let mut rng = crate::rng::stream(2, 0, "t");
        let z = array![[1.0, 1.0], [1.0 + 1e-12, 1.0]];
        let opts = ConstructionOptions {
            min_relative_gap: 1e-8,
            max_resamples: 5,
        };
        let e = construct(z.view(), array![1.0, -1.0].view(), &opts, &mut rng).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("points 0 and 1") && msg.contains("6 draws"),
            "{msg}"
        );
    }

    #[test]
    fn bad_options_and_inputs_are_named() {
        let mut rng = crate::rng::stream(3, 0, "t");
        let z = array![[1.0], [f64::NAN]];
        let e = construct(
            z.view(),
            array![1.0, 2.0].view(),
            &Default::default(),
            &mut rng,
        );
        assert!(e.unwrap_err().to_string().contains("point 1"));
        let opts = ConstructionOptions {
            min_relative_gap: 1e-18,
            max_resamples: 1,
        };
        let z = array![[1.0], [2.0]];
        let e = construct(z.view(), array![1.0, 2.0].view(), &opts, &mut rng);
        assert!(e.unwrap_err().to_string().contains("min_relative_gap"));
    }

    #[test]
    fn weights_grow_like_the_inverse_smallest_gap() {
        // Alternating targets on equally spaced points with one gap shrunk to h:
        // the weight next to it scales like 1/h.
        let y = [1.0, -1.0, 1.0, -1.0];
        let big = |h: f64| {
            let x = [0.0, 1.0, 1.0 + h, 2.0 + h];
            let b = interleaving_thresholds(&x);
            let w = solve_weights(&x, &b, &y).unwrap();
            w.iter().fold(0.0f64, |m, v| m.max(v.abs()))
        };
        let ratio = big(1e-6) / big(1e-3);
        assert!((ratio - 1e3).abs() < 1e1, "{ratio}");
    }

    /// min_{i<j} |z_i - z_j| / max_i |z_i| (Euclidean norms); infinite below two points.
    fn min_relative_distance(z: ArrayView2<f64>) -> f64 {
        let scale = z
            .outer_iter()
            .map(|r| r.dot(&r).sqrt())
            .fold(0.0f64, f64::max);
        let mut closest = f64::INFINITY;
        for i in 0..z.nrows() {
            for j in 0..i {
                let diff = &z.row(i) - &z.row(j);
                closest = closest.min(diff.dot(&diff).sqrt());
            }
        }
        closest / scale
    }

    #[test]
    fn the_draw_ci_refused_is_left_out_as_too_close() {
        // proptest's minimal failing input of the red CI run (n = 246, d = 1).
        let mut rng = crate::rng::stream(6740975009508539153, 0, "points");
        let z = gaussian(246, 1, &mut rng);
        let gap = min_relative_distance(z.view());
        assert!(gap < 1e-8, "{gap}");
        let e = construct(
            z.view(),
            Array1::ones(246).view(),
            &Default::default(),
            &mut rng,
        );
        assert!(e.unwrap_err().to_string().contains("too close"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Any targets on random distinct points: every target reproduced within
        /// the backward-error bound, relative error small, exactly 2n + d parameters,
        /// max|w| within the gap bound, the O(n) recursion close to forward substitution.
        ///
        /// "Distinct" is the construction's precondition: two of n <= 300 Gaussian
        /// points in d = 1 fall within its 1e-8 relative gap about once in a few
        /// thousand draws, and the construction rightly refuses them (CI saw n = 246,
        /// points 145 and 245 at 3.05e-9). Such draws are left out here, with a
        /// margin (1e-6 relative distance) so a random direction in d > 1 still
        /// separates them; refusing them is `nearly_identical_points_are_named`'s test.
        #[test]
        fn reproduces_any_targets(n in 1usize..=300, d in 1usize..=30, seed in any::<u64>(), pm1 in any::<bool>()) {
            let mut rng = crate::rng::stream(seed, 0, "points");
            let z = gaussian(n, d, &mut rng);
            prop_assume!(min_relative_distance(z.view()) >= 1e-6);
            let y: Array1<f64> = if pm1 {
                gaussian(n, 1, &mut rng).column(0).mapv(|v| if v >= 0.0 { 1.0 } else { -1.0 })
            } else {
                gaussian(n, 1, &mut rng).column(0).to_owned() * 3.0
            };
            let c = construct(z.view(), y.view(), &Default::default(), &mut rng).unwrap();
            prop_assert_eq!(c.net.parameter_count(), 2 * n + d);
            prop_assert_eq!(c.merged, 0);
            let r = fit_report(&c.net, z.view(), y.view());
            prop_assert!(r.rounding_ratio <= 1.0, "{:?}", r);
            // Relative tolerance: the a-priori bound 2 gamma_{n+1} n max|w| max|x - b| / max|y|.
            let x_span = c.net.thresholds().last().unwrap() - c.net.thresholds()[0] + 1.0;
            let tol = 2.0 * gamma(n + 1) * n as f64 * c.net.max_abs_weight() * x_span * 2.0
                / y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            prop_assert!(r.relative_error <= tol.max(1e-15), "{:?} tol {}", r, tol);
            prop_assert!(r.relative_error <= 1e-6, "{:?}", r);
            if pm1 {
                prop_assert_eq!(r.sign_accuracy, 1.0);
            }
            prop_assert!(c.net.max_abs_weight() <= c.weight_bound * (1.0 + 1e-9));
            prop_assert!(c.min_relative_gap >= 1e-8);
            // The O(n) recursion on the same projections.
            let mut xs: Vec<f64> = z.outer_iter().map(|r| project(c.net.direction(), r)).collect();
            xs.sort_by(f64::total_cmp);
            let mut ys: Vec<(f64, f64)> = z.outer_iter().zip(y.iter())
                .map(|(r, &v)| (project(c.net.direction(), r), v)).collect();
            ys.sort_by(|p, q| p.0.total_cmp(&q.0));
            let ys: Vec<f64> = ys.into_iter().map(|p| p.1).collect();
            let fast = solve_weights_linear(&xs, c.net.thresholds(), &ys).unwrap();
            let fast_net = ReluInterpolant::new(c.net.direction().to_owned(), c.net.thresholds().to_vec(), fast);
            // The recursion has no backward-error bound: its error grows like
            // 1 / (the projections' smallest relative gap G), which a random
            // direction leaves just above its 1e-8 floor about once in 3e5 cases
            // (review, 2026-12-07: worst simulated 2e-14 / G; 11.6% of +-1 targets
            // at n = 300 and G = 1e-8 exceeded 1e-6). Above G = 1e-7 the bound is 1e-6.
            let fast_tol = 1e-6f64.max(1e-13 / c.min_relative_gap);
            let rf = fit_report(&fast_net, z.view(), y.view());
            prop_assert!(rf.relative_error <= fast_tol, "fast path {:?} tol {}", rf, fast_tol);
        }

        /// Identical rows with different targets are an error naming both indices;
        /// with equal targets they merge and the count drops by 2 per merged row.
        #[test]
        fn duplicates(n in 2usize..=60, d in 1usize..=8, seed in any::<u64>(), i in 0usize..60, j in 0usize..60) {
            let (i, j) = (i % n, j % n);
            prop_assume!(i != j);
            let mut rng = crate::rng::stream(seed, 0, "dup");
            let mut z = gaussian(n, d, &mut rng);
            // The other points must be distinct, as in `reproduces_any_targets`.
            prop_assume!(min_relative_distance(z.view()) >= 1e-6);
            let row = z.row(i).to_owned();
            z.row_mut(j).assign(&row);
            let mut y: Array1<f64> = (0..n).map(|k| k as f64).collect();
            let e = construct(z.view(), y.view(), &Default::default(), &mut rng).unwrap_err();
            let msg = e.to_string();
            let want = format!("points {} and {} are identical", i.min(j), i.max(j));
            prop_assert!(msg.contains(&want), "{}", msg);
            prop_assert_eq!(e.exit_code(), 2);
            y[j] = y[i];
            let c = construct(z.view(), y.view(), &Default::default(), &mut rng).unwrap();
            prop_assert_eq!(c.merged, 1);
            prop_assert_eq!(c.net.parameter_count(), 2 * (n - 1) + d);
            let r = fit_report(&c.net, z.view(), y.view());
            prop_assert!(r.rounding_ratio <= 1.0 && r.relative_error <= 1e-6, "{:?}", r);
        }
    }
}
