//! The primal step's two products in one pass over W
//! (`GramUpdate::apply_to_then_forward`; a file of its own for the 800-line
//! limit).

use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array2, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis};
use rayon::prelude::*;

use super::{leaky_offset, update_rows, Codes, GramUpdate, Table};
use crate::nets::activation::Activation;
use crate::nets::isa::Isa;
use crate::nets::job_queue::in_turn;

/// Rows of W updated, then multiplied into Z, at a time: 3 MB of W at m =
/// 1000, in L2 or L3 when the gemm packs it. 96 to 768 rows measured alike
/// within the noise (d = 40000, n = 200, 2 threads, Xeon: 128 against 384
/// rows in 5 alternated rounds, medians 0.150 and 0.150 s a step). Each
/// piece is one gemm added onto the block's product, so this number is part
/// of the result: another one changes Z's last bits.
pub const FORWARD_ROWS: usize = 384;

/// Blocks of the d inputs in the primal step's fused forward
/// (`forward_depth`), each with its own n x m product (so (blocks - 1) n x
/// m buffers): enough that the threads, taking blocks as they finish, end
/// close together when one core runs slower. On the model-207 Xeon's
/// 2-core VM, timing each thread's share of the step in session 61, with a
/// fixed two of four blocks a thread, the slower thread took 1.2-1.6x the
/// other's time in most steps (`benches/results/xeon207-s61/job-queue.txt`),
/// and the step is the slower one's.
pub const FORWARD_BLOCKS: usize = 8;

/// The block depth of the primal step's fused forward for d inputs: whole
/// pieces of `FORWARD_ROWS` rows, shared out into at most `FORWARD_BLOCKS`
/// blocks (the last one shorter). A function of d alone, hence so are the
/// bits.
pub fn forward_depth(inputs: usize) -> usize {
    inputs
        .div_ceil(FORWARD_ROWS)
        .div_ceil(FORWARD_BLOCKS)
        .max(1)
        * FORWARD_ROWS
}

impl GramUpdate {
    /// The primal step's W <- beta W + alpha X^T G (`apply_to`, with the
    /// same bits) and then Z <- X W with the new W, in one pass over W: the
    /// gemm reads each piece of `FORWARD_ROWS` rows of W right after the
    /// table updated it, from cache, where a separate Z = X W read all of W
    /// again from memory. X is n x d, Z n x m (its signs are read first), W
    /// d x m, all in standard layout. The d rows are cut into blocks of
    /// `depth` (the step takes `forward_depth(d)`), each block's pieces
    /// summed by gemms into its own n x m product (the first into Z), and
    /// the products added to Z in block order, so the bits depend on the
    /// shapes alone, not on the thread count; they differ from `par_gemm`'s
    /// by rounding (the same terms, summed in other blocks). The rayon
    /// pool's threads (at most one a block) take the blocks one at a time,
    /// in order, each the next one left when it finishes its last: a thread
    /// whose core runs slower takes fewer (a fixed half each had the step
    /// wait on the slower core; see `FORWARD_BLOCKS`).
    #[allow(clippy::too_many_arguments)]
    pub fn apply_to_then_forward(
        &mut self,
        alpha: f64,
        x: ArrayView2<f64>,
        d: &[f64],
        a: &[f64],
        act: Activation,
        beta: f64,
        depth: usize,
        mut z: ArrayViewMut2<f64>,
        w: ArrayViewMut2<f64>,
    ) {
        let (n, m) = z.dim();
        let inputs = x.ncols();
        assert_eq!(
            (x.nrows(), w.dim()),
            (n, (inputs, m)),
            "GramUpdate: X must be n x d and W d x m"
        );
        assert!(depth > 0, "GramUpdate: blocks of at least one row");
        let x_t = x.t();
        self.read_masks(z.view(), d, a, act, None);
        if inputs == 0 {
            z.fill(0.0); // X W with no inputs
            return;
        }
        let blocks = inputs.div_ceil(depth);
        let workers = rayon::current_num_threads().clamp(1, blocks);
        self.prepare(x_t, d, act, workers);
        self.forward_partials
            .resize_with(blocks - 1, || Array2::zeros((n, m)));
        for p in &mut self.forward_partials {
            if p.dim() != (n, m) {
                *p = Array2::zeros((n, m));
            }
        }
        let offset = leaky_offset(&self.kd, act);
        let (codes, isa) = (
            Codes::new(&self.starts, &self.part_blocks, m),
            Isa::detect(),
        );

        // Block b: rows b depth.. of W, updated and multiplied piece by piece
        // into `product` (Z for b = 0).
        let block_pass = |b: usize,
                          mut rows: ArrayViewMut2<f64>,
                          mut product: ArrayViewMut2<f64>,
                          tables: &mut [Table]| {
            for (p, mut piece) in rows.axis_chunks_iter_mut(Axis(0), FORWARD_ROWS).enumerate() {
                let r0 = b * depth + p * FORWARD_ROWS;
                let x_piece = x.slice(s![.., r0..r0 + piece.nrows()]);
                update_rows(
                    isa,
                    x_t,
                    d,
                    codes,
                    a,
                    offset,
                    alpha,
                    beta,
                    r0,
                    piece.view_mut(),
                    tables,
                );
                let keep = if p == 0 { 0.0 } else { 1.0 };
                general_mat_mul(1.0, &x_piece, &piece.view(), keep, &mut product);
            }
        };
        let mut products = std::iter::once(z.view_mut())
            .chain(self.forward_partials.iter_mut().map(|p| p.view_mut()));
        let mut rest = w;
        let mut jobs = Vec::with_capacity(blocks);
        for b in 0..blocks {
            let (rows, tail) = rest.split_at(Axis(0), depth.min(inputs - b * depth));
            rest = tail;
            let product = products.next().expect("one product a block");
            jobs.push((b, rows, product));
        }
        in_turn(
            &mut self.tables[..workers],
            jobs,
            |tables, (b, rows, product)| block_pass(b, rows, product, tables),
        );
        // Each element of Z adds the products in block order, whichever
        // thread adds its row.
        let partials = &self.forward_partials[..];
        let add_partials = |(i, mut row): (usize, ArrayViewMut1<f64>)| {
            for p in partials {
                row.zip_mut_with(&p.row(i), |z, &p| *z += p);
            }
        };
        if workers > 1 && !partials.is_empty() {
            z.outer_iter_mut()
                .into_par_iter()
                .enumerate()
                .for_each(add_partials);
        } else {
            z.outer_iter_mut().enumerate().for_each(add_partials);
        }
    }
}
