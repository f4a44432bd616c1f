"""Shared fixtures. Plain helpers (paths to the real data in ../shared/data, its skip mark,
simulated surveys) live in helpers.py, where test modules and benchmarks import them from."""

from __future__ import annotations

import pytest

from helpers import SHARED_DATA, write_survey


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
