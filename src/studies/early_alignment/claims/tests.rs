//! The claims on synthetic runs: each holds, fails and is inconclusive
//! where it should.

use super::super::{alignment_step, training_points, Tolerances};
use super::*;
use crate::record::verdict_of as verdict;
use crate::record::verdicts as verdicts_of;
use crate::record::Metrics;
use crate::record::Verdict::{self, *};
use crate::theory::early_alignment::{ols, scan_sphere};

/// A spec with its data, scan, OLS fit and alignment step, as `run` computes them.
struct Setup {
    spec: EarlySpec,
    data: Points,
    scan: SphereScan,
    fit: OlsFit,
}

impl Setup {
    /// The claim inputs `run` would pass, with its alignment step.
    fn inputs(&self) -> ClaimInputs<'_> {
        ClaimInputs {
            spec: &self.spec,
            data: &self.data,
            scan: &self.scan,
            fit: &self.fit,
            t_align: alignment_step(&self.spec, self.scan.d_max),
        }
    }
}

fn setup(name: &str, seed: u64) -> Setup {
    let spec: EarlySpec = crate::spec::committed(name, false);
    let data = training_points(&spec, seed).unwrap();
    let scan = scan_sphere(&data, spec.model.gamma, spec.probes.scan_resolution).unwrap();
    let fit = ols(&data).unwrap();
    Setup {
        spec,
        data,
        scan,
        fit,
    }
}

/// What the synthetic runs record, as multiples of the theory's values.
#[derive(Clone, Copy)]
struct Run {
    final_mse: f64,
    output_shift: f64,
    loss_at_align: f64,
    cosine: f64,
    extra_clusters: f64,
    /// The fastest neuron's log-growth rate in units of D_max.
    growth_rate: f64,
    mass_neg: f64,
    plateau_end: f64,
    half: f64,
    sweep_small_mse: f64,
    sweep_large_mse: f64,
    sweep_slope: f64,
}

const AGREE: Run = Run {
    final_mse: 1.0,
    output_shift: 0.0,
    loss_at_align: 0.995,
    cosine: 0.9999,
    extra_clusters: 0.0,
    growth_rate: 0.999,
    mass_neg: 0.001,
    plateau_end: 1.0,
    half: 1.0,
    sweep_small_mse: 1.0,
    sweep_large_mse: 1e-3,
    sweep_slope: 1.0,
};

fn verdicts(s: &Setup, r: Run) -> Vec<(String, Verdict)> {
    verdicts_of(&claims_of(s, r))
}

/// The claim rows `judge` writes for the synthetic run `r`.
fn claims_of(s: &Setup, r: Run) -> Vec<Claim> {
    let inputs = s.inputs();
    let (ta, d_max) = (inputs.t_align as u64, s.scan.d_max);
    let flow = flow_time_per_step(s.spec.train.lr, s.spec.train.loss);
    let tau_1 = alignment_time(1.0, s.spec.model.lambda, d_max) / flow;
    let attracting = (s.scan.count(Attracts::Positive) + s.scan.count(Attracts::Negative)) as f64;
    let mut m = Metrics::default();
    let last = s.spec.train.steps as u64;
    m.push(MAIN, last, "train", "mse", r.final_mse * s.fit.mse);
    m.push(MAIN, 0, "train", "loss", 1.0);
    m.push(MAIN, ta, "train", "loss", r.loss_at_align);
    m.push(MAIN, ta, "align", "median_cos_pos", r.cosine);
    m.push(MAIN, ta, "align", "clusters", attracting + r.extra_clusters);
    m.push(
        MAIN,
        last,
        "align",
        "clusters",
        attracting + r.extra_clusters,
    );
    for step in [1, ta / 2, ta] {
        let g = (r.growth_rate * d_max * step as f64 * flow).exp();
        m.push(MAIN, step, "align", "max_growth", g);
    }
    m.push(MAIN, ta, "align", "mass_pos", 1.0);
    m.push(MAIN, ta, "align", "mass_neg", r.mass_neg);
    m.push(MAIN, 0, "phase", "plateau_end_step", r.plateau_end * tau_1);
    m.push(MAIN, 0, "phase", "half_step", r.half * tau_1);
    let main = RunRecord {
        metrics: m,
        final_outputs: s
            .fit
            .predictions
            .iter()
            .map(|p| p + r.output_shift)
            .collect(),
        snapshots: Vec::new(),
        fit: Vec::new(),
    };
    let sweep: Vec<RunRecord> = match &s.spec.lambda_sweep {
        None => Vec::new(),
        Some(sw) => sw
            .lambdas
            .iter()
            .enumerate()
            .map(|(i, &l)| {
                let mut m = Metrics::default();
                let mse = if i + 1 == sw.lambdas.len() {
                    r.sweep_large_mse
                } else if l <= sw.small_max {
                    r.sweep_small_mse
                } else {
                    0.5
                };
                m.push(
                    &lambda_run(i),
                    sw.steps as u64,
                    "train",
                    "mse",
                    mse * s.fit.mse,
                );
                m.push(
                    &lambda_run(i),
                    0,
                    "phase",
                    "half_step",
                    r.sweep_slope * (-l.ln()) / d_max / flow,
                );
                RunRecord {
                    metrics: m,
                    final_outputs: Vec::new(),
                    snapshots: Vec::new(),
                    fit: Vec::new(),
                }
            })
            .collect(),
    };
    judge(&inputs, &main, &sweep)
}

/// The claims of the two committed specs.
const THREE_POINTS: [&str; 14] = [
    "ols_fit.final_loss",
    "ols_fit.predictions",
    "ols_fit.two_neurons_interpolate",
    "alignment.loss_flat",
    "alignment.median_cosine",
    "alignment.clusters",
    "alignment.growth_bound",
    "alignment.fastest_rate",
    "alignment.negative_neurons_stay_small",
    "plateau.lasts_past_tau_quarter",
    "plateau.half_time_near_tau_one",
    "lambda_sweep.small_init_spurious",
    "lambda_sweep.large_init_interpolates",
    "lambda_sweep.escape_slope",
];
const SPARSE: [&str; 2] = [
    "sparse_fit.effective_neurons",
    "sparse_fit.no_interpolation",
];

fn three_points() -> Setup {
    setup("early_alignment_3pts", 3)
}

/// Not vacuous: runs that follow the theory make every claim hold.
#[test]
fn claims_hold_on_agreeing_measurements() {
    let v = verdicts(&three_points(), AGREE);
    let ids: Vec<&str> = v.iter().map(|(i, _)| i.as_str()).collect();
    assert_eq!(ids, THREE_POINTS);
    assert!(v.iter().all(|(_, v)| *v == Holds), "{v:?}");
    // Stewart: a sparse fit (no extra clusters; the final MSE 1x the OLS residual).
    let v = verdicts(&setup("early_alignment_stewart", 5), AGREE);
    for id in SPARSE {
        assert_eq!(verdict(&v, id), Holds, "{id}");
    }
}

/// The constructed interpolator's row is a check (it reads the data, not
/// the run); the network's own fit is the claim `ols_fit.final_loss`.
#[test]
fn the_two_neuron_interpolator_is_a_check() {
    let rows = claims_of(&three_points(), AGREE);
    let kind = |id: &str| rows.iter().find(|c| c.id == id).unwrap().kind;
    assert_eq!(
        kind("ols_fit.two_neurons_interpolate"),
        crate::record::Kind::Check
    );
    assert_eq!(kind("ols_fit.final_loss"), crate::record::Kind::Claim);
}

/// The spec's tolerances are what the verdicts read: for each key, a run
/// that holds under the committed value fails once the key is tightened
/// past its measurement.
#[test]
fn tightened_spec_tolerances_fail_the_agreeing_run() {
    type Tighten = fn(&mut Tolerances);
    let near = Run {
        final_mse: 0.9999,
        sweep_small_mse: 0.9999,
        output_shift: 1e-3,
        half: 1.1,
        sweep_slope: 1.05,
        ..AGREE
    };
    let holds_then_fails = |mut s: Setup, id: &str, tighten: Tighten| {
        assert_eq!(verdict(&verdicts(&s, near), id), Holds, "{id}");
        tighten(&mut s.spec.tolerances);
        assert_eq!(verdict(&verdicts(&s, near), id), Fails, "{id}");
    };
    let three_point_cases: [(&str, Tighten); 8] = [
        ("ols_fit.final_loss", |t| t.final_loss_rel = 1e-5),
        ("ols_fit.predictions", |t| t.prediction_dev = 1e-4),
        ("alignment.median_cosine", |t| t.median_cosine = 0.999_99),
        ("alignment.negative_neurons_stay_small", |t| {
            t.negative_share = 1e-4
        }),
        ("plateau.half_time_near_tau_one", |t| t.half_time_rel = 0.05),
        ("lambda_sweep.small_init_spurious", |t| {
            t.spurious_mse_ratio = 0.999_99
        }),
        ("lambda_sweep.large_init_interpolates", |t| {
            t.interpolating_mse_ratio = 1e-4
        }),
        ("lambda_sweep.escape_slope", |t| t.escape_slope_rel = 0.01),
    ];
    for (id, tighten) in three_point_cases {
        holds_then_fails(three_points(), id, tighten);
    }
    holds_then_fails(
        setup("early_alignment_stewart", 5),
        "sparse_fit.no_interpolation",
        |t| t.sparse_mse_ratio = 0.999_99,
    );
}

/// Each claim, violated in turn, fails.
#[test]
fn claims_fail_on_contradicting_measurements() {
    let s = three_points();
    let fails = |r: Run, ids: &[&str]| {
        let v = verdicts(&s, r);
        for id in ids {
            assert_eq!(verdict(&v, id), Fails, "{id}");
        }
    };
    fails(
        Run {
            final_mse: 0.5,
            ..AGREE
        },
        &["ols_fit.final_loss"],
    );
    fails(
        Run {
            output_shift: 0.1,
            ..AGREE
        },
        &["ols_fit.predictions"],
    );
    fails(
        Run {
            loss_at_align: 0.9,
            ..AGREE
        },
        &["alignment.loss_flat"],
    );
    fails(
        Run {
            cosine: 0.9,
            ..AGREE
        },
        &["alignment.median_cosine"],
    );
    fails(
        Run {
            extra_clusters: 1.0,
            ..AGREE
        },
        &["alignment.clusters"],
    );
    fails(
        Run {
            growth_rate: 2.5,
            ..AGREE
        },
        &["alignment.growth_bound", "alignment.fastest_rate"],
    );
    // Flow time or D_max off by a factor 2: the bound still holds, the
    // rate check does not.
    let half = verdicts(
        &s,
        Run {
            growth_rate: 0.5,
            ..AGREE
        },
    );
    assert_eq!(verdict(&half, "alignment.growth_bound"), Holds);
    assert_eq!(verdict(&half, "alignment.fastest_rate"), Fails);
    fails(
        Run {
            mass_neg: 0.5,
            ..AGREE
        },
        &["alignment.negative_neurons_stay_small"],
    );
    fails(
        Run {
            plateau_end: 0.1,
            ..AGREE
        },
        &["plateau.lasts_past_tau_quarter"],
    );
    fails(
        Run { half: 2.0, ..AGREE },
        &["plateau.half_time_near_tau_one"],
    );
    fails(
        Run {
            sweep_small_mse: 0.5,
            ..AGREE
        },
        &["lambda_sweep.small_init_spurious"],
    );
    // Still on the initial plateau, above the OLS residual: not at the OLS fit.
    fails(
        Run {
            sweep_small_mse: 3.0,
            ..AGREE
        },
        &["lambda_sweep.small_init_spurious"],
    );
    fails(
        Run {
            sweep_large_mse: 1.0,
            ..AGREE
        },
        &["lambda_sweep.large_init_interpolates"],
    );
    fails(
        Run {
            sweep_slope: 2.0,
            ..AGREE
        },
        &["lambda_sweep.escape_slope"],
    );
    let v = verdicts(
        &setup("early_alignment_stewart", 5),
        Run {
            extra_clusters: 100.0,
            final_mse: 1e-6,
            ..AGREE
        },
    );
    for id in SPARSE {
        assert_eq!(verdict(&v, id), Fails, "{id}");
    }
}

/// The growth bound is 1 at t = 0 by definition, so a record there alone
/// cannot decide the claim: inconclusive, with the reason. A violation
/// at t = 0 is likewise not counted against it.
#[test]
fn growth_bound_leaves_out_t_zero() {
    let s = three_points();
    let inputs = s.inputs();
    let judge_growth = |records: &[(u64, f64)]| {
        let mut m = Metrics::default();
        for &(step, g) in records {
            m.push(MAIN, step, "align", "max_growth", g);
        }
        let main = RunRecord {
            metrics: m,
            final_outputs: Vec::new(),
            snapshots: Vec::new(),
            fit: Vec::new(),
        };
        alignment_claims(&inputs, &main)
            .into_iter()
            .find(|c| c.id == "alignment.growth_bound")
            .unwrap()
    };
    let c = judge_growth(&[(0, 1.0)]);
    assert_eq!(c.verdict(), Inconclusive);
    assert!(c.reason.contains("(0, tau_eps]"), "{}", c.reason);
    let flow = flow_time_per_step(s.spec.train.lr, s.spec.train.loss);
    let within = 0.5 * growth_bound(flow, s.scan.d_max);
    assert_eq!(judge_growth(&[(0, 5.0), (1, within)]).verdict(), Holds);
    assert_eq!(
        judge_growth(&[(0, 1.0), (1, 4.0 * within)]).verdict(),
        Fails
    );
}

/// Runs that recorded nothing leave every claim inconclusive (the check of
/// the constructed interpolator reads the data alone, not the runs).
#[test]
fn claims_inconclusive_on_undefined_measurements() {
    let nan = f64::NAN;
    let undefined = Run {
        final_mse: nan,
        output_shift: nan,
        loss_at_align: nan,
        cosine: nan,
        extra_clusters: nan,
        growth_rate: nan,
        mass_neg: nan,
        plateau_end: nan,
        half: nan,
        sweep_small_mse: nan,
        sweep_large_mse: nan,
        sweep_slope: nan,
    };
    let v = verdicts(&three_points(), undefined);
    assert_eq!(v.len(), THREE_POINTS.len());
    let from_runs = v
        .iter()
        .filter(|(id, _)| id != "ols_fit.two_neurons_interpolate");
    assert!(from_runs.clone().all(|(_, v)| *v == Inconclusive), "{v:?}");
    assert_eq!(from_runs.count(), THREE_POINTS.len() - 1);
    assert_eq!(verdict(&v, "ols_fit.two_neurons_interpolate"), Holds);
    let v = verdicts(&setup("early_alignment_stewart", 5), undefined);
    for id in SPARSE {
        assert_eq!(verdict(&v, id), Inconclusive, "{id}");
    }
}
