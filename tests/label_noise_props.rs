//! Properties of the label-noise machinery: the SVM dual solvers satisfy the
//! KKT conditions, the min-norm interpolator fits its labels, the exact error
//! formulas agree with large Monte Carlo estimates, label flips have the right
//! counts, and the closed forms match simulation.

use ndarray::{Array1, Array2};
use proptest::prelude::*;
use rand_distr::{Distribution, StandardNormal};

use overfit::data::gaussian_mixture::{GaussianMixture, NoiseSpectrum, SignalNoiseModel};
use overfit::data::label_noise::{flip_binary, FlipRule};
use overfit::nets::activation::Activation;
use overfit::nets::init::gaussian_first_layer;
use overfit::nets::linear::{
    cosine, logistic_smoothness, min_norm_solution, min_norm_svd, signed_gram, svm_active_set,
    svm_coordinate_ascent, LogisticGd, MinNormKind, SvmDual, SvmOptions,
};
use overfit::nets::two_layer::reference_outputs;
use overfit::rng::{stream, Rng};
use overfit::studies::leaky_relu_benign::gaussian_test_error;
use overfit::theory::label_noise::{clean_error, noisy_label_error, MinNormTheory};

fn normal(rng: &mut Rng) -> f64 {
    <StandardNormal as Distribution<f64>>::sample(&StandardNormal, rng)
}

fn gaussian(rows: usize, cols: usize, rng: &mut Rng) -> Array2<f64> {
    Array2::from_shape_simple_fn((rows, cols), || normal(rng))
}

fn signs(n: usize, rng: &mut Rng) -> Array1<f64> {
    (0..n)
        .map(|_| if normal(rng) > 0.0 { 1.0 } else { -1.0 })
        .collect()
}

/// KKT of the hard-margin dual: a >= 0, margins >= 1, a_i (margin_i - 1) = 0.
fn assert_kkt(sol: &SvmDual, what: &str) -> Result<(), TestCaseError> {
    let top = sol.alpha.iter().cloned().fold(0.0f64, f64::max);
    for (i, (&a, &m)) in sol.alpha.iter().zip(sol.margins.iter()).enumerate() {
        prop_assert!(a >= 0.0, "{what}: a_{i} = {a} < 0");
        prop_assert!(m >= 1.0 - 1e-6, "{what}: margin_{i} = {m} < 1");
        prop_assert!(
            a * (m - 1.0) <= 1e-6 * top.max(1.0),
            "{what}: slackness a_{i} (m_{i} - 1) = {}",
            a * (m - 1.0)
        );
    }
    prop_assert!(sol.gap <= 1e-8, "{what}: gap {}", sol.gap);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Both dual solvers reach the KKT point, and agree on the primal weights.
    #[test]
    fn svm_solvers_satisfy_kkt_and_agree(n in 2usize..14, extra in 0usize..20, shift in 0.0f64..2.0, seed in 0u64..1000) {
        let mut rng = stream(seed, 0, "svm");
        let q_dim = n + extra;
        let y = signs(n, &mut rng);
        let mut x = gaussian(n, q_dim, &mut rng);
        // A mean along the first axis makes some points non-support vectors.
        for i in 0..n { x[[i, 0]] += shift * y[i]; }
        let q = signed_gram(x.dot(&x.t()).view(), y.view());
        let opts = SvmOptions { gap_tolerance: 1e-10, ..SvmOptions::default() };
        let fast = match svm_active_set(q.view(), &opts) {
            Ok(fast) => fast,
            Err(e) => {
                // A nearly singular square X separates with a margin below the
                // solvers' floor (1e-4 of the shortest |x_i|; once in 2e4 draws at
                // n <= 3, extra = 0): both solvers must then refuse it.
                prop_assert!(svm_coordinate_ascent(q.view(), None, &opts).is_err(), "the active set refused alone: {}", e);
                return Err(TestCaseError::reject("margin below the solvers' floor"));
            }
        };
        // Coordinate ascent's work grows like (R / gamma)^2 = max_i |x_i|^2 ||w||^2:
        // two nearly opposite signed points (cos ~ -1 + 1e-5, about once in a
        // thousand runs at extra = 0) make it zig-zag past max_sweeps with a gap
        // far above 1e-8 (review, 2026-12-07: 2.4e-5 per case by exact replay).
        // Such draws are outside its budget; the active set is judged on all.
        let r2_over_gamma2 = q.diag().fold(0.0f64, |m, &v| m.max(v)) * fast.weight_norm_sq();
        assert_kkt(&fast, "active set")?;
        prop_assume!(r2_over_gamma2 <= 1e4, "(R/gamma)^2 over 1e4");
        let slow = svm_coordinate_ascent(q.view(), None, &opts).unwrap();
        assert_kkt(&slow, "coordinate ascent")?;
        let (wf, ws) = (fast.weights(x.view(), y.view()), slow.weights(x.view(), y.view()));
        let diff = (&wf - &ws).mapv(|v| v * v).sum().sqrt();
        prop_assert!(diff <= 1e-4 * wf.dot(&wf).sqrt(), "||w_fast - w_slow|| = {diff}");
        // The geometric margin equals 1/||w||: min_i y_i <w, x_i> = 1.
        let min_margin = fast.margins.iter().cloned().fold(f64::INFINITY, f64::min);
        prop_assert!((min_margin - 1.0).abs() < 1e-6, "min margin {min_margin}");
    }

    /// The min-norm interpolator fits its labels and equals the SVD
    /// reference X^+ y; for q < n the least-squares solution equals it too.
    /// The fast path solves the normal equations (Cholesky of X X^T or
    /// X^T X), whose forward error grows like eps kappa(X)^2 ||w||, so the
    /// tolerance carries that term (with a factor 64 for the dimensions):
    /// a square Gaussian X is now and then nearly singular (n = q = 9 drew
    /// kappa^2 ~ 1e10 and a difference of 2e-3, which the old fixed 1e-7
    /// called a failure). The fit is held to the same scale.
    #[test]
    fn min_norm_solution_matches_reference(n in 2usize..20, q_dim in 1usize..30, seed in 0u64..1000) {
        use ndarray_linalg::SVD;
        let mut rng = stream(seed, 1, "mn");
        let x = gaussian(n, q_dim, &mut rng);
        let y = signs(n, &mut rng);
        let (w, kind) = min_norm_solution(x.view(), y.view()).unwrap();
        let reference = min_norm_svd(x.view(), y.view()).unwrap();
        let (_, sv, _) = x.svd(false, false).unwrap();
        let kappa = sv[0] / sv[sv.len() - 1];
        let norm = reference.dot(&reference).sqrt();
        let conditioning = 64.0 * f64::EPSILON * kappa * kappa;
        let diff = (&w - &reference).mapv(|v| v * v).sum().sqrt();
        prop_assert!(
            diff <= 1e-7 * (1.0 + norm) + conditioning * norm,
            "fast vs SVD: {diff} (kappa {kappa:.3e})"
        );
        if q_dim >= n {
            prop_assert_eq!(kind, MinNormKind::Interpolator);
            let fit = x.dot(&w);
            for i in 0..n {
                prop_assert!(
                    (fit[i] - y[i]).abs() < 1e-8 + conditioning * sv[0] * norm,
                    "<w, x_{}> = {} vs y = {}", i, fit[i], y[i]
                );
            }
        } else {
            prop_assert_eq!(kind, MinNormKind::LeastSquares);
        }
    }

    /// Exactly round(eta n) labels flip under the exact rule; clean labels are untouched.
    #[test]
    fn exact_flips_have_exact_counts(n in 1usize..400, eta in 0.0f64..0.5, seed in 0u64..1000) {
        let mut rng = stream(seed, 2, "flip");
        let clean: Vec<f64> = (0..n).map(|i| if i % 3 == 0 { 1.0 } else { -1.0 }).collect();
        let (noisy, flipped) = flip_binary(&clean, eta, FlipRule::Exact, &mut rng);
        let k = (eta * n as f64).round() as usize;
        prop_assert_eq!(flipped.iter().filter(|&&f| f).count(), k);
        prop_assert_eq!(noisy.iter().zip(&clean).filter(|(a, b)| a != b).count(), k);
    }
}

/// Bernoulli flips: the count is Binomial(n, eta): mean and variance over repetitions.
#[test]
fn bernoulli_flip_counts_are_binomial() {
    let (n, eta, reps) = (200usize, 0.1, 2000);
    let mut rng = stream(4, 0, "flip");
    let clean = vec![1.0; n];
    let counts: Vec<f64> = (0..reps)
        .map(|_| {
            flip_binary(&clean, eta, FlipRule::Bernoulli, &mut rng)
                .1
                .iter()
                .filter(|&&f| f)
                .count() as f64
        })
        .collect();
    let mean = counts.iter().sum::<f64>() / reps as f64;
    let var = counts.iter().map(|c| (c - mean) * (c - mean)).sum::<f64>() / (reps - 1) as f64;
    let (m0, v0) = (n as f64 * eta, n as f64 * eta * (1.0 - eta));
    assert!(
        (mean - m0).abs() < 4.0 * (v0 / reps as f64).sqrt(),
        "mean {mean} vs {m0}"
    );
    assert!((var / v0 - 1.0).abs() < 0.15, "variance {var} vs {v0}");
}

/// Clean and noisy error formulas against 400k explicit test points, isotropic
/// and power-law covariances.
#[test]
fn exact_error_formulas_match_monte_carlo() {
    for (spectrum, eta) in [
        (NoiseSpectrum::Isotropic, 0.1),
        (NoiseSpectrum::PowerLaw { exponent: 1.0 }, 0.2),
    ] {
        let p = 12;
        let mix = GaussianMixture {
            p,
            mu_norm: 1.3,
            spectrum: spectrum.clone(),
        };
        let mut rng = stream(7, 0, "mc");
        let w: Array1<f64> = (0..p)
            .map(|k| 0.6 / (1.0 + k as f64) + 0.2 * normal(&mut rng))
            .collect();
        let test = mix.sample(400_000, &mut rng);
        assert!(!mix.uses_span(400_000));
        let lambda = spectrum.eigenvalues(p);
        let sigma_norm = w
            .iter()
            .zip(lambda.iter())
            .map(|(a, l)| a * a * l)
            .sum::<f64>()
            .sqrt();
        let clean = clean_error(w.dot(&test.mu), sigma_norm);
        let f = test.x.dot(&w);
        let (noisy_y, _) = flip_binary(&test.y.to_vec(), eta, FlipRule::Bernoulli, &mut rng);
        let n = test.y.len() as f64;
        let mc_clean = f
            .iter()
            .zip(test.y.iter())
            .filter(|(a, b)| *a * *b <= 0.0)
            .count() as f64
            / n;
        let mc_noisy = f
            .iter()
            .zip(&noisy_y)
            .filter(|(a, b)| *a * *b <= 0.0)
            .count() as f64
            / n;
        let noisy = noisy_label_error(clean, eta);
        let se = |e: f64| (e * (1.0 - e) / n).sqrt();
        assert!(
            (mc_clean - clean).abs() < 4.0 * se(clean),
            "{spectrum:?}: clean MC {mc_clean} vs {clean}"
        );
        assert!(
            (mc_noisy - noisy).abs() < 4.0 * se(noisy),
            "{spectrum:?}: noisy MC {mc_noisy} vs {noisy}"
        );
    }
}

/// The closed-form SNR of the min-norm solution against simulation (medians
/// over 30 draws), interpolating and least-squares sides.
#[test]
fn closed_form_snr_matches_simulation() {
    // The library pins OpenBLAS to one thread at load time, in this test
    // binary as in every other process (`overfit::blas`).
    assert_eq!(overfit::blas::threads(), 1);
    let n = 160;
    for (ratio, eta) in [(3.0, 0.1), (10.0, 0.2), (0.4, 0.1)] {
        let p = (ratio * n as f64) as usize;
        let mu_norm_sq = (p as f64).sqrt();
        let mix = GaussianMixture {
            p,
            mu_norm: mu_norm_sq.sqrt(),
            spectrum: NoiseSpectrum::Isotropic,
        };
        let mut snrs: Vec<f64> = (0..30)
            .map(|s| {
                let mut rng = stream(11, s, "data");
                let sample = mix.sample(n, &mut rng);
                let (y, _) = flip_binary(&sample.y.to_vec(), eta, FlipRule::Exact, &mut rng);
                let (w, _) = min_norm_solution(sample.x.view(), Array1::from(y).view()).unwrap();
                w.dot(&sample.mu) / w.dot(&w).sqrt()
            })
            .collect();
        snrs.sort_by(f64::total_cmp);
        let th = MinNormTheory {
            n: n as f64,
            p: p as f64,
            mu_norm_sq,
            flip_fraction: (eta * n as f64).round() / n as f64,
        };
        let (sim, pred) = (snrs[15], th.snr().unwrap());
        assert!(
            (sim / pred - 1.0).abs() < 0.07,
            "p/n {ratio}, eta {eta}: simulated {sim} vs closed form {pred}"
        );
    }
}

/// Logistic GD's direction approaches the SVM's on separable data.
#[test]
fn logistic_gd_direction_approaches_svm() {
    let mut rng = stream(5, 0, "gd");
    let (n, q_dim) = (12, 40);
    let x = gaussian(n, q_dim, &mut rng);
    let y = signs(n, &mut rng);
    let q = signed_gram(x.dot(&x.t()).view(), y.view());
    let w_svm = svm_active_set(q.view(), &SvmOptions::default())
        .unwrap()
        .weights(x.view(), y.view());
    let lr = 1.0 / logistic_smoothness(x.view()).unwrap();
    let mut gd = LogisticGd::new(x.view(), y.view(), lr);
    let mut gaps = Vec::new();
    for t in 1..=20_000 {
        gd.step();
        if [100, 1000, 20_000].contains(&t) {
            gaps.push(1.0 - cosine(gd.weights(), w_svm.view()));
        }
    }
    assert!(gaps[0] > gaps[1] && gaps[1] > gaps[2], "1 - cos: {gaps:?}");
    assert!(gaps[2] < 0.02, "1 - cos at t = 20000: {}", gaps[2]);
}

/// The reduced m-dimensional Monte Carlo test error of a two-layer net equals
/// the error on explicit test points of Karhadkar et al.'s model.
#[test]
fn reduced_test_error_matches_explicit_points() {
    let (d, m, gamma) = (40, 6, 0.05);
    let model = SignalNoiseModel { d, gamma };
    let mut rng = stream(9, 0, "net");
    let mut w = gaussian_first_layer(d, m, 1.0 / (d as f64).sqrt(), &mut rng);
    // Give the neurons some signal so the error is neither 0 nor 1/2.
    for j in 0..m {
        w[[0, j]] += if j % 2 == 0 { 0.4 } else { -0.4 };
    }
    let a: Array1<f64> = (0..m)
        .map(|j| if j % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    let act = Activation::LeakyRelu { slope: 0.1 };
    let draws = 200_000;
    let (errors, total) = gaussian_test_error(
        w.view(),
        a.view(),
        act,
        model.signal().view(),
        gamma,
        draws,
        &mut stream(9, 1, "mc"),
    )
    .unwrap();
    let reduced = errors as f64 / total as f64;
    let (x, y) = model.sample(draws, &mut stream(9, 2, "explicit"));
    let f = reference_outputs(x.view(), w.view(), a.view(), act);
    let explicit = f
        .iter()
        .zip(y.iter())
        .filter(|(a, b)| *a * *b <= 0.0)
        .count() as f64
        / draws as f64;
    let se = (2.0 * reduced * (1.0 - reduced) / draws as f64).sqrt();
    assert!(
        reduced > 0.01 && reduced < 0.45,
        "degenerate test case: {reduced}"
    );
    assert!(
        (reduced - explicit).abs() < 4.0 * se,
        "reduced {reduced} vs explicit {explicit}"
    );
}
