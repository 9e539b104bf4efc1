"""O(N + M log M) approximation of the mixture-entropy penalty by binning and FFT.

The predictions are linearly binned onto a regular grid of step
``grid_step * sigma`` (each weight split between its two neighbouring grid
points), the three sums the penalty and its gradient need are Gaussian (and
``d * Gaussian``) convolutions on the grid, computed by FFT, and are linearly
interpolated back to the predictions.
"""

import numpy as np
from scipy.signal import fftconvolve

#: The Gaussian kernel is truncated at this many bandwidths.
KERNEL_TRUNCATE = 8.0
MAX_GRID_POINTS = 1 << 22


def _bin(values, positions, fractions, n_grid):
    left = np.bincount(positions, weights=values * (1.0 - fractions), minlength=n_grid)
    right = np.bincount(positions + 1, weights=values * fractions, minlength=n_grid)
    return left[:n_grid] + right[:n_grid]


def _interpolate(grid_values, positions, fractions):
    return (1.0 - fractions) * grid_values[positions] + fractions * grid_values[
        positions + 1
    ]


def binned_mixture_entropy_and_gradient(z, w, sigma, grid_step=0.1):
    """Approximate penalty and gradient of :func:`mixture_entropy_and_gradient`."""
    z_min = z.min()
    span = z.max() - z_min
    step = max(grid_step * sigma, span / (MAX_GRID_POINTS - 2), 1e-300)
    n_grid = int(span / step) + 2
    position = (z - z_min) / step
    positions = np.minimum(position.astype(np.intp), n_grid - 2)
    fractions = position - positions

    half_width = min(int(np.ceil(KERNEL_TRUNCATE * sigma / step)), n_grid - 1)
    offsets = step * np.arange(-half_width, half_width + 1)
    gauss = np.exp(-0.5 * (offsets / sigma) ** 2) / np.sqrt(2 * np.pi * sigma**2)
    d_gauss = offsets * gauss

    def convolve(binned, kernel):
        return fftconvolve(binned, kernel, mode="full")[
            half_width : half_width + n_grid
        ]

    weights = _bin(w, positions, fractions, n_grid)
    sums = _interpolate(convolve(weights, gauss), positions, fractions)
    sums = np.maximum(sums, np.finfo(np.float64).tiny)
    first = _interpolate(convolve(weights, d_gauss), positions, fractions)
    second = _interpolate(
        convolve(_bin(w / sums, positions, fractions, n_grid), d_gauss),
        positions,
        fractions,
    )
    value = -np.dot(w, np.log(sums))
    grad = w / sigma**2 * (first / sums + second)
    return value, grad
