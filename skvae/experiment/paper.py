"""Values published by Garay-Maestre, Gallego and Calvo-Zaragoza (2019).

"Data Augmentation via Variational Auto-Encoders", CIARP 2018, LNCS 11401,
pp. 29-37, https://doi.org/10.1007/978-3-030-13469-3_4.

Only numbers whose origin is known are listed here; nothing is estimated or
read off a plot. Where a value is missing the reports show no paper value.

Provenance
----------
The paper's full text (its Table 2) could not be retrieved while this module
was written: the stored copy of the publisher's page reachable from the
project's tools only held the introduction. The four values below are the ones
quoted in the project's issue "Datasets and ``skvae reproduce``" as the paper's
Table 2 macro F1 (in %) on MNIST, and were not re-checked against the paper:

- 50 training images: CNN 76.3, best VAE 85.4;
- 250 training images: CNN 93.0, best VAE 95.9.

"best VAE" is the best latent size of the CNN trained on real + VAE-generated
images (the paper's "VAE" condition), not a value for one given latent size.
Whoever obtains the paper's Table 2 should add its other cells (the other
sizes, each latent size, the conventional-augmentation columns) to
:data:`PAPER_F1` with their source.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PAPER_F1", "PaperValue", "paper_value", "REFERENCE"]

REFERENCE = (
    "Garay-Maestre, Gallego and Calvo-Zaragoza (2019), Data Augmentation via "
    "Variational Auto-Encoders, CIARP 2018, LNCS 11401, doi:10.1007/978-3-030-13469-3_4"
)

_ISSUE_QUOTE = (
    "Table 2 of the paper as quoted in the project's issue 'Datasets and skvae "
    "reproduce' (not re-checked against the paper)"
)


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


#: Published macro F1 (%) keyed by ``(dataset, n_train, column)``. ``column`` is
#: a condition (``"CNN"``, ``"AUG"``), ``"<condition> z=<latent>"`` for one
#: latent size, or ``"<condition> best"`` for the best latent size.
PAPER_F1: dict[tuple[str, int, str], PaperValue] = {
    ("mnist", 50, "CNN"): PaperValue(76.3, _ISSUE_QUOTE),
    ("mnist", 50, "VAE best"): PaperValue(85.4, _ISSUE_QUOTE),
    ("mnist", 250, "CNN"): PaperValue(93.0, _ISSUE_QUOTE),
    ("mnist", 250, "VAE best"): PaperValue(95.9, _ISSUE_QUOTE),
}


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
    >>> paper_value("digits", 50, "CNN") is None
    True
    """
    entry = PAPER_F1.get((dataset, int(size), column))
    return None if entry is None else entry.value
