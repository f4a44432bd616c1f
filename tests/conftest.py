"""Shared fixtures. Plain helpers (paths to the real data in ../shared/data, its skip mark,
simulated surveys) live in helpers.py, where test modules and benchmarks import them from."""

from __future__ import annotations

import os

# One thread per library pool (torch, scikit-learn's OpenMP), set before either loads: xdist runs
# a test file per core, and a pool per core in each would oversubscribe them (OpenMP threads spin
# while they wait). Snakemake does the same for its jobs (OMP_NUM_THREADS = the job's threads).
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402

from helpers import SHARED_DATA, write_survey  # noqa: E402


@pytest.fixture
def server():
    """The local archive on 127.0.0.1 (tests/archive_server.py), serving ../shared/data."""
    from archive_server import ArchiveServer
    with ArchiveServer(SHARED_DATA, stall_seconds=2.5) as s:
        yield s


@pytest.fixture
def waits(monkeypatch):
    """Record the HTTP client's waits instead of sleeping through them."""
    recorded = []
    monkeypatch.setattr("exosieve.http.time.sleep", recorded.append)
    return recorded


@pytest.fixture
def cfg():
    from exosieve.config import load
    return load({})


@pytest.fixture(scope="session")
def small_survey(tmp_path_factory):
    """A 40-star simulated survey written to disk: catalog files and FITS in MAST's layout."""
    return write_survey(tmp_path_factory.mktemp("survey"), 40, 3, 11)


# xdist (--dist=loadfile --no-loadscope-reorder) hands test files to its workers in collection
# order. The files that run the workflow go first, longest first (as measured on 2 cores; the
# default run, a session fixture, is the longest), so that the short files fill the gaps at the
# end instead of one worker finishing a long file alone.
LONGEST_FIRST = ("test_workflow.py", "test_catalog_updates.py", "test_tess_survey.py", "test_code_version.py",
                 "test_shipped_models.py", "test_views_source.py", "test_tuning.py", "test_slurm.py",
                 "test_archive_workflow.py", "test_fuzz.py")


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
