"""Linear models with a mutual-information defense, and their DP baseline."""

from ._adassp import AdaSSPLinearRegression
from ._mid import MIDLinearRegression
from ._mid_logistic import MIDLogisticRegression

__all__ = ["AdaSSPLinearRegression", "MIDLinearRegression", "MIDLogisticRegression"]
