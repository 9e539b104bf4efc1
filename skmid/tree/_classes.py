"""ID3 decision trees with the MID output-entropy penalty, and the Priority baseline."""

import heapq
import numbers
from abc import ABCMeta, abstractmethod
from types import SimpleNamespace

import numpy as np
from scipy import sparse
from scipy.special import xlogy
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context, clone
from sklearn.utils import Bunch, check_random_state, compute_sample_weight
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from ..utils._validation import resolve_sensitive_columns
from ._encoding import (
    EXACT_INTEGER_LIMIT,
    category_lookup,
    encode_column,
    fit_categories,
    is_missing,
)
from ._tree import CategoricalTree
from ._tree_kernels import (
    CRITERION_ENTROPY,
    CRITERION_GAIN_RATIO,
    CRITERION_GINI,
    PENALTY_LABEL,
    PENALTY_LEAF,
    REDO,
    WORK_PER_CALL,
    build_tree,
    flatten_tree,
    traverse,
)

_CRITERIA = {
    "entropy": CRITERION_ENTROPY,
    "log_loss": CRITERION_ENTROPY,  # scikit-learn's name for the same criterion
    "gini": CRITERION_GINI,
    "gain_ratio": CRITERION_GAIN_RATIO,
}
_PENALIZED_OUTPUTS = {"leaf": PENALTY_LEAF, "label": PENALTY_LABEL}
# Input dtypes the traversal kernel is compiled for; other real dtypes are
# converted to the widest of their kind (exactly, uint64 aside: object path).
_KERNEL_DTYPES = {np.dtype(t) for t in ["float64", "float32", "int64", "int32"]}
#: A sparse X is densified (the kernels read dense columns) up to this size.
MAX_DENSE_BYTES = 1 << 31


def _densified(X):
    """A sparse ``X`` as a dense array, refused beyond ``MAX_DENSE_BYTES``."""
    if not sparse.issparse(X):
        return X
    n_bytes = X.shape[0] * X.shape[1] * X.dtype.itemsize
    if n_bytes > MAX_DENSE_BYTES:
        raise ValueError(
            f"This tree reads dense columns: the sparse X of shape {X.shape} would "
            f"take {n_bytes / 2**30:.1f} GiB dense, more than the "
            f"{MAX_DENSE_BYTES / 2**30:.0f} GiB allowed; select features first."
        )
    return X.toarray()


def _class_distribution(counts):
    """Rows of class counts, normalised (uniform for a row without positive counts)."""
    counts = np.clip(counts, 0.0, None)
    totals = counts.sum(axis=1, keepdims=True)
    uniform = np.full_like(counts, 1.0 / counts.shape[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, counts / totals, uniform)


def _children(slot_start, n_slots, slot_child, node):
    slots = slot_child[slot_start[node] : slot_start[node] + n_slots[node]]
    return slots[slots >= 0]


def _best_first(arrays, max_leaf_nodes):
    """The internal nodes of the tree grown best first to ``max_leaf_nodes``.

    A node's split and its score do not depend on the splits elsewhere (the
    label penalty aside, whose score is taken as it was in the breadth-first
    growth), so growing best first (splitting, among the current leaves,
    the one of highest score, as scikit-learn's ``max_leaf_nodes`` does) picks
    the splits of the full tree in the order of their scores. A multiway
    split that would exceed the budget is passed over for the next.
    """
    feature, slot_start, n_slots, slot_child = (arrays[i] for i in (0, 5, 6, 7))
    score = arrays[9]
    expanded = np.zeros(feature.shape[0], dtype=bool)
    frontier = [(-score[0], 0)] if feature[0] >= 0 else []
    n_leaves = 1
    while frontier:
        _, node = heapq.heappop(frontier)
        children = _children(slot_start, n_slots, slot_child, node)
        if n_leaves + len(children) - 1 > max_leaf_nodes:
            continue
        expanded[node] = True
        n_leaves += len(children) - 1
        for child in children:
            if feature[child] >= 0:
                heapq.heappush(frontier, (-score[child], int(child)))
    return expanded


def _weakest_links(feature, slot_start, n_slots, slot_child, risk, ccp_alpha=np.inf):
    """Minimal cost-complexity pruning (Breiman et al. 1984), multiway splits too.

    ``risk[t]`` is the node's weighted impurity, its share of the weight times
    its impurity. Prunes, one at a time, the internal node of smallest
    effective alpha ``(risk[t] - risk of its subtree's leaves) / (leaves - 1)``
    while that alpha is at most ``ccp_alpha``. Returns the effective alphas
    (0 first), the total leaf risk after each step, and the internal nodes
    left at the end. Each step is a pass over the nodes: for pruning paths
    of trees of moderate size.
    """
    n_nodes = feature.shape[0]
    children = [_children(slot_start, n_slots, slot_child, t) for t in range(n_nodes)]
    expanded = feature >= 0
    alphas, totals = [0.0], []
    while True:
        subtree_risk = risk.copy()
        n_leaves = np.ones(n_nodes)
        for t in np.flatnonzero(expanded)[::-1]:  # children come after parents
            subtree_risk[t] = subtree_risk[children[t]].sum()
            n_leaves[t] = n_leaves[children[t]].sum()
        totals.append(float(subtree_risk[0]))
        if not expanded[0]:
            break
        with np.errstate(divide="ignore", invalid="ignore"):
            effective = np.where(
                expanded, (risk - subtree_risk) / (n_leaves - 1.0), np.inf
            )
        weakest = int(np.argmin(effective))
        alpha = max(float(effective[weakest]), alphas[-1])
        if alpha > ccp_alpha:
            break
        stack = [weakest]
        while stack:
            node = stack.pop()
            if expanded[node]:
                expanded[node] = False
                stack.extend(children[node])
        alphas.append(alpha)
    return np.array(alphas[: len(totals)]), np.array(totals), expanded


def _subtree(arrays, expanded):
    """The node arrays of the tree whose internal nodes are ``expanded``."""
    feature, threshold, parent, depth, value, slot_start, n_slots, slot_child = arrays[
        :8
    ]
    n_node_samples, score, missing_left = arrays[8:]
    kept = np.zeros(feature.shape[0], dtype=bool)
    kept[0] = True
    for node in np.flatnonzero(expanded):  # parents come before children
        kept[_children(slot_start, n_slots, slot_child, node)] = True
    new_id = np.cumsum(kept) - 1
    old = np.flatnonzero(kept)
    new_slot_start = np.zeros(old.shape[0], dtype=np.int64)
    new_n_slots = np.zeros(old.shape[0], dtype=np.int64)
    new_slots = []
    n_slots_used = 0
    for position, node in enumerate(old):
        if not expanded[node]:
            continue
        slots = slot_child[slot_start[node] : slot_start[node] + n_slots[node]]
        new_slot_start[position] = n_slots_used
        new_n_slots[position] = len(slots)
        n_slots_used += len(slots)
        new_slots.append(np.where(slots >= 0, new_id[slots], -1))
    leaf = ~expanded[old]
    new_parent = parent[old].copy()
    new_parent[1:] = new_id[new_parent[1:]]
    return (
        np.where(leaf, -1, feature[old]),
        np.where(leaf, np.nan, threshold[old]),
        new_parent,
        depth[old],
        value[old],
        new_slot_start,
        new_n_slots,
        np.concatenate([np.empty(0, dtype=np.int64), *new_slots]),
        n_node_samples[old],
        np.where(leaf, np.nan, score[old]),
        missing_left[old] & ~leaf,
    )


def _node_impurity(value, criterion):
    """Impurity of each node's class counts: Gini, or entropy in nats."""
    proba = _class_distribution(value)
    if criterion == "gini":
        return 1.0 - np.sum(proba**2, axis=1)
    return -xlogy(proba, proba).sum(axis=1)


class BaseCategoricalTree(ClassifierMixin, BaseEstimator, metaclass=ABCMeta):
    """Input handling, traversal and inspection shared by skmid's trees.

    Columns are categorical unless declared numeric through
    ``categorical_features``; a categorical column may hold integers, floats
    or strings, with NaN/None as a category of its own. Subclasses implement
    ``_grow(codes, values, y_codes)`` and return a :class:`CategoricalTree`.
    """

    _parameter_constraints = {
        "categorical_features": ["array-like", None],
    }

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Grow the tree.

        Parameters
        ----------
        X : {array-like, sparse matrix} or DataFrame of shape (n_samples, n_features)
            Training data; integers, floats, strings or objects. A sparse
            matrix is densified (refused beyond 2 GiB dense).
        y : array-like of shape (n_samples,)
            Class labels, of any type.

        Returns
        -------
        self : object
            The fitted tree.
        """
        return self._fit(X, y)

    def _fit(self, X, y, sample_weight=None):
        if sparse.issparse(y):
            raise TypeError(
                f"{type(self).__name__} does not support a sparse y; pass an array."
            )
        X, y = validate_data(
            self,
            X,
            y,
            dtype=None,
            ensure_all_finite=False,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            reset=True,
        )
        if y.ndim == 2 and y.shape[1] > 1:
            raise ValueError(
                f"{type(self).__name__} fits one output; y has {y.shape[1]} "
                "columns (multi-output y is not supported): fit one tree per output."
            )
        y = column_or_1d(y, warn=True)
        X = _densified(X)
        check_classification_targets(y)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
        self.classes_, y_codes = np.unique(y, return_inverse=True)
        self.n_outputs_ = 1
        self.n_classes_ = len(self.classes_)
        self.categorical_features_ = self._resolve_categorical(X.shape[1])
        self.categories_ = [
            fit_categories(X[:, j]) if self.categorical_features_[j] else None
            for j in range(X.shape[1])
        ]
        # Numeric input is traversed without encoding when the categories are
        # numbers: None (object path only) for strings and the like.
        self._numeric_lookup = category_lookup(self.categories_)
        codes, values = self._encode(X)
        self.tree_ = tree = self._grow(
            codes, values, y_codes.astype(np.int64), sample_weight
        )
        tree.categories = self.categories_
        self._flat_tree = flatten_tree(
            tree.feature,
            tree.threshold,
            tree.slot_start,
            tree.slot_child,
            ~self.categorical_features_,
            tree.missing_go_to_left,
        )
        self._node_proba = _class_distribution(tree.value)
        return self

    @abstractmethod
    def _grow(self, codes, values, y_codes, sample_weight):
        """Build and return the :class:`CategoricalTree` (weights may be None)."""

    def _resolve_categorical(self, n_features):
        declared = self.categorical_features
        if declared is None:
            return np.ones(n_features, dtype=bool)
        declared = np.asarray(declared)
        mask = np.zeros(n_features, dtype=bool)
        if declared.dtype.kind == "b":
            if declared.shape != (n_features,):
                raise ValueError(
                    f"A boolean categorical_features needs {n_features} entries; "
                    f"got {declared.shape[0]}."
                )
            return declared.copy()
        for key in declared.ravel():
            if isinstance(key, str):
                names = getattr(self, "feature_names_in_", None)
                if names is None or key not in list(names):
                    raise ValueError(
                        f"categorical_features names column {key!r}, but X has no "
                        "such column name."
                    )
                mask[list(names).index(key)] = True
            elif isinstance(key, numbers.Integral) and -n_features <= key < n_features:
                mask[int(key)] = True
            else:
                raise ValueError(
                    "categorical_features must hold column indices, column names or "
                    f"be a boolean mask; got {key!r}."
                )
        return mask

    def _encode(self, X):
        n_rows, n_features = X.shape
        codes = np.zeros((n_rows, n_features), dtype=np.int64)
        values = np.full((n_rows, n_features), np.nan)
        for j in range(n_features):
            if self.categorical_features_[j]:
                codes[:, j] = encode_column(X[:, j], self.categories_[j])
                continue
            column = X[:, j]
            present = ~is_missing(column)
            try:
                values[present, j] = column[present].astype(np.float64)
            except (TypeError, ValueError, OverflowError) as error:
                raise ValueError(
                    f"Column {j} of X is declared numeric (not in "
                    f"categorical_features) but holds non-numeric values: {error}"
                ) from None
            if np.isinf(values[:, j]).any():
                # A threshold next to an infinite value would be infinite too.
                raise ValueError(
                    f"Column {j} of X is declared numeric (not in "
                    "categorical_features) but holds infinite values (or values "
                    "too large for float64); NaN marks a missing value."
                )
        return codes, values

    def _kernel_input(self, X, encode):
        """``X`` as the traversal kernel reads it, and the kernel's settings.

        Real-valued input goes as it is (no copy for the common dtypes); other
        input, categories that are not numbers, or ``encode``, through
        :meth:`_encode`, whose codes then stand for themselves. Returns the
        data, the columns to check for infinite values, the category lookup
        and the magnitude above which integers are not exact.
        """
        unchecked = np.empty(0, dtype=np.int64)
        lookup = None if encode else self._numeric_lookup
        if lookup is None or X.dtype.kind not in "biuf" or X.dtype == np.uint64:
            codes, values = self._encode(X)
            encoded = np.where(self.categorical_features_, codes, values)
            identity = category_lookup(
                [None if c is None else np.arange(len(c)) for c in self.categories_]
            )
            return encoded, unchecked, identity, np.inf
        if X.dtype not in _KERNEL_DTYPES:
            X = X.astype(np.float64 if X.dtype.kind == "f" else np.int64)
        if X.dtype.kind in "iu":
            return X, unchecked, lookup, EXACT_INTEGER_LIMIT
        return X, np.flatnonzero(~self.categorical_features_), lookup, np.inf

    def _traverse(self, X, node_proba, encode=False):
        """Node where each row stops, and its row of ``node_proba`` (if given)."""
        data, numeric_columns, lookup, exact_limit = self._kernel_input(X, encode)
        tree = self.tree_
        is_numeric = ~self.categorical_features_
        n_rows = data.shape[0]
        stops = np.empty(n_rows, dtype=np.int64)
        with_proba = node_proba is not None
        if not with_proba:
            node_proba = np.empty((0, 0))
        proba = np.empty((n_rows if with_proba else 0, node_proba.shape[1]))
        # A row visits at most max_depth + 1 nodes; calls of bounded work let
        # Ctrl-C through (compiled code does not see it).
        rows_per_call = max(1, WORK_PER_CALL // (tree.max_depth + 1))
        for start in range(0, n_rows, rows_per_call):
            rows = slice(start, start + rows_per_call)
            traverse(
                data[rows],
                numeric_columns,
                is_numeric,
                lookup,
                exact_limit,
                self._flat_tree,
                node_proba,
                stops[rows],
                proba[rows],
            )
        redo = stops == REDO
        if redo.any():
            # the object path raises on infinite values and compares exactly
            stops[redo], redone = self._traverse(
                X[redo], node_proba if with_proba else None, encode=True
            )
            if with_proba:
                proba[redo] = redone
        return stops, proba

    def _validated(self, X):
        check_is_fitted(self)
        X = validate_data(
            self,
            X,
            dtype=None,
            ensure_all_finite=False,
            accept_sparse=["csr", "csc"],
            reset=False,
        )
        return _densified(X)

    def _stops(self, X):
        return self._traverse(self._validated(X), None)[0]

    def apply(self, X):
        """Node at which each row's traversal stops.

        A leaf, or the internal node whose branch for the row's category (or
        missing categorical value) no training row took: the row then gets
        that node's class distribution.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        nodes : ndarray of shape (n_samples,)
        """
        return self._stops(X)

    def decision_path(self, X):
        """Indicator of the nodes each row passes through.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        indicator : sparse matrix of shape (n_samples, n_nodes)
            CSR matrix with a 1 for every node on each row's path.
        """
        return self.tree_.decision_path(self._stops(X))

    def predict_proba(self, X):
        """Class distribution of the node where each row stops.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class counts of the node, normalised (uniform for a node without
            positive counts).
        """
        return self._traverse(self._validated(X), self._node_proba)[1]

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba` (``-inf`` for a zero probability).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """Most frequent class of the node where each row stops.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def get_depth(self):
        """Depth of the tree (0 for a single leaf)."""
        check_is_fitted(self)
        return self.tree_.max_depth

    def get_n_leaves(self):
        """Number of leaves."""
        check_is_fitted(self)
        return self.tree_.n_leaves

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.sparse = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        return tags


class MIDDecisionTreeClassifier(BaseCategoricalTree):
    r"""ID3 decision tree with the MID mutual-information penalty.

    The MID paper's decision tree (Wang et al. 2021, "Decision Trees"): ID3
    (Quinlan 1986) with multiway splits on categorical features, each used at
    most once on a path, choosing at each node the feature :math:`A` that
    maximises

    .. math::

        \frac{n_t}{n}\, C(A) \;-\; \lambda\, H(\hat Y \text{ after the split}),

    and splitting only if that beats leaving the node a leaf. A deterministic
    tree has :math:`I(X; \hat Y) = H(\hat Y)`, so the penalty is the MID
    regulariser. Choices the paper leaves open, made here:

    - **Scope of** :math:`H(\hat Y)`: the entropy of the tree's output over
      the *whole training set*, the nodes not yet processed counting as leaves
      (the tree grows breadth first). This is the quantity the regulariser
      bounds; a node-local entropy would weigh a split of 5 rows like a split
      of the root. For the same reason the homogeneity gain :math:`C(A)` of
      node :math:`t` is weighted by its share :math:`n_t / n` of the rows, so
      the criterion is the change of one global objective and ``lam=0`` is
      plain ID3.
    - **What the output is** (``penalized_output``). With ``"leaf"`` (the
      default), :math:`\hat Y` is the leaf a row reaches: ``predict_proba``
      and the white-box counts of ``tree_`` reveal the leaf, not only its
      label, so a split that changes no predicted label still leaks and is
      still penalised. Splitting node :math:`t` then raises :math:`H(\hat Y)`
      by :math:`\frac{n_t}{n} \mathrm{SplitInfo}(A)`, and with the entropy
      criterion a node is split only when its information gain exceeds
      ``lam`` times the split information (its gain ratio exceeds ``lam``).
      With ``"label"``, :math:`\hat Y` is the predicted label, as in the
      paper's text: splits that keep every predicted label cost nothing,
      which protects label-only outputs but not probabilities or counts.

    Numeric columns, when declared (see ``categorical_features``), get binary
    threshold splits at midpoints as in C4.5 (at the lower value where the
    midpoint of two adjacent floats rounds to the upper one) and may be reused
    on a path; infinite values are rejected. Missing values (NaN or None) of a
    numeric column are learned as scikit-learn's trees learn them: at every
    threshold the missing rows are tried on each side, and the split of the
    present values from the missing ones is tried too; the split kept is the
    one of best penalised score, the penalty taken on the partition the
    missing rows are part of, and ``tree_.missing_go_to_left`` records their
    side. A split of rows without a missing value sends missing queries to
    the child with more training rows. In a categorical column, a missing
    value is one more category. A query whose category (or missing
    categorical value) never reached a node during training stops there and
    gets that node's class distribution.

    The Priority defense of Fredrikson et al. (2015) is available through
    ``priority_feature`` and ``priority_depth``: the sensitive feature is
    excluded above ``priority_depth`` and forced at every node at that depth
    that can be split (if it cannot split a node there, the other features
    are searched as usual).

    Parameters
    ----------
    lam : float, default=0.01
        Weight :math:`\lambda \ge 0` of the output-entropy penalty; 0 is ID3.
    criterion : {"entropy", "log_loss", "gini", "gain_ratio"}, default="entropy"
        Homogeneity gain :math:`C`: information gain (``"log_loss"`` is
        scikit-learn's name for it), Gini decrease, or information gain
        divided by split information.
    penalized_output : {"leaf", "label"}, default="leaf"
        Whose entropy is penalised: the leaf reached or the predicted label.
    splitter : {"best", "random"}, default="best"
        ``"random"``: each numeric feature offers one threshold drawn
        uniformly between its smallest and largest value at the node (from
        ``random_state``), as scikit-learn's random splitter; categorical
        splits are multiway and have nothing to draw.
    max_depth : int, default=None
        Maximum depth; None grows until nodes are pure or features run out.
    min_samples_split : int or float, default=2
        Minimum rows at a node to split it (a float: a fraction of the rows,
        rounded up); raised to ``2 * min_samples_leaf`` as in scikit-learn.
    min_samples_leaf : int or float, default=1
        Minimum rows in every non-empty child of a split (a float: a fraction
        of the rows, rounded up).
    min_weight_fraction_leaf : float, default=0.0
        Minimum share of the total weight (``sample_weight`` times
        ``class_weight``) in every non-empty child of a split.
    max_features : int, float, {"sqrt", "log2"} or None, default=None
        Features a node visits, as in scikit-learn: in a random order, until
        that many gave a valid split (or one does); None visits all.
    random_state : int, RandomState instance or None, default=None
        Order in which features are visited (ties between features go to the
        first visited) and the draws of ``max_features``.
    max_leaf_nodes : int, default=None
        Grow best first to at most this many leaves: the splits of the full
        tree are kept in the order of their scores.
    min_impurity_decrease : float, default=0.0
        Split only if the score reaches this value: at ``lam=0`` the weighted
        impurity decrease :math:`\frac{n_t}{n} C(A)` of scikit-learn.
    class_weight : dict, list, "balanced" or None, default=None
        Weights of the classes, multiplying ``sample_weight``.
    ccp_alpha : float, default=0.0
        Minimal cost-complexity pruning of the grown tree: subtrees whose
        effective alpha is at most this are pruned (see
        :meth:`cost_complexity_pruning_path`).
    monotonic_cst : array-like of int, default=None
        Accepted for compatibility; constraints are refused (they have no
        meaning for multiway splits and are not implemented for numeric ones).
    categorical_features : array-like of int, str or bool, default=None
        Columns to treat as categorical (indices, names, or a boolean mask);
        the others are numeric (finite, or NaN for missing). None treats every
        column as categorical; ``[]`` treats every column as numeric, as
        scikit-learn's trees do.
    priority_feature : int or str, default=None
        Column of the Priority defense (the sensitive feature).
    priority_depth : int, default=0
        Depth at which ``priority_feature`` is forced.

    Attributes
    ----------
    tree_ : CategoricalTree
        Node arrays: split feature, children per category value, class
        counts, rows per node (everything a white-box attacker uses).
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_classes_ : int
        Number of classes.
    categories_ : list of ndarray or None
        Categories of each column (sorted; NaN last when missing values
        occurred), None for numeric columns.
    categorical_features_ : ndarray of shape (`n_features_in_`,), dtype bool
        Which columns are categorical.
    leaf_entropy_ : float
        Entropy (nats) of the leaf reached by the training rows.
    label_entropy_ : float
        Entropy (nats) of the predicted labels of the training rows.
    max_features_ : int
        The resolved ``max_features``.
    n_outputs_ : int
        Always 1 (multi-output ``y`` is refused).
    feature_importances_ : ndarray of shape (`n_features_in_`,)
        Impurity-based importances, as in scikit-learn.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names, when ``X`` has string column names.

    See Also
    --------
    DPID3Classifier : The differentially private ID3 baseline.
    skmid.attacks.MAPAttributeInference : Naive and with-counts MAP attacks.

    References
    ----------
    Wang, Zhang and Jia. Improving robustness to model inversion attacks via
    mutual information regularization. AAAI 2021.
    Fredrikson, Jha and Ristenpart. Model inversion attacks that exploit
    confidence information and basic countermeasures. CCS 2015.

    Examples
    --------
    >>> from skmid.tree import MIDDecisionTreeClassifier
    >>> X = [["sun", "hot"], ["sun", "cold"], ["rain", "hot"], ["rain", "cold"],
    ...      ["sun", "hot"], ["rain", "hot"]]
    >>> y = ["play", "play", "stay", "stay", "play", "play"]
    >>> id3 = MIDDecisionTreeClassifier(lam=0.0).fit(X, y)
    >>> id3.get_n_leaves(), id3.predict([["rain", "cold"], ["fog", "hot"]])
    (3, array(['stay', 'play'], dtype='<U4'))
    >>> MIDDecisionTreeClassifier(lam=1.0).fit(X, y).get_n_leaves()
    1
    """

    _parameter_constraints = {
        **BaseCategoricalTree._parameter_constraints,
        "lam": [Interval(numbers.Real, 0, None, closed="left")],
        "criterion": [StrOptions(set(_CRITERIA))],
        "penalized_output": [StrOptions(set(_PENALIZED_OUTPUTS))],
        "splitter": [StrOptions({"best", "random"})],
        "max_depth": [Interval(numbers.Integral, 0, None, closed="left"), None],
        "min_samples_split": [
            Interval(numbers.Integral, 2, None, closed="left"),
            Interval(RealNotInt, 0.0, 1.0, closed="right"),
        ],
        "min_samples_leaf": [
            Interval(numbers.Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0.0, 1.0, closed="neither"),
        ],
        "min_weight_fraction_leaf": [Interval(numbers.Real, 0.0, 0.5, closed="both")],
        "max_features": [
            Interval(numbers.Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0.0, 1.0, closed="right"),
            StrOptions({"sqrt", "log2"}),
            None,
        ],
        "max_leaf_nodes": [Interval(numbers.Integral, 2, None, closed="left"), None],
        "min_impurity_decrease": [Interval(numbers.Real, 0.0, None, closed="left")],
        "class_weight": [dict, list, StrOptions({"balanced"}), None],
        "ccp_alpha": [Interval(numbers.Real, 0.0, None, closed="left")],
        "monotonic_cst": ["array-like", None],
        "priority_feature": [numbers.Integral, str, None],
        "priority_depth": [Interval(numbers.Integral, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        lam=0.01,
        criterion="entropy",
        penalized_output="leaf",
        splitter="best",
        max_depth=None,
        min_samples_split=2,
        min_samples_leaf=1,
        min_weight_fraction_leaf=0.0,
        max_features=None,
        random_state=None,
        max_leaf_nodes=None,
        min_impurity_decrease=0.0,
        class_weight=None,
        ccp_alpha=0.0,
        monotonic_cst=None,
        categorical_features=None,
        priority_feature=None,
        priority_depth=0,
    ):
        self.lam = lam
        self.criterion = criterion
        self.penalized_output = penalized_output
        self.splitter = splitter
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.min_weight_fraction_leaf = min_weight_fraction_leaf
        self.max_features = max_features
        self.random_state = random_state
        self.max_leaf_nodes = max_leaf_nodes
        self.min_impurity_decrease = min_impurity_decrease
        self.class_weight = class_weight
        self.ccp_alpha = ccp_alpha
        self.monotonic_cst = monotonic_cst
        self.categorical_features = categorical_features
        self.priority_feature = priority_feature
        self.priority_depth = priority_depth

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Grow the tree.

        Parameters
        ----------
        X : {array-like, sparse matrix} or DataFrame of shape (n_samples, n_features)
            Training data; integers, floats, strings or objects. A sparse
            matrix is densified (refused beyond 2 GiB dense).
        y : array-like of shape (n_samples,)
            Class labels, of any type.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows (multiplied by ``class_weight``).
            Class counts, the criterion, the penalty's output distribution
            and ``min_weight_fraction_leaf`` use the weights; integer weights
            act as repeated rows. ``min_samples_split`` and
            ``min_samples_leaf`` count rows.

        Returns
        -------
        self : object
            The fitted tree.
        """
        self._check_unsupported()
        return self._fit(X, y, sample_weight)

    def _check_unsupported(self):
        """Refuse, with the reason, the options of scikit-learn's tree not here."""
        reasons = {
            "monotonic_cst": (
                self.monotonic_cst is not None,
                "monotonicity constraints do not apply to multiway categorical "
                "splits and are not implemented for numeric ones",
            ),
        }
        for name, (refused, reason) in reasons.items():
            if refused:
                raise ValueError(
                    f"{name}={getattr(self, name)!r} is not supported by "
                    f"{type(self).__name__}: {reason}."
                )

    def _n_max_features(self, n_features):
        """Features searched per node, as scikit-learn counts them."""
        value = self.max_features
        if value is None:
            return n_features
        if value == "sqrt":
            return max(1, int(np.sqrt(n_features)))
        if value == "log2":
            return max(1, int(np.log2(n_features)))
        if isinstance(value, numbers.Integral):
            return min(value, n_features)
        return max(1, int(value * n_features))

    def _grow(self, codes, values, y_codes, sample_weight):
        n_features = codes.shape[1]
        self.max_features_ = self._n_max_features(n_features)
        n = len(y_codes)
        if self.class_weight is not None:
            # keyed by the labels of y, not by their codes
            class_weight = compute_sample_weight(
                self.class_weight, self.classes_[y_codes]
            )
            sample_weight = (
                class_weight if sample_weight is None else sample_weight * class_weight
            )
        weights = np.ones(n) if sample_weight is None else sample_weight
        total_weight = float(weights.sum())
        if not total_weight > 0:
            raise ValueError(
                "The weights of the rows (sample_weight times class_weight) sum to "
                "zero: no row would count."
            )
        min_samples_leaf = self.min_samples_leaf
        if isinstance(min_samples_leaf, numbers.Real) and not isinstance(
            min_samples_leaf, numbers.Integral
        ):
            min_samples_leaf = int(np.ceil(min_samples_leaf * n))
        min_samples_split = self.min_samples_split
        if isinstance(min_samples_split, numbers.Real) and not isinstance(
            min_samples_split, numbers.Integral
        ):
            min_samples_split = max(2, int(np.ceil(min_samples_split * n)))
        # as scikit-learn: a node that cannot give two leaves is not split
        min_samples_split = max(min_samples_split, 2 * min_samples_leaf)
        n_categories = np.array(
            [len(c) if c is not None else 0 for c in self.categories_], dtype=np.int64
        )
        rng = check_random_state(self.random_state)
        order = rng.permutation(n_features)
        seed = rng.randint(np.iinfo(np.int64).max, dtype=np.int64)
        # Depths stay below n and nodes hold at most n rows: larger settings
        # act like these bounds, which fit the kernel's int64.
        max_depth = -1 if self.max_depth is None else min(self.max_depth, n)
        arrays = build_tree(
            codes,
            values,
            ~self.categorical_features_,
            n_categories,
            y_codes,
            self.n_classes_,
            order.astype(np.int64),
            _CRITERIA[self.criterion],
            _PENALIZED_OUTPUTS[self.penalized_output],
            float(self.lam),
            int(max_depth),
            int(min(min_samples_split, n + 1)),
            int(min(min_samples_leaf, n + 1)),
            self._priority_column(n_features),
            int(min(self.priority_depth, n)),
            sample_weight=weights,
            min_weight_leaf=self.min_weight_fraction_leaf * total_weight,
            min_impurity_decrease=float(self.min_impurity_decrease),
            max_features=self.max_features_,
            seed=seed,
            random_split=self.splitter == "random",
        )
        if self.max_leaf_nodes is not None:
            arrays = _subtree(arrays, _best_first(arrays, self.max_leaf_nodes))
        if self.ccp_alpha > 0:
            value = arrays[4]
            risk = (
                value.sum(axis=1) / total_weight * _node_impurity(value, self.criterion)
            )
            expanded = _weakest_links(
                *(arrays[i] for i in (0, 5, 6, 7)), risk, ccp_alpha=self.ccp_alpha
            )[2]
            arrays = _subtree(arrays, expanded)
        (
            feature,
            threshold,
            parent,
            depth,
            value,
            slot_start,
            n_slots,
            slot_child,
            n_node_samples,
            _,
            missing_go_to_left,
        ) = arrays
        weighted_n_node_samples = value.sum(axis=1)
        tree = CategoricalTree(
            feature=feature,
            threshold=threshold,
            parent=parent,
            depth=depth,
            value=value,
            n_node_samples=n_node_samples,
            weighted_n_node_samples=weighted_n_node_samples,
            impurity=_node_impurity(value, self.criterion),
            slot_start=slot_start,
            n_slots=n_slots,
            slot_child=slot_child,
            categories=self.categories_,
            missing_go_to_left=missing_go_to_left,
        )
        leaves = feature < 0
        leaf_share = weighted_n_node_samples[leaves] / total_weight
        self.leaf_entropy_ = float(-xlogy(leaf_share, leaf_share).sum())
        label_counts = np.zeros(self.n_classes_)
        np.add.at(
            label_counts, value[leaves].argmax(axis=1), weighted_n_node_samples[leaves]
        )
        label_share = label_counts / total_weight
        self.label_entropy_ = float(-xlogy(label_share, label_share).sum())
        return tree

    def cost_complexity_pruning_path(self, X, y, sample_weight=None):
        """The minimal cost-complexity pruning path, as in scikit-learn.

        The tree is grown with these parameters and ``ccp_alpha=0``, then
        pruned weakest link first: the effective alphas at which nodes are
        pruned, and the total weighted impurity of the leaves after each
        step, in the units of ``tree_.impurity`` (nats for the entropy).
        ``ccp_alpha`` prunes the grown tree as the path does, so it applies
        to multiway splits too.

        Parameters
        ----------
        X : {array-like, sparse matrix} or DataFrame of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows.

        Returns
        -------
        path : Bunch
            ``ccp_alphas`` (increasing, from 0) and ``impurities``.
        """
        tree = clone(self).set_params(ccp_alpha=0.0)
        tree.fit(X, y, sample_weight=sample_weight)
        t = tree.tree_
        risk = t.weighted_n_node_samples / t.weighted_n_node_samples[0] * t.impurity
        alphas, impurities, _ = _weakest_links(
            t.feature, t.slot_start, t.n_slots, t.slot_child, risk
        )
        return Bunch(ccp_alphas=alphas, impurities=impurities)

    @property
    def feature_importances_(self):
        """Impurity-based importance of each feature, summing to 1.

        The total decrease of the node impurity (entropy in nats, or Gini)
        brought by the feature's splits, each weighted by the share of the
        (weighted) training rows reaching the node, as in scikit-learn; all
        zeros for a single leaf.

        Returns
        -------
        feature_importances_ : ndarray of shape (n_features_in_,)
        """
        check_is_fitted(self)
        tree = self.tree_
        weight = tree.weighted_n_node_samples
        decrease = weight * tree.impurity
        importances = np.zeros(self.n_features_in_)
        for node in np.flatnonzero(tree.feature >= 0):
            children = list(tree.children(node).values())
            np.add.at(
                importances,
                tree.feature[node],
                decrease[node] - decrease[children].sum(),
            )
        total = importances.sum()
        return importances / total if total > 0 else importances

    def _priority_column(self, n_features):
        if self.priority_feature is None:
            return -1
        # The fitted column names stand in for X, which validation has turned
        # into an array without them.
        columns = SimpleNamespace(
            shape=(0, n_features), columns=getattr(self, "feature_names_in_", None)
        )
        try:
            (column,), _ = resolve_sensitive_columns(self.priority_feature, columns)
        except ValueError as error:
            raise ValueError(f"Invalid priority_feature: {error}") from None
        return column
