"""The one attack API of skmid, its metric registry and its scorer factory.

An attack never holds a target model. ``fit`` stores the attacker's background
knowledge only; ``infer``, ``infer_proba`` and ``score`` take the estimator to
attack and query it, so one fitted attack can score every candidate of a grid
search.
"""

import weakref
from abc import abstractmethod

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, clone
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.utils.validation import check_is_fitted

from ..metrics._attack_success import inversion_error, membership_advantage
from ..utils._validation import (
    check_finite_output,
    check_labels,
    encode_class_labels,
)


def _accuracy(truth, guess, proba):
    return float(np.mean(truth == guess))


def _roc_auc(truth, guess, proba):
    present = np.unique(truth)
    if len(present) < 2:
        raise ValueError(
            "metric='roc_auc' needs rows of X with at least two different "
            "sensitive values; the scored rows all hold one."
        )
    # One-vs-rest, macro-averaged over the values present: a value absent from
    # the scored rows (a rare one, in a small fold) has no defined AUC.
    if proba.shape[1] == 2:
        return float(roc_auc_score(truth == 1, proba[:, 1]))
    return float(np.mean([roc_auc_score(truth == v, proba[:, v]) for v in present]))


def _f1(truth, guess, proba):
    n_values = proba.shape[1]
    if n_values == 2:
        return float(f1_score(truth, guess, pos_label=1, zero_division=0.0))
    return float(
        f1_score(
            truth, guess, labels=range(n_values), average="macro", zero_division=0.0
        )
    )


def _advantage(truth, guess, proba):
    # The MID paper's eq. (8): the gain minus the gain the same attack would
    # have if the sensitive value were independent of everything it sees.
    # The attack's guesses do not depend on the row's own sensitive value, so
    # under independence it is right with probability sum_v P(guess=v) P(v).
    n_values = proba.shape[1]
    p_truth = np.bincount(truth, minlength=n_values) / len(truth)
    p_guess = np.bincount(guess, minlength=n_values) / len(guess)
    return _accuracy(truth, guess, proba) - float(p_truth @ p_guess)


def n_rows(X):
    """Number of rows of an array, sparse matrix, DataFrame or list."""
    return X.shape[0] if hasattr(X, "shape") else len(X)


def preview(values, n=5):
    """The first ``n`` values as a list, for a message."""
    values = np.asarray(values)
    return str(values[:n].tolist())[:-1] + (", ...]" if len(values) > n else "]")


def fitted_classes(estimator):
    """The attacked classifier's ``classes_``, or a ValueError saying it has none."""
    classes = getattr(estimator, "classes_", None)
    if classes is None:
        raise ValueError(
            "The attacked model must be a fitted classifier with classes_; got "
            f"{type(estimator).__name__}."
        )
    return np.asarray(classes)


def class_codes(estimator, y, name="y"):
    """Column of each label of ``y`` in the attacked classifier's ``classes_``.

    Labels of any type are compared with ``classes_``, never cast; a label the
    classifier never saw is an error rather than a silent mismatch.
    """
    classes = fitted_classes(estimator)
    y = check_labels(y, name)
    unseen = ~np.isin(y, classes)
    if unseen.any():
        raise ValueError(
            f"{name} holds labels that the attacked classifier never saw: "
            f"{preview(np.unique(y[unseen]))} (its classes_ are {preview(classes)})."
        )
    return encode_class_labels(y, len(classes), labels=classes, input_name=name)


def query_proba(estimator, X, attack):
    """``estimator.predict_proba(X)`` as float64, checked: one finite row per input.

    ``attack`` names the attack in the message when ``estimator`` has no
    ``predict_proba``.
    """
    if not hasattr(estimator, "predict_proba"):
        raise ValueError(
            f"{attack} queries the attacked model's predict_proba; "
            f"{type(estimator).__name__} has none."
        )
    P = np.asarray(estimator.predict_proba(X), dtype=np.float64)
    if P.ndim != 2 or P.shape[0] != n_rows(X):
        raise ValueError(
            "The attacked model's predict_proba must return one row per row of "
            f"X; got shape {P.shape} for {n_rows(X)} rows."
        )
    return check_finite_output(
        P,
        source="The attacked model's predict_proba",
        remedy="the attack cannot score a model whose confidences are not finite",
    )


def check_training_loss(loss, attack):
    """Raise a ValueError naming learning_rate if a network's training diverged.

    ``loss`` is a tensor (e.g. an epoch's summed loss): checking it once per
    epoch keeps the training loop free of a device sync per step.
    """
    check_finite_output(
        loss,
        source=f"{type(attack).__name__}'s training loss",
        remedy=f"lower learning_rate (got {attack.learning_rate:g})",
    )


#: metric name -> (function(truth_codes, guess_codes, proba), higher_is_more_leakage)
ATTRIBUTE_INFERENCE_METRICS = {
    "accuracy": (_accuracy, True),
    "roc_auc": (_roc_auc, True),
    "f1": (_f1, True),
    "advantage": (_advantage, True),
}


def _membership_accuracy(member, guess, proba):
    return float(np.mean(member == guess))


def _membership_roc_auc(member, guess, proba):
    return float(roc_auc_score(member, proba))


def _membership_advantage(member, guess, proba):
    return membership_advantage(member, guess)


#: metric name -> (function(member, guess, proba), higher_is_more_leakage)
MEMBERSHIP_METRICS = {
    "accuracy": (_membership_accuracy, True),
    "roc_auc": (_membership_roc_auc, True),
    "advantage": (_membership_advantage, True),
}

#: metric name -> (function(X_true, X_reconstructed), higher_is_more_leakage)
INVERSION_METRICS = {
    "mse": (inversion_error, False),
}


class PerEstimatorCache:
    """What an attack trained against one fitted estimator, kept for reuse.

    Keyed by the estimator object; an entry is reused only while the
    estimator's outputs on a few probe rows (the fingerprint) are unchanged,
    so refitting the same object retrains. Dropped when pickled.
    """

    def __init__(self):
        self._entries = {}

    def get(self, estimator, fingerprint):
        entry = self._entries.get(id(estimator))
        if entry is None or entry[0]() is not estimator:
            return None
        if not np.array_equal(entry[1], fingerprint):
            return None
        return entry[2]

    def put(self, estimator, fingerprint, value):
        self._entries = {
            key: entry for key, entry in self._entries.items() if entry[0]() is not None
        }
        try:
            reference = weakref.ref(estimator)
        except TypeError:
            return
        self._entries[id(estimator)] = (reference, np.array(fingerprint), value)

    def __getstate__(self):
        return {"_entries": {}}


class BaseAttack(BaseEstimator):
    """Base class of skmid's attacks.

    Subclasses implement ``fit`` (store background knowledge, never a model)
    and ``_score_codes``; the scorer factory and the metric registry are
    shared.
    """

    _metrics = ATTRIBUTE_INFERENCE_METRICS

    @abstractmethod
    def fit(self, X, y=None):
        """Store the attacker's background knowledge."""

    def _check_metric(self, metric):
        if metric not in self._metrics:
            raise ValueError(
                f"metric must be one of {sorted(self._metrics)}; got {metric!r}."
            )
        return self._metrics[metric]

    def _check_fitted(self):
        check_is_fitted(self)

    @classmethod
    def higher_is_more_leakage(cls, metric):
        """Whether a larger value of ``metric`` means a more successful attack."""
        return cls._metrics[metric][1]


class AttackScorer:
    """A scorer ``scorer(estimator, X, y)`` that runs a fitted attack.

    Made by :func:`make_attack_scorer`; the value is the attack's ``score``,
    reported as is.
    """

    def __init__(self, attack, metric):
        self.attack = attack
        self.metric = metric

    def __call__(self, estimator, X, y=None, **kwargs):
        recorder = estimator if isinstance(estimator, TrainingRowsRecorder) else None
        target = recorder.estimator_ if recorder is not None else estimator
        if not getattr(self.attack, "needs_training_rows", False):
            return self.attack.score(target, X, y, metric=self.metric, **kwargs)
        if recorder is None:
            raise ValueError(
                "A membership attack scorer needs the training rows of the model it "
                "attacks; use it through skmid.model_selection.privacy_utility_search."
            )
        if recorder.is_training_rows(X):
            return float("nan")  # no non-members among the training rows
        return self.attack.score_members(
            target, recorder.X_train_, recorder.y_train_, X, y, metric=self.metric
        )

    @property
    def higher_is_more_leakage(self):
        return self.attack.higher_is_more_leakage(self.metric)

    def __repr__(self):
        return f"make_attack_scorer({self.attack!r}, metric={self.metric!r})"


def make_attack_scorer(attack, metric="accuracy"):
    """Make a scikit-learn scorer from a fitted attack.

    The scorer, ``scorer(estimator, X, y)``, attacks ``estimator`` on the rows
    ``X`` (with their targets ``y``) and returns ``attack.score(estimator, X, y,
    metric=metric)``. Attack success is reported as is: for every attribute
    inference metric a higher value means more leakage. Use it in
    ``GridSearchCV(scoring={...})`` next to a utility scorer, with ``refit``
    set to the utility or to a callable that picks the most useful setting
    whose attack success stays within a budget (see the user guide).

    Parameters
    ----------
    attack : fitted attack
        For example a fitted :class:`MAPAttributeInference`.
    metric : str, default="accuracy"
        One of the attack's metrics.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float``; its ``higher_is_more_leakage``
        attribute gives the orientation.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> from skmid.attacks import MAPAttributeInference, make_attack_scorer
    >>> from skmid.datasets import make_sensitive_regression
    >>> data = make_sensitive_regression(n_samples=500, sensitive_effect=3,
    ...                                  noise=0.5, random_state=0)
    >>> attack = MAPAttributeInference(data.sensitive_features)
    >>> attack = attack.fit(data.data, data.target)
    >>> scorer = make_attack_scorer(attack, metric="accuracy")
    >>> model = LinearRegression().fit(data.data, data.target)
    >>> bool(scorer(model, data.data, data.target) > 0.8)
    True
    """
    if not isinstance(attack, BaseAttack):
        raise TypeError(
            f"attack must be a skmid attack (e.g. MAPAttributeInference); "
            f"got {type(attack).__name__}."
        )
    attack._check_metric(metric)
    return AttackScorer(attack, metric)


class TrainingRowsRecorder(BaseEstimator):
    """Fits ``estimator`` and remembers the rows it was fitted on.

    :func:`skmid.model_selection.privacy_utility_search` wraps the searched
    estimator in it when a membership attack is scored: a scikit-learn scorer
    only sees the held-out fold, and the members are the fold's training rows.
    Prediction methods and attributes are those of the fitted ``estimator_``.
    """

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, y=None, **fit_params):
        self.estimator_ = clone(self.estimator).fit(X, y, **fit_params)
        self.X_train_ = X
        self.y_train_ = y
        return self

    def is_training_rows(self, X):
        X_train = self.X_train_
        if n_rows(X) != n_rows(X_train) or np.shape(X) != np.shape(X_train):
            return False
        if hasattr(X, "equals") and hasattr(X_train, "equals"):
            return bool(X.equals(X_train))
        if sp.issparse(X) or sp.issparse(X_train):
            if not (sp.issparse(X) and sp.issparse(X_train)):
                return False
            return (X != X_train).nnz == 0
        return bool(np.array_equal(np.asarray(X), np.asarray(X_train)))

    def predict(self, X):
        return self.estimator_.predict(X)

    def predict_proba(self, X):
        return self.estimator_.predict_proba(X)

    def decision_function(self, X):
        return self.estimator_.decision_function(X)

    def score(self, X, y):
        return self.estimator_.score(X, y)

    @property
    def classes_(self):
        return self.estimator_.classes_

    def __sklearn_tags__(self):
        return self.estimator.__sklearn_tags__()
