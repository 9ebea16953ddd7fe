"""numpy peer of the many-model benchmark: 1,000 models of 16→32 (ReLU)→8 (tanh) as stacked
weights, np.matmul per layer, one BLAS thread; k = 1 and k = 64 inputs per model.

    python3 benches/batched_numpy.py      (prints one JSON line per k: the median µs per batch)
"""
import json
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import time  # noqa: E402

import numpy as np  # noqa: E402

rng = np.random.default_rng(5)
M = 1000
w1 = (rng.uniform(-0.25, 0.25, (M, 32, 16))).astype(np.float32)
b1 = (rng.uniform(-0.1, 0.1, (M, 32, 1))).astype(np.float32)
w2 = (rng.uniform(-0.25, 0.25, (M, 8, 32))).astype(np.float32)
b2 = (rng.uniform(-0.1, 0.1, (M, 8, 1))).astype(np.float32)


def forward(x):
    h = np.maximum(np.matmul(w1, x) + b1, 0.0)
    return np.tanh(np.matmul(w2, h) + b2)


for k in (1, 64):
    x = rng.uniform(-1, 1, (M, 16, k)).astype(np.float32)
    forward(x)
    reps = 200 if k == 1 else 10
    times = []
    for _ in range(7):
        t = time.perf_counter()
        for _ in range(reps):
            forward(x)
        times.append((time.perf_counter() - t) / reps)
    times.sort()
    print(json.dumps({"peer": f"numpy {np.__version__}", "models": M, "k": k,
                      "us_per_batch": times[len(times) // 2] * 1e6}))
