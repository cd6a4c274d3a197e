//! What each benchmark thread could compute right after its timing: the
//! FMA throughput of independent vector FMAs, one probe a thread, all at
//! once (`fma_probe_gflops=` on a bench line).
//!
//! Why beside the measured clock (`peak`): that clock is timed by a chain
//! of dependent adds, one a cycle whatever else the core runs, so it does
//! not see a virtual CPU that shares its core's FMA units with another
//! tenant's thread. On the model-207 Xeon VM (session 60,
//! `benches/results/xeon207-s60/primal-spread.txt`) a standalone probe saw
//! one vCPU fall to 57-75% of the other's throughput for seconds at a time
//! while the clock read the same. The probe states what the threads got,
//! so a slow repetition can be told from slow code; the peak and its
//! fraction stay the formula's.
//!
//! The probe: 12 independent chains of `vfmadd231ps` on the widest
//! registers the CPU has (512-bit with AVX-512, 256-bit with AVX2 + FMA),
//! enough to cover the FMA latency on two pipes; `PROBE_FMAS` of them, about
//! 20 ms a thread at 2.5 GHz and two FMAs a cycle, in windows of which the
//! fastest counts (`PROBE_WINDOWS`). GFLOP/s = FMAs x lanes of
//! the benchmark's element type x 2 / seconds. Cores that split a wide FMA
//! into halves (Zen 4) show half the formula's rate, which is what they do.

use crate::blas::{cpu_level, SimdLevel};

/// FMAs one probe thread runs (a multiple of 48 `PROBE_WINDOWS`), in
/// `PROBE_WINDOWS` windows of about 2 ms, the fastest of which counts: a
/// drop that lasts shows in every window, while the few milliseconds in
/// which the benchmark's own pool threads may still spin before they sleep
/// do not (one window of 20 ms read about half a core on one thread in 2 of
/// 3 runs, the fastest of ten 2 ms windows a whole core in 4 of 4).
const PROBE_FMAS: u64 = 48 * 2_000_000;
const PROBE_WINDOWS: usize = 10;

/// The FMA throughput each of `threads` threads reached, all running at
/// once, in GFLOP/s of elements of `elem_bytes`; None off x86-64 or
/// without AVX2 + FMA.
pub fn fma_probe_gflops(threads: usize, elem_bytes: usize) -> Option<Vec<f64>> {
    let vector_bytes = match cpu_level() {
        SimdLevel::Avx512 => 64,
        SimdLevel::Avx2 => 32,
        _ => return None,
    };
    let flops_per_fma = (2 * vector_bytes / elem_bytes.max(1)) as f64;
    let rates: Option<Vec<f64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|_| s.spawn(move || fmas_per_second(vector_bytes)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().ok().flatten())
            .collect()
    });
    rates.map(|r| r.iter().map(|fmas| fmas * flops_per_fma / 1e9).collect())
}

/// `fma_probe_gflops=A,B,...` (one decimal), or "" where there is no probe.
pub fn fma_probe_field(threads: usize, elem_bytes: usize) -> String {
    match fma_probe_gflops(threads, elem_bytes) {
        Some(rates) => {
            let each: Vec<String> = rates.iter().map(|r| format!("{r:.1}")).collect();
            format!(" fma_probe_gflops={}", each.join(","))
        }
        None => String::new(),
    }
}

/// FMAs a second of one thread on `vector_bytes` registers: the fastest
/// of `PROBE_WINDOWS` windows after one of warm-up (the wide units'
/// power-up), or None where the set is missing.
fn fmas_per_second(vector_bytes: usize) -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    {
        let run = |iterations: u64| {
            let start = std::time::Instant::now();
            // SAFETY: the set was reported by CPUID (`cpu_level`); the loops
            // touch registers only.
            unsafe {
                if vector_bytes == 64 {
                    fma_loop_512(iterations)
                } else {
                    fma_loop_256(iterations)
                }
            }
            start.elapsed().as_secs_f64()
        };
        let iterations = PROBE_FMAS / 48 / PROBE_WINDOWS as u64;
        run(iterations);
        let best = (0..PROBE_WINDOWS)
            .map(|_| run(iterations))
            .fold(f64::INFINITY, f64::min);
        Some((iterations * 48) as f64 / best)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = vector_bytes;
        None
    }
}

/// `$name(iterations)`: iterations x 48 FMAs on 12 independent
/// accumulators of the register class `$class` (a_k += m x c, all zero, so
/// no value ever leaves the normal range), with `$features` enabled.
#[cfg(target_arch = "x86_64")]
macro_rules! fma_loop {
    ($name:ident, $features:literal, $class:ident, $zero:path) => {
        #[target_feature(enable = $features)]
        unsafe fn $name(iterations: u64) {
            let z = $zero();
            std::arch::asm!(
                "2:",
                ".rept 4",
                "vfmadd231ps {a0}, {m}, {c}",
                "vfmadd231ps {a1}, {m}, {c}",
                "vfmadd231ps {a2}, {m}, {c}",
                "vfmadd231ps {a3}, {m}, {c}",
                "vfmadd231ps {a4}, {m}, {c}",
                "vfmadd231ps {a5}, {m}, {c}",
                "vfmadd231ps {a6}, {m}, {c}",
                "vfmadd231ps {a7}, {m}, {c}",
                "vfmadd231ps {a8}, {m}, {c}",
                "vfmadd231ps {a9}, {m}, {c}",
                "vfmadd231ps {a10}, {m}, {c}",
                "vfmadd231ps {a11}, {m}, {c}",
                ".endr",
                "dec {n}",
                "jnz 2b",
                n = inout(reg) iterations => _,
                m = in($class) z,
                c = in($class) z,
                a0 = inout($class) z => _,
                a1 = inout($class) z => _,
                a2 = inout($class) z => _,
                a3 = inout($class) z => _,
                a4 = inout($class) z => _,
                a5 = inout($class) z => _,
                a6 = inout($class) z => _,
                a7 = inout($class) z => _,
                a8 = inout($class) z => _,
                a9 = inout($class) z => _,
                a10 = inout($class) z => _,
                a11 = inout($class) z => _,
                options(nomem, nostack),
            );
        }
    };
}
#[cfg(target_arch = "x86_64")]
fma_loop!(
    fma_loop_512,
    "avx512f",
    zmm_reg,
    std::arch::x86_64::_mm512_setzero_ps
);
#[cfg(target_arch = "x86_64")]
fma_loop!(
    fma_loop_256,
    "avx2,fma",
    ymm_reg,
    std::arch::x86_64::_mm256_setzero_ps
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::peak::Peak;

    /// Each thread's probe is a rate a core can give: positive, and not
    /// above the formula's peak of one core at the measured clock by more
    /// than the clock's own error (an FMA loop the assembler dropped or a
    /// wrong flops count would read far above it).
    #[test]
    fn the_probe_reads_at_most_a_core_peak() {
        let _alone = crate::bench::TIMED_TESTS
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let Some(rates) = fma_probe_gflops(1, 4) else {
            println!("skipped: no AVX2 + FMA on this CPU, no probe");
            return;
        };
        assert_eq!(rates.len(), 1);
        assert!(rates[0] > 0.0, "{rates:?}");
        if let Some(p) = Peak::of_this_cpu(1, 4) {
            let one_core = p.gflops() / p.cores as f64;
            assert!(
                rates[0] <= 1.25 * one_core,
                "probe {rates:?} GFLOP/s, one core's peak {one_core}"
            );
        }
        let f64_rates = fma_probe_gflops(2, 8).expect("the probe ran once, so it runs for f64");
        assert_eq!(f64_rates.len(), 2);
        assert!(fma_probe_field(1, 8).starts_with(" fma_probe_gflops="));
    }
}
