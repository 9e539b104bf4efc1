import numpy as np
import pytest

from skmid.metrics import expected_calibration_error


def test_ece_known_value_by_hand():
    y_prob = [[0.9, 0.1], [0.8, 0.2], [0.3, 0.7]]
    # bins: 0.9 correct (gap 0.1), 0.8 wrong (gap 0.8), 0.7 correct (gap 0.3)
    assert expected_calibration_error([0, 1, 1], y_prob, n_bins=10) == pytest.approx(
        1.2 / 3
    )


def test_ece_rows_sharing_a_bin_average_before_the_absolute_value():
    y_prob = [[0.75, 0.25]] * 4
    # 3 of 4 correct at confidence 0.75: perfectly calibrated.
    assert expected_calibration_error([0, 0, 0, 1], y_prob) == pytest.approx(0.0)


def test_ece_one_bin_is_confidence_minus_accuracy():
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(3), size=200)
    y = rng.integers(0, 3, size=200)
    accuracy = np.mean(P.argmax(axis=1) == y)
    assert expected_calibration_error(y, P, n_bins=1) == pytest.approx(
        abs(accuracy - P.max(axis=1).mean())
    )


def test_ece_string_labels_follow_sorted_order_or_given_labels():
    P = [[0.9, 0.1], [0.2, 0.8]]
    assert expected_calibration_error(["a", "b"], P) == pytest.approx(0.15)
    swapped = expected_calibration_error(["a", "b"], P, labels=["b", "a"])
    assert swapped == pytest.approx(0.85)


@pytest.mark.parametrize("n_bins", [0, -1, 2.5, True])
def test_ece_rejects_bad_n_bins(n_bins):
    with pytest.raises(ValueError, match="n_bins"):
        expected_calibration_error([0], [[1.0, 0.0]], n_bins=n_bins)


def test_ece_rejects_non_probabilities():
    with pytest.raises(ValueError, match="negative entry"):
        expected_calibration_error([0], [[1.5, -0.5]])


def test_ece_with_more_bins_than_memory_would_hold():
    # Each row alone in its bin: the ECE is the mean |correct - confidence|.
    y_prob = [[0.9, 0.1], [0.2, 0.8], [0.35, 0.65]]
    expected = (0.1 + 0.2 + 0.65) / 3
    for n_bins in [10**6, 10**15, 2**53]:
        assert expected_calibration_error([0, 1, 0], y_prob, n_bins=n_bins) == (
            pytest.approx(expected)
        )
    with pytest.raises(ValueError, match="n_bins must be at most 2"):
        expected_calibration_error([0, 1, 0], y_prob, n_bins=2**53 + 1)


def test_ece_bins_are_closed_on_the_right():
    # 0.7 lies in (0.6, 0.7] even though 0.7 * 10 rounds to 7.000000000000001;
    # with 0.65 in the same bin, the gaps of the two rows average out.
    y_prob = [[0.7, 0.3], [0.65, 0.35]]
    ece = expected_calibration_error([0, 1], y_prob, n_bins=10)
    assert ece == pytest.approx(abs(0.5 - 0.675))


def test_ece_rejects_non_finite_labels():
    with pytest.raises(ValueError, match="y_true must not contain NaN"):
        expected_calibration_error([0.0, np.nan], [[1.0, 0.0], [0.0, 1.0]])
