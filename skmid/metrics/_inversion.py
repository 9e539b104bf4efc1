r"""How the model-inversion literature scores class reconstructions.

A class-reconstruction attack (MI-Face, GMI, Mirror, BREP-MI, ...) returns one
image per attacked class. The papers score it with an *evaluation
classifier*, trained on the private images and never shown to the attacker:
the attack accuracy is the fraction of reconstructions it assigns to their
class (Acc@1, Acc@5), and the KNN distance the distance from each
reconstruction to the nearest private image of its class in the evaluation
classifier's feature space (Zhang et al., GMI, CVPR 2020, Sec. 4.1; the
Stealthy Shield paper's Sec. 5).

The evaluator must belong to another family than the attacked models, so that
an attack cannot score by exploiting the target's own quirks (an adversarial
pattern that the target, but no other model, calls class ``c``). skmid's
default is an RBF support-vector machine on whitened principal components of
the private images: the targets of skmid's experiments are logistic
regressions and neural networks.
"""

import numbers

import numpy as np
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_params,
)
from sklearn.utils.validation import check_is_fitted

from ..utils._validation import check_finite_inputs, check_labels

#: Principal components kept by the default evaluator (at most).
MAX_COMPONENTS = 50


@validate_params(
    {
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_inversion_evaluator(n_components=MAX_COMPONENTS, *, random_state=None):
    """The default evaluation classifier of class reconstructions (unfitted).

    ``Pipeline([("pca", PCA(n_components, whiten=True)), ("svc",
    SVC(C=10))])``: whitened principal components of the private images,
    then an RBF support-vector machine, one-vs-rest. Its feature space (for
    the KNN distance) is the whitened components. ``n_components`` is cut to
    what the data allow when it is fitted by the metrics of this module.

    Parameters
    ----------
    n_components : int, default=50
        Principal components kept.
    random_state : int, RandomState instance or None, default=None
        Passed to the PCA (its full SVD draws nothing; kept for custom
        solvers).

    Returns
    -------
    evaluator : Pipeline

    Examples
    --------
    >>> from skmid.metrics import make_inversion_evaluator
    >>> make_inversion_evaluator().steps[-1][0]
    'svc'
    """
    return Pipeline(
        [
            (
                "pca",
                PCA(
                    n_components=n_components,
                    whiten=True,
                    svd_solver="full",
                    random_state=random_state,
                ),
            ),
            ("svc", SVC(C=10.0, gamma="scale", decision_function_shape="ovr")),
        ]
    )


def _flat(values, name, n_features=None):
    values = check_finite_inputs(values, name)
    if values.ndim < 2:
        raise ValueError(
            f"{name} must hold one image or row per entry, shaped (n, n_features) "
            f"or (n, height, width); got shape {values.shape}."
        )
    if len(values) == 0:
        raise ValueError(f"{name} is empty.")
    values = values.reshape(len(values), -1)
    if n_features is not None and values.shape[1] != n_features:
        raise ValueError(
            f"{name} has {values.shape[1]} values per image but X has {n_features}."
        )
    return values


def _check_private(X, y):
    X = _flat(X, "X")
    y = check_labels(y, "y")
    if len(y) != len(X):
        raise ValueError(
            f"y has {len(y)} labels but X has {len(X)} rows (inconsistent numbers "
            "of samples)."
        )
    if len(np.unique(y)) < 2:
        raise ValueError(
            "y must hold at least 2 classes: an evaluation classifier cannot be "
            "trained on one."
        )
    return X, y


def _check_reconstructions(reconstructions, classes, X, y):
    reconstructions = _flat(reconstructions, "reconstructions", X.shape[1])
    classes = check_labels(classes, "classes")
    if len(classes) != len(reconstructions):
        raise ValueError(
            f"classes has {len(classes)} labels but there are {len(reconstructions)} "
            "reconstructions (one class per reconstruction)."
        )
    unknown = ~np.isin(classes, y)
    if unknown.any():
        raise ValueError(
            "classes holds labels with no private row in y: "
            f"{np.unique(classes[unknown])[:5].tolist()}."
        )
    return reconstructions, classes


@validate_params(
    {
        "X": ["array-like"],
        "y": ["array-like"],
        "evaluator": [HasMethods(["fit", "predict"]), None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def fit_inversion_evaluator(X, y, *, evaluator=None, random_state=None):
    """Fit the evaluation classifier on the private rows ``(X, y)``.

    What :func:`inversion_attack_accuracy` and :func:`inversion_knn_distance`
    do first; fit it once and pass it to them with ``prefit=True`` to score
    many reconstructions against the same private data.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or (n_samples, h, w)
        The private images (flattened here).
    y : array-like of shape (n_samples,)
        Their classes (at least 2).
    evaluator : classifier, default=None
        Cloned and fitted; None is :func:`make_inversion_evaluator` with at
        most ``min(n_samples - 1, n_features)`` components.
    random_state : int, RandomState instance or None, default=None
        Seeds the default evaluator.

    Returns
    -------
    evaluator : fitted classifier

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skmid.metrics import fit_inversion_evaluator
    >>> X, y = load_digits(return_X_y=True)
    >>> evaluator = fit_inversion_evaluator(X / 16, y)
    >>> bool(evaluator.score(X / 16, y) > 0.95)
    True
    """
    X, y = _check_private(X, y)
    if evaluator is None:
        n_components = min(MAX_COMPONENTS, len(X) - 1, X.shape[1])
        evaluator = make_inversion_evaluator(n_components, random_state=random_state)
    else:
        evaluator = clone(evaluator)
    return evaluator.fit(X, y)


def _evaluator(X, y, evaluator, prefit, random_state):
    if prefit:
        if evaluator is None:
            raise ValueError("prefit=True needs a fitted evaluator; got None.")
        check_is_fitted(evaluator)
        return evaluator
    return fit_inversion_evaluator(X, y, evaluator=evaluator, random_state=random_state)


def _class_scores(evaluator, R):
    """One score per (reconstruction, evaluator class), higher = more likely."""
    if hasattr(evaluator, "decision_function"):
        scores = np.asarray(evaluator.decision_function(R), dtype=np.float64)
        if scores.ndim == 1:  # binary: the score of the second class
            scores = np.column_stack([-scores, scores])
    else:
        scores = np.asarray(evaluator.predict_proba(R), dtype=np.float64)
    return scores


_COMMON = {
    "X": ["array-like"],
    "y": ["array-like"],
    "reconstructions": ["array-like"],
    "classes": ["array-like"],
    "evaluator": [HasMethods(["fit", "predict"]), None],
    "prefit": ["boolean"],
    "random_state": ["random_state"],
}


@validate_params(
    {**_COMMON, "top_k": [Interval(numbers.Integral, 1, None, closed="left")]},
    prefer_skip_nested_validation=True,
)
def inversion_attack_accuracy(
    X,
    y,
    reconstructions,
    classes,
    *,
    evaluator=None,
    top_k=1,
    prefit=False,
    random_state=None,
):
    r"""Attack accuracy Acc@k: how often an evaluator recognises the reconstructions.

    An evaluation classifier :math:`E`, of another family than the attacked
    model and trained on the private rows :math:`(X, y)` (which the attacker
    never sees), ranks the classes of each reconstruction :math:`\hat x_i`
    of class :math:`c_i`; the attack accuracy is

    .. math::

        \mathrm{Acc@}k = \frac{1}{m} \sum_{i=1}^m
        \mathbb{1}\left[c_i \in \operatorname{top}_k E(\hat x_i)\right].

    A reconstruction that carries nothing of its class scores at chance: the
    same image (the public mean face, say) given for every one of :math:`K`
    classes is assigned to the same top-:math:`k` classes each time, so
    exactly :math:`\min(k, K)/K` of the reconstructions count.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or (n_samples, h, w)
        The private images (the attacked model's training data).
    y : array-like of shape (n_samples,)
        Their classes.
    reconstructions : array-like of shape (m, n_features) or (m, h, w)
        One reconstruction per entry of ``classes``.
    classes : array-like of shape (m,)
        The class each reconstruction was made for; each must occur in ``y``.
    evaluator : classifier, default=None
        The evaluation classifier, cloned and fitted on ``(X, y)``; None is
        :func:`make_inversion_evaluator` (whitened PCA + RBF SVM). Classes
        are ranked by its ``decision_function``, else ``predict_proba``.
    top_k : int, default=1
        A reconstruction counts when its class is among the evaluator's
        ``top_k`` classes (1 for Acc@1, 5 for Acc@5).
    prefit : bool, default=False
        ``evaluator`` is already fitted on the private rows
        (:func:`fit_inversion_evaluator`); it is used as is.
    random_state : int, RandomState instance or None, default=None
        Seeds the default evaluator.

    Returns
    -------
    accuracy : float
        In [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skmid.metrics import inversion_attack_accuracy
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16
    >>> classes = np.arange(10)
    >>> means = np.array([X[y == c].mean(axis=0) for c in classes])
    >>> inversion_attack_accuracy(X, y, means, classes)
    1.0
    >>> same = np.repeat(X.mean(axis=0, keepdims=True), 10, axis=0)
    >>> inversion_attack_accuracy(X, y, same, classes)
    0.1
    """
    X, y = _check_private(X, y)
    reconstructions, classes = _check_reconstructions(reconstructions, classes, X, y)
    evaluator = _evaluator(X, y, evaluator, prefit, random_state)
    scores = _class_scores(evaluator, reconstructions)
    known = np.asarray(evaluator.classes_)
    if scores.shape != (len(reconstructions), len(known)):
        raise ValueError(
            "The evaluator must score every class of its classes_ for each "
            f"reconstruction; got scores of shape {scores.shape}."
        )
    if not np.isin(classes, known).all():
        raise ValueError("classes holds labels the evaluator was not fitted on.")
    columns = np.array([np.flatnonzero(known == c)[0] for c in classes])
    own = scores[np.arange(len(classes)), columns]
    # The rank of the true class: how many classes score strictly higher; a
    # tie is resolved against the attack (counted as above).
    above = (scores > own[:, None]).sum(axis=1)
    tied = (scores == own[:, None]).sum(axis=1) - 1
    return float(np.mean(above + tied < top_k))


def _features(evaluator, values):
    if isinstance(evaluator, Pipeline) and len(evaluator.steps) > 1:
        return np.asarray(evaluator[:-1].transform(values), dtype=np.float64)
    return values


@validate_params(
    {**_COMMON, "space": [StrOptions({"features", "pixels"})]},
    prefer_skip_nested_validation=True,
)
def inversion_knn_distance(
    X,
    y,
    reconstructions,
    classes,
    *,
    evaluator=None,
    space="features",
    prefit=False,
    random_state=None,
):
    r"""KNN distance from each reconstruction to the nearest private image of its class.

    .. math::

        \mathrm{KNN\ dist} = \frac{1}{m} \sum_{i=1}^m
        \min_{j : y_j = c_i} \lVert \phi(\hat x_i) - \phi(x_j) \rVert_2,

    with :math:`\phi` the evaluation classifier's feature map
    (``space="features"``: every step of a ``Pipeline`` evaluator but the
    last, for the default one the whitened principal components; the pixels
    for an evaluator that is not a pipeline) or the identity
    (``space="pixels"``). Lower means the reconstructions are closer to the
    private images: **lower is more leakage**.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or (n_samples, h, w)
        The private images.
    y : array-like of shape (n_samples,)
        Their classes.
    reconstructions : array-like of shape (m, n_features) or (m, h, w)
        One reconstruction per entry of ``classes``.
    classes : array-like of shape (m,)
        The class of each reconstruction; each must occur in ``y``.
    evaluator : classifier, default=None
        As in :func:`inversion_attack_accuracy`; only its feature map is
        used (not fitted when ``space="pixels"``).
    space : {"features", "pixels"}, default="features"
        Where distances are measured.
    prefit : bool, default=False
        ``evaluator`` is already fitted on the private rows.
    random_state : int, RandomState instance or None, default=None
        Seeds the default evaluator.

    Returns
    -------
    distance : float
        Non-negative.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skmid.metrics import inversion_knn_distance
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16
    >>> inversion_knn_distance(X, y, X[:3], y[:3], space="pixels")
    0.0
    >>> means = np.array([X[y == c].mean(axis=0) for c in range(10)])
    >>> same = np.repeat(X.mean(axis=0, keepdims=True), 10, axis=0)
    >>> bool(inversion_knn_distance(X, y, means, range(10))
    ...      < inversion_knn_distance(X, y, same, range(10)))
    True
    """
    X, y = _check_private(X, y)
    reconstructions, classes = _check_reconstructions(reconstructions, classes, X, y)
    if space == "features":
        evaluator = _evaluator(X, y, evaluator, prefit, random_state)
        X_space = _features(evaluator, X)
        R_space = _features(evaluator, reconstructions)
    else:
        X_space, R_space = X, reconstructions
    distances = [
        np.sqrt(((X_space[y == c] - r) ** 2).sum(axis=1).min())
        for r, c in zip(R_space, classes, strict=True)
    ]
    return float(np.mean(distances))
