"""The CNNs' training loop: a LightningModule around ``models.MultiBranchCNN``, its data loaders,
and the one Trainer configuration every CNN trains under (also timed by
benchmarks/training_throughput.py). Kept apart from ``training.py`` because Lightning takes
seconds to import, which the boosted trees' jobs need not pay.
"""

from __future__ import annotations

import logging
from pathlib import Path

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler, WeightedRandomSampler

from .evaluation import pr_auc
from .features import ScalarScaler
from .models import build_cnn
from .shards import ShardSet

log = logging.getLogger(__name__)


class ViewDataset(Dataset):
    """One fold's training or validation TCEs, indexed by a whole batch (a BatchSampler's list of
    positions): views held in memory when the fold's fit in ``resources.views_in_memory_mb``,
    else read from the shards batch by batch, so that memory does not grow with the catalog.
    Scaled scalars and labels are always in memory (tens of bytes a TCE)."""

    def __init__(self, shards: ShardSet | None, rows: np.ndarray, arrays: list[str], scalars: np.ndarray,
                 labels: np.ndarray, in_memory: bool, augment: dict | None = None, seed: int = 0,
                 views: dict[str, np.ndarray] | None = None):
        self.shards, self.rows, self.arrays = shards, np.asarray(rows), list(arrays)
        self.views = views if views is not None else (shards.views_of(self.rows, self.arrays) if in_memory else None)
        self.scalars = torch.from_numpy(np.ascontiguousarray(scalars, np.float32))
        self.labels = torch.from_numpy(np.asarray(labels, np.float32))
        self.augment = augment if augment and (augment["mirror"] > 0 or augment["noise"] > 0) else None
        self.rng = np.random.default_rng(seed)

    @classmethod
    def of_arrays(cls, views: dict[str, np.ndarray], scalars: np.ndarray, labels: np.ndarray,
                  augment: dict | None = None, seed: int = 0) -> "ViewDataset":
        """TCEs held as arrays (an extra source's training rows), not read from shards."""
        return cls(None, np.arange(len(labels)), list(views), scalars, labels, True, augment, seed, views=views)

    def __len__(self) -> int:
        return self.labels.shape[0]

    def __getitem__(self, batch):
        batch = np.asarray(batch)
        views = ({k: v[batch] for k, v in self.views.items()} if self.views is not None
                 else self.shards.views_of(self.rows[batch], self.arrays))
        if self.augment is not None:
            views = augmented(views, self.augment, self.rng)
        at = torch.from_numpy(batch)
        return {k: torch.from_numpy(v) for k, v in views.items()}, self.scalars[at], self.labels[at]


class JoinedViews(Dataset):
    """Two datasets as one: positions below len(first) index the first, the rest the second."""

    def __init__(self, first: Dataset, second: Dataset):
        self.first, self.second = first, second
        self.views = None

    def __len__(self) -> int:
        return len(self.first) + len(self.second)

    def __getitem__(self, batch):
        batch = np.asarray(batch)
        n = len(self.first)
        a, b = batch[batch < n], batch[batch >= n] - n
        parts = [d[idx] for d, idx in ((self.first, a), (self.second, b)) if idx.size]
        if len(parts) == 1:
            return parts[0]
        views = {k: torch.cat([parts[0][0][k], parts[1][0][k]]) for k in parts[0][0]}
        return views, torch.cat([parts[0][1], parts[1][1]]), torch.cat([parts[0][2], parts[1][2]])


def augmented(views: dict[str, np.ndarray], augment: dict, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A training batch as Astronet and DART-Vetter augment theirs: each TCE's views all reversed
    in time with probability ``mirror`` (a transit looks the same backwards; a ramp or an
    asymmetric eclipse does not tell planets apart), and Gaussian noise of ``noise`` times each
    view's out-of-transit scatter (a robust standard deviation over its bins) added. Drawn from
    ``rng``, so a seeded run augments the same way every time."""
    n = len(next(iter(views.values())))
    flip = rng.random(n) < augment["mirror"]
    out = {}
    for name, v in views.items():
        v = np.array(v, np.float32, copy=True)
        v[flip] = v[flip][..., ::-1]
        if augment["noise"] > 0:
            median = np.median(v, axis=-1, keepdims=True)
            scatter = 1.4826 * np.median(np.abs(v - median), axis=-1, keepdims=True)
            v += (augment["noise"] * scatter * rng.standard_normal(v.shape)).astype(np.float32)
        out[name] = v
    return out


class VettingModule(L.LightningModule):
    def __init__(self, model: str, arrays: dict, n_scalars: int, model_cfg: dict, train_cfg: dict,
                 pos_weight: float):
        super().__init__()
        self.save_hyperparameters()
        self.net = build_cnn(model, arrays, n_scalars, model_cfg)
        self.loss = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pos_weight))
        self._val_scores: list[torch.Tensor] = []
        self._val_history: list[float] = []      # each epoch's validation PR-AUC
        self._val_labels: list[torch.Tensor] = []

    frozen: list[str] = []     # parameters taken from training.init_from, frozen for the first epochs

    def forward(self, views, scalars):
        return self.net(views, scalars)

    def on_train_epoch_start(self):
        if self.frozen:
            freeze = self.current_epoch < self.hparams.train_cfg["freeze_epochs"]
            for name, parameter in self.net.named_parameters():
                if name in self.frozen:
                    parameter.requires_grad_(not freeze)

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
        value = 0.0 if np.isnan(value) else value
        self.log("val_pr_auc", value, prog_bar=True)
        # What early stopping and the best checkpoint watch: the PR-AUC from training.min_epochs on.
        # On a small validation split an untrained network's near-constant scores can rank by luck
        # (0.80 at epoch 2 of a default-run fold, never beaten in the 5 epochs patience allowed);
        # and the best single epoch of a noisy curve is partly luck too: raw_flux's chosen epochs
        # scored a PR-AUC of 0.81 on their validation splits and 0.72 on their test folds, and
        # its calibration, fitted on that split, promised 0.77 above 0.5 where 0.71 held. So the
        # mean of the last training.selection_epochs epochs' PR-AUC is watched.
        t = self.hparams.train_cfg
        self._val_history.append(value)
        recent = self._val_history[-t.get("selection_epochs", 1):]
        warm = self.current_epoch + 1 >= min(t["min_epochs"], t["max_epochs"])
        self.log("val_selection", float(np.mean(recent)) if warm else -1.0)

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
    return L.Trainer(max_epochs=t["max_epochs"], min_epochs=min(t["min_epochs"], t["max_epochs"]),
                     accelerator=accelerator, devices=1, precision=precision,
                     callbacks=callbacks, logger=logger, default_root_dir=root_dir, deterministic=True,
                     enable_progress_bar=progress,
                     enable_model_summary=False, num_sanity_val_steps=0, log_every_n_steps=1)



def start_from(net, source: str, model: str, fold: int) -> list[str]:
    """Copy into ``net`` every parameter of ``source``'s ``model`` (fold ``fold``, else its fold
    0) whose name and shape match: towers are named by branch (global_0, local_0, ...), so a
    branch the source lacks, or one of another shape, starts fresh. Returns the names of the tower
    parameters copied (those training.freeze_epochs freezes)."""
    from .model_files import load_models
    model_set = load_models(source, [model])
    if model not in model_set.models:
        raise ValueError(f"training.init_from {source} holds no {model} model (it holds "
                         f"{', '.join(load_models(source).models)}); name one with training.init_model")
    folds = model_set.models[model]
    contents = next((c for c in folds if c.get("fold") == fold), folds[0])
    if contents["kind"] != "cnn":
        raise ValueError(f"training.init_from: {model} of {source} is no CNN")
    own = net.state_dict()
    taken = {k: v for k, v in contents["state_dict"].items() if k in own and own[k].shape == v.shape}
    net.load_state_dict(taken, strict=False)
    log.info("started from %s (%s fold %s): %d of %d tensors taken (%s)", source, model, contents.get("fold"),
             len(taken), len(own), ", ".join(sorted({k.split(".")[1] for k in taken if k.startswith("towers.")})))
    # What training.freeze_epochs holds still: the towers taken (the features learned elsewhere);
    # the head and the scalar branch learn this source's decision from the start.
    return sorted(k for k in taken if k.startswith("towers."))


# Occlusion's reference input is the median of at most this many training TCEs' views.
MEDIAN_SAMPLE = 10_000


def train_cnn(model: str, shards: ShardSet, labels: np.ndarray, train: np.ndarray, val: np.ndarray, arrays: dict,
              names: list[str], cols: list[int], fold: int, cfg: dict, out_dir: Path, progress: bool,
              extra=None, callbacks=()) -> tuple[dict, dict]:
    """Train one CNN on a fold's training rows of ``shards`` (and ``extra``, training rows of
    other sources: ShardData with ``meta.label``), early-stopped on the validation rows'
    PR-AUC; returns (model-file contents without calibration, summary)."""
    t = cfg["training"]
    L.seed_everything(t["seed"] + fold, workers=True, verbose=False)
    y_train = labels[train] if extra is None else np.concatenate([labels[train], extra.meta["label"].to_numpy()])
    n_pos, n_neg = int(y_train.sum()), int((y_train == 0).sum())
    scaler = ScalarScaler(names).fit(shards.scalars[train][:, cols])
    n_rows = train.size + (0 if val is train else val.size)
    in_memory = n_rows * shards.bytes_per_tce(list(arrays)) <= cfg["resources"]["views_in_memory_mb"] * 2**20
    datasets, loaders = [], []
    for rows, is_train in ((train, True), (val, False)):
        data = ViewDataset(shards, rows, list(arrays), scaler.transform(shards.scalars[rows][:, cols]),
                           labels[rows], in_memory, augment=t["augment"] if is_train else None,
                           seed=t["seed"] + fold)
        gen = torch.Generator().manual_seed(t["seed"] + fold)
        y = labels[rows]
        if not is_train:
            order = SequentialSampler(data)
        elif t["imbalance"] == "balanced_batches":
            # Each class drawn with probability 1/2 (with replacement), one epoch = len(train) draws.
            weights = np.where(y == 1, 0.5 / n_pos, 0.5 / n_neg)
            order = WeightedRandomSampler(torch.from_numpy(weights), num_samples=len(y), replacement=True,
                                          generator=gen)
        else:
            order = RandomSampler(data, generator=gen)
        if is_train and extra is not None and len(extra):
            data = JoinedViews(data, ViewDataset.of_arrays(extra.views, scaler.transform(extra.scalars),
                                                           extra.meta["label"].to_numpy(), t["augment"],
                                                           t["seed"] + fold + 1))
            y = y_train
            order = (WeightedRandomSampler(torch.from_numpy(np.where(y == 1, 0.5 / n_pos, 0.5 / n_neg)), len(y),
                                           replacement=True, generator=gen)
                     if t["imbalance"] == "balanced_batches" else RandomSampler(data, generator=gen))
        datasets.append(data)
        loaders.append(DataLoader(data, sampler=BatchSampler(order, t["batch_size"], drop_last=False),
                                  batch_size=None, num_workers=0))
    accelerator, precision = choose_accelerator(t["accelerator"])
    log.info("%s fold %d: %d train (%d PC), %d validation TCEs; arrays %s; views %s; %s, precision %s", model,
             fold, y_train.size, n_pos, val.size, ", ".join(arrays),
             "in memory" if in_memory else "streamed from the shards", accelerator, precision)
    pos_weight = n_neg / n_pos if t["imbalance"] == "class_weight" else 1.0
    module = VettingModule(model, arrays, len(names), cfg["models"][model], t, pos_weight=pos_weight)
    if t["init_from"]:
        module.frozen = start_from(module.net, t["init_from"], t["init_model"] or model, fold)
    checkpoint = ModelCheckpoint(dirpath=out_dir / "checkpoints", filename="best", monitor="val_selection",
                                 mode="max")
    trainer = make_trainer(t, accelerator, precision,
                           [EarlyStopping(monitor="val_selection", mode="max", patience=t["patience"]), checkpoint,
                            *callbacks],
                           CSVLogger(out_dir, name="", version=""), progress, out_dir)
    trainer.fit(module, loaders[0], loaders[1])
    best = VettingModule.load_from_checkpoint(checkpoint.best_model_path, map_location="cpu")
    # Occlusion replaces a branch's input with the training median of each of its arrays.
    # Tensors and plain values only: the file loads weights-only (model_files.load_model_file).
    if getattr(datasets[0], "views", None) is not None:
        reference = datasets[0].views
    else:
        rng = np.random.default_rng(t["seed"] + fold)
        sample = train if train.size <= MEDIAN_SAMPLE else np.sort(rng.choice(train, MEDIAN_SAMPLE, replace=False))
        reference = shards.views_of(sample, list(arrays))
    medians = {n: torch.from_numpy(np.median(reference[n], axis=0).astype(np.float32)) for n in arrays}
    bundle = {"kind": "cnn", "model": model, "state_dict": best.net.state_dict(),
              "arrays": {n: tuple(int(d) for d in shape) for n, shape in arrays.items()},
              "scaler": scaler.to_dict(), "model_cfg": cfg["models"][model], "medians": medians,
              "fold": fold, "best_val_pr_auc": float(checkpoint.best_model_score),
              "epochs": int(trainer.current_epoch), "accelerator": accelerator, "precision": precision,
              "imbalance": t["imbalance"], "extra_training_rows": 0 if extra is None else len(extra),
              "started_from": str(t["init_from"] or "")}
    return bundle, {"best_val_pr_auc": bundle["best_val_pr_auc"], "epochs": trainer.current_epoch}
