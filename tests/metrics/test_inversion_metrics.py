"""Attack accuracy and KNN distance of class reconstructions: not fooled."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from skmid.datasets import load_inversion_split
from skmid.metrics import (
    fit_inversion_evaluator,
    inversion_attack_accuracy,
    inversion_knn_distance,
    make_inversion_evaluator,
)


@pytest.fixture(scope="module")
def faces(shared_data_home):
    return load_inversion_split("faces", data_home=shared_data_home)


@pytest.fixture(scope="module")
def faces_evaluator(faces):
    return fit_inversion_evaluator(faces.X_private, faces.y_private)


def _class_means(X, y, classes):
    return np.array([X[y == c].mean(axis=0) for c in classes])


def test_public_mean_face_scores_at_chance(faces, faces_evaluator):
    classes = faces.private_classes
    same = np.repeat(faces.X_public.mean(axis=0, keepdims=True), len(classes), 0)
    for k in (1, 5):
        accuracy = inversion_attack_accuracy(
            faces.X_private,
            faces.y_private,
            same,
            classes,
            evaluator=faces_evaluator,
            prefit=True,
            top_k=k,
        )
        assert accuracy == pytest.approx(k / len(classes))


def test_private_class_means_score_high(faces, faces_evaluator):
    classes = faces.private_classes
    means = _class_means(faces.X_private, faces.y_private, classes)
    accuracy = inversion_attack_accuracy(
        faces.X_private,
        faces.y_private,
        means,
        classes,
        evaluator=faces_evaluator,
        prefit=True,
    )
    assert accuracy >= 0.9
    # The KNN distance separates them too, in features and in pixels.
    same = np.repeat(faces.X_public.mean(axis=0, keepdims=True), len(classes), 0)
    for space in ("features", "pixels"):
        near = inversion_knn_distance(
            faces.X_private,
            faces.y_private,
            means,
            classes,
            evaluator=faces_evaluator,
            prefit=True,
            space=space,
        )
        far = inversion_knn_distance(
            faces.X_private,
            faces.y_private,
            same,
            classes,
            evaluator=faces_evaluator,
            prefit=True,
            space=space,
        )
        assert 0 < near < far


def test_another_persons_face_is_not_counted(faces, faces_evaluator):
    # Each class given the mean face of the next private person: a real face,
    # the wrong one.
    classes = faces.private_classes
    means = _class_means(faces.X_private, faces.y_private, classes)
    accuracy = inversion_attack_accuracy(
        faces.X_private,
        faces.y_private,
        np.roll(means, 1, axis=0),
        classes,
        evaluator=faces_evaluator,
        prefit=True,
    )
    assert accuracy <= 0.1


def test_accuracy_against_a_reference_computation():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(90, 6))
    y = np.repeat(np.array(["a", "b", "c"]), 30)
    X[y == "b"] += 3
    X[y == "c"] -= 3
    R = rng.normal(size=(12, 6)) * 2
    classes = rng.choice(["a", "b", "c"], 12)
    evaluator = LogisticRegression().fit(X, y)
    scores = evaluator.decision_function(R)  # continuous: no ties
    order = np.argsort(-scores, axis=1)
    columns = np.searchsorted(evaluator.classes_, classes)
    for k in (1, 2):
        expected = np.mean([c in order[i, :k] for i, c in enumerate(columns)])
        got = inversion_attack_accuracy(
            X, y, R, classes, evaluator=evaluator, prefit=True, top_k=k
        )
        assert got == pytest.approx(expected)
    assert 0 < expected < 1  # the case is not trivial
    # An unfitted evaluator is cloned and fitted on (X, y): the same value.
    assert inversion_attack_accuracy(
        X, y, R, classes, evaluator=LogisticRegression()
    ) == inversion_attack_accuracy(X, y, R, classes, evaluator=evaluator, prefit=True)
    assert inversion_attack_accuracy(X, y, R, classes, top_k=3) == 1.0


def test_knn_distance_against_a_reference_and_in_features():
    rng = np.random.RandomState(1)
    X = rng.uniform(size=(40, 5))
    y = np.repeat([0, 1], 20)
    R = rng.uniform(size=(2, 5))
    expected = np.mean(
        [np.linalg.norm(X[y == c] - R[i], axis=1).min() for i, c in enumerate([0, 1])]
    )
    assert inversion_knn_distance(X, y, R, [0, 1], space="pixels") == pytest.approx(
        expected
    )
    evaluator = fit_inversion_evaluator(X, y)
    F = evaluator[:-1].transform(X)
    G = evaluator[:-1].transform(R)
    expected = np.mean(
        [np.linalg.norm(F[y == c] - G[i], axis=1).min() for i, c in enumerate([0, 1])]
    )
    got = inversion_knn_distance(X, y, R, [0, 1], evaluator=evaluator, prefit=True)
    assert got == pytest.approx(expected)


def test_images_and_rows_give_the_same_values():
    rng = np.random.RandomState(2)
    X = rng.uniform(size=(30, 3, 3))
    y = np.arange(30) % 3
    R = rng.uniform(size=(3, 3, 3))
    flat = inversion_attack_accuracy(X.reshape(30, -1), y, R.reshape(3, -1), [0, 1, 2])
    assert inversion_attack_accuracy(X, y, R, [0, 1, 2]) == flat


def test_default_evaluator_is_of_another_family():
    evaluator = make_inversion_evaluator()
    assert type(evaluator[-1]).__name__ == "SVC"
    assert evaluator[0].whiten


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"classes": [0, 7]}, "no private row"),
        ({"classes": [0]}, "one class per reconstruction"),
        ({"reconstructions": np.ones((2, 3))}, "values per image"),
        ({"reconstructions": np.full((2, 4), np.nan)}, "NaN"),
        ({"y": np.zeros(10)}, "at least 2 classes"),
        ({"y": np.arange(9) % 2}, "inconsistent"),
        ({"top_k": 0}, "top_k"),
        ({"prefit": True}, "prefit=True needs a fitted evaluator"),
    ],
)
def test_clear_errors(kwargs, message):
    rng = np.random.RandomState(0)
    args = {
        "X": rng.uniform(size=(10, 4)),
        "y": np.arange(10) % 2,
        "reconstructions": rng.uniform(size=(2, 4)),
        "classes": [0, 1],
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        inversion_attack_accuracy(**args)


def test_unfitted_prefit_evaluator_is_refused():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        inversion_knn_distance(
            np.eye(4),
            [0, 0, 1, 1],
            np.eye(4)[:2],
            [0, 1],
            evaluator=make_inversion_evaluator(2),
            prefit=True,
        )
