r"""Class reconstruction: the contract, and MI-Face (Fredrikson et al., CCS 2015).

A class-reconstruction attack answers "what does class :math:`c` look like to
this model?" with one image per class, the attack of the model-inversion
literature on face recognition (MI-Face; GMI, Mirror, BREP-MI in
:mod:`skmid.attacks._generative`). It is scored on the private rows
``(X, y)`` the model was trained on, which the attacker never sees, by an
evaluation classifier of another family (attack accuracy, KNN distance: see
:func:`skmid.metrics.inversion_attack_accuracy`).
"""

import hashlib
import math
import numbers
from abc import abstractmethod

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ..metrics import fit_inversion_evaluator
from ..utils._probabilities import MAX_INPUT_MAGNITUDE
from ..utils._validation import check_finite_inputs, check_finite_output, check_labels
from ._base import (
    CLASS_RECONSTRUCTION_METRICS,
    BaseAttack,
    PerEstimatorCache,
    class_codes,
    fitted_classes,
    query_proba,
)

#: Smallest probability whose logarithm is taken.
TINY = 1e-12

#: Public images whose outputs fingerprint an attacked model for the cache.
FINGERPRINT_ROWS = 8

#: Parameters that do not change a reconstruction (only how it is scored).
_SCORING_PARAMETERS = frozenset({"evaluator", "device"})


class BaseClassReconstructionAttack(BaseAttack):
    """Base class of the attacks that reconstruct one image per class.

    The contract of ``kind = "class_reconstruction"``:

    - ``fit(X, y=None)`` stores the attacker's background knowledge: public
      images (never of the private classes) that give the input shape, the
      pixel bounds (every reconstruction is clipped to ``[data_min_,
      data_max_]``) and, for a generative attack, the prior;
    - ``reconstruct(estimator, classes=None)`` returns one image per class
      of ``classes`` (all of ``estimator.classes_`` by default), shaped like
      the inputs;
    - ``infer(estimator, X, y)`` the reconstruction of each row's class (the
      common signature of skmid's attacks);
    - ``score(estimator, X, y, *, metric=...)`` scores the reconstructions of
      the classes of ``y`` on the private rows ``(X, y)``: ``"accuracy"``
      (Acc@1) and ``"top5_accuracy"`` (Acc@5) of the evaluation classifier,
      ``"knn_distance"`` (in its feature space) and ``"knn_pixel_distance"``
      (lower is more leakage), and ``"mse"``, the pixel mean squared error
      to the class means (lower is more leakage; it rewards blur). The
      evaluator (``evaluator``, default
      :func:`~skmid.metrics.make_inversion_evaluator`) is fitted once per
      ``(X, y)`` and cached.

    Reconstructions are cached per attacked model: ``reconstruct`` (and so
    ``infer`` and ``score``) returns the stored images when the same fitted
    model is asked for the same classes with the same attack parameters, so
    scoring one model with several metrics reconstructs (and queries) once.
    An entry is keyed by the model object and reused only while its outputs
    on a few public images are unchanged (a refitted model is reconstructed
    again); it is dropped by ``fit``, ``set_params`` of a parameter that
    changes the reconstruction, and pickling. A model with neither
    ``predict_proba`` nor ``predict`` (a bare torch module) is not cached.

    A subclass writes ``_fit(X)`` (optional) and ``_reconstruct(estimator,
    codes)``, returning flattened images of the classes at the columns
    ``codes`` of ``estimator.classes_``; its ``evaluator`` and
    ``random_state`` parameters, when it has them, choose and seed the
    evaluation classifier.

    With :func:`make_attack_scorer`, fit the attack on public images first:
    an unfitted attack is fitted on the scored rows, which for these attacks
    are the private ones.

    Examples
    --------
    An attack that learns nothing, the mean public image for every class,
    scores at chance:

    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skmid.attacks import BaseClassReconstructionAttack
    >>> from skmid.datasets import load_inversion_split
    >>> class PublicMean(BaseClassReconstructionAttack):
    ...     def _fit(self, X):
    ...         self.mean_ = X.mean(axis=0)
    ...     def _reconstruct(self, estimator, codes):
    ...         return np.repeat(self.mean_[None], len(codes), axis=0)
    >>> data = load_inversion_split("digits")
    >>> model = LogisticRegression(max_iter=1000).fit(data.X_private, data.y_private)
    >>> attack = PublicMean().fit(data.X_public)
    >>> attack.score(model, data.X_private, data.y_private)
    0.2
    """

    kind = "class_reconstruction"
    _metrics = CLASS_RECONSTRUCTION_METRICS
    default_metric = "accuracy"
    _needs_y = True
    #: Declared by each subclass; parameters it leaves out are not checked.
    _parameter_constraints: dict = {}

    def fit(self, X, y=None):
        """Store the attacker's public images: shape, pixel bounds, prior.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Public images (rows or images of any shape), finite, at least 2.
        y : array-like of shape (n_samples,), default=None
            Not used; if given (as by a scorer), one label per image.

        Returns
        -------
        self : object
        """
        self._validate_params()
        given = getattr(X, "dtype", None)
        X = check_finite_inputs(X, "X")
        # Queries go to the model in the floating dtype of the public images
        # (a torch model in float32 refuses float64 inputs).
        self._input_dtype = (
            given
            if given is not None and np.issubdtype(given, np.floating)
            else X.dtype
        )
        if X.ndim < 2 or len(X) < 2:
            raise ValueError(
                "X must hold at least 2 images, shaped (n_samples, n_features) or "
                f"(n_samples, height, width); got shape {X.shape}."
            )
        if y is not None and len(check_labels(y, "y")) != len(X):
            raise ValueError(
                f"y has {len(y)} labels but X has {len(X)} images (inconsistent "
                "numbers of samples)."
            )
        largest = float(np.abs(X).max())
        if largest > MAX_INPUT_MAGNITUDE:
            raise ValueError(
                f"X holds values of magnitude up to {largest:.3g}; the attacks "
                "compute in float32 (torch) and step in pixel units: rescale X to at "
                f"most {MAX_INPUT_MAGNITUDE:g}."
            )
        self.input_shape_ = X.shape[1:]
        self.n_features_in_ = int(np.prod(self.input_shape_))
        self.data_min_ = float(X.min())
        self.data_max_ = float(X.max())
        if not self.data_max_ > self.data_min_:
            raise ValueError("X must hold at least two different pixel values.")
        flat = X.reshape(len(X), -1)
        self._fit(flat)
        self._probe = flat[:FINGERPRINT_ROWS].copy()
        self._evaluators = {}
        self._reconstructions = PerEstimatorCache()
        return self

    def _fit(self, X):
        """Learn from the flattened public images (nothing by default)."""

    def _as_inputs(self, flat):
        """Flattened images as the model's inputs: their shape and dtype."""
        return flat.reshape(len(flat), *self.input_shape_).astype(self._input_dtype)

    @abstractmethod
    def _reconstruct(self, estimator, codes):
        """Flattened reconstructions of the classes at columns ``codes``."""

    def reconstruct(self, estimator, classes=None):
        """One image per class, reconstructed from ``estimator``.

        Parameters
        ----------
        estimator : fitted classifier
            The attacked model.
        classes : array-like of shape (n_classes,), default=None
            Labels of ``estimator.classes_`` to reconstruct; None is all.

        Returns
        -------
        images : ndarray of shape (n_classes, \\*input_shape)
            Within the pixel bounds of the public images.
        """
        self._check_fitted()
        known = fitted_classes(estimator)
        if classes is None:
            codes = np.arange(len(known))
        else:
            codes = class_codes(estimator, classes, "classes")
        if len(codes) == 0:
            raise ValueError("classes is empty: name at least one class.")
        flat = self._cached_reconstruct(estimator, np.asarray(codes))
        return flat.reshape(len(codes), *self.input_shape_)

    def _fingerprint(self, estimator):
        """The model's outputs on a few public images, or None (no caching)."""
        probe = getattr(self, "_probe", None)
        if probe is None:
            return None
        inputs = self._as_inputs(probe)
        for method in ("predict_proba", "predict"):
            if hasattr(estimator, method):
                try:
                    return np.asarray(getattr(estimator, method)(inputs))
                except (ValueError, TypeError, AttributeError, RuntimeError):
                    # A model that refuses the probe is not cached; the attack's
                    # own queries then raise their specific error.
                    return None
        return None

    def _reconstruction_key(self, codes):
        params = self.get_params(deep=False)
        kept = sorted(
            (name, repr(value))
            for name, value in params.items()
            if name not in _SCORING_PARAMETERS
        )
        return (tuple(kept), tuple(codes.tolist()))

    def _cached_reconstruct(self, estimator, codes):
        if not hasattr(self, "_reconstructions"):
            self._reconstructions = PerEstimatorCache()
        fingerprint = self._fingerprint(estimator)
        key = self._reconstruction_key(codes)
        entries = {}
        if fingerprint is not None:
            entries = self._reconstructions.get(estimator, fingerprint) or {}
            if key in entries:
                flat, self.n_queries_ = entries[key]
                return flat.copy()
        flat = np.asarray(self._reconstruct(estimator, codes), dtype=np.float64)
        check_finite_output(
            flat,
            source=f"{type(self).__name__}'s reconstruction",
            remedy="lower step_size",
        )
        flat = np.clip(flat, self.data_min_, self.data_max_)
        if fingerprint is not None:
            n_queries = getattr(self, "n_queries_", 0)
            self._reconstructions.put(
                estimator, fingerprint, {**entries, key: (flat.copy(), n_queries)}
            )
        return flat

    def _check_rows(self, X, y):
        self._check_fitted()
        X = check_finite_inputs(X, "X")
        if X.shape[1:] != self.input_shape_:
            raise ValueError(
                f"X has inputs of shape {X.shape[1:]}; the attack was fitted on "
                f"inputs of shape {self.input_shape_}."
            )
        self._check_y_given(y, "score")
        y = check_labels(y, "y")
        if len(y) != len(X):
            raise ValueError(
                f"y has {len(y)} labels but X has {len(X)} rows (inconsistent "
                "numbers of samples)."
            )
        return X, y

    def infer(self, estimator, X, y=None):
        """The reconstruction of each row's class.

        Parameters
        ----------
        estimator : fitted classifier
        X : array-like of shape (n_samples, ...)
            Rows of the classes to reconstruct (only their shape is used).
        y : array-like of shape (n_samples,)
            Their classes (required).

        Returns
        -------
        reconstructions : ndarray, shaped like ``X``
        """
        X, y = self._check_rows(X, y)
        classes, inverse = np.unique(y, return_inverse=True)
        return self.reconstruct(estimator, classes)[inverse]

    def _evaluator(self, X, y):
        digest = hashlib.sha1(np.ascontiguousarray(X).tobytes())
        digest.update(np.asarray(y).astype(str).tobytes())
        key = (X.shape, digest.hexdigest())
        if not hasattr(self, "_evaluators"):
            self._evaluators = {}
        if key not in self._evaluators:
            self._evaluators = {
                key: fit_inversion_evaluator(
                    X,
                    y,
                    evaluator=getattr(self, "evaluator", None),
                    random_state=getattr(self, "random_state", None),
                )
            }
        return self._evaluators[key]

    def _score(self, estimator, X, y, member, metric_function):
        X, y = self._check_rows(X, y)
        classes = np.unique(y)
        images = self.reconstruct(estimator, classes)
        X = X.reshape(len(X), -1)
        images = images.reshape(len(images), -1)
        return metric_function(X, y, images, classes, lambda: self._evaluator(X, y))

    def score(self, estimator, X, y=None, member=None, *, metric=None):
        """Attack success on the private rows ``(X, y)``.

        Reconstructs the classes of ``y`` and scores the reconstructions
        against the private rows with ``metric``.

        Parameters
        ----------
        estimator : fitted classifier
            The attacked model.
        X : array-like of shape (n_samples, ...)
            The private images (never seen by the attacker).
        y : array-like of shape (n_samples,)
            Their classes (required).
        member : None
            Not used by a class-reconstruction attack; anything else is an
            error.
        metric : {"accuracy", "top5_accuracy", "knn_distance", \
"knn_pixel_distance", "mse"}, default=None
            None is ``"accuracy"`` (Acc@1).

        Returns
        -------
        score : float
        """
        return super().score(estimator, X, y, member, metric=metric)

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_evaluators", None)
        state.pop("_reconstructions", None)
        return state

    def _grid_shape(self):
        """(height, width) of the images for total variation, or None."""
        shape = self.image_shape
        if shape is None:
            shape = tuple(s for s in self.input_shape_ if s != 1)
            if len(shape) == 1:
                side = math.isqrt(shape[0])
                shape = (side, side) if side * side == shape[0] and side > 1 else None
            elif len(shape) != 2:
                shape = None
        elif int(np.prod(shape)) != self.n_features_in_:
            raise ValueError(
                f"image_shape={tuple(shape)} does not hold the {self.n_features_in_} "
                "values of an input."
            )
        return None if shape is None else tuple(int(s) for s in shape)


# -- total variation -----------------------------------------------------------
def total_variation(images, grid, eps=1e-3):
    r"""Smoothed isotropic total variation of flattened images, and its gradient.

    :math:`\mathrm{TV}(x) = \sum_{ij} \sqrt{(x_{i+1,j}-x_{ij})^2 +
    (x_{i,j+1}-x_{ij})^2 + \epsilon^2}` (forward differences, zero past the
    border).
    """
    n = len(images)
    x = images.reshape(n, *grid)
    dx = np.zeros_like(x)
    dy = np.zeros_like(x)
    dx[:, :-1, :] = x[:, 1:, :] - x[:, :-1, :]
    dy[:, :, :-1] = x[:, :, 1:] - x[:, :, :-1]
    norm = np.sqrt(dx**2 + dy**2 + eps**2)
    ux, uy = dx / norm, dy / norm
    grad = -(ux + uy)
    grad[:, 1:, :] += ux[:, :-1, :]
    grad[:, :, 1:] += uy[:, :, :-1]
    return norm.sum(axis=(1, 2)), grad.reshape(n, -1)


# -- what a white-box attacker differentiates -----------------------------------
def linear_parts(estimator):
    """``(W, b)`` with ``predict_proba(x) = softmax(W x + b)``, or None.

    For a fitted linear classifier (``coef_``, ``intercept_``) whose
    probabilities are the softmax of its decision function (multinomial
    logistic regression; binary: the sigmoid, a softmax over ``[0, s]``).
    """
    coef = getattr(estimator, "coef_", None)
    intercept = getattr(estimator, "intercept_", None)
    if coef is None or intercept is None or not hasattr(estimator, "predict_proba"):
        return None
    W = np.atleast_2d(np.asarray(coef, dtype=np.float64))
    b = np.atleast_1d(np.asarray(intercept, dtype=np.float64))
    if W.shape[0] == 1:
        W = np.vstack([np.zeros_like(W), W])
        b = np.r_[0.0, b]
    return W, b


def _softmax(scores):
    scores = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(scores)
    return e / e.sum(axis=1, keepdims=True)


def torch_log_proba(estimator, device):
    """``f(x) -> log predict_proba(x)`` as a differentiable torch function, or None.

    Linear classifiers (:func:`linear_parts`), skorch nets (their
    ``module_`` and predict nonlinearity) and torch modules (taken to output
    logits). ``x`` is a float32 tensor shaped like the model's inputs.
    """
    from ..utils._torch import torch

    parts = linear_parts(estimator)
    if parts is not None:
        W = torch.as_tensor(parts[0], dtype=torch.float32, device=device)
        b = torch.as_tensor(parts[1], dtype=torch.float32, device=device)
        return lambda x: torch.log_softmax(x.reshape(len(x), -1) @ W.T + b, dim=1)
    if isinstance(estimator, torch.nn.Module):
        module, nonlinearity = estimator, None
    elif isinstance(getattr(estimator, "module_", None), torch.nn.Module):
        module = estimator.module_
        get = getattr(estimator, "_get_predict_nonlinearity", None)
        nonlinearity = get() if get is not None else None
    else:
        return None
    module.eval()
    for parameter in module.parameters():
        parameter.requires_grad_(False)

    def log_proba(x):
        out = module(x)
        if nonlinearity is None:
            return torch.log_softmax(out, dim=1)
        return torch.log(nonlinearity(out).clamp_min(TINY))

    return log_proba


def _white_box_error(attack, estimator):
    return ValueError(
        f"{type(attack).__name__}(access='white-box') differentiates the attacked "
        "model: a linear classifier with coef_ and intercept_ and softmax "
        "probabilities, a skorch net or a torch module; "
        f"{type(estimator).__name__} is none of these. Use access='black-box'."
    )


class MIFaceAttack(BaseClassReconstructionAttack):
    r"""MI-Face: reconstruct each class by descending the model's confidence cost.

    Fredrikson, Jha and Ristenpart (CCS 2015, Algorithm 1) invert a face
    recogniser by gradient descent on the input, from :math:`x_0 = 0`, on
    the cost

    .. math::

        c(x) = 1 - \tilde f_c(x) + \mathrm{AuxTerm}(x),

    with :math:`\tilde f_c` the model's confidence in the class :math:`c` and
    the auxiliary term a regulariser; here ``loss="confidence"`` is their
    :math:`1 - \tilde f_c(x)` and ``loss="log_confidence"`` the identity loss
    :math:`-\log \tilde f_c(x)` of the later work (GMI), whose gradient does
    not vanish when the confidence is small; the regulariser is
    ``tv_weight`` times the smoothed total variation of the image (on
    ``image_shape``), which keeps the reconstruction smooth. Each step is

    .. math::

        x \leftarrow \operatorname{clip}_{[\ell, u]}\left(x - \lambda
        (u - \ell) \frac{\nabla c(x)}{\mathrm{rms}(\nabla c(x))}\right),

    with :math:`[\ell, u]` the pixel range of the public images. The
    gradient is normalised (each step moves the pixels by :math:`\lambda`
    of their range, root mean square), because a model's confidence gradient
    over thousands of pixels is tiny in pixel units and its scale varies by
    orders of magnitude between models; the paper's plain step would need a
    step size per model. The image of lowest cost over ``max_iter`` steps is
    returned; all classes descend together. The paper starts from
    :math:`x_0 = 0` (``init="zeros"``); ``init="public_mean"`` starts from
    the mean public image, which on faces is what makes the reconstruction a
    face (see the user guide).

    The gradient, per ``access``:

    - ``"white-box"``: exact. For a linear classifier with softmax
      probabilities :math:`p = \mathrm{softmax}(Wx + b)` it is analytic,
      :math:`\nabla_x p_c = p_c (w_c - \sum_k p_k w_k)` (from the gradient
      :math:`W` of the decision function); for a skorch net or a torch
      module it is torch's autograd (the ``nn`` extra).
    - ``"black-box"``: estimated from ``predict_proba`` queries only, by
      antithetic Gaussian finite differences (zeroth-order optimisation):

      .. math::

          \hat\nabla c(x) = \frac{1}{n} \sum_{i=1}^{n}
          \frac{c(x + \sigma u_i) - c(x - \sigma u_i)}{2 \sigma} u_i,
          \qquad u_i \sim \mathcal N(0, I),

      :math:`n` = ``n_directions``, :math:`\sigma` = ``smoothing`` times the
      pixel range; :math:`2n` queries per step and class, at most
      ``max_queries`` per class (the budget sets the number of steps). The
      total variation term's gradient is exact (it does not query the
      model).

    Parameters
    ----------
    access : {"white-box", "black-box"}, default="white-box"
        What the attacker may do with the model.
    loss : {"confidence", "log_confidence"}, default="confidence"
        The paper's :math:`1 - \tilde f_c`, or :math:`-\log \tilde f_c`.
    init : {"zeros", "public_mean"}, default="zeros"
        The starting image: 0 (clipped to the pixel range), as in the paper,
        or the mean of the public images.
    max_iter : int, default=300
        Gradient steps (white-box; black-box: at most, within the budget).
    step_size : float, default=0.1
        :math:`\lambda`: the root mean square pixel change of one step, in
        units of the pixel range.
    tv_weight : float, default=0.0
        Weight of the total variation regulariser (0: the paper's cost with
        no auxiliary term).
    image_shape : tuple of int, default=None
        ``(height, width)`` of an image for the total variation; None is the
        fitted inputs' shape when it is 2-D (a singleton channel dropped) or
        a square number of features, and no total variation otherwise.
    n_directions : int, default=20
        Black-box: random directions per gradient estimate.
    smoothing : float, default=0.01
        Black-box: :math:`\sigma`, in units of the pixel range.
    max_queries : int, default=10000
        Black-box: the query budget per reconstructed class (rows sent to
        ``predict_proba``).
    evaluator : classifier, default=None
        The evaluation classifier of ``score``; None is
        :func:`~skmid.metrics.make_inversion_evaluator`.
    random_state : int, RandomState instance or None, default=None
        Seeds the black-box directions; an integer leaves NumPy's and
        torch's global random states alone.
    device : str, default="cpu"
        Torch device of the white-box gradient of a torch model.

    Attributes
    ----------
    input_shape_ : tuple
        Shape of one input (from ``fit``).
    data_min_, data_max_ : float
        The pixel bounds of the reconstructions.
    public_mean_ : ndarray of shape (n_features,)
        The mean public image (flattened).
    n_queries_ : int
        Rows sent to ``predict_proba`` to make the images the last
        ``reconstruct`` returned (0 in white-box, where the model is
        differentiated instead); a cached reconstruction reports the cost it
        had when made (see :class:`BaseClassReconstructionAttack`).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skmid.attacks import MIFaceAttack
    >>> from skmid.datasets import load_inversion_split
    >>> data = load_inversion_split("digits")
    >>> model = LogisticRegression(max_iter=1000).fit(data.X_private, data.y_private)
    >>> attack = MIFaceAttack(max_iter=100).fit(data.X_public)
    >>> attack.reconstruct(model).shape
    (5, 64)
    >>> bool(attack.score(model, data.X_private, data.y_private) >= 0.6)
    True
    >>> black = MIFaceAttack(access="black-box", max_queries=2000, random_state=0)
    >>> images = black.fit(data.X_public).reconstruct(model, classes=[0, 1])
    >>> black.n_queries_ <= 2 * 2000
    True
    """

    _parameter_constraints = {
        "access": [StrOptions({"white-box", "black-box"})],
        "loss": [StrOptions({"confidence", "log_confidence"})],
        "init": [StrOptions({"zeros", "public_mean"})],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "step_size": [Interval(numbers.Real, 0, 1e6, closed="neither")],
        "tv_weight": [Interval(numbers.Real, 0, 1e6, closed="left")],
        "image_shape": ["array-like", None],
        "n_directions": [Interval(numbers.Integral, 1, None, closed="left")],
        "smoothing": [Interval(numbers.Real, 0, 1, closed="neither")],
        "max_queries": [Interval(numbers.Integral, 2, None, closed="left")],
        "evaluator": [None, HasMethods(["fit", "predict"])],
        "random_state": ["random_state"],
        "device": [str],
    }

    def __init__(
        self,
        *,
        access="white-box",
        loss="confidence",
        init="zeros",
        max_iter=300,
        step_size=0.1,
        tv_weight=0.0,
        image_shape=None,
        n_directions=20,
        smoothing=0.01,
        max_queries=10000,
        evaluator=None,
        random_state=None,
        device="cpu",
    ):
        self.access = access
        self.loss = loss
        self.init = init
        self.max_iter = max_iter
        self.step_size = step_size
        self.tv_weight = tv_weight
        self.image_shape = image_shape
        self.n_directions = n_directions
        self.smoothing = smoothing
        self.max_queries = max_queries
        self.evaluator = evaluator
        self.random_state = random_state
        self.device = device

    def _fit(self, X):
        grid = self._grid_shape()
        self._grid = grid if self.tv_weight > 0 else None
        self.public_mean_ = X.mean(axis=0)

    def _cost(self, p):
        """The model term of the cost, from the confidences ``p`` in the classes."""
        if self.loss == "confidence":
            return 1.0 - p
        return -np.log(np.maximum(p, TINY))

    def _model_gradient(self, estimator, X, codes):
        """Cost and exact gradient of the model term (white-box)."""
        parts = linear_parts(estimator)
        if parts is not None:
            W, b = parts
            if W.shape[1] != X.shape[1]:
                raise ValueError(
                    f"The attacked model has {W.shape[1]} features; the attack was "
                    f"fitted on inputs of {X.shape[1]} values."
                )
            P = _softmax(X @ W.T + b)
            p = P[np.arange(len(X)), codes]
            direction = W[codes] - P @ W  # grad of log p_c
            if self.loss == "confidence":
                return 1.0 - p, -p[:, None] * direction
            return -np.log(np.maximum(p, TINY)), -direction
        return self._torch_gradient(estimator, X, codes)

    def _torch_gradient(self, estimator, X, codes):
        from ..utils._torch import resolve_device, torch

        device = resolve_device(self.device)
        log_proba = torch_log_proba(estimator, device)
        if log_proba is None:
            raise _white_box_error(self, estimator)
        x = torch.tensor(
            X.reshape(len(X), *self.input_shape_),
            dtype=torch.float32,
            device=device,
            requires_grad=True,
        )
        chosen = log_proba(x)[torch.arange(len(X)), torch.as_tensor(codes)]
        cost = 1.0 - chosen.exp() if self.loss == "confidence" else -chosen
        cost.sum().backward()
        grad = x.grad.detach().cpu().numpy().reshape(len(X), -1)
        return cost.detach().cpu().numpy().astype(np.float64), grad.astype(np.float64)

    def _query_costs(self, estimator, X, codes):
        P = query_proba(estimator, self._as_inputs(X), "MIFaceAttack")
        if P.shape[1] != len(fitted_classes(estimator)):
            raise ValueError(
                "The attacked model's predict_proba must have one column per "
                f"class of classes_; got {P.shape[1]} columns."
            )
        self.n_queries_ += len(X)
        return self._cost(P[np.arange(len(X)), codes])

    def _reconstruct(self, estimator, codes):
        self.n_queries_ = 0
        span = self.data_max_ - self.data_min_
        if self.init == "zeros":
            start = np.clip(0.0, self.data_min_, self.data_max_)
        else:
            start = self.public_mean_
        X = np.broadcast_to(start, (len(codes), self.n_features_in_)).copy()
        if self.access == "white-box":
            if linear_parts(estimator) is None:
                from ..utils._optional import import_optional_dependency

                torch = import_optional_dependency(
                    "torch", extra="nn", feature="white-box attacks on networks"
                )
                if not (
                    isinstance(estimator, torch.nn.Module)
                    or isinstance(getattr(estimator, "module_", None), torch.nn.Module)
                ):
                    raise _white_box_error(self, estimator)
            n_steps = self.max_iter
        else:
            per_step = 2 * self.n_directions
            n_steps = min(self.max_iter, self.max_queries // per_step)
            if n_steps < 1:
                raise ValueError(
                    f"max_queries={self.max_queries} cannot pay for one gradient "
                    f"estimate of {per_step} queries (2 * n_directions); raise "
                    "max_queries or lower n_directions."
                )
            rng = check_random_state(self.random_state)
            sigma = self.smoothing * span
        best = X.copy()
        best_cost = np.full(len(codes), np.inf)
        for _ in range(n_steps):
            if self.access == "white-box":
                cost, grad = self._model_gradient(estimator, X, codes)
            else:
                cost, grad = self._estimate_gradient(estimator, X, codes, rng, sigma)
            if self._grid is not None:
                tv, tv_grad = total_variation(X, self._grid)
                cost = cost + self.tv_weight * tv
                grad = grad + self.tv_weight * tv_grad
            better = cost < best_cost
            best[better], best_cost[better] = X[better], cost[better]
            X = np.clip(
                X - self.step_size * span * grad, self.data_min_, self.data_max_
            )
        if self.access == "white-box":
            cost = self._model_gradient(estimator, X, codes)[0]
            if self._grid is not None:
                cost = cost + self.tv_weight * total_variation(X, self._grid)[0]
            better = cost < best_cost
            best[better] = X[better]
        return best

    def _estimate_gradient(self, estimator, X, codes, rng, sigma):
        n, d = X.shape
        k = self.n_directions
        U = rng.standard_normal((n, k, d))
        probes = np.concatenate(
            [X[:, None, :] + sigma * U, X[:, None, :] - sigma * U], 1
        )
        probes = np.clip(probes, self.data_min_, self.data_max_).reshape(n * 2 * k, d)
        costs = self._query_costs(estimator, probes, np.repeat(codes, 2 * k))
        costs = costs.reshape(n, 2, k)
        slopes = (costs[:, 0] - costs[:, 1]) / (2 * sigma)
        grad = np.einsum("nk,nkd->nd", slopes, U) / k
        # The mean cost of the probes estimates the (smoothed) cost at X with
        # no further query.
        return costs.mean(axis=(1, 2)), grad
