//! The fast max-pool passes against the window-at-a-time reference: the
//! same bits (outputs, winners, input gradients) on every instruction set,
//! on values drawn from a small set so that windows hold ties, signed zeros,
//! infinities and NaNs of different payloads in every slot.

use proptest::prelude::*;

use super::super::layers::{relu_backward_on, relu_forward_on, Shape};
use super::super::pool::*;
use super::bits;
use crate::nets::isa::Isa;

/// Values that tie often, and NaNs whose payloads tell them apart.
fn tie_prone(code: u8) -> f32 {
    match code % 9 {
        0 => 0.0,
        1 => -0.0,
        2 => 0.5,
        3 => -0.5,
        4 => 1.0,
        5 => f32::INFINITY,
        6 => f32::NEG_INFINITY,
        7 => f32::from_bits(0x7fc0_0001 + u32::from(code)),
        _ => f32::from(code) / 7.0,
    }
}

/// Runs both versions on `isa` and compares every output bit.
fn compare(isa: Isa, pool: MaxPool2, batch: usize, x: &[f32], dy: &[f32]) {
    let outs = batch * pool.output().len();
    let (mut y_ref, mut arg_ref) = (vec![0.0; outs], vec![0u8; outs]);
    max_pool_windows_forward_on(isa, &pool, x, batch, &mut y_ref, &mut arg_ref);
    // Stale contents, as in a reused workspace: every output must be written.
    let (mut y, mut arg) = (vec![f32::NAN; outs], vec![9u8; outs]);
    max_pool_forward_on(isa, &pool, x, batch, &mut y, &mut arg);
    assert_eq!(bits(&y), bits(&y_ref), "{isa:?} {pool:?} batch {batch}: y");
    assert_eq!(arg, arg_ref, "{isa:?} {pool:?} batch {batch}: winners");

    let mut dx_ref = vec![0.0; x.len()];
    max_pool_windows_backward_on(isa, &pool, dy, &arg_ref, batch, &mut dx_ref);
    let mut dx = vec![f32::NAN; x.len()];
    max_pool_backward_on(isa, &pool, dy, &arg_ref, batch, &mut dx);
    assert_eq!(
        bits(&dx),
        bits(&dx_ref),
        "{isa:?} {pool:?} batch {batch}: dx"
    );
    compare_relu_first(isa, pool, batch, x, dy);
}

/// The pool with ReLU inside against ReLU then the window loop, forward and
/// backward: the same bits for y and dx (the winners differ where ReLU is
/// off, which is the point: they route no gradient).
fn compare_relu_first(isa: Isa, pool: MaxPool2, batch: usize, x: &[f32], dy: &[f32]) {
    let outs = batch * pool.output().len();
    let mut r = vec![0.0; x.len()];
    relu_forward_on(isa, x, &mut r);
    let (mut y_ref, mut arg_ref) = (vec![0.0; outs], vec![0u8; outs]);
    max_pool_windows_forward_on(isa, &pool, &r, batch, &mut y_ref, &mut arg_ref);
    let mut dr = vec![0.0; x.len()];
    max_pool_windows_backward_on(isa, &pool, dy, &arg_ref, batch, &mut dr);
    let mut dx_ref = vec![0.0; x.len()];
    relu_backward_on(isa, &r, &dr, &mut dx_ref);

    let (mut y, mut arg) = (vec![f32::NAN; outs], vec![9u8; outs]);
    max_pool_relu_forward_on(isa, &pool, x, batch, &mut y, &mut arg);
    let mut dx = vec![f32::NAN; x.len()];
    max_pool_backward_on(isa, &pool, dy, &arg, batch, &mut dx);
    let what = format!("{isa:?} {pool:?} batch {batch}, ReLU inside");
    assert_eq!(bits(&y), bits(&y_ref), "{what}: y");
    assert_eq!(bits(&dx), bits(&dx_ref), "{what}: dx");
    // The window loop's backward (the fast pass's fallback rows) reads the
    // fused winners the same way.
    let mut dx_windows = vec![f32::NAN; x.len()];
    max_pool_windows_backward_on(isa, &pool, dy, &arg, batch, &mut dx_windows);
    assert_eq!(bits(&dx_windows), bits(&dx_ref), "{what}: dx, window loop");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn fast_max_pool_gives_the_window_loops_bits(
        h in 1usize..9, w in 1usize..9, c in 1usize..20, batch in 1usize..4,
        codes in proptest::collection::vec(any::<u8>(), 8 * 8 * 19 * 3),
        grads in proptest::collection::vec(-4i8..4, 4 * 4 * 19 * 3),
    ) {
        let pool = MaxPool2 { input: Shape::new(h, w, c) };
        let x: Vec<f32> = codes[..batch * pool.input.len()].iter().map(|&b| tie_prone(b)).collect();
        let dy: Vec<f32> = grads[..batch * pool.output().len()].iter().map(|&g| f32::from(g) + 0.25).collect();
        for isa in Isa::available() {
            compare(isa, pool, batch, &x, &dy);
        }
    }
}

/// The shapes the models pool (conv1's 28 x 28 x 6 and conv2's 10 x 10 x k),
/// long rows, and channel counts past one group of 16 lanes, whole or not.
#[test]
fn fast_max_pool_gives_the_window_loops_bits_on_wide_and_model_shapes() {
    let shapes = [
        (28, 28, 6),
        (10, 10, 16),
        (10, 10, 64),
        (3, 1100, 1),
        (2, 4, 513),
        (4, 6, 20),
        (5, 7, 33),
        (3, 3, 600),
    ];
    for (s, &(h, w, c)) in shapes.iter().enumerate() {
        let pool = MaxPool2 {
            input: Shape::new(h, w, c),
        };
        let batch = 2;
        let x: Vec<f32> = (0..batch * pool.input.len())
            .map(|k| tie_prone((k * 37 + s * 11) as u8 ^ (k / 256) as u8))
            .collect();
        let dy: Vec<f32> = (0..batch * pool.output().len())
            .map(|k| k as f32 - 3.5)
            .collect();
        for isa in Isa::available() {
            compare(isa, pool, batch, &x, &dy);
        }
    }
}
