//! ONNX initializers and constants read as values: every element count checked against the
//! limits before anything is decoded, each data type converted to f32.

use super::value::Value;
use crate::proto::TensorProto;
use instinct_format::Limits;
use std::rc::Rc;

/// A tensor's values, or why it cannot be read. `spent` is the running total of constant
/// elements decoded so far: the element count (from `dims`, before anything is decoded or
/// allocated) must fit in what `limits` leaves, and is added to it.
pub(super) fn tensor(t: &TensorProto, limits: &Limits, spent: &mut usize) -> Result<Value, String> {
    let dims: Vec<usize> = t
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| format!("dimension {d}")))
        .collect::<Result<_, _>>()?;
    // No constant is emitted whole past the larger pool, nor all of them past both pools.
    let per_tensor = limits
        .max_weight_elements
        .max(limits.max_parameter_elements);
    let total = limits
        .max_weight_elements
        .saturating_add(limits.max_parameter_elements);
    let count = dims
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| n <= per_tensor)
        .ok_or_else(|| format!("shape {dims:?} is over the limit of {per_tensor} elements"))?;
    if spent.saturating_add(count) > total {
        return Err(format!(
            "the constants add up to over {total} elements (this one has {count})"
        ));
    }
    if t.data_location == Some(1) {
        return Err("external data is not read".to_string());
    }
    *spent += count;
    let raw = t.raw_data.as_deref().unwrap_or(&[]);
    // The raw bytes as `count` values of `width` bytes, decoded straight into one vector (no
    // intermediate vector of 16-byte slices).
    fn from_raw<T>(
        raw: &[u8],
        count: usize,
        width: usize,
        decode: impl Fn(&[u8]) -> T,
    ) -> Result<Vec<T>, String> {
        if raw.len() != count * width {
            return Err(format!(
                "{} bytes of raw data for {count} values",
                raw.len()
            ));
        }
        Ok(raw.chunks_exact(width).map(decode).collect())
    }
    let check = |len: usize| {
        if len == count {
            Ok(())
        } else {
            Err(format!("{len} values for shape {dims:?}"))
        }
    };
    // NaN has no place in the format (every weight and parameter is checked to be a number);
    // say which constant holds it rather than which converted weight.
    let no_nan = |data: &[f32]| match data.iter().position(|v| v.is_nan()) {
        Some(i) => Err(format!("value {i} is NaN")),
        None => Ok(()),
    };
    match t.data_type.unwrap_or(0) {
        // FLOAT
        1 => {
            let data = if raw.is_empty() {
                check(t.float_data.len())?;
                t.float_data.clone()
            } else {
                from_raw(raw, count, 4, |b| {
                    f32::from_le_bytes([b[0], b[1], b[2], b[3]])
                })?
            };
            no_nan(&data)?;
            Ok(Value::Floats(Rc::new(dims), Rc::new(data)))
        }
        // DOUBLE
        11 => {
            let data = if raw.is_empty() {
                check(t.double_data.len())?;
                t.double_data.iter().map(|&v| v as f32).collect()
            } else {
                from_raw(raw, count, 8, |b| {
                    f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32
                })?
            };
            no_nan(&data)?;
            Ok(Value::Floats(Rc::new(dims), Rc::new(data)))
        }
        // INT64, INT32 (class labels, for one) and BOOL (Dropout's training_mode).
        7 => {
            let data = if raw.is_empty() {
                check(t.int64_data.len())?;
                t.int64_data.clone()
            } else {
                from_raw(raw, count, 8, |b| {
                    i64::from_le_bytes(b.try_into().expect("8 bytes"))
                })?
            };
            Ok(Value::Ints(Rc::new(data)))
        }
        code @ (6 | 9) => {
            let data = if raw.is_empty() {
                check(t.int32_data.len())?;
                t.int32_data.iter().map(|&v| i64::from(v)).collect()
            } else if code == 6 {
                from_raw(raw, count, 4, |b| {
                    i32::from_le_bytes(b.try_into().expect("4 bytes")).into()
                })?
            } else {
                from_raw(raw, count, 1, |b| b[0].into())?
            };
            Ok(Value::Ints(Rc::new(data)))
        }
        other => Err(format!("element type {other} is not read")),
    }
}
