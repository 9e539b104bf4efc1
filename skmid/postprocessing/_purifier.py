"""The prediction-purification defense of Yang et al. (purifier G, with H and I)."""

import math
import numbers

import numpy as np
from sklearn.utils._param_validation import Interval

from ..utils._validation import (
    MAX_LEARNING_RATE,
    check_finite_output,
    check_layer_sizes,
)
from ._base import BasePostProcessor


def purifier_layer_sizes(n_classes):
    """Default hidden layer sizes of the purifier for ``n_classes`` classes.

    The latent layer has ``ceil(sqrt(K))`` units and the encoder reaches it
    through ``max(1, round(log10(K)))`` layers whose sizes fall geometrically
    from ``K`` (rounded up); the decoder mirrors the encoder. This gives the
    paper's ``[10, 7, 4, 7, 10]`` for CIFAR10 exactly and ``[47, 22, 10, 22,
    47]`` for its ``[50, 20, 10, 20, 50]`` on Purchase100 (Appendix B; the
    paper's FaceScrub530 purifier, ``[200]``, follows no rule).

    Parameters
    ----------
    n_classes : int
        Number of classes K.

    Returns
    -------
    sizes : tuple of int
        Hidden layer sizes (the K-unit input and output layers excluded).

    Examples
    --------
    >>> from skmid.postprocessing._purifier import purifier_layer_sizes
    >>> purifier_layer_sizes(10)
    (7, 4, 7)
    >>> purifier_layer_sizes(40)
    (23, 13, 7, 13, 23)
    """
    latent = min(n_classes, math.ceil(math.sqrt(n_classes)))
    n_between = max(1, round(math.log10(n_classes)))
    ratio = latent / n_classes
    encoder = [
        math.ceil(n_classes * ratio ** (i / (n_between + 1)) - 1e-9)
        for i in range(1, n_between + 1)
    ]
    return (*encoder, latent, *encoder[::-1])


def _build_sized(factory, seed, device, name, sizes):
    """``build_network``, with a ValueError naming ``name`` if it cannot be built."""
    from ..utils._torch import build_network

    try:
        return build_network(factory, seed, device)
    except (RuntimeError, TypeError, MemoryError) as error:
        # torch refuses sizes beyond int64 (TypeError) or memory (RuntimeError).
        raise ValueError(
            f"{name}={sizes} gives a network too large to build: {error}"
        ) from None


def _batches(n, batch_size, generator, torch):
    """Shuffled index batches, dropping a last batch of one row (batch norm needs 2)."""
    order = torch.randperm(n, generator=generator)
    batches = [order[i : i + batch_size] for i in range(0, n, batch_size)]
    if len(batches) > 1 and len(batches[-1]) == 1:
        batches.pop()
    return batches


class PurifierTransformer(BasePostProcessor):
    r"""Purify confidence vectors with an autoencoder (Yang et al.'s purification).

    The purifier G is an autoencoder on the target model's confidence vectors
    (ReLU and batch normalisation in the hidden layers, softmax output),
    trained on the defender's reference set (rows the target did not train
    on) to minimise eq. (2),

    .. math::

        L(G) = \mathbb{E}\left[\lVert G(F(x)) - F(x)\rVert_2^2
               + \lambda\, \mathrm{CE}\big(G(F(x)), \arg\max F(x)\big)\right].

    Reconstructing through a narrow latent layer pulls every vector towards
    the patterns of the reference set, which removes the dispersion that
    inversion and membership attacks exploit; the cross-entropy term keeps the
    predicted label.

    Two adversaries refine G; each is on when its weight is positive, and all
    are trained alternately on every mini-batch (H, then I, then G):

    - ``alpha > 0`` (Purifier I, eqs. 3-5): an inversion model H learns to
      reconstruct the reference inputs from G's output (mean squared error)
      while G maximises that error: G minimises
      :math:`L(G) - \alpha\, \mathcal{R}(x, H(G(F(x))))`. Needs the reference
      inputs, ``fit(P, y, inputs=X)``: metadata that ``fit`` requests by
      default (``set_fit_request(inputs=True)``), so that
      :class:`DefendedClassifier` passes them and a
      :class:`~sklearn.pipeline.Pipeline` routes them when metadata routing
      is enabled.
    - ``beta > 0`` (Purifier II, eqs. 6-8): a discriminator I tells real
      vectors :math:`F(x)` from purified ones :math:`G(F(x))`, given the
      one-hot label, and G minimises
      :math:`L(G) + \beta \log(1 - I(G(F(x))))`, as written in eq. (7).
    - both (Purifier I & II, eq. 9).

    ``transform`` runs G in eval mode (batch normalisation with its running
    statistics), in float64: the same row always gives the same output.

    Readings of the paper, where it is vague:

    - The reconstruction loss :math:`\mathcal{R}` of G is the squared L2 norm
      per row; H's is the mean squared error per input element, on the inputs
      min-max scaled to [0, 1] with the reference set's range (H ends in a
      sigmoid, as in Appendix B), so that ``alpha`` does not depend on the
      inputs' units.
    - The 3-tuples of the paper's Table II are printed as
      :math:`(\lambda, \beta, \alpha)` (its "Purifier I" rows have a zero in
      the middle), although the text says :math:`(\lambda, \alpha, \beta)`.
    - The discriminator's label branch gets ``y`` (the reference rows' true
      labels) when given, else the target's predicted labels.

    Requires the ``nn`` extra (torch).

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=None
        Hidden layers of G, encoder and decoder (e.g. ``(7, 4, 7)``). None
        derives them from the number of classes K as in Appendix B: a
        latent layer of ``ceil(sqrt(K))`` units reached through
        ``max(1, round(log10(K)))`` geometrically shrinking layers, mirrored
        by the decoder; ``(7, 4, 7)`` for K = 10 (the paper's exact
        CIFAR10 purifier), ``(47, 22, 10, 22, 47)`` for K = 100 (the
        paper's Purchase100 purifier is ``(50, 20, 10, 20, 50)``).
    lam : float, default=1.0
        Weight :math:`\lambda` of the cross-entropy term of eq. (2), >= 0.
    alpha : float, default=0.0
        Weight of the inversion adversary H (Purifier I), >= 0.
    beta : float, default=0.0
        Weight of the discriminator I (Purifier II), >= 0.
    inversion_hidden_layer_sizes : tuple of int, default=(512, 1024)
        Hidden layers of H (Appendix B's Purchase100 model ``[K, 512, 1024,
        d]``, ReLU, sigmoid output).
    max_epochs : int, default=50
        Training epochs (Appendix B: 50).
    batch_size : int, default=64
        Mini-batch size.
    lr : float, default=0.01
        Adam learning rate of G (Appendix B, CIFAR10), at most 1e37. A
        training that diverges (a loss or a weight NaN or infinite) raises a
        ValueError naming the learning rates and loss weights.
    lr_inversion : float, default=2e-4
        Adam learning rate of H (Appendix B), at most 1e37.
    lr_discriminator : float, default=2e-4
        Adam learning rate of I (Appendix B), at most 1e37.
    preserve_label : bool, default=False
        Apply the label modifier
        (:func:`~skmid.postprocessing.preserve_predicted_label`) so that every
        row keeps its original argmax and accuracy is unchanged.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation of G, H and I and the batch order; an
        integer seed leaves NumPy's and torch's global random state alone.
    device : str, default="cpu"
        Torch device used for training and ``transform`` (e.g. ``"cuda"``).

    Attributes
    ----------
    purifier_ : torch.nn.Module
        The trained G (float64, eval mode), mapping confidence vectors to
        logits of the purified vectors.
    hidden_layer_sizes_ : tuple of int
        The hidden layers used.
    history_ : list of dict
        One entry per epoch with the mean mini-batch losses: ``"purifier"``
        (G's whole objective), ``"reconstruction"`` and ``"cross_entropy"``
        (the two terms of eq. 2), ``"inversion"`` (H's mean squared error on
        scaled inputs; NaN when ``alpha == 0``) and ``"discriminator"`` (I's
        binary cross-entropy; NaN when ``beta == 0``).
    n_features_in_ : int
        Number of classes K.

    See Also
    --------
    AdversarialNoiseDefense : Per-query adversarial noise against an inversion
        model.
    CMIPostProcessor : The closed-form conditional-MI defense.
    DefendedClassifier : Fits a classifier and a defense on held-out rows.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skmid.postprocessing import DefendedClassifier, PurifierTransformer
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16.0
    >>> model = DefendedClassifier(
    ...     LogisticRegression(C=0.05, max_iter=1000),
    ...     PurifierTransformer(
    ...         alpha=1.0, max_epochs=20, preserve_label=True, random_state=0
    ...     ),
    ...     random_state=0,
    ... ).fit(X[:1200], y[:1200])
    >>> model.defense_.hidden_layer_sizes_
    (7, 4, 7)
    >>> len(model.defense_.history_)
    20
    >>> P = model.predict_proba(X[1200:])
    >>> bool(abs(P.sum(axis=1) - 1).max() < 1e-9)
    True
    >>> undefended = model.estimator_.predict(X[1200:])
    >>> bool((model.predict(X[1200:]) == undefended).all())  # preserve_label
    True
    """

    # Only the inversion adversary (alpha > 0) reads the inputs, but asking for
    # them always lets a Pipeline or DefendedClassifier pass them unconditionally.
    __metadata_request__fit = {"inputs": True}

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", None],
        "lam": [Interval(numbers.Real, 0, None, closed="left")],
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "beta": [Interval(numbers.Real, 0, None, closed="left")],
        "inversion_hidden_layer_sizes": ["array-like"],
        "max_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 2, None, closed="left")],
        "lr": [Interval(numbers.Real, 0, MAX_LEARNING_RATE, closed="right")],
        "lr_inversion": [Interval(numbers.Real, 0, MAX_LEARNING_RATE, closed="right")],
        "lr_discriminator": [
            Interval(numbers.Real, 0, MAX_LEARNING_RATE, closed="right")
        ],
        "preserve_label": ["boolean"],
        "random_state": ["random_state"],
        "device": [str],
    }

    def __init__(
        self,
        *,
        hidden_layer_sizes=None,
        lam=1.0,
        alpha=0.0,
        beta=0.0,
        inversion_hidden_layer_sizes=(512, 1024),
        max_epochs=50,
        batch_size=64,
        lr=0.01,
        lr_inversion=2e-4,
        lr_discriminator=2e-4,
        preserve_label=False,
        random_state=None,
        device="cpu",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.lam = lam
        self.alpha = alpha
        self.beta = beta
        self.inversion_hidden_layer_sizes = inversion_hidden_layer_sizes
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.lr_inversion = lr_inversion
        self.lr_discriminator = lr_discriminator
        self.preserve_label = preserve_label
        self.random_state = random_state
        self.device = device

    def _fit(self, P, codes, inputs=None):
        """Train G (and its adversaries) on the reference rows."""
        if len(P) < 2:
            raise ValueError(
                f"P has {len(P)} row(s) (n_samples={len(P)}); PurifierTransformer "
                "needs at least 2 reference rows (batch normalisation needs 2)."
            )
        if self.alpha > 0:
            inputs = self._check_inputs(inputs, len(P), method="fit")
        else:
            inputs = None
        labels = P.argmax(axis=1) if codes is None else codes
        self._train(P, labels, inputs)

    def _transform(self, P):
        from ..utils._torch import resolve_device, torch

        device = resolve_device(self.device)
        self.purifier_.eval()
        with torch.no_grad():
            # A copy: P may be read-only, which torch.as_tensor warns about.
            logits = self.purifier_(torch.tensor(P, device=device))
            out = torch.softmax(logits, dim=1).cpu().numpy()
        return out / out.sum(axis=1, keepdims=True)

    def _train(self, P, labels, inputs):
        from ..utils._torch import (
            ConfidenceLabelNetwork,
            as_tensor,
            build_network,
            make_mlp,
            nn,
            resolve_device,
            torch,
            torch_generator,
        )

        device = resolve_device(self.device)
        generator, seed = torch_generator(self.random_state)
        n, n_classes = P.shape
        sizes = self.hidden_layer_sizes
        hidden_sizes = (
            purifier_layer_sizes(n_classes)
            if sizes is None
            else check_layer_sizes(sizes, "hidden_layer_sizes", allow_empty=False)
        )
        inversion_sizes = check_layer_sizes(
            self.inversion_hidden_layer_sizes,
            "inversion_hidden_layer_sizes",
            allow_empty=False,
        )
        purifier = _build_sized(
            lambda: make_mlp([n_classes, *hidden_sizes, n_classes], batch_norm=True),
            seed,
            device,
            "hidden_layer_sizes",
            hidden_sizes,
        )
        optimizer_g = torch.optim.Adam(purifier.parameters(), lr=self.lr)

        P_t = as_tensor(P, device)
        label_t = torch.as_tensor(labels, dtype=torch.long, device=device)
        one_hot_t = nn.functional.one_hot(label_t, n_classes).float()
        predicted_t = torch.as_tensor(P.argmax(axis=1), device=device)

        inversion = discriminator = None
        if self.alpha > 0:
            # Min-max scaling ignores a positive factor: dividing by the
            # largest magnitude first keeps inputs - low finite for huge inputs.
            peak = np.abs(inputs).max()
            unit = inputs / peak if peak > 0 else inputs
            low, span = unit.min(axis=0), np.ptp(unit, axis=0)
            scaled = (unit - low) / np.where(span > 0, span, 1.0)
            targets_t = as_tensor(scaled, device)
            inversion = _build_sized(
                lambda: make_mlp(
                    [n_classes, *inversion_sizes, scaled.shape[1]],
                    output_activation="sigmoid",
                ),
                seed + 1,
                device,
                "inversion_hidden_layer_sizes",
                inversion_sizes,
            )
            optimizer_h = torch.optim.Adam(inversion.parameters(), lr=self.lr_inversion)
        if self.beta > 0:
            discriminator = build_network(
                lambda: ConfidenceLabelNetwork(n_classes), seed + 2, device
            )
            optimizer_i = torch.optim.Adam(
                discriminator.parameters(), lr=self.lr_discriminator
            )

        bce = nn.functional.binary_cross_entropy_with_logits
        remedy = self._divergence_remedy()
        history = []
        for epoch_index in range(self.max_epochs):
            purifier.train()
            sums = dict.fromkeys(
                (
                    "purifier",
                    "reconstruction",
                    "cross_entropy",
                    "inversion",
                    "discriminator",
                ),
                0.0,
            )
            batches = _batches(n, self.batch_size, generator, torch)
            for batch in batches:
                batch = batch.to(device)
                p, one_hot = P_t[batch], one_hot_t[batch]
                if inversion is not None:
                    with torch.no_grad():
                        purified = torch.softmax(purifier(p), dim=1)
                    optimizer_h.zero_grad()
                    loss_h = torch.mean((inversion(purified) - targets_t[batch]) ** 2)
                    loss_h.backward()
                    optimizer_h.step()
                    sums["inversion"] += loss_h.item()
                if discriminator is not None:
                    with torch.no_grad():
                        purified = torch.softmax(purifier(p), dim=1)
                    optimizer_i.zero_grad()
                    real = discriminator(p, one_hot)
                    fake = discriminator(purified, one_hot)
                    loss_i = bce(real, torch.ones_like(real)) + bce(
                        fake, torch.zeros_like(fake)
                    )
                    loss_i.backward()
                    optimizer_i.step()
                    sums["discriminator"] += loss_i.item()

                optimizer_g.zero_grad()
                logits = purifier(p)
                purified = torch.softmax(logits, dim=1)
                reconstruction = torch.mean(torch.sum((purified - p) ** 2, dim=1))
                cross_entropy = nn.functional.cross_entropy(logits, predicted_t[batch])
                loss_g = reconstruction + self.lam * cross_entropy
                if inversion is not None:
                    loss_g = loss_g - self.alpha * torch.mean(
                        (inversion(purified) - targets_t[batch]) ** 2
                    )
                if discriminator is not None:
                    # log(1 - sigmoid(z)) = -softplus(z): eq. (7)'s term.
                    loss_g = loss_g - self.beta * torch.mean(
                        nn.functional.softplus(discriminator(purified, one_hot))
                    )
                loss_g.backward()
                optimizer_g.step()
                sums["purifier"] += loss_g.item()
                sums["reconstruction"] += reconstruction.item()
                sums["cross_entropy"] += cross_entropy.item()
            epoch = {key: value / len(batches) for key, value in sums.items()}
            check_finite_output(
                list(epoch.values()),
                source=f"PurifierTransformer's training losses (epoch {epoch_index})",
                remedy=remedy,
            )
            if inversion is None:
                epoch["inversion"] = float("nan")
            if discriminator is None:
                epoch["discriminator"] = float("nan")
            history.append(epoch)
        # The last optimiser step comes after the last loss computed.
        for tensor in (*purifier.parameters(), *purifier.buffers()):
            check_finite_output(
                tensor, source="PurifierTransformer's trained purifier", remedy=remedy
            )
        # Set only now, so that a failed fit leaves no half-fitted state.
        self.hidden_layer_sizes_ = hidden_sizes
        self.history_ = history
        self.purifier_ = purifier.double().eval()

    def _divergence_remedy(self):
        """What to lower when training diverges: the rates and weights in play."""
        rates = [f"lr (got {self.lr:g})"]
        if self.alpha > 0:
            rates.append(f"lr_inversion (got {self.lr_inversion:g})")
        if self.beta > 0:
            rates.append(f"lr_discriminator (got {self.lr_discriminator:g})")
        weights = ", ".join(
            f"{name}={getattr(self, name):g}" for name in ("lam", "alpha", "beta")
        )
        return (
            f"lower the learning rate {' or '.join(rates)}, or the loss weights "
            f"({weights})"
        )
