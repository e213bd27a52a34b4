"""scikit-learn's estimator checks on CNNClassifier (fast settings)."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skvae import CNNClassifier
from skvae.nn import PaperCNN


class TinyCNN(PaperCNN):
    """The paper's layout with few filters, so the 50-odd checks run in seconds."""

    def __init__(self, in_shape, n_classes):
        super().__init__(in_shape, n_classes, channels=(8, 8, 8, 8), hidden=16, dropout=0.0)


def _fast_classifier() -> CNNClassifier:
    return CNNClassifier(TinyCNN, max_epochs=30, batch_size=64, lr=1e-2, random_state=0)


@parametrize_with_checks([_fast_classifier()])
# Any UserWarning fails a check: scikit-learn's checks warned when set_params raised
# ("It is recommended to delay parameter validation until fit").
@pytest.mark.filterwarnings("error::UserWarning")
def test_sklearn_checks(estimator, check):
    check(estimator)
