//! The claims' tests: each claim judged on constructed sweeps.

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
    verdicts_of(&claims(s, &cells_of(recs), runs))
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
/// The threshold width (mean final train error <= 0.1) is architecture 6
/// (64000 params), so the window is 21333-192000 params: architectures 5-7.
fn final_train(_: usize, a: usize, _: usize) -> f64 {
    if a >= 6 {
        0.0
    } else {
        0.3
    }
}

const IDS: [&str; 8] = [
    "table1.test_error.p4000",
    "table1.test_error.p256000",
    "interpolation_threshold_params",
    "zero_noise.peak_near_interpolation",
    "noise0.1.peak_near_interpolation",
    "noise0.1.largest_below_peak",
    "noise0.2.peak_near_interpolation",
    "noise0.2.largest_below_peak",
];
const PEAKS: [&str; 3] = [IDS[3], IDS[4], IDS[6]];
const LARGEST: [&str; 2] = [IDS[5], IDS[7]];

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
    // The peak violated three ways: a monotone curve (no peak), a peak
    // far below the threshold width (architecture 2, 4000 params, while
    // the curve is flat in the window), a peak in the window within
    // the seed noise (h = 0.005, se = 0.01 x sqrt(2 x 0.4487) = 0.0095).
    let falling = |_: usize, a: usize, k: usize| 0.3 - 0.01 * a as f64 + 0.001 * k as f64;
    let misplaced =
        |_: usize, a: usize, k: usize| 0.2 + if a == 2 { 0.1 } else { 0.0 } + 0.001 * k as f64;
    let weak =
        |_: usize, a: usize, k: usize| 0.2 + if a == 6 { 0.005 } else { 0.0 } + 0.01 * k as f64;
    for curve in [falling as Value, misplaced, weak] {
        let v = verdicts(&s, &records(&s, 3, curve, table1, best_train, final_train));
        for id in PEAKS {
            assert_eq!(verdict(&v, id), Fails, "{id}");
        }
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
    for id in PEAKS {
        assert_eq!(verdict(&v, id), Holds, "{id}");
    }
    for id in LARGEST {
        assert_eq!(verdict(&v, id), Fails, "{id}");
    }
}

/// The two-sided threshold: theirs is architecture 2 (4000 params, the
/// Table 1 row of fewest parameters with train error 0), so with one
/// width either side it must lie in 2000-8000 params: it holds from
/// architecture 1 to 3, fails below and above, and when no model
/// interpolates (the threshold then lies above the grid's largest, above
/// the interval). At the grid's top the interval stops there, and no
/// model interpolating leaves it inconclusive.
#[test]
fn the_two_sided_threshold_holds_only_near_theirs() {
    let near = "interpolation_threshold_near_table1";
    let mut s = spec();
    s.claims.interpolation_rows = Some(1);
    // `records` takes fn pointers: each threshold spelled out.
    let at = |first: usize| -> Verdict {
        let best: Value = match first {
            0 => |_, _, _| 0.0,
            1 => |_, a, _| if a >= 1 { 0.0 } else { 0.1 },
            2 => |_, a, _| if a >= 2 { 0.0 } else { 0.1 },
            3 => |_, a, _| if a >= 3 { 0.0 } else { 0.1 },
            4 => |_, a, _| if a >= 4 { 0.0 } else { 0.1 },
            _ => |_, _, _| 0.1,
        };
        let v = verdicts(&s, &records(&s, 3, test_error, table1, best, final_train));
        verdict(&v, near)
    };
    assert_eq!(
        [at(0), at(1), at(2), at(3), at(4), at(99)],
        [Fails, Holds, Holds, Holds, Fails, Fails]
    );
    let c = claims(
        &s,
        &cells_of(&records(&s, 3, test_error, table1, best_train, final_train)),
        3,
    );
    let claim = c.iter().find(|c| c.id == near).unwrap();
    assert_eq!(
        claim.predicted,
        Prediction::Interval {
            low: 2000.0,
            high: 8000.0
        }
    );
    // Theirs at the largest architecture: the interval ends there.
    let last = s.model.archs.len() - 1;
    s.claims.table1 = vec![TableRow {
        arch: s.model.archs[last],
        train_error: 0.0,
        test_error: 0.11,
        epochs: 150,
    }];
    let c = claims(
        &s,
        &cells_of(&records(&s, 3, test_error, table1, best_train, final_train)),
        3,
    );
    let claim = c.iter().find(|c| c.id == near).unwrap();
    let top = (1000 << last) as f64;
    assert_eq!(
        claim.predicted,
        Prediction::Interval {
            low: top / 2.0,
            high: top
        }
    );
    // There, no model interpolating leaves the threshold unknown: the
    // measured value would be the largest, inside the interval (a lower
    // bound cannot show it above), and it may lie just past the grid.
    let none: Value = |_, _, _| 0.1;
    let v = verdicts(&s, &records(&s, 3, test_error, table1, none, final_train));
    assert_eq!(verdict(&v, near), Inconclusive);
}

/// A Table 1 row reported at another budget than our models trained for
/// is not compared: inconclusive, whatever its value, with our median
/// in the reason; the other row is judged as before.
#[test]
fn a_table1_row_at_another_budget_is_inconclusive() {
    let mut s = spec();
    s.claims.table1[1].epochs = 90;
    let recs = records(&s, 3, test_error, table1, best_train, final_train);
    let c = claims(&s, &cells_of(&recs), 3);
    assert_eq!(c[0].verdict(), Holds);
    assert_eq!((c[1].id.as_str(), c[1].verdict()), (IDS[1], Inconclusive));
    assert!(
        c[1].reason
            .contains("150 epochs, the row's 90 (our median 0.1110"),
        "{}",
        c[1].reason
    );
}

/// Undefined measurements are inconclusive: one seed (no spread), no
/// model interpolating or reaching epsilon, a cell without a median, no
/// interior peak to compare the largest model with.
#[test]
fn claims_inconclusive_on_undefined_measurements() {
    let s = spec();
    let v = verdicts(
        &s,
        &records(&s, 1, test_error, table1, best_train, final_train),
    );
    for id in [IDS[0], IDS[1]].iter().chain(&PEAKS).chain(&LARGEST) {
        assert_eq!(verdict(&v, id), Inconclusive, "{id}");
    }
    let never = |_: usize, _: usize, _: usize| 0.3;
    let v = verdicts(&s, &records(&s, 3, test_error, table1, never, never));
    for id in [IDS[2]].iter().chain(&PEAKS).chain(&LARGEST) {
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
    for id in PEAKS.iter().chain(&LARGEST) {
        assert_eq!(verdict(&v, id), Inconclusive, "{id}");
    }
    let falling = |_: usize, a: usize, k: usize| 0.3 - 0.01 * a as f64 + 0.001 * k as f64;
    let v = verdicts(
        &s,
        &records(&s, 3, falling, table1, best_train, final_train),
    );
    for id in LARGEST {
        assert_eq!(verdict(&v, id), Inconclusive, "{id}");
    }
}

/// "Below the peak" is judged only against a peak the data support: a
/// local maximum in the window within the seed noise (h = 0.005, se =
/// 0.0102, so the peak claim fails) with the largest model 0.005 below
/// it seed by seed is inconclusive, not a holding comparison.
#[test]
fn the_largest_model_is_not_compared_with_an_unsupported_peak() {
    let s = spec();
    let weak =
        |_: usize, a: usize, k: usize| 0.2 + if a == 6 { 0.005 } else { 0.0 } + 0.01 * k as f64;
    let c = claims(
        &s,
        &cells_of(&records(&s, 3, weak, table1, best_train, final_train)),
        3,
    );
    let row = |id: &str| c.iter().find(|c| c.id == id).unwrap();
    for (peak, largest) in [(IDS[4], IDS[5]), (IDS[6], IDS[7])] {
        assert_eq!(row(peak).verdict(), Fails, "{peak}");
        assert_eq!(row(largest).verdict(), Inconclusive, "{largest}");
        let why = &row(largest).reason;
        assert!(why.contains("no peak the data support"), "{why}");
        assert!(why.contains("median per-seed difference -0.0050"), "{why}");
    }
}

/// A peak window (factor 1.5 of the threshold width, on widths that
/// double) that holds no interior width measures nothing: inconclusive.
/// A window with an interior width that is no local maximum is a
/// measured absence (fails); one that is a local maximum holds.
#[test]
fn a_peak_window_without_an_interior_width_is_inconclusive() {
    let mut s = spec();
    s.claims.peak_ratio = 1.5;
    let at_top = |_: usize, a: usize, _: usize| if a == 12 { 0.0 } else { 0.3 };
    let at_8 = |_: usize, a: usize, _: usize| if a >= 8 { 0.0 } else { 0.3 };
    let judge = |train: Value| {
        let v = verdicts(&s, &records(&s, 3, test_error, table1, best_train, train));
        PEAKS.map(|id| verdict(&v, id))
    };
    assert_eq!(judge(at_top), [Inconclusive; 3]);
    assert_eq!(judge(at_8), [Fails; 3]);
    assert_eq!(judge(final_train), [Holds; 3]);
    let c = claims(
        &s,
        &cells_of(&records(&s, 3, test_error, table1, best_train, at_top)),
        3,
    );
    let why = &c.iter().find(|c| c.id == IDS[4]).unwrap().reason;
    assert!(why.contains("no width strictly inside the curve"), "{why}");
}

/// A width below the first interpolating one whose median is undefined
/// might interpolate: the threshold is unknown (inconclusive), not the
/// next width that does; an undefined width above it changes nothing.
#[test]
fn an_undefined_width_below_the_threshold_leaves_it_unknown() {
    let mut s = spec();
    s.claims.interpolation_rows = Some(1);
    let judge = |best: Value| {
        let v = verdicts(&s, &records(&s, 3, test_error, table1, best, final_train));
        [IDS[2], "interpolation_threshold_near_table1"].map(|id| verdict(&v, id))
    };
    let hole_below: Value = |l, a, k| {
        if a == 1 {
            f64::NAN
        } else {
            best_train(l, a, k)
        }
    };
    let hole_above: Value = |l, a, k| {
        if a == 7 {
            f64::NAN
        } else {
            best_train(l, a, k)
        }
    };
    // Architecture 5 (32000 params) interpolates first; theirs is 2.
    assert_eq!(judge(best_train), [Holds, Fails]);
    assert_eq!(judge(hole_below), [Inconclusive; 2]);
    assert_eq!(judge(hole_above), [Holds, Fails]);
}

/// The threshold is the smallest width whose MEAN final train error
/// (not median) is <= epsilon, the peak the most prominent interior
/// maximum in the window, and "largest below peak" reads that peak,
/// not the highest error of the curve (the underfitting smallest model).
#[test]
fn the_peak_is_located_from_the_mean_train_error_and_the_window() {
    let s = spec();
    // Architecture 5: seeds 0.05, 0.05, 0.25 (median 0.05, mean 0.117 > 0.1).
    let train = |_: usize, a: usize, k: usize| match a {
        5 if k == 2 => 0.25,
        5 => 0.05,
        a => final_train(0, a, k),
    };
    // The smallest model is the worst (0.5); a bump at architecture 7.
    let curve = |_: usize, a: usize, k: usize| {
        (match a {
            0 => 0.5,
            7 => 0.3,
            _ => 0.2,
        }) + 0.001 * k as f64
    };
    let recs = records(&s, 3, curve, table1, best_train, train);
    let cells: Vec<Cell> = recs[1]
        .iter()
        .map(|c| Cell {
            params: c[0].params,
            runs: c.iter().collect(),
        })
        .collect();
    let sorted: Vec<&Cell> = cells.iter().collect();
    let peak = find_peak(&s, &sorted);
    assert_eq!((peak.threshold, peak.at), (Some(6), Some(7)));
    assert!((peak.height - 0.1).abs() < 1e-12);
    let row = peak_claim(&s, 0.1, &sorted, &peak, 3);
    assert_eq!(row.verdict(), Holds);
    // The note's numbers are its quantities; a zero spread leaves the
    // row inconclusive, and its note states none of them.
    let q = &row.measured.quantities;
    assert_eq!(
        (q["peak_params"], q["threshold_params"]),
        (sorted[7].params as f64, sorted[6].params as f64)
    );
    assert!((q["h"] - 0.1).abs() < 1e-12 && q["se"] == peak.se, "{q:?}");
    let flat = Peak {
        se: 0.0,
        ..peak.clone()
    };
    let unscaled = peak_claim(&s, 0.1, &sorted, &flat, 3);
    assert_eq!(unscaled.verdict(), Inconclusive);
    assert!(unscaled.measured.quantities.is_empty(), "{unscaled:?}");
    let c = largest_below_peak(0.1, &sorted, &peak, &row);
    // Largest (0.201) minus the peak (0.301), not minus the smallest (0.501).
    assert!((c.measured.value + 0.1).abs() < 1e-12, "{c:?}");
    assert_eq!(c.verdict(), Holds);
}

/// runs.csv holds what every claim reads: the claims recomputed from
/// its rows (read back from the file) are the run's claims.
#[test]
fn claims_recompute_from_runs_csv() {
    use crate::studies::cnn_sweep::tables::{seed_rows, SeedRow};
    use crate::studies::toolkit::csv::{read_csv, to_csv};
    let s = spec();
    let recs = records(&s, 3, test_error, table1, best_train, final_train);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.csv");
    std::fs::write(&path, to_csv(&seed_rows(&s, &cells_of(&recs)))).unwrap();
    let rows: Vec<SeedRow> = read_csv(&path).unwrap();
    // Rows come level by level, architecture by architecture, seed by seed.
    let back: Vec<RunRecord> = rows.iter().map(SeedRow::record).collect();
    let per_level = back.len() / recs.len();
    let regrouped: Vec<Vec<Vec<RunRecord>>> = back
        .chunks(per_level)
        .map(|l| l.chunks(3).map(<[RunRecord]>::to_vec).collect())
        .collect();
    assert_eq!(rows.len(), 3 * 13 * 3);
    assert_eq!(
        claims(&s, &cells_of(&recs), 3),
        claims(&s, &cells_of(&regrouped), 3)
    );
}

#[test]
fn prominence_finds_interior_peaks_only() {
    let all = |_: usize| true;
    assert_eq!(peak_prominence(&[0.3, 0.2, 0.1], all).1, None);
    let y = [0.3, 0.2, 0.25, 0.15, 0.1];
    let (h, at) = peak_prominence(&y, all);
    assert_eq!(at, Some(2));
    assert!((h - 0.05).abs() < 1e-12);
    assert_eq!(peak_prominence(&y, |i| i != 2), (0.0, None));
    assert_eq!(peak_prominence(&[0.1], all).0, 0.0);
}

/// The same peak in the window (h = 0.1) with one collapsed run at a
/// small width: the pooled scale (se 0.075, h / se 1.2) fails it, the
/// spec's median scale (se 0.012, h / se 7.3) holds it.
#[test]
fn the_peak_scale_follows_the_spec() {
    let collapsed = |l: usize, a: usize, k: usize| {
        if a == 1 && k == 2 {
            0.75
        } else {
            test_error(l, a, k) + 0.009 * k as f64
        }
    };
    let mut s = spec();
    let recs = records(&s, 3, collapsed, table1, best_train, final_train);
    let v = verdicts(&s, &recs);
    assert_eq!(verdict(&v, IDS[6]), Fails);
    s.claims.peak_scale = PeakScale::Median;
    let v = verdicts(&s, &recs);
    assert_eq!(verdict(&v, IDS[6]), Holds);
}
