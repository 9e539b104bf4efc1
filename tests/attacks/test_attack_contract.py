"""The one attack contract: abstract base, one score signature, scorers."""

import math

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.tree import DecisionTreeClassifier

from skmid.attacks import (
    AttackScorer,
    BaseAttack,
    BaseMembershipAttack,
    InversionModelAttack,
    KnownMembersMembershipAttack,
    LabelOnlyMembershipAttack,
    MAPAttributeInference,
    ShadowModelMembershipAttack,
    TrainingRowsRecorder,
    make_attack_scorer,
)
from skmid.datasets import make_sensitive_regression
from skmid.linear_model import MIDLinearRegression


@pytest.fixture(scope="module")
def regression():
    data = make_sensitive_regression(
        n_samples=300, sensitive_effect=3, noise=0.5, random_state=0
    )
    model = LinearRegression().fit(data.data, data.target)
    return data, model


@pytest.fixture(scope="module")
def classification():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 5))
    y = (X[:, 0] + rng.normal(size=400) > 0).astype(int)
    tree = DecisionTreeClassifier(random_state=0).fit(X[:100], y[:100])
    return X, y, tree


@pytest.mark.parametrize("base", [BaseAttack, BaseMembershipAttack])
def test_the_base_classes_are_abstract(base):
    with pytest.raises(TypeError, match="abstract"):
        base()


def test_attribute_score_refuses_member_and_a_positional_metric(regression):
    data, model = regression
    attack = MAPAttributeInference(data.sensitive_features).fit(data.data, data.target)
    member = np.arange(len(data.target)) % 2 == 0
    with pytest.raises(ValueError, match="member has no meaning"):
        attack.score(model, data.data, data.target, member)
    with pytest.raises(ValueError, match="metric is keyword-only"):
        attack.score(model, data.data, data.target, "advantage")
    with pytest.raises(ValueError, match=r"score needs y"):
        attack.score(model, data.data)
    with pytest.raises(ValueError, match=r"infer needs y"):
        attack.infer(model, data.data)
    assert attack.score(model, data.data, data.target) == attack.score(
        model, data.data, data.target, metric="accuracy"
    )


def test_membership_score_needs_member(classification):
    X, y, tree = classification
    with pytest.raises(ValueError, match="score needs member"):
        LabelOnlyMembershipAttack().score(tree, X[:200], y[:200])
    with pytest.raises(ValueError, match="decision_function needs y"):
        LabelOnlyMembershipAttack().decision_function(tree, X[:200])


def test_reconstruction_score_refuses_member():
    attack = InversionModelAttack()
    with pytest.raises(ValueError, match="member has no meaning"):
        attack.score(None, np.zeros((4, 2)), None, [True, False, True, False])


def test_declared_kinds_and_orientation():
    assert MAPAttributeInference.kind == "attribute"
    assert InversionModelAttack.kind == "reconstruction"
    assert LabelOnlyMembershipAttack.kind == "membership"
    assert InversionModelAttack.higher_is_more_leakage() is False
    assert InversionModelAttack.metric_range("mse") == (0.0, math.inf)
    assert MAPAttributeInference.higher_is_more_leakage("advantage") is True
    assert MAPAttributeInference.metric_range("advantage") == (-1.0, 1.0)
    assert ShadowModelMembershipAttack.default_metric == "accuracy"
    with pytest.raises(ValueError, match="metric must be one of"):
        InversionModelAttack.higher_is_more_leakage("accuracy")


def test_label_only_answers_without_fit(classification):
    X, y, tree = classification
    attack = LabelOnlyMembershipAttack()
    assert attack.__sklearn_tags__().requires_fit is False
    member = np.arange(200) < 100
    unfitted = attack.score(tree, X[:200], y[:200], member)
    assert attack.fit() is attack
    assert attack.fit(X, y) is attack
    assert attack.score(tree, X[:200], y[:200], member) == unfitted
    # The tree memorised its training rows: members score higher.
    scores = attack.decision_function(tree, X[:200], y[:200])
    assert scores[member].mean() == 1.0 > scores[~member].mean()
    proba = attack.infer_proba(tree, X[:200], y[:200])
    np.testing.assert_array_equal(proba, np.c_[1 - scores, scores])


def test_grid_search_with_an_unfitted_attack_gives_finite_scores():
    data = make_sensitive_regression(
        n_samples=300, sensitive_effect=2.0, noise=0.5, random_state=0
    )
    attack = MAPAttributeInference(sensitive_feature=data.sensitive_features)
    unfitted = GridSearchCV(
        MIDLinearRegression(),
        {"lam": [0, 10]},
        scoring={"attack": make_attack_scorer(attack)},
        refit=False,
        cv=3,
    ).fit(data.data, data.target)
    scores = unfitted.cv_results_["mean_test_attack"]
    assert np.all(np.isfinite(scores))
    assert scores[0] > 0.8  # lam=0 leaks the sensitive value
    # Today's way, a fitted attack, still works and is not refitted.
    fitted = clone(attack).fit(data.data, data.target)
    search = GridSearchCV(
        MIDLinearRegression(),
        {"lam": [0, 10]},
        scoring={"attack": make_attack_scorer(fitted)},
        refit=False,
        cv=3,
    ).fit(data.data, data.target)
    assert np.all(np.isfinite(search.cv_results_["mean_test_attack"]))


def test_grid_search_with_sample_weight_does_not_weigh_the_attack(regression):
    # Without metadata routing, GridSearchCV hands sample_weight to every
    # scorer that accepts it; the attack scorer declines and scores rows.
    data, _ = regression
    attack = MAPAttributeInference(data.sensitive_features).fit(data.data, data.target)
    weights = np.random.RandomState(0).randint(1, 4, len(data.target))
    scoring = {"attack": make_attack_scorer(attack), "mse": "neg_mean_squared_error"}
    results = [
        GridSearchCV(
            MIDLinearRegression(), {"lam": [0, 10]}, scoring=scoring, refit=False, cv=3
        )
        .fit(data.data, data.target, **params)
        .cv_results_
        for params in ({}, {"sample_weight": weights})
    ]
    assert np.all(np.isfinite(results[1]["mean_test_attack"]))
    # The weights change the fitted models, hence the utility.
    assert not np.allclose(results[0]["mean_test_mse"], results[1]["mean_test_mse"])


def test_an_unfitted_attack_is_fitted_on_the_scored_rows(regression):
    data, model = regression
    attack = MAPAttributeInference(data.sensitive_features)
    scorer = make_attack_scorer(attack, "advantage")
    rows = slice(0, 150)
    by_hand = (
        clone(attack)
        .fit(data.data[rows], data.target[rows])
        .score(model, data.data[rows], data.target[rows], metric="advantage")
    )
    assert scorer(model, data.data[rows], data.target[rows]) == by_hand
    # The scorer's attack stays unfitted: each call fits its own clone.
    assert not hasattr(attack, "values_")
    # A fitted attack is used as is, with the background it was fitted on.
    fitted = clone(attack).fit(data.data[150:], data.target[150:])
    expected = fitted.score(model, data.data[rows], data.target[rows])
    scored = make_attack_scorer(fitted)(model, data.data[rows], data.target[rows])
    assert scored == expected


def test_scorer_interface(regression):
    data, _ = regression
    scorer = AttackScorer(MAPAttributeInference(data.sensitive_features), None)
    assert (scorer.metric, scorer.kind) == ("accuracy", "attribute")
    assert scorer.higher_is_more_leakage is True
    assert scorer.needs_training_rows is False
    assert scorer.metric_range == (0.0, 1.0)
    inversion = make_attack_scorer(InversionModelAttack())
    assert (inversion.metric, inversion.kind) == ("mse", "reconstruction")
    assert inversion.higher_is_more_leakage is False
    assert inversion.metric_range == (0.0, math.inf)
    membership = make_attack_scorer(LabelOnlyMembershipAttack(), "advantage")
    assert membership.needs_training_rows is True
    assert membership.kind == "membership"
    assert membership.metric_range == (-1.0, 1.0)
    with pytest.raises(TypeError, match="no metadata"):
        scorer(LinearRegression(), data.data, data.target, sample_weight=None)
    with pytest.raises(TypeError, match="skmid attack"):
        AttackScorer(LinearRegression(), "accuracy")


def test_membership_scorer_with_unfitted_attacks(classification):
    X, y, _ = classification
    forest = RandomForestClassifier(30, random_state=0)
    recorder = TrainingRowsRecorder(forest).fit(X[:100], y[:100])
    shadow = ShadowModelMembershipAttack(top_k=2, random_state=0)
    scorer = make_attack_scorer(shadow, "accuracy")
    score = scorer(recorder, X[100:200], y[100:200])
    # The held-out rows are the attacker's population sample.
    by_hand = (
        clone(shadow)
        .fit(X[100:200], y[100:200])
        .score_members(recorder.estimator_, X[:100], y[:100], X[100:200], y[100:200])
    )
    assert score == by_hand
    assert score > 0.6  # the forest's confidences leak membership
    assert math.isnan(scorer(recorder, X[:100], y[:100]))
    label = make_attack_scorer(LabelOnlyMembershipAttack())
    assert label(recorder, X[100:200], y[100:200]) > 0.6


@pytest.mark.parametrize("fitted", [False, True])
def test_membership_scorer_with_known_members(classification, fitted):
    pytest.importorskip("torch")
    X, y, _ = classification
    recorder = TrainingRowsRecorder(LogisticRegression()).fit(X[:100], y[:100])
    attack = KnownMembersMembershipAttack(max_epochs=2, random_state=0)
    if fitted:
        member = np.arange(200) < 100
        attack.fit(X[:200], y[:200], member)
    score = make_attack_scorer(attack, "roc_auc")(recorder, X[100:200], y[100:200])
    assert 0.0 <= score <= 1.0
