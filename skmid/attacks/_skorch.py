"""Training an attack's network through skorch: history, callbacks, device.

Importing this module imports torch and skorch; the attacks import it lazily,
inside the methods that train, so that ``import skmid`` imports neither.
"""

from ..utils._optional import import_optional_dependency
from ..utils._torch import torch

skorch = import_optional_dependency("skorch", extra="nn", feature="neural attacks")

from skorch import NeuralNet  # noqa: E402
from skorch.callbacks import Callback  # noqa: E402

from ._base import check_training_loss  # noqa: E402


class ShuffledBatches:
    """Mini-batches of a skorch dataset, as slices of its arrays in a shuffled order.

    What skorch's DataLoader would give with ``shuffle=True``, without its
    per-row indexing and collation (the networks here are small: that
    overhead would cost more than the steps). The order of each epoch is drawn
    from ``generator``.
    """

    def __init__(self, dataset, *, batch_size, generator):
        self.X = _tensors(dataset.X)
        self.y = torch.as_tensor(dataset.y)
        self.n = len(self.y)
        self.batch_size = batch_size
        self.generator = generator

    def __len__(self):
        return -(-self.n // self.batch_size)

    def __iter__(self):
        order = torch.randperm(self.n, generator=self.generator)
        for start in range(0, self.n, self.batch_size):
            yield self._batch(order[start : start + self.batch_size])

    def _batch(self, rows):
        if isinstance(self.X, dict):
            return {key: value[rows] for key, value in self.X.items()}, self.y[rows]
        return self.X[rows], self.y[rows]


class BalancedBatches(ShuffledBatches):
    """Batches of as many members as non-members, drawn with replacement.

    The target ``y`` is the membership (1.0 member, 0.0 non-member); an epoch
    is as many batches as the rows fill. A batch larger than the rows would
    only repeat them (and a huge ``batch_size`` exhaust memory): it is capped
    at the number of rows.
    """

    def __init__(self, dataset, *, batch_size, generator):
        super().__init__(dataset, batch_size=batch_size, generator=generator)
        self.batch_size = min(batch_size, self.n)
        self.members = torch.nonzero(self.y == 1).ravel()
        self.others = torch.nonzero(self.y == 0).ravel()

    def __iter__(self):
        half = (self.batch_size // 2,)
        for _ in range(len(self)):
            inside = torch.randint(len(self.members), half, generator=self.generator)
            outside = torch.randint(len(self.others), half, generator=self.generator)
            yield self._batch(torch.cat([self.members[inside], self.others[outside]]))


def _tensors(X):
    if isinstance(X, dict):
        return {key: torch.as_tensor(value) for key, value in X.items()}
    return torch.as_tensor(X)


class FiniteTrainingLoss(Callback):
    """Stops a training whose loss diverged, with a ValueError naming ``lr``."""

    def __init__(self, attack):
        self.attack = attack

    def on_epoch_end(self, net, **kwargs):
        loss = torch.tensor(net.history[-1, "train_loss"])
        check_training_loss(loss, self.attack)


def train_with_skorch(
    module, X, y, *, attack, criterion, generator, device, batches=ShuffledBatches
):
    """Train ``module`` on ``X -> y`` with Adam through skorch's ``NeuralNet``.

    The module is used as given (already initialised from a local seed, see
    :func:`skmid.utils._torch.build_network`); the batches are drawn with
    ``generator`` (:class:`ShuffledBatches`), so neither torch's nor NumPy's
    global random state is read or changed. ``attack`` gives ``lr``,
    ``max_epochs`` and ``batch_size``; a loss that stops being finite raises a
    ValueError naming ``lr``.

    Parameters
    ----------
    module : torch.nn.Module
    X : ndarray of float32, or dict of them
        Inputs of the network (a dict is passed to ``forward`` as keywords).
    y : ndarray of float32
        Targets of the network, row for row.
    attack : attack
        The attack that trains (its ``lr``, ``max_epochs``, ``batch_size``).
    criterion : torch loss class
    generator : torch.Generator
        Shuffles the batches.
    device : torch.device
    batches : class, default=ShuffledBatches
        Makes the batches of an epoch (skorch's ``iterator_train``).

    Returns
    -------
    net : skorch.NeuralNet
        The trained net; ``net.module_`` is the module, ``net.history`` the
        per-epoch losses.
    """
    net = NeuralNet(
        module,
        criterion=criterion,
        optimizer=torch.optim.Adam,
        lr=attack.lr,
        max_epochs=attack.max_epochs,
        batch_size=attack.batch_size,
        iterator_train=batches,
        iterator_train__generator=generator,
        train_split=None,
        callbacks=[("finite_loss", FiniteTrainingLoss(attack))],
        device=device,
        verbose=0,
    )
    return net.fit(X, y)
