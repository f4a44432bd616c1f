"""Training one cross-validation fold with PyTorch Lightning.

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

import lightning as L
import numpy as np
import pandas as pd
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler

from .calibration import fit_platt
from .evaluation import MODEL_FORMAT, FoldModel, model_inputs, model_settings, pr_auc
from .features import ScalarScaler
from .folds import validation_mask
from .models import CNN_MODELS, BoostedTrees, build_cnn, build_trees, model_branches
from .views import required_arrays
from .shards import ShardData, check_settings, failure_manifest, read_failure_manifests, read_shards, view_shapes
from .utils import atomic_output

log = logging.getLogger(__name__)


class ViewDataset(Dataset):
    def __init__(self, views: dict[str, np.ndarray], scalars: np.ndarray, labels: np.ndarray):
        self.views = {k: torch.from_numpy(v) for k, v in views.items()}
        self.scalars = torch.from_numpy(scalars)
        self.labels = torch.from_numpy(labels.astype(np.float32))

    def __len__(self) -> int:
        return self.labels.shape[0]

    def __getitem__(self, i):
        return {k: v[i] for k, v in self.views.items()}, self.scalars[i], self.labels[i]


class VettingModule(L.LightningModule):
    def __init__(self, model: str, arrays: dict, n_scalars: int, model_cfg: dict, train_cfg: dict,
                 pos_weight: float):
        super().__init__()
        self.save_hyperparameters()
        self.net = build_cnn(model, arrays, n_scalars, model_cfg)
        self.loss = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pos_weight))
        self._val_scores: list[torch.Tensor] = []
        self._val_labels: list[torch.Tensor] = []

    def forward(self, views, scalars):
        return self.net(views, scalars)

    def training_step(self, batch, _):
        views, scalars, y = batch
        loss = self.loss(self(views, scalars).float(), y)
        self.log("train_loss", loss, on_step=False, on_epoch=True, batch_size=y.shape[0])
        return loss

    def validation_step(self, batch, _):
        views, scalars, y = batch
        logits = self(views, scalars).float()
        self.log("val_loss", self.loss(logits, y), on_step=False, on_epoch=True, batch_size=y.shape[0])
        self._val_scores.append(torch.sigmoid(logits).detach().cpu())
        self._val_labels.append(y.detach().cpu())

    def on_validation_epoch_end(self):
        scores = torch.cat(self._val_scores).numpy()
        labels = torch.cat(self._val_labels).numpy()
        self._val_scores.clear()
        self._val_labels.clear()
        value = pr_auc(labels, scores)
        self.log("val_pr_auc", 0.0 if np.isnan(value) else value, prog_bar=True)

    def configure_optimizers(self):
        t = self.hparams.train_cfg
        return torch.optim.AdamW(self.parameters(), lr=t["learning_rate"], weight_decay=t["weight_decay"])


def choose_accelerator(setting: str) -> tuple[str, str]:
    """(accelerator, precision): GPU with mixed precision when present (or asked), else CPU."""
    has_gpu = torch.cuda.is_available()
    if setting == "gpu" and not has_gpu:
        raise RuntimeError("training.accelerator is 'gpu' but PyTorch sees no CUDA device; "
                           "set training.accelerator: auto or cpu")
    if setting == "cpu" or not has_gpu:
        return "cpu", "32-true"
    return "gpu", "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"


def make_trainer(t: dict, accelerator: str, precision: str, callbacks: list, logger, progress: bool,
                 root_dir: str | Path) -> L.Trainer:
    """The Trainer every CNN trains under (benchmarks/training_throughput.py times this one):
    deterministic algorithms on, so the models hold only ops with a deterministic CUDA backward
    (tests/test_models.py); Lightning sets CUBLAS_WORKSPACE_CONFIG for cuBLAS itself."""
    return L.Trainer(max_epochs=t["max_epochs"], accelerator=accelerator, devices=1, precision=precision,
                     callbacks=callbacks, logger=logger, default_root_dir=root_dir, deterministic=True,
                     enable_progress_bar=progress,
                     enable_model_summary=False, num_sanity_val_steps=0, log_every_n_steps=1)


class TrainingDataError(RuntimeError):
    """Too few TCEs reached the shards to train on; the message says where the rest went."""


def lost_tces(folds: pd.DataFrame, data: ShardData, shard_paths: list[str | Path]) -> str:
    """Where the catalog's labelled TCEs that no shard holds went, from the failure manifests."""
    labelled = folds[folds.label >= 0]
    lost = labelled[~labelled.tce_id.isin(data.meta.tce_id)]
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


def fold_datasets(data: ShardData, folds: pd.DataFrame, fold: int, cfg: dict, shard_paths=()):
    """Split into (train, validation) ShardData for ``fold``; the test fold is left out entirely.
    Raises TrainingDataError, saying why, when too few labelled TCEs reached the shards."""
    merged = data.meta[["tce_id"]].merge(folds[["tce_id", "fold"]], on="tce_id", how="left")
    fold_of = merged["fold"].fillna(-2).astype(int).to_numpy()
    labels = data.meta["label"].to_numpy()
    pool = np.flatnonzero((fold_of != fold) & (fold_of >= 0) & (labels >= 0))
    n_pos = int((labels[pool] == 1).sum())
    if n_pos == 0 or n_pos == pool.size:
        found = "no labelled TCE" if pool.size == 0 else f"only {'positive' if n_pos else 'negative'} TCEs"
        raise TrainingDataError(f"fold {fold}: nothing to train on: the shards hold {found} outside this fold. "
                                + lost_tces(folds, data, list(shard_paths)))
    val = validation_mask(labels[pool], data.meta["star_id"].to_numpy()[pool],
                          cfg["cv"]["validation_fraction"], cfg["cv"]["seed"] + fold)
    if np.unique(labels[pool[~val]]).size < 2 or np.unique(labels[pool[val]]).size < 2:
        # A handful of named stars cannot spare any for validation without losing a class.
        log.warning("fold %d: too few stars for a separate validation split (%d labelled TCEs); early "
                    "stopping watches the training TCEs instead", fold, pool.size)
        everything = data.subset(pool)
        return everything, everything
    return data.subset(pool[~val]), data.subset(pool[val])


def feature_names(cfg: dict, available: list[str]) -> list[str]:
    """Scalar features a model uses: the configured ones the shards hold (a ``views`` dataset
    brings its own columns, all used)."""
    if cfg["catalog"]["source"] == "views":
        return list(available)
    return [n for n in cfg["features"] if n in available]


def model_arrays(model: str, available: dict[str, tuple]) -> dict[str, tuple]:
    """The view arrays (name -> per-TCE shape) that ``model`` reads."""
    if model not in CNN_MODELS:
        return {}
    missing = [a for a in required_arrays(model) if a not in available]
    if missing:
        raise RuntimeError(f"model {model} needs view array(s) {', '.join(missing)}, which the shards "
                           f"do not hold (they hold {', '.join(available) or 'none'}); enable them in "
                           "views.enabled or drop the model from models.enabled")
    used = {n for br in model_branches(model, list(available)) for tower in br.towers for n in tower}
    return {n: shape for n, shape in available.items() if n in used}


def _reset(out_dir: Path) -> None:
    """A rerun starts clean instead of mixing with an interrupted run's files."""
    if (out_dir / "checkpoints").exists():
        shutil.rmtree(out_dir / "checkpoints")
    for stale in ("metrics.csv", "hparams.yaml"):
        if (out_dir / stale).exists():
            os.remove(out_dir / stale)


def train_fold(shard_paths: list[str], folds_csv: str, fold: int, cfg: dict, out_dir: str | Path,
               model: str = "exominer", progress: bool = True) -> dict:
    """Train ``model`` on fold ``fold``; writes model.pt and metrics.csv (per epoch; one row for
    trees) in ``out_dir``, plus checkpoints/best.ckpt for the CNNs."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _reset(out_dir)
    t = cfg["training"]
    torch.set_num_threads(t["threads"])
    L.seed_everything(t["seed"] + fold, workers=True, verbose=False)
    arrays = model_arrays(model, view_shapes(shard_paths[0]))
    data = read_shards(shard_paths, list(arrays))
    check_settings(data.attrs, cfg, f"training {model} fold {fold}")
    folds = pd.read_csv(folds_csv, dtype={"tce_id": str, "star_id": str})
    train, val = fold_datasets(data, folds, fold, cfg, shard_paths)
    calibrated_on = "training" if val is train else "validation"
    names = feature_names(cfg, data.scalar_names)
    cols = [data.scalar_names.index(n) for n in names]
    y_train = train.meta["label"].to_numpy()
    n_pos, n_neg = int(y_train.sum()), int((y_train == 0).sum())
    if model not in CNN_MODELS:
        return _train_trees(train, val, cols, names, fold, cfg, out_dir, calibrated_on)
    scaler = ScalarScaler(names).fit(train.scalars[:, cols])
    loaders = []
    for part, is_train in ((train, True), (val, False)):
        v, s = model_inputs(part, list(arrays), scaler)
        gen = torch.Generator().manual_seed(t["seed"] + fold)
        y = part.meta["label"].to_numpy()
        sampler = None
        if is_train and t["imbalance"] == "balanced_batches":
            # Each class drawn with probability 1/2 (with replacement), one epoch = len(train) draws.
            weights = np.where(y == 1, 0.5 / n_pos, 0.5 / n_neg)
            sampler = WeightedRandomSampler(torch.from_numpy(weights), num_samples=len(y), replacement=True,
                                            generator=gen)
        loaders.append(DataLoader(ViewDataset(v, s, y), batch_size=t["batch_size"],
                                  shuffle=is_train and sampler is None, sampler=sampler, generator=gen,
                                  num_workers=0))
    accelerator, precision = choose_accelerator(t["accelerator"])
    log.info("%s fold %d: %d train (%d PC), %d validation TCEs; arrays %s; %s, precision %s", model, fold,
             len(train), n_pos, len(val), ", ".join(arrays), accelerator, precision)
    pos_weight = n_neg / n_pos if t["imbalance"] == "class_weight" else 1.0
    module = VettingModule(model, arrays, len(names), cfg["models"][model], t, pos_weight=pos_weight)
    checkpoint = ModelCheckpoint(dirpath=out_dir / "checkpoints", filename="best", monitor="val_pr_auc",
                                 mode="max")
    trainer = make_trainer(t, accelerator, precision,
                           [EarlyStopping(monitor="val_pr_auc", mode="max", patience=t["patience"]), checkpoint],
                           CSVLogger(out_dir, name="", version=""), progress, out_dir)
    trainer.fit(module, loaders[0], loaders[1])
    best = VettingModule.load_from_checkpoint(checkpoint.best_model_path, map_location="cpu")
    # Occlusion replaces a branch's input with the training median of each of its arrays.
    # Tensors and plain values only: the file loads weights-only (evaluation.load_model_file).
    medians = {n: torch.from_numpy(np.median(train.views[n], axis=0).astype(np.float32)) for n in arrays}
    bundle = {"format": MODEL_FORMAT, "kind": "cnn", "model": model, "state_dict": best.net.state_dict(),
              "arrays": {n: tuple(int(d) for d in shape) for n, shape in arrays.items()},
              "scaler": scaler.to_dict(), "model_cfg": cfg["models"][model], "medians": medians,
              "fold": fold, "best_val_pr_auc": float(checkpoint.best_model_score),
              "epochs": int(trainer.current_epoch), "accelerator": accelerator, "precision": precision,
              "imbalance": t["imbalance"], "settings": model_settings(cfg)}
    bundle["calibration"] = _calibrate(FoldModel(bundle=bundle).raw_score(val), val, calibrated_on, model, fold)
    with atomic_output(out_dir / "model.pt", ".pt") as tmp:
        torch.save(bundle, tmp)
    return {"model": model, "fold": fold, "best_val_pr_auc": bundle["best_val_pr_auc"],
            "epochs": trainer.current_epoch, "calibration": bundle["calibration"]}


def _calibrate(raw_val: np.ndarray, val: ShardData, fitted_on: str, model: str, fold: int) -> dict:
    """Platt scaling fitted on the validation TCEs' raw scores (see calibration.py)."""
    if fitted_on == "training":
        log.warning("%s fold %d: calibrated on its training TCEs (no validation split could be spared): its "
                    "probabilities will be overconfident", model, fold)
    cal = fit_platt(raw_val, val.meta["label"].to_numpy(), fitted_on)
    log.info("%s fold %d: Platt calibration a=%.3f b=%.3f on %d %s TCEs (%d PC)", model, fold, cal.a, cal.b,
             cal.n, fitted_on, cal.n_positive)
    return cal.to_dict()


def _train_trees(train: ShardData, val: ShardData, cols, names, fold, cfg, out_dir: Path,
                 calibrated_on: str) -> dict:
    """Gradient-boosted trees on the raw scalar features (trees need no scaling; NaN is native)."""
    # A feature with no value in training (no stellar table, no centroids) teaches trees nothing.
    known = np.isfinite(train.scalars[:, cols]).any(axis=0)
    cols, names = [c for c, k in zip(cols, known) if k], [n for n, k in zip(names, known) if k]
    clf = build_trees(cfg["models"]["trees"], cfg["training"]["seed"] + fold, cfg["training"]["imbalance"])
    clf.fit(train.scalars[:, cols], train.meta["label"].to_numpy())
    raw_val = clf.predict_proba(val.scalars[:, cols])[:, 1]
    val_score = pr_auc(val.meta["label"].to_numpy(), raw_val)
    log.info("trees fold %d: %d train TCEs, %d features, validation PR-AUC %.3f", fold, len(train),
             len(cols), val_score)
    with atomic_output(out_dir / "metrics.csv", ".csv") as tmp:
        pd.DataFrame([{"epoch": clf.n_iter_ - 1, "val_pr_auc": val_score}]).to_csv(tmp, index=False)
    # The trees as arrays (models.BoostedTrees), never a pickled estimator.
    bundle = {"format": MODEL_FORMAT, "kind": "trees", "model": "trees",
              "trees": BoostedTrees.from_estimator(clf).to_tensors(), "features": names, "arrays": {},
              "fold": fold, "best_val_pr_auc": float(val_score), "imbalance": cfg["training"]["imbalance"],
              "calibration": _calibrate(raw_val, val, calibrated_on, "trees", fold), "settings": model_settings(cfg)}
    with atomic_output(out_dir / "model.pt", ".pt") as tmp:
        torch.save(bundle, tmp)
    return {"model": "trees", "fold": fold, "best_val_pr_auc": val_score, "iterations": int(clf.n_iter_)}
