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
use ndarray::{ArrayView2, ArrayViewMut2, Axis, LinalgScalar};
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
}

/// Set OpenBLAS to one thread. Idempotent; the load-time constructor has
/// done it already on Linux, `main` calls it again for other platforms.
pub fn pin_one_thread() {
    // SAFETY: a plain setter of the linked OpenBLAS; called while no BLAS
    // call is in flight (at load time, or first thing in main).
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

/// Columns of B and C per block of [`par_gemm`]: wide enough that each
/// block is an efficient gemm, narrow enough that m = 1000 neurons give
/// 8 blocks to share among the threads.
pub const PAR_GEMM_COLUMNS: usize = 128;

/// C <- alpha A B + beta C, with A (m x k), B (k x n), C (m x n), in
/// parallel on the current rayon pool: the columns of B and C are cut into
/// blocks of [`PAR_GEMM_COLUMNS`], and each block is one single-threaded
/// BLAS gemm. The blocks depend on n alone, so the result is bit-identical
/// for every thread count (tested). On the Zen core it is also
/// bit-identical to the one-call gemm (measured on the XOR step's shapes),
/// which other kernels need not promise. Cost 2 m k n.
pub fn par_gemm<T: LinalgScalar + Send + Sync>(
    alpha: T,
    a: &ArrayView2<T>,
    b: &ArrayView2<T>,
    beta: T,
    c: &mut ArrayViewMut2<T>,
) {
    assert_eq!(a.ncols(), b.nrows(), "par_gemm: inner dimensions");
    assert_eq!(c.dim(), (a.nrows(), b.ncols()), "par_gemm: output shape");
    if b.ncols() <= PAR_GEMM_COLUMNS {
        general_mat_mul(alpha, a, b, beta, c);
        return;
    }
    let blocks: Vec<_> = b
        .axis_chunks_iter(Axis(1), PAR_GEMM_COLUMNS)
        .zip(c.axis_chunks_iter_mut(Axis(1), PAR_GEMM_COLUMNS))
        .collect();
    blocks
        .into_par_iter()
        .for_each(|(b, mut c)| general_mat_mul(alpha, a, &b, beta, &mut c));
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn openblas_runs_on_one_thread_from_the_start() {
        // The constructor ran before this test harness started any thread.
        assert_eq!(threads(), 1, "OpenBLAS thread count");
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
    fn par_gemm_is_the_same_on_any_thread_count_and_matches_the_naive_product() {
        for &(m, k, n) in &[(7, 5, 3), (30, 40, 128), (20, 300, 129), (50, 64, 1000)] {
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
            let naive = &start * 0.999 - a.dot(&b) * 0.05;
            let worst = one
                .iter()
                .zip(&naive)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f64::max);
            assert!(
                worst < 1e-12,
                "{m}x{k}x{n}: off the naive product by {worst:e}"
            );
        }
    }
}
