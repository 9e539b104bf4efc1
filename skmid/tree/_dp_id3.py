"""Differentially private ID3 (Friedman and Schuster 2010), the MID paper's DP tree."""

import math
import numbers

import numpy as np
from scipy.special import xlogy
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ..utils._validation import check_finite_output
from ._classes import BaseCategoricalTree
from ._tree import CategoricalTree

#: Rounded noisy row counts are clipped here to fit ``n_node_samples``' int64.
_MAX_NOISY_SIZE = 2.0**62


def _information_quality(hist):
    # -sum_j sum_c tau_jc log(tau_jc / tau_j): minus N times H(class | feature)
    sizes = hist.sum(axis=1, keepdims=True)
    return float(np.sum(xlogy(hist, hist)) - np.sum(xlogy(sizes, sizes)))


def _gini_quality(hist):
    sizes = hist.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        purity = np.where(sizes > 0, (hist**2).sum(axis=1) / sizes, 0.0)
    return float(-np.sum(sizes - purity))


def _max_quality(hist):
    return float(hist.max(axis=1).sum())


#: quality function and its sensitivity (a function of the node's noisy size)
_QUALITIES = {
    "entropy": (_information_quality, lambda n: math.log(n + 1) + 1 / math.log(2)),
    "gini": (_gini_quality, lambda n: 2.0),
    "max": (_max_quality, lambda n: 1.0),
}


class DPID3Classifier(BaseCategoricalTree):
    r"""Differentially private ID3: the DiffPID3 algorithm of Friedman and Schuster.

    The DP decision-tree baseline of the MID paper. With privacy budget
    :math:`\epsilon` and depth :math:`d`, every level of the tree gets
    :math:`\epsilon' = \epsilon / (2(d + 1))` per query; the nodes of a level
    partition the data, so the levels compose in parallel. At each node:

    1. a Laplace-noised row count :math:`N_T = |T| + \mathrm{Lap}(1/\epsilon')`;
    2. if no feature is left, the depth is reached, or
       :math:`N_T / (t\,|C|) < \sqrt 2 / \epsilon'` (:math:`t` the largest
       number of categories of a remaining feature, :math:`|C|` the number
       of classes: too few rows for the noise), the node becomes a leaf with
       Laplace-noised class counts (:math:`\epsilon'`);
    3. otherwise the split feature is drawn by the exponential mechanism,
       :math:`P(A) \propto \exp(\epsilon' q(A) / (2 S(q)))`, and the node splits
       into one child per category of :math:`A`, including categories with no
       rows (so the structure reveals nothing about empty cells).

    Quality functions :math:`q` and sensitivities :math:`S(q)` are those of
    the paper: ``"entropy"`` (:math:`-N\,H(C \mid A)`, :math:`S = \log(N + 1) +
    1/\ln 2`, evaluated at the noisy :math:`N_T`), ``"gini"`` (:math:`S = 2`)
    and ``"max"`` (:math:`S = 1`). The total budget spent is at most
    :math:`\epsilon`. The categories of each column are taken from the
    training data (the usual assumption that the domain is public).

    ``tree_.value`` holds the released noisy class counts, clipped at 0, for
    the leaves, and their sums for internal nodes (post-processing, no extra
    budget); ``tree_.n_node_samples`` holds the rounded noisy counts
    :math:`N_T`. Nothing in ``tree_`` is an exact count.

    Parameters
    ----------
    epsilon : float, default=1.0
        Privacy budget :math:`\epsilon > 0`. A tiny budget gives noise that
        drowns the counts (near-uniform probabilities); one so small that the
        noise scale :math:`1/\epsilon'` or the noisy counts overflow float64
        (about 1e-306) raises a ValueError.
    max_depth : int, default=5
        Depth :math:`d` of the tree.
    criterion : {"entropy", "gini", "max"}, default="entropy"
        Quality function of the exponential mechanism.
    random_state : int, RandomState instance or None, default=None
        Seeds the Laplace noise and the exponential mechanism.

    Attributes
    ----------
    tree_ : CategoricalTree
        Node arrays (noisy counts; see above).
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_classes_ : int
        Number of classes.
    categories_ : list of ndarray
        Categories of each column.
    categorical_features_ : ndarray of shape (`n_features_in_`,), dtype bool
        All True: DP-ID3 treats every column as categorical.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names, when ``X`` has string column names.

    References
    ----------
    Friedman and Schuster. Data mining with differential privacy. KDD 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from skmid.tree import DPID3Classifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 3, size=(2000, 4))
    >>> y = (X[:, 0] == 2).astype(int)
    >>> tree = DPID3Classifier(epsilon=5.0, max_depth=2, random_state=0).fit(X, y)
    >>> float(tree.score(X, y))
    1.0
    """

    _parameter_constraints = {
        "epsilon": [Interval(numbers.Real, 0, None, closed="neither")],
        "max_depth": [Interval(numbers.Integral, 0, None, closed="left")],
        "criterion": [StrOptions(set(_QUALITIES))],
        "random_state": ["random_state"],
    }

    #: Every column is categorical in DP-ID3.
    categorical_features = None

    def __init__(
        self, *, epsilon=1.0, max_depth=5, criterion="entropy", random_state=None
    ):
        self.epsilon = epsilon
        self.max_depth = max_depth
        self.criterion = criterion
        self.random_state = random_state

    def _noise_scale(self):
        """Scale ``1 / epsilon'`` of the Laplace noise (``epsilon / (2(d + 1))``)."""
        try:
            epsilon = float(self.epsilon)
            levels = float(self.max_depth + 1)
        except OverflowError:  # Python ints beyond float64
            raise ValueError(
                "epsilon and max_depth must fit a float64; got "
                f"epsilon={self.epsilon!r}, max_depth={self.max_depth!r}."
            ) from None
        scale = 2.0 * levels / epsilon
        if not math.isfinite(scale):
            raise ValueError(
                f"epsilon={self.epsilon!r} is too small for max_depth="
                f"{self.max_depth!r}: the Laplace noise scale 2 (max_depth + 1) / "
                "epsilon overflows float64; raise epsilon or lower max_depth."
            )
        return scale

    def _grow(self, codes, values, y_codes, sample_weight):
        rng = check_random_state(self.random_state)
        quality, sensitivity = _QUALITIES[self.criterion]
        # Everything below uses the scale 1 / epsilon' rather than epsilon',
        # which overflows for a tiny epsilon.
        scale = self._noise_scale()
        n_classes = self.n_classes_
        n_categories = [len(c) for c in self.categories_]
        n_features = codes.shape[1]

        feature, parent, depth, value, noisy_size = [], [], [], [], []
        slot_start, n_slots, slot_child = [], [], []
        # queue of (rows, parent node, slot position, depth, features left)
        queue = [(np.arange(len(y_codes)), -1, -1, 0, tuple(range(n_features)))]
        head = 0
        while head < len(queue):
            rows, parent_node, slot, level, remaining = queue[head]
            node = head
            head += 1
            feature.append(-1)
            parent.append(parent_node)
            depth.append(level)
            slot_start.append(0)
            n_slots.append(0)
            if parent_node >= 0:
                slot_child[slot] = node
            size = len(rows) + rng.laplace(scale=scale)
            noisy_size.append(round(min(max(size, 0.0), _MAX_NOISY_SIZE)))
            widest = max((n_categories[f] for f in remaining), default=1)
            if (
                not remaining
                or level >= self.max_depth
                or size / (widest * n_classes) < math.sqrt(2.0) * scale
            ):
                counts = np.bincount(y_codes[rows], minlength=n_classes).astype(float)
                counts += rng.laplace(scale=scale, size=n_classes)
                value.append(np.clip(counts, 0.0, None))
                continue
            value.append(None)  # filled from the leaves below
            scores = np.empty(len(remaining))
            for position, f in enumerate(remaining):
                hist = np.zeros((n_categories[f], n_classes))
                np.add.at(hist, (codes[rows, f], y_codes[rows]), 1.0)
                scores[position] = quality(hist)
            # exp(epsilon' q / (2 S)) up to a factor, with exponents <= 0: no
            # overflow, and the best feature keeps weight 1.
            logits = (scores - scores.max()) / (
                2.0 * sensitivity(max(size, 1.0)) * scale
            )
            weights = np.exp(logits)
            chosen = remaining[rng.choice(len(remaining), p=weights / weights.sum())]
            feature[node] = chosen
            slot_start[node] = len(slot_child)
            n_slots[node] = n_categories[chosen]
            slot_child.extend([-1] * n_categories[chosen])
            children_left = tuple(f for f in remaining if f != chosen)
            # rows grouped by category in one sort, not one scan per category
            chosen_codes = codes[rows, chosen]
            order = np.argsort(chosen_codes, kind="stable")
            bounds = np.searchsorted(
                chosen_codes[order], np.arange(n_categories[chosen] + 1)
            )
            for category in range(n_categories[chosen]):
                queue.append(
                    (
                        rows[order[bounds[category] : bounds[category + 1]]],
                        node,
                        slot_start[node] + category,
                        level + 1,
                        children_left,
                    )
                )

        n_nodes = len(feature)
        value_array = np.zeros((n_nodes, n_classes))
        for node in range(n_nodes - 1, -1, -1):  # children come after parents
            if value[node] is not None:
                value_array[node] = value[node]
            if parent[node] >= 0:
                value_array[parent[node]] += value_array[node]
        # The counts are >= 0, so finite totals mean finite counts.
        check_finite_output(
            value_array.sum(axis=1),
            source="DPID3Classifier's noisy class counts",
            remedy=(
                f"raise epsilon (got {self.epsilon!r}): Laplace noise of scale "
                f"{scale:.3g} overflows float64"
            ),
        )
        return CategoricalTree(
            feature=np.array(feature, dtype=np.int64),
            threshold=np.full(n_nodes, np.nan),
            parent=np.array(parent, dtype=np.int64),
            depth=np.array(depth, dtype=np.int64),
            value=value_array,
            n_node_samples=np.array(noisy_size, dtype=np.int64),
            slot_start=np.array(slot_start, dtype=np.int64),
            n_slots=np.array(n_slots, dtype=np.int64),
            slot_child=np.array(slot_child, dtype=np.int64),
            categories=self.categories_,
        )
