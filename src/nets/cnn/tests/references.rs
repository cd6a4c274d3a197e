//! Tests of the naive f64 references against central finite differences.

use super::*;

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
