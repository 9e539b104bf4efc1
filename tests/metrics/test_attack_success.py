import numpy as np
import pytest
from sklearn.metrics import roc_curve

from skmid.metrics import inversion_error, membership_advantage, tpr_at_fpr


def test_membership_advantage_known_value():
    member = [True, True, True, False, False]
    guess = [True, True, False, True, False]
    assert membership_advantage(member, guess) == pytest.approx(2 / 3 - 1 / 2)
    # 0 and 1 are booleans too, in any numeric type
    assert membership_advantage(np.array(member, float), np.array(guess, int)) == (
        pytest.approx(2 / 3 - 1 / 2)
    )


@pytest.mark.parametrize("argument", ["member", "guess"])
def test_membership_advantage_refuses_scores(argument):
    # Cast to bool, scores 0.9 / 0.1 were all True: an advantage of 0.0.
    kwargs = {"member": [True, True, False, False], "guess": [1, 1, 0, 0]}
    kwargs[argument] = [0.9, 0.8, 0.1, 0.2]
    with pytest.raises(ValueError, match=f"{argument} holds scores.*roc_auc_score"):
        membership_advantage(**kwargs)


@pytest.mark.parametrize(
    "values", [["True", "True", "False", "False"], [1, 1, 0, 2], [1, 1, 0, np.nan]]
)
@pytest.mark.parametrize("argument", ["member", "guess"])
def test_membership_advantage_refuses_non_booleans(argument, values):
    kwargs = {"member": [True, True, False, False], "guess": [1, 1, 0, 0]}
    kwargs[argument] = values
    with pytest.raises(ValueError, match=f"{argument} must be boolean"):
        membership_advantage(**kwargs)


def test_membership_advantage_lengths_and_shapes():
    with pytest.raises(ValueError, match="guess has 3 entries but member has 4"):
        membership_advantage([1, 1, 0, 0], [1, 0, 0])
    with pytest.raises(ValueError, match="guess must be 1-D"):
        membership_advantage([1, 1, 0, 0], np.ones((4, 2)))
    with pytest.raises(ValueError, match="both members and non-members"):
        membership_advantage([1, 1], [1, 0])


def test_inversion_error_of_images():
    X = np.zeros((2, 3, 3))
    assert inversion_error(X, X + 0.5) == pytest.approx(0.25)


@pytest.mark.parametrize("argument", ["X_true", "X_reconstructed"])
def test_inversion_error_names_the_bad_argument(argument):
    good = np.zeros((3, 2))
    bad_values = {
        "holds NaN": (np.array([[np.nan, 0.0]] * 3), "NaN"),
        "holds strings": (np.array([["a", "b"]] * 3), "must hold numbers"),
        "is a scalar": (1.0, "must be an array"),
        "is empty": (np.zeros((0, 2)), "0 sample"),
    }
    for bad, message in bad_values.values():
        kwargs = {"X_true": good, "X_reconstructed": good}
        kwargs[argument] = bad
        with pytest.raises(ValueError, match=message) as error:
            inversion_error(**kwargs)
        assert argument in str(error.value) or message == "0 sample"


def test_inversion_error_that_overflows_is_an_error_not_infinity():
    big = np.full((2, 2), 1e300)
    with pytest.raises(ValueError, match="inversion_error .* NaN or infinite.*rescale"):
        inversion_error(big, -big)


def test_tpr_at_fpr_known_answers():
    member = [True, True, True, True, False, False, False, False]
    scores = [0.9, 0.8, 0.3, 0.2, 0.7, 0.4, 0.1, 0.0]
    # thresholds 0.9, 0.8 (FPR 0), 0.7 (FPR 1/4), 0.4 (2/4), 0.2 (2/4, TPR 1)
    assert tpr_at_fpr(member, scores, fpr=0.0) == 0.5
    assert tpr_at_fpr(member, scores, fpr=0.2) == 0.5
    assert tpr_at_fpr(member, scores, fpr=0.25) == 0.5  # at most: 1/4 allowed
    assert tpr_at_fpr(member, scores, fpr=0.5) == 1.0
    # the top score a non-member's: nothing found at FPR 0
    assert tpr_at_fpr([0, 1, 1], [3.0, 2.0, 1.0], fpr=0.0) == 0.0
    # ties are never split: a member tied with a non-member enters with it
    assert tpr_at_fpr([1, 0, 1, 0], [1.0, 1.0, 0.0, -1.0], fpr=0.0) == 0.0
    assert tpr_at_fpr([1, 0, 1, 0], [1.0, 1.0, 0.0, -1.0], fpr=0.5) == 1.0
    # exactly 1 false positive in 100 at fpr=0.01, not 0 (rounding of 0.01 * 100)
    member = np.r_[np.ones(10, bool), np.zeros(100, bool)]
    scores = np.r_[np.arange(10) + 0.5, 5.0, -np.arange(1, 100)]
    assert tpr_at_fpr(member, scores, fpr=0.01) == 1.0
    assert tpr_at_fpr(member, scores, fpr=0.0099) == 0.5


def test_tpr_at_fpr_matches_the_roc_curve():
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(4, 80))
        member = rng.random(n) < 0.5
        member[:2] = [True, False]
        scores = rng.integers(0, 6, n) + 0.5 * member  # many ties
        fpr, tpr, _ = roc_curve(member, scores, drop_intermediate=False)
        for alpha in (0.0, 0.01, 0.1, 0.3, 1.0):
            assert tpr_at_fpr(member, scores, fpr=alpha) == tpr[fpr <= alpha].max()


def test_tpr_at_fpr_errors():
    member = np.array([True, True, False, False])
    with pytest.raises(ValueError, match="both members and non-members"):
        tpr_at_fpr([True, True], [0.1, 0.2])
    with pytest.raises(ValueError, match="finite"):
        tpr_at_fpr(member, [0.1, np.nan, 0.2, 0.3])
    with pytest.raises(ValueError, match="scores has 3 entries but member has 4"):
        tpr_at_fpr(member, [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="scores must hold numbers"):
        tpr_at_fpr(member, ["a", "b", "c", "d"])
    with pytest.raises(ValueError, match="scores must be 1-D"):
        tpr_at_fpr(member, np.ones((4, 2)))
    for bad in (-0.1, 1.5, np.nan, "0.01", True):
        with pytest.raises(ValueError, match="fpr must be a number in"):
            tpr_at_fpr(member, [0.1, 0.2, 0.3, 0.4], fpr=bad)
