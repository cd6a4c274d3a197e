//! Where a CNN runs. `Backend` is one model with its optimiser on one
//! device, as `fit` and `train_epoch` drive it: the gradient of a
//! mini-batch, the SGD step, forward passes to measure, and the state on
//! the host (for checkpoints). `Cpu` implements it with `Model` and its
//! workspaces; `gpu::GpuModel` implements it on an NVIDIA GPU
//! (`--features cuda`) and keeps only what is device-specific. The loops
//! over mini-batches (`train::train_epoch`), over measuring chunks
//! (`evaluate_on`) and over epochs (`fit`) are written once, for both.
//!
//! `Device` is what a spec (`train.device`) or `bench cnn --device` asks
//! for; `ChosenDevice` the device opened.

use serde::{Deserialize, Serialize};

use super::layers::{predicted_class, softmax_cross_entropy};
use super::model::{forward_examples, Evaluation, Images, Model, Workspace};
use super::train::{sharded_gradient, Sgd};
use crate::error::Result;

/// Forward passes without gradients: what measuring needs.
pub trait Forward {
    /// Number of outputs (logits per example).
    fn classes(&self) -> usize;
    /// The most examples one `logits` call takes.
    fn eval_capacity(&self) -> usize;
    /// The logits (idx.len() x classes, row-major) of examples `idx` of `images`.
    fn logits(&mut self, images: &Images, idx: &[usize]) -> Result<&[f32]>;
}

/// One model and its SGD state on one device.
pub trait Backend: Forward {
    /// The gradient of the mean softmax cross-entropy over examples `idx`
    /// of `images` at the current weights, kept for `step`. Returns (loss
    /// sum, correct) over those examples.
    fn gradient(&mut self, images: &Images, idx: &[usize]) -> Result<(f64, usize)>;
    /// One SGD-with-momentum update by the last gradient (`Sgd::step`).
    fn step(&mut self) -> Result<()>;
    /// The parameters and the optimiser state on the host, brought up to
    /// date (a copy from the device on a GPU).
    fn host(&mut self) -> Result<(&Model, &Sgd)>;
}

/// Mean loss and error rate on a whole set, in chunks of `eval_capacity`
/// examples in order, and from the same forward passes the error rate
/// against a second labelling `other` of the same images. The loss
/// (softmax cross-entropy, summed in f64) is computed on the host for every
/// backend. Cost: one forward pass per example.
pub fn evaluate_on<F: Forward + ?Sized>(
    f: &mut F,
    images: &Images,
    other: Option<&[u8]>,
) -> Result<Evaluation> {
    let n = images.len();
    let (classes, cap) = (f.classes(), f.eval_capacity());
    let mut idx = Vec::with_capacity(cap);
    let (mut loss, mut correct, mut other_correct) = (0.0, 0, 0);
    let mut start = 0;
    while start < n {
        let end = (start + cap).min(n);
        idx.clear();
        idx.extend(start..end);
        let logits = f.logits(images, &idx)?;
        let (l, c) = softmax_cross_entropy(logits, &images.labels[start..end], classes, None);
        loss += l;
        correct += c;
        if let Some(o) = other {
            for (row, &y) in logits.chunks_exact(classes).zip(&o[start..end]) {
                other_correct += usize::from(predicted_class(row) == y as usize);
            }
        }
        start = end;
    }
    // An empty set has no loss or error (NaN), as `sign_accuracy` has none.
    let nf = n as f64;
    Ok(Evaluation {
        loss: loss / nf,
        error: 1.0 - correct as f64 / nf,
        other_error: other.map(|_| 1.0 - other_correct as f64 / nf),
    })
}

/// A CPU model measured through one workspace.
impl Forward for (&Model, &mut Workspace) {
    fn classes(&self) -> usize {
        self.0.classes()
    }
    fn eval_capacity(&self) -> usize {
        self.1.capacity()
    }
    fn logits(&mut self, images: &Images, idx: &[usize]) -> Result<&[f32]> {
        Ok(forward_examples(self.0, self.1, images, idx))
    }
}

/// The CPU backend: `model` (borrowed, so it holds the result), its SGD
/// state, the workspaces of the mini-batch's shards (see `train_epoch`:
/// the result depends on their number, never on the thread count) and one
/// workspace for measuring.
pub struct Cpu<'m> {
    model: &'m mut Model,
    sgd: Sgd,
    shards: Vec<Workspace>,
    eval: Workspace,
}

impl<'m> Cpu<'m> {
    /// Train `model` with `sgd` on mini-batches of up to `batch` examples,
    /// each cut into `shards` (>= 1) parts; measure `eval_batch` examples
    /// per forward pass.
    pub fn new(
        model: &'m mut Model,
        sgd: Sgd,
        shards: usize,
        batch: usize,
        eval_batch: usize,
    ) -> Self {
        let shards = shards.max(1);
        Cpu {
            shards: (0..shards)
                .map(|_| model.workspace(batch.div_ceil(shards)))
                .collect(),
            eval: model.workspace(eval_batch),
            model,
            sgd,
        }
    }

    /// The optimiser state.
    pub fn sgd(&self) -> &Sgd {
        &self.sgd
    }
}

impl Forward for Cpu<'_> {
    fn classes(&self) -> usize {
        self.model.classes()
    }
    fn eval_capacity(&self) -> usize {
        self.eval.capacity()
    }
    fn logits(&mut self, images: &Images, idx: &[usize]) -> Result<&[f32]> {
        Ok(forward_examples(self.model, &mut self.eval, images, idx))
    }
}

impl Backend for Cpu<'_> {
    fn gradient(&mut self, images: &Images, idx: &[usize]) -> Result<(f64, usize)> {
        assert!(idx.len().div_ceil(self.shards.len()) <= self.shards[0].capacity());
        Ok(sharded_gradient(self.model, &mut self.shards, images, idx))
    }
    fn step(&mut self) -> Result<()> {
        self.sgd.step(&mut self.model.params, &self.shards[0].grads);
        Ok(())
    }
    fn host(&mut self) -> Result<(&Model, &Sgd)> {
        Ok((self.model, &self.sgd))
    }
}

/// Where the CNN engine runs: `cpu`; `cuda`, the GPU path (`crate::gpu`,
/// built only with `--features cuda`); or `auto`, the GPU when one can be
/// opened, else the CPU.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    #[default]
    Cpu,
    Cuda,
    Auto,
}

/// A `Device` once chosen: the CPU, or an opened GPU.
pub enum ChosenDevice {
    Cpu,
    #[cfg(feature = "cuda")]
    Cuda(std::sync::Arc<crate::gpu::Gpu>),
}

impl ChosenDevice {
    /// `Device::Cpu` or `Device::Cuda`.
    pub fn device(&self) -> Device {
        match self {
            ChosenDevice::Cpu => Device::Cpu,
            #[cfg(feature = "cuda")]
            ChosenDevice::Cuda(_) => Device::Cuda,
        }
    }

    /// `cpu` or `cuda`: the device that ran, for output lines and summaries.
    pub fn label(&self) -> &'static str {
        self.device().name()
    }
}

impl Device {
    /// The default (`cpu`): a spec that leaves the key out, and writes none.
    pub fn is_cpu(&self) -> bool {
        *self == Device::Cpu
    }

    /// The name a spec or the command line gives it.
    pub fn name(self) -> &'static str {
        match self {
            Device::Cpu => "cpu",
            Device::Cuda => "cuda",
            Device::Auto => "auto",
        }
    }

    /// Why this binary cannot run `self` at all (`cuda` without `--features cuda`).
    pub fn unbuilt(self) -> Option<&'static str> {
        (self == Device::Cuda && !cfg!(feature = "cuda"))
            .then_some("this binary was built without --features cuda")
    }

    /// Open the device. `cuda` fails (with a message for the caller to
    /// prefix with its key and value) when the binary was built without
    /// `--features cuda` or when no driver or GPU can be opened; `auto`
    /// then falls back to the CPU.
    pub fn choose(self) -> std::result::Result<ChosenDevice, String> {
        match self {
            Device::Cpu => Ok(ChosenDevice::Cpu),
            #[cfg(not(feature = "cuda"))]
            Device::Cuda => Err(self.unbuilt().unwrap_or_default().to_string()),
            #[cfg(not(feature = "cuda"))]
            Device::Auto => Ok(ChosenDevice::Cpu),
            #[cfg(feature = "cuda")]
            Device::Cuda => crate::gpu::Gpu::open()
                .map(|g| ChosenDevice::Cuda(std::sync::Arc::new(g)))
                .map_err(|e| e.to_string()),
            #[cfg(feature = "cuda")]
            Device::Auto => Ok(crate::gpu::Gpu::open().map_or(ChosenDevice::Cpu, |g| {
                ChosenDevice::Cuda(std::sync::Arc::new(g))
            })),
        }
    }
}
