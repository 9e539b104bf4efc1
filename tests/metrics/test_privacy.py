import numpy as np
import pytest
from scipy.special import rel_entr

from skmid.metrics import (
    conditional_mutual_information,
    confidence_distortion,
    normalized_entropy,
)


def _random_probabilities(rng, n, k):
    return rng.dirichlet(np.full(k, 0.5), size=n)


def test_normalized_entropy_known_values():
    values = normalized_entropy(
        [[1.0, 0.0, 0.0, 0.0], [0.25] * 4, [0.5, 0.5, 0.0, 0.0]]
    )
    np.testing.assert_allclose(values, [0.0, 1.0, 0.5], atol=1e-12)
    expected = -(0.25 * np.log(0.25) + 0.75 * np.log(0.75)) / np.log(2)
    np.testing.assert_allclose(normalized_entropy([[0.25, 0.75]]), [expected])


def test_normalized_entropy_stays_in_unit_interval():
    rng = np.random.default_rng(0)
    values = normalized_entropy(_random_probabilities(rng, 500, 7))
    assert values.min() >= 0.0 and values.max() <= 1.0


def test_normalized_entropy_needs_two_classes():
    with pytest.raises(ValueError, match="at least 2 classes"):
        normalized_entropy([[1.0]])


def test_confidence_distortion_l1_l2_and_reductions():
    before = np.array([[0.9, 0.1], [0.5, 0.5], [0.2, 0.8]])
    after = np.array([[0.7, 0.3], [0.5, 0.5], [0.8, 0.2]])
    np.testing.assert_allclose(
        confidence_distortion(before, after, reduce=None), [0.4, 0.0, 1.2]
    )
    assert confidence_distortion(before, after) == pytest.approx(1.6 / 3)
    assert confidence_distortion(before, after, reduce="max") == pytest.approx(1.2)
    np.testing.assert_allclose(
        confidence_distortion(before, after, norm=2, reduce=None),
        [np.sqrt(0.08), 0.0, np.sqrt(0.72)],
    )


def test_confidence_distortion_validates():
    P = [[0.5, 0.5]]
    with pytest.raises(ValueError, match="same shape"):
        confidence_distortion(P, [[0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(ValueError, match="norm must be one of"):
        confidence_distortion(P, P, norm=3)
    with pytest.raises(ValueError, match="reduce must be one of"):
        confidence_distortion(P, P, reduce="median")
    with pytest.raises(ValueError, match="p_defended must hold probability"):
        confidence_distortion(P, [[0.6, 0.6]])


def test_cmi_known_value_by_hand():
    y = [0, 0, 0, 1]
    P = [[0.8, 0.2], [0.6, 0.4], [0.7, 0.3], [0.1, 0.9]]
    # q^0 = (0.7, 0.3); the single row of class 1 equals its own mean.
    kl = [
        0.8 * np.log(0.8 / 0.7) + 0.2 * np.log(0.2 / 0.3),
        0.6 * np.log(0.6 / 0.7) + 0.4 * np.log(0.4 / 0.3),
        0.0,
        0.0,
    ]
    expected = 0.75 * np.mean(kl[:3]) + 0.25 * 0.0
    assert conditional_mutual_information(y, P) == pytest.approx(expected, rel=1e-12)


def test_cmi_is_information_bottleneck_difference():
    # Proposition 1 of the SSD paper on the empirical distribution:
    # I(X; Yhat | Y) = I(X; Yhat) - I(Y; Yhat).
    rng = np.random.default_rng(1)
    P = _random_probabilities(rng, 300, 4)
    y = rng.integers(0, 4, size=300)
    p_bar = P.mean(axis=0)
    i_x_yhat = rel_entr(P, p_bar).sum(axis=1).mean()
    i_y_yhat = sum(
        np.mean(y == c) * rel_entr(P[y == c].mean(axis=0), p_bar).sum()
        for c in range(4)
    )
    assert conditional_mutual_information(y, P) == pytest.approx(
        i_x_yhat - i_y_yhat, rel=1e-10
    )


def test_cmi_zero_when_output_depends_only_on_label():
    y = np.array(["b", "a", "b", "a"])
    P = np.where((y == "a")[:, None], [0.9, 0.1], [0.3, 0.7])
    assert conditional_mutual_information(y, P) == 0.0


def test_cmi_with_labels_and_zeros():
    P = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    cmi = conditional_mutual_information(["x", "x", "y"], P, labels=["x", "y", "z"])
    assert cmi == pytest.approx(2 / 3 * np.log(2))


def test_cmi_rejects_bad_input():
    with pytest.raises(ValueError, match="sums to"):
        conditional_mutual_information([0, 1], [[0.5, 0.4], [0.5, 0.5]])
    with pytest.raises(ValueError, match="y_true has 1 labels but y_prob has 2"):
        conditional_mutual_information([0], [[0.5, 0.5], [0.5, 0.5]])


def test_cmi_stays_finite_when_class_means_underflow():
    # A probability of 1e-322 in a class of 1000 rows: its mean underflows to 0,
    # log(p / q) used to be infinite.
    P = np.zeros((1000, 2))
    P[:, 0] = 1.0
    P[0] = [1.0, 1e-322]
    cmi = conditional_mutual_information(np.zeros(1000, dtype=int), P)
    assert np.isfinite(cmi) and 0.0 <= cmi < 1e-300


def test_cmi_rejects_non_finite_labels_and_probabilities():
    P = [[0.5, 0.5], [0.5, 0.5]]
    with pytest.raises(ValueError, match="y_true must not contain NaN"):
        conditional_mutual_information([0.0, np.nan], P)
    with pytest.raises(ValueError, match="y_prob contains NaN"):
        conditional_mutual_information([0, 1], [[0.5, np.nan], [0.5, 0.5]])


# -- output_mutual_information -------------------------------------------------------
def test_output_mutual_information_known_cases():
    from skmid.metrics import output_mutual_information

    assert output_mutual_information(np.tile([[0.2, 0.5, 0.3]], (5, 1))) == 0.0
    one_hot = np.eye(4)[np.arange(12) % 4]
    assert output_mutual_information(one_hot) == pytest.approx(np.log(4))
    # two equally likely rows: I = H(mean) - mean H
    p = np.array([[0.9, 0.1], [0.3, 0.7]])
    h = lambda q: -(q * np.log(q)).sum(axis=-1)  # noqa: E731
    assert output_mutual_information(p) == pytest.approx(
        h(p.mean(axis=0)) - h(p).mean(), rel=1e-12
    )


def test_output_mutual_information_weights_are_repetitions():
    from skmid.metrics import output_mutual_information

    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(3), size=8)
    repeats = rng.integers(0, 4, size=8)
    repeats[0] = 1
    assert output_mutual_information(p, sample_weight=repeats) == pytest.approx(
        output_mutual_information(np.repeat(p, repeats, axis=0)), rel=1e-12
    )


def test_output_mutual_information_refuses_bad_input():
    from skmid.metrics import output_mutual_information

    with pytest.raises(ValueError, match="y_prob"):
        output_mutual_information([[0.5, 0.6]])
    with pytest.raises(ValueError, match="sample_weight"):
        output_mutual_information([[0.5, 0.5]], sample_weight=[0.0])
    with pytest.raises(ValueError, match="[Nn]egative"):
        output_mutual_information([[0.5, 0.5], [1, 0]], sample_weight=[1.0, -1.0])
