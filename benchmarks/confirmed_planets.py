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

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from helpers import DR24, KEPLER_LC, SHARED_DATA, TOI_COLUMNS, star_folders  # noqa: E402

# A confirmed KOI is the DR24 TCE at the same period to this fraction.
SAME_PERIOD = 0.002


def transits_with_data(time: np.ndarray, period: float, epoch: float, duration: float) -> int:
    """How many of the signal's transits hold at least one cadence within half a duration of mid-transit."""
    n = np.round((time - epoch) / period)
    inside = np.abs(time - (epoch + n * period)) < duration / 2
    return int(np.unique(n[inside]).size)


def kepler_signals(roots: list[Path]) -> tuple[pd.DataFrame, callable]:
    """Every star's DR24 TCEs plus its confirmed KOIs that are none of them; ``role`` says which rows count."""
    from exosieve.catalog.kepler import load_dr24
    from exosieve.config import load
    from exosieve.lightcurves.mast import find_kepler_lightcurves
    where = {star: root for root in reversed(roots) for star in star_folders(root)}
    dr24 = load_dr24(DR24, load()["catalog"]["labels"])[0]
    dr24 = dr24[dr24.star_id.isin(set(where))].copy()
    koi = pd.read_csv(SHARED_DATA / "catalogs" / "koi_cumulative.csv", comment="#")
    koi = koi[koi.kepid.astype(str).isin(set(where)) & (koi.koi_disposition == "CONFIRMED")]
    dr24["role"] = np.where(dr24.disposition.isin(["AFP", "NTP"]), "false positive", "neighbour")
    dr24["name"] = dr24.tce_id
    extra = []
    for k in koi.itertuples():
        star = str(k.kepid)
        same = dr24[(dr24.star_id == star) & (np.abs(dr24.period / k.koi_period - 1) < SAME_PERIOD)]
        name = k.kepler_name if isinstance(k.kepler_name, str) else k.kepoi_name
        if len(same):
            dr24.loc[same.index[0], ["role", "name"]] = ["planet", name]
            continue
        extra.append({"tce_id": k.kepoi_name, "star_id": star, "period": k.koi_period, "epoch": k.koi_time0bk,
                      "duration": k.koi_duration / 24.0, "depth": k.koi_depth, "disposition": "CONFIRMED",
                      "role": "planet", "name": name})
    signals = pd.concat([dr24, pd.DataFrame(extra)], ignore_index=True)
    return signals, lambda star: find_kepler_lightcurves(where[star], star)


def tess_signals(roots: list[Path]) -> tuple[pd.DataFrame, callable]:
    from exosieve.catalog.table import normalize_columns
    files: dict[str, list[Path]] = {}
    for root in roots:
        for star, paths in _tess_files(root).items():
            files.setdefault(star, []).extend(paths)
    toi = pd.read_csv(SHARED_DATA / "catalogs" / "toi.csv", comment="#", low_memory=False)
    toi = toi[toi.tid.astype(str).isin(set(files))]
    tces, _ = normalize_columns(toi, TOI_COLUMNS, {"positive": ["CP", "KP"], "negative": ["FP", "FA"]},
                                epoch_offset=2457000, mission="tess")
    tces["tce_id"] = "TOI-" + toi.toi.astype(str).to_numpy()
    tces["name"] = tces.tce_id
    disp = toi.tfopwg_disp.astype(str).to_numpy()
    tces["role"] = np.select([np.isin(disp, ["CP", "KP"]), np.isin(disp, ["FP", "FA"])],
                             ["planet", "false positive"], "neighbour")
    return tces.reset_index(drop=True), lambda star: files[str(star)]


def _tess_files(root: Path) -> dict[str, list[Path]]:
    """A folder's TESS light curves by star: MAST-named files by their names, any other FITS file by
    its header's TIC id (the reader matches files to stars by header either way)."""
    from astropy.io import fits

    from exosieve.lightcurves.mast import index_lightcurves
    found = index_lightcurves(root)
    named = {p for paths in found.values() for p in paths}
    for path in sorted(Path(root).rglob("*.fits")):
        if path in named:
            continue
        tic = fits.getheader(path).get("TICID")
        if tic not in (None, ""):
            found.setdefault(str(int(tic)), []).append(path)
    return found


def main() -> int:
    from exosieve.lightcurves.reader import LightCurveError
    from exosieve.model_files import load_models
    from exosieve.scoring import config_for, score, to_lightcurve
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
    cfg = config_for(models)
    signals, find = (kepler_signals if args.mission == "kepler" else tess_signals)(roots)
    rows = []
    for star, group in signals.groupby("star_id", sort=False):
        try:
            lc = to_lightcurve(find(star), star, cfg=cfg)
        except LightCurveError as exc:
            print(f"star {star}: no usable light curve ({exc}); its {len(group)} signal(s) left out")
            continue
        group = group.assign(transits=[transits_with_data(lc.time, p, e, d)
                                       for p, e, d in zip(group.period, group.epoch, group.duration)])
        cols = ["tce_id", "star_id", "period", "epoch", "duration", "depth"]
        out = score(lc, group[cols].to_dict("records"), models, star_id=star, attributions=False)
        rows.append(group[["tce_id", "star_id", "name", "role", "disposition", "transits"]].merge(
            out.drop(columns=["star_id"]), on="tce_id"))
    table = pd.concat(rows, ignore_index=True)
    if args.save:
        table.to_csv(args.save, index=False)
    counted = table[(table.role != "neighbour") & (table.transits >= 2)]
    planets, fps = counted[counted.role == "planet"], counted[counted.role == "false positive"]
    left = table[(table.role != "neighbour") & (table.transits < 2)]
    print(f"{len(planets)} confirmed planets and {len(fps)} false positives with 2+ transits in the data, on "
          f"{counted.star_id.nunique()} real {args.mission} stars, scored by {args.models} "
          f"({len(left)} with fewer transits left out)\n")
    for name in models.models:
        hit = planets[name] >= 0.5
        false = fps[name] > 0.5
        missed = ", ".join(f"{n} {v:.2f}" for n, v in zip(planets.name[~hit], planets[name][~hit]))
        print(f"{name:<9} planets at p >= 0.5: {hit.sum()} / {len(planets)} ({hit.mean():.0%}); "
              f"false positives above 0.5: {false.sum()} / {len(fps)} ({false.mean():.0%}); "
              f"median planet {planets[name].median():.2f}\n          below 0.5: {missed or 'none'}")
        fp_names = ", ".join(f"{n} {v:.2f}" for n, v in zip(fps.name[false], fps[name][false]))
        if fp_names:
            print(f"          false positives above 0.5: {fp_names}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
