//! The 8 x 8 block of f64 turned on its side: eight rows of eight
//! elements become eight columns, so that one vector holds one element of
//! each of eight rows. Used where eight independent sums run side by side
//! in one register: the table product's sums meeting Z's rows
//! (`gram_update`) and the outputs of eight rows of Z (`outputs`).

use crate::nets::isa::Isa;

/// Eight rows of eight f64 (row-major).
pub(crate) type Block8 = [[f64; 8]; 8];

/// out[l][q] = block[q][l]. Exact, so every instruction set gives the same
/// bits; `isa` may use AVX-512's shuffles (24 of them, in registers), where
/// the compiler's version of the plain loop moved the elements through
/// memory one by one.
#[inline(always)]
pub(crate) fn transpose_8x8(isa: Isa, block: &Block8) -> Block8 {
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512 && std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU runs AVX-512 F (checked just above; std caches
        // the CPUID query, so the check is one load).
        return unsafe { transpose_8x8_avx512(block) };
    }
    let _ = isa;
    std::array::from_fn(|l| std::array::from_fn(|q| block[q][l]))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn transpose_8x8_avx512(block: &Block8) -> Block8 {
    use std::arch::x86_64::*;
    // SAFETY (the loads and stores): each row is 8 f64, one __m512d.
    let rows = std::array::from_fn(|q| unsafe { _mm512_loadu_pd(block[q].as_ptr()) });
    let mut out = [[0.0; 8]; 8];
    for (out, row) in out.iter_mut().zip(transpose_registers(rows)) {
        unsafe { _mm512_storeu_pd(out.as_mut_ptr(), row) };
    }
    out
}

/// `transpose_8x8` of eight registers: out[l] holds element l of every
/// input, input q in lane q. 24 shuffles.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub(crate) fn transpose_registers(
    r: [std::arch::x86_64::__m512d; 8],
) -> [std::arch::x86_64::__m512d; 8] {
    use std::arch::x86_64::*;
    // Pairs of rows interleaved (t0 = r0[0] r1[0] r0[2] r1[2] ...), then
    // 128-bit lanes gathered in two rounds of shuffles.
    let lo = |a, b| _mm512_unpacklo_pd(a, b);
    let hi = |a, b| _mm512_unpackhi_pd(a, b);
    let (t0, t1, t2, t3) = (
        lo(r[0], r[1]),
        hi(r[0], r[1]),
        lo(r[2], r[3]),
        hi(r[2], r[3]),
    );
    let (t4, t5, t6, t7) = (
        lo(r[4], r[5]),
        hi(r[4], r[5]),
        lo(r[6], r[7]),
        hi(r[6], r[7]),
    );
    let even = |a, b| _mm512_shuffle_f64x2::<0x88>(a, b);
    let odd = |a, b| _mm512_shuffle_f64x2::<0xdd>(a, b);
    let (u0, u1, u2, u3) = (even(t0, t2), even(t1, t3), odd(t0, t2), odd(t1, t3));
    let (u4, u5, u6, u7) = (even(t4, t6), even(t5, t7), odd(t4, t6), odd(t5, t7));
    [
        even(u0, u4),
        even(u1, u5),
        even(u2, u6),
        even(u3, u7),
        odd(u0, u4),
        odd(u1, u5),
        odd(u2, u6),
        odd(u3, u7),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_transposition_is_exact_on_every_set() {
        let block: Block8 =
            std::array::from_fn(|q| std::array::from_fn(|l| (q * 8 + l) as f64 - 0.5));
        for isa in Isa::available() {
            let out = transpose_8x8(isa, &block);
            for (l, row) in out.iter().enumerate() {
                for (q, &v) in row.iter().enumerate() {
                    assert_eq!(v.to_bits(), block[q][l].to_bits(), "{isa:?} [{l}][{q}]");
                }
            }
        }
    }
}
