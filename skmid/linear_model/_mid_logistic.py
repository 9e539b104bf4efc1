"""Logistic regression with the MID penalty :math:`I(X; \\hat Y)` (Wang et al. 2021)."""

import numbers

import numpy as np
from scipy import optimize
from scipy.special import expit, log_softmax, logsumexp
from sklearn.base import BaseEstimator, _fit_context
from sklearn.linear_model._base import LinearClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import compute_class_weight
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import _check_sample_weight, validate_data

from ..utils._validation import check_finite_output
from ._base import FLOAT_MAX


def mi_penalty_and_gradient(logits, weights):
    r"""The MID penalty :math:`I(X; \hat Y)` of softmax outputs, and its gradient.

    For rows with logits :math:`z_i \in \mathbb R^K`, outputs
    :math:`p_i = \mathrm{softmax}(z_i)` and weights :math:`a_i \ge 0` summing
    to 1,

    .. math::

        I = H(\bar p) - \sum_i a_i H(p_i) = \sum_i a_i\, \mathrm{KL}(p_i \,\|\,
        \bar p), \qquad \bar p = \sum_i a_i p_i .

    **Gradient.** With :math:`H(q) = -\sum_k q_k \log q_k`,
    :math:`\partial H(\bar p) / \partial p_{ik} = -a_i (\log \bar p_k + 1)`
    and :math:`\partial H(p_i) / \partial p_{ik} = -(\log p_{ik} + 1)`, so
    :math:`\partial I / \partial p_{ik} = a_i g_{ik}` with
    :math:`g_{ik} = \log p_{ik} - \log \bar p_k` (the coupling of the rows
    through :math:`\bar p` enters only through :math:`\log \bar p`). Through
    the softmax Jacobian :math:`\partial p_{ik} / \partial z_{ij} = p_{ik}
    (\delta_{kj} - p_{ij})`,

    .. math::

        \frac{\partial I}{\partial z_{ij}} = a_i\, p_{ij} \big( g_{ij} -
        \textstyle\sum_k p_{ik} g_{ik} \big)
        = a_i\, p_{ij} \big( \log \tfrac{p_{ij}}{\bar p_j}
        - \mathrm{KL}(p_i \,\|\, \bar p) \big).

    Both cost O(nK). Logarithms are taken from ``log_softmax`` and
    ``logsumexp``, so they stay finite where the probabilities underflow.

    Parameters
    ----------
    logits : ndarray of shape (n_samples, n_classes)
        The logits :math:`z_i` (any finite reals; a constant may be added to a
        row).
    weights : ndarray of shape (n_samples,)
        Non-negative :math:`a_i` summing to 1.

    Returns
    -------
    value : float
        :math:`I` in nats, in :math:`[0, \log K]` up to rounding.
    gradient : ndarray of shape (n_samples, n_classes)
        :math:`\partial I / \partial z`.
    """
    return _penalty_from_log_proba(log_softmax(logits, axis=1), weights)


def _penalty_from_log_proba(log_p, weights, p=None):
    """:func:`mi_penalty_and_gradient` from the log-probabilities (and p)."""
    if p is None:
        p = np.exp(log_p)
    with np.errstate(divide="ignore"):  # rows of weight 0
        log_weights = np.log(weights)
    log_mean = logsumexp(log_p + log_weights[:, None], axis=0)
    log_ratio = log_p - log_mean
    kl = np.einsum("ij,ij->i", p, log_ratio)
    value = float(weights @ kl)
    log_ratio -= kl[:, None]
    log_ratio *= p
    log_ratio *= weights[:, None]
    return value, log_ratio


def _binary_logits(z):
    """The two-class logits ``[0, z]`` of a binomial model's decision ``z``."""
    return np.column_stack([np.zeros_like(z), z])


class MIDLogisticRegression(LinearClassifierMixin, BaseEstimator):
    r"""Logistic regression with a mutual-information penalty against model inversion.

    The MID defense (Wang, Zhang and Jia, AAAI 2021, eq. 1) for the most used
    classifier: it fits the labels while penalising the information
    :math:`I(X; \hat Y)` that the output carries about the input, which is
    what model-inversion and attribute-inference attackers exploit. For a
    classifier the penalty is exact and differentiable: over the training rows
    with normalised weights :math:`a_i` and outputs
    :math:`p_i = \mathrm{softmax}(W x_i + b)`,

    .. math::

        \min_{W, b} \; \sum_i a_i \, \ell(y_i, p_i) \;+\; \lambda \Big( H(\bar p)
        - \sum_i a_i H(p_i) \Big) \;+\; \frac{1}{2 C S} \lVert W \rVert_F^2,
        \qquad \bar p = \sum_i a_i p_i ,

    with :math:`\ell` the log-loss, :math:`a_i = s_i / S`, :math:`s_i` the
    sample weight times the class weight and :math:`S = \sum_i s_i` (the
    number of rows when unweighted). The first and last terms are exactly
    scikit-learn's ``LogisticRegression`` objective with the lbfgs solver
    (its "C times the summed loss plus half the squared norm", divided by
    :math:`C S`), so ``lam=0`` reproduces ``LogisticRegression(C=C)`` to the
    solver's tolerance: a drop-in replacement. As there, two classes are fit
    by the binomial model (one coefficient row, :math:`p_i = (1 - \sigma(z_i),
    \sigma(z_i))`), more by the multinomial one; the intercept is not
    penalised. The penalty uses the same weights :math:`a_i` as the loss (one
    empirical distribution for the whole objective), so ``class_weight`` is
    the same as multiplying ``sample_weight`` by it.

    The penalty is 0 when every row gets the same output and at most
    :math:`\log K`; a large ``lam`` pulls the outputs toward one distribution
    and, at the extreme, toward a constant classifier. Its gradient with
    respect to the logits is derived in :func:`mi_penalty_and_gradient`
    (:math:`a_i p_{ij} (\log(p_{ij}/\bar p_j) - \mathrm{KL}(p_i\|\bar p))`),
    and the objective is minimised by L-BFGS-B with scikit-learn's settings,
    at O(nK + nnz(X) K) per evaluation. The objective is not convex when
    ``lam > 0`` (the penalty is a difference of entropies): the fit starts
    from zero (or ``coef_`` with ``warm_start``), as ``LogisticRegression``
    does, and finds a local minimum.

    Parameters
    ----------
    lam : float, default=1.0
        Strength :math:`\lambda \ge 0` of the penalty, in units of the mean
        log-loss per nat; 0 is ``LogisticRegression``.
    C : float, default=1.0
        Inverse L2 strength (> 0), as in ``LogisticRegression``.
    fit_intercept : bool, default=True
        Whether to fit an (unpenalised) intercept per class.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, as in ``LogisticRegression``; they multiply
        ``sample_weight`` in the loss and in the penalty.
    max_iter : int, default=100
        Maximum number of L-BFGS iterations (>= 0).
    tol : float, default=1e-4
        L-BFGS tolerance on the projected gradient (``gtol``), as in
        ``LogisticRegression``.
    warm_start : bool, default=False
        Start from the previous ``coef_`` and ``intercept_`` when refitting
        data with the same classes and features.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Coefficients; one row for two classes (the positive class
        ``classes_[1]``).
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts (zeros when ``fit_intercept=False``).
    n_iter_ : ndarray of shape (1,)
        L-BFGS iterations.
    mi_penalty_ : float
        :math:`I(X; \hat Y)` of the training outputs at the solution, in nats
        (weighted as in the fit).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    sklearn.linear_model.LogisticRegression : The undefended model (``lam=0``).
    skmid.metrics.output_mutual_information : The penalty as a metric.
    MIDLinearRegression : The MID penalty for least squares.

    References
    ----------
    Wang, Zhang and Jia. Improving robustness to model inversion attacks via
    mutual information regularization. AAAI 2021.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.preprocessing import scale
    >>> from skmid.linear_model import MIDLogisticRegression
    >>> X, y = load_iris(return_X_y=True)
    >>> X = scale(X)
    >>> plain = MIDLogisticRegression(lam=0.0).fit(X, y)
    >>> mid = MIDLogisticRegression(lam=0.5).fit(X, y)
    >>> bool(mid.mi_penalty_ < plain.mi_penalty_)
    True
    >>> mid.predict_proba(X[:1]).shape
    (1, 3)
    """

    _parameter_constraints = {
        "lam": [Interval(numbers.Real, 0, FLOAT_MAX, closed="both")],
        "C": [Interval(numbers.Real, 0, FLOAT_MAX, closed="right")],
        "fit_intercept": ["boolean"],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "max_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, FLOAT_MAX, closed="left")],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        *,
        lam=1.0,
        C=1.0,
        fit_intercept=True,
        class_weight=None,
        max_iter=100,
        tol=1e-4,
        warm_start=False,
    ):
        self.lam = lam
        self.C = C
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model by L-BFGS on the penalised log-loss.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows (in the loss and the penalty).

        Returns
        -------
        self : object
        """
        warm = self.warm_start and hasattr(self, "coef_")
        X, y = validate_data(
            self, X, y, accept_sparse="csr", dtype=np.float64, reset=True
        )
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        classes = encoder.classes_
        if len(classes) < 2:
            raise ValueError(
                "MIDLogisticRegression needs samples of at least 2 classes in "
                f"the data, but the data contains only one class: {classes[0]!r}."
            )
        codes = encoder.transform(y)
        weights = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True, copy=True
        )
        if self.class_weight is not None:
            weights *= compute_class_weight(
                self.class_weight, classes=classes, y=y, sample_weight=sample_weight
            )[codes]
        total = weights.sum()
        if not (np.isfinite(total) and total > 0):
            raise ValueError(
                "The weights of the rows (sample_weight times class_weight) must "
                f"have a positive, finite sum; got {total!r}."
            )
        n_classes, n_features = len(classes), X.shape[1]
        n_rows = 1 if n_classes == 2 else n_classes
        start = np.zeros((n_rows, n_features + int(self.fit_intercept)))
        if warm and np.array_equal(getattr(self, "classes_", None), classes):
            previous = self.coef_
            if previous.shape == (n_rows, n_features):
                start[:, :n_features] = previous
                if self.fit_intercept:
                    start[:, -1] = self.intercept_

        objective = _Objective(
            X, codes, n_classes, weights, self.lam, self.C, self.fit_intercept
        )
        result = optimize.minimize(
            objective,
            start.ravel(),
            method="L-BFGS-B",
            jac=True,
            # scikit-learn's settings for LogisticRegression
            options={
                "maxiter": self.max_iter,
                "maxls": 50,
                "gtol": self.tol,
                "ftol": 64 * np.finfo(float).eps,
            },
        )
        n_iter = _check_optimize_result("lbfgs", result, self.max_iter)
        check_finite_output(
            result.x,
            source="MIDLogisticRegression.fit",
            remedy="scale the features of X or lower C",
        )
        coef = result.x.reshape(n_rows, -1)
        self.classes_ = classes
        self.coef_ = coef[:, :n_features].copy()
        self.intercept_ = coef[:, -1].copy() if self.fit_intercept else np.zeros(n_rows)
        self.n_iter_ = np.array([n_iter], dtype=np.int32)
        self.mi_penalty_ = objective.penalty(result.x)
        return self

    def predict_proba(self, X):
        """Class probabilities: the sigmoid (two classes) or softmax of the logits.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities, columns in the order of ``classes_``.
        """
        return np.exp(self.predict_log_proba(X))

    def predict_log_proba(self, X):
        """Logarithms of the class probabilities, computed without underflow.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            scores = _binary_logits(scores)
        return log_softmax(scores, axis=1)


class _Objective:
    """Value and gradient of the penalised log-loss at flattened coefficients."""

    def __init__(self, X, codes, n_classes, weights, lam, C, fit_intercept):
        self.X = X
        self.binary = n_classes == 2
        self.weights = weights / weights.sum()
        self.lam = lam
        self.fit_intercept = fit_intercept
        self.n_features = X.shape[1]
        self.l2 = 1.0 / (C * weights.sum())
        if self.binary:
            self.target = codes.astype(np.float64)
        else:
            self.target = np.zeros((X.shape[0], n_classes))
            self.target[np.arange(X.shape[0]), codes] = 1.0
        self.n_rows = 1 if self.binary else n_classes

    def _logits(self, w):
        coef = w.reshape(self.n_rows, -1)
        z = self.X @ coef[:, : self.n_features].T
        if self.fit_intercept:
            z = z + coef[:, -1]
        return coef, z

    def penalty(self, w):
        _, z = self._logits(w)
        return mi_penalty_and_gradient(self._all_logits(z), self.weights)[0]

    def _all_logits(self, z):
        return _binary_logits(z[:, 0]) if self.binary else z

    def __call__(self, w):
        coef, z = self._logits(w)
        if self.binary:
            u = z[:, 0]
            loss = np.logaddexp(0.0, u) - self.target * u
            dz = (expit(u) - self.target)[:, None]
        else:
            log_p = log_softmax(z, axis=1)
            p = np.exp(log_p)
            loss = -np.einsum("ij,ij->i", self.target, log_p)
            dz = p - self.target
        value = float(self.weights @ loss)
        dz *= self.weights[:, None]
        if self.lam > 0:
            if self.binary:
                mi, dmi = mi_penalty_and_gradient(_binary_logits(u), self.weights)
                dmi = dmi[:, 1:]
            else:
                mi, dmi = _penalty_from_log_proba(log_p, self.weights, p)
            value += self.lam * mi
            dz += self.lam * dmi
        slopes = coef[:, : self.n_features]
        value += 0.5 * self.l2 * float(np.sum(slopes**2))
        grad = np.empty_like(coef)
        grad[:, : self.n_features] = np.asarray(self.X.T @ dz).T + self.l2 * slopes
        if self.fit_intercept:
            grad[:, -1] = dz.sum(axis=0)
        return value, grad.ravel()
