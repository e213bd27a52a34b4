"""Values published by Garay-Maestre, Gallego and Calvo-Zaragoza (2019).

"Data Augmentation via Variational Auto-Encoders", CIARP 2018, LNCS 11401,
pp. 29-37, https://doi.org/10.1007/978-3-030-13469-3_4.

Provenance
----------
:data:`PAPER_TABLE2` is the paper's whole Table 2 (macro F1 in %, MNIST),
transcribed from its full text and checked number by number against it. The
paper prints one row per (latent size, training size) with the columns CNN,
VAE, AUG and AUG+VAE: 4 latent sizes x 5 training sizes x 4 columns = 80
printed cells. CNN and AUG use no VAE, so the paper repeats their value in
every latent size's block; here they are stored once, with latent None (50
distinct values). The paper's text confirms three of them: AUG+VAE with latent
size 3 at 50 images reaches "almost 91%" (90.86), "14.56%" above the CNN
(76.30) and "4.76%" above AUG (86.10).

The paper has no "best latent size" column: the ``"<condition> best"`` entries
of :data:`PAPER_F1` are derived here as the maximum over its four latent sizes
(latent size 3 for VAE at every training size, as the paper says).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "PAPER_F1",
    "PAPER_LATENTS",
    "PAPER_SIZES",
    "PAPER_TABLE2",
    "REFERENCE",
    "PaperValue",
    "paper_value",
]

REFERENCE = (
    "Garay-Maestre, Gallego and Calvo-Zaragoza (2019), Data Augmentation via "
    "Variational Auto-Encoders, CIARP 2018, LNCS 11401, doi:10.1007/978-3-030-13469-3_4"
)

#: Training sizes (images) of the paper's Table 2.
PAPER_SIZES: tuple[int, ...] = (50, 100, 250, 500, 1000)

#: Latent sizes of the paper's Table 2.
PAPER_LATENTS: tuple[int, ...] = (2, 3, 4, 8)

# Table 2 exactly as printed: (latent size, training size, CNN, VAE, AUG, AUG+VAE),
# in the paper's column order. Kept verbatim so that it can be read against the paper.
_TABLE2_AS_PRINTED: tuple[tuple[int, int, float, float, float, float], ...] = (
    (2, 50, 76.30, 84.89, 86.10, 89.05),
    (2, 100, 84.38, 90.90, 94.85, 94.50),
    (2, 250, 93.03, 94.84, 97.12, 98.00),
    (2, 500, 94.28, 95.65, 98.11, 98.22),
    (2, 1000, 96.54, 97.24, 98.36, 98.87),
    (3, 50, 76.30, 85.40, 86.10, 90.86),
    (3, 100, 84.38, 91.98, 94.85, 95.15),
    (3, 250, 93.03, 95.93, 97.12, 97.97),
    (3, 500, 94.28, 96.38, 98.11, 98.26),
    (3, 1000, 96.54, 97.74, 98.36, 98.87),
    (4, 50, 76.30, 83.77, 86.10, 89.67),
    (4, 100, 84.38, 91.75, 94.85, 94.73),
    (4, 250, 93.03, 95.16, 97.12, 97.86),
    (4, 500, 94.28, 96.28, 98.11, 98.30),
    (4, 1000, 96.54, 97.38, 98.36, 98.90),
    (8, 50, 76.30, 84.46, 86.10, 89.32),
    (8, 100, 84.38, 91.28, 94.85, 94.56),
    (8, 250, 93.03, 95.24, 97.12, 97.86),
    (8, 500, 94.28, 95.95, 98.11, 98.41),
    (8, 1000, 96.54, 97.50, 98.36, 98.79),
)
_PRINTED_COLUMNS = ("CNN", "VAE", "AUG", "AUG+VAE")


def _table2() -> dict[tuple[str, int, int | None], float]:
    table: dict[tuple[str, int, int | None], float] = {}
    for latent, size, *values in _TABLE2_AS_PRINTED:
        for condition, value in zip(_PRINTED_COLUMNS, values):
            key = (condition, size, None if condition in ("CNN", "AUG") else latent)
            # CNN and AUG are repeated in every latent block: the copies must agree.
            if table.setdefault(key, value) != value:
                raise AssertionError(f"Inconsistent transcription of Table 2 at {key}.")
    return table


#: The paper's Table 2: macro F1 (%) on MNIST keyed by ``(condition, n_train,
#: latent)``, ``condition`` one of ``"CNN"``, ``"AUG"``, ``"VAE"``,
#: ``"AUG+VAE"`` and ``latent`` None for CNN and AUG (they use no VAE).
PAPER_TABLE2: dict[tuple[str, int, int | None], float] = _table2()

_TABLE2_SOURCE = "Table 2 of the paper"
_BEST_SOURCE = "maximum over latent sizes 2, 3, 4 and 8 of Table 2 of the paper (derived)"


@dataclass(frozen=True)
class PaperValue:
    """One published number and where it came from.

    Parameters
    ----------
    value : float
        Macro F1 in percent.
    source : str
        Where the number was taken from.
    """

    value: float
    source: str


def _paper_f1() -> dict[tuple[str, int, str], PaperValue]:
    out: dict[tuple[str, int, str], PaperValue] = {}
    for (condition, size, latent), value in PAPER_TABLE2.items():
        column = condition if latent is None else f"{condition} z={latent}"
        out[("mnist", size, column)] = PaperValue(value, _TABLE2_SOURCE)
    for condition in ("VAE", "AUG+VAE"):
        for size in PAPER_SIZES:
            best = max(PAPER_TABLE2[(condition, size, z)] for z in PAPER_LATENTS)
            out[("mnist", size, f"{condition} best")] = PaperValue(best, _BEST_SOURCE)
    return out


#: Published macro F1 (%) keyed by ``(dataset, n_train, column)``, the columns of
#: the reports' Table 2: a condition (``"CNN"``, ``"AUG"``),
#: ``"<condition> z=<latent>"`` for one latent size, or ``"<condition> best"``
#: for the best latent size. Built from :data:`PAPER_TABLE2`.
PAPER_F1: dict[tuple[str, int, str], PaperValue] = _paper_f1()


def paper_value(dataset: str, size: int, column: str) -> float | None:
    """Return the published macro F1 (%) of one table cell, or None if unknown.

    Parameters
    ----------
    dataset : str
        ``"mnist"`` or ``"digits"`` (the paper has no digits values).
    size : int
        Number of training images.
    column : str
        Table column, e.g. ``"CNN"``, ``"VAE z=2"`` or ``"VAE best"``.

    Returns
    -------
    float or None

    Examples
    --------
    >>> paper_value("mnist", 50, "CNN")
    76.3
    >>> paper_value("mnist", 50, "AUG+VAE z=3")
    90.86
    >>> paper_value("digits", 50, "CNN") is None
    True
    """
    entry = PAPER_F1.get((dataset, int(size), column))
    return None if entry is None else entry.value
