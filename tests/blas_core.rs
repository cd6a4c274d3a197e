//! The OpenBLAS core the binary runs on: never a generic fallback on a CPU
//! with AVX2, a weak core inherited from the environment upgraded only on
//! request, and the choice named in every bench line.

mod common;

use std::process::Command;

use overfit::blas::{core_level, cpu_level, SimdLevel};

/// `overfit bench two-layer` on a tiny problem under `env`; its line's
/// `blas_core` and `blas_core_choice`.
fn bench_core(env: &[(&str, &str)]) -> (String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_overfit"));
    cmd.args([
        "bench",
        "two-layer",
        "--p",
        "20",
        "--n",
        "6",
        "--m",
        "4",
        "--steps",
        "1",
    ]);
    for var in [
        "OPENBLAS_CORETYPE",
        "OVERFIT_BLAS_CORE",
        "OVERFIT_BLAS_SWITCH",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    let out = cmd.output().expect("binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8_lossy(&out.stdout).to_string();
    let field = |key: &str| {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key}= in {line}"))
            .to_string()
    };
    assert_eq!(field("blas_threads"), "1", "{line}");
    assert!(line.contains(" cpu="), "{line}");
    (field("blas_core"), field("blas_core_choice"))
}

#[test]
fn the_core_in_use_is_not_a_generic_fallback_on_an_avx2_cpu() {
    if let Ok(set) = std::env::var("OPENBLAS_CORETYPE") {
        // Tests leave the environment's choice alone; the next test covers it.
        common::skip(
            "the_core_in_use_is_not_a_generic_fallback_on_an_avx2_cpu",
            &format!("OPENBLAS_CORETYPE={set} is set here and kept"),
        );
        return;
    }
    let (core, choice) = bench_core(&[]);
    let cpu = cpu_level();
    eprintln!("CPU {cpu:?}, OpenBLAS core {core} ({choice})");
    if cpu >= SimdLevel::Avx2 {
        assert!(
            core_level(&core) >= SimdLevel::Avx2,
            "AVX2 CPU on the {core} core ({choice})"
        );
    }
}

#[test]
fn a_weak_core_from_the_environment_is_kept_unless_upgrade_is_asked() {
    let weak = [("OPENBLAS_CORETYPE", "Prescott")];
    let (core, choice) = bench_core(&weak);
    assert_eq!(core, "Prescott");
    assert_eq!(choice, "user:OPENBLAS_CORETYPE=Prescott");
    let (core, choice) = bench_core(&[weak[0], ("OVERFIT_BLAS_CORE", "upgrade")]);
    if cpu_level() >= SimdLevel::Avx {
        assert!(core_level(&core) > SimdLevel::Sse, "upgraded to {core}");
        assert!(choice.starts_with("switched:Prescott->"), "{choice}");
    }
    // Opting out keeps it, and the guard stops a second re-exec.
    let (core, _) = bench_core(&[weak[0], ("OVERFIT_BLAS_CORE", "keep")]);
    assert_eq!(core, "Prescott");
    let guard = [
        weak[0],
        ("OVERFIT_BLAS_CORE", "upgrade"),
        ("OVERFIT_BLAS_SWITCH", "X->Y"),
    ];
    let (core, choice) = bench_core(&guard);
    assert_eq!(
        (core.as_str(), choice.as_str()),
        ("Prescott", "switched:X->Y")
    );
}
