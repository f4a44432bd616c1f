"""The whole workflow on real archives, served by the local archive on 127.0.0.1: DR24 TCEs
over TAP, light curves from MAST into the cache, restricted to the six full-mission stars in
../shared/data, with faults injected; then again offline from the cache."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from archive_server import ArchiveServer
from helpers import SHARED_DATA, job_counts, needs_shared_data, snakemake

pytestmark = [pytest.mark.slow, needs_shared_data]
SIX_STARS = [757450, 892667, 892772, 1162345, 1292087, 2019477]


def test_kepler_dr24_from_the_archive_restricted_to_named_stars(tmp_path):
    cache = tmp_path / "cache"
    with ArchiveServer(SHARED_DATA) as server:
        server.faults["/TAP/sync"] = ["429"]
        server.faults["kplr002019477-2009166043257_llc.fits"] = ["500", "truncate"]
        server.faults["000757450/"] = ["corrupt"]        # a garbled listing: retried, never cached
        server.faults["000892667/"] = ["500"] * 20       # an archive that never answers for this star
        cfg = {"catalog": {"source": "kepler_dr24", "targets": SIX_STARS},
               "archive": {"tap_url": server.url + "/TAP", "mast_url": server.url, "cache_dir": str(cache),
                           "backoff": 0.05, "max_wait": 2.0, "timeout": 5.0},
               "shards": 2, "cv": {"folds": 2}, "training": {"max_epochs": 3, "patience": 2},
               "models": {"enabled": ["trees"], "primary": "trees"}, "report": {"sheets": 0}}
        (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
        out = snakemake(tmp_path)
    # the run goes on, and says so at the end
    assert "ExoSieve: 1 TCE(s) on 1 star(s) could not be scored (download: 1)" in out
    report = tmp_path / "results" / "report"
    catalog = pd.read_csv(report / "vetted_catalog.csv", dtype={"tce_id": str, "star_id": str})
    assert sorted(catalog.star_id.astype(int).unique()) == SIX_STARS
    assert len(catalog) == 12                                   # every DR24 TCE of the six stars
    failed = catalog[catalog.status == "failed"]
    assert set(failed.star_id) == {"892667"}                    # reported, and only it
    assert failed.error.str.contains("HTTP 500").all()
    assert catalog[catalog.status == "scored"].score.between(0, 1).all()
    # The retried files were accepted whole: KIC 2019477 has all 18 quarters in the cache.
    assert len(list((cache / "0020" / "002019477").glob("*_llc.fits"))) == 18
    assert "HTTP 500" in (report / "index.html").read_text()

    # Offline, with the archive gone: the cache serves every star it holds; the one it lacks is
    # listed as missing, and nothing else changes.
    cfg["offline"] = True
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    plan = snakemake(tmp_path, "-n")
    assert job_counts(plan).get("lightcurves") == 2 and "download_catalog" not in job_counts(plan)
    snakemake(tmp_path, "results/lightcurves/000.csv", "results/lightcurves/001.csv")
    failures = pd.concat(pd.read_csv(p, dtype=str) for p in (tmp_path / "results" / "lightcurves").glob("*.failures.csv"))
    assert set(failures.star_id) == {"892667"} and failures.error.str.contains("offline").all()


def test_tess_spoc_from_the_archive_to_a_shard(tmp_path):
    """The TESS path through the workflow's rules on the real SPOC table of run s0001-s0001 and the
    real TOI table. None of its stars' light curves is among the recorded files, so the archive
    answers 404 for each: the shard is empty, complete, and its manifest names every TCE."""
    from archive_server import PI_MEN_TIC
    from exosieve.shards import read_shard
    with ArchiveServer(SHARED_DATA) as server:
        server.faults["tesscurl_sector_1_lc.sh"] = ["429"]
        cfg = {"catalog": {"source": "tess_spoc", "tess_runs": ["s0001-s0001"]}, "shards": 1,
               "archive": {"tap_url": server.url + "/TAP", "mast_url": server.url,
                           "cache_dir": str(tmp_path / "cache"), "backoff": 0.05, "max_wait": 2.0}}
        (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
        snakemake(tmp_path, "results/shards/000.h5")
    tces = pd.read_csv(tmp_path / "results" / "catalog" / "tces.csv", dtype={"tce_id": str, "star_id": str})
    assert len(tces) == 5 and tces.set_index("tce_id").loc[f"{PI_MEN_TIC}_s0001-s0001_1", "label"] == 1
    assert len(read_shard(tmp_path / "results" / "shards" / "000.h5")) == 0
    failures = pd.read_csv(tmp_path / "results" / "shards" / "000.failures.csv", dtype=str)
    assert sorted(failures.tce_id) == sorted(tces.tce_id)
    assert failures.error.str.contains("HTTP 404").all() and set(failures.stage) == {"download"}
    assert (tmp_path / "cache" / "tess" / "download_scripts" / "tesscurl_sector_1_lc.sh").exists()
