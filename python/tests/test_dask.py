"""Scale-out with Dask: a Parquet data set scored on a LocalCluster of two worker processes,
the model shipped to them by pickling, equals the local predict exactly."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import instinct
from conftest import IRIS

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("dask.distributed")

ROWS = 1_000_000
PARTITIONS = 8


def score(frame, model):
    """A partition's predictions, as a DataFrame with the model's output names."""
    return pd.DataFrame(model.predict(frame), columns=model.output_names, index=frame.index)


def test_dask_scores_a_parquet_data_set_like_local_predict(tmp_path):
    model = instinct.load(IRIS)
    x = np.random.default_rng(10).normal(5, 2, size=(ROWS, 4)).astype(np.float32)
    names = model.feature_names
    per_file = ROWS // PARTITIONS
    for p in range(PARTITIONS):
        part = x[p * per_file:(p + 1) * per_file]
        columns = {"id": np.arange(p * per_file, (p + 1) * per_file)}
        columns.update({name: part[:, j] for j, name in enumerate(names)})
        pq.write_table(pa.table(columns), tmp_path / f"part-{p}.parquet")

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        frame = dd.read_parquet(str(tmp_path / "*.parquet"))
        assert frame.npartitions == PARTITIONS
        meta = pd.DataFrame({name: pd.Series(dtype=np.float32) for name in model.output_names})
        scored = frame[names].map_partitions(score, model, meta=meta).compute()

    np.testing.assert_array_equal(scored.to_numpy(), model.predict(x))
