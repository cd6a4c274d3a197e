//! The figure from runs.csv and the spec: excess risk against n (median, 20-80%, a line per
//! alpha), the theorem's terms at c = 1, and measured/predicted variance in the window [1/c, c].

use std::path::Path;

use super::claims::terms;
use super::{cell, Row, Spec};
use crate::error::Result;
use crate::plot::{self, HLine, LinePanel, Series};
use crate::record::{quantile, RunDir};
use crate::spec::LoadedSpec;
use crate::studies::toolkit::csv::read_csv;

/// One curve per alpha of `cell(alpha, n)` (the per-run values of a cell):
/// the median, with the 20-80% band unless `dashed` (a prediction).
fn curves(spec: &Spec, dashed: bool, cell: impl Fn(f64, usize) -> Vec<f64>) -> Vec<Series> {
    let d = &spec.data;
    let curve = |alpha: f64| {
        let stat = |q| -> Vec<f64> { d.n.iter().map(|&n| quantile(&cell(alpha, n), q)).collect() };
        Series {
            label: format!("alpha = {alpha}"),
            x: d.n.iter().map(|&n| n as f64).collect(),
            y: stat(0.5),
            band: (!dashed).then(|| (stat(0.2), stat(0.8))),
            dashed,
            markers: !dashed,
            ..Default::default()
        }
    };
    d.alpha.iter().map(|&alpha| curve(alpha)).collect()
}

pub(super) fn plot(loaded: &LoadedSpec, dir: &Path) -> Result<()> {
    let spec: Spec = loaded.study_section()?;
    let run_dir = RunDir::new(dir);
    let rows: Vec<Row> = read_csv(&run_dir.file("runs.csv"))?;
    let (d, c) = (&spec.data, &spec.claims);
    let sigma2 = d.noise_sd * d.noise_sd;
    let measured = |value: &dyn Fn(&Row) -> f64| {
        let at = |alpha, n| cell(&rows, alpha, n).map(value).collect();
        curves(&spec, false, at)
    };
    let ratio = |r: &Row| r.variance / (sigma2 * terms(&spec, r.alpha, r.n).variance);
    let bound = |alpha, n| {
        let t = terms(&spec, alpha, n);
        vec![sigma2 * t.variance + t.bias]
    };
    let panel = |title: String, y_label: &str, series| LinePanel {
        title,
        x_label: format!("n (p = n^{})", d.dimension_exponent),
        y_label: y_label.into(),
        log_x: true,
        log_y: true,
        series,
        ..Default::default()
    };
    let title = format!(
        "variance / prediction (b = {}; claims where k* < {} n)",
        c.b, c.k_star_fraction
    );
    let mut window = panel(title, "V / sigma^2 (k*/n + n/R_k*)", measured(&ratio));
    window.hlines = [1.0 / c.constant, 1.0, c.constant]
        .map(|y| HLine {
            y,
            label: format!("{y:.2}"),
            ..Default::default()
        })
        .into();
    let panels = [
        panel(
            format!("excess risk, lambda_k = k^-alpha, sigma = {}", d.noise_sd),
            "R(theta_hat) (median, 20-80%)",
            measured(&|r| r.excess),
        ),
        panel(
            "Theorem 4: sigma^2 (k*/n + n/R_k*) + max(sqrt(r0/n), r0/n)".into(),
            "the bound's terms at c = 1",
            curves(&spec, true, bound),
        ),
        window,
    ];
    plot::line_panels(&run_dir.figures().join("excess_risk"), &panels, 2)
}
