//! `overfit rejudge`'s record in summary.json: which rules recomputed a
//! run's claims, when, and which verdicts and kinds moved.

use serde::{Deserialize, Serialize};

use super::{unix_now, Claim, Verdict};

/// One `overfit rejudge` of a finished run: the claims were recomputed by
/// the rules of the binary at `commit` from the run's recorded outputs
/// (nothing retrained); `changes` lists each row whose verdict changed,
/// or that was added or removed, as "id: old -> new", then each whose kind
/// changed, as "id: kind old -> new" (`verdict_changes`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rejudge {
    pub commit: String,
    pub dirty: String,
    pub command: Vec<String>,
    pub unix_s: f64,
    pub changes: Vec<String>,
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
            changes: verdict_changes(before, after),
            extra: Default::default(),
        }
    }
}

/// "id: old -> new" for each row of `after` whose verdict differs from the
/// row of the same id in `before` ("absent" for a row on one side only),
/// then each row of `before` that `after` lacks, in row order; then "id:
/// kind old -> new" for each row in both whose kind differs (a relabel
/// moves the "N of M" counts without moving a verdict).
pub fn verdict_changes(before: &[Claim], after: &[Claim]) -> Vec<String> {
    let word = |v: Option<Verdict>| match v {
        Some(Verdict::Holds) => "holds",
        Some(Verdict::Fails) => "fails",
        Some(Verdict::Inconclusive) => "inconclusive",
        None => "absent",
    };
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
}
