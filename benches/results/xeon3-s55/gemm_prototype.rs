extern crate blas_src;
use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array2, Axis};
use std::arch::x86_64::*;
use std::time::Instant;

const MR: usize = 8;
const NR: usize = 24;

/// C[0..8, 0..24] += A_panel (kc x 8, k-major) * B (kc rows, 24 cols, row stride ldb)
#[target_feature(enable = "avx512f")]
unsafe fn kernel(kc: usize, a: *const f64, b: *const f64, ldb: usize, c: *mut f64, ldc: usize) {
    unsafe {
        let mut acc = [[_mm512_setzero_pd(); 3]; MR];
        for k in 0..kc {
            let bk = b.add(k * ldb);
            let b0 = _mm512_loadu_pd(bk);
            let b1 = _mm512_loadu_pd(bk.add(8));
            let b2 = _mm512_loadu_pd(bk.add(16));
            let ak = a.add(k * MR);
            for r in 0..MR {
                let ar = _mm512_set1_pd(*ak.add(r));
                acc[r][0] = _mm512_fmadd_pd(ar, b0, acc[r][0]);
                acc[r][1] = _mm512_fmadd_pd(ar, b1, acc[r][1]);
                acc[r][2] = _mm512_fmadd_pd(ar, b2, acc[r][2]);
            }
        }
        for r in 0..MR {
            for j in 0..3 {
                let p = c.add(r * ldc + j * 8);
                _mm512_storeu_pd(p, _mm512_add_pd(_mm512_loadu_pd(p), acc[r][j]));
            }
        }
    }
}

fn pack_a(x: ndarray::ArrayView2<f64>, out: &mut Vec<f64>) {
    let (n, kc) = x.dim();
    out.clear();
    for p in 0..n / MR {
        for k in 0..kc {
            for r in 0..MR {
                out.push(x[[p * MR + r, k]]);
            }
        }
    }
}
fn pack_b(w: ndarray::ArrayView2<f64>, out: &mut Vec<f64>) {
    let (kc, m) = w.dim();
    out.clear();
    for q in 0..m / NR {
        for k in 0..kc {
            let row = w.row(k);
            out.extend_from_slice(&row.as_slice().unwrap()[q * NR..q * NR + NR]);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args[1].as_str();
    if mode == "l1" { for kc in [16, 64, 128, 256, 384] { l1_test(kc); } return; }
    let kc: usize = args.get(2).map(|s| s.parse().unwrap()).unwrap_or(384);
    let (n, d, m) = (200usize, 40000usize, 1008usize); // m multiple of 24 for the prototype
    let x = Array2::from_shape_fn((n, d), |(i, j)| ((i * 7 + j * 13) % 101) as f64 / 101.0 - 0.5);
    let w = Array2::from_shape_fn((d, m), |(i, j)| ((i * 11 + j * 3) % 97) as f64 / 97.0 - 0.5);
    let mut z = Array2::<f64>::zeros((n, m));
    let mut apack = Vec::new();
    let mut bpack = Vec::new();
    for rep in 0..4 {
        z.fill(0.0);
        let t = Instant::now();
        let mut tp = 0.0;
        let hot = std::env::var("HOT").is_ok();
        for (p, piece) in w.axis_chunks_iter(Axis(0), kc).enumerate() {
            let piece = if hot { w.slice(s![0..piece.nrows(), ..]) } else { piece };
            let r0 = p * kc;
            let xp = x.slice(s![.., r0..r0 + piece.nrows()]);
            match mode {
                "blas" => general_mat_mul(1.0, &xp, &piece, 1.0, &mut z),
                "packed" | "direct" => {
                    let t0 = Instant::now();
                    pack_a(xp, &mut apack);
                    if mode == "packed" { pack_b(piece, &mut bpack); }
                    tp += t0.elapsed().as_secs_f64();
                    let kcp = piece.nrows();
                    for q in 0..m / NR {
                        for pa in 0..n / MR {
                            unsafe {
                                let cptr = z.as_mut_ptr().add(pa * MR * m + q * NR);
                                let aptr = apack.as_ptr().add(pa * MR * kcp);
                                if mode == "packed" {
                                    kernel(kcp, aptr, bpack.as_ptr().add(q * NR * kcp), NR, cptr, m);
                                } else {
                                    kernel(kcp, aptr, piece.as_ptr().add(q * NR), m, cptr, m);
                                }
                            }
                        }
                    }
                }
                _ => panic!(),
            }
        }
        let s = t.elapsed().as_secs_f64();
        let flops = 2.0 * n as f64 * d as f64 * m as f64;
        println!("{mode} kc={kc} rep{rep}: {:.4} s, {:.1} GFLOP/s ({:.1}% of 131 @4.1GHz), pack {:.4} s, z00 {}", s, flops / s / 1e9, flops / s / 1e9 / 131.2 * 100.0, tp, z[[0, 0]]);
    }
}

#[allow(dead_code)]
pub fn l1_test(kc: usize) {
    let a = vec![0.001f64; kc * MR];
    let b = vec![0.002f64; kc * NR];
    let mut c = vec![0.0f64; MR * NR];
    let reps = 4_000_000_000usize / (kc * MR * NR * 2);
    let t = Instant::now();
    for _ in 0..reps { unsafe { kernel(kc, a.as_ptr(), b.as_ptr(), NR, c.as_mut_ptr(), NR); } }
    let s = t.elapsed().as_secs_f64();
    println!("l1 kc={kc}: {:.1} GFLOP/s c0 {}", (reps * kc * MR * NR * 2) as f64 / s / 1e9, c[0]);
}
