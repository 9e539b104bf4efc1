"""Maximum a posteriori attribute inference (Fredrikson et al. 2014, 2015)."""

import math
import numbers

import numpy as np
from scipy.special import logsumexp
from sklearn.base import is_classifier
from sklearn.utils import check_array

from ..utils._validation import (
    check_finite_output,
    check_labels,
    check_probability_matrix,
    check_scalar_choice,
    encode_class_labels,
    resolve_sensitive_columns,
)
from ._base import (
    ATTRIBUTE_INFERENCE_METRICS,
    BaseAttack,
    class_codes,
    fitted_classes,
    preview,
)

#: Laplace smoothing of the attacker's confusion counts P(y | prediction).
CONFUSION_SMOOTHING = 1.0


def _is_frame(X):
    return hasattr(X, "iloc") and hasattr(X, "columns")


def _check_rows(X, n_features=None, name="X"):
    """Validate the rows an attack works on, keeping DataFrames as they are.

    Missing values outside the sensitive column(s) are left to the attacked
    model, which may handle them; what it predicts is checked instead.
    """
    if _is_frame(X):
        data = X
    else:
        data = check_array(X, dtype=None, ensure_all_finite=False, input_name=name)
    if data.shape[0] == 0:
        raise ValueError(f"{name} is empty: the attack needs at least one row.")
    if n_features is not None and data.shape[1] != n_features:
        raise ValueError(
            f"{name} has {data.shape[1]} columns; the attack was fitted on data "
            f"with {n_features}."
        )
    return data


def _check_length(X, y, X_name="X", y_name="y"):
    if len(y) != X.shape[0]:
        raise ValueError(
            f"{y_name} has {len(y)} entries but {X_name} has {X.shape[0]} rows "
            "(inconsistent numbers of samples)."
        )


def _numeric_targets(y, name):
    """Regression targets as float64; a ValueError naming ``y`` otherwise."""
    try:
        targets = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError):
        targets = None
    if targets is None or not np.isfinite(targets).all():
        raise ValueError(
            f"{name} must be finite numbers to attack a regressor; got values such "
            f"as {np.asarray(y)[:3].tolist()}."
        )
    return targets


def gaussian_log_likelihood(residuals, scale, candidates):
    """Log of N(r; 0, scale^2) per entry, up to a constant per row.

    The constant makes the candidate (a column where ``candidates`` is True)
    nearest to the observed target 0. The difference -(r_k^2 - r_min^2) / 2s^2
    is computed as a product of (|r_k| - r_min) / s and (|r_k| + r_min) / s, so
    a tiny scale (even 0, the limit) or residuals near the float64 limit give
    -inf (probability 0) to the farther candidates instead of inf - inf = NaN,
    and the argmax stays the nearest candidate. Columns that are not
    candidates get 0.
    """
    magnitude = np.abs(residuals)
    nearest = magnitude[:, candidates].min(axis=1, keepdims=True)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        log_ratio = (
            -0.5 * ((magnitude - nearest) / scale) * ((magnitude + nearest) / scale)
        )
    log_ratio[(magnitude == nearest) | ~candidates] = 0.0
    return log_ratio


class SensitiveAttributeAttack(BaseAttack):
    """What the attribute attacks share: the sensitive column and its values.

    Subclasses store the background rows with :meth:`_fit_background` and
    implement ``infer_proba(estimator, X, y)``; ``infer`` and ``score`` follow.
    """

    kind = "attribute"
    _metrics = ATTRIBUTE_INFERENCE_METRICS
    default_metric = "accuracy"
    _needs_y = True

    def _fit_background(self, X, y, values=None, prior=None):
        """Check and store the background rows, candidate values and prior."""
        if self.sensitive_feature is None:
            raise ValueError("sensitive_feature is required.")
        X = _check_rows(X)
        y = check_labels(y, "y")
        _check_length(X, y)
        self.columns_, self.one_hot_ = resolve_sensitive_columns(
            self.sensitive_feature, X
        )
        self.n_features_in_ = X.shape[1]
        truth_source = self._sensitive_column_values(X)

        if self.one_hot_:
            if values is not None:
                raise ValueError(
                    "values is not used for a one-hot sensitive_feature: the "
                    "values are the positions in the list of columns."
                )
            self.values_ = np.arange(len(self.columns_))
        elif values is None:
            self.values_ = np.unique(truth_source)
        else:
            self.values_ = check_labels(values, "values")
            if len(np.unique(self.values_)) != len(self.values_):
                raise ValueError("values must not contain duplicates.")
            if len(self.values_) < 2:
                raise ValueError(
                    "values must hold at least two candidate values; got "
                    f"{self.values_.tolist()}."
                )
        codes = self._encode_truth(truth_source)
        present = np.unique(codes)
        if len(present) < 2:
            raise ValueError(
                f"The sensitive feature {self.sensitive_feature!r} takes a single "
                f"value in X ({self.values_[present].tolist()[0]!r}); there is "
                "nothing to infer."
            )

        if prior is None:
            counts = np.bincount(codes, minlength=len(self.values_)).astype(float)
            self.prior_ = counts / counts.sum()
        else:
            self.prior_ = check_probability_matrix(
                np.reshape(prior, (1, -1)),
                n_classes=len(self.values_),
                input_name="prior",
            )[0]
        self.X_background_ = X
        self.y_background_ = y
        return self

    def _sensitive_column_values(self, X, name="X"):
        """The sensitive value of each row (positions for a one-hot group)."""
        block = X.iloc[:, self.columns_] if _is_frame(X) else X[:, self.columns_]
        block = np.asarray(block)
        if not self.one_hot_:
            return check_labels(block[:, 0], f"{name}'s sensitive column")
        try:
            block = block.astype(np.float64)
        except (TypeError, ValueError):
            block = None
        if (
            block is None
            or not np.all((block == 0) | (block == 1))
            or not np.all(block.sum(axis=1) == 1)
        ):
            raise ValueError(
                f"{name}'s one-hot sensitive columns must hold exactly one 1 per "
                "row (and 0 elsewhere)."
            )
        return block.argmax(axis=1)

    def _encode_truth(self, truth, name="X"):
        """Position of each sensitive value in ``values_``."""
        unknown = ~np.isin(truth, self.values_)
        if np.any(unknown):
            raise ValueError(
                f"{name}'s sensitive feature holds values that are not candidate "
                f"values: {preview(np.unique(truth[unknown]))} (the candidates are "
                f"{preview(self.values_)})."
            )
        return encode_class_labels(
            truth,
            len(self.values_),
            labels=self.values_,
            input_name=f"{name}'s sensitive feature",
        )

    def _candidate_batch(self, X):
        """All rows with each candidate value: value block k = rows with value k."""
        n_rows, n_values = X.shape[0], len(self.values_)
        if _is_frame(X):
            import pandas as pd

            batch = pd.concat([X] * n_values, ignore_index=True)
            set_block = batch.iloc.__setitem__
        else:
            batch = np.tile(X, (n_values, 1))
            if not self.one_hot_:
                batch = batch.astype(np.result_type(batch, self.values_))
            set_block = batch.__setitem__
        for k in range(n_values):
            rows = slice(k * n_rows, (k + 1) * n_rows)
            if self.one_hot_:
                for position, column in enumerate(self.columns_):
                    set_block((rows, column), float(position == k))
            else:
                set_block((rows, self.columns_[0]), self.values_[k])
        return batch

    def infer(self, estimator, X, y=None):
        """The most probable sensitive value of each row (the MAP guess).

        Parameters
        ----------
        estimator : fitted estimator
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Their true targets (required).

        Returns
        -------
        guesses : ndarray of shape (n_samples,)
            Values from ``values_``.
        """
        proba = self.infer_proba(estimator, X, y)
        return self.values_[proba.argmax(axis=1)]

    def score(self, estimator, X, y=None, member=None, *, metric=None):
        r"""Attack success against the true sensitive values in ``X``.

        Parameters
        ----------
        estimator : fitted estimator
        X : array-like or DataFrame of shape (n_samples, n_features)
            Target rows, with their true sensitive values.
        y : array-like of shape (n_samples,)
            Their true targets (required).
        member : None
            Not used by an attribute attack; anything else is an error.
        metric : str, default=None
            One of ``"accuracy"``, ``"roc_auc"``, ``"f1"``, ``"advantage"``,
            ``"advantage_over_prior"``; None is ``"accuracy"``. ``"roc_auc"``
            is one-vs-rest macro-averaged for more than two values (over the
            values present in the rows; it needs at least two), ``"f1"``
            macro-averaged (for
            two values: F1 of the second candidate value, e.g. ``"Yes"`` of
            ``["No", "Yes"]``). ``"advantage"`` is the accuracy above chance
            agreement, :math:`\mathrm{acc} - \sum_v P(\hat v = v)\,P(v)`
            (the numerator of Cohen's kappa; both frequencies over the scored
            rows): the accuracy the same guesses would lose if they were
            shuffled across the rows. It approximates the MID paper's
            eq. (8), whose baseline is the gain of the same attack on a model
            trained where the sensitive value is independent of the rest (that
            needs retraining the model); the two agree when the attack's
            guesses keep their distribution under independence.
            ``"advantage_over_prior"`` is :math:`\mathrm{acc} - \max_v
            P(v)`, the gain over always guessing the most frequent value: no
            attack beats that guess under independence, so it is a lower
            bound of eq. (8), negative when the attack does worse than the
            majority guess. Higher means more leakage for all of them; the
            two advantages lie in [-1, 1], the others in [0, 1].

        Returns
        -------
        score : float
        """
        return super().score(estimator, X, y, member, metric=metric)

    def _score(self, estimator, X, y, member, metric_function):
        self._check_fitted()
        X = _check_rows(X, self.n_features_in_)
        truth = self._encode_truth(self._sensitive_column_values(X))
        proba = self.infer_proba(estimator, X, y)
        return metric_function(truth, proba.argmax(axis=1), proba)


class MAPAttributeInference(SensitiveAttributeAttack):
    r"""Infer a sensitive feature from a model's output by maximum a posteriori.

    The attack of Fredrikson et al. (2014) on the warfarin dose model, and its
    black-box form for classifiers (Fredrikson et al. 2015). The attacker
    knows the model (it can query it), a target's non-sensitive features
    :math:`x_{ns}` and true target :math:`y`, the prior :math:`\pi` of the
    sensitive feature and the model's error distribution, and answers

    .. math::

        \hat v = \arg\max_v \; p(y \mid x_{ns}, v) \, \pi(v).

    For a regressor, :math:`p(y \mid x_{ns}, v) = \mathcal N(y; f(x_{ns}, v),
    s^2)` with :math:`s` the root mean squared residual of the attacked model
    on the attacker's background data (or ``error_scale``). For a classifier,
    :math:`p(y \mid x_{ns}, v)` is the attacker's estimate of :math:`P(Y = y
    \mid f(x) = f(x_{ns}, v))`, the model's confusion statistics on the
    background data (Laplace-smoothed counts).

    All candidate values of all rows are sent to the model in one batch of
    ``n_rows * n_values`` rows.

    Parameters
    ----------
    sensitive_feature : int, str or list
        The attacked column: an index, a name (for DataFrames), or a list of
        one-hot columns (as in ``load_warfarin().sensitive_features``), whose
        values are then the positions ``0, 1, ...`` in that list.
    values : array-like, default=None
        Candidate values of a single sensitive column; by default the distinct
        values of that column in the data given to ``fit``. Not used for
        one-hot features.
    prior : array-like of shape (n_values,), default=None
        Prior probability of each candidate value; by default their
        frequencies in the data given to ``fit``.
    error_scale : float, default=None
        Standard deviation of the regression model's Gaussian error, a
        positive finite number. By default it is estimated, for each attacked
        model, from that model's residuals on the data given to ``fit``. The
        likelihoods are computed in log space: however small the scale, the
        guess is the candidate whose prediction is nearest to the target.
    mode : {"naive", "counts"}, default="naive"
        ``"naive"``: the black-box attack described above, for any model.
        ``"counts"``: the white-box attack on a decision tree, which reads
        the training class counts stored in the fitted tree. Candidate
        :math:`v` sends :math:`(x_{ns}, v)` to leaf :math:`L_v`, where
        :math:`n_{L_v}(y)` of its :math:`n_{L_v}` training rows had label
        :math:`y`. With the tree's leaf frequencies as the model of
        :math:`p(y \mid x)` and the sensitive value independent of
        :math:`x_{ns}` a priori, Bayes' rule gives the exact posterior

        .. math::

            P(v \mid x_{ns}, y) \propto \pi(v)\,
            \frac{n_{L_v}(y)}{n_{L_v}}.

        The leaf size divides out: :math:`x_{ns}` is known, so how many
        training rows share a leaf's *other* features says nothing about
        :math:`v`. A candidate whose leaf never saw label :math:`y` gets
        probability 0; candidates whose leaves give :math:`y` the same
        frequency (e.g. two pure leaves, or one node reached by every
        candidate) are ranked by the prior alone; if no leaf saw :math:`y`
        the posterior is the prior. When the tree splits on the sensitive
        feature first and :math:`\pi` is the background frequency, the
        posterior is the joint count :math:`n(v, y)` of the tree's cells.

        This is Fredrikson et al.'s (2015) "MAP with counts" without its
        weighting by leaf size, and at least as accurate as the
        Adversarial Robustness Toolbox's ``AttributeInferenceWhiteBoxDecisionTree``
        on the same trees (which takes the single candidate whose leaf
        predicts :math:`y`, else the largest :math:`n_{L_v}\,\pi(v)`; see
        the user guide). Works on
        :class:`~skmid.tree.MIDDecisionTreeClassifier`,
        :class:`~skmid.tree.DPID3Classifier` (whose counts are noisy; a leaf
        whose released counts are all 0 gives every label the same
        frequency), scikit-learn's ``DecisionTreeClassifier``, and pipelines
        ending in one.

    Attributes
    ----------
    values_ : ndarray of shape (n_values,)
        Candidate values (positions in the one-hot group for one-hot features).
    prior_ : ndarray of shape (n_values,)
        Prior of the candidate values.
    columns_ : list of int
        Positions of the sensitive column(s).
    one_hot_ : bool
        Whether the feature is a one-hot group.
    n_features_in_ : int
        Number of columns of the data.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> from skmid.attacks import MAPAttributeInference
    >>> from skmid.datasets import make_sensitive_regression
    >>> data = make_sensitive_regression(n_samples=500, sensitive_effect=3,
    ...                                  noise=0.5, random_state=0)
    >>> model = LinearRegression().fit(data.data, data.target)
    >>> attack = MAPAttributeInference(data.sensitive_features)
    >>> attack = attack.fit(data.data, data.target)
    >>> guesses = attack.infer(model, data.data, data.target)
    >>> bool((guesses == data.sensitive).mean() > 0.8)
    True
    >>> round(attack.score(model, data.data, data.target, metric="advantage"), 2)
    0.66
    >>> attack.kind, attack.higher_is_more_leakage("advantage")
    ('attribute', True)
    """

    def __init__(
        self,
        sensitive_feature=None,
        *,
        values=None,
        prior=None,
        error_scale=None,
        mode="naive",
    ):
        self.sensitive_feature = sensitive_feature
        self.values = values
        self.prior = prior
        self.error_scale = error_scale
        self.mode = mode

    def fit(self, X, y):
        """Store the attacker's background knowledge.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Rows the attacker knows, sensitive feature included: they give the
            prior and the data on which an attacked model's error statistics
            are estimated. The sensitive feature must take at least two
            values in them.
        y : array-like of shape (n_samples,)
            Their targets (finite).

        Returns
        -------
        self : object
        """
        check_scalar_choice(self.mode, "mode", {"naive", "counts"})
        if self.error_scale is not None and (
            isinstance(self.error_scale, (bool, np.bool_))
            or not isinstance(self.error_scale, numbers.Real)
            or not 0 < self.error_scale < math.inf
        ):
            raise ValueError(
                "error_scale must be a positive finite number or None; got "
                f"{self.error_scale!r}."
            )
        return self._fit_background(X, y, self.values, self.prior)

    @staticmethod
    def _predict(estimator, X, rows):
        """``estimator.predict(X)``, checked: one finite prediction per row."""
        predictions = np.asarray(estimator.predict(X))
        if predictions.ndim == 2 and predictions.shape[1] == 1:
            predictions = predictions[:, 0]
        if predictions.shape != (X.shape[0],):
            raise ValueError(
                "The attacked model's predict must return one value per row; got "
                f"shape {predictions.shape} for {X.shape[0]} rows."
            )
        return check_finite_output(
            predictions,
            source=f"The attacked model's predict on {rows}",
            remedy="the attack cannot score a model that does not predict finite "
            "values",
        )

    def _log_likelihood(self, estimator, X, y):
        if self.mode == "counts":
            return self._counts_log_likelihood(estimator, X, y)
        n_rows, n_values = X.shape[0], len(self.values_)
        predictions = self._predict(
            estimator, self._candidate_batch(X), "X with each candidate value"
        )
        predictions = predictions.reshape(n_values, n_rows).T
        if is_classifier(estimator):
            return self._classifier_log_likelihood(estimator, predictions, y)
        residuals = self._residuals(_numeric_targets(y, "y")[:, None], predictions)
        scale = self._error_scale(estimator)
        return gaussian_log_likelihood(residuals, scale, self.prior_ > 0)

    @staticmethod
    def _residuals(y, predictions):
        with np.errstate(over="ignore", invalid="ignore"):
            residuals = y - predictions
        return check_finite_output(
            residuals,
            source="y minus the attacked model's predictions",
            remedy="y and the predictions are too large; rescale y",
        )

    def _error_scale(self, estimator):
        if self.error_scale is not None:
            return float(self.error_scale)
        residuals = self._residuals(
            _numeric_targets(self.y_background_, "y given to fit"),
            self._predict(estimator, self.X_background_, "the X given to fit"),
        )
        # The root mean square of residuals divided by the largest one first:
        # squaring residuals near the float64 limit would overflow.
        largest = float(np.max(np.abs(residuals)))
        if largest == 0.0:
            return 0.0  # gaussian_log_likelihood then keeps the nearest candidate
        return largest * float(np.sqrt(np.mean((residuals / largest) ** 2)))

    def _classifier_log_likelihood(self, estimator, predictions, y):
        classes = fitted_classes(estimator)
        n_classes = len(classes)
        background_pred = class_codes(
            estimator,
            self._predict(estimator, self.X_background_, "the X given to fit"),
            "The attacked model's predict",
        )
        # Background rows of classes the model never saw cannot be confused
        # with its predictions; the other rows give the confusion counts.
        known = np.isin(self.y_background_, classes)
        if not known.any():
            raise ValueError(
                "None of the y given to fit is a class of the attacked classifier "
                f"(its classes_ are {preview(classes)})."
            )
        background_true = class_codes(estimator, self.y_background_[known])
        counts = np.full((n_classes, n_classes), CONFUSION_SMOOTHING)
        np.add.at(counts, (background_pred[known], background_true), 1.0)
        # log P(Y = y | prediction), rows: prediction, columns: true label
        log_confusion = np.log(counts / counts.sum(axis=1, keepdims=True))
        y_codes = class_codes(estimator, y)
        prediction_codes = class_codes(
            estimator, predictions.ravel(), "The attacked model's predict"
        ).reshape(predictions.shape)
        return log_confusion[prediction_codes, y_codes[:, None]]

    def _counts_log_likelihood(self, estimator, X, y):
        tree, batch = _final_tree(estimator, self._candidate_batch(X))
        frequencies = _node_class_frequencies(tree)
        n_rows, n_values = X.shape[0], len(self.values_)
        nodes = np.asarray(tree.apply(batch)).reshape(n_values, n_rows).T
        y_codes = class_codes(tree, y)
        likelihood = frequencies[nodes, y_codes[:, None]]
        # A label that no possible candidate's leaf ever saw is evidence for
        # none of them: the posterior is then the prior.
        unseen = likelihood[:, self.prior_ > 0].max(axis=1) == 0.0
        likelihood[unseen] = 1.0
        with np.errstate(divide="ignore"):
            return np.log(likelihood)

    def _validate_query(self, estimator, X, y):
        self._check_fitted()
        if self.mode == "naive" and not hasattr(estimator, "predict"):
            raise ValueError(
                "The attacked estimator must have predict; got "
                f"{type(estimator).__name__}."
            )
        X = _check_rows(X, self.n_features_in_)
        self._check_y_given(y, "infer")
        y = check_labels(y, "y")
        _check_length(X, y)
        return X, y

    # -- the attack API ----------------------------------------------------------
    def infer_proba(self, estimator, X, y=None):
        """Posterior over the candidate values for each row.

        Parameters
        ----------
        estimator : fitted estimator
            The attacked model (anything with ``predict``; a pipeline is
            queried with the sensitive column(s) of ``X`` overwritten).
        X : array-like or DataFrame of shape (n_samples, n_features)
            Target rows; the sensitive column(s) are ignored (overwritten).
        y : array-like of shape (n_samples,)
            Their true targets (required: the default None is an error, kept
            for the common ``infer_proba(estimator, X, y=None)`` signature).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_values)
            Columns in the order of ``values_``.
        """
        X, y = self._validate_query(estimator, X, y)
        possible = self.prior_ > 0
        log_likelihood = self._log_likelihood(estimator, X, y)[:, possible]
        # Centring each row first makes rows whose likelihood does not depend
        # on the candidate return exactly the prior: no rounding noise to rank.
        log_likelihood -= log_likelihood.max(axis=1, keepdims=True)
        log_posterior = log_likelihood + np.log(self.prior_[possible])
        proba = np.zeros((X.shape[0], len(self.values_)))
        proba[:, possible] = np.exp(
            log_posterior - logsumexp(log_posterior, axis=1, keepdims=True)
        )
        return check_finite_output(proba, source="MAPAttributeInference's posterior")


def _final_tree(estimator, batch):
    """The tree at the end of ``estimator`` and ``batch`` as that tree sees it."""
    steps = getattr(estimator, "steps", None)
    if steps is not None:
        batch = estimator[:-1].transform(batch)
        estimator = steps[-1][1]
    if not (hasattr(estimator, "apply") and hasattr(estimator, "tree_")):
        raise ValueError(
            'mode="counts" attacks a fitted decision tree (an estimator with apply '
            f"and tree_, or a pipeline ending in one); got {type(estimator).__name__}."
        )
    return estimator, batch


def _node_class_counts(tree):
    """Training rows of each class per node, shape (n_nodes, n_classes)."""
    value = np.asarray(tree.tree_.value)
    if value.ndim == 2:  # skmid's trees store class counts
        return np.clip(value, 0.0, None)
    # scikit-learn's (n_nodes, n_outputs, n_classes), fractions since 1.4
    value = value[:, 0, :]
    weights = np.asarray(tree.tree_.weighted_n_node_samples)
    if np.allclose(value.sum(axis=1), 1.0):
        return value * weights[:, None]
    return value


def _node_class_frequencies(tree):
    """Each node's class frequencies n_L(y) / n_L, shape (n_nodes, n_classes).

    A node without any (released) training row gives every class the same
    frequency.
    """
    counts = check_finite_output(
        _node_class_counts(tree), source="The attacked tree's node class counts"
    )
    totals = counts.sum(axis=1, keepdims=True)
    uniform = np.full_like(counts, 1.0 / counts.shape[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(totals > 0, counts / totals, uniform)
