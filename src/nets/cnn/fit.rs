//! One CNN training run, top to bottom, on any `Backend` (the CPU, or a
//! GPU with `--features cuda`): measure at epoch 0, then per epoch
//! one shuffled pass of SGD (`train_epoch`) and, every `eval_every` epochs,
//! the loss and error on the WHOLE training and test sets (not the running
//! mini-batch averages). Optionally stop at the first measured epoch with
//! zero training error (the randomization tests' "train until it fits").
//!
//! Resumable: every `save_every` epochs the full training state (weights,
//! momentum buffers, the epoch and the measurements so far) is written
//! atomically to one safetensors file. A run started with that file
//! continues from its epoch and ends bit-identical to an uninterrupted run:
//! the shuffle stream is replayed (re-shuffling an index vector is cheap),
//! so no generator state needs saving.
//!
//! Cost per epoch: n training examples forward + backward, plus every
//! `eval_every` epochs (n + n_test) forward passes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::backend::{evaluate_on, Backend, ChosenDevice, Cpu, Device};
use super::checkpoint::{self, Tensor};
use super::model::{Images, Model};
use super::train::{shuffle_order, train_epoch, Sgd, SgdConfig};
use crate::error::{Error, Result};
use crate::rng::Rng;

/// How to train.
#[derive(Clone, Debug, PartialEq)]
pub struct FitConfig {
    /// Epoch budget.
    pub epochs: usize,
    pub batch: usize,
    /// Examples per forward pass when measuring (memory only; results do not depend on it).
    pub eval_batch: usize,
    /// Measure every this many epochs (and always at epoch 0 and the last epoch).
    pub eval_every: usize,
    pub sgd: SgdConfig,
    /// Stop at the first measured epoch whose training error is exactly 0.
    pub stop_at_zero_train_error: bool,
    /// Where to train (`Device::choose`).
    pub device: Device,
}

/// The data of one run. `train.labels` are the labels trained on (possibly
/// noisy or random); `train_clean_labels`, when given, are also scored.
#[derive(Clone, Copy, Debug)]
pub struct FitData<'a> {
    pub train: Images<'a>,
    pub train_clean_labels: Option<&'a [u8]>,
    pub test: Images<'a>,
}

/// The measurements at one epoch (epoch 0 = at initialisation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochEval {
    pub epoch: usize,
    /// SGD steps taken so far.
    pub step: u64,
    pub train_loss: f64,
    pub train_error: f64,
    /// Error against the clean training labels (when `train_clean_labels` is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_clean_error: Option<f64>,
    pub test_loss: f64,
    pub test_error: f64,
}

/// What a run measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitOutcome {
    /// Every measured epoch, in order, epoch 0 first.
    pub evals: Vec<EpochEval>,
    /// Epochs trained (< the budget when stopped at zero training error).
    pub epochs_run: usize,
    /// SGD steps taken.
    pub steps_run: u64,
    /// The first measured epoch with zero training error, if any.
    pub zero_train_error_epoch: Option<usize>,
}

/// Where a run keeps its resumable state.
#[derive(Clone, Debug)]
pub struct TrainStateFile {
    pub path: PathBuf,
    /// Write the state every this many epochs (0: never).
    pub save_every: usize,
    /// Start from the file when it exists (otherwise it is ignored and overwritten).
    pub resume: bool,
    /// Called before each write of the state (the runner's unit store lists
    /// the build and machine that wrote it, as before a unit's result lands).
    pub before_save: Option<BeforeSave>,
}

/// A call made before a state file is written; its error stops the run.
#[derive(Clone)]
pub struct BeforeSave(pub std::sync::Arc<dyn Fn() -> Result<()> + Send + Sync>);

impl std::fmt::Debug for BeforeSave {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BeforeSave")
    }
}

const STATE_FORMAT: &str = "overfit-cnn-train-state-1";
const VELOCITY: &str = "optimizer.momentum_buffer";

/// SGD steps per epoch over n examples in batches of `batch`.
pub fn steps_per_epoch(n: usize, batch: usize) -> u64 {
    n.div_ceil(batch) as u64
}

/// Train `model` (already initialised) on `data` on `cfg.device`; `shuffle`
/// is the run's shuffle stream as created (fresh). `label` names the run in
/// errors. `after_epoch(epoch, model)` runs after each training epoch (user
/// checkpoints). On return `model` holds the trained parameters.
pub fn fit(
    model: &mut Model,
    data: &FitData,
    cfg: &FitConfig,
    shuffle: Rng,
    state: Option<&TrainStateFile>,
    label: &str,
    after_epoch: impl FnMut(usize, &Model) -> Result<()>,
) -> Result<FitOutcome> {
    assert!(cfg.batch >= 1 && cfg.eval_every >= 1 && cfg.eval_batch >= 1);
    let mut sgd = Sgd::new(cfg.sgd, model.param_count());
    let mut resumed = None;
    if let Some(st) = state.filter(|s| s.resume && s.path.exists()) {
        let (epoch, saved) = load_state(&st.path, model, &mut sgd, label)?;
        eprintln!(
            "run {label}: resuming after epoch {epoch} from {}",
            st.path.display()
        );
        resumed = Some((epoch, saved));
    }
    let device = cfg
        .device
        .choose()
        .map_err(|m| Error::bad(format!("run {label}: device {}: {m}", cfg.device.name())))?;
    let run = Epochs {
        data,
        cfg,
        state,
        label,
    };
    match device {
        ChosenDevice::Cpu => {
            let mut cpu = Cpu::new(model, sgd, 1, cfg.batch, cfg.eval_batch);
            run.drive(&mut cpu, shuffle, resumed, after_epoch)
        }
        #[cfg(feature = "cuda")]
        ChosenDevice::Cuda(gpu) => {
            let capacity = cfg.batch.max(cfg.eval_batch);
            let mut dev = crate::gpu::GpuModel::from_host(gpu, model, &sgd, capacity)?;
            let out = run.drive(&mut dev, shuffle, resumed, after_epoch)?;
            model.params.copy_from_slice(&dev.host()?.0.params);
            Ok(out)
        }
    }
}

/// The epoch loop of one run, the same for every backend.
struct Epochs<'a> {
    data: &'a FitData<'a>,
    cfg: &'a FitConfig,
    state: Option<&'a TrainStateFile>,
    label: &'a str,
}

impl Epochs<'_> {
    /// Measure at epoch 0 (unless `resumed` after some epoch with the
    /// measurements so far), then train and measure epoch by epoch.
    fn drive<B: Backend + ?Sized>(
        &self,
        backend: &mut B,
        mut shuffle: Rng,
        resumed: Option<(usize, Vec<EpochEval>)>,
        mut after_epoch: impl FnMut(usize, &Model) -> Result<()>,
    ) -> Result<FitOutcome> {
        let Epochs {
            data,
            cfg,
            state,
            label,
        } = *self;
        let n = data.train.len();
        let per_epoch = steps_per_epoch(n, cfg.batch);
        let mut order: Vec<usize> = (0..n).collect();
        let mut evals = Vec::new();
        let mut first_epoch = 0;
        if let Some((epoch, saved)) = resumed {
            for _ in 0..epoch {
                shuffle_order(&mut order, &mut shuffle);
            }
            evals = saved;
            first_epoch = epoch + 1;
        }
        let mut stopped_at = None;
        for epoch in first_epoch..=cfg.epochs {
            if epoch > 0 {
                train_epoch(backend, &data.train, &mut order, cfg.batch, &mut shuffle).map_err(
                    |e| match e {
                        Error::Numerical(m) => {
                            Error::Numerical(format!("run {label}, epoch {epoch}: {m}"))
                        }
                        other => other,
                    },
                )?;
                after_epoch(epoch, backend.host()?.0)?;
            }
            if epoch % cfg.eval_every == 0 || epoch == cfg.epochs {
                let tr = evaluate_on(backend, &data.train, data.train_clean_labels)?;
                let te = evaluate_on(backend, &data.test, None)?;
                // The training loop checks each mini-batch's loss before its
                // step, so a blow-up in an epoch's last step shows only here.
                for (set, loss) in [("train", tr.loss), ("test", te.loss)] {
                    if !loss.is_finite() {
                        return Err(Error::Numerical(format!(
                            "run {label}, epoch {epoch}: the {set} loss is {loss} (weights overflowed; lower the learning rate?)"
                        )));
                    }
                }
                evals.push(EpochEval {
                    epoch,
                    step: epoch as u64 * per_epoch,
                    train_loss: tr.loss,
                    train_error: tr.error,
                    train_clean_error: tr.other_error,
                    test_loss: te.loss,
                    test_error: te.error,
                });
                if cfg.stop_at_zero_train_error && epoch > 0 && tr.error == 0.0 {
                    stopped_at = Some(epoch);
                    break;
                }
            }
            if let Some(st) = state.filter(|s| s.save_every > 0) {
                if epoch > 0 && epoch % st.save_every == 0 && epoch < cfg.epochs {
                    if let Some(BeforeSave(before)) = &st.before_save {
                        before()?;
                    }
                    let (model, sgd) = backend.host()?;
                    save_state(&st.path, model, sgd, epoch, &evals)?;
                }
            }
        }
        let epochs_run = stopped_at.unwrap_or(cfg.epochs);
        Ok(FitOutcome {
            zero_train_error_epoch: evals
                .iter()
                .find(|e| e.epoch > 0 && e.train_error == 0.0)
                .map(|e| e.epoch),
            evals,
            epochs_run,
            steps_run: epochs_run as u64 * per_epoch,
        })
    }
}

/// The measurements so far, in TOML (exact f64 round trip), for the state file.
#[derive(Serialize, Deserialize)]
struct Progress {
    evals: Vec<EpochEval>,
}

/// Write the training state after `epoch`: the model's state_dict (so the
/// file is also an ordinary checkpoint), the momentum buffer as one flat
/// tensor, and the epoch and measurements as metadata.
pub fn save_state(
    path: &Path,
    model: &Model,
    sgd: &Sgd,
    epoch: usize,
    evals: &[EpochEval],
) -> Result<()> {
    let mut tensors = checkpoint::state_dict(model);
    tensors.push(Tensor {
        name: VELOCITY.into(),
        shape: vec![sgd.velocity().len()],
        data: sgd.velocity().to_vec(),
    });
    let progress = toml::to_string(&Progress {
        evals: evals.to_vec(),
    })
    .map_err(|e| {
        Error::bad(format!(
            "{}: cannot serialise progress: {e}",
            path.display()
        ))
    })?;
    let meta: BTreeMap<String, String> = [
        ("format".to_string(), STATE_FORMAT.to_string()),
        ("epoch".to_string(), epoch.to_string()),
        ("progress".to_string(), progress),
    ]
    .into_iter()
    .collect();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    crate::fsio::write_atomic(path, &checkpoint::to_bytes(&tensors, &meta))
}

/// Read a state file into `model` and `sgd`; returns (epoch, measurements).
fn load_state(
    path: &Path,
    model: &mut Model,
    sgd: &mut Sgd,
    label: &str,
) -> Result<(usize, Vec<EpochEval>)> {
    let bad = |msg: String| Error::bad(format!("{} (run {label}): {msg}", path.display()));
    let (mut tensors, meta) = checkpoint::read(path)?;
    if meta.get("format").map(String::as_str) != Some(STATE_FORMAT) {
        return Err(bad(format!("not a training state file ({STATE_FORMAT})")));
    }
    let epoch: usize = meta
        .get("epoch")
        .and_then(|e| e.parse().ok())
        .ok_or_else(|| bad("metadata \"epoch\" missing or not a number".into()))?;
    let progress: Progress = toml::from_str(meta.get("progress").map_or("", String::as_str))
        .map_err(|e| bad(format!("metadata \"progress\": {e}")))?;
    let v = tensors
        .iter()
        .position(|t| t.name == VELOCITY)
        .ok_or_else(|| bad(format!("no tensor {VELOCITY}")))?;
    let velocity = tensors.swap_remove(v);
    if velocity.data.len() != model.param_count() {
        return Err(bad(format!(
            "{VELOCITY} has {} values, the model {} parameters",
            velocity.data.len(),
            model.param_count()
        )));
    }
    checkpoint::load_state_dict(model, &tensors, path)?;
    sgd.set_velocity(&velocity.data);
    Ok((epoch, progress.evals))
}
