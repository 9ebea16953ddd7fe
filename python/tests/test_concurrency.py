"""Threads and processes: concurrent calls share nothing but the model, models pickle as
their JSON and run the same in other processes."""

import concurrent.futures
import copy
import multiprocessing
import pickle

import numpy as np

import instinct
from conftest import IRIS


def test_concurrent_calls_do_not_leak_into_each_other(wide, tiny):
    rng = np.random.default_rng(6)
    jobs = []
    for i in range(48):
        model = (wide[0], tiny[0])[i % 2]
        rows = int(rng.integers(1, 3000))
        x = rng.normal(size=(rows, model.feature_count)).astype(np.float32)
        engine = ("auto", "interp", "batch", "batched")[i % 4]
        jobs.append((model, x, engine, model.predict(x, engine=engine, threads=1)))

    def run(job):
        model, x, engine, expected = job
        out = np.empty_like(expected)
        model.predict(x, engine=engine, out=out)
        return np.array_equal(out, expected) and np.array_equal(
            model.predict(x, engine=engine), expected)

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(run, jobs * 3))


def test_models_pickle_as_their_json(iris):
    data = pickle.dumps(iris)
    assert iris.to_json().encode() in data
    again = pickle.loads(data)
    x = np.random.default_rng(7).normal(size=(100, 4)).astype(np.float32)
    np.testing.assert_array_equal(again.predict(x), iris.predict(x))
    assert again.feature_names == iris.feature_names
    np.testing.assert_array_equal(copy.deepcopy(iris).predict(x), iris.predict(x))


def predict_in_worker(args):
    model, x = args
    return model.predict(x)


def test_models_run_the_same_in_other_processes():
    model = instinct.load(IRIS)
    x = np.random.default_rng(8).normal(size=(4000, 4)).astype(np.float32)
    parts = np.array_split(x, 4)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        results = pool.map(predict_in_worker, [(model, part) for part in parts])
    np.testing.assert_array_equal(np.concatenate(results), model.predict(x))
