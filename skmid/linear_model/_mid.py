"""Linear regression with the MID mutual-information penalty (Wang et al. 2021)."""

import numbers
import warnings

import numpy as np
from scipy import linalg, optimize, sparse
from scipy.sparse import linalg as sparse_linalg
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight
from threadpoolctl import threadpool_limits

from ..utils._validation import check_finite_output
from ._base import FLOAT_MAX, LinearPredictMixin, validate_regression_data
from ._mid_binned import (
    MAX_GRID_POINTS,
    binned_mixture_entropy_and_gradient,
    grid_size,
)
from ._mid_kernels import mixture_entropy_and_gradient

#: ``approximation="auto"`` uses the binned penalty above this many rows.
AUTO_BINNED_MIN_SAMPLES = 2000
#: Singular values below this fraction of the largest count as zero.
RANK_RTOL = 1e-10
#: Bandwidths of the continuation stages, as multiples of sigma.
SIGMA_CONTINUATION = (16.0, 4.0, 1.0)
#: Largest |prediction| in bandwidths that the kernels take: the difference of
#: two such values is still finite.
MAX_BANDWIDTHS = 1e307


def _weighted_quantile(values, weights, q):
    """Inverted-CDF quantile: the smallest value whose cumulative weight >= q."""
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    index = np.searchsorted(cumulative, q * cumulative[-1], side="left")
    return values[order][min(index, len(values) - 1)]


def _normalised(sample_weight):
    """``sample_weight / sample_weight.sum()``, without overflow in the sum."""
    weights = sample_weight / sample_weight.max()
    return weights / weights.sum()


def silverman_bandwidth(z, sample_weight):
    """Silverman's rule of thumb, 0.9 min(std, IQR / 1.34) n^(-1/5), weighted.

    ``n`` is the total weight, so integer weights give the bandwidth of the
    data with rows repeated.
    """
    weights = _normalised(sample_weight)
    mean = np.dot(weights, z)
    std = np.sqrt(np.dot(weights, (z - mean) ** 2))
    iqr = _weighted_quantile(z, weights, 0.75) - _weighted_quantile(z, weights, 0.25)
    spread = min(std, iqr / 1.34) or std
    # n^(-1/5) from logarithms: the total weight may overflow a float
    peak = sample_weight.max()
    log_total = np.log(peak) + np.log(np.sum(sample_weight / peak))
    return 0.9 * spread * np.exp(-0.2 * log_total)


def _standardise(A, weights, center):
    """``A = offset + scale * A_std`` column-wise, without overflow or underflow.

    Columns are first divided by their largest magnitude, so that the weighted
    mean and standard deviation (root mean square if not ``center``) are
    computed on values in [-1, 1]; a constant column gets scale 1.
    """
    peak = np.abs(A).max(axis=0)
    peak[peak == 0] = 1.0
    A = A / peak
    offset = np.zeros(A.shape[1])
    if center:
        offset = weights @ A
        A = A - offset
        # the rounding of the mean leaves a constant column at +-1e-16
        A[:, np.ptp(A, axis=0) == 0] = 0.0
    spread = np.sqrt(weights @ A**2)
    constant = spread == 0
    spread[constant] = 1.0
    scale = np.where(constant, 1.0, peak * spread)
    return A / spread, peak * offset, scale


def _standardised_operator(X, weights, center):
    """:func:`_standardise` of a sparse ``X``, as an operator; X is not densified.

    Returns a :class:`~scipy.sparse.linalg.LinearOperator` whose products are
    those of the standardised matrix, computed from ``X``'s (centering is a
    rank-one correction), and the offset and scale.
    """
    peak = abs(X).max(axis=0).toarray().ravel()
    peak[peak == 0] = 1.0
    scaled = sparse.csr_matrix(X @ sparse.diags(1.0 / peak))
    second = scaled.power(2).T @ weights
    if center:
        offset = scaled.T @ weights
        # implicit zeros count in max and min: constant columns, exactly
        constant = (
            scaled.max(axis=0).toarray().ravel() == scaled.min(axis=0).toarray().ravel()
        )
        spread = np.sqrt(np.maximum(second - offset**2, 0.0))
    else:
        offset = np.zeros(X.shape[1])
        spread = np.sqrt(second)
        constant = spread == 0
    constant |= spread == 0
    spread[constant] = 1.0
    keep = np.where(constant, 0.0, 1.0) / spread
    scale = np.where(constant, 1.0, peak * spread)

    def matvec(b):
        b = np.ravel(b) * keep
        return scaled @ b - offset @ b

    def rmatvec(v):
        v = np.ravel(v)
        return (scaled.T @ v - offset * v.sum()) * keep

    operator = sparse_linalg.LinearOperator(
        X.shape, matvec=matvec, rmatvec=rmatvec, dtype=np.float64
    )
    return operator, peak * offset, scale


def _in_bandwidths(z, sigma):
    """``z / sigma``, or a ValueError naming sigma if that is not representable."""
    with np.errstate(over="ignore", invalid="ignore"):
        u = z / sigma
    if not np.all(np.abs(u) <= MAX_BANDWIDTHS):
        raise ValueError(
            "sigma is too small for the spread of the predictions: they span "
            f"more than {MAX_BANDWIDTHS:.0e} bandwidths; use a larger sigma."
        )
    return u


def mixture_entropy(z, weights, sigma, *, approximation="exact", grid_step=0.1):
    r"""The MID penalty :math:`\tilde L_{lin}` and its gradient w.r.t. ``z``.

    Parameters
    ----------
    z : ndarray of shape (n_samples,)
        Predictions :math:`a^\top x_i`.
    weights : ndarray of shape (n_samples,)
        Non-negative weights summing to 1 (``1/N`` in the paper).
    sigma : float
        Bandwidth of the Gaussian components, in the units of ``z``.
    approximation : {"exact", "binned"}, default="exact"
        The numba kernel, exact up to rounding in O(N) (see
        :mod:`._mid_kernels`), or the O(N + M log M) binned FFT approximation.
    grid_step : float, default=0.1
        Grid step of the binned approximation, in units of ``sigma``.

    Returns
    -------
    value : float
    gradient : ndarray of shape (n_samples,)
    """
    # The kernels work in bandwidths; log(sigma) and 1 / sigma applied here
    # hold for any sigma at which z / sigma is representable.
    u = _in_bandwidths(z, sigma)
    if approximation == "binned":
        value, grad = binned_mixture_entropy_and_gradient(u, weights, grid_step)
    else:
        value, grad = mixture_entropy_and_gradient(u, weights)
    return value + np.log(sigma), grad / sigma


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

    The penalty stands for a mutual information, which does not change when
    the predictions are rescaled (the bandwidth rescaling with them), and the
    fit runs on internally standardised data. So rescaling or shifting
    columns of ``X`` leaves the predictions unchanged, at any magnitude of
    the data; and fitting :math:`c\,y` with ``lam`` :math:`\times c^2` (and
    ``sigma`` :math:`\times c` if not ``"auto"``) gives :math:`c` times the
    predictions, since the squared error is in the squared unit of ``y``.

    Parameters
    ----------
    lam : float, default=0.1
        Strength :math:`\lambda \ge 0` of the penalty. Its unit is the target's
        squared unit per nat, so a useful range depends on the scale of ``y``
        (not of ``X``): the default is a mild defense for a standardised
        target; search it on a log grid. ``lam=0`` is ordinary least squares.
    sigma : "auto" or float, default="auto"
        Bandwidth :math:`\sigma` of the mixture components. ``"auto"`` fixes it
        before optimisation by Silverman's rule on the least-squares training
        predictions, :math:`0.9 \min(\mathrm{std}, \mathrm{IQR}/1.34)
        N^{-1/5}` (if those predictions are constant: the weighted standard
        deviation of ``y``, its root mean square without intercept, or 1.0 if
        that is 0), so that it does not depend on ``lam``: then a larger
        ``lam`` never raises the penalty at the optimum. A float is in the
        units of ``y``; it is refused if the predictions would span more than
        1e307 bandwidths.
    fit_intercept : bool, default=True
        Whether to fit an (unpenalised) intercept.
    max_iter : int, default=500
        Maximum number of L-BFGS iterations.
    tol : float, default=1e-8
        L-BFGS tolerance on the projected gradient of the objective on the
        standardised data, divided by the variance of ``y`` and, if larger
        than 1, by ``lam / var(y)``.
    approximation : {"auto", "exact", "binned"}, default="auto"
        How the penalty is computed: ``"exact"`` is the pairwise sum, exact up
        to rounding (a numba kernel: the predictions are grouped in tiles of
        one bandwidth whose interactions factorise, so that an evaluation
        costs O(N), about a millisecond at 5,000 rows); ``"binned"`` bins the
        predictions on a grid of step ``grid_step * sigma`` and convolves by
        FFT in O(N + M log M), with a relative error of the penalty of order
        ``grid_step**2`` (below 1e-3 at the default step, checked in the test
        suite); ``"auto"`` uses ``"exact"`` up to 2,000 rows and ``"binned"``
        above.
    grid_step : float, default=0.1
        Grid step of the binned approximation, in units of ``sigma``. The grid
        spans the least-squares training predictions and may hold at most
        2**20 points (an evaluation then takes tens of milliseconds): a finer
        ``grid_step``, or a small ``sigma`` against widely spread predictions,
        is refused with a ValueError that gives the grid size.

    copy_X : bool, default=True
        Accepted for compatibility with
        :class:`~sklearn.linear_model.LinearRegression`: the fit never
        modifies ``X``, so ``False`` changes nothing.
    n_jobs : int, default=None
        Accepted for compatibility with
        :class:`~sklearn.linear_model.LinearRegression`; unused (the
        objective's products are memory-bound and run on one thread).
    positive : bool, default=False
        Constrain the coefficients to be non-negative (non-negative least
        squares at ``lam=0``, bounded L-BFGS otherwise). Not available with a
        sparse ``X``, as in :class:`~sklearn.linear_model.LinearRegression`.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients :math:`a` (one row per target for a 2-D ``y``).
    intercept_ : float or ndarray of shape (n_targets,)
        Intercept :math:`b` (0.0 when ``fit_intercept=False``).
    n_iter_ : int
        L-BFGS iterations, over all targets (0 when ``lam=0``).
    sigma_ : float or ndarray of shape (n_targets,)
        The bandwidth used (per target).
    mi_penalty_ : float
        :math:`\tilde L_{lin}` of the training predictions at the solution, in
        nats, computed as during the fit (exact or binned). For a 2-D ``y``,
        the sum of the targets' penalties: each target is fitted with its own
        penalty, and this sum bounds the entropy of the joint predictions
        from above (entropy is subadditive).
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
        "lam": [Interval(numbers.Real, 0, FLOAT_MAX, closed="both")],
        "sigma": [
            StrOptions({"auto"}),
            Interval(numbers.Real, 0, FLOAT_MAX, closed="right"),
        ],
        "fit_intercept": ["boolean"],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, FLOAT_MAX, closed="both")],
        "approximation": [StrOptions({"auto", "exact", "binned"})],
        "grid_step": [Interval(numbers.Real, 0, 1, closed="right")],
        "copy_X": ["boolean"],
        "n_jobs": [None, numbers.Integral],
        "positive": ["boolean"],
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
        copy_X=True,
        n_jobs=None,
        positive=False,
    ):
        self.lam = lam
        self.sigma = sigma
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.approximation = approximation
        self.grid_step = grid_step
        self.copy_X = copy_X
        self.n_jobs = n_jobs
        self.positive = positive

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the penalised linear model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. A sparse ``X`` stays sparse: the fit only needs
            products with it (it is not accepted with ``positive=True``, as in
            :class:`~sklearn.linear_model.LinearRegression`).
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values; each target is fitted with its own penalty.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, y = validate_regression_data(
            self, X, y, accept_sparse=True, multi_output=True
        )
        if self.positive and sparse.issparse(X):
            raise TypeError(
                "Sparse data was passed for X, but dense data is required. "
                "positive=True needs a dense X."
            )
        sample_weight = _check_sample_weight(
            sample_weight,
            X,
            dtype=np.float64,
            ensure_non_negative=True,
            allow_all_zero_weights=True,
        )
        if not sample_weight.any():
            raise ValueError("sample_weight must not be all zeros.")
        weights = _normalised(sample_weight)

        # Everything below runs on standardised columns and target, where no
        # sum or product can overflow whatever the magnitude of the data:
        # X = x_offset + x_scale * Xs, y = y_offset + y_scale * ys. A sparse X
        # is standardised implicitly, as an operator.
        if sparse.issparse(X):
            Xs, x_offset, x_scale = _standardised_operator(
                X, weights, self.fit_intercept
            )
        else:
            Xs, x_offset, x_scale = _standardise(X, weights, self.fit_intercept)
        approximation = self.approximation
        if approximation == "auto":
            approximation = (
                "binned" if X.shape[0] > AUTO_BINNED_MIN_SAMPLES else "exact"
            )
        targets = y[:, None] if y.ndim == 1 else y
        self.n_iter_ = 0
        coefs, intercepts, sigmas, penalties = [], [], [], []
        for k in range(targets.shape[1]):
            beta, y_offset, y_scale, sigma, penalty = self._fit_target(
                Xs, targets[:, k], sample_weight, weights, approximation
            )
            coefs.append(beta * (y_scale / x_scale))
            intercepts.append(
                y_offset - y_scale * float(beta @ (x_offset / x_scale))
                if self.fit_intercept
                else 0.0
            )
            sigmas.append(sigma * y_scale)
            penalties.append(penalty + np.log(y_scale))
        if y.ndim == 1:
            self.coef_, self.intercept_ = coefs[0], float(intercepts[0])
            self.sigma_ = float(sigmas[0])
        else:
            self.coef_, self.intercept_ = np.array(coefs), np.array(intercepts)
            self.sigma_ = np.array(sigmas, dtype=np.float64)
        self.mi_penalty_ = float(np.sum(penalties))
        check_finite_output(
            np.r_[np.ravel(self.coef_), self.intercept_, self.sigma_, self.mi_penalty_],
            source="MIDLinearRegression's fit",
            remedy="the coefficients, of the order of scale(y) / scale(X), overflow; "
            "rescale X or y",
        )
        return self

    def _fit_target(self, Xs, y, sample_weight, weights, approximation):
        """Standardised coefficients, y's offset and scale, sigma and penalty."""
        ys, y_offset, y_scale = _standardise(y[:, None], weights, self.fit_intercept)
        ys, y_offset, y_scale = ys[:, 0], float(y_offset[0]), float(y_scale[0])
        beta = self._least_squares(Xs, ys, weights)
        if self.sigma == "auto":
            sigma = silverman_bandwidth(Xs @ beta, sample_weight) or 1.0
        else:
            sigma = float(self.sigma) / y_scale
            if not np.isfinite(sigma):
                raise ValueError(
                    f"sigma={self.sigma!r} is too large for the scale of y "
                    f"({y_scale:.3g}): the bandwidth overflows."
                )
        if approximation == "binned":
            self._check_grid(Xs @ beta, sigma)
        if self.lam > 0:
            # the objective divided by y_scale**2: the penalty weighs lam_std
            lam_std = self.lam / y_scale / y_scale
            beta = self._minimise(Xs, ys, weights, beta, sigma, approximation, lam_std)
        penalty = mixture_entropy(
            Xs @ beta,
            weights,
            sigma,
            approximation=approximation,
            grid_step=self.grid_step,
        )[0]
        return beta, y_offset, y_scale, sigma, penalty

    def _least_squares(self, Xs, ys, weights):
        """The weighted least-squares solution (``lam=0``) on standardised data."""
        root_w = np.sqrt(weights)
        if isinstance(Xs, sparse_linalg.LinearOperator):
            weighted = sparse_linalg.LinearOperator(
                Xs.shape,
                matvec=lambda b: root_w * Xs.matvec(b),
                rmatvec=lambda v: Xs.rmatvec(root_w * v),
                dtype=np.float64,
            )
            # from zero, LSQR converges to the minimum-norm solution
            return sparse_linalg.lsqr(
                weighted,
                ys * root_w,
                atol=self.tol,
                btol=self.tol,
                iter_lim=max(self.max_iter, 10 * Xs.shape[1]),
            )[0]
        if self.positive:
            return optimize.nnls(Xs * root_w[:, None], ys * root_w)[0]
        # A relative cutoff on the singular values gives the minimum-norm
        # solution on rank-deficient designs (complete one-hot groups with an
        # intercept), where the default cutoff can return huge coefficients
        # along the null space.
        return linalg.lstsq(Xs * root_w[:, None], ys * root_w, cond=RANK_RTOL)[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        return tags

    def _check_grid(self, z, sigma):
        n_grid = grid_size(_in_bandwidths(z, sigma), self.grid_step)
        if n_grid > MAX_GRID_POINTS:
            raise ValueError(
                f"grid_step={self.grid_step!r} needs a grid of {n_grid:.3g} points "
                "for the binned penalty (the least-squares predictions span "
                f"{(n_grid - 2) * self.grid_step:.3g} bandwidths), more than the "
                f"{MAX_GRID_POINTS} allowed; use a larger grid_step or sigma, or "
                "approximation='exact'."
            )

    def _minimise(self, Xs, ys, weights, beta, sigma, approximation, lam_std):
        # The objective is divided by max(1, lam_std), so that neither a huge
        # lam nor a tiny y overflows it: weight_mse = 0 at lam_std = inf gives
        # the limit, the penalty alone.
        if lam_std <= 1:
            weight_mse, weight_penalty = 1.0, lam_std
        else:
            weight_mse, weight_penalty = 1.0 / lam_std, 1.0
        stage_sigma = [sigma]
        # positive coefficients are positive standardised ones (scales > 0)
        bounds = [(0.0, None)] * Xs.shape[1] if self.positive else None

        def objective(beta):
            z = Xs @ beta
            residual = z - ys
            penalty, penalty_grad = mixture_entropy(
                z,
                weights,
                stage_sigma[0],
                approximation=approximation,
                grid_step=self.grid_step,
            )
            value = weight_mse * (weights @ residual**2) + weight_penalty * penalty
            grad = Xs.T @ (
                2.0 * weight_mse * weights * residual + weight_penalty * penalty_grad
            )
            return value, grad

        # Bandwidth continuation: with a small sigma, well separated clusters
        # of predictions do not feel each other and the penalty has flat
        # regions and local minima; starting from a wide bandwidth and
        # narrowing it to sigma warm-starts each stage in the right basin.
        # BLAS on one thread: the objective's matrix-vector products are
        # memory-bound and gain nothing from threads, while waking them costs
        # milliseconds per product on a busy machine (5x the whole fit).
        with threadpool_limits(limits=1, user_api="blas"):
            for factor in SIGMA_CONTINUATION:
                stage_sigma[0] = min(sigma * factor, FLOAT_MAX)
                result = optimize.minimize(
                    objective,
                    beta,
                    jac=True,
                    method="L-BFGS-B",
                    bounds=bounds,
                    options={
                        "maxiter": self.max_iter,
                        "gtol": self.tol,
                        "ftol": 1e-12,
                    },
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
        return beta
