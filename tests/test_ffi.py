"""TESS full-frame-image light curves as users hold them: every product read by a reader of its
own (exosieve/lightcurves/products.py), files of any layout matched to their star by header, one
file per sector by the configured preference, and a product without centroids (TGLC) scored with
its centroid branch read as missing, never as "no centroid motion".

The real TGLC files are ../shared/data/tess/ffi/tglc (243 files of 48 TOI hosts). No real QLP,
TESS-SPOC or eleanor file is there: those formats are written here from a real TGLC file's time
and flux, with the columns and header keys each product's documentation gives (as lightkurve's
readers, lightkurve/io/, read them)."""

from __future__ import annotations

import collections
import os
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml
from astropy.io import fits

from helpers import SHARED_DATA, TOI_COLUMNS, snakemake

TGLC = SHARED_DATA / "tess" / "ffi" / "tglc"
needs_tglc = pytest.mark.skipif(not TGLC.is_dir(), reason=f"real TGLC light curves not found at {TGLC}")
pytestmark = needs_tglc

# TOI-6002.01 (TIC 102734241, CP): its TOI ephemeris, epoch on BJD as the TOI table gives it.
TOI6002 = {"star_id": "102734241", "period": 10.9048392, "epoch": 2458692.759945, "duration_hours": 1.553}


def tglc_files(tic: str | None = None):
    return sorted((TGLC / tic).glob("*.fits")) if tic else sorted(TGLC.glob("*/*.fits"))


def first_file(tic: str = "102734241"):
    return tglc_files(tic)[0]


def _table(columns: dict, header_cards: dict | None = None) -> fits.BinTableHDU:
    fmt = {np.dtype(">f8"): "D", np.dtype("float64"): "D", np.dtype(">f4"): "E", np.dtype("float32"): "E",
           np.dtype(">i4"): "J", np.dtype("int64"): "K", np.dtype(">i2"): "I", np.dtype("int32"): "J"}
    table = fits.BinTableHDU.from_columns([fits.Column(name=n, format=fmt.get(np.asarray(a).dtype, "D"), array=a)
                                           for n, a in columns.items()], name="LIGHTCURVE")
    for key, value in (header_cards or {}).items():
        table.header[key] = value
    return table


def rewrite_as(product: str, source, dest, tic: str | None = None, sector: int | None = None):
    """A real TGLC file's time, flux and flags written in another product's format."""
    with fits.open(source) as hdul:
        h0, h1, d = hdul[0].header, hdul[1].header, hdul[1].data
        tic = tic or str(h0["TICID"])
        sector = sector or int(h0["SECTOR"])
        time = np.asarray(d["time"], float)
        flux = np.asarray(d["cal_aper_flux"], float) * 1000.0
        flags = np.asarray(d["TESS_flags"], np.int32) | (np.asarray(d["TGLC_flags"], np.int32) != 0) * 4
        timing = {"BJDREFI": 2457000, "BJDREFF": 0.0, "TSTART": h1["TSTART"], "TSTOP": h1["TSTOP"],
                  "TIMEDEL": h1["TIMEDEL"]}
    n = time.size
    centroid = 500.0 + np.random.default_rng(0).normal(0, 0.01, n)
    primary = fits.PrimaryHDU()
    primary.header.update({"TELESCOP": "TESS", "SECTOR": sector})
    if product == "qlp":
        # QLP: ORIGIN 'MIT/QLP' (lightkurve's detect_filetype), SAP_FLUX, KSPSAP_FLUX(_ERR), SAP_X/Y.
        primary.header.update({"ORIGIN": "MIT/QLP", "TICID": int(tic), "OBJECT": f"TIC {tic}"})
        table = _table({"TIME": time, "SAP_FLUX": flux, "KSPSAP_FLUX": flux / np.nanmedian(flux),
                        "KSPSAP_FLUX_ERR": np.full(n, 1e-3), "QUALITY": flags, "SAP_X": centroid,
                        "SAP_Y": centroid + 100}, timing)
    elif product == "eleanor":
        # Vanilla eleanor: TIC_ID in the header, CORR_FLUX, RAW_FLUX with its FLUX_ERR, X/Y_CENTROID.
        primary.header.update({"TIC_ID": int(tic), "OBJECT": f"TIC {tic}"})
        table = _table({"TIME": time, "RAW_FLUX": flux * 1.1, "CORR_FLUX": flux, "PCA_FLUX": flux,
                        "FLUX_ERR": np.full(n, 2.2), "QUALITY": flags, "X_CENTROID": centroid,
                        "Y_CENTROID": centroid + 100}, timing)
    elif product == "tess-spoc":
        primary.header.update({"ORIGIN": "NASA/Ames", "TICID": int(tic), "OBJECT": f"TIC {tic}",
                               "CREATOR": "LightCurveExporterPipelineModule"})
        table = _table({"TIME": time, "SAP_FLUX": flux, "SAP_FLUX_ERR": np.full(n, 2.0), "PDCSAP_FLUX": flux,
                        "PDCSAP_FLUX_ERR": np.full(n, 2.0), "QUALITY": flags, "MOM_CENTR1": centroid,
                        "MOM_CENTR2": centroid + 100}, timing)
    elif product == "lightkurve":
        primary.header.update({"CREATOR": "lightkurve.LightCurve.to_fits()", "OBJECT": f"TIC {tic}",
                               "ORIGIN": "Unofficial data product"})
        table = _table({"TIME": time, "FLUX": flux, "FLUX_ERR": np.full(n, 2.0), "QUALITY": flags})
    else:
        raise ValueError(product)
    fits.HDUList([primary, table]).writeto(dest, overwrite=True)
    return dest


# --- 1. every product by a reader of its own ------------------------------------------------------

def test_every_real_tglc_file_is_read_as_tglc_and_none_is_lost():
    from exosieve.lightcurves.reader import read_kepler_lightcurve
    counts, notes, lost = collections.Counter(), [], []
    for star in sorted(p.name for p in TGLC.iterdir() if p.is_dir()):
        lc = read_kepler_lightcurve(tglc_files(star), star, mission="tess")
        counts.update(p for p in lc.products if p)
        notes += lc.notes
        lost += lc.skipped + lc.unused
        assert np.isfinite(lc.flux_err).all() and (lc.flux_err > 0).all()      # estimated, never NaN
        assert not lc.has_centroids                                          # TGLC has none
    assert counts == {"tglc": 243} and not lost
    # 13 sectors' PSF fits failed (cal_psf_flux NaN at every good cadence): read from cal_aper_flux.
    assert len(notes) == 13 and all("read cal_aper_flux" in why for _, why in notes)


def test_each_shared_file_is_recognised_as_its_product():
    from exosieve.lightcurves.products import recognise, table_columns
    shared = {"tglc": tglc_files()[:5], "spoc": sorted((SHARED_DATA / "tess" / "tid").glob("s*/**/*_lc.fits")),
              "lightkurve": [SHARED_DATA / "tess" / "wasp18b.fits"],
              "kepler": sorted((SHARED_DATA / "kepler" / "lightcurves").glob("*/*/kplr*_llc.fits"))[:3]}
    for product, paths in shared.items():
        for path in [p for p in paths if p.exists()]:
            h0, h1 = fits.getheader(path, 0), fits.getheader(path, 1)
            assert recognise(h0, h1, table_columns(h1)).name == product, path.name


def test_tglc_drops_cadences_its_own_flags_mark_and_estimates_errors_from_scatter():
    from exosieve.lightcurves.products import scatter_errors
    from exosieve.lightcurves.reader import QUALITY_BITMASKS, read_kepler_lightcurve
    path = first_file()
    d = fits.getdata(path, 1)
    good = (d["TGLC_flags"] == 0) & ((d["TESS_flags"] & QUALITY_BITMASKS["tess"]["default"]) == 0) \
        & np.isfinite(d["cal_psf_flux"]) & np.isfinite(d["time"])
    lc = read_kepler_lightcurve([path], "102734241", mission="tess")
    assert len(lc) == good.sum() and good.sum() < len(d)
    flux = np.asarray(d["cal_psf_flux"], float)[good]
    assert np.allclose(lc.flux, flux / np.median(flux))
    want = scatter_errors(flux, np.ones(flux.size, bool))[0] / np.median(flux)
    assert np.allclose(lc.flux_err, want) and 0 < want < 0.01
    assert lc.estimated_errors == ["tglc"] and lc.product_names == ["tglc"]
    # QLP's detrended flux by config, under its name of sectors 1-55 or of 56 on (DET_FLUX)
    from exosieve.lightcurves.reader import reading_settings
    from exosieve.lightcurves.products import PRODUCTS
    qlp = next(p for p in PRODUCTS if p.name == "qlp")
    n = 20
    table = fits.BinTableHDU.from_columns([fits.Column(name=c, format="D", array=np.linspace(1, 2, n))
                                           for c in ("TIME", "SAP_FLUX", "DET_FLUX", "DET_FLUX_ERR")]
                                          + [fits.Column(name="QUALITY", format="J", array=np.zeros(n, np.int32))])
    read = qlp.read(table.data, set(table.columns.names), {"SECTOR": 60},
                    reading_settings("PDCSAP_FLUX", "default", "tess", {"qlp": "KSPSAP_FLUX"}))
    assert read.flux_column == "DET_FLUX" and np.isfinite(read.flux_err).all()
    # cal_aper_flux by config
    aper = read_kepler_lightcurve([path], "102734241", mission="tess", product_flux={"tglc": "cal_aper_flux"})
    assert not np.allclose(aper.flux[:50], lc.flux[:50])


@pytest.mark.parametrize("product", ["qlp", "eleanor", "tess-spoc", "lightkurve"])
def test_each_ffi_format_written_from_a_real_file_is_recognised_and_read(product, tmp_path):
    from exosieve.lightcurves.reader import read_kepler_lightcurve
    path = rewrite_as(product, first_file(), tmp_path / f"any-name-{product}.fits")
    lc = read_kepler_lightcurve([path], "102734241", mission="tess")
    assert lc.products == [product] and len(lc) > 1000
    assert np.nanmedian(lc.flux) == pytest.approx(1.0) and np.isfinite(lc.flux_err).all()
    assert lc.has_centroids == (product != "lightkurve")
    if product == "eleanor":      # FLUX_ERR is RAW_FLUX's: scaled by CORR_FLUX / RAW_FLUX
        raw_err = 2.2 / 1.1
        assert np.allclose(lc.flux_err * np.median(fits.getdata(path, 1)["CORR_FLUX"][np.isfinite(
            fits.getdata(path, 1)["CORR_FLUX"])]), raw_err, rtol=0.05)


def test_a_file_of_no_known_product_or_lacking_a_column_is_an_error_naming_it(tmp_path):
    from exosieve.lightcurves.reader import LightCurveError, read_kepler_lightcurve
    odd = tmp_path / "odd.fits"
    fits.HDUList([fits.PrimaryHDU(), _table({"a": np.arange(5.0), "b": np.arange(5.0)})]).writeto(odd)
    with pytest.raises(LightCurveError, match=r"star 102734241: odd.fits is none of the light-curve products "
                                              r"ExoSieve reads \(tglc, qlp, eleanor.*kepler\).*columns: a, b"):
        read_kepler_lightcurve([odd], "102734241", mission="tess")
    cut = tmp_path / "cut.fits"
    with fits.open(first_file()) as hdul:
        cols = [c for c in hdul[1].columns if c.name != "TGLC_flags"]
        fits.HDUList([hdul[0].copy(), fits.BinTableHDU.from_columns(cols, header=hdul[1].header)]).writeto(cut)
    with pytest.raises(LightCurveError, match=r"cut.fits \(TGLC FFI light curve .*\) lacks column\(s\) TGLC_flags"):
        read_kepler_lightcurve([cut], "102734241", mission="tess")


# --- 2. any layout, one file per sector -----------------------------------------------------------

def test_files_of_any_layout_are_matched_to_their_star_by_header(tmp_path):
    from exosieve.lightcurves.locate import files_of_star, index_folder
    mixed = tmp_path / "downloads" / "deep" / "er"
    mixed.mkdir(parents=True)
    for i, path in enumerate(tglc_files("119585136") + tglc_files("285048486")):
        os.symlink(path, mixed / f"lc_{i}.fits")     # names that say nothing of the star
    shutil.copy(SHARED_DATA / "tess" / "wasp18b.fits", tmp_path / "downloads" / "w.fits")
    index = index_folder(tmp_path / "downloads")
    assert sorted(index) == ["100100827", "119585136", "285048486"]
    assert len(files_of_star(tmp_path / "downloads", "119585136")) == 2
    assert len(files_of_star([str(mixed / "lc_*.fits")], 285048486)) == 2
    assert files_of_star(tmp_path / "downloads", "7") == []


def test_one_file_per_sector_the_configured_product_first(tmp_path, caplog):
    from exosieve.lightcurves.reader import read_kepler_lightcurve
    tglc = first_file()
    qlp = rewrite_as("qlp", tglc, tmp_path / "q.fits")
    lc = read_kepler_lightcurve([tglc, qlp], "102734241", mission="tess")
    assert lc.products == ["", "qlp"] and lc.unused[0][0] == tglc.name
    assert "read from the qlp file" in lc.unused[0][1] and "lightcurves.product_preference" in lc.unused[0][1]
    mine = read_kepler_lightcurve([tglc, qlp], "102734241", mission="tess", product_preference=["tglc"])
    assert mine.products == ["tglc", ""] and not mine.has_centroids
    # Two sectors of two products: both read, each its own segment.
    other = rewrite_as("qlp", tglc_files("102734241")[1], tmp_path / "q2.fits")
    both = read_kepler_lightcurve([tglc, other], "102734241", mission="tess")
    assert both.products == ["tglc", "qlp"] and set(np.unique(both.segment)) == {0, 1}


def test_the_new_reading_settings_leave_recorded_hashes_alone_at_their_defaults():
    from exosieve.config import later_reading_defaults, load, preprocessing_settings
    from exosieve.lightcurves.reader import DEFAULT_PRODUCT_FLUX, DEFAULT_PRODUCT_PREFERENCE
    assert later_reading_defaults() == {"product_preference": DEFAULT_PRODUCT_PREFERENCE,
                                        "product_flux": DEFAULT_PRODUCT_FLUX}
    assert set(preprocessing_settings(load())["lightcurves"]) == {"flux_column", "quality_bitmask"}
    changed = load({"lightcurves": {"product_flux": {"tglc": "cal_aper_flux"}}})
    assert preprocessing_settings(changed)["lightcurves"]["product_flux"]["tglc"] == "cal_aper_flux"


# --- 3. no centroids: the branch read as missing ------------------------------------------------

def test_a_tglc_signal_is_scored_from_a_folder_with_its_centroid_branch_read_as_missing():
    from exosieve.scoring import score
    out = score(TGLC, TOI6002, "tess_simulated", time_system="BJD")
    row = out.iloc[0]
    assert row.status == "flagged" and row.products == "tglc"
    assert "no centroid data (TGLC): centroid branch read as missing" in row.flag
    assert set(row.missing.split(",")) == {"centroid_global", "centroid_local"}
    assert 0 <= row.trees <= 1 and np.isfinite(row.raw_flux)


def test_missing_views_are_read_as_each_models_occlusion_value():
    from exosieve.evaluation import read_as_missing
    from exosieve.shards import ShardData

    class Model:
        medians = {"centroid_local": np.full(4, 0.25, np.float32), "local": np.full(4, -0.5, np.float32)}

    meta = pd.DataFrame({"tce_id": ["a", "b"], "missing": ["centroid_local", ""]})
    views = {"centroid_local": np.zeros((2, 4), np.float32), "local": np.ones((2, 4), np.float32)}
    read = read_as_missing(Model(), ShardData(meta=meta, views=views, scalars=np.zeros((2, 0), np.float32),
                                              scalar_names=[]))
    assert np.all(read.views["centroid_local"][0] == 0.25) and np.all(read.views["centroid_local"][1] == 0)
    assert np.all(read.views["local"] == 1) and np.all(views["centroid_local"] == 0)   # the input untouched


def test_exosieve_score_takes_the_issues_command_on_a_folder_of_tglc_files(capsys):
    from exosieve.cli import main
    args = ["score", "--tic", "102734241", "--period", "10.9048392", "--t0", "2458692.759945", "--duration",
            "1.553h", "--time-system", "BJD", "--lightcurves", str(TGLC)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "4 file(s)" in out and "light curves read as: tglc" in out
    # The default TESS bundle reads no centroid view or feature: no flag for their absence.
    assert "no centroid data" not in out
    assert main([*args, "--models", "tess_simulated"]) == 0      # its trees read centroid features
    assert "no centroid data (TGLC): centroid branch read as missing" in capsys.readouterr().out
    assert main([*args[:-1], str(TGLC / "*" / "*.fits")]) == 0
    assert main(["score", "--tic", "5", *args[3:]]) == 2
    assert "no light curve of TIC 5 among the 243 FITS file(s)" in capsys.readouterr().err


def test_the_issues_command_needs_no_time_system_for_its_bjd_epoch(capsys):
    """The issue's command names no time system: its TOI epoch, above 2,400,000, can only be a BJD."""
    from exosieve.cli import main
    assert main(["score", "--tic", "102734241", "--period", "10.9048392", "--t0", "2458692.759945", "--duration",
                 "1.553h", "--lightcurves", str(TGLC / "102734241"), "--models", "tess_simulated"]) == 0
    out = capsys.readouterr().out
    assert "epoch 1692.75995 (BTJD)" in out
    assert "epoch 2458692.76 read as BJD (above 2,400,000); name --time-system to say otherwise" in out


# --- 4. the workflow on a folder of TGLC files with the TOI table as its catalog -----------------

WORKFLOW_STARS = ["119585136", "285048486", "37749396", "181804752"]


@pytest.mark.slow
def test_the_workflow_vets_a_toi_catalog_from_a_folder_of_tglc_files(tmp_path):
    """catalog.source local, the TOI table mapped by catalog.columns, light curves a folder of
    TGLC files (named by Gaia id: matched by header), scored by the shipped TESS trees."""
    cfg = {"catalog": {"source": "local", "path": str(SHARED_DATA / "catalogs" / "toi.csv"),
                       "lightcurve_dir": str(TGLC), "columns": TOI_COLUMNS, "epoch_offset": 2457000,
                       "mission": "tess", "labels": {"positive": ["CP", "KP"], "negative": ["FP", "FA"]},
                       "targets": WORKFLOW_STARS},
           "shards": 1, "cv": {"folds": 2}, "report": {"sheets": 1},
           "models": {"from": "tess_simulated", "enabled": ["trees"], "primary": "trees"}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    log = snakemake(tmp_path, "--configfile", str(tmp_path / "config.yaml"))
    assert "rule train:" not in log
    catalog = pd.read_csv(tmp_path / "results" / "report" / "vetted_catalog.csv", dtype={"tce_id": str})
    assert len(catalog) == 5 and (catalog.status != "failed").all(), catalog
    assert catalog.score.between(0, 1).all()
    # Every one is a TGLC light curve: flagged for its missing centroids, scored all the same.
    assert catalog.flag.str.contains("no centroid data (TGLC): centroid branch read as missing", regex=False).all()
    assert (tmp_path / "results" / "report" / "index.html").exists()


def test_a_run_that_trains_nothing_takes_a_catalog_of_planets_only():
    """models.from: the folds only split the scoring, so a TOI list without a false positive is
    dealt to folds by star; a run that trains still refuses it."""
    from exosieve.folds import FoldError, assign_folds
    tces = pd.DataFrame({"tce_id": [f"{s}_1" for s in "abcd"], "star_id": list("abcd"), "label": [1, 1, 1, -1]})
    with pytest.raises(FoldError, match="only 0 stars have negative TCEs"):
        assign_folds(tces, 2, 0)
    folds = assign_folds(tces, 2, 0, trains=False)
    assert sorted(folds.fold) == [-1, 0, 0, 1] or sorted(folds.fold) == [-1, 0, 1, 1]


def test_a_tglc_tces_missing_centroid_views_are_kept_in_its_shard(tmp_path):
    from exosieve.config import load
    from exosieve.preprocess import assemble, preprocess_stars
    from exosieve.shards import read_shard, write_shard
    cfg = load()
    tces = pd.DataFrame([{"tce_id": "102734241_1", "star_id": "102734241", "period": TOI6002["period"],
                          "epoch": TOI6002["epoch"] - 2457000, "duration": TOI6002["duration_hours"] / 24,
                          "depth": np.nan, "mission": "tess"}])
    for col in ("teff", "logg", "feh", "radius", "mass", "dens"):
        tces[col] = np.nan
    results, failures = preprocess_stars(tces, {"102734241": tglc_files("102734241")}, set(), cfg, progress=False)
    assert len(results) == 1 and not failures
    data = assemble(results, cfg)
    # Zeros in the views, which without the mark would read as "no centroid motion".
    assert not data.views["centroid_local"].any()
    write_shard(tmp_path / "s.h5", data, {"config_hash": "x"})
    back = read_shard(tmp_path / "s.h5")
    assert back.meta.missing.tolist() == ["centroid_global,centroid_local"]
    assert "no centroid data (TGLC)" in back.meta.flag.iloc[0]


def test_an_exominer_reads_a_tglc_tces_centroid_branch_as_its_occlusion_value():
    """A CNN with a centroid branch (ExoMiner's, untrained weights) on a real TGLC TCE: the
    centroid views it reads are its training medians, so the branch's occlusion attribution is 0
    (it contributed nothing) and the score is that of the median-filled views, not of the zeros."""
    from exosieve.calibration import Calibration
    from exosieve.config import load
    from exosieve.evaluation import ensemble_scores
    from exosieve.features import ScalarScaler
    from exosieve.model_files import FoldModel
    from exosieve.models import build_cnn
    from exosieve.preprocess import assemble, preprocess_stars
    from exosieve.shards import ShardData
    cfg = load()
    tces = pd.DataFrame([{"tce_id": "102734241_1", "star_id": "102734241", "period": TOI6002["period"],
                          "epoch": TOI6002["epoch"] - 2457000, "duration": TOI6002["duration_hours"] / 24,
                          "depth": np.nan, "mission": "tess", "teff": np.nan, "logg": np.nan, "feh": np.nan,
                          "radius": np.nan, "mass": np.nan, "dens": np.nan}])
    results, _ = preprocess_stars(tces, {"102734241": tglc_files("102734241")}, set(), cfg, progress=False)
    data = assemble(results, cfg)
    arrays = {name: tuple(v.shape[1:]) for name, v in data.views.items() if not name.startswith("raw_flux")}
    net = build_cnn("exominer", arrays, len(data.scalar_names), cfg["models"]["exominer"])
    rng = np.random.default_rng(1)
    medians = {a: rng.normal(0, 2, shape).astype(np.float32) for a, shape in arrays.items()}
    model = FoldModel(bundle={"kind": "cnn", "model": "exominer", "arrays": arrays, "fold": 0,
                              "model_cfg": cfg["models"]["exominer"], "scaler": ScalarScaler(data.scalar_names).to_dict(),
                              "state_dict": net.state_dict(), "medians": medians,
                              "calibration": Calibration(1.0, 1.0, 0.0, "validation", 100, 30).to_dict()})
    assert "centroid" in model.branches
    out = ensemble_scores([model], data, attributions=True)
    assert out.attr_centroid.iloc[0] == 0.0
    filled = dict(data.views, **{n: medians[n][None] for n in ("centroid_global", "centroid_local")})
    as_medians = ShardData(meta=data.meta.drop(columns="missing"), views=filled, scalars=data.scalars,
                           scalar_names=data.scalar_names)
    as_zeros = ShardData(meta=data.meta.drop(columns="missing"), views=data.views, scalars=data.scalars,
                         scalar_names=data.scalar_names)
    assert out.score_raw.iloc[0] == pytest.approx(model.raw_score(as_medians)[0], abs=1e-7)
    assert out.score_raw.iloc[0] != pytest.approx(model.raw_score(as_zeros)[0], abs=1e-7)


def test_a_damaged_tglc_file_is_its_gaia_ids_star_and_skipped_with_its_reason(tmp_path, caplog):
    """Its header unreadable, a TGLC file's Gaia id (in its name) still names its star through
    the star's other files: the reader then says what is wrong with it, the star read from the rest."""
    from exosieve.lightcurves.locate import files_of_star
    from exosieve.lightcurves.reader import read_kepler_lightcurve
    good, damaged = tglc_files("119585136")
    os.symlink(good, tmp_path / good.name)
    (tmp_path / damaged.name).write_bytes(damaged.read_bytes()[:1000])
    (tmp_path / "hlsp_tglc_tess_ffi_gaiaid-1-s0001-cam1-ccd1_tess_v1_llc.fits").write_text("<html>503</html>")
    files = files_of_star(tmp_path, "119585136")
    assert [f.name for f in files] == sorted([good.name, damaged.name], key=lambda n: n.split("-s")[1])
    assert "1 FITS file(s) belong to no star" in caplog.text and "gaiaid-1-s0001" in caplog.text
    lc = read_kepler_lightcurve(files, "119585136", mission="tess")
    assert lc.products.count("tglc") == 1
    assert [name for name, _ in lc.skipped] == [damaged.name] and "not a valid light-curve FITS" in lc.skipped[0][1]
