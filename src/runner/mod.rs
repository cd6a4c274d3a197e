//! The runner: everything between a spec and a finished run directory that
//! does not depend on which study runs. It loads and validates the spec
//! through the study registry (`crate::studies`), runs the study's units
//! on a thread pool with a unit store (`pool`, `units`), so a killed run
//! resumes and shards merge, and writes the run directory (resolved spec,
//! metrics.csv, extra CSVs, summary.json with provenance, figures), every
//! file atomically.

mod merge;
mod out_dir;
mod pool;
mod progress;
mod shard;
mod units;

pub use merge::merge;
use out_dir::refuse_foreign_out;
pub use pool::{list_this_process, unit_state_path};
pub use shard::{Runs, Shard};
use units::binary_id;
pub use units::{note_device, Opening, UnitStore, UNKNOWN_MACHINE};

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fsio::{write_atomic, Staging};
use crate::record::{RunDir, Summary};
use crate::spec::LoadedSpec;
use crate::studies;

/// Everything a study needs besides its spec.
#[derive(Clone, Debug)]
pub struct RunContext {
    pub out: PathBuf,
    pub threads: usize,
    /// `--seeds N`: overrides the number of runs of every configuration.
    /// `execute` writes it into the spec (the study's `run_keys`), so the
    /// resolved spec.toml records the runs made; studies read only the spec.
    pub seeds: Option<usize>,
    /// `--seed S`: the master seed instead of the spec's, for a replicate
    /// with fresh draws. `execute` writes it into the spec's header, so the
    /// resolved spec.toml records it (and `--resume` and `merge` refuse
    /// units of another seed, as of any other spec).
    pub seed: Option<u64>,
    pub quick: bool,
    /// `--resume`: reuse the finished units of an interrupted run in `out`.
    pub resume: bool,
    /// `--shard I/N`: run only the jobs with index = I mod N.
    pub shard: Option<Shard>,
    /// Set by `overfit merge`: every unit must already exist.
    pub require_cached: bool,
    /// `--data DIR`: the CIFAR-10 binary folder, overriding the spec's `data.dir`.
    pub data: Option<PathBuf>,
    /// `--max-memory`: the most bytes the run's estimate may need (default:
    /// the memory available now; `crate::memory`).
    pub max_memory: Option<u64>,
}

impl RunContext {
    /// A plain run: all jobs, no resume, no shard.
    pub fn new(out: impl Into<PathBuf>, threads: usize) -> Self {
        RunContext {
            out: out.into(),
            threads,
            seeds: None,
            seed: None,
            quick: false,
            resume: false,
            shard: None,
            require_cached: false,
            data: None,
            max_memory: None,
        }
    }

    /// Where a study writes files during the run that belong to its result
    /// (checkpoints): DIR/.units/outputs/, part of the run's unit store (so
    /// a fresh run starts it empty and `--resume` keeps it). Its files are
    /// linked into the result directory with the rest of the result when
    /// the run finishes (`link_tree`), so an earlier result in DIR keeps its
    /// own until then, and the store keeps them until the result is in.
    pub fn outputs_dir(&self) -> PathBuf {
        UnitStore::new(&self.out).outputs_dir()
    }
}

/// `overfit plot`: redraw the figures of the finished run in `dir` under
/// the run directory's lock (as `rejudge`), so that no run replaces it and
/// no other redraw writes its figures meanwhile.
pub fn plot(dir: &Path) -> Result<()> {
    let _lock = lock_finished_run(dir)?;
    // Under the lock, no other process's temporary figure files are here.
    crate::fsio::remove_stale_temps(&RunDir::new(dir).figures());
    let before = out_dir::file_identities(dir);
    figures(dir)?;
    // The files this redraw wrote (each written whole under a new name and
    // renamed into place, so a new inode) join summary.json's list of the
    // run's files (`out_dir`), so that a later run may replace them.
    let Ok(mut summary) = Summary::read(dir) else {
        return Ok(());
    };
    if let Some(files) = summary.files.as_mut() {
        let added: Vec<String> = out_dir::file_identities(dir)
            .into_iter()
            .filter(|f| !before.contains(f) && !files.contains(&f.0))
            .map(|f| f.0)
            .collect();
        if !added.is_empty() {
            files.extend(added);
            files.sort();
            summary.write(dir)?;
        }
    }
    Ok(())
}

/// The lock of the finished run in `dir`, taken by the commands that
/// rewrite part of it (`plot`, `rejudge`), so that no run replaces it and
/// no other such command writes meanwhile; exit 2 when `dir` is not a
/// directory.
fn lock_finished_run(dir: &Path) -> Result<crate::fsio::OutLock> {
    if !dir.is_dir() {
        return Err(Error::bad(format!(
            "{}: not a run directory (it does not exist or is not a directory)",
            dir.display()
        )));
    }
    crate::fsio::lock_out_dir(dir, crate::fsio::Taker::Rewrite)
}

/// Redraw the figures of a finished run from its recorded files. Its
/// spec.toml is checked first as `run` and `rejudge` check it (the study's
/// `validate`): the figure code relies on validated values, so a hand-edited
/// spec exits 2 naming the key instead of panicking (since 2026-12-06,
/// review finding).
pub fn figures(dir: &Path) -> Result<()> {
    let spec = crate::spec::load(&RunDir::new(dir).spec(), false)?;
    let study = studies::find(&spec)?;
    study.validate(&spec)?;
    study.figures(&spec, dir)
}

/// Recompute the claims of the finished run in `dir` from its recorded
/// outputs by this binary's rules (the study's `Study::rejudge`; nothing is
/// retrained), and rewrite its summary.json (atomically) with them, the
/// details computed with them and a `Rejudge` entry, which records the
/// hash of the spec.toml it read and whether it differs from the run's;
/// returns that entry.
/// Exit 2 when the study cannot, or when `overfit run` would refuse the
/// spec (the study's `validate`, with the same message).
pub fn rejudge(dir: &Path) -> Result<crate::record::Rejudge> {
    let _lock = lock_finished_run(dir)?;
    let mut summary = Summary::read(dir)?;
    let spec_path = RunDir::new(dir).spec();
    let text = crate::fsio::read_regular_text(&spec_path, "a TOML spec file")?;
    let spec = crate::spec::parse(&spec_path, &text, false)?;
    let study = studies::find(&spec)?;
    // The rules judge only a spec that `run` would take.
    study.validate(&spec)?;
    let judgement = study.rejudge(&spec, dir)?;
    let mut entry = crate::record::Rejudge::now(&summary.claims, &judgement.claims);
    entry.compare_spec(summary.spec_hash.as_deref(), text.as_bytes());
    summary.claims = judgement.claims;
    if !judgement.details.is_empty() {
        if !summary.details.is_object() {
            summary.details = serde_json::Value::Object(Default::default());
        }
        let details = summary.details.as_object_mut().expect("an object");
        details.extend(judgement.details);
    }
    summary.rejudged.push(entry.clone());
    summary.write(dir)?;
    Ok(entry)
}

/// The summary.json of a finished study: header fields from the spec, timing
/// and thread count from the run, and the study's claims and details.
fn summary(
    loaded: &LoadedSpec,
    ctx: &RunContext,
    start: Instant,
    units: crate::record::UnitCounts,
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
        provenance: Some(crate::record::Provenance::now(elapsed(start), units)),
        spec_hash: None,
        claims,
        details,
        files: None,
        rejudged: Vec::new(),
        extra: Default::default(),
    }
}

/// Seconds since `start`, for summary.json.
pub fn elapsed(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}

/// How `execute` ended.
pub enum Outcome {
    /// All jobs ran (or were resumed/merged): the run directory is complete.
    Finished(Box<Summary>),
    /// `--shard`: this shard's units are written; `overfit merge` completes the run.
    ShardWritten(String),
}

/// The file, in the unit store, of the manifest a shard leaves for `overfit merge`.
const SHARD_MANIFEST: &str = "shard.json";

/// The manifest a shard leaves for `overfit merge`.
#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct ShardManifest {
    version: String,
    shard: Shard,
    /// Whether the shard ran with --quick (its resolved spec already has [quick] applied).
    quick: bool,
    /// The `--seeds` it ran with (already applied to its resolved spec).
    seeds: Option<usize>,
    /// The `--seed` it ran with (already in its resolved spec's header;
    /// absent in manifests written before the flag existed).
    #[serde(default)]
    seed: Option<u64>,
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
        // An interrupted run's units stay until deleted (`execute` refuses
        // a fresh run over them); a finished run is simply replaced.
        let store = UnitStore::new(out);
        let start_over = if path.starts_with(store.root()) {
            format!("delete {} to start over", store.root().display())
        } else {
            "run without --resume to start over".to_string()
        };
        return Err(Error::bad(format!(
            "--resume: {} was made with {had}, this run asks for {runs}{asked}; resume with the --seeds of that run, or {start_over}",
            path.display()
        )));
    }
    Ok(())
}

/// A run checks the spec in the form it does not run as well (the study's
/// `validate`), so that a typo or a bad value is found by whichever run
/// comes first: a --quick run reads the spec without its `[quick]`
/// overrides, as a full run will (a bad value that `[quick]` replaces would
/// otherwise pass every smoke test and fail the long run), and a full run
/// reads the overrides as a --quick run would take them. An error names a
/// key the overrides set as `quick.<key>` (`LoadedSpec::key_name`), or else
/// says which form was read.
fn check_other_form(spec: &LoadedSpec, study: &dyn studies::Study) -> Result<()> {
    if spec.quick {
        let full = crate::spec::load(&spec.path, false);
        return match full.and_then(|full| study.validate(&full)) {
            Err(Error::BadInput(msg)) => Err(Error::bad(format!(
                "{msg} (in the spec without its [quick] overrides, as a run without --quick reads it)"
            ))),
            other => other.map(|_| ()),
        };
    }
    let Some(quick) = spec.with_quick() else {
        return Ok(());
    };
    let checked = quick.and_then(|quick| study.validate(&quick));
    match checked {
        Err(Error::BadInput(msg)) if !msg.contains("`quick.") => Err(Error::bad(format!(
            "{msg} (with the spec's [quick] overrides applied, as --quick runs it)"
        ))),
        other => other.map(|_| ()),
    }
}

/// Refuse a run whose estimated peak memory is above the limit, before
/// anything is allocated (`crate::memory`), naming the key that drives the
/// estimate and `--seeds` when it set that key. A merge trains nothing and
/// is not checked.
fn check_memory(spec: &LoadedSpec, study: &dyn studies::Study, ctx: &RunContext) -> Result<()> {
    let peak = study.peak_memory(spec, ctx.threads)?;
    crate::memory::check(&peak, crate::memory::limit(ctx.max_memory), |key, msg| {
        let seeds = match ctx.seeds {
            Some(n) if study.run_keys().contains(&key) => format!(" (--seeds {n})"),
            _ => String::new(),
        };
        spec.bad_value(&format!("{key}{seeds}"), msg)
    })
}

/// `overfit run`: load and validate the spec, plan the study's run, run
/// its units (`pool::run_units`; a shard stops here, writing its manifest),
/// turn their results into findings, then write the run directory (spec.toml, metrics.csv, extra CSVs, summary.json, figures)
/// as one transaction (`fsio::Staging`): built in a sibling directory and
/// swapped in whole once every file is written. A run that fails or is
/// killed leaves an earlier run in the same directory intact, and its
/// finished units stay in DIR/.units for `--resume`.
pub fn execute(spec_path: &Path, ctx: &RunContext) -> Result<Outcome> {
    // DIR/spec.toml is the resolved spec: never write it over the input.
    let target = RunDir::new(&ctx.out).spec();
    if crate::fsio::canonical(&target) == crate::fsio::canonical(spec_path) {
        return Err(Error::bad(format!(
            "{}: --out {} would overwrite this input spec with the resolved one; choose another --out",
            spec_path.display(),
            ctx.out.display()
        )));
    }
    refuse_foreign_out(&ctx.out)?;
    // A merge replays the shards' resolved spec, where [quick] is already applied.
    let mut spec = crate::spec::load(spec_path, ctx.quick && !ctx.require_cached)?;
    if let Some(seed) = ctx.seed {
        spec.set_seed(seed);
    }
    let study = studies::find(&spec)?;
    let keys = study.run_keys();
    match (ctx.seeds, keys.is_empty()) {
        (Some(n), false) => spec.set_run_counts(keys, n),
        // Said, not silent (it was only in summary.json's details): the
        // run is the same with or without the option.
        (Some(n), true) if !ctx.require_cached => eprintln!(
            "warning: --seeds {n}: study {} runs one run per configuration and has no run count to set; ignored",
            spec.header.study
        ),
        _ => {}
    }
    // The spec without its overrides is the base a --quick run changes, so
    // it is checked first (an unknown table there is named as such, not as
    // a table that [quick] left incomplete); a full run checks its own form
    // first, then the overrides.
    if ctx.quick && !ctx.require_cached {
        check_other_form(&spec, study)?;
    }
    let mut resolved = study.validate(&spec)?;
    if !ctx.quick && !ctx.require_cached {
        check_other_form(&spec, study)?;
    }
    if let Some(dir) = &ctx.data {
        let reads_a_folder = resolved
            .parse::<toml::Table>()
            .ok()
            .and_then(|t| t.get("data")?.get("dir").cloned())
            .is_some();
        if !reads_a_folder {
            return Err(Error::bad(format!(
                "--data {}: it sets a spec's `data.dir`, which study `{}` ({}) does not have: it reads no data folder, so run it without --data",
                dir.display(),
                spec.header.study,
                spec_path.display()
            )));
        }
        spec.set_data_dir(dir)?;
        resolved = study.validate(&spec)?;
    }
    if ctx.require_cached {
        resolved = with_header_of(spec_path, &resolved)?;
    }
    let runs = Runs::of_text(&spec.header.study, &resolved);
    if !ctx.require_cached {
        check_memory(&spec, study, ctx)?;
    }
    if ctx.resume {
        check_resume_runs(&spec, &runs, &ctx.out)?;
    }
    let out_dir = crate::fsio::prepare_out_dir(&ctx.out)?;
    // Under the lock: a run in progress is named by the lock, not by its units.
    let store = UnitStore::new(&ctx.out);
    if !ctx.resume && !ctx.require_cached {
        refuse_kept_work(&store, "--out", &resume_hint(&store))?;
    }
    let start = Instant::now();
    // The plan (which loads the data, and can fail) comes before the store
    // is opened, which starts a fresh run by clearing it.
    let plan = study.plan(&spec, ctx).and_then(|plan| {
        let labels: Vec<String> = plan.sweeps().into_iter().map(|s| s.label).collect();
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        units::check_labels(&labels, &spec.header.name, |msg| {
            spec.bad_value("name", msg)
        })?;
        Ok(plan)
    });
    let plan = match plan {
        Ok(plan) => plan,
        Err(e) => {
            out_dir.abandon(); // a failed start leaves nothing behind
            return Err(e);
        }
    };
    let data = open_store(&store, &resolved, plan.as_ref(), ctx)?;
    let ran = pool::run_units(plan.as_ref(), ctx, &spec.header.name);
    let results = match ran.map_err(|e| with_kept_units(e, &store))? {
        pool::Ran::All(results) => results,
        pool::Ran::Part { here, total } => {
            let shard = ctx.shard.expect("only shards leave units out");
            let manifest = ShardManifest {
                version: env!("CARGO_PKG_VERSION").to_string(),
                shard,
                quick: ctx.quick,
                seeds: ctx.seeds,
                seed: ctx.seed,
                runs,
            };
            write_atomic(
                &store.root().join(SHARD_MANIFEST),
                serde_json::to_string_pretty(&manifest)
                    .expect("manifest")
                    .as_bytes(),
            )?;
            return Ok(Outcome::ShardWritten(format!(
                "shard {}/{} of {}: {here} of {total} units here; combine the shards with `overfit merge`",
                shard.index, shard.count, spec.header.name
            )));
        }
    };
    let units = results.units;
    let output = plan.findings(results)?;
    let mut summary = summary(&spec, ctx, start, units, output.claims, output.details);
    if let Some(p) = summary.provenance.as_mut() {
        if !store.other_builds().is_empty() {
            p.unit_binaries = Some(store.binaries());
        }
        if !store.other_machines().is_empty() {
            p.unit_machines = Some(store.machines());
        }
        p.data = data;
    }
    // The new result is built whole beside DIR and swapped in: DIR is always
    // wholly the earlier run (with its units, for --resume) or wholly this one.
    let staging = Staging::new(&ctx.out)?;
    let new = RunDir::new(staging.path());
    write_atomic(&new.spec(), resolved.as_bytes())?;
    summary.spec_hash = Some(crate::record::spec_hash(resolved.as_bytes()));
    output.metrics.write(staging.path())?;
    for (name, text) in &output.extra_files {
        write_atomic(&new.file(name), text.as_bytes())?;
    }
    summary.write(staging.path())?;
    link_tree(&ctx.outputs_dir(), staging.path())?;
    figures(staging.path())?;
    // The result is complete: list its files (summary.json's own is there).
    summary.files = Some(out_dir::files_below(staging.path()));
    summary.write(staging.path())?;
    fail_before_commit_if_asked()?;
    out_dir.check_lock()?;
    staging.commit(&[crate::fsio::LOCK_FILE])?;
    store.close();
    Ok(Outcome::Finished(Box::new(summary)))
}

/// Open the run's unit store for the spec `resolved` (fresh, resumed or a
/// merge's), refuse kept units that read other data than the plan's
/// (`Plan::data_identity`, which it returns), and warn when a `--resume`
/// mixes builds or machines.
fn open_store(
    store: &UnitStore,
    resolved: &str,
    plan: &dyn crate::studies::Plan,
    ctx: &RunContext,
) -> Result<Option<String>> {
    let how = match (ctx.require_cached, ctx.resume) {
        (true, _) => Opening::Merged,
        (false, true) => Opening::Resumed,
        (false, false) => Opening::Fresh,
    };
    store.open(resolved, how)?;
    let data = plan.data_identity();
    if let Some(data) = &data {
        // A fresh store has no data yet: the check only records it.
        let who = if how == Opening::Merged {
            "merge"
        } else {
            "--resume"
        };
        store.check_data(data, who)?;
    }
    if ctx.resume {
        warn_mixed_builds(store, &store.root().display().to_string());
    }
    Ok(data)
}

/// `resolved` with the header line of the resolved spec at `path` (a
/// merge's: its shards' resolved spec, saying which spec file and which
/// options made it), instead of its own, which would name the merge's
/// passing copy in the unit store and none of the options.
fn with_header_of(path: &Path, resolved: &str) -> Result<String> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let is_header = |l: &&str| l.starts_with("# resolved spec");
    match (
        text.lines().next().filter(is_header),
        resolved.split_once('\n'),
    ) {
        (Some(header), Some((own, body))) if is_header(&own) => Ok(format!("{header}\n{body}")),
        _ => Ok(resolved.to_string()),
    }
}

/// Hard-link every file below `from` (if it exists; hidden temporaries
/// left out) to the same place below `to`, or copy it (synced) where links
/// fail. The originals stay in the unit store until the commit replaces
/// DIR whole, so a run that fails or is killed before then keeps them for
/// `--resume` (moving them used to lose them with the staging folder while
/// the units stayed, so the resumed run finished without them).
fn link_tree(from: &Path, to: &Path) -> Result<()> {
    if !from.is_dir() {
        return Ok(());
    }
    units::for_each_file(from, to, &mut |src, dst| {
        if std::fs::hard_link(src, dst).is_err() {
            std::fs::copy(src, dst)
                .and_then(|_| std::fs::File::open(dst)?.sync_all())
                .map_err(|err| Error::io(dst, err))?;
        }
        Ok(())
    })
}

/// The environment variable that makes a run fail after its result is
/// written in the staging folder and before the commit, as a full disk or
/// a crash there would: for the tests that the writing phase loses nothing.
pub const FAIL_BEFORE_COMMIT_ENV: &str = "OVERFIT_FAIL_BEFORE_COMMIT";

fn fail_before_commit_if_asked() -> Result<()> {
    match std::env::var_os(FAIL_BEFORE_COMMIT_ENV) {
        Some(_) => Err(Error::bad(format!(
            "{FAIL_BEFORE_COMMIT_ENV} is set: failing before the result is committed"
        ))),
        None => Ok(()),
    }
}

/// A diverged unit stops the run (exit 3); the units finished before it
/// stay for --resume, which a run of a changed spec (the usual fix, a
/// smaller step size) cannot use: the error says so, so that the next run
/// is not refused twice (review finding, 2026-12-07).
fn with_kept_units(e: Error, store: &UnitStore) -> Error {
    match e {
        Error::Numerical(msg) => Error::Numerical(format!(
            "{msg}; the units finished before it are kept in {} for --resume of this spec (delete it to rerun a changed spec)",
            store.root().display()
        )),
        other => other,
    }
}

/// The shard whose finished units `store` holds (its manifest), if any.
fn finished_shard(store: &UnitStore) -> Option<Shard> {
    let text = std::fs::read_to_string(store.root().join(SHARD_MANIFEST)).ok()?;
    serde_json::from_str::<ShardManifest>(&text)
        .ok()
        .map(|m| m.shard)
}

/// How a run that would clear `store`'s kept work continues it instead: a
/// finished shard's by `--resume --shard I/N`.
fn resume_hint(store: &UnitStore) -> String {
    match finished_shard(store) {
        Some(s) => format!(
            "pass --resume --shard {}/{} to run that shard again (--resume alone finishes the whole run here, and the shard is then no longer one to merge)",
            s.index, s.count
        ),
        None => "pass --resume to continue it".to_string(),
    }
}

/// Exit 2 when the unit store holds an interrupted run's work (finished
/// units or checkpoints), which the caller would clear: `what` names the
/// option, `instead` the other way out besides deleting the store.
fn refuse_kept_work(store: &UnitStore, what: &str, instead: &str) -> Result<()> {
    let manifest = store.root().join(SHARD_MANIFEST);
    match store.kept_work() {
        0 => Ok(()),
        // A finished shard is no interrupted run (review finding, 2026-12-07).
        kept if manifest.is_file() => Err(Error::bad(format!(
            "{what} {}: {} holds a finished shard's {kept} units ({}), waiting for `overfit merge`; {instead}, or delete {} to start over",
            store.root().parent().unwrap_or(store.root()).display(),
            store.root().display(),
            manifest.display(),
            store.root().display()
        ))),
        kept => Err(Error::bad(format!(
            "{what} {}: {} holds {kept} finished units or checkpoints of an interrupted run; {instead}, or delete {} to start over",
            store.root().parent().unwrap_or(store.root()).display(),
            store.root().display(),
            store.root().display()
        ))),
    }
}

/// Warn on stderr, after `who`, when units in the store were computed by
/// builds other than this binary, or on other machines (BLAS core, kernels,
/// device: `units::machine_id`) than this process's (`--resume`, `merge`);
/// summary.json's provenance then lists them (`execute`).
fn warn_mixed_builds(store: &UnitStore, who: &str) {
    let others = store.other_builds();
    if !others.is_empty() {
        eprintln!(
            "warning: {who}: units here were computed by overfit {}; this binary is {}: the result mixes builds (summary.json's provenance.unit_binaries names them)",
            others.join(", "),
            binary_id()
        );
    }
    let others = store.other_machines();
    if !others.is_empty() {
        eprintln!(
            "warning: {who}: units here were computed with {}; this process runs {}: the result mixes machines, whose sums may round differently (summary.json's provenance.unit_machines names them)",
            others.join("; "),
            units::machine_id()
        );
    }
}
