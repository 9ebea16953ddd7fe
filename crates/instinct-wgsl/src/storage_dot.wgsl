// What the layer-by-layer and the stepped shaders share. Both declare `model_data` (the weights,
// read-only storage) and `values` (the vectors the weights multiply, storage), and `WORKGROUP`,
// their workgroup size.

// The invocation's index over a dispatch of up to 65,535 × 65,535 workgroups.
fn flat_index(id: vec3<u32>, groups: vec3<u32>) -> u32 {
    return id.x + id.y * groups.x * WORKGROUP;
}

// Σ_k model_data[w + k] · values[x + k] for k < n: eight products per iteration into four sums,
// the last n mod 8 without a loop (n / 8 + 1 iterations of Mesa's loop budget).
fn dot_values(w: u32, x: u32, n: u32) -> f32 {
    var s0: f32 = 0.0;
    var s1: f32 = 0.0;
    var s2: f32 = 0.0;
    var s3: f32 = 0.0;
    let end = n & ~7u;
    for (var k: u32 = 0u; k < end; k = k + 8u) {
        s0 = s0 + model_data[w + k] * values[x + k] + model_data[w + k + 4u] * values[x + k + 4u];
        s1 = s1 + model_data[w + k + 1u] * values[x + k + 1u] + model_data[w + k + 5u] * values[x + k + 5u];
        s2 = s2 + model_data[w + k + 2u] * values[x + k + 2u] + model_data[w + k + 6u] * values[x + k + 6u];
        s3 = s3 + model_data[w + k + 3u] * values[x + k + 3u] + model_data[w + k + 7u] * values[x + k + 7u];
    }
    let r = n - end;
    if r > 0u { s0 = s0 + model_data[w + end] * values[x + end]; }
    if r > 1u { s1 = s1 + model_data[w + end + 1u] * values[x + end + 1u]; }
    if r > 2u { s2 = s2 + model_data[w + end + 2u] * values[x + end + 2u]; }
    if r > 3u { s3 = s3 + model_data[w + end + 3u] * values[x + end + 3u]; }
    if r > 4u { s0 = s0 + model_data[w + end + 4u] * values[x + end + 4u]; }
    if r > 5u { s1 = s1 + model_data[w + end + 5u] * values[x + end + 5u]; }
    if r > 6u { s2 = s2 + model_data[w + end + 6u] * values[x + end + 6u]; }
    return (s0 + s2) + (s1 + s3);
}
