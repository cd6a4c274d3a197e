//! The fused GD kernel of `nets::wide` on one block of neurons, written once
//! over `nets::isa::Lanes` and instantiated for the portable lanes, for
//! AVX2+FMA and for AVX-512 (explicit registers: left to itself, the compiler's loop
//! vectoriser vectorises the forward pass across samples, with gathers).
//! Every lane does the same operations in the same order for its neuron, so
//! the bits do not depend on the instruction set or the vector width.

use super::LANES;
use crate::nets::isa::{Isa, Lanes, Plain};

/// What one kernel call does to a block.
#[derive(Clone, Copy)]
pub(super) enum Pass<'a> {
    /// GD step with output gradients r (length n), then the new outputs' partials.
    Step { r: &'a [f64], lr: f64 },
    /// Only the outputs' partials.
    Forward,
}

/// One kernel call: a block of `bsize` neurons, the inputs and what to do.
pub(super) struct Block<'a> {
    /// [a(bsize) | w_0(bsize) | ... | w_{d-1}(bsize)], updated in place by a step.
    pub params: &'a mut [f64],
    pub bsize: usize,
    /// n x d inputs, row-major.
    pub x: &'a [f64],
    /// The leaky-ReLU slope.
    pub gamma: f64,
    pub pass: Pass<'a>,
    /// n x LANES lane partial sums of the outputs, overwritten.
    pub acc: &'a mut [f64],
}

/// <w_j, x_k> for the lanes of `wv` (one vector per input coordinate):
/// a multiply, then fused multiply-adds.
///
/// # Safety
/// T's instruction set must be enabled.
#[inline(always)]
unsafe fn preactivation<T: Lanes<Elem = f64>, const D: usize>(wv: &[T; D], xk: &[f64]) -> T {
    let mut z = T::mul(wv[0], T::splat(xk[0]));
    for c in 1..D {
        z = T::fma(wv[c], T::splat(xk[c]), z);
    }
    z
}

/// The fused kernel on one block of `bsize` neurons with input dimension D,
/// over vectors of `T::WIDTH` neurons:
///   for each vector: read a, w_0..w_{D-1};
///   Step: z_k = <w, x_k>, ga = sum_k r_k sigma(z_k),
///         gw_c = sum_k (z_k > 0 ? r_k : gamma r_k) x_kc,
///         w_c <- w_c - lr (a gw_c), a <- a - lr ga (stored back);
///   then acc[k][j mod LANES] += a sigma(<w, x_k>) with the new parameters.
/// sigma(z) = max(z, gamma z) for 0 <= gamma <= 1, in the x86 `max` form.
/// The layout of `params` and `acc` is `Block`'s.
///
/// # Safety
/// T's instruction set must be enabled. The buffer lengths are asserted.
#[inline(always)]
unsafe fn block_kernel<T: Lanes<Elem = f64>, const D: usize>(block: Block<'_>) {
    let Block {
        params,
        bsize,
        x,
        gamma,
        pass,
        acc,
    } = block;
    acc.fill(0.0);
    let n = x.len() / D;
    assert!(
        params.len() >= (D + 1) * bsize
            && acc.len() >= n * LANES
            && x.len() == n * D
            && bsize % LANES == 0
            && LANES.is_multiple_of(T::WIDTH)
    );
    let pa = params.as_mut_ptr();
    let pacc = acc.as_mut_ptr();
    let (zero, gv) = (T::zero(), T::splat(gamma));
    let mut g = 0;
    while g < bsize {
        // SAFETY (pointer offsets): g + WIDTH <= bsize, (D + 1) bsize <=
        // params.len() and k LANES + LANES <= acc.len() (asserted above).
        let mut av = T::load(pa.add(g));
        let mut wv = [zero; D];
        for (c, wc) in wv.iter_mut().enumerate() {
            *wc = T::load(pa.add((c + 1) * bsize + g));
        }
        if let Pass::Step { r, lr } = pass {
            let lrv = T::splat(lr);
            let mut ga = zero;
            let mut gw = [zero; D];
            for (xk, &rk) in x.chunks_exact(D).zip(r) {
                let z = preactivation::<T, D>(&wv, xk);
                let rv = T::splat(rk);
                ga = T::fma(rv, T::max(z, T::mul(gv, z)), ga);
                let q = T::select_positive(z, rv, T::splat(gamma * rk));
                for c in 0..D {
                    gw[c] = T::fma(q, T::splat(xk[c]), gw[c]);
                }
            }
            for c in 0..D {
                wv[c] = T::fnma(lrv, T::mul(av, gw[c]), wv[c]);
                wv[c].store(pa.add((c + 1) * bsize + g));
            }
            av = T::fnma(lrv, ga, av);
            av.store(pa.add(g));
        }
        for (k, xk) in x.chunks_exact(D).enumerate() {
            let z = preactivation::<T, D>(&wv, xk);
            let out = pacc.add(k * LANES + g % LANES);
            T::fma(av, T::max(z, T::mul(gv, z)), T::load(out)).store(out);
        }
        g += T::WIDTH;
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::Block;
    use std::arch::x86_64::__m256d;

    /// `block_kernel` with 4 neurons per AVX2 register.
    ///
    /// # Safety
    /// The CPU must support avx2 and fma.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn kernel<const D: usize>(block: Block<'_>) {
        super::block_kernel::<__m256d, D>(block)
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::Block;
    use std::arch::x86_64::__m512d;

    /// `block_kernel` with 8 neurons per AVX-512 register.
    ///
    /// # Safety
    /// The CPU must support avx512f.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn kernel<const D: usize>(block: Block<'_>) {
        super::block_kernel::<__m512d, D>(block)
    }
}

macro_rules! isa_variants {
    ($($d:literal),*) => {
        /// Run the kernel for input dimension `d` with the given ISA.
        pub(super) fn run_kernel(isa: Isa, d: usize, block: Block<'_>) {
            match d {
                $($d => match isa {
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: `Isa::Avx2` is only chosen when the CPU reports avx2 and fma.
                    Isa::Avx2 => unsafe { avx2::kernel::<$d>(block) },
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: `Isa::Avx512` is only chosen when the CPU reports avx512f.
                    Isa::Avx512 => unsafe { avx512::kernel::<$d>(block) },
                    // SAFETY: the portable lanes need no instruction set.
                    Isa::Plain => unsafe { block_kernel::<Plain<f64, LANES>, $d>(block) },
                },)*
                _ => unreachable!("input dimension checked at construction"),
            }
        }
    };
}
isa_variants!(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
