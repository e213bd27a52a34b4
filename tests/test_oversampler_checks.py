"""imbalanced-learn's and scikit-learn's estimator checks on the two over-samplers."""

import pytest
from imblearn.utils.estimator_checks import (
    parametrize_with_checks as imblearn_parametrize_with_checks,
)
from sklearn.utils.estimator_checks import (
    parametrize_with_checks as sklearn_parametrize_with_checks,
)

from skvae import SemiSupervisedVAEOversampler, VAEOversampler


def _fast_sampler(vae: str = "auto") -> VAEOversampler:
    return VAEOversampler(
        latent=2, training={"max_epochs": 2, "patience": 1}, random_state=0, vae=vae
    )


def _fast_semi_supervised() -> SemiSupervisedVAEOversampler:
    return SemiSupervisedVAEOversampler(
        latent=2, training={"max_epochs": 2, "patience": 1}, random_state=0
    )


_SAMPLERS = [_fast_sampler(), _fast_sampler(vae="conditional"), _fast_semi_supervised()]


def _expected_failures(estimator) -> dict[str, str]:
    return {
        # imbalanced-learn runs this check whenever a sampler takes dataframes, even
        # with the sparse tag off. A VAE trains on dense tensors; sparse input is
        # refused with a TypeError naming the problem (see test_oversampler.py).
        "check_samplers_pandas_sparse": "sparse input is refused: VAEs need dense data",
    }


# imblearn hands pytest a generator, which pytest deprecates (and 10 removes):
# the same marker with the cases as a list.
_imblearn_mark = imblearn_parametrize_with_checks(
    _SAMPLERS,
    expected_failed_checks=_expected_failures,
).mark


@pytest.mark.parametrize(
    _imblearn_mark.args[0], list(_imblearn_mark.args[1]), **_imblearn_mark.kwargs
)
def test_imblearn_checks(estimator, check):
    check(estimator)


@sklearn_parametrize_with_checks(_SAMPLERS)
def test_sklearn_checks(estimator, check):
    check(estimator)
