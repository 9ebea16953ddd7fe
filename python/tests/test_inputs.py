"""What predict takes: float32 read in place, every other kind of number converted (never
misread), DataFrames matched by column name, bad shapes, dtypes and values refused by place,
and `out=` written in place."""

import numpy as np
import pandas as pd
import pytest

from conftest import close


def rows(n=64, width=40, seed=3):
    return np.random.default_rng(seed).normal(size=(n, width)).astype(np.float32)


def test_layouts_and_dtypes_give_the_same_rows(wide):
    model, forward = wide
    x = rows()
    y = model.predict(x)
    close(y, forward(x))
    np.testing.assert_array_equal(model.predict(np.asfortranarray(x)), y)
    wider = np.zeros((64, 80), dtype=np.float32)
    wider[:, ::2] = x
    np.testing.assert_array_equal(model.predict(wider[:, ::2]), y)
    np.testing.assert_array_equal(model.predict(x[::-1])[::-1], y)
    np.testing.assert_array_equal(model.predict(x.astype(np.float64)), y)
    np.testing.assert_array_equal(model.predict(x.tolist()), y)
    # Integers and booleans convert as scikit-learn does: to their values.
    ints = np.arange(64 * 40).reshape(64, 40) % 7 - 3
    for dtype in (np.int8, np.int32, np.int64, np.uint16):
        np.testing.assert_array_equal(model.predict(ints.astype(dtype) if dtype != np.uint16
                                                    else np.abs(ints).astype(dtype)),
                                      model.predict(ints.astype(np.float32) if dtype != np.uint16
                                                    else np.abs(ints).astype(np.float32)))
    flags = ints > 0
    np.testing.assert_array_equal(model.predict(flags), model.predict(flags.astype(np.float32)))
    np.testing.assert_array_equal(model.predict(x.astype(np.float16)),
                                  model.predict(x.astype(np.float16).astype(np.float32)))


def test_dataframes_are_matched_by_column_name(wide):
    model, _ = wide
    x = rows()
    frame = pd.DataFrame(x.astype(np.float64), columns=model.feature_names)
    expected = model.predict(x)
    np.testing.assert_array_equal(model.predict(frame), expected)
    shuffled = frame[list(reversed(model.feature_names))].assign(extra="text")
    np.testing.assert_array_equal(model.predict(shuffled), expected)
    # Unnamed columns (0, 1, …) are taken in order.
    np.testing.assert_array_equal(model.predict(pd.DataFrame(x)), expected)
    with pytest.raises(ValueError, match=r"no column \"f3\", \"f7\""):
        model.predict(frame.drop(columns=["f3", "f7"]))
    text = frame.astype(object)
    text.iloc[3, 5] = "n/a"
    with pytest.raises(ValueError, match="dtype"):
        model.predict(text)


def test_bad_shapes_and_dtypes_are_value_errors(wide):
    model, _ = wide
    with pytest.raises(ValueError, match=r"1-D .*reshape\(1, -1\)"):
        model.predict(np.zeros(40, dtype=np.float32))
    with pytest.raises(ValueError, match="3 dimensions"):
        model.predict(np.zeros((2, 2, 40), dtype=np.float32))
    with pytest.raises(ValueError, match="x has 39 columns; the model takes 40 features"):
        model.predict(np.zeros((2, 39), dtype=np.float32))
    for bad in (np.array([["1"] * 40]), np.zeros((1, 40), dtype=np.complex64),
                np.zeros((1, 40), dtype="datetime64[s]"), np.array([[None] * 40])):
        with pytest.raises(ValueError, match="dtype"):
            model.predict(bad)
    assert model.predict(np.zeros((0, 40), dtype=np.float32)).shape == (0, 5)


def test_nonfinite_values_are_named_by_place(wide):
    model, _ = wide
    x = rows()
    x[5, 7] = np.nan
    x[9, 1] = np.inf
    with pytest.raises(ValueError, match=r"x\[5, 7\] \(feature \"f7\"\): nan is not a finite "
                                         r"number; pass allow_nonfinite=True"):
        model.predict(x)
    y = model.predict(x, allow_nonfinite=True)
    finite = np.delete(np.arange(64), [5, 9])
    np.testing.assert_array_equal(y[finite], model.predict(x[finite]))
    big = rows().astype(np.float64)
    big[2, 3] = 1e39
    with pytest.raises(ValueError, match=r"x\[2, 3\] \(feature \"f3\"\): 1e\+39 is outside "
                                         r"the range of float32"):
        model.predict(big)
    # Out of range is refused even where NaN and infinities are let through.
    with pytest.raises(ValueError, match="outside the range of float32"):
        model.predict(big, allow_nonfinite=True)


def test_out_is_written_in_place(wide):
    model, forward = wide
    x = rows()
    out = np.empty((64, 5), dtype=np.float32)
    result = model.predict(x, out=out)
    assert result is out
    close(out, forward(x))
    np.testing.assert_array_equal(out, model.predict(x))
    for bad, why in ((np.empty((64, 5), dtype=np.float64), "dtype float64|<f8"),
                     (np.empty((63, 5), dtype=np.float32), "shape"),
                     (np.empty((5, 64), dtype=np.float32).T, "C-contiguous"),
                     ([[0.0] * 5] * 64, "not a numpy array")):
        with pytest.raises(ValueError, match=why):
            model.predict(x, out=bad)
    frozen = np.empty((64, 5), dtype=np.float32)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        model.predict(x, out=frozen)


def test_out_may_not_alias_the_input():
    import instinct
    from conftest import mlp
    text, _ = mlp([3, 3], [None])
    model = instinct.from_json(text)
    x = np.ones((4, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="shares memory"):
        model.predict(x, out=x)


def test_unaligned_and_masked_arrays(wide):
    model, _ = wide
    x = rows()
    raw = np.zeros(x.nbytes + 1, dtype=np.uint8)
    unaligned = np.frombuffer(raw.data, dtype=np.float32, count=x.size, offset=1)
    unaligned = unaligned.reshape(x.shape)
    assert not unaligned.flags.aligned
    raw[1:] = x.view(np.uint8).ravel()
    np.testing.assert_array_equal(model.predict(unaligned), model.predict(x))
    masked = np.ma.masked_array(x, mask=np.zeros_like(x, dtype=bool))
    with pytest.raises(ValueError, match="masked array"):
        model.predict(masked)
    # Big-endian floats are converted, not misread.
    np.testing.assert_array_equal(model.predict(x.astype(">f4")), model.predict(x))
