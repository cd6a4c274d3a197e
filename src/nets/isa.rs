//! Which SIMD instruction set the hand-written kernels run with
//! (`nets::wide`, `nets::cnn::direct`): AVX2 with FMA where the CPU reports
//! both, otherwise the portable code. Each kernel is written once over the
//! `Lanes` trait and instantiated for both, and the two give the same bits
//! (every lane does the same operations in the same order, with one rounding
//! per fused multiply-add), so the choice changes speed only.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// Portable Rust (what the compiler's baseline target allows).
    Plain,
    /// x86-64 AVX2 + FMA, 256-bit lanes.
    #[cfg(target_arch = "x86_64")]
    Avx2,
}

impl Isa {
    /// The best instruction set this CPU supports (std caches the CPUID query).
    pub fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Isa::Avx2;
            }
        }
        Isa::Plain
    }
}

/// A vector of `WIDTH` lanes of `Elem` (f32 or f64), the operations the
/// kernels are written with. Every method rounds exactly as the scalar
/// operation on each lane does, so an instantiation with `Plain` arrays and
/// one with SIMD registers give the same bits.
///
/// # Safety
/// Every method requires the lanes' instruction set to be enabled (a kernel
/// instantiated for AVX2 runs inside a `#[target_feature(enable = "avx2,fma")]`
/// function, called only after `Isa::detect` reported it); `load` and
/// `store` require `p` valid for `WIDTH` elements (no alignment needed).
pub trait Lanes: Copy {
    type Elem: Copy;
    const WIDTH: usize;
    /// # Safety
    /// See the trait; `p` valid for reading `WIDTH` elements.
    unsafe fn load(p: *const Self::Elem) -> Self;
    /// # Safety
    /// See the trait; `p` valid for writing `WIDTH` elements.
    unsafe fn store(self, p: *mut Self::Elem);
    /// Every lane v.
    ///
    /// # Safety
    /// See the trait (as for every method below).
    unsafe fn splat(v: Self::Elem) -> Self;
    /// # Safety
    /// See the trait.
    unsafe fn zero() -> Self;
    /// a + b.
    ///
    /// # Safety
    /// See the trait.
    unsafe fn add(a: Self, b: Self) -> Self;
    /// a b.
    ///
    /// # Safety
    /// See the trait.
    unsafe fn mul(a: Self, b: Self) -> Self;
    /// a b + c with one rounding per lane.
    ///
    /// # Safety
    /// See the trait.
    unsafe fn fma(a: Self, b: Self, c: Self) -> Self;
    /// c - a b with one rounding per lane.
    ///
    /// # Safety
    /// See the trait.
    unsafe fn fnma(a: Self, b: Self, c: Self) -> Self;
    /// a if a > b, else b (the x86 `max` instruction: b when either is NaN).
    ///
    /// # Safety
    /// See the trait.
    unsafe fn max(a: Self, b: Self) -> Self;
    /// Lane-wise `if z > 0 { pos } else { neg }` (neg when z is NaN).
    ///
    /// # Safety
    /// See the trait.
    unsafe fn select_positive(z: Self, pos: Self, neg: Self) -> Self;
}

/// The portable lanes: N scalars, `mul_add` for the fused operations.
#[derive(Clone, Copy)]
pub struct Plain<T, const N: usize>(pub [T; N]);

macro_rules! plain_lanes {
    ($t:ty) => {
        impl<const N: usize> Lanes for Plain<$t, N> {
            type Elem = $t;
            const WIDTH: usize = N;
            #[inline(always)]
            unsafe fn load(p: *const $t) -> Self {
                Plain(std::ptr::read_unaligned(p as *const [$t; N]))
            }
            #[inline(always)]
            unsafe fn store(self, p: *mut $t) {
                std::ptr::write_unaligned(p as *mut [$t; N], self.0)
            }
            #[inline(always)]
            unsafe fn splat(v: $t) -> Self {
                Plain([v; N])
            }
            #[inline(always)]
            unsafe fn zero() -> Self {
                Plain([0.0; N])
            }
            #[inline(always)]
            unsafe fn add(a: Self, b: Self) -> Self {
                Plain(std::array::from_fn(|l| a.0[l] + b.0[l]))
            }
            #[inline(always)]
            unsafe fn mul(a: Self, b: Self) -> Self {
                Plain(std::array::from_fn(|l| a.0[l] * b.0[l]))
            }
            #[inline(always)]
            unsafe fn fma(a: Self, b: Self, c: Self) -> Self {
                Plain(std::array::from_fn(|l| a.0[l].mul_add(b.0[l], c.0[l])))
            }
            #[inline(always)]
            unsafe fn fnma(a: Self, b: Self, c: Self) -> Self {
                // -(a b) + c and (-a) b + c are the same exact number, rounded once.
                Plain(std::array::from_fn(|l| (-a.0[l]).mul_add(b.0[l], c.0[l])))
            }
            #[inline(always)]
            unsafe fn max(a: Self, b: Self) -> Self {
                Plain(std::array::from_fn(|l| {
                    if a.0[l] > b.0[l] {
                        a.0[l]
                    } else {
                        b.0[l]
                    }
                }))
            }
            #[inline(always)]
            unsafe fn select_positive(z: Self, pos: Self, neg: Self) -> Self {
                Plain(std::array::from_fn(|l| {
                    if z.0[l] > 0.0 {
                        pos.0[l]
                    } else {
                        neg.0[l]
                    }
                }))
            }
        }
    };
}
plain_lanes!(f32);
plain_lanes!(f64);

/// AVX2 + FMA registers: 8 f32 lanes (`__m256`) and 4 f64 lanes (`__m256d`).
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Lanes;
    use std::arch::x86_64::*;

    macro_rules! avx2_lanes {
        ($v:ty, $t:ty, $w:literal, $load:ident, $store:ident, $set1:ident, $setzero:ident,
         $add:ident, $mul:ident, $fmadd:ident, $fnmadd:ident, $max:ident, $blendv:ident, $cmp:ident) => {
            impl Lanes for $v {
                type Elem = $t;
                const WIDTH: usize = $w;
                #[inline(always)]
                unsafe fn load(p: *const $t) -> Self {
                    $load(p)
                }
                #[inline(always)]
                unsafe fn store(self, p: *mut $t) {
                    $store(p, self)
                }
                #[inline(always)]
                unsafe fn splat(v: $t) -> Self {
                    $set1(v)
                }
                #[inline(always)]
                unsafe fn zero() -> Self {
                    $setzero()
                }
                #[inline(always)]
                unsafe fn add(a: Self, b: Self) -> Self {
                    $add(a, b)
                }
                #[inline(always)]
                unsafe fn mul(a: Self, b: Self) -> Self {
                    $mul(a, b)
                }
                #[inline(always)]
                unsafe fn fma(a: Self, b: Self, c: Self) -> Self {
                    $fmadd(a, b, c)
                }
                #[inline(always)]
                unsafe fn fnma(a: Self, b: Self, c: Self) -> Self {
                    $fnmadd(a, b, c)
                }
                #[inline(always)]
                unsafe fn max(a: Self, b: Self) -> Self {
                    $max(a, b)
                }
                #[inline(always)]
                unsafe fn select_positive(z: Self, pos: Self, neg: Self) -> Self {
                    $blendv(neg, pos, $cmp::<_CMP_GT_OQ>(z, $setzero()))
                }
            }
        };
    }
    avx2_lanes!(
        __m256,
        f32,
        8,
        _mm256_loadu_ps,
        _mm256_storeu_ps,
        _mm256_set1_ps,
        _mm256_setzero_ps,
        _mm256_add_ps,
        _mm256_mul_ps,
        _mm256_fmadd_ps,
        _mm256_fnmadd_ps,
        _mm256_max_ps,
        _mm256_blendv_ps,
        _mm256_cmp_ps
    );
    avx2_lanes!(
        __m256d,
        f64,
        4,
        _mm256_loadu_pd,
        _mm256_storeu_pd,
        _mm256_set1_pd,
        _mm256_setzero_pd,
        _mm256_add_pd,
        _mm256_mul_pd,
        _mm256_fmadd_pd,
        _mm256_fnmadd_pd,
        _mm256_max_pd,
        _mm256_blendv_pd,
        _mm256_cmp_pd
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The portable lanes follow the x86 conventions the kernels rely on:
    /// `max` and `select_positive` pick the second / negative operand on NaN,
    /// and `fma` rounds once.
    #[test]
    fn plain_lanes_follow_the_x86_conventions() {
        type P = Plain<f64, 4>;
        let nan = f64::NAN;
        // SAFETY: the portable lanes need no instruction set; the arrays hold 4 values.
        unsafe {
            let a = P::load([1.0, nan, -2.0, 0.0].as_ptr());
            let b = P::load([0.5, 3.0, nan, -0.0].as_ptr());
            let m = P::max(a, b).0;
            assert_eq!(m[0], 1.0);
            assert_eq!(m[1], 3.0);
            assert!(m[2].is_nan());
            assert!(m[3] == 0.0 && m[3].is_sign_negative());
            let s = P::select_positive(a, P::splat(1.0), P::splat(-1.0)).0;
            assert_eq!(s, [1.0, -1.0, -1.0, -1.0]);
            // (1 + 2^-30)^2 - 1 = 2^-29 + 2^-60 exactly; a separate multiply
            // would round the 2^-60 away.
            let h = 2f64.powi(-30);
            let x = P::splat(1.0 + h);
            let f = P::fma(x, x, P::splat(-1.0)).0[0];
            assert_eq!(f, 2.0 * h + h * h, "one rounding");
            let g = P::fnma(x, x, P::splat(1.0)).0[0];
            assert_eq!(g, -(2.0 * h + h * h));
        }
    }

    /// The AVX2 registers give the portable lanes' bits on the same inputs.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_lanes_match_plain() {
        use std::arch::x86_64::__m256d;
        if Isa::detect() != Isa::Avx2 {
            return;
        }
        #[target_feature(enable = "avx2,fma")]
        unsafe fn ops<T: Lanes<Elem = f64>>(a: &[f64], b: &[f64], c: &[f64]) -> Vec<f64> {
            let (a, b, c) = (
                T::load(a.as_ptr()),
                T::load(b.as_ptr()),
                T::load(c.as_ptr()),
            );
            let mut out = vec![0.0; 7 * T::WIDTH];
            let results = [
                T::add(a, b),
                T::mul(a, b),
                T::fma(a, b, c),
                T::fnma(a, b, c),
                T::max(a, b),
                T::select_positive(a, b, c),
                T::splat(0.1),
            ];
            for (i, r) in results.iter().enumerate() {
                r.store(out[i * T::WIDTH..].as_mut_ptr());
            }
            out
        }
        let a = [0.1, -0.0, f64::NAN, 1e300];
        let b = [0.3, 0.0, 2.0, 1e10];
        let c = [-0.7, -0.0, 1.0, -1e308];
        // SAFETY: avx2 and fma were detected; the arrays hold 4 values.
        let (p, v) = unsafe { (ops::<Plain<f64, 4>>(&a, &b, &c), ops::<__m256d>(&a, &b, &c)) };
        for (x, y) in p.iter().zip(&v) {
            // NaN payloads are not part of the contract.
            assert!(
                x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
                "{x} vs {y}"
            );
        }
    }
}
