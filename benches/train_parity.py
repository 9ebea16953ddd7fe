"""`instinct train` against scikit-learn's MLPClassifier / MLPRegressor with both tools'
defaults (one hidden layer of 100 ReLU units, Adam 1e-3, batch min(200, rows), at most 200
epochs, L2 alpha 1e-4, tol 1e-4 over 10 epochs, no held-out rows), on the held-out test split of
each bundled data set, seeds 0, 1, 2. Inputs are standardised on both sides (instinct does it in
the model; scikit-learn through StandardScaler). Prints the mean test score of each and the
median training time (instinct: the time it prints for the fit alone; scikit-learn: `fit`).

Two tables: first with each tool's own stopping rule (the loss improved by less than tol for 10
epochs), so the two may stop after different numbers of epochs; then with the same epochs on
both sides (stopping off: `--patience 200` and `n_iter_no_change=200`, so exactly 200 epochs),
which compares the work of training itself.

    python3 -m venv /tmp/skenv && /tmp/skenv/bin/pip install numpy scikit-learn
    cargo build --release -p instinct-cli
    /tmp/skenv/bin/python benches/train_parity.py

Other data sets (CSV with a header, features then a `target` column, NAME_train.csv and
NAME_test.csv): PARITY_DATA=DIR PARITY_SETS=NAME:classify,NAME:regress. The synthetic sets of
benches/make_synthetic_sets.py, which neither tool was tuned on:

    /tmp/skenv/bin/python benches/make_synthetic_sets.py /tmp/synthetic
    PARITY_DATA=/tmp/synthetic PARITY_SETS=reg:regress,fried:regress,cls3:classify,cls5:classify \
        /tmp/skenv/bin/python benches/train_parity.py
"""

import re
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__import__("os").environ.get("PARITY_DATA", ROOT / "fixtures" / "data"))
INSTINCT = ROOT / "target" / "release" / "instinct"
SEEDS = [int(s) for s in __import__("os").environ.get("SEEDS", "0,1,2").split(",")]
SETS = [
    ("iris", "classify"),
    ("wine", "classify"),
    ("breast_cancer", "classify"),
    ("digits", "classify"),
    ("diabetes", "regress"),
]
if __import__("os").environ.get("PARITY_SETS"):
    SETS = [tuple(s.split(":")) for s in __import__("os").environ["PARITY_SETS"].split(",")]


def load(name):
    table = np.loadtxt(DATA / name, delimiter=",", skiprows=1)
    return table[:, :-1], table[:, -1]


EPOCHS = 200


def instinct(name, task, seed, fixed):
    out = Path("/tmp") / f"parity-{name}-{seed}.json"
    stop = ["--patience", str(EPOCHS)] if fixed else []
    run = subprocess.run(
        [str(INSTINCT), "train", "--data", str(DATA / f"{name}_train.csv"), "--target", "target",
         "--task", task, "--test", str(DATA / f"{name}_test.csv"), "--seed", str(seed),
         "--epochs", str(EPOCHS), *stop, "--out", str(out)],
        capture_output=True, text=True, check=True)
    text = run.stderr
    found = re.search(r"trained (\d+) epochs in ([0-9.]+) s", text)
    epochs, seconds = int(found.group(1)), float(found.group(2))
    if task == "classify":
        score = float(re.search(r"test accuracy ([0-9.]+)", text).group(1))
    else:
        score = float(re.search(r"R² (-?[0-9.]+) \(", text).group(1))
    return score, seconds, epochs


def sklearn(name, task, seed, fixed):
    x_train, y_train = load(f"{name}_train.csv")
    x_test, y_test = load(f"{name}_test.csv")
    scaler = StandardScaler().fit(x_train)
    x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
    stop = {"n_iter_no_change": EPOCHS} if fixed else {}
    model = (MLPClassifier if task == "classify" else MLPRegressor)(
        random_state=seed, max_iter=EPOCHS, **stop)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        started = time.perf_counter()
        model.fit(x_train, y_train.astype(int) if task == "classify" else y_train)
        seconds = time.perf_counter() - started
    if task == "classify":
        score = float((model.predict(x_test) == y_test.astype(int)).mean())
    else:
        score = float(r2_score(y_test, model.predict(x_test)))
    return score, seconds, model.n_iter_


def main():
    # Optional arguments: data set names to run (default: all).
    chosen = set(sys.argv[1:])
    if not INSTINCT.exists():
        sys.exit(f"{INSTINCT} is missing: cargo build --release -p instinct-cli")
    for fixed in (False, True):
        table(chosen, fixed)


def table(chosen, fixed):
    print("\n" + ("Same epochs on both sides (200, stopping off)" if fixed else
                  "Each tool's own stopping rule (tol 1e-4 over 10 epochs, at most 200)") + ":\n")
    print("| data set | metric | instinct (mean of 3 seeds) | scikit-learn | difference | "
          "epochs (median) | instinct fit (median) | scikit-learn fit (median) | speed-up |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, task in SETS:
        if chosen and name not in chosen:
            continue
        ours = [instinct(name, task, s, fixed) for s in SEEDS]
        theirs = [sklearn(name, task, s, fixed) for s in SEEDS]
        a = statistics.mean(r[0] for r in ours)
        b = statistics.mean(r[0] for r in theirs)
        ta = statistics.median(r[1] for r in ours)
        tb = statistics.median(r[1] for r in theirs)
        ea = statistics.median(r[2] for r in ours)
        eb = statistics.median(r[2] for r in theirs)
        metric = "accuracy" if task == "classify" else "R²"
        print(f"| {name} | {metric} | {a:.4f} | {b:.4f} | {a - b:+.4f} | {ea} / {eb} | "
              f"{ta:.3f} s | {tb:.3f} s | {tb / ta:.1f}× |", flush=True)

if __name__ == "__main__":
    main()
