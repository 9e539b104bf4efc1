"""Small torch helpers shared by the attacks and defenses that train networks.

Importing this module imports torch; callers import it lazily, inside the
methods that need it, so that ``import skmid`` never does.
"""

import math
import threading

import numpy as np
from sklearn.utils import check_random_state

from ._optional import import_optional_dependency

torch = import_optional_dependency("torch", extra="nn", feature="neural attacks")
nn = torch.nn


def torch_generator(random_state):
    """A seeded ``torch.Generator`` (CPU) drawn from ``random_state``."""
    seed = int(check_random_state(random_state).randint(0, 2**31 - 1))
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator, seed


def resolve_device(device):
    """``torch.device`` for ``device``; a clear error when CUDA is asked but absent."""
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device must name a torch device such as 'cpu' or 'cuda:0'; got "
            f"{device!r}."
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={str(device)!r} but CUDA is not available here.")
    return device


def make_mlp(sizes, *, output_activation=None, batch_norm=False):
    """Linear layers of the given sizes with ReLU between them."""
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            if batch_norm:
                layers.append(nn.BatchNorm1d(n_out))
            layers.append(nn.ReLU())
    if output_activation == "sigmoid":
        layers.append(nn.Sigmoid())
    elif output_activation == "softmax":
        layers.append(nn.Softmax(dim=1))
    return nn.Sequential(*layers)


class ConfidenceLabelNetwork(nn.Module):
    """A score from a confidence vector and a one-hot label (NSH's attack model).

    Two branches, ``[K, 1024, 512, 64]`` on the confidence vector and ``[K,
    512, 64]`` on the one-hot label, joined by a ``[128, 64, 1]`` head
    (Appendix B of the purification paper). The output is a logit per row, or
    a probability with ``output_activation="sigmoid"``.
    """

    def __init__(self, n_classes, *, output_activation=None):
        super().__init__()
        self.confidence = make_mlp([n_classes, 1024, 512, 64])
        self.label = make_mlp([n_classes, 512, 64])
        self.head = make_mlp([128, 64, 1], output_activation=output_activation)

    def forward(self, confidences, one_hot):
        joined = torch.cat(
            [
                torch.relu(self.confidence(confidences)),
                torch.relu(self.label(one_hot)),
            ],
            dim=1,
        )
        return self.head(joined).squeeze(1)


#: Serialises the rare fallback that must seed torch's global generator, so that
#: fits in parallel threads cannot interleave their draws.
GLOBAL_RNG_LOCK = threading.Lock()


def _reset_parameters_locally(layer, generator):
    """PyTorch's default initialisation of ``layer``, drawn from ``generator``.

    Returns False for a layer type whose initialisation is not reproduced here.
    """
    if isinstance(layer, (nn.Linear, nn.modules.conv._ConvNd)):
        # nn.Linear.reset_parameters / _ConvNd.reset_parameters, with a generator.
        nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
        if layer.bias is not None:
            fan_in, _ = nn.init._calculate_fan_in_and_fan_out(layer.weight)
            if isinstance(layer, nn.modules.conv._ConvTransposeNd):
                fan_in = layer.weight.shape[0] * layer.weight[0][0].numel()
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
        return True
    if isinstance(layer, nn.Embedding):
        nn.init.normal_(layer.weight, generator=generator)
        layer._fill_padding_idx_with_zero()
        return True
    if isinstance(
        layer,
        (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm),
    ):
        layer.reset_parameters()  # constants: no random draw
        return True
    return False


def init_weights(module, seed):
    """Re-initialise ``module``'s parameters reproducibly from ``seed``.

    Linear, convolution, embedding and normalisation layers get PyTorch's
    default initialisation drawn from a local generator, so torch's global
    random state is neither read nor changed and fits in parallel threads do
    not interfere. Other layers with a ``reset_parameters`` method fall back to
    a seeded global generator inside ``fork_rng`` under a lock (the global state
    is restored afterwards).
    """
    generator = torch.Generator()
    generator.manual_seed(int(seed))
    fallback = []
    with torch.no_grad():
        for layer in module.modules():
            if not hasattr(layer, "reset_parameters"):
                continue
            if not _reset_parameters_locally(layer, generator):
                fallback.append(layer)
    if fallback:
        with GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            for layer in fallback:
                layer.reset_parameters()
    return module


def build_network(factory, seed, device="cpu"):
    """Build ``factory()`` and initialise it from ``seed``, drawing nothing globally.

    Constructing a torch layer draws its initial weights from torch's global
    generator; building on the ``meta`` device draws nothing, and
    :func:`init_weights` then fills the parameters from a local generator. Use
    this for every network skmid creates, so that fits with an integer
    ``random_state`` neither read nor change torch's global random state.

    Parameters
    ----------
    factory : callable
        Returns the ``torch.nn.Module`` (e.g. ``lambda: make_mlp([4, 8, 2])``).
    seed : int
        Seed of the initial weights.
    device : str or torch.device, default="cpu"
        Where the parameters live.

    Returns
    -------
    module : torch.nn.Module
    """
    with torch.device("meta"):
        module = factory()
    # to_empty leaves parameters and buffers uninitialised; init_weights fills
    # the parameters (from a CPU generator, hence on the CPU first) and resets the
    # norm layers' running statistics.
    return init_weights(module.to_empty(device="cpu"), seed).to(device)


def as_tensor(array, device):
    return torch.as_tensor(np.ascontiguousarray(array, dtype=np.float32), device=device)


def predict_in_batches(module, inputs, device, batch_size=4096):
    """Evaluate ``module`` (eval mode, no grad) on a float array; a numpy array back."""
    module.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(inputs), batch_size):
            batch = as_tensor(inputs[start : start + batch_size], device)
            outputs.append(module(batch).cpu().numpy().astype(np.float64))
    return np.concatenate(outputs) if outputs else np.empty((0,))


def check_probability_tensors(tensors, *, atol=None):
    """Refuse tensors whose rows are not probability vectors, in one device sync.

    The tensor counterpart of :func:`skmid.utils.check_probability_matrix`, with
    its messages: every check is a reduction, and all of them are stacked into
    one tensor read back once (a GPU caller pays one synchronisation, not one
    per check); only a failing tensor is inspected further.

    Parameters
    ----------
    tensors : dict of str to torch.Tensor
        Floating tensors of shape (n_samples, n_classes), by the name used in
        error messages.
    atol : float, default=None
        Absolute tolerance on each row sum; None is 1e-6 for float64 and 1e-3
        for the other (lower-precision) dtypes.

    Raises
    ------
    ValueError
        If a tensor holds NaN or infinity, a negative entry, or a row whose
        sum is not 1 within ``atol``.
    """
    checks = []
    for values in tensors.values():
        sums = values.sum(dim=1)
        tolerance = _row_sum_tolerance(values, atol)
        # NaN poisons amin and inf the sums, so two reductions see all of it.
        checks += [
            ~(values.amin() >= 0) | ~sums.isfinite().all(),
            ((sums - 1).abs() > tolerance).any(),
        ]
    if not checks or not torch.stack(checks).any():
        return
    for name, values in tensors.items():
        _raise_for_rows(name, values, _row_sum_tolerance(values, atol))


def _row_sum_tolerance(values, atol):
    if atol is not None:
        return atol
    return 1e-6 if values.dtype == torch.float64 else 1e-3


def _raise_for_rows(name, values, atol):
    """The error of :func:`check_probability_matrix` for the first bad row."""
    if not bool(values.isfinite().all()):
        raise ValueError(f"Input {name} contains NaN or infinity.")
    negative = (values < 0).any(dim=1).nonzero()
    if len(negative):
        row = int(negative[0, 0])
        raise ValueError(
            f"{name} must hold probability vectors: row {row} has a negative "
            f"entry ({float(values[row].min()):.6g})."
        )
    sums = values.sum(dim=1)
    off = ((sums - 1).abs() > atol).nonzero()
    if len(off):
        row = int(off[0, 0])
        raise ValueError(
            f"{name} must hold probability vectors: row {row} sums to "
            f"{float(sums[row]):.6g} (expected 1 within {atol:g})."
        )
