"""MI-Face and the class-reconstruction contract."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from skmid.attacks import MIFaceAttack, check_attack
from skmid.attacks._reconstruction import FINGERPRINT_ROWS, total_variation
from skmid.datasets import load_inversion_split
from skmid.metrics import fit_inversion_evaluator, inversion_attack_accuracy
from tests._doubles import CountingModel


@pytest.fixture(scope="module")
def digits():
    data = load_inversion_split("digits")
    model = LogisticRegression(max_iter=1000).fit(data.X_private, data.y_private)
    return data, model


@pytest.fixture(scope="module")
def public_mean_accuracy(digits):
    data, _ = digits
    classes = data.private_classes
    same = np.repeat(data.X_public.mean(axis=0, keepdims=True), len(classes), 0)
    return inversion_attack_accuracy(data.X_private, data.y_private, same, classes)


def test_white_box_on_a_linear_model_follows_its_weights():
    # The first step from x = 0 is along w_c - sum_k p_k w_k; a short ascent
    # (no clipping inside [-1, 1]) keeps that direction.
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(300, 16))
    y = np.argmax(X[:, :3] * [1.0, 2.0, 3.0], axis=1)
    model = LogisticRegression().fit(X, y)
    attack = MIFaceAttack(max_iter=5, step_size=0.01).fit(X)
    images = attack.reconstruct(model)
    W = model.coef_ - model.coef_.mean(axis=0)
    for c in range(3):
        correlation = np.corrcoef(images[c], W[c])[0, 1]
        assert correlation > 0.99
    # The model is more confident in each class on its reconstruction.
    assert np.all(np.diag(model.predict_proba(images)) > 1 / 3)


def test_analytic_gradient_matches_finite_differences():
    rng = np.random.RandomState(1)
    X = rng.uniform(size=(200, 6))
    y = rng.randint(0, 3, 200)
    model = LogisticRegression().fit(X, y)
    for loss in ("confidence", "log_confidence"):
        attack = MIFaceAttack(loss=loss).fit(X)
        x = rng.uniform(size=(3, 6))
        codes = np.array([0, 1, 2])
        cost, grad = attack._model_gradient(model, x, codes)
        h = 1e-6
        for j in range(6):
            step = np.zeros(6)
            step[j] = h
            up = attack._model_gradient(model, x + step, codes)[0]
            down = attack._model_gradient(model, x - step, codes)[0]
            np.testing.assert_allclose((up - down) / (2 * h), grad[:, j], atol=1e-6)
        np.testing.assert_allclose(
            cost, attack._cost(model.predict_proba(x)[[0, 1, 2], codes])
        )


def test_total_variation_gradient_matches_finite_differences():
    rng = np.random.RandomState(2)
    x = rng.uniform(size=(2, 12))
    tv, grad = total_variation(x, (3, 4))
    h = 1e-6
    for j in range(12):
        step = np.zeros(12)
        step[j] = h
        slope = (
            total_variation(x + step, (3, 4))[0] - total_variation(x - step, (3, 4))[0]
        ) / (2 * h)
        np.testing.assert_allclose(slope, grad[:, j], atol=1e-5)
    flat = np.ones((1, 12))
    assert total_variation(flat, (3, 4))[0][0] == pytest.approx(12 * 1e-3)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"tv_weight": 0.001},
        {"access": "black-box", "max_queries": 2000, "random_state": 0},
    ],
    ids=["white-box", "white-box-tv", "black-box"],
)
def test_beats_the_public_mean_on_digits(digits, public_mean_accuracy, params):
    data, model = digits
    attack = MIFaceAttack(max_iter=100, **params).fit(data.X_public)
    accuracy = attack.score(model, data.X_private, data.y_private)
    assert public_mean_accuracy == pytest.approx(0.2)
    assert accuracy >= 0.6 > public_mean_accuracy
    images = attack.reconstruct(model)
    assert images.min() >= data.X_public.min() and images.max() <= data.X_public.max()


def test_black_box_honours_the_query_budget(digits):
    data, model = digits
    counting = CountingModel(model)
    attack = MIFaceAttack(
        access="black-box", n_directions=7, max_queries=500, random_state=0
    ).fit(data.X_public)
    attack.reconstruct(counting, classes=[1, 3])
    # The reconstruction cache fingerprints the model on a few public rows.
    assert attack.n_queries_ + FINGERPRINT_ROWS == counting.rows
    assert attack.n_queries_ <= 2 * 500
    assert attack.n_queries_ == 2 * (500 // 14) * 14  # every affordable step
    with pytest.raises(ValueError, match="max_queries"):
        MIFaceAttack(access="black-box", n_directions=30, max_queries=50).fit(
            data.X_public
        ).reconstruct(model)


def test_black_box_is_reproducible_and_seeded(digits):
    data, model = digits
    attack = MIFaceAttack(access="black-box", max_queries=400, random_state=0)
    first = attack.fit(data.X_public).reconstruct(model)
    np.testing.assert_array_equal(first, attack.reconstruct(model))
    other = attack.set_params(random_state=1).reconstruct(model)
    assert not np.array_equal(first, other)


def test_infer_gives_each_row_its_class_image(digits):
    data, model = digits
    attack = MIFaceAttack(max_iter=10).fit(data.X_public)
    rows = attack.infer(model, data.X_private[:20], data.y_private[:20])
    images = attack.reconstruct(model)
    np.testing.assert_array_equal(rows, images[data.y_private[:20]])


def test_evaluator_is_cached_per_private_data(digits):
    data, model = digits
    attack = MIFaceAttack(max_iter=5).fit(data.X_public)
    attack.score(model, data.X_private, data.y_private)
    cached = attack._evaluators
    attack.score(model, data.X_private, data.y_private, metric="knn_distance")
    assert attack._evaluators is cached
    attack.score(model, data.X_private[:300], data.y_private[:300])
    assert attack._evaluators is not cached


def test_metrics_and_orientation(digits):
    data, model = digits
    attack = MIFaceAttack(max_iter=50).fit(data.X_public)
    assert attack.kind == "class_reconstruction"
    assert attack.higher_is_more_leakage("accuracy")
    assert attack.higher_is_more_leakage("top5_accuracy")
    for metric in ("knn_distance", "knn_pixel_distance", "mse"):
        assert not attack.higher_is_more_leakage(metric)
    # The score is the metric function of skmid.metrics on the reconstructions.
    evaluator = fit_inversion_evaluator(data.X_private, data.y_private)
    expected = inversion_attack_accuracy(
        data.X_private,
        data.y_private,
        attack.reconstruct(model),
        data.private_classes,
        evaluator=evaluator,
        prefit=True,
    )
    assert attack.score(model, data.X_private, data.y_private) == expected
    images = attack.reconstruct(model)
    means = np.array([data.X_private[data.y_private == c].mean(0) for c in range(5)])
    assert attack.score(
        model, data.X_private, data.y_private, metric="mse"
    ) == pytest.approx(np.mean((images - means) ** 2))


def test_white_box_through_torch_matches_the_analytic_gradient(digits):
    torch = pytest.importorskip("torch")
    data, model = digits

    class Linear(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(64, 5)
            self.classes_ = model.classes_

        def forward(self, x):
            return self.layer(x)

    module = Linear()
    with torch.no_grad():
        module.layer.weight.copy_(torch.as_tensor(model.coef_))
        module.layer.bias.copy_(torch.as_tensor(model.intercept_))
    attack = MIFaceAttack(max_iter=30).fit(data.X_public)
    np.testing.assert_allclose(
        attack.reconstruct(module), attack.reconstruct(model), atol=1e-3
    )


def test_clear_errors(digits):
    data, model = digits
    attack = MIFaceAttack(max_iter=5).fit(data.X_public)
    tree = DecisionTreeClassifier().fit(data.X_private, data.y_private)
    with pytest.raises(ValueError, match="access='black-box'"):
        attack.reconstruct(tree)
    with pytest.raises(ValueError, match="never saw"):
        attack.reconstruct(model, classes=[7])
    with pytest.raises(ValueError, match="needs y"):
        attack.score(model, data.X_private)
    with pytest.raises(ValueError, match="shape"):
        attack.score(model, data.X_private[:, :10], data.y_private)
    with pytest.raises(ValueError, match="image_shape"):
        MIFaceAttack(tv_weight=0.1, image_shape=(3, 3)).fit(data.X_public)
    with pytest.raises(ValueError, match="different pixel values"):
        MIFaceAttack().fit(np.zeros((3, 4)))


def test_check_attack():
    check_attack(MIFaceAttack(max_iter=5))
    check_attack(MIFaceAttack(access="black-box", max_queries=100))


@pytest.mark.slow
def test_skorch_cnn_target_in_float32(digits, public_mean_accuracy):
    torch = pytest.importorskip("torch")
    skorch = pytest.importorskip("skorch")
    data, _ = digits

    class CNN(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(1, 4, 3, padding=1)
            self.out = torch.nn.Linear(256, 5)

        def forward(self, x):
            return self.out(torch.relu(self.conv(x)).flatten(1))

    X_private = data.X_private.reshape(-1, 1, 8, 8).astype(np.float32)
    X_public = data.X_public.reshape(-1, 1, 8, 8).astype(np.float32)
    net = skorch.NeuralNetClassifier(
        CNN,
        criterion=torch.nn.CrossEntropyLoss,  # predict_proba applies softmax
        max_epochs=10,
        lr=0.1,
        train_split=None,
        verbose=0,
        iterator_train__generator=torch.Generator().manual_seed(0),
    )
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net.fit(X_private, data.y_private)
    assert net.score(X_private, data.y_private) > 0.9
    for attack in (
        MIFaceAttack(max_iter=100),
        MIFaceAttack(access="black-box", max_queries=2000, random_state=0),
    ):
        attack.fit(X_public)
        assert attack.reconstruct(net).shape == (5, 1, 8, 8)
        assert attack.score(net, X_private, data.y_private) > public_mean_accuracy


@pytest.mark.slow
def test_faces_need_the_public_mean_start(shared_data_home):
    data = load_inversion_split("faces", data_home=shared_data_home)
    model = LogisticRegression(max_iter=3000).fit(data.X_private, data.y_private)
    evaluator = fit_inversion_evaluator(data.X_private, data.y_private)
    accuracy = {}
    for init in ("zeros", "public_mean"):
        attack = MIFaceAttack(init=init, loss="log_confidence", max_iter=100)
        images = attack.fit(data.X_public).reconstruct(model)
        accuracy[init] = inversion_attack_accuracy(
            data.X_private,
            data.y_private,
            images,
            data.private_classes,
            evaluator=evaluator,
            prefit=True,
        )
    # From a black image the confident pattern is too faint to be a face; from
    # the mean face the same ascent makes each person recognisable.
    assert accuracy["zeros"] <= 0.1
    assert accuracy["public_mean"] >= 0.5


def test_reconstructions_are_cached_per_model(digits):
    # Scoring one model with several metrics reconstructs it once; another
    # model, a refitted one or new parameters reconstruct again.
    data, model = digits
    counting = CountingModel(model)
    attack = MIFaceAttack(
        access="black-box", n_directions=5, max_queries=200, random_state=0
    ).fit(data.X_public)
    first = attack.score(counting, data.X_private, data.y_private)
    searched = counting.rows - FINGERPRINT_ROWS
    assert searched == attack.n_queries_ > 0
    for metric in ("top5_accuracy", "knn_pixel_distance", "mse"):
        attack.score(counting, data.X_private, data.y_private, metric=metric)
    assert counting.rows == searched + 4 * FINGERPRINT_ROWS  # fingerprints only
    assert attack.n_queries_ == searched  # the cost of the cached images
    assert attack.score(counting, data.X_private, data.y_private) == first

    other = CountingModel(
        LogisticRegression(C=0.01, max_iter=1000).fit(data.X_private, data.y_private)
    )
    attack.score(other, data.X_private, data.y_private)
    assert other.rows == searched + FINGERPRINT_ROWS

    before = counting.rows
    attack.set_params(max_queries=100).score(counting, data.X_private, data.y_private)
    assert counting.rows - before > FINGERPRINT_ROWS
    # The evaluator only scores: changing it keeps the reconstructions.
    before = counting.rows
    attack.set_params(evaluator=DecisionTreeClassifier(random_state=0))
    attack.score(counting, data.X_private, data.y_private)
    assert counting.rows - before == FINGERPRINT_ROWS


def test_refitted_model_is_reconstructed_again(digits):
    data, _ = digits
    model = LogisticRegression(max_iter=1000).fit(data.X_private, data.y_private)
    counting = CountingModel(model)
    attack = MIFaceAttack(
        access="black-box", n_directions=5, max_queries=100, random_state=0
    ).fit(data.X_public)
    attack.reconstruct(counting)
    # The same object, refitted on other data: its outputs change.
    shuffled = np.random.RandomState(0).permutation(data.y_private)
    model.fit(data.X_private, shuffled)
    before = counting.rows
    attack.reconstruct(counting)
    assert counting.rows - before > FINGERPRINT_ROWS
