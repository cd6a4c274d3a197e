//! Statistics shared by the studies' claims and figures: the least-squares
//! line, and the sampling variance of a median of seeds.

/// The least-squares line y = a + b x through the points (x_i, y_i),
/// i = 1..n, with mx, my the means and Sxy = sum (x_i - mx)(y_i - my)
/// (likewise Sxx, Syy):
///   b = Sxy / Sxx,   a = my - b mx,   R^2 = Sxy^2 / (Sxx Syy) (0 if Syy = 0),
///   r = Sxy / sqrt(Sxx Syy) (Pearson's correlation; NaN if Sxx or Syy = 0),
///   se(a) = sqrt(s^2 (1/n + mx^2 / Sxx)),   s^2 = RSS / (n - 2),
///   RSS = sum (y_i - a - b x_i)^2.
/// Two passes over the points, O(n). All x equal (Sxx = 0) gives a NaN
/// line; the caller judges that.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LineFit {
    pub intercept: f64,
    pub slope: f64,
    pub r2: f64,
    pub correlation: f64,
    /// se(a); `None` below 3 points (no degree of freedom left for s^2) or
    /// when all x are equal (Sxx = 0: no line).
    pub intercept_se: Option<f64>,
}

/// Fit y = a + b x to paired `x`, `y` of one length (see `LineFit`).
pub fn line_fit(x: &[f64], y: &[f64]) -> LineFit {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let r2 = if syy > 0.0 {
        sxy * sxy / (sxx * syy)
    } else {
        0.0
    };
    let intercept_se = (x.len() >= 3 && sxx > 0.0).then(|| {
        let rss: f64 = x
            .iter()
            .zip(y)
            .map(|(u, v)| (v - intercept - slope * u).powi(2))
            .sum();
        let s2 = rss / (n - 2.0);
        (s2 * (1.0 / n + mx * mx / sxx)).sqrt()
    });
    LineFit {
        intercept,
        slope,
        r2,
        correlation: sxy / (sxx * syy).sqrt(),
        intercept_se,
    }
}

/// Var(median of k independent N(0, 1) values): the factor v_k with
/// Var(median) = v_k sigma^2 for k normal seeds, exact for every k (1 at k = 1,
/// 1/2 at k = 2, 0.4487 at k = 3, 0.2982 at k = 4, tending to pi / (2 k)).
/// A claim that puts the median of its seeds where a mean's formula has
/// 1/k understates the median's spread (by 26% at k = 3); this is its
/// factor. By quadrature over the order statistics' densities (Phi, phi
/// the normal cdf and pdf, on a grid of step 1/256 over [-9, 9]):
///   odd k = 2r + 1: the median is X_(r+1), density
///     k! / (r! r!) Phi^r (1 - Phi)^r phi;
///   even k = 2r: the median is (X_(r) + X_(r+1)) / 2, and the adjacent pair
///     has density k! / ((r - 1)! (r - 1)!) Phi(x)^(r-1) phi(x) phi(y)
///     (1 - Phi(y))^(r-1) on x < y.
/// O(grid^2) = 2 10^7 terms for an even k, a few ms; NaN at k = 0.
pub fn median_variance_factor(k: usize) -> f64 {
    use statrs::distribution::{Continuous, ContinuousCDF, Normal};
    if k == 0 {
        return f64::NAN;
    }
    let normal = Normal::new(0.0, 1.0).expect("standard normal");
    let h = 1.0 / 256.0;
    let xs: Vec<f64> = (0..=(18 * 256)).map(|i| -9.0 + i as f64 * h).collect();
    let cdf: Vec<f64> = xs.iter().map(|&x| normal.cdf(x)).collect();
    let pdf: Vec<f64> = xs.iter().map(|&x| normal.pdf(x)).collect();
    // ln of k! / (a! b!), the multinomial coefficients above.
    let ln_fact = |n: usize| (1..=n).map(|i| (i as f64).ln()).sum::<f64>();
    if k % 2 == 1 {
        let r = (k - 1) / 2;
        let c = (ln_fact(k) - 2.0 * ln_fact(r)).exp();
        let sum: f64 = (0..xs.len())
            .map(|i| {
                let tails = (cdf[i] * (1.0 - cdf[i])).powi(r as i32);
                xs[i] * xs[i] * c * tails * pdf[i]
            })
            .sum();
        return sum * h;
    }
    let r = k / 2;
    let c = (ln_fact(k) - 2.0 * ln_fact(r - 1)).exp();
    let lower: Vec<f64> = (0..xs.len())
        .map(|i| cdf[i].powi(r as i32 - 1) * pdf[i])
        .collect();
    let upper: Vec<f64> = (0..xs.len())
        .map(|j| (1.0 - cdf[j]).powi(r as i32 - 1) * pdf[j])
        .collect();
    // E[((x + y) / 2)^2] over x < y; the diagonal (x = y) at half weight,
    // the trapezoid rule's edge of the triangle.
    let mut sum = 0.0;
    for i in 0..xs.len() {
        let diagonal = 0.5 * (xs[i] * xs[i]) * lower[i] * upper[i];
        let off: f64 = (i + 1..xs.len())
            .map(|j| 0.25 * (xs[i] + xs[j]).powi(2) * upper[j])
            .sum::<f64>()
            * lower[i];
        sum += diagonal + off;
    }
    c * sum * h * h
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The median's variance factor: exact at k = 1 and 2 (one value; the
    /// mean of two), the tabulated small-sample values at k = 3, 4, 5, 9
    /// (also reproduced by a Monte Carlo of 2 10^5 draws each: 0.4512,
    /// 0.2971, 0.2862, 0.1659), and pi / (2 k) for large k.
    #[test]
    fn the_median_variance_factor_matches_known_values() {
        let near = |k: usize, want: f64, tol: f64| {
            let v = median_variance_factor(k);
            assert!((v - want).abs() < tol, "k = {k}: {v} against {want}");
        };
        near(1, 1.0, 1e-6);
        near(2, 0.5, 1e-4);
        near(3, 0.4487, 1e-3);
        near(4, 0.2982, 1e-3);
        near(5, 0.2868, 1e-3);
        near(9, 0.1661, 1e-3);
        let k = 101;
        let v = median_variance_factor(k);
        assert!(
            (v * 2.0 * k as f64 / std::f64::consts::PI - 1.0).abs() < 0.02,
            "{v}"
        );
        assert!(median_variance_factor(0).is_nan());
    }
    use proptest::prelude::*;

    /// The intercept and its standard error match the textbook formulas on
    /// small exact cases, and the error is absent when the line is not
    /// determined.
    #[test]
    fn line_fit_matches_the_formulas() {
        // y = 1 + 2x exactly: intercept 1, slope 2, R^2 1, zero error.
        let f = line_fit(&[0.0, 1.0, 2.0, 3.0], &[1.0, 3.0, 5.0, 7.0]);
        assert!((f.intercept - 1.0).abs() < 1e-12 && (f.slope - 2.0).abs() < 1e-12);
        assert!((f.r2 - 1.0).abs() < 1e-12 && f.intercept_se.unwrap().abs() < 1e-12);
        assert!((f.correlation - 1.0).abs() < 1e-12);
        // x = (0, 1, 2), y = (0, 2, 1): b = 1/2, a = 1/2, RSS = 1.5, s^2 = 1.5,
        // Sxx = 2, Syy = 2, Sxy = 1, R^2 = 1/4, se = sqrt(1.5 (1/3 + 1/2)).
        let f = line_fit(&[0.0, 1.0, 2.0], &[0.0, 2.0, 1.0]);
        assert!((f.intercept - 0.5).abs() < 1e-12 && (f.slope - 0.5).abs() < 1e-12);
        assert!((f.r2 - 0.25).abs() < 1e-12 && (f.correlation - 0.5).abs() < 1e-12);
        // Reversed y: the correlation keeps the sign of the slope.
        let f = line_fit(&[0.0, 1.0, 2.0], &[1.0, 2.0, 0.0]);
        assert!((f.correlation + 0.5).abs() < 1e-12 && (f.slope + 0.5).abs() < 1e-12);
        assert!((f.intercept_se.unwrap() - (1.5f64 * (1.0 / 3.0 + 0.5)).sqrt()).abs() < 1e-12);
        // Two points: a line, but no error estimate.
        let f = line_fit(&[1.0, 2.0], &[1.0, 2.0]);
        assert!((f.slope - 1.0).abs() < 1e-12 && f.intercept_se.is_none());
        // All x equal: no line.
        let f = line_fit(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]);
        assert!(f.slope.is_nan() && f.intercept.is_nan() && f.intercept_se.is_none());
        // Constant y: R^2 is 0 by convention.
        assert_eq!(line_fit(&[0.0, 1.0, 2.0], &[4.0, 4.0, 4.0]).r2, 0.0);
    }

    proptest! {
        /// The fitted line solves the normal equations: its residuals are
        /// orthogonal to 1 and to x.
        #[test]
        fn residuals_are_orthogonal_to_one_and_x(pts in proptest::collection::vec((-10.0f64..10.0, -10.0f64..10.0), 3..30)) {
            let (x, y): (Vec<f64>, Vec<f64>) = pts.into_iter().unzip();
            let mx = x.iter().sum::<f64>() / x.len() as f64;
            let sxx: f64 = x.iter().map(|u| (u - mx) * (u - mx)).sum();
            prop_assume!(sxx > 1e-3);
            let f = line_fit(&x, &y);
            let r: Vec<f64> = x.iter().zip(&y).map(|(u, v)| v - f.intercept - f.slope * u).collect();
            let scale = 1.0 + y.iter().map(|v| v.abs()).sum::<f64>() * 10.0;
            prop_assert!(r.iter().sum::<f64>().abs() <= 1e-9 * scale);
            prop_assert!(r.iter().zip(&x).map(|(r, u)| r * u).sum::<f64>().abs() <= 1e-9 * scale * 10.0);
            prop_assert!((0.0..=1.0 + 1e-12).contains(&f.r2));
        }
    }
}
