//! The binary end to end: each --quick spec runs and writes the contract's
//! files; bad input exits 2 with one line naming the problem and leaves no
//! partial output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn overfit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_overfit"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("binary runs")
}

fn specs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_quick_spec_runs_and_writes_the_contract() {
    assert!(!specs().is_empty());
    for spec in specs() {
        let out = tempfile::tempdir().unwrap();
        let o = overfit(&[
            "run",
            spec.to_str().unwrap(),
            "--quick",
            "--out",
            out.path().to_str().unwrap(),
        ]);
        assert!(
            o.status.success(),
            "{}: {}",
            spec.display(),
            String::from_utf8_lossy(&o.stderr)
        );
        for f in ["spec.toml", "metrics.csv", "summary.json"] {
            assert!(
                out.path().join(f).is_file(),
                "{}: missing {f}",
                spec.display()
            );
        }
        let metrics = std::fs::read_to_string(out.path().join("metrics.csv")).unwrap();
        assert!(metrics.starts_with("run,step,split,metric,value\n"));
        assert!(metrics.lines().count() > 2);
        let summary: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.path().join("summary.json")).unwrap(),
        )
        .unwrap();
        for key in ["name", "seed", "version", "elapsed_s", "threads", "claims"] {
            assert!(
                summary.get(key).is_some(),
                "{}: summary lacks {key}",
                spec.display()
            );
        }
        let claims = summary["claims"].as_array().unwrap();
        assert!(!claims.is_empty(), "{}: no claims", spec.display());
        for c in claims {
            for key in [
                "id",
                "statement",
                "source",
                "predicted",
                "measured",
                "holds",
            ] {
                assert!(
                    c.get(key).is_some(),
                    "{}: claim lacks {key}: {c}",
                    spec.display()
                );
            }
            assert!(c["holds"].is_boolean());
        }
        let figs: Vec<_> = std::fs::read_dir(out.path().join("figures"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(
            figs.iter().any(|f| f.ends_with(".png")) && figs.iter().any(|f| f.ends_with(".svg")),
            "{}: figures {figs:?}",
            spec.display()
        );
        // The resolved spec (quick already applied) repeats the run byte for byte.
        let again = tempfile::tempdir().unwrap();
        let o = overfit(&[
            "run",
            out.path().join("spec.toml").to_str().unwrap(),
            "--out",
            again.path().to_str().unwrap(),
        ]);
        assert!(
            o.status.success(),
            "resolved spec: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(
            std::fs::read(again.path().join("metrics.csv")).unwrap(),
            metrics.as_bytes(),
            "{}: resolved spec differs",
            spec.display()
        );
        // check exits 0 when all claims hold and 1 otherwise.
        let all_hold = claims.iter().all(|c| c["holds"].as_bool().unwrap());
        let o = overfit(&["check", out.path().to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(if all_hold { 0 } else { 1 }));
        let o = overfit(&["plot", out.path().to_str().unwrap()]);
        assert!(
            o.status.success(),
            "plot: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn same_seed_same_bytes_any_thread_count() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/xor_grokking.toml");
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for (dir, threads) in [(&a, "1"), (&b, "2")] {
        let o = overfit(&[
            "run",
            spec.to_str().unwrap(),
            "--quick",
            "--threads",
            threads,
            "--out",
            dir.path().to_str().unwrap(),
        ]);
        assert!(o.status.success());
    }
    let read = |d: &tempfile::TempDir| std::fs::read(d.path().join("metrics.csv")).unwrap();
    assert_eq!(
        read(&a),
        read(&b),
        "metrics.csv differs between --threads 1 and 2"
    );
}

const GOOD: &str = "experiments/xor_grokking.toml";

/// Write a variant of the quick xor spec with one line replaced.
fn variant(dir: &Path, from: &str, to: &str) -> PathBuf {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(GOOD)).unwrap();
    assert!(text.contains(from), "fixture line {from:?} not in spec");
    static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let k = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let p = dir.join(format!("bad-{k}.toml"));
    std::fs::write(&p, text.replacen(from, to, 1)).unwrap();
    p
}

fn expect_bad_input(args: &[&str], needle: &str, out: &Path) {
    let o = overfit(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{args:?}: exit {:?}, stderr {err}",
        o.status.code()
    );
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{args:?}: not one line: {err}"
    );
    assert!(
        err.contains(needle),
        "{args:?}: {err:?} does not name {needle:?}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        !out.join("metrics.csv").exists() && !out.join("summary.json").exists(),
        "{args:?}: partial output left"
    );
}

#[test]
fn bad_input_exits_2_with_one_line_and_no_output() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = out.to_str().unwrap();
    let cases: Vec<(PathBuf, &str)> = vec![
        (
            variant(tmp.path(), "eta = 0.05", "eta = 0.05\nbogus_key = 1"),
            "bogus_key",
        ),
        (variant(tmp.path(), "eta = 0.05", "eta = 0.5"), "data.eta"),
        (variant(tmp.path(), "n = 200", "n = 0"), "data.n"),
        (variant(tmp.path(), "p = 40000", "p = 1"), "data.p"),
        (variant(tmp.path(), "m = 1000", "m = \"many\""), "model.m"),
        (
            variant(tmp.path(), "loss = \"logistic\"", "loss = \"cubic\""),
            "model.loss",
        ),
        (
            variant(tmp.path(), "alpha = 1e-12", "alpha = -1.0"),
            "alpha",
        ),
    ];
    for (spec, needle) in &cases {
        expect_bad_input(&["run", spec.to_str().unwrap(), "--out", o], needle, &out);
        let _ = std::fs::remove_file(spec);
    }
    let missing = tmp.path().join("missing.toml");
    expect_bad_input(
        &["run", missing.to_str().unwrap(), "--out", o],
        "missing.toml",
        &out,
    );
    let not_toml = tmp.path().join("x.toml");
    std::fs::write(&not_toml, "this is [ not toml").unwrap();
    expect_bad_input(
        &["run", not_toml.to_str().unwrap(), "--out", o],
        "x.toml",
        &out,
    );
    expect_bad_input(
        &["run", tmp.path().to_str().unwrap(), "--out", o],
        "directory",
        &out,
    );
    // An --out that cannot be created: a path below a regular file.
    let file = tmp.path().join("plain-file");
    std::fs::write(&file, "x").unwrap();
    let below = file.join("out");
    expect_bad_input(
        &["run", GOOD, "--quick", "--out", below.to_str().unwrap()],
        "plain-file",
        &below,
    );
    expect_bad_input(
        &["run", GOOD, "--quick", "--threads", "0", "--out", o],
        "--threads",
        &out,
    );
    expect_bad_input(
        &["check", tmp.path().join("nothing").to_str().unwrap()],
        "summary.json",
        &out,
    );
}

#[test]
fn a_failed_run_keeps_the_previous_results() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = overfit(&["run", GOOD, "--quick", "--out", out.to_str().unwrap()]);
    assert!(o.status.success());
    let before = std::fs::read(out.join("metrics.csv")).unwrap();
    let bad = variant(tmp.path(), "eta = 0.05", "eta = 0.7");
    let o = overfit(&["run", bad.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read(out.join("metrics.csv")).unwrap(), before);
}

#[test]
fn list_names_every_spec() {
    let o = overfit(&["list"]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    for spec in specs() {
        let name = spec.file_name().unwrap().to_str().unwrap().to_string();
        assert!(text.contains(&name), "{name} missing from list: {text}");
    }
}
