//! The f32 CNN engine: where it runs (`backend`: the trait the loops drive,
//! the CPU implementation, the device a spec asks for), layers as forward/backward pairs (`layers`, each with
//! a naive f64 twin in `reference`; `direct` is conv1's kernel without
//! im2col), a sequential model with preallocated
//! workspaces (`model`), SGD with momentum and the epoch loop (`train`), one whole
//! resumable training run (`fit`), and
//! safetensors checkpoints with PyTorch state_dict names (`checkpoint`).
//!
//! Threads: one model uses OpenBLAS's threads inside its gemms only. Small
//! models and small batches cannot keep two cores busy, so sweeps train
//! several models at once, one per core with one BLAS thread each
//! (the runner runs a study's units in parallel).

pub mod backend;
pub mod checkpoint;
pub mod direct;
mod direct_rows;
pub mod fit;
pub mod layers;
pub mod model;
pub mod pool;
pub mod reference;
pub mod train;

#[cfg(test)]
mod tests;

pub use backend::{evaluate_on, Backend, ChosenDevice, Cpu, Device, Forward};
pub use fit::{fit, BeforeSave, EpochEval, FitConfig, FitData, FitOutcome, TrainStateFile};
pub use model::{evaluate, Arch, Evaluation, Images, LayerSpec, Model, Workspace};
pub use train::{train_epoch, EpochStats, Sgd, SgdConfig};
