"""benchmarks/grid_time.py: cell times and the full-grid extrapolation."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import load_benchmark


@pytest.fixture(scope="module")
def grid_time():
    return load_benchmark("grid_time.py")


def test_makespan_longest_first(grid_time):
    assert grid_time.makespan([3, 3, 2, 2, 2], 2) == 7  # longest first: 3+2+2 | 3+2
    assert grid_time.makespan([5, 1, 1], 3) == 5
    assert grid_time.makespan([1, 2, 3], 1) == 6
    assert grid_time.makespan([], 2) == 0
    with pytest.raises(ValueError, match="workers"):
        grid_time.makespan([1], 0)


def test_grid_cells_latent_free_conditions_once_per_size(grid_time):
    cells = grid_time.grid_cells([50, 100], [2, 3, 4, 8], grid_time.PAPER_CONDITIONS)
    assert len(cells) == 2 * (2 + 2 * 4)
    assert (50, "CNN", None) in cells and (100, "AUG+VAE", 8) in cells


def _rows(seconds: dict) -> list[dict]:
    """Recorded cell rows: the given seconds, and epochs and sizes for the FLOP count."""
    return [
        dict(
            size=size,
            condition=cond,
            fit_seconds=s - 1.0,
            score_seconds=1.0,
            epochs=10,
            n_test=100,
            n_generated=size if "VAE" in cond else 0,
            vae_epochs=5.0 if "VAE" in cond else None,
        )
        for (size, cond), values in seconds.items()
        for s in values
    ]


def _write_cells(folder, recorded: dict, prefix: str = "cell") -> None:
    """``recorded`` ({(size, condition): [seconds]}) as MNIST cells in ``folder / "cells"``."""
    (folder / "cells").mkdir(parents=True, exist_ok=True)
    # skvae reproduce's config.json: the CNN's validation split counts in the FLOPs.
    config = {"params": {"cnn": {"validation_fraction": 0.2}}}
    (folder / "config.json").write_text(json.dumps(config))
    for k, row in enumerate(_rows(recorded)):
        row.update(dataset="mnist", latent=None if row["condition"] in ("CNN", "AUG") else 3)
        (folder / "cells" / f"{prefix}{k}.json").write_text(json.dumps({"row": row}))


def test_extrapolate_from_median_cell_times(grid_time):
    recorded = {
        (50, "CNN"): [60.0, 120.0, 600.0],  # median 120 s
        (50, "AUG"): [60.0],
        (50, "VAE"): [300.0],
        (50, "AUG+VAE"): [240.0],
    }
    times = grid_time.cell_seconds(_rows(recorded))
    assert times[(50, "CNN")] == [60.0, 120.0, 600.0]  # fit + score
    rows, totals = grid_time.extrapolate(times, sizes=[50], latents=[2, 3], seeds=2, workers=2)
    per_seed = 120 + 60 + 2 * (300 + 240)  # CNN, AUG once; VAE conditions per latent
    assert rows[0]["CNN min"] == 2.0 and rows[0]["CNN n"] == 3
    assert rows[0]["cells/seed"] == 6
    assert rows[0]["worker h/seed"] == pytest.approx(per_seed / 3600)
    assert totals["cells"] == 12
    assert totals["worker_hours"] == pytest.approx(2 * per_seed / 3600)
    assert totals["wall_hours_lower_bound"] == pytest.approx(per_seed / 3600)
    expected = grid_time.makespan([120, 60, 300, 300, 240, 240] * 2, 2)
    assert totals["wall_hours"] == pytest.approx(expected / 3600)
    with pytest.raises(ValueError, match=r"\(100, 'CNN'\)"):
        grid_time.extrapolate(times, sizes=[50, 100], latents=[3])


def test_main_reads_cells_and_writes_results(grid_time, tmp_path):
    pairs = [(s, c) for s in grid_time.PAPER_SIZES for c in grid_time.PAPER_CONDITIONS]
    recorded = {pair: [60.0 * (i + 1)] for i, pair in enumerate(pairs)}
    _write_cells(tmp_path / "run", recorded)
    grid_time.main(["--cells", str(tmp_path / "run"), "--out", str(tmp_path / "out")])
    result = json.loads((tmp_path / "out" / "grid_time.json").read_text())
    assert result["meta"]["recorded_cells"] == 20 and result["meta"]["cells"] == 50
    assert result["meta"]["recorded_latents"] == [3]
    md = (tmp_path / "out" / "grid_time.md").read_text()
    assert "Full grid, 1 seed(s): 50 cells" in md
    meta = result["meta"]
    assert meta["floor_hours"] > 0 and 0 < meta["floor_share"]
    assert meta["fp32 matmul peak"]["gflops_max"] == pytest.approx(meta["peak_gflops"], abs=0.01)
    assert f"take {meta['floor_hours']:.2f} h" in md


@pytest.mark.parametrize(
    ("device", "precision"), [("cpu", "fp32"), ("cuda", "fp32"), ("cpu", "bf16")]
)
def test_measure_reports_the_group_run_now(grid_time, tmp_path, monkeypatch, device, precision):
    pairs = [(s, c) for s in grid_time.PAPER_SIZES for c in grid_time.PAPER_CONDITIONS]
    # On the CPU at fp32 the measured cells fill in size 50; on another device
    # or in bf16 they stay out of the extrapolation, so the recorded cells must cover it.
    joins = device == "cpu" and precision == "fp32"
    old = pairs[4:] if joins else pairs
    new = pairs[:4]

    _write_cells(tmp_path / "run", {pair: [60.0] for pair in old})
    calls = []

    def fake_measure(size, seed, data_home, work, device, precision):
        calls.append((size, seed, work, device, precision))
        _write_cells(work, {pair: [120.0] for pair in new})
        return 480.0

    monkeypatch.setattr(grid_time, "measure_group", fake_measure)
    work = tmp_path / "work"
    grid_time.main(
        [
            "--cells",
            str(tmp_path / "run"),
            "--measure",
            "50",
            "--seed",
            "1",
            "--work",
            str(work),
            "--device",
            device,
            "--precision",
            precision,
            "--threads",
            "1",
            "--out",
            str(tmp_path / "out"),
        ]  # fmt: skip
    )
    assert calls == [(50, 1, work, device, precision)]
    result = json.loads((tmp_path / "out" / "grid_time.json").read_text())
    meta, tables = result["meta"], result["tables"]
    assert meta["measured_wall_s"] == 480.0 and meta["measured_device"] == device
    assert meta["measured_precision"] == precision
    assert meta["recorded_cells"] == 20
    measured = tables["Cell group measured now"]
    assert [r["condition"] for r in measured] == sorted(grid_time.PAPER_CONDITIONS)
    assert all(r["min"] == 2.0 and r["device"] == device for r in measured)
    assert all(r["precision"] == precision for r in measured)
    (size50,) = [r for r in tables["Cell times and the full paper grid"] if r["size"] == 50]
    # Size 50 is the measured 2 min (cpu, fp32) or the recorded 1 min.
    assert size50["CNN min"] == (2.0 if joins else 1.0)
    assert "took 8.0 min" in (tmp_path / "out" / "grid_time.md").read_text()


def test_flops_per_image_of_the_paper_networks(grid_time):
    flops = grid_time.flops_per_image()
    # bench_cnn / bench_vae count the same networks: 0.70 G and 0.23 G per image
    assert flops["cnn_train"] == pytest.approx(3 * flops["cnn_forward"], rel=0.01)
    assert 0.69e9 < flops["cnn_train"] < 0.71e9
    assert 0.23e9 < flops["vae_train"] < 0.24e9
    assert flops["decode"] < flops["vae_forward"] < flops["vae_train"]


UNIT = dict(cnn_train=3.0, cnn_forward=1.0, vae_train=5.0, vae_forward=2.0, decode=0.5)


def test_cell_flops_counts_each_pass(grid_time):
    cnn = dict(size=50, epochs=10, n_test=7000, n_generated=0, vae_epochs=None)
    # 5 per class: 1 validation row per class (CNN rule), 40 training rows
    assert grid_time.cell_flops(cnn, UNIT, 0.2) == 10 * 40 * 3 + 10 * 10 * 1 + 7000 * 1
    vae = dict(cnn, n_generated=50, vae_epochs=20.0)
    # + generated rows trained and decoded each epoch; VAE: round(0.75) = 1 valid per class
    extra = 10 * 50 * 3 + 20 * 40 * 5 + 20 * 10 * 2 + 10 * 50 * 0.5
    assert grid_time.cell_flops(vae, UNIT, 0.2) == grid_time.cell_flops(cnn, UNIT, 0.2) + extra
    # 100 per class: CNN 20 valid rows per class, VAE round(15) = 15
    big = dict(size=1000, epochs=1, n_test=0, n_generated=0, vae_epochs=1.0)
    assert grid_time.cell_flops(big, UNIT, 0.2) == 800 * 3 + 200 * 1 + 850 * 5 + 150 * 2


def test_extrapolate_reports_the_arithmetic_floor(grid_time):
    times = {(50, c): [100.0] for c in grid_time.PAPER_CONDITIONS}
    work = {(50, c): [1e12, 3e12, 2e12] for c in grid_time.PAPER_CONDITIONS}  # median 2 TFLOP
    rows, totals = grid_time.extrapolate(
        times, sizes=[50], latents=[3], seeds=2, workers=2, work=work, peak_gflops=100.0
    )
    assert rows[0]["TFLOP/seed"] == pytest.approx(8.0)
    assert rows[0]["GFLOP/s per worker"] == pytest.approx(8e12 / 400 / 1e9)
    assert totals["grid_tflop"] == pytest.approx(16.0)
    assert totals["floor_hours"] == pytest.approx(16e12 / 100e9 / 3600)
    assert totals["floor_share"] == pytest.approx(totals["floor_hours"] / totals["wall_hours"])
    _, plain = grid_time.extrapolate(times, sizes=[50], latents=[3])
    assert "floor_hours" not in plain and "grid_tflop" not in plain


def test_precision_ratios_and_scaled_times(grid_time):
    fp32 = {(100, "CNN"): [100.0], (100, "VAE"): [200.0, 300.0, 400.0]}
    bf16 = {(100, "CNN"): [50.0], (100, "VAE"): [270.0]}
    ratios = grid_time.precision_ratios(fp32, bf16)
    assert ratios == {"CNN": 0.5, "VAE": pytest.approx(0.9)}
    scaled = grid_time.scale_times({(50, "CNN"): [10.0, 20.0], (1000, "VAE"): [100.0]}, ratios)
    assert scaled == {(50, "CNN"): [5.0, 10.0], (1000, "VAE"): [pytest.approx(90.0)]}
    with pytest.raises(ValueError, match="'VAE' was not measured in both"):
        grid_time.precision_ratios(fp32, {(100, "CNN"): [50.0]})


def test_versus_fp32_alternates_and_estimates_the_grid_in_bf16(grid_time, tmp_path, monkeypatch):
    pairs = [(s, c) for s in grid_time.PAPER_SIZES for c in grid_time.PAPER_CONDITIONS]
    _write_cells(tmp_path / "run", {pair: [60.0] for pair in pairs})
    calls = []
    # bf16 takes half fp32's time for the CNN conditions, the same for the VAE ones.
    seconds = {"fp32": 120.0, "bf16": 60.0}

    def fake_measure(size, seed, data_home, work, device, precision, conditions):
        calls.append((work.name, precision, tuple(conditions)))
        for cond in conditions:
            s = seconds[precision] if "VAE" not in cond else 120.0
            _write_cells(work, {(size, cond): [s]}, prefix=cond)
        return 100.0

    monkeypatch.setattr(grid_time, "measure_group", fake_measure)
    # Fixed matmul rates: bf16 twice fp32's, so its floor is half the fp32 floor.
    rates = {torch.float32: 100.0, torch.bfloat16: 200.0}
    monkeypatch.setattr(
        grid_time.bm,
        "measure_matmul_peak",
        lambda dtype: {"gflops_max": rates[dtype], "gflops": rates[dtype], "threads": 1},
    )
    argv = ["--cells", str(tmp_path / "run"), "--measure", "100", "--work", str(tmp_path / "w")]
    out = ["--threads", "1", "--out", str(tmp_path / "out")]
    grid_time.main([*argv, "--precision", "bf16", "--versus-fp32", *out])
    # Cell by cell, fp32 then bf16, each precision in its own folder.
    assert calls == [
        (p, p, (c,)) for c in grid_time.PAPER_CONDITIONS for p in ("fp32", "bf16")
    ]  # fmt: skip
    result = json.loads((tmp_path / "out" / "grid_time.json").read_text())
    meta = result["meta"]
    assert meta["bf16_over_fp32"] == {"AUG": 0.5, "AUG+VAE": 1.0, "CNN": 0.5, "VAE": 1.0}
    assert meta["measured_wall_s"] == meta["measured_wall_s_fp32"] == 400.0
    assert meta["recorded_cells"] == 20  # the measured cells stay out
    # CNN and AUG once per size, the VAE conditions once per latent (4): 2 of 10 cells halve.
    assert meta["bf16_wall_hours"] == pytest.approx(meta["wall_hours"] * 9 / 10, abs=0.01)
    assert meta["peak_gflops"] == 100.0
    assert meta["bf16_floor_hours"] == pytest.approx(meta["floor_hours"] / 2, abs=0.01)
    measured = result["tables"]["Cell group measured now"]
    assert {(r["precision"], r["condition"], r["bf16/fp32"]) for r in measured} >= {
        ("fp32", "CNN", 1.0),
        ("bf16", "CNN", 0.5),
        ("bf16", "VAE", 1.0),
    }
    bf16_grid = result["tables"]["The full paper grid estimated in bf16"]
    assert [r["CNN min"] for r in bf16_grid] == [0.5] * len(grid_time.PAPER_SIZES)
    assert (
        "bf16 estimate: each recorded cell's time"
        in (tmp_path / "out" / "grid_time.md").read_text()
    )
    # --versus-fp32 needs --measure and --precision bf16.
    no_measure = ["--cells", str(tmp_path / "run"), "--precision", "bf16", "--versus-fp32"]
    for args in (no_measure, [*argv, "--versus-fp32", *out]):
        with pytest.raises(SystemExit):
            grid_time.main(args)


def test_shared_fit_seconds_removes_the_shared_class_vae_training(grid_time):
    recorded = {(50, c): [100.0] for c in grid_time.PAPER_CONDITIONS}
    rows = _rows(recorded)  # the VAE conditions' cells have vae_epochs=5
    model = {50: (0.5, 3.0)}  # 0.5 s per class-VAE epoch, 3 s fixed
    shared = grid_time.shared_fit_seconds(rows, model)
    assert shared[(50, "AUG+VAE")] == [100.0 - (3.0 + 5 * 10 * 0.5)]
    for condition in ("CNN", "AUG", "VAE"):  # VAE still trains the class-VAEs
        assert shared[(50, condition)] == [100.0]
    assert grid_time.shared_fit_seconds(rows, {50: (10.0, 0.0)})[(50, "AUG+VAE")] == [0.0]
    with pytest.raises(ValueError, match=r"\(50, 'AUG\+VAE'\)"):
        grid_time.shared_fit_seconds(rows, {100: (0.5, 3.0)})
    for row in rows:  # recorded with sharing already: nothing to take off
        row["shared_vae_fit"] = "VAE" in row["condition"]
    assert grid_time.shared_fit_seconds(rows, model)[(50, "AUG+VAE")] == [100.0]


def test_main_estimates_the_grid_with_shared_class_vaes(grid_time, tmp_path, monkeypatch):
    pairs = [(s, c) for s in grid_time.PAPER_SIZES for c in grid_time.PAPER_CONDITIONS]
    _write_cells(tmp_path / "run", {pair: [600.0] for pair in pairs})
    monkeypatch.setattr(grid_time, "vae_fit_model", lambda size, seed, home: (1.0, 10.0))
    monkeypatch.setattr(grid_time, "time_vae_fit", lambda size, seed, home: (1.5, 8.0))
    out = tmp_path / "out"
    grid_time.main(
        [
            "--cells",
            str(tmp_path / "run"),
            "--shared-vae-fits",
            "--check-fit",
            "500",
            "--out",
            str(out),
        ]  # fmt: skip
    )
    result = json.loads((out / "grid_time.json").read_text())
    meta, tables = result["meta"], result["tables"]
    # Each AUG+VAE cell: 600 s less 10 + 5 epochs x 10 classes x 1 s = 540 s.
    per_size = tables["Class-VAEs trained once for VAE and AUG+VAE"]
    assert [r["AUG+VAE min shared"] for r in per_size] == [9.0] * 5
    saved = 5 * 4 * 60 / 3600  # per size, 4 latents x 60 s
    assert meta["shared_worker_hours"] == pytest.approx(meta["worker_hours"] - saved, abs=0.01)
    # The check: 8 epochs on the model are 10 + 80 s = 1.5 min, against 1.5 measured.
    assert meta["check_fit"] == {"size": 500, "minutes": 1.5, "model": pytest.approx(1.5)}
    md = (out / "grid_time.md").read_text()
    assert "the model gives 1.50 min" in md and "Shared class-VAEs" in md


def test_check_fit_needs_shared_vae_fits(grid_time, tmp_path):
    with pytest.raises(SystemExit):
        grid_time.main(["--cells", str(tmp_path), "--check-fit", "50"])


def test_vae_fit_model_on_mnist(grid_time, mnist):
    from conftest import MNIST_HOME

    # Real fits of 1 and 2 epochs per class-VAE; their times are wall-clock, so
    # only what holds whatever the machine's load is checked here.
    per_epoch, fixed = grid_time.vae_fit_model(20, 0, MNIST_HOME, epochs=2)
    assert per_epoch >= 0 and fixed >= 0


def test_vae_fit_model_arithmetic(grid_time, monkeypatch):
    class Fitted:
        def __init__(self, n_epochs):
            history = type("History", (), {"history": [{}] * n_epochs})()
            self.histories_ = {k: history for k in range(10)}
            self.vaes_ = dict.fromkeys(range(10))

    seconds = {1: 13.0, 5: 33.0}  # 4 more epochs of 10 class-VAEs: 20 s, 0.5 s each

    def fake_fit(size, seed, data_home, max_epochs, **kw):
        return seconds[max_epochs], Fitted(max_epochs)

    monkeypatch.setattr(grid_time, "_grid_sampler_fit", fake_fit)
    assert grid_time.vae_fit_model(50, 0, None) == (0.5, 13.0 - 10 * 0.5)
    assert grid_time.class_vae_seconds((0.5, 8.0), 4.0) == 8.0 + 4.0 * 10 * 0.5
