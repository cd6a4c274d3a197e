//! Extra CSV files of a run (beside metrics.csv) as typed rows: a study
//! declares one serde struct per file, whose field names are the header, so
//! the figures read columns by name, never by index.

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
