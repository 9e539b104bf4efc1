"""What skmid's linear models share."""

import numpy as np
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils._validation import check_finite_output

#: The largest finite float: the upper end of the ranges of float parameters,
#: so that an int too large for a float is refused by name, not by OverflowError.
FLOAT_MAX = float(np.finfo(np.float64).max)


def _numeric_target(y):
    """``y``, converted to floats if it holds numbers as strings or objects.

    sklearn's ``y_numeric`` converts only object arrays and lets an array of
    strings through to fail later in arithmetic; here any target that is not
    made of real numbers is refused by name.
    """
    if y is None:  # validate_data says that y is required
        return y
    try:
        kind = np.asarray(y).dtype.kind
    except ValueError:  # ragged: validate_data says what is wrong
        return y
    if kind in "biuf":
        return y
    message = (
        "y must hold real numbers (the target of a regression); got values of "
        f"dtype {np.asarray(y).dtype}."
    )
    if kind == "c":  # in sklearn's words too, which its estimator checks expect
        raise ValueError(f"Complex data not supported: {message}")
    try:
        return np.asarray(y).astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(message) from exc


def validate_regression_data(
    estimator, X, y, *, accept_sparse=False, multi_output=False
):
    """Validate the training data of a regressor, as float arrays.

    With ``accept_sparse``, a sparse ``X`` comes back in CSR format; with
    ``multi_output``, ``y`` may be 2-D (a column vector stays 2-D).
    """
    return validate_data(
        estimator,
        X,
        _numeric_target(y),
        dtype=np.float64,
        y_numeric=True,
        accept_sparse="csr" if accept_sparse else False,
        multi_output=multi_output,
    )


class LinearPredictMixin:
    """``predict`` of a fitted model with ``coef_`` and ``intercept_``."""

    def predict(self, X):
        """Predict with the linear model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Predicted values.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, accept_sparse="csr", reset=False)
        with np.errstate(over="ignore", invalid="ignore"):  # refused just below
            y_pred = X @ self.coef_.T + self.intercept_
        return check_finite_output(
            y_pred,
            source=f"{type(self).__name__}.predict",
            remedy="X holds values so far outside the training data that the "
            "predictions overflow",
        )
