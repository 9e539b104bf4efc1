"""A classifier whose published probabilities pass through a defense."""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context, clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import check_cv, cross_val_predict, train_test_split
from sklearn.utils import (
    _safe_indexing,
    assert_all_finite,
    check_consistent_length,
    check_random_state,
    column_or_1d,
    indexable,
)
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _routing_enabled,
    get_routing_for_object,
    process_routing,
)
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_method_params,
    check_is_fitted,
    validate_data,
)

from ..utils._random import seed_unset_random_states
from ..utils._validation import check_finite_output, encode_class_labels
from ._cmi import CMIPostProcessor


class DefendedClassifier(ClassifierMixin, BaseEstimator):
    """Fit a classifier and a post-processing defense of its probabilities.

    The defense is fitted on predictions the classifier did not train on, as
    the papers prescribe (the class prototypes of :class:`CMIPostProcessor` come
    from a validation set):

    - ``cv=None`` (default): a stratified split holds out
      ``validation_fraction`` of the rows; the classifier fits on the rest and
      the defense on the classifier's probabilities for the held-out rows.
    - ``cv`` an int, splitter or iterable: out-of-fold probabilities from
      :func:`~sklearn.model_selection.cross_val_predict` fit the defense, and
      the classifier is then refitted on all rows.
    - ``cv="prefit"``: ``estimator`` is already fitted and is used as is; all
      of ``X, y`` fit the defense (pass data the classifier did not see).

    The defense receives ``(P, y)`` with ``y`` as column indices of ``P``.

    Defenses that need the inputs behind ``P`` say so through scikit-learn's
    metadata routing, and this estimator reads nothing else (no method
    signatures): a defense whose ``fit`` request asks for ``inputs``
    (:class:`PurifierTransformer`, :class:`AdversarialNoiseDefense`, or any
    defense after ``set_fit_request(inputs=True)``) gets the rows of ``X`` its
    ``P`` came from, ``fit(P, y, inputs=X_rows)``; one whose ``transform``
    request asks for ``inputs`` gets the query rows at ``predict_proba(X)``,
    ``transform(P, inputs=X)``; ``set_fit_request(inputs=False)`` withholds
    them. This holds whether or not routing is enabled, since the inputs come
    from this estimator, not from its caller; a defense that routes metadata
    itself (a :class:`~sklearn.pipeline.Pipeline` of post-processors) gets
    them only with ``sklearn.set_config(enable_metadata_routing=True)``, as
    it cannot take them otherwise. ``X`` is passed as given to this estimator
    (after any earlier ``Pipeline`` steps), so that
    ``DefendedClassifier(MLPClassifier(), PurifierTransformer(alpha=1.0))``
    needs nothing else, in a ``Pipeline`` and in ``GridSearchCV`` over
    ``defense__alpha`` alike.

    Metadata given to ``fit``, such as ``sample_weight``, follows
    scikit-learn's metadata routing: with
    ``sklearn.set_config(enable_metadata_routing=True)`` it goes where the
    estimator's and the defense's ``fit`` requests ask
    (``LogisticRegression().set_fit_request(sample_weight=True)``), split
    with the rows each fit sees; without routing it all goes to the
    estimator's ``fit``, as stock meta-estimators pass it (see :meth:`fit`).

    ``predict_proba`` is the defended output, ``predict`` its argmax (what a
    user of the published model sees), and the undefended model stays
    reachable as ``estimator_``.

    Parameters
    ----------
    estimator : classifier with ``predict_proba``, default=None
        The model to defend; None means
        :class:`~sklearn.linear_model.LogisticRegression`.
    defense : transformer of probability vectors, default=None
        The post-processing defense, fitted by ``fit(P, y)``; None means
        :class:`CMIPostProcessor` with its defaults.
    validation_fraction : float, default=0.2
        Fraction of rows held out for the defense when ``cv=None``.
    cv : None, int, cross-validation generator, iterable or "prefit", default=None
        How the defense's training predictions are made (see above).
    random_state : int, RandomState instance or None, default=None
        Seeds the held-out split when ``cv=None``, and every ``random_state``
        left at None in the estimator and the defense (their copies, that is:
        the given objects are not modified).

    Attributes
    ----------
    estimator_ : classifier
        The fitted, undefended classifier.
    defense_ : transformer
        The fitted defense.
    classes_ : ndarray of shape (n_classes,)
        Class labels, in the column order of ``predict_proba``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features, when ``X`` has string column names.

    See Also
    --------
    CMIPostProcessor : The default defense.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skmid.postprocessing import CMIPostProcessor, DefendedClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> model = DefendedClassifier(
    ...     LogisticRegression(max_iter=1000),
    ...     CMIPostProcessor(epsilon=0.5, random_state=0),
    ...     random_state=0,
    ... ).fit(X, y)
    >>> model.estimator_.predict_proba(X[:2]).round(2)  # undefended
    array([[0.98, 0.02, 0.  ],
           [0.97, 0.03, 0.  ]])
    >>> model.predict_proba(X[:2]).round(2)  # both moved to the setosa prototype
    array([[0.97, 0.03, 0.  ],
           [0.97, 0.03, 0.  ]])
    >>> bool(model.score(X, y) > 0.9)
    True
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "defense": [HasMethods(["fit", "transform"]), None],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "cv": ["cv_object", StrOptions({"prefit"})],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        defense=None,
        *,
        validation_fraction=0.2,
        cv=None,
        random_state=None,
    ):
        self.estimator = estimator
        self.defense = defense
        self.validation_fraction = validation_fraction
        self.cv = cv
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, **fit_params):
        """Fit the classifier and the defense.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, in whatever form the estimator accepts.
        y : array-like of shape (n_samples,)
            Class labels.
        **fit_params : dict
            Metadata such as ``sample_weight``, split with the rows as each
            fit sees them (the training part of the held-out split, the
            folds of ``cv``, the rows that fit the defense).

            - With ``sklearn.set_config(enable_metadata_routing=True)``: routed
              by the requests of the estimator's and the defense's ``fit``
              (``estimator.set_fit_request(sample_weight=True)``); metadata no
              one requests raises scikit-learn's routing error.
            - Without: all of them go to the estimator's ``fit``, as
              :class:`~sklearn.model_selection.GridSearchCV` passes them, and
              a defense whose class declares a ``fit`` request for
              ``sample_weight`` gets the weights of its rows too.

        Returns
        -------
        self : object
            The fitted meta-estimator.
        """
        _check_2d(X)
        validate_data(self, X, y, skip_check_array=True)
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        if y.dtype.kind in "fc":
            assert_all_finite(y, input_name="y")
        check_classification_targets(y)
        estimator = LogisticRegression() if self.estimator is None else self.estimator
        defense = _seeded(
            CMIPostProcessor() if self.defense is None else self.defense,
            self.random_state,
        )
        estimator_params, defense_params = self._route_fit_params(defense, fit_params)
        n_samples = len(y)

        if isinstance(self.cv, str) and self.cv == "prefit":
            check_is_fitted(estimator)
            self.estimator_ = estimator
            defense_rows = np.arange(n_samples)
            P_defense = estimator.predict_proba(X)
        elif self.cv is None:
            fit_rows, defense_rows = self._holdout_split(y)
            # As train_test_split indexes X (CSR for other sparse formats).
            (rows_of_X,) = indexable(X)
            self.estimator_ = _seeded(estimator, self.random_state).fit(
                _safe_indexing(rows_of_X, fit_rows),
                y[fit_rows],
                **_check_method_params(X, params=estimator_params, indices=fit_rows),
            )
            P_defense = self.estimator_.predict_proba(
                _safe_indexing(rows_of_X, defense_rows)
            )
        else:
            cv = check_cv(self.cv, y, classifier=True)
            estimator = _seeded(estimator, self.random_state)
            P_defense = cross_val_predict(
                clone(estimator),
                X,
                y,
                cv=cv,
                method="predict_proba",
                params=estimator_params,
            )
            defense_rows = np.arange(n_samples)
            self.estimator_ = estimator.fit(X, y, **estimator_params)
        P_defense = _checked_proba(P_defense, estimator)

        self.classes_ = self.estimator_.classes_
        y_defense = y[defense_rows]
        known = np.isin(y_defense, self.classes_)
        codes = encode_class_labels(
            y_defense[known], len(self.classes_), labels=self.classes_
        )
        rows = defense_rows[known]
        fit_params = _check_method_params(X, params=defense_params, indices=rows)
        if _requests_inputs(*_inputs_request(defense, "fit")):
            fit_params["inputs"] = _take_rows(X, rows)
        self.defense_ = defense.fit(P_defense[known], codes, **fit_params)
        # Read once (the request of a fitted defense stays), as reading it costs
        # more than transforming a small batch.
        self._transform_request = _inputs_request(self.defense_, "transform")
        return self

    def _route_fit_params(self, defense, fit_params):
        """The metadata of the estimator's fit and of the defense's fit."""
        if _routing_enabled():
            routed = process_routing(self, "fit", **fit_params)
            defense_params = dict(routed.defense.fit)
            # The inputs are this estimator's rows, never the caller's.
            defense_params.pop("inputs", None)
            return dict(routed.estimator.fit), defense_params
        routing = get_routing_for_object(defense)
        defense_params = {
            key: value
            for key, value in fit_params.items()
            if key != "inputs"
            and not isinstance(routing, MetadataRouter)
            and routing.consumes("fit", [key])
        }
        return dict(fit_params), defense_params

    def _holdout_split(self, y):
        """Row indices ``(fit_rows, defense_rows)`` of the held-out split."""
        n_samples = len(y)
        n_held_out = int(np.ceil(self.validation_fraction * n_samples))
        n_classes = len(np.unique(y))
        if n_samples < 2 or n_held_out >= n_samples:
            raise ValueError(
                f"X has {n_samples} sample(s); DefendedClassifier needs at least "
                "2 samples to hold out validation_fraction="
                f"{self.validation_fraction} of them for the defense."
            )
        counts = np.unique(y, return_counts=True)[1]
        stratify = (
            y
            if counts.min() >= 2 and n_classes <= n_held_out <= n_samples - n_classes
            else None
        )
        return train_test_split(
            np.arange(n_samples),
            test_size=self.validation_fraction,
            stratify=stratify,
            random_state=self.random_state,
        )

    def get_metadata_routing(self):
        """Metadata routing of this object: ``fit`` to the estimator's and the
        defense's ``fit``.

        Returns
        -------
        routing : MetadataRouter
            The routing information.
        """
        estimator = LogisticRegression() if self.estimator is None else self.estimator
        defense = CMIPostProcessor() if self.defense is None else self.defense
        return (
            MetadataRouter(owner=self)
            .add(
                estimator=estimator,
                method_mapping=MethodMapping().add(caller="fit", callee="fit"),
            )
            .add(
                defense=defense,
                method_mapping=MethodMapping().add(caller="fit", callee="fit"),
            )
        )

    def predict_proba(self, X):
        """Defended class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Query rows.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            The estimator's probabilities after the defense.
        """
        P = self._undefended_proba(X)
        if _requests_inputs(*self._transform_request):
            return self.defense_.transform(P, inputs=X)
        return self.defense_.transform(P)

    def predict(self, X):
        """Class of the largest defended probability.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Query rows.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted class labels.
        """
        check_is_fitted(self)
        if vars(type(self.defense_)).get("_keeps_top_class", False):
            # The defense never changes a row's most probable class (its
            # documented invariant): the labels need no defended output, which
            # a label-only attacker would otherwise pay for at every query. Only
            # the class that declares it qualifies (a subclass may change the
            # output).
            return self.classes_[self._undefended_proba(X).argmax(axis=1)]
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def _undefended_proba(self, X):
        check_is_fitted(self)
        _check_2d(X)
        validate_data(self, X, skip_check_array=True, reset=False)
        return _checked_proba(self.estimator_.predict_proba(X), self.estimator_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        estimator = LogisticRegression() if self.estimator is None else self.estimator
        # An estimator without tags is no estimator: fit refuses it by name.
        if hasattr(estimator, "__sklearn_tags__"):
            tags.input_tags = estimator.__sklearn_tags__().input_tags
        return tags


def _seeded(estimator, random_state):
    """A clone with every ``random_state`` left at None set from ``random_state``."""
    estimator = clone(estimator)
    if random_state is None:
        return estimator
    return seed_unset_random_states(estimator, check_random_state(random_state))


def _checked_proba(P, estimator):
    """``P``, refused if the estimator's probabilities hold NaN or infinity."""
    return check_finite_output(
        P, source=f"the estimator's predict_proba ({type(estimator).__name__})"
    )


def _inputs_request(defense, method):
    """``(asks, routes)``: whether ``defense``'s metadata routing for ``method``
    asks for ``inputs``, and whether it is a router (a Pipeline) rather than a
    consumer."""
    routing = get_routing_for_object(defense)
    asks = bool(routing.consumes(method, ["inputs"]))
    return asks, isinstance(routing, MetadataRouter)


def _requests_inputs(asks, routes):
    """Whether to pass ``inputs``: a router takes metadata only while routing is on."""
    return asks and (not routes or _routing_enabled())


def _check_2d(X):
    if getattr(X, "ndim", 2) != 2:
        raise ValueError(
            f"Expected 2D array, got {X.ndim}D array instead. Reshape your data "
            "with array.reshape(-1, 1) for a single feature or "
            "array.reshape(1, -1) for a single sample."
        )


def _take_rows(X, rows):
    if hasattr(X, "iloc"):
        return X.iloc[rows]
    return np.asarray(X)[rows] if not hasattr(X, "tocsr") else X.tocsr()[rows]
