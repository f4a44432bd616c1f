"""The models on real labelled views at scale, through the workflow itself: `snakemake` on the
`views` source, 5 folds stratified by label and grouped by star, every model of the default list
that can read views (raw_flux needs a light curve and is skipped).

Sets (../shared/data/views; see its README):

- ``dr24``: Kepler DR24's autovetter training set as DART-Vetter published it (global 201 and
  local 61 bins; 19,336 records: 15,736 TCEs on 9,864 stars and a mirror image of each PC, which
  the views source drops); labels 1 = PC, 0 = AFP or NTP. No scalar features: exominer and
  astronet are the same network here. The 8 stars whose light curves ../shared/data holds are
  left out (catalog.exclude: 12 of the TCEs), and the views' geometry is declared
  (views.preset: dartvetter_dr24), so that benchmarks/real_tces.py --models can score their light
  curves with this run's models.
- ``dr24_features``: the same records with each one's TCE recovered from the record order
  (benchmarks/dr24_views.py, checked record by record), so that exominer's scalar branch has the
  DR24 table's period, duration and depth, and the trees learn from the flattened views and those.
- ``tess``: 1,506 TESS TOIs as SPOC 2-min views (each twice, two different views, so folds are
  grouped by TIC), labelled from today's TOI table (catalogs/toi.csv: CP/KP = PC, FP = AFP,
  FA = NTP; TOI PCs and APCs unlabelled).

Prints per set and model: ROC-AUC, average precision, recall at precision 0.99 and ECE, mean +-
std over the 5 folds, and the ECE of all out-of-fold scores pooled. Work folders are kept under
--work, so a rerun after a change retrains only what changed (Snakemake decides).

    python benchmarks/real_views.py [--sets dr24,dr24_features,tess] [--cores 2] [--config 'training={max_epochs: 20}']
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

from conftest import SHARED_DATA  # noqa: E402
from workflow_run import run_workflow  # noqa: E402

METRICS = {"roc_auc": "ROC-AUC", "pr_auc": "AP", "recall_at_precision_0.99": "R@P0.99", "ece": "ECE"}
# Anchors on the DR24 views, for the table (README, "Real labelled data").
ANCHORS = """anchors: scikit-learn HistGradientBoosting on the flattened DR24 views, measured in ../shared/data's README:
ROC-AUC 0.958, AP 0.865 (a floor); Shallue & Vanderburg (2018) ROC-AUC 0.988 on their DR24 test split
(2001/201-bin views); Exonet (Ansdell et al. 2018) AP 0.980 there; ExoMiner recall 0.936 at precision 0.99
(Kepler DR25)."""


def real_kepler_stars() -> list[str]:
    """The stars whose full-mission light curves are in ../shared/data: left out of the DR24 runs,
    so that their models can score those light curves as unseen stars (benchmarks/real_tces.py)."""
    root = SHARED_DATA / "kepler" / "lightcurves"
    return sorted({p.name.lstrip("0") for p in root.glob("*/*") if p.is_dir()})


def set_config(name: str, work: Path) -> dict:
    views = SHARED_DATA / "views"
    # The DR24 records' geometry, declared, so that these runs' models can score light curves.
    dr24 = {"views": {"preset": "dartvetter_dr24"}}
    if name == "dr24":
        catalog = {"source": "views", "path": str(views / "kepler_dr24_dartvetter"),
                   "labels": {"positive": [1], "negative": [0]}, "exclude": real_kepler_stars()}
        return {"catalog": catalog, **dr24}
    if name == "dr24_features":
        from dr24_views import with_tce_ids
        path = with_tce_ids(SHARED_DATA, work / "dr24_tce_views")
        catalog = {"source": "views", "path": str(path), "views_features": ["tce_period", "tce_duration", "tce_depth"],
                   "exclude": real_kepler_stars()}
        return {"catalog": catalog, "models": {"trees": {"inputs": "views"}}, **dr24}
    if name == "tess":
        catalog = {"source": "views", "path": str(views / "tess_toi_hultstrand"),
                   "labels_path": str(SHARED_DATA / "catalogs" / "toi.csv")}
        return {"catalog": catalog}
    raise SystemExit(f"unknown set {name}; the sets are dr24, dr24_features, tess")


def run_set(name: str, work: Path, cores: int, extra: list[str]) -> tuple[pd.DataFrame, float]:
    folder = work / name
    cfg = {**set_config(name, work), "cv": {"folds": 5}, "report": {"sheets": 2}}
    seconds = run_workflow(folder, cfg, cores, extra)
    return table(folder / "results" / "report", name), seconds


def table(report: Path, name: str) -> pd.DataFrame:
    metrics = pd.read_csv(report / "metrics.csv")
    folds = metrics[~metrics.fold.isin(["mean", "std"])]
    calibration = pd.read_csv(report / "calibration.csv").set_index("model")
    rows = []
    for model, m in folds.groupby("model", sort=False):
        row = {"set": name, "model": model, "TCEs": int(m.n.sum()), "PC": int(m.n_positive.sum())}
        for col, label in METRICS.items():
            row[label] = f"{m[col].mean():.3f} ± {m[col].std(ddof=1):.3f}"
        row["ECE pooled"] = f"{calibration.loc[model, 'ece']:.3f}"
        rows.append(row)
    return pd.DataFrame(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="dr24,dr24_features,tess")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--work", type=Path, default=REPO / "results" / "benchmarks" / "real_views")
    ap.add_argument("--config", nargs="*", default=[], help="extra Snakemake --config items for every set")
    args = ap.parse_args()
    if not (SHARED_DATA / "views").is_dir():
        print(f"real views not found at {SHARED_DATA / 'views'}; set EXOSIEVE_SHARED_DATA to the shared data folder")
        return 2
    tables = []
    for name in args.sets.split(","):
        t, seconds = run_set(name, args.work, args.cores, args.config)
        print(f"{name}: {seconds / 60:.1f} min", flush=True)
        tables.append(t)
    pd.set_option("display.width", 200)
    print()
    print(pd.concat(tables, ignore_index=True).to_string(index=False))
    print()
    print(ANCHORS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
