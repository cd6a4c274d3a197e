//! Jobs shared out among a few workers one at a time: each worker takes the
//! next job left when it finishes its last, so a worker whose core runs
//! slower takes fewer, where a fixed share each had the whole pass wait on
//! the slowest (on the model-207 Xeon's 2-core VM, the slower of two
//! threads with a fixed half of the primal step's forward took 1.2-1.6x
//! the other's time in most steps, session 61,
//! `benches/results/xeon207-s61/job-queue.txt`). A job writes its own part
//! of the output and a worker's state is scratch, so which worker runs a
//! job, and so the thread count, does not change the bits. Used where the
//! jobs are long (the primal forward's blocks, tens of ms each): the dual
//! step's passes cut into 8 jobs a worker (tens of microseconds each) made
//! its two-thread step slower in 8 of 8 alternated runs, and the update
//! alone (4 jobs a worker) no faster within the noise (10 of 16; same
//! file), so they keep their fixed share each.
//!
//! Those fixed shares are cut the same way in each pass (Z's rows, at the
//! same points), and `on_own_threads` runs share i on the pool's thread i
//! when it can, so that a core reads the rows it wrote in the pass before,
//! still in its own L2. Before, which thread took which share followed the
//! order of the spawns and the steals, and the dual step's mask pass, cut
//! by columns, read half of Z from the other core's cache (session 62,
//! `benches/results/xeon207-s62/row-affinity.txt`).

use std::sync::Mutex;

/// `work(state, job)` for every job, on one rayon task a state (a worker's
/// scratch, or `()`), each taking the jobs in order from one queue; with
/// one state, all on this thread.
pub(crate) fn in_turn<S: Send, J: Send>(
    states: &mut [S],
    jobs: impl IntoIterator<Item = J>,
    work: impl Fn(&mut S, J) + Sync,
) {
    match states {
        [] => panic!("in_turn: no worker"),
        [state] => jobs.into_iter().for_each(|job| work(state, job)),
        _ => {
            let queue = Mutex::new(jobs.into_iter().collect::<Vec<J>>().into_iter());
            let next = || queue.lock().expect("in_turn: the job queue").next();
            let (next, work) = (&next, &work);
            rayon::scope(|scope| {
                for state in states.iter_mut() {
                    scope.spawn(move |_| {
                        while let Some(job) = next() {
                            work(state, job);
                        }
                    });
                }
            });
        }
    }
}

/// How `rows` rows are cut into one part a thread of the current pool, in
/// whole multiples of `multiple` rows (the last part may be shorter):
/// (parts, rows a part). The dual step's passes all cut Z's rows by it, so
/// that a thread's rows are the same in each (`on_own_threads`).
pub(crate) fn row_parts(rows: usize, multiple: usize) -> (usize, usize) {
    let blocks = rows.div_ceil(multiple);
    let parts = rayon::current_num_threads().clamp(1, blocks.max(1));
    (parts, blocks.div_ceil(parts) * multiple)
}

/// `work(i, part)` for each of `parts` (at most one a thread of the current
/// pool), and returns when all are done: the calling thread, pool thread
/// t, runs part t itself and hands the others to the pool, where on two
/// threads the other thread takes the other part when it is free. So a
/// caller that stays on one thread (a training loop) has part i run on
/// thread i pass after pass, while a busy pool (units trained side by
/// side, one a thread) costs no wait: the caller then runs the parts left
/// to it. (`rayon::broadcast`, which runs part i on thread i always, made
/// the main job, two units at once on two threads, 1.2-1.4x slower: each
/// pass waited for the other unit's thread; session 62.) With one part or
/// one thread, all on this thread. The parts are the workers' own pieces
/// of the output, so the bits do not depend on which thread runs which.
pub(crate) fn on_own_threads<P: Send>(parts: Vec<P>, work: impl Fn(usize, P) + Sync) {
    let threads = rayon::current_num_threads();
    assert!(
        parts.len() <= threads.max(1),
        "on_own_threads: a part a thread at most"
    );
    if parts.len() < 2 {
        for (i, part) in parts.into_iter().enumerate() {
            work(i, part);
        }
        return;
    }
    let work = &work;
    rayon::scope(|scope| {
        let own = rayon::current_thread_index().expect("a scope runs on the pool");
        let mut mine = None;
        for (i, part) in parts.into_iter().enumerate() {
            if i == own {
                mine = Some(part);
            } else {
                scope.spawn(move |_| work(i, part));
            }
        }
        if let Some(part) = mine {
            work(own, part);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every job runs once, whatever the pool and the number of workers,
    /// and the workers' states together see each job once.
    #[test]
    fn every_job_runs_once_on_any_pool() {
        for threads in 1..=3 {
            for workers in 1..=4 {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let mut states: Vec<Vec<usize>> = vec![Vec::new(); workers];
                let mut out = vec![0usize; 37];
                pool.install(|| {
                    let jobs = out.iter_mut().enumerate();
                    in_turn(&mut states, jobs, |seen, (i, slot)| {
                        *slot += i + 1;
                        seen.push(i);
                    });
                });
                assert_eq!(out, (1..=37).collect::<Vec<_>>(), "{threads} threads");
                let mut seen: Vec<usize> = states.concat();
                seen.sort_unstable();
                assert_eq!(seen, (0..37).collect::<Vec<_>>());
            }
        }
    }

    /// Each part runs once, whatever the pool and the number of parts, and
    /// the caller's own part (its thread's index) on the caller's thread.
    #[test]
    fn each_part_runs_once_and_the_callers_on_its_thread() {
        for threads in 1..=3 {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            for parts in 0..=threads {
                let mut out = vec![(usize::MAX, usize::MAX); parts];
                let caller = pool.install(|| {
                    on_own_threads(out.iter_mut().collect(), |i, slot| {
                        assert_eq!(*slot, (usize::MAX, usize::MAX), "part {i} twice");
                        *slot = (i, rayon::current_thread_index().unwrap());
                    });
                    rayon::current_thread_index().unwrap()
                });
                for (i, &(part, thread)) in out.iter().enumerate() {
                    assert_eq!(part, i, "{threads} threads, {parts} parts");
                    if i == caller {
                        assert_eq!(thread, caller, "{threads} threads, {parts} parts");
                    }
                }
            }
        }
    }
}
