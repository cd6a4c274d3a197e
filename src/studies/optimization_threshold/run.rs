//! One run of the optimization-threshold study: draw the teacher's data, fit
//! least squares to it (the reference every claim compares with), train the
//! wide network by full-batch GD, and read off the train MSE, the excess risk
//! on a fresh test set and the neurons' alignment to +-beta_hat.

use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::{ConvergeSpec, InitSpec, ThresholdSpec, STREAMS, SWEEP_STREAMS};
use crate::error::{Error, Result};
use crate::nets::wide::{init_params, Points, WideConfig, WideGd, WideInit, WideNet};
use crate::studies::toolkit::log_schedule;
use crate::studies::toolkit::probe::{probe_neurons, theorem_covers, ProbeOptions};
use crate::theory::early_alignment::{cosine, ols};

/// Gaussian inputs (row-major n x d) and targets <beta*, x> + sigma eps,
/// with the clean targets <beta*, x>; beta* = beta e_1.
fn teacher_sample(
    d: usize,
    n: usize,
    beta: f64,
    sigma: f64,
    rng: &mut crate::rng::Rng,
) -> (Points, Vec<f64>) {
    let x: Vec<f64> = (0..n * d).map(|_| StandardNormal.sample(rng)).collect();
    let clean: Vec<f64> = (0..n).map(|k| beta * x[k * d]).collect();
    let y = clean
        .iter()
        .map(|c| {
            let e: f64 = StandardNormal.sample(rng);
            c + sigma * e
        })
        .collect();
    (Points { d, x, y }, clean)
}

/// The data of one (d, n, seed) and its least-squares fit beta_hat.
struct Sample {
    train: Points,
    test: Points,
    test_clean: Vec<f64>,
    beta_hat: Vec<f64>,
    /// 1/n ||X beta_hat - y||^2.
    ols_train_mse: f64,
    /// ||beta_hat - beta*||^2 = E_x[(<beta_hat - beta*, x>)^2] (exact, x ~ N(0, I)).
    ols_test_excess: f64,
}

fn sample(spec: &ThresholdSpec, d: usize, n: usize, rng: &mut crate::rng::Rng) -> Result<Sample> {
    let t = &spec.teacher;
    let (train, _) = teacher_sample(d, n, t.beta_norm, t.sigma, rng);
    let (test, test_clean) = teacher_sample(d, t.n_test, t.beta_norm, t.sigma, rng);
    let fit = ols(&train)?;
    let ols_test_excess = fit
        .beta
        .iter()
        .enumerate()
        .map(|(c, b)| {
            let s = if c == 0 { t.beta_norm } else { 0.0 };
            (b - s) * (b - s)
        })
        .sum::<f64>();
    Ok(Sample {
        train,
        test,
        test_clean,
        beta_hat: fit.beta,
        ols_train_mse: fit.mse,
        ols_test_excess,
    })
}

/// Test excess risk 1/n_test sum (h(x) - <beta*, x>)^2 of the current net.
fn test_excess(gd: &mut WideGd, s: &Sample) -> f64 {
    let f = gd.predict(&s.test.x);
    f.iter()
        .zip(&s.test_clean)
        .map(|(f, c)| (f - c) * (f - c))
        .sum::<f64>()
        / s.test_clean.len() as f64
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Stop {
    /// The init has no convergence rule: it ran train.steps.
    Fixed,
    /// Train MSE / sigma^2 fell to `interpolated`.
    Interpolated,
    /// The relative change over a window fell below `rel_change`.
    Plateau,
    /// `max_steps` reached first: not converged.
    Cap,
}

impl Stop {
    /// Whether the run may decide a claim that needs a converged run.
    pub(super) fn converged(self) -> bool {
        self != Stop::Cap
    }
}

/// One run of the claims grid or the n* grid.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct RunRecord {
    pub train_mse: f64,
    pub test_excess: f64,
    pub ols_train_mse: f64,
    pub ols_test_excess: f64,
    pub clusters: f64,
    /// Share of the mass a_j^2 + ||w_j||^2 within cosine `aligned_cos` of
    /// sign(a_j) beta_hat / ||beta_hat||.
    pub aligned_mass: f64,
    pub steps: usize,
    pub stop: Stop,
    /// Train MSE at log-spaced steps (first seed only).
    pub curve: Vec<(u64, f64)>,
}

/// One job of the claims grid or the n* grid.
#[derive(Clone, Copy, Debug)]
pub(super) struct Job {
    pub dim: usize,
    pub n_index: usize,
    pub init: usize,
    pub seed: usize,
}

/// Which grid a `Job` belongs to: the purpose its data stream is drawn under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Grid {
    Claims,
    Nstar,
}

impl Grid {
    fn purpose(self) -> &'static str {
        match self {
            Grid::Claims => "data",
            Grid::Nstar => "threshold-data",
        }
    }
}

/// The net of `init` on the data of d, from `rng`.
fn start(
    spec: &ThresholdSpec,
    init: &InitSpec,
    lambda: f64,
    lr: f64,
    s: &Sample,
    rng: &mut crate::rng::Rng,
) -> Result<(WideGd, Vec<f64>, Vec<f64>)> {
    let d = s.train.d;
    let (a0, w0) = init_params(
        spec.model.m,
        d,
        &WideInit {
            scheme: init.scheme,
            lambda,
            symmetric: init.symmetric,
        },
        rng,
    );
    let cfg = WideConfig {
        gamma: spec.model.gamma,
        lr,
        loss: spec.train.loss,
    };
    let gd = WideGd::new(cfg, WideNet::from_arrays(&a0, &w0, d)?, s.train.clone())?;
    Ok((gd, a0, w0))
}

/// `gd.run(steps)`, a numerical failure naming the run.
fn advance(gd: &mut WideGd, steps: usize, what: &dyn Fn() -> String) -> Result<()> {
    gd.run(steps).map_err(|e| match e {
        Error::Numerical(msg) => Error::Numerical(format!("{}: {msg}", what())),
        other => other,
    })
}

/// Train to the end of the schedule: train.steps, or for an init with a
/// convergence rule until it converges or reaches its cap (checked at every
/// multiple of the window). Returns how it stopped and the seed-0 curve.
fn train(
    spec: &ThresholdSpec,
    gd: &mut WideGd,
    converge: Option<&ConvergeSpec>,
    keep_curve: bool,
    what: &dyn Fn() -> String,
) -> Result<(Stop, Vec<(u64, f64)>)> {
    let s2 = spec.teacher.sigma.powi(2);
    let t = &spec.train;
    let (cap, windows) = match converge {
        Some(c) => (
            c.max_steps,
            (1..=c.max_steps / c.window).map(|k| k * c.window).collect(),
        ),
        None => (t.steps, Vec::new()),
    };
    let mut curve = Vec::new();
    let mut last_check = gd.mse();
    for s in log_schedule(cap, t.dense_until, t.ratio, &windows) {
        let todo = s - gd.step_count();
        advance(gd, todo, what)?;
        let mse = gd.mse();
        if keep_curve {
            curve.push((s as u64, mse));
        }
        let Some(c) = converge else { continue };
        if s % c.window != 0 || s == 0 {
            continue;
        }
        if mse <= c.interpolated * s2 {
            return Ok((Stop::Interpolated, curve));
        }
        if (last_check - mse).abs() <= c.rel_change * last_check {
            return Ok((Stop::Plateau, curve));
        }
        last_check = mse;
    }
    Ok((
        if converge.is_some() {
            Stop::Cap
        } else {
            Stop::Fixed
        },
        curve,
    ))
}

/// Share of the mass a_j^2 + ||w_j||^2 in neurons whose direction is within
/// cosine `cos` of sign(a_j) u (NaN for a zero network). Cost O(m d).
pub(super) fn aligned_share(net: &WideNet, u: &[f64], cos: f64) -> f64 {
    let minus: Vec<f64> = u.iter().map(|v| -v).collect();
    let mut w = vec![0.0; net.dim()];
    let (mut aligned, mut total) = (0.0, 0.0);
    for j in 0..net.width() {
        let a = net.neuron(j, &mut w);
        let mass = a * a + w.iter().map(|v| v * v).sum::<f64>();
        total += mass;
        if cosine(&w, if a > 0.0 { u } else { &minus }) >= cos {
            aligned += mass;
        }
    }
    if total > 0.0 {
        aligned / total
    } else {
        f64::NAN
    }
}

/// One run of the claims grid (`Grid::Claims`) or the n* grid.
pub(super) fn run_grid(
    spec: &ThresholdSpec,
    master: u64,
    grid: Grid,
    job: &Job,
) -> Result<RunRecord> {
    let d = spec.dims[job.dim].d;
    let n = spec.dims[job.dim].n[job.n_index];
    let init = &spec.inits[job.init];
    // Data shared by every init of (d, n, seed): common random numbers.
    let stream = STREAMS.index(&[job.dim, job.n_index, job.seed]);
    let mut data_rng = crate::rng::stream(master, stream, grid.purpose());
    let s = sample(spec, d, n, &mut data_rng)?;
    let purpose = format!("{}-init-{}", grid.purpose(), init.id);
    let mut init_rng = crate::rng::stream(master, stream, &purpose);
    let (mut gd, a0, w0) = start(spec, init, init.lambda, init.lr, &s, &mut init_rng)?;
    let what = || format!("d = {d}, n = {n}, init {}, seed {}", init.id, job.seed);
    let (stop, curve) = train(
        spec,
        &mut gd,
        init.converge.as_ref(),
        job.seed == 0 && grid == Grid::Claims,
        &what,
    )?;
    let test_excess = test_excess(&mut gd, &s);
    let opts = ProbeOptions {
        gamma: spec.model.gamma,
        cluster_cos: spec.theory.cluster_cos,
        cluster_mass: spec.theory.cluster_mass,
    };
    // Directions: the sample least-squares direction +-beta_hat, the one an
    // OLS-like two-cluster fit needs (beta* itself misses beta_hat by the
    // estimation error).
    let norm = s.beta_hat.iter().map(|v| v * v).sum::<f64>().sqrt();
    let unit: Vec<f64> = s.beta_hat.iter().map(|v| v / norm).collect();
    let minus: Vec<f64> = unit.iter().map(|v| -v).collect();
    let eligible = theorem_covers(&a0, &w0, d);
    let probe = probe_neurons(
        gd.net(),
        &a0,
        &eligible,
        &s.train,
        std::slice::from_ref(&unit),
        std::slice::from_ref(&minus),
        &opts,
    );
    Ok(RunRecord {
        train_mse: gd.mse(),
        test_excess,
        ols_train_mse: s.ols_train_mse,
        ols_test_excess: s.ols_test_excess,
        clusters: probe.clusters as f64,
        aligned_mass: aligned_share(gd.net(), &unit, spec.theory.aligned_cos),
        steps: gd.step_count(),
        stop,
        curve,
    })
}

/// One job of the sweep: (n, lambda, seed) indices into `[sweep]`.
#[derive(Clone, Copy, Debug)]
pub(super) struct SweepJob {
    pub n_index: usize,
    pub lambda: usize,
    pub seed: usize,
}

/// One run of the sweep: the least-squares reference of its data and, at
/// every horizon of `sweep.horizons`, (train MSE, test excess).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct SweepRecord {
    pub ols_train_mse: f64,
    pub ols_test_excess: f64,
    pub at: Vec<(f64, f64)>,
}

/// One run of the sweep: the small init's scheme at lambda = lambdas[j],
/// sweep.lr, data and init directions shared by every lambda.
pub(super) fn run_sweep(spec: &ThresholdSpec, master: u64, job: &SweepJob) -> Result<SweepRecord> {
    let w = &spec.sweep;
    let (d, n, lambda) = (w.d, w.n[job.n_index], w.lambdas[job.lambda]);
    let stream = SWEEP_STREAMS.index(&[job.n_index, job.seed]);
    let s = sample(
        spec,
        d,
        n,
        &mut crate::rng::stream(master, stream, "sweep-data"),
    )?;
    let small = spec
        .inits
        .iter()
        .find(|i| i.id == super::SMALL)
        .expect("validated");
    let mut init_rng = crate::rng::stream(master, stream, "sweep-init");
    let (mut gd, _, _) = start(spec, small, lambda, w.lr, &s, &mut init_rng)?;
    let what = || format!("sweep n = {n}, lambda = {lambda}, seed {}", job.seed);
    let mut at = Vec::with_capacity(w.horizons.len());
    for &h in &w.horizons {
        let todo = h - gd.step_count();
        advance(&mut gd, todo, &what)?;
        at.push((gd.mse(), test_excess(&mut gd, &s)));
    }
    Ok(SweepRecord {
        ols_train_mse: s.ols_train_mse,
        ols_test_excess: s.ols_test_excess,
        at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    /// The convergence rule stops a run that interpolates at the first
    /// window where it has, a run on a plateau at the first flat window, and
    /// an unconverged one at the cap; without a rule it runs train.steps.
    #[test]
    fn convergence_rule_stops_where_stated() {
        let mut spec: ThresholdSpec = crate::spec::committed("optimization_threshold", true);
        spec.model.m = 20;
        spec.train.steps = 300;
        let mut rng = stream(1, 2, "t");
        let s = sample(&spec, 2, 3, &mut rng).unwrap();
        let init = spec.inits[0].clone();
        let what = || "test".to_string();
        let fresh = |lr: f64, rng: &mut crate::rng::Rng| {
            let mut i = init.clone();
            i.lambda = 1.0;
            start(&spec, &i, 1.0, lr, &s, rng).unwrap().0
        };
        let (mut gd, mut rng2) = (fresh(0.1, &mut rng), stream(1, 3, "t"));
        let (stop, _) = train(&spec, &mut gd, None, false, &what).unwrap();
        assert_eq!((stop, gd.step_count()), (Stop::Fixed, 300));
        // 3 points, 20 neurons, lr 0.1: interpolates long before 1e5 steps.
        let c = ConvergeSpec {
            window: 100,
            rel_change: 1e-12,
            interpolated: 1e-3,
            max_steps: 100_000,
        };
        let mut gd = fresh(0.1, &mut rng2);
        let (stop, _) = train(&spec, &mut gd, Some(&c), false, &what).unwrap();
        assert_eq!(stop, Stop::Interpolated);
        assert!(gd.step_count() % 100 == 0 && gd.step_count() < 100_000);
        assert!(gd.mse() <= 1e-3 * 0.25);
        // A step so small that nothing moves: a plateau at the first window.
        let c = ConvergeSpec {
            rel_change: 0.5,
            interpolated: 1e-30,
            ..c
        };
        let mut gd = fresh(1e-12, &mut rng2);
        let (stop, _) = train(&spec, &mut gd, Some(&c), false, &what).unwrap();
        assert_eq!((stop, gd.step_count()), (Stop::Plateau, 100));
        // Neither: the cap.
        let c = ConvergeSpec {
            rel_change: 1e-300,
            max_steps: 300,
            ..c
        };
        let mut gd = fresh(1e-3, &mut rng2);
        let (stop, _) = train(&spec, &mut gd, Some(&c), false, &what).unwrap();
        assert_eq!((stop, gd.step_count()), (Stop::Cap, 300));
        assert!(!stop.converged() && Stop::Plateau.converged());
    }

    /// The aligned share counts a neuron by the sign of its a_j: +u for
    /// a_j > 0, -u for a_j < 0, weighted by a_j^2 + ||w_j||^2.
    #[test]
    fn aligned_share_follows_the_sign_of_a() {
        // Neurons: (a, w) = (1, u) aligned, (-1, -u) aligned, (1, -u) not.
        let u = [0.6, 0.8];
        let a = [1.0, -1.0, 1.0];
        let w = [0.6, 0.8, -0.6, -0.8, -0.6, -0.8];
        let net = WideNet::from_arrays(&a, &w, 2).unwrap();
        assert!((aligned_share(&net, &u, 0.99) - 2.0 / 3.0).abs() < 1e-15);
        let zero = WideNet::from_arrays(&[0.0], &[0.0, 0.0], 2).unwrap();
        assert!(aligned_share(&zero, &u, 0.99).is_nan());
    }
}
