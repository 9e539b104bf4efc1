"""Output-perturbation baselines the papers compare their defenses with."""

import numbers

import numpy as np
from scipy.special import ndtri
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BasePostProcessor
from ._waterfill_kernels import MAX_HASH_RESOLUTION

#: Decimals beyond which rounding is the identity: ``10**decimals * p`` would
#: pass 2**53, where float64 stops holding every integer, and an entry moves by
#: less than ``10**-decimals``, below the resolution of a probability near 1.
MAX_DECIMALS = np.finfo(np.float64).precision


class RoundingPostProcessor(BasePostProcessor):
    """Round confidence vectors to a number of decimals, keeping them on the simplex.

    Rounding the confidences is the countermeasure Fredrikson et al. (2015)
    evaluate against model inversion. Rounding each entry independently can
    leave a row that no longer sums to 1, so the rows are rounded by the
    largest-remainder method: every entry becomes a multiple of
    ``10**-decimals``, each is within one step of its original value, and the
    row sums to exactly one step count (ties go to the lower column index).

    Parameters
    ----------
    decimals : int, default=2
        Number of decimals kept, >= 0. ``decimals=0`` gives one-hot rows;
        beyond 15 decimals (the precision of float64) the rows are returned
        unchanged.

    Attributes
    ----------
    n_features_in_ : int
        Number of classes (columns of ``P``).

    See Also
    --------
    TopLabelPostProcessor : Keep only the top label.

    Examples
    --------
    >>> from skmid.postprocessing import RoundingPostProcessor
    >>> P = [[0.333, 0.333, 0.334], [0.655, 0.245, 0.1]]
    >>> RoundingPostProcessor(decimals=1).fit(P).transform(P)
    array([[0.3, 0.3, 0.4],
           [0.7, 0.2, 0.1]])
    """

    _uses_labels = False
    _parameter_constraints = {
        "decimals": [Interval(numbers.Integral, 0, None, closed="left")],
    }

    def __init__(self, *, decimals=2):
        self.decimals = decimals

    def _transform(self, P):
        if self.decimals > MAX_DECIMALS:
            return P.copy()
        steps = 10**self.decimals
        scaled = P * steps
        units = np.floor(scaled)
        remainder = scaled - units
        missing = np.rint(steps - units.sum(axis=1)).astype(np.intp)
        # Rank the remainders of each row, largest first (stable on ties).
        order = np.argsort(-remainder, axis=1, kind="stable")
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(P.shape[1])[None, :], axis=1)
        units += rank < missing[:, None]
        return units / steps


class TopLabelPostProcessor(BasePostProcessor):
    """Release only the top label, as a one-hot probability vector.

    The strongest output-perturbation baseline: no confidence information is
    left for an inversion attack, and accuracy is unchanged.

    Attributes
    ----------
    n_features_in_ : int
        Number of classes (columns of ``P``).

    Examples
    --------
    >>> from skmid.postprocessing import TopLabelPostProcessor
    >>> TopLabelPostProcessor().fit_transform([[0.2, 0.5, 0.3]])
    array([[0., 1., 0.]])
    """

    _uses_labels = False

    def _transform(self, P):
        top = np.zeros_like(P)
        top[np.arange(P.shape[0]), P.argmax(axis=1)] = 1.0
        return top


class NoisePostProcessor(BasePostProcessor):
    """Add random noise to confidence vectors, then renormalise.

    Each entry gets uniform noise on ``[-scale, scale]`` or Gaussian noise with
    standard deviation ``scale``; negative entries are clipped to 0 and the row
    is renormalised (a row clipped to all zeros keeps its original value). With
    ``preserve_label=True`` the label modifier restores the original argmax.
    The noise of a row is drawn from a hash of the row mixed with a secret from
    ``random_state``, so repeating a query returns the same answer.

    Parameters
    ----------
    scale : float, default=0.1
        Noise scale, >= 0. As the scale grows the rows tend to the
        renormalised noise alone, which a huge scale gives without overflow.
    kind : {"uniform", "gaussian"}, default="uniform"
        Noise distribution.
    preserve_label : bool, default=True
        Apply the label modifier after the noise.
    hash_resolution : float, default=1e4
        Grid of the query hash (see :class:`CMIPostProcessor`); at most 1e18.
    random_state : int, RandomState instance or None, default=None
        Seeds the secret mixed into the query hash.

    Attributes
    ----------
    hash_seed_ : int
        The secret mixed into the query hash.
    n_features_in_ : int
        Number of classes (columns of ``P``).

    Examples
    --------
    >>> import numpy as np
    >>> from skmid.postprocessing import NoisePostProcessor
    >>> P = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    >>> noisy = NoisePostProcessor(scale=0.2, random_state=0).fit(P).transform(P)
    >>> noisy.sum(axis=1), noisy.argmax(axis=1)
    (array([1., 1.]), array([0, 2]))
    """

    _uses_labels = False
    #: Its answers hold random noise per query, seeded by the query's hash.
    _random_answers = True
    _parameter_constraints = {
        "scale": [Interval(numbers.Real, 0, None, closed="left")],
        "kind": [StrOptions({"uniform", "gaussian"})],
        "preserve_label": ["boolean"],
        "hash_resolution": [
            Interval(numbers.Real, 0, MAX_HASH_RESOLUTION, closed="right")
        ],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        scale=0.1,
        kind="uniform",
        preserve_label=True,
        hash_resolution=1e4,
        random_state=None,
    ):
        self.scale = scale
        self.kind = kind
        self.preserve_label = preserve_label
        self.hash_resolution = hash_resolution
        self.random_state = random_state

    def _fit(self, P, codes):
        self._draw_hash_seed()

    def _transform(self, P):
        uniforms = self._row_uniforms(P, P.shape[1])
        if self.kind == "uniform":
            unit_noise = 2.0 * uniforms - 1.0
        else:
            # Inverse-CDF sampling; the open interval keeps ndtri finite.
            unit_noise = ndtri(np.clip(uniforms, 1e-300, 1 - 2**-53))
        # The renormalisation below makes P / scale + noise equivalent to
        # P + scale * noise; dividing keeps a huge scale from overflowing.
        if self.scale > 1.0:
            noisy = np.clip(P / self.scale + unit_noise, 0.0, None)
        else:
            noisy = np.clip(P + self.scale * unit_noise, 0.0, None)
        sums = noisy.sum(axis=1, keepdims=True)
        empty = sums[:, 0] <= 0
        noisy[empty] = P[empty]
        sums[empty] = 1.0
        return noisy / sums
