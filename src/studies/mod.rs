//! One file per study: data -> model -> train -> measure -> compare -> record.
//! This module holds what they share: the run context, the sweep executor
//! and the log-spaced step schedule.

pub mod cnn_sweep;
pub mod early_alignment;
pub mod expressivity;
pub mod label_noise;
pub mod leaky_relu_benign;
pub mod optimization_threshold;
pub mod randomization;
pub mod xor_grokking;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::record::{write_atomic, Metrics, RunDir, Summary, UnitStore};
use crate::spec::LoadedSpec;

/// Everything a study needs besides its spec.
#[derive(Clone, Debug)]
pub struct RunContext {
    pub out: PathBuf,
    pub threads: usize,
    /// `--seeds N`: overrides the number of runs of every configuration.
    /// `execute` writes it into the spec (the study's `run_keys`), so the
    /// resolved spec.toml records the runs made; studies read only the spec.
    pub seeds: Option<usize>,
    pub quick: bool,
    /// `--resume`: reuse the finished units of an interrupted run in `out`.
    pub resume: bool,
    /// `--shard I/N`: run only the jobs with index = I mod N.
    pub shard: Option<Shard>,
    /// Set by `overfit merge`: every unit must already exist.
    pub require_cached: bool,
    /// `--data DIR`: the CIFAR-10 binary folder, overriding the spec's `data.dir`.
    pub data: Option<PathBuf>,
}

impl RunContext {
    /// A plain run: all jobs, no resume, no shard.
    pub fn new(out: impl Into<PathBuf>, threads: usize) -> Self {
        RunContext {
            out: out.into(),
            threads,
            seeds: None,
            quick: false,
            resume: false,
            shard: None,
            require_cached: false,
            data: None,
        }
    }
}

/// One of N shards of every sweep.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Parse `I/N` (0 <= I < N), `slurm` (I = SLURM_ARRAY_TASK_ID, N =
    /// SLURM_ARRAY_TASK_COUNT, in an array 0..N-1) or `slurm/N` (I =
    /// SLURM_ARRAY_TASK_ID, N given: also right when some indices are
    /// resubmitted alone, `sbatch --array=2`, where SLURM's count is theirs).
    pub fn parse(text: &str) -> Result<Shard> {
        let var = |k: &str| {
            std::env::var(k).map_err(|_| Error::bad(format!("--shard {text}: environment variable {k} is not set (run inside a SLURM job array)")))
        };
        let (i, n) = if text == "slurm" {
            let (id, count) = (var("SLURM_ARRAY_TASK_ID")?, var("SLURM_ARRAY_TASK_COUNT")?);
            // Only an array 0..N-1 has N = its task count; refuse the others
            // (a resubmitted `--array=2` has count 1) rather than shard wrongly.
            let num = |k: &str| {
                std::env::var(k)
                    .ok()
                    .and_then(|v| v.trim().parse::<usize>().ok())
            };
            let (min, max, n) = (
                num("SLURM_ARRAY_TASK_MIN"),
                num("SLURM_ARRAY_TASK_MAX"),
                count.trim().parse::<usize>().ok(),
            );
            if let (Some(min), Some(max), Some(n)) = (min, max, n) {
                if min != 0 || max.checked_add(1) != Some(n) {
                    return Err(Error::bad(format!(
                        "--shard slurm: this array runs tasks {min}-{max} ({n} in all), not 0 to N-1, so N is unknown (a resubmission such as `sbatch --array=2`); use --shard slurm/N, N = the full array's size"
                    )));
                }
            }
            (id, count)
        } else if let Some(n) = text.strip_prefix("slurm/") {
            (var("SLURM_ARRAY_TASK_ID")?, n.to_string())
        } else {
            let (i, n) = text.split_once('/').ok_or_else(|| {
                Error::bad(format!(
                    "--shard {text:?}: expected I/N (e.g. 0/4), slurm or slurm/N"
                ))
            })?;
            (i.to_string(), n.to_string())
        };
        let parse = |s: &str| {
            s.trim()
                .parse::<usize>()
                .map_err(|_| Error::bad(format!("--shard {text:?}: {s:?} is not a whole number")))
        };
        let (index, count) = (parse(&i)?, parse(&n)?);
        if count == 0 || index >= count {
            return Err(Error::bad(format!(
                "--shard {text:?}: need 0 <= I < N, got I = {index}, N = {count}"
            )));
        }
        Ok(Shard { index, count })
    }

    fn owns(&self, job: usize) -> bool {
        job % self.count == self.index
    }
}

/// What a study hands back for writing: the long metrics table, the summary
/// (claims filled in) and extra CSV files its figures read.
pub struct StudyOutput {
    pub metrics: Metrics,
    pub summary: Summary,
    pub extra_files: Vec<(String, String)>,
}

/// The studies `study = "..."` can name.
pub const STUDIES: [&str; 8] = [
    "xor_cluster",
    "early_alignment",
    "label_noise",
    "leaky_relu_benign",
    "optimization_threshold",
    "expressivity",
    "cnn_sweep",
    "randomization",
];

/// The keys of each study that hold its number of runs (seeds) per
/// configuration; `--seeds N` sets every one of them (see
/// `LoadedSpec::set_run_counts` for the path syntax).
pub fn run_keys(study: &str) -> &'static [&'static str] {
    match study {
        "xor_cluster" => xor_grokking::RUN_KEYS,
        "cnn_sweep" => cnn_sweep::RUN_KEYS,
        "label_noise" => label_noise::RUN_KEYS,
        "leaky_relu_benign" => leaky_relu_benign::RUN_KEYS,
        "expressivity" => expressivity::RUN_KEYS,
        "optimization_threshold" => optimization_threshold::RUN_KEYS,
        "randomization" => randomization::RUN_KEYS,
        // early_alignment: one run per configuration; --seeds does not apply.
        _ => &[],
    }
}

/// The effective runs of a run: the value of each of its study's run keys in
/// its resolved spec. Part of a run's identity: `--resume` and `merge`
/// refuse units made for other runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Runs(BTreeMap<String, i64>);

impl Runs {
    /// The runs of spec `table` (a parsed resolved spec) of study `study`.
    pub fn of(study: &str, table: &toml::Table) -> Runs {
        Runs(
            crate::spec::integers_at(table, run_keys(study))
                .into_iter()
                .collect(),
        )
    }

    /// The runs of a resolved spec's text (empty when it does not parse).
    pub fn of_text(study: &str, text: &str) -> Runs {
        text.parse::<toml::Table>()
            .map(|t| Runs::of(study, &t))
            .unwrap_or_default()
    }
}

impl std::fmt::Display for Runs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut values = self.0.values();
        match values.next() {
            None => write!(f, "one run per configuration"),
            Some(first) if values.all(|v| v == first) => write!(f, "runs = {first}"),
            Some(_) => {
                let parts: Vec<String> = self.0.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                write!(f, "{}", parts.join(", "))
            }
        }
    }
}

/// Refuse a list with an entry equal to an earlier one: its entries name
/// runs (they are part of run ids in metrics.csv), so two equal ones would
/// give two runs one id. `key` names entry i with `{}` standing for i, e.g.
/// `panels[{}].id`; the error names the later entry's key and the value.
pub fn check_unique<T: PartialEq + std::fmt::Debug>(
    spec: &LoadedSpec,
    key: &str,
    items: &[T],
) -> Result<()> {
    let at = |i: usize| key.replace("{}", &i.to_string());
    for (i, item) in items.iter().enumerate() {
        if let Some(j) = items[..i].iter().position(|o| o == item) {
            return Err(spec.bad_value(
                &at(i),
                format!(
                    "{item:?} is listed twice (also {}): run ids in metrics.csv would collide",
                    at(j)
                ),
            ));
        }
    }
    Ok(())
}

/// Check the spec's study section before anything is written, and return
/// the resolved spec text.
pub fn validate(spec: &LoadedSpec) -> Result<String> {
    match spec.header.study.as_str() {
        "xor_cluster" => xor_grokking::validate(spec),
        "cnn_sweep" => cnn_sweep::validate(spec),
        "label_noise" => label_noise::validate(spec),
        "leaky_relu_benign" => leaky_relu_benign::validate(spec),
        "early_alignment" => early_alignment::validate(spec),
        "expressivity" => expressivity::validate(spec),
        "optimization_threshold" => optimization_threshold::validate(spec),
        "randomization" => randomization::validate(spec),
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
        "cnn_sweep" => cnn_sweep::run(spec, ctx),
        "label_noise" => label_noise::run(spec, ctx),
        "leaky_relu_benign" => leaky_relu_benign::run(spec, ctx),
        "early_alignment" => early_alignment::run(spec, ctx),
        "expressivity" => expressivity::run(spec, ctx),
        "optimization_threshold" => optimization_threshold::run(spec, ctx),
        "randomization" => randomization::run(spec, ctx),
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
        "cnn_sweep" => cnn_sweep::plot(&spec, dir, quick),
        "label_noise" => label_noise::plot(&spec, dir, quick),
        "leaky_relu_benign" => leaky_relu_benign::plot(&spec, dir, quick),
        "early_alignment" => early_alignment::plot(&spec, dir, quick),
        "expressivity" => expressivity::plot(&spec, dir, quick),
        "optimization_threshold" => optimization_threshold::plot(&spec, dir, quick),
        "randomization" => randomization::plot(&spec, dir, quick),
        other => Err(Error::bad(format!(
            "{}: unknown study {other:?}",
            spec_path.display()
        ))),
    }
}

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
                        if let Some(t) = store.load::<T>(label, i)? {
                            return Ok(Some(t));
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

/// The results of the jobs `(first, second, seed)` whose first two indices
/// are `(a, b)`, in job (seed) order: one cell of a two-factor sweep.
pub fn cell_runs<'a, T>(
    jobs: &[(usize, usize, usize)],
    results: &'a [T],
    a: usize,
    b: usize,
) -> Vec<&'a T> {
    jobs.iter()
        .zip(results)
        .filter(|((ja, jb, _), _)| *ja == a && *jb == b)
        .map(|(_, r)| r)
        .collect()
}

/// The mid-run state file of unit `index` of sweep `label` (see
/// `UnitStore::state_path`): a job that saves its state there every few
/// epochs continues from it under `--resume`.
pub fn unit_state_path(ctx: &RunContext, label: &str, index: usize) -> PathBuf {
    UnitStore::new(&ctx.out).state_path(label, index)
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

/// The summary.json of a finished study: header fields from the spec, timing
/// and thread count from the run, and the study's claims and details.
pub fn summary(
    loaded: &LoadedSpec,
    ctx: &RunContext,
    start: Instant,
    claims: Vec<crate::record::Claim>,
    details: serde_json::Value,
) -> Summary {
    Summary {
        name: loaded.header.name.clone(),
        study: loaded.header.study.clone(),
        seed: loaded.header.seed,
        version: env!("CARGO_PKG_VERSION").to_string(),
        elapsed_s: elapsed(start),
        threads: ctx.threads,
        quick: ctx.quick,
        machine: crate::blas::Machine::current(),
        provenance: Some(crate::record::Provenance::now(elapsed(start))),
        claims,
        details,
    }
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

    /// `--seeds` reaches every run count of every shipped spec: the study's
    /// run keys exist in its spec (the study still validates), and the
    /// resolved spec records the new count at each of them.
    #[test]
    fn seeds_set_every_run_count_of_every_spec() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            for quick in [false, true] {
                let mut spec = crate::spec::load(&path, quick).unwrap();
                let study = spec.header.study.clone();
                let before = Runs::of_text(&study, &validate(&spec).unwrap());
                spec.set_run_counts(run_keys(&study), 7);
                let resolved = validate(&spec).unwrap();
                let after = Runs::of_text(&study, &resolved);
                let what = format!("{} (quick {quick}): {before} -> {after}", path.display());
                assert_eq!(before.0.len(), after.0.len(), "{what}");
                assert!(after.0.values().all(|&v| v == 7), "{what}");
                assert_eq!(after.0.is_empty(), study == "early_alignment", "{what}");
                assert!(resolved.starts_with("# resolved spec ("), "{what}");
            }
        }
    }

    /// 2000 runs of several panels (settings, cells) draw from pairwise
    /// distinct streams in every study that numbers its streams (the plain
    /// `1000 k + r` gave run 1000 of panel 0 the stream of run 0 of panel 1),
    /// while keys below the old bounds keep their old numbers.
    #[test]
    fn two_thousand_runs_of_several_panels_get_distinct_streams() {
        use crate::rng::Numbering;
        use rand::RngExt;
        use std::collections::HashMap;
        let runs = 2000;
        // (purpose the families share, families, the key of panel p, run r)
        type Key = fn(usize, usize) -> Vec<usize>;
        let families: &[(&str, &[(Numbering, Key)])] = &[
            (
                "data",
                &[
                    (xor_grokking::PANEL_STREAMS, |p, r| vec![p, r]),
                    (xor_grokking::MAP_STREAMS, |_, r| vec![r]),
                ],
            ),
            (
                "label-noise",
                &[(cnn_sweep::NOISE_STREAMS, |p, r| vec![p, r])],
            ),
            (
                "init",
                &[(cnn_sweep::JOB_STREAMS, |p, r| vec![p % 2, p / 2, r])],
            ),
            (
                "data",
                &[(optimization_threshold::STREAMS, |p, r| {
                    vec![p % 2, p / 2, r]
                })],
            ),
            (
                "data",
                &[(leaky_relu_benign::STREAMS, |p, r| vec![1 + p % 3, p / 3, r])],
            ),
            (
                "data",
                &[
                    (label_noise::GRID_STREAMS, |p, r| vec![p, p % 2, r]),
                    (label_noise::GD_STREAMS, |p, r| vec![p, p % 2, r]),
                ],
            ),
        ];
        for (purpose, fams) in families {
            let mut seen: HashMap<u64, String> = HashMap::new();
            for (numbering, key) in fams.iter() {
                for p in 0..4 {
                    for r in 0..runs {
                        let index = numbering.index(&key(p, r));
                        let first: u64 = crate::rng::stream(2024, index, purpose).random();
                        let what = format!("{} {:?}", numbering.family, key(p, r));
                        // (the map's run r is one key in all its cells)
                        if let Some(other) = seen.insert(first, what.clone()).filter(|o| *o != what)
                        {
                            panic!("{what} draws the stream of {other}");
                        }
                    }
                }
            }
        }
        // Below the old bounds the numbers are the old ones (same streams as before).
        assert_eq!(xor_grokking::PANEL_STREAMS.index(&[1, 999]), 1999);
        assert_eq!(xor_grokking::MAP_STREAMS.index(&[3]), 1_000_003);
        assert_eq!(cnn_sweep::JOB_STREAMS.index(&[2, 16, 2]), 2_016_002);
        assert_eq!(leaky_relu_benign::STREAMS.index(&[3, 5, 7]), 3_000_005_007);
        assert_eq!(label_noise::GRID_STREAMS.index(&[10, 2, 19]), 642_000_019);
        assert_eq!(label_noise::GD_STREAMS.index(&[2, 1, 7]), 1_029_000_007);
    }

    #[test]
    fn runs_name_their_values() {
        let table = |t: &str| t.parse::<toml::Table>().unwrap();
        let same = Runs::of(
            "xor_cluster",
            &table("[[panels]]\nruns = 2\n[[panels]]\nruns = 2"),
        );
        assert_eq!(same.to_string(), "runs = 2");
        let mixed = Runs::of(
            "xor_cluster",
            &table("[[panels]]\nruns = 6\n[[panels]]\nruns = 4"),
        );
        assert_eq!(mixed.to_string(), "panels[0].runs = 6, panels[1].runs = 4");
        assert_eq!(Runs::default().to_string(), "one run per configuration");
    }

    #[test]
    fn sweep_keeps_job_order() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = RunContext::new(dir.path(), 2);
        let v = sweep(&ctx, "t", 50, |i| Ok(i * i)).unwrap();
        assert_eq!(v, (0..50).map(|i| i * i).collect::<Vec<_>>());
    }
}

/// How `execute` ended.
pub enum Outcome {
    /// All jobs ran (or were resumed/merged): the run directory is complete.
    Finished(Box<Summary>),
    /// `--shard`: this shard's units are written; `overfit merge` completes the run.
    ShardWritten(String),
}

/// The manifest a shard leaves for `overfit merge`.
#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct ShardManifest {
    version: String,
    shard: Shard,
    /// Whether the shard ran with --quick (its resolved spec already has [quick] applied).
    quick: bool,
    /// The `--seeds` it ran with (already applied to its resolved spec).
    seeds: Option<usize>,
    /// Its effective runs: every shard of one run has the same.
    runs: Runs,
}

/// `--resume` continues only a run of the same effective runs: the
/// directory's are those of its unit store's spec, or else of its finished
/// spec.toml (a run of another spec name or study is left to `UnitStore::open`).
fn check_resume_runs(spec: &LoadedSpec, runs: &Runs, out: &Path) -> Result<()> {
    let candidates = [
        UnitStore::new(out).root().join("spec.toml"),
        RunDir::new(out).spec(),
    ];
    let Some((path, text)) = candidates
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok().map(|t| (p, t)))
    else {
        return Ok(());
    };
    let Ok(table) = text.parse::<toml::Table>() else {
        return Ok(());
    };
    let same_run = |key: &str, value: &str| table.get(key).and_then(|v| v.as_str()) == Some(value);
    if !same_run("name", &spec.header.name) || !same_run("study", &spec.header.study) {
        return Ok(());
    }
    let had = Runs::of(&spec.header.study, &table);
    if had != *runs {
        let asked = match spec.seeds {
            Some(n) => format!(" (--seeds {n})"),
            None => " (the spec's, no --seeds)".to_string(),
        };
        return Err(Error::bad(format!(
            "--resume: {} was made with {had}, this run asks for {runs}{asked}; resume with the --seeds of that run, or run without --resume to start over",
            path.display()
        )));
    }
    Ok(())
}

/// `overfit run`: load and validate the spec, run the study, then write the
/// run directory (spec.toml, metrics.csv, extra CSVs, summary.json, figures),
/// every file atomically. The finished files are written only after the
/// study has finished, so a failed run leaves an earlier run in the same
/// directory intact; its finished units stay in DIR/.units for `--resume`.
pub fn execute(spec_path: &Path, ctx: &RunContext) -> Result<Outcome> {
    // DIR/spec.toml is the resolved spec: never write it over the input.
    let target = RunDir::new(&ctx.out).spec();
    if crate::record::canonical(&target) == crate::record::canonical(spec_path) {
        return Err(Error::bad(format!(
            "{}: --out {} would overwrite this input spec with the resolved one; choose another --out",
            spec_path.display(),
            ctx.out.display()
        )));
    }
    // A merge replays the shards' resolved spec, where [quick] is already applied.
    let mut spec = crate::spec::load(spec_path, ctx.quick && !ctx.require_cached)?;
    let keys = run_keys(&spec.header.study);
    if let (Some(n), false) = (ctx.seeds, keys.is_empty()) {
        spec.set_run_counts(keys, n);
    }
    let resolved = validate(&spec)?;
    let runs = Runs::of_text(&spec.header.study, &resolved);
    if ctx.resume {
        check_resume_runs(&spec, &runs, &ctx.out)?;
    }
    let _lock = crate::record::prepare_out_dir(&ctx.out)?;
    let store = UnitStore::new(&ctx.out);
    store.open(&resolved, ctx.resume || ctx.require_cached)?;
    let dir = RunDir::new(&ctx.out);
    let output = match run(&spec, ctx) {
        Err(Error::ShardDone(msg)) => {
            let shard = ctx.shard.expect("only shards stop early");
            let manifest = ShardManifest {
                version: env!("CARGO_PKG_VERSION").to_string(),
                shard,
                quick: ctx.quick,
                seeds: ctx.seeds,
                runs,
            };
            write_atomic(
                &store.root().join("shard.json"),
                serde_json::to_string_pretty(&manifest)
                    .expect("manifest")
                    .as_bytes(),
            )?;
            return Ok(Outcome::ShardWritten(format!(
                "shard {}/{} of {}: {msg}; combine the shards with `overfit merge`",
                shard.index, shard.count, spec.header.name
            )));
        }
        other => other?,
    };
    write_atomic(&dir.spec(), resolved.as_bytes())?;
    write_atomic(&dir.metrics(), output.metrics.to_csv().as_bytes())?;
    for (name, text) in &output.extra_files {
        write_atomic(&dir.file(name), text.as_bytes())?;
    }
    output.summary.write(&ctx.out)?;
    plot(&ctx.out)?;
    store.close();
    Ok(Outcome::Finished(Box::new(output.summary)))
}

/// `overfit merge`: check that the shard directories belong to one spec and
/// version and cover every shard exactly once, gather their units into
/// `ctx.out`, and finish the run there (claims, figures) from the units alone.
pub fn merge(shard_dirs: &[PathBuf], ctx: &RunContext) -> Result<Summary> {
    if shard_dirs.is_empty() {
        return Err(Error::bad("merge: name the shard directories to merge"));
    }
    // The output's unit store is cleared before the shards' units are copied
    // in: an output at or inside a shard would destroy that shard.
    let out = crate::record::canonical(&ctx.out);
    for d in shard_dirs {
        let shard = crate::record::canonical(d);
        if out.starts_with(&shard) {
            let relation = if out == shard { "is" } else { "is inside" };
            return Err(Error::bad(format!(
                "merge: --out {} {relation} the shard directory {}; merge into a new directory",
                ctx.out.display(),
                d.display()
            )));
        }
    }
    let mut spec_text: Option<(PathBuf, String)> = None;
    let mut seen: Vec<Option<PathBuf>> = Vec::new();
    let mut quick = false;
    let mut seeds = None;
    let mut first_runs: Option<(PathBuf, Option<String>, Runs)> = None;
    let spec_name = |text: &str| {
        text.parse::<toml::Table>()
            .ok()
            .and_then(|t| t.get("name")?.as_str().map(str::to_string))
    };
    for d in shard_dirs {
        let store = UnitStore::new(d);
        let manifest_path = store.root().join("shard.json");
        let text = std::fs::read_to_string(&manifest_path).map_err(|_| {
            Error::bad(format!(
                "merge: {} is not a shard directory (no {})",
                d.display(),
                manifest_path.display()
            ))
        })?;
        let manifest: ShardManifest = serde_json::from_str(&text)
            .map_err(|e| Error::bad(format!("{}: {e}", manifest_path.display())))?;
        let spec_path = store.root().join("spec.toml");
        let spec = std::fs::read_to_string(&spec_path)
            .map_err(|e| Error::bad(format!("{}: {e}", spec_path.display())))?;
        if manifest.version != env!("CARGO_PKG_VERSION") {
            return Err(Error::bad(format!(
                "merge: {} was written by overfit {}, this is {}",
                d.display(),
                manifest.version,
                env!("CARGO_PKG_VERSION")
            )));
        }
        // Shards of one spec name with other runs ran with other --seeds.
        let name = spec_name(&spec);
        match &first_runs {
            Some((first, first_name, runs)) if *runs != manifest.runs && *first_name == name => {
                return Err(Error::bad(format!(
                    "merge: {} has {runs} but {} has {} (shards of one run share --seeds)",
                    first.display(),
                    manifest_path.display(),
                    manifest.runs
                )));
            }
            Some(_) => {}
            None => first_runs = Some((manifest_path.clone(), name, manifest.runs.clone())),
        }
        let ident = |t: &str| {
            t.lines()
                .filter(|l| !l.starts_with('#'))
                .collect::<Vec<_>>()
                .join("\n")
        };
        match &spec_text {
            Some((first, t)) if ident(t) != ident(&spec) => {
                return Err(Error::bad(format!(
                    "merge: {} and {} ran different specs",
                    first.display(),
                    d.display()
                )));
            }
            Some(_) => {}
            None => spec_text = Some((d.clone(), spec)),
        }
        if seen.is_empty() {
            seen = vec![None; manifest.shard.count];
        }
        if manifest.shard.count != seen.len() {
            return Err(Error::bad(format!(
                "merge: {} is shard {}/{} but the first shard says N = {}",
                d.display(),
                manifest.shard.index,
                manifest.shard.count,
                seen.len()
            )));
        }
        if let Some(prev) = &seen[manifest.shard.index] {
            return Err(Error::bad(format!(
                "merge: shard {} appears twice ({} and {})",
                manifest.shard.index,
                prev.display(),
                d.display()
            )));
        }
        seen[manifest.shard.index] = Some(d.clone());
        quick = manifest.quick;
        seeds = manifest.seeds;
    }
    if let Some(missing) = seen.iter().position(Option::is_none) {
        return Err(Error::bad(format!(
            "merge: shard {missing}/{} is missing",
            seen.len()
        )));
    }
    let (_, resolved) = spec_text.expect("at least one shard");
    let _lock = crate::record::prepare_out_dir(&ctx.out)?;
    let store = UnitStore::new(&ctx.out);
    store.open(&resolved, false)?;
    for d in shard_dirs {
        store.absorb(&UnitStore::new(d))?;
    }
    let merged_spec = store.root().join("merged-spec.toml");
    write_atomic(&merged_spec, resolved.as_bytes())?;
    let ctx = RunContext {
        require_cached: true,
        shard: None,
        resume: false,
        quick,
        seeds,
        ..ctx.clone()
    };
    match execute(&merged_spec, &ctx)? {
        Outcome::Finished(summary) => Ok(*summary),
        Outcome::ShardWritten(msg) => Err(Error::bad(format!("merge: incomplete ({msg})"))),
    }
}
