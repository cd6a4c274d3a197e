//! The CNN studies' estimates (`cnn_sweep`, `randomization`) and the CNN
//! training they share with `overfit bench cnn` (`cnn_unit`).

use super::{merge, merge_max};
use crate::error::Result;
use crate::memory::{concurrent, Peak, F32, METRIC_ROW};
use crate::nets::cnn::Arch;
use crate::spec::LoadedSpec;
use crate::studies::{cnn_sweep, randomization};

/// Floats per example of a CNN's activations (`nets::cnn::Model::workspace`:
/// every layer's output, input included) and its parameter count, from the
/// architecture alone (building the model would allocate it). The course
/// CNN: conv 5x5 without padding, 3x32x32 -> 6x28x28 -> pool 6x14x14 ->
/// k x10x10 -> pool k x5x5 -> h1 -> h2 -> classes.
///
/// The two conv ReLUs' outputs (and their gradients) are still counted,
/// although the pools now apply those ReLUs and the workspace forms neither
/// (`Model::relu_in_pool`): the committed runs' measured peaks, the
/// evidence that this estimate bounds the rest (allocator, threads), were
/// taken with them. The margin: `memory::tests::both_cnn_workspaces_count`'s
/// run peaked at 648 MiB with them and 422 MiB without (Zen 4).
pub fn cnn_shape(arch: &Arch, classes: usize) -> (f64, f64) {
    let c = classes as f64;
    match arch {
        Arch::CourseCnn { k, h1, h2 } => {
            let (k, h1, h2) = (*k as f64, *h1 as f64, *h2 as f64);
            let acts = 3072.0
                + 2.0 * 4704.0
                + 1176.0
                + 2.0 * 100.0 * k
                + 2.0 * 25.0 * k
                + 2.0 * (h1 + h2)
                + c;
            let params = 456.0 + k * 151.0 + 25.0 * k * h1 + h1 + h1 * h2 + h2 + h2 * c + c;
            (acts, params)
        }
        Arch::Mlp { widths } => {
            let mut acts = 2.0 * 3072.0 + c;
            let mut params = 0.0;
            let mut inputs = 3072.0;
            for &w in widths {
                let w = w as f64;
                acts += 2.0 * w;
                params += inputs * w + w;
                inputs = w;
            }
            (acts, params + inputs * c + c)
        }
    }
}

/// Bytes per example of a CNN's max-pool winners (`Workspace::argmax`, one
/// u8 per pooled output) and the im2col scratch floats of a workspace,
/// from the architecture alone (as `cnn_shape`). The course CNN pools
/// 6x14x14 and k x5x5 outputs; its scratch (`Conv2d::scratch_len`, cols
/// and dcols alike) holds one chunk of at most `COLS_BUDGET` bytes, or one
/// image's cols when that is larger (conv1: 28 x 28 x 75), and covers the
/// direct kernels' planes. The MLP has neither.
fn cnn_workspace_extras(arch: &Arch) -> (f64, f64) {
    match arch {
        Arch::CourseCnn { k, .. } => {
            let budget = (crate::nets::cnn::layers::COLS_BUDGET / 4) as f64;
            (1176.0 + 25.0 * *k as f64, budget.max(28.0 * 28.0 * 75.0))
        }
        Arch::Mlp { .. } => (0.0, 0.0),
    }
}

/// One CNN training per unit: its parameters, momentum, a checkpoint copy
/// and the loaded checkpoint (4 x params f32), and its training
/// workspace of `batch` examples (`cnn_workspace`). A study adds the
/// evaluation workspace (`Cpu::new` holds both for the whole training).
pub fn cnn_unit(
    peak: &mut Peak,
    c: f64,
    arch_key: &str,
    arch: &Arch,
    classes: usize,
    batch: (&str, f64),
) {
    let (_, params) = cnn_shape(arch, classes);
    peak.add(
        "the models (weights, momentum, checkpoints)",
        4.0 * F32 * c,
        &[(arch_key, params)],
    );
    cnn_workspace(peak, c, arch_key, arch, classes, batch);
}

/// One `nets::cnn::Model::workspace` of `capacity` examples, per unit:
/// every layer's activations and their gradients (2 x acts f32 per
/// example), the max-pool winners (u8) and the labels (1 byte) per
/// example, the im2col scratch and its gradient (2 x scratch f32) and a
/// gradient of the parameters (params f32). All of it counted as touched:
/// an evaluation workspace never writes its gradients, so its pages may
/// stay unmapped (the bound is loose by about half of it there).
pub fn cnn_workspace(
    peak: &mut Peak,
    c: f64,
    arch_key: &str,
    arch: &Arch,
    classes: usize,
    (key, capacity): (&str, f64),
) {
    let (acts, params) = cnn_shape(arch, classes);
    let (winners, scratch) = cnn_workspace_extras(arch);
    let what = if key.contains("eval") {
        "the evaluation workspace's activations"
    } else {
        "the training workspace's activations"
    };
    peak.add(
        what,
        c,
        &[
            (key, capacity.max(1.0)),
            (arch_key, 2.0 * F32 * acts + winners + 1.0),
        ],
    )
    .add(
        "a workspace's scratch and parameter gradient",
        F32 * c,
        &[(arch_key, 2.0 * scratch + params)],
    );
}

/// Both workspaces of a CNN training (`nets::cnn::backend::Cpu::new`): one
/// of `batch` examples for the SGD steps and one of `eval_batch` for
/// measuring, allocated together for the whole training (counting one of
/// max(batch, eval_batch) put 460 MiB on a batch = eval_batch = 2000 run
/// that peaked at 648 MiB).
fn cnn_training(
    peak: &mut Peak,
    c: f64,
    arch: &Arch,
    classes: usize,
    batch: usize,
    eval_batch: usize,
) {
    cnn_unit(
        peak,
        c,
        "model.archs",
        arch,
        classes,
        ("train.batch", batch as f64),
    );
    cnn_workspace(
        peak,
        c,
        "model.archs",
        arch,
        classes,
        ("train.eval_batch", eval_batch as f64),
    );
}

/// The course CNN sweep: the CIFAR training and test images (f32); per unit
/// `cnn_training`; 12 metric rows per evaluated epoch of every run.
pub fn cnn_sweep(spec: &LoadedSpec, threads: usize) -> Result<Peak> {
    let s: cnn_sweep::CnnSweepSpec = spec.study_section()?;
    let (d, t) = (&s.data, &s.train);
    let runs = (s.model.archs.len() * d.label_noise.len().max(1)) as f64 * t.runs as f64;
    let c = concurrent(threads, runs);
    let mut peak = Peak::new();
    peak.add(
        "the training images",
        F32 * 3072.0,
        &[("data.train", d.train as f64)],
    )
    .add(
        "the test images",
        F32 * 3072.0,
        &[("data.test", d.test as f64)],
    )
    .add(
        "the metric rows",
        12.0 * METRIC_ROW * (s.model.archs.len() * d.label_noise.len().max(1)) as f64,
        &[
            ("train.runs", t.runs as f64),
            ("train.epochs", (t.epochs / t.eval_every.max(1) + 1) as f64),
        ],
    );
    let mut worst = Peak::new();
    for &[k, h1, h2] in &s.model.archs {
        let mut unit = Peak::new();
        let arch = Arch::CourseCnn { k, h1, h2 };
        cnn_training(&mut unit, c, &arch, d.classes.len(), t.batch, t.eval_batch);
        worst = merge_max(worst, unit);
    }
    Ok(merge(peak, worst))
}

/// The randomization tests: the CIFAR images; per unit its randomized copy
/// of the training and test images (f32: `randomize::apply`, made inside
/// the unit and dropped with it, not one per (setting, seed) at once) and
/// `cnn_training`; 8 metric rows per epoch of every run.
pub fn randomization(spec: &LoadedSpec, threads: usize) -> Result<Peak> {
    let s: randomization::RandomizationSpec = spec.study_section()?;
    let (d, t) = (&s.data, &s.train);
    let settings = (d.settings.len() + d.corruption.len()) as f64;
    let runs = s.model.archs.len() as f64 * settings * t.runs as f64;
    let c = concurrent(threads, runs);
    let images = (d.train + d.test) as f64;
    let mut peak = Peak::new();
    peak.add("the images", F32 * 3072.0, &[("data.train", images)])
        .add(
            "the randomized copies",
            F32 * 3072.0 * c,
            &[("data.train", images)],
        )
        .add(
            "the metric rows",
            8.0 * METRIC_ROW * s.model.archs.len() as f64 * settings,
            &[
                ("train.runs", t.runs as f64),
                ("train.max_epochs", t.max_epochs as f64),
            ],
        );
    let mut worst = Peak::new();
    for (arch, &batch) in s.model.archs.iter().zip(&t.batch) {
        let mut unit = Peak::new();
        cnn_training(&mut unit, c, arch, d.classes.len(), batch, t.eval_batch);
        worst = merge_max(worst, unit);
    }
    Ok(merge(peak, worst))
}
