//! What a run writes (design.md contract): the resolved spec, metrics.csv in
//! long format, summary.json with the claims, and figures. Every file is
//! written to a temporary name in the same directory and renamed, so a crash
//! at any moment leaves either the old complete file or the new one.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Write `bytes` to `path` atomically: temp file in the same directory, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// Remove the temporary files a killed writer left in `dir` (names `.<file>.tmp*`
/// from `write_atomic` and `.<stem>.tmp.png` / `.<stem>.svg.tmp` from the figures).
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

/// The process holding a lock: its PID and its start time (clock ticks
/// after boot, from /proc; 0 where /proc is missing), so a PID reused by
/// another process does not pass for the holder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Holder {
    pid: u32,
    start: u64,
}

impl Holder {
    fn current() -> Holder {
        let pid = std::process::id();
        Holder {
            pid,
            start: Self::start_of(pid).unwrap_or(0),
        }
    }

    /// Field 22 (starttime) of /proc/PID/stat, counted after the command name.
    fn start_of(pid: u32) -> Option<u64> {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(19)?
            .parse()
            .ok()
    }

    fn parse(text: &str) -> Option<Holder> {
        let mut it = text.split_whitespace().map(str::parse::<u64>);
        let pid = u32::try_from(it.next()?.ok()?).ok()?;
        let start = it.next()?.ok()?;
        Some(Holder { pid, start })
    }

    fn text(&self) -> String {
        format!("{} {}\n", self.pid, self.start)
    }

    /// Whether the holder still runs (always assumed without /proc).
    fn alive(&self) -> bool {
        if !Path::new("/proc/self/stat").exists() {
            return true;
        }
        Self::start_of(self.pid) == Some(self.start)
    }
}

/// The lock on an output directory: DIR/.lock names the process writing it
/// and is removed when the guard drops. A run killed with SIGKILL leaves it
/// behind; the next run takes it over with a warning once that process is
/// gone.
pub struct OutLock {
    path: PathBuf,
    /// False when this process already held the lock (merge, then its run).
    owned: bool,
}

impl Drop for OutLock {
    fn drop(&mut self) {
        if self.owned {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Take DIR/.lock or fail with exit 2 naming its holder. The file is
/// written whole under a private name and hard-linked into place, which
/// fails atomically when it exists. A stale lock (its process has ended) is
/// removed, if it still holds the same text, and taken once more.
fn lock_out_dir(dir: &Path) -> Result<OutLock> {
    let path = dir.join(".lock");
    let me = Holder::current();
    let fresh = dir.join(format!(".lock-new-{}", me.pid));
    fs::write(&fresh, me.text()).map_err(|e| Error::io(&fresh, e))?;
    let taken = (|| {
        for _ in 0..2 {
            match fs::hard_link(&fresh, &path) {
                Ok(()) => return Ok(true),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::io(&path, e)),
            }
            let text = fs::read_to_string(&path).unwrap_or_default();
            match Holder::parse(&text) {
                Some(h) if h == me => return Ok(false),
                Some(h) if h.alive() => {
                    return Err(Error::bad(format!(
                        "--out {}: in use by overfit process {} ({}); wait for it to finish or choose another --out",
                        dir.display(),
                        h.pid,
                        path.display()
                    )))
                }
                holder => {
                    let who = holder.map_or("an unreadable lock".to_string(), |h| {
                        format!("process {}, which is no longer running", h.pid)
                    });
                    eprintln!(
                        "warning: {}: taking over the stale lock of {who}",
                        path.display()
                    );
                    if fs::read_to_string(&path).unwrap_or_default() == text {
                        let _ = fs::remove_file(&path);
                    }
                }
            }
        }
        Err(Error::bad(format!(
            "--out {}: another run took the lock {} first",
            dir.display(),
            path.display()
        )))
    })();
    let _ = fs::remove_file(&fresh);
    Ok(OutLock {
        path,
        owned: taken?,
    })
}

/// Create the output directory (and figures/) or fail with exit 2 naming it,
/// and lock it for this process (`OutLock`: hold the guard while writing).
/// Checks writability up front so a long run cannot fail at the end.
pub fn prepare_out_dir(dir: &Path) -> Result<OutLock> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::bad(format!(
            "--out {}: exists and is not a directory",
            dir.display()
        )));
    }
    fs::create_dir_all(dir.join("figures")).map_err(|e| {
        Error::bad(format!(
            "--out {}: cannot create directory ({e})",
            dir.display()
        ))
    })?;
    let probe = dir.join(format!(".write-probe{}", std::process::id()));
    fs::write(&probe, b"")
        .map_err(|e| Error::bad(format!("--out {}: not writable ({e})", dir.display())))?;
    let _ = fs::remove_file(probe);
    let lock = lock_out_dir(dir)?;
    // Under the lock, no other run's temporary files can be here.
    remove_stale_temps(dir);
    remove_stale_temps(&dir.join("figures"));
    Ok(lock)
}

/// One measurement: run id, step, split ("train", "test", ...), metric name, value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    pub run: String,
    pub step: u64,
    pub split: String,
    pub metric: String,
    pub value: f64,
}

/// The long-format table of a run, in insertion order.
#[derive(Default, Clone, Debug, Serialize, Deserialize)]
pub struct Metrics {
    pub rows: Vec<MetricRow>,
}

impl Metrics {
    pub fn push(&mut self, run: &str, step: u64, split: &str, metric: &str, value: f64) {
        self.rows.push(MetricRow {
            run: run.to_string(),
            step,
            split: split.to_string(),
            metric: metric.to_string(),
            value,
        });
    }

    pub fn extend(&mut self, other: Metrics) {
        self.rows.extend(other.rows);
    }

    /// CSV text: header then one row per measurement. Floats use Rust's
    /// shortest round-trip form, so equal values give equal bytes.
    pub fn to_csv(&self) -> String {
        let mut s = String::from("run,step,split,metric,value\n");
        for r in &self.rows {
            let _ = writeln!(
                s,
                "{},{},{},{},{}",
                r.run,
                r.step,
                r.split,
                r.metric,
                csv_float(r.value)
            );
        }
        s
    }

    pub fn read(path: &Path) -> Result<Metrics> {
        let mut rdr = csv::Reader::from_path(path)
            .map_err(|e| Error::bad(format!("{}: {e}", path.display())))?;
        let mut rows = Vec::new();
        for (i, rec) in rdr.deserialize().enumerate() {
            let row: MetricRow =
                rec.map_err(|e| Error::bad(format!("{}: row {}: {e}", path.display(), i + 2)))?;
            rows.push(row);
        }
        Ok(Metrics { rows })
    }

    /// Values of (split, metric) for each run, as run -> [(step, value)] in insertion order.
    pub fn series(&self, split: &str, metric: &str) -> Vec<(String, Vec<(u64, f64)>)> {
        let mut out: Vec<(String, Vec<(u64, f64)>)> = Vec::new();
        for r in self
            .rows
            .iter()
            .filter(|r| r.split == split && r.metric == metric)
        {
            match out.iter_mut().find(|(run, _)| *run == r.run) {
                Some((_, v)) => v.push((r.step, r.value)),
                None => out.push((r.run.clone(), vec![(r.step, r.value)])),
            }
        }
        out
    }
}

/// Shortest round-trip text of a float: plain in [1e-4, 1e15), scientific outside.
pub fn csv_float(x: f64) -> String {
    if x == 0.0 || !x.is_finite() || (1e-4..1e15).contains(&x.abs()) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

/// All records of a CSV file the run wrote (header skipped), errors naming the file.
pub fn read_csv_records(path: &Path) -> Result<Vec<csv::StringRecord>> {
    let mut rdr =
        csv::Reader::from_path(path).map_err(|e| Error::bad(format!("{}: {e}", path.display())))?;
    rdr.records()
        .map(|r| r.map_err(|e| Error::bad(format!("{}: {e}", path.display()))))
        .collect()
}

/// Column `i` of a CSV record as a number, or an error naming the file and column.
pub fn csv_number(path: &Path, rec: &csv::StringRecord, i: usize) -> Result<f64> {
    rec.get(i)
        .and_then(|s| s.parse::<f64>().ok())
        .ok_or_else(|| {
            Error::bad(format!(
                "{}: bad value in column {} of {:?}",
                path.display(),
                i + 1,
                rec
            ))
        })
}

/// What theory predicts for a measured quantity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Prediction {
    AtLeast {
        bound: f64,
    },
    AtMost {
        bound: f64,
    },
    /// |measured - value| <= tolerance.
    Near {
        value: f64,
        tolerance: f64,
    },
    Interval {
        low: f64,
        high: f64,
    },
}

impl Prediction {
    pub fn admits(&self, x: f64) -> bool {
        match *self {
            Prediction::AtLeast { bound } => x >= bound,
            Prediction::AtMost { bound } => x <= bound,
            Prediction::Near { value, tolerance } => (x - value).abs() <= tolerance,
            Prediction::Interval { low, high } => (low..=high).contains(&x),
        }
    }

    /// Every parameter is a number (bounds may be infinite, not NaN;
    /// tolerances not negative).
    pub fn is_defined(&self) -> bool {
        match *self {
            Prediction::AtLeast { bound } | Prediction::AtMost { bound } => !bound.is_nan(),
            Prediction::Near { value, tolerance } => value.is_finite() && tolerance >= 0.0,
            Prediction::Interval { low, high } => !low.is_nan() && !high.is_nan() && low <= high,
        }
    }

    pub fn describe(&self) -> String {
        match *self {
            Prediction::AtLeast { bound } => format!(">= {}", fmt_num(bound)),
            Prediction::AtMost { bound } => format!("<= {}", fmt_num(bound)),
            Prediction::Near { value, tolerance } => {
                format!("{} +- {}", fmt_num(value), fmt_num(tolerance))
            }
            Prediction::Interval { low, high } => format!("[{}, {}]", fmt_num(low), fmt_num(high)),
        }
    }
}

/// Compact number formatting for tables.
pub fn fmt_num(x: f64) -> String {
    if x == 0.0 || (1e-3..1e5).contains(&x.abs()) {
        let s = format!("{x:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    } else {
        format!("{x:.3e}")
    }
}

/// JSON has no NaN: serde_json writes it as null, and this reads null back as NaN.
fn null_as_nan<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// A measured value with its spread over runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    /// The statistic compared with the prediction (a median, a fraction, ...); null in JSON = NaN.
    #[serde(deserialize_with = "null_as_nan")]
    pub value: f64,
    /// 20% and 80% quantiles over runs, where the value summarises runs.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub q20: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub q80: Option<f64>,
    /// Number of runs the statistic is over.
    pub runs: usize,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub note: String,
}

impl Measured {
    pub fn single(value: f64) -> Self {
        Measured {
            value,
            q20: None,
            q80: None,
            runs: 1,
            note: String::new(),
        }
    }

    /// The median of per-run values with their 20-80% quantile band.
    pub fn median_of(values: &[f64]) -> Self {
        Measured {
            value: quantile(values, 0.5),
            q20: Some(quantile(values, 0.2)),
            q80: Some(quantile(values, 0.8)),
            runs: values.len(),
            note: String::new(),
        }
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }
}

/// What a row of summary.json is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A statement of a paper or a theory, with its source: counted in "N of M hold".
    #[default]
    Claim,
    /// A sanity property of the simulation (an identity, an invariance by
    /// construction, a fit by construction): reported apart, never counted
    /// with the claims.
    Check,
}

/// The verdict of a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Holds,
    Fails,
    /// The measurement is undefined, for the reason the row records (nothing
    /// interpolated within the budget, too few runs, ...): neither a
    /// confirmation nor a refutation.
    Inconclusive,
}

/// A paper's statement (or a sanity check) put against the simulation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    pub id: String,
    pub statement: String,
    /// Paper and theorem / figure.
    pub source: String,
    pub predicted: Prediction,
    pub measured: Measured,
    /// `verdict == Holds`, kept for readers of older summaries.
    pub holds: bool,
    /// Absent in summaries written before kinds existed: a claim.
    #[serde(default)]
    pub kind: Kind,
    /// Absent in older summaries: recomputed from `predicted` and `measured`
    /// by the same rule as `Claim::new` (see `Claim::verdict`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// Why the verdict is inconclusive (empty otherwise).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

impl Claim {
    /// The verdict is computed here, from the prediction and the measurement
    /// only: inconclusive when the measurement is not a finite number (the
    /// reason is the measurement's note, or says that it is undefined).
    pub fn new(
        id: impl Into<String>,
        statement: impl Into<String>,
        source: impl Into<String>,
        predicted: Prediction,
        measured: Measured,
    ) -> Self {
        let (verdict, reason) = judge(&predicted, &measured);
        Claim {
            id: id.into(),
            statement: statement.into(),
            source: source.into(),
            predicted,
            measured,
            holds: verdict == Verdict::Holds,
            kind: Kind::Claim,
            verdict: Some(verdict),
            reason,
        }
    }

    /// The same row as a sanity `check` of the simulation, not a paper claim.
    pub fn as_check(mut self) -> Self {
        self.kind = Kind::Check;
        self
    }

    /// The verdict: as recorded, or for a summary written before verdicts
    /// existed, recomputed from its prediction and measurement.
    pub fn verdict(&self) -> Verdict {
        self.verdict
            .unwrap_or_else(|| judge(&self.predicted, &self.measured).0)
    }
}

/// The one verdict rule (see `Claim::new`).
fn judge(predicted: &Prediction, measured: &Measured) -> (Verdict, String) {
    if !predicted.is_defined() {
        let reason = format!("the prediction is undefined ({})", predicted.describe());
        return (Verdict::Inconclusive, reason);
    }
    if !measured.value.is_finite() {
        let reason = if measured.note.is_empty() {
            "the measurement is undefined (not a finite number)".to_string()
        } else {
            measured.note.clone()
        };
        return (Verdict::Inconclusive, reason);
    }
    if predicted.admits(measured.value) {
        (Verdict::Holds, String::new())
    } else {
        (Verdict::Fails, String::new())
    }
}

/// Linear-interpolated quantile of unsorted values (NaN-free input), q in [0, 1].
pub fn quantile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let pos = q * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// summary.json.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Summary {
    pub name: String,
    pub study: String,
    pub seed: u64,
    pub version: String,
    pub elapsed_s: f64,
    pub threads: usize,
    pub quick: bool,
    /// The CPU and BLAS core the run used (absent in older summaries).
    #[serde(default)]
    pub machine: crate::blas::Machine,
    /// Where the result came from: commit, command, times, resources
    /// (absent in older summaries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
    pub claims: Vec<Claim>,
    /// Study-specific details (assumption checks, engine used, ...).
    #[serde(default)]
    pub details: serde_json::Value,
}

impl Summary {
    pub fn read(dir: &Path) -> Result<Summary> {
        let path = dir.join("summary.json");
        let text = fs::read_to_string(&path)
            .map_err(|e| Error::bad(format!("{}: {e}", path.display())))?;
        serde_json::from_str(&text).map_err(|e| Error::bad(format!("{}: {e}", path.display())))
    }

    pub fn write(&self, dir: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("summary serialises");
        write_atomic(&dir.join("summary.json"), text.as_bytes())
    }
}

/// Where a result came from, recorded in summary.json.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The git commit the binary was built from (40 hex digits, or "unknown").
    pub commit: String,
    /// Whether the build's work tree had uncommitted changes ("true",
    /// "false" or "unknown").
    pub dirty: String,
    /// The command line of the process that wrote the summary.
    pub command: Vec<String>,
    /// Start and end, seconds since the Unix epoch (UTC).
    pub started_unix_s: f64,
    pub finished_unix_s: f64,
    pub wall_s: f64,
    /// User + system CPU seconds of the process.
    pub cpu_s: f64,
    /// Peak resident memory of the process, MiB.
    pub peak_rss_mib: f64,
}

impl Provenance {
    /// The provenance of a run that started `wall_s` seconds ago.
    pub fn now(wall_s: f64) -> Self {
        let finished = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(f64::NAN);
        Provenance {
            commit: env!("OVERFIT_GIT_COMMIT").to_string(),
            dirty: env!("OVERFIT_GIT_DIRTY").to_string(),
            command: std::env::args().collect(),
            started_unix_s: finished - wall_s,
            finished_unix_s: finished,
            wall_s,
            cpu_s: process_cpu_seconds(),
            peak_rss_mib: peak_rss_mib(),
        }
    }
}

/// utime + stime of this process (/proc/self/stat, in clock ticks of 1/100 s,
/// Linux's USER_HZ); NaN elsewhere.
fn process_cpu_seconds() -> f64 {
    let Ok(stat) = fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // Fields after the parenthesised command name; utime, stime are 14 and 15.
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(u), Some(s)) => (u + s) / 100.0,
        _ => f64::NAN,
    }
}

/// VmHWM of this process (/proc/self/status), MiB; NaN elsewhere.
fn peak_rss_mib() -> f64 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The paths of a run directory.
pub struct RunDir {
    pub root: PathBuf,
}

impl RunDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        RunDir { root: root.into() }
    }
    pub fn metrics(&self) -> PathBuf {
        self.root.join("metrics.csv")
    }
    pub fn spec(&self) -> PathBuf {
        self.root.join("spec.toml")
    }
    pub fn figures(&self) -> PathBuf {
        self.root.join("figures")
    }
    pub fn file(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn claims_can_fail() {
        let c = Claim::new(
            "x",
            "s",
            "src",
            Prediction::AtLeast { bound: 0.9 },
            Measured::single(0.5),
        );
        assert!(!c.holds);
        let c = Claim::new(
            "x",
            "s",
            "src",
            Prediction::Near {
                value: 1.0,
                tolerance: 0.1,
            },
            Measured::single(f64::NAN),
        );
        assert!(!c.holds);
    }

    #[test]
    fn quantiles() {
        let v = [3.0, 1.0, 2.0, 4.0, 5.0];
        assert_eq!(quantile(&v, 0.5), 3.0);
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert!((quantile(&v, 0.2) - 1.8).abs() < 1e-12);
    }

    #[test]
    fn metrics_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = Metrics::default();
        m.push("left:0", 3, "test", "accuracy", 0.125);
        m.push("left:0", 4, "test", "accuracy", 1e-300);
        let p = dir.path().join("metrics.csv");
        write_atomic(&p, m.to_csv().as_bytes()).unwrap();
        let back = Metrics::read(&p).unwrap();
        assert_eq!(back.rows, m.rows);
    }
}

/// The per-unit cache that makes sweeps resumable and shardable: the result
/// of job i of sweep `label` lives in DIR/.units/<label>/<i>.toml, written
/// atomically when the job finishes. TOML keeps NaN and inf exactly, and
/// floats round-trip bit for bit, so a resumed or merged run assembles the
/// same bytes as an uninterrupted one.
pub struct UnitStore {
    root: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct UnitFile<T> {
    result: T,
}

/// A resolved spec without its comment lines (which name the path it came from).
fn spec_identity(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

impl UnitStore {
    pub fn new(out: &Path) -> Self {
        UnitStore {
            root: out.join(".units"),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn sweep_dir(&self, label: &str) -> PathBuf {
        let safe: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.root.join(safe)
    }

    pub fn path(&self, label: &str, index: usize) -> PathBuf {
        self.sweep_dir(label).join(format!("{index:06}.toml"))
    }

    /// Where an unfinished unit keeps its mid-run state (a long training's
    /// last checkpoint epoch); removed when the unit is saved. Not a unit:
    /// `absorb` leaves it behind.
    pub fn state_path(&self, label: &str, index: usize) -> PathBuf {
        self.sweep_dir(label)
            .join(format!("{index:06}.state.safetensors"))
    }

    /// Start (or continue, with `resume`) a run of the spec whose resolved text is given.
    /// A fresh run discards any earlier units; resuming a different spec is an error.
    pub fn open(&self, resolved_spec: &str, resume: bool) -> Result<()> {
        let spec_path = self.root.join("spec.toml");
        let same = fs::read_to_string(&spec_path)
            .map(|old| spec_identity(&old) == spec_identity(resolved_spec))
            .unwrap_or(false);
        if resume && spec_path.exists() && !same {
            return Err(Error::bad(format!(
                "--resume: {} holds units of a different spec; run without --resume to start over",
                self.root.display()
            )));
        }
        if !resume && self.root.exists() {
            fs::remove_dir_all(&self.root).map_err(|e| Error::io(&self.root, e))?;
        }
        fs::create_dir_all(&self.root).map_err(|e| Error::io(&self.root, e))?;
        remove_stale_temps(&self.root);
        if let Ok(entries) = fs::read_dir(&self.root) {
            entries
                .flatten()
                .filter(|e| e.path().is_dir())
                .for_each(|e| remove_stale_temps(&e.path()));
        }
        write_atomic(&spec_path, resolved_spec.as_bytes())
    }

    pub fn load<T: serde::de::DeserializeOwned>(
        &self,
        label: &str,
        index: usize,
    ) -> Result<Option<T>> {
        let path = self.path(label, index);
        match fs::read_to_string(&path) {
            Ok(text) => toml::from_str::<UnitFile<T>>(&text)
                .map(|u| Some(u.result))
                .map_err(|e| {
                    Error::bad(format!(
                        "{}: corrupt unit ({})",
                        path.display(),
                        e.message()
                    ))
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    pub fn save<T: Serialize>(&self, label: &str, index: usize, result: &T) -> Result<()> {
        let dir = self.sweep_dir(label);
        fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let text = toml::to_string(&UnitFile { result })
            .map_err(|e| Error::bad(format!("unit {label}/{index}: cannot serialise ({e})")))?;
        write_atomic(&self.path(label, index), text.as_bytes())?;
        let _ = fs::remove_file(self.state_path(label, index));
        Ok(())
    }

    /// Remove the cache once the run's final files are written.
    pub fn close(&self) {
        let _ = fs::remove_dir_all(&self.root);
    }

    /// Copy every unit of `other` into this store (used by `overfit merge`).
    pub fn absorb(&self, other: &UnitStore) -> Result<usize> {
        let mut copied = 0;
        let entries = fs::read_dir(&other.root)
            .map_err(|e| Error::bad(format!("{}: {e}", other.root.display())))?;
        for sweep in entries.flatten().filter(|e| e.path().is_dir()) {
            let target = self.root.join(sweep.file_name());
            fs::create_dir_all(&target).map_err(|e| Error::io(&target, e))?;
            for unit in fs::read_dir(sweep.path())
                .map_err(|e| Error::io(&sweep.path(), e))?
                .flatten()
                .filter(|u| u.path().extension().is_some_and(|x| x == "toml"))
            {
                let bytes = fs::read(unit.path()).map_err(|e| Error::io(&unit.path(), e))?;
                write_atomic(&target.join(unit.file_name()), &bytes)?;
                copied += 1;
            }
        }
        Ok(copied)
    }
}
