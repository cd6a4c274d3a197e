//! Property tests of the wide path (`nets::wide`) and the early-alignment
//! formulas: gradients against finite differences and against the general
//! two-layer engine, balancedness preservation, D(w, 0) as minus the loss
//! gradient's direction at theta -> 0, and the OLS helper against the normal
//! equations.

use ndarray::{Array1, Array2};
use ndarray_linalg::Solve;
use overfit::nets::activation::Activation;
use overfit::nets::loss::Loss;
use overfit::nets::two_layer::{EngineKind, GdConfig, TrainedLayers, TwoLayerGd};
use overfit::nets::wide::{
    init_params, reference_gradients, reference_outputs, InitScheme, Points, SquareLoss,
    WideConfig, WideGd, WideInit, WideNet,
};
use overfit::theory::early_alignment::{cosine, d_vector, dot, g_value, norm, ols};
use proptest::prelude::*;

/// Deterministic values in [-scale, scale] (keeps shrinking meaningful).
fn values(len: usize, seed: u64, scale: f64) -> Vec<f64> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            scale * (((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0)
        })
        .collect()
}

fn points(n: usize, d: usize, seed: u64) -> Points {
    Points::new(d, values(n * d, seed, 1.0), values(n, seed ^ 7, 1.0)).unwrap()
}

fn conventions() -> impl Strategy<Value = SquareLoss> {
    prop_oneof![Just(SquareLoss::HalfSquare), Just(SquareLoss::MeanMse)]
}

fn loss_of(a: &[f64], w: &[f64], data: &Points, gamma: f64, conv: SquareLoss) -> f64 {
    conv.mean(&reference_outputs(a, w, data, gamma), &data.y)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The reference gradients equal central finite differences of the loss,
    /// and one fast GD step moves every parameter by exactly -lr times them.
    #[test]
    fn gradients_match_finite_differences_and_the_fast_step(
        n in 1usize..6, d in 1usize..5, m in 1usize..20, seed in any::<u64>(),
        gamma in prop_oneof![Just(0.0), 0.05f64..0.9], conv in conventions(),
    ) {
        let data = points(n, d, seed);
        let a = values(m, seed ^ 1, 0.9);
        let w = values(m * d, seed ^ 2, 0.9);
        let (_, ga, gw) = reference_gradients(&a, &w, &data, gamma, conv);
        let h = 1e-6;
        for j in 0..m {
            // Skip coordinates next to a kink, where only a subgradient exists.
            let near_kink = (0..n).any(|k| {
                let z: f64 = (0..d).map(|c| w[j * d + c] * data.row(k)[c]).sum();
                z.abs() < 1e-4
            });
            if near_kink { continue; }
            let mut ap = a.clone(); ap[j] += h;
            let mut am = a.clone(); am[j] -= h;
            let fd = (loss_of(&ap, &w, &data, gamma, conv) - loss_of(&am, &w, &data, gamma, conv)) / (2.0 * h);
            prop_assert!((fd - ga[j]).abs() <= 1e-6 * (1.0 + ga[j].abs()), "da_{j}: fd {fd} vs {}", ga[j]);
            for c in 0..d {
                let mut wp = w.clone(); wp[j * d + c] += h;
                let mut wm = w.clone(); wm[j * d + c] -= h;
                let fd = (loss_of(&a, &wp, &data, gamma, conv) - loss_of(&a, &wm, &data, gamma, conv)) / (2.0 * h);
                let g = gw[j * d + c];
                prop_assert!((fd - g).abs() <= 1e-6 * (1.0 + g.abs()), "dw_{j},{c}: fd {fd} vs {g}");
            }
        }
        let lr = 0.01;
        let cfg = WideConfig { gamma, lr, loss: conv };
        let mut gd = WideGd::new(cfg, WideNet::from_arrays(&a, &w, d).unwrap(), data.clone()).unwrap();
        gd.step().unwrap();
        let (a1, w1) = gd.net().to_arrays();
        for j in 0..m {
            prop_assert!((a1[j] - (a[j] - lr * ga[j])).abs() <= 1e-14 * (1.0 + a[j].abs()));
        }
        for i in 0..m * d {
            prop_assert!((w1[i] - (w[i] - lr * gw[i])).abs() <= 1e-14 * (1.0 + w[i].abs()));
        }
    }

    /// The wide path follows the general two-layer engine (both layers
    /// trained, square loss, leaky ReLU) step for step on small m, both
    /// given the same `Loss::Square(conv)` and the same lr.
    #[test]
    fn wide_path_follows_the_two_layer_engine(
        n in 1usize..7, d in 1usize..5, m in 1usize..40, seed in any::<u64>(),
        gamma in prop_oneof![Just(0.0), 0.05f64..0.9], conv in conventions(),
    ) {
        let data = points(n, d, seed);
        let a = values(m, seed ^ 3, 0.7);
        let w = values(m * d, seed ^ 4, 0.7);
        let lr = 0.05;
        let mut wide = WideGd::new(WideConfig { gamma, lr, loss: conv }, WideNet::from_arrays(&a, &w, d).unwrap(), data.clone()).unwrap();
        let x = Array2::from_shape_vec((n, d), data.x.clone()).unwrap();
        let w_cols = Array2::from_shape_fn((d, m), |(c, j)| w[j * d + c]);
        let act = if gamma == 0.0 { Activation::Relu } else { Activation::LeakyRelu { slope: gamma } };
        let cfg = GdConfig { activation: act, loss: Loss::Square(conv), lr, weight_decay: 0.0, trained: TrainedLayers::Both };
        let mut general = TwoLayerGd::new(cfg, EngineKind::Primal, x, Array1::from(data.y.clone()), w_cols, Array1::from(a.clone())).unwrap();
        for t in 0..10 {
            let f_wide = wide.outputs().to_vec();
            let f_gen = general.train_outputs().to_vec();
            for (u, v) in f_wide.iter().zip(&f_gen) {
                prop_assert!((u - v).abs() <= 1e-10 * (1.0 + v.abs()), "step {t}: {u} vs {v}");
            }
            wide.step().unwrap();
            general.step().unwrap();
        }
        let (a_w, _) = wide.net().to_arrays();
        for (u, v) in a_w.iter().zip(general.second_layer().iter()) {
            prop_assert!((u - v).abs() <= 1e-10 * (1.0 + v.abs()));
        }
    }

    /// Balancedness a_j^2 - ||w_j||^2: since dL/da_j = <w_j, g_j> and dL/dw_j =
    /// a_j g_j, one GD step changes it by exactly lr^2 q_j, q_j = (dL/da_j)^2 -
    /// ||dL/dw_j||^2 (the first-order terms cancel: gradient flow preserves
    /// it). Over a fixed flow time T = steps lr the drift is then the sum of
    /// those changes along the path, at most lr^2 sum_t |q_j(t)| = lr (lr
    /// sum_t |q_j(t)|) ~ lr int |q_j|: O(lr), so halving lr (and doubling
    /// the steps) halves the bound. The bound, not the drift itself, is
    /// compared across the two step sizes: the signed sum can cancel to
    /// near zero, and with ReLU kinks the two paths cancel differently.
    #[test]
    fn balancedness_is_preserved_to_second_order(seed in any::<u64>(), gamma in prop_oneof![Just(0.0), 0.05f64..0.9]) {
        let (n, d, m) = (4, 3, 64);
        let data = points(n, d, seed);
        let mut rng = overfit::rng::stream(seed, 0, "balanced");
        let (a, w) = init_params(m, d, &WideInit { scheme: InitScheme::Balanced, lambda: 3.0, symmetric: false }, &mut rng);
        let bal = |a: &[f64], w: &[f64], j: usize| a[j] * a[j] - w[j * d..(j + 1) * d].iter().map(|v| v * v).sum::<f64>();
        // One step: the exact second-order identity.
        let lr = 0.05;
        let (_, ga, gw) = reference_gradients(&a, &w, &data, gamma, SquareLoss::HalfSquare);
        let mut gd = WideGd::new(WideConfig { gamma, lr, loss: SquareLoss::HalfSquare }, WideNet::from_arrays(&a, &w, d).unwrap(), data.clone()).unwrap();
        gd.step().unwrap();
        let (a1, w1) = gd.net().to_arrays();
        for j in 0..m {
            // q_j = (dL/da_j)^2 - ||dL/dw_j||^2 is `bal` of the gradients.
            let predicted = lr * lr * bal(&ga, &gw, j);
            let change = bal(&a1, &w1, j) - bal(&a, &w, j);
            prop_assert!((change - predicted).abs() <= 1e-12 * (1.0 + a[j] * a[j]), "neuron {j}: {change} vs {predicted}");
        }
        // A fixed flow time: the drift is the sum of the per-step changes, and
        // its bound lr^2 sum_t |q_j(t)| is proportional to lr.
        // Each path also returns its final ReLU pattern: sign <w_j, x_k> per (j, k).
        let drift_bound = |lr: f64, steps: usize| -> Result<(f64, Vec<bool>), TestCaseError> {
            let mut gd = WideGd::new(WideConfig { gamma, lr, loss: SquareLoss::HalfSquare }, WideNet::from_arrays(&a, &w, d).unwrap(), data.clone()).unwrap();
            let (mut summed, mut bound) = (vec![0.0; m], vec![0.0; m]);
            for _ in 0..steps {
                let (a_t, w_t) = gd.net().to_arrays();
                let (_, ga, gw) = reference_gradients(&a_t, &w_t, &data, gamma, SquareLoss::HalfSquare);
                for j in 0..m {
                    let q = bal(&ga, &gw, j);
                    summed[j] += lr * lr * q;
                    bound[j] += lr * lr * q.abs();
                }
                gd.step().unwrap();
            }
            let (a1, w1) = gd.net().to_arrays();
            for j in 0..m {
                let drift = bal(&a1, &w1, j) - bal(&a, &w, j);
                prop_assert!((drift - summed[j]).abs() <= 1e-10 * (1.0 + a[j] * a[j]), "lr {lr}, neuron {j}: drift {drift} vs summed {}", summed[j]);
            }
            let pattern = (0..m).flat_map(|j| (0..n).map(move |k| (j, k)))
                .map(|(j, k)| dot(&w1[j * d..(j + 1) * d], data.row(k)) > 0.0)
                .collect();
            Ok((bound.iter().fold(0.0f64, |x, &y| x.max(y)), pattern))
        };
        // Step sizes small enough for the O(lr) regime: at lr = 0.01 and
        // 0.005 (T = 0.5) lr sum_t |q| still differed by 25% between the two
        // paths for one seed (fast dynamics at lambda = 3), a ratio of 2.51.
        let ((big, big_pattern), (small, small_pattern)) = (drift_bound(0.002, 250)?, drift_bound(0.001, 500)?);
        prop_assume!(big > 1e-12);
        // A preactivation that ends next to its kink can cross it on one path
        // only, and the two integrals of |q_j| then differ by O(1) (review,
        // 2026-12-07: a ratio of 2.245 from a 12% jump); the O(lr) law is about
        // paths through the same activation pattern.
        prop_assume!(big_pattern == small_pattern, "a preactivation crossed its kink on one path only");
        let ratio = big / small;
        prop_assert!((1.6..=2.4).contains(&ratio), "bound ratio {ratio} (expected ~2): {big} vs {small}");
    }

    /// At theta -> 0 (h = 0) the loss gradient in w_j is -a_j D(w_j, 0) for the
    /// 1/2 convention: D(w, 0) is minus the gradient's direction (times sign a_j).
    #[test]
    fn d_vector_is_minus_the_gradient_direction_near_zero(
        n in 1usize..7, d in 1usize..5, seed in any::<u64>(), gamma in prop_oneof![Just(0.0), 0.05f64..0.9],
    ) {
        let data = points(n, d, seed);
        let m = 8;
        let scale = 1e-9;
        let a: Vec<f64> = values(m, seed ^ 5, 1.0).iter().map(|v| scale * v).collect();
        let w: Vec<f64> = values(m * d, seed ^ 6, 1.0).iter().map(|v| scale * v).collect();
        let (_, _, gw) = reference_gradients(&a, &w, &data, gamma, SquareLoss::HalfSquare);
        for j in 0..m {
            let wj = &w[j * d..(j + 1) * d];
            let dv = d_vector(wj, &data, gamma);
            let dn = norm(&dv);
            if dn < 1e-6 || a[j].abs() < 1e-3 * scale { continue; }
            let minus_grad: Vec<f64> = gw[j * d..(j + 1) * d].iter().map(|g| -g / a[j]).collect();
            for (u, v) in minus_grad.iter().zip(&dv) {
                prop_assert!((u - v).abs() <= 1e-6 * dn, "{minus_grad:?} vs {dv:?}");
            }
            prop_assert!(cosine(&minus_grad, &dv) > 1.0 - 1e-9);
            // G(w) = <w, D(w, 0)> (positive homogeneity). Rounding is relative to
            // the terms |w| sum_k |y_k| |x_k| / n, not to |D|, which can nearly
            // cancel in d = 1 (review, 2026-12-07: about 1e-5 of cases failed a
            // tolerance of 1e-12 scale |D|).
            let g_dot = dot(wj, &dv);
            let terms = (0..n).map(|k| data.y[k].abs() * norm(data.row(k))).sum::<f64>() / n as f64;
            prop_assert!((g_value(wj, &data, gamma) - g_dot).abs() <= 1e-12 * norm(wj) * (dn + terms) + 1e-30);
        }
    }

    /// The OLS helper (SVD least squares) solves the normal equations
    /// X^T X beta = X^T y when X has full column rank.
    #[test]
    fn ols_solves_the_normal_equations(n in 3usize..40, d in 1usize..4, seed in any::<u64>()) {
        prop_assume!(n >= d + 2);
        let data = points(n, d, seed);
        let x = Array2::from_shape_vec((n, d), data.x.clone()).unwrap();
        let y = Array1::from(data.y.clone());
        let xtx = x.t().dot(&x);
        let xty = x.t().dot(&y);
        let solved = xtx.solve(&xty);
        prop_assume!(solved.is_ok(), "X^T X is singular: no normal equations to compare");
        let beta = solved.unwrap();
        let fit = ols(&data).unwrap();
        let scale = beta.iter().fold(1.0f64, |acc, v| acc.max(v.abs()));
        for (u, v) in fit.beta.iter().zip(beta.iter()) {
            prop_assert!((u - v).abs() <= 1e-8 * scale, "{:?} vs {beta}", fit.beta);
        }
        let pred = x.dot(&beta);
        let mse = pred.iter().zip(&data.y).map(|(p, y)| (p - y) * (p - y)).sum::<f64>() / n as f64;
        prop_assert!((fit.mse - mse).abs() <= 1e-10 * (1.0 + mse));
    }
}

/// The 3-point setting of JMLR App. B.1 at lr 1e-3: over 2000 steps the
/// balancedness of a balanced init moves by far less than its a_j^2 scale.
#[test]
fn balanced_init_stays_balanced_under_small_steps() {
    let data = points(3, 2, 9);
    let mut rng = overfit::rng::stream(9, 0, "t");
    let init = WideInit {
        scheme: InitScheme::Balanced,
        lambda: 1.0,
        symmetric: false,
    };
    let (a, w) = init_params(500, 2, &init, &mut rng);
    let mut gd = WideGd::new(
        WideConfig {
            gamma: 0.0,
            lr: 1e-3,
            loss: SquareLoss::MeanMse,
        },
        WideNet::from_arrays(&a, &w, 2).unwrap(),
        data,
    )
    .unwrap();
    gd.run(2000).unwrap();
    let (a1, w1) = gd.net().to_arrays();
    let scale = a1.iter().map(|v| v * v).fold(0.0f64, f64::max);
    let worst = (0..500)
        .map(|j| (a1[j] * a1[j] - w1[2 * j].powi(2) - w1[2 * j + 1].powi(2)).abs())
        .fold(0.0f64, f64::max);
    assert!(
        worst < 1e-3 * scale,
        "balancedness drifted by {worst} (a_j^2 up to {scale})"
    );
}
