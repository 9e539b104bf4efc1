"""The DP-SGD baseline: the same network trained with differentially private SGD."""

import math
import numbers
import warnings

import numpy as np
from sklearn.utils._param_validation import Interval
from sklearn.utils.metaestimators import available_if

from ..utils._optional import import_optional_dependency
from ._vib import NOISE_KEY, PassthroughScoring, _TabularNetClassifier, nn, torch

#: The noise multipliers searched for the one that spends the budget: with more
#: noise than the largest nothing is learned; with less than the smallest the
#: noise no longer matters against clipped gradients (the budget is then met
#: with room to spare).
MIN_NOISE_MULTIPLIER, MAX_NOISE_MULTIPLIER = 1e-3, 1e6
#: The search stops once the spent epsilon is within this relative distance
#: below the target, or the noise multiplier is known to this relative
#: precision; the step cap bounds it whatever the accountant returns.
CALIBRATION_RTOL, MAX_CALIBRATION_STEPS = 1e-3, 64


class MLPModule(nn.Module):
    """The VIB classifier's default network without the bottleneck.

    An MLP encoder (``hidden_layer_sizes``, ReLU) to ``latent_dim`` units, ReLU,
    and a linear decoder; ``forward`` returns class probabilities.
    """

    def __init__(self, n_features, n_classes, hidden_layer_sizes=(128,), latent_dim=32):
        super().__init__()
        from ..utils._torch import make_mlp

        self.encoder = make_mlp([n_features, *hidden_layer_sizes, latent_dim])
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


def _spent_epsilon(noise_multiplier, sample_rate, steps, delta):
    """Opacus' RDP epsilon; a NaN is reported as infinite (never as within budget).

    ``noise_multiplier=None`` gives the least any noise can spend: what the
    RDP-to-DP conversion alone spends (the accountant itself would loop forever
    on an infinite noise multiplier).
    """
    from opacus.accountants import RDPAccountant
    from opacus.accountants.analysis.rdp import get_privacy_spent

    orders = RDPAccountant.DEFAULT_ALPHAS
    with warnings.catch_warnings():
        # The optimal RDP order at the end of the accountant's grid: the bound
        # is valid, only a little loose.
        warnings.filterwarnings("ignore", message="Optimal order is the")
        if noise_multiplier is None:
            spent, _ = get_privacy_spent(
                orders=orders, rdp=np.zeros(len(orders)), delta=delta
            )
        else:
            accountant = RDPAccountant()
            accountant.history = [(noise_multiplier, sample_rate, steps)]
            spent = accountant.get_epsilon(delta, alphas=orders)
    return math.inf if math.isnan(spent) else float(spent)


def calibrate_noise_multiplier(epsilon, delta, sample_rate, steps):
    """The least noise multiplier with which ``steps`` DP-SGD steps spend ``epsilon``.

    Under Opacus' RDP accountant: a bracket grown by factors of 10 from 1, then
    the Illinois variant of regula falsi on the logarithms, which converges in
    a few evaluations (each can take a second for large sampling rates). Every
    loop is bounded (Opacus' own search never ends for zero steps, for
    instance). Returns ``MIN_NOISE_MULTIPLIER`` if even that little noise stays
    within ``epsilon``; the result always spends at most ``epsilon``.

    Raises
    ------
    ValueError
        If no noise multiplier up to ``MAX_NOISE_MULTIPLIER`` spends at most
        ``epsilon``.
    """

    def excess(noise_multiplier):
        """log(spent / epsilon): positive while there is too little noise."""
        spent = _spent_epsilon(noise_multiplier, sample_rate, steps, delta)
        return math.log(spent / epsilon) if spent > 0 else -math.inf

    def unreachable(reason):
        return ValueError(
            f"epsilon={epsilon:g} cannot be spent by {steps} DP-SGD steps at "
            f"delta={delta:g}: {reason}. Raise epsilon or delta, or lower "
            "max_epochs or the sampling rate (batch_size / n_samples)."
        )

    floor = _spent_epsilon(None, sample_rate, steps, delta)
    if not floor < epsilon:
        raise unreachable(f"any amount of noise spends at least {floor:.3g}")
    # Bracket: too little noise at `low` (excess > 0), enough at `high`.
    low = high = 1.0
    excess_low = excess_high = excess(1.0)
    while excess_high > 0:
        low, excess_low = high, excess_high
        if high >= MAX_NOISE_MULTIPLIER:
            raise unreachable(f"even a noise multiplier of {high:g} spends more")
        high = min(10 * high, MAX_NOISE_MULTIPLIER)
        excess_high = excess(high)
    while not excess_low > 0:
        high, excess_high = low, excess_low
        if low <= MIN_NOISE_MULTIPLIER:
            return low
        low = max(low / 10, MIN_NOISE_MULTIPLIER)
        excess_low = excess(low)
    # Illinois on (log noise multiplier, excess): regula falsi that halves the
    # weight of an end kept twice in a row, against a one-sided crawl.
    tolerance = math.log1p(CALIBRATION_RTOL)
    a, b, replaced = math.log(low), math.log(high), None
    weight_a, weight_b = excess_low, excess_high
    for _ in range(MAX_CALIBRATION_STEPS):
        if excess_high > -tolerance or b - a < tolerance:
            break
        c = (a * weight_b - b * weight_a) / (weight_b - weight_a)
        if not a < c < b:  # an infinite excess: bisect instead
            c = (a + b) / 2
        excess_c = excess(math.exp(c))
        if excess_c > 0:
            a, weight_a = c, excess_c
            if replaced == "low":
                weight_b /= 2
            replaced = "low"
        else:
            b, weight_b, high, excess_high = c, excess_c, math.exp(c), excess_c
            if replaced == "high":
                weight_a /= 2
            replaced = "high"
    return high


class _SampledPassthroughScoring(PassthroughScoring):
    """skorch's epoch average of a training score, for Poisson-sampled batches.

    An epoch whose batches were all empty has no score; it records none
    rather than failing on the zero total weight.
    """

    def on_epoch_end(self, net, **kwargs):
        if sum(net.history[-1, "batches", :, "train_batch_size"]):
            super().on_epoch_end(net, **kwargs)


class DPSGDClassifier(_TabularNetClassifier):
    r"""The MID paper's DP-SGD baseline: an MLP trained with DP-SGD (Opacus).

    The network of :class:`VIBClassifier` without the bottleneck
    (:class:`MLPModule`), trained by DP-SGD (Abadi et al. 2016): per-example
    gradients clipped to ``max_grad_norm``, Gaussian noise, and Poisson
    sampling of each batch (expected size ``batch_size``) among the training
    rows. The noise multiplier is the smallest with which ``max_epochs`` epochs
    spend at most ``(epsilon, delta)`` under the RDP accountant (a bounded
    search; a budget that no noise can meet is a ValueError);
    ``epsilon_spent_`` reports what was spent. The sampling, the noise and the
    initial weights come from local generators seeded from ``random_state``.
    Requires the ``nn`` extra (torch, skorch) and ``opacus``.

    Parameters
    ----------
    epsilon : float, default=1.0
        Target privacy budget :math:`\epsilon > 0`.
    delta : float, default=1e-5
        Target :math:`\delta` in (0, 1) (keep it below ``1 / n_samples``).
    max_grad_norm : float, default=1.0
        Per-example gradient clipping norm (> 0).
    hidden_layer_sizes, latent_dim, random_state, max_epochs, batch_size, lr, verbose
        As for :class:`VIBClassifier` (``lr`` defaults to 0.1 with SGD).
    **kwargs
        Other ``NeuralNetClassifier`` arguments (``warm_start`` must stay
        False: the budget is accounted over one whole fit).

    Attributes
    ----------
    epsilon_spent_ : float
        Privacy spent by the training, from the RDP accountant.
    noise_multiplier_ : float
        The Gaussian noise multiplier used.
    sample_rate_ : float
        Probability with which each training row joins a batch.

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
        hidden_layer_sizes=(128,),
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
        self.hidden_layer_sizes = hidden_layer_sizes
        self.latent_dim = latent_dim
        self.random_state = random_state

    _parameter_constraints = {
        **_TabularNetClassifier._parameter_constraints,
        "epsilon": [Interval(numbers.Real, 0, None, closed="neither")],
        "delta": [Interval(numbers.Real, 0, 1, closed="neither")],
        "max_grad_norm": [Interval(numbers.Real, 0, None, closed="neither")],
    }

    @property
    def _default_callbacks(self):
        callbacks = dict(super()._default_callbacks)
        callbacks["train_loss"] = _SampledPassthroughScoring(
            name="train_loss", on_train=True
        )
        return list(callbacks.items())

    def _check_params(self):
        super()._check_params()
        if self.warm_start:
            raise ValueError(
                "warm_start=True is not supported by DPSGDClassifier: the privacy "
                "budget is accounted over one whole fit."
            )

    def fit(self, X, y, **fit_params):
        """Train with DP-SGD; sets ``epsilon_spent_``. Returns ``self``."""
        import_optional_dependency("opacus", extra="nn", feature="DPSGDClassifier")
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

    def _train(self, X, codes, **fit_params):
        # As tensors, so that the rows of the dataset are tensors: Opacus builds
        # an empty Poisson batch from the dtype of the first row, which must be
        # a torch dtype.
        return super()._train(
            torch.from_numpy(X), torch.from_numpy(codes), **fit_params
        )

    def get_loss(self, y_pred, y_true, X=None, training=False):
        if len(y_true) == 0:
            # An empty Poisson batch (the optimizer still takes its noise-only
            # step): a zero loss on the graph, not the NaN mean of nothing.
            return y_pred.sum() * 0.0
        return super().get_loss(y_pred, y_true, X=X, training=training)

    def initialize_optimizer(self, *args, **kwargs):
        from opacus import GradSampleModule

        if not isinstance(self.module_, GradSampleModule):
            self.module_ = GradSampleModule(self.module_)
        return super().initialize_optimizer(*args, **kwargs)

    def get_iterator(self, dataset, training=False):
        iterator = super().get_iterator(dataset, training=training)
        if training:
            self._make_private(iterator, len(dataset))
        return iterator

    def _make_private(self, loader, n_samples):
        """DP-SGD for the training rows: calibrated noise, clipping, accounting.

        Done where the training loader is built, since its rows (not the rows
        given to ``fit`` when ``train_split`` holds some out) and its number of
        batches set the sampling rate and the number of steps.
        """
        from opacus.accountants import RDPAccountant
        from opacus.optimizers import DPOptimizer

        batch_size = n_samples if self.batch_size == -1 else self.batch_size
        self.sample_rate_ = min(1.0, batch_size / n_samples)
        self.noise_multiplier_ = calibrate_noise_multiplier(
            self.epsilon, self.delta, self.sample_rate_, self.max_epochs * len(loader)
        )
        optimizer = getattr(self.optimizer_, "original_optimizer", self.optimizer_)
        self.optimizer_ = DPOptimizer(
            optimizer,
            noise_multiplier=self.noise_multiplier_,
            max_grad_norm=self.max_grad_norm,
            expected_batch_size=max(1, round(self.sample_rate_ * n_samples)),
            generator=self._generator(NOISE_KEY, device=self._device()),
        )
        self.accountant_ = RDPAccountant()
        self.optimizer_.attach_step_hook(
            self.accountant_.get_optimizer_hook_fn(sample_rate=self.sample_rate_)
        )

    def _divergence_remedy(self):
        return (
            f"lower lr (got {self.lr:g}) or max_grad_norm (got "
            f"{self.max_grad_norm:g}), or scale the features of X"
        )

    def _unwrap(self):
        from opacus import GradSampleModule

        if isinstance(getattr(self, "module_", None), GradSampleModule):
            # The per-sample-gradient hooks stay on the layers otherwise, and a
            # gradient through the fitted network (a white-box attack) fails.
            self.module_.remove_hooks()
            self.module_ = self.module_._module
        optimizer = getattr(self, "optimizer_", None)
        if optimizer is not None and hasattr(optimizer, "original_optimizer"):
            self.optimizer_ = optimizer.original_optimizer
