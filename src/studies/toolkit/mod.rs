//! What several studies share and no single study owns: step schedules,
//! the cells of a factorial sweep, spec checks, seed statistics and their
//! median bands, rank statistics; least-squares lines ([`stats`]); typed CSV
//! rows ([`csv`]); [`cnn`] for the
//! CIFAR-10 CNN studies; [`probe`], the neuron instruments of wide
//! two-layer networks.

pub mod cnn;
pub mod csv;
pub mod probe;
pub mod ranks;
pub mod stats;

pub use ranks::{
    average_ranks, fewer_failures_along, spearman_decrease, spearman_increase, spearman_rho,
};

use crate::error::Result;
use crate::plot::Series;
use crate::record::quantile;
use crate::spec::LoadedSpec;

/// A bad-value error for `key` of the spec, as an `Err`.
pub fn fail<T>(spec: &LoadedSpec, key: &str, msg: String) -> Result<T> {
    Err(spec.bad_value(key, msg))
}

/// Refuse a list with an entry equal to an earlier one: its entries name
/// runs (they are part of run ids in metrics.csv), so two equal ones would
/// give two runs one id. `key` names entry i with `{}` standing for i, e.g.
/// `panels[{}].id`; the error names the later entry's key and the value.
pub fn check_unique<T: PartialEq + std::fmt::Debug>(
    spec: &LoadedSpec,
    key: &str,
    items: &[T],
) -> Result<()> {
    let at = |i: usize| key.replace("{}", &i.to_string());
    for (i, item) in items.iter().enumerate() {
        if let Some(j) = items[..i].iter().position(|o| o == item) {
            return Err(spec.bad_value(
                &at(i),
                format!(
                    "{item:?} is listed twice (also {}): run ids in metrics.csv would collide",
                    at(j)
                ),
            ));
        }
    }
    Ok(())
}

/// The results of the jobs `(first, second, seed)` whose first two indices
/// are `(a, b)`, in job (seed) order: one cell of a two-factor sweep.
pub fn cell_runs<'a, T>(
    jobs: &[(usize, usize, usize)],
    results: &'a [T],
    a: usize,
    b: usize,
) -> Vec<&'a T> {
    jobs.iter()
        .zip(results)
        .filter(|((ja, jb, _), _)| *ja == a && *jb == b)
        .map(|(_, r)| r)
        .collect()
}

/// Steps at which a run records its measurements: every step up to
/// `dense_until`, then geometrically spaced by `ratio`, plus `extra` and the
/// last step. Sorted, unique, all <= `steps`.
pub fn log_schedule(steps: usize, dense_until: usize, ratio: f64, extra: &[usize]) -> Vec<usize> {
    let mut out: Vec<usize> = (0..=dense_until.min(steps)).collect();
    let mut t = dense_until.max(1) as f64;
    while (t as usize) < steps {
        t *= ratio;
        out.push((t.round() as usize).min(steps));
    }
    out.extend(extra.iter().copied().filter(|&s| s <= steps));
    out.push(steps);
    out.sort_unstable();
    out.dedup();
    out
}

/// The most steps a run may log (`log_schedule`): 1e5 steps of a few
/// metric rows each are tens of MB; more means a ratio so close to 1 (or a
/// dense_until so large) that the list of steps alone would fill memory.
pub const MAX_LOGGED_STEPS: f64 = 1e5;

/// An upper bound on `log_schedule(steps, dense_until, ratio, extra).len()`
/// less `extra`, without building it: the dense part, min(dense_until,
/// steps) plus 1; the geometric part, ceil(ln(steps / max(dense_until, 1)) /
/// ln(ratio)) plus 2 (the loop's iterations, duplicates included: rounding
/// may need one more); and the last step. ln(ratio) is `ln_1p(ratio - 1)`, exact near 1.
pub fn logged_steps_bound(steps: usize, dense_until: usize, ratio: f64) -> f64 {
    let dense = dense_until.min(steps) as f64 + 1.0;
    let start = dense_until.max(1) as f64;
    let geometric = if (steps as f64) <= start {
        0.0
    } else {
        let k = ((steps as f64 / start).ln() / (ratio - 1.0).ln_1p()).ceil() + 2.0;
        if k.is_nan() {
            f64::INFINITY
        } else {
            k
        }
    };
    dense + geometric + 1.0
}

/// Refuse (exit 2, naming `{section}.dense_until` when the dense part alone
/// is too long, else `{section}.ratio`) a schedule that would log more than
/// `MAX_LOGGED_STEPS` steps: `log_schedule` builds the whole list up front,
/// and a ratio such as 1.0000000000000002 passes `ratio > 1` yet makes it
/// grow until the allocator aborts.
pub fn check_logged_steps(
    spec: &LoadedSpec,
    section: &str,
    steps: usize,
    dense_until: usize,
    ratio: f64,
) -> Result<()> {
    let n = logged_steps_bound(steps, dense_until, ratio);
    if n > MAX_LOGGED_STEPS {
        let key = if dense_until.min(steps) as f64 >= MAX_LOGGED_STEPS {
            format!("{section}.dense_until")
        } else {
            format!("{section}.ratio")
        };
        return Err(spec.bad_value(
            &key,
            format!("steps = {steps}, dense_until = {dense_until}, ratio = {ratio} would log up to {n:.3e} steps (at most {MAX_LOGGED_STEPS:.0}): raise the ratio or lower dense_until"),
        ));
    }
    Ok(())
}

/// Refuse (exit 2, naming `{section}.coefficient` or `{section}.p_exponent`)
/// a signal ||mu||^2 = coefficient p^exponent
/// that is not finite, or above 1e100, at some p in `ps`: the Gram matrix's
/// entries are of order ||mu||^2 and LAPACK multiplies them, so beyond
/// about 1e150 it fails with a raw message (p_exponent = 400 did, exit 3),
/// and no setting of these studies needs more than a small power of p.
pub fn check_signal(
    spec: &LoadedSpec,
    section: &str,
    coefficient: f64,
    exponent: f64,
    ps: impl IntoIterator<Item = usize>,
) -> Result<()> {
    for p in ps {
        let v = coefficient * (p as f64).powf(exponent);
        if !(v.is_finite() && v <= 1e100) {
            let key = if coefficient > 1e100 {
                format!("{section}.coefficient")
            } else {
                format!("{section}.p_exponent")
            };
            return Err(spec.bad_value(
                &key,
                format!("||mu||^2 = {coefficient} p^{exponent} is {v:e} at p = {p} (at most 1e100: the Gram matrix must stay far inside f64 range)"),
            ));
        }
    }
    Ok(())
}

/// Sample standard deviation (n - 1); NaN for fewer than two values.
pub fn sd(v: &[f64]) -> f64 {
    if v.len() < 2 {
        return f64::NAN;
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

/// A median curve with its 20-80% quantile band over the values at each x
/// (`vals[i]`: the runs' values at `x[i]`), drawn with markers.
pub fn band(x: Vec<f64>, vals: &[Vec<f64>], label: String, dashed: bool) -> Series {
    Series {
        label,
        x,
        y: vals.iter().map(|v| quantile(v, 0.5)).collect(),
        band: Some((
            vals.iter().map(|v| quantile(v, 0.2)).collect(),
            vals.iter().map(|v| quantile(v, 0.8)).collect(),
        )),
        dashed,
        markers: true,
        color: None,
        reference: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_is_dense_then_geometric() {
        let s = log_schedule(1000, 10, 1.5, &[333]);
        assert_eq!(&s[..11], &(0..=10).collect::<Vec<_>>()[..]);
        assert!(s.contains(&333) && s.contains(&1000));
        assert!(s.windows(2).all(|w| w[0] < w[1]));
        assert!(s.len() < 40);
    }

    #[test]
    fn sd_is_the_sample_deviation_and_band_the_quantiles() {
        assert!((sd(&[1.0, 2.0, 3.0, 4.0]) - (5.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert!(sd(&[1.0]).is_nan());
        let s = band(
            vec![1.0],
            &[vec![0.0, 1.0, 2.0, 3.0, 4.0]],
            "x".into(),
            true,
        );
        assert_eq!(s.y, vec![2.0]);
        let (lo, hi) = s.band.unwrap();
        assert!(lo[0] < 2.0 && hi[0] > 2.0 && s.dashed && s.markers);
    }

    /// A clear decrease is significant, its mirror image is not, no failure
    /// at all is undefined, and U is Kendall's S from the counts.
    #[test]
    fn fewer_failures_along_ordered_groups() {
        let mut rng = crate::rng::stream(3, 0, "trend-test");
        let falling = [(30, 50), (15, 50), (5, 50)];
        let (u, p) = fewer_failures_along(&falling, 2000, &mut rng);
        // (30*35 - 20*15) + (30*45 - 20*5) + (15*45 - 35*5) = 750 + 1250 + 500.
        assert_eq!(u, 2500.0);
        assert!(p < 0.001, "{p}");
        let rising = [(5, 50), (15, 50), (30, 50)];
        let (u, p) = fewer_failures_along(&rising, 2000, &mut rng);
        assert_eq!(u, -2500.0);
        assert!(p > 0.99, "{p}");
        // Equal rates: the p-value is spread over (0, 1], not pinned to an end.
        let flat = [(10, 50), (10, 50), (10, 50)];
        let (u, p) = fewer_failures_along(&flat, 2000, &mut rng);
        assert_eq!(u, 0.0);
        assert!((0.3..0.8).contains(&p), "{p}");
        assert!(fewer_failures_along(&[(0, 50), (0, 50)], 100, &mut rng)
            .1
            .is_nan());
        assert!(fewer_failures_along(&[(50, 50), (20, 20)], 100, &mut rng)
            .1
            .is_nan());
    }
}
