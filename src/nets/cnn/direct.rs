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
//! holding 2 output channels x 4 lane groups (32 columns) in registers, and
//!
//!   dW[co, ky, kx, ci] = sum_{b, oy, ox} dyp[co][oy][ox] * xp[ci][oy+ky][ox+kx],
//!   db[co] = sum_{b, oy, ox} dyp[co][oy][ox]
//!
//! holding 2 channels x 5 kx (and the 2 bias sums) in registers, where `dyp`
//! is dY in planes with the lanes past the output width zero. The flops are the gemm's
//! (2 B OH OW K c_out each way); no cols matrix is formed.
//!
//! Which layers: stride 1 (as every conv here), no padding, 5 x 5 kernels, an
//! even c_out, and an output 25 to 32 columns wide (four 8-lane groups); see
//! `Conv2d::direct_fits`. Everything else takes the im2col path, which stays
//! the general one and the one these kernels are tested against (beside the
//! f64 reference). The input gradient is not formed here (conv1 needs none);
//! a layer that needs dx runs its whole backward on the im2col path.
//!
//! SIMD: the kernels are written once over `nets::isa::Lanes` and
//! instantiated for AVX2+FMA (chosen at run time) and for plain `[f32; 8]`
//! arrays with `f32::mul_add`. Both round each multiply-add once and sum in the same
//! order, so they give the same bits.

use super::layers::Conv2d;
use crate::nets::isa::{Isa, Lanes, Plain};

/// Lanes per vector.
const L: usize = 8;
/// Lane groups per output row: rows 25..=32 wide.
const V: usize = 4;
/// Output channels held in registers at once.
const CB: usize = 2;
/// Kernel size served.
const K: usize = 5;

/// Whether `c` is served by the direct kernels (see the module doc).
pub fn fits(c: &Conv2d) -> bool {
    let ow = c.output().w;
    c.pad == 0 && c.k == K && c.c_out % CB == 0 && ow.div_ceil(L) == V
}

/// Row stride of the input planes: the last lane group of a row reads up to
/// column (V L - 1) + (k - 1).
fn stride(c: &Conv2d) -> usize {
    (V * L + c.k - 1).max(c.input.w)
}

fn plane_len(c: &Conv2d) -> usize {
    c.input.h * stride(c)
}

fn xp_len(c: &Conv2d) -> usize {
    c.input.c * plane_len(c)
}

fn dyp_len(c: &Conv2d) -> usize {
    c.c_out * c.output().h * V * L
}

/// Floats of scratch the direct path needs (input planes and dY planes of one image).
pub fn scratch_len(c: &Conv2d) -> usize {
    xp_len(c) + dyp_len(c)
}

/// xp[ci][iy][ix] = x[iy, ix, ci] for one NHWC image (one pass over x);
/// columns past the image are 0. RGB input (c_in = 3, conv1) has its own
/// copy loop with the channel count known to the compiler.
fn to_planes(c: &Conv2d, x: &[f32], xp: &mut [f32]) {
    match c.input.c {
        3 => to_planes_c::<3>(c, x, xp),
        _ => to_planes_c::<0>(c, x, xp),
    }
}

/// `to_planes` for C channels (0: read from `c.input.c`).
#[inline(always)]
fn to_planes_c<const C: usize>(c: &Conv2d, x: &[f32], xp: &mut [f32]) {
    let (i, s) = (c.input, stride(c));
    let cin = if C > 0 { C } else { i.c };
    debug_assert_eq!(cin, i.c);
    let xp = &mut xp[..xp_len(c)];
    for (iy, line) in x[..i.len()].chunks_exact(i.w * cin).enumerate() {
        for (ci, plane) in xp.chunks_exact_mut(plane_len(c)).enumerate() {
            let row = &mut plane[iy * s..(iy + 1) * s];
            for (d, px) in row[..i.w].iter_mut().zip(line.chunks_exact(cin)) {
                *d = px[ci];
            }
            row[i.w..].fill(0.0);
        }
    }
}

/// dyp[co][oy][ox] = dy[oy, ox, co] for one image; lanes ox >= OW are 0.
fn dy_to_planes(c: &Conv2d, dy: &[f32], dyp: &mut [f32]) {
    let o = c.output();
    let dyp = &mut dyp[..dyp_len(c)];
    for (co, plane) in dyp.chunks_exact_mut(o.h * V * L).enumerate() {
        for (oy, row) in plane.chunks_exact_mut(V * L).enumerate() {
            let line = &dy[oy * o.w * o.c..(oy + 1) * o.w * o.c];
            for (d, px) in row[..o.w].iter_mut().zip(line.chunks_exact(o.c)) {
                *d = px[co];
            }
            row[o.w..].fill(0.0);
        }
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
    forward_with(Isa::detect(), c, (w, bias), x, batch, scratch, y)
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
    backward_params_with(Isa::detect(), c, x, dy, batch, scratch, (dw, db))
}

fn forward_with(
    isa: Isa,
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
    for b in 0..batch {
        let xp = &mut scratch[..xp_len(c)];
        to_planes(c, &x[b * i.len()..(b + 1) * i.len()], xp);
        let yb = &mut y[b * o.len()..(b + 1) * o.len()];
        match isa {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::Avx2` is chosen only when the CPU reports avx2 and fma;
            // the buffer lengths were asserted above.
            Isa::Avx2 => unsafe { avx2::forward_image(c, (w, bias), xp, yb) },
            // SAFETY: as above (lengths).
            Isa::Plain => unsafe { forward_image::<Plain<f32, L>>(c, (w, bias), xp, yb) },
        }
    }
}

fn backward_params_with(
    isa: Isa,
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
        to_planes(c, &x[b * i.len()..(b + 1) * i.len()], xp);
        dy_to_planes(c, &dy[b * o.len()..(b + 1) * o.len()], dyp);
        match isa {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as in `forward_with`.
            Isa::Avx2 => unsafe { avx2::params_image(c, xp, dyp, (dw, db)) },
            // SAFETY: lengths asserted above.
            Isa::Plain => unsafe { params_image::<Plain<f32, L>>(c, xp, dyp, (dw, db)) },
        }
    }
}

/// One image: yb[oy, ox, co] = bias[co] + sum_{ci,ky,kx} w[co,ky,kx,ci] xp[ci][oy+ky][ox+kx].
///
/// # Safety
/// `xp` must hold `xp_len(c)` floats, `w` `c.weight_len()`, `yb` one output image;
/// every load stays inside its input plane because `stride >= V L + k - 1`.
#[inline(always)]
unsafe fn forward_image<T: Lanes<Elem = f32>>(
    c: &Conv2d,
    (w, bias): (&[f32], &[f32]),
    xp: &[f32],
    yb: &mut [f32],
) {
    let (o, s, kk, cin) = (c.output(), stride(c), c.patch_len(), c.input.c);
    debug_assert!(xp.len() >= xp_len(c) && w.len() >= c.weight_len());
    let mut row_out = [[0.0f32; L]; V];
    for oy in 0..o.h {
        for c0 in (0..c.c_out).step_by(CB) {
            let mut acc = [[T::zero(); V]; CB];
            for (b, a) in acc.iter_mut().enumerate() {
                *a = [T::splat(bias[c0 + b]); V];
            }
            for ci in 0..cin {
                for ky in 0..K {
                    let line = xp.as_ptr().add(ci * plane_len(c) + (oy + ky) * s);
                    for kx in 0..K {
                        let mut xv = [T::zero(); V];
                        for (v, x) in xv.iter_mut().enumerate() {
                            *x = T::load(line.add(kx + v * L));
                        }
                        for (b, a) in acc.iter_mut().enumerate() {
                            let wv = T::splat(w[(c0 + b) * kk + (ky * K + kx) * cin + ci]);
                            for (a, x) in a.iter_mut().zip(&xv) {
                                *a = T::fma(wv, *x, *a);
                            }
                        }
                    }
                }
            }
            for (b, a) in acc.iter().enumerate() {
                for (r, v) in row_out.iter_mut().zip(a) {
                    v.store(r.as_mut_ptr());
                }
                let flat = row_out.as_flattened();
                for (ox, &v) in flat[..o.w].iter().enumerate() {
                    yb[(oy * o.w + ox) * o.c + c0 + b] = v;
                }
            }
        }
    }
}

/// One image: dw[co,ky,kx,ci] += sum_{oy,ox} dyp[co][oy][ox] xp[ci][oy+ky][ox+kx]
/// and db[co] += sum_{oy,ox} dyp[co][oy][ox] (summed in the ci = ky = 0 pass).
///
/// # Safety
/// `xp` must hold `xp_len(c)` floats and `dyp` `dyp_len(c)` (lanes past the
/// output width 0, so the columns past the image contribute nothing).
#[inline(always)]
unsafe fn params_image<T: Lanes<Elem = f32>>(
    c: &Conv2d,
    xp: &[f32],
    dyp: &[f32],
    (dw, db): (&mut [f32], &mut [f32]),
) {
    let (o, s, kk, cin) = (c.output(), stride(c), c.patch_len(), c.input.c);
    debug_assert!(xp.len() >= xp_len(c) && dyp.len() >= dyp_len(c));
    let drow = V * L;
    let mut lanes = [0.0f32; L];
    for c0 in (0..c.c_out).step_by(CB) {
        for ci in 0..cin {
            for ky in 0..K {
                let mut acc = [[T::zero(); K]; CB];
                let mut bias_acc = [T::zero(); CB];
                let with_bias = ci == 0 && ky == 0;
                for oy in 0..o.h {
                    let line = xp.as_ptr().add(ci * plane_len(c) + (oy + ky) * s);
                    for v in 0..V {
                        let mut d = [T::zero(); CB];
                        for (b, d) in d.iter_mut().enumerate() {
                            *d = T::load(dyp.as_ptr().add(((c0 + b) * o.h + oy) * drow + v * L));
                        }
                        if with_bias {
                            for (a, d) in bias_acc.iter_mut().zip(&d) {
                                *a = T::add(*a, *d);
                            }
                        }
                        for kx in 0..K {
                            let xr = T::load(line.add(kx + v * L));
                            for (a, d) in acc.iter_mut().zip(&d) {
                                a[kx] = T::fma(*d, xr, a[kx]);
                            }
                        }
                    }
                }
                for (b, a) in acc.iter().enumerate() {
                    for (kx, v) in a.iter().enumerate() {
                        v.store(lanes.as_mut_ptr());
                        dw[(c0 + b) * kk + (ky * K + kx) * cin + ci] += lanes.iter().sum::<f32>();
                    }
                }
                if with_bias {
                    for (b, v) in bias_acc.iter().enumerate() {
                        v.store(lanes.as_mut_ptr());
                        db[c0 + b] += lanes.iter().sum::<f32>();
                    }
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::Conv2d;
    use std::arch::x86_64::*;

    /// # Safety
    /// The CPU must support avx2 and fma; buffers as `forward_image`.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn forward_image(c: &Conv2d, wb: (&[f32], &[f32]), xp: &[f32], yb: &mut [f32]) {
        super::forward_image::<__m256>(c, wb, xp, yb)
    }

    /// # Safety
    /// The CPU must support avx2 and fma; buffers as `params_image`.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn params_image(
        c: &Conv2d,
        xp: &[f32],
        dyp: &[f32],
        grads: (&mut [f32], &mut [f32]),
    ) {
        super::params_image::<__m256>(c, xp, dyp, grads)
    }
}

/// Test hooks: run one path explicitly, so the tests compare the portable
/// and the AVX2 lanes bit for bit.
#[cfg(test)]
pub mod testing {
    use super::*;

    /// `forward` with the portable lanes.
    pub fn forward_plain(c: &Conv2d, wb: (&[f32], &[f32]), x: &[f32], batch: usize, y: &mut [f32]) {
        let mut scratch = vec![0.0; scratch_len(c)];
        forward_with(Isa::Plain, c, wb, x, batch, &mut scratch, y)
    }

    /// `backward_params` with the portable lanes.
    pub fn params_plain(
        c: &Conv2d,
        x: &[f32],
        dy: &[f32],
        batch: usize,
        grads: (&mut [f32], &mut [f32]),
    ) {
        let mut scratch = vec![0.0; scratch_len(c)];
        backward_params_with(Isa::Plain, c, x, dy, batch, &mut scratch, grads)
    }

    /// Whether the AVX2 path runs on this machine.
    pub fn avx2_available() -> bool {
        !matches!(Isa::detect(), Isa::Plain)
    }
}
