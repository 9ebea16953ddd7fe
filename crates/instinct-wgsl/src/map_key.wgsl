// instinct's WGSL MAP_TRANSFORM key: how a compute-buffer value becomes a table key, as on the CPU.

// The map key of x: rounded half away from zero, saturated to i32 (NaN is 0, as on the CPU).
fn map_key(x: f32) -> i32 {
    if !(abs(x) >= 0.0) {
        return 0;
    }
    if x >= 2147483648.0 {
        return 2147483647;
    }
    if x < -2147483648.0 {
        return -2147483647 - 1;
    }
    let t = trunc(x);
    return i32(select(t, t + sign(x), abs(x - t) >= 0.5));
}
