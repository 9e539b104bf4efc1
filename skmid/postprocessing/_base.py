"""The contract every post-processing defense shares, and the label modifier."""

from abc import ABCMeta, abstractmethod

import numpy as np
from sklearn.base import (
    BaseEstimator,
    OneToOneFeatureMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import assert_all_finite, check_array, check_random_state
from sklearn.utils.metadata_routing import UNUSED
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ..utils._validation import (
    PROBABILITY_ATOL,
    check_finite_output,
    check_probability_matrix,
    encode_class_labels,
)
from ._waterfill import invalid_probability_rows, kernel_calls
from ._waterfill_kernels import row_uniforms_parallel, row_uniforms_serial

#: Relative margin by which the label modifier lifts the predicted class.
LABEL_MARGIN = 1e-6


def preserve_predicted_label(p_original, p_defended):
    r"""Label modifier: make each defended row's argmax the original argmax.

    The probability-space form of eq. (2) of the adversarial-noise defense
    paper, :math:`m_l = \mathrm{ReLU}(\max(c + n) - (c_l + n_l))`: where the
    defense moved the top class :math:`l = \arg\max p^{\mathrm{orig}}`, its
    entry is lifted to the row's maximum (times ``1 + 1e-6``, so that the
    argmax is unique) and the row is renormalised. Rows whose argmax is
    already :math:`l` are returned unchanged. Usable after any defense; the
    lift can exceed that defense's distortion budget, by design.

    Parameters
    ----------
    p_original : array-like of shape (n_samples, n_classes)
        Undefended probability vectors.
    p_defended : array-like of shape (n_samples, n_classes)
        Defended probability vectors, row for row.

    Returns
    -------
    p : ndarray of shape (n_samples, n_classes)
        ``p_defended`` with the original predicted label restored.

    Examples
    --------
    >>> from skmid.postprocessing import preserve_predicted_label
    >>> preserve_predicted_label([[0.6, 0.4]], [[0.3, 0.7]]).round(4)
    array([[0.5, 0.5]])
    >>> preserve_predicted_label([[0.6, 0.4]], [[0.3, 0.7]]).argmax(axis=1)
    array([0])
    """
    p_original = check_probability_matrix(p_original, input_name="p_original")
    p_defended = check_probability_matrix(
        p_defended, n_classes=p_original.shape[1], input_name="p_defended"
    )
    if p_defended.shape != p_original.shape:
        raise ValueError(
            "p_original and p_defended must have the same shape; got "
            f"{p_original.shape} and {p_defended.shape}."
        )
    return _restore_label(p_original, p_defended)


def _restore_label(p_original, p_defended):
    """:func:`preserve_predicted_label` of matrices known to be valid."""
    label = p_original.argmax(axis=1)
    moved = np.flatnonzero(p_defended.argmax(axis=1) != label)
    if moved.size == 0:
        return p_defended
    p = p_defended.copy()
    rows = p[moved]
    rows[np.arange(moved.size), label[moved]] = rows.max(axis=1) * (1 + LABEL_MARGIN)
    p[moved] = rows / rows.sum(axis=1, keepdims=True)
    return p


class BasePostProcessor(
    OneToOneFeatureMixin, TransformerMixin, BaseEstimator, metaclass=ABCMeta
):
    """Base class of the defenses that transform confidence vectors.

    A template: ``fit`` and ``transform`` validate once (rows on the simplex,
    the fitted number of columns) and check once that the output stays on the
    simplex; a subclass writes only ``_fit(P, codes)`` and ``_transform(P)``.
    Inputs are ``P`` of shape (n_samples, n_classes); the optional ``y`` of
    ``fit`` holds column indices or labels in column order (see
    :func:`skmid.utils.encode_class_labels`), passed to ``_fit`` as the column
    codes ``codes``.

    Class attributes a subclass may set:

    - ``_uses_labels`` (default True): ``y``, when given, is validated and
      encoded. A label-free defense sets it to False and accepts any ``y``
      (None, strings, ...), as a transformer that ignores ``y`` should.
    - ``_checks_own_output`` (default False): the subclass's ``_transform``
      checks the rows it writes itself (and raises as ``_check_output``
      would), which spares a pass over the output.
    - ``__metadata_request__fit`` / ``__metadata_request__transform``: the
      metadata the defense consumes besides ``P`` and ``y``, in
      scikit-learn's metadata routing; ``{"inputs": True}`` for a defense
      that needs the model's inputs behind ``P``. ``fit`` and ``transform``
      accept exactly these as keywords and pass them on to ``_fit`` and
      ``_transform``; a :class:`~sklearn.pipeline.Pipeline` routes them (with
      ``sklearn.set_config(enable_metadata_routing=True)``) and
      :class:`DefendedClassifier` passes the rows of ``X`` wherever the
      request asks for ``inputs``.

    A subclass with a ``preserve_label`` parameter gets the label modifier
    applied after ``_transform``.

    Examples
    --------
    >>> from skmid.postprocessing import BasePostProcessor
    >>> class UniformMix(BasePostProcessor):
    ...     _uses_labels = False
    ...
    ...     def __init__(self, *, weight=0.5):
    ...         self.weight = weight
    ...
    ...     def _transform(self, P):
    ...         return (1 - self.weight) * P + self.weight / P.shape[1]
    >>> UniformMix().fit_transform([[0.9, 0.1]], y=["cat"])  # any y: label-free
    array([[0.7, 0.3]])
    >>> UniformMix().fit([[0.9, 0.2]])
    Traceback (most recent call last):
    ...
    ValueError: P must hold probability vectors: row 0 sums to 1.1 ...
    """

    _parameter_constraints = {}
    _checks_own_output = False
    _uses_labels = True
    # P is the data, not metadata: no set_fit_request(P=...).
    __metadata_request__fit = {"P": UNUSED}
    __metadata_request__transform = {"P": UNUSED}

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, P, y=None, **params):
        """Fit the defense on probability vectors ``P`` and optional labels ``y``.

        Parameters
        ----------
        P : array-like of shape (n_samples, n_classes)
            The target model's probability vectors.
        y : array-like of shape (n_samples,), default=None
            True labels of the rows (column indices or labels in column
            order); ignored by label-free defenses.
        **params : dict
            Metadata the defense consumes at fit (its ``fit`` request in
            :meth:`get_metadata_routing`), such as ``inputs``, the rows
            behind ``P``; none for most defenses.

        Returns
        -------
        self : object
            The fitted defense.
        """
        P, codes = self._validate_fit_data(P, y)
        self._fit(P, codes, **self._check_metadata("fit", params))
        return self

    def _validate_fit_data(self, P, y):
        """Validated ``P`` (resetting the fitted shape) and ``y`` as column codes."""
        P = self._validate_probabilities(P, reset=True)
        codes = None
        if not self._uses_labels:
            return P, codes
        if y is not None:
            y = column_or_1d(y, warn=True)
            if y.dtype.kind in "fc":
                # np.unique would count NaN as one more class.
                assert_all_finite(y, input_name="y")
            codes = encode_class_labels(y, P.shape[1], input_name="y")
            if codes.shape[0] != P.shape[0]:
                raise ValueError(
                    f"P has {P.shape[0]} rows but y has {codes.shape[0]} labels."
                )
        elif self.__sklearn_tags__().target_tags.required:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None: pass the true labels of P's rows."
            )
        return P, codes

    def transform(self, P, **params):
        """Apply the defense to probability vectors.

        Parameters
        ----------
        P : array-like of shape (n_samples, n_classes)
            The target model's probability vectors, with the fitted number of
            columns.
        **params : dict
            Metadata the defense consumes at transform (its ``transform``
            request in :meth:`get_metadata_routing`), such as ``inputs``, the
            queries behind ``P``; none for most defenses.

        Returns
        -------
        P_defended : ndarray of shape (n_samples, n_classes)
            The defended probability vectors, rows on the simplex.
        """
        check_is_fitted(self)
        P = self._validate_probabilities(P, reset=False)
        defended = self._transform(P, **self._check_metadata("transform", params))
        checked = self._checks_own_output
        if getattr(self, "preserve_label", False):
            labelled = _restore_label(P, defended)
            checked = checked and labelled is defended
            defended = labelled
        if not checked:
            self._check_output(defended)
        return defended

    def fit_transform(self, P, y=None, **params):
        """Fit the defense on ``P`` and defend the same rows.

        Each metadata goes to whichever of ``fit`` and ``transform`` consumes
        it (scikit-learn's ``TransformerMixin.fit_transform`` would pass none
        to ``transform``).

        Parameters
        ----------
        P : array-like of shape (n_samples, n_classes)
            The target model's probability vectors.
        y : array-like of shape (n_samples,), default=None
            True labels of the rows, as in :meth:`fit`.
        **params : dict
            Metadata consumed by ``fit`` or ``transform``.

        Returns
        -------
        P_defended : ndarray of shape (n_samples, n_classes)
            The defended probability vectors, rows on the simplex.
        """
        fit_params, transform_params = {}, {}
        if params:
            fit_names = self._consumed_metadata("fit")
            transform_names = self._consumed_metadata("transform")
            self._refuse_unknown_metadata(
                "fit_transform", params, fit_names | transform_names
            )
            fit_params = {k: v for k, v in params.items() if k in fit_names}
            transform_params = {k: v for k, v in params.items() if k in transform_names}
        return self.fit(P, y, **fit_params).transform(P, **transform_params)

    def _consumed_metadata(self, method):
        """Names of the metadata ``method`` consumes, requested or not."""
        return set(getattr(self.get_metadata_routing(), method).requests)

    def _check_metadata(self, method, params):
        """``params``, refused unless ``method`` consumes every one of them."""
        if params:
            self._refuse_unknown_metadata(
                method, params, self._consumed_metadata(method)
            )
        return params

    def _refuse_unknown_metadata(self, method, params, accepted):
        unknown = sorted(set(params) - accepted)
        if unknown:
            takes = (
                f"takes only {', '.join(sorted(accepted))}"
                if accepted
                else "takes no metadata"
            )
            raise TypeError(
                f"{type(self).__name__}.{method}() got unexpected keyword "
                f"argument(s) {', '.join(unknown)}; besides P and y it {takes}."
            )

    def _fit(self, P, codes):
        """Learn what ``_transform`` needs; the default learns nothing."""

    def _check_inputs(self, inputs, n_rows, *, method, max_magnitude=None):
        """``inputs`` (the rows behind ``P``) as a finite float64 (n_rows, d) array.

        ``max_magnitude`` bounds the absolute values, for a defense whose
        networks take the inputs as they are in float32.
        """
        if inputs is None:
            raise ValueError(
                f"{type(self).__name__}.{method} needs the inputs behind P: call "
                f"{method}(P, ..., inputs=X), where row i of P is the model's "
                "output on X[i]. DefendedClassifier passes them; a Pipeline routes "
                "them with sklearn.set_config(enable_metadata_routing=True)."
            )
        if hasattr(inputs, "toarray"):
            inputs = inputs.toarray()
        try:
            inputs = np.asarray(inputs, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise ValueError(f"inputs must be numeric; {error}") from None
        if inputs.ndim < 2:
            raise ValueError(
                f"inputs must have shape (n_samples, n_features) or (n_samples, "
                f"height, width); got shape {inputs.shape}."
            )
        if len(inputs) != n_rows:
            raise ValueError(f"P has {n_rows} rows but inputs has {len(inputs)}.")
        if not np.all(np.isfinite(inputs)):
            raise ValueError("inputs must not contain NaN or infinity.")
        if max_magnitude is not None and inputs.size:
            largest = float(np.abs(inputs).max())
            if largest > max_magnitude:
                raise ValueError(
                    f"inputs holds values of magnitude up to {largest:.3g}; "
                    f"{type(self).__name__}'s networks compute in float32: rescale "
                    f"inputs to at most {max_magnitude:g}."
                )
        return inputs.reshape(n_rows, -1)

    @abstractmethod
    def _transform(self, P):
        """Defended version of the validated probability matrix ``P``.

        A defense that consumes metadata at transform takes it as keywords,
        e.g. ``_transform(self, P, inputs=None)``.
        """

    def _validate_probabilities(self, P, *, reset):
        if not reset and self._is_valid_plain_array(P):
            return P
        # check_array first, so that its messages name P rather than X.
        try:
            array = check_array(P, dtype=np.float64, input_name="P", estimator=self)
        except ValueError as error:
            if "could not convert" not in str(error):
                raise
            raise ValueError(f"P must hold numbers; {error}") from None
        validate_data(self, P, reset=reset, skip_check_array=True)
        return check_probability_matrix(array, input_name="P")

    def _is_valid_plain_array(self, P):
        """Whether ``P`` passes every check of ``transform`` as it is.

        A C-contiguous float64 ndarray of the fitted width, for a defense fitted
        without feature names, needs no conversion, and one numba pass decides
        what ``check_array``, ``validate_data`` and ``check_probability_matrix``
        would (finite, non-negative, rows summing to 1 in NumPy's order): on a
        small batch their fixed costs exceed the defense's own.
        """
        return (
            type(P) is np.ndarray
            and P.dtype == np.float64
            and P.ndim == 2
            and P.flags.c_contiguous
            and P.shape[0] > 0
            and P.shape[1] == getattr(self, "n_features_in_", None)
            and not hasattr(self, "feature_names_in_")
            and invalid_probability_rows(P)[1] == 0
        )

    def _check_output(self, defended):
        if (
            type(defended) is np.ndarray
            and defended.dtype == np.float64
            and defended.ndim == 2
            and defended.flags.c_contiguous
            and invalid_probability_rows(defended)[1] == 0
        ):
            return  # the checks below, in one pass
        check_finite_output(defended, source=f"{type(self).__name__}.transform")
        # A defense that leaves the simplex is a bug in skmid, not bad input.
        if (defended < 0).any() or np.any(
            np.abs(defended.sum(axis=1) - 1) > PROBABILITY_ATOL
        ):
            raise RuntimeError("The defense produced rows off the probability simplex.")

    def _draw_hash_seed(self):
        """Set ``hash_seed_`` from ``random_state``; return the generator used."""
        rng = check_random_state(self.random_state)
        self.hash_seed_ = int(rng.randint(0, 2**31 - 1))
        return rng

    def _row_uniforms(self, P, n_draws):
        """Uniforms drawn from a hash of each row, mixed with ``hash_seed_``.

        The same query always gets the same draws, whatever else is in the batch.
        """
        P = np.ascontiguousarray(P)
        uniforms = np.empty((P.shape[0], n_draws))
        for rows, kernel, _ in kernel_calls(
            row_uniforms_serial, row_uniforms_parallel, *P.shape
        ):
            uniforms[rows] = kernel(
                P[rows], float(self.hash_resolution), self.hash_seed_, n_draws
            )
        return uniforms

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        return tags
