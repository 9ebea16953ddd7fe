//! An f64 reference interpreter, written straight from the format's definition and sharing no
//! code with the executors, to check them against.

use instinct_format::{Activation, Instruction};
use instinct_validate::ValidModel;
use std::collections::HashMap;

/// Runs one sample through `model` in f64 arithmetic and returns the output buffer.
///
/// The memory starts zeroed, the input fills its first values, instructions run in order. Every
/// formula is the format's, evaluated in f64 (GELU with the exact `erf`). Buffers hold f32
/// values in the format, so each instruction's results are rounded to f32 as they are stored:
/// that keeps the f32 range (a value past `f32::MAX` becomes infinite, as it does in every f32
/// implementation) while the arithmetic inside an instruction is exact to f64.
pub fn run_f64(model: &ValidModel, input: &[f32]) -> Vec<f64> {
    let info = model.info();
    let layout = model.layout();
    let mut mem = vec![0.0f64; layout.total];
    for (m, &x) in mem.iter_mut().zip(input) {
        *m = x as f64;
    }
    let off = |b: usize| layout.offsets[b];
    let sz = |b: usize| layout.sizes[b];
    let maps: Vec<HashMap<i32, &[f32]>> = (0..info.maps().len())
        .map(|m| model.map_entries(m).into_iter().collect())
        .collect();
    for ins in &info.instructions {
        match ins {
            Instruction::Dot {
                input,
                output,
                weights,
                activation,
            } => {
                let y = affine(
                    &info.weights[*weights],
                    &info.bias[*weights],
                    &mem[off(*input)..][..sz(*input)],
                );
                mem[off(*output)..][..sz(*output)].copy_from_slice(&y);
                if let Some(a) = activation {
                    activate(*a, &mut mem[off(*output)..][..sz(*output)]);
                }
            }
            Instruction::Copy {
                input,
                output,
                internal_index,
            } => {
                for i in 0..sz(*input) {
                    mem[off(*output) + internal_index + i] = mem[off(*input) + i];
                }
            }
            Instruction::CopyMasked {
                input,
                output,
                indexes,
            } => {
                for (i, &j) in indexes.iter().enumerate() {
                    mem[off(*output) + i] = mem[off(*input) + j];
                }
            }
            Instruction::Activation { input, activation } => {
                activate(*activation, &mut mem[off(*input)..][..sz(*input)]);
            }
            Instruction::AddElementwise { input, parameters } => {
                for (i, p) in info.parameters()[*parameters].iter().enumerate() {
                    mem[off(*input) + i] += *p as f64;
                }
            }
            Instruction::MulElementwise { input, parameters } => {
                for (i, p) in info.parameters()[*parameters].iter().enumerate() {
                    mem[off(*input) + i] *= *p as f64;
                }
            }
            Instruction::ClipElementwise {
                input,
                parameters_min,
                parameters_max,
            } => {
                for i in 0..sz(*input) {
                    let x = &mut mem[off(*input) + i];
                    if let Some(p) = parameters_min {
                        *x = x.max(info.parameters()[*p][i] as f64);
                    }
                    if let Some(p) = parameters_max {
                        *x = x.min(info.parameters()[*p][i] as f64);
                    }
                }
            }
            Instruction::MapTransform {
                input,
                output,
                internal_input_index,
                internal_output_index,
                map,
                size,
                default,
            } => {
                let x = mem[off(*input) + internal_input_index];
                // Round half away from zero, then saturate to i32 (NaN becomes 0).
                let key = x.round() as i32;
                let values = maps[*map].get(&key).copied().unwrap_or(default);
                for i in 0..*size {
                    mem[off(*output) + internal_output_index + i] = values[i] as f64;
                }
            }
            Instruction::AddElementwiseBuffers { input, output }
            | Instruction::MultiplyElementwiseBuffers { input, output } => {
                let add = matches!(ins, Instruction::AddElementwiseBuffers { .. });
                for i in 0..sz(*output) {
                    let mut acc = mem[off(input[0]) + i];
                    for &b in &input[1..] {
                        let x = mem[off(b) + i];
                        acc = if add { acc + x } else { acc * x };
                    }
                    mem[off(*output) + i] = acc;
                }
            }
            Instruction::MultiplyBufferHeads { input, output }
            | Instruction::AddBufferHeads { input, output } => {
                let add = matches!(ins, Instruction::AddBufferHeads { .. });
                let (data, heads) = (input[0], input[1]);
                let dim = sz(data) / sz(heads);
                for i in 0..sz(data) {
                    let (x, h) = (mem[off(data) + i], mem[off(heads) + i / dim]);
                    mem[off(*output) + i] = if add { x + h } else { x * h };
                }
            }
            Instruction::ReduceSum { input, output } => {
                mem[off(*output)] = mem[off(*input)..][..sz(*input)].iter().sum();
            }
            Instruction::Attention {
                input,
                key,
                output,
                weights,
            } => {
                let mut y = affine(
                    &info.weights[*weights],
                    &info.bias[*weights],
                    &mem[off(*key)..][..sz(*key)],
                );
                activate(Activation::Softmax, &mut y);
                for (i, v) in y.iter().enumerate() {
                    mem[off(*output) + i] = v * mem[off(*input) + i];
                }
            }
        }
        for m in mem.iter_mut() {
            *m = *m as f32 as f64;
        }
    }
    mem[layout.output_span()].to_vec()
}

fn affine(weights: &[Vec<f32>], bias: &[f32], x: &[f64]) -> Vec<f64> {
    weights
        .iter()
        .zip(bias)
        .map(|(row, b)| row.iter().zip(x).map(|(w, x)| *w as f64 * x).sum::<f64>() + *b as f64)
        .collect()
}

/// Applies an activation in f64, with the format's thresholds and edge cases.
pub fn activate(activation: Activation, xs: &mut [f64]) {
    if activation == Activation::Softmax {
        let max = xs.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x));
        let sum: f64 = xs.iter().map(|x| (x - max).exp()).sum();
        for x in xs.iter_mut() {
            *x = (*x - max).exp() / sum;
        }
        return;
    }
    if activation == Activation::LogSoftmax {
        let max = xs.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x));
        let log_sum = xs.iter().map(|x| (x - max).exp()).sum::<f64>().ln();
        for x in xs.iter_mut() {
            *x = *x - max - log_sum;
        }
        return;
    }
    for x in xs.iter_mut() {
        *x = activate_one(activation, *x);
    }
}

fn activate_one(activation: Activation, x: f64) -> f64 {
    match activation {
        Activation::Relu => x.max(0.0),
        Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
        Activation::Tanh => x.tanh(),
        Activation::Sqrt => {
            if x > 0.0 {
                x.sqrt()
            } else {
                0.0
            }
        }
        Activation::Log => {
            if x > 0.0 {
                x.ln_1p()
            } else {
                0.0
            }
        }
        Activation::Log10 => {
            if x > 0.0 {
                x.ln_1p() / std::f64::consts::LN_10
            } else {
                0.0
            }
        }
        Activation::Inverse => 1.0 - x,
        Activation::Gelu => 0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2)),
        Activation::Softplus => {
            let t = 13.9424f32 as f64;
            if x > t {
                x
            } else if x < -t {
                x.exp()
            } else {
                x.exp().ln_1p()
            }
        }
        Activation::Exp => x.clamp(-88.0, 88.0).exp(),
        Activation::Sign => {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                x
            }
        }
        Activation::LeakyRelu { alpha } => {
            if x < 0.0 {
                alpha as f64 * x
            } else {
                x
            }
        }
        Activation::Elu { alpha } => {
            if x < 0.0 {
                alpha as f64 * x.exp_m1()
            } else {
                x
            }
        }
        Activation::Selu { alpha, gamma } => {
            if x > 0.0 {
                gamma as f64 * x
            } else {
                gamma as f64 * alpha as f64 * x.exp_m1()
            }
        }
        Activation::HardSigmoid { alpha, beta } => (alpha as f64 * x + beta as f64).clamp(0.0, 1.0),
        Activation::Abs => x.abs(),
        Activation::Neg => -x,
        Activation::Ln => x.ln(),
        Activation::Erf => libm::erf(x),
        Activation::Softmax | Activation::LogSoftmax => {
            unreachable!("softmax and log-softmax are handled over the whole slice")
        }
    }
}
