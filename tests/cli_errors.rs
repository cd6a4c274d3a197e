//! One-line errors for command-line mistakes and empty results (exit 2),
//! and for divergence (exit 3).

mod common;

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

/// `--threads` is bounded before anything starts (it used to run for
/// minutes and abort allocating thread stacks), in every command.
#[test]
fn threads_are_bounded_up_front() {
    let started = std::time::Instant::now();
    for args in [
        &[
            "run",
            "experiments/xor_grokking.toml",
            "--quick",
            "--threads",
            "100000000000",
        ][..],
        &[
            "run",
            "experiments/xor_grokking.toml",
            "--quick",
            "--threads",
            "0",
        ][..],
        &["bench", "two-layer", "--threads", "0"][..],
        &["bench", "cnn", "--threads", "5000"][..],
    ] {
        let (code, err) = stderr_of(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains("--threads"), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    }
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
}

/// `times` and `list --runs` on a folder with no runs exit 2 naming it (they
/// printed an empty or all "no committed run" table, exit 0, which a README
/// block would take in); `times` on a run's own folder says to give its parent,
/// and on a missing folder where the runs are looked for.
#[test]
fn tables_of_a_folder_without_runs_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().to_str().unwrap();
    let refused = |args: &[&str], said: &str| {
        let (code, err) = stderr_of(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(said), "{args:?}: {err}");
    };
    refused(&["times", folder], "no run folder");
    let run = tmp.path().join("a_run");
    std::fs::create_dir(&run).unwrap();
    std::fs::write(run.join("summary.json"), "{}").unwrap();
    refused(&["times", run.to_str().unwrap()], "it is a run itself");
    let absent = tmp.path().join("absent");
    let absent = absent.to_str().unwrap();
    refused(&["list", "--format", "markdown", "--runs", absent], absent);
    // A folder that does not exist (`times` outside the repository reads
    // `figures` there) says where the runs are looked for.
    refused(&["times", absent], "run from the repository root");
}

/// `bench all --out FILE` is checked before any benchmark runs (it used to
/// fail minutes later, after writing FILE's raw lines): a directory, or a
/// file in a folder that does not exist, is refused naming it, and nothing
/// is written.
#[test]
fn bench_all_checks_its_out_file_first() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("table");
    std::fs::create_dir(&folder).unwrap();
    let absent = tmp.path().join("absent/table.md");
    for out in [&folder, &absent] {
        let out_arg = out.to_str().unwrap();
        let args = ["bench", "all", "--quick", "--reps", "1", "--out", out_arg];
        let (code, err) = stderr_of(&args);
        assert_eq!(code, Some(2), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains("--out") && err.contains(out_arg), "{err}");
        assert!(!err.contains("bench="), "it ran a benchmark first: {err}");
    }
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "only the folder made here: {left:?}");
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 0);
}

/// A shard count no merge could hold is refused at `run`, and an edited
/// shard.json with I >= N or N = 0 is refused by `merge` naming the file
/// (both used to panic).
#[test]
fn impossible_shards_are_refused() {
    let (code, err) = stderr_of(&[
        "run",
        "experiments/xor_grokking.toml",
        "--quick",
        "--shard",
        "0/18446744073709551615",
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--shard") && err.contains("100000"), "{err}");
    let tmp = tempfile::tempdir().unwrap();
    let s0 = tmp.path().join("s0");
    let (code, err) = stderr_of(&[
        "run",
        "experiments/xor_grokking.toml",
        "--quick",
        "--shard",
        "0/2",
        "--out",
        s0.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{err}");
    let manifest = s0.join(".units/shard.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    for (shard, bad) in [
        ("\"index\": 0", "\"index\": 7"),
        ("\"count\": 2", "\"count\": 0"),
    ] {
        assert!(text.contains(shard), "{text}");
        std::fs::write(&manifest, text.replace(shard, bad)).unwrap();
        let out = tmp.path().join("merged");
        let (code, err) = stderr_of(&[
            "merge",
            s0.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, Some(2), "{bad}: {err}");
        assert!(
            err.contains("shard.json") && err.contains("need 0 <= I < N"),
            "{bad}: {err}"
        );
    }
}

/// A FIFO where a file is read (the spec, summary.json for `check`, a
/// *.toml seen by `list`) is refused or skipped at once instead of hanging.
#[test]
fn a_fifo_is_refused_not_read() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = |path: &std::path::Path| {
        let ok = Command::new("mkfifo").arg(path).status().unwrap().success();
        assert!(ok, "mkfifo {}", path.display());
    };
    let spec = tmp.path().join("spec.toml");
    fifo(&spec);
    let run_dir = tmp.path().join("run");
    std::fs::create_dir_all(&run_dir).unwrap();
    fifo(&run_dir.join("summary.json"));
    for args in [
        vec!["run", spec.to_str().unwrap(), "--quick"],
        vec!["check", run_dir.to_str().unwrap()],
    ] {
        let (code, err) = stderr_of(&args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains("not a regular file"), "{args:?}: {err}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_overfit"))
        .args(["list", "--dir", tmp.path().to_str().unwrap()])
        .output()
        .unwrap();
    // Listed with the reason, and the exit status says a spec did not load.
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("not a regular file"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1 of 1 specs do not load"), "{err}");
}

/// Control characters in a path are escaped and a huge value is cut, so
/// the error stays one readable line.
#[test]
fn errors_escape_control_characters_and_cut_long_values() {
    let tmp = tempfile::tempdir().unwrap();
    let odd = tmp.path().join("a\nb\u{1b}[31m.toml");
    let (code, err) = stderr_of(&["run", odd.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("a\\nb\\u{1b}[31m.toml") && !err.contains('\u{1b}'),
        "{err}"
    );
    let long = tmp.path().join(format!("{}.toml", "x".repeat(3000)));
    let (code, err) = stderr_of(&["run", long.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.len() < 600 && err.contains("characters]"),
        "{} bytes: {err}",
        err.len()
    );
}

/// A blow-up in a run's last step is a divergence (exit 3, naming the run
/// and the step or epoch), not a result: the training loops check a loss
/// before each step, so the last step's is checked after it (two-layer: the
/// outputs too, since a logistic loss is 0 at outputs of +-inf with the
/// right signs; CNN: the evaluation's losses). Both used to exit 0 with
/// NaN or infinite measurements in metrics.csv.
#[test]
fn a_blow_up_in_the_last_step_exits_3() {
    let tmp = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let variant = |spec: &str, edits: &[(&str, &str)], name: &str| {
        let mut text = std::fs::read_to_string(root.join(spec)).unwrap();
        for (from, to) in edits {
            assert!(text.contains(from), "{from:?} not in {spec}");
            text = text.replacen(from, to, 1);
        }
        let path = tmp.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let xor = variant(
        "experiments/xor_grokking.toml",
        &[(
            r#"{ id = "left", alpha = 1e-12, steps = 10, runs = 6, claims = ["theorem", "mechanism"], reference = [ { step = 2,"#,
            r#"{ id = "left", alpha = 1e307, steps = 1, runs = 6, claims = ["theorem", "mechanism"], reference = [ { step = 1,"#,
        )],
        "xor.toml",
    );
    let out = tmp.path().join("xor-out");
    let (code, err) = stderr_of(&[
        "run",
        xor.to_str().unwrap(),
        "--quick",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains("run left:") && err.contains("output") && err.contains("step 1"),
        "{err}"
    );
    // It says where the finished units are and that a changed spec needs
    // them gone, so the fixed rerun is not refused twice.
    assert!(
        err.contains(&format!(
            "kept in {} for --resume",
            out.join(".units").display()
        )) && err.contains("delete it to rerun a changed spec"),
        "{err}"
    );
    assert!(!out.join("summary.json").exists());

    let Some(data) = common::cifar_data("a_blow_up_in_the_last_step_exits_3 (its CNN half)") else {
        return;
    };
    let cnn = variant(
        "experiments/cnn_sweep_seed003.toml",
        &[
            (
                "data = { train = 400, test = 400 }",
                "data = { train = 16, test = 16 }",
            ),
            (
                "train = { epochs = 3, runs = 2, eval_batch = 200 }",
                "train = { epochs = 1, runs = 1, eval_batch = 16, batch = 16, lr = 1e30, momentum = 0.0 }",
            ),
            (
                "model = { archs = [[5, 15, 10], [8, 40, 20], [16, 150, 80]] }",
                "model = { archs = [[8, 40, 20], [16, 150, 80]] }",
            ),
        ],
        "cnn.toml",
    );
    let out = tmp.path().join("cnn-out");
    let (code, err) = stderr_of(&[
        "run",
        cnn.to_str().unwrap(),
        "--quick",
        "--threads",
        "1",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains("epoch 1") && err.contains("loss is NaN"),
        "{err}"
    );
    assert!(!out.join("summary.json").exists());
}

/// A divergence names the run that diverged (exit 3, one line): the
/// expressivity study's GD contrast (its run label `gd:n..:d..:s..`) and
/// leaky_relu_benign's runs (their label in metrics.csv). Both used to say
/// only "the training loss is ... at step ..." (until 2026-12-06, review
/// finding).
#[test]
fn a_divergence_names_its_run() {
    let tmp = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let cases = [
        (
            "experiments/expressivity.toml",
            &[("\nlr = 1.0\n", "\nlr = 1e300\n")][..],
            "run gd:n20:d20:s",
        ),
        (
            // Initial weights near f64's largest: the hinge loss overflows.
            "experiments/leaky_relu_benign.toml",
            &[
                ("\ninit_scale = 1.0 ", "\ninit_scale = 1.79e308 "),
                ("model = { m = 16,", "model = { m = 2,"),
            ][..],
            "run heatmap_n",
        ),
    ];
    for (i, (spec, edits, label)) in cases.into_iter().enumerate() {
        let mut text = std::fs::read_to_string(root.join(spec)).unwrap();
        for (from, to) in edits {
            assert!(text.contains(from), "{from:?} not in {spec}");
            text = text.replacen(from, to, 1);
        }
        let path = tmp.path().join(format!("case{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let out = tmp.path().join(format!("out{i}"));
        let (code, err) = stderr_of(&[
            "run",
            path.to_str().unwrap(),
            "--quick",
            "--threads",
            "1",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, Some(3), "{spec}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{spec}: {err}");
        assert!(
            err.contains(label) && err.contains("at step"),
            "{spec}: {err}"
        );
    }
}

/// A merge reads the data folder its shards recorded (`data.dir`): when it
/// is gone, merge exits 2 naming it and the spec that recorded it, before
/// writing anything; with the folder back, the same merge succeeds (review
/// finding, 2026-12-07: the error told the user to pass `--data`, which
/// merge does not take).
#[test]
fn a_merge_names_the_data_folder_its_shards_read() {
    let Some(data) = common::cifar_data("a_merge_names_the_data_folder_its_shards_read") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let link = tmp.path().join("cif");
    std::os::unix::fs::symlink(&data, &link).unwrap();
    let d = |name: &str| tmp.path().join(name).to_str().unwrap().to_string();
    for shard in ["0/2", "1/2"] {
        let out = d(&format!("s{}", &shard[..1]));
        let (code, err) = stderr_of(&[
            "run",
            "experiments/cnn_sweep_seed003.toml",
            "--quick",
            "--threads",
            "1",
            "--shard",
            shard,
            "--data",
            link.to_str().unwrap(),
            "--out",
            &out,
        ]);
        assert_eq!(code, Some(0), "{err}");
    }
    std::fs::remove_file(&link).unwrap();
    let merge = ["merge", &d("s0"), &d("s1"), "--out", &d("merged")];
    let (code, err) = stderr_of(&merge);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains(link.to_str().unwrap()) && err.contains("data.dir") && !err.contains("--data"),
        "{err}"
    );
    assert!(!tmp.path().join("merged").exists());
    std::os::unix::fs::symlink(&data, &link).unwrap();
    let (code, err) = stderr_of(&merge);
    assert_eq!(code, Some(0), "{err}");
}

/// `--shard slurm` names the SLURM variable a bad number came from (review
/// finding, 2026-12-07: it said only `"abc" is not a whole number`).
#[test]
fn a_bad_slurm_variable_is_named() {
    let shard = |id: &str, count: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_overfit"))
            .args([
                "run",
                "experiments/xor_grokking.toml",
                "--quick",
                "--shard",
                "slurm",
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("SLURM_ARRAY_TASK_ID", id)
            .env("SLURM_ARRAY_TASK_COUNT", count)
            .env_remove("SLURM_ARRAY_TASK_MIN")
            .env_remove("SLURM_ARRAY_TASK_MAX")
            .output()
            .expect("binary runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, err) = shard("abc", "2");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("SLURM_ARRAY_TASK_ID = \"abc\" is not a whole number"),
        "{err}"
    );
    let (code, err) = shard("2", "1");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(
            "got I = 2, N = 1 (I from SLURM_ARRAY_TASK_ID, N from SLURM_ARRAY_TASK_COUNT)"
        ),
        "{err}"
    );
}
