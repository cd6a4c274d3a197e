//! `overfit rejudge`'s record in summary.json: which rules recomputed a
//! run's claims, when, and which rows moved (verdicts, kinds, predictions,
//! measurements, statements), with their old values.

use serde::{Deserialize, Serialize};

use super::{csv_float, spec_hash, unix_now, Claim, Measured, Verdict};

/// One `overfit rejudge` of a finished run: the claims were recomputed by
/// the rules of the binary at `commit` from the run's recorded outputs
/// (nothing retrained); `changes` lists each row whose verdict changed,
/// or that was added or removed, as "id: old -> new", then each whose kind
/// changed, as "id: kind old -> new" (`verdict_changes`), then each whose
/// prediction, measurement or statement changed (`value_changes`); a line
/// on the spec comes first when the spec.toml it read is not known to be
/// the run's (`compare_spec`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rejudge {
    pub commit: String,
    pub dirty: String,
    pub command: Vec<String>,
    pub unix_s: f64,
    pub changes: Vec<String>,
    /// `spec_hash` of the spec.toml this rejudge read (absent in entries
    /// written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_hash: Option<String>,
    /// Keys this binary does not know, kept as read (see `Summary::extra`).
    #[serde(flatten)]
    pub extra: super::Extra,
}

impl Rejudge {
    /// The rejudge happening now, from `before`'s rows to `after`'s.
    pub fn now(before: &[Claim], after: &[Claim]) -> Self {
        Rejudge {
            commit: env!("OVERFIT_GIT_COMMIT").to_string(),
            dirty: env!("OVERFIT_GIT_DIRTY").to_string(),
            command: std::env::args().collect(),
            unix_s: unix_now(),
            changes: row_changes(before, after),
            spec_hash: None,
            extra: Default::default(),
        }
    }

    /// Record the hash of the spec.toml this rejudge read (`spec`, its
    /// bytes) and, first among `changes`, whether it is the spec the run
    /// wrote (`run_hash`, the summary's `spec_hash`): "spec.toml: differs
    /// from the run's (hash X -> Y)", or "spec.toml: the run recorded no
    /// hash" for a run written before hashes were; nothing when they agree.
    pub fn compare_spec(&mut self, run_hash: Option<&str>, spec: &[u8]) {
        let hash = spec_hash(spec);
        let line = match run_hash {
            Some(was) if was == hash => None,
            Some(was) => Some(format!(
                "{SPEC_LINE}differs from the run's (hash {was} -> {hash})"
            )),
            None => Some(format!("{SPEC_LINE}the run recorded no hash")),
        };
        self.changes.splice(0..0, line);
        self.spec_hash = Some(hash);
    }

    /// The lines of `changes` that name a change of a row.
    pub fn row_lines(&self) -> impl Iterator<Item = &str> {
        self.changes
            .iter()
            .map(String::as_str)
            .filter(|c| !c.starts_with(SPEC_LINE))
    }

    /// The lines of `changes` on the spec (`compare_spec`).
    pub fn spec_lines(&self) -> impl Iterator<Item = &str> {
        self.changes
            .iter()
            .map(String::as_str)
            .filter(|c| c.starts_with(SPEC_LINE))
    }

    /// How many rows' changes `changes` lists (lines, as `row_lines`).
    pub fn row_changes(&self) -> usize {
        self.row_lines().count()
    }

    /// Whether every change of a row is a verdict or kind change (the only
    /// ones entries recorded before `value_changes` existed).
    pub fn only_verdicts_and_kinds(&self) -> bool {
        self.row_lines().all(is_verdict_or_kind)
    }

    /// The verdict change this rejudge made to row `id`: (old, new), each
    /// "holds", "fails", "inconclusive" or "absent".
    pub fn verdict_change(&self, id: &str) -> Option<(&str, &str)> {
        self.row_lines().find_map(|line| {
            let (was, is) = line
                .strip_prefix(id)?
                .strip_prefix(": ")?
                .split_once(" -> ")?;
            (VERDICT_WORDS.contains(&was) && VERDICT_WORDS.contains(&is)).then_some((was, is))
        })
    }
}

/// Row `id`'s verdict as the run first judged it, when the rejudges in
/// `rejudged` (in order) moved it from there to `now`, with the rejudges
/// that did: the first one's old verdict word ("absent": no such row), and
/// each entry that changed it. None when no rejudge changed it, or it
/// stands again where the run put it.
pub fn first_verdict<'r>(
    rejudged: &'r [Rejudge],
    id: &str,
    now: Verdict,
) -> Option<(&'r str, Vec<&'r Rejudge>)> {
    let moves: Vec<(&Rejudge, &str)> = (rejudged.iter())
        .filter_map(|r| Some((r, r.verdict_change(id)?.0)))
        .collect();
    let (_, first) = *moves.first()?;
    (first != now.word()).then(|| (first, moves.into_iter().map(|(r, _)| r).collect()))
}

/// The words of a verdict change's two sides (`verdict_changes`): a
/// verdict's (`Verdict::word`), or "absent" for a row on one side only.
const VERDICT_WORDS: [&str; 4] = ["holds", "fails", "inconclusive", ABSENT];
const ABSENT: &str = "absent";

/// How the line of `changes` on the spec starts (`Rejudge::compare_spec`);
/// no row has this id.
const SPEC_LINE: &str = "spec.toml: ";

/// Every change of a row from `before` to `after`: `verdict_changes`, then
/// `value_changes`.
pub fn row_changes(before: &[Claim], after: &[Claim]) -> Vec<String> {
    let mut lines = verdict_changes(before, after);
    lines.extend(value_changes(before, after));
    lines
}

/// Whether `line` is one of `verdict_changes`' ("id: old -> new" of two
/// verdicts or "absent", "id: kind old -> new").
fn is_verdict_or_kind(line: &str) -> bool {
    let Some((_, tail)) = line.rsplit_once(": ") else {
        return false;
    };
    let (tail, words): (&str, &[&str]) = match tail.strip_prefix("kind ") {
        Some(kinds) => (kinds, &["claim", "check", "hypothesis"]),
        None => (tail, &VERDICT_WORDS),
    };
    tail.split_once(" -> ")
        .is_some_and(|(was, is)| words.contains(&was) && words.contains(&is))
}

/// "id: old -> new" for each row of `after` whose verdict differs from the
/// row of the same id in `before` ("absent" for a row on one side only),
/// then each row of `before` that `after` lacks, in row order; then "id:
/// kind old -> new" for each row in both whose kind differs (a relabel
/// moves the "N of M" counts without moving a verdict).
pub fn verdict_changes(before: &[Claim], after: &[Claim]) -> Vec<String> {
    let word = |v: Option<Verdict>| v.map_or(ABSENT, Verdict::word);
    let find = |rows: &[Claim], id: &str| rows.iter().find(|c| c.id == id).map(Claim::verdict);
    let changed = after
        .iter()
        .map(|c| (c.id.as_str(), find(before, &c.id), Some(c.verdict())));
    let removed = before
        .iter()
        .filter(|c| find(after, &c.id).is_none())
        .map(|c| (c.id.as_str(), Some(c.verdict()), None));
    let kinds = after.iter().filter_map(|c| {
        let old = before.iter().find(|b| b.id == c.id)?;
        let name = |k| serde_json::to_value(k).ok()?.as_str().map(str::to_string);
        (old.kind != c.kind).then(|| {
            let (was, is) = (
                name(old.kind).unwrap_or_default(),
                name(c.kind).unwrap_or_default(),
            );
            format!("{}: kind {was} -> {is}", c.id)
        })
    });
    changed
        .chain(removed)
        .filter(|(_, old, new)| old != new)
        .map(|(id, old, new)| format!("{id}: {} -> {}", word(old), word(new)))
        .chain(kinds)
        .collect()
}

/// For each row in both `before` and `after` (by id, in `after`'s order):
/// "id: predicted OLD -> NEW" when its prediction changed, "id: measured
/// OLD -> NEW" when its measured value changed (with the 20-80% band and
/// the run count on both sides when those changed too; "id: measured note
/// changed" when only its note did), and "id: statement changed" when its
/// statement did; then one line counting the rows whose named quantities
/// (`Measured::quantities`) changed. Numbers are compared and
/// written to every digit (`csv_float`): exactly, but NaN equals NaN.
pub fn value_changes(before: &[Claim], after: &[Claim]) -> Vec<String> {
    let band = |m: &Measured| {
        let quantiles = match (m.q20, m.q80) {
            (Some(a), Some(b)) => format!(" [20-80%: {}, {}]", csv_float(a), csv_float(b)),
            _ => String::new(),
        };
        format!("{quantiles} (runs {})", m.runs)
    };
    let mut lines = Vec::new();
    for c in after {
        let Some(old) = before.iter().find(|b| b.id == c.id) else {
            continue;
        };
        let (was, is) = (
            old.predicted.describe_with(csv_float),
            c.predicted.describe_with(csv_float),
        );
        if was != is {
            lines.push(format!("{}: predicted {was} -> {is}", c.id));
        }
        let (was, is) = (csv_float(old.measured.value), csv_float(c.measured.value));
        let (band_was, band_is) = (band(&old.measured), band(&c.measured));
        if band_was != band_is {
            lines.push(format!(
                "{}: measured {was}{band_was} -> {is}{band_is}",
                c.id
            ));
        } else if was != is {
            lines.push(format!("{}: measured {was} -> {is}", c.id));
        } else if old.measured.note != c.measured.note {
            lines.push(format!("{}: measured note changed", c.id));
        }
        if old.statement != c.statement {
            lines.push(format!("{}: statement changed", c.id));
        }
    }
    // One line for all: the numbers a note states move with the note.
    let quantities = (after.iter())
        .filter(|c| {
            let old = before.iter().find(|b| b.id == c.id);
            old.is_some_and(|old| old.measured.quantities != c.measured.quantities)
        })
        .count();
    if quantities > 0 {
        lines.push(format!(
            "the named quantities (the numbers a note states) changed or were added in {quantities} row(s)"
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Measured, Prediction};

    /// A rejudge lists the rows whose verdict changed, appeared or went.
    #[test]
    fn verdict_changes_name_each_changed_row() {
        let row = |id: &str, value: f64| {
            let at_least_one = Prediction::AtLeast { bound: 1.0 };
            Claim::new(id, "s", "src", at_least_one, Measured::single(value))
        };
        let before = [row("a", 2.0), row("b", 0.0), row("gone", 2.0)];
        let after = [row("a", 2.0), row("b", f64::NAN), row("new", 0.0)];
        assert_eq!(
            verdict_changes(&before, &after),
            [
                "b: fails -> inconclusive",
                "new: absent -> fails",
                "gone: holds -> absent"
            ]
        );
        assert!(verdict_changes(&before, &before).is_empty());
        let relabelled = [row("a", 2.0).as_hypothesis()];
        assert_eq!(
            verdict_changes(&before[..1], &relabelled),
            ["a: kind claim -> hypothesis"]
        );
    }

    /// A rejudge also lists, with old and new values, each row whose
    /// prediction, measurement or statement changed, verdict or not; a
    /// NaN that stays NaN is no change.
    #[test]
    fn value_changes_keep_the_old_values() {
        let row = |id: &str, bound: f64, value: f64| {
            let predicted = Prediction::AtLeast { bound };
            Claim::new(id, "s", "src", predicted, Measured::single(value))
        };
        let before = [
            row("moved", 0.01, 0.06059),
            row("undefined", 0.01, f64::NAN),
            row("bound", 0.01, 1.0),
            row("said", 0.01, 1.0),
            row("banded", 0.01, 1.0),
        ];
        let mut after = [
            row("moved", 0.01, 0.06259),
            row("undefined", 0.01, f64::NAN),
            row("bound", 0.02, 1.0),
            row("said", 0.01, 1.0),
            row("banded", 0.01, 1.0),
        ];
        after[3].statement = "reworded".into();
        after[4].measured = Measured::median_of(&[1.0, 1.0, 1.0]);
        after[1].measured.note = "no run interpolated".into();
        after[2].measured = after[2].measured.clone().with_quantity("h", 0.5);
        let lines = [
            "moved: measured 0.06059 -> 0.06259",
            "undefined: measured note changed",
            "bound: predicted >= 0.01 -> >= 0.02",
            "said: statement changed",
            "banded: measured 1 (runs 1) -> 1 [20-80%: 1, 1] (runs 3)",
            "the named quantities (the numbers a note states) changed or were added in 1 row(s)",
        ];
        assert_eq!(value_changes(&before, &after), lines);
        assert_eq!(row_changes(&before, &after), lines);
        assert!(row_changes(&before, &before).is_empty());
        // A change of verdict comes first, with the values that moved it.
        let failed = [row("moved", 0.01, 0.001)];
        assert_eq!(
            row_changes(&before[..1], &failed),
            ["moved: holds -> fails", "moved: measured 0.06059 -> 0.001"]
        );
        assert!(lines.iter().all(|l| !is_verdict_or_kind(l)));
        let verdicts = [
            "a: holds -> fails",
            "b: kind claim -> check",
            "c: absent -> holds",
        ];
        assert!(verdicts.iter().all(|l| is_verdict_or_kind(l)));
    }

    /// The entry records the hash of the spec it read, and says first when
    /// that differs from the run's or the run recorded none.
    #[test]
    fn a_rejudge_says_whether_it_read_the_run_spec() {
        let row = |value: f64| {
            let predicted = Prediction::AtLeast { bound: 1.0 };
            Claim::new("a", "s", "src", predicted, Measured::single(value))
        };
        let (before, after) = ([row(2.0)], [row(0.0)]);
        let spec = b"name = \"x\"\n";
        let hash = spec_hash(spec);
        let judged = |run_hash: Option<&str>| {
            let mut entry = Rejudge::now(&before, &after);
            entry.compare_spec(run_hash, spec);
            assert_eq!(entry.spec_hash.as_deref(), Some(hash.as_str()));
            assert_eq!(entry.row_changes(), 2);
            entry.changes
        };
        let rows = ["a: holds -> fails", "a: measured 2 -> 0"];
        assert_eq!(judged(Some(&hash)), rows);
        let edited = judged(Some("0123456789abcdef"));
        let line = format!("spec.toml: differs from the run's (hash 0123456789abcdef -> {hash})");
        assert_eq!(edited, [line.as_str(), rows[0], rows[1]]);
        assert_eq!(judged(None)[0], "spec.toml: the run recorded no hash");
    }
}
