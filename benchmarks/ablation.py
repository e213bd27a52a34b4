"""Ablation: which settings make VAE augmentation pay off under honest evaluation?

Each *arm* is one way of training the CNN (with or without VAE images); every
arm runs on the same balanced MNIST training subsets (one per seed, as in
``skvae reproduce``) and is scored by macro F1 on a fixed class-balanced subset
of the official MNIST test set that no estimator sees. The CNN's early stopping
uses real validation rows drawn from the training subset only.

Run (about 75 s of one core per arm, size and seed at size 50)::

    python benchmarks/ablation.py --sizes 50 --seeds 0 1 2 --n-jobs 2

Each finished run is appended at once to ``<out>/ablation_runs.jsonl`` (a rerun
skips finished runs); the summary goes to ``<out>/ablation.md``: per size and
arm the mean +- std of macro F1 and the mean paired difference to the arm's
reference (``CNN`` for VAE arms, ``AUG`` for AUG+VAE arms), with the number of
seeds it won.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import warnings
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_DATA_HOME = BENCH_DIR.parents[1] / "shared" / "data" / "mnist"

#: CNN settings common to every arm (overridden per arm).
BASE_CNN = dict(max_epochs=100, patience=10, min_steps=300, validation_fraction=0.2)
#: VAE settings common to every VAE arm (overridden per arm).
BASE_VAE = dict(augment_size=1.0, max_epochs=200, min_steps=0, patience=20)
NEST = dict(synthetic_weight=0.5, synthetic_refresh=True)

#: name -> dict(form=none|pipeline|nested, aug=bool, cnn={...}, vae={...}).
ARMS: dict[str, dict] = {
    "CNN": dict(form="none"),
    "CNN ms0": dict(form="none", cnn=dict(min_steps=0)),
    "AUG": dict(form="none", aug=True),
    "AUG ms0": dict(form="none", aug=True, cnn=dict(min_steps=0)),
    "VAE pipeline": dict(form="pipeline"),
    "VAE nested w1": dict(form="nested", cnn=dict(synthetic_weight=1.0)),
    "VAE nested w.5 fresh": dict(form="nested", cnn=NEST),
    "VAE nested w.25 fresh x4": dict(
        form="nested", cnn=dict(NEST, synthetic_weight=0.25), vae=dict(augment_size=4.0)
    ),
    "VAE nested w.5 fresh filter.5": dict(form="nested", cnn=NEST, vae=dict(filter_threshold=0.5)),
    "VAE nested w.5 fresh vae1000": dict(
        form="nested", cnn=NEST, vae=dict(min_steps=1000, max_epochs=1000)
    ),
    "VAE nested w.5 fresh val0": dict(form="nested", cnn=NEST, vae=dict(validation_fraction=0.0)),
    "VAE nested w.5 fresh gmm": dict(form="nested", cnn=NEST, vae=dict(latent_sampler="gmm")),
    "VAE nested w.5 fresh beta.5": dict(form="nested", cnn=NEST, vae=dict(beta=0.5)),
    # Longer CNN training: augmented images make a harder task (AUG at 300 steps
    # fell below CNN at size 50 in the first round).
    "CNN ms1000": dict(form="none", cnn=dict(min_steps=1000)),
    "AUG ms1000": dict(form="none", aug=True, cnn=dict(min_steps=1000)),
    "VAE nested w.5 fresh ms1000": dict(form="nested", cnn=dict(NEST, min_steps=1000)),
    "AUG+VAE nested w.5 fresh ms1000": dict(
        form="nested", aug=True, cnn=dict(NEST, min_steps=1000)
    ),
    "AUG+VAE pipeline ms1000": dict(form="pipeline", aug=True, cnn=dict(min_steps=1000)),
    "VAE nested w.5 fresh pooled": dict(form="nested", cnn=NEST, vae=dict(pretrain="pooled")),
    # The class-VAEs of 4 images collapse to one class-mean image (see
    # docs/ablation.md): a small beta and a long budget make the decoder use
    # its latent code; sampling the class's codes (gmm) then interpolates them.
    "VAE nested w.5 fresh beta.1 vae1000 gmm": dict(
        form="nested",
        cnn=NEST,
        vae=dict(beta=0.1, min_steps=1000, max_epochs=1000, latent_sampler="gmm"),
    ),
    "VAE nested w.5 fresh filter.5 pooled": dict(
        form="nested", cnn=NEST, vae=dict(filter_threshold=0.5, pretrain="pooled")
    ),
}


def build(arm: dict, seed: int, latent: int):
    """The arm's estimator (a CNNClassifier or an imblearn Pipeline)."""
    from imblearn.pipeline import Pipeline

    from skvae import CNNClassifier, RandomAffine, VAEOversampler

    cnn_kw = {**BASE_CNN, **arm.get("cnn", {})}
    if arm.get("aug"):
        cnn_kw["augment"] = RandomAffine(degrees=20, width_shift=0.2, height_shift=0.2)
    vae_kw = {**BASE_VAE, **arm.get("vae", {})}
    if arm["form"] == "none":
        return CNNClassifier(random_state=seed, **cnn_kw)
    sampler = VAEOversampler(latent, random_state=seed, **vae_kw)
    if arm["form"] == "pipeline":
        cnn_kw = {k: v for k, v in cnn_kw.items() if not k.startswith("synthetic_")}
        return Pipeline([("vae", sampler), ("cnn", CNNClassifier(random_state=seed, **cnn_kw))])
    return CNNClassifier(random_state=seed, oversampler=sampler, **cnn_kw)


def run_one(name: str, size: int, seed: int, latent: int, data_home: str, test_per_class: int):
    """Fit one arm on one training subset; return its JSON row."""
    import torch
    from sklearn.metrics import accuracy_score, f1_score

    from skvae.experiment.grid import load_dataset, make_cv

    torch.set_num_threads(1)
    data = load_dataset("mnist", data_home)
    cv = make_cv(size, seed, test_size_per_class=test_per_class, test_mask=data.test_mask)
    train, test = next(cv.split(data.data, data.target))
    arm = ARMS[name]
    model = build(arm, seed, latent)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model.fit(data.data[train], data.target[train])
    fit_s = time.perf_counter() - start
    pred = model.predict(data.data[test])
    cnn = model.named_steps["cnn"] if hasattr(model, "named_steps") else model
    return dict(
        arm=name,
        size=size,
        seed=seed,
        latent=latent,
        f1=100 * f1_score(data.target[test], pred, average="macro"),
        accuracy=100 * accuracy_score(data.target[test], pred),
        epochs=int(cnn.n_epochs_),
        best_epoch=int(cnn.best_epoch_),
        fit_seconds=round(fit_s, 1),
        test_per_class=test_per_class,
        spec=json.dumps(arm, sort_keys=True, default=repr),
    )


def reference(name: str) -> str | None:
    """The arm a VAE arm is compared with: same CNN budget, no VAE."""
    arm = ARMS[name]
    if name in ("CNN", "AUG"):
        return None
    base = "AUG" if arm.get("aug") else "CNN"
    if arm["form"] == "none":
        return base
    steps = arm.get("cnn", {}).get("min_steps", BASE_CNN["min_steps"])
    return base if steps == BASE_CNN["min_steps"] else f"{base} ms{steps}"


def summarise(rows: list[dict]) -> str:
    """Markdown table: mean +- std per (size, arm), paired difference to the reference."""
    by = {(r["size"], r["arm"], r["seed"]): r["f1"] for r in rows}
    lines = [
        "| size | arm | seeds | macro F1 (mean +- std) | diff. to reference | wins | "
        "epochs | fit s |",
        "|---:|---|---:|---|---|---:|---:|---:|",
    ]
    for size in sorted({r["size"] for r in rows}):
        for name in ARMS:
            mine = [r for r in rows if r["size"] == size and r["arm"] == name]
            if not mine:
                continue
            f1 = [r["f1"] for r in mine]
            std = statistics.stdev(f1) if len(f1) > 1 else 0.0
            ref = reference(name)
            diff, wins = "", ""
            if ref is not None:
                pairs = [
                    (r["f1"], by[(size, ref, r["seed"])])
                    for r in mine
                    if (size, ref, r["seed"]) in by
                ]
                if pairs:
                    d = [a - b for a, b in pairs]
                    diff = f"{statistics.mean(d):+.1f} vs {ref}"
                    wins = f"{sum(x > 0 for x in d)}/{len(d)}"
            lines.append(
                f"| {size} | {name} | {len(f1)} | {statistics.mean(f1):.1f} +- {std:.1f} | "
                f"{diff} | {wins} | {statistics.mean(r['epochs'] for r in mine):.0f} | "
                f"{statistics.mean(r['fit_seconds'] for r in mine):.0f} |"
            )
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 250])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--latent", type=int, default=3)
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    parser.add_argument("--test-per-class", type=int, default=300)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--data-home", default=str(DEFAULT_DATA_HOME))
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results")
    args = parser.parse_args(argv)

    from joblib import Parallel, delayed

    args.out.mkdir(parents=True, exist_ok=True)
    runs_path = args.out / "ablation_runs.jsonl"
    rows = []
    if runs_path.exists():
        rows = [json.loads(line) for line in runs_path.read_text().splitlines() if line]
    done = {(r["arm"], r["size"], r["seed"], r["latent"], r["spec"]) for r in rows}
    todo = [
        (name, size, seed)
        for size in args.sizes
        for seed in args.seeds
        for name in args.arms
        if (name, size, seed, args.latent, json.dumps(ARMS[name], sort_keys=True, default=repr))
        not in done
    ]
    print(f"{len(todo)} runs to do, {len(rows)} done", flush=True)
    jobs = (
        delayed(run_one)(n, s, seed, args.latent, args.data_home, args.test_per_class)
        for n, s, seed in todo
    )
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    for row in Parallel(n_jobs=args.n_jobs, return_as="generator_unordered")(jobs):
        rows.append(row)
        with runs_path.open("a") as fh:  # one line per finished run: nothing lost on ^C
            fh.write(json.dumps(row) + "\n")
        print(
            f"{row['size']:>5} seed {row['seed']} {row['arm']:<32} F1 {row['f1']:5.1f} "
            f"({row['epochs']} epochs, {row['fit_seconds']:.0f}s)",
            flush=True,
        )
    table = summarise(rows)
    (args.out / "ablation.md").write_text(
        "# Ablation (benchmarks/ablation.py)\n\n"
        f"MNIST, latent {args.latent}, test subset {args.test_per_class} per class "
        "(official test set), macro F1 in %.\n\n" + table
    )
    print(table)


if __name__ == "__main__":
    main()
