"""scikit-learn's MLPClassifier on the digits split, with the settings `instinct train` uses for
docs/PERFORMANCE.md: 64 ReLU hidden units, Adam (learning rate 1e-3), batch 32, 100 epochs, no L2
penalty, inputs standardised, every epoch run (no early stop). Prints the median fit time of five
runs and the test accuracy.

    pip install numpy scikit-learn
    python benches/train_sklearn.py
"""

import statistics
import time
from pathlib import Path

import numpy as np
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

DATA = Path(__file__).resolve().parent.parent / "fixtures" / "data"


def load(name):
    table = np.loadtxt(DATA / name, delimiter=",", skiprows=1)
    return table[:, :-1], table[:, -1].astype(int)


def main():
    x_train, y_train = load("digits_train.csv")
    x_test, y_test = load("digits_test.csv")
    scaler = StandardScaler().fit(x_train)
    x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
    times, accuracies = [], []
    for seed in range(5):
        model = MLPClassifier(
            hidden_layer_sizes=(64,),
            activation="relu",
            solver="adam",
            alpha=0.0,
            batch_size=32,
            learning_rate_init=1e-3,
            max_iter=100,
            tol=0.0,
            n_iter_no_change=100,
            shuffle=True,
            random_state=seed,
        )
        started = time.perf_counter()
        model.fit(x_train, y_train)
        times.append(time.perf_counter() - started)
        accuracies.append(model.score(x_test, y_test))
    print(
        f"scikit-learn MLPClassifier digits 64-64-10: median fit {statistics.median(times):.3f} s "
        f"(runs {', '.join(f'{t:.3f}' for t in times)}), test accuracy "
        f"{', '.join(f'{a:.4f}' for a in accuracies)}"
    )


if __name__ == "__main__":
    main()
