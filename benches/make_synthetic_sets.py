"""Writes four synthetic tabular data sets that no default of instinct or scikit-learn was tuned
on, split 80/20 as the bundled ones (NAME_train.csv, NAME_test.csv; features f0.., then
`target`), for `benches/train_parity.py` (PARITY_DATA / PARITY_SETS):

- reg: make_regression, 2,000 rows, 20 features (10 informative), noise 10;
- fried: make_friedman1, 2,000 rows, 10 features, noise 0.5 (non-linear regression);
- cls3: make_classification, 2,000 rows, 20 features, 3 classes, 2 clusters each;
- cls5: make_classification, 3,000 rows, 30 features, 5 classes, 5 % of labels flipped.

    python3 benches/make_synthetic_sets.py DIR
"""

import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import make_classification, make_friedman1, make_regression
from sklearn.model_selection import train_test_split


def save(folder, name, x, y):
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=0)
    header = ",".join([f"f{i}" for i in range(x.shape[1])] + ["target"])
    for part, a, b in (("train", x_train, y_train), ("test", x_test, y_test)):
        np.savetxt(folder / f"{name}_{part}.csv", np.column_stack([a, b]), delimiter=",",
                   header=header, comments="", fmt="%.10g")


def main():
    folder = Path(sys.argv[1])
    folder.mkdir(parents=True, exist_ok=True)
    save(folder, "reg", *make_regression(n_samples=2000, n_features=20, n_informative=10,
                                         noise=10.0, random_state=1))
    save(folder, "fried", *make_friedman1(n_samples=2000, n_features=10, noise=0.5,
                                          random_state=1))
    save(folder, "cls3", *make_classification(n_samples=2000, n_features=20, n_informative=8,
                                              n_classes=3, n_clusters_per_class=2,
                                              random_state=1))
    save(folder, "cls5", *make_classification(n_samples=3000, n_features=30, n_informative=10,
                                              n_classes=5, flip_y=0.05, random_state=2))


if __name__ == "__main__":
    main()
