//! Experiment specs: a TOML file -> a validated header plus the study's own
//! typed section (serde, deny_unknown_fields). Errors are one line naming the
//! file and the key.
//!
//! Layout of a spec file:
//! ```toml
//! name = "xor_grokking"      # default output dir results/<name>/ (<name>-quick/ with --quick)
//! study = "xor_cluster"      # which study runs it (see `studies`)
//! seed = 2024                # master seed: run r draws from stream (seed, r)
//! description = "..."
//! [data] ...                 # study-specific tables
//! [quick]                    # overrides applied by --quick (deep-merged)
//! ```

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The keys every spec has.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub name: String,
    pub study: String,
    pub seed: u64,
    #[serde(default)]
    pub description: String,
}

const HEADER_KEYS: [&str; 4] = ["name", "study", "seed", "description"];

/// A spec read from disk, `[quick]` merged in when asked, split into the
/// header and the study's table.
#[derive(Clone, Debug)]
pub struct LoadedSpec {
    pub path: PathBuf,
    pub header: Header,
    pub body: toml::Table,
    pub quick: bool,
    /// `--seeds N`, once `set_run_counts` has written it into the body.
    pub seeds: Option<usize>,
    /// `--seed S`, once `set_seed` has written it into the header.
    pub seed_override: Option<u64>,
    /// `--data DIR`, written into the spec's `data.dir` (`set_data_dir`).
    pub data_override: Option<String>,
    /// The spec's `[quick]` table, applied or not: with `quick`, a key it
    /// sets is named `quick.<key>` in errors (`key_name`).
    pub quick_table: Option<toml::Table>,
}

/// Deep-merge `over` into `base`: tables merge key by key, anything else is replaced.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether x is a finite number > 0 (NaN is not): what a spec check means
/// by "must be positive". One place for every study's validation.
pub fn positive(x: f64) -> bool {
    x > 0.0 && x.is_finite()
}

/// Whether x lies in the open interval (0, 1) (NaN does not): a level, a
/// rate or a slope strictly between the ends.
pub fn open_unit(x: f64) -> bool {
    x > 0.0 && x < 1.0
}

/// Read and parse a spec file.
pub fn load(path: &Path, quick: bool) -> Result<LoadedSpec> {
    let text = crate::fsio::read_regular_text(path, "a TOML spec file")?;
    parse(path, &text, quick)
}

/// The key path (`a.b[2].c`) of the first float in `table` that is NaN or
/// infinite, if any.
fn first_non_finite(table: &toml::Table, prefix: &str) -> Option<String> {
    fn walk(v: &toml::Value, at: String) -> Option<String> {
        match v {
            toml::Value::Float(x) if !x.is_finite() => Some(at),
            toml::Value::Table(t) => first_non_finite(t, &at),
            toml::Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, item)| walk(item, format!("{at}[{i}]"))),
            _ => None,
        }
    }
    table.iter().find_map(|(k, v)| {
        let at = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        walk(v, at)
    })
}

/// Parse spec text (the path only names the source in messages).
pub fn parse(path: &Path, text: &str, quick: bool) -> Result<LoadedSpec> {
    let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        Error::bad(format!(
            "{}: not valid TOML: {}",
            path.display(),
            one_line(e.message())
        ))
    })?;
    let quick_table = match table.remove("quick") {
        Some(toml::Value::Table(t)) => Some(t),
        Some(_) => {
            return Err(Error::bad(format!(
                "{}: key `quick` must be a table",
                path.display()
            )))
        }
        None => None,
    };
    if quick {
        match quick_table.clone() {
            Some(q) => merge(&mut table, q),
            // A --quick run's resolved spec: its overrides are its values.
            None if ResolvedOptions::of_text(text).quick => {}
            None => {
                return Err(Error::bad(format!(
                    "{}: --quick given but the spec has no [quick] table",
                    path.display()
                )))
            }
        }
    }
    if let Some(key) = first_non_finite(&table, "") {
        let key = quick_key_name(quick.then_some(quick_table.as_ref()).flatten(), &key);
        return Err(Error::bad(format!(
            "{}: key `{key}`: not a finite number (nan and inf are refused everywhere: a NaN threshold would make a claim hold vacuously)",
            path.display()
        )));
    }
    let mut header_table = toml::Table::new();
    for k in HEADER_KEYS {
        if let Some(v) = table.remove(k) {
            header_table.insert(k.to_string(), v);
        }
    }
    let header: Header = deserialize_table(path, header_table)?;
    if header.name.is_empty()
        || !header
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(Error::bad(format!(
            "{}: key `name` = {:?}: use letters, digits, '_' and '-'",
            path.display(),
            header.name
        )));
    }
    Ok(LoadedSpec {
        path: path.to_path_buf(),
        header,
        body: table,
        quick,
        seeds: None,
        seed_override: None,
        data_override: None,
        quick_table,
    })
}

/// `key` as an error names it: `quick.<key>` when the applied `[quick]`
/// table `quick` set it (the key, or a table or array above it, is a value
/// there: deep-merging replaces such values whole), else as it is.
fn quick_key_name(quick: Option<&toml::Table>, key: &str) -> String {
    let Some(mut table) = quick else {
        return key.to_string();
    };
    for part in key.split('.') {
        let name = part.split('[').next().unwrap_or(part);
        match table.get(name) {
            Some(toml::Value::Table(t)) if name == part => table = t,
            Some(_) => return format!("quick.{key}"),
            None => break,
        }
    }
    key.to_string()
}

/// serde's message on an unknown top-level key of the study's section,
/// with the header keys (and `quick`) added to the keys it expects: they
/// are valid there too, only read apart.
fn with_header_keys(msg: &str) -> String {
    let Some(rest) = msg.strip_prefix("unknown field ") else {
        return msg.to_string();
    };
    let (unknown, expected) = match rest.split_once(", expected ") {
        Some((unknown, expected)) => {
            let list = expected.strip_prefix("one of ").unwrap_or(expected);
            (unknown, format!(", {list}"))
        }
        None => (rest.split(", ").next().unwrap_or(rest), String::new()),
    };
    let header: Vec<String> = HEADER_KEYS
        .iter()
        .chain(&["quick"])
        .map(|k| format!("`{k}`"))
        .collect();
    format!(
        "unknown field {unknown}, expected one of {}{expected}",
        header.join(", ")
    )
}

/// Deserialize a table into T, naming the file and the key path on error.
pub fn deserialize_table<T: DeserializeOwned>(path: &Path, table: toml::Table) -> Result<T> {
    deserialize_named(path, table, |key, msg| (key.to_string(), msg))
}

/// `deserialize_table`, with the key and message of an error passed
/// through `name` first.
fn deserialize_named<T: DeserializeOwned>(
    path: &Path,
    table: toml::Table,
    name: impl Fn(&str, String) -> (String, String),
) -> Result<T> {
    let de = toml::Value::Table(table);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        let msg = one_line(&e.inner().to_string());
        if key == "." || key.is_empty() {
            Error::bad(format!("{}: {msg}", path.display()))
        } else {
            let (key, msg) = name(&key, msg);
            Error::bad(format!("{}: key `{key}`: {msg}", path.display()))
        }
    })
}

impl LoadedSpec {
    /// The study's typed section (everything but the header keys). An
    /// error names a key that `[quick]` set as `quick.<key>`, and an
    /// unknown top-level key lists the header keys among those expected.
    pub fn study_section<T: DeserializeOwned>(&self) -> Result<T> {
        deserialize_named(&self.path, self.body.clone(), |key, msg| {
            let named = self.key_name(key);
            let top_level = !key.contains(['.', '[']);
            if top_level && named == key {
                (named, with_header_keys(&msg))
            } else {
                (named, msg)
            }
        })
    }

    /// `key` as errors name it: `quick.<key>` when the applied `[quick]`
    /// table set it.
    pub fn key_name(&self, key: &str) -> String {
        quick_key_name(
            self.quick.then_some(self.quick_table.as_ref()).flatten(),
            key,
        )
    }

    /// A bad-value error naming this spec and the key (`key_name`).
    pub fn bad_value(&self, key: &str, msg: impl std::fmt::Display) -> Error {
        Error::bad(format!(
            "{}: key `{}`: {msg}",
            self.path.display(),
            self.key_name(key)
        ))
    }

    /// This spec read again with its `[quick]` table applied (None when it
    /// has none), to check the overrides of a run without --quick.
    pub fn with_quick(&self) -> Option<Result<LoadedSpec>> {
        self.quick_table.as_ref()?;
        Some(load(&self.path, true))
    }

    /// The resolved spec as TOML (header + the study's section with defaults filled in).
    pub fn resolved_toml<T: Serialize>(&self, section: &T) -> String {
        let mut table = toml::Table::try_from(&self.header).expect("header serialises");
        let body = toml::Table::try_from(section).expect("study section serialises");
        table.extend(body);
        let applied: Vec<String> = self
            .quick
            .then(|| "--quick".to_string())
            .into_iter()
            .chain(self.seeds.map(|n| format!("--seeds {n}")))
            .chain(self.seed_override.map(|s| format!("--seed {s}")))
            .chain(self.data_override.as_ref().map(|d| format!("--data {d}")))
            .collect();
        let mut text = format!(
            "{RESOLVED_COMMENT}{} from {}\n",
            if applied.is_empty() {
                String::new()
            } else {
                format!(" ({} applied)", applied.join(", "))
            },
            self.path.display()
        );
        text.push_str(&toml::to_string_pretty(&table).expect("spec serialises"));
        text
    }
}

/// How a resolved spec's first line begins (`LoadedSpec::resolved_toml`
/// writes it, `ResolvedOptions::of_text` reads it back).
const RESOLVED_COMMENT: &str = "# resolved spec";

/// The command-line options a resolved spec's first line says were applied
/// (`# resolved spec (--quick, --seed 77 applied) from ...`, written by
/// `LoadedSpec::resolved_toml`) that decide where a run goes and how it is
/// labelled. Running a resolved spec again re-applies them, so a quick or
/// replicate run's spec.toml, run without options, goes to its own
/// `-quick` / `-seedS` directory and is labelled quick, as the first run
/// was, and never replaces a full run's directory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResolvedOptions {
    /// `--quick`: the `[quick]` overrides are already the spec's values.
    pub quick: bool,
    /// `--seed S`: the spec is a replicate's, of the seed its `seed` key
    /// holds.
    pub seed: Option<u64>,
}

impl ResolvedOptions {
    /// Read from a spec's text: none unless its first line is a resolved
    /// spec's comment that lists the options applied.
    pub fn of_text(text: &str) -> ResolvedOptions {
        let first = text.lines().next().unwrap_or("");
        let Some(list) = first
            .strip_prefix(RESOLVED_COMMENT)
            .and_then(|rest| rest.strip_prefix(" ("))
            .and_then(|rest| rest.split_once(" applied) from ").map(|(list, _)| list))
        else {
            return ResolvedOptions::default();
        };
        let options: Vec<&str> = list.split(", ").collect();
        // A replicate's seed is the file's `seed` (edited since, it is a
        // replicate of that seed), the first line only saying it is one.
        let file_seed = || {
            let table: toml::Table = text.parse().ok()?;
            u64::try_from(table.get("seed")?.as_integer()?).ok()
        };
        let replicate = options.iter().any(|o| o.starts_with("--seed "));
        ResolvedOptions {
            quick: options.contains(&"--quick"),
            seed: if replicate { file_seed() } else { None },
        }
    }

    /// Read from a spec file; none when it cannot be read (the run that
    /// loads it then says why).
    pub fn of_file(path: &Path) -> ResolvedOptions {
        crate::fsio::read_regular_text(path, "a TOML spec file")
            .map_or_else(|_| ResolvedOptions::default(), |t| Self::of_text(&t))
    }
}

/// Call `f(key, table, name)` for every table that holds the key `path`
/// names: a dotted path whose segments `name[]` walk every table of an array
/// of tables (`panels[].runs` visits `panels[0].runs`, `panels[1].runs`, ...).
/// `key` is the concrete path; tables that are absent are skipped.
fn visit_key(
    table: &mut toml::Table,
    path: &str,
    prefix: &str,
    f: &mut impl FnMut(String, &mut toml::Table, &str),
) {
    let join = |name: &str| {
        if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}.{name}")
        }
    };
    let Some((head, rest)) = path.split_once('.') else {
        return f(join(path), table, path);
    };
    if let Some(name) = head.strip_suffix("[]") {
        if let Some(toml::Value::Array(items)) = table.get_mut(name) {
            for (i, item) in items.iter_mut().enumerate() {
                if let toml::Value::Table(t) = item {
                    visit_key(t, rest, &join(&format!("{name}[{i}]")), f);
                }
            }
        }
    } else if let Some(toml::Value::Table(t)) = table.get_mut(head) {
        visit_key(t, rest, &join(head), f);
    }
}

/// The integer values of the keys `paths` (see `visit_key`) in `table`, by concrete key.
pub fn integers_at(table: &toml::Table, paths: &[&str]) -> Vec<(String, i64)> {
    let mut table = table.clone();
    let mut out = Vec::new();
    for path in paths {
        visit_key(&mut table, path, "", &mut |key, t, name| {
            if let Some(v) = t.get(name).and_then(toml::Value::as_integer) {
                out.push((key, v));
            }
        });
    }
    out
}

impl LoadedSpec {
    /// `--seeds n`: set every key of `paths` (the study's run counts, see
    /// `visit_key`) to `n` wherever its table is present, so the resolved
    /// spec records the runs actually made.
    pub fn set_run_counts(&mut self, paths: &[&str], n: usize) {
        for path in paths {
            visit_key(&mut self.body, path, "", &mut |_, t, name| {
                t.insert(name.to_string(), toml::Value::Integer(n as i64));
            });
        }
        self.seeds = Some(n);
    }

    /// `--seed s`: the master seed every study draws its streams from,
    /// in place of the spec's.
    pub fn set_seed(&mut self, seed: u64) {
        self.header.seed = seed;
        self.seed_override = Some(seed);
    }

    /// `--data DIR`: the data folder in place of the spec's `data.dir`, so
    /// that the resolved spec records the folder the run read (and
    /// `--resume` and `merge`, which compare resolved specs, refuse units
    /// computed from another one). Fails, naming the spec, when the spec
    /// has no [data] table to hold it.
    pub fn set_data_dir(&mut self, dir: &Path) -> Result<()> {
        let text = dir.to_str().ok_or_else(|| {
            Error::bad(format!("--data {}: the path is not UTF-8", dir.display()))
        })?;
        let Some(toml::Value::Table(data)) = self.body.get_mut("data") else {
            return Err(Error::bad(format!(
                "--data {text}: it sets a spec's `data.dir`, and {} has no [data] table",
                self.path.display()
            )));
        };
        data.insert("dir".to_string(), toml::Value::String(text.to_string()));
        self.data_override = Some(text.to_string());
        Ok(())
    }
}

/// Test support: the study section of the committed spec
/// experiments/{name}.toml (its quick preset when `quick`).
#[cfg(test)]
pub fn committed<T: DeserializeOwned>(name: &str, quick: bool) -> T {
    let path = format!("{}/experiments/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    load(path.as_ref(), quick)
        .and_then(|l| l.study_section())
        .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, Serialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        data: Data,
    }
    #[derive(Debug, Deserialize, Serialize)]
    #[serde(deny_unknown_fields)]
    struct Data {
        n: usize,
        #[serde(default)]
        p: Option<usize>,
    }

    const TEXT: &str =
        "name = \"t\"\nstudy = \"s\"\nseed = 3\n[data]\nn = 10\n[quick]\ndata = { n = 2 }\n";

    #[test]
    fn quick_merges_and_header_splits() {
        let s = parse(Path::new("x.toml"), TEXT, true).unwrap();
        let b: Body = s.study_section().unwrap();
        assert_eq!(b.data.n, 2);
        assert_eq!(s.header.seed, 3);
        let s = parse(Path::new("x.toml"), TEXT, false).unwrap();
        let b: Body = s.study_section().unwrap();
        assert_eq!(b.data.n, 10);
    }

    /// A resolved spec names the options applied on its first line; they
    /// are read back (and only from there), and its spec takes --quick as
    /// already applied, where a plain spec without [quick] refuses it.
    #[test]
    fn a_resolved_specs_options_are_read_back() {
        let mut s = parse(Path::new("x.toml"), TEXT, true).unwrap();
        s.set_seed(77);
        s.seeds = Some(4);
        let body: Body = s.study_section().unwrap();
        let text = s.resolved_toml(&body);
        let read = ResolvedOptions::of_text(&text);
        assert_eq!(
            read,
            ResolvedOptions {
                quick: true,
                seed: Some(77)
            }
        );
        let again = parse(Path::new("r.toml"), &text, true).unwrap();
        assert_eq!(again.study_section::<Body>().unwrap().data.n, 2);

        s.quick = false;
        let read = ResolvedOptions::of_text(&s.resolved_toml(&body));
        assert_eq!(
            read,
            ResolvedOptions {
                quick: false,
                seed: Some(77)
            }
        );
        let full = parse(Path::new("x.toml"), TEXT, false).unwrap();
        let text = full.resolved_toml(&body);
        assert_eq!(ResolvedOptions::of_text(&text), ResolvedOptions::default());
        let e = parse(Path::new("r.toml"), &text, true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no [quick] table"), "{e}");
        // An edited replicate's seed is its file's.
        let edited = s.resolved_toml(&body).replace("seed = 77", "seed = 78");
        assert_eq!(ResolvedOptions::of_text(&edited).seed, Some(78));
        let later_line = format!("seed = 1\n{}", "# resolved spec (--quick applied) from x");
        assert_eq!(
            ResolvedOptions::of_text(&later_line),
            ResolvedOptions::default()
        );
    }

    #[test]
    fn unknown_key_is_named() {
        let text = TEXT.replace("n = 10", "n = 10\nbogus = 1");
        let s = parse(Path::new("x.toml"), &text, false).unwrap();
        let e = s.study_section::<Body>().unwrap_err().to_string();
        assert!(
            e.contains("x.toml") && e.contains("bogus") && e.contains("data"),
            "{e}"
        );
        assert!(!e.contains('\n'));
    }

    #[test]
    fn run_counts_are_set_and_read_through_arrays_of_tables() {
        let text = "name = \"t\"\nstudy = \"s\"\nseed = 3\n[[panels]]\nruns = 5\n[[panels]]\nid = 1\n[train]\nruns = 2\n";
        let mut s = parse(Path::new("x.toml"), text, false).unwrap();
        let keys = ["panels[].runs", "train.runs", "absent.runs"];
        assert_eq!(
            integers_at(&s.body, &keys),
            vec![
                ("panels[0].runs".to_string(), 5),
                ("train.runs".to_string(), 2)
            ]
        );
        s.set_run_counts(&keys, 7);
        let got = integers_at(&s.body, &keys);
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got.iter().all(|(_, v)| *v == 7), "{got:?}");
        assert!(!s.body.contains_key("absent"));
    }

    /// A typo in a header key lists the header keys among those expected;
    /// one in `[quick]` is named `quick.<key>`, with or without --quick
    /// (the runner checks a full run's `[quick]` through `with_quick`).
    #[test]
    fn header_and_quick_typos_are_named() {
        let text = TEXT.replace("seed = 3", "seed = 3\ndescripton = \"d\"");
        let s = parse(Path::new("x.toml"), &text, false).unwrap();
        let e = s.study_section::<Body>().unwrap_err().to_string();
        assert!(e.contains("key `descripton`"), "{e}");
        assert!(
            e.contains("expected one of `name`, `study`, `seed`, `description`, `quick`, `data`"),
            "{e}"
        );
        let text = TEXT.replace("data = { n = 2 }", "data = { m = 2 }");
        let path = std::env::temp_dir().join(format!("overfit-spec-{}.toml", std::process::id()));
        std::fs::write(&path, &text).unwrap();
        let full = load(&path, false).unwrap();
        assert!(full.study_section::<Body>().is_ok());
        let quick = full.with_quick().unwrap().unwrap();
        let _ = std::fs::remove_file(&path);
        let e = quick.study_section::<Body>().unwrap_err().to_string();
        assert!(e.contains("key `quick.data.m`") && !e.contains('\n'), "{e}");
        assert!(quick
            .bad_value("data.n", "x")
            .to_string()
            .contains("`data.n`"));
        let text = TEXT.replace("data = { n = 2 }", "data = { n = nan }");
        let e = parse(Path::new("x.toml"), &text, true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("key `quick.data.n`"), "{e}");
        let s = parse(Path::new("x.toml"), TEXT, true).unwrap();
        assert!(s
            .bad_value("data.n", "x")
            .to_string()
            .contains("`quick.data.n`"));
        assert!(s.bad_value("data.p", "x").to_string().contains("`data.p`"));
        assert!(parse(Path::new("x.toml"), TEXT, false)
            .unwrap()
            .bad_value("data.n", "x")
            .to_string()
            .contains("key `data.n`"));
    }

    #[test]
    fn wrong_type_is_named() {
        let text = TEXT.replace("n = 10", "n = \"ten\"");
        let s = parse(Path::new("x.toml"), &text, false).unwrap();
        let e = s.study_section::<Body>().unwrap_err().to_string();
        assert!(e.contains("data.n"), "{e}");
    }
}
