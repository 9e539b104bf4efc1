"""Adaptive attacks: averaging repeated queries, inversion trained through noise."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from skmid.attacks import InversionModelAttack, MIFaceAttack, QueryAveraging
from skmid.datasets import load_inversion_split
from skmid.postprocessing import CMIPostProcessor, DefendedClassifier


@pytest.fixture(scope="module")
def digits():
    return load_inversion_split("digits")


class NoisyModel:
    """Adds fresh uniform noise to every answer of a model (no hash)."""

    def __init__(self, model, seed=0):
        self.model = model
        self.classes_ = model.classes_
        self.rng = np.random.RandomState(seed)
        self.rows = 0

    def predict_proba(self, X):
        self.rows += len(X)
        P = self.model.predict_proba(X) + self.rng.uniform(0, 0.5, (len(X), 2))
        return P / P.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def binary():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    model = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
    return X, model


def test_averaging_converges_to_the_expected_answer(binary):
    # E[(p + u) / (1 + u1 + u2)] has no closed form; the reference is the
    # same average computed apart with the same noise stream.
    X, model = binary
    averaged = QueryAveraging(NoisyModel(model), n_repeats=50)
    P = averaged.predict_proba(X)
    reference = NoisyModel(model)
    raw = reference.predict_proba(np.repeat(X, 50, axis=0)).reshape(60, 50, 2)
    np.testing.assert_allclose(P, raw.mean(axis=1))
    # The noise is averaged away: two averages over independent noise agree
    # about sqrt(50) times better than two single answers.
    other = QueryAveraging(NoisyModel(model, seed=1), n_repeats=50).predict_proba(X)
    singles = [NoisyModel(model, seed=s).predict_proba(X) for s in (2, 3)]
    assert np.abs(P - other).mean() < 0.25 * np.abs(singles[0] - singles[1]).mean()
    assert np.array_equal(averaged.predict(X), model.classes_[P.argmax(1)])


def test_query_cost_is_counted(binary):
    X, model = binary
    noisy = NoisyModel(model)
    averaged = QueryAveraging(noisy, n_repeats=7, noise_scale=0.1, random_state=0)
    averaged.predict_proba(X[:10])
    averaged.predict(X[:3])
    assert averaged.n_queries_ == noisy.rows == 7 * 13


def test_perturbations_are_seeded_and_clipped(binary):
    X, model = binary
    seen = []

    class Recorder:
        classes_ = model.classes_

        def predict_proba(self, Q):
            seen.append(Q.copy())
            return model.predict_proba(Q)

    for _ in range(2):
        QueryAveraging(
            Recorder(), n_repeats=4, noise_scale=0.5, clip=(-1, 1), random_state=3
        ).predict_proba(X[:5])
    assert np.array_equal(seen[0], seen[1])  # same seed, same perturbations
    assert seen[0].min() >= -1 and seen[0].max() <= 1
    assert not np.array_equal(seen[0], np.repeat(np.clip(X[:5], -1, 1), 4, axis=0))
    wrapper = QueryAveraging(Recorder(), n_repeats=2, noise_scale=0.5, random_state=3)
    wrapper.predict_proba(X[:5])
    wrapper.predict_proba(X[:5])
    assert not np.array_equal(seen[-1], seen[-2])  # each call draws anew


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_repeats": 0}, "n_repeats"),
        ({"n_repeats": 2.5}, "n_repeats"),
        ({"noise_scale": -1.0}, "noise_scale"),
        ({"noise_scale": np.nan}, "noise_scale"),
        ({"clip": (1, 0)}, "clip"),
        ({"clip": (0, 1, 2)}, "clip"),
    ],
)
def test_bad_parameters(binary, params, match):
    _, model = binary
    with pytest.raises(ValueError, match=match):
        QueryAveraging(model, **params)


def test_unfitted_or_probabilityless_models_are_refused():
    with pytest.raises(ValueError, match="classes_"):
        QueryAveraging(LogisticRegression())

    class LabelsOnly:
        classes_ = np.array([0, 1])

        def predict(self, X):
            return np.zeros(len(X), dtype=int)

    with pytest.raises(ValueError, match="predict_proba"):
        QueryAveraging(LabelsOnly())


def test_the_cmi_hash_defeats_averaging(digits):
    # SSD Appendix H: same query, same answer. Exact repeats give one answer
    # whatever the hash grid; perturbed repeats fall in the same cell of a
    # coarse grid and average little away, while with a grid fine enough to
    # separate every perturbed query (no hash, in effect) averaging moves the
    # answers towards the undefended confidences.
    X, y = digits.X_private[:300], digits.y_private[:300]

    def gain(hash_resolution, noise_scale):
        defense = CMIPostProcessor(temperature=None, hash_resolution=hash_resolution)
        model = DefendedClassifier(
            LogisticRegression(max_iter=500), defense, random_state=0
        ).fit(X, y)
        clean = model.estimator_.predict_proba(X)
        single = np.abs(model.predict_proba(X) - clean).sum(1).mean()
        averaged = QueryAveraging(
            model, n_repeats=20, noise_scale=noise_scale, random_state=0
        ).predict_proba(X)
        return 1 - np.abs(averaged - clean).sum(1).mean() / single

    assert gain(1e4, 0.0) == pytest.approx(0.0, abs=1e-12)
    assert gain(1e18, 0.0) == pytest.approx(0.0, abs=1e-12)
    no_hash = gain(1e18, 1e-3)
    coarse_hash = gain(1e2, 1e-3)
    assert no_hash > 0.15
    assert coarse_hash < 0.5 * no_hash


def test_black_box_attacks_run_through_the_averaging(digits):
    model = LogisticRegression(max_iter=500).fit(digits.X_private, digits.y_private)
    averaged = QueryAveraging(model, n_repeats=3)
    attack = MIFaceAttack(
        access="black-box", n_directions=4, max_queries=80, random_state=0
    ).fit(digits.X_public)
    images = attack.reconstruct(averaged, classes=[0, 1])
    assert images.shape == (2, 64)
    # Averaging exact repeats of a deterministic model changes nothing.
    direct = attack.reconstruct(model, classes=[0, 1])
    np.testing.assert_allclose(images, direct)
    assert averaged.n_queries_ >= 3 * attack.n_queries_ > 0


# -- the inversion model trained through the defense (Wen et al., Table II) ---
def test_train_on_undefended_needs_the_inner_classifier(digits):
    pytest.importorskip("torch")
    model = LogisticRegression(max_iter=500).fit(digits.X_private, digits.y_private)
    attack = InversionModelAttack(max_epochs=1, train_on="undefended")
    attack.fit(digits.X_public)
    with pytest.raises(ValueError, match="estimator_"):
        attack.score(model, digits.X_private)
    with pytest.raises(ValueError, match="train_on"):
        InversionModelAttack(train_on="clean").fit(digits.X_public)


def test_train_on_picks_the_training_outputs(digits):
    # Against a defended model the two attackers train different networks;
    # each is cached apart, and without a defense they coincide.
    pytest.importorskip("torch")
    X, y = digits.X_private, digits.y_private
    model = DefendedClassifier(
        LogisticRegression(max_iter=500),
        CMIPostProcessor(epsilon=1.0, temperature=None),
        random_state=0,
    ).fit(X, y)
    attack = InversionModelAttack((32,), max_epochs=3, random_state=0)
    attack.fit(digits.X_public)
    adaptive = attack.infer(model, X[:20])
    naive = attack.set_params(train_on="undefended").infer(model, X[:20])
    assert not np.allclose(adaptive, naive)
    again = attack.set_params(train_on="queried").infer(model, X[:20])
    np.testing.assert_allclose(again, adaptive)


@pytest.mark.slow
def test_adversarial_training_lowers_the_error_against_the_noise():
    # Wen et al., Table II: the attacker who trains the inversion model on
    # the noised outputs reconstructs better than the one trained on clean
    # outputs, and still worse than against no defense.
    pytest.importorskip("torch")
    from sklearn.datasets import load_digits

    from skmid.postprocessing import AdversarialNoiseDefense

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    defense = AdversarialNoiseDefense(
        InversionModelAttack(max_epochs=20),
        epsilon=10.0,
        step_size=0.4,
        random_state=0,
    )
    model = DefendedClassifier(
        LogisticRegression(max_iter=1000), defense, random_state=0
    ).fit(X[:800], y[:800])
    aux, victims = X[800:1400], X[1400:]
    errors = {
        train_on: InversionModelAttack(max_epochs=20, random_state=0, train_on=train_on)
        .fit(aux)
        .score(model, victims)
        for train_on in ("undefended", "queried")
    }
    clean = InversionModelAttack(max_epochs=20, random_state=0).fit(aux)
    baseline = clean.score(model.estimator_, victims)
    assert errors["queried"] < errors["undefended"]
    assert baseline < errors["queried"]
