//! Runs that survive: SIGKILL + --resume, and --shard + merge, reproduce an
//! uninterrupted run's metrics.csv byte for byte (summary.json too, less timing).

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const SPEC: &str = "experiments/xor_grokking.toml";

/// Run the binary with these arguments to the end.
fn overfit<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    overfit_in(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

/// The binary run in `cwd` (where results/ goes without --out).
fn overfit_in<S: AsRef<std::ffi::OsStr>>(cwd: &Path, args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_overfit"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("binary runs")
}

/// Start the binary with these arguments, output discarded (to be killed).
fn spawn_args(args: &[String]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_overfit"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts")
}

/// A run's metrics file: metrics.csv, or metrics.csv.gz above the size at
/// which the writer compresses (its gzip header is deterministic, so the
/// bytes compare as well).
fn metrics_file(dir: &Path) -> std::path::PathBuf {
    let plain = dir.join("metrics.csv");
    if plain.is_file() {
        plain
    } else {
        dir.join("metrics.csv.gz")
    }
}

/// The same metrics bytes and summary.json less timing.
fn assert_same_results(full: &Path, other: &Path, context: &str) {
    assert_eq!(
        std::fs::read(metrics_file(full)).unwrap(),
        std::fs::read(metrics_file(other)).unwrap(),
        "{context}"
    );
    assert_eq!(
        summary_less_timing(full),
        summary_less_timing(other),
        "{context}"
    );
}

/// DIR/summary.json as JSON.
fn summary_json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

fn summary_less_timing(dir: &Path) -> serde_json::Value {
    let mut v = summary_json(dir);
    let obj = v.as_object_mut().unwrap();
    obj.remove("elapsed_s");
    obj.remove("threads");
    obj.remove("provenance");
    // The hash of the run's own spec.toml, whose first line names the spec
    // it was resolved from (a run from another path than the compared one).
    let spec = std::fs::read(dir.join("spec.toml")).unwrap();
    let hash = obj.remove("spec_hash").unwrap();
    assert_eq!(hash, overfit::record::spec_hash(&spec), "{}", dir.display());
    v
}

/// provenance.units of a run directory: (total, computed in its last process).
fn units(dir: &Path) -> (u64, u64) {
    let v = summary_json(dir);
    let u = &v["provenance"]["units"];
    (
        u["total"].as_u64().unwrap(),
        u["computed_here"].as_u64().unwrap(),
    )
}

#[test]
fn killed_run_resumes_to_identical_results() {
    let tmp = tempfile::tempdir().unwrap();
    let (full, killed) = (tmp.path().join("full"), tmp.path().join("killed"));
    let args = |out: &Path| {
        vec![
            "run".to_string(),
            SPEC.into(),
            "--quick".into(),
            "--seeds".into(),
            "120".into(),
            "--out".into(),
            out.to_str().unwrap().into(),
        ]
    };
    let start = Instant::now();
    let o = overfit(&args(&full));
    assert!(o.status.success());
    let duration = start.elapsed();
    // Kill at a pseudo-random point inside the run's duration (seeded by the clock).
    let frac = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
        % 1000) as f64
        / 1000.0;
    let mut child = spawn_args(&args(&killed));
    std::thread::sleep(Duration::from_secs_f64(
        duration.as_secs_f64() * (0.1 + 0.8 * frac),
    ));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Whatever was left is either absent or complete; resume finishes the run.
    let mut resume = args(&killed);
    resume.push("--resume".into());
    let o = overfit(&resume);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_same_results(
        &full,
        &killed,
        &format!("killed at {:.0}% of the run", 100.0 * (0.1 + 0.8 * frac)),
    );
    // The summary says how much of the run its process computed.
    let (total, here) = units(&full);
    assert_eq!(here, total, "a plain run computes every unit");
    let (resumed_total, resumed_here) = units(&killed);
    assert_eq!(resumed_total, total);
    assert!(resumed_here <= total);
    let leftovers: Vec<_> = [killed.clone(), killed.join("figures")]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap())
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().into_string().unwrap())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn shards_merge_to_the_single_process_result() {
    let tmp = tempfile::tempdir().unwrap();
    let d = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    assert!(overfit(&["run", SPEC, "--quick", "--out", &d("one")])
        .status
        .success());
    for i in 0..3 {
        let o = overfit(&[
            "run",
            SPEC,
            "--quick",
            "--shard",
            &format!("{i}/3"),
            "--out",
            &d(&format!("s{i}")),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(
            !tmp.path().join(format!("s{i}/metrics.csv")).exists(),
            "a shard must not write final metrics"
        );
    }
    let o = overfit(&["merge", &d("s2"), &d("s0"), &d("s1"), "--out", &d("merged")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read(tmp.path().join("one/metrics.csv")).unwrap(),
        std::fs::read(tmp.path().join("merged/metrics.csv")).unwrap()
    );
    assert_eq!(
        summary_less_timing(&tmp.path().join("one")),
        summary_less_timing(&tmp.path().join("merged"))
    );
    let (total, here) = units(&tmp.path().join("merged"));
    assert_eq!(
        (here, total),
        (0, units(&tmp.path().join("one")).0),
        "a merge loads every unit"
    );
    // A missing shard, a duplicated one, and shards of a different spec are refused with exit 2.
    for args in [
        vec!["merge", &d("s0"), &d("s1")],
        vec!["merge", &d("s0"), &d("s0"), &d("s1")],
    ] {
        let mut a = args.clone();
        let out = d("bad");
        a.extend(["--out", &out]);
        let o = overfit(&a);
        assert_eq!(o.status.code(), Some(2), "{a:?}");
        assert!(!tmp.path().join("bad/metrics.csv").exists());
    }
    let o = overfit(&[
        "run",
        "experiments/xor_theorem.toml",
        "--quick",
        "--shard",
        "1/3",
        "--out",
        &d("other"),
    ]);
    assert!(o.status.success());
    let o = overfit(&["merge", &d("s0"), &d("other"), &d("s2"), "--out", &d("bad")]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("different specs (first difference: "), "{err}");
}

/// The effective runs (after --seeds) are part of a run: its resolved
/// spec.toml repeats it exactly, and --resume with other --seeds is refused
/// (it used to reuse units by index under another job layout, exit 0).
#[test]
fn resume_with_other_seeds_is_refused_and_the_resolved_spec_repeats_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let d = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    let run = |seeds: &str, extra: &[&str]| {
        let mut a = vec!["run", SPEC, "--quick", "--seeds", seeds, "--out"];
        let out = d("a");
        a.push(&out);
        a.extend(extra);
        overfit(&a)
    };
    let o = run("2", &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let spec = std::fs::read_to_string(tmp.path().join("a/spec.toml")).unwrap();
    assert!(
        spec.contains("runs = 2") && !spec.contains("runs = 6"),
        "{spec}"
    );
    let o = overfit(&[
        "run",
        &format!("{}/spec.toml", d("a")),
        "--out",
        &d("again"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // (summary.json differs in `quick` only: the re-run reads a spec with [quick] applied.)
    assert_eq!(
        std::fs::read(tmp.path().join("a/metrics.csv")).unwrap(),
        std::fs::read(tmp.path().join("again/metrics.csv")).unwrap(),
        "the resolved spec.toml re-run"
    );

    let before = std::fs::read(tmp.path().join("a/metrics.csv")).unwrap();
    let o = run("3", &["--resume"]);
    let err = common::one_line_refusal(&o, "");
    for needle in ["runs = 2", "runs = 3", "--seeds 3", "spec.toml"] {
        assert!(err.contains(needle), "{err:?} does not name {needle:?}");
    }
    assert_eq!(
        std::fs::read(tmp.path().join("a/metrics.csv")).unwrap(),
        before
    );
    // An interrupted run's units (here a shard's) are checked the same way.
    let o = overfit(&[
        "run",
        SPEC,
        "--quick",
        "--seeds",
        "2",
        "--shard",
        "0/2",
        "--out",
        &d("b"),
    ]);
    assert!(o.status.success());
    let o = overfit(&["run", SPEC, "--quick", "--resume", "--out", &d("b")]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(".units") && err.contains("runs = 2"), "{err}");
    // The same --seeds resumes.
    assert!(run("2", &["--resume"]).status.success());
    assert_eq!(
        std::fs::read(tmp.path().join("a/metrics.csv")).unwrap(),
        before
    );
}

/// `--seed S` is a replicate: the resolved spec.toml records the seed (and
/// re-runs it), the draws differ from the spec's seed, an interrupted run's
/// units of another seed are refused, and shards of a seeded run merge to
/// the single-process result.
#[test]
fn a_seed_override_is_a_replicate_recorded_in_the_resolved_spec() {
    let tmp = tempfile::tempdir().unwrap();
    let d = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    let metrics = |n: &str| std::fs::read(tmp.path().join(n).join("metrics.csv")).unwrap();
    let run = |args: &[&str]| {
        let o = overfit(args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    run(&["run", SPEC, "--quick", "--out", &d("spec_seed")]);
    run(&["run", SPEC, "--quick", "--seed", "7", "--out", &d("seed7")]);
    let spec = std::fs::read_to_string(tmp.path().join("seed7/spec.toml")).unwrap();
    assert!(
        spec.contains("seed = 7") && spec.contains("--seed 7"),
        "{spec}"
    );
    assert_ne!(metrics("spec_seed"), metrics("seed7"), "other draws");
    run(&[
        "run",
        &format!("{}/spec.toml", d("seed7")),
        "--out",
        &d("again"),
    ]);
    assert_eq!(
        metrics("seed7"),
        metrics("again"),
        "the resolved spec re-runs"
    );

    for i in 0..2 {
        let shard = format!("{i}/2");
        let out = d(&format!("s{i}"));
        run(&[
            "run", SPEC, "--quick", "--seed", "7", "--shard", &shard, "--out", &out,
        ]);
    }
    run(&["merge", &d("s0"), &d("s1"), "--out", &d("merged")]);
    assert_eq!(metrics("seed7"), metrics("merged"));
    let merged = std::fs::read_to_string(tmp.path().join("merged/spec.toml")).unwrap();
    assert!(merged.contains("--seed 7"), "{merged}");

    let o = overfit(&[
        "run",
        SPEC,
        "--quick",
        "--seed",
        "8",
        "--resume",
        "--out",
        &d("s0"),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    // It names what differs, so the user can resume with the right flag.
    assert!(
        err.contains(
            "different spec (first difference: seed = 7 in the units' spec, 8 in this run's)"
        ),
        "{err}"
    );
}

/// Shards of a study with two sweeps (expressivity: the construction, then
/// the GD contrast) run their share of both and merge to the
/// single-process result (a shard used to stop after its first sweep, so
/// the merge found the second sweep's units in no shard).
#[test]
fn shards_of_a_two_sweep_study_merge_to_the_single_process_result() {
    const TWO: &str = "experiments/expressivity.toml";
    let tmp = tempfile::tempdir().unwrap();
    let d = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    assert!(overfit(&["run", TWO, "--quick", "--out", &d("one")])
        .status
        .success());
    for i in 0..2 {
        let o = overfit(&[
            "run",
            TWO,
            "--quick",
            "--shard",
            &format!("{i}/2"),
            "--out",
            &d(&format!("s{i}")),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let gd_units =
            std::fs::read_dir(tmp.path().join(format!("s{i}/.units/gd"))).map_or(0, |e| e.count());
        assert!(gd_units > 0, "shard {i} ran no unit of the second sweep");
    }
    let o = overfit(&["merge", &d("s0"), &d("s1"), "--out", &d("merged")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read(tmp.path().join("one/metrics.csv")).unwrap(),
        std::fs::read(tmp.path().join("merged/metrics.csv")).unwrap()
    );
    assert_eq!(
        summary_less_timing(&tmp.path().join("one")),
        summary_less_timing(&tmp.path().join("merged"))
    );
    let (total, here) = units(&tmp.path().join("merged"));
    assert_eq!(
        (here, total),
        (0, units(&tmp.path().join("one")).0),
        "a merge loads every unit"
    );
}

/// Shards run with --seeds merge to the unsharded run with those seeds (merge
/// reads the runs from the shard manifests); shards of different runs are refused.
#[test]
fn shards_with_seeds_merge_to_the_unsharded_result() {
    let tmp = tempfile::tempdir().unwrap();
    let d = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    let o = overfit(&["run", SPEC, "--quick", "--seeds", "3", "--out", &d("one")]);
    assert!(o.status.success());
    for (name, seeds, shard) in [("s0", "3", "0/2"), ("s1", "3", "1/2"), ("t1", "10", "1/2")] {
        let o = overfit(&[
            "run",
            SPEC,
            "--quick",
            "--seeds",
            seeds,
            "--shard",
            shard,
            "--out",
            &d(name),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let o = overfit(&["merge", &d("s1"), &d("s0"), "--out", &d("merged")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_same_results(
        &tmp.path().join("one"),
        &tmp.path().join("merged"),
        "--seeds 3 in 2 shards",
    );
    let o = overfit(&["merge", &d("s0"), &d("t1"), "--out", &d("bad")]);
    let err = common::one_line_refusal(&o, "");
    for needle in [
        "s0/.units/shard.json",
        "t1/.units/shard.json",
        "runs = 3",
        "runs = 10",
    ] {
        assert!(err.contains(needle), "{err:?} does not name {needle:?}");
    }
    assert!(!tmp.path().join("bad/metrics.csv").exists());
}

/// A shard that holds every unit (a spec of one unit in two shards,
/// `--shard 0/1`) is still a shard that `merge` finishes: it used to finish
/// as a whole run, and the merge refused it as "not a shard directory".
/// A plain run over its units is refused, naming its `--shard` and what
/// `--resume` alone does (finishes the whole run there); a merge killed
/// while copying can run again into the same `--out`.
#[test]
fn a_shard_holding_every_unit_merges_and_keeps_its_shard() {
    let tmp = tempfile::tempdir().unwrap();
    let d = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    let one_unit = "experiments/early_alignment_stewart.toml";
    let run = |extra: &[&str], out: &str| {
        let mut args = vec!["run", one_unit, "--quick", "--out", out];
        args.extend(extra);
        overfit(&args)
    };
    assert!(run(&[], &d("one")).status.success());
    for (shards, merged) in [(vec!["0/2", "1/2"], "m2"), (vec!["0/1"], "m1")] {
        let outs: Vec<String> = (shards.iter()).map(|s| d(&s.replace('/', "of"))).collect();
        for (shard, out) in shards.iter().zip(&outs) {
            let o = run(&["--shard", shard], out);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            assert!(!Path::new(out).join("summary.json").exists(), "{shard}");
        }
        let mut args = vec!["merge"];
        args.extend(outs.iter().map(String::as_str));
        let out = d(merged);
        args.extend(["--out", &out]);
        let o = overfit(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_same_results(&tmp.path().join("one"), Path::new(&out), merged);
    }
    let o = run(&[], &d("0of2"));
    assert_eq!(o.status.code(), Some(2));
    let says = "pass --resume --shard 0/2 to run that shard again (--resume alone finishes the whole run here";
    assert!(String::from_utf8_lossy(&o.stderr).contains(says));
    let o = run(&["--resume", "--shard", "0/2"], &d("0of2"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // A merge killed at any moment, then the same merge again.
    let shards: Vec<String> = (0..3).map(|i| d(&format!("x{i}"))).collect();
    for (i, out) in shards.iter().enumerate() {
        let shard = format!("{i}/3");
        let o = overfit(&["run", SPEC, "--quick", "--shard", &shard, "--out", out]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    for delay_ms in [0, 15, 40, 100] {
        let out = d(&format!("killed{delay_ms}"));
        let mut args = vec!["merge".to_string()];
        args.extend(shards.iter().cloned());
        args.extend(["--out".to_string(), out.clone()]);
        let mut child = spawn_args(&args);
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap();
        child.wait().unwrap();
        let o = overfit(&args);
        assert!(
            o.status.success(),
            "after {delay_ms} ms: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// `merge --out` at or inside one of its shards is refused before anything
/// is touched (it used to clear that shard's units, then fail).
#[test]
fn merge_into_one_of_its_shards_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let d = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    for i in 0..2 {
        let shard = format!("{i}/2");
        let o = overfit(&[
            "run",
            SPEC,
            "--quick",
            "--shard",
            &shard,
            "--out",
            &d(&format!("s{i}")),
        ]);
        assert!(o.status.success());
    }
    // Every file of the shards with its bytes.
    let shards = || -> Vec<(std::path::PathBuf, Vec<u8>)> {
        let mut files: Vec<_> = walk(tmp.path())
            .into_iter()
            .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
            .collect();
        files.sort();
        files
    };
    let before = shards();
    let s1_inner = format!("{}/sub/../inner", d("s1"));
    let s0_dot = format!("{}/.", d("s0"));
    // The shards' parent: the merged result would replace them with it.
    let parent = tmp.path().to_str().unwrap().to_string();
    for out in [d("s0"), s0_dot, s1_inner, parent] {
        let o = overfit(&["merge", &d("s0"), &d("s1"), "--out", &out]);
        let err = common::one_line_refusal(&o, &format!("--out {out}: "));
        assert!(
            err.contains("--out") && err.contains("shard directory"),
            "{err}"
        );
        assert!(shards() == before, "--out {out} touched the shards");
    }
    let o = overfit(&["merge", &d("s0"), &d("s1"), "--out", &d("merged")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// A run without --resume never discards an interrupted run's finished
/// units (it used to clear them before even loading the data): it is
/// refused, naming --resume, and the units stay for a --resume that uses
/// them. A --resume with another data folder is refused as another spec
/// (the resolved spec records the folder `--data` gave).
#[test]
fn an_interrupted_runs_units_are_kept_until_resumed() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("a");
    let out_s = out.to_str().unwrap();
    let shard = ["run", SPEC, "--quick", "--shard", "0/2", "--out", out_s];
    assert!(overfit(&shard).status.success());
    let unit_files = |dir: &Path| {
        walk(&dir.join(".units"))
            .into_iter()
            .filter(|p| p.parent() != Some(&dir.join(".units")))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .count()
    };
    let done = unit_files(&out);
    assert!(done > 0);
    let fresh = overfit(&["run", SPEC, "--quick", "--out", out_s]);
    let err = common::one_line_refusal(&fresh, "");
    assert!(err.contains("--resume") && err.contains(".units"), "{err}");
    // A finished shard is named as one, not as an interrupted run.
    assert!(
        err.contains("finished shard") && err.contains("overfit merge"),
        "{err}"
    );
    assert_eq!(unit_files(&out), done, "the refused run touched the units");
    // A merge into a directory holding such units (here a copy of this
    // one, without its shard manifest: an interrupted run's) is refused
    // too: it would clear them.
    let (other, copy) = (tmp.path().join("b"), tmp.path().join("c"));
    let shard1 = [
        "run",
        SPEC,
        "--quick",
        "--shard",
        "1/2",
        "--out",
        other.to_str().unwrap(),
    ];
    assert!(overfit(&shard1).status.success());
    assert!(Command::new("cp")
        .args(["-r", out_s, copy.to_str().unwrap()])
        .status()
        .unwrap()
        .success());
    std::fs::remove_file(copy.join(".units/shard.json")).unwrap();
    let merge = overfit(&[
        "merge",
        out_s,
        other.to_str().unwrap(),
        "--out",
        copy.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&merge.stderr);
    assert_eq!(merge.status.code(), Some(2), "{err}");
    assert!(
        err.contains("interrupted run") && err.contains(".units"),
        "{err}"
    );
    assert_eq!(
        unit_files(&copy),
        done,
        "the refused merge touched the units"
    );
    // Resuming with other runs is refused, pointing at the units to delete.
    let o = overfit(&[
        "run", SPEC, "--quick", "--seeds", "1", "--resume", "--out", out_s,
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("delete") && err.contains(".units"), "{err}");
    // Units of another build and machine: the resume says so and
    // summary.json names them.
    std::fs::write(out.join(".units/binaries"), "0000000000 (another build)\n").unwrap();
    let haswell = "OpenBLAS-0.3.21 core Haswell, kernels avx2, device cpu";
    std::fs::write(out.join(".units/machines"), format!("{haswell}\n")).unwrap();
    let resumed = overfit(&["run", SPEC, "--quick", "--resume", "--out", out_s]);
    let err = String::from_utf8_lossy(&resumed.stderr);
    assert!(resumed.status.success(), "{err}");
    assert!(
        err.contains("mixes builds") && err.contains("another build"),
        "{err}"
    );
    assert!(
        err.contains("mixes machines") && err.contains(haswell),
        "{err}"
    );
    let builds = summary_json(&out)["provenance"]["unit_binaries"].clone();
    assert_eq!(builds[0], "0000000000 (another build)", "{builds}");
    assert_eq!(builds.as_array().map(Vec::len), Some(2), "{builds}");
    let machines = summary_json(&out)["provenance"]["unit_machines"].clone();
    assert_eq!(machines[0], haswell, "{machines}");
    assert_eq!(machines.as_array().map(Vec::len), Some(2), "{machines}");

    let Some(data) =
        common::cifar_data("an_interrupted_runs_units_are_kept_until_resumed (its --data half)")
    else {
        return;
    };
    // The same folder under two names: a copy would do as well.
    let other = tmp.path().join("other-name");
    std::os::unix::fs::symlink(&data, &other).unwrap();
    let cnn = "experiments/randomization.toml";
    let out = tmp.path().join("cnn");
    let run = |data: &Path, extra: &[&str]| {
        let mut a = vec!["run", cnn, "--quick", "--threads", "1"];
        a.extend([
            "--data",
            data.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        a.extend(extra);
        overfit(&a)
    };
    assert!(run(&data, &["--shard", "0/2"]).status.success());
    let spec = std::fs::read_to_string(out.join(".units/spec.toml")).unwrap();
    assert!(
        spec.contains(&format!("dir = \"{}\"", data.display())),
        "{spec}"
    );
    let o = run(&other, &["--resume"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("different spec"), "{err}");
    let o = run(&data, &["--resume"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Every file below `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|e| {
            let p = e.path();
            if p.is_dir() {
                walk(&p)
            } else {
                vec![p]
            }
        })
        .collect()
}

/// A stand-in for a finished full run in `root`/results/xor_grokking.
fn full_run_in(root: &Path) -> std::path::PathBuf {
    let full = root.join("results/xor_grokking");
    std::fs::create_dir_all(&full).unwrap();
    std::fs::write(full.join("metrics.csv"), "the full run\n").unwrap();
    full
}

/// The stand-in full run as `full_run_in` wrote it, nothing added.
fn assert_full_run_untouched(full: &Path) {
    assert_eq!(
        std::fs::read_to_string(full.join("metrics.csv")).unwrap(),
        "the full run\n"
    );
    assert_eq!(
        std::fs::read_dir(full).unwrap().count(),
        1,
        "files added to the full run"
    );
}

/// Without --out a --quick run writes results/<name>-quick, and a finished
/// full run in results/<name> survives it (it used to be replaced).
#[test]
fn a_quick_run_leaves_the_full_run_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join(SPEC);
    let full = full_run_in(tmp.path());
    let o = overfit_in(tmp.path(), &["run", spec.to_str().unwrap(), "--quick"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("results/xor_grokking-quick"));
    assert!(tmp
        .path()
        .join("results/xor_grokking-quick/metrics.csv")
        .is_file());
    assert_full_run_untouched(&full);
}

/// A quick replicate's resolved spec.toml, run again without options, goes
/// to the replicate's own directory, labelled quick with its seed, as the
/// first run was: it used to go to results/<name> as a full run and replace
/// the finished full run there. Run from inside that directory it is
/// refused (it would overwrite itself), and nothing is replaced.
#[test]
fn a_quick_replicates_resolved_spec_runs_again_where_it_ran() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join(SPEC);
    let full = full_run_in(tmp.path());
    let run_in_tmp = |args: &[&str]| overfit_in(tmp.path(), args);
    let first = run_in_tmp(&["run", spec.to_str().unwrap(), "--quick", "--seed", "77"]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let replicate = tmp.path().join("results/xor_grokking-seed77-quick");
    let metrics = std::fs::read(metrics_file(&replicate)).unwrap();

    let o = run_in_tmp(&["run", "results/xor_grokking-seed77-quick/spec.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("would overwrite this input spec"));

    std::fs::copy(replicate.join("spec.toml"), tmp.path().join("again.toml")).unwrap();
    let o = run_in_tmp(&["run", "again.toml"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("wrote results/xor_grokking-seed77-quick"),
        "{stdout}"
    );
    let summary = summary_json(&replicate);
    assert_eq!(summary["quick"], true);
    assert_eq!(summary["seed"], 77);
    assert_eq!(std::fs::read(metrics_file(&replicate)).unwrap(), metrics);
    let resolved = std::fs::read_to_string(replicate.join("spec.toml")).unwrap();
    assert!(resolved.starts_with("# resolved spec (--quick, --seed 77 applied) from again.toml"));
    assert_full_run_untouched(&full);
}

/// A second run on a directory in use exits 2 naming the holder's PID; the
/// lock goes with the run; a stale lock (its process gone, or its PID now
/// another process's) is taken over with a warning.
#[test]
fn a_locked_out_dir_is_refused_and_a_stale_lock_taken_over() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = out.to_str().unwrap().to_string();
    let args: Vec<String> = ["run", SPEC, "--quick", "--seeds", "120", "--out", &o]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut first = spawn_args(&args);
    let lock = out.join(".lock");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !lock.exists() {
        assert!(Instant::now() < deadline, "no lock appeared");
        std::thread::sleep(Duration::from_millis(2));
    }
    let second = overfit(&args);
    let still_running = first.try_wait().unwrap().is_none();
    let err = String::from_utf8_lossy(&second.stderr);
    if still_running {
        assert_eq!(second.status.code(), Some(2), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        let pid = first.id().to_string();
        assert!(
            err.contains(&pid) && err.contains(".lock"),
            "{err:?} does not name PID {pid}"
        );
    }
    assert!(first.wait().unwrap().success());
    assert!(
        still_running,
        "the first run ended before the second started"
    );
    assert!(!lock.exists(), "the lock outlived its run");
    assert!(metrics_file(&out).is_file());

    // Stale: a finished process's PID, and a live PID with another start time.
    let mut gone = Command::new("true").spawn().unwrap();
    gone.wait().unwrap();
    for text in [
        format!("{} 1\n", gone.id()),
        format!("{} 1\n", std::process::id()),
    ] {
        std::fs::write(&lock, &text).unwrap();
        let quick = overfit(&["run", SPEC, "--quick", "--out", &o]);
        let err = String::from_utf8_lossy(&quick.stderr);
        assert!(quick.status.success(), "lock {text:?}: {err}");
        assert!(err.contains("stale lock"), "{err}");
        assert!(!lock.exists());
    }
}

#[test]
fn shard_arguments_are_checked() {
    for bad in ["3/3", "1/0", "x/2", "12"] {
        let o = overfit(&[
            "run",
            SPEC,
            "--quick",
            "--shard",
            bad,
            "--out",
            "/tmp/never",
        ]);
        assert_eq!(o.status.code(), Some(2), "--shard {bad}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("--shard"));
    }
    for shard in ["slurm", "slurm/3"] {
        let o = Command::new(env!("CARGO_BIN_EXE_overfit"))
            .args([
                "run",
                SPEC,
                "--quick",
                "--shard",
                shard,
                "--out",
                "/tmp/never",
            ])
            .env_remove("SLURM_ARRAY_TASK_ID")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "--shard {shard}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("SLURM_ARRAY_TASK_ID"));
    }
}

/// Run with SLURM's array variables set as `sbatch --array=...` sets them
/// (the values seen from a real slurmctld, tests/slurm/run.sh).
fn overfit_in_array(args: &[&str], id: usize, min: usize, max: usize, count: usize) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_overfit"));
    c.args(args).current_dir(env!("CARGO_MANIFEST_DIR"));
    for (k, v) in [
        ("SLURM_ARRAY_TASK_ID", id),
        ("SLURM_ARRAY_TASK_MIN", min),
        ("SLURM_ARRAY_TASK_MAX", max),
        ("SLURM_ARRAY_TASK_COUNT", count),
    ] {
        c.env(k, v.to_string());
    }
    c.output().expect("binary runs")
}

/// `sbatch --array=2` (index 2 resubmitted alone) sets COUNT = 1: a bare
/// `--shard slurm` is refused there, `--shard slurm/3` runs shard 2/3, and it
/// merges with shards 0 and 1 of the first submission (here an array 0-2).
#[test]
fn resubmitted_array_index_needs_slurm_slash_n() {
    let tmp = tempfile::tempdir().unwrap();
    let d = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    fn run<'a>(shard: &'a str, out: &'a str) -> Vec<&'a str> {
        vec!["run", SPEC, "--quick", "--shard", shard, "--out", out]
    }
    for i in 0..2 {
        let (shard, out) = ("slurm", d(&format!("s{i}")));
        let o = overfit_in_array(&run(shard, &out), i, 0, 2, 3);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let s2 = d("s2");
    let o = overfit_in_array(&run("slurm", &s2), 2, 2, 2, 1);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--shard slurm/N"));
    assert!(
        !Path::new(&s2).exists(),
        "a refused shard must write nothing"
    );
    let o = overfit_in_array(&run("slurm/3", &s2), 2, 2, 2, 1);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = overfit(&["merge", &d("s0"), &d("s1"), &s2, "--out", &d("merged")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(overfit(&["run", SPEC, "--quick", "--out", &d("one")])
        .status
        .success());
    assert_same_results(&tmp.path().join("one"), &tmp.path().join("merged"), "merge");
    // An index beyond N is refused (outside an array: shard_arguments_are_checked).
    let o = overfit_in_array(&run("slurm/3", "/tmp/never"), 3, 3, 3, 1);
    assert_eq!(o.status.code(), Some(2));
}
/// A CNN run killed in the middle of one model's training continues from
/// that model's last checkpoint epoch (not from the model's start) and ends
/// byte-identical to an uninterrupted run.
#[test]
fn killed_cnn_training_resumes_from_its_checkpoint_epoch() {
    if common::cifar_data("killed_cnn_training_resumes_from_its_checkpoint_epoch").is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (full, killed) = (tmp.path().join("full"), tmp.path().join("killed"));
    // --quick: 4 epochs per model, a state file every 2 epochs.
    let args = |out: &Path| {
        vec![
            "run".to_string(),
            "experiments/cnn_label_noise_sweep.toml".into(),
            "--quick".into(),
            "--threads".into(),
            "1".into(),
            "--out".into(),
            out.to_str().unwrap().into(),
        ]
    };
    let o = overfit(&args(&full));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let state_files = |dir: &Path| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dir.join(".units"))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().is_dir())
            .flat_map(|e| std::fs::read_dir(e.path()).into_iter().flatten().flatten())
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with(".state.safetensors"))
            .collect()
    };
    let mut child = spawn_args(&args(&killed));
    // Kill as soon as some model has saved a mid-training state.
    let deadline = Instant::now() + Duration::from_secs(300);
    while state_files(&killed).is_empty() {
        assert!(Instant::now() < deadline, "no state file appeared");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before a state file was seen"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let pending = state_files(&killed);
    println!("state files at the kill: {pending:?}");
    let mut resume = args(&killed);
    resume.push("--resume".into());
    let o = overfit(&resume);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    if !pending.is_empty() {
        assert!(
            stderr.contains("resuming after epoch 2"),
            "state files {pending:?} were left but not used: {stderr}"
        );
    }
    // One build on one machine did all the work: a state that landed
    // before any unit once left both unlisted, and the resume called them
    // unknown (a mixed result).
    assert!(!stderr.contains("the result mixes"), "{stderr}");
    let provenance = &summary_json(&killed)["provenance"];
    assert!(provenance.get("unit_machines").is_none(), "{provenance}");
    assert!(provenance.get("unit_binaries").is_none(), "{provenance}");
    assert_same_results(&full, &killed, "killed in the middle of a model's training");
    assert!(
        state_files(&killed).is_empty(),
        "state files outlive the run"
    );
}

/// The files of a run directory, less hidden entries (lock, units) and the
/// timing fields of summary.json: what a reader of the result sees.
fn visible_result(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = walk(dir)
        .into_iter()
        .map(|p| p.strip_prefix(dir).unwrap().to_string_lossy().to_string())
        .filter(|rel| !rel.split('/').any(|part| part.starts_with('.')))
        .map(|rel| {
            let bytes = if rel == "summary.json" {
                summary_less_timing(dir).to_string().into_bytes()
            } else {
                std::fs::read(dir.join(&rel)).unwrap()
            };
            (rel, bytes)
        })
        .collect();
    files.sort();
    files
}

/// The output is one transaction: a run killed at any moment (here at 12
/// points spread over its whole duration, writing phase included) leaves
/// its directory wholly the earlier result or wholly the new one, never a
/// new metrics.csv beside an old summary.json.
#[test]
fn a_run_killed_while_writing_leaves_the_old_or_the_new_result_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let d = |name: &str| tmp.path().join(name).to_str().unwrap().to_string();
    let args = |seeds: &str, out: &str| -> Vec<String> {
        ["run", SPEC, "--quick", "--seeds", seeds, "--out", out]
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    let o = overfit(&args("2", &d("old")));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let start = Instant::now();
    let o = overfit(&args("3", &d("new")));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let duration = start.elapsed().as_secs_f64();
    let (old, new) = (
        visible_result(Path::new(&d("old"))),
        visible_result(Path::new(&d("new"))),
    );
    assert_ne!(old, new);
    let points = 12;
    let mut outcomes = (0, 0);
    for k in 0..points {
        let dir = d("run");
        let _ = std::fs::remove_dir_all(&dir);
        let status = Command::new("cp")
            .args(["-r", &d("old"), &dir])
            .status()
            .unwrap();
        assert!(status.success());
        let mut child = spawn_args(&args("3", &dir));
        let at = duration * 1.1 * (k as f64 + 0.5) / points as f64;
        std::thread::sleep(Duration::from_secs_f64(at));
        let _ = child.kill(); // SIGKILL (or it has already finished)
        child.wait().unwrap();
        let now = visible_result(Path::new(&dir));
        if now == old {
            outcomes.0 += 1;
        } else if now == new {
            outcomes.1 += 1;
        } else {
            let names: Vec<_> = now.iter().map(|(n, _)| n.as_str()).collect();
            panic!("killed at {at:.2} s of {duration:.2} s: neither the old result nor the new one ({names:?})");
        }
    }
    println!(
        "{points} kills: {} left the old result, {} the new one",
        outcomes.0, outcomes.1
    );
}

/// The first unit file under DIR/.units (a sweep's unit 0).
fn first_unit(dir: &Path) -> std::path::PathBuf {
    let mut units: Vec<_> = walk(&dir.join(".units"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && !p.ends_with("spec.toml"))
        .collect();
    units.sort();
    units.into_iter().next().expect("a unit")
}

/// A damaged unit is a lost result, not a fatal error: `--resume` warns and
/// computes it again (to the uninterrupted result); `merge` refuses it,
/// naming the file in the shard it came from, not its copy in --out.
#[test]
fn a_corrupt_unit_is_recomputed_on_resume_and_named_at_its_source_by_merge() {
    let tmp = tempfile::tempdir().unwrap();
    let d = |name: &str| tmp.path().join(name).to_str().unwrap().to_string();
    let run = |out: &str, extra: &[&str]| {
        let mut args = vec!["run", SPEC, "--quick", "--out", out];
        args.extend_from_slice(extra);
        overfit(&args)
    };
    let o = run(&d("full"), &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&d("part"), &["--shard", "0/2"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let unit = first_unit(Path::new(&d("part")));
    std::fs::write(&unit, "result = [1, 2").unwrap();
    let o = run(&d("part"), &["--resume"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("warning") && err.contains("corrupt unit"),
        "{err}"
    );
    assert_same_results(
        Path::new(&d("full")),
        Path::new(&d("part")),
        "a corrupt unit recomputed",
    );

    for i in 0..2 {
        let o = run(&d(&format!("s{i}")), &["--shard", &format!("{i}/2")]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let unit = first_unit(Path::new(&d("s1")));
    std::fs::write(&unit, "not = [toml").unwrap();
    let o = overfit(&["merge", &d("s0"), &d("s1"), "--out", &d("merged")]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(unit.to_str().unwrap()),
        "names {}: {err}",
        unit.display()
    );

    // A unit that reads as a unit but not as the study's result (kept from
    // a build whose study returned another) is refused in one line naming
    // the unit and how to compute it again.
    std::fs::write(&unit, "[result]\nbogus = 1\n").unwrap();
    let o = overfit(&["merge", &d("s0"), &d("s1"), "--out", &d("merged2")]);
    let err = common::one_line_refusal(&o, "a unit of another shape: ");
    assert!(
        err.contains("is not what this build's study returns")
            && err.contains(unit.file_name().unwrap().to_str().unwrap())
            && err.contains("in its shard"),
        "{err}"
    );
}

/// The CNN sweep in its --quick form (4 epochs per model, checkpoints on),
/// reading the shared CIFAR subset, into `out` with these extra arguments.
fn cnn_quick(data: &Path, out: &Path, extra: &[&str]) -> Output {
    quick_on_data("experiments/cnn_label_noise_sweep.toml", data, out, extra)
}

/// `spec` in its --quick form reading the CIFAR files in `data`, into
/// `out`, with these extra arguments.
fn quick_on_data(spec: &str, data: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "run",
        spec,
        "--quick",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    overfit(&args)
}

/// `overfit merge` of shards `s0` and `s1` into `out`.
fn merge_two(s0: &Path, s1: &Path, out: &Path) -> Output {
    let path = |p: &Path| p.to_str().unwrap().to_string();
    overfit(&["merge", &path(s0), &path(s1), "--out", &path(out)])
}

/// Replace the first `from` in the file at `path` with `to` (asserting
/// that it is there).
fn replace_in(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{}: {text}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// Every file of DIR/checkpoints, by name, with its bytes.
fn checkpoints(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let root = dir.join("checkpoints");
    let mut files: Vec<_> = walk(&root)
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&root).unwrap().to_string_lossy().to_string();
            (rel, std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// A merge of CNN shards carries their checkpoints: the merged
/// checkpoints/ is byte-identical to a single-process run's (merge used to
/// copy only the units and drop every checkpoint, exit 0). A file that two
/// shards both give with other bytes is refused, naming it.
#[test]
fn merged_cnn_shards_keep_the_checkpoints() {
    let Some(data) = common::cifar_data("merged_cnn_shards_keep_the_checkpoints") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let d = |n: &str| tmp.path().join(n);
    let o = cnn_quick(&data, &d("one"), &["--threads", "2"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let single = checkpoints(&d("one"));
    assert!(single.len() >= 12, "{} checkpoints", single.len());
    for i in 0..2 {
        let shard = format!("{i}/2");
        let o = cnn_quick(
            &data,
            &d(&format!("s{i}")),
            &["--threads", "1", "--shard", &shard],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let merge = |out: &str| merge_two(&d("s0"), &d("s1"), &d(out));
    let o = merge("merged");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let merged = checkpoints(&d("merged"));
    let names = |files: &[(String, Vec<u8>)]| files.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&merged), names(&single));
    assert!(merged == single, "checkpoint bytes differ");
    assert_same_results(&d("one"), &d("merged"), "merged CNN shards");
    // The merged spec.toml is the single run's, header included (it used
    // to name the merge's copy in .units/ and drop "--quick, --data").
    assert_eq!(
        String::from_utf8(std::fs::read(d("merged/spec.toml")).unwrap()).unwrap(),
        String::from_utf8(std::fs::read(d("one/spec.toml")).unwrap()).unwrap()
    );

    // Shard 1 gives one of shard 0's checkpoints too: with the same bytes it
    // is the same output; with other bytes the merge is refused.
    let s0 = d("s0/.units/outputs/checkpoints");
    let (name, bytes) = {
        let p = walk(&s0).into_iter().min().unwrap();
        (
            p.file_name().unwrap().to_owned(),
            std::fs::read(&p).unwrap(),
        )
    };
    let twin = d("s1/.units/outputs/checkpoints").join(&name);
    std::fs::write(&twin, &bytes).unwrap();
    let o = merge("same");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(checkpoints(&d("same")) == single);
    let mut other = bytes.clone();
    *other.last_mut().unwrap() ^= 1;
    std::fs::write(&twin, &other).unwrap();
    let o = merge("clash");
    let err = common::one_line_refusal(&o, "");
    assert!(err.contains(&name.to_string_lossy().to_string()), "{err}");
    assert!(!d("clash/summary.json").exists());
}

/// A run that fails after writing its result and before committing it
/// (`OVERFIT_FAIL_BEFORE_COMMIT`, standing in for a full disk or a kill
/// there) keeps its checkpoints in the unit store: `--resume` then
/// finishes with all of them, byte-identical to an uninterrupted run's (the
/// checkpoints used to be moved into the staging folder and lost with it,
/// and the resumed run, its units all kept, finished without them).
#[test]
fn a_failure_before_the_commit_keeps_the_checkpoints_for_resume() {
    let Some(data) =
        common::cifar_data("a_failure_before_the_commit_keeps_the_checkpoints_for_resume")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let d = |n: &str| tmp.path().join(n);
    let o = cnn_quick(&data, &d("one"), &["--threads", "2"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let single = checkpoints(&d("one"));
    assert!(!single.is_empty());
    let failed = Command::new(env!("CARGO_BIN_EXE_overfit"))
        .args([
            "run",
            "experiments/cnn_label_noise_sweep.toml",
            "--quick",
            "--data",
            data.to_str().unwrap(),
            "--threads",
            "2",
            "--out",
            d("run").to_str().unwrap(),
        ])
        .env(overfit::runner::FAIL_BEFORE_COMMIT_ENV, "1")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(failed.status.code(), Some(2), "{err}");
    assert!(
        err.contains(overfit::runner::FAIL_BEFORE_COMMIT_ENV),
        "{err}"
    );
    assert!(!d("run/summary.json").exists());
    let o = cnn_quick(&data, &d("run"), &["--threads", "2", "--resume"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(units(&d("run")).1, 0, "the resume recomputed units");
    assert!(checkpoints(&d("run")) == single, "checkpoints lost");
    assert_same_results(&d("one"), &d("run"), "resumed after a failed commit");
}

/// A spec name that labels a sweep in the same unit-store folder as the
/// study's fixed sweep (label_noise_phase's `logistic_gd`), or as the
/// store's own `outputs`, is refused with exit 2 naming the key `name`. It
/// used to run in one process, while its shards merged to `missing field
/// runs` (one sweep's units read as the other's), and `outputs` put unit
/// files into the result.
#[test]
fn a_spec_name_that_shares_a_sweep_folder_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/label_noise_phase.toml"),
    )
    .unwrap();
    for name in ["logistic_gd", "outputs", "binaries"] {
        let spec = tmp.path().join(format!("{name}.toml"));
        let renamed: Vec<String> = text
            .lines()
            .map(|l| {
                if l.starts_with("name = ") {
                    format!("name = \"{name}\"")
                } else {
                    l.to_string()
                }
            })
            .collect();
        std::fs::write(&spec, renamed.join("\n")).unwrap();
        let out = tmp.path().join(format!("out-{name}"));
        let o = overfit(&[
            "run",
            spec.to_str().unwrap(),
            "--quick",
            "--out",
            out.to_str().unwrap(),
        ]);
        let err = common::one_line_refusal(&o, &format!("name = {name}: "));
        assert!(
            err.contains(spec.to_str().unwrap())
                && err.contains("key `name`")
                && err.contains(name),
            "{err}"
        );
        assert!(!out.join("summary.json").exists());
    }
}

/// Shards trained on GPU nodes merge on a node without a GPU (a cluster's
/// login node), and the merged summary names the device the shards ran:
/// the merge trains nothing, so it opens no device (it used to open the
/// spec's `cuda` and exit 2). The GPU shards are CPU shards whose resolved
/// spec and recorded machine say `cuda`, as a GPU run writes them.
#[test]
fn gpu_shards_merge_where_there_is_no_gpu() {
    let Some(data) = common::cifar_data("gpu_shards_merge_where_there_is_no_gpu") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let d = |n: &str| tmp.path().join(n);
    let units = |i: usize, file: &str| d(&format!("s{i}/.units/{file}"));
    for i in 0..2 {
        let shard = format!("{i}/2");
        let o = quick_on_data(
            "experiments/randomization.toml",
            &data,
            &d(&format!("s{i}")),
            &["--shard", &shard],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        // First where a hand would put it, which is not where the binary
        // writes it: the resolved spec's keys are sorted.
        replace_in(
            &units(i, "spec.toml"),
            "\n[train]\n",
            "\n[train]\ndevice = \"cuda\"\n",
        );
        replace_in(
            &units(i, "machines"),
            ", device cpu",
            ", device cuda (Fake GPU 80GB)",
        );
    }
    // Shards whose spec.toml does not resolve to itself again are refused
    // as edited, in merge's words (it used to say "--resume: ...").
    let o = merge_two(&d("s0"), &d("s1"), &d("edited"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    // After the warning that the units came from another machine.
    let last = err.trim_end().lines().last().unwrap();
    assert!(
        last.starts_with("error: merge: ") && last.contains("edited"),
        "{err}"
    );
    // Now where the binary writes it, after `checkpoint_every`.
    for i in 0..2 {
        let spec = units(i, "spec.toml");
        replace_in(&spec, "\n[train]\ndevice = \"cuda\"\n", "\n[train]\n");
        replace_in(
            &spec,
            "\ncheckpoint_every = 0\n",
            "\ncheckpoint_every = 0\ndevice = \"cuda\"\n",
        );
    }
    let merged = d("merged");
    let o = merge_two(&d("s0"), &d("s1"), &merged);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary = summary_json(&merged);
    assert_eq!(
        summary["details"]["device"], "cuda",
        "{}",
        summary["details"]
    );
    assert_eq!(summary["details"]["gpu"], "Fake GPU 80GB");
    assert!(std::fs::read_to_string(merged.join("spec.toml"))
        .unwrap()
        .contains("device = \"cuda\""));
}

/// Units are tied to the data they read, not only to its path: a
/// `--resume` over other files at the same `--data` path, and a merge of
/// shards that read different files, are refused in one line (both used
/// to assemble a result from two datasets, exit 0). The data's identity is
/// in summary.json's provenance.data.
#[test]
fn units_of_other_data_at_the_same_path_are_refused() {
    let Some(data) = common::cifar_data("units_of_other_data_at_the_same_path_are_refused") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let d = |n: &str| tmp.path().join(n);
    let copy = d("cifar");
    std::fs::create_dir(&copy).unwrap();
    for entry in std::fs::read_dir(&data).unwrap().flatten() {
        let to = copy.join(entry.file_name());
        std::fs::write(&to, std::fs::read(entry.path()).unwrap()).unwrap();
    }
    let run = |out: &str, extra: &[&str]| {
        quick_on_data("experiments/randomization.toml", &copy, &d(out), extra)
    };
    let o = run("s0", &["--shard", "0/2"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let recorded = std::fs::read_to_string(d("s0/.units/data")).unwrap();
    assert!(recorded.starts_with("CIFAR "), "{recorded}");

    // The first pixel of the first ten training records, changed in place.
    let batch = copy.join("data_batch_1.bin");
    let mut bytes = std::fs::read(&batch).unwrap();
    for record in 0..10 {
        bytes[record * 3073 + 1] ^= 0x55;
    }
    std::fs::write(&batch, bytes).unwrap();
    let o = run("s1", &["--shard", "1/2"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_ne!(
        std::fs::read_to_string(d("s1/.units/data")).unwrap(),
        recorded
    );

    let o = run("s0", &["--shard", "0/2", "--resume"]);
    let err = common::one_line_refusal(&o, "--resume on other data: ");
    assert!(
        err.contains("--resume") && err.contains("read other data"),
        "{err}"
    );
    let o = merge_two(&d("s0"), &d("s1"), &d("merged"));
    let err = common::one_line_refusal(&o, "merge of other data: ");
    assert!(
        err.contains("read other data") && err.contains(d("s1").to_str().unwrap()),
        "{err}"
    );

    // On the data it read, a shard resumes, and a run records it.
    std::fs::write(
        &batch,
        std::fs::read(data.join("data_batch_1.bin")).unwrap(),
    )
    .unwrap();
    let o = run("s0", &["--shard", "0/2", "--resume"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run("whole", &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        summary_json(&d("whole"))["provenance"]["data"],
        recorded.trim_end()
    );
}
