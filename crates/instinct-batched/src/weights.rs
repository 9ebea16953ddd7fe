//! `BatchedWeights`: the weights and biases of every model of a batch, per layer contiguous
//! (`[model][out][in]` and `[model][out]`) and 64-byte aligned, with which models are loaded.

use crate::aligned::AlignedValues;
use crate::architecture::Architecture;
use crate::error::BatchedError;
use std::collections::HashMap;

/// The most weight and bias values one batch may hold (4 GiB of `f32`): a larger request is
/// refused before anything is allocated.
pub const MAX_VALUES: usize = 1 << 30;

/// One layer of every model.
#[derive(Debug, Clone)]
struct Layer {
    /// `[model][out][in]`.
    weights: AlignedValues,
    /// `[model][out]`.
    bias: AlignedValues,
}

/// Weights and biases of `models` models sharing one [`Architecture`]. A model counts as loaded
/// once its weights are (see [`load_weights`](Self::load_weights)); its biases stay zero until
/// [`load_bias`](Self::load_bias) sets them, as in the Go `batched` package, which has none.
#[derive(Debug, Clone)]
pub struct BatchedWeights {
    architecture: Architecture,
    models: usize,
    layers: Vec<Layer>,
    loaded: Vec<bool>,
}

/// The layer a `layer_<N>` key names, if it is one of `layers`.
fn layer_of(key: &str, layers: usize) -> Option<usize> {
    let n = key.strip_prefix("layer_")?;
    // "layer_01" or "layer_+1" are not keys the Go package writes.
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || (n.len() > 1 && n.starts_with('0'))
    {
        return None;
    }
    n.parse().ok().filter(|l| *l < layers)
}

impl BatchedWeights {
    /// Zeroed storage for `models` models of `architecture`, none of them loaded.
    pub fn new(models: usize, architecture: Architecture) -> Result<BatchedWeights, BatchedError> {
        architecture.validate()?;
        if models == 0 {
            return Err(BatchedError::NoModels);
        }
        let too_large = BatchedError::TooLarge {
            models,
            max: MAX_VALUES,
        };
        let mut total = 0usize;
        for spec in &architecture.layers {
            let per_model = spec
                .weight_count()
                .and_then(|w| w.checked_add(spec.output_size))
                .ok_or(too_large.clone())?;
            total = per_model
                .checked_mul(models)
                .and_then(|v| v.checked_add(total))
                .filter(|t| *t <= MAX_VALUES)
                .ok_or(too_large.clone())?;
        }
        let layers = architecture
            .layers
            .iter()
            .map(|spec| Layer {
                weights: AlignedValues::zeroed(models * spec.output_size * spec.input_size),
                bias: AlignedValues::zeroed(models * spec.output_size),
            })
            .collect();
        Ok(BatchedWeights {
            architecture,
            models,
            layers,
            loaded: vec![false; models],
        })
    }

    /// The shared architecture.
    pub fn architecture(&self) -> &Architecture {
        &self.architecture
    }

    /// Models in the batch.
    pub fn models(&self) -> usize {
        self.models
    }

    /// Whether model `model`'s weights have been loaded (false past the batch).
    pub fn is_loaded(&self, model: usize) -> bool {
        self.loaded.get(model).copied().unwrap_or(false)
    }

    /// The first model whose weights were never loaded.
    pub fn first_unloaded(&self) -> Option<usize> {
        self.loaded.iter().position(|l| !l)
    }

    /// Layer `layer`'s weights of every model, `[model][out][in]`.
    ///
    /// # Panics
    /// When `layer` is not a layer of the architecture.
    pub fn weights(&self, layer: usize) -> &[f32] {
        self.layers[layer].weights.as_slice()
    }

    /// Layer `layer`'s biases of every model, `[model][out]`.
    ///
    /// # Panics
    /// When `layer` is not a layer of the architecture.
    pub fn bias(&self, layer: usize) -> &[f32] {
        self.layers[layer].bias.as_slice()
    }

    /// Model `model`'s weights of layer `layer`, `out × in` row-major.
    ///
    /// # Panics
    /// When `model` or `layer` is out of range.
    pub fn model_weights(&self, model: usize, layer: usize) -> &[f32] {
        let n = self.architecture.layers[layer].input_size
            * self.architecture.layers[layer].output_size;
        &self.weights(layer)[model * n..][..n]
    }

    /// Model `model`'s biases of layer `layer`.
    ///
    /// # Panics
    /// When `model` or `layer` is out of range.
    pub fn model_bias(&self, model: usize, layer: usize) -> &[f32] {
        let n = self.architecture.layers[layer].output_size;
        &self.bias(layer)[model * n..][..n]
    }

    fn check_model(&self, model: usize) -> Result<(), BatchedError> {
        if model >= self.models {
            return Err(BatchedError::ModelIndex {
                model,
                models: self.models,
            });
        }
        Ok(())
    }

    /// The map's value for each layer in order, after checking that every key is a layer, that
    /// every layer is there with `count(layer)` finite values.
    fn layers_of_map<'m>(
        &self,
        model: usize,
        map: &'m HashMap<String, Vec<f32>>,
        what: &'static str,
        count: impl Fn(usize) -> usize,
    ) -> Result<Vec<&'m [f32]>, BatchedError> {
        self.check_model(model)?;
        let layers = self.architecture.layers.len();
        let mut keys: Vec<&String> = map.keys().collect();
        keys.sort();
        if let Some(key) = keys.iter().find(|k| layer_of(k, layers).is_none()) {
            return Err(BatchedError::UnknownKey {
                model,
                key: (*key).clone(),
                layers,
            });
        }
        (0..layers)
            .map(|layer| {
                let values = map
                    .get(&format!("layer_{layer}"))
                    .ok_or(BatchedError::MissingLayer { model, layer })?;
                check_values(model, layer, what, values, count(layer))?;
                Ok(values.as_slice())
            })
            .collect()
    }

    /// Loads model `model`'s weights from a map of `"layer_<N>"` to that layer's weights,
    /// `output_size × input_size` row-major (the Go package's `LoadWeights`). Every layer must
    /// be in the map, with exactly its count of finite values, and nothing else; on any error
    /// nothing is written. Loading again replaces the model's weights in place.
    pub fn load_weights(
        &mut self,
        model: usize,
        map: &HashMap<String, Vec<f32>>,
    ) -> Result<(), BatchedError> {
        let arch = &self.architecture;
        let count = |l: usize| arch.layers[l].input_size * arch.layers[l].output_size;
        let values = self.layers_of_map(model, map, "weight", count)?;
        for (layer, v) in values.into_iter().enumerate() {
            let n = v.len();
            self.layers[layer].weights.as_mut_slice()[model * n..][..n].copy_from_slice(v);
        }
        self.loaded[model] = true;
        Ok(())
    }

    /// Loads model `model`'s biases from a map of `"layer_<N>"` to that layer's `output_size`
    /// biases, with the rules of [`load_weights`](Self::load_weights).
    pub fn load_bias(
        &mut self,
        model: usize,
        map: &HashMap<String, Vec<f32>>,
    ) -> Result<(), BatchedError> {
        let arch = &self.architecture;
        let count = |l: usize| arch.layers[l].output_size;
        let values = self.layers_of_map(model, map, "bias", count)?;
        for (layer, v) in values.into_iter().enumerate() {
            let n = v.len();
            self.layers[layer].bias.as_mut_slice()[model * n..][..n].copy_from_slice(v);
        }
        Ok(())
    }

    /// Sets model `model`'s weights and biases of every layer (`(weights, bias)` per layer,
    /// weights row-major), checked as the loads are; nothing is written on error.
    pub fn set_model(
        &mut self,
        model: usize,
        layers: &[(&[f32], &[f32])],
    ) -> Result<(), BatchedError> {
        self.check_model(model)?;
        let arch = &self.architecture;
        if layers.len() != arch.layers.len() {
            return Err(BatchedError::MissingLayer {
                model,
                layer: layers.len().min(arch.layers.len()),
            });
        }
        for (layer, ((w, b), spec)) in layers.iter().zip(&arch.layers).enumerate() {
            check_values(
                model,
                layer,
                "weight",
                w,
                spec.input_size * spec.output_size,
            )?;
            check_values(model, layer, "bias", b, spec.output_size)?;
        }
        for (layer, (w, b)) in layers.iter().enumerate() {
            let stored = &mut self.layers[layer];
            stored.weights.as_mut_slice()[model * w.len()..][..w.len()].copy_from_slice(w);
            stored.bias.as_mut_slice()[model * b.len()..][..b.len()].copy_from_slice(b);
        }
        self.loaded[model] = true;
        Ok(())
    }
}

/// `values` has `expected` finite values.
fn check_values(
    model: usize,
    layer: usize,
    what: &'static str,
    values: &[f32],
    expected: usize,
) -> Result<(), BatchedError> {
    if values.len() != expected {
        return Err(BatchedError::Length {
            model,
            layer,
            what,
            actual: values.len(),
            expected,
        });
    }
    if let Some(index) = values.iter().position(|v| !v.is_finite()) {
        return Err(BatchedError::NonFinite {
            model,
            layer,
            what,
            index,
            value: values[index].to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_go_packages_keys_name_layers() {
        assert_eq!(layer_of("layer_0", 2), Some(0));
        assert_eq!(layer_of("layer_1", 2), Some(1));
        for bad in [
            "layer_2", "layer_", "layer_01", "layer_+1", "layer_-0", "Layer_0", "0",
        ] {
            assert_eq!(layer_of(bad, 2), None, "{bad}");
        }
    }
}
