"""The fitted structure of a categorical tree: what a white-box attacker sees."""

from numbers import Integral

import numpy as np
from scipy import sparse
from sklearn.utils._param_validation import HasMethods, Interval, validate_params
from sklearn.utils.validation import check_is_fitted


class CategoricalTree:
    """Node arrays of a fitted multiway tree (the ``tree_`` attribute).

    Nodes are numbered breadth first from the root, 0. For every node:

    Attributes
    ----------
    node_count : int
        Number of nodes.
    n_classes : int
        Number of classes.
    feature : ndarray of shape (node_count,)
        Split feature (column index), -1 for a leaf.
    threshold : ndarray of shape (node_count,)
        Threshold of a numeric split (``<=`` goes to the first child); NaN for
        categorical splits and leaves.
    value : ndarray of shape (node_count, n_classes)
        Training rows of each class that reached the node (class counts; noisy
        counts for :class:`DPID3Classifier`).
    n_node_samples : ndarray of shape (node_count,)
        Training rows that reached the node.
    weighted_n_node_samples : ndarray of shape (node_count,)
        Their total weight (the sum of ``value``'s row).
    impurity : ndarray of shape (node_count,)
        Impurity of the node's class counts under the tree's criterion (NaN
        where the tree has none).
    children_left, children_right : ndarray of shape (node_count,)
        scikit-learn's binary view, for a tree whose splits are all numeric:
        the ``<=`` and ``>`` children, -1 at leaves. Reading them raises an
        AttributeError for a tree with a multiway (categorical) split (use
        :meth:`children`).
    missing_go_to_left : ndarray of bool of shape (node_count,)
        Whether a numeric split sends missing values (NaN) to its ``<=``
        child (else to its ``>`` child), as in scikit-learn's ``Tree``; False
        at leaves and categorical splits.
    parent : ndarray of shape (node_count,)
        Parent node, -1 for the root.
    depth : ndarray of shape (node_count,)
        Depth of the node (the root has depth 0).
    slot_start, n_slots, slot_child : ndarray
        Child lookup: the children of node ``t`` are
        ``slot_child[slot_start[t] : slot_start[t] + n_slots[t]]``, one slot per
        category of the split feature (in the order of the estimator's
        ``categories_``, missing values last when they occurred) or two for
        a numeric split (``<=``, ``>``); -1 where no training row went.
    categories : list of ndarray or None
        Categories of each feature (None for numeric features), from the
        estimator.
    """

    def __init__(
        self,
        *,
        feature,
        threshold,
        parent,
        depth,
        value,
        n_node_samples,
        slot_start,
        n_slots,
        slot_child,
        categories,
        weighted_n_node_samples=None,
        impurity=None,
        missing_go_to_left=None,
    ):
        self.feature = feature
        self.threshold = threshold
        self.parent = parent
        self.depth = depth
        self.value = value
        self.n_node_samples = n_node_samples
        self.slot_start = slot_start
        self.n_slots = n_slots
        self.slot_child = slot_child
        self.categories = categories
        self.weighted_n_node_samples = (
            value.sum(axis=1)
            if weighted_n_node_samples is None
            else weighted_n_node_samples
        )
        self.impurity = (
            np.full(feature.shape[0], np.nan) if impurity is None else impurity
        )
        self.missing_go_to_left = (
            np.zeros(feature.shape[0], dtype=bool)
            if missing_go_to_left is None
            else missing_go_to_left
        )

    @property
    def node_count(self):
        return self.feature.shape[0]

    @property
    def n_classes(self):
        return self.value.shape[1]

    def _binary_children(self, side):
        child = np.full(self.node_count, -1, dtype=np.int64)
        for node in np.flatnonzero(self.feature >= 0):
            slots = self.slot_child[
                self.slot_start[node] : self.slot_start[node] + self.n_slots[node]
            ]
            if self.categories[self.feature[node]] is not None:
                raise AttributeError(
                    f"node {node} has a multiway (categorical) split: "
                    "children_left and children_right describe binary trees "
                    "only; use children(node)"
                )
            child[node] = slots[side]
        return child

    @property
    def children_left(self):
        return self._binary_children(0)

    @property
    def children_right(self):
        return self._binary_children(1)

    @property
    def max_depth(self):
        return int(self.depth.max())

    @property
    def n_leaves(self):
        return int(np.sum(self.feature < 0))

    def children(self, node):
        """The children of ``node``: ``{category value or branch: child id}``.

        Categorical splits are keyed by category value (NaN for the missing
        category), numeric ones by ``"<= t"`` and ``"> t"`` (missing values
        follow ``missing_go_to_left``). Branches no training row took are
        left out. A leaf has none.
        """
        f = self.feature[node]
        if f < 0:
            return {}
        slots = self.slot_child[
            self.slot_start[node] : self.slot_start[node] + self.n_slots[node]
        ]
        if self.categories[f] is None:
            t = self.threshold[node]
            keys = [f"<= {t:g}", f"> {t:g}"]
        else:
            keys = list(self.categories[f])
        return {
            key: int(child)
            for key, child in zip(keys, slots, strict=True)
            if child >= 0
        }

    def decision_path(self, stops):
        """CSR indicator (n_rows, node_count) of the nodes from the root to stops."""
        indptr = [0]
        indices = []
        for node in stops:
            path = []
            while node >= 0:
                path.append(node)
                node = self.parent[node]
            indices.extend(reversed(path))
            indptr.append(len(indices))
        data = np.ones(len(indices), dtype=np.int64)
        return sparse.csr_matrix(
            (data, np.array(indices, dtype=np.int64), np.array(indptr)),
            shape=(len(stops), self.node_count),
        )


@validate_params(
    {
        "decision_tree": [HasMethods(["fit", "predict_proba"])],
        "feature_names": ["array-like", None],
        "class_names": ["array-like", None],
        "show_counts": ["boolean"],
        "max_depth": [Interval(Integral, 0, None, closed="left")],
        # Beyond float64's 17 significant digits more decimals show nothing.
        "decimals": [Interval(Integral, 0, 17, closed="both")],
    },
    prefer_skip_nested_validation=True,
)
def export_text(
    decision_tree,
    *,
    feature_names=None,
    class_names=None,
    show_counts=False,
    max_depth=10,
    decimals=2,
):
    """A text report of a fitted categorical tree, like scikit-learn's.

    Parameters
    ----------
    decision_tree : MIDDecisionTreeClassifier or DPID3Classifier
        The fitted tree.
    feature_names : list of str, default=None
        Column names; by default ``feature_names_in_`` or ``feature_<i>``.
    class_names : list of str, default=None
        Class names; by default ``classes_``.
    show_counts : bool, default=False
        Print each leaf's class counts.
    max_depth : int, default=10
        Deeper nodes are summarised as ``truncated branch``.
    decimals : int, default=2
        Decimals of thresholds and counts.

    Returns
    -------
    report : str

    Examples
    --------
    >>> from skmid.tree import MIDDecisionTreeClassifier, export_text
    >>> X = [["sun", "hot"], ["sun", "cold"], ["rain", "hot"], ["rain", "cold"]]
    >>> y = ["play", "play", "stay", "stay"]
    >>> tree = MIDDecisionTreeClassifier(lam=0.0).fit(X, y)
    >>> print(export_text(tree, feature_names=["sky", "air"]))
    |--- sky = rain
    |   |--- class: stay
    |--- sky = sun
    |   |--- class: play
    <BLANKLINE>
    """
    check_is_fitted(decision_tree, "tree_")
    tree = decision_tree.tree_
    if feature_names is None:
        names = getattr(decision_tree, "feature_names_in_", None)
        feature_names = (
            list(names)
            if names is not None
            else [f"feature_{i}" for i in range(decision_tree.n_features_in_)]
        )
    if class_names is None:
        class_names = [str(label) for label in decision_tree.classes_]
    for name, given, expected in [
        ("feature_names", feature_names, decision_tree.n_features_in_),
        ("class_names", class_names, len(decision_tree.classes_)),
    ]:
        if len(given) != expected:
            raise ValueError(
                f"{name} has {len(given)} entries but the tree has {expected}."
            )
    lines = []

    def leaf_line(node, indent):
        counts = tree.value[node]
        label = class_names[int(np.argmax(counts))]
        text = f"{indent}|--- class: {label}"
        if show_counts:
            text += f" (counts: {np.round(counts, decimals).tolist()})"
        lines.append(text)

    def recurse(node, depth):
        indent = "|   " * depth
        if tree.feature[node] < 0:
            leaf_line(node, indent)
            return
        if depth >= max_depth:
            lines.append(
                f"{indent}|--- truncated branch of depth {_subtree_depth(tree, node)}"
            )
            return
        name = feature_names[tree.feature[node]]
        numeric = tree.categories[tree.feature[node]] is None
        for key, child in tree.children(node).items():
            if numeric:
                sign, cut = key.split()
                condition = f"{name} {sign} {float(cut):.{decimals}f}"
                if (sign == "<=") == bool(tree.missing_go_to_left[node]):
                    condition += " or missing"
            elif isinstance(key, float) and key != key:
                condition = f"{name} is missing"
            else:
                condition = f"{name} = {key}"
            lines.append(f"{indent}|--- {condition}")
            recurse(child, depth + 1)

    recurse(0, 0)
    return "\n".join(lines) + "\n"


def _subtree_depth(tree, node):
    deepest = tree.depth[node]
    stack = [node]
    while stack:
        current = stack.pop()
        deepest = max(deepest, tree.depth[current])
        stack.extend(tree.children(current).values())
    return int(deepest - tree.depth[node])
