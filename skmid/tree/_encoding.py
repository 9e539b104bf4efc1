"""Category codes for the columns of a categorical tree's input.

Each categorical column maps its values to ``0 .. m - 1`` in sorted order, with
missing values (NaN or None) as one more category at the end when they occur
at fit; values never seen at fit get ``-1``. Numeric columns become float64
with NaN for missing.
"""

import numbers
from typing import NamedTuple

import numpy as np


def is_missing(column):
    """Boolean mask of NaN/None entries of a 1-D array of any dtype."""
    if column.dtype.kind == "f":
        return np.isnan(column)
    if column.dtype.kind in "iub":
        return np.zeros(column.shape, dtype=bool)
    return np.fromiter(
        (
            value is None or (isinstance(value, numbers.Real) and value != value)  # NaN
            for value in column
        ),
        dtype=bool,
        count=len(column),
    )


def _sorted_unique(values):
    try:
        return np.unique(values)
    except TypeError:  # mixed types: order by type name, then value
        unique = list({value: None for value in values})
        unique.sort(key=lambda value: (type(value).__name__, value))
        return np.array(unique, dtype=object)


def fit_categories(column):
    """Sorted categories of a column, with NaN appended if it has missing values."""
    missing = is_missing(column)
    categories = _sorted_unique(column[~missing])
    if missing.any():
        categories = np.append(categories.astype(object), np.nan)
    return categories


def encode_column(column, categories):
    """Codes of a column's values in ``categories`` (``-1`` for unseen values)."""
    missing = is_missing(column)
    has_missing_category = len(categories) > 0 and _is_nan(categories[-1])
    known = categories[:-1] if has_missing_category else categories
    codes = np.full(column.shape[0], -1, dtype=np.int64)
    present = ~missing
    if known.size:
        values = column[present]
        try:
            position = np.searchsorted(known, values)
            position = np.clip(position, 0, len(known) - 1)
            found = known[position] == values
        except TypeError:  # mixed types: fall back to a dictionary
            lookup = {value: code for code, value in enumerate(known)}
            position = np.array([lookup.get(value, -1) for value in values])
            found = position >= 0
        codes_present = np.where(found, position, -1)
        codes[present] = codes_present
    if has_missing_category:
        codes[missing] = len(categories) - 1
    return codes


def _is_nan(value):
    return isinstance(value, numbers.Real) and value != value


#: Integers up to this magnitude are exact in float64 (the kernels' common type).
EXACT_INTEGER_LIMIT = 2.0**53
#: A column whose integer categories span at most this many values per category
#: (plus a constant) gets a direct value-to-code table; others a binary search.
DENSE_SPAN_PER_CATEGORY = 4
DENSE_SPAN_EXTRA = 64


class CategoryLookup(NamedTuple):
    """Tables from a float64 value to its category code, per column (kernel input).

    Column ``f`` has a direct table when ``width[f] > 0``: value ``v`` has code
    ``value_code[code_start[f] + v - offset[f]]`` for an integer ``v - offset[f]``
    in ``[0, width[f])``, ``-1`` elsewhere. Otherwise its known categories are
    ``category_values[value_start[f] : value_start[f + 1]]`` (increasing, code =
    position). ``missing_code[f]`` is the code of NaN (``-1`` if none).
    """

    offset: np.ndarray
    width: np.ndarray
    code_start: np.ndarray
    value_code: np.ndarray
    value_start: np.ndarray
    category_values: np.ndarray
    missing_code: np.ndarray


def _exact_floats(known):
    """``known`` as increasing float64 values, or None if any value changes."""
    if known.dtype.kind not in "biufO":
        return None
    if known.dtype.kind == "O" and not all(
        isinstance(value, (numbers.Real, np.bool_)) for value in known
    ):
        return None
    try:
        values = known.astype(np.float64)
    except (TypeError, ValueError, OverflowError):
        return None
    if not np.all(values.astype(object) == known.astype(object)):
        return None
    # Mixed types are sorted by type name first, not by value.
    if np.any(np.diff(values) <= 0.0):
        return None
    return values


def category_lookup(categories):
    """The :class:`CategoryLookup` of ``categories`` (None for a numeric column).

    Returns None when a categorical column has a category that is not a real
    number exactly representable in float64 (strings, huge integers): such
    categories can only be matched by the object path of :func:`encode_column`.
    """
    n_features = len(categories)
    offset = np.zeros(n_features)
    width = np.zeros(n_features, dtype=np.int64)
    code_start = np.zeros(n_features, dtype=np.int64)
    value_start = np.zeros(n_features + 1, dtype=np.int64)
    missing_code = np.full(n_features, -1, dtype=np.int64)
    tables = []
    searched = []
    n_codes = 0
    for j, column_categories in enumerate(categories):
        value_start[j + 1] = value_start[j]
        if column_categories is None:
            continue
        known = column_categories
        if len(known) and _is_nan(known[-1]):
            missing_code[j] = len(known) - 1
            known = known[:-1]
        values = _exact_floats(known)
        if values is None:
            return None
        span = values[-1] - values[0] + 1.0 if values.size else np.inf
        if (
            values.size
            and np.all(values == np.floor(values))
            and max(abs(values[0]), abs(values[-1])) < EXACT_INTEGER_LIMIT
            and span <= DENSE_SPAN_PER_CATEGORY * values.size + DENSE_SPAN_EXTRA
        ):
            table = np.full(int(span), -1, dtype=np.int64)
            table[(values - values[0]).astype(np.int64)] = np.arange(values.size)
            offset[j] = values[0]
            width[j] = table.size
            code_start[j] = n_codes
            n_codes += table.size
            tables.append(table)
        else:
            value_start[j + 1] += values.size
            searched.append(values)
    return CategoryLookup(
        offset=offset,
        width=width,
        code_start=code_start,
        value_code=np.concatenate([np.empty(0, dtype=np.int64), *tables]),
        value_start=value_start,
        category_values=np.concatenate([np.empty(0), *searched]),
        missing_code=missing_code,
    )
