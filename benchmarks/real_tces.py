"""Trained models scoring the real labelled Kepler TCEs of ../shared/data from their light curves.

Every DR24 TCE of the real stars in ../shared/data (full-mission light curves in MAST's layout) is
scored through the public scoring path (exosieve.score: the workflow's reader, detrending, views
and features, with the preprocessing settings the models record) by every fold model of every
model of a run (its folder) or a bundle: the mean calibrated probability over folds and its
spread, printed next to the TCE's DR24 label, with where the planet candidates rank and each
model's ROC-AUC on these TCEs.

    python benchmarks/real_tces.py                                   # the default run (results/)
    python benchmarks/real_tces.py --models results/benchmarks/real_views/dr24   # DR24-views-trained
    python benchmarks/real_tces.py --models results/benchmarks/real_views/astronet_dr24 --only astronet

The default run's models learned from the simulated survey only; a run on the real DR24 views
(benchmarks/real_views.py, its stars of ../shared/data left out) learned from real labels at
the DR24 views' geometry, and scores these light curves as unseen stars.
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

from conftest import SHARED_DATA  # noqa: E402


def main() -> int:
    from sklearn.metrics import roc_auc_score

    from exosieve.catalog.kepler import load_dr24
    from exosieve.config import load
    from exosieve.lightcurves.mast import find_kepler_lightcurves
    from exosieve.model_files import load_models
    from exosieve.scoring import score
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=str(REPO), help="a finished run's folder or a bundle (default: this "
                        "checkout's default run)")
    parser.add_argument("--data", type=Path, default=SHARED_DATA)
    parser.add_argument("--only", nargs="*", default=None, help="score with these of its models only (e.g. "
                        "astronet of a run whose other models read a views dataset's own features)")
    args = parser.parse_args()
    models = load_models(args.models, names=args.only)
    root = args.data / "kepler" / "lightcurves"
    stars = sorted({p.name.lstrip("0") for p in root.glob("*/*") if p.is_dir()})
    dr24 = load_dr24(args.data / "catalogs" / "q1_q17_dr24_tce.csv", load()["catalog"]["labels"])[0]
    tces = dr24[dr24.star_id.isin(stars)].reset_index(drop=True)
    parts = []
    for star, group in tces.groupby("star_id", sort=False):
        signals = group[["tce_id", "star_id", "period", "epoch", "duration", "depth"]].to_dict("records")
        parts.append(score(find_kepler_lightcurves(root, star), signals, models, attributions=False))
    out = tces[["tce_id", "disposition", "period", "depth"]].merge(pd.concat(parts).drop(columns=["period", "depth"]),
                                                                  on="tce_id")
    names = list(models.models)
    pd.set_option("display.width", 220)
    geometry = models.settings["preprocessing"]["views"]
    print(f"{len(out)} DR24 TCEs on {len(stars)} real Kepler stars, scored by {args.models} "
          f"(trained on the {models.settings['source']} source; views {geometry['global_bins']}/"
          f"{geometry['local_bins']} bins); score = mean calibrated probability over folds (std)\n")
    table = out[["tce_id", "disposition", "period", "depth"]].copy()
    for name in names:
        table[name] = [f"{m:.3f} ({s:.3f})" if np.isfinite(m) else "-" for m, s in zip(out[name], out[f"{name}_std"])]
    table["note"] = out.error.fillna("").str[:60]
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    scored = out.dropna(subset=names)
    labelled = scored[scored.disposition.isin(["PC", "AFP", "NTP"])]
    y = (labelled.disposition == "PC").to_numpy()
    pcs, others = labelled[y], labelled[~y]
    print()
    for name in names:
        ranks = labelled[name].rank(ascending=False, method="min")[y].astype(int).tolist()
        print(f"{name:<9} PCs rank {sorted(ranks)} of {len(labelled)}; PCs above every AFP/NTP: "
              f"{int((pcs[name] > others[name].max()).sum())} of {len(pcs)}; ROC-AUC {roc_auc_score(y, labelled[name]):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
