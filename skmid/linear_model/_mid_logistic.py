"""Logistic regression with the MID penalty :math:`I(X; \\hat Y)` (Wang et al. 2021)."""

import numbers
import warnings

import numpy as np
from scipy import optimize, sparse
from scipy.special import expit, log_softmax, logsumexp
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model._base import LinearClassifierMixin, SparseCoefMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import compute_class_weight
from sklearn.utils._param_validation import Hidden, Interval, StrOptions
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


try:  # scikit-learn >= 1.9: its (experimental) callbacks
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # pragma: no cover - older scikit-learn, no callbacks

    class _NoCallbacks:
        def call_on_fit_task_begin(self, **kwargs):
            pass

        call_on_fit_task_end = call_on_fit_task_begin

    class CallbackSupportMixin:
        """Before scikit-learn 1.9 there are no callbacks: the hooks do nothing."""

        def _init_callback_context(self, **kwargs):
            return _NoCallbacks()


#: The solver names of ``LogisticRegression``; all are solved by L-BFGS-B.
_SOLVERS = ("lbfgs", "liblinear", "newton-cg", "newton-cholesky", "sag", "saga")


class MIDLogisticRegression(
    CallbackSupportMixin, LinearClassifierMixin, SparseCoefMixin, BaseEstimator
):
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
        - \sum_i a_i H(p_i) \Big) \;+\; \frac{1}{C S} \Big( \frac{1 - r}{2}
        \lVert W \rVert_F^2 + r \lVert W \rVert_1 \Big),
        \qquad \bar p = \sum_i a_i p_i ,

    with :math:`\ell` the log-loss, :math:`a_i = s_i / S`, :math:`s_i` the
    sample weight times the class weight, :math:`S = \sum_i s_i` (the number
    of rows when unweighted) and :math:`r` the ``l1_ratio``. Without the
    middle term this is exactly scikit-learn's ``LogisticRegression``
    objective (its "C times the summed loss plus the penalty", divided by
    :math:`C S`), so ``lam=0`` is a drop-in replacement of
    ``LogisticRegression``: every parameter of it is accepted with its
    meaning, and the fit solves the same problem to the solver's tolerance.
    As there, two classes are fit by the binomial model (one coefficient row,
    :math:`p_i = (1 - \sigma(z_i), \sigma(z_i))`), more by the multinomial
    one; the intercept is not penalised (except with ``solver="liblinear"``,
    whose objective penalises it as the coefficient of a constant feature
    ``intercept_scaling``). The penalty uses the same weights :math:`a_i` as
    the loss (one empirical distribution for the whole objective), so
    ``class_weight`` is the same as multiplying ``sample_weight`` by it.

    The penalty is 0 when every row gets the same output and at most
    :math:`\log K`; a large ``lam`` pulls the outputs toward one distribution
    and, at the extreme, toward a constant classifier. Its gradient with
    respect to the logits is derived in :func:`mi_penalty_and_gradient`
    (:math:`a_i p_{ij} (\log(p_{ij}/\bar p_j) - \mathrm{KL}(p_i\|\bar p))`).
    The penalty couples all rows through :math:`\bar p`, so the row-wise
    solvers of scikit-learn (Newton's methods, SAG, liblinear's coordinate
    descent) do not apply to it: every ``solver`` minimises the objective by
    L-BFGS-B with scikit-learn's settings, at O(nK + nnz(X) K) per
    evaluation. The L1 part (``l1_ratio > 0``) is made smooth by splitting
    each penalised coefficient as :math:`w = w^+ - w^-` with
    :math:`w^\pm \ge 0`, on which :math:`\lVert w \rVert_1 = \sum (w^+ +
    w^-)` is linear; L-BFGS-B keeps the bounds, and coefficients that the L1
    penalty switches off end exactly at zero. The solver names keep
    scikit-learn's contract (which penalties each accepts, liblinear's
    penalised intercept and binary-only problems): the user guide has the
    table of every option. The objective is not convex when ``lam > 0`` (the
    penalty is a difference of entropies): the fit starts from zero (or
    ``coef_`` with ``warm_start``), as ``LogisticRegression`` does, and finds
    a local minimum.

    Parameters
    ----------
    lam : float, default=1.0
        Strength :math:`\lambda \ge 0` of the penalty, in units of the mean
        log-loss per nat; 0 is ``LogisticRegression``.
    penalty : {"l1", "l2", "elasticnet"} or None, default="deprecated"
        Deprecated in scikit-learn 1.8, as there: ``l1_ratio`` and ``C``
        choose the norm penalty (``"l1"`` is ``l1_ratio=1``, ``"l2"``
        ``l1_ratio=0``, None ``C=np.inf``). Setting it warns.
    C : float, default=1.0
        Inverse strength (> 0, ``np.inf`` for none) of the norm penalty, as
        in ``LogisticRegression``.
    l1_ratio : float, default=0.0
        Mixing :math:`r \in [0, 1]` of the L1 and L2 penalties; ``r > 0``
        needs ``solver="saga"`` (or ``"liblinear"`` for ``r = 1``), as in
        ``LogisticRegression``.
    dual : bool, default=False
        Accepted with ``solver="liblinear"`` and the L2 penalty, as there;
        the MID objective has no dual problem, so the primal is solved: at
        ``lam=0`` it has the same solution.
    tol : float, default=1e-4
        L-BFGS-B tolerance on the projected gradient (``gtol``).
    fit_intercept : bool, default=True
        Whether to fit an intercept per class.
    intercept_scaling : float, default=1
        With ``solver="liblinear"`` only: the value of the constant feature
        whose (penalised) coefficient gives the intercept, as in liblinear.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, as in ``LogisticRegression``; they multiply
        ``sample_weight`` in the loss and in the penalty.
    random_state : int, RandomState instance or None, default=None
        Accepted for compatibility: the fit is deterministic (the stochastic
        solvers' row shuffling does not apply to the coupled penalty).
    solver : str, default="lbfgs"
        One of "lbfgs", "liblinear", "newton-cg", "newton-cholesky", "sag" and
        "saga": which of ``LogisticRegression``'s problems to solve: the names accept
        the same penalties and problems as there, and are all solved by
        L-BFGS-B (see above).
    max_iter : int, default=100
        Maximum number of L-BFGS-B iterations (>= 0; 0 returns the start).
    verbose : int, default=0
        Positive values print a summary of the optimisation.
    warm_start : bool, default=False
        Start from the previous ``coef_`` and ``intercept_`` when refitting
        data with the same classes and features.
    n_jobs : int, default=None
        No effect, as in ``LogisticRegression`` since 1.8 (setting it warns).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Coefficients; one row for two classes (the positive class
        ``classes_[1]``). The dtype of ``X`` (float32 or float64).
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts (zeros when ``fit_intercept=False``).
    n_iter_ : ndarray of shape (1,)
        L-BFGS-B iterations.
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

    The L1 penalty (``solver="saga"``, as in ``LogisticRegression``) switches
    coefficients off exactly:

    >>> sparse = MIDLogisticRegression(lam=0.5, l1_ratio=1.0, C=0.05, solver="saga")
    >>> bool((sparse.fit(X, y).coef_ == 0).any())
    True
    """

    _parameter_constraints = {
        "lam": [Interval(numbers.Real, 0, FLOAT_MAX, closed="both")],
        "penalty": [
            StrOptions({"l1", "l2", "elasticnet"}),
            None,
            Hidden(StrOptions({"deprecated"})),
        ],
        "C": [Interval(numbers.Real, 0, None, closed="right")],
        "l1_ratio": [Interval(numbers.Real, 0, 1, closed="both"), None],
        "dual": ["boolean"],
        "tol": [Interval(numbers.Real, 0, FLOAT_MAX, closed="left")],
        "fit_intercept": ["boolean"],
        "intercept_scaling": [Interval(numbers.Real, 0, FLOAT_MAX, closed="right")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "random_state": ["random_state"],
        "solver": [StrOptions(set(_SOLVERS))],
        "max_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "n_jobs": [None, numbers.Integral],
    }

    def __init__(
        self,
        *,
        lam=1.0,
        penalty="deprecated",
        C=1.0,
        l1_ratio=0.0,
        dual=False,
        tol=1e-4,
        fit_intercept=True,
        intercept_scaling=1,
        class_weight=None,
        random_state=None,
        solver="lbfgs",
        max_iter=100,
        verbose=0,
        warm_start=False,
        n_jobs=None,
    ):
        self.lam = lam
        self.penalty = penalty
        self.C = C
        self.l1_ratio = l1_ratio
        self.dual = dual
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.intercept_scaling = intercept_scaling
        self.class_weight = class_weight
        self.random_state = random_state
        self.solver = solver
        self.max_iter = max_iter
        self.verbose = verbose
        self.warm_start = warm_start
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _norm_penalty(self):
        """``(l1_ratio, C)`` of the norm penalty, after ``LogisticRegression``'s checks.

        The deprecated ``penalty``, its warnings and the solvers' refusals are
        those of ``LogisticRegression`` (scikit-learn 1.8+), word for word
        where its tests match them, so that switching between the two
        estimators changes nothing but the MID penalty.
        """
        l1_ratio, C = self.l1_ratio, self.C
        if self.penalty == "deprecated":
            if l1_ratio is None:
                warnings.warn(
                    "'l1_ratio=None' was deprecated in version 1.8 and will "
                    "trigger an error in 1.10. Use 0<=l1_ratio<=1 instead.",
                    FutureWarning,
                    stacklevel=3,
                )
            if not l1_ratio:
                penalty = "l2"
            elif l1_ratio == 1:
                penalty = "l1"
            else:
                penalty = "elasticnet"
            if C == np.inf:
                penalty = None
        else:
            penalty = self.penalty
            warnings.warn(
                "'penalty' was deprecated in version 1.8 and will be removed in "
                "1.10 (as in LogisticRegression). Leave it to its default and use "
                "l1_ratio=0 instead of penalty='l2', l1_ratio=1 instead of "
                "penalty='l1', 0<l1_ratio<1 instead of penalty='elasticnet' and "
                "C=np.inf instead of penalty=None.",
                FutureWarning,
                stacklevel=3,
            )
        if self.solver not in ("liblinear", "saga") and penalty not in ("l2", None):
            raise ValueError(
                f"Solver {self.solver} supports only 'l2' or None penalties, got "
                f"{penalty} penalty. The L1 part is solved for solver='saga' (and "
                "'liblinear' for l1_ratio=1), as in LogisticRegression."
            )
        if self.solver != "liblinear" and self.dual:
            raise ValueError(
                f"Solver {self.solver} supports only dual=False, got "
                f"dual={self.dual}: the dual problem is liblinear's."
            )
        if penalty == "elasticnet" and self.solver != "saga":
            raise ValueError(
                "Only 'saga' solver supports elasticnet penalty, got "
                f"solver={self.solver}."
            )
        if self.solver == "liblinear" and penalty is None:
            raise ValueError(
                "C=np.inf as well as penalty=None is not supported for the "
                "liblinear solver: its objective penalises the intercept."
            )
        if self.solver == "liblinear" and self.dual and penalty != "l2":
            raise ValueError(
                "Unsupported set of arguments: The combination of penalty='l1' and "
                "loss='logistic_regression' are not supported when dual=True: "
                "liblinear's dual is the one of the L2 problem (l1_ratio=0)."
            )
        if penalty != "elasticnet" and l1_ratio is not None and 0 < l1_ratio < 1:
            warnings.warn(
                "l1_ratio parameter is only used when penalty is 'elasticnet'. "
                f"Got (penalty={penalty})",
                stacklevel=3,
            )
        if (self.penalty == "l2" and l1_ratio != 0) or (
            self.penalty == "l1" and l1_ratio != 1
        ):
            warnings.warn(
                f"Inconsistent values: penalty={self.penalty} with "
                f"l1_ratio={l1_ratio}. penalty is deprecated. Please use "
                "l1_ratio only.",
                stacklevel=3,
            )
        if penalty == "elasticnet" and l1_ratio is None:
            raise ValueError("l1_ratio must be specified when penalty is elasticnet.")
        if self.penalty is None:
            if C != 1.0:
                warnings.warn(
                    "Setting penalty=None will ignore the C and l1_ratio parameters",
                    stacklevel=3,
                )
            C = np.inf
        ratio = {"l2": 0.0, "l1": 1.0, None: 0.0}.get(penalty, l1_ratio)
        return float(ratio), C

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model by L-BFGS-B on the penalised log-loss.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (float32 is kept for ``coef_``).
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows (in the loss and the penalty).

        Returns
        -------
        self : object
        """
        l1_ratio, C = self._norm_penalty()
        if self.n_jobs is not None:
            warnings.warn(
                "'n_jobs' has no effect since 1.8 and will be removed in 1.10 "
                "(as in LogisticRegression: the objective is evaluated by NumPy). "
                f"You provided 'n_jobs={self.n_jobs}', please leave it unspecified.",
                FutureWarning,
                stacklevel=2,
            )
        liblinear = self.solver == "liblinear"
        warm = self.warm_start and hasattr(self, "coef_")
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            order="C",
            reset=True,
        )
        out_dtype = np.float64 if liblinear else X.dtype
        X_fit = X
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        classes = encoder.classes_
        n_classes, n_features = len(classes), X.shape[1]
        if n_classes < 2:
            raise ValueError(
                "MIDLogisticRegression needs samples of at least 2 classes in "
                f"the data, but the data contains only one class: {classes[0]!r}."
            )
        if liblinear and n_classes > 2:
            raise ValueError(
                "The 'liblinear' solver does not support multiclass classification"
                " (n_classes >= 3): its objective is the binary one, as in "
                "LogisticRegression. Use another solver (the multinomial model) "
                "or wrap the estimator in a OneVsRestClassifier."
            )
        if liblinear and X.shape[0] and X.max() > 1e30:
            raise ValueError(
                "Using the 'liblinear' solver while X contains a maximum value > "
                "1e30 results in a frozen fit. Please choose another solver or "
                "rescale the input X. (This is LogisticRegression's guard against "
                "liblinear freezing; L-BFGS-B's line search cannot move at such "
                "a scale either.)"
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

        X = X.astype(np.float64, copy=False)
        # liblinear's objective: the intercept is the penalised coefficient of a
        # constant feature intercept_scaling.
        penalised_intercept = liblinear and self.fit_intercept
        if penalised_intercept:
            column = np.full((X.shape[0], 1), float(self.intercept_scaling))
            if sparse.issparse(X):
                X = sparse.hstack([X, sparse.csr_matrix(column)], format="csr")
            else:
                X = np.hstack([X, column])
        free_intercept = self.fit_intercept and not liblinear
        n_rows = 1 if n_classes == 2 else n_classes
        start = np.zeros((n_rows, X.shape[1] + int(free_intercept)))
        if warm and np.array_equal(getattr(self, "classes_", None), classes):
            previous = np.asarray(self.coef_, dtype=np.float64)
            if previous.shape == (n_rows, n_features):
                start[:, :n_features] = previous
                if self.fit_intercept:
                    intercept = np.asarray(self.intercept_, dtype=np.float64)
                    start[:, -1] = (
                        intercept / self.intercept_scaling
                        if penalised_intercept
                        else intercept
                    )

        strength = 0.0 if C == np.inf else 1.0 / (C * total)
        objective = _Objective(
            X,
            codes,
            n_classes,
            weights,
            self.lam,
            (1.0 - l1_ratio) * strength,
            free_intercept,
        )

        def attributes(coef):
            """``coef_`` and ``intercept_`` of a matrix of the solver's coefficients."""
            if penalised_intercept:
                intercept = self.intercept_scaling * coef[:, -1]
            elif free_intercept:
                intercept = coef[:, -1]
            else:
                intercept = np.zeros(n_rows)
            return {
                "coef_": coef[:, :n_features].astype(out_dtype),
                "intercept_": intercept.astype(out_dtype),
            }

        # scikit-learn's callbacks (sklearn.callback): a task for the fit and
        # one per L-BFGS-B iteration, for every solver name (all run L-BFGS-B)
        self.classes_ = classes
        callback_context = self._init_callback_context(
            max_subtasks=max(self.max_iter, 1) + 1
        )
        metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        callback_context.call_on_fit_task_begin(
            estimator=self, X=X_fit, y=y, metadata=metadata
        )
        iterations = None
        if hasattr(self, "_skl_callbacks"):
            iterations = _IterationTasks(
                callback_context, self, X_fit, y, metadata, attributes, start
            )
        coef, n_iter = _minimize(
            objective,
            start,
            l1=l1_ratio * strength,
            n_penalised=X.shape[1],
            max_iter=self.max_iter,
            tol=self.tol,
            callback=iterations,
        )
        if iterations is not None:
            iterations.close()
        check_finite_output(
            coef,
            source="MIDLogisticRegression.fit",
            remedy="scale the features of X or lower C",
        )
        if self.verbose:
            print(
                f"MIDLogisticRegression ({self.solver}): {n_iter} L-BFGS-B "
                f"iterations, objective {objective(coef.ravel())[0]:.6g}"
            )
        self.mi_penalty_ = objective.penalty(coef.ravel())
        fitted = attributes(coef)
        self.coef_ = fitted["coef_"]
        self.intercept_ = fitted["intercept_"]
        self.n_iter_ = np.array([n_iter], dtype=np.int32)
        callback_context.call_on_fit_task_end(
            estimator=self,
            X=X_fit,
            y=y,
            metadata=metadata,
            reconstruction_attributes={},
        )
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


def _minimize(objective, start, *, l1, n_penalised, max_iter, tol, callback=None):
    """L-BFGS-B on ``objective`` plus ``l1`` times the L1 norm of the penalised part.

    ``start`` holds one row of coefficients per output; the first
    ``n_penalised`` entries of each row carry the norm penalty. With ``l1 >
    0`` those entries are split as ``w = w_pos - w_neg`` with both parts
    bounded below by 0, where the L1 norm is linear and the problem smooth;
    at a solution at most one part of each entry is positive, and the entries
    that the penalty switches off are exactly 0. ``callback``, if given, is
    called with the coefficients (the shape of ``start``) after each
    iteration. Returns the coefficients and the number of iterations.
    """
    shape = start.shape
    penalised = np.zeros(shape, dtype=bool)
    penalised[:, :n_penalised] = True
    penalised = penalised.ravel()
    w0 = start.ravel()
    if max_iter == 0:
        warnings.warn(
            "MIDLogisticRegression: max_iter=0, the coefficients are the start "
            "of the optimisation.",
            ConvergenceWarning,
            stacklevel=3,
        )
        return start.copy(), 0
    m = int(penalised.sum())

    def coefficients(u):
        """The coefficients (the shape of ``start``) of the solver's variables."""
        if l1 > 0:
            w = np.empty_like(w0)
            w[penalised] = u[:m] - u[m : 2 * m]
            w[~penalised] = u[2 * m :]
        else:
            w = u
        return w.reshape(shape)

    if l1 > 0:

        def split_objective(u):
            value, grad = objective(coefficients(u).ravel())
            value += l1 * float(u[: 2 * m].sum())
            g = grad[penalised]
            return value, np.concatenate([g + l1, l1 - g, grad[~penalised]])

        w_pen = w0[penalised]
        u0 = np.concatenate([np.maximum(w_pen, 0), -np.minimum(w_pen, 0)])
        u0 = np.concatenate([u0, w0[~penalised]])
        bounds = [(0, None)] * (2 * m) + [(None, None)] * (w0.size - m)
        fun, x0 = split_objective, u0
    else:
        fun, x0, bounds = objective, w0, None
    result = optimize.minimize(
        fun,
        x0,
        method="L-BFGS-B",
        jac=True,
        bounds=bounds,
        callback=None if callback is None else (lambda u: callback(coefficients(u))),
        # scikit-learn's settings for LogisticRegression
        options={
            "maxiter": max_iter,
            "maxls": 50,
            "gtol": tol,
            "ftol": 64 * np.finfo(float).eps,
        },
    )
    n_iter = _check_optimize_result("lbfgs", result, max_iter)
    return coefficients(result.x).copy(), n_iter


class _IterationTasks:
    """The callback tasks of the L-BFGS-B iterations (scikit-learn's callback API).

    scipy calls the object with the coefficients at the end of each
    iteration: that ends the iteration's task and begins the next one's, whose
    estimator is rebuilt from ``attributes(coefficients)``. The task begun
    last never runs; ``close`` ends it empty.
    """

    def __init__(self, context, estimator, X, y, metadata, attributes, start):
        self._context = context
        self._arguments = {"estimator": estimator, "X": X, "y": y, "metadata": metadata}
        self._attributes = attributes
        self._task = self._begin(start)

    def _begin(self, coef):
        task = self._context.subcontext(task_name="lbfgs-iter")
        task.call_on_fit_task_begin(
            **self._arguments, reconstruction_attributes=self._attributes(coef)
        )
        return task

    def __call__(self, coef):
        self._task.call_on_fit_task_end(
            **self._arguments, reconstruction_attributes=self._attributes(coef)
        )
        self._task = self._begin(coef)

    def close(self):
        self._task.call_on_fit_task_end(estimator=self._arguments["estimator"])


class _Objective:
    """Value and gradient of the smooth part of the objective at flat coefficients.

    The mean log-loss, ``lam`` times the MID penalty and ``l2 / 2`` times the
    squared norm of the coefficients (the intercept column, when
    ``fit_intercept``, excepted).
    """

    def __init__(self, X, codes, n_classes, weights, lam, l2, fit_intercept):
        self.X = X
        self.binary = n_classes == 2
        self.weights = weights / weights.sum()
        self.lam = lam
        self.fit_intercept = fit_intercept
        self.n_features = X.shape[1]
        self.l2 = l2
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
