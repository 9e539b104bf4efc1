"""Synthetic data with a categorical sensitive feature of tunable influence."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, validate_params

from ..utils._validation import check_probability_matrix

#: Cells a generator may allocate; a larger request is a mistake, not a data set.
MAX_GENERATED_CELLS = 10**9

_COMMON_CONSTRAINTS = {
    "n_samples": [Interval(Integral, 1, None, closed="left")],
    "n_features": [Interval(Integral, 0, None, closed="left")],
    "n_sensitive_values": [Interval(Integral, 2, None, closed="left")],
    # Finite: an infinite effect or noise makes an infinite target.
    "sensitive_effect": [Interval(Real, None, None, closed="neither")],
    "sensitive_prior": ["array-like", None],
    "noise": [Interval(Real, 0, None, closed="left")],
    "return_X_y": ["boolean"],
    "random_state": ["random_state"],
}


def _check_generator_params(n_samples, n_features, n_sensitive_values, prior):
    n_cells = n_samples * (n_features + n_sensitive_values)
    if n_cells > MAX_GENERATED_CELLS:
        raise ValueError(
            f"n_samples={n_samples} with {n_features + n_sensitive_values} columns "
            f"asks for {n_cells:.3g} values, more than the {MAX_GENERATED_CELLS:.0e} "
            "a generator makes; lower n_samples or n_features."
        )
    if prior is None:
        return np.full(n_sensitive_values, 1.0 / n_sensitive_values)
    shape = np.shape(prior)
    if shape != (n_sensitive_values,):
        raise ValueError(
            "sensitive_prior must be a probability vector with n_sensitive_values "
            f"= {n_sensitive_values} entries; got shape {shape}."
        )
    try:
        prior = check_probability_matrix([prior], input_name="sensitive_prior")[0]
    except ValueError as error:
        if "sensitive_prior" in str(error):
            raise
        # NumPy's conversion error (strings, say) names no parameter.
        raise ValueError(f"Invalid sensitive_prior: {error}") from error
    # The draws need a sum of 1 to within NumPy's tolerance, tighter than the
    # check's.
    return prior / prior.sum()


def _sensitive_effects(n_sensitive_values, sensitive_effect):
    """Evenly spaced effects in [-sensitive_effect, sensitive_effect]."""
    return sensitive_effect * np.linspace(-1.0, 1.0, n_sensitive_values)


@validate_params(_COMMON_CONSTRAINTS, prefer_skip_nested_validation=True)
def make_sensitive_regression(
    n_samples=1000,
    n_features=5,
    *,
    n_sensitive_values=3,
    sensitive_effect=1.0,
    sensitive_prior=None,
    noise=1.0,
    return_X_y=False,
    random_state=None,
):
    r"""Regression data with a one-hot sensitive feature that shifts the target.

    The non-sensitive features are standard normal; the sensitive value
    :math:`s \in \{0, \dots, V-1\}` is drawn from ``sensitive_prior`` and
    one-hot encoded in the last :math:`V` columns (the layout of
    :func:`load_warfarin`). The target is

    .. math::

        y = x_{ns}^\top w + \beta \, e_s + \text{noise} \cdot \mathcal N(0, 1),

    with :math:`w \sim \mathcal U(-1, 1)^d`, :math:`e_s` evenly spaced in
    :math:`[-1, 1]` and :math:`\beta` = ``sensitive_effect``: with
    ``sensitive_effect=0`` the target carries nothing about the sensitive
    value, and the larger it is, the more a model of ``y`` leaks it.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of rows.
    n_features : int, default=5
        Number of non-sensitive (numeric) features.
    n_sensitive_values : int, default=3
        Number of values of the sensitive feature (>= 2).
    sensitive_effect : float, default=1.0
        Scale :math:`\beta` of the sensitive feature's effect on the target.
    sensitive_prior : array-like of shape (n_sensitive_values,), default=None
        Distribution of the sensitive value; uniform if None.
    noise : float, default=1.0
        Standard deviation of the Gaussian noise on the target.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible output.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With ``data`` (n_samples, n_features + n_sensitive_values), ``target``,
        ``sensitive_features`` (indices of the one-hot columns),
        ``sensitive`` (the true value of each row), ``coef`` (:math:`w`),
        ``sensitive_effects`` (:math:`\beta e`) and ``feature_names``.

    (data, target) : tuple if ``return_X_y`` is True

    Examples
    --------
    >>> from skmid.datasets import make_sensitive_regression
    >>> bunch = make_sensitive_regression(n_samples=100, random_state=0)
    >>> bunch.data.shape, bunch.sensitive_features
    ((100, 8), [5, 6, 7])
    """
    prior = _check_generator_params(
        n_samples, n_features, n_sensitive_values, sensitive_prior
    )
    rng = check_random_state(random_state)
    coef = rng.uniform(-1.0, 1.0, size=n_features)
    X_ns = rng.standard_normal((n_samples, n_features))
    sensitive = rng.choice(n_sensitive_values, size=n_samples, p=prior)
    effects = _sensitive_effects(n_sensitive_values, sensitive_effect)
    target = X_ns @ coef + effects[sensitive] + noise * rng.standard_normal(n_samples)
    one_hot = np.eye(n_sensitive_values)[sensitive]
    data = np.hstack([X_ns, one_hot])
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        sensitive_features=list(range(n_features, n_features + n_sensitive_values)),
        sensitive=sensitive,
        coef=coef,
        sensitive_effects=effects,
        feature_names=[f"x{j}" for j in range(n_features)]
        + [f"sensitive_{v}" for v in range(n_sensitive_values)],
    )


@validate_params(
    {
        **_COMMON_CONSTRAINTS,
        "n_categories": [Interval(Integral, 2, None, closed="left")],
        "n_classes": [Interval(Integral, 2, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def make_sensitive_classification(
    n_samples=1000,
    n_features=5,
    *,
    n_categories=3,
    n_classes=2,
    n_sensitive_values=2,
    sensitive_effect=1.0,
    sensitive_prior=None,
    noise=0.5,
    return_X_y=False,
    random_state=None,
):
    r"""Categorical classification data with a sensitive feature of tunable effect.

    Every feature is categorical, coded as integers: ``n_features``
    non-sensitive features with ``n_categories`` uniformly drawn categories
    each, then the sensitive feature (last column) with values in
    ``range(n_sensitive_values)`` drawn from ``sensitive_prior``. A latent score
    adds a standard-normal effect per category of each non-sensitive feature,
    ``sensitive_effect`` times evenly spaced effects in :math:`[-1, 1]` for the
    sensitive value, and Gaussian noise; its quantiles cut the rows into
    ``n_classes`` balanced classes. With ``sensitive_effect=0`` the label
    carries nothing about the sensitive value.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of rows.
    n_features : int, default=5
        Number of non-sensitive categorical features.
    n_categories : int, default=3
        Number of categories of each non-sensitive feature.
    n_classes : int, default=2
        Number of classes.
    n_sensitive_values : int, default=2
        Number of values of the sensitive feature (>= 2).
    sensitive_effect : float, default=1.0
        Scale of the sensitive feature's effect on the latent score.
    sensitive_prior : array-like of shape (n_sensitive_values,), default=None
        Distribution of the sensitive value; uniform if None.
    noise : float, default=0.5
        Standard deviation of the Gaussian noise on the latent score.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible output.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With ``data`` (n_samples, n_features + 1) of integer codes, ``target``
        (integers in ``range(n_classes)``), ``sensitive_features`` (the index
        of the last column) and ``feature_names``.

    (data, target) : tuple if ``return_X_y`` is True

    Examples
    --------
    >>> from skmid.datasets import make_sensitive_classification
    >>> X, y = make_sensitive_classification(
    ...     n_samples=200, n_classes=3, return_X_y=True, random_state=0)
    >>> X.shape, sorted(set(y.tolist()))
    ((200, 6), [0, 1, 2])
    """
    prior = _check_generator_params(
        n_samples, n_features, n_sensitive_values, sensitive_prior
    )
    rng = check_random_state(random_state)
    category_effects = rng.standard_normal((n_features, n_categories))
    X_ns = rng.randint(0, n_categories, size=(n_samples, n_features))
    sensitive = rng.choice(n_sensitive_values, size=n_samples, p=prior)
    effects = _sensitive_effects(n_sensitive_values, sensitive_effect)
    score = (
        category_effects[np.arange(n_features), X_ns].sum(axis=1)
        + effects[sensitive]
        + noise * rng.standard_normal(n_samples)
    )
    cuts = np.quantile(score, np.linspace(0, 1, n_classes + 1)[1:-1])
    target = np.searchsorted(cuts, score, side="right")
    data = np.column_stack([X_ns, sensitive]).astype(np.int64)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        sensitive_features=n_features,
        feature_names=[f"x{j}" for j in range(n_features)] + ["sensitive"],
    )
