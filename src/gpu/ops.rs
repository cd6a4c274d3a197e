//! The device twins of the loops in `nets::cnn::layers` and `train`: CUDA C
//! kernels compiled by NVRTC when a `Gpu` opens, their launches, and sgemm
//! through cuBLAS. Each kernel is one thread per output element unless
//! said otherwise, writes every element of its output (no zero-fill first,
//! no atomics: results do not depend on scheduling), and takes sizes as
//! `int`: `GpuModel::new` checks that every buffer has fewer than 2^31
//! elements.

use std::sync::Arc;

use cudarc::cublas::sys::cublasOperation_t;
use cudarc::cublas::{Gemm, GemmConfig};
use cudarc::driver::{
    CudaContext, CudaFunction, CudaView, CudaViewMut, LaunchArgs, LaunchConfig, PushKernelArg,
};
use cudarc::nvrtc::{compile_ptx_with_opts, CompileOptions, Ptx};

use super::{cuda_error, Gpu};
use crate::error::{Error, Result};
use crate::nets::cnn::layers::{Conv2d, MaxPool2, Shape};
use crate::nets::cnn::SgdConfig;

type View<'a, T = f32> = CudaView<'a, T>;
type ViewMut<'a, T = f32> = CudaViewMut<'a, T>;

/// The kernels' CUDA C. Shapes: batch B, image (h, w, c) NHWC, conv output
/// (oh, ow), kernel k x k, zero padding `pad`, K = k*k*c the patch length.
const SOURCE: &str = r#"
#define EACH(i, n) int i = blockIdx.x * blockDim.x + threadIdx.x; if (i >= (n)) return;

// cols[(b,oy,ox), (ky,kx,ci)] = x[b, oy+ky-pad, ox+kx-pad, ci], 0 outside the image; n = B*oh*ow*K.
extern "C" __global__ void im2col(const float* x, float* cols, int n, int h, int w, int c,
                                  int oh, int ow, int k, int pad) {
    EACH(i, n)
    int ci = i % c, t = i / c, kx = t % k; t /= k; int ky = t % k; t /= k;
    int ox = t % ow; t /= ow; int oy = t % oh, b = t / oh;
    int iy = oy + ky - pad, ix = ox + kx - pad;
    cols[i] = (iy >= 0 && iy < h && ix >= 0 && ix < w) ? x[((b * h + iy) * w + ix) * c + ci] : 0.0f;
}

// The adjoint of im2col, as a gather: dx[b,iy,ix,ci] = sum over (ky,kx) with
// (oy,ox) = (iy+pad-ky, ix+pad-kx) inside the output of dcols[(b,oy,ox), (ky,kx,ci)]; n = B*h*w*c.
extern "C" __global__ void col2im(const float* dcols, float* dx, int n, int h, int w, int c,
                                  int oh, int ow, int k, int pad) {
    EACH(i, n)
    int ci = i % c, t = i / c, ix = t % w; t /= w; int iy = t % h, b = t / h;
    float s = 0.0f;
    for (int ky = 0; ky < k; ++ky) {
        int oy = iy + pad - ky;
        if (oy < 0 || oy >= oh) continue;
        for (int kx = 0; kx < k; ++kx) {
            int ox = ix + pad - kx;
            if (ox >= 0 && ox < ow) s += dcols[((b * oh + oy) * ow + ox) * (k * k * c) + (ky * k + kx) * c + ci];
        }
    }
    dx[i] = s;
}

// y[r, j] = bias[j] for the rows x width matrix y; n = rows*width.
extern "C" __global__ void broadcast_rows(const float* bias, float* y, int n, int width) {
    EACH(i, n)
    y[i] = bias[i % width];
}

// db[j] = sum_r dy[r, j]: one block of 256 threads per column j, a tree sum in shared memory.
extern "C" __global__ void column_sums(const float* dy, float* db, int rows, int width) {
    __shared__ float part[256];
    int j = blockIdx.x;
    float s = 0.0f;
    for (int r = threadIdx.x; r < rows; r += blockDim.x) s += dy[r * width + j];
    part[threadIdx.x] = s;
    __syncthreads();
    for (int half = blockDim.x / 2; half > 0; half /= 2) {
        if (threadIdx.x < half) part[threadIdx.x] += part[threadIdx.x + half];
        __syncthreads();
    }
    if (threadIdx.x == 0) db[j] = part[0];
}

// y = max(x, 0); NaN passes through, as on the CPU and in PyTorch (fmaxf drops it).
extern "C" __global__ void relu_forward(const float* x, float* y, int n) {
    EACH(i, n)
    y[i] = x[i] != x[i] ? x[i] : fmaxf(x[i], 0.0f);
}

// dx = dy where y > 0, else 0 (subgradient 0 at 0, as PyTorch).
extern "C" __global__ void relu_backward(const float* y, const float* dy, float* dx, int n) {
    EACH(i, n)
    dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

// 2x2 max-pool, stride 2: y[b,oy,ox,ch] = max of x[b, 2oy+ry, 2ox+rx, ch] over q = 2ry+rx in
// 0..3, the first maximum winning ties; argmax = q. n = B*oh*ow*c.
extern "C" __global__ void maxpool_forward(const float* x, float* y, unsigned char* argmax, int n,
                                           int h, int w, int c, int oh, int ow) {
    EACH(i, n)
    int ch = i % c, t = i / c, ox = t % ow; t /= ow; int oy = t % oh, b = t / oh;
    int best = 0;
    float m = x[((b * h + 2 * oy) * w + 2 * ox) * c + ch];
    for (int q = 1; q < 4; ++q) {
        float v = x[((b * h + 2 * oy + q / 2) * w + 2 * ox + q % 2) * c + ch];
        if (v > m || (v != v && m == m)) { m = v; best = q; }  // the first NaN wins
    }
    y[i] = m;
    argmax[i] = (unsigned char)best;
}

// dx[b,iy,ix,ch] = dy[b, iy/2, ix/2, ch] if that window's winner is this input, else 0
// (also 0 in a dropped odd last row or column); n = B*h*w*c.
extern "C" __global__ void maxpool_backward(const float* dy, const unsigned char* argmax, float* dx,
                                            int n, int h, int w, int c, int oh, int ow) {
    EACH(i, n)
    int ch = i % c, t = i / c, ix = t % w; t /= w; int iy = t % h, b = t / h;
    int oy = iy / 2, ox = ix / 2, o = ((b * oh + oy) * ow + ox) * c + ch;
    dx[i] = (oy < oh && ox < ow && argmax[o] == (iy % 2) * 2 + ix % 2) ? dy[o] : 0.0f;
}

// NHWC image -> PyTorch's flatten order: y[b, (ch*h + r)*w + col] = x[b, r, col, ch]; n = B*h*w*c.
extern "C" __global__ void flatten_forward(const float* x, float* y, int n, int h, int w, int c) {
    EACH(i, n)
    int ch = i % c, p = (i / c) % (h * w), b = i / (h * w * c);
    y[b * h * w * c + ch * h * w + p] = x[i];
}

// The inverse permutation: dx[b, r, col, ch] = dy[b, (ch*h + r)*w + col].
extern "C" __global__ void flatten_backward(const float* dy, float* dx, int n, int h, int w, int c) {
    EACH(i, n)
    int ch = i % c, p = (i / c) % (h * w), b = i / (h * w * c);
    dx[i] = dy[b * h * w * c + ch * h * w + p];
}

// One thread per row b of the logits z (B x classes), as PyTorch's CrossEntropyLoss:
// loss[b] = logsumexp(z_b) - z_b[y_b] (in double), correct[b] = (argmax z_b == y_b),
// dz_b = (softmax(z_b) - onehot(y_b)) / B, the gradient of the MEAN loss.
extern "C" __global__ void softmax_cross_entropy(const float* z, const unsigned char* labels,
                                                 double* loss, int* correct, float* dz,
                                                 int batch, int classes) {
    EACH(b, batch)
    const float* zb = z + b * classes;
    int y = labels[b], arg = 0;
    float m = zb[0];
    for (int j = 1; j < classes; ++j) if (zb[j] > m) { m = zb[j]; arg = j; }
    double s = 0.0;
    for (int j = 0; j < classes; ++j) s += exp((double)(zb[j] - m));
    double lse = (double)m + log(s);
    loss[b] = lse - (double)zb[y];
    correct[b] = arg == y;
    for (int j = 0; j < classes; ++j)
        dz[b * classes + j] = ((float)exp((double)zb[j] - lse) - (j == y ? 1.0f : 0.0f)) / (float)batch;
}

// SGD with momentum and weight decay (torch.optim.SGD): g = grad + wd w; v = mu v + g; w -= lr v.
extern "C" __global__ void sgd_momentum(float* w, float* v, const float* grad, int n,
                                        float lr, float mu, float wd) {
    EACH(i, n)
    float g = grad[i] + wd * w[i];
    v[i] = mu * v[i] + g;
    w[i] -= lr * v[i];
}
"#;

/// `SOURCE` compiled to PTX by NVRTC (needs libnvrtc, not a driver or GPU).
/// `fmad=false` keeps `a * b + c` unfused, as the CPU engine computes it, so
/// the elementwise kernels round exactly as the CPU does.
pub(super) fn ptx() -> Result<Ptx> {
    // SAFETY: only tries to dlopen libnvrtc by its usual names.
    if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        return Err(Error::bad("NVRTC (libnvrtc) cannot be loaded"));
    }
    let opts = CompileOptions {
        fmad: Some(false),
        name: Some("overfit_cnn.cu".into()),
        ..Default::default()
    };
    compile_ptx_with_opts(SOURCE, opts).map_err(cuda_error("NVRTC compile"))
}

/// Declares `Kernels` with one field per kernel of `SOURCE`, loaded by name.
macro_rules! kernels {
    ($($name:ident),* $(,)?) => {
        /// The compiled kernels of `SOURCE`.
        pub(super) struct Kernels {
            $($name: CudaFunction,)*
        }

        impl Kernels {
            /// Compile `SOURCE` (`ptx`) and load it on `ctx`.
            pub(super) fn compile(ctx: &Arc<CudaContext>) -> Result<Kernels> {
                let module = ctx.load_module(ptx()?).map_err(cuda_error("load module"))?;
                Ok(Kernels {
                    $($name: module
                        .load_function(stringify!($name))
                        .map_err(cuda_error(concat!("kernel ", stringify!($name))))?,)*
                })
            }
        }
    };
}

kernels!(
    im2col,
    col2im,
    broadcast_rows,
    column_sums,
    relu_forward,
    relu_backward,
    maxpool_forward,
    maxpool_backward,
    flatten_forward,
    flatten_backward,
    softmax_cross_entropy,
    sgd_momentum,
);

/// A size as the kernels' `int` (the caller guarantees it fits: see the module doc).
fn int(n: usize) -> i32 {
    debug_assert!(n <= i32::MAX as usize);
    n as i32
}

/// Push `ints` as the next `int` parameters of a launch.
fn push_ints<'a>(args: &mut LaunchArgs<'a>, ints: &'a [i32]) {
    for v in ints {
        args.arg(v);
    }
}

/// Threads per block: 256 leaves every kernel up to 255 registers a thread
/// (1024, cudarc's `for_num_elems`, would fail to launch the double-precision
/// loss kernel if it needed more than 64).
const BLOCK: u32 = 256;

/// Queue `args` on the stream: `n` threads in blocks of `BLOCK` (nothing when n = 0).
fn launch(args: &mut LaunchArgs, n: usize) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    let cfg = LaunchConfig {
        grid_dim: ((n as u32).div_ceil(BLOCK), 1, 1),
        block_dim: (BLOCK, 1, 1),
        shared_mem_bytes: 0,
    };
    // SAFETY: each wrapper below passes the kernel's parameters in order and
    // types, with buffers of at least the sizes the kernel indexes.
    unsafe { args.launch(cfg) }
        .map(drop)
        .map_err(cuda_error("kernel launch"))
}

impl Gpu {
    /// C (m x n) = A · B + beta C, all row-major, A (m x k) or stored as its
    /// transpose (k x m) when `a_t`, B (k x n) or (n x k) when `b_t`: the
    /// CPU engine's `layers::gemm`, through cuBLAS, which is column-major.
    /// The transpose trick: a row-major matrix is its transpose column-major,
    /// so C = A·B row-major is C^T = B^T·A^T column-major, an sgemm of size
    /// (n, m, k) with the operands swapped, each keeping its own transpose
    /// flag; leading dimensions are the row lengths of the stored matrices.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn gemm(
        &self,
        (m, n, k): (usize, usize, usize),
        a: &View,
        a_t: bool,
        b: &View,
        b_t: bool,
        beta: f32,
        c: &mut ViewMut,
    ) -> Result<()> {
        let op = |t: bool| {
            if t {
                cublasOperation_t::CUBLAS_OP_T
            } else {
                cublasOperation_t::CUBLAS_OP_N
            }
        };
        let cfg = GemmConfig {
            transa: op(b_t),
            transb: op(a_t),
            m: int(n),
            n: int(m),
            k: int(k),
            alpha: 1.0f32,
            lda: int(if b_t { k } else { n }),
            ldb: int(if a_t { m } else { k }),
            beta,
            ldc: int(n),
        };
        // SAFETY: the views hold at least m*k, k*n and m*n floats (the caller's shapes).
        unsafe { self.blas.gemm(cfg, b, a, c) }.map_err(cuda_error("cuBLAS sgemm"))
    }

    /// y (rows x outputs) = x (rows x inputs) · W^T + bias with W (outputs x
    /// inputs), outputs = bias.len(): a linear layer, or a convolution on its
    /// im2col rows (the CPU engine's `broadcast_rows` then `gemm`).
    pub(super) fn affine(
        &self,
        x: &View,
        (rows, inputs): (usize, usize),
        w: &View,
        bias: &View,
        y: &mut ViewMut,
    ) -> Result<()> {
        self.broadcast_rows(bias, rows, y)?;
        self.gemm((rows, bias.len(), inputs), x, false, w, true, 1.0, y)
    }

    /// The gradients of `affine` from dy (rows x outputs), into `wb` = [dW, db]
    /// (W's floats then the bias's, as `Model::params` lays them out):
    /// dW = dY^T · x, db = column sums of dY, and, when asked, dx = dY · W.
    pub(super) fn affine_backward(
        &self,
        x: &View,
        (rows, inputs): (usize, usize),
        w: &View,
        dy: &View,
        wb: &mut ViewMut,
        dx: Option<&mut ViewMut>,
    ) -> Result<()> {
        let outputs = wb.len() / (inputs + 1);
        let (mut dw, mut db) = wb.split_at_mut(outputs * inputs);
        self.column_sums(dy, rows, &mut db)?;
        self.gemm((outputs, inputs, rows), dy, true, x, false, 0.0, &mut dw)?;
        match dx {
            Some(dx) => self.gemm((rows, inputs, outputs), dy, false, w, false, 0.0, dx),
            None => Ok(()),
        }
    }

    /// cols = im2col(x) for `batch` images (`Conv2d::im2col`).
    pub(super) fn im2col(
        &self,
        conv: &Conv2d,
        x: &View,
        batch: usize,
        cols: &mut ViewMut,
    ) -> Result<()> {
        self.conv_gather(&self.kernels.im2col, conv, x, cols, conv.cols_len(batch))
    }

    /// dx = col2im(dcols) for `batch` images (`Conv2d::col2im`).
    pub(super) fn col2im(
        &self,
        conv: &Conv2d,
        dcols: &View,
        batch: usize,
        dx: &mut ViewMut,
    ) -> Result<()> {
        self.conv_gather(
            &self.kernels.col2im,
            conv,
            dcols,
            dx,
            batch * conv.input.len(),
        )
    }

    fn conv_gather(
        &self,
        f: &CudaFunction,
        conv: &Conv2d,
        src: &View,
        dst: &mut ViewMut,
        n: usize,
    ) -> Result<()> {
        let (i, o) = (conv.input, conv.output());
        let dims = [n, i.h, i.w, i.c, o.h, o.w, conv.k, conv.pad].map(int);
        let mut args = self.stream.launch_builder(f);
        args.arg(src).arg(dst);
        push_ints(&mut args, &dims);
        launch(&mut args, n)
    }

    /// Each of the `rows` rows of y (width `bias.len()`) = bias.
    fn broadcast_rows(&self, bias: &View, rows: usize, y: &mut ViewMut) -> Result<()> {
        let (n, width) = (int(rows * bias.len()), int(bias.len()));
        let mut args = self.stream.launch_builder(&self.kernels.broadcast_rows);
        args.arg(bias).arg(y).arg(&n).arg(&width);
        launch(&mut args, n as usize)
    }

    /// db[j] = sum over the `rows` rows of dy[row, j] (width `db.len()`).
    fn column_sums(&self, dy: &View, rows: usize, db: &mut ViewMut) -> Result<()> {
        if db.is_empty() {
            return Ok(());
        }
        let (r, width) = (int(rows), int(db.len()));
        let mut args = self.stream.launch_builder(&self.kernels.column_sums);
        args.arg(dy).arg(db).arg(&r).arg(&width);
        let cfg = LaunchConfig {
            grid_dim: (width as u32, 1, 1),
            block_dim: (BLOCK, 1, 1),
            shared_mem_bytes: 0,
        };
        // SAFETY: as `launch`; the kernel's shared array has 256 = BLOCK floats, one per thread.
        unsafe { args.launch(cfg) }
            .map(drop)
            .map_err(cuda_error("kernel launch"))
    }

    pub(super) fn relu_forward(&self, x: &View, y: &mut ViewMut) -> Result<()> {
        let n = int(x.len());
        let mut args = self.stream.launch_builder(&self.kernels.relu_forward);
        args.arg(x).arg(y).arg(&n);
        launch(&mut args, x.len())
    }

    pub(super) fn relu_backward(&self, y: &View, dy: &View, dx: &mut ViewMut) -> Result<()> {
        let n = int(y.len());
        let mut args = self.stream.launch_builder(&self.kernels.relu_backward);
        args.arg(y).arg(dy).arg(dx).arg(&n);
        launch(&mut args, y.len())
    }

    /// y = maxpool(x) and the winners (`MaxPool2::forward`).
    pub(super) fn maxpool_forward(
        &self,
        pool: &MaxPool2,
        x: &View,
        batch: usize,
        y: &mut ViewMut,
        argmax: &mut ViewMut<u8>,
    ) -> Result<()> {
        let (i, o) = (pool.input, pool.output());
        let n = batch * o.len();
        let dims = [n, i.h, i.w, i.c, o.h, o.w].map(int);
        let mut args = self.stream.launch_builder(&self.kernels.maxpool_forward);
        args.arg(x).arg(y).arg(argmax);
        push_ints(&mut args, &dims);
        launch(&mut args, n)
    }

    /// dx = dy routed to each window's winner (`MaxPool2::backward`).
    pub(super) fn maxpool_backward(
        &self,
        pool: &MaxPool2,
        dy: &View,
        argmax: &View<u8>,
        batch: usize,
        dx: &mut ViewMut,
    ) -> Result<()> {
        let (i, o) = (pool.input, pool.output());
        let n = batch * i.len();
        let dims = [n, i.h, i.w, i.c, o.h, o.w].map(int);
        let mut args = self.stream.launch_builder(&self.kernels.maxpool_backward);
        args.arg(dy).arg(argmax).arg(dx);
        push_ints(&mut args, &dims);
        launch(&mut args, n)
    }

    /// `layers::flatten_forward` (`backward` false) or `flatten_backward` (true).
    pub(super) fn flatten(
        &self,
        input: Shape,
        backward: bool,
        src: &View,
        batch: usize,
        dst: &mut ViewMut,
    ) -> Result<()> {
        let f = if backward {
            &self.kernels.flatten_backward
        } else {
            &self.kernels.flatten_forward
        };
        let n = batch * input.len();
        let dims = [n, input.h, input.w, input.c].map(int);
        let mut args = self.stream.launch_builder(f);
        args.arg(src).arg(dst);
        push_ints(&mut args, &dims);
        launch(&mut args, n)
    }

    /// Per-row loss and correctness, and the mean loss's gradient (`layers::softmax_cross_entropy`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn softmax_cross_entropy(
        &self,
        logits: &View,
        labels: &View<u8>,
        classes: usize,
        row_loss: &mut ViewMut<f64>,
        row_correct: &mut ViewMut<i32>,
        dlogits: &mut ViewMut,
    ) -> Result<()> {
        let (batch, classes) = (int(labels.len()), int(classes));
        let mut args = self
            .stream
            .launch_builder(&self.kernels.softmax_cross_entropy);
        args.arg(logits)
            .arg(labels)
            .arg(row_loss)
            .arg(row_correct)
            .arg(dlogits)
            .arg(&batch)
            .arg(&classes);
        launch(&mut args, labels.len())
    }

    /// One `Sgd::step` of `params` by `grads` with momentum buffer `velocity`.
    pub(super) fn sgd_momentum(
        &self,
        cfg: &SgdConfig,
        params: &mut ViewMut,
        velocity: &mut ViewMut,
        grads: &View,
    ) -> Result<()> {
        let n = int(params.len());
        let mut args = self.stream.launch_builder(&self.kernels.sgd_momentum);
        args.arg(params)
            .arg(velocity)
            .arg(grads)
            .arg(&n)
            .arg(&cfg.lr)
            .arg(&cfg.momentum)
            .arg(&cfg.weight_decay);
        launch(&mut args, n as usize)
    }
}
