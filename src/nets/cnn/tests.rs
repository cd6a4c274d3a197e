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

fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// max |a - b| / (1 + max |b|): relative to the scale of the reference.
fn rel_err(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
        / (1.0 + scale)
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

// ------------------------------------------- references vs finite differences

#[test]
fn reference_conv_backward_matches_finite_differences() {
    for pad in [0, 1] {
        let mut g = rng(pad as u64);
        let (c_out, k) = (3, 3);
        let x = nchw(2, 2, 5, 4, &mut g);
        let w = randn(c_out * 2 * k * k, &mut g);
        let b = randn(c_out, &mut g);
        let y = r::conv2d(&x, &w, &b, c_out, k, pad);
        let probe = randn(y.data.len(), &mut g);
        let dy = Nchw {
            data: probe.clone(),
            ..y.clone()
        };
        let (dx, dw, db) = r::conv2d_backward(&x, &w, &dy, k, pad);
        let loss_x = |xs: &[f64]| {
            dot(
                &r::conv2d(
                    &Nchw {
                        data: xs.to_vec(),
                        ..x.clone()
                    },
                    &w,
                    &b,
                    c_out,
                    k,
                    pad,
                )
                .data,
                &probe,
            )
        };
        let loss_w = |ws: &[f64]| dot(&r::conv2d(&x, ws, &b, c_out, k, pad).data, &probe);
        let loss_b = |bs: &[f64]| dot(&r::conv2d(&x, &w, bs, c_out, k, pad).data, &probe);
        assert!(rel_err(&dx.data, &numeric_grad(&x.data, loss_x)) < 1e-7);
        assert!(rel_err(&dw, &numeric_grad(&w, loss_w)) < 1e-7);
        assert!(rel_err(&db, &numeric_grad(&b, loss_b)) < 1e-7);
    }
}

#[test]
fn reference_pool_relu_linear_ce_backward_match_finite_differences() {
    let mut g = rng(7);
    let x = nchw(2, 3, 4, 6, &mut g);
    let y = r::maxpool2(&x);
    let probe = randn(y.data.len(), &mut g);
    let dx = r::maxpool2_backward(
        &x,
        &Nchw {
            data: probe.clone(),
            ..y
        },
    );
    let f = |xs: &[f64]| {
        dot(
            &r::maxpool2(&Nchw {
                data: xs.to_vec(),
                ..x.clone()
            })
            .data,
            &probe,
        )
    };
    assert!(rel_err(&dx.data, &numeric_grad(&x.data, f)) < 1e-7);

    let v = randn(40, &mut g);
    let probe = randn(40, &mut g);
    let d = r::relu_backward(&v, &probe);
    assert!(rel_err(&d, &numeric_grad(&v, |xs| dot(&r::relu(xs), &probe))) < 1e-7);

    let (n, ins, outs) = (3, 5, 4);
    let x = randn(n * ins, &mut g);
    let w = randn(outs * ins, &mut g);
    let b = randn(outs, &mut g);
    let probe = randn(n * outs, &mut g);
    let (dx, dw, db) = r::linear_backward(&x, n, &w, &probe);
    assert!(
        rel_err(
            &dx,
            &numeric_grad(&x, |xs| dot(&r::linear(xs, n, &w, &b), &probe))
        ) < 1e-7
    );
    assert!(
        rel_err(
            &dw,
            &numeric_grad(&w, |ws| dot(&r::linear(&x, n, ws, &b), &probe))
        ) < 1e-7
    );
    assert!(
        rel_err(
            &db,
            &numeric_grad(&b, |bs| dot(&r::linear(&x, n, &w, bs), &probe))
        ) < 1e-7
    );

    let z = randn(3 * 4, &mut g);
    let labels = [0u8, 3, 2];
    let d = r::cross_entropy_backward(&z, &labels);
    assert!(rel_err(&d, &numeric_grad(&z, |zs| r::cross_entropy(zs, &labels))) < 1e-7);
}

// ------------------------------------------------- fast layers vs references

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
    let (mut dw, mut db) = (vec![0.0; wt.len()], vec![0.0; c_out]);
    let mut dcols = vec![0.0; cols.len()];
    let mut dx = vec![0.0; x.data.len()];
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
    let mut dw_first = vec![0.0; wt.len()];
    conv.backward(
        &w_eng,
        &x.to_nhwc_f32(),
        &dy.to_nhwc_f32(),
        n,
        &mut cols,
        &mut dw_first,
        &mut db,
        None,
    );
    let dw_torch = checkpoint::conv_to_torch(&dw_first, c_out, c_in, k);
    assert!(rel_err(&f64s(&dw_torch), &dw_ref) < 1e-5, "dW without dx");
    assert!(rel_err(&f64s(&db), &db_ref) < 1e-5, "db without dx");
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

    let (mut y_plain, mut dw_plain) = (vec![0.0; n * o.len()], vec![0.0; wt.len()]);
    let mut db_plain = vec![0.0; c_out];
    direct::testing::forward_plain(&conv, (&wt, &bias), &x, n, &mut y_plain);
    direct::testing::params_plain(&conv, &x, &dy, n, (&mut dw_plain, &mut db_plain));
    // The dispatched lanes are AVX2 where the CPU has it, else the portable ones:
    // either way the bits must agree.
    let lanes = if direct::testing::avx2_available() {
        "AVX2"
    } else {
        "portable"
    };
    assert_same_weights(&y_plain, &y_direct, &format!("portable vs {lanes} forward"));
    assert_same_weights(&dw_plain, &dw_direct, &format!("portable vs {lanes} dW"));
    assert_same_weights(&db_plain, &db_direct, &format!("portable vs {lanes} db"));
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
        h in 5usize..8, w in 29usize..37, half_c_out in 1usize..4) {
        check_direct_conv(seed, n, c_in, h, w, 2 * half_c_out);
    }

    #[test]
    fn im2col_conv_matches_naive_conv(seed in 0u64..1000, n in 1usize..4, c_in in 1usize..4,
        h in 1usize..9, w in 1usize..9, c_out in 1usize..5, k in 1usize..5, pad in 0usize..3) {
        prop_assume!(h + 2 * pad >= k && w + 2 * pad >= k);
        check_conv(seed, n, c_in, h, w, c_out, k, pad);
    }

    #[test]
    fn pool_flatten_linear_match_references(seed in 0u64..1000, n in 1usize..4, c in 1usize..4,
        h in 2usize..9, w in 2usize..9, outs in 1usize..6) {
        let mut g = rng(seed);
        let x = nchw(n, c, h, w, &mut g);
        let pool = MaxPool2 { input: Shape::new(h, w, c) };
        let o = pool.output();
        let mut y = vec![0.0; n * o.len()];
        let mut arg = vec![0u8; n * o.len()];
        pool.forward(&x.to_nhwc_f32(), n, &mut y, &mut arg);
        let y_ref = r::maxpool2(&x);
        prop_assert!(rel_err(&Nchw::from_nhwc_f32(n, c, o.h, o.w, &y).data, &y_ref.data) < 1e-6);
        let dy = nchw(n, c, o.h, o.w, &mut g);
        let mut dx = vec![0.0; x.data.len()];
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
        let z: Vec<f64> = randn(n * classes, &mut g).iter().map(|v| 8.0 * v).collect();
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

// ------------------------------------------------------- the whole model

/// The model in PyTorch's layout, layer by layer with the references:
/// returns every activation (NCHW or flat), the logits last.
fn reference_forward(specs: &[LayerSpec], sd: &[Tensor], x: &Nchw) -> Vec<Nchw> {
    let get = |name: &str| f64s(&sd.iter().find(|t| t.name == name).expect(name).data);
    let mut acts = vec![x.clone()];
    for spec in specs {
        let a = acts.last().unwrap().clone();
        let next = match spec {
            LayerSpec::Conv {
                name,
                c_out,
                k,
                pad,
            } => r::conv2d(
                &a,
                &get(&format!("{name}.weight")),
                &get(&format!("{name}.bias")),
                *c_out,
                *k,
                *pad,
            ),
            LayerSpec::MaxPool2 => r::maxpool2(&a),
            LayerSpec::Relu => Nchw {
                data: r::relu(&a.data),
                ..a
            },
            LayerSpec::Flatten => Nchw {
                c: a.c * a.h * a.w,
                h: 1,
                w: 1,
                ..a
            },
            LayerSpec::Linear { name, outputs } => {
                let data = r::linear(
                    &a.data,
                    a.n,
                    &get(&format!("{name}.weight")),
                    &get(&format!("{name}.bias")),
                );
                Nchw {
                    n: a.n,
                    c: *outputs,
                    h: 1,
                    w: 1,
                    data,
                }
            }
        };
        acts.push(next);
    }
    acts
}

/// Reference gradients of the mean cross-entropy, by name (PyTorch layout).
fn reference_gradients(
    specs: &[LayerSpec],
    sd: &[Tensor],
    x: &Nchw,
    labels: &[u8],
) -> Vec<(String, Vec<f64>)> {
    let get = |name: &str| f64s(&sd.iter().find(|t| t.name == name).expect(name).data);
    let acts = reference_forward(specs, sd, x);
    let mut d = r::cross_entropy_backward(&acts.last().unwrap().data, labels);
    let mut grads = Vec::new();
    for (i, spec) in specs.iter().enumerate().rev() {
        let a = &acts[i];
        d = match spec {
            LayerSpec::Conv { name, k, pad, .. } => {
                let y = &acts[i + 1];
                let (dx, dw, db) = r::conv2d_backward(
                    a,
                    &get(&format!("{name}.weight")),
                    &Nchw {
                        data: d,
                        ..y.clone()
                    },
                    *k,
                    *pad,
                );
                grads.push((format!("{name}.weight"), dw));
                grads.push((format!("{name}.bias"), db));
                dx.data
            }
            LayerSpec::MaxPool2 => {
                r::maxpool2_backward(
                    a,
                    &Nchw {
                        data: d,
                        ..acts[i + 1].clone()
                    },
                )
                .data
            }
            LayerSpec::Relu => r::relu_backward(&a.data, &d),
            LayerSpec::Flatten => d,
            LayerSpec::Linear { name, .. } => {
                let (dx, dw, db) =
                    r::linear_backward(&a.data, a.n, &get(&format!("{name}.weight")), &d);
                grads.push((format!("{name}.weight"), dw));
                grads.push((format!("{name}.bias"), db));
                dx
            }
        };
    }
    grads
}

fn small_archs() -> Vec<Arch> {
    vec![
        Arch::CourseCnn { k: 4, h1: 7, h2: 5 },
        Arch::Mlp { widths: vec![9, 6] },
    ]
}

#[test]
fn model_forward_and_gradient_match_the_layer_by_layer_reference() {
    for (s, arch) in small_archs().into_iter().enumerate() {
        let mut g = rng(100 + s as u64);
        let mut model = Model::for_arch(&arch, 4).unwrap();
        model.init_pytorch(&mut g);
        let sd = state_dict(&model);
        let n = 3;
        let x = nchw(n, 3, 32, 32, &mut g);
        let labels: Vec<u8> = vec![0, 3, 1];
        let pixels = f32s(&x.data);
        let images = Images {
            pixels: &pixels,
            labels: &labels,
        };
        let mut ws = model.workspace(n);
        ws.load(&images, &[0, 1, 2]);
        let (loss, _) = model.loss_and_gradient(&mut ws);
        let acts = reference_forward(
            &arch.layers(4),
            &sd,
            &Nchw {
                data: f64s(&pixels),
                ..x.clone()
            },
        );
        let logits_ref = &acts.last().unwrap().data;
        let logits = super::model::logits(&model, &mut model.workspace(2), &images);
        assert!(
            rel_err(&f64s(&logits), logits_ref) < 1e-5,
            "{arch:?} logits"
        );
        assert!((loss / n as f64 - r::cross_entropy(logits_ref, &labels)).abs() < 1e-5);
        let grads = reference_gradients(
            &arch.layers(4),
            &sd,
            &Nchw {
                data: f64s(&pixels),
                ..x
            },
            &labels,
        );
        let mut as_model = model.clone();
        as_model.params = ws.grads.clone();
        let ours = state_dict(&as_model);
        for (name, gref) in grads {
            let t = ours.iter().find(|t| t.name == name).unwrap();
            assert!(rel_err(&f64s(&t.data), &gref) < 1e-4, "{arch:?} {name}");
        }
    }
}

#[test]
fn course_cnn_parameter_counts_match_the_project_formula() {
    // P = 460 + 151k + 25k h1 + h1 + h1 h2 + 5 h2 (papers.md S4), and the listed counts.
    let listed = [
        (5, 15, 10, 3305),
        (8, 70, 50, 19488),
        (10, 100, 60, 33370),
        (16, 150, 80, 75426),
    ];
    for (k, h1, h2, p) in listed {
        let m = Model::for_arch(&Arch::CourseCnn { k, h1, h2 }, 4).unwrap();
        assert_eq!(
            m.param_count(),
            460 + 151 * k + 25 * k * h1 + h1 + h1 * h2 + 5 * h2
        );
        assert_eq!(m.param_count(), p);
        assert_eq!(m.param_infos()[0].shape, vec![6, 3, 5, 5]);
    }
}

#[test]
fn pytorch_init_bounds_are_one_over_sqrt_fan_in() {
    let mut m = Model::for_arch(
        &Arch::CourseCnn {
            k: 16,
            h1: 150,
            h2: 80,
        },
        4,
    )
    .unwrap();
    m.init_pytorch(&mut rng(5));
    for info in m.param_infos() {
        let b = 1.0 / (info.fan_in as f32).sqrt();
        let v = &m.params[info.range.clone()];
        let max = v.iter().fold(0.0f32, |a, x| a.max(x.abs()));
        assert!(max <= b, "{}", info.name);
        if v.len() >= 400 {
            // U(-b, b) has variance b^2/3.
            let var = v.iter().map(|x| (x * x) as f64).sum::<f64>() / v.len() as f64;
            let want = (b * b) as f64 / 3.0;
            assert!(
                (var - want).abs() < 0.2 * want,
                "{}: var {var} vs {want}",
                info.name
            );
        }
    }
}

#[test]
fn sgd_follows_the_pytorch_formula() {
    let cfg = SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        weight_decay: 0.01,
    };
    let mut sgd = Sgd::new(cfg, 1);
    let mut w = [1.0f32];
    sgd.step(&mut w, &[0.5]);
    // v1 = 0.5 + 0.01*1 = 0.51; w1 = 1 - 0.051 = 0.949
    assert!((w[0] - 0.949).abs() < 1e-6);
    sgd.step(&mut w, &[0.5]);
    // g2 = 0.5 + 0.00949; v2 = 0.9*0.51 + 0.50949 = 0.96849; w2 = 0.949 - 0.096849
    assert!((w[0] - (0.949 - 0.096849)).abs() < 1e-6);
}

#[test]
fn training_fits_a_tiny_set_and_is_reproducible() {
    let run = || {
        let mut g = rng(9);
        let n = 16;
        let pixels: Vec<f32> = (0..n * 3072)
            .map(|_| g.random_range(-1.0f32..1.0))
            .collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 4) as u8).collect();
        let images = Images {
            pixels: &pixels,
            labels: &labels,
        };
        let mut model = Model::for_arch(
            &Arch::CourseCnn {
                k: 8,
                h1: 32,
                h2: 16,
            },
            4,
        )
        .unwrap();
        model.init_pytorch(&mut g);
        let mut ws = [model.workspace(4)];
        let mut sgd = Sgd::new(
            SgdConfig {
                lr: 0.01,
                momentum: 0.9,
                weight_decay: 0.0,
            },
            model.param_count(),
        );
        let mut order: Vec<usize> = (0..n).collect();
        let mut shuffle = rng(10);
        for _ in 0..60 {
            train_epoch(
                &mut model,
                &mut ws,
                &mut sgd,
                &images,
                &mut order,
                4,
                &mut shuffle,
            )
            .unwrap();
        }
        // Two shards of the same batches: the same gradient up to rounding.
        let mut shards = [model.workspace(2), model.workspace(2)];
        let probe = model.clone();
        let idx = [3usize, 7, 1, 12];
        let (l1, _) = super::train::sharded_gradient(&probe, &mut ws, &images, &idx);
        let (l2, _) = super::train::sharded_gradient(&probe, &mut shards, &images, &idx);
        assert!((l1 - l2).abs() < 1e-4 * (1.0 + l1.abs()));
        assert!(rel_err(&f64s(&shards[0].grads), &f64s(&ws[0].grads)) < 1e-5);
        let mut eval_ws = model.workspace(8);
        (
            super::model::evaluate(&model, &mut eval_ws, &images),
            model.params,
        )
    };
    let ((loss, err), p1) = run();
    assert_eq!(err, 0.0, "loss {loss}");
    assert!(loss < 0.1);
    assert_same_weights(&run().1, &p1, "same seed, same weights");
}

// ------------------------------------------------------------ checkpoints

#[test]
fn safetensors_round_trip_keeps_names_shapes_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let arch = Arch::CourseCnn {
        k: 16,
        h1: 150,
        h2: 80,
    };
    let mut m = Model::for_arch(&arch, 4).unwrap();
    m.init_pytorch(&mut rng(3));
    let meta = [("arch".to_string(), arch.label())].into_iter().collect();
    checkpoint::save(&m, &path, &meta).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert_eq!(header_len % 8, 0);
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + header_len]).unwrap();
    assert_eq!(
        header["conv1.weight"]["shape"],
        serde_json::json!([6, 3, 5, 5])
    );
    assert_eq!(header["fc3.bias"]["shape"], serde_json::json!([4]));
    assert_eq!(header["__metadata__"]["arch"], "cnn16-150-80");
    let mut back = Model::for_arch(&arch, 4).unwrap();
    let meta_back = checkpoint::load(&mut back, &path).unwrap();
    assert_same_weights(&back.params, &m.params, "checkpoint round trip");
    assert_eq!(meta_back, meta);
    // A different architecture is refused, naming the tensor.
    let mut other = Model::for_arch(
        &Arch::CourseCnn {
            k: 8,
            h1: 150,
            h2: 80,
        },
        4,
    )
    .unwrap();
    let e = checkpoint::load(&mut other, &path).unwrap_err().to_string();
    assert!(
        e.contains("conv2.weight") && e.contains("m.safetensors"),
        "{e}"
    );
}

#[test]
fn malformed_checkpoints_are_bad_input() {
    let p = Path::new("x.safetensors");
    assert!(checkpoint::from_bytes(p, b"abc").is_err());
    let mut b = 1000u64.to_le_bytes().to_vec();
    b.extend_from_slice(b"{}");
    assert!(checkpoint::from_bytes(p, &b)
        .unwrap_err()
        .to_string()
        .contains("header length"));
    let t = vec![Tensor {
        name: "a".into(),
        shape: vec![2, 3],
        data: vec![1.0; 6],
    }];
    let mut bytes = checkpoint::to_bytes(&t, &Default::default());
    bytes.truncate(bytes.len() - 4);
    let e = checkpoint::from_bytes(p, &bytes).unwrap_err().to_string();
    assert!(e.contains("tensor a"), "{e}");
    assert_eq!(e.lines().count(), 1);
}

/// A small random task for `fit`: 24 training and 8 test images, 4 classes.
fn fit_task(seed: u64) -> (Vec<f32>, Vec<u8>, Vec<f32>, Vec<u8>) {
    let mut g = rng(seed);
    let mut pixels = |n: usize| -> Vec<f32> {
        (0..n * 3072)
            .map(|_| g.random_range(-1.0f32..1.0))
            .collect()
    };
    let (train, test) = (pixels(24), pixels(8));
    let labels = |n: usize| (0..n).map(|i| (i * 7 % 4) as u8).collect::<Vec<u8>>();
    (train, labels(24), test, labels(8))
}

fn fit_run(
    epochs: usize,
    state: Option<&super::fit::TrainStateFile>,
    stop_at_zero: bool,
    interrupt_after: Option<usize>,
) -> crate::error::Result<(super::fit::FitOutcome, Vec<f32>)> {
    use super::fit::{fit, FitConfig, FitData};
    let (trp, trl, tep, tel) = fit_task(21);
    let clean: Vec<u8> = trl.iter().map(|&y| (y + 1) % 4).collect();
    let data = FitData {
        train: Images {
            pixels: &trp,
            labels: &trl,
        },
        train_clean_labels: Some(&clean),
        test: Images {
            pixels: &tep,
            labels: &tel,
        },
    };
    let arch = Arch::CourseCnn {
        k: 6,
        h1: 24,
        h2: 12,
    };
    let mut model = Model::for_arch(&arch, 4).unwrap();
    model.init_pytorch(&mut rng(22));
    let cfg = FitConfig {
        epochs,
        batch: 5,
        eval_batch: 7,
        eval_every: 2,
        sgd: SgdConfig {
            lr: 0.01,
            momentum: 0.9,
            weight_decay: 1e-3,
        },
        stop_at_zero_train_error: stop_at_zero,
    };
    let out = fit(
        &mut model,
        &data,
        &cfg,
        rng(23),
        state,
        "test-run",
        |e, _| match interrupt_after {
            Some(k) if e > k => Err(crate::error::Error::bad("interrupted".to_string())),
            _ => Ok(()),
        },
    )?;
    Ok((out, model.params))
}

#[test]
fn fit_resumes_from_its_state_file_bit_identically() {
    let dir = tempfile::tempdir().unwrap();
    let (full, full_params) = fit_run(9, None, false, None).unwrap();
    assert_eq!(full.epochs_run, 9);
    assert_eq!(full.steps_run, 9 * 5);
    let epochs: Vec<usize> = full.evals.iter().map(|e| e.epoch).collect();
    assert_eq!(epochs, [0, 2, 4, 6, 8, 9]);
    assert!(full.evals.iter().all(|e| e.train_clean_error.is_some()));
    for interrupt in [1, 4, 7] {
        let state = super::fit::TrainStateFile {
            path: dir.path().join(format!("state{interrupt}.safetensors")),
            save_every: 3,
            resume: true,
        };
        // Killed during epoch interrupt + 1: the state holds the last multiple of 3.
        assert!(fit_run(9, Some(&state), false, Some(interrupt)).is_err());
        assert_eq!(state.path.exists(), interrupt >= 3, "interrupt {interrupt}");
        let (resumed, params) = fit_run(9, Some(&state), false, None).unwrap();
        let what = format!("interrupted after epoch {interrupt}");
        assert_same_outcome(&resumed, &full, &what);
        assert_same_weights(&params, &full_params, &what);
    }
    // Without `resume` an existing state file is ignored (a fresh run).
    let state = super::fit::TrainStateFile {
        path: dir.path().join("state7.safetensors"),
        save_every: 0,
        resume: false,
    };
    let fresh = fit_run(9, Some(&state), false, None).unwrap().0;
    assert_same_outcome(&fresh, &full, "resume off");
}

#[test]
fn fit_stops_at_the_first_zero_training_error() {
    let (full, _) = fit_run(80, None, false, None).unwrap();
    let first = full
        .zero_train_error_epoch
        .expect("24 images are fitted in 80 epochs");
    let (stopped, _) = fit_run(80, None, true, None).unwrap();
    assert_eq!(stopped.epochs_run, first);
    assert_eq!(stopped.steps_run, first as u64 * 5);
    assert_eq!(stopped.evals.last().unwrap().train_error, 0.0);
    let prefix = stopped.evals.len();
    if let Some(i) = (0..prefix).find(|&i| stopped.evals[i] != full.evals[i]) {
        panic!(
            "stopped run's eval {i} differs from the full run's: {:?} vs {:?}",
            stopped.evals[i], full.evals[i]
        );
    }
}
