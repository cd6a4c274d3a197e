//! The binary end to end: each --quick spec runs and writes the contract's
//! files; bad input exits 2 with one line naming the problem and leaves no
//! partial output.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn overfit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_overfit"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("binary runs")
}

/// Specs that read a data directory (`[data] dir`, relative to the project
/// root as in CI) are skipped, with the reason printed, when it is absent.
fn missing_data(spec: &Path) -> Option<String> {
    let table: toml::Table = std::fs::read_to_string(spec).ok()?.parse().ok()?;
    let dir = table.get("data")?.get("dir")?.as_str()?;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    (!path.is_dir()).then(|| format!("data directory {} not found", path.display()))
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
        if let Some(reason) = missing_data(&spec) {
            common::skip(
                &format!(
                    "every_quick_spec_runs_and_writes_the_contract ({})",
                    spec.display()
                ),
                &reason,
            );
            continue;
        }
        let (out, o) = quick_run(&spec);
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
        // check exits 1 when a row (claim, hypothesis or check) fails, else
        // 0; with --strict also 1 when one is inconclusive.
        let verdicts: Vec<&str> = claims
            .iter()
            .map(|c| c["verdict"].as_str().expect("every row has a verdict"))
            .collect();
        assert!(claims
            .iter()
            .all(|c| ["claim", "check", "hypothesis"].contains(&c["kind"].as_str().unwrap())));
        let o = overfit(&["check", out.path().to_str().unwrap()]);
        let any_fails = verdicts.contains(&"fails");
        assert_eq!(o.status.code(), Some(u8::from(any_fails).into()));
        let o = overfit(&["check", "--strict", out.path().to_str().unwrap()]);
        let all_hold = verdicts.iter().all(|&v| v == "holds");
        assert_eq!(o.status.code(), Some(u8::from(!all_hold).into()));
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

/// `overfit run SPEC --quick` into a fresh temporary folder.
fn quick_run(spec: &Path) -> (tempfile::TempDir, std::process::Output) {
    let out = tempfile::tempdir().unwrap();
    let o = overfit(&[
        "run",
        spec.to_str().unwrap(),
        "--quick",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    (out, o)
}

/// `--seeds` on a study without a run count (early_alignment: one run per
/// configuration) is said on stderr and changes nothing, where it was only
/// noted in summary.json's details; a study with one still takes it
/// without the warning.
#[test]
fn seeds_on_a_study_without_a_run_count_is_said() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (spec, warned) in [
        ("experiments/early_alignment_3pts.toml", true),
        ("experiments/expressivity.toml", false),
    ] {
        let out = tempfile::tempdir().unwrap();
        let o = overfit(&[
            "run",
            root.join(spec).to_str().unwrap(),
            "--quick",
            "--seeds",
            "3",
            "--out",
            out.path().to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{spec}: {stderr}");
        let said = stderr.contains(
            "warning: --seeds 3: study early_alignment runs one run per configuration and has no run count to set; ignored",
        );
        assert_eq!(said, warned, "{spec}: {stderr}");
    }
}

/// The diagnostic panel (a setting that is not the paper's) makes two
/// hypothesis rows (kind "hypothesis"), its time-scale factor and the
/// fraction of reference points within tolerance, and no per-point claims:
/// its comparisons with the paper's medians go to summary.json's details, so
/// they do not count among the paper's claims. The stated panel keeps its
/// per-point claims.
#[test]
fn a_diagnostic_panel_adds_hypothesis_rows_and_no_reference_claims() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/xor_grokking.toml");
    let (out, o) = quick_run(&spec);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(out.path().join("summary.json")).unwrap();
    let summary: serde_json::Value = serde_json::from_str(&text).unwrap();
    let ids: Vec<&str> = summary["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    let diag: Vec<&&str> = ids.iter().filter(|i| i.starts_with("diag_")).collect();
    assert_eq!(
        diag,
        [
            &"diag_omega_over_alpha_5.paper_time_scale",
            &"diag_omega_over_alpha_5.reference_points_within"
        ],
        "{ids:?}"
    );
    let kind_of = |id: &str| {
        let rows = summary["claims"].as_array().unwrap();
        rows.iter().find(|c| c["id"] == id).unwrap()["kind"].clone()
    };
    assert_eq!(
        kind_of("diag_omega_over_alpha_5.paper_time_scale"),
        "hypothesis"
    );
    assert_eq!(
        kind_of("diag_omega_over_alpha_5.reference_points_within"),
        "hypothesis"
    );
    assert_eq!(kind_of("right.paper_time_scale"), "claim");
    assert!(ids.iter().any(|i| i.starts_with("right.fig1_")), "{ids:?}");
    let points = summary["details"]["diag_omega_over_alpha_5"]["reference_points"]
        .as_array()
        .expect("the diagnostic panel's reference points in details");
    assert!(!points.is_empty());
    for p in points {
        let (paper, ours, tol) = (
            p["paper_median"].as_f64().unwrap(),
            p["our_median"].as_f64().unwrap(),
            p["tolerance"].as_f64().unwrap(),
        );
        assert_eq!(
            p["within_tolerance"].as_bool(),
            Some((ours - paper).abs() <= tol)
        );
    }
    assert!(summary["details"]["right"]
        .get("reference_points")
        .is_none());
}

/// `plot` takes the run directory's lock as `run` and `rejudge` do: a lock
/// held elsewhere (here: another host's) refuses it with exit 2, naming the
/// holder; once free, the redraw leaves neither lock nor temporary file.
#[test]
fn plot_takes_the_run_lock() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/expressivity.toml");
    let (out, o) = quick_run(&spec);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dir = out.path().to_str().unwrap();
    let lock = out.path().join(".lock");
    std::fs::write(&lock, "4194305 7 node-b17\n").unwrap();
    let o = overfit(&["plot", dir]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("process 4194305 on host node-b17"),
        "{stderr}"
    );
    std::fs::remove_file(&lock).unwrap();
    let o = overfit(&["plot", dir]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!lock.exists());
    let hidden = std::fs::read_dir(out.path().join("figures"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|name| name.starts_with('.'))
        .collect::<Vec<_>>();
    assert!(hidden.is_empty(), "{hidden:?}");
}

/// A requeued SLURM task that lands on another node takes over the lock its
/// killed earlier instance left (the same job ID, a lower restart count),
/// saying so on stderr; a task of another job is refused as before (exit
/// 2, naming the holder's host) and the lock is left in place.
#[test]
fn a_requeued_slurm_task_takes_over_its_earlier_instance_lock() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/expressivity.toml");
    let (out, o) = quick_run(&spec);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dir = out.path().to_str().unwrap();
    let lock = out.path().join(".lock");
    // PID 4194305 is above Linux's largest: never running here.
    let left = "4194305 7 node-a17 slurm-job=777 slurm-restart=0\n";
    let plot_in_job = |job: &str| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_overfit"));
        for var in ["SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID"] {
            c.env_remove(var);
        }
        c.args(["plot", dir])
            .env("SLURM_JOB_ID", job)
            .env("SLURM_RESTART_COUNT", "1")
            .output()
            .expect("binary runs")
    };
    std::fs::write(&lock, left).unwrap();
    let o = plot_in_job("778");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("on host node-a17"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&lock).unwrap(), left);
    let o = plot_in_job("777");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("taking over the stale lock of process 4194305 on host node-a17")
            && stderr.contains("earlier instance of this SLURM job"),
        "{stderr}"
    );
    assert!(!lock.exists());
}

/// `plot` checks the run's spec.toml as `run` and `rejudge` do: a
/// hand-edited value the figure code relies on (label_noise's
/// claims.mild_ratio, not one of data.p_over_n) exits 2 with one line
/// naming the key (it panicked until 2026-12-06, review finding).
#[test]
fn plot_refuses_a_spec_that_run_refuses() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/label_noise_phase.toml");
    let (out, o) = quick_run(&spec);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let spec_path = out.path().join("spec.toml");
    let text = std::fs::read_to_string(&spec_path).unwrap();
    let bad = text.replacen("mild_ratio = 2.0", "mild_ratio = 2.5", 1);
    // No ratios of its own: the figure falls back on the mild ratio.
    let start = bad.find("error_vs_n_ratios = [").unwrap();
    let end = start + bad[start..].find(']').unwrap() + 1;
    let bad = format!("{}error_vs_n_ratios = []{}", &bad[..start], &bad[end..]);
    assert!(bad.contains("mild_ratio = 2.5"));
    std::fs::write(&spec_path, bad).unwrap();
    let o = overfit(&["plot", out.path().to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("claims.mild_ratio"), "{stderr}");
}

/// A run folder whose metrics are in the compressed form (metrics.csv.gz
/// only, as a run writes above 1 MB): `plot` redraws the same figures from
/// it and `check` prints the same table as from the plain form.
#[test]
fn plot_and_check_read_a_gzip_metrics_folder() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/expressivity.toml");
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().unwrap();
    let o = overfit(&["run", spec.to_str().unwrap(), "--quick", "--out", dir]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let figures = |d: &Path| -> Vec<(PathBuf, Vec<u8>)> {
        let mut v: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(d.join("figures"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "svg"))
            .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
            .collect();
        v.sort();
        v
    };
    let before = figures(out.path());
    assert!(!before.is_empty());
    let check_before = overfit(&["check", dir]);
    // Swap metrics.csv for its gzip form and drop the figures.
    let plain = out.path().join("metrics.csv");
    let csv = std::fs::read(&plain).unwrap();
    std::fs::write(
        out.path().join("metrics.csv.gz"),
        overfit::record::gzip(&csv),
    )
    .unwrap();
    std::fs::remove_file(&plain).unwrap();
    std::fs::remove_dir_all(out.path().join("figures")).unwrap();
    let o = overfit(&["plot", dir]);
    assert!(
        o.status.success(),
        "plot: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        figures(out.path()),
        before,
        "figures redrawn from metrics.csv.gz differ"
    );
    let check = overfit(&["check", dir]);
    assert_eq!(check.status.code(), check_before.status.code());
    assert_eq!(check.stdout, check_before.stdout);
    // A corrupt compressed file: exit 2 naming it.
    std::fs::write(out.path().join("metrics.csv.gz"), b"not gzip").unwrap();
    let o = overfit(&["plot", dir]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("metrics.csv.gz"));
}

/// The studies whose run directories hold what their claims read (runs.csv;
/// randomization: metrics.csv's "final" rows; label_noise: cells.csv and
/// gd.csv).
/// The studies whose claims `rejudge` recomputes, from the registry.
fn rejudged() -> Vec<&'static str> {
    let studies = overfit::studies::REGISTRY.iter();
    studies.filter(|s| s.rejudges()).map(|s| s.name()).collect()
}

/// `rejudge` recomputes a committed run's claims from its runs.csv (no
/// data, no training): every committed run of a study that `rejudges`
/// already holds the claims and details this version's rules give, so a
/// rule change cannot leave a committed verdict stale. A study whose
/// outputs cannot be rejudged is bad input (exit 2, one line naming the
/// folder), and its summary.json is left as it was.
#[test]
fn rejudge_reproduces_every_committed_run_and_refuses_other_studies() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("figures");
    let (rejudged, mut judged) = (rejudged(), std::collections::BTreeSet::new());
    for run in std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()) {
        let summary = std::fs::read_to_string(run.join("summary.json")).unwrap();
        let before: serde_json::Value = serde_json::from_str(&summary).unwrap();
        let study = before["study"].as_str().unwrap().to_string();
        if !rejudged.contains(&study.as_str()) {
            continue;
        }
        let copy = tempfile::tempdir().unwrap();
        let recorded = ["runs.csv", "metrics.csv", "cells.csv", "gd.csv"];
        for file in ["spec.toml", "summary.json"].iter().chain(&recorded) {
            if run.join(file).is_file() {
                std::fs::copy(run.join(file), copy.path().join(file)).unwrap();
            }
        }
        let o = overfit(&["rejudge", copy.path().to_str().unwrap()]);
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(
            stdout.ends_with(": 0 row change(s)\n"),
            "{}: {stdout}",
            run.display()
        );
        let text = std::fs::read_to_string(copy.path().join("summary.json")).unwrap();
        let after: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            after["claims"],
            before["claims"],
            "{}: stale claims",
            run.display()
        );
        assert_eq!(
            after["details"],
            before["details"],
            "{}: stale details",
            run.display()
        );
        let entries = |s: &serde_json::Value| s["rejudged"].as_array().map_or(0, Vec::len);
        assert_eq!(entries(&after), entries(&before) + 1);
        judged.insert(study);
    }
    assert_eq!(
        judged.len(),
        rejudged.len(),
        "committed runs of {judged:?} only"
    );
    // Outputs that lack a value a claim reads are bad input naming it.
    let copy = tempfile::tempdir().unwrap();
    for file in ["spec.toml", "summary.json"] {
        let from = root.join("randomization").join(file);
        std::fs::copy(from, copy.path().join(file)).unwrap();
    }
    let metrics = std::fs::read_to_string(root.join("randomization/metrics.csv")).unwrap();
    let lacking: String = metrics
        .lines()
        .filter(|l| !(l.starts_with("true:mlp512:s1,") && l.contains(",final,test_error,")))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(lacking.len() < metrics.len());
    std::fs::write(copy.path().join("metrics.csv"), lacking).unwrap();
    let o = overfit(&["rejudge", copy.path().to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("run true:mlp512:s1 has no final test_error"),
        "{stderr}"
    );
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/expressivity.toml");
    let (out, o) = quick_run(&spec);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary = std::fs::read(out.path().join("summary.json")).unwrap();
    let o = overfit(&["rejudge", out.path().to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("study `expressivity` cannot recompute its claims"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(out.path().join("summary.json")).unwrap(),
        summary
    );
}

/// A copy of the committed run figures/relu_label_noise (what rejudge reads).
fn committed_relu_label_noise() -> tempfile::TempDir {
    committed_run("relu_label_noise")
}

/// A copy of the committed run `figures/NAME`: the files rejudge reads.
fn committed_run(name: &str) -> tempfile::TempDir {
    let run = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("figures")
        .join(name);
    let copy = tempfile::tempdir().unwrap();
    for file in ["spec.toml", "runs.csv", "metrics.csv", "summary.json"] {
        if run.join(file).is_file() {
            std::fs::copy(run.join(file), copy.path().join(file)).unwrap();
        }
    }
    copy
}

/// A recorded error that is no rate in [0, 1] (a hand-edited or corrupt
/// runs.csv or metrics.csv) is bad input naming the file, row or run, and
/// column, and summary.json is left as it was: it used to move verdicts.
#[test]
fn rejudge_refuses_an_error_that_is_no_rate() {
    let cases = [
        (
            "cnn_sweep_seed003",
            "runs.csv",
            "row 2: best_train_error is -5",
        ),
        ("randomization", "metrics.csv", "final test_error is inf"),
    ];
    for (name, file, said) in cases {
        let copy = committed_run(name);
        let path = copy.path().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let bad = match file {
            "runs.csv" => {
                let mut lines: Vec<String> = text.lines().map(String::from).collect();
                let header: Vec<&str> = lines[0].split(',').collect();
                let col = header
                    .iter()
                    .position(|h| *h == "best_train_error")
                    .unwrap();
                let mut cells: Vec<String> = lines[1].split(',').map(String::from).collect();
                cells[col] = "-5".into();
                lines[1] = cells.join(",");
                lines.join("\n") + "\n"
            }
            _ => {
                let line = text
                    .lines()
                    .find(|l| l.contains(",final,test_error,"))
                    .unwrap();
                let (head, _) = line.rsplit_once(',').unwrap();
                text.replacen(line, &format!("{head},inf"), 1)
            }
        };
        assert_ne!(bad, text);
        std::fs::write(&path, bad).unwrap();
        let summary = std::fs::read(copy.path().join("summary.json")).unwrap();
        let o = overfit(&["rejudge", copy.path().to_str().unwrap()]);
        let stderr = common::one_line_refusal(&o, &format!("{name}: "));
        assert!(stderr.contains(file) && stderr.contains(said), "{stderr}");
        assert_eq!(
            std::fs::read(copy.path().join("summary.json")).unwrap(),
            summary
        );
    }
}

/// Rejudging trains nothing, so a build without `--features cuda` rejudges
/// a run whose spec asked for `train.device = "cuda"` (it used to refuse:
/// validation checked the device as if for training).
#[test]
fn rejudge_accepts_a_run_that_trained_on_a_gpu() {
    let copy = committed_run("randomization");
    let spec_path = copy.path().join("spec.toml");
    let spec = std::fs::read_to_string(&spec_path).unwrap();
    let on_gpu = spec.replacen("[train]\n", "[train]\ndevice = \"cuda\"\n", 1);
    assert_ne!(on_gpu, spec);
    std::fs::write(&spec_path, on_gpu).unwrap();
    let o = overfit(&["rejudge", copy.path().to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.ends_with(": 0 row change(s)\n"), "{stdout}");
}

/// A spec that `run` refuses is refused by `rejudge` too, with the same
/// one-line message (exit 2), and summary.json is left as it was.
#[test]
fn rejudge_refuses_a_spec_that_run_refuses() {
    let copy = committed_relu_label_noise();
    let spec_path = copy.path().join("spec.toml");
    let spec = std::fs::read_to_string(&spec_path).unwrap();
    let bad = spec.replace("level_off_fraction = 0.5", "level_off_fraction = -7.0");
    assert_ne!(bad, spec);
    std::fs::write(&spec_path, bad).unwrap();
    let summary = std::fs::read(copy.path().join("summary.json")).unwrap();
    let o = overfit(&["rejudge", copy.path().to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("claims.level_off_fraction"), "{stderr}");
    let out = tempfile::tempdir().unwrap();
    let o = overfit(&[
        "run",
        spec_path.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&o.stderr), stderr);
    assert_eq!(
        std::fs::read(copy.path().join("summary.json")).unwrap(),
        summary
    );
}

/// A run records the hash of the spec.toml it wrote; a rejudge records the
/// hash of the one it read and says when it differs from the run's, or
/// that the run (an old one) recorded none.
#[test]
fn rejudge_says_whether_it_read_the_run_spec() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/expressivity.toml");
    let (out, o) = quick_run(&spec);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let written = std::fs::read(out.path().join("spec.toml")).unwrap();
    let text = std::fs::read_to_string(out.path().join("summary.json")).unwrap();
    let summary: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(summary["spec_hash"], overfit::record::spec_hash(&written));

    let copy = committed_relu_label_noise();
    let dir = copy.path().to_str().unwrap();
    let rejudge = || {
        let o = overfit(&["rejudge", dir]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    // A run from before the hash was recorded: its summary without one.
    let summary_path = copy.path().join("summary.json");
    let mut summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary_path).unwrap()).unwrap();
    summary.as_object_mut().unwrap().remove("spec_hash");
    std::fs::write(&summary_path, summary.to_string()).unwrap();
    assert!(rejudge().starts_with("spec.toml: the run recorded no hash\n"));
    let spec_path = copy.path().join("spec.toml");
    let run_hash = overfit::record::spec_hash(&std::fs::read(&spec_path).unwrap());
    let mut summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary_path).unwrap()).unwrap();
    summary["spec_hash"] = run_hash.clone().into();
    std::fs::write(&summary_path, summary.to_string()).unwrap();
    assert!(!rejudge().contains("spec.toml"));
    let mut spec = std::fs::read(&spec_path).unwrap();
    spec.extend_from_slice(b"# edited after the run\n");
    std::fs::write(&spec_path, &spec).unwrap();
    let now = overfit::record::spec_hash(&spec);
    let line = format!("spec.toml: differs from the run's (hash {run_hash} -> {now})\n");
    assert!(rejudge().starts_with(&line));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary_path).unwrap()).unwrap();
    let entries = summary["rejudged"].as_array().unwrap();
    assert_eq!(entries.last().unwrap()["spec_hash"], now);
    assert_eq!(entries.last().unwrap()["changes"][0], line.trim_end());
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

/// With `--peer`, every row's peer runs right after each of its repetitions
/// (the dual row's too: PyTorch's primal step, timed again beside it) and
/// each ratio pairs a repetition with its own peer. A stand-in "python"
/// that prints fixed timings makes the ratios known.
#[cfg(unix)]
/// Output into a pipe whose reader is gone (`overfit list | head -0`)
/// ends the process by SIGPIPE, quietly, as for other Unix tools; it used
/// to panic in `println!` with a backtrace on stderr.
#[cfg(unix)]
#[test]
fn a_closed_pipe_on_stdout_ends_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = Command::new(env!("CARGO_BIN_EXE_overfit"))
        .arg("list")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(writer)
        .output()
        .expect("binary runs");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.signal(),
        Some(libc::SIGPIPE),
        "{:?}: {err}",
        o.status
    );
    assert!(err.is_empty(), "{err}");
}

#[test]
fn bench_all_pairs_every_repetition_with_a_peer_run_right_after_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("python");
    let log = dir.path().join("calls");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\necho \"$1\" >> '{}'\ncase \"$1\" in\n  *cnn_train.py) echo 'peer=pytorch version=stand-in images_per_s=10' ;;\n  *) echo 'peer=pytorch version=stand-in s_per_step=3' ;;\nesac\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_overfit"))
        .args([
            "bench",
            "all",
            "--quick",
            "--peer",
            "--reps",
            "2",
            "--threads",
            "1",
        ])
        .env("OVERFIT_PYTHON", &fake)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let table = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        table.contains("PyTorch stand-in (backend unknown) on the CPU"),
        "{table}"
    );
    // 5 rows x 2 repetitions, each followed by its peer, in that order.
    let raw = String::from_utf8_lossy(&o.stderr);
    let kinds: Vec<&str> = raw
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|k| k.starts_with("bench=") || k.starts_with("peer="))
        .collect();
    assert_eq!(kinds.len(), 20, "{raw}");
    for pair in kinds.chunks(2) {
        assert!(
            pair[0].starts_with("bench=") && pair[1] == "peer=pytorch",
            "{raw}"
        );
    }
    let calls = std::fs::read_to_string(&log).unwrap();
    let two_layer = calls
        .lines()
        .filter(|l| l.ends_with("two_layer_step.py"))
        .count();
    assert_eq!(
        two_layer, 4,
        "primal and dual rows, 2 repetitions each: {calls}"
    );
    // The dual row's ratios are 3 s over each of its own repetitions' times.
    let dual_lines: Vec<f64> = raw
        .lines()
        .filter(|l| l.starts_with("bench=two-layer engine=dual"))
        .map(|l| overfit::bench::value_of(l, "s_per_step"))
        .collect();
    assert_eq!(dual_lines.len(), 2, "{raw}");
    let dual_row = table.lines().find(|l| l.contains("engine dual")).unwrap();
    let ratios = dual_row.split(" | ").nth(4).unwrap();
    let expected: Vec<String> = dual_lines
        .iter()
        .map(|t| format!("{}x", overfit::bench::peak::truncated(3.0 / t, 2)))
        .collect();
    assert_eq!(ratios, expected.join(" / "), "{dual_row}");
}

#[test]
fn bench_all_prints_one_row_per_benchmark_with_its_machine() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("perf.md");
    let o = overfit(&[
        "bench",
        "all",
        "--quick",
        "--reps",
        "1",
        "--threads",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let table = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), table);
    // The raw lines are kept beside the table.
    let kept = std::fs::read_to_string(dir.path().join("perf.lines.txt")).unwrap();
    assert_eq!(
        kept.lines().filter(|l| l.starts_with("bench=")).count(),
        5,
        "{kept}"
    );
    let first = table.lines().next().unwrap();
    assert!(
        first.starts_with("Machine: ") && first.contains(" core ") && first.contains("UTC"),
        "{first}"
    );
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains("`bench "))
        .collect();
    assert_eq!(rows.len(), 5, "{table}");
    // Without --peer no ratio is claimed and no speed-up target is judged met.
    assert!(rows.iter().all(|r| r.contains("| not run |")), "{table}");
    assert!(!table.contains("x: met"), "{table}");
    // Every raw line went to stderr, each with its rate and the machine.
    let raw = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        raw.lines()
            .filter(|l| l.starts_with("bench=")
                && l.contains(" gflops=")
                && l.contains(" blas_core="))
            .count(),
        5,
        "{raw}"
    );
}

/// `bench two-layer --product` forces the first layer's product, and each
/// line names the one it timed: the engine's own choice is a table from 64
/// neurons and a gemm below.
#[test]
fn bench_two_layer_names_the_product_it_timed() {
    let product_of = |m: &str, product: &str| {
        let o = overfit(&[
            "bench",
            "two-layer",
            "--engine",
            "primal",
            "--p",
            "30",
            "--n",
            "12",
            "--m",
            m,
            "--steps",
            "1",
            "--threads",
            "1",
            "--product",
            product,
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let line = String::from_utf8_lossy(&o.stdout).to_string();
        overfit::bench::field_of(&line, "product")
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(product_of("64", "auto"), "table");
    assert_eq!(product_of("63", "auto"), "gemm");
    assert_eq!(product_of("64", "gemm"), "gemm");
    assert_eq!(product_of("8", "table"), "table");
}
