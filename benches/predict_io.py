#!/usr/bin/env python3
"""End-to-end `instinct predict` against what a Python user would otherwise run, in one run.

CSV: `instinct predict` CSV -> CSV (parse, run, write; the whole process) next to pandas'
`read_csv(engine="c")` and `read_csv(engine="pyarrow")` reading the same file (read only, timed
in this process). Memory: the peak RSS of `instinct predict` over a larger CSV (and JSON Lines
and NPY of the same rows) from the rusage of a fresh child process.

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

    rng = np.random.default_rng(11)
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
    model_json(model)
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

    if a.skip_memory:
        return
    print(f"Peak RSS of instinct predict over about {a.memory_mb:g} MB of input:")
    for fmt in ["csv", "jsonl", "npy"]:
        path = os.path.join(a.work, f"rows_{a.memory_mb:g}mb.{fmt}")
        if not os.path.exists(path):
            write_rows(path, a.memory_mb, fmt)
        out = os.path.join(a.work, f"out.{'npy' if fmt == 'npy' else 'csv'}")
        keep = [] if fmt == "npy" else ["--keep", "id"]
        peak = peak_rss_of(a.instinct, ["predict", model, "-i", path, "-o", out, *keep])
        print(f"  {fmt:6s} {os.path.getsize(path) / 1e6:6.0f} MB -> peak RSS {peak:6.1f} MB")


if __name__ == "__main__":
    main()
