// Session 49: the FMA throughput this CPU reaches, to check `bench::peak`'s
// formula (cores x FMA units x lanes x 2 x clock) on it. 16 (zmm) or 12 (ymm)
// independent chains of vfmadd231pd (and, second run, of vfmadd231ps) per thread, 2e8 iterations, on 1 and 2
// threads at once. Built as its own crate (Cargo.toml: no dependencies,
// opt-level 3): `cargo build --release && ./target/release/fmapeak 2`.

use std::arch::x86_64::*;
use std::time::Instant;

#[target_feature(enable = "avx512f")]
unsafe fn fma512(iters: u64) -> f64 {
    let mut acc = [_mm512_set1_pd(1.0); 16];
    let a = _mm512_set1_pd(0.999999);
    let b = _mm512_set1_pd(1e-9);
    for _ in 0..iters {
        for r in acc.iter_mut() {
            *r = _mm512_fmadd_pd(*r, a, b);
        }
    }
    let mut s = _mm512_setzero_pd();
    for r in acc { s = _mm512_add_pd(s, r); }
    _mm512_reduce_add_pd(s)
}
#[target_feature(enable = "avx512f")]
unsafe fn fma512_f32(iters: u64) -> f64 {
    let mut acc = [_mm512_set1_ps(1.0); 16];
    let a = _mm512_set1_ps(0.999999);
    let b = _mm512_set1_ps(1e-9);
    for _ in 0..iters {
        for r in acc.iter_mut() {
            *r = _mm512_fmadd_ps(*r, a, b);
        }
    }
    let mut s = _mm512_setzero_ps();
    for r in acc { s = _mm512_add_ps(s, r); }
    _mm512_reduce_add_ps(s) as f64
}
#[target_feature(enable = "avx2,fma")]
unsafe fn fma256(iters: u64) -> f64 {
    let mut acc = [_mm256_set1_pd(1.0); 12];
    let a = _mm256_set1_pd(0.999999);
    let b = _mm256_set1_pd(1e-9);
    for _ in 0..iters {
        for r in acc.iter_mut() {
            *r = _mm256_fmadd_pd(*r, a, b);
        }
    }
    let mut s = _mm256_setzero_pd();
    for r in acc { s = _mm256_add_pd(s, r); }
    let mut out = [0.0; 4];
    _mm256_storeu_pd(out.as_mut_ptr(), s);
    out.iter().sum()
}
fn main() {
    let threads: usize = std::env::args().nth(1).map_or(1, |s| s.parse().unwrap());
    let iters = 200_000_000u64;
    for (name, lanes, per) in [("zmm", 8usize, 16usize), ("ymm", 4, 12), ("zmm-f32", 16, 16)] {
        let t = Instant::now();
        let hs: Vec<_> = (0..threads).map(|_| std::thread::spawn(move || unsafe {
            match lanes { 8 => fma512(iters), 16 => fma512_f32(iters), _ => fma256(iters) }
        })).collect();
        let s: f64 = hs.into_iter().map(|h| h.join().unwrap()).sum();
        let dt = t.elapsed().as_secs_f64();
        let flops = (threads * per * lanes * 2) as f64 * iters as f64;
        println!("{name} threads={threads} gflops={:.1} per_thread={:.1} (chk {s:.3}) {dt:.2}s", flops / dt / 1e9, flops / dt / 1e9 / threads as f64);
    }
}
