import numpy as np
import pytest

from skmid.metrics import inversion_error, membership_advantage


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
