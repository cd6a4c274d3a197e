//! Mini-batch SGD with momentum and weight decay, PyTorch semantics
//! (torch.optim.SGD, dampening 0, no Nesterov):
//!   g <- grad + wd * w;  v <- mu * v + g  (v = g at the first step);  w <- w - lr * v,
//! and the epoch loop: a seeded shuffle per epoch, mini-batches in that
//! order (the last one smaller when the batch does not divide n).

use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::backend::Backend;
use super::model::{Images, Model, Workspace};
use crate::error::{Error, Result};
use crate::nets::isa::per_isa;
use crate::rng::Rng;

/// SGD hyperparameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SgdConfig {
    pub lr: f32,
    pub momentum: f32,
    #[serde(default)]
    pub weight_decay: f32,
}

/// The optimiser state: one velocity per parameter.
#[derive(Clone, Debug)]
pub struct Sgd {
    pub cfg: SgdConfig,
    velocity: Vec<f32>,
}

impl Sgd {
    pub fn new(cfg: SgdConfig, params: usize) -> Self {
        Sgd {
            cfg,
            velocity: vec![0.0; params],
        }
    }

    /// One update of `params` by `grads` (same length as at construction).
    pub fn step(&mut self, params: &mut [f32], grads: &[f32]) {
        sgd_update(self.cfg, params, &mut self.velocity, grads)
    }

    /// The momentum buffer (one value per parameter).
    pub fn velocity(&self) -> &[f32] {
        &self.velocity
    }

    /// Restore a saved momentum buffer (same length).
    pub fn set_velocity(&mut self, v: &[f32]) {
        self.velocity.copy_from_slice(v);
    }
}

per_isa! {
    /// `Sgd::step` on flat slices: g <- grad + wd w; v <- mu v + g; w <- w - lr v.
    pub fn sgd_update / sgd_update_on(
        cfg: SgdConfig,
        params: &mut [f32],
        velocity: &mut [f32],
        grads: &[f32],
    ) {
        let SgdConfig {
            lr,
            momentum,
            weight_decay,
        } = cfg;
        for ((w, v), &g) in params.iter_mut().zip(velocity.iter_mut()).zip(grads) {
            let g = g + weight_decay * *w;
            *v = momentum * *v + g;
            *w -= lr * *v;
        }
    }
}

/// The epoch's example order: `order` shuffled in place by `rng` (each epoch
/// shuffles the previous epoch's order, so epoch e's order is a function of
/// the stream and e alone; `fit` replays it to resume).
pub fn shuffle_order(order: &mut [usize], rng: &mut Rng) {
    order.shuffle(rng);
}

/// Running statistics of one epoch's mini-batches (at the weights each batch saw).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EpochStats {
    pub mean_loss: f64,
    pub error: f64,
}

/// One epoch on any backend: shuffle `order` with `rng`, then for each
/// mini-batch of `batch` indices one gradient and one SGD step. Fails with
/// `Error::Numerical` on a non-finite loss. Returns the running averages
/// (each batch at the weights it saw).
///
/// On the CPU (`backend::Cpu`) the gradient may be data-parallel inside a
/// mini-batch (`sharded_gradient`).
pub fn train_epoch<B: Backend + ?Sized>(
    backend: &mut B,
    images: &Images,
    order: &mut [usize],
    batch: usize,
    rng: &mut Rng,
) -> Result<EpochStats> {
    assert!(batch >= 1);
    shuffle_order(order, rng);
    let (mut loss, mut correct) = (0.0, 0usize);
    for (b, idx) in order.chunks(batch).enumerate() {
        let (l, c) = backend.gradient(images, idx)?;
        if !l.is_finite() {
            return Err(Error::Numerical(format!(
                "mini-batch {b}: training loss is {l} (lower the learning rate?)"
            )));
        }
        backend.step()?;
        loss += l;
        correct += c;
    }
    // No images, no mean (NaN), as `sign_accuracy` has none.
    let n = order.len() as f64;
    Ok(EpochStats {
        mean_loss: loss / n,
        error: 1.0 - correct as f64 / n,
    })
}

/// The gradient of the mean loss over examples `idx` on the CPU, split into
/// `shards.len()` contiguous parts (sizes differ by at most one), each
/// shard's workspace computing the gradient of the mean loss over its part
/// (in parallel on the current rayon pool); the full gradient is
/// sum_s (n_s / B) g_s, summed in shard order. So the result depends on the
/// number of shards, never on the thread count; one shard is the plain
/// sequential step. Every workspace must hold ceil(|idx| / shards) examples.
/// The gradient is left in `shards[0].grads`; returns (loss sum, correct).
pub fn sharded_gradient(
    model: &Model,
    shards: &mut [Workspace],
    images: &Images,
    idx: &[usize],
) -> (f64, usize) {
    let parts = shards.len();
    if parts == 1 {
        shards[0].load(images, idx);
        return model.loss_and_gradient(&mut shards[0]);
    }
    let n = idx.len();
    let bounds = |s: usize| s * n / parts;
    let results: Vec<(f64, usize, usize)> = {
        use rayon::prelude::*;
        shards
            .par_iter_mut()
            .enumerate()
            .map(|(s, ws)| {
                let part = &idx[bounds(s)..bounds(s + 1)];
                if part.is_empty() {
                    ws.grads.fill(0.0);
                    return (0.0, 0, 0);
                }
                ws.load(images, part);
                let (l, c) = model.loss_and_gradient(ws);
                (l, c, part.len())
            })
            .collect()
    };
    let (first, rest) = shards.split_at_mut(1);
    let w0 = results[0].2 as f32 / n as f32;
    for g in first[0].grads.iter_mut() {
        *g *= w0;
    }
    for (ws, r) in rest.iter().zip(&results[1..]) {
        let w = r.2 as f32 / n as f32;
        for (g, &h) in first[0].grads.iter_mut().zip(&ws.grads) {
            *g += w * h;
        }
    }
    results
        .iter()
        .fold((0.0, 0), |(l, c), r| (l + r.0, c + r.1))
}
