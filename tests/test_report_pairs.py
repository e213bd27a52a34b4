"""Table 3 over independent pairs, the paper's full Table 2 and the report figures (#30)."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import result_row
from scipy.stats import wilcoxon

from skvae.experiment import figures, report
from skvae.experiment.figures import error_bar_note
from skvae.experiment.paper import (
    PAPER_F1,
    PAPER_LATENTS,
    PAPER_SIZES,
    PAPER_TABLE2,
    paper_value,
)
from skvae.experiment.report import (
    paired_differences,
    smallest_p_value,
    table2_markdown,
    table3_markdown,
    wilcoxon_tests,
    write_reports,
)

LATENTS = (2, 3, 4, 8)


def _rows(sizes=(50,), seeds=5, latents=LATENTS, gain=2.0, dataset="mnist") -> list[dict]:
    """CNN, AUG (CNN + 5), VAE (CNN + gain) and AUG+VAE (AUG + gain) per latent size."""
    rng = np.random.RandomState(0)
    rows = []
    for size in sizes:
        for seed in range(seeds):
            base = 60.0 + size / 10 + rng.normal()
            rows.append(result_row(dataset, size, None, "CNN", seed, base))
            rows.append(result_row(dataset, size, None, "AUG", seed, base + 5.0))
            for latent in latents:
                noise = rng.uniform(0.0, 0.5)
                rows.append(result_row(dataset, size, latent, "VAE", seed, base + gain + noise))
                rows.append(
                    result_row(dataset, size, latent, "AUG+VAE", seed, base + 5 + gain + noise)
                )
    return rows


def _by_pair(tests, *keys) -> dict:
    return {(*(t[k] for k in keys), t["a"], t["b"]): t for t in tests}


# ------------------------------------------------------------ independent pairs
def test_five_seeds_and_four_latents_give_five_pairs_not_twenty():
    rows = _rows()
    for a, b in (("VAE", "CNN"), ("CNN", "VAE"), ("AUG+VAE", "AUG"), ("AUG+VAE", "VAE")):
        assert len(paired_differences(rows, a, b)) == 5, (a, b)
    tests = _by_pair(wilcoxon_tests(rows), "dataset")
    assert tests[("mnist", "VAE", "CNN")]["n_pairs"] == 5
    assert tests[("mnist", "VAE", "CNN")]["n_wins"] == 5
    # 5 independent pairs never go below 2 / 2^5 (20 repeated ones would give 2 / 2^20)
    assert tests[("mnist", "VAE", "CNN")]["p_value"] == pytest.approx(0.0625)


def test_a_vae_condition_enters_with_its_mean_over_latent_sizes():
    rows = _rows(seeds=3)
    diffs = paired_differences(rows, "VAE", "CNN")
    for seed, diff in enumerate(diffs):
        cnn = next(r["f1"] for r in rows if r["condition"] == "CNN" and r["seed"] == seed)
        vae = [r["f1"] for r in rows if r["condition"] == "VAE" and r["seed"] == seed]
        assert len(vae) == 4 and diff == pytest.approx(np.mean(vae) - cnn)
    # one latent size alone: still one pair per subset
    only3 = paired_differences(rows, "VAE", "CNN", latent=3)
    assert len(only3) == 3
    vae3 = [r["f1"] for r in rows if r["condition"] == "VAE" and r["latent"] == 3]
    cnn = [r["f1"] for r in rows if r["condition"] == "CNN"]
    assert only3 == pytest.approx(np.subtract(vae3, cnn))


def test_two_vae_conditions_compare_on_the_latent_sizes_both_ran():
    rows = _rows(seeds=2)
    # AUG+VAE lacks latent size 8 on seed 0 and ran nothing in common on seed 1
    rows = [
        r
        for r in rows
        if not (r["condition"] == "AUG+VAE" and (r["latent"] == 8 or r["seed"] == 1))
    ]
    rows += [result_row("mnist", 50, 16, "AUG+VAE", 1, 99.0)]
    diffs = paired_differences(rows, "AUG+VAE", "VAE")
    assert len(diffs) == 1  # seed 1 shares no latent size: no pair
    assert diffs[0] == pytest.approx(5.0)  # latent sizes 2, 3, 4: AUG+VAE = VAE + 5


def test_smallest_p_value_is_that_of_the_exact_test():
    for n in range(1, 9):
        assert smallest_p_value(n) == 2 / 2**n
        # every difference of one sign: the most extreme outcome
        assert wilcoxon(np.arange(1.0, n + 1)).pvalue == pytest.approx(smallest_p_value(n))
    assert smallest_p_value(5) == 0.0625 and smallest_p_value(3) == 0.25
    assert math.isnan(smallest_p_value(0))
    tests = wilcoxon_tests(_rows(seeds=3), per_size=True)
    assert tests and all(t["min_p"] == 0.25 for t in tests)


def test_five_of_five_wins_below_alpha_00625_say_too_few_pairs():
    rows = _rows(sizes=(50, 100))
    per_size = _by_pair(wilcoxon_tests(rows, per_size=True), "size")
    t = per_size[(50, "VAE", "CNN")]
    assert (t["n_pairs"], t["n_wins"], t["min_p"]) == (5, 5, 0.0625)
    sentence = "too few pairs for p < 0.05 (n=5, min p 0.0625)"
    assert t["verdict"] == sentence  # not "no significant difference"
    text = table3_markdown(wilcoxon_tests(rows), per_size=wilcoxon_tests(rows, per_size=True))
    row = next(line for line in text.splitlines() if line.startswith("| mnist | 50 | VAE | CNN |"))
    assert row.startswith("| mnist | 50 | VAE | CNN | 5 | 0.0625 | 5 |") and sentence in row
    # the pooled test has 10 pairs: it can, and does, reach significance
    pooled = _by_pair(wilcoxon_tests(rows), "dataset")[("mnist", "VAE", "CNN")]
    assert pooled["n_pairs"] == 10 and pooled["verdict"] == "VAE better"
    # a level the 5 pairs can reach: the verdict comes from the data again
    loose = _by_pair(wilcoxon_tests(rows, per_size=True, alpha=0.1), "size")
    assert loose[(50, "VAE", "CNN")]["verdict"] == "VAE better"
    strict = _by_pair(wilcoxon_tests(rows, per_size=True, alpha=0.01), "size")
    assert strict[(50, "VAE", "CNN")]["verdict"] == "too few pairs for p < 0.01 (n=5, min p 0.0625)"
    three = _by_pair(wilcoxon_tests(_rows(seeds=3)), "dataset")[("mnist", "VAE", "CNN")]
    assert three["verdict"] == "too few pairs for p < 0.05 (n=3, min p 0.25)"


def test_every_table3_row_shows_its_pairs_and_smallest_p():
    rows = _rows(sizes=(50, 100))
    text = table3_markdown(
        wilcoxon_tests(rows),
        per_size=wilcoxon_tests(rows, per_size=True),
        per_latent=wilcoxon_tests(rows, per_latent=True),
    )
    assert "**Per training size.**" in text and "**Per latent size.**" in text
    assert not [line for line in text.splitlines() if line.startswith("#")]  # no heading
    tests = [
        wilcoxon_tests(rows),
        wilcoxon_tests(rows, per_size=True),
        wilcoxon_tests(rows, per_latent=True),
    ]
    n_rows = 0
    for block in text.split("\n\n"):
        lines = block.splitlines()
        if not lines or not lines[0].startswith("| dataset |"):
            continue
        header = [c.strip() for c in lines[0].strip("|").split("|")]
        for line in lines[2:]:
            cells = dict(zip(header, (c.strip() for c in line.strip("|").split("|"))))
            n = int(cells["pairs"])
            assert float(cells["min p"]) == pytest.approx(2 / 2**n, rel=1e-2), line
            n_rows += 1
    assert n_rows == sum(map(len, tests))


def test_per_latent_tests_use_each_latent_size_alone():
    rows = _rows(sizes=(50, 100))
    tests = _by_pair(wilcoxon_tests(rows, per_latent=True), "latent")
    assert {z for z, _, _ in tests} == set(LATENTS)
    assert (3, "AUG", "CNN") not in tests  # no VAE: would repeat the pooled test
    for z in LATENTS:
        t = tests[(z, "VAE", "CNN")]
        assert t["n_pairs"] == 10 and t["size"] is None
        expected = paired_differences(rows, "VAE", "CNN", latent=z)
        assert t["mean_diff"] == pytest.approx(expected.mean())


def test_written_table3_has_a_per_latent_part_only_with_several_latent_sizes(tmp_path):
    several = write_reports(_rows(), tmp_path / "several", with_paper=False)
    assert "**Per latent size.**" in several["table3"].read_text()
    one = write_reports(_rows(latents=(3,)), tmp_path / "one", with_paper=False)
    text = one["table3"].read_text()
    assert "**Per latent size.**" not in text and "| mnist | VAE | CNN | 5 |" in text


# ------------------------------------------------------------------- Table 2
def test_table2_has_no_duplicate_best_column_and_no_headings():
    one = table2_markdown(_rows(latents=(3,)))
    header = next(line for line in one.splitlines() if line.startswith("| training images"))
    assert header == "| training images | CNN | AUG | VAE z=3 | AUG+VAE z=3 |"
    line50 = next(line for line in one.splitlines() if line.startswith("| 50 |"))
    assert "(paper 85.40)" in line50 and "(paper 90.86)" in line50  # z=3, Table 2
    assert not [line for line in one.splitlines() if line.startswith("#")]
    several = table2_markdown(_rows())
    assert "| VAE z=8 | VAE best | AUG+VAE z=2 |" in several


# -------------------------------------------------------- the paper's Table 2
# Copied from the paper's text (latent size, training size, CNN, VAE, AUG, AUG+VAE).
PAPER_TEXT = """
2	50	76.30	84.89	86.10	89.05
	100	84.38	90.90	94.85	94.50
	250	93.03	94.84	97.12	98.00
	500	94.28	95.65	98.11	98.22
	1000	96.54	97.24	98.36	98.87
3	50	76.30	85.40	86.10	90.86
	100	84.38	91.98	94.85	95.15
	250	93.03	95.93	97.12	97.97
	500	94.28	96.38	98.11	98.26
	1000	96.54	97.74	98.36	98.87
4	50	76.30	83.77	86.10	89.67
	100	84.38	91.75	94.85	94.73
	250	93.03	95.16	97.12	97.86
	500	94.28	96.28	98.11	98.30
	1000	96.54	97.38	98.36	98.90
8	50	76.30	84.46	86.10	89.32
	100	84.38	91.28	94.85	94.56
	250	93.03	95.24	97.12	97.86
	500	94.28	95.95	98.11	98.41
	1000	96.54	97.50	98.36	98.79
"""


def _paper_cells() -> dict[tuple[str, int, int], float]:
    cells, latent = {}, None
    for line in PAPER_TEXT.strip("\n").splitlines():
        first, size, *values = line.split("\t")
        latent = int(first) if first else latent
        for condition, value in zip(("CNN", "VAE", "AUG", "AUG+VAE"), values):
            cells[(condition, int(size), latent)] = float(value)
    return cells


def test_paper_table2_holds_every_printed_cell():
    printed = _paper_cells()
    assert len(printed) == 80  # 4 latent sizes x 5 training sizes x 4 columns
    for (condition, size, latent), value in printed.items():
        key = (condition, size, None if condition in ("CNN", "AUG") else latent)
        assert PAPER_TABLE2[key] == value, key
    assert len(PAPER_TABLE2) == 5 + 5 + 20 + 20  # CNN, AUG once; VAE, AUG+VAE per latent
    assert set(PAPER_SIZES) == {s for _, s, _ in PAPER_TABLE2}
    assert set(PAPER_LATENTS) == {z for _, _, z in PAPER_TABLE2} - {None}


def test_paper_values_quoted_in_its_text():
    # "almost 91%", "+14.56%" over the CNN and "+4.76%" over AUG at 50 images, latent 3
    assert PAPER_TABLE2[("AUG+VAE", 50, 3)] == 90.86
    assert PAPER_TABLE2[("AUG+VAE", 50, 3)] - PAPER_TABLE2[("CNN", 50, None)] == pytest.approx(
        14.56
    )
    assert PAPER_TABLE2[("AUG+VAE", 50, 3)] - PAPER_TABLE2[("AUG", 50, None)] == pytest.approx(4.76)
    assert paper_value("mnist", 1000, "VAE z=8") == 97.50
    assert paper_value("mnist", 500, "AUG") == 98.11
    assert paper_value("mnist", 250, "AUG+VAE best") == 98.00  # latent size 2
    # latent size 3 is the paper's best VAE at every size
    assert all(
        paper_value("mnist", s, "VAE best") == PAPER_TABLE2[("VAE", s, 3)] for s in PAPER_SIZES
    )
    assert all(v.source for v in PAPER_F1.values())
    assert paper_value("digits", 50, "CNN") is None


# -------------------------------------------------------------------- figures
def _legend_labels(fig) -> list[str]:
    return [text.get_text() for text in fig.axes[0].get_legend().get_texts()]


def test_f1_vs_size_legend_has_each_entry_once_and_every_paper_condition():
    rows = _rows(sizes=(50, 250), latents=(3,))
    fig = report._f1_vs_size_figure(rows, with_paper=True)
    labels = _legend_labels(fig)
    assert len(labels) == len(set(labels))
    for condition in ("CNN", "AUG", "VAE z=3", "AUG+VAE z=3"):
        assert condition in labels and f"paper: {condition}" in labels
    # a latent size the paper has not: its best latent size instead
    other = _legend_labels(report._f1_vs_size_figure(_rows(latents=(5, 6)), with_paper=True))
    assert other.count("paper: VAE best") == 1 and len(other) == len(set(other))


def test_figures_say_what_their_error_bars_are():
    fig = report._f1_vs_size_figure(_rows(sizes=(50, 100)), with_paper=False)
    assert "error bars: ± 1 std over 5 seeds" in fig.axes[0].get_title()
    uneven = [r for r in _rows(sizes=(50, 100)) if r["size"] == 50 or r["seed"] < 3]
    fig = report._f1_vs_size_figure(uneven, with_paper=False)
    assert "error bars: ± 1 std over 3-5 seeds" in fig.axes[0].get_title()
    strength = [
        result_row("mnist", 50, None, condition, seed, 70.0 + seed)
        for condition in ("CNN", "AUG", "AUG@1", "AUG@2", "AUG@3", "AUG@4")
        for seed in range(3)
    ]
    fig = report._augment_strength_figure(strength)
    assert "error bars: ± 1 std over 3 seeds" in fig.axes[0].get_title()
    assert error_bar_note([1, 1]) == "1 seed: no error bars"


def test_no_module_imports_a_private_name_of_another():
    for module in (report, figures):
        tree = ast.parse(Path(module.__file__).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:  # relative: our own modules
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, (module.__name__, node.module, private)
