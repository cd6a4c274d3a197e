//! Tests of the CNN engine: the naive references against finite
//! differences (f64), the fast f32 layers against the references, the
//! whole model against a layer-by-layer reference in PyTorch's layout,
//! SGD against its formula, and the checkpoint round trip.

use std::path::Path;

use proptest::prelude::*;
use rand::RngExt;

use super::checkpoint::{self, conv_from_torch, state_dict, Tensor};
use super::direct;
use super::layers::*;
use super::model::{Arch, Images, LayerSpec, Model};
use super::reference::{self as r, Nchw};
use super::train::{train_epoch, Sgd, SgdConfig};
use crate::nets::max_or_nan;
use crate::test_util::assert_same_bits as assert_same_weights;

fn rng(seed: u64) -> crate::rng::Rng {
    crate::rng::stream(seed, 0, "cnn-test")
}

/// Equality of two training outcomes; on failure, names the first epoch
/// whose measurements differ, not the whole record.
fn assert_same_outcome(a: &super::fit::FitOutcome, b: &super::fit::FitOutcome, what: &str) {
    if a == b {
        return;
    }
    let first = a.evals.iter().zip(&b.evals).position(|(x, y)| x != y);
    match first {
        Some(i) => panic!(
            "{what}: outcomes differ; first at eval {i}: {:?} vs {:?}",
            a.evals[i], b.evals[i]
        ),
        None => panic!(
            "{what}: outcomes differ outside the evals ({} vs {} evals, {} vs {} epochs run)",
            a.evals.len(),
            b.evals.len(),
            a.epochs_run,
            b.epochs_run
        ),
    }
}

fn randn(n: usize, rng: &mut crate::rng::Rng) -> Vec<f64> {
    (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
}

fn nchw(n: usize, c: usize, h: usize, w: usize, rng: &mut crate::rng::Rng) -> Nchw {
    Nchw {
        n,
        c,
        h,
        w,
        data: randn(n * c * h * w, rng),
    }
}

/// The bit patterns of `v` (for same-bits comparisons: NaN payloads and
/// signed zeros included).
fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// max |a - b| and max |b|: an error and the reference's scale, each NaN
/// when a NaN is among them (so every check `err < tol` fails on one).
fn diff_and_scale(a: &[f64], b: &[f64]) -> (f64, f64) {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0.0f64, |m, v| max_or_nan(m, v.abs()));
    let diff = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, max_or_nan);
    (diff, scale)
}

/// max |a - b| / (1 + max |b|): relative to the scale of the reference.
fn rel_err(a: &[f64], b: &[f64]) -> f64 {
    let (diff, scale) = diff_and_scale(a, b);
    diff / (1.0 + scale)
}

/// max |a - b| over max |b|: the error relative to the reference's own
/// scale, for tensors whose scale is far below 1 (NaN when b is all 0).
fn err_over_scale(a: &[f64], b: &[f64]) -> f64 {
    let (diff, scale) = diff_and_scale(a, b);
    diff / scale
}

fn f64s(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

/// Central finite differences of f at x, all coordinates.
fn numeric_grad(x: &[f64], f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    let h = 1e-6;
    let mut xp = x.to_vec();
    (0..x.len())
        .map(|i| {
            let orig = xp[i];
            xp[i] = orig + h;
            let up = f(&xp);
            xp[i] = orig - h;
            let down = f(&xp);
            xp[i] = orig;
            (up - down) / (2.0 * h)
        })
        .collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

mod checkpoints;
mod layers;
mod model;
mod pool;
mod references;
