//! The lock on an output directory (DIR/.lock): who holds it, when a lock
//! left behind by a killed process is taken over, and taking it over
//! atomically.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The SLURM job a process runs in: SLURM_JOB_ID, the array task
/// (SLURM_ARRAY_JOB_ID_SLURM_ARRAY_TASK_ID) when it is one, and
/// SLURM_RESTART_COUNT (0 when unset, as on a job's first start). A
/// requeued job keeps its ID and starts again with a higher restart count,
/// after SLURM has killed the instance before it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct SlurmJob {
    job: String,
    array: Option<String>,
    restart: u32,
}

impl SlurmJob {
    /// The job of this process, from `var` (the environment): None outside
    /// SLURM, or where an ID is not a number.
    fn from_env(var: impl Fn(&str) -> Option<String>) -> Option<SlurmJob> {
        let id = |name: &str| {
            var(name).filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        };
        let array = match (id("SLURM_ARRAY_JOB_ID"), id("SLURM_ARRAY_TASK_ID")) {
            (Some(array), Some(task)) => Some(format!("{array}_{task}")),
            _ => None,
        };
        Some(SlurmJob {
            job: id("SLURM_JOB_ID")?,
            array,
            restart: id("SLURM_RESTART_COUNT").map_or(0, |r| r.parse().unwrap_or(0)),
        })
    }

    /// The words of a lock text: `slurm-job=J [slurm-array=A_T] slurm-restart=R`.
    fn words(&self) -> String {
        let array = self
            .array
            .as_ref()
            .map_or(String::new(), |a| format!(" slurm-array={a}"));
        format!(
            "slurm-job={}{array} slurm-restart={}",
            self.job, self.restart
        )
    }

    /// Read back `words` (None without a `slurm-job` word or with a
    /// restart count that is not a number).
    fn parse<'a>(words: impl Iterator<Item = &'a str>) -> Option<SlurmJob> {
        let (mut job, mut array, mut restart) = (None, None, Some(0));
        for word in words {
            match word.split_once('=') {
                Some(("slurm-job", v)) => job = Some(v.to_string()),
                Some(("slurm-array", v)) => array = Some(v.to_string()),
                Some(("slurm-restart", v)) => restart = v.parse().ok(),
                _ => {}
            }
        }
        Some(SlurmJob {
            job: job?,
            array,
            restart: restart?,
        })
    }

    /// Whether this (a lock's) is an instance of job `me` started before
    /// `me`'s: the same job ID and array task, a lower restart count. SLURM
    /// runs one instance of a job at a time and kills it before requeueing,
    /// so such a holder is dead wherever it ran; one of the same count is
    /// another process of `me`'s own instance (an srun step on another
    /// node), which may still run.
    fn earlier_instance_of(&self, me: &SlurmJob) -> bool {
        self.job == me.job && self.array == me.array && self.restart < me.restart
    }
}

/// The process holding a lock: its PID and its start time (clock ticks
/// after boot, from /proc; 0 where /proc is missing), so a PID reused by
/// another process does not pass for the holder, the host it runs on
/// (absent in locks written before it was recorded, and where the name is
/// unknown): on a file system shared between nodes, /proc here says
/// nothing about a process on another node; and its SLURM job (absent
/// outside SLURM, and in locks written before 2026-12-06).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Holder {
    pid: u32,
    start: u64,
    host: Option<String>,
    slurm: Option<SlurmJob>,
}

/// This machine's host name (`gethostname`), if it has one without spaces.
fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: `buf` is writable for its whole length, which is passed.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0)?;
    let name = std::str::from_utf8(&buf[..end]).ok()?;
    let usable = !name.is_empty() && !name.contains(char::is_whitespace);
    usable.then(|| name.to_string())
}

impl Holder {
    fn current() -> Holder {
        let pid = std::process::id();
        Holder {
            pid,
            start: Self::start_of(pid).unwrap_or(0),
            host: hostname(),
            slurm: SlurmJob::from_env(|name| std::env::var(name).ok()),
        }
    }

    /// Field 22 (starttime) of /proc/PID/stat, counted after the command
    /// name; None when the process is gone, or has ended but keeps its
    /// /proc entry: a zombie (state Z: killed, not yet reaped by its
    /// parent) or a dead task (X).
    fn start_of(pid: u32) -> Option<u64> {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
        if matches!(fields.next()?, "Z" | "X" | "x") {
            return None;
        }
        fields.nth(18)?.parse().ok()
    }

    /// "PID START [HOST [SLURM WORDS]]" (HOST absent in older locks, the
    /// SLURM words (`SlurmJob::words`) outside SLURM and in older locks).
    fn parse(text: &str) -> Option<Holder> {
        let mut it = text.split_whitespace();
        let pid = it.next()?.parse().ok()?;
        let start = it.next()?.parse().ok()?;
        let host = it.next().map(str::to_string);
        let slurm = SlurmJob::parse(it);
        Some(Holder {
            pid,
            start,
            host,
            slurm,
        })
    }

    /// The lock text. The SLURM words go only after a host: a binary from
    /// before them reads the third word as the host and ignores the rest.
    fn text(&self) -> String {
        match (&self.host, &self.slurm) {
            (Some(host), Some(job)) => {
                format!("{} {} {host} {}\n", self.pid, self.start, job.words())
            }
            (Some(host), None) => format!("{} {} {host}\n", self.pid, self.start),
            (None, _) => format!("{} {}\n", self.pid, self.start),
        }
    }

    /// Whether the lock names a host other than `me`'s (or `me`'s host is
    /// unknown): its process cannot be looked up here.
    fn elsewhere(&self, me: &Holder) -> bool {
        self.host.is_some() && self.host != me.host
    }

    /// Whether the holder still runs (always assumed without /proc; a
    /// zombie has ended, `start_of`).
    fn alive(&self) -> bool {
        if !Path::new("/proc/self/stat").exists() {
            return true;
        }
        Self::start_of(self.pid) == Some(self.start)
    }

    /// Whether the holder is an earlier instance of `me`'s SLURM job
    /// (`SlurmJob::earlier_instance_of`).
    fn earlier_instance_of(&self, me: &Holder) -> bool {
        match (&self.slurm, &me.slurm) {
            (Some(held), Some(mine)) => held.earlier_instance_of(mine),
            _ => false,
        }
    }
}

/// The name of an output directory's lock file.
pub const LOCK_FILE: &str = ".lock";

/// The lock on an output directory: DIR/.lock names the process writing it,
/// its host and its SLURM job, and is removed when the guard drops. A run
/// killed with SIGKILL leaves it behind; the next run takes it over with a
/// warning once that process is known to be gone: on the same host, when
/// its process has ended; on another host, only when it was an earlier
/// instance of the taker's own SLURM job (a requeued task on another node,
/// since 2026-12-06, review finding). Any other lock from another host is
/// never taken over: whoever knows that job is dead removes the file.
pub struct OutLock {
    path: PathBuf,
    /// False when this process already held the lock (merge, then its run).
    owned: bool,
    /// What the lock file says while this process holds it (`Holder::text`).
    text: String,
}

impl OutLock {
    /// Whether DIR/.lock still names this process. It can name another
    /// when three processes race for one stale lock: the second, finding
    /// the first's new lock where the stale one was, moves it aside and
    /// back, and a third can link its own in between, leaving the first
    /// without its file (`claim_stale`). A run checks before it swaps its
    /// result in, so that it never replaces a directory another run holds.
    pub fn check_held(&self) -> Result<()> {
        let now = fs::read_to_string(&self.path).unwrap_or_default();
        if now == self.text {
            return Ok(());
        }
        Err(Error::bad(format!(
            "{}: this run's lock ({}) was taken by {} while it ran; its result is not written (its finished units are kept for --resume once that run ends)",
            self.path.display(),
            self.text.trim_end(),
            match now.trim_end() {
                "" => "nothing (the file is gone)".to_string(),
                other => format!("another process ({other})"),
            }
        )))
    }
}

impl Drop for OutLock {
    /// Remove the lock when this process took it and it still names it
    /// (never another's, `check_held`).
    fn drop(&mut self) {
        if self.owned && fs::read_to_string(&self.path).is_ok_and(|t| t == self.text) {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// What the lock a process `me` found is to it.
enum Found {
    /// `me` holds it already.
    Mine,
    /// Another process holds it, or may: the error to exit with.
    Held(Error),
    /// Left by a process that has ended: the warning's words for it.
    Stale(String),
}

/// Who takes a lock, for its errors' words: a run on its `--out`, or
/// `plot` / `rejudge` on the finished run they rewrite (which have no
/// `--out` to choose).
#[derive(Clone, Copy)]
pub enum Taker {
    Run,
    Rewrite,
}

impl Taker {
    /// The directory as the user named it.
    fn dir(self, dir: &Path) -> String {
        match self {
            Taker::Run => format!("--out {}", dir.display()),
            Taker::Rewrite => dir.display().to_string(),
        }
    }

    /// What else the user can do while another process holds the lock.
    fn otherwise(self) -> &'static str {
        match self {
            Taker::Run => " or choose another --out",
            Taker::Rewrite => "",
        }
    }
}

/// Judge the lock `holder` (None: unreadable) on `dir` for `me`.
fn judge(holder: Option<Holder>, me: &Holder, dir: &Path, path: &Path, taker: Taker) -> Found {
    match holder {
        Some(h) if h == *me => Found::Mine,
        Some(h) if h.elsewhere(me) && h.earlier_instance_of(me) => Found::Stale(format!(
            "process {} on host {}, left by an earlier instance of this SLURM job ({}; this is restart {})",
            h.pid,
            h.host.as_deref().unwrap_or_default(),
            h.slurm.as_ref().map(SlurmJob::words).unwrap_or_default(),
            me.slurm.as_ref().map_or(0, |j| j.restart)
        )),
        Some(h) if h.elsewhere(me) => Found::Held(Error::bad(format!(
            "{}: locked by overfit process {} on host {}, which cannot be checked from here; if that job is dead, remove {}",
            taker.dir(dir),
            h.pid,
            h.host.as_deref().unwrap_or_default(),
            path.display()
        ))),
        Some(h) if h.alive() => Found::Held(Error::bad(format!(
            "{}: in use by overfit process {} ({}); wait for it to finish{}",
            taker.dir(dir),
            h.pid,
            path.display(),
            taker.otherwise()
        ))),
        Some(h) => Found::Stale(format!("process {}, which is no longer running", h.pid)),
        None => Found::Stale("an unreadable lock".to_string()),
    }
}

/// Claim the lock file `path` judged stale when it held `text`: rename it
/// to a name of this process's own, then check that the file renamed still
/// holds `text`. The rename is atomic, so of two processes that judged the
/// same lock stale only one renames it; the other finds no file, or the
/// lock the first has taken since, which it links back (never over a lock
/// made meanwhile) and does not claim. (Until 2026-12-06, review finding,
/// the check and the removal were two steps, and both could take over.)
/// A third process can link its lock while the second has the first's
/// aside; the link back then fails and the first is left without its
/// file: `OutLock::check_held` catches that before the first writes.
fn claim_stale(path: &Path, text: &str, pid: u32) -> bool {
    let claimed = path.with_file_name(format!("{LOCK_FILE}-stale-{pid}"));
    if fs::rename(path, &claimed).is_err() {
        return false;
    }
    let same = fs::read_to_string(&claimed).unwrap_or_default() == text;
    if !same {
        let _ = fs::hard_link(&claimed, path);
    }
    let _ = fs::remove_file(&claimed);
    same
}

/// Take DIR/.lock or fail with exit 2 naming its holder. The file is
/// written whole under a private name and hard-linked into place, which
/// fails atomically when it exists. A stale lock (`judge`) is claimed
/// (`claim_stale`) and taken once more; any other is refused.
pub fn lock_out_dir(dir: &Path, taker: Taker) -> Result<OutLock> {
    lock_taken_by(dir, &Holder::current(), taker)
}

/// `lock_out_dir` for a run by the process `me`.
#[cfg(test)]
fn lock_as(dir: &Path, me: &Holder) -> Result<OutLock> {
    lock_taken_by(dir, me, Taker::Run)
}

/// `lock_out_dir` for the process `me`.
fn lock_taken_by(dir: &Path, me: &Holder, taker: Taker) -> Result<OutLock> {
    let path = dir.join(LOCK_FILE);
    let fresh = dir.join(format!("{LOCK_FILE}-new-{}", me.pid));
    fs::write(&fresh, me.text()).map_err(|e| Error::io(&fresh, e))?;
    let taken = (|| {
        for _ in 0..2 {
            match fs::hard_link(&fresh, &path) {
                Ok(()) => return Ok(true),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::io(&path, e)),
            }
            let text = fs::read_to_string(&path).unwrap_or_default();
            match judge(Holder::parse(&text), me, dir, &path, taker) {
                Found::Mine => return Ok(false),
                Found::Held(e) => return Err(e),
                Found::Stale(who) => {
                    if claim_stale(&path, &text, me.pid) {
                        eprintln!(
                            "warning: {}: taking over the stale lock of {who}",
                            path.display()
                        );
                    }
                }
            }
        }
        Err(Error::bad(format!(
            "{}: another process took the lock {} first",
            taker.dir(dir),
            path.display()
        )))
    })();
    let _ = fs::remove_file(&fresh);
    Ok(OutLock {
        path,
        owned: taken?,
        text: me.text(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `sleep 30` child of this process and the lock holder it would be.
    fn sleeping_holder() -> (std::process::Child, Holder) {
        let child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let holder = Holder {
            pid: child.id(),
            start: Holder::start_of(child.id()).unwrap(),
            host: hostname(),
            slurm: None,
        };
        (child, holder)
    }

    /// A killed child that its parent has not reaped (a zombie) keeps its
    /// /proc entry and start time; its lock is stale all the same.
    #[test]
    fn a_zombie_holder_has_ended() {
        let (mut child, holder) = sleeping_holder();
        assert!(holder.alive());
        child.kill().unwrap();
        // Not reaped yet: wait until the kernel has made it a zombie.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while holder.alive() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(!holder.alive(), "a zombie counted as a running holder");
        child.wait().unwrap();
        assert!(!holder.alive());
    }

    /// A lock held by a live process is refused in the words of who asks:
    /// a run is told its `--out` and that it may choose another; `plot` and
    /// `rejudge`, which have no `--out`, are told the directory alone
    /// (review finding, 2026-12-07).
    #[test]
    fn a_held_lock_is_refused_in_the_takers_words() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let (mut child, holder) = sleeping_holder();
        fs::write(dir.join(LOCK_FILE), holder.text()).unwrap();
        let run = lock_out_dir(dir, Taker::Run).err().unwrap().to_string();
        let rewrite = lock_out_dir(dir, Taker::Rewrite).err().unwrap().to_string();
        child.kill().unwrap();
        child.wait().unwrap();
        let pid = holder.pid.to_string();
        assert!(
            run.starts_with(&format!("--out {}:", dir.display()))
                && run.contains(&pid)
                && run.ends_with("or choose another --out"),
            "{run}"
        );
        assert!(
            rewrite.starts_with(&format!("{}:", dir.display()))
                && rewrite.contains(&pid)
                && !rewrite.contains("--out"),
            "{rewrite}"
        );
    }

    /// A lock names its host. One from another host is refused, naming the
    /// host, the PID and the file to remove, and left in place; a stale one
    /// from this host, or from a binary that wrote no host, is taken over.
    #[test]
    fn a_lock_from_another_host_is_never_taken_over() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let lock = dir.join(LOCK_FILE);
        let guard = lock_out_dir(dir, Taker::Run).unwrap();
        let me = Holder::current();
        assert!(me.host.is_some(), "no host name here");
        assert_eq!(Holder::parse(&fs::read_to_string(&lock).unwrap()), Some(me));
        drop(guard);
        // PID 4194305 is above Linux's largest (2^22): never running here.
        fs::write(&lock, "4194305 7 node-b17\n").unwrap();
        let err = lock_out_dir(dir, Taker::Run).err().unwrap().to_string();
        assert!(
            err.contains("process 4194305 on host node-b17")
                && err.contains(&format!("remove {}", lock.display())),
            "{err}"
        );
        assert_eq!(fs::read_to_string(&lock).unwrap(), "4194305 7 node-b17\n");
        let here = hostname().unwrap();
        for stale in [format!("4194305 7 {here}\n"), "4194305 7\n".to_string()] {
            fs::write(&lock, stale).unwrap();
            drop(lock_out_dir(dir, Taker::Run).unwrap());
            assert!(!lock.exists());
        }
    }

    /// This process on host `host` in SLURM job `job` (restart count
    /// `restart`, array task `array`), or outside SLURM.
    fn me_in(host: &str, job: Option<(&str, Option<&str>, u32)>) -> Holder {
        Holder {
            host: Some(host.to_string()),
            slurm: job.map(|(job, array, restart)| SlurmJob {
                job: job.to_string(),
                array: array.map(str::to_string),
                restart,
            }),
            ..Holder::current()
        }
    }

    /// A requeued SLURM task on another node takes over the lock its killed
    /// earlier instance left (same job and array task, lower restart
    /// count), saying so; every other lock from another host is refused
    /// and left as it was: another job, another array task, the same
    /// instance (an srun step elsewhere), a lock without SLURM words (an
    /// older binary's), and a taker outside SLURM.
    #[test]
    fn a_requeued_slurm_job_takes_over_its_earlier_instance_lock() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let lock = dir.join(LOCK_FILE);
        let requeued = me_in("node-b", Some(("777", None, 1)));
        let refused = [
            ("4194305 7 node-a slurm-job=777 slurm-restart=0\n", None),
            (
                "4194305 7 node-a slurm-job=778 slurm-restart=0\n",
                Some(&requeued),
            ),
            (
                "4194305 7 node-a slurm-job=777 slurm-restart=1\n",
                Some(&requeued),
            ),
            ("4194305 7 node-a\n", Some(&requeued)),
            (
                "4194305 7 node-a slurm-job=777 slurm-array=770_2 slurm-restart=0\n",
                Some(&requeued),
            ),
        ];
        let outside = me_in("node-b", None);
        for (text, me) in refused {
            fs::write(&lock, text).unwrap();
            let err = lock_as(dir, me.unwrap_or(&outside)).err().unwrap();
            assert!(err.to_string().contains("on host node-a"), "{text}: {err}");
            assert_eq!(fs::read_to_string(&lock).unwrap(), text);
        }
        fs::write(&lock, "4194305 7 node-a slurm-job=777 slurm-restart=0\n").unwrap();
        let guard = lock_as(dir, &requeued).unwrap();
        assert_eq!(fs::read_to_string(&lock).unwrap(), requeued.text());
        drop(guard);
        assert!(!lock.exists());
        let task = me_in("node-b", Some(("781", Some("770_2"), 2)));
        fs::write(
            &lock,
            "4194305 7 node-a slurm-job=781 slurm-array=770_2 slurm-restart=1\n",
        )
        .unwrap();
        drop(lock_as(dir, &task).unwrap());
        let names: Vec<_> = fs::read_dir(dir).unwrap().collect();
        assert!(names.is_empty(), "left behind: {names:?}");
    }

    /// The SLURM words round-trip through the lock text, are read from the
    /// environment only where the IDs are numbers, and go only after a
    /// host (an older binary reads the third word as the host).
    #[test]
    fn a_lock_records_its_slurm_job() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                let hit = vars.iter().find(|(k, _)| *k == name);
                hit.map(|(_, v)| v.to_string())
            }
        };
        let job = SlurmJob::from_env(env(&[
            ("SLURM_JOB_ID", "781"),
            ("SLURM_ARRAY_JOB_ID", "770"),
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_RESTART_COUNT", "3"),
        ]));
        let expected = SlurmJob {
            job: "781".into(),
            array: Some("770_2".into()),
            restart: 3,
        };
        assert_eq!(job, Some(expected.clone()));
        let first = SlurmJob::from_env(env(&[("SLURM_JOB_ID", "5")])).unwrap();
        assert_eq!((first.array, first.restart), (None, 0));
        assert_eq!(SlurmJob::from_env(env(&[])), None);
        assert_eq!(SlurmJob::from_env(env(&[("SLURM_JOB_ID", "5 x")])), None);
        let holder = Holder {
            slurm: Some(expected),
            ..me_in("node-a", None)
        };
        assert_eq!(Holder::parse(&holder.text()), Some(holder.clone()));
        let hostless = Holder {
            host: None,
            ..holder
        };
        assert_eq!(hostless.text().split_whitespace().count(), 2);
    }

    /// Two processes that judged the same lock stale: the first claims it
    /// and links its own; the second's claim finds that new lock, puts it
    /// back and claims nothing (before 2026-12-06 it removed it). A claim
    /// leaves no file of its own behind.
    #[test]
    fn a_stale_lock_is_claimed_once() {
        let tmp = tempfile::tempdir().unwrap();
        let lock = tmp.path().join(LOCK_FILE);
        let stale = "4194305 7\n";
        fs::write(&lock, stale).unwrap();
        assert!(claim_stale(&lock, stale, 1));
        assert!(!lock.exists());
        fs::write(&lock, "4242 9 node-a\n").unwrap();
        assert!(!claim_stale(&lock, stale, 2));
        assert_eq!(fs::read_to_string(&lock).unwrap(), "4242 9 node-a\n");
        fs::remove_file(&lock).unwrap();
        assert!(!claim_stale(&lock, stale, 3), "no lock to claim");
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
    }

    /// A process whose lock another took (the three-way race of
    /// `claim_stale`) learns it before writing, and leaves the other's
    /// lock in place when it ends (it used to remove whatever was there).
    #[test]
    fn a_lost_lock_is_noticed_and_left_to_its_holder() {
        let tmp = tempfile::tempdir().unwrap();
        let me = me_in("node-a", None);
        let lock = lock_as(tmp.path(), &me).unwrap();
        lock.check_held().unwrap();
        let path = tmp.path().join(LOCK_FILE);
        let other = "4242 9 node-b\n";
        fs::write(&path, other).unwrap();
        let err = lock.check_held().unwrap_err().to_string();
        assert!(
            err.contains("4242 9 node-b") && err.contains("not written"),
            "{err}"
        );
        drop(lock);
        assert_eq!(fs::read_to_string(&path).unwrap(), other);
        fs::remove_file(&path).unwrap();
        let lock = lock_as(tmp.path(), &me).unwrap();
        drop(lock);
        assert!(!path.exists(), "a held lock is removed at the end");
    }
}
