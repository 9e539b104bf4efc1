"""Shared helpers of the dataset loaders."""

import os
from importlib import resources
from pathlib import Path

from sklearn.utils._param_validation import validate_params


@validate_params(
    {"data_home": [str, os.PathLike, None]}, prefer_skip_nested_validation=True
)
def get_data_home(data_home=None):
    """Return the folder where skmid looks for (and stores) data files.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder to use. If None, the ``SKMID_DATA`` environment variable
        when set, else ``~/skmid_data``.

    Returns
    -------
    data_home : pathlib.Path
        The folder (not created here).

    Examples
    --------
    >>> from skmid.datasets import get_data_home
    >>> str(get_data_home("/tmp/my_data"))
    '/tmp/my_data'
    """
    if data_home is None:
        data_home = os.environ.get("SKMID_DATA", Path("~") / "skmid_data")
    return Path(data_home).expanduser()


def load_descr(name):
    """Read the description ``descr/<name>`` shipped with skmid."""
    return (
        resources.files("skmid.datasets")
        .joinpath("descr", name)
        .read_text(encoding="utf-8")
    )
