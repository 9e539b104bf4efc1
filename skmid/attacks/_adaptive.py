r"""Adaptive attacks against output defenses: averaging repeated queries.

A randomised output defense (the CMI defense's label draw, noise added to the
confidences) returns a different answer to each query of the same input. An
attacker who knows it queries each input many times, slightly perturbed so
that a cache or a per-query seed cannot recognise the repeats, and averages
the answers: by the law of large numbers the average converges to the
defense's expected output, and every source of randomness is averaged away.
The Stealthy Shield Defense (Appendix H) answers with a hash of the query as
the seed of its draw, robust to small perturbations: same query, same
answer, so the average is one answer.
"""

import numbers

import numpy as np
from sklearn.utils import check_random_state

from ._base import fitted_classes, query_proba


class QueryAveraging:
    r"""Query a model many times per input, slightly perturbed, and average.

    A query strategy rather than an attack: it wraps a fitted classifier and
    is attacked in its place, so that any attack that only queries
    ``predict_proba`` or ``predict`` (the black-box and label-only modes of
    :class:`MIFaceAttack` and :class:`GenerativeInversionAttack`,
    :class:`InversionModelAttack`, the membership and attribute attacks)
    becomes its averaging variant unchanged, whatever its own algorithm. For
    each input row :math:`x` it sends :math:`R` = ``n_repeats`` rows

    .. math::

        x_r = \operatorname{clip}(x + \sigma \xi_r), \qquad
        \xi_r \sim \mathcal N(0, I), \quad r = 1, \dots, R,

    (:math:`\sigma` = ``noise_scale``, in input units; :math:`\sigma = 0`
    repeats the query exactly) and returns

    .. math::

        \bar p(x) = \frac1R \sum_{r=1}^{R} \tilde f(x_r),

    with :math:`\tilde f` the defended ``predict_proba``. Against a defense
    that draws fresh randomness per query, :math:`\bar p(x)` converges to the
    defense's expected output at rate :math:`1/\sqrt R` (and, when
    :math:`\sigma` is small, that of the unperturbed query); against one
    whose answer is a function of the query (the CMI defense's hash, robust
    to perturbations below its grid) every :math:`\tilde f(x_r)` is the same
    answer and averaging gains nothing. ``predict`` is the argmax of
    :math:`\bar p`.

    **Query cost.** Each row costs :math:`R` queries of the wrapped model:
    ``n_queries_`` counts the rows sent to it, so an attack's own budget
    (its ``n_queries_``, rows sent to this wrapper) is multiplied by
    :math:`R`.

    Parameters
    ----------
    estimator : fitted classifier with ``predict_proba`` and ``classes_``
        The attacked (defended) model.
    n_repeats : int, default=10
        :math:`R`, queries per input row.
    noise_scale : float, default=0.0
        :math:`\sigma`, standard deviation of the Gaussian perturbation of
        each query, in input units (0: exact repeats).
    clip : tuple of float (low, high) or None, default=None
        Bounds the perturbed queries are clipped to (the pixel range); None
        does not clip.
    random_state : int, RandomState instance or None, default=None
        Seeds the perturbations. The generator is created once, so that
        successive calls draw new perturbations; NumPy's global random state
        is left alone.

    Attributes
    ----------
    estimator : classifier
        The wrapped model.
    classes_ : ndarray of shape (n_classes,)
        The wrapped model's classes.
    n_queries_ : int
        Rows sent to the wrapped model so far.

    Examples
    --------
    A defense that adds fresh noise to every answer is averaged away; one
    whose answer depends only on the query is not:

    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skmid.attacks import QueryAveraging
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> model = LogisticRegression().fit(X, [0, 0, 1, 1])
    >>> class Noisy:
    ...     classes_ = model.classes_
    ...     rng = np.random.RandomState(0)
    ...     def predict_proba(self, X):
    ...         p = model.predict_proba(X)[:, 1] + self.rng.uniform(-0.2, 0.2, len(X))
    ...         p = np.clip(p, 0, 1)
    ...         return np.c_[1 - p, p]
    >>> averaged = QueryAveraging(Noisy(), n_repeats=400)
    >>> error = np.abs(averaged.predict_proba(X) - model.predict_proba(X)).max()
    >>> bool(error < 0.05), averaged.n_queries_
    (True, 1600)
    """

    def __init__(
        self, estimator, *, n_repeats=10, noise_scale=0.0, clip=None, random_state=None
    ):
        if getattr(estimator, "classes_", None) is None:
            raise ValueError(
                "estimator must be a fitted classifier with classes_; got "
                f"{type(estimator).__name__}."
            )
        if not hasattr(estimator, "predict_proba"):
            raise ValueError(
                "QueryAveraging averages the estimator's predict_proba; "
                f"{type(estimator).__name__} has none."
            )
        if (
            not isinstance(n_repeats, numbers.Integral)
            or isinstance(n_repeats, (bool, np.bool_))
            or n_repeats < 1
        ):
            raise ValueError(
                f"n_repeats must be a positive integer; got {n_repeats!r}."
            )
        if (
            not isinstance(noise_scale, numbers.Real)
            or isinstance(noise_scale, (bool, np.bool_))
            or not np.isfinite(noise_scale)
            or noise_scale < 0
        ):
            raise ValueError(
                f"noise_scale must be a finite number >= 0; got {noise_scale!r}."
            )
        if clip is not None:
            bounds = np.asarray(clip, dtype=np.float64)
            if bounds.shape != (2,) or not np.all(np.isfinite(bounds)):
                raise ValueError(
                    f"clip must be None or two finite bounds (low, high); got {clip!r}."
                )
            if not bounds[0] < bounds[1]:
                raise ValueError(f"clip must have low < high; got {clip!r}.")
        self.estimator = estimator
        self.n_repeats = int(n_repeats)
        self.noise_scale = float(noise_scale)
        self.clip = clip
        self.random_state = random_state
        self._rng = check_random_state(random_state)
        self.n_queries_ = 0

    @property
    def classes_(self):
        return fitted_classes(self.estimator)

    def predict_proba(self, X):
        """The average of the model's answers to perturbed repeats of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Query rows (any shape the model takes); floating inputs keep
            their dtype.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        X = np.asarray(X)
        if X.ndim < 1 or not (
            np.issubdtype(X.dtype, np.floating) or np.issubdtype(X.dtype, np.integer)
        ):
            raise ValueError(
                f"X must be a numeric array of query rows; got dtype {X.dtype} "
                f"and shape {X.shape}."
            )
        if not np.issubdtype(X.dtype, np.floating):
            X = X.astype(np.float64)
        n, R = len(X), self.n_repeats
        queries = np.repeat(X, R, axis=0)
        if self.noise_scale > 0:
            noise = self._rng.standard_normal(queries.shape) * self.noise_scale
            queries = queries + noise.astype(X.dtype)
        if self.clip is not None:
            queries = np.clip(queries, self.clip[0], self.clip[1]).astype(X.dtype)
        P = query_proba(self.estimator, queries, "QueryAveraging")
        self.n_queries_ += len(queries)
        return P.reshape(n, R, P.shape[1]).mean(axis=1)

    def predict(self, X):
        """The class of largest averaged probability of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __repr__(self):
        return (
            f"QueryAveraging({self.estimator!r}, n_repeats={self.n_repeats}, "
            f"noise_scale={self.noise_scale:g})"
        )
