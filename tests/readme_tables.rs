//! The README's claims tables are generated: each block between
//! `<!-- claims DIR -->` and `<!-- /claims -->` must equal
//! `overfit check DIR --format markdown` of the committed summary.json, and
//! every committed figures/*/summary.json has its block. To rewrite the
//! blocks after a rerun: `OVERFIT_UPDATE_README=1 cargo test --release
//! --test readme_tables`.

use std::path::Path;
use std::process::Command;

const OPEN: &str = "<!-- claims ";
const CLOSE: &str = "<!-- /claims -->";

fn generated(dir: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_overfit"))
        .args(["check", dir, "--format", "markdown"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("binary runs");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "check {dir}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// (directory, block text between the markers, byte range of that text).
fn blocks(readme: &str) -> Vec<(String, String, std::ops::Range<usize>)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(i) = readme[from..].find(OPEN) {
        let start = from + i;
        let header_end = start + readme[start..].find("-->\n").expect("marker closes") + 4;
        let dir = readme[start + OPEN.len()..header_end - 4]
            .trim()
            .to_string();
        let end = header_end + readme[header_end..].find(CLOSE).expect("block closes");
        found.push((dir, readme[header_end..end].to_string(), header_end..end));
        from = end + CLOSE.len();
    }
    found
}

#[test]
fn every_claims_table_in_the_readme_is_generated_from_its_summary() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let found = blocks(&readme);
    let update = std::env::var_os("OVERFIT_UPDATE_README").is_some();
    if update {
        let mut text = readme.clone();
        for (dir, _, range) in found.iter().rev() {
            text.replace_range(range.clone(), &generated(dir));
        }
        std::fs::write(&path, text).unwrap();
        return;
    }
    let mut stale = Vec::new();
    for (dir, text, _) in &found {
        if *text != generated(dir) {
            stale.push(dir.clone());
        }
    }
    assert!(
        stale.is_empty(),
        "README claims tables differ from `overfit check DIR --format markdown` for {stale:?}; \
         rerun with OVERFIT_UPDATE_README=1 after checking the new summaries"
    );
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(root.join("figures")).unwrap() {
        let dir = entry.unwrap().path();
        if dir.join("summary.json").is_file() {
            let name = format!("figures/{}", dir.file_name().unwrap().to_string_lossy());
            if !found.iter().any(|(d, _, _)| *d == name) {
                missing.push(name);
            }
        }
    }
    assert!(missing.is_empty(), "no README claims table for {missing:?}");
}
