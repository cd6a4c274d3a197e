//! The README's tables are generated:
//! - each block between `<!-- claims DIR -->` and `<!-- /claims -->` must
//!   equal `overfit check DIR --format markdown` of the committed
//!   summary.json, and every committed figures/*/summary.json has its block;
//! - the block between `<!-- times DIR -->` and `<!-- /times -->` equals
//!   `overfit times DIR` (the study wall times, from the summaries);
//! - the block between `<!-- perf FILE -->` and `<!-- /perf -->` equals the
//!   committed FILE, the table `overfit bench all --peer --out FILE` wrote.
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
        .current_dir(env!("CARGO_MANIFEST_DIR"))
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
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(i) = readme[from..].find(open) {
        let start = from + i;
        let header_end = start + readme[start..].find("-->\n").expect("marker closes") + 4;
        let dir = readme[start + open.len()..header_end - 4]
            .trim()
            .to_string();
        let end = header_end + readme[header_end..].find(close).expect("block closes");
        found.push((dir, readme[header_end..end].to_string(), header_end..end));
        from = end + close.len();
    }
    found
}

/// What a block of `kind` with argument `arg` must hold.
fn source(kind: &str, arg: &str) -> String {
    match kind {
        "claims" => generated(arg),
        "times" => overfit_stdout(&["times", arg]),
        _ => {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            std::fs::read_to_string(root.join(arg)).unwrap_or_else(|e| panic!("{arg}: {e}"))
        }
    }
}

#[test]
fn every_table_in_the_readme_is_generated_from_its_source() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let claims = blocks(&readme);
    let times = blocks_between(&readme, "<!-- times ", "<!-- /times -->");
    let perf = blocks_between(&readme, "<!-- perf ", "<!-- /perf -->");
    assert_eq!(
        (times.len(), perf.len()),
        (1, 1),
        "one times and one perf block"
    );
    let all: Vec<(&str, &Block)> = claims
        .iter()
        .map(|b| ("claims", b))
        .chain(times.iter().map(|b| ("times", b)))
        .chain(perf.iter().map(|b| ("perf", b)))
        .collect();
    if std::env::var_os("OVERFIT_UPDATE_README").is_some() {
        let mut edits: Vec<_> = all
            .iter()
            .map(|(kind, (arg, _, range))| (range.clone(), source(kind, arg)))
            .collect();
        edits.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
        let mut text = readme.clone();
        for (range, new) in edits {
            text.replace_range(range, &new);
        }
        std::fs::write(&path, text).unwrap();
        return;
    }
    let stale: Vec<String> = all
        .iter()
        .filter(|(kind, (arg, text, _))| *text != source(kind, arg))
        .map(|(kind, (arg, _, _))| format!("{kind} {arg}"))
        .collect();
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
