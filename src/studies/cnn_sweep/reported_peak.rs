//! The course project's own peak: "a weak peak near 20000-30000 params" at
//! 0% noise, on its own metric (the mean test error of the last 10 epochs;
//! in its Table 1, 0.146 at 23299 params against 0.130 below and 0.110
//! above). Nakkiran et al.'s location rule (`claims::find_peak`) does not
//! test it: its window follows our threshold width, not their range.

use super::claims::{curve, interior, peak_prominence, Cell, Curve};
use super::scale::{median_difference_se, seed_sd};
use super::CnnSweepSpec;
use crate::record::{Claim, Measured, Prediction};

/// `claims.reported_peak = [low, high]`: on the 0%-noise curve of the median
/// (over seeds) last-10 test error vs parameters (`sorted` by size), the
/// most prominent interior local maximum with low <= params <= high rises
/// above the lowest error on each side by at least `claims.peak_k`
/// standard errors of a difference of two medians, se = s sqrt(2 v_runs)
/// (`scale::median_difference_se`), s the seed sd of that metric over the widths
/// (`claims.peak_scale`), as for `peak_near_interpolation`. Measured: h /
/// se, 0 when the range holds no interior local maximum (a measured
/// absence: fails); inconclusive when no width strictly inside the curve
/// lies in the range (nothing to measure), with fewer than 2 seeds a cell,
/// an undefined value or no spread.
pub(super) fn claim(spec: &CnnSweepSpec, [low, high]: [f64; 2], sorted: &[&Cell]) -> Claim {
    let cs = &spec.claims;
    let Curve { y, samples, runs } = curve(sorted, |r| r.last10_test_error);
    let se = median_difference_se(seed_sd(cs.peak_scale, &samples), runs);
    let in_range = |i: usize| (low..=high).contains(&(sorted[i].params as f64));
    let (h, at) = peak_prominence(&y, in_range);
    let interior_in_range = interior(sorted.len()).filter(|&i| in_range(i)).count();
    let mut quantities = vec![("interior_widths", interior_in_range as f64)];
    let (value, note) = if interior_in_range == 0 {
        let why = format!("no width strictly inside the curve lies in [{low}, {high}]");
        (f64::NAN, why)
    } else if runs < 2 {
        (
            f64::NAN,
            format!("{runs} seed(s) in a cell: no seed spread"),
        )
    } else if y.iter().any(|v| v.is_nan()) || !se.is_finite() {
        (f64::NAN, "a median or the seed sd is undefined".into())
    } else if se == 0.0 {
        (
            f64::NAN,
            "no seed spread (sd 0): the prominence has no scale".into(),
        )
    } else {
        quantities.push(("se", se));
        let where_ = match at {
            Some(i) => {
                quantities.extend([("peak_params", sorted[i].params as f64), ("h", h)]);
                format!("peak at {} params, h = {h:.4}", sorted[i].params)
            }
            None => "no interior local maximum in the range".into(),
        };
        let note = format!(
            "{where_}; se = {se:.4}; {interior_in_range} interior widths in [{low}, {high}]"
        );
        (h / se, note)
    };
    Claim::new(
        "zero_noise.peak_where_reported",
        format!(
            "with 0 label noise, the median (over runs) test error, mean of the last 10 of {}, has an interior peak between {low} and {high} params rising above the lowest error on each side by at least {} standard errors of a difference of medians",
            spec.budget_text(),
            cs.peak_k
        ),
        "course project (github ItayAbuhazera/OverparameterizationProject), Table 1 and text: a weak peak near 20000-30000 params (0.146 at 23299)",
        Prediction::AtLeast { bound: cs.peak_k },
        Measured::single(value)
            .with_runs(runs)
            .with_note(note)
            .with_quantities(quantities),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Metrics;
    use crate::record::Verdict::{self, *};
    use crate::studies::cnn_sweep::RunRecord;

    /// Widths of 10000 k params (k = 1, 2, ...), `runs` seeds 0.002 apart
    /// around the last-10 test errors of `curve`, judged on `range`.
    fn verdict_on_range(curve: &[f64], runs: usize, range: [f64; 2]) -> (Verdict, f64) {
        let spec: CnnSweepSpec = crate::spec::committed("cnn_sweep_seed003", false);
        let recs: Vec<Vec<RunRecord>> = curve
            .iter()
            .enumerate()
            .map(|(a, &e)| {
                (0..runs)
                    .map(|k| RunRecord {
                        metrics: Metrics::default(),
                        params: 10000 * (a + 1),
                        best_train_error: 0.0,
                        last10_test_error: e + 0.002 * k as f64,
                        final_train_error: 0.0,
                        final_test_error: 0.5,
                    })
                    .collect()
            })
            .collect();
        let cells: Vec<Cell> = recs
            .iter()
            .map(|r| Cell {
                params: r[0].params,
                runs: r.iter().collect(),
            })
            .collect();
        let sorted: Vec<&Cell> = cells.iter().collect();
        let c = claim(&spec, range, &sorted);
        (c.verdict(), c.measured.value)
    }

    /// Seven widths, the range 20000-30000.
    fn verdict_on(curve: [f64; 7], runs: usize) -> (Verdict, f64) {
        verdict_on_range(&curve, runs, [20000.0, 30000.0])
    }

    /// A clear bump at 20000-30000 holds; the same bump at 50000, or a
    /// bump of under 2 standard errors, fails; one seed is inconclusive.
    #[test]
    fn the_reported_peak_holds_only_in_its_range_and_above_the_noise() {
        // Seed sd 0.002, se = 0.002 x sqrt(2 x 0.4487) = 0.0018947.
        let bump_at_30000 = [0.14, 0.13, 0.15, 0.12, 0.12, 0.11, 0.11];
        assert_eq!(verdict_on(bump_at_30000, 3).0, Holds);
        let bump_at_50000 = [0.14, 0.13, 0.13, 0.12, 0.15, 0.11, 0.11];
        assert_eq!(verdict_on(bump_at_50000, 3), (Fails, 0.0));
        let small_bump = [0.14, 0.13, 0.133, 0.12, 0.12, 0.11, 0.11];
        let (v, h_over_se) = verdict_on(small_bump, 3);
        assert_eq!(v, Fails);
        assert!(
            (h_over_se - 0.003 / 0.001_894_7).abs() < 0.01,
            "{h_over_se}"
        );
        assert_eq!(verdict_on(bump_at_30000, 1).0, Inconclusive);
        // On the slope up to a peak at 40000, 30000 is no local maximum.
        let slope_into_40000 = [0.14, 0.12, 0.13, 0.14, 0.15, 0.11, 0.11];
        assert_eq!(verdict_on(slope_into_40000, 3), (Fails, 0.0));
    }

    /// A range that holds no interior width measures nothing: inconclusive.
    #[test]
    fn a_range_without_an_interior_width_is_inconclusive() {
        // Only the ends (10000, 30000) are in [25000, 40000].
        let (v, _) = verdict_on_range(&[0.1, 0.1, 0.1], 3, [25000.0, 40000.0]);
        assert_eq!(v, Inconclusive);
    }
}
