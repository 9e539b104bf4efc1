"""Small torch helpers shared by the attacks and defenses that train networks.

Importing this module imports torch; callers import it lazily, inside the
methods that need it, so that ``import skmid`` never does.
"""

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
    device = torch.device(device)
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


def init_weights(module, seed):
    """Re-initialise ``module``'s parameters reproducibly from ``seed``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for layer in module.modules():
            if hasattr(layer, "reset_parameters"):
                layer.reset_parameters()
    return module


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
