"""The augmentation-strength study (the paper's Figure 3): levels, cells, figure, CLI."""

from __future__ import annotations

import csv

import pytest
import torch

from skvae import RandomAffine, RandomFlip
from skvae.augment import Compose
from skvae.cli import main
from skvae.experiment.baselines import AUGMENT_LEVELS, augment_at_level
from skvae.experiment.cells import Cell, cell_inputs, cell_key, make_cells
from skvae.experiment.conditions import (
    LATENT_FREE,
    STRENGTH_CONDITIONS,
    augment_level,
    make_pipeline,
)
from skvae.experiment.config import AUGMENT_DEFAULTS, ExperimentConfig
from skvae.experiment.report import plot_augment_strength, wilcoxon_tests, write_reports

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_level_zero_is_the_papers_augmentation():
    assert AUGMENT_LEVELS[0] == AUGMENT_DEFAULTS
    assert augment_at_level(0).get_params() == RandomAffine(**AUGMENT_DEFAULTS).get_params()


def test_levels_grow_stronger():
    def affine(level):
        aug = augment_at_level(level)
        return aug.transforms[0] if isinstance(aug, Compose) else aug

    degrees = [affine(k).degrees for k in range(len(AUGMENT_LEVELS))]
    shifts = [affine(k).width_shift for k in range(len(AUGMENT_LEVELS))]
    assert degrees == sorted(degrees) and degrees[-1] == 180.0
    assert shifts == sorted(shifts)
    last = augment_at_level(len(AUGMENT_LEVELS) - 1)
    flip = last.transforms[1]
    assert isinstance(flip, RandomFlip) and flip.horizontal > 0 and flip.vertical > 0
    assert not isinstance(augment_at_level(1), Compose)  # no flips before level 3
    x = torch.rand(6, 1, 28, 28)
    out = last(x, generator=torch.Generator().manual_seed(0))
    assert out.shape == x.shape and not torch.equal(out, x)


@pytest.mark.parametrize("level", [-1, len(AUGMENT_LEVELS), 1.0, True, "2"])
def test_bad_level(level):
    with pytest.raises(ValueError, match="level must be an integer"):
        augment_at_level(level)


def test_strength_conditions_are_latent_free_cnn_pipelines():
    assert STRENGTH_CONDITIONS == ("AUG@1", "AUG@2", "AUG@3", "AUG@4")
    assert set(STRENGTH_CONDITIONS) <= LATENT_FREE
    assert [augment_level(c) for c in ("AUG", *STRENGTH_CONDITIONS)] == [0, 1, 2, 3, 4]
    assert augment_level("AUG+") is None and augment_level("CNN") is None
    cnn = make_pipeline("AUG@3", random_state=0)["cnn"]
    assert cnn.oversampler is None
    assert repr(cnn.augment) == repr(augment_at_level(3))
    cells = make_cells("digits", [50], [2], ["CNN", *STRENGTH_CONDITIONS], seeds=1)
    assert [c.latent for c in cells] == [None] * 5
    assert Cell("digits", 50, None, "AUG@2", 0).name == "digits-n50-AUG@2-zNA-s0"
    with pytest.raises(ValueError, match="no latent size"):
        Cell("digits", 50, 3, "AUG@2", 0)


def test_each_level_has_its_own_cell_key_and_aug_keeps_its_key():
    params = ExperimentConfig().resolved()
    keys = {
        c: cell_key(Cell("mnist", 50, None, c, 0), params, 700)
        for c in ("AUG", *STRENGTH_CONDITIONS)
    }
    assert len({k.split("-")[-1] for k in keys.values()}) == 5
    # AUG's key is the one the committed MNIST cells were stored under.
    assert "augment_level" not in cell_inputs(Cell("mnist", 50, None, "AUG", 0), params, 700)


def _strength_rows() -> list[dict]:
    rows = []
    for size in (50, 100):
        for seed in range(3):
            base = 60.0 + size / 10 + seed
            rows.append(
                dict(
                    dataset="mnist",
                    size=size,
                    latent=None,
                    condition="CNN",
                    seed=seed,
                    f1=base,
                    accuracy=base,
                    n_test=7000,
                )
            )
            rows.append(
                dict(
                    dataset="mnist",
                    size=size,
                    latent=3,
                    condition="VAE",
                    seed=seed,
                    f1=base + 1,
                    accuracy=base,
                    n_test=7000,
                )
            )
            for level, condition in enumerate(("AUG", *STRENGTH_CONDITIONS)):
                f1 = base + 10 - 4 * level  # stronger augmentation hurts
                rows.append(
                    dict(
                        dataset="mnist",
                        size=size,
                        latent=None,
                        condition=condition,
                        seed=seed,
                        f1=f1,
                        accuracy=f1,
                        n_test=7000,
                    )
                )
    return rows  # fmt: skip


def test_figure3_and_its_comparisons(tmp_path):
    rows = _strength_rows()
    path = plot_augment_strength(rows, tmp_path / "fig3.png")
    assert path.stat().st_size > 0
    assert plot_augment_strength([], tmp_path / "empty.png").stat().st_size > 0
    tests = {(t["a"], t["b"]): t for t in wilcoxon_tests(rows)}
    assert tests[("AUG@1", "CNN")]["verdict"] == "AUG@1 better"
    assert tests[("VAE", "AUG@4")]["verdict"] == "VAE better"
    written = write_reports(rows, tmp_path / "out")
    assert written["fig3"].stat().st_size > 0
    plain = [r for r in rows if r["condition"] not in STRENGTH_CONDITIONS]
    assert "fig3" not in write_reports(plain, tmp_path / "plain")


def test_cli_augment_strength_runs_the_levels_and_writes_figure3(tmp_path, capsys):
    out = tmp_path / "strength"
    args = [
        "reproduce", "--out", str(out), "--sizes", "20", "--seeds", "1",
        "--conditions", "CNN", "--augment-strength", "--test-size-per-class", "10",
        "--cnn-param", "max_epochs=2",
        "--cnn-param", "module__channels=(4,4,4,4)", "--cnn-param", "module__hidden=8",
        "--no-progress",
    ]  # fmt: skip
    assert main(args) == 0
    assert "6 cells: 6 computed" in capsys.readouterr().out  # CNN, AUG, AUG@1..4
    assert (out / "fig3.png").stat().st_size > 0
    table = (out / "table2.md").read_text()
    assert "| CNN | AUG | AUG@1 | AUG@2 | AUG@3 | AUG@4 |" in table
    with open(out / "results.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["condition"] for r in rows) == sorted(["CNN", "AUG", *STRENGTH_CONDITIONS])
    assert all(0.0 <= float(r["f1"]) <= 100.0 for r in rows)
