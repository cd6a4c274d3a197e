//! Study: finite-sample expressivity (Zhang, Bengio, Hardt, Recht, Vinyals,
//! ICLR 2017, "Understanding deep learning requires rethinking
//! generalization", Theorem 1).
//!
//! Data: n points z_i ~ N(0, I_d) over a grid of (n, d), and optionally n
//! CIFAR-10 images (d = 3072, pixels in [-1, 1], exact duplicate images
//! dropped) read from `cifar.dir` (skipped, with a note in summary.json, when
//! the folder is absent). Targets: a random labelling, uniform +-1 ("sign")
//! or N(0, 1) ("gaussian"), drawn once per run.
//! Model: the 2n + d weight network c(z) = sum_j w_j relu(<a, z> - b_j) of
//! `nets::expressivity` (a ~ N(0, I_d), midpoint thresholds, forward
//! substitution). Measured per run: the relative fit error and its rounding
//! certificate, the parameter count, max|w| and its gap bound, the redraws
//! of a. Contrast: full-batch GD on a two-layer ReLU net with m = n hidden
//! units (both layers trained, inputs z/sqrt(d) with a bias coordinate) on the
//! same points and +-1 labels, its training error against the step.
//!
//! Predictions, none fitted to the measurement:
//! - every labelling is fitted to within the backward-error bound of forward
//!   substitution, 2 gamma_{n+1} sum_j |w_j| relu(x_i - b_j) (Higham Thm 8.5);
//!   +-1 labels are reproduced in sign; the count is 2n + d exactly;
//! - max|w| <= the gap bound of `nets::expressivity::weight_bound`;
//! - growth law: with midpoints, max|w| is of the order of max_k |dy_k| / h_k,
//!   h_k the gaps of the sorted projections. For n i.i.d. projections with
//!   density f the smallest gap is ~ 1/(n^2 int f^2), and the projections
//!   <a, z_i> ~ N(0, |a|^2), |a| ~ sqrt(d), so int f^2 ~ 1/sqrt(d):
//!   log max|w| = c + 2 log n - 1/2 log d (slopes 2 and -1/2); exactly, given a
//!   the projections are i.i.d. N(0, |a|^2) for every d and w scales like
//!   1/|a|, so |a| max|w| has a law free of d (d-slope 0);
//! - weights ~1e6 at n = 500, d = 20, as reported with Zhang et al.'s
//!   Theorem 1 (how b was chosen is not stated), read as an order of magnitude;
//! - GD with m = n fits random labels (Zhang et al. Sec. 2), within a stated budget.
//!
//! The claims are in `claims`, the figures in `figures`.

mod claims;
mod figures;

use std::path::Path;

use ndarray::{Array1, Array2};
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

pub use self::claims::ClaimSpec;
use self::claims::{cell_medians, claims, growth_exponents};
use super::toolkit::{check_unique, log_schedule};
use super::{Findings, Plan, Results, StudyFns, Sweep, UnitResult};
use crate::data::cifar;
use crate::error::{Error, Result};
use crate::nets::activation::Activation;
use crate::nets::expressivity::{construct, fit_report, ConstructionOptions};
use crate::nets::init::{gaussian_first_layer, second_layer, SecondLayerInit};
use crate::nets::loss::Loss;
use crate::nets::two_layer::{
    choose_engine, sign_accuracy, with_bias_column, EngineKind, GdConfig, TrainedLayers, TwoLayerGd,
};
use crate::record::{quantile, Metrics};
use crate::runner::RunContext;
use crate::spec::{positive, LoadedSpec};

const SRC: &str = "Zhang, Bengio, Hardt, Recht, Vinyals, ICLR 2017";

// ---------------------------------------------------------------- the spec

/// The run counts `--seeds` sets (`studies::run_keys`).
pub const RUN_KEYS: &[&str] = &["gaussian.seeds", "cifar.seeds", "gd.seeds"];

/// The GD runs log every step up to `LOG_DENSE_UNTIL`, then steps growing by
/// `LOG_RATIO` (`toolkit::log_schedule`; the memory estimate counts the rows
/// from the same two).
pub const LOG_DENSE_UNTIL: usize = 10;
pub const LOG_RATIO: f64 = 1.1;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpressivitySpec {
    #[serde(default)]
    pub construction: ConstructionOptions,
    pub gaussian: GaussianGrid,
    #[serde(default)]
    pub cifar: Option<CifarGrid>,
    #[serde(default)]
    pub gd: Option<GdContrast>,
    #[serde(default)]
    pub claims: ClaimSpec,
}

/// Random labellings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Targets {
    /// y_i uniform on {-1, +1}.
    Sign,
    /// y_i ~ N(0, 1).
    Gaussian,
}

impl Targets {
    fn tag(self) -> &'static str {
        match self {
            Targets::Sign => "sign",
            Targets::Gaussian => "gaussian",
        }
    }
    fn draw(self, n: usize, rng: &mut crate::rng::Rng) -> Array1<f64> {
        (0..n)
            .map(|_| match self {
                Targets::Sign => {
                    if rng.random::<bool>() {
                        1.0
                    } else {
                        -1.0
                    }
                }
                Targets::Gaussian => Distribution::<f64>::sample(&StandardNormal, rng),
            })
            .collect()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GaussianGrid {
    pub n: Vec<usize>,
    pub d: Vec<usize>,
    pub targets: Vec<Targets>,
    pub seeds: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CifarGrid {
    /// CIFAR-10 binary folder (relative paths from the working directory).
    #[serde(default = "crate::studies::toolkit::cnn::default_dir")]
    pub dir: String,
    /// Original class ids kept (the course project's automobile, frog, horse, ship).
    #[serde(default = "crate::studies::toolkit::cnn::default_classes")]
    pub classes: Vec<u8>,
    /// Images read (the first ones of the training files); each run draws its n among them.
    pub pool: usize,
    pub n: Vec<usize>,
    pub targets: Vec<Targets>,
    pub seeds: usize,
}

/// GD on a two-layer ReLU net with m = n hidden units, on the Gaussian points of
/// cell (n, d) with their +-1 labels (the same draw as the construction's run).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GdContrast {
    pub n: Vec<usize>,
    pub d: usize,
    pub seeds: usize,
    /// Step budget; a run stops early at zero training error.
    pub steps: usize,
    pub lr: f64,
    #[serde(default = "default_loss")]
    pub loss: Loss,
    /// W(0) entries ~ N(0, init_scale^2) on inputs (z / sqrt(d), 1); a(0) = +-1/sqrt(m).
    #[serde(default = "one")]
    pub init_scale: f64,
}

fn default_loss() -> Loss {
    Loss::Logistic
}
fn one() -> f64 {
    1.0
}

/// Validation of everything the types cannot express; returns the resolved spec text.
pub fn validate(spec: &LoadedSpec) -> Result<String> {
    let s: ExpressivitySpec = spec.study_section()?;
    let bad = |k: &str, m: String| Err(spec.bad_value(k, m));
    if let Err(m) = s.construction.check() {
        return bad("construction.min_relative_gap", m);
    }
    const MAX_N: usize = 20_000;
    const MAX_D: usize = 100_000;
    let g = &s.gaussian;
    if g.n.is_empty() || g.d.is_empty() || g.targets.is_empty() || g.seeds == 0 {
        return bad(
            "gaussian",
            "needs non-empty n, d, targets and seeds >= 1".into(),
        );
    }
    if let Some(&v) = g.n.iter().find(|&&v| v == 0 || v > MAX_N) {
        return bad("gaussian.n", format!("{v} is outside 1..={MAX_N}"));
    }
    if let Some(&v) = g.d.iter().find(|&&v| v == 0 || v > MAX_D) {
        return bad("gaussian.d", format!("{v} is outside 1..={MAX_D}"));
    }
    check_unique(spec, "gaussian.n[{}]", &g.n)?;
    check_unique(spec, "gaussian.d[{}]", &g.d)?;
    check_unique(spec, "gaussian.targets[{}]", &g.targets)?;
    let gib = |n: usize, d: usize| 8.0 * (n * d) as f64 / (1u64 << 30) as f64;
    if let Some((n, d)) =
        g.n.iter()
            .flat_map(|&n| g.d.iter().map(move |&d| (n, d)))
            .find(|&(n, d)| gib(n, d) > 4.0)
    {
        return bad(
            "gaussian",
            format!("the cell n = {n}, d = {d} needs more than 4 GiB of points"),
        );
    }
    if let Some(c) = &s.cifar {
        if let Err(m) = cifar::check_classes(&c.classes) {
            return bad("cifar.classes", m);
        }
        if c.n.is_empty() || c.targets.is_empty() || c.seeds == 0 {
            return bad("cifar", "needs non-empty n, targets and seeds >= 1".into());
        }
        check_unique(spec, "cifar.n[{}]", &c.n)?;
        check_unique(spec, "cifar.targets[{}]", &c.targets)?;
        if c.pool == 0 || c.pool > 60_000 {
            return bad("cifar.pool", format!("{} is outside 1..=60000", c.pool));
        }
        if let Some(&v) = c.n.iter().find(|&&v| v == 0 || v > c.pool.min(MAX_N)) {
            return bad(
                "cifar.n",
                format!(
                    "{v} is outside 1..={} (at most cifar.pool)",
                    c.pool.min(MAX_N)
                ),
            );
        }
    }
    if let Some(gd) = &s.gd {
        if gd.n.is_empty() || gd.seeds == 0 || gd.steps == 0 {
            return bad("gd", "needs non-empty n, seeds >= 1 and steps >= 1".into());
        }
        if let Some(&v) = gd.n.iter().find(|&&v| !(2..=2000).contains(&v)) {
            return bad("gd.n", format!("{v} is outside 2..=2000"));
        }
        check_unique(spec, "gd.n[{}]", &gd.n)?;
        if gd.d == 0 || gd.d > 10_000 {
            return bad("gd.d", format!("{} is outside 1..=10000", gd.d));
        }
        if !positive(gd.lr) {
            return bad("gd.lr", "must be a positive number".into());
        }
        if !(gd.init_scale >= 0.0 && gd.init_scale.is_finite()) {
            return bad("gd.init_scale", "must be finite and >= 0".into());
        }
        if !gd.loss.is_classification() && !matches!(gd.loss, Loss::Square(_)) {
            return bad("gd.loss", "unsupported".into());
        }
    }
    s.claims.validate(spec)?;
    Ok(spec.resolved_toml(&s))
}

// ---------------------------------------------------------------- one run

/// Where a construction run's points come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Source {
    Gaussian,
    Cifar,
}

/// One construction run (a resumable unit).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct FitRecord {
    label: String,
    source: Source,
    targets: Targets,
    n: usize,
    d: usize,
    params: usize,
    max_abs_w: f64,
    weight_bound: f64,
    relative_error: f64,
    relative_bound: f64,
    rounding_ratio: f64,
    sign_accuracy: f64,
    resamples: usize,
    merged: usize,
    min_relative_gap: f64,
    a_norm: f64,
}

/// The Gaussian points and labels of cell (n, d, targets), run s: shared by the
/// construction and the GD contrast, so both see the same draw.
fn gaussian_problem(
    seed: u64,
    s: usize,
    n: usize,
    d: usize,
    targets: Targets,
) -> (Array2<f64>, Array1<f64>) {
    let mut rng = crate::rng::stream(
        seed,
        s as u64,
        &format!("gaussian:n{n}:d{d}:{}", targets.tag()),
    );
    let z = Array2::from_shape_simple_fn((n, d), || {
        Distribution::<f64>::sample(&StandardNormal, &mut rng)
    });
    let y = targets.draw(n, &mut rng);
    (z, y)
}

fn fit_run(
    label: String,
    source: Source,
    targets: Targets,
    z: &Array2<f64>,
    y: &Array1<f64>,
    opts: &ConstructionOptions,
    rng: &mut crate::rng::Rng,
) -> Result<FitRecord> {
    let (n, d) = z.dim();
    let c = construct(z.view(), y.view(), opts, rng)?;
    let r = fit_report(&c.net, z.view(), y.view());
    let a = c.net.direction();
    Ok(FitRecord {
        label,
        source,
        targets,
        n,
        d,
        params: c.net.parameter_count(),
        max_abs_w: c.net.max_abs_weight(),
        weight_bound: c.weight_bound,
        relative_error: r.relative_error,
        relative_bound: r.relative_bound,
        rounding_ratio: r.rounding_ratio,
        sign_accuracy: r.sign_accuracy,
        resamples: c.resamples,
        merged: c.merged,
        min_relative_gap: c.min_relative_gap,
        a_norm: a.dot(&a).sqrt(),
    })
}

/// One GD run (a resumable unit).
#[derive(Serialize, Deserialize)]
struct GdRecord {
    metrics: Metrics,
    /// First step with zero training error, if reached.
    zero_error_step: Option<usize>,
    final_error: f64,
}

fn gd_run(spec: &GdContrast, seed: u64, n: usize, s: usize) -> Result<GdRecord> {
    let d = spec.d;
    let (z, y) = gaussian_problem(seed, s, n, d, Targets::Sign);
    let x = with_bias_column((z / (d as f64).sqrt()).view());
    let mut rng = crate::rng::stream(seed, s as u64, &format!("gd:n{n}:d{d}:init"));
    let m = n;
    let w0 = gaussian_first_layer(d + 1, m, spec.init_scale, &mut rng);
    let a0 = second_layer(SecondLayerInit::RandomSign { scale: None }, &w0, &mut rng);
    let cfg = GdConfig {
        activation: Activation::Relu,
        loss: spec.loss,
        lr: spec.lr,
        weight_decay: 0.0,
        trained: TrainedLayers::Both,
    };
    let kind = choose_engine(EngineKind::Primal, n, d + 1, m, spec.steps);
    let mut gd = TwoLayerGd::new(cfg, kind, x, y.clone(), w0, a0)?;
    let schedule = log_schedule(spec.steps, LOG_DENSE_UNTIL, LOG_RATIO, &[]);
    let label = format!("gd:n{n}:d{d}:s{s}");
    let mut rec = GdRecord {
        metrics: Metrics::default(),
        zero_error_step: None,
        final_error: f64::NAN,
    };
    let mut next = 0;
    for t in 0..=spec.steps {
        let err = 1.0 - sign_accuracy(gd.train_outputs(), y.view());
        let done = err == 0.0;
        if (next < schedule.len() && schedule[next] == t) || done || t == spec.steps {
            while next < schedule.len() && schedule[next] <= t {
                next += 1;
            }
            rec.metrics.push(&label, t as u64, "train", "error", err);
            rec.metrics
                .push(&label, t as u64, "train", "loss", gd.train_loss());
        }
        rec.final_error = err;
        if done {
            rec.zero_error_step = Some(t);
            break;
        }
        if t < spec.steps {
            // A divergence names its run (as xor_grokking's do).
            gd.step().map_err(|e| match e {
                Error::Numerical(msg) => Error::Numerical(format!("run {label}: {msg}")),
                other => other,
            })?;
        }
    }
    let m = &mut rec.metrics;
    m.push(&label, 0, "summary", "n", n as f64);
    m.push(&label, 0, "summary", "d", d as f64);
    m.push(
        &label,
        0,
        "summary",
        "zero_error_step",
        rec.zero_error_step.map_or(-1.0, |t| t as f64),
    );
    m.push(&label, 0, "summary", "final_error", rec.final_error);
    Ok(rec)
}

// ---------------------------------------------------------------- CIFAR

/// The CIFAR pool as f64 rows, exact duplicate images dropped (keeping the
/// first), or why it is skipped.
fn cifar_pool(c: &CifarGrid) -> std::result::Result<(Array2<f64>, usize), String> {
    let dir = Path::new(&c.dir);
    if !dir.is_dir() {
        return Err(format!(
            "CIFAR folder {} not found: CIFAR runs skipped",
            dir.display()
        ));
    }
    let set = cifar::load(dir, cifar::Split::Train, &c.classes, Some(c.pool))
        .map_err(|e| format!("CIFAR runs skipped: {e}"))?;
    let dim = cifar::IMAGE_BYTES;
    let mut seen = std::collections::HashSet::new();
    let mut rows: Vec<f64> = Vec::with_capacity(set.pixels.len());
    let mut dropped = 0;
    for img in set.pixels.chunks_exact(dim) {
        let key: Vec<u32> = img.iter().map(|v| v.to_bits()).collect();
        if seen.insert(key) {
            rows.extend(img.iter().map(|&v| v as f64));
        } else {
            dropped += 1;
        }
    }
    let kept = rows.len() / dim;
    let x = Array2::from_shape_vec((kept, dim), rows).expect("whole images");
    Ok((x, dropped))
}

/// n distinct rows of the pool, chosen uniformly (partial Fisher-Yates).
fn cifar_subset(pool: &Array2<f64>, n: usize, rng: &mut crate::rng::Rng) -> Array2<f64> {
    let total = pool.nrows();
    let mut idx: Vec<usize> = (0..total).collect();
    for k in 0..n.min(total) {
        let j = k + rng.random_range(0..total - k);
        idx.swap(k, j);
    }
    let mut out = Array2::zeros((n.min(total), pool.ncols()));
    for (k, &i) in idx[..n.min(total)].iter().enumerate() {
        out.row_mut(k).assign(&pool.row(i));
    }
    out
}

// ---------------------------------------------------------------- the study

/// A construction job: which source, cell and seed.
#[derive(Clone, Copy, Debug)]
struct FitJob {
    source: Source,
    targets: Targets,
    n: usize,
    d: usize,
    s: usize,
}

/// The construction jobs: every Gaussian cell x seed, then every CIFAR cell
/// x seed when the CIFAR pool loads (returned with the jobs); `details`
/// records the pool, or why the CIFAR runs are skipped.
fn construction_jobs(
    spec: &ExpressivitySpec,
    details: &mut serde_json::Map<String, serde_json::Value>,
) -> (Vec<FitJob>, Option<Array2<f64>>) {
    let g = &spec.gaussian;
    let g_seeds = g.seeds;
    let mut jobs = Vec::new();
    for &targets in &g.targets {
        for &n in &g.n {
            for &d in &g.d {
                for s in 0..g_seeds {
                    jobs.push(FitJob {
                        source: Source::Gaussian,
                        targets,
                        n,
                        d,
                        s,
                    });
                }
            }
        }
    }
    let pool = match &spec.cifar {
        Some(c) => match cifar_pool(c) {
            Ok((pool, dropped)) => {
                details.insert(
                    "cifar".into(),
                    serde_json::json!({"dir": c.dir, "pool": pool.nrows(), "duplicates_dropped": dropped}),
                );
                let c_seeds = c.seeds;
                for &targets in &c.targets {
                    for &n in &c.n {
                        for s in 0..c_seeds {
                            jobs.push(FitJob {
                                source: Source::Cifar,
                                targets,
                                n: n.min(pool.nrows()),
                                d: pool.ncols(),
                                s,
                            });
                        }
                    }
                }
                Some(pool)
            }
            Err(note) => {
                eprintln!("note: {note}");
                details.insert("cifar".into(), serde_json::json!({"skipped": note}));
                None
            }
        },
        None => {
            details.insert(
                "cifar".into(),
                serde_json::json!({"skipped": "no [cifar] table in the spec"}),
            );
            None
        }
    };
    (jobs, pool)
}

/// One construction run: draw job `j`'s points and labels (Gaussian: shared
/// with the GD contrast; CIFAR: n distinct images of the pool) and fit them.
fn construction_run(
    spec: &ExpressivitySpec,
    seed: u64,
    pool: Option<&Array2<f64>>,
    j: FitJob,
) -> Result<FitRecord> {
    let tag = j.targets.tag();
    let (label, z, y, mut rng) = match j.source {
        Source::Gaussian => {
            let (z, y) = gaussian_problem(seed, j.s, j.n, j.d, j.targets);
            let rng = crate::rng::stream(
                seed,
                j.s as u64,
                &format!("gaussian:n{}:d{}:{tag}:direction", j.n, j.d),
            );
            let label = format!("gaussian:{tag}:n{}:d{}:s{}", j.n, j.d, j.s);
            (label, z, y, rng)
        }
        Source::Cifar => {
            let pool = pool.expect("CIFAR jobs only with a pool");
            let mut rng = crate::rng::stream(seed, j.s as u64, &format!("cifar:n{}:{tag}", j.n));
            let z = cifar_subset(pool, j.n, &mut rng);
            let y = j.targets.draw(j.n, &mut rng);
            let label = format!("cifar:{tag}:n{}:d{}:s{}", j.n, j.d, j.s);
            (label, z, y, rng)
        }
    };
    fit_run(
        label,
        j.source,
        j.targets,
        &z,
        &y,
        &spec.construction,
        &mut rng,
    )
}

/// The construction runs as metrics rows (split "construction", step 0).
fn construction_metrics(fits: &[FitRecord]) -> Metrics {
    let mut metrics = Metrics::default();
    for f in fits {
        let row = |m: &mut Metrics, k: &str, v: f64| m.push(&f.label, 0, "construction", k, v);
        row(&mut metrics, "n", f.n as f64);
        row(&mut metrics, "d", f.d as f64);
        row(&mut metrics, "params", f.params as f64);
        row(&mut metrics, "max_abs_w", f.max_abs_w);
        row(&mut metrics, "weight_bound", f.weight_bound);
        row(&mut metrics, "relative_fit_error", f.relative_error);
        row(&mut metrics, "relative_rounding_bound", f.relative_bound);
        row(&mut metrics, "rounding_ratio", f.rounding_ratio);
        row(&mut metrics, "sign_accuracy", f.sign_accuracy);
        row(&mut metrics, "resamples", f.resamples as f64);
        row(&mut metrics, "merged", f.merged as f64);
        row(&mut metrics, "min_relative_gap", f.min_relative_gap);
        row(&mut metrics, "a_norm", f.a_norm);
    }
    metrics
}

/// The experiment, prepared: the construction on every job (Gaussian
/// grid, CIFAR; sweep 0), then the GD contrast (sweep 1); the claims
/// (`claims`) and the summary details come from both.
struct Run {
    spec: ExpressivitySpec,
    seed: u64,
    jobs: Vec<FitJob>,
    pool: Option<Array2<f64>>,
    /// The GD contrast's (n, seed) jobs.
    gd_jobs: Vec<(usize, usize)>,
    details: serde_json::Map<String, serde_json::Value>,
}

fn plan(loaded: &LoadedSpec, _: &RunContext) -> Result<Box<dyn Plan>> {
    let spec: ExpressivitySpec = loaded.study_section()?;
    let mut details = serde_json::Map::new();
    let (jobs, pool) = construction_jobs(&spec, &mut details);
    let gd_jobs = spec.gd.as_ref().map_or(Vec::new(), |gd| {
        gd.n.iter()
            .flat_map(|&n| (0..gd.seeds).map(move |s| (n, s)))
            .collect()
    });
    Ok(Box::new(Run {
        spec,
        seed: loaded.header.seed,
        jobs,
        pool,
        gd_jobs,
        details,
    }))
}

impl Plan for Run {
    /// Costs: n^2 d for a construction, steps n^2 d for GD (width m = n).
    fn sweeps(&self) -> Vec<Sweep> {
        let fits = self.jobs.iter().map(|j| (j.n * j.n * j.d) as f64);
        let mut sweeps = vec![Sweep::new("construction", fits.collect())];
        if let Some(gd) = &self.spec.gd {
            let cost = |&(n, _): &(usize, usize)| (gd.steps * n * n * gd.d) as f64;
            sweeps.push(Sweep::new("gd", self.gd_jobs.iter().map(cost).collect()));
        }
        sweeps
    }

    /// The CIFAR pool, when it loaded: its shape and `record::words_hash`
    /// of its entries' f64 bits.
    fn data_identity(&self) -> Option<String> {
        let pool = self.pool.as_ref()?;
        let hash = crate::record::words_hash(pool.iter().map(|v| v.to_bits()));
        Some(format!(
            "CIFAR pool of {} distinct images x {} pixel values, words hash {hash}",
            pool.nrows(),
            pool.ncols()
        ))
    }

    fn run_unit(&self, sweep: usize, i: usize) -> Result<UnitResult> {
        if sweep == 0 {
            let pool = self.pool.as_ref();
            return UnitResult::of(construction_run(&self.spec, self.seed, pool, self.jobs[i]));
        }
        let ((n, s), gd) = (self.gd_jobs[i], self.spec.gd.as_ref());
        UnitResult::of(gd_run(
            gd.expect("a GD sweep only with [gd]"),
            self.seed,
            n,
            s,
        ))
    }

    fn findings(self: Box<Self>, mut results: Results) -> Result<Findings> {
        let (spec, mut details) = (self.spec, self.details);
        let fits: Vec<FitRecord> = results.take(0)?;
        let mut metrics = construction_metrics(&fits);
        let gd_records: Vec<GdRecord> = match spec.gd {
            Some(_) => results.take(1)?,
            None => Vec::new(),
        };
        for r in &gd_records {
            metrics.extend(r.metrics.clone());
        }
        let claims = claims(&spec, &fits, &gd_records, self.pool.is_some());
        measurement_details(&spec, &fits, &mut details);
        Ok(Findings {
            metrics,
            claims,
            details: serde_json::Value::Object(details),
            extra_files: Vec::new(),
        })
    }
}

/// The summary's measurements beyond the claims: median max|w| per cell,
/// the growth exponents for Gaussian labels, the CIFAR medians, the
/// resampling count and the construction options.
fn measurement_details(
    spec: &ExpressivitySpec,
    fits: &[FitRecord],
    details: &mut serde_json::Map<String, serde_json::Value>,
) {
    let medians = cell_medians(fits, Targets::Sign);
    let gaussian_targets = cell_medians(fits, Targets::Gaussian);
    let (_, alpha_g, beta_g) = if gaussian_targets.len() >= 2 {
        growth_exponents(&gaussian_targets)
    } else {
        (f64::NAN, f64::NAN, f64::NAN)
    };
    let cifar_medians: Vec<(usize, f64)> = {
        let mut ns: Vec<usize> = fits
            .iter()
            .filter(|f| f.source == Source::Cifar && f.targets == Targets::Sign)
            .map(|f| f.n)
            .collect();
        ns.sort_unstable();
        ns.dedup();
        ns.into_iter()
            .map(|n| {
                let v: Vec<f64> = fits
                    .iter()
                    .filter(|f| f.source == Source::Cifar && f.targets == Targets::Sign && f.n == n)
                    .map(|f| f.max_abs_w)
                    .collect();
                (n, quantile(&v, 0.5))
            })
            .collect()
    };
    let num = |v: f64| {
        if v.is_finite() {
            serde_json::json!(v)
        } else {
            serde_json::Value::Null
        }
    };
    details.insert(
        "median_max_abs_w_sign".into(),
        serde_json::json!(medians
            .iter()
            .map(|c| serde_json::json!({"n": c.0, "d": c.1, "median_max_abs_w": c.2}))
            .collect::<Vec<_>>()),
    );
    details.insert(
        "gaussian_targets_exponents".into(),
        serde_json::json!({"n": num(alpha_g), "d": num(beta_g)}),
    );
    details.insert(
        "cifar_median_max_abs_w_sign".into(),
        serde_json::json!(cifar_medians
            .iter()
            .map(|c| serde_json::json!({"n": c.0, "median_max_abs_w": c.1}))
            .collect::<Vec<_>>()),
    );
    details.insert(
        "paper_reference".into(),
        serde_json::json!("Zhang et al. ICLR 2017, Theorem 1 discussion: weights ~1e6 at n = 500, d = 20 (unverified; construction details of that number unknown; compare median_max_abs_w_sign)"),
    );
    details.insert(
        "resamples_total".into(),
        serde_json::json!(fits.iter().map(|f| f.resamples).sum::<usize>()),
    );
    details.insert(
        "construction_options".into(),
        serde_json::to_value(spec.construction).expect("options serialise"),
    );
}

/// The study `study = "expressivity"`.
pub const STUDY: StudyFns = StudyFns {
    name: "expressivity",
    run_keys: RUN_KEYS,
    validate,
    plan,
    figures: figures::plot,
    peak_memory: super::memory::expressivity,
    rejudge: None,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cifar_subset_draws_distinct_rows() {
        let pool = Array2::from_shape_fn((50, 3), |(i, k)| (i * 3 + k) as f64);
        let mut rng = crate::rng::stream(1, 0, "t");
        let sub = cifar_subset(&pool, 20, &mut rng);
        let mut firsts: Vec<i64> = sub.column(0).iter().map(|&v| v as i64).collect();
        firsts.sort_unstable();
        firsts.dedup();
        assert_eq!(firsts.len(), 20);
    }
}
