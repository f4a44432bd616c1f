"""Bring-your-own views: the NPZ/HDF5 reader, its errors, and a whole CV run on a views file with
an external test set."""

import subprocess
import sys

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import REPO
from exosieve.catalog.table import CatalogError
from exosieve.catalog.views_dataset import ViewsDataset, read_views_dataset
from exosieve.config import load

LABELS = {"positive": ["PC", "EB"], "negative": ["NTP"]}


def catalog_cfg(path, features=(), **extra):
    """The validated catalog section of a views-source config."""
    return load({"catalog": {"source": "views", "path": str(path), "labels": LABELS,
                             "views_features": list(features), **extra}})["catalog"]


def make_views(n=240, seed=0, g=61, l=21):
    """Planets dip in both views; NTPs do not; EBs dip deeper; a few unlabelled (UNK)."""
    rng = np.random.default_rng(seed)
    label = rng.choice(["PC", "NTP", "EB", "UNK"], size=n, p=[0.4, 0.4, 0.15, 0.05])
    depth = np.where(label == "NTP", 0.0, np.where(label == "EB", 1.0, 0.6))
    gv = rng.normal(0, 0.15, (n, g))
    lv = rng.normal(0, 0.15, (n, l))
    gv[:, g // 2 - 1: g // 2 + 2] -= depth[:, None]
    lv[:, l // 2 - 3: l // 2 + 4] -= depth[:, None]
    return {"global_view": gv.astype(np.float32), "local_view": lv.astype(np.float32),
            "label": label.astype("U3"), "star_id": np.array([f"{1000 + i // 2}" for i in range(n)]),
            "snr": (depth * 20 + rng.normal(0, 3, n)).astype(np.float32)}


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
           "shards": 2, "cv": {"folds": 2}, "training": {"max_epochs": 6, "patience": 3},
           "report": {"sheets": 2}}
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
