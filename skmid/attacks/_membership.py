"""Membership inference: shadow models (ML-Leaks), known members (NSH), label only."""

import numbers

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
    check_training_loss,
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

    ``infer(estimator, X, y)`` guesses membership (bool), ``infer_proba`` gives
    member scores in [0, 1] and ``score(estimator, X, y, member, metric)``
    compares them with the true membership: ``"accuracy"``, ``"roc_auc"`` or
    ``"advantage"`` (true-positive minus false-positive rate); higher means
    more leakage for all three.

    In :func:`skmid.model_selection.privacy_utility_search`, a membership
    scorer attacks each candidate with the fold's training rows as members and
    its held-out rows as non-members, the larger group subsampled to the size
    of the smaller (``score_members``).
    """

    _metrics = MEMBERSHIP_METRICS
    needs_training_rows = True

    def infer(self, estimator, X, y):
        """Membership guesses: True for rows judged members.

        Parameters
        ----------
        estimator : fitted classifier
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            The rows' true labels.

        Returns
        -------
        guesses : ndarray of shape (n_samples,), dtype bool
        """
        return self.infer_proba(estimator, X, y) >= 0.5

    def score(self, estimator, X, y, member, metric="accuracy"):
        """Attack success against the true membership.

        Parameters
        ----------
        estimator : fitted classifier
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        member : array-like of shape (n_samples,), bool
            True for rows of the estimator's training set.
        metric : {"accuracy", "roc_auc", "advantage"}, default="accuracy"

        Returns
        -------
        score : float
        """
        metric_function, _ = self._check_metric(metric)
        member = check_membership(member, n_rows(X))
        proba = self.infer_proba(estimator, X, y)
        return metric_function(member, proba >= 0.5, proba)

    def score_members(
        self, estimator, X_members, y_members, X_others, y_others, *, metric="accuracy"
    ):
        """Score on balanced members and non-members (the larger set subsampled)."""
        X, y, member = _balanced(
            X_members, y_members, X_others, y_others, self._sampling_seed()
        )
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
    label can change. Needs no background data; ``fit`` only marks the attack
    ready.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from skmid.attacks import LabelOnlyMembershipAttack
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(200, 3)), rng.integers(0, 2, 200)
    >>> model = DecisionTreeClassifier(random_state=0).fit(X[:100], y[:100])
    >>> member = np.arange(200) < 100
    >>> attack = LabelOnlyMembershipAttack().fit()
    >>> accuracy = attack.score(model, X, y, member)
    >>> bool(accuracy == (1 + 1 - model.score(X[100:], y[100:])) / 2)
    True
    """

    def fit(self, X=None, y=None):
        """Nothing to learn; returns ``self``."""
        self.fitted_ = True
        return self

    def infer_proba(self, estimator, X, y):
        """1.0 where ``estimator`` predicts the true label, else 0.0.

        Labels of any type are compared as classes of ``estimator.classes_``:
        a label the classifier never saw is an error, not a wrong guess.
        """
        self._check_fitted()
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
            raise ValueError(
                f"X_shadow needs at least 4 rows; got {len(y_shadow)}."
            )
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

    def infer_proba(self, estimator, X, y=None):
        """Member probability of each row from the target's top-k confidences.

        ``y`` is not used (ML-Leaks needs no labels); it is accepted for the
        common API.
        """
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
    member probability (Appendix B of the purification paper). Every training
    batch holds as many members as non-members. Cached per fitted estimator.
    Requires the ``nn`` extra (torch).

    With ``align_to_label=True`` (the default) the confidence branch sees the
    vector reordered: the true label's confidence first, then the others in
    decreasing order. The branch then computes the same function for every
    class, which the few known rows of a many-class task cannot otherwise
    teach it (on the 40-class Olivetti faces, 60 known members leave the
    unaligned attack at chance); ``False`` feeds the raw vector, as in the
    original attack.

    Parameters
    ----------
    align_to_label : bool, default=True
        Reorder the confidence vector around the true label (see above).
    max_epochs : int, default=100
        Epochs (each as many balanced batches as the known rows fill).
    batch_size : int, default=64
        Rows per balanced batch (at most the number of known rows).
    learning_rate : float, default=1e-3
        Adam learning rate; a training that diverges (its loss NaN or
        infinite) raises a ValueError.
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
        "learning_rate": [
            Interval(numbers.Real, 0, MAX_LEARNING_RATE, closed="neither")
        ],
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
        learning_rate=1e-3,
        random_state=None,
        device="cpu",
    ):
        self.align_to_label = align_to_label
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
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
            as_tensor,
            build_network,
            nn,
            resolve_device,
            torch,
            torch_generator,
        )

        device = resolve_device(self.device)
        generator, seed = torch_generator(self.random_state)
        n_classes = P.shape[1]

        # The network outputs logits: the loss on logits is stable, and a
        # diverging training gives a NaN loss (reported) rather than a sigmoid
        # output that binary_cross_entropy refuses with a RuntimeError.
        network = build_network(lambda: ConfidenceLabelNetwork(n_classes), seed, device)
        optimizer = torch.optim.Adam(network.parameters(), lr=self.learning_rate)
        P_t, labels_t = as_tensor(P, device), as_tensor(labels, device)
        members = torch.as_tensor(np.flatnonzero(member), device=device)
        others = torch.as_tensor(np.flatnonzero(~member), device=device)
        # Batches are drawn with replacement; a batch larger than the known
        # rows would only repeat them (and a huge batch_size exhaust memory).
        batch_size = min(self.batch_size, len(member))
        half = batch_size // 2
        steps = -(-len(member) // batch_size)  # ceil
        target = torch.cat([torch.ones(half), torch.zeros(half)]).to(device)
        network.train()
        for _ in range(self.max_epochs):
            epoch_loss = torch.zeros((), device=device)
            for _ in range(steps):
                pick_in = torch.randint(len(members), (half,), generator=generator)
                pick_out = torch.randint(len(others), (half,), generator=generator)
                batch = torch.cat(
                    [members[pick_in.to(device)], others[pick_out.to(device)]]
                )
                optimizer.zero_grad()
                output = network(P_t[batch], labels_t[batch])
                loss = nn.functional.binary_cross_entropy_with_logits(output, target)
                loss.backward()
                optimizer.step()
                epoch_loss += loss.detach()
            check_training_loss(epoch_loss, self)
        network.eval()
        return network

    def infer_proba(self, estimator, X, y):
        """Member probability of each row from the target's output and its label."""
        from ..utils._torch import as_tensor, resolve_device, torch

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
            remedy=f"lower learning_rate (got {self.learning_rate:g})",
        )

    def score_members(
        self, estimator, X_members, y_members, X_others, y_others, *, metric="accuracy"
    ):
        """Train on half of the balanced rows, score on the other half.

        In a grid search the attacker's known rows come from the fold itself:
        half of the (balanced) members and non-members are known, and the
        attack is scored on the rest. ``fit``'s rows are not used here.
        """
        X, y, member = _balanced(
            X_members, y_members, X_others, y_others, self._sampling_seed()
        )
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
