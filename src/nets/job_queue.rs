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
}
