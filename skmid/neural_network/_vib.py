"""The variational information bottleneck (VIB) classifier: MID for neural networks."""

import numbers
import re

import numpy as np
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    Options,
    validate_parameter_constraints,
)

from ..utils._optional import import_optional_dependency
from ..utils._validation import check_finite_output, check_layer_sizes

torch = import_optional_dependency("torch", extra="nn", feature="skmid.neural_network")
skorch = import_optional_dependency(
    "skorch", extra="nn", feature="skmid.neural_network"
)

from skorch import NeuralNetClassifier  # noqa: E402
from skorch.callbacks import EpochScoring, PassthroughScoring  # noqa: E402
from skorch.dataset import unpack_data  # noqa: E402

nn = torch.nn

#: Offset of the softplus that gives the code's scale (Alemi et al. 2017).
SCALE_OFFSET = 5.0

FLOAT32_MAX = float(np.finfo(np.float32).max)
#: Most code draws (times rows and dimensions) held in memory at once.
DRAW_CHUNK_ELEMENTS = 2**22
#: Most draws ``predict_proba`` averages: the Monte-Carlo error of the average
#: falls as one over the square root of the count, so more would only cost time.
MAX_SAMPLES_PREDICT = 10_000

#: What each local generator of a fit draws for; with the fit's seed and, where
#: the draws continue over calls, a counter, these keys seed independent streams.
INIT_KEY, LOADER_KEY, NOISE_KEY, PREDICT_KEY, STOCHASTIC_KEY = range(5)


class VIBModule(nn.Module):
    """Stochastic encoder, reparameterised code and linear decoder.

    The encoder maps an input to ``2 * latent_dim`` values: the mean of the
    Gaussian code :math:`q(z \\mid x)` and, through ``softplus(s - 5)``, its
    scale. The decoder maps a code to class logits. ``forward`` returns
    ``(probabilities, mean, scale)``, with ``n_samples`` (default: 1 in
    training, ``n_samples_predict`` in evaluation) deciding the code:

    - ``n_samples > 0``: the softmax averaged over that many draws;
    - ``n_samples == 0``: the softmax at the mean code;
    - ``n_samples == -1``: a single draw.

    The draws come from ``generator``, or else from ``sampling_generator``
    (which :class:`VIBClassifier` sets while it trains), or else from torch's
    global generator.

    Parameters
    ----------
    n_features : int
        Input dimension.
    n_classes : int
        Number of classes.
    hidden_layer_sizes : tuple of int, default=(128,)
        Hidden layers of the default MLP encoder.
    latent_dim : int, default=32
        Dimension of the code.
    encoder : torch.nn.Module, default=None
        A custom encoder mapping inputs to ``2 * latent_dim`` values.
    n_samples_predict : int, default=12
        ``n_samples`` in evaluation mode.
    """

    def __init__(
        self,
        n_features,
        n_classes,
        hidden_layer_sizes=(128,),
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
            encoder = make_mlp([n_features, *hidden_layer_sizes, 2 * latent_dim])
        self.encoder = encoder
        self.decoder = nn.Linear(latent_dim, n_classes)

    def forward(self, X, n_samples=None, generator=None):
        statistics = self.encoder(X)
        if statistics.shape[-1] != 2 * self.latent_dim:
            raise ValueError(
                f"The encoder must output 2 * latent_dim = {2 * self.latent_dim} "
                f"values per row; it gave {statistics.shape[-1]}."
            )
        mean, raw_scale = statistics.chunk(2, dim=-1)
        scale = nn.functional.softplus(raw_scale - SCALE_OFFSET)
        if n_samples is None:
            n_samples = 1 if self.training else self.n_samples_predict
        if n_samples == 0:
            return nn.functional.softmax(self.decoder(mean), dim=-1), mean, scale
        if generator is None:
            generator = self.sampling_generator
        draws = max(n_samples, 1)
        # Draws in chunks, so that memory stays bounded however many are asked.
        chunk = max(1, DRAW_CHUNK_ELEMENTS // max(1, mean.numel()))
        total = 0.0
        for start in range(0, draws, chunk):
            noise = torch.randn(
                (min(chunk, draws - start), *mean.shape),
                generator=generator,
                device=mean.device if generator is None else generator.device,
                dtype=mean.dtype,
            ).to(mean.device)
            codes = mean.unsqueeze(0) + scale.unsqueeze(0) * noise
            total = total + nn.functional.softmax(self.decoder(codes), dim=-1).sum(0)
        return total / draws, mean, scale


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


def _naming(error, argument):
    """``error`` re-raised with a message that names ``argument``."""
    message = str(error)
    if re.search(rf"\b{argument}\b", message):
        return error
    error_type = TypeError if isinstance(error, TypeError) else ValueError
    return error_type(f"Invalid {argument}: {message}")


class _TabularNetClassifier(NeuralNetClassifier):
    """skorch classifier that takes float64 tables and labels of any type.

    Shared by :class:`VIBClassifier` and :class:`DPSGDClassifier`: ``fit``
    validates the parameters, casts ``X`` to float32 and encodes the labels
    (``classes_`` keeps the originals); the module is sized from the data and
    initialised from ``random_state`` in ``initialize_module`` (subclasses give
    ``_module_kwargs``). Every random draw (initial weights, batch order,
    noise) comes from a local ``torch.Generator`` seeded from the fit's seed,
    never from torch's or NumPy's global random state; training stops with a
    ValueError as soon as an epoch's loss or the weights stop being finite, and
    no NaN or infinite probability is returned.
    """

    _parameter_constraints = {
        "latent_dim": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        # The optimizers scale float32 parameters by lr: a larger one overflows.
        "lr": [Interval(numbers.Real, 0, FLOAT32_MAX, closed="right")],
        "max_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        # -1 is skorch's "one batch of all rows".
        "batch_size": [
            Interval(numbers.Integral, 1, None, closed="left"),
            Options(numbers.Integral, {-1}),
        ],
    }

    #: Module arguments that may be given as built ``torch.nn.Module``s: those
    #: keep their weights and are attached after the rest of the module is built.
    _prebuilt_module_kwargs = ()

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

    # -- validation ------------------------------------------------------------
    def _check_params(self):
        """Validate the parameters (called by ``fit`` and ``partial_fit``)."""
        from ..utils._torch import resolve_device

        validate_parameter_constraints(
            self._parameter_constraints,
            {name: getattr(self, name) for name in self._parameter_constraints},
            caller_name=type(self).__name__,
        )
        self._hidden_layer_sizes()
        if self.device is not None:
            resolve_device(self.device)

    def _hidden_layer_sizes(self):
        return check_layer_sizes(self.hidden_layer_sizes, "hidden_layer_sizes")

    def _validate_X(self, X, *, reset=False):
        """``X`` as a finite float32 array; at predict, with the fitted width."""
        from sklearn.utils import check_array

        if isinstance(X, torch.Tensor):
            X = X.detach().cpu().numpy()
        try:
            X = check_array(X, dtype=np.float32, input_name="X", estimator=self)
        except (TypeError, ValueError) as error:
            raise _naming(error, "X") from error
        if not reset:
            self._check_features(X)
        return X

    def _encode_labels(self, y, X, *, reset, classes=None):
        from sklearn.utils.multiclass import check_classification_targets
        from sklearn.utils.validation import check_consistent_length, column_or_1d

        try:
            y = column_or_1d(y, warn=True)
            check_consistent_length(X, y)
            check_classification_targets(y)
            if reset:
                encoder = LabelEncoder().fit(y if classes is None else classes)
                self.label_encoder_ = encoder
            return self.label_encoder_.transform(y).astype(np.int64)
        except (TypeError, ValueError) as error:
            raise _naming(error, "y") from error

    def _prepare(self, X, y, *, reset, classes=None):
        self._check_params()
        reset = reset or not hasattr(self, "label_encoder_")
        X = self._validate_X(X, reset=reset)
        codes = self._encode_labels(y, X, reset=reset, classes=classes)
        if reset:
            self._reset(X)
        return X, codes

    def _reset(self, X):
        """Set the fitted state that a new fit (not a warm start) starts from."""
        self.n_features_in_ = X.shape[1]
        self.random_seed_ = int(
            check_random_state(self.random_state).randint(0, 2**31 - 1)
        )

    # -- randomness ----------------------------------------------------------------
    def _seed(self, *key):
        """A seed for the stream ``key`` of this fit (see the ``*_KEY``s)."""
        base = getattr(self, "random_seed_", None)
        if base is None:  # initialize() called by hand, before any fit
            base = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        return int(np.random.SeedSequence([base, *key]).generate_state(1)[0])

    def _generator(self, *key, device="cpu"):
        generator = torch.Generator(device=device)
        generator.manual_seed(self._seed(*key))
        return generator

    def _device(self):
        """Where the module's parameters live (where its noise must be drawn)."""
        return next(self.module_.parameters()).device

    def get_iterator(self, dataset, training=False):
        # skorch's get_iterator, with a local generator for the DataLoader: one
        # without draws its seed (and its shuffled order) from torch's global
        # generator. The training one continues over warm-started fits through
        # the count of epochs already run.
        if training:
            kwargs = self.get_params_for("iterator_train")
            iterator = self.iterator_train
            if "generator" not in kwargs:
                epochs = len(self.history_ or [])
                kwargs["generator"] = self._generator(LOADER_KEY, epochs)
        else:
            kwargs = self.get_params_for("iterator_valid")
            iterator = self.iterator_valid
            kwargs.setdefault("generator", torch.Generator())
        kwargs.setdefault("batch_size", self.batch_size)
        if kwargs["batch_size"] == -1:
            kwargs["batch_size"] = len(dataset)
        return iterator(dataset, **kwargs)

    # -- training --------------------------------------------------------------------
    def fit(self, X, y, **fit_params):
        """Train the network on ``X`` (cast to float32) and labels ``y`` of any type.

        Returns
        -------
        self : object
        """
        X, codes = self._prepare(X, y, reset=not self.warm_start)
        # skorch's fit: initialise unless warm-starting, then train; the labels
        # are already encoded, so the parent's partial_fit is used.
        if not self.warm_start or not self.initialized_:
            self.initialize()
        return self._train(X, codes, **fit_params)

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Train for one call's epochs, keeping what was learned before.

        Returns
        -------
        self : object
        """
        X, codes = self._prepare(X, y, reset=False, classes=classes)
        if not self.initialized_:
            self.initialize()
        return self._train(X, codes, **fit_params)

    def _train(self, X, codes, **fit_params):
        try:
            NeuralNetClassifier.partial_fit(self, X, codes, **fit_params)
        except (OverflowError, RuntimeError) as error:
            # An optimizer step too large for float32 (Adam, for one, scales lr
            # up): the same divergence as a NaN loss, found one step earlier.
            if "overflow" not in str(error):
                raise
            raise ValueError(
                f"{type(self).__name__}'s training diverged ({error}); "
                f"{self._divergence_remedy()}."
            ) from error
        return self

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        # Stop at the first epoch whose loss or weights are no longer finite:
        # the next ones cannot recover, and NaN weights predict class 0 silently.
        batches = [
            batch
            for batch in self.history[-1, "batches"]
            if batch.get("train_batch_size")
        ]
        source = f"{type(self).__name__}'s training diverged: epoch {len(self.history)}"
        remedy = self._divergence_remedy()
        check_finite_output(
            np.array([batch["train_loss"] for batch in batches]),
            source=source,
            remedy=remedy,
        )
        for parameter in self.module_.parameters():
            check_finite_output(parameter, source=source, remedy=remedy)
        super().on_epoch_end(net, dataset_train, dataset_valid, **kwargs)

    def _divergence_remedy(self):
        return f"lower lr (got {self.lr:g}), or scale the features of X"

    # -- module ------------------------------------------------------------------------
    def _latent_dim(self):
        if self.latent_dim is not None:
            return self.latent_dim
        return min(32, max(2, self.n_features_in_))

    def _module_kwargs(self):
        return {
            "n_features": self.n_features_in_,
            "n_classes": len(self.label_encoder_.classes_),
            "hidden_layer_sizes": self._hidden_layer_sizes(),
            "latent_dim": self._latent_dim(),
        }

    def initialize_module(self):
        """Build the module from the data's shape, its weights from ``random_state``.

        Built on the meta device and initialised from a local generator, so
        that nothing is drawn from torch's global random state.
        """
        from ..utils._torch import build_network

        kwargs = self.get_params_for("module")
        if getattr(self, "n_features_in_", None) is not None:
            for key, value in self._module_kwargs().items():
                kwargs.setdefault(key, value)
        prebuilt = {
            key: kwargs.pop(key)
            for key in self._prebuilt_module_kwargs
            if isinstance(kwargs.get(key), nn.Module)
        }
        try:
            # Initialised on the CPU (skorch then moves it to ``device``): the
            # same weights on every device, from a CPU generator.
            module = build_network(
                lambda: self.initialized_instance(self.module, kwargs),
                self._seed(INIT_KEY),
            )
        except (MemoryError, OverflowError, RuntimeError, TypeError) as error:
            # Typically layers too large to allocate, or to size in int64.
            raise ValueError(
                f"{type(self).__name__} could not build its network "
                f"(hidden_layer_sizes={self.hidden_layer_sizes!r}, "
                f"latent_dim={self.latent_dim!r}): {error}"
            ) from error
        for key, value in prebuilt.items():
            setattr(module, key, value)
        self.module_ = module
        return self

    # -- prediction ------------------------------------------------------------------
    @property
    def classes_(self):
        return self.label_encoder_.classes_

    def _check_features(self, X):
        if not hasattr(self, "label_encoder_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet."
            )
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is "
                f"expecting {self.n_features_in_} features as input."
            )

    def _checked_proba(self, proba, X):
        """``proba`` as float64 rows summing to 1; a ValueError if NaN or inf."""
        check_finite_output(
            proba,
            source=f"{type(self).__name__}.predict_proba",
            remedy=(
                "the inputs are too large for the network (largest |X| value "
                f"{float(np.abs(X).max()):g}): scale the features of X"
            ),
        )
        proba = np.asarray(proba, dtype=np.float64)
        # The float32 softmax sums to 1 only to float32 precision.
        return proba / proba.sum(axis=1, keepdims=True)

    def predict_proba(self, X):
        """Class probabilities.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        X = self._validate_X(X)
        return self._checked_proba(NeuralNetClassifier.predict_proba(self, X), X)

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
    values per row; a given encoder keeps its weights, the rest of the module
    is initialised from ``random_state``. ``random_state`` seeds the
    initialisation, the batch order and the code draws through local
    generators: torch's and NumPy's global random states are neither read nor
    changed, so fits in parallel threads give the serial results.

    Training stops with a ValueError naming ``lr`` and ``lam`` as soon as an
    epoch's loss or the weights are no longer finite (a diverged network would
    otherwise predict class 0 from NaN probabilities).

    ``predict_proba`` is the softmax at the mean code by default
    (``n_samples_predict=0``): deterministic, and each row's output depends on
    that row alone. ``n_samples_predict=k`` averages the softmax over ``k``
    draws of the code instead (Alemi et al. use 12), with draws seeded from
    ``random_state`` at every call, so a fitted model still returns the same
    output for the same batch. :meth:`predict_proba_stochastic` returns the
    single-draw, fresh-noise output whose randomness the MID paper discusses
    (its Figure 1b).

    Parameters
    ----------
    lam : float, default=1e-2
        Weight :math:`\lambda \ge 0` of the KL term; 0 trains a plain MLP with
        a noisy layer.
    hidden_layer_sizes : int or tuple of int, default=(128,)
        Widths (>= 1) of the hidden layers of the default encoder; ``()`` for
        none.
    latent_dim : int, default=None
        Dimension (>= 1) of the code; None uses ``min(32, max(2, n_features))``.
    n_samples_predict : int, default=0
        Draws averaged by ``predict_proba`` (at most 10 000); 0 uses the mean
        code.
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation, the batch order and the draws.
    max_epochs : int, default=50
        Training epochs (>= 1).
    lr : float, default=1e-3
        Learning rate (> 0) of the Adam optimizer.
    batch_size : int, default=64
        Mini-batch size (>= 1; -1 for one batch of all rows).
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
    random_seed_ : int
        Seed drawn from ``random_state`` at fit, from which every local
        generator of the fit and of the predictions is seeded.

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
        hidden_layer_sizes=(128,),
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
        self.hidden_layer_sizes = hidden_layer_sizes
        self.latent_dim = latent_dim
        self.n_samples_predict = n_samples_predict
        self.random_state = random_state

    _parameter_constraints = {
        **_TabularNetClassifier._parameter_constraints,
        "lam": [Interval(numbers.Real, 0, None, closed="left")],
        "n_samples_predict": [
            Interval(numbers.Integral, 0, MAX_SAMPLES_PREDICT, closed="both")
        ],
    }
    _prebuilt_module_kwargs = ("encoder",)

    @property
    def _default_callbacks(self):
        return [
            *super()._default_callbacks,
            ("train_kl", PassthroughScoring(name="train_kl", on_train=True)),
            ("valid_kl", PassthroughScoring(name="valid_kl")),
        ]

    # -- objective ---------------------------------------------------------------
    def get_loss(self, y_pred, y_true, X=None, training=False):
        probabilities, mean, scale = y_pred
        cross_entropy = super().get_loss(probabilities, y_true, X=X, training=training)
        kl = gaussian_kl(mean, scale).mean()
        self.history.record_batch("train_kl" if training else "valid_kl", kl.item())
        return cross_entropy + self.lam * kl

    def _train(self, X, codes, **fit_params):
        # The codes drawn in training (and in validation) continue over
        # warm-started fits through the count of epochs already run.
        module = self.module_
        epochs = len(self.history_ or [])
        module.sampling_generator = self._generator(
            NOISE_KEY, epochs, device=self._device()
        )
        try:
            return super()._train(X, codes, **fit_params)
        finally:
            module.sampling_generator = None

    def _divergence_remedy(self):
        return (
            f"lower lr (got {self.lr:g}) or lam (got {self.lam:g}), or scale the "
            "features of X"
        )

    # -- prediction ---------------------------------------------------------------
    def _module_kwargs(self):
        return {
            **super()._module_kwargs(),
            "n_samples_predict": self.n_samples_predict,
        }

    def _reset(self, X):
        super()._reset(X)
        self.stochastic_calls_ = 0

    def _sampled_proba(self, X, n_samples, key):
        """skorch's batched prediction, the code drawn from the stream ``key``.

        The draws are arguments of the forward pass rather than state of the
        module, so that predictions in parallel threads do not interfere.
        """
        X = self._validate_X(X)
        self.check_is_fitted()
        generator = self._generator(*key, device=self._device())
        self._set_training(False)
        batches = []
        with torch.no_grad():
            for batch in self.get_iterator(self.get_dataset(X), training=False):
                inputs, _ = unpack_data(batch)
                probabilities, _, _ = self.infer(
                    inputs, n_samples=n_samples, generator=generator
                )
                batches.append(probabilities.cpu().numpy())
        return self._checked_proba(np.concatenate(batches), X)

    def predict_proba(self, X):
        """Class probabilities, averaged over ``n_samples_predict`` seeded draws.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return self._sampled_proba(X, self.n_samples_predict, (PREDICT_KEY,))

    def predict_proba_stochastic(self, X):
        """One fresh draw of the code per row: the output changes between calls.

        The randomised output the MID paper discusses (its Figure 1b); use
        ``predict_proba`` for a deterministic model. With an integer
        ``random_state``, the outputs of successive calls are reproducible.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        # One stream per call. Two concurrent calls may read the same count,
        # which only makes their two (random) outputs equal.
        call = getattr(self, "stochastic_calls_", 0)
        self.stochastic_calls_ = call + 1
        return self._sampled_proba(X, -1, (STOCHASTIC_KEY, call))

    def kl_divergence(self, X):
        """Mean KL(q(z|x) || N(0, I)) over the rows of ``X`` (nats)."""
        X = self._validate_X(X)
        self.check_is_fitted()
        module = self.module_
        module.eval()
        with torch.no_grad():
            statistics = module.encoder(torch.as_tensor(X, device=self._device()))
            mean, raw = statistics.chunk(2, dim=-1)
            scale = nn.functional.softplus(raw - SCALE_OFFSET)
            kl = float(gaussian_kl(mean, scale).mean().cpu())
        return check_finite_output(
            kl,
            source=f"{type(self).__name__}.kl_divergence",
            remedy="scale the features of X",
        )
