"""predict_arrow: Arrow data over the C data interface, columns matched by name, values
converted and checked as instinct's Parquet reader does, a pyarrow.Table back."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest


def table(model, rows=500, seed=9):
    x = np.random.default_rng(seed).normal(size=(rows, model.feature_count)).astype(np.float32)
    columns = {"id": pa.array([f"row-{i}" for i in range(rows)])}
    for j, name in reversed(list(enumerate(model.feature_names))):
        columns[name] = pa.array(x[:, j].astype(np.float64))
    columns["extra"] = pa.array(np.arange(rows))
    return x, pa.table(columns)


def test_tables_batches_and_streams_predict_as_arrays(wide):
    model, _ = wide
    x, data = table(model)
    expected = model.predict(x)
    result = model.predict_arrow(data)
    assert isinstance(result, pa.Table)
    assert result.column_names == model.output_names
    assert all(t == pa.float32() for t in result.schema.types)
    np.testing.assert_array_equal(np.column_stack([c.to_numpy() for c in result.columns]),
                                  expected)
    chunked = pa.Table.from_batches(data.to_batches(max_chunksize=37))
    batch = data.combine_chunks().to_batches()[0]
    reader = pa.RecordBatchReader.from_batches(data.schema, data.to_batches(max_chunksize=100))
    for source in (chunked, batch, reader):
        again = model.predict_arrow(source, threads=1)
        np.testing.assert_array_equal(
            np.column_stack([c.to_numpy() for c in again.columns]), expected)


def test_kept_columns_come_first_with_their_types(wide):
    model, _ = wide
    _, data = table(model, rows=50)
    result = model.predict_arrow(data, keep=["id", "extra"])
    assert result.column_names[:2] == ["id", "extra"]
    assert result.column("id").to_pylist() == data.column("id").to_pylist()
    assert result.schema.field("extra").type == pa.int64()
    with pytest.raises(ValueError, match="output_0"):
        model.predict_arrow(data, keep=["output_0"])


def test_integer_and_boolean_columns_convert(tiny):
    model, forward = tiny
    data = pa.table({"b": pa.array([True, False, True]), "a": pa.array([1, -2, 3], pa.int8())})
    expected = model.predict(np.array([[1, 1], [-2, 0], [3, 1]], dtype=np.float32))
    result = model.predict_arrow(data)
    np.testing.assert_array_equal(result.column(0).to_numpy().reshape(-1, 1), expected)


def test_bad_data_is_named_by_row_and_column(wide):
    model, _ = wide
    _, data = table(model, rows=20)
    with pytest.raises(ValueError, match=r"no column \"f2\""):
        model.predict_arrow(data.drop_columns(["f2"]))
    values = data.column("f4").to_pylist()
    values[6] = None
    nulls = data.set_column(data.column_names.index("f4"), "f4", pa.array(values))
    with pytest.raises(ValueError, match=r"row 7, column \d+ \(\"f4\"\): the value is missing"):
        model.predict_arrow(nulls)
    values[6] = float("nan")
    nan = data.set_column(data.column_names.index("f4"), "f4", pa.array(values))
    with pytest.raises(ValueError, match="allow_nonfinite=True"):
        model.predict_arrow(nan)
    let_through = model.predict_arrow(nan, allow_nonfinite=True)
    x = np.column_stack([nan.column(name).to_numpy() for name in model.feature_names])
    np.testing.assert_array_equal(np.column_stack([c.to_numpy() for c in let_through.columns]),
                                  model.predict(x, allow_nonfinite=True))
    text = data.set_column(data.column_names.index("f4"), "f4", pa.array(["x"] * 20))
    with pytest.raises(ValueError, match="not numbers"):
        model.predict_arrow(text)
    with pytest.raises(TypeError, match="predict_arrow takes Arrow data"):
        model.predict_arrow(np.zeros((2, 40)))


def test_empty_tables_give_empty_outputs(wide):
    model, _ = wide
    _, data = table(model, rows=0)
    result = model.predict_arrow(data)
    assert result.num_rows == 0 and result.column_names == model.output_names


def test_dictionary_and_decimal_columns_read_as_their_values(tiny):
    import decimal
    model, _ = tiny
    frame = pd.DataFrame({"a": pd.Categorical([1.5, -2.0, 1.5]), "b": [0.25, 0.5, 1.0]})
    data = pa.Table.from_pandas(frame)
    assert pa.types.is_dictionary(data.schema.field("a").type)
    expected = model.predict(np.array([[1.5, 0.25], [-2.0, 0.5], [1.5, 1.0]], dtype=np.float32))
    np.testing.assert_array_equal(model.predict_arrow(data).column(0).to_numpy(),
                                  expected[:, 0])
    decimals = pa.table({"a": pa.array([decimal.Decimal("1.50"), decimal.Decimal("-2.00"),
                                        decimal.Decimal("1.50")], pa.decimal128(5, 2)),
                         "b": pa.array([0.25, 0.5, 1.0])})
    np.testing.assert_array_equal(model.predict_arrow(decimals).column(0).to_numpy(),
                                  expected[:, 0])
