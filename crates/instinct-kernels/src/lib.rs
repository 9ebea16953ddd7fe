//! Scalar reference math on slices: dot products, activations, softmax
