//! The layers of the f32 CNN engine, each a forward/backward pair on plain
//! slices with caller-owned buffers (no allocation per call).
//!
//! Layout: activations are NHWC (batch, row, column, channel), contiguous;
//! an image of shape (h, w, c) occupies h*w*c floats. A flat feature vector
//! is the shape (1, 1, f). Convolution weights are stored as a
//! (c_out x k*k*c_in) matrix whose column index is (ky*k + kx)*c_in + ci,
//! so a patch is k runs of k*c_in contiguous input floats; checkpoints
//! convert to PyTorch's [c_out, c_in, k, k] (see `cnn::checkpoint`).
//! Linear weights are PyTorch's [out, in]. `Flatten` turns an NHWC image
//! into PyTorch's (c, h, w) order, so fc1 matches PyTorch column for column.
//!
//! Every layer here has a naive f64 twin in `cnn::reference` that the tests
//! compare against.

pub use super::pool::{
    max_pool_backward, max_pool_backward_on, max_pool_forward, max_pool_forward_on,
    max_pool_relu_forward, max_pool_relu_forward_on, MaxPool2, RELU_OFF,
};
use crate::nets::isa::per_isa;
use ndarray::linalg::general_mat_mul;
use ndarray::ArrayView2;

/// Shape of one example: rows, columns, channels (a feature vector is (1, 1, f)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub h: usize,
    pub w: usize,
    pub c: usize,
}

impl Shape {
    pub fn new(h: usize, w: usize, c: usize) -> Self {
        Shape { h, w, c }
    }
    pub fn flat(f: usize) -> Self {
        Shape { h: 1, w: 1, c: f }
    }
    /// Floats per example.
    pub fn len(&self) -> usize {
        self.h * self.w * self.c
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// C (m x n, row-major) = A · B + beta C, where A is (m x k) row-major, or
/// stored as its transpose (k x m) when `a_t`; likewise B (k x n) or (n x k)
/// when `b_t`. ndarray hands these views to OpenBLAS sgemm. Cost 2 m n k.
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    a_t: bool,
    b: &[f32],
    b_t: bool,
    beta: f32,
    c: &mut [f32],
) {
    let a = if a_t {
        ArrayView2::from_shape((k, m), &a[..k * m])
            .expect("a")
            .reversed_axes()
    } else {
        ArrayView2::from_shape((m, k), &a[..m * k]).expect("a")
    };
    let b = if b_t {
        ArrayView2::from_shape((n, k), &b[..n * k])
            .expect("b")
            .reversed_axes()
    } else {
        ArrayView2::from_shape((k, n), &b[..k * n]).expect("b")
    };
    let mut c = ndarray::ArrayViewMut2::from_shape((m, n), &mut c[..m * n]).expect("c");
    general_mat_mul(1.0, &a, &b, beta, &mut c);
}

/// dst = src for short runs (a kernel row of a patch, k * c_in floats):
/// 8-float moves plus one overlapping 8-float move for the tail, instead
/// of a call to memcpy per run, which dominated im2col.
#[inline(always)]
fn copy_short(dst: &mut [f32], src: &[f32]) {
    let n = dst.len();
    let src = &src[..n];
    if n < 8 {
        dst.copy_from_slice(src);
        return;
    }
    let mut i = 0;
    while i + 8 <= n {
        let s: &[f32; 8] = src[i..i + 8].try_into().expect("8");
        dst[i..i + 8].copy_from_slice(s);
        i += 8;
    }
    if i < n {
        let s: &[f32; 8] = src[n - 8..n].try_into().expect("8");
        dst[n - 8..n].copy_from_slice(s);
    }
}

per_isa! {
    /// Fill each of the `rows` rows of `y` (width `bias.len()`) with `bias`.
    pub(crate) fn broadcast_rows / broadcast_rows_on(bias: &[f32], rows: usize, y: &mut [f32]) {
        for row in y[..rows * bias.len()].chunks_exact_mut(bias.len()) {
            row.copy_from_slice(bias);
        }
    }
}

per_isa! {
    /// db[j] = sum over rows of dy[row, j] (each column summed in row order).
    pub fn column_sums / column_sums_on(dy: &[f32], rows: usize, db: &mut [f32]) {
        db.fill(0.0);
        for row in dy[..rows * db.len()].chunks_exact(db.len()) {
            for (d, &g) in db.iter_mut().zip(row) {
                *d += g;
            }
        }
    }
}

// ---------------------------------------------------------------- conv2d

/// 2-d convolution (cross-correlation, as PyTorch), stride 1, zero padding
/// `pad`, square k x k kernels:
/// y[b, oy, ox, co] = bias[co] + sum_{ky,kx,ci} w[co, ky, kx, ci] x[b, oy+ky-pad, ox+kx-pad, ci].
/// Computed as im2col + one gemm over the whole batch:
/// cols (B*OH*OW x K), K = k*k*c_in; Y = cols · W^T (cost 2 B OH OW K c_out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2d {
    pub input: Shape,
    pub c_out: usize,
    pub k: usize,
    pub pad: usize,
}

impl Conv2d {
    pub fn output(&self) -> Shape {
        Shape::new(
            self.input.h + 2 * self.pad + 1 - self.k,
            self.input.w + 2 * self.pad + 1 - self.k,
            self.c_out,
        )
    }

    /// K = k * k * c_in: the length of one patch (one row of cols).
    pub fn patch_len(&self) -> usize {
        self.k * self.k * self.input.c
    }

    pub fn weight_len(&self) -> usize {
        self.c_out * self.patch_len()
    }

    /// Floats of the cols buffer for `batch` examples.
    pub fn cols_len(&self, batch: usize) -> usize {
        let o = self.output();
        batch * o.h * o.w * self.patch_len()
    }

    /// cols[(b, oy, ox), (ky, kx, ci)] = x[b, oy+ky-pad, ox+kx-pad, ci], 0 outside the image.
    pub fn im2col(&self, x: &[f32], batch: usize, cols: &mut [f32]) {
        im2col_pass(self, x, batch, cols)
    }

    /// im2col without padding; RUN = k * c_in when known at compile time, 0 otherwise.
    #[inline(always)]
    fn im2col_unpadded<const RUN: usize>(&self, x: &[f32], batch: usize, cols: &mut [f32]) {
        let (i, o, k) = (self.input, self.output(), self.k);
        let run = k * i.c;
        debug_assert!(RUN == 0 || RUN == run);
        let line = i.w * i.c;
        let kk = self.patch_len();
        let rows = &mut cols[..batch * o.h * o.w * kk];
        for (r, row) in rows.chunks_exact_mut(kk).enumerate() {
            let (b, p) = (r / (o.h * o.w), r % (o.h * o.w));
            let (oy, ox) = (p / o.w, p % o.w);
            let base = b * i.len() + oy * line + ox * i.c;
            for (ky, seg) in row.chunks_exact_mut(run).enumerate() {
                let src = &x[base + ky * line..][..run];
                if RUN > 0 {
                    let s: &[f32; RUN] = src.try_into().expect("RUN floats");
                    let d: &mut [f32; RUN] = seg.try_into().expect("RUN floats");
                    *d = *s;
                } else {
                    copy_short(seg, src);
                }
            }
        }
    }

    /// The adjoint of im2col: dx = 0, then dx[b, oy+ky-pad, ox+kx-pad, ci] += dcols[(b,oy,ox),(ky,kx,ci)].
    pub fn col2im(&self, dcols: &[f32], batch: usize, dx: &mut [f32]) {
        col2im_pass(self, dcols, batch, dx)
    }

    /// `col2im` without padding: each kernel row of a patch adds into one
    /// contiguous run of dx, with a fixed run length (`RUN` floats; 0: the
    /// layer's, known at run time only). The same adds in the same order
    /// as the general loop, so the same bits.
    #[inline(always)]
    fn col2im_unpadded<const RUN: usize>(&self, dcols: &[f32], batch: usize, dx: &mut [f32]) {
        let (i, o, k) = (self.input, self.output(), self.k);
        let run = k * i.c;
        debug_assert!(RUN == 0 || RUN == run);
        let line = i.w * i.c;
        let kk = self.patch_len();
        dx[..batch * i.len()].fill(0.0);
        for (r, row) in dcols[..batch * o.h * o.w * kk].chunks_exact(kk).enumerate() {
            let (b, p) = (r / (o.h * o.w), r % (o.h * o.w));
            let (oy, ox) = (p / o.w, p % o.w);
            let base = b * i.len() + oy * line + ox * i.c;
            for (ky, seg) in row.chunks_exact(run).enumerate() {
                let dst = &mut dx[base + ky * line..][..run];
                if RUN > 0 {
                    let s: &[f32; RUN] = seg.try_into().expect("RUN floats");
                    let d: &mut [f32; RUN] = dst.try_into().expect("RUN floats");
                    for (d, &s) in d.iter_mut().zip(s) {
                        *d += s;
                    }
                } else {
                    for (d, &s) in dst.iter_mut().zip(seg) {
                        *d += s;
                    }
                }
            }
        }
    }

    /// Images per im2col chunk: as many as keep one chunk's cols within
    /// `COLS_BUDGET` bytes (at least one), so cols stay in the L2 cache.
    pub fn chunk(&self) -> usize {
        (COLS_BUDGET / (4 * self.cols_len(1)).max(1)).max(1)
    }

    /// Floats of the cols scratch buffer for batches up to `batch`.
    pub fn scratch_len(&self, batch: usize) -> usize {
        let direct = if self.direct_fits() {
            super::direct::scratch_len(self)
        } else {
            0
        };
        self.cols_len(batch.min(self.chunk())).max(direct)
    }

    /// Whether forward and the weight gradient take the direct kernels of
    /// `cnn::direct` (conv1 of the course CNN) instead of im2col + gemm.
    pub fn direct_fits(&self) -> bool {
        super::direct::fits(self)
    }

    /// y = conv(x): the direct kernels when `direct_fits`, otherwise chunk
    /// by chunk, im2col of a few images into `cols` (`scratch_len` floats),
    /// then one gemm into their rows of y.
    pub fn forward(
        &self,
        w: &[f32],
        bias: &[f32],
        x: &[f32],
        batch: usize,
        cols: &mut [f32],
        y: &mut [f32],
    ) {
        if self.direct_fits() {
            return super::direct::forward(self, w, bias, x, batch, cols, y);
        }
        self.forward_im2col(w, bias, x, batch, cols, y);
    }

    /// `forward`'s im2col + gemm path, for every layer the direct kernels do
    /// not serve, and as their check.
    pub fn forward_im2col(
        &self,
        w: &[f32],
        bias: &[f32],
        x: &[f32],
        batch: usize,
        cols: &mut [f32],
        y: &mut [f32],
    ) {
        let (i, o) = (self.input, self.output());
        broadcast_rows(bias, batch * o.h * o.w, y);
        let chunk = self.chunk();
        for b0 in (0..batch).step_by(chunk) {
            let nb = chunk.min(batch - b0);
            self.im2col(&x[b0 * i.len()..], nb, cols);
            let r = nb * o.h * o.w;
            let yc = &mut y[b0 * o.len()..][..r * self.c_out];
            gemm(
                r,
                self.c_out,
                self.patch_len(),
                cols,
                false,
                w,
                true,
                1.0,
                yc,
            );
        }
    }

    /// Given x and dy: dW = dY^T · cols, db = column sums of dY, and, when
    /// asked, dx = col2im(dY · W). Chunk by chunk as `forward` (cols are
    /// recomputed from x rather than kept: cheaper than a trip to memory);
    /// `cols` and `dcols` are scratch of `scratch_len` floats. Without dx,
    /// a layer that `direct_fits` forms dW with the direct kernel.
    #[allow(clippy::too_many_arguments)]
    pub fn backward(
        &self,
        w: &[f32],
        x: &[f32],
        dy: &[f32],
        batch: usize,
        cols: &mut [f32],
        dw: &mut [f32],
        db: &mut [f32],
        dx: Option<(&mut [f32], &mut [f32])>,
    ) {
        if dx.is_none() && self.direct_fits() {
            return super::direct::backward_params(self, x, dy, batch, cols, (dw, db));
        }
        self.backward_im2col(w, x, dy, batch, cols, dw, db, dx);
    }

    /// `backward`'s im2col + gemm path, for every layer the direct kernels
    /// do not serve, and as their check.
    #[allow(clippy::too_many_arguments)]
    pub fn backward_im2col(
        &self,
        w: &[f32],
        x: &[f32],
        dy: &[f32],
        batch: usize,
        cols: &mut [f32],
        dw: &mut [f32],
        db: &mut [f32],
        mut dx: Option<(&mut [f32], &mut [f32])>,
    ) {
        let (i, o) = (self.input, self.output());
        let kk = self.patch_len();
        column_sums(dy, batch * o.h * o.w, db);
        let chunk = self.chunk();
        for b0 in (0..batch).step_by(chunk) {
            let nb = chunk.min(batch - b0);
            let r = nb * o.h * o.w;
            let dyc = &dy[b0 * o.len()..][..r * self.c_out];
            self.im2col(&x[b0 * i.len()..], nb, cols);
            gemm(
                self.c_out,
                kk,
                r,
                dyc,
                true,
                cols,
                false,
                if b0 == 0 { 0.0 } else { 1.0 },
                dw,
            );
            if let Some((dcols, dx)) = dx.as_mut() {
                gemm(r, kk, self.c_out, dyc, false, w, false, 0.0, dcols);
                self.col2im(dcols, nb, &mut dx[b0 * i.len()..]);
            }
        }
    }
}

per_isa! {
    /// `Conv2d::im2col`.
    pub fn im2col_pass / im2col_pass_on(
        conv: &Conv2d,
        x: &[f32],
        batch: usize,
        cols: &mut [f32],
    ) {
        let (i, o, k, pad) = (conv.input, conv.output(), conv.k, conv.pad);
        let run = k * i.c; // one kernel row of a patch
        let kk = conv.patch_len();
        if pad == 0 {
            // No padding: every kernel row is one contiguous run of the input.
            // Fixed-length copies for the course CNN's runs (5 x 3, 5 x 6).
            match run {
                15 => conv.im2col_unpadded::<15>(x, batch, cols),
                30 => conv.im2col_unpadded::<30>(x, batch, cols),
                _ => conv.im2col_unpadded::<0>(x, batch, cols),
            }
            return;
        }
        for b in 0..batch {
            let img = &x[b * i.len()..(b + 1) * i.len()];
            for oy in 0..o.h {
                for ox in 0..o.w {
                    let row = &mut cols[((b * o.h + oy) * o.w + ox) * kk..][..kk];
                    for ky in 0..k {
                        let seg = &mut row[ky * run..(ky + 1) * run];
                        let iy = (oy + ky) as isize - pad as isize;
                        if iy < 0 || iy >= i.h as isize {
                            seg.fill(0.0);
                            continue;
                        }
                        let line = &img[iy as usize * i.w * i.c..(iy as usize + 1) * i.w * i.c];
                        if ox >= pad && ox + k - pad <= i.w {
                            let x0 = (ox - pad) * i.c;
                            copy_short(seg, &line[x0..x0 + run]);
                        } else {
                            for kx in 0..k {
                                let ix = (ox + kx) as isize - pad as isize;
                                let dst = &mut seg[kx * i.c..(kx + 1) * i.c];
                                if ix < 0 || ix >= i.w as isize {
                                    dst.fill(0.0);
                                } else {
                                    let s = ix as usize * i.c;
                                    dst.copy_from_slice(&line[s..s + i.c]);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

per_isa! {
    /// `Conv2d::col2im`.
    pub fn col2im_pass / col2im_pass_on(
        conv: &Conv2d,
        dcols: &[f32],
        batch: usize,
        dx: &mut [f32],
    ) {
        let (i, o, k, pad) = (conv.input, conv.output(), conv.k, conv.pad);
        if pad == 0 {
            // As im2col: fixed-length runs for the course CNN's conv2 (5 x 6).
            match k * i.c {
                15 => conv.col2im_unpadded::<15>(dcols, batch, dx),
                30 => conv.col2im_unpadded::<30>(dcols, batch, dx),
                _ => conv.col2im_unpadded::<0>(dcols, batch, dx),
            }
            return;
        }
        let kk = conv.patch_len();
        dx[..batch * i.len()].fill(0.0);
        for b in 0..batch {
            let img = &mut dx[b * i.len()..(b + 1) * i.len()];
            for oy in 0..o.h {
                for ox in 0..o.w {
                    let row = &dcols[((b * o.h + oy) * o.w + ox) * kk..][..kk];
                    for ky in 0..k {
                        let iy = (oy + ky) as isize - pad as isize;
                        if iy < 0 || iy >= i.h as isize {
                            continue;
                        }
                        if ox >= pad && ox + k - pad <= i.w {
                            // The whole kernel row lies inside: one contiguous run.
                            let run = k * i.c;
                            let dst = &mut img[(iy as usize * i.w + ox - pad) * i.c..][..run];
                            for (d, &s) in dst.iter_mut().zip(&row[ky * run..(ky + 1) * run]) {
                                *d += s;
                            }
                            continue;
                        }
                        for kx in 0..k {
                            let ix = (ox + kx) as isize - pad as isize;
                            if ix < 0 || ix >= i.w as isize {
                                continue;
                            }
                            let dst = &mut img[(iy as usize * i.w + ix as usize) * i.c..][..i.c];
                            let src = &row[(ky * k + kx) * i.c..][..i.c];
                            for (d, &s) in dst.iter_mut().zip(src) {
                                *d += s;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Bytes of im2col scratch per chunk (about a quarter of a 1 MiB L2 cache).
pub const COLS_BUDGET: usize = 256 * 1024;

// ---------------------------------------------------------------- relu

/// relu(v) = v where v > 0, else +0; NaN passes through, as in PyTorch
/// (f32::max would turn it into 0 and hide a diverged net from its loss).
/// -0 gives +0, so every non-positive input gives the same bits, which lets
/// max-pooling apply ReLU after the maximum (`MaxPool2::forward_relu`).
#[inline(always)]
pub fn relu(v: f32) -> f32 {
    if v > 0.0 || v.is_nan() {
        v
    } else {
        0.0
    }
}

per_isa! {
    /// y = relu(x) elementwise.
    pub fn relu_forward / relu_forward_on(x: &[f32], y: &mut [f32]) {
        for (o, &v) in y.iter_mut().zip(x) {
            *o = relu(v);
        }
    }
}

per_isa! {
    /// dx = dy where y > 0, else 0 (the subgradient 0 at 0, as PyTorch).
    pub fn relu_backward / relu_backward_on(y: &[f32], dy: &[f32], dx: &mut [f32]) {
        for ((d, &g), &v) in dx.iter_mut().zip(dy).zip(y) {
            *d = if v > 0.0 { g } else { 0.0 };
        }
    }
}

// ---------------------------------------------------------------- flatten

per_isa! {
    /// NHWC image -> PyTorch's flatten order: y[b, (ch*h + r)*w + col] = x[b, r, col, ch].
    pub fn flatten_forward / flatten_forward_on(
        input: Shape,
        x: &[f32],
        batch: usize,
        y: &mut [f32],
    ) {
        let (h, w, c) = (input.h, input.w, input.c);
        let n = input.len();
        for b in 0..batch {
            let (src, dst) = (&x[b * n..(b + 1) * n], &mut y[b * n..(b + 1) * n]);
            for p in 0..h * w {
                for ch in 0..c {
                    dst[ch * h * w + p] = src[p * c + ch];
                }
            }
        }
    }
}

per_isa! {
    /// The inverse permutation: dx[b, r, col, ch] = dy[b, (ch*h + r)*w + col].
    pub fn flatten_backward / flatten_backward_on(
        input: Shape,
        dy: &[f32],
        batch: usize,
        dx: &mut [f32],
    ) {
        let (h, w, c) = (input.h, input.w, input.c);
        let n = input.len();
        for b in 0..batch {
            let (src, dst) = (&dy[b * n..(b + 1) * n], &mut dx[b * n..(b + 1) * n]);
            for p in 0..h * w {
                for ch in 0..c {
                    dst[p * c + ch] = src[ch * h * w + p];
                }
            }
        }
    }
}

// ---------------------------------------------------------------- linear

/// y = x W^T + b with x (B x in), W (out x in) as PyTorch, y (B x out). Cost 2 B in out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Linear {
    pub inputs: usize,
    pub outputs: usize,
}

impl Linear {
    pub fn forward(&self, w: &[f32], bias: &[f32], x: &[f32], batch: usize, y: &mut [f32]) {
        broadcast_rows(bias, batch, y);
        gemm(batch, self.outputs, self.inputs, x, false, w, true, 1.0, y);
    }

    /// dW = dY^T X, db = column sums of dY, dx = dY W (when asked).
    #[allow(clippy::too_many_arguments)]
    pub fn backward(
        &self,
        w: &[f32],
        x: &[f32],
        dy: &[f32],
        batch: usize,
        dw: &mut [f32],
        db: &mut [f32],
        dx: Option<&mut [f32]>,
    ) {
        gemm(
            self.outputs,
            self.inputs,
            batch,
            dy,
            true,
            x,
            false,
            0.0,
            dw,
        );
        column_sums(dy, batch, db);
        if let Some(dx) = dx {
            gemm(
                batch,
                self.inputs,
                self.outputs,
                dy,
                false,
                w,
                false,
                0.0,
                dx,
            );
        }
    }
}

// ---------------------------------------------------------------- loss

/// The class a row of logits predicts: the index of its largest value, the
/// first one on ties (a NaN is never larger, so a leading NaN predicts 0).
pub fn predicted_class(logits: &[f32]) -> usize {
    let mut best = 0;
    for (j, &v) in logits.iter().enumerate().skip(1) {
        if v > logits[best] {
            best = j;
        }
    }
    best
}

/// Softmax cross-entropy of logits (B x classes) against labels, as
/// PyTorch's CrossEntropyLoss: loss_i = logsumexp(z_i) - z_i[y_i].
/// Returns (sum of loss_i in f64, number of rows whose argmax is the label).
/// When `dlogits` is given it receives the gradient of the MEAN loss:
/// (softmax(z_i) - onehot(y_i)) / B.
pub fn softmax_cross_entropy(
    logits: &[f32],
    labels: &[u8],
    classes: usize,
    mut dlogits: Option<&mut [f32]>,
) -> (f64, usize) {
    let batch = labels.len();
    let mut loss = 0.0f64;
    let mut correct = 0;
    for (b, &label) in labels.iter().enumerate() {
        let z = &logits[b * classes..(b + 1) * classes];
        let arg = predicted_class(z);
        let max = z[arg];
        if arg == label as usize {
            correct += 1;
        }
        let sum: f64 = z.iter().map(|&v| ((v - max) as f64).exp()).sum();
        let lse = max as f64 + sum.ln();
        loss += lse - z[label as usize] as f64;
        if let Some(d) = dlogits.as_deref_mut() {
            let d = &mut d[b * classes..(b + 1) * classes];
            for (j, (g, &v)) in d.iter_mut().zip(z).enumerate() {
                let p = ((v as f64 - lse).exp()) as f32;
                *g = (p - if j == label as usize { 1.0 } else { 0.0 }) / batch as f32;
            }
        }
    }
    (loss, correct)
}
