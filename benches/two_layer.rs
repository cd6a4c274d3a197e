//! Criterion: one GD step of the two-layer engine, primal against dual, on
//! the same problem (p > n), so their ratio is read off one report.
//! `overfit bench two-layer` times the paper-sized step; this bench tracks
//! regressions at a size that runs in seconds. `outputs` times the step's
//! output sums, f_i = sum_j a_j relu(Z_ij), several rows at once against the
//! serial one-row sum they are bit-identical to, at the main job's n and m,
//! and the step's whole fused core compiled for each instruction set.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ndarray::{Array1, Array2};
use overfit::blas::par_gemm;
use overfit::nets::activation::Activation;
use overfit::nets::gram_update::GramUpdate;
use overfit::nets::init::{gaussian_first_layer, second_layer, SecondLayerInit};
use overfit::nets::isa::Isa;
use overfit::nets::loss::Loss;
use overfit::nets::two_layer::{
    backprop_coefficients_on, output_of_row, outputs_from_preactivations, EngineKind, GdConfig,
    TrainedLayers, TwoLayerGd,
};
use rand_distr::{Distribution, StandardNormal};

fn problem(p: usize, n: usize, m: usize) -> (Array2<f64>, Array1<f64>, Array2<f64>, Array1<f64>) {
    let mut rng = overfit::rng::stream(1, 0, "criterion");
    let x = Array2::from_shape_simple_fn((n, p), || {
        Distribution::<f64>::sample(&StandardNormal, &mut rng)
    });
    let y = (0..n)
        .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    let w0 = gaussian_first_layer(p, m, 1e-3, &mut rng);
    let a0 = second_layer(SecondLayerInit::RandomSign { scale: None }, &w0, &mut rng);
    (x, y, w0, a0)
}

fn step(c: &mut Criterion) {
    let (p, n, m) = (4000, 100, 200);
    let (x, y, w0, a0) = problem(p, n, m);
    let cfg = GdConfig {
        activation: Activation::Relu,
        loss: Loss::Logistic,
        lr: 0.1,
        weight_decay: 0.0,
        trained: TrainedLayers::First,
    };
    let mut group = c.benchmark_group(format!("two_layer_step_p{p}_n{n}_m{m}"));
    for kind in [EngineKind::Primal, EngineKind::Dual] {
        let mut gd =
            TwoLayerGd::new(cfg, kind, x.clone(), y.clone(), w0.clone(), a0.clone()).unwrap();
        group.bench_function(
            BenchmarkId::from_parameter(format!("{kind:?}").to_lowercase()),
            |b| b.iter(|| gd.step().unwrap()),
        );
    }
    group.finish();
}

fn outputs(c: &mut Criterion) {
    let (n, m) = (200, 1000);
    let mut rng = overfit::rng::stream(2, 0, "criterion");
    let z = Array2::from_shape_simple_fn((n, m), || {
        Distribution::<f64>::sample(&StandardNormal, &mut rng)
    });
    let a =
        Array1::from_shape_simple_fn(m, || Distribution::<f64>::sample(&StandardNormal, &mut rng));
    let act = Activation::Relu;
    let mut group = c.benchmark_group(format!("outputs_n{n}_m{m}"));
    group.bench_function("serial", |b| {
        b.iter(|| {
            z.outer_iter()
                .map(|row| output_of_row(row, a.view(), act))
                .collect::<Array1<f64>>()
        })
    });
    group.bench_function("interleaved", |b| {
        b.iter(|| outputs_from_preactivations(z.view(), a.view(), act))
    });
    group.finish();

    // The whole fused core of a step (outputs, loss, G, grad_a), compiled
    // for each instruction set this CPU runs (`per_isa!`).
    let y = Array1::from_shape_fn(n, |i| if i % 2 == 0 { 1.0 } else { -1.0 });
    let (mut f, mut g, mut ga) = (Array1::zeros(n), Array2::zeros((n, m)), Array1::zeros(m));
    let mut group = c.benchmark_group(format!("backprop_coefficients_n{n}_m{m}"));
    for isa in Isa::available() {
        group.bench_function(isa.name(), |b| {
            b.iter(|| {
                backprop_coefficients_on(
                    isa,
                    z.view(),
                    a.view(),
                    y.view(),
                    act,
                    Loss::Logistic,
                    &mut f,
                    Some(&mut g),
                    Some(&mut ga),
                )
            })
        });
    }
    group.finish();
}

/// The dual step's update Z <- beta Z + alpha K G at the main job's n and m:
/// the gemm on G against the table lookup on Z's signs (`GramUpdate`).
fn dual_update(c: &mut Criterion) {
    let (n, m) = (200, 1000);
    let mut rng = overfit::rng::stream(3, 0, "criterion");
    let mut normal = || Distribution::<f64>::sample(&StandardNormal, &mut rng);
    let x = Array2::from_shape_simple_fn((n, 400), &mut normal);
    let k = x.dot(&x.t());
    let z0 = Array2::from_shape_simple_fn((n, m), &mut normal);
    let d: Vec<f64> = (0..n).map(|_| normal()).collect();
    let a: Vec<f64> = (0..m).map(|_| normal()).collect();
    let g = Array2::from_shape_fn((n, m), |(i, j)| {
        d[i] * a[j] * if z0[[i, j]] > 0.0 { 1.0 } else { 0.0 }
    });
    let mut group = c.benchmark_group(format!("dual_update_n{n}_m{m}"));
    let mut z = z0.clone();
    group.bench_function("gemm", |b| {
        b.iter(|| par_gemm(-1e-3, &k.view(), &g.view(), 1.0, &mut z.view_mut()))
    });
    const RELU: Activation = Activation::Relu;
    let mut update = GramUpdate::new();
    let mut z = z0.clone();
    group.bench_function("table", |b| {
        b.iter(|| update.apply(-1e-3, k.view(), &d, &a, RELU, 1.0, z.view_mut(), None))
    });
    // The same work with every column's mask equal, block b's bits set to
    // the number b: each tile's lookups then read one entry a table (34
    // lines, in distinct L1 sets), not entries spread over 139 KB. The
    // ratio to `table` is what the lookups lose to the cache.
    let same_entry = |i: usize| ((i / 6) >> (i % 6)) & 1 == 1;
    let mut z = Array2::from_shape_fn((n, m), |(i, _)| if same_entry(i) { 1e9 } else { -1e9 });
    group.bench_function("table_lookups_in_l1", |b| {
        b.iter(|| update.apply(-1e-3, k.view(), &d, &a, RELU, 1.0, z.view_mut(), None))
    });
    group.finish();
}

criterion_group!(benches, step, outputs, dual_update);
criterion_main!(benches);
