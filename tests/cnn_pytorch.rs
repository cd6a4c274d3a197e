//! A checkpoint written by the CNN engine loads into the same architecture
//! in PyTorch (benches/peers/cnn_check_logits.py) and gives the same logits.
//! Runs the Python of `OVERFIT_PYTHON`, else python3 (`bench::python`);
//! skipped, with the reason printed, where it has no torch.

mod common;

use std::process::Command;

use overfit::nets::cnn::checkpoint::{self, Tensor};
use overfit::nets::cnn::model::logits;
use overfit::nets::cnn::{Arch, Images, Model};
use rand::RngExt;

#[test]
fn checkpoint_gives_the_same_logits_in_pytorch() {
    let has_torch = Command::new(overfit::bench::python())
        .args(["-c", "import torch, numpy"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !has_torch {
        common::skip(
            "checkpoint_gives_the_same_logits_in_pytorch",
            "no python with torch and numpy (python3, or OVERFIT_PYTHON)",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut rng = overfit::rng::stream(11, 0, "pytorch-check");
    let arch = Arch::CourseCnn {
        k: 10,
        h1: 50,
        h2: 25,
    };
    let mut model = Model::for_arch(&arch, 4).unwrap();
    model.init_pytorch(&mut rng);
    let n = 8;
    let pixels: Vec<f32> = (0..n * 3072)
        .map(|_| rng.random_range(-1.0f32..1.0))
        .collect();
    let labels = vec![0u8; n];
    let images = Images {
        pixels: &pixels,
        labels: &labels,
    };
    let ours = logits(&model, &mut model.workspace(3), &images);
    let model_path = dir.path().join("model.safetensors");
    checkpoint::save(&model, &model_path, &Default::default()).unwrap();
    let case = [
        Tensor {
            name: "x".into(),
            shape: vec![n, 3, 32, 32],
            data: pixels.clone(),
        },
        Tensor {
            name: "logits".into(),
            shape: vec![n, 4],
            data: ours,
        },
    ];
    let case_path = dir.path().join("case.safetensors");
    std::fs::write(&case_path, checkpoint::to_bytes(&case, &Default::default())).unwrap();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers/cnn_check_logits.py");
    let out = Command::new(overfit::bench::python())
        .arg(script)
        .arg(&model_path)
        .arg(&case_path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let diff: f64 = text
        .split("max_abs_diff=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    eprintln!("{}", text.trim());
    assert!(diff < 1e-4, "{text}");
}
