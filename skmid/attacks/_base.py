"""The one attack contract of skmid, its metric registries and its scorer factory.

An attack never holds a target model. ``fit`` stores the attacker's background
knowledge only; ``infer``, ``infer_proba``, ``decision_function`` and ``score``
take the estimator to attack and query it, so one fitted attack can score every
candidate of a grid search.
"""

import math
import weakref
from abc import ABCMeta, abstractmethod
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.utils.validation import check_is_fitted

from ..metrics import (
    inversion_attack_accuracy,
    inversion_error,
    inversion_knn_distance,
    membership_advantage,
    tpr_at_fpr,
)
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


def _accuracy_above_chance(truth, guess, proba):
    # Accuracy minus chance agreement sum_v P(guess=v) P(v): the accuracy the
    # same guesses would have, shuffled across the rows (the numerator of
    # Cohen's kappa). It stands in for the MID paper's eq. (8), whose baseline
    # is the gain of the same attack against a model trained on data where the
    # sensitive value is independent of the rest; that needs retraining the
    # model, which a score of a fitted model cannot do. It equals eq. (8) when
    # the attack's guesses keep their distribution under independence.
    n_values = proba.shape[1]
    p_truth = np.bincount(truth, minlength=n_values) / len(truth)
    p_guess = np.bincount(guess, minlength=n_values) / len(guess)
    return _accuracy(truth, guess, proba) - float(p_truth @ p_guess)


def _accuracy_above_prior(truth, guess, proba):
    # Accuracy minus that of always guessing the most frequent value. Under
    # independence no attack beats that guess (eq. (7) is then max_v P(v)), so
    # this is a lower bound of the MID paper's eq. (8), needing no retraining.
    n_values = proba.shape[1]
    p_truth = np.bincount(truth, minlength=n_values) / len(truth)
    return _accuracy(truth, guess, proba) - float(p_truth.max())


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
    """Raise a ValueError naming ``lr`` if a network's training diverged.

    ``loss`` is an epoch's loss (a tensor), checked once per epoch by the
    skorch callback that trains the attacks' networks.
    """
    check_finite_output(
        loss,
        source=f"{type(attack).__name__}'s training loss",
        remedy=f"lower lr (got {attack.lr:g})",
    )


#: The kinds of attack: what an attack infers about the rows it is given
#: ("class_reconstruction": one image per class, not per row).
KINDS = ("attribute", "reconstruction", "membership", "class_reconstruction")


class AttackMetric(NamedTuple):
    """One entry of an attack's metric registry.

    ``function`` computes the value, ``higher_is_more_leakage`` gives its
    orientation and ``range`` the ``(low, high)`` interval every value lies in.
    What ``function`` takes depends on the attack's kind: ``(truth_codes,
    guess_codes, proba)`` for attribute inference, ``(member, guess, scores)``
    for membership inference, ``(X_true, X_reconstructed)`` for
    reconstruction and ``(X, y, reconstructions, classes, evaluator)`` for
    class reconstruction (``evaluator()`` returns the evaluation classifier
    fitted on ``(X, y)``, fitted at the first call and cached).
    """

    function: Callable
    higher_is_more_leakage: bool
    range: tuple


ATTRIBUTE_INFERENCE_METRICS = {
    "accuracy": AttackMetric(_accuracy, True, (0.0, 1.0)),
    "roc_auc": AttackMetric(_roc_auc, True, (0.0, 1.0)),
    "f1": AttackMetric(_f1, True, (0.0, 1.0)),
    "advantage": AttackMetric(_accuracy_above_chance, True, (-1.0, 1.0)),
    "advantage_over_prior": AttackMetric(_accuracy_above_prior, True, (-1.0, 1.0)),
}


def _membership_accuracy(member, guess, scores):
    return float(np.mean(member == guess))


def _membership_roc_auc(member, guess, scores):
    return float(roc_auc_score(member, scores))


def _membership_advantage(member, guess, scores):
    return membership_advantage(member, guess)


def _tpr_at_1pct_fpr(member, guess, scores):
    return tpr_at_fpr(member, scores, fpr=0.01)


def _tpr_at_01pct_fpr(member, guess, scores):
    return tpr_at_fpr(member, scores, fpr=0.001)


# Score-based metrics ("roc_auc", "tpr_at_*") read the decision_function
# scores; "accuracy" and "advantage" the thresholded guesses.
MEMBERSHIP_METRICS = {
    "accuracy": AttackMetric(_membership_accuracy, True, (0.0, 1.0)),
    "roc_auc": AttackMetric(_membership_roc_auc, True, (0.0, 1.0)),
    "advantage": AttackMetric(_membership_advantage, True, (-1.0, 1.0)),
    "tpr_at_1pct_fpr": AttackMetric(_tpr_at_1pct_fpr, True, (0.0, 1.0)),
    "tpr_at_0.1pct_fpr": AttackMetric(_tpr_at_01pct_fpr, True, (0.0, 1.0)),
}

INVERSION_METRICS = {
    "mse": AttackMetric(inversion_error, False, (0.0, math.inf)),
}


def _class_accuracy(X, y, reconstructions, classes, evaluator):
    return inversion_attack_accuracy(
        X, y, reconstructions, classes, evaluator=evaluator(), prefit=True
    )


def _class_top5_accuracy(X, y, reconstructions, classes, evaluator):
    return inversion_attack_accuracy(
        X, y, reconstructions, classes, evaluator=evaluator(), top_k=5, prefit=True
    )


def _class_knn_distance(X, y, reconstructions, classes, evaluator):
    return inversion_knn_distance(
        X, y, reconstructions, classes, evaluator=evaluator(), prefit=True
    )


def _class_knn_pixel_distance(X, y, reconstructions, classes, evaluator):
    return inversion_knn_distance(X, y, reconstructions, classes, space="pixels")


def _class_mean_mse(X, y, reconstructions, classes, evaluator):
    # The class mean is what a blurry reconstruction converges to: this metric
    # rewards blur, the evaluator-based ones do not.
    means = np.array([X[y == c].mean(axis=0) for c in classes])
    return inversion_error(means, reconstructions)


# Scored on the private rows (X, y): the reconstructions of the classes of y.
CLASS_RECONSTRUCTION_METRICS = {
    "accuracy": AttackMetric(_class_accuracy, True, (0.0, 1.0)),
    "top5_accuracy": AttackMetric(_class_top5_accuracy, True, (0.0, 1.0)),
    "knn_distance": AttackMetric(_class_knn_distance, False, (0.0, math.inf)),
    "knn_pixel_distance": AttackMetric(
        _class_knn_pixel_distance, False, (0.0, math.inf)
    ),
    "mse": AttackMetric(_class_mean_mse, False, (0.0, math.inf)),
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


class BaseAttack(BaseEstimator, metaclass=ABCMeta):
    """Base class of skmid's attacks: the one attack contract.

    An attack declares, as class attributes, its ``kind`` (one of
    ``"attribute"``, ``"reconstruction"``, ``"membership"``,
    ``"class_reconstruction"``), its metric
    registry ``_metrics`` (name -> :class:`AttackMetric`: function,
    orientation, range) and its ``default_metric``. It implements

    - ``fit(X, y=None)``: store the attacker's background knowledge, never a
      model; returns ``self``;
    - ``infer(estimator, X, y=None)``: the attack's guesses about the rows
      ``X`` (sensitive values, reconstructions or membership), from what
      ``estimator`` outputs on them;
    - ``_score(estimator, X, y, member, metric_function)``: the value of a
      metric for those rows, called by :meth:`score` once the arguments and
      the metric are checked.

    and, where meaningful, ``infer_proba`` and ``decision_function``. Every
    attack is then scored the same way, ``score(estimator, X, y=None,
    member=None, *, metric=None)``, and turned into a scikit-learn scorer by
    :func:`make_attack_scorer`; :func:`~skmid.attacks.check_attack` checks
    the contract.

    Examples
    --------
    >>> from skmid.attacks import BaseAttack
    >>> BaseAttack()
    Traceback (most recent call last):
        ...
    TypeError: Can't instantiate abstract class BaseAttack ...
    """

    #: What the attack infers: "attribute", "reconstruction", "membership" or
    #: "class_reconstruction".
    kind = None
    #: metric name -> AttackMetric(function, higher_is_more_leakage, range)
    _metrics = {}
    #: The metric used when none is named.
    default_metric = None
    #: Whether a scorer must give the attack the attacked model's training
    #: rows (the members); True for membership attacks.
    needs_training_rows = False
    #: Whether ``score`` (and ``infer``) need each row's true target ``y``.
    _needs_y = False

    @abstractmethod
    def fit(self, X, y=None):
        """Store the attacker's background knowledge; returns ``self``."""

    @abstractmethod
    def infer(self, estimator, X, y=None):
        """The attack's guesses about the rows ``X``."""

    @abstractmethod
    def _score(self, estimator, X, y, member, metric_function):
        """The value of ``metric_function`` on the rows ``X``."""

    def score(self, estimator, X, y=None, member=None, *, metric=None):
        """Attack success on the rows ``X``, in the units of ``metric``.

        Parameters
        ----------
        estimator : fitted estimator
            The attacked model; the attack only queries it.
        X : array-like of shape (n_samples, ...)
            The attacked rows (for attribute inference with their true
            sensitive values, which the attack does not see).
        y : array-like of shape (n_samples,), default=None
            The rows' true targets; required by the attacks that use them
            (attribute inference, label-based membership inference).
        member : array-like of shape (n_samples,) of bool, default=None
            The true membership of the rows in ``estimator``'s training set:
            required by membership attacks, an error for the others.
        metric : str, default=None
            A metric of the attack's registry; None is ``default_metric``.
            :meth:`higher_is_more_leakage` gives its orientation and
            :meth:`metric_range` its range.

        Returns
        -------
        score : float
        """
        metric = self._check_metric(metric)
        if isinstance(member, str):
            raise ValueError(
                f"member must be the rows' membership; got the string {member!r}. "
                f"metric is keyword-only: score(estimator, X, y, metric={member!r})."
            )
        if self.kind == "membership":
            if member is None:
                raise ValueError(
                    f"{type(self).__name__} is a membership attack: score needs "
                    "member, the true membership of each row of X."
                )
        elif member is not None:
            raise ValueError(
                f"member has no meaning for {type(self).__name__}, a "
                f"{self.kind} attack; leave it None."
            )
        self._check_y_given(y, "score")
        function = self._metrics[metric].function
        return float(self._score(estimator, X, y, member, function))

    def _check_y_given(self, y, method):
        if y is None and self._needs_y:
            raise ValueError(
                f"{type(self).__name__}.{method} needs y, the true target of each "
                "row of X."
            )

    @classmethod
    def _check_metric(cls, metric):
        """The metric's name (``default_metric`` for None), or a ValueError."""
        if metric is None:
            metric = cls.default_metric
        if not isinstance(metric, str) or metric not in cls._metrics:
            raise ValueError(
                f"metric must be one of {sorted(cls._metrics)}; got {metric!r}."
            )
        return metric

    def _check_fitted(self):
        check_is_fitted(self)

    @classmethod
    def higher_is_more_leakage(cls, metric=None):
        """Whether a larger value of ``metric`` means a more successful attack."""
        return cls._metrics[cls._check_metric(metric)].higher_is_more_leakage

    @classmethod
    def metric_range(cls, metric=None):
        """The ``(low, high)`` interval every value of ``metric`` lies in."""
        return tuple(cls._metrics[cls._check_metric(metric)].range)


def is_fitted(attack):
    """Whether ``attack`` is ready to attack (fitted, or needs no fit)."""
    try:
        check_is_fitted(attack)
    except NotFittedError:
        return False
    return True


class AttackScorer:
    """A scorer ``scorer(estimator, X, y)`` that runs an attack.

    Made by :func:`make_attack_scorer`, which documents what it computes; the
    value is the attack's ``score``, reported as is, in the metric's units.

    Parameters
    ----------
    attack : attack
        A skmid attack, fitted or not.
    metric : str, default=None
        One of the attack's metrics; None is its ``default_metric``.

    Attributes
    ----------
    attack : attack
    metric : str
    """

    def __init__(self, attack, metric=None):
        if not isinstance(attack, BaseAttack):
            raise TypeError(
                "attack must be a skmid attack (e.g. MAPAttributeInference); "
                f"got {type(attack).__name__}."
            )
        self.attack = attack
        self.metric = attack._check_metric(metric)

    def _accept_sample_weight(self):
        # GridSearchCV without metadata routing hands sample_weight to every
        # scorer that says it accepts it; an attack's success is measured on
        # rows, not weighted rows.
        return False

    def __call__(self, estimator, X, y=None, **kwargs):
        if kwargs:
            raise TypeError(
                f"An attack scorer takes no metadata; got {sorted(kwargs)}."
            )
        recorder = estimator if isinstance(estimator, TrainingRowsRecorder) else None
        target = recorder.estimator_ if recorder is not None else estimator
        attack = self.attack
        if not self.needs_training_rows:
            if not is_fitted(attack):
                # The attacker knows population statistics: its background
                # knowledge is the scored rows themselves.
                attack = clone(attack).fit(X, y)
            return attack.score(target, X, y, metric=self.metric)
        if recorder is None:
            raise ValueError(
                "A membership attack scorer needs the training rows of the model it "
                "attacks: score skmid.attacks.TrainingRowsRecorder(estimator) "
                "fitted on them (skmid.model_selection.privacy_utility_search "
                "does)."
            )
        if recorder.is_training_rows(X):
            return float("nan")  # no non-members among the training rows
        if not is_fitted(attack):
            attack = attack._population_attack(X, y)
        return attack.score_members(
            target, recorder.X_train_, recorder.y_train_, X, y, metric=self.metric
        )

    @property
    def higher_is_more_leakage(self):
        """Whether a larger score means more leakage (from the attack's metric)."""
        return bool(self.attack.higher_is_more_leakage(self.metric))

    @property
    def kind(self):
        """The attack's kind: "attribute", "reconstruction" or "membership"."""
        return self.attack.kind

    @property
    def needs_training_rows(self):
        """Whether the scored estimator must be a fitted TrainingRowsRecorder."""
        return bool(self.attack.needs_training_rows)

    @property
    def metric_range(self):
        """The ``(low, high)`` interval every score lies in."""
        return self.attack.metric_range(self.metric)

    def __repr__(self):
        return f"make_attack_scorer({self.attack!r}, metric={self.metric!r})"


def make_attack_scorer(attack, metric=None):
    """Make a scikit-learn scorer from an attack, fitted or not.

    The scorer, ``scorer(estimator, X, y)``, attacks ``estimator`` on the rows
    ``X`` (with their targets ``y``) and returns ``attack.score(estimator, X, y,
    metric=metric)``. Attack success is reported as is, in the metric's units:
    the scorer's ``higher_is_more_leakage`` gives its orientation (False for
    an inversion error) and ``metric_range`` its range. Use it in
    ``GridSearchCV(scoring={...})`` next to a utility scorer, with ``refit``
    set to the utility or to a callable that picks the most useful setting
    whose attack success stays within a budget (see the user guide).

    Where the attack's background knowledge comes from:

    - A **fitted** attack is used as is: its background knowledge is what it
      was fitted on, the same for every fold and candidate.
    - An **unfitted** attack is fitted anew, on a clone, at each call: the
      attacker knows population statistics. An attribute or reconstruction
      attack is fitted on the scored rows themselves (``clone(attack).fit(X,
      y)``: the prior of the sensitive value and the model's error statistics,
      or the auxiliary inputs, come from the rows it attacks). A membership
      attack takes the scored non-members (the held-out rows) as the
      attacker's sample of the population: a shadow-model attack is fitted on
      them; a known-members attack learns from the fold itself (see its
      ``score_members``); a label-only attack needs no fit.

    A membership scorer needs the attacked model's training rows (the
    members): it scores a fitted :class:`TrainingRowsRecorder`, with ``X`` the
    non-members, as :func:`skmid.model_selection.privacy_utility_search`
    does, and is NaN on the training rows themselves.

    Parameters
    ----------
    attack : attack
        A skmid attack (a :class:`BaseAttack`), for example
        :class:`MAPAttributeInference`.
    metric : str, default=None
        One of the attack's metrics; None is the attack's ``default_metric``.

    Returns
    -------
    scorer : AttackScorer
        ``scorer(estimator, X, y) -> float``, with the properties
        ``higher_is_more_leakage``, ``kind``, ``needs_training_rows`` and
        ``metric_range``.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> from skmid.attacks import MAPAttributeInference, make_attack_scorer
    >>> from skmid.datasets import make_sensitive_regression
    >>> data = make_sensitive_regression(n_samples=500, sensitive_effect=3,
    ...                                  noise=0.5, random_state=0)
    >>> attack = MAPAttributeInference(data.sensitive_features)
    >>> model = LinearRegression().fit(data.data, data.target)

    An unfitted attack learns its background knowledge from the scored rows:

    >>> scorer = make_attack_scorer(attack)
    >>> scorer.metric, scorer.higher_is_more_leakage, scorer.metric_range
    ('accuracy', True, (0.0, 1.0))
    >>> bool(scorer(model, data.data, data.target) > 0.8)
    True

    A fitted one keeps the background knowledge it was fitted on:

    >>> fitted = make_attack_scorer(attack.fit(data.data[:250], data.target[:250]))
    >>> bool(fitted(model, data.data[250:], data.target[250:]) > 0.8)
    True
    """
    return AttackScorer(attack, metric)


class TrainingRowsRecorder(BaseEstimator):
    """Fits ``estimator`` and remembers the rows it was fitted on.

    A membership scorer (:func:`make_attack_scorer` of a membership attack)
    scores it: a scikit-learn scorer only sees the held-out rows, and the
    members are the training rows kept here.
    :func:`skmid.model_selection.privacy_utility_search` wraps the searched
    estimator in it when a membership attack is scored. Prediction methods
    and attributes are those of the fitted ``estimator_``.

    Parameters
    ----------
    estimator : estimator
        The model to fit (cloned).

    Attributes
    ----------
    estimator_ : estimator
        The fitted clone.
    X_train_, y_train_ : array-like
        The rows it was fitted on, as given.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from skmid.attacks import (LabelOnlyMembershipAttack,
    ...                            TrainingRowsRecorder, make_attack_scorer)
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(200, 3)), rng.integers(0, 2, 200)
    >>> recorder = TrainingRowsRecorder(DecisionTreeClassifier(random_state=0))
    >>> recorder = recorder.fit(X[:100], y[:100])
    >>> scorer = make_attack_scorer(LabelOnlyMembershipAttack())
    >>> bool(scorer(recorder, X[100:], y[100:]) > 0.6)
    True
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
