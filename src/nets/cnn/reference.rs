//! Naive f64 references for the CNN layers, written in PyTorch's layouts
//! (activations NCHW, conv weights [c_out, c_in, k, k], linear [out, in])
//! with plain loops straight from the definitions. Used only by tests: the
//! finite-difference checks validate these, and the fast f32 layers (NHWC,
//! im2col + gemm) are compared against them.

/// A dense NCHW batch.
#[derive(Clone, Debug, PartialEq)]
pub struct Nchw {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub data: Vec<f64>,
}

impl Nchw {
    pub fn zeros(n: usize, c: usize, h: usize, w: usize) -> Self {
        Nchw {
            n,
            c,
            h,
            w,
            data: vec![0.0; n * c * h * w],
        }
    }
    pub fn idx(&self, b: usize, ch: usize, y: usize, x: usize) -> usize {
        ((b * self.c + ch) * self.h + y) * self.w + x
    }
    pub fn at(&self, b: usize, ch: usize, y: usize, x: usize) -> f64 {
        self.data[self.idx(b, ch, y, x)]
    }
    /// The same values in NHWC order (the engine's layout), as f32.
    pub fn to_nhwc_f32(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.data.len());
        for b in 0..self.n {
            for y in 0..self.h {
                for x in 0..self.w {
                    for ch in 0..self.c {
                        out.push(self.at(b, ch, y, x) as f32);
                    }
                }
            }
        }
        out
    }
    /// Read an NHWC f32 buffer of this shape back into NCHW f64.
    pub fn from_nhwc_f32(n: usize, c: usize, h: usize, w: usize, v: &[f32]) -> Self {
        let mut t = Nchw::zeros(n, c, h, w);
        let mut k = 0;
        for b in 0..n {
            for y in 0..h {
                for x in 0..w {
                    for ch in 0..c {
                        let i = t.idx(b, ch, y, x);
                        t.data[i] = v[k] as f64;
                        k += 1;
                    }
                }
            }
        }
        t
    }
}

/// y[b,co,oy,ox] = bias[co] + sum_{ci,ky,kx} w[co,ci,ky,kx] x[b,ci,oy+ky-pad,ox+kx-pad].
pub fn conv2d(x: &Nchw, w: &[f64], bias: &[f64], c_out: usize, k: usize, pad: usize) -> Nchw {
    let (oh, ow) = (x.h + 2 * pad + 1 - k, x.w + 2 * pad + 1 - k);
    let mut y = Nchw::zeros(x.n, c_out, oh, ow);
    for b in 0..x.n {
        for co in 0..c_out {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut s = bias[co];
                    for ci in 0..x.c {
                        for ky in 0..k {
                            for kx in 0..k {
                                let (iy, ix) = (oy + ky, ox + kx);
                                if iy < pad || ix < pad || iy - pad >= x.h || ix - pad >= x.w {
                                    continue;
                                }
                                s += w[((co * x.c + ci) * k + ky) * k + kx]
                                    * x.at(b, ci, iy - pad, ix - pad);
                            }
                        }
                    }
                    let i = y.idx(b, co, oy, ox);
                    y.data[i] = s;
                }
            }
        }
    }
    y
}

/// Gradients of conv2d given dy: (dx, dw, db).
pub fn conv2d_backward(
    x: &Nchw,
    w: &[f64],
    dy: &Nchw,
    k: usize,
    pad: usize,
) -> (Nchw, Vec<f64>, Vec<f64>) {
    let c_out = dy.c;
    let mut dx = Nchw::zeros(x.n, x.c, x.h, x.w);
    let mut dw = vec![0.0; w.len()];
    let mut db = vec![0.0; c_out];
    for b in 0..x.n {
        #[allow(clippy::needless_range_loop)]
        for co in 0..c_out {
            for oy in 0..dy.h {
                for ox in 0..dy.w {
                    let g = dy.at(b, co, oy, ox);
                    db[co] += g;
                    for ci in 0..x.c {
                        for ky in 0..k {
                            for kx in 0..k {
                                let (iy, ix) = (oy + ky, ox + kx);
                                if iy < pad || ix < pad || iy - pad >= x.h || ix - pad >= x.w {
                                    continue;
                                }
                                let wi = ((co * x.c + ci) * k + ky) * k + kx;
                                let xi = x.idx(b, ci, iy - pad, ix - pad);
                                dw[wi] += g * x.data[xi];
                                dx.data[xi] += g * w[wi];
                            }
                        }
                    }
                }
            }
        }
    }
    (dx, dw, db)
}

/// 2x2 max-pooling with stride 2 (floor); a window holding NaN gives NaN.
pub fn maxpool2(x: &Nchw) -> Nchw {
    let mut y = Nchw::zeros(x.n, x.c, x.h / 2, x.w / 2);
    for b in 0..x.n {
        for ch in 0..x.c {
            for oy in 0..y.h {
                for ox in 0..y.w {
                    // The largest; the first NaN, if any (as PyTorch).
                    let mut m = f64::NEG_INFINITY;
                    for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                        let v = x.at(b, ch, 2 * oy + dy, 2 * ox + dx);
                        if !m.is_nan() && (v.is_nan() || v > m) {
                            m = v;
                        }
                    }
                    let i = y.idx(b, ch, oy, ox);
                    y.data[i] = m;
                }
            }
        }
    }
    y
}

/// dx: dy routed to the first maximal input of each window.
pub fn maxpool2_backward(x: &Nchw, dy: &Nchw) -> Nchw {
    let mut dx = Nchw::zeros(x.n, x.c, x.h, x.w);
    for b in 0..x.n {
        for ch in 0..x.c {
            for oy in 0..dy.h {
                for ox in 0..dy.w {
                    let mut best = (0, 0);
                    for (dy_, dx_) in [(0, 1), (1, 0), (1, 1)] {
                        if x.at(b, ch, 2 * oy + dy_, 2 * ox + dx_)
                            > x.at(b, ch, 2 * oy + best.0, 2 * ox + best.1)
                        {
                            best = (dy_, dx_);
                        }
                    }
                    let i = dx.idx(b, ch, 2 * oy + best.0, 2 * ox + best.1);
                    dx.data[i] = dy.at(b, ch, oy, ox);
                }
            }
        }
    }
    dx
}

/// max(x, 0), NaN passed through (as PyTorch).
pub fn relu(x: &[f64]) -> Vec<f64> {
    x.iter()
        .map(|&v| if v.is_nan() { v } else { v.max(0.0) })
        .collect()
}

pub fn relu_backward(x: &[f64], dy: &[f64]) -> Vec<f64> {
    x.iter()
        .zip(dy)
        .map(|(&v, &g)| if v > 0.0 { g } else { 0.0 })
        .collect()
}

/// y (n x out) = x (n x in) w^T + b, w [out, in].
pub fn linear(x: &[f64], n: usize, w: &[f64], b: &[f64]) -> Vec<f64> {
    let (outs, ins) = (b.len(), w.len() / b.len());
    let mut y = vec![0.0; n * outs];
    for r in 0..n {
        for o in 0..outs {
            y[r * outs + o] = b[o]
                + (0..ins)
                    .map(|i| x[r * ins + i] * w[o * ins + i])
                    .sum::<f64>();
        }
    }
    y
}

/// (dx, dw, db) of `linear`.
pub fn linear_backward(
    x: &[f64],
    n: usize,
    w: &[f64],
    dy: &[f64],
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let outs = dy.len() / n;
    let ins = w.len() / outs;
    let mut dx = vec![0.0; n * ins];
    let mut dw = vec![0.0; w.len()];
    let mut db = vec![0.0; outs];
    for r in 0..n {
        for o in 0..outs {
            let g = dy[r * outs + o];
            db[o] += g;
            for i in 0..ins {
                dw[o * ins + i] += g * x[r * ins + i];
                dx[r * ins + i] += g * w[o * ins + i];
            }
        }
    }
    (dx, dw, db)
}

/// Mean cross-entropy of softmax(logits) against labels.
pub fn cross_entropy(logits: &[f64], labels: &[u8]) -> f64 {
    let classes = logits.len() / labels.len();
    let mut total = 0.0;
    for (r, &y) in labels.iter().enumerate() {
        let z = &logits[r * classes..(r + 1) * classes];
        let lse = z.iter().map(|v| v.exp()).sum::<f64>().ln();
        total += lse - z[y as usize];
    }
    total / labels.len() as f64
}

/// d(mean cross-entropy)/d logits = (softmax - onehot) / n.
pub fn cross_entropy_backward(logits: &[f64], labels: &[u8]) -> Vec<f64> {
    let classes = logits.len() / labels.len();
    let n = labels.len() as f64;
    let mut d = vec![0.0; logits.len()];
    for (r, &y) in labels.iter().enumerate() {
        let z = &logits[r * classes..(r + 1) * classes];
        let s: f64 = z.iter().map(|v| v.exp()).sum();
        for j in 0..classes {
            d[r * classes + j] = (z[j].exp() / s - if j == y as usize { 1.0 } else { 0.0 }) / n;
        }
    }
    d
}
