//! `overfit merge`: the shards of one run (`run --shard`) joined into the
//! finished run, checked first (one spec and version, every shard once, an
//! output that destroys no shard, the data folder they read).

use std::path::{Path, PathBuf};

use super::out_dir::refuse_foreign_out;
use super::units::{self, Opening, UnitStore, MERGED_SPEC};
use super::{
    execute, refuse_kept_work, warn_mixed_builds, Outcome, RunContext, Runs, ShardManifest,
    SHARD_MANIFEST,
};
use crate::error::{Error, Result};
use crate::fsio::write_atomic;
use crate::record::Summary;

/// Refuse a merge's --out that would destroy a shard or other files, before
/// anything is touched: the output's unit store is cleared before the
/// shards' units are copied in, and the output is replaced whole at the end,
/// so an output at or inside a shard, or a shard inside the output, would
/// destroy the shard (and `refuse_foreign_out` guards the rest).
fn check_merge_out(shard_dirs: &[PathBuf], out_arg: &Path) -> Result<()> {
    let out = crate::fsio::canonical(out_arg);
    for d in shard_dirs {
        let shard = crate::fsio::canonical(d);
        let relation = if out == shard {
            Some("is")
        } else if out.starts_with(&shard) {
            Some("is inside")
        } else if shard.starts_with(&out) {
            Some("contains")
        } else {
            None
        };
        if let Some(relation) = relation {
            return Err(Error::bad(format!(
                "merge: --out {} {relation} the shard directory {}; merge into a new directory",
                out_arg.display(),
                d.display()
            )));
        }
    }
    refuse_foreign_out(out_arg)
}

/// A merge reads the data folder the shards recorded (`data.dir` in their
/// resolved spec, part of the spec the units were computed from, so it
/// cannot be moved at merge time): refuse, naming it, when it is not a
/// folder from here (a relative path is read from where merge runs), before
/// anything is written.
fn check_recorded_data_dir(spec_path: &Path, resolved: &str) -> Result<()> {
    let table: toml::Table = resolved.parse().unwrap_or_default();
    let Some(dir) = table
        .get("data")
        .and_then(|d| d.get("dir"))
        .and_then(|d| d.as_str())
    else {
        return Ok(());
    };
    if Path::new(dir).is_dir() {
        return Ok(());
    }
    Err(Error::bad(format!(
        "merge: the shards read their data from {dir} (data.dir in {}), which is not a folder from here; a merge reads the same folder (relative paths from where it runs), so run it where that path holds the data",
        spec_path.display()
    )))
}

/// `overfit merge`: check that the shard directories belong to one spec and
/// version and cover every shard exactly once, gather their units into
/// `ctx.out`, and finish the run there (claims, figures) from the units alone.
pub fn merge(shard_dirs: &[PathBuf], ctx: &RunContext) -> Result<Summary> {
    if shard_dirs.is_empty() {
        return Err(Error::bad("merge: name the shard directories to merge"));
    }
    check_merge_out(shard_dirs, &ctx.out)?;
    let mut spec_text: Option<(PathBuf, String)> = None;
    let mut seen: Vec<Option<PathBuf>> = Vec::new();
    let mut quick = false;
    let mut seeds = None;
    let mut seed = None;
    let mut first_runs: Option<(PathBuf, Option<String>, Runs)> = None;
    let spec_name = |text: &str| {
        text.parse::<toml::Table>()
            .ok()
            .and_then(|t| t.get("name")?.as_str().map(str::to_string))
    };
    for d in shard_dirs {
        let store = UnitStore::new(d);
        let manifest_path = store.root().join(SHARD_MANIFEST);
        let text = std::fs::read_to_string(&manifest_path).map_err(|_| {
            Error::bad(format!(
                "merge: {} is not a shard directory (no {})",
                d.display(),
                manifest_path.display()
            ))
        })?;
        let manifest: ShardManifest = serde_json::from_str(&text)
            .map_err(|e| Error::bad(format!("{}: {e}", manifest_path.display())))?;
        manifest
            .shard
            .checked()
            .map_err(|e| Error::bad(format!("{}: key `shard`: {e}", manifest_path.display())))?;
        let spec_path = store.root().join("spec.toml");
        let spec = std::fs::read_to_string(&spec_path)
            .map_err(|e| Error::bad(format!("{}: {e}", spec_path.display())))?;
        // The package version guards the unit format; the builds that
        // computed the units are compared by `warn_mixed_builds`.
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
        match &spec_text {
            Some((first, t)) if units::spec_identity(t) != units::spec_identity(&spec) => {
                return Err(Error::bad(format!(
                    "merge: {} and {} ran different specs{}",
                    first.display(),
                    d.display(),
                    units::spec_difference(
                        (&first.display().to_string(), t),
                        (&d.display().to_string(), &spec)
                    )
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
        seed = manifest.seed;
    }
    if let Some(missing) = seen.iter().position(Option::is_none) {
        return Err(Error::bad(format!(
            "merge: shard {missing}/{} is missing",
            seen.len()
        )));
    }
    let (first, resolved) = spec_text.expect("at least one shard");
    check_recorded_data_dir(&UnitStore::new(&first).root().join("spec.toml"), &resolved)?;
    let _lock = crate::fsio::prepare_out_dir(&ctx.out)?;
    let store = UnitStore::new(&ctx.out);
    // An interrupted run's units are kept as by `execute`; a failed merge's
    // own (its merged spec beside them) are replaced.
    if !store.root().join(MERGED_SPEC).exists() {
        refuse_kept_work(&store, "merge: --out", "merge into another directory")?;
    }
    store.open(&resolved, Opening::Fresh)?;
    // Written before the first copy, so a merge killed while copying is
    // known as a merge's and the same merge can run again over it.
    let merged_spec = store.root().join(MERGED_SPEC);
    write_atomic(&merged_spec, resolved.as_bytes())?;
    for d in shard_dirs {
        store.absorb(&UnitStore::new(d))?;
    }
    warn_mixed_builds(&store, "merge");
    let ctx = RunContext {
        require_cached: true,
        shard: None,
        resume: false,
        quick,
        seeds,
        seed,
        ..ctx.clone()
    };
    match execute(&merged_spec, &ctx)? {
        Outcome::Finished(summary) => Ok(*summary),
        Outcome::ShardWritten(msg) => Err(Error::bad(format!("merge: incomplete ({msg})"))),
    }
}
