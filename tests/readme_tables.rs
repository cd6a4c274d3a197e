//! The README's tables (and benches/HISTORY.md's) are generated:
//! - each block between `<!-- claims DIR -->` and `<!-- /claims -->` must
//!   equal `overfit check DIR --format markdown` of the committed
//!   summary.json, and every committed figures/*/summary.json has its block;
//! - each block between `<!-- times DIR -->` and `<!-- /times -->` equals
//!   `overfit times DIR` (wall times, from the summaries: figures/ for the
//!   committed runs, benches/results/study_times/ for timing runs);
//! - the block between `<!-- perf FILE -->` and `<!-- /perf -->` equals the
//!   committed FILE, the table `overfit bench all --peer --out FILE` wrote;
//! - each block between `<!-- table CSV -->` and `<!-- /table -->` is the
//!   committed CSV (a run's typed rows) as a markdown table, numbers that
//!   are not whole printed to 4 significant digits.
//!
//! - each inline value `<!-- value FILE PATH FORMAT -->TEXT<!-- /value -->`
//!   in the prose is the number at PATH in the committed JSON FILE
//!   (`json_value`), or the answer to the query PATH over the committed
//!   CSV FILE (`csv_value`: a count, sum, median, ... of a column over the
//!   records a filter keeps), printed as FORMAT says (`format_value`), so
//!   that no result in a sentence is typed by hand either.
//!
//! To rewrite the blocks after a rerun: `OVERFIT_UPDATE_README=1 cargo test
//! --release --test readme_tables`.

use std::path::Path;
use std::process::Command;

const OPEN: &str = "<!-- claims ";
const CLOSE: &str = "<!-- /claims -->";

fn generated(dir: &str) -> String {
    overfit_stdout(&["check", dir, "--format", "markdown"])
}

fn overfit_stdout(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_overfit"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("binary runs");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "overfit {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// (argument, block text between the markers, byte range of that text).
type Block = (String, String, std::ops::Range<usize>);

fn blocks(readme: &str) -> Vec<Block> {
    blocks_between(readme, OPEN, CLOSE)
}

fn blocks_between(readme: &str, open: &str, close: &str) -> Vec<Block> {
    marked(readme, open, "-->\n", close)
}

/// Every `open ARG header_end TEXT close` in `text`: (ARG, TEXT, TEXT's range).
fn marked(text: &str, open: &str, header_end: &str, close: &str) -> Vec<Block> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find(open) {
        let start = from + i;
        let body =
            start + text[start..].find(header_end).expect("marker closes") + header_end.len();
        let arg = text[start + open.len()..body - header_end.len()]
            .trim()
            .to_string();
        let end = body + text[body..].find(close).expect("block closes");
        found.push((arg, text[body..end].to_string(), body..end));
        from = end + close.len();
    }
    found
}

/// A CSV file as a markdown table: its header, then each record; a cell
/// that parses as a number and is not whole is printed to 4 significant
/// digits (the CSV keeps every digit).
fn markdown_table(csv_text: &str) -> String {
    let cell = |c: &str| match c.parse::<f64>() {
        Ok(v) if v.is_finite() && v.fract() != 0.0 => {
            let digits = (3 - v.abs().log10().floor() as i32).max(0) as usize;
            format!("{v:.digits$}")
        }
        _ => c.to_string(),
    };
    let mut lines = csv_text.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    let mut out = format!(
        "| {} |\n|{}\n",
        header.join(" | "),
        "---|".repeat(header.len())
    );
    for line in lines.filter(|l| !l.is_empty()) {
        let cells: Vec<String> = line.split(',').map(cell).collect();
        assert_eq!(
            cells.len(),
            header.len(),
            "a plain CSV (no quoted commas): {line}"
        );
        out += &format!("| {} |\n", cells.join(" | "));
    }
    out
}

/// The inline values of `text`, `<!-- value ARG -->TEXT<!-- /value -->`
/// on one line: (ARG, TEXT, byte range of TEXT).
fn value_blocks(text: &str) -> Vec<Block> {
    let found = marked(text, "<!-- value ", "-->", "<!-- /value -->");
    for (arg, value, _) in &found {
        assert!(
            !value.contains('\n'),
            "an inline value stays on its line: {arg}"
        );
    }
    found
}

/// The number at `path` in `json`: segments split by '/'. In an object a
/// segment names a key; in an array, a number indexes it, a filter
/// (`KEY=VALUE&...`, see `Filter`) picks the one element it keeps (none or
/// several: no value), and any other word the element whose "id" it is (a
/// claim's row). A last segment `AGG[:KEY][?FILTER&...]` on an array of
/// objects aggregates it as `query` does a CSV's records
/// (`count?kind=claim&verdict=holds` counts a summary's holding claims).
fn json_value(json: &serde_json::Value, path: &str) -> Option<f64> {
    let segments: Vec<&str> = path.split('/').collect();
    let (last, walk) = segments.split_last()?;
    let at = walk.iter().try_fold(json, |v, seg| json_step(v, seg))?;
    if let (serde_json::Value::Array(items), true) = (at, is_aggregate(last)) {
        let rows: Vec<_> = items.iter().map(JsonRow).collect();
        return query(&rows, last);
    }
    json_step(at, last)?.as_f64()
}

fn json_step<'j>(v: &'j serde_json::Value, seg: &str) -> Option<&'j serde_json::Value> {
    match v {
        serde_json::Value::Array(items) => {
            if let Ok(k) = seg.parse::<usize>() {
                return items.get(k);
            }
            let filters = if seg.contains(['=', '<', '>']) {
                Filter::parse_all(seg)?
            } else {
                Filter::parse_all(&format!("id={seg}"))?
            };
            let rows: Vec<_> = items.iter().map(JsonRow).collect();
            // Exactly one row: a second (a duplicated id) is no value either.
            match Filter::select(&filters, &rows)?[..] {
                [one] => Some(one.0),
                _ => None,
            }
        }
        serde_json::Value::Object(map) => map.get(seg),
        _ => None,
    }
}

fn is_aggregate(seg: &str) -> bool {
    let (agg, field, _) = query_parts(seg);
    ["count", "sum", "mean", "median", "min", "max"].contains(&agg)
        && (agg == "count" || field.is_some())
}

/// `AGG[:FIELD][?FILTERS]` split into AGG, FIELD and FILTERS ("" if none).
fn query_parts(query: &str) -> (&str, Option<&str>, &str) {
    let (head, filters) = query.split_once('?').unwrap_or((query, ""));
    let (agg, field) = head
        .split_once(':')
        .map_or((head, None), |(a, f)| (a, Some(f)));
    (agg, field, filters)
}

/// A record a query reads: a CSV record or a JSON object, each field as text.
trait Row {
    fn field(&self, name: &str) -> Option<String>;
}

struct JsonRow<'j>(&'j serde_json::Value);

/// A field of a JSON row is a key, or a dotted path into nested objects
/// (`measured.value`).
impl Row for JsonRow<'_> {
    fn field(&self, name: &str) -> Option<String> {
        let found = match self.0.get(name) {
            Some(v) => v,
            None => name.split('.').try_fold(self.0, |v, key| v.get(key))?,
        };
        match found {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Null => None,
            other => Some(other.to_string()),
        }
    }
}

struct CsvRow<'r> {
    names: &'r [String],
    record: csv::StringRecord,
}

impl Row for CsvRow<'_> {
    fn field(&self, name: &str) -> Option<String> {
        let col = self.names.iter().position(|n| n == name)?;
        self.record.get(col).map(String::from)
    }
}

/// `FIELD OP VALUE` (no spaces), OP one of `=`, `!=`, `^=` (starts with),
/// `*=` (contains),
/// `<=`, `>=`, `<`, `>`, the first in the text; VALUE a literal or
/// `$OTHER`, the record's own OTHER field. Fields compare as numbers when
/// both sides are finite numbers (so `ratio=1` keeps "1.0"), else as text
/// ("NaN" equals only "NaN"), where `<` and the like panic.
struct Filter {
    field: String,
    op: &'static str,
    value: String,
}

impl Filter {
    fn parse_all(filters: &str) -> Option<Vec<Filter>> {
        (filters.split('&').filter(|f| !f.is_empty()))
            .map(|f| {
                // The first operator in the text, two characters before one.
                let at = f.find(['=', '<', '>', '!', '^', '*'])?;
                let op = ["!=", "^=", "*=", "<=", ">=", "=", "<", ">"]
                    .into_iter()
                    .find(|op| f[at..].starts_with(op))?;
                let (field, value) = (&f[..at], &f[at + op.len()..]);
                Some(Filter {
                    field: field.into(),
                    op,
                    value: value.into(),
                })
            })
            .collect()
    }

    /// The fields it reads: FIELD, and OTHER for a `$OTHER` value.
    fn fields(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.field.as_str()).chain(self.value.strip_prefix('$'))
    }

    /// The rows of `rows` every filter keeps; None when a field the
    /// filters read is in no row (a misspelt field would keep no row and
    /// count 0).
    fn select<'r, R: Row>(filters: &[Filter], rows: &'r [R]) -> Option<Vec<&'r R>> {
        let known = (filters.iter().flat_map(Filter::fields))
            .all(|name| rows.iter().any(|r| r.field(name).is_some()));
        known.then(|| {
            (rows.iter())
                .filter(|r| filters.iter().all(|f| f.keeps(*r)))
                .collect()
        })
    }

    /// Whether `row` passes; a field it lacks (or a `$OTHER` it lacks) fails.
    fn keeps(&self, row: &dyn Row) -> bool {
        let Some(left) = row.field(&self.field) else {
            return false;
        };
        let right = match self.value.strip_prefix('$') {
            Some(other) => match row.field(other) {
                Some(v) => v,
                None => return false,
            },
            None => self.value.clone(),
        };
        match (self.op, number(&left), number(&right)) {
            ("^=", _, _) => left.starts_with(&right),
            ("*=", _, _) => left.contains(&right),
            (op, Some(a), Some(b)) => match op {
                "=" => a == b,
                "!=" => a != b,
                "<=" => a <= b,
                ">=" => a >= b,
                "<" => a < b,
                _ => a > b,
            },
            ("=", _, _) => left == right,
            ("!=", _, _) => left != right,
            (op, _, _) => panic!(
                "{}{op}{}: {op} compares numbers, not {left:?}, {right:?}",
                self.field, self.value
            ),
        }
    }
}

/// The query `AGG[:FIELD][?FILTER&FILTER...]` over `rows`: AGG is `count`
/// (of the rows every FILTER keeps, no field) or `sum`, `mean`, `median`,
/// `min`, `max` of FIELD over them. None when a filter does not parse, a
/// field it names is in no row, a kept row's FIELD is missing or not a
/// finite number, or (for every AGG but count) nothing is kept.
fn query<R: Row>(rows: &[R], query: &str) -> Option<f64> {
    let (agg, field, filters) = query_parts(query);
    let kept = Filter::select(&Filter::parse_all(filters)?, rows)?;
    if agg == "count" {
        assert!(field.is_none(), "query {query:?}: count takes no field");
        return Some(kept.len() as f64);
    }
    let field = field?;
    let mut xs: Vec<f64> = kept
        .iter()
        .map(|r| number(&r.field(field)?))
        .collect::<Option<_>>()?;
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    Some(match agg {
        "sum" => xs.iter().sum(),
        "mean" => xs.iter().sum::<f64>() / n as f64,
        "median" => (xs[(n - 1) / 2] + xs[n / 2]) / 2.0,
        "min" => xs[0],
        "max" => xs[n - 1],
        _ => panic!("query {query:?}: count, sum, mean, median, min or max"),
    })
}

/// `text` as a finite number ("NaN" and "inf" are not).
fn number(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// The query PATH (`query`) over the records of a CSV text; None when a
/// field it names is not a column (`query` refuses it).
fn csv_value(text: &str, path: &str) -> Option<f64> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let names: Vec<String> = reader.headers().ok()?.iter().map(String::from).collect();
    let rows: Vec<CsvRow> = reader
        .records()
        .map(|r| {
            r.ok().map(|record| CsvRow {
                names: &names,
                record,
            })
        })
        .collect::<Option<_>>()?;
    query(&rows, path)
}

/// `v` as FORMAT says: "sigN", N significant digits (in e-notation below
/// 1e-3 or from 1e6); "eN", e-notation with N significant digits; "fixN",
/// N digits after the point; "pctN", 100 v with N digits after the point
/// (the prose writes the % sign); "int", a whole number. A leading `-`
/// prints -v ("0.098 below" a stored -0.098), a trailing `/D` prints v / D
/// (`fix1/60`: seconds as minutes) and `*F` prints v F (`int*20000`: an
/// error rate as a count of the 20000 training images). A leading `+`
/// writes the sign of any number that does not print as zero ("+0.036",
/// "-0.043", and "0.000" for a stored -4.4e-94), so prose need not type it.
fn format_value(v: f64, format: &str) -> String {
    if let Some(rest) = format.strip_prefix('+') {
        let text = format_value(v, rest);
        let unsigned = text.trim_start_matches('-');
        let mantissa = unsigned.split('e').next().unwrap_or(unsigned);
        return if mantissa.chars().all(|c| matches!(c, '0' | '.')) {
            unsigned.to_string()
        } else if text.starts_with('-') {
            text
        } else {
            format!("+{text}")
        };
    }
    if let Some(rest) = format.strip_prefix('-') {
        return format_value(-v, rest);
    }
    if let Some((rest, divisor)) = format.split_once('/') {
        let d: f64 = divisor
            .parse()
            .unwrap_or_else(|_| panic!("format {format:?}: /D, D a number"));
        return format_value(v / d, rest);
    }
    if let Some((rest, factor)) = format.split_once('*') {
        let f: f64 = factor
            .parse()
            .unwrap_or_else(|_| panic!("format {format:?}: *F, F a number"));
        return format_value(v * f, rest);
    }
    if format == "int" {
        // Whole up to the rounding of a `*F` product (0.00035 * 20000).
        let whole = v.round();
        assert!(
            (v - whole).abs() <= 1e-9 * whole.abs().max(1.0),
            "{v} is not whole"
        );
        return format!("{whole:.0}");
    }
    let digits = |prefix: &str| {
        let n = format.strip_prefix(prefix)?.parse::<usize>().ok()?;
        Some(n)
    };
    if let Some(decimals) = digits("fix") {
        return format!("{v:.decimals$}");
    }
    if let Some(decimals) = digits("pct") {
        return format!("{:.decimals$}", 100.0 * v);
    }
    if let Some(sig) = digits("e").filter(|&n| n > 0) {
        return format!("{:.*e}", sig - 1, v);
    }
    let sig: usize = (digits("sig").filter(|&n| n > 0))
        .unwrap_or_else(|| panic!("format {format:?}: sigN, eN, fixN, pctN or int"));
    if v == 0.0 {
        return "0".into();
    }
    // The exponent after rounding to `sig` digits (9.996 to 3 digits is
    // 1.00e1, printed 10.0, not 10.00).
    let scientific = format!("{:.*e}", sig - 1, v);
    let exponent: i32 = scientific
        .split_once('e')
        .and_then(|(_, e)| e.parse().ok())
        .expect("e-notation");
    if !(-3..6).contains(&exponent) {
        scientific
    } else {
        let decimals = (sig as i32 - 1 - exponent).max(0) as usize;
        format!("{v:.decimals$}")
    }
}

/// What the inline value with argument `arg` ("FILE PATH FORMAT") is.
fn value_text(arg: &str) -> String {
    let [file, path, format] = arg.split_whitespace().collect::<Vec<_>>()[..] else {
        panic!("value {arg:?}: FILE PATH FORMAT");
    };
    let bytes = std::fs::read(root().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let v = if file.ends_with(".json") {
        let json: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
        json_value(&json, path)
    } else if let Some(stem) = file.strip_suffix(".gz") {
        assert!(
            stem.ends_with(".csv"),
            "value {arg:?}: a .json, .csv or .csv.gz file"
        );
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        csv_value(&text, path)
    } else {
        assert!(
            file.ends_with(".csv"),
            "value {arg:?}: a .json, .csv or .csv.gz file"
        );
        csv_value(std::str::from_utf8(&bytes).expect("UTF-8"), path)
    };
    let v = v.unwrap_or_else(|| panic!("value {arg:?}: no number at {path} in {file}"));
    format_value(v, format)
}

/// Where the README and the files it quotes are: the crate, or
/// OVERFIT_README_ROOT (a clone whose README is being edited).
fn root() -> std::path::PathBuf {
    std::env::var_os("OVERFIT_README_ROOT").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf(),
        Into::into,
    )
}

#[test]
fn inline_values_are_read_from_json_and_formatted() {
    let json = serde_json::json!({
        "claims": [{"id": "a.b", "measured": {"value": 0.75432}}],
        "details": {"h": [0, 15, 36]}
    });
    let at = |p| json_value(&json, p);
    assert_eq!(at("claims/a.b/measured/value"), Some(0.75432));
    assert_eq!(at("details/h/2"), Some(36.0));
    assert_eq!(at("claims/a.c/measured/value"), None);
    assert_eq!(format_value(0.75432, "sig3"), "0.754");
    assert_eq!(format_value(1.0, "sig2"), "1.0");
    assert_eq!(format_value(1.00654, "sig4"), "1.007");
    assert_eq!(format_value(0.000106, "sig2"), "1.1e-4");
    assert_eq!(format_value(36.0, "int"), "36");
    assert_eq!(format_value(0.8125, "pct1"), "81.2");
    assert_eq!(format_value(0.8125, "fix2"), "0.81");
    assert_eq!(format_value(173466.0, "e2"), "1.7e5");
    assert_eq!(format_value(-0.098, "-fix3"), "0.098");
    assert_eq!(format_value(3282.0, "fix1/60"), "54.7");
    assert_eq!(format_value(0.00045, "int*20000"), "9");
    assert_eq!(format_value(0.00015, "int*20000"), "3");
    assert_eq!(format_value(9.996, "sig3"), "10.0");
    assert_eq!(format_value(999999.6, "sig3"), "1.00e6");
    assert_eq!(format_value(0.0009996, "sig3"), "0.00100");
    assert_eq!(format_value(0.036, "+fix3"), "+0.036");
    assert_eq!(format_value(-0.043, "+fix3"), "-0.043");
    assert_eq!(format_value(-4.4e-94, "+fix3"), "0.000");
    assert_eq!(format_value(-4.4e-94, "+sig2"), "-4.4e-94"); // 2.9999999999999996
    let summary = serde_json::json!({
        "claims": [
            {"id": "a", "kind": "claim", "verdict": "holds", "measured": {"value": 1.0}},
            {"id": "b", "kind": "claim", "verdict": "fails", "measured": {"value": 2.0}},
            {"id": "c", "kind": "check", "verdict": "holds", "measured": {"value": 3.0}}
        ],
        "details": {"cells": [
            {"family": "width", "eta": 0.1, "error": 0.25},
            {"family": "width", "eta": 0.2, "error": 0.5},
            {"family": "depth", "eta": 0.1, "error": 0.75}
        ]}
    });
    let at = |p| json_value(&summary, p);
    assert_eq!(at("claims/count?kind=claim&verdict=holds"), Some(1.0));
    assert_eq!(at("claims/count?kind=claim"), Some(2.0));
    assert_eq!(at("claims/count?id^=b"), Some(1.0));
    assert_eq!(at("claims/count?verdict*=old"), Some(2.0));
    assert_eq!(at("details/cells/family=width&eta=0.2/error"), Some(0.5));
    assert_eq!(at("details/cells/eta=0.1&family=depth/error"), Some(0.75));
    assert_eq!(at("details/cells/eta=0.1/error"), None, "two elements kept");
    assert_eq!(at("details/cells/eta=0.3/error"), None, "none kept");
    assert_eq!(at("details/cells/max:error?eta<0.15"), Some(0.75));
    assert_eq!(at("details/cells/count"), Some(3.0));
    assert_eq!(
        at("claims/count?kind=claim&verdit=holds"),
        None,
        "a misspelt field"
    );
    assert_eq!(at("claims/max:measured.value?kind=claim"), Some(2.0));
    assert_eq!(at("claims/count?measured.value>1.5"), Some(2.0));
    let twice = serde_json::json!({"claims": [{"id": "a", "v": 1}, {"id": "a", "v": 2}]});
    assert_eq!(json_value(&twice, "claims/a/v"), None, "a duplicated id");
    let odd = serde_json::json!({"rows": [{"id": "a<b", "v": 1}, {"id": "c", "v": 2}]});
    assert_eq!(
        json_value(&odd, "rows/id=a<b/v"),
        Some(1.0),
        "the first operator splits"
    );
    let text = "a <!-- value f p sig2 -->0.75<!-- /value --> b";
    let blocks = value_blocks(text);
    assert_eq!(blocks.len(), 1);
    assert_eq!(
        (blocks[0].0.as_str(), blocks[0].1.as_str()),
        ("f p sig2", "0.75")
    );
}

#[test]
fn inline_values_are_queried_from_csv() {
    let csv = "family,ratio,interpolated,unfit,unfit_dead\n\
               width,1.0,false,3,3\n\
               width,2.0,true,0,0\n\
               depth,1.0,false,5,2\n\
               width,1.0,false,4,1\n";
    let q = |query| csv_value(csv, query);
    assert_eq!(q("count"), Some(4.0));
    assert_eq!(q("count?interpolated=false"), Some(3.0));
    assert_eq!(q("count?family=width&ratio=1"), Some(2.0));
    assert_eq!(q("count?interpolated=false&unfit=$unfit_dead"), Some(1.0));
    assert_eq!(q("count?ratio>1"), Some(1.0));
    assert_eq!(q("count?family!=width"), Some(1.0));
    assert_eq!(q("sum:unfit"), Some(12.0));
    assert_eq!(q("median:unfit?interpolated=false"), Some(4.0));
    assert_eq!(q("median:unfit"), Some(3.5));
    assert_eq!(q("max:unfit_dead?unfit<=4"), Some(3.0));
    assert_eq!(q("mean:ratio"), Some(1.25));
    assert_eq!(q("sum:unfit?family=none"), None);
    assert_eq!(q("count?family^=wi"), Some(3.0));
    assert_eq!(q("count?nosuch=1"), None);
    assert_eq!(q("count?unfit=$nosuch"), None);
    let with_nan = "x,y\n1,NaN\n2,3\n";
    assert_eq!(csv_value(with_nan, "count?y!=3"), Some(1.0));
    assert_eq!(csv_value(with_nan, "count?y=NaN"), Some(1.0));
    assert_eq!(csv_value(with_nan, "max:y"), None, "NaN is not a number");
    assert_eq!(q("sum:nosuch"), None);
}

/// What a block of `kind` with argument `arg` must hold.
fn source(kind: &str, arg: &str) -> String {
    let read =
        || std::fs::read_to_string(root().join(arg)).unwrap_or_else(|e| panic!("{arg}: {e}"));
    match kind {
        "claims" => generated(arg),
        "times" => overfit_stdout(&["times", arg]),
        "specs" => overfit_stdout(&["list", "--format", "markdown", "--dir", arg]),
        "table" => markdown_table(&read()),
        "value" => value_text(arg),
        _ => read(),
    }
}

#[test]
fn a_csv_becomes_a_markdown_table() {
    assert_eq!(
        markdown_table("model,epochs,error\ncnn,27,0.15900000000000003\nmlp,4,12.345678\n"),
        "| model | epochs | error |\n|---|---|---|\n| cnn | 27 | 0.1590 |\n| mlp | 4 | 12.35 |\n"
    );
}

/// The generated blocks of one markdown file: (kind, block).
fn generated_blocks(text: &str) -> Vec<(&'static str, Block)> {
    ["claims", "times", "perf", "table", "specs"]
        .into_iter()
        .flat_map(|kind| {
            let (open, close) = (format!("<!-- {kind} "), format!("<!-- /{kind} -->"));
            blocks_between(text, &open, &close)
                .into_iter()
                .map(move |b| (kind, b))
        })
        .chain(value_blocks(text).into_iter().map(|b| ("value", b)))
        .collect()
}

/// Rewrites `file`'s generated blocks from their sources when
/// OVERFIT_UPDATE_README is set; otherwise the blocks that differ from them
/// ("kind arg" each).
fn stale_blocks(file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let all = generated_blocks(&text);
    if std::env::var_os("OVERFIT_UPDATE_README").is_some() {
        let mut edits: Vec<_> = all
            .iter()
            .map(|(kind, (arg, _, range))| (range.clone(), source(kind, arg)))
            .collect();
        edits.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
        let mut new = text.clone();
        for (range, block) in edits {
            new.replace_range(range, &block);
        }
        std::fs::write(file, new).unwrap();
        return Vec::new();
    }
    all.iter()
        .filter(|(kind, (arg, text, _))| *text != source(kind, arg))
        .map(|(kind, (arg, _, _))| format!("{kind} {arg}"))
        .collect()
}

#[test]
fn every_table_in_the_readme_is_generated_from_its_source() {
    let root = root();
    let path = root.join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let claims = blocks(&readme);
    let times = blocks_between(&readme, "<!-- times ", "<!-- /times -->");
    let perf = blocks_between(&readme, "<!-- perf ", "<!-- /perf -->");
    let specs = blocks_between(&readme, "<!-- specs ", "<!-- /specs -->");
    assert!(
        !times.is_empty() && !perf.is_empty() && specs.len() == 1,
        "at least one times block and one perf block, and one specs block"
    );
    assert!(
        perf.iter()
            .any(|(file, _, _)| file == "benches/results/perf.md"),
        "the README shows the main performance table, benches/results/perf.md"
    );
    let stale = stale_blocks(&path);
    assert!(
        stale.is_empty(),
        "README blocks differ from what they are generated from: {stale:?}; \
         rerun with OVERFIT_UPDATE_README=1 after checking the new results"
    );
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(root.join("figures")).unwrap() {
        let dir = entry.unwrap().path();
        if dir.join("summary.json").is_file() {
            let name = format!("figures/{}", dir.file_name().unwrap().to_string_lossy());
            if !claims.iter().any(|(d, _, _)| *d == name) {
                missing.push(name);
            }
        }
    }
    assert!(missing.is_empty(), "no README claims table for {missing:?}");
}

/// benches/HISTORY.md, the performance record the README links to, holds
/// generated blocks too (earlier machines' tables, the timing runs).
#[test]
fn every_table_in_the_performance_history_is_generated_from_its_source() {
    let path = root().join("benches/HISTORY.md");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        generated_blocks(&text)
            .iter()
            .any(|(kind, (arg, _, _))| *kind == "times" && arg == "benches/results/study_times"),
        "benches/HISTORY.md shows the timing runs, benches/results/study_times"
    );
    let stale = stale_blocks(&path);
    assert!(
        stale.is_empty(),
        "benches/HISTORY.md blocks differ from what they are generated from: {stale:?}; \
         rerun with OVERFIT_UPDATE_README=1 after checking the new results"
    );
}

/// The image links `](path)` in `markdown` that name a local file (not a URL).
fn local_image_links(markdown: &str) -> Vec<&str> {
    markdown
        .split("![")
        .skip(1)
        .filter_map(|rest| {
            let start = rest.find("](")? + 2;
            let len = rest[start..].find(')')?;
            Some(&rest[start..start + len])
        })
        .filter(|link| !link.contains("://"))
        .collect()
}

#[test]
fn image_links_are_found_in_markdown() {
    let text = "a ![x](figures/a.png) b ![y](https://e.org/b.png) ![z](c/d.svg)";
    assert_eq!(local_image_links(text), vec!["figures/a.png", "c/d.svg"]);
}

#[test]
fn every_figure_the_readme_shows_exists() {
    let root = root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let missing: Vec<&str> = local_image_links(&readme)
        .into_iter()
        .filter(|link| !root.join(link).is_file())
        .collect();
    assert!(
        missing.is_empty(),
        "README shows figures that are not committed: {missing:?}"
    );
}
