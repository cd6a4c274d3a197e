//! Per-sample losses l(f, y) and their derivatives in the network output f.
//! The empirical loss is always the mean: L = 1/n sum_i l(f(x_i), y_i).

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// log(1 + exp(-y f)), labels y in {-1, +1}.
    Logistic,
    /// exp(-y f), labels y in {-1, +1}.
    Exponential,
    /// 1/2 (f - y)^2, any real target (the 1/2 convention of Boursier & Flammarion).
    Square,
    /// max(0, 1 - y f), labels y in {-1, +1}; subgradient 0 at the hinge.
    Hinge,
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
            Loss::Square => 0.5 * (f - y) * (f - y),
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
            Loss::Square => f - y,
            Loss::Hinge => {
                if y * f < 1.0 {
                    -y
                } else {
                    0.0
                }
            }
        }
    }

    /// Whether the loss reads labels as classes in {-1, +1}.
    pub fn is_classification(self) -> bool {
        !matches!(self, Loss::Square)
    }
}

/// Which normalisation the square loss takes when a study fixes it (the wide
/// path, `nets::wide`): `Loss::Square` is the `HalfSquare` one per sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossConvention {
    /// L = 1/n sum 1/2 (f - y)^2: Boursier & Flammarion's papers.
    HalfSquare,
    /// L = 1/n sum (f - y)^2: torch.nn.MSELoss(reduction="mean"), the public code.
    /// GD with step lr on this loss equals GD with step 2 lr on `HalfSquare`.
    MeanMse,
}

impl LossConvention {
    /// c in L = c/n sum (f - y)^2.
    pub fn factor(self) -> f64 {
        match self {
            LossConvention::HalfSquare => 0.5,
            LossConvention::MeanMse => 1.0,
        }
    }
}

/// L = c/n sum (f - y)^2 (the squares summed first, then scaled once).
pub fn square_loss(f: &[f64], y: &[f64], conv: LossConvention) -> f64 {
    let s: f64 = f.iter().zip(y).map(|(f, y)| (f - y) * (f - y)).sum();
    conv.factor() * s / y.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all() -> [Loss; 4] {
        [Loss::Logistic, Loss::Exponential, Loss::Square, Loss::Hinge]
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

    #[test]
    fn logistic_is_stable_at_extremes() {
        assert!((Loss::Logistic.value(0.0, 1.0) - std::f64::consts::LN_2).abs() < 1e-15);
        assert!(Loss::Logistic.value(-800.0, 1.0).is_finite());
        assert_eq!(
            Loss::Logistic.value(800.0, 1.0),
            0.0f64.max(Loss::Logistic.value(800.0, 1.0))
        );
        assert!((Loss::Logistic.derivative(1e-17, 1.0) + 0.5).abs() < 1e-15);
    }
}
