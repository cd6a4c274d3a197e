//! Records the build's identity for summary.json's provenance and the unit
//! store: the git commit (OVERFIT_GIT_COMMIT), whether the work tree had
//! uncommitted changes (OVERFIT_GIT_DIRTY), and the build id
//! (OVERFIT_BUILD_ID, `build_id`), which also tells two dirty builds of
//! one commit apart by a hash of their changes to the sources. Without git
//! or a repository they read "unknown". Reruns when a commit moves HEAD or
//! the branch, when the index changes, and when a source file changes (so
//! the dirty flag and the hash follow edits).

use std::path::Path;
use std::process::Command;

/// What a build is made from: the changes `build_id` hashes.
const SOURCES: &[&str] = &["src", "build.rs", "Cargo.toml", "Cargo.lock", "assets"];

/// The stdout of `git args` run in `dir`, when it succeeds.
fn git_bytes(dir: &Path, args: &[&str]) -> Option<Vec<u8>> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    out.status.success().then_some(out.stdout)
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    git_bytes(dir, args).map(|b| String::from_utf8_lossy(&b).trim().to_string())
}

/// 64-bit FNV-1a: a stable hash without a dependency (it names builds, it
/// guards against no adversary).
fn fnv1a(hash: &mut u64, bytes: &[u8]) {
    for &b in bytes {
        *hash ^= u64::from(b);
        *hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
}

/// A hash of the uncommitted changes to `SOURCES` in the work tree `dir`:
/// `git diff HEAD` (staged and unstaged) and the path and bytes of every
/// untracked, not ignored file there. None without git.
fn changes_hash(dir: &Path) -> Option<String> {
    let paths = |args: &[&'static str]| [args, SOURCES].concat();
    let diff = git_bytes(dir, &paths(&["diff", "HEAD", "--binary", "--"]))?;
    let untracked = git_bytes(
        dir,
        &paths(&["ls-files", "-z", "--others", "--exclude-standard", "--"]),
    )?;
    let mut hash = 0xcbf2_9ce4_8422_2325;
    fnv1a(&mut hash, &diff);
    for path in untracked.split(|&b| b == 0).filter(|p| !p.is_empty()) {
        fnv1a(&mut hash, b"\0untracked\0");
        fnv1a(&mut hash, path);
        let name = String::from_utf8_lossy(path).to_string();
        fnv1a(
            &mut hash,
            &std::fs::read(dir.join(name)).unwrap_or_default(),
        );
    }
    Some(format!("{hash:016x}"))
}

/// (commit, dirty flag, build id) of the work tree `dir`. The id is the
/// commit, with " (dirty, changes <hash>)" for a tree with uncommitted
/// changes (`changes_hash`), so that the unit store and `merge` tell two
/// different dirty builds of one commit apart.
pub fn build_id(dir: &Path) -> (String, &'static str, String) {
    let commit = git(dir, &["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty = match git(dir, &["status", "--porcelain", "--untracked-files=no"]) {
        Some(s) if s.is_empty() => "false",
        Some(_) => "true",
        None => "unknown",
    };
    let id = match (dirty, changes_hash(dir)) {
        ("true", Some(hash)) => format!("{commit} (dirty, changes {hash})"),
        ("true", None) => format!("{commit} (dirty)"),
        _ => commit.clone(),
    };
    (commit, dirty, id)
}

fn main() {
    let here = Path::new(".");
    let (commit, dirty, id) = build_id(here);
    for path in [
        "src",
        "tests",
        "benches",
        "experiments",
        "assets",
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
    ] {
        println!("cargo:rerun-if-changed={path}");
    }
    if let (Some(dir), Some(common)) = (
        git(here, &["rev-parse", "--git-dir"]),
        git(here, &["rev-parse", "--git-common-dir"]),
    ) {
        let watched = [
            format!("{dir}/HEAD"),
            format!("{dir}/index"),
            format!("{dir}/logs/HEAD"),
            format!("{common}/packed-refs"),
            format!("{common}/refs/heads"),
        ];
        // Only paths that exist: cargo takes a missing one as changed and
        // rebuilt the crate on every command in a repository without
        // packed-refs. The branch's commit is in its loose ref, below the
        // refs/heads folder (cargo scans a watched folder, so a new loose
        // ref of a packed branch is seen), or in packed-refs; every move
        // of HEAD also appends to logs/HEAD.
        for path in watched {
            if Path::new(&path).exists() {
                println!("cargo:rerun-if-changed={path}");
            }
        }
    }
    println!("cargo:rustc-env=OVERFIT_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=OVERFIT_GIT_DIRTY={dirty}");
    println!("cargo:rustc-env=OVERFIT_BUILD_ID={id}");
}
