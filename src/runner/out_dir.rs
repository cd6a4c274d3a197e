//! What a run may replace in its --out. A run replaces its directory whole
//! (`fsio::Staging`), so every file there must be one a run wrote: anything
//! else would be deleted. summary.json lists the files of the run directory
//! (`Summary::files`, since 2026-12-07); a later run into the same --out
//! replaces exactly those and refuses (exit 2, before anything is written) a
//! directory holding any other, at any depth: a user's `figures/edit.svg`
//! or `analysis.csv` beside a run's own. A directory whose summary.json does
//! not list its files (written before they were, or none) is judged by the
//! names a run's entries have at its top level.

use std::path::Path;

use crate::error::{Error, Result};
use crate::record::Summary;

/// Every file below `dir` (none when it does not exist), as paths relative to
/// it with `/` between the parts, sorted; the hidden entries a run uses while
/// it runs (`is_run_internal`) left out.
pub(super) fn files_below(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    walk(dir, "", &mut files);
    files.sort();
    files
}

/// `files_below` with what tells a file written anew (atomically: under a
/// new name, then renamed into place) from the one it replaced: its inode
/// (elsewhere than Unix, its modification time).
pub(super) fn file_identities(dir: &Path) -> Vec<(String, u128)> {
    #[cfg(unix)]
    let identity = |m: std::fs::Metadata| {
        use std::os::unix::fs::MetadataExt;
        Some(u128::from(m.ino()))
    };
    #[cfg(not(unix))]
    let identity = |m: std::fs::Metadata| {
        let t = m.modified().ok()?;
        Some(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_nanos())
    };
    files_below(dir)
        .into_iter()
        .filter_map(|f| {
            let id = identity(std::fs::metadata(dir.join(&f)).ok()?)?;
            Some((f, id))
        })
        .collect()
}

fn walk(dir: &Path, prefix: &str, files: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if is_run_internal(prefix.is_empty(), &name) {
            continue;
        }
        let path = format!("{prefix}{name}");
        match e.file_type() {
            Ok(t) if t.is_dir() => walk(&e.path(), &format!("{path}/"), files),
            _ => files.push(path),
        }
    }
}

/// The hidden entries of a run in progress: at the top, the unit store
/// .units/, the lock and the write probe; at any depth, a writer's
/// temporary file (`.name.tmp...`, `fsio::write_atomic`).
fn is_run_internal(top: bool, name: &str) -> bool {
    let temporary = name.starts_with('.') && name.contains(".tmp");
    let top_level = name == ".units"
        || name.starts_with(crate::fsio::LOCK_FILE)
        || name.starts_with(".write-probe");
    temporary || (top && top_level)
}

/// The first entry of `dir` that no run wrote, if any (none when `dir`
/// does not exist): first, a top-level entry named as none of a run's are
/// (the resolved spec, summary.json, figures/, the metrics and the studies'
/// other tables `*.csv`, `*.csv.gz`, the CNN checkpoints/, and the hidden
/// entries of a run in progress); then, where summary.json lists the run's
/// files, the first file below `dir` not on that list.
pub(super) fn foreign_entry(dir: &Path) -> Option<String> {
    let is_run_output = |name: &str| {
        matches!(
            name,
            "spec.toml" | "summary.json" | "figures" | "checkpoints"
        ) || name.ends_with(".csv")
            || name.ends_with(".csv.gz")
            || is_run_internal(true, name)
    };
    let top = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|name| !is_run_output(name))
        .min();
    if top.is_some() {
        return top;
    }
    let listed = Summary::read(dir).ok()?.files?;
    files_below(dir).into_iter().find(|f| !listed.contains(f))
}

/// Refuse an --out that holds what no run wrote (`foreign_entry`), before
/// anything is written: the new result replaces the whole directory.
pub(super) fn refuse_foreign_out(out: &Path) -> Result<()> {
    match foreign_entry(out) {
        Some(name) => Err(Error::bad(format!(
            "--out {}: holds `{name}`, which no run wrote; a run replaces the whole directory, so choose a new or empty --out (or an earlier run's), or move that file out",
            out.display()
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_below_lists_nested_files_and_leaves_out_a_run_in_progress() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        for f in ["b.csv", "figures/a.svg", "figures/sub/c.png", ".units/x"] {
            std::fs::create_dir_all(d.join(f).parent().unwrap()).unwrap();
            std::fs::write(d.join(f), "x").unwrap();
        }
        std::fs::write(d.join(".lock"), "").unwrap();
        std::fs::write(d.join("figures/.a.svg.tmp1"), "").unwrap();
        std::fs::write(d.join("figures/.notes"), "").unwrap();
        assert_eq!(
            files_below(d),
            [
                "b.csv",
                "figures/.notes",
                "figures/a.svg",
                "figures/sub/c.png"
            ]
        );
        assert!(files_below(&d.join("absent")).is_empty());
    }
}
