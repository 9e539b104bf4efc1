"""The variational information bottleneck (VIB) classifier: MID for neural networks."""

import numpy as np
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state

from ..utils._optional import import_optional_dependency

torch = import_optional_dependency("torch", extra="nn", feature="skmid.neural_network")
skorch = import_optional_dependency(
    "skorch", extra="nn", feature="skmid.neural_network"
)

from skorch import NeuralNetClassifier  # noqa: E402
from skorch.callbacks import EpochScoring, PassthroughScoring  # noqa: E402

nn = torch.nn

#: Offset of the softplus that gives the code's scale (Alemi et al. 2017).
SCALE_OFFSET = 5.0


class VIBModule(nn.Module):
    """Stochastic encoder, reparameterised code and linear decoder.

    The encoder maps an input to ``2 * latent_dim`` values: the mean of the
    Gaussian code :math:`q(z \\mid x)` and, through ``softplus(s - 5)``, its
    scale. The decoder maps a code to class logits. ``forward`` returns
    ``(probabilities, mean, scale)``:

    - training: one reparameterised draw of the code per row;
    - evaluation with ``n_samples_predict > 0``: the softmax averaged over that
      many draws, taken from ``sampling_generator`` when it is set;
    - evaluation with ``n_samples_predict == 0``: the softmax at the mean code;
    - evaluation with ``n_samples_predict == -1``: a single fresh draw.

    Parameters
    ----------
    n_features : int
        Input dimension.
    n_classes : int
        Number of classes.
    hidden_units : tuple of int, default=(128,)
        Hidden layers of the default MLP encoder.
    latent_dim : int, default=32
        Dimension of the code.
    encoder : torch.nn.Module, default=None
        A custom encoder mapping inputs to ``2 * latent_dim`` values.
    n_samples_predict : int, default=12
        See above.
    """

    def __init__(
        self,
        n_features,
        n_classes,
        hidden_units=(128,),
        latent_dim=32,
        encoder=None,
        n_samples_predict=12,
    ):
        super().__init__()
        from ..utils._torch import make_mlp

        self.latent_dim = latent_dim
        self.n_samples_predict = n_samples_predict
        self.sampling_generator = None
        if encoder is None:
            encoder = make_mlp([n_features, *hidden_units, 2 * latent_dim])
        self.encoder = encoder
        self.decoder = nn.Linear(latent_dim, n_classes)

    def forward(self, X):
        statistics = self.encoder(X)
        if statistics.shape[-1] != 2 * self.latent_dim:
            raise ValueError(
                f"The encoder must output 2 * latent_dim = {2 * self.latent_dim} "
                f"values per row; it gave {statistics.shape[-1]}."
            )
        mean, raw_scale = statistics.chunk(2, dim=-1)
        scale = nn.functional.softplus(raw_scale - SCALE_OFFSET)
        n_samples = 1 if self.training else self.n_samples_predict
        if n_samples == 0:
            return nn.functional.softmax(self.decoder(mean), dim=-1), mean, scale
        draws = max(n_samples, 1)
        generator = (
            None if (self.training or n_samples < 0) else self.sampling_generator
        )
        noise = torch.randn(
            (draws, *mean.shape),
            generator=generator,
            device=mean.device if generator is None else generator.device,
            dtype=mean.dtype,
        ).to(mean.device)
        codes = mean.unsqueeze(0) + scale.unsqueeze(0) * noise
        probabilities = nn.functional.softmax(self.decoder(codes), dim=-1).mean(dim=0)
        return probabilities, mean, scale


def gaussian_kl(mean, scale):
    """KL(N(mean, diag(scale^2)) || N(0, I)) per row, summed over dimensions."""
    variance = scale**2
    return 0.5 * torch.sum(
        mean**2 + variance - 1.0 - torch.log(variance + 1e-12), dim=-1
    )


def _encoded_accuracy(net, X, y):
    from skorch.utils import to_numpy

    codes = net.predict_proba(X).argmax(axis=1)
    return float(np.mean(codes == to_numpy(y)))


class _TabularNetClassifier(NeuralNetClassifier):
    """skorch classifier that takes float64 tables and labels of any type.

    Shared by :class:`VIBClassifier` and :class:`DPSGDClassifier`: ``fit``
    casts ``X`` to float32, encodes the labels (``classes_`` keeps the
    originals), seeds torch from ``random_state`` inside a forked random
    state, and the module is sized from the data in ``initialize_module``
    (subclasses give ``_module_kwargs``).
    """

    @property
    def _default_callbacks(self):
        callbacks = dict(super()._default_callbacks)
        # skorch scores the encoded labels it was given, so accuracy compares
        # argmax codes rather than ``predict``'s original labels.
        callbacks["valid_acc"] = EpochScoring(
            _encoded_accuracy,
            name="valid_acc",
            lower_is_better=False,
            use_caching=False,
        )
        return list(callbacks.items())

    def _check_params(self):
        """Validate the subclass's own parameters (called by ``fit``)."""

    @staticmethod
    def _as_float32(X):
        from sklearn.utils import check_array

        if isinstance(X, torch.Tensor):
            return X.float()
        return check_array(X, dtype=np.float32, input_name="X")

    def _prepare(self, X, y, *, reset, classes=None):
        from sklearn.utils.multiclass import check_classification_targets
        from sklearn.utils.validation import check_consistent_length, column_or_1d

        self._check_params()
        X = self._as_float32(X)
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        check_classification_targets(y)
        if reset or not hasattr(self, "label_encoder_"):
            self.label_encoder_ = LabelEncoder().fit(y if classes is None else classes)
            self.n_features_in_ = X.shape[1]
            self.predict_seed_ = int(
                check_random_state(self.random_state).randint(0, 2**31 - 1)
            )
        else:
            self._check_features(X)
        return X, self.label_encoder_.transform(y).astype(np.int64)

    def fit(self, X, y, **fit_params):
        """Train the network on ``X`` (cast to float32) and labels ``y`` of any type.

        Returns
        -------
        self : object
        """
        X, codes = self._prepare(X, y, reset=not self.warm_start)
        with torch.random.fork_rng(devices=self._fork_devices()):
            torch.manual_seed(self.predict_seed_)
            # skorch's fit: initialise unless warm-starting, then train; the
            # labels are already encoded, so the parent's partial_fit is used.
            if not self.warm_start or not self.initialized_:
                self.initialize()
            NeuralNetClassifier.partial_fit(self, X, codes, **fit_params)
        return self

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Train for one call's epochs, keeping what was learned before.

        Returns
        -------
        self : object
        """
        X, codes = self._prepare(X, y, reset=False, classes=classes)
        with torch.random.fork_rng(devices=self._fork_devices()):
            torch.manual_seed(self.predict_seed_ + len(self.history_ or []))
            NeuralNetClassifier.partial_fit(self, X, codes, **fit_params)
        return self

    def _fork_devices(self):
        if str(self.device).startswith("cuda") and torch.cuda.is_available():
            return list(range(torch.cuda.device_count()))
        return []

    def _latent_dim(self):
        return self.latent_dim or min(32, max(2, self.n_features_in_))

    def _module_kwargs(self):
        return {
            "n_features": self.n_features_in_,
            "n_classes": len(self.label_encoder_.classes_),
            "hidden_units": tuple(self.hidden_units),
            "latent_dim": self._latent_dim(),
        }

    def initialize_module(self):
        kwargs = self.get_params_for("module")
        if getattr(self, "n_features_in_", None) is not None:
            for key, value in self._module_kwargs().items():
                kwargs.setdefault(key, value)
        self.module_ = self.initialized_instance(self.module, kwargs)
        return self

    @property
    def classes_(self):
        return self.label_encoder_.classes_

    def _check_features(self, X):
        if not hasattr(self, "label_encoder_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet."
            )
        if hasattr(X, "shape") and X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is "
                f"expecting {self.n_features_in_} features as input."
            )

    def predict_proba(self, X):
        """Class probabilities.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        X = self._as_float32(X)
        self._check_features(X)
        return super().predict_proba(X).astype(np.float64)

    def predict(self, X):
        """Most probable class of each row (labels of ``classes_``)."""
        codes = self.predict_proba(X).argmax(axis=1)
        return self.classes_[codes]


class VIBClassifier(_TabularNetClassifier):
    r"""Variational information bottleneck classifier: MID for neural networks.

    The MID paper's neural-network defense (Wang et al. 2021, eq. 5): the
    mutual information :math:`I(X; \hat Y)` is bounded through a stochastic
    code :math:`Z` (Alemi et al. 2017), and training minimises

    .. math::

        \mathbb E\,[-\log p(y \mid z)] \;+\; \lambda\,
        \mathrm{KL}\big(q(z \mid x) \,\|\, \mathcal N(0, I)\big).

    A skorch ``NeuralNetClassifier`` whose module (:class:`VIBModule`) is an
    encoder to the mean and softplus scale of :math:`q(z \mid x)`, a
    reparameterised draw, and a decoder to class logits. Everything skorch
    offers keeps working (callbacks, early stopping, ``device="cuda"``,
    ``warm_start``, pickling, ``set_params``, ``clone``, ``history``, where
    each epoch logs ``train_kl`` and ``valid_kl`` next to the losses and
    ``valid_acc``).

    Out of the box on tabular data: float64 arrays and DataFrames are cast to
    float32, labels may be of any type (strings included), and the default
    MLP encoder is sized from the data. A custom encoder is given the skorch
    way, ``module__encoder=my_encoder``; it must output ``2 * latent_dim``
    values per row. ``random_state`` seeds torch for the
    initialisation, the batch order and the code draws (without touching the
    global torch random state).

    ``predict_proba`` is the softmax at the mean code by default
    (``n_samples_predict=0``): deterministic, and each row's output depends on
    that row alone. ``n_samples_predict=k`` averages the softmax over ``k``
    draws of the code instead (Alemi et al. use 12), with draws seeded from
    ``random_state`` at every call, so a fitted model still returns the same
    output for the same batch. :meth:`predict_proba_stochastic` returns the single-draw,
    fresh-noise output whose randomness the MID paper discusses (its
    Figure 1b).

    Parameters
    ----------
    lam : float, default=1e-2
        Weight :math:`\lambda \ge 0` of the KL term; 0 trains a plain MLP with
        a noisy layer.
    hidden_units : tuple of int, default=(128,)
        Hidden layers of the default encoder.
    latent_dim : int, default=None
        Dimension of the code; None uses ``min(32, max(2, n_features))``.
    n_samples_predict : int, default=0
        Draws averaged by ``predict_proba``; 0 uses the mean code.
    random_state : int or None, default=None
        Seed of the initialisation, the batch order and the draws.
    max_epochs : int, default=50
        Training epochs (skorch).
    lr : float, default=1e-3
        Learning rate of the Adam optimizer.
    batch_size : int, default=64
        Mini-batch size.
    train_split : callable or None, default=None
        skorch's validation split; None trains on all rows (pass
        ``skorch.dataset.ValidSplit(5)`` to log validation scores).
    verbose : int, default=0
        skorch's per-epoch printing.
    **kwargs
        Any other ``NeuralNetClassifier`` argument (``device``, ``callbacks``,
        ``optimizer__weight_decay``, ``warm_start``, ...).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of input features.
    module_ : VIBModule
        The trained network.
    history_ : skorch History
        Per-epoch records (also ``history``).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skmid.neural_network import VIBClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> model = VIBClassifier(lam=1e-3, max_epochs=20, random_state=0)
    >>> model = model.fit(X[:1200] / 16, y[:1200])
    >>> bool(model.score(X[1200:] / 16, y[1200:]) > 0.85)
    True
    >>> bool(model.history[-1, "train_kl"] > 0)
    True
    """

    def __init__(
        self,
        module=VIBModule,
        *,
        lam=1e-2,
        hidden_units=(128,),
        latent_dim=None,
        n_samples_predict=0,
        random_state=None,
        criterion=torch.nn.NLLLoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs=50,
        batch_size=64,
        train_split=None,
        verbose=0,
        **kwargs,
    ):
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
        self.lam = lam
        self.hidden_units = hidden_units
        self.latent_dim = latent_dim
        self.n_samples_predict = n_samples_predict
        self.random_state = random_state

    @property
    def _default_callbacks(self):
        return [
            *super()._default_callbacks,
            ("train_kl", PassthroughScoring(name="train_kl", on_train=True)),
            ("valid_kl", PassthroughScoring(name="valid_kl")),
        ]

    # -- data ------------------------------------------------------------------
    def _check_params(self):
        if not (np.isscalar(self.lam) and np.isfinite(self.lam) and self.lam >= 0):
            raise ValueError(f"lam must be a finite number >= 0; got {self.lam!r}.")
        if not (
            isinstance(self.n_samples_predict, (int, np.integer))
            and self.n_samples_predict >= 0
        ):
            raise ValueError(
                "n_samples_predict must be an integer >= 0; got "
                f"{self.n_samples_predict!r}."
            )

    # -- objective ---------------------------------------------------------------
    def get_loss(self, y_pred, y_true, X=None, training=False):
        probabilities, mean, scale = y_pred
        cross_entropy = super().get_loss(probabilities, y_true, X=X, training=training)
        kl = gaussian_kl(mean, scale).mean()
        self.history.record_batch("train_kl" if training else "valid_kl", kl.item())
        return cross_entropy + self.lam * kl

    # -- prediction ---------------------------------------------------------------
    def _module_kwargs(self):
        return {
            **super()._module_kwargs(),
            "n_samples_predict": self.n_samples_predict,
        }

    def predict_proba(self, X):
        """Class probabilities, averaged over ``n_samples_predict`` seeded draws.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        X = self._as_float32(X)
        self._check_features(X)
        module = self.module_
        module.n_samples_predict = self.n_samples_predict
        device = next(module.parameters()).device
        generator = torch.Generator(device=device)
        generator.manual_seed(self.predict_seed_)
        module.sampling_generator = generator
        try:
            return NeuralNetClassifier.predict_proba(self, X).astype(np.float64)
        finally:
            module.sampling_generator = None

    def predict_proba_stochastic(self, X):
        """One fresh draw of the code per row: the output changes between calls.

        The randomised output the MID paper discusses (its Figure 1b); use
        ``predict_proba`` for a deterministic model.
        """
        X = self._as_float32(X)
        self._check_features(X)
        self.module_.n_samples_predict = -1
        try:
            return NeuralNetClassifier.predict_proba(self, X).astype(np.float64)
        finally:
            self.module_.n_samples_predict = self.n_samples_predict

    def kl_divergence(self, X):
        """Mean KL(q(z|x) || N(0, I)) over the rows of ``X`` (nats)."""
        X = self._as_float32(X)
        self._check_features(X)
        module = self.module_
        module.eval()
        device = next(module.parameters()).device
        with torch.no_grad():
            statistics = module.encoder(torch.as_tensor(X, device=device))
            mean, raw = statistics.chunk(2, dim=-1)
            scale = nn.functional.softplus(raw - SCALE_OFFSET)
            return float(gaussian_kl(mean, scale).mean().cpu())
