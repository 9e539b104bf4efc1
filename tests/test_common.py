"""scikit-learn's common checks, run over every public skmid estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skmid.linear_model import AdaSSPLinearRegression
from skmid.utils.discovery import all_estimators

# Estimators whose default construction needs arguments register an instance here.
_INSTANCES = {
    # AdaSSP requires data bounds; these cover the checks' data, and a large
    # epsilon keeps the privacy noise below the checks' accuracy thresholds.
    "AdaSSPLinearRegression": AdaSSPLinearRegression(
        epsilon=1e4, bounds_X=(-5, 5), bounds_y=(-5, 5), random_state=0
    ),
}

# check name -> written reason, per estimator class name.
EXPECTED_FAILED_CHECKS = {}


def _estimators():
    return [
        _INSTANCES[name] if name in _INSTANCES else cls()
        for name, cls in all_estimators()
    ]


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


@parametrize_with_checks(_estimators(), expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
