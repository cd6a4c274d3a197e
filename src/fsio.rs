//! The bottom layer of file output: atomic writes (temp file, fsync,
//! rename, fsync of the directory), path comparison, and the lock on an
//! output directory (`lock`). Nothing
//! here knows about studies or runs, so every layer above can use it.

mod lock;

pub use lock::{lock_out_dir, OutLock, Taker, LOCK_FILE};

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Write `bytes` to `path` atomically: temp file in the same directory,
/// fsync, rename, fsync of the directory (so the new name survives a crash).
/// Each call has its own temp file (process id and a call number), so two
/// threads writing one path both succeed, the later rename winning: with
/// one temp name per process, one thread's rename took the other's file
/// and the other failed (two CNN units listing the build at once).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = dir.join(format!(".{name}.tmp{}-{call}", std::process::id()));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// fsync directory `dir`, so that the renames and new names in it survive
/// a crash (a file's own fsync does not cover its name). A file system
/// that refuses to fsync a directory (EINVAL, ENOTSUP) is let be; any
/// other error is returned.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    match fs::File::open(dir).and_then(|d| d.sync_all()) {
        Err(e) if e.raw_os_error().is_some_and(refuses_dir_sync) => Ok(()),
        other => other,
    }
}

/// The errors of a file system that does not fsync directories.
fn refuses_dir_sync(code: i32) -> bool {
    [libc::EINVAL, libc::ENOTSUP, libc::EOPNOTSUPP].contains(&code)
}

/// Read a file that must be a regular file (after links): a FIFO, a device
/// or a directory is refused with exit 2 naming it, instead of hanging on a
/// read that never ends. `what` names the file's role in the message.
pub fn read_regular(path: &Path, what: &str) -> Result<Vec<u8>> {
    let meta = fs::metadata(path)
        .map_err(|e| Error::bad(format!("{}: cannot read {what} ({e})", path.display())))?;
    if !meta.is_file() {
        let kind = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file"
        };
        return Err(Error::bad(format!(
            "{}: is {kind}, expected {what}",
            path.display()
        )));
    }
    fs::read(path).map_err(|e| Error::bad(format!("{}: cannot read {what} ({e})", path.display())))
}

/// `read_regular` as UTF-8 text.
pub fn read_regular_text(path: &Path, what: &str) -> Result<String> {
    String::from_utf8(read_regular(path, what)?)
        .map_err(|_| Error::bad(format!("{}: {what} is not UTF-8 text", path.display())))
}

/// Remove the temporary files a killed writer left in `dir` (names `.<file>.tmp*`
/// from `write_atomic` and `.<stem>.tmp<pid>.png` / `.<stem>.svg.tmp<pid>` from
/// the figures). Call it only under `dir`'s lock.
pub fn remove_stale_temps(dir: &Path) {
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with('.') && name.contains(".tmp") && e.path().is_file() {
                let _ = fs::remove_file(e.path());
            }
        }
    }
}

/// `path` made absolute with links resolved, for comparing locations that
/// may not exist yet: component by component, each prefix that exists is
/// canonicalised (links resolved), the rest appended as written (`.`
/// dropped, `..` the parent of what came before).
pub fn canonical(path: &Path) -> PathBuf {
    let absolute = std::env::current_dir().unwrap_or_default().join(path);
    let mut out = PathBuf::new();
    for part in absolute.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => {
                out.push(other);
                if let Ok(real) = out.canonicalize() {
                    out = real;
                }
            }
        }
    }
    out
}

/// The folders `prepare_out_dir` is about to create for DIR: the topmost
/// missing one of DIR and its ancestors (with those below it), and DIR/figures.
/// A run that fails at its start removes them again, each only while it is
/// empty (`fs::remove_dir` refuses a folder that holds anything).
struct NewFolders {
    dir: PathBuf,
    /// None when DIR exists, or when the part of its path still to be made
    /// has a `..` (`a/missing/../b` names `a/b`, which may exist: the
    /// ancestors of such a path are not the folders it creates).
    top: Option<PathBuf>,
    figures: bool,
}

impl NewFolders {
    /// Read before `prepare_out_dir(dir)` creates anything.
    fn before(dir: &Path) -> NewFolders {
        let missing = dir
            .ancestors()
            .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
            .last();
        let parent_dir = |c: std::path::Component| c == std::path::Component::ParentDir;
        let unclear = missing.is_some_and(|top| {
            let below = dir.strip_prefix(top).unwrap_or(dir);
            top.components().next_back().is_some_and(parent_dir)
                || below.components().any(parent_dir)
        });
        NewFolders {
            dir: dir.to_path_buf(),
            // Through an unclear path, an existing DIR/figures can look missing.
            figures: !unclear && !dir.join("figures").exists(),
            top: missing.filter(|_| !unclear).map(Path::to_path_buf),
        }
    }

    /// Remove DIR/figures if it is new (under DIR's lock, so that no other
    /// run can have taken it over).
    fn remove_figures(&self) {
        if self.figures {
            let _ = fs::remove_dir(self.dir.join("figures"));
        }
    }

    /// Remove DIR and its new ancestors, innermost first, each only while
    /// empty (after the lock file has gone with the lock); one that was
    /// never made (a creation that failed halfway) is passed over.
    fn remove_folders(&self) {
        let Some(top) = &self.top else { return };
        for folder in self.dir.ancestors() {
            let kept = folder.is_dir() && fs::remove_dir(folder).is_err();
            if kept || folder == top {
                break;
            }
        }
    }
}

/// An output directory made ready by `prepare_out_dir`: its lock (hold it
/// while writing) and the folders preparing it created.
pub struct PreparedOut {
    lock: OutLock,
    new: NewFolders,
}

impl PreparedOut {
    /// Whether this process still holds DIR/.lock (`OutLock::check_held`).
    pub fn check_lock(&self) -> Result<()> {
        self.lock.check_held()
    }

    /// Give up a run that failed at its start (its plan: a missing data
    /// folder, say), leaving nothing behind: the new DIR/figures goes under
    /// the lock, then the lock, then DIR and its new ancestors, each only
    /// while it is empty.
    pub fn abandon(self) {
        let PreparedOut { lock, new } = self;
        new.remove_figures();
        drop(lock);
        new.remove_folders();
    }
}

/// Create the output directory (and figures/) or fail with exit 2 naming it,
/// and lock it for this process (`PreparedOut`: hold it while writing).
/// Checks writability up front, of `dir` and of the staging location
/// beside it (`probe_staging`), so a long run cannot fail at the end.
pub fn prepare_out_dir(dir: &Path) -> Result<PreparedOut> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::bad(format!(
            "--out {}: exists and is not a directory",
            dir.display()
        )));
    }
    let new = NewFolders::before(dir);
    fs::create_dir_all(dir.join("figures")).map_err(|e| {
        // Halfway (a name too long for the file system, say): nothing is
        // locked yet, and what was made goes again.
        new.remove_figures();
        new.remove_folders();
        Error::bad(format!(
            "--out {}: cannot create directory ({e})",
            dir.display()
        ))
    })?;
    let probe = dir.join(format!(".write-probe{}", std::process::id()));
    fs::write(&probe, b"")
        .map_err(|e| Error::bad(format!("--out {}: not writable ({e})", dir.display())))?;
    let _ = fs::remove_file(probe);
    let lock = lock_out_dir(dir, Taker::Run)?;
    // Under the lock, so that no other run's `Staging::new` clears the probe.
    probe_staging(dir).map_err(|e| {
        Error::bad(format!(
            "--out {}: the result is built beside it and swapped in, which fails here ({e}); choose an --out whose parent directory is writable and on the same file system",
            dir.display()
        ))
    })?;
    // Under the lock, no other run's temporary files can be here.
    remove_stale_temps(dir);
    remove_stale_temps(&dir.join("figures"));
    Ok(PreparedOut { lock, new })
}

/// Check, before any work, that the files `paths` (one command's outputs,
/// given by the option `flag`) can be written where they are asked for:
/// none is a directory, and each one's folder exists and takes a file
/// (a probe, created and removed). Exit 2 naming the option and the path,
/// so a long command cannot fail at its end with half its outputs written.
pub fn check_out_files(flag: &str, paths: &[PathBuf]) -> Result<()> {
    for path in paths {
        if path.is_dir() {
            return Err(Error::bad(format!(
                "{flag} {}: is a directory; give a file name",
                path.display()
            )));
        }
        let folder = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let probe = folder.join(format!(".write-probe{}", std::process::id()));
        fs::write(&probe, b"").map_err(|e| {
            Error::bad(format!(
                "{flag} {}: its folder {} takes no file ({e})",
                path.display(),
                folder.display()
            ))
        })?;
        let _ = fs::remove_file(probe);
    }
    Ok(())
}

/// Do in miniature, before any work, what `Staging` does at the end of a
/// run: create a directory beside the existing `dir` (its staging
/// location), hard-link a file of `dir` into it (as `commit` carries the
/// lock) and exchange a file written there with one in `dir` (as the swap
/// does). This fails, naming the path and the OS error, where the parent is
/// not writable or `dir` is on another file system than its parent (a
/// mount point), which would otherwise be found only after all the compute.
/// Leaves nothing behind.
fn probe_staging(dir: &Path) -> Result<()> {
    let dir = canonical(dir);
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
        return Err(Error::bad(format!(
            "{}: has no parent directory",
            dir.display()
        )));
    };
    let pid = std::process::id();
    // `Staging::new` clears siblings of this prefix that a killed probe left.
    let probe = parent.join(format!(".{}.staging-probe-{pid}", name.to_string_lossy()));
    let in_dir = dir.join(format!(".write-probe{pid}"));
    let _ = fs::remove_dir_all(&probe);
    let result = (|| {
        fs::create_dir(&probe).map_err(|e| Error::io(&probe, e))?;
        fs::write(&in_dir, b"old").map_err(|e| Error::io(&in_dir, e))?;
        let carried = probe.join("carried");
        fs::hard_link(&in_dir, &carried).map_err(|e| Error::io(&carried, e))?;
        let new = probe.join("new");
        fs::write(&new, b"new").map_err(|e| Error::io(&new, e))?;
        exchange(&new, &in_dir)
    })();
    let _ = fs::remove_file(&in_dir);
    let _ = fs::remove_dir_all(&probe);
    result
}

/// A new version of directory `dir`, built whole in a sibling directory and
/// then swapped in with one `renameat2(RENAME_EXCHANGE)`, so `dir` is at
/// every moment wholly the old version or wholly the new one, whatever the
/// moment a kill or an error strikes. The old contents end up at the
/// sibling's name and are removed; a sibling left by a killed process is
/// removed by the next `Staging::new` (the caller holds `dir`'s lock, so no
/// other process is building one).
pub struct Staging {
    dir: PathBuf,
    staging: PathBuf,
    done: bool,
}

impl Staging {
    /// Create the empty sibling `.<name>.staging-<pid>` (with `figures/`)
    /// next to the existing directory `dir`.
    pub fn new(dir: &Path) -> Result<Staging> {
        let dir = canonical(dir);
        let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
            return Err(Error::bad(format!(
                "--out {}: cannot stage a new version beside it",
                dir.display()
            )));
        };
        let name = name.to_string_lossy().to_string();
        let prefix = format!(".{name}.staging-");
        if let Ok(entries) = fs::read_dir(parent) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = fs::remove_dir_all(e.path());
                }
            }
        }
        let staging = parent.join(format!("{prefix}{}", std::process::id()));
        fs::create_dir_all(staging.join("figures")).map_err(|e| {
            Error::bad(format!(
                "--out {}: cannot create {} beside it to write the new result in ({e})",
                dir.display(),
                staging.display()
            ))
        })?;
        Ok(Staging {
            dir,
            staging,
            done: false,
        })
    }

    /// Where to write the new version.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// Swap the new version in. The entries of the old directory named in
    /// `carry` (its lock) are hard-linked into the new one first, so they
    /// stay in place through the swap. The new version (its top and the
    /// folders in it) is fsynced before the swap and the parent after it,
    /// so a crash leaves the old or the new version, never a torn one.
    pub fn commit(mut self, carry: &[&str]) -> Result<()> {
        for name in carry {
            let (from, to) = (self.dir.join(name), self.staging.join(name));
            if from.exists() {
                fs::hard_link(&from, &to).map_err(|e| Error::io(&to, e))?;
            }
        }
        let folders = fs::read_dir(&self.staging).map_err(|e| Error::io(&self.staging, e))?;
        for folder in folders.flatten().filter(|e| e.path().is_dir()) {
            sync_dir(&folder.path()).map_err(|e| Error::io(&folder.path(), e))?;
        }
        sync_dir(&self.staging).map_err(|e| Error::io(&self.staging, e))?;
        exchange(&self.staging, &self.dir)?;
        self.done = true;
        if let Some(parent) = self.dir.parent() {
            sync_dir(parent).map_err(|e| Error::io(parent, e))?;
        }
        // The old version now sits at the staging name.
        let _ = fs::remove_dir_all(&self.staging);
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

/// Exchange two paths atomically (Linux `renameat2` with `RENAME_EXCHANGE`).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| Error::bad(format!("{}: path holds a NUL byte", p.display())))
    };
    let (ca, cb) = (c(a)?, c(b)?);
    // SAFETY: both are valid NUL-terminated paths; AT_FDCWD is ignored for
    // absolute paths, and `Staging` makes both absolute (`canonical`).
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc != 0 {
        return Err(Error::io(b, std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Elsewhere: two renames (a window in which `b` is missing).
#[cfg(not(target_os = "linux"))]
fn exchange(a: &Path, b: &Path) -> Result<()> {
    let aside = a.with_extension("old");
    fs::rename(b, &aside).map_err(|e| Error::io(b, e))?;
    fs::rename(a, b).map_err(|e| Error::io(b, e))?;
    fs::rename(&aside, a).map_err(|e| Error::io(a, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Threads writing one path at once all succeed, and the file holds
    /// one whole write, no temp file left.
    #[test]
    fn concurrent_writes_to_one_path_all_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list");
        std::thread::scope(|s| {
            for t in 0..8u8 {
                let path = &path;
                s.spawn(move || {
                    for _ in 0..50 {
                        write_atomic(path, &[t; 64]).unwrap();
                    }
                });
            }
        });
        let bytes = fs::read(&path).unwrap();
        assert!(bytes.len() == 64 && bytes.iter().all(|&b| b == bytes[0]));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    /// Only folders a run created, still empty, are removed: the topmost
    /// missing one and those below it, and a new figures/ in an existing
    /// DIR; never one that existed or holds a file.
    #[test]
    fn a_failed_start_removes_only_the_empty_folders_it_created() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let out = root.join("a/b/c");
        let top = |dir: &Path| NewFolders::before(dir).top;
        assert_eq!(top(&out), Some(root.join("a")));
        assert_eq!(top(root), None);
        assert_eq!(top(&root.join("x/../y")), None, "a .. in the new part");
        let below = root.join("a");
        fs::create_dir_all(&below).unwrap();
        assert_eq!(top(&below.join("../n/q")), Some(below.join("../n")));
        fs::remove_dir(&below).unwrap();
        let new = NewFolders::before(&out);
        fs::create_dir_all(out.join("figures")).unwrap();
        new.remove_figures();
        new.remove_folders();
        assert!(!root.join("a").exists());
        fs::create_dir_all(out.join("figures")).unwrap();
        fs::write(root.join("a/b/kept.txt"), b"").unwrap();
        new.remove_figures();
        new.remove_folders();
        assert!(!out.exists() && root.join("a/b/kept.txt").exists());
        let own = root.join("own");
        fs::create_dir_all(&own).unwrap();
        let new = NewFolders::before(&own);
        fs::create_dir_all(own.join("figures")).unwrap();
        new.remove_figures();
        new.remove_folders();
        assert!(
            own.is_dir() && !own.join("figures").exists(),
            "DIR stays, its new figures/ goes"
        );
        // A creation that failed halfway: the deepest folders were never made.
        let half = root.join("half/made/never");
        let new = NewFolders::before(&half);
        fs::create_dir_all(root.join("half/made")).unwrap();
        new.remove_folders();
        assert!(!root.join("half").exists(), "the made part goes");
    }

    /// A directory fsync passes on a directory and reports the error where
    /// the directory is missing (only a file system's refusal to fsync
    /// directories is let be).
    #[test]
    fn directory_fsync_reports_real_errors() {
        let tmp = tempfile::tempdir().unwrap();
        sync_dir(tmp.path()).unwrap();
        let missing = sync_dir(&tmp.path().join("missing")).unwrap_err();
        assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
        assert!(refuses_dir_sync(libc::EINVAL) && !refuses_dir_sync(libc::EIO));
    }

    #[test]
    fn atomic_write_replaces_whole_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        write_atomic(&p, b"old").unwrap();
        write_atomic(&p, b"new content").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new content");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn canonical_paths_compare_existing_and_future_locations() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("a/b")).unwrap();
        let real = d.canonicalize().unwrap();
        assert_eq!(canonical(&d.join("a/./b/../b")), real.join("a/b"));
        assert_eq!(canonical(&d.join("a/new/x/../y")), real.join("a/new/y"));
        assert_eq!(canonical(&d.join("a/b/")), canonical(&d.join("a/b")));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(d.join("a"), d.join("link")).unwrap();
            assert_eq!(canonical(&d.join("link/b/new")), real.join("a/b/new"));
        }
    }

    /// The staging probe passes where the result can be swapped in, and
    /// leaves nothing behind, beside the directory or in it.
    #[test]
    fn the_staging_probe_leaves_nothing_behind() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        fs::create_dir_all(&dir).unwrap();
        probe_staging(&dir).unwrap();
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
    }

    #[test]
    fn staging_swaps_a_whole_directory_in_and_keeps_the_lock() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        fs::create_dir_all(dir.join("figures")).unwrap();
        fs::write(dir.join("old.csv"), b"old").unwrap();
        fs::write(dir.join(".lock"), b"1 2\n").unwrap();
        // A sibling left by a killed writer is cleared.
        fs::create_dir_all(tmp.path().join(".run.staging-1")).unwrap();
        let staging = Staging::new(&dir).unwrap();
        fs::write(staging.path().join("new.csv"), b"new").unwrap();
        assert!(
            dir.join("old.csv").exists(),
            "the old version stays until the swap"
        );
        staging.commit(&[".lock"]).unwrap();
        let mut names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        names.sort();
        assert_eq!(names, [".lock", "figures", "new.csv"]);
        let siblings = fs::read_dir(tmp.path()).unwrap().count();
        assert_eq!(siblings, 1, "no staging directory left behind");
        // Dropped without commit: the staging directory goes, `dir` stays.
        let staging = Staging::new(&dir).unwrap();
        fs::write(staging.path().join("half.csv"), b"x").unwrap();
        drop(staging);
        assert!(dir.join("new.csv").exists() && !dir.join("half.csv").exists());
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
    }
}
