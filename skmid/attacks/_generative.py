r"""Class reconstruction through a generative prior: GMI, Mirror/RLB, BREP-MI.

Zhang et al. (GMI, CVPR 2020) search the latent space of a generator trained
on public images for the latent code whose image the attacked model assigns
most confidently to the target class; the image then looks like the public
data (a face) rather than an adversarial pattern. The black-box successors
(Mirror, An et al. NDSS 2022; RLB-MI, Han et al. CVPR 2023) search the same
space with only the model's confidence vectors, and the label-only one
(BREP-MI, Kahla et al. CVPR 2022) with only its predicted labels.
"""

import numbers

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ..utils._validation import (
    MAX_LEARNING_RATE,
    check_finite_output,
    check_layer_sizes,
)
from ._base import check_training_loss, fitted_classes, query_proba
from ._reconstruction import (
    TINY,
    BaseClassReconstructionAttack,
    _white_box_error,
    torch_log_proba,
)


def _into_ball(z, max_norm):
    norm = np.linalg.norm(z)
    return z if norm <= max_norm else z * (max_norm / norm)


def _build_vae(n_features, hidden, latent_dim):
    from ..utils._torch import make_mlp, nn

    class VAE(nn.Module):
        """An MLP variational autoencoder with a Bernoulli (sigmoid) decoder."""

        def __init__(self):
            super().__init__()
            self.encoder = make_mlp([n_features, *hidden, 2 * latent_dim])
            self.decoder = make_mlp(
                [latent_dim, *reversed(hidden), n_features], output_activation=None
            )
            # The hidden layers of make_mlp end in a linear layer; ReLU between.
            self.latent_dim = latent_dim

        def decode_logits(self, z):
            return self.decoder(z)

    return VAE()


class GenerativeInversionAttack(BaseClassReconstructionAttack):
    r"""Reconstruct each class by searching a generative prior's latent space.

    ``fit(X_public)`` trains the prior, a variational autoencoder (VAE) on the
    public images (Kingma and Welling, 2014): an MLP encoder
    :math:`q(z \mid x) = \mathcal N(\mu(x), \mathrm{diag}\,\sigma^2(x))`, a
    standard normal prior :math:`p(z)` and an MLP decoder :math:`G` with a
    sigmoid output (pixels rescaled to [0, 1]), trained by Adam on the
    negative evidence lower bound

    .. math::

        \mathcal L(x) = \mathrm{BCE}(x, G(z)) + \mathrm{KL}\left(q(z \mid x)
        \,\Vert\, \mathcal N(0, I)\right), \qquad z = \mu(x) + \sigma(x)
        \odot \epsilon.

    A VAE and not GMI's GAN: a VAE's loss is a single likelihood bound that
    decreases steadily, so it trains reliably in seconds on two CPU cores
    from a few hundred images, where a GAN's two-player game needs
    thousands of images, careful balancing and many epochs, and collapses
    without them. Its samples are blurrier; the attack only needs images
    that stay on the manifold of the public data. (Any decoder may be given
    as ``prior``: a torch module from ``latent_dim`` codes to flattened
    images in the data range, a pretrained GAN generator for instance.)

    The attack then searches, for each class :math:`c`, a code :math:`z`
    whose image :math:`G(z)` the model assigns to :math:`c`:

    - ``access="white-box"`` (GMI): minimise the identity loss plus the
      prior's,

      .. math::

          \min_z\; -\log f_c(G(z)) + \tfrac{\lambda}{2} \lVert z \rVert^2,

      by Adam through the decoder and the model (a linear classifier with
      softmax probabilities, a skorch net or a torch module), from
      ``n_candidates`` random codes; the candidate of lowest loss is kept
      (GMI's discriminator loss is the VAE's Gaussian prior term here).
    - ``access="black-box"`` (the Mirror/RLB family): the same objective,
      maximised by a natural evolution strategy over ``predict_proba``
      queries only: each step draws ``population_size`` antithetic
      perturbations :math:`\pm \sigma \epsilon_i`, ranks their fitness and
      moves :math:`z` along the rank-weighted average of the
      :math:`\epsilon_i` (Wierstra et al., 2014).
    - ``access="label-only"`` (BREP-MI): only predicted labels. A code whose
      image is labelled :math:`c` is found by sampling the prior; then, on a
      sphere of radius :math:`R` around :math:`z`, ``population_size``
      points are queried; :math:`z` moves away from those labelled another
      class (boundary repulsion), by a step of :math:`R` along the mean of
      their unit directions, when the moved code keeps label :math:`c`;
      when no point of the sphere leaves :math:`c`, :math:`R` grows by 30 %
      (the image is far from every boundary: the class's core).

    Black-box and label-only queries are counted in ``n_queries_``, at most
    ``max_queries`` per class.

    Parameters
    ----------
    access : {"white-box", "black-box", "label-only"}, default="white-box"
        What the attacker may do with the model.
    prior : "vae" or torch.nn.Module, default="vae"
        The generator: ``"vae"`` trains one on the public images; a module
        is used as the decoder (latent codes of ``latent_dim`` values to
        flattened images in the data range).
    latent_dim : int, default=8
        Dimension of the latent space.
    hidden_layer_sizes : tuple of int, default=(128,)
        Hidden layers of the VAE's encoder (the decoder mirrors them).
    max_epochs : int, default=60
        Training epochs of the VAE.
    batch_size : int, default=64
        Mini-batch size of the VAE.
    lr : float, default=1e-3
        Adam learning rate of the VAE.
    max_iter : int, default=200
        Steps of the latent search (black-box and label-only: at most,
        within the budget).
    step_size : float, default=0.05
        Adam learning rate of the white-box search; step of the evolution
        strategy; initial radius :math:`R` of the label-only search.
    prior_weight : float, default=0.01
        :math:`\lambda`, the weight of the latent prior term.
    n_candidates : int, default=4
        White-box: random starting codes per class.
    population_size : int, default=20
        Black-box: antithetic pairs per step (2x queries); label-only: points
        queried on each sphere.
    max_queries : int, default=5000
        Query budget per class (black-box and label-only).
    evaluator : classifier, default=None
        The evaluation classifier of ``score``.
    random_state : int, RandomState instance or None, default=None
        Seeds the VAE's weights and batches and the search; an integer
        leaves NumPy's and torch's global random states alone.
    device : str, default="cpu"
        Torch device of the prior and of a torch model.

    Attributes
    ----------
    decoder_ : torch.nn.Module
        The generator: latent codes to images in [0, 1] (``prior="vae"``) or
        the given module.
    elbo_ : float
        Mean negative evidence lower bound of the last VAE epoch (NaN for a
        given prior).
    input_shape_, data_min_, data_max_ : tuple, float, float
        As in :class:`MIFaceAttack`.
    n_queries_ : int
        Rows sent to the model to make the images the last ``reconstruct``
        returned (0 in white-box); a cached reconstruction reports the cost
        it had when made.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skmid.attacks import GenerativeInversionAttack
    >>> from skmid.datasets import load_inversion_split
    >>> data = load_inversion_split("digits")
    >>> model = LogisticRegression(max_iter=1000).fit(data.X_private, data.y_private)
    >>> attack = GenerativeInversionAttack(max_epochs=10, max_iter=50, random_state=0)
    >>> attack = attack.fit(data.X_public)
    >>> attack.reconstruct(model, classes=[0, 1]).shape
    (2, 64)
    >>> attack.sample(3, random_state=0).shape
    (3, 64)
    >>> black = attack.set_params(access="black-box", max_queries=400)
    >>> images = black.reconstruct(model, classes=[0, 1])
    >>> black.n_queries_ <= 2 * 400
    True
    """

    _parameter_constraints = {
        "access": [StrOptions({"white-box", "black-box", "label-only"})],
        "prior": [StrOptions({"vae"}), HasMethods(["forward"])],
        "latent_dim": [Interval(numbers.Integral, 1, 1024, closed="both")],
        "hidden_layer_sizes": ["array-like"],
        "max_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "lr": [Interval(numbers.Real, 0, MAX_LEARNING_RATE, closed="neither")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "step_size": [Interval(numbers.Real, 0, 1e3, closed="neither")],
        "prior_weight": [Interval(numbers.Real, 0, 1e6, closed="left")],
        "n_candidates": [Interval(numbers.Integral, 1, 1000, closed="both")],
        "population_size": [Interval(numbers.Integral, 1, 10000, closed="both")],
        "max_queries": [Interval(numbers.Integral, 2, None, closed="left")],
        "evaluator": [None, HasMethods(["fit", "predict"])],
        "random_state": ["random_state"],
        "device": [str],
    }

    def __init__(
        self,
        access="white-box",
        *,
        prior="vae",
        latent_dim=8,
        hidden_layer_sizes=(128,),
        max_epochs=60,
        batch_size=64,
        lr=1e-3,
        max_iter=200,
        step_size=0.05,
        prior_weight=0.01,
        n_candidates=4,
        population_size=20,
        max_queries=5000,
        evaluator=None,
        random_state=None,
        device="cpu",
    ):
        self.access = access
        self.prior = prior
        self.latent_dim = latent_dim
        self.hidden_layer_sizes = hidden_layer_sizes
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.max_iter = max_iter
        self.step_size = step_size
        self.prior_weight = prior_weight
        self.n_candidates = n_candidates
        self.population_size = population_size
        self.max_queries = max_queries
        self.evaluator = evaluator
        self.random_state = random_state
        self.device = device

    # -- the prior ---------------------------------------------------------------
    def _fit(self, X):
        from ..utils._torch import resolve_device

        check_layer_sizes(self.hidden_layer_sizes, "hidden_layer_sizes")
        device = resolve_device(self.device)
        rng = check_random_state(self.random_state)
        self._seed = int(rng.randint(0, 2**31 - 1))
        if isinstance(self.prior, str):
            self.decoder_, self.elbo_ = self._train_vae(X, device)
        else:
            self.decoder_, self.elbo_ = self.prior.to(device).eval(), float("nan")
        self._unit_output = isinstance(self.prior, str)

    def _train_vae(self, X, device):
        from ..utils._torch import build_network, nn, torch

        unit = (X - self.data_min_) / (self.data_max_ - self.data_min_)
        data = torch.as_tensor(unit, dtype=torch.float32, device=device)
        vae = build_network(
            lambda: _build_vae(
                X.shape[1], tuple(self.hidden_layer_sizes), self.latent_dim
            ),
            self._seed,
            device,
        )
        generator = torch.Generator().manual_seed(self._seed)
        optimizer = torch.optim.Adam(vae.parameters(), lr=self.lr)
        bce = nn.BCEWithLogitsLoss(reduction="sum")
        k = self.latent_dim
        for _ in range(self.max_epochs):
            order = torch.randperm(len(data), generator=generator)
            total = 0.0
            for start in range(0, len(data), self.batch_size):
                batch = data[order[start : start + self.batch_size]]
                stats = vae.encoder(batch)
                mu, log_var = stats[:, :k], stats[:, k:].clamp(-10, 10)
                noise = torch.randn(mu.shape, generator=generator).to(device)
                z = mu + (0.5 * log_var).exp() * noise
                kl = 0.5 * (mu**2 + log_var.exp() - 1 - log_var).sum()
                loss = (bce(vae.decode_logits(z), batch) + kl) / len(batch)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item() * len(batch)
            elbo = torch.tensor(total / len(data))
            check_training_loss(elbo, self)
        decoder = nn.Sequential(vae.decoder, nn.Sigmoid()).eval()
        for parameter in decoder.parameters():
            parameter.requires_grad_(False)
        return decoder, float(elbo)

    def _decode(self, z):
        """Images in the data range from latent codes (a torch tensor)."""
        images = self.decoder_(z)
        if self._unit_output:
            images = self.data_min_ + (self.data_max_ - self.data_min_) * images
        return images

    def decode(self, z):
        """Images of latent codes, flattened, in the data range.

        Parameters
        ----------
        z : array-like of shape (n, latent_dim)

        Returns
        -------
        images : ndarray of shape (n, n_features)
        """
        from ..utils._torch import as_tensor, resolve_device, torch

        self._check_fitted()
        z = np.asarray(z, dtype=np.float64)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(
                f"z must have shape (n, {self.latent_dim}); got {z.shape}."
            )
        with torch.no_grad():
            images = self._decode(as_tensor(z, resolve_device(self.device)))
        return images.reshape(len(z), -1).cpu().numpy().astype(np.float64)

    def sample(self, n_samples=1, *, random_state=None):
        """Images drawn from the prior: :math:`G(z)`, :math:`z \\sim \\mathcal N(0, I)`.

        Parameters
        ----------
        n_samples : int, default=1
        random_state : int, RandomState instance or None, default=None

        Returns
        -------
        images : ndarray of shape (n_samples, \\*input_shape)
        """
        self._check_fitted()
        rng = check_random_state(random_state)
        z = rng.standard_normal((int(n_samples), self.latent_dim))
        return self.decode(z).reshape(len(z), *self.input_shape_)

    # -- the searches ------------------------------------------------------------
    def _reconstruct(self, estimator, codes):
        self.n_queries_ = 0
        rng = check_random_state(self.random_state)
        if self.access == "white-box":
            z = self._white_box(estimator, codes, rng)
        elif self.access == "black-box":
            z = self._black_box(estimator, codes, rng)
        else:
            z = self._label_only(estimator, codes, rng)
        return self.decode(z)

    def _images(self, z):
        return self._as_inputs(self.decode(z))

    def _white_box(self, estimator, codes, rng):
        from ..utils._torch import as_tensor, resolve_device, torch

        device = resolve_device(self.device)
        log_proba = torch_log_proba(estimator, device)
        if log_proba is None:
            raise _white_box_error(self, estimator)
        m = self.n_candidates
        start = rng.standard_normal((len(codes) * m, self.latent_dim))
        z = as_tensor(start, device).requires_grad_(True)
        targets = torch.as_tensor(np.repeat(codes, m), device=device)
        optimizer = torch.optim.Adam([z], lr=self.step_size)
        rows = torch.arange(len(start), device=device)
        for _ in range(self.max_iter):
            images = self._decode(z).reshape(len(start), *self.input_shape_)
            identity = -log_proba(images)[rows, targets]
            loss = identity + 0.5 * self.prior_weight * (z**2).sum(dim=1)
            optimizer.zero_grad()
            loss.sum().backward()
            optimizer.step()
        with torch.no_grad():
            images = self._decode(z).reshape(len(start), *self.input_shape_)
            loss = -log_proba(images)[rows, targets] + 0.5 * self.prior_weight * (
                z**2
            ).sum(dim=1)
        loss = loss.cpu().numpy().reshape(len(codes), m)
        check_finite_output(
            loss,
            source="GenerativeInversionAttack's identity loss",
            remedy=f"lower step_size (got {self.step_size:g})",
        )
        best = loss.argmin(axis=1)
        z = z.detach().cpu().numpy().astype(np.float64).reshape(len(codes), m, -1)
        return z[np.arange(len(codes)), best]

    def _fitness(self, estimator, z, codes):
        """log f_c(G(z)) - lambda/2 |z|^2 from predict_proba queries."""
        P = query_proba(estimator, self._images(z), "GenerativeInversionAttack")
        if P.shape[1] != len(fitted_classes(estimator)):
            raise ValueError(
                "The attacked model's predict_proba must have one column per class "
                f"of classes_; got {P.shape[1]} columns."
            )
        self.n_queries_ += len(z)
        p = P[np.arange(len(z)), codes]
        return np.log(np.maximum(p, TINY)) - 0.5 * self.prior_weight * (z**2).sum(1)

    def _black_box(self, estimator, codes, rng):
        n, k, d = len(codes), self.population_size, self.latent_dim
        n_steps = min(self.max_iter, self.max_queries // (2 * k))
        if n_steps < 1:
            raise ValueError(
                f"max_queries={self.max_queries} cannot pay for one step of "
                f"{2 * k} queries (2 * population_size); raise max_queries or lower "
                "population_size."
            )
        z = rng.standard_normal((n, d))
        sigma = 0.5
        # Rank-based utilities of a population of 2k (centred, zero sum).
        ranks = np.arange(2 * k)
        utility = np.maximum(0.0, np.log(k + 1) - np.log(ranks + 1.0))
        utility = utility / utility.sum() - 1.0 / (2 * k)
        for _ in range(n_steps):
            eps = rng.standard_normal((n, k, d))
            eps = np.concatenate([eps, -eps], axis=1)
            candidates = (z[:, None, :] + sigma * eps).reshape(n * 2 * k, d)
            fitness = self._fitness(estimator, candidates, np.repeat(codes, 2 * k))
            order = np.argsort(-fitness.reshape(n, 2 * k), axis=1)
            weights = np.empty((n, 2 * k))
            np.put_along_axis(weights, order, np.broadcast_to(utility, (n, 2 * k)), 1)
            z = z + self.step_size * 20 * np.einsum("nk,nkd->nd", weights, eps)
        return z

    def _labels(self, estimator, z):
        if not hasattr(estimator, "predict"):
            raise ValueError(
                "GenerativeInversionAttack(access='label-only') queries the attacked "
                f"model's predict; {type(estimator).__name__} has none."
            )
        labels = np.asarray(estimator.predict(self._images(z)))
        if labels.shape != (len(z),):
            raise ValueError(
                "The attacked model's predict must return one label per row; got "
                f"shape {labels.shape} for {len(z)} rows."
            )
        self.n_queries_ += len(z)
        classes = fitted_classes(estimator)
        return np.array(
            [np.flatnonzero(classes == v)[0] if v in classes else -1 for v in labels]
        )

    def _label_only(self, estimator, codes, rng):
        n, k, d = len(codes), self.population_size, self.latent_dim
        budget = np.full(n, self.max_queries)
        # 1. A code in each class: sample the prior in batches of k.
        z = rng.standard_normal((n, d))
        found = np.zeros(n, dtype=bool)
        while not found.all():
            todo = np.flatnonzero(~found & (budget >= k))
            if len(todo) == 0:
                break
            draws = rng.standard_normal((len(todo), k, d))
            labels = self._labels(estimator, draws.reshape(-1, d)).reshape(len(todo), k)
            budget[todo] -= k
            hit = labels == codes[todo, None]
            for row, i in enumerate(todo):
                if hit[row].any():
                    z[i] = draws[row, np.argmax(hit[row])]
                    found[i] = True
        # 2. Boundary repulsion on spheres of growing radius. The radius and
        # the code stay where the prior has mass (a code far out decodes to a
        # saturated image that no longer looks like the public data).
        max_norm = 1.5 * np.sqrt(d)
        max_radius = 0.5 * max_norm
        radius = np.full(n, min(self.step_size * 20, max_radius))
        for _ in range(self.max_iter):
            active = np.flatnonzero(found & (budget >= k + 1))
            if len(active) == 0:
                break
            u = rng.standard_normal((len(active), k, d))
            u /= np.linalg.norm(u, axis=2, keepdims=True)
            points = z[active, None, :] + radius[active, None, None] * u
            labels = self._labels(estimator, points.reshape(-1, d)).reshape(-1, k)
            budget[active] -= k
            outside = labels != codes[active, None]
            moved = z[active].copy()
            for row, i in enumerate(active):
                if not outside[row].any():
                    radius[i] = min(radius[i] * 1.3, max_radius)
                    continue
                away = -u[row][outside[row]].mean(axis=0)
                moved[row] = _into_ball(z[i] + radius[i] * away, max_norm)
            step = outside.any(axis=1)
            if step.any():
                keep = self._labels(estimator, moved[step]) == codes[active[step]]
                budget[active[step]] -= 1
                z[active[step][keep]] = moved[step][keep]
        return z
