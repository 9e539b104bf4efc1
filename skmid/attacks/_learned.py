r"""Learned attribute inference (the idea of ART's ``AttributeInferenceBlackBox``)."""

import joblib
import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder, StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods

from ..utils._random import seed_unset_random_states
from ..utils._validation import check_finite_output, check_labels
from ._base import PerEstimatorCache, class_codes, fitted_classes, query_proba
from ._map import (
    MAPAttributeInference,
    SensitiveAttributeAttack,
    _check_length,
    _check_rows,
    _is_frame,
    _numeric_targets,
)

#: Folds of the background rows: each attack model is trained without one.
N_FOLDS = 5
#: Background rows whose outputs fingerprint an attacked model for the cache.
FINGERPRINT_ROWS = 8
#: Floor of a confidence before its log is taken.
MIN_PROBABILITY = 1e-12


def _default_attack_estimator():
    return make_pipeline(
        SimpleImputer(), StandardScaler(), LogisticRegression(max_iter=1000)
    )


def _row_keys(X):
    """One hashable key per row, equal for equal rows (NaN equal to NaN)."""
    values = np.asarray(X, dtype=object)
    try:
        numeric = np.ascontiguousarray(values.astype(np.float64))
    except (TypeError, ValueError):
        return [tuple(map(repr, row)) for row in values]
    numeric[np.isnan(numeric)] = np.nan  # one bit pattern for every NaN
    numeric += 0.0  # -0.0 and 0.0 alike
    return [row.tobytes() for row in numeric]


def _is_numeric(column):
    try:
        column.astype(np.float64)
    except (TypeError, ValueError):
        return False
    return True


def _take(X, index):
    return X.iloc[index] if _is_frame(X) else X[index]


class LearnedAttributeInference(SensitiveAttributeAttack):
    r"""Infer a sensitive feature with a classifier trained on the model's outputs.

    The black-box attack of the Adversarial Robustness Toolbox's
    ``AttributeInferenceBlackBox``, in the threat model of
    :class:`MAPAttributeInference` and of the MID paper's game: the attacker
    knows a target's non-sensitive features :math:`x_{ns}` and true target
    :math:`y`, can query the model :math:`f`, and has background rows with
    their sensitive values. It queries the model with every candidate value,

    .. math::

        z(x_{ns}, y) = \bigl(x_{ns},\; y,\; f(x_{ns}, v_1), \dots,
        f(x_{ns}, v_K),\; \ell_1, \dots, \ell_K\bigr),

    with :math:`f` the confidences (``predict_proba``) of a classifier and
    :math:`\ell_k = \log f_y(x_{ns}, v_k)` the log-confidence of the true
    label, or the prediction of a regressor and :math:`\ell_k = -(y -
    f(x_{ns}, v_k))^2` (with the signed residuals), and learns
    :math:`P(v \mid z)` from the background rows with ``estimator``. MAP is
    one function of these features (:math:`\arg\max_k \ell_k / 2s^2 + \log
    \pi(v_k)` for a regressor, the confusion statistics of the labels for a
    classifier); the learned attack can also use how the model's errors vary
    with :math:`x_{ns}` and :math:`y`, so it is at least competitive with
    MAP where the background data suffice, without its Gaussian or
    confusion-matrix model. It never sees the model's output on a target's
    true row, which would reveal more than the game gives the attacker.

    The attack classifiers are trained once per attacked model (cached while
    its outputs on a few background rows are unchanged), by cross-fitting: the
    background rows are split into 5 folds, and a classifier is trained on
    each four. An attacked row that is also a background row (an audit that
    attacks the rows the attacker knows) is inferred by the classifier that
    did not see it; other rows by the mean of the five. The attack's
    success therefore never comes from remembering a row's answer.

    Parameters
    ----------
    sensitive_feature : int, str or list
        The attacked column: an index, a name (for DataFrames), or a list of
        one-hot columns, whose values are then the positions ``0, 1, ...`` in
        that list.
    estimator : classifier, default=None
        The attack classifier (cloned; needs ``predict_proba``). None is a
        multinomial logistic regression on standardised features (missing
        ones imputed by their mean). MAP's log posterior is linear in the
        features above (:math:`\ell_k / 2s^2 + \log \pi(v_k)` for a
        regressor, :math:`\ell_k + \log \pi(v_k)` for a classifier's
        calibrated confidences), so a linear model can learn the MAP rule and
        improve on it (a scale per candidate, the known features' own
        evidence), with few parameters: it does not overfit the few hundred
        background rows of a survey and trains in about a second on
        thousands. Gradient-boosted trees were slower by two orders of
        magnitude and less accurate on warfarin and the steak survey.
    random_state : int, RandomState instance or None, default=None
        Seeds the folds and the attack classifier (where its own
        ``random_state`` is None).

    Attributes
    ----------
    values_ : ndarray of shape (n_values,)
        Candidate values: those of the sensitive column in the background rows
        (positions in the one-hot group for one-hot features).
    prior_ : ndarray of shape (n_values,)
        Their frequencies in the background rows.
    columns_ : list of int
        Positions of the sensitive column(s).
    one_hot_ : bool
        Whether the feature is a one-hot group.
    n_features_in_ : int
        Number of columns of the data.

    See Also
    --------
    MAPAttributeInference : The Bayes-rule attack on the same information.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> from skmid.attacks import LearnedAttributeInference
    >>> from skmid.datasets import make_sensitive_regression
    >>> data = make_sensitive_regression(n_samples=600, sensitive_effect=3,
    ...                                  noise=0.5, random_state=0)
    >>> model = LinearRegression().fit(data.data[:300], data.target[:300])
    >>> attack = LearnedAttributeInference(data.sensitive_features, random_state=0)
    >>> attack = attack.fit(data.data[300:], data.target[300:])
    >>> accuracy = attack.score(model, data.data[:300], data.target[:300])
    >>> bool(accuracy > max(attack.prior_) + 0.2)
    True
    >>> attack.kind, attack.default_metric
    ('attribute', 'accuracy')
    """

    _parameter_constraints: dict = {
        "sensitive_feature": "no_validation",  # checked against X in fit
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "random_state": ["random_state"],
    }

    def __init__(self, sensitive_feature=None, *, estimator=None, random_state=None):
        self.sensitive_feature = sensitive_feature
        self.estimator = estimator
        self.random_state = random_state

    def fit(self, X, y):
        """Store the attacker's background rows.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Rows the attacker knows, sensitive feature included (at least two
            values, and at least 10 rows).
        y : array-like of shape (n_samples,)
            Their targets.

        Returns
        -------
        self : object
        """
        self._validate_params()
        self._fit_background(X, y)
        if len(self.y_background_) < 2 * N_FOLDS:
            raise ValueError(
                f"X needs at least {2 * N_FOLDS} background rows to train the "
                f"attack classifiers; got {len(self.y_background_)}."
            )
        self._fit_known_features()
        self._cache = PerEstimatorCache()
        self._last_inference = None
        return self

    # -- features ----------------------------------------------------------------
    def _known_block(self, X):
        keep = [j for j in range(self.n_features_in_) if j not in self.columns_]
        return np.asarray(X.iloc[:, keep] if _is_frame(X) else X[:, keep], dtype=object)

    def _fit_known_features(self):
        """Which known columns are numbers; an encoder for the others."""
        block = self._known_block(self.X_background_)
        self._numeric = np.array([_is_numeric(column) for column in block.T], bool)
        self._encoder = None
        if not self._numeric.all():
            # Categories compared as strings: a category is a category,
            # whatever the type it is stored as.
            self._encoder = OrdinalEncoder(
                handle_unknown="use_encoded_value", unknown_value=-1
            ).fit(block[:, ~self._numeric].astype(str))

    def _known_features(self, X):
        """The non-sensitive columns as numbers (codes for categories)."""
        block = self._known_block(X)
        features = np.empty(block.shape)
        try:
            features[:, self._numeric] = block[:, self._numeric].astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                "X's non-sensitive columns hold values that are not numbers where "
                "the background rows given to fit held numbers."
            ) from None
        if self._encoder is not None:
            categories = block[:, ~self._numeric].astype(str)
            features[:, ~self._numeric] = self._encoder.transform(categories)
        return features

    def _features(self, estimator, X, y):
        n_rows, n_values = X.shape[0], len(self.values_)
        batch = self._candidate_batch(X)
        if is_classifier(estimator) or hasattr(estimator, "predict_proba"):
            n_classes = len(fitted_classes(estimator))
            if hasattr(estimator, "predict_proba"):
                outputs = query_proba(estimator, batch, type(self).__name__)
            else:
                predicted = class_codes(
                    estimator,
                    MAPAttributeInference._predict(estimator, batch, "X"),
                    "The attacked model's predict",
                )
                outputs = np.eye(n_classes)[predicted]
            if outputs.shape[1] != n_classes:
                raise ValueError(
                    f"The attacked model's predict_proba returns {outputs.shape[1]} "
                    f"columns for {n_classes} classes_."
                )
            outputs = outputs.reshape(n_values, n_rows, n_classes).transpose(1, 0, 2)
            y_codes = class_codes(estimator, y)
            log_fit = np.log(
                np.clip(outputs[np.arange(n_rows), :, y_codes], MIN_PROBABILITY, None)
            )
            target = y_codes[:, None].astype(np.float64)
            columns = [outputs.reshape(n_rows, -1), log_fit]
        else:
            predictions = (
                MAPAttributeInference._predict(
                    estimator, batch, "X with each candidate value"
                )
                .reshape(n_values, n_rows)
                .T
            )
            target = _numeric_targets(y, "y")[:, None]
            with np.errstate(over="ignore", invalid="ignore"):
                residuals = target - predictions
                squared = -(residuals**2)
            columns = [predictions, residuals, squared]
        features = np.hstack([self._known_features(X), target, *columns])
        features[np.isinf(features)] = np.nan
        return features

    # -- training ----------------------------------------------------------------
    def _attack_models(self, estimator):
        """The fold classifiers against ``estimator`` (trained once, cached)."""
        X = self.X_background_
        probe = _take(X, np.arange(min(FINGERPRINT_ROWS, X.shape[0])))
        outputs = (
            query_proba(estimator, probe, type(self).__name__)
            if hasattr(estimator, "predict_proba")
            else MAPAttributeInference._predict(estimator, probe, "X")
        )
        trained = self._cache.get(estimator, outputs)
        if trained is None:
            trained = self._train(estimator)
            self._cache.put(estimator, outputs, trained)
        return trained

    def _train(self, estimator):
        X, y = self.X_background_, self.y_background_
        if is_classifier(estimator) or hasattr(estimator, "predict_proba"):
            # Rows of classes the model never saw cannot be queried for them.
            known = np.isin(y, fitted_classes(estimator))
            if known.sum() < 2 * N_FOLDS:
                raise ValueError(
                    "Fewer than 10 of the y given to fit are classes of the "
                    "attacked classifier (its classes_ are "
                    f"{fitted_classes(estimator).tolist()[:5]})."
                )
            X, y = _take(X, np.flatnonzero(known)), y[known]
        truth = self._encode_truth(self._sensitive_column_values(X))
        features = self._features(estimator, X, y)
        rng = check_random_state(self.random_state)
        fold = rng.permutation(np.arange(len(truth)) % N_FOLDS)
        models = []
        for k in range(N_FOLDS):
            inside = fold != k
            present = np.unique(truth[inside])
            if len(present) == 1:
                models.append(int(present[0]))  # a constant guess
                continue
            model = clone(
                _default_attack_estimator()
                if self.estimator is None
                else self.estimator
            )
            seed_unset_random_states(model, rng)
            models.append(model.fit(features[inside], truth[inside]))
        keys = dict(zip(_row_keys(X), fold.tolist(), strict=True))
        return models, keys

    def _fold_proba(self, model, features):
        proba = np.zeros((features.shape[0], len(self.values_)))
        if isinstance(model, int):
            proba[:, model] = 1.0
            return proba
        proba[:, np.asarray(model.classes_, dtype=int)] = model.predict_proba(features)
        return proba

    # -- the attack API ----------------------------------------------------------
    def infer_proba(self, estimator, X, y=None):
        """The attack classifiers' probability of each candidate value per row.

        Parameters
        ----------
        estimator : fitted estimator
            The attacked model: a classifier is queried with ``predict_proba``
            (``predict`` if it has none), a regressor with ``predict``.
        X : array-like or DataFrame of shape (n_samples, n_features)
            Target rows; the sensitive column(s) are ignored (overwritten with
            each candidate value) except to recognise background rows.
        y : array-like of shape (n_samples,)
            Their true targets (required).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_values)
            Columns in the order of ``values_``.
        """
        self._check_fitted()
        if not hasattr(estimator, "predict"):
            raise ValueError(
                "The attacked estimator must have predict; got "
                f"{type(estimator).__name__}."
            )
        X = _check_rows(X, self.n_features_in_)
        self._check_y_given(y, "infer_proba")
        y = check_labels(y, "y")
        _check_length(X, y)
        trained = self._attack_models(estimator)
        # A scorer per metric asks again for the same rows of the same model:
        # answer from the last inference rather than query the model again.
        rows = joblib.hash((X, y))
        last = getattr(self, "_last_inference", None)
        if last is not None and last[0] is trained and last[1] == rows:
            return last[2].copy()
        models, keys = trained
        features = self._features(estimator, X, y)
        fold = np.array([keys.get(key, -1) for key in _row_keys(X)])
        proba = np.zeros((X.shape[0], len(self.values_)))
        outside = fold < 0
        for k, model in enumerate(models):
            mine = fold == k
            if mine.any():
                proba[mine] = self._fold_proba(model, features[mine])
            if outside.any():
                proba[outside] += self._fold_proba(model, features[outside])
        proba[outside] /= len(models)
        proba = check_finite_output(
            proba, source="LearnedAttributeInference's attack classifiers"
        )
        self._last_inference = (trained, rows, proba.copy())
        return proba

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_cache", None)
        state.pop("_last_inference", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        self._cache = PerEstimatorCache()
