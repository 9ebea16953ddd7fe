#!/usr/bin/env python3
"""instinct's int8 and f32 engines against ONNX Runtime's, on the seed model, in one harness.

The f32 seed model (benches/models/seed_250_300_200.{json,onnx}, from make_models.py --onnx) is
quantised by `instinct quantize` (dynamic and static) and by onnxruntime.quantization (dynamic
and static QOperator, per-tensor and per-channel, u8 activations, s8 weights), calibrated on the
same 1,024 rows of the benchmark's distribution. Every configuration then predicts the same
200,000 rows (uniform in [-1, 1]) in batches of each size asked for, on 1 and 2 threads:
instinct through its Python package (`instinct.Model.predict`, the GIL released, the same
numpy arrays ONNX Runtime gets, a new output array per call), ONNX Runtime through an
InferenceSession. The runs are
interleaved round by round (one timed pass of every configuration per round), so a slow
moment of this shared machine hits them all alike; each figure is the median over the rounds.

Prints one JSON object per measurement, then the summary: for each thread count the best
configuration of each engine family and the ratios.

Run (a venv with numpy, onnx, onnxruntime and the instinct package: pip install ./python):
    python3 benches/make_models.py --onnx
    python3 benches/int8_peers.py --instinct target/release/instinct
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                      quantize_dynamic, quantize_static)

import instinct

HERE = os.path.dirname(os.path.abspath(__file__))
p = argparse.ArgumentParser()
p.add_argument("--instinct", default="target/release/instinct",
               help="the instinct binary, for `instinct quantize`")
p.add_argument("--model", default=os.path.join(HERE, "models", "seed_250_300_200"))
p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
p.add_argument("--batches", type=int, nargs="+", default=[64, 256, 1024, 8192])
p.add_argument("--samples", type=int, default=200_000)
p.add_argument("--rounds", type=int, default=5)
a = p.parse_args()

tmp = tempfile.mkdtemp(prefix="int8-peers-")
f32_json, f32_onnx = a.model + ".json", a.model + ".onnx"
features = ort.InferenceSession(f32_onnx, providers=["CPUExecutionProvider"]).get_inputs()[0].shape[1]
x = np.random.default_rng(42).uniform(-1, 1, size=(a.samples, features)).astype(np.float32)
calibration = np.random.default_rng(7).uniform(-1, 1, size=(1024, features)).astype(np.float32)
np.save(os.path.join(tmp, "calibration.npy"), calibration)

# instinct's models.
instinct_models = {"instinct f32": f32_json}
for mode in ["dynamic", "static"]:
    out = os.path.join(tmp, f"seed.{mode}.json")
    subprocess.run([a.instinct, "quantize", f32_json, "--calibration",
                    os.path.join(tmp, "calibration.npy"), "--activations", mode, "-o", out],
                   check=True, stderr=subprocess.DEVNULL)
    instinct_models[f"instinct int8 {mode}"] = out


class Rows(CalibrationDataReader):
    def __init__(self, name):
        self.name = name
        self.rows = iter(calibration[i:i + 64] for i in range(0, len(calibration), 64))

    def get_next(self):
        batch = next(self.rows, None)
        return None if batch is None else {self.name: batch}


# ONNX Runtime's models.
input_name = ort.InferenceSession(f32_onnx, providers=["CPUExecutionProvider"]).get_inputs()[0].name
ort_models = {"ort f32": f32_onnx}
for config in ["dynamic-tensor", "dynamic-channel", "static-tensor", "static-channel"]:
    out = os.path.join(tmp, config + ".onnx")
    per_channel = config.endswith("channel")
    if config.startswith("dynamic"):
        quantize_dynamic(f32_onnx, out, per_channel=per_channel, weight_type=QuantType.QInt8)
    else:
        quantize_static(f32_onnx, out, Rows(input_name), quant_format=QuantFormat.QOperator,
                        per_channel=per_channel, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8)
    ort_models["ort int8 " + config] = out


def runner(name, path, threads):
    """A function predicting every batch of x, and the family it belongs to."""
    if name.startswith("instinct"):
        model = instinct.load(path)

        # A new output array per call, as ONNX Runtime's session.run returns (writing into
        # one array of all 200,000 rows instead costs ~130 ns a row here: its pages are cold).
        def go(batch):
            for start in range(0, a.samples, batch):
                model.predict(x[start:start + batch], threads=threads)
        return go
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])

    def go(batch):
        for start in range(0, a.samples, batch):
            session.run(None, {input_name: x[start:start + batch]})
    return go


results = []
for threads in a.threads:
    configs = [(name, path, batch) for name, path in {**instinct_models, **ort_models}.items()
               for batch in a.batches]
    runners = {name: runner(name, path, threads)
               for name, path in {**instinct_models, **ort_models}.items()}
    times = {c: [] for c in configs}
    for name, _, batch in configs:
        runners[name](batch)  # warm-up
    for _ in range(a.rounds):
        for c in configs:
            t = time.perf_counter()
            runners[c[0]](c[2])
            times[c].append(time.perf_counter() - t)
    for (name, _, batch), ts in times.items():
        s = statistics.median(ts)
        r = {"engine": name, "threads": threads, "batch": batch, "samples": a.samples,
             "seconds": s, "samples_per_sec": a.samples / s, "ns_per_sample": s / a.samples * 1e9}
        results.append(r)
        print(json.dumps(r), flush=True)

print(json.dumps({"onnxruntime": ort.__version__, "rounds": a.rounds}))
for threads in a.threads:
    mine = [r for r in results if r["threads"] == threads]

    def best(prefix):
        return max((r for r in mine if r["engine"].startswith(prefix)),
                   key=lambda r: r["samples_per_sec"])
    families = {"instinct int8": best("instinct int8"), "instinct f32": best("instinct f32"),
                "ort int8": best("ort int8"), "ort f32": best("ort f32")}
    for family, r in families.items():
        print(f"threads {threads}: best {family}: {r['engine']}, batch {r['batch']}: "
              f"{r['samples_per_sec']:,.0f} samples/s ({r['ns_per_sample']:.0f} ns/sample)")
    ratio = lambda p, q: families[p]["samples_per_sec"] / families[q]["samples_per_sec"]
    print(f"threads {threads}: instinct int8 / ort int8 = {ratio('instinct int8', 'ort int8'):.3f}; "
          f"instinct int8 / instinct f32 = {ratio('instinct int8', 'instinct f32'):.3f}; "
          f"instinct f32 / ort f32 = {ratio('instinct f32', 'ort f32'):.3f}")
