"""Fixtures shared by the test suite and the doctests."""

import os

# Parallel test workers each running multi-threaded torch oversubscribe the
# cores; one intra-op thread per worker keeps small networks fast.
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
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
