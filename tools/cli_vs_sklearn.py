#!/usr/bin/python3
"""The `mlp` command beside scikit-learn's MLPClassifier/MLPRegressor on the
tables scikit-learn ships (breast cancer, wine, diabetes): the same split,
the same layers, optimizer, learning rate, batch and epochs, inputs
standardised by the training rows in both. Prints a Markdown table of test
accuracy or RMSE and training time (docs/cli.md).

    /usr/bin/python3 tools/cli_vs_sklearn.py [path/to/mlp]   (default build/bin/mlp)
Needs Debian's python3-sklearn.
"""
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

MLP = sys.argv[1] if len(sys.argv) > 1 else "build/bin/mlp"
CASES = [  # name, loader, task, hidden, epochs, learning rate
    ("breast cancer", load_breast_cancer, "classify", (64,), 50, 1e-3),
    ("wine", load_wine, "classify", (64,), 100, 1e-3),
    ("diabetes", load_diabetes, "regress", (64, 32), 300, 1e-2),
]
REPEATS = 5


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def write_csv(path, x, y):
    np.savetxt(path, np.column_stack([x, y]), delimiter=",", fmt="%.9g")


def run_mlp(tmp, task, hidden, epochs, lr, seed):
    model = os.path.join(tmp, "m.mlp")
    cmd = [MLP, "train", os.path.join(tmp, "train.csv"), "-o", model, "--task", task, "--standardize",
           "--hidden", ",".join(map(str, hidden)), "--optim", "adam",
           "--lr", str(lr), "--batch", "32", "--epochs", str(epochs), "--seed", str(seed),
           "--quiet"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    secs = time.perf_counter() - t0
    out = subprocess.run([MLP, "eval", model, os.path.join(tmp, "test.csv")], check=True,
                         capture_output=True, text=True).stdout
    fields = dict(kv.split("=") for kv in out.split()[:2])
    return float(fields["accuracy"] if task == "classify" else fields["rmse"]), secs


def run_sklearn(xtr, ytr, xte, yte, task, hidden, epochs, lr, seed):
    kw = dict(hidden_layer_sizes=hidden, activation="relu", solver="adam", learning_rate_init=lr,
              batch_size=32, max_iter=epochs, alpha=0.0, shuffle=True, random_state=seed,
              tol=0.0, n_iter_no_change=epochs + 1, early_stopping=False)
    est = MLPClassifier(**kw) if task == "classify" else MLPRegressor(**kw)
    model = make_pipeline(StandardScaler(), est)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(xtr, ytr)
    secs = time.perf_counter() - t0
    pred = model.predict(xte)
    if task == "classify":
        return float(np.mean(pred == yte)), secs
    return float(np.sqrt(np.mean((pred - yte) ** 2))), secs


def main():
    print(f"cpu: {cpu_model()}; {REPEATS} seeds each, median time, mean score (min..max)\n")
    print("| data set | rows x inputs | layers | epochs | metric | mlp | scikit-learn "
          "| mlp time | scikit-learn time |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, load, task, hidden, epochs, lr in CASES:
        d = load()
        xtr, xte, ytr, yte = train_test_split(d.data, d.target, test_size=0.25, random_state=0,
                                              stratify=d.target if task == "classify" else None)
        ours, theirs = [], []
        with tempfile.TemporaryDirectory() as tmp:
            write_csv(os.path.join(tmp, "train.csv"), xtr, ytr)
            write_csv(os.path.join(tmp, "test.csv"), xte, yte)
            for seed in range(REPEATS):
                ours.append(run_mlp(tmp, task, hidden, epochs, lr, seed))
                theirs.append(run_sklearn(xtr, ytr, xte, yte, task, hidden, epochs, lr, seed))

        def score(rs):
            s = [r[0] for r in rs]
            return f"{np.mean(s):.3f} ({min(s):.3f}..{max(s):.3f})"

        def secs(rs):
            return f"{np.median([r[1] for r in rs]):.3f} s"

        layers = "-".join(map(str, (d.data.shape[1],) + hidden
                              + ((len(set(d.target)),) if task == "classify" else (1,))))
        print(f"| {name} | {d.data.shape[0]} x {d.data.shape[1]} | {layers} | {epochs} "
              f"| {'accuracy' if task == 'classify' else 'RMSE'} | {score(ours)} "
              f"| {score(theirs)} | {secs(ours)} | {secs(theirs)} |")


if __name__ == "__main__":
    main()
