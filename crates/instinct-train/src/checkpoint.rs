//! Checkpoints: every parameter of a [`Sequential`] network (and its batch norms' running
//! statistics) in a `safetensors` file, named `layers.{index}.{name}`, written atomically and
//! read back into a network of the same architecture.

use crate::error::TrainError;
use crate::nn::{Layer, Sequential};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::path::Path;

/// Every named tensor of `net`: its parameters, and the running statistics of its batch norms,
/// as `(name, shape, values)`.
fn entries(net: &Sequential) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let mut out = Vec::new();
    for (i, layer) in net.layers.iter().enumerate() {
        let params = Sequential::new(vec![layer.clone()]);
        for p in params.params() {
            out.push((
                format!("layers.{i}.{}", p.name()),
                p.value().shape().to_vec(),
                p.value().data().to_vec(),
            ));
        }
        if let Layer::BatchNorm(bn) = layer {
            let running = bn.running.borrow();
            let n = running.0.len();
            out.push((
                format!("layers.{i}.running_mean"),
                vec![n],
                running.0.clone(),
            ));
            out.push((
                format!("layers.{i}.running_var"),
                vec![n],
                running.1.clone(),
            ));
        }
    }
    out
}

/// Writes every tensor of `net` to `path` (a temporary file beside it, renamed over it).
pub fn save(net: &Sequential, path: &Path) -> Result<(), TrainError> {
    let fail = |e: &dyn std::fmt::Display| TrainError::Data(format!("{}: {e}", path.display()));
    let tensors = entries(net);
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .into_iter()
        .map(|(name, shape, values)| {
            let b = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            (name, shape, b)
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(name, shape, b)| Ok((name.clone(), TensorView::new(Dtype::F32, shape.clone(), b)?)))
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()
        .map_err(|e| fail(&e))?;
    let file = safetensors::serialize(views, None).map_err(|e| fail(&e))?;
    instinct_format::write_atomically(path, &file).map_err(|e| fail(&e))
}

/// Reads `path` into `net`, whose architecture must be the one saved: every tensor present
/// with its shape, as `f32`. Nothing is changed unless everything matches.
pub fn load(net: &mut Sequential, path: &Path) -> Result<(), TrainError> {
    let fail = |e: String| TrainError::Data(format!("{}: {e}", path.display()));
    let file = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let st = SafeTensors::deserialize(&file)
        .map_err(|e| fail(format!("not a safetensors file: {e}")))?;
    let mut values = Vec::new();
    for (name, shape, _) in entries(net) {
        let view = st.tensor(&name).map_err(|_| {
            fail(format!(
                "no tensor {name:?}: a checkpoint of another network?"
            ))
        })?;
        if view.dtype() != Dtype::F32 || view.shape() != shape.as_slice() {
            return Err(fail(format!(
                "tensor {name:?} is {:?} {:?}, the network needs F32 {shape:?}",
                view.dtype(),
                view.shape()
            )));
        }
        let v: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        values.push(v);
    }
    let mut next = values.into_iter();
    for layer in &mut net.layers {
        let mut one = Sequential::new(vec![layer.clone()]);
        for p in one.params_mut() {
            p.value_mut()
                .data_mut()
                .copy_from_slice(&next.next().expect("one value per entry"));
        }
        if let Layer::BatchNorm(bn) = &one.layers[0] {
            let mut running = bn.running.borrow_mut();
            running.0 = next.next().expect("running mean");
            running.1 = next.next().expect("running variance");
        }
        *layer = one.layers.remove(0);
    }
    Ok(())
}
