"""Privacy-utility search over a defense's parameters."""

from ._search import (
    PrivacyUtilitySearch,
    best_under_budget,
    pareto_front,
    privacy_utility_search,
    run_searches,
)

__all__ = [
    "PrivacyUtilitySearch",
    "best_under_budget",
    "pareto_front",
    "privacy_utility_search",
    "run_searches",
]
