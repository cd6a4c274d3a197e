//! Xu, Wang, Frei, Vardi, Hu (ICLR 2024), "Benign Overfitting and Grokking in
//! ReLU Networks for XOR Cluster Data": assumptions A1-A6 and Theorem 3.1's
//! predicted quantities, as plain functions of the problem's sizes.

use serde::Serialize;

/// The sizes Theorem 3.1 is stated in.
#[derive(Clone, Copy, Debug)]
pub struct XorRegime {
    pub p: f64,
    pub n: f64,
    pub m: f64,
    pub mu_norm_sq: f64,
    pub eta: f64,
    pub alpha: f64,
    pub omega_init: f64,
}

/// One assumption with both sides evaluated: it holds when lhs <= rhs.
#[derive(Clone, Debug, Serialize)]
pub struct Assumption {
    pub id: &'static str,
    pub statement: &'static str,
    pub lhs: f64,
    pub rhs: f64,
    pub holds: bool,
}

fn assumption(id: &'static str, statement: &'static str, lhs: f64, rhs: f64) -> Assumption {
    Assumption {
        id,
        statement,
        lhs,
        rhs,
        holds: lhs <= rhs,
    }
}

impl XorRegime {
    /// A1-A6 for the constant C, each written as lhs <= rhs.
    pub fn assumptions(&self, c: f64) -> Vec<Assumption> {
        let XorRegime {
            p,
            n,
            m,
            mu_norm_sq,
            eta,
            alpha,
            ..
        } = *self;
        vec![
            assumption(
                "A1",
                "C n^0.51 sqrt(p) <= ||mu||^2",
                c * n.powf(0.51) * p.sqrt(),
                mu_norm_sq,
            ),
            assumption("A2", "C n^2 ||mu||^2 <= p", c * n * n * mu_norm_sq, p),
            assumption("A3", "eta <= 1/C", eta, 1.0 / c),
            assumption("A4", "alpha <= 1/(C n p)", alpha, 1.0 / (c * n * p)),
            self.a5(),
            assumption("A6", "C n^0.02 <= m", c * n.powf(0.02), m),
        ]
    }

    /// A5, the init scale small against the step: omega_init n m^(3/2) p <=
    /// alpha ||mu||^2 (it needs no constant C).
    fn a5(&self) -> Assumption {
        assumption(
            "A5",
            "omega_init n m^(3/2) p <= alpha ||mu||^2",
            self.omega_init * self.n * self.m.powf(1.5) * self.p,
            self.alpha * self.mu_norm_sq,
        )
    }

    /// The A5 boundary: the omega_init at which A5 holds with equality for
    /// this step size, alpha ||mu||^2 / (n m^(3/2) p); A5 holds below it.
    pub fn a5_boundary_omega(&self) -> f64 {
        let unit = XorRegime {
            omega_init: 1.0,
            ..*self
        }
        .a5();
        unit.rhs / unit.lhs
    }

    /// The coefficient of the one-step linear limit: as m -> infinity,
    /// f(x; W(1)) -> (alpha / 8n) <sum_i y_i x_i, x>.
    pub fn one_step_linear_coefficient(&self) -> f64 {
        self.alpha / (8.0 * self.n)
    }

    /// Part 1's horizon: 100% training accuracy for 1 <= t <= sqrt(n).
    pub fn fit_horizon(&self) -> usize {
        self.n.sqrt().floor() as usize
    }

    /// Part 3's start C n^0.01: generalisation from this step to sqrt(n).
    pub fn generalization_start(&self, c: f64) -> f64 {
        c * self.n.powf(0.01)
    }

    /// The exponent n^0.99 ||mu||^4 / p of part 3's bound exp(-Omega(.)).
    pub fn late_error_exponent(&self) -> f64 {
        self.n.powf(0.99) * self.mu_norm_sq * self.mu_norm_sq / self.p
    }

    /// Part 2's scale of deviation from chance at t = 1: n^-Omega(1), written n^-1/2.
    pub fn chance_deviation_scale(&self) -> f64 {
        self.n.powf(-0.5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The paper's App. A.7 setting (omega_init 1e-15, alpha 1e-12).
    fn paper_setting() -> XorRegime {
        XorRegime {
            p: 40000.0,
            n: 200.0,
            m: 1000.0,
            mu_norm_sq: 1250.0,
            eta: 0.05,
            alpha: 1e-12,
            omega_init: 1e-15,
        }
    }

    /// The paper's App. A.7 setting violates A1, A2 and A5.
    #[test]
    fn paper_setting_violates_a1_a2_a5() {
        let r = paper_setting();
        let a = r.assumptions(1.0);
        let failed: Vec<&str> = a.iter().filter(|x| !x.holds).map(|x| x.id).collect();
        assert_eq!(failed, vec!["A1", "A2", "A5"]);
    }

    /// At the boundary omega_init A5 is an equality, below it A5 holds,
    /// above it A5 fails.
    #[test]
    fn a5_boundary_is_where_a5_turns() {
        let r = paper_setting();
        let w = r.a5_boundary_omega();
        assert!((w - 1e-12 * 1250.0 / (200.0 * 1000f64.powf(1.5) * 40000.0)).abs() < 1e-30);
        let holds = |omega_init: f64| XorRegime { omega_init, ..r }.a5().holds;
        assert!(holds(0.5 * w) && !holds(2.0 * w));
    }
}
