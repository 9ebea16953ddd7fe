#!/usr/bin/env python3
"""ONNX Runtime's int8 configurations on one f32 model, to find ORT's best for the int8 issue.

The f32 model (exported by make_models.py --onnx) is quantised with onnxruntime.quantization four
ways: dynamic (MatMulInteger / DynamicQuantizeLinear) per-tensor and per-channel, and static
QOperator (QLinearMatMul / QGemm, u8 activations, s8 weights) per-tensor and per-channel,
calibrated on 1,024 rows of the benchmark's input distribution. Each, and the f32 model itself,
is timed over N random samples at every batch size and thread count asked for (medians of
`--runs` after a warm-up). Prints one JSON object per measurement and, at the end, the fastest
configuration per thread count (`"best": true`).

Run: python3 benches/onnxruntime_int8_bench.py benches/models/seed_250_300_200.onnx \
         --threads 1 2 --batches 64 256 1024 4096 8192
"""
import argparse
import json
import os
import statistics
import tempfile
import time

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                      quantize_dynamic, quantize_static)

p = argparse.ArgumentParser()
p.add_argument("model")
p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
p.add_argument("--batches", type=int, nargs="+", default=[64, 256, 1024, 4096, 8192])
p.add_argument("--samples", type=int, default=200_000)
p.add_argument("--runs", type=int, default=5)
p.add_argument("--configs", nargs="+",
               default=["f32", "dynamic-tensor", "dynamic-channel", "static-tensor",
                        "static-channel"])
a = p.parse_args()


def input_of(path):
    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return s.get_inputs()[0]


inp = input_of(a.model)
features = inp.shape[1]
x = np.random.default_rng(42).uniform(-1, 1, size=(a.samples, features)).astype(np.float32)
calibration = np.random.default_rng(7).uniform(-1, 1, size=(1024, features)).astype(np.float32)


class Rows(CalibrationDataReader):
    def __init__(self):
        self.rows = iter(calibration[i:i + 64] for i in range(0, len(calibration), 64))

    def get_next(self):
        batch = next(self.rows, None)
        return None if batch is None else {inp.name: batch}


tmp = tempfile.mkdtemp(prefix="ort-int8-")
paths = {"f32": a.model}
for config in a.configs:
    if config == "f32":
        continue
    out = os.path.join(tmp, config + ".onnx")
    per_channel = config.endswith("channel")
    if config.startswith("dynamic"):
        quantize_dynamic(a.model, out, per_channel=per_channel, weight_type=QuantType.QInt8)
    else:
        quantize_static(a.model, out, Rows(), quant_format=QuantFormat.QOperator,
                        per_channel=per_channel, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8)
    paths[config] = out

results = []
for threads in a.threads:
    for config in a.configs:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(paths[config], opts, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        for batch in a.batches:
            def run():
                for start in range(0, a.samples, batch):
                    session.run(None, {name: x[start:start + batch]})

            run()  # warm-up
            times = []
            for _ in range(a.runs):
                t = time.perf_counter()
                run()
                times.append(time.perf_counter() - t)
            s = statistics.median(times)
            r = {"peer": "onnxruntime " + ort.__version__, "config": config, "threads": threads,
                 "batch": batch, "samples": a.samples, "seconds": s,
                 "samples_per_sec": a.samples / s, "ns_per_sample": s / a.samples * 1e9}
            results.append(r)
            print(json.dumps(r), flush=True)

for threads in a.threads:
    for kind in ("f32", "int8"):
        mine = [r for r in results if r["threads"] == threads
                and (r["config"] == "f32") == (kind == "f32")]
        if mine:
            best = max(mine, key=lambda r: r["samples_per_sec"])
            print(json.dumps(dict(best, best=kind)), flush=True)
