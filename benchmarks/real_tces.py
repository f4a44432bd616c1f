"""Trained models scoring the real labelled Kepler (or TESS) TCEs of ../shared/data from their light curves.

Every DR24 TCE of the real stars in ../shared/data (full-mission light curves in MAST's layout) is
scored through the public scoring path (exosieve.score: the workflow's reader, detrending, views
and features, with the preprocessing settings the models record) by every fold model of every
model of a run (its folder) or a bundle: the mean calibrated probability over folds and its
spread, printed next to the TCE's DR24 label, with where the planet candidates rank and each
model's ROC-AUC on these TCEs.

    python benchmarks/real_tces.py                                   # the default run (results/)
    python benchmarks/real_tces.py --models results/benchmarks/real_views/dr24   # DR24-views-trained
    python benchmarks/real_tces.py --models results/benchmarks/real_views/astronet_dr24 --only astronet
    python benchmarks/real_tces.py --mission tess --models tess_simulated   # the 8 SPOC TOIs, TOI ephemerides
    python benchmarks/real_tces.py --models kepler_simulated --no-depth     # ephemerides alone: no flag says "no dip"
    python benchmarks/real_tces.py --lightcurves DIR                 # the 71 held-out stars (below)

The held-out stars: 71 more real Kepler stars with full-mission light curves, 89 labelled DR24
TCEs on 51 of them (11 PC, 65 AFP, 13 NTP; 40 UNK TCEs are scored as neighbours, not counted),
on which no setting of ExoSieve was tuned (docs/real-data.md, "Held-out real stars", says what was in
view when). They are the light curves that Astronet's download
script fetched for a public project, in its history only: github.com/WilfHass/ML-Exoplanets at
commit 195771772f, data/kepler/ (1,302 files of 77 stars, 534 MB; 6 of the stars are
../shared/data's, left out here; one quarter of KIC 2860114 is truncated in that commit, and the
reader skips it, saying so). Public-domain Kepler data, but not in ../shared/data and too large
for this repository:

    git clone https://github.com/WilfHass/ML-Exoplanets
    git -C ML-Exoplanets archive 195771772f data/kepler | tar -x --strip-components=2 -C DIR

Tests read them from $EXOSIEVE_HELD_OUT_LIGHTCURVES, else ../data_ext/kepler_held_out beside the
checkout, and skip where they are absent. A run on real labels leaves these stars out with
benchmarks/real_views.py --held-out DIR.

Beside each ROC-AUC, its standard error over draws of whole stars with replacement, and each pair
of models' paired difference: over 11 PCs and 78 AFP/NTPs one pair of a PC and an AFP/NTP moves
the ROC-AUC by 0.001, but a star's TCEs rise or fall together, and stars are few.

With ``--mission tess`` the signals are the TOIs of the eight real SPOC 2-min light curves of
sector 1 (catalogs/toi.csv's ephemerides and TFOPWG dispositions: CP/KP = PC, FP = AFP, APC
unlabelled). The default run's models learned from the simulated survey only; a run on the real DR24 views
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

from helpers import SHARED_DATA, TOI_COLUMNS, real_kepler_tces, score_real_tces, tess_stars  # noqa: E402


def tess_tces(data: Path):
    """The TOIs of the real SPOC light curves (epochs to BTJD), labelled as the workflow labels
    TOIs (CP/KP = PC, FP = AFP, FA = NTP), and how to find a star's files."""
    from exosieve.catalog.table import normalize_columns
    from exosieve.lightcurves.mast import find_tess_lightcurves, tic_string
    root = data / "tess" / "tid"
    stars = tess_stars(root)
    toi = pd.read_csv(data / "catalogs" / "toi.csv", comment="#", low_memory=False)
    toi = toi[toi.tid.astype(str).isin(stars)]
    tces, _ = normalize_columns(toi, TOI_COLUMNS, {"positive": ["CP", "KP"], "negative": ["FP", "FA"]},
                                epoch_offset=2457000, mission="tess")
    assert toi.tid.is_unique, "one TOI per star here: the TOI name follows the star"
    tces["tce_id"] = "TOI-" + tces.star_id.map(dict(zip(toi.tid.astype(str), toi.toi.astype(str))))
    names = {"CP": "PC", "KP": "PC", "FP": "AFP", "FA": "NTP"}
    tces["disposition"] = tces["disposition"].map(names).fillna(tces["disposition"])
    return tces.reset_index(drop=True), lambda star: find_tess_lightcurves(root, tic_string(star))


def main() -> int:
    from sklearn.metrics import roc_auc_score

    from exosieve.evaluation import star_bootstrap_roc_auc
    from exosieve.model_files import load_models
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=str(REPO), help="a finished run's folder or a bundle (default: this "
                        "checkout's default run)")
    parser.add_argument("--only", nargs="*", default=None, help="score with these of its models only (e.g. "
                        "astronet of a run whose other models read a views dataset's own features)")
    parser.add_argument("--mission", choices=["kepler", "tess"], default="kepler")
    parser.add_argument("--lightcurves", type=Path, default=None, help="score the stars of this folder of Kepler "
                        "light curves (MAST's layout, NNNN/NNNNNNNNN/kplr*_llc.fits) that ../shared/data does not "
                        "hold, instead of ../shared/data's: the 71 held-out stars (see above)")
    parser.add_argument("--save", type=Path, default=None, help="write every TCE's scores to this CSV")
    parser.add_argument("--no-depth", action="store_true", help="score each signal from its ephemeris alone, as a "
                        "user who knows no depth would (the flags then check for any dip at all)")
    args = parser.parse_args()
    if args.lightcurves and args.mission != "kepler":
        parser.error("--lightcurves takes Kepler light curves; the TESS stars are ../shared/data's")
    models = load_models(args.models, names=args.only)
    tces, find = real_kepler_tces(args.lightcurves) if args.mission == "kepler" else tess_tces(SHARED_DATA)
    out = score_real_tces(tces, find, models, depth=not args.no_depth)
    names = list(models.models)
    if args.save:
        out.to_csv(args.save, index=False)
    pd.set_option("display.width", 220)
    geometry = models.settings["preprocessing"]["views"]
    print(f"{len(out)} {'DR24 TCEs' if args.mission == 'kepler' else 'TOIs'} on {tces.star_id.nunique()} real "
          f"{args.mission.title() if args.mission == 'kepler' else 'TESS'} stars, scored by {args.models} "
          f"(trained on the {models.settings['source']} source; views {geometry['global_bins']}/"
          f"{geometry['local_bins']} bins); score = mean calibrated probability over folds (std)\n")
    table = out[["tce_id", "disposition", "period", "depth"]].copy()
    for name in names:
        table[name] = [f"{m:.3f} ({s:.3f})" if np.isfinite(m) else "-" for m, s in zip(out[name], out[f"{name}_std"])]
    table["note"] = out.error.fillna(out.flag).fillna("").str[:70]   # in full below the table
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    notes = out.error.replace("", np.nan).fillna(out.flag.replace("", np.nan))
    if notes.notna().any():
        print("\nnotes in full:")
        for tce_id, note in zip(out.tce_id[notes.notna()], notes.dropna()):
            print(f"  {tce_id}: {note}")
    scored = out.dropna(subset=names)
    labelled = scored[scored.disposition.isin(["PC", "AFP", "NTP"])]
    y = (labelled.disposition == "PC").to_numpy()
    pcs, others = labelled[y], labelled[~y]
    print()
    trusted = (labelled.status == "scored").to_numpy()      # no flag: the scores a user may take as verdicts
    draws = star_bootstrap_roc_auc(y, {name: labelled[name] for name in names}, labelled.star_id)
    for name in names:
        ranks = labelled[name].rank(ascending=False, method="min")[y].astype(int).tolist()
        unflagged = (f"; on the {trusted.sum()} unflagged ({y[trusted].sum()} PC) "
                     f"{roc_auc_score(y[trusted], labelled[name][trusted]):.3f}"
                     if 0 < y[trusted].sum() < trusted.sum() else "")
        below = [f"{t} {v:.3f}" for t, v in zip(pcs.tce_id, pcs[name]) if v < 0.1]
        print(f"{name:<9} PCs rank {sorted(ranks)} of {len(labelled)}; PCs above every AFP/NTP: "
              f"{int((pcs[name] > others[name].max()).sum())} of {len(pcs)}; ROC-AUC {roc_auc_score(y, labelled[name]):.3f}"
              f" ± {draws[name].std():.3f}{unflagged}; PCs below 0.1: {', '.join(below) or 'none'}")
    if len(names) > 1:
        print(f"\n± is the standard error over {len(draws)} draws of whole stars with replacement; paired "
              "differences on the same draws (a difference counts only beyond about two of them):")
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                diff = draws[a] - draws[b]
                print(f"  {a} - {b}: {roc_auc_score(y, labelled[a]) - roc_auc_score(y, labelled[b]):+.3f} "
                      f"± {diff.std():.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
