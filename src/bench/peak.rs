//! The machine's peak floating-point rate, the denominator of a bench
//! line's `peak_fraction`:
//!
//!   peak = cores x FMA units x lanes x 2 flops x clock,
//!
//! each factor stated on the line (`peak=2thr*2fma*4lanes*2*3.30GHz`) with
//! where the clock came from (`clock=measured` or `clock=cpuinfo`).
//!
//! Why the clock is measured. /proc/cpuinfo's "cpu MHz" is the nominal
//! clock in a VM (2.596 GHz on the Zen 4 of the committed table), while the
//! cores run at their boost clock: the primal step reached 1.11-1.14 of a
//! peak computed from it, which is impossible, and every other fraction was
//! inflated by the same factor. A chain of dependent integer adds retires
//! one add per cycle on every x86-64 core, so timing one gives the clock the
//! core runs at while it computes. It is timed on as many threads as the
//! benchmark used, at once, right after its timing, so that it sees the
//! all-core clock of a loaded machine rather than the single-core boost.

use super::fma_probe::fma_probe_field;
use crate::blas::{cpu_is_amd, cpu_level, cpuinfo_field, SimdLevel};

/// Where a [`Peak`]'s clock came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockSource {
    /// Timed by [`measured_clock_ghz`].
    Measured,
    /// /proc/cpuinfo's "cpu MHz" (no measurement on this architecture).
    Cpuinfo,
}

impl ClockSource {
    pub fn name(self) -> &'static str {
        match self {
            ClockSource::Measured => "measured",
            ClockSource::Cpuinfo => "cpuinfo",
        }
    }
}

/// A machine's peak floating-point rate for `cores` cores:
/// cores x FMA units x lanes x 2 x clock, each factor recorded so a bench
/// line can state how it was obtained.
#[derive(Clone, Debug, PartialEq)]
pub struct Peak {
    /// Physical cores the benchmark's threads can occupy.
    pub cores: usize,
    /// Fused multiply-add pipes per core (or mul + add pipe pairs without FMA).
    pub fma_units: usize,
    /// Elements of the float type per vector the pipes execute at full rate.
    pub lanes: usize,
    pub ghz: f64,
    pub clock: ClockSource,
}

impl Peak {
    /// The peak of `threads` threads on elements of `elem_bytes` (8 for f64,
    /// 4 for f32), or None when no clock can be had. The factors:
    /// - cores: `threads`, at most the physical cores (two hyperthreads of
    ///   one core share its FMA units);
    /// - lanes from CPUID's widest vectors (`cpu_level`), except that Zen 4
    ///   (AMD family 25 with AVX-512) runs 512-bit instructions on 256-bit
    ///   pipes;
    /// - two FMA units for AVX2 and AVX-512 parts (Haswell and later, Zen 2
    ///   and later, Xeon Scalable Gold and Platinum; an assumption: Zen 1
    ///   and some Xeon Silver and Bronze parts have half that), one mul +
    ///   add pair before;
    /// - the clock from [`measured_clock_ghz`] on `threads` threads, else
    ///   /proc/cpuinfo's "cpu MHz".
    pub fn of_this_cpu(threads: usize, elem_bytes: usize) -> Option<Peak> {
        let cores = threads.clamp(1, physical_cores());
        let (ghz, clock) = match measured_clock_ghz(cores) {
            Some(ghz) => (ghz, ClockSource::Measured),
            None => (
                cpuinfo_field("cpu MHz")?.parse::<f64>().ok()? / 1000.0,
                ClockSource::Cpuinfo,
            ),
        };
        let family: u32 = cpuinfo_field("cpu family")
            .and_then(|f| f.parse().ok())
            .unwrap_or(0);
        let level = cpu_level();
        let vector_bytes = match level {
            SimdLevel::Avx512 if cpu_is_amd() && family <= 25 => 32,
            SimdLevel::Avx512 => 64,
            SimdLevel::Avx2 | SimdLevel::Avx => 32,
            SimdLevel::Sse => 16,
        };
        let fma_units = if level >= SimdLevel::Avx2 { 2 } else { 1 };
        (ghz.is_finite() && ghz > 0.0).then(|| Peak {
            cores,
            fma_units,
            lanes: vector_bytes / elem_bytes.max(1),
            ghz,
            clock,
        })
    }

    /// cores x fma_units x lanes x 2 flops x ghz.
    pub fn gflops(&self) -> f64 {
        (self.cores * self.fma_units * self.lanes * 2) as f64 * self.ghz
    }
}

/// Distinct (physical id, core id) pairs of /proc/cpuinfo, or the logical
/// CPUs when it lists none.
pub fn physical_cores() -> usize {
    let logical = std::thread::available_parallelism().map_or(1, |c| c.get());
    let Ok(text) = std::fs::read_to_string("/proc/cpuinfo") else {
        return logical;
    };
    let mut cores = std::collections::BTreeSet::new();
    let mut package = String::new();
    for line in text.lines() {
        match line.split_once(':').map(|(k, v)| (k.trim(), v.trim())) {
            Some(("physical id", v)) => package = v.to_string(),
            Some(("core id", v)) => {
                cores.insert((package.clone(), v.to_string()));
            }
            _ => {}
        }
    }
    if cores.is_empty() {
        logical
    } else {
        cores.len().min(logical)
    }
}

/// Dependent instructions per loop iteration of [`chain`].
const CHAIN: u64 = 100;

/// Iterations of one timing window: 10^4 x 100 cycles, about 0.3 ms at
/// 3 GHz, short enough that most windows run within one time slice of a
/// busy machine (the stress test runs the library's tests beside 3 CPU
/// burners on 2 cores).
const WINDOW_ITERATIONS: u64 = 10_000;

/// Windows per measurement; the shortest counts.
const WINDOWS: usize = 30;

/// The instruction a [`chain`] repeats.
#[derive(Clone, Copy, Debug)]
enum Link {
    /// `add r64, r64`: latency 1 cycle on every x86-64 core. A register
    /// operand, not an immediate: some cores fold chains of immediate adds
    /// at rename.
    Add,
    /// `imul r64, r64`: latency 3 cycles (Intel since Sandy Bridge, AMD
    /// since Zen); the test's independent check of the add chain.
    #[cfg_attr(not(test), allow(dead_code))]
    Mul,
}

/// A loop of `iterations` x [`CHAIN`] (100) copies of `$link`, an
/// instruction of {x} and {y} whose result {x} feeds the next copy.
#[cfg(target_arch = "x86_64")]
macro_rules! dependent_chain {
    ($link:literal, $x:expr, $y:expr, $iterations:expr) => {
        std::arch::asm!(
            "2:",
            ".rept 100",
            $link,
            ".endr",
            "dec {n}",
            "jnz 2b",
            x = inout(reg) $x => _,
            y = in(reg) $y,
            n = inout(reg) $iterations => _,
            options(nomem, nostack),
        )
    };
}

/// Run `iterations` x [`CHAIN`] dependent `link`s; seconds taken.
#[cfg(target_arch = "x86_64")]
fn chain(link: Link, iterations: u64) -> f64 {
    let start = std::time::Instant::now();
    // SAFETY: register arithmetic only; no memory, no stack.
    unsafe {
        match link {
            Link::Add => dependent_chain!("add {x}, {y}", 0u64, 1u64, iterations),
            Link::Mul => dependent_chain!("imul {x}, {y}", 3u64, 5u64, iterations),
        }
    }
    start.elapsed().as_secs_f64()
}

/// Cycles per second of one thread: [`CHAIN`] x iterations cycles over the
/// shortest of [`WINDOWS`] windows (a window the scheduler cut into runs
/// longer).
#[cfg(target_arch = "x86_64")]
fn cycles_per_second(link: Link, latency: u64) -> f64 {
    chain(link, 10 * WINDOW_ITERATIONS); // wake the core up
    let best = (0..WINDOWS)
        .map(|_| chain(link, WINDOW_ITERATIONS))
        .fold(f64::INFINITY, f64::min);
    (CHAIN * latency * WINDOW_ITERATIONS) as f64 / best
}

/// The clock in GHz that `threads` threads run at together: each times
/// dependent-add chains at once (`cycles_per_second`), and the fastest
/// thread's clock counts, so that a fraction of peak is never flattered by
/// a thread the scheduler slowed. None off x86-64, or when the result is
/// outside 0.3-8 GHz (a measurement gone wrong).
pub fn measured_clock_ghz(threads: usize) -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    {
        let clocks: Vec<f64> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads.max(1))
                .map(|_| s.spawn(|| cycles_per_second(Link::Add, 1)))
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        let ghz = clocks.iter().copied().fold(f64::NAN, f64::max) / 1e9;
        (0.3..8.0).contains(&ghz).then_some(ghz)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = threads;
        None
    }
}

/// `x` cut (not rounded) to `decimals` decimals, so that a printed value is
/// never above the value a verdict was judged on (0.3996 prints 0.399, not
/// the 0.400 that would read as meeting a 40% target).
pub fn truncated(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    let scale = 10f64.powi(decimals as i32);
    format!("{:.*}", decimals, (x * scale).floor() / scale)
}

/// `gflops=.. peak_gflops=.. peak_fraction=.. peak=CORESthr*Ufma*Llanes*2*GHZ
/// clock=SOURCE fma_probe_gflops=..` (`fma_probe`, after the clock) for a
/// bench line that ran `flops` floating-point operations on elements of
/// `elem_bytes` in `seconds` with `threads` threads.
pub fn flop_rate_fields(flops: f64, seconds: f64, threads: usize, elem_bytes: usize) -> String {
    let achieved = flops / seconds / 1e9;
    match Peak::of_this_cpu(threads, elem_bytes) {
        Some(p) => format!(
            "gflops={achieved:.2} peak_gflops={:.1} peak_fraction={} peak={}thr*{}fma*{}lanes*2*{:.3}GHz clock={}{}",
            p.gflops(),
            truncated(achieved / p.gflops(), 3),
            p.cores,
            p.fma_units,
            p.lanes,
            p.ghz,
            p.clock.name(),
            fma_probe_field(threads, elem_bytes)
        ),
        None => format!("gflops={achieved:.2} peak_gflops=unknown"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_is_the_product_of_its_stated_factors() {
        let zen3 = Peak {
            cores: 2,
            fma_units: 2,
            lanes: 4,
            ghz: 2.5,
            clock: ClockSource::Measured,
        };
        assert_eq!(zen3.gflops(), 80.0);
        let line = flop_rate_fields(40e9, 1.0, 1, 8);
        assert!(line.starts_with("gflops=40.00 "), "{line}");
        if let Some(p) = Peak::of_this_cpu(1, 4) {
            // f32 lanes are twice the f64 ones on the same CPU.
            assert_eq!(p.lanes, 2 * Peak::of_this_cpu(1, 8).unwrap().lanes);
            assert!(line.contains("peak_fraction="), "{line}");
            assert!(p.cores <= physical_cores());
        }
    }

    #[test]
    fn printed_values_never_round_up_past_a_target() {
        assert_eq!(truncated(0.3996, 3), "0.399");
        assert_eq!(truncated(1.996, 2), "1.99");
        assert_eq!(truncated(2.0, 2), "2.00");
        assert_eq!(truncated(f64::NAN, 2), "NaN");
    }

    /// The add chain measures the clock: an imul chain, 3 cycles a link,
    /// takes three times as long. A core that retired the adds faster than
    /// one a cycle (folding them) would give a ratio near 3 x that speed-up,
    /// and the clock would read too high.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_add_chain_runs_at_one_link_a_cycle() {
        // Alone among the timed tests (`TIMED_TESTS`), and the two chains timed in turns,
        // the fastest of each counting, so that a clock that moves during
        // the test (CPU burners, a wide-vector licence) moves both alike.
        let _alone = crate::bench::TIMED_TESTS
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let (mut adds, mut muls) = (0.0f64, 0.0f64);
        for _ in 0..5 {
            adds = adds.max(cycles_per_second(Link::Add, 1));
            muls = muls.max(cycles_per_second(Link::Mul, 3));
        }
        let ratio = adds / muls;
        assert!(
            (0.85..1.15).contains(&ratio),
            "add-chain clock {:.3} GHz, imul-chain clock {:.3} GHz",
            adds / 1e9,
            muls / 1e9
        );
        let ghz = measured_clock_ghz(1).expect("a clock in 0.3-8 GHz");
        assert!((0.3..8.0).contains(&ghz));
    }
}
