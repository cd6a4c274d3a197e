//! What the CIFAR-10 CNN studies share: the data's default folder and
//! classes, loading a training and test set, the SGD keys of a `[train]`
//! table and their checks (`cnn_train_spec!`), a run's resumable training
//! state, its per-epoch metric rows, and reading the per-run values back for
//! the figures.
//!
//! Each study declares its own `[train]` table with `cnn_train_spec!`,
//! which adds the SGD keys they share (momentum, weight_decay, runs,
//! eval_batch, checkpoint_every) with their checks; the study's own keys
//! differ (an epoch budget with scalar batch and lr in `cnn_sweep`, a budget
//! to zero training error with one batch and lr per model in
//! `randomization`). Both resolve to one `nets::cnn::FitConfig` per model.

use std::collections::BTreeMap;
use std::path::Path;

use crate::data::cifar::{self, CifarSet, Split};
use crate::error::Result;
use crate::nets::cnn::{Arch, ChosenDevice, Device, EpochEval, Model, TrainStateFile};
use crate::record::Metrics;
use crate::runner::RunContext;
use crate::spec::LoadedSpec;

/// CIFAR-10 binary folder, relative to the working directory (`--data` overrides).
pub fn default_dir() -> String {
    "../shared/data/cifar10-4class".into()
}

/// The course project's classes automobile, frog, horse, ship (relabelled 0..3).
pub fn default_classes() -> Vec<u8> {
    vec![1, 6, 7, 8]
}

/// A CIFAR training set and test set.
pub struct CifarPair {
    pub train: CifarSet,
    pub test: CifarSet,
}

impl CifarPair {
    /// What a run's units read (`Plan::data_identity`): the image counts
    /// and `record::words_hash` of the pixels' f32 bits, two to a word, then
    /// the labels, eight to a word, train set before test set.
    pub fn identity(&self) -> String {
        let words = [&self.train, &self.test].into_iter().flat_map(|set| {
            let pixels = set.pixels.chunks(2).map(|p| {
                let bits = |i: usize| p.get(i).map_or(0, |v| u64::from(v.to_bits()));
                bits(0) | bits(1) << 32
            });
            let labels = set.labels.chunks(8).map(|l| {
                let mut word = [0u8; 8];
                word[..l.len()].copy_from_slice(l);
                u64::from_le_bytes(word)
            });
            pixels.chain(labels)
        });
        format!(
            "CIFAR {} train and {} test images, words hash {}",
            self.train.len(),
            self.test.len(),
            crate::record::words_hash(words)
        )
    }
}

/// The first `train` training and `test` test images of `classes` in
/// `dir`, for a spec whose [data] table holds `train`, `test` and
/// `classes`: too few images is bad input naming the spec and the key.
pub fn load_cifar_pair(
    loaded: &LoadedSpec,
    dir: &Path,
    classes: &[u8],
    train: usize,
    test: usize,
) -> Result<CifarPair> {
    let train_set = cifar::load(dir, Split::Train, classes, Some(train))?;
    let test_set = cifar::load(dir, Split::Test, classes, Some(test))?;
    for (key, want, got) in [
        ("data.train", train, train_set.len()),
        ("data.test", test, test_set.len()),
    ] {
        if got < want {
            return Err(loaded.bad_value(
                key,
                format!(
                    "{want}: {} holds only {got} images of classes {classes:?}",
                    dir.display()
                ),
            ));
        }
    }
    Ok(CifarPair {
        train: train_set,
        test: test_set,
    })
}

/// Declare a CIFAR CNN study's `[train]` table: the study's own keys as
/// written, then the SGD keys every such study shares, declared only here
/// (all at the top level of `[train]`):
/// - `momentum`: SGD momentum, in [0, 1);
/// - `weight_decay`: L2 weight decay (PyTorch's SGD `weight_decay`), >= 0, default 0;
/// - `runs`: independent runs (seeds) of every setting and model, >= 1;
/// - `eval_batch`: images per forward pass when measuring the whole sets, >= 1, default 500;
/// - `checkpoint_every`: save a run's resumable state every this many epochs
///   (the resume points of a killed run, `--resume`), 0 = never, default 0;
/// - `device`: where every run trains, `"cpu"` (default, and then not
///   written to the resolved spec, so CPU runs' outputs are as before),
///   `"cuda"` (`--features cuda` and a GPU, else exit 2) or `"auto"` (the
///   GPU when one opens, else the CPU; `open_device`, `record_device`).
///
/// The struct gets `check_sgd` (the shared keys' validation) and `sgd`
/// (the SGD step they configure). A macro, not a shared struct under
/// `#[serde(flatten)]`: with flatten, serde reads the shared keys from a
/// buffer, so a bad value there is reported at `train` instead of its key
/// (`train.momentum`), and an unknown key's error loses the list of
/// expected keys; here the table stays one `deny_unknown_fields` struct.
macro_rules! cnn_train_spec {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($(#[$fmeta:meta])* pub $field:ident: $ty:ty,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
            /// SGD momentum, in [0, 1).
            pub momentum: f32,
            /// L2 weight decay, >= 0.
            #[serde(default)]
            pub weight_decay: f32,
            /// Independent runs (seeds) of every setting and model.
            pub runs: usize,
            /// Images per forward pass when measuring the whole sets.
            #[serde(default = "crate::studies::toolkit::cnn::default_eval_batch")]
            pub eval_batch: usize,
            /// Save the resumable training state every this many epochs (0 = never).
            #[serde(default)]
            pub checkpoint_every: usize,
            /// Where every run trains: "cpu", "cuda" or "auto".
            #[serde(default, skip_serializing_if = "crate::nets::cnn::Device::is_cpu")]
            pub device: $crate::nets::cnn::Device,
        }

        impl $name {
            /// The shared SGD keys' checks (exit 2 naming the key).
            pub fn check_sgd(&self, spec: &$crate::spec::LoadedSpec) -> $crate::error::Result<()> {
                $crate::studies::toolkit::cnn::check_sgd_keys(
                    spec,
                    self.momentum,
                    self.weight_decay,
                    self.runs,
                    self.eval_batch,
                )
            }

            /// Mini-batch SGD with step `lr` and this table's momentum and decay.
            pub fn sgd(&self, lr: f32) -> $crate::nets::cnn::SgdConfig {
                $crate::nets::cnn::SgdConfig {
                    lr,
                    momentum: self.momentum,
                    weight_decay: self.weight_decay,
                }
            }
        }
    };
}
pub(crate) use cnn_train_spec;

/// Images per forward pass when measuring the whole sets (`eval_batch`'s default).
pub fn default_eval_batch() -> usize {
    500
}

/// The shared `[train]` keys' checks (`cnn_train_spec!`): `train.runs` and
/// `train.eval_batch` >= 1, `train.momentum` in [0, 1), `train.weight_decay`
/// finite and >= 0. `train.device` is not checked here: validation also runs
/// for `rejudge`, which trains nothing, so a CPU-only build must accept a run
/// that asked for "cuda"; `open_device` refuses a device this binary was not
/// built for, or cannot open, when a run needs it.
pub fn check_sgd_keys(
    spec: &LoadedSpec,
    momentum: f32,
    weight_decay: f32,
    runs: usize,
    eval_batch: usize,
) -> Result<()> {
    for (key, v) in [("train.runs", runs), ("train.eval_batch", eval_batch)] {
        if v == 0 {
            return Err(spec.bad_value(key, "must be >= 1"));
        }
    }
    if !(0.0..1.0).contains(&momentum) {
        return Err(spec.bad_value("train.momentum", format!("{momentum} is outside [0, 1)")));
    }
    if !(weight_decay >= 0.0 && weight_decay.is_finite()) {
        return Err(spec.bad_value(
            "train.weight_decay",
            format!("{weight_decay} must be finite and >= 0"),
        ));
    }
    Ok(())
}

/// The device a spec's runs train on, as `open_device` found it.
#[derive(Clone, Debug)]
pub struct OpenedDevice {
    /// The `train.device` the spec asked for.
    pub asked: Device,
    /// `cpu` or `cuda`: the one that runs (`auto` resolved).
    pub ran: Device,
    /// The GPU's name as the driver reports it, when `ran` is `cuda`.
    pub gpu: Option<String>,
}

/// The device the runs of a spec asking for `asked` (`train.device`) train
/// on: `cpu` or `cuda`, `auto` resolved by opening the GPU. `cuda` without
/// the feature or a GPU is bad input naming `train.device`. Each run opens
/// the device again (`nets::cnn::fit`).
pub fn open_device(spec: &LoadedSpec, asked: Device) -> Result<OpenedDevice> {
    let chosen = asked
        .choose()
        .map_err(|m| spec.bad_value("train.device", format!("\"{}\": {m}", asked.name())))?;
    let gpu = match &chosen {
        ChosenDevice::Cpu => {
            if asked == Device::Auto {
                // Said once per run of a spec, not per training run: why
                // "auto" found no GPU (no driver, no device, a CPU-only build).
                let why = Device::Cuda.choose().err().unwrap_or_default();
                eprintln!("train.device = \"auto\": {why}; training on the CPU");
            }
            None
        }
        #[cfg(feature = "cuda")]
        ChosenDevice::Cuda(gpu) => {
            crate::runner::note_device(&format!("cuda ({})", gpu.name()));
            Some(gpu.name().to_string())
        }
    };
    Ok(OpenedDevice {
        asked,
        ran: chosen.device(),
        gpu,
    })
}

/// The device of the runs of a spec asking for `asked`: `open_device`,
/// except in a run whose units are all computed (`overfit merge`, which
/// trains nothing), which opens none, so that shards trained on GPUs merge
/// on a node without one (a cluster's login node; opening the GPU there
/// used to refuse the merge with exit 2). What ran is then read from the
/// machines that computed the units (`recorded_device`).
pub fn device_of_run(spec: &LoadedSpec, asked: Device, ctx: &RunContext) -> Result<OpenedDevice> {
    if ctx.require_cached {
        let machines = crate::runner::UnitStore::new(&ctx.out).machines();
        Ok(recorded_device(asked, &machines))
    } else {
        open_device(spec, asked)
    }
}

/// The device that computed units on `machines` (`runner::units::machine_id`,
/// which ends in ", device cpu" or ", device cuda (NAME)"): `asked` when it
/// names one (`open_device` let no shard run on another); for `auto`, the
/// CPU or CUDA when every machine names that one, and `auto` itself when
/// they differ or none says (units kept from before machines were
/// recorded). `gpu` names every GPU found (sorted, once each) unless the
/// CPU ran.
pub fn recorded_device(asked: Device, machines: &[String]) -> OpenedDevice {
    let devices: Vec<&str> = machines
        .iter()
        .filter_map(|m| Some(m.split_once(", device ")?.1))
        .collect();
    let mut gpus: Vec<&str> = devices
        .iter()
        .filter_map(|d| d.strip_prefix("cuda (")?.strip_suffix(')'))
        .collect();
    gpus.sort_unstable();
    gpus.dedup();
    let on_cpu = devices.contains(&"cpu");
    let ran = match (asked, on_cpu, gpus.is_empty()) {
        (Device::Auto, true, true) => Device::Cpu,
        (Device::Auto, false, false) => Device::Cuda,
        (Device::Auto, _, _) => Device::Auto,
        (named, _, _) => named,
    };
    OpenedDevice {
        asked,
        ran,
        gpu: (ran != Device::Cpu && !gpus.is_empty()).then(|| gpus.join(", ")),
    }
}

/// Record in summary.json's `details` which device ran (`details.device`),
/// when the spec asked for other than the default `cpu`: a CPU run's
/// summary stays byte for byte what it was before the key existed. On a
/// GPU, `details.gpu` names it as the driver does.
pub fn record_device(details: &mut serde_json::Value, device: &OpenedDevice) {
    if !device.asked.is_cpu() {
        details["device"] = serde_json::json!(match device.ran {
            // A merge of `auto` shards that ran on both, or on unknown devices.
            Device::Auto => "cpu and cuda, or unknown (provenance.unit_machines)",
            ran => ran.name(),
        });
    }
    if let Some(name) = &device.gpu {
        details["gpu"] = serde_json::json!(name);
    }
}

/// The resumable training state of unit `i` of the sweep `name`, written
/// every `save_every` epochs (0: never) and read back under `--resume`.
pub fn train_state(ctx: &RunContext, name: &str, i: usize, save_every: usize) -> TrainStateFile {
    TrainStateFile {
        path: crate::runner::unit_state_path(ctx, name, i),
        save_every,
        resume: ctx.resume,
        before_save: Some(crate::runner::list_this_process(ctx)),
    }
}

/// The per-epoch measurements of run `label` as metrics rows (step = epoch):
/// train/test loss and error, and the error against the clean training
/// labels (split "train_clean") where it was measured.
pub fn epoch_metrics(label: &str, evals: &[EpochEval]) -> Metrics {
    let mut metrics = Metrics::default();
    for ev in evals {
        let e = ev.epoch as u64;
        metrics.push(label, e, "train", "loss", ev.train_loss);
        metrics.push(label, e, "train", "error", ev.train_error);
        if let Some(clean) = ev.train_clean_error {
            metrics.push(label, e, "train_clean", "error", clean);
        }
        metrics.push(label, e, "test", "loss", ev.test_loss);
        metrics.push(label, e, "test", "error", ev.test_error);
    }
    metrics
}

/// Per-run "final" values (split "final") by run label: run -> metric -> value.
pub fn finals(metrics: &Metrics) -> BTreeMap<String, BTreeMap<String, f64>> {
    let mut out: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    for r in metrics.rows.iter().filter(|r| r.split == "final") {
        out.entry(r.run.clone())
            .or_default()
            .insert(r.metric.clone(), r.value);
    }
    out
}

/// Training flops per image of architecture `arch` with `classes` outputs
/// (`Model::training_flops_per_example`), the unit of a CNN sweep's cost
/// estimate; 1 for an architecture the model cannot build (validation
/// reports it).
pub fn training_flops(arch: &Arch, classes: usize) -> f64 {
    Model::for_arch(arch, classes).map_or(1.0, |m| m.training_flops_per_example())
}

/// The group of a run label `setting:model:sN`: its first two parts, e.g.
/// "eta0.1:cnn5-15-10:s2" -> ("eta0.1", "cnn5-15-10").
pub fn group_of(run: &str) -> (String, String) {
    let mut parts = run.split(':');
    (
        parts.next().unwrap_or("").to_string(),
        parts.next().unwrap_or("").to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A merge reads the device from the units' machines: the GPU's name,
    /// `auto` resolved when every shard agrees, and `auto` kept (recorded
    /// as such) when they differ or none says.
    #[test]
    fn a_merge_records_the_device_its_units_ran_on() {
        let on = |device: &str| {
            format!("OpenBLAS-0.3.21 core SkylakeX, kernels avx512, device {device}")
        };
        let h100 = on("cuda (NVIDIA H100 80GB HBM3)");
        let cpu = on("cpu");
        let of = |asked, machines: &[&String]| {
            let machines: Vec<String> = machines.iter().map(|m| m.to_string()).collect();
            let d = recorded_device(asked, &machines);
            (d.ran, d.gpu)
        };
        let gpu = Some("NVIDIA H100 80GB HBM3".to_string());
        assert_eq!(
            of(Device::Cuda, &[&h100, &h100]),
            (Device::Cuda, gpu.clone())
        );
        assert_eq!(of(Device::Auto, &[&h100]), (Device::Cuda, gpu.clone()));
        assert_eq!(of(Device::Auto, &[&cpu]), (Device::Cpu, None));
        assert_eq!(of(Device::Auto, &[&cpu, &h100]), (Device::Auto, gpu));
        let unknown = crate::runner::UNKNOWN_MACHINE.to_string();
        assert_eq!(of(Device::Auto, &[&unknown]), (Device::Auto, None));
        assert_eq!(of(Device::Cpu, &[&unknown]), (Device::Cpu, None));
        assert_eq!(of(Device::Cpu, &[&cpu]), (Device::Cpu, None));
        let mut details = serde_json::json!({});
        let mixed = recorded_device(Device::Auto, &[cpu, h100]);
        record_device(&mut details, &mixed);
        assert!(
            details["device"].as_str().unwrap().contains("cpu and cuda"),
            "{details}"
        );
        assert_eq!(details["gpu"], "NVIDIA H100 80GB HBM3");
    }

    #[test]
    fn groups_are_the_first_two_parts() {
        assert_eq!(
            group_of("corrupt0.2:mlp512:s1"),
            ("corrupt0.2".into(), "mlp512".into())
        );
        assert_eq!(group_of("solo"), ("solo".into(), String::new()));
    }

    #[test]
    fn finals_collect_the_final_split_by_run() {
        let mut m = Metrics::default();
        m.push("a:b:s0", 3, "final", "x", 1.0);
        m.push("a:b:s0", 3, "test", "x", 9.0);
        m.push("a:b:s1", 3, "final", "x", 2.0);
        let f = finals(&m);
        assert_eq!(f.len(), 2);
        assert_eq!(f["a:b:s0"]["x"], 1.0);
        assert_eq!(f["a:b:s1"]["x"], 2.0);
    }
}
