//! The randomization tests of Zhang et al. (ICLR 2017, "Understanding deep
//! learning requires rethinking generalization", Sec. 2): a dataset with its
//! labels or its pixels randomized, each randomization drawn ONCE from a
//! seeded stream and then fixed for the whole training run.
//!
//! An image is 3072 floats in channel-major order (3 planes of 32 x 32, as
//! `data::cifar` loads it); "pixel position" means one of these 3072 entries.
//! What each randomization keeps (and the property tests check):
//!
//! - `TrueLabels`: everything.
//! - `CorruptLabels` `{ p }`: the images; each training
//!   label is, independently with probability p, replaced by a class drawn
//!   UNIFORMLY from all k classes (possibly its own), so a fraction
//!   (1 - 1/k) p of the labels changes in expectation. (This differs from
//!   `cifar::noisy_labels`, which always moves a flipped label to a WRONG
//!   class.) The test labels are the true ones.
//! - `RandomLabels`: corruption with p = 1, i.e. every
//!   training label is an independent uniform class: the images and the
//!   class frequencies in expectation, nothing linking image to label.
//! - `ShuffledPixels`: ONE permutation pi of the 3072
//!   positions, the same for every training and test image
//!   (x'_j = x_{pi(j)}): each image's pixel multiset and the joint
//!   distribution of images up to a fixed relabelling of positions, so an
//!   MLP (blind to position order) sees an equivalent problem while a CNN
//!   loses locality. Labels kept.
//! - `RandomPixels`: an independent permutation per image
//!   (train and test): each image's pixel multiset (its colour-value
//!   histogram over all three channels), nothing spatial. Labels kept.
//! - `GaussianPixels`: every pixel drawn iid
//!   N(mu_c, sigma_c^2), where mu_c and sigma_c^2 are the mean and
//!   (population) variance of channel c over all training images and
//!   positions: only the per-channel first two moments; the images carry no
//!   information about their labels. Train and test images alike.
//!
//! Label corruptions are coupled across p: one uniform u_i and one uniform
//! class c_i are drawn per training example, and label i becomes c_i when
//! u_i < p. So for p < p' the examples corrupted at p are also corrupted at
//! p' (with the same replacement), and p = 1 gives exactly the random labels
//! (common random numbers across the corruption curve).

use rand::seq::SliceRandom;
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::rng::Rng;

/// Floats per image (3 x 32 x 32).
pub const IMAGE_LEN: usize = crate::data::cifar::IMAGE_BYTES;
/// Positions per colour channel (32 x 32).
const PLANE: usize = IMAGE_LEN / 3;

/// One randomization of a labelled image set (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Randomization {
    TrueLabels,
    /// Each training label replaced by a uniform class with probability `p`.
    CorruptLabels {
        p: f64,
    },
    RandomLabels,
    ShuffledPixels,
    RandomPixels,
    GaussianPixels,
}

/// The settings a spec names in `data.settings` (label corruptions at
/// 0 < p < 1 are listed separately as `data.corruption`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Setting {
    #[serde(rename = "true")]
    TrueLabels,
    RandomLabels,
    ShuffledPixels,
    RandomPixels,
    Gaussian,
}

impl Setting {
    pub const ALL: [Setting; 5] = [
        Setting::TrueLabels,
        Setting::RandomLabels,
        Setting::ShuffledPixels,
        Setting::RandomPixels,
        Setting::Gaussian,
    ];

    pub fn randomization(self) -> Randomization {
        match self {
            Setting::TrueLabels => Randomization::TrueLabels,
            Setting::RandomLabels => Randomization::RandomLabels,
            Setting::ShuffledPixels => Randomization::ShuffledPixels,
            Setting::RandomPixels => Randomization::RandomPixels,
            Setting::Gaussian => Randomization::GaussianPixels,
        }
    }
}

impl Randomization {
    /// A short name for run labels and figures: `true`, `corrupt0.2`,
    /// `random_labels`, `shuffled_pixels`, `random_pixels`, `gaussian`.
    pub fn label(&self) -> String {
        match self {
            Randomization::TrueLabels => "true".into(),
            Randomization::CorruptLabels { p } => format!("corrupt{p}"),
            Randomization::RandomLabels => "random_labels".into(),
            Randomization::ShuffledPixels => "shuffled_pixels".into(),
            Randomization::RandomPixels => "random_pixels".into(),
            Randomization::GaussianPixels => "gaussian".into(),
        }
    }

    /// The label-corruption probability this randomization amounts to
    /// (0 for true labels, 1 for random labels), None for pixel randomizations.
    pub fn corruption(&self) -> Option<f64> {
        match *self {
            Randomization::TrueLabels => Some(0.0),
            Randomization::CorruptLabels { p } => Some(p),
            Randomization::RandomLabels => Some(1.0),
            _ => None,
        }
    }

    /// The purpose tag of the random stream this randomization draws from.
    /// All label corruptions (and random labels) share one, so they are
    /// coupled across p (module docs); each pixel randomization has its own.
    pub fn stream_purpose(&self) -> &'static str {
        match self {
            Randomization::TrueLabels => "randomize:none",
            Randomization::CorruptLabels { .. } | Randomization::RandomLabels => "randomize:labels",
            Randomization::ShuffledPixels => "randomize:shuffled-pixels",
            Randomization::RandomPixels => "randomize:random-pixels",
            Randomization::GaussianPixels => "randomize:gaussian-pixels",
        }
    }
}

/// A randomized dataset: training pixels and labels (the labels trained
/// on), test pixels randomized the same way; the test labels stay the true ones.
#[derive(Clone, Debug, PartialEq)]
pub struct Randomized {
    pub train_pixels: Vec<f32>,
    pub train_labels: Vec<u8>,
    pub test_pixels: Vec<f32>,
}

/// Apply `r` to a training set (`train_pixels`, `train_labels` in 0..classes)
/// and a test set's pixels, drawing from `rng` (a fresh stream, see
/// [`Randomization::stream_purpose`]). Training images are randomized
/// before test images.
pub fn apply(
    r: Randomization,
    train_pixels: &[f32],
    train_labels: &[u8],
    test_pixels: &[f32],
    classes: usize,
    rng: &mut Rng,
) -> Randomized {
    assert_eq!(train_pixels.len(), train_labels.len() * IMAGE_LEN);
    assert_eq!(test_pixels.len() % IMAGE_LEN, 0);
    let keep_labels = || train_labels.to_vec();
    match r {
        Randomization::TrueLabels => Randomized {
            train_pixels: train_pixels.to_vec(),
            train_labels: keep_labels(),
            test_pixels: test_pixels.to_vec(),
        },
        Randomization::CorruptLabels { p } => Randomized {
            train_pixels: train_pixels.to_vec(),
            train_labels: corrupt_labels(train_labels, classes, p, rng),
            test_pixels: test_pixels.to_vec(),
        },
        Randomization::RandomLabels => Randomized {
            train_pixels: train_pixels.to_vec(),
            train_labels: corrupt_labels(train_labels, classes, 1.0, rng),
            test_pixels: test_pixels.to_vec(),
        },
        Randomization::ShuffledPixels => {
            let perm = position_permutation(rng);
            Randomized {
                train_pixels: permute_each(train_pixels, |_| &perm),
                train_labels: keep_labels(),
                test_pixels: permute_each(test_pixels, |_| &perm),
            }
        }
        Randomization::RandomPixels => Randomized {
            train_pixels: permute_independently(train_pixels, rng),
            train_labels: keep_labels(),
            test_pixels: permute_independently(test_pixels, rng),
        },
        Randomization::GaussianPixels => {
            let moments = channel_moments(train_pixels);
            Randomized {
                train_pixels: gaussian_images(train_pixels.len() / IMAGE_LEN, &moments, rng),
                train_labels: keep_labels(),
                test_pixels: gaussian_images(test_pixels.len() / IMAGE_LEN, &moments, rng),
            }
        }
    }
}

/// Partially corrupted labels: for each example draw u_i ~ U[0, 1) and
/// c_i ~ U{0..classes-1} (both always drawn, so the coupling across p holds);
/// the label becomes c_i when u_i < p. P(label changes) = p (1 - 1/classes).
pub fn corrupt_labels(labels: &[u8], classes: usize, p: f64, rng: &mut Rng) -> Vec<u8> {
    assert!((1..=256).contains(&classes) && (0.0..=1.0).contains(&p));
    labels
        .iter()
        .map(|&y| {
            let u: f64 = rng.random();
            let c = rng.random_range(0..classes) as u8;
            if u < p {
                c
            } else {
                y
            }
        })
        .collect()
}

/// A uniformly random permutation of the 3072 pixel positions.
pub fn position_permutation(rng: &mut Rng) -> Vec<usize> {
    let mut perm: Vec<usize> = (0..IMAGE_LEN).collect();
    perm.shuffle(rng);
    perm
}

/// Every image permuted by `perm_of(i)`: out_i[j] = x_i[perm(j)].
fn permute_each<'a>(pixels: &[f32], mut perm_of: impl FnMut(usize) -> &'a [usize]) -> Vec<f32> {
    let mut out = Vec::with_capacity(pixels.len());
    for (i, img) in pixels.chunks_exact(IMAGE_LEN).enumerate() {
        out.extend(perm_of(i).iter().map(|&j| img[j]));
    }
    out
}

/// Every image permuted by its own fresh uniform permutation.
fn permute_independently(pixels: &[f32], rng: &mut Rng) -> Vec<f32> {
    let mut out = pixels.to_vec();
    for img in out.chunks_exact_mut(IMAGE_LEN) {
        img.shuffle(rng);
    }
    out
}

/// Per-channel (mean, population variance) over all images and positions,
/// accumulated in f64.
pub fn channel_moments(pixels: &[f32]) -> [(f64, f64); 3] {
    let mut sum = [0.0f64; 3];
    let mut sq = [0.0f64; 3];
    for img in pixels.chunks_exact(IMAGE_LEN) {
        for c in 0..3 {
            for &v in &img[c * PLANE..(c + 1) * PLANE] {
                sum[c] += v as f64;
                sq[c] += v as f64 * v as f64;
            }
        }
    }
    let count = (pixels.len() / 3).max(1) as f64;
    std::array::from_fn(|c| {
        let mean = sum[c] / count;
        (mean, (sq[c] / count - mean * mean).max(0.0))
    })
}

/// `n` images of iid N(mean_c, var_c) pixels, channel c from `moments[c]`.
fn gaussian_images(n: usize, moments: &[(f64, f64); 3], rng: &mut Rng) -> Vec<f32> {
    let mut out = Vec::with_capacity(n * IMAGE_LEN);
    for _ in 0..n {
        for &(mean, var) in moments {
            let sd = var.sqrt();
            out.extend((0..PLANE).map(|_| {
                let z: f64 = StandardNormal.sample(rng);
                (mean + sd * z) as f32
            }));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use proptest::prelude::*;

    fn stream(t: &str) -> Rng {
        crate::rng::stream(11, 0, t)
    }

    /// `n` images whose pixels are distinct-ish values, channel c centred at c - 1.
    fn images(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = crate::rng::stream(seed, 1, "images");
        (0..n * IMAGE_LEN)
            .map(|i| {
                let c = (i % IMAGE_LEN) / PLANE;
                (c as f32 - 1.0) * 0.5 + 0.3 * rng.random::<f32>()
            })
            .collect()
    }

    fn sorted(v: &[f32]) -> Vec<f32> {
        let mut v = v.to_vec();
        v.sort_by(|a, b| a.total_cmp(b));
        v
    }

    fn counts(labels: &[u8], k: usize) -> Vec<usize> {
        let mut c = vec![0; k];
        for &y in labels {
            c[y as usize] += 1;
        }
        c
    }

    fn all(
        r: Randomization,
        n: usize,
        nt: usize,
        seed: u64,
    ) -> (Vec<f32>, Vec<u8>, Vec<f32>, Randomized) {
        let x = images(n, seed);
        let y: Vec<u8> = (0..n).map(|i| (i * 7 % 4) as u8).collect();
        let xt = images(nt, seed + 100);
        let out = apply(
            r,
            &x,
            &y,
            &xt,
            4,
            &mut crate::rng::stream(seed, 0, r.stream_purpose()),
        );
        (x, y, xt, out)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Pixel randomizations keep the labels; shuffled and random pixels
        /// keep every image's pixel multiset, train and test.
        #[test]
        fn permutations_keep_each_images_pixel_multiset(n in 1usize..6, nt in 1usize..4, seed in 0u64..1000) {
            for r in [Randomization::ShuffledPixels, Randomization::RandomPixels] {
                let (x, y, xt, out) = all(r, n, nt, seed);
                prop_assert_eq!(&out.train_labels, &y);
                for (a, b) in x.chunks(IMAGE_LEN).zip(out.train_pixels.chunks(IMAGE_LEN))
                    .chain(xt.chunks(IMAGE_LEN).zip(out.test_pixels.chunks(IMAGE_LEN))) {
                    prop_assert_eq!(sorted(a), sorted(b));
                    prop_assert!(a != b, "the image was not permuted");
                }
            }
        }

        /// Label randomizations keep the images; corruption at p keeps the
        /// label multiset in expectation only, true labels keep it exactly;
        /// corruptions are nested in p.
        #[test]
        fn label_randomizations_keep_images_and_nest(n in 1usize..300, seed in 0u64..1000, p in 0.0f64..1.0) {
            for r in [Randomization::TrueLabels, Randomization::CorruptLabels { p }, Randomization::RandomLabels] {
                let (x, y, xt, out) = all(r, n, 2, seed);
                prop_assert_eq!(&out.train_pixels, &x);
                prop_assert_eq!(&out.test_pixels, &xt);
                prop_assert!(out.train_labels.iter().all(|&l| l < 4));
                if r == Randomization::TrueLabels {
                    prop_assert_eq!(&out.train_labels, &y);
                }
            }
            let (_, y, _, low) = all(Randomization::CorruptLabels { p: p / 2.0 }, n, 1, seed);
            let (_, _, _, high) = all(Randomization::CorruptLabels { p }, n, 1, seed);
            let (_, _, _, rand) = all(Randomization::RandomLabels, n, 1, seed);
            for (i, &yi) in y.iter().enumerate() {
                if low.train_labels[i] != yi {
                    prop_assert_eq!(high.train_labels[i], low.train_labels[i]);
                }
                if high.train_labels[i] != yi {
                    prop_assert_eq!(rand.train_labels[i], high.train_labels[i]);
                }
            }
        }
    }

    #[test]
    fn shuffled_pixels_use_one_permutation_for_train_and_test() {
        let (x, _, xt, out) = all(Randomization::ShuffledPixels, 3, 2, 5);
        let perm = position_permutation(&mut crate::rng::stream(5, 0, "randomize:shuffled-pixels"));
        assert!(perm.iter().enumerate().any(|(j, &p)| j != p));
        for (a, b) in x
            .chunks(IMAGE_LEN)
            .zip(out.train_pixels.chunks(IMAGE_LEN))
            .chain(xt.chunks(IMAGE_LEN).zip(out.test_pixels.chunks(IMAGE_LEN)))
        {
            assert!((0..IMAGE_LEN).all(|j| b[j] == a[perm[j]]));
        }
        // Random pixels: two images permuted differently (identical inputs expose it).
        let same: Vec<f32> = images(1, 9).repeat(2);
        let out = apply(
            Randomization::RandomPixels,
            &same,
            &[0, 1],
            &[],
            4,
            &mut stream("r"),
        );
        assert_ne!(out.train_pixels[..IMAGE_LEN], out.train_pixels[IMAGE_LEN..]);
    }

    #[test]
    fn corruption_changes_about_one_minus_one_over_k_times_p() {
        let n = 40000;
        let y: Vec<u8> = (0..n).map(|i| (i % 4) as u8).collect();
        for p in [0.2, 0.6, 1.0] {
            let z = corrupt_labels(&y, 4, p, &mut stream("c"));
            let changed = y.iter().zip(&z).filter(|(a, b)| a != b).count() as f64;
            let want = 0.75 * p * n as f64;
            let sd = (n as f64 * 0.75 * p * (1.0 - 0.75 * p)).sqrt();
            assert!(
                (changed - want).abs() < 4.0 * sd,
                "p {p}: {changed} vs {want}"
            );
            // Uniform replacement keeps the balanced class counts in expectation.
            for c in counts(&z, 4) {
                assert!((c as f64 - n as f64 / 4.0).abs() < 4.0 * (n as f64 * 0.1875).sqrt());
            }
        }
        assert_eq!(corrupt_labels(&y, 4, 0.0, &mut stream("c")), y);
    }

    #[test]
    fn gaussian_pixels_match_the_training_channel_moments() {
        let x = images(40, 3);
        let want = channel_moments(&x);
        let out = apply(
            Randomization::GaussianPixels,
            &x,
            &[0; 40],
            &images(40, 4),
            4,
            &mut stream("g"),
        );
        for px in [&out.train_pixels, &out.test_pixels] {
            let got = channel_moments(px);
            let m = (40 * PLANE) as f64;
            for c in 0..3 {
                let (mu, var) = want[c];
                assert!(
                    (got[c].0 - mu).abs() < 5.0 * (var / m).sqrt(),
                    "channel {c} mean"
                );
                assert!(
                    (got[c].1 / var - 1.0).abs() < 5.0 * (2.0 / m).sqrt(),
                    "channel {c} variance"
                );
            }
        }
        // The moments are per channel: the fixture's channels differ.
        assert!(want[0].0 < want[1].0 && want[1].0 < want[2].0);
        assert!((want[1].0 - 0.15).abs() < 0.01 && (want[1].1 - 0.09 / 12.0).abs() < 1e-3);
    }

    #[test]
    fn streams_fix_each_randomization() {
        for r in [
            Randomization::RandomLabels,
            Randomization::RandomPixels,
            Randomization::GaussianPixels,
        ] {
            assert_eq!(all(r, 4, 2, 7).3, all(r, 4, 2, 7).3);
            assert_ne!(all(r, 4, 2, 7).3, all(r, 4, 2, 8).3);
        }
    }

    #[test]
    fn labels_and_corruption_levels() {
        assert_eq!(
            Randomization::CorruptLabels { p: 0.2 }.label(),
            "corrupt0.2"
        );
        assert_eq!(Setting::TrueLabels.randomization().corruption(), Some(0.0));
        assert_eq!(
            Setting::RandomLabels.randomization().corruption(),
            Some(1.0)
        );
        assert_eq!(Setting::Gaussian.randomization().corruption(), None);
        let names: Vec<String> = Setting::ALL
            .iter()
            .map(|s| {
                toml::Value::try_from(s)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(
            names,
            [
                "true",
                "random_labels",
                "shuffled_pixels",
                "random_pixels",
                "gaussian"
            ]
        );
    }
}
