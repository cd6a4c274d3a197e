//! The spec's checks that its types cannot express (exit 2, naming the key).

use super::{theorem_sweep, MapSpec, XorSpec};
use crate::data::xor_cluster::Representation;
use crate::error::Result;
use crate::spec::{open_unit, positive, LoadedSpec};
use crate::studies::toolkit::check_unique;

/// Validation of everything the types cannot express; returns the resolved spec text.
pub fn validate(spec: &LoadedSpec) -> Result<String> {
    let s: XorSpec = spec.study_section()?;
    let bad = |k: &str, m: &str| Err(spec.bad_value(k, m));
    let d = &s.data;
    if d.n == 0 {
        return bad("data.n", "must be >= 1");
    }
    if d.n_test == 0 {
        return bad("data.n_test", "must be >= 1");
    }
    if d.p < 2 {
        return bad("data.p", "must be >= 2 (mu1 and mu2 are orthogonal)");
    }
    if !(0.0..0.5).contains(&d.eta) {
        return bad("data.eta", &format!("{} is outside [0, 0.5)", d.eta));
    }
    if !positive(d.mu_norm_sq) {
        return bad("data.mu_norm_sq", "must be a positive number");
    }
    const MAX_SIZE: usize = 10_000_000;
    for (key, v) in [
        ("data.n", d.n),
        ("data.n_test", d.n_test),
        ("model.m", s.model.m),
    ] {
        if v > MAX_SIZE {
            return bad(key, &format!("{v} is above the supported {MAX_SIZE}"));
        }
    }
    if d.representation == Representation::Span && d.p < (d.n + d.n_test + 2) as u64 {
        return bad("data.representation", "\"span\" needs p >= n + n_test + 2");
    }
    if s.model.m == 0 {
        return bad("model.m", "must be >= 1");
    }
    if !(s.model.omega_init >= 0.0 && s.model.omega_init.is_finite()) {
        return bad("model.omega_init", "must be finite and >= 0");
    }
    claim_thresholds(spec, &s)?;
    if s.panels.is_empty() && s.grokking_map.is_none() && s.theorem_sweep.is_none() {
        return bad(
            "panels",
            "at least one [[panels]] entry (or a [grokking_map] or [theorem_sweep]) is needed",
        );
    }
    if d.balanced && !d.n.is_multiple_of(4) {
        return bad(
            "data.balanced",
            &format!("needs n divisible by 4 (n = {})", d.n),
        );
    }
    for (i, p) in s.panels.iter().enumerate() {
        if !positive(p.alpha) {
            return bad(&format!("panels[{i}].alpha"), "must be positive");
        }
        if p.runs == 0 || p.steps == 0 {
            return bad(&format!("panels[{i}]"), "runs and steps must be >= 1");
        }
        if !p.omega_init.is_none_or(positive) {
            return bad(&format!("panels[{i}].omega_init"), "must be positive");
        }
        for (k, r) in p.reference.iter().enumerate() {
            if r.split != "train" && r.split != "test" {
                return bad(
                    &format!("panels[{i}].reference[{k}].split"),
                    "must be \"train\" or \"test\"",
                );
            }
            if r.step > p.steps {
                return bad(
                    &format!("panels[{i}].reference[{k}].step"),
                    "is past the panel's steps",
                );
            }
            if !r.readoff.is_none_or(|v| v >= 0.0) {
                return bad(
                    &format!("panels[{i}].reference[{k}].readoff"),
                    "must be >= 0",
                );
            }
        }
    }
    let ids: Vec<&str> = s.panels.iter().map(|p| p.id.as_str()).collect();
    check_unique(spec, "panels[{}].id", &ids)?;
    // After the uniqueness check, so a duplicated id is named as such.
    for (i, p) in s.panels.iter().enumerate() {
        let Some(id) = &p.reference_from else {
            continue;
        };
        if !s
            .panels
            .iter()
            .any(|q| &q.id == id && q.reference_from.is_none())
        {
            return bad(
                &format!("panels[{i}].reference_from"),
                &format!("no panel {id:?} with its own reference points"),
            );
        }
    }
    if let Some(id) = &s.figures.panel {
        if !s.panels.iter().any(|p| &p.id == id) {
            return bad("figures.panel", &format!("no panel named {id:?}"));
        }
    }
    if let Some(map) = &s.grokking_map {
        validate_map(spec, map)?;
    }
    if let Some(sweep) = &s.theorem_sweep {
        theorem_sweep::validate(spec, &s, sweep)?;
    }
    Ok(spec.resolved_toml(&s))
}

/// The grokking map's grid, threshold and claim tolerances.
fn validate_map(spec: &LoadedSpec, map: &MapSpec) -> Result<()> {
    let bad = |k: &str, m: &str| Err(spec.bad_value(k, m));
    if map.alphas.is_empty() || map.omegas.is_empty() || map.runs == 0 {
        return bad("grokking_map", "needs alphas, omegas and runs >= 1");
    }
    // A step size or an init scale <= 0 has no omega/alpha diagonal (and a
    // negative step size is gradient ascent); a repeated value would give
    // two cells the same run ids.
    for (key, values) in [
        ("grokking_map.alphas[{}]", &map.alphas),
        ("grokking_map.omegas[{}]", &map.omegas),
    ] {
        if let Some(i) = values.iter().position(|&v| !positive(v)) {
            let key = key.replace("{}", &i.to_string());
            return bad(&key, &format!("{} must be a positive number", values[i]));
        }
        check_unique(spec, key, values)?;
    }
    if map.max_steps == 0 {
        return bad("grokking_map.max_steps", "must be >= 1");
    }
    // Grokking is clean test accuracy rising above chance (0.5 on two
    // classes); a threshold at or below chance is reached at step 0.
    if !(map.threshold > 0.5 && map.threshold <= 1.0) {
        return bad(
            "grokking_map.threshold",
            &format!(
                "{} is outside (0.5, 1]: chance accuracy would reach it",
                map.threshold
            ),
        );
    }
    for (key, v) in [
        ("grokking_map.diagonal_spread", map.diagonal_spread),
        ("grokking_map.slope_tolerance", map.slope_tolerance),
    ] {
        if !positive(v) {
            return bad(key, "must be a positive number");
        }
    }
    if !(map.fit_above_fastest >= 1.0 && map.fit_above_fastest.is_finite()) {
        return bad("grokking_map.fit_above_fastest", "must be >= 1");
    }
    Ok(())
}

/// The claims' thresholds and tolerances: out of range, a claim would hold
/// (or fail) whatever was measured.
fn claim_thresholds(spec: &LoadedSpec, s: &XorSpec) -> Result<()> {
    let bad = |k: &str, m: &str| Err(spec.bad_value(k, m));
    let t = &s.theory;
    for (key, v) in [
        ("theory.fit_fraction", t.fit_fraction),
        ("theory.late_accuracy", t.late_accuracy),
    ] {
        if !(v > 0.0 && v <= 1.0) {
            return bad(
                key,
                &format!("{v} is outside (0, 1]: the claim could not fail"),
            );
        }
    }
    for (key, v) in [
        ("theory.max_output", t.max_output),
        ("theory.loss_gap", t.loss_gap),
        ("theory.c", t.c),
        ("figures.readoff_tolerance", s.figures.readoff_tolerance),
    ] {
        if v.is_nan() || v < 0.0 {
            return bad(key, &format!("{v} must be >= 0"));
        }
    }
    for (key, v) in [
        ("theory.finite_width_deficit", t.finite_width_deficit),
        ("theory.standard_errors", t.standard_errors),
    ] {
        if !(v >= 0.0 && v.is_finite()) {
            return bad(key, &format!("{v} must be a finite number >= 0"));
        }
    }
    if !positive(t.chance_exponent) {
        return bad(
            "theory.chance_exponent",
            "must be a positive number (at 0 the tolerance is 1/2: the claim could not fail)",
        );
    }
    if !open_unit(t.bootstrap_coverage) {
        return bad("theory.bootstrap_coverage", "must lie in (0, 1)");
    }
    if !(0.0..1.0).contains(&t.bootstrap_max_failed) {
        return bad("theory.bootstrap_max_failed", "must lie in [0, 1)");
    }
    if t.bootstrap_resamples < 20 {
        return bad(
            "theory.bootstrap_resamples",
            "must be >= 20 (the interval's ends are quantiles of the resamples)",
        );
    }
    Ok(())
}
