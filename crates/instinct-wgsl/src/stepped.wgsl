// instinct's stepped engine: a model run one step at a time, each step one dispatch over every
// sample of the batch (and, for most steps, every element), the compute buffers of all samples
// side by side in a storage buffer, each followed by its scratch values (the partial results a
// chunk leaves to the next). The host plans the steps (stepped.rs); no invocation loops
// more than STEP_ITERATIONS times, so any model that fits the compute buffer stays inside Mesa's
// loop budget, and the shader is the same for every model (compiled once).

struct Step {
    op: u32,
    activation: u32,
    a: u32,
    b: u32,
    width: u32,
    first: u32,
    count: u32,
    p0: u32,
    p1: u32,
    p2: u32,
    flags: u32,
    model: u32,
    parameter0: u32,
    parameter1: u32,
    pad0: u32,
    pad1: u32,
}

struct Run {
    samples: u32,
    stride: u32,
    scratch_at: u32,
    pad: u32,
}

@group(0) @binding(0) var<storage, read> model_data: array<f32>;
@group(0) @binding(1) var<storage, read> inputs: array<f32>;
@group(0) @binding(2) var<storage, read_write> outputs: array<f32>;
@group(0) @binding(3) var<uniform> step: Step;
@group(0) @binding(4) var<storage, read_write> values: array<f32>;
@group(0) @binding(5) var<uniform> run: Run;

const OP_DOT: u32 = 1u;
const OP_ACTIVATION: u32 = 2u;
const OP_ADD: u32 = 3u;
const OP_MUL: u32 = 4u;
const OP_COPY: u32 = 5u;
const OP_COPY_MASKED: u32 = 6u;
const OP_CLIP: u32 = 7u;
const OP_ADD_BUFFERS: u32 = 8u;
const OP_MUL_BUFFERS: u32 = 9u;
const OP_MUL_HEADS: u32 = 10u;
const OP_ADD_HEADS: u32 = 11u;
const OP_REDUCE_SUM: u32 = 12u;
const OP_MAP_TRANSFORM: u32 = 13u;
const OP_ATTENTION: u32 = 14u;
const OP_SOFTMAX_MAX: u32 = 101u;
const OP_SOFTMAX_SUM: u32 = 102u;
const OP_SOFTMAX_SCALE: u32 = 103u;

// Flags of a step that is one chunk of a longer fold: start from the value a previous chunk left
// in scratch, and leave the result in scratch instead of the compute buffer.
const FROM_SCRATCH: u32 = 1u;
const TO_SCRATCH: u32 = 2u;

// The (sample, element) of an invocation of a step of `step.width` invocations per sample; the
// sample is `run.samples` for an invocation past the last one.
fn lane(id: vec3<u32>, groups: vec3<u32>) -> vec2<u32> {
    let g = flat_index(id, groups);
    if g >= run.samples * step.width {
        return vec2<u32>(run.samples, 0u);
    }
    return vec2<u32>(g / step.width, g % step.width);
}

// The parameters of the step's activation (the extensions that take them).
fn step_parameters() -> vec2<f32> {
    return vec2<f32>(bitcast<f32>(step.parameter0), bitcast<f32>(step.parameter1));
}

fn word(at: u32) -> u32 {
    return bitcast<u32>(model_data[step.model + at]);
}

// Features of each sample into its compute buffer (one invocation per sample and feature).
@compute @workgroup_size(WORKGROUP)
fn load_inputs(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let l = lane(id, groups);
    if l.x >= run.samples {
        return;
    }
    let s = l.x;
    let i = l.y;
    values[s * run.stride + i] = inputs[s * step.width + i];
}

// The output of each sample out of its compute buffer (one invocation per sample and value).
@compute @workgroup_size(WORKGROUP)
fn store_outputs(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let l = lane(id, groups);
    if l.x >= run.samples {
        return;
    }
    let s = l.x;
    let i = l.y;
    outputs[s * step.width + i] = values[s * run.stride + step.a + i];
}

// One output of a DOT (or of ATTENTION's scores) per invocation: W[row]·x + b[row], then the
// activation (softmax runs as three later steps). p0: the weights' position in the model; p1:
// inputs; p2: outputs. Eight products per iteration: at most 8,193 iterations.
@compute @workgroup_size(WORKGROUP)
fn dot_rows(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let l = lane(id, groups);
    if l.x >= run.samples {
        return;
    }
    let s = l.x;
    let row = l.y;
    let n = step.p1;
    let w = step.model + step.p0 + row * n;
    let bias = model_data[step.model + step.p0 + step.p2 * n + row];
    values[s * run.stride + step.b + row] = apply_activation_single(dot_values(w, s * run.stride + step.a, n) + bias, step.activation, step_parameters());
}

// One element per invocation, for every instruction whose element i reads only element i of its
// operands (or positions no invocation of the step writes).
@compute @workgroup_size(WORKGROUP)
fn elementwise(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let l = lane(id, groups);
    if l.x >= run.samples {
        return;
    }
    let s = l.x;
    let i = l.y;
    let base = s * run.stride;
    let a = base + step.a + i;
    let b = base + step.b + i;
    let acc_at = base + run.scratch_at;
    switch step.op {
        case OP_ACTIVATION: {
            values[a] = apply_activation_single(values[a], step.activation, step_parameters());
        }
        case OP_ADD: {
            values[a] = values[a] + model_data[step.model + step.p0 + i];
        }
        case OP_MUL: {
            values[a] = values[a] * model_data[step.model + step.p0 + i];
        }
        case OP_COPY: {
            values[b] = values[a];
        }
        case OP_COPY_MASKED: {
            values[b] = values[base + word(step.p0 + i)];
        }
        case OP_CLIP: {
            var v = values[a];
            if step.p1 != CLIP_BOUND_NONE {
                v = max(v, model_data[step.model + step.p0 + step.p1 + i]);
            }
            if step.p2 != CLIP_BOUND_NONE {
                v = min(v, model_data[step.model + step.p0 + step.p2 + i]);
            }
            values[a] = v;
        }
        case OP_ADD_BUFFERS, OP_MUL_BUFFERS: {
            // Inputs first .. first + count of the list at p0, folded left.
            let multiply = step.op == OP_MUL_BUFFERS;
            var j = step.first;
            var acc: f32;
            if (step.flags & FROM_SCRATCH) != 0u {
                acc = values[acc_at + i];
            } else {
                acc = values[base + word(step.p0 + j) + i];
                j = j + 1u;
            }
            let end = step.first + step.count;
            for (; j < end; j = j + 1u) {
                let v = values[base + word(step.p0 + j) + i];
                acc = select(acc + v, acc * v, multiply);
            }
            if (step.flags & TO_SCRATCH) != 0u {
                values[acc_at + i] = acc;
            } else {
                values[b] = acc;
            }
        }
        case OP_MUL_HEADS, OP_ADD_HEADS: {
            // p0: the heads' position; p1: the number of heads.
            let h = values[base + step.p0 + i / (step.width / step.p1)];
            let x = values[a];
            values[b] = select(x + h, x * h, step.op == OP_MUL_HEADS);
        }
        case OP_MAP_TRANSFORM: {
            // The values' position, relative to p0, found by the lookup step (two 16-bit
            // halves, each exact as a float; f32 bits of a small integer are subnormal, which
            // some GPUs flush to zero).
            let found = u32(values[acc_at]) | (u32(values[acc_at + 1u]) << 16u);
            values[b] = model_data[step.model + step.p0 + found + i];
        }
        case OP_ATTENTION: {
            values[b] = values[b] * values[a];
        }
        case OP_SOFTMAX_SCALE: {
            let m = values[acc_at];
            let total = values[acc_at + 1u];
            if step.activation == ACTIVATION_LOG_SOFTMAX {
                values[a] = (values[a] - m) - log(total);
            } else {
                values[a] = exp(values[a] - m) / total;
            }
        }
        default: {}
    }
}

// One invocation per sample, for what must run in order: elements first .. first + count of a
// fold, or a gather that reads what it writes.
@compute @workgroup_size(WORKGROUP)
fn per_sample(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let s = flat_index(id, groups);
    if s >= run.samples {
        return;
    }
    let base = s * run.stride;
    let acc_at = base + run.scratch_at;
    let end = step.first + step.count;
    switch step.op {
        case OP_COPY_MASKED: {
            for (var i: u32 = step.first; i < end; i = i + 1u) {
                values[base + step.b + i] = values[base + word(step.p0 + i)];
            }
        }
        case OP_REDUCE_SUM: {
            var acc: f32 = 0.0;
            if (step.flags & FROM_SCRATCH) != 0u {
                acc = values[acc_at];
            }
            for (var i: u32 = step.first; i < end; i = i + 1u) {
                acc = acc + values[base + step.a + i];
            }
            if (step.flags & TO_SCRATCH) != 0u {
                values[acc_at] = acc;
            } else {
                values[base + step.b] = acc;
            }
        }
        case OP_SOFTMAX_MAX: {
            var m = values[base + step.a + step.first];
            if (step.flags & FROM_SCRATCH) != 0u {
                m = values[acc_at];
            }
            for (var i: u32 = step.first; i < end; i = i + 1u) {
                m = max(m, values[base + step.a + i]);
            }
            values[acc_at] = m;
        }
        case OP_SOFTMAX_SUM: {
            let m = values[acc_at];
            var acc: f32 = 0.0;
            if (step.flags & FROM_SCRATCH) != 0u {
                acc = values[acc_at + 1u];
            }
            for (var i: u32 = step.first; i < end; i = i + 1u) {
                acc = acc + exp(values[base + step.a + i] - m);
            }
            values[acc_at + 1u] = acc;
        }
        case OP_MAP_TRANSFORM: {
            // p0: the parameters region; p1: the table's position in it; p2: its entries; b:
            // the default values' position in it. Leaves the values' position in scratch, as
            // two 16-bit halves.
            let key = map_key(values[base + step.a]);
            let table = step.p0 + step.p1;
            var lo: u32 = 0u;
            var hi: u32 = step.p2;
            while lo < hi {
                let mid = (lo + hi) / 2u;
                if bitcast<i32>(word(table + 2u * mid)) < key {
                    lo = mid + 1u;
                } else {
                    hi = mid;
                }
            }
            var found = step.b;
            if lo < step.p2 && bitcast<i32>(word(table + 2u * lo)) == key {
                found = word(table + 2u * lo + 1u);
            }
            values[acc_at] = f32(found & 0xffffu);
            values[acc_at + 1u] = f32(found >> 16u);
        }
        default: {}
    }
}
