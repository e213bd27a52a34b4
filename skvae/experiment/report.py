"""From ``results.csv`` to the paper's Table 2, Wilcoxon Table 3 and the plots.

Table 3 tests independent pairs only: one per training subset (data set, size,
seed), a condition with a VAE entering with its mean over latent sizes, and
every row says how many pairs it has and the smallest p-value they allow.

Rows are plain dicts with the columns of
:data:`skvae.experiment.store.RESULT_COLUMNS` (``latent`` is None for the
conditions without a VAE), so nothing here needs pandas.
"""

from __future__ import annotations

import csv
import math
import os
import warnings
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .conditions import ALL_CONDITIONS, LATENT_FREE, STRENGTH_CONDITIONS, augment_level
from .figures import error_bar_note, figure_panels, save_figure
from .paper import PAPER_F1, REFERENCE, paper_value

__all__ = [
    "COMPARISONS",
    "paired_differences",
    "plot_augment_strength",
    "plot_f1_vs_size",
    "read_results",
    "smallest_p_value",
    "summarize",
    "table2_markdown",
    "table3_markdown",
    "wilcoxon_tests",
    "write_reports",
]

#: Pairs (A, B) compared in Table 3: is A better than B?
COMPARISONS: tuple[tuple[str, str], ...] = (
    ("VAE", "CNN"),
    ("AUG", "CNN"),
    ("AUG+VAE", "CNN"),
    ("AUG+VAE", "AUG"),
    ("AUG+VAE", "VAE"),
    ("VAE", "AUG"),
    # Beyond the paper (present only when those conditions ran).
    ("SMOTE", "CNN"),
    ("VAE", "SMOTE"),
    ("AUG+", "AUG"),
    ("AUG+VAE", "AUG+"),
    ("AUG++VAE", "AUG+"),
    # Do unlabelled images make the VAE's pay (issue #28)?
    ("VAE+U", "CNN"),
    ("VAE+U", "VAE"),
    ("AUG+VAE+U", "AUG"),
    ("AUG+VAE+U", "AUG+VAE"),
    # The augmentation-strength study: does inexpert augmentation still help,
    # and do the VAE's images beat it?
    *((c, "CNN") for c in STRENGTH_CONDITIONS),
    *(("VAE", c) for c in STRENGTH_CONDITIONS),
)

_INT_COLUMNS = ("size", "seed", "epochs", "best_epoch", "n_train", "n_generated", "n_test")
_REQUIRED_COLUMNS = ("dataset", "size", "latent", "condition", "seed", "f1")
_FLOAT_COLUMNS = ("f1", "accuracy", "vae_epochs", "fit_seconds", "score_seconds")


# ------------------------------------------------------------------ input
def read_results(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Read ``results.csv`` into typed rows.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    list of dict
        ``latent`` is an int or None; numeric columns are int / float (None
        where empty).
    """
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in _REQUIRED_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(
                f"{path} lacks the column(s) {missing}: not a results.csv of skvae reproduce."
            )
        rows = []
        for row in reader:
            # A short row has None values, a long one a None key (csv's rest).
            if None in row or None in row.values():
                raise ValueError(
                    f"{path}, line {reader.line_num}: the row does not have the header's "
                    f"{len(reader.fieldnames)} fields (a cut-off or edited file?)."
                )
            try:
                rows.append(_typed(row))
            except ValueError as exc:
                raise ValueError(f"{path}, line {reader.line_num}: {exc}") from None
        return rows


def _typed(row: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = dict(row)
    out["latent"] = None if row.get("latent") in (None, "") else int(float(row["latent"]))
    for name in _INT_COLUMNS:
        if name in row:
            out[name] = None if row[name] == "" else int(float(row[name]))
    for name in _FLOAT_COLUMNS:
        if name in row:
            out[name] = None if row[name] == "" else float(row[name])
    return out


def _latent(row: Mapping[str, Any]) -> int | None:
    value = row.get("latent")
    return None if value in (None, "") else int(value)


# ---------------------------------------------------------------- Table 2
def summarize(rows: Iterable[Mapping[str, Any]], metric: str = "f1") -> list[dict[str, Any]]:
    """Mean and sample standard deviation of a metric per table cell.

    Parameters
    ----------
    rows : iterable of dict
    metric : str, default="f1"

    Returns
    -------
    list of dict
        One per (dataset, size, condition, latent): ``mean``, ``std``
        (``ddof=1``; NaN for one seed) and ``n`` (seeds).
    """
    groups: dict[tuple, list[float]] = defaultdict(list)
    for row in rows:
        key = (row["dataset"], int(row["size"]), row["condition"], _latent(row))
        groups[key].append(float(row[metric]))
    out = []
    for (dataset, size, condition, latent), values in sorted(groups.items(), key=_group_order):
        arr = np.asarray(values)
        out.append(
            {
                "dataset": dataset,
                "size": size,
                "condition": condition,
                "latent": latent,
                "mean": float(arr.mean()),
                "std": float(arr.std(ddof=1)) if len(arr) > 1 else math.nan,
                "n": len(arr),
            }
        )
    return out


def _group_order(item) -> tuple:
    (dataset, size, condition, latent), _ = item
    rank = ALL_CONDITIONS.index(condition) if condition in ALL_CONDITIONS else len(ALL_CONDITIONS)
    return (dataset, size, rank, -1 if latent is None else latent)


def _fmt(mean: float, std: float, digits: int = 1) -> str:
    if math.isnan(std):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _columns(summary: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, int | None]]:
    """Table columns as (label, condition, latent); latent -1 means "best".

    A "best" column only with several latent sizes: with one it would repeat
    that latent size's column.
    """
    present = {s["condition"] for s in summary}
    latents = sorted({s["latent"] for s in summary if s["latent"] is not None})
    conditions = [c for c in ALL_CONDITIONS if c in present] + sorted(present - set(ALL_CONDITIONS))
    columns: list[tuple[str, str, int | None]] = []
    for condition in conditions:
        if condition in LATENT_FREE:
            columns.append((condition, condition, None))
            continue
        columns += [(f"{condition} z={z}", condition, z) for z in latents]
        if len(latents) > 1:
            columns.append((f"{condition} best", condition, -1))
    return columns


def table2_markdown(rows: Iterable[Mapping[str, Any]], *, with_paper: bool = True) -> str:
    """Mean ± std of macro F1 per training size and condition, like Table 2.

    Rows are training sizes; columns CNN, AUG and, per latent size, VAE and
    AUG+VAE, plus the best latent size of each when there are several. Where
    the paper's value is known (:mod:`skvae.experiment.paper`) it is shown
    beside ours.

    The markdown has no heading of its own (its first line is a comment):
    the page that includes it gives the heading, so nothing is said twice.

    Parameters
    ----------
    rows : iterable of dict
        Rows of ``results.csv``.
    with_paper : bool, default=True
        Show the paper's values where known.

    Returns
    -------
    str
        Markdown, one table per data set.
    """
    rows = list(rows)
    summary = summarize(rows)
    lines = [_comment("Table 2: macro F1 (%) on the fixed test subset"), ""]
    if not summary:
        return "\n".join([*lines, "No finished cell yet.", ""])
    by_dataset: dict[str, list[dict]] = defaultdict(list)
    for entry in summary:
        by_dataset[entry["dataset"]].append(entry)
    for dataset, entries in by_dataset.items():
        cells = {(e["size"], e["condition"], e["latent"]): e for e in entries}
        columns = _columns(entries)
        seeds = sorted({e["n"] for e in entries})
        n_test = sorted({int(r["n_test"]) for r in rows if r["dataset"] == dataset})
        best = (
            " `best` is the latent size with the highest mean."
            if any(latent == -1 for _, _, latent in columns)
            else ""
        )
        lines += [
            f"**{dataset}**: macro F1 (%) on a fixed test subset of {_join(n_test)} images, "
            f"mean ± sample standard deviation over {_join(seeds)} seed(s) "
            "(training subsets). CNN and AUG do not use a VAE and have no latent size." + best,
            "",
            "| training images | " + " | ".join(label for label, _, _ in columns) + " |",
            "|---:|" + "---:|" * len(columns),
        ]
        for size in sorted({e["size"] for e in entries}):
            texts = [
                _cell_text(cells, dataset, size, label, condition, latent, with_paper)
                for label, condition, latent in columns
            ]
            lines.append(f"| {size} | " + " | ".join(texts) + " |")
        lines.append("")
    if with_paper and any(key[0] in by_dataset for key in PAPER_F1):
        lines += [
            "(paper X): the value published by " + REFERENCE + ", where known; "
            "see `skvae/experiment/paper.py` for where each number comes from.",
            "",
        ]
    return "\n".join(lines)


def _comment(title: str) -> str:
    """First line of a written table: says what it is, shows nowhere."""
    return f"<!-- {title}; written by `skvae report` from results.csv -->"


def _cell_text(cells, dataset, size, label, condition, latent, with_paper) -> str:
    if latent == -1:  # best latent size
        options = [e for (s, c, z), e in cells.items() if s == size and c == condition]
        if not options:
            text = "–"
        else:
            best = max(options, key=lambda e: e["mean"])
            text = f"{_fmt(best['mean'], best['std'])} (z={best['latent']})"
    else:
        entry = cells.get((size, condition, latent))
        text = "–" if entry is None else _fmt(entry["mean"], entry["std"])
    published = paper_value(dataset, size, label) if with_paper else None
    if published is not None:
        text += f" (paper {published:.2f})"  # as printed: 94.85 must not read 94.8
    return text


def _join(values: Sequence[Any]) -> str:
    return "/".join(str(v) for v in values) if values else "?"


# ---------------------------------------------------------------- Table 3
def paired_differences(
    rows: Iterable[Mapping[str, Any]],
    a: str,
    b: str,
    metric: str = "f1",
    *,
    latent: int | None = None,
) -> np.ndarray:
    """Differences ``A - B`` of a metric, one per training subset.

    A training subset is a (dataset, size, seed): every condition of a subset
    trains on the same images, and different subsets are drawn independently,
    so one pair per subset gives independent pairs. A condition with a VAE ran
    once per latent size on each subset; it enters with its mean over those
    latent sizes (over the ones both conditions ran, when both have a VAE), so
    a CNN or AUG run is used once, never once per latent size.

    Parameters
    ----------
    rows : iterable of dict
    a, b : str
        Conditions.
    metric : str, default="f1"
    latent : int, optional
        Use only this latent size of a condition with a VAE (conditions
        without one are unaffected) instead of the mean over latent sizes.

    Returns
    -------
    ndarray of float
        Sorted by (dataset, size, seed).
    """
    # condition -> (dataset, size, seed) -> latent size (None without a VAE) -> value
    values: dict[str, dict[tuple, dict[int | None, float]]] = {
        a: defaultdict(dict),
        b: defaultdict(dict),
    }
    for row in rows:
        condition = row["condition"]
        if condition not in values:
            continue
        z = _latent(row)
        if latent is not None and z is not None and z != latent:
            continue
        key = (row["dataset"], int(row["size"]), int(row["seed"]))
        values[condition][key][z] = float(row[metric])
    diffs = []
    for key in sorted(values[a].keys() & values[b].keys()):
        by_latent_a, by_latent_b = values[a][key], values[b][key]
        shared = (by_latent_a.keys() & by_latent_b.keys()) - {None}
        if shared:  # both have a VAE: compare the latent sizes both ran
            by_latent_a = {z: by_latent_a[z] for z in shared}
            by_latent_b = {z: by_latent_b[z] for z in shared}
        elif None not in by_latent_a and None not in by_latent_b:
            continue  # both have a VAE, but no latent size in common
        diffs.append(np.mean(list(by_latent_a.values())) - np.mean(list(by_latent_b.values())))
    return np.asarray(diffs, dtype=float)


def smallest_p_value(n_pairs: int) -> float:
    """The smallest p-value a two-sided Wilcoxon signed-rank test of n pairs can give.

    The exact test's most extreme outcome (every difference of one sign) has
    probability ``2 / 2**n``: with 5 pairs p is never below 0.0625, so no
    difference can be significant at 0.05 whatever the data.

    Parameters
    ----------
    n_pairs : int

    Returns
    -------
    float
        ``min(1, 2 / 2**n_pairs)``; NaN without pairs.

    Examples
    --------
    >>> smallest_p_value(5)
    0.0625
    >>> smallest_p_value(3)
    0.25
    """
    if n_pairs < 1:
        return math.nan
    return min(1.0, 2.0 / 2.0**n_pairs)


def wilcoxon_tests(
    rows: Iterable[Mapping[str, Any]],
    comparisons: Iterable[tuple[str, str]] = COMPARISONS,
    *,
    alpha: float = 0.05,
    metric: str = "f1",
    per_size: bool = False,
    per_latent: bool = False,
) -> list[dict[str, Any]]:
    """Wilcoxon signed-rank tests between conditions, like the paper's Table 3.

    Each comparison pairs the two conditions on each training subset (data
    set, size, seed), a condition with a VAE by its mean over latent sizes
    (see :func:`paired_differences`), per data set, and applies
    :func:`scipy.stats.wilcoxon` (two-sided). Comparisons with a missing
    condition are skipped. With ``per_size=True`` each training size is tested
    on its own, which shows whether a pooled result holds at every size; with
    ``per_latent=True`` each latent size of the conditions with a VAE is
    tested on its own (comparisons of two conditions without a VAE are then
    left out: they would repeat the pooled test).

    Parameters
    ----------
    rows : iterable of dict
    comparisons : iterable of (str, str), default=COMPARISONS
    alpha : float, default=0.05
        Significance level of the verdict.
    metric : str, default="f1"
    per_size : bool, default=False
        One test per (data set, training size) instead of per data set.
    per_latent : bool, default=False
        One test per (data set, latent size) instead of per data set.

    Returns
    -------
    list of dict
        ``dataset``, ``size`` (None unless ``per_size``), ``latent`` (None
        unless ``per_latent``), ``a``, ``b``, ``n_pairs``, ``min_p`` (the
        smallest p-value ``n_pairs`` allow, :func:`smallest_p_value`),
        ``n_wins`` (pairs with A > B), ``mean_diff`` and ``median_diff`` (A -
        B), ``statistic``, ``p_value`` (NaN when there is no pair) and
        ``verdict``: ``"A better"``, ``"B better"``, ``"no significant
        difference"``, ``"too few pairs for p < alpha (n=..., min p ...)"``
        (when ``min_p >= alpha``: no outcome of these pairs could be
        significant), ``"all differences zero"`` or ``"no pairs"``.
    """
    rows = list(rows)
    tests = []
    for dataset, size, latent in _test_groups(rows, per_size=per_size, per_latent=per_latent):
        subset = [
            r
            for r in rows
            if r["dataset"] == dataset
            and (size is None or int(r["size"]) == size)
            and (latent is None or _latent(r) in (None, latent))
        ]
        present = {r["condition"] for r in subset}
        for a, b in comparisons:
            if a not in present or b not in present:
                continue
            if latent is not None and a in LATENT_FREE and b in LATENT_FREE:
                continue
            d = paired_differences(subset, a, b, metric)
            group = {"dataset": dataset, "size": size, "latent": latent, "a": a, "b": b}
            tests.append(_signed_rank_test(group, d, alpha))
    return tests


def _test_groups(
    rows: Sequence[Mapping[str, Any]], *, per_size: bool, per_latent: bool
) -> list[tuple[str, int | None, int | None]]:
    """The sorted ``(dataset, size, latent)`` groups :func:`wilcoxon_tests` tests apart."""
    groups: set[tuple] = set()
    for row in rows:
        if per_latent and _latent(row) is None:
            continue  # a condition without a VAE joins every latent size's group
        groups.add(
            (
                row["dataset"],
                int(row["size"]) if per_size else None,
                _latent(row) if per_latent else None,
            )
        )
    return sorted(groups, key=lambda g: (g[0], g[1] or 0, g[2] or 0))


def _signed_rank_test(group: Mapping[str, Any], d: np.ndarray, alpha: float) -> dict[str, Any]:
    """One row of :func:`wilcoxon_tests`: ``group``'s keys, then the test of differences ``d``."""
    from scipy.stats import wilcoxon

    test = {
        **group,
        "n_pairs": len(d),
        "min_p": smallest_p_value(len(d)),
        "n_wins": int(np.sum(d > 0)),
        "mean_diff": float(d.mean()) if len(d) else math.nan,
        "median_diff": float(np.median(d)) if len(d) else math.nan,
        "statistic": math.nan,
        "p_value": math.nan,
    }
    if len(d) and not np.any(d != 0):
        test["p_value"] = 1.0
    elif len(d):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                result = wilcoxon(d)
                test["statistic"] = float(result.statistic)
                test["p_value"] = float(result.pvalue)
            except ValueError:  # pragma: no cover - scipy refusing tiny samples
                pass
    test["verdict"] = _verdict(test, alpha, all_zero=len(d) > 0 and not np.any(d != 0))
    return test


def _verdict(test: Mapping[str, Any], alpha: float, *, all_zero: bool) -> str:
    n, p = test["n_pairs"], test["p_value"]
    if n == 0:
        return "no pairs"
    if all_zero:
        return "all differences zero"
    if test["min_p"] >= alpha:
        # Say so rather than "no significant difference", which would read as evidence.
        return f"too few pairs for p < {alpha:g} (n={n}, min p {test['min_p']:.3g})"
    if math.isnan(p) or p >= alpha:
        return "no significant difference"
    sign = test["median_diff"] if test["median_diff"] != 0 else test["mean_diff"]
    return f"{test['a']} better" if sign > 0 else f"{test['b']} better"


def table3_markdown(
    tests: Sequence[Mapping[str, Any]],
    *,
    alpha: float = 0.05,
    per_size: Sequence[Mapping[str, Any]] = (),
    per_latent: Sequence[Mapping[str, Any]] = (),
) -> str:
    """Markdown of :func:`wilcoxon_tests`.

    Every row shows its number of pairs and the smallest p-value they allow.
    Like :func:`table2_markdown`, the markdown has no heading of its own.

    Parameters
    ----------
    tests : sequence of dict
        The pooled tests.
    alpha : float, default=0.05
        The significance level the tests were run with (shown in the text).
    per_size : sequence of dict, default=()
        Tests of ``wilcoxon_tests(..., per_size=True)``, shown in a second
        table (none when empty).
    per_latent : sequence of dict, default=()
        Tests of ``wilcoxon_tests(..., per_latent=True)``, shown in a third
        table (none when empty).

    Returns
    -------
    str
    """
    lines = [
        _comment("Table 3: Wilcoxon signed-rank tests on macro F1"),
        "",
        "Wilcoxon signed-rank tests on macro F1, one pair per training subset (the same "
        "data set, training size and seed); independent subsets give independent pairs. "
        "A condition with a VAE enters with its mean over the latent sizes it ran (over "
        "those both ran, when both conditions have a VAE), so each CNN or AUG run counts "
        f"once. Two-sided test; verdict at p < {alpha:g}. Differences are A - B in F1 "
        "points; `A > B`: pairs in which A scored higher. `min p`: the smallest p-value "
        "that n pairs allow (2 / 2^n, all n differences of one sign); where it is not "
        f"below {alpha:g}, the verdict says that the pairs are too few, whatever the data.",
        "",
    ]
    if not tests:
        return "\n".join([*lines, "No comparison possible: fewer than two conditions.", ""])
    lines += _test_rows(tests, ())
    if per_size:
        lines += [
            "**Per training size.** The same comparisons within each training size.",
            "",
            *_test_rows(per_size, ("size",)),
        ]
    if per_latent:
        lines += [
            "**Per latent size.** Each latent size of the conditions with a VAE alone, over "
            "all training sizes. Every latent size's test reuses the same CNN and AUG runs: "
            "read them one at a time, not as independent evidence.",
            "",
            *_test_rows(per_latent, ("latent",)),
        ]
    return "\n".join(lines)


def _test_rows(tests: Sequence[Mapping[str, Any]], extra: tuple[str, ...]) -> list[str]:
    """A markdown table of tests; ``extra`` columns (size, latent) after the data set."""
    header = ["dataset", *extra, "A", "B", "pairs", "min p", "A > B", "mean A - B"]
    header += ["median A - B", "p-value", "verdict"]
    align = ["---", *("---:" for _ in extra), "---", "---"] + ["---:"] * 6 + ["---"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    for t in tests:
        cells = [t["dataset"], *(str(t[name]) for name in extra), t["a"], t["b"]]
        cells += [
            str(t["n_pairs"]),
            _pvalue(t["min_p"]),
            str(t["n_wins"]),
            _num(t["mean_diff"], "+.2f"),
            _num(t["median_diff"], "+.2f"),
            _pvalue(t["p_value"]),
            t["verdict"],
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def _num(value: float, spec: str) -> str:
    return "–" if math.isnan(value) else format(value, spec)


def _pvalue(p: float) -> str:
    if math.isnan(p):
        return "–"
    # Three significant digits: 0.0625, the smallest p of 5 pairs, must not read as 0.062.
    text = f"{p:.2e}" if p < 1e-3 else f"{p:.3g}"
    return text if "." in text or "e" in text else f"{p:.2f}"  # 1.00, not 1


# ------------------------------------------------------------------- plot
_COLORS = dict(
    zip(
        ALL_CONDITIONS,
        ("tab:gray", "tab:orange", "tab:blue", "tab:green", "tab:brown", "tab:red", "tab:purple"),
    )
)
_STYLES = ("-", "--", ":", "-.")


def plot_f1_vs_size(
    rows: Iterable[Mapping[str, Any]], path: str | os.PathLike, *, with_paper: bool = True
) -> Path:
    """Plot macro F1 (mean ± std over seeds) against the training size.

    One line per condition (and latent size for the VAE conditions); the
    paper's values (:data:`~skvae.experiment.paper.PAPER_F1`) as stars for
    every condition plotted, at the training sizes plotted: for a VAE
    condition the paper's value at the same latent size, or its best latent
    size where it has none. Each panel's title says what the error bars are.
    The augmentation-strength conditions are left to
    :func:`plot_augment_strength`.

    Parameters
    ----------
    rows : iterable of dict
    path : path-like
        PNG file to write.
    with_paper : bool, default=True

    Returns
    -------
    pathlib.Path
    """
    return save_figure(_f1_vs_size_figure(rows, with_paper=with_paper), path)


def _f1_vs_size_figure(rows: Iterable[Mapping[str, Any]], *, with_paper: bool):
    # The strength study has a figure of its own (plot_augment_strength).
    summary = [s for s in summarize(rows) if s["condition"] not in STRENGTH_CONDITIONS]
    datasets = sorted({s["dataset"] for s in summary}) or ["(no results)"]
    fig, axes = figure_panels(len(datasets), 6.5 * len(datasets), 4.5)
    for ax, dataset in zip(axes, datasets):
        entries = [s for s in summary if s["dataset"] == dataset]
        series: dict[tuple[str, int | None], list[dict]] = defaultdict(list)
        for entry in entries:
            series[(entry["condition"], entry["latent"])].append(entry)
        latents = sorted({z for _, z in series if z is not None})
        sizes = sorted({e["size"] for e in entries})
        for (condition, latent), points in series.items():
            points.sort(key=lambda e: e["size"])
            style = "-" if latent is None else _STYLES[latents.index(latent) % len(_STYLES)]
            ax.errorbar(
                [p["size"] for p in points],
                [p["mean"] for p in points],
                yerr=np.nan_to_num([p["std"] for p in points]),
                label=condition if latent is None else f"{condition} z={latent}",
                color=_COLORS.get(condition),
                linestyle=style,
                marker="o",
                markersize=4,
                capsize=3,
            )
        if with_paper:
            for column, style in _paper_columns(dataset, series, latents):
                known = [(s, paper_value(dataset, s, column)) for s in sizes]
                known = [(s, v) for s, v in known if v is not None]
                if known:
                    ax.plot(
                        *zip(*known),
                        marker="*",
                        markersize=11,
                        linestyle=style,
                        linewidth=0.8,
                        alpha=0.8,
                        color=_COLORS.get(column.split()[0], "black"),
                        markeredgecolor="black",
                        label=f"paper: {column}",
                    )
        if sizes:
            ax.set_xscale("log")
            ax.set_xticks(sizes, [str(s) for s in sizes])
            ax.minorticks_off()
        note = error_bar_note(e["n"] for e in entries)
        _finish_f1_axes(ax, "training images", f"{dataset}\n({note})", legend=bool(entries))
    return fig


def _paper_columns(
    dataset: str, series: Mapping[tuple[str, int | None], Any], latents: Sequence[int]
) -> list[tuple[str, str]]:
    """The paper's columns to draw beside ``series``, with their line styles.

    Each once: several of our series never map to the same paper column twice.
    """
    published = {column for d, _, column in PAPER_F1 if d == dataset}
    columns: dict[str, str] = {}
    for condition, latent in series:
        if latent is None:
            if condition in published:
                columns.setdefault(condition, "-")
            continue
        column = f"{condition} z={latent}"
        if column in published:
            columns.setdefault(column, _STYLES[latents.index(latent) % len(_STYLES)])
        elif f"{condition} best" in published:
            columns.setdefault(f"{condition} best", "-")
    return list(columns.items())


def _finish_f1_axes(ax, xlabel: str, title: str, *, legend: bool) -> None:
    """Labels, title and grid of a macro-F1 panel; the legend if it has series."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel("macro F1 (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if legend:
        _legend(ax)


def _legend(ax) -> None:
    """A legend with each label once, however many artists share it."""
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    # Our series first, the paper's after them (matplotlib lists plain lines first).
    order = sorted(unique, key=lambda label: label.startswith("paper: "))
    ax.legend([unique[label] for label in order], order, fontsize="small")


def plot_augment_strength(rows: Iterable[Mapping[str, Any]], path: str | os.PathLike) -> Path:
    """Plot macro F1 against the augmentation level, like the paper's Figure 3.

    One panel per data set; per training size, a solid line through AUG
    (level 0, the expert setting) and ``"AUG@1"`` ... ``"AUG@4"`` (mean ±
    std over seeds, as the panel's title says), the CNN without augmentation
    as a dashed line and, where it ran, the VAE condition (its best latent
    size) as a dotted line of the same colour.

    Parameters
    ----------
    rows : iterable of dict
        Rows of ``results.csv``.
    path : path-like
        PNG file to write.

    Returns
    -------
    pathlib.Path
    """
    return save_figure(_augment_strength_figure(rows), path)


def _augment_strength_figure(rows: Iterable[Mapping[str, Any]]):
    summary = summarize(rows)
    levels = {s["dataset"] for s in summary if s["condition"] in STRENGTH_CONDITIONS}
    datasets = sorted(levels) or ["(no results)"]
    fig, axes = figure_panels(len(datasets), 6.5 * len(datasets), 4.5)
    top = len(STRENGTH_CONDITIONS)
    for ax, dataset in zip(axes, datasets):
        entries = [s for s in summary if s["dataset"] == dataset]
        sizes = sorted({e["size"] for e in entries if e["condition"] in STRENGTH_CONDITIONS})
        with_bars = []
        for i, size in enumerate(sizes):
            color = f"C{i}"
            at_size = [e for e in entries if e["size"] == size]
            points = sorted(
                (augment_level(e["condition"]), e)
                for e in at_size
                if augment_level(e["condition"]) is not None
            )
            with_bars += [e for _, e in points]
            ax.errorbar(
                [level for level, _ in points],
                [e["mean"] for _, e in points],
                yerr=np.nan_to_num([e["std"] for _, e in points]),
                color=color,
                marker="o",
                capsize=3,
                label=f"AUG, {size} images",
            )
            for condition, style in (("CNN", "--"), ("VAE", ":")):
                options = [e for e in at_size if e["condition"] == condition]
                if options:
                    best = max(options, key=lambda e: e["mean"])
                    ax.hlines(
                        best["mean"],
                        0,
                        top,
                        colors=color,
                        linestyles=style,
                        label=f"{condition}, {size} images",
                    )
        ax.set_xticks(range(top + 1), ["expert\n(paper AUG)", *map(str, range(1, top)), "all"])
        note = error_bar_note(e["n"] for e in with_bars)
        title = f"{dataset}: augmentation strength\n({note}; lines: means)"
        _finish_f1_axes(ax, "augmentation level (AUGMENT_LEVELS)", title, legend=bool(sizes))
    return fig


# ---------------------------------------------------------------- writers
def write_reports(
    rows: Iterable[Mapping[str, Any]], out_dir: str | os.PathLike, *, with_paper: bool = True
) -> dict[str, Path]:
    """Write ``table2.md``, ``table3.md`` and ``f1_vs_size.png`` into ``out_dir``.

    ``table3.md`` holds the pooled tests, the tests per training size and, with
    several latent sizes, the tests per latent size (:func:`wilcoxon_tests`).
    With rows of the augmentation-strength conditions, ``fig3.png``
    (:func:`plot_augment_strength`) too.

    Parameters
    ----------
    rows : iterable of dict
        Rows of ``results.csv``.
    out_dir : path-like
    with_paper : bool, default=True

    Returns
    -------
    dict
        Name -> path of each file written.
    """
    rows = list(rows)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "table2": out_dir / "table2.md",
        "table3": out_dir / "table3.md",
    }
    paths["table2"].write_text(table2_markdown(rows, with_paper=with_paper))
    # A per-latent table only with several latent sizes: with one it repeats the pooled.
    several = len({_latent(r) for r in rows} - {None}) > 1
    paths["table3"].write_text(
        table3_markdown(
            wilcoxon_tests(rows),
            per_size=wilcoxon_tests(rows, per_size=True),
            per_latent=wilcoxon_tests(rows, per_latent=True) if several else (),
        )
    )
    paths["f1_vs_size"] = plot_f1_vs_size(rows, out_dir / "f1_vs_size.png", with_paper=with_paper)
    if any(row["condition"] in STRENGTH_CONDITIONS for row in rows):
        paths["fig3"] = plot_augment_strength(rows, out_dir / "fig3.png")
    else:  # an earlier grid's figure would pass for this one's
        (out_dir / "fig3.png").unlink(missing_ok=True)
    return paths
