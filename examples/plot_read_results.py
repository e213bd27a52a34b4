"""
Reading the reproduction outputs
================================

``skvae reproduce`` writes ``results.csv`` (one row per cell and seed) next to its
tables and figures. This example reads the committed MNIST run of this repository
(``docs/results/mnist``) and plots macro F1 against the training size per condition.
"""

from pathlib import Path

import matplotlib.pyplot as plt

from skvae.experiment import read_results

here = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
results = next(
    p / "docs" / "results" / "mnist" / "results.csv"
    for p in [here, *here.parents]
    if (p / "docs" / "results" / "mnist" / "results.csv").exists()
)
rows = read_results(results)
print(f"{len(rows)} cells read from {results.parent.name}/results.csv")

# %%
for condition in ("CNN", "AUG", "VAE", "AUG+VAE"):
    points = {}
    for row in rows:
        if row["condition"] == condition:
            points.setdefault(int(row["size"]), []).append(float(row["f1"]))
    sizes = sorted(points)
    plt.plot(sizes, [sum(points[s]) / len(points[s]) for s in sizes], "o-", label=condition)
plt.xscale("log")
plt.xlabel("training images")
plt.ylabel("macro F1 (%)")
plt.legend()
plt.show()
