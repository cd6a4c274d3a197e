//! The claims table of a finished run, as `overfit check` prints it: plain
//! text for a terminal, Markdown for the README, JSON for scripts and a
//! booktabs LaTeX table a paper can `\input`. Claims, this project's
//! hypotheses and checks are listed and counted apart; the totals line is
//! the one place "N of M hold" is computed.

use std::fmt::Write;

use serde::Serialize;

use crate::record::{fmt_num, Claim, Kind, Summary, Verdict};

/// Output format of `overfit check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Markdown,
    Json,
    Latex,
}

/// Verdict counts, claims, hypotheses and checks apart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub claims_hold: usize,
    pub claims_fail: usize,
    pub claims_inconclusive: usize,
    pub checks_pass: usize,
    pub checks_fail: usize,
    pub checks_inconclusive: usize,
    pub hypotheses_hold: usize,
    pub hypotheses_fail: usize,
    pub hypotheses_inconclusive: usize,
}

impl Totals {
    pub fn of(claims: &[Claim]) -> Self {
        let mut t = Totals::default();
        for c in claims {
            let slot = match (c.kind, c.verdict()) {
                (Kind::Claim, Verdict::Holds) => &mut t.claims_hold,
                (Kind::Claim, Verdict::Fails) => &mut t.claims_fail,
                (Kind::Claim, Verdict::Inconclusive) => &mut t.claims_inconclusive,
                (Kind::Check, Verdict::Holds) => &mut t.checks_pass,
                (Kind::Check, Verdict::Fails) => &mut t.checks_fail,
                (Kind::Check, Verdict::Inconclusive) => &mut t.checks_inconclusive,
                (Kind::Hypothesis, Verdict::Holds) => &mut t.hypotheses_hold,
                (Kind::Hypothesis, Verdict::Fails) => &mut t.hypotheses_fail,
                (Kind::Hypothesis, Verdict::Inconclusive) => &mut t.hypotheses_inconclusive,
            };
            *slot += 1;
        }
        t
    }

    pub fn claims(&self) -> usize {
        self.claims_hold + self.claims_fail + self.claims_inconclusive
    }

    pub fn hypotheses(&self) -> usize {
        self.hypotheses_hold + self.hypotheses_fail + self.hypotheses_inconclusive
    }

    /// `overfit check`'s exit code: 1 when a claim, a hypothesis or a check
    /// fails, or, with `strict`, when anything is inconclusive; else 0.
    pub fn exit_code(&self, strict: bool) -> u8 {
        let failed = self.claims_fail + self.hypotheses_fail + self.checks_fail > 0;
        let open =
            self.claims_inconclusive + self.hypotheses_inconclusive + self.checks_inconclusive > 0;
        u8::from(failed || (strict && open))
    }
}

impl std::fmt::Display for Totals {
    /// "27 hold, 3 fail, 1 inconclusive (of 31 claims); 9 checks pass",
    /// then "; hypotheses: 1 hold, 0 fail, 0 inconclusive" when there are any.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} hold, {} fail, {} inconclusive (of {} claims); {} checks pass",
            self.claims_hold,
            self.claims_fail,
            self.claims_inconclusive,
            self.claims(),
            self.checks_pass
        )?;
        if self.checks_fail > 0 {
            write!(f, ", {} fail", self.checks_fail)?;
        }
        if self.checks_inconclusive > 0 {
            write!(f, ", {} inconclusive", self.checks_inconclusive)?;
        }
        if self.hypotheses() > 0 {
            write!(
                f,
                "; hypotheses of this project (not the paper's): {} hold, {} fail, {} inconclusive",
                self.hypotheses_hold, self.hypotheses_fail, self.hypotheses_inconclusive
            )?;
        }
        Ok(())
    }
}

/// When a rejudge moved row `c`'s verdict (a rule changed after the run
/// had been seen): the verdict the run first gave it and the rejudges that
/// moved it, so that no table shows a post-hoc verdict as the run's own.
fn first_judged(summary: &Summary, c: &Claim) -> Option<String> {
    let now = match c.verdict() {
        Verdict::Holds => "holds",
        Verdict::Fails => "fails",
        Verdict::Inconclusive => "inconclusive",
    };
    let (first, by) = crate::record::first_verdict(&summary.rejudged, &c.id, now)?;
    let by: Vec<String> = by
        .iter()
        .map(|r| commit_text(&r.commit, &r.dirty))
        .collect();
    let first = if first == "absent" {
        "no such row"
    } else {
        first
    };
    Some(format!(
        "as the run first judged it: {first}, moved by the rejudge at {}",
        by.join(", then ")
    ))
}

/// The verdict cell of row `c`: its verdict word, the reason it is
/// inconclusive, and how it was first judged when a rejudge moved it.
fn verdict_cell(summary: &Summary, c: &Claim) -> String {
    let mut cell = verdict_word(c).to_string();
    if !c.reason.is_empty() {
        cell = format!("{cell} ({})", c.reason);
    }
    match first_judged(summary, c) {
        Some(first) => format!("{cell}; {first}"),
        None => cell,
    }
}

fn verdict_word(c: &Claim) -> &'static str {
    match (c.kind, c.verdict()) {
        (Kind::Claim | Kind::Hypothesis, Verdict::Holds) => "holds",
        (Kind::Check, Verdict::Holds) => "passes",
        (_, Verdict::Fails) => "fails",
        (_, Verdict::Inconclusive) => "inconclusive",
    }
}

fn measured_text(c: &Claim) -> String {
    let spread = match (c.measured.q20, c.measured.q80) {
        (Some(a), Some(b)) => format!(" [20-80%: {}, {}]", fmt_num(a), fmt_num(b)),
        _ => String::new(),
    };
    format!(
        "{}{} (runs {})",
        fmt_num(c.measured.value),
        spread,
        c.measured.runs
    )
}

/// The kinds in the order the tables list them, with their labels.
const KINDS: [(Kind, &str); 3] = [
    (Kind::Claim, "claim"),
    (Kind::Hypothesis, "hypothesis"),
    (Kind::Check, "check"),
];

/// The rows of one kind.
fn rows(summary: &Summary, kind: Kind) -> impl Iterator<Item = &Claim> {
    summary.claims.iter().filter(move |c| c.kind == kind)
}

/// The table of `summary` in `format`.
pub fn table(summary: &Summary, format: Format) -> String {
    match format {
        Format::Text => text(summary),
        Format::Markdown => markdown(summary),
        Format::Json => json(summary),
        Format::Latex => latex(summary),
    }
}

fn text(summary: &Summary) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{} ({})", summary.name, summary.study);
    for (kind, label) in KINDS {
        for c in rows(summary, kind) {
            let _ = writeln!(
                s,
                "{:<12} {:<10} {:<34} predicted {:<22} measured {}",
                verdict_word(c).to_uppercase(),
                label,
                c.id,
                c.predicted.describe(),
                measured_text(c)
            );
            if !c.reason.is_empty() {
                let _ = writeln!(s, "{:<12} reason: {}", "", c.reason);
            }
            if let Some(first) = first_judged(summary, c) {
                let _ = writeln!(s, "{:<12} {first}", "");
            }
        }
    }
    let _ = writeln!(s, "{}", Totals::of(&summary.claims));
    for r in &summary.rejudged {
        let _ = writeln!(s, "{}", rejudge_text(r));
    }
    s
}

/// Markdown cell: pipes escaped, line breaks folded.
fn md(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn markdown(summary: &Summary) -> String {
    let mut s = String::new();
    for (kind, title) in KINDS {
        if rows(summary, kind).next().is_none() {
            continue;
        }
        let _ = writeln!(
            s,
            "| {title} | statement | source | predicted | measured | verdict |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|");
        for c in rows(summary, kind) {
            let verdict = verdict_cell(summary, c);
            let _ = writeln!(
                s,
                "| `{}` | {} | {} | {} | {} | **{}** |",
                c.id,
                md(&c.statement),
                md(&c.source),
                md(&c.predicted.describe()),
                md(&measured_text(c)),
                md(&verdict)
            );
        }
        s.push('\n');
    }
    let _ = writeln!(s, "**{}**", Totals::of(&summary.claims));
    for r in &summary.rejudged {
        let _ = writeln!(s, "\n*{}*", md(&rejudge_text(r)));
    }
    s
}

/// A line on one `overfit rejudge` of the run: whose rules, when, the
/// changes of rows it made (worded as before when they are all verdict or
/// kind changes, as every entry recorded before other changes were), and
/// its line on the spec, if any.
fn rejudge_text(r: &crate::record::Rejudge) -> String {
    let rows: Vec<&str> = r.row_lines().collect();
    let mut changes = match rows.len() {
        0 => "no verdict or kind changed".to_string(),
        n if r.only_verdicts_and_kinds() => {
            format!("{n} verdict or kind change(s): {}", rows.join("; "))
        }
        n => format!("{n} change(s): {}", rows.join("; ")),
    };
    for line in r.spec_lines() {
        changes = format!("{changes}; {line}");
    }
    format!(
        "Claims rejudged from the run's recorded outputs by the rules at {} ({} UTC): {changes}.",
        commit_text(&r.commit, &r.dirty),
        crate::record::utc_date(r.unix_s)
    )
}

/// A build as the tables name it: the commit's first 10 characters, and
/// " (dirty)" when its work tree had uncommitted changes.
fn commit_text(commit: &str, dirty: &str) -> String {
    let dirty = if dirty == "true" { " (dirty)" } else { "" };
    format!("{}{dirty}", short_commit(commit))
}

/// A commit's first 10 characters (characters, not bytes: the field is
/// read from a file that anyone can edit).
fn short_commit(commit: &str) -> String {
    commit.chars().take(10).collect()
}

fn json(summary: &Summary) -> String {
    #[derive(Serialize)]
    struct Row<'a> {
        id: &'a str,
        kind: Kind,
        statement: &'a str,
        source: &'a str,
        predicted: String,
        measured: f64,
        verdict: Verdict,
        #[serde(skip_serializing_if = "str::is_empty")]
        reason: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        first_judged: Option<String>,
    }
    #[derive(Serialize)]
    struct Table<'a> {
        name: &'a str,
        study: &'a str,
        rows: Vec<Row<'a>>,
        totals: Totals,
    }
    let table = Table {
        name: &summary.name,
        study: &summary.study,
        rows: summary
            .claims
            .iter()
            .map(|c| Row {
                id: &c.id,
                kind: c.kind,
                statement: &c.statement,
                source: &c.source,
                predicted: c.predicted.describe(),
                measured: c.measured.value,
                verdict: c.verdict(),
                reason: &c.reason,
                first_judged: first_judged(summary, c),
            })
            .collect(),
        totals: Totals::of(&summary.claims),
    };
    serde_json::to_string_pretty(&table).expect("table serialises") + "\n"
}

/// LaTeX text: the special characters escaped.
fn tex(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        // The two-character operators of the predictions as math symbols
        // (they printed as `$>$=` and `+-`; review finding, 2026-12-07).
        let symbol = match (ch, chars.peek()) {
            ('>', Some('=')) => Some("$\\geq$"),
            ('<', Some('=')) => Some("$\\leq$"),
            ('+', Some('-')) => Some("$\\pm$"),
            _ => None,
        };
        if let Some(symbol) = symbol {
            chars.next();
            out.push_str(symbol);
            continue;
        }
        match ch {
            '\\' => out.push_str("\\textbackslash{}"),
            '&' | '%' | '$' | '#' | '_' | '{' | '}' => {
                out.push('\\');
                out.push(ch);
            }
            '~' => out.push_str("\\textasciitilde{}"),
            '^' => out.push_str("\\textasciicircum{}"),
            '<' => out.push_str("$<$"),
            '>' => out.push_str("$>$"),
            '|' => out.push_str("$|$"),
            _ => out.push(ch),
        }
    }
    out
}

/// A booktabs table (needs `\usepackage{booktabs}`); statements are left
/// out for width, the ids name them.
fn latex(summary: &Summary) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "\\begin{{tabular}}{{llllll}}");
    let _ = writeln!(s, "\\toprule");
    let _ = writeln!(
        s,
        "Kind & Id & Source & Predicted & Measured & Verdict \\\\"
    );
    let _ = writeln!(s, "\\midrule");
    for (kind, label) in KINDS {
        for c in rows(summary, kind) {
            let _ = writeln!(
                s,
                "{} & \\texttt{{{}}} & {} & {} & {} & {} \\\\",
                label,
                tex(&c.id),
                tex(&c.source),
                tex(&c.predicted.describe()),
                tex(&fmt_num(c.measured.value)),
                match first_judged(summary, c) {
                    Some(first) => format!("{} ({})", verdict_word(c), tex(&first)),
                    None => verdict_word(c).to_string(),
                }
            );
        }
    }
    let _ = writeln!(s, "\\bottomrule");
    let _ = writeln!(s, "\\end{{tabular}}");
    let _ = writeln!(s, "% {}", Totals::of(&summary.claims));
    s
}

/// A run's wall time: seconds below 90 s, else minutes.
fn wall_text(summary: &crate::record::Summary) -> String {
    match summary.elapsed_s {
        t if t >= 90.0 => format!("{:.1} min", t / 60.0),
        t => format!("{t:.1} s"),
    }
}

/// How many of its units a run computed, when `--resume` or `merge` did
/// the rest (its times cover only those), as " (k of n units ...)".
fn units_note(summary: &crate::record::Summary) -> String {
    let units = summary.provenance.as_ref().and_then(|p| p.units);
    match units.filter(|u| u.computed_here < u.total) {
        Some(u) => format!(
            " ({} of {} units in this process; the rest resumed or merged)",
            u.computed_here, u.total
        ),
        None => String::new(),
    }
}

/// The specs as a Markdown table: path, study, description, and the wall
/// time of the committed run of each, `runs/<name>/summary.json` (with its
/// CPU / wall ratio: about the thread count when the cores were the run's
/// own), or "no committed run". What the README's spec table is generated
/// from (`overfit list --format markdown`).
pub fn spec_table(
    specs: &[(std::path::PathBuf, crate::spec::Header)],
    runs: &std::path::Path,
) -> crate::error::Result<String> {
    if !runs.is_dir() {
        return Err(crate::error::Error::bad(format!(
            "--runs {}: not a folder (the folder of committed runs, one subfolder a spec name)",
            runs.display()
        )));
    }
    let mut s = String::from(
        "| spec | study | what it runs (its description) | its committed run |\n|---|---|---|---|\n",
    );
    for (path, header) in specs {
        let dir = runs.join(&header.name);
        let run = if dir.join("summary.json").is_file() {
            let summary = crate::record::Summary::read(&dir)?;
            let ratio = summary
                .provenance
                .as_ref()
                .map(|p| format!(", CPU / wall {:.2}", p.cpu_s / p.wall_s))
                .unwrap_or_default();
            format!(
                "`{}`: {} wall{ratio}{}",
                dir.display(),
                wall_text(&summary),
                units_note(&summary)
            )
        } else {
            "no committed run".to_string()
        };
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {run} |",
            path.display(),
            header.study,
            md(&header.description)
        );
    }
    Ok(s)
}

/// The wall times of every run directory under `root` (each holding a
/// summary.json, in name order), as a Markdown table read from the summaries
/// alone: wall and CPU seconds, the CPU/wall ratio (about the thread count
/// on a quiet machine, lower when other work shared the cores), peak memory,
/// threads, the machine, the date and the commit. Older summaries without
/// provenance give their elapsed seconds and "not recorded". A run that
/// computed only some of its units (`--resume`, `merge`) says how many: its
/// times cover only those.
pub fn wall_times(root: &std::path::Path) -> crate::error::Result<String> {
    let mut dirs: Vec<_> = std::fs::read_dir(root)
        .map_err(|e| {
            crate::error::Error::bad(format!(
                "{}: {e} (the folder of runs, one subfolder each: run from the repository root for `figures`, or pass DIR)",
                root.display()
            ))
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        // Not a hidden folder: a killed run's staging copy (`.NAME.staging-PID`).
        .filter(|d| !d.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .filter(|d| d.join("summary.json").is_file())
        .collect();
    // An empty table is never what was asked for (a typo, or a run's own
    // folder given for the folder of runs) and would land in a README block.
    if dirs.is_empty() {
        let hint = match root.join("summary.json").is_file() {
            true => "; it is a run itself: give the folder that holds the runs",
            false => "",
        };
        return Err(crate::error::Error::bad(format!(
            "{}: no run folder (a subfolder holding summary.json) here{hint}",
            root.display()
        )));
    }
    dirs.sort();
    let mut s = String::from(
        "| run | wall | CPU s | CPU / wall | peak memory | threads | machine | date (UTC) | commit |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for dir in dirs {
        let summary = crate::record::Summary::read(&dir)?;
        let name = format!(
            "{}{}",
            dir.file_name().unwrap_or_default().to_string_lossy(),
            if summary.quick { " (quick)" } else { "" }
        );
        let wall = format!("{}{}", wall_text(&summary), units_note(&summary));
        let m = &summary.machine;
        let machine = if m.cpu.is_empty() {
            "not recorded".to_string()
        } else {
            format!("{}, {} core {}", m.cpu, m.blas, m.blas_core)
        };
        let (cpu, ratio, memory, date, commit) = match &summary.provenance {
            Some(p) => (
                format!("{:.0}", p.cpu_s),
                format!("{:.2}", p.cpu_s / p.wall_s),
                format!("{:.0} MiB", p.peak_rss_mib),
                crate::record::utc_date(p.started_unix_s),
                commit_text(&p.commit, &p.dirty),
            ),
            None => {
                let none = || "not recorded".to_string();
                (none(), none(), none(), none(), none())
            }
        };
        let _ = writeln!(
            s,
            "| {name} | {wall} | {cpu} | {ratio} | {memory} | {} | {machine} | {date} | {commit} |",
            summary.threads
        );
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
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
        assert!(
            md.contains("**1 hold, 0 fail, 0 inconclusive (of 1 claims); 0 checks pass, 1 fail**")
        );
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
        let note = "as the run first judged it: fails, moved by the rejudge at 1111111111, then 2222222222";
        for format in [Format::Text, Format::Markdown, Format::Json, Format::Latex] {
            let t = table(&s, format);
            assert_eq!(t.matches(note).count(), 1, "{format:?}: {t}");
        }
        s.rejudged.clear();
        assert!(!table(&s, Format::Markdown).contains("first judged"));
    }
}
