"""Shared benchmark helpers (benchmarks/_common.py)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import load_benchmark


@pytest.fixture(scope="module")
def common():
    return load_benchmark("_common.py", "bench_common")


def test_held_out_rows_are_balanced_disjoint_and_never_test_rows(common):
    target = np.tile(np.arange(3), 40)  # 120 rows, 40 per class
    is_test = np.zeros(120, dtype=bool)
    is_test[:30] = True
    train = np.arange(30, 45)
    rows = common.held_out_rows(target, is_test, train, per_class=5, seed=0)
    assert np.bincount(target[rows]).tolist() == [5, 5, 5]
    assert not is_test[rows].any() and np.intersect1d(rows, train).size == 0
    assert np.array_equal(rows, np.sort(rows))
    assert np.array_equal(rows, common.held_out_rows(target, is_test, train, 5, seed=0))
    assert not np.array_equal(rows, common.held_out_rows(target, is_test, train, 5, seed=1))
    assert not is_test[30:].any()  # the caller's mask is not modified
    with pytest.raises(ValueError):
        common.held_out_rows(target, is_test, train, per_class=40, seed=0)  # too few left


def test_vae_split_matches_the_oversampler_rule(common):
    import torch

    Xc = torch.arange(20.0).reshape(20, 1)
    train, valid = common.vae_split(Xc, 0.15, seed=3)
    assert (len(train), len(valid)) == (17, 3)  # round(0.15 * 20) = 3
    assert sorted(torch.cat([train, valid]).flatten().tolist()) == list(range(20))
    again = common.vae_split(Xc, 0.15, seed=3)
    assert torch.equal(again[0], train) and torch.equal(again[1], valid)
    # Too few images to hold any out: all train, no validation.
    train, valid = common.vae_split(Xc[:1], 0.6, seed=0)
    assert len(train) == 1 and valid is None


def test_add_vae_args_defaults(common):
    import argparse

    parser = argparse.ArgumentParser()
    common.add_vae_args(parser)
    args = parser.parse_args(["--sizes", "5,10"])
    assert args.sizes == [5, 10] and args.latent == 3 and args.batch_size == 100
    assert args.validation_fraction == 0.15


def test_residual_change_nearest_same_class():
    module = load_benchmark("residual_change.py")
    X_train = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 1.0]])
    y_train = np.array([0, 0, 1])
    # The second new row is nearest the class-1 row overall, but only class 0 counts.
    X_new = np.array([[9.0, 0.0], [0.0, 0.9]])
    dist, nearest = module.nearest_same_class(X_new, np.array([0, 0]), X_train, y_train)
    np.testing.assert_allclose(dist, [1.0, 0.9])
    np.testing.assert_array_equal(nearest, [[10.0, 0.0], [0.0, 0.0]])


def test_write_table_prints_and_writes(common, tmp_path, capsys):
    rows = [dict(generator="SMOTE", median_l2=2.5)]
    paths = common.write_table(
        "demo", "A title", rows, ["generator", "median_l2"], dict(command="x"), out_dir=tmp_path
    )
    out = capsys.readouterr().out
    assert "A title" in out and "SMOTE" in out and f"wrote {paths[0]}" in out
    assert [p.name for p in paths] == ["demo.json", "demo.md"]
    assert "| SMOTE" in paths[1].read_text() and '"A title"' in paths[0].read_text()


def test_write_results_lists_scalar_list_settings(common, tmp_path):
    meta = dict(temperatures=[1.0, 0.5], conditional=[], nested=[[1, 2]], size=100)
    _, md_path = common.write_results("demo", {}, meta, out_dir=tmp_path)
    md = md_path.read_text()
    assert "- temperatures: `1.0, 0.5`" in md and "- size: `100`" in md
    assert "- conditional: `none`" in md and "nested" not in md


def test_machine_info_records_a_command_that_reruns_the_script(common, monkeypatch):
    monkeypatch.setattr("sys.argv", ["/any/where/residual_change.py", "--size", "100"])
    info = common.machine_info()
    assert info["command"] == "python benchmarks/residual_change.py --size 100"
    assert info["logical_cpus"] >= 1
