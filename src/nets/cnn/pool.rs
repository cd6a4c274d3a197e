//! 2 x 2 max-pooling, stride 2, on NHWC images: the window-at-a-time
//! reference (`max_pool_windows_forward` / `_backward`) and the passes the
//! model runs (`max_pool_forward` / `_backward`), which do the same
//! comparisons in fixed groups of 16 channels and give the same bits.
//!
//! Why two versions: a window's four inputs are `c` floats apart, so the
//! window loop's innermost run is one pixel's `c` channels. After conv1 that
//! is 6 floats, which an AVX-512 loop covers with a 4-lane part and two
//! scalar, branchy leftovers (profile: 6% of a batch-128 training step).
//! Cost of either, on an h x w x c input: h w c / 4 outputs per image, 3
//! comparisons each, 3 h w c / 4 in all.
//!
//! The model's ReLU before each pool runs inside the pool
//! (`max_pool_relu_forward`): max(relu(a), relu(b), ...) = relu(max(a, b,
//! ...)), so the pass takes the maximum of the raw inputs and applies ReLU
//! to the one winner, and a window whose maximum is not positive routes no
//! gradient (winner `RELU_OFF`). The same bits as ReLU then pooling, values
//! and input gradients (tested), without the ReLU passes over the 4x larger
//! input (6% of a batch-128 step with both passes apart).

use super::layers::{relu, Shape};
use crate::nets::isa::per_isa;

/// 2 x 2 max-pooling, stride 2 (PyTorch MaxPool2d(2, 2): odd trailing rows
/// and columns are dropped). Records which of the four inputs won (0..3,
/// first maximum in row-major order wins ties) for the backward pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxPool2 {
    pub input: Shape,
}

impl MaxPool2 {
    pub fn output(&self) -> Shape {
        Shape::new(self.input.h / 2, self.input.w / 2, self.input.c)
    }

    pub fn forward(&self, x: &[f32], batch: usize, y: &mut [f32], argmax: &mut [u8]) {
        max_pool_forward(self, x, batch, y, argmax)
    }

    /// y = maxpool(relu(x)), formed as relu(maxpool(x)); a window whose
    /// maximum is not positive records the winner `RELU_OFF`, so `backward`
    /// gives the gradient of both layers: dx = dy at the winner where y > 0.
    pub fn forward_relu(&self, x: &[f32], batch: usize, y: &mut [f32], argmax: &mut [u8]) {
        max_pool_relu_forward(self, x, batch, y, argmax)
    }

    /// dx = 0 except dx[winner] = dy (none where the winner is `RELU_OFF`).
    pub fn backward(&self, dy: &[f32], argmax: &[u8], batch: usize, dx: &mut [f32]) {
        max_pool_backward(self, dy, argmax, batch, dx)
    }
}

/// Whether `v` displaces the running maximum `m`: it is larger, or it is the
/// first NaN (a NaN beats every number and the first NaN stays, as in
/// PyTorch, so a diverged net shows in its loss).
#[inline(always)]
fn displaces(v: f32, m: f32) -> bool {
    v > m || (v.is_nan() && !m.is_nan())
}

per_isa! {
    /// `MaxPool2::forward`, one window at a time: the reference for
    /// `max_pool_forward`. Each window's winner is its first maximum in the
    /// order top-left (0), top-right (1), bottom-left (2), bottom-right (3).
    pub fn max_pool_windows_forward / max_pool_windows_forward_on(
        pool: &MaxPool2,
        x: &[f32],
        batch: usize,
        y: &mut [f32],
        argmax: &mut [u8],
    ) {
        windows_forward(pool, x, batch, y, argmax)
    }
}

per_isa! {
    /// `MaxPool2::backward`, one window at a time: the reference for
    /// `max_pool_backward`.
    pub fn max_pool_windows_backward / max_pool_windows_backward_on(
        pool: &MaxPool2,
        dy: &[f32],
        argmax: &[u8],
        batch: usize,
        dx: &mut [f32],
    ) {
        windows_backward(pool, dy, argmax, batch, dx)
    }
}

/// One output row of `max_pool_windows_forward`: the windows over input
/// lines `top` and `bottom` (each at least 2 `y_row.len()` floats).
#[inline(always)]
fn window_row_forward(
    c: usize,
    top: &[f32],
    bottom: &[f32],
    y_row: &mut [f32],
    arg_row: &mut [u8],
) {
    let pixels = y_row.chunks_exact_mut(c).zip(arg_row.chunks_exact_mut(c));
    for (ox, (y_px, arg_px)) in pixels.enumerate() {
        let (t, u) = top[2 * ox * c..][..2 * c].split_at(c);
        let (v, w) = bottom[2 * ox * c..][..2 * c].split_at(c);
        let window = t.iter().zip(u).zip(v).zip(w);
        for ((((&v0, &v1), &v2), &v3), (m, best)) in window.zip(y_px.iter_mut().zip(arg_px)) {
            (*m, *best) = first_maximum(v0, v1, v2, v3);
        }
    }
}

/// The winner code of a window that `max_pool_relu_forward` pooled to a
/// value that is not positive (0, or NaN): ReLU's gradient is 0 there
/// (`relu_backward`), so no input of the window gets dy.
pub const RELU_OFF: u8 = 4;

/// ReLU applied to a window's first maximum `m` won by input `q`.
#[inline(always)]
fn relu_of_maximum(m: f32, q: u8) -> (f32, u8) {
    if m > 0.0 {
        (m, q)
    } else {
        (relu(m), RELU_OFF)
    }
}

/// The first maximum of a window in the order v0, v1, v2, v3 and its index.
#[inline(always)]
fn first_maximum(v0: f32, v1: f32, v2: f32, v3: f32) -> (f32, u8) {
    let (mut mv, mut q) = (v0, 0u8);
    (mv, q) = if displaces(v1, mv) { (v1, 1) } else { (mv, q) };
    (mv, q) = if displaces(v2, mv) { (v2, 2) } else { (mv, q) };
    if displaces(v3, mv) {
        (v3, 3)
    } else {
        (mv, q)
    }
}

/// One output row of `max_pool_windows_backward`: zeroes the two input
/// lines, then routes each window's dy to its winner (if any: `RELU_OFF`).
#[inline(always)]
fn window_row_backward(
    c: usize,
    dy_row: &[f32],
    arg_row: &[u8],
    top: &mut [f32],
    bottom: &mut [f32],
) {
    top.fill(0.0);
    bottom.fill(0.0);
    let pixels = dy_row.chunks_exact(c).zip(arg_row.chunks_exact(c));
    for (ox, (dy_px, arg_px)) in pixels.enumerate() {
        for (ch, (&g, &q)) in dy_px.iter().zip(arg_px).enumerate() {
            if q == RELU_OFF {
                continue;
            }
            let line = if q < 2 { &mut *top } else { &mut *bottom };
            line[(2 * ox + usize::from(q % 2)) * c + ch] = g;
        }
    }
}

#[inline(always)]
fn windows_forward(pool: &MaxPool2, x: &[f32], batch: usize, y: &mut [f32], argmax: &mut [u8]) {
    let (i, o) = (pool.input, pool.output());
    if o.is_empty() {
        return;
    }
    let line = i.w * i.c;
    let outputs = y[..batch * o.len()].chunks_exact_mut(o.w * o.c);
    let winners = argmax[..batch * o.len()].chunks_exact_mut(o.w * o.c);
    for (r, (y_row, arg_row)) in outputs.zip(winners).enumerate() {
        let top = (r / o.h) * i.len() + 2 * (r % o.h) * line;
        window_row_forward(
            i.c,
            &x[top..][..line],
            &x[top + line..][..line],
            y_row,
            arg_row,
        );
    }
}

#[inline(always)]
fn windows_backward(pool: &MaxPool2, dy: &[f32], argmax: &[u8], batch: usize, dx: &mut [f32]) {
    let (i, o) = (pool.input, pool.output());
    let line = i.w * i.c;
    for (b, img) in dx[..batch * i.len()].chunks_exact_mut(i.len()).enumerate() {
        let (pairs_of_lines, odd_last_line) = img.split_at_mut(2 * o.h * line);
        odd_last_line.fill(0.0);
        for (oy, lines) in pairs_of_lines.chunks_exact_mut(2 * line).enumerate() {
            let (top, bottom) = lines.split_at_mut(line);
            let out = (b * o.h + oy) * o.w * o.c;
            let row = out..out + o.w * o.c;
            window_row_backward(i.c, &dy[row.clone()], &argmax[row], top, bottom);
        }
    }
}

/// The width of the fast passes' fixed-size lane groups (one AVX-512
/// register of f32).
const LANES: usize = 16;

/// `LANES` values of `v` from `at` (the caller keeps `at + LANES` in bounds).
#[inline(always)]
fn group<T: Copy>(v: &[T], at: usize) -> [T; LANES] {
    v[at..at + LANES].try_into().expect("LANES values")
}

per_isa! {
    /// `MaxPool2::forward` in fixed groups of 16 channels, which fill the
    /// SIMD lanes whatever c is (`groups_forward`).
    pub fn max_pool_forward / max_pool_forward_on(
        pool: &MaxPool2,
        x: &[f32],
        batch: usize,
        y: &mut [f32],
        argmax: &mut [u8],
    ) {
        groups_forward::<false>(pool, x, batch, y, argmax)
    }
}

per_isa! {
    /// `MaxPool2::forward_relu`: `max_pool_forward` with ReLU applied to
    /// each window's winner (`groups_forward`).
    pub fn max_pool_relu_forward / max_pool_relu_forward_on(
        pool: &MaxPool2,
        x: &[f32],
        batch: usize,
        y: &mut [f32],
        argmax: &mut [u8],
    ) {
        groups_forward::<true>(pool, x, batch, y, argmax)
    }
}

/// Max-pooling in fixed groups of 16 channels, with ReLU on each window's
/// winner when `RELU`. A window's channels ch0..ch0+16 are compared at once,
/// as in the window loop (`first_maximum`, so the same bits), and stored as
/// 16 outputs from ch0: lanes past the pixel's c channels read the
/// neighbouring pixels' inputs and spill into the next outputs, which the
/// next group or pixel then overwrites with their own. A row whose reads or
/// writes would leave the batch's inputs or outputs takes the window loop
/// (the batch's last row or two).
#[inline(always)]
fn groups_forward<const RELU: bool>(
    pool: &MaxPool2,
    x: &[f32],
    batch: usize,
    y: &mut [f32],
    argmax: &mut [u8],
) {
    let (i, o) = (pool.input, pool.output());
    let c = i.c;
    if o.is_empty() {
        return;
    }
    let line = i.w * c;
    let (x, y, argmax) = (
        &x[..batch * i.len()],
        &mut y[..batch * o.len()],
        &mut argmax[..batch * o.len()],
    );
    for r in 0..batch * o.h {
        let top = (r / o.h) * i.len() + 2 * (r % o.h) * line;
        let bottom = top + line;
        let out = r * o.w * c;
        let fits = bottom + 2 * o.w * c + LANES <= x.len() && out + o.w * c + LANES <= y.len();
        if !fits {
            let (y_row, arg_row) = (&mut y[out..][..o.w * c], &mut argmax[out..][..o.w * c]);
            window_row_forward(c, &x[top..][..line], &x[bottom..][..line], y_row, arg_row);
            if RELU {
                for (m, q) in y_row.iter_mut().zip(arg_row) {
                    (*m, *q) = relu_of_maximum(*m, *q);
                }
            }
            continue;
        }
        for ox in 0..o.w {
            for ch0 in (0..c).step_by(LANES) {
                let left = 2 * ox * c + ch0;
                let (t, u) = (group(x, top + left), group(x, top + left + c));
                let (v, w) = (group(x, bottom + left), group(x, bottom + left + c));
                let (mut m, mut q) = ([0f32; LANES], [0u8; LANES]);
                for l in 0..LANES {
                    (m[l], q[l]) = first_maximum(t[l], u[l], v[l], w[l]);
                    if RELU {
                        (m[l], q[l]) = relu_of_maximum(m[l], q[l]);
                    }
                }
                let at = out + ox * c + ch0;
                y[at..at + LANES].copy_from_slice(&m);
                argmax[at..at + LANES].copy_from_slice(&q);
            }
        }
    }
}

per_isa! {
    /// `MaxPool2::backward` in the forward's groups of 16 channels: each
    /// window position (top-left, top-right, bottom-left, bottom-right) gets
    /// dy where it won and 0 elsewhere, 16 channels at a time, so every dx is
    /// written once (the window loop zeroes dx, then scatters). Stores go in
    /// increasing address order within each input line, so a group's spill
    /// past its c channels is overwritten by the next group, position or pixel,
    /// or by the lines' trailing zeros (odd widths and heights), written last.
    pub fn max_pool_backward / max_pool_backward_on(
        pool: &MaxPool2,
        dy: &[f32],
        argmax: &[u8],
        batch: usize,
        dx: &mut [f32],
    ) {
        let (i, o) = (pool.input, pool.output());
        let c = i.c;
        let line = i.w * c;
        let used = 2 * o.w * c;
        let (dy, argmax) = (&dy[..batch * o.len()], &argmax[..batch * o.len()]);
        let dx = &mut dx[..batch * i.len()];
        for b in 0..batch {
            for oy in 0..o.h {
                let top = b * i.len() + 2 * oy * line;
                let out = (b * o.h + oy) * o.w * c;
                let fits = top + line + used + LANES <= dx.len() && out + o.w * c + LANES <= dy.len();
                if !fits {
                    let (top_line, bottom_line) = dx[top..top + 2 * line].split_at_mut(line);
                    let row = out..out + o.w * c;
                    window_row_backward(c, &dy[row.clone()], &argmax[row], top_line, bottom_line);
                    continue;
                }
                for (start, rows) in [(top, [0u8, 1]), (top + line, [2, 3])] {
                    for ox in 0..o.w {
                        for (side, winner) in rows.into_iter().enumerate() {
                            for ch0 in (0..c).step_by(LANES) {
                                let (g, q) = (group(dy, out + ox * c + ch0), group(argmax, out + ox * c + ch0));
                                let mut d = [0f32; LANES];
                                for l in 0..LANES {
                                    d[l] = if q[l] == winner { g[l] } else { 0.0 };
                                }
                                let at = start + (2 * ox + side) * c + ch0;
                                dx[at..at + LANES].copy_from_slice(&d);
                            }
                        }
                    }
                    dx[start + used..start + line].fill(0.0);
                }
            }
            dx[b * i.len() + 2 * o.h * line..(b + 1) * i.len()].fill(0.0);
        }
    }
}
