"""Which CNN settings win on real labelled views: candidate settings trained side by side on the
real Kepler DR24 views (DART-Vetter's records in ../shared/data/views, mirrors dropped) through the
workflow's own views path and train_fold, on the same star-grouped, label-stratified folds.

Prints, per candidate, ROC-AUC, average precision, recall at precision 0.99 and the calibrated
ECE out of fold (mean +- std over the folds run), and each metric's paired difference from the
first candidate with its standard error over folds: a difference counts only beyond about two of
those. Results are kept per (candidate, fold) under --work, so an interrupted or extended
comparison redoes nothing.

    python benchmarks/cnn_defaults.py                           # every candidate, 5 folds
    python benchmarks/cnn_defaults.py --candidates defaults,astronet --run-folds 0,1 --max-epochs 20

Slow on 2 CPU cores: the default CNN takes about a minute a fold, Astronet's published towers
several; see --list for the candidates.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from helpers import SHARED_DATA  # noqa: E402

from exosieve.config import load, stable_hash  # noqa: E402
from exosieve.layout import RunLayout  # noqa: E402

DR24_VIEWS = SHARED_DATA / "views" / "kepler_dr24_dartvetter"
ASTRONET = {"preset": "astronet"}

# name -> (models.astronet overrides, training overrides)
CANDIDATES: dict[str, tuple[dict, dict]] = {
    "defaults": ({}, {}),
    "mirror": ({}, {"augment": {"mirror": 0.5}}),
    "flatten": ({"output": "flatten"}, {}),
    "deep": ({"towers": {"global": {"conv_blocks": 4}}}, {}),
    "deep_flatten": ({"output": "flatten", "towers": {"global": {"conv_blocks": 4}}}, {}),
    "wide_fc": ({"fc_units": [256, 128], "dropout": 0.3}, {}),
    "astronet": (ASTRONET, {"learning_rate": 1e-4}),
    "astronet_mirror": (ASTRONET, {"learning_rate": 1e-4, "augment": {"mirror": 0.5}}),
    "lr3e-4": ({}, {"learning_rate": 3e-4}),
    "patience10": ({}, {"patience": 10}),
    "no_weights": ({}, {"imbalance": "none"}),
}


def merged(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def workspace(work: Path, folds: int, seed: int) -> tuple[Path, Path, dict]:
    """Catalog, folds and one shard of the DR24 views, built once with the workflow's own calls."""
    from exosieve.catalog.views_dataset import write_views_shard
    from exosieve.catalog.sources import build_catalog, get_source
    from exosieve.catalog.table import write_normalized
    from exosieve.folds import assign_folds
    base = {"catalog": {"source": "views", "path": str(DR24_VIEWS), "labels": {"positive": [1], "negative": [0]}},
            "cv": {"folds": folds, "seed": seed}, "results": str(work / "results"),
            "models": {"enabled": ["astronet"], "primary": "astronet"}}
    cfg = load(base)
    from exosieve.config import preprocessing_hash
    data = work / f"data-{preprocessing_hash(cfg)}"        # rebuilt when the shard's settings change
    shard, folds_csv = data / "shard.h5", data / "folds.csv"
    if not shard.exists():
        work = data
        work.mkdir(parents=True, exist_ok=True)
        tces, _ = build_catalog(cfg, get_source(cfg).raw_catalog_files())
        write_normalized(tces, work / "tces.csv")
        assign_folds(tces, folds, seed).to_csv(folds_csv, index=False)
        write_views_shard(DR24_VIEWS, work / "tces.csv", cfg, "000", shard, work / "shard.failures.csv")
    return shard, folds_csv, base


def fold_result(name: str, model_over: dict, train_over: dict, fold: int, shard: Path, folds_csv: Path, base: dict,
                work: Path, max_epochs: int | None, threads: int) -> dict:
    from exosieve.evaluation import classification_metrics
    from exosieve.training import train_fold
    user = merged(base, {"models": {"enabled": ["astronet"], "primary": "astronet", "astronet": model_over},
                         "training": {**train_over, "threads": threads,
                                      **({"max_epochs": max_epochs} if max_epochs else {})}})
    cfg = load(user)
    key = stable_hash({"model": cfg["models"]["astronet"], "training": cfg["training"], "cv": cfg["cv"]})
    out = Path(RunLayout(work / "runs" / f"{name}-{key}").model_dir("astronet", fold))
    done = out / "result.json"
    if done.exists():
        return json.loads(done.read_text())
    start = time.perf_counter()
    info = train_fold([str(shard)], str(folds_csv), fold, cfg, out, model="astronet", progress=False,
                      scores_csv=out / "scores.csv")
    scores = pd.read_csv(out / "scores.csv")
    test = scores[scores.role == "test"]
    m = classification_metrics(test.label, test.score)
    raw = classification_metrics(test.label, test.score_raw)
    result = {"candidate": name, "fold": fold, "roc_auc": m["roc_auc"], "average_precision": m["pr_auc"],
              "recall_at_p99": m["recall_at_precision_0.99"], "ece": m["ece"], "ece_raw": raw["ece"],
              "epochs": int(info.get("epochs", 0)), "minutes": (time.perf_counter() - start) / 60}
    done.write_text(json.dumps(result))
    return result


def summary(results: pd.DataFrame, reference: str) -> pd.DataFrame:
    metrics = ["roc_auc", "average_precision", "recall_at_p99", "ece"]
    rows = []
    ref = results[results.candidate == reference].set_index("fold")
    for name, r in results.groupby("candidate", sort=False):
        r = r.set_index("fold")
        row = {"candidate": name, "folds": len(r), "epochs": r.epochs.mean(), "min/fold": r.minutes.mean()}
        for m in metrics:
            row[m] = f"{r[m].mean():.4f} ± {r[m].std(ddof=1) if len(r) > 1 else 0:.4f}"
            if name != reference:
                common = r.index.intersection(ref.index)
                d = r.loc[common, m] - ref.loc[common, m]
                se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else np.nan
                row[f"Δ{m}"] = f"{d.mean():+.4f} ({se:.4f})"
        rows.append(row)
    return pd.DataFrame(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--candidates", default=",".join(CANDIDATES))
    ap.add_argument("--folds", type=int, default=5, help="cross-validation folds")
    ap.add_argument("--run-folds", default=None, help="which folds to train, e.g. 0,1 (default all)")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--max-epochs", type=int, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", type=Path, default=REPO / "results" / "benchmarks" / "cnn_defaults")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    if args.list:
        for name, (m, t) in CANDIDATES.items():
            print(f"{name:18s} models.astronet: {m}  training: {t}")
        return 0
    if not DR24_VIEWS.is_dir():
        print(f"real views not found at {DR24_VIEWS}; set EXOSIEVE_SHARED_DATA to the shared data folder")
        return 2
    logging.basicConfig(level=logging.WARNING)
    for noisy in ("lightning", "lightning.pytorch", "exosieve"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    shard, folds_csv, base = workspace(args.work, args.folds, args.seed)
    names = args.candidates.split(",")
    run_folds = [int(f) for f in args.run_folds.split(",")] if args.run_folds else list(range(args.folds))
    results = []
    for fold in run_folds:
        for name in names:
            model_over, train_over = CANDIDATES[name]
            r = fold_result(name, model_over, train_over, fold, shard, folds_csv, base, args.work, args.max_epochs,
                            args.threads)
            print(f"{name:18s} fold {fold}: ROC-AUC {r['roc_auc']:.4f}  AP {r['average_precision']:.4f}  "
                  f"R@P0.99 {r['recall_at_p99']:.3f}  ECE {r['ece']:.4f}  ({r['epochs']} epochs, "
                  f"{r['minutes']:.1f} min)", flush=True)
            results.append(r)
    pd.set_option("display.width", 250)
    print()
    print(summary(pd.DataFrame(results), names[0]).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
