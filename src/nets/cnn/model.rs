//! A sequential model of the layers in `layers`, with all parameters in one
//! flat f32 vector (so SGD is one loop) and every activation, gradient and
//! scratch buffer preallocated in a `Workspace` for a maximal batch: the
//! training loop allocates nothing.
//!
//! Architectures: the course project's CNN (github ItayAbuhazera/OverparameterizationProject) by (k, h1, h2),
//! conv(3->6, 5x5) relu pool, conv(6->k, 5x5) relu pool, flatten (25k),
//! fc(25k->h1) relu, fc(h1->h2) relu, fc(h2->classes); and an MLP on the
//! flattened image by its hidden widths. Parameter names follow PyTorch's
//! state_dict (`conv1.weight`, `fc3.bias`, ...).

use std::ops::Range;

use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::layers::{
    flatten_backward, flatten_forward, relu_backward, relu_forward, softmax_cross_entropy, Conv2d,
    Linear, MaxPool2, Shape,
};
use crate::error::{Error, Result};
use crate::rng::Rng;

/// One layer of a model description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LayerSpec {
    Conv {
        name: String,
        c_out: usize,
        k: usize,
        pad: usize,
    },
    MaxPool2,
    Relu,
    Flatten,
    Linear {
        name: String,
        outputs: usize,
    },
}

/// The model families of the studies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Arch {
    /// The course project's CNN: conv2 has k channels, fc1 h1 and fc2 h2 units.
    CourseCnn { k: usize, h1: usize, h2: usize },
    /// fc layers of the given hidden widths on the flattened image, ReLU between.
    Mlp { widths: Vec<usize> },
}

impl Arch {
    /// The layer list for `classes` outputs.
    pub fn layers(&self, classes: usize) -> Vec<LayerSpec> {
        use LayerSpec::*;
        let conv = |name: &str, c_out| Conv {
            name: name.into(),
            c_out,
            k: 5,
            pad: 0,
        };
        let fc = |name: String, outputs| Linear { name, outputs };
        match self {
            Arch::CourseCnn { k, h1, h2 } => vec![
                conv("conv1", 6),
                Relu,
                MaxPool2,
                conv("conv2", *k),
                Relu,
                MaxPool2,
                Flatten,
                fc("fc1".into(), *h1),
                Relu,
                fc("fc2".into(), *h2),
                Relu,
                fc("fc3".into(), classes),
            ],
            Arch::Mlp { widths } => {
                let mut v = vec![Flatten];
                for (i, &w) in widths.iter().enumerate() {
                    v.push(fc(format!("fc{}", i + 1), w));
                    v.push(Relu);
                }
                v.push(fc(format!("fc{}", widths.len() + 1), classes));
                v
            }
        }
    }

    /// A short label: `cnn16-150-80`, `mlp512-256`.
    pub fn label(&self) -> String {
        match self {
            Arch::CourseCnn { k, h1, h2 } => format!("cnn{k}-{h1}-{h2}"),
            Arch::Mlp { widths } => format!(
                "mlp{}",
                widths
                    .iter()
                    .map(|w| w.to_string())
                    .collect::<Vec<_>>()
                    .join("-")
            ),
        }
    }
}

/// One layer's operation, with its shape arithmetic (shared with the GPU engine).
#[derive(Clone, Debug)]
pub(crate) enum Op {
    Conv(Conv2d),
    Pool(MaxPool2),
    Relu,
    Flatten,
    Linear(Linear),
}

/// A parameter tensor: its state_dict name, PyTorch shape and place in `params`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamInfo {
    pub name: String,
    pub shape: Vec<usize>,
    pub range: Range<usize>,
    /// Fan-in of the layer (PyTorch's init bound is 1/sqrt(fan_in)).
    pub fan_in: usize,
    /// For conv weights: (c_out, c_in, k), stored internally as [c_out, k, k, c_in].
    pub conv: Option<(usize, usize, usize)>,
}

/// One layer of a model: its operation, shapes and parameter ranges.
#[derive(Clone, Debug)]
pub(crate) struct Layer {
    pub(crate) op: Op,
    pub(crate) input: Shape,
    pub(crate) output: Shape,
    /// Weight and bias ranges in `params` (empty for parameter-free layers).
    pub(crate) w: Range<usize>,
    pub(crate) b: Range<usize>,
}

/// A sequential model: layers, their shapes and the flat parameter vector.
#[derive(Clone, Debug)]
pub struct Model {
    pub input: Shape,
    pub(crate) layers: Vec<Layer>,
    pub params: Vec<f32>,
    infos: Vec<ParamInfo>,
}

impl Model {
    /// Lay out the layers on an input of shape (h, w, c); parameters start at 0.
    pub fn new(input: Shape, specs: &[LayerSpec]) -> Result<Model> {
        let mut layers = Vec::new();
        let mut infos = Vec::new();
        let mut shape = input;
        let mut n = 0;
        for (i, spec) in specs.iter().enumerate() {
            let (op, output, w, b) = match spec {
                LayerSpec::Conv {
                    name,
                    c_out,
                    k,
                    pad,
                } => {
                    if *k == 0 || *c_out == 0 || shape.h + 2 * pad < *k || shape.w + 2 * pad < *k {
                        return Err(Error::bad(format!(
                            "layer {i} ({name}): a {k}x{k} convolution with {c_out} channels does not fit an input of {}x{}x{}",
                            shape.h, shape.w, shape.c
                        )));
                    }
                    let conv = Conv2d {
                        input: shape,
                        c_out: *c_out,
                        k: *k,
                        pad: *pad,
                    };
                    let (w, b) = (
                        n..n + conv.weight_len(),
                        n + conv.weight_len()..n + conv.weight_len() + c_out,
                    );
                    n = b.end;
                    let fan_in = conv.patch_len();
                    infos.push(ParamInfo {
                        name: format!("{name}.weight"),
                        shape: vec![*c_out, shape.c, *k, *k],
                        range: w.clone(),
                        fan_in,
                        conv: Some((*c_out, shape.c, *k)),
                    });
                    infos.push(ParamInfo {
                        name: format!("{name}.bias"),
                        shape: vec![*c_out],
                        range: b.clone(),
                        fan_in,
                        conv: None,
                    });
                    (Op::Conv(conv), conv.output(), w, b)
                }
                LayerSpec::MaxPool2 => {
                    if shape.h < 2 || shape.w < 2 {
                        return Err(Error::bad(format!(
                            "layer {i} (max-pool): input {}x{} is smaller than 2x2",
                            shape.h, shape.w
                        )));
                    }
                    let p = MaxPool2 { input: shape };
                    (Op::Pool(p), p.output(), 0..0, 0..0)
                }
                LayerSpec::Relu => (Op::Relu, shape, 0..0, 0..0),
                LayerSpec::Flatten => (Op::Flatten, Shape::flat(shape.len()), 0..0, 0..0),
                LayerSpec::Linear { name, outputs } => {
                    if shape.h != 1 || shape.w != 1 {
                        return Err(Error::bad(format!("layer {i} ({name}): a linear layer needs a flat input (put a flatten before it)")));
                    }
                    if *outputs == 0 {
                        return Err(Error::bad(format!(
                            "layer {i} ({name}): needs at least one output"
                        )));
                    }
                    let lin = Linear {
                        inputs: shape.c,
                        outputs: *outputs,
                    };
                    let (w, b) = (
                        n..n + outputs * shape.c,
                        n + outputs * shape.c..n + outputs * shape.c + outputs,
                    );
                    n = b.end;
                    infos.push(ParamInfo {
                        name: format!("{name}.weight"),
                        shape: vec![*outputs, shape.c],
                        range: w.clone(),
                        fan_in: shape.c,
                        conv: None,
                    });
                    infos.push(ParamInfo {
                        name: format!("{name}.bias"),
                        shape: vec![*outputs],
                        range: b.clone(),
                        fan_in: shape.c,
                        conv: None,
                    });
                    (Op::Linear(lin), Shape::flat(*outputs), w, b)
                }
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
        if shape.h != 1 || shape.w != 1 {
            return Err(Error::bad(
                "the model must end in a linear layer (flat logits)",
            ));
        }
        Ok(Model {
            input,
            layers,
            params: vec![0.0; n],
            infos,
        })
    }

    /// The model of `arch` on 32x32 RGB images with `classes` outputs.
    pub fn for_arch(arch: &Arch, classes: usize) -> Result<Model> {
        Model::new(Shape::new(32, 32, 3), &arch.layers(classes))
    }

    /// PyTorch's default initialisation of Conv2d and Linear: weights
    /// kaiming_uniform(a = sqrt(5)), i.e. U(-b, b) with b = gain sqrt(3 / fan_in),
    /// gain = sqrt(2 / (1 + a^2)) = sqrt(1/3), so b = 1/sqrt(fan_in); biases
    /// U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    pub fn init_pytorch(&mut self, rng: &mut Rng) {
        for info in &self.infos {
            let bound = 1.0 / (info.fan_in as f64).sqrt();
            for p in &mut self.params[info.range.clone()] {
                *p = rng.random_range(-bound..bound) as f32;
            }
        }
    }

    pub fn param_count(&self) -> usize {
        self.params.len()
    }

    /// Floating-point operations of one training example (forward and
    /// backward), counting the multiply-adds of the convolutions and linear
    /// layers as 2 flops each: the forward product F = 2 x (outputs x fan-in)
    /// per layer (a conv's outputs are its h_out w_out c_out positions), the
    /// weight gradient F again, and the input gradient F for every layer but
    /// the first with parameters (whose input gradient is not formed,
    /// `needs_input_gradient`; until 2026-12-04 the MLP's first linear layer
    /// formed it anyway, uncounted). Biases, ReLU, max-pool
    /// and the loss are O(activations) and not counted. For (16, 150, 80):
    /// forward 1.33 MFLOP an image, training 3.29 MFLOP (tested).
    pub fn training_flops_per_example(&self) -> f64 {
        let mut total = 0.0;
        let mut first = true;
        for layer in &self.layers {
            let forward = match &layer.op {
                Op::Conv(conv) => 2.0 * (layer.output.len() * conv.patch_len()) as f64,
                Op::Linear(lin) => 2.0 * (lin.inputs * lin.outputs) as f64,
                Op::Pool(_) | Op::Relu | Op::Flatten => continue,
            };
            total += if first { 2.0 } else { 3.0 } * forward;
            first = false;
        }
        total
    }

    /// Whether the backward pass needs layer `i`'s input gradient: only when
    /// an earlier layer has parameters (the MLP's flatten comes first, so its
    /// first linear layer, the largest, forms none).
    pub fn needs_input_gradient(&self, i: usize) -> bool {
        self.layers[..i]
            .iter()
            .any(|l| matches!(l.op, Op::Conv(_) | Op::Linear(_)))
    }

    /// Whether layer `i` is a ReLU whose max-pool (layer i + 1) applies it:
    /// the CPU passes skip it and form no output for it
    /// (`MaxPool2::forward_relu`, which gives the same bits). The layer list,
    /// which the GPU engine runs as it is, keeps both layers.
    pub(crate) fn relu_in_pool(&self, i: usize) -> bool {
        matches!(self.layers[i].op, Op::Relu)
            && matches!(self.layers.get(i + 1).map(|l| &l.op), Some(Op::Pool(_)))
    }

    /// Number of outputs (logits).
    pub fn classes(&self) -> usize {
        self.layers.last().map(|l| l.output.c).unwrap_or(0)
    }

    /// The parameter tensors in state_dict order.
    pub fn param_infos(&self) -> &[ParamInfo] {
        &self.infos
    }

    /// Buffers for batches of up to `capacity` examples.
    pub fn workspace(&self, capacity: usize) -> Workspace {
        let cap = capacity.max(1);
        let mut acts = vec![vec![0.0; cap * self.input.len()]];
        let mut argmax = Vec::new();
        let mut cols_len = 0;
        for (i, l) in self.layers.iter().enumerate() {
            // A ReLU that its pool applies never forms its output.
            let len = if self.relu_in_pool(i) {
                0
            } else {
                cap * l.output.len()
            };
            acts.push(vec![0.0; len]);
            if let Op::Conv(c) = &l.op {
                cols_len = cols_len.max(c.scratch_len(cap));
            }
            argmax.push(match &l.op {
                Op::Pool(_) => vec![0u8; cap * l.output.len()],
                _ => Vec::new(),
            });
        }
        let dacts = acts.iter().map(|a| vec![0.0; a.len()]).collect();
        Workspace {
            capacity: cap,
            input: self.input,
            acts,
            dacts,
            argmax,
            cols: vec![0.0; cols_len],
            dcols: vec![0.0; cols_len],
            grads: vec![0.0; self.params.len()],
            labels: Vec::with_capacity(cap),
        }
    }

    /// Forward pass of the `batch` examples in `ws.acts[0]`; returns the logits (batch x classes).
    pub fn forward<'a>(&self, ws: &'a mut Workspace, batch: usize) -> &'a [f32] {
        assert!(
            batch <= ws.capacity,
            "batch {batch} above workspace capacity {}",
            ws.capacity
        );
        for (i, l) in self.layers.iter().enumerate() {
            if self.relu_in_pool(i) {
                continue;
            }
            // A pool after a ReLU reads the ReLU's input and applies it.
            let relu_first = i > 0 && self.relu_in_pool(i - 1);
            let (before, after) = ws.acts.split_at_mut(i + 1);
            let x = &before[i - usize::from(relu_first)][..batch * l.input.len()];
            let y = &mut after[0][..batch * l.output.len()];
            match &l.op {
                Op::Pool(p) if relu_first => p.forward_relu(x, batch, y, &mut ws.argmax[i]),
                Op::Conv(c) => c.forward(
                    &self.params[l.w.clone()],
                    &self.params[l.b.clone()],
                    x,
                    batch,
                    &mut ws.cols,
                    y,
                ),
                Op::Pool(p) => p.forward(x, batch, y, &mut ws.argmax[i]),
                Op::Relu => relu_forward(x, y),
                Op::Flatten => flatten_forward(l.input, x, batch, y),
                Op::Linear(lin) => lin.forward(
                    &self.params[l.w.clone()],
                    &self.params[l.b.clone()],
                    x,
                    batch,
                    y,
                ),
            }
        }
        &ws.acts[self.layers.len()][..batch * self.classes()]
    }

    /// Backward pass from `ws.dacts[last]` (d loss / d logits) after `forward`:
    /// fills `ws.grads`. Input gradients are formed only where a layer with
    /// parameters lies before (`needs_input_gradient`).
    pub fn backward(&self, ws: &mut Workspace, batch: usize) {
        let grads = &mut ws.grads;
        for (i, l) in self.layers.iter().enumerate().rev() {
            if self.relu_in_pool(i) {
                continue;
            }
            // A pool that applied the ReLU before it gives that ReLU's dx.
            let relu_first = i > 0 && self.relu_in_pool(i - 1);
            let (dbefore, dafter) = ws.dacts.split_at_mut(i + 1);
            let dy = &dafter[0][..batch * l.output.len()];
            let below = i - usize::from(relu_first);
            let dx = &mut dbefore[below][..batch * l.input.len()];
            let x = &ws.acts[below][..batch * l.input.len()];
            let y = &ws.acts[i + 1][..batch * l.output.len()];
            let need_dx = self.needs_input_gradient(i);
            match &l.op {
                Op::Conv(c) => {
                    let (dw, db) = split_wb(grads, &l.w, &l.b);
                    let dxs = need_dx.then(|| (&mut ws.dcols[..], dx));
                    c.backward(
                        &self.params[l.w.clone()],
                        x,
                        dy,
                        batch,
                        &mut ws.cols,
                        dw,
                        db,
                        dxs,
                    );
                }
                Op::Linear(lin) => {
                    let (dw, db) = split_wb(grads, &l.w, &l.b);
                    lin.backward(
                        &self.params[l.w.clone()],
                        x,
                        dy,
                        batch,
                        dw,
                        db,
                        need_dx.then_some(dx),
                    );
                }
                _ if !need_dx => {}
                Op::Pool(p) => p.backward(dy, &ws.argmax[i], batch, dx),
                Op::Relu => relu_backward(y, dy, dx),
                Op::Flatten => flatten_backward(l.input, dy, batch, dx),
            }
        }
    }

    /// One step's gradient: forward on `ws.acts[0]`, mean cross-entropy
    /// against `ws.labels`, backward into `ws.grads`. Returns (loss sum, correct).
    pub fn loss_and_gradient(&self, ws: &mut Workspace) -> (f64, usize) {
        let batch = ws.labels.len();
        let classes = self.classes();
        self.forward(ws, batch);
        let last = self.layers.len();
        let (loss, correct) = softmax_cross_entropy(
            &ws.acts[last][..batch * classes],
            &ws.labels,
            classes,
            Some(&mut ws.dacts[last][..batch * classes]),
        );
        self.backward(ws, batch);
        (loss, correct)
    }
}

fn split_wb<'a>(
    g: &'a mut [f32],
    w: &Range<usize>,
    b: &Range<usize>,
) -> (&'a mut [f32], &'a mut [f32]) {
    debug_assert_eq!(w.end, b.start);
    let (left, right) = g[w.start..b.end].split_at_mut(w.len());
    (left, right)
}

/// The preallocated buffers of one model for batches up to `capacity`.
pub struct Workspace {
    capacity: usize,
    input: Shape,
    /// acts[0]: the input batch (NHWC); acts[i + 1]: output of layer i,
    /// empty for a ReLU its pool applies (`Model::relu_in_pool`); dacts
    /// alike, their gradients.
    acts: Vec<Vec<f32>>,
    dacts: Vec<Vec<f32>>,
    /// im2col scratch shared by the conv layers (one chunk), and its gradient.
    cols: Vec<f32>,
    argmax: Vec<Vec<u8>>,
    dcols: Vec<f32>,
    /// Gradient of the mean loss with respect to `Model::params`.
    pub grads: Vec<f32>,
    /// Labels of the batch in `acts[0]`.
    pub labels: Vec<u8>,
}

impl Workspace {
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Copy examples `idx` of a set of images stored as PyTorch does (each
    /// image c x h x w, channel-major) into the input buffer in NHWC order,
    /// with their labels.
    pub fn load(&mut self, images: &Images, idx: &[usize]) {
        assert!(idx.len() <= self.capacity);
        let n = self.input.len();
        self.labels.clear();
        for (slot, &i) in idx.iter().enumerate() {
            let src = &images.pixels[i * n..(i + 1) * n];
            let dst = &mut self.acts[0][slot * n..(slot + 1) * n];
            chw_to_hwc(self.input.c, src, dst);
            self.labels.push(images.labels[i]);
        }
    }

    /// The input buffer (NHWC), for tests and benchmarks.
    pub fn input_mut(&mut self) -> &mut [f32] {
        &mut self.acts[0]
    }
}

/// dst[p, ch] = src[ch, p] for one image of `c` channel planes: PyTorch's
/// channel-major layout to NHWC. RGB has its own loop, which reads the three
/// planes side by side without index checks.
pub(crate) fn chw_to_hwc(c: usize, src: &[f32], dst: &mut [f32]) {
    debug_assert_eq!(src.len(), dst.len());
    let plane = src.len() / c;
    if c == 3 {
        let (red, rest) = src.split_at(plane);
        let (green, blue) = rest.split_at(plane);
        let pixels = dst.chunks_exact_mut(3).zip(red).zip(green).zip(blue);
        for (((px, &r), &g), &b) in pixels {
            px.copy_from_slice(&[r, g, b]);
        }
        return;
    }
    for (p, px) in dst.chunks_exact_mut(c).enumerate() {
        for (ch, d) in px.iter_mut().enumerate() {
            *d = src[ch * plane + p];
        }
    }
}

/// A labelled image set in PyTorch's layout: `pixels` holds n images of
/// c x h x w floats each (channel-major), `labels` their classes.
#[derive(Clone, Copy, Debug)]
pub struct Images<'a> {
    pub pixels: &'a [f32],
    pub labels: &'a [u8],
}

impl Images<'_> {
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Mean loss and error rate of the model on a whole set, in chunks of the
/// workspace's capacity (examples in order; no gradients; `backend::evaluate_on`).
pub fn evaluate(model: &Model, ws: &mut Workspace, images: &Images) -> (f64, f64) {
    let e = super::backend::evaluate_on(&mut (model, ws), images, None)
        .expect("the CPU forward pass cannot fail");
    (e.loss, e.error)
}

/// What `backend::evaluate_on` measures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// Mean cross-entropy against `images.labels`.
    pub loss: f64,
    /// Error rate against `images.labels`.
    pub error: f64,
    /// Error rate against the other labels (e.g. the clean ones under label noise).
    pub other_error: Option<f64>,
}

/// The logits (idx.len() x classes) of examples `idx` of `images`, through `ws`.
pub(crate) fn forward_examples<'w>(
    model: &Model,
    ws: &'w mut Workspace,
    images: &Images,
    idx: &[usize],
) -> &'w [f32] {
    ws.load(images, idx);
    model.forward(ws, idx.len())
}

/// All logits (n x classes) of the model on a set, for checks against PyTorch.
pub fn logits(model: &Model, ws: &mut Workspace, images: &Images) -> Vec<f32> {
    let n = images.len();
    let mut out = Vec::with_capacity(n * model.classes());
    let mut start = 0;
    while start < n {
        let end = (start + ws.capacity).min(n);
        let idx: Vec<usize> = (start..end).collect();
        ws.load(images, &idx);
        out.extend_from_slice(model.forward(ws, idx.len()));
        start = end;
    }
    out
}
