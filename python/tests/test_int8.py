"""int8 models (written by `instinct quantize`) load and run from Python like any model."""
import numpy as np
import pytest

import instinct
from conftest import FIXTURES

F32 = FIXTURES / "int8" / "trained_digits.json"
INT8 = FIXTURES / "int8" / "trained_digits.q.json"


def digits_test():
    table = np.loadtxt(FIXTURES / "data" / "digits_test.csv", delimiter=",", skiprows=1,
                       dtype=np.float32)
    return table[:, :-1], table[:, -1].astype(np.int64)


def test_an_int8_model_keeps_its_accuracy_and_its_rows_bits():
    f32, int8 = instinct.load(F32), instinct.load(INT8)
    assert "int8" in int8.describe() and "int8" not in f32.describe()
    x, labels = digits_test()
    a, b = f32.predict(x), int8.predict(x)
    assert abs((a.argmax(1) == labels).mean() - (b.argmax(1) == labels).mean()) <= 0.005
    assert (a.argmax(1) == b.argmax(1)).mean() >= 0.99
    # A row alone gives the bits it gives inside the batch, on any engine that runs it.
    assert np.array_equal(int8.predict(x[7:8])[0], b[7])
    assert np.array_equal(int8.predict(x, engine="int8", threads=2), b)
    assert np.array_equal(int8.predict(x, engine="interp"), b)


def test_engines_that_cannot_run_it_say_why():
    x, _ = digits_test()
    with pytest.raises(ValueError, match="quantized"):
        instinct.load(INT8).predict(x, engine="static")
    with pytest.raises(ValueError, match="instinct quantize"):
        instinct.load(F32).predict(x, engine="int8")
