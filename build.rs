//! Records the git commit the binary is built from (and whether the work
//! tree had uncommitted changes), for summary.json's provenance. Without
//! git or a repository both read "unknown". Reruns when a commit moves HEAD
//! or the branch, when the index changes, and when a source file changes
//! (so the dirty flag follows edits).

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    let commit = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty = match git(&["status", "--porcelain", "--untracked-files=no"]) {
        Some(s) if s.is_empty() => "false",
        Some(_) => "true",
        None => "unknown",
    };
    for path in [
        "src",
        "tests",
        "benches",
        "experiments",
        "Cargo.toml",
        "build.rs",
    ] {
        println!("cargo:rerun-if-changed={path}");
    }
    if let (Some(dir), Some(common)) = (
        git(&["rev-parse", "--git-dir"]),
        git(&["rev-parse", "--git-common-dir"]),
    ) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        println!("cargo:rerun-if-changed={dir}/index");
        println!("cargo:rerun-if-changed={common}/packed-refs");
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={common}/{branch}");
        }
    }
    println!("cargo:rustc-env=OVERFIT_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=OVERFIT_GIT_DIRTY={dirty}");
}
