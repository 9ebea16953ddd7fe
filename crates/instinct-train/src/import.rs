//! Import of a sequential format model (DOTs, each reading the previous one's output, with
//! in-place MUL/ADD_ELEMENTWISE and activations between them) as a [`Sequential`] network: to
//! fine-tune it, or to run it on the tape.

use crate::error::TrainError;
use crate::nn::{Layer, Linear, Sequential};
use instinct_format::Activation;
use instinct_validate::{ChainStep, ValidModel};

/// The layer of a format activation: SOFTMAX as the softmax layer, an elementwise activation
/// (each has a derivative) as itself.
fn layer_of(activation: Activation, index: usize) -> Result<Layer, TrainError> {
    match activation {
        Activation::Softmax => Ok(Layer::Softmax),
        a if a.is_elementwise() => Ok(Layer::Activation(a)),
        other => Err(TrainError::Export(format!(
            "instruction {index}: the activation {} has no trainable form",
            other.name()
        ))),
    }
}

/// The network of a sequential model, and its input names as the model gives them (`x[N]`
/// naming N inputs; `x0`, `x1`, … when it has none). A classifier comes back ending in its
/// softmax: remove that last layer to train it again on logits.
///
/// ```
/// use instinct_format::{Activation, Limits, ModelBuilder};
/// let info = ModelBuilder::with_features(["a", "b"])
///     .dense(vec![vec![1.0, 2.0]; 3], vec![0.0; 3], Some(Activation::Relu))
///     .dense(vec![vec![0.5; 3]], vec![0.1], None)
///     .build()
///     .unwrap();
/// let model = instinct_validate::validate(&info, &Limits::default()).unwrap();
/// let (net, names) = instinct_train::import::import(&model).unwrap();
/// assert_eq!((net.inputs(), net.outputs()), (Some(2), Some(1)));
/// assert_eq!(names, ["a", "b"]);
/// ```
pub fn import(model: &ValidModel) -> Result<(Sequential, Vec<String>), TrainError> {
    let info = model.info();
    let steps = model.sequential().map_err(|e| {
        TrainError::Export(format!(
            "instruction {} ({}) does not continue a sequential chain",
            e.index, e.kind
        ))
    })?;
    let parameters = info.parameters.as_deref().unwrap_or(&[]);
    let mut layers = Vec::new();
    for (index, step) in steps {
        match step {
            ChainStep::Dense(l) => {
                layers.push(Layer::Linear(Linear::from_weights(
                    &info.weights[l.slot],
                    &info.bias[l.slot],
                )?));
                if let Some(a) = l.activation {
                    layers.push(layer_of(a, index)?);
                }
            }
            ChainStep::Mul(p) => layers.push(Layer::Scale(parameters[p].clone())),
            ChainStep::Add(p) => layers.push(Layer::Shift(parameters[p].clone())),
            ChainStep::Activation(a) => layers.push(layer_of(a, index)?),
            ChainStep::Clip { .. } => {
                return Err(TrainError::Export(format!(
                    "instruction {index}: CLIP_ELEMENTWISE has no trainable form"
                )));
            }
        }
    }
    let net = Sequential::new(layers);
    if net.inputs().is_none() {
        return Err(TrainError::Export(
            "the model has no dense layer to train".to_string(),
        ));
    }
    // As the model names them (`x[N]` for N inputs), so that an export takes them back.
    let names = match &info.features {
        Some(f) => f.clone(),
        None => (0..model.layout().sizes[0])
            .map(|i| format!("x{i}"))
            .collect(),
    };
    Ok((net, names))
}
