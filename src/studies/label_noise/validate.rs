//! The label-noise spec's checks beyond what its types express.

use super::{p_of, LabelNoiseSpec};
use crate::data::gaussian_mixture::NoiseSpectrum;
use crate::error::Result;
use crate::spec::{open_unit, positive, LoadedSpec};
use crate::studies::toolkit;

pub(super) fn position(values: &[f64], x: f64) -> Option<usize> {
    values
        .iter()
        .position(|&v| (v - x).abs() <= 1e-12 * x.abs().max(1.0))
}

/// Validation of everything the types cannot express; returns the resolved spec text.
pub fn validate(spec: &LoadedSpec) -> Result<String> {
    let s: LabelNoiseSpec = spec.study_section()?;
    let bad = |k: &str, m: String| Err(spec.bad_value(k, m));
    let d = &s.data;
    if d.n.len() < 2 || d.n.windows(2).any(|w| w[0] >= w[1]) || d.n[0] < 4 {
        return bad(
            "data.n",
            "needs at least two increasing sizes, each >= 4".into(),
        );
    }
    if *d.n.last().unwrap() > 4000 {
        return bad(
            "data.n",
            "sizes above 4000 need an n x n Gram matrix per run that does not fit the time budget"
                .into(),
        );
    }
    if d.p_over_n.is_empty() || d.p_over_n.windows(2).any(|w| w[0] >= w[1]) {
        return bad("data.p_over_n", "needs increasing ratios".into());
    }
    for &r in &d.p_over_n {
        if !positive(r) {
            return bad("data.p_over_n", format!("{r} is not a positive number"));
        }
        for &n in &d.n {
            let p = p_of(r, n);
            if p + 2 >= n && p <= n + 2 {
                return bad(
                    "data.p_over_n",
                    format!("ratio {r} gives p = {p} within 2 of n = {n} (the interpolation peak, where X X^T or X^T X is near singular); move it away from 1"),
                );
            }
            if p > 5_000_000 && d.noise != NoiseSpectrum::Isotropic {
                return bad(
                    "data.noise",
                    format!("p = {p}: anisotropic noise needs explicit vectors that do not fit in memory"),
                );
            }
        }
    }
    if d.eta.is_empty() || d.eta.iter().any(|e| !(0.0..0.5).contains(e)) {
        return bad("data.eta", "needs rates in [0, 0.5)".into());
    }
    toolkit::check_unique(spec, "data.eta[{}]", &d.eta)?;
    if d.seeds == 0 {
        return bad("data.seeds", "must be >= 1".into());
    }
    if !(d.signal.coefficient.is_finite()
        && d.signal.coefficient >= 0.0
        && d.signal.p_exponent.is_finite())
    {
        return bad(
            "data.signal",
            "coefficient must be >= 0 and p_exponent finite".into(),
        );
    }
    let gd_ps = s
        .logistic_gd
        .iter()
        .flat_map(|g| g.p_over_n.iter().map(|&r| p_of(r, g.n)));
    let ps = d
        .p_over_n
        .iter()
        .flat_map(|&r| d.n.iter().map(move |&n| p_of(r, n)));
    let (c, e) = (d.signal.coefficient, d.signal.p_exponent);
    toolkit::check_signal(spec, "data.signal", c, e, ps.chain(gd_ps))?;
    if let NoiseSpectrum::PowerLaw { exponent } = d.noise {
        if !(exponent.is_finite() && exponent >= 0.0) {
            return bad("data.noise.exponent", "must be >= 0".into());
        }
    }
    let c = &s.claims;
    match position(&d.p_over_n, c.mild_ratio) {
        Some(_) if c.mild_ratio > 1.0 => {}
        _ => {
            return bad(
                "claims.mild_ratio",
                format!("{} must be one of data.p_over_n and > 1", c.mild_ratio),
            )
        }
    }
    let level = c.svp_calibration_p_value;
    if !open_unit(level) {
        return bad(
            "claims.svp_calibration_p_value",
            format!("{level} must lie in (0, 1)"),
        );
    }
    for &r in &s.figures.error_vs_n_ratios {
        if position(&d.p_over_n, r).is_none() {
            return bad(
                "figures.error_vs_n_ratios",
                format!("{r} is not in data.p_over_n"),
            );
        }
    }
    if !(s.svm.gap_tolerance > 0.0 && s.svm.max_sweeps > 0) {
        return bad(
            "svm",
            "gap_tolerance must be > 0 and max_sweeps >= 1".into(),
        );
    }
    if let Some(g) = &s.logistic_gd {
        if g.n < 4 || g.seeds == 0 || g.steps < 100 || g.eta.is_empty() || g.p_over_n.is_empty() {
            return bad(
                "logistic_gd",
                "needs n >= 4, seeds >= 1, steps >= 100, eta and p_over_n".into(),
            );
        }
        toolkit::check_unique(spec, "logistic_gd.p_over_n[{}]", &g.p_over_n)?;
        toolkit::check_unique(spec, "logistic_gd.eta[{}]", &g.eta)?;
        for &r in &g.p_over_n {
            if p_of(r, g.n) <= g.n + 2 {
                return bad(
                    "logistic_gd.p_over_n",
                    format!("{r}: GD runs need p > n + 2 (separable data)"),
                );
            }
        }
        if g.eta.iter().any(|e| !(0.0..0.5).contains(e)) {
            return bad("logistic_gd.eta", "needs rates in [0, 0.5)".into());
        }
        let factor = g.direction_early_factor;
        if !(factor > 1.0 && factor <= g.steps as f64) {
            return bad(
                "logistic_gd.direction_early_factor",
                format!("{factor} must lie in (1, steps = {}]", g.steps),
            );
        }
        if !(g.lr_factor > 0.0 && g.lr_factor < 2.0) {
            return bad(
                "logistic_gd.lr_factor",
                "must be in (0, 2): GD on an L-smooth loss needs lr < 2/L".into(),
            );
        }
    }
    Ok(spec.resolved_toml(&s))
}
