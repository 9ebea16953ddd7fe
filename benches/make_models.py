#!/usr/bin/env python3
"""Writes the benchmark models into benches/models/ (deterministic: fixed seeds).

- seed_250_300_200.json: the seed README's network, 250 -> 300 (ReLU) -> 200 (Sigmoid).
- tiny_2_7_relu_1.json, tiny_2_7_tanh_1.json, tiny_8_32_32_1.json: the tiny-net latency models.
- many_16_32_8.json: the architecture of the many-model benchmark (`instinct bench --engine batched`).
With --onnx (needs the `onnx` package) also NAME.onnx with the same weights, for ONNX Runtime.

Run: python3 benches/make_models.py [--onnx]
"""
import json
import math
import os
import random
import re
import struct
import sys

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models")


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def mlp(name, sizes, activations, seed):
    rng = random.Random(seed)
    weights, bias, instructions = [], [], []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        limit = math.sqrt(6.0 / (n_in + n_out))
        weights.append([[f32(rng.uniform(-limit, limit)) for _ in range(n_in)] for _ in range(n_out)])
        bias.append([f32(rng.uniform(-0.1, 0.1)) for _ in range(n_out)])
        instructions.append({"type": "DOT", "input": i, "output": i + 1, "weights": i,
                             "activation": activations[i]})
    model = {"feature_size": sizes[0], "buffer_sizes": sizes, "instructions": instructions,
             "weights": weights, "bias": bias}
    # Floats as 9 significant digits, which is enough to give back every f32 exactly.
    text = json.dumps(model, separators=(",", ":"))
    text = re.sub(r"-?\d+\.\d+(e-?\d+)?", lambda m: "%.9g" % float(m.group(0)), text)
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        f.write(text)
    return model


def to_onnx(name, model):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    import numpy as np
    nodes, inits = [], []
    current = "x"
    for i, (w, b, ins) in enumerate(zip(model["weights"], model["bias"], model["instructions"])):
        wt = np.array(w, dtype=np.float32).T  # [in][out] for MatMul
        inits.append(numpy_helper.from_array(wt, f"w{i}"))
        inits.append(numpy_helper.from_array(np.array(b, dtype=np.float32), f"b{i}"))
        nodes.append(helper.make_node("Gemm", [current, f"w{i}", f"b{i}"], [f"z{i}"]))
        act = {"RELU": "Relu", "SIGMOID": "Sigmoid", "TANH": "Tanh", None: "Identity"}[ins["activation"]]
        nodes.append(helper.make_node(act, [f"z{i}"], [f"h{i}"]))
        current = f"h{i}"
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", model["buffer_sizes"][0]])],
        [helper.make_tensor_value_info(current, TensorProto.FLOAT, ["n", model["buffer_sizes"][-1]])],
        inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(HERE, name + ".onnx"))


if __name__ == "__main__":
    os.makedirs(HERE, exist_ok=True)
    models = {
        "seed_250_300_200": mlp("seed_250_300_200", [250, 300, 200], ["RELU", "SIGMOID"], 1),
        "tiny_2_7_relu_1": mlp("tiny_2_7_relu_1", [2, 7, 1], ["RELU", None], 2),
        "tiny_2_7_tanh_1": mlp("tiny_2_7_tanh_1", [2, 7, 1], ["TANH", None], 3),
        "tiny_8_32_32_1": mlp("tiny_8_32_32_1", [8, 32, 32, 1], ["TANH", "TANH", None], 4),
        "many_16_32_8": mlp("many_16_32_8", [16, 32, 8], ["RELU", "TANH"], 5),
    }
    if "--onnx" in sys.argv:
        for name, model in models.items():
            to_onnx(name, model)
    print("wrote", ", ".join(sorted(models)), "to", HERE)
