//! What a run writes (the output contract in the README): the resolved spec, metrics.csv in
//! long format, summary.json with the claims, and figures. Every file is
//! written to a temporary name in the same directory and renamed, so a crash
//! at any moment leaves either the old complete file or the new one.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fsio::write_atomic;

mod rejudge;
pub use rejudge::{first_verdict, row_changes, value_changes, verdict_changes, Rejudge};
mod summary;
pub use summary::{
    spec_hash, unix_now, utc_date, words_hash, Extra, Provenance, Summary, UnitCounts,
};

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

    /// Write `dir`'s metrics file in the form `METRICS_GZIP_ABOVE` picks:
    /// metrics.csv, or when the CSV is larger, metrics.csv.gz (gzip of the
    /// same bytes, no file name or time stamp in its header, so equal
    /// metrics give equal bytes). Returns the path written.
    pub fn write(&self, dir: &Path) -> Result<PathBuf> {
        let csv = self.to_csv();
        if csv.len() <= METRICS_GZIP_ABOVE {
            let path = dir.join(METRICS_CSV);
            write_atomic(&path, csv.as_bytes())?;
            return Ok(path);
        }
        let path = dir.join(METRICS_CSV_GZ);
        write_atomic(&path, &gzip(csv.as_bytes()))?;
        Ok(path)
    }

    /// Read a metrics file: plain CSV, or gzip-compressed CSV when the name
    /// ends in `.gz`.
    pub fn read(path: &Path) -> Result<Metrics> {
        let bytes = crate::fsio::read_regular(path, "a run's metrics")?;
        let text = if path.extension().is_some_and(|e| e == "gz") {
            gunzip(&bytes).map_err(|e| Error::bad(format!("{}: {e}", path.display())))?
        } else {
            bytes
        };
        let mut rdr = csv::Reader::from_reader(text.as_slice());
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

/// The name of the metrics file in its plain form.
pub const METRICS_CSV: &str = "metrics.csv";
/// The name of the metrics file in its compressed form.
pub const METRICS_CSV_GZ: &str = "metrics.csv.gz";
/// The size rule, in one place: a metrics CSV of more than this many bytes
/// (1 MB) is written gzip-compressed, so committed results stay small
/// (compression shrinks these files about 5-10x) while small ones stay
/// readable in a diff.
pub const METRICS_GZIP_ABOVE: usize = 1_000_000;

/// gzip of `bytes` at the default level, with an empty header (no name,
/// mtime 0): the same input always gives the same output.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("writing to memory");
    enc.finish().expect("writing to memory")
}

/// The bytes a gzip stream holds (every member, as `gzip -d` does).
pub fn gunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes).read_to_end(&mut out)?;
    Ok(out)
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
/// A parameter that could not be computed is NaN (`is_defined` is false and
/// the claim inconclusive), written as null in JSON and read back as NaN.
pub enum Prediction {
    AtLeast {
        #[serde(deserialize_with = "null_as_nan")]
        bound: f64,
    },
    AtMost {
        #[serde(deserialize_with = "null_as_nan")]
        bound: f64,
    },
    /// |measured - value| <= tolerance.
    Near {
        #[serde(deserialize_with = "null_as_nan")]
        value: f64,
        #[serde(deserialize_with = "null_as_nan")]
        tolerance: f64,
    },
    Interval {
        #[serde(deserialize_with = "null_as_nan")]
        low: f64,
        #[serde(deserialize_with = "null_as_nan")]
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

    /// Every parameter is a finite number (tolerances not negative). An
    /// infinite bound or tolerance admits every finite value (or none), a
    /// claim that cannot fail: a tolerance over a zero slope was one
    /// (review finding, 2026-12-07; infinite bounds counted as defined).
    pub fn is_defined(&self) -> bool {
        match *self {
            Prediction::AtLeast { bound } | Prediction::AtMost { bound } => bound.is_finite(),
            Prediction::Near { value, tolerance } => {
                value.is_finite() && tolerance.is_finite() && tolerance >= 0.0
            }
            Prediction::Interval { low, high } => {
                low.is_finite() && high.is_finite() && low <= high
            }
        }
    }

    pub fn describe(&self) -> String {
        self.describe_with(fmt_num)
    }

    /// `describe` with the numbers written by `num` (`csv_float` for every
    /// digit).
    pub fn describe_with(&self, num: fn(f64) -> String) -> String {
        match *self {
            Prediction::AtLeast { bound } => format!(">= {}", num(bound)),
            Prediction::AtMost { bound } => format!("<= {}", num(bound)),
            Prediction::Near { value, tolerance } => {
                format!("{} +- {}", num(value), num(tolerance))
            }
            Prediction::Interval { low, high } => format!("[{}, {}]", num(low), num(high)),
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
    /// The numbers the note states, by name (a half-width, a count, a
    /// threshold width), so that prose can quote them from the summary
    /// (the README's value markers) instead of retyping the note's digits.
    /// Finite values only; absent in summaries written before 2026-12-08.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub quantities: BTreeMap<String, f64>,
}

impl Measured {
    pub fn single(value: f64) -> Self {
        Measured {
            value,
            q20: None,
            q80: None,
            runs: 1,
            note: String::new(),
            quantities: BTreeMap::new(),
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
            quantities: BTreeMap::new(),
        }
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }

    /// Records a number the note states under `name` (`quantities`); a
    /// value that is not finite is left out (JSON has no NaN), so a reader
    /// finds no number rather than a wrong one.
    pub fn with_quantity(mut self, name: &str, value: f64) -> Self {
        if value.is_finite() {
            self.quantities.insert(name.to_string(), value);
        }
        self
    }

    /// `with_quantity` for each (name, value).
    pub fn with_quantities<'n>(self, named: impl IntoIterator<Item = (&'n str, f64)>) -> Self {
        named
            .into_iter()
            .fold(self, |m, (name, value)| m.with_quantity(name, value))
    }

    /// The number of runs the value summarises (`single` says 1).
    pub fn with_runs(mut self, runs: usize) -> Self {
        self.runs = runs;
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
    /// A statement of this project, not of the paper: a proposed explanation
    /// of a disagreement, a heuristic or a derivation beyond the paper.
    /// Judged like a claim (it can fail) but listed and counted apart, so
    /// that "N of M hold" counts the paper's statements only.
    Hypothesis,
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

impl Verdict {
    /// The verdict's word, as summary.json spells it.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::Fails => "fails",
            Verdict::Inconclusive => "inconclusive",
        }
    }
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

    /// The same row as this project's hypothesis (`Kind::Hypothesis`).
    pub fn as_hypothesis(mut self) -> Self {
        self.kind = Kind::Hypothesis;
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

/// The largest (`pick` = f64::max) or smallest (f64::min) of per-run values;
/// NaN, so inconclusive, when there is no run or a run's value is undefined
/// (a fold from 0 would make an empty set hold, and f64::max skips NaN).
pub fn extreme(values: &[f64], pick: fn(f64, f64) -> f64) -> f64 {
    if values.iter().any(|v| v.is_nan()) {
        return f64::NAN;
    }
    values.iter().copied().reduce(pick).unwrap_or(f64::NAN)
}

/// Test support: each claim's id and verdict, in order.
#[cfg(test)]
pub fn verdicts(claims: &[Claim]) -> Vec<(String, Verdict)> {
    claims.iter().map(|c| (c.id.clone(), c.verdict())).collect()
}

/// Test support: the verdict of claim `id` among `verdicts` (panics, listing
/// them, when it is absent).
#[cfg(test)]
pub fn verdict_of(verdicts: &[(String, Verdict)], id: &str) -> Verdict {
    let found = verdicts.iter().find(|(i, _)| i == id);
    found
        .unwrap_or_else(|| panic!("no claim {id}: {verdicts:?}"))
        .1
}

/// Linear-interpolated quantile of unsorted values, q in [0, 1]: with v
/// sorted and pos = q (N - 1), v[lo] + (v[hi] - v[lo]) (pos - lo) for the
/// neighbours lo <= pos <= hi, and v[lo] itself where they are equal, pos
/// is whole, or v[lo] = -inf below a finite v[hi] (so infinities come out
/// as themselves, not inf - inf = NaN; between -inf and inf it is NaN).
/// NaN for no values or when any value is NaN: a NaN has no place in an
/// order, and sorting it to one end would give a quantile that hides it.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() || values.iter().any(|v| v.is_nan()) {
        return f64::NAN;
    }
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let pos = q * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    if lo == hi || v[lo] == v[hi] || (v[lo] == f64::NEG_INFINITY && v[hi].is_finite()) {
        return v[lo];
    }
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// The paths of a run directory.
pub struct RunDir {
    pub root: PathBuf,
}

impl RunDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        RunDir { root: root.into() }
    }
    /// The run's metrics file: metrics.csv, or metrics.csv.gz when only
    /// that form exists (see `Metrics::write`).
    pub fn metrics(&self) -> PathBuf {
        let plain = self.root.join(METRICS_CSV);
        let gz = self.root.join(METRICS_CSV_GZ);
        if !plain.exists() && gz.exists() {
            gz
        } else {
            plain
        }
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

    /// A note's numbers are kept by name, finite ones only (JSON has no
    /// NaN: a NaN there would be written as null and fail to read back), and
    /// a summary without them reads as before and writes no key.
    #[test]
    fn quantities_keep_finite_numbers_and_round_trip() {
        let m = Measured::single(0.5)
            .with_quantity("h", 0.0133)
            .with_quantity("undefined", f64::NAN)
            .with_quantity("infinite", f64::INFINITY);
        assert_eq!(m.quantities.len(), 1);
        let json = serde_json::to_string(&m).unwrap();
        assert!(json.contains(r#""quantities":{"h":0.0133}"#), "{json}");
        assert_eq!(serde_json::from_str::<Measured>(&json).unwrap(), m);
        let plain = serde_json::to_string(&Measured::single(0.5)).unwrap();
        assert!(!plain.contains("quantities"), "{plain}");
        let old: Measured = serde_json::from_str(r#"{"value":0.5,"runs":1}"#).unwrap();
        assert!(old.quantities.is_empty());
    }

    /// An infinite bound or tolerance makes the claim inconclusive, never
    /// a hold that nothing could fail.
    #[test]
    fn infinite_predictions_are_undefined() {
        let inf = f64::INFINITY;
        for p in [
            Prediction::AtLeast { bound: -inf },
            Prediction::AtMost { bound: inf },
            Prediction::Near {
                value: 1.0,
                tolerance: inf,
            },
            Prediction::Interval {
                low: -inf,
                high: 0.5,
            },
        ] {
            assert!(!p.is_defined(), "{p:?}");
            let c = Claim::new("x", "s", "src", p.clone(), Measured::single(1e9));
            assert_eq!(c.verdict(), Verdict::Inconclusive, "{p:?}");
        }
        assert!(Prediction::Near {
            value: 1.0,
            tolerance: 0.0
        }
        .is_defined());
    }

    #[test]
    fn undefined_predictions_read_back_as_written() {
        // A 1-seed cnn_sweep writes its Table 1 intervals as [NaN, NaN]:
        // null in JSON, which `times`, `check` and `merge` must read back.
        let nan = f64::NAN;
        let predictions = vec![
            Prediction::AtLeast { bound: nan },
            Prediction::AtMost { bound: nan },
            Prediction::Near {
                value: nan,
                tolerance: nan,
            },
            Prediction::Interval {
                low: nan,
                high: nan,
            },
            Prediction::Interval {
                low: 0.1,
                high: 0.2,
            },
        ];
        let json = serde_json::to_string(&predictions).unwrap();
        assert!(json.contains("null"), "{json}");
        let back: Vec<Prediction> = serde_json::from_str(&json).unwrap();
        assert_eq!(back.iter().filter(|p| p.is_defined()).count(), 1);
        assert_eq!(back[4], predictions[4]);
        assert_eq!(back[3].describe(), predictions[3].describe());
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
        // Infinities are values like others (inf - inf made these NaN).
        let inf = f64::INFINITY;
        assert_eq!(quantile(&[inf], 0.5), inf);
        assert_eq!(quantile(&[1.0, inf, inf], 0.8), inf);
        assert_eq!(quantile(&[-inf, 1.0], 0.0), -inf);
        assert_eq!(quantile(&[-inf, 1.0], 0.5), -inf);
        // A NaN is not sorted to an end and hidden: the quantile is NaN.
        assert!(quantile(&[1.0, 2.0, f64::NAN], 0.5).is_nan());
        assert!(quantile(&[1.0, 2.0, -f64::NAN], 0.0).is_nan());
    }

    /// Both forms read back the rows written; the form follows the size
    /// rule, and the gzip form decompresses to the plain form's bytes.
    #[test]
    fn metrics_round_trip_in_both_forms() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("small");
        let large = dir.path().join("large");
        std::fs::create_dir_all(&small).unwrap();
        std::fs::create_dir_all(&large).unwrap();
        let mut m = Metrics::default();
        m.push("a", 0, "train", "loss", 0.5);
        assert_eq!(m.write(&small).unwrap(), small.join(METRICS_CSV));
        let mut big = Metrics::default();
        let mut step = 0;
        while big.to_csv().len() <= METRICS_GZIP_ABOVE {
            for k in 0..1000 {
                big.push(
                    "run:7",
                    step,
                    "test",
                    "accuracy",
                    1.0 / (step + k + 1) as f64,
                );
            }
            step += 1000;
        }
        assert_eq!(big.write(&large).unwrap(), large.join(METRICS_CSV_GZ));
        assert!(!large.join(METRICS_CSV).exists());
        for (d, m) in [(&small, &m), (&large, &big)] {
            let rd = RunDir::new(d);
            assert_eq!(Metrics::read(&rd.metrics()).unwrap().rows, m.rows);
        }
        let packed = std::fs::read(large.join(METRICS_CSV_GZ)).unwrap();
        assert!(packed.len() < METRICS_GZIP_ABOVE / 2, "{}", packed.len());
        assert_eq!(gunzip(&packed).unwrap(), big.to_csv().as_bytes());
        // Deterministic: the same metrics give the same compressed bytes.
        assert_eq!(gzip(big.to_csv().as_bytes()), packed);
        // A corrupt gzip file is an error naming the file, not a panic.
        std::fs::write(large.join(METRICS_CSV_GZ), b"not gzip").unwrap();
        let err = Metrics::read(&large.join(METRICS_CSV_GZ)).unwrap_err();
        assert!(err.to_string().contains(METRICS_CSV_GZ), "{err}");
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
