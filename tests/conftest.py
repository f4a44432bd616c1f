"""Shared fixtures. Real NASA data lives in ../shared/data (beside the checkout); tests that need
it skip with a reason when it is absent, as on a user's machine."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("EXOSIEVE_SHARED_DATA", REPO.parent / "shared" / "data"))
DR24 = SHARED_DATA / "catalogs" / "q1_q17_dr24_tce.csv"
KEPLER_LC = SHARED_DATA / "kepler" / "lightcurves"

needs_shared_data = pytest.mark.skipif(
    not (DR24.exists() and KEPLER_LC.is_dir()),
    reason=f"real Kepler data not found at {SHARED_DATA} (set EXOSIEVE_SHARED_DATA to its folder)",
)


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


def write_survey(out: Path, stars: int, quarters: int, seed: int) -> dict:
    """A simulated survey written to ``out``: catalog files, and FITS in MAST's layout under
    ``out/lightcurves``."""
    from exosieve.lightcurves.obtain import generate_simulated
    from exosieve.simulate import draw_survey, write_catalog_files
    survey = draw_survey(stars, quarters, seed=seed)
    files = write_catalog_files(survey, out)
    ids = [str(k) for k in survey.stars.kepid]
    index, failures = generate_simulated(ids, files, out / "lightcurves", {"quarters": quarters, "seed": seed},
                                         progress=False)
    assert not failures and index.star_id.nunique() == stars
    return {"dir": out, "files": files, "survey": survey, "index": index, "ids": ids,
            "lightcurves": out / "lightcurves"}


@pytest.fixture(scope="session")
def small_survey(tmp_path_factory):
    """A 40-star simulated survey written to disk: catalog files and FITS in MAST's layout."""
    return write_survey(tmp_path_factory.mktemp("survey"), 40, 3, 11)


def synthetic_lightcurve(period=3.7, epoch=131.9, k=0.1, b=0.3, noise=2e-4, days=90.0, seed=0,
                         trend_amp=3e-3):
    """Kepler-cadence light curve with one limb-darkened transit signal, a slow sinusoidal trend
    and white noise; returns (time, flux, true depth, duration)."""
    from exosieve.simulate.signals import KEPLER_LC_CADENCE, eclipse_signal, transit_duration
    rng = np.random.default_rng(seed)
    time = np.arange(131.5, 131.5 + days, KEPLER_LC_CADENCE)
    a_rs = 12.0
    signal = eclipse_signal(time, period, epoch, k, a_rs, b, 0.4, 0.25)
    flux = (1 + signal) * (1 + trend_amp * np.sin(2 * np.pi * time / 11.0)) + rng.normal(0, noise, time.size)
    duration = float(transit_duration(period, a_rs, k, b))
    depth = -float(eclipse_signal(np.array([epoch]), period, epoch, k, a_rs, b, 0.4, 0.25, supersample=1)[0])
    return time, flux, depth, duration

