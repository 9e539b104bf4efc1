from importlib.util import find_spec

import pytest
from sklearn.base import BaseEstimator

from skmid.utils.discovery import all_estimators

# What discovery must find, by kind: a new public estimator is added here, and
# one that discovery loses (or wrongly picks up) fails these tests.
# skmid.neural_network needs torch and skorch at import; without them it is
# skipped, so its classifiers are expected only where they can be imported.
NEURAL_CLASSIFIERS = (
    {"DPSGDClassifier", "MIDClassifier", "VIBClassifier"}
    if find_spec("torch") is not None and find_spec("skorch") is not None
    else set()
)
CLASSIFIERS = {
    "DPID3Classifier",
    "DefendedClassifier",
    "MIDDecisionTreeClassifier",
    "MIDLogisticRegression",
} | NEURAL_CLASSIFIERS
REGRESSORS = {"AdaSSPLinearRegression", "MIDLinearRegression"}
TRANSFORMERS = {
    "AdversarialNoiseDefense",
    "CMIPostProcessor",
    "NoisePostProcessor",
    "PurifierTransformer",
    "RoundingPostProcessor",
    "TopLabelPostProcessor",
}
# Estimators of no kind. PrivacyUtilitySearch is left out on purpose: a search
# over estimators, checked by its own tests (tests/model_selection).
OTHERS = set()


def _names(estimators):
    return {name for name, _ in estimators}


def test_all_estimators_lists_public_estimator_classes():
    estimators = all_estimators()
    names = [name for name, _ in estimators]
    assert names == sorted(names)
    assert set(names) == CLASSIFIERS | REGRESSORS | TRANSFORMERS | OTHERS
    for name, cls in estimators:
        assert cls.__name__ == name
        assert issubclass(cls, BaseEstimator)
        assert cls.__module__.startswith("skmid.")
        # Attacks are metrics with parameters, not estimators.
        assert not cls.__module__.startswith("skmid.attacks")


@pytest.mark.parametrize(
    "type_filter, expected",
    [
        ("classifier", CLASSIFIERS),
        ("regressor", REGRESSORS),
        ("transformer", TRANSFORMERS),
        ("cluster", set()),
        (["classifier", "regressor"], CLASSIFIERS | REGRESSORS),
        (["regressor", "transformer"], REGRESSORS | TRANSFORMERS),
    ],
)
def test_type_filter_keeps_exactly_that_kind(type_filter, expected):
    assert _names(all_estimators(type_filter=type_filter)) == expected


@pytest.mark.parametrize("type_filter", ["forest", ["classifier", "forest"]])
def test_type_filter_rejects_unknown_kinds(type_filter):
    with pytest.raises(ValueError, match="type_filter.*'forest'"):
        all_estimators(type_filter=type_filter)
