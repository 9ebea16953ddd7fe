#!/usr/bin/env python3
"""int8 accuracy next to ONNX Runtime's int8 on the same models and data (docs/QUANTIZATION.md).

For scikit-learn's digits MLP (64-128-64-10) and diabetes MLP regressor
(fixtures/onnx/skl_mlp_{digits_128_64,diabetes_64_32}.onnx), calibrated on the training split of
fixtures/data and scored on its test split:
- instinct: `instinct convert`, then `instinct quantize --activations dynamic|static`, predicted
  through the Python package;
- ONNX Runtime: quantize_dynamic (per-tensor, per-channel) and quantize_static (QOperator,
  per-tensor, per-channel, u8 activations, s8 weights) on the same ONNX file, with the whole
  test set in one call and row by row (its dynamic quantisation takes one range per call).

Prints a markdown table: test accuracy (digits) or R² (diabetes) of each, and for the
classifier the share of rows whose class agrees with the f32 model's.

Run: python3 benches/int8_accuracy.py --instinct target/release/instinct
"""
import argparse
import os
import subprocess
import tempfile

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                      quantize_dynamic, quantize_static)

import instinct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
p = argparse.ArgumentParser()
p.add_argument("--instinct", default="target/release/instinct")
a = p.parse_args()
tmp = tempfile.mkdtemp(prefix="int8-accuracy-")


def load(name, part):
    t = np.loadtxt(os.path.join(ROOT, "fixtures", "data", f"{name}_{part}.csv"), delimiter=",",
                   skiprows=1)
    return t[:, :-1].astype(np.float32), t[:, -1]


def r2(y, p):
    return 1 - ((y - p) ** 2).sum() / ((y - y.mean()) ** 2).sum()


class Rows(CalibrationDataReader):
    def __init__(self, name, x):
        self.it = iter(x[i:i + 64] for i in range(0, len(x), 64))
        self.name = name

    def get_next(self):
        b = next(self.it, None)
        return None if b is None else {self.name: b}


def ort_outputs(path, x, row_by_row=False):
    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    name = s.get_inputs()[0].name
    # The probabilities (a classifier's second output) or the prediction.
    pick = -1
    if row_by_row:
        return np.concatenate([np.asarray(s.run(None, {name: x[i:i + 1]})[pick]).reshape(1, -1)
                               for i in range(len(x))])
    return np.asarray(s.run(None, {name: x})[pick]).reshape(len(x), -1)


print("| model | engine | quantisation | test score | agrees with f32 |")
print("|---|---|---|---|---|")
for stem, data, classify in [("skl_mlp_digits_128_64", "digits", True),
                             ("skl_mlp_diabetes_64_32", "diabetes", False)]:
    onnx_path = os.path.join(ROOT, "fixtures", "onnx", stem + ".onnx")
    xtr, _ = load(data, "train")
    xte, yte = load(data, "test")
    score = (lambda out: (out.argmax(1) == yte).mean()) if classify else \
        (lambda out: r2(yte, out[:, 0]))
    metric = "accuracy" if classify else "R²"
    results = []
    # instinct
    model_json = os.path.join(tmp, stem + ".json")
    subprocess.run([a.instinct, "convert", onnx_path, "-o", model_json], check=True,
                   stderr=subprocess.DEVNULL)
    calibration = os.path.join(tmp, data + "_calibration.npy")
    np.save(calibration, xtr)
    f32 = instinct.load(model_json).predict(xte)
    results.append(("instinct", "f32", f32))
    for mode in ["dynamic", "static"]:
        out = os.path.join(tmp, f"{stem}.{mode}.json")
        subprocess.run([a.instinct, "quantize", model_json, "--calibration", calibration,
                        "--activations", mode, "-o", out], check=True, stderr=subprocess.DEVNULL)
        results.append(("instinct", f"int8 {mode} (per row)" if mode == "dynamic"
                        else "int8 static minmax", instinct.load(out).predict(xte)))
    # ONNX Runtime
    name = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"]).get_inputs()[0].name
    ort_f32 = ort_outputs(onnx_path, xte)
    results.append(("ONNX Runtime", "f32", ort_f32))
    for per_channel in [False, True]:
        kind = "per-channel" if per_channel else "per-tensor"
        dyn = os.path.join(tmp, f"{stem}.dyn.{kind}.onnx")
        quantize_dynamic(onnx_path, dyn, per_channel=per_channel, weight_type=QuantType.QInt8)
        results.append(("ONNX Runtime", f"int8 dynamic {kind}, test set in one call",
                        ort_outputs(dyn, xte)))
        results.append(("ONNX Runtime", f"int8 dynamic {kind}, row by row",
                        ort_outputs(dyn, xte, row_by_row=True)))
        st = os.path.join(tmp, f"{stem}.static.{kind}.onnx")
        quantize_static(onnx_path, st, Rows(name, xtr), quant_format=QuantFormat.QOperator,
                        per_channel=per_channel, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8)
        results.append(("ONNX Runtime", f"int8 static {kind}", ort_outputs(st, xte)))
    for engine, quant, out in results:
        reference = f32 if engine == "instinct" else ort_f32
        agree = f"{(out.argmax(1) == reference.argmax(1)).mean() * 100:.2f}%" if classify else ""
        s = score(out)
        shown = f"{s * 100:.2f}%" if classify else f"{s:.4f}"
        print(f"| {stem} | {engine} | {quant} | {metric} {shown} | {agree} |", flush=True)
