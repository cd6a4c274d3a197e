//! overfit: a laboratory for the theory of overfitting in neural networks.
//!
//! Each study puts a paper's theorem beside a simulation of it:
//! `data` draws the paper's distribution, `nets` trains the network,
//! `theory` states the prediction, `studies` runs the experiment and
//! `record` writes the claims (predicted vs measured) and the metrics.

// Links OpenBLAS so ndarray's `dot` on f64/f32 matrices calls cblas gemm.
extern crate blas_src;

pub mod bench;
pub mod blas;
pub mod data;
pub mod error;
pub mod fsio;
#[cfg(feature = "cuda")]
pub mod gpu;
pub mod memory;
pub mod nets;
pub mod plot;
pub mod record;
pub mod report;
pub mod rng;
pub mod runner;
pub mod spec;
pub mod studies;
#[cfg(test)]
mod test_util;
pub mod theory;

pub use error::{Error, Result};
