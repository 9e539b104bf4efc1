"""Wen et al.'s defense: adversarial noise on the logits against an inversion model."""

import numbers

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, Options
from sklearn.utils.validation import check_is_fitted

from ..utils._probabilities import MAX_INPUT_MAGNITUDE, truncate_confidences
from ..utils._random import seed_unset_random_states
from ..utils._validation import check_finite_output
from ._base import BasePostProcessor

#: Logit margin by which the label modifier puts the label above the others.
LOGIT_MARGIN = 1e-6

#: Rows whose noise is computed together (one forward and backward pass).
CHUNK_ROWS = 4096


class AdversarialNoiseDefense(BasePostProcessor):
    r"""Turn each output into an adversarial example against an inversion model.

    The defense of Wen, Yiu and Hui: the defender trains its own inversion
    model A on a reference set (rows the target did not train on), and for
    every query :math:`x` with output :math:`y = \sigma(c_0)` it searches the
    logit noise :math:`n` that maximises A's reconstruction error (eq. 1),

    .. math::

        \max_n \mathcal{R}(x, A(\sigma(c_0 + n)))
        \quad\text{s.t.}\quad \lVert n\rVert_p \le \epsilon,\;
        \arg\max(c_0 + n) = \arg\max c_0 ,

    by ``n_iter`` signed-gradient steps (Algorithm 2). Each step (Algorithm 1)
    moves the logits by ``step_size`` times the sign of the gradient of the
    error, lifts the label's logit above every other one (the label modifier,
    eq. 2), and scales the accumulated noise back onto the
    :math:`\ell_p` ball of radius ``epsilon`` when it leaves it. The released
    vector :math:`\sigma(c_0 + n)` is on the simplex by construction.

    Readings of the paper, where it is vague or absent:

    - The logits are :math:`c_0 = \log P`. The paper perturbs a network's
      logits; for any classifier the log-probabilities are logits of the same
      output (softmax is shift-invariant), so the defense works on any
      ``predict_proba``. Classes with probability 0 have logit
      :math:`-\infty`: they get no noise and stay at 0, and the budget is
      measured on the other entries.
    - Budget: the accumulated noise is projected as in Algorithm 1, so
      :math:`\lVert n\rVert_p \le \epsilon` holds for the released output (eq.
      3's per-step normalisation to exactly :math:`\epsilon` would break it).
    - The modifier of eq. (2) makes the label's logit *equal* to the largest;
      here it ends ``1e-6`` above it, so that ties go to the original label.
      Should rounding still change a row's argmax (possible only for noise
      far below the margin), that row is released undefended. The argmax of
      every released row is the argmax of ``P`` (first index on ties).
    - The gradient needs the query's input :math:`x`: ``fit`` and
      ``transform`` take the rows behind ``P`` as ``inputs``, metadata this
      defense requests by default (``set_fit_request(inputs=True)``,
      ``set_transform_request(inputs=True)``): :class:`DefendedClassifier`
      passes them, and a :class:`~sklearn.pipeline.Pipeline` of
      post-processors routes them when metadata routing is enabled.

    Rows are processed together as tensors (chunks of 4096), and gradients
    are enabled inside ``transform`` even when the caller runs under
    ``torch.no_grad()``. Requires the ``nn`` extra (torch).

    Parameters
    ----------
    inversion_attack : InversionModelAttack, default=None
        The defender's inversion model (its hyper-parameters; it is cloned
        and trained by ``fit``). None is
        :class:`~skmid.attacks.InversionModelAttack` with its defaults.
    epsilon : float, default=1.0
        Distortion budget on the logit noise, :math:`\lVert n\rVert_p`.
    step_size : float, default=0.1
        Step :math:`\eta` of each signed-gradient step (the paper: 0.1 for
        MNIST, 0.4 for FaceScrub).
    n_iter : int, default=10
        Number of steps (the paper: 10).
    norm : {1, 2, inf}, default=2
        The norm :math:`p` of the budget.
    random_state : int, RandomState instance or None, default=None
        Seeds the inversion model's training when its own ``random_state`` is
        None; an integer seed leaves NumPy's and torch's global random state
        alone.

    Attributes
    ----------
    inversion_attack_ : InversionModelAttack
        The fitted clone, holding the reference inputs.
    inversion_network_ : torch.nn.Module
        The defender's trained inversion network A.
    input_shape_ : tuple of int
        Shape of one row of the reference inputs; ``inputs`` at
        ``transform`` must have as many values per row.
    n_features_in_ : int
        Number of classes K.

    See Also
    --------
    PurifierTransformer : Autoencoder purification of the outputs.
    preserve_predicted_label : The probability-space label modifier.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skmid.attacks import InversionModelAttack
    >>> from skmid.postprocessing import AdversarialNoiseDefense, DefendedClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16.0
    >>> defense = AdversarialNoiseDefense(
    ...     InversionModelAttack(max_epochs=20), epsilon=1.0, random_state=0
    ... )
    >>> model = DefendedClassifier(
    ...     LogisticRegression(C=0.05, max_iter=1000), defense, random_state=0
    ... ).fit(X[:1200], y[:1200])
    >>> P = model.estimator_.predict_proba(X[1200:])
    >>> noise = model.defense_.logit_noise(P, inputs=X[1200:])
    >>> bool(np.linalg.norm(noise, axis=1).max() <= 1.0)
    True
    >>> bool((model.predict(X[1200:]) == model.estimator_.predict(X[1200:])).all())
    True
    """

    # The inputs behind P are the point of this defense: requested by default.
    __metadata_request__fit = {"inputs": True}
    __metadata_request__transform = {"inputs": True}
    _uses_labels = False
    #: The label modifier keeps every row's most probable class, so that
    #: DefendedClassifier.predict skips the noise.
    _keeps_top_class = True

    _parameter_constraints = {
        "inversion_attack": [HasMethods(["fit", "train_network"]), None],
        "epsilon": [Interval(numbers.Real, 0, None, closed="left")],
        "step_size": [Interval(numbers.Real, 0, None, closed="left")],
        "n_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "norm": [Options(numbers.Real, {1, 2, np.inf})],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        inversion_attack=None,
        *,
        epsilon=1.0,
        step_size=0.1,
        n_iter=10,
        norm=2,
        random_state=None,
    ):
        self.inversion_attack = inversion_attack
        self.epsilon = epsilon
        self.step_size = step_size
        self.n_iter = n_iter
        self.norm = norm
        self.random_state = random_state

    def _fit(self, P, codes, inputs=None):
        """Train the defender's inversion model on the reference rows ``inputs``."""
        from ..attacks import InversionModelAttack
        from ..utils._torch import predict_in_batches, resolve_device

        if len(P) < 2:
            raise ValueError(
                f"P has {len(P)} row(s) (n_samples={len(P)}); "
                "AdversarialNoiseDefense needs at least 2 reference rows to train "
                "its inversion model."
            )
        input_shape = getattr(inputs, "shape", None) or np.shape(inputs)
        input_shape = tuple(input_shape)[1:]
        inputs = self._check_inputs(
            inputs, len(P), method="fit", max_magnitude=MAX_INPUT_MAGNITUDE
        )
        attack = (
            InversionModelAttack()
            if self.inversion_attack is None
            else self.inversion_attack
        )
        attack = seed_unset_random_states(
            clone(attack), check_random_state(self.random_state)
        )
        attack.fit(inputs)
        confidences = truncate_confidences(P, getattr(attack, "truncate", None))
        network = attack.train_network(confidences)
        # A diverged network (NaN weights, or outputs overflowing float32) would
        # turn every gradient sign, and so every released row, into NaN.
        # InversionModelAttack's rate was called learning_rate before skorch's lr.
        rate_name = "lr" if hasattr(attack, "lr") else "learning_rate"
        check_finite_output(
            predict_in_batches(network, confidences, resolve_device(attack.device)),
            source="the inversion network trained by inversion_attack",
            remedy=f"lower inversion_attack's {rate_name} (got "
            f"{getattr(attack, rate_name, None)})",
        )
        self.inversion_attack_ = attack
        self.inversion_network_ = network
        self.input_shape_ = input_shape

    def _transform(self, P, inputs=None):
        """Defended rows of the validated ``P``, given the queries ``inputs``."""
        return self._noise_and_release(P, self._check_query_inputs(inputs, len(P)))[1]

    def logit_noise(self, P, *, inputs=None):
        """The logit noise ``n`` that :meth:`transform` adds to ``log P``.

        ``transform(P, inputs=inputs)`` is ``softmax(log P + n)`` row by row
        (0 where ``P`` is 0), and each row satisfies
        ``norm(n, ord=norm) <= epsilon``.

        Parameters
        ----------
        P : array-like of shape (n_samples, n_classes)
            The target model's probability vectors on the queries.
        inputs : array-like of shape (n_samples, ...)
            The queries, row for row with ``P`` (required).

        Returns
        -------
        noise : ndarray of shape (n_samples, n_classes)
            Zero on the classes where ``P`` is 0.
        """
        check_is_fitted(self)
        P = self._validate_probabilities(P, reset=False)
        return self._noise_and_release(P, self._check_query_inputs(inputs, len(P)))[0]

    def _check_query_inputs(self, inputs, n_rows):
        inputs = self._check_inputs(
            inputs, n_rows, method="transform", max_magnitude=MAX_INPUT_MAGNITUDE
        )
        expected = int(np.prod(self.input_shape_))
        if inputs.shape[1] != expected:
            raise ValueError(
                f"inputs has {inputs.shape[1]} values per row, but "
                f"{type(self).__name__} was fitted on inputs with {expected} "
                f"(shape {self.input_shape_})."
            )
        return inputs

    def _noise_and_release(self, P, inputs):
        """The logit noise and the released rows, for validated ``P`` and inputs."""
        noise = np.zeros_like(P)
        for start in range(0, len(P), CHUNK_ROWS):
            rows = slice(start, start + CHUNK_ROWS)
            noise[rows] = self._noise_chunk(P[rows], inputs[rows])
        support = P > 0
        logits = np.where(support, np.log(np.where(support, P, 1.0)) + noise, -np.inf)
        logits -= logits.max(axis=1, keepdims=True)
        defended = np.exp(logits)
        defended /= defended.sum(axis=1, keepdims=True)
        moved = defended.argmax(axis=1) != P.argmax(axis=1)
        noise[moved] = 0.0
        defended[moved] = P[moved]
        return noise, defended

    def _noise_chunk(self, P, inputs):
        """Algorithms 1-2 on a chunk of rows, as float64 tensors."""
        from ..utils._torch import torch

        # The caller may have switched gradients off (no_grad, inference_mode).
        with torch.inference_mode(False), torch.enable_grad():
            return self._noise_with_grad(P, inputs)

    def _noise_with_grad(self, P, inputs):
        from ..utils._torch import as_tensor, resolve_device, torch

        attack = self.inversion_attack_
        network = self.inversion_network_.eval()
        device = resolve_device(attack.device)
        p0 = torch.tensor(P, dtype=torch.float64, device=device)  # P may be read-only
        support = p0 > 0
        c0 = torch.log(torch.where(support, p0, torch.ones_like(p0)))
        label = torch.argmax(p0, dim=1, keepdim=True)
        is_label = torch.zeros_like(support).scatter_(1, label, True)
        x = as_tensor(inputs, device)
        k = getattr(attack, "truncate", None)
        c = c0.clone()
        for _ in range(self.n_iter):
            variable = c.detach().requires_grad_(True)
            p = torch.softmax(variable.masked_fill(~support, -torch.inf), dim=1)
            if k is not None and k < p.shape[1]:
                top = torch.topk(p.detach(), k, dim=1).indices
                p = p * torch.zeros_like(p).scatter_(1, top, 1.0)
            error = torch.sum((network(p.float()) - x) ** 2)
            (grad,) = torch.autograd.grad(error, variable)
            c = self._step(c0, c.detach(), grad, support, is_label, label)
        return (c - c0).masked_fill(~support, 0.0).cpu().numpy()

    def _step(self, c0, c, grad, support, is_label, label):
        """Algorithm 1: signed step, label modifier, projection of ``c - c0``."""
        from ..utils._torch import torch

        c = c + self.step_size * torch.sign(grad) * support
        others = c.masked_fill(is_label | ~support, -torch.inf).amax(dim=1)
        lift = torch.relu(others + LOGIT_MARGIN - c.gather(1, label).squeeze(1))
        c = c + is_label * lift[:, None]
        noise = (c - c0) * support
        # The norm of noise / peak, times peak: squaring a huge step would
        # overflow to an infinite norm and a zero projection.
        peak = noise.abs().amax(dim=1).clamp_min(1e-300)
        size = peak * torch.linalg.vector_norm(
            noise / peak[:, None], ord=float(self.norm), dim=1
        )
        # Just inside the ball, so that rounding cannot push a row past epsilon.
        inside = self.epsilon * (1.0 - 1e-12) / size.clamp_min(1e-300)
        scale = torch.where(size > self.epsilon, inside, 1.0)
        return c0 + noise * scale[:, None]
