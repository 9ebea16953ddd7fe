"""Writes the models of docs/PERFORMANCE.md's table of extension activations: a 64 → 256 → 256
→ 10 (softmax) net, the same seeded weights, whose two hidden layers use RELU, LEAKY_RELU or ELU.

    python3 benches/extension_models.py /tmp
    target/release/instinct bench /tmp/bench_elu.json --engine batch --threads 1 --samples 100000
"""

import json
import random
import sys

random.seed(1)
SIZES = [64, 256, 256, 10]


def layer(inputs, outputs):
    rows = [[random.uniform(-1, 1) / inputs**0.5 for _ in range(inputs)] for _ in range(outputs)]
    return rows, [random.uniform(-0.1, 0.1) for _ in range(outputs)]


slots = [layer(a, b) for a, b in zip(SIZES, SIZES[1:])]
folder = sys.argv[1] if len(sys.argv) > 1 else "."
for name, activation in [("relu", "RELU"), ("leaky", {"LEAKY_RELU": {"alpha": 0.01}}),
                         ("elu", {"ELU": {"alpha": 1.0}})]:
    model = {
        "feature_size": SIZES[0],
        "buffer_sizes": SIZES,
        "instructions": [
            {"type": "DOT", "input": 0, "output": 1, "weights": 0, "activation": activation},
            {"type": "DOT", "input": 1, "output": 2, "weights": 1, "activation": activation},
            {"type": "DOT", "input": 2, "output": 3, "weights": 2, "activation": "SOFTMAX"},
        ],
        "weights": [w for w, _ in slots],
        "bias": [b for _, b in slots],
    }
    with open(f"{folder}/bench_{name}.json", "w") as f:
        json.dump(model, f)
