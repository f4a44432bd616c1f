"""Carrying learning from Kepler to TESS, on real labelled views: the TESS TOI views of
../shared/data/views (labelled from today's TOI table, folds grouped by TIC) trained three ways
through the workflow, on the same folds:

- ``tess``: TESS labels only;
- ``tess_init_dr24``: each fold's CNNs start from the DR24-trained run's weights
  (``training.init_from``), towers frozen for the first 3 epochs;
- ``tess_with_dr24``: the DR24 views join every fold's training rows (``training.extra_sources``),
  as ExoMiner++ trains on Kepler and TESS together; test folds stay TESS's own.

The DR24 run is benchmarks/real_views.py's ``dr24`` set (run first, or here with --dr24). Prints
per set and CNN the out-of-fold metrics (mean +- std over folds) and each transfer's paired
difference from ``tess`` per fold with its standard error: a difference counts only beyond about
two of those.

    python benchmarks/tess_transfer.py [--cores 2] [--work results/benchmarks/real_views] [--runs tess,tess_init_dr24]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

from helpers import SHARED_DATA, run_workflow  # noqa: E402
from real_views import run_set, set_config  # noqa: E402

METRICS = ["roc_auc", "pr_auc", "recall_at_precision_0.99", "ece"]


def tess_run(name: str, work: Path, cores: int, training: dict) -> Path:
    folder = work / name
    cfg = {**set_config("tess", work), "cv": {"folds": 5}, "report": {"sheets": 0},
           "models": {"enabled": ["astronet", "trees"], "primary": "astronet"}, "training": training}
    print(f"{name}: {run_workflow(folder, cfg, cores) / 60:.1f} min", flush=True)
    return folder / "results" / "report" / "metrics.csv"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--work", type=Path, default=REPO / "results" / "benchmarks" / "real_views")
    ap.add_argument("--dr24", action="store_true", help="run the DR24 set first if its run is missing")
    ap.add_argument("--runs", default="tess,tess_init_dr24,tess_with_dr24",
                    help="which of the three to run (tess always: the others are compared with it)")
    args = ap.parse_args()
    if not (SHARED_DATA / "views").is_dir():
        print(f"real views not found at {SHARED_DATA / 'views'}; set EXOSIEVE_SHARED_DATA")
        return 2
    dr24 = args.work / "dr24"
    if not (dr24 / "results" / "models" / "astronet" / "fold_0" / "model.pt").exists():
        if not args.dr24:
            print(f"no DR24 run at {dr24}: run benchmarks/real_views.py --sets dr24 first, or pass --dr24")
            return 2
        run_set("dr24", args.work, args.cores, [])
    dr24_views = {"path": str(SHARED_DATA / "views" / "kepler_dr24_dartvetter"),
                  "labels": {"positive": [1], "negative": [0]}}
    training = {"tess": {}, "tess_init_dr24": {"init_from": str(dr24), "freeze_epochs": 3},
                "tess_with_dr24": {"extra_sources": [dr24_views]}}
    wanted = {"tess", *args.runs.split(",")}
    if wanted - set(training):
        raise SystemExit(f"unknown runs {sorted(wanted - set(training))}; the runs are {', '.join(training)}")
    runs = {name: tess_run(name, args.work, args.cores, t) for name, t in training.items() if name in wanted}
    tables = {name: pd.read_csv(path, dtype={"fold": str}) for name, path in runs.items()}
    rows = []
    for name, table in tables.items():
        for model, m in table[~table.fold.isin(["mean", "std"])].groupby("model", sort=False):
            base = tables["tess"]
            base = base[(base.model == model) & ~base.fold.isin(["mean", "std"])].set_index("fold")
            m = m.set_index("fold")
            row = {"set": name, "model": model}
            for col in METRICS:
                row[col] = f"{m[col].mean():.3f} ± {m[col].std(ddof=1):.3f}"
                if name != "tess":
                    d = m[col] - base[col].reindex(m.index)
                    row[f"Δ{col}"] = f"{d.mean():+.3f} ({d.std(ddof=1) / np.sqrt(len(d)):.3f})"
            rows.append(row)
    pd.set_option("display.width", 250)
    print()
    print(pd.DataFrame(rows).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
