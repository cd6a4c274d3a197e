//! What several studies share and no single study owns: step schedules,
//! the cells of a factorial sweep, spec checks; typed CSV rows (`csv`) and
//! the neuron instruments of wide two-layer networks (`probe`).

pub mod csv;
pub mod probe;

use crate::error::Result;
use crate::spec::LoadedSpec;

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
}
