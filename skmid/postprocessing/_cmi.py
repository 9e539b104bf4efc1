"""The conditional-mutual-information output defense (Stealthy Shield Defense)."""

import numbers
import warnings

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ..utils._probabilities import class_mean_probabilities
from ._base import BasePostProcessor
from ._waterfill import kernel_calls
from ._waterfill_kernels import MAX_HASH_RESOLUTION, cmi_parallel, cmi_serial


class CMIPostProcessor(BasePostProcessor):
    r"""Minimise the conditional mutual information of outputs by water-filling.

    Algorithm 1 of the Stealthy Shield Defense paper. Minimising
    :math:`I(X; \hat Y \mid Y)` for one query :math:`x` with output
    :math:`f = f(x)` reduces to :math:`\mathrm{KL}(p \,\|\, q^y)` for a label
    :math:`y \sim P(y \mid x)` (eqs. 8-9), where the prototype
    :math:`q^y = E[f(X) \mid Y = y]` (eq. 10). Each row is defended by

    1. drawing :math:`y` from :math:`\mathrm{softmax}(f / T)` (the temperature
       calibrates :math:`P(y \mid x)`; a small :math:`T` mostly keeps the top
       class, a large one returns misleading labels more often);
    2. setting the budget :math:`\varepsilon \bar H(f)` with the normalised
       entropy :math:`\bar H` of eq. (12) (``adaptive=True``), or
       :math:`\varepsilon`;
    3. solving :math:`\min_p \mathrm{KL}(p \,\|\, q^y)` s.t.
       :math:`\|p - f\|_1 \le` budget exactly, by :func:`waterfill`.

    Same query, same answer (Appendix H): the draw of :math:`y` is seeded by a
    hash of the query, so repeating a query cannot average the randomness
    away, and a row's output never depends on the other rows of the batch.
    The hash floors ``hash_resolution * f`` before mixing (eq. 26 with the
    output standing in for the penultimate features, which a post-processor
    does not see), so a perturbation smaller than ``1 / hash_resolution``
    usually keeps the seed. The hash is mixed with a secret drawn from
    ``random_state`` at fit.

    Parameters
    ----------
    epsilon : float, default=1.0
        Distortion bound :math:`\varepsilon \ge 0` (L1). The paper uses 1.
    temperature : float or None, default=0.05
        Temperature :math:`T > 0` of the label draw; the paper uses 0.03-0.3.
        As :math:`T \to 0` the draw becomes the top class (a uniform draw among
        tied top classes), which any tiny :math:`T` gives exactly. None draws
        :math:`y` from :math:`f` itself (eq. 11, the paper's "no temperature"
        ablation).
    adaptive : bool, default=True
        Scale the budget by the normalised entropy of each row (eq. 12):
        confident outputs carry less information and are changed less.
    prototype : {"mean", "sample"}, default="mean"
        :math:`q^y` as the mean output of the rows of class :math:`y`
        (eq. 25, Appendix E) or as the output of one such row drawn with
        ``random_state`` (Algorithm 1 as printed).
    preserve_label : bool, default=False
        Apply the label modifier (:func:`preserve_predicted_label`) so the
        defended argmax equals the undefended one; the modifier may exceed the
        budget on the rows it changes.
    hash_resolution : float, default=1e4
        Grid of the query hash: outputs are floored to multiples of
        ``1 / hash_resolution`` before hashing; at most 1e18.
    random_state : int, RandomState instance or None, default=None
        Seeds the secret mixed into the query hash and the choice of sample
        prototypes. Pass an int for outputs reproducible across fits.

    Attributes
    ----------
    class_prototypes_ : ndarray of shape (n_classes, n_classes)
        Row ``y`` is :math:`q^y`. A class absent from ``y`` at fit gets the
        mean of all rows (the marginal output distribution, which carries no
        information about the input), with a warning.
    class_counts_ : ndarray of shape (n_classes,)
        Rows of each class seen at fit.
    hash_seed_ : int
        The secret mixed into the query hash.
    n_features_in_ : int
        Number of classes (columns of ``P``).

    See Also
    --------
    waterfill : The exact solver of step 3.
    DefendedClassifier : Fits a classifier and this defense on held-out data.

    Examples
    --------
    >>> import numpy as np
    >>> from skmid.postprocessing import CMIPostProcessor
    >>> P = np.array([[0.8, 0.2], [0.6, 0.4], [0.3, 0.7], [0.1, 0.9]])
    >>> y = [0, 0, 1, 1]
    >>> defense = CMIPostProcessor(epsilon=0.5, random_state=0).fit(P, y)
    >>> defense.class_prototypes_
    array([[0.7, 0.3],
           [0.2, 0.8]])
    >>> P_defended = defense.transform(P)
    >>> bool(np.all(np.abs(P_defended - P).sum(axis=1) <= 0.5 + 1e-12))
    True
    """

    _parameter_constraints = {
        "epsilon": [Interval(numbers.Real, 0, None, closed="left")],
        "temperature": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "adaptive": ["boolean"],
        "prototype": [StrOptions({"mean", "sample"})],
        "preserve_label": ["boolean"],
        "hash_resolution": [
            Interval(numbers.Real, 0, MAX_HASH_RESOLUTION, closed="right")
        ],
        "random_state": ["random_state"],
    }
    _checks_own_output = True
    #: Its answers hold a random draw per query (the label), seeded by the
    #: query's hash: what an averaging attacker tries to average away.
    _random_answers = True

    def __init__(
        self,
        *,
        epsilon=1.0,
        temperature=0.05,
        adaptive=True,
        prototype="mean",
        preserve_label=False,
        hash_resolution=1e4,
        random_state=None,
    ):
        self.epsilon = epsilon
        self.temperature = temperature
        self.adaptive = adaptive
        self.prototype = prototype
        self.preserve_label = preserve_label
        self.hash_resolution = hash_resolution
        self.random_state = random_state

    def _fit(self, P, codes):
        n_classes = P.shape[1]
        if n_classes < 2:
            raise ValueError(
                "CMIPostProcessor needs at least 2 classes; P has 1 column "
                "(1 feature(s), one class)."
            )
        rng = self._draw_hash_seed()
        means, counts = class_mean_probabilities(codes, P, n_classes)
        if self.prototype == "sample":
            for label in np.flatnonzero(counts):
                means[label] = P[rng.choice(np.flatnonzero(codes == label))]
        absent = counts == 0
        if absent.any():
            warnings.warn(
                f"Classes {np.flatnonzero(absent).tolist()} have no rows in y; their "
                "prototype is the mean output over all rows.",
                UserWarning,
                stacklevel=3,
            )
            means[absent] = P.mean(axis=0)
        self.class_prototypes_ = means
        self.class_counts_ = counts.astype(np.intp)

    def _transform(self, P):
        # One kernel per row block does it all (hash, label draw, entropy,
        # water-filling, and the check of the rows it writes): at small K the
        # cost of a query is its fixed costs, and at large K its passes over P.
        P = np.ascontiguousarray(P)
        prototypes = np.ascontiguousarray(self.class_prototypes_, dtype=np.float64)
        out = np.empty_like(P)
        status = np.empty(P.shape[0], dtype=np.int8)
        temperature = -1.0 if self.temperature is None else float(self.temperature)
        flagged = 0
        for rows, kernel, n_blocks in kernel_calls(cmi_serial, cmi_parallel, *P.shape):
            flagged += kernel(
                P[rows],
                prototypes,
                float(self.epsilon),
                temperature,
                bool(self.adaptive),
                float(self.hash_resolution),
                self.hash_seed_,
                out[rows],
                status[rows],
                n_blocks,
            )
        if flagged:
            self._check_output(out)
            raise RuntimeError("The defense produced rows off the probability simplex.")
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags
