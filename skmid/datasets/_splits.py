"""Private/public splits by identity, the setting of the model-inversion papers.

A class-reconstruction attack (MI-Face, GMI and their black-box and label-only
successors) attacks a model trained on *private* identities; the attacker may
own images of other, *public* identities (a generative prior is learned from
them) but never an image of a private one. The split is therefore by class,
never by row.
"""

import numbers
import os

import numpy as np
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..utils._validation import check_labels

#: name -> (default number of private classes, one-line description)
_INVERSION_DATASETS = {
    "faces": (20, "Olivetti faces: 40 people, 10 grey 64x64 images each"),
    "digits": (5, "scikit-learn's digits: 1,797 grey 8x8 images of 10 digits"),
}


@validate_params(
    {
        "y": ["array-like"],
        "n_private": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def split_private_public(y, *, n_private=None, shuffle=False, random_state=None):
    """Split rows into private and public identities: disjoint classes.

    The rows of ``n_private`` classes are private (the attacked model is
    trained on them) and the rows of every other class public (the attacker's
    background data). Without ``shuffle`` the private classes are the first
    ``n_private`` in sorted order, so the split needs no seed; with
    ``shuffle=True`` they are drawn at random from ``random_state``.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        The identity (class) of each row.
    n_private : int, default=None
        Number of private classes, at least 1 and fewer than the number of
        classes (at least one class stays public). None is half of them,
        rounded down.
    shuffle : bool, default=False
        Draw the private classes at random instead of taking the first ones.
    random_state : int, RandomState instance or None, default=None
        Seeds the draw when ``shuffle`` is True; unused otherwise. An integer
        leaves NumPy's global random state alone.

    Returns
    -------
    private : ndarray of int
        Indices of the private rows, in increasing order.
    public : ndarray of int
        Indices of the public rows, in increasing order.

    See Also
    --------
    load_inversion_split : The split applied to the faces or the digits.

    Examples
    --------
    >>> from skmid.datasets import split_private_public
    >>> y = [0, 0, 1, 1, 2, 2, 3, 3]
    >>> private, public = split_private_public(y, n_private=2)
    >>> private.tolist(), public.tolist()
    ([0, 1, 2, 3], [4, 5, 6, 7])
    >>> private, public = split_private_public(y, shuffle=True, random_state=0)
    >>> sorted(set(private) | set(public)) == list(range(8))
    True
    """
    y = check_labels(y, "y")
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError(
            "y must hold at least 2 classes (identities) to split them into private "
            f"and public ones; got {len(classes)}."
        )
    if n_private is None:
        n_private = max(1, len(classes) // 2)
    if n_private >= len(classes):
        raise ValueError(
            f"n_private must be less than the number of classes ({len(classes)}), "
            f"so that some identities stay public; got {n_private}."
        )
    if shuffle:
        rng = check_random_state(random_state)
        chosen = classes[np.sort(rng.permutation(len(classes))[:n_private])]
    else:
        chosen = classes[:n_private]
    is_private = np.isin(y, chosen)
    return np.flatnonzero(is_private), np.flatnonzero(~is_private)


@validate_params(
    {
        "name": [StrOptions(set(_INVERSION_DATASETS))],
        "n_private": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "data_home": [str, os.PathLike, None],
    },
    prefer_skip_nested_validation=True,
)
def load_inversion_split(
    name, *, n_private=None, shuffle=False, random_state=None, data_home=None
):
    """Load image data split into private and public identities.

    The data sets of skmid's class-reconstruction (model-inversion)
    experiments, pixels scaled to [0, 1] and flattened:

    - ``"faces"``: the Olivetti faces, 40 people with 10 images of 64x64
      pixels each, read offline from ``olivetti_py3.pkz`` in ``data_home``
      (scikit-learn's cache file); 20 private people by default (the papers'
      FaceScrub/CelebA setting at small scale);
    - ``"digits"``: scikit-learn's bundled 8x8 digits (pixels divided by
      16), private digits 0-4 and public digits 5-9 by default.

    The split is :func:`split_private_public` on the identities.

    Parameters
    ----------
    name : {"faces", "digits"}
        The data set.
    n_private : int, default=None
        Number of private identities; None is 20 for the faces and 5 for
        the digits.
    shuffle : bool, default=False
        Draw the private identities at random (from ``random_state``)
        instead of taking the first ones.
    random_state : int, RandomState instance or None, default=None
        Seeds the draw when ``shuffle`` is True.
    data_home : str or path-like, default=None
        Folder holding ``olivetti_py3.pkz`` (faces only); None is
        scikit-learn's default data folder. Nothing is downloaded.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With ``X_private``, ``y_private`` (the rows of the private
        identities), ``X_public``, ``y_public`` (the others),
        ``private_classes``, ``public_classes``, ``image_shape`` (the shape
        of one image, for display and total variation) and ``DESCR``.

    Examples
    --------
    >>> from skmid.datasets import load_inversion_split
    >>> digits = load_inversion_split("digits")
    >>> digits.private_classes.tolist(), digits.public_classes.tolist()
    ([0, 1, 2, 3, 4], [5, 6, 7, 8, 9])
    >>> digits.X_private.shape[1], digits.image_shape
    (64, (8, 8))
    >>> faces = load_inversion_split("faces", data_home="../shared/data")
    >>> faces.X_private.shape, len(faces.public_classes)
    ((200, 4096), 20)
    """
    from sklearn.datasets import fetch_olivetti_faces, load_digits

    default_private, description = _INVERSION_DATASETS[name]
    if name == "faces":
        try:
            bunch = fetch_olivetti_faces(data_home=data_home, download_if_missing=False)
        except OSError:
            raise FileNotFoundError(
                "load_inversion_split('faces') reads the Olivetti faces offline: "
                f"olivetti_py3.pkz was not found in data_home={data_home!r}."
            ) from None
        X, y, image_shape = bunch.data.astype(np.float64), bunch.target, (64, 64)
    else:
        bunch = load_digits()
        X, y, image_shape = bunch.data / 16.0, bunch.target, (8, 8)
    if n_private is None:
        n_private = default_private
    private, public = split_private_public(
        y, n_private=n_private, shuffle=shuffle, random_state=random_state
    )
    return Bunch(
        X_private=X[private],
        y_private=y[private],
        X_public=X[public],
        y_public=y[public],
        private_classes=np.unique(y[private]),
        public_classes=np.unique(y[public]),
        image_shape=image_shape,
        DESCR=(
            f"{description}, pixels in [0, 1], split by identity: "
            f"{n_private} private identities (the attacked model's training "
            f"data), {len(np.unique(y[public]))} public ones (the attacker's)."
        ),
    )
