"""The MID penalty I(X; Y_hat) for any torch classifier, on skorch."""

import math
import numbers

from sklearn.utils._param_validation import Interval
from skorch.callbacks import PassthroughScoring

from ._dpsgd import MLPModule
from ._vib import FLOAT32_MAX, INIT_KEY, _TabularNetClassifier, nn, torch

#: Probabilities below this are taken as this in logarithms: their terms
#: p log p vanish, and the gradient stays finite where a softmax underflows.
TINY = 1e-30
LOG_TINY = math.log(TINY)


def batch_output_mutual_information(log_p):
    r"""Plug-in :math:`I(X; \hat Y)` of a batch, from its log-probabilities.

    :math:`\frac1B \sum_i \mathrm{KL}(p_i \,\|\, \bar p)` with
    :math:`\bar p = \frac1B \sum_i p_i`, equal to
    :math:`H(\bar p) - \frac1B \sum_i H(p_i)`; differentiable (torch autograd).

    Parameters
    ----------
    log_p : torch.Tensor of shape (batch_size, n_classes)
        Log-probabilities of the rows.

    Returns
    -------
    mi : torch.Tensor
        A scalar, in nats.
    """
    # -inf (a probability of 0) would give 0 * inf; its term p log p is 0 anyway
    log_p = log_p.clamp_min(LOG_TINY)
    log_mean = torch.logsumexp(log_p, dim=0) - torch.log(
        torch.tensor(float(log_p.shape[0]), dtype=log_p.dtype, device=log_p.device)
    )
    return (log_p.exp() * (log_p - log_mean)).sum(dim=1).mean()


class MIDClassifier(_TabularNetClassifier):
    r"""A torch classifier trained with the MID penalty :math:`\lambda\, I(X; \hat Y)`.

    The MID defense (Wang, Zhang and Jia, AAAI 2021, eq. 1) for any skorch
    module: training minimises the cross-entropy plus :math:`\lambda` times
    the mutual information between the rows and the network's output,
    computed exactly from the output distributions :math:`p_i` of each
    mini-batch :math:`\mathcal B` of :math:`B` rows,

    .. math::

        \frac1B \sum_{i \in \mathcal B} -\log p_{i, y_i} \;+\; \lambda \Big(
        H(\bar p_{\mathcal B}) - \frac1B \sum_{i \in \mathcal B} H(p_i) \Big),
        \qquad \bar p_{\mathcal B} = \frac1B \sum_{i \in \mathcal B} p_i ,

    (no variational bound, unlike :class:`VIBClassifier`; the same penalty as
    :class:`~skmid.linear_model.MIDLogisticRegression`, there over all rows).

    **The batch estimate and its bias.** The mean entropy term is unbiased,
    but :math:`H` is concave, so the batch plug-in :math:`H(\bar p_{\mathcal
    B})` is biased low. To second order, for batches drawn with replacement,
    :math:`\mathbb E\, H(\bar p_{\mathcal B}) \approx H(\bar p) - \frac{1}{2B}
    \sum_k \mathrm{Var}_i(p_{ik}) / \bar p_k`, and since
    :math:`\mathrm{Var}_i(p_{ik}) \le \bar p_k (1 - \bar p_k)` the bias is at
    most :math:`(K - 1) / (2B)` nats: the Miller-Madow correction of a plug-in
    entropy of :math:`K` outcomes from :math:`B` draws, reached by confident,
    distinct outputs. With :math:`K = 10` and the default :math:`B = 64` that
    is up to 0.07 nats against a maximum of :math:`\log 10 = 2.3`. The
    penalty is thus slightly weaker on a batch than on the whole training
    set; a larger ``batch_size`` brings it closer. ``history`` records the
    batch estimate of each epoch as ``train_mi``.

    Any module works, given the skorch way (``module=MyNet``, ``module__*``
    arguments): with the default ``criterion`` (``torch.nn.NLLLoss``) it must
    return probabilities, as skorch's classifiers expect; with
    ``criterion=torch.nn.CrossEntropyLoss``, logits. A module returning a
    tuple has its first element used (skorch's convention). The default
    module is :class:`MLPModule`, sized from the data (``hidden_layer_sizes``,
    ``latent_dim``); a custom module receives no size arguments unless it
    is given them.

    As for :class:`VIBClassifier`: float64 arrays and DataFrames are cast to
    float32, labels may be of any type, ``random_state`` seeds the
    initialisation and the batch order through local generators (torch's and
    NumPy's global random states are neither read nor changed), ``device``
    selects where the network trains, and training stops with a ValueError
    as soon as an epoch's loss or the weights stop being finite.

    Parameters
    ----------
    module : torch.nn.Module class or instance, default=MLPModule
        The network.
    lam : float, default=0.5
        Weight :math:`\lambda \ge 0` of the penalty, in units of the mean
        cross-entropy per nat; 0 trains the plain network.
    hidden_layer_sizes : int or tuple of int, default=(128,)
        Widths of the hidden layers of the default module.
    latent_dim : int, default=None
        Width of its last hidden layer; None uses ``min(32, max(2,
        n_features))``.
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation and the batch order.
    criterion : torch loss class, default=torch.nn.NLLLoss
        ``NLLLoss`` for modules returning probabilities,
        ``CrossEntropyLoss`` for modules returning logits.
    optimizer : torch optimizer class, default=torch.optim.Adam
    lr : float, default=1e-3
        Learning rate (> 0).
    max_epochs : int, default=50
        Training epochs (>= 1).
    batch_size : int, default=64
        Mini-batch size :math:`B` (>= 1; -1 for one batch of all rows, which
        makes the penalty exact).
    train_split : callable or None, default=None
        skorch's validation split; None trains on all rows.
    verbose : int, default=0
        skorch's per-epoch printing.
    **kwargs
        Any other ``NeuralNetClassifier`` argument (``device``, ``callbacks``,
        ``optimizer__weight_decay``, ``warm_start``, ``module__*``, ...).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of input features.
    module_ : torch.nn.Module
        The trained network.
    history_ : skorch History
        Per-epoch records, with ``train_mi`` (and ``valid_mi`` with a
        validation split).
    random_seed_ : int
        Seed drawn from ``random_state`` at fit.

    See Also
    --------
    VIBClassifier : MID through a variational bound on a stochastic code.
    DPSGDClassifier : The differential-privacy baseline.
    skmid.metrics.output_mutual_information : The penalty as a metric.

    References
    ----------
    Wang, Zhang and Jia. Improving robustness to model inversion attacks via
    mutual information regularization. AAAI 2021.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skmid.metrics import output_mutual_information
    >>> from skmid.neural_network import MIDClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X, y = X[:600] / 16, y[:600]
    >>> plain = MIDClassifier(lam=0.0, max_epochs=10, random_state=0).fit(X, y)
    >>> mid = MIDClassifier(lam=1.0, max_epochs=10, random_state=0).fit(X, y)
    >>> bool(mid.score(X, y) > 0.85)
    True
    >>> bool(output_mutual_information(mid.predict_proba(X))
    ...      < output_mutual_information(plain.predict_proba(X)))
    True
    """

    def __init__(
        self,
        module=MLPModule,
        *,
        lam=0.5,
        hidden_layer_sizes=(128,),
        latent_dim=None,
        random_state=None,
        criterion=torch.nn.NLLLoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs=50,
        batch_size=64,
        train_split=None,
        verbose=0,
        **kwargs,
    ):
        super().__init__(
            module,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            verbose=verbose,
            **kwargs,
        )
        self.lam = lam
        self.hidden_layer_sizes = hidden_layer_sizes
        self.latent_dim = latent_dim
        self.random_state = random_state

    _parameter_constraints = {
        **_TabularNetClassifier._parameter_constraints,
        "lam": [Interval(numbers.Real, 0, FLOAT32_MAX, closed="both")],
    }

    @property
    def _default_callbacks(self):
        return [
            *super()._default_callbacks,
            ("train_mi", PassthroughScoring(name="train_mi", on_train=True)),
            ("valid_mi", PassthroughScoring(name="valid_mi")),
        ]

    def _takes_logits(self):
        return isinstance(self.criterion_, nn.CrossEntropyLoss)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        if isinstance(y_pred, tuple):
            y_pred = y_pred[0]
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        if self._takes_logits():
            log_p = nn.functional.log_softmax(y_pred, dim=-1)
        else:
            log_p = torch.log(y_pred.clamp_min(TINY))
        mi = batch_output_mutual_information(log_p)
        self.history.record_batch("train_mi" if training else "valid_mi", mi.item())
        return loss + self.lam * mi

    def initialize_module(self):
        """Build the module; its initial weights come from ``random_state``.

        The default module is sized from the data, as for
        :class:`VIBClassifier`. A user's module class gets only the
        ``module__*`` arguments it was given, and is built by its own code
        with torch's generator seeded from ``random_state`` inside
        ``torch.random.fork_rng`` (the global state is restored afterwards);
        a module instance is used as it is.
        """
        if self.module is MLPModule:
            return super().initialize_module()
        from ..utils._torch import GLOBAL_RNG_LOCK

        kwargs = self.get_params_for("module")
        if isinstance(self.module, nn.Module) and not kwargs:
            self.module_ = self.module
            return self
        with GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=[]):
            torch.manual_seed(self._seed(INIT_KEY))
            self.module_ = self.initialized_instance(self.module, kwargs)
        return self

    def _divergence_remedy(self):
        return (
            f"lower lr (got {self.lr:g}) or lam (got {self.lam:g}), or scale the "
            "features of X"
        )
