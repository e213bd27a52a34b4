"""The ``skvae`` command: in-process and as a subprocess, with tiny settings."""

from __future__ import annotations

import argparse
import csv
import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from skvae.cli import key_value, main

TINY_ARGS = [
    "--sizes", "20",
    "--latents", "2",
    "--seeds", "2",
    "--test-size-per-class", "10",
    "--vae-param", "max_epochs=2",
    "--vae-param", "patience=1",
    "--cnn-param", "max_epochs=3",
    "--cnn-param", "module__channels=(4, 4, 4, 4)",
    "--cnn-param", "module__hidden=8",
    "--no-progress",
]  # fmt: skip
OUTPUTS = ("results.csv", "table2.md", "table3.md", "fig2.png", "f1_vs_size.png", "config.json")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _cell_mtimes(out: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (out / "cells").glob("*.json")}


def _run_module(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    """``python -m <args>`` in a subprocess, output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def test_reproduce_in_process_then_resume_as_a_subprocess(tmp_path, capsys):
    out = tmp_path / "results"
    assert main(["reproduce", "--out", str(out), *TINY_ARGS]) == 0
    printed = capsys.readouterr().out
    assert "8 cells: 8 computed, 0 reused, 0 failed" in printed
    for name in OUTPUTS:
        assert (out / name).stat().st_size > 0, name
    with open(out / "results.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 8  # (CNN, AUG, VAE z=2, AUG+VAE z=2) x 2 seeds
    assert {r["condition"] for r in rows} == {"CNN", "AUG", "VAE", "AUG+VAE"}
    assert {r["latent"] for r in rows if r["condition"] in ("CNN", "AUG")} == {""}
    assert (
        "| training images | CNN | AUG | VAE z=2 | AUG+VAE z=2 |" in (out / "table2.md").read_text()
    )
    assert "| digits | VAE | CNN | 2 |" in (out / "table3.md").read_text()

    before = _cell_mtimes(out)
    done = _run_module("skvae.cli", "reproduce", "--out", str(out), *TINY_ARGS, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "8 cells: 0 computed, 8 reused, 0 failed" in done.stdout
    assert _cell_mtimes(out) == before

    # results.csv covers the last command's grid; no VAE cell, so no old fig2.png
    assert main(["reproduce", "--out", str(out), *TINY_ARGS, "--conditions", "CNN"]) == 0
    assert "fig2.png not written" in capsys.readouterr().out
    assert len(_csv_rows(out)) == 2 and not (out / "fig2.png").exists()
    # ... and report --from-cells gathers every finished cell again
    assert main(["report", "--out", str(out), "--from-cells"]) == 0
    assert "(8 cells)" in capsys.readouterr().out
    assert len(_csv_rows(out)) == 8 and (out / "fig2.png").exists()

    # a changed VAE parameter recomputes the VAE cells only
    changed = [a if a != "max_epochs=2" else "max_epochs=1" for a in TINY_ARGS]
    assert main(["reproduce", "--out", str(out), *changed]) == 0
    assert "8 cells: 4 computed, 4 reused" in capsys.readouterr().out
    # now two settings share cells/: one table must not mix them
    assert main(["report", "--out", str(out), "--from-cells"]) == 2
    assert "same grid point" in capsys.readouterr().err
    assert len(_csv_rows(out)) == 8  # the last run's rows, untouched

    (out / "table2.md").unlink()
    assert main(["report", "--out", str(out)]) == 0
    assert (out / "table2.md").stat().st_size > 0

    # a cut-off results.csv: one line naming the problem
    text = (out / "results.csv").read_text()
    (out / "results.csv").write_text(text[: text.rindex(",")])
    assert main(["report", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "line 9" in err and "fields" in err and err.count("\n") == 1
    (out / "results.csv").write_text("a,b\n1,2\n")
    assert main(["report", "--out", str(out)]) == 2
    assert "lacks the column(s)" in capsys.readouterr().err


def _csv_rows(out: Path) -> list[dict]:
    with open(out / "results.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_usage_errors(tmp_path, capsys):
    assert main([]) == 2
    assert main(["reproduce", "--out", str(tmp_path), "--sizes", "15", *TINY_ARGS[2:]]) == 2
    assert "multiple" in capsys.readouterr().err
    assert not (tmp_path / "cells").exists() or not list((tmp_path / "cells").iterdir())
    assert main(["report", "--out", str(tmp_path / "nothing")]) == 2
    with pytest.raises(SystemExit):
        main(["reproduce", "--conditions", "GAN"])


@pytest.mark.parametrize(
    "extra, match",
    [
        (["--seeds", "0"], "seeds must be a positive"),
        (["--latents", "0"], "'latent' parameter"),
        (["--cnn-param", "foo=1"], "unexpected argument.*foo"),
        (["--cnn-param", "max_epochs=abc"], "'max_epochs' parameter"),
        (["--cnn-param", "module__foo=2"], "unexpected keyword argument 'foo'"),
        (["--vae-param", "patience=-1"], "'patience' parameter"),
        (["--aug-param", "foo=1"], "unexpected keyword argument 'foo'"),
        (["--synthetic-param", "form=foo"], "synthetic form"),
    ],
)
def test_bad_settings_fail_once_before_any_cell(tmp_path, capsys, extra, match):
    # One line and exit 2, not a traceback per cell.
    argv = ["reproduce", "--out", str(tmp_path), *TINY_ARGS, *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert re.search(match, err) and "Traceback" not in err and err.count("\n") == 1
    assert not list(tmp_path.glob("cells/*.json")) and not (tmp_path / "results.csv").exists()


def test_key_value_parsing():
    assert key_value("module__channels=(4,4,4,4)") == ("module__channels", (4, 4, 4, 4))
    assert key_value("max_epochs = 5") == ("max_epochs", 5)
    assert key_value("lr=1e-3") == ("lr", 0.001)
    assert key_value("device=cuda:0") == ("device", "cuda:0")
    assert key_value("image_shape=None") == ("image_shape", None)
    with pytest.raises(argparse.ArgumentTypeError):
        key_value("max_epochs")


def test_console_script_entry_point():
    scripts = {ep.name: ep.value for ep in entry_points(group="console_scripts")}
    assert scripts.get("skvae") == "skvae.cli:main"


def test_python_dash_m_skvae_runs_the_cli():
    done = _run_module("skvae", "reproduce", "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: skvae reproduce")
    bad = _run_module("skvae", "no-such-command")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
