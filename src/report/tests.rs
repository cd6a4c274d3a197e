use super::*;

#[test]
fn a_short_commit_cuts_characters_not_bytes() {
    assert_eq!(short_commit("0123456789abcdef"), "0123456789");
    let accented = format!("a{}", "\u{e9}".repeat(12));
    assert_eq!(short_commit(&accented), format!("a{}", "\u{e9}".repeat(9)));
    assert_eq!(short_commit("abc"), "abc");
}
use crate::record::{Measured, Prediction};

fn summary(claims: Vec<Claim>) -> Summary {
    Summary {
        name: "t".into(),
        study: "s".into(),
        seed: 0,
        version: "0".into(),
        elapsed_s: 0.0,
        threads: 1,
        quick: false,
        machine: Default::default(),
        provenance: None,
        spec_hash: None,
        claims,
        details: serde_json::Value::Null,
        files: None,
        rejudged: Vec::new(),
        extra: Default::default(),
    }
}

/// A run that computed only some of its units says so beside its wall
/// time; a whole run and an old summary without the counts do not; a
/// hidden folder (a killed run's staging copy) is no row.
#[test]
fn wall_times_mark_a_resumed_run() {
    let tmp = tempfile::tempdir().unwrap();
    let write = |name: &str, units: Option<(usize, usize)>| {
        let mut s = summary(Vec::new());
        s.elapsed_s = 600.0;
        s.provenance = Some(crate::record::Provenance {
            commit: "0".repeat(40),
            wall_s: 600.0,
            units: units.map(|(total, computed_here)| crate::record::UnitCounts {
                total,
                computed_here,
            }),
            ..Default::default()
        });
        let dir = tmp.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        s.write(&dir).unwrap();
    };
    write("a_whole", Some((117, 117)));
    write("b_resumed", Some((117, 40)));
    write("c_old", None);
    // A killed run's staging folder is not a run.
    write(".d_killed.staging-4242", Some((117, 117)));
    let table = wall_times(tmp.path()).unwrap();
    assert!(!table.contains("staging"), "{table}");
    let line = |name: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("| {name} |")))
            .unwrap()
            .to_string()
    };
    assert!(line("a_whole").contains("| 10.0 min |"), "{table}");
    assert!(
        line("b_resumed")
            .contains("10.0 min (40 of 117 units in this process; the rest resumed or merged)"),
        "{table}"
    );
    assert!(line("c_old").contains("| 10.0 min |"), "{table}");
}

/// The spec table names each spec's committed run with its wall time
/// and CPU / wall ratio, and says so when a spec has none; a `|` in a
/// description does not break the row.
#[test]
fn the_spec_table_reads_each_committed_run() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = summary(Vec::new());
    s.elapsed_s = 45.0;
    s.provenance = Some(crate::record::Provenance {
        commit: "0".repeat(40),
        wall_s: 45.0,
        cpu_s: 90.0,
        ..Default::default()
    });
    let dir = tmp.path().join("ran");
    std::fs::create_dir(&dir).unwrap();
    s.write(&dir).unwrap();
    let header = |name: &str| crate::spec::Header {
        name: name.into(),
        study: "st".into(),
        seed: 1,
        description: "a | b".into(),
    };
    let specs = [
        ("e/ran.toml".into(), header("ran")),
        ("e/not.toml".into(), header("not")),
    ];
    let table = spec_table(&specs, tmp.path()).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(
        lines[2].starts_with("| `e/ran.toml` | st | a \\| b | `"),
        "{table}"
    );
    assert!(
        lines[2].ends_with("ran`: 45.0 s wall, CPU / wall 2.00 |"),
        "{table}"
    );
    assert!(lines[3].ends_with("| no committed run |"), "{table}");
}

fn row(id: &str, value: f64) -> Claim {
    Claim::new(
        id,
        "x is at least 1 | or so",
        "paper",
        Prediction::AtLeast { bound: 1.0 },
        Measured::single(value),
    )
}

#[test]
fn totals_count_claims_and_checks_apart_and_set_the_exit_code() {
    let s = summary(vec![
        row("a", 2.0),
        row("b", 0.0),
        row("c", f64::NAN),
        row("d", 3.0).as_check(),
    ]);
    let t = Totals::of(&s.claims);
    assert_eq!(
        (
            t.claims_hold,
            t.claims_fail,
            t.claims_inconclusive,
            t.checks_pass
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(
        t.to_string(),
        "1 hold, 1 fail, 1 inconclusive (of 3 claims); 1 checks pass"
    );
    assert_eq!(t.exit_code(false), 1);
    let open = Totals::of(&[row("a", 2.0), row("c", f64::NAN)]);
    assert_eq!((open.exit_code(false), open.exit_code(true)), (0, 1));
    let failed_check = Totals::of(&[row("a", 0.0).as_check()]);
    assert_eq!(failed_check.exit_code(false), 1);
}

/// A hypothesis of this project is judged like a claim but counted apart:
/// it changes neither "N of M hold" nor the checks, it fails `check`
/// when it fails, and every format lists it under its own label.
#[test]
fn hypotheses_are_counted_apart_from_the_papers_claims() {
    let s = summary(vec![
        row("a", 2.0),
        row("h", 2.0).as_hypothesis(),
        row("g", 0.0).as_hypothesis(),
        row("d", 3.0).as_check(),
    ]);
    let t = Totals::of(&s.claims);
    assert_eq!((t.claims(), t.claims_hold, t.checks_pass), (1, 1, 1));
    assert_eq!((t.hypotheses_hold, t.hypotheses_fail), (1, 1));
    assert_eq!(
        t.to_string(),
        "1 hold, 0 fail, 0 inconclusive (of 1 claims); 1 checks pass; \
         hypotheses of this project (not the paper's): 1 hold, 1 fail, 0 inconclusive"
    );
    assert_eq!(t.exit_code(false), 1);
    let held = Totals::of(&[row("h", 2.0).as_hypothesis()]);
    assert_eq!((held.exit_code(false), held.claims()), (0, 0));
    let md = table(&s, Format::Markdown);
    assert!(md.contains("| hypothesis | statement"), "{md}");
    assert!(md.contains("| `h` |") && md.contains("| `g` |"), "{md}");
    let js: serde_json::Value = serde_json::from_str(&table(&s, Format::Json)).unwrap();
    assert_eq!(js["rows"][1]["kind"], "hypothesis");
    assert_eq!(js["totals"]["hypotheses_fail"], 1);
    assert!(table(&s, Format::Latex).contains("hypothesis & \\texttt{h}"));
    assert!(table(&s, Format::Text).contains("hypothesis h"));
}

#[test]
fn an_undefined_measurement_or_prediction_is_inconclusive_with_a_reason() {
    let c = row("c", f64::NAN);
    assert_eq!(c.verdict(), Verdict::Inconclusive);
    assert!(!c.holds);
    assert!(c.reason.contains("undefined"), "{}", c.reason);
    let noted = Claim::new(
        "n",
        "s",
        "p",
        Prediction::AtMost { bound: 1.0 },
        Measured::single(f64::NAN).with_note("no width interpolated within 40 epochs"),
    );
    assert_eq!(noted.reason, "no width interpolated within 40 epochs");
    let bad_tolerance = Claim::new(
        "t",
        "s",
        "p",
        Prediction::Near {
            value: 1.0,
            tolerance: f64::NAN,
        },
        Measured::single(1.0),
    );
    assert_eq!(bad_tolerance.verdict(), Verdict::Inconclusive);
}

#[test]
fn a_summary_without_verdicts_is_judged_by_the_same_rule() {
    let mut c = row("old", 0.5);
    c.verdict = None;
    c.holds = true; // a stale field must not decide
    assert_eq!(c.verdict(), Verdict::Fails);
}

#[test]
fn every_format_lists_each_row_and_the_totals() {
    let s = summary(vec![row("a_1", 2.0), row("d", 0.0).as_check()]);
    let md = table(&s, Format::Markdown);
    assert!(md.contains("| `a_1` | x is at least 1 \\| or so |"), "{md}");
    assert!(md.contains("| check | statement"), "{md}");
    assert!(md.contains("**1 hold, 0 fail, 0 inconclusive (of 1 claims); 0 checks pass, 1 fail**"));
    let tex = table(&s, Format::Latex);
    assert!(
        tex.contains("\\texttt{a\\_1}") && tex.contains("\\toprule"),
        "{tex}"
    );
    assert_eq!(
        super::tex(">= 2 +- 0.1, <= |x| > 1"),
        "$\\geq$ 2 $\\pm$ 0.1, $\\leq$ $|$x$|$ $>$ 1"
    );
    let js: serde_json::Value = serde_json::from_str(&table(&s, Format::Json)).unwrap();
    assert_eq!(js["totals"]["checks_fail"], 1);
    assert_eq!(js["rows"][1]["kind"], "check");
    let txt = table(&s, Format::Text);
    assert!(txt.contains("HOLDS") && txt.contains("FAILS"), "{txt}");
    assert!(!txt.contains("rejudged") && !md.contains("rejudged"));
}

/// A rejudged run says so under its totals: the rules' commit, the
/// date and the verdicts that changed.
#[test]
fn a_rejudged_run_says_by_whose_rules() {
    let mut s = summary(vec![row("a", 2.0)]);
    s.rejudged.push(crate::record::Rejudge {
        commit: "0123456789abcdef".into(),
        dirty: "false".into(),
        command: vec![],
        unix_s: 1_796_140_710.0,
        changes: vec!["a: fails -> holds".into()],
        spec_hash: None,
        extra: Default::default(),
    });
    let line = "Claims rejudged from the run's recorded outputs by the rules at 0123456789 (2026-12-01 15:58 UTC): 1 verdict or kind change(s): a: fails -> holds.";
    assert!(table(&s, Format::Text).contains(line));
    assert!(table(&s, Format::Markdown).contains(&format!("*{line}*")));
    // Other changes of rows are counted with them, under another word.
    let mut moved = s.rejudged[0].clone();
    moved.changes.push("a: measured 0.5 -> 2".into());
    s.rejudged = vec![moved];
    let line = "(2026-12-01 15:58 UTC): 2 change(s): a: fails -> holds; a: measured 0.5 -> 2.";
    assert!(table(&s, Format::Text).contains(line));
    // A build with uncommitted changes says so, as in `times`.
    s.rejudged[0].dirty = "true".into();
    let line = "by the rules at 0123456789 (dirty) (2026-12-01 15:58 UTC): 2 change(s)";
    assert!(table(&s, Format::Text).contains(line));
    // The line on the spec comes last, after the rows' count.
    s.rejudged[0].changes = vec!["spec.toml: the run recorded no hash".into()];
    let line = "UTC): no verdict or kind changed; spec.toml: the run recorded no hash.";
    assert!(table(&s, Format::Text).contains(line));
}

/// A verdict a rejudge moved names the run's own beside it, in every
/// format; a row moved and moved back, or never moved, does not.
#[test]
fn a_verdict_moved_by_a_rejudge_names_the_runs_own() {
    let rejudge = |commit: &str, changes: &[&str]| crate::record::Rejudge {
        commit: commit.into(),
        dirty: "false".into(),
        command: vec![],
        unix_s: 1_796_140_710.0,
        changes: changes.iter().map(|c| c.to_string()).collect(),
        spec_hash: None,
        extra: Default::default(),
    };
    let mut s = summary(vec![row("a", 2.0), row("ab", 2.0)]);
    assert_eq!(s.claims[0].verdict(), Verdict::Holds);
    s.rejudged = vec![
        rejudge(
            "1111111111aa",
            &["a: fails -> inconclusive", "ab: holds -> fails"],
        ),
        rejudge(
            "2222222222bb",
            &["a: inconclusive -> holds", "ab: fails -> holds"],
        ),
    ];
    let note =
        "as the run first judged it: fails, moved by the rejudge at 1111111111, then 2222222222";
    for format in [Format::Text, Format::Markdown, Format::Json, Format::Latex] {
        let t = table(&s, format);
        assert_eq!(t.matches(note).count(), 1, "{format:?}: {t}");
    }
    s.rejudged.clear();
    assert!(!table(&s, Format::Markdown).contains("first judged"));
}
