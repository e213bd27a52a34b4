"""VAEOversampler against SMOTE & co. on imbalanced tabular data.

"Beyond the paper": the paper oversamples images; :class:`skvae.VAEOversampler`
also handles tabular rows (``image_shape="auto"`` sees that the rows are not
images in [0, 1] and trains one :class:`~skvae.nn.MLPVAE`, Gaussian likelihood
on standardised features, per class). This script asks whether its synthetic
rows help a classifier on imbalanced tabular data more than imbalanced-learn's
classic over-samplers do.

Data sets (all bundled with scikit-learn, loaded with ``load_*``, never
downloaded), made imbalanced with :func:`imblearn.datasets.make_imbalance`
seeded with the run's seed (so every seed draws a different subset):

``breast_cancer``
    30 features, 2 classes; malignant (0) cut to 40 rows against 357 benign
    (10% minority).
``wine``
    13 features, 3 classes, counts ``{0: 59, 1: 20, 2: 8}``.
``digits``
    scikit-learn's 8x8 digits read as 64 tabular features (values 0..16), 10
    classes; classes 3, 5 and 8 (often confused) cut to 10% of their rows
    (18 each), the other seven keep about 180.

Protocol, per data set, classifier and seed ``s`` in ``0 .. --seeds - 1``:
an imbalanced-learn ``Pipeline([("scale", StandardScaler()), ("sampler", S),
("clf", C)])`` is scored by :func:`sklearn.model_selection.cross_validate` with
``StratifiedKFold(--folds, shuffle=True, random_state=s)`` on macro F1 and
balanced accuracy. The sampler step ``S`` is one of

- ``none``: no resampling (``"passthrough"``);
- ``ros``: ``RandomOverSampler(random_state=s)``;
- ``smote``: ``SMOTE(random_state=s)``;
- ``adasyn``: ``ADASYN(random_state=s)``;
- ``vae``: ``VAEOversampler(latent=--latent, sampling_strategy="auto",
  random_state=s)``, i.e. balance every class up to the majority like the
  others do ("auto" is imbalanced-learn's default; skvae's own default
  "augment" would also add rows to the majority class).

The classifiers are ``LogisticRegression(max_iter=1000)`` (``logreg``) and
``RandomForestClassifier(n_estimators=100, random_state=s)`` (``rf``).

Nothing is tuned, on the test folds or anywhere else: every sampler and
classifier runs with its library defaults (the VAE's only setting is the latent
size, fixed before the run; ``--max-epochs`` exists to make the test fast). The
resampling happens inside the pipeline, so only the training folds are
resampled and every test fold holds real rows only. The sampler sits after the
scaler: SMOTE, ADASYN and the VAE work in the standardised space (the VAE
standardises each class once more internally).

Reported per data set and classifier: mean +- standard deviation over the seeds
of the fold-mean scores, and the mean seconds to fit one pipeline (scaler,
sampler and classifier; fold and seed means). Wilcoxon signed-rank tests
(``scipy.stats.wilcoxon``, two-sided) pair the VAE with SMOTE and with no
resampling over the (data set, seed) fold-means, per classifier and metric.
With 5 seeds per data set the smallest possible two-sided p-value of a single
data set is 0.0625, so only the pooled tests can reach 0.05.

Run::

    python benchmarks/tabular.py                      # all data sets, 5 seeds, logreg + rf
    python benchmarks/tabular.py --seeds 3 --classifiers logreg --datasets wine

Results go to ``benchmarks/results/tabular.json`` and ``.md``. One thread
(``torch.set_num_threads(1)`` and BLAS limited to 1) unless ``--threads``.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _cli  # noqa: E402
import numpy as np  # noqa: E402
from imblearn.datasets import make_imbalance  # noqa: E402
from imblearn.over_sampling import ADASYN, SMOTE, RandomOverSampler  # noqa: E402
from imblearn.pipeline import Pipeline  # noqa: E402
from scipy.stats import wilcoxon  # noqa: E402
from sklearn import datasets as skdata  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import StratifiedKFold, cross_validate  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skvae import VAEOversampler  # noqa: E402
from skvae import benchmarking as bm  # noqa: E402
from skvae.experiment.config import oversampler_params  # noqa: E402

SAMPLERS = ("none", "ros", "smote", "adasyn", "vae")
CLASSIFIERS = ("logreg", "rf")
METRICS = {"f1": "f1_macro", "bacc": "balanced_accuracy"}
METRIC_NAMES = {"f1": "macro F1", "bacc": "balanced accuracy"}
_ERROR_LINE = re.compile(r"^[A-Za-z_.]*(Error|Exception): ")


# ------------------------------------------------------------------- data
def _breast_cancer(seed: int):
    X, y = skdata.load_breast_cancer(return_X_y=True)
    return make_imbalance(X, y, sampling_strategy={0: 40, 1: 357}, random_state=seed)


def _wine(seed: int):
    X, y = skdata.load_wine(return_X_y=True)
    return make_imbalance(X, y, sampling_strategy={0: 59, 1: 20, 2: 8}, random_state=seed)


def _digits(seed: int):
    X, y = skdata.load_digits(return_X_y=True)
    counts = np.bincount(y)
    target = {c: int(n) for c, n in enumerate(counts)}
    for c in (3, 5, 8):
        target[c] = int(round(0.1 * counts[c]))
    return make_imbalance(X, y, sampling_strategy=target, random_state=seed)


#: name -> (seed -> (X, y)): the imbalanced data set drawn with that seed.
DATASETS: dict[str, Callable[[int], tuple[np.ndarray, np.ndarray]]] = {
    "breast_cancer": _breast_cancer,
    "wine": _wine,
    "digits": _digits,
}


# ------------------------------------------------------------ estimators
def make_sampler(name: str, seed: int, latent: int = 2, vae_params: dict | None = None):
    """The pipeline's sampler step (``"passthrough"`` for ``none``)."""
    if name == "none":
        return "passthrough"
    if name == "ros":
        return RandomOverSampler(random_state=seed)
    if name == "smote":
        return SMOTE(random_state=seed)
    if name == "adasyn":
        return ADASYN(random_state=seed)
    if name == "vae":
        return VAEOversampler(
            latent=latent,
            sampling_strategy="auto",
            random_state=seed,
            **oversampler_params(vae_params or {}),
        )
    raise ValueError(f"unknown sampler {name!r}; choose from {SAMPLERS}")


def make_classifier(name: str, seed: int):
    if name == "logreg":
        return LogisticRegression(max_iter=1000)
    if name == "rf":
        return RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=1)
    raise ValueError(f"unknown classifier {name!r}; choose from {CLASSIFIERS}")


def make_pipeline(sampler: str, classifier: str, seed: int, latent: int = 2, vae_params=None):
    return Pipeline(
        [
            ("scale", StandardScaler()),
            ("sampler", make_sampler(sampler, seed, latent, vae_params)),
            ("clf", make_classifier(classifier, seed)),
        ]
    )


# ------------------------------------------------------------------- core
def run_benchmark(
    datasets: Sequence[str] = tuple(DATASETS),
    seeds: Sequence[int] = range(5),
    classifiers: Sequence[str] = ("logreg",),
    samplers: Sequence[str] = SAMPLERS,
    *,
    latent: int = 2,
    n_folds: int = 5,
    vae_params: dict | None = None,
    data: dict[str, Callable[[int], tuple[np.ndarray, np.ndarray]]] | None = None,
    log: Callable[[str], None] | None = print,
) -> list[dict]:
    """Cross-validate every (data set, classifier, seed, sampler); one record each.

    A record holds the fold-means ``f1`` and ``bacc``, the mean ``fit_s`` of one
    pipeline fit, ``failed`` (folds that raised; their scores are left out of
    the means) and the first error message, if any. ``data`` maps names to
    ``seed -> (X, y)`` loaders (default :data:`DATASETS`).
    """
    data = DATASETS if data is None else data
    records = []
    for ds in datasets:
        for seed in seeds:
            X, y = data[ds](seed)
            cv = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
            for clf in classifiers:
                for sampler in samplers:
                    pipe = make_pipeline(sampler, clf, seed, latent, vae_params)
                    start = time.perf_counter()
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        try:
                            res = cross_validate(
                                pipe,
                                X,
                                y,
                                cv=cv,
                                scoring=METRICS,
                                n_jobs=1,
                                error_score=np.nan,
                            )
                        except ValueError as exc:  # every fold failed
                            if "fits failed" not in str(exc):
                                raise
                            caught.append(warnings.WarningMessage(str(exc), UserWarning, "", 0))
                            nan = np.full(n_folds, np.nan)
                            res = {"test_f1": nan, "test_bacc": nan, "fit_time": nan}
                    wall = time.perf_counter() - start
                    errors = [
                        line.strip()
                        for w in caught
                        if "fits failed" in str(w.message)
                        for line in str(w.message).splitlines()
                        if _ERROR_LINE.match(line.strip())
                    ]
                    f1 = np.asarray(res["test_f1"], dtype=float)
                    ok = np.isfinite(f1)
                    rec = {
                        "dataset": ds,
                        "classifier": clf,
                        "seed": int(seed),
                        "sampler": sampler,
                        "n_rows": int(len(y)),
                        "class_counts": {
                            int(k): int(v) for k, v in zip(*np.unique(y, return_counts=True))
                        },
                        "f1": float(f1[ok].mean()) if ok.any() else float("nan"),
                        "bacc": float(np.asarray(res["test_bacc"])[ok].mean())
                        if ok.any()
                        else float("nan"),
                        "f1_folds": [round(float(v), 6) for v in f1],
                        "bacc_folds": [round(float(v), 6) for v in res["test_bacc"]],
                        "fit_s": float(np.nanmean(res["fit_time"])) if ok.any() else float("nan"),
                        "wall_s": wall,
                        "failed": int((~ok).sum()),
                        "error": errors[0] if errors else None,
                    }
                    records.append(rec)
                    if log is not None:
                        log(
                            f"{ds:14s} seed {seed} {clf:6s} {sampler:6s} "
                            f"F1 {rec['f1']:.3f}  BA {rec['bacc']:.3f}  "
                            f"fit {rec['fit_s']:.2f}s  failed {rec['failed']}"
                        )
    return records


# --------------------------------------------------------------- summary
def _pm(values: Sequence[float]) -> str:
    if not len(_finite(values)):
        return "-"
    return f"{_mean(values):.3f} ± {_std(values):.3f}"


def _finite(values) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    return v[np.isfinite(v)]


def _mean(values) -> float:
    v = _finite(values)
    return float(v.mean()) if len(v) else float("nan")


def _std(values) -> float:
    v = _finite(values)
    return float(v.std(ddof=1)) if len(v) > 1 else (0.0 if len(v) else float("nan"))


def summary_tables(records: Sequence[dict]) -> dict[str, list[dict]]:
    """Per (data set, classifier): one row per sampler, mean ± std over seeds."""
    tables: dict[str, list[dict]] = {}
    keys = list(dict.fromkeys((r["dataset"], r["classifier"]) for r in records))
    for ds, clf in keys:
        rows = []
        part = [r for r in records if r["dataset"] == ds and r["classifier"] == clf]
        for sampler in dict.fromkeys(r["sampler"] for r in part):
            rs = [r for r in part if r["sampler"] == sampler]
            f1 = [r["f1"] for r in rs]
            ba = [r["bacc"] for r in rs]
            rows.append(
                {
                    "sampler": sampler,
                    "macro F1": _pm(f1),
                    "balanced acc.": _pm(ba),
                    "fit s": _mean([r["fit_s"] for r in rs]),
                    "seeds": len(rs),
                    "failed folds": sum(r["failed"] for r in rs),
                    "f1_mean": _mean(f1),
                    "f1_std": _std(f1),
                    "bacc_mean": _mean(ba),
                    "bacc_std": _std(ba),
                }
            )
        tables[f"{ds} / {clf}"] = rows
    return tables


SUMMARY_COLUMNS = ["sampler", "macro F1", "balanced acc.", "fit s", "seeds", "failed folds"]


def _paired(records, clf, metric, a, b, datasets):
    by = {
        (r["dataset"], r["seed"], r["sampler"]): r[metric]
        for r in records
        if r["classifier"] == clf
    }
    pairs = [
        (by[(ds, s, a)], by[(ds, s, b)])
        for (ds, s, smp) in by
        if smp == a and ds in datasets and (ds, s, b) in by
    ]
    pairs = [(x, y) for x, y in pairs if math.isfinite(x) and math.isfinite(y)]
    return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])


def wilcoxon_rows(records: Sequence[dict], a: str = "vae", others=("smote", "none")) -> list[dict]:
    """``a`` against each of ``others``: pooled over all data sets and per data set."""
    rows = []
    datasets = list(dict.fromkeys(r["dataset"] for r in records))
    classifiers = list(dict.fromkeys(r["classifier"] for r in records))
    samplers = {r["sampler"] for r in records}
    if a not in samplers:
        return rows
    for clf in classifiers:
        for b in others:
            if b not in samplers:
                continue
            for metric in METRICS:
                for scope in ["all", *datasets] if len(datasets) > 1 else datasets:
                    sel = datasets if scope == "all" else [scope]
                    xa, xb = _paired(records, clf, metric, a, b, sel)
                    diff = xa - xb
                    nonzero = diff[diff != 0]
                    if len(nonzero) == 0:
                        p = float("nan")
                    else:
                        p = float(wilcoxon(xa, xb, zero_method="wilcox").pvalue)
                    rows.append(
                        {
                            "classifier": clf,
                            "comparison": f"{a} vs {b}",
                            "metric": METRIC_NAMES[metric],
                            "data sets": scope,
                            "pairs": len(diff),
                            f"{a} wins": int((diff > 0).sum()),
                            "ties": int((diff == 0).sum()),
                            f"{a} losses": int((diff < 0).sum()),
                            "mean diff": float(diff.mean()) if len(diff) else float("nan"),
                            "median diff": float(np.median(diff)) if len(diff) else float("nan"),
                            "p-value": p,
                        }
                    )
    return rows


def _fmt_rows(rows, digits=4):
    """Round the float columns for the markdown (the json keeps full precision)."""
    out = []
    for row in rows:
        new = {}
        for k, v in row.items():
            if isinstance(v, float) and math.isfinite(v):
                new[k] = f"{v:+.4f}" if "diff" in k else f"{v:.{digits}f}"
            else:
                new[k] = v
        out.append(new)
    return out


# ------------------------------------------------------------------- main
def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument(
        "--classifiers", nargs="+", default=list(CLASSIFIERS), choices=list(CLASSIFIERS)
    )
    parser.add_argument("--samplers", nargs="+", default=list(SAMPLERS), choices=list(SAMPLERS))
    parser.add_argument("--latent", type=int, default=2, help="VAE latent size (default 2)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--max-epochs",
        type=int,
        default=None,
        help="VAEOversampler max_epochs (default: the library's, 200); for quick checks",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch and BLAS threads (default 1)")
    parser.add_argument("--out", type=Path, default=_cli.RESULTS_DIR)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    from threadpoolctl import threadpool_limits

    args = parse_args(argv)
    threads = bm.set_threads(args.threads)
    vae_params = {} if args.max_epochs is None else {"max_epochs": args.max_epochs}
    start = time.perf_counter()
    load_start = bm.load_average()
    with threadpool_limits(limits=args.threads):
        records = run_benchmark(
            args.datasets,
            range(args.seeds),
            args.classifiers,
            args.samplers,
            latent=args.latent,
            n_folds=args.folds,
            vae_params=vae_params,
        )
    runtime = time.perf_counter() - start

    summaries = summary_tables(records)
    tests = wilcoxon_rows(records)
    tables = {}
    for title, rows in summaries.items():
        bm.print_table(rows, SUMMARY_COLUMNS, title=title)
        tables[title] = (rows, SUMMARY_COLUMNS)
    if tests:
        test_cols = list(tests[0])
        bm.print_table(_fmt_rows(tests), test_cols, title="Wilcoxon signed-rank tests")
        tables["Wilcoxon signed-rank tests (paired over data set x seed fold-means)"] = (
            _fmt_rows(tests),
            test_cols,
        )
    errors = sorted({f"{r['dataset']}/{r['sampler']}: {r['error']}" for r in records if r["error"]})
    notes = [
        "Scores: mean ± standard deviation over seeds of the mean over "
        f"{args.folds} stratified folds; fit s: mean seconds to fit one pipeline "
        "(scaler + sampler + classifier) on a training fold.",
        "Nothing tuned: library defaults for every sampler and classifier; the VAE "
        f"uses latent={args.latent}, sampling_strategy='auto' (balance to the majority), "
        + (
            "max_epochs=200 (default)."
            if args.max_epochs is None
            else f"max_epochs={args.max_epochs}."
        ),
        "Wilcoxon: two-sided, zero_method='wilcox' (tied pairs dropped); "
        "'mean diff' > 0 favours the VAE. With "
        f"{args.seeds} seeds a single data set cannot reach p < {2 / 2**args.seeds:.4g}.",
        "The VAEOversampler trains a VAE only for the classes it generates rows for: "
        "with sampling_strategy='auto', not for the majority class (before 2026-11-29 it "
        "trained one for every class; the generated rows are the same either way).",
        *(f"Failed fits: {e}" for e in errors),
    ]
    if any(r["sampler"] == "adasyn" and r["failed"] for r in records):
        notes.append(
            "ADASYN raises when a class it must over-sample has no neighbour of another "
            "class among its k nearest ones (with 'auto' it over-samples every class but "
            "the majority, so on digits well-separated classes trigger it); its failed "
            "folds are left out of the means ('-' when all failed)."
        )
    meta = {
        "command": " ".join(["python", "benchmarks/tabular.py", *sys.argv[1:]])
        if argv is None
        else " ".join(["python", "benchmarks/tabular.py", *argv]),
        "seeds": list(range(args.seeds)),
        "datasets": args.datasets,
        "classifiers": args.classifiers,
        "samplers": args.samplers,
        "latent": args.latent,
        "folds": args.folds,
        "vae_max_epochs": args.max_epochs or 200,
        "threads": threads,
        "runtime_s": round(runtime, 1),
        "load_average_start": load_start,
        "load_average_end": bm.load_average(),
    }
    json_path, md_path = bm.write_results("tabular", tables, meta, out_dir=args.out, notes=notes)
    # Every (data set, classifier, seed, sampler) record goes to the json only.
    payload = json.loads(json_path.read_text(encoding="utf-8"))
    payload["runs"] = records
    json_path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"\nruntime {runtime:.0f}s; wrote {json_path} and {md_path}")


if __name__ == "__main__":
    main()
