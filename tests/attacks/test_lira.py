"""LiRA and RMIA: known answers on a model whose confidences are set, the cache,
reproducibility, errors, and the end-to-end claim on digits."""

import pickle

import numpy as np
import pytest
from scipy.special import expit
from scipy.stats import norm
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression, Perceptron

from skmid.attacks import (
    LiRAMembershipAttack,
    RMIAMembershipAttack,
    ShadowModelMembershipAttack,
)
from skmid.metrics import tpr_at_fpr

DELTA = 2.0  # how much training on a row raises its logit confidence


class SetConfidence(ClassifierMixin, BaseEstimator):
    """A classifier whose logit confidence in class 1 is set by the test.

    Row ``i`` (``X[i, 0] == i``) gets logit ``X[i, 1] + DELTA * trained +
    noise_i``, the noise drawn from ``random_state``: the IN and OUT logits
    of the attacks' reference models are then known.
    """

    n_fits = 0

    def __init__(self, noise=0.5, random_state=None):
        self.noise = noise
        self.random_state = random_state

    def fit(self, X, y):
        type(self).n_fits += 1
        X = np.asarray(X)
        self.classes_ = np.array([0, 1])  # predict_proba has both columns
        self.trained_ids_ = set(X[:, 0].astype(int).tolist())
        rng = np.random.RandomState(self.random_state)
        self.noise_ = rng.normal(scale=self.noise, size=1000)
        return self

    def logit_(self, X):
        X = np.asarray(X)
        ids = X[:, 0].astype(int)
        trained = np.array([i in self.trained_ids_ for i in ids])
        return X[:, 1] + DELTA * trained + self.noise_[ids]

    def predict_proba(self, X):
        logit_ = self.logit_(X)
        return np.column_stack([expit(-logit_), expit(logit_)])

    def predict(self, X):
        return self.classes_[(self.predict_proba(X)[:, 1] > 0.5).astype(int)]


@pytest.fixture
def toy():
    """Population rows 0-99, scored rows 100-159 (100-129 members); labels 1."""
    rng = np.random.RandomState(0)
    ids = np.arange(160)
    X = np.column_stack([ids, rng.normal(size=160)]).astype(float)
    y = np.ones(160, dtype=int)
    y[:10] = 0  # so that every model has two classes
    # random_state None, so that the shadows (clones) draw their own noise
    target = SetConfidence().fit(X[100:130], y[100:130])
    target.noise_ = np.random.RandomState(123).normal(scale=0.5, size=1000)
    member = np.arange(60) < 30
    return X[:100], y[:100], X[100:], y[100:], member, target


def _reference_phis(attack, target, X, y):
    """Each shadow's logit on the scored rows and whether it trained on them."""
    trained = attack._reference_models(target, X, y)
    ids = X[:, 0].astype(int)
    phi = np.array([model.logit_(X) for model in trained["models"]])
    inside = np.array(
        [[i in model.trained_ids_ for i in ids] for model in trained["models"]]
    )
    return phi, inside


def test_online_known_answer(toy):
    X_pop, y_pop, X, y, member, target = toy
    attack = LiRAMembershipAttack(8, random_state=0).fit(X_pop, y_pop)
    scores = attack.decision_function(target, X, y)
    phi, inside = _reference_phis(attack, target, X, y)
    # online: every scored row is IN exactly half of the shadows
    np.testing.assert_array_equal(inside.sum(axis=0), 4)
    expected = []
    for j in range(len(y)):
        phi_in, phi_out = phi[inside[:, j], j], phi[~inside[:, j], j]
        observed = target.logit_(X[j : j + 1])[0]
        expected.append(
            norm.logpdf(observed, phi_in.mean(), phi_in.std())
            - norm.logpdf(observed, phi_out.mean(), phi_out.std())
        )
    np.testing.assert_allclose(scores, expected, rtol=1e-6, atol=1e-6)
    # the member posterior of the two Gaussians
    np.testing.assert_allclose(
        attack.infer_proba(target, X, y)[:, 1], expit(scores), rtol=1e-12
    )
    assert attack.score(target, X, y, member, metric="roc_auc") > 0.9


def test_offline_known_answer_and_fix_variance(toy):
    X_pop, y_pop, X, y, member, target = toy
    attack = LiRAMembershipAttack(6, mode="offline", random_state=0)
    attack.fit(X_pop, y_pop)
    scores = attack.decision_function(target, X, y)
    phi, inside = _reference_phis(attack, target, X, y)
    assert not inside.any()  # offline shadows never see the scored rows
    observed = target.logit_(X)
    np.testing.assert_allclose(
        scores, (observed - phi.mean(axis=0)) / phi.std(axis=0), rtol=1e-6
    )
    np.testing.assert_allclose(
        attack.infer_proba(target, X, y)[:, 1], norm.cdf(scores), rtol=1e-9
    )
    attack.set_params(fix_variance=True)
    np.testing.assert_allclose(
        attack.decision_function(target, X, y),
        (observed - phi.mean(axis=0)) / phi.std(),
        rtol=1e-6,
    )


def test_online_fix_variance_uses_global_spreads(toy):
    X_pop, y_pop, X, y, member, target = toy
    attack = LiRAMembershipAttack(2, fix_variance=True, random_state=0)
    scores = attack.fit(X_pop, y_pop).decision_function(target, X, y)
    phi, inside = _reference_phis(attack, target, X, y)
    std_in, std_out = phi[inside].std(), phi[~inside].std()
    observed = target.logit_(X)
    mean_in = (phi * inside).sum(axis=0)  # one IN and one OUT shadow per row
    mean_out = (phi * ~inside).sum(axis=0)
    expected = norm.logpdf(observed, mean_in, std_in) - norm.logpdf(
        observed, mean_out, std_out
    )
    np.testing.assert_allclose(scores, expected, rtol=1e-6, atol=1e-6)


def test_logit_scaling_is_stable_at_certain_confidences(toy):
    from skmid.attacks._lira import _label_probabilities, _logit_confidence

    X_pop, y_pop, X, y, member, target = toy
    # p near 1 - 1e-7: the other class's total keeps its digits
    X_certain = X.copy()
    X_certain[:, 1] = 14.0
    label, others = _label_probabilities(target, X_certain, y, "t", target=True)
    np.testing.assert_allclose(
        _logit_confidence(label, others), target.logit_(X_certain), atol=1e-3
    )
    # confidences of exactly 1 and 0 (a forest's) stay finite: log(1e12)
    phi = _logit_confidence(np.array([1.0, 0.0]), np.array([0.0, 1.0]))
    np.testing.assert_allclose(phi, [12 * np.log(10), -12 * np.log(10)], rtol=1e-9)
    attack = LiRAMembershipAttack(4, random_state=0).fit(X_pop, y_pop)
    X_certain[:, 1] = 800.0  # predict_proba gives exactly 1 and 0
    assert np.isfinite(attack.decision_function(target, X_certain, y)).all()


def test_reproducible_and_seed_dependent(toy):
    X_pop, y_pop, X, y, member, target = toy

    def scores(seed):
        attack = LiRAMembershipAttack(4, random_state=seed).fit(X_pop, y_pop)
        return attack.decision_function(target, X, y)

    np.testing.assert_array_equal(scores(0), scores(0))
    assert not np.array_equal(scores(0), scores(1))


def test_shadows_cached_per_estimator_and_data(toy):
    X_pop, y_pop, X, y, member, target = toy
    attack = LiRAMembershipAttack(4, random_state=0).fit(X_pop, y_pop)
    SetConfidence.n_fits = 0
    for metric in ("roc_auc", "tpr_at_1pct_fpr", "tpr_at_0.1pct_fpr", "accuracy"):
        attack.score(target, X, y, member, metric=metric)
    assert SetConfidence.n_fits == 4
    attack.set_params(fix_variance=True)  # does not change the shadows
    attack.decision_function(target, X, y)
    assert SetConfidence.n_fits == 4
    attack.decision_function(target, X[:50], y[:50])  # online: other scored rows
    assert SetConfidence.n_fits == 8
    target.fit(X[:30], y[:30])  # refitted in place: other outputs
    SetConfidence.n_fits = 0
    attack.decision_function(target, X[:50], y[:50])
    assert SetConfidence.n_fits == 4
    # a pickled copy of the attack finds the models trained for the original
    restored = pickle.loads(pickle.dumps(attack))
    restored.decision_function(target, X[:50], y[:50])
    assert SetConfidence.n_fits == 4
    # another seed is another recipe
    attack.set_params(random_state=1).decision_function(target, X[:50], y[:50])
    assert SetConfidence.n_fits == 8


def test_offline_lira_and_rmia_share_their_models(toy):
    X_pop, y_pop, X, y, member, target = toy
    lira = LiRAMembershipAttack(4, mode="offline", fix_variance=True, random_state=0)
    rmia = RMIAMembershipAttack(4, random_state=0)
    SetConfidence.n_fits = 0
    lira.fit(X_pop, y_pop).decision_function(target, X, y)
    rmia.fit(X_pop, y_pop).decision_function(target, X, y)
    assert SetConfidence.n_fits == 4
    assert lira._reference_models(target, X, y) is rmia._reference_models(target, X, y)
    # As many models but another seed, or another count: trained anew.
    RMIAMembershipAttack(4, random_state=1).fit(X_pop, y_pop).decision_function(
        target, X, y
    )
    RMIAMembershipAttack(2, random_state=0).fit(X_pop, y_pop).decision_function(
        target, X, y
    )
    assert SetConfidence.n_fits == 10


def test_scored_rows_in_the_population_count_as_out_only_where_unseen(toy):
    X_pop, y_pop, X, y, member, target = toy
    X_all, y_all = np.vstack([X_pop, X]), np.r_[y_pop, y]
    attack = LiRAMembershipAttack(4, mode="offline", random_state=0)
    attack.fit(X_all, y_all)  # the population holds the scored rows
    trained = attack._reference_models(target, X, y)
    inside = attack._membership_in(trained, X, y)
    np.testing.assert_array_equal(inside.sum(axis=0), 2)
    phi, seen = _reference_phis(attack, target, X, y)
    np.testing.assert_array_equal(inside, seen)
    assert np.isfinite(attack.decision_function(target, X, y)).all()


def test_errors(toy):
    X_pop, y_pop, X, y, member, target = toy
    attack = LiRAMembershipAttack(4, random_state=0).fit(X_pop, y_pop)
    perceptron = Perceptron().fit(X_pop, y_pop)
    with pytest.raises(ValueError, match="predict_proba"):
        attack.decision_function(perceptron, X, y)
    with pytest.raises(ValueError, match="needs y"):
        attack.decision_function(target, X)
    with pytest.raises(ValueError, match="never saw"):
        attack.decision_function(target, X, np.full(len(y), 5))
    few = LiRAMembershipAttack(2, random_state=0).fit(X_pop, y_pop)
    with pytest.raises(ValueError, match="fix_variance=True"):
        few.decision_function(target, X, y)
    with pytest.raises(ValueError, match="n_shadow"):
        LiRAMembershipAttack(1).fit(X_pop, y_pop)
    with pytest.raises(ValueError, match="mode"):
        LiRAMembershipAttack(mode="both").fit(X_pop, y_pop)
    with pytest.raises(ValueError, match="at least 4 rows"):
        LiRAMembershipAttack().fit(X_pop[:3], y_pop[:3])


def _rmia_reference(attack, target, X, y):
    """RMIA's score by its definition: the pairwise ratios, all pairs."""
    a, gamma = attack.offline_a, attack.gamma
    trained = attack._reference_models(target, X, y)
    z = attack._z_rows
    X_z, y_z = attack.X_population_[z], attack.y_population_[z]

    def pr(model, rows, labels):
        P = model.predict_proba(rows)
        return P[np.arange(len(labels)), np.searchsorted(model.classes_, labels)]

    def pr_marginal(rows, labels):
        # Pr(.)_OUT: the models that did not train on the row.
        out = []
        for i, row in enumerate(rows):
            seen = [int(row[0]) in m.trained_ids_ for m in trained["models"]]
            values = [
                pr(m, row[None], labels[i : i + 1])[0]
                for m, s in zip(trained["models"], seen, strict=True)
                if not s
            ]
            out.append(np.mean(values))
        return (1 + a) / 2 * np.array(out) + (1 - a) / 2

    ratio_x = pr(target, X, y) / pr_marginal(X, y)
    ratio_z = pr(target, X_z, y_z) / pr_marginal(X_z, y_z)
    return ((ratio_x[:, None] / ratio_z[None, :]) >= gamma).mean(axis=1)


@pytest.mark.parametrize("offline_a, gamma", [(0.3, 1.0), (0.0, 2.0), (1.0, 0.5)])
def test_rmia_known_answer(toy, offline_a, gamma):
    X_pop, y_pop, X, y, member, target = toy
    attack = RMIAMembershipAttack(
        3, offline_a=offline_a, gamma=gamma, n_population_z=30, random_state=0
    ).fit(X_pop, y_pop)
    scores = attack.decision_function(target, X, y)
    np.testing.assert_allclose(scores, _rmia_reference(attack, target, X, y))
    assert ((scores >= 0) & (scores <= 1)).all()
    assert len(attack._z_rows) == 30


def test_rmia_z_train_half_the_models_and_members_stand_out(toy):
    X_pop, y_pop, X, y, member, target = toy
    attack = RMIAMembershipAttack(2, random_state=0).fit(X_pop, y_pop)
    trained = attack._reference_models(target, X, y)
    z_ids = set(X_pop[attack._z_rows, 0].astype(int).tolist())
    assert len(z_ids) == 20  # 0.2 of the 100 population rows
    # Each z trained exactly one of the two models: the other gives Pr(z)_OUT.
    seen = [len(z_ids & model.trained_ids_) for model in trained["models"]]
    assert sum(seen) == 20
    assert attack.score(target, X, y, member, metric="roc_auc") > 0.9
    with pytest.raises(ValueError, match="n_population_z"):
        RMIAMembershipAttack(n_population_z=101).fit(X_pop, y_pop)


@pytest.mark.slow
def test_lira_beats_ml_leaks_on_an_overfit_forest_on_digits():
    from sklearn.datasets import load_digits
    from sklearn.ensemble import RandomForestClassifier

    X, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    train, out, rest = order[:600], order[600:1200], order[1200:]
    population = np.r_[out, rest]
    rows = np.r_[train, out]
    member = np.r_[np.ones(600, bool), np.zeros(600, bool)]
    target = RandomForestClassifier(50, random_state=0).fit(X[train], y[train])
    lira = LiRAMembershipAttack(16, random_state=0).fit(X[population], y[population])
    ml_leaks = ShadowModelMembershipAttack(random_state=0)
    ml_leaks.fit(X[population], y[population])
    lira_tpr = tpr_at_fpr(member, lira.decision_function(target, X[rows], y[rows]))
    ml_leaks_tpr = tpr_at_fpr(
        member, ml_leaks.decision_function(target, X[rows], y[rows])
    )
    assert lira_tpr > 2 * ml_leaks_tpr
    assert lira_tpr > 0.1  # ten times the false-positive rate


def test_lira_on_a_logistic_regression_runs_with_its_default_settings():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 4))
    y = (X[:, 0] > 0).astype(int)
    target = LogisticRegression().fit(X[:60], y[:60])
    attack = LiRAMembershipAttack(random_state=0).fit(X[120:], y[120:])
    member = np.arange(120) < 60
    auc = attack.score(target, X[:120], y[:120], member, metric="roc_auc")
    assert 0.0 <= auc <= 1.0
