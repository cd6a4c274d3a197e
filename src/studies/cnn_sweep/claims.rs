//! The predictions of the course project's Table 1 and of deep double
//! descent (Nakkiran et al. 2019), and their verdicts. Every prediction is
//! a number the project reported or a statement of theory; the seed spread
//! sets the tolerance, never the measured value itself.

use super::{CnnSweepSpec, RunRecord};
use crate::record::{quantile, Claim, Measured, Prediction};
use crate::studies::toolkit::sd;

/// Per (noise level, architecture): the values of each run.
pub(super) struct Cell<'a> {
    pub params: usize,
    pub runs: Vec<&'a RunRecord>,
}

impl Cell<'_> {
    pub fn values(&self, f: impl Fn(&RunRecord) -> f64) -> Vec<f64> {
        self.runs.iter().map(|r| f(r)).collect()
    }
    pub fn median(&self, f: impl Fn(&RunRecord) -> f64) -> f64 {
        quantile(&self.values(f), 0.5)
    }
}

/// Height of the highest interior peak of a curve: max over i of
/// min(y_i - min_{j<i} y_j, y_i - min_{j>i} y_j) (0 for a curve without one).
pub fn peak_prominence(y: &[f64]) -> (f64, Option<usize>) {
    let mut best = (0.0, None);
    for i in 1..y.len().saturating_sub(1) {
        let left = y[..i].iter().cloned().fold(f64::INFINITY, f64::min);
        let right = y[i + 1..].iter().cloned().fold(f64::INFINITY, f64::min);
        let h = (y[i] - left).min(y[i] - right);
        if h > best.0 {
            best = (h, Some(i));
        }
    }
    best
}

/// The claims, each prediction taken from the project's numbers or from
/// theory: at 0% noise Table 1 and the interpolation threshold (`cells[l]`
/// of the zero level), then per noise level its curve's peak.
pub(super) fn claims(spec: &CnnSweepSpec, cells: &[Vec<Cell>], runs: usize) -> Vec<Claim> {
    let mut out = Vec::new();
    if let Some(l) = spec.data.label_noise.iter().position(|&e| e == 0.0) {
        out.extend(table1_claims(spec, &cells[l], runs));
        out.extend(interpolation_claim(spec, &cells[l], runs));
    }
    for (l, row) in cells.iter().enumerate() {
        let eta = spec.data.label_noise[l];
        let mut sorted: Vec<&Cell> = row.iter().collect();
        sorted.sort_by_key(|c| c.params);
        // The final test error (median over runs) against the parameter count.
        let curve: Vec<f64> = sorted
            .iter()
            .map(|c| c.median(|r| r.final_test_error))
            .collect();
        if eta != 0.0 {
            out.extend(noise_claims(spec, eta, &sorted, &curve, runs));
        } else if spec.claims.zero_noise_peak {
            out.push(zero_noise_peak(&sorted, &curve, runs));
        }
    }
    out
}

/// Table 1: their test error (mean of the last 10 epochs, accuracy floored to
/// whole percent, so their error overstates ours by up to 0.01), one seed,
/// against the median of our `runs` seeds. The tolerance is settled before
/// any row is judged and is the same for every row: a 95% prediction
/// interval for one seed's value around ours, t_{0.975, df} s_p
/// sqrt(1 + 1/runs), where s_p is the seed sd pooled over the rows (df =
/// rows (runs - 1) degrees of freedom), so no row's verdict follows its own
/// noisy sd. `row` holds the 0%-noise cells.
fn table1_claims(spec: &CnnSweepSpec, row: &[Cell], runs: usize) -> Vec<Claim> {
    let cs = &spec.claims;
    let cells: Vec<&Cell> = cs
        .table1
        .iter()
        .map(|t1| {
            let a = spec
                .model
                .archs
                .iter()
                .position(|x| *x == t1.arch)
                .expect("validated");
            &row[a]
        })
        .collect();
    let samples: Vec<Vec<f64>> = cells
        .iter()
        .map(|c| c.values(|r| r.last10_test_error))
        .collect();
    let (pooled_sd, df) = pooled_sd(&samples);
    let t = student_t_quantile(0.975, df);
    let half_width = t * pooled_sd * (1.0 + 1.0 / runs as f64).sqrt();
    let tolerance_note = format!(
        "interval: [theirs - 0.01 (whole-percent floor) - h, theirs + h], h = t(0.975, df = {df}) {t:.3} x pooled seed sd {pooled_sd:.4} x sqrt(1 + 1/{runs}) = {half_width:.4}"
    );
    cs.table1
        .iter()
        .zip(&cells)
        .zip(&samples)
        .map(|((t1, c), v)| {
            let measured = Measured::median_of(v).with_note(tolerance_note.clone());
            let prediction = if half_width.is_finite() {
                Prediction::Interval {
                    low: t1.test_error - 0.01 - half_width,
                    high: t1.test_error + half_width,
                }
            } else {
                // One seed: no spread to judge against.
                Prediction::Interval { low: f64::NAN, high: f64::NAN }
            };
            Claim::new(
                format!("table1.test_error.p{}", c.params),
                format!(
                    "architecture {:?} ({} params): test error, mean of the last 10 of {} epochs (median over runs), matches the project's Table 1 ({} epochs) within a 95% prediction interval from the pooled seed spread",
                    t1.arch, c.params, spec.train.epochs, t1.epochs
                ),
                cs.table1_source.clone(),
                prediction,
                measured,
            )
        })
        .collect()
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

/// The q-quantile of Student's t with `df` degrees of freedom (NaN for df = 0).
fn student_t_quantile(q: f64, df: usize) -> f64 {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    if df == 0 {
        return f64::NAN;
    }
    StudentsT::new(0.0, 1.0, df as f64)
        .map(|t| t.inverse_cdf(q))
        .unwrap_or(f64::NAN)
}

/// The interpolation threshold: the smallest model whose median best-epoch
/// train error is at most `claims.interpolation_error` lies above the
/// reported bound (when one is claimed). `row` holds the 0%-noise cells.
fn interpolation_claim(spec: &CnnSweepSpec, row: &[Cell], runs: usize) -> Option<Claim> {
    let cs = &spec.claims;
    let bound = cs.interpolation_above?;
    let mut by_size: Vec<&Cell> = row.iter().collect();
    by_size.sort_by_key(|c| c.params);
    let first = by_size
        .iter()
        .find(|c| c.median(|r| r.best_train_error) <= cs.interpolation_error);
    let measured = match first {
        Some(c) => Measured::single(c.params as f64).with_note(format!(
            "{} of {} architectures interpolate",
            by_size
                .iter()
                .filter(|c| c.median(|r| r.best_train_error) <= cs.interpolation_error)
                .count(),
            by_size.len()
        )),
        None => Measured::single(f64::NAN).with_note(format!(
            "no architecture reached training error <= {} within {} epochs",
            cs.interpolation_error, spec.train.epochs
        )),
    };
    Some(Claim::new(
        "interpolation_threshold_params",
        format!("the smallest parameter count whose best-epoch training error (median over runs) is <= {} lies above n = {bound}", cs.interpolation_error),
        format!("{} (first 0 train error at 33370 params, n = 20000)", cs.table1_source),
        Prediction::AtLeast { bound },
        Measured { runs, ..measured },
    ))
}

/// At 0% noise: an interior peak of the test-error curve whose prominence
/// exceeds 2 standard errors of a difference of two medians of `runs` seeds.
fn zero_noise_peak(sorted: &[&Cell], curve: &[f64], runs: usize) -> Claim {
    // A cell without a median (no runs, NaN) leaves the curve, so its peak, undefined.
    let undefined = curve.iter().any(|v| v.is_nan());
    let (height, at) = if undefined {
        (f64::NAN, None)
    } else {
        peak_prominence(curve)
    };
    // Noise scale: the standard error of a difference of two medians of `runs` seeds.
    let pooled = (sorted
        .iter()
        .map(|c| sd(&c.values(|r| r.final_test_error)).powi(2))
        .sum::<f64>()
        / sorted.len() as f64)
        .sqrt();
    let se_diff = 1.2533 * pooled * (2.0 / runs as f64).sqrt();
    Claim::new(
        "zero_noise.test_error_peak",
        "at 0% label noise the final test error vs parameter count (median over runs) has an interior peak whose prominence exceeds 2 standard errors of a difference (from the seed spread)",
        "course project (github ItayAbuhazera/OverparameterizationProject): a weak peak near 20000-30000 params; Nakkiran et al. 2019: at 0% noise the peak may be absent",
        Prediction::AtLeast { bound: 2.0 * se_diff },
        Measured { runs, ..Measured::single(height) }.with_note(match at {
            Some(i) => format!("peak at {} params; pooled seed sd {pooled:.4}", sorted[i].params),
            None if undefined => "a cell's median final test error is undefined".to_string(),
            None => "no interior peak".to_string(),
        }),
    )
}

/// Under label noise: the peak sits near the interpolation threshold
/// (effective model complexity ~ n), and the largest model comes back below it.
fn noise_claims(
    spec: &CnnSweepSpec,
    eta: f64,
    sorted: &[&Cell],
    curve: &[f64],
    runs: usize,
) -> Vec<Claim> {
    let cs = &spec.claims;
    let mut out = Vec::new();
    // The peak sits near the interpolation threshold (EMC ~ n) ...
    let (peak_i, _) =
        curve.iter().enumerate().fold(
            (0, f64::NEG_INFINITY),
            |b, (i, &v)| if v > b.1 { (i, v) } else { b },
        );
    let interp = sorted
        .iter()
        .find(|c| c.median(|r| r.final_train_error) <= cs.interpolation_error.max(0.0));
    // A cell without a median leaves the peak's place undefined.
    let undefined = curve.iter().any(|v| v.is_nan());
    let ratio = interp
        .filter(|_| !undefined)
        .map(|c| sorted[peak_i].params as f64 / c.params as f64)
        .unwrap_or(f64::NAN);
    out.push(Claim::new(
        format!("noise{eta}.peak_near_interpolation"),
        format!("with {eta} label noise, the largest test error (median over runs) is at a parameter count within a factor {} of the smallest one that fits the noisy training labels (final train error <= {})", cs.peak_ratio, cs.interpolation_error),
        "Nakkiran et al. 2019 (deep double descent): the test-error peak sits where the model first interpolates, effective model complexity ~ n",
        Prediction::Interval { low: 1.0 / cs.peak_ratio, high: cs.peak_ratio },
        Measured { runs, ..Measured::single(ratio) }.with_note(match interp {
            _ if undefined => "a cell's median final test error is undefined".to_string(),
            Some(c) => format!("peak at {} params, first interpolating model {} params", sorted[peak_i].params, c.params),
            None => format!("no model fitted the noisy labels within {} epochs", spec.train.epochs),
        }),
    ));
    // ... and the largest models come back below it.
    let largest = sorted.last().expect("archs non-empty");
    let diffs: Vec<f64> = if peak_i + 1 == sorted.len() {
        vec![f64::NAN]
    } else {
        let (a, b) = (
            largest.values(|r| r.final_test_error),
            sorted[peak_i].values(|r| r.final_test_error),
        );
        a.iter().zip(&b).map(|(x, y)| x - y).collect()
    };
    out.push(Claim::new(
        format!("noise{eta}.largest_below_peak"),
        format!("with {eta} label noise, the largest model ({} params) has lower final test error than the model at the peak (per-seed difference, median)", largest.params),
        "Nakkiran et al. 2019; Wen et al. ICLR 2023: larger models counter label noise",
        Prediction::AtMost { bound: 0.0 },
        if peak_i + 1 == sorted.len() {
            Measured::single(f64::NAN).with_note("the peak is at the largest model")
        } else {
            Measured::median_of(&diffs)
        },
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::super::TableRow;
    use super::*;
    use crate::record::verdict_of as verdict;
    use crate::record::verdicts as verdicts_of;
    use crate::record::Metrics;
    use crate::record::Verdict::{self, *};

    /// The noise sweep's spec with two Table 1 rows (test error 0.13 at
    /// architecture 2, 0.11 at 8) and an interpolation bound of 20000 params.
    fn spec() -> CnnSweepSpec {
        let mut s: CnnSweepSpec = crate::spec::committed("cnn_label_noise_sweep", false);
        let row = |a: usize, test_error| TableRow {
            arch: s.model.archs[a],
            train_error: 0.0,
            test_error,
            epochs: 150,
        };
        s.claims.table1 = vec![row(2, 0.13), row(8, 0.11)];
        s.claims.interpolation_above = Some(20000.0);
        s
    }

    /// Per-seed values of one cell, a function of (level, architecture, seed).
    type Value = fn(usize, usize, usize) -> f64;

    /// The records of a sweep: architecture a has 1000 2^a params, and
    /// runs seeds a cell; each field from its function.
    fn records(
        s: &CnnSweepSpec,
        runs: usize,
        test: Value,
        last10: Value,
        best_train: Value,
        final_train: Value,
    ) -> Vec<Vec<Vec<RunRecord>>> {
        (0..s.data.label_noise.len())
            .map(|l| {
                (0..s.model.archs.len())
                    .map(|a| {
                        (0..runs)
                            .map(|k| RunRecord {
                                metrics: Metrics::default(),
                                params: 1000 << a,
                                best_train_error: best_train(l, a, k),
                                last10_test_error: last10(l, a, k),
                                final_train_error: final_train(l, a, k),
                                final_test_error: test(l, a, k),
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect()
    }

    fn verdicts(s: &CnnSweepSpec, recs: &[Vec<Vec<RunRecord>>]) -> Vec<(String, Verdict)> {
        let runs = recs[0][0].len();
        let cells: Vec<Vec<Cell>> = recs
            .iter()
            .map(|row| {
                row.iter()
                    .map(|c| Cell {
                        params: c[0].params,
                        runs: c.iter().collect(),
                    })
                    .collect()
            })
            .collect();
        verdicts_of(&claims(s, &cells, runs))
    }

    /// Double descent: falling test error with a 0.1 bump at architecture 6,
    /// 0.001 seed spread.
    fn test_error(_: usize, a: usize, k: usize) -> f64 {
        0.3 - 0.01 * a as f64 + if a == 6 { 0.1 } else { 0.0 } + 0.001 * k as f64
    }
    /// Table 1's values, 0.001 seed spread.
    fn table1(_: usize, a: usize, k: usize) -> f64 {
        (if a == 2 { 0.13 } else { 0.11 }) + 0.001 * k as f64
    }
    /// Interpolation from architecture 5 (32000 params) at 0% noise, 6 under noise.
    fn best_train(_: usize, a: usize, _: usize) -> f64 {
        if a >= 5 {
            0.0
        } else {
            0.1
        }
    }
    fn final_train(_: usize, a: usize, _: usize) -> f64 {
        if a >= 6 {
            0.0
        } else {
            0.1
        }
    }

    const IDS: [&str; 8] = [
        "table1.test_error.p4000",
        "table1.test_error.p256000",
        "interpolation_threshold_params",
        "zero_noise.test_error_peak",
        "noise0.1.peak_near_interpolation",
        "noise0.1.largest_below_peak",
        "noise0.2.peak_near_interpolation",
        "noise0.2.largest_below_peak",
    ];

    /// Not vacuous: a double-descent sweep on Table 1's numbers holds every claim.
    #[test]
    fn claims_hold_on_agreeing_measurements() {
        let s = spec();
        let v = verdicts(
            &s,
            &records(&s, 3, test_error, table1, best_train, final_train),
        );
        assert_eq!(v.iter().map(|(i, _)| i.as_str()).collect::<Vec<_>>(), IDS);
        assert!(v.iter().all(|(_, v)| *v == Holds), "{v:?}");
    }

    /// Each claim, violated in turn, fails.
    #[test]
    fn claims_fail_on_contradicting_measurements() {
        let s = spec();
        let v = verdicts(
            &s,
            &records(
                &s,
                3,
                test_error,
                |l, a, k| table1(l, a, k) + 0.05,
                best_train,
                final_train,
            ),
        );
        assert_eq!((verdict(&v, IDS[0]), verdict(&v, IDS[1])), (Fails, Fails));
        // Every model interpolates, the smallest (1000 params) below the bound.
        let v = verdicts(
            &s,
            &records(&s, 3, test_error, table1, |_, _, _| 0.0, final_train),
        );
        assert_eq!(verdict(&v, IDS[2]), Fails);
        // A monotone curve: no peak at 0% noise, and under noise the peak
        // (the smallest model) far from the interpolation threshold.
        let falling = |_: usize, a: usize, k: usize| 0.3 - 0.01 * a as f64 + 0.001 * k as f64;
        let v = verdicts(
            &s,
            &records(&s, 3, falling, table1, best_train, final_train),
        );
        for id in [IDS[3], IDS[4], IDS[6]] {
            assert_eq!(verdict(&v, id), Fails, "{id}");
        }
        // Under noise the largest model is worse than the peak's seed by seed
        // (differences 0.1, 0.1, -0.2) though its median is lower.
        let paired = |l: usize, a: usize, k: usize| match (l, a) {
            (0, _) => test_error(l, a, k),
            (_, 6) => [0.1, 0.5, 0.5][k],
            (_, 12) => [0.2, 0.6, 0.3][k],
            _ => 0.05,
        };
        let v = verdicts(&s, &records(&s, 3, paired, table1, best_train, final_train));
        for id in [IDS[4], IDS[6]] {
            assert_eq!(verdict(&v, id), Holds, "{id}");
        }
        for id in [IDS[5], IDS[7]] {
            assert_eq!(verdict(&v, id), Fails, "{id}");
        }
    }

    /// Undefined measurements are inconclusive: one seed (no spread), no
    /// model interpolating, the peak at the largest model, a cell without a
    /// median.
    #[test]
    fn claims_inconclusive_on_undefined_measurements() {
        let s = spec();
        let v = verdicts(
            &s,
            &records(&s, 1, test_error, table1, best_train, final_train),
        );
        assert_eq!(
            (verdict(&v, IDS[0]), verdict(&v, IDS[1])),
            (Inconclusive, Inconclusive)
        );
        let never = |_: usize, _: usize, _: usize| 0.1;
        let rising = |_: usize, a: usize, k: usize| 0.01 * a as f64 + 0.001 * k as f64;
        let v = verdicts(&s, &records(&s, 3, rising, table1, never, never));
        for id in [IDS[2], IDS[4], IDS[5], IDS[6], IDS[7]] {
            assert_eq!(verdict(&v, id), Inconclusive, "{id}");
        }
        let hole = |l: usize, a: usize, k: usize| {
            if a == 3 {
                f64::NAN
            } else {
                test_error(l, a, k)
            }
        };
        let v = verdicts(&s, &records(&s, 3, hole, table1, best_train, final_train));
        for id in [IDS[3], IDS[4], IDS[6]] {
            assert_eq!(verdict(&v, id), Inconclusive, "{id}");
        }
    }

    #[test]
    fn prominence_finds_interior_peaks_only() {
        assert_eq!(peak_prominence(&[0.3, 0.2, 0.1]).1, None);
        let (h, at) = peak_prominence(&[0.3, 0.2, 0.25, 0.15, 0.1]);
        assert_eq!(at, Some(2));
        assert!((h - 0.05).abs() < 1e-12);
        assert_eq!(peak_prominence(&[0.1]).0, 0.0);
    }

    #[test]
    fn the_table1_tolerance_pools_the_rows_and_uses_t() {
        // Two rows of three seeds: variances 1 and 4, pooled (2 + 8) / 4 = 2.5.
        let (sd, df) = pooled_sd(&[vec![1.0, 2.0, 3.0], vec![0.0, 2.0, 4.0]]);
        assert_eq!(df, 4);
        assert!((sd - 2.5f64.sqrt()).abs() < 1e-12);
        assert_eq!(pooled_sd(&[vec![1.0], vec![2.0]]).1, 0);
        // t at 2 degrees of freedom is 4.30 (not the 2 of a normal), at 22 it is 2.07.
        assert!((student_t_quantile(0.975, 2) - 4.3027).abs() < 1e-3);
        assert!((student_t_quantile(0.975, 22) - 2.0739).abs() < 1e-3);
        assert!(student_t_quantile(0.975, 0).is_nan());
    }
}
