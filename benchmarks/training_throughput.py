"""Training throughput of every model: TCEs per second per epoch, on CPU and on a GPU when present.

Uses shards of a finished run (default: results/shards/*.h5) or, with --synthetic N, random
views of the default shapes. One forward+backward pass per batch, as in training.

    python benchmarks/training_throughput.py [--shards 'results/shards/*.h5'] [--epochs 3]
"""

from __future__ import annotations

import argparse
import glob
import time

import numpy as np
import torch

from exosieve.config import load
from exosieve.models import build_cnn, build_trees
from exosieve.shards import ShardData, read_shards
from exosieve.training import model_arrays
from exosieve.views import array_shape, shard_arrays


def synthetic(cfg, n: int) -> ShardData:
    import pandas as pd
    rng = np.random.default_rng(0)
    views = {a: rng.normal(size=(n, *array_shape(a, cfg["views"]))).astype(np.float32) for a in shard_arrays(cfg)}
    meta = pd.DataFrame({"label": rng.integers(0, 2, n)})
    return ShardData(meta=meta, views=views, scalars=rng.normal(size=(n, len(cfg["features"]))).astype(np.float32),
                     scalar_names=list(cfg["features"]))


def cnn_rate(model, data, cfg, device, precision, epochs, batch) -> float:
    shapes = {k: v.shape[1:] for k, v in data.views.items()}
    arrays = model_arrays(model, shapes)
    net = build_cnn(model, arrays, data.scalars.shape[1], cfg["models"][model]).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    views = {k: torch.from_numpy(data.views[k]).to(device) for k in arrays}
    scalars = torch.from_numpy(data.scalars).to(device)
    y = torch.from_numpy(data.meta["label"].to_numpy().astype(np.float32)).to(device)
    n = len(y)
    dtype = {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}.get(precision)

    def epoch():
        for s in range(0, n, batch):
            sl = slice(s, s + batch)
            with torch.autocast(device_type=device, dtype=dtype, enabled=dtype is not None):
                loss = loss_fn(net({k: v[sl] for k, v in views.items()}, scalars[sl]).float(), y[sl])
            opt.zero_grad()
            loss.backward()
            opt.step()
        if device == "cuda":
            torch.cuda.synchronize()
    epoch()  # warm-up
    t0 = time.perf_counter()
    for _ in range(epochs):
        epoch()
    return n * epochs / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shards", default="results/shards/*.h5")
    ap.add_argument("--synthetic", type=int, default=0, help="use N random TCEs instead of shards")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    cfg = load({})
    torch.set_num_threads(args.threads)
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
        devices += [("cuda", "32-true"), ("cuda", "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed")]
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
            rate = cnn_rate(model, data, cfg, device, precision, args.epochs, cfg["training"]["batch_size"])
            print(f"{model:<10} {device:<6} {precision:<11} {rate:,.0f}")


if __name__ == "__main__":
    main()
