"""Import optional dependencies with an error message that names the extra."""

import importlib


def import_optional_dependency(module_name, *, extra, feature=None):
    """Import and return ``module_name``, or explain which extra to install.

    Parameters
    ----------
    module_name : str
        Name of the module to import, e.g. ``"torch"``.
    extra : str
        The skmid extra that installs it, e.g. ``"nn"``.
    feature : str, default=None
        What needs the module (a class or function name), for the message.

    Returns
    -------
    module : module
        The imported module.

    Raises
    ------
    ImportError
        If the module is not installed; the message names
        ``pip install "skmid[<extra>]"``.

    Examples
    --------
    >>> from skmid.utils import import_optional_dependency
    >>> np = import_optional_dependency("numpy", extra="all")
    >>> np.__name__
    'numpy'
    """
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        who = f"{feature} requires" if feature else "This feature requires"
        raise ImportError(
            f"{who} the optional dependency {module_name!r}, which is not "
            f'installed. Install it with: pip install "skmid[{extra}]"'
        ) from exc
