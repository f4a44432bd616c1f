"""Training throughput of every model: TCEs per second per epoch, on CPU and on a GPU when present.

Uses shards of a finished run (default: results/shards/*.h5) or, with --synthetic N, random
views of the default shapes. The CNNs train through the workflow's own Lightning path (its
module, data loader and Trainer, deterministic algorithms on; mixed precision on a GPU), so a
layer that cannot run there fails here too; the trees through scikit-learn.

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
from torch.utils.data import DataLoader

from exosieve.config import load
from exosieve.evaluation import model_inputs
from exosieve.features import ScalarScaler
from exosieve.models import build_trees
from exosieve.shards import ShardData, read_shards
from exosieve.cnn_training import ViewDataset, VettingModule, choose_accelerator, make_trainer
from exosieve.training import model_arrays
from exosieve.views import array_shape, shard_arrays


def synthetic(cfg, n: int) -> ShardData:
    import pandas as pd
    rng = np.random.default_rng(0)
    views = {a: rng.normal(size=(n, *array_shape(a, cfg["views"]))).astype(np.float32) for a in shard_arrays(cfg)}
    meta = pd.DataFrame({"label": rng.integers(0, 2, n)})
    return ShardData(meta=meta, views=views, scalars=rng.normal(size=(n, len(cfg["features"]))).astype(np.float32),
                     scalar_names=list(cfg["features"]))


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


def cnn_rate(model, data, cfg, accelerator, precision, epochs) -> float:
    """TCEs/s per epoch through the workflow's own path: VettingModule, its DataLoader and the
    Trainer of cnn_training.make_trainer (deterministic algorithms on), on ``accelerator``."""
    t = {**cfg["training"], "max_epochs": epochs + 1}
    arrays = model_arrays(model, {k: v.shape[1:] for k, v in data.views.items()})
    names = list(data.scalar_names)
    scaler = ScalarScaler(names).fit(data.scalars)
    views, scalars = model_inputs(data, list(arrays), scaler)
    y = data.meta["label"].to_numpy()
    loader = DataLoader(ViewDataset(views, scalars, y), batch_size=t["batch_size"], shuffle=True,
                        generator=torch.Generator().manual_seed(0), num_workers=0)
    module = VettingModule(model, arrays, len(names), cfg["models"][model], t, pos_weight=1.0)
    timer = EpochTimer()
    with tempfile.TemporaryDirectory() as root:      # Lightning's own checkpoints land here
        trainer = make_trainer(t, accelerator, precision, [timer], False, False, root)
        trainer.fit(module, loader)
    return len(y) * epochs / sum(timer.seconds[1:])     # the first epoch is the warm-up


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shards", default="results/shards/*.h5")
    ap.add_argument("--synthetic", type=int, default=0, help="use N random TCEs instead of shards")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    cfg = load({})
    torch.set_num_threads(args.threads)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    paths = sorted(glob.glob(args.shards))
    if args.synthetic or not paths:
        data = synthetic(cfg, args.synthetic or 2000)
        origin = f"{len(data)} synthetic TCEs"
    else:
        data = read_shards(paths)
        data.meta["label"] = data.meta["label"].clip(lower=0)
        origin = f"{len(data)} TCEs from {len(paths)} shards"
    print(f"{origin}; batch {cfg['training']['batch_size']}; {args.epochs} timed epochs after one warm-up")
    devices = [("cpu", "32-true")]
    if torch.cuda.is_available():
        devices += [("gpu", "32-true"), choose_accelerator("gpu")]     # the workflow's mixed precision
        print(f"GPU: {torch.cuda.get_device_name(0)}")
    print(f"{'model':<10} {'device':<6} {'precision':<11} TCEs/s per epoch")
    for model in cfg["models"]["enabled"]:
        if model == "trees":
            x, y = np.nan_to_num(data.scalars), data.meta["label"].to_numpy()
            t0 = time.perf_counter()
            build_trees(cfg["models"]["trees"], 0).fit(x, y)
            # One boosting iteration plays the part of an epoch.
            rate = len(y) * cfg["models"]["trees"]["max_iter"] / (time.perf_counter() - t0)
            print(f"{model:<10} {'cpu':<6} {'-':<11} {rate:,.0f} (per boosting iteration)")
            continue
        for device, precision in devices:
            rate = cnn_rate(model, data, cfg, device, precision, args.epochs)
            print(f"{model:<10} {device:<6} {precision:<11} {rate:,.0f}")


if __name__ == "__main__":
    main()
