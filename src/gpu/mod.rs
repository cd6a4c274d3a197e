//! The CNN engine's conv core on an NVIDIA GPU through cudarc (compiled
//! only with `--features cuda`): the same layers as `nets::cnn::layers`
//! (im2col + sgemm convolution, 2x2 max-pool, ReLU, flatten, linear,
//! softmax cross-entropy) and the same SGD step, as device kernels.
//!
//! - `Gpu`: one device, its stream, a cuBLAS handle and the kernels, which
//!   NVRTC compiles from CUDA C at `Gpu::open` (`ops`). cudarc loads
//!   libcuda, libnvrtc and libcublas at run time (`dynamic-loading`), so
//!   the binary builds and starts on machines without CUDA; `open` checks
//!   that the libraries load before touching the driver, and every failure
//!   is a one-line `Error::BadInput` (exit 2), never a panic.
//! - `GpuModel` (`model`): the device twin of `nets::cnn::Model` for the
//!   same layer list, with the same flat parameter layout (`ParamInfo`
//!   ranges), so parameters, gradients and momentum move between the two
//!   engines by plain copies and results compare element by element. It
//!   implements `nets::cnn::Backend`: `nets::cnn::fit` (a spec's
//!   `train.device = "cuda"`) and `train_epoch` drive it with the CPU's loops.
//!   Nothing of the CPU engine is copied here: the layer list and its shape
//!   arithmetic are the host `Model`'s, the loops over epochs, mini-batches
//!   and measuring chunks are `nets::cnn`'s, and a measurement's loss and
//!   error are summed on the host from the downloaded logits
//!   (`nets::cnn::evaluate_on`). Each run of a spec opens its own `Gpu`
//!   (NVRTC compiles the kernels once per run).
//!
//! Layouts are the CPU engine's: activations NHWC, conv weights
//! [c_out, ky, kx, c_in], linear weights [out, in], all row-major f32.

mod model;
mod ops;

pub use model::GpuModel;

use std::sync::Arc;

use cudarc::cublas::CudaBlas;
use cudarc::driver::{CudaContext, CudaStream};

use crate::error::{Error, Result};

/// One GPU ready for the CNN kernels: device 0, a stream of its own, a
/// cuBLAS handle on that stream and the NVRTC-compiled kernels.
pub struct Gpu {
    stream: Arc<CudaStream>,
    blas: CudaBlas,
    kernels: ops::Kernels,
    name: String,
}

impl Gpu {
    /// Open device 0. Fails with one line (exit 2) when the CUDA driver,
    /// NVRTC or cuBLAS cannot be loaded, when there is no device, or when
    /// the kernels do not compile; never panics.
    pub fn open() -> Result<Gpu> {
        // SAFETY: each call only tries to dlopen the library by its usual names.
        let libraries = unsafe {
            [
                (
                    "libcuda (the driver)",
                    cudarc::driver::sys::is_culib_present(),
                ),
                ("libnvrtc", cudarc::nvrtc::sys::is_culib_present()),
                ("libcublas", cudarc::cublas::sys::is_culib_present()),
            ]
        };
        if let Some((name, _)) = libraries.iter().find(|(_, present)| !present) {
            // cudarc 0.19 built for CUDA 12 tries `lib*.so` and `.so.12`
            // and older, not `.so.13`, the name CUDA 13's runtime
            // packages install (its development files add the plain `.so`).
            let hint = if name.starts_with("libcuda") {
                String::new()
            } else {
                format!(
                    " (tried {name}.so, {name}.so.12 and older; for CUDA 13, link {name}.so to {name}.so.13 in a folder on LD_LIBRARY_PATH)"
                )
            };
            return Err(Error::bad(format!(
                "no CUDA driver/GPU found: {name} cannot be loaded{hint}"
            )));
        }
        let ctx = CudaContext::new(0)
            .map_err(|e| Error::bad(format!("no CUDA driver/GPU found: device 0 ({e})")))?;
        let name = ctx.name().map_err(cuda_error("device name"))?;
        // Each Gpu gets its own (non-blocking) stream, so that the runs of
        // a sweep on several workers (`--threads`) can overlap on the
        // device; work on the null stream runs in one queue for the whole
        // process. Every buffer, copy and cuBLAS call of this Gpu is on that
        // one stream, so cudarc's cross-stream event tracking, which it
        // turns on once a context object creates a stream, would only add
        // events to every buffer use.
        // SAFETY: called before this context object allocates anything, and
        // no buffer of it is ever used on another stream.
        unsafe { ctx.disable_event_tracking() };
        let stream = ctx.new_stream().map_err(cuda_error("new stream"))?;
        let blas = CudaBlas::new(stream.clone()).map_err(cuda_error("cuBLAS handle"))?;
        let kernels = ops::Kernels::compile(&ctx)?;
        Ok(Gpu {
            stream,
            blas,
            kernels,
            name,
        })
    }

    /// The device's name as the driver reports it (e.g. `NVIDIA H100 80GB HBM3`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Wait for the queued work; report an error the driver deferred.
    pub fn synchronize(&self) -> Result<()> {
        self.stream
            .synchronize()
            .map_err(cuda_error("synchronize"))?;
        self.stream
            .context()
            .check_err()
            .map_err(cuda_error("deferred error"))
    }
}

/// The kernels compiled to PTX by NVRTC, without opening a device: checks
/// the CUDA C on machines that have libnvrtc but no driver or GPU.
pub fn kernels_ptx() -> Result<String> {
    ops::ptx().map(|p| p.to_src())
}

/// Map a cudarc error (driver, cuBLAS, NVRTC) to a one-line bad-input error naming the step.
fn cuda_error<E: std::fmt::Display>(step: &'static str) -> impl Fn(E) -> Error {
    move |e| Error::bad(format!("CUDA {step}: {e}"))
}
