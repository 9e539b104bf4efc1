"""The DP-SGD baseline: the same network trained with differentially private SGD."""

import warnings

import numpy as np
from sklearn.utils.metaestimators import available_if

from ..utils._optional import import_optional_dependency
from ._vib import _TabularNetClassifier, nn, torch


class MLPModule(nn.Module):
    """The VIB classifier's default network without the bottleneck.

    An MLP encoder (``hidden_units``, ReLU) to ``latent_dim`` units, ReLU, and a
    linear decoder; ``forward`` returns class probabilities.
    """

    def __init__(self, n_features, n_classes, hidden_units=(128,), latent_dim=32):
        super().__init__()
        from ..utils._torch import make_mlp

        self.encoder = make_mlp([n_features, *hidden_units, latent_dim])
        self.decoder = nn.Linear(latent_dim, n_classes)

    def forward(self, X):
        hidden = torch.relu(self.encoder(X))
        return nn.functional.softmax(self.decoder(hidden), dim=-1)


def _poisson_loader(dataset, batch_size=64, shuffle=None, generator=None, **kwargs):
    """Opacus' Poisson-sampled loader (expected batch size ``batch_size``)."""
    from opacus.data_loader import DPDataLoader

    return DPDataLoader(
        dataset, sample_rate=min(1.0, batch_size / len(dataset)), generator=generator
    )


class DPSGDClassifier(_TabularNetClassifier):
    r"""The MID paper's DP-SGD baseline: an MLP trained with DP-SGD (Opacus).

    The network of :class:`VIBClassifier` without the bottleneck
    (:class:`MLPModule`), trained by DP-SGD (Abadi et al. 2016): per-example
    gradients clipped to ``max_grad_norm``, Gaussian noise, and Poisson
    sampling of each batch (expected size ``batch_size``). The noise multiplier
    is chosen by Opacus so that ``max_epochs`` epochs spend at most
    ``(epsilon, delta)`` under the RDP accountant; ``epsilon_spent_`` reports
    what was spent. Requires the ``nn`` extra (torch, skorch) and ``opacus``.

    Parameters
    ----------
    epsilon : float, default=1.0
        Target privacy budget :math:`\epsilon > 0`.
    delta : float, default=1e-5
        Target :math:`\delta` (keep it below ``1 / n_samples``).
    max_grad_norm : float, default=1.0
        Per-example gradient clipping norm.
    hidden_units, latent_dim, random_state, max_epochs, batch_size, lr, verbose
        As for :class:`VIBClassifier` (``lr`` defaults to 0.1 with SGD).
    **kwargs
        Other ``NeuralNetClassifier`` arguments.

    Attributes
    ----------
    epsilon_spent_ : float
        Privacy spent by the training, from the RDP accountant.
    noise_multiplier_ : float
        The Gaussian noise multiplier used.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skmid.neural_network import DPSGDClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> model = DPSGDClassifier(epsilon=8.0, max_epochs=10, random_state=0)
    >>> model = model.fit(X[:1200] / 16, y[:1200])
    >>> bool(model.epsilon_spent_ <= 8.0 + 1e-6)
    True
    """

    def __init__(
        self,
        module=MLPModule,
        *,
        epsilon=1.0,
        delta=1e-5,
        max_grad_norm=1.0,
        hidden_units=(128,),
        latent_dim=None,
        random_state=None,
        criterion=torch.nn.NLLLoss,
        optimizer=torch.optim.SGD,
        lr=0.1,
        max_epochs=30,
        batch_size=64,
        train_split=None,
        verbose=0,
        **kwargs,
    ):
        kwargs.setdefault("iterator_train", _poisson_loader)
        super().__init__(
            module,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            verbose=verbose,
            **kwargs,
        )
        self.epsilon = epsilon
        self.delta = delta
        self.max_grad_norm = max_grad_norm
        self.hidden_units = hidden_units
        self.latent_dim = latent_dim
        self.random_state = random_state

    def _check_params(self):
        for name in ["epsilon", "delta", "max_grad_norm"]:
            value = getattr(self, name)
            if not (np.isscalar(value) and np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0; got {value!r}.")
        if self.delta >= 1:
            raise ValueError(f"delta must be < 1; got {self.delta!r}.")

    def fit(self, X, y, **fit_params):
        """Train with DP-SGD; sets ``epsilon_spent_``. Returns ``self``."""
        import_optional_dependency("opacus", extra="nn", feature="DPSGDClassifier")
        from opacus.accountants import RDPAccountant
        from opacus.accountants.utils import get_noise_multiplier

        X = self._as_float32(X)
        self._check_params()
        n_samples = len(X)
        self.sample_rate_ = min(1.0, self.batch_size / n_samples)
        self.noise_multiplier_ = float(
            get_noise_multiplier(
                target_epsilon=self.epsilon,
                target_delta=self.delta,
                sample_rate=self.sample_rate_,
                epochs=self.max_epochs,
                accountant="rdp",
            )
        )
        self.accountant_ = RDPAccountant()
        try:
            with warnings.catch_warnings():
                # Opacus' per-sample-gradient hooks fire on the module outputs
                # (the inputs need no gradient): expected, not a problem.
                warnings.filterwarnings("ignore", message="Full backward hook")
                super().fit(X, y, **fit_params)
        finally:
            self._unwrap()
        self.epsilon_spent_ = float(self.accountant_.get_epsilon(self.delta))
        return self

    @available_if(lambda self: False)
    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Not available: the privacy budget is accounted over one whole fit."""

    def initialize_optimizer(self, *args, **kwargs):
        from opacus import GradSampleModule
        from opacus.optimizers import DPOptimizer

        if not isinstance(self.module_, GradSampleModule):
            self.module_ = GradSampleModule(self.module_)
        super().initialize_optimizer(*args, **kwargs)
        self.optimizer_ = DPOptimizer(
            self.optimizer_,
            noise_multiplier=self.noise_multiplier_,
            max_grad_norm=self.max_grad_norm,
            expected_batch_size=self.batch_size,
        )
        self.optimizer_.attach_step_hook(
            self.accountant_.get_optimizer_hook_fn(sample_rate=self.sample_rate_)
        )
        return self

    def _unwrap(self):
        from opacus import GradSampleModule

        if isinstance(getattr(self, "module_", None), GradSampleModule):
            self.module_ = self.module_._module
        optimizer = getattr(self, "optimizer_", None)
        if optimizer is not None and hasattr(optimizer, "original_optimizer"):
            self.optimizer_ = optimizer.original_optimizer
