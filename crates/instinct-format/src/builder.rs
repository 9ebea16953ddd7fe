//! Building models in code: `ModelBuilder` and `from_logistic_regression`.

use crate::error::FormatError;
use crate::instruction::Instruction;
use crate::model::IdMap;
use crate::model::ModelInfo;
use crate::model::ValidationData;
use instinct_kernels::Activation;
use std::collections::HashMap;

/// Assembles a [`ModelInfo`] step by step. Slots (weights, parameters, maps) get indices in the
/// order they are pushed. The result is not validated: pass it to `instinct_validate::validate`.
///
/// ```
/// use instinct_format::{Activation, ModelBuilder};
/// // 2 inputs -> 2 hidden (ReLU) -> 1 output (sigmoid)
/// let info = ModelBuilder::with_features(["x1", "x2"])
///     .dense(vec![vec![2.0, 0.5], vec![-2.0, -0.5]], vec![0.25, -0.25], Some(Activation::Relu))
///     .dense(vec![vec![0.5, -1.0]], vec![2.0], Some(Activation::Sigmoid))
///     .build()
///     .unwrap();
/// assert_eq!(info.buffer_sizes, vec![2, 2, 1]);
/// assert_eq!(info.instructions.len(), 2);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ModelBuilder {
    info: ModelInfo,
}

impl ModelBuilder {
    /// A model whose inputs are the given feature names (`"x"` or `"x[N]"`).
    pub fn with_features<S: Into<String>>(names: impl IntoIterator<Item = S>) -> ModelBuilder {
        let features: Vec<String> = names.into_iter().map(Into::into).collect();
        ModelBuilder {
            info: ModelInfo {
                features: Some(features),
                ..ModelInfo::default()
            },
        }
    }

    /// A model with `n` unnamed inputs.
    pub fn with_feature_size(n: usize) -> ModelBuilder {
        ModelBuilder {
            info: ModelInfo {
                feature_size: Some(n),
                ..ModelInfo::default()
            },
        }
    }

    /// Sets all buffer sizes at once (the input buffers first, the output buffer last).
    pub fn buffer_sizes(mut self, sizes: impl Into<Vec<usize>>) -> ModelBuilder {
        self.info.buffer_sizes = sizes.into();
        self
    }

    /// Appends one buffer.
    pub fn buffer(mut self, size: usize) -> ModelBuilder {
        self.info.buffer_sizes.push(size);
        self
    }

    /// Appends a weight slot (`[out][in]`) and its bias; its index is the number of slots before.
    pub fn weights(mut self, weights: Vec<Vec<f32>>, bias: Vec<f32>) -> ModelBuilder {
        self.info.weights.push(weights);
        self.info.bias.push(bias);
        self
    }

    /// Appends a parameter vector.
    pub fn parameters(mut self, values: Vec<f32>) -> ModelBuilder {
        self.info
            .parameters
            .get_or_insert_with(Vec::new)
            .push(values);
        self
    }

    /// Appends a MAP_TRANSFORM table.
    pub fn map(mut self, map: IdMap) -> ModelBuilder {
        self.info.maps.get_or_insert_with(Vec::new).push(map);
        self
    }

    /// Appends an instruction.
    pub fn instruction(mut self, instruction: Instruction) -> ModelBuilder {
        self.info.instructions.push(instruction);
        self
    }

    /// A dense layer from the last buffer into a new buffer of `weights.len()` values, with a new
    /// weight slot. When no buffer exists yet, an input buffer of the feature size is created.
    pub fn dense(
        mut self,
        weights: Vec<Vec<f32>>,
        bias: Vec<f32>,
        activation: Option<Activation>,
    ) -> ModelBuilder {
        if self.info.buffer_sizes.is_empty() {
            let n = self.feature_count();
            self.info.buffer_sizes.push(n);
        }
        let input = self.info.buffer_sizes.len() - 1;
        let slot = self.info.weights.len();
        self.info.buffer_sizes.push(weights.len());
        self.weights(weights, bias).instruction(Instruction::Dot {
            input,
            output: input + 1,
            weights: slot,
            activation,
        })
    }

    /// Rows the model must reproduce when it is loaded.
    pub fn validation_data(
        mut self,
        inputs: Vec<Vec<f32>>,
        expected_outputs: Vec<Vec<f32>>,
    ) -> ModelBuilder {
        self.info.validation_data = Some(ValidationData {
            inputs,
            expected_outputs,
        });
        self
    }

    /// Finishes the model. Fails only when neither features nor a feature size was given; every
    /// other rule is checked by validation.
    pub fn build(self) -> Result<ModelInfo, FormatError> {
        if self.info.features.is_none() && self.info.feature_size.is_none() {
            return Err(FormatError::Incomplete(
                "features or feature_size is required",
            ));
        }
        Ok(self.info)
    }

    fn feature_count(&self) -> usize {
        if let Some(n) = self.info.feature_size {
            return n;
        }
        let features = self.info.features.as_deref().unwrap_or(&[]);
        // An invalid name counts as one value here; validation reports it properly.
        features
            .iter()
            .map(|f| crate::features::feature_width(f).unwrap_or(1))
            .fold(0usize, usize::saturating_add)
    }
}

/// A logistic regression as a one-DOT model with a sigmoid, as `instmodel_inference` builds it.
///
/// Every key of `coefficients` except `"constant"` is a feature; `"constant"` is the intercept
/// (0 when absent). Features are ordered by `feature_order` when given (it must name exactly the
/// coefficients' features), else alphabetically.
///
/// ```
/// use std::collections::HashMap;
/// use instinct_format::from_logistic_regression;
/// let coefficients = HashMap::from([
///     ("age".to_string(), 0.05),
///     ("income".to_string(), 0.001),
///     ("constant".to_string(), -2.5),
/// ]);
/// let info = from_logistic_regression(&coefficients, Some(&["income".into(), "age".into()])).unwrap();
/// assert_eq!(info.weights, vec![vec![vec![0.001, 0.05]]]);
/// assert_eq!(info.bias, vec![vec![-2.5]]);
/// ```
pub fn from_logistic_regression(
    coefficients: &HashMap<String, f64>,
    feature_order: Option<&[String]>,
) -> Result<ModelInfo, FormatError> {
    let mut names: Vec<String> = coefficients
        .keys()
        .filter(|k| k.as_str() != "constant")
        .cloned()
        .collect();
    names.sort();
    let order = match feature_order {
        Some(order) => {
            let mut sorted = order.to_vec();
            sorted.sort();
            if sorted != names {
                return Err(FormatError::FeatureOrderMismatch {
                    expected: names,
                    received: sorted,
                });
            }
            order.to_vec()
        }
        None => names,
    };
    let row: Vec<f32> = order.iter().map(|f| coefficients[f] as f32).collect();
    let constant = coefficients.get("constant").copied().unwrap_or(0.0) as f32;
    Ok(ModelInfo {
        features: Some(order.clone()),
        feature_size: Some(order.len()),
        buffer_sizes: vec![order.len(), 1],
        instructions: vec![Instruction::Dot {
            input: 0,
            output: 1,
            weights: 0,
            activation: Some(Activation::Sigmoid),
        }],
        weights: vec![vec![row]],
        bias: vec![vec![constant]],
        ..ModelInfo::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logistic_regression_sorts_features_without_an_order() {
        let c = HashMap::from([("b".to_string(), 2.0), ("a".to_string(), 1.0)]);
        let info = from_logistic_regression(&c, None).unwrap();
        assert_eq!(info.features, Some(vec!["a".to_string(), "b".to_string()]));
        assert_eq!(info.weights[0][0], vec![1.0, 2.0]);
        assert_eq!(info.bias[0], vec![0.0]);
    }

    #[test]
    fn logistic_regression_refuses_a_foreign_order() {
        let c = HashMap::from([("a".to_string(), 1.0)]);
        let err = from_logistic_regression(&c, Some(&["z".to_string()])).unwrap_err();
        assert!(matches!(err, FormatError::FeatureOrderMismatch { .. }));
    }

    #[test]
    fn builder_needs_inputs() {
        assert!(matches!(
            ModelBuilder::default().build(),
            Err(FormatError::Incomplete(_))
        ));
    }
}
