"""Linear regression with the MID mutual-information penalty (Wang et al. 2021)."""

import numbers
import warnings

import numpy as np
from scipy import linalg, optimize
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, validate_data

from ._base import LinearPredictMixin
from ._mid_binned import binned_mixture_entropy_and_gradient
from ._mid_kernels import mixture_entropy_and_gradient

#: ``approximation="auto"`` uses the binned penalty above this many rows.
AUTO_BINNED_MIN_SAMPLES = 2000
#: Singular values below this fraction of the largest count as zero.
RANK_RTOL = 1e-10
#: Bandwidths of the continuation stages, as multiples of sigma.
SIGMA_CONTINUATION = (16.0, 4.0, 1.0)


def _weighted_quantile(values, weights, q):
    """Inverted-CDF quantile: the smallest value whose cumulative weight >= q."""
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    index = np.searchsorted(cumulative, q * cumulative[-1], side="left")
    return values[order][min(index, len(values) - 1)]


def silverman_bandwidth(z, sample_weight):
    """Silverman's rule of thumb, 0.9 min(std, IQR / 1.34) n^(-1/5), weighted.

    ``n`` is the total weight, so integer weights give the bandwidth of the
    data with rows repeated.
    """
    weights = sample_weight / sample_weight.sum()
    mean = np.dot(weights, z)
    std = np.sqrt(np.dot(weights, (z - mean) ** 2))
    iqr = _weighted_quantile(z, weights, 0.75) - _weighted_quantile(z, weights, 0.25)
    spread = min(std, iqr / 1.34) or std
    return 0.9 * spread * sample_weight.sum() ** (-0.2)


def mixture_entropy(z, weights, sigma, *, approximation="exact", grid_step=0.1):
    r"""The MID penalty :math:`\tilde L_{lin}` and its gradient w.r.t. ``z``.

    Parameters
    ----------
    z : ndarray of shape (n_samples,)
        Predictions :math:`a^\top x_i`.
    weights : ndarray of shape (n_samples,)
        Non-negative weights summing to 1 (``1/N`` in the paper).
    sigma : float
        Bandwidth of the Gaussian components.
    approximation : {"exact", "binned"}, default="exact"
        The O(N^2) numba kernel or the O(N + M log M) binned FFT approximation.
    grid_step : float, default=0.1
        Grid step of the binned approximation, in units of ``sigma``.

    Returns
    -------
    value : float
    gradient : ndarray of shape (n_samples,)
    """
    if approximation == "binned":
        return binned_mixture_entropy_and_gradient(z, weights, sigma, grid_step)
    return mixture_entropy_and_gradient(z, weights, sigma)


class MIDLinearRegression(LinearPredictMixin, RegressorMixin, BaseEstimator):
    r"""Least squares with a mutual-information penalty against model inversion.

    The MID defense (Wang, Zhang and Jia, AAAI 2021, eq. 1) trains a model that
    fits the target while carrying little information about its input, which
    is what a model-inversion attacker exploits. For linear regression the
    mutual information :math:`I(X; \hat Y)` is replaced by the entropy of the
    Gaussian mixture of the training predictions, with the Taylor
    approximation of Huber et al. (2008) (the paper's eq. 4):

    .. math::

        \min_{a, b} \; \frac{1}{N} \sum_i (y_i - a^\top x_i - b)^2
        + \lambda \, \tilde L_{lin}(a), \qquad
        \tilde L_{lin}(a) = -\frac{1}{N} \sum_i \log \Big( \frac{1}{N}
        \sum_j \mathcal N(a^\top x_i - a^\top x_j; 0, \sigma^2) \Big).

    :math:`\tilde L_{lin}` does not depend on the intercept; it is smallest,
    :math:`\frac12 \log(2\pi\sigma^2)`, when all predictions coincide, so a large
    ``lam`` shrinks the model toward predicting the mean. With
    ``sample_weight`` both the squared error and the mixture (its components
    and the outer average) are weighted.

    Parameters
    ----------
    lam : float, default=0.1
        Strength :math:`\lambda \ge 0` of the penalty. Its unit is the target's
        squared unit per nat, so a useful range depends on the scale of ``y``
        (the default is a mild defense for a standardised target): search it
        on a log grid. ``lam=0`` is ordinary least squares.
    sigma : "auto" or float, default="auto"
        Bandwidth :math:`\sigma` of the mixture components. ``"auto"`` fixes it
        before optimisation by Silverman's rule on the least-squares training
        predictions, :math:`0.9 \min(\mathrm{std}, \mathrm{IQR}/1.34)
        N^{-1/5}` (1.0 if those predictions are constant), so that it does not
        depend on ``lam``: then a larger ``lam`` never raises the penalty at
        the optimum.
    fit_intercept : bool, default=True
        Whether to fit an (unpenalised) intercept.
    max_iter : int, default=500
        Maximum number of L-BFGS iterations.
    tol : float, default=1e-8
        L-BFGS tolerance on the projected gradient of the objective, scaled
        by the variance of ``y``.
    approximation : {"auto", "exact", "binned"}, default="auto"
        How the penalty is computed: ``"exact"`` is the O(N^2) pairwise sum (a
        parallel numba kernel); ``"binned"`` bins the predictions on a grid of
        step ``grid_step * sigma`` and convolves by FFT in O(N + M log M), with
        a relative error of the penalty of order ``grid_step**2`` (below 1e-3
        at the default step, checked in the test suite); ``"auto"`` uses
        ``"exact"`` up to 2,000 rows and ``"binned"`` above.
    grid_step : float, default=0.1
        Grid step of the binned approximation, in units of ``sigma``.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Coefficients :math:`a`.
    intercept_ : float
        Intercept :math:`b` (0.0 when ``fit_intercept=False``).
    n_iter_ : int
        L-BFGS iterations (0 when ``lam=0``).
    sigma_ : float
        The bandwidth used.
    mi_penalty_ : float
        :math:`\tilde L_{lin}` of the training predictions at the solution, in
        nats, computed as during the fit (exact or binned).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    sklearn.linear_model.LinearRegression : The undefended model (``lam=0``).
    AdaSSPLinearRegression : The differential-privacy baseline.

    References
    ----------
    Wang, Zhang and Jia. Improving robustness to model inversion attacks via
    mutual information regularization. AAAI 2021.

    Examples
    --------
    >>> from skmid.datasets import make_sensitive_regression
    >>> from skmid.linear_model import MIDLinearRegression
    >>> X, y = make_sensitive_regression(n_samples=300, random_state=0,
    ...                                  return_X_y=True)
    >>> ols = MIDLinearRegression(lam=0.0).fit(X, y)
    >>> mid = MIDLinearRegression(lam=5.0).fit(X, y)
    >>> bool(mid.mi_penalty_ < ols.mi_penalty_)
    True
    """

    _parameter_constraints = {
        "lam": [Interval(numbers.Real, 0, None, closed="left")],
        "sigma": [
            StrOptions({"auto"}),
            Interval(numbers.Real, 0, None, closed="neither"),
        ],
        "fit_intercept": ["boolean"],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "approximation": [StrOptions({"auto", "exact", "binned"})],
        "grid_step": [Interval(numbers.Real, 0, 1, closed="right")],
    }

    def __init__(
        self,
        *,
        lam=0.1,
        sigma="auto",
        fit_intercept=True,
        max_iter=500,
        tol=1e-8,
        approximation="auto",
        grid_step=0.1,
    ):
        self.lam = lam
        self.sigma = sigma
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.approximation = approximation
        self.grid_step = grid_step

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the penalised linear model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True, reset=True)
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        if sample_weight.sum() <= 0:
            raise ValueError("sample_weight must have a positive sum.")
        weights = sample_weight / sample_weight.sum()

        if self.fit_intercept:
            X_offset = weights @ X
            y_offset = float(weights @ y)
        else:
            X_offset = np.zeros(X.shape[1])
            y_offset = 0.0
        Xc = X - X_offset
        yc = y - y_offset

        root_w = np.sqrt(weights)
        # A relative cutoff on the singular values gives the minimum-norm
        # solution on rank-deficient designs (complete one-hot groups with an
        # intercept), where the default cutoff can return huge coefficients
        # along the null space.
        coef = linalg.lstsq(Xc * root_w[:, None], yc * root_w, cond=RANK_RTOL)[0]
        if self.sigma == "auto":
            sigma = silverman_bandwidth(X @ coef, sample_weight)
            sigma = sigma if sigma > 0 else 1.0
        else:
            sigma = float(self.sigma)
        approximation = self.approximation
        if approximation == "auto":
            approximation = (
                "binned" if X.shape[0] > AUTO_BINNED_MIN_SAMPLES else "exact"
            )

        self.n_iter_ = 0
        if self.lam > 0 and X.shape[1] > 0:
            coef = self._minimise(Xc, yc, weights, coef, sigma, approximation)

        self.coef_ = coef
        self.intercept_ = (
            y_offset - float(X_offset @ coef) if self.fit_intercept else 0.0
        )
        self.sigma_ = sigma
        self.mi_penalty_ = float(
            mixture_entropy(
                X @ coef,
                weights,
                sigma,
                approximation=approximation,
                grid_step=self.grid_step,
            )[0]
        )
        return self

    def _minimise(self, Xc, yc, weights, coef, sigma, approximation):
        # Optimise over beta = coef * scale on standardised columns, with the
        # objective divided by var(y): both only improve conditioning.
        scale = np.sqrt(weights @ Xc**2)
        scale[scale == 0] = 1.0
        Xs = Xc / scale
        y_var = float(weights @ yc**2) or 1.0
        lam = self.lam

        stage_sigma = [sigma]

        def objective(beta):
            z = Xs @ beta
            residual = z - yc
            penalty, penalty_grad = mixture_entropy(
                z,
                weights,
                stage_sigma[0],
                approximation=approximation,
                grid_step=self.grid_step,
            )
            value = weights @ residual**2 + lam * penalty
            grad = Xs.T @ (2.0 * weights * residual + lam * penalty_grad)
            return value / y_var, grad / y_var

        # Bandwidth continuation: with a small sigma, well separated clusters
        # of predictions do not feel each other and the penalty has flat
        # regions and local minima; starting from a wide bandwidth and
        # narrowing it to sigma warm-starts each stage in the right basin.
        beta = coef * scale
        self.n_iter_ = 0
        for factor in SIGMA_CONTINUATION:
            stage_sigma[0] = sigma * factor
            result = optimize.minimize(
                objective,
                beta,
                jac=True,
                method="L-BFGS-B",
                options={"maxiter": self.max_iter, "gtol": self.tol, "ftol": 1e-12},
            )
            beta = result.x
            self.n_iter_ += int(result.nit)
        if result.nit >= self.max_iter:
            warnings.warn(
                f"MIDLinearRegression did not converge in max_iter={self.max_iter} "
                "iterations; increase max_iter.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return result.x / scale
