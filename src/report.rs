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
    let (first, by) = crate::record::first_verdict(&summary.rejudged, &c.id, c.verdict())?;
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
mod tests;
