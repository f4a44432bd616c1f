"""Peak memory of one train job on a catalog of 250,000 TCEs.

Writes synthetic shards in the workflow's format (random views of the shapes the configured views
make, 400 stars a shard as ``shards: auto`` would cut them) and a 10-fold folds table, then runs
``training.train_fold`` for the exominer CNN in a fresh process, as the workflow's train job does
(with --score, also its last step: scoring the test fold with occlusion), and prints its peak
resident memory (ru_maxrss) beside what holding the model's views in memory would take. Training views beyond ``resources.views_in_memory_mb`` are streamed
from the shards batch by batch.

One epoch is cut to --batches training batches (a full epoch of 225,000 TCEs takes many minutes
on CPU and holds nothing more: batches are read, used and dropped); validation, calibration and
the occlusion medians run in full.

    python benchmarks/training_memory.py                       # default views, then 2001/201 bins
    python benchmarks/training_memory.py --only default --score
    python benchmarks/training_memory.py --tces 20000 --only default
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from exosieve.config import load  # noqa: E402
from exosieve.shards import ShardData, provenance, shard_names, write_shard  # noqa: E402
from exosieve.model_inputs import model_arrays  # noqa: E402
from exosieve.views import array_shape, shard_arrays  # noqa: E402

CASES = {"default": {}, "2001/201": {"views": {"global_bins": 2001, "local_bins": 201}}}
TCES_PER_STAR, STARS_PER_SHARD = 1.25, 400


def config(case: str, out: Path) -> dict:
    return load({**CASES[case], "results": str(out / "results"), "cv": {"folds": 10},
                 "models": {"enabled": ["exominer"], "primary": "exominer"},
                 "training": {"max_epochs": 1, "threads": 2}})


def write_synthetic(cfg: dict, n_tces: int, out: Path, seed: int = 0) -> tuple[list[Path], Path]:
    """Shards holding the arrays exominer reads, and a folds table (labels and folds by star)."""
    rng = np.random.default_rng(seed)
    n_stars = int(n_tces / TCES_PER_STAR)
    star_of = np.sort(rng.integers(0, n_stars, n_tces))
    num = pd.Series(star_of).groupby(star_of).cumcount().to_numpy() + 1
    stars = np.array([f"{100000000 + s}" for s in star_of])
    tce_ids = np.char.add(np.char.add(stars, "_"), num.astype(str))
    all_shapes = {n: array_shape(n, cfg["views"]) for n in shard_arrays(cfg)}
    arrays = model_arrays("exominer", all_shapes)
    names = shard_names(max(1, n_stars // STARS_PER_SHARD))
    bounds = np.searchsorted(star_of, np.linspace(0, n_stars, len(names) + 1).astype(int))
    paths = []
    for i, name in enumerate(names):
        rows = slice(bounds[i], bounds[i + 1])
        n = bounds[i + 1] - bounds[i]
        meta = pd.DataFrame({"tce_id": tce_ids[rows], "star_id": stars[rows], "period": rng.uniform(1, 300, n),
                             "epoch": rng.uniform(130, 140, n), "duration": rng.uniform(0.05, 0.5, n)})
        views = {v: rng.standard_normal((n, *shape), dtype=np.float32) for v, shape in arrays.items()}
        data = ShardData(meta=meta, views=views, scalar_names=list(cfg["features"]),
                         scalars=rng.standard_normal((n, len(cfg["features"])), dtype=np.float32))
        paths.append(out / "shards" / f"{name}.h5")
        write_shard(paths[-1], data, provenance(cfg, name))
    star_label = rng.random(n_stars) < 0.3
    folds = pd.DataFrame({"tce_id": tce_ids, "star_id": stars, "label": star_label[star_of].astype(int),
                          "fold": star_of % 10})
    folds_csv = out / "folds.csv"
    folds.to_csv(folds_csv, index=False)
    return paths, folds_csv


def child(score: bool, case: str, out: Path, batches: int) -> None:
    """One train job, as the workflow's script makes it; prints its peak memory."""
    cfg = config(case, out)
    paths = sorted((out / "shards").glob("*.h5"))
    started = time.perf_counter()
    import exosieve.cnn_training as cnn
    make = cnn.make_trainer

    def limited(*args, **kwargs):
        trainer = make(*args, **kwargs)
        trainer.limit_train_batches = batches
        return trainer

    cnn.make_trainer = limited
    from exosieve.training import train_fold
    train_fold(paths, out / "folds.csv", 0, cfg, out / "model", "exominer", progress=False,
               scores_csv=out / "scores.csv" if score else None)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_mb": peak_mb, "seconds": time.perf_counter() - started}))


def run_child(score: bool, case: str, out: Path, batches: int) -> dict:
    res = subprocess.run([sys.executable, __file__, "--child", "score" if score else "train", "--case", case,
                          "--out", str(out), "--batches", str(batches)], capture_output=True, text=True)
    if res.returncode:
        raise SystemExit(f"train job ({case}) failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tces", type=int, default=250_000)
    parser.add_argument("--batches", type=int, default=100, help="training batches in the one epoch")
    parser.add_argument("--only", choices=list(CASES))
    parser.add_argument("--score", action="store_true",
                        help="the job also scores its test fold with occlusion, as the workflow's does (slow)")
    parser.add_argument("--child", choices=["train", "score"], help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child == "score", args.case, Path(args.out), args.batches)
        return
    for case in [args.only] if args.only else list(CASES):
        with tempfile.TemporaryDirectory(prefix="exosieve-memory-") as tmp:
            out = Path(tmp)
            cfg = config(case, out)
            t0 = time.perf_counter()
            paths, _ = write_synthetic(cfg, args.tces, out)
            on_disk = sum(p.stat().st_size for p in paths) / 2**20
            print(f"{case} views: {args.tces:,} TCEs in {len(paths)} shards, {on_disk:,.0f} MB of exominer's "
                  f"views (written in {time.perf_counter() - t0:.0f} s); views_in_memory_mb "
                  f"{cfg['resources']['views_in_memory_mb']}")
            train = run_child(args.score, case, out, args.batches)
            scored = ", then the test fold scored with occlusion" if args.score else ""
            print(f"  train job (exominer fold 0, {args.batches} batches, full validation and calibration"
                  f"{scored}): peak {train['peak_mb']:,.0f} MB in {train['seconds']:.0f} s")


if __name__ == "__main__":
    main()
