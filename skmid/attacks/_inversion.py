"""The black-box inversion-model attack of Yang et al. (CCS 2019)."""

import numbers

import numpy as np
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, StrOptions

from ..utils._probabilities import MAX_INPUT_MAGNITUDE, truncate_confidences
from ..utils._validation import (
    MAX_LEARNING_RATE,
    check_finite_inputs,
    check_finite_output,
    check_labels,
    check_layer_sizes,
)
from ._base import (
    INVERSION_METRICS,
    BaseAttack,
    PerEstimatorCache,
    query_proba,
)

#: Rows of the auxiliary data whose outputs fingerprint a queried estimator.
FINGERPRINT_ROWS = 16


class InversionModelAttack(BaseAttack):
    r"""Reconstruct inputs from a model's confidence vectors with an inversion network.

    The black-box attack of Yang et al. (2019), used by the purification and
    adversarial-noise papers. The attacker owns auxiliary inputs (never rows
    of the target's training set); it queries the target on them, trains a
    network from the returned confidence vectors back to the inputs
    (mean-squared-error loss, Adam), and applies that network to the target's
    outputs on the victims' inputs.

    ``fit`` stores only the auxiliary inputs. Every call that takes an
    ``estimator`` queries it through ``predict_proba`` (so a
    :class:`~skmid.postprocessing.DefendedClassifier` is attacked through its
    defense) and trains an inversion network against it; the network is cached
    per fitted estimator (a refitted estimator, detected from its outputs on a
    few auxiliary rows, gets a new one).

    The network is an MLP with ReLU hidden layers, trained through skorch's
    ``NeuralNet`` (Adam, skorch's names ``lr``, ``max_epochs``,
    ``batch_size``, ``device``). Its output layer is a
    sigmoid when every auxiliary value lies in [0, 1] (scaled pixels) and
    linear otherwise (``output_activation_``). Inputs may be tabular rows or
    images of any shape: the target is queried with the inputs as given, the
    network works on them flattened, and reconstructions come back in the
    inputs' shape.

    A reconstruction attack: ``score`` returns the inversion error, the mean
    squared error per element between inputs and reconstructions: **lower
    means more leakage** (the only skmid attack metric with that orientation;
    ``make_attack_scorer`` reports it as is and its ``higher_is_more_leakage``
    is False).

    **Naive and adaptive attackers** (``train_on``). Against a model whose
    outputs pass through a defense, the network is trained by default on
    the outputs the attacked model returns, the defense included
    (``train_on="queried"``): the attacker knows the defense and trains
    through it, the adaptive attacker of Wen et al. (2021, Sec. V-D and
    Table II), who adversarially trains the inversion model on the
    defended, noised outputs. ``train_on="undefended"`` is their standard
    (naive) attacker: the network is trained on the undefended model's
    outputs (``estimator.estimator_``, the classifier inside a
    :class:`~skmid.postprocessing.DefendedClassifier`, as an attacker with
    a clean copy of the model would) and applied to the defended outputs of
    the victims, which it has never seen; a defense that fools an inversion
    network (:class:`~skmid.postprocessing.AdversarialNoiseDefense`) fools
    this one most.

    Requires the ``nn`` extra (torch).

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(256, 256)
        Hidden layers of the inversion network (positive sizes; ``()`` is a
        linear map from confidences to inputs).
    truncate : int, default=None
        Keep only the top-``truncate`` confidences (the rest set to 0), as in
        Yang et al.'s truncation; None keeps all.
    max_epochs : int, default=100
        Training epochs over the auxiliary data.
    batch_size : int, default=64
        Mini-batch size.
    lr : float, default=1e-3
        Adam learning rate (skorch's name); a training that diverges (its loss
        NaN or infinite) raises a ValueError.
    random_state : int, RandomState instance or None, default=None
        Seeds the network's initialisation and the batch order; an integer
        seed leaves NumPy's and torch's global random state alone.
    device : str, default="cpu"
        Torch device of the network (e.g. ``"cuda"``).
    train_on : {"queried", "undefended"}, default="queried"
        The outputs the network is trained on: those the attacked model
        returns (defense included; the adaptive attacker), or those of the
        undefended classifier ``estimator.estimator_`` (the naive attacker;
        the attacked model must then have an ``estimator_`` with
        ``predict_proba``). The victims' outputs are always queried from the
        attacked model.

    Attributes
    ----------
    X_aux_ : ndarray of shape (n_aux, ...)
        The auxiliary inputs, as given to ``fit`` (as float64).
    input_shape_ : tuple
        Shape of one input.
    output_activation_ : {"sigmoid", "linear"}
        Output layer of the inversion network.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skmid.attacks import InversionModelAttack
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16.0
    >>> model = LogisticRegression(max_iter=1000).fit(X[:800], y[:800])
    >>> attack = InversionModelAttack(max_epochs=30, random_state=0).fit(X[800:1500])
    >>> reconstruction = attack.infer(model, X[1500:])
    >>> reconstruction.shape
    (297, 64)
    >>> baseline = ((X[1500:] - X[800:1500].mean(axis=0)) ** 2).mean()
    >>> bool(attack.score(model, X[1500:]) < 0.8 * baseline)
    True
    >>> attack.kind, attack.higher_is_more_leakage("mse")
    ('reconstruction', False)
    """

    kind = "reconstruction"
    _metrics = INVERSION_METRICS
    default_metric = "mse"

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like"],
        "truncate": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "max_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "lr": [Interval(numbers.Real, 0, MAX_LEARNING_RATE, closed="neither")],
        "random_state": ["random_state"],
        "device": [str],
        "train_on": [StrOptions({"queried", "undefended"})],
    }

    def __init__(
        self,
        hidden_layer_sizes=(256, 256),
        *,
        truncate=None,
        max_epochs=100,
        batch_size=64,
        lr=1e-3,
        random_state=None,
        device="cpu",
        train_on="queried",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.truncate = truncate
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.random_state = random_state
        self.device = device
        self.train_on = train_on

    def fit(self, X_aux, y=None):
        """Store the attacker's auxiliary inputs.

        Parameters
        ----------
        X_aux : array-like of shape (n_aux, ...)
            Inputs the attacker owns (tabular rows or images), finite.
        y : array-like of shape (n_aux,), default=None
            Not used; if given (as by a scorer), one finite label per input.

        Returns
        -------
        self : object
        """
        self._validate_params()
        check_layer_sizes(self.hidden_layer_sizes, "hidden_layer_sizes")
        X_aux = check_finite_inputs(X_aux, "X_aux")
        if X_aux.ndim < 2 or len(X_aux) < 2:
            raise ValueError(
                "X_aux must hold at least 2 inputs, shaped (n_aux, n_features) or "
                f"(n_aux, height, width); got shape {X_aux.shape}."
            )
        _check_unused_labels(X_aux, y, "X_aux")
        largest = float(np.abs(X_aux).max())
        if largest > MAX_INPUT_MAGNITUDE:
            raise ValueError(
                f"X_aux holds values of magnitude up to {largest:.3g}; the inversion "
                "network computes in float32: rescale X_aux to at most "
                f"{MAX_INPUT_MAGNITUDE:g}."
            )
        self.X_aux_ = X_aux
        self.input_shape_ = X_aux.shape[1:]
        inside_unit = X_aux.min() >= 0.0 and X_aux.max() <= 1.0
        self.output_activation_ = "sigmoid" if inside_unit else "linear"
        self._cache = PerEstimatorCache()
        return self

    def _check_inputs(self, X):
        self._check_fitted()
        X = check_finite_inputs(X, "X")
        if X.shape[1:] != self.input_shape_:
            raise ValueError(
                f"X has inputs of shape {X.shape[1:]}; the attack was fitted on "
                f"inputs of shape {self.input_shape_}."
            )
        return X

    def _confidences(self, estimator, X):
        P = query_proba(estimator, X, "The inversion attack")
        return truncate_confidences(P, self.truncate)

    def _training_model(self, estimator):
        if self.train_on == "queried":
            return estimator
        undefended = getattr(estimator, "estimator_", None)
        if undefended is None or not hasattr(undefended, "predict_proba"):
            raise ValueError(
                "train_on='undefended' trains on the undefended classifier's "
                "outputs, estimator.estimator_ (as in a DefendedClassifier); "
                f"{type(estimator).__name__} has no estimator_ with predict_proba. "
                "Use train_on='queried'."
            )
        return undefended

    def inversion_network(self, estimator):
        """The inversion network trained against ``estimator`` (cached).

        Trained on the outputs ``train_on`` names: ``estimator``'s own, or
        its undefended classifier's.
        """
        self._check_fitted()
        fingerprint = self._confidences(estimator, self.X_aux_[:FINGERPRINT_ROWS])
        networks = self._cache.get(estimator, fingerprint) or {}
        network = networks.get(self.train_on)
        if network is None:
            source = self._training_model(estimator)
            network = self.train_network(self._confidences(source, self.X_aux_))
            networks = {**networks, self.train_on: network}
            self._cache.put(estimator, fingerprint, networks)
        return network

    def train_network(self, confidences):
        """Train a fresh inversion network from ``confidences`` to ``X_aux_``.

        What :meth:`inversion_network` does after querying an estimator; a
        defender that already holds a model's outputs on its own reference
        inputs (:class:`~skmid.postprocessing.AdversarialNoiseDefense`) calls
        it directly. Row ``i`` of ``confidences`` must be the output on
        ``X_aux_[i]``; truncation is the caller's business. The network is
        trained through skorch's ``NeuralNet``, from local generators.

        Parameters
        ----------
        confidences : array-like of shape (n_aux, n_classes)
            The model's outputs on the auxiliary inputs, row for row.

        Returns
        -------
        network : torch.nn.Module
            The trained network, in eval mode, mapping float32 confidence
            vectors to flattened inputs.
        """
        self._check_fitted()
        confidences = check_array(
            confidences, dtype=np.float64, ensure_2d=False, input_name="confidences"
        )
        if confidences.ndim != 2 or len(confidences) != len(self.X_aux_):
            raise ValueError(
                f"confidences must have shape (n_aux, n_classes) with n_aux="
                f"{len(self.X_aux_)}; got {confidences.shape}."
            )
        from ..utils._torch import (
            as_tensor,
            build_network,
            make_mlp,
            resolve_device,
            torch,
            torch_generator,
        )
        from ._skorch import train_with_skorch

        device = resolve_device(self.device)
        generator, seed = torch_generator(self.random_state)
        targets = self.X_aux_.reshape(len(self.X_aux_), -1)
        sizes = [confidences.shape[1], *self.hidden_layer_sizes, targets.shape[1]]
        linear = self.output_activation_ == "linear"
        output = None if linear else "sigmoid"
        network = build_network(
            lambda: make_mlp(sizes, output_activation=output), seed, device
        )
        if linear:
            # A linear output learns standardised inputs, so that the float32
            # loss is well scaled whatever their units; the standardisation is
            # folded into the last layer after training.
            offset = targets.mean(axis=0)
            scale = targets.std(axis=0)
            scale[scale == 0] = 1.0
            targets = (targets - offset) / scale
        network = train_with_skorch(
            network,
            confidences.astype(np.float32),
            targets.astype(np.float32),
            attack=self,
            criterion=torch.nn.MSELoss,
            generator=generator,
            device=device,
        ).module_
        if linear:
            last = network[-1]
            with torch.no_grad():
                last.weight.mul_(as_tensor(scale, device)[:, None])
                last.bias.mul_(as_tensor(scale, device)).add_(as_tensor(offset, device))
        network.eval()
        return network

    def infer(self, estimator, X, y=None):
        """Reconstruct inputs from ``estimator``'s outputs on them.

        Parameters
        ----------
        estimator : fitted classifier with ``predict_proba``
            The attacked model.
        X : array-like of shape (n_samples, ...)
            The victims' inputs (only ``estimator`` sees them).
        y : array-like of shape (n_samples,), default=None
            Not used (present for the common signature); if given, one finite
            label per input.

        Returns
        -------
        reconstructions : ndarray, shaped like ``X``
        """
        from ..utils._torch import predict_in_batches, resolve_device

        X = self._check_inputs(X)
        _check_unused_labels(X, y, "X")
        network = self.inversion_network(estimator)
        confidences = self._confidences(estimator, X)
        flat = predict_in_batches(network, confidences, resolve_device(self.device))
        check_finite_output(
            flat,
            source="InversionModelAttack's inversion network",
            remedy=f"lower lr (got {self.lr:g})",
        )
        return flat.reshape(X.shape)

    def score(self, estimator, X, y=None, member=None, *, metric=None):
        """Inversion error of the reconstructions of ``X``.

        Parameters
        ----------
        estimator : fitted classifier with ``predict_proba``
        X : array-like of shape (n_samples, ...)
            The victims' inputs.
        y : array-like of shape (n_samples,), default=None
            Not used (present for the scorer signature); if given, one finite
            label per input.
        member : None
            Not used by a reconstruction attack; anything else is an error.
        metric : {"mse"}, default=None
            None is ``"mse"``, the mean squared error per element (lower =
            more leakage; in [0, inf)).

        Returns
        -------
        error : float
        """
        return super().score(estimator, X, y, member, metric=metric)

    def _score(self, estimator, X, y, member, metric_function):
        X = self._check_inputs(X)
        return metric_function(X, self.infer(estimator, X, y))

    def __getstate__(self):
        state = dict(super().__getstate__())  # may be the live __dict__
        state.pop("_cache", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if hasattr(self, "X_aux_"):
            self._cache = PerEstimatorCache()


def _check_unused_labels(X, y, X_name):
    # y is not used, but labels that do not match the inputs are a mistake in
    # the caller's data that should not pass silently.
    if y is not None and len(check_labels(y, "y")) != len(X):
        raise ValueError(
            f"y has {len(y)} labels but {X_name} has {len(X)} inputs "
            "(inconsistent numbers of samples)."
        )
