"""Every public class and function against the catalogue of bad inputs.

Each case must end in a clear error (a ValueError or TypeError that names the
argument) or a valid result (finite; probability rows on the simplex), within
the catalogue's time limit: see ``tests/bad_inputs.py``.
"""

from pathlib import Path

import pytest
from bad_inputs import ACCEPTABLE, all_cases, run_case, unreached_public_objects

CASES = all_cases()


def test_every_public_object_is_reached():
    assert unreached_public_objects() == []


def test_catalogue_is_not_empty():
    targets = {case.target for case in CASES}
    assert len(CASES) > 300 and len(targets) > 30


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input(case):
    result = run_case(case)
    assert result.outcome in ACCEPTABLE, f"{result.outcome}: {result.detail}"


def test_robustness_page_is_up_to_date():
    # docs/make_robustness_page.py writes the page; rerun it when cases change.
    page = Path(__file__).resolve().parent.parent / "docs" / "robustness.rst"
    assert (
        f"All {len(CASES)} cases end in a clear error or a valid result"
        in page.read_text(encoding="utf-8")
    )
