"""Torch modules to use as the ``module`` of skmid's and skorch's classifiers."""

import numbers

import numpy as np

from ._vib import nn, torch


def _positive_int(value, name):
    if (
        not isinstance(value, numbers.Integral)
        or isinstance(value, (bool, np.bool_))
        or value < 1
    ):
        raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    return int(value)


class ConvNetModule(nn.Module):
    r"""A small convolutional network for images given as flat rows.

    The target model of the model-inversion experiments on images (the
    papers attack convolutional face recognisers). Each input row is
    reshaped to ``image_shape`` (``(height, width)`` or ``(channels,
    height, width)``), so the network takes the flat rows that scikit-learn
    estimators, :class:`~skmid.postprocessing.DefendedClassifier` and the
    attacks pass around (or images already so shaped). Then, for each width
    :math:`c_i` of ``channels``, a block

    .. math::

        x \leftarrow \operatorname{maxpool}_{2 \times 2}\big(\operatorname{ReLU}
        (\operatorname{conv}_{k \times k}^{c_i}(x))\big)

    (``same`` padding; the pooling is skipped once a side is 1), an average
    pooling down to at most ``pooled_size`` :math:`\times` ``pooled_size``
    (which bounds the dense head whatever the image size), a ReLU hidden
    layer of ``hidden_units`` units with dropout, and a linear layer to the
    ``n_classes`` scores. ``forward`` returns class probabilities (softmax),
    as skorch's classifiers expect with their default ``NLLLoss``; with
    ``output="logits"`` it returns the scores, for
    ``criterion=torch.nn.CrossEntropyLoss``.

    Use it as the ``module`` of skorch's ``NeuralNetClassifier`` or of
    :class:`MIDClassifier` (``module=ConvNetModule``,
    ``module__image_shape=(8, 8)``, ``module__n_classes=10``); white-box
    attacks differentiate it through the fitted net's ``module_``.

    Parameters
    ----------
    image_shape : tuple of int
        ``(height, width)`` or ``(channels, height, width)`` of one image.
    n_classes : int
        Number of classes (at least 2).
    channels : tuple of int, default=(16, 32)
        Output channels of the convolution blocks (at least one block).
    kernel_size : int, default=3
        Side of the convolution kernels (odd, for ``same`` padding).
    hidden_units : int, default=64
        Width of the hidden dense layer.
    pooled_size : int, default=8
        Side the feature maps are average-pooled to, at most, before the
        dense layers.
    dropout : float, default=0.0
        Dropout probability before the last layer, in [0, 1).
    output : {"proba", "logits"}, default="proba"
        What ``forward`` returns.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skmid.neural_network import ConvNetModule
    >>> net = ConvNetModule(image_shape=(8, 8), n_classes=3)
    >>> proba = net(torch.zeros(5, 64))
    >>> tuple(proba.shape), bool(torch.allclose(proba.sum(1), torch.ones(5)))
    ((5, 3), True)

    As the network of :class:`MIDClassifier` (``lam=0`` trains it plainly),
    on the private digits of :func:`~skmid.datasets.load_inversion_split`:

    >>> from sklearn.model_selection import train_test_split
    >>> from skmid.datasets import load_inversion_split
    >>> from skmid.neural_network import MIDClassifier
    >>> data = load_inversion_split("digits")
    >>> X_train, X_test, y_train, y_test = train_test_split(
    ...     data.X_private, data.y_private, test_size=0.3, random_state=0
    ... )
    >>> clf = MIDClassifier(
    ...     module=ConvNetModule, module__image_shape=data.image_shape,
    ...     module__n_classes=5, lam=0.0, max_epochs=5, lr=0.01, random_state=0,
    ... )
    >>> bool(clf.fit(X_train, y_train).score(X_test, y_test) > 0.9)
    True
    """

    def __init__(
        self,
        image_shape,
        n_classes,
        channels=(16, 32),
        kernel_size=3,
        hidden_units=64,
        pooled_size=8,
        dropout=0.0,
        output="proba",
    ):
        super().__init__()
        shape = tuple(image_shape) if np.ndim(image_shape) == 1 else None
        if shape is None or len(shape) not in (2, 3):
            raise ValueError(
                "image_shape must be (height, width) or (channels, height, width); "
                f"got {image_shape!r}."
            )
        shape = tuple(_positive_int(s, "each side of image_shape") for s in shape)
        if len(shape) == 2:
            shape = (1, *shape)
        n_classes = _positive_int(n_classes, "n_classes")
        if n_classes < 2:
            raise ValueError(f"n_classes must be at least 2; got {n_classes}.")
        if np.ndim(channels) != 1 or len(channels) == 0:
            raise ValueError(
                f"channels must be a non-empty tuple of positive integers; got "
                f"{channels!r}."
            )
        channels = tuple(_positive_int(c, "each of channels") for c in channels)
        kernel_size = _positive_int(kernel_size, "kernel_size")
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd; got {kernel_size}.")
        hidden_units = _positive_int(hidden_units, "hidden_units")
        pooled_size = _positive_int(pooled_size, "pooled_size")
        if not (isinstance(dropout, numbers.Real) and 0.0 <= dropout < 1.0):
            raise ValueError(f"dropout must be in [0, 1); got {dropout!r}.")
        if output not in ("proba", "logits"):
            raise ValueError(f"output must be 'proba' or 'logits'; got {output!r}.")
        self.image_shape = shape
        self.output = output
        layers = []
        n_in, height, width = shape
        for n_out in channels:
            layers += [
                nn.Conv2d(n_in, n_out, kernel_size, padding=kernel_size // 2),
                nn.ReLU(),
            ]
            if min(height, width) >= 2:
                layers.append(nn.MaxPool2d(2))
                height, width = height // 2, width // 2
            n_in = n_out
        pooled = (min(height, pooled_size), min(width, pooled_size))
        layers.append(nn.AdaptiveAvgPool2d(pooled))
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(n_in * pooled[0] * pooled[1], hidden_units),
            nn.ReLU(),
            nn.Dropout(float(dropout)),
            nn.Linear(hidden_units, n_classes),
        )

    def forward(self, X):
        """Class probabilities (or scores) of flat or shaped images."""
        n_values = int(np.prod(self.image_shape))
        if X.shape[1:] != torch.Size(self.image_shape):
            if int(np.prod(X.shape[1:])) != n_values:
                raise ValueError(
                    f"ConvNetModule(image_shape={self.image_shape}) takes inputs of "
                    f"{n_values} values; got inputs of shape {tuple(X.shape[1:])}."
                )
            X = X.reshape(len(X), *self.image_shape)
        scores = self.head(self.features(X))
        if self.output == "logits":
            return scores
        return nn.functional.softmax(scores, dim=-1)
