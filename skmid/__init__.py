"""skmid: defenses against model inversion attacks, as scikit-learn estimators.

Subpackages are imported lazily on first attribute access, so that
``import skmid`` stays cheap and never imports optional heavy dependencies
such as torch.
"""

import importlib

from ._show_versions import show_versions
from ._version import __version__

_SUBMODULES = [
    "attacks",
    "audit",
    "datasets",
    "linear_model",
    "metrics",
    "model_selection",
    "neural_network",
    "postprocessing",
    "tree",
    "utils",
]

__all__ = ["__version__", "show_versions", *_SUBMODULES]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"skmid.{name}")
    raise AttributeError(f"module 'skmid' has no attribute {name!r}")


def __dir__():
    return __all__
