"""Shared fixtures of the Python package's tests: the repository's model files, and small
models built here with a float64 numpy reference to hold predictions to."""

import json
import pathlib

import numpy as np
import pytest

import instinct

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
IRIS = FIXTURES / "instmodel-keras" / "iris_mlp.json"
ONNX = FIXTURES / "onnx"

ACTIVATIONS = {
    "RELU": lambda z: np.maximum(z, 0.0),
    "SIGMOID": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "TANH": np.tanh,
    None: lambda z: z,
}


def mlp(sizes, activations, seed=0, features=None, labels=None):
    """A chain of dense layers with seeded weights: (model JSON text, float64 forward pass)."""
    rng = np.random.default_rng(seed)
    weights, bias, instructions = [], [], []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        limit = np.sqrt(6.0 / (n_in + n_out))
        weights.append(rng.uniform(-limit, limit, (n_out, n_in)).astype(np.float32))
        bias.append(rng.uniform(-0.1, 0.1, n_out).astype(np.float32))
        step = {"type": "DOT", "input": i, "output": i + 1, "weights": i}
        if activations[i]:
            step["activation"] = activations[i]
        instructions.append(step)
    model = {
        "buffer_sizes": list(sizes),
        "instructions": instructions,
        "weights": [w.tolist() for w in weights],
        "bias": [b.tolist() for b in bias],
    }
    if features:
        model["features"] = features
    else:
        model["feature_size"] = sizes[0]
    if labels:
        model["labels"] = labels

    def forward(x):
        h = np.asarray(x, dtype=np.float64)
        for w, b, act in zip(weights, bias, activations):
            h = ACTIVATIONS[act](h @ w.T.astype(np.float64) + b)
        return h

    return json.dumps(model), forward


@pytest.fixture(scope="session")
def iris():
    return instinct.load(IRIS)


@pytest.fixture(scope="session")
def iris_expected():
    return json.loads((FIXTURES / "instmodel-keras" / "iris_mlp.expected.json").read_text())


@pytest.fixture(scope="session")
def tiny():
    """2→7→1 (a static net's shape), named features."""
    text, forward = mlp([2, 7, 1], ["RELU", "SIGMOID"], seed=1, features=["a", "b"])
    return instinct.from_json(text), forward


@pytest.fixture(scope="session")
def wide():
    """40→64→32→5: the batch engine's, large enough to release the GIL and use threads."""
    names = [f"f{i}" for i in range(40)]
    text, forward = mlp([40, 64, 32, 5], ["RELU", "TANH", None], seed=2, features=names)
    return instinct.from_json(text), forward


def close(actual, expected, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)
