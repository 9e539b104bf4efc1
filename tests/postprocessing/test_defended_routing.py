"""sample_weight (and other metadata) through DefendedClassifier.fit."""

import numpy as np
import pytest
import sklearn
from sklearn.datasets import load_iris
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    cross_val_predict,
    train_test_split,
)
from sklearn.neighbors import KNeighborsClassifier

from skmid.postprocessing import (
    BasePostProcessor,
    CMIPostProcessor,
    DefendedClassifier,
)


@pytest.fixture(scope="module")
def data():
    X, y = load_iris(return_X_y=True)
    weights = np.random.default_rng(0).integers(1, 4, size=len(y))
    return X, y, weights


def logistic():
    return LogisticRegression(tol=1e-10, max_iter=10_000)


def repeated(X, y, weights):
    return np.repeat(X, weights, axis=0), np.repeat(y, weights)


class WeightedDefense(BasePostProcessor):
    """Records the weights it is fitted with; its class asks for them."""

    __metadata_request__fit = {"sample_weight": True}

    def _fit(self, P, codes, sample_weight=None):
        self.sample_weight_ = sample_weight

    def _transform(self, P):
        return P


def test_holdout_weights_fit_the_estimator_as_repeated_rows(data):
    X, y, w = data
    model = DefendedClassifier(logistic(), random_state=0).fit(X, y, sample_weight=w)
    fit_rows, _ = train_test_split(
        np.arange(len(y)), test_size=0.2, stratify=y, random_state=0
    )
    reference = logistic().fit(*repeated(X[fit_rows], y[fit_rows], w[fit_rows]))
    np.testing.assert_allclose(model.estimator_.coef_, reference.coef_, rtol=1e-4)
    unweighted = DefendedClassifier(logistic(), random_state=0).fit(X, y)
    assert not np.allclose(unweighted.estimator_.coef_, reference.coef_, rtol=1e-2)


def test_cross_fitted_weights_reach_every_fold_and_the_refit(data):
    X, y, w = data
    defense = CMIPostProcessor(random_state=0)
    model = DefendedClassifier(logistic(), defense, cv=3).fit(X, y, sample_weight=w)
    reference = logistic().fit(*repeated(X, y, w))
    np.testing.assert_allclose(model.estimator_.coef_, reference.coef_, rtol=1e-4)
    P = cross_val_predict(
        logistic(),
        X,
        y,
        cv=StratifiedKFold(3),
        method="predict_proba",
        params={"sample_weight": w},
    )
    expected = CMIPostProcessor(random_state=0).fit(P, y)
    np.testing.assert_allclose(
        model.defense_.class_prototypes_, expected.class_prototypes_
    )


def test_a_defense_that_asks_gets_the_weights_of_its_rows(data):
    X, y, w = data
    model = DefendedClassifier(logistic(), WeightedDefense(), random_state=0).fit(
        X, y, sample_weight=w
    )
    _, defense_rows = train_test_split(
        np.arange(len(y)), test_size=0.2, stratify=y, random_state=0
    )
    np.testing.assert_array_equal(model.defense_.sample_weight_, w[defense_rows])
    fitted = logistic().fit(X, y)
    prefit = DefendedClassifier(fitted, WeightedDefense(), cv="prefit").fit(
        X, y, sample_weight=w
    )
    np.testing.assert_array_equal(prefit.defense_.sample_weight_, w)
    # A defense that does not ask gets nothing (CMIPostProcessor takes none).
    DefendedClassifier(fitted, CMIPostProcessor(), cv="prefit").fit(
        X, y, sample_weight=w
    )


def test_without_routing_an_estimator_without_weights_raises_its_own_error(data):
    X, y, w = data
    with pytest.raises(TypeError, match="sample_weight"):
        DefendedClassifier(KNeighborsClassifier(), random_state=0).fit(
            X, y, sample_weight=w
        )


def test_routing_follows_the_requests(data):
    X, y, w = data
    plain = DefendedClassifier(logistic(), random_state=0).fit(X, y, sample_weight=w)
    with sklearn.config_context(enable_metadata_routing=True):
        with pytest.raises(UnsetMetadataPassedError, match="set_fit_request"):
            DefendedClassifier(logistic(), random_state=0).fit(X, y, sample_weight=w)
        withheld = logistic().set_fit_request(sample_weight=False)
        with pytest.raises(TypeError, match="not routed to any object"):
            DefendedClassifier(withheld, random_state=0).fit(X, y, sample_weight=w)
        asked = logistic().set_fit_request(sample_weight=True)
        routed = DefendedClassifier(asked, random_state=0).fit(X, y, sample_weight=w)
        np.testing.assert_allclose(routed.estimator_.coef_, plain.estimator_.coef_)
        np.testing.assert_array_equal(routed.predict_proba(X), plain.predict_proba(X))
        # Routed to the defense only: the estimator's fit stays unweighted.
        defended = DefendedClassifier(
            logistic().set_fit_request(sample_weight=False),
            WeightedDefense(),
            random_state=0,
        ).fit(X, y, sample_weight=w)
        assert defended.defense_.sample_weight_.shape == (30,)
        unweighted = DefendedClassifier(logistic(), random_state=0).fit(X, y)
        np.testing.assert_allclose(
            defended.estimator_.coef_, unweighted.estimator_.coef_
        )


def test_grid_search_routes_weights_through_the_defended_classifier(data):
    X, y, w = data
    with sklearn.config_context(enable_metadata_routing=True):
        model = DefendedClassifier(
            logistic().set_fit_request(sample_weight=True), CMIPostProcessor(), cv=3
        )
        search = GridSearchCV(model, {"defense__epsilon": [0.5]}, cv=2, refit=True).fit(
            X, y, sample_weight=w
        )
    reference = logistic().fit(*repeated(X, y, w))
    np.testing.assert_allclose(
        search.best_estimator_.estimator_.coef_, reference.coef_, rtol=1e-4
    )
