//! Tests of the naive f64 references against central finite differences,
//! over random seeds and small shapes (odd sizes, pad 0 and 1, any class
//! count). Each backward is checked through a random probe p: for a map
//! y = F(x), the scalar x -> <F(x), p> has gradient J^T p, which is what
//! the backward computes from dy = p.
//!
//! Tolerance of every check: `rel_err` (max error over 1 + max |reference|)
//! < 1e-7. `numeric_grad` takes central differences with h = 1e-6: the
//! maps here are linear or piecewise linear in the perturbed input away
//! from a kink (conv, linear, ReLU, pooling: no truncation error at all)
//! or smooth with bounded third derivative (cross-entropy: h^2 / 6 |f'''|
//! ~ 1e-13), and the rounding of the scalar (|<F(x), p>| <~ 100 here) over
//! 2h is ~1e-8 at most. Draws where a kink or a pooling tie lies within
//! 1e-4 of an input (so 2h could cross it) are skipped.

use super::*;

/// Whether every 2x2 pooling window of x has a strict maximum, ahead of the
/// runner-up by more than `gap`: finite differences of size h < gap / 2
/// then never switch the winner.
fn pooling_windows_have_a_clear_maximum(x: &Nchw, gap: f64) -> bool {
    (0..x.n).all(|b| {
        (0..x.c).all(|ch| {
            (0..x.h / 2).all(|oy| {
                (0..x.w / 2).all(|ox| {
                    let mut v: Vec<f64> = [(0, 0), (0, 1), (1, 0), (1, 1)]
                        .iter()
                        .map(|&(dy, dx)| x.at(b, ch, 2 * oy + dy, 2 * ox + dx))
                        .collect();
                    v.sort_by(f64::total_cmp);
                    v[3] - v[2] > gap
                })
            })
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// `conv2d_backward` (dx, dW, db) against finite differences of
    /// <conv2d(x, W, b), p> in x, W and b, for stride-1 convs of any small
    /// shape: odd and even sides, 1x1 to 3x3 kernels, pad 0 and 1 (pixels
    /// at the border touched by fewer taps), several channels. The conv is
    /// linear in each argument, so the differences are exact up to rounding.
    #[test]
    fn reference_conv_backward_matches_finite_differences(seed in 0u64..10_000,
        n in 1usize..3, c_in in 1usize..4, h in 1usize..8, w in 1usize..8,
        c_out in 1usize..4, k in 1usize..4, pad in 0usize..2) {
        prop_assume!(h + 2 * pad >= k && w + 2 * pad >= k);
        let mut g = rng(seed);
        let x = nchw(n, c_in, h, w, &mut g);
        let wt = randn(c_out * c_in * k * k, &mut g);
        let b = randn(c_out, &mut g);
        let y = r::conv2d(&x, &wt, &b, c_out, k, pad);
        prop_assert_eq!((y.h, y.w), (h + 2 * pad + 1 - k, w + 2 * pad + 1 - k));
        let probe = randn(y.data.len(), &mut g);
        let dy = Nchw { data: probe.clone(), ..y };
        let (dx, dw, db) = r::conv2d_backward(&x, &wt, &dy, k, pad);
        let conv_of_x = |xs: &[f64]| {
            let x = Nchw { data: xs.to_vec(), ..x.clone() };
            dot(&r::conv2d(&x, &wt, &b, c_out, k, pad).data, &probe)
        };
        let conv_of_w = |ws: &[f64]| dot(&r::conv2d(&x, ws, &b, c_out, k, pad).data, &probe);
        let conv_of_b = |bs: &[f64]| dot(&r::conv2d(&x, &wt, bs, c_out, k, pad).data, &probe);
        prop_assert!(rel_err(&dx.data, &numeric_grad(&x.data, conv_of_x)) < 1e-7, "dx");
        prop_assert!(rel_err(&dw, &numeric_grad(&wt, conv_of_w)) < 1e-7, "dW");
        prop_assert!(rel_err(&db, &numeric_grad(&b, conv_of_b)) < 1e-7, "db");
    }

    /// `maxpool2_backward` against finite differences of <maxpool2(x), p>,
    /// odd sides included (the last row or column belongs to no window and
    /// must get 0). Draws with a window whose two largest inputs are within
    /// 1e-4 are skipped: there the max is not differentiable.
    #[test]
    fn reference_maxpool_backward_matches_finite_differences(seed in 0u64..10_000,
        n in 1usize..3, c in 1usize..4, h in 2usize..8, w in 2usize..8) {
        let mut g = rng(seed);
        let x = nchw(n, c, h, w, &mut g);
        prop_assume!(pooling_windows_have_a_clear_maximum(&x, 1e-4));
        let y = r::maxpool2(&x);
        prop_assert_eq!((y.h, y.w), (h / 2, w / 2));
        let probe = randn(y.data.len(), &mut g);
        let dx = r::maxpool2_backward(&x, &Nchw { data: probe.clone(), ..y });
        let pool_of_x = |xs: &[f64]| {
            dot(&r::maxpool2(&Nchw { data: xs.to_vec(), ..x.clone() }).data, &probe)
        };
        prop_assert!(rel_err(&dx.data, &numeric_grad(&x.data, pool_of_x)) < 1e-7);
    }

    /// `relu_backward` against finite differences of <relu(v), p>; draws
    /// with an input within 1e-4 of the kink at 0 are skipped.
    #[test]
    fn reference_relu_backward_matches_finite_differences(seed in 0u64..10_000, len in 1usize..60) {
        let mut g = rng(seed);
        let v = randn(len, &mut g);
        prop_assume!(v.iter().all(|x| x.abs() > 1e-4));
        let probe = randn(len, &mut g);
        let d = r::relu_backward(&v, &probe);
        prop_assert!(rel_err(&d, &numeric_grad(&v, |xs| dot(&r::relu(xs), &probe))) < 1e-7);
    }

    /// `linear_backward` (dx, dW, db) against finite differences of
    /// <linear(x, W, b), p>: linear in each argument, exact up to rounding.
    #[test]
    fn reference_linear_backward_matches_finite_differences(seed in 0u64..10_000,
        n in 1usize..5, ins in 1usize..8, outs in 1usize..6) {
        let mut g = rng(seed);
        let x = randn(n * ins, &mut g);
        let w = randn(outs * ins, &mut g);
        let b = randn(outs, &mut g);
        let probe = randn(n * outs, &mut g);
        let (dx, dw, db) = r::linear_backward(&x, n, &w, &probe);
        let lin_of_x = |xs: &[f64]| dot(&r::linear(xs, n, &w, &b), &probe);
        let lin_of_w = |ws: &[f64]| dot(&r::linear(&x, n, ws, &b), &probe);
        let lin_of_b = |bs: &[f64]| dot(&r::linear(&x, n, &w, bs), &probe);
        prop_assert!(rel_err(&dx, &numeric_grad(&x, lin_of_x)) < 1e-7, "dx");
        prop_assert!(rel_err(&dw, &numeric_grad(&w, lin_of_w)) < 1e-7, "dW");
        prop_assert!(rel_err(&db, &numeric_grad(&b, lin_of_b)) < 1e-7, "db");
    }

    /// `cross_entropy_backward` against finite differences of the mean
    /// cross-entropy, for 2 to 10 classes, any labels, logits up to +-5
    /// (softmax far from uniform; the exp stays far from overflow).
    #[test]
    fn reference_cross_entropy_backward_matches_finite_differences(seed in 0u64..10_000,
        n in 1usize..6, classes in 2usize..11, spread in 0.1f64..5.0) {
        let mut g = rng(seed);
        let z: Vec<f64> = randn(n * classes, &mut g).iter().map(|v| spread * v).collect();
        let labels: Vec<u8> = (0..n).map(|_| g.random_range(0..classes) as u8).collect();
        let d = r::cross_entropy_backward(&z, &labels);
        let ce_of_z = |zs: &[f64]| r::cross_entropy(zs, &labels);
        prop_assert!(rel_err(&d, &numeric_grad(&z, ce_of_z)) < 1e-7);
    }
}
