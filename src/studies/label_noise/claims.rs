//! The claims of the label-noise study, predicted from theory only: the
//! closed form of the min-norm classifier (`theory::label_noise::MinNormTheory`)
//! and its n -> infinity limits for the phase change of Wen, Teng, Zhang (ICLR
//! 2023), the leave-one-out probability of support-vector proliferation, the
//! regimes of Mallinar et al. (NeurIPS 2022), and the implicit bias of
//! logistic GD (Soudry et al., JMLR 2018); plus two identity checks.

use super::csv::{GdRow, Row};
use super::grid::Grid;
use super::svp::calibration_claim;
use super::{position, LabelNoiseSpec};
use crate::record::{extreme, fmt_num as fmt, quantile, Claim, Measured, Prediction};
use crate::studies::toolkit::spearman_rho;
use crate::theory::label_noise::{floor_boundary, limit_snr, normal_cdf, Regime};

const SRC: &str = "Wen, Teng, Zhang ICLR 2023 (arXiv 2206.00501)";
/// Quoted in the claims and in summary.json, so part of the recorded output.
const MODEL_NOTE: &str = "the paper's own model is not recoverable; tested in the standard Gaussian-mixture model x = y mu + N(0, I_p) with linear classifiers (Chatterji & Long, JMLR 2021; Cao, Gu & Belkin, NeurIPS 2021)";

/// The regime's name in summary.json ("n/a" when it could not be measured).
fn regime_name(r: Option<Regime>) -> &'static str {
    r.map_or("n/a", Regime::name)
}

/// The grid as the claims read it, with the sizes and the ratio they quote.
struct Cx<'a> {
    spec: &'a LabelNoiseSpec,
    grid: Grid<'a>,
    /// Relative finite-n tolerance on the closed-form SNR.
    tol: f64,
    /// The smallest and largest n and their indices.
    nmin_i: usize,
    nmax_i: usize,
    nmin: usize,
    nmax: usize,
    /// The mild overparameterization ratio: its index in data.p_over_n and value.
    mild: usize,
    r_mild: f64,
}

impl Cx<'_> {
    /// The min-norm SNRs over the seeds of cell (ratio, n, eta).
    fn snr_at(&self, ri: usize, ni: usize, ei: usize) -> Vec<f64> {
        self.grid.values(ri, ni, ei, |r| r.snr_min_norm)
    }
}

/// The claims (predictions from theory only) and the summary details.
pub(super) fn analyze(
    spec: &LabelNoiseSpec,
    rows: &[Row],
    gd_rows: &[GdRow],
) -> (Vec<Claim>, serde_json::Map<String, serde_json::Value>) {
    let d = &spec.data;
    let (nmin_i, nmax_i) = (0, d.n.len() - 1);
    let mild = position(&d.p_over_n, spec.claims.mild_ratio).expect("validated");
    let cx = Cx {
        spec,
        grid: Grid::new(spec, rows),
        tol: spec.claims.snr_tolerance,
        nmin_i,
        nmax_i,
        nmin: d.n[nmin_i],
        nmax: d.n[nmax_i],
        mild,
        r_mild: d.p_over_n[mild],
    };
    let mut claims = Vec::new();
    let mut details = serde_json::Map::new();
    details.insert(
        "model".into(),
        serde_json::json!({
            "note": MODEL_NOTE,
            "signal": format!("||mu||^2 = {} p^{}", d.signal.coefficient, d.signal.p_exponent),
            "signal_reason": "||mu|| must grow for benign overfitting even without noise (SNR^2 ~ ||mu||^2/(1 + kappa) at eta = 0); at ||mu||^2 ~ sqrt(p) the classical condition n ||mu||^4 / p -> infinity holds as n grows at fixed p/n, so the only obstacle left is label noise",
            "noise": d.noise,
            "flip_rule": d.flip_rule,
            "min_norm": "p > n: interpolator X^T (X X^T)^-1 y (Cholesky of X X^T); p < n: least squares (X^T X)^-1 X^T y",
            "errors": "exact: clean = Phi(-<w,mu>/||w||), noisy = eta + (1 - 2 eta) clean; no Monte Carlo",
        }),
    );

    if cx.grid.has_theory() {
        claims.extend(benign_without_noise(&cx));
        claims.extend(noisy_plateau(&cx));
        claims.extend(support_vector_proliferation(&cx, &mut details));
        claims.extend(phase_diagram(&cx, &mut details));
    } else {
        details.insert("theory".into(), serde_json::json!("the closed forms assume isotropic noise; theory-based claims are skipped for this spectrum"));
    }
    claims.extend(identity_checks(rows));
    claims.extend(logistic_gd_claims(spec, gd_rows));
    (claims, details)
}

/// Without label noise the min-norm interpolator is benign: its SNR grows
/// with n at p/n = mild by the closed form's factor, and matches the closed
/// form at the largest n.
fn benign_without_noise(cx: &Cx<'_>) -> Vec<Claim> {
    let (d, grid) = (&cx.spec.data, &cx.grid);
    let (tol, nmin_i, nmax_i, nmin, nmax, mild, r_mild) = (
        cx.tol, cx.nmin_i, cx.nmax_i, cx.nmin, cx.nmax, cx.mild, cx.r_mild,
    );
    let mut claims = Vec::new();
    // --- eta = 0: benign.
    if let Some(e0) = position(&d.eta, 0.0) {
        let (th_min, th_max) = (grid.theory(mild, nmin_i, e0), grid.theory(mild, nmax_i, e0));
        let (s_min, s_max) = (th_min.snr().unwrap(), th_max.snr().unwrap());
        let meas_min = grid.median_snr(mild, nmin_i, e0);
        let meas_max = grid.median_snr(mild, nmax_i, e0);
        claims.push(Claim::new(
            "benign_without_noise.snr_growth",
            format!(
                "eta = 0, p/n = {r_mild}: the clean error falls toward 0 as n grows from {nmin} to {nmax} (benign): the SNR <w,mu>/||w|| of the min-norm interpolator grows by the closed form's factor {} (clean error {} -> {}, limit 0 as ||mu|| -> infinity); measured: ratio of median SNRs",
                fmt(s_max / s_min), fmt(normal_cdf(-s_min)), fmt(normal_cdf(-s_max))
            ),
            format!("{SRC}, phase change: benign without label noise ({MODEL_NOTE}); closed form in theory::label_noise, tolerance {tol} relative"),
            Prediction::AtLeast { bound: (1.0 - tol) * s_max / s_min },
            Measured::single(meas_max / meas_min).with_note(format!(
                "median clean error {} at n = {nmin} -> {} at n = {nmax}",
                fmt(normal_cdf(-meas_min)), fmt(normal_cdf(-meas_max))
            )),
        ).as_hypothesis());
        claims.push(Claim::new(
            "benign_without_noise.snr_level",
            format!("eta = 0, p/n = {r_mild}, n = {nmax}: median SNR of the min-norm interpolator equals the closed form (clean error {})", fmt(normal_cdf(-s_max))),
            format!("{SRC} standard model; closed form derived in theory::label_noise (deterministic equivalents), finite-n tolerance {tol} relative"),
            Prediction::Near { value: s_max, tolerance: tol * s_max },
            Measured::median_of(&cx.snr_at(mild, nmax_i, e0)),
        ).as_hypothesis());
    }
    claims
}

/// With label noise, at p/n = mild: the SNR stays under its n -> infinity
/// ceiling (not benign) and matches the closed form; across p/n > 1, larger
/// models raise the SNR (rank correlation).
fn noisy_plateau(cx: &Cx<'_>) -> Vec<Claim> {
    let (d, c, grid) = (&cx.spec.data, &cx.spec.claims, &cx.grid);
    let (tol, nmin_i, nmax_i, nmin, nmax, mild, r_mild) = (
        cx.tol, cx.nmin_i, cx.nmax_i, cx.nmin, cx.nmax, cx.mild, cx.r_mild,
    );
    let mut claims = Vec::new();
    // --- eta > 0: the plateau at p/n = mild, and larger models.
    for (ei, &eta) in d.eta.iter().enumerate().filter(|(_, &e)| e > 0.0) {
        let ceiling = limit_snr(r_mild, grid.flip_fraction(nmax_i, ei));
        let th_max = grid.theory(mild, nmax_i, ei).snr().unwrap();
        claims.push(Claim::new(
            format!("noisy_plateau.eta{eta}.not_benign"),
            format!(
                "eta = {eta}, p/n = {r_mild}: the clean error plateaus at a positive level as n grows (not benign): the SNR cannot exceed its n -> infinity ceiling sqrt((p/n - 1) s^2/(1 - s^2)) = {}, s = 1 - 2 eta (clean error >= {} in the limit); measured: median SNR at n = {nmax} against the ceiling plus {tol} relative (clean error >= {})",
                fmt(ceiling), fmt(normal_cdf(-ceiling)), fmt(normal_cdf(-ceiling * (1.0 + tol)))
            ),
            format!("{SRC}, phase change: label noise breaks benign overfitting under mild overparameterization ({MODEL_NOTE}); ceiling from the closed form's limit, +{tol} relative"),
            Prediction::AtMost { bound: ceiling * (1.0 + tol) },
            Measured::median_of(&cx.snr_at(mild, nmax_i, ei)).with_note(format!(
                "median clean error {} at n = {nmin}, {} at n = {nmax}",
                fmt(normal_cdf(-grid.median_snr(mild, nmin_i, ei))),
                fmt(normal_cdf(-grid.median_snr(mild, nmax_i, ei)))
            )),
        )
        // The paper's phase change, read against this project's closed form's
        // n -> infinity limit: a hypothesis, like snr_growth, not a check (it
        // was one from 68988d4 to a review finding of 2026-12-06: it is no
        // identity and no fit; a simulation without label noise, or a
        // min-norm solution that grew with n, fails it).
        .as_hypothesis());
        claims.push(Claim::new(
            format!("noisy_plateau.eta{eta}.snr_level"),
            format!("eta = {eta}, p/n = {r_mild}, n = {nmax}: median SNR equals the closed form (clean error {})", fmt(normal_cdf(-th_max))),
            format!("{SRC} standard model; closed form derived in theory::label_noise, tolerance {tol} relative"),
            Prediction::Near { value: th_max, tolerance: tol * th_max },
            Measured::median_of(&cx.snr_at(mild, nmax_i, ei)),
        ).as_hypothesis());
        let over: Vec<usize> = (0..d.p_over_n.len())
            .filter(|&ri| d.p_over_n[ri] > 1.0)
            .collect();
        if over.len() >= 3 {
            let xs: Vec<f64> = over.iter().map(|&ri| d.p_over_n[ri]).collect();
            let ys: Vec<f64> = over
                .iter()
                .map(|&ri| grid.median_snr(ri, nmax_i, ei))
                .collect();
            let (first, last) = (over[0], *over.last().unwrap());
            let th = |ri: usize| {
                grid.theory(ri, nmax_i, ei)
                    .clean_error()
                    .unwrap_or(f64::NAN)
            };
            claims.push(Claim::new(
                format!("larger_models_counter_noise.eta{eta}"),
                format!(
                    "eta = {eta}, n = {nmax}: raising p/n lowers the clean error toward 0 (closed form: strictly increasing SNR in p/n, error {} at p/n = {} -> {} at p/n = {}; floor at n -> infinity {} -> {}); measured: Spearman correlation of median SNR with p/n over p/n > 1",
                    fmt(th(first)), d.p_over_n[first], fmt(th(last)), d.p_over_n[last],
                    fmt(normal_cdf(-limit_snr(d.p_over_n[first], grid.flip_fraction(nmax_i, ei)))),
                    fmt(normal_cdf(-limit_snr(d.p_over_n[last], grid.flip_fraction(nmax_i, ei))))
                ),
                format!("{SRC}, larger models counter label noise ({MODEL_NOTE}); theory rank correlation 1"),
                Prediction::AtLeast { bound: c.rank_correlation },
                // A cell without a finite median SNR has no rank: the correlation is undefined.
                Measured::single(if ys.iter().all(|y| y.is_finite()) { spearman_rho(&xs, &ys) } else { f64::NAN }).with_note(format!(
                    "median clean error {} at p/n = {} -> {} at p/n = {}",
                    fmt(normal_cdf(-ys[0])), xs[0], fmt(normal_cdf(-ys[ys.len() - 1])), xs[xs.len() - 1]
                )),
            ));
        }
    }

    claims
}

/// Support-vector proliferation: SVM and min-norm coincide where the
/// predicted P(SVP) is high, differ where it is low, and the measured
/// counts follow the prediction in the transition; the cells go to `details`.
/// All three are hypotheses: the cells are chosen by this project's
/// leave-one-out P(SVP), so they test that derivation, not the literature's
/// p ~ n log n threshold (a review, 2026-12-05: the "differ" pool holds cells
/// past 2 n ln n, where that threshold predicts proliferation).
fn support_vector_proliferation(
    cx: &Cx<'_>,
    details: &mut serde_json::Map<String, serde_json::Value>,
) -> Vec<Claim> {
    let (d, c, grid) = (&cx.spec.data, &cx.spec.claims, &cx.grid);
    let mut claims = Vec::new();
    // --- Support-vector proliferation.
    let mut likely = (0.0, 0usize);
    let mut unlikely = (0.0, 0usize);
    // (measured count, runs, predicted P) of each transition cell.
    let mut transition = Vec::new();
    let mut svp_cells = Vec::new();
    for ri in 0..d.p_over_n.len() {
        for ni in 0..d.n.len() {
            for ei in 0..d.eta.len() {
                let flags = grid.svm_values(ri, ni, ei, |r| r.all_support);
                let Some(prob) = grid.theory(ri, ni, ei).svp_probability() else {
                    continue;
                };
                if flags.is_empty() {
                    continue;
                }
                let with_svp = flags.iter().sum::<f64>();
                let frac = with_svp / flags.len() as f64;
                // An undefined prediction joins no pool by comparison (NaN
                // compares false), so it makes every pool undefined instead
                // of leaving the cell out unseen (review finding, 2026-12-07).
                if prob.is_nan() {
                    transition.push((with_svp, flags.len(), prob));
                    likely.0 = f64::NAN;
                    unlikely.0 = f64::NAN;
                }
                if prob > c.svp_unlikely && prob < c.svp_likely {
                    transition.push((with_svp, flags.len(), prob));
                }
                if prob >= c.svp_likely {
                    likely.0 += with_svp;
                    likely.1 += flags.len();
                }
                if prob <= c.svp_unlikely {
                    unlikely.0 += with_svp;
                    unlikely.1 += flags.len();
                }
                svp_cells.push(serde_json::json!({
                    "p_over_n": d.p_over_n[ri], "n": d.n[ni], "eta": d.eta[ei],
                    "predicted_probability": prob, "measured_fraction": frac,
                    "p_over_n_ln_n": grid.p(ri, ni) as f64 / (d.n[ni] as f64 * (d.n[ni] as f64).ln()),
                }));
            }
        }
    }
    let svp_src = "Hsu-Muthukumar-Xu 2021, Ardeshir-Sanford-Hsu 2021 (SVP once p >~ n log n); mixture-aware probability from the leave-one-out formula in theory::label_noise::MinNormTheory::svp_probability";
    // A pool with no run leaves its fraction undefined: inconclusive, with why.
    // A run without an SVP flag (NaN) leaves it undefined too.
    let pooled = |(sum, runs): (f64, usize), cells: String| {
        let m = Measured {
            value: sum / runs as f64,
            q20: None,
            q80: None,
            runs,
            note: String::new(),
            quantities: Default::default(),
        };
        if runs == 0 {
            m.with_note(format!("no run in a cell where {cells}"))
        } else if sum.is_nan() {
            m.with_note(format!(
                "a run in a cell where {cells} has no SVP flag (NaN), or a cell has no predicted P(SVP)"
            ))
        } else {
            m
        }
    };
    claims.push(Claim::new(
            "svp.coincide_where_predicted",
            format!("SVM and min-norm interpolator coincide (every point a support vector) in cells where the predicted P(SVP) >= {}: pooled fraction of runs", c.svp_likely),
            svp_src,
            Prediction::AtLeast { bound: c.svp_min_fraction },
            pooled(likely, format!("the predicted P(SVP) >= {}", c.svp_likely)),
        ).as_hypothesis());
    claims.push(Claim::new(
            "svp.differ_where_not_predicted",
            format!("SVM and min-norm interpolator differ (some point not a support vector) in cells where the predicted P(SVP) <= {} (below the transition): pooled fraction of runs with SVP", c.svp_unlikely),
            svp_src,
            Prediction::AtMost { bound: c.svp_max_fraction },
            pooled(unlikely, format!("the predicted P(SVP) <= {}", c.svp_unlikely)),
        ).as_hypothesis());
    claims.push(calibration_claim(
        &transition,
        c.svp_calibration_p_value,
        svp_src,
    ));
    details.insert(
        "support_vector_proliferation".into(),
        serde_json::Value::Array(svp_cells),
    );

    claims
}

/// The phase diagram: the measured regime of each (p/n, eta) cell against the
/// closed form's under the same rule; the cells and the benign boundaries go
/// to `details`.
fn phase_diagram(
    cx: &Cx<'_>,
    details: &mut serde_json::Map<String, serde_json::Value>,
) -> Vec<Claim> {
    let (d, c, grid) = (&cx.spec.data, &cx.spec.claims, &cx.grid);
    let nmax_i = cx.nmax_i;
    let mut claims = Vec::new();
    // --- The phase diagram: measured vs theory regimes.
    let mut cells = Vec::new();
    let (mut agree, mut total) = (0usize, 0usize);
    // Interpolating cells without a regime (a seed without a finite SNR):
    // the fraction is undefined, not taken over the others.
    let mut unjudged = Vec::new();
    for ri in 0..d.p_over_n.len() {
        for ei in 0..d.eta.len() {
            let meas = grid.measured_regime(ri, ei, false);
            let th = grid.theory_regime(ri, ei);
            // The taxonomy sorts interpolators; below p = n the min-norm
            // solution is least squares, which does not interpolate.
            match (meas, th, d.p_over_n[ri] > 1.0) {
                (Some(a), Some(b), true) => {
                    total += 1;
                    agree += usize::from(a == b);
                }
                (_, _, true) => {
                    unjudged.push(format!("p/n = {}, eta = {}", d.p_over_n[ri], d.eta[ei]))
                }
                _ => {}
            }
            let ff = grid.flip_fraction(nmax_i, ei);
            cells.push(serde_json::json!({
                "p_over_n": d.p_over_n[ri], "eta": d.eta[ei],
                "regime_measured_min_norm": regime_name(meas),
                "regime_measured_svm": regime_name(grid.measured_regime(ri, ei, true)),
                "regime_theory": regime_name(th),
                "median_clean_error_by_n": (0..d.n.len()).map(|ni| normal_cdf(-grid.median_snr(ri, ni, ei))).collect::<Vec<_>>(),
                "theory_clean_error_by_n": (0..d.n.len()).map(|ni| grid.theory(ri, ni, ei).clean_error().unwrap_or(f64::NAN)).collect::<Vec<_>>(),
                "bayes_error_by_n": (0..d.n.len()).map(|ni| grid.bayes(ri, ni)).collect::<Vec<_>>(),
                "limit_error_floor": normal_cdf(-limit_snr(d.p_over_n[ri], ff)),
            }));
        }
    }
    {
        let note = if !unjudged.is_empty() {
            format!(
                "no measured or closed-form regime (a median clean error is undefined) in {}",
                unjudged.join("; ")
            )
        } else if total > 0 {
            format!("{agree} of {total} cells")
        } else {
            "no (p/n, eta) cell with p/n > 1 has both a measured and a closed-form regime"
                .to_string()
        };
        let value = if unjudged.is_empty() {
            agree as f64 / total as f64
        } else {
            f64::NAN
        };
        claims.push(Claim::new(
            "phase_diagram.regimes_match_theory",
            format!("fraction of (p/n, eta) cells with p/n > 1 (where the min-norm solution interpolates) whose measured regime (benign / tempered / catastrophic, rule: {}) equals the regime of the closed-form curve under the same rule", c.regime.describe()),
            format!("{SRC} phase diagram; Mallinar et al. NeurIPS 2022 taxonomy"),
            Prediction::AtLeast { bound: c.regime_agreement },
            Measured::single(value)
                .with_runs(total)
                .with_note(note)
                .with_quantity("agreeing_cells", if unjudged.is_empty() { agree as f64 } else { f64::NAN })
                .with_quantity("cells", if unjudged.is_empty() { total as f64 } else { f64::NAN }),
        ));
    }
    details.insert("regime_rule".into(), serde_json::json!(c.regime.describe()));
    details.insert("phase_cells".into(), serde_json::Value::Array(cells));
    let boundaries: Vec<serde_json::Value> = d
        .eta
        .iter()
        .enumerate()
        .map(|(ei, &eta)| {
            let (lo, hi) = grid.benign_boundary(ei, false);
            let th = floor_boundary(eta, c.regime.benign_excess);
            serde_json::json!({
                "eta": eta,
                "measured_benign_below_ratio": lo, "measured_benign_above_ratio": hi,
                "limit_floor_below_benign_excess_ratios": th.map(|(a, b)| vec![a, b]),
            })
        })
        .collect();
    details.insert(
        "benign_boundary".into(),
        serde_json::Value::Array(boundaries),
    );
    claims
}

/// Identities that hold whatever the theory: every support vector means the
/// SVM is the min-norm interpolator, which fits every noisy label when p > n.
fn identity_checks(rows: &[Row]) -> Vec<Claim> {
    let mut claims = Vec::new();
    // --- Identity: SVP implies the same solution (always checkable).
    let svp_gaps: Vec<f64> = rows
        .iter()
        .filter(|r| r.all_support == 1.0)
        .map(|r| r.one_minus_cos)
        .collect();
    {
        // No run with every point a support vector: nothing to check (NaN).
        let worst = extreme(&svp_gaps, f64::max);
        let note = if svp_gaps.is_empty() {
            "no run had every point a support vector"
        } else {
            ""
        };
        claims.push(Claim::new(
            "svp.implies_equal_solutions",
            "when every point is a support vector the SVM solution is the min-norm interpolator: max over such runs of 1 - cos(w_svm, w_min_norm)",
            "KKT: all a_i > 0 forces every margin to 1, i.e. X w = y, whose min-norm solution is unique",
            Prediction::AtMost { bound: 1e-9 },
            Measured { value: worst, q20: None, q80: None, runs: svp_gaps.len(), note: note.to_string(), quantities: Default::default() },
        ).as_check());
    }
    // Interpolators fit every (noisy) label.
    let interp: Vec<f64> = rows
        .iter()
        .filter(|r| r.p > r.n)
        .map(|r| r.train_accuracy_min_norm)
        .collect();
    if !interp.is_empty() {
        let worst = extreme(&interp, f64::min);
        claims.push(Claim::new(
            "min_norm.fits_noisy_labels",
            "for p > n the min-norm interpolator fits every noisy training label: smallest training accuracy over runs",
            "X^T (X X^T)^-1 y solves X w = y exactly when X has full row rank",
            Prediction::AtLeast { bound: 1.0 },
            Measured { value: worst, q20: None, q80: None, runs: interp.len(), note: String::new(), quantities: Default::default() },
        ).as_check());
    }
    claims
}

/// Logistic GD: its direction converges to the hard-margin SVM's and it fits
/// every noisy label.
fn logistic_gd_claims(spec: &LabelNoiseSpec, gd_rows: &[GdRow]) -> Vec<Claim> {
    let mut claims = Vec::new();
    // --- Logistic GD -> SVM direction.
    if let Some(g) = &spec.logistic_gd {
        let t_final = g.steps as f64;
        let t_early = t_final / g.direction_early_factor;
        let mut ratios = Vec::new();
        let mut fits = (0usize, 0usize);
        let mut final_cos = Vec::new();
        let mut early_steps = Vec::new();
        let mut keys: Vec<(u64, u64, usize)> = gd_rows
            .iter()
            .map(|r| (r.p_over_n.to_bits(), r.eta.to_bits(), r.seed))
            .collect();
        keys.dedup();
        for key in keys {
            let run: Vec<&GdRow> = gd_rows
                .iter()
                .filter(|r| (r.p_over_n.to_bits(), r.eta.to_bits(), r.seed) == key)
                .collect();
            let Some(last) = run.last() else { continue };
            let early = run.iter().rfind(|r| r.step as f64 <= t_early);
            if let Some(e) = early {
                ratios.push(last.one_minus_cos / e.one_minus_cos);
                early_steps.push(e.step as f64);
            }
            fits.1 += 1;
            fits.0 += usize::from(last.train_accuracy == 1.0);
            final_cos.push(last.one_minus_cos);
        }
        // The bound reads the step actually recorded (the last at or before
        // t_final / direction_early_factor: the log-spaced schedule rarely has that step
        // itself), the smallest over runs where they differ: the strictest.
        let t_read = early_steps
            .iter()
            .copied()
            .reduce(f64::min)
            .unwrap_or(t_early);
        let rate = t_read.ln() / t_final.ln();
        {
            // No run recorded at or before t_early: the median is NaN.
            let direction = Measured::median_of(&ratios);
            let direction = if ratios.is_empty() {
                direction.with_note(format!(
                    "no logistic GD run has a record at t <= {}",
                    t_early as u64
                ))
            } else {
                direction.with_note(format!(
                    "median final 1 - cos = {}",
                    fmt(quantile(&final_cos, 0.5))
                ))
            };
            claims.push(Claim::new(
                "logistic_gd.direction_converges_to_svm",
                format!(
                    "logistic-loss GD's normalised direction converges to the hard-margin SVM's: 1 - cos(w(t), w_svm) at t = {} divided by its value at t = {} (the last record at or before t / {}; median over runs; theory 1/log^2 t asymptotically, so the ratio is at most log(t_early)/log(t_final) = {} even at the slower 1/log t rate)",
                    g.steps, t_read as u64, g.direction_early_factor, fmt(rate)
                ),
                "Soudry, Hoffer, Nacson, Gunasekar, Srebro JMLR 2018 Theorem 3 (w(t) = w_svm log t + O(1))",
                Prediction::AtMost { bound: rate },
                direction,
            ));
            claims.push(Claim::new(
                "logistic_gd.fits_noisy_labels",
                format!("logistic GD reaches 100% training accuracy on the noisy labels by t = {} (fraction of runs)", g.steps),
                "separable data: the logistic loss -> 0 under GD with lr < 2/L (Soudry et al. 2018, Lemma 1)",
                Prediction::AtLeast { bound: 1.0 },
                // No run: 0/0 = NaN, inconclusive.
                Measured { value: fits.0 as f64 / fits.1 as f64, q20: None, q80: None, runs: fits.1, note: if fits.1 == 0 { "no logistic GD run".to_string() } else { String::new() }, quantities: Default::default() },
            ));
        }
    }
    claims
}

#[cfg(test)]
mod tests;
