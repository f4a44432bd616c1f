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


def model_inputs(data: ShardData, arrays: list[str], scaler: ScalarScaler):
    """Arrays a CNN takes: its view arrays, and the scalars in the scaler's order, scaled."""
    cols = [data.scalar_names.index(n) for n in scaler.names]
    raw = data.scalars[:, cols] if cols else np.zeros((len(data), 0), np.float32)
    return {v: np.asarray(data.views[v], np.float32) for v in arrays}, scaler.transform(raw)


class FoldModel:
    """One fold's trained model, CNN or trees, behind one interface: ``score`` and ``occlude``."""

    def __init__(self, path: str | Path):
        import torch
        self.path = Path(path)
        bundle = torch.load(path, map_location="cpu", weights_only=False)
        self.bundle, self.kind, self.name = bundle, bundle["kind"], bundle["model"]
        self.arrays = list(bundle["arrays"])
        if self.kind == "cnn":
            from .models import build_cnn
            self.scaler = ScalarScaler.from_dict(bundle["scaler"])
            self.net = build_cnn(self.name, bundle["arrays"], len(self.scaler.names), bundle["model_cfg"])
            self.net.load_state_dict(bundle["state_dict"])
            self.net.eval()

    @property
    def branches(self) -> list[str]:
        """Names of the input groups that occlusion can replace."""
        if self.kind != "cnn":
            return []
        names = [b.name for b in self.net.branch_specs]
        return names + (["scalars"] if self.net.scalar_branch is not None else [])

    def _cnn_scores(self, views: dict, scalars: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        import torch
        out = []
        with torch.no_grad():
            for start in range(0, scalars.shape[0], batch_size):
                sl = slice(start, start + batch_size)
                logits = self.net({v: torch.from_numpy(np.ascontiguousarray(views[v][sl])) for v in views},
                                  torch.from_numpy(scalars[sl]))
                out.append(torch.sigmoid(logits.float()).numpy())
        return np.concatenate(out) if out else np.zeros(0)

    def score(self, data: ShardData) -> np.ndarray:
        """Planet scores in [0, 1] for every TCE in ``data``."""
        if self.kind == "trees":
            cols = [data.scalar_names.index(n) for n in self.bundle["features"]]
            if not len(data):
                return np.zeros(0)
            return self.bundle["estimator"].predict_proba(data.scalars[:, cols])[:, 1]
        views, scalars = model_inputs(data, self.arrays, self.scaler)
        return self._cnn_scores(views, scalars)

    def occlude(self, data: ShardData, scores: np.ndarray) -> dict[str, np.ndarray]:
        """Branch attributions by occlusion: the score minus the score with that branch's input
        replaced by its training median (scalars: by the training median, 0 after scaling).
        Positive means the branch pushed the TCE towards "planet"."""
        if self.kind != "cnn":
            return {}
        views, scalars = model_inputs(data, self.arrays, self.scaler)
        out = {}
        for br in self.net.branch_specs:
            occluded = dict(views)
            for tower in br.towers:
                for name in tower:
                    occluded[name] = np.broadcast_to(self.bundle["medians"][name], views[name].shape)
            out[br.name] = scores - self._cnn_scores(occluded, scalars)
        if self.net.scalar_branch is not None:
            out["scalars"] = scores - self._cnn_scores(views, np.zeros_like(scalars))
        return out


def ensemble_scores(model_paths: list[str | Path], data: ShardData) -> pd.DataFrame:
    """Mean and spread of every fold model's score, for data no fold trained on."""
    scores = np.array([FoldModel(p).score(data) for p in model_paths]).reshape(len(model_paths), len(data))
    return pd.DataFrame({"tce_id": data.meta["tce_id"].to_numpy(), "score": scores.mean(axis=0),
                         "score_std": scores.std(axis=0, ddof=1) if len(model_paths) > 1 else 0.0,
                         "n_models": len(model_paths)})


def evaluate_fold(model_path, shard_paths, folds_csv, fold: int, out_csv) -> pd.DataFrame:
    """Score the fold's test TCEs and every unlabelled TCE with this fold's model, with branch
    attributions (columns ``attr_<branch>``) for the CNNs."""
    model = FoldModel(model_path)
    data = read_shards(shard_paths, model.arrays)
    folds = pd.read_csv(folds_csv, dtype={"tce_id": str, "star_id": str})
    fold_of = data.meta[["tce_id"]].merge(folds[["tce_id", "fold"]], on="tce_id", how="left")["fold"]
    fold_of = fold_of.fillna(-2).astype(int).to_numpy()
    role = np.where(fold_of == fold, "test", np.where(data.meta["label"].to_numpy() < 0, "unlabelled", ""))
    keep = np.flatnonzero(role != "")
    subset = data.subset(keep)
    scores = model.score(subset)
    out = pd.DataFrame({"tce_id": subset.meta["tce_id"], "fold": fold, "role": role[keep],
                        "label": subset.meta["label"], "score": scores})
    for branch, delta in model.occlude(subset, scores).items():
        out[f"attr_{branch}"] = delta
    with atomic_output(out_csv, ".csv") as tmp:
        out.to_csv(tmp, index=False, float_format="%.6f")
    return out


def score_test_set(model_paths: list[str], test_path: str, labels: dict, out_csv) -> pd.DataFrame:
    """Score an external views dataset with one model's fold ensemble; keeps its labels."""
    from .catalog.views_dataset import read_views_dataset
    data = read_views_dataset(test_path, labels)
    out = ensemble_scores(model_paths, data)
    out.insert(1, "label", data.meta["label"].to_numpy())
    out.insert(2, "disposition", data.meta["disposition"].to_numpy())
    with atomic_output(out_csv, ".csv") as tmp:
        out.to_csv(tmp, index=False, float_format="%.6f")
    return out
