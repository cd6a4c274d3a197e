//! `GpuModel`: the device twin of `nets::cnn::Model` for the same layer
//! list. The layout (shapes, `ParamInfo` ranges, validation) is the CPU
//! model's own: `GpuModel` builds a host `Model` and walks the same
//! `LayerSpec`s with the CPU layer types, so the flat parameter, gradient
//! and momentum vectors are element for element those of the CPU engine.
//! All buffers live on the device for a fixed batch capacity; a training
//! step moves only the batch in and the per-row losses out.

use std::ops::Range;
use std::sync::Arc;

use cudarc::driver::CudaSlice;

use super::{cuda_error, Gpu};
use crate::error::{Error, Result};
use crate::nets::cnn::layers::{Conv2d, Linear, MaxPool2, Shape};
use crate::nets::cnn::train::shuffle_order;
use crate::nets::cnn::{Arch, EpochStats, Images, LayerSpec, Model, SgdConfig, Workspace};
use crate::rng::Rng;

/// One layer: its CPU type (which owns the shape arithmetic) and parameter ranges.
enum Op {
    Conv(Conv2d),
    Pool(MaxPool2),
    Relu,
    Flatten,
    Linear(Linear),
}

struct Layer {
    op: Op,
    input: Shape,
    output: Shape,
    w: Range<usize>,
    b: Range<usize>,
}

/// A CNN on the GPU: parameters, gradients, momentum and every activation
/// buffer on the device, for batches of up to `capacity` examples.
pub struct GpuModel {
    gpu: Arc<Gpu>,
    /// The CPU model of the same layers: the layout, and `ParamInfo`s for checkpoints.
    host: Model,
    layers: Vec<Layer>,
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
}

impl GpuModel {
    /// The model of `arch` on 32x32 RGB images with `classes` outputs (`Model::for_arch`).
    pub fn for_arch(gpu: Arc<Gpu>, arch: &Arch, classes: usize, capacity: usize) -> Result<Self> {
        let host = Model::for_arch(arch, classes)?;
        Self::with_host(gpu, host, &arch.layers(classes), capacity)
    }

    /// The model of `specs` on inputs of shape `input` (`Model::new`), parameters 0.
    pub fn new(gpu: Arc<Gpu>, input: Shape, specs: &[LayerSpec], capacity: usize) -> Result<Self> {
        Self::with_host(gpu, Model::new(input, specs)?, specs, capacity)
    }

    /// `host` must be the model of `specs` (as both constructors make it).
    fn with_host(gpu: Arc<Gpu>, host: Model, specs: &[LayerSpec], capacity: usize) -> Result<Self> {
        if capacity == 0 {
            return Err(Error::bad("GPU model: batch capacity must be >= 1"));
        }
        let mut ranges = host.param_infos().iter().map(|info| info.range.clone());
        let mut take_wb = || match (ranges.next(), ranges.next()) {
            (Some(w), Some(b)) => Ok((w, b)),
            _ => Err(Error::bad(
                "GPU model: the layer list does not match its parameters",
            )),
        };
        let mut layers = Vec::with_capacity(specs.len());
        let mut shape = host.input;
        for spec in specs {
            let (op, output, (w, b)) = match spec {
                LayerSpec::Conv { c_out, k, pad, .. } => {
                    let conv = Conv2d {
                        input: shape,
                        c_out: *c_out,
                        k: *k,
                        pad: *pad,
                    };
                    (Op::Conv(conv), conv.output(), take_wb()?)
                }
                LayerSpec::Linear { outputs, .. } => {
                    let lin = Linear {
                        inputs: shape.c,
                        outputs: *outputs,
                    };
                    (Op::Linear(lin), Shape::flat(*outputs), take_wb()?)
                }
                LayerSpec::MaxPool2 => {
                    let pool = MaxPool2 { input: shape };
                    (Op::Pool(pool), pool.output(), (0..0, 0..0))
                }
                LayerSpec::Relu => (Op::Relu, shape, (0..0, 0..0)),
                LayerSpec::Flatten => (Op::Flatten, Shape::flat(shape.len()), (0..0, 0..0)),
            };
            layers.push(Layer {
                op,
                input: shape,
                output,
                w,
                b,
            });
            shape = output;
        }
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
            layers,
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
    /// every vector here; its `params` are not kept in sync with the device).
    pub fn host(&self) -> &Model {
        &self.host
    }

    /// Copy flat parameters (in `Model::params` layout) to the device.
    pub fn upload_params(&mut self, params: &[f32]) -> Result<()> {
        upload(&self.gpu, params, &mut self.params, "parameters")
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
        let last = &self.acts[self.layers.len()];
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
        for (i, l) in self.layers.iter().enumerate() {
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
    /// into the gradient vector (`Model::backward`); the first layer's input
    /// gradient is not formed.
    pub fn backward(&mut self) -> Result<()> {
        self.require_batch()?;
        let (gpu, batch) = (&*self.gpu, self.batch);
        for (i, l) in self.layers.iter().enumerate().rev() {
            let (dbefore, dafter) = self.dacts.split_at_mut(i + 1);
            let dy = dafter[0].slice(..batch * l.output.len());
            let mut dx = dbefore[i].slice_mut(..batch * l.input.len());
            let x = self.acts[i].slice(..batch * l.input.len());
            let need_dx = i > 0;
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
        let (batch, classes, last) = (self.batch, self.classes(), self.layers.len());
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

/// One epoch on the GPU, as `nets::cnn::train_epoch` with one shard: shuffle
/// `order` with `rng`, then one SGD step per mini-batch of `batch` indices
/// (`batch` <= the model's capacity). Fails with `Error::Numerical` on a
/// non-finite loss.
pub fn train_epoch(
    model: &mut GpuModel,
    cfg: &SgdConfig,
    images: &Images,
    order: &mut [usize],
    batch: usize,
    rng: &mut Rng,
) -> Result<EpochStats> {
    if batch == 0 || batch > model.capacity {
        return Err(Error::bad(format!(
            "GPU training: batch {batch} outside 1..={}",
            model.capacity
        )));
    }
    shuffle_order(order, rng);
    let (mut loss, mut correct) = (0.0, 0usize);
    for (b, idx) in order.chunks(batch).enumerate() {
        model.load_images(images, idx)?;
        let (l, c) = model.loss_and_gradient()?;
        if !l.is_finite() {
            return Err(Error::Numerical(format!(
                "mini-batch {b}: training loss is {l} on the GPU (lower the learning rate?)"
            )));
        }
        model.sgd_step(cfg)?;
        loss += l;
        correct += c;
    }
    let n = order.len().max(1) as f64;
    Ok(EpochStats {
        mean_loss: loss / n,
        error: 1.0 - correct as f64 / n,
    })
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
