//! The spec's checks that its types cannot express (exit 2, naming the key).

use super::{position, Family, ReluNoiseSpec};
use crate::error::Result;
use crate::spec::{open_unit, positive, LoadedSpec};
use crate::studies::toolkit::{check_signal, check_unique};

fn increasing<T: PartialOrd>(v: &[T]) -> bool {
    v.windows(2).all(|w| w[0] < w[1])
}

/// Validation of everything the types cannot express; returns the resolved spec text.
pub fn validate(spec: &LoadedSpec) -> Result<String> {
    let s: ReluNoiseSpec = spec.study_section()?;
    let bad = |k: &str, m: String| Err(spec.bad_value(k, m));
    let (d, g, c) = (&s.data, &s.grid, &s.claims);
    if d.n.len() < 2 || !increasing(&d.n) || d.n[0] < 4 {
        return bad(
            "data.n",
            "needs at least two increasing sizes, each >= 4".into(),
        );
    }
    if d.eta.is_empty() || d.eta.iter().any(|e| !(0.0..0.5).contains(e)) {
        return bad("data.eta", "needs rates in [0, 0.5)".into());
    }
    check_unique(spec, "data.eta[{}]", &d.eta)?;
    if d.seeds == 0 {
        return bad("data.seeds", "must be >= 1".into());
    }
    if d.test_draws < 1000 {
        return bad("data.test_draws", "must be >= 1000".into());
    }
    if !(d.signal.coefficient.is_finite()
        && d.signal.coefficient > 0.0
        && d.signal.p_exponent.is_finite())
    {
        return bad(
            "data.signal",
            "coefficient must be > 0 and p_exponent finite".into(),
        );
    }
    let m = &s.model;
    if !positive(m.init_scale) {
        return bad("model.init_scale", "must be > 0".into());
    }
    if !(m.lr_factor > 0.0 && m.lr_factor < 2.0) {
        return bad("model.lr_factor", "must be in (0, 2): lr < 2/L".into());
    }
    if m.max_steps == 0 {
        return bad("model.max_steps", "must be >= 1".into());
    }
    if g.ratios.len() < 2 || !increasing(&g.ratios) || !g.ratios.iter().all(|&r| r > 0.0) {
        return bad(
            "grid.ratios",
            "needs at least two increasing positive ratios".into(),
        );
    }
    if g.width_p == 0 {
        return bad("grid.width_p", "must be >= 1".into());
    }
    if g.dimension_m < 2 || g.dimension_m % 2 != 0 {
        return bad(
            "grid.dimension_m",
            "must be even and >= 2 (the second layer alternates signs)".into(),
        );
    }
    for family in Family::ALL {
        for &r in &g.ratios {
            for &n in &d.n {
                let (p, width) = g.shape(family, r, n);
                // In f64: a huge ratio must give an error, not an overflow.
                let (pf, wf, nf) = (p as f64, width as f64, n as f64);
                let actual = pf * wf / nf;
                if width < 2 || (actual / r - 1.0).abs() > 0.1 {
                    return bad(
                        "grid.ratios",
                        format!("{} family at ratio {r}, n = {n}: p = {p}, m = {width} gives m p / n = {actual} (needs m >= 2 and m p / n within 10% of the ratio)", family.name()),
                    );
                }
                if nf * pf > 5e7 || pf * wf > 5e7 {
                    return bad(
                        "grid.ratios",
                        format!("ratio {r}, n = {n}: X or W above 5e7 entries"),
                    );
                }
            }
        }
    }
    if let Some(slope) = s.model.leaky_slope {
        if !open_unit(slope) {
            return bad("model.leaky_slope", "must be in (0, 1)".into());
        }
        if s.contrast.is_some() {
            return bad(
                "contrast",
                "needs a ReLU grid (no model.leaky_slope): it pairs the grid's ReLU runs with leaky-ReLU ones".into(),
            );
        }
    }
    if let Some(k) = &s.contrast {
        if position(&g.ratios, k.ratio).is_none() {
            return bad(
                "contrast.ratio",
                format!("{} is not in grid.ratios", k.ratio),
            );
        }
        if !d.n.contains(&k.n) {
            return bad("contrast.n", format!("{} is not in data.n", k.n));
        }
        if position(&d.eta, k.eta).is_none() {
            return bad("contrast.eta", format!("{} is not in data.eta", k.eta));
        }
        if !open_unit(k.leaky_slope) {
            return bad("contrast.leaky_slope", "must be in (0, 1)".into());
        }
    }
    if position(&g.ratios, c.mild_ratio).is_none() {
        return bad(
            "claims.mild_ratio",
            format!("{} is not in grid.ratios", c.mild_ratio),
        );
    }
    if !open_unit(c.alpha) {
        return bad("claims.alpha", "must be in (0, 1)".into());
    }
    if !(c.level_off_fraction > 0.0 && c.level_off_fraction <= 1.0) {
        return bad("claims.level_off_fraction", "must be in (0, 1]".into());
    }
    if !(c.min_interpolated > 0.0 && c.min_interpolated <= 1.0) {
        return bad("claims.min_interpolated", "must be in (0, 1]".into());
    }
    let ps = Family::ALL.iter().flat_map(|&f| {
        g.ratios
            .iter()
            .flat_map(move |&r| d.n.iter().map(move |&n| g.shape(f, r, n).0))
    });
    let (sc, se) = (d.signal.coefficient, d.signal.p_exponent);
    check_signal(spec, "data.signal", sc, se, ps)?;
    if position(&d.eta, s.figures.error_vs_n_eta).is_none() {
        return bad(
            "figures.error_vs_n_eta",
            format!("{} is not in data.eta", s.figures.error_vs_n_eta),
        );
    }
    Ok(spec.resolved_toml(&s))
}
