"""ConvNetModule, the convolutional target for the image experiments."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn.model_selection import train_test_split  # noqa: E402

from skmid.attacks import MIFaceAttack  # noqa: E402
from skmid.datasets import load_inversion_split  # noqa: E402
from skmid.neural_network import ConvNetModule, MIDClassifier  # noqa: E402


def test_flat_and_shaped_inputs_give_the_same_probabilities():
    net = ConvNetModule(image_shape=(1, 6, 10), n_classes=4, channels=(3,))
    x = torch.rand(5, 1, 6, 10)
    with torch.no_grad():
        shaped, flat = net(x), net(x.reshape(5, -1))
    torch.testing.assert_close(shaped, flat)
    torch.testing.assert_close(shaped.sum(1), torch.ones(5))
    logits = ConvNetModule(image_shape=(6, 10), n_classes=4, output="logits")
    logits.load_state_dict(ConvNetModule(image_shape=(6, 10), n_classes=4).state_dict())
    assert logits(x.reshape(5, -1)).shape == (5, 4)


def test_head_is_bounded_by_pooled_size():
    # 64x64 images pooled twice are 16x16, averaged down to 8x8: the dense
    # layer sees 32 * 8 * 8 values whatever the image size.
    net = ConvNetModule(image_shape=(64, 64), n_classes=3)
    assert net.head[1].in_features == 32 * 8 * 8
    small = ConvNetModule(image_shape=(8, 8), n_classes=3)
    assert small.head[1].in_features == 32 * 2 * 2
    # A 1-pixel-wide image is not pooled past its size.
    thin = ConvNetModule(image_shape=(1, 9), n_classes=2, channels=(4, 4, 4))
    assert thin(torch.zeros(2, 9)).shape == (2, 2)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"image_shape": (64,)}, "image_shape"),
        ({"image_shape": (0, 8)}, "image_shape"),
        ({"n_classes": 1}, "n_classes"),
        ({"channels": ()}, "channels"),
        ({"channels": (8, -1)}, "channels"),
        ({"kernel_size": 4}, "kernel_size"),
        ({"hidden_units": 0}, "hidden_units"),
        ({"dropout": 1.0}, "dropout"),
        ({"output": "log"}, "output"),
    ],
)
def test_bad_arguments(params, match):
    kwargs = {"image_shape": (8, 8), "n_classes": 3, **params}
    with pytest.raises(ValueError, match=match):
        ConvNetModule(**kwargs)


def test_wrong_input_size_is_named():
    net = ConvNetModule(image_shape=(8, 8), n_classes=3)
    with pytest.raises(ValueError, match="64 values"):
        net(torch.zeros(2, 63))


def test_trains_on_the_private_digits_and_is_inverted_white_box():
    data = load_inversion_split("digits")
    X_train, X_test, y_train, y_test = train_test_split(
        data.X_private,
        data.y_private,
        test_size=0.3,
        random_state=0,
        stratify=data.y_private,
    )
    clf = MIDClassifier(
        module=ConvNetModule,
        module__image_shape=data.image_shape,
        module__n_classes=len(data.private_classes),
        lam=0.0,
        max_epochs=5,
        lr=0.01,
        random_state=0,
    ).fit(X_train, y_train)
    assert clf.score(X_test, y_test) > 0.9
    attack = MIFaceAttack(max_iter=30, init="public_mean").fit(data.X_public)
    images = attack.reconstruct(clf)
    assert images.shape == (len(data.private_classes), 64)
    # The reconstructions are assigned to their classes by the network.
    assert np.mean(clf.predict(images.astype(np.float32)) == clf.classes_) >= 0.8
