//! Least-squares statistics shared by the studies' claims and figures.

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

#[cfg(test)]
mod tests {
    use super::*;
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
