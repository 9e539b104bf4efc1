"""Membership inference: shadow models (ML-Leaks), known members (NSH), label only."""

import numbers
from abc import abstractmethod

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.neural_network import MLPClassifier
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval

from ..utils._random import seed_unset_random_states
from ..utils._validation import (
    MAX_LEARNING_RATE,
    check_finite_output,
    check_labels,
    check_membership,
)
from ._base import (
    MEMBERSHIP_METRICS,
    BaseAttack,
    PerEstimatorCache,
    class_codes,
    fitted_classes,
    n_rows,
    query_proba,
)

FINGERPRINT_ROWS = 16


def sorted_top_k(P, k):
    """Each row's ``k`` largest confidences, in decreasing order."""
    return -np.sort(-P, axis=1)[:, :k]


def _query_proba(estimator, X):
    return query_proba(estimator, X, "A membership attack on confidences")


def _check_rows_and_labels(X, y, X_name="X", y_name="y"):
    """``y`` as a 1-D array of finite labels, one per row of a non-empty ``X``."""
    y = check_labels(y, y_name)
    if n_rows(X) != len(y):
        raise ValueError(
            f"{y_name} has {len(y)} labels but {X_name} has {n_rows(X)} rows "
            "(inconsistent numbers of samples)."
        )
    if len(y) == 0:
        raise ValueError(f"{X_name} is empty: the attack needs at least one row.")
    return y


class BaseMembershipAttack(BaseAttack):
    """Shared API of the membership attacks.

    ``decision_function(estimator, X, y)`` gives member scores (higher = more
    likely a member; for skmid's attacks, the member probability),
    ``infer_proba`` the probabilities of non-member and member,
    ``infer`` guesses membership (bool) and ``score(estimator, X, y, member,
    metric=...)`` compares them with the true membership: ``"accuracy"``,
    ``"roc_auc"``, ``"tpr_at_1pct_fpr"`` and ``"tpr_at_0.1pct_fpr"`` (the
    true-positive rate at 1 % and 0.1 % false-positive rate, as Carlini et
    al. 2022 report membership leakage; all in [0, 1]) or ``"advantage"``
    (true-positive minus false-positive rate, in [-1, 1]); higher means more
    leakage for all five.

    In :func:`skmid.model_selection.privacy_utility_search`, a membership
    scorer attacks each candidate with the fold's training rows as members and
    its held-out rows as non-members, the larger group subsampled to the size
    of the smaller (``score_members``).
    """

    kind = "membership"
    _metrics = MEMBERSHIP_METRICS
    default_metric = "accuracy"
    needs_training_rows = True
    _needs_y = True
    #: Member scores at or above it are guessed members.
    _threshold = 0.5

    @abstractmethod
    def decision_function(self, estimator, X, y=None):
        """Member score of each row: higher means more likely a member."""

    def infer_proba(self, estimator, X, y=None):
        """Probabilities of non-member and member for each row.

        Parameters
        ----------
        estimator : fitted classifier
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), default=None
            The rows' true labels (required by the attacks that use them).

        Returns
        -------
        proba : ndarray of shape (n_samples, 2)
            Column 0 non-member, column 1 member (the
            ``decision_function``).
        """
        member = self.decision_function(estimator, X, y)
        return np.column_stack([1.0 - member, member])

    def infer(self, estimator, X, y=None):
        """Membership guesses: True for rows judged members.

        Parameters
        ----------
        estimator : fitted classifier
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), default=None
            The rows' true labels (required by the attacks that use them).

        Returns
        -------
        guesses : ndarray of shape (n_samples,), dtype bool
        """
        return self.decision_function(estimator, X, y) >= self._threshold

    def score(self, estimator, X, y=None, member=None, *, metric=None):
        """Attack success against the true membership.

        Parameters
        ----------
        estimator : fitted classifier
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), default=None
            The rows' true labels (required by the attacks that use them).
        member : array-like of shape (n_samples,), bool
            True for rows of the estimator's training set (required).
        metric : {"accuracy", "roc_auc", "advantage", "tpr_at_1pct_fpr", \
                "tpr_at_0.1pct_fpr"}, default=None
            None is ``"accuracy"``. The score-based metrics (``"roc_auc"``
            and the true-positive rates at 1 % and 0.1 % false-positive
            rate, :func:`skmid.metrics.tpr_at_fpr`) read the
            ``decision_function``; the others the guesses of ``infer``.

        Returns
        -------
        score : float
        """
        return super().score(estimator, X, y, member, metric=metric)

    def _score(self, estimator, X, y, member, metric_function):
        member = check_membership(member, n_rows(X))
        scores = self.decision_function(estimator, X, y)
        return metric_function(member, scores >= self._threshold, scores)

    def _population_attack(self, X, y):
        """A clone fitted on the attacker's sample of the population ``X, y``.

        Used by an attack scorer when the attack is not fitted: the held-out
        (non-member) rows are the attacker's population sample.
        """
        return clone(self).fit(X, y)

    def score_members(
        self, estimator, X_members, y_members, X_others, y_others, *, metric=None
    ):
        """Score on balanced members and non-members (the larger set subsampled).

        Parameters
        ----------
        estimator : fitted classifier
        X_members, y_members : array-like
            Rows of ``estimator``'s training set and their labels.
        X_others, y_others : array-like
            Rows it was not trained on and their labels.
        metric : str, default=None
            One of the attack's metrics; None is ``default_metric``.

        Returns
        -------
        score : float
        """
        X, y, member = _balanced(
            X_members, y_members, X_others, y_others, self._sampling_seed()
        )
        return self._score_balanced(estimator, X, y, member, metric)

    def _score_balanced(self, estimator, X, y, member, metric):
        return self.score(estimator, X, y, member, metric=metric)

    def _trained_against(self, estimator, X_background, train):
        """``train(estimator)``, cached while the estimator's outputs are unchanged."""
        rows = np.arange(min(FINGERPRINT_ROWS, n_rows(X_background)))
        probe = _query_proba(estimator, _take(X_background, rows))
        trained = self._cache.get(estimator, probe)
        if trained is None:
            trained = train(estimator)
            self._cache.put(estimator, probe, trained)
        return trained

    def _sampling_seed(self):
        return check_random_state(getattr(self, "random_state", 0)).randint(2**31 - 1)

    def __getstate__(self):
        state = dict(super().__getstate__())  # may be the live __dict__
        state.pop("_cache", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        self._cache = PerEstimatorCache()


def _take(X, index):
    if hasattr(X, "iloc"):
        return X.iloc[index]
    return X[index] if sp.issparse(X) else np.asarray(X)[index]


def _concat(a, b):
    if hasattr(a, "iloc"):
        import pandas as pd

        return pd.concat([a, b], ignore_index=True)
    if sp.issparse(a):
        return sp.vstack([a, b], format="csr")
    return np.concatenate([np.asarray(a), np.asarray(b)])


def _balanced(X_members, y_members, X_others, y_others, seed):
    rng = np.random.RandomState(seed)
    n = min(n_rows(X_members), n_rows(X_others))
    if n == 0:
        raise ValueError("Need at least one member and one non-member.")
    keep_members = np.sort(rng.choice(n_rows(X_members), n, replace=False))
    keep_others = np.sort(rng.choice(n_rows(X_others), n, replace=False))
    X = _concat(_take(X_members, keep_members), _take(X_others, keep_others))
    y = np.concatenate(
        [np.asarray(y_members)[keep_members], np.asarray(y_others)[keep_others]]
    )
    member = np.r_[np.ones(n, dtype=bool), np.zeros(n, dtype=bool)]
    return X, y, member


class LabelOnlyMembershipAttack(BaseMembershipAttack):
    """Membership from the label alone (Yeom et al. 2018).

    A row is guessed a member iff the queried model classifies it correctly.
    On balanced members and non-members its accuracy is
    ``(train accuracy + 1 - test accuracy) / 2``: it measures what the
    generalisation gap leaks, which no output post-processing that keeps the
    label can change. Needs no background data: it answers without ``fit``
    (its ``requires_fit`` tag is False, as for scikit-learn's ``Normalizer``);
    ``fit`` is allowed and learns nothing.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from skmid.attacks import LabelOnlyMembershipAttack
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(200, 3)), rng.integers(0, 2, 200)
    >>> model = DecisionTreeClassifier(random_state=0).fit(X[:100], y[:100])
    >>> member = np.arange(200) < 100
    >>> attack = LabelOnlyMembershipAttack()
    >>> accuracy = attack.score(model, X, y, member)
    >>> bool(accuracy == (1 + 1 - model.score(X[100:], y[100:])) / 2)
    True
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        return tags

    def fit(self, X=None, y=None):
        """Nothing to learn; returns ``self``.

        Parameters
        ----------
        X, y : ignored

        Returns
        -------
        self : object
        """
        return self

    def decision_function(self, estimator, X, y=None):
        """1.0 where ``estimator`` predicts the true label, else 0.0.

        Labels of any type are compared as classes of ``estimator.classes_``:
        a label the classifier never saw is an error, not a wrong guess.

        Parameters
        ----------
        estimator : fitted classifier
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            The rows' true labels (required).

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        self._check_y_given(y, "decision_function")
        if not hasattr(estimator, "predict"):
            raise ValueError(f"{type(estimator).__name__} has no predict.")
        y = _check_rows_and_labels(X, y)
        truth = class_codes(estimator, y)
        predicted = class_codes(
            estimator,
            np.asarray(estimator.predict(X)),
            name="The attacked model's predict",
        )
        if predicted.shape != truth.shape:
            raise ValueError(
                f"The attacked model's predict returned {predicted.shape[0]} labels "
                f"for {truth.shape[0]} rows of X."
            )
        return (predicted == truth).astype(np.float64)


class ShadowModelMembershipAttack(BaseMembershipAttack):
    """ML-Leaks (Salem et al. 2019): a shadow model teaches the attack classifier.

    ``fit`` stores the attacker's labelled data (disjoint from the target's
    training set). Against each queried estimator, a shadow model is trained
    on a random half of it (the shadow's members; the other half are its
    non-members) and an attack classifier learns member vs non-member from the
    shadow's sorted top-``k`` confidences; it is then applied to the target's
    sorted top-``k`` confidences. The trained pair is cached per fitted
    estimator.

    By default the shadow model is a clone of the queried estimator (the
    paper's strongest attacker, who knows the architecture): cloning a
    :class:`~skmid.postprocessing.DefendedClassifier` reproduces the defense
    too, which is the adaptive "Mlleaks-a" attacker (a ``cv="prefit"`` one is
    copied with ``cv=None``, so that the shadow copy fits its classifier and
    its defense on the shadow rows).

    Parameters
    ----------
    shadow_estimator : classifier, default=None
        Shadow model; None clones the queried estimator.
    attack_estimator : classifier, default=None
        Member classifier on the top-k confidences; None is an
        ``MLPClassifier`` with one hidden layer of 128 units.
    top_k : int, default=3
        Number of largest confidences used (ML-Leaks uses 3).
    random_state : int, RandomState instance or None, default=None
        Seeds the half split, the shadow model and the attack classifier
        (where they take a ``random_state`` left at None); an integer seed
        leaves NumPy's and torch's global random state alone.

    Attributes
    ----------
    X_shadow_, y_shadow_ : ndarray
        The attacker's labelled data.
    n_classes_ : int
        Number of classes in ``y_shadow_``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from skmid.attacks import ShadowModelMembershipAttack
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(800, 20))
    >>> y = (X[:, 0] + rng.normal(size=800) > 0).astype(int)
    >>> target = RandomForestClassifier(50, random_state=0).fit(X[:200], y[:200])
    >>> attack = ShadowModelMembershipAttack(top_k=2, random_state=0)
    >>> attack = attack.fit(X[400:], y[400:])
    >>> member = np.arange(400) < 200
    >>> bool(attack.score(target, X[:400], y[:400], member) > 0.6)
    True
    """

    _needs_y = False  # ML-Leaks reads the confidences only

    _parameter_constraints = {
        "shadow_estimator": [HasMethods(["fit", "predict_proba"]), None],
        "attack_estimator": [HasMethods(["fit", "predict_proba"]), None],
        "top_k": [Interval(numbers.Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        shadow_estimator=None,
        attack_estimator=None,
        *,
        top_k=3,
        random_state=None,
    ):
        self.shadow_estimator = shadow_estimator
        self.attack_estimator = attack_estimator
        self.top_k = top_k
        self.random_state = random_state

    def fit(self, X_shadow, y_shadow):
        """Store the attacker's labelled data.

        Parameters
        ----------
        X_shadow : array-like of shape (n_samples, n_features)
        y_shadow : array-like of shape (n_samples,)

        Returns
        -------
        self : object
        """
        self._validate_params()
        y_shadow = _check_rows_and_labels(X_shadow, y_shadow, "X_shadow", "y_shadow")
        if len(y_shadow) < 4:
            raise ValueError(f"X_shadow needs at least 4 rows; got {len(y_shadow)}.")
        self.n_classes_ = len(np.unique(y_shadow))
        self._check_top_k(self.n_classes_)
        self.X_shadow_ = X_shadow
        self.y_shadow_ = y_shadow
        self._cache = PerEstimatorCache()
        return self

    def _check_top_k(self, n_classes):
        if self.top_k > n_classes:
            raise ValueError(
                f"top_k={self.top_k} is larger than the number of classes "
                f"({n_classes})."
            )

    def _attack_classifier(self, estimator):
        self._check_fitted()
        return self._trained_against(estimator, self.X_shadow_, self._train_attack)

    def _train_attack(self, estimator):
        self._check_top_k(len(fitted_classes(estimator)))
        rng = check_random_state(self.random_state)
        order = rng.permutation(len(self.y_shadow_))
        half = len(order) // 2
        inside = order[:half]
        shadow = clone(
            estimator if self.shadow_estimator is None else self.shadow_estimator
        )
        if shadow.get_params().get("cv") == "prefit":
            # A prefit DefendedClassifier cannot be refitted as is: the shadow
            # copy fits its classifier and its defense on the shadow rows.
            shadow.set_params(cv=None)
        seed_unset_random_states(shadow, rng)
        shadow.fit(_take(self.X_shadow_, inside), self.y_shadow_[inside])
        shadow_proba = _query_proba(shadow, self.X_shadow_)
        if shadow_proba.shape[1] < self.top_k:
            raise ValueError(
                f"top_k={self.top_k} but the shadow model, fitted on half of "
                f"y_shadow, outputs only {shadow_proba.shape[1]} confidences; "
                "lower top_k or give more varied shadow data."
            )
        features = sorted_top_k(shadow_proba, self.top_k)
        labels = np.zeros(len(order), dtype=int)
        labels[inside] = 1
        classifier = (
            MLPClassifier((128,), max_iter=1000)
            if self.attack_estimator is None
            else clone(self.attack_estimator)
        )
        seed_unset_random_states(classifier, rng)
        classifier.fit(features, labels)
        return classifier

    def decision_function(self, estimator, X, y=None):
        """Member probability of each row from the target's top-k confidences.

        Parameters
        ----------
        estimator : fitted classifier with ``predict_proba``
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), default=None
            Not used (ML-Leaks needs no labels); if given, one finite label
            per row.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        if y is not None:
            _check_rows_and_labels(X, y)
        classifier = self._attack_classifier(estimator)
        features = sorted_top_k(_query_proba(estimator, X), self.top_k)
        return check_finite_output(
            np.asarray(classifier.predict_proba(features), dtype=np.float64)[:, 1],
            source="The attack classifier's predict_proba",
        )


class KnownMembersMembershipAttack(BaseMembershipAttack):
    """The NSH attack (Nasr, Shokri and Houmansadr 2018): learn from known members.

    The attacker knows some members and non-members of the target's training
    set. Against each queried estimator it collects the target's confidence
    vectors on them and trains an attack network with two branches, one on
    the confidence vector (sizes ``[K, 1024, 512, 64]``) and one on the
    one-hot true label (``[K, 512, 64]``), joined by a head that outputs the
    member probability (Appendix B of the purification paper), trained
    through skorch's ``NeuralNet``. Every training batch holds as many members
    as non-members. Cached per fitted estimator.
    Requires the ``nn`` extra (torch).

    With ``align_to_label=True`` (the default) the confidence branch sees the
    vector reordered: the true label's confidence first, then the others in
    decreasing order. The branch then computes the same function for every
    class, which the few known rows of a many-class task cannot otherwise
    teach it (on the 40-class Olivetti faces, 60 known members leave the
    unaligned attack at chance); ``False`` feeds the raw vector, as in the
    original attack.

    ``score_members`` (what a membership scorer calls in a grid search) takes
    the known rows from the fold itself: half of the balanced members and
    non-members are known, and the attack is scored on the rest. ``fit``'s
    rows are not used there, so a scorer can use the attack unfitted.

    Parameters
    ----------
    align_to_label : bool, default=True
        Reorder the confidence vector around the true label (see above).
    max_epochs : int, default=100
        Epochs (each as many balanced batches as the known rows fill).
    batch_size : int, default=64
        Rows per balanced batch (at most the number of known rows).
    lr : float, default=1e-3
        Adam learning rate (skorch's name); a training that diverges (its loss
        NaN or infinite) raises a ValueError.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation and batches; an integer seed leaves NumPy's and
        torch's global random state alone.
    device : str, default="cpu"
        Torch device.

    Attributes
    ----------
    X_known_, y_known_, member_known_ : ndarray
        The known rows, their labels and membership.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from skmid.attacks import KnownMembersMembershipAttack
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(600, 20))
    >>> y = (X[:, 0] + rng.normal(size=600) > 0).astype(int)
    >>> target = RandomForestClassifier(50, random_state=0).fit(X[:300], y[:300])
    >>> member = np.arange(600) < 300
    >>> known = np.r_[0:150, 300:450]
    >>> attack = KnownMembersMembershipAttack(max_epochs=20, random_state=0)
    >>> attack = attack.fit(X[known], y[known], member[known])
    >>> rest = np.r_[150:300, 450:600]
    >>> bool(attack.score(target, X[rest], y[rest], member[rest]) > 0.6)
    True
    """

    _parameter_constraints = {
        "max_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 2, None, closed="left")],
        "lr": [Interval(numbers.Real, 0, MAX_LEARNING_RATE, closed="neither")],
        "random_state": ["random_state"],
        "device": [str],
        "align_to_label": ["boolean"],
    }

    def __init__(
        self,
        *,
        align_to_label=True,
        max_epochs=100,
        batch_size=64,
        lr=1e-3,
        random_state=None,
        device="cpu",
    ):
        self.align_to_label = align_to_label
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.random_state = random_state
        self.device = device

    def fit(self, X, y, member):
        """Store the known rows, their labels and their membership.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        member : array-like of shape (n_samples,), bool

        Returns
        -------
        self : object
        """
        self._validate_params()
        y = _check_rows_and_labels(X, y)
        self.member_known_ = check_membership(member, len(y))
        self.X_known_ = X
        self.y_known_ = y
        self._cache = PerEstimatorCache()
        return self

    def _network(self, estimator):
        self._check_fitted()
        return self._trained_against(estimator, self.X_known_, self._train_network)

    def _train_network(self, estimator):
        one_hot = self._one_hot(estimator, self.y_known_)
        P = self._confidence_input(_query_proba(estimator, self.X_known_), one_hot)
        return self._train(P, one_hot, self.member_known_)

    def _confidence_input(self, P, one_hot):
        if not self.align_to_label:
            return P
        # The true label's confidence first, then the others in decreasing order.
        true = (P * one_hot).sum(axis=1, keepdims=True)
        others = -np.sort(-np.where(one_hot > 0, -np.inf, P), axis=1)[:, :-1]
        return np.hstack([true, others])

    @staticmethod
    def _one_hot(estimator, y):
        codes = class_codes(estimator, y)
        return np.eye(len(fitted_classes(estimator)))[codes]

    def _train(self, P, labels, member):
        from ..utils._torch import (
            ConfidenceLabelNetwork,
            build_network,
            resolve_device,
            torch,
            torch_generator,
        )
        from ._skorch import BalancedBatches, train_with_skorch

        device = resolve_device(self.device)
        generator, seed = torch_generator(self.random_state)
        n_classes = P.shape[1]
        # The network outputs logits: the loss on logits is stable, and a
        # diverging training gives a NaN loss (reported) rather than a sigmoid
        # output that binary_cross_entropy refuses with a RuntimeError.
        network = build_network(lambda: ConfidenceLabelNetwork(n_classes), seed, device)
        inputs = {
            "confidences": P.astype(np.float32),
            "one_hot": labels.astype(np.float32),
        }
        network = train_with_skorch(
            network,
            inputs,
            member.astype(np.float32),
            attack=self,
            criterion=torch.nn.BCEWithLogitsLoss,
            generator=generator,
            device=device,
            batches=BalancedBatches,
        ).module_
        network.eval()
        return network

    def decision_function(self, estimator, X, y=None):
        """Member probability of each row from the target's output and its label.

        Parameters
        ----------
        estimator : fitted classifier with ``predict_proba``
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            The rows' true labels (required).

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        from ..utils._torch import as_tensor, resolve_device, torch

        self._check_y_given(y, "decision_function")
        network = self._network(estimator)
        y = _check_rows_and_labels(X, y)
        device = resolve_device(self.device)
        one_hot = self._one_hot(estimator, y)
        P = self._confidence_input(_query_proba(estimator, X), one_hot)
        with torch.no_grad():
            output = torch.sigmoid(
                network(as_tensor(P, device), as_tensor(one_hot, device))
            )
        return check_finite_output(
            output.cpu().numpy().astype(np.float64),
            source="KnownMembersMembershipAttack's attack network",
            remedy=f"lower lr (got {self.lr:g})",
        )

    def _score_balanced(self, estimator, X, y, member, metric):
        # In a grid search the attacker's known rows come from the fold itself:
        # half of the balanced members and non-members are known, and the
        # attack is scored on the rest; fit's rows are not used.
        rng = np.random.RandomState(self._sampling_seed())
        known = np.zeros(len(y), dtype=bool)
        n = len(y) // 2
        known[rng.choice(n, n // 2, replace=False)] = True
        known[n + rng.choice(n, n // 2, replace=False)] = True
        fold_attack = clone(self).fit(
            _take(X, np.flatnonzero(known)), y[known], member[known]
        )
        rest = np.flatnonzero(~known)
        return fold_attack.score(
            estimator, _take(X, rest), y[rest], member[rest], metric=metric
        )

    def _population_attack(self, X, y):
        # score_members learns from the fold's own known rows: nothing to fit.
        return clone(self)
