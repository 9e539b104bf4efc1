"""The one validation layer shared by skmid's estimators, metrics and attacks.

Estimators and metrics call these helpers instead of re-implementing checks, so
that the same bad input gets the same clear error everywhere.
"""

import numbers

import numpy as np
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import _num_samples

#: Default absolute tolerance on the row sums of a probability matrix.
PROBABILITY_ATOL = 1e-6

#: The largest learning rate of skmid's float32 torch networks: Adam's first step
#: scales it by 1 / (1 - beta1) = 10, and torch refuses a step size beyond
#: float32's 3.4e38 for float32 parameters.
MAX_LEARNING_RATE = 1e37


def check_probability_matrix(
    y_prob, *, n_classes=None, input_name="y_prob", atol=PROBABILITY_ATOL
):
    """Validate a matrix whose rows are probability vectors.

    Parameters
    ----------
    y_prob : array-like of shape (n_samples, n_classes)
        Rows must be non-negative, finite and sum to 1 within ``atol``.
    n_classes : int, default=None
        If given, the number of columns ``y_prob`` must have.
    input_name : str, default="y_prob"
        Name used in error messages.
    atol : float, default=1e-6
        Absolute tolerance on each row sum.

    Returns
    -------
    y_prob : ndarray of shape (n_samples, n_classes), dtype float64
        The validated matrix (a copy only when a conversion was needed).

    Raises
    ------
    ValueError
        If ``y_prob`` is not 2-D, is empty, holds NaN or infinity, has a
        negative entry, a row whose sum is not 1 within ``atol``, or the wrong
        number of columns.

    Examples
    --------
    >>> from skmid.utils import check_probability_matrix
    >>> check_probability_matrix([[0.2, 0.8], [1.0, 0.0]])
    array([[0.2, 0.8],
           [1. , 0. ]])
    >>> check_probability_matrix([[0.2, 0.7]])
    Traceback (most recent call last):
    ...
    ValueError: y_prob must hold probability vectors: row 0 sums to 0.9 ...
    """
    if n_classes is not None:
        n_classes = check_int(n_classes, "n_classes", 1)
    y_prob = check_array(
        y_prob, dtype=np.float64, ensure_2d=False, input_name=input_name
    )
    if y_prob.ndim != 2:
        raise ValueError(
            f"{input_name} must be a 2-D array of shape (n_samples, n_classes); "
            f"got an array with {y_prob.ndim} dimension(s)."
        )
    if n_classes is not None and y_prob.shape[1] != n_classes:
        raise ValueError(
            f"{input_name} has {y_prob.shape[1]} columns, expected {n_classes} "
            "(one per class)."
        )
    negative = np.flatnonzero((y_prob < 0).any(axis=1))
    if negative.size:
        row = negative[0]
        raise ValueError(
            f"{input_name} must hold probability vectors: row {row} has a "
            f"negative entry ({y_prob[row].min():.6g})."
        )
    sums = y_prob.sum(axis=1)
    off = np.flatnonzero(np.abs(sums - 1.0) > atol)
    if off.size:
        row = off[0]
        raise ValueError(
            f"{input_name} must hold probability vectors: row {row} sums to "
            f"{sums[row]:.6g} (expected 1 within {atol:g})."
        )
    return y_prob


def check_finite_output(values, *, source, remedy=None):
    """Raise a ValueError if an estimator's output holds NaN or infinity.

    Non-finite values must never leave an estimator: a NaN probability row
    argmaxes to class 0 and a NaN posterior turns an attack into prior guessing,
    both silently. Call this on what a model, a defense or an attack computed,
    before returning it or acting on it.

    Parameters
    ----------
    values : array-like or tensor
        What was computed.
    source : str
        What computed it, for the message (e.g. ``"VIBClassifier's training
        loss"``, ``"the attacked model's predict"``).
    remedy : str, default=None
        What the user can change, appended to the message (e.g. ``"lower lr
        (got 1e10)"``).

    Returns
    -------
    values : same as input
        Unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> from skmid.utils import check_finite_output
    >>> check_finite_output(np.array([0.5, np.nan]), source="the model", remedy="refit")
    Traceback (most recent call last):
    ...
    ValueError: the model produced NaN or infinite values; refit.
    """
    array = values
    if hasattr(array, "detach"):  # a torch tensor
        finite = bool(array.detach().isfinite().all())
    else:
        array = np.asarray(array)
        finite = not np.issubdtype(array.dtype, np.inexact) or np.isfinite(array).all()
    if not finite:
        message = f"{source} produced NaN or infinite values"
        raise ValueError(f"{message}; {remedy}." if remedy else f"{message}.")
    return values


def check_labels(values, input_name):
    """``values`` as a 1-D array of labels (no NaN, inf or None), or a ValueError
    naming ``input_name``."""
    values = np.asarray(values)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values.ravel()
    if values.ndim != 1:
        raise ValueError(
            f"{input_name} must be 1-D (one label per row); got shape {values.shape}."
        )
    if np.issubdtype(values.dtype, np.inexact) and not np.isfinite(values).all():
        raise ValueError(f"{input_name} must not contain NaN or infinity.")
    if values.dtype == object:
        missing = [v for v in values if v is None or (isinstance(v, float) and v != v)]
        if missing:
            raise ValueError(f"{input_name} must not contain missing labels.")
    return values


def encode_class_labels(y, n_classes, *, labels=None, input_name="y"):
    """Map class labels to the column indices of a probability matrix.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels.
    n_classes : int
        Number of columns of the probability matrix.
    labels : array-like of shape (n_classes,), default=None
        The class of each column, in column order (like ``classes_``). If None,
        ``y`` must either hold integers in ``[0, n_classes)`` (column indices)
        or exactly ``n_classes`` distinct labels, taken in sorted order.

    Returns
    -------
    codes : ndarray of shape (n_samples,), dtype intp
        Column index of each label.

    Examples
    --------
    >>> from skmid.utils import encode_class_labels
    >>> encode_class_labels(["b", "a", "b"], 2)
    array([1, 0, 1])
    >>> encode_class_labels([2, 0], 3)
    array([2, 0])
    """
    n_classes = check_int(n_classes, "n_classes", 1)
    y = check_labels(y, input_name)
    if labels is not None:
        labels = check_labels(labels, "labels")
        if len(labels) != n_classes:
            raise ValueError(
                f"labels has {len(labels)} entries but there are {n_classes} columns."
            )
        if len(np.unique(labels)) != len(labels):
            raise ValueError("labels must not contain duplicates.")
        order = np.argsort(labels, kind="stable")
        sorted_labels = labels[order]
        position = np.searchsorted(sorted_labels, y)
        position = np.clip(position, 0, len(labels) - 1)
        unknown = sorted_labels[position] != y
        if unknown.any():
            raise ValueError(
                f"{input_name} contains labels not in labels: "
                f"{np.unique(y[unknown])[:5].tolist()}."
            )
        return order[position].astype(np.intp)
    if np.issubdtype(y.dtype, np.integer) or (
        np.issubdtype(y.dtype, np.floating)
        and np.all(np.isfinite(y))
        and np.all(y == np.round(y))
    ):
        if y.size and y.min() >= 0 and y.max() < n_classes:
            return y.astype(np.intp)
    classes, codes = np.unique(y, return_inverse=True)
    if len(classes) != n_classes:
        raise ValueError(
            f"{input_name} has {len(classes)} distinct labels but the probability "
            f"matrix has {n_classes} columns; pass labels= to say which class "
            "each column is."
        )
    return codes.astype(np.intp)


def check_probabilities_and_labels(y_true, y_prob, *, labels=None):
    """Validate a probability matrix and the labels of its rows together.

    Returns
    -------
    codes : ndarray of shape (n_samples,)
        Column index of each row's label.
    y_prob : ndarray of shape (n_samples, n_classes)
        The validated probability matrix.
    """
    y_prob = check_probability_matrix(y_prob)
    y_true = check_labels(y_true, "y_true")
    if len(y_true) != len(y_prob):
        raise ValueError(
            f"y_true has {len(y_true)} labels but y_prob has {len(y_prob)} rows."
        )
    codes = encode_class_labels(
        y_true, y_prob.shape[1], labels=labels, input_name="y_true"
    )
    return codes, y_prob


def check_scalar_choice(value, name, options):
    """Raise a ValueError unless ``value`` is one of ``options``."""
    if value not in options:
        raise ValueError(
            f"{name} must be one of {sorted(options, key=str)}; got {value!r}."
        )
    return value


def check_int(value, name, min_value):
    """Return ``int(value)``, or raise a ValueError if not an integer >= min_value."""
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Integral)
        or value < min_value
    ):
        raise ValueError(f"{name} must be an integer >= {min_value}; got {value!r}.")
    return int(value)


def check_layer_sizes(sizes, name, *, allow_empty=True):
    """``sizes`` (an int or a sequence of ints) as a tuple of positive ints.

    The widths of a network's hidden layers; a ValueError naming ``name``
    otherwise (and for no layer at all unless ``allow_empty``).
    """
    try:
        units = tuple(np.atleast_1d(np.asarray(sizes, dtype=object)).tolist())
    except (TypeError, ValueError):
        units = None
    if (
        units is None
        or (not units and not allow_empty)
        or not all(
            isinstance(size, numbers.Integral)
            and not isinstance(size, (bool, np.bool_))
            and size >= 1
            for size in units
        )
    ):
        what = "sequence" if allow_empty else "non-empty sequence"
        raise ValueError(
            f"{name} must be a {what} of positive integers; got {sizes!r}."
        )
    return tuple(int(size) for size in units)


def resolve_sensitive_columns(sensitive_feature, X):
    """Column indices of a sensitive feature in ``X``, and whether it is one-hot.

    Parameters
    ----------
    sensitive_feature : int, str, or list of int or str
        A column index, a column name (``X`` must then be a DataFrame), or a
        list of at least two one-hot columns (indices or names).
    X : array-like or DataFrame of shape (n_samples, n_features)
        The data the feature belongs to.

    Returns
    -------
    columns : list of int
        Positional indices of the column(s).
    one_hot : bool
        True if ``sensitive_feature`` is a list of one-hot columns.

    Examples
    --------
    >>> import numpy as np
    >>> from skmid.utils import resolve_sensitive_columns
    >>> resolve_sensitive_columns([2, 3], np.zeros((5, 4)))
    ([2, 3], True)
    """
    names = getattr(X, "columns", None)
    n_features = X.shape[1]

    def position(key):
        if isinstance(key, (bool, np.bool_)):
            raise ValueError(f"sensitive_feature must not be a boolean; got {key!r}.")
        if isinstance(key, numbers.Integral):
            if not -n_features <= key < n_features:
                raise ValueError(
                    f"sensitive_feature index {key} is out of range for data with "
                    f"{n_features} columns."
                )
            return int(key) % n_features
        if isinstance(key, str):
            if names is None:
                raise ValueError(
                    f"sensitive_feature {key!r} is a column name, but X has no "
                    "column names (pass a DataFrame, or a column index)."
                )
            matches = np.flatnonzero(np.asarray(names) == key)
            if matches.size != 1:
                raise ValueError(f"X has no (unique) column named {key!r}.")
            return int(matches[0])
        raise ValueError(
            "sensitive_feature must be a column index, a column name or a list of "
            f"one-hot columns; got {key!r}."
        )

    if isinstance(sensitive_feature, (list, tuple, np.ndarray)):
        columns = [position(key) for key in sensitive_feature]
        if len(columns) < 2 or len(set(columns)) != len(columns):
            raise ValueError(
                "A one-hot sensitive_feature needs at least two distinct columns; "
                f"got {list(sensitive_feature)!r}."
            )
        return columns, True
    return [position(sensitive_feature)], False


def check_binary(values, name, n_samples=None):
    """``values`` as booleans: they must be bool, or numbers that are 0 or 1.

    Scores, strings such as ``"True"`` and NaN are refused rather than cast: a
    score of 0.1 cast to bool is True, and so is the string ``"False"``.
    """
    values = np.asarray(values)
    if values.dtype == object:  # e.g. Python bools in an object column
        values = np.array(values.tolist())
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D (one entry per row); got shape {values.shape}."
        )
    if values.dtype != bool:
        numeric = np.issubdtype(values.dtype, np.number)
        binary = numeric and np.all((values == 0) | (values == 1))
        if not binary:
            if numeric and np.all((values >= 0) & (values <= 1)):
                raise ValueError(
                    f"{name} holds scores in [0, 1], not boolean guesses; "
                    "threshold them, or use a score-based metric such as "
                    "sklearn.metrics.roc_auc_score (metric='roc_auc' of the "
                    "membership attacks)."
                )
            shown = np.unique(values.astype(str))[:5].tolist()
            raise ValueError(
                f"{name} must be boolean (or 0 and 1); got values such as {shown}."
            )
        values = values.astype(bool)
    if n_samples is not None and values.shape[0] != n_samples:
        raise ValueError(f"{name} has {values.shape[0]} entries for {n_samples} rows.")
    return values


def check_membership(member, n_samples=None):
    """Validate membership labels: booleans (or 0/1) with both classes present."""
    member = check_binary(member, "member", n_samples)
    if member.all() or not member.any():
        raise ValueError("member must contain both members and non-members.")
    return member


def check_finite_inputs(X, name):
    """Finite float64 inputs of any shape (rows, images), at least one row."""
    if np.ndim(X) == 0:
        raise ValueError(f"{name} must be an array of inputs; got {X!r}.")
    try:
        return check_array(
            X, dtype=np.float64, ensure_2d=False, allow_nd=True, input_name=name
        )
    except ValueError as error:
        if str(error).startswith("could not convert"):
            raise ValueError(f"{name} must hold numbers: {error}") from None
        raise


def check_n_splits(n_splits, X, y, *, stratified, name="cv"):
    """Refuse more folds than rows, or than rows of a class for stratified folds."""
    n_samples = _num_samples(X)
    if n_splits > n_samples:
        raise ValueError(
            f"{name}={n_splits} folds need at least {n_splits} rows; the data have "
            f"{n_samples}."
        )
    if not stratified:
        return
    try:
        classes, counts = np.unique(np.asarray(y), return_counts=True)
    except TypeError:
        return  # labels of mixed types: the estimator rejects them
    if counts.size and counts.min() < n_splits:
        rare = classes[np.argmin(counts)]
        rare = rare.item() if isinstance(rare, np.generic) else rare
        raise ValueError(
            f"{name}={n_splits} stratified folds need {n_splits} rows of every "
            f"class; class {rare!r} has {counts.min()}."
        )


def check_n_jobs(n_jobs, name="n_jobs"):
    """None or a non-zero int (joblib's -1 = every core)."""
    if n_jobs is None:
        return None
    if (
        isinstance(n_jobs, (bool, np.bool_))
        or not isinstance(n_jobs, numbers.Integral)
        or n_jobs == 0
    ):
        raise ValueError(
            f"{name} must be None or a non-zero integer (-1: every core); got "
            f"{n_jobs!r}."
        )
    return int(n_jobs)


def check_seed(random_state, name="random_state"):
    """None, a RandomState, or an int seed NumPy accepts (0 to 2**32 - 1)."""
    if isinstance(random_state, (bool, np.bool_)):
        raise ValueError(f"{name} must be None, an int or a RandomState; got a bool.")
    try:
        check_random_state(random_state)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be None, an int in [0, 2**32 - 1] or a RandomState; got "
            f"{random_state!r}."
        ) from None
    return random_state
