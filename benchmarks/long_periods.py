"""exominer on long-period planets and planets in systems: the simulated survey at 17 quarters
beside the default six.

Kepler's full mission (17 quarters) holds planets at 100-500 d with three or more transits, and a
third of its candidates share their star with another. The default run's six quarters hold few
such planets, so what exominer does on them is measured here on a run of the same survey (same
seeds and stars) observed for 17 quarters, exominer only, beside the default run's exominer. Per
run, out of fold: ROC-AUC and average precision (mean ± std over the 5 folds, the report's
model_comparison.csv), and for the labelled planets by period band and by whether their star has
another TCE at a distinct period (catalog.ephemeris.has_distinct_neighbour, as the multiplicity
prior counts it): how many, their median score, how many the model calls planets (score >= 0.5)
and how many score below 0.1.

    python benchmarks/long_periods.py                    # runs the 17-quarter survey (about 20 min on 2 cores)
    python benchmarks/long_periods.py --stars 500        # a smaller survey, both runs at that size
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from helpers import run_workflow  # noqa: E402

BANDS = [(0, 10), (10, 100), (100, 500)]


def planets_table(results: Path) -> pd.DataFrame:
    """Labelled planets of a finished run: out-of-fold score, period band, distinct neighbour."""
    from exosieve.catalog.ephemeris import has_distinct_neighbour
    from exosieve.catalog.table import read_normalized
    tces = read_normalized(results / "catalog" / "tces.csv")
    neighbour = pd.Series(has_distinct_neighbour(tces), index=tces.tce_id.to_numpy())
    cat = pd.read_csv(results / "report" / "vetted_catalog.csv", dtype={"tce_id": str})
    pcs = cat[cat.label == 1].copy()
    pcs["neighbour"] = pcs.tce_id.map(neighbour).fillna(False).astype(bool)
    pcs["band"] = pd.cut(pcs.period, [lo for lo, _ in BANDS] + [BANDS[-1][1]],
                         labels=[f"{lo}-{hi} d" for lo, hi in BANDS], right=False)
    return pcs


def summary(name: str, results: Path) -> list[dict]:
    comparison = pd.read_csv(results / "report" / "model_comparison.csv").set_index("model").loc["exominer"]
    pcs = planets_table(results)
    rows = [{"run": name, "planets": "all labelled TCEs", "n": int(pd.read_csv(results / "folds" / "folds.csv")
                                                                    .label.ge(0).sum()),
             "ROC-AUC": comparison.roc_auc, "AP": comparison.pr_auc}]
    groups = [(str(b), pcs[pcs.band == b]) for b in pcs.band.cat.categories]
    groups += [("beside a distinct-period TCE", pcs[pcs.neighbour]), ("alone on its star", pcs[~pcs.neighbour])]
    for label, part in groups:
        rows.append({"run": name, "planets": f"PCs {label}", "n": len(part),
                     "median score": float(np.median(part.score)) if len(part) else np.nan,
                     "called planet": int((part.score >= 0.5).sum()), "below 0.1": int((part.score < 0.1).sum())})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stars", type=int, default=1500)
    parser.add_argument("--quarters", type=int, default=17)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--work", type=Path, default=REPO / "results" / "benchmarks" / "long_periods")
    parser.add_argument("--baseline", type=Path, default=REPO / "results",
                        help="the default six-quarter run's results folder (default: this checkout's)")
    args = parser.parse_args()
    from exosieve.config import load
    seeds = load({})
    runs = {}
    for name, quarters in (("6 quarters", 6), (f"{args.quarters} quarters", args.quarters)):
        if quarters == 6 and args.stars == seeds["survey"]["stars"] and (args.baseline / "report").is_dir():
            runs[name] = args.baseline
            continue
        folder = args.work / f"q{quarters}_s{args.stars}"
        cfg = {"survey": {"stars": args.stars, "quarters": quarters, "seed": seeds["survey"]["seed"]},
               "models": {"enabled": ["exominer"], "primary": "exominer"}}
        seconds = run_workflow(folder, cfg, args.cores)
        print(f"{name}: the workflow took {seconds / 60:.1f} min", flush=True)
        runs[name] = folder / "results"
    table = pd.DataFrame([row for name, results in runs.items() for row in summary(name, results)])
    for column in ("called planet", "below 0.1"):
        table[column] = [f"{v:.0f}" if pd.notna(v) else "" for v in table[column]]
    pd.set_option("display.width", 200)
    print(table.to_string(index=False, na_rep="", float_format=lambda v: f"{v:.3f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
