"""Training throughput of every model: TCEs per second per epoch, on CPU and on a GPU when present.

Uses shards of a finished run (default: results/shards/*.h5, labels from results/folds/folds.csv)
or, with --synthetic N, random views of the default shapes written to a temporary shard. The CNNs
train through the workflow's own Lightning path (its module, batch loader and Trainer,
deterministic algorithms on; mixed precision on a GPU), so a layer that cannot run there fails
here too; the trees through scikit-learn. Each CNN is timed with its views in memory and
streamed from the shards batch by batch (what a catalog too large for
resources.views_in_memory_mb trains with).

    python benchmarks/training_throughput.py [--shards 'results/shards/*.h5'] [--epochs 3]
"""

from __future__ import annotations

import argparse
import glob
import logging
import tempfile
import time

import numpy as np
import torch

import lightning as L
from torch.utils.data import BatchSampler, DataLoader, RandomSampler

from exosieve.config import load
from exosieve.features import ScalarScaler
from exosieve.folds import labels_and_folds, read_folds
from exosieve.models import build_trees
from exosieve.shards import ShardData, ShardSet, write_shard
from exosieve.cnn_training import ViewDataset, VettingModule, choose_accelerator, make_trainer
from exosieve.model_inputs import model_arrays
from exosieve.views import array_shape, shard_arrays


def synthetic(cfg, n: int, path: str) -> np.ndarray:
    """A shard of n random TCEs at ``path``; returns their random labels."""
    import pandas as pd
    rng = np.random.default_rng(0)
    views = {a: rng.normal(size=(n, *array_shape(a, cfg["views"]))).astype(np.float32) for a in shard_arrays(cfg)}
    meta = pd.DataFrame({"tce_id": [f"{i:09d}_1" for i in range(n)], "star_id": [f"{i:09d}" for i in range(n)],
                         "period": 1.0, "epoch": 0.0, "duration": 0.1})
    write_shard(path, ShardData(meta=meta, views=views, scalars=rng.normal(size=(n, len(cfg["features"])))
                                .astype(np.float32), scalar_names=list(cfg["features"])), {})
    return rng.integers(0, 2, n)


class EpochTimer(L.Callback):
    """Wall time of each training epoch (the training batches only, not validation)."""

    def __init__(self):
        self.seconds: list[float] = []

    def on_train_epoch_start(self, trainer, module):
        if torch.cuda.is_available() and module.device.type == "cuda":
            torch.cuda.synchronize()
        self._t0 = time.perf_counter()

    def on_train_batch_end(self, trainer, module, *args):
        self._t1 = time.perf_counter()

    def on_train_epoch_end(self, trainer, module):
        if module.device.type == "cuda":
            torch.cuda.synchronize()
            self._t1 = time.perf_counter()
        self.seconds.append(self._t1 - self._t0)


def cnn_rate(model, shards: ShardSet, y: np.ndarray, cfg, accelerator, precision, epochs, in_memory: bool) -> float:
    """TCEs/s per epoch through the workflow's own path: VettingModule, its batch loader (views in
    memory, or read from the shards batch by batch) and the Trainer of cnn_training.make_trainer
    (deterministic algorithms on), on ``accelerator``."""
    t = {**cfg["training"], "max_epochs": epochs + 1}
    arrays = model_arrays(model, shards.view_shapes)
    names = list(shards.scalar_names)
    scaler = ScalarScaler(names).fit(shards.scalars)
    rows = np.arange(len(shards))
    data = ViewDataset(shards, rows, list(arrays), scaler.transform(shards.scalars), y, in_memory)
    order = RandomSampler(data, generator=torch.Generator().manual_seed(0))
    loader = DataLoader(data, sampler=BatchSampler(order, t["batch_size"], drop_last=False), batch_size=None)
    module = VettingModule(model, arrays, len(names), cfg["models"][model], t, pos_weight=1.0)
    timer = EpochTimer()
    with tempfile.TemporaryDirectory() as root:      # Lightning's own checkpoints land here
        trainer = make_trainer(t, accelerator, precision, [timer], False, False, root)
        trainer.fit(module, loader)
    return len(y) * epochs / sum(timer.seconds[1:])     # the first epoch is the warm-up


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shards", default="results/shards/*.h5")
    ap.add_argument("--folds", default="results/folds/folds.csv", help="the run's folds table (its labels)")
    ap.add_argument("--synthetic", type=int, default=0, help="use N random TCEs instead of shards")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    cfg = load({})
    torch.set_num_threads(args.threads)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    paths = sorted(glob.glob(args.shards))
    tmp = tempfile.TemporaryDirectory()
    if args.synthetic or not paths:
        paths = [f"{tmp.name}/synthetic.h5"]
        y = synthetic(cfg, args.synthetic or 2000, paths[0])
        origin = f"{len(y)} synthetic TCEs"
    else:
        y = None
        origin = f"TCEs from {len(paths)} shards"
    shards = ShardSet(paths)
    if y is None:
        y = np.clip(labels_and_folds(shards.meta.tce_id, read_folds(args.folds))[0], 0, None)
        origin = f"{len(y)} {origin}"
    print(f"{origin}; batch {cfg['training']['batch_size']}; {args.epochs} timed epochs after one warm-up")
    devices = [("cpu", "32-true")]
    if torch.cuda.is_available():
        devices += [("gpu", "32-true"), choose_accelerator("gpu")]     # the workflow's mixed precision
        print(f"GPU: {torch.cuda.get_device_name(0)}")
    print(f"{'model':<10} {'device':<6} {'precision':<11} TCEs/s per epoch")
    for model in cfg["models"]["enabled"]:
        if model == "trees":
            x = np.nan_to_num(shards.scalars)
            t0 = time.perf_counter()
            build_trees(cfg["models"]["trees"], 0).fit(x, y)
            # One boosting iteration plays the part of an epoch.
            rate = len(y) * cfg["models"]["trees"]["max_iter"] / (time.perf_counter() - t0)
            print(f"{model:<10} {'cpu':<6} {'-':<11} {rate:,.0f} (per boosting iteration)")
            continue
        for device, precision in devices:
            for in_memory in (True, False):
                rate = cnn_rate(model, shards, y, cfg, device, precision, args.epochs, in_memory)
                views = "in memory" if in_memory else "streamed"
                print(f"{model:<10} {device:<6} {precision:<11} {rate:,.0f} (views {views})")


if __name__ == "__main__":
    main()
