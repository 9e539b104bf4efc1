import numpy as np
import pytest

from skmid.utils import (
    check_probabilities_and_labels,
    check_probability_matrix,
    encode_class_labels,
    import_optional_dependency,
)


def test_probability_matrix_accepts_rows_on_the_simplex():
    P = check_probability_matrix([[0.25, 0.75], [1, 0]])
    assert P.dtype == np.float64
    np.testing.assert_array_equal(P, [[0.25, 0.75], [1.0, 0.0]])


def test_probability_matrix_accepts_tiny_rounding():
    check_probability_matrix([[0.5, 0.5 + 5e-7]])


@pytest.mark.parametrize(
    "P, match",
    [
        ([[0.5, 0.6]], "row 0 sums to 1.1"),
        ([[0.5, 0.5], [1.2, -0.2]], "row 1 has a negative entry"),
        ([[np.nan, 1.0]], "NaN"),
        ([[np.inf, 0.0]], "infinity"),
        ([0.5, 0.5], "2-D"),
        (np.zeros((0, 2)), "0 sample"),
    ],
)
def test_probability_matrix_rejects_non_probabilities(P, match):
    with pytest.raises(ValueError, match=match):
        check_probability_matrix(P)


def test_probability_matrix_checks_the_number_of_columns():
    with pytest.raises(ValueError, match="has 2 columns, expected 3"):
        check_probability_matrix([[0.5, 0.5]], n_classes=3)


def test_probability_matrix_names_the_input():
    with pytest.raises(ValueError, match="p_defended must hold"):
        check_probability_matrix([[0.2, 0.2]], input_name="p_defended")


def test_encode_labels_column_indices_and_sorted_labels():
    np.testing.assert_array_equal(encode_class_labels([0, 2, 1], 3), [0, 2, 1])
    np.testing.assert_array_equal(encode_class_labels([0.0, 1.0], 2), [0, 1])
    np.testing.assert_array_equal(
        encode_class_labels(["cat", "ant", "cat"], 2), [1, 0, 1]
    )
    # Labels 5 and 7 are not column indices of a 2-column matrix: use their order.
    np.testing.assert_array_equal(encode_class_labels([7, 5, 7], 2), [1, 0, 1])


def test_encode_labels_with_explicit_column_classes():
    codes = encode_class_labels(["b", "c", "a"], 3, labels=["c", "a", "b"])
    np.testing.assert_array_equal(codes, [2, 0, 1])
    with pytest.raises(ValueError, match="not in labels"):
        encode_class_labels(["z"], 3, labels=["c", "a", "b"])
    with pytest.raises(ValueError, match="has 2 entries"):
        encode_class_labels(["a"], 3, labels=["a", "b"])
    with pytest.raises(ValueError, match="duplicates"):
        encode_class_labels(["a"], 2, labels=["a", "a"])


def test_encode_labels_rejects_a_count_mismatch():
    with pytest.raises(ValueError, match="3 distinct labels but .* 2 columns"):
        encode_class_labels(["a", "b", "c"], 2)


def test_probabilities_and_labels_lengths_must_match():
    with pytest.raises(ValueError, match="y_true has 3 labels but y_prob has 2 rows"):
        check_probabilities_and_labels([0, 1, 1], [[0.5, 0.5], [0.5, 0.5]])


def test_import_optional_dependency_names_the_extra():
    with pytest.raises(ImportError) as info:
        import_optional_dependency(
            "skmid_no_such_module", extra="nn", feature="VIBClassifier"
        )
    message = str(info.value)
    assert "VIBClassifier requires" in message
    assert 'pip install "skmid[nn]"' in message


@pytest.mark.parametrize("n_classes", [0, -1, 2.5, float("nan"), "two", True])
def test_encode_class_labels_rejects_bad_n_classes(n_classes):
    with pytest.raises(ValueError, match="n_classes"):
        encode_class_labels([0, 1], n_classes)


@pytest.mark.parametrize(
    "y, message",
    [
        ([[0, 1], [1, 0]], "y must be 1-D"),
        ([0.0, float("nan")], "y must not contain NaN"),
        (np.array(["a", None], dtype=object), "y must not contain missing"),
    ],
)
def test_encode_class_labels_rejects_bad_labels(y, message):
    with pytest.raises(ValueError, match=message):
        encode_class_labels(y, 2)


@pytest.mark.parametrize("device", ["bogus", 3.5])
def test_resolve_device_names_the_parameter(device):
    pytest.importorskip("torch")
    from skmid.utils._torch import resolve_device

    with pytest.raises(ValueError, match="device must name a torch device"):
        resolve_device(device)
