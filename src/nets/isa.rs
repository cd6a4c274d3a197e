//! Which SIMD instruction set the hand-written kernels run with
//! (`nets::wide`, `nets::cnn::direct`, and the passes compiled by `per_isa!`):
//! AVX-512 (F, BW, DQ, VL, with AVX2 and FMA) where the CPU reports it, else
//! AVX2 with FMA, else the portable code. Each kernel is written once
//! over the `Lanes` trait and instantiated for each. Every lane does the same
//! operations in the same order, with one rounding per fused multiply-add, so
//! a kernel whose lanes are independent gives the same bits at every width;
//! one that sums across lanes at the end (the direct conv's dW) gives the
//! bits of the portable lanes of the same width (`Plain<f32, 16>` for
//! AVX-512), and agrees with the other widths to f32 rounding.
//!
//! `OVERFIT_ISA=plain|avx2|avx512` caps the choice (read once per process):
//! to time one instruction set against another on the same machine, or to get
//! the AVX2 kernels' bits on an AVX-512 machine. A name the CPU cannot run, or
//! an unknown one, makes the binary exit 2 at start (`Isa::from_env`); in
//! library use, every kernel entry point panics with the same message
//! (`Isa::detect`).

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Isa {
    /// Portable Rust (what the compiler's baseline target allows).
    Plain,
    /// x86-64 AVX2 + FMA, 256-bit lanes.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// x86-64 AVX-512 (F, BW, DQ, VL), 512-bit lanes (16 f32, 8 f64).
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Isa {
    /// The instruction set the kernels use: the best this CPU supports,
    /// capped by `OVERFIT_ISA` (see the module doc). Cached after the first call.
    ///
    /// # Panics
    /// When `OVERFIT_ISA` names an unknown set or one this CPU lacks (the
    /// binary checks it at start, `Isa::from_env`, and exits 2 instead).
    pub fn detect() -> Isa {
        static CHOSEN: std::sync::OnceLock<Result<Isa, String>> = std::sync::OnceLock::new();
        match CHOSEN.get_or_init(Isa::from_env) {
            Ok(isa) => *isa,
            Err(e) => panic!("{e}"),
        }
    }

    /// The best instruction set this CPU supports (std caches the CPUID query).
    pub fn best() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            // F for the hand-written kernels; BW, DQ and VL (every AVX-512
            // CPU since Skylake-SP has them) for the compiled passes (`per_isa!`).
            if has!("avx2") && has!("fma") {
                if has!("avx512f") && has!("avx512bw") && has!("avx512dq") && has!("avx512vl") {
                    return Isa::Avx512;
                }
                return Isa::Avx2;
            }
        }
        Isa::Plain
    }

    /// Every instruction set this CPU runs, weakest first.
    pub fn available() -> Vec<Isa> {
        let best = Isa::best();
        Isa::ALL.iter().copied().filter(|i| *i <= best).collect()
    }

    const ALL: &[Isa] = &[
        Isa::Plain,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512,
    ];

    /// AVX2 where the target has it, else the portable set: the cap of
    /// `per_isa!(up to AVX2_OR_PLAIN: ...)`.
    #[cfg(target_arch = "x86_64")]
    pub const AVX2_OR_PLAIN: Isa = Isa::Avx2;
    /// AVX2 where the target has it, else the portable set.
    #[cfg(not(target_arch = "x86_64"))]
    pub const AVX2_OR_PLAIN: Isa = Isa::Plain;

    /// The name `OVERFIT_ISA` takes.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Plain => "plain",
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => "avx2",
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => "avx512",
        }
    }

    /// `best()`, capped by the environment variable `OVERFIT_ISA` when set
    /// and non-empty; an error naming the variable and value otherwise.
    pub fn from_env() -> Result<Isa, String> {
        match std::env::var("OVERFIT_ISA") {
            Ok(v) if !v.is_empty() => Isa::capped(&v),
            Err(std::env::VarError::NotUnicode(v)) => {
                Err(format!("OVERFIT_ISA={v:?}: not valid UTF-8"))
            }
            _ => Ok(Isa::best()),
        }
    }

    /// The set named `name`, if this CPU runs it.
    pub fn capped(name: &str) -> Result<Isa, String> {
        let Some(isa) = Isa::ALL.iter().copied().find(|i| i.name() == name) else {
            let names: Vec<_> = Isa::ALL.iter().map(|i| i.name()).collect();
            return Err(format!(
                "OVERFIT_ISA={name:?}: unknown instruction set (expected one of {})",
                names.join(", ")
            ));
        };
        if isa > Isa::best() {
            return Err(format!(
                "OVERFIT_ISA={name:?}: this CPU does not run it (best: {})",
                Isa::best().name()
            ));
        }
        Ok(isa)
    }
}

/// One plain Rust function compiled once per instruction set, for the
/// passes left to the compiler's loop vectoriser (copies, max-pool, ReLU, the
/// SGD update): `per_isa!(fn name / name_on (args) { body })` defines
/// `name_on(isa, args)`, which runs the body compiled with `isa`'s features
/// enabled, and `name(args)` = `name_on(Isa::detect(), args)`. Rust never
/// contracts a multiply and an add into an FMA nor reorders float
/// operations, so every compilation computes the same bits (the sign of a
/// zero from `f32::max` and NaN payloads are not promised by the language;
/// the tests check them per pass); only the vector width the compiler may
/// use changes. Helpers the body calls are compiled with it only when
/// inlined (`#[inline(always)]` makes sure).
macro_rules! per_isa {
    // `per_isa!(up to AVX2_OR_PLAIN: fn ...)`: `name` uses at most that set
    // (an `Isa` constant; for a pass whose wider compilation measured slower).
    (up to $cap:ident: $(#[$doc:meta])* $vis:vis fn $name:ident / $name_on:ident
     ($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $crate::nets::isa::per_isa!(@define ($crate::nets::isa::Isa::detect()
            .min($crate::nets::isa::Isa::$cap)) $(#[$doc])* $vis fn $name / $name_on
            ($($arg: $ty),*) $(-> $ret)? $body);
    };
    ($(#[$doc:meta])* $vis:vis fn $name:ident / $name_on:ident
     ($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $crate::nets::isa::per_isa!(@define ($crate::nets::isa::Isa::detect())
            $(#[$doc])* $vis fn $name / $name_on ($($arg: $ty),*) $(-> $ret)? $body);
    };
    (@define ($chosen:expr) $(#[$doc:meta])* $vis:vis fn $name:ident / $name_on:ident
     ($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$doc])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            $name_on($chosen, $($arg),*)
        }

        /// As the function without `_on`, compiled for the instruction set
        /// `isa` (one of `Isa::available()`).
        ///
        /// # Panics
        /// When the CPU does not run `isa`.
        // The wrapped function's arguments plus `isa`.
        #[allow(clippy::too_many_arguments)]
        $vis fn $name_on(isa: $crate::nets::isa::Isa, $($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn body($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            #[allow(clippy::too_many_arguments)]
            unsafe fn avx2($($arg: $ty),*) $(-> $ret)? {
                body($($arg),*)
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
            #[allow(clippy::too_many_arguments)]
            unsafe fn avx512($($arg: $ty),*) $(-> $ret)? {
                body($($arg),*)
            }
            assert!(
                isa <= $crate::nets::isa::Isa::best(),
                "{isa:?} is not available on this CPU"
            );
            match isa {
                $crate::nets::isa::Isa::Plain => body($($arg),*),
                #[cfg(target_arch = "x86_64")]
                // SAFETY: the CPU runs `isa` (asserted above).
                $crate::nets::isa::Isa::Avx2 => unsafe { avx2($($arg),*) },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: as above.
                $crate::nets::isa::Isa::Avx512 => unsafe { avx512($($arg),*) },
            }
        }
    };
}
pub(crate) use per_isa;

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

/// AVX2 + FMA registers, 8 f32 lanes (`__m256`) and 4 f64 lanes (`__m256d`),
/// and AVX-512 F registers, 16 f32 lanes (`__m512`) and 8 f64 lanes (`__m512d`).
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Lanes;
    use std::arch::x86_64::*;

    macro_rules! simd_lanes {
        ($v:ty, $t:ty, $w:literal, $load:ident, $store:ident, $set1:ident, $setzero:ident,
         $add:ident, $mul:ident, $fmadd:ident, $fnmadd:ident, $max:ident, $select:ident) => {
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
                    $select(z, pos, neg)
                }
            }
        };
    }
    simd_lanes!(
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
        select_m256
    );
    simd_lanes!(
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
        select_m256d
    );

    // `if z > 0 { pos } else { neg }` per lane: AVX2 blends on a vector
    // mask, AVX-512 on a mask register (NaN compares false: neg).
    #[inline(always)]
    unsafe fn select_m256(z: __m256, pos: __m256, neg: __m256) -> __m256 {
        _mm256_blendv_ps(
            neg,
            pos,
            _mm256_cmp_ps::<_CMP_GT_OQ>(z, _mm256_setzero_ps()),
        )
    }
    #[inline(always)]
    unsafe fn select_m256d(z: __m256d, pos: __m256d, neg: __m256d) -> __m256d {
        _mm256_blendv_pd(
            neg,
            pos,
            _mm256_cmp_pd::<_CMP_GT_OQ>(z, _mm256_setzero_pd()),
        )
    }
    #[inline(always)]
    unsafe fn select_m512(z: __m512, pos: __m512, neg: __m512) -> __m512 {
        _mm512_mask_blend_ps(
            _mm512_cmp_ps_mask::<_CMP_GT_OQ>(z, _mm512_setzero_ps()),
            neg,
            pos,
        )
    }
    #[inline(always)]
    unsafe fn select_m512d(z: __m512d, pos: __m512d, neg: __m512d) -> __m512d {
        _mm512_mask_blend_pd(
            _mm512_cmp_pd_mask::<_CMP_GT_OQ>(z, _mm512_setzero_pd()),
            neg,
            pos,
        )
    }

    simd_lanes!(
        __m512,
        f32,
        16,
        _mm512_loadu_ps,
        _mm512_storeu_ps,
        _mm512_set1_ps,
        _mm512_setzero_ps,
        _mm512_add_ps,
        _mm512_mul_ps,
        _mm512_fmadd_ps,
        _mm512_fnmadd_ps,
        _mm512_max_ps,
        select_m512
    );
    simd_lanes!(
        __m512d,
        f64,
        8,
        _mm512_loadu_pd,
        _mm512_storeu_pd,
        _mm512_set1_pd,
        _mm512_setzero_pd,
        _mm512_add_pd,
        _mm512_mul_pd,
        _mm512_fmadd_pd,
        _mm512_fnmadd_pd,
        _mm512_max_pd,
        select_m512d
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

    /// Each lane operation on `LEN` inputs of T's element type, stored in
    /// order (what the instruction-set instantiations are compared on): add,
    /// mul, fma, fnma, max, select_positive, splat(s).
    ///
    /// # Safety
    /// T's instruction set must be enabled; the slices hold `LEN` values,
    /// a multiple of T's width.
    #[inline(always)]
    unsafe fn ops<T: Lanes, const LEN: usize>(
        a: &[T::Elem],
        b: &[T::Elem],
        c: &[T::Elem],
        s: T::Elem,
    ) -> Vec<T::Elem> {
        let mut out = vec![s; 7 * LEN];
        for g in (0..LEN).step_by(T::WIDTH) {
            let (a, b, c) = (
                T::load(a[g..].as_ptr()),
                T::load(b[g..].as_ptr()),
                T::load(c[g..].as_ptr()),
            );
            let results = [
                T::add(a, b),
                T::mul(a, b),
                T::fma(a, b, c),
                T::fnma(a, b, c),
                T::max(a, b),
                T::select_positive(a, b, c),
                T::splat(s),
            ];
            for (i, r) in results.iter().enumerate() {
                r.store(out[i * LEN + g..].as_mut_ptr());
            }
        }
        out
    }

    /// Panics unless `got` has `want`'s bits everywhere (NaN payloads are
    /// not part of the contract: any NaN matches any NaN).
    fn assert_lanes_match<E: Copy + Into<f64> + std::fmt::Debug>(
        what: &str,
        want: &[E],
        got: &[E],
        bits: impl Fn(E) -> u64,
    ) {
        let len = want.len() / 7;
        for (k, (&x, &y)) in want.iter().zip(got).enumerate() {
            let nan = x.into().is_nan() && y.into().is_nan();
            assert!(
                bits(x) == bits(y) || nan,
                "{what}, op {} lane {}: {x:?} vs {y:?}",
                k / len,
                k % len
            );
        }
    }

    /// The AVX2 and AVX-512 f64 registers (`__m256d`, `__m512d`) give the
    /// portable lanes' bits on the same inputs (NaN, signed zeros, an fma
    /// that rounds once, overflow, a subnormal product).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn simd_lanes_match_plain() {
        use std::arch::x86_64::{__m256d, __m512d};
        #[target_feature(enable = "avx2,fma")]
        unsafe fn avx2(a: &[f64], b: &[f64], c: &[f64]) -> Vec<f64> {
            ops::<__m256d, 8>(a, b, c, 0.1)
        }
        #[target_feature(enable = "avx512f")]
        unsafe fn avx512(a: &[f64], b: &[f64], c: &[f64]) -> Vec<f64> {
            ops::<__m512d, 8>(a, b, c, 0.1)
        }
        let a = [
            0.1,
            -0.0,
            f64::NAN,
            1e300,
            1.0 + 2f64.powi(-30),
            0.0,
            -3.0,
            2.5,
        ];
        let b = [
            0.3,
            0.0,
            2.0,
            1e10,
            1.0 + 2f64.powi(-30),
            f64::NAN,
            -3.0,
            -2.5e-310,
        ];
        let c = [-0.7, -0.0, 1.0, -1e308, -1.0, 1.0, 0.0, f64::INFINITY];
        // SAFETY: the portable lanes need no instruction set; the arrays hold 8 values.
        let plain = unsafe { ops::<Plain<f64, 4>, 8>(&a, &b, &c, 0.1) };
        let mut checked = 0;
        for isa in Isa::available() {
            let v = match isa {
                Isa::Plain => continue,
                // SAFETY: `available` lists only what the CPU reports.
                Isa::Avx2 => unsafe { avx2(&a, &b, &c) },
                // SAFETY: as above.
                Isa::Avx512 => unsafe { avx512(&a, &b, &c) },
            };
            checked += 1;
            assert_lanes_match(&format!("{isa:?} f64"), &plain, &v, f64::to_bits);
        }
        if checked == 0 {
            println!("simd_lanes_match_plain: skipped, this CPU runs neither AVX2 nor AVX-512");
        }
    }

    /// The same check for the f32 registers the direct conv kernels use
    /// (`__m256`, 8 lanes; `__m512`, 16 lanes) against `Plain<f32, 8>` on
    /// 16 inputs: NaN in either operand of max and select, signed zeros,
    /// an fma that rounds once ((1 + 2^-13)^2 - 1 = 2^-12 + 2^-26 exactly,
    /// which a separate f32 multiply would round to 2^-12), overflow to
    /// infinity, a subnormal product (no flush to zero), inf - inf.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn simd_f32_lanes_match_plain() {
        use std::arch::x86_64::{__m256, __m512};
        #[target_feature(enable = "avx2,fma")]
        unsafe fn avx2(a: &[f32], b: &[f32], c: &[f32]) -> Vec<f32> {
            ops::<__m256, 16>(a, b, c, 0.1)
        }
        #[target_feature(enable = "avx512f")]
        unsafe fn avx512(a: &[f32], b: &[f32], c: &[f32]) -> Vec<f32> {
            ops::<__m512, 16>(a, b, c, 0.1)
        }
        let once = 1.0 + 2f32.powi(-13);
        let a: [f32; 16] = [
            0.1,
            -0.0,
            f32::NAN,
            1e30,
            once,
            0.0,
            -3.0,
            2.5,
            1e-30,
            f32::INFINITY,
            -1.5,
            0.0,
            7.0,
            -0.0,
            f32::MIN_POSITIVE,
            -1e-45,
        ];
        let b: [f32; 16] = [
            0.3,
            0.0,
            2.0,
            1e10,
            once,
            f32::NAN,
            -3.0,
            -2.5,
            1e-10,
            1.0,
            -0.0,
            -0.0,
            f32::NAN,
            0.0,
            0.5,
            -1e-45,
        ];
        let c: [f32; 16] = [
            -0.7,
            -0.0,
            1.0,
            -3e38,
            -1.0,
            1.0,
            0.0,
            f32::INFINITY,
            0.0,
            f32::NEG_INFINITY,
            2.0,
            -0.0,
            1.0,
            -0.0,
            0.0,
            f32::MIN_POSITIVE,
        ];
        // The fma row of lane 4 is the exact 2^-12 + 2^-26, not 2^-12.
        let bits = |v: f32| u64::from(v.to_bits());
        // SAFETY: the portable lanes need no instruction set; the arrays hold 16 values.
        let plain = unsafe { ops::<Plain<f32, 8>, 16>(&a, &b, &c, 0.1) };
        assert_eq!(plain[2 * 16 + 4], 2f32.powi(-12) + 2f32.powi(-26));
        // SAFETY: as above.
        let plain16 = unsafe { ops::<Plain<f32, 16>, 16>(&a, &b, &c, 0.1) };
        assert_lanes_match("portable 16 vs 8 f32", &plain, &plain16, bits);
        let mut checked = 0;
        for isa in Isa::available() {
            let v = match isa {
                Isa::Plain => continue,
                // SAFETY: `available` lists only what the CPU reports.
                Isa::Avx2 => unsafe { avx2(&a, &b, &c) },
                // SAFETY: as above.
                Isa::Avx512 => unsafe { avx512(&a, &b, &c) },
            };
            checked += 1;
            assert_lanes_match(&format!("{isa:?} f32"), &plain, &v, bits);
        }
        if checked == 0 {
            println!("simd_f32_lanes_match_plain: skipped, this CPU runs neither AVX2 nor AVX-512");
        }
    }

    /// The per-ISA tests (`Isa::available()` in every module) skip the sets
    /// this CPU lacks without failing. Where a machine is meant to cover a
    /// set, `OVERFIT_REQUIRE_ISA=avx512` (or `avx2`, or a comma-separated
    /// list) makes this test fail unless the CPU runs it, so a CI runner that
    /// lost AVX-512 says so instead of passing on fewer sets; an unknown name
    /// fails too. Without the variable it only reports (on stderr, shown
    /// with `--nocapture`) which sets the per-ISA tests covered here.
    #[test]
    fn required_instruction_sets_are_covered() {
        let covered: Vec<&str> = Isa::available().iter().map(|i| i.name()).collect();
        let required = std::env::var("OVERFIT_REQUIRE_ISA").unwrap_or_default();
        for name in required.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let Some(isa) = Isa::ALL.iter().copied().find(|i| i.name() == name) else {
                let names: Vec<_> = Isa::ALL.iter().map(|i| i.name()).collect();
                panic!(
                    "OVERFIT_REQUIRE_ISA names {name:?}, not an instruction set (expected one of {})",
                    names.join(", ")
                );
            };
            assert!(
                Isa::available().contains(&isa),
                "OVERFIT_REQUIRE_ISA requires {name}, but this CPU runs only {}: \
                 the per-ISA tests did not cover it",
                covered.join(", ")
            );
        }
        eprintln!(
            "per-ISA tests cover: {} (best {}; OVERFIT_REQUIRE_ISA={required:?})",
            covered.join(", "),
            Isa::best().name()
        );
    }

    /// `OVERFIT_ISA` names: every available set by its name, an unknown name
    /// and a set above the CPU's best are errors naming the variable.
    #[test]
    fn isa_names_cap_the_choice() {
        for isa in Isa::available() {
            assert_eq!(Isa::capped(isa.name()), Ok(isa));
        }
        let e = Isa::capped("sse9").unwrap_err();
        assert!(
            e.contains("OVERFIT_ISA=\"sse9\"") && e.contains("plain"),
            "{e}"
        );
        #[cfg(target_arch = "x86_64")]
        if Isa::best() < Isa::Avx512 {
            let e = Isa::capped("avx512").unwrap_err();
            assert!(e.contains("does not run"), "{e}");
        }
    }
}
