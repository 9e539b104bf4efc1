"""Find skmid's public estimators, like scikit-learn's ``all_estimators``."""

import inspect
import pkgutil
from importlib import import_module
from operator import itemgetter

from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClusterMixin,
    RegressorMixin,
    TransformerMixin,
)

_TYPE_MIXINS = {
    "classifier": ClassifierMixin,
    "regressor": RegressorMixin,
    "transformer": TransformerMixin,
    "cluster": ClusterMixin,
}


def _public_modules():
    import skmid

    for module_info in pkgutil.walk_packages(skmid.__path__, prefix="skmid."):
        parts = module_info.name.split(".")
        if any(part == "tests" or part.startswith("_") for part in parts[1:-1]):
            continue
        if parts[-1] in {"tests", "conftest", "__main__"}:
            continue
        yield module_info.name


def all_estimators(type_filter=None):
    """List every public estimator class of skmid.

    Modules whose optional dependencies are missing are skipped, so the list
    holds what can be used in the current environment.

    Parameters
    ----------
    type_filter : {"classifier", "regressor", "transformer", "cluster"} or list \
            of those, default=None
        Keep only estimators of these kinds; None keeps all.

    Returns
    -------
    estimators : list of (name, class) tuples
        Sorted by name; ``name`` is the class name.

    Examples
    --------
    >>> from skmid.utils.discovery import all_estimators
    >>> estimators = all_estimators()
    >>> all(isinstance(name, str) for name, _ in estimators)
    True
    """
    if type_filter is None:
        mixins = None
    else:
        kinds = [type_filter] if isinstance(type_filter, str) else list(type_filter)
        unknown = set(kinds) - set(_TYPE_MIXINS)
        if unknown:
            raise ValueError(
                f"type_filter must be None or among {sorted(_TYPE_MIXINS)}; "
                f"got {sorted(unknown)}."
            )
        mixins = tuple(_TYPE_MIXINS[kind] for kind in kinds)

    found = {}
    for module_name in _public_modules():
        try:
            module = import_module(module_name)
        except ImportError:
            continue
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if name.startswith("_") or not cls.__module__.startswith("skmid."):
                continue
            if not issubclass(cls, BaseEstimator) or inspect.isabstract(cls):
                continue
            if cls.__module__.startswith("skmid.attacks."):
                continue  # attacks are metrics with parameters, not estimators
            if cls.__module__.startswith("skmid.model_selection."):
                continue  # searches over estimators, checked in their own tests
            if mixins is not None and not issubclass(cls, mixins):
                continue
            found[name] = cls
    return sorted(found.items(), key=itemgetter(0))
