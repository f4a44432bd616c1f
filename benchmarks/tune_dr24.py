"""Tuned against default CNN settings on the real DR24 views, judged on the outer folds.

The workflow's own tune step (exosieve/tuning.py) runs one Optuna study per outer fold for
`astronet` on benchmarks/real_views.py's ``dr24`` set (on these views, with global and local
views only, exominer builds the same network), each trial scored by 2-fold cross-validation
inside that fold's training TCEs only, within a fixed wall-time budget per study; then each
outer fold trains with its own study's best settings (``models.astronet.from_tuning``) and is
scored on its test fold, which no trial saw. Prints, per fold, the tuned and the default model's
ROC-AUC, average precision, recall at precision 0.99 and ECE, and each metric's paired difference
with its standard error over folds: tuned settings count as better only beyond about two of those.

The default side is the ``dr24`` run of benchmarks/real_views.py (same catalog, seed and folds,
checked); run that first, or pass --dr24. Budget: --minutes per study; with --cores 2 two studies
run at a time, so 5 studies take about 3 x --minutes, plus training the 5 outer folds.

    python benchmarks/tune_dr24.py [--minutes 15] [--trials 40] [--cores 2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

from helpers import SHARED_DATA, run_workflow  # noqa: E402
from real_views import run_set, set_config  # noqa: E402

from exosieve.layout import RunLayout  # noqa: E402

METRICS = {"roc_auc": "ROC-AUC", "pr_auc": "AP", "recall_at_precision_0.99": "R@P0.99", "ece": "ECE"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--minutes", type=float, default=15.0, help="wall time per study (tune.timeout_min)")
    ap.add_argument("--trials", type=int, default=40, help="trials per study at most (tune.trials)")
    ap.add_argument("--max-epochs", type=int, default=10, help="epochs a trial may train (tune.max_epochs)")
    ap.add_argument("--work", type=Path, default=REPO / "results" / "benchmarks" / "real_views")
    ap.add_argument("--dr24", action="store_true", help="run the default dr24 set first if it is missing")
    args = ap.parse_args()
    if not (SHARED_DATA / "views").is_dir():
        print(f"real views not found at {SHARED_DATA / 'views'}; set EXOSIEVE_SHARED_DATA to the shared data folder")
        return 2
    default = args.work / "dr24"
    if not (default / "results" / "report" / "metrics.csv").exists():
        if not args.dr24:
            print(f"no default DR24 run at {default}: run benchmarks/real_views.py --sets dr24 first, or pass --dr24")
            return 2
        run_set("dr24", args.work, args.cores, [])

    folder = args.work / "dr24_tuned"
    cfg = {**set_config("dr24", args.work), "cv": {"folds": 5}, "report": {"sheets": 0},
           "models": {"enabled": ["astronet"], "primary": "astronet", "astronet": {"from_tuning": True}},
           "tune": {"models": ["astronet"], "trials": args.trials, "timeout_min": args.minutes,
                    "inner_folds": 2, "max_epochs": args.max_epochs, "pruner": "median"}}
    print(f"tuning and training: {run_workflow(folder, cfg, args.cores) / 60:.1f} min\n")

    folds = [pd.read_csv(f / "results" / "folds" / "folds.csv").sort_values("tce_id").reset_index(drop=True)
             for f in (default, folder)]
    if not folds[0].equals(folds[1]):
        print("the tuned and the default run have different folds; nothing to compare")
        return 1
    for k in range(5):
        study = Path(RunLayout(folder / "results").tune_dir("astronet", k))
        trials = pd.read_csv(study / "trials.csv")
        best = yaml.safe_load((study / "best.yaml").read_text())
        print(f"fold {k}: {len(trials)} trials ({(trials.state == 'COMPLETE').sum()} complete, "
              f"{(trials.state == 'PRUNED').sum()} pruned, {(trials.state == 'FAIL').sum()} failed); best "
              f"inner PR-AUC {trials.value.max():.4f}: {best['models']['astronet']} {best['training']}")

    def per_fold(run_folder: Path) -> pd.DataFrame:
        m = pd.read_csv(run_folder / "results" / "report" / "metrics.csv", dtype={"fold": str})
        m = m[(m.model == "astronet") & ~m.fold.isin(["mean", "std"])]
        return m.set_index(m.fold.astype(int))[list(METRICS)]

    tuned, base = per_fold(folder), per_fold(default)
    rows = []
    for col, label in METRICS.items():
        d = tuned[col] - base[col]
        rows.append({"metric": label, "default": f"{base[col].mean():.4f} ± {base[col].std(ddof=1):.4f}",
                     "tuned": f"{tuned[col].mean():.4f} ± {tuned[col].std(ddof=1):.4f}",
                     "tuned - default": f"{d.mean():+.4f}", "SE": f"{d.std(ddof=1) / np.sqrt(len(d)):.4f}",
                     "beyond noise": "yes" if abs(d.mean()) > 2 * d.std(ddof=1) / np.sqrt(len(d)) else "no"})
    print()
    print(pd.DataFrame(rows).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
