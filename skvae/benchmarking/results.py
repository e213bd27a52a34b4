"""A benchmark's results: markdown tables on the terminal and ``<name>.json`` / ``.md`` files.

:func:`write_results` writes every table of a run with the run's settings and
:func:`~skvae.benchmarking.machine.machine_info`, so a results file says what
was measured, where and how to rerun it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from .machine import machine_info

__all__ = ["format_table", "print_table", "write_results", "write_table"]


def _fmt(value: object) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    if value is None:
        return "-"
    return str(value)


def format_table(rows: Sequence[dict], columns: Sequence[str] | None = None) -> str:
    """A GitHub markdown table of ``rows``.

    Floats get 0 to 2 decimals by size, NaN and None show as ``-``; text is
    left-aligned, numbers right-aligned.

    Parameters
    ----------
    rows : sequence of dict
        One dict per row; a missing entry shows as ``-``.
    columns : sequence of str, optional
        Columns in order; by default the keys of the first row.

    Returns
    -------
    str
        The table, or ``"(no rows)"``.
    """
    if not rows:
        return "(no rows)"
    if columns is None:
        columns = list(rows[0])
    cells = [[_fmt(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    for row, r in zip(rows, cells):
        lines.append(
            "| "
            + " | ".join(
                v.ljust(w) if isinstance(row.get(c), str) else v.rjust(w)
                for c, v, w in zip(columns, r, widths)
            )
            + " |"
        )
    return "\n".join(lines)


def print_table(
    rows: Sequence[dict], columns: Sequence[str] | None = None, title: str | None = None
) -> None:
    """Print :func:`format_table` of ``rows``, after ``title`` if given."""
    if title:
        print(f"\n{title}")
    print(format_table(rows, columns), flush=True)


def write_table(
    name: str,
    title: str,
    rows: Sequence[dict],
    columns: Sequence[str],
    meta: dict,
    *,
    out_dir: str | Path,
    notes: Sequence[str] = (),
) -> tuple[Path, Path]:
    """Print one table and write it with :func:`write_results`; print where.

    Parameters
    ----------
    name, meta, out_dir, notes
        As in :func:`write_results`.
    title : str
        The table's title.
    rows : sequence of dict
    columns : sequence of str

    Returns
    -------
    tuple of Path
        The ``.json`` and ``.md`` paths.
    """
    print_table(rows, columns, title=title)
    paths = write_results(name, {title: (rows, columns)}, meta, out_dir=out_dir, notes=notes)
    print("wrote", *paths)
    return paths


def write_results(
    name: str,
    tables: Mapping[str, tuple[Sequence[dict], Sequence[str]]],
    meta: dict,
    *,
    out_dir: str | Path,
    notes: Sequence[str] = (),
) -> tuple[Path, Path]:
    """Write ``<out_dir>/<name>.json`` and ``<out_dir>/<name>.md``.

    The JSON file holds the benchmark's name, its settings merged over
    :func:`~skvae.benchmarking.machine.machine_info`, every table's rows and the
    notes. The markdown file lists the main settings (a list of scalars on one
    line; nested values only in the JSON), each matmul peak of ``meta`` (a dict
    made by :func:`~skvae.benchmarking.peak.combine_peaks`), the tables and the
    notes.

    Parameters
    ----------
    name : str
        The benchmark's name, also the files' stem.
    tables : mapping
        ``{title: (rows, columns)}``.
    meta : dict
        The run's settings and summary values.
    out_dir : str or Path
        Folder of the files; created if missing.
    notes : sequence of str, default=()
        Sentences for the "Notes" section.

    Returns
    -------
    tuple of Path
        The ``.json`` and ``.md`` paths.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    info = {**machine_info(), **meta}
    payload = {
        "benchmark": name,
        "meta": info,
        "tables": {title: list(rows) for title, (rows, _) in tables.items()},
        "notes": list(notes),
    }
    json_path = out_dir / f"{name}.json"
    json_path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")

    md = [f"# {name}", ""]
    for key in ("date", "cpu", "logical_cpus", "torch_threads", "torch", "skvae", "command"):
        md.append(f"- {key}: `{info.get(key)}`")
    for key, value in meta.items():
        if key in ("date", "command") or isinstance(value, dict):
            continue
        if isinstance(value, (list, tuple)):  # e.g. temperatures: one line, not dropped
            if any(isinstance(v, (dict, list, tuple)) for v in value):
                continue
            value = ", ".join(map(str, value)) or "none"
        md.append(f"- {key}: `{value}`")
    for key, value in meta.items():
        if isinstance(value, dict) and "medians_per_measurement" in value:
            medians = ", ".join(f"{m:.1f}" for m in value["medians_per_measurement"])
            md.append(
                f"- {key}: {value['gflops']:.1f} GFLOP/s, the best of "
                f"{len(value['samples'])} samples ({value['dtype']} {value['n']}x{value['n']} "
                f"torch.matmul; medians of the measurements before and after the run: "
                f"{medians})"
            )
    md.append("")
    for title, (rows, columns) in tables.items():
        md += [f"## {title}", "", format_table(rows, columns), ""]
    if notes:
        md += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    md_path = out_dir / f"{name}.md"
    md_path.write_text("\n".join(md), encoding="utf-8")
    return json_path, md_path
