//! What several studies share and no single study owns: step schedules,
//! the cells of a factorial sweep, spec checks, seed statistics and their
//! median bands; typed CSV rows ([`csv`]); [`cnn`] for the CIFAR-10 CNN
//! studies; [`probe`], the neuron instruments of wide two-layer networks.

pub mod cnn;
pub mod csv;
pub mod probe;

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
}
