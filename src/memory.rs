//! Memory before allocation. Every study (`Study::peak_memory`) and every
//! bench estimates its peak memory from its spec or arguments before it
//! allocates anything, and a run whose estimate is above the limit (the
//! memory available now, or `--max-memory SIZE`) exits 2 naming the key
//! that drives the estimate. Without this, an oversized spec reached the
//! allocator, which aborts the process (exit 134, "memory allocation of
//! ... bytes failed") with nothing naming the spec.
//!
//! An estimate is a sum of terms, each `bytes per element x the product of
//! its counts` (a count is a spec value, or a number derived from several,
//! named by the key to lower). The message names the largest term and, in
//! it, the largest count's key. Estimates count the arrays that grow with
//! the spec, rounded up (working copies included), and leave out what does
//! not grow (a few MiB of code, stacks and small tables), so they are
//! upper bounds for large runs and not meant to be exact for small ones.

use crate::error::{Error, Result};

/// Bytes of an f64.
pub const F64: f64 = 8.0;
/// Bytes of an f32.
pub const F32: f64 = 4.0;
/// Bytes of one metrics.csv row while a run holds it: the `MetricRow`
/// (three `String`s of 24 bytes, their heap blocks of up to 32 bytes each,
/// step and value: about 180 bytes) and its line of CSV text (about 60),
/// rounded up.
pub const METRIC_ROW: f64 = 256.0;

/// What every run holds whatever its spec: code, OpenBLAS's buffers, the
/// fonts and the figures' bitmaps (a quick xor run peaks at 17 MiB resident,
/// `overfit list` at 8 MiB; the full xor run at 2 threads at 82 MiB, of
/// which the estimated arrays are 72 MiB), rounded up. Part of every estimate.
pub const PROGRAM: f64 = 64.0 * 1024.0 * 1024.0;

/// One term of an estimate: `scale` bytes times the product of `counts`.
#[derive(Clone, Debug)]
struct Term {
    what: String,
    scale: f64,
    counts: Vec<(String, f64)>,
}

impl Term {
    fn bytes(&self) -> f64 {
        self.counts.iter().fold(self.scale, |b, (_, c)| b * c)
    }
    /// The key of the largest count (the one to lower).
    fn key(&self) -> &str {
        self.counts
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map_or("", |(k, _)| k.as_str())
    }
}

/// A peak-memory estimate: a sum of terms (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct Peak {
    terms: Vec<Term>,
}

impl Peak {
    pub fn new() -> Self {
        Peak::default()
    }

    /// Add the term `what`: `scale` bytes times the product of `counts`
    /// (key, count). Counts are f64 so that no product overflows.
    pub fn add(&mut self, what: &str, scale: f64, counts: &[(&str, f64)]) -> &mut Self {
        self.terms.push(Term {
            what: what.to_string(),
            scale,
            counts: counts.iter().map(|(k, c)| (k.to_string(), *c)).collect(),
        });
        self
    }

    /// Add every term of `other` (parts held at the same time).
    pub fn extend(&mut self, other: Peak) {
        self.terms.extend(other.terms);
    }

    /// The estimate in bytes: the terms and `PROGRAM`.
    pub fn bytes(&self) -> f64 {
        PROGRAM + self.terms.iter().map(Term::bytes).sum::<f64>()
    }

    /// The largest term: (its key, what it is, its bytes).
    pub fn largest(&self) -> Option<(&str, &str, f64)> {
        self.terms
            .iter()
            .max_by(|a, b| a.bytes().total_cmp(&b.bytes()))
            .map(|t| (t.key(), t.what.as_str(), t.bytes()))
    }
}

/// How many units run at once: `threads`, or fewer when there are fewer units.
pub fn concurrent(threads: usize, units: f64) -> f64 {
    (threads as f64).min(units).max(1.0)
}

/// The limit a run must stay under, in bytes, and where it comes from:
/// `--max-memory` when given, else the memory available now (`available`);
/// None when neither is known (no check).
pub fn limit(max_memory: Option<u64>) -> Option<(f64, String)> {
    match max_memory {
        Some(b) => Some((b as f64, "--max-memory".to_string())),
        None => available().map(|b| {
            (
                b as f64,
                "the memory available now; --max-memory SIZE overrides".to_string(),
            )
        }),
    }
}

/// The memory this process may still use: MemAvailable of /proc/meminfo,
/// or less when a cgroup's limit leaves less (`cgroup_headroom` over the
/// process's own cgroup, from /proc/self/cgroup). None off Linux.
pub fn available() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    let mut bytes = kib.saturating_mul(1024);
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    if let Some(left) = cgroup_headroom(std::path::Path::new("/sys/fs/cgroup"), &own) {
        bytes = bytes.min(left);
    }
    Some(bytes)
}

/// The least `limit - (usage - inactive file pages)` over the memory cgroups that hold this
/// process (`cgroup_dirs`), read under `root` (/sys/fs/cgroup): v2's
/// memory.max and memory.current, v1's memory.limit_in_bytes and
/// memory.usage_in_bytes. Usage counts the page cache, which the kernel
/// reclaims before it refuses memory, so the inactive file pages
/// (memory.stat's `inactive_file`, v1 `total_inactive_file`: the working
/// set of kubelet and `docker stats`) are taken off it; without that, a job
/// that had read large files looked full. A cgroup limits its whole subtree, so every
/// ancestor counts: a SLURM job's limit sits at .../job_N/ (or
/// .../job_N/step_0/), not at the root, which a job without a cgroup
/// namespace sees as unlimited. "max" (no limit) and missing files are
/// skipped; None when no level has a limit.
fn cgroup_headroom(root: &std::path::Path, proc_self_cgroup: &str) -> Option<u64> {
    let read = |path: std::path::PathBuf| -> Option<u64> {
        std::fs::read_to_string(path).ok()?.trim().parse().ok()
    };
    let stat = |path: std::path::PathBuf, key: &str| -> Option<u64> {
        let text = std::fs::read_to_string(path).ok()?;
        text.lines().find_map(|l| {
            let (k, v) = l.split_once(' ')?;
            (k == key).then(|| v.trim().parse().ok()).flatten()
        })
    };
    cgroup_dirs(root, proc_self_cgroup)
        .into_iter()
        .filter_map(|(dir, v2)| {
            let (max, current, cache) = if v2 {
                ("memory.max", "memory.current", "inactive_file")
            } else {
                (
                    "memory.limit_in_bytes",
                    "memory.usage_in_bytes",
                    "total_inactive_file",
                )
            };
            let reclaimable = stat(dir.join("memory.stat"), cache).unwrap_or(0);
            let used = read(dir.join(current))?.saturating_sub(reclaimable);
            Some(read(dir.join(max))?.saturating_sub(used))
        })
        .min()
}

/// The memory cgroup directories of this process under `root`, innermost
/// first, with whether each is v2, from the text of /proc/self/cgroup:
/// the v2 line `0::/path` gives root/path, a v1 line `N:...memory...:/path`
/// gives root/memory/path; each with its ancestors up to the hierarchy's
/// root. Components other than names (`..`, `.`) end the walk there.
fn cgroup_dirs(root: &std::path::Path, proc_self_cgroup: &str) -> Vec<(std::path::PathBuf, bool)> {
    let mut dirs = Vec::new();
    for line in proc_self_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let (base, v2) = if id == "0" && controllers.is_empty() {
            (root.to_path_buf(), true)
        } else if controllers.split(',').any(|c| c == "memory") {
            (root.join("memory"), false)
        } else {
            continue;
        };
        let names: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
        if names.iter().any(|c| *c == "." || *c == "..") {
            dirs.push((base, v2));
            continue;
        }
        for depth in (0..=names.len()).rev() {
            dirs.push((
                names[..depth].iter().fold(base.clone(), |d, c| d.join(c)),
                v2,
            ));
        }
    }
    dirs
}

/// `--max-memory SIZE`: bytes, or a number with a binary suffix K, M, G or
/// T (optionally followed by `B` or `iB`): `8G`, `512M`, `1.5T`.
pub fn parse_size(text: &str) -> std::result::Result<u64, String> {
    let t = text.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (number, power) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let power = match c.to_ascii_uppercase() {
                'K' => 1,
                'M' => 2,
                'G' => 3,
                'T' => 4,
                _ => return Err(format!("{text:?}: the suffix must be K, M, G or T")),
            };
            (&t[..i], power)
        }
        _ => (t, 0),
    };
    let v: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?}: expected a size such as 8G, 512M or 1000000"))?;
    let bytes = v * 1024f64.powi(power);
    if bytes.is_nan() || bytes < 1.0 {
        return Err(format!("{text:?}: the size must be at least 1 byte"));
    }
    if bytes >= u64::MAX as f64 {
        return Err(format!("{text:?}: the size must be below 16 EiB"));
    }
    Ok(bytes as u64)
}

/// `bytes` for a message: binary units with 3 significant digits and the
/// plain count, e.g. `14.2 PiB (1.6e16 bytes)`.
pub fn human(bytes: f64) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = bytes;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes:.0} bytes")
    } else {
        format!("{v:.3} {} ({bytes:.2e} bytes)", units[u])
    }
}

/// Refuse (exit 2) an estimate above `limit`; `bad(key, message)` makes the
/// error (naming the spec file, or the bench's flag). Passes when the limit
/// is unknown.
pub fn check(
    peak: &Peak,
    limit: Option<(f64, String)>,
    bad: impl Fn(&str, String) -> Error,
) -> Result<()> {
    let Some((limit, source)) = limit else {
        return Ok(());
    };
    let total = peak.bytes();
    if total <= limit {
        return Ok(());
    }
    // Below the program's own share no spec key can help: say so, naming
    // the limit rather than a key (review finding, 2026-12-07).
    if limit < PROGRAM {
        return Err(Error::bad(format!(
            "{source}: the limit of {} is below the program's own share of about {} (memory::PROGRAM), so no run fits under it",
            human(limit),
            human(PROGRAM)
        )));
    }
    let (key, what, bytes) = peak
        .largest()
        .expect("an estimate above the limit has terms");
    Err(bad(
        key,
        format!(
            "the run needs about {} of memory, above the limit of {} ({source}); the largest part is {what}, {}, besides the program's own {}",
            human(total),
            human(limit),
            human(bytes),
            human(PROGRAM)
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("8G"), Ok(8 << 30));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("1.5T"), Ok(3 << 39));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("2k"), Ok(2048));
        for bad in ["", "G", "8X", "-1G", "0", "nan", "1e30T"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        // Too large is said as such (it was called "at least 1 byte").
        for huge in ["99999999999999999999G", "20000000000T", "1e300"] {
            let e = parse_size(huge).unwrap_err();
            assert!(e.ends_with("the size must be below 16 EiB"), "{e}");
        }
        assert!(parse_size("0.1").unwrap_err().ends_with("at least 1 byte"));
    }

    #[test]
    fn the_largest_term_names_its_largest_count() {
        let mut p = Peak::new();
        p.add("points", F64, &[("data.n", 1e6), ("data.p", 1e4)]);
        p.add("weights", F64, &[("model.m", 1e3), ("data.p", 1e4)]);
        assert_eq!(p.bytes(), PROGRAM + 8.0 * (1e10 + 1e7));
        assert_eq!(p.largest(), Some(("data.n", "points", 8e10)));
        let bad = |k: &str, m: String| Error::bad(format!("key `{k}`: {m}"));
        assert!(check(&p, Some((1e11, "test".into())), bad).is_ok());
        let e = check(&p, Some((1e9, "test".into())), bad).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("key `data.n`") && msg.contains("GiB"), "{msg}");
        assert_eq!(e.exit_code(), 2);
        assert!(check(&p, None, bad).is_ok());
        // Below the program's own share, the limit is named, not a key.
        let msg = check(&p, Some((1e6, "--max-memory".into())), bad)
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with("--max-memory: the limit of")
                && msg.contains("memory::PROGRAM")
                && !msg.contains("data.n"),
            "{msg}"
        );
        assert_eq!(concurrent(16, 3.0), 3.0);
        assert_eq!(concurrent(2, 1e9), 2.0);
    }

    /// A SLURM job without a cgroup namespace: its limit is at
    /// job_7/memory.max (4 GiB, 1 GiB used), its step's is "max", the root
    /// has no files; the root alone (the old reading) saw no limit.
    #[test]
    fn the_own_cgroup_and_its_ancestors_limit_memory() {
        let root = std::env::temp_dir().join(format!("overfit-cgroup-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let job = root.join("system.slice/slurmstepd.scope/job_7");
        let step = job.join("step_0");
        std::fs::create_dir_all(&step).unwrap();
        let write =
            |dir: &std::path::Path, name: &str, v: &str| std::fs::write(dir.join(name), v).unwrap();
        write(&job, "memory.max", "4294967296\n");
        write(&job, "memory.current", "1073741824\n");
        write(&step, "memory.max", "max\n");
        write(&step, "memory.current", "1000\n");
        let own = "0::/system.slice/slurmstepd.scope/job_7/step_0\n";
        assert_eq!(cgroup_headroom(&root, own), Some(3 << 30));
        // A tighter step limit wins; "max" everywhere, or no cgroup line, is no limit.
        write(&step, "memory.max", "2147483648\n");
        assert_eq!(cgroup_headroom(&root, own), Some((2 << 30) - 1000));
        // The job read large files: 512 MiB of its usage is inactive page
        // cache, which the kernel reclaims before it refuses memory.
        let stat = "anon 536870912\nfile 536870912\nactive_file 0\ninactive_file 536870912\n";
        write(&job, "memory.stat", stat);
        write(&step, "memory.max", "max\n");
        assert_eq!(cgroup_headroom(&root, own), Some((3 << 30) + (1 << 29)));
        write(&step, "memory.max", "2147483648\n");
        assert_eq!(cgroup_headroom(&root, "0::/elsewhere\n"), None);
        assert_eq!(cgroup_headroom(&root, ""), None);
        // cgroup v1: the memory controller's own hierarchy.
        let v1 = root.join("memory/slurm/uid_0/job_7");
        std::fs::create_dir_all(&v1).unwrap();
        write(&v1, "memory.limit_in_bytes", "1048576");
        write(&v1, "memory.usage_in_bytes", "524288");
        let own = "12:pids:/slurm/uid_0/job_7\n4:cpuset,memory:/slurm/uid_0/job_7\n";
        assert_eq!(cgroup_headroom(&root, own), Some(524288));
        // Inactive page cache is reclaimable: it does not count as used.
        write(
            &v1,
            "memory.stat",
            "cache 400000\ntotal_inactive_file 200000\n",
        );
        assert_eq!(cgroup_headroom(&root, own), Some(524288 + 200000));
        let dirs = cgroup_dirs(&root, own);
        assert_eq!(dirs.len(), 4, "{dirs:?}");
        assert_eq!(dirs[3], (root.join("memory"), false));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn available_memory_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            let b = available().expect("MemAvailable");
            assert!(b > 1 << 20, "{b}");
        }
    }
}
