#!/usr/bin/env python3
"""ONNX Runtime peer benchmark: the same model (exported by make_models.py --onnx) over N random
samples in batches, with a fixed number of intra-op threads. Prints one JSON object like
`instinct bench --json`.

Run: python3 benches/onnxruntime_bench.py benches/models/seed_250_300_200.onnx --threads 1
"""
import argparse
import json
import statistics
import time

import numpy as np
import onnxruntime as ort

p = argparse.ArgumentParser()
p.add_argument("model")
p.add_argument("--threads", type=int, default=1)
p.add_argument("--samples", type=int, default=200_000)
p.add_argument("--batch", type=int, default=8192)
p.add_argument("--runs", type=int, default=5)
a = p.parse_args()

opts = ort.SessionOptions()
opts.intra_op_num_threads = a.threads
opts.inter_op_num_threads = 1
opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
session = ort.InferenceSession(a.model, opts, providers=["CPUExecutionProvider"])
inp = session.get_inputs()[0]
features = inp.shape[1]
x = np.random.default_rng(42).uniform(-1, 1, size=(a.samples, features)).astype(np.float32)

def run():
    for start in range(0, a.samples, a.batch):
        session.run(None, {inp.name: x[start:start + a.batch]})

run()  # warm-up
times = []
for _ in range(a.runs):
    t = time.perf_counter()
    run()
    times.append(time.perf_counter() - t)
s = statistics.median(times)
print(json.dumps({"peer": "onnxruntime " + ort.__version__, "threads": a.threads, "batch": a.batch,
                  "samples": a.samples, "seconds": s, "samples_per_sec": a.samples / s,
                  "ns_per_sample": s / a.samples * 1e9}))
