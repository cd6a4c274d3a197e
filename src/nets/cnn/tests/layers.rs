//! The fast f32 layers (im2col + sgemm, the direct conv kernels, pooling,
//! flatten, linear, softmax cross-entropy) against the naive references.

use super::*;

/// The engine's conv (im2col + sgemm, NHWC) against the naive NCHW conv:
/// forward, dW, db and dx.
#[allow(clippy::too_many_arguments)]
fn check_conv(
    seed: u64,
    n: usize,
    c_in: usize,
    h: usize,
    w: usize,
    c_out: usize,
    k: usize,
    pad: usize,
) {
    let mut g = rng(seed);
    let x = nchw(n, c_in, h, w, &mut g);
    let wt = randn(c_out * c_in * k * k, &mut g);
    let b = randn(c_out, &mut g);
    let y_ref = r::conv2d(&x, &wt, &b, c_out, k, pad);
    let conv = Conv2d {
        input: Shape::new(h, w, c_in),
        c_out,
        k,
        pad,
    };
    let o = conv.output();
    assert_eq!((o.h, o.w), (y_ref.h, y_ref.w));
    let w_eng = conv_from_torch(&f32s(&wt), c_out, c_in, k);
    let mut cols = vec![0.0; conv.scratch_len(n)];
    let mut y = vec![0.0; n * o.len()];
    conv.forward(&w_eng, &f32s(&b), &x.to_nhwc_f32(), n, &mut cols, &mut y);
    let y_back = Nchw::from_nhwc_f32(n, c_out, o.h, o.w, &y);
    assert!(rel_err(&y_back.data, &y_ref.data) < 1e-5, "forward");

    let dy = nchw(n, c_out, o.h, o.w, &mut g);
    let (dx_ref, dw_ref, db_ref) = r::conv2d_backward(&x, &wt, &dy, k, pad);
    // NaN where the backward must write (a stale entry fails the checks).
    let (mut dw, mut db) = (vec![f32::NAN; wt.len()], vec![f32::NAN; c_out]);
    let mut dcols = vec![0.0; cols.len()];
    let mut dx = vec![f32::NAN; x.data.len()];
    conv.backward(
        &w_eng,
        &x.to_nhwc_f32(),
        &dy.to_nhwc_f32(),
        n,
        &mut cols,
        &mut dw,
        &mut db,
        Some((&mut dcols, &mut dx)),
    );
    let dw_torch = checkpoint::conv_to_torch(&dw, c_out, c_in, k);
    assert!(rel_err(&f64s(&dw_torch), &dw_ref) < 1e-5, "dW");
    assert!(rel_err(&f64s(&db), &db_ref) < 1e-5, "db");
    let dx_back = Nchw::from_nhwc_f32(n, c_in, h, w, &dx);
    assert!(rel_err(&dx_back.data, &dx_ref.data) < 1e-5, "dx");

    // Without dx (a first layer), a layer that fits takes the direct dW kernel.
    let (mut dw_first, mut db_first) = (vec![f32::NAN; wt.len()], vec![f32::NAN; c_out]);
    conv.backward(
        &w_eng,
        &x.to_nhwc_f32(),
        &dy.to_nhwc_f32(),
        n,
        &mut cols,
        &mut dw_first,
        &mut db_first,
        None,
    );
    let dw_torch = checkpoint::conv_to_torch(&dw_first, c_out, c_in, k);
    assert!(rel_err(&f64s(&dw_torch), &dw_ref) < 1e-5, "dW without dx");
    assert!(rel_err(&f64s(&db_first), &db_ref) < 1e-5, "db without dx");
}

/// The direct kernels (`cnn::direct`) against the naive conv and the
/// im2col path, and their portable lanes against their AVX2 lanes bit for bit.
fn check_direct_conv(seed: u64, n: usize, c_in: usize, h: usize, w: usize, c_out: usize) {
    let conv = Conv2d {
        input: Shape::new(h, w, c_in),
        c_out,
        k: 5,
        pad: 0,
    };
    assert!(conv.direct_fits(), "{conv:?} should take the direct path");
    check_conv(seed, n, c_in, h, w, c_out, 5, 0);

    let mut g = rng(seed ^ 0xd1);
    let o = conv.output();
    let x = f32s(&randn(n * conv.input.len(), &mut g));
    let wt = f32s(&randn(conv.weight_len(), &mut g));
    let dy = f32s(&randn(n * o.len(), &mut g));
    let mut cols = vec![0.0; conv.scratch_len(n)];
    let (mut y_direct, mut y_gemm) = (vec![0.0; n * o.len()], vec![0.0; n * o.len()]);
    let bias = f32s(&randn(c_out, &mut g));
    conv.forward(&wt, &bias, &x, n, &mut cols, &mut y_direct);
    conv.forward_im2col(&wt, &bias, &x, n, &mut cols, &mut y_gemm);
    assert!(
        rel_err(&f64s(&y_direct), &f64s(&y_gemm)) < 1e-5,
        "direct vs im2col forward"
    );
    let (mut db_direct, mut db_gemm) = (vec![0.0; c_out], vec![0.0; c_out]);
    let (mut dw_direct, mut dw_gemm) = (vec![0.0; wt.len()], vec![0.0; wt.len()]);
    conv.backward(
        &wt,
        &x,
        &dy,
        n,
        &mut cols,
        &mut dw_direct,
        &mut db_direct,
        None,
    );
    conv.backward_im2col(&wt, &x, &dy, n, &mut cols, &mut dw_gemm, &mut db_gemm, None);
    assert!(
        rel_err(&f64s(&dw_direct), &f64s(&dw_gemm)) < 1e-5,
        "direct vs im2col dW"
    );
    assert!(
        rel_err(&f64s(&db_direct), &f64s(&db_gemm)) < 1e-5,
        "direct vs im2col db"
    );

    // The dispatched kernel gives its portable twin's bits.
    let twin = direct::testing::twin_of_dispatched();
    let (mut y_twin, mut dw_twin) = (vec![0.0; n * o.len()], vec![0.0; wt.len()]);
    let mut db_twin = vec![0.0; c_out];
    direct::testing::forward(twin, &conv, (&wt, &bias), &x, n, &mut y_twin);
    direct::testing::params(twin, &conv, &x, &dy, n, (&mut dw_twin, &mut db_twin));
    assert_same_weights(
        &y_twin,
        &y_direct,
        &format!("{twin:?} vs dispatched forward"),
    );
    assert_same_weights(&dw_twin, &dw_direct, &format!("{twin:?} vs dispatched dW"));
    assert_same_weights(&db_twin, &db_direct, &format!("{twin:?} vs dispatched db"));

    let run = |k| {
        let mut y = vec![0.0; n * o.len()];
        let (mut dw, mut db) = (vec![0.0; wt.len()], vec![0.0; c_out]);
        direct::testing::forward(k, &conv, (&wt, &bias), &x, n, &mut y);
        direct::testing::params(k, &conv, &x, &dy, n, (&mut dw, &mut db));
        (y, dw, db)
    };
    // Every SIMD instantiation this CPU runs: the forward pass has the
    // dispatched bits (the same at every width); dW and db those of the
    // portable lanes of the same width, and the widths agree to f32 rounding.
    for (name, kernel, twin) in direct::testing::simd_kernels() {
        let (y, dw, db) = run(kernel);
        let (_, dw_t, db_t) = run(twin);
        assert_same_weights(&y, &y_direct, &format!("{name} forward vs dispatched"));
        assert_same_weights(&dw, &dw_t, &format!("{name} dW vs its portable twin"));
        assert_same_weights(&db, &db_t, &format!("{name} db vs its portable twin"));
        assert!(
            rel_err(&f64s(&dw), &f64s(&dw_direct)) < 1e-5,
            "{name} dW vs dispatched"
        );
        assert!(
            rel_err(&f64s(&db), &f64s(&db_direct)) < 1e-5,
            "{name} db vs dispatched"
        );
    }

    // The portable kernels, 8 and 16 lanes, on every CPU: the forward pass
    // has the dispatched bits; dW and db sum the same products in two
    // orders. Each kernel sums a product through at most D = OH (ROW / 8)
    // fused multiply-adds along its lane (ROW = 32 columns in ROW / width
    // vectors), then the width <= 16 lanes, then the `batch` images, so each
    // is within gamma_D sum |t| of the exact sum (gamma_D = D u / (1 - D u),
    // u = 2^-24, t the products dy x, whose absolute sums are the f64
    // reference's dW and db on |x| and |dy|): the two agree to 2 gamma_D
    // sum |t| per entry, D = 4 OH + 16 + batch.
    let portable: Vec<_> = direct::testing::portable_kernels()
        .into_iter()
        .map(|(name, kernel)| (name, run(kernel)))
        .collect();
    for (name, (y, _, _)) in &portable {
        assert_same_weights(y, &y_direct, &format!("{name} forward vs dispatched"));
    }
    let abs_nchw = |v: &[f32], c: usize, h: usize, w: usize| {
        let abs: Vec<f32> = v.iter().map(|x| x.abs()).collect();
        Nchw::from_nhwc_f32(n, c, h, w, &abs)
    };
    let (_, dw_abs, db_abs) = r::conv2d_backward(
        &abs_nchw(&x, c_in, h, w),
        &vec![0.0; wt.len()],
        &abs_nchw(&dy, c_out, o.h, o.w),
        5,
        0,
    );
    let dw_abs = conv_from_torch(&f32s(&dw_abs), c_out, c_in, 5);
    let depth = (4 * o.h + 16 + n) as f64;
    let u = 2f64.powi(-24);
    let gamma = depth * u / (1.0 - depth * u);
    let [(_, (_, dw8, db8)), (_, (_, dw16, db16))] = &portable[..] else {
        unreachable!("two portable kernels")
    };
    for (what, a, b, abs) in [
        ("dW", dw8, dw16, dw_abs.as_slice()),
        ("db", db8, db16, &f32s(&db_abs)[..]),
    ] {
        for (i, ((&p8, &p16), &t)) in a.iter().zip(b).zip(abs).enumerate() {
            let bound = 2.0 * gamma * f64::from(t) * (1.0 + 1e-6);
            let diff = (f64::from(p8) - f64::from(p16)).abs();
            assert!(
                diff <= bound,
                "portable 8 vs 16, {what}[{i}]: {p8} vs {p16}, bound {bound:e}"
            );
        }
    }
}

#[test]
fn direct_conv_serves_conv1_only_and_matches_the_references() {
    let conv1 = Conv2d {
        input: Shape::new(32, 32, 3),
        c_out: 6,
        k: 5,
        pad: 0,
    };
    let conv2 = Conv2d {
        input: Shape::new(14, 14, 6),
        c_out: 16,
        k: 5,
        pad: 0,
    };
    assert!(conv1.direct_fits() && !conv2.direct_fits());
    check_direct_conv(11, 3, 3, 32, 32, 6);
}

#[test]
fn im2col_conv_matches_naive_conv_on_the_course_shapes() {
    check_conv(1, 2, 3, 32, 32, 6, 5, 0);
    check_conv(2, 3, 6, 14, 14, 16, 5, 0);
    check_conv(3, 2, 3, 8, 8, 4, 3, 1);
    check_conv(4, 1, 2, 5, 7, 3, 5, 2);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn direct_conv_matches_naive_conv(seed in 0u64..1000, n in 1usize..3, c_in in 1usize..4,
        h in 5usize..8, w in 29usize..37, half_c_out in 1usize..5) {
        check_direct_conv(seed, n, c_in, h, w, 2 * half_c_out);
    }

    #[test]
    fn im2col_conv_matches_naive_conv(seed in 0u64..1000, n in 1usize..4, c_in in 1usize..4,
        h in 1usize..9, w in 1usize..9, c_out in 1usize..5, k in 1usize..5, pad in 0usize..3) {
        prop_assume!(h + 2 * pad >= k && w + 2 * pad >= k);
        check_conv(seed, n, c_in, h, w, c_out, k, pad);
    }

    /// col2im's fixed-length runs (c = 3 and 6 at k = 5: the course CNN's
    /// runs of 15 and 30) and its run-time ones, against a loop over every
    /// (image, oy, ox, ky, kx, channel) in the same order: the same bits.
    #[test]
    fn col2im_adds_in_the_loop_order(seed in 0u64..1000, n in 1usize..3, c_in in 1usize..8,
        h in 5usize..9, w in 5usize..9, k in 4usize..6) {
        let conv = Conv2d { input: Shape::new(h, w, c_in), c_out: 1, k, pad: 0 };
        let (i, o) = (conv.input, conv.output());
        let dcols = f32s(&randn(conv.cols_len(n), &mut rng(seed)));
        let mut want = vec![0.0f32; n * i.len()];
        let mut at = 0;
        for b in 0..n {
            for oy in 0..o.h {
                for ox in 0..o.w {
                    for ky in 0..k {
                        for kx in 0..k {
                            for ci in 0..c_in {
                                want[b * i.len() + ((oy + ky) * i.w + ox + kx) * c_in + ci] += dcols[at];
                                at += 1;
                            }
                        }
                    }
                }
            }
        }
        let mut dx = vec![f32::NAN; n * i.len()];
        conv.col2im(&dcols, n, &mut dx);
        prop_assert_eq!(bits(&dx), bits(&want));
    }

    #[test]
    fn pool_flatten_linear_match_references(seed in 0u64..1000, n in 1usize..4, c in 1usize..4,
        h in 2usize..9, w in 2usize..9, outs in 1usize..6, ties in any::<bool>()) {
        let mut g = rng(seed);
        let mut x = nchw(n, c, h, w, &mut g);
        if ties {
            // A grid of 0.5: pooling windows with equal maxima, where the
            // first maximum in row-major order must win (and get dy).
            x.data.iter_mut().for_each(|v| *v = (*v * 2.0).round() / 2.0);
        }
        // The reference reads the f32 values the layers read: two f64 values
        // rounding to one f32 would make a tie the reference does not see.
        x.data.iter_mut().for_each(|v| *v = *v as f32 as f64);
        let pool = MaxPool2 { input: Shape::new(h, w, c) };
        let o = pool.output();
        let mut y = vec![0.0; n * o.len()];
        let mut arg = vec![0u8; n * o.len()];
        pool.forward(&x.to_nhwc_f32(), n, &mut y, &mut arg);
        let y_ref = r::maxpool2(&x);
        prop_assert!(rel_err(&Nchw::from_nhwc_f32(n, c, o.h, o.w, &y).data, &y_ref.data) < 1e-6);
        let dy = nchw(n, c, o.h, o.w, &mut g);
        // Stale values, as in a reused workspace: every dx must be written.
        let mut dx = vec![f32::NAN; x.data.len()];
        pool.backward(&dy.to_nhwc_f32(), &arg, n, &mut dx);
        let dx_ref = r::maxpool2_backward(&x, &dy);
        prop_assert!(rel_err(&Nchw::from_nhwc_f32(n, c, h, w, &dx).data, &dx_ref.data) < 1e-6);

        // Flatten: NHWC -> PyTorch's NCHW flat order, and back.
        let s = Shape::new(h, w, c);
        let mut flat = vec![0.0; x.data.len()];
        flatten_forward(s, &x.to_nhwc_f32(), n, &mut flat);
        prop_assert!(rel_err(&f64s(&flat), &x.data) < 1e-6);
        let mut back = vec![0.0; flat.len()];
        flatten_backward(s, &flat, n, &mut back);
        prop_assert_eq!(back, x.to_nhwc_f32());

        // Linear with relu after it.
        let ins = c * h * w;
        let wt = randn(outs * ins, &mut g);
        let b = randn(outs, &mut g);
        let lin = Linear { inputs: ins, outputs: outs };
        let mut z = vec![0.0; n * outs];
        lin.forward(&f32s(&wt), &f32s(&b), &f32s(&x.data), n, &mut z);
        let z_ref = r::linear(&x.data, n, &wt, &b);
        prop_assert!(rel_err(&f64s(&z), &z_ref) < 1e-5);
        let dz = randn(n * outs, &mut g);
        let (mut dw, mut db, mut dxl) = (vec![0.0; wt.len()], vec![0.0; outs], vec![0.0; n * ins]);
        lin.backward(&f32s(&wt), &f32s(&x.data), &f32s(&dz), n, &mut dw, &mut db, Some(&mut dxl));
        let (dx_ref, dw_ref, db_ref) = r::linear_backward(&x.data, n, &wt, &dz);
        prop_assert!(rel_err(&f64s(&dw), &dw_ref) < 1e-5);
        prop_assert!(rel_err(&f64s(&db), &db_ref) < 1e-5);
        prop_assert!(rel_err(&f64s(&dxl), &dx_ref) < 1e-5);
        let mut a = vec![0.0; z.len()];
        relu_forward(&z, &mut a);
        prop_assert!(rel_err(&f64s(&a), &r::relu(&f64s(&z))) == 0.0);
        let mut da = vec![0.0; z.len()];
        relu_backward(&a, &f32s(&dz), &mut da);
        prop_assert!(rel_err(&f64s(&da), &r::relu_backward(&f64s(&z), &dz)) < 1e-6);
    }

    #[test]
    fn softmax_cross_entropy_matches_reference(seed in 0u64..1000, n in 1usize..6, classes in 2usize..6) {
        let mut g = rng(seed);
        // f32-representable logits, so the reference's argmax sees the f32 ties.
        let z: Vec<f64> = randn(n * classes, &mut g).iter().map(|v| (8.0 * v) as f32 as f64).collect();
        let labels: Vec<u8> = (0..n).map(|_| g.random_range(0..classes) as u8).collect();
        let mut d = vec![0.0; z.len()];
        let (loss, correct) = softmax_cross_entropy(&f32s(&z), &labels, classes, Some(&mut d));
        prop_assert!((loss / n as f64 - r::cross_entropy(&z, &labels)).abs() < 1e-5);
        prop_assert!(rel_err(&f64s(&d), &r::cross_entropy_backward(&z, &labels)) < 1e-6);
        let argmax_right = (0..n).filter(|&i| {
            let row = &z[i * classes..(i + 1) * classes];
            let best = (0..classes).fold(0, |b, j| if row[j] > row[b] { j } else { b });
            best == labels[i] as usize
        }).count();
        prop_assert_eq!(correct, argmax_right);
    }
}

/// Logits far past exp's range (the f64 reference, plain math, overflows
/// there): the loss and its gradient stay finite and exact, since the sum
/// is taken after subtracting each row's largest logit.
#[test]
fn softmax_cross_entropy_is_exact_for_huge_logits() {
    // (logits, label, loss, gradient of a batch of one)
    let cases: [([f32; 2], u8, f64, [f32; 2]); 5] = [
        ([1e30, 0.0], 0, 0.0, [0.0, 0.0]),
        ([1e30, 0.0], 1, 1e30, [1.0, -1.0]),
        ([1e3, 1e3], 0, std::f64::consts::LN_2, [-0.5, 0.5]),
        ([-1e3, 1e3], 0, 2e3, [-1.0, 1.0]),
        ([-1e3, -1e3], 1, std::f64::consts::LN_2, [0.5, -0.5]),
    ];
    for (z, label, loss, grad) in cases {
        let mut d = [f32::NAN; 2];
        let (got, _) = softmax_cross_entropy(&z, &[label], 2, Some(&mut d));
        let close = (got - loss).abs() <= 1e-6 * loss.abs().max(1.0);
        assert!(close, "{z:?} label {label}: loss {got}, want {loss}");
        assert_eq!(d, grad, "{z:?} label {label}: gradient");
    }
}

/// The passes compiled once per instruction set (`per_isa!`: copies,
/// max-pool, ReLU, flatten, bias broadcast and sums, the SGD update) give
/// the portable compilation's bits for every set this CPU runs, on data with
/// ties, signed zeros and NaN. The convs take each branch of im2col: the
/// fixed runs 15 and 30 and the generic run (pad 0), and the padded copy.
#[test]
fn every_compiled_pass_gives_the_same_bits_on_every_instruction_set() {
    use crate::nets::isa::Isa;
    let mut g = rng(77);
    let mut data = |n: usize| -> Vec<f32> {
        let mut v = f32s(&randn(n, &mut g));
        for (i, x) in v.iter_mut().enumerate() {
            match i % 29 {
                0 => *x = -0.0,
                7 => *x = f32::NAN,
                11 | 12 => *x = 0.25, // ties inside a pooling window
                _ => {}
            }
        }
        v
    };
    let batch = 3;
    let convs = [
        Conv2d {
            input: Shape::new(32, 32, 3),
            c_out: 6,
            k: 5,
            pad: 0,
        },
        Conv2d {
            input: Shape::new(14, 14, 6),
            c_out: 16,
            k: 5,
            pad: 0,
        },
        Conv2d {
            input: Shape::new(9, 7, 4),
            c_out: 5,
            k: 3,
            pad: 1,
        },
        // Unpadded with a kernel row of k c_in = 6 values: the generic
        // `im2col_unpadded::<0>` copy (runs 15 and 30 have their own).
        Conv2d {
            input: Shape::new(6, 6, 2),
            c_out: 3,
            k: 3,
            pad: 0,
        },
    ];
    let pool = MaxPool2 {
        input: Shape::new(28, 27, 6),
    };
    // Values on a grid of 0.5 (rounding makes -0.0 too), so pooling windows
    // hold ties, and the NaNs of `data`.
    let x_pool: Vec<f32> = data(batch * pool.input.len())
        .into_iter()
        .map(|v| (v * 2.0).round() / 2.0)
        .collect();
    let windows_with_ties = (0..pool.output().h * pool.output().w)
        .filter(|&p| {
            let (oy, ox) = (p / pool.output().w, p % pool.output().w);
            let (w, c) = (pool.input.w, pool.input.c);
            let at = |dy: usize, dx: usize| x_pool[((2 * oy + dy) * w + 2 * ox + dx) * c];
            let v = [at(0, 0), at(0, 1), at(1, 0), at(1, 1)];
            (0..4).any(|a| (a + 1..4).any(|b| v[a] == v[b]))
        })
        .count();
    assert!(
        windows_with_ties > 20,
        "{windows_with_ties} windows with ties"
    );
    let dy_pool = data(batch * pool.output().len());
    let flat = Shape::new(5, 5, 16);
    let x_flat = data(batch * flat.len());
    let bias = data(10);
    let dy_rows = data(7 * 10);
    let (w0, v0, grads) = (data(1000), data(1000), data(1000));
    let sgd = SgdConfig {
        lr: 0.01,
        momentum: 0.9,
        weight_decay: 5e-4,
    };
    let x_conv: Vec<Vec<f32>> = convs.iter().map(|c| data(batch * c.input.len())).collect();

    // Every output of every pass, as f32 bits (argmax bytes widened).
    let run = |isa: Isa| -> Vec<(String, Vec<f32>)> {
        let mut out = Vec::new();
        for (c, x) in convs.iter().zip(&x_conv) {
            let mut cols = vec![0.0; c.cols_len(batch)];
            im2col_pass_on(isa, c, x, batch, &mut cols);
            let mut dx = vec![0.0; x.len()];
            col2im_pass_on(isa, c, &cols, batch, &mut dx);
            out.push((format!("im2col {c:?}"), cols));
            out.push((format!("col2im {c:?}"), dx));
        }
        let mut y = vec![0.0; dy_pool.len()];
        let mut argmax = vec![0u8; dy_pool.len()];
        max_pool_forward_on(isa, &pool, &x_pool, batch, &mut y, &mut argmax);
        let mut dx = vec![0.0; x_pool.len()];
        max_pool_backward_on(isa, &pool, &dy_pool, &argmax, batch, &mut dx);
        out.push(("max-pool y".into(), y));
        out.push((
            "max-pool argmax".into(),
            argmax.iter().map(|&a| a as f32).collect(),
        ));
        out.push(("max-pool dx".into(), dx));
        let mut r = vec![0.0; x_pool.len()];
        relu_forward_on(isa, &x_pool, &mut r);
        let mut dr = vec![0.0; x_pool.len()];
        relu_backward_on(isa, &r, &x_pool, &mut dr);
        out.push(("relu".into(), r));
        out.push(("relu backward".into(), dr));
        let mut f = vec![0.0; x_flat.len()];
        flatten_forward_on(isa, flat, &x_flat, batch, &mut f);
        let mut fb = vec![0.0; x_flat.len()];
        flatten_backward_on(isa, flat, &f, batch, &mut fb);
        out.push(("flatten".into(), f));
        out.push(("flatten backward".into(), fb));
        let mut rows = vec![0.0; 7 * 10];
        broadcast_rows_on(isa, &bias, 7, &mut rows);
        let mut sums = vec![0.0; 10];
        column_sums_on(isa, &dy_rows, 7, &mut sums);
        out.push(("bias rows".into(), rows));
        out.push(("column sums".into(), sums));
        let (mut w, mut v) = (w0.clone(), v0.clone());
        super::super::train::sgd_update_on(isa, sgd, &mut w, &mut v, &grads);
        out.push(("sgd w".into(), w));
        out.push(("sgd v".into(), v));
        out
    };
    let portable = run(Isa::Plain);
    for isa in Isa::available().into_iter().filter(|i| *i != Isa::Plain) {
        for ((what, a), (_, b)) in portable.iter().zip(run(isa)) {
            assert_same_weights(a, &b, &format!("{what}, {isa:?} vs portable"));
        }
    }
}

/// NaN passes ReLU and max-pooling (the first NaN of a window wins, in any
/// of the four slots), as in PyTorch, on every instruction set and in the
/// references: a diverged net shows in its loss instead of becoming zeros.
#[test]
fn nan_passes_relu_and_max_pool_as_in_pytorch() {
    use crate::nets::isa::Isa;
    let pool = MaxPool2 {
        input: Shape::new(2, 2, 1),
    };
    let window = |slot: usize| -> Vec<f32> {
        let mut x = vec![1.0, 0.5, 0.25, 2.0];
        x[slot] = f32::NAN;
        x
    };
    for isa in Isa::available() {
        for slot in 0..4 {
            // NHWC with one channel: the four inputs in window order.
            let (mut y, mut arg) = ([0.0f32], [0u8]);
            max_pool_forward_on(isa, &pool, &window(slot), 1, &mut y, &mut arg);
            assert!(y[0].is_nan(), "{isa:?}: NaN in slot {slot} gave {}", y[0]);
            assert_eq!(arg[0] as usize, slot, "{isa:?}: the NaN's slot wins");
        }
        let x = [f32::NAN, -1.0, 0.0, 3.0, f32::INFINITY, f32::NEG_INFINITY];
        let mut y = [7.0f32; 6];
        relu_forward_on(isa, &x, &mut y);
        assert!(y[0].is_nan(), "{isa:?}: relu(NaN) = {}", y[0]);
        assert_eq!(&y[1..], &[0.0, 0.0, 3.0, f32::INFINITY, 0.0], "{isa:?}");
    }
    for slot in 0..4 {
        let x = Nchw {
            n: 1,
            c: 1,
            h: 2,
            w: 2,
            data: window(slot).iter().map(|&v| f64::from(v)).collect(),
        };
        assert!(r::maxpool2(&x).data[0].is_nan(), "reference, slot {slot}");
    }
    assert!(r::relu(&[f64::NAN])[0].is_nan());
}
