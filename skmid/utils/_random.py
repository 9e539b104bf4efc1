"""Seeding the random parts of composite estimators."""

import numpy as np


def seed_unset_random_states(estimator, rng):
    """Give every ``random_state`` left at None in ``estimator`` a seed from ``rng``.

    Nested parameters (``defense__random_state``) included; parameters already
    set are kept. Modifies and returns ``estimator`` (pass a clone).
    """
    params = estimator.get_params(deep=True)
    seeds = {
        key: int(rng.randint(np.iinfo(np.int32).max))
        for key in sorted(params)
        if (key == "random_state" or key.endswith("__random_state"))
        and params[key] is None
    }
    if seeds:
        estimator.set_params(**seeds)
    return estimator
