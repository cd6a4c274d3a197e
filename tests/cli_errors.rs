//! One-line errors for command-line mistakes and empty results (exit 2).

use std::process::Command;

fn stderr_of(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_overfit"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("binary runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn a_missing_argument_is_named_on_one_line() {
    for (args, names) in [
        (&["run"][..], &["<SPEC>"][..]),
        (&["merge"][..], &["--out", "<DIRS>"][..]),
    ] {
        let (code, err) = stderr_of(args);
        assert_eq!(code, Some(2), "{args:?}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        for name in names {
            assert!(err.contains(name), "{args:?} should name {name}: {err}");
        }
    }
}

#[test]
fn check_of_a_summary_without_claims_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let summary = serde_json::json!({
        "name": "empty", "study": "xor_cluster", "seed": 0, "version": "0",
        "elapsed_s": 0.0, "threads": 1, "quick": true, "claims": []
    });
    std::fs::write(dir.path().join("summary.json"), summary.to_string()).unwrap();
    let (code, err) = stderr_of(&["check", dir.path().to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("summary.json: no claims"), "{err}");
}
