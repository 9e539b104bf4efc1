"""Category codes for the columns of a categorical tree's input.

Each categorical column maps its values to ``0 .. m - 1`` in sorted order, with
missing values (NaN or None) as one more category at the end when they occur
at fit; values never seen at fit get ``-1``. Numeric columns become float64
with NaN for missing.
"""

import numbers

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
