//! The checkpoint round trip and malformed checkpoints, and `fit` resuming
//! from its state file and stopping at zero training error.

use super::*;

#[test]
fn safetensors_round_trip_keeps_names_shapes_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let arch = Arch::CourseCnn {
        k: 16,
        h1: 150,
        h2: 80,
    };
    let mut m = Model::for_arch(&arch, 4).unwrap();
    m.init_pytorch(&mut rng(3));
    let meta = [("arch".to_string(), arch.label())].into_iter().collect();
    checkpoint::save(&m, &path, &meta).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert_eq!(header_len % 8, 0);
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + header_len]).unwrap();
    assert_eq!(
        header["conv1.weight"]["shape"],
        serde_json::json!([6, 3, 5, 5])
    );
    assert_eq!(header["fc3.bias"]["shape"], serde_json::json!([4]));
    assert_eq!(header["__metadata__"]["arch"], "cnn16-150-80");
    let mut back = Model::for_arch(&arch, 4).unwrap();
    let meta_back = checkpoint::load(&mut back, &path).unwrap();
    assert_same_weights(&back.params, &m.params, "checkpoint round trip");
    assert_eq!(meta_back, meta);
    // A different architecture is refused, naming the tensor.
    let mut other = Model::for_arch(
        &Arch::CourseCnn {
            k: 8,
            h1: 150,
            h2: 80,
        },
        4,
    )
    .unwrap();
    let e = checkpoint::load(&mut other, &path).unwrap_err().to_string();
    assert!(
        e.contains("conv2.weight") && e.contains("m.safetensors"),
        "{e}"
    );
}

#[test]
fn malformed_checkpoints_are_bad_input() {
    let p = Path::new("x.safetensors");
    assert!(checkpoint::from_bytes(p, b"abc").is_err());
    let mut b = 1000u64.to_le_bytes().to_vec();
    b.extend_from_slice(b"{}");
    assert!(checkpoint::from_bytes(p, &b)
        .unwrap_err()
        .to_string()
        .contains("header length"));
    let t = vec![Tensor {
        name: "a".into(),
        shape: vec![2, 3],
        data: vec![1.0; 6],
    }];
    let mut bytes = checkpoint::to_bytes(&t, &Default::default());
    bytes.truncate(bytes.len() - 4);
    let e = checkpoint::from_bytes(p, &bytes).unwrap_err().to_string();
    assert!(e.contains("tensor a"), "{e}");
    assert_eq!(e.lines().count(), 1);
}

/// A small random task for `fit`: 24 training and 8 test images, 4 classes.
fn fit_task(seed: u64) -> (Vec<f32>, Vec<u8>, Vec<f32>, Vec<u8>) {
    let mut g = rng(seed);
    let mut pixels = |n: usize| -> Vec<f32> {
        (0..n * 3072)
            .map(|_| g.random_range(-1.0f32..1.0))
            .collect()
    };
    let (train, test) = (pixels(24), pixels(8));
    let labels = |n: usize| (0..n).map(|i| (i * 7 % 4) as u8).collect::<Vec<u8>>();
    (train, labels(24), test, labels(8))
}

fn fit_run(
    epochs: usize,
    state: Option<&crate::nets::cnn::fit::TrainStateFile>,
    stop_at_zero: bool,
    interrupt_after: Option<usize>,
) -> crate::error::Result<(crate::nets::cnn::fit::FitOutcome, Vec<f32>)> {
    use crate::nets::cnn::fit::{fit, FitConfig, FitData};
    let (trp, trl, tep, tel) = fit_task(21);
    let clean: Vec<u8> = trl.iter().map(|&y| (y + 1) % 4).collect();
    let data = FitData {
        train: Images {
            pixels: &trp,
            labels: &trl,
        },
        train_clean_labels: Some(&clean),
        test: Images {
            pixels: &tep,
            labels: &tel,
        },
    };
    let arch = Arch::CourseCnn {
        k: 6,
        h1: 24,
        h2: 12,
    };
    let mut model = Model::for_arch(&arch, 4).unwrap();
    model.init_pytorch(&mut rng(22));
    let cfg = FitConfig {
        epochs,
        batch: 5,
        eval_batch: 7,
        eval_every: 2,
        sgd: SgdConfig {
            lr: 0.01,
            momentum: 0.9,
            weight_decay: 1e-3,
        },
        stop_at_zero_train_error: stop_at_zero,
        device: crate::nets::cnn::Device::Cpu,
    };
    let out = fit(
        &mut model,
        &data,
        &cfg,
        rng(23),
        state,
        "test-run",
        |e, _| match interrupt_after {
            Some(k) if e > k => Err(crate::error::Error::bad("interrupted".to_string())),
            _ => Ok(()),
        },
    )?;
    Ok((out, model.params))
}

#[test]
fn fit_resumes_from_its_state_file_bit_identically() {
    let dir = tempfile::tempdir().unwrap();
    let (full, full_params) = fit_run(9, None, false, None).unwrap();
    assert_eq!(full.epochs_run, 9);
    assert_eq!(full.steps_run, 9 * 5);
    let epochs: Vec<usize> = full.evals.iter().map(|e| e.epoch).collect();
    assert_eq!(epochs, [0, 2, 4, 6, 8, 9]);
    assert!(full.evals.iter().all(|e| e.train_clean_error.is_some()));
    for interrupt in [1, 4, 7] {
        let state = crate::nets::cnn::fit::TrainStateFile {
            path: dir.path().join(format!("state{interrupt}.safetensors")),
            save_every: 3,
            resume: true,
            before_save: None,
        };
        // Killed during epoch interrupt + 1: the state holds the last multiple of 3.
        assert!(fit_run(9, Some(&state), false, Some(interrupt)).is_err());
        assert_eq!(state.path.exists(), interrupt >= 3, "interrupt {interrupt}");
        let (resumed, params) = fit_run(9, Some(&state), false, None).unwrap();
        let what = format!("interrupted after epoch {interrupt}");
        assert_same_outcome(&resumed, &full, &what);
        assert_same_weights(&params, &full_params, &what);
    }
    // Without `resume` an existing state file is ignored (a fresh run).
    let state = crate::nets::cnn::fit::TrainStateFile {
        path: dir.path().join("state7.safetensors"),
        save_every: 0,
        resume: false,
        before_save: None,
    };
    let fresh = fit_run(9, Some(&state), false, None).unwrap().0;
    assert_same_outcome(&fresh, &full, "resume off");
}

#[test]
fn fit_stops_at_the_first_zero_training_error() {
    let (full, _) = fit_run(80, None, false, None).unwrap();
    let first = full
        .zero_train_error_epoch
        .expect("24 images are fitted in 80 epochs");
    let (stopped, _) = fit_run(80, None, true, None).unwrap();
    assert_eq!(stopped.epochs_run, first);
    assert_eq!(stopped.steps_run, first as u64 * 5);
    assert_eq!(stopped.evals.last().unwrap().train_error, 0.0);
    let prefix = stopped.evals.len();
    if let Some(i) = (0..prefix).find(|&i| stopped.evals[i] != full.evals[i]) {
        panic!(
            "stopped run's eval {i} differs from the full run's: {:?} vs {:?}",
            stopped.evals[i], full.evals[i]
        );
    }
}
