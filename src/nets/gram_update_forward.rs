//! The primal step's two products in one pass over W
//! (`GramUpdate::apply_to_then_forward`; a file of its own for the 800-line
//! limit).

use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array2, ArrayView2, ArrayViewMut2, Axis};

use super::{leaky_offset, update_rows, GramUpdate, Table};
use crate::nets::activation::Activation;
use crate::nets::isa::Isa;

/// Rows of W updated, then multiplied into Z, at a time: 3 MB of W at m =
/// 1000, in L2 or L3 when the gemm packs it. 96 to 768 rows measured alike
/// within the noise (d = 40000, n = 200, 2 threads, Xeon: 128 against 384
/// rows in 5 alternated rounds, medians 0.150 and 0.150 s a step). Each
/// piece is one gemm added onto the block's product, so this number is part
/// of the result: another one changes Z's last bits.
pub const FORWARD_ROWS: usize = 384;

impl GramUpdate {
    /// The primal step's W <- beta W + alpha X^T G (`apply_to`, with the
    /// same bits) and then Z <- X W with the new W, in one pass over W: the
    /// gemm reads each piece of `FORWARD_ROWS` rows of W right after the
    /// table updated it, from cache, where a separate Z = X W read all of W
    /// again from memory. X is n x d, Z n x m (its signs are read first), W
    /// d x m, all in standard layout. The d rows are cut into blocks of
    /// `depth` (`blas::GemmCut::Inner`), each block's pieces summed by gemms
    /// into its own n x m product (the first into Z), and the products added
    /// to Z in block order, so the bits depend on the shapes alone, not on
    /// the thread count; they differ from `par_gemm`'s by rounding (the same
    /// terms, summed in other blocks). Blocks are shared among the rayon
    /// pool's threads, at most one worker a block: with more threads than
    /// blocks (4 at most) the others idle, where `apply_to` would have
    /// shared the table's tiles among all of them (not measured: the
    /// machines of this project have 2 cores).
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
        let blocks_per_worker = blocks.div_ceil(workers);
        self.prepare(x_t, d, act, workers);
        self.forward_partials
            .resize_with(blocks - 1, || Array2::zeros((n, m)));
        for p in &mut self.forward_partials {
            if p.dim() != (n, m) {
                *p = Array2::zeros((n, m));
            }
        }
        let offset = leaky_offset(&self.kd, act);
        let (starts, isa) = (&self.starts[..], Isa::detect());

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
                    starts,
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
        let mut jobs: Vec<Vec<_>> = (0..workers).map(|_| Vec::new()).collect();
        let mut products = std::iter::once(z.view_mut())
            .chain(self.forward_partials.iter_mut().map(|p| p.view_mut()));
        let mut rest = w;
        for b in 0..blocks {
            let (rows, tail) = rest.split_at(Axis(0), depth.min(inputs - b * depth));
            rest = tail;
            let product = products.next().expect("one product a block");
            jobs[b / blocks_per_worker].push((b, rows, product));
        }
        rayon::scope(|scope| {
            for (job, tables) in jobs.into_iter().zip(self.tables.iter_mut()) {
                scope.spawn(move |_| {
                    for (b, rows, product) in job {
                        block_pass(b, rows, product, tables);
                    }
                });
            }
        });
        for p in &self.forward_partials {
            z.zip_mut_with(p, |z, &p| *z += p);
        }
    }
}
