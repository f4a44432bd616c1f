"""Class imbalance in training, side by side: training.imbalance = class_weight, balanced_batches
and none, on the embedded survey's shards thinned to a few planets (3%) and at DR24's mix (23%).

For each mix, planets are dropped (whole stars, seeded) until they are that fraction of the
labelled TCEs; unlabelled TCEs are left out. Each strategy trains the primary CNN on the same
star-grouped folds through the workflow's own train_fold/evaluate_fold (so every score is
calibrated on the fold's validation split) and is judged out of fold: PR-AUC (ranking) and the
expected calibration error of the calibrated and of the raw scores, mean +- std over folds.

    python benchmarks/class_imbalance.py [--shards 'results/shards/*.h5'] [--folds 3] [--model exominer]
    python benchmarks/class_imbalance.py --verdict results/benchmarks/class_imbalance.csv

Run the default workflow first (snakemake --cores 2) for the shards. On 2 CPU cores with the
default settings this takes about 15 minutes.
"""

from __future__ import annotations

import argparse
import glob
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from exosieve.config import load
from exosieve.evaluation import evaluate_fold, expected_calibration_error, pr_auc
from exosieve.folds import assign_folds, labels_and_folds, read_folds
from exosieve.shards import read_shards, write_shard

STRATEGIES = ["class_weight", "balanced_batches", "none"]


def thinned(data, planet_fraction: float, seed: int):
    """The labelled TCEs, with planet-hosting stars dropped until planets make ``planet_fraction``."""
    labelled = data.subset(np.flatnonzero(data.meta.label.to_numpy() >= 0))
    meta = labelled.meta
    n_neg = int((meta.label == 0).sum())
    want = int(round(planet_fraction / (1 - planet_fraction) * n_neg))
    rng = np.random.default_rng(seed)
    planet_stars = meta.loc[meta.label == 1, "star_id"].unique()
    rng.shuffle(planet_stars)
    counts = meta[meta.label == 1].groupby("star_id").size()
    keep, total = set(), 0
    for star in planet_stars:
        if total >= want:
            break
        keep.add(star)
        total += int(counts[star])
    drop = (meta.label == 1) & ~meta.star_id.isin(keep)
    return labelled.subset(np.flatnonzero(~drop.to_numpy()))


def run_mix(data, fraction: float, cfg: dict, model: str, n_folds: int, work: Path) -> list[dict]:
    sub = thinned(data, fraction, seed=cfg["cv"]["seed"])
    shard = work / f"mix_{fraction:g}.h5"
    write_shard(shard, sub, dict(sub.attrs))
    folds = assign_folds(sub.meta, n_folds, cfg["cv"]["seed"])
    folds_csv = work / f"folds_{fraction:g}.csv"
    folds.to_csv(folds_csv, index=False)
    print(f"\nplanet fraction {fraction:.0%}: {len(sub)} labelled TCEs, {int(sub.meta.label.sum())} planets, "
          f"{n_folds} folds", flush=True)
    rows = []
    for strategy in STRATEGIES:
        run_cfg = {**cfg, "training": {**cfg["training"], "imbalance": strategy}}
        start = time.perf_counter()
        per_fold = []
        for fold in range(n_folds):
            from exosieve.training import train_fold
            out = work / f"{fraction:g}_{strategy}_{fold}"
            train_fold([str(shard)], str(folds_csv), fold, run_cfg, out, model=model, progress=False)
            s = evaluate_fold(out / "model.pt", [str(shard)], str(folds_csv), fold, out / "scores.csv")
            s = s[s.role == "test"]
            per_fold.append({"pr_auc": pr_auc(s.label, s.score), "ece": expected_calibration_error(s.label, s.score),
                             "ece_raw": expected_calibration_error(s.label, s.score_raw)})
        f = pd.DataFrame(per_fold)
        row = {"planet_fraction": fraction, "strategy": strategy, "minutes": (time.perf_counter() - start) / 60}
        for col in f.columns:
            row[col], row[f"{col}_std"] = f[col].mean(), f[col].std(ddof=1)
        rows.append(row)
        print(f"  {strategy:<17} PR-AUC {row['pr_auc']:.3f} ± {row['pr_auc_std']:.3f}   ECE {row['ece']:.3f} ± "
              f"{row['ece_std']:.3f}   raw ECE {row['ece_raw']:.3f} ± {row['ece_raw_std']:.3f}   "
              f"({row['minutes']:.1f} min)", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shards", default="results/shards/*.h5")
    parser.add_argument("--labels", default="results/folds/folds.csv", help="the run's folds table (its labels)")
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--model", default="exominer")
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.03, 0.23])
    parser.add_argument("--out", default="results/benchmarks/class_imbalance.csv", help="the table, as CSV")
    parser.add_argument("--verdict", metavar="CSV", help="only print the verdict of a saved table")
    args = parser.parse_args()
    if args.verdict:
        verdict(pd.read_csv(args.verdict), args.folds)
        return
    paths = sorted(glob.glob(args.shards))
    if not paths:
        raise SystemExit(f"no shards match {args.shards}: run the default workflow first (snakemake --cores 2)")
    cfg = load(args.config)
    from exosieve.model_inputs import model_arrays
    from exosieve.shards import view_shapes
    data = read_shards(paths, list(model_arrays(args.model, view_shapes(paths[0]))))
    data.meta["label"] = labels_and_folds(data.meta.tce_id, read_folds(args.labels))[0]   # shards hold no labels
    rows = []
    with tempfile.TemporaryDirectory(prefix="exosieve-imbalance-") as work:
        for fraction in args.fractions:
            rows += run_mix(data, fraction, cfg, args.model, args.folds, Path(work))
    table = pd.DataFrame(rows)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    print("\n" + table.to_string(index=False, float_format=lambda v: f"{v:.3f}") + f"\n(saved to {out})")
    verdict(table, args.folds)


def verdict(table: pd.DataFrame, n_folds: int) -> str:
    """Per mix, the best PR-AUC wins (ranking is what the training strategy changes; calibration
    repairs scores afterwards); strategies within two standard errors of it are tied, and the tie
    goes to the lowest calibrated ECE. The default is the strategy that wins most mixes."""
    wins = []
    for fraction, part in table.groupby("planet_fraction"):
        part = part.sort_values("pr_auc", ascending=False)
        best = part.iloc[0]
        se = part.pr_auc_std / np.sqrt(n_folds)
        tied = part[best.pr_auc - part.pr_auc <= 2 * np.maximum(se, best.pr_auc_std / np.sqrt(n_folds))]
        winner = tied.sort_values("ece").iloc[0]
        wins.append(winner.strategy)
        others = ", ".join(f"{r.strategy} {r.pr_auc:.3f}" for r in part.itertuples() if r.strategy != best.strategy)
        print(f"{fraction:.0%} planets: best PR-AUC {best.strategy} {best.pr_auc:.3f} ({others}); within two standard "
              f"errors: {', '.join(tied.strategy)}; of those, lowest ECE: {winner.strategy} ({winner.ece:.3f})")
    counts = pd.Series(wins).value_counts()
    mean_ece = table.groupby("strategy").ece.mean()
    default = sorted(counts[counts == counts.max()].index, key=lambda s: mean_ece[s])[0]
    print(f"default: {default}")
    return default


if __name__ == "__main__":
    main()
