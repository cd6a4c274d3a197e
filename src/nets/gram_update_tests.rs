//! Tests of `gram_update` (a file of their own for the 800-line limit):
//! every product by table lookup against a loop-by-loop reference and the
//! gemm it replaces, and the same bits on every instruction set and thread
//! count.

use super::*;
use ndarray::Array2;
use rand::RngExt as _;

/// Loop-by-loop reference of both products:
/// W_rj <- beta W_rj + alpha sum_i L_ri d_i a_j sigma'(Z_ij), with L r x n,
/// Z n x m (the signs) and W r x m (`apply_to`: L = X^T, W the weights).
#[allow(clippy::too_many_arguments)]
pub fn reference_apply_to(
    alpha: f64,
    l: ArrayView2<f64>,
    d: &[f64],
    a: &[f64],
    gamma: f64,
    beta: f64,
    z: ArrayView2<f64>,
    mut w: ArrayViewMut2<f64>,
) {
    let (n, m) = z.dim();
    let g = stored_g(z, d, a, gamma);
    for r in 0..l.nrows() {
        for j in 0..m {
            let lg: f64 = (0..n).map(|i| l[[r, i]] * g[[i, j]]).sum();
            w[[r, j]] = beta * w[[r, j]] + alpha * lg;
        }
    }
}

/// G_ij = d_i a_j sigma'(Z_ij), sigma' = 1 above 0 and gamma otherwise: the
/// matrix the gemm steps store.
pub fn stored_g(z: ArrayView2<f64>, d: &[f64], a: &[f64], gamma: f64) -> Array2<f64> {
    let slope = |v: f64| if v > 0.0 { 1.0 } else { gamma };
    Array2::from_shape_fn(z.dim(), |(i, j)| d[i] * a[j] * slope(z[[i, j]]))
}

/// `apply`'s form, Z_rj <- beta Z_rj + alpha sum_i K_ri d_i a_j sigma'(Z_ij),
/// the signs read before the update.
pub fn reference_apply(
    alpha: f64,
    k: ArrayView2<f64>,
    d: &[f64],
    a: &[f64],
    gamma: f64,
    beta: f64,
    z: ArrayViewMut2<f64>,
) {
    let signs = z.to_owned();
    reference_apply_to(alpha, k, d, a, gamma, beta, signs.view(), z);
}

fn problem(n: usize, m: usize, seed: u64) -> (Array2<f64>, Vec<f64>, Vec<f64>, Array2<f64>) {
    let mut rng = crate::rng::stream(seed, 0, "gram_update");
    let x = Array2::from_shape_simple_fn((n, 7), || rng.random_range(-1.0..1.0));
    let k = x.dot(&x.t());
    let d = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
    let a = (0..m).map(|_| rng.random_range(-1.0..1.0)).collect();
    let mut z = Array2::from_shape_simple_fn((n, m), || rng.random_range(-1.0..1.0));
    z[[0, 0]] = 0.0; // sigma'(0) = gamma
    (k, d, a, z)
}

/// |fast - reference| <= 1e-13 (|beta Z| + |alpha| sum_i |K_ri d_i a_j|): the rounding
/// of two sums of n terms in other orders.
fn assert_close(fast: &Array2<f64>, reference: &Array2<f64>, bound: &Array2<f64>) {
    for ((&f, &r), &s) in fast.iter().zip(reference).zip(bound) {
        assert!((f - r).abs() <= 1e-13 * s, "{f} vs {r} (scale {s})");
    }
}

fn scale(
    k: ArrayView2<f64>,
    d: &[f64],
    a: &[f64],
    alpha: f64,
    beta: f64,
    z: &Array2<f64>,
) -> Array2<f64> {
    let n = k.ncols();
    Array2::from_shape_fn(z.dim(), |(r, j)| {
        let s: f64 = (0..n).map(|i| (k[[r, i]] * d[i] * a[j]).abs()).sum();
        (beta * z[[r, j]]).abs() + alpha.abs() * s + f64::MIN_POSITIVE
    })
}

/// `fast` = W moved by `alpha L G + beta W` (W = `before`, G from the signs
/// of `z`) against `reference_apply_to` and the gemm the steps ran before
/// (G stored, then `par_gemm`), to `scale`; returns G.
#[allow(clippy::too_many_arguments)]
fn assert_matches_the_reference_and_the_gemm(
    fast: &Array2<f64>,
    l: ArrayView2<f64>,
    d: &[f64],
    a: &[f64],
    gamma: f64,
    (alpha, beta): (f64, f64),
    z: ArrayView2<f64>,
    before: &Array2<f64>,
) -> Array2<f64> {
    let mut reference = before.clone();
    reference_apply_to(alpha, l, d, a, gamma, beta, z, reference.view_mut());
    let bound = scale(l, d, a, alpha, beta, before);
    assert_close(fast, &reference, &bound);
    let g = stored_g(z, d, a, gamma);
    let mut gemm = before.clone();
    crate::blas::par_gemm(alpha, &l, &g.view(), beta, &mut gemm.view_mut());
    assert_close(fast, &gemm, &bound);
    g
}

/// The primal form (`apply_to`): W (r x m) moves by X^T G with X^T a
/// transposed view of X (n x r), as the primal step passes it; against the
/// loop reference and the gemm it replaces, on shapes that are and are not
/// multiples of the blocks (6), tiles (8) and column groups (8); the last
/// two shapes' X^T (1.08 MB) is read with prefetches, the others' without,
/// the last with W's rows fetched ahead (m > 64) and a partial tile.
#[test]
fn the_primal_form_matches_the_reference_and_the_gemm() {
    let shapes = [
        (1, 1, 1),
        (5, 3, 2),
        (13, 40, 21),
        (40, 9, 17),
        (67, 130, 70),
        (45, 3000, 19),
        (45, 3001, 130),
    ];
    for (n, r, m) in shapes {
        let layout = Array2::<f64>::zeros((n, r));
        assert_eq!(prefetches(layout.t()), r >= 3000, "n {n} r {r}");
        assert!(!prefetches(layout.view()), "a row-major left factor");
        for act in [Activation::Relu, Activation::LeakyRelu { slope: 0.1 }] {
            let gamma = act.slope();
            let mut rng = crate::rng::stream((n * 10000 + r * 100 + m) as u64, 0, "apply_to");
            let mut uniform = |rows, cols| {
                Array2::from_shape_simple_fn((rows, cols), || rng.random_range(-1.0..1.0))
            };
            let (x, mut z, w0) = (uniform(n, r), uniform(n, m), uniform(r, m));
            z[[0, 0]] = 0.0; // sigma'(0) = gamma
            let (d, a) = (uniform(1, n).row(0).to_vec(), uniform(1, m).row(0).to_vec());
            let (alpha, beta) = (-0.3, 0.99);
            let mut fast = w0.clone();
            GramUpdate::new().apply_to(alpha, x.t(), &d, &a, act, beta, z.view(), fast.view_mut());
            assert_matches_the_reference_and_the_gemm(
                &fast,
                x.t(),
                &d,
                &a,
                gamma,
                (alpha, beta),
                z.view(),
                &w0,
            );
        }
    }
}

#[test]
fn matches_the_reference_and_the_gemm() {
    for (n, m) in [(1, 1), (5, 3), (8, 8), (13, 21), (40, 17), (67, 130)] {
        for act in [Activation::Relu, Activation::LeakyRelu { slope: 0.1 }] {
            let gamma = act.slope();
            let (k, d, a, z0) = problem(n, m, (n * 1000 + m) as u64);
            let (alpha, beta) = (-0.3, 0.99);
            let mut fast = z0.clone();
            let mut c = Array2::from_shape_fn((n, m), |(i, j)| i as f64 - 0.5 * j as f64);
            let c0 = c.clone();
            GramUpdate::new().apply(
                alpha,
                k.view(),
                &d,
                &a,
                act,
                beta,
                fast.view_mut(),
                Some(c.view_mut()),
            );
            let signs = z0.view();
            let ab = (alpha, beta);
            let g = assert_matches_the_reference_and_the_gemm(
                &fast,
                k.view(),
                &d,
                &a,
                gamma,
                ab,
                signs,
                &z0,
            );
            // The coefficients' move, bit for bit as the gemm step makes it
            // from the stored G (`two_layer`: C <- shrink C - lr G).
            let lr = -alpha;
            for ((&moved, &before), &gij) in c.iter().zip(&c0).zip(&g) {
                assert_eq!(moved.to_bits(), (beta * before - lr * gij).to_bits());
            }
        }
    }
}

#[test]
fn every_isa_and_thread_count_gives_the_same_bits() {
    // n m past `PARALLEL_FROM`, so that the mask codes are cut too.
    let (n, m) = (45, 803);
    const { assert!(45 * 803 >= PARALLEL_FROM) };
    let (k, d, a, z0) = problem(n, m, 7);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let (mut z, mut c) = (z0.clone(), z0.mapv(|v| 0.5 - v));
        pool.install(|| {
            let (zv, cv) = (z.view_mut(), Some(c.view_mut()));
            let leaky = Activation::LeakyRelu { slope: 0.1 };
            GramUpdate::new().apply(-0.5, k.view(), &d, &a, leaky, 0.9, zv, cv)
        });
        (z, c)
    };
    let bits = |x: &Array2<f64>| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    let (one, c_one) = run(1);
    for threads in 2..=4 {
        let (z, c) = run(threads);
        assert_eq!(bits(&z), bits(&one), "Z on {threads} threads");
        assert_eq!(bits(&c), bits(&c_one), "C on {threads} threads");
    }
    let one = {
        const RELU: Activation = Activation::Relu;
        let mut z = z0.clone();
        GramUpdate::new().apply(-0.5, k.view(), &d, &a, RELU, 1.0, z.view_mut(), None);
        z
    };
    let blocks = n.div_ceil(BITS);
    let starts_len = m.div_ceil(COLUMNS_AT_ONCE) * blocks * COLUMNS_AT_ONCE;
    let mut starts = vec![0u16; starts_len];
    mask_codes_on(Isa::Plain, z0.view(), &mut starts, None);
    let mut tables = vec![Table([[0.0; TILE]; ENTRIES]); blocks];
    for isa in Isa::available() {
        let mut other = vec![0u16; starts_len];
        mask_codes_on(isa, z0.view(), &mut other, None);
        assert_eq!(other, starts, "{isa:?} starts");
        let mut z = z0.clone();
        let (k, zv) = (k.view(), z.view_mut());
        let bounds = [0, blocks];
        let codes = Codes::new(&starts, &bounds, m);
        update_rows(isa, k, &d, codes, &a, None, -0.5, 1.0, 0, zv, &mut tables);
        assert!(
            z.iter().zip(&one).all(|(x, y)| x.to_bits() == y.to_bits()),
            "{isa:?}"
        );
    }
}

/// The primal form's tiles give `apply_to`'s bits on every instruction set
/// this CPU runs, with X^T a transposed view read with prefetches (r =
/// 3001, 1.08 MB) and without (r = 203), partial tiles and column groups.
#[test]
fn the_primal_form_has_the_same_bits_on_every_set() {
    let (n, m) = (45, 130);
    for r in [203, 3001] {
        let mut rng = crate::rng::stream(r as u64, 0, "apply_to sets");
        let mut uniform =
            |rows, cols| Array2::from_shape_simple_fn((rows, cols), || rng.random_range(-1.0..1.0));
        let (x, z, w0) = (uniform(n, r), uniform(n, m), uniform(r, m));
        let (d, a) = (uniform(1, n).row(0).to_vec(), uniform(1, m).row(0).to_vec());
        assert_eq!(prefetches(x.t()), r == 3001);
        let (alpha, beta) = (-0.5, 0.9);
        let mut one = w0.clone();
        let relu = Activation::Relu;
        GramUpdate::new().apply_to(alpha, x.t(), &d, &a, relu, beta, z.view(), one.view_mut());
        let blocks = n.div_ceil(BITS);
        let mut starts = vec![0u16; m.div_ceil(COLUMNS_AT_ONCE) * blocks * COLUMNS_AT_ONCE];
        let mut tables = vec![Table([[0.0; TILE]; ENTRIES]); blocks];
        for isa in Isa::available() {
            mask_codes_on(isa, z.view(), &mut starts, None);
            let mut w = w0.clone();
            let (x_t, wv) = (x.t(), w.view_mut());
            update_rows(
                isa,
                x_t,
                &d,
                Codes::new(&starts, &[0, blocks], m),
                &a,
                None,
                alpha,
                beta,
                0,
                wv,
                &mut tables,
            );
            let same = w.iter().zip(&one).all(|(p, q)| p.to_bits() == q.to_bits());
            assert!(same, "r {r} {isa:?}");
        }
    }
}

/// The primal form keeps its one-thread bits on 2 to 4 threads: W's tiles
/// are cut across the workers (r = 203 rows, a partial tile), X^T is a
/// transposed view, leaky ReLU (the offset X^T d).
#[test]
fn the_primal_form_has_the_same_bits_on_any_thread_count() {
    let (n, r, m) = (45, 203, 803);
    let mut rng = crate::rng::stream(11, 0, "apply_to threads");
    let mut uniform =
        |rows, cols| Array2::from_shape_simple_fn((rows, cols), || rng.random_range(-1.0..1.0));
    let (x, z, w0) = (uniform(n, r), uniform(n, m), uniform(r, m));
    let (d, a) = (uniform(1, n).row(0).to_vec(), uniform(1, m).row(0).to_vec());
    let leaky = Activation::LeakyRelu { slope: 0.1 };
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut w = w0.clone();
        pool.install(|| {
            GramUpdate::new().apply_to(-0.5, x.t(), &d, &a, leaky, 0.9, z.view(), w.view_mut())
        });
        w.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    };
    let one = run(1);
    for threads in 2..=4 {
        assert_eq!(run(threads), one, "W on {threads} threads");
    }
}

/// The two per-ISA passes on the paths the test above leaves to the
/// chosen set: the leaky-ReLU offset (`update_tile_on` with Some((K d,
/// gamma)), Z_rj <- beta Z_rj + alpha a_j (gamma (K d)_r + (1 - gamma)
/// Y_rj)) and the coefficients' move inside the mask codes
/// (`mask_codes_on` with a `CoefficientMove`, C <- beta C + alpha G).
/// Every instruction set this CPU runs gives the portable compilation's
/// bits for Z, the starts and C (Rust neither contracts nor reorders
/// float operations, so only the vector width may change, never a
/// result). Shapes with a partial tile, a partial block and a partial
/// column group (n = 45, m = 83), Z with exact zeros (sigma'(0) =
/// gamma). The portable result is then checked against independent
/// formulas, so the bits compared are right ones: C bit for bit against
/// beta C + alpha d_i a_j sigma'(Z_ij) (the gemm step's formula), Z
/// against `reference_apply` to 1e-13 scale (`assert_close`: two sums
/// of n terms in other orders).
#[test]
fn leaky_offset_and_coefficient_move_give_the_same_bits_on_every_set() {
    let (n, m) = (45, 83);
    let (k, d, a, mut z0) = problem(n, m, 11);
    for i in (0..n).step_by(7) {
        z0[[i, (3 * i) % m]] = 0.0;
    }
    let (alpha, beta) = (-0.5, 0.9);
    let act = Activation::LeakyRelu { slope: 0.1 };
    let gamma = act.slope();
    let mut kd = Vec::new();
    gram_times(k.view(), &d, &mut kd);
    let c0 = Array2::from_shape_fn((n, m), |(i, j)| 0.25 * i as f64 - 0.125 * j as f64);
    let blocks = n.div_ceil(BITS);
    let starts_len = m.div_ceil(COLUMNS_AT_ONCE) * blocks * COLUMNS_AT_ONCE;
    let run = |isa: Isa| {
        let mut starts = vec![0u16; starts_len];
        let mut c = c0.clone();
        let coefficients = CoefficientMove {
            c: c.view_mut(),
            d: &d,
            a: &a,
            act,
            alpha,
            beta,
        };
        mask_codes_on(isa, z0.view(), &mut starts, Some(coefficients));
        let mut tables = vec![Table([[0.0; TILE]; ENTRIES]); blocks];
        let mut z = z0.clone();
        let offset = Some((kd.as_slice(), gamma));
        let (kv, zv) = (k.view(), z.view_mut());
        update_rows(
            isa,
            kv,
            &d,
            Codes::new(&starts, &[0, blocks], m),
            &a,
            offset,
            alpha,
            beta,
            0,
            zv,
            &mut tables,
        );
        (starts, z, c)
    };
    let bits = |x: &Array2<f64>| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    let (starts, z, c) = run(Isa::Plain);
    for isa in Isa::available() {
        let (other_starts, other_z, other_c) = run(isa);
        assert_eq!(other_starts, starts, "{isa:?} starts");
        assert_eq!(bits(&other_z), bits(&z), "{isa:?} Z with the leaky offset");
        assert_eq!(bits(&other_c), bits(&c), "{isa:?} C moved in the mask pass");
    }
    for (((&moved, &before), &zij), (i, j)) in c
        .iter()
        .zip(&c0)
        .zip(&z0)
        .zip((0..n).flat_map(|i| (0..m).map(move |j| (i, j))))
    {
        let gij = d[i] * a[j] * if zij > 0.0 { 1.0 } else { gamma };
        let want = beta * before + alpha * gij;
        assert_eq!(moved.to_bits(), want.to_bits(), "C[{i},{j}]");
    }
    let mut reference = z0.clone();
    reference_apply(alpha, k.view(), &d, &a, gamma, beta, reference.view_mut());
    assert_close(&z, &reference, &scale(k.view(), &d, &a, alpha, beta, &z0));
}

/// The leaky offset K d in both forms of `gram_times`: down X^T's columns
/// (the primal's left factor, a transposed view; several row blocks, the
/// last one partial, on 1 and 2 threads) and along a standard K's rows give
/// the bits of each row's `Iterator::sum` of K_ri d_i, -0.0 included (a row
/// of zeros against negative d: every term -0.0, so a sum that started at
/// +0.0 would end at +0.0).
#[test]
fn the_leaky_offset_has_the_bits_of_each_rows_sum_in_both_layouts() {
    let (n, rows) = (13, 2 * GRAM_TIMES_ROWS + 37);
    let mut rng = crate::rng::stream(5, 0, "gram_times");
    let mut x = Array2::from_shape_simple_fn((n, rows), || rng.random_range(-1.0..1.0));
    x.column_mut(3).fill(0.0);
    let d: Vec<f64> = (0..n).map(|i| -0.5 - i as f64).collect();
    let expected: Vec<f64> = x
        .t()
        .outer_iter()
        .map(|row| row.iter().zip(&d).map(|(&kri, &di)| kri * di).sum())
        .collect();
    assert!(expected[3] == 0.0 && expected[3].is_sign_negative());
    let standard = x.t().as_standard_layout().into_owned();
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        for k in [x.t(), standard.view()] {
            let mut kd = vec![7.0; 3];
            pool.install(|| gram_times(k, &d, &mut kd));
            let same = kd.len() == rows
                && kd
                    .iter()
                    .zip(&expected)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "strides {:?}, {threads} threads", k.strides());
        }
    }
}

/// `apply_to_then_forward`: W gets `apply_to`'s bits, and Z is X times the
/// new W to rounding (|error| <= 1e-13 sum_k |X_ik W_kj|: sums of 862 terms
/// in other orders), with the same bits on 1 to 3 threads. Three blocks
/// (the last one shorter) of two pieces each but the last (a shorter
/// second piece; blocks and pieces start inside a tile of 8 rows), ReLU
/// and leaky ReLU (the offset X^T d). Then scratch left by a call of other
/// shapes (more blocks, other n and m) and a NaN in Z (not above 0 for the
/// masks; X W overwrites it) give a fresh scratch's bits.
#[test]
fn the_forward_in_the_tables_pass_is_x_times_the_new_w() {
    use super::forward::FORWARD_ROWS;
    let (n, m, depth) = (13, 70, FORWARD_ROWS + 13);
    let inputs = 2 * depth + 68;
    let mut rng = crate::rng::stream(9, 0, "forward");
    let mut random =
        |rows, cols| Array2::from_shape_simple_fn((rows, cols), || rng.random_range(-1.0..1.0));
    let (x, w0, z0) = (random(n, inputs), random(inputs, m), random(n, m));
    let d: Vec<f64> = random(1, n).into_raw_vec_and_offset().0;
    let a: Vec<f64> = random(1, m).into_raw_vec_and_offset().0;
    let (alpha, beta) = (-0.3, 0.99);
    for act in [Activation::Relu, Activation::LeakyRelu { slope: 0.2 }] {
        let mut w_expected = w0.clone();
        let (xt, z) = (x.t(), z0.view());
        GramUpdate::new().apply_to(alpha, xt, &d, &a, act, beta, z, w_expected.view_mut());
        let z_expected = x.dot(&w_expected);
        let bound = x.mapv(f64::abs).dot(&w_expected.mapv(f64::abs));
        let run = |threads: usize| {
            let (mut z, mut w) = (z0.clone(), w0.clone());
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let (zv, wv) = (z.view_mut(), w.view_mut());
            let mut table = GramUpdate::new();
            pool.install(|| {
                table.apply_to_then_forward(alpha, x.view(), &d, &a, act, beta, depth, zv, wv)
            });
            (z, w)
        };
        let (z1, w1) = run(1);
        let same = |p: &Array2<f64>, q: &Array2<f64>| {
            p.iter().zip(q).all(|(u, v)| u.to_bits() == v.to_bits())
        };
        assert!(same(&w1, &w_expected), "{act:?}: W differs from apply_to's");
        assert_close(&z1, &z_expected, &bound);
        for threads in [2, 3] {
            let (z, w) = run(threads);
            assert!(
                same(&z, &z1) && same(&w, &w1),
                "{act:?}: {threads} threads differ from 1"
            );
        }
        let mut reused = GramUpdate::new();
        let (x2, mut w2, mut z2) = (random(5, 207), random(207, 9), random(5, 9));
        let (d2, a2) = (vec![0.5; 5], vec![-1.0; 9]);
        let (xv, zv, wv) = (x2.view(), z2.view_mut(), w2.view_mut());
        reused.apply_to_then_forward(alpha, xv, &d2, &a2, act, beta, 50, zv, wv);
        let mut z_nan = z0.clone();
        z_nan[[2, 5]] = f64::NAN;
        let with = |table: &mut GramUpdate| {
            let (mut z, mut w) = (z_nan.clone(), w0.clone());
            let (xv, zv, wv) = (x.view(), z.view_mut(), w.view_mut());
            table.apply_to_then_forward(alpha, xv, &d, &a, act, beta, depth, zv, wv);
            (z, w)
        };
        let (z_fresh, w_fresh) = with(&mut GramUpdate::new());
        let (z_reused, w_reused) = with(&mut reused);
        assert!(
            z_fresh.iter().all(|v| v.is_finite()),
            "{act:?}: Z keeps a NaN"
        );
        let reuse_same = same(&z_reused, &z_fresh) && same(&w_reused, &w_fresh);
        assert!(reuse_same, "{act:?}: reused scratch");
    }
}

/// Every mask code is its definition, c = sum over bit of
/// 1{Z[6 b + bit, j] > 0} << bit, stored as TILE c at ((g blocks + b) 8 + q),
/// on every instruction set: n not a multiple of BITS (a short last
/// block), m not a multiple of 8 (a padded last group), exact zeros and NaN
/// (not above 0), and a `starts` full of other values beforehand, all
/// overwritten.
#[test]
fn mask_codes_are_their_definition() {
    let (n, m) = (20, 29);
    let mut rng = crate::rng::stream(7, 0, "mask codes");
    let mut z = Array2::from_shape_simple_fn((n, m), || rng.random_range(-1.0..1.0));
    z[[0, 0]] = 0.0;
    z[[19, 28]] = f64::NAN;
    z[[18, 27]] = -0.0;
    let blocks = n.div_ceil(BITS);
    let groups = m.div_ceil(COLUMNS_AT_ONCE);
    let mut want = vec![0u16; groups * blocks * COLUMNS_AT_ONCE];
    for (g, b, q) in
        (0..groups).flat_map(|g| (0..blocks).flat_map(move |b| (0..8).map(move |q| (g, b, q))))
    {
        let j = g * COLUMNS_AT_ONCE + q;
        let code: usize = (0..BITS)
            .filter(|bit| b * BITS + bit < n && j < m && z[[b * BITS + bit, j]] > 0.0)
            .map(|bit| 1 << bit)
            .sum();
        want[(g * blocks + b) * COLUMNS_AT_ONCE + q] = (TILE * code) as u16;
    }
    for isa in Isa::available() {
        let mut starts = vec![0xabcd; want.len()];
        mask_codes_on(isa, z.view(), &mut starts, None);
        assert_eq!(starts, want, "{isa:?}");
    }
}

/// The lookups read the tables unchecked (`Table::entry`), so `Codes::new`
/// takes every start that begins an entry and refuses any other: past the
/// last entry, inside an entry, the largest u16.
#[test]
fn codes_refuse_a_start_that_begins_no_entry() {
    let (blocks, m) = (2, 8);
    let last_entry = (TILE * (ENTRIES - 1)) as u16;
    let mut good: Vec<u16> = (0..blocks * COLUMNS_AT_ONCE)
        .map(|i| (TILE * i) as u16)
        .collect();
    *good.last_mut().expect("starts") = last_entry;
    Codes::new(&good, &[0, blocks], m);
    for bad in [(TILE * ENTRIES) as u16, last_entry + 1, u16::MAX] {
        let mut starts = good.clone();
        starts[5] = bad;
        let refused = std::panic::catch_unwind(|| Codes::new(&starts, &[0, blocks], m).groups);
        assert!(refused.is_err(), "start {bad} taken");
    }
}

/// `forward_depth`: whole pieces, at most `FORWARD_BLOCKS` blocks, none
/// empty; 8 blocks at the benchmark's d = 40000.
#[test]
fn the_forward_blocks_are_whole_pieces_and_few() {
    use super::forward::{FORWARD_BLOCKS, FORWARD_ROWS};
    for inputs in (1..20_000).step_by(37).chain([40_000, 1 << 20]) {
        let depth = forward_depth(inputs);
        let blocks = inputs.div_ceil(depth);
        assert_eq!(depth % FORWARD_ROWS, 0, "d = {inputs}");
        assert!(blocks <= FORWARD_BLOCKS, "d = {inputs}: {blocks} blocks");
        assert!(
            (blocks - 1) * depth < inputs,
            "d = {inputs}: an empty block"
        );
    }
    assert_eq!(
        (forward_depth(40_000), 40_000usize.div_ceil(5376)),
        (5376, 8)
    );
}
