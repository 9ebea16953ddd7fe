"""Random inputs of every kind thrown at predict and predict_arrow: each is taken or refused
exactly as the rules say (refusals as documented exceptions, never a crash), a success
matching the float32 copy of the same rows; odd Arrow columns are refused by name."""

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


def acceptable(x, width, allow_nonfinite):
    """Whether predict must take `x`: 2-D, `width` columns, numbers, and (unless allowed)
    finite; a finite value beyond float32's range never."""
    if x.ndim != 2 or x.shape[1] != width or x.dtype.kind not in "biuf":
        return False
    with np.errstate(all="ignore"):
        as32 = x.astype(np.float32)
        wide = x.astype(np.float64)
    overflow = np.isfinite(wide) & ~np.isfinite(as32)
    if overflow.any():
        return False
    return allow_nonfinite or bool(np.isfinite(as32).all())


def test_random_arrays_give_outputs_or_documented_errors(tiny):
    model, _ = tiny
    rng = np.random.default_rng(11)
    outcomes = {"ok": 0, "refused": 0}
    for _ in range(400):
        x = random_array(rng, model.feature_count)
        allow = bool(rng.random() < 0.5)
        expected_ok = acceptable(x, model.feature_count, allow)
        try:
            with np.errstate(all="ignore"):
                y = model.predict(x, allow_nonfinite=allow, threads=int(rng.integers(1, 4)))
        except DOCUMENTED as e:
            assert not expected_ok, f"{x.dtype} {x.shape} allow={allow}: {e}"
            outcomes["refused"] += 1
            continue
        assert expected_ok, f"{x.dtype} {x.shape} allow={allow} was accepted"
        outcomes["ok"] += 1
        with np.errstate(all="ignore"):
            copy = np.ascontiguousarray(x, dtype=np.float32)
        np.testing.assert_array_equal(y, model.predict(copy, allow_nonfinite=True))
    assert outcomes["ok"] > 40 and outcomes["refused"] > 40, outcomes


@pytest.mark.parametrize("column, why", [
    (pa.array([1.0, None, 3.0]), r'row 2, column 1 \("a"\): the value is missing'),
    (pa.array(["1", "2", "3"]), "holds Utf8 values, not numbers"),
    (pa.array([[1.0], [2.0], [3.0]]), r"holds List\(Float64\) values, not numbers"),
    (pa.array([b"x", b"y", b"z"]), "holds Binary values, not numbers"),
    (pa.array([1, 2, 3], pa.timestamp("s")), r"holds Timestamp\(s\) values, not numbers"),
    (pa.array([{"v": 1.0}, {"v": 2.0}, {"v": 3.0}]), "holds Struct"),
    (pa.array([True, None, False]), r'row 2, column 1 \("a"\): the value is missing'),
    (pa.nulls(3), r'row 1, column 1 \("a"\): the value is missing'),
])
def test_odd_arrow_columns_are_refused_by_name(tiny, column, why):
    model, _ = tiny
    data = pa.table({"a": column, "b": pa.array([0.5, 0.25, 1.0])})
    with pytest.raises(ValueError, match=why):
        model.predict_arrow(data)
