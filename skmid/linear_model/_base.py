"""What skmid's linear models share."""

import numpy as np
from sklearn.utils.validation import check_is_fitted, validate_data


class LinearPredictMixin:
    """``predict`` of a fitted model with ``coef_`` and ``intercept_``."""

    def predict(self, X):
        """Predict with the linear model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted values.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return X @ self.coef_ + self.intercept_
