//! Each study's peak-memory estimate (`Study::peak_memory`), from its
//! validated spec, with `threads` units running at once (see
//! `crate::memory` for the terms and the check). Every function states its
//! formula; counts are f64 so that no product overflows. A unit's working
//! memory is counted once per unit in progress, `c = min(threads, units)`;
//! the metrics every run keeps (`METRIC_ROW` bytes per row) are counted for
//! all runs, since the runner holds them until it writes metrics.csv.

use super::{
    benign_regression, early_alignment, expressivity, label_noise, leaky_relu_benign,
    optimization_threshold, relu_label_noise, toolkit, xor_grokking,
};
use crate::error::Result;
use crate::memory::{concurrent, Peak, F32, F64, METRIC_ROW};
use crate::spec::LoadedSpec;

/// Two-layer network GD on n training and t test points in R^dim, width m
/// (`nets::two_layer`, primal or dual engine), per unit: the points
/// (n + t) dim, W d x m, 13 n x m and one t x m working matrices (7 of
/// them the primal forward's block products, `nets::gram_update::forward_depth`),
/// and the dual engine's n x n Gram with its factor (2 n^2). f64.
#[allow(clippy::too_many_arguments)]
pub fn two_layer(
    peak: &mut Peak,
    c: f64,
    (n_key, n): (&str, f64),
    (t_key, t): (&str, f64),
    (p_key, dim): (&str, f64),
    (m_key, m): (&str, f64),
) {
    peak.add("the training points", F64 * c, &[(n_key, n), (p_key, dim)])
        .add("the test points", F64 * c, &[(t_key, t), (p_key, dim)])
        .add("the first layer W", F64 * c, &[(m_key, m), (p_key, dim)])
        .add(
            "the network's n x m working matrices",
            13.0 * F64 * c,
            &[(n_key, n), (m_key, m)],
        )
        .add("the test outputs", F64 * c, &[(t_key, t), (m_key, m)])
        .add(
            "the dual engine's Gram matrices",
            2.0 * F64 * c,
            &[(n_key, n), (n_key, n)],
        );
}

/// Xu et al.: per unit `two_layer(n, n_test, d, m)` (d = p, or n + n_test + 2
/// with the span representation); 8 metric rows per logged step of every
/// panel run, held three times (see below), and the grokking
/// map's units' rows while they run.
pub fn xor_grokking(spec: &LoadedSpec, threads: usize) -> Result<Peak> {
    let s: xor_grokking::XorSpec = spec.study_section()?;
    let d = &s.data;
    let dim = xor_grokking::distribution(d).working_dim() as f64;
    let dim_key = if dim as u64 == d.p {
        "data.p"
    } else {
        "data.n"
    };
    let map_cells = s.grokking_map.as_ref().map_or(0.0, |g| {
        (g.alphas.len() * g.omegas.len()) as f64 * g.runs as f64
    });
    let sweep_units = s.theorem_sweep.as_ref().map_or(0.0, |t| {
        (t.balanced.len() * t.cs.len() * t.ns.len() * t.runs) as f64
    });
    let runs: f64 = s.panels.iter().map(|p| p.runs as f64).sum::<f64>() + map_cells + sweep_units;
    let c = concurrent(threads, runs);
    let mut peak = Peak::new();
    two_layer(
        &mut peak,
        c,
        ("data.n", d.n as f64),
        ("data.n_test", d.n_test as f64),
        (dim_key, dim),
        ("model.m", s.model.m as f64),
    );
    for p in &s.panels {
        let logged = toolkit::logged_steps_bound(p.steps, p.dense_until, xor_grokking::LOG_RATIO);
        // Three copies of every row at findings time: the units' stored
        // results (`UnitResult`, a toml::Value each, held until `take`), the
        // records parsed from them, and the merged metrics (the 300-run full
        // spec peaked at 241 MiB against a one-copy estimate of 164 MiB).
        peak.add(
            "the panels' metric rows",
            3.0 * 8.0 * METRIC_ROW,
            &[("panels[].runs", p.runs as f64), ("panels[].steps", logged)],
        );
    }
    if let Some(sweep) = &s.theorem_sweep {
        // The largest cell's runs (span representation, d = 2 + n + n_test),
        // and every run's few metric rows, held three times as the panels'.
        let n = *sweep.ns.iter().max().unwrap_or(&0) as f64;
        two_layer(
            &mut peak,
            c,
            ("theorem_sweep.ns", n),
            ("data.n_test", d.n_test as f64),
            ("theorem_sweep.ns", 2.0 + n + d.n_test as f64),
            ("model.m", s.model.m as f64),
        );
        let units = (sweep.balanced.len() * sweep.cs.len() * sweep.ns.len()) as f64;
        peak.add(
            "the theorem sweep's metric rows",
            3.0 * 5.0 * METRIC_ROW * units,
            &[("theorem_sweep.runs", sweep.runs as f64)],
        );
    }
    if let Some(g) = &s.grokking_map {
        let logged = toolkit::logged_steps_bound(
            g.max_steps,
            xor_grokking::MAP_DENSE_UNTIL,
            xor_grokking::LOG_RATIO,
        );
        peak.add(
            "the grokking map's metric rows",
            8.0 * METRIC_ROW * c,
            &[("grokking_map.max_steps", logged)],
        );
    }
    Ok(peak)
}

/// Boursier & Flammarion (early alignment): per run the wide net (a, w: m
/// (d + 1)) and its passes over the n points (`wide_passes`), a probe's
/// list of neurons (m x 16 bytes), the snapshots (snapshot steps x
/// neurons x (d + 1)), the scan directions (2 x resolution x d), the fit
/// grid; 11 metric rows per logged step and n final outputs; the lambda
/// sweep's runs alike with 2 rows per logged step. f64.
pub fn early_alignment(spec: &LoadedSpec, threads: usize) -> Result<Peak> {
    let s: early_alignment::EarlySpec = spec.study_section()?;
    let n = match &s.data {
        early_alignment::DataSpec::Points { x, .. } => x.len(),
        early_alignment::DataSpec::Interpolated { n, .. } => *n,
    } as f64;
    let d = 1.0 + f64::from(u8::from(s.model.bias));
    let t = &s.train;
    let p = &s.probes;
    let units = 1.0
        + s.lambda_sweep
            .as_ref()
            .map_or(0.0, |w| w.lambdas.len() as f64);
    let c = concurrent(threads, units);
    let m = s
        .lambda_sweep
        .as_ref()
        .map_or(s.model.m, |w| w.m.max(s.model.m)) as f64;
    let mut peak = Peak::new();
    peak.add(
        "the networks",
        3.0 * F64 * c,
        &[("model.m", m), ("model.bias", d + 1.0)],
    )
    .add("the probes' neuron lists", 16.0 * c, &[("model.m", m)])
    .add(
        "the snapshots",
        F64,
        &[
            ("probes.snapshot_steps", p.snapshot_steps.len() as f64),
            (
                "probes.snapshot_neurons",
                p.snapshot_neurons.min(s.model.m) as f64,
            ),
            ("model.bias", d + 1.0),
        ],
    )
    .add(
        "the scan directions",
        2.0 * F64 * d,
        &[("probes.scan_resolution", p.scan_resolution as f64)],
    )
    .add(
        "the fit grid",
        2.0 * F64,
        &[("probes.fit_grid", p.fit_grid as f64)],
    )
    .add(
        "the metric rows",
        11.0 * METRIC_ROW,
        &[(
            "train.ratio",
            toolkit::logged_steps_bound(t.steps, t.dense_until, t.ratio),
        )],
    )
    .add("the final outputs", METRIC_ROW, &[("data.n", n)]);
    if let Some(w) = &s.lambda_sweep {
        let logged = toolkit::logged_steps_bound(w.steps, t.dense_until, t.ratio);
        peak.add(
            "the lambda sweep's metric rows",
            2.0 * METRIC_ROW,
            &[
                ("lambda_sweep.lambdas", w.lambdas.len() as f64),
                ("lambda_sweep.steps", logged),
            ],
        );
    }
    wide_passes(&mut peak, c, m, ("data.n", n));
    Ok(peak)
}

/// Wen et al. (linear classifiers): per job X (n x q, q = min(p, n + 1) for
/// isotropic noise, else p) three times (data, copies, directions), the
/// n x n Gram, its eigenvectors and the SVM's dual state (4 n^2); 10 metric
/// rows per (job, eta). Logistic GD: n x q data, per logged step
/// (`label_noise::GD_LOG`) a trace of 5 values and 5 rows. f64.
pub fn label_noise(spec: &LoadedSpec, threads: usize) -> Result<Peak> {
    let s: label_noise::LabelNoiseSpec = spec.study_section()?;
    let d = &s.data;
    let iso = d.noise == crate::data::gaussian_mixture::NoiseSpectrum::Isotropic;
    let width = |r: f64, n: usize| {
        let p = label_noise::p_of(r, n) as f64;
        if iso {
            p.min(n as f64 + 1.0)
        } else {
            p
        }
    };
    let n_max = d.n.iter().copied().max().unwrap_or(0) as f64;
    let q_max = d
        .p_over_n
        .iter()
        .flat_map(|&r| d.n.iter().map(move |&n| width(r, n)))
        .fold(0.0, f64::max);
    let jobs = (d.n.len() * d.p_over_n.len()) as f64 * d.seeds as f64;
    let c = concurrent(threads, jobs);
    let mut peak = Peak::new();
    peak.add(
        "the samples X",
        3.0 * F64 * c,
        &[("data.n", n_max), ("data.p_over_n", q_max)],
    )
    .add(
        "the Gram matrices",
        4.0 * F64 * c,
        &[("data.n", n_max), ("data.n", n_max)],
    )
    .add(
        "the metric rows",
        10.0 * METRIC_ROW * (d.n.len() * d.p_over_n.len()) as f64,
        &[
            ("data.seeds", d.seeds as f64),
            ("data.eta", d.eta.len() as f64),
        ],
    );
    if let Some(g) = &s.logistic_gd {
        let q = g
            .p_over_n
            .iter()
            .map(|&r| width(r, g.n))
            .fold(0.0, f64::max);
        let runs = (g.p_over_n.len() * g.eta.len()) as f64 * g.seeds as f64;
        let cg = concurrent(threads, runs);
        // A run logs only the steps of its log schedule (not every step):
        // per logged step a trace row (5 f64), 4 metric rows and a gd.csv
        // row (counted as a fifth metric row).
        let (dense, ratio) = label_noise::GD_LOG;
        let logged = toolkit::logged_steps_bound(g.steps, dense, ratio);
        peak.add(
            "the GD samples",
            3.0 * F64 * cg,
            &[("logistic_gd.n", g.n as f64), ("logistic_gd.p_over_n", q)],
        )
        .add(
            "the GD traces",
            (5.0 * F64 + 5.0 * METRIC_ROW) * (g.p_over_n.len() * g.eta.len()) as f64,
            &[
                ("logistic_gd.seeds", g.seeds as f64),
                ("logistic_gd.steps", logged),
            ],
        );
    }
    Ok(peak)
}

/// Karhadkar et al.: per job the largest group's `two_layer(n, 0, d, m)`
/// with d = d/n x n, and the Monte Carlo test law (below); 10 metric rows
/// per job of every group. f64.
pub fn leaky_relu_benign(spec: &LoadedSpec, threads: usize) -> Result<Peak> {
    let s: leaky_relu_benign::LeakySpec = spec.study_section()?;
    // (n key, d/n key, the n, the largest d/n, seeds, cells per n)
    type Group<'a> = (&'a str, &'a str, &'a [usize], f64, usize, f64);
    let mut cells: Vec<Group> = vec![(
        "heatmap.n",
        "heatmap.d_over_n",
        &s.heatmap.n,
        s.heatmap.d_over_n.iter().copied().fold(0.0, f64::max),
        s.heatmap.seeds,
        s.heatmap.d_over_n.len() as f64,
    )];
    if let Some(h) = &s.harmful {
        cells.push((
            "harmful.n",
            "harmful.d_over_n",
            &h.n,
            h.d_over_n,
            h.seeds,
            h.gamma_constant.len() as f64,
        ));
    }
    if let Some(g) = &s.gamma_sweep {
        cells.push((
            "gamma_sweep.n",
            "gamma_sweep.d_over_n",
            &g.n,
            g.d_over_n,
            g.seeds,
            g.gamma.len() as f64,
        ));
    }
    let jobs: f64 = cells
        .iter()
        .map(|c| c.2.len() as f64 * c.5 * c.4 as f64)
        .sum();
    let c = concurrent(threads, jobs);
    let m = s.model.m as f64;
    // The groups' networks never train at once (`c` units of one group at
    // a time): the largest counts. Their metric rows are all held, so they
    // go outside the max (a max over the running sum dropped the earlier
    // groups' rows whenever a later group's network was larger).
    let mut network = Peak::new();
    let mut peak = Peak::new();
    for &(n_key, d_key, ns, d_over_n, seeds, knobs) in &cells {
        let n = ns.iter().copied().max().unwrap_or(0) as f64;
        let mut part = Peak::new();
        two_layer(
            &mut part,
            c,
            (n_key, n),
            (n_key, 0.0),
            (d_key, (d_over_n * n).round()),
            ("model.m", m),
        );
        network = merge_max(network, part);
        let key = n_key.replace(".n", ".seeds");
        peak.add(
            "the metric rows",
            10.0 * METRIC_ROW * ns.len() as f64 * knobs,
            &[(key.as_str(), seeds as f64)],
        );
    }
    peak.extend(network);
    // `gaussian_test_error`: c (m), G = W^T W and its factor L (2 m^2), and
    // per chunk of b = min(mc_samples, TEST_CHUNK) draws the labels (b) and
    // u, h (b x m each), since the draws are made chunk by chunk.
    let b = (s.data.mc_samples as f64).min(leaky_relu_benign::TEST_CHUNK as f64);
    peak.add(
        "the Monte Carlo test law's covariance",
        F64 * c,
        &[("model.m", 2.0 * m * m + m)],
    )
    .add(
        "the Monte Carlo test draws in flight",
        F64 * c,
        &[("data.mc_samples", b), ("model.m", 2.0 * m + 1.0)],
    );
    Ok(peak)
}

/// The larger of two estimates (parts that never run at the same time).
pub(super) fn merge_max(a: Peak, b: Peak) -> Peak {
    // (both hold PROGRAM once: comparing totals compares the terms)
    if b.bytes() > a.bytes() {
        b
    } else {
        a
    }
}

/// Boursier & Flammarion (threshold): per unit the training and test
/// points ((n + n_test) d), the wide net (3 m (d + 1)) and its passes over
/// max(n, n_test) points (`wide_passes`), the loss curve; 12 metric rows per grid run (both grids)
/// and 4 per sweep horizon. f64.
pub fn optimization_threshold(spec: &LoadedSpec, threads: usize) -> Result<Peak> {
    let s: optimization_threshold::ThresholdSpec = spec.study_section()?;
    let w = &s.sweep;
    let n = s
        .dims
        .iter()
        .flat_map(|d| d.n.iter().copied())
        .chain(w.n.iter().copied())
        .max()
        .unwrap_or(0) as f64;
    let dim = s.dims.iter().map(|d| d.d).chain([w.d]).max().unwrap_or(0) as f64;
    let cells: f64 = s.dims.iter().map(|d| d.n.len() as f64).sum::<f64>();
    let grid = cells * (s.inits.len() * s.seeds + s.threshold.seeds) as f64;
    let sweep = (w.n.len() * w.lambdas.len() * w.seeds) as f64;
    let c = concurrent(threads, grid + sweep);
    let (m, t) = (s.model.m as f64, s.teacher.n_test as f64);
    let steps = s
        .inits
        .iter()
        .filter_map(|i| i.converge.as_ref().map(|c| c.max_steps))
        .chain([s.train.steps])
        .max()
        .unwrap_or(0);
    let logged = toolkit::logged_steps_bound(steps, s.train.dense_until, s.train.ratio);
    let mut peak = Peak::new();
    peak.add(
        "the training points",
        F64 * c,
        &[("dims[].n", n), ("dims[].d", dim)],
    )
    .add(
        "the test points",
        F64 * c,
        &[("teacher.n_test", t), ("dims[].d", dim)],
    )
    .add(
        "the networks",
        3.0 * F64 * c,
        &[("model.m", m), ("dims[].d", dim + 1.0)],
    )
    .add(
        "the loss curves",
        16.0,
        &[("grid runs (seeds)", grid), ("train.ratio", logged)],
    );
    let points = if n >= t {
        ("dims[].n", n)
    } else {
        ("teacher.n_test", t)
    };
    wide_passes(&mut peak, c, m, points);
    peak.add(
        "the metric rows",
        12.0 * METRIC_ROW,
        &[("grid runs (seeds)", grid)],
    )
    .add(
        "the sweep's metric rows",
        4.0 * METRIC_ROW,
        &[
            ("sweep runs (sweep.seeds)", sweep),
            ("sweep.horizons", w.horizons.len() as f64),
        ],
    );
    Ok(peak)
}

/// A `nets::wide` network's passes over `points` points, per unit: the
/// per-block partial sums (ceil(m / MAX_BLOCK) blocks x LANES per point,
/// `WideNet::pass`), the outputs and residuals (2 per point). No n x m
/// array: the fused kernel never forms one (counting four put 98 MiB on an
/// optimization_threshold run that peaked at 17 MB). f64.
fn wide_passes(peak: &mut Peak, c: f64, m: f64, (key, points): (&str, f64)) {
    use crate::nets::wide::{LANES, MAX_BLOCK};
    let blocks = (m / MAX_BLOCK as f64).ceil();
    peak.add(
        "the wide network's partial sums",
        F64 * c * (blocks * LANES as f64 + 2.0),
        &[(key, points)],
    );
}

/// Zhang et al. Theorem 1: per Gaussian unit the points and two working
/// copies (3 n d); the CIFAR pool (pool x 3072 f32) and per unit its n x
/// 3072 points (f64, 3 copies); the GD contrast `two_layer(n, 0, d + 1, n)`
/// with 2 metric rows per logged step; 16 metric rows per fit. f64.
pub fn expressivity(spec: &LoadedSpec, threads: usize) -> Result<Peak> {
    let s: expressivity::ExpressivitySpec = spec.study_section()?;
    let g = &s.gaussian;
    let max = |v: &[usize]| v.iter().copied().max().unwrap_or(0) as f64;
    let fits = (g.n.len() * g.d.len() * g.targets.len()) as f64 * g.seeds as f64;
    let c = concurrent(threads, fits);
    let mut peak = Peak::new();
    peak.add(
        "the Gaussian points",
        3.0 * F64 * c,
        &[("gaussian.n", max(&g.n)), ("gaussian.d", max(&g.d))],
    )
    .add(
        "the fits' metric rows",
        16.0 * METRIC_ROW * (g.n.len() * g.d.len() * g.targets.len()) as f64,
        &[("gaussian.seeds", g.seeds as f64)],
    );
    if let Some(k) = &s.cifar {
        let dim = crate::data::cifar::IMAGE_BYTES as f64;
        let ck = concurrent(
            threads,
            (k.n.len() * k.targets.len()) as f64 * k.seeds as f64,
        );
        peak.add(
            "the CIFAR pool",
            F32 * dim,
            &[("cifar.pool", k.pool as f64)],
        )
        .add(
            "the CIFAR points",
            3.0 * F64 * dim * ck,
            &[("cifar.n", max(&k.n))],
        )
        .add(
            "the CIFAR fits' metric rows",
            16.0 * METRIC_ROW * (k.n.len() * k.targets.len()) as f64,
            &[("cifar.seeds", k.seeds as f64)],
        );
    }
    if let Some(gd) = &s.gd {
        let n = max(&gd.n);
        let cg = concurrent(threads, gd.n.len() as f64 * gd.seeds as f64);
        two_layer(
            &mut peak,
            cg,
            ("gd.n", n),
            ("gd.n", 0.0),
            ("gd.d", gd.d as f64 + 1.0),
            ("gd.n", n),
        );
        let logged = toolkit::logged_steps_bound(
            gd.steps,
            expressivity::LOG_DENSE_UNTIL,
            expressivity::LOG_RATIO,
        );
        peak.add(
            "the GD metric rows",
            2.0 * METRIC_ROW * gd.n.len() as f64,
            &[("gd.seeds", gd.seeds as f64), ("gd.steps", logged)],
        );
    }
    Ok(peak)
}

/// The sum of two estimates (parts held at the same time).
pub(super) fn merge(mut a: Peak, b: Peak) -> Peak {
    a.extend(b);
    a
}

/// Wen et al. with a ReLU network: per job, at the (family, ratio, n) whose
/// unit is largest, `two_layer(n, 0, p, m)` and `relu_test_law(p, m)`
/// (taking p and m from different shapes would count a p x m first layer
/// that no job has: m p / n is the ratio, so the largest p and the largest
/// m are 100x apart in the full spec); 10 metric rows per job.
pub fn relu_label_noise(spec: &LoadedSpec, threads: usize) -> Result<Peak> {
    let s: relu_label_noise::ReluNoiseSpec = spec.study_section()?;
    let (d, g) = (&s.data, &s.grid);
    let jobs = (2 * g.ratios.len() * d.n.len() * d.eta.len()) as f64 * d.seeds as f64;
    let c = concurrent(threads, jobs);
    let mut worst = Peak::new();
    for family in relu_label_noise::Family::ALL {
        for &r in &g.ratios {
            for &n in &d.n {
                let (p, m) = g.shape(family, r, n);
                let (p, m) = (p as f64, m as f64);
                let mut unit = Peak::new();
                two_layer(
                    &mut unit,
                    c,
                    ("data.n", n as f64),
                    ("data.n", 0.0),
                    ("grid.ratios", p),
                    ("grid.ratios", m),
                );
                relu_test_law(&mut unit, c, d.test_draws as f64, p, m);
                worst = merge_max(worst, unit);
            }
        }
    }
    let mut peak = Peak::new();
    peak.add(
        "the metric rows",
        10.0 * METRIC_ROW * (2 * g.ratios.len() * d.n.len() * d.eta.len()) as f64,
        &[("data.seeds", d.seeds as f64)],
    );
    Ok(merge(peak, worst))
}

/// `relu_label_noise::mixture_test_error` on a p x m first layer, per unit:
/// c (m), the factor B (k x m, k = min(p, m)) and, when p > m, the Gram
/// W^T W it is factored from (m x m), so 2 k m at most; then u (b x k) and
/// h (b x m) for b = min(draws, `TEST_CHUNK`) draws at a time, since the
/// draws are made chunk by chunk (counting all draws at once put 2.4 GiB on
/// a quick run that peaked at 25 MB). f64.
fn relu_test_law(peak: &mut Peak, c: f64, draws: f64, p: f64, m: f64) {
    let b = draws.min(relu_label_noise::TEST_CHUNK as f64);
    let k = p.min(m);
    peak.add(
        "the Monte Carlo test law's factor",
        F64 * c,
        &[("grid.ratios", 2.0 * k * m + m)],
    )
    .add(
        "the Monte Carlo test draws in flight",
        F64 * c,
        &[("data.test_draws", b), ("grid.ratios", k + m)],
    );
}

/// Bartlett et al.: per unit (alpha, n, seed) in flight Z and X (2 n p),
/// K, its factor and C (3 n^2), f64; per unit 4 metric rows and a runs.csv
/// row, each counted at a metric row's size.
pub fn benign_regression(spec: &LoadedSpec, threads: usize) -> Result<Peak> {
    let s: benign_regression::Spec = spec.study_section()?;
    let d = &s.data;
    let n = d.n.iter().copied().max().unwrap_or(0);
    let p = crate::theory::benign_regression::dimension(n, d.dimension_exponent) as f64;
    let units = (d.alpha.len() * d.n.len() * d.seeds) as f64;
    let c = concurrent(threads, units);
    let n = n as f64;
    let mut peak = Peak::new();
    peak.add(
        "the features",
        2.0 * F64 * c,
        &[("data.n", n), ("data.dimension_exponent", p)],
    )
    .add(
        "the n x n matrices",
        3.0 * F64 * c,
        &[("data.n", n), ("data.n", n)],
    )
    .add(
        "the metric rows",
        5.0 * METRIC_ROW * (d.n.len() * d.alpha.len()) as f64,
        &[("data.seeds", d.seeds as f64)],
    );
    Ok(peak)
}

mod cnn;
pub use cnn::{cnn_shape, cnn_sweep, cnn_unit, cnn_workspace, randomization};

#[cfg(test)]
mod tests;
