//! Study 4: the course project's CNN width sweep on 4-class CIFAR-10 (seed
//! 003, code github ItayAbuhazera/OverparameterizationProject; Nakkiran et
//! al. 2019, deep double descent, for label noise).
//!
//! Data: CIFAR-10 classes automobile, frog, horse, ship (relabelled 0..3),
//! pixels in [-1, 1] (`data::cifar`); optional label noise drawn once per
//! (noise level, seed), uniform among the wrong classes, the clean labels
//! kept. Model: the course CNN by (k, h1, h2) (`nets::cnn`), PyTorch's
//! default init. Training: mini-batch SGD with momentum, cross-entropy, a
//! seeded shuffle per epoch, the same epoch budget for every width or each
//! width its Table 1 budget (`spec::Budget`).
//! Measured per epoch on the WHOLE sets (not the last mini-batch): train
//! loss and error (against the labels trained on, and against the clean
//! labels under noise), test loss and error. Per run: the project's own
//! metrics (best-epoch train error, mean test error of the last 10 epochs)
//! and the plain final-epoch ones.
//! Claims (`claims`): the project's Table 1 test errors within the seed
//! spread; the interpolation threshold above n; per noise level the
//! double-descent peak near the width where the effective model complexity
//! reaches n (`claims::find_peak`), and under label noise lower test error
//! for the largest model than at that peak. Tables (`tables`): table.csv
//! (medians per cell) and runs.csv (per model, enough to recompute the
//! claims: `rejudge`).
//! Figures (`figures`): error vs parameters, test error vs epoch.
//! Every model is one unit of the run: several train at once, one
//! per core with one BLAS thread each.

mod claims;
mod figures;
mod interpolation;
mod largest;
mod rejudge;
mod reported_peak;
mod scale;
mod spec;
mod table1;
mod tables;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use self::claims::{claims, Cell};
use self::spec::{arch_of, params_of};
pub use self::spec::{
    validate, Budget, ClaimSpec, CnnSweepSpec, DataSpec, FigureSpec, ModelSpec, PeakScale,
    TableRow, TrainSpec, RUN_KEYS,
};
pub(crate) use self::spec::{JOB_STREAMS, NOISE_STREAMS};
use super::toolkit::cell_runs;
use super::toolkit::cnn::{
    device_of_run, epoch_metrics, load_cifar_pair, record_device, train_state, training_flops,
    CifarPair, OpenedDevice,
};
use super::toolkit::csv::to_csv;
use super::{Findings, Plan, Results, StudyFns, Sweep, UnitResult};
use crate::data::cifar;
use crate::error::Result;
use crate::nets::cnn::{
    checkpoint, fit, EpochEval, FitConfig, FitData, Images, Model, TrainStateFile,
};
use crate::record::Metrics;
use crate::runner::RunContext;
use crate::spec::LoadedSpec;

// ---------------------------------------------------------------- one run

/// What one model's training measured (one resumable unit).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct RunRecord {
    metrics: Metrics,
    params: usize,
    best_train_error: f64,
    last10_test_error: f64,
    final_train_error: f64,
    final_test_error: f64,
}

/// The run label: noise level, architecture, seed index.
fn run_label(eta: f64, arch: &[usize; 3], s: usize) -> String {
    format!("eta{eta}:{}:s{s}", arch_of(arch).label())
}

fn load_data(loaded: &LoadedSpec, spec: &CnnSweepSpec, dir: &Path) -> Result<CifarPair> {
    load_cifar_pair(
        loaded,
        dir,
        &spec.data.classes,
        spec.data.train,
        spec.data.test,
    )
}

/// Train one model and measure it on the whole sets.
#[allow(clippy::too_many_arguments)]
fn train_run(
    spec: &CnnSweepSpec,
    data: &CifarPair,
    seed: u64,
    level: usize,
    arch_i: usize,
    s: usize,
    checkpoint_dir: &Path,
    state: &TrainStateFile,
) -> Result<RunRecord> {
    let eta = spec.data.label_noise[level];
    let arch = &spec.model.archs[arch_i];
    let label = run_label(eta, arch, s);
    let classes = spec.data.classes.len();
    let t = &spec.train;
    let epochs = spec.epochs_of(arch_i);
    // Noise is shared by every width at a given (level, seed): common random numbers.
    let mut noise_rng = crate::rng::stream(seed, NOISE_STREAMS.index(&[level, s]), "label-noise");
    let (noisy, _) = cifar::noisy_labels(
        &data.train.labels,
        classes,
        eta,
        spec.data.flip_rule,
        &mut noise_rng,
    );
    let job = JOB_STREAMS.index(&[level, arch_i, s]);
    let mut model = Model::for_arch(&arch_of(arch), classes)?;
    match &t.init_from {
        Some(path) => {
            checkpoint::load(&mut model, Path::new(path))?;
        }
        None => model.init_pytorch(&mut crate::rng::stream(seed, job, "init")),
    }
    let data = FitData {
        train: Images {
            pixels: &data.train.pixels,
            labels: &noisy,
        },
        train_clean_labels: (eta > 0.0).then_some(&data.train.labels[..]),
        test: Images {
            pixels: &data.test.pixels,
            labels: &data.test.labels,
        },
    };
    let cfg = FitConfig {
        epochs,
        batch: t.batch,
        eval_batch: t.eval_batch,
        eval_every: t.eval_every,
        sgd: t.sgd(t.lr),
        stop_at_zero_train_error: false,
        device: t.device,
    };
    let meta: BTreeMap<String, String> = [
        ("arch".to_string(), arch_of(arch).label()),
        ("run".to_string(), label.clone()),
        ("source".to_string(), "overfit cnn_sweep".to_string()),
    ]
    .into_iter()
    .collect();
    // A user checkpoint every `checkpoint_every` epochs; the same epochs are
    // the resume points of this unit (its state file in the unit store).
    let user_checkpoint = |epoch: usize, model: &Model| {
        if t.checkpoints
            && t.checkpoint_every > 0
            && epoch.is_multiple_of(t.checkpoint_every)
            && epoch < epochs
        {
            checkpoint::save(
                model,
                &checkpoint_dir.join(format!("{}.epoch{epoch}.safetensors", file_safe(&label))),
                &meta,
            )?;
        }
        Ok(())
    };
    let shuffle = crate::rng::stream(seed, job, "shuffle");
    let out = fit(
        &mut model,
        &data,
        &cfg,
        shuffle,
        Some(state),
        &label,
        user_checkpoint,
    )?;
    let metrics = epoch_metrics(&label, &out.evals);
    let trained: Vec<&EpochEval> = out.evals.iter().filter(|ev| ev.epoch > 0).collect();
    let train_errors: Vec<f64> = trained.iter().map(|ev| ev.train_error).collect();
    let test_errors: Vec<(usize, f64)> =
        trained.iter().map(|ev| (ev.epoch, ev.test_error)).collect();
    if t.checkpoints {
        checkpoint::save(
            &model,
            &checkpoint_dir.join(format!("{}.safetensors", file_safe(&label))),
            &meta,
        )?;
    }
    let last10: Vec<f64> = test_errors
        .iter()
        .filter(|(ep, _)| ep + 10 > epochs)
        .map(|p| p.1)
        .collect();
    let rec = RunRecord {
        params: model.param_count(),
        best_train_error: train_errors.iter().cloned().fold(f64::INFINITY, f64::min),
        last10_test_error: last10.iter().sum::<f64>() / last10.len().max(1) as f64,
        final_train_error: *train_errors.last().unwrap_or(&f64::NAN),
        final_test_error: test_errors.last().map(|p| p.1).unwrap_or(f64::NAN),
        metrics,
    };
    let mut rec = rec;
    let e = epochs as u64;
    for (metric, v) in [
        ("params", rec.params as f64),
        ("label_noise", eta),
        ("best_train_error", rec.best_train_error),
        ("last10_test_error", rec.last10_test_error),
        ("final_train_error", rec.final_train_error),
        ("final_test_error", rec.final_test_error),
    ] {
        rec.metrics.push(&label, e, "final", metric, v);
    }
    Ok(rec)
}

/// A run label as a file name: every character other than ASCII letters,
/// digits, '-' and '.' becomes '_'.
fn file_safe(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

// ---------------------------------------------------------------- the study

/// The experiment: every (noise level, architecture, seed) is one model
/// trained by `train_run`; the runs of each (level, architecture) form a
/// cell, judged by `claims` and summarised (medians) in table.csv.
struct Run {
    spec: CnnSweepSpec,
    seed: u64,
    name: String,
    ctx: RunContext,
    dir: PathBuf,
    data: CifarPair,
    /// The device the spec asked for and the one that runs (also `spec.train.device`).
    device: OpenedDevice,
    /// Every (noise level, architecture, seed).
    jobs: Vec<(usize, usize, usize)>,
}

pub fn plan(loaded: &LoadedSpec, ctx: &RunContext) -> Result<Box<dyn Plan>> {
    let mut spec: CnnSweepSpec = loaded.study_section()?;
    let dir: PathBuf = ctx
        .data
        .clone()
        .unwrap_or_else(|| PathBuf::from(&spec.data.dir));
    let device = device_of_run(loaded, spec.train.device, ctx)?;
    spec.train.device = device.ran;
    let data = load_data(loaded, &spec, &dir)?;
    let runs = spec.train.runs;
    let archs = spec.model.archs.len();
    let jobs = (0..spec.data.label_noise.len())
        .flat_map(|l| (0..archs).flat_map(move |a| (0..runs).map(move |s| (l, a, s))))
        .collect();
    Ok(Box::new(Run {
        spec,
        seed: loaded.header.seed,
        name: loaded.header.name.clone(),
        ctx: ctx.clone(),
        dir,
        data,
        device,
        jobs,
    }))
}

impl Plan for Run {
    /// Cost: the width's epochs x training images x training flops per
    /// image (`toolkit::cnn::training_flops`; parameters would make the
    /// small widths look 100x cheaper than they are).
    fn sweeps(&self) -> Vec<Sweep> {
        let (spec, classes) = (&self.spec, self.spec.data.classes.len());
        let n = self.data.train.len() as f64;
        let cost = |&(_, a, _): &(usize, usize, usize)| {
            let arch = arch_of(&spec.model.archs[a]);
            n * spec.epochs_of(a) as f64 * training_flops(&arch, classes)
        };
        vec![Sweep::new(&self.name, self.jobs.iter().map(cost).collect())]
    }

    fn data_identity(&self) -> Option<String> {
        Some(self.data.identity())
    }

    fn run_unit(&self, _: usize, i: usize) -> Result<UnitResult> {
        let (l, a, s) = self.jobs[i];
        let checkpoint_dir = self.ctx.outputs_dir().join("checkpoints");
        let state = train_state(&self.ctx, &self.name, i, self.spec.train.checkpoint_every);
        UnitResult::of(train_run(
            &self.spec,
            &self.data,
            self.seed,
            l,
            a,
            s,
            &checkpoint_dir,
            &state,
        ))
    }

    fn findings(self: Box<Self>, mut results: Results) -> Result<Findings> {
        let records: Vec<RunRecord> = results.take(0)?;
        Ok(findings(&self, &records))
    }
}

/// The cells' claims and table.csv from every run's record.
fn findings(run: &Run, records: &[RunRecord]) -> Findings {
    let Run {
        spec,
        dir,
        data,
        jobs,
        ..
    } = run;
    let runs = spec.train.runs;
    let levels = spec.data.label_noise.len();
    let archs = spec.model.archs.len();
    let mut metrics = Metrics::default();
    for r in records {
        metrics.rows.extend(r.metrics.rows.iter().cloned());
    }
    // cells[l][a]: the runs of noise level l and architecture a.
    let classes = spec.data.classes.len();
    let cells: Vec<Vec<Cell>> = (0..levels)
        .map(|l| {
            (0..archs)
                .map(|a| Cell {
                    params: params_of(&spec.model.archs[a], classes),
                    runs: cell_runs(jobs, records, l, a),
                })
                .collect()
        })
        .collect();
    let claims = claims(spec, &cells, runs);

    let mut details = serde_json::json!({
        "data_dir": dir.display().to_string(),
        "train_images": data.train.len(),
        "test_images": data.test.len(),
        "epochs": spec.train.epochs,
        "budget": spec.budget_text(),
        "batch": spec.train.batch,
        "runs": runs,
        "table": "medians over runs in table.csv; per-run values in runs.csv",
        "threads_note": "one model per job of the sweep, one BLAS thread each when several jobs run at once",
    });
    record_device(&mut details, &run.device);
    Findings {
        metrics,
        claims,
        details,
        extra_files: vec![
            ("table.csv".into(), to_csv(&tables::cell_rows(spec, &cells))),
            ("runs.csv".into(), to_csv(&tables::seed_rows(spec, &cells))),
        ],
    }
}

/// The study `study = "cnn_sweep"`.
pub const STUDY: StudyFns = StudyFns {
    name: "cnn_sweep",
    run_keys: RUN_KEYS,
    validate,
    plan,
    figures: figures::plot,
    peak_memory: super::memory::cnn_sweep,
    rejudge: Some(rejudge::rejudge),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nets::cnn::Arch;

    /// A tiny CIFAR folder: records with random bytes and labels among 1, 6, 7, 8 (and 0, filtered out).
    fn fake_cifar(dir: &Path, train: usize, test: usize) {
        use rand::RngExt;
        let mut rng = crate::rng::stream(1, 0, "fake-cifar");
        let mut write = |name: &str, n: usize| {
            let mut b = Vec::new();
            for i in 0..n {
                b.push([1u8, 6, 7, 8, 0][i % 5]);
                b.extend((0..cifar::IMAGE_BYTES).map(|_| rng.random::<u8>()));
            }
            std::fs::write(dir.join(name), b).unwrap();
        };
        write("data_batch_1.bin", train);
        write("test_batch.bin", test);
    }

    #[test]
    fn a_tiny_sweep_runs_end_to_end_on_generated_files() {
        let data = tempfile::tempdir().unwrap();
        fake_cifar(data.path(), 60, 30);
        let out = tempfile::tempdir().unwrap();
        let spec_path = out.path().join("s.toml");
        std::fs::write(
            &spec_path,
            "name = \"t\"\nstudy = \"cnn_sweep\"\nseed = 1\n[data]\ntrain = 40\ntest = 20\nlabel_noise = [0.0, 0.5]\n\
             [model]\narchs = [[2, 6, 4], [4, 10, 6], [6, 12, 8]]\n\
             [train]\nepochs = 2\nbatch = 4\nlr = 1e-2\nmomentum = 0.9\nruns = 2\ncheckpoints = true\n",
        )
        .unwrap();
        let mut ctx = RunContext::new(out.path().join("run"), 2);
        ctx.data = Some(data.path().to_path_buf());
        let summary = match crate::runner::execute(&spec_path, &ctx).unwrap() {
            crate::runner::Outcome::Finished(s) => *s,
            _ => panic!("not finished"),
        };
        assert!(summary
            .claims
            .iter()
            .any(|c| c.id == "noise0.5.largest_below_peak"));
        let metrics = Metrics::read(&out.path().join("run/metrics.csv")).unwrap();
        // 2 levels x 3 archs x 2 runs, epochs 0..=2, train/test loss/error (+ clean error under noise).
        assert_eq!(metrics.series("test", "error").len(), 12);
        assert_eq!(metrics.series("train_clean", "error").len(), 6);
        assert!(out.path().join("run/figures/error_vs_params.svg").is_file());
        // runs.csv: one row per trained model, with its budget.
        let rows: Vec<tables::SeedRow> =
            crate::studies::toolkit::csv::read_csv(&out.path().join("run/runs.csv")).unwrap();
        assert_eq!(rows.len(), 12);
        assert!(rows.iter().all(|r| r.epochs == 2));
        // Rejudged from runs.csv alone, the claims are the run's; a runs.csv
        // that is not the spec's models is bad input naming its row.
        let run_dir = out.path().join("run");
        let entry = crate::runner::rejudge(&run_dir).unwrap();
        assert!(entry.changes.is_empty(), "{:?}", entry.changes);
        let rejudged = crate::record::Summary::read(&run_dir).unwrap();
        // (As JSON, where an undefined value is null: NaN != NaN.)
        let json = |c: &[crate::record::Claim]| serde_json::to_string(c).unwrap();
        assert_eq!(json(&rejudged.claims), json(&summary.claims));
        assert_eq!(rejudged.rejudged.len(), 1);
        let text = std::fs::read_to_string(run_dir.join("runs.csv")).unwrap();
        std::fs::write(run_dir.join("runs.csv"), text.replacen(",6,4,", ",6,5,", 1)).unwrap();
        let err = crate::runner::rejudge(&run_dir).unwrap_err().to_string();
        assert!(
            err.contains("runs.csv: row 2: label_noise 0, arch [2, 6, 5]"),
            "{err}"
        );
        assert_eq!(
            crate::record::Summary::read(&run_dir)
                .unwrap()
                .rejudged
                .len(),
            1
        );
        // The checkpoint of a run loads back into its architecture.
        let mut m = Model::for_arch(
            &Arch::CourseCnn {
                k: 4,
                h1: 10,
                h2: 6,
            },
            4,
        )
        .unwrap();
        checkpoint::load(
            &mut m,
            &out.path()
                .join("run/checkpoints/eta0_cnn4-10-6_s1.safetensors"),
        )
        .unwrap();
        // Missing data is bad input naming the folder.
        ctx.data = Some(data.path().join("absent"));
        let Err(e) = crate::runner::execute(&spec_path, &ctx) else {
            panic!("absent data accepted")
        };
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("absent"), "{e}");
    }

    #[test]
    fn labels_group_by_noise_and_arch() {
        let l = run_label(0.1, &[5, 15, 10], 2);
        assert_eq!(l, "eta0.1:cnn5-15-10:s2");
        assert_eq!(
            crate::studies::toolkit::cnn::group_of(&l),
            ("eta0.1".into(), "cnn5-15-10".into())
        );
    }
}
