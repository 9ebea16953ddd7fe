// instinct's dense layer over many rows, one dispatch per layer: y[r][o] = act(W_m[o]·values[r] + b_m[o])
// where row r belongs to model m = r / rows_per_model (one model when rows_per_model is 0). One
// invocation per (row, output): its only loop runs inputs / 8 times, far inside Mesa's loop
// budget for any layer. Softmax layers store the affine values, then `softmax_rows` normalises
// each row.

struct LayerParams {
    rows: u32,
    inputs: u32,
    outputs: u32,
    activation: u32,
    rows_per_model: u32,
    weights_at: u32,
    bias_at: u32,
    pad: u32,
}

@group(0) @binding(0) var<storage, read> model_data: array<f32>;
@group(0) @binding(1) var<storage, read> values: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> layer: LayerParams;

@compute @workgroup_size(WORKGROUP)
fn dense(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = flat_index(id, groups);
    if index >= layer.rows * layer.outputs {
        return;
    }
    let row = index / layer.outputs;
    let o = index % layer.outputs;
    let model = select(0u, row / max(layer.rows_per_model, 1u), layer.rows_per_model > 0u);
    let n = layer.inputs;
    let w = layer.weights_at + (model * layer.outputs + o) * n;
    let v = dot_values(w, row * n, n) + model_data[layer.bias_at + model * layer.outputs + o];
    y[row * layer.outputs + o] = apply_activation_single(v, layer.activation, vec2<f32>(0.0, 0.0));
}

// The same layer for one model (rows_per_model 0), tiled: a workgroup of 16 × 16 invocations
// computes 16 rows × 16 outputs, staging 16-wide slices of the rows and of the weights in
// workgroup memory so that each value read from storage serves 16 products. Dispatch
// (ceil(outputs / 16), ceil(rows / 16), 1) workgroups.
const TILE: u32 = 16u;
var<workgroup> x_tile: array<array<f32, 16>, 16>;
var<workgroup> w_tile: array<array<f32, 16>, 16>;

@compute @workgroup_size(16, 16)
fn dense_tiled(@builtin(local_invocation_id) local: vec3<u32>, @builtin(workgroup_id) group: vec3<u32>) {
    let o = group.x * TILE + local.x;
    let row = group.y * TILE + local.y;
    let n = layer.inputs;
    var s: f32 = 0.0;
    for (var k0: u32 = 0u; k0 < n; k0 = k0 + TILE) {
        // Invocation (x, y) loads input k0 + x of row y of the tile, and weight k0 + y of
        // output x; zeros past the edges.
        let xr = group.y * TILE + local.y;
        let xk = k0 + local.x;
        x_tile[local.y][local.x] = select(0.0, values[min(xr * n + xk, arrayLength(&values) - 1u)], xr < layer.rows && xk < n);
        let wo = group.x * TILE + local.x;
        let wk = k0 + local.y;
        w_tile[local.y][local.x] = select(0.0, model_data[min(layer.weights_at + wo * n + wk, arrayLength(&model_data) - 1u)], wo < layer.outputs && wk < n);
        workgroupBarrier();
        // Written out: a loop here would cost Mesa's budget 17 iterations per tile.
        s = s + x_tile[local.y][0u] * w_tile[0u][local.x] + x_tile[local.y][1u] * w_tile[1u][local.x] + x_tile[local.y][2u] * w_tile[2u][local.x] + x_tile[local.y][3u] * w_tile[3u][local.x];
        s = s + x_tile[local.y][4u] * w_tile[4u][local.x] + x_tile[local.y][5u] * w_tile[5u][local.x] + x_tile[local.y][6u] * w_tile[6u][local.x] + x_tile[local.y][7u] * w_tile[7u][local.x];
        s = s + x_tile[local.y][8u] * w_tile[8u][local.x] + x_tile[local.y][9u] * w_tile[9u][local.x] + x_tile[local.y][10u] * w_tile[10u][local.x] + x_tile[local.y][11u] * w_tile[11u][local.x];
        s = s + x_tile[local.y][12u] * w_tile[12u][local.x] + x_tile[local.y][13u] * w_tile[13u][local.x] + x_tile[local.y][14u] * w_tile[14u][local.x] + x_tile[local.y][15u] * w_tile[15u][local.x];
        workgroupBarrier();
    }
    if row < layer.rows && o < layer.outputs {
        y[row * layer.outputs + o] = apply_activation_single(s + model_data[layer.bias_at + o], layer.activation, vec2<f32>(0.0, 0.0));
    }
}

// Softmax across each row's outputs, in place (after `dense` stored the affine values).
@compute @workgroup_size(WORKGROUP)
fn softmax_rows(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let row = flat_index(id, groups);
    if row >= layer.rows {
        return;
    }
    let start = row * layer.outputs;
    var m: f32 = y[start];
    for (var i: u32 = 1u; i < layer.outputs; i = i + 1u) {
        m = max(m, y[start + i]);
    }
    var sum: f32 = 0.0;
    for (var i: u32 = 0u; i < layer.outputs; i = i + 1u) {
        let e = exp(y[start + i] - m);
        y[start + i] = e;
        sum = sum + e;
    }
    for (var i: u32 = 0u; i < layer.outputs; i = i + 1u) {
        y[start + i] = y[start + i] / sum;
    }
}
