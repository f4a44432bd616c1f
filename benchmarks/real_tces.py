"""The default run's fold models, trained on the simulated survey only, scoring real Kepler TCEs.

Every DR24 TCE of the real stars in ../shared/data (full-mission light curves in MAST's layout)
goes through the workflow's own reader and preprocessing under the run's configuration and is
scored by every fold model of every model of that run: the mean calibrated probability over folds
and its spread, printed next to the TCE's DR24 label. A change that helps the simulation but hurts
real stars shows here. Run the default workflow first (snakemake --cores 2).

    python benchmarks/real_tces.py [--config config.yaml] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from exosieve.catalog.kepler import load_dr24  # noqa: E402
from exosieve.config import load  # noqa: E402
from exosieve.evaluation import ensemble_scores  # noqa: E402
from exosieve.lightcurves.mast import find_kepler_lightcurves  # noqa: E402
from exosieve.predict import run_models  # noqa: E402
from exosieve.preprocess import _assemble, preprocess_stars  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="config.yaml", help="the finished run's config")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    cfg = load(args.config)
    models = run_models(cfg)
    root = args.data / "kepler" / "lightcurves"
    stars = sorted({p.name.lstrip("0") for p in root.glob("*/*") if p.is_dir()})
    dr24 = load_dr24(args.data / "catalogs" / "q1_q17_dr24_tce.csv", cfg["catalog"]["labels"])[0]
    tces = dr24[dr24.star_id.isin(stars)].reset_index(drop=True)
    files = {s: find_kepler_lightcurves(root, s) for s in stars}
    results, failures = preprocess_stars(tces, files, set(), cfg, progress=False)
    data = _assemble(results, cfg)
    out = tces[["tce_id", "disposition", "period", "depth"]].copy()
    for name, fold_models in models.items():
        scores = ensemble_scores(fold_models, data).set_index("tce_id")
        out[name] = out.tce_id.map(scores["score"])
        out[f"{name}_std"] = out.tce_id.map(scores["score_std"])
    out["note"] = out.tce_id.map({f["tce_id"]: f["error"][:60] for f in failures if f["tce_id"]}).fillna("")
    pd.set_option("display.width", 200)
    print(f"{len(out)} DR24 TCEs on {len(stars)} real Kepler stars, scored by the fold models of {args.config} "
          "(trained on the simulated survey only); score = mean calibrated probability over folds (std)\n")
    cols = ["tce_id", "disposition", "period", "depth"]
    table = out[cols].copy()
    for name in models:
        table[name] = [f"{m:.3f} ({s:.3f})" if np.isfinite(m) else "-" for m, s in zip(out[name], out[f"{name}_std"])]
    table["note"] = out.note
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    scored = out.dropna(subset=list(models))
    pcs, others = scored[scored.disposition == "PC"], scored[scored.disposition.isin(["AFP", "NTP"])]
    print()
    for name in models:
        print(f"{name:<9} mean score: PC {pcs[name].mean():.3f} ({len(pcs)}), AFP/NTP {others[name].mean():.3f} "
              f"({len(others)}); PCs above every AFP/NTP: "
              f"{int((pcs[name] > others[name].max()).sum())} of {len(pcs)}")


if __name__ == "__main__":
    main()
