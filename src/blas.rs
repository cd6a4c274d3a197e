//! The BLAS under ndarray (OpenBLAS): its thread count, its identity, and
//! the one parallel gemm of the crate.
//!
//! Why OpenBLAS runs on one thread here. Its results depend on its thread
//! count: with 0.3.21 (Debian) a 320 x 150 x 16 sgemm, conv2's shape in the
//! course CNN, differs in the last bits in 2414 of its 5120 entries between
//! 1 and 2 threads. And the thread count is one global of the process,
//! read at every call. The crate used to change it at run time (one thread
//! while a sweep ran units in parallel, all of them for a single unit), so a
//! computation could see it change under its feet when another thread
//! started a sweep: two identical trainings in one test process then
//! differed (`fit_stops_at_the_first_zero_training_error`, red in half the
//! CI runs), and a single-unit run depended on `--threads`.
//!
//! So OpenBLAS is pinned to one thread in every process that links this
//! crate, before `main` or any test starts (an ELF constructor, run after
//! OpenBLAS's own), and nothing changes it afterwards. Parallelism is the
//! crate's own: units of a sweep on a rayon pool, mini-batch shards in the
//! CNN, and [`par_gemm`], whose partition depends on the shapes only, so
//! every result is the same on 1 thread or 16.

use std::ffi::{c_char, c_int, CStr};

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis, LinalgScalar};
use rayon::prelude::*;

extern "C" {
    fn openblas_set_num_threads(num_threads: c_int);
    fn openblas_get_num_threads() -> c_int;
    fn openblas_get_corename() -> *const c_char;
    fn openblas_get_config() -> *const c_char;
}

/// Run at load time, before `main` and before any test thread exists.
#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
static PIN_ONE_THREAD_AT_LOAD: extern "C" fn() = pin_one_thread_at_load;

#[cfg(target_os = "linux")]
extern "C" fn pin_one_thread_at_load() {
    pin_one_thread();
    let stopped = stop_server_threads();
    SERVER_THREADS_STOPPED.store(stopped, std::sync::atomic::Ordering::Relaxed);
}

/// Whether the load-time constructor stopped OpenBLAS's server threads.
static SERVER_THREADS_STOPPED: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Stop OpenBLAS's worker threads, which one thread never uses. The pthreads
/// build starts them when it loads, and each spins on `sched_yield` for
/// 2^28 cycles (about 0.1 s) before it sleeps: on a 2-core machine that took
/// a core from the computation for the first tenth of a second of every
/// process (`perf` of `bench cnn --batch 4 --threads 1` on the Zen 4: the
/// server thread held a quarter as many samples as the worker). OpenBLAS's
/// own shutdown routine (`blas_thread_shutdown_`, what it runs before a fork
/// and at exit) joins them; a later multithreaded call would start them
/// again, but at one thread no call does. Looked up at run time, so a serial
/// or OpenMP OpenBLAS without it is left alone. Returns whether it ran.
#[cfg(target_os = "linux")]
fn stop_server_threads() -> bool {
    // SAFETY: dlsym with a NUL-terminated name; RTLD_DEFAULT searches the
    // libraries already loaded.
    let f = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"blas_thread_shutdown_".as_ptr()) };
    if f.is_null() {
        return false;
    }
    // SAFETY: OpenBLAS defines `int blas_thread_shutdown_(void)`; no BLAS
    // call is in flight at load time.
    let shutdown: extern "C" fn() -> c_int = unsafe { std::mem::transmute(f) };
    shutdown() == 0
}

/// Whether OpenBLAS's idle worker threads were stopped at load time
/// (`stop_server_threads`); false off Linux or without the routine.
pub fn server_threads_stopped() -> bool {
    SERVER_THREADS_STOPPED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Set OpenBLAS to one thread. Idempotent; the load-time constructor has
/// done it already on Linux, `main` calls it again for other platforms.
/// Only when the count is not 1 already: OpenBLAS's setter
/// (`goto_set_num_threads`) first restarts the server threads if they are
/// down, so `main`'s call used to undo the constructor's
/// `stop_server_threads`, and every process spun a server thread for its
/// first tenth of a second again (`perf` of `bench cnn --threads 1` on the
/// Zen 4: a thread in `sched_yield` for 0.10 s after start, 8% of the samples
/// of that 1.3 s run).
pub fn pin_one_thread() {
    if threads() == 1 {
        return;
    }
    // SAFETY: a plain setter of the linked OpenBLAS; reached only while the
    // count is not 1, i.e. at load time or first thing in main, when no BLAS
    // call is in flight (later callers, such as a test, return above).
    unsafe { openblas_set_num_threads(1) }
}

/// The thread count OpenBLAS uses now (1 in this crate's processes).
pub fn threads() -> usize {
    // SAFETY: a plain getter of the linked OpenBLAS.
    unsafe { openblas_get_num_threads() }.max(0) as usize
}

/// The kernel family OpenBLAS picked for this CPU ("Haswell", "SkylakeX",
/// "Zen", or "Prescott" when it did not recognise the CPU).
pub fn core_name() -> String {
    // SAFETY: OpenBLAS returns a pointer to a static NUL-terminated string.
    unsafe { c_string(openblas_get_corename()) }
}

/// OpenBLAS's build line (version, threading model, MAX_THREADS, core).
pub fn config() -> String {
    // SAFETY: as for `core_name`.
    unsafe { c_string(openblas_get_config()) }
}

unsafe fn c_string(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: the caller passes a valid NUL-terminated string.
    unsafe { CStr::from_ptr(p) }
        .to_string_lossy()
        .trim()
        .to_string()
}

// ------------------------------------------------------------ the kernel core

/// The widest vector instructions a CPU runs, or an OpenBLAS core is written
/// for, ordered from the weakest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SimdLevel {
    Sse,
    Avx,
    /// AVX2 with FMA.
    Avx2,
    /// AVX-512 F, CD, BW, DQ and VL (what OpenBLAS's SkylakeX kernels use).
    Avx512,
}

/// What this CPU runs (with the operating system's support), by CPUID.
pub fn cpu_level() -> SimdLevel {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512f")
            && has!("avx512cd")
            && has!("avx512bw")
            && has!("avx512dq")
            && has!("avx512vl")
        {
            return SimdLevel::Avx512;
        }
        if has!("avx2") && has!("fma") {
            return SimdLevel::Avx2;
        }
        if has!("avx") {
            return SimdLevel::Avx;
        }
    }
    SimdLevel::Sse
}

/// What an OpenBLAS core name (`openblas_get_corename`) is written for.
/// Unknown names count as the SSE fallback.
pub fn core_level(core: &str) -> SimdLevel {
    match core.to_ascii_lowercase().as_str() {
        "skylakex" | "cooperlake" | "sapphirerapids" => SimdLevel::Avx512,
        "haswell" | "zen" | "excavator" => SimdLevel::Avx2,
        "sandybridge" | "bulldozer" | "piledriver" | "steamroller" => SimdLevel::Avx,
        _ => SimdLevel::Sse,
    }
}

/// The `OPENBLAS_CORETYPE` that serves a CPU of `level` best, or None where
/// OpenBLAS's own choice cannot be beaten. An AMD CPU with AVX-512 (Zen 4
/// and later, all with AVX-512 BF16) gets Cooperlake, what OpenBLAS 0.3.21
/// itself picks on the Zen 4 of the committed tables (its SkylakeX kernels
/// plus bf16 ones); Zen, its AVX2 core, would be a step down there.
pub fn best_core(level: SimdLevel, amd: bool) -> Option<&'static str> {
    match level {
        SimdLevel::Avx512 if amd => Some("COOPERLAKE"),
        SimdLevel::Avx512 => Some("SKYLAKEX"),
        SimdLevel::Avx2 if amd => Some("ZEN"),
        SimdLevel::Avx2 => Some("HASWELL"),
        SimdLevel::Avx => Some("SANDYBRIDGE"),
        SimdLevel::Sse => None,
    }
}

/// The first value of `key` in /proc/cpuinfo (e.g. "model name", "cpu MHz").
pub(crate) fn cpuinfo_field(key: &str) -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim().to_string())
}

/// The CPU's model name (/proc/cpuinfo), or "unknown".
pub fn cpu_model() -> String {
    cpuinfo_field("model name").unwrap_or_else(|| "unknown".to_string())
}

/// Whether /proc/cpuinfo names an AMD CPU.
pub(crate) fn cpu_is_amd() -> bool {
    std::fs::read_to_string("/proc/cpuinfo")
        .map(|t| t.contains("AuthenticAMD"))
        .unwrap_or(false)
}

/// Set on the re-executed process: "OLD->NEW", the core switch it carries
/// (also the guard against a second re-exec).
pub const SWITCH_ENV: &str = "OVERFIT_BLAS_SWITCH";
/// `OVERFIT_BLAS_CORE=keep` opts out of the switch; `=upgrade` switches even
/// over a weaker `OPENBLAS_CORETYPE` already in the environment.
pub const OPT_OUT_ENV: &str = "OVERFIT_BLAS_CORE";

/// What `OVERFIT_BLAS_CORE` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoreMode {
    /// Unset or empty: switch to a better core unless `OPENBLAS_CORETYPE` is set.
    Auto,
    /// `keep`: never switch.
    Keep,
    /// `upgrade`: switch even over a weaker `OPENBLAS_CORETYPE`.
    Upgrade,
}

/// `OVERFIT_BLAS_CORE` read; an unknown value is an error (the binary exits
/// 2 with it, and makes no switch before): a misspelt `keep` must not
/// switch cores silently.
pub fn core_mode() -> Result<CoreMode, String> {
    match std::env::var(OPT_OUT_ENV).unwrap_or_default().as_str() {
        "" => Ok(CoreMode::Auto),
        "keep" => Ok(CoreMode::Keep),
        "upgrade" => Ok(CoreMode::Upgrade),
        other => Err(format!(
            "{OPT_OUT_ENV}={other:?}: expected \"keep\" or \"upgrade\" (or unset)"
        )),
    }
}

/// The user's `OPENBLAS_CORETYPE`, if set and non-empty (OpenBLAS detects
/// the CPU itself when the variable is empty, as when it is unset).
fn user_coretype() -> Option<String> {
    std::env::var("OPENBLAS_CORETYPE")
        .ok()
        .filter(|v| !v.is_empty())
}

/// How the BLAS core in use came about, for bench lines and summary.json:
/// "openblas" (its own detection), "user:OPENBLAS_CORETYPE=X" or
/// "switched:OLD->NEW" (`reexec_with_best_core`). A requested core that is
/// not the one in use (an unknown name, which OpenBLAS ignores; a switch
/// variable inherited from elsewhere; a build without dynamic cores) gets
/// "(not-in-use)" appended, so the line never claims a choice that did not
/// happen.
pub fn core_choice() -> String {
    let (choice, requested) = match (std::env::var(SWITCH_ENV), user_coretype()) {
        (Ok(switch), _) => {
            let to = switch.rsplit("->").next().unwrap_or_default().to_string();
            (format!("switched:{switch}"), to)
        }
        (Err(_), Some(v)) => (format!("user:OPENBLAS_CORETYPE={v}"), v),
        (Err(_), None) => return "openblas".to_string(),
    };
    if requested.eq_ignore_ascii_case(&core_name()) {
        choice
    } else {
        format!("{choice}(not-in-use)")
    }
}

/// The core to switch to, if OpenBLAS picked one weaker than the CPU runs
/// and nobody chose: not when `OPENBLAS_CORETYPE` is set (the user's
/// choice; `OVERFIT_BLAS_CORE=upgrade` overrides a weaker one, for machines
/// whose environment sets it), not with `OVERFIT_BLAS_CORE=keep`, not twice.
pub fn core_upgrade() -> Option<&'static str> {
    let mode = core_mode().ok()?;
    if mode == CoreMode::Keep || std::env::var_os(SWITCH_ENV).is_some() {
        return None;
    }
    if user_coretype().is_some() && mode != CoreMode::Upgrade {
        return None;
    }
    let target = best_core(cpu_level(), cpu_is_amd())?;
    (core_level(&core_name()) < core_level(target)).then_some(target)
}

/// OpenBLAS reads `OPENBLAS_CORETYPE` once, when it is loaded, so a better
/// core needs a fresh process: re-execute this program (same arguments,
/// same PID) with it set. Returns only when no switch is due or exec failed
/// (then the weaker core stays, and `core_choice` says so).
#[cfg(unix)]
pub fn reexec_with_best_core() {
    use std::os::unix::process::CommandExt;
    let Some(target) = core_upgrade() else {
        return;
    };
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let switch = format!("{}->{target}", core_name());
    let err = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("OPENBLAS_CORETYPE", target)
        .env(SWITCH_ENV, &switch)
        .exec();
    eprintln!("warning: could not re-execute with OPENBLAS_CORETYPE={target} ({err}); staying on the {} core", core_name());
}

#[cfg(not(unix))]
pub fn reexec_with_best_core() {}

/// The BLAS library and version, e.g. "OpenBLAS-0.3.21".
pub fn library() -> String {
    config()
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join("-")
}

/// The machine as `key=value` fields for a bench line (no spaces inside a
/// value): CPU model, BLAS library, core and how it was chosen, BLAS
/// threads, and the instruction set of the crate's own kernels (`nets::isa`).
pub fn machine_fields() -> String {
    format!(
        "cpu={} blas={} blas_core={} blas_core_choice={} blas_threads={} kernels={}",
        cpu_model().replace(char::is_whitespace, "_"),
        library(),
        core_name(),
        core_choice(),
        threads(),
        crate::nets::isa::Isa::detect().name()
    )
}

/// One line for `--verbose`: the CPU, the BLAS core and why it is that one.
pub fn describe() -> String {
    let why = match std::env::var(SWITCH_ENV) {
        Ok(switch) => format!(
            "re-executed with OPENBLAS_CORETYPE ({switch}): OpenBLAS had picked a core weaker than the CPU runs; {OPT_OUT_ENV}=keep opts out"
        ),
        Err(_) => match user_coretype() {
            Some(v) => format!("OPENBLAS_CORETYPE={v} set by the user, kept"),
            None => "OpenBLAS's own choice".to_string(),
        },
    };
    format!(
        "blas: {} core {} ({why}); CPU {} ({:?}); {} BLAS thread(s); kernels {}",
        library(),
        core_name(),
        cpu_model(),
        cpu_level(),
        threads(),
        crate::nets::isa::Isa::detect().name()
    )
}

/// The machine a result came from, as recorded in summary.json.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Machine {
    /// CPU model name (/proc/cpuinfo).
    pub cpu: String,
    /// Widest vector instructions the CPU runs ("Avx2", "Avx512", ...).
    pub cpu_simd: String,
    /// BLAS library and version.
    pub blas: String,
    /// OpenBLAS's kernel core in use.
    pub blas_core: String,
    /// How that core was chosen (`core_choice`).
    pub blas_core_choice: String,
    pub blas_threads: usize,
    /// Instruction set of the crate's own kernels (`nets::isa::Isa::name`;
    /// empty in runs recorded before it was, and then left out when such a
    /// summary is rewritten, as by `overfit rejudge`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kernels: String,
    /// Keys this binary does not know, kept as read so that a rewrite (such
    /// as `overfit rejudge`) keeps what a newer binary recorded.
    #[serde(flatten)]
    pub extra: crate::record::Extra,
}

impl Machine {
    pub fn current() -> Self {
        Machine {
            cpu: cpu_model(),
            cpu_simd: format!("{:?}", cpu_level()),
            blas: library(),
            blas_core: core_name(),
            blas_core_choice: core_choice(),
            blas_threads: threads(),
            kernels: crate::nets::isa::Isa::detect().name().to_string(),
            extra: Default::default(),
        }
    }
}

/// Columns of B and C per block when [`par_gemm`] cuts columns: wide
/// enough that each block is an efficient gemm, narrow enough that m = 1000
/// neurons give 8 blocks to share among the threads.
pub const PAR_GEMM_COLUMNS: usize = 128;

/// Blocks of rows when [`par_gemm`] cuts rows (each at least
/// [`PAR_GEMM_COLUMNS`] rows): enough to share among 8 threads and to
/// balance 2 or 3 of them.
pub const PAR_GEMM_ROW_BLOCKS: usize = 16;

/// A packed operand larger than this many elements (8 MiB of f64, past a
/// core's L2 and its share of L3) is read from memory by each block's
/// packing; [`GemmCut`] then cuts the inner dimension, which packs it once,
/// or makes at most [`PAR_GEMM_FEW_BLOCKS`] blocks.
pub const PAR_GEMM_BIG_OPERAND: usize = 1 << 20;

/// Blocks when A is big ([`PAR_GEMM_BIG_OPERAND`]): enough for 2 or 4
/// threads.
pub const PAR_GEMM_FEW_BLOCKS: usize = 4;

/// About the shortest block of an inner cut ([`GemmCut::Inner`], whose
/// blocks have nearly equal depths): long
/// enough that each block's gemm spends its time in the kernel rather than
/// on C (a gemm reads and writes C once for each few hundred of k).
pub const PAR_GEMM_INNER: usize = 1024;

/// How [`par_gemm`] cuts C (m x n), or for a big A the inner dimension k,
/// into blocks, from the shapes alone.
/// Each block is one gemm, and a gemm packs (copies into the BLAS's tile
/// layout) the operand it does not cut in full: cutting C's columns packs
/// all of A (m x k) once a block, cutting its rows packs all of B (k x n)
/// once a block. So it cuts the longer side of C, which packs the smaller
/// operand again, and when that operand is big it makes fewer blocks.
/// Measured on the primal step (p = 40000, n = 200, m = 1000, Zen 4, core
/// Cooperlake): W <- W - lr X^T G (C is 40000 x 1000, A = X^T) cut by
/// columns packed X 8 times, 13% of the step (`perf`), and by rows packs it
/// once; Z = X W cut in 4 column blocks instead of 8 made the step 4-12%
/// faster (medians of two interleaved batches of runs). When A is big and
/// C small, as in Z = X W (C 200 x 1000, A = X 200 x 40000), cutting k packs
/// each of X and W once: the step went from 0.170-0.178 to 0.153-0.161 s
/// against the 4 column blocks, which packed X 4 times (3 alternated rounds,
/// Xeon, core SkylakeX, session 54; 2 inner blocks gave 0.150-0.155 s but
/// leave threads 3 and 4 idle).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GemmCut {
    /// One gemm.
    Whole,
    /// Column blocks of this many columns (the last one narrower).
    Columns(usize),
    /// Row blocks of this many rows (the last one shorter).
    Rows(usize),
    /// Blocks of this many of the inner dimension k (the last one shorter):
    /// C = alpha sum_b A_b B_b + beta C, one gemm a block, the first into C
    /// and each other into its own m x n buffer, added to C in block order.
    Inner(usize),
}

impl GemmCut {
    /// The cut of C = A B with A (m x k) and B (k x n).
    pub fn of(m: usize, k: usize, n: usize) -> GemmCut {
        if m > n && m > PAR_GEMM_COLUMNS {
            GemmCut::Rows(m.div_ceil(PAR_GEMM_ROW_BLOCKS).max(PAR_GEMM_COLUMNS))
        } else if n > PAR_GEMM_COLUMNS {
            if m * k > PAR_GEMM_BIG_OPERAND {
                // The partial products (m x n each) stay small next to A.
                if k >= 2 * PAR_GEMM_INNER && n * PAR_GEMM_FEW_BLOCKS <= k {
                    // Blocks of nearly equal depth (the last shorter by less
                    // than their number), each at least PAR_GEMM_INNER.
                    let blocks = (k / PAR_GEMM_INNER).clamp(2, PAR_GEMM_FEW_BLOCKS);
                    GemmCut::Inner(k.div_ceil(blocks))
                } else {
                    GemmCut::Columns(n.div_ceil(PAR_GEMM_FEW_BLOCKS).max(PAR_GEMM_COLUMNS))
                }
            } else {
                GemmCut::Columns(PAR_GEMM_COLUMNS)
            }
        } else {
            GemmCut::Whole
        }
    }
}

/// C <- alpha A B + beta C, with A (m x k), B (k x n), C (m x n), in
/// parallel on the current rayon pool: C is cut into blocks of rows or of
/// columns, or the product into blocks of the inner dimension
/// ([`GemmCut`]), and each block is one single-threaded BLAS gemm.
/// The blocks depend on the shapes alone, so the result is bit-identical
/// for every thread count (tested). A different cut can change the last
/// bits: 256-column blocks instead of 128 changed one output's last digit
/// in xor_theorem's quick run on the Cooperlake core, so the cut of a
/// shape is part of what a committed run computed. The row cut was checked
/// against the runs it could touch (every quick two-layer spec and a
/// relu_label_noise grid with full-size cells, on the Cooperlake, SkylakeX,
/// Haswell and Zen cores: same bytes); no committed run has an A big
/// enough for the inner or the 4-block cut (`tests/refactor/compare.sh`
/// with the four full primal runs: same bytes). Cost 2 m k n, and with the
/// inner cut (blocks - 1) m n adds and as many m x n buffers.
pub fn par_gemm<T: LinalgScalar + Send + Sync>(
    alpha: T,
    a: &ArrayView2<T>,
    b: &ArrayView2<T>,
    beta: T,
    c: &mut ArrayViewMut2<T>,
) {
    assert_eq!(a.ncols(), b.nrows(), "par_gemm: inner dimensions");
    assert_eq!(c.dim(), (a.nrows(), b.ncols()), "par_gemm: output shape");
    match GemmCut::of(a.nrows(), a.ncols(), b.ncols()) {
        GemmCut::Whole => general_mat_mul(alpha, a, b, beta, c),
        GemmCut::Columns(width) => {
            let blocks: Vec<_> = b
                .axis_chunks_iter(Axis(1), width)
                .zip(c.axis_chunks_iter_mut(Axis(1), width))
                .collect();
            blocks
                .into_par_iter()
                .for_each(|(b, mut c)| general_mat_mul(alpha, a, &b, beta, &mut c));
        }
        GemmCut::Rows(height) => {
            let blocks: Vec<_> = a
                .axis_chunks_iter(Axis(0), height)
                .zip(c.axis_chunks_iter_mut(Axis(0), height))
                .collect();
            blocks
                .into_par_iter()
                .for_each(|(a, mut c)| general_mat_mul(alpha, &a, b, beta, &mut c));
        }
        GemmCut::Inner(depth) => {
            let mut pieces: Vec<_> = a
                .axis_chunks_iter(Axis(1), depth)
                .zip(b.axis_chunks_iter(Axis(0), depth))
                .collect();
            let first = pieces.remove(0);
            let mut partial: Vec<Array2<T>> =
                pieces.iter().map(|_| Array2::zeros(c.dim())).collect();
            rayon::join(
                || general_mat_mul(alpha, &first.0, &first.1, beta, c),
                || {
                    pieces
                        .into_par_iter()
                        .zip(partial.par_iter_mut())
                        .for_each(|((a, b), p)| {
                            general_mat_mul(alpha, &a, &b, T::zero(), &mut p.view_mut())
                        })
                },
            );
            for p in &partial {
                c.zip_mut_with(p, |c, &p| *c = *c + p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openblas_runs_on_one_thread_from_the_start() {
        // The constructor ran before this test harness started any thread.
        assert_eq!(threads(), 1, "OpenBLAS thread count");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn openblas_server_threads_are_stopped_at_load() {
        // SAFETY: dlsym with NUL-terminated names.
        let symbol = |name: &CStr| unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
        if symbol(c"blas_thread_shutdown_").is_null() {
            println!("skipped: this OpenBLAS has no thread server ({})", config());
            return;
        }
        assert!(
            server_threads_stopped(),
            "the constructor did not stop them"
        );
        assert!(
            !server_threads_running(),
            "OpenBLAS's worker threads are running"
        );
        // What `main` does next must leave them stopped (OpenBLAS's setter
        // restarts them when it is called).
        pin_one_thread();
        assert!(
            !server_threads_running(),
            "pin_one_thread restarted OpenBLAS's worker threads"
        );
    }

    /// OpenBLAS's `int blas_server_avail`: 1 while its worker threads run.
    #[cfg(target_os = "linux")]
    fn server_threads_running() -> bool {
        // SAFETY: dlsym with a NUL-terminated name.
        let avail = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"blas_server_avail".as_ptr()) };
        assert!(!avail.is_null(), "blas_server_avail not exported");
        // SAFETY: OpenBLAS's `int blas_server_avail`, written only when its
        // worker threads start or stop.
        unsafe { std::ptr::read_volatile(avail as *const c_int) != 0 }
    }

    #[test]
    fn core_levels_order_the_known_cores() {
        assert_eq!(core_level("Prescott"), SimdLevel::Sse);
        assert_eq!(core_level("Sandybridge"), SimdLevel::Avx);
        assert_eq!(core_level("Zen"), SimdLevel::Avx2);
        assert_eq!(core_level("HASWELL"), SimdLevel::Avx2);
        assert_eq!(core_level("SkylakeX"), SimdLevel::Avx512);
        // What each CPU level asks for is at least as strong as the CPU.
        for (level, amd) in [
            (SimdLevel::Avx2, false),
            (SimdLevel::Avx2, true),
            (SimdLevel::Avx512, false),
            (SimdLevel::Avx512, true),
        ] {
            assert_eq!(core_level(best_core(level, amd).unwrap()), level);
        }
        assert_eq!(best_core(SimdLevel::Avx512, true), Some("COOPERLAKE"));
        assert_eq!(best_core(SimdLevel::Avx2, true), Some("ZEN"));
        assert_eq!(best_core(SimdLevel::Sse, false), None);
    }

    #[test]
    fn core_name_and_config_are_readable() {
        assert!(!core_name().is_empty());
        assert!(config().contains("OpenBLAS"), "config: {}", config());
    }

    fn matrix(rows: usize, cols: usize, salt: usize) -> Array2<f64> {
        Array2::from_shape_fn((rows, cols), |(i, j)| {
            ((i * 7919 + j * 104729 + salt) % 1000) as f64 / 997.0 - 0.5
        })
    }

    #[test]
    fn par_gemm_cuts_the_longer_side_of_c() {
        assert_eq!(GemmCut::of(100, 7, 128), GemmCut::Whole);
        // The dual step's K G and the primal step's X W at XOR's sizes.
        assert_eq!(
            GemmCut::of(200, 200, 1000),
            GemmCut::Columns(PAR_GEMM_COLUMNS)
        );
        assert_eq!(GemmCut::of(200, 40000, 1000), GemmCut::Inner(10000));
        // A big A beside a C too wide for partial products of it.
        assert_eq!(GemmCut::of(200, 40000, 20000), GemmCut::Columns(5000));
        assert_eq!(GemmCut::of(1100, 1000, 2000), GemmCut::Columns(500));
        assert_eq!(GemmCut::of(600, 1800, 700), GemmCut::Columns(175));
        // The primal step's X^T G by gemm (below 64 neurons, or forced).
        assert_eq!(GemmCut::of(40000, 200, 1000), GemmCut::Rows(2500));
        assert_eq!(GemmCut::of(1000, 9, 50), GemmCut::Rows(PAR_GEMM_COLUMNS));
        assert_eq!(GemmCut::of(129, 9, 3), GemmCut::Rows(PAR_GEMM_COLUMNS));
        assert_eq!(GemmCut::of(5, 210000, 520), GemmCut::Inner(52500));
        assert_eq!(GemmCut::of(9, 120001, 130), GemmCut::Inner(30001));
        // 3 blocks of 1167, 1167 and 1166, not 1024, 1024, 1024 and 428.
        assert_eq!(GemmCut::of(300, 3500, 520), GemmCut::Inner(1167));
    }

    #[test]
    fn par_gemm_is_the_same_on_any_thread_count_and_matches_the_naive_product() {
        for &(m, k, n) in &[
            (7, 5, 3),
            (30, 40, 128),
            (20, 300, 129),
            (50, 64, 1000),
            (1000, 20, 50),
            (4001, 9, 130),
            (5, 210000, 520),
            (9, 120001, 130), // inner blocks, the last one shorter
            (600, 1800, 700), // 4 column blocks of a big A
        ] {
            let (a, b) = (matrix(m, k, 1), matrix(k, n, 2));
            let start = matrix(m, n, 3);
            let run = |threads: usize| {
                let mut c = start.clone();
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap()
                    .install(|| par_gemm(-0.05, &a.view(), &b.view(), 0.999, &mut c.view_mut()));
                c
            };
            let one = run(1);
            for threads in [2, 3] {
                let c = run(threads);
                let same = one.iter().zip(&c).all(|(x, y)| x.to_bits() == y.to_bits());
                assert!(same, "{m}x{k}x{n}: {threads} threads differ from 1");
            }
            // The product by loops, not by BLAS (which par_gemm calls).
            let mut product = Array2::<f64>::zeros((m, n));
            for i in 0..m {
                for l in 0..k {
                    let a_il = a[[i, l]];
                    for (p, &b_lj) in product.row_mut(i).iter_mut().zip(b.row(l)) {
                        *p += a_il * b_lj;
                    }
                }
            }
            let naive = &start * 0.999 - product * 0.05;
            let worst = one
                .iter()
                .zip(&naive)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, crate::nets::max_or_nan);
            // Rounding grows with the length k of each sum.
            assert!(
                worst < 1e-12 * (k as f64 / 1000.0).max(1.0),
                "{m}x{k}x{n}: off the naive product by {worst:e}"
            );
        }
    }
}
