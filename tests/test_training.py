"""Training reads its views from memory or streams them from the shards: the same model either way."""

import numpy as np
import pandas as pd
import torch

from exosieve.config import load
from exosieve.shards import ShardData, provenance, write_shard
from exosieve.training import train_fold
from exosieve.views import array_shape


def _shards(cfg, tmp_path, n=240, n_shards=3, seed=0):
    """Shards with a learnable signal: planets' local views dip, the others' do not."""
    rng = np.random.default_rng(seed)
    label = (np.arange(n) % 3 == 0).astype(int)
    ids = [f"{1000 + i}_1" for i in range(n)]
    paths = []
    for k in range(n_shards):
        rows = np.arange(k, n, n_shards)
        views = {v: rng.normal(0, 0.3, (rows.size, *array_shape(v, cfg["views"]))).astype(np.float32)
                 for v in ("global", "local")}
        views["local"][:, 12:19] -= label[rows, None]
        meta = pd.DataFrame({"tce_id": [ids[i] for i in rows], "star_id": [ids[i][:-2] for i in rows],
                             "period": 5.0, "epoch": 131.0, "duration": 0.2})
        data = ShardData(meta=meta, views=views, scalars=rng.normal(size=(rows.size, len(cfg["features"])))
                         .astype(np.float32), scalar_names=list(cfg["features"]))
        paths.append(tmp_path / f"{k:03d}.h5")
        write_shard(paths[-1], data, provenance(cfg, f"{k:03d}"))
    folds = pd.DataFrame({"tce_id": ids, "star_id": [i[:-2] for i in ids], "label": label,
                          "fold": np.arange(n) % 2})
    folds.to_csv(tmp_path / "folds.csv", index=False)
    return paths, tmp_path / "folds.csv"


def test_streamed_views_train_the_same_model_as_views_in_memory(tmp_path):
    out = {}
    for mb, imbalance in ((1024, "class_weight"), (0, "class_weight"), (1024, "balanced_batches"),
                          (0, "balanced_batches")):
        cfg = load({"models": {"enabled": ["astronet"], "primary": "astronet"}, "cv": {"folds": 2},
                    "training": {"max_epochs": 3, "patience": 3, "threads": 1, "imbalance": imbalance},
                    "resources": {"views_in_memory_mb": mb}})
        paths, folds = _shards(cfg, tmp_path)
        info = train_fold(paths, folds, 0, cfg, tmp_path / f"m{mb}{imbalance}", "astronet", progress=False)
        bundle = torch.load(tmp_path / f"m{mb}{imbalance}" / "model.pt", weights_only=True)
        out[mb, imbalance] = bundle
        assert info["best_val_pr_auc"] > 0.9               # it learned the dip
    for imbalance in ("class_weight", "balanced_batches"):
        a, b = out[1024, imbalance], out[0, imbalance]
        for key in a["state_dict"]:
            torch.testing.assert_close(a["state_dict"][key], b["state_dict"][key], rtol=0, atol=0)
        assert a["calibration"] == b["calibration"]
        for name in a["medians"]:
            torch.testing.assert_close(a["medians"][name], b["medians"][name], rtol=0, atol=0)
    # The two samplers differ, so the weights do too: the comparison above can fail.
    assert not torch.equal(out[0, "class_weight"]["state_dict"]["head.0.weight"],
                           out[0, "balanced_batches"]["state_dict"]["head.0.weight"])
