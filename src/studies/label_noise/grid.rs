//! The phase grid of a label-noise run as the claims and the figures read
//! it: the rows of cells.csv by cell (p/n, n, eta), each cell's medians over
//! seeds, its closed-form theory (`theory::label_noise::MinNormTheory`) and
//! the regimes (benign, tempered, catastrophic) measured and predicted.

use super::csv::Row;
use super::{p_of, position, LabelNoiseSpec};
use crate::data::gaussian_mixture::NoiseSpectrum;
use crate::data::label_noise::FlipRule;
use crate::record::quantile;
use crate::theory::label_noise::{bayes_error, normal_cdf, MinNormTheory, Regime};

/// The grid's runs by cell (ratio, n, eta) -> rows over seeds.
pub(super) struct Grid<'a> {
    spec: &'a LabelNoiseSpec,
    cells: Vec<Vec<Vec<Vec<&'a Row>>>>,
}

impl<'a> Grid<'a> {
    pub(super) fn new(spec: &'a LabelNoiseSpec, rows: &'a [Row]) -> Self {
        let d = &spec.data;
        let mut cells = vec![vec![vec![Vec::new(); d.eta.len()]; d.n.len()]; d.p_over_n.len()];
        for r in rows {
            if let (Some(ri), Some(ni), Some(ei)) = (
                position(&d.p_over_n, r.p_over_n),
                d.n.iter().position(|&n| n == r.n),
                position(&d.eta, r.eta),
            ) {
                cells[ri][ni][ei].push(r);
            }
        }
        Grid { spec, cells }
    }

    /// The values of `f` over every seed of cell (ratio, n, eta), NaN
    /// included: a seed that could not be measured leaves the cell's median,
    /// pool or count undefined, so the rows that read it are inconclusive.
    /// (Review finding, 2026-12-06: the non-finite values were filtered out
    /// here, so a seed with a NaN SNR silently left the claims' medians and
    /// the SVP pools.)
    pub(super) fn values(
        &self,
        ri: usize,
        ni: usize,
        ei: usize,
        f: impl Fn(&Row) -> f64,
    ) -> Vec<f64> {
        self.cells[ri][ni][ei].iter().map(|r| f(r)).collect()
    }

    /// Whether the runs of (ratio, n) fit an SVM: p > n, where X X^T is
    /// invertible (`run_grid_job` fits one exactly there; p = n is refused
    /// by validation).
    pub(super) fn has_svm(&self, ri: usize, ni: usize) -> bool {
        self.p(ri, ni) > self.spec.data.n[ni]
    }

    /// The values of an SVM quantity (`snr_svm`, `all_support`,
    /// `one_minus_cos`) over the seeds of the cell: none where p < n, whose
    /// rows hold NaN by design (no SVM is fitted); elsewhere `values`, NaN
    /// included.
    pub(super) fn svm_values(
        &self,
        ri: usize,
        ni: usize,
        ei: usize,
        f: impl Fn(&Row) -> f64,
    ) -> Vec<f64> {
        if self.has_svm(ri, ni) {
            self.values(ri, ni, ei, f)
        } else {
            Vec::new()
        }
    }

    /// Median over seeds of the min-norm SNR of cell (ratio, n, eta) (NaN:
    /// no seed, or a seed without a number).
    pub(super) fn median_snr(&self, ri: usize, ni: usize, ei: usize) -> f64 {
        quantile(&self.values(ri, ni, ei, |r| r.snr_min_norm), 0.5)
    }

    /// Median over seeds of the SVM's SNR of the cell (NaN: no SVM, or a
    /// seed without a number).
    pub(super) fn median_svm_snr(&self, ri: usize, ni: usize, ei: usize) -> f64 {
        quantile(&self.svm_values(ri, ni, ei, |r| r.snr_svm), 0.5)
    }

    /// The dimension p of (ratio, n).
    pub(super) fn p(&self, ri: usize, ni: usize) -> usize {
        p_of(self.spec.data.p_over_n[ri], self.spec.data.n[ni])
    }

    /// The fraction of training labels flipped at (n, eta): round(eta n)/n
    /// under the exact rule, eta under Bernoulli flips.
    pub(super) fn flip_fraction(&self, ni: usize, ei: usize) -> f64 {
        let (n, eta) = (self.spec.data.n[ni] as f64, self.spec.data.eta[ei]);
        match self.spec.data.flip_rule {
            FlipRule::Exact => (eta * n).round() / n,
            FlipRule::Bernoulli => eta,
        }
    }

    /// The closed form of the min-norm classifier at cell (ratio, n, eta).
    pub(super) fn theory(&self, ri: usize, ni: usize, ei: usize) -> MinNormTheory {
        let p = self.p(ri, ni);
        MinNormTheory {
            n: self.spec.data.n[ni] as f64,
            p: p as f64,
            mu_norm_sq: self.spec.data.signal.mu_norm_sq(p),
            flip_fraction: self.flip_fraction(ni, ei),
        }
    }

    /// Theory applies: isotropic noise (the closed forms assume it).
    pub(super) fn has_theory(&self) -> bool {
        self.spec.data.noise == NoiseSpectrum::Isotropic
    }

    /// The Bayes error Phi(-||mu||) at (ratio, n).
    pub(super) fn bayes(&self, ri: usize, ni: usize) -> f64 {
        bayes_error(self.spec.data.signal.mu_norm_sq(self.p(ri, ni)).sqrt())
    }

    /// Measured regime of cell (ratio, eta) over n, from median clean errors.
    pub(super) fn measured_regime(&self, ri: usize, ei: usize, svm: bool) -> Option<Regime> {
        let nn = self.spec.data.n.len();
        let errors: Vec<f64> = (0..nn)
            .map(|ni| {
                let s = if svm {
                    self.median_svm_snr(ri, ni, ei)
                } else {
                    self.median_snr(ri, ni, ei)
                };
                normal_cdf(-s)
            })
            .collect();
        if errors.iter().any(|e| !e.is_finite()) {
            return None;
        }
        let bayes: Vec<f64> = (0..nn).map(|ni| self.bayes(ri, ni)).collect();
        Some(self.spec.claims.regime.classify(&errors, &bayes))
    }

    /// Theory's regime of the cell: the same rule on the closed-form curve.
    pub(super) fn theory_regime(&self, ri: usize, ei: usize) -> Option<Regime> {
        let nn = self.spec.data.n.len();
        let errors: Option<Vec<f64>> = (0..nn)
            .map(|ni| self.theory(ri, ni, ei).clean_error())
            .collect();
        let bayes: Vec<f64> = (0..nn).map(|ni| self.bayes(ri, ni)).collect();
        errors.map(|e| self.spec.claims.regime.classify(&e, &bayes))
    }

    /// Measured benign boundaries for eta: (largest benign ratio below 1 with all
    /// smaller ratios benign, smallest benign ratio above 1 with all larger benign).
    pub(super) fn benign_boundary(&self, ei: usize, svm: bool) -> (f64, f64) {
        let ratios = &self.spec.data.p_over_n;
        let benign = |ri: usize| self.measured_regime(ri, ei, svm) == Some(Regime::Benign);
        let mut low = f64::NAN;
        for (ri, &r) in ratios.iter().enumerate().filter(|(_, &r)| r < 1.0) {
            if benign(ri) {
                low = r;
            } else {
                break;
            }
        }
        let mut high = f64::NAN;
        for (ri, &r) in ratios.iter().enumerate().rev().filter(|(_, &r)| r > 1.0) {
            if benign(ri) {
                high = r;
            } else {
                break;
            }
        }
        (low, high)
    }
}
