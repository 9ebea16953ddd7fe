//! The CPU-speed issue's other peer: a hand-written const-generic net with plain loops, what a
//! user writes without a library, with `f32::tanh` (libm) or a rational tanh. Built for the
//! process's baseline target like everything else (no `target-cpu=native`).

use instinct::Model;

/// One dense layer, the format's `[out][in]` weights.
pub struct Layer<const I: usize, const O: usize> {
    w: [[f32; I]; O],
    b: [f32; O],
}

impl<const I: usize, const O: usize> Layer<I, O> {
    /// Weight slot `slot` of `model`.
    ///
    /// # Panics
    /// When the slot is not `O × I`.
    pub fn from_slot(model: &Model, slot: usize) -> Layer<I, O> {
        let info = model.info();
        let mut layer = Layer {
            w: [[0.0; I]; O],
            b: [0.0; O],
        };
        for (o, row) in info.weights[slot].iter().enumerate() {
            layer.w[o].copy_from_slice(row);
        }
        layer.b.copy_from_slice(&info.bias[slot]);
        layer
    }

    /// `act(W·x + b)`, written with indices as such code usually is.
    #[allow(clippy::needless_range_loop)]
    #[inline(always)]
    pub fn forward(&self, x: &[f32; I], act: impl Fn(f32) -> f32) -> [f32; O] {
        let mut y = [0.0f32; O];
        for o in 0..O {
            let mut s = self.b[o];
            for i in 0..I {
                s += self.w[o][i] * x[i];
            }
            y[o] = act(s);
        }
        y
    }
}

/// `tanh` as a rational function of odd degree 13 over even degree 6 (Eigen's float
/// approximation): no `exp`, a few ulp.
#[allow(clippy::excessive_precision)]
#[inline(always)]
pub fn rational_tanh(x: f32) -> f32 {
    let x = x.clamp(-7.905_311, 7.905_311);
    let s = x * x;
    let p = -2.760_768_477_423_55e-16_f32;
    let p = p * s + 2.000_187_904_824_77e-13;
    let p = p * s - 8.604_671_522_137_35e-11;
    let p = p * s + 5.122_297_090_371_14e-8;
    let p = p * s + 1.485_722_357_179_79e-5;
    let p = p * s + 6.372_619_288_754_36e-4;
    let p = p * s + 4.893_524_558_917_86e-3;
    let q = 1.198_258_394_667_02e-6_f32;
    let q = q * s + 1.185_347_056_866_54e-4;
    let q = q * s + 2.268_434_632_439_00e-3;
    let q = q * s + 4.893_525_185_543_85e-3;
    x * p / q
}
