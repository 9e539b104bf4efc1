"""Fixtures shared by the test suite and the doctests."""

import os
from pathlib import Path

import pytest

SHARED_DATA_HOME = Path(__file__).resolve().parent.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data_home():
    """The folder with the project's shared data files (``../shared/data``).

    Missing data skips the test on a developer machine but fails it in CI,
    where the folder is always laid out beside the clone.
    """
    if not SHARED_DATA_HOME.is_dir():
        message = f"shared data folder not found at {SHARED_DATA_HOME}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return SHARED_DATA_HOME


@pytest.fixture(autouse=True)
def _doctest_cwd(request, monkeypatch):
    """Run doctests from the project root, where ``../shared/data`` resolves."""
    if isinstance(request.node, pytest.DoctestItem):
        monkeypatch.chdir(Path(__file__).resolve().parent)
