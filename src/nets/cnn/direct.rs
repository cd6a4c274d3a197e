//! Direct convolution for a layer with few output channels: the course
//! CNN's conv1 (3 -> 6 channels, 5 x 5 kernels, 32 x 32 images).
//!
//! Why not im2col + gemm there: the gemm's output has only c_out = 6
//! columns, narrower than any BLAS micro-kernel tile, and the cols matrix
//! (784 x 75 floats per image, 235 kB) costs more memory traffic than the
//! arithmetic; at batch 128 conv1's two im2cols and two gemms were about half
//! of a training step. Here an output row is the vector. Each image is first
//! copied to planes `xp[ci][iy][ix]` (row stride `stride() >= 32 + k - 1`,
//! zero past the image), then, with 8-lane fused multiply-adds,
//!
//!   y[oy, ox..ox+8, co] = bias[co] + sum_{ci,ky,kx} w[co, ky, kx, ci] * xp[ci][oy+ky][ox+kx .. ox+kx+8]
//!
//! holding 2 output channels x 4 lane groups (32 columns) in registers (6
//! x 2 with AVX-512), with the weights packed in the order they are read, and
//!
//!   dW[co, ky, kx, ci] = sum_{b, oy, ox} dyp[co][oy][ox] * xp[ci][oy+ky][ox+kx],
//!   db[co] = sum_{b, oy, ox} dyp[co][oy][ox]
//!
//! holding 2 channels x 5 kx (4 x 5 with AVX-512; and the bias sums) in
//! registers, where `dyp` is dY in planes with the lanes past the output
//! width zero. The flops are the gemm's (2 B OH OW K c_out each way); no
//! cols matrix is formed.
//!
//! Which layers: stride 1 (as every conv here), no padding, 5 x 5 kernels, an
//! even c_out, and an output 25 to 32 columns wide (four 8-lane groups); see
//! `Conv2d::direct_fits`. Everything else takes the im2col path, which stays
//! the general one and the one these kernels are tested against (beside the
//! f64 reference). The input gradient is not formed here (conv1 needs none);
//! a layer that needs dx runs its whole backward on the im2col path.
//!
//! SIMD: the kernels are written once over `nets::isa::Lanes` and
//! instantiated for AVX-512 (two 16-lane groups a row), AVX2+FMA (four 8-lane
//! groups), chosen at run time, and for plain `[f32; 8]` arrays with
//! `f32::mul_add`. Every instantiation rounds each multiply-add once. The
//! forward pass sums each output in the same order at every width, so all
//! give the same bits. dW and db sum each lane's products along the row and
//! then across the lanes, an order that depends on the width: the AVX2
//! kernel gives the bits of the 8-lane portable one, the AVX-512 kernel those
//! of the 16-lane portable one (`Plain<f32, 16>`), and the two widths agree
//! to f32 rounding (tested against the f64 reference and the im2col path).
//!
//! The forward rows go into their NHWC lines, and the weight-gradient
//! accumulators are summed across their lanes, through `direct_rows`
//! (with AVX-512 shuffles there, the same floats in the same order).

use super::direct_rows::DirectLanes;
use super::layers::Conv2d;
use crate::nets::isa::{per_isa, Isa, Plain};

/// Output columns held per row (a whole number of vectors at every width).
const ROW: usize = 32;
/// The narrowest lanes served (the portable and AVX2 kernels).
const L: usize = 8;
/// The smallest block of output channels the kernels serve (c_out must be a
/// multiple), and the remainder blocks after the bigger ones below.
const CB: usize = 2;
/// Kernel size served.
const K: usize = 5;
/// Output channels the forward kernel holds at once with 8-lane vectors (4
/// a row, so 8 accumulators) and with 16-lane vectors (2 a row, 12).
const FORWARD_BLOCK_8: usize = 2;
const FORWARD_BLOCK_16: usize = 6;
/// Output channels the weight-gradient kernel holds at once: B K
/// accumulators, B rows of dY, one row of x and, in the bias pass, B bias
/// sums must fit the registers (16 with AVX2: 15; 32 with AVX-512: 29).
const PARAMS_BLOCK_8: usize = 2;
const PARAMS_BLOCK_16: usize = 4;

/// The output-channel blocks the kernels visit, in order, as (first
/// channel, channels): `nb` at a time while `nb` remain, then `CB` at a time
/// (c_out and nb are multiples of CB).
fn channel_blocks(c_out: usize, nb: usize) -> impl Iterator<Item = (usize, usize)> {
    debug_assert!(c_out.is_multiple_of(CB) && nb.is_multiple_of(CB));
    let whole = c_out / nb * nb;
    let full = (0..whole).step_by(nb).map(move |c0| (c0, nb));
    full.chain((whole..c_out).step_by(CB).map(|c0| (c0, CB)))
}

/// The weights in the order the forward kernel reads them, block after
/// block (`channel_blocks`): within the block of channels c0..c0+B,
///
///   packed[c0 kk + ((ci K + ky) K + kx) B + b] = w[(c0 + b) kk + (ky K + kx) cin + ci],
///
/// so each step of the (ci, ky, kx) loop reads its B weights from one
/// pointer at fixed offsets. Only the layout changes, not the sums. Written
/// into `out` (`c.weight_len()` floats of the caller's scratch).
fn pack_weights<'a>(c: &Conv2d, w: &[f32], nb: usize, out: &'a mut [f32]) -> Packed<'a> {
    let (kk, cin) = (c.patch_len(), c.input.c);
    let out = &mut out[..c.weight_len()];
    let mut next = out.iter_mut();
    for (c0, b) in channel_blocks(c.c_out, nb) {
        for ci in 0..cin {
            for tap in 0..K * K {
                for co in c0..c0 + b {
                    *next.next().expect("c.weight_len() floats") = w[co * kk + tap * cin + ci];
                }
            }
        }
    }
    Packed { nb, w: out }
}

/// Weights packed by `pack_weights` for blocks of `nb` channels: the
/// forward kernel of block size NB checks that it was given its own.
#[derive(Clone, Copy)]
struct Packed<'a> {
    nb: usize,
    w: &'a [f32],
}

/// Whether `c` is served by the direct kernels (see the module doc).
pub fn fits(c: &Conv2d) -> bool {
    let ow = c.output().w;
    c.pad == 0 && c.k == K && c.c_out.is_multiple_of(CB) && ow.div_ceil(L) * L == ROW
}

/// Row stride of the input planes: the last lane group of a row reads up to
/// column (ROW - 1) + (k - 1).
fn stride(c: &Conv2d) -> usize {
    (ROW + c.k - 1).max(c.input.w)
}

fn plane_len(c: &Conv2d) -> usize {
    c.input.h * stride(c)
}

fn xp_len(c: &Conv2d) -> usize {
    c.input.c * plane_len(c)
}

fn dyp_len(c: &Conv2d) -> usize {
    c.c_out * c.output().h * ROW
}

/// Floats of scratch the direct path needs: the input planes of one image,
/// then its dY planes (weight gradient) or the packed weights (forward).
pub fn scratch_len(c: &Conv2d) -> usize {
    xp_len(c) + dyp_len(c).max(c.weight_len())
}

per_isa! {
    /// xp[ci][iy][ix] = x[iy, ix, ci] for one NHWC image; columns past the
    /// image are 0. Compiled per instruction set.
    #[allow(dead_code)] // called as `to_planes_on`, with the kernel's set
    fn to_planes / to_planes_on(c: &Conv2d, x: &[f32], xp: &mut [f32]) {
        let (i, s) = (c.input, stride(c));
        let lines = x[..i.len()].chunks_exact(i.w * i.c);
        for (iy, line) in lines.enumerate() {
            for (ci, plane) in xp[..xp_len(c)].chunks_exact_mut(plane_len(c)).enumerate() {
                let row = &mut plane[iy * s..(iy + 1) * s];
                match (i.c, i.w) {
                    (3, 32) => deinterleave::<3, 32>(line, ci, row),
                    _ => deinterleave_any(i.c, i.w, line, ci, row),
                }
                row[i.w..].fill(0.0);
            }
        }
    }
}

per_isa! {
    /// dyp[co][oy][ox] = dy[oy, ox, co] for one image; lanes ox >= OW are 0.
    /// Compiled per instruction set.
    #[allow(dead_code)] // called as `dy_to_planes_on`, with the kernel's set
    fn dy_to_planes / dy_to_planes_on(c: &Conv2d, dy: &[f32], dyp: &mut [f32]) {
        let o = c.output();
        for (co, plane) in dyp[..dyp_len(c)].chunks_exact_mut(o.h * ROW).enumerate() {
            for (oy, row) in plane.chunks_exact_mut(ROW).enumerate() {
                let line = &dy[oy * o.w * o.c..(oy + 1) * o.w * o.c];
                match (o.c, o.w) {
                    (6, 28) => deinterleave::<6, 28>(line, co, row),
                    _ => deinterleave_any(o.c, o.w, line, co, row),
                }
                row[o.w..].fill(0.0);
            }
        }
    }
}

/// row[x] = line[x C + ch] for x < W: channel `ch` of a line of W pixels of
/// C channels. With both sizes known (conv1's input lines, 32 x 3, and its
/// output lines, 28 x 6) the compiler turns the strided reads into
/// shuffles. In `perf` of a batch-128 step (Zen 4): `to_planes` 1.8-2.3%
/// instead of 3.6% (baseline build) or 5.2% (the loop of `deinterleave_any`
/// compiled for AVX-512, which gathers), `dy_to_planes` 1.8-2.3% instead of
/// about 4%.
#[inline(always)]
fn deinterleave<const C: usize, const W: usize>(line: &[f32], ch: usize, row: &mut [f32]) {
    let (line, row) = (&line[..W * C], &mut row[..W]);
    for x in 0..W {
        row[x] = line[x * C + ch];
    }
}

/// `deinterleave` for sizes known at run time only.
#[inline(always)]
fn deinterleave_any(c: usize, w: usize, line: &[f32], ch: usize, row: &mut [f32]) {
    for (d, px) in row[..w].iter_mut().zip(line[..w * c].chunks_exact(c)) {
        *d = px[ch];
    }
}

/// y = conv(x) + bias for `batch` NHWC images; `scratch` holds `scratch_len` floats.
pub fn forward(
    c: &Conv2d,
    w: &[f32],
    bias: &[f32],
    x: &[f32],
    batch: usize,
    scratch: &mut [f32],
    y: &mut [f32],
) {
    forward_on(Isa::detect(), c, (w, bias), x, batch, scratch, y)
}

/// `forward` with the kernels of the given instruction set (it must be one of
/// `Isa::available()`; the benchmarks time each against the others).
///
/// # Panics
/// When the CPU does not run `isa`.
pub fn forward_on(
    isa: Isa,
    c: &Conv2d,
    wb: (&[f32], &[f32]),
    x: &[f32],
    batch: usize,
    scratch: &mut [f32],
    y: &mut [f32],
) {
    assert!(isa <= Isa::best(), "{isa:?} is not available on this CPU");
    forward_with(Kernel::of(isa), c, wb, x, batch, scratch, y)
}

/// dw = sum over the batch of dY ⋆ x and db = the sums of dY per channel
/// (the parameter gradients, overwritten).
pub fn backward_params(
    c: &Conv2d,
    x: &[f32],
    dy: &[f32],
    batch: usize,
    scratch: &mut [f32],
    (dw, db): (&mut [f32], &mut [f32]),
) {
    backward_params_on(Isa::detect(), c, x, dy, batch, scratch, (dw, db))
}

/// `backward_params` with the kernels of the given instruction set.
///
/// # Panics
/// When the CPU does not run `isa`.
pub fn backward_params_on(
    isa: Isa,
    c: &Conv2d,
    x: &[f32],
    dy: &[f32],
    batch: usize,
    scratch: &mut [f32],
    grads: (&mut [f32], &mut [f32]),
) {
    assert!(isa <= Isa::best(), "{isa:?} is not available on this CPU");
    backward_params_with(Kernel::of(isa), c, x, dy, batch, scratch, grads)
}

/// Which instantiation of the kernels runs: an instruction set, or portable
/// lanes of a given width (the reference each SIMD width is tested against).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kernel {
    /// `Plain<f32, 8>`, four groups a row: the AVX2 kernel's bits.
    Plain8,
    /// `Plain<f32, 16>`, two groups a row: the AVX-512 kernel's bits (run
    /// only by the tests, as that kernel's reference).
    #[cfg_attr(not(test), allow(dead_code))]
    Plain16,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Kernel {
    /// The instruction set the kernel runs on (the portable ones: any).
    fn isa(self) -> Isa {
        match self {
            Kernel::Plain8 | Kernel::Plain16 => Isa::Plain,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => Isa::Avx2,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => Isa::Avx512,
        }
    }

    /// Output channels `forward_image` holds in registers at once (its NB).
    fn forward_block(self) -> usize {
        match self {
            Kernel::Plain8 => FORWARD_BLOCK_8,
            Kernel::Plain16 => FORWARD_BLOCK_16,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => FORWARD_BLOCK_8,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => FORWARD_BLOCK_16,
        }
    }

    fn of(isa: Isa) -> Kernel {
        match isa {
            Isa::Plain => Kernel::Plain8,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => Kernel::Avx2,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => Kernel::Avx512,
        }
    }
}

fn forward_with(
    kernel: Kernel,
    c: &Conv2d,
    (w, bias): (&[f32], &[f32]),
    x: &[f32],
    batch: usize,
    scratch: &mut [f32],
    y: &mut [f32],
) {
    assert!(fits(c) && w.len() >= c.weight_len() && bias.len() >= c.c_out);
    assert!(scratch.len() >= scratch_len(c));
    let (i, o) = (c.input, c.output());
    let (xp, rest) = scratch.split_at_mut(xp_len(c));
    let packed = pack_weights(c, w, kernel.forward_block(), rest);
    for b in 0..batch {
        to_planes_on(kernel.isa(), c, &x[b * i.len()..(b + 1) * i.len()], xp);
        let yb = &mut y[b * o.len()..(b + 1) * o.len()];
        let wb = (packed, bias);
        match kernel {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::Avx2` is chosen only when the CPU reports avx2 and fma;
            // the buffer lengths were asserted above.
            Kernel::Avx2 => unsafe { avx2::forward_image(c, wb, xp, yb) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::Avx512` only when the CPU reports avx512f; lengths as above.
            Kernel::Avx512 => unsafe { avx512::forward_image(c, wb, xp, yb) },
            // SAFETY: as above (lengths).
            Kernel::Plain8 => unsafe {
                forward_image::<Plain<f32, 8>, 4, FORWARD_BLOCK_8>(c, wb, xp, yb)
            },
            // SAFETY: as above (lengths).
            Kernel::Plain16 => unsafe {
                forward_image::<Plain<f32, 16>, 2, FORWARD_BLOCK_16>(c, wb, xp, yb)
            },
        }
    }
}

fn backward_params_with(
    kernel: Kernel,
    c: &Conv2d,
    x: &[f32],
    dy: &[f32],
    batch: usize,
    scratch: &mut [f32],
    (dw, db): (&mut [f32], &mut [f32]),
) {
    assert!(fits(c) && dw.len() >= c.weight_len() && db.len() >= c.c_out);
    assert!(scratch.len() >= scratch_len(c));
    let (i, o) = (c.input, c.output());
    let (dw, db) = (&mut dw[..c.weight_len()], &mut db[..c.c_out]);
    dw.fill(0.0);
    db.fill(0.0);
    for b in 0..batch {
        let (xp, dyp) = scratch.split_at_mut(xp_len(c));
        to_planes_on(kernel.isa(), c, &x[b * i.len()..(b + 1) * i.len()], xp);
        dy_to_planes_on(kernel.isa(), c, &dy[b * o.len()..(b + 1) * o.len()], dyp);
        let grads = (&mut *dw, &mut *db);
        match kernel {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as in `forward_with`.
            Kernel::Avx2 => unsafe { avx2::params_image(c, xp, dyp, grads) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as in `forward_with`.
            Kernel::Avx512 => unsafe { avx512::params_image(c, xp, dyp, grads) },
            // SAFETY: lengths asserted above.
            Kernel::Plain8 => unsafe {
                params_image::<Plain<f32, 8>, 4, PARAMS_BLOCK_8>(c, xp, dyp, grads)
            },
            // SAFETY: lengths asserted above.
            Kernel::Plain16 => unsafe {
                params_image::<Plain<f32, 16>, 2, PARAMS_BLOCK_16>(c, xp, dyp, grads)
            },
        }
    }
}

/// One image: yb[oy, ox, co] = bias[co] + sum_{ci,ky,kx} w[co,ky,kx,ci] xp[ci][oy+ky][ox+kx].
/// V groups of `T::WIDTH` lanes make a row (`V T::WIDTH = ROW`); the output
/// channels go NB at a time while NB remain, then `CB` at a time. Each output
/// is summed in (ci, ky, kx) order whatever the blocking, so V and NB change
/// speed only: NB V accumulators hide the FMA latency (8 or more wanted where
/// two FMA units each take a whole vector, as on AVX-512 Intel parts).
///
/// The weights come packed for blocks of NB (`pack_weights`), so each step
/// reads its channels' weights from one pointer (before, six strided
/// indices a step, whose addresses and bounds checks spilled registers in
/// the hot loop).
///
/// # Safety
/// `xp` must hold `xp_len(c)` floats, the packed weights `c.weight_len()`,
/// `yb` one output image; every load stays inside its input plane because
/// `stride >= ROW + k - 1`.
#[inline(always)]
unsafe fn forward_image<T: DirectLanes, const V: usize, const NB: usize>(
    c: &Conv2d,
    (packed, bias): (Packed<'_>, &[f32]),
    xp: &[f32],
    yb: &mut [f32],
) {
    assert_eq!(packed.nb, NB, "weights packed for another block size");
    debug_assert!(xp.len() >= xp_len(c) && packed.w.len() >= c.weight_len());
    debug_assert_eq!(V * T::WIDTH, ROW);
    let wb = (packed.w, bias);
    for oy in 0..c.output().h {
        for (c0, b) in channel_blocks(c.c_out, NB) {
            if b == NB {
                forward_block::<T, V, NB>(c, wb, xp, yb, oy, c0);
            } else {
                forward_block::<T, V, CB>(c, wb, xp, yb, oy, c0);
            }
        }
    }
}

/// Output row oy of channels c0..c0+B: B V vectors of accumulators.
///
/// # Safety
/// As `forward_image`, and `c0 + B <= c_out`.
#[inline(always)]
unsafe fn forward_block<T: DirectLanes, const V: usize, const B: usize>(
    c: &Conv2d,
    (w, bias): (&[f32], &[f32]),
    xp: &[f32],
    yb: &mut [f32],
    oy: usize,
    c0: usize,
) {
    let (o, s, kk, cin, lw) = (c.output(), stride(c), c.patch_len(), c.input.c, T::WIDTH);
    let mut acc = [[T::zero(); V]; B];
    for (b, a) in acc.iter_mut().enumerate() {
        *a = [T::splat(bias[c0 + b]); V];
    }
    let mut wp = w[c0 * kk..(c0 + B) * kk].as_ptr();
    for ci in 0..cin {
        for ky in 0..K {
            let line = xp.as_ptr().add(ci * plane_len(c) + (oy + ky) * s);
            for kx in 0..K {
                let mut xv = [T::zero(); V];
                for (v, x) in xv.iter_mut().enumerate() {
                    *x = T::load(line.add(kx + v * lw));
                }
                for (b, a) in acc.iter_mut().enumerate() {
                    let wv = T::splat(*wp.add(b));
                    for (a, x) in a.iter_mut().zip(&xv) {
                        *a = T::fma(wv, *x, *a);
                    }
                }
                wp = wp.add(B);
            }
        }
    }
    let line = &mut yb[oy * o.w * o.c..(oy + 1) * o.w * o.c];
    T::store_row(&acc, o.w, c0, line);
}

/// One image: dw[co,ky,kx,ci] += sum_{oy,ox} dyp[co][oy][ox] xp[ci][oy+ky][ox+kx]
/// and db[co] += sum_{oy,ox} dyp[co][oy][ox] (summed in the ci = ky = 0 pass).
/// The output channels go PB at a time while PB remain, then `CB` at a time
/// (`channel_blocks`); each weight's sum is its own, so PB changes speed
/// only: a row of x, loaded once per kx, serves PB channels, and on AVX-512
/// Intel parts, where most of those loads straddle two cache lines, 2
/// channels left the kernel waiting on loads.
///
/// # Safety
/// `xp` must hold `xp_len(c)` floats and `dyp` `dyp_len(c)` (lanes past the
/// output width 0, so the columns past the image contribute nothing);
/// `V T::WIDTH = ROW`.
#[inline(always)]
unsafe fn params_image<T: DirectLanes, const V: usize, const PB: usize>(
    c: &Conv2d,
    xp: &[f32],
    dyp: &[f32],
    (dw, db): (&mut [f32], &mut [f32]),
) {
    debug_assert!(xp.len() >= xp_len(c) && dyp.len() >= dyp_len(c));
    debug_assert_eq!(V * T::WIDTH, ROW);
    for (c0, b) in channel_blocks(c.c_out, PB) {
        if b == PB {
            params_block::<T, V, PB>(c, xp, dyp, (dw, db), c0);
        } else {
            params_block::<T, V, CB>(c, xp, dyp, (dw, db), c0);
        }
    }
}

/// `params_image` for channels c0..c0+B: B K vectors of accumulators.
///
/// # Safety
/// As `params_image`, and `c0 + B <= c_out`.
#[inline(always)]
unsafe fn params_block<T: DirectLanes, const V: usize, const B: usize>(
    c: &Conv2d,
    xp: &[f32],
    dyp: &[f32],
    (dw, db): (&mut [f32], &mut [f32]),
    c0: usize,
) {
    let (o, s, kk, cin) = (c.output(), stride(c), c.patch_len(), c.input.c);
    let lw = T::WIDTH;
    for ci in 0..cin {
        for ky in 0..K {
            let mut acc = [[T::zero(); K]; B];
            let mut bias_acc = [T::zero(); B];
            let with_bias = ci == 0 && ky == 0;
            for oy in 0..o.h {
                let line = xp.as_ptr().add(ci * plane_len(c) + (oy + ky) * s);
                for v in 0..V {
                    let mut d = [T::zero(); B];
                    for (b, d) in d.iter_mut().enumerate() {
                        *d = T::load(dyp.as_ptr().add(((c0 + b) * o.h + oy) * ROW + v * lw));
                    }
                    if with_bias {
                        for (a, d) in bias_acc.iter_mut().zip(&d) {
                            *a = T::add(*a, *d);
                        }
                    }
                    for kx in 0..K {
                        let xr = T::load(line.add(kx + v * lw));
                        for (a, d) in acc.iter_mut().zip(&d) {
                            a[kx] = T::fma(*d, xr, a[kx]);
                        }
                    }
                }
            }
            let mut sums = [[0.0f32; K]; B];
            T::lane_sums(acc.as_flattened(), sums.as_flattened_mut());
            for (b, sums) in sums.iter().enumerate() {
                for (kx, sum) in sums.iter().enumerate() {
                    dw[(c0 + b) * kk + (ky * K + kx) * cin + ci] += sum;
                }
            }
            if with_bias {
                let mut sums = [0.0f32; B];
                T::lane_sums(&bias_acc, &mut sums);
                for (db, sum) in db[c0..c0 + B].iter_mut().zip(sums) {
                    *db += sum;
                }
            }
        }
    }
}

/// The kernels instantiated for one instruction set, inside a function
/// with that set enabled (so the lane operations inline as instructions).
#[cfg(target_arch = "x86_64")]
macro_rules! simd_kernels {
    ($module:ident, $features:literal, $lanes:ty, $groups:literal, $forward_block:path, $params_block:path) => {
        mod $module {
            use super::Conv2d;
            use std::arch::x86_64::*;

            /// # Safety
            #[doc = concat!("The CPU must support ", $features, "; buffers as `forward_image`.")]
            #[target_feature(enable = $features)]
            pub unsafe fn forward_image(
                c: &Conv2d,
                wb: (super::Packed<'_>, &[f32]),
                xp: &[f32],
                yb: &mut [f32],
            ) {
                super::forward_image::<$lanes, $groups, { $forward_block }>(c, wb, xp, yb)
            }

            /// # Safety
            #[doc = concat!("The CPU must support ", $features, "; buffers as `params_image`.")]
            #[target_feature(enable = $features)]
            pub unsafe fn params_image(
                c: &Conv2d,
                xp: &[f32],
                dyp: &[f32],
                grads: (&mut [f32], &mut [f32]),
            ) {
                super::params_image::<$lanes, $groups, { $params_block }>(c, xp, dyp, grads)
            }
        }
    };
}
#[cfg(target_arch = "x86_64")]
simd_kernels!(
    avx2,
    "avx2,fma",
    __m256,
    4,
    super::FORWARD_BLOCK_8,
    super::PARAMS_BLOCK_8
);
#[cfg(target_arch = "x86_64")]
simd_kernels!(
    avx512,
    "avx512f",
    __m512,
    2,
    super::FORWARD_BLOCK_16,
    super::PARAMS_BLOCK_16
);

/// Test hooks: run one instantiation explicitly, so the tests compare each
/// instruction set with the portable lanes of its width, bit for bit.
#[cfg(test)]
pub mod testing {
    use super::*;

    /// The SIMD instantiations this CPU can run, each with the portable
    /// one of the same width that must give its bits: `(name, kernel,
    /// portable twin)`. Empty where the CPU runs neither AVX2 nor AVX-512.
    pub fn simd_kernels() -> Vec<(&'static str, KernelChoice, KernelChoice)> {
        let mut all = Vec::new();
        for isa in Isa::available() {
            let twin = match isa {
                Isa::Plain => continue,
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => Kernel::Plain8,
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => Kernel::Plain16,
            };
            all.push((
                isa.name(),
                KernelChoice(Kernel::of(isa)),
                KernelChoice(twin),
            ));
        }
        all
    }

    /// The portable instantiations, 8 and 16 lanes (the twins of AVX2 and
    /// AVX-512), which run on every CPU.
    pub fn portable_kernels() -> [(&'static str, KernelChoice); 2] {
        [
            ("portable 8", KernelChoice(Kernel::Plain8)),
            ("portable 16", KernelChoice(Kernel::Plain16)),
        ]
    }

    /// The dispatched kernel's portable twin (itself where the dispatched
    /// kernel is the portable one, `OVERFIT_ISA=plain` or a CPU without
    /// AVX2).
    pub fn twin_of_dispatched() -> KernelChoice {
        let k = Kernel::of(Isa::detect());
        if k == Kernel::Plain8 {
            return KernelChoice(k);
        }
        simd_kernels()
            .into_iter()
            .find(|(_, kernel, _)| kernel.0 == k)
            .map(|(_, _, twin)| twin)
            .expect("the dispatched kernel is available")
    }

    /// An instantiation of the kernels (opaque outside this module).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct KernelChoice(Kernel);

    /// `forward` with the given instantiation.
    pub fn forward(
        k: KernelChoice,
        c: &Conv2d,
        wb: (&[f32], &[f32]),
        x: &[f32],
        batch: usize,
        y: &mut [f32],
    ) {
        let mut scratch = vec![0.0; scratch_len(c)];
        forward_with(k.0, c, wb, x, batch, &mut scratch, y)
    }

    /// `backward_params` with the given instantiation.
    pub fn params(
        k: KernelChoice,
        c: &Conv2d,
        x: &[f32],
        dy: &[f32],
        batch: usize,
        grads: (&mut [f32], &mut [f32]),
    ) {
        let mut scratch = vec![0.0; scratch_len(c)];
        backward_params_with(k.0, c, x, dy, batch, &mut scratch, grads)
    }
}
