import pickle

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from skmid.attacks import (
    KnownMembersMembershipAttack,
    LabelOnlyMembershipAttack,
    ShadowModelMembershipAttack,
    TrainingRowsRecorder,
    make_attack_scorer,
)
from skmid.metrics import membership_advantage
from skmid.model_selection import privacy_utility_search


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 20))
    y = (X[:, 0] + X[:, 1] + rng.normal(size=1000) > 0).astype(int)
    # target training rows 0-199, target non-members 200-399, attacker 400-999
    member = np.arange(400) < 200
    return X, y, member


def target_models(X, y):
    return {
        "overfitted": RandomForestClassifier(50, random_state=0).fit(X[:200], y[:200]),
        "regularised": LogisticRegression(C=1e-3).fit(X[:200], y[:200]),
        "constant": DummyClassifier(strategy="prior").fit(X[:200], y[:200]),
    }


def test_label_only_known_answer(data):
    X, y, member = data
    model = DecisionTreeClassifier(max_depth=4, random_state=0).fit(X[:200], y[:200])
    attack = LabelOnlyMembershipAttack()
    train_accuracy = model.score(X[:200], y[:200])
    test_accuracy = model.score(X[200:400], y[200:400])
    accuracy = attack.score(model, X[:400], y[:400], member)
    assert accuracy == pytest.approx(
        (train_accuracy + 1 - test_accuracy) / 2, abs=1e-12
    )
    advantage = attack.score(model, X[:400], y[:400], member, metric="advantage")
    assert advantage == pytest.approx(train_accuracy - test_accuracy)


@pytest.fixture(scope="module")
def scores(data):
    X, y, member = data
    attacks = {
        "shadow": ShadowModelMembershipAttack(top_k=2, random_state=0).fit(
            X[400:], y[400:]
        ),
        "known": None,
        "label": LabelOnlyMembershipAttack(),
    }
    known = np.r_[0:100, 200:300]
    rest = np.r_[100:200, 300:400]
    results = {}
    for name, model in target_models(X, y).items():
        attacks["known"] = KnownMembersMembershipAttack(
            max_epochs=30, random_state=0
        ).fit(X[known], y[known], member[known])
        for attack_name, attack in attacks.items():
            results[name, attack_name] = attack.score(
                model, X[rest], y[rest], member[rest]
            )
    return results


def test_overfitted_model_leaks_membership(scores):
    print(scores)
    assert scores["overfitted", "shadow"] > 0.65
    assert scores["overfitted", "known"] > 0.65
    assert scores["overfitted", "label"] > 0.6


def test_regularised_and_constant_models_fall_back_to_chance(scores):
    for model in ["regularised", "constant"]:
        for attack in ["shadow", "known", "label"]:
            assert abs(scores[model, attack] - 0.5) < 0.06, (model, attack)


def test_scores_are_consistent_and_reproducible(data):
    X, y, member = data
    model = target_models(X, y)["overfitted"]
    attack = ShadowModelMembershipAttack(top_k=2, random_state=0).fit(X[400:], y[400:])
    proba = attack.decision_function(model, X[:400], y[:400])
    guesses = attack.infer(model, X[:400], y[:400])
    np.testing.assert_array_equal(guesses, proba >= 0.5)
    np.testing.assert_array_equal(
        attack.infer_proba(model, X[:400], y[:400]), np.c_[1 - proba, proba]
    )
    assert attack.score(model, X[:400], y[:400], member, metric="advantage") == (
        membership_advantage(member, guesses)
    )
    again = ShadowModelMembershipAttack(top_k=2, random_state=0).fit(X[400:], y[400:])
    np.testing.assert_array_equal(
        again.decision_function(model, X[:400], y[:400]), proba
    )
    assert attack._attack_classifier(model) is attack._attack_classifier(model)
    restored = pickle.loads(pickle.dumps(attack))
    np.testing.assert_array_equal(
        restored.decision_function(model, X[:400], y[:400]), proba
    )
    known = KnownMembersMembershipAttack(max_epochs=3, random_state=0)
    other = KnownMembersMembershipAttack(max_epochs=3, random_state=0)
    rows = np.r_[0:50, 200:250]
    a = known.fit(X[rows], y[rows], member[rows]).infer_proba(model, X[:20], y[:20])
    b = other.fit(X[rows], y[rows], member[rows]).infer_proba(model, X[:20], y[:20])
    np.testing.assert_array_equal(a, b)


def test_bad_input(data):
    X, y, member = data
    model = target_models(X, y)["overfitted"]
    attack = LabelOnlyMembershipAttack()
    with pytest.raises(ValueError, match="member must be boolean"):
        attack.score(model, X[:4], y[:4], [0, 1, 2, 1])
    with pytest.raises(ValueError, match="both members and non-members"):
        attack.score(model, X[:4], y[:4], [True] * 4)
    with pytest.raises(ValueError, match="4 entries for 5 rows"):
        attack.score(model, X[:5], y[:5], [True, False, True, False])
    with pytest.raises(
        ValueError, match="top_k=3 is larger than the number of classes"
    ):
        ShadowModelMembershipAttack(top_k=3).fit(X[400:], y[400:])
    shadow = ShadowModelMembershipAttack(top_k=2).fit(X[400:], y[400:])
    with pytest.raises(ValueError, match="predict_proba"):
        shadow.decision_function(object(), X[:4])
    with pytest.raises(ValueError, match="inconsistent"):
        KnownMembersMembershipAttack().fit(X[:10], y[:9], member[:10])
    with pytest.raises(ValueError, match="TrainingRowsRecorder"):
        make_attack_scorer(attack, "accuracy")(model, X[:10], y[:10])


def test_membership_scorers_in_a_privacy_utility_search(data):
    X, y, _ = data
    search = privacy_utility_search(
        DecisionTreeClassifier(random_state=0),
        {"max_depth": [1, None]},
        utility="accuracy",
        attacks={
            "label": make_attack_scorer(LabelOnlyMembershipAttack(), "accuracy"),
            "shadow": make_attack_scorer(
                ShadowModelMembershipAttack(
                    RandomForestClassifier(20, random_state=0), top_k=2, random_state=0
                ).fit(X[400:], y[400:]),
                "accuracy",
            ),
        },
        cv=5,
        random_state=0,
    ).fit(X[:400], y[:400])
    assert search.params_ == [{"max_depth": 1}, {"max_depth": None}]
    # A fully grown tree classifies every member right: on balanced folds the
    # label-only accuracy is (1 + 1 - test accuracy) / 2, fold by fold.
    fold_accuracy = np.array(
        [search.cv_results_[f"split{k}_test_utility"][1] for k in range(5)]
    )
    fold_label = np.array(
        [search.cv_results_[f"split{k}_test_label"][1] for k in range(5)]
    )
    np.testing.assert_allclose(fold_label, (2 - fold_accuracy) / 2)
    assert np.all(np.isnan(search.attack_train_mean_["label"]))
    assert search.attack_mean_["label"][1] > search.attack_mean_["label"][0]


# -- labels, outputs and hyper-parameters (issue 15) --------------------------


def test_label_only_compares_labels_of_any_type_as_classes(data):
    X, y, member = data
    words = np.array(["no", "yes"])[y]
    as_ints = DecisionTreeClassifier(max_depth=4, random_state=0).fit(X[:200], y[:200])
    as_words = DecisionTreeClassifier(max_depth=4, random_state=0).fit(
        X[:200], words[:200]
    )
    attack = LabelOnlyMembershipAttack()
    expected = attack.score(as_ints, X[:400], y[:400], member, metric="advantage")
    assert expected > 0.1
    for labels in (words[:400], words[:400].astype(object), list(words[:400])):
        advantage = attack.score(as_words, X[:400], labels, member, metric="advantage")
        assert advantage == expected
    # Labels of another type than the classifier's classes are an error, not
    # a row of wrong guesses.
    with pytest.raises(ValueError, match=r"y holds labels .* never saw: \['0', '1'\]"):
        attack.score(as_ints, X[:400], y[:400].astype(str), member)


class NaNProbabilities(LogisticRegression):
    def predict_proba(self, X):
        return np.full((len(X), len(self.classes_)), np.nan)


def test_non_finite_confidences_of_the_attacked_model_are_an_error(data):
    X, y, member = data
    model = NaNProbabilities().fit(X[:200], y[:200])
    shadow_model = LogisticRegression()  # the shadow copy itself must train
    attacks = [
        ShadowModelMembershipAttack(shadow_model, top_k=2, random_state=0).fit(
            X[400:], y[400:]
        ),
        KnownMembersMembershipAttack(max_epochs=1, random_state=0).fit(
            X[:400], y[:400], member
        ),
    ]
    for attack in attacks:
        with pytest.raises(ValueError, match="predict_proba produced NaN"):
            attack.score(model, X[:400], y[:400], member)


@pytest.mark.parametrize("lr", [1e10, 1e30])
def test_a_diverging_training_names_lr(data, lr):
    X, y, member = data
    rows = np.r_[0:32, 200:232]
    attack = KnownMembersMembershipAttack(max_epochs=3, lr=lr, random_state=0).fit(
        X[rows], y[rows], member[rows]
    )
    model = LogisticRegression().fit(X[:200], y[:200])
    with pytest.raises(ValueError, match="lower lr"):
        attack.score(model, X[rows], y[rows], member[rows])


@pytest.mark.parametrize(
    "params, message",
    [
        ({"lr": np.nan}, "'lr'"),
        ({"lr": np.inf}, "'lr'"),
        ({"lr": 0.0}, "'lr'"),
        ({"max_epochs": 0}, "max_epochs"),
        ({"max_epochs": np.nan}, "max_epochs"),
        ({"batch_size": 1}, "batch_size"),
    ],
)
def test_invalid_hyper_parameters_name_the_parameter(data, params, message):
    X, y, member = data
    with pytest.raises(ValueError, match=message):
        KnownMembersMembershipAttack(**params).fit(
            X[:40], y[:40], np.arange(40) % 2 == 0
        )


def test_a_batch_larger_than_the_known_rows_is_capped(data):
    X, y, member = data
    model = target_models(X, y)["overfitted"]
    rows = np.r_[0:20, 200:220]
    attack = KnownMembersMembershipAttack(
        max_epochs=2, batch_size=10**12, random_state=0
    ).fit(X[rows], y[rows], member[rows])
    assert np.all(np.isfinite(attack.infer_proba(model, X[:10], y[:10])))


def test_sparse_inputs(data):
    sparse = pytest.importorskip("scipy.sparse")
    X, y, member = data
    X_sparse = sparse.csr_matrix(X)
    model = LogisticRegression().fit(X_sparse[:200], y[:200])
    shadow = ShadowModelMembershipAttack(top_k=2, random_state=0)
    shadow.fit(X_sparse[400:], y[400:])
    assert 0.0 <= shadow.score(model, X_sparse[:400], y[:400], member) <= 1.0
    # Balanced subsampling (a grid search's membership scorer) takes rows of
    # sparse matrices too.
    accuracy = LabelOnlyMembershipAttack().score_members(
        model, X_sparse[:200], y[:200], X_sparse[200:400], y[200:400]
    )
    assert 0.0 <= accuracy <= 1.0
    known = KnownMembersMembershipAttack(max_epochs=1, random_state=0)
    known.fit(X_sparse[:400], y[:400], member)
    assert np.all(np.isfinite(known.infer_proba(model, X_sparse[:10], y[:10])))


def test_membership_scores_refuse_score_valued_member(data):
    X, y, member = data
    model = target_models(X, y)["overfitted"]
    attack = LabelOnlyMembershipAttack()
    with pytest.raises(ValueError, match="member holds scores"):
        attack.score(model, X[:400], y[:400], np.where(member, 0.9, 0.1))
    with pytest.raises(ValueError, match="member must be boolean"):
        attack.score(model, X[:400], y[:400], np.where(member, "True", "False"))


@pytest.mark.parametrize(
    "metric, fpr", [("tpr_at_1pct_fpr", 0.01), ("tpr_at_0.1pct_fpr", 0.001)]
)
def test_tpr_at_low_fpr_metrics_read_the_decision_function(data, metric, fpr):
    from skmid.metrics import tpr_at_fpr

    X, y, member = data
    model = RandomForestClassifier(50, random_state=0).fit(X[:200], y[:200])
    attack = ShadowModelMembershipAttack(top_k=2, random_state=0).fit(X[400:], y[400:])
    scores = attack.decision_function(model, X[:400], y[:400])
    score = attack.score(model, X[:400], y[:400], member, metric=metric)
    assert score == tpr_at_fpr(member, scores, fpr=fpr)
    assert attack.higher_is_more_leakage(metric)
    assert attack.metric_range(metric) == (0.0, 1.0)
    # and through a scorer, as the audits use them
    recorder = TrainingRowsRecorder(RandomForestClassifier(50, random_state=0))
    recorder.fit(X[:200], y[:200])
    scorer = make_attack_scorer(LabelOnlyMembershipAttack(), metric=metric)
    assert 0.0 <= scorer(recorder, X[200:400], y[200:400]) <= 1.0
