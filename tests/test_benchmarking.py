"""skvae.benchmarking (timing, matmul peak, FLOPs, results files) and held_out_rows."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from skvae import benchmarking as bm
from skvae.experiment.data import held_out_rows


def test_held_out_rows_are_balanced_disjoint_and_never_test_rows():
    target = np.tile(np.arange(3), 40)  # 120 rows, 40 per class
    is_test = np.zeros(120, dtype=bool)
    is_test[:30] = True
    train = np.arange(30, 45)
    rows = held_out_rows(target, is_test, train, per_class=5, seed=0)
    assert np.bincount(target[rows]).tolist() == [5, 5, 5]
    assert not is_test[rows].any() and np.intersect1d(rows, train).size == 0
    assert np.array_equal(rows, np.sort(rows))
    assert np.array_equal(rows, held_out_rows(target, is_test, train, 5, seed=0))
    assert not np.array_equal(rows, held_out_rows(target, is_test, train, 5, seed=1))
    assert not is_test[30:].any()  # the caller's mask is not modified
    with pytest.raises(ValueError):
        held_out_rows(target, is_test, train, per_class=40, seed=0)  # too few left


def test_held_out_rows_draw_is_fixed():
    # Recorded results (ablation's development rows) depend on this exact draw:
    # default_rng(seed).choice per class, in sorted label order, then sorted.
    target = np.tile(np.arange(3), 10)
    is_test = np.zeros(30, dtype=bool)
    rows = held_out_rows(target, is_test, [0, 1, 2], per_class=2, seed=20190)
    rng = np.random.default_rng(20190)
    expected = np.sort(
        np.concatenate(
            [rng.choice(np.flatnonzero(target == c)[1:], 2, replace=False) for c in range(3)]
        )
    )
    np.testing.assert_array_equal(rows, expected)


def test_vae_split_matches_the_oversampler_rule():
    Xc = torch.arange(20.0).reshape(20, 1)
    train, valid = bm.vae_split(Xc, 0.15, seed=3)
    assert (len(train), len(valid)) == (17, 3)  # round(0.15 * 20) = 3
    assert sorted(torch.cat([train, valid]).flatten().tolist()) == list(range(20))
    again = bm.vae_split(Xc, 0.15, seed=3)
    assert torch.equal(again[0], train) and torch.equal(again[1], valid)
    # Too few images to hold any out: all train, no validation.
    train, valid = bm.vae_split(Xc[:1], 0.6, seed=0)
    assert len(train) == 1 and valid is None


@pytest.mark.parametrize("n, fraction, seed", [(20, 0.15, 3), (7, 0.3, 0), (3, 0.15, 1)])
def test_vae_split_gives_the_rows_fit_vae_trains_and_validates_on(monkeypatch, n, fraction, seed):
    from skvae.nn import MLPVAE, fitting

    seen = {}

    class Stop(Exception):
        pass

    def capture(vae, X_train, X_valid, **kwargs):
        seen.update(train=X_train, valid=X_valid)
        raise Stop

    monkeypatch.setattr(fitting, "train_vae", capture)
    # A bernoulli VAE trains on the rows as they are (a gaussian one standardises them).
    X = np.linspace(0, 1, n * 4, dtype=np.float32).reshape(n, 4)
    with pytest.raises(Stop):
        fitting.fit_vae(
            lambda: MLPVAE(4, 2, likelihood="bernoulli"),
            X,
            seed,
            fitting.VAETraining(validation_fraction=fraction),
        )
    train, valid = bm.vae_split(torch.as_tensor(X), fraction, seed)
    assert torch.equal(seen["train"], train)
    assert (valid is None) == (seen["valid"] is None)
    assert valid is None or torch.equal(seen["valid"], valid)


def test_write_table_prints_and_writes(tmp_path, capsys):
    rows = [dict(generator="SMOTE", median_l2=2.5)]
    paths = bm.write_table(
        "demo", "A title", rows, ["generator", "median_l2"], dict(command="x"), out_dir=tmp_path
    )
    out = capsys.readouterr().out
    assert "A title" in out and "SMOTE" in out and f"wrote {paths[0]}" in out
    assert [p.name for p in paths] == ["demo.json", "demo.md"]
    assert "| SMOTE" in paths[1].read_text() and '"A title"' in paths[0].read_text()


def test_write_results_lists_scalar_list_settings(tmp_path):
    meta = dict(temperatures=[1.0, 0.5], conditional=[], nested=[[1, 2]], size=100)
    _, md_path = bm.write_results("demo", {}, meta, out_dir=tmp_path)
    md = md_path.read_text()
    assert "- temperatures: `1.0, 0.5`" in md and "- size: `100`" in md
    assert "- conditional: `none`" in md and "nested" not in md


def test_write_results_describes_a_combined_peak(tmp_path):
    peak = bm.combine_peaks(
        dict(dtype="float32", n=8, gflops=2.0, samples=[1.0, 2.0, 3.0]),
        dict(dtype="float32", n=8, gflops=5.0, samples=[5.0]),
    )
    assert peak["gflops"] == peak["gflops_max"] == 5.0 and peak["gflops_median"] == 2.5
    assert peak["samples"] == [1.0, 2.0, 3.0, 5.0]
    assert peak["medians_per_measurement"] == [2.0, 5.0]
    json_path, md_path = bm.write_results("demo", {}, {"fp32 peak": peak}, out_dir=tmp_path)
    assert "- fp32 peak: 5.0 GFLOP/s, the best of 4 samples (float32 8x8" in md_path.read_text()
    assert '"medians_per_measurement"' in json_path.read_text()


def test_machine_info_records_a_command_that_reruns_the_script(monkeypatch):
    monkeypatch.setattr("sys.argv", ["/any/where/residual_change.py", "--size", "100"])
    info = bm.machine_info()
    assert info["command"] == "python benchmarks/residual_change.py --size 100"
    assert info["logical_cpus"] >= 1


def test_format_table_aligns_and_formats():
    rows = [dict(name="a", x=1234.5, y=float("nan"), z=None, ok=True), dict(name="bb", x=0.5)]
    lines = bm.format_table(rows).splitlines()
    assert lines[0] == "| name | x     | y | z | ok   |"
    assert lines[2] == "| a    | 1,234 | - | - | True |"  # text left, numbers right
    assert lines[3] == "| bb   |  0.50 | - | - |    - |"
    assert bm.format_table([]) == "(no rows)"
    assert bm.format_table(rows, ["x"]).splitlines()[2] == "| 1,234 |"


def test_timing_helpers():
    wall, share, result = bm.timed(lambda: sum(range(10000)))
    assert result == sum(range(10000)) and wall > 0 and share >= 0
    assert bm.median([3.0, 1.0, 2.0]) == 2.0
    assert bm.spread([90.0, 100.0, 110.0]) == pytest.approx(20.0)
    assert bm.clean_runs([2.0, 1.0, 1.8], threads=2) == "2/3"  # 0.85 x 2 = 1.7
    notes = bm.interference_notes([{"clean": "2/3", "% peak": 120.0}], 2, [1.0], [1.5])
    assert notes[0].startswith("1 of 3 timed repeats") and "above 100" in notes[1]
    notes = bm.interference_notes([{"clean": "3/3", "% peak": 50.0}], 2, [1.0], [1.5])
    assert len(notes) == 1 and notes[0].startswith("All 3 timed repeats")
    bm.synchronize("cpu")  # a no-op


def test_set_threads_rejects_zero():
    before = torch.get_num_threads()
    assert bm.set_threads(None) == before
    with pytest.raises(SystemExit):
        bm.set_threads(0)


def test_matmul_peak_of_a_small_product():
    peak = bm.measure_matmul_peak(n=64, repeats=2, min_seconds=0.001, warmup=1)
    assert peak["dtype"] == "float32" and peak["n"] == 64 and len(peak["samples"]) == 2
    assert peak["gflops_max"] >= peak["gflops"] > 0


def test_flop_counts():
    linear = torch.nn.Linear(10, 5, bias=False)
    assert bm.count_flops(lambda: linear(torch.zeros(3, 10))) == 2 * 3 * 10 * 5
    assert bm.forward_flops_per_image(linear, (10,), batch=4) == 2 * 10 * 5
    assert bm.gflops(1000.0, 2e6) == pytest.approx(2.0)
    train, forward = bm.cnn_flops_per_image(batch=2)
    assert train > 2 * forward > 0  # backward costs about twice the forward
    vae_train, vae_forward, decode = bm.vae_flops_per_image(latent=3, batch=2)
    assert vae_train > vae_forward > decode > 0


def test_the_package_stands_alone():
    """skvae.benchmarking imports nothing from benchmarks/, and `import skvae` skips it."""
    code = (
        "import sys, skvae; assert 'skvae.benchmarking' not in sys.modules; "
        "import skvae.benchmarking; "
        "assert not [m for m in sys.modules if m in ('_common', '_cli')]"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
