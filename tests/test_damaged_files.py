"""Every reader contains a damaged file (issue 32): whatever astropy, numpy, h5py, pandas or torch
raise on it, the error is the reader's own, names the file and says in plain words what is wrong.
The light-curve reader's case runs on real files in tests/test_fuzz.py (seed 92212)."""

from __future__ import annotations

import numpy as np
import pytest

from exosieve.catalog.kepler import read_archive_csv
from exosieve.catalog.table import CatalogError
from exosieve.catalog.views_dataset import ViewsDataset
from exosieve.config import load
from exosieve.model_files import ModelMismatchError, load_bundle, load_weights_only
from exosieve.utils import damage_reason


def test_damage_reason_says_which_part_and_what_in_plain_words():
    exc = AssertionError("Column name must be a string able to fit in a single FITS card--typically ...")
    assert damage_reason(exc, "light-curve table header") == (
        "light-curve table header damaged: a column definition is not valid FITS (AssertionError: Column name must "
        "be a string able to fit in a single FITS card--typically ...)")
    assert damage_reason(MemoryError(), "table").startswith("table damaged: a size it declares is impossibly large")
    assert "it is damaged or not in the expected format (RuntimeError: boom)" in damage_reason(RuntimeError("boom"), "x")


def _views_cfg(path):
    return load({"catalog": {"source": "views", "path": str(path), "labels": {"positive": [1], "negative": [0]}}})[
        "catalog"]


def test_a_damaged_npz_or_hdf5_views_file_is_an_error_naming_it(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {"kepid": np.arange(50), "av_training_set": np.arange(50) % 2,
              "global_view": rng.normal(size=(50, 31)), "local_view": rng.normal(size=(50, 11))}
    np.savez(tmp_path / "views.npz", **arrays)
    raw = (tmp_path / "views.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(raw[: len(raw) // 2])
    flipped = bytearray(raw)
    flipped[len(raw) // 3: len(raw) // 3 + 64] = bytes(64)
    (tmp_path / "zeroed.npz").write_bytes(bytes(flipped))
    for name in ("cut.npz", "zeroed.npz"):
        with pytest.raises(CatalogError, match=rf"views dataset .*{name} cannot be read as NPZ: file damaged: "):
            ViewsDataset(tmp_path / name, _views_cfg(tmp_path / name))
    import h5py
    with h5py.File(tmp_path / "views.h5", "w") as h5:
        for k, v in arrays.items():
            h5[k] = v
    raw = (tmp_path / "views.h5").read_bytes()
    (tmp_path / "cut.h5").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CatalogError, match=r"views dataset .*cut.h5 cannot be read as HDF5: file damaged: "):
        ViewsDataset(tmp_path / "cut.h5", _views_cfg(tmp_path / "cut.h5"))


def test_a_catalog_table_of_binary_junk_is_an_error_naming_it(tmp_path):
    path = tmp_path / "dr24.csv"
    path.write_bytes(b"kepid,tce_plnt_num\n1,1\n" + bytes(range(256)) * 8)
    with pytest.raises(CatalogError, match=r"catalog file .*dr24.csv is not a readable CSV: table damaged: "):
        read_archive_csv(path)


def test_a_damaged_model_file_or_bundle_is_an_error_naming_it(tmp_path):
    import torch
    torch.save({"kind": "exosieve-bundle", "bundle_version": 1, "models": {"trees": [{"w": torch.zeros(3)}]},
                "about": {}}, tmp_path / "good.exosieve")
    raw = (tmp_path / "good.exosieve").read_bytes()
    (tmp_path / "cut.exosieve").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ModelMismatchError, match=r"cut.exosieve: not a readable ExoSieve model file: file damaged"):
        load_weights_only(tmp_path / "cut.exosieve")
    torch.save({"kind": "exosieve-bundle", "bundle_version": 1, "models": ["not", "by", "name"], "about": {}},
               tmp_path / "odd.exosieve")
    with pytest.raises(ModelMismatchError, match=r"odd.exosieve: the bundle's contents are damaged"):
        load_bundle(tmp_path / "odd.exosieve")
