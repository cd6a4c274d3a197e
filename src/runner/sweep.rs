//! The sweep executor: independent jobs on a thread pool, each finished job
//! saved as a unit, results in job order.

use std::path::PathBuf;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::units::UnitStore;
use super::RunContext;
use crate::error::{Error, Result};

/// Progress for logs: when stderr is not a terminal (a batch job, `nohup`),
/// the bar is hidden, so a plain line is printed instead as units finish,
/// at most one every `ProgressLog::EVERY`.
struct ProgressLog {
    to_log: bool,
    last: std::sync::Mutex<Instant>,
}

impl ProgressLog {
    const EVERY: std::time::Duration = std::time::Duration::from_secs(30);

    fn new() -> Self {
        use std::io::IsTerminal;
        ProgressLog {
            to_log: !std::io::stderr().is_terminal(),
            last: std::sync::Mutex::new(Instant::now()),
        }
    }

    fn finished(&self, label: &str, bar: &ProgressBar) {
        if !self.to_log {
            return;
        }
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.elapsed() < Self::EVERY {
            return;
        }
        *last = Instant::now();
        let (done, total) = (bar.position(), bar.length().unwrap_or(0));
        let elapsed = bar.elapsed().as_secs_f64();
        let eta = elapsed / done.max(1) as f64 * total.saturating_sub(done) as f64;
        eprintln!("{label}: {done}/{total} units, {elapsed:.0} s elapsed, about {eta:.0} s to go");
    }
}

/// Run `count` independent jobs on `ctx.threads` workers (OpenBLAS runs on
/// one thread in every process: `crate::blas`) with a progress bar on stderr (hidden when stderr is not a terminal).
/// Each finished job is saved as a unit in DIR/.units/<label>/, so a killed
/// run continues with `--resume` and shards combine with `overfit merge`.
/// Results come back in job order whatever the scheduling, so output never
/// depends on the thread count or the shard layout. In shard mode, when jobs
/// of other shards are missing, returns `Error::ShardDone`.
pub fn sweep<T, F>(ctx: &RunContext, label: &str, count: usize, job: F) -> Result<Vec<T>>
where
    T: Send + Serialize + DeserializeOwned,
    F: Fn(usize) -> Result<T> + Sync,
{
    let store = UnitStore::new(&ctx.out);
    let bar = ProgressBar::new(count as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} runs, {elapsed} elapsed, eta {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix(label.to_string());
    let log = ProgressLog::new();
    let threads = ctx.threads.max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::bad(format!("--threads {threads}: {e}")))?;
    let results: Vec<Result<Option<T>>> = pool.install(|| {
        (0..count)
            .into_par_iter()
            .map(|i| {
                let r = (|| {
                    if ctx.resume || ctx.require_cached {
                        match store.load::<T>(label, i) {
                            Ok(Some(t)) => return Ok(Some(t)),
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
                    if ctx.shard.is_some_and(|s| !s.owns(i)) {
                        return Ok(None);
                    }
                    let t = job(i)?;
                    store.save(label, i, &t)?;
                    Ok(Some(t))
                })();
                bar.inc(1);
                log.finished(label, &bar);
                r
            })
            .collect()
    });
    bar.finish_and_clear();
    let results: Vec<Option<T>> = results.into_iter().collect::<Result<_>>()?;
    if results.iter().any(Option::is_none) {
        let done = results.iter().filter(|r| r.is_some()).count();
        return Err(Error::ShardDone(format!(
            "sweep {label:?}: {done} of {count} units here"
        )));
    }
    Ok(results
        .into_iter()
        .map(|r| r.expect("checked above"))
        .collect())
}

/// The mid-run state file of unit `index` of sweep `label` (see
/// `UnitStore::state_path`): a job that saves its state there every few
/// epochs continues from it under `--resume`.
pub fn unit_state_path(ctx: &RunContext, label: &str, index: usize) -> PathBuf {
    UnitStore::new(&ctx.out).state_path(label, index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_keeps_job_order() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = RunContext::new(dir.path(), 2);
        let v = sweep(&ctx, "t", 50, |i| Ok(i * i)).unwrap();
        assert_eq!(v, (0..50).map(|i| i * i).collect::<Vec<_>>());
    }
}
