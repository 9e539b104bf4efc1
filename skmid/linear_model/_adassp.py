"""AdaSSP: differentially private linear regression (Wang 2018)."""

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

from ..utils._validation import check_finite_output
from ._base import FLOAT_MAX, LinearPredictMixin, validate_regression_data

#: Failure probability rho of the eigenvalue bound that sets the ridge.
ADASSP_RHO = 0.05


def _check_bounds(bounds, name, n_columns):
    """Return ``(lower, upper)`` arrays of length ``n_columns``."""
    if bounds is None:
        raise ValueError(
            f"{name} is required: AdaSSP's privacy guarantee rests on known bounds "
            f"of the data. Pass {name}=(lower, upper), scalars or one value per "
            "column, chosen without looking at the private data."
        )
    try:
        lower, upper = bounds
        lower = np.broadcast_to(np.asarray(lower, dtype=np.float64), (n_columns,))
        upper = np.broadcast_to(np.asarray(upper, dtype=np.float64), (n_columns,))
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be a pair (lower, upper) of scalars or of arrays with "
            f"{n_columns} entries; got {bounds!r}."
        ) from exc
    if not (np.all(np.isfinite(lower)) and np.all(np.isfinite(upper))):
        raise ValueError(f"{name} must be finite; got {bounds!r}.")
    if np.any(lower >= upper):
        raise ValueError(f"{name} needs lower < upper everywhere; got {bounds!r}.")
    return lower, upper


def _clip(values, lower, upper, name):
    clipped = np.clip(values, lower, upper)
    n_out = int(np.count_nonzero(clipped != values))
    if n_out:
        warnings.warn(
            f"{n_out} value(s) of {name} lie outside the given bounds and were "
            "clipped to them.",
            UserWarning,
            stacklevel=4,
        )
    return clipped


class AdaSSPLinearRegression(LinearPredictMixin, RegressorMixin, BaseEstimator):
    r"""Differentially private linear regression by AdaSSP (Wang 2018).

    Adaptive sufficient-statistics perturbation, the MID paper's differential
    privacy baseline for linear models: the data are clipped to the given
    bounds, so that every row has :math:`\|x\| \le B_X` and :math:`|y| \le
    B_Y`; then, with the budget split in three (:math:`\epsilon/3`,
    :math:`\delta/3` each) and :math:`\tau = \sqrt{\log(6/\delta)}/(\epsilon/3)`,

    1. the smallest eigenvalue of :math:`X^\top X` is released as
       :math:`\tilde\lambda_{min} = \max(\lambda_{min} + \tau B_X^2 Z -
       \log(6/\delta) B_X^2 / (\epsilon/3), 0)`, :math:`Z \sim \mathcal N(0, 1)`;
    2. the ridge is :math:`\lambda = \max(0, \sqrt{d \log(6/\delta)
       \log(2d^2/\rho)} B_X^2 / (\epsilon/3) - \tilde\lambda_{min})`,
       :math:`\rho = 0.05`;
    3. :math:`\widehat{X^\top X} = X^\top X + \tau B_X^2 E` with :math:`E`
       symmetric, its upper triangle i.i.d. :math:`\mathcal N(0, 1)`, and
       :math:`\widehat{X^\top y} = X^\top y + \tau B_X B_Y e`,
       :math:`e \sim \mathcal N(0, I_d)`;
    4. :math:`\theta = (\widehat{X^\top X} + \lambda I)^{-1}
       \widehat{X^\top y}`.

    The whole fit is :math:`(\epsilon, \delta)`-differentially private with
    respect to replacing one row. The intercept is fitted as the coefficient of
    a constant column of ones, which adds 1 to :math:`B_X^2`.

    The algorithm is equivariant to rescaling: on :math:`X / B_X` and
    :math:`y / B_Y` (bounds 1) the same noise draws give :math:`\theta B_X /
    B_Y`. It runs there, so that no bound, however large or small, makes
    :math:`B_X^2` or the perturbed statistics overflow.

    Parameters
    ----------
    epsilon : float, default=1.0
        Privacy budget :math:`\epsilon > 0`.
    delta : float, default=1e-6
        Privacy parameter :math:`0 < \delta < 1`.
    bounds_X : tuple (lower, upper), default=None
        Bounds of the features, scalars or one value per feature. Required:
        they must come from domain knowledge, not from the private data
        (``None`` raises a ValueError at fit). Values outside are clipped with
        a warning. :math:`B_X = \|\max(|lower|, |upper|)\|_2`.
    bounds_y : tuple (lower, upper), default=None
        Bounds of the target; same rules. :math:`B_Y = \max(|lower|, |upper|)`.
    fit_intercept : bool, default=True
        Whether to fit an intercept (as a constant feature).
    random_state : int, RandomState instance or None, default=None
        Seed of the privacy noise.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    ridge_ : float
        The data-adaptive ridge :math:`\lambda` that was used, divided by
        :math:`B_X^2` (the ridge on the data scaled to :math:`B_X = 1`).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)

    References
    ----------
    Wang, Y.-X. (2018). Revisiting differentially private linear regression:
    optimal and adaptive prediction & estimation in unbounded domain. UAI.

    Examples
    --------
    >>> import numpy as np
    >>> from skmid.linear_model import AdaSSPLinearRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, size=(20000, 2))
    >>> y = np.clip(X @ [0.5, -0.25] + 0.1 * rng.standard_normal(20000), -2, 2)
    >>> model = AdaSSPLinearRegression(
    ...     epsilon=1.0, bounds_X=(-1, 1), bounds_y=(-2, 2), random_state=0
    ... ).fit(X, y)
    >>> np.round(model.coef_, 1)
    array([ 0.5, -0.2])
    """

    _parameter_constraints = {
        "epsilon": [Interval(numbers.Real, 0, FLOAT_MAX, closed="right")],
        "delta": [Interval(numbers.Real, 0, 1, closed="neither")],
        "bounds_X": [tuple, list, None],
        "bounds_y": [tuple, list, None],
        "fit_intercept": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        epsilon=1.0,
        delta=1e-6,
        bounds_X=None,
        bounds_y=None,
        fit_intercept=True,
        random_state=None,
    ):
        self.epsilon = epsilon
        self.delta = delta
        self.bounds_X = bounds_X
        self.bounds_y = bounds_y
        self.fit_intercept = fit_intercept
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the private linear model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Target values.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, y = validate_regression_data(self, X, y)
        lower_X, upper_X = _check_bounds(self.bounds_X, "bounds_X", X.shape[1])
        (lower_y,), (upper_y,) = _check_bounds(self.bounds_y, "bounds_y", 1)
        X = _clip(X, lower_X, upper_X, "X")
        y = _clip(y, lower_y, upper_y, "y")
        column_bounds = np.maximum(np.abs(lower_X), np.abs(upper_X))
        if self.fit_intercept:
            X = np.hstack([X, np.ones((X.shape[0], 1))])
            column_bounds = np.append(column_bounds, 1.0)
        # B_X = ||column_bounds||, computed on the bounds divided by the largest
        peak = column_bounds.max()
        bound_X = peak * np.sqrt(np.sum((column_bounds / peak) ** 2))
        bound_y = max(abs(lower_y), abs(upper_y))
        X = X / bound_X
        y = y / bound_y

        rng = check_random_state(self.random_state)
        n_dims = X.shape[1]
        # an epsilon so small that the noise overflows is refused just below
        with np.errstate(over="ignore", invalid="ignore"):
            eps3 = self.epsilon / 3.0
            log_term = np.log(6.0) - np.log(self.delta)
            tau = np.sqrt(log_term) / eps3

            gram = X.T @ X
            lambda_min = float(np.linalg.eigvalsh(gram)[0])
            lambda_min_private = max(
                lambda_min + tau * rng.standard_normal() - log_term / eps3, 0.0
            )
            ridge = max(
                0.0,
                np.sqrt(n_dims * log_term * np.log(2 * n_dims**2 / ADASSP_RHO)) / eps3
                - lambda_min_private,
            )
            noise = np.triu(rng.standard_normal((n_dims, n_dims)))
            noise = noise + np.triu(noise, 1).T
            system = gram + tau * noise + ridge * np.eye(n_dims)
            xty_private = X.T @ y + tau * rng.standard_normal(n_dims)
        if not (np.all(np.isfinite(system)) and np.all(np.isfinite(xty_private))):
            raise ValueError(
                f"epsilon={self.epsilon!r} is too small (with delta={self.delta!r}): "
                f"the privacy noise, of scale {tau:.3g} times the data bounds, "
                "overflows."
            )
        theta = np.linalg.lstsq(system, xty_private, rcond=None)[0]
        theta = check_finite_output(
            theta / bound_X * bound_y,
            source="AdaSSPLinearRegression's fit",
            remedy="the coefficients overflow: bounds_y is too large for bounds_X",
        )

        if self.fit_intercept:
            self.coef_, self.intercept_ = theta[:-1], float(theta[-1])
        else:
            self.coef_, self.intercept_ = theta, 0.0
        self.ridge_ = float(ridge)
        return self
