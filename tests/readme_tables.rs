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

/// The value at `path` in `json`: segments split by '/', a number indexes
/// an array, any other word names an object's key or, in an array of
/// objects, the element whose "id" is that word (a claim's row).
fn json_value<'j>(json: &'j serde_json::Value, path: &str) -> Option<&'j serde_json::Value> {
    path.split('/').try_fold(json, |v, seg| match v {
        serde_json::Value::Array(items) => match seg.parse::<usize>() {
            Ok(k) => items.get(k),
            Err(_) => items.iter().find(|e| e["id"] == seg),
        },
        serde_json::Value::Object(map) => map.get(seg),
        _ => None,
    })
}

/// `v` as FORMAT says: "sigN", N significant digits (in e-notation below
/// 1e-3 or from 1e6); "fixN", N digits after the point; "pctN", 100 v with
/// N digits after the point (the prose writes the % sign); "int", a whole
/// number.
fn format_value(v: f64, format: &str) -> String {
    if format == "int" {
        assert!(v.fract() == 0.0, "{v} is not whole");
        return format!("{v:.0}");
    }
    let digits = |prefix: &str| {
        format
            .strip_prefix(prefix)
            .and_then(|n| n.parse::<usize>().ok())
    };
    if let Some(decimals) = digits("fix") {
        return format!("{v:.decimals$}");
    }
    if let Some(decimals) = digits("pct") {
        return format!("{:.decimals$}", 100.0 * v);
    }
    let sig: usize = (format.strip_prefix("sig").and_then(|n| n.parse().ok()))
        .unwrap_or_else(|| panic!("format {format:?}: sigN or int"));
    let a = v.abs();
    if v == 0.0 {
        "0".into()
    } else if !(1e-3..1e6).contains(&a) {
        format!("{:.*e}", sig - 1, v)
    } else {
        let decimals = (sig as i32 - 1 - a.log10().floor() as i32).max(0) as usize;
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
        json_value(&json, path).and_then(serde_json::Value::as_f64)
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

/// The query `AGG[:COLUMN][?FILTER&FILTER...]` over the records of a CSV:
/// AGG is `count` (of the records that pass, no column) or `sum`, `mean`,
/// `median`, `min`, `max` of COLUMN over them; a FILTER is `COL OP VALUE`
/// (no spaces) with OP one of `=`, `!=`, `<=`, `>=`, `<`, `>`, and VALUE
/// a literal or `$COL2`, that record's COL2. Cells compare as numbers when
/// both parse as numbers (so `ratio=1` matches "1.0"), else as text, where
/// only `=` and `!=` apply. None when a name is unknown or nothing passes
/// (for every AGG but count).
fn csv_value(text: &str, query: &str) -> Option<f64> {
    let (head, filters) = query.split_once('?').unwrap_or((query, ""));
    let (agg, column) = head
        .split_once(':')
        .map_or((head, None), |(a, c)| (a, Some(c)));
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let names: Vec<String> = reader.headers().ok()?.iter().map(String::from).collect();
    let index = |name: &str| names.iter().position(|n| n == name);
    let mut tests = Vec::new();
    for filter in filters.split('&').filter(|f| !f.is_empty()) {
        let op = ["!=", "<=", ">=", "=", "<", ">"]
            .into_iter()
            .find(|op| filter.contains(op))?;
        let (col, value) = filter.split_once(op)?;
        let value = match value.strip_prefix('$') {
            Some(other) => Err(index(other)?),
            None => Ok(value.to_string()),
        };
        tests.push((index(col)?, op, value));
    }
    let passes = |record: &csv::StringRecord| {
        tests.iter().all(|(col, op, value)| {
            let right = match value {
                Ok(literal) => literal.as_str(),
                Err(other) => &record[*other],
            };
            let left = &record[*col];
            match (left.parse::<f64>(), right.parse::<f64>()) {
                (Ok(a), Ok(b)) => match *op {
                    "=" => a == b,
                    "!=" => a != b,
                    "<=" => a <= b,
                    ">=" => a >= b,
                    "<" => a < b,
                    _ => a > b,
                },
                _ => match *op {
                    "=" => left == right,
                    "!=" => left != right,
                    _ => panic!(
                        "filter {filter:?}: {op} compares numbers, not {left:?}, {right:?}",
                        filter = query
                    ),
                },
            }
        })
    };
    let records: Vec<csv::StringRecord> =
        reader.records().map(Result::ok).collect::<Option<_>>()?;
    let kept: Vec<&csv::StringRecord> = records.iter().filter(|r| passes(r)).collect();
    if agg == "count" {
        assert!(column.is_none(), "query {query:?}: count takes no column");
        return Some(kept.len() as f64);
    }
    let col = index(column?)?;
    let mut xs: Vec<f64> = kept
        .iter()
        .map(|r| r[col].parse().ok())
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
    let at = |p| json_value(&json, p).and_then(serde_json::Value::as_f64);
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
    assert_eq!(q("count?nosuch=1"), None);
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
