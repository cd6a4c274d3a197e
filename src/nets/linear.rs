//! Linear models through the origin on X (n x q, one sample per row):
//! classifiers sign(<w, x>) with labels y in {-1, +1}, and the min-norm
//! interpolator of regression labels with its exact risk.
//!
//! - Min-norm solution: for q >= n (X of full row rank) the minimum-norm
//!   interpolator w = X^T (X X^T)^-1 y, computed as w = X^T a with K a = y,
//!   K = X X^T by Cholesky (O(n^2 q + n^3)). For q < n no interpolator exists
//!   in general and the least-squares solution w = (X^T X)^-1 X^T y is used
//!   (Cholesky on X^T X). Both are the minimum-norm least-squares solution X^+ y;
//!   `min_norm_svd` computes that by SVD as the plain reference.
//! - Hard-margin SVM without bias, min ||w||^2/2 s.t. y_i <w, x_i> >= 1, solved
//!   exactly in the dual: max_a 1^T a - a^T Q a / 2, a >= 0, Q = diag(y) K diag(y),
//!   w = X^T (a o y). Reference: coordinate ascent (exact line search per
//!   coordinate, O(n) per update). Fast path: a primal-dual active-set method
//!   (Hintermueller, Ito, Kunisch 2002; one Cholesky solve per iteration, usually
//!   a handful of iterations, exactly one when every point is a support vector),
//!   falling back to coordinate ascent when it cycles. Both stop on the relative
//!   duality gap (P - D)/P, where P = ||w||^2 / (2 min_i margin_i^2) is the
//!   objective of the feasible rescaled primal point w / min_i margin_i and
//!   D the dual objective; P >= optimum >= D, so the gap bounds the suboptimality.
//! - Min-norm regression (`min_norm_regression`): x ~ N(0, Sigma), Sigma =
//!   diag(lambda), theta* = e_1, y = X theta* + eps, eps ~ N(0, sigma^2 I);
//!   the interpolator theta_hat = X^T K^-1 y, K = X X^T (Cholesky) and, exactly
//!   (no test set), its excess risk R = (theta_hat - theta*)^T Sigma
//!   (theta_hat - theta*), the bias B (R at eps = 0: theta*^T (I - P) Sigma
//!   (I - P) theta*, P the projection on X's row space) and the noise average
//!   V = sigma^2 tr(C), C = K^-1 X Sigma X^T K^-1, so E_eps R = B + V
//!   (Bartlett, Long, Lugosi, Tsigler, PNAS 2020). Reference: X^+ by SVD.
//! - Logistic-loss GD: w <- w - lr grad L(w), L = 1/n sum_i log(1 + exp(-y_i <w, x_i>)),
//!   from w = 0. On separable data its direction tends to the SVM's (Soudry et al. 2018).

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis, Zip};
use ndarray_linalg::{
    CholeskyFactorized, EigValsh, FactorizeC, InverseC, LeastSquaresSvd, SolveC, UPLO,
};
use serde::{Deserialize, Serialize};

use super::loss::Loss;
use crate::error::{Error, Result};

fn linalg_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Numerical(format!("{what}: {e}"))
}

/// Which min-norm solution was computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MinNormKind {
    /// q >= n: X^T (X X^T)^-1 y, which fits every training label exactly.
    Interpolator,
    /// q < n: (X^T X)^-1 X^T y, the least-squares fit.
    LeastSquares,
}

/// The Cholesky factor of the Gram matrix K = X X^T (q >= n), shared by the
/// min-norm interpolators of several label vectors.
pub struct GramFactor {
    pub gram: Array2<f64>,
    chol: CholeskyFactorized<ndarray::OwnedRepr<f64>>,
}

impl GramFactor {
    /// Factor K = X X^T (O(n^2 q + n^3/3)). Fails if K is not positive definite.
    pub fn new(x: ArrayView2<f64>) -> Result<Self> {
        Self::from_gram(x.dot(&x.t()))
    }

    pub fn from_gram(gram: Array2<f64>) -> Result<Self> {
        let chol = gram
            .factorizec(UPLO::Lower)
            .map_err(|e| linalg_error("Gram matrix X X^T is not positive definite", e))?;
        Ok(GramFactor { gram, chol })
    }

    /// The dual coefficients a = K^-1 y of the min-norm interpolator w = X^T a.
    pub fn interpolator_coefficients(&self, y: ArrayView1<f64>) -> Result<Array1<f64>> {
        self.chol
            .solvec(&y.to_owned())
            .map_err(|e| linalg_error("solving K a = y", e))
    }

    /// K^-1 from the factor (O(n^3)).
    pub fn inverse(&self) -> Result<Array2<f64>> {
        self.chol.invc().map_err(|e| linalg_error("K^-1", e))
    }
}

/// The min-norm least-squares solution X^+ y (module docs), fast path.
pub fn min_norm_solution(
    x: ArrayView2<f64>,
    y: ArrayView1<f64>,
) -> Result<(Array1<f64>, MinNormKind)> {
    let (n, q) = x.dim();
    if q >= n {
        let factor = GramFactor::new(x)?;
        let a = factor.interpolator_coefficients(y)?;
        Ok((x.t().dot(&a), MinNormKind::Interpolator))
    } else {
        let xtx = x.t().dot(&x);
        let xty = x.t().dot(&y);
        let w = xtx
            .factorizec(UPLO::Lower)
            .and_then(|c| c.solvec(&xty))
            .map_err(|e| linalg_error("solving X^T X w = X^T y (least squares)", e))?;
        Ok((w, MinNormKind::LeastSquares))
    }
}

/// The plain reference: X^+ y by LAPACK's SVD least-squares driver (gelsd).
pub fn min_norm_svd(x: ArrayView2<f64>, y: ArrayView1<f64>) -> Result<Array1<f64>> {
    let xs = x.as_standard_layout().to_owned();
    xs.least_squares(&y.to_owned())
        .map(|r| r.solution)
        .map_err(|e| linalg_error("SVD least squares", e))
}

/// The min-norm interpolator's measurements (module docs): R, B, V and the
/// fit's relative residual max_i |x_i^T theta_hat - y_i| / max(1, max_i |y_i|).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RegressionRisk {
    pub excess: f64,
    pub bias: f64,
    pub variance: f64,
    pub residual: f64,
}

/// Min-norm regression on X = `z` Lambda^1/2 (z: n x p standard normal,
/// consumed; n < p), theta* = e_1, y = X e_1 + `noise` (module docs), noise
/// sd `sigma`. O(n^2 p) for K and X Sigma X^T, O(n^3) for K^-1.
pub fn min_norm_regression(
    z: Array2<f64>,
    lambda: &Array1<f64>,
    noise: &Array1<f64>,
    sigma: f64,
) -> Result<RegressionRisk> {
    let root = lambda.mapv(f64::sqrt);
    let e1 = Array1::from_shape_fn(lambda.len(), |j| f64::from(j == 0));
    let mut x = z * &root;
    let gram = GramFactor::new(x.view())?;
    let (signal, y) = (x.column(0).to_owned(), &x.column(0) + noise);
    let interpolate = |v: &Array1<f64>| {
        gram.interpolator_coefficients(v.view())
            .map(|a| x.t().dot(&a))
    };
    let (theta, theta0) = (interpolate(&y)?, interpolate(&signal)?);
    let risk = |t: &Array1<f64>| (t - &e1).mapv(|v| v * v).dot(lambda);
    let largest = |v: &Array1<f64>, m: f64| v.iter().fold(m, |m, v| m.max(v.abs()));
    let residual = largest(&(x.dot(&theta) - &y), 0.0) / largest(&y, 1.0);
    let kinv = gram.inverse()?;
    x *= &root; // now Z Lambda, so X Sigma X^T = (Z Lambda)(Z Lambda)^T
    let trace = (kinv.dot(&x.dot(&x.t())) * kinv.t()).sum();
    Ok(RegressionRisk {
        excess: risk(&theta),
        bias: risk(&theta0),
        variance: sigma * sigma * trace,
        residual,
    })
}

/// Q = diag(y) K diag(y): Q_ij = y_i y_j <x_i, x_j>.
pub fn signed_gram(gram: ArrayView2<f64>, y: ArrayView1<f64>) -> Array2<f64> {
    let mut q = gram.to_owned();
    for ((i, j), v) in q.indexed_iter_mut() {
        *v *= y[i] * y[j];
    }
    q
}

/// Options of the dual SVM solvers.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SvmOptions {
    /// Stop when the relative duality gap (P - D)/P is at most this.
    pub gap_tolerance: f64,
    /// Coordinate-ascent sweeps (n updates each) before giving up.
    pub max_sweeps: usize,
    /// Active-set iterations before falling back to coordinate ascent.
    pub max_active_set_iterations: usize,
}

impl Default for SvmOptions {
    fn default() -> Self {
        SvmOptions {
            gap_tolerance: 1e-9,
            max_sweeps: 200_000,
            max_active_set_iterations: 60,
        }
    }
}

/// Which solver produced the dual solution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SvmMethod {
    CoordinateAscent,
    ActiveSet,
    /// The active set cycled or stalled; coordinate ascent finished from its point.
    ActiveSetThenCoordinateAscent,
}

/// A dual solution a >= 0 with its training margins m = Q a (m_i = y_i <w, x_i>).
#[derive(Clone, Debug)]
pub struct SvmDual {
    pub alpha: Array1<f64>,
    pub margins: Array1<f64>,
    /// Relative duality gap (P - D)/P at the returned point.
    pub gap: f64,
    pub converged: bool,
    /// Sweeps (coordinate ascent) or solves (active set) used.
    pub iterations: usize,
    pub method: SvmMethod,
}

impl SvmDual {
    /// ||w||^2 = a^T Q a.
    pub fn weight_norm_sq(&self) -> f64 {
        self.alpha.dot(&self.margins)
    }

    /// The primal weights w = X^T (a o y).
    pub fn weights(&self, x: ArrayView2<f64>, y: ArrayView1<f64>) -> Array1<f64> {
        x.t().dot(&(&self.alpha * &y))
    }

    /// Points with a_i > threshold * max_j a_j (support vectors).
    pub fn support_count(&self, relative_threshold: f64) -> usize {
        let top = self.alpha.iter().cloned().fold(0.0f64, super::max_or_nan);
        self.alpha
            .iter()
            .filter(|&&a| a > relative_threshold * top)
            .count()
    }
}

/// Relative duality gap (P - D)/P of a >= 0 with margins m = Q a; infinite
/// while some margin is <= 0 (no feasible rescaling yet), NaN when a or m
/// holds a NaN (never below a tolerance, so never "converged").
pub fn duality_gap(alpha: ArrayView1<f64>, margins: ArrayView1<f64>) -> f64 {
    if alpha.iter().chain(margins.iter()).any(|v| v.is_nan()) {
        return f64::NAN;
    }
    let norm_sq = alpha.dot(&margins);
    let min_margin = margins.iter().cloned().fold(f64::INFINITY, f64::min);
    if min_margin <= 0.0 || norm_sq <= 0.0 {
        return f64::INFINITY;
    }
    let primal = 0.5 * norm_sq / (min_margin * min_margin);
    let dual = alpha.sum() - 0.5 * norm_sq;
    ((primal - dual) / primal).max(0.0)
}

/// Dual coordinate ascent from `start` (or 0): for each i in turn,
/// a_i <- max(0, a_i + (1 - (Q a)_i) / Q_ii), the exact maximiser along
/// coordinate i, with Q a updated in O(n). The gap is checked after every
/// sweep. Fails if the dual grows without bound (data not linearly separable
/// through the origin).
pub fn svm_coordinate_ascent(
    q: ArrayView2<f64>,
    start: Option<Array1<f64>>,
    opts: &SvmOptions,
) -> Result<SvmDual> {
    let n = q.nrows();
    finite_gram(q)?;
    let mut alpha = start.unwrap_or_else(|| Array1::zeros(n));
    alpha.mapv_inplace(|a| a.max(0.0));
    let mut margins = q.dot(&alpha);
    let min_diag = q.diag().iter().cloned().fold(f64::INFINITY, f64::min);
    if min_diag <= 0.0 {
        return Err(Error::Numerical(
            "SVM: a training point is zero (Q_ii = 0)".into(),
        ));
    }
    // For separable data with margin-1 solution w*, every a >= 0 has
    // ||w(a)|| >= sum(a) / ||w*|| (since <w*, w(a)> >= sum a). A ratio
    // ||w(a)|| / sum(a) below MIN_MARGIN * min_i ||x_i|| therefore certifies
    // a geometric margin below that, which is reported as not separable.
    const MIN_MARGIN: f64 = 1e-4;
    let floor = MIN_MARGIN * min_diag.sqrt();
    let mut gap = duality_gap(alpha.view(), margins.view());
    let mut sweeps = 0;
    while gap > opts.gap_tolerance && sweeps < opts.max_sweeps {
        for i in 0..n {
            let new = (alpha[i] + (1.0 - margins[i]) / q[[i, i]]).max(0.0);
            let delta = new - alpha[i];
            if delta != 0.0 {
                alpha[i] = new;
                margins.scaled_add(delta, &q.column(i));
            }
        }
        sweeps += 1;
        gap = duality_gap(alpha.view(), margins.view());
        let total = alpha.sum();
        if total > 0.0 && alpha.dot(&margins).max(0.0).sqrt() < floor * total {
            return Err(Error::Numerical(format!(
                "SVM: after {sweeps} sweeps the dual certifies a margin below {MIN_MARGIN} of the shortest ||x_i||: the data are not linearly separable through the origin, or only with a smaller margin"
            )));
        }
    }
    // Recompute the margins once to shed the drift of the rank-one updates.
    margins = q.dot(&alpha);
    gap = duality_gap(alpha.view(), margins.view());
    Ok(SvmDual {
        converged: gap <= opts.gap_tolerance,
        alpha,
        margins,
        gap,
        iterations: sweeps,
        method: SvmMethod::CoordinateAscent,
    })
}

/// An error when Q holds a NaN or an infinity: the solvers' minima and
/// `max(0, .)` drop a NaN, so such a Q came back as a "converged" solution
/// of NaN coefficients (review finding, 2026-12-07).
fn finite_gram(q: ArrayView2<f64>) -> Result<()> {
    match q.indexed_iter().find(|(_, v)| !v.is_finite()) {
        Some(((i, j), v)) => Err(Error::Numerical(format!(
            "SVM: the Gram matrix Q holds {v} at ({i}, {j})"
        ))),
        None => Ok(()),
    }
}

/// Solve Q_II a_I = 1 on the free set I (Cholesky); a is 0 off I.
fn solve_on_free_set(q: ArrayView2<f64>, free: &[usize]) -> Result<Array1<f64>> {
    let n = q.nrows();
    let sub = Array2::from_shape_fn((free.len(), free.len()), |(a, b)| q[[free[a], free[b]]]);
    let a = sub
        .factorizec(UPLO::Lower)
        .and_then(|c| c.solvec(&Array1::ones(free.len())))
        .map_err(|e| linalg_error("SVM active set: Q_II not positive definite", e))?;
    let mut alpha = Array1::zeros(n);
    for (k, &i) in free.iter().enumerate() {
        alpha[i] = a[k];
    }
    Ok(alpha)
}

/// Primal-dual active-set method for the dual (needs Q positive definite,
/// i.e. X of full row rank). KKT: a >= 0, l = Q a - 1 >= 0, a_i l_i = 0.
/// Each iteration fixes a_i = 0 on the active set A and solves Q_II a_I = 1 on
/// the rest; the next A is {i free with a_i < 0} u {i bound with l_i > 0}.
/// When A repeats, (a, l) satisfies the KKT conditions. Starts with every
/// point free (the min-norm interpolator's dual), so support-vector
/// proliferation is detected by a single solve. Falls back to coordinate
/// ascent (warm-started) after `max_active_set_iterations` or if the gap is
/// not met.
pub fn svm_active_set(q: ArrayView2<f64>, opts: &SvmOptions) -> Result<SvmDual> {
    let n = q.nrows();
    finite_gram(q)?;
    let mut free = vec![true; n];
    let mut alpha = Array1::zeros(n);
    let mut margins = Array1::zeros(n);
    let mut settled = false;
    let mut iterations = 0;
    while iterations < opts.max_active_set_iterations {
        let idx: Vec<usize> = (0..n).filter(|&i| free[i]).collect();
        if idx.is_empty() {
            break;
        }
        alpha = solve_on_free_set(q, &idx)?;
        margins = q.dot(&alpha);
        iterations += 1;
        let next: Vec<bool> = (0..n)
            .map(|i| {
                if free[i] {
                    alpha[i] >= 0.0
                } else {
                    margins[i] - 1.0 <= 0.0
                }
            })
            .collect();
        if next == free {
            settled = true;
            break;
        }
        free = next;
    }
    let gap = duality_gap(alpha.view(), margins.view());
    if settled && gap <= opts.gap_tolerance && alpha.iter().all(|&a| a >= 0.0) {
        return Ok(SvmDual {
            alpha,
            margins,
            gap,
            converged: true,
            iterations,
            method: SvmMethod::ActiveSet,
        });
    }
    let mut polished = svm_coordinate_ascent(q, Some(alpha), opts)?;
    polished.iterations += iterations;
    polished.method = SvmMethod::ActiveSetThenCoordinateAscent;
    Ok(polished)
}

/// Full-batch GD on the mean logistic loss of a linear classifier, from w = 0.
pub struct LogisticGd<'a> {
    x: ArrayView2<'a, f64>,
    y: ArrayView1<'a, f64>,
    w: Array1<f64>,
    lr: f64,
    step: usize,
    /// Scratch: margins y_i <w, x_i> and the per-sample coefficients.
    margins: Array1<f64>,
    coef: Array1<f64>,
}

impl<'a> LogisticGd<'a> {
    pub fn new(x: ArrayView2<'a, f64>, y: ArrayView1<'a, f64>, lr: f64) -> Self {
        let (n, q) = x.dim();
        LogisticGd {
            x,
            y,
            w: Array1::zeros(q),
            lr,
            step: 0,
            margins: Array1::zeros(n),
            coef: Array1::zeros(n),
        }
    }

    pub fn weights(&self) -> ArrayView1<'_, f64> {
        self.w.view()
    }
    pub fn step_count(&self) -> usize {
        self.step
    }

    /// Margins y_i <w, x_i> at the current w.
    pub fn margins(&self) -> Array1<f64> {
        &self.x.dot(&self.w) * &self.y
    }

    /// Mean logistic loss at the current w.
    pub fn loss(&self) -> f64 {
        let m = self.margins();
        m.iter().map(|&v| super::loss::softplus(-v)).sum::<f64>() / m.len() as f64
    }

    /// One step: w <- w + (lr/n) sum_i y_i sigmoid(-y_i <w, x_i>) x_i. O(n q).
    pub fn step(&mut self) {
        let n = self.x.nrows() as f64;
        ndarray::linalg::general_mat_vec_mul(1.0, &self.x, &self.w, 0.0, &mut self.margins);
        Zip::from(&mut self.coef)
            .and(&self.margins)
            .and(&self.y)
            .for_each(|c, &z, &y| *c = -Loss::Logistic.derivative(z, y) / n);
        ndarray::linalg::general_mat_vec_mul(self.lr, &self.x.t(), &self.coef, 1.0, &mut self.w);
        self.step += 1;
    }
}

/// The largest eigenvalue of X^T X (= of X X^T), from the smaller of the two Grams.
pub fn largest_gram_eigenvalue(x: ArrayView2<f64>) -> Result<f64> {
    let (n, q) = x.dim();
    let g = if n <= q { x.dot(&x.t()) } else { x.t().dot(&x) };
    let ev = g
        .eigvalsh(UPLO::Lower)
        .map_err(|e| linalg_error("eigenvalues of the Gram matrix", e))?;
    Ok(ev.iter().cloned().fold(0.0, f64::max))
}

/// Smoothness constant of the mean logistic loss: lambda_max(X^T X) / (4 n).
pub fn logistic_smoothness(x: ArrayView2<f64>) -> Result<f64> {
    Ok(largest_gram_eigenvalue(x)? / (4.0 * x.nrows() as f64))
}

/// Cosine of the angle between two vectors (0 if either is zero).
pub fn cosine(a: ArrayView1<f64>, b: ArrayView1<f64>) -> f64 {
    let (na, nb) = (a.dot(&a).sqrt(), b.dot(&b).sqrt());
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        a.dot(&b) / (na * nb)
    }
}

/// Row-wise sign agreement y_i <w, x_i> > 0 as a fraction; NaN for no rows
/// (0 of 0 is no accuracy; it read 0 before the 2026-12-07 review).
pub fn training_accuracy(x: ArrayView2<f64>, y: ArrayView1<f64>, w: ArrayView1<f64>) -> f64 {
    let f = x.dot(&w);
    let hits = Zip::from(&f)
        .and(&y)
        .fold(0usize, |acc, &fi, &yi| acc + usize::from(fi * yi > 0.0));
    hits as f64 / x.len_of(Axis(0)) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// The fraction of rows fit, and no fraction of no rows (both
    /// accuracies: the linear one here and the two-layer net's).
    #[test]
    fn accuracies_of_no_rows_are_undefined() {
        let (x, y, w) = (
            array![[1.0, 0.0], [0.0, 1.0]],
            array![1.0, 1.0],
            array![1.0, -1.0],
        );
        assert_eq!(training_accuracy(x.view(), y.view(), w.view()), 0.5);
        let none = ndarray::Array2::<f64>::zeros((0, 2));
        let empty = ndarray::Array1::<f64>::zeros(0);
        assert!(training_accuracy(none.view(), empty.view(), w.view()).is_nan());
        use crate::nets::two_layer::sign_accuracy;
        assert_eq!(
            sign_accuracy(array![0.5, 0.0].view(), array![1.0, 1.0].view()),
            0.5
        );
        assert!(sign_accuracy(empty.view(), empty.view()).is_nan());
    }

    #[test]
    fn two_point_svm_by_hand() {
        // x1 = (1, 0) label +1, x2 = (0, 1) label -1: w = (1, -1), margins 1, a = (1, 1).
        let x = array![[1.0, 0.0], [0.0, 1.0]];
        let y = array![1.0, -1.0];
        let q = signed_gram(x.dot(&x.t()).view(), y.view());
        for sol in [
            svm_active_set(q.view(), &SvmOptions::default()).unwrap(),
            svm_coordinate_ascent(q.view(), None, &SvmOptions::default()).unwrap(),
        ] {
            let w = sol.weights(x.view(), y.view());
            assert!(
                (w[0] - 1.0).abs() < 1e-6 && (w[1] + 1.0).abs() < 1e-6,
                "{w}"
            );
        }
    }

    /// A NaN in Q is an error of both solvers, and a NaN in a or m makes
    /// the gap NaN: both once came back as a converged solution of NaNs.
    #[test]
    fn a_nan_is_never_a_converged_solution() {
        let mut q = array![[1.0, 0.0], [0.0, 1.0]];
        q[[1, 0]] = f64::NAN;
        let opts = SvmOptions::default();
        for e in [
            svm_active_set(q.view(), &opts).unwrap_err(),
            svm_coordinate_ascent(q.view(), None, &opts).unwrap_err(),
        ] {
            assert!(e.to_string().contains("Q holds NaN at (1, 0)"), "{e}");
        }
        let (ones, nan) = (array![1.0, 1.0], array![1.0, f64::NAN]);
        assert_eq!(duality_gap(ones.view(), ones.view()), 0.0);
        assert!(duality_gap(nan.view(), ones.view()).is_nan());
        assert!(duality_gap(ones.view(), nan.view()).is_nan());
    }

    #[test]
    fn non_separable_data_are_reported() {
        // x and -x with the same label cannot be separated through the origin.
        let x = array![[1.0, 2.0], [-1.0, -2.0]];
        let y = array![1.0, 1.0];
        let q = signed_gram(x.dot(&x.t()).view(), y.view());
        let e = svm_coordinate_ascent(q.view(), None, &SvmOptions::default()).unwrap_err();
        assert!(e.to_string().contains("not linearly separable"), "{e}");
    }

    #[test]
    fn logistic_gd_decreases_the_loss() {
        let x = array![[1.0, 0.2], [0.3, -1.0], [-1.0, 0.1]];
        let y = array![1.0, -1.0, -1.0];
        let lr = 1.0 / logistic_smoothness(x.view()).unwrap();
        let mut gd = LogisticGd::new(x.view(), y.view(), lr);
        let mut last = gd.loss();
        for _ in 0..50 {
            gd.step();
            let l = gd.loss();
            assert!(l <= last + 1e-15);
            last = l;
        }
        assert_eq!(training_accuracy(x.view(), y.view(), gd.weights()), 1.0);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// One `LogisticGd::step` from a random w moves w by exactly -lr times
        /// the gradient of the mean logistic loss L(w) = 1/n sum_i
        /// log(1 + exp(-y_i <w, x_i>)), the gradient taken by central finite
        /// differences of L written out here (not `loss()`): the displacement
        /// over -lr, g_k = (w_k - w'_k) / lr, must equal
        /// (L(w + h e_k) - L(w - h e_k)) / 2h.
        ///
        /// Tolerance 1e-6 (1 + |fd|): L is smooth (|L'''| <= max |x|^3 <= 8),
        /// so the truncation h^2/6 |L'''| is ~1e-11 at h = 1e-6, and the
        /// rounding of L (<= 10 here) over 2h is ~1e-9; the recovered g_k
        /// carries eps |w| / lr ~ 1e-14. A lost factor (1/n, y_i, the
        /// sigmoid's sign) moves g by a multiple of its own size, which is
        /// well above 1e-6 unless every margin is large (w_scale near 0
        /// makes |g| ~ 0.1-1 in many draws).
        #[test]
        fn logistic_gd_step_is_minus_lr_times_the_finite_difference_gradient(
            n in 1usize..9, q in 1usize..6, seed in proptest::prelude::any::<u64>(),
            lr in 0.01f64..2.0, w_scale in 0.0f64..2.0,
        ) {
            use rand::RngExt as _;
            let mut rng = crate::rng::stream(seed, 0, "logistic-gd-fd");
            let x = Array2::from_shape_simple_fn((n, q), || rng.random_range(-2.0..2.0));
            let y = Array1::from_shape_simple_fn(n, || if rng.random_bool(0.5) { 1.0 } else { -1.0 });
            let w0 = Array1::from_shape_simple_fn(q, || w_scale * rng.random_range(-1.0..1.0));
            let mean_loss = |w: &Array1<f64>| {
                (0..n)
                    .map(|i| super::super::loss::softplus(-y[i] * x.row(i).dot(w)))
                    .sum::<f64>()
                    / n as f64
            };
            let mut gd = LogisticGd::new(x.view(), y.view(), lr);
            gd.w.assign(&w0);
            gd.step();
            proptest::prop_assert_eq!(gd.step_count(), 1);
            let h = 1e-6;
            for k in 0..q {
                let (mut wp, mut wm) = (w0.clone(), w0.clone());
                wp[k] += h;
                wm[k] -= h;
                let fd = (mean_loss(&wp) - mean_loss(&wm)) / (2.0 * h);
                let g = (w0[k] - gd.weights()[k]) / lr;
                proptest::prop_assert!(
                    (g - fd).abs() <= 1e-6 * (1.0 + fd.abs()),
                    "coordinate {k}: step's gradient {g} vs finite difference {fd}"
                );
            }
        }
    }

    /// Min-norm regression against LAPACK's SVD least squares (X^+ y) on a
    /// tiny problem: theta_hat, the bias (X^+ X e_1) and the variance
    /// sigma^2 sum_i ||Sigma^1/2 X^+ e_i||^2 = sigma^2 tr(Sigma X^+ X^+T).
    #[test]
    fn min_norm_regression_matches_svd_reference() {
        use rand_distr::{Distribution, Normal};
        let (n, p, sigma) = (5, 12, 0.7);
        let mut rng = crate::rng::stream(1, 2, "test");
        let gauss = Normal::new(0.0, 1.0).unwrap();
        let z = Array2::from_shape_simple_fn((n, p), || gauss.sample(&mut rng));
        let noise = Array1::from_shape_simple_fn(n, || sigma * gauss.sample(&mut rng));
        let lambda = Array1::from_shape_fn(p, |k| (k as f64 + 1.0).powf(-0.8));
        let got = min_norm_regression(z.clone(), &lambda, &noise, sigma).unwrap();
        let x = &z * &lambda.mapv(f64::sqrt);
        let pinv = |v: Array1<f64>| min_norm_svd(x.view(), v.view()).unwrap();
        let e1 = Array1::from_shape_fn(p, |j| f64::from(j == 0));
        let sq = |t: Array1<f64>, j0: f64| (t - j0 * &e1).mapv(|v| v * v).dot(&lambda);
        let signal = x.column(0).to_owned();
        let reference: f64 = (0..n)
            .map(|i| sq(pinv(Array1::from_shape_fn(n, |k| f64::from(k == i))), 0.0))
            .sum();
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
        assert!(
            close(got.excess, sq(pinv(&signal + &noise), 1.0)),
            "{got:?}"
        );
        assert!(close(got.bias, sq(pinv(signal), 1.0)), "{got:?}");
        assert!(close(got.variance, sigma * sigma * reference), "{got:?}");
        assert!(got.residual < 1e-12, "{got:?}");
    }
}
