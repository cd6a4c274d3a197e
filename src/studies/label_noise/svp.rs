//! Support-vector proliferation's calibration: the measured SVP counts
//! against the predicted probabilities where the prediction is uncertain.

use crate::record::{fmt_num as fmt, Claim, Measured, Prediction};

/// The least number of runs the transition cells must expect, summed over
/// the cells, with SVP (sum_c s_c P_c) and without (sum_c s_c (1 - P_c)),
/// before the chi-square test is read: the usual least expected count of
/// Pearson's approximation, 5, taken over the sum that the test reads.
/// Review finding, 2026-12-06, after the seed-2206 and seed-2207 runs were
/// seen: the test was read with any counts, so one cell with one run at
/// P = 0.5 (X^2 = 1 whatever it showed, p = 0.32) held and could not fail.
/// Why the sum and not each cell (Cochran's rule, 5 in every cell): the
/// approximation reads the sum, and on the committed grid's 20 transition
/// cells (20 runs each, 11 of them expecting fewer than 5 on one side)
/// counts drawn from the prediction reject at the 0.01 level 1.4% of the
/// time (40000 draws; `the_approximation_keeps_its_level_on_sparse_cells`
/// repeats it), while a per-cell rule would leave the test unread below
/// about 100 runs a cell.
pub(super) const MIN_EXPECTED: f64 = 5.0;

/// "The measured SVP counts follow the predicted probabilities where the
/// prediction is uncertain": Pearson's X^2 = sum_c (k_c - s_c P_c)^2 /
/// (s_c P_c (1 - P_c)) over the transition cells (k_c of s_c runs with SVP,
/// predicted P_c strictly between `svp_unlikely` and `svp_likely`), against
/// chi-square with one degree of freedom a cell (each term's mean is 1
/// under the prediction; normal approximation of each binomial, so a few
/// runs a cell make it rough; the cells of one (p/n, n) share their data
/// draw across eta, a small dependence). Read only when the cells expect
/// at least `MIN_EXPECTED` runs with SVP and as many without, else
/// inconclusive. The cells with P near 0 or 1 are left out: there any
/// prediction near 0 or 1 fits, and a mean over them could hide the
/// transition. Measured: the upper-tail p-value.
pub(super) fn calibration_claim(cells: &[(f64, usize, f64)], level: f64, source: &str) -> Claim {
    let runs: usize = cells.iter().map(|c| c.1).sum();
    let mut x2 = f64::NAN;
    let (value, note) = match (cells.is_empty(), few_expected(cells)) {
        (true, _) => (f64::NAN, "no transition cell has runs".to_string()),
        (false, Some(few)) => (f64::NAN, few),
        (false, None) => {
            x2 = pearson(cells);
            let p = chi_square_sf(x2, cells.len());
            let note = if p.is_nan() {
                "a run in a transition cell has no SVP flag (NaN)".to_string()
            } else {
                format!("X^2 = {} on {} cells, {runs} runs", fmt(x2), cells.len())
            };
            (p, note)
        }
    };
    Claim::new(
        "svp.calibration_in_transition",
        format!("where the predicted P(SVP) is neither near 0 nor near 1, the measured SVP counts follow it: Pearson chi-square of counts against predicted probabilities over those cells, read only when they expect at least {MIN_EXPECTED} runs with SVP and {MIN_EXPECTED} without in all (else inconclusive; rule added 2026-12-06, review finding); measured: its p-value"),
        format!("{source} (test added 2026-12-04 after the seed-2206 run's data were seen; the --seed 2207 replicate judges it)"),
        Prediction::AtLeast { bound: level },
        Measured::single(value)
            .with_runs(runs)
            .with_note(note)
            .with_quantity("chi_square", x2)
            .with_quantity("cells", cells.len() as f64),
    )
    // The probabilities are this project's formula: a hypothesis.
    .as_hypothesis()
}

/// Pearson's X^2 of the (count, runs, P) cells.
fn pearson(cells: &[(f64, usize, f64)]) -> f64 {
    cells
        .iter()
        .map(|&(k, s, p)| {
            let expected = s as f64 * p;
            (k - expected).powi(2) / (expected * (1.0 - p))
        })
        .sum()
}

/// The upper tail of chi-square with `df` degrees of freedom at x (NaN: x
/// is NaN, or df is 0).
fn chi_square_sf(x: f64, df: usize) -> f64 {
    use statrs::distribution::{ChiSquared, ContinuousCDF};
    match ChiSquared::new(df as f64) {
        Ok(chi2) if !x.is_nan() => chi2.sf(x),
        _ => f64::NAN,
    }
}

/// Why the test cannot be read (None: it can): the runs the cells expect
/// with SVP or without, when either sum is under `MIN_EXPECTED`.
fn few_expected(cells: &[(f64, usize, f64)]) -> Option<String> {
    let with: f64 = cells.iter().map(|&(_, s, p)| s as f64 * p).sum();
    let without: f64 = cells.iter().map(|&(_, s, p)| s as f64 * (1.0 - p)).sum();
    (with < MIN_EXPECTED || without < MIN_EXPECTED).then(|| {
        format!(
            "the {} transition cells expect {} runs with SVP and {} without; the chi-square test needs at least {MIN_EXPECTED} of each",
            cells.len(),
            fmt(with),
            fmt(without)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Verdict::*;

    /// The transition calibration by itself: counts at their expectation
    /// hold, counts off by 4 binomial sd in every cell fail, no cell is
    /// inconclusive.
    #[test]
    fn calibration_is_a_chi_square_over_the_transition_cells() {
        let at = |p: f64| (20.0 * p, 20, p);
        let near = calibration_claim(&[at(0.2), at(0.5), at(0.8)], 0.01, "src");
        assert_eq!(near.verdict(), Holds);
        assert!((near.measured.value - 1.0).abs() < 1e-12, "X^2 = 0: p = 1");
        let off = |p: f64| {
            let sd = (20.0 * p * (1.0 - p)).sqrt();
            (20.0 * p + 4.0 * sd, 20, p)
        };
        let far = calibration_claim(&[off(0.2), off(0.3), off(0.4)], 0.01, "src");
        assert_eq!(far.verdict(), Fails, "{:?}", far.measured);
        // X^2 = 3 x 16 = 48 on 3 degrees of freedom.
        let expected = 2.1e-10;
        assert!(
            (far.measured.value / expected - 1.0).abs() < 0.1,
            "{}",
            far.measured.value
        );
        assert_eq!(calibration_claim(&[], 0.01, "src").verdict(), Inconclusive);
    }

    /// Too few expected runs leave the test unread (review finding,
    /// 2026-12-06): one cell with one run at P = 0.5 (X^2 = 1, p = 0.32)
    /// used to hold whatever it showed, and so did 9 runs at P = 0.5 (4.5
    /// expected on each side); 10 runs are read, and can fail. A run
    /// without an SVP flag leaves the test undefined.
    #[test]
    fn calibration_needs_enough_expected_runs() {
        for cells in [[(1.0, 1, 0.5)], [(9.0, 9, 0.5)]] {
            let c = calibration_claim(&cells, 0.01, "src");
            assert_eq!(c.verdict(), Inconclusive, "{:?}", c.measured);
            assert!(c.reason.contains("needs at least 5"), "{}", c.reason);
        }
        assert_eq!(
            calibration_claim(&[(10.0, 10, 0.5)], 0.01, "src").verdict(),
            Fails
        );
        assert_eq!(
            calibration_claim(&[(5.0, 10, 0.5)], 0.01, "src").verdict(),
            Holds
        );
        // Many sparse cells: 100 single runs at P = 0.1 expect 10 with SVP.
        let sparse = vec![(0.0, 1, 0.1); 100];
        assert_eq!(calibration_claim(&sparse, 0.01, "src").verdict(), Holds);
        let nan = calibration_claim(&[(f64::NAN, 20, 0.5), (10.0, 20, 0.5)], 0.01, "src");
        assert_eq!(nan.verdict(), Inconclusive);
        assert!(nan.reason.contains("no SVP flag"), "{}", nan.reason);
    }

    /// Why `MIN_EXPECTED` bounds the sum and not each cell: on the
    /// committed grid's 20 transition cells (20 runs each, predicted P as
    /// recorded in figures/label_noise_phase), counts drawn from the
    /// prediction reject at the 0.01 level about as often as they should
    /// (1.4% in 40000 draws), though 11 cells expect fewer than 5 runs on
    /// one side.
    #[test]
    fn the_approximation_keeps_its_level_on_sparse_cells() {
        use rand::RngExt as _;
        let probs = [
            0.098, 0.145, 0.207, 0.442, 0.112, 0.863, 0.891, 0.917, 0.481, 0.556, 0.679, 0.885,
            0.086, 0.221, 0.657, 0.273, 0.935, 0.501, 0.699, 0.896,
        ];
        let mut rng = crate::rng::stream(1, 0, "svp-level");
        let draws = 4000;
        let mut rejected = 0;
        for _ in 0..draws {
            let cells: Vec<(f64, usize, f64)> = probs
                .iter()
                .map(|&p| {
                    let k = (0..20).filter(|_| rng.random::<f64>() < p).count();
                    (k as f64, 20, p)
                })
                .collect();
            let c = calibration_claim(&cells, 0.01, "src");
            rejected += usize::from(c.verdict() == Fails);
        }
        let rate = rejected as f64 / draws as f64;
        assert!((0.004..0.025).contains(&rate), "rejection rate {rate}");
    }
}
