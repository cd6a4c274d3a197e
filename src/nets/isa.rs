//! Which SIMD instruction set the hand-written kernels run with
//! (`nets::wide`, `nets::cnn::direct`): AVX2 with FMA where the CPU reports
//! both, otherwise the portable code. Each kernel is written once and
//! instantiated for both, and the two give the same bits, so the choice
//! changes speed only.

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
