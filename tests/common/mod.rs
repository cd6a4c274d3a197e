//! Shared by the integration tests.
#![allow(dead_code)] // each test binary uses a part of it

use std::io::Write;

/// Where skipped tests are listed for `tests/run.sh`, which prints them at
/// the end of the run (cargo hides a passing test's output, so a skip would
/// otherwise look like a pass).
pub const SKIP_LOG: &str = concat!(env!("CARGO_TARGET_TMPDIR"), "/skipped-tests.txt");

/// Record that `test` is skipped for `reason` (a missing prerequisite: the
/// CIFAR data, torch, a GPU): printed now, and listed by `tests/run.sh`.
pub fn skip(test: &str, reason: &str) {
    let line = format!("SKIPPED {test}: {reason}");
    eprintln!("{line}");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(SKIP_LOG)
    {
        let _ = writeln!(f, "{line}");
    }
}

/// The shared 4-class CIFAR-10 subset (`../shared/data/cifar10-4class`
/// from the project root), or None after recording that `test` is skipped
/// without it (`skip`).
pub fn cifar_data(test: &str) -> Option<std::path::PathBuf> {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/cifar10-4class");
    if dir.is_dir() {
        return Some(dir);
    }
    skip(
        test,
        &format!("{} not found (the 4-class CIFAR-10 subset)", dir.display()),
    );
    None
}

/// A refused command's stderr, after asserting the contract for bad input:
/// exit code 2 and one line (`context` prefixes the failure messages).
#[track_caller]
pub fn one_line_refusal(o: &std::process::Output, context: &str) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{context}{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    err
}
