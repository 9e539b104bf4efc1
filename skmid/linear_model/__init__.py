"""Linear models with a mutual-information defense, and their DP baseline."""

from ._adassp import AdaSSPLinearRegression
from ._mid import MIDLinearRegression

__all__ = ["AdaSSPLinearRegression", "MIDLinearRegression"]
