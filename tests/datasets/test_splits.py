"""Private/public splits by identity."""

import numpy as np
import pytest

from skmid.datasets import load_inversion_split, split_private_public


def test_split_is_by_identity_disjoint_and_covers_every_row():
    y = np.repeat(np.arange(6), 4)
    private, public = split_private_public(y, n_private=2)
    assert set(y[private]) == {0, 1}
    assert set(y[public]) == {2, 3, 4, 5}
    assert not set(y[private]) & set(y[public])
    np.testing.assert_array_equal(np.sort(np.r_[private, public]), np.arange(len(y)))


def test_default_is_half_the_classes_and_string_labels_work():
    y = np.array(["b", "a", "c", "d", "a", "d"])
    private, public = split_private_public(y)
    assert set(y[private]) == {"a", "b"}
    assert set(y[public]) == {"c", "d"}


def test_shuffled_split_is_reproducible_and_leaves_global_state():
    y = np.repeat(np.arange(20), 3)
    before = np.random.get_state()[1].copy()  # noqa: NPY002 - the global state
    first = split_private_public(y, n_private=10, shuffle=True, random_state=3)
    second = split_private_public(y, n_private=10, shuffle=True, random_state=3)
    assert np.array_equal(np.random.get_state()[1], before)  # noqa: NPY002
    np.testing.assert_array_equal(first[0], second[0])
    other = split_private_public(y, n_private=10, shuffle=True, random_state=4)
    assert set(y[first[0]]) != set(y[other[0]])
    assert set(y[first[0]]) != set(range(10))  # not the unshuffled split


@pytest.mark.parametrize(
    "y, kwargs, message",
    [
        ([0, 0, 1, 1], {"n_private": 2}, "n_private must be less than"),
        ([1, 1, 1], {}, "at least 2 classes"),
        ([0, 1], {"n_private": 0}, "n_private"),
        ([0.0, np.nan], {}, "NaN"),
        ([[0, 1], [1, 0]], {}, "1-D"),
    ],
)
def test_clear_errors(y, kwargs, message):
    with pytest.raises(ValueError, match=message):
        split_private_public(y, **kwargs)


def test_digits_split():
    data = load_inversion_split("digits")
    assert data.private_classes.tolist() == [0, 1, 2, 3, 4]
    assert set(data.y_public) == {5, 6, 7, 8, 9}
    assert data.X_private.max() <= 1.0 and data.X_private.min() >= 0.0
    assert len(data.X_private) + len(data.X_public) == 1797
    assert data.image_shape == (8, 8)


def test_faces_split(shared_data_home):
    data = load_inversion_split("faces", data_home=shared_data_home)
    assert data.X_private.shape == (200, 4096) and data.X_public.shape == (200, 4096)
    assert len(data.private_classes) == 20 and len(data.public_classes) == 20
    assert not set(data.private_classes) & set(data.public_classes)
    shuffled = load_inversion_split(
        "faces", shuffle=True, random_state=0, data_home=shared_data_home
    )
    assert set(shuffled.private_classes) != set(range(20))
    assert np.bincount(shuffled.y_private).max() == 10


def test_missing_faces_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="olivetti_py3.pkz"):
        load_inversion_split("faces", data_home=tmp_path)


def test_unknown_name_is_refused():
    with pytest.raises(ValueError, match="name"):
        load_inversion_split("mnist")
