"""TESS: SPOC TCE tables, TOI labels and SPOC 2-min light curves, through the real client code
against the local archive on 127.0.0.1 (WASP-18 b, ../shared/data/tess/wasp18b.fits), through
the local source, and through a CSV mapped by catalog.columns."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from archive_server import TESS_FILE, WASP18_TIC, spoc_tce_table
from conftest import SHARED_DATA
from exosieve.catalog.sources import build_catalog, get_source
from exosieve.catalog.table import CatalogError
from exosieve.catalog.tess import one_per_signal, read_spoc_table, toi_dispositions
from exosieve.config import load
from exosieve.http import RetryPolicy
from exosieve.lightcurves.download import download_tess
from exosieve.lightcurves.mast import tess_sector_dir
from exosieve.lightcurves.reader import read_kepler_lightcurve
from exosieve.preprocess import preprocess_star

TESS_LC = SHARED_DATA / "tess" / "wasp18b.fits"
TOI = SHARED_DATA / "catalogs" / "toi.csv"
pytestmark = pytest.mark.skipif(not (TESS_LC.exists() and TOI.exists()),
                                reason=f"real TESS data not found at {SHARED_DATA} (set EXOSIEVE_SHARED_DATA)")
FAST = RetryPolicy(retries=3, backoff=0.05, max_wait=2.0, timeout=2.0)
TIC = str(WASP18_TIC)
WASP18_TCE = f"{TIC}_s0001-s0003_1"


def tess_config(tmp_path, server, **catalog):
    return load({"results": str(tmp_path / "results"), "catalog": {"source": "tess_spoc", **catalog},
                 "archive": {"tap_url": server.url + "/TAP", "mast_url": server.url,
                             "cache_dir": str(tmp_path / "cache"), "backoff": 0.05, "timeout": 2.0}})


def toi_table() -> pd.DataFrame:
    return pd.read_csv(TOI, comment="#", low_memory=False)


def test_spoc_tables_become_one_tce_per_signal_labelled_by_its_toi(server, tmp_path):
    cfg = tess_config(tmp_path, server)
    source = get_source(cfg)
    tces, rejected = build_catalog(cfg, source.write_raw_catalog())
    assert rejected.empty
    # WASP-18 b is a TCE of both runs: kept once, from the run spanning more sectors
    assert list(tces.tce_id) == [WASP18_TCE, f"{TIC}_s0002-s0002_2"]
    b = tces.iloc[0]
    assert (b.mission, b.disposition, b.label) == ("tess", "PC", 1)          # TOI 185.01 is KP
    assert b.duration == pytest.approx(2.05 / 24) and b.depth == 11445
    assert 1354.1 <= b.epoch < 1354.1 + b.period                              # BTJD, in sector 2
    assert b.teff == 6400 and b.mass == pytest.approx(10 ** (4.36583 - 4.438) * 1.35 ** 2)
    assert b.dens == pytest.approx(0.53 * 1.408)                              # solar units -> g/cm^3
    assert tces.iloc[1].disposition == "UNK" and tces.iloc[1].label == -1     # no TOI explains it
    assert source.sectors() == [1, 2, 3]
    # catalog.tess_runs picks runs; one MAST does not list is refused by name
    only = tess_config(tmp_path / "b", server, tess_runs=["s0002-s0002"])
    tces2, _ = build_catalog(only, get_source(only).write_raw_catalog())
    assert list(tces2.tce_id) == [f"{TIC}_s0002-s0002_1", f"{TIC}_s0002-s0002_2"]
    bad = tess_config(tmp_path / "c", server, tess_runs=["s0009-s0009"])
    with pytest.raises(CatalogError, match="s0009-s0009 not among the 2 sector runs"):
        get_source(bad).write_raw_catalog()


def test_toi_labels_follow_the_configured_mapping():
    toi = toi_table()
    picks = {code: toi[(toi.tfopwg_disp == code) & toi.pl_orbper.notna()].iloc[0] for code in
             ("CP", "KP", "FP", "FA", "PC", "APC")}
    raw = pd.DataFrame({"ticid": [r.tid for r in picks.values()] + [picks["CP"].tid],
                        "tce_period": [r.pl_orbper for r in picks.values()] + [2.2 * picks["CP"].pl_orbper],
                        "tce_time0bt": [r.pl_tranmid - 2457000 + 3 * r.pl_orbper for r in picks.values()]
                        + [picks["CP"].pl_tranmid - 2457000],
                        "tce_duration": 3.0})
    default = load({})["catalog"]["toi_labels"]
    assert list(toi_dispositions(raw, toi, default)) == ["PC", "PC", "AFP", "NTP", "TOI-PC", "TOI-APC", "UNK"]
    assert list(toi_dispositions(raw, toi, {**default, "PC": "PC", "no_toi": "NTP"}))[4:] == ["PC", "TOI-APC", "NTP"]


def test_a_repeated_signal_is_kept_from_the_longest_run():
    raw = pd.DataFrame({"ticid": [5, 5, 5, 6], "tce_plnt_num": [1, 1, 2, 1],
                        "run": ["s0002-s0002", "s0001-s0013", "s0002-s0002", "s0002-s0002"],
                        "tce_period": [3.0, 3.001, 7.0, 3.0], "tce_time0bt": [1400.0, 1400.0 - 30 * 3.001, 1401.0, 1400.0],
                        "tce_duration": [2.0, 2.0, 3.0, 2.0], "tce_depth": 500.0})
    kept = one_per_signal(raw)
    assert list(zip(kept.ticid, kept.run, kept.tce_plnt_num)) == [
        (5, "s0001-s0013", 1), (5, "s0002-s0002", 2), (6, "s0002-s0002", 1)]


def test_tess_light_curves_download_with_retries_into_the_cache(server, waits, tmp_path):
    cache = tmp_path / "cache"
    server.faults[TESS_FILE] = ["500", "corrupt", "wrong_target"]
    server.faults["tesscurl_sector_3_lc.sh"] = ["404"]        # a sector whose list is unavailable
    index, failures = download_tess([TIC, "424242"], [1, 2, 3], cache, server.url, FAST, progress=False)
    assert waits == pytest.approx([0.05, 0.1, 0.2])           # each bad answer retried, never kept
    assert [f["star_id"] for f in failures] == ["424242"]       # in no sector's list: reported
    assert "no SPOC 2-min light curve" in failures[0]["error"]
    path = tess_sector_dir(cache / "tess" / "tid", 2, TIC) / TESS_FILE
    assert list(index.path) == [str(path)] and not list(cache.rglob("*.tmp"))
    lc = read_kepler_lightcurve(index.path.tolist(), TIC, mission="tess")
    assert len(lc) > 15000 and np.isfinite(lc.flux).all() and 1354 < lc.time[0] < lc.time[-1] < 1382
    # Served from the cache on the next run: only the sector-3 list it never got is asked again.
    server.requests.clear()
    index2, _ = download_tess([TIC], [1, 2, 3], cache, server.url, FAST, progress=False)
    assert list(index2.path) == list(index.path)
    assert server.requests == ["/missions/tess/download_scripts/sector/tesscurl_sector_3_lc.sh"]
    # Offline: the cache alone; a star it lacks is listed
    index3, failures3 = download_tess([TIC, "25155310"], [1, 2, 3], cache, "http://127.0.0.1:9", FAST,
                                      offline=True, progress=False)
    assert list(index3.path) == list(index.path)
    assert [f["star_id"] for f in failures3] == ["25155310"] and "offline is true" in failures3[0]["error"]


def test_wasp18b_views_from_the_archive(server, tmp_path):
    """The TESS path end to end at the package level: catalog, download, detrend, fold, views."""
    cfg = tess_config(tmp_path, server)
    source = get_source(cfg)
    tces, _ = build_catalog(cfg, source.write_raw_catalog())
    index, failures = source.obtain_lightcurves([TIC], progress=False)
    assert not failures
    results, failed = preprocess_star(index.path.tolist(), tces, cfg)
    assert not failed
    (tce, views, feats), = [r for r in results if r[0].tce_id == WASP18_TCE]
    assert feats["depth"] == pytest.approx(11445, rel=0.15)     # TOI 185.01's depth, measured here
    assert feats["n_transits"] >= 25 and feats["odd_even_sigma"] < 3 and feats["snr"] > 300
    local = views["local"]
    assert local.argmin() == len(local) // 2 and local.min() == pytest.approx(-1, abs=0.1)


def test_local_source_reads_a_spoc_table_and_mast_layout(tmp_path):
    lc_dir = tmp_path / "tid"
    dest = tess_sector_dir(lc_dir, 2, TIC) / TESS_FILE
    dest.parent.mkdir(parents=True)
    shutil.copy(TESS_LC, dest)
    table = tmp_path / "tess2018235142541-s0002-s0002_dvr-tcestats.csv"
    table.write_text(spoc_tce_table(toi_table(), "s0002-s0002"))
    assert set(read_spoc_table(table).run) == {"s0002-s0002"}
    cfg = load({"catalog": {"source": "local", "path": str(table), "labels_path": str(TOI),
                            "lightcurve_dir": str(lc_dir)}})
    source = get_source(cfg)
    tces, _ = build_catalog(cfg, source.raw_catalog_files())
    assert list(tces.tce_id) == [f"{TIC}_s0002-s0002_1", f"{TIC}_s0002-s0002_2"]
    assert list(tces.disposition) == ["PC", "UNK"]
    index, failures = source.obtain_lightcurves([TIC, "7"])
    assert list(index.path) == [str(dest)] and [f["star_id"] for f in failures] == ["7"]


def test_any_csv_through_a_column_mapping(tmp_path):
    """The TOI table itself, vetted as a TCE list: BJD epochs shifted to BTJD, hours to days."""
    columns = {"star_id": "tid", "period": "pl_orbper", "epoch": "pl_tranmid", "duration": "pl_trandurh",
               "depth": "pl_trandep", "disposition": "tfopwg_disp"}
    cfg = load({"catalog": {"source": "local", "path": str(TOI), "lightcurve_dir": str(tmp_path),
                            "columns": columns, "epoch_offset": 2457000, "mission": "tess",
                            "labels": {"positive": ["CP", "KP"], "negative": ["FP", "FA"]}}})
    tces, rejected = build_catalog(cfg, get_source(cfg).raw_catalog_files())
    w = tces[tces.star_id == TIC].iloc[0]
    assert (w.tce_id, w.mission, w.label) == (f"{TIC}_1", "tess", 1)
    assert w.epoch == pytest.approx(3205.353322) and w.duration == pytest.approx(2.05 / 24)
    assert len(tces) + len(rejected) == len(toi_table())
    assert rejected.error.str.contains("period is missing").any()   # single-transit TOIs: no period
    assert np.isin(tces.label, [-1, 0, 1]).all() and (tces.label == 1).sum() > 1000
    # a table of no known format, without a mapping, says what to do
    odd = tmp_path / "odd.csv"
    pd.DataFrame({"star": [1], "p": [2.0]}).to_csv(odd, index=False)
    cfg = load({"catalog": {"source": "local", "path": str(odd), "lightcurve_dir": str(tmp_path)}})
    with pytest.raises(CatalogError, match="neither a Kepler DR24/DR25 TCE table.*catalog.columns"):
        build_catalog(cfg, get_source(cfg).raw_catalog_files())
    cfg = load({"catalog": {"source": "local", "path": str(odd), "lightcurve_dir": str(tmp_path),
                            "columns": {**columns, "star_id": "star"}}})
    with pytest.raises(CatalogError, match=r"missing required column\(s\) pl_orbper"):
        build_catalog(cfg, get_source(cfg).raw_catalog_files())
