//! The seed spread that the peak claims' standard errors are built from:
//! the seed sd pooled over widths or its robust median, and the standard
//! error of a difference of two cells' medians.

use super::PeakScale;
use crate::record::quantile;
use crate::studies::toolkit::sd;
use crate::studies::toolkit::stats::median_variance_factor;

/// The standard error of a difference of two cells' medians of `runs`
/// seeds each, s sqrt(2 v_runs), with s the seed sd and v_runs the variance
/// of a median of `runs` normal values over sigma^2
/// (`median_variance_factor`, exact: 0.4487 at 3 seeds). Until 2026-12-07
/// (review finding) it was the large-sample 1.2533 s sqrt(2 / runs)
/// (v = pi / (2 runs), 0.5236 at 3 seeds), 8% above the exact value there.
pub(super) fn median_difference_se(seed_sd: f64, runs: usize) -> f64 {
    seed_sd * (2.0 * median_variance_factor(runs.max(1))).sqrt()
}

/// The seed sd pooled over samples, sqrt(sum (k_i - 1) s_i^2 / sum (k_i - 1)),
/// and its degrees of freedom sum (k_i - 1) (NaN and 0 without any spread).
pub(super) fn pooled_sd(samples: &[Vec<f64>]) -> (f64, usize) {
    let df: usize = samples.iter().map(|v| v.len().saturating_sub(1)).sum();
    let ss: f64 = samples
        .iter()
        .filter(|v| v.len() >= 2)
        .map(|v| (v.len() - 1) as f64 * sd(v).powi(2))
        .sum();
    if df == 0 {
        return (f64::NAN, 0);
    }
    ((ss / df as f64).sqrt(), df)
}

/// The seed sd of the widths' samples by the spec's `PeakScale`.
pub(super) fn seed_sd(scale: PeakScale, samples: &[Vec<f64>]) -> f64 {
    match scale {
        PeakScale::Pooled => pooled_sd(samples).0,
        PeakScale::Median => median_sd(samples),
    }
}

/// The median over samples of each one's sd, divided by c_k =
/// sqrt(median(chi^2_{k-1}) / (k - 1)) (0.8326 at k = 3), the median of s /
/// sigma for k normal values: it estimates the same sigma as `pooled_sd`
/// when every sample has the same spread, and a minority of samples with
/// an outlying run cannot move it past the others' sds. k is the smallest
/// sample size; samples of fewer than 2 values are left out (NaN without any).
pub(super) fn median_sd(samples: &[Vec<f64>]) -> f64 {
    use statrs::distribution::{ChiSquared, ContinuousCDF};
    let sds: Vec<f64> = samples
        .iter()
        .filter(|v| v.len() >= 2)
        .map(|v| sd(v))
        .collect();
    let k = samples.iter().map(Vec::len).filter(|&k| k >= 2).min();
    let Some(k) = k else { return f64::NAN };
    let df = (k - 1) as f64;
    let c_k = ChiSquared::new(df)
        .map(|chi2| (chi2.inverse_cdf(0.5) / df).sqrt())
        .unwrap_or(f64::NAN);
    quantile(&sds, 0.5) / c_k
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The median scale: c_3 = sqrt(ln 2) (the median of chi^2_2 is 2 ln 2);
    /// one width with a collapsed run moves the pooled sd, not the median.
    #[test]
    fn the_median_seed_sd_ignores_a_minority_of_collapsed_runs() {
        let c3 = 2f64.ln().sqrt();
        let cell = |base: f64| vec![base, base + 0.01, base + 0.02];
        let mut samples: Vec<Vec<f64>> = (0..13).map(|a| cell(0.2 + 0.01 * a as f64)).collect();
        assert!((median_sd(&samples) - 0.01 / c3).abs() < 1e-12);
        assert!((pooled_sd(&samples).0 - 0.01).abs() < 1e-12);
        samples[2] = vec![0.3, 0.31, 0.75];
        assert!((median_sd(&samples) - 0.01 / c3).abs() < 1e-12);
        assert!(pooled_sd(&samples).0 > 0.07);
        assert!(median_sd(&[vec![1.0], vec![2.0]]).is_nan());
        // Cells of 4 seeds: c_4 = sqrt(median(chi^2_3) / 3) = sqrt(2.36597 / 3).
        let four = vec![vec![0.0, 1.0, 2.0, 3.0]; 3];
        let c4 = (2.365_973_884 / 3.0f64).sqrt();
        assert!((median_sd(&four) - sd(&four[0]) / c4).abs() < 1e-6);
    }
}
