//! The product L G of a two-layer GD step when sigma' takes two values
//! (ReLU, leaky ReLU), by table lookup (the method of four Russians)
//! instead of a gemm.
//!
//! The dual engine (`two_layer`) moves the training pre-activations by
//!     Z <- beta Z + alpha K G,   G_ij = d_i a_j sigma'(Z_ij),
//! with K = X X^T (n x n), Z and G n x m, d_i = l'(f_i, y_i) / n (`apply`);
//! the primal engine moves the weights by W <- beta W + alpha X^T G, W d x m,
//! with the same G (`apply_to`). Below, K stands for either left factor
//! (X^T has d rows) and Z for the matrix that moves. For these
//! activations sigma'(z) = 1 for z > 0 and gamma otherwise, so with the 0/1
//! mask M_ij = 1{Z_ij > 0}
//!     (K G)_rj = a_j [gamma (K d)_r + (1 - gamma) Y_rj],   Y = K diag(d) M.
//! Column j of Y is the sum of the columns of K diag(d) that column j of M
//! selects. Cut the n summation indices into blocks of `BITS`; for each block
//! tabulate the 2^BITS sums of its columns (each entry one vector add onto an
//! earlier entry); then column j of Y is the sum, over the blocks, of the
//! entry that the block's `BITS` mask bits of column j select.
//!
//! Cost a step: n^2 2^BITS / BITS adds for the tables and n^2 m / BITS for the
//! lookups, against the gemm's 2 n^2 m flops: at n = 200, m = 1000 and BITS =
//! 6, 7.0e6 adds against 8.0e7 flops. The lookups are loads of one table entry
//! (a `TILE`-row vector, one cache line) and adds, with no gather; the tables
//! of one tile (n / BITS x 2^BITS x TILE doubles, 139 KB at n = 200) stay in L2
//! while every column is looked up. The cache is not what bounds them: with
//! every lookup of a tile on one entry a table (all in L1;
//! `table_lookups_in_l1` in `cargo bench --bench two_layer -- dual_update`) the
//! product took 0.71-0.78 ms against 0.78-0.89 ms with the tables in L2 (AMD
//! EPYC Zen 4, one thread, interleaved runs). The codes are stored as the
//! entries' first elements (u16, TILE c), a column group's contiguous block
//! after block, so a lookup compiled to two instructions (an extract of its
//! start from the 8 loaded at once, an add from memory; about 1.3 cycles a
//! lookup at 3.5 GHz): 0.52-0.53 ms against 0.58-0.60 ms for one u64 of 8 byte
//! codes cut with shifts (5-7 instructions a lookup, with bounds checks), which
//! in turn beat the compiler's byte extracts (`vpextrb`) of byte codes,
//! 0.78-0.84 ms against 0.86-0.89 ms in an earlier sitting (all interleaved,
//! same bits). In a later sitting, scalar loads of the starts (forced,
//! `read_volatile`) were slower than the extracts: 0.71-0.73 ms against
//! 0.65-0.66. The extracts themselves (`vpextrw`, vector-to-integer moves,
//! where `perf` put most of the loop's samples) then gave way to a block's 8
//! starts read as four u32 and cut in general registers (a mask, or a shift and
//! a mask, then the add from memory): 0.64-0.70 ms against 0.68-0.74 ms, lower
//! in each of 4 interleaved pairs (a slower sitting than the figures above;
//! with it, BITS = 7 was again no faster, 0.60-0.70 ms against 0.61-0.63).
//! The mask and the shift's mask were there only to keep each entry's slice
//! in bounds; with the starts checked once a product (`Codes::new`, one OR
//! over them) and the entries read unchecked (`Table::entry`), a pair's cut
//! is a zero-extending move and a shift (23 instructions a block of 8
//! lookups against 35): the product (`cargo bench --bench two_layer --
//! 'dual_update_n200_m1000/table$'`, 2 threads) 347-510 us against 435-638
//! us, its mean lower in 4 of 4 alternated rounds (3 of 4 on one thread;
//! without the check, 348-505 against 542-691 us), the same bits. The main
//! job (`--seeds 4`) was no faster: its lookups wait on their loads (model-207
//! Xeon, session 63, `benches/results/xeon207-s63/lookup-unchecked.txt`).
//! Moving C inside each tile's update of Z (where Z's old value is already in a
//! register) instead of in the mask-code pass made the whole dual step slower
//! in each of 7 interleaved pairs (`overfit bench two-layer --engine dual
//! --threads 1`: 0.80-0.85 ms against 0.61-0.66 in the first four); the same
//! bytes of C move either way (why it is slower is not measured; one guess is
//! that C's loads then compete with the lookups' for the load ports). `perf` of
//! the product now: the lookup loop about 60%, the tables 10%, the update of Z
//! from the 8 x 8 blocks of sums (a transposition in registers) most of the
//! rest, the mask codes 4%. The transposition (`transpose_8x8`) with AVX-512
//! shuffles: 0.71-0.82 ms against 0.80-0.87 ms before (interleaved, same bits).
//! BITS = 7 measured no faster with the u16 starts (0.58-0.62 ms against
//! 0.58-0.63, interleaved). Measured on the same Zen 4 in one earlier sitting
//! (a build with the tables in 2 MB-aligned buffers, which later measured no
//! different): BITS = 6 was the fastest of 4..=8 (0.70 ms against 0.84 at 7,
//! 0.95 at 8, the gemm 1.78 ms); `TILE` = 16 was slower than 8, and so was
//! building the tables of a few blocks at a time so that the lookups hit L1
//! (with running sums streamed through L2 instead). Writing the transposition
//! as a constant-size array, so that it would not depend on the tile's rows,
//! made the product 3x slower. Two column groups looked up side by side (16
//! independent add chains where 8 hold one group's sums; each column still
//! summed block by block, so the same bits) made the dual step slower in 5
//! of 6 alternated pairs on the model-207 Xeon (session 61,
//! `benches/results/xeon207-s61/lookup-chains.txt`), as 16 columns had been
//! no faster in session 58's C microbenchmark
//! (`benches/results/xeon207-s58/dual-outputs.txt`): the loop is not bound
//! by its adds' latency.
//!
//! The primal form (`apply_to`, session 53) runs the same tiles over W's d
//! rows: d n (m + 2^BITS) / BITS adds, 1.4e9 at d = 40000, n = 200, m = 1000
//! against the gemm's 1.6e10 flops. There the left factor X^T does not fit
//! in cache, and each tile's table build reads one cache line from each of n
//! rows of X, 320 KB apart: `perf` put 39% of the product on those loads,
//! waiting on memory one after another, and 16% at the update of W's rows,
//! and the step was no faster than the gemm's (0.234 s against 0.235-0.247
//! s, 2 threads, Intel Xeon, SkylakeX core). Prefetching the next tile's
//! pieces of X^T while building the tables, and W's rows 64 columns ahead
//! while updating them (`prefetch`, for left factors from
//! `PREFETCH_FROM_BYTES`), then reading the pieces by index rather than
//! through ndarray's `slice` (a call, 2.7% of the step), made it 0.165-0.169
//! s, 1.31-1.32x faster than the gemm's in the same sitting (and 1.12-1.42x
//! at d = 25 to 2000; `benches/results/xeon3-s53/primal-table.txt`).
//! When the forward Z = X W that follows is cut by blocks of the d inputs
//! (`blas::GemmCut::Inner`), `apply_to_then_forward` (session 54) runs it
//! inside the same pass, one gemm on each 384 rows of W right after the
//! table updated them, so the gemm packs them from cache rather than from
//! memory: OpenBLAS's packing of W went from 9.6% to 8.0% of the step and
//! of X from 3.5% to 2.6% (`perf`), and the step from a median of 0.160 s to
//! 0.150 s (5 alternated rounds each, 0.155-0.163 s against 0.143-0.154 s;
//! d = 40000, n = 200, m = 1000, 2 threads, Intel Xeon, SkylakeX core).
//! Since session 61 that pass cuts the d inputs into blocks of its own
//! (`forward_depth`: 8 at d = 40000, where the gemm's cut made 4), which
//! the threads take in turn (`nets::job_queue`) rather than a fixed half
//! each.
//!
//! Every element of Z is summed in one fixed order (blocks in order, each
//! table entry from its lowest bit up) whatever the thread count, so the
//! bits do not depend on it; they differ from the gemm's by rounding only
//! (`tests`: the gemm and a loop-by-loop reference against it).

use ndarray::{s, ArrayView2, ArrayViewMut2, Axis};
use rayon::prelude::*;

use crate::nets::activation::Activation;
use crate::nets::block8::transpose_8x8;
use crate::nets::isa::{per_isa, Isa};
use crate::nets::job_queue::{on_own_threads, row_parts};
use crate::nets::{first_layer_coefficient, moved_coefficient, PARALLEL_FROM};

/// Summation indices per table: a table has 2^BITS entries (at most 13: an
/// entry's first element, TILE c, is a u16).
const BITS: usize = 6;
const ENTRIES: usize = 1 << BITS;
/// Output rows per table entry: one AVX-512 register of f64.
const TILE: usize = 8;
/// Columns looked up side by side: independent add chains, and an 8 x 8
/// block that is transposed in registers before it meets Z's rows.
const COLUMNS_AT_ONCE: usize = 8;
// The sums of a group are one 8 x 8 block, a table entry is one cache line,
// an entry's first element fits a u16.
const _: () = assert!(COLUMNS_AT_ONCE == 8 && TILE * 8 == 64 && TILE << (BITS - 1) <= 0xffff);
// The outputs (`two_layer::backprop_coefficients`) cut Z's rows by
// `row_parts` in blocks of ROW_BLOCK rows, the update in tiles: the same cut.
const _: () = assert!(TILE == crate::nets::outputs::ROW_BLOCK);

/// Scalar adds of one product by table lookup into `rows` x m (n summation
/// indices; `apply`: rows = n, `apply_to`: rows = d): the tables (2^BITS - 1
/// vector adds of `TILE` rows a block and tile) and the lookups (one per
/// block but the first, a column and tile). The gemm it replaces: 2 rows n m.
pub fn adds(rows: usize, n: usize, m: usize) -> f64 {
    let rows = rows.div_ceil(TILE) * TILE;
    let blocks = n.div_ceil(BITS);
    (rows * blocks * (ENTRIES - 1) + rows * m * blocks.saturating_sub(1)) as f64
}

/// Scratch of `GramUpdate::apply`, `apply_to` and `apply_to_then_forward`:
/// one table set per worker, the mask codes (as entry starts,
/// `mask_codes`, in parts: `Codes`), the leaky offset K d and the
/// forward's block products.
#[derive(Default)]
pub struct GramUpdate {
    tables: Vec<Vec<Table>>,
    starts: Vec<u16>,
    /// The blocks where the codes' parts begin, and the number of blocks
    /// (`Codes::bounds`).
    part_blocks: Vec<usize>,
    kd: Vec<f64>,
    /// The products of W's blocks after the first (`apply_to_then_forward`).
    forward_partials: Vec<ndarray::Array2<f64>>,
}

impl GramUpdate {
    pub fn new() -> Self {
        Self::default()
    }

    /// Z <- beta Z + alpha K G with G_ij = d_i a_j sigma'(Z_ij), sigma' =
    /// `act.derivative`: 1 for z > 0, gamma = `act.slope()` otherwise (NaN
    /// counts as not above 0), read from Z before the update.
    /// K is n x n, Z n x m in standard layout, d has n entries, a has m.
    /// Same result as `par_gemm(alpha, K, G, beta, Z)` up to rounding.
    /// With `c` (n x m, standard layout), also C <- beta C + alpha G, the
    /// dual coefficients' move, made in the pass that reads Z's signs: G
    /// itself is never stored.
    /// O(n^2 (m + 2^BITS) / BITS) adds, cut into tiles of rows across the
    /// current rayon pool.
    #[allow(clippy::too_many_arguments)]
    pub fn apply(
        &mut self,
        alpha: f64,
        k: ArrayView2<f64>,
        d: &[f64],
        a: &[f64],
        act: Activation,
        beta: f64,
        z: ArrayViewMut2<f64>,
        c: Option<ArrayViewMut2<f64>>,
    ) {
        let n = z.nrows();
        assert_eq!(k.dim(), (n, n), "GramUpdate: K must be n x n");
        let moves = c.map(|c| (c, alpha, beta));
        self.read_masks(z.view(), d, a, act, moves);
        self.update(alpha, k, d, a, act, beta, z);
    }

    /// The primal step's product, W <- beta W + alpha X^T G with the same G
    /// (its signs read from Z, n x m): X^T is d x n (any layout; its columns
    /// are X's rows), W d x m in standard layout. Same result as
    /// `par_gemm(alpha, X^T, G, beta, W)` up to rounding.
    /// O(n d (m + 2^BITS) / BITS) adds against the gemm's 2 n d m flops.
    #[allow(clippy::too_many_arguments)]
    pub fn apply_to(
        &mut self,
        alpha: f64,
        x_t: ArrayView2<f64>,
        d: &[f64],
        a: &[f64],
        act: Activation,
        beta: f64,
        z: ArrayView2<f64>,
        w: ArrayViewMut2<f64>,
    ) {
        let (n, m) = z.dim();
        assert_eq!(
            (x_t.ncols(), w.dim()),
            (n, (x_t.nrows(), m)),
            "GramUpdate: X^T must be d x n and W d x m"
        );
        self.read_masks(z, d, a, act, None);
        self.update(alpha, x_t, d, a, act, beta, w);
    }

    /// The mask codes of Z's signs into `starts` (`mask_codes`), and with
    /// `moves` = (C, alpha, beta) the coefficients' move C <- beta C + alpha G.
    fn read_masks(
        &mut self,
        z: ArrayView2<f64>,
        d: &[f64],
        a: &[f64],
        act: Activation,
        moves: Option<(ArrayViewMut2<f64>, f64, f64)>,
    ) {
        let (n, m) = z.dim();
        assert_eq!((d.len(), a.len()), (n, m), "GramUpdate: d and a lengths");
        let blocks = n.div_ceil(BITS);
        let groups = m.div_ceil(COLUMNS_AT_ONCE);
        self.starts.resize(groups * blocks * COLUMNS_AT_ONCE, 0);
        let (c, alpha, beta) = match moves {
            Some((c, alpha, beta)) => {
                assert_eq!(c.dim(), (n, m), "GramUpdate: C must be n x m");
                (Some(c), alpha, beta)
            }
            None => (None, 0.0, 1.0),
        };
        // Z's rows cut at block boundaries, each part near where `update`
        // cuts the same rows into a worker's tiles (the dual step's Z), part
        // i run on thread i as the tiles are: the thread that updated a row
        // reads it back here from its own cache (`job_queue`). Every element
        // is computed as in one pass.
        let (workers, rows_per_worker) = match n * m < PARALLEL_FROM {
            true => (1, n),
            false => row_parts(n, TILE),
        };
        self.part_blocks.clear();
        let firsts = (0..workers).map(|w| (w * rows_per_worker / BITS).min(blocks));
        self.part_blocks.extend(firsts);
        self.part_blocks.push(blocks);
        self.part_blocks.dedup();
        let mut parts = Vec::with_capacity(workers);
        let (mut starts_rest, mut c_rest) = (&mut self.starts[..], c);
        for bounds in self.part_blocks.windows(2) {
            let (i0, i1) = (bounds[0] * BITS, (bounds[1] * BITS).min(n));
            let codes = groups * (bounds[1] - bounds[0]) * COLUMNS_AT_ONCE;
            let (starts, tail) = std::mem::take(&mut starts_rest).split_at_mut(codes);
            starts_rest = tail;
            let c = c_rest.take().map(|c| {
                let (c, tail) = c.split_at(Axis(0), i1 - i0);
                c_rest = Some(tail);
                c
            });
            parts.push((i0, i1, starts, c));
        }
        on_own_threads(parts, |_, (i0, i1, starts, c)| {
            let coefficients = c.map(|c| CoefficientMove {
                c,
                d: &d[i0..i1],
                a,
                act,
                alpha,
                beta,
            });
            mask_codes(z.slice(s![i0..i1, ..]), starts, coefficients);
        });
    }

    /// Target <- beta Target + alpha L G (L r x n, the target r x m; G from
    /// the codes `read_masks` left), tile by tile across the rayon pool.
    #[allow(clippy::too_many_arguments)]
    fn update(
        &mut self,
        alpha: f64,
        k: ArrayView2<f64>,
        d: &[f64],
        a: &[f64],
        act: Activation,
        beta: f64,
        z: ArrayViewMut2<f64>,
    ) {
        let (rows, m) = z.dim();
        let (workers, rows_per_worker) = row_parts(rows, TILE);
        self.prepare(k, d, act, workers);
        let offset = leaky_offset(&self.kd, act);
        let codes = Codes::new(&self.starts, &self.part_blocks, m);
        let isa = Isa::detect();
        let mut parts = Vec::with_capacity(workers);
        let mut rest = z;
        for (w, tables) in self.tables.iter_mut().enumerate() {
            let r0 = w * rows_per_worker;
            if r0 >= rows {
                break;
            }
            let (chunk, tail) = rest.split_at(Axis(0), rows_per_worker.min(rows - r0));
            rest = tail;
            parts.push((r0, chunk, tables));
        }
        on_own_threads(parts, |_, (r0, chunk, tables)| {
            update_rows(isa, k, d, codes, a, offset, alpha, beta, r0, chunk, tables);
        });
    }

    /// One table set per worker, and the leaky offset (K d, gamma) when
    /// sigma' is not 0 below 0 (`update_tile`'s `offset`).
    /// The offset is then `leaky_offset(&self.kd, act)`.
    fn prepare(&mut self, k: ArrayView2<f64>, d: &[f64], act: Activation, workers: usize) {
        let blocks = k.ncols().div_ceil(BITS);
        self.tables.resize_with(workers, Vec::new);
        for t in &mut self.tables {
            t.resize(blocks, Table([[0.0; TILE]; ENTRIES]));
        }
        if act.slope() != 0.0 {
            gram_times(k, d, &mut self.kd);
        }
    }
}

/// Rows of K d a block of `gram_times`'s column form: 16 KB of sums, held in
/// L1 while the columns pass.
const GRAM_TIMES_ROWS: usize = 2048;

/// `update_tile`'s `offset`: K d (`GramUpdate::prepare`) and gamma, when
/// sigma' is not 0 below 0.
fn leaky_offset(kd: &[f64], act: Activation) -> Option<(&[f64], f64)> {
    let gamma = act.slope();
    (gamma != 0.0).then_some((kd, gamma))
}

/// kd <- K d, (K d)_r = sum_i K_ri d_i (the leaky offset; O(r n) for K r x
/// n). Each sum starts at -0.0 and adds its terms in the order of i, as
/// `Iterator::sum` does, in either form, so both give the same bits: down
/// K's columns when they are contiguous (the primal's X^T, whose columns are
/// X's rows), the sums of a block of rows at a time, or else along its rows
/// (the dual's K). The row form over X^T read each sum's terms 8 d bytes
/// apart in one chain of dependent adds, on one thread; the column form
/// streams X's rows, its blocks across the rayon pool: the leaky primal
/// step (p = 40000, n = 200, m = 1000, 2 threads) went from 0.164-0.170 to
/// 0.153-0.154 s (3 alternated rounds, Xeon, SkylakeX core, session 54).
fn gram_times(k: ArrayView2<f64>, d: &[f64], kd: &mut Vec<f64>) {
    kd.clear();
    let columns_contiguous = k.ncols() > 1 && k.strides()[0] == 1;
    if !columns_contiguous {
        kd.extend(
            k.outer_iter()
                .map(|row| row.iter().zip(d).map(|(&kri, &di)| kri * di).sum::<f64>()),
        );
        return;
    }
    kd.resize(k.nrows(), -0.0);
    let block_sums = |(b, sums): (usize, &mut [f64])| {
        let r0 = b * GRAM_TIMES_ROWS;
        for (column, &di) in k.columns().into_iter().zip(d) {
            let column = column.to_slice().expect("gram_times: contiguous columns");
            for (sum, &kri) in sums.iter_mut().zip(&column[r0..]) {
                *sum += kri * di;
            }
        }
    };
    if rayon::current_num_threads() > 1 && k.len() >= PARALLEL_FROM {
        kd.par_chunks_mut(GRAM_TIMES_ROWS)
            .enumerate()
            .for_each(block_sums);
    } else {
        kd.chunks_mut(GRAM_TIMES_ROWS)
            .enumerate()
            .for_each(block_sums);
    }
}

per_isa! {
    /// The mask code of block b, column j = 8 g + q, is
    ///     c = sum over bit < BITS of 1{Z[b BITS + bit, j] > 0} << bit
    /// (rows past n count as 0); starts[(g blocks + b) 8 + q] = TILE c, where
    /// entry c begins in the table's elements. A column group's starts are
    /// contiguous, block by block, in the order its lookups read them; the
    /// columns past m (the last group's padding) have c = 0. Moves the
    /// coefficients row by row as it reads Z, when asked. Z (n x m) may be
    /// a block of rows of a larger Z beginning at a block (a part of
    /// `Codes`): its rows are contiguous.
    fn mask_codes / mask_codes_on(
        z: ArrayView2<f64>,
        starts: &mut [u16],
        coefficients: Option<CoefficientMove>,
    ) {
        let mut coefficients = coefficients;
        let (n, m) = z.dim();
        let blocks = n.div_ceil(BITS);
        starts.fill(0);
        for (i, row) in z.outer_iter().enumerate() {
            let row = row.to_slice().expect("GramUpdate: Z's rows contiguous");
            if let Some(coefficients) = coefficients.as_mut() {
                coefficients.move_row(i, row);
            }
            let (b, bit) = (i / BITS, i % BITS);
            let weight = (TILE as u16) << bit;
            let start_bit = |zij: f64| u16::from(zij > 0.0) * weight;
            let group_starts = |g: usize| (g * blocks + b) * COLUMNS_AT_ONCE;
            let mut groups = row.chunks_exact(COLUMNS_AT_ONCE);
            for (g, columns) in groups.by_ref().enumerate() {
                let group: &mut [u16; COLUMNS_AT_ONCE] = (&mut starts[group_starts(g)..]
                    [..COLUMNS_AT_ONCE])
                    .try_into()
                    .expect("COLUMNS_AT_ONCE");
                *group = std::array::from_fn(|q| group[q] | start_bit(columns[q]));
            }
            let rest = groups.remainder();
            if !rest.is_empty() {
                let last = &mut starts[group_starts(m / COLUMNS_AT_ONCE)..];
                for (s, &zij) in last.iter_mut().zip(rest) {
                    *s |= start_bit(zij);
                }
            }
        }
    }
}

/// C <- beta C + alpha G, G_ij = d_i a_j sigma'(Z_ij): the dual
/// coefficients' move (`two_layer`'s dual step; with the gemm it is made
/// there from a stored G, by the same two formulas of `nets`).
struct CoefficientMove<'a> {
    c: ArrayViewMut2<'a, f64>,
    d: &'a [f64],
    a: &'a [f64],
    act: Activation,
    alpha: f64,
    beta: f64,
}

impl CoefficientMove<'_> {
    /// Row i of C, from row i of Z.
    #[inline(always)]
    fn move_row(&mut self, i: usize, z_row: &[f64]) {
        let Self {
            d,
            a,
            act,
            alpha,
            beta,
            ..
        } = *self;
        let mut c_row = self.c.row_mut(i);
        let c_row = c_row
            .as_slice_mut()
            .expect("GramUpdate: C's rows contiguous");
        for ((cij, &zij), &aj) in c_row.iter_mut().zip(z_row).zip(a) {
            let gij = first_layer_coefficient(d[i], aj, act.derivative(zij));
            *cij = moved_coefficient(*cij, gij, beta, alpha);
        }
    }
}

/// The mask codes of Z's rows (`mask_codes`), cut at block boundaries
/// into parts (`GramUpdate::read_masks`: one a worker): part p holds blocks
/// bounds[p]..bounds[p + 1] of every column group, group after group, as
/// `mask_codes` writes them for those rows alone; the last bound is the
/// number of blocks. One part is `mask_codes`'s layout for all of Z.
/// Every start is an entry's, TILE c with c < ENTRIES (`new` checks it):
/// the lookups read the tables unchecked (`Table::entry`).
#[derive(Clone, Copy)]
struct Codes<'a> {
    starts: &'a [u16],
    bounds: &'a [usize],
    groups: usize,
}

impl<'a> Codes<'a> {
    /// The codes of an n x m Z whose parts begin at the blocks `bounds`.
    fn new(starts: &'a [u16], bounds: &'a [usize], m: usize) -> Self {
        let groups = m.div_ceil(COLUMNS_AT_ONCE);
        let blocks = bounds.last().copied().unwrap_or(0);
        assert_eq!(
            starts.len(),
            groups * blocks * COLUMNS_AT_ONCE,
            "Codes: starts"
        );
        // The starts TILE c, c < ENTRIES, are the u16s with no bit outside
        // TILE (ENTRIES - 1): one OR over them (SSE2 ors: 2.7 us for the
        // 34000 starts at n = 200, m = 1000, under 1% of the product).
        const START_BITS: u16 = (TILE * (ENTRIES - 1)) as u16;
        const _: () = assert!(TILE.is_power_of_two() && ENTRIES.is_power_of_two());
        let stray = starts.iter().fold(0, |bits, &start| bits | start) & !START_BITS;
        assert_eq!(stray, 0, "Codes: a start that begins no table entry");
        Self {
            starts,
            bounds,
            groups,
        }
    }

    /// Column group g's starts in each part, block after block, with the
    /// part's first block, the parts in order.
    fn of_group(&self, g: usize) -> impl Iterator<Item = (&'a [u16], usize)> {
        let (starts, groups) = (self.starts, self.groups);
        self.bounds.windows(2).map(move |part| {
            let len = (part[1] - part[0]) * COLUMNS_AT_ONCE;
            (
                &starts[groups * part[0] * COLUMNS_AT_ONCE + g * len..][..len],
                part[0],
            )
        })
    }
}

/// The update of Z's rows r0.. (the rows of `z`), tile by tile, on `isa`
/// (`Isa::detect()` but in tests, which run every set through this loop).
#[allow(clippy::too_many_arguments)]
fn update_rows(
    isa: Isa,
    k: ArrayView2<f64>,
    d: &[f64],
    codes: Codes,
    a: &[f64],
    offset: Option<(&[f64], f64)>,
    alpha: f64,
    beta: f64,
    r0: usize,
    mut z: ArrayViewMut2<f64>,
    tables: &mut [Table],
) {
    let rows = z.nrows();
    for (t, tile) in z.axis_chunks_iter_mut(Axis(0), TILE).enumerate() {
        debug_assert!(t * TILE < rows);
        update_tile_on(
            isa,
            k,
            d,
            codes,
            a,
            offset,
            alpha,
            beta,
            r0 + t * TILE,
            tile,
            tables,
            isa,
        );
    }
}

/// The 2^BITS sums of one block's columns, each `TILE` rows of K diag(d).
/// Aligned to 64 bytes, so that every entry is one cache line.
#[derive(Clone, Copy)]
#[repr(align(64))]
struct Table([[f64; TILE]; ENTRIES]);

impl Table {
    /// The entry that begins at element `start`: a lookup is the start cut
    /// from a u32 of two (a zero-extending move, or a shift) and an add from
    /// memory, with no mask to keep a slice in bounds (module docs).
    ///
    /// # Safety
    /// `start` is TILE c with c < ENTRIES (as `mask_codes` writes them and
    /// `Codes::new` checks), so that the entry's TILE elements lie in the
    /// table.
    #[inline(always)]
    unsafe fn entry(&self, start: u16) -> &[f64; TILE] {
        let first = usize::from(start);
        debug_assert!(first % TILE == 0 && first < TILE * ENTRIES, "start {first}");
        // SAFETY: first + TILE <= TILE * ENTRIES, the table's elements (the
        // caller's contract), and [f64; TILE] has f64's alignment.
        let entries = self.0.as_flattened().as_ptr();
        unsafe { &*entries.add(first).cast::<[f64; TILE]>() }
    }
}

per_isa! {
    /// One tile of at most `TILE` rows of Z starting at row r0: build the
    /// tables of its rows of K diag(d) (`tables`: one per block), then look
    /// up every column. `transpose_on`: the set of the exact block
    /// transposition (`transpose_8x8`), `Isa::detect()` but in tests.
    #[allow(clippy::too_many_arguments)]
    #[expect(
        dead_code,
        reason = "update_rows reads the set once a product and calls update_tile_on"
    )]
    fn update_tile / update_tile_on(
        k: ArrayView2<f64>,
        d: &[f64],
        codes: Codes,
        a: &[f64],
        offset: Option<(&[f64], f64)>,
        alpha: f64,
        beta: f64,
        r0: usize,
        z: ArrayViewMut2<f64>,
        tables: &mut [Table],
        transpose_on: Isa,
    ) {
        let mut z = z;
        let (rows, m) = z.dim();
        let n = k.ncols();
        let blocks = n.div_ceil(BITS);
        let far = prefetches(k);
        let tables = &mut tables[..blocks];
        for (b, table) in tables.iter_mut().enumerate() {
            // Entry c sums the columns of c's bits, lowest bit first: the
            // entries with bit `bit` are those without it plus its column, so
            // each add reads an entry written a whole pass earlier.
            table.0[0] = [0.0; TILE];
            for bit in 0..BITS {
                let i = b * BITS + bit;
                let mut column = [0.0f64; TILE];
                if i < n {
                    for (l, v) in column.iter_mut().take(rows).enumerate() {
                        *v = d[i] * k[[r0 + l, i]];
                    }
                    // The next tile's elements of this column: with K = X^T
                    // each column is a row of X, far from the next, and the
                    // loads waited on memory one after another.
                    if far && r0 + 2 * TILE <= k.nrows() {
                        prefetch(&k[[r0 + TILE, i]]);
                        prefetch(&k[[r0 + 2 * TILE - 1, i]]);
                    }
                }
                let (without, with) = table.0.split_at_mut(1 << bit);
                for (e, base) in with[..1 << bit].iter_mut().zip(&*without) {
                    *e = std::array::from_fn(|l| base[l] + column[l]);
                }
            }
        }
        let zs = z.as_slice_mut().expect("GramUpdate: Z in standard layout");
        let tile = TileUpdate {
            tables: &*tables,
            codes,
            a,
            offset,
            alpha,
            beta,
            r0,
            rows,
            m,
        };
        // Two copies of the loop, so that the dual step (K in L2) runs none
        // of the prefetches' code: with their branch, never taken, it
        // measured about 5% slower against 0272a02's binary, a comparison
        // later found within the noise of builds made differently
        // (benches/results/xeon3-s53/primal-table.txt).
        if far {
            tile.update::<true>(zs, transpose_on);
        } else {
            tile.update::<false>(zs, transpose_on);
        }
    }
}

/// The lookups and the update of one tile's rows of Z (`update_tile`), with
/// Z's rows fetched `PREFETCH_COLUMNS` ahead when `PREFETCH`.
struct TileUpdate<'a> {
    tables: &'a [Table],
    codes: Codes<'a>,
    a: &'a [f64],
    offset: Option<(&'a [f64], f64)>,
    alpha: f64,
    beta: f64,
    r0: usize,
    rows: usize,
    m: usize,
}

impl TileUpdate<'_> {
    #[inline(always)]
    fn update<const PREFETCH: bool>(&self, zs: &mut [f64], transpose_on: Isa) {
        let TileUpdate {
            tables,
            codes,
            a,
            offset,
            alpha,
            beta,
            r0,
            rows,
            m,
        } = *self;
        for group in 0..codes.groups {
            let j0 = group * COLUMNS_AT_ONCE;
            // sums[q] = rows r0.. of Y's column j0 + q, block after block
            // through the parts.
            let mut sums = [[0.0; TILE]; COLUMNS_AT_ONCE];
            for (part, (starts, first_block)) in codes.of_group(group).enumerate() {
                let mut blocks_starts = starts
                    .chunks_exact(COLUMNS_AT_ONCE)
                    .zip(&tables[first_block..]);
                if part == 0 {
                    if let Some((first, table)) = blocks_starts.next() {
                        for (sum, &start) in sums.iter_mut().zip(first) {
                            // SAFETY: `Codes::new` checked every start.
                            *sum = *unsafe { table.entry(start) };
                        }
                    }
                }
                for (block_starts, table) in blocks_starts {
                    // Two starts a u32, cut in general registers: faster
                    // than the compiler's vector extracts (`vpextrw`) of the
                    // 8 (the module docs).
                    let packed: [u32; 4] = std::array::from_fn(|h| {
                        u32::from(block_starts[2 * h]) | (u32::from(block_starts[2 * h + 1]) << 16)
                    });
                    for (q, sum) in sums.iter_mut().enumerate() {
                        let start = (packed[q / 2] >> (16 * (q % 2))) as u16;
                        // SAFETY: `Codes::new` checked every start.
                        let e = unsafe { table.entry(start) };
                        *sum = std::array::from_fn(|l| sum[l] + e[l]);
                    }
                }
            }
            // The 8 x 8 block of Y, row by row: Z's rows are contiguous in j.
            // The last group may have fewer than 8 columns in Z.
            let width = COLUMNS_AT_ONCE.min(m - j0);
            let ahead = j0 + PREFETCH_COLUMNS;
            if PREFETCH && ahead < m {
                for l in 0..rows {
                    prefetch(&zs[l * m + ahead]);
                }
            }
            let block = transpose_8x8(transpose_on, &sums);
            for (l, y) in block.iter().take(rows).enumerate() {
                let s: [f64; COLUMNS_AT_ONCE] = match offset {
                    None => *y,
                    Some((kd, gamma)) => {
                        std::array::from_fn(|q| gamma * kd[r0 + l] + (1.0 - gamma) * y[q])
                    }
                };
                let updated = |zrj: f64, aj: f64, sq: f64| beta * zrj + alpha * (aj * sq);
                let row = &mut zs[l * m + j0..][..width];
                if let (Ok(row), Ok(a_j)) = (
                    <&mut [f64; COLUMNS_AT_ONCE]>::try_from(&mut *row),
                    <&[f64; COLUMNS_AT_ONCE]>::try_from(&a[j0..j0 + width]),
                ) {
                    *row = std::array::from_fn(|q| updated(row[q], a_j[q], s[q]));
                } else {
                    for ((zrj, &aj), &sq) in row.iter_mut().zip(&a[j0..]).zip(&s) {
                        *zrj = updated(*zrj, aj, sq);
                    }
                }
            }
        }
    }
}

/// Left factors from this size (bytes) are read with prefetches
/// (`update_tile`): below it they stay in L2 (the dual's K at n = 200 is
/// 320 KB), above it (the primal's X^T, 64 MB at d = 40000, n = 200) each
/// tile's column pieces come from memory.
const PREFETCH_FROM_BYTES: usize = 1 << 20;

/// Whether `update_tile` reads the left factor `k` with prefetches: from
/// `PREFETCH_FROM_BYTES`, when a tile's piece of each column is contiguous
/// and the columns are far apart (X^T, a view of X; the prefetches fetch
/// one such piece, not the rows of a row-major K).
fn prefetches(k: ArrayView2<f64>) -> bool {
    k.strides()[0] == 1 && k.len() * std::mem::size_of::<f64>() >= PREFETCH_FROM_BYTES
}

/// Columns of Z ahead of the group being updated whose rows are fetched
/// early: Z's tile is 8 rows read once, each in its own stream.
const PREFETCH_COLUMNS: usize = 64;

/// A hint that `v`'s cache line is read soon (no effect on the result).
#[inline(always)]
fn prefetch(v: &f64) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing the program sees and cannot fault.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>((v as *const f64).cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = v;
}

#[path = "gram_update_forward.rs"]
mod forward;
pub use forward::forward_depth;

#[cfg(test)]
#[path = "gram_update_tests.rs"]
mod tests;
