"""TESS: the real SPOC TCE tables and sector script format in ../shared/data served by the local
archive on 127.0.0.1, TOI labels from the real TOI table, the real SPOC 2-min light curve of
WASP-126 through the same download, reader and preprocessing, the local source, and a CSV mapped
by catalog.columns."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from archive_server import PI_MEN_TIC, WASP126_FILE, WASP126_TIC
from exosieve.catalog.sources import build_catalog, get_source
from exosieve.catalog.table import CatalogError, normalize_columns
from exosieve.catalog.tess import one_per_signal, read_spoc_table, toi_dispositions
from exosieve.config import load
from exosieve.http import RetryPolicy
from exosieve.lightcurves.download import download_tess
from exosieve.lightcurves.mast import tess_sector_dir
from exosieve.lightcurves.reader import read_kepler_lightcurve
from exosieve.preprocess import preprocess_star
from helpers import SHARED_DATA, TOI_COLUMNS

TESS = SHARED_DATA / "tess"
SPOC_TABLES = TESS / "catalogs" / "tce"
WASP126_LC = tess_sector_dir(TESS / "tid", 1, WASP126_TIC) / WASP126_FILE
TOI = SHARED_DATA / "catalogs" / "toi.csv"
pytestmark = pytest.mark.skipif(not (WASP126_LC.exists() and TOI.exists() and SPOC_TABLES.is_dir()),
                                reason=f"real TESS data not found at {SHARED_DATA} (set EXOSIEVE_SHARED_DATA)")
FAST = RetryPolicy(retries=3, backoff=0.05, max_wait=2.0, timeout=2.0)
TIC = str(WASP126_TIC)
PI_MEN = str(PI_MEN_TIC)


def tess_config(tmp_path, server, **catalog):
    return load({"results": str(tmp_path / "results"), "catalog": {"source": "tess_spoc", **catalog},
                 "archive": {"tap_url": server.url + "/TAP", "mast_url": server.url,
                             "cache_dir": str(tmp_path / "cache"), "backoff": 0.05, "timeout": 2.0}})


def toi_table() -> pd.DataFrame:
    return pd.read_csv(TOI, comment="#", low_memory=False)


@pytest.mark.parametrize("runs,longest", [
    (None, "s0001-s0096"),                                  # every run MAST lists: all four
    (["s0001-s0001"], "s0001-s0001"),
    (["s0095-s0095"], "s0095-s0095"),                       # a newer table: 10-digit TICs, -1 errors
    (["s0001-s0001", "s0001-s0009", "s0095-s0095"], "s0001-s0009"),
])
def test_pi_men_c_is_one_tce_labelled_cp_however_many_runs_list_it(server, tmp_path, runs, longest):
    cfg = tess_config(tmp_path, server, tess_runs=runs)
    source = get_source(cfg)
    tces, rejected = build_catalog(cfg, source.write_raw_catalog())
    assert rejected.empty
    pi = tces[tces.star_id == PI_MEN]
    c = pi[np.abs(pi.period / 6.26783 - 1) < 0.01]
    assert len(c) == 1, c                                   # one TCE, whichever runs list it
    c = c.iloc[0]
    assert c.tce_id == f"{PI_MEN}_{longest}_1"                # kept from the run spanning most sectors
    assert (c.mission, c.disposition, c.label) == ("tess", "PC", 1)
    # the label is the real TOI 144.01's TFOPWG disposition, CP
    raw = read_spoc_table(source.raw_catalog_files()["catalog"])
    row = raw[(raw.ticid == PI_MEN_TIC) & (raw.run == longest) & (raw.tce_plnt_num == 1)]
    identity = {**cfg["catalog"]["toi_labels"], "CP": "CP"}
    assert list(toi_dispositions(row, toi_table(), identity)) == ["CP"]
    assert 0.10 < c.duration < 0.14 and 1300 < c.epoch < 4000   # hours -> days; BTJD
    assert set(pi.disposition) <= {"PC", "UNK"}                 # pi Men's other TCEs match no TOI
    chosen = runs or ["s0001-s0001", "s0001-s0009", "s0001-s0096", "s0095-s0095"]
    assert source.sectors() == sorted({s for r in chosen for s in range(int(r[1:5]), int(r[7:11]) + 1)})


def test_an_unknown_run_is_refused_by_name(server, tmp_path):
    bad = tess_config(tmp_path, server, tess_runs=["s0009-s0009"])
    with pytest.raises(CatalogError, match="s0009-s0009 not among the 4 sector runs"):
        get_source(bad).write_raw_catalog()


def test_a_tables_run_comes_from_its_name_its_header_or_its_sectors_column(tmp_path):
    """MAST names each table after its run and writes '#Sectors = ...' at its top; its 'sectors'
    column names only the last sector in newer multi-sector tables ('s0096' for s0001-s0096)."""
    multi = SPOC_TABLES / "tess2018206190142-s0001-s0096_dvr-tcestats.csv"
    assert set(read_spoc_table(multi).run) == {"s0001-s0096"}                 # from the name
    renamed = tmp_path / "spoc.csv"
    shutil.copy(multi, renamed)
    assert set(read_spoc_table(renamed).run) == {"s0001-s0096"}               # from the header
    bare = tmp_path / "bare.csv"
    bare.write_text("".join(line for line in multi.open() if not line.startswith("#")))
    with pytest.raises(CatalogError, match=r"labelled 's0096'.*before that sector began.*multi-sector"):
        read_spoc_table(bare)
    for name, run in [("tess2025206194924-s0095-s0095", "s0095-s0095"), ("tess2018206190142-s0001-s0009", "s0001-s0009")]:
        lines = (SPOC_TABLES / f"{name}_dvr-tcestats.csv").open()
        bare.write_text("".join(line for line in lines if not line.startswith("#")))
        assert set(read_spoc_table(bare).run) == {run}                        # sectors column, consistent


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
    server.faults[WASP126_FILE] = ["500", "corrupt", "wrong_target"]
    # sector 1's list is served; MAST's sector-2 list is not among the recorded files: a 404
    index, failures = download_tess([TIC, PI_MEN, "424242"], [1, 2], cache, server.url, FAST, progress=False)
    assert waits == pytest.approx([0.05, 0.1, 0.2])           # each bad answer retried, never kept
    by_star = {f["star_id"]: f["error"] for f in failures}
    assert set(by_star) == {PI_MEN, "424242"}
    assert "HTTP 404" in by_star[PI_MEN]                        # listed, but no file: reported
    assert "no SPOC 2-min light curve" in by_star["424242"]      # in no sector's list: reported
    path = tess_sector_dir(cache / "tess" / "tid", 1, TIC) / WASP126_FILE
    assert list(index.path) == [str(path)] and not list(cache.rglob("*.tmp"))
    assert path.read_bytes() == WASP126_LC.read_bytes()
    lc = read_kepler_lightcurve(index.path.tolist(), TIC, mission="tess")
    assert len(lc) > 15000 and np.isfinite(lc.flux).all() and 1325 < lc.time[0] < lc.time[-1] < 1354
    # Served from the cache on the next run: only the sector-2 list it never got is asked again.
    server.requests.clear()
    index2, _ = download_tess([TIC], [1, 2], cache, server.url, FAST, progress=False)
    assert list(index2.path) == list(index.path)
    assert server.requests == ["/missions/tess/download_scripts/sector/tesscurl_sector_2_lc.sh"]
    # Offline: the cache alone; a star it lacks is listed
    index3, failures3 = download_tess([TIC, "100100827"], [1, 2], cache, "http://127.0.0.1:9", FAST,
                                      offline=True, progress=False)
    assert list(index3.path) == list(index.path)
    assert [f["star_id"] for f in failures3] == ["100100827"] and "offline is true" in failures3[0]["error"]


def test_wasp126_views_from_the_archive_with_its_toi_ephemeris(server, tmp_path):
    """TOI 114.01 has no row in the trimmed SPOC tables: its TOI ephemeris stands in for a TCE, and
    its real SPOC file comes from the archive through the same download, reader and preprocessing."""
    cfg = tess_config(tmp_path, server)
    toi = toi_table()
    tces, _ = normalize_columns(toi[toi.tid == WASP126_TIC], TOI_COLUMNS, cfg["catalog"]["labels"],
                                epoch_offset=2457000, mission="tess")
    index, failures = download_tess([TIC], [1], tmp_path / "cache", server.url, FAST, progress=False)
    assert not failures
    results, failed = preprocess_star(index.path.tolist(), tces, cfg)
    assert not failed
    (tce, views, feats), = results
    assert feats["depth"] == pytest.approx(7005.7, rel=0.15)      # TOI 114.01's depth [ppm], measured here
    assert feats["n_transits"] >= 7 and feats["odd_even_sigma"] < 3 and feats["snr"] > 50
    for name, span in (("local", 2 * cfg["views"]["local_durations"] * tce.duration), ("global", tce.period)):
        view = views[name]
        half_transit_bins = 0.5 * tce.duration / (span / len(view))
        assert abs(view.argmin() - len(view) // 2) <= half_transit_bins   # the transit is centred
    assert views["local"].min() == pytest.approx(-1, abs=0.1)


def test_local_source_reads_spoc_tables_and_tic_ids_of_any_length(tmp_path):
    """A real SPOC table (10-digit TICs among its stars), the real TOI table as labels, and light
    curves in MAST's tid layout (../shared/data/tess/tid, read in place)."""
    cfg = load({"catalog": {"source": "local", "path": str(SPOC_TABLES / "tess2025206194924-s0095-s0095_dvr-tcestats.csv"),
                            "labels_path": str(TOI), "lightcurve_dir": str(TESS / "tid")}})
    source = get_source(cfg)
    tces, rejected = build_catalog(cfg, source.raw_catalog_files())
    assert len(tces) + len(rejected) == 5 and "2028269846_s0095-s0095_1" in set(tces.tce_id)
    assert tces.set_index("star_id").loc[PI_MEN, "label"] == 1
    index, failures = source.obtain_lightcurves([TIC, "2028269846", "7"])
    assert list(index.path) == [str(WASP126_LC)]
    by_star = {f["star_id"]: f["error"] for f in failures}
    assert set(by_star) == {"2028269846", "7"}
    assert "no light curves under" in by_star["2028269846"]     # looked for as a TIC, not refused as a KIC


def test_any_csv_through_a_column_mapping(tmp_path):
    """The TOI table itself, vetted as a TCE list: BJD epochs shifted to BTJD, hours to days."""
    cfg = load({"catalog": {"source": "local", "path": str(TOI), "lightcurve_dir": str(tmp_path),
                            "columns": TOI_COLUMNS, "epoch_offset": 2457000, "mission": "tess",
                            "labels": {"positive": ["CP", "KP"], "negative": ["FP", "FA"]}}})
    tces, rejected = build_catalog(cfg, get_source(cfg).raw_catalog_files())
    w = tces[tces.star_id == TIC].iloc[0]
    assert (w.tce_id, w.mission, w.label) == (f"{TIC}_1", "tess", 1)
    assert w.epoch == pytest.approx(1327.5199580) and w.duration == pytest.approx(3.4367717 / 24)
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
                            "columns": {**TOI_COLUMNS, "star_id": "star"}}})
    with pytest.raises(CatalogError, match=r"missing required column\(s\) pl_orbper"):
        build_catalog(cfg, get_source(cfg).raw_catalog_files())
