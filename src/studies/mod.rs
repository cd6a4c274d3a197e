//! One file per study: data -> model -> train -> measure -> compare -> record.
//! This module holds what they share: the run context, the sweep executor
//! and the log-spaced step schedule.

pub mod xor_grokking;

use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::record::{Metrics, RunDir, Summary};
use crate::spec::LoadedSpec;

/// Everything a study needs besides its spec.
#[derive(Clone, Debug)]
pub struct RunContext {
    pub out: PathBuf,
    pub threads: usize,
    /// `--seeds N`: overrides the number of runs of every configuration.
    pub seeds: Option<usize>,
    pub quick: bool,
}

/// What a study hands back for writing: the long metrics table, the summary
/// (claims filled in) and extra CSV files its figures read.
pub struct StudyOutput {
    pub metrics: Metrics,
    pub summary: Summary,
    pub extra_files: Vec<(String, String)>,
}

/// The studies `study = "..."` can name.
pub const STUDIES: [&str; 1] = ["xor_cluster"];

/// Check the spec's study section before anything is written, and return
/// the resolved spec text.
pub fn validate(spec: &LoadedSpec) -> Result<String> {
    match spec.header.study.as_str() {
        "xor_cluster" => xor_grokking::validate(spec),
        other => Err(Error::bad(format!(
            "{}: key `study` = {other:?}: expected one of {STUDIES:?}",
            spec.path.display()
        ))),
    }
}

/// Run the study named by the spec (after `validate`).
pub fn run(spec: &LoadedSpec, ctx: &RunContext) -> Result<StudyOutput> {
    match spec.header.study.as_str() {
        "xor_cluster" => xor_grokking::run(spec, ctx),
        other => Err(Error::bad(format!("unknown study {other:?}"))),
    }
}

/// Redraw the figures of a finished run from its recorded files.
pub fn plot(dir: &Path) -> Result<()> {
    let spec_path = RunDir::new(dir).spec();
    let quick = Summary::read(dir).map(|s| s.quick).unwrap_or(false);
    let spec = crate::spec::load(&spec_path, false)?;
    match spec.header.study.as_str() {
        "xor_cluster" => xor_grokking::plot(&spec, dir, quick),
        other => Err(Error::bad(format!(
            "{}: unknown study {other:?}",
            spec_path.display()
        ))),
    }
}

/// Limit OpenBLAS's own threads (1 while runs execute in parallel).
pub fn set_blas_threads(n: usize) {
    extern "C" {
        fn openblas_set_num_threads(num_threads: std::os::raw::c_int);
    }
    // SAFETY: a plain setter in the linked OpenBLAS, safe to call at any time.
    unsafe { openblas_set_num_threads(n as std::os::raw::c_int) }
}

/// Run `count` independent jobs on `threads` workers (one BLAS thread each)
/// with a progress bar on stderr (hidden when stderr is not a terminal).
/// Results come back in job order whatever the scheduling, so output
/// never depends on the thread count.
pub fn sweep<T, F>(label: &str, count: usize, threads: usize, job: F) -> Result<Vec<T>>
where
    T: Send,
    F: Fn(usize) -> Result<T> + Sync,
{
    let bar = ProgressBar::new(count as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} runs, {elapsed} elapsed, eta {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix(label.to_string());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .map_err(|e| Error::bad(format!("--threads {threads}: {e}")))?;
    set_blas_threads(if count > 1 { 1 } else { threads.max(1) });
    let results: Vec<Result<T>> = pool.install(|| {
        (0..count)
            .into_par_iter()
            .map(|i| {
                let r = job(i);
                bar.inc(1);
                r
            })
            .collect()
    });
    bar.finish_and_clear();
    results.into_iter().collect()
}

/// Steps at which a run records its measurements: every step up to
/// `dense_until`, then geometrically spaced by `ratio`, plus `extra` and the
/// last step. Sorted, unique, all <= `steps`.
pub fn log_schedule(steps: usize, dense_until: usize, ratio: f64, extra: &[usize]) -> Vec<usize> {
    let mut out: Vec<usize> = (0..=dense_until.min(steps)).collect();
    let mut t = dense_until.max(1) as f64;
    while (t as usize) < steps {
        t *= ratio;
        out.push((t.round() as usize).min(steps));
    }
    out.extend(extra.iter().copied().filter(|&s| s <= steps));
    out.push(steps);
    out.sort_unstable();
    out.dedup();
    out
}

/// Seconds since `start`, for summary.json.
pub fn elapsed(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_is_dense_then_geometric() {
        let s = log_schedule(1000, 10, 1.5, &[333]);
        assert_eq!(&s[..11], &(0..=10).collect::<Vec<_>>()[..]);
        assert!(s.contains(&333) && s.contains(&1000));
        assert!(s.windows(2).all(|w| w[0] < w[1]));
        assert!(s.len() < 40);
    }

    #[test]
    fn sweep_keeps_job_order() {
        let v = sweep("t", 50, 2, |i| Ok(i * i)).unwrap();
        assert_eq!(v, (0..50).map(|i| i * i).collect::<Vec<_>>());
    }
}

/// `overfit run`: load and validate the spec, run the study, then write the
/// run directory (spec.toml, metrics.csv, extra CSVs, summary.json, figures),
/// every file atomically. Nothing is written before the study has finished,
/// so a failed run leaves an earlier run in the same directory intact.
pub fn execute(spec_path: &Path, ctx: &RunContext) -> Result<Summary> {
    let spec = crate::spec::load(spec_path, ctx.quick)?;
    let resolved = validate(&spec)?;
    crate::record::prepare_out_dir(&ctx.out)?;
    let output = run(&spec, ctx)?;
    let dir = RunDir::new(&ctx.out);
    crate::record::write_atomic(&dir.spec(), resolved.as_bytes())?;
    crate::record::write_atomic(&dir.metrics(), output.metrics.to_csv().as_bytes())?;
    for (name, text) in &output.extra_files {
        crate::record::write_atomic(&dir.file(name), text.as_bytes())?;
    }
    output.summary.write(&ctx.out)?;
    plot(&ctx.out)?;
    Ok(output.summary)
}
