"""Do ExoMiner++'s TESS branches catch the false positives they are for? The simulated TESS
survey run twice through the workflow on the same survey, seed and folds: exominer with the
``tess`` views preset (every Kepler diagnostic plus momentum_dump, flux_trend and periodogram)
and with the same preset less those three groups.

Prints, per run, exominer's out-of-fold ROC-AUC and average precision (mean +- std over folds) and,
for the TESS-only false positives (true classes ``dump``: momentum-dump jumps folded into a
transit; ``scattered``: scattered-light ramps at orbit perigee), the fraction scored as planets
(probability >= 0.5) per fold, with the paired difference between the runs and its standard
error over folds: a difference counts only beyond about two of those. Every TCE of those classes
(unlabelled ones scored by the fold ensemble) is counted too, pooled.

    python benchmarks/tess_branches.py [--stars 1500] [--sectors 4] [--cores 2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from helpers import run_workflow  # noqa: E402

TESS_GROUPS = ["momentum_dump", "flux_trend", "periodogram"]
CLASSES = ["dump", "scattered"]


def run(name: str, work: Path, cores: int, stars: int, sectors: int) -> tuple[Path, float]:
    from exosieve.config import VIEW_PRESETS
    folder = work / name
    views = {"preset": "tess"}
    if name == "without":
        views["enabled"] = [g for g in VIEW_PRESETS["tess"]["enabled"] if g not in TESS_GROUPS]
    cfg = {"survey": {"mission": "tess", "stars": stars, "sectors": sectors}, "views": views,
           "models": {"enabled": ["exominer"], "primary": "exominer"}, "report": {"sheets": 0}}
    return folder / "results", run_workflow(folder, cfg, cores)


def scored(results: Path) -> pd.DataFrame:
    catalog = pd.read_csv(results / "report" / "vetted_catalog.csv", dtype={"tce_id": str})
    truth = pd.concat(pd.read_csv(p, dtype={"tce_id": str}) for p in (results / "survey").glob("*/truth.csv"))
    return catalog.merge(truth[["tce_id", "true_class"]], on="tce_id", how="left")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stars", type=int, default=1500)
    ap.add_argument("--sectors", type=int, default=4)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--work", type=Path, default=REPO / "results" / "benchmarks" / "tess_branches")
    args = ap.parse_args()
    tables, metrics = {}, {}
    for name in ("with", "without"):
        results, seconds = run(name, args.work, args.cores, args.stars, args.sectors)
        print(f"{name} the TESS branches: {seconds / 60:.1f} min", flush=True)
        tables[name] = scored(results)
        m = pd.read_csv(results / "report" / "metrics.csv", dtype={"fold": str})
        metrics[name] = m[~m.fold.isin(["mean", "std"])].set_index(m.fold[~m.fold.isin(["mean", "std"])].astype(int))
    folds = sorted(metrics["with"].index)
    rows = []
    for name, t in tables.items():
        row = {"run": f"{name} TESS branches"}
        for col, label in (("roc_auc", "ROC-AUC"), ("pr_auc", "AP")):
            row[label] = f"{metrics[name][col].mean():.3f} ± {metrics[name][col].std(ddof=1):.3f}"
        for cls in CLASSES:
            of_class = t[t.true_class == cls]
            labelled = of_class[of_class.fold >= 0]
            per_fold = [float((labelled[labelled.fold == k].score >= 0.5).mean()) for k in folds]
            row[f"{cls}: n labelled / all"] = f"{len(labelled)} / {len(of_class)}"
            row[f"{cls} called planet, per fold"] = f"{np.nanmean(per_fold):.3f} ± {np.nanstd(per_fold, ddof=1):.3f}"
            row[f"{cls} called planet, all"] = f"{(of_class.score >= 0.5).mean():.3f}"
        rows.append(row)
    pd.set_option("display.width", 250)
    print()
    print(pd.DataFrame(rows).to_string(index=False))
    print("\npaired differences, with - without (standard error over folds):")
    for col in ("roc_auc", "pr_auc"):
        d = metrics["with"][col] - metrics["without"][col]
        print(f"  {col}: {d.mean():+.4f} ({d.std(ddof=1) / np.sqrt(len(d)):.4f})")
    for cls in CLASSES:
        per = {}
        for name, t in tables.items():
            lab = t[(t.true_class == cls) & (t.fold >= 0)]
            per[name] = np.array([float((lab[lab.fold == k].score >= 0.5).mean()) for k in folds])
        d = per["with"] - per["without"]
        d = d[np.isfinite(d)]
        se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
        print(f"  {cls} called planet: {d.mean():+.3f} ({se:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
