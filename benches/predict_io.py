#!/usr/bin/env python3
"""End-to-end `instinct predict` against what a Python user would otherwise run, in one run.

CSV: `instinct predict` CSV -> CSV (parse, run, write; the whole process) next to pandas'
`read_csv(engine="c")` and `read_csv(engine="pyarrow")` reading the same file (read only, timed
in this process). Parquet: `instinct predict` Parquet -> Parquet (the same rows as float64
columns, pyarrow's snappy file) next to what a Python user would write, timed in this process:
`pyarrow.parquet.read_table`, a numpy forward pass of the same model, `write_table` of the id and
the score. Memory: the peak RSS of `instinct predict` over a larger CSV (and JSON Lines, NPY and
Parquet of as many megabytes) from the rusage of a fresh child process.

The data are seeded random floats with an id column; the model is a small MLP (16 -> 32 relu ->
1 sigmoid) with named features. Medians of --repeat runs are printed.

    python3 benches/predict_io.py --instinct target/release/instinct \
        [--csv-mb 150] [--memory-mb 600] [--repeat 5] [--work DIR]

Needs numpy, pandas and pyarrow.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

FEATURES = 16
HIDDEN = 32


def model_json(path):
    rng = np.random.default_rng(7)
    w1 = rng.normal(0, 0.3, (HIDDEN, FEATURES)).astype(np.float32)
    b1 = rng.normal(0, 0.1, HIDDEN).astype(np.float32)
    w2 = rng.normal(0, 0.3, (1, HIDDEN)).astype(np.float32)
    b2 = rng.normal(0, 0.1, 1).astype(np.float32)
    model = {
        "features": [f"f{i}" for i in range(FEATURES)],
        "buffer_sizes": [FEATURES, HIDDEN, 1],
        "instructions": [
            {"type": "DOT", "input": 0, "output": 1, "weights": 0, "activation": "RELU"},
            {"type": "DOT", "input": 1, "output": 2, "weights": 1, "activation": "SIGMOID"},
        ],
        "weights": [w1.tolist(), w2.tolist()],
        "bias": [b1.tolist(), b2.tolist()],
        "output_names": ["score"],
    }
    with open(path, "w") as f:
        json.dump(model, f)
    return (w1, b1, w2, b2)


def write_rows(path, megabytes, fmt):
    """Seeded random rows until the file holds about `megabytes` MB: an id, then the features."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    rng = np.random.default_rng(11)
    if fmt == "parquet":
        # float64 columns, as a warehouse export holds them; random doubles do not compress.
        rows = int(megabytes * 1e6 / (FEATURES * 8 + 8))
        with pq.ParquetWriter(path, parquet_schema()) as writer:
            for start in range(0, rows, 1_000_000):
                n = min(1_000_000, rows - start)
                x = rng.normal(0, 1, (n, FEATURES))
                columns = {"id": pa.array(np.arange(start, start + n))}
                columns |= {f"f{i}": pa.array(x[:, i]) for i in range(FEATURES)}
                writer.write_table(pa.table(columns))
        return rows
    # About 10 bytes per value as CSV text (e.g. "-0.1234567,").
    rows = int(megabytes * 1e6 / (FEATURES * 10.4 + 9))
    if fmt == "npy":
        x = rng.normal(0, 1, (int(megabytes * 1e6 / (FEATURES * 4)), FEATURES)).astype(np.float32)
        np.save(path, x)
        return rows
    block = 200_000
    with open(path, "wb") as f:
        if fmt == "jsonl":
            names = [f"f{i}" for i in range(FEATURES)]
        for start in range(0, rows, block):
            n = min(block, rows - start)
            x = rng.normal(0, 1, (n, FEATURES)).astype(np.float32)
            ids = np.arange(start, start + n)
            if fmt == "csv":
                table = pa.table(
                    {"id": pa.array(ids)}
                    | {f"f{i}": pa.array(x[:, i]) for i in range(FEATURES)}
                )
                options = pacsv.WriteOptions(include_header=(start == 0))
                pacsv.write_csv(table, f, options)
            else:
                for r in range(n):
                    row = {"id": int(ids[r])}
                    row.update(zip(names, map(float, x[r])))
                    f.write((json.dumps(row) + "\n").encode())
    return rows


def parquet_schema():
    import pyarrow as pa

    return pa.schema([("id", pa.int64())] + [(f"f{i}", pa.float64()) for i in range(FEATURES)])


def numpy_parquet_predict(weights, source, out):
    """What a Python user writes: read the table, run the MLP in numpy, write id and score."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    w1, b1, w2, b2 = weights
    table = pq.read_table(source)
    x = np.column_stack([table[f"f{i}"].to_numpy() for i in range(FEATURES)]).astype(np.float32)
    hidden = np.maximum(x @ w1.T + b1, 0)
    score = 1 / (1 + np.exp(-(hidden @ w2.T + b2)))
    pq.write_table(pa.table({"id": table["id"], "score": score[:, 0]}), out)


def run_instinct(instinct, args):
    """Wall time of one `instinct` process."""
    start = time.perf_counter()
    done = subprocess.run([instinct, *args], capture_output=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"instinct {' '.join(args)} failed: {done.stderr.decode()}")
    return wall


def peak_rss_of(instinct, args):
    """Peak RSS (MB) of one `instinct` process: the rusage of a fresh Python child's only child,
    so earlier runs do not mask it."""
    code = (
        "import resource, subprocess, sys;"
        "r = subprocess.run(sys.argv[1:], capture_output=True);"
        "sys.exit(r.returncode) if r.returncode else None;"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    done = subprocess.run([sys.executable, "-c", code, instinct, *args], capture_output=True)
    if done.returncode != 0:
        sys.exit(f"instinct {' '.join(args)} failed: {done.stderr.decode()}")
    return int(done.stdout) / 1024


def median(values):
    return statistics.median(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instinct", default="target/release/instinct")
    parser.add_argument("--csv-mb", type=float, default=150)
    parser.add_argument("--memory-mb", type=float, default=600)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--work", default="/tmp/instinct-predict-io")
    parser.add_argument("--skip-memory", action="store_true")
    a = parser.parse_args()

    import pandas as pd

    os.makedirs(a.work, exist_ok=True)
    model = os.path.join(a.work, "model.json")
    weights = model_json(model)
    csv = os.path.join(a.work, f"rows_{a.csv_mb:g}mb.csv")
    if not os.path.exists(csv):
        write_rows(csv, a.csv_mb, "csv")
    size = os.path.getsize(csv) / 1e6
    out = os.path.join(a.work, "out.csv")

    times = {"instinct predict csv->csv": [], "pandas read_csv c": [], "pandas read_csv pyarrow": []}
    for _ in range(a.repeat):
        # Interleaved, so that drift in the machine's speed touches all three alike.
        wall = run_instinct(a.instinct, ["predict", model, "-i", csv, "-o", out, "--keep", "id"])
        times["instinct predict csv->csv"].append(wall)
        for engine in ["c", "pyarrow"]:
            start = time.perf_counter()
            frame = pd.read_csv(csv, engine=engine)
            times[f"pandas read_csv {engine}"].append(time.perf_counter() - start)
            del frame
    print(f"CSV of {size:.0f} MB ({FEATURES} float columns and an id), medians of {a.repeat}:")
    for name, values in times.items():
        spread = ", ".join(f"{v:.2f}" for v in values)
        print(f"  {name:28s} {median(values):6.2f} s   ({spread})")

    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    parquet = os.path.join(a.work, f"rows_{a.csv_mb:g}mb.parquet")
    if not os.path.exists(parquet):
        # The CSV's rows, as pyarrow reads them (float64) and writes them (snappy).
        pq.write_table(pacsv.read_csv(csv), parquet)
    out = os.path.join(a.work, "out.parquet")
    times = {"instinct predict pq->pq": [], "pyarrow + numpy pq->pq": []}
    for _ in range(a.repeat):
        wall = run_instinct(a.instinct, ["predict", model, "-i", parquet, "-o", out, "--keep", "id"])
        times["instinct predict pq->pq"].append(wall)
        start = time.perf_counter()
        numpy_parquet_predict(weights, parquet, out)
        times["pyarrow + numpy pq->pq"].append(time.perf_counter() - start)
    size = os.path.getsize(parquet) / 1e6
    print(f"Parquet of {size:.0f} MB (the same rows, float64), medians of {a.repeat}:")
    for name, values in times.items():
        spread = ", ".join(f"{v:.2f}" for v in values)
        print(f"  {name:28s} {median(values):6.2f} s   ({spread})")

    if a.skip_memory:
        return
    print(f"Peak RSS of instinct predict over about {a.memory_mb:g} MB of input:")
    for fmt in ["csv", "jsonl", "npy", "parquet"]:
        path = os.path.join(a.work, f"rows_{a.memory_mb:g}mb.{fmt}")
        if not os.path.exists(path):
            write_rows(path, a.memory_mb, fmt)
        out = os.path.join(a.work, f"out.{'csv' if fmt in ('csv', 'jsonl') else fmt}")
        keep = [] if fmt == "npy" else ["--keep", "id"]
        peak = peak_rss_of(a.instinct, ["predict", model, "-i", path, "-o", out, *keep])
        print(f"  {fmt:6s} {os.path.getsize(path) / 1e6:6.0f} MB -> peak RSS {peak:6.1f} MB")


if __name__ == "__main__":
    main()
