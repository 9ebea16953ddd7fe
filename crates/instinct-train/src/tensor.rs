//! `Tensor`: a shape and its values, row-major, on the host.

use crate::error::TrainError;

/// A shape and its values, row-major. A shape of `[]` holds one value (a scalar).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tensor {
    shape: Vec<usize>,
    data: Vec<f32>,
}

/// The number of values a shape holds, or `None` when that overflows.
pub(crate) fn volume(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
}

impl Tensor {
    /// A tensor of `shape` holding `data`; the lengths must agree.
    ///
    /// ```
    /// let t = instinct_train::Tensor::new(&[2, 3], vec![0.0; 6]).unwrap();
    /// assert_eq!(t.shape(), &[2, 3]);
    /// assert!(instinct_train::Tensor::new(&[2, 3], vec![0.0; 5]).is_err());
    /// ```
    pub fn new(shape: &[usize], data: Vec<f32>) -> Result<Tensor, TrainError> {
        match volume(shape) {
            Some(n) if n == data.len() => Ok(Tensor {
                shape: shape.to_vec(),
                data,
            }),
            _ => Err(TrainError::Size {
                shape: shape.to_vec(),
                values: data.len(),
            }),
        }
    }

    /// Zeros of `shape`.
    ///
    /// # Panics
    /// When the shape's volume overflows `usize`.
    pub fn zeros(shape: &[usize]) -> Tensor {
        Tensor::full(shape, 0.0)
    }

    /// `value` everywhere in `shape`.
    ///
    /// # Panics
    /// When the shape's volume overflows `usize`.
    pub fn full(shape: &[usize], value: f32) -> Tensor {
        let n = volume(shape).expect("tensor shape overflows usize");
        Tensor {
            shape: shape.to_vec(),
            data: vec![value; n],
        }
    }

    /// One value, shape `[]`.
    pub fn scalar(value: f32) -> Tensor {
        Tensor {
            shape: Vec::new(),
            data: vec![value],
        }
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The values, row-major.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// The values, to change in place.
    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// The values, owned.
    pub fn into_data(self) -> Vec<f32> {
        self.data
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether it holds no value.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The same values in another shape of the same volume.
    pub fn reshape(self, shape: &[usize]) -> Result<Tensor, TrainError> {
        Tensor::new(shape, self.data)
    }

    /// `(rows, columns)` of a 2-D tensor.
    pub fn dims2(&self) -> Option<(usize, usize)> {
        match self.shape[..] {
            [r, c] => Some((r, c)),
            _ => None,
        }
    }

    /// The single value of a scalar or one-value tensor.
    pub fn item(&self) -> Option<f32> {
        match self.data[..] {
            [v] => Some(v),
            _ => None,
        }
    }
}
