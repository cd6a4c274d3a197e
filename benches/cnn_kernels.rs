//! Criterion: the direct conv1 kernels (`nets::cnn::direct`) of every
//! instruction set this CPU runs, timed in the same run, and the im2col +
//! sgemm path they replace, on the course CNN's conv1 (32 x 32 x 3 -> 6
//! channels, 5 x 5) at the protocol's batch of 4 and at batch 128.
//! Each measurement is one forward pass and one parameter gradient (dW, db)
//! of the batch, except `direct-forward` and `direct-params`, which time the
//! dispatched direct kernel's two passes apart; read the ratios off one report. `passes` times the passes
//! compiled once per instruction set (`per_isa!`) at batch 128 on the
//! course CNN's shapes: conv2's im2col and col2im, max-pool after conv1
//! (forward and backward; beside it the window-at-a-time reference), ReLU on conv1's output (forward and backward),
//! and the SGD update of the (16,150,80) CNN's 62006 parameters.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use overfit::nets::cnn::direct;
use overfit::nets::cnn::layers::{
    col2im_pass_on, im2col_pass_on, max_pool_backward_on, max_pool_forward_on,
    max_pool_relu_forward_on, relu_backward_on, relu_forward_on, Conv2d, MaxPool2, Shape,
};
use overfit::nets::cnn::pool::{max_pool_windows_backward_on, max_pool_windows_forward_on};
use overfit::nets::cnn::train::sgd_update_on;
use overfit::nets::cnn::SgdConfig;
use overfit::nets::isa::Isa;
use rand_distr::{Distribution, StandardNormal};

fn randn(len: usize, rng: &mut impl rand::Rng) -> Vec<f32> {
    (0..len)
        .map(|_| Distribution::<f32>::sample(&StandardNormal, rng))
        .collect()
}

fn conv1(c: &mut Criterion) {
    let conv = Conv2d {
        input: Shape::new(32, 32, 3),
        c_out: 6,
        k: 5,
        pad: 0,
    };
    let mut rng = overfit::rng::stream(1, 0, "criterion-cnn");
    let (w, bias) = (randn(conv.weight_len(), &mut rng), randn(6, &mut rng));
    let mut group = c.benchmark_group("conv1");
    for batch in [4usize, 128] {
        let x = randn(batch * conv.input.len(), &mut rng);
        let dy = randn(batch * conv.output().len(), &mut rng);
        let mut y = vec![0.0; dy.len()];
        let (mut dw, mut db) = (vec![0.0; w.len()], vec![0.0; 6]);
        let mut scratch = vec![0.0; conv.scratch_len(batch)];
        group.throughput(Throughput::Elements(batch as u64));
        for isa in Isa::available() {
            group.bench_function(
                BenchmarkId::new(format!("direct-{}", isa.name()), batch),
                |b| {
                    b.iter(|| {
                        direct::forward_on(
                            isa,
                            &conv,
                            (&w, &bias),
                            &x,
                            batch,
                            &mut scratch,
                            &mut y,
                        );
                        direct::backward_params_on(
                            isa,
                            &conv,
                            &x,
                            &dy,
                            batch,
                            &mut scratch,
                            (&mut dw, &mut db),
                        );
                    })
                },
            );
        }
        // The two passes apart, with the dispatched instruction set.
        group.bench_function(BenchmarkId::new("direct-forward", batch), |b| {
            b.iter(|| direct::forward(&conv, &w, &bias, &x, batch, &mut scratch, &mut y))
        });
        group.bench_function(BenchmarkId::new("direct-params", batch), |b| {
            b.iter(|| {
                direct::backward_params(&conv, &x, &dy, batch, &mut scratch, (&mut dw, &mut db))
            })
        });
        group.bench_function(BenchmarkId::new("im2col-sgemm", batch), |b| {
            b.iter(|| {
                conv.forward_im2col(&w, &bias, &x, batch, &mut scratch, &mut y);
                conv.backward_im2col(&w, &x, &dy, batch, &mut scratch, &mut dw, &mut db, None);
            })
        });
    }
    group.finish();
}

fn passes(c: &mut Criterion) {
    let batch = 128;
    let mut rng = overfit::rng::stream(2, 0, "criterion-cnn");
    let conv2 = Conv2d {
        input: Shape::new(14, 14, 6),
        c_out: 16,
        k: 5,
        pad: 0,
    };
    let x2 = randn(batch * conv2.input.len(), &mut rng);
    let mut cols = vec![0.0; conv2.cols_len(batch)];
    let mut dx2 = vec![0.0; x2.len()];
    let pool = MaxPool2 {
        input: Shape::new(28, 28, 6),
    };
    let xp = randn(batch * pool.input.len(), &mut rng);
    let (mut yp, mut dxp) = (vec![0.0; batch * pool.output().len()], vec![0.0; xp.len()]);
    let mut argmax = vec![0u8; yp.len()];
    let mut relu = vec![0.0; xp.len()];
    let params = 62006;
    let (mut w, mut v, grads) = (
        randn(params, &mut rng),
        randn(params, &mut rng),
        randn(params, &mut rng),
    );
    let sgd = SgdConfig {
        lr: 1e-3,
        momentum: 0.9,
        weight_decay: 0.0,
    };
    let mut group = c.benchmark_group("passes");
    for isa in Isa::available() {
        let name = isa.name();
        group.bench_function(BenchmarkId::new("im2col-col2im", name), |b| {
            b.iter(|| {
                im2col_pass_on(isa, &conv2, &x2, batch, &mut cols);
                col2im_pass_on(isa, &conv2, &cols, batch, &mut dx2);
            })
        });
        group.bench_function(BenchmarkId::new("max-pool", name), |b| {
            b.iter(|| {
                max_pool_forward_on(isa, &pool, &xp, batch, &mut yp, &mut argmax);
                max_pool_backward_on(isa, &pool, &yp, &argmax, batch, &mut dxp);
            })
        });
        group.bench_function(BenchmarkId::new("max-pool-windows", name), |b| {
            b.iter(|| {
                max_pool_windows_forward_on(isa, &pool, &xp, batch, &mut yp, &mut argmax);
                max_pool_windows_backward_on(isa, &pool, &yp, &argmax, batch, &mut dxp);
            })
        });
        // The model's ReLU then pool: one pass (compare with max-pool + relu).
        group.bench_function(BenchmarkId::new("max-pool-relu", name), |b| {
            b.iter(|| {
                max_pool_relu_forward_on(isa, &pool, &xp, batch, &mut yp, &mut argmax);
                max_pool_backward_on(isa, &pool, &yp, &argmax, batch, &mut dxp);
            })
        });
        group.bench_function(BenchmarkId::new("relu", name), |b| {
            b.iter(|| {
                relu_forward_on(isa, &xp, &mut relu);
                relu_backward_on(isa, &relu, &xp, &mut dxp);
            })
        });
        group.bench_function(BenchmarkId::new("sgd", name), |b| {
            b.iter(|| sgd_update_on(isa, sgd, &mut w, &mut v, &grads))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = conv1, passes
}
criterion_main!(benches);
