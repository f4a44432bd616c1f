"""Bring-your-own views: the NPZ/HDF5 reader, its errors, the damage check (records whose transit a
view lost), and a whole CV run on a views file with an external test set."""

import subprocess
import sys

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml

from exosieve.catalog.table import CatalogError
from exosieve.catalog.views_dataset import ViewsDataset, depth_bands, read_views_dataset
from exosieve.config import load
from helpers import LABELS, REPO, SHARED_DATA, make_views, with_tce_ids


def catalog_cfg(path, features=(), **extra):
    """The validated catalog section of a views-source config."""
    return load({"catalog": {"source": "views", "path": str(path), "labels": LABELS,
                             "views_features": list(features), **extra}})["catalog"]


def test_npz_and_hdf5_read_the_same(tmp_path):
    arrays = make_views(40)
    np.savez(tmp_path / "v.npz", **arrays)
    with h5py.File(tmp_path / "v.h5", "w") as h5:
        for k, v in arrays.items():
            h5[k] = v.astype("S") if v.dtype.kind == "U" else v
    a = read_views_dataset(tmp_path / "v.npz", catalog_cfg(tmp_path / "v.npz", ["snr"]))
    b = read_views_dataset(tmp_path / "v.h5", catalog_cfg(tmp_path / "v.h5", ["snr"]))
    assert list(a.views) == ["global", "local"] and a.scalar_names == ["snr"]
    np.testing.assert_array_equal(a.scalars[:, 0], arrays["snr"])
    pd.testing.assert_frame_equal(a.meta, b.meta)
    np.testing.assert_array_equal(a.views["local"], b.views["local"])
    # Mapping from config: PC and EB positive, NTP negative, anything else unlabelled.
    expected = np.select([np.isin(arrays["label"], ["PC", "EB"]), arrays["label"] == "NTP"], [1, 0], -1)
    np.testing.assert_array_equal(a.meta.label.to_numpy(), expected)
    assert a.meta.tce_id.is_unique and a.meta.tce_id.iloc[1] == "1000_2"


@pytest.mark.parametrize("change,message", [
    (lambda a: a.pop("local_view"), "no local_view"),
    (lambda a: a.update(snr=a["snr"][:-1]), "snr"),
])
def test_bad_views_files_are_refused_by_name(tmp_path, change, message):
    arrays = make_views(20)
    change(arrays)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(CatalogError, match=message):
        read_views_dataset(tmp_path / "bad.npz", catalog_cfg(tmp_path / "bad.npz"))


def test_one_bad_row_is_rejected_with_its_reason_and_the_rest_go_on(tmp_path):
    """A NaN view, an unsafe star id or a label that maps to nothing costs its own row only."""
    arrays = make_views(20)
    arrays["star_id"] = arrays["star_id"].astype("U10")
    arrays["global_view"][0, 0] = np.nan
    arrays["star_id"][2] = "../etc"
    arrays["label"][4] = "EBX"
    np.savez(tmp_path / "v.npz", **arrays)
    dataset = ViewsDataset(tmp_path / "v.npz", catalog_cfg(tmp_path / "v.npz"))
    rejected = dataset.rejected.set_index(dataset.rejected.error.str.extract(r"row (\d+)")[0].astype(int))
    assert sorted(rejected.index) == [0, 2, 4]
    assert "global_view holds NaN or infinite values" in rejected.error[0]
    assert "not a valid identifier" in rejected.error[2]
    assert "label 'EBX' (label) maps to none of catalog.labels" in rejected.error[4]
    assert len(dataset.data) == 17 and (dataset.rejected.stage == "catalog").all()


def write_tfrecord_views(path, arrays, mirror_planets=True, nan_rows=()):
    """``arrays`` (make_views) as TFRecord records, as augmented datasets are published: each planet
    followed by its mirror image (every view reversed); rows in ``nan_rows`` get a NaN."""
    from exosieve.catalog.tfrecord import write_tfrecord
    records = []
    for i, label in enumerate(arrays["label"]):
        record = {"kepid": [int(arrays["star_id"][i])], "av_training_set": [label.encode()],
                  "global_view": arrays["global_view"][i].copy(), "local_view": arrays["local_view"][i].copy()}
        if i in nan_rows:
            record["local_view"][3] = np.nan
        records.append(record)
        if mirror_planets and label == "PC":
            records.append({**record, "global_view": record["global_view"][::-1].copy(),
                            "local_view": record["local_view"][::-1].copy()})
    write_tfrecord(path, records)
    return records


@pytest.mark.slow
def test_views_source_runs_cv_without_features_and_scores_the_external_test_set(tmp_path):
    """A TFRecord dataset with mirror images baked in and one NaN record, the default model list and
    no scalar features named: every model that can read views trains (the trees on the flattened
    views), the mirrors are dropped and counted, the bad record is rejected, and an NPZ test set
    is scored."""
    train = make_views(240, seed=1)
    records = write_tfrecord_views(tmp_path / "train.tfrecord", train, nan_rows=(5,))
    np.savez(tmp_path / "test.npz", **make_views(80, seed=2))
    cfg = {"catalog": {"source": "views", "path": str(tmp_path / "train.tfrecord"), "labels": LABELS},
           "evaluation": {"test_path": str(tmp_path / "test.npz")},
           "shards": 2, "cv": {"folds": 2}, "training": {"max_epochs": 4, "patience": 2},
           "report": {"sheets": 1}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    run = subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
                          "--directory", str(tmp_path), "--configfile", str(tmp_path / "config.yaml"),
                          "--cores", "2"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    report = tmp_path / "results" / "report"
    comparison = pd.read_csv(report / "model_comparison.csv")
    # raw_flux has no light curve to read in a views file: skipped, the others compared.
    assert comparison.model.tolist() == ["exominer", "astronet", "trees"]
    assert "beside the flattened global and local views" in (tmp_path / "results" / "logs" / "train" / "trees" /
                                                              "fold_0.log").read_text()
    test = pd.read_csv(report / "test_metrics.csv")
    assert test.model.tolist() == ["exominer", "astronet", "trees"]
    assert (test.pr_auc > 0.9).all(), test      # the dip is easy to see
    assert (test.n == (make_views(80, seed=2)["label"] != "UNK").sum()).all()
    n_mirrors = int((train["label"] == "PC").sum())
    rejected = pd.read_csv(tmp_path / "results" / "catalog" / "rejected.csv")
    assert (rejected.stage == "repeat").sum() == n_mirrors and (rejected.stage == "catalog").sum() == 1
    assert len(pd.read_csv(tmp_path / "results" / "catalog" / "tces.csv")) == len(records) - n_mirrors - 1
    html = (report / "index.html").read_text()
    assert "External test set" in html and 'src="test_pr_curves.png"' in html
    assert f"{n_mirrors} record(s) of the views dataset repeat an earlier record" in html
    assert not (tmp_path / "results" / "lightcurves").exists()


def test_only_the_arrays_the_config_names_are_features(tmp_path):
    """A kepid, a row number or a numerically coded label in the file is never learned unless named."""
    arrays = make_views(40)
    arrays["row"] = np.arange(40, dtype=np.int64)
    arrays["label_code"] = (arrays["label"] == "PC").astype(np.int8)   # the answer, as a number
    np.savez(tmp_path / "v.npz", **arrays)
    path = tmp_path / "v.npz"
    assert read_views_dataset(path, catalog_cfg(path)).scalar_names == []
    assert read_views_dataset(path, catalog_cfg(path, ["snr"])).scalar_names == ["snr"]
    with pytest.raises(CatalogError, match=r"names teff, which is not a numeric single value per record "
                                           r"in the dataset; the ones it has: label_code, row, snr"):
        read_views_dataset(path, catalog_cfg(path, ["teff"]))


def dartvetter_like(kind, rng):
    """(global 201 bins, local 61 bins over +-2.5 durations) as DART-Vetter's DR24 views are, median 0 and
    minimum -1: 'transit' dips in both; 'lost' has the local view's in-transit bins empty (filled by
    interpolation between their neighbours, as a sigma clip before folding leaves a deep transit);
    'lost_global' has that in the global view; 'noise' holds no transit but every bin holds flux."""
    g, lv = rng.normal(0, 0.08, 201), rng.normal(0, 0.08, 61)
    x = (np.arange(61) - 30) * 5 / 61
    if kind != "noise":
        g[99:102] -= 1.0
        lv[np.abs(x) <= 0.5] -= 1.0
    if kind == "lost":
        inside = np.flatnonzero(np.abs(x) <= 0.55)
        edges = [inside[0] - 1, inside[-1] + 1]
        lv[inside] = np.interp(inside, edges, lv[edges])
    if kind == "lost_global":
        g[98:103] = np.interp(np.arange(98, 103), [97, 103], g[[97, 103]])
    return [((v - np.median(v)) / -(v - np.median(v)).min()).astype(np.float32) for v in (g, lv)]


def damage_arrays(kinds, depths, seed=0):
    rng = np.random.default_rng(seed)
    views = [dartvetter_like(k, rng) for k in kinds]
    return {"global_view": np.array([v[0] for v in views]), "local_view": np.array([v[1] for v in views]),
            "label": np.array(["NTP" if k == "noise" else "PC" for k in kinds]),
            "star_id": np.array([str(2000 + i) for i in range(len(kinds))]),
            "depth": np.array(depths, np.float32)}


def test_a_view_that_lost_its_transit_is_rejected_as_damaged(tmp_path):
    """A clear transit passes; a local (or global) view whose transit's bins are empty and hold no dip
    is rejected with stage damaged, counted per depth band; a view with no transit whose bins hold
    flux (an NTP's) is information and kept, whatever its depth; keep_damaged keeps them all."""
    kinds = ["transit", "lost", "noise", "transit", "lost", "lost_global", "transit"]
    depths = [8000, 8000, 8000, 450, np.nan, 20000, 650]
    np.savez(tmp_path / "v.npz", **damage_arrays(kinds, depths))
    path = tmp_path / "v.npz"
    dataset = ViewsDataset(path, catalog_cfg(path))
    assert dataset.data.meta.star_id.tolist() == ["2000", "2002", "2003", "2006"]
    assert (dataset.n_damaged, dataset.n_rejected) == (3, 3)
    assert dataset.damaged_by_band[["3000-10000", ">10000", "unknown", "300-1000"]].tolist() == [1, 1, 1, 0]
    rejected = dataset.rejected.set_index("star_id")
    assert (rejected.stage == "damaged").all()
    assert rejected.error["2001"].startswith(f"views dataset {path}: record at v.npz row 1: transit lost: local view: "
                                             "no dip at the transit centre (centre bins at")
    assert "of its 13 centre bins empty" in rejected.error["2001"]
    assert "depth band 3000-10000 ppm" in rejected.error["2001"]
    assert "depth unknown" in rejected.error["2004"]
    assert "global view: no dip at the transit phase" in rejected.error["2005"]
    assert rejected.error["2005"].endswith("rejected (set catalog.keep_damaged to keep it)")
    kept = ViewsDataset(path, catalog_cfg(path, keep_damaged=True))
    assert len(kept.data) == len(kinds) and kept.rejected.empty and kept.n_damaged == 3 and kept.n_rejected == 0
    assert kept.damage.star_id.tolist() == ["2001", "2004", "2005"]
    # A dataset whose transits point up (flipped views) is read upside down: the same records found.
    arrays = damage_arrays(kinds, depths)
    flipped = {k: -arrays[k] for k in ("global_view", "local_view")}
    np.savez(tmp_path / "up.npz", **{**arrays, **flipped})
    up = ViewsDataset(tmp_path / "up.npz", catalog_cfg(tmp_path / "up.npz"))
    assert up.damage.star_id.tolist() == ["2001", "2004", "2005"]
    assert up.damage.reason.str.startswith("(views read upside down").all()


@pytest.mark.slow      # reads all 15,736 real records: in the full suite, not the quick one
@pytest.mark.skipif(not (SHARED_DATA / "views" / "kepler_dr24_dartvetter").is_dir(),
                    reason=f"real DR24 views not found at {SHARED_DATA}/views (set EXOSIEVE_SHARED_DATA)")
def test_the_real_dr24_records_that_lost_their_transit_are_found(tmp_path):
    """DART-Vetter's DR24 records with each TCE's DR24 depth recovered (benchmarks/dr24_views.py):
    the deep PCs whose transit the records' 3-sigma clip erased are found; the shallow PCs, whose
    transits survive, are not (measured: 0 of 1,430 below 300 ppm, 5 of 1,426 at 300-1,000 ppm)."""
    path = with_tce_ids(SHARED_DATA, tmp_path / "dr24")
    dataset = ViewsDataset(path, catalog_cfg(path, labels={"positive": ["PC"], "negative": ["AFP", "NTP"]},
                                             keep_damaged=True))
    assert len(dataset.data) == 15736 and dataset.n_damaged == 401
    damage = dataset.damage.set_index("tce_id")
    # KIC 2975770 b, a DR24 PC of 6,092 ppm: its local view's in-transit bins are a straight line.
    assert damage.disposition["2975770_1"] == "PC" and damage.depth_band["2975770_1"] == "3000-10000"
    assert damage.reason["2975770_1"].startswith("local view: no dip at the transit centre")
    meta = dataset.data.meta.assign(band=depth_bands(dataset.data.attrs["depth"]))
    pcs = meta[meta.disposition == "PC"].band.value_counts()
    flagged = dataset.damage[dataset.damage.disposition == "PC"].depth_band.value_counts()
    assert flagged.get("<300", 0) == 0 and flagged["300-1000"] / pcs["300-1000"] < 0.01      # measured 0.35%
    assert flagged["3000-10000"] / pcs["3000-10000"] > 0.1                                   # measured 18%
