//! The build id (build.rs) that the unit store records and `merge` and
//! `--resume` compare: two dirty builds of one commit must differ (the id
//! used to be the commit plus " (dirty)", the same for every dirty build,
//! so a merge of shards from two different dirty builds said nothing).

mod common;

#[allow(dead_code)] // its `main` is the build script's
#[path = "../build.rs"]
mod build_script;

use std::path::Path;
use std::process::Command;

/// `git args` in `dir`, which must succeed.
fn git(dir: &Path, args: &[&str]) {
    let o = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Runs shard `i` of 2 of the quick xor spec into `out`; it must succeed.
fn run_shard(i: usize, out: &Path) {
    let o = Command::new(env!("CARGO_BIN_EXE_overfit"))
        .args(["run", "experiments/xor_grokking.toml", "--quick", "--shard"])
        .arg(format!("{i}/2"))
        .arg("--out")
        .arg(out)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn has_git() -> bool {
    Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn dirty_builds_of_one_commit_have_different_ids() {
    if !has_git() {
        common::skip("dirty_builds_of_one_commit_have_different_ids", "no git");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    git(dir, &["init", "-q"]);
    std::fs::create_dir(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/a.rs"), "fn a() {}\n").unwrap();
    std::fs::write(dir.join("README.md"), "readme\n").unwrap();
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", "first"]);
    let (commit, dirty, clean) = build_script::build_id(dir);
    assert_eq!(commit.len(), 40, "{commit}");
    assert_eq!((dirty, clean.as_str()), ("false", commit.as_str()));

    let id = |edit: &dyn Fn()| {
        edit();
        let (c, dirty, id) = build_script::build_id(dir);
        assert_eq!((c.as_str(), dirty), (commit.as_str(), "true"));
        assert!(id.starts_with(&format!("{commit} (dirty")), "{id}");
        id
    };
    let one = id(&|| std::fs::write(dir.join("src/a.rs"), "fn a() { 1; }\n").unwrap());
    let two = id(&|| std::fs::write(dir.join("src/a.rs"), "fn a() { 2; }\n").unwrap());
    assert_ne!(one, two, "two different edits");
    // Staged or not, the same change is the same build.
    git(dir, &["add", "src/a.rs"]);
    assert_eq!(build_script::build_id(dir).2, two);
    // An untracked source file is part of the build.
    let three = id(&|| std::fs::write(dir.join("src/b.rs"), "fn b() {}\n").unwrap());
    assert_ne!(three, two, "an untracked source file");
    let four = id(&|| std::fs::write(dir.join("src/b.rs"), "fn b() { 4; }\n").unwrap());
    assert_ne!(four, three, "an edited untracked source file");
    // A change outside the sources leaves the build as it was.
    std::fs::write(dir.join("README.md"), "edited\n").unwrap();
    assert_eq!(build_script::build_id(dir).2, four);
}

/// The binary records the id build.rs computes for this work tree (as it
/// is now: the test binary was built from it).
#[test]
fn the_store_records_this_builds_id() {
    if !has_git() {
        common::skip("the_store_records_this_builds_id", "no git");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("s");
    run_shard(0, &out);
    let recorded = std::fs::read_to_string(out.join(".units/binaries")).unwrap();
    let (_, _, id) = build_script::build_id(Path::new(env!("CARGO_MANIFEST_DIR")));
    assert_eq!(recorded, format!("{id}\n"));
}

/// A merge of shards whose units came from two builds of one commit (here
/// shard 1's store says another dirty build computed its units, as that
/// build's binary records itself) warns, naming that build, and the merged
/// summary.json lists both builds in provenance.unit_binaries.
#[test]
fn a_merge_of_two_dirty_builds_warns() {
    let tmp = tempfile::tempdir().unwrap();
    let d = |n: &str| tmp.path().join(n);
    for i in 0..2 {
        run_shard(i, &d(&format!("s{i}")));
    }
    let this = std::fs::read_to_string(d("s0/.units/binaries")).unwrap();
    let commit = this.split_whitespace().next().unwrap().to_string();
    let other = format!("{commit} (dirty, changes 0123456789abcdef)");
    assert_ne!(this.trim_end(), other);
    std::fs::write(d("s1/.units/binaries"), format!("{other}\n")).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_overfit"))
        .arg("merge")
        .args([d("s0"), d("s1")])
        .arg("--out")
        .arg(d("m"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("warning: merge") && err.contains(&other),
        "{err}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d("m/summary.json")).unwrap()).unwrap();
    let builds = &summary["provenance"]["unit_binaries"];
    assert_eq!(
        builds,
        &serde_json::json!([this.trim_end(), other]),
        "{summary}"
    );
}
