"""Carrying learning across sources: training.init_from starts a fold's CNN from another run's
weights (matched by name and shape, optionally frozen at first), and training.extra_sources adds
another source's labelled rows to the training rows only, never a row of a held-out star."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from exosieve.config import load
from exosieve.model_files import load_model_file
from exosieve.training import extra_training_data, train_fold
from helpers import make_views, views_run


def test_extra_rows_join_training_but_never_a_held_out_star(tmp_path):
    own = make_views(120, seed=1)
    other = make_views(200, seed=3)
    other["star_id"] = np.array([f"{2000 + i // 2}" for i in range(200)])
    other["star_id"][:40] = own["star_id"][:40]            # 20 stars the run itself holds
    np.savez(tmp_path / "other.npz", **other)
    cfg, shards, folds_csv = views_run(tmp_path / "own", own,
                                       extra_sources=[{"path": str(tmp_path / "other.npz"),
                                                       "labels": {"positive": ["PC", "EB"], "negative": ["NTP"]}}])
    folds = pd.read_csv(folds_csv, dtype={"star_id": str})
    held_out = set(folds.star_id[folds.fold == 0]) | {"1000"}
    extra = extra_training_data(cfg, {"global": (61,), "local": (21,)}, [], held_out)
    labelled = pd.Series(other["label"]).isin(["PC", "EB", "NTP"]).to_numpy()
    expected = labelled & ~pd.Series(other["star_id"]).isin(held_out).to_numpy()
    assert len(extra) == expected.sum() and not set(extra.meta.star_id) & held_out
    assert set(extra.meta.label) == {0, 1}
    train_fold(shards, folds_csv, 0, cfg, tmp_path / "m", model="astronet", progress=False)
    contents = load_model_file(tmp_path / "m" / "model.pt")
    fold_stars = set(folds.star_id[folds.fold == 0])
    assert 0 < contents["extra_training_rows"] <= (labelled & ~pd.Series(other["star_id"]).isin(fold_stars)).sum()


def test_extra_sources_of_another_geometry_are_refused(tmp_path):
    other = make_views(40, seed=3, g=101)
    np.savez(tmp_path / "other.npz", **other)
    cfg, shards, folds_csv = views_run(tmp_path / "own", make_views(80, seed=1),
                                       extra_sources=[{"path": str(tmp_path / "other.npz"),
                                                       "labels": {"positive": ["PC", "EB"], "negative": ["NTP"]}}])
    with pytest.raises(RuntimeError, match=r"views do not match the run's: global \(101,\) \(the run's \(61,\)\)"):
        train_fold(shards, folds_csv, 0, cfg, tmp_path / "m", model="astronet", progress=False)


def test_init_from_copies_matching_towers_and_keeps_them_frozen_at_first(tmp_path):
    cfg, shards, folds_csv = views_run(tmp_path / "first", make_views(120, seed=1))
    train_fold(shards, folds_csv, 0, cfg, tmp_path / "first" / "results" / "models" / "astronet" / "fold_0",
               model="astronet", progress=False)
    source = load_model_file(tmp_path / "first" / "results" / "models" / "astronet" / "fold_0" / "model.pt")
    cfg2, shards2, folds2 = views_run(tmp_path / "second", make_views(120, seed=2),
                                      init_from=str(tmp_path / "first"), freeze_epochs=10, max_epochs=2)
    train_fold(shards2, folds2, 0, cfg2, tmp_path / "m2", model="astronet", progress=False)
    started = load_model_file(tmp_path / "m2" / "model.pt")
    assert started["started_from"] == str(tmp_path / "first")
    towers = [k for k in source["state_dict"] if k.startswith("towers.")]
    assert towers and all(torch.equal(started["state_dict"][k], source["state_dict"][k]) for k in towers)
    head = [k for k in source["state_dict"] if k.startswith("head.") and k.endswith("weight")]
    assert any(not torch.equal(started["state_dict"][k], source["state_dict"][k]) for k in head)
    # unfrozen, the towers train on
    cfg3 = load({**cfg2, "training": {**cfg2["training"], "freeze_epochs": 0}})
    train_fold(shards2, folds2, 0, cfg3, tmp_path / "m3", model="astronet", progress=False)
    moved = load_model_file(tmp_path / "m3" / "model.pt")
    assert any(not torch.equal(moved["state_dict"][k], source["state_dict"][k]) for k in towers)
