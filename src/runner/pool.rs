//! The unit executor: a plan's units on a thread pool, each finished unit
//! saved in the unit store, results in unit order.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use super::progress::Progress;
use super::units::UnitStore;
use super::RunContext;
use crate::error::{Error, Result};
use crate::record::UnitCounts;
use crate::studies::{Plan, Results, UnitResult};

/// How running a plan's units ended.
pub(crate) enum Ran {
    /// Every unit's result, computed here or loaded from the store.
    All(Results),
    /// A shard's share (`--shard`, all units or not): `here` of `total`
    /// units are in the store; `overfit merge` completes the run.
    Part { here: usize, total: usize },
}

/// Run every unit of `plan`, sweep after sweep, on `ctx.threads` workers
/// (OpenBLAS runs on one thread in every process: `crate::blas`), with a
/// progress bar on stderr under `label`. Each finished unit is saved in
/// DIR/.units/<sweep label>/, so a killed run continues with `--resume`
/// and shards combine with `overfit merge`; `--shard I/N` runs unit i of
/// each sweep when i = I mod N. Results come back in unit order whatever
/// the scheduling, so output never depends on the thread count or the
/// shard layout.
pub(crate) fn run_units(plan: &dyn Plan, ctx: &RunContext, label: &str) -> Result<Ran> {
    let store = UnitStore::new(&ctx.out);
    let sweeps = plan.sweeps();
    let progress = Progress::new(label, &sweeps);
    let threads = ctx.threads.max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::bad(format!("--threads {threads}: {e}")))?;
    let (mut results, mut seconds, mut missing) = (Vec::new(), Vec::new(), 0);
    let mut computed_here = 0;
    for (s, sweep) in sweeps.iter().enumerate() {
        let start = Instant::now();
        // Once a unit fails (a divergence, say), no further unit starts: the
        // run ends with that error (of the units that ran and failed, the
        // lowest-numbered) without waiting for the rest of the sweep.
        let failed: Mutex<Option<(usize, Error)>> = Mutex::new(None);
        let got = costliest_first(&pool, &sweep.costs, |i| {
            if failed.lock().expect("no unit panicked").is_some() {
                return None;
            }
            match unit(plan, ctx, &store, s, &sweep.label, i) {
                Ok(r) => {
                    progress.finished(sweep.costs[i], r.1);
                    Some(r)
                }
                Err(e) => {
                    let mut first = failed.lock().expect("no unit panicked");
                    if first.as_ref().is_none_or(|(j, _)| i < *j) {
                        *first = Some((i, e));
                    }
                    None
                }
            }
        });
        if let Some((_, e)) = failed.into_inner().expect("no unit panicked") {
            return Err(e);
        }
        seconds.push(start.elapsed().as_secs_f64());
        let got: Vec<(Option<UnitResult>, bool)> = got
            .into_iter()
            .map(|r| r.expect("every unit ran when none failed"))
            .collect();
        computed_here += got.iter().filter(|(_, computed)| *computed).count();
        missing += got.iter().filter(|(u, _)| u.is_none()).count();
        results.push(got.into_iter().map(|(u, _)| u).collect::<Vec<_>>());
    }
    progress.finish();
    let total: usize = results.iter().map(Vec::len).sum();
    // A shard is a shard even when it holds every unit (a spec of one
    // unit, `--shard 0/1`): `overfit merge` finishes it with the others.
    if missing > 0 || ctx.shard.is_some() {
        return Ok(Ran::Part {
            here: total - missing,
            total,
        });
    }
    Ok(Ran::All(Results {
        sweeps: results
            .into_iter()
            .map(|got| got.into_iter().map(|u| u.expect("none missing")).collect())
            .collect(),
        seconds,
        units: UnitCounts {
            total,
            computed_here,
        },
        labels: sweeps.into_iter().map(|s| s.label).collect(),
        out: ctx.out.clone(),
        merged: ctx.require_cached,
    }))
}

/// `run(i)` for every unit i of a sweep on `pool`, the costliest first: each
/// worker takes the next unit in order of decreasing `costs` when it finishes
/// its last (longest processing time first). A sweep whose units grow
/// (widths in order) used to be split into halves by rayon and end with its
/// largest unit alone on one core: `cnn_sweep_seed003 --seeds 1` ran at 1.78
/// CPU per wall second on 2 cores. Equal costs run in unit order. A unit may
/// itself use the pool (`blas::par_gemm`): idle workers take its blocks.
/// Returns the results in unit order.
fn costliest_first<T: Send>(
    pool: &rayon::ThreadPool,
    costs: &[f64],
    run: impl Fn(usize) -> T + Sync,
) -> Vec<T> {
    let mut order: Vec<usize> = (0..costs.len()).collect();
    order.sort_by(|&a, &b| costs[b].total_cmp(&costs[a]).then(a.cmp(&b)));
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<T>>> = costs.iter().map(|_| Mutex::new(None)).collect();
    pool.scope(|scope| {
        for _ in 0..pool.current_num_threads().min(costs.len()) {
            scope.spawn(|_| {
                while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let r = run(i);
                    *slots[i].lock().expect("no unit panicked") = Some(r);
                }
            });
        }
    });
    slots
        .into_iter()
        .map(|m| {
            m.into_inner()
                .expect("no unit panicked")
                .expect("every unit ran")
        })
        .collect()
}

/// Unit `i` of sweep `s` (labelled `label`): loaded from the store under
/// `--resume` or `merge`, None when it is another shard's, else computed
/// and saved; with whether it was computed here.
fn unit(
    plan: &dyn Plan,
    ctx: &RunContext,
    store: &UnitStore,
    s: usize,
    label: &str,
    i: usize,
) -> Result<(Option<UnitResult>, bool)> {
    if ctx.resume || ctx.require_cached {
        match store.load::<toml::Value>(label, i) {
            Ok(Some(t)) => return Ok((Some(UnitResult(t)), false)),
            Ok(None) => {}
            // A unit cut short or damaged on disk is only a
            // lost result: --resume computes it again.
            Err(e) if !ctx.require_cached => {
                eprintln!("warning: {e}; computing it again");
            }
            Err(e) => return Err(e),
        }
    }
    if ctx.require_cached {
        return Err(Error::bad(format!(
            "merge: unit {i} of sweep {label:?} is in no shard ({} missing)",
            store.path(label, i).display()
        )));
    }
    if ctx.shard.is_some_and(|sh| !sh.owns(i)) {
        return Ok((None, false));
    }
    let u = plan.run_unit(s, i)?;
    store.save(label, i, &u.0)?;
    Ok((Some(u), true))
}

/// The mid-run state file of unit `index` of sweep `label` (see
/// `UnitStore::state_path`): a unit that saves its state there every few
/// epochs continues from it under `--resume`.
pub fn unit_state_path(ctx: &RunContext, label: &str, index: usize) -> PathBuf {
    UnitStore::new(&ctx.out).state_path(label, index)
}

/// The call a unit makes before it writes its mid-run state: the run's
/// unit store lists this build and machine (`UnitStore::list_this_process`),
/// so a state resumed elsewhere is known to mix them, and a run killed
/// after its first checkpoint but before its first unit is not resumed as
/// one of unknown build and machine.
pub fn list_this_process(ctx: &RunContext) -> crate::nets::cnn::BeforeSave {
    let store = UnitStore::new(&ctx.out);
    crate::nets::cnn::BeforeSave(std::sync::Arc::new(move || store.list_this_process()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::studies::{Findings, Sweep};

    #[test]
    fn units_start_costliest_first_and_return_in_unit_order() {
        let costs = [1.0, 5.0, 3.0, 5.0, 0.5, 2.0];
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let started = Mutex::new(Vec::new());
            let got = costliest_first(&pool, &costs, |i| {
                started.lock().unwrap().push(i);
                10 * i
            });
            assert_eq!(got, vec![0, 10, 20, 30, 40, 50], "{threads} threads");
            let mut started = started.into_inner().unwrap();
            if threads == 1 {
                // Ties in unit order.
                assert_eq!(started, vec![1, 3, 2, 5, 0, 4]);
            }
            started.sort_unstable();
            assert_eq!(started, vec![0, 1, 2, 3, 4, 5], "each unit once");
        }
        assert!(costliest_first(
            &rayon::ThreadPoolBuilder::new().build().unwrap(),
            &[],
            |i| i
        )
        .is_empty());
    }

    /// Two sweeps of squares and cubes (results of two types).
    struct Powers;

    impl Plan for Powers {
        fn sweeps(&self) -> Vec<Sweep> {
            vec![
                Sweep::new("sq", vec![1.0; 50]),
                Sweep::new("cube", vec![2.0; 7]),
            ]
        }
        fn run_unit(&self, sweep: usize, i: usize) -> Result<UnitResult> {
            match sweep {
                0 => UnitResult::of(Ok(i * i)),
                _ => UnitResult::of(Ok(vec![(i * i * i) as f64, f64::NAN])),
            }
        }
        fn findings(self: Box<Self>, _: Results) -> Result<Findings> {
            unreachable!("not called here")
        }
    }

    /// Units that diverge (here 3 and 7 of 40 equal-cost units) after a
    /// count of the units started.
    struct Diverging {
        started: AtomicUsize,
    }

    impl Plan for Diverging {
        fn sweeps(&self) -> Vec<Sweep> {
            vec![Sweep::new("d", vec![1.0; 40])]
        }
        fn run_unit(&self, _: usize, i: usize) -> Result<UnitResult> {
            self.started.fetch_add(1, Ordering::SeqCst);
            if i == 3 || i == 7 {
                return Err(Error::Numerical(format!("unit {i} diverged")));
            }
            UnitResult::of(Ok(i))
        }
        fn findings(self: Box<Self>, _: Results) -> Result<Findings> {
            unreachable!("not called here")
        }
    }

    /// A failed unit stops the sweep: no unit starts after it (one thread:
    /// units 0..=3 run, in unit order, the costs being equal), and the run
    /// fails with its error.
    #[test]
    fn a_failed_unit_stops_the_units_not_yet_started() {
        let dir = tempfile::tempdir().unwrap();
        let plan = Diverging {
            started: AtomicUsize::new(0),
        };
        let err = match run_units(&plan, &RunContext::new(dir.path(), 1), "t") {
            Err(e) => e,
            Ok(_) => panic!("a diverging unit fails the run"),
        };
        assert!(matches!(err, Error::Numerical(_)), "{err}");
        assert_eq!(
            err.to_string(),
            Error::Numerical("unit 3 diverged".into()).to_string()
        );
        assert_eq!(plan.started.load(Ordering::SeqCst), 4);
        // On two threads at most the unit in flight beside it also runs.
        let dir = tempfile::tempdir().unwrap();
        let plan = Diverging {
            started: AtomicUsize::new(0),
        };
        assert!(run_units(&plan, &RunContext::new(dir.path(), 2), "t").is_err());
        assert!(
            plan.started.load(Ordering::SeqCst) <= 6,
            "{}",
            plan.started.load(Ordering::SeqCst)
        );
    }

    #[test]
    fn units_come_back_in_order_and_type_and_shards_leave_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = RunContext::new(dir.path(), 2);
        let Ran::All(mut r) = run_units(&Powers, &ctx, "t").unwrap() else {
            panic!("a plain run runs every unit")
        };
        let sq: Vec<usize> = r.take(0).unwrap();
        assert_eq!(sq, (0..50).map(|i| i * i).collect::<Vec<_>>());
        let cube: Vec<Vec<f64>> = r.take(1).unwrap();
        assert_eq!(cube[3][0], 27.0);
        assert!(cube[3][1].is_nan());
        // Shard 1/3: units 1, 4, 7, ... of each sweep, in both sweeps.
        let dir = tempfile::tempdir().unwrap();
        let shard = RunContext {
            shard: Some(crate::runner::Shard { index: 1, count: 3 }),
            ..RunContext::new(dir.path(), 2)
        };
        let Ran::Part { here, total } = run_units(&Powers, &shard, "t").unwrap() else {
            panic!("a shard runs a share")
        };
        assert_eq!((here, total), (17 + 2, 57));
    }
}
