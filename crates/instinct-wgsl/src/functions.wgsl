// instinct's WGSL functions for instmodel blobs, shared by the library and the specialised mode.
// The including shader declares `model_data: array<f32>` (a storage buffer holding one or more
// blobs); every function takes the invocation's compute buffer by pointer. Loops: Mesa's
// software drivers stop a shader after 65,535 loop iterations in total (each loop run costs its
// iterations + 1); the dot products run eight products per iteration and their tails without a
// loop.

// Softmax (e^(x - max) / Σ e^(x - max)) or, with `log_softmax`, log-softmax
// (x - max - ln Σ e^(x - max)) over the segment, in three loops either way.
fn apply_softmax_or_log(compute_buffer: ptr<function, array<f32, MAX_COMPUTE_BUFFER>>, start: u32, size: u32, log_softmax: bool) {
    var max_val: f32 = (*compute_buffer)[start];
    for (var i: u32 = 1u; i < size; i = i + 1u) {
        max_val = max(max_val, (*compute_buffer)[start + i]);
    }
    var sum: f32 = 0.0;
    for (var i: u32 = 0u; i < size; i = i + 1u) {
        let e = exp((*compute_buffer)[start + i] - max_val);
        if !log_softmax {
            (*compute_buffer)[start + i] = e;
        }
        sum = sum + e;
    }
    let log_sum = log(sum);
    for (var i: u32 = 0u; i < size; i = i + 1u) {
        let x = (*compute_buffer)[start + i];
        (*compute_buffer)[start + i] = select(x / sum, (x - max_val) - log_sum, log_softmax);
    }
}

fn apply_softmax(compute_buffer: ptr<function, array<f32, MAX_COMPUTE_BUFFER>>, start: u32, size: u32) {
    apply_softmax_or_log(compute_buffer, start, size, false);
}

fn apply_log_softmax(compute_buffer: ptr<function, array<f32, MAX_COMPUTE_BUFFER>>, start: u32, size: u32) {
    apply_softmax_or_log(compute_buffer, start, size, true);
}

fn is_segment_activation(activation_type: u32) -> bool {
    return activation_type == ACTIVATION_SOFTMAX || activation_type == ACTIVATION_LOG_SOFTMAX;
}

fn execute_activation(compute_buffer: ptr<function, array<f32, MAX_COMPUTE_BUFFER>>, ptr_start: u32, size: u32, activation_type: u32, p: vec2<f32>) {
    if activation_type == ACTIVATION_NONE {
        return;
    }
    if is_segment_activation(activation_type) {
        apply_softmax_or_log(compute_buffer, ptr_start, size, activation_type == ACTIVATION_LOG_SOFTMAX);
        return;
    }
    for (var i: u32 = 0u; i < size; i = i + 1u) {
        (*compute_buffer)[ptr_start + i] = apply_activation_single((*compute_buffer)[ptr_start + i], activation_type, p);
    }
}

// Σ_k model_data[model_offset + row + k] · compute_buffer[x + k] for k < n: eight products per
// iteration into four sums, the last n mod 8 without a loop.
fn dot_row(model_offset: u32, compute_buffer: ptr<function, array<f32, MAX_COMPUTE_BUFFER>>, row: u32, x: u32, n: u32) -> f32 {
    let w = model_offset + row;
    var s0: f32 = 0.0;
    var s1: f32 = 0.0;
    var s2: f32 = 0.0;
    var s3: f32 = 0.0;
    let end = n & ~7u;
    for (var k: u32 = 0u; k < end; k = k + 8u) {
        s0 = s0 + model_data[w + k] * (*compute_buffer)[x + k] + model_data[w + k + 4u] * (*compute_buffer)[x + k + 4u];
        s1 = s1 + model_data[w + k + 1u] * (*compute_buffer)[x + k + 1u] + model_data[w + k + 5u] * (*compute_buffer)[x + k + 5u];
        s2 = s2 + model_data[w + k + 2u] * (*compute_buffer)[x + k + 2u] + model_data[w + k + 6u] * (*compute_buffer)[x + k + 6u];
        s3 = s3 + model_data[w + k + 3u] * (*compute_buffer)[x + k + 3u] + model_data[w + k + 7u] * (*compute_buffer)[x + k + 7u];
    }
    let r = n - end;
    if r > 0u { s0 = s0 + model_data[w + end] * (*compute_buffer)[x + end]; }
    if r > 1u { s1 = s1 + model_data[w + end + 1u] * (*compute_buffer)[x + end + 1u]; }
    if r > 2u { s2 = s2 + model_data[w + end + 2u] * (*compute_buffer)[x + end + 2u]; }
    if r > 3u { s3 = s3 + model_data[w + end + 3u] * (*compute_buffer)[x + end + 3u]; }
    if r > 4u { s0 = s0 + model_data[w + end + 4u] * (*compute_buffer)[x + end + 4u]; }
    if r > 5u { s1 = s1 + model_data[w + end + 5u] * (*compute_buffer)[x + end + 5u]; }
    if r > 6u { s2 = s2 + model_data[w + end + 6u] * (*compute_buffer)[x + end + 6u]; }
    return (s0 + s2) + (s1 + s3);
}

// out[o] = W[o]·in + b[o] for o < output_size, then the activation; `weights_offset` is relative
// to the model (the region's start already added). Input and output never overlap.
fn execute_dot(model_offset: u32, compute_buffer: ptr<function, array<f32, MAX_COMPUTE_BUFFER>>, input_ptr: u32, output_ptr: u32, output_size: u32, weights_offset: u32, input_size: u32, activation_type: u32, p: vec2<f32>) {
    let bias_offset = model_offset + weights_offset + output_size * input_size;
    let segment = is_segment_activation(activation_type);
    for (var o: u32 = 0u; o < output_size; o = o + 1u) {
        let s = dot_row(model_offset, compute_buffer, weights_offset + o * input_size, input_ptr, input_size);
        (*compute_buffer)[output_ptr + o] = apply_activation_single(s + model_data[bias_offset + o], select(activation_type, ACTIVATION_NONE, segment), p);
    }
    if segment {
        apply_softmax_or_log(compute_buffer, output_ptr, output_size, activation_type == ACTIVATION_LOG_SOFTMAX);
    }
}

fn execute_elem_wise_add(model_offset: u32, compute_buffer: ptr<function, array<f32, MAX_COMPUTE_BUFFER>>, ptr_start: u32, size: u32, params_offset: u32) {
    for (var i: u32 = 0u; i < size; i = i + 1u) {
        (*compute_buffer)[ptr_start + i] = (*compute_buffer)[ptr_start + i] + model_data[model_offset + params_offset + i];
    }
}

fn execute_elem_wise_mul(model_offset: u32, compute_buffer: ptr<function, array<f32, MAX_COMPUTE_BUFFER>>, ptr_start: u32, size: u32, params_offset: u32) {
    for (var i: u32 = 0u; i < size; i = i + 1u) {
        (*compute_buffer)[ptr_start + i] = (*compute_buffer)[ptr_start + i] * model_data[model_offset + params_offset + i];
    }
}

// Overlapping ranges copy as memmove does.
fn execute_copy(compute_buffer: ptr<function, array<f32, MAX_COMPUTE_BUFFER>>, src_ptr: u32, dst_ptr: u32, size: u32) {
    if dst_ptr > src_ptr && dst_ptr < src_ptr + size {
        for (var i: u32 = size; i > 0u; i = i - 1u) {
            (*compute_buffer)[dst_ptr + i - 1u] = (*compute_buffer)[src_ptr + i - 1u];
        }
    } else {
        for (var i: u32 = 0u; i < size; i = i + 1u) {
            (*compute_buffer)[dst_ptr + i] = (*compute_buffer)[src_ptr + i];
        }
    }
}

fn execute_copy_masked(model_offset: u32, compute_buffer: ptr<function, array<f32, MAX_COMPUTE_BUFFER>>, output_ptr: u32, count: u32, pointers_offset: u32) {
    for (var i: u32 = 0u; i < count; i = i + 1u) {
        let src = bitcast<u32>(model_data[model_offset + pointers_offset + i]);
        (*compute_buffer)[output_ptr + i] = (*compute_buffer)[src];
    }
}

// `min_rel` and `max_rel` are relative to the parameters region, or CLIP_BOUND_NONE.
fn execute_clip_elementwise(model_offset: u32, compute_buffer: ptr<function, array<f32, MAX_COMPUTE_BUFFER>>, ptr_start: u32, size: u32, params_offset: u32, min_rel: u32, max_rel: u32) {
    for (var i: u32 = 0u; i < size; i = i + 1u) {
        var v = (*compute_buffer)[ptr_start + i];
        if min_rel != CLIP_BOUND_NONE {
            v = max(v, model_data[model_offset + params_offset + min_rel + i]);
        }
        if max_rel != CLIP_BOUND_NONE {
            v = min(v, model_data[model_offset + params_offset + max_rel + i]);
        }
        (*compute_buffer)[ptr_start + i] = v;
    }
}

// out[i] = in0[i] ∘ in1[i] ∘ … (left fold), the inputs' positions listed at `pointers_offset`.
fn execute_elem_wise_buffers(model_offset: u32, compute_buffer: ptr<function, array<f32, MAX_COMPUTE_BUFFER>>, output_ptr: u32, size: u32, pointers_offset: u32, input_count: u32, multiply: bool) {
    for (var i: u32 = 0u; i < size; i = i + 1u) {
        var acc = (*compute_buffer)[bitcast<u32>(model_data[model_offset + pointers_offset]) + i];
        for (var j: u32 = 1u; j < input_count; j = j + 1u) {
            let v = (*compute_buffer)[bitcast<u32>(model_data[model_offset + pointers_offset + j]) + i];
            acc = select(acc + v, acc * v, multiply);
        }
        (*compute_buffer)[output_ptr + i] = acc;
    }
}

fn execute_elem_wise_buffers_add(model_offset: u32, compute_buffer: ptr<function, array<f32, MAX_COMPUTE_BUFFER>>, output_ptr: u32, size: u32, pointers_offset: u32, input_count: u32) {
    execute_elem_wise_buffers(model_offset, compute_buffer, output_ptr, size, pointers_offset, input_count, false);
}

fn execute_elem_wise_buffers_mul(model_offset: u32, compute_buffer: ptr<function, array<f32, MAX_COMPUTE_BUFFER>>, output_ptr: u32, size: u32, pointers_offset: u32, input_count: u32) {
    execute_elem_wise_buffers(model_offset, compute_buffer, output_ptr, size, pointers_offset, input_count, true);
}

fn execute_buffer_heads(compute_buffer: ptr<function, array<f32, MAX_COMPUTE_BUFFER>>, data_ptr: u32, output_ptr: u32, data_size: u32, heads_ptr: u32, num_heads: u32, multiply: bool) {
    let head_dim = data_size / num_heads;
    for (var i: u32 = 0u; i < data_size; i = i + 1u) {
        let x = (*compute_buffer)[data_ptr + i];
        let h = (*compute_buffer)[heads_ptr + i / head_dim];
        (*compute_buffer)[output_ptr + i] = select(x + h, x * h, multiply);
    }
}

fn execute_multiply_buffer_heads(compute_buffer: ptr<function, array<f32, MAX_COMPUTE_BUFFER>>, data_ptr: u32, output_ptr: u32, data_size: u32, heads_ptr: u32, num_heads: u32) {
    execute_buffer_heads(compute_buffer, data_ptr, output_ptr, data_size, heads_ptr, num_heads, true);
}

fn execute_add_buffer_heads(compute_buffer: ptr<function, array<f32, MAX_COMPUTE_BUFFER>>, data_ptr: u32, output_ptr: u32, data_size: u32, heads_ptr: u32, num_heads: u32) {
    execute_buffer_heads(compute_buffer, data_ptr, output_ptr, data_size, heads_ptr, num_heads, false);
}

fn execute_reduce_sum(compute_buffer: ptr<function, array<f32, MAX_COMPUTE_BUFFER>>, input_ptr: u32, output_ptr: u32, size: u32) {
    var sum: f32 = 0.0;
    for (var i: u32 = 0u; i < size; i = i + 1u) {
        sum = sum + (*compute_buffer)[input_ptr + i];
    }
    (*compute_buffer)[output_ptr] = sum;
}

// Binary search of the table at `table` (pairs of key and values position, keys ascending);
// writes the values found, or the default, to `size` values from `output_ptr`.
fn execute_map_transform(model_offset: u32, compute_buffer: ptr<function, array<f32, MAX_COMPUTE_BUFFER>>, key_ptr: u32, output_ptr: u32, size: u32, params_offset: u32, table: u32, entries: u32, default_rel: u32) {
    let key = map_key((*compute_buffer)[key_ptr]);
    let base = model_offset + params_offset;
    var lo: u32 = 0u;
    var hi: u32 = entries;
    while lo < hi {
        let mid = (lo + hi) / 2u;
        if bitcast<i32>(model_data[base + table + 2u * mid]) < key {
            lo = mid + 1u;
        } else {
            hi = mid;
        }
    }
    var values = default_rel;
    if lo < entries && bitcast<i32>(model_data[base + table + 2u * lo]) == key {
        values = bitcast<u32>(model_data[base + table + 2u * lo + 1u]);
    }
    for (var i: u32 = 0u; i < size; i = i + 1u) {
        (*compute_buffer)[output_ptr + i] = model_data[base + values + i];
    }
}

// out = softmax(W·key + b) ⊙ input; out overlaps neither input nor key.
fn execute_attention(model_offset: u32, compute_buffer: ptr<function, array<f32, MAX_COMPUTE_BUFFER>>, input_ptr: u32, output_ptr: u32, output_size: u32, weights_offset: u32, key_size: u32, key_ptr: u32) {
    execute_dot(model_offset, compute_buffer, key_ptr, output_ptr, output_size, weights_offset, key_size, ACTIVATION_SOFTMAX, vec2<f32>(0.0, 0.0));
    for (var i: u32 = 0u; i < output_size; i = i + 1u) {
        (*compute_buffer)[output_ptr + i] = (*compute_buffer)[output_ptr + i] * (*compute_buffer)[input_ptr + i];
    }
}
