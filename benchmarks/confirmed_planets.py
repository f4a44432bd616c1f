"""What a user reads: the share of real confirmed planets a model set scores at p >= 0.5, and the
share of real false positives it scores above 0.5, from real light curves.

A ranking metric (ROC-AUC over a dozen planets) says nothing of where the probabilities sit; a
user who scores a known planet reads one number and expects it high. So every confirmed planet on
the stars whose light curves are at hand is scored through the public path (``exosieve.score``,
each star's signals together so that each one's views leave out its neighbours' transits), and so
is every real false positive there:

- Kepler: the KOIs of disposition CONFIRMED (the cumulative KOI table in ../shared/data) on the
  stars of ../shared/data's full-mission light curves and, with ``--lightcurves DIR``, on the
  stars of a fetched folder (the 71 held-out stars: benchmarks/real_tces.py says how to fetch
  them), each with two or more transits in the light curve; a confirmed KOI that is a DR24 TCE is
  scored with the TCE's ephemeris (what a user holding the TCE scores), one that is not with the
  KOI's. False positives: the DR24 TCEs labelled AFP or NTP on the same stars.
- TESS (``--mission tess``): the TOIs of CP/KP disposition (planets) and FP/FA (false positives)
  of the SPOC light curves in ../shared/data/tess/tid and, with ``--lightcurves DIR``, of any
  folder of TESS light curves (TGLC files as MAST serves them: ../shared/data/tess/ffi/tglc),
  matched to the TOI table by TIC id, epochs moved to BTJD, two or more transits in the data.

    python benchmarks/confirmed_planets.py --models kepler_dr24
    python benchmarks/confirmed_planets.py --models kepler_simulated --lightcurves ../data_ext/kepler_held_out
    python benchmarks/confirmed_planets.py --mission tess --models tess_simulated

Prints each model's share of planets at p >= 0.5 and of false positives above 0.5, with the
planets below 0.5 by name; ``--save`` writes every signal's scores. Which of these stars a model
was chosen on is for its card to say: the script only measures.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from helpers import (KEPLER_LC, SHARED_DATA, confirmed_shares, kepler_signals, score_confirmed_planets,  # noqa: E402
                     tess_signals)

def main() -> int:
    from exosieve.model_files import load_models
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", required=True, help="a bundle, a shipped bundle's name or a run's folder")
    ap.add_argument("--only", nargs="*", default=None, help="these of its models only")
    ap.add_argument("--mission", choices=["kepler", "tess"], default="kepler")
    ap.add_argument("--lightcurves", type=Path, nargs="*", default=[],
                    help="more folders of light curves (Kepler: MAST's layout; TESS: any layout)")
    ap.add_argument("--no-shared", action="store_true", help="leave ../shared/data's own light curves out")
    ap.add_argument("--save", type=Path, default=None, help="every signal's scores, as CSV")
    args = ap.parse_args()
    shared = [] if args.no_shared else [KEPLER_LC if args.mission == "kepler" else SHARED_DATA / "tess" / "tid"]
    roots = [r for r in shared + list(args.lightcurves) if r.is_dir()]
    if not roots:
        print("no light curves found: ../shared/data is absent and no --lightcurves folder was given")
        return 2
    models = load_models(args.models, names=args.only)
    signals, find = (kepler_signals if args.mission == "kepler" else tess_signals)(roots)
    table = score_confirmed_planets(signals, find, models)
    if args.save:
        table.to_csv(args.save, index=False)
    first = confirmed_shares(table, next(iter(models.models)))
    print(f"{first['planets']} confirmed planets and {first['false_positives']} false positives with 2+ transits in "
          f"the data, on {first['stars']} real {args.mission} stars, scored by {args.models} ({first['left_out']} "
          "with fewer transits left out)\n")
    for name in models.models:
        s = confirmed_shares(table, name)
        missed = ", ".join(f"{n} {v:.2f}" for n, v in s["missed"])
        print(f"{name:<9} planets at p >= 0.5: {s['planets_at_half']} / {s['planets']} "
              f"({s['planets_at_half'] / max(s['planets'], 1):.0%}); false positives above 0.5: "
              f"{s['false_above_half']} / {s['false_positives']} ({s['false_above_half'] / max(s['false_positives'], 1):.0%}); "
              f"median planet {s['median_planet']:.2f}\n          below 0.5: {missed or 'none'}")
        if s["false"]:
            print("          false positives above 0.5: " + ", ".join(f"{n} {v:.2f}" for n, v in s["false"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
