import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import softmax

from skmid.metrics import normalized_entropy
from skmid.postprocessing import CMIPostProcessor


def make_outputs(n=300, k=5, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k)) + 3.0 * np.eye(k)[y]
    return softmax(logits, axis=1), y


def test_prototypes_are_class_means():
    P, y = make_outputs()
    defense = CMIPostProcessor(random_state=0).fit(P, y)
    for label in range(5):
        np.testing.assert_allclose(
            defense.class_prototypes_[label], P[y == label].mean(0)
        )
    np.testing.assert_array_equal(defense.class_counts_, np.bincount(y, minlength=5))


def test_sample_prototypes_are_rows_of_their_class():
    P, y = make_outputs()
    defense = CMIPostProcessor(prototype="sample", random_state=0).fit(P, y)
    for label in range(5):
        matches = np.all(np.isclose(P, defense.class_prototypes_[label]), axis=1)
        assert matches.any() and np.all(y[matches] == label)


def test_string_labels_in_column_order():
    P, y = make_outputs(k=3)
    names = np.array(["ant", "bee", "cat"])[y]
    a = CMIPostProcessor(random_state=0).fit(P, names)
    b = CMIPostProcessor(random_state=0).fit(P, y)
    np.testing.assert_array_equal(a.class_prototypes_, b.class_prototypes_)


def test_absent_class_falls_back_to_marginal_with_warning():
    P, y = make_outputs(k=4)
    keep = y != 2
    with pytest.warns(UserWarning, match=r"Classes \[2\] have no rows"):
        defense = CMIPostProcessor(random_state=0).fit(P[keep], y[keep])
    np.testing.assert_allclose(defense.class_prototypes_[2], P[keep].mean(axis=0))


def test_budget_holds_adaptive_and_fixed():
    P, y = make_outputs()
    for adaptive, budget in [(True, 0.7 * normalized_entropy(P)), (False, 0.7)]:
        defense = CMIPostProcessor(epsilon=0.7, adaptive=adaptive, random_state=0)
        P_defended = defense.fit(P, y).transform(P)
        distortion = np.abs(P_defended - P).sum(axis=1)
        assert np.all(distortion <= budget + 1e-12)
        np.testing.assert_allclose(P_defended.sum(axis=1), 1.0, atol=1e-12)
        # The budget is spent in full unless the row reached a prototype.
        reached = np.array(
            [
                np.isclose(np.abs(defense.class_prototypes_ - row).sum(1), 0).any()
                for row in P_defended
            ]
        )
        spent = np.isclose(distortion, budget)
        assert np.all(spent | reached) and spent.any()


def test_epsilon_zero_is_identity_and_large_epsilon_gives_prototypes():
    P, y = make_outputs()
    np.testing.assert_array_equal(
        CMIPostProcessor(epsilon=0.0).fit(P, y).transform(P), P
    )
    defense = CMIPostProcessor(epsilon=2.0, adaptive=False, random_state=0).fit(P, y)
    P_defended = defense.transform(P)
    matches = [
        any(np.allclose(row, proto) for proto in defense.class_prototypes_)
        for row in P_defended
    ]
    assert all(matches)


def test_low_temperature_draws_the_top_class():
    P, y = make_outputs()
    # The closest top two differ by 6e-4: at T = 1e-6 the runner-up's weight
    # is exp(-600), so no hashed draw can pick it, whatever the machine.
    defense = CMIPostProcessor(epsilon=2.0, adaptive=False, temperature=1e-6)
    P_defended = defense.fit(P, y).transform(P)
    np.testing.assert_allclose(P_defended, defense.class_prototypes_[P.argmax(axis=1)])


def test_high_temperature_draws_labels_near_uniformly():
    P, y = make_outputs(n=2000, k=4)
    defense = CMIPostProcessor(epsilon=2.0, adaptive=False, temperature=1e3)
    P_defended = defense.fit(P, y).transform(P)
    drawn = np.array(
        [
            np.argmin(np.abs(defense.class_prototypes_ - row).sum(1))
            for row in P_defended
        ]
    )
    frequencies = np.bincount(drawn, minlength=4) / len(drawn)
    np.testing.assert_allclose(frequencies, 0.25, atol=0.04)


def test_no_temperature_samples_from_the_output_itself():
    first = np.linspace(0.6, 0.8, 4000)  # distinct queries with mean 0.7
    P = np.c_[first, 1 - first]
    defense = CMIPostProcessor(epsilon=2.0, adaptive=False, temperature=None)
    defense.fit(np.array([[0.9, 0.1], [0.1, 0.9]]), [0, 1])
    P_defended = defense.transform(P)
    share_of_class_0 = np.mean(P_defended[:, 0] > 0.5)
    assert abs(share_of_class_0 - 0.7) < 0.03


def test_same_query_same_answer_and_batch_independence():
    P, y = make_outputs()
    defense = CMIPostProcessor(temperature=1.0, random_state=3).fit(P, y)
    full = defense.transform(P)
    np.testing.assert_array_equal(defense.transform(P), full)
    order = np.random.default_rng(0).permutation(len(P))
    np.testing.assert_array_equal(defense.transform(P[order]), full[order])
    np.testing.assert_array_equal(defense.transform(P[:1]), full[:1])
    # A perturbation far below the hash grid keeps the answer.
    nudged = P[:1] + 1e-9 * np.array([[1, -1, 0, 0, 0]])
    if np.all(np.floor(1e4 * nudged) == np.floor(1e4 * P[:1])):
        np.testing.assert_allclose(defense.transform(nudged), full[:1], atol=1e-8)


def test_random_state_changes_the_secret_and_is_reproducible():
    P, y = make_outputs()
    a = CMIPostProcessor(temperature=1.0, random_state=0).fit(P, y).transform(P)
    b = CMIPostProcessor(temperature=1.0, random_state=0).fit(P, y).transform(P)
    c = CMIPostProcessor(temperature=1.0, random_state=1).fit(P, y).transform(P)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_preserve_label_keeps_argmax():
    P, y = make_outputs()
    defense = CMIPostProcessor(
        epsilon=2.0, temperature=1.0, preserve_label=True, random_state=0
    )
    P_defended = defense.fit(P, y).transform(P)
    np.testing.assert_array_equal(P_defended.argmax(axis=1), P.argmax(axis=1))
    plain = CMIPostProcessor(epsilon=2.0, temperature=1.0, random_state=0).fit(P, y)
    assert np.any(plain.transform(P).argmax(axis=1) != P.argmax(axis=1))


@pytest.mark.parametrize(
    "P, match",
    [
        (np.full((2, 5), 0.3), "sums to 1.5"),
        (np.full((2, 4), 0.25), "4 features, but CMIPostProcessor is expecting 5"),
        (np.array([[np.nan, 1, 0, 0, 0]]), "NaN"),
        (np.array([[-0.1, 1.1, 0, 0, 0]]), "negative entry"),
    ],
)
def test_transform_rejects_non_probabilities(P, match):
    P_fit, y = make_outputs()
    defense = CMIPostProcessor().fit(P_fit, y)
    with pytest.raises(ValueError, match=match):
        defense.transform(P)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"epsilon": -1.0}, "epsilon"),
        ({"temperature": 0.0}, "temperature"),
        ({"prototype": "median"}, "prototype"),
        ({"hash_resolution": 0}, "hash_resolution"),
    ],
)
def test_bad_parameters_raise_at_fit(params, match):
    P, y = make_outputs()
    defense = CMIPostProcessor(**params)  # __init__ only stores
    with pytest.raises(ValueError, match=match):
        defense.fit(P, y)


def test_fit_requires_labels_and_two_classes():
    P, y = make_outputs()
    with pytest.raises(ValueError, match="requires y"):
        CMIPostProcessor().fit(P)
    with pytest.raises(ValueError, match="at least 2 classes"):
        CMIPostProcessor().fit(np.ones((3, 1)), [0, 0, 0])
    with pytest.raises(ValueError, match="labels"):
        CMIPostProcessor().fit(P, y[:-1])


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    epsilon=st.floats(0, 2),
    temperature=st.floats(0.01, 10),
    adaptive=st.booleans(),
    preserve_label=st.booleans(),
)
def test_property_invariants(seed, epsilon, temperature, adaptive, preserve_label):
    P, y = make_outputs(n=40, k=4, seed=seed)
    defense = CMIPostProcessor(
        epsilon=epsilon,
        temperature=temperature,
        adaptive=adaptive,
        preserve_label=preserve_label,
        random_state=seed,
    ).fit(P, y)
    out = defense.transform(P)
    assert np.all(out >= 0)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-12)
    if preserve_label:
        np.testing.assert_array_equal(out.argmax(axis=1), P.argmax(axis=1))
    else:
        budget = epsilon * (normalized_entropy(P) if adaptive else 1.0)
        assert np.all(np.abs(out - P).sum(axis=1) <= budget + 1e-12)
    reversed_out = defense.transform(P[::-1])
    np.testing.assert_array_equal(reversed_out, out[::-1])
    np.testing.assert_array_equal(defense.transform(P[5:6]), out[5:6])


@pytest.mark.parametrize("n_classes", [5, 50, 300])
def test_fused_kernel_is_waterfilling_towards_the_drawn_prototype(n_classes):
    from skmid.postprocessing import waterfill

    P, y = make_outputs(n=20 * n_classes, k=n_classes, seed=1)
    defense = CMIPostProcessor(epsilon=0.8, temperature=1e-6, random_state=0)
    P_defended = defense.fit(P, y).transform(P)
    # At T = 1e-6 the draw is the top class (ties aside: none here).
    target = defense.class_prototypes_[P.argmax(axis=1)]
    expected = waterfill(P, target, 0.8 * normalized_entropy(P))
    np.testing.assert_allclose(P_defended, expected, rtol=0, atol=1e-12)


def test_label_draw_follows_the_tempered_softmax():
    rng = np.random.default_rng(2)
    k, temperature = 4, 0.2
    # Distinct queries (their hash cells differ) near one output.
    P = softmax(np.log([0.4, 0.3, 0.2, 0.1]) + 0.05 * rng.normal(size=(6000, k)), 1)
    prototypes = np.eye(k) * 0.9 + 0.025
    defense = CMIPostProcessor(epsilon=2.0, adaptive=False, temperature=temperature)
    defense.fit(prototypes, np.arange(k))
    drawn = defense.transform(P).argmax(axis=1)
    expected = softmax(P / temperature, axis=1).mean(axis=0)
    np.testing.assert_allclose(
        np.bincount(drawn, minlength=k) / len(P), expected, atol=0.02
    )


def test_transform_allocates_its_output_and_little_else():
    import tracemalloc

    P, y = make_outputs(n=4000, k=300, seed=3)
    defense = CMIPostProcessor(random_state=0).fit(P, y)
    defense.transform(P[:10])  # compiled and cached before measuring
    tracemalloc.start()
    defense.transform(P)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak <= 1.1 * P.nbytes


def test_fast_validation_decides_like_the_full_one():
    P, y = make_outputs()
    defense = CMIPostProcessor(temperature=1.0, random_state=0).fit(P, y)
    expected = defense.transform(P)
    # A list and a Fortran-ordered array take the full validation path.
    np.testing.assert_array_equal(defense.transform(P.tolist()), expected)
    np.testing.assert_array_equal(defense.transform(np.asfortranarray(P)), expected)
    for bad, match in [
        (np.where(P == P.max(), np.nan, P), "NaN"),
        (P * 1.01, "P must hold probability vectors"),
        (np.where(P == P.max(), -1e-300, P), "negative entry"),
    ]:
        with pytest.raises(ValueError, match=match):
            defense.transform(bad)
