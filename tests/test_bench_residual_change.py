"""benchmarks/residual_change.py: the nearest training row of the same class."""

from __future__ import annotations

import numpy as np
from conftest import load_benchmark


def test_residual_change_nearest_same_class():
    module = load_benchmark("residual_change.py")
    X_train = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 1.0]])
    y_train = np.array([0, 0, 1])
    # The second new row is nearest the class-1 row overall, but only class 0 counts.
    X_new = np.array([[9.0, 0.0], [0.0, 0.9]])
    dist, nearest = module.nearest_same_class(X_new, np.array([0, 0]), X_train, y_train)
    np.testing.assert_allclose(dist, [1.0, 0.9])
    np.testing.assert_array_equal(nearest, [[10.0, 0.0], [0.0, 0.0]])
