import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import softmax

from skmid.postprocessing import (
    NoisePostProcessor,
    RoundingPostProcessor,
    TopLabelPostProcessor,
    preserve_predicted_label,
)


def outputs(n=200, k=6, seed=0, sharpness=2.0):
    rng = np.random.default_rng(seed)
    return softmax(sharpness * rng.normal(size=(n, k)), axis=1)


@pytest.mark.parametrize("decimals", [0, 1, 2, 3])
def test_rounding_is_on_the_grid_the_simplex_and_within_one_step(decimals):
    P = outputs()
    rounded = RoundingPostProcessor(decimals=decimals).fit(P).transform(P)
    steps = 10**decimals
    np.testing.assert_allclose(rounded * steps, np.rint(rounded * steps), atol=1e-9)
    np.testing.assert_allclose(rounded.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(np.abs(rounded - P) < 1.0 / steps + 1e-12)


def test_rounding_zero_decimals_is_the_top_label():
    P = outputs()
    np.testing.assert_array_equal(
        RoundingPostProcessor(decimals=0).fit(P).transform(P),
        TopLabelPostProcessor().fit(P).transform(P),
    )


def test_top_label_is_one_hot_argmax():
    P = outputs()
    top = TopLabelPostProcessor().fit_transform(P)
    np.testing.assert_array_equal(top.sum(axis=1), 1.0)
    np.testing.assert_array_equal(top.argmax(axis=1), P.argmax(axis=1))
    assert set(np.unique(top)) == {0.0, 1.0}


@pytest.mark.parametrize("kind", ["uniform", "gaussian"])
def test_noise_scale_statistics_and_label_preservation(kind):
    P = outputs(n=4000, k=4, sharpness=0.3)
    noisy = (
        NoisePostProcessor(scale=0.01, kind=kind, preserve_label=False, random_state=0)
        .fit(P)
        .transform(P)
    )
    change = (noisy - P).ravel()
    expected_std = 0.01 / np.sqrt(3) if kind == "uniform" else 0.01
    # Renormalisation shrinks the spread a little; clipping does not happen here.
    assert 0.7 * expected_std < change.std() < 1.05 * expected_std
    assert abs(change.mean()) < 1e-3
    labelled = NoisePostProcessor(scale=0.5, kind=kind, random_state=0).fit(P)
    np.testing.assert_array_equal(labelled.transform(P).argmax(1), P.argmax(1))


def test_noise_same_query_same_answer():
    P = outputs()
    defense = NoisePostProcessor(scale=0.2, random_state=1).fit(P)
    out = defense.transform(P)
    np.testing.assert_array_equal(defense.transform(P[::-1]), out[::-1])
    np.testing.assert_array_equal(defense.transform(P[3:4]), out[3:4])
    other = NoisePostProcessor(scale=0.2, random_state=2).fit(P).transform(P)
    assert not np.array_equal(out, other)


def test_noise_zero_scale_is_identity():
    P = outputs()
    np.testing.assert_allclose(
        NoisePostProcessor(scale=0.0, random_state=0).fit(P).transform(P), P
    )


def test_label_modifier_only_touches_changed_rows():
    original = np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3]])
    defended = np.array([[0.2, 0.5, 0.3], [0.2, 0.5, 0.3]])
    fixed = preserve_predicted_label(original, defended)
    np.testing.assert_array_equal(fixed.argmax(axis=1), [0, 1])
    np.testing.assert_array_equal(fixed[1], defended[1])
    # Lifted to the row maximum (with a 1e-6 margin) and renormalised.
    expected = np.array([0.5 * (1 + 1e-6), 0.5, 0.3])
    np.testing.assert_allclose(fixed[0], expected / expected.sum())


def test_label_modifier_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="columns"):
        preserve_predicted_label([[0.5, 0.5]], [[0.2, 0.3, 0.5]])
    with pytest.raises(ValueError, match="same shape"):
        preserve_predicted_label([[0.5, 0.5]], [[0.5, 0.5], [0.5, 0.5]])


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(2, 8))
def test_property_label_modifier(seed, k):
    rng = np.random.default_rng(seed)
    original = softmax(rng.normal(size=(20, k)) * 3, axis=1)
    defended = softmax(rng.normal(size=(20, k)) * 3, axis=1)
    fixed = preserve_predicted_label(original, defended)
    np.testing.assert_array_equal(fixed.argmax(axis=1), original.argmax(axis=1))
    np.testing.assert_allclose(fixed.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(fixed >= 0)
