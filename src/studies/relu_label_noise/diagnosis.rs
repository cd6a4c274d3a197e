//! The diagnosis behind the spec's interpolation decision (run by hand:
//! `DIAG_JOBS="family,ratio_index,n_index,eta_index,seed;..." cargo test
//! --release --lib relu_label_noise::diagnosis -- --ignored --nocapture`).
//! For chosen grid runs it follows GD past the spec's cap and prints, at
//! steps 0, 100, 200, 400, ...: the training loss, the misfitted points, those
//! with f = 0 (every unit off), those with no unit of their label's sign on,
//! the worst margin, lr times the largest eigenvalue of the Gauss-Newton
//! curvature (1/n) D^1/2 (X X^T o S A^2 S^T) D^1/2 (D = l'', S the unit
//! activity pattern: the stability margin of the step size, < 2), and the
//! fraction of active (point, unit) pairs.

use super::*;
use ndarray_linalg::Eigh;

fn report(spec: &ReluNoiseSpec, seed: u64, job: Job, cap: usize) {
    let n = spec.data.n[job.ni];
    let (p, m) = spec.grid.shape(job.family, spec.grid.ratios[job.ri], n);
    let stream = STREAMS.index(&[job.family.index(), job.ri, job.ni, job.seed]);
    let mixture = GaussianMixture {
        p,
        mu_norm: spec.data.signal.mu_norm(p),
        spectrum: NoiseSpectrum::Isotropic,
    };
    let x = mixture
        .sample_explicit(n, &mut crate::rng::stream(seed, stream, "data"))
        .x;
    let gram = x.dot(&x.t());
    let Setup { mut gd, y, w0, .. } = setup_run(spec, seed, &job).unwrap();
    let lr = spec.model.lr_factor / logistic_smoothness(x.view()).unwrap();
    println!(
        "== {:?} ratio {} n {n} p {p} m {m} eta {} seed {}",
        job.family, spec.grid.ratios[job.ri], spec.data.eta[job.ei], job.seed
    );
    let mut next = 0usize;
    loop {
        let t = gd.step_count();
        let done = sign_accuracy(gd.train_outputs(), y.view()) == 1.0 || t >= cap;
        if t == next || done {
            let w = gd.first_layer(w0.view());
            let z = x.dot(&w);
            let a = gd.second_layer().to_owned();
            let f = gd.train_outputs().to_owned();
            let (mut unfit, mut zero, mut dead) = (0, 0, 0);
            let mut margins = vec![];
            for i in 0..n {
                if f[i] * y[i] > 0.0 {
                    continue;
                }
                unfit += 1;
                margins.push(f[i] * y[i]);
                zero += usize::from(f[i] == 0.0);
                let alive = (0..m).any(|j| a[j] * y[i] > 0.0 && z[[i, j]] > 0.0);
                dead += usize::from(!alive);
            }
            // Gauss-Newton curvature (1/n) D^1/2 (K o S A^2 S^T) D^1/2.
            let mut h = Array2::<f64>::zeros((n, n));
            let dd: Vec<f64> = (0..n)
                .map(|i| {
                    let q = 1.0 / (1.0 + (y[i] * f[i]).exp());
                    q * (1.0 - q)
                })
                .collect();
            for i in 0..n {
                for k in 0..n {
                    let s: f64 = (0..m)
                        .map(|j| {
                            a[j] * a[j]
                                * f64::from(u8::from(z[[i, j]] > 0.0))
                                * f64::from(u8::from(z[[k, j]] > 0.0))
                        })
                        .sum();
                    h[[i, k]] = gram[[i, k]] * s * (dd[i] * dd[k]).sqrt() / n as f64;
                }
            }
            let (ev, _) = h.eigh(UPLO::Lower).unwrap();
            let lmax = ev.iter().cloned().fold(0.0, f64::max);
            let active: usize = z.iter().filter(|&&v| v > 0.0).count();
            println!(
                "t {t:>7} loss {:.5e} unfit {unfit:>3} f=0 {zero:>3} dead {dead:>3} worst {:.3e} lr*lmax {:.3} active {:.3}",
                gd.train_loss(),
                margins.iter().cloned().fold(f64::INFINITY, f64::min),
                lr * lmax,
                active as f64 / (n * m) as f64
            );
            next = if next == 0 { 100 } else { next * 2 };
        }
        if done {
            break;
        }
        gd.step().unwrap();
    }
}

#[test]
#[ignore]
fn interpolation_diagnosis() {
    let loaded = crate::spec::load(
        std::path::Path::new("experiments/relu_label_noise.toml"),
        false,
    )
    .unwrap();
    let spec: ReluNoiseSpec = loaded.study_section().unwrap();
    let cap: usize = std::env::var("DIAG_CAP").map_or(200_000, |v| v.parse().unwrap());
    let list = std::env::var("DIAG_JOBS").unwrap();
    for item in list.split(';') {
        let v: Vec<usize> = item.split(',').map(|s| s.parse().unwrap()).collect();
        let job = Job {
            family: Family::ALL[v[0]],
            ri: v[1],
            ni: v[2],
            ei: v[3],
            seed: v[4],
            activation: Activation::Relu,
        };
        report(&spec, loaded.header.seed, job, cap);
    }
}
