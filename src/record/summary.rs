//! summary.json: the run's header, its claims and details, where the
//! result came from (`Provenance`), and each `overfit rejudge` since.

use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Claim, Rejudge};
use crate::error::{Error, Result};
use crate::fsio::write_atomic;

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
    /// `spec_hash` of the run's spec.toml as the run wrote it, so that
    /// `overfit rejudge` can tell whether the spec it reads is that one
    /// (absent in summaries written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_hash: Option<String>,
    pub claims: Vec<Claim>,
    /// Study-specific details (assumption checks, engine used, ...).
    #[serde(default)]
    pub details: serde_json::Value,
    /// The files of the run directory, relative paths with `/` between the
    /// parts, sorted: what the run wrote, summary.json included, and the
    /// figures a later `overfit plot` added. A later run into the same
    /// --out replaces these and refuses a directory holding any other
    /// (`runner::out_dir`). Absent in summaries written before it was
    /// recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<String>>,
    /// Each time `overfit rejudge` recomputed the claims from the run's
    /// recorded outputs, oldest first (absent when never).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejudged: Vec<Rejudge>,
    /// Keys this binary does not know (written by a newer one), kept as
    /// read so that a rewrite (`overfit rejudge`) does not drop them.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The 64-bit FNV-1a hash of `bytes` as 16 hex digits: change detection
/// for a run's spec.toml (did someone edit it since the run?), not
/// security (anyone can make a file with a given hash).
pub fn spec_hash(bytes: &[u8]) -> String {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = bytes
        .iter()
        .fold(OFFSET_BASIS, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME));
    format!("{hash:016x}")
}

/// A fingerprint of data given as 64-bit words: FNV-1a's step (xor, then
/// multiply by the 64-bit FNV prime) on each word whole rather than on each
/// byte, 8 times fewer steps of its serial chain (the CIFAR images of a run,
/// up to 250 MB of f32 pixels, in about a tenth of a second), as 16 hex
/// digits. Not FNV-1a of the bytes; not a cryptographic hash: it tells
/// other data from the data a run's units read, not an adversary's.
pub fn words_hash(words: impl IntoIterator<Item = u64>) -> String {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = words
        .into_iter()
        .fold(OFFSET_BASIS, |h, w| (h ^ w).wrapping_mul(PRIME));
    format!("{hash:016x}")
}

/// The keys of a summary.json object that its type does not name: kept as
/// read and written back after the known ones.
pub type Extra = serde_json::Map<String, serde_json::Value>;

impl Summary {
    pub fn read(dir: &Path) -> Result<Summary> {
        let path = dir.join("summary.json");
        let text = crate::fsio::read_regular_text(&path, "a run's summary.json")?;
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
    /// The run's units and how many this process computed: fewer than all
    /// when `--resume` or `overfit merge` loaded the others from the unit
    /// store, so wall and CPU seconds cover only part of the run. Absent in
    /// summaries written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<UnitCounts>,
    /// The builds whose units this run assembled (commit, " (dirty)" when
    /// so), when there was more than one: a `--resume` or `merge` across
    /// builds. Absent otherwise, and in summaries written before it was
    /// recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_binaries: Option<Vec<String>>,
    /// The machines whose units this run assembled (BLAS library and core,
    /// the kernels' instruction set, the device: `runner::units::machine_id`),
    /// when there was more than one: a `--resume` or `merge` across nodes
    /// of different kinds. Absent otherwise, and in summaries written
    /// before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_machines: Option<Vec<String>>,
    /// The data the run read beyond its spec (`Plan::data_identity`: the
    /// CIFAR images' counts and `words_hash`). Absent for studies that read
    /// none, and in summaries written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Keys this binary does not know, kept as read (see `Summary::extra`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// A run's units: `total`, of which `computed_here` ran in the process
/// that wrote the summary (a resumed unit that continued from its
/// checkpoint counts as computed here).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitCounts {
    pub total: usize,
    pub computed_here: usize,
}

impl Provenance {
    /// The provenance of a run that started `wall_s` seconds ago and
    /// computed `units.computed_here` of its units.
    pub fn now(wall_s: f64, units: UnitCounts) -> Self {
        let finished = unix_now();
        Provenance {
            commit: env!("OVERFIT_GIT_COMMIT").to_string(),
            dirty: env!("OVERFIT_GIT_DIRTY").to_string(),
            command: std::env::args().collect(),
            started_unix_s: finished - wall_s,
            finished_unix_s: finished,
            wall_s,
            cpu_s: process_cpu_seconds(),
            peak_rss_mib: peak_rss_mib(),
            units: Some(units),
            unit_binaries: None,
            unit_machines: None,
            data: None,
            extra: Extra::new(),
        }
    }
}

/// Seconds since the Unix epoch now (NaN if the clock is before it).
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(f64::NAN)
}

/// "YYYY-MM-DD HH:MM" (UTC) of a Unix time, by the civil-from-days
/// algorithm (proleptic Gregorian calendar; H. Hinnant, chrono-Compatible
/// Low-Level Date Algorithms).
pub fn utc_date(unix_s: f64) -> String {
    if !unix_s.is_finite() {
        return "unknown".into();
    }
    let secs = unix_s.floor() as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    /// One step a word: a word of 0 is the bytes' first step on 0, and
    /// any changed bit or order changes the hash.
    #[test]
    fn words_hash_sees_every_bit_and_the_order() {
        assert_eq!(words_hash([]), spec_hash(b""));
        assert_eq!(words_hash([0]), spec_hash(&[0]));
        let base = words_hash([1, 2, 3]);
        assert_ne!(words_hash([1, 2, 3 ^ (1 << 63)]), base);
        assert_ne!(words_hash([2, 1, 3]), base);
        assert_ne!(words_hash([1, 2, 3, 0]), base);
    }

    /// The FNV-1a test vectors (Fowler, Noll, Vo; draft-eastlake-fnv).
    #[test]
    fn spec_hashes_are_fnv1a_64() {
        assert_eq!(spec_hash(b""), "cbf29ce484222325");
        assert_eq!(spec_hash(b"a"), "af63dc4c8601ec8c");
        assert_eq!(spec_hash(b"foobar"), "85944171f73967e8");
    }

    #[test]
    fn utc_dates_match_known_instants() {
        assert_eq!(utc_date(0.0), "1970-01-01 00:00");
        assert_eq!(utc_date(951_782_400.0), "2000-02-29 00:00");
        // 2026-12-01 15:58:30 UTC
        assert_eq!(utc_date(1_796_140_710.0), "2026-12-01 15:58");
        assert_eq!(utc_date(f64::NAN), "unknown");
    }

    /// Every committed summary.json reads and writes back byte for byte
    /// (every float to its last bit: serde_json's `float_roundtrip`), but
    /// for one normalisation: an undefined 20% or 80% quantile, written as
    /// null, reads back as absent and is left out.
    #[test]
    fn committed_summaries_round_trip_byte_for_byte() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("figures");
        let tmp = tempfile::tempdir().unwrap();
        let mut seen = 0;
        for run in fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()) {
            let Ok(text) = fs::read_to_string(run.join("summary.json")) else {
                continue;
            };
            let undefined_band = |l: &&str| matches!(l.trim(), "\"q20\": null," | "\"q80\": null,");
            let expected: Vec<&str> = text.split('\n').filter(|l| !undefined_band(l)).collect();
            Summary::read(&run).unwrap().write(tmp.path()).unwrap();
            let back = fs::read_to_string(tmp.path().join("summary.json")).unwrap();
            assert!(back == expected.join("\n"), "{} changed", run.display());
            seen += 1;
        }
        assert!(seen > 10, "{seen} summaries");
    }

    /// Keys this binary does not know, at the top and in `machine`,
    /// `provenance` and a `rejudged` entry, survive a read and a write.
    #[test]
    fn unknown_keys_survive_a_rewrite() {
        // A committed run with a `rejudged` history (relu_label_noise's
        // went with its rerun in session 53).
        let run = Path::new(env!("CARGO_MANIFEST_DIR")).join("figures/leaky_relu_benign");
        let text = fs::read_to_string(run.join("summary.json")).unwrap();
        let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let future = serde_json::json!({"added": [1, 2.5, null], "by": "a newer binary"});
        json["zz_top"] = future.clone();
        json["machine"]["gpu"] = future.clone();
        json["provenance"]["host"] = future.clone();
        json["rejudged"][0]["reviewer"] = future.clone();
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("summary.json"), json.to_string()).unwrap();
        let summary = Summary::read(tmp.path()).unwrap();
        assert!(!summary.machine.cpu.is_empty());
        summary.write(tmp.path()).unwrap();
        let back: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(tmp.path().join("summary.json")).unwrap())
                .unwrap();
        assert_eq!(back, json);
    }
}
