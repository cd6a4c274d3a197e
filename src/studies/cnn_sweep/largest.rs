//! Under label noise, the largest model against the double-descent peak
//! of `claims::find_peak`, judged only where that peak holds.

use super::claims::{Cell, Peak};
use crate::record::{quantile, Claim, Measured, Prediction, Verdict};

/// Under label noise the largest model comes back below the interior peak
/// of `find_peak`: the median over seeds of the per-seed difference
/// (largest - peak; a seed shares its label noise across widths) is <= 0.
/// Judged only when the level's `peak_row` (its peak_near_interpolation
/// claim) holds; otherwise inconclusive (NaN): without a peak the data
/// support, "below the peak" has no meaning, and a local maximum picked
/// from the same seeds' errors on a flat, noisy curve is biased upward, so
/// the comparison would tend to hold with no double descent at all (review
/// finding, 2026-12-06, stricter: until then any local maximum in the
/// window was compared with).
pub(super) fn largest_below_peak(
    eta: f64,
    sorted: &[&Cell],
    peak: &Peak,
    peak_row: &Claim,
) -> Claim {
    let largest = sorted.last().expect("archs non-empty");
    let undefined = |why: String| {
        let runs = largest.runs.len();
        Measured {
            runs,
            ..Measured::single(f64::NAN)
        }
        .with_note(why)
    };
    let diffs = |i: usize| -> Vec<f64> {
        let (a, b) = (
            largest.values(|r| r.final_test_error),
            sorted[i].values(|r| r.final_test_error),
        );
        a.iter().zip(&b).map(|(x, y)| x - y).collect()
    };
    let measured = match (&peak.undefined, peak.at) {
        (Some(why), _) => undefined(why.clone()),
        (None, Some(i)) if peak_row.verdict() == Verdict::Holds => Measured::median_of(&diffs(i))
            .with_note(format!("peak at {} params", sorted[i].params))
            .with_quantity("peak_params", sorted[i].params as f64),
        (None, at) => undefined(format!(
            "{} is {} (measured {:.3}, predicted {}): no peak the data support to compare with{}",
            peak_row.id,
            format!("{:?}", peak_row.verdict()).to_lowercase(),
            peak_row.measured.value,
            peak_row.predicted.describe(),
            match at {
                Some(i) => format!(
                    " (largest - the local maximum at {} params, median per-seed difference {:.4}, not judged)",
                    sorted[i].params,
                    quantile(&diffs(i), 0.5)
                ),
                None => String::new(),
            }
        )),
    };
    Claim::new(
        format!("noise{eta}.largest_below_peak"),
        format!("with {eta} label noise, the largest model ({} params) has lower final test error than the interior peak of the peak_near_interpolation claim (per-seed difference, median), judged only when that claim holds", largest.params),
        "Nakkiran et al. 2019; Wen et al. ICLR 2023: larger models counter label noise",
        Prediction::AtMost { bound: 0.0 },
        measured,
    )
}
