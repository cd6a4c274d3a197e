//! The claims on synthetic grids: each rule holds, fails and is
//! inconclusive where it should.

use super::super::run::{Stop, SweepJob, SweepRecord};
use super::*;
use crate::record::verdict_of as verdict;
use crate::record::verdicts as verdicts_of;
use crate::record::Verdict::{self, *};

fn spec() -> ThresholdSpec {
    crate::spec::committed("optimization_threshold", false)
}

/// Synthetic runs of the spec's grid: the small init interpolates below
/// `thresholds[dim]` and sits on the least-squares residual from it on
/// (two clusters, aligned); the large init interpolates (converged) with
/// twice the small init's excess risk. `edit(dim, n, init, record)` then
/// alters a run of the claims grid. The n* grid holds the small init's
/// unedited runs.
fn grid(
    s: &ThresholdSpec,
    thresholds: &[usize],
    edit: impl Fn(usize, usize, usize, &mut RunRecord),
) -> (Vec<Job>, Vec<RunRecord>, Vec<Job>, Vec<RunRecord>) {
    let sigma = s.teacher.sigma;
    let (mut jobs, mut recs, mut njobs, mut nrecs) = (vec![], vec![], vec![], vec![]);
    for (dim, ds) in s.dims.iter().enumerate() {
        for (n_index, &n) in ds.n.iter().enumerate() {
            let ols = ols_expected_train_mse(sigma, n, ds.d).max(1e-3);
            let excess = ols_expected_excess_risk(sigma, n, ds.d).unwrap_or(1.0);
            for init in 0..s.inits.len() {
                for seed in 0..s.seeds {
                    let small = s.inits[init].id == "small";
                    let on_ols = small && n >= thresholds[dim];
                    let mut r = RunRecord {
                        train_mse: if on_ols { ols } else { 0.01 * sigma * sigma },
                        test_excess: if small { excess } else { 2.0 * excess },
                        ols_train_mse: ols,
                        ols_test_excess: excess,
                        clusters: 2.0,
                        aligned_mass: 0.95,
                        steps: 100,
                        stop: if small {
                            Stop::Fixed
                        } else {
                            Stop::Interpolated
                        },
                        curve: Vec::new(),
                    };
                    let job = Job {
                        dim,
                        n_index,
                        init,
                        seed,
                    };
                    if small {
                        njobs.push(job);
                        nrecs.push(r.clone());
                    }
                    edit(dim, n, init, &mut r);
                    jobs.push(job);
                    recs.push(r);
                }
            }
        }
    }
    (njobs, nrecs, jobs, recs)
}

fn verdicts(
    s: &ThresholdSpec,
    (njobs, nrecs, jobs, recs): (Vec<Job>, Vec<RunRecord>, Vec<Job>, Vec<RunRecord>),
) -> Vec<(String, Verdict)> {
    let nstar = Table::new(s, &njobs, &nrecs);
    let table = Table::new(s, &jobs, &recs);
    verdicts_of(&judge(s, &nstar, &table).claims)
}

const PER_DIM: [&str; 6] = [
    "below_threshold_interpolates",
    "above_threshold_does_not_interpolate",
    "above_threshold_two_clusters",
    "above_threshold_aligned_with_beta_hat",
    "large_init_interpolates_everywhere",
    "large_init_generalises_worse",
];

/// n* = 20 at d = 5 and 50 at d = 8 (exponent ln 2.5 / ln 1.6 ~ 1.95).
const THRESHOLDS: [usize; 2] = [20, 50];

fn none(_: usize, _: usize, _: usize, _: &mut RunRecord) {}

/// The spec's n* rule: the ratio must hold at n and at the next grid n,
/// so the grid's last n, with no next n, cannot be n* alone (the code
/// let it until 2026-12-04, against the spec's text).
#[test]
fn the_last_grid_n_alone_is_not_n_star() {
    let s = spec();
    let small = init_index(&s, "small").unwrap();
    for (dim, ds) in s.dims.iter().enumerate() {
        let last = *ds.n.last().unwrap();
        let previous = ds.n[ds.n.len() - 2];
        let at = |from: usize| {
            let (njobs, nrecs, _, _) = grid(&s, &[from, from], none);
            let nstar = Table::new(&s, &njobs, &nrecs);
            measured_threshold(&s, &nstar, dim, small)
        };
        assert_eq!(at(last), None, "d = {}: the last n alone", ds.d);
        assert_eq!(
            at(previous),
            Some(previous),
            "d = {}: confirmed by the last n",
            ds.d
        );
    }
}

/// An edit of a sweep run's (r, e) at (lambda index, horizon index).
type RatioEdit<'a> = dyn Fn(usize, usize, &mut (f64, f64)) + 'a;

/// Synthetic sweep runs: r = train / OLS residual = 1 - x/2 and
/// e = excess / OLS excess = 1 + x with x = 1/ln(1/lambda) (both tend
/// to 1 as lambda -> 0), a 1e-4 seed offset, the same at every horizon;
/// `edit(n, lambda index, horizon index, (r, e))` then alters them.
fn sweep_runs(
    s: &ThresholdSpec,
    edit: impl Fn(usize, usize, usize, &mut (f64, f64)),
) -> (Vec<SweepJob>, Vec<SweepRecord>) {
    let w = &s.sweep;
    let (mut jobs, mut recs) = (vec![], vec![]);
    for n_index in 0..w.n.len() {
        for (lambda, &l) in w.lambdas.iter().enumerate() {
            for seed in 0..w.seeds {
                let x = 1.0 / (1.0 / l).ln();
                let (ols, ex) = (0.2, 0.01);
                let at: Vec<(f64, f64)> = (0..w.horizons.len())
                    .map(|h| {
                        let mut re = (1.0 - 0.5 * x + 1e-4 * seed as f64, 1.0 + x);
                        edit(w.n[n_index], lambda, h, &mut re);
                        (re.0 * ols, re.1 * ex)
                    })
                    .collect();
                jobs.push(SweepJob {
                    n_index,
                    lambda,
                    seed,
                });
                // The OLS references at their expectations (the checks hold).
                let n = w.n[n_index];
                let sigma = s.teacher.sigma;
                let scale_t = ols_expected_train_mse(sigma, n, w.d) / ols;
                let scale_e = ols_expected_excess_risk(sigma, n, w.d).unwrap() / ex;
                recs.push(SweepRecord {
                    ols_train_mse: ols * scale_t,
                    ols_test_excess: ex * scale_e,
                    at: at
                        .iter()
                        .map(|&(t, e): &(f64, f64)| (t * scale_t, e * scale_e))
                        .collect(),
                });
            }
        }
    }
    (jobs, recs)
}

fn sweep_verdicts(
    s: &ThresholdSpec,
    runs: (Vec<SweepJob>, Vec<SweepRecord>),
) -> Vec<(String, Verdict)> {
    verdicts_of(&super::super::sweep::judge(s, &runs.0, &runs.1).0)
}

const PER_N: [&str; 5] = [
    "train_trend_in_lambda",
    "train_limit",
    "excess_trend_in_lambda",
    "excess_limit",
    "train_held_over_horizon",
];

/// The d-scaling claim: decided when both n* exist; when the last
/// dimension's is not reached, its grid's end bounds the exponent from
/// below, which fails the claim past d^3 and leaves it open otherwise.
#[test]
fn threshold_scaling_reads_an_unreached_n_star_as_a_lower_bound() {
    let v = |t: &[(usize, Option<usize>)], beyond| threshold_scaling_claim(t, beyond).verdict();
    assert_eq!(v(&[(5, Some(80)), (8, Some(200))], 800), Verdict::Holds);
    assert_eq!(v(&[(5, Some(80)), (8, Some(800))], 800), Verdict::Fails);
    // ln(800/80)/ln(1.6) = 4.9 > 3 even if n*(8) is only somewhere past 800.
    assert_eq!(v(&[(5, Some(80)), (8, None)], 800), Verdict::Fails);
    // ln(320/80)/ln(1.6) = 2.95: n*(8) past 320 could still be within d^3.
    assert_eq!(v(&[(5, Some(80)), (8, None)], 320), Verdict::Inconclusive);
    assert_eq!(v(&[(5, None), (8, Some(200))], 800), Verdict::Inconclusive);
}

/// The large init's runs at the convergence cap (rule of 2026-12-04): one
/// within the interpolation bound decides both large-init claims; one above
/// it is open, and a cell's median decides only if it does so whatever the
/// open runs would reach.
#[test]
fn capped_large_init_runs_decide_only_within_the_bound() {
    let s = spec();
    let s2 = s.teacher.sigma.powi(2);
    // d = 5's large init at n = 320, its seeds in turn: (stop, MSE / sigma^2).
    let large = |seeds: [(Stop, f64); 3]| {
        let seed = std::cell::Cell::new(0);
        let v = verdicts(
            &s,
            grid(&s, &THRESHOLDS, |dim, n, init, r| {
                if dim == 0 && n == 320 && init == 1 {
                    (r.stop, r.train_mse) = (seeds[seed.get()].0, seeds[seed.get()].1 * s2);
                    seed.set(seed.get() + 1);
                }
            }),
        );
        [
            verdict(&v, "d5.large_init_interpolates_everywhere"),
            verdict(&v, "d5.large_init_generalises_worse"),
        ]
    };
    let (cap, plateau) = (Stop::Cap, Stop::Plateau);
    // Capped within the bound (0.1): decided, as a converged run is.
    assert_eq!(large([(cap, 0.05); 3]), [Holds, Holds]);
    // Capped above it: open, and nothing decides the cell.
    assert_eq!(large([(cap, 0.5); 3]), [Inconclusive, Inconclusive]);
    // One open run: the two decided ones fix the median either way.
    assert_eq!(large([(cap, 0.05), (plateau, 0.02), (cap, 0.5)])[0], Holds);
    assert_eq!(
        large([(plateau, 0.5), (plateau, 0.3), (cap, 0.5)])[0],
        Fails
    );
    // Two open runs beside a converged failure: the median is open.
    assert_eq!(
        large([(plateau, 0.5), (cap, 0.5), (cap, 0.5)])[0],
        Inconclusive
    );
    // Two open runs beside a decided fit: open too.
    assert_eq!(
        large([(plateau, 0.02), (cap, 0.5), (cap, 0.5)])[0],
        Inconclusive
    );
}

/// Not vacuous: runs that follow the theory make every claim and check hold.
#[test]
fn claims_hold_on_agreeing_measurements() {
    let s = spec();
    let v = verdicts(&s, grid(&s, &THRESHOLDS, none));
    let mut ids: Vec<String> = ["d5", "d8"]
        .iter()
        .flat_map(|d| PER_DIM.map(|c| format!("{d}.{c}")))
        .collect();
    ids.push("threshold.moves_with_d".into());
    assert_eq!(v.iter().map(|(i, _)| i.clone()).collect::<Vec<_>>(), ids);
    assert!(v.iter().all(|(_, v)| *v == Holds), "{v:?}");
    let v = sweep_verdicts(&s, sweep_runs(&s, |_, _, _, _| {}));
    let mut ids: Vec<String> = s
        .sweep
        .n
        .iter()
        .flat_map(|n| PER_N.map(|c| format!("sweep.n{n}.{c}")))
        .collect();
    ids.extend(
        [
            "sweep.ols_residual_expectation",
            "sweep.ols_excess_expectation",
        ]
        .map(String::from),
    );
    assert_eq!(v.iter().map(|(i, _)| i.clone()).collect::<Vec<_>>(), ids);
    assert!(v.iter().all(|(_, v)| *v == Holds), "{v:?}");
}

/// Each claim, violated in turn (at d = 5, or at the sweep's first n), fails.
#[test]
fn claims_fail_on_contradicting_measurements() {
    let s = spec();
    let fails = |edit: &dyn Fn(bool, &mut RunRecord), claims: &[&str]| {
        // edit(small init, run) at d = 5, n >= 20 and n = 8 (a "below" cell).
        let v = verdicts(
            &s,
            grid(&s, &THRESHOLDS, |dim, n, init, r| {
                if dim == 0 && (n >= 20 || n == 8) {
                    edit(s.inits[init].id == "small", r);
                }
            }),
        );
        for c in claims {
            assert_eq!(verdict(&v, &format!("d5.{c}")), Fails, "{c}");
        }
    };
    fails(
        &|small, r| {
            if small && r.train_mse < 0.1 {
                r.train_mse = 0.5
            }
        },
        &[PER_DIM[0]],
    );
    // Above n* on the claims grid's seeds: back to interpolation.
    fails(
        &|small, r| {
            if small && r.train_mse > 0.01 {
                r.train_mse *= 0.3
            }
        },
        &[PER_DIM[1]],
    );
    fails(
        &|small, r| {
            if small {
                r.clusters = 3.0
            }
        },
        &[PER_DIM[2]],
    );
    fails(
        &|small, r| {
            if small {
                r.aligned_mass = 0.5
            }
        },
        &[PER_DIM[3]],
    );
    fails(
        &|small, r| {
            if !small {
                r.train_mse = 0.5
            }
        },
        &[PER_DIM[4]],
    );
    // A converged failure decides even where another cell is capped.
    let v = verdicts(
        &s,
        grid(&s, &THRESHOLDS, |dim, n, init, r| {
            if dim == 0 && init == 1 {
                r.train_mse = if n == 8 { 0.5 } else { r.train_mse };
                r.stop = if n == 320 { Stop::Cap } else { Stop::Plateau };
            }
        }),
    );
    assert_eq!(verdict(&v, "d5.large_init_interpolates_everywhere"), Fails);
    fails(
        &|small, r| {
            if !small {
                r.test_excess *= 0.25
            }
        },
        &[PER_DIM[5]],
    );
    // n* the same at both d.
    let v = verdicts(&s, grid(&s, &[20, 20], none));
    assert_eq!(verdict(&v, "threshold.moves_with_d"), Fails);

    let n0 = s.sweep.n[0];
    let sweep_fails = |edit: &RatioEdit<'_>, claim: &str| {
        let v = sweep_verdicts(
            &s,
            sweep_runs(&s, |n, l, h, re| {
                if n == n0 {
                    edit(l, h, re)
                }
            }),
        );
        assert_eq!(
            verdict(&v, &format!("sweep.n{n0}.{claim}")),
            Fails,
            "{claim}"
        );
    };
    let x = |l: usize| 1.0 / (1.0 / s.sweep.lambdas[l]).ln();
    // The deviation grows as lambda falls.
    sweep_fails(&|l, _, re| re.0 = 1.0 - 0.01 / x(l), PER_N[0]);
    sweep_fails(&|l, _, re| re.1 = 1.0 + 0.01 / x(l), PER_N[2]);
    // The trend holds but the limit is far from 1.
    sweep_fails(&|l, _, re| re.0 = 0.7 - x(l), PER_N[1]);
    sweep_fails(&|l, _, re| re.1 = 3.5 + x(l), PER_N[3]);
    // The fit is left at an intermediate horizon at the smallest lambda.
    let last = s.sweep.lambdas.len() - 1;
    let h = s.sweep.horizons.len() - 2;
    sweep_fails(
        &|l, hh, re| {
            if l == last && hh == h {
                re.0 = 0.5
            }
        },
        PER_N[4],
    );
}

/// Undefined measurements are inconclusive: a threshold never reached,
/// a cell whose runs recorded NaN, a large init never converged, a sweep
/// cell without a number.
#[test]
fn claims_inconclusive_on_undefined_measurements() {
    let s = spec();
    // d = 8: the small init interpolates everywhere, so n* is not reached.
    let v = verdicts(&s, grid(&s, &[20, usize::MAX], none));
    for c in &PER_DIM[1..4] {
        assert_eq!(verdict(&v, &format!("d8.{c}")), Inconclusive, "{c}");
    }
    assert_eq!(verdict(&v, "d8.large_init_generalises_worse"), Inconclusive);
    // Not reached up to n = 800 against n*(5) = 20: an exponent of at
    // least 7.8, past d^3 (the inconclusive case of an unreached n* is
    // `threshold_scaling_reads_an_unreached_n_star_as_a_lower_bound`).
    assert_eq!(verdict(&v, "threshold.moves_with_d"), Fails);
    // d = 5, n = 8: NaN train MSE in both inits; n = 50: NaN test excess
    // of the large init; d = 8: the large init capped at n = 320.
    let v = verdicts(
        &s,
        grid(&s, &THRESHOLDS, |dim, n, init, r| {
            if dim == 0 && n == 8 {
                r.train_mse = f64::NAN;
            }
            if dim == 0 && n == 50 && init == 1 {
                r.test_excess = f64::NAN;
            }
            if dim == 1 && n == 320 && init == 1 {
                r.stop = Stop::Cap;
                r.train_mse = 0.2;
            }
        }),
    );
    for c in [PER_DIM[0], PER_DIM[4], PER_DIM[5]] {
        assert_eq!(verdict(&v, &format!("d5.{c}")), Inconclusive, "{c}");
    }
    assert_eq!(
        verdict(&v, "d8.large_init_interpolates_everywhere"),
        Inconclusive
    );
    // Sweep: NaN at every horizon of the smallest lambda at the first n.
    let n0 = s.sweep.n[0];
    let last = s.sweep.lambdas.len() - 1;
    let v = sweep_verdicts(
        &s,
        sweep_runs(&s, |n, l, _, re| {
            if n == n0 && l == last {
                *re = (f64::NAN, f64::NAN)
            }
        }),
    );
    for c in PER_N {
        assert_eq!(
            verdict(&v, &format!("sweep.n{n0}.{c}")),
            Inconclusive,
            "{c}"
        );
    }
}
