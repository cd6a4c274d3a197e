//! The network's outputs from its pre-activations, f_i = sum_j a_j
//! sigma(Z_ij): the serial reference (`output_of_row`) and the pass both
//! engines run every step (`outputs_into`), bit-identical to it on every
//! instruction set.

use ndarray::{Array1, ArrayView1, ArrayView2, ArrayViewMut1};

use crate::nets::activation::Activation;
use crate::nets::isa::Isa;

/// f_i = sum_j a_j sigma(Z_ij) for every row of a pre-activation matrix.
pub fn outputs_from_preactivations(
    z: ArrayView2<f64>,
    a: ArrayView1<f64>,
    act: Activation,
) -> Array1<f64> {
    outputs_from_preactivations_on(Isa::detect(), z, a, act)
}

/// `outputs_from_preactivations` on the instruction set `isa` (one of
/// `Isa::available()`), every set with the same bits.
pub fn outputs_from_preactivations_on(
    isa: Isa,
    z: ArrayView2<f64>,
    a: ArrayView1<f64>,
    act: Activation,
) -> Array1<f64> {
    let mut f = Array1::zeros(z.nrows());
    outputs_into(z, a, act, f.view_mut(), isa);
    f
}

/// One output, f = sum_j a_j sigma(z_j), summed in j order from -0.0 (as
/// `Iterator::sum` does): the serial reference every output of
/// `outputs_from_preactivations` is bit-identical to.
pub fn output_of_row(z: ArrayView1<f64>, a: ArrayView1<f64>, act: Activation) -> f64 {
    z.iter()
        .zip(a.iter())
        .map(|(&zij, &aj)| aj * act.value(zij))
        .sum()
}

/// Rows a thread's share of `outputs_into` is a multiple of, so that no
/// block of the AVX-512 loop is cut.
pub(crate) const ROW_BLOCK: usize = 8;

/// Rows summed at once by the portable loop of `outputs_into`: 4
/// independent add chains hide the add latency that a single serial sum
/// waits on.
const ROWS_AT_ONCE: usize = 4;

/// f_i = sum_j a_j sigma(Z_ij) into `f` (n), O(n m). Each f_i is summed in
/// j order from -0.0, so it is bit-identical to `output_of_row`, but rows
/// are summed side by side: one row's serial sum is bound by the add
/// latency (m dependent adds). On AVX-512 (`isa`) eight rows a register,
/// one lane each (`outputs_by_eight_avx512`); elsewhere, and for the last
/// n mod 8 rows, `ROWS_AT_ONCE` rows in scalar code.
pub(crate) fn outputs_into(
    z: ArrayView2<f64>,
    a: ArrayView1<f64>,
    act: Activation,
    mut f: ArrayViewMut1<f64>,
    isa: Isa,
) {
    let (n, m) = z.dim();
    let (Some(zs), Some(a_s)) = (z.as_slice(), a.as_slice()) else {
        for (fi, row) in f.iter_mut().zip(z.outer_iter()) {
            *fi = output_of_row(row, a, act);
        }
        return;
    };
    let mut first_row = 0;
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512 && std::arch::is_x86_feature_detected!("avx512f") && m > 0 {
        // SAFETY: the CPU runs AVX-512 F (checked just above).
        first_row = unsafe { outputs_by_eight_avx512(zs, a_s, act, &mut f) };
    }
    let _ = isa;
    let blocks = (n - first_row) / ROWS_AT_ONCE;
    for b in 0..blocks {
        let i0 = first_row + b * ROWS_AT_ONCE;
        let block = &zs[i0 * m..(i0 + ROWS_AT_ONCE) * m];
        let (z0, rest) = block.split_at(m);
        let (z1, rest) = rest.split_at(m);
        let (z2, z3) = rest.split_at(m);
        let mut acc = [-0.0f64; ROWS_AT_ONCE];
        let columns = a_s.iter().zip(z0).zip(z1).zip(z2).zip(z3);
        for ((((&aj, &v0), &v1), &v2), &v3) in columns {
            acc[0] += aj * act.value(v0);
            acc[1] += aj * act.value(v1);
            acc[2] += aj * act.value(v2);
            acc[3] += aj * act.value(v3);
        }
        for (r, acc_r) in acc.into_iter().enumerate() {
            f[i0 + r] = acc_r;
        }
    }
    for i in first_row + blocks * ROWS_AT_ONCE..n {
        f[i] = output_of_row(z.row(i), a, act);
    }
}

/// `outputs_into`'s rows in blocks of eight, eight sums in one register:
/// Z's 8 x 8 blocks turned on their side (`transpose_registers`), so that
/// one vector holds column j of eight rows, and lane r adds
/// a_j sigma(Z_rj) with the scalar code's operations (sigma(z) = z for
/// z > 0, else gamma z, as `Activation::value`; a product, then a sum), so
/// every lane has its row's bits. Z (n x m, row-major, m = a's length > 0)
/// as a slice. Returns the rows done, n rounded down to a multiple of 8.
/// (Four rows in scalar code took 1.6 cycles an element on the model-207
/// Xeon; a block of eight, 0.9. Two blocks side by side, two add chains,
/// measured no faster: 55-58 us against 45-58 for one block, `cargo bench
/// --bench two_layer -- outputs_n`, n = 200, m = 1000, same sitting.)
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn outputs_by_eight_avx512(
    zs: &[f64],
    a: &[f64],
    act: Activation,
    f: &mut ArrayViewMut1<f64>,
) -> usize {
    use crate::nets::block8::transpose_registers;
    use std::arch::x86_64::*;
    let m = a.len();
    let n = zs.len() / m;
    let done = n - n % ROW_BLOCK;
    let full_columns = m - m % 8;
    let (gamma, zero) = (_mm512_set1_pd(act.slope()), _mm512_setzero_pd());
    let add_column = |sums: __m512d, aj: f64, column: __m512d| {
        let positive = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(column, zero);
        let value = _mm512_mask_blend_pd(positive, _mm512_mul_pd(gamma, column), column);
        _mm512_add_pd(sums, _mm512_mul_pd(_mm512_set1_pd(aj), value))
    };
    for i0 in (0..done).step_by(ROW_BLOCK) {
        let rows: [&[f64]; ROW_BLOCK] = std::array::from_fn(|r| &zs[(i0 + r) * m..][..m]);
        let mut sums = _mm512_set1_pd(-0.0);
        for j0 in (0..full_columns).step_by(8) {
            // SAFETY: j0 + 8 <= m, each row's length.
            let block =
                std::array::from_fn(|r| unsafe { _mm512_loadu_pd(rows[r].as_ptr().add(j0)) });
            for (column, &aj) in transpose_registers(block).into_iter().zip(&a[j0..j0 + 8]) {
                sums = add_column(sums, aj, column);
            }
        }
        for (j, &aj) in a.iter().enumerate().skip(full_columns) {
            let column: [f64; 8] = std::array::from_fn(|r| rows[r][j]);
            // SAFETY: 8 f64.
            sums = add_column(sums, aj, unsafe { _mm512_loadu_pd(column.as_ptr()) });
        }
        let mut out = [0.0; 8];
        // SAFETY: 8 f64.
        unsafe { _mm512_storeu_pd(out.as_mut_ptr(), sums) };
        for (r, sum) in out.into_iter().enumerate() {
            f[i0 + r] = sum;
        }
    }
    done
}
