//! Records the git commit the binary is built from (and whether the work
//! tree had uncommitted changes), for summary.json's provenance. Without
//! git or a repository both read "unknown". No `rerun-if-changed`: cargo
//! then reruns this whenever a file of the package changes, so the dirty
//! flag follows edits.

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
    println!("cargo:rustc-env=OVERFIT_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=OVERFIT_GIT_DIRTY={dirty}");
}
