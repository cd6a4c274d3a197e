//! Activations sigma and their (sub)derivatives, elementwise on f64.

use serde::{Deserialize, Serialize};

/// sigma(z) = max(z, gamma z) with gamma = 0 for ReLU.
/// The subgradient at z = 0 is taken as 0 for ReLU (and gamma for leaky ReLU),
/// the convention of relu'(0) = 1{0 > 0} used by the papers' GD recursions.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum Activation {
    Relu,
    LeakyRelu { slope: f64 },
}

impl Activation {
    /// The negative-side slope gamma (0 for ReLU).
    #[inline]
    pub fn slope(self) -> f64 {
        match self {
            Activation::Relu => 0.0,
            Activation::LeakyRelu { slope } => slope,
        }
    }

    /// sigma(z).
    #[inline]
    pub fn value(self, z: f64) -> f64 {
        if z > 0.0 {
            z
        } else {
            self.slope() * z
        }
    }

    /// sigma'(z), with sigma'(0) = gamma.
    #[inline]
    pub fn derivative(self, z: f64) -> f64 {
        if z > 0.0 {
            1.0
        } else {
            self.slope()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// ReLU and leaky ReLU are positively homogeneous: sigma(c z) = c sigma(z), c > 0.
        #[test]
        fn positive_homogeneity(z in -1e3f64..1e3, c in 1e-6f64..1e6, slope in 0.0f64..1.0) {
            for act in [Activation::Relu, Activation::LeakyRelu { slope }] {
                let lhs = act.value(c * z);
                let rhs = c * act.value(z);
                prop_assert!((lhs - rhs).abs() <= 1e-12 * rhs.abs().max(1e-300));
            }
        }

        /// The derivative matches a central finite difference away from the kink.
        #[test]
        fn derivative_matches_finite_difference(z in -10.0f64..10.0, slope in 0.0f64..1.0) {
            prop_assume!(z.abs() > 1e-3);
            let h = 1e-6;
            for act in [Activation::Relu, Activation::LeakyRelu { slope }] {
                let fd = (act.value(z + h) - act.value(z - h)) / (2.0 * h);
                prop_assert!((fd - act.derivative(z)).abs() < 1e-6);
            }
        }
    }
}
