//! The GPU path (`--features cuda`): `--device` on the command line and
//! `train.device` in a spec (run on every machine, with and without the
//! feature), and the device engine
//! against the CPU engine: forward, backward, SGD steps and a training
//! epoch agree within f32 tolerance for several architectures and batch
//! sizes. The GPU tests skip, saying why, where no driver or GPU is present.

mod common;

use std::process::Command;

fn overfit(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_overfit"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("binary runs")
}

const TINY_BENCH: &[&str] = &[
    "bench",
    "cnn",
    "--arch",
    "4,8,6",
    "--batch",
    "4",
    "--images",
    "8",
    "--threads",
    "1",
];

/// Whether this build and machine can run the GPU path.
#[cfg(feature = "cuda")]
fn gpu_usable() -> bool {
    overfit::gpu::Gpu::open().is_ok()
}

#[cfg(not(feature = "cuda"))]
fn gpu_usable() -> bool {
    false
}

/// What the one-line error says when `cuda` is asked for and cannot run:
/// no driver (a cuda build) or no GPU code at all (a CPU build).
fn why_no_cuda() -> &'static str {
    if cfg!(feature = "cuda") {
        "no CUDA driver/GPU found"
    } else {
        "this binary was built without --features cuda"
    }
}

#[test]
fn bench_cnn_device_cuda_without_a_gpu_exits_2_with_one_line() {
    let o = overfit(&[TINY_BENCH, &["--device", "cuda"]].concat());
    if gpu_usable() {
        println!("a GPU is present: checking that --device cuda runs instead");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stdout).contains("device=cuda"));
        return;
    }
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    let expected = why_no_cuda();
    assert!(
        err.starts_with("error: --device cuda: ") && err.contains(expected),
        "{err}"
    );
}

#[test]
fn bench_cnn_device_auto_says_which_device_it_used() {
    let o = overfit(&[TINY_BENCH, &["--device", "auto"]].concat());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    let expected = if gpu_usable() {
        "device=cuda"
    } else {
        "device=cpu"
    };
    assert!(out.contains(expected), "{out}");
}

/// `bench all --device cuda` is the GPU table: its CNN rows on the GPU, the
/// GPU named in the header; without a GPU, one line and exit 2.
#[test]
fn bench_all_device_cuda_is_the_gpu_table() {
    let o = overfit(&["bench", "all", "--device", "cuda", "--quick", "--reps", "1"]);
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    if gpu_usable() {
        assert!(o.status.success(), "{err}");
        assert!(out.starts_with("GPU: "), "{out}");
        assert_eq!(out.matches("training on the GPU").count(), 3, "{out}");
        assert!(out.contains("--device cuda"), "{out}");
    } else {
        assert_eq!(o.status.code(), Some(2), "stderr: {err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.contains(why_no_cuda()), "{err}");
    }
}

/// `experiments/randomization.toml` with `device = DEVICE` in its `[train]`
/// table, run with --quick and one seed into DIR/out; returns the output.
fn run_randomization_on(dir: &std::path::Path, device: Option<&str>) -> std::process::Output {
    let good =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/randomization.toml");
    let text = std::fs::read_to_string(good).unwrap();
    assert!(text.contains("momentum = 0.9"), "fixture");
    let text = match device {
        Some(d) => text.replacen(
            "momentum = 0.9",
            &format!("momentum = 0.9\ndevice = \"{d}\""),
            1,
        ),
        None => text,
    };
    let spec = dir.join("spec-in.toml");
    std::fs::write(&spec, text).unwrap();
    let out = dir.join("out");
    let args = [
        "run",
        spec.to_str().unwrap(),
        "--quick",
        "--seeds",
        "1",
        "--threads",
        "1",
    ];
    overfit(&[&args[..], &["--out", out.to_str().unwrap()]].concat())
}

/// The quick randomization spec run with `device = DEVICE` and with the
/// default (`cpu`), each into a temporary DIR/out; both must succeed.
/// Returns (the DEVICE run's DIR, the cpu run's DIR).
fn run_randomization_on_and_on_the_cpu(device: &str) -> (tempfile::TempDir, tempfile::TempDir) {
    let (on_device, on_cpu) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for (dir, device) in [(&on_device, Some(device)), (&on_cpu, None)] {
        let o = run_randomization_on(dir.path(), device);
        assert!(
            o.status.success(),
            "{device:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    (on_device, on_cpu)
}

/// FILE in the output folder of a `run_randomization_on` DIR.
fn output(dir: &tempfile::TempDir, file: &str) -> std::path::PathBuf {
    dir.path().join("out").join(file)
}

#[test]
fn spec_train_device_cuda_without_a_gpu_exits_2_naming_the_key() {
    if gpu_usable() {
        crate::common::skip(
            "spec_train_device_cuda_without_a_gpu_exits_2_naming_the_key",
            "a GPU is present (fit_on_the_gpu_matches_fit_on_the_cpu runs instead)",
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let o = run_randomization_on(tmp.path(), Some("cuda"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    let expected = why_no_cuda();
    assert!(
        err.contains("`train.device`") && err.contains("\"cuda\"") && err.contains(expected),
        "{err}"
    );
    assert!(!tmp.path().join("out/summary.json").exists(), "no output");
}

/// `auto` on a machine without a GPU trains on the CPU: the same metrics,
/// byte for byte, as the default (`cpu`), and `details.device = "cpu"` in
/// summary.json, which a `cpu` run does not write.
#[test]
fn spec_train_device_auto_falls_back_to_the_cpu_and_records_it() {
    if gpu_usable() {
        crate::common::skip(
            "spec_train_device_auto_falls_back_to_the_cpu_and_records_it",
            "a GPU is present, so auto would not fall back",
        );
        return;
    }
    let (auto, cpu) = run_randomization_on_and_on_the_cpu("auto");
    let read = |d: &tempfile::TempDir, f: &str| std::fs::read(output(d, f)).unwrap();
    assert_eq!(
        read(&auto, "metrics.csv"),
        read(&cpu, "metrics.csv"),
        "metrics.csv"
    );
    let details = |d: &tempfile::TempDir| {
        let v: serde_json::Value = serde_json::from_slice(&read(d, "summary.json")).unwrap();
        v["details"]["device"].clone()
    };
    assert_eq!(details(&auto), serde_json::json!("cpu"));
    assert_eq!(
        details(&cpu),
        serde_json::Value::Null,
        "a cpu run records no device"
    );
}

/// On a GPU, `train.device = "cuda"` trains the quick randomization spec
/// end to end: summary.json records `details.device = "cuda"` and the GPU's
/// name, metrics.csv has the CPU run's first rows (the measurements before
/// any step, from the same initialisation) to f32 rounding, and the largest
/// difference over the rows both runs wrote is printed.
#[test]
fn spec_train_device_cuda_on_a_gpu_trains_and_records_it() {
    let name = "spec_train_device_cuda_on_a_gpu_trains_and_records_it";
    if !gpu_usable() {
        crate::common::skip(name, "no GPU (the no-GPU tests above run instead)");
        return;
    }
    let (cuda, cpu) = run_randomization_on_and_on_the_cpu("cuda");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(output(&cuda, "summary.json")).unwrap()).unwrap();
    assert_eq!(summary["details"]["device"], serde_json::json!("cuda"));
    assert!(
        summary["details"]["gpu"].is_string(),
        "{}",
        summary["details"]
    );
    // run,step,split,metric -> value
    let rows = |d: &tempfile::TempDir| -> std::collections::BTreeMap<String, f64> {
        std::fs::read_to_string(output(d, "metrics.csv"))
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| {
                let (key, value) = l.rsplit_once(',').unwrap();
                (key.to_string(), value.parse().unwrap())
            })
            .collect()
    };
    let (on_gpu, on_cpu) = (rows(&cuda), rows(&cpu));
    let mut largest = (0.0f64, String::new());
    let mut before_training = 0;
    for (key, want) in &on_cpu {
        let Some(got) = on_gpu.get(key) else { continue };
        let diff = (got - want).abs();
        if key.split(',').nth(1) == Some("0") {
            before_training += 1;
            assert!(diff <= 1e-5 * want.abs().max(1.0), "{key}: {got} vs {want}");
        }
        if diff > largest.0 {
            largest = (diff, key.clone());
        }
    }
    assert!(before_training > 0, "no step-0 rows compared");
    println!(
        "{} of {} CPU rows also on the GPU; step-0 rows {before_training}; largest difference {:.3e} at {}",
        on_cpu.keys().filter(|k| on_gpu.contains_key(*k)).count(),
        on_cpu.len(),
        largest.0,
        largest.1
    );
}

#[cfg(feature = "cuda")]
mod on_device {
    use std::sync::Arc;

    use rand::RngExt;

    use overfit::gpu::{self, Gpu, GpuModel};
    use overfit::nets::cnn::layers::Shape;
    use overfit::nets::cnn::{
        evaluate_on, fit, train_epoch, Arch, Backend, Cpu, Device, FitConfig, FitData, FitOutcome,
        Images, LayerSpec, Model, Sgd, SgdConfig, Workspace,
    };
    use overfit::nets::max_or_nan;

    /// The GPU, or None after printing why the calling test skips: only
    /// when there is no device or driver. A device that fails later in
    /// opening (its kernels' compilation, the cuBLAS handle, the stream) is
    /// a failure of this code, not a skip (review finding, 2026-12-07).
    fn gpu(test: &str) -> Option<Arc<Gpu>> {
        match Gpu::open() {
            Ok(g) => Some(Arc::new(g)),
            Err(e) if e.to_string().contains(super::why_no_cuda()) => {
                crate::common::skip(test, &e.to_string());
                None
            }
            Err(e) => panic!("{test}: the GPU is there and failed to open: {e}"),
        }
    }

    fn rng(seed: u64) -> overfit::rng::Rng {
        overfit::rng::stream(seed, 0, "gpu-test")
    }

    /// max |got - want| <= tol * max |want| (relative to the tensor's
    /// scale), and no NaN on either side (`max_or_nan`).
    fn assert_close(what: &str, got: &[f32], want: &[f32], tol: f32) {
        assert_eq!(got.len(), want.len(), "{what}: lengths");
        let scale = (want.iter()).fold(1e-6f64, |m, v| max_or_nan(m, f64::from(v.abs())));
        let err = got
            .iter()
            .zip(want)
            .map(|(a, b)| f64::from((a - b).abs()))
            .fold(0.0, max_or_nan);
        assert!(
            err <= f64::from(tol) * scale,
            "{what}: max error {err:e} vs scale {scale:e}"
        );
    }

    /// The course CNNs, an MLP, a padded conv whose pooled map has an odd
    /// side, and two padded convs in a row: the second needs dx, so the
    /// device's col2im runs with pad > 0 (a first layer forms no dx, and
    /// the course CNNs' convs are unpadded).
    fn cases() -> Vec<(String, Shape, Vec<LayerSpec>)> {
        let arch = |a: Arch| (a.label(), Shape::new(32, 32, 3), a.layers(4));
        let padded = vec![
            LayerSpec::Conv {
                name: "conv1".into(),
                c_out: 5,
                k: 3,
                pad: 1,
            },
            LayerSpec::Relu,
            LayerSpec::MaxPool2,
            LayerSpec::Flatten,
            LayerSpec::Linear {
                name: "fc1".into(),
                outputs: 3,
            },
        ];
        let padded_deep = vec![
            LayerSpec::Conv {
                name: "conv1".into(),
                c_out: 4,
                k: 3,
                pad: 1,
            },
            LayerSpec::Relu,
            LayerSpec::Conv {
                name: "conv2".into(),
                c_out: 3,
                k: 3,
                pad: 1,
            },
            LayerSpec::Flatten,
            LayerSpec::Linear {
                name: "fc1".into(),
                outputs: 3,
            },
        ];
        vec![
            arch(Arch::CourseCnn {
                k: 16,
                h1: 150,
                h2: 80,
            }),
            arch(Arch::CourseCnn { k: 4, h1: 8, h2: 6 }),
            arch(Arch::Mlp {
                widths: vec![64, 32],
            }),
            ("padded-odd".into(), Shape::new(7, 7, 2), padded),
            ("padded-deep".into(), Shape::new(7, 6, 2), padded_deep),
        ]
    }

    /// The rows of `logits` (rows of `classes`) whose two largest entries
    /// differ by at most `tol` times the largest |entry| of the batch: the
    /// rows where two engines whose logits agree to that tolerance may
    /// pick different classes.
    fn near_ties(logits: &[f32], classes: usize, tol: f32) -> usize {
        let scale = logits.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
        logits
            .chunks(classes)
            .filter(|row| {
                let mut sorted = row.to_vec();
                sorted.sort_by(|a, b| b.total_cmp(a));
                sorted.len() > 1 && sorted[0] - sorted[1] <= tol * scale
            })
            .count()
    }

    #[test]
    fn near_ties_counts_the_rows_an_argmax_may_flip_on() {
        let logits = [
            1.0, 0.99999, -3.0, /**/ 2.0, 0.0, 1.0, /**/ 5.0, 5.0, 4.0,
        ];
        assert_eq!(near_ties(&logits, 3, 1e-5), 2);
        assert_eq!(near_ties(&logits, 3, 1e-7), 1);
    }

    /// The device's cross-entropy subtracts each row's largest logit before
    /// exponentiating: at logits near 1e4 exp overflows even in double
    /// without the shift. The last layer's parameters are scaled up so the
    /// logits reach that size; loss and gradient must still match the CPU's
    /// (`softmax_cross_entropy_is_exact_for_huge_logits` tests the CPU's).
    #[test]
    fn device_cross_entropy_is_exact_for_huge_logits() {
        let Some(gpu) = gpu("device_cross_entropy_is_exact_for_huge_logits") else {
            return;
        };
        let (label, input, specs) = cases().swap_remove(2);
        let batch = 8;
        let (mut cpu, mut ws, x) = cpu_batch(input, &specs, batch, &mut rng(11));
        let last = cpu.param_infos().len() - 2;
        let scaled = cpu.param_infos()[last].range.start..cpu.params.len();
        let classes = cpu.classes();
        ws.labels = (0..batch).map(|b| (b % classes) as u8).collect();
        let largest = |cpu: &Model, ws: &mut Workspace| {
            let z = cpu.forward(ws, batch);
            z.iter().fold(0.0f32, |m, v| m.max(v.abs()))
        };
        // The last Linear's weight and bias, the params' last two tensors.
        let factor = 1e4 / largest(&cpu, &mut ws);
        cpu.params[scaled].iter_mut().for_each(|w| *w *= factor);
        assert!(largest(&cpu, &mut ws) > 5e3, "{label}: logits scaled up");
        let logits = cpu.forward(&mut ws, batch).to_vec();

        let mut dev = GpuModel::new(gpu, input, &specs, batch).unwrap();
        dev.upload_params(&cpu.params).unwrap();
        dev.load(&x, &ws.labels).unwrap();
        dev.forward().unwrap();
        let dev_logits = dev.download_logits().unwrap();
        assert_close(&format!("{label}: logits"), &dev_logits, &logits, 1e-5);
        let (loss, correct) = cpu.loss_and_gradient(&mut ws);
        let (dev_loss, dev_correct) = dev.loss_and_gradient().unwrap();
        assert!(loss.is_finite() && loss > 1.0, "{label}: CPU loss {loss}");
        assert!(
            (dev_loss - loss).abs() <= 1e-4 * loss.abs(),
            "{label}: loss {dev_loss} vs {loss}"
        );
        assert!(
            dev_correct.abs_diff(correct) <= near_ties(&logits, classes, 2e-5),
            "{label}: correct {dev_correct} vs {correct}"
        );
        let grads = dev.download_grads().unwrap();
        assert_close(&format!("{label}: gradient"), &grads, &ws.grads, 1e-3);
    }

    /// A CPU model with PyTorch's initialisation and a workspace holding
    /// `batch` inputs drawn uniformly from [-1, 1) (also returned, for the
    /// device); the caller sets the labels.
    fn cpu_batch(
        input: Shape,
        specs: &[LayerSpec],
        batch: usize,
        rng: &mut overfit::rng::Rng,
    ) -> (Model, Workspace, Vec<f32>) {
        let mut cpu = Model::new(input, specs).unwrap();
        cpu.init_pytorch(rng);
        let mut ws = cpu.workspace(batch);
        let x: Vec<f32> = (0..batch * input.len())
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        ws.input_mut()[..x.len()].copy_from_slice(&x);
        (cpu, ws, x)
    }

    const SGD: SgdConfig = SgdConfig {
        lr: 0.05,
        momentum: 0.9,
        weight_decay: 1e-3,
    };

    #[test]
    fn the_kernels_compile_with_nvrtc() {
        // SAFETY: only tries to dlopen libnvrtc.
        if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
            crate::common::skip(
                "the_kernels_compile_with_nvrtc",
                "libnvrtc cannot be loaded",
            );
            return;
        }
        let ptx = gpu::kernels_ptx().unwrap();
        for kernel in [
            "im2col",
            "col2im",
            "column_sums",
            "softmax_cross_entropy",
            "sgd_momentum",
        ] {
            assert!(
                ptx.contains(&format!(".entry {kernel}(")),
                "{kernel} missing from the PTX"
            );
        }
    }

    #[test]
    fn forward_backward_and_sgd_steps_match_the_cpu_engine() {
        let Some(gpu) = gpu("forward_backward_and_sgd_steps_match_the_cpu_engine") else {
            return;
        };
        for (label, input, specs) in cases() {
            for (batch, capacity) in [(1, 1), (3, 8), (16, 16)] {
                let what = format!("{label} batch {batch}");
                let mut rng = rng(batch as u64);
                let (mut cpu, mut ws, x) = cpu_batch(input, &specs, batch, &mut rng);
                let classes = cpu.classes();
                ws.labels = (0..batch)
                    .map(|_| rng.random_range(0..classes as u8))
                    .collect();

                let mut dev = GpuModel::new(gpu.clone(), input, &specs, capacity).unwrap();
                dev.upload_params(&cpu.params).unwrap();
                dev.load(&x, &ws.labels).unwrap();
                dev.forward().unwrap();
                let logits = cpu.forward(&mut ws, batch).to_vec();
                assert_close(
                    &format!("{what}: logits"),
                    &dev.download_logits().unwrap(),
                    &logits,
                    1e-5,
                );

                let (loss, correct) = cpu.loss_and_gradient(&mut ws);
                let (dev_loss, dev_correct) = dev.loss_and_gradient().unwrap();
                assert!(
                    (dev_loss - loss).abs() <= 1e-5 * loss.abs().max(1.0),
                    "{what}: loss {dev_loss} vs {loss}"
                );
                // A row's argmax may differ only where its top two logits
                // are closer than the logits' tolerance allows: at batch 1
                // a bound of 1 would have let any answer pass.
                let ties = near_ties(&logits, classes, 2e-5);
                assert!(
                    dev_correct.abs_diff(correct) <= ties,
                    "{what}: correct {dev_correct} vs {correct} ({ties} rows with near-tied logits)"
                );
                let grads = dev.download_grads().unwrap();
                for info in cpu.param_infos() {
                    let r = info.range.clone();
                    assert_close(
                        &format!("{what}: d {}", info.name),
                        &grads[r.clone()],
                        &ws.grads[r],
                        1e-4,
                    );
                }

                // Two steps, so the second uses the momentum buffer.
                let mut sgd = Sgd::new(SGD, cpu.param_count());
                for step in 0..2 {
                    if step > 0 {
                        cpu.loss_and_gradient(&mut ws);
                        dev.loss_and_gradient().unwrap();
                    }
                    sgd.step(&mut cpu.params, &ws.grads);
                    dev.sgd_step(&SGD).unwrap();
                    let what = format!("{what}: after SGD step {}", step + 1);
                    assert_close(
                        &format!("{what}: params"),
                        &dev.download_params().unwrap(),
                        &cpu.params,
                        1e-5,
                    );
                    assert_close(
                        &format!("{what}: velocity"),
                        &dev.download_velocity().unwrap(),
                        sgd.velocity(),
                        1e-4,
                    );
                }
            }
        }
    }

    #[test]
    fn a_training_epoch_matches_the_cpu_engine() {
        let Some(gpu) = gpu("a_training_epoch_matches_the_cpu_engine") else {
            return;
        };
        let arch = Arch::CourseCnn {
            k: 6,
            h1: 20,
            h2: 10,
        };
        let mut rng = rng(7);
        let n = 40;
        let pixels: Vec<f32> = (0..n * 3 * 32 * 32)
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        let labels: Vec<u8> = (0..n).map(|_| rng.random_range(0..4)).collect();
        let images = Images {
            pixels: &pixels,
            labels: &labels,
        };
        let mut cpu = Model::for_arch(&arch, 4).unwrap();
        cpu.init_pytorch(&mut rng);
        let sgd = Sgd::new(SGD, cpu.param_count());
        // The same generic loop (`train_epoch` over `Backend`) drives both.
        let mut dev = GpuModel::from_host(gpu, &cpu, &sgd, 16).unwrap();
        let mut host = Cpu::new(&mut cpu, sgd, 1, 16, 16);
        let (mut order_cpu, mut order_gpu) =
            ((0..n).collect::<Vec<_>>(), (0..n).collect::<Vec<_>>());
        let (mut rng_cpu, mut rng_gpu) = (rng.clone(), rng);
        let want = train_epoch(&mut host, &images, &mut order_cpu, 16, &mut rng_cpu).unwrap();
        let got = train_epoch(&mut dev, &images, &mut order_gpu, 16, &mut rng_gpu).unwrap();
        assert_eq!(order_cpu, order_gpu, "the same shuffle");
        assert!(
            (got.mean_loss - want.mean_loss).abs() <= 1e-4,
            "mean loss {} vs {}",
            got.mean_loss,
            want.mean_loss
        );
        let (want_model, want_sgd) = host.host().unwrap();
        let (want_params, want_velocity) =
            (want_model.params.clone(), want_sgd.velocity().to_vec());
        let (got_model, got_sgd) = dev.host().unwrap();
        assert_close(
            "params after an epoch",
            &got_model.params,
            &want_params,
            1e-4,
        );
        assert_close(
            "velocity after an epoch",
            got_sgd.velocity(),
            &want_velocity,
            1e-3,
        );
        // Measuring: the same host-side loss over the device's logits.
        let want = evaluate_on(&mut host, &images, Some(&labels)).unwrap();
        let got = evaluate_on(&mut dev, &images, Some(&labels)).unwrap();
        assert!(
            (got.loss - want.loss).abs() <= 1e-4 * want.loss.max(1.0),
            "{got:?} vs {want:?}"
        );
        assert!(
            (got.error - want.error).abs() <= 1.5 / n as f64,
            "{got:?} vs {want:?}"
        );
    }

    /// A whole `fit` (two epochs, measured each epoch, on a batch that does
    /// not divide n) with `device = Cuda` against `device = Cpu` from the
    /// same initialisation and shuffle stream.
    #[test]
    fn fit_on_the_gpu_matches_fit_on_the_cpu() {
        if gpu("fit_on_the_gpu_matches_fit_on_the_cpu").is_none() {
            return;
        }
        assert_fits_match(&fit_on(11, Device::Cuda), &fit_on(11, Device::Cpu));
    }

    /// Three GPU runs at once on three threads, each on its own stream (as
    /// the runs of a sweep with `--threads` > 1), released together by a
    /// barrier after the CPU runs they are compared with: each still matches
    /// its CPU run. Correctness under concurrent use, not speed.
    #[test]
    fn concurrent_fits_on_their_own_streams_match_the_cpu() {
        if gpu("concurrent_fits_on_their_own_streams_match_the_cpu").is_none() {
            return;
        }
        let seeds = [21, 22, 23];
        let want: Vec<_> = seeds.iter().map(|&s| fit_on(s, Device::Cpu)).collect();
        let start = std::sync::Barrier::new(seeds.len());
        let got: Vec<_> = std::thread::scope(|scope| {
            let runs: Vec<_> = seeds
                .iter()
                .map(|&seed| {
                    let start = &start;
                    scope.spawn(move || {
                        start.wait();
                        fit_on(seed, Device::Cuda)
                    })
                })
                .collect();
            runs.into_iter().map(|r| r.join().unwrap()).collect()
        });
        for (g, w) in got.iter().zip(&want) {
            assert_fits_match(g, w);
        }
    }

    /// `fit` on `device` from the data, initialisation and shuffle stream of
    /// `seed`: its outcome and final parameters.
    fn fit_on(seed: u64, device: Device) -> (FitOutcome, Vec<f32>) {
        let arch = Arch::CourseCnn {
            k: 4,
            h1: 12,
            h2: 8,
        };
        let mut rng = rng(seed);
        let (n, n_test) = (30, 20);
        let pixels: Vec<f32> = (0..(n + n_test) * 3 * 32 * 32)
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        let labels: Vec<u8> = (0..n + n_test).map(|_| rng.random_range(0..4)).collect();
        let split = n * 3 * 32 * 32;
        let data = FitData {
            train: Images {
                pixels: &pixels[..split],
                labels: &labels[..n],
            },
            train_clean_labels: None,
            test: Images {
                pixels: &pixels[split..],
                labels: &labels[n..],
            },
        };
        let mut model = Model::for_arch(&arch, 4).unwrap();
        model.init_pytorch(&mut rng);
        let cfg = FitConfig {
            epochs: 2,
            batch: 8,
            eval_batch: 16,
            eval_every: 1,
            sgd: SGD,
            stop_at_zero_train_error: false,
            device,
        };
        let out = fit(
            &mut model,
            &data,
            &cfg,
            rng,
            None,
            "gpu-test",
            |_, _| Ok(()),
        )
        .unwrap();
        (out, model.params)
    }

    /// The same measurements (epochs, steps, losses to 1e-4) and parameters
    /// (to 1e-4) from two runs.
    fn assert_fits_match(got: &(FitOutcome, Vec<f32>), want: &(FitOutcome, Vec<f32>)) {
        let ((got, got_params), (want, want_params)) = (got, want);
        assert_eq!(got.evals.len(), want.evals.len());
        for (g, w) in got.evals.iter().zip(&want.evals) {
            assert_eq!((g.epoch, g.step), (w.epoch, w.step));
            for (what, a, b) in [
                ("train loss", g.train_loss, w.train_loss),
                ("test loss", g.test_loss, w.test_loss),
            ] {
                assert!(
                    (a - b).abs() <= 1e-4 * b.max(1.0),
                    "epoch {}: {what} {a} vs {b}",
                    w.epoch
                );
            }
        }
        assert_close("params after fit", got_params, want_params, 1e-4);
    }

    #[test]
    fn bad_batches_are_errors_not_panics() {
        let Some(gpu) = gpu("bad_batches_are_errors_not_panics") else {
            return;
        };
        let arch = Arch::CourseCnn { k: 4, h1: 8, h2: 6 };
        let mut dev = GpuModel::for_arch(gpu.clone(), &arch, 4, 2).unwrap();
        let image = vec![0.0f32; 32 * 32 * 3];
        let three = [image.clone(), image.clone(), image.clone()].concat();
        assert!(dev.load(&three, &[0, 1, 2]).is_err(), "above capacity");
        assert!(dev.load(&image, &[4]).is_err(), "label out of range");
        assert!(dev.load(&image[1..], &[0]).is_err(), "short input");
        assert!(
            dev.upload_params(&[0.0; 3]).is_err(),
            "wrong parameter count"
        );
        assert!(GpuModel::for_arch(gpu, &arch, 4, 0).is_err(), "capacity 0");
    }
}
