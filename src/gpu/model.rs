//! `GpuModel`: the device twin of `nets::cnn::Model`, and its
//! `nets::cnn::Backend` implementation (so `fit`'s and `train_epoch`'s
//! loops drive it as they drive the CPU). It keeps the CPU `Model` it was
//! made from and walks that model's own layer list (operations, shapes,
//! `ParamInfo` ranges), so the flat parameter, gradient and momentum
//! vectors are element for element those of the CPU engine; what is here
//! is only device-specific: buffers, kernel launches and transfers.
//! All buffers live on the device for a fixed batch capacity; a training
//! step moves only the batch in and the per-row losses out.

use std::sync::Arc;

use cudarc::driver::CudaSlice;

use super::{cuda_error, Gpu};
use crate::error::{Error, Result};
use crate::nets::cnn::backend::{Backend, Forward};
use crate::nets::cnn::layers::Shape;
use crate::nets::cnn::model::{Layer, Op};
use crate::nets::cnn::{Arch, Images, LayerSpec, Model, Sgd, SgdConfig, Workspace};

/// A CNN on the GPU: parameters, gradients, momentum and every activation
/// buffer on the device, for batches of up to `capacity` examples.
pub struct GpuModel {
    gpu: Arc<Gpu>,
    /// The CPU model of the same layers: the layer list and its shapes,
    /// `ParamInfo`s for checkpoints, and (after `Backend::host`) a copy of
    /// the device's parameters.
    host: Model,
    /// The SGD step (after `upload_state`) and, after `Backend::host`, a
    /// copy of the device's momentum.
    sgd: Option<Sgd>,
    capacity: usize,
    /// Examples in the loaded batch.
    batch: usize,
    params: CudaSlice<f32>,
    grads: CudaSlice<f32>,
    velocity: CudaSlice<f32>,
    /// acts[0]: the input batch (NHWC); acts[i + 1]: output of layer i; dacts their gradients.
    acts: Vec<CudaSlice<f32>>,
    dacts: Vec<CudaSlice<f32>>,
    /// Per conv layer, its im2col from the forward pass (reused by backward).
    cols: Vec<Option<CudaSlice<f32>>>,
    /// Gradient of cols, shared by the conv layers (the largest).
    dcols: CudaSlice<f32>,
    /// Per max-pool layer, the winner (0..3) of each window.
    argmax: Vec<Option<CudaSlice<u8>>>,
    labels: CudaSlice<u8>,
    row_loss: CudaSlice<f64>,
    row_correct: CudaSlice<i32>,
    /// A one-image CPU workspace: `Workspace::load` turns images into NHWC.
    staging: Workspace,
    /// The logits of the last `Forward::logits`, on the host.
    logits: Vec<f32>,
}

impl GpuModel {
    /// The model of `arch` on 32x32 RGB images with `classes` outputs (`Model::for_arch`).
    pub fn for_arch(gpu: Arc<Gpu>, arch: &Arch, classes: usize, capacity: usize) -> Result<Self> {
        Self::with_host(gpu, Model::for_arch(arch, classes)?, capacity)
    }

    /// The model of `specs` on inputs of shape `input` (`Model::new`), parameters 0.
    pub fn new(gpu: Arc<Gpu>, input: Shape, specs: &[LayerSpec], capacity: usize) -> Result<Self> {
        Self::with_host(gpu, Model::new(input, specs)?, capacity)
    }

    /// The device twin of `model` with its parameters and `sgd`'s state
    /// (step and momentum) uploaded: where `fit` trains on a GPU.
    pub fn from_host(gpu: Arc<Gpu>, model: &Model, sgd: &Sgd, capacity: usize) -> Result<Self> {
        let mut dev = Self::with_host(gpu, model.clone(), capacity)?;
        dev.upload_state(&model.params, sgd)?;
        Ok(dev)
    }

    /// Device buffers for the layers of `host`.
    fn with_host(gpu: Arc<Gpu>, host: Model, capacity: usize) -> Result<Self> {
        if capacity == 0 {
            return Err(Error::bad("GPU model: batch capacity must be >= 1"));
        }
        let layers = &host.layers;
        let cols_len = |l: &Layer| match &l.op {
            Op::Conv(c) => c.cols_len(capacity),
            _ => 0,
        };
        let largest = layers
            .iter()
            .map(|l| cols_len(l).max(capacity * l.output.len()))
            .chain([capacity * host.input.len(), host.param_count()])
            .max()
            .unwrap_or(0);
        if largest > i32::MAX as usize {
            return Err(Error::bad(format!(
                "GPU model: batch capacity {capacity} needs a buffer of {largest} floats, above the kernels' 2^31 - 1"
            )));
        }
        let s = &gpu.stream;
        let zeros = |n: usize| {
            s.alloc_zeros::<f32>(n.max(1))
                .map_err(cuda_error("allocate"))
        };
        let acts = std::iter::once(capacity * host.input.len())
            .chain(layers.iter().map(|l| capacity * l.output.len()))
            .map(zeros)
            .collect::<Result<Vec<_>>>()?;
        let dacts = acts
            .iter()
            .map(|a| zeros(a.len()))
            .collect::<Result<Vec<_>>>()?;
        let cols = layers
            .iter()
            .map(|l| {
                matches!(l.op, Op::Conv(_))
                    .then(|| zeros(cols_len(l)))
                    .transpose()
            })
            .collect::<Result<Vec<_>>>()?;
        let argmax = layers
            .iter()
            .map(|l| {
                matches!(l.op, Op::Pool(_))
                    .then(|| s.alloc_zeros::<u8>(capacity * l.output.len()))
                    .transpose()
                    .map_err(cuda_error("allocate"))
            })
            .collect::<Result<Vec<_>>>()?;
        let n = host.param_count();
        Ok(GpuModel {
            sgd: None,
            logits: Vec::new(),
            params: zeros(n)?,
            grads: zeros(n)?,
            velocity: zeros(n)?,
            dcols: zeros(layers.iter().map(cols_len).max().unwrap_or(0))?,
            labels: s.alloc_zeros(capacity).map_err(cuda_error("allocate"))?,
            row_loss: s.alloc_zeros(capacity).map_err(cuda_error("allocate"))?,
            row_correct: s.alloc_zeros(capacity).map_err(cuda_error("allocate"))?,
            staging: host.workspace(1),
            acts,
            dacts,
            cols,
            argmax,
            capacity,
            batch: 0,
            host,
            gpu,
        })
    }

    pub fn param_count(&self) -> usize {
        self.host.param_count()
    }

    pub fn classes(&self) -> usize {
        self.host.classes()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The CPU model of the same layers (its `param_infos` name the ranges of
    /// every vector here; its `params` are the device's as of the last
    /// `Backend::host`, not kept in sync).
    pub fn host_model(&self) -> &Model {
        &self.host
    }

    /// Copy flat parameters (in `Model::params` layout) to the device.
    pub fn upload_params(&mut self, params: &[f32]) -> Result<()> {
        upload(&self.gpu, params, &mut self.params, "parameters")
    }

    /// Copy parameters and `sgd`'s momentum to the device and take its
    /// step (learning rate, momentum, decay) for `Backend::step`.
    pub fn upload_state(&mut self, params: &[f32], sgd: &Sgd) -> Result<()> {
        self.upload_params(params)?;
        upload(&self.gpu, sgd.velocity(), &mut self.velocity, "momentum")?;
        self.sgd = Some(sgd.clone());
        Ok(())
    }

    /// The SGD step set by `upload_state`.
    fn sgd_config(&self) -> Result<SgdConfig> {
        self.sgd.as_ref().map(|s| s.cfg).ok_or_else(|| {
            Error::bad("GPU model: no SGD state (call upload_state before training)")
        })
    }

    pub fn download_params(&self) -> Result<Vec<f32>> {
        download(&self.gpu, &self.params, self.param_count())
    }

    pub fn download_velocity(&self) -> Result<Vec<f32>> {
        download(&self.gpu, &self.velocity, self.param_count())
    }

    /// The gradient of the mean loss left by `loss_and_gradient` (`Workspace::grads` layout).
    pub fn download_grads(&self) -> Result<Vec<f32>> {
        download(&self.gpu, &self.grads, self.param_count())
    }

    /// The logits (batch x classes) of the last `forward`.
    pub fn download_logits(&self) -> Result<Vec<f32>> {
        let last = &self.acts[self.host.layers.len()];
        download(&self.gpu, last, self.batch * self.classes())
    }

    /// Put a batch on the device: `input` NHWC (as `Workspace::input_mut`), one label per example.
    pub fn load(&mut self, input: &[f32], labels: &[u8]) -> Result<()> {
        let (batch, per) = (labels.len(), self.host.input.len());
        if batch == 0 || batch > self.capacity || input.len() != batch * per {
            return Err(Error::bad(format!(
                "GPU model: a batch of {batch} labels and {} input floats does not fit (1..={} examples of {per} floats)",
                input.len(),
                self.capacity
            )));
        }
        if let Some(&y) = labels.iter().find(|&&y| y as usize >= self.classes()) {
            return Err(Error::bad(format!(
                "GPU model: label {y} out of range for {} classes",
                self.classes()
            )));
        }
        let s = &self.gpu.stream;
        s.memcpy_htod(input, &mut self.acts[0].slice_mut(..input.len()))
            .map_err(cuda_error("copy input"))?;
        s.memcpy_htod(labels, &mut self.labels.slice_mut(..batch))
            .map_err(cuda_error("copy labels"))?;
        self.batch = batch;
        Ok(())
    }

    fn require_batch(&self) -> Result<()> {
        if self.batch == 0 {
            return Err(Error::bad("GPU model: no batch loaded (call load first)"));
        }
        Ok(())
    }

    /// `load` the examples `idx` of `images` (PyTorch's c x h x w layout), through `Workspace::load`.
    pub fn load_images(&mut self, images: &Images, idx: &[usize]) -> Result<()> {
        let per = self.host.input.len();
        let mut input = Vec::with_capacity(idx.len() * per);
        let mut labels = Vec::with_capacity(idx.len());
        for &i in idx {
            self.staging.load(images, &[i]);
            input.extend_from_slice(&self.staging.input_mut()[..per]);
            labels.push(self.staging.labels[0]);
        }
        self.load(&input, &labels)
    }

    /// Forward pass of the loaded batch (`Model::forward`); logits stay on the device.
    pub fn forward(&mut self) -> Result<()> {
        self.require_batch()?;
        let (gpu, batch) = (&*self.gpu, self.batch);
        for (i, l) in self.host.layers.iter().enumerate() {
            let (before, after) = self.acts.split_at_mut(i + 1);
            let x = before[i].slice(..batch * l.input.len());
            let mut y = after[0].slice_mut(..batch * l.output.len());
            let (w, b) = (
                self.params.slice(l.w.clone()),
                self.params.slice(l.b.clone()),
            );
            match &l.op {
                Op::Conv(c) => {
                    let cols = self.cols[i].as_mut().expect("a conv layer has cols");
                    let mut cols = cols.slice_mut(..c.cols_len(batch));
                    gpu.im2col(c, &x, batch, &mut cols)?;
                    let rows = batch * l.output.h * l.output.w;
                    gpu.affine(&cols.as_view(), (rows, c.patch_len()), &w, &b, &mut y)?;
                }
                Op::Pool(p) => {
                    let argmax = self.argmax[i].as_mut().expect("a pool layer has argmax");
                    let mut argmax = argmax.slice_mut(..batch * l.output.len());
                    gpu.maxpool_forward(p, &x, batch, &mut y, &mut argmax)?;
                }
                Op::Relu => gpu.relu_forward(&x, &mut y)?,
                Op::Flatten => gpu.flatten(l.input, false, &x, batch, &mut y)?,
                Op::Linear(lin) => gpu.affine(&x, (batch, lin.inputs), &w, &b, &mut y)?,
            }
        }
        Ok(())
    }

    /// Backward pass from the logits' gradient (left by `loss_and_gradient`)
    /// into the gradient vector (`Model::backward`); input gradients only
    /// where an earlier layer has parameters (`Model::needs_input_gradient`).
    pub fn backward(&mut self) -> Result<()> {
        self.require_batch()?;
        let (gpu, batch) = (&*self.gpu, self.batch);
        for (i, l) in self.host.layers.iter().enumerate().rev() {
            let (dbefore, dafter) = self.dacts.split_at_mut(i + 1);
            let dy = dafter[0].slice(..batch * l.output.len());
            let mut dx = dbefore[i].slice_mut(..batch * l.input.len());
            let x = self.acts[i].slice(..batch * l.input.len());
            let need_dx = self.host.needs_input_gradient(i);
            let w = self.params.slice(l.w.clone());
            // dW then db: adjacent in the gradient vector, as in `params`.
            let mut wb = self.grads.slice_mut(l.w.start..l.b.end);
            match &l.op {
                Op::Conv(c) => {
                    let rows = batch * l.output.h * l.output.w;
                    let cols = self.cols[i].as_ref().expect("a conv layer has cols");
                    let cols = cols.slice(..c.cols_len(batch));
                    let mut dcols = self.dcols.slice_mut(..c.cols_len(batch));
                    let dcols_wanted = need_dx.then_some(&mut dcols);
                    gpu.affine_backward(
                        &cols,
                        (rows, c.patch_len()),
                        &w,
                        &dy,
                        &mut wb,
                        dcols_wanted,
                    )?;
                    if need_dx {
                        gpu.col2im(c, &dcols.as_view(), batch, &mut dx)?;
                    }
                }
                Op::Linear(lin) => {
                    let dx_wanted = need_dx.then_some(&mut dx);
                    gpu.affine_backward(&x, (batch, lin.inputs), &w, &dy, &mut wb, dx_wanted)?;
                }
                _ if !need_dx => {}
                Op::Pool(p) => {
                    let argmax = self.argmax[i].as_ref().expect("a pool layer has argmax");
                    gpu.maxpool_backward(p, &dy, &argmax.slice(..dy.len()), batch, &mut dx)?;
                }
                Op::Relu => {
                    let y = self.acts[i + 1].slice(..dy.len());
                    gpu.relu_backward(&y, &dy, &mut dx)?;
                }
                Op::Flatten => gpu.flatten(l.input, true, &dy, batch, &mut dx)?,
            }
        }
        Ok(())
    }

    /// One step's gradient on the loaded batch: forward, mean cross-entropy,
    /// backward (`Model::loss_and_gradient`). Returns (loss sum, correct),
    /// the per-row losses summed on the host in row order.
    pub fn loss_and_gradient(&mut self) -> Result<(f64, usize)> {
        self.forward()?;
        let (batch, classes, last) = (self.batch, self.classes(), self.host.layers.len());
        self.gpu.softmax_cross_entropy(
            &self.acts[last].slice(..batch * classes),
            &self.labels.slice(..batch),
            classes,
            &mut self.row_loss.slice_mut(..batch),
            &mut self.row_correct.slice_mut(..batch),
            &mut self.dacts[last].slice_mut(..batch * classes),
        )?;
        self.backward()?;
        let loss = download(&self.gpu, &self.row_loss, batch)?;
        let correct = download(&self.gpu, &self.row_correct, batch)?;
        Ok((loss.iter().sum(), correct.iter().map(|&c| c as usize).sum()))
    }

    /// One SGD-with-momentum update of the parameters by the gradient (`Sgd::step`).
    pub fn sgd_step(&mut self, cfg: &SgdConfig) -> Result<()> {
        let n = self.param_count();
        self.gpu.sgd_momentum(
            cfg,
            &mut self.params.slice_mut(..n),
            &mut self.velocity.slice_mut(..n),
            &self.grads.slice(..n),
        )
    }
}

impl Forward for GpuModel {
    fn classes(&self) -> usize {
        self.host.classes()
    }
    fn eval_capacity(&self) -> usize {
        self.capacity
    }
    /// A forward pass on the device; the logits are copied to the host.
    fn logits(&mut self, images: &Images, idx: &[usize]) -> Result<&[f32]> {
        self.load_images(images, idx)?;
        self.forward()?;
        self.logits = self.download_logits()?;
        Ok(&self.logits)
    }
}

impl Backend for GpuModel {
    fn gradient(&mut self, images: &Images, idx: &[usize]) -> Result<(f64, usize)> {
        self.load_images(images, idx)?;
        self.loss_and_gradient()
    }
    fn step(&mut self) -> Result<()> {
        let cfg = self.sgd_config()?;
        self.sgd_step(&cfg)
    }
    /// Copies the parameters into the host model and the momentum into the host `Sgd`.
    /// Cost: two device-to-host copies of `param_count` floats each.
    fn host(&mut self) -> Result<(&Model, &Sgd)> {
        self.sgd_config()?;
        let params = self.download_params()?;
        let velocity = self.download_velocity()?;
        self.host.params.copy_from_slice(&params);
        let sgd = self.sgd.as_mut().expect("checked by sgd_config");
        sgd.set_velocity(&velocity);
        Ok((&self.host, sgd))
    }
}

/// Copy `host` to `device`, which must have the same length (parameter
/// vectors are allocated with exactly `param_count` elements, never fewer than 1).
fn upload(gpu: &Gpu, host: &[f32], device: &mut CudaSlice<f32>, what: &str) -> Result<()> {
    if host.len() != device.len() {
        return Err(Error::bad(format!(
            "GPU model: {what} of length {} for a model of {}",
            host.len(),
            device.len()
        )));
    }
    gpu.stream
        .memcpy_htod(host, device)
        .map_err(cuda_error("copy to device"))
}

/// The first `n` elements of `device`, after the queued work finished.
fn download<T: cudarc::driver::DeviceRepr + Default + Clone>(
    gpu: &Gpu,
    device: &CudaSlice<T>,
    n: usize,
) -> Result<Vec<T>> {
    let mut host = vec![T::default(); n];
    gpu.stream
        .memcpy_dtoh(&device.slice(..n), &mut host)
        .map_err(cuda_error("copy to host"))?;
    gpu.synchronize()?;
    Ok(host)
}
