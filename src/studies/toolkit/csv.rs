//! Extra CSV files of a run (beside metrics.csv) as typed rows: a study
//! declares one serde struct per file, whose field names are the header, so
//! the figures read columns by name, never by index.

use std::fmt::Debug;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};

use crate::error::{Error, Result};

/// CSV text of `rows`: the header (the row type's field names) and one line a
/// row. No rows give the empty text (no header: the header comes from a row).
pub fn to_csv<T: Serialize>(rows: &[T]) -> String {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r).expect("rows serialise");
    }
    String::from_utf8(w.into_inner().expect("in-memory writer")).expect("utf8")
}

/// As [`to_csv`], but no rows give the header alone (that of `T::default()`).
pub fn to_csv_with_header<T: Serialize + Default>(rows: &[T]) -> String {
    if rows.is_empty() {
        let one = to_csv(&[T::default()]);
        let header_end = one.find('\n').map_or(one.len(), |i| i + 1);
        return one[..header_end].to_string();
    }
    to_csv(rows)
}

/// The rows of a CSV file the run wrote, by header name; errors name the file
/// and the row (counting the header as row 1).
pub fn read_csv<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
    let mut rdr = ::csv::Reader::from_path(path)
        .map_err(|e| Error::bad(format!("{}: {e}", path.display())))?;
    rdr.deserialize()
        .enumerate()
        .map(|(i, r)| r.map_err(|e| Error::bad(format!("{}: row {}: {e}", path.display(), i + 2))))
        .collect()
}

/// A recorded error rate (a fraction of examples), for `overfit rejudge`:
/// `value` itself when it lies in [0, 1], else why not, naming `what` (the
/// run and column): a hand-edited or corrupt table must not move a verdict.
pub fn error_rate(value: f64, what: &str) -> std::result::Result<f64, String> {
    match (0.0..=1.0).contains(&value) {
        true => Ok(value),
        false => Err(format!("{what} is {value}, not an error rate in [0, 1]")),
    }
}

/// The rows of a finished run's `file` (runs.csv, or a study's own table)
/// in `dir`, for `overfit rejudge`: one row per planned job, in the spec's
/// order, the row's `identity` (the job it says it ran) equal to the spec's
/// `planned[i]`; else exit 2 naming the file and the row (counting the
/// header as row 1). A count check alone would judge another spec's rows,
/// or rows in another order, as this run's.
pub fn rejudge_rows<T: DeserializeOwned, K: PartialEq + Debug>(
    dir: &Path,
    file: &str,
    planned: &[K],
    identity: impl Fn(&T) -> K,
) -> Result<Vec<T>> {
    let path = crate::record::RunDir::new(dir).file(file);
    let rows: Vec<T> = read_csv(&path)?;
    if rows.len() != planned.len() {
        return Err(Error::bad(format!(
            "{}: {} rows, the spec plans {} runs",
            path.display(),
            rows.len(),
            planned.len()
        )));
    }
    for (i, (row, want)) in rows.iter().zip(planned).enumerate() {
        let got = identity(row);
        if got != *want {
            return Err(Error::bad(format!(
                "{}: row {} is run {got:?}, the spec plans {want:?} there",
                path.display(),
                i + 2
            )));
        }
    }
    Ok(rows)
}

/// A float column written as Rust's `{}` (shortest round-trip, never an
/// exponent): `#[serde(serialize_with = "display")]`. Reads back as f64.
pub fn display<S: Serializer>(x: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(x)
}

/// A float column written as Rust's `{:e}` (shortest round-trip mantissa,
/// always an exponent): `#[serde(serialize_with = "lower_exp")]`.
pub fn lower_exp<S: Serializer>(x: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{x:e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Default, Serialize, Deserialize, Debug, PartialEq)]
    struct Point {
        step: u64,
        #[serde(serialize_with = "display")]
        x: f64,
        #[serde(serialize_with = "lower_exp")]
        y: f64,
    }

    /// The float columns keep Rust's `{}` and `{:e}` texts (the bytes the
    /// hand-written files had), the header comes from the field names, and the
    /// text reads back to the same rows.
    #[test]
    fn typed_rows_keep_their_number_texts_and_read_back() {
        let rows = vec![
            Point {
                step: 3,
                x: 1e-5,
                y: 0.25,
            },
            Point {
                step: 4,
                x: 1.0,
                y: f64::NAN,
            },
        ];
        let text = to_csv(&rows);
        assert_eq!(text, "step,x,y\n3,0.00001,2.5e-1\n4,1,NaN\n");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("points.csv");
        std::fs::write(&path, &text).unwrap();
        let back: Vec<Point> = read_csv(&path).unwrap();
        assert_eq!(back[0], rows[0]);
        assert!(back[1].y.is_nan() && back[1].x == 1.0);
    }

    /// A runs.csv with another count of rows than the spec plans, or a row
    /// that is not the run the spec plans at its place, is bad input naming
    /// the file (and the row), not a rejudge of another run.
    #[test]
    fn rejudge_rows_need_every_planned_run_in_order() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("runs.csv"), "step,x,y\n3,1,2\n4,1,2\n").unwrap();
        let step = |p: &Point| p.step;
        assert_eq!(
            rejudge_rows(dir.path(), "runs.csv", &[3, 4], step)
                .unwrap()
                .len(),
            2
        );
        let err = rejudge_rows(dir.path(), "runs.csv", &[3, 4, 5], step)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("runs.csv: 2 rows, the spec plans 3 runs"),
            "{err}"
        );
        let err = rejudge_rows(dir.path(), "runs.csv", &[4, 3], step)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("runs.csv: row 2 is run 3, the spec plans 4 there"),
            "{err}"
        );
    }

    #[test]
    fn no_rows_give_the_header_alone_or_nothing() {
        assert_eq!(to_csv_with_header::<Point>(&[]), "step,x,y\n");
        assert_eq!(to_csv::<Point>(&[]), "");
    }
}
