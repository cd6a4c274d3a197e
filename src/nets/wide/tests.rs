//! Tests of the wide path: layout, fast step against the reference, every
//! ISA and thread count giving the same bits, initialisation shapes.

use super::*;
use crate::test_util::assert_same_bits;

fn toy(m: usize, d: usize, n: usize, seed: u64) -> (Vec<f64>, Vec<f64>, Points) {
    let mut rng = crate::rng::stream(seed, 0, "wide-test");
    let init = WideInit {
        scheme: InitScheme::Unbalanced,
        lambda: 1.0,
        symmetric: false,
    };
    let (a, w) = init_params(m, d, &init, &mut rng);
    let x: Vec<f64> = (0..n * d).map(|_| rng.random_range(-1.0..1.0)).collect();
    let y: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
    (a, w, Points::new(d, x, y).unwrap())
}

#[test]
fn layout_round_trips() {
    let (a, w, _) = toy(2050, 3, 4, 1);
    let net = WideNet::from_arrays(&a, &w, 3).unwrap();
    let (a2, w2) = net.to_arrays();
    assert_same_bits(&a, &a2, "a");
    assert_same_bits(&w, &w2, "w");
    assert_eq!(net.blocks(), 3);
}

/// The fused kernel (`kernel::run_kernel`, one instantiation per input
/// dimension D and instruction set) on 5 GD steps of a 3001-neuron net
/// (375 blocks of 8 lanes plus a partial one) for every D in 1..=MAX_DIM
/// and gamma in {0, 0.2} (ReLU and leaky ReLU): the dispatched kernel gives
/// the portable lanes' bits, and so does every instruction set this CPU
/// runs (every lane does the same operations in the same order at every
/// width); and the parameters and outputs equal the loop-by-loop reference
/// step to 1e-12 (1 + |v|) (parameters) and 1e-10 (1 + |f|) (outputs): the
/// kernel fuses multiply-adds and sums the outputs over lanes in another
/// order, so the two differ by rounding only, a few eps per step on
/// parameters of size <= ~1 and, for f, sums of 3001 terms.
#[test]
fn fast_step_matches_reference_and_every_isa_agrees() {
    for d in 1..=MAX_DIM {
        for gamma in [0.0, 0.2] {
            check_fast_step(d, gamma);
        }
    }
}

fn check_fast_step(d: usize, gamma: f64) {
    let case = format!("d {d}, gamma {gamma}");
    let cfg = WideConfig {
        gamma,
        lr: 0.05,
        loss: SquareLoss::MeanMse,
    };
    let (mut a, mut w, data) = toy(3001, d, 5, 2 + d as u64);
    let net = WideNet::from_arrays(&a, &w, d).unwrap();
    let mut fast = WideGd::new(cfg, net.clone(), data.clone()).unwrap();
    let mut plain = WideGd::new(cfg, net.clone(), data.clone()).unwrap();
    plain.use_plain_kernel();
    let mut others: Vec<WideGd> = Vec::new();
    for isa in Isa::available().into_iter().filter(|i| *i != Isa::Plain) {
        let mut gd = WideGd::new(cfg, net.clone(), data.clone()).unwrap();
        gd.isa = isa;
        others.push(gd);
    }
    for _ in 0..5 {
        reference_step(&mut a, &mut w, &data, &cfg);
        fast.step().unwrap();
        plain.step().unwrap();
        for gd in &mut others {
            gd.step().unwrap();
        }
    }
    let (fa, fw) = fast.net().to_arrays();
    let (pa, pw) = plain.net().to_arrays();
    assert_same_bits(&fa, &pa, &format!("{case}, a: SIMD width changed the bits"));
    assert_same_bits(&fw, &pw, &format!("{case}, w: SIMD width changed the bits"));
    assert_same_bits(fast.outputs(), plain.outputs(), &format!("{case}, outputs"));
    for gd in &others {
        let (ga, gw) = gd.net().to_arrays();
        let isa = format!("{case}, {:?}", gd.isa);
        assert_same_bits(&ga, &fa, &format!("a, {isa}"));
        assert_same_bits(&gw, &fw, &format!("w, {isa}"));
        assert_same_bits(gd.outputs(), fast.outputs(), &format!("outputs, {isa}"));
    }
    for (u, v) in fa.iter().zip(&a).chain(fw.iter().zip(&w)) {
        assert!(
            (u - v).abs() <= 1e-12 * (1.0 + v.abs()),
            "{case}: {u} vs {v}"
        );
    }
    let f_ref = reference_outputs(&a, &w, &data, cfg.gamma);
    for (u, v) in fast.outputs().iter().zip(&f_ref) {
        assert!(
            (u - v).abs() <= 1e-10 * (1.0 + v.abs()),
            "{case}: {u} vs {v}"
        );
    }
}

#[test]
fn thread_count_does_not_change_bits() {
    let cfg = WideConfig {
        gamma: 0.0,
        lr: 0.01,
        loss: SquareLoss::HalfSquare,
    };
    let (a, w, data) = toy(10_000, 2, 3, 3);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let net = WideNet::from_arrays(&a, &w, 2).unwrap();
            let mut gd = WideGd::new(cfg, net, data.clone()).unwrap();
            gd.run(20).unwrap();
            (gd.outputs().to_vec(), gd.net().to_arrays())
        })
    };
    assert_eq!(run(1), run(3));
}

#[test]
fn symmetric_init_has_zero_output() {
    let mut rng = crate::rng::stream(4, 0, "t");
    let init = WideInit {
        scheme: InitScheme::Balanced,
        lambda: 5.0,
        symmetric: true,
    };
    let (a, w) = init_params(100, 3, &init, &mut rng);
    let data = toy(1, 3, 7, 5).2;
    let f = reference_outputs(&a, &w, &data, 0.0);
    assert!(f.iter().all(|v| v.abs() < 1e-12), "{f:?}");
}

#[test]
fn init_shapes_hold() {
    let mut rng = crate::rng::stream(6, 0, "t");
    let m = 4000;
    for scheme in [InitScheme::Balanced, InitScheme::Dominated] {
        let init = WideInit {
            scheme,
            lambda: 1e-3,
            symmetric: false,
        };
        let (a, w) = init_params(m, 2, &init, &mut rng);
        for j in 0..m {
            let nw = (w[2 * j].powi(2) + w[2 * j + 1].powi(2)).sqrt();
            match scheme {
                InitScheme::Balanced => assert!((a[j].abs() - nw).abs() < 1e-18),
                _ => assert!(a[j].abs() >= nw),
            }
        }
    }
}
