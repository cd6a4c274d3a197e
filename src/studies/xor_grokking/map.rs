//! Beyond the paper: the grokking map, the first recorded step at which
//! clean test accuracy reaches a threshold, over a grid of (alpha,
//! omega_init), median over runs.

use super::claims::map_claims;
use super::{train_run, MapSpec, XorSpec, MAP_STREAMS};
use crate::error::Result;
use crate::record::{quantile, Claim, Metrics};
use crate::studies::toolkit::log_schedule;

/// The grokking map's runs log every step up to here (then `LOG_RATIO`).
pub const MAP_DENSE_UNTIL: usize = 20;

/// The metrics run label of map cell (alpha index i, omega index j): the
/// figure looks cells up by it, never parses it.
pub(super) fn map_run(i: usize, j: usize) -> String {
    format!("map:a{i}:w{j}")
}

/// The grokking map's cells: every (alpha index, omega index, run).
pub(super) fn map_cells(map: &MapSpec) -> Vec<(usize, usize, usize)> {
    let runs = map.runs;
    (0..map.alphas.len())
        .flat_map(|i| (0..map.omegas.len()).flat_map(move |j| (0..runs).map(move |r| (i, j, r))))
        .collect()
}

/// Run r of map cell (i, j): the first recorded step at which clean test
/// accuracy reaches the threshold (inf: not within max_steps).
pub(super) fn map_unit(
    spec: &XorSpec,
    map: &MapSpec,
    seed: u64,
    (i, j, r): (usize, usize, usize),
) -> Result<f64> {
    let schedule = log_schedule(map.max_steps, MAP_DENSE_UNTIL, super::LOG_RATIO, &[]);
    let label = format!("{}:{r}", map_run(i, j));
    // Common random numbers: run r sees the same data and W(0)/omega in every cell.
    let rec = train_run(
        spec,
        seed,
        &label,
        MAP_STREAMS.index(&[r]),
        map.alphas[i],
        map.omegas[j],
        map.max_steps,
        &schedule,
        &[],
        Some(map.threshold),
    )?;
    let hit = rec
        .metrics
        .rows
        .iter()
        .filter(|row| row.split == "test" && row.metric == "accuracy" && row.value >= map.threshold)
        .map(|row| row.step)
        .min();
    Ok(hit.map(|s| s as f64).unwrap_or(f64::INFINITY))
}

/// Beyond the paper: the first recorded step at which clean test accuracy
/// reaches the threshold, median over runs, for each (alpha, omega_init).
pub(super) fn grokking_map(
    map: &MapSpec,
    cells: &[(usize, usize, usize)],
    hits: &[f64],
) -> (Metrics, serde_json::Value, Vec<Claim>) {
    let runs = map.runs;
    let mut metrics = Metrics::default();
    let mut grid = vec![vec![f64::NAN; map.omegas.len()]; map.alphas.len()];
    for (i, row) in grid.iter_mut().enumerate() {
        for (j, cell) in row.iter_mut().enumerate() {
            let vals: Vec<f64> = cells
                .iter()
                .zip(hits)
                .filter(|((a, b, _), _)| *a == i && *b == j)
                .map(|(_, &h)| h)
                .collect();
            let med = quantile(&vals, 0.5);
            *cell = med;
            let run = map_run(i, j);
            metrics.push(&run, 0, "map", "alpha", map.alphas[i]);
            metrics.push(&run, 0, "map", "omega_init", map.omegas[j]);
            metrics.push(
                &run,
                0,
                "map",
                "median_grokking_step",
                if med.is_finite() { med } else { -1.0 },
            );
        }
    }
    let claims = map_claims(map, &grid, runs);
    let details = serde_json::json!({
        "threshold": map.threshold, "runs": runs, "max_steps": map.max_steps,
        "note": "median first recorded step with clean test accuracy >= threshold; -1 in metrics.csv = not reached within max_steps",
        "alphas": map.alphas, "omegas": map.omegas,
        "median_grokking_step": grid.iter().map(|r| r.iter().map(|v| if v.is_finite() { serde_json::json!(v) } else { serde_json::Value::Null }).collect::<Vec<_>>()).collect::<Vec<_>>(),
    });
    (metrics, details, claims)
}
