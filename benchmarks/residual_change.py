"""How far generated MNIST digits lie from the training digits they may derive from.

For one balanced training subset (as ``skvae reproduce`` draws it) the
class-VAEs generate one digit per real one, with ``generation="decode"`` (the
paper) and ``generation="residual"`` (same seed, so the same class-VAEs), and
SMOTE interpolates as a yardstick. Per generator it reports the L2 distance
(pixels in [0, 1]) of each generated digit to its nearest training digit of the
same class, against the distance between two distinct training digits of a
class, and how much the nearest training digit's pixels change. No test data
is used. Run::

    python benchmarks/residual_change.py --size 100

Writes ``benchmarks/results/residual_change.{json,md}``.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.metrics import pairwise_distances

from skvae import benchmarking as bm

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _cli  # noqa: E402


def nearest_same_class(X_new, y_new, X_train, y_train) -> tuple[np.ndarray, np.ndarray]:
    """L2 distance of each new row to its nearest training row of its class, and that row."""
    dist = np.empty(len(X_new))
    nearest = np.empty_like(X_new)
    for label in np.unique(y_new):
        new, real = X_new[y_new == label], X_train[y_train == label]
        d = pairwise_distances(new, real)
        dist[y_new == label] = d.min(1)
        nearest[y_new == label] = real[d.argmin(1)]
    return dist, nearest


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100, help="training images (balanced)")
    parser.add_argument("--latent", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    _cli.add_common_args(parser)
    args = parser.parse_args(argv)
    threads = bm.set_threads(args.threads)

    from imblearn.over_sampling import SMOTE

    from skvae import VAEOversampler
    from skvae.experiment.config import VAE_DEFAULTS, oversampler_params
    from skvae.experiment.data import load_dataset, make_cv

    data = load_dataset("mnist", str(args.data_home))
    cv = make_cv(args.size, args.seed, test_size_per_class=1, test_mask=data.test_mask)
    train, _ = next(cv.split(data.data, data.target))
    X, y = data.data[train], data.target[train]
    per_class = args.size // 10

    pairs = []
    for label in np.unique(y):
        real = X[y == label]
        d = pairwise_distances(real)
        pairs.append(d[np.triu_indices(len(real), 1)])
    pair_l2 = float(np.median(np.concatenate(pairs)))
    rows = [dict(generator="two training digits", median_l2=pair_l2)]

    vae_params = oversampler_params(VAE_DEFAULTS)
    samplers = {
        "VAE (decode)": VAEOversampler(args.latent, random_state=args.seed, **vae_params),
        "VAE (residual)": VAEOversampler(
            args.latent, generation="residual", random_state=args.seed, **vae_params
        ),
        "SMOTE": SMOTE(k_neighbors=min(5, per_class - 1), random_state=args.seed),
    }
    for name, sampler in samplers.items():
        if name == "SMOTE":  # balanced data: ask for one new digit per real one
            sampler.set_params(sampling_strategy={c: 2 * per_class for c in np.unique(y)})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            X_res, y_res = sampler.fit_resample(X, y)
        new, new_y = X_res[len(X) :], y_res[len(X) :]
        dist, nearest = nearest_same_class(new, new_y, X, y)
        change = np.abs(new - nearest)
        rows.append(
            dict(
                generator=name,
                median_l2=float(np.median(dist)),
                mean_abs_pixel_change=float(change.mean()),
                pixels_changed_over_0_1=float((change > 0.1).mean()),
            )
        )

    columns = ["generator", "median_l2", "mean_abs_pixel_change", "pixels_changed_over_0_1"]
    meta = dict(
        size=args.size,
        latent=args.latent,
        seed=args.seed,
        torch_threads=threads,
    )
    notes = [
        "median_l2: median over generated digits of the L2 distance (784 pixels in [0, 1]) "
        "to the nearest training digit of the same class; for 'two training digits', the "
        "median distance between two distinct training digits of a class.",
        "mean_abs_pixel_change, pixels_changed_over_0_1: against that nearest training digit.",
    ]
    title = "Distance to the nearest training digit"
    bm.write_table("residual_change", title, rows, columns, meta, out_dir=args.out, notes=notes)


if __name__ == "__main__":
    main()
