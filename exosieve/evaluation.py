"""Scoring TCEs with trained fold models (calibrated probabilities, see calibration.py), and every
classification and calibration metric ExoSieve reports.

This is the one metrics module: training's early stopping, the per-fold evaluation and the report
all call it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from .model_files import FoldModel
from .shards import ShardData, ShardSet
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


def threshold_for_precision(y, score, precision_target: float) -> float:
    """The lowest score threshold whose precision on (y, score) reaches ``precision_target``
    (keeping the most recall); 1.0 (nothing called a planet) when none does."""
    y = np.asarray(y, int)
    if y.size == 0 or y.min() == y.max():
        return float("nan")
    precision, _, thresholds = skm.precision_recall_curve(y, score)
    ok = np.flatnonzero(precision[:-1] >= precision_target)
    return float(thresholds[ok[0]]) if ok.size else 1.0


def reliability(y, prob, bins: int = 10) -> pd.DataFrame:
    """Per equal-width probability bin: TCE count, mean predicted probability and observed planet
    fraction (the reliability diagram's points)."""
    y, prob = np.asarray(y, float), np.asarray(prob, float)
    which = np.clip((prob * bins).astype(int), 0, bins - 1)
    n = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = np.bincount(which, prob, bins) / n
        frac = np.bincount(which, y, bins) / n
    return pd.DataFrame({"bin_low": np.arange(bins) / bins, "bin_high": np.arange(1, bins + 1) / bins,
                         "n": n, "mean_probability": mean_p, "planet_fraction": frac})


def expected_calibration_error(y, prob, bins: int = 10) -> float:
    """ECE: the count-weighted mean |observed planet fraction - mean probability| over equal-width
    bins. 0 for probabilities that mean what they say."""
    table = reliability(y, prob, bins)
    used = table.n > 0
    if not used.any():
        return float("nan")
    gap = np.abs(table.planet_fraction[used] - table.mean_probability[used])
    return float((gap * table.n[used]).sum() / table.n[used].sum())


def classification_metrics(y, score, threshold: float = 0.5, precision_target: float = 0.99) -> dict:
    y = np.asarray(y, int)
    score = np.asarray(score, float)
    pred = (score >= threshold).astype(int)
    both = y.size > 0 and y.min() != y.max()
    return {
        "n": int(y.size), "n_positive": int(y.sum()), "threshold": float(threshold),
        "precision": float(skm.precision_score(y, pred, zero_division=0)),
        "recall": float(skm.recall_score(y, pred, zero_division=0)),
        # What a user reads beside the recall: the share of non-planets called planets.
        "false_positive_rate": float(pred[y == 0].mean()) if (y == 0).any() else float("nan"),
        "accuracy": float(skm.accuracy_score(y, pred)) if y.size else float("nan"),
        "roc_auc": float(skm.roc_auc_score(y, score)) if both else float("nan"),
        "pr_auc": pr_auc(y, score),
        "ece": expected_calibration_error(y, score) if y.size else float("nan"),
        f"recall_at_precision_{precision_target:g}": recall_at_precision(y, score, precision_target),
    }


def star_bootstrap_roc_auc(y, scores: dict[str, np.ndarray], stars, resamples: int = 2000,
                           seed: int = 0) -> pd.DataFrame:
    """Each score's ROC-AUC on ``resamples`` draws of whole stars with replacement, one row per
    draw and the same draws for every score, so that a difference between two columns is paired.
    Stars, not TCEs, are the independent units: a star's TCEs share one light curve, and a model
    that misreads it misreads them together. Draws holding one class only are left out."""
    y = np.asarray(y, int)
    codes, _ = pd.factorize(pd.Series(np.asarray(stars)).astype(str))
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(codes.max() + 2))
    members = [order[starts[k]:starts[k + 1]] for k in range(codes.max() + 1)]
    rng = np.random.default_rng(seed)
    values = {name: np.asarray(v, float) for name, v in scores.items()}
    rows = []
    for _ in range(resamples):
        idx = np.concatenate([members[k] for k in rng.integers(0, len(members), len(members))])
        if y[idx].min() != y[idx].max():
            rows.append({name: skm.roc_auc_score(y[idx], v[idx]) for name, v in values.items()})
    return pd.DataFrame(rows, columns=list(values))


def load_fold_models(paths: list[str | Path], cfg: dict | None = None) -> list[FoldModel]:
    """The fold models in ``paths``, each checked to belong to ``cfg`` when given."""
    models = [FoldModel(p) for p in paths]
    if cfg is not None:
        for model in models:
            model.check(cfg)
    return models


def raw_scores(model: FoldModel, shards: ShardSet, rows: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """``model``'s raw scores of the given rows of ``shards``, read a chunk at a time."""
    parts = [model.raw_score(part) for _, part in shards.chunks(rows, chunk)]
    return np.concatenate(parts) if parts else np.zeros(0)


def read_as_missing(model: FoldModel, data: ShardData) -> ShardData:
    """``data`` with each row's missing view arrays (meta ``missing``, comma-separated names: views
    its light curve had no data for, a TGLC file's centroids) replaced by the model's occlusion
    value, its training median: the model reads "no information there", as an occluded branch,
    never zeros read as "no centroid motion". Trees read scalar features only, NaN where missing."""
    if "missing" not in data.meta or getattr(model, "medians", None) is None:
        return data
    missing = data.meta["missing"].fillna("").astype(str).to_numpy()
    if not any(missing):
        return data
    views = dict(data.views)
    for name in {n for text in missing for n in text.split(",") if n}:
        if name in views and name in model.medians:
            rows = np.array([name in text.split(",") for text in missing])
            views[name] = np.array(views[name], copy=True)
            views[name][rows] = model.medians[name]
    return ShardData(meta=data.meta, views=views, scalars=data.scalars, scalar_names=data.scalar_names)


def ensemble_scores(models: list[FoldModel], data: ShardData, attributions: bool = False) -> pd.DataFrame:
    """The one fold-ensemble scorer (out-of-fold scores, an external test set, ``exosieve
    predict`` and ``exosieve.score`` all call it; they differ only in how they make ``data``):
    per TCE the mean of the fold models' calibrated probabilities (``score``), their spread
    (``score_std``, 0 for one model), the mean raw score, the number of models and, with
    ``attributions``, each branch's mean occlusion attribution (``attr_<branch>``)."""
    raws, probs, attrs = [], [], {}
    for model in models:
        model.require_inputs(data)
        read = read_as_missing(model, data)
        raw = model.raw_score(read)
        prob = model.calibrate(raw)
        raws.append(raw)
        probs.append(prob)
        if attributions:
            for branch, delta in model.occlude(read, prob).items():
                attrs.setdefault(branch, []).append(delta)
    raw = np.array(raws).reshape(len(models), len(data))
    prob = np.array(probs).reshape(raw.shape)
    out = pd.DataFrame({"tce_id": data.meta["tce_id"].to_numpy(), "score": prob.mean(axis=0),
                        "score_std": prob.std(axis=0, ddof=1) if len(models) > 1 else 0.0,
                        "score_raw": raw.mean(axis=0), "n_models": len(models)})
    for branch, deltas in attrs.items():
        out[f"attr_{branch}"] = np.mean(deltas, axis=0)
    return out


def evaluate_fold(model_path, shard_paths, folds_csv, fold: int, out_csv, cfg: dict | None = None,
                  chunk: int = 4096) -> pd.DataFrame:
    """Score the fold's test TCEs and every unlabelled TCE with this fold's model, with branch
    attributions (columns ``attr_<branch>``) for the CNNs, reading ``chunk`` TCEs' views at a time.
    Labels and folds come from the folds table. With ``cfg``, the model and the shards must both
    match it."""
    model = FoldModel(model_path)
    if cfg is not None:
        model.check(cfg)
    return _score_fold([model], shard_paths, folds_csv, fold, out_csv, cfg, chunk, unlabelled=True)


def score_fold_with(models: list[FoldModel], shard_paths, folds_csv, fold: int, out_csv, cfg: dict,
                    chunk: int = 4096) -> pd.DataFrame:
    """Score the fold's test TCEs (and, in fold 0's job, the unlabelled ones) with models trained
    elsewhere (``models.from``: a bundle or another run): the mean of their calibrated
    probabilities and raw scores, and of their attributions. Each model is checked to read inputs
    made as this configuration makes them."""
    for model in models:
        model.check(cfg, same_run=False)
    return _score_fold(models, shard_paths, folds_csv, fold, out_csv, cfg, chunk, unlabelled=fold == 0)


def _score_fold(models: list[FoldModel], shard_paths, folds_csv, fold: int, out_csv, cfg, chunk: int,
                unlabelled: bool) -> pd.DataFrame:
    from .domain import DOMAIN_VIEWS, merged_domain, source_mission, unlike_training
    from .folds import labels_and_folds, read_folds
    from .shards import check_settings
    first = models[0]
    domain = merged_domain([m.domain for m in models])
    mission = source_mission(cfg) if cfg is not None else None
    with ShardSet(shard_paths) as shards:
        if cfg is not None:
            check_settings(shards.attrs, cfg, f"scoring with {first.where or first.name}")
        labels, fold_of = labels_and_folds(shards.meta.tce_id, read_folds(folds_csv))
        role = np.where(fold_of == fold, "test",
                        np.where(unlabelled & (labels < 0) & (fold_of == -1), "unlabelled", ""))
        keep = np.flatnonzero(role != "")
        names = sorted(set(first.arrays) | {n for n in DOMAIN_VIEWS if n in shards.view_names})
        parts = []
        for rows, data in shards.chunks(keep, chunk, names):
            out = ensemble_scores(models, data, attributions=True)
            out.insert(1, "fold", fold)
            out.insert(2, "role", role[rows])
            out.insert(3, "label", labels[rows])
            out.insert(8, "domain_flag", unlike_training(domain, mission, data))
            parts.append(out)
    columns = ["tce_id", "fold", "role", "label", "score", "score_std", "score_raw", "n_models", "domain_flag",
               *(f"attr_{b}" for b in first.branches)]
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    with atomic_output(out_csv, ".csv") as tmp:
        out.to_csv(tmp, index=False, float_format="%.6f")
    return out


def score_test_set(models: list[FoldModel], test_path: str, out_csv, cfg: dict) -> pd.DataFrame:
    """Score an external views dataset (read as the run's catalog settings say) with one model's
    fold ensemble; keeps its labels."""
    from .catalog.views_dataset import read_views_dataset
    data = read_views_dataset(test_path, cfg["catalog"])
    out = ensemble_scores(models, data)
    out.insert(1, "label", data.meta["label"].to_numpy())
    out.insert(2, "disposition", data.meta["disposition"].to_numpy())
    with atomic_output(out_csv, ".csv") as tmp:
        out.to_csv(tmp, index=False, float_format="%.6f")
    return out
