//! Where the direct conv1 kernels (`direct`) leave their registers: the
//! forward kernel's output rows into NHWC lines, and the weight-gradient
//! kernel's accumulators summed across their lanes. Both are written once
//! for every instruction set (`DirectLanes`'s provided methods, the
//! reference) and again with AVX-512 shuffles, which move the same floats
//! and add them in the same order, so every set keeps its bits.
//!
//! Why: in `perf` of a batch-128 training step (model-207 Xeon, session 60)
//! a third of the forward kernel's samples fell on the 168 scalar stores a
//! row takes into its NHWC line (4.2% of the step), and a quarter of the
//! weight-gradient kernel's on the scalar adds of its lane sums (23% of its
//! samples on `vaddss`, about 3% of the step).

use crate::nets::isa::{Lanes, Plain};

/// The lanes the direct kernels are instantiated with: `Lanes` and the two
/// ways out of the registers.
pub(super) trait DirectLanes: Lanes<Elem = f32> {
    /// line[ox C + c0 + b] = lane ox of the row acc[b] for ox < width, where
    /// C = line.len() / width (the line's channels); lanes past `width` are
    /// dropped.
    ///
    /// # Safety
    /// As the trait `Lanes` (the lanes' set enabled); width <= V `WIDTH` <=
    /// 64 and c0 + B <= C.
    #[inline(always)]
    unsafe fn store_row<const V: usize, const B: usize>(
        acc: &[[Self; V]; B],
        width: usize,
        c0: usize,
        line: &mut [f32],
    ) {
        store_row_by_lane(acc, width, c0, line)
    }

    /// sums[j] = the lanes of acc[j] summed in lane order, as
    /// `Iterator::sum` adds them (from its neutral element, lane 0 first).
    ///
    /// # Safety
    /// As the trait `Lanes`; sums.len() == acc.len().
    #[inline(always)]
    unsafe fn lane_sums(acc: &[Self], sums: &mut [f32]) {
        lane_sums_by_lane(acc, sums)
    }
}

/// `DirectLanes::store_row` one float at a time.
///
/// # Safety
/// As `DirectLanes::store_row`.
#[inline(always)]
unsafe fn store_row_by_lane<T: Lanes<Elem = f32>, const V: usize, const B: usize>(
    acc: &[[T; V]; B],
    width: usize,
    c0: usize,
    line: &mut [f32],
) {
    debug_assert!(width <= V * T::WIDTH && V * T::WIDTH <= 64);
    let channels = line.len() / width;
    let mut row = [0.0f32; 64];
    for (b, a) in acc.iter().enumerate() {
        for (v, a) in a.iter().enumerate() {
            a.store(row[v * T::WIDTH..].as_mut_ptr());
        }
        for (ox, &v) in row[..width].iter().enumerate() {
            line[ox * channels + c0 + b] = v;
        }
    }
}

/// `DirectLanes::lane_sums` one lane at a time.
///
/// # Safety
/// As `DirectLanes::lane_sums`.
#[inline(always)]
unsafe fn lane_sums_by_lane<T: Lanes<Elem = f32>>(acc: &[T], sums: &mut [f32]) {
    debug_assert_eq!(acc.len(), sums.len());
    let mut lanes = [0.0f32; 64];
    let lanes = &mut lanes[..T::WIDTH];
    for (a, s) in acc.iter().zip(sums) {
        a.store(lanes.as_mut_ptr());
        *s = lanes.iter().sum::<f32>();
    }
}

impl<const N: usize> DirectLanes for Plain<f32, N> {}
#[cfg(target_arch = "x86_64")]
impl DirectLanes for std::arch::x86_64::__m256 {}
#[cfg(target_arch = "x86_64")]
impl DirectLanes for std::arch::x86_64::__m512 {
    /// conv1's whole line (6 channels, two 16-lane groups a row) by
    /// `avx512::store_line6`'s shuffles; any other block by lanes.
    #[inline(always)]
    unsafe fn store_row<const V: usize, const B: usize>(
        acc: &[[Self; V]; B],
        width: usize,
        c0: usize,
        line: &mut [f32],
    ) {
        if V == 2 && B == 6 && c0 == 0 && width > 16 && line.len() == 6 * width {
            // SAFETY: V = 2 and B = 6, so this is acc's own type.
            let rows: &[[Self; 2]; 6] = &*(acc as *const [[Self; V]; B]).cast();
            avx512::store_line6(rows, width, line)
        } else {
            store_row_by_lane(acc, width, c0, line)
        }
    }

    /// Sixteen accumulators at a time, transposed in registers, so that
    /// one vector add takes a lane of each (`avx512::lane_sums16`).
    #[inline(always)]
    unsafe fn lane_sums(acc: &[Self], sums: &mut [f32]) {
        debug_assert_eq!(acc.len(), sums.len());
        for (acc, sums) in acc.chunks(16).zip(sums.chunks_mut(16)) {
            avx512::lane_sums16(acc, sums)
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    /// Round 1's indices (`store_line6`): lane i of a pair register is
    /// a[first + i / 2] (i even) or b[first + i / 2] (i odd).
    const fn pair_indices(first: i32) -> [i32; 16] {
        let mut idx = [0; 16];
        let mut i = 0;
        while i < 16 {
            idx[i] = first + (i as i32) / 2 + 16 * (i as i32 % 2);
            i += 1;
        }
        idx
    }
    const PAIRS: [[i32; 16]; 2] = [pair_indices(0), pair_indices(8)];

    /// Round 2's permutes for output register k (0..6) of a group of 16
    /// pixels: the indices into (P_0, P_1) of its half, the indices into
    /// P_2, and the mask of the elements P_2 gives.
    const fn triple_indices(k: usize) -> ([i64; 8], [i64; 8], u8) {
        let (mut from01, mut from2, mut mask) = ([0i64; 8], [0i64; 8], 0u8);
        let mut i = 0;
        while i < 8 {
            let q = 8 * k + i;
            let pixel = (q / 3 % 8) as i64; // within its half
            match q % 3 {
                0 => from01[i] = pixel,
                1 => from01[i] = 8 + pixel,
                _ => {
                    from2[i] = pixel;
                    mask |= 1 << i;
                }
            }
            i += 1;
        }
        (from01, from2, mask)
    }
    const TRIPLES: [([i64; 8], [i64; 8], u8); 6] = [
        triple_indices(0),
        triple_indices(1),
        triple_indices(2),
        triple_indices(3),
        triple_indices(4),
        triple_indices(5),
    ];

    /// line[ox 6 + c] = lane ox of rows[c] (16 < width <= 32): each group
    /// of 16 pixels (96 floats, six registers) in two rounds of shuffles.
    /// Round 1 pairs the channels: P_j (j = 0, 1, 2) holds (c_2j, c_2j+1)
    /// of each pixel as one 64-bit element, pixels 0-7 in one register and
    /// 8-15 in another. Round 2 interleaves the three pair streams: the
    /// group's 64-bit element q is P_(q mod 3) of pixel q / 3, so output
    /// register k (elements 8k..8k+8) takes pixels from one half only,
    /// those of P_0 and P_1 by one two-source permute and those of P_2
    /// merged in under a mask. The last group stores only its pixels.
    ///
    /// # Safety
    /// AVX-512 F enabled; line.len() == 6 width.
    #[inline(always)]
    pub(super) unsafe fn store_line6(rows: &[[__m512; 2]; 6], width: usize, line: &mut [f32]) {
        assert!(width > 16 && width <= 32 && line.len() == 6 * width);
        for (group, pixels) in [(0, 16), (1, width - 16)] {
            // pairs[half][j]: P_j of pixels 8 half .. 8 half + 8.
            let mut pairs = [[_mm512_setzero_pd(); 3]; 2];
            for (half, pairs) in pairs.iter_mut().enumerate() {
                let idx = _mm512_loadu_si512(PAIRS[half].as_ptr().cast());
                for (j, p) in pairs.iter_mut().enumerate() {
                    let (a, b) = (rows[2 * j][group], rows[2 * j + 1][group]);
                    *p = _mm512_castps_pd(_mm512_permutex2var_ps(a, idx, b));
                }
            }
            let floats = 6 * pixels;
            let out = line.as_mut_ptr().add(group * 96);
            for (k, (from01, from2, mask)) in TRIPLES.iter().enumerate() {
                if 16 * k >= floats {
                    break;
                }
                let p = &pairs[k / 3];
                let idx01 = _mm512_loadu_si512(from01.as_ptr().cast());
                let idx2 = _mm512_loadu_si512(from2.as_ptr().cast());
                let v = _mm512_permutex2var_pd(p[0], idx01, p[1]);
                let v = _mm512_castpd_ps(_mm512_mask_permutexvar_pd(v, *mask, idx2, p[2]));
                let keep = match floats - 16 * k {
                    n if n >= 16 => 0xffff,
                    n => (1u16 << n) - 1,
                };
                _mm512_mask_storeu_ps(out.add(16 * k), keep, v);
            }
        }
    }

    /// sums[j] = the 16 lanes of acc[j] summed in lane order (at most 16
    /// accumulators, the rest of the 16 rows zero): the 16 x 16 block is
    /// transposed in registers (pairs of lanes, then 64-bit pairs, then
    /// 128-bit quarters), so that register i holds lane i of every
    /// accumulator, and the registers are added in order onto
    /// `Iterator::sum`'s neutral element, one add a lane for all 16 sums.
    ///
    /// # Safety
    /// AVX-512 F enabled; acc.len() == sums.len() <= 16.
    #[inline(always)]
    pub(super) unsafe fn lane_sums16(acc: &[__m512], sums: &mut [f32]) {
        assert!(acc.len() == sums.len() && acc.len() <= 16);
        let mut r = [_mm512_setzero_ps(); 16];
        r[..acc.len()].copy_from_slice(acc);
        // Lane L (128 bits) of t[2i]: r_2i[4L], r_2i+1[4L], r_2i[4L+1], r_2i+1[4L+1];
        // of t[2i+1]: the same of columns 4L+2, 4L+3.
        let mut t = [_mm512_setzero_ps(); 16];
        for i in 0..8 {
            t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
        }
        // Lane L of u[4i + c]: column 4L + c of rows 4i..4i+4.
        let mut u = [_mm512_setzero_ps(); 16];
        for i in 0..4 {
            let pd = |k: usize| _mm512_castps_pd(t[4 * i + k]);
            u[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(pd(0), pd(2)));
            u[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(pd(0), pd(2)));
            u[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(pd(1), pd(3)));
            u[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(pd(1), pd(3)));
        }
        // Column j = 4L + c: lane L of u[c], u[4 + c], u[8 + c], u[12 + c].
        let mut columns = [_mm512_setzero_ps(); 16];
        for c in 0..4 {
            let v0 = _mm512_shuffle_f32x4::<0x44>(u[c], u[4 + c]);
            let v1 = _mm512_shuffle_f32x4::<0xee>(u[c], u[4 + c]);
            let v2 = _mm512_shuffle_f32x4::<0x44>(u[8 + c], u[12 + c]);
            let v3 = _mm512_shuffle_f32x4::<0xee>(u[8 + c], u[12 + c]);
            columns[c] = _mm512_shuffle_f32x4::<0x88>(v0, v2);
            columns[4 + c] = _mm512_shuffle_f32x4::<0xdd>(v0, v2);
            columns[8 + c] = _mm512_shuffle_f32x4::<0x88>(v1, v3);
            columns[12 + c] = _mm512_shuffle_f32x4::<0xdd>(v1, v3);
        }
        let mut total = _mm512_set1_ps(std::iter::empty::<f32>().sum());
        for column in columns {
            total = _mm512_add_ps(total, column);
        }
        let mut all = [0.0f32; 16];
        _mm512_storeu_ps(all.as_mut_ptr(), total);
        sums.copy_from_slice(&all[..sums.len()]);
    }
}

/// The AVX-512 paths against the lane-by-lane reference on every width and
/// length they can be asked for, bit for bit, with sentinels around the
/// line (an overrun the kernel tests could only see as a corrupted heap).
#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use rand::RngExt;
    use std::arch::x86_64::*;

    /// Random floats with signed zeros among them.
    fn floats(rng: &mut Rng, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| match i % 7 {
                0 => -0.0,
                3 => 0.0,
                _ => rng.random_range(-1.0f32..1.0),
            })
            .collect()
    }

    /// The floats' bits.
    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// `store_row` of 6 rows of 2 vectors (`values`: 12 x 16 floats) at
    /// `width`, the fast way and lane by lane, each in a line with
    /// sentinels on both sides.
    ///
    /// # Safety
    /// AVX-512 F available.
    #[target_feature(enable = "avx512f")]
    unsafe fn rows_both_ways(values: &[f32], width: usize) -> (Vec<u32>, Vec<u32>) {
        let mut rows = [[_mm512_setzero_ps(); 2]; 6];
        for (b, row) in rows.iter_mut().enumerate() {
            for (v, r) in row.iter_mut().enumerate() {
                *r = _mm512_loadu_ps(values[(2 * b + v) * 16..].as_ptr());
            }
        }
        const SENTINEL: f32 = 12345.0;
        let (mut fast, mut slow) = (
            vec![SENTINEL; 6 * width + 32],
            vec![SENTINEL; 6 * width + 32],
        );
        <__m512 as DirectLanes>::store_row(&rows, width, 0, &mut fast[16..16 + 6 * width]);
        store_row_by_lane(&rows, width, 0, &mut slow[16..16 + 6 * width]);
        (bits(&fast), bits(&slow))
    }

    #[test]
    fn the_avx512_paths_move_and_add_as_the_reference() {
        if !is_x86_feature_detected!("avx512f") {
            println!("skipped: this CPU has no AVX-512 F, whose paths this tests");
            return;
        }
        let mut rng = crate::rng::stream(60, 0, "direct-rows-test");
        for width in 17..=32 {
            let values = floats(&mut rng, 6 * 32);
            // SAFETY: AVX-512 F was detected above.
            let (fast, slow) = unsafe { rows_both_ways(&values, width) };
            assert_eq!(fast, slow, "store_row at width {width}");
            // SAFETY: as above.
            let (fast_sums, slow_sums) = unsafe { sums_both_ways(&values, 12) };
            assert_eq!(fast_sums, slow_sums, "lane_sums of 12 rows");
        }
        for n in 1..=20 {
            let values = floats(&mut rng, 16 * n);
            // SAFETY: as above.
            let (fast, slow) = unsafe { sums_both_ways(&values, n) };
            assert_eq!(fast, slow, "lane_sums of {n} accumulators");
        }
        // All-zero lanes of either sign: Iterator::sum's neutral element shows.
        // SAFETY: as above.
        let (fast, slow) = unsafe { sums_both_ways(&[-0.0; 32], 2) };
        assert_eq!(fast, slow);
    }

    /// `lane_sums` of `n` vectors (`values`: n x 16 floats), the fast way
    /// and lane by lane.
    ///
    /// # Safety
    /// AVX-512 F available.
    #[target_feature(enable = "avx512f")]
    unsafe fn sums_both_ways(values: &[f32], n: usize) -> (Vec<u32>, Vec<u32>) {
        let acc: Vec<__m512> = (0..n)
            .map(|j| _mm512_loadu_ps(values[16 * j..].as_ptr()))
            .collect();
        let (mut fast, mut slow) = (vec![0.0f32; n], vec![0.0f32; n]);
        <__m512 as DirectLanes>::lane_sums(&acc, &mut fast);
        lane_sums_by_lane(&acc, &mut slow);
        (bits(&fast), bits(&slow))
    }
}
