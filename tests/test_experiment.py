"""The experiment grid, its resumable runner (loky and dask) and the reports."""

from __future__ import annotations

import math
import os
import shutil
import signal
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from conftest import result_row

from skvae import CNNClassifier, RandomAffine, VAEOversampler, VAETraining
from skvae._network import resolve_training
from skvae.experiment import cells as cells_module
from skvae.experiment import runner
from skvae.experiment.cells import Cell, cell_key, make_cells
from skvae.experiment.conditions import (
    ALL_CONDITIONS,
    LATENT_FREE,
    Condition,
    get_condition,
    make_pipeline,
)
from skvae.experiment.config import (
    CNN_DEFAULTS,
    SYNTHETIC_DEFAULTS,
    VAE_DEFAULTS,
    ExperimentConfig,
)
from skvae.experiment.data import load_dataset, make_cv
from skvae.experiment.figures import load_cell_samples, mosaic, plot_generated
from skvae.experiment.paper import PAPER_F1, paper_value
from skvae.experiment.report import (
    paired_differences,
    plot_f1_vs_size,
    read_results,
    summarize,
    table2_markdown,
    table3_markdown,
    wilcoxon_tests,
)
from skvae.experiment.runner import run_grid
from skvae.experiment.store import write_results
from skvae.synthetic import SyntheticRows

#: A results.csv row of a digits run (500 test images).
_row = partial(result_row, n_test=500)

MNIST_HOME = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"

# Tiny estimators: each cell trains in well under a second on digits.
TINY = ExperimentConfig(
    vae_params=dict(max_epochs=2, patience=1),
    cnn_params=dict(max_epochs=4, module__channels=(4, 4, 4, 4), module__hidden=8),
    test_size_per_class=10,
)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ------------------------------------------------------------------ cells
def test_make_cells_runs_latent_free_conditions_once_per_size_and_seed():
    cells = make_cells("digits", [20, 50], [2, 3], seeds=2)
    assert len(cells) == 2 * 2 * (2 + 2 * 2)
    cnn = [c for c in cells if c.condition == "CNN"]
    assert {c.latent for c in cnn} == {None}
    assert len(cnn) == len({(c.size, c.seed) for c in cnn}) == 4
    assert len({c.name for c in cells}) == len(cells)
    # seed by seed: every cell of seed 0 comes before any cell of seed 1
    seeds = [c.seed for c in cells]
    assert seeds == sorted(seeds)


def test_cell_validation():
    with pytest.raises(ValueError, match="latent"):
        Cell("digits", 20, 2, "CNN", 0)
    with pytest.raises(ValueError, match="latent"):
        Cell("digits", 20, None, "VAE", 0)
    with pytest.raises(ValueError, match="condition"):
        Cell("digits", 20, 2, "GAN", 0)
    with pytest.raises(ValueError, match="dataset"):
        Cell("cifar", 20, None, "CNN", 0)
    assert Cell("digits", 20, 2, "AUG+VAE", 3).name == "digits-n20-AUG_VAE-z2-s3"


# -------------------------------------------------------------- pipelines
def test_make_pipeline_conditions_and_defaults():
    cnn = make_pipeline("CNN", random_state=1)
    assert [n for n, _ in cnn.steps] == ["cnn"]
    assert cnn[-1].augment is None and cnn[-1].random_state == 1
    for key, value in CNN_DEFAULTS.items():
        assert getattr(cnn[-1], key) == value

    aug = make_pipeline("AUG", augment_params=dict(degrees=5.0))
    assert isinstance(aug[-1].augment, RandomAffine)
    assert aug[-1].augment.degrees == 5.0 and aug[-1].augment.width_shift == 0.2

    vae = make_pipeline("VAE", 3, random_state=2, vae_params=dict(max_epochs=7))
    assert [n for n, _ in vae.steps] == ["cnn"]
    clf = vae.named_steps["cnn"]
    mixing = clf.oversampler
    sampler = mixing.sampler
    assert isinstance(mixing, SyntheticRows)
    assert isinstance(sampler, VAEOversampler) and isinstance(clf, CNNClassifier)
    assert sampler.latent == 3 and sampler.random_state == 2
    # The flat settings go to the sampler as its training: the override over the defaults.
    assert sampler.training == {
        "max_epochs": 7,
        "min_steps": VAE_DEFAULTS["min_steps"],
        "patience": VAE_DEFAULTS["patience"],
    }
    assert resolve_training(sampler.training, "VAEOversampler") == VAETraining(
        max_epochs=7, min_steps=VAE_DEFAULTS["min_steps"], patience=VAE_DEFAULTS["patience"]
    )
    assert sampler.augment_size == VAE_DEFAULTS["augment_size"]
    assert clf.augment is None
    assert mixing.weight == SYNTHETIC_DEFAULTS["synthetic_weight"]
    assert mixing.refresh == SYNTHETIC_DEFAULTS["synthetic_refresh"]

    both = make_pipeline("AUG+VAE", 2, synthetic_params=dict(synthetic_weight=0.3))
    assert isinstance(both[-1].augment, RandomAffine)
    assert both[-1].oversampler.weight == 0.3 and both[-1].oversampler.sampler.latent == 2
    with pytest.raises(ValueError, match="Unknown synthetic setting"):
        make_pipeline("VAE", 2, synthetic_params=dict(synthetic_steps=3))

    literal = make_pipeline("AUG+VAE", 2, synthetic_params=dict(form="pipeline"))
    assert [n for n, _ in literal.steps] == ["vae", "cnn"]
    assert literal[-1].oversampler is None and isinstance(literal[-1].augment, RandomAffine)
    with pytest.raises(ValueError, match="latent"):
        make_pipeline("VAE")
    with pytest.raises(ValueError, match="form"):
        make_pipeline("VAE", 2, synthetic_params=dict(form="other"))


def test_make_cv_same_test_subset_across_seeds_digits():
    data = load_dataset("digits")
    splits = [
        next(make_cv(50, seed, test_size_per_class=20).split(data.data, data.target))
        for seed in range(3)
    ]
    tests = [test for _, test in splits]
    assert all(np.array_equal(tests[0], t) for t in tests)
    assert not np.array_equal(np.sort(splits[0][0]), np.sort(splits[1][0]))
    for train, test in splits:
        assert not np.intersect1d(train, test).size
        assert np.all(np.bincount(data.target[train]) == 5)
        assert np.all(np.bincount(data.target[test]) == 20)


@pytest.mark.skipif(not MNIST_HOME.exists(), reason="MNIST files not available")
def test_make_cv_mnist_uses_the_official_split():
    data = load_dataset("mnist", str(MNIST_HOME))
    train, test = next(
        make_cv(50, 0, test_size_per_class=700, test_mask=data.test_mask).split(
            data.data, data.target
        )
    )
    assert data.test_mask[test].all() and not data.test_mask[train].any()
    assert np.all(np.bincount(data.target[test]) == 700)
    assert np.all(np.bincount(data.target[train]) == 5)


def test_cell_key_is_pinned():
    # Committed result folders (docs/results/, benchmarks/results/) are keyed by
    # cell_key and runs resume from it: this value, computed with the key's code
    # as of db03d54 (in grid.py), must not change unless a cell's computation does.
    params = {
        "vae": dict(augment_size=1.0, max_epochs=200, patience=20, device="cpu"),
        "cnn": dict(max_epochs=100, min_steps=1000, module__channels=(32, 64, 64, 64), verbose=0),
        "augment": dict(degrees=20.0, width_shift=0.2, height_shift=0.2),
        "synthetic": dict(form="nested", synthetic_weight=0.5, synthetic_refresh=True),
    }
    key = cell_key(Cell("digits", 50, 2, "AUG+VAE", 0), params, 50)
    assert key == "digits-n50-AUG_VAE-z2-s0-94bbf55e38"


def test_every_registered_condition_builds_what_its_entry_says():
    for name in ALL_CONDITIONS:
        condition = get_condition(name)
        latent = 2 if condition.uses_latent else None
        X_unlabeled = np.zeros((3, 64)) if condition.unlabeled else None
        pipe = make_pipeline(
            name, latent, synthetic_params={"form": "nested"}, X_unlabeled=X_unlabeled
        )
        cnn = pipe["cnn"]
        assert (cnn.augment is not None) == (condition.augment is not None)
        assert (cnn.oversampler is not None) == condition.uses_generated
        sampler = getattr(cnn.oversampler, "sampler", None)
        if condition.unlabeled:  # WithUnlabeledRows around the sampler
            assert sampler.X_unlabeled is X_unlabeled
            sampler = sampler.sampler
        assert isinstance(sampler, VAEOversampler) == condition.uses_latent
        assert (name in LATENT_FREE) == (not condition.uses_latent)
    with pytest.raises(ValueError, match="Unknown condition 'MIXUP'"):
        get_condition("MIXUP")
    with pytest.raises(ValueError, match="generator must be one of"):
        Condition("MIXUP", "extra", generator="mixup")


def test_cell_key_depends_only_on_what_the_cell_uses():
    cnn_cell, vae_cell = Cell("digits", 20, None, "CNN", 0), Cell("digits", 20, 2, "VAE", 0)
    base = ExperimentConfig().resolved()
    other_vae = ExperimentConfig(vae_params=dict(max_epochs=3)).resolved()
    other_device = ExperimentConfig(cnn_params=dict(device="cpu", verbose=0)).resolved()
    assert cell_key(cnn_cell, base, 50) == cell_key(cnn_cell, other_vae, 50)
    assert cell_key(vae_cell, base, 50) != cell_key(vae_cell, other_vae, 50)
    assert cell_key(vae_cell, base, 50) == cell_key(vae_cell, other_device, 50)
    assert cell_key(cnn_cell, base, 50) != cell_key(cnn_cell, base, 40)


def test_cell_key_records_the_auto_update_rule(monkeypatch):
    # updates="auto" is a rule in code (AUTO_UPDATES): changing it must change the key
    # of the cells trained by it, and of no other cell.
    auto = ExperimentConfig().resolved()
    assert auto["cnn"]["updates"] == "auto"
    epochs = ExperimentConfig(cnn_params=dict(updates=None, max_epochs=5)).resolved()
    cell, plain = Cell("digits", 20, None, "AUG", 0), Cell("digits", 20, None, "CNN", 0)
    before = cell_key(cell, auto, 50), cell_key(cell, epochs, 50), cell_key(plain, auto, 50)
    monkeypatch.setattr(cells_module, "AUTO_AUGMENTED_EXTRA", 2999)
    assert cell_key(cell, auto, 50) != before[0]  # the extra of augmented training
    assert cell_key(plain, auto, 50) == before[2]  # ... is not the plain CNN's
    monkeypatch.setattr(cells_module, "AUTO_UPDATES", (2000, 21))
    assert cell_key(plain, auto, 50) != before[2]
    assert cell_key(cell, epochs, 50) == before[1]


# ---------------------------------------------------------------- runner
def _mtimes(out: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (out / "cells").glob("*.json")}


def _scores(rows) -> dict:
    return {
        (r["size"], r["latent"], r["condition"], r["seed"]): (r["f1"], r["accuracy"]) for r in rows
    }


@pytest.fixture(scope="module")
def loky_run(tmp_path_factory):
    """A tiny grid run with two loky processes: 2 seeds x (CNN, AUG, VAE, AUG+VAE).

    Its workers run one torch thread, as this module's in-process runs
    (one_torch_thread) and its dask worker do, so the scores compared exactly
    below come from the same computation. Left alone, joblib gives each worker
    cpu_count // n_jobs threads (MKL_NUM_THREADS, which torch follows): 8 on a
    16-core machine, and 1 vs 2 threads already part the class-VAEs' weights
    by up to 4e-5 here.
    """
    out = tmp_path_factory.mktemp("loky")
    cells = make_cells("digits", [20], [2], seeds=2)
    with pytest.MonkeyPatch.context() as patch:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            patch.setenv(var, "1")  # read by joblib when it starts the workers
        run = run_grid(cells, out, TINY, n_jobs=2, backend="loky", progress=False)
    return cells, out, run


def test_run_grid_writes_every_cell(loky_run):
    cells, out, run = loky_run
    assert not run.failures and not run.interrupted
    assert run.n_computed == len(cells) == 8 and run.n_cached == 0
    assert len(run.rows) == 8 and len(_mtimes(out)) == 8
    assert len(list((out / "cells").glob("*.samples.npz"))) == 4  # VAE cells only
    assert not list((out / "cells").glob("*.tmp"))
    assert not list(out.glob(".shared-vae-fits-*"))  # VAE and AUG+VAE shared, then removed
    for row in run.rows:
        assert 0.0 <= row["f1"] <= 100.0 and 0.0 <= row["accuracy"] <= 100.0
        assert row["n_train"] == 20 and row["n_test"] == 100
        assert 1 <= row["best_epoch"] <= row["epochs"] <= 4
        if row["condition"] in ("VAE", "AUG+VAE"):
            assert row["n_generated"] == 20 and row["vae_epochs"] >= 1
            assert row["shared_vae_fit"]  # VAE and AUG+VAE of a seed share class-VAEs
        else:
            assert row["latent"] is None and row["n_generated"] == 0


def test_ctrl_c_in_a_cell_saves_nothing_and_stops_the_run(tmp_path, monkeypatch):
    # In-process (n_jobs=1): skorch alone would swallow the interrupt and the
    # half-trained cell would be saved as finished.
    start_epoch = CNNClassifier.on_epoch_begin

    def ctrl_c_at_epoch_2(self, net, **kwargs):
        if len(net.history) == 1:
            os.kill(os.getpid(), signal.SIGINT)
        return start_epoch(self, net, **kwargs)

    monkeypatch.setattr(CNNClassifier, "on_epoch_begin", ctrl_c_at_epoch_2)
    cells = [c for c in make_cells("digits", [20], [2], seeds=2) if c.condition == "CNN"]
    run = run_grid(cells, tmp_path, TINY, n_jobs=1, progress=False)
    assert run.interrupted and run.n_computed == 0 and not run.failures
    assert not _mtimes(tmp_path) and not list(tmp_path.glob("cells/*.tmp"))


def test_run_grid_resumes_and_recomputes_only_missing_cells(loky_run, tmp_path):
    cells, out, run = loky_run
    before = _mtimes(out)
    again = run_grid(cells, out, TINY, n_jobs=1, progress=False)
    assert again.n_cached == 8 and again.n_computed == 0
    assert _mtimes(out) == before
    assert _scores(again.rows) == _scores(run.rows)

    removed = sorted(before)[0]
    (out / "cells" / removed).unlink()
    partial = run_grid(cells, out, TINY, n_jobs=1, progress=False)
    assert partial.n_cached == 7 and partial.n_computed == 1
    after = _mtimes(out)
    assert {k: v for k, v in after.items() if k != removed} == {
        k: v for k, v in before.items() if k != removed
    }
    assert after[removed] != before[removed]
    # same seed, same estimators: the recomputed cell gives the same scores
    assert _scores(partial.rows) == _scores(run.rows)


def test_run_grid_on_dask_matches_loky(loky_run, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    cells, _, run = loky_run
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        protocol="tcp://",
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        dask_run = run_grid(
            cells,
            tmp_path,
            TINY,
            backend="dask",
            scheduler=cluster.scheduler_address,
            progress=False,
        )
    assert not dask_run.failures and dask_run.n_computed == len(cells)
    assert _scores(dask_run.rows) == _scores(run.rows)


def test_shared_vae_fits_train_once_and_change_no_result(tmp_path, count_vae_training):
    calls = count_vae_training
    cells = make_cells("digits", [20], [2, 3], ["VAE", "AUG+VAE"], seeds=1)
    shared = run_grid(cells, tmp_path / "shared", TINY, progress=False)
    assert len(calls) == 2  # one set of class-VAEs per latent size, not per cell
    alone = run_grid(cells, tmp_path / "alone", TINY, progress=False, share_vae_fits=False)
    assert len(calls) == 6

    def untimed(rows):
        return sorted(
            (sorted((k, v) for k, v in r.items() if not k.endswith("_seconds")) for r in rows),
            key=str,
        )

    assert [r["shared_vae_fit"] for r in shared.rows] == [True] * 4
    assert [r["shared_vae_fit"] for r in alone.rows] == [False] * 4
    for rows in (shared.rows, alone.rows):
        for r in rows:
            del r["shared_vae_fit"]
    assert len(shared.rows) == 4 and untimed(shared.rows) == untimed(alone.rows)
    assert not list((tmp_path / "shared").glob(".shared-vae-fits-*"))


def test_a_failing_cell_is_reported_and_not_saved(tmp_path, monkeypatch):
    run_cell = runner.run_cell

    def vae_cells_fail(cell, *args, **kwargs):
        if cell.condition == "VAE":
            raise RuntimeError("the VAE diverged")
        return run_cell(cell, *args, **kwargs)

    monkeypatch.setattr(runner, "run_cell", vae_cells_fail)
    cells = make_cells("digits", [20], [2], ["CNN", "VAE"], seeds=1)
    with pytest.warns(RuntimeWarning, match="failed"):
        run = run_grid(cells, tmp_path, TINY, progress=False)
    assert list(run.failures) == ["digits-n20-VAE-z2-s0"]
    assert "the VAE diverged" in run.failures["digits-n20-VAE-z2-s0"]
    assert run.n_computed == 1 and [r["condition"] for r in run.rows] == ["CNN"]
    assert len(_mtimes(tmp_path)) == 1


def test_bad_settings_fail_once_before_any_cell(tmp_path):
    config = ExperimentConfig(
        vae_params=dict(beta=-1.0), cnn_params=TINY.cnn_params, test_size_per_class=10
    )
    cells = make_cells("digits", [20], [2], ["CNN", "VAE"], seeds=1)
    with pytest.raises(ValueError, match="'beta' parameter"):
        run_grid(cells, tmp_path, config, progress=False)
    assert not _mtimes(tmp_path)


def test_scheduler_needs_the_dask_backend(tmp_path):
    with pytest.raises(ValueError, match="needs backend='dask'"):
        run_grid(make_cells("digits", [20], [2], seeds=1), tmp_path, TINY, scheduler="tcp://x:1")


def test_impossible_size_fails_once_before_any_cell(tmp_path):
    with pytest.raises(ValueError, match="multiple"):
        run_grid(make_cells("digits", [15], [2], seeds=1), tmp_path, TINY, progress=False)


def test_results_csv_round_trip(loky_run, tmp_path):
    _, out, run = loky_run
    path = write_results(run.rows, tmp_path / "results.csv")
    rows = read_results(path)
    assert len(rows) == 8
    assert _scores(rows) == {k: tuple(round(v, 4) for v in s) for k, s in _scores(run.rows).items()}
    assert {r["latent"] for r in rows} == {None, 2}
    assert path.read_text().splitlines()[0].startswith("dataset,size,latent,condition,seed,f1")


def test_figure2_from_stored_samples(loky_run, tmp_path):
    _, out, run = loky_run
    samples = load_cell_samples(run.rows, out)
    assert list(samples) == [2]
    entry = samples[2]
    assert entry["X"].shape == (80, 64) and entry["size"] == 20 and entry["seed"] == 0
    assert 0.0 <= entry["X"].min() and entry["X"].max() <= 1.0
    path = plot_generated(samples, tmp_path / "fig2.png")
    assert path.stat().st_size > 0
    with pytest.raises(ValueError, match="No generated"):
        plot_generated({}, tmp_path / "none.png")


def test_damaged_samples_are_skipped_with_a_warning(loky_run, tmp_path):
    _, out, run = loky_run
    shutil.copytree(out / "cells", tmp_path / "cells")
    first = load_cell_samples(run.rows, tmp_path)[2]
    assert first["seed"] == 0
    damaged = [r for r in run.rows if r["condition"] == "VAE" and r["seed"] == 0][0]
    path = tmp_path / "cells" / f"{damaged['key']}.samples.npz"
    path.write_bytes(path.read_bytes()[:100])  # a cut-off copy
    with pytest.warns(RuntimeWarning, match="Skipping unreadable samples"):
        samples = load_cell_samples(run.rows, tmp_path)
    # the next cell in order: AUG+VAE of seed 0 (same VAEs), not a failure
    assert samples[2]["seed"] == 0 and samples[2]["X"].shape == first["X"].shape


def test_mosaic_layout():
    X = np.arange(3 * 2 * 4, dtype=float).reshape(6, 4) / 24
    y = np.array([0, 0, 1, 1, 2, 2])
    tiles = mosaic(X, y, (1, 2, 2), pad=1)
    assert tiles.shape == (3 * 3 - 1, 2 * 3 - 1)
    np.testing.assert_allclose(tiles[3:5, 3:5], X[3].reshape(2, 2))


# ---------------------------------------------------------------- reports
def _synthetic_rows(gain: float = 2.0, dataset: str = "digits") -> list[dict]:
    """CNN < VAE by ``gain`` F1 points, AUG = CNN + noise, 3 sizes x 2 latents x 2 seeds."""
    rng = np.random.RandomState(0)
    rows = []
    for size in (50, 100, 250):
        for seed in range(2):
            base = 60.0 + size / 10 + rng.normal()
            rows.append(_row(dataset, size, None, "CNN", seed, base))
            rows.append(_row(dataset, size, None, "AUG", seed, base + rng.normal(0, 0.1)))
            for latent in (2, 3):
                rows.append(_row(dataset, size, latent, "VAE", seed, base + gain + rng.rand()))
    return rows


def test_paired_differences_one_pair_per_training_subset():
    rows = _synthetic_rows()
    # 3 sizes x 2 seeds: a CNN run is not paired once per latent size
    assert len(paired_differences(rows, "VAE", "CNN")) == 3 * 2
    assert len(paired_differences(rows, "CNN", "VAE")) == 3 * 2
    assert len(paired_differences(rows, "AUG", "CNN")) == 3 * 2
    assert len(paired_differences(rows, "VAE", "CNN", latent=2)) == 3 * 2
    assert np.all(paired_differences(rows, "VAE", "CNN") > 0)
    assert np.all(paired_differences(rows, "CNN", "VAE") < 0)


def test_wilcoxon_direction_and_edge_cases():
    rows = _synthetic_rows()
    tests = {(t["a"], t["b"]): t for t in wilcoxon_tests(rows)}
    vae = tests[("VAE", "CNN")]
    assert vae["n_pairs"] == 6 and vae["mean_diff"] > 2.0
    assert vae["p_value"] == pytest.approx(2 / 2**6) and vae["verdict"] == "VAE better"
    assert tests[("VAE", "AUG")]["verdict"] == "VAE better"
    assert tests[("AUG", "CNN")]["verdict"] == "no significant difference"
    assert ("AUG+VAE", "CNN") not in tests  # condition absent: skipped

    worse = {(t["a"], t["b"]): t for t in wilcoxon_tests(_synthetic_rows(gain=-3.0))}
    assert worse[("VAE", "CNN")]["verdict"] == "CNN better"

    ties = [dict(r, f1=70.0) for r in rows]
    tie = {(t["a"], t["b"]): t for t in wilcoxon_tests(ties)}[("VAE", "CNN")]
    assert tie["verdict"] == "all differences zero" and tie["p_value"] == 1.0

    unpaired = [r for r in rows if not (r["condition"] == "CNN" and r["size"] == 50)]
    unpaired = [r for r in unpaired if r["condition"] == "CNN" or r["size"] == 50]
    nopairs = {(t["a"], t["b"]): t for t in wilcoxon_tests(unpaired)}[("VAE", "CNN")]
    assert nopairs["n_pairs"] == 0 and nopairs["verdict"] == "no pairs"
    assert math.isnan(nopairs["p_value"])

    one = {(t["a"], t["b"]): t for t in wilcoxon_tests(rows[:3])}[("VAE", "CNN")]
    assert one["n_pairs"] == 1 and one["verdict"].startswith("too few pairs for p < 0.05")

    text = table3_markdown(wilcoxon_tests(rows))
    assert "| digits | VAE | CNN | 6 |" in text and "VAE better" in text
    assert "Per training size" not in text


def test_wilcoxon_per_size_tests_each_size_alone():
    rows = _synthetic_rows()
    # VAE wins at 50 and 100, loses at 250: pooled it still wins 4 of 6 pairs.
    rows = [
        dict(r, f1=r["f1"] - 5.0) if r["condition"] == "VAE" and r["size"] == 250 else r
        for r in rows
    ]
    pooled = {(t["a"], t["b"]): t for t in wilcoxon_tests(rows)}[("VAE", "CNN")]
    assert pooled["size"] is None and pooled["n_pairs"] == 6 and pooled["n_wins"] == 4
    tests = {(t["size"], t["a"], t["b"]): t for t in wilcoxon_tests(rows, per_size=True)}
    assert {size for size, _, _ in tests} == {50, 100, 250}
    for size, wins in ((50, 2), (100, 2), (250, 0)):
        t = tests[(size, "VAE", "CNN")]
        assert t["n_pairs"] == 2 and t["n_wins"] == wins
        diffs = paired_differences([r for r in rows if r["size"] == size], "VAE", "CNN")
        assert t["mean_diff"] == pytest.approx(diffs.mean())
        # 2 pairs cannot reach p < 0.05 (2 / 2^2 = 0.5).
        assert t["p_value"] == pytest.approx(0.5) and "too few pairs" in t["verdict"]
    text = table3_markdown(wilcoxon_tests(rows), per_size=wilcoxon_tests(rows, per_size=True))
    assert "**Per training size.**" in text
    mean_250 = tests[(250, "VAE", "CNN")]["mean_diff"]
    assert f"| digits | 250 | VAE | CNN | 2 | 0.5 | 0 | {mean_250:+.2f} |" in text
    assert "No comparison possible" in table3_markdown([])


def test_summarize_and_table2_formatting():
    rows = _synthetic_rows(dataset="mnist")
    summary = {(s["size"], s["condition"], s["latent"]): s for s in summarize(rows)}
    cnn50 = [r["f1"] for r in rows if r["condition"] == "CNN" and r["size"] == 50]
    assert summary[(50, "CNN", None)]["n"] == 2
    assert summary[(50, "CNN", None)]["mean"] == pytest.approx(np.mean(cnn50))
    assert summary[(50, "CNN", None)]["std"] == pytest.approx(np.std(cnn50, ddof=1))

    text = table2_markdown(rows)
    header = next(line for line in text.splitlines() if line.startswith("| training images"))
    assert header == "| training images | CNN | AUG | VAE z=2 | VAE z=3 | VAE best |"
    line50 = next(line for line in text.splitlines() if line.startswith("| 50 |"))
    assert "(paper 76.30)" in line50 and "(paper 85.40)" in line50 and "(z=" in line50
    s = summary[(50, "CNN", None)]
    assert f"{s['mean']:.1f} ± {s['std']:.1f} (paper 76.30)" in line50
    line100 = next(line for line in text.splitlines() if line.startswith("| 100 |"))
    assert "(paper 84.38)" in line100 and "(paper 90.90)" in line100  # CNN, VAE z=2
    assert "paper" not in table2_markdown(rows, with_paper=False).split("**mnist**")[1]

    single = [r for r in rows if r["seed"] == 0]
    one_seed = table2_markdown(single)
    assert "±" not in one_seed.split("|---:|")[1]
    # one latent size: no "best" column, which would repeat it
    one_latent = [r for r in rows if r["latent"] in (None, 2)]
    assert "| CNN | AUG | VAE z=2 |\n" in table2_markdown(one_latent)
    digits = [dict(r, dataset="digits") for r in one_latent]
    assert "| CNN | AUG | VAE z=2 |\n" in table2_markdown(digits)
    assert "No finished cell" in table2_markdown([])


def test_plot_f1_vs_size(tmp_path):
    path = plot_f1_vs_size(_synthetic_rows(dataset="mnist"), tmp_path / "f1.png")
    assert path.stat().st_size > 0
    assert plot_f1_vs_size([], tmp_path / "empty.png").stat().st_size > 0


def test_paper_values_have_sources():
    assert paper_value("mnist", 50, "CNN") == 76.3
    assert paper_value("mnist", 250, "VAE best") == 95.93
    assert paper_value("mnist", 100, "CNN") == 84.38
    assert paper_value("mnist", 2000, "CNN") is None
    assert all(v.source for v in PAPER_F1.values())


def test_make_cells_needs_a_seed():
    for seeds in (0, -1, []):
        with pytest.raises(ValueError, match="seeds must be a positive"):
            make_cells("digits", [20], [2], seeds=seeds)
