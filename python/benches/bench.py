#!/usr/bin/env python3
"""The Python package's speed, each figure beside its peer measured in the same run:

1. One row through a 2→7→1 model: `Model.predict` (with and without `out=`) against
   `onnxruntime.InferenceSession.run` on the same weights (one thread each).
2. 200k rows of the seed model (250→300 ReLU→200 sigmoid): `Model.predict` against the CLI's
   `instinct bench` on the same model, rows and threads.
3. Two Python threads, each predicting its own 50k rows of the seed model on one engine thread,
   against the same two calls one after the other: what releasing the GIL buys.

Needs numpy, onnx and onnxruntime, the package installed (`pip install ./python`) and a release
build of the CLI. Models come from benches/make_models.py (written when missing).

Run: python3 python/benches/bench.py --instinct target/release/instinct [--json]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import timeit

import numpy as np

import instinct

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = os.path.join(ROOT, "benches", "models")
TINY = os.path.join(MODELS, "tiny_2_7_relu_1")
SEED = os.path.join(MODELS, "seed_250_300_200")


def per_call(statement, namespace, calls):
    """Seconds per call of `statement`, over `calls` calls."""
    return timeit.Timer(statement, globals=namespace).timeit(calls) / calls


def seconds(run):
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def interleaved(measures, repeats):
    """Each of `measures` (name -> function giving a number) measured `repeats` times, in turn,
    so that the machine's slow spells (it is shared) fall on all of them alike: name -> the
    list of measurements."""
    for measure in measures.values():
        measure()  # warm-up
    results = {name: [] for name in measures}
    for _ in range(repeats):
        for name, measure in measures.items():
            results[name].append(measure())
    return results


def median_ratio(numerators, denominators):
    """The median of the ratios of measurements taken side by side."""
    return statistics.median(n / d for n, d in zip(numerators, denominators))


def single_row(repeats):
    import onnxruntime as ort

    model = instinct.load(TINY + ".json")
    x = np.array([[0.3, -0.7]], dtype=np.float32)
    out = np.empty((1, 1), dtype=np.float32)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(TINY + ".onnx", options, providers=["CPUExecutionProvider"])
    feeds = {session.get_inputs()[0].name: x}
    np.testing.assert_allclose(session.run(None, feeds)[0], model.predict(x), rtol=1e-5)
    namespace = {"predict": model.predict, "x": x, "out": out, "run": session.run,
                 "feeds": feeds}
    times = interleaved({
        "ours": lambda: per_call("predict(x)", namespace, 50_000),
        "ours_out": lambda: per_call("predict(x, out=out)", namespace, 50_000),
        "theirs": lambda: per_call("run(None, feeds)", namespace, 5_000),
    }, repeats)
    ours, ours_out, theirs = (statistics.median(times[k]) for k in ("ours", "ours_out", "theirs"))
    return {
        "model": "tiny_2_7_relu_1 (2→7→1)",
        "engine": model.describe().split(":")[0],
        "instinct_predict_ns": ours * 1e9,
        "instinct_predict_out_ns": ours_out * 1e9,
        "onnxruntime_run_ns": theirs * 1e9,
        "onnxruntime_version": ort.__version__,
        "speedup": median_ratio(times["theirs"], times["ours"]),
        "speedup_out": median_ratio(times["theirs"], times["ours_out"]),
    }


def batch(cli, rows, threads, repeats):
    model = instinct.load(SEED + ".json")
    x = np.random.default_rng(42).uniform(-1, 1, size=(rows, model.feature_count))
    x = x.astype(np.float32)
    out = np.empty((rows, model.output_count), dtype=np.float32)
    command = [cli, "bench", SEED + ".json", "--samples", str(rows), "--json"]
    if threads is not None:
        command += ["--threads", str(threads)]

    def cli_rate():
        result = subprocess.run(command, check=True, capture_output=True, text=True)
        return json.loads(result.stdout)["samples_per_sec"]

    rates = interleaved({
        "python": lambda: rows / seconds(lambda: model.predict(x, threads=threads, out=out)),
        "cli": cli_rate,
    }, repeats)
    return {
        "model": "seed_250_300_200 (250→300→200)",
        "rows": rows,
        "threads": threads or os.cpu_count(),
        "engine": model.describe(threads=threads).split(":")[0],
        "python_rows_per_sec": statistics.median(rates["python"]),
        "cli_rows_per_sec": statistics.median(rates["cli"]),
        "cli_command": " ".join(["instinct"] + command[1:]),
        "ratio": median_ratio(rates["python"], rates["cli"]),
    }


def two_threads(rows, repeats):
    model = instinct.load(SEED + ".json")
    rng = np.random.default_rng(7)
    inputs = [rng.uniform(-1, 1, size=(rows, model.feature_count)).astype(np.float32)
              for _ in range(2)]
    outs = [np.empty((rows, model.output_count), dtype=np.float32) for _ in range(2)]

    def call(i):
        model.predict(inputs[i], threads=1, out=outs[i])

    def serial():
        call(0)
        call(1)

    def parallel():
        workers = [threading.Thread(target=call, args=(i,)) for i in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()

    times = interleaved({"serial": lambda: seconds(serial),
                         "parallel": lambda: seconds(parallel)}, repeats)
    return {
        "model": "seed_250_300_200",
        "rows_per_thread": rows,
        "serial_seconds": statistics.median(times["serial"]),
        "two_threads_seconds": statistics.median(times["parallel"]),
        "ratio": median_ratio(times["parallel"], times["serial"]),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instinct", default=os.path.join(ROOT, "target", "release", "instinct"),
                        help="the CLI binary, for `instinct bench`")
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if not (os.path.exists(TINY + ".onnx") and os.path.exists(SEED + ".json")):
        subprocess.run([sys.executable, os.path.join(ROOT, "benches", "make_models.py"),
                        "--onnx"], check=True)

    results = {
        "single_row": single_row(args.repeats),
        "batch_all_cores": batch(args.instinct, args.rows, None, max(3, args.repeats // 2)),
        "batch_one_thread": batch(args.instinct, args.rows, 1, max(3, args.repeats // 2)),
        "two_threads": two_threads(args.rows // 4, args.repeats),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    one = results["single_row"]
    print(f"one row, {one['model']}, engine {one['engine']} (medians of {args.repeats}, "
          "interleaved; ratios are medians of side-by-side ratios):")
    print(f"  instinct predict(x)          {one['instinct_predict_ns']:8.0f} ns")
    print(f"  instinct predict(x, out=out) {one['instinct_predict_out_ns']:8.0f} ns")
    print(f"  onnxruntime {one['onnxruntime_version']} run   {one['onnxruntime_run_ns']:8.0f} ns"
          f"   ({one['speedup']:.1f}× slower than predict, {one['speedup_out']:.1f}× than out=)")
    for key in ("batch_all_cores", "batch_one_thread"):
        b = results[key]
        print(f"{b['rows']} rows, {b['model']}, {b['threads']} thread(s), engine {b['engine']}:")
        print(f"  Python predict  {b['python_rows_per_sec']:12,.0f} rows/s")
        print(f"  instinct bench  {b['cli_rows_per_sec']:12,.0f} rows/s   (ratio {b['ratio']:.3f})")
    t = results["two_threads"]
    print(f"two Python threads × {t['rows_per_thread']} rows, one engine thread each:")
    print(f"  serial {t['serial_seconds'] * 1e3:.1f} ms, two threads "
          f"{t['two_threads_seconds'] * 1e3:.1f} ms (ratio {t['ratio']:.3f})")


if __name__ == "__main__":
    main()
