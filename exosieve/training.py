"""Training one cross-validation fold: the CNNs through PyTorch Lightning (``cnn_training.py``),
the boosted trees through scikit-learn.

The fold's test TCEs are never seen: a star-grouped validation split is carved from the other
folds for early stopping on PR-AUC and for calibrating the scores (``calibration.py``); scalar
features are normalised with statistics of this fold's training TCEs only, and those statistics
and the calibration are saved with the weights in ``model.pt``. Rare planets are handled as
``training.imbalance`` says: a class-weighted loss, balanced batches, or neither.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .calibration import fit_calibration
from .domain import DOMAIN_VIEWS, source_mission, training_domain
from .evaluation import evaluate_fold, pr_auc, raw_scores
from .model_files import FoldModel, write_trained_model
from .folds import labels_and_folds, read_folds, validation_mask
from .layout import RunLayout
from .model_inputs import CNN_MODELS, feature_names, model_arrays
from .models import BoostedTrees, build_trees, tree_inputs
from .shards import ShardSet, check_settings, failure_manifest, read_failure_manifests, view_shapes
from .utils import atomic_output

log = logging.getLogger(__name__)


class TrainingDataError(RuntimeError):
    """Too few TCEs reached the shards to train on; the message says where the rest went."""


def lost_tces(folds: pd.DataFrame, held_ids, shard_paths: list[str | Path]) -> str:
    """Where the catalog's labelled TCEs that no shard holds went, from the failure manifests."""
    labelled = folds[folds.label >= 0]
    lost = labelled[~labelled.tce_id.isin(held_ids)]
    if lost.empty:
        return f"all {len(labelled)} labelled TCEs of the catalog reached the shards"
    failures = read_failure_manifests(shard_paths)
    failures = failures[failures.tce_id.isin(lost.tce_id)].drop_duplicates("tce_id")
    stages = ", ".join(f"{stage}: {n}" for stage, n in failures.stage.value_counts().items()) or "no record"
    first = f"; first: {failures.error.iloc[0]}" if len(failures) else ""
    where = failure_manifest(shard_paths[0]).parent if shard_paths else "the shards' folder"
    return (f"{len(lost)} of the catalog's {len(labelled)} labelled TCEs could not be preprocessed ({stages}{first}). "
            f"They are listed in {where}/*.failures.csv: fix what those rows name (light-curve files, "
            "catalog values) and rerun")


def fold_rows(shards: ShardSet, labels: np.ndarray, fold_of: np.ndarray, folds: pd.DataFrame, fold: int,
              cfg: dict, shard_paths=()) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) rows of ``shards`` for ``fold``; the test fold is left out entirely.
    Raises TrainingDataError, saying why, when too few labelled TCEs reached the shards."""
    pool = np.flatnonzero((fold_of != fold) & (fold_of >= 0) & (labels >= 0))
    n_pos = int((labels[pool] == 1).sum())
    if n_pos == 0 or n_pos == pool.size:
        found = "no labelled TCE" if pool.size == 0 else f"only {'positive' if n_pos else 'negative'} TCEs"
        raise TrainingDataError(f"fold {fold}: nothing to train on: the shards hold {found} outside this fold. "
                                + lost_tces(folds, shards.meta.tce_id, list(shard_paths)))
    val = validation_mask(labels[pool], shards.meta["star_id"].to_numpy()[pool],
                          cfg["cv"]["validation_fraction"], cfg["cv"]["seed"] + fold)
    if np.unique(labels[pool[~val]]).size < 2 or np.unique(labels[pool[val]]).size < 2:
        # A handful of named stars cannot spare any for validation without losing a class.
        log.warning("fold %d: too few stars for a separate validation split (%d labelled TCEs); early "
                    "stopping watches the training TCEs instead", fold, pool.size)
        return pool, pool
    return pool[~val], pool[val]


def extra_training_data(cfg: dict, arrays: dict[str, tuple], names: list[str], held_out_stars: set[str]):
    """The labelled rows of ``training.extra_sources`` (views datasets, or other runs' folders) that
    may join this fold's training: none of a star in ``held_out_stars`` (this fold's test and
    validation stars). Returns ShardData with ``meta.label``, views ``arrays`` and scalars in
    ``names``' order (NaN where a source lacks one), or None without extra sources."""
    from .shards import ShardData
    parts = []
    for extra in cfg["training"]["extra_sources"]:
        data = _read_extra_source(extra, cfg, arrays)
        wrong = [f"{a} {tuple(data.views[a].shape[1:])} (the run's {tuple(shape)})" for a, shape in arrays.items()
                 if a not in data.views or tuple(data.views[a].shape[1:]) != tuple(shape)]
        if wrong:
            raise TrainingDataError(f"training.extra_sources {extra['path']}: its views do not match the run's: "
                                    f"{', '.join(wrong)}; give a source of the same views geometry")
        keep = np.flatnonzero((data.meta["label"].to_numpy() >= 0) & ~data.meta["star_id"].isin(held_out_stars).to_numpy())
        data = data.subset(keep)
        cols = [data.scalar_names.index(n) if n in data.scalar_names else -1 for n in names]
        scalars = np.column_stack([data.scalars[:, c] if c >= 0 else np.full(len(data), np.nan, np.float32)
                                   for c in cols]) if names else np.zeros((len(data), 0), np.float32)
        parts.append(ShardData(meta=data.meta[["tce_id", "star_id", "label"]], scalars=scalars.astype(np.float32),
                               views={a: np.asarray(data.views[a], np.float32) for a in arrays}, scalar_names=names))
        log.info("extra source %s: %d labelled TCEs (%d positive) join the training rows", extra["path"], len(data),
                 int((data.meta.label == 1).sum()))
    return ShardData.concat(parts) if parts else None


def _read_extra_source(extra: dict, cfg: dict, arrays: dict):
    """An extra source's rows with labels: a views dataset read with its own keys and labels, or
    another run's shards labelled by its folds table."""
    from .folds import labels_and_folds, read_folds
    from .shards import read_shard_list, read_shards
    path = Path(extra["path"]).expanduser()
    for results in (path / "results", path):          # a run's folder, or its results folder
        layout = RunLayout(results)
        shard_list = Path(layout.shard_list())
        if shard_list.exists():                        # its entries are relative to the run's folder
            paths = [p if Path(p).is_absolute() else str(results.parent / p) for p in read_shard_list(shard_list)]
            data = read_shards(paths, list(arrays))
            data.meta["label"], _ = labels_and_folds(data.meta.tce_id, read_folds(layout.folds()))
            return data
    from .catalog.views_dataset import read_views_dataset
    from .config import load
    base = load({"catalog": {"source": "views", "path": str(path)}}, check_paths=False)["catalog"]
    cat = {**base, **{k: v for k, v in extra.items() if k != "path"}, "path": str(path),
           "labels": {**base["labels"], **extra.get("labels", {})},
           "views_keys": {**base["views_keys"], **extra.get("views_keys", {})}}
    return read_views_dataset(path, cat)


def model_inputs_of(shard_paths: list[str], cfg: dict, model: str) -> tuple[dict[str, tuple], list[str]]:
    """(view arrays with their per-TCE shapes, scalar feature names) that ``model`` reads from these shards."""
    with ShardSet(shard_paths, []) as index:
        names = feature_names(cfg, index.scalar_names)
    return model_arrays(model, view_shapes(shard_paths[0]), cfg, len(names)), names


def _reset(out_dir: Path) -> None:
    """A rerun starts clean instead of mixing with an interrupted run's files."""
    if (out_dir / "checkpoints").exists():
        shutil.rmtree(out_dir / "checkpoints")
    for stale in ("metrics.csv", "hparams.yaml"):
        if (out_dir / stale).exists():
            os.remove(out_dir / stale)


def train_fold(shard_paths: list[str], folds_csv: str, fold: int, cfg: dict, out_dir: str | Path,
               model: str = "exominer", progress: bool = True, scores_csv: str | Path | None = None) -> dict:
    """Train ``model`` on fold ``fold``; writes model.pt and metrics.csv (per epoch; one row for
    trees) in ``out_dir``, plus checkpoints/best.ckpt for the CNNs. Labels come from the folds
    table; views are streamed from the shards (shards.ShardSet) unless they fit in memory.

    With ``scores_csv``, the saved model file then scores the fold's test TCEs and the unlabelled
    ones into it (evaluation.evaluate_fold), in the same job: a job of its own would spend more
    on starting Python and importing torch than on scoring.

    ``cfg`` is the configuration the fold trains under: a fold trained with its tuning study's
    best settings (``models.<name>.from_tuning``) gets them from its caller (tuning.tuned_config)."""
    info = _train_fold(shard_paths, folds_csv, fold, cfg, Path(out_dir), model, progress)
    if scores_csv is not None:
        evaluate_fold(Path(out_dir) / "model.pt", shard_paths, folds_csv, fold, scores_csv, cfg)
    return info


def _train_fold(shard_paths: list[str], folds_csv: str, fold: int, cfg: dict, out_dir: Path, model: str,
                progress: bool) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    _reset(out_dir)
    t = cfg["training"]
    torch.set_num_threads(t["threads"])
    arrays, names = model_inputs_of(shard_paths, cfg, model)
    with ShardSet(shard_paths, list(arrays)) as shards:
        check_settings(shards.attrs, cfg, f"training {model} fold {fold}")
        folds = read_folds(folds_csv)
        labels, fold_of = labels_and_folds(shards.meta.tce_id, folds)
        train, val = fold_rows(shards, labels, fold_of, folds, fold, cfg, shard_paths)
        calibrated_on = "training" if val is train else "validation"
        cols = [shards.scalar_names.index(n) for n in names]
        if model not in CNN_MODELS:
            return _train_trees(shards, labels, train, val, cols, names, arrays, fold, cfg, out_dir, calibrated_on)
        from .cnn_training import train_cnn     # Lightning costs seconds to import: only CNN jobs pay
        extra = None
        if cfg["training"]["extra_sources"]:
            stars = shards.meta["star_id"].to_numpy()
            held_out = set(stars[fold_of == fold]) | set(stars[val])
            extra = extra_training_data(cfg, arrays, names, held_out)
        bundle, info = train_cnn(model, shards, labels, train, val, arrays, names, cols, fold, cfg, out_dir,
                                 progress, extra=extra)
        domain = fold_domain(shards, train, cfg)
        raw_val = raw_scores(FoldModel(bundle=bundle), shards, val)
    calibration = _calibrate(raw_val, labels[val], calibrated_on, model, fold)
    write_trained_model(out_dir / "model.pt", bundle, cfg, domain, calibration)
    return {"model": model, "fold": fold, **info, "calibration": calibration}


def fold_domain(shards: ShardSet, train: np.ndarray, cfg: dict) -> dict:
    """The training TCEs' domain (domain.training_domain): the mission where the catalog source
    says it, their measured features and their flux views (read here whatever views the model
    itself reads)."""
    with ShardSet(shards.paths) as every:
        views = every.views_of(train, [n for n in DOMAIN_VIEWS if n in every.view_names])
    return training_domain(shards.scalars[train], shards.scalar_names, views, source_mission(cfg))


def _calibrate(raw_val: np.ndarray, y_val: np.ndarray, fitted_on: str, model: str, fold: int) -> dict:
    """Beta calibration fitted on the validation TCEs' raw scores (see calibration.py)."""
    if fitted_on == "training":
        log.warning("%s fold %d: calibrated on its training TCEs (no validation split could be spared): its "
                    "probabilities will be overconfident", model, fold)
    cal = fit_calibration(raw_val, y_val, fitted_on)
    log.info("%s fold %d: beta calibration a=%.3f b=%.3f c=%.3f on %d %s TCEs (%d PC)", model, fold, cal.a, cal.b,
             cal.c, cal.n, fitted_on, cal.n_positive)
    return cal.to_dict()


def _train_trees(shards: ShardSet, labels: np.ndarray, train: np.ndarray, val: np.ndarray, cols, names, arrays,
                 fold, cfg, out_dir: Path, calibrated_on: str) -> dict:
    """Gradient-boosted trees on the raw scalar features (trees need no scaling; NaN is native),
    or on the flattened views beside them (models.trees.inputs)."""
    scalars = shards.scalars
    # A feature with no value in training (no stellar table, no centroids) teaches trees nothing.
    known = np.isfinite(scalars[train][:, cols]).any(axis=0) if cols else np.zeros(0, bool)
    cols, names = [c for c, k in zip(cols, known) if k], [n for n, k in zip(names, known) if k]

    def inputs(rows):
        return tree_inputs(scalars[rows][:, cols], shards.views_of(rows, list(arrays)) if arrays else {}, arrays)

    clf = build_trees(cfg["models"]["trees"], cfg["training"]["seed"] + fold, cfg["training"]["imbalance"])
    clf.fit(inputs(train), labels[train])
    raw_val = clf.predict_proba(inputs(val))[:, 1]
    val_score = pr_auc(labels[val], raw_val)
    log.info("trees fold %d: %d train TCEs, %d features%s, validation PR-AUC %.3f", fold, train.size,
             len(cols), f" beside the flattened {' and '.join(arrays)} views" if arrays else "", val_score)
    with atomic_output(out_dir / "metrics.csv", ".csv") as tmp:
        pd.DataFrame([{"epoch": clf.n_iter_ - 1, "val_pr_auc": val_score}]).to_csv(tmp, index=False)
    # The trees as arrays (models.BoostedTrees), never a pickled estimator.
    trained = {"kind": "trees", "model": "trees", "trees": BoostedTrees.from_estimator(clf).to_tensors(),
               "features": names, "arrays": {n: tuple(int(d) for d in shape) for n, shape in arrays.items()},
               "fold": fold, "best_val_pr_auc": float(val_score), "imbalance": cfg["training"]["imbalance"]}
    write_trained_model(out_dir / "model.pt", trained, cfg, fold_domain(shards, train, cfg),
                        _calibrate(raw_val, labels[val], calibrated_on, "trees", fold))
    return {"model": "trees", "fold": fold, "best_val_pr_auc": val_score, "iterations": int(clf.n_iter_)}
