//! Boursier & Flammarion: "Early alignment in two-layer networks training is
//! a two-edged sword" (JMLR 26, 2025, arXiv 2401.10791) and "Simplicity bias
//! and optimization threshold in two-layer ReLU networks" (ICML 2025, arXiv
//! 2410.02348). The papers' formulas as plain functions.
//!
//! Setting: h(x) = sum_j a_j sigma(<w_j, x>), sigma(z) = max(z, gamma z), a bias
//! is an input coordinate fixed to 1, L = 1/n sum_k 1/2 (h(x_k) - y_k)^2,
//! gradient flow from (a_j, w_j) = (lambda/sqrt m)(a~_j, w~_j).
//!
//! - D(w, 0) = 1/n sum_k y_k sigma'(<w, x_k>) x_k: near theta = 0 (where h = 0)
//!   the flow of w_j is dw_j/dt = a_j D(w_j, 0), i.e. -grad_{w_j} L = a_j D(w_j, 0).
//! - G(w) = <w, D(w, 0)> = 1/n sum_k y_k sigma(<w, x_k>) on the unit sphere.
//!   Extremal vectors: unit w with D(w, 0) = +-||D(w, 0)|| w (critical points of G).
//!   Theorem 1: neurons with a_j > 0 align to local maxima of G, a_j < 0 to
//!   local minima, during t <= tau_eps = -eps ln(lambda) / D_max with
//!   D_max = max_w ||D(w, 0)||, while |a_j(t)| <= |a_j(0)| lambda^(-2 eps).
//! - Population version for x ~ N(0, I_d), y = <beta*, x> + noise:
//!   D(w) = E[y sigma'(<w, x>) x] = (1 + gamma)/2 beta* for every w, so the
//!   only extremal directions are +-beta*/||beta*||.
//! - OLS: beta_hat = X^+ y. For Gaussian design with n > d + 1 and noise
//!   variance sigma^2: E[train MSE] = sigma^2 (n - d)/n and
//!   E[||beta_hat - beta*||^2] = sigma^2 d/(n - d - 1) (the excess test risk).
//!
//! Time: GD with step lr on c/n sum (h - y)^2 moves theta by lr 2c grad of the
//! 1/2 loss, so one step is 2 c lr units of the papers' flow time.

use ndarray::{Array1, Array2};

use crate::error::Result;
use crate::nets::wide::{Points, SquareLoss};
use crate::record::fmt_num;

/// sigma'(z) with sigma'(0) = gamma.
fn slope(z: f64, gamma: f64) -> f64 {
    if z > 0.0 {
        1.0
    } else {
        gamma
    }
}

/// <u, v>, summed in index order.
pub fn dot(u: &[f64], v: &[f64]) -> f64 {
    u.iter().zip(v).map(|(a, b)| a * b).sum()
}

/// |u| = sqrt(<u, u>).
pub fn norm(u: &[f64]) -> f64 {
    dot(u, u).sqrt()
}

/// cos(u, v), 0 if either is zero.
pub fn cosine(u: &[f64], v: &[f64]) -> f64 {
    let nn = norm(u) * norm(v);
    if nn > 0.0 {
        dot(u, v) / nn
    } else {
        0.0
    }
}

/// D(w, 0) = 1/n sum_k y_k sigma'(<w, x_k>) x_k (length d).
pub fn d_vector(w: &[f64], data: &Points, gamma: f64) -> Vec<f64> {
    let n = data.len() as f64;
    let mut d = vec![0.0; data.d];
    for (k, &yk) in data.y.iter().enumerate() {
        let xk = data.row(k);
        let s = yk * slope(dot(w, xk), gamma) / n;
        for (dc, xc) in d.iter_mut().zip(xk) {
            *dc += s * xc;
        }
    }
    d
}

/// G(w) = <w, D(w, 0)> = 1/n sum_k y_k sigma(<w, x_k>).
pub fn g_value(w: &[f64], data: &Points, gamma: f64) -> f64 {
    let n = data.len() as f64;
    data.y
        .iter()
        .enumerate()
        .map(|(k, &yk)| {
            let z = dot(w, data.row(k));
            yk * if z > 0.0 { z } else { gamma * z }
        })
        .sum::<f64>()
        / n
}

/// Flow time of one GD step with step `lr` on the loss convention `conv`.
pub fn flow_time_per_step(lr: f64, conv: SquareLoss) -> f64 {
    2.0 * conv.factor() * lr
}

/// tau_eps = -eps ln(lambda) / D_max, the end of the alignment phase (flow time).
pub fn alignment_time(eps: f64, lambda: f64, d_max: f64) -> f64 {
    -eps * lambda.ln() / d_max
}

/// Theorem 1's bound on the growth of the second layer: |a_j(t)| / |a_j(0)| <=
/// lambda^(-2 eps) for t <= tau_eps, i.e. exp(2 D_max t) written in flow time.
pub fn growth_bound(t: f64, d_max: f64) -> f64 {
    (2.0 * d_max * t).exp()
}

/// Whether a critical direction attracts neurons with a_j > 0 (a local
/// maximum of G with G > 0) or a_j < 0 (a local minimum with G < 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Attracts {
    Positive,
    Negative,
}

/// A local extremum of G on the sphere.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Extremal {
    /// Unit direction.
    pub direction: Vec<f64>,
    pub attracts: Attracts,
    pub g: f64,
    /// ||D(w, 0)|| at the direction.
    pub d_norm: f64,
    /// True when D(w, 0) = +-||D|| w exactly (an extremal vector inside an
    /// activation region); false for an extremum on a region's boundary.
    pub interior: bool,
}

/// What scanning the sphere found.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SphereScan {
    pub extremal: Vec<Extremal>,
    /// max ||D(w, 0)|| over the scanned directions.
    pub d_max: f64,
    pub directions_scanned: usize,
}

impl SphereScan {
    pub fn count(&self, attracts: Attracts) -> usize {
        self.extremal
            .iter()
            .filter(|e| e.attracts == attracts)
            .count()
    }
    /// Unit directions that attract neurons of the given sign of a_j.
    pub fn directions(&self, attracts: Attracts) -> Vec<Vec<f64>> {
        self.extremal
            .iter()
            .filter(|e| e.attracts == attracts)
            .map(|e| e.direction.clone())
            .collect()
    }
}

/// The activation pattern (which points have <w, x_k> > 0).
fn pattern(w: &[f64], data: &Points) -> Vec<bool> {
    (0..data.len()).map(|k| dot(w, data.row(k)) > 0.0).collect()
}

/// Local maxima (G > 0) and minima (G < 0) of G on the unit sphere, for
/// d = 2 (a circle of `resolution` angles) or d = 3 (a latitude-longitude grid
/// of resolution x 2 resolution). Each discrete extremum is refined: if the
/// direction of D(w, 0) there has the same activation pattern as w, it is an
/// exact extremal vector and replaces w. Extrema closer than `merge_cos` are
/// reported once. Cost O(resolution^(d-1) n d).
pub fn scan_sphere(data: &Points, gamma: f64, resolution: usize) -> Result<SphereScan> {
    let d = data.d;
    type Neighbours = Box<dyn Fn(usize) -> Vec<usize>>;
    let (dirs, neighbours): (Vec<Vec<f64>>, Neighbours) = match d {
        2 => {
            let r = resolution.max(8);
            let dirs = (0..r)
                .map(|i| {
                    let t = std::f64::consts::TAU * i as f64 / r as f64;
                    vec![t.cos(), t.sin()]
                })
                .collect();
            (dirs, Box::new(move |i| vec![(i + r - 1) % r, (i + 1) % r]))
        }
        3 => {
            let nt = resolution.max(8);
            let np = 2 * nt;
            let mut dirs = Vec::with_capacity(nt * np);
            for i in 0..nt {
                let theta = std::f64::consts::PI * (i as f64 + 0.5) / nt as f64;
                for j in 0..np {
                    let phi = std::f64::consts::TAU * j as f64 / np as f64;
                    dirs.push(vec![
                        theta.sin() * phi.cos(),
                        theta.sin() * phi.sin(),
                        theta.cos(),
                    ]);
                }
            }
            (
                dirs,
                Box::new(move |idx| {
                    let (i, j) = (idx / np, idx % np);
                    let mut out = Vec::with_capacity(8);
                    for di in [-1i64, 0, 1] {
                        for dj in [-1i64, 0, 1] {
                            if di == 0 && dj == 0 {
                                continue;
                            }
                            let ii = i as i64 + di;
                            if ii < 0 || ii >= nt as i64 {
                                // across a pole: the antipodal longitude on the same row
                                let jj = (j + np / 2) % np;
                                out.push(i * np + jj);
                                continue;
                            }
                            let jj = (j as i64 + dj).rem_euclid(np as i64) as usize;
                            out.push(ii as usize * np + jj);
                        }
                    }
                    out
                }),
            )
        }
        _ => {
            return Err(crate::error::Error::bad(format!(
                "scan_sphere: input dimension {d} (bias included) must be 2 or 3; use a population formula"
            )))
        }
    };
    let g: Vec<f64> = dirs.iter().map(|w| g_value(w, data, gamma)).collect();
    let d_max = dirs
        .iter()
        .map(|w| norm(&d_vector(w, data, gamma)))
        .fold(0.0f64, f64::max);
    let merge_cos = 0.999;
    let mut extremal: Vec<Extremal> = Vec::new();
    for (i, w) in dirs.iter().enumerate() {
        let nb = neighbours(i);
        let (gi, attracts) = (
            g[i],
            if g[i] > 0.0 {
                Attracts::Positive
            } else {
                Attracts::Negative
            },
        );
        if gi == 0.0 {
            continue;
        }
        let is_ext = match attracts {
            Attracts::Positive => nb.iter().all(|&k| gi >= g[k]) && nb.iter().any(|&k| gi > g[k]),
            Attracts::Negative => nb.iter().all(|&k| gi <= g[k]) && nb.iter().any(|&k| gi < g[k]),
        };
        if !is_ext {
            continue;
        }
        let dv = d_vector(w, data, gamma);
        let dn = norm(&dv);
        let sign = if attracts == Attracts::Positive {
            1.0
        } else {
            -1.0
        };
        let candidate: Vec<f64> = dv.iter().map(|v| sign * v / dn).collect();
        let interior = dn > 0.0 && pattern(&candidate, data) == pattern(w, data);
        let direction = if interior { candidate } else { w.clone() };
        if extremal
            .iter()
            .any(|e| e.attracts == attracts && cosine(&e.direction, &direction) > merge_cos)
        {
            continue;
        }
        extremal.push(Extremal {
            g: g_value(&direction, data, gamma),
            d_norm: norm(&d_vector(&direction, data, gamma)),
            direction,
            attracts,
            interior,
        });
    }
    Ok(SphereScan {
        extremal,
        d_max,
        directions_scanned: dirs.len(),
    })
}

/// Population D(w) for x ~ N(0, I_d) and y = <beta*, x> + noise:
/// (1 + gamma)/2 beta*, the same for every w.
pub fn population_d_linear_teacher(beta: &[f64], gamma: f64) -> Vec<f64> {
    beta.iter().map(|b| 0.5 * (1.0 + gamma) * b).collect()
}

/// An ordinary least-squares fit y ~ X beta (X includes the bias column if any).
#[derive(Clone, Debug, serde::Serialize)]
pub struct OlsFit {
    pub beta: Vec<f64>,
    pub predictions: Vec<f64>,
    /// 1/n sum (X beta - y)^2.
    pub mse: f64,
}

/// beta_hat = X^+ y by LAPACK's SVD least squares (min-norm when n < d).
pub fn ols(data: &Points) -> Result<OlsFit> {
    let x = Array2::from_shape_vec((data.len(), data.d), data.x.clone())
        .expect("Points keeps n x d values");
    let y = Array1::from(data.y.clone());
    let beta = crate::nets::linear::min_norm_svd(x.view(), y.view())?;
    let pred = x.dot(&beta);
    let mse = pred
        .iter()
        .zip(&data.y)
        .map(|(p, y)| (p - y) * (p - y))
        .sum::<f64>()
        / data.len() as f64;
    Ok(OlsFit {
        beta: beta.to_vec(),
        predictions: pred.to_vec(),
        mse,
    })
}

/// E[train MSE of OLS] = sigma^2 (n - d)/n for n >= d (0 below).
pub fn ols_expected_train_mse(sigma: f64, n: usize, d: usize) -> f64 {
    if n <= d {
        0.0
    } else {
        sigma * sigma * (n - d) as f64 / n as f64
    }
}

/// E[||beta_hat - beta*||^2] = sigma^2 d/(n - d - 1) for Gaussian design, n > d + 1.
pub fn ols_expected_excess_risk(sigma: f64, n: usize, d: usize) -> Option<f64> {
    (n > d + 1).then(|| sigma * sigma * d as f64 / (n - d - 1) as f64)
}

/// A ReLU neuron a relu(w_x x + w_b) on a scalar input with a bias.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct ScalarNeuron {
    pub a: f64,
    pub w_x: f64,
    pub w_b: f64,
}

impl ScalarNeuron {
    /// a relu(w_x x + w_b).
    pub fn output(&self, x: f64) -> f64 {
        self.a * (self.w_x * x + self.w_b).max(0.0)
    }

    /// `relu(w_x x + w_b)` with the signs folded in, e.g. `relu(-x - 0.475)`.
    fn relu_term(&self) -> String {
        let slope = match self.w_x {
            1.0 => String::new(),
            -1.0 => "-".to_string(),
            w => format!("{} ", fmt_num(w)),
        };
        let sign = if self.w_b < 0.0 { '-' } else { '+' };
        format!("relu({slope}x {sign} {})", fmt_num(self.w_b.abs()))
    }
}

/// The network sum_j a_j relu(w_j x + b_j) as a formula with every sign
/// folded in, e.g. `4 relu(-x - 0.475) - 2.5 relu(x + 0.175)`.
pub fn network_formula(neurons: &[ScalarNeuron]) -> String {
    let mut out = String::new();
    for (j, u) in neurons.iter().enumerate() {
        let a = match (j, u.a < 0.0) {
            (0, _) => fmt_num(u.a),
            (_, true) => format!(" - {}", fmt_num(-u.a)),
            (_, false) => format!(" + {}", fmt_num(u.a)),
        };
        out.push_str(&format!("{a} {}", u.relu_term()));
    }
    out
}

/// Two ReLU neurons that interpolate three points x1 < x2 < x3 with y1, y2 > 0
/// when the line through the first two points crosses zero at r in (x2, x3)
/// with a negative slope s (JMLR App. B.1's data is such a case):
/// f(x) = -s relu(r - x) + y3/(x3 - t) relu(x - t), t = (r + x3)/2.
/// The first neuron is the line on x <= r and 0 beyond; the second is 0 up
/// to t > x2 and reaches y3 at x3. None when the condition fails.
pub fn two_neuron_interpolator(x: [f64; 3], y: [f64; 3]) -> Option<[ScalarNeuron; 2]> {
    let mut idx = [0usize, 1, 2];
    idx.sort_by(|&i, &j| x[i].total_cmp(&x[j]));
    let (x1, x2, x3) = (x[idx[0]], x[idx[1]], x[idx[2]]);
    let (y1, y2, y3) = (y[idx[0]], y[idx[1]], y[idx[2]]);
    if !(x1 < x2 && x2 < x3 && y1 > 0.0 && y2 > 0.0) {
        return None;
    }
    let s = (y2 - y1) / (x2 - x1);
    if s >= 0.0 {
        return None;
    }
    let r = x1 - y1 / s;
    if !(r > x2 && r < x3) {
        return None;
    }
    let t = 0.5 * (r + x3);
    Some([
        ScalarNeuron {
            a: -s,
            w_x: -1.0,
            w_b: r,
        },
        ScalarNeuron {
            a: y3 / (x3 - t),
            w_x: 1.0,
            w_b: -t,
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn three_points() -> Points {
        let xs = [-0.75, -0.5, 0.125];
        let x: Vec<f64> = xs.iter().flat_map(|&v| [v, 1.0]).collect();
        Points::new(2, x, vec![1.1, 0.1, 0.8]).unwrap()
    }

    #[test]
    fn three_point_ols_matches_the_paper() {
        let fit = ols(&three_points()).unwrap();
        assert!((fit.beta[0] + 0.0615).abs() < 1e-4, "{:?}", fit.beta);
        assert!((fit.beta[1] - 0.6436).abs() < 1e-4);
        for (p, q) in fit.predictions.iter().zip([0.690, 0.674, 0.636]) {
            assert!((p - q).abs() < 1e-3);
        }
        assert!((fit.mse - 0.175043).abs() < 1e-6, "{}", fit.mse);
    }

    #[test]
    fn three_point_scan_finds_one_positive_extremal_vector_at_d_star() {
        let data = three_points();
        let scan = scan_sphere(&data, 0.0, 3600).unwrap();
        assert_eq!(scan.count(Attracts::Positive), 1, "{:?}", scan.extremal);
        assert_eq!(scan.count(Attracts::Negative), 0);
        let e = &scan.extremal[0];
        assert!(e.interior);
        // D* = 1/n sum y_k x_k with every point active.
        let d_star = [(-0.825 - 0.05 + 0.1) / 3.0, 2.0 / 3.0];
        assert!(cosine(&e.direction, &d_star) > 1.0 - 1e-12);
        assert!((scan.d_max - norm(&d_star)).abs() < 1e-12);
    }

    #[test]
    fn the_two_neuron_interpolator_fits_the_three_points() {
        let n = two_neuron_interpolator([-0.75, -0.5, 0.125], [1.1, 0.1, 0.8]).unwrap();
        for (x, y) in [(-0.75, 1.1), (-0.5, 0.1), (0.125, 0.8)] {
            let f: f64 = n.iter().map(|u| u.output(x)).sum();
            assert!((f - y).abs() < 1e-12, "{f} vs {y}");
        }
    }

    #[test]
    fn a_network_formula_folds_its_signs() {
        let neuron = |a, w_x, w_b| ScalarNeuron { a, w_x, w_b };
        assert_eq!(
            network_formula(&[neuron(4.0, -1.0, -0.475), neuron(2.5, 1.0, 0.175)]),
            "4 relu(-x - 0.475) + 2.5 relu(x + 0.175)"
        );
        assert_eq!(
            network_formula(&[neuron(-1.0, 0.5, 0.0), neuron(-1.5, 2.0, -3.0)]),
            "-1 relu(0.5 x + 0) - 1.5 relu(2 x - 3)"
        );
        assert_eq!(neuron(1.0, 2.0, -3.0).output(1.0), 0.0);
        assert_eq!(neuron(1.5, 2.0, -3.0).output(2.0), 1.5);
    }

    #[test]
    fn scan_in_three_dimensions_finds_the_same_direction_when_lifted() {
        // Put the 3-point data in the plane x_3 = 0 of R^3 plus a dummy coordinate:
        // the extremal vector stays in that plane.
        let xs = [-0.75, -0.5, 0.125];
        let x: Vec<f64> = xs.iter().flat_map(|&v| [v, 1.0, 0.0]).collect();
        let data = Points::new(3, x, vec![1.1, 0.1, 0.8]).unwrap();
        let scan = scan_sphere(&data, 0.0, 180).unwrap();
        let pos = scan.directions(Attracts::Positive);
        let d_star = [(-0.825 - 0.05 + 0.1) / 3.0, 2.0 / 3.0, 0.0];
        assert!(pos.iter().any(|p| cosine(p, &d_star) > 0.9999), "{pos:?}");
    }

    #[test]
    fn population_d_is_half_beta_for_relu() {
        assert_eq!(
            population_d_linear_teacher(&[2.0, -4.0], 0.0),
            vec![1.0, -2.0]
        );
    }
}
