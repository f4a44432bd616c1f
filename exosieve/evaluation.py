"""Scoring TCEs with trained fold models, and every classification metric ExoSieve reports.

This is the one metrics module: training's early stopping, the per-fold evaluation and the report
all call it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from .features import ScalarScaler
from .shards import ShardData, read_shards
from .utils import atomic_output


def pr_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the precision-recall curve (average precision); NaN without both classes."""
    y = np.asarray(y)
    if y.size == 0 or y.min() == y.max():
        return float("nan")
    return float(skm.average_precision_score(y, score))


def recall_at_precision(y, score, precision_target: float) -> float:
    """Highest recall at any threshold whose precision is at least ``precision_target``."""
    if len(y) == 0 or np.min(y) == np.max(y):
        return float("nan")
    precision, recall, _ = skm.precision_recall_curve(y, score)
    ok = precision >= precision_target
    return float(recall[ok].max()) if ok.any() else 0.0


def classification_metrics(y, score, threshold: float = 0.5, precision_target: float = 0.99) -> dict:
    y = np.asarray(y, int)
    score = np.asarray(score, float)
    pred = (score >= threshold).astype(int)
    both = y.size > 0 and y.min() != y.max()
    return {
        "n": int(y.size), "n_positive": int(y.sum()),
        "precision": float(skm.precision_score(y, pred, zero_division=0)),
        "recall": float(skm.recall_score(y, pred, zero_division=0)),
        "accuracy": float(skm.accuracy_score(y, pred)) if y.size else float("nan"),
        "roc_auc": float(skm.roc_auc_score(y, score)) if both else float("nan"),
        "pr_auc": pr_auc(y, score),
        f"recall_at_precision_{precision_target:g}": recall_at_precision(y, score, precision_target),
    }


def model_inputs(data: ShardData, views: list[str], scaler: ScalarScaler):
    """Arrays the network takes: views in the model's order, scalars in the scaler's order."""
    cols = [data.scalar_names.index(n) for n in scaler.names]
    raw = data.scalars[:, cols] if cols else np.zeros((len(data), 0), np.float32)
    return {v: np.asarray(data.views[v], np.float32) for v in views}, scaler.transform(raw)


def load_model(path: str | Path):
    """(network in eval mode, bundle) from a ``model.pt`` written by training."""
    import torch
    from .models import build_model
    bundle = torch.load(path, map_location="cpu", weights_only=False)
    net = build_model(bundle["views"], len(bundle["scaler"]["names"]), bundle["model_cfg"])
    net.load_state_dict(bundle["state_dict"])
    net.eval()
    return net, bundle


def predict(net, bundle, data: ShardData, batch_size: int = 1024) -> np.ndarray:
    """Planet scores in [0, 1] for every TCE in ``data``."""
    import torch
    views, scalars = model_inputs(data, bundle["views"], ScalarScaler.from_dict(bundle["scaler"]))
    out = []
    with torch.no_grad():
        for start in range(0, len(data), batch_size):
            sl = slice(start, start + batch_size)
            logits = net({v: torch.from_numpy(views[v][sl]) for v in views}, torch.from_numpy(scalars[sl]))
            out.append(torch.sigmoid(logits.float()).numpy())
    return np.concatenate(out) if out else np.zeros(0)


def evaluate_fold(model_path, shard_paths, folds_csv, fold: int, out_csv) -> pd.DataFrame:
    """Score the fold's test TCEs and every unlabelled TCE with this fold's model."""
    net, bundle = load_model(model_path)
    data = read_shards(shard_paths, bundle["views"])
    folds = pd.read_csv(folds_csv, dtype={"tce_id": str, "star_id": str})
    fold_of = data.meta[["tce_id"]].merge(folds[["tce_id", "fold"]], on="tce_id", how="left")["fold"]
    fold_of = fold_of.fillna(-2).astype(int).to_numpy()
    role = np.where(fold_of == fold, "test", np.where(data.meta["label"].to_numpy() < 0, "unlabelled", ""))
    keep = np.flatnonzero(role != "")
    subset = data.subset(keep)
    scores = predict(net, bundle, subset)
    out = pd.DataFrame({"tce_id": subset.meta["tce_id"], "fold": fold, "role": role[keep],
                        "label": subset.meta["label"], "score": scores})
    with atomic_output(out_csv, ".csv") as tmp:
        out.to_csv(tmp, index=False, float_format="%.6f")
    return out
