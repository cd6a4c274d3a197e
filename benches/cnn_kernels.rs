//! Criterion: the direct conv1 kernels (`nets::cnn::direct`) of every
//! instruction set this CPU runs, timed in the same run, and the im2col +
//! sgemm path they replace, on the course CNN's conv1 (32 x 32 x 3 -> 6
//! channels, 5 x 5) at the protocol's batch of 4 and at batch 128.
//! Each measurement is one forward pass and one parameter gradient (dW, db)
//! of the batch; read the ratios off one report.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use overfit::nets::cnn::direct;
use overfit::nets::cnn::layers::{Conv2d, Shape};
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
        group.bench_function(BenchmarkId::new("im2col-sgemm", batch), |b| {
            b.iter(|| {
                conv.forward_im2col(&w, &bias, &x, batch, &mut scratch, &mut y);
                conv.backward_im2col(&w, &x, &dy, batch, &mut scratch, &mut dw, &mut db, None);
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = conv1
}
criterion_main!(benches);
