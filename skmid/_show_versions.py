"""Report the versions of skmid, Python and the packages skmid works with."""

from .utils._versions import get_versions


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
    info = get_versions()
    system_keys = ["python", "platform", "skmid"]
    print("\nSystem:")
    for key in system_keys:
        print(f"{key:>14}: {info[key]}")
    print("\nPython dependencies:")
    for key, value in info.items():
        if key not in system_keys:
            print(f"{key:>14}: {value}")
