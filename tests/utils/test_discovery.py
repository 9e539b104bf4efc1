import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from skmid.utils.discovery import all_estimators


def test_all_estimators_lists_public_estimator_classes():
    estimators = all_estimators()
    names = [name for name, _ in estimators]
    assert names == sorted(names)
    for name, cls in estimators:
        assert not name.startswith("_")
        assert issubclass(cls, BaseEstimator)
        assert cls.__module__.startswith("skmid.")


def test_type_filter_keeps_only_that_kind():
    for _, cls in all_estimators(type_filter="classifier"):
        assert issubclass(cls, ClassifierMixin)
    both = all_estimators(type_filter=["classifier", "regressor"])
    assert len(both) >= len(all_estimators(type_filter="classifier"))


def test_type_filter_rejects_unknown_kinds():
    with pytest.raises(ValueError, match="type_filter"):
        all_estimators(type_filter="forest")
