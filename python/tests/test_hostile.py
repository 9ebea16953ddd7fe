"""Random inputs of every kind thrown at predict and predict_arrow: each gives outputs or one
of the documented exceptions, never a crash, and a success matches the float32 copy of the
same rows."""

import numpy as np
import pyarrow as pa
import pytest

DTYPES = ["f4", "f8", "f2", ">f4", "i1", "i8", "u4", "?", "c8", "U3", "O", "M8[s]"]
DOCUMENTED = (ValueError, TypeError, MemoryError, OverflowError)


def random_array(rng, width):
    dtype = DTYPES[rng.integers(len(DTYPES))]
    rows = int(rng.integers(0, 6))
    shape = [(rows, width), (rows, width), (rows, width), (rows, width + 1), (rows,),
             (2, 2, width)][rng.integers(6)]
    values = rng.normal(size=shape) * 10.0 ** rng.choice([-3, 0, 2, 5, 39])
    if rng.random() < 0.2 and values.size:
        values.flat[rng.integers(values.size)] = [np.nan, np.inf, -np.inf][rng.integers(3)]
    try:
        with np.errstate(all="ignore"):
            x = values.astype(dtype)
    except (TypeError, ValueError):
        x = values.astype("f8")
    if x.ndim == 2 and rng.random() < 0.3:
        x = np.asfortranarray(x)
    if x.ndim == 2 and x.shape[0] > 1 and rng.random() < 0.3:
        x = x[::-1]
    return x


def test_random_arrays_give_outputs_or_documented_errors(tiny):
    model, _ = tiny
    rng = np.random.default_rng(11)
    outcomes = {"ok": 0, "refused": 0}
    for _ in range(400):
        x = random_array(rng, model.feature_count)
        try:
            with np.errstate(all="ignore"):
                y = model.predict(x, allow_nonfinite=bool(rng.random() < 0.5),
                                  threads=int(rng.integers(1, 4)))
        except DOCUMENTED:
            outcomes["refused"] += 1
            continue
        outcomes["ok"] += 1
        with np.errstate(all="ignore"):
            copy = np.ascontiguousarray(x, dtype=np.float32)
        np.testing.assert_array_equal(y, model.predict(copy, allow_nonfinite=True))
    assert outcomes["ok"] > 40 and outcomes["refused"] > 40, outcomes


@pytest.mark.parametrize("column", [
    pa.array([1.0, None, 3.0]), pa.array(["1", "2", "3"]), pa.array([[1.0], [2.0], [3.0]]),
    pa.array([b"x", b"y", b"z"]), pa.array([1, 2, 3], pa.timestamp("s")),
    pa.array([{"v": 1.0}, {"v": 2.0}, {"v": 3.0}]), pa.array([True, None, False]),
    pa.nulls(3),
])
def test_odd_arrow_columns_are_refused_or_read(tiny, column):
    model, _ = tiny
    data = pa.table({"a": column, "b": pa.array([0.5, 0.25, 1.0])})
    try:
        result = model.predict_arrow(data)
    except DOCUMENTED:
        return
    assert result.num_rows == 3
