//! Tests of the label-noise runs themselves (the claims' tests are in
//! claims/tests.rs).

use super::*;

/// A run stopped by a numerical error names itself in the one-line error
/// (review finding, 2026-12-06: logistic GD's divergence, and the Gram,
/// SVM and smoothness errors, exited 3 without the run's p/n, eta and
/// seed): a step size of 1e300 / L overflows ||w|| at the first step.
#[test]
fn numerical_errors_name_their_run() {
    let mut spec: LabelNoiseSpec = crate::spec::committed("label_noise_phase", true);
    let g = spec
        .logistic_gd
        .as_mut()
        .expect("the quick spec runs logistic GD");
    (g.n, g.p_over_n, g.eta, g.seeds, g.steps) = (8, vec![4.0], vec![0.1], 1, 100);
    g.lr_factor = 1e300;
    let run = Run {
        spec,
        seed: 5,
        name: "diverges".into(),
        jobs: Vec::new(),
        gd_jobs: vec![(0, 0, 0)],
    };
    match run.run_unit(1, 0) {
        Err(Error::Numerical(msg)) => assert_eq!(
            msg,
            "logistic GD run p/n = 4, n = 8, eta = 0.1, seed 0: ||w|| = inf at step 1"
        ),
        Err(other) => panic!("not a numerical error: {other}"),
        Ok(_) => panic!("a step size of 1e300 / L did not diverge"),
    }
    // Other errors pass as they are.
    let bad = in_run("run".into(), Error::bad("input"));
    assert!(
        !matches!(bad, Error::Numerical(_)) && bad.to_string() == Error::bad("input").to_string()
    );
}
