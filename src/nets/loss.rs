//! Per-sample losses l(f, y) and their derivatives in the network output f.
//! The empirical loss is always the mean: L = 1/n sum_i l(f(x_i), y_i).
//!
//! One vocabulary for every engine and spec: `Loss` names the loss, and the
//! square loss carries its normalisation (`SquareLoss`). A spec writes
//! `"logistic"`, `"exponential"`, `"hinge"`, `"half_square"` (also spelled
//! `"square"`) or `"mean_mse"`. An engine that trains only the square loss
//! (`nets::wide`) takes a `SquareLoss`, which parses and prints with the same
//! spellings and rejects the others.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "LossName", into = "LossName")]
pub enum Loss {
    /// log(1 + exp(-y f)), labels y in {-1, +1}.
    Logistic,
    /// exp(-y f), labels y in {-1, +1}.
    Exponential,
    /// c (f - y)^2, any real target, with c = 1/2 or 1 (see `SquareLoss`).
    Square(SquareLoss),
    /// max(0, 1 - y f), labels y in {-1, +1}; subgradient 0 at the hinge.
    Hinge,
}

/// The square loss's normalisation c in l(f, y) = c (f - y)^2, so that
/// L = c/n sum (f - y)^2. GD with step lr on `MeanMse` equals GD with step
/// 2 lr on `HalfSquare`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Loss", into = "Loss")]
pub enum SquareLoss {
    /// c = 1/2: L = 1/n sum 1/2 (f - y)^2, the papers' convention (Boursier &
    /// Flammarion). Spelled "half_square" or "square".
    HalfSquare,
    /// c = 1: L = 1/n sum (f - y)^2, torch.nn.MSELoss(reduction="mean") in the
    /// authors' public code. Spelled "mean_mse".
    MeanMse,
}

/// The spellings a spec may write; `Square` is the older name of `HalfSquare`
/// (read, never written).
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum LossName {
    Logistic,
    Exponential,
    Square,
    HalfSquare,
    MeanMse,
    Hinge,
}

impl From<LossName> for Loss {
    fn from(name: LossName) -> Self {
        match name {
            LossName::Logistic => Loss::Logistic,
            LossName::Exponential => Loss::Exponential,
            LossName::Square | LossName::HalfSquare => Loss::Square(SquareLoss::HalfSquare),
            LossName::MeanMse => Loss::Square(SquareLoss::MeanMse),
            LossName::Hinge => Loss::Hinge,
        }
    }
}

impl From<Loss> for LossName {
    fn from(loss: Loss) -> Self {
        match loss {
            Loss::Logistic => LossName::Logistic,
            Loss::Exponential => LossName::Exponential,
            Loss::Square(SquareLoss::HalfSquare) => LossName::HalfSquare,
            Loss::Square(SquareLoss::MeanMse) => LossName::MeanMse,
            Loss::Hinge => LossName::Hinge,
        }
    }
}

impl From<SquareLoss> for Loss {
    fn from(c: SquareLoss) -> Self {
        Loss::Square(c)
    }
}

impl TryFrom<Loss> for SquareLoss {
    type Error = String;
    fn try_from(loss: Loss) -> Result<Self, String> {
        match loss {
            Loss::Square(c) => Ok(c),
            other => Err(format!(
                "this engine trains the square loss only (half_square, square or mean_mse), not {}",
                other.name()
            )),
        }
    }
}

impl SquareLoss {
    /// c in L = c/n sum (f - y)^2.
    pub fn factor(self) -> f64 {
        match self {
            SquareLoss::HalfSquare => 0.5,
            SquareLoss::MeanMse => 1.0,
        }
    }

    /// L = c/n sum (f - y)^2 over paired outputs and targets (the squares
    /// summed first, then scaled once); O(n).
    pub fn mean(self, f: &[f64], y: &[f64]) -> f64 {
        let s: f64 = f.iter().zip(y).map(|(f, y)| (f - y) * (f - y)).sum();
        self.factor() * s / y.len() as f64
    }
}

/// log(1 + e^x) without overflow or loss of precision for large |x|.
#[inline]
pub fn softplus(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

/// 1 / (1 + e^{-x}), stable on both sides.
#[inline]
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

impl Loss {
    /// l(f, y).
    #[inline]
    pub fn value(self, f: f64, y: f64) -> f64 {
        match self {
            Loss::Logistic => softplus(-y * f),
            Loss::Exponential => (-y * f).exp(),
            Loss::Square(c) => c.factor() * (f - y) * (f - y),
            Loss::Hinge => (1.0 - y * f).max(0.0),
        }
    }

    /// dl/df at (f, y). For the logistic loss this is -y sigmoid(-y f), whose
    /// magnitude g = sigmoid(-y f) is the papers' g_i = -l'(y_i f(x_i)).
    #[inline]
    pub fn derivative(self, f: f64, y: f64) -> f64 {
        match self {
            Loss::Logistic => -y * sigmoid(-y * f),
            Loss::Exponential => -y * (-y * f).exp(),
            Loss::Square(c) => 2.0 * c.factor() * (f - y),
            Loss::Hinge => {
                if y * f < 1.0 {
                    -y
                } else {
                    0.0
                }
            }
        }
    }

    /// The name a spec writes for this loss.
    pub fn name(self) -> &'static str {
        match LossName::from(self) {
            LossName::Logistic => "logistic",
            LossName::Exponential => "exponential",
            LossName::Square | LossName::HalfSquare => "half_square",
            LossName::MeanMse => "mean_mse",
            LossName::Hinge => "hinge",
        }
    }

    /// Whether the loss reads labels as classes in {-1, +1}.
    pub fn is_classification(self) -> bool {
        !matches!(self, Loss::Square(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all() -> [Loss; 5] {
        [
            Loss::Logistic,
            Loss::Exponential,
            Loss::Square(SquareLoss::HalfSquare),
            Loss::Square(SquareLoss::MeanMse),
            Loss::Hinge,
        ]
    }

    proptest! {
        #[test]
        fn derivative_matches_finite_difference(f in -5.0f64..5.0, pos in proptest::bool::ANY) {
            let y = if pos { 1.0 } else { -1.0 };
            for loss in all() {
                // Stay away from the hinge's kink, where only a subgradient exists.
                if loss == Loss::Hinge && (1.0 - y * f).abs() < 1e-3 { continue; }
                let h = 1e-6;
                let fd = (loss.value(f + h, y) - loss.value(f - h, y)) / (2.0 * h);
                let an = loss.derivative(f, y);
                prop_assert!((fd - an).abs() <= 1e-6 * (1.0 + an.abs()), "{loss:?}: fd {fd} vs {an}");
            }
        }
    }

    proptest! {
        /// The square loss's derivative scales with its convention: 2c (f - y)
        /// for any real target, checked by finite differences.
        #[test]
        fn square_derivative_matches_finite_difference(f in -5.0f64..5.0, y in -5.0f64..5.0) {
            for c in [SquareLoss::HalfSquare, SquareLoss::MeanMse] {
                let loss = Loss::Square(c);
                let h = 1e-6;
                let fd = (loss.value(f + h, y) - loss.value(f - h, y)) / (2.0 * h);
                let an = loss.derivative(f, y);
                prop_assert!((fd - an).abs() <= 1e-6 * (1.0 + an.abs()), "{c:?}: fd {fd} vs {an}");
                prop_assert!((an - 2.0 * c.factor() * (f - y)).abs() <= 1e-15 * (1.0 + an.abs()));
            }
        }

        /// `SquareLoss::mean` (squares summed, scaled once) against the mean of
        /// the per-sample values.
        #[test]
        fn square_mean_matches_per_sample_values(pairs in proptest::collection::vec((-5.0f64..5.0, -5.0f64..5.0), 1..20)) {
            let (f, y): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
            for c in [SquareLoss::HalfSquare, SquareLoss::MeanMse] {
                let naive = f.iter().zip(&y).map(|(f, y)| Loss::Square(c).value(*f, *y)).sum::<f64>() / y.len() as f64;
                let fast = c.mean(&f, &y);
                prop_assert!((fast - naive).abs() <= 1e-12 * (1.0 + naive.abs()), "{c:?}: {fast} vs {naive}");
            }
        }
    }

    #[derive(Debug, Deserialize, Serialize)]
    struct Named<T> {
        loss: T,
    }

    #[test]
    fn spellings_parse_and_print() {
        let parse =
            |s: &str| toml::from_str::<Named<Loss>>(&format!("loss = \"{s}\"")).map(|n| n.loss);
        let half = Loss::Square(SquareLoss::HalfSquare);
        assert_eq!(parse("square").unwrap(), half);
        assert_eq!(parse("half_square").unwrap(), half);
        assert_eq!(
            parse("mean_mse").unwrap(),
            Loss::Square(SquareLoss::MeanMse)
        );
        assert_eq!(parse("logistic").unwrap(), Loss::Logistic);
        assert!(parse("cubic").is_err());
        for loss in all() {
            let text = toml::to_string(&Named { loss }).unwrap();
            assert_eq!(text.trim(), format!("loss = \"{}\"", loss.name()));
            assert_eq!(parse(loss.name()).unwrap(), loss);
        }
        let square = |s: &str| {
            toml::from_str::<Named<SquareLoss>>(&format!("loss = \"{s}\"")).map(|n| n.loss)
        };
        assert_eq!(square("square").unwrap(), SquareLoss::HalfSquare);
        assert_eq!(square("mean_mse").unwrap(), SquareLoss::MeanMse);
        let err = square("logistic").unwrap_err().to_string();
        assert!(
            err.contains("square loss only") && err.contains("logistic"),
            "{err}"
        );
        let text = toml::to_string(&Named {
            loss: SquareLoss::MeanMse,
        })
        .unwrap();
        assert_eq!(text.trim(), "loss = \"mean_mse\"");
    }

    /// The logistic loss l(f, y) = log(1 + e^{-y f}) and its derivative
    /// -y sigmoid(-y f) at margins where the naive formulas overflow or lose
    /// every digit, against their exact values:
    /// - y f = +-800: e^{-800} underflows to 0 in f64 (below 2^-1074), so
    ///   l = 0 exactly and l = 800 exactly (800 + log1p(0)), where the
    ///   naive log(1 + e^{800}) is inf; l' = -y sigmoid(-800) = -0 y and
    ///   -y sigmoid(800) = -y (1 / (1 + 0) = 1 exactly), both signs of y;
    /// - y f = 30: l = log1p(e^{-30}) = e^{-30} - e^{-60}/2 + ..., to
    ///   relative 1e-15 (the next term is e^{-90}/3, 1e-26 relative), where
    ///   the naive log(1 + e^{-30}) keeps only the 1 + 9.4e-14 that 1 + x
    ///   rounds to: a relative error of ~1e-4;
    /// - y f = 0: log 2 and -y / 2, to 1e-15.
    #[test]
    fn logistic_is_stable_at_extremes() {
        let l = Loss::Logistic;
        assert!((l.value(0.0, 1.0) - std::f64::consts::LN_2).abs() < 1e-15);
        assert!((l.derivative(1e-17, 1.0) + 0.5).abs() < 1e-15);
        for y in [1.0, -1.0] {
            // f y = +800: the loss and its derivative vanish exactly.
            assert_eq!(l.value(800.0 * y, y), 0.0, "y {y}");
            let d = l.derivative(800.0 * y, y);
            assert_eq!(d, 0.0, "y {y}");
            assert_eq!(d.is_sign_negative(), y > 0.0, "-y times +0, y {y}");
            // f y = -800: the loss is the margin, the derivative -y.
            assert_eq!(l.value(-800.0 * y, y), 800.0, "y {y}");
            assert_eq!(l.derivative(-800.0 * y, y), -y, "y {y}");
            // f y = 30: log1p keeps the digits 1 + e^-30 would lose.
            let tail = (-30f64).exp();
            let exact = tail - tail * tail / 2.0;
            let v = l.value(30.0 * y, y);
            assert!((v - exact).abs() <= 1e-15 * exact, "y {y}: {v} vs {exact}");
            assert!(
                (v - (1.0 + tail).ln()).abs() > 1e-6 * exact,
                "the naive log(1 + e^-30) is off by more"
            );
        }
    }
}
