//! The figure run's extra files, as typed rows: neurons.csv (each neuron's
//! a_j and projections <w_j, mu1>, <w_j, mu2> at the recorded steps, for
//! Figs 2-3) and points.csv (the training points in the (mu1, mu2) plane,
//! for Fig 2). The figures read them back by column name.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::RunRecord;
use crate::error::Result;
use crate::studies::toolkit::csv::{display, read_csv, to_csv_with_header};

/// One row of neurons.csv: neuron j of run `run` of `panel` at `step`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(super) struct NeuronRow {
    pub panel: String,
    pub run: usize,
    pub step: usize,
    pub neuron: usize,
    /// The second-layer weight a_j.
    #[serde(serialize_with = "display")]
    pub a: f64,
    /// <w_j, mu1> and <w_j, mu2>.
    #[serde(serialize_with = "display")]
    pub proj_mu1: f64,
    #[serde(serialize_with = "display")]
    pub proj_mu2: f64,
}

/// One row of points.csv: a training point of run `run` of `panel`,
/// projected on mu1/||mu|| and mu2/||mu||, with its (noisy) label.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(super) struct PointRow {
    pub panel: String,
    pub run: usize,
    #[serde(serialize_with = "display")]
    pub u1: f64,
    #[serde(serialize_with = "display")]
    pub u2: f64,
    #[serde(serialize_with = "display")]
    pub label: f64,
}

/// The neurons.csv and points.csv rows of a panel's runs (only its figure
/// run records any).
pub(super) fn figure_rows(panel: &str, recs: &[RunRecord]) -> (Vec<NeuronRow>, Vec<PointRow>) {
    let (mut neurons, mut points) = (Vec::new(), Vec::new());
    for (run, rec) in recs.iter().enumerate() {
        for (step, rows) in &rec.neurons {
            for (neuron, row) in rows.iter().enumerate() {
                neurons.push(NeuronRow {
                    panel: panel.to_string(),
                    run,
                    step: *step,
                    neuron,
                    a: row[0],
                    proj_mu1: row[1],
                    proj_mu2: row[2],
                });
            }
        }
        for pt in &rec.points {
            points.push(PointRow {
                panel: panel.to_string(),
                run,
                u1: pt[0],
                u2: pt[1],
                label: pt[2],
            });
        }
    }
    (neurons, points)
}

/// The text of neurons.csv and points.csv (each with its header even when
/// no run recorded the figure).
pub(super) fn figure_files(neurons: &[NeuronRow], points: &[PointRow]) -> Vec<(String, String)> {
    vec![
        ("neurons.csv".into(), to_csv_with_header(neurons)),
        ("points.csv".into(), to_csv_with_header(points)),
    ]
}

/// neurons.csv of run 0 of `panel`, grouped by step in file order.
pub(super) fn read_neurons(path: &Path, panel: &str) -> Result<Vec<(usize, Vec<NeuronRow>)>> {
    let mut out: Vec<(usize, Vec<NeuronRow>)> = Vec::new();
    for row in read_csv::<NeuronRow>(path)? {
        if row.panel != panel || row.run != 0 {
            continue;
        }
        match out.iter_mut().find(|(s, _)| *s == row.step) {
            Some((_, v)) => v.push(row),
            None => out.push((row.step, vec![row])),
        }
    }
    Ok(out)
}

/// points.csv of run 0 of `panel`.
pub(super) fn read_points(path: &Path, panel: &str) -> Result<Vec<PointRow>> {
    Ok(read_csv::<PointRow>(path)?
        .into_iter()
        .filter(|r| r.panel == panel && r.run == 0)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes of the files the study wrote before the rows were typed:
    /// `format!` of each number (Display), the same headers, read back by name.
    #[test]
    fn rows_write_the_old_bytes_and_read_back() {
        let rec = RunRecord {
            metrics: Default::default(),
            one_step: None,
            neurons: vec![(1, vec![[0.5, -1e-7, 3.0], [-0.03125, 2.5e20, f64::NAN]])],
            points: vec![[1.25, -0.0001, 1.0], [1e-5, 2.0, -1.0]],
        };
        let (neurons, points) = figure_rows("left", std::slice::from_ref(&rec));
        let files = figure_files(&neurons, &points);
        let mut old_neurons = String::from("panel,run,step,neuron,a,proj_mu1,proj_mu2\n");
        for (t, rows) in &rec.neurons {
            for (j, row) in rows.iter().enumerate() {
                old_neurons.push_str(&format!(
                    "left,0,{t},{j},{},{},{}\n",
                    row[0], row[1], row[2]
                ));
            }
        }
        let mut old_points = String::from("panel,run,u1,u2,label\n");
        for pt in &rec.points {
            old_points.push_str(&format!("left,0,{},{},{}\n", pt[0], pt[1], pt[2]));
        }
        assert_eq!(files[0].1, old_neurons);
        assert_eq!(files[1].1, old_points);
        let empty = figure_files(&[], &[]);
        assert_eq!(empty[0].1, "panel,run,step,neuron,a,proj_mu1,proj_mu2\n");
        assert_eq!(empty[1].1, "panel,run,u1,u2,label\n");

        let dir = tempfile::tempdir().unwrap();
        for (name, text) in &files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let back = read_neurons(&dir.path().join("neurons.csv"), "left").unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].0, 1);
        assert_eq!(back[0].1[1].proj_mu1, 2.5e20);
        assert!(back[0].1[1].proj_mu2.is_nan());
        let pts = read_points(&dir.path().join("points.csv"), "left").unwrap();
        assert_eq!(pts.len(), 2);
        assert_eq!((pts[1].u1, pts[1].label), (1e-5, -1.0));
        assert!(read_points(&dir.path().join("points.csv"), "right")
            .unwrap()
            .is_empty());
    }
}
