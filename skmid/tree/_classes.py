"""ID3 decision trees with the MID output-entropy penalty, and the Priority baseline."""

import numbers
from abc import ABCMeta, abstractmethod
from types import SimpleNamespace

import numpy as np
from scipy.special import xlogy
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

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
    "gini": CRITERION_GINI,
    "gain_ratio": CRITERION_GAIN_RATIO,
}
_PENALIZED_OUTPUTS = {"leaf": PENALTY_LEAF, "label": PENALTY_LABEL}
# Input dtypes the traversal kernel is compiled for; other real dtypes are
# converted to the widest of their kind (exactly, uint64 aside: object path).
_KERNEL_DTYPES = {np.dtype(t) for t in ["float64", "float32", "int64", "int32"]}


def _class_distribution(counts):
    """Rows of class counts, normalised (uniform for a row without positive counts)."""
    counts = np.clip(counts, 0.0, None)
    totals = counts.sum(axis=1, keepdims=True)
    uniform = np.full_like(counts, 1.0 / counts.shape[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, counts / totals, uniform)


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
        X : array-like or DataFrame of shape (n_samples, n_features)
            Training data; integers, floats, strings or objects.
        y : array-like of shape (n_samples,)
            Class labels, of any type.

        Returns
        -------
        self : object
            The fitted tree.
        """
        X, y = validate_data(
            self, X, y, dtype=None, ensure_all_finite=False, reset=True
        )
        check_classification_targets(y)
        self.classes_, y_codes = np.unique(y, return_inverse=True)
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
        self.tree_ = tree = self._grow(codes, values, y_codes.astype(np.int64))
        tree.categories = self.categories_
        self._flat_tree = flatten_tree(
            tree.feature,
            tree.threshold,
            tree.slot_start,
            tree.slot_child,
            ~self.categorical_features_,
        )
        self._node_proba = _class_distribution(tree.value)
        return self

    @abstractmethod
    def _grow(self, codes, values, y_codes):
        """Build and return the :class:`CategoricalTree`."""

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
        return validate_data(self, X, dtype=None, ensure_all_finite=False, reset=False)

    def _stops(self, X):
        return self._traverse(self._validated(X), None)[0]

    def apply(self, X):
        """Node at which each row's traversal stops.

        A leaf, or the internal node whose branch for the row's category (or
        missing value) no training row took: the row then gets that node's
        class distribution.

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
    midpoint of two adjacent floats rounds to the upper one), may be reused on
    a path, and send missing values (NaN or None) to a third branch; infinite
    values are rejected. A query whose category (or missing
    value) never reached a node during training stops there and gets that
    node's class distribution.

    The Priority defense of Fredrikson et al. (2015) is available through
    ``priority_feature`` and ``priority_depth``: the sensitive feature is
    excluded above ``priority_depth`` and forced at every node at that depth
    that can be split (if it cannot split a node there, the other features
    are searched as usual).

    Parameters
    ----------
    lam : float, default=0.01
        Weight :math:`\lambda \ge 0` of the output-entropy penalty; 0 is ID3.
    criterion : {"entropy", "gini", "gain_ratio"}, default="entropy"
        Homogeneity gain :math:`C`: information gain, Gini decrease, or
        information gain divided by split information.
    penalized_output : {"leaf", "label"}, default="leaf"
        Whose entropy is penalised: the leaf reached or the predicted label.
    max_depth : int, default=None
        Maximum depth; None grows until nodes are pure or features run out.
    min_samples_split : int, default=2
        Minimum rows at a node to split it.
    min_samples_leaf : int, default=1
        Minimum rows in every non-empty child of a split.
    categorical_features : array-like of int, str or bool, default=None
        Columns to treat as categorical (indices, names, or a boolean mask);
        the others are numeric (finite, or NaN for missing). None treats every
        column as categorical.
    priority_feature : int or str, default=None
        Column of the Priority defense (the sensitive feature).
    priority_depth : int, default=0
        Depth at which ``priority_feature`` is forced.
    random_state : int, RandomState instance or None, default=None
        Order in which features are visited: ties between features go to the
        first visited.

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
        "max_depth": [Interval(numbers.Integral, 0, None, closed="left"), None],
        "min_samples_split": [Interval(numbers.Integral, 2, None, closed="left")],
        "min_samples_leaf": [Interval(numbers.Integral, 1, None, closed="left")],
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
        max_depth=None,
        min_samples_split=2,
        min_samples_leaf=1,
        categorical_features=None,
        priority_feature=None,
        priority_depth=0,
        random_state=None,
    ):
        self.lam = lam
        self.criterion = criterion
        self.penalized_output = penalized_output
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.categorical_features = categorical_features
        self.priority_feature = priority_feature
        self.priority_depth = priority_depth
        self.random_state = random_state

    def _grow(self, codes, values, y_codes):
        n_features = codes.shape[1]
        n_categories = np.array(
            [len(c) if c is not None else 0 for c in self.categories_], dtype=np.int64
        )
        order = check_random_state(self.random_state).permutation(n_features)
        n = len(y_codes)
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
            int(min(self.min_samples_split, n + 1)),
            int(min(self.min_samples_leaf, n + 1)),
            self._priority_column(n_features),
            int(min(self.priority_depth, n)),
        )
        feature, threshold, parent, depth, value, slot_start, n_slots, slot_child = (
            arrays
        )
        tree = CategoricalTree(
            feature=feature,
            threshold=threshold,
            parent=parent,
            depth=depth,
            value=value,
            n_node_samples=value.sum(axis=1).astype(np.int64),
            slot_start=slot_start,
            n_slots=n_slots,
            slot_child=slot_child,
            categories=self.categories_,
        )
        leaves = feature < 0
        leaf_share = tree.n_node_samples[leaves] / n
        self.leaf_entropy_ = float(-xlogy(leaf_share, leaf_share).sum())
        label_counts = np.zeros(self.n_classes_)
        np.add.at(
            label_counts, value[leaves].argmax(axis=1), tree.n_node_samples[leaves]
        )
        label_share = label_counts / n
        self.label_entropy_ = float(-xlogy(label_share, label_share).sum())
        return tree

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
