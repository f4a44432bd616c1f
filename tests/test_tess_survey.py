"""The simulated TESS survey: SPOC light-curve files laid out and written as the real one in
../shared/data/tess, a SPOC TCE table in the dvr-tcestats format and a TOI-like table that the
TESS readers and TOI labelling read unchanged, the FFI products (TESS-SPOC, QLP), and a tiny
TESS run of the whole workflow."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from astropy.io import fits

from exosieve.config import load
from exosieve.lightcurves.mast import find_tess_lightcurves, index_lightcurves
from exosieve.lightcurves.reader import read_kepler_lightcurve
from exosieve.simulate import draw_survey
from exosieve.simulate.tess import DUMP_INTERVAL, generate_tess_star, write_catalog_files
from helpers import REPO, SHARED_DATA

REAL_SPOC = SHARED_DATA / "tess" / "tid" / "s0001" / "0000" / "0000" / "2515" / "5310" / \
    "tess2018206045859-s0001-0000000025155310-0120-s_lc.fits"
REAL_TABLE = SHARED_DATA / "tess" / "catalogs" / "tce" / "tess2018206190142-s0001-s0009_dvr-tcestats.csv"
needs_tess = pytest.mark.skipif(not REAL_SPOC.exists(), reason=f"the real SPOC file is not at {REAL_SPOC}")


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    out = tmp_path_factory.mktemp("tess")
    sv = draw_survey(40, 6, 5, "tess", 3)
    return out, sv, write_catalog_files(sv, out, 3, 5)


def one_star(survey, product="spoc", multi=False):
    out, sv, paths = survey
    stars = pd.read_csv(paths["stars"]).set_index("kepid", drop=False)
    truth = pd.read_csv(paths["truth"])
    pick = stars[stars.sectors.str.contains(";")].iloc[0] if multi else stars.iloc[0]
    root = out / product
    return pick, generate_tess_star(pick, truth[truth.kepid == pick.kepid], 5, root, product), root


@needs_tess
def test_simulated_spoc_files_are_laid_out_and_written_as_the_real_one(survey):
    star, paths, root = one_star(survey, multi=True)
    assert len(paths) == len(str(star.sectors).split(";")) >= 2
    real = fits.open(REAL_SPOC)
    sim = fits.open(paths[0])
    assert [h.name for h in sim] == [h.name for h in real] == ["PRIMARY", "LIGHTCURVE", "APERTURE"]
    real_cols, sim_cols = real[1].columns, sim[1].columns
    assert sim_cols.names == real_cols.names
    assert [c.format for c in sim_cols] == [c.format for c in real_cols]
    assert [c.unit for c in sim_cols] == [c.unit for c in real_cols]
    for key in ("TICID", "SECTOR", "CAMERA", "CCD", "TESSMAG", "TEFF", "LOGG", "RADIUS", "OBJECT", "TELESCOP"):
        assert key in sim[0].header, key
    for key in ("BJDREFI", "BJDREFF", "TIMEDEL", "TSTART", "TSTOP", "TIMEUNIT", "CROWDSAP"):
        assert key in sim[1].header, key
    for key in ("CTYPE1", "CRVAL1", "CDELT1", "PC1_1", "PC2_2", "CTYPE1P", "CRVAL1P", "NPIXSAP"):
        assert key in sim[2].header, key
    # MAST's tid layout and file name, every sector of the star found by the reader's own search.
    assert paths[0].relative_to(root).parts[0] == f"s{int(str(star.sectors).split(';')[0]):04d}"
    assert sorted(find_tess_lightcurves(root, star.tic)) == sorted(paths)
    data = sim[1].data
    gap = ~np.isfinite(data["TIME"])
    assert gap.sum() > 700 and (data["QUALITY"][gap] == 8).all()            # the downlink's rows, kept
    dumps = np.flatnonzero(data["QUALITY"] & 32)
    starts = dumps[np.r_[True, np.diff(dumps) > 1]]
    assert list(data["QUALITY"][starts[0]:starts[0] + 7]) == [164, 164, 164, 160, 160, 32, 32]
    times = data["TIME"][starts]
    assert np.allclose(np.diff(times)[np.diff(times) < 3], DUMP_INTERVAL, atol=0.01)
    lc = read_kepler_lightcurve(paths, str(star.tic), mission="tess")
    assert lc.mission == "tess" and lc.dump_times.size >= 7 * 9 and len(lc) > 15000
    scale = np.sqrt(abs(np.linalg.det(lc.pixel_to_sky[0])))
    assert scale == pytest.approx(21.0, rel=1e-6)
    assert not np.allclose(lc.pixel_to_sky[0], lc.pixel_to_sky[1])          # another camera orientation


@needs_tess
def test_the_tce_and_toi_tables_read_as_the_real_ones(survey):
    from exosieve.catalog.tess import load_spoc, read_spoc_table
    out, sv, paths = survey
    text = paths["catalog"].read_text().splitlines()
    real = REAL_TABLE.read_text().splitlines()
    assert all(len(line) == 80 for line in text[:6]) and text[3].startswith("#Sectors = s0001-s0016")
    assert text[6].split(",") == real[6].split(",")                          # the 123 columns, in order
    table = read_spoc_table(paths["catalog"])
    assert (table.run == "s0001-s0016").all()
    cfg = load()
    tces, rejected = load_spoc(paths["catalog"], cfg["catalog"]["labels"], paths["toi"], cfg["catalog"]["toi_labels"])
    # load_spoc keeps one TCE per signal, as for the real table: a repeat of another TCE on the
    # same star merges into it, so a few truth rows may fold into their siblings
    assert rejected.empty and len(sv.truth) - 3 <= len(tces) <= len(sv.truth)
    truth = pd.read_csv(paths["truth"]).set_index("tce_id")
    assert set(tces.tce_id) <= set(truth.index)
    labelled = tces[tces.label >= 0].set_index("tce_id")
    from exosieve.simulate.common import DISPOSITION
    true = truth.loc[labelled.index].true_class.map(DISPOSITION).map({"PC": 1, "AFP": 0, "NTP": 0})
    assert (true == labelled.label).mean() > 0.85                             # TOI dispositions mostly right


def test_ffi_products_are_written_found_and_read(survey):
    for product, cadence in (("tess-spoc", 30.0), ("qlp", 30.0)):
        star, paths, root = one_star(survey, product)
        name = paths[0].name
        assert name.startswith("hlsp_tess-spoc_tess_phot_" if product == "tess-spoc" else "hlsp_qlp_tess_ffi_s")
        assert index_lightcurves(root) == {str(star.tic): paths}
        lc = read_kepler_lightcurve(paths, str(star.tic), mission="tess")
        assert np.median(np.diff(lc.time)) * 24 * 60 == pytest.approx(cadence, rel=0.01)
        assert np.isfinite(lc.centroid_col).mean() > 0.9                     # QLP: SAP_X/SAP_Y


@pytest.mark.slow
def test_a_tiny_tess_survey_runs_the_whole_workflow(tmp_path):
    # exominer reads every TESS view but the raw flux, the trees its scalar features. That the other
    # CNNs build and learn on the TESS preset's views is test_models.py's, and the raw-flux arrays of
    # a TESS light curve are scored by the TESS bundle's raw_flux in test_shipped_models.py (two
    # CNNs fewer here: about 20 CPU-seconds).
    cfg = {"survey": {"mission": "tess", "stars": 40, "sectors": 2}, "views": {"preset": "tess"},
           "models": {"enabled": ["exominer", "trees"]},
           "cv": {"folds": 2}, "training": {"max_epochs": 3, "patience": 2}, "report": {"sheets": 1}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    run = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory",
                          str(tmp_path), "--cores", "2"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    report = tmp_path / "results" / "report"
    assert set(pd.read_csv(report / "model_comparison.csv").model) == {"exominer", "trees"}
    by_class = pd.read_csv(report / "by_true_class.csv")
    assert {"planet", "dump", "scattered"} <= set(by_class.group)
    from exosieve.shards import view_shapes
    shard = next((tmp_path / "results" / "shards").glob("*.h5"))
    assert {"momentum_dump", "flux_trend", "periodogram"} <= set(view_shapes(shard))
