"""ExoSieve's views against Astronet's own recipe, on the real Kepler stars in ../shared/data.

For every DR24 TCE of the stars whose full-mission light curves are there, three global (2001
bins over the orbit) and local (201 bins of 0.16 durations over +-4 durations) views are made:

1. Astronet's recipe, run with Astronet's own code (google-research/exoplanet-ml, Shallue &
   Vanderburg 2018): PDCSAP flux of every finite cadence, split at gaps over 0.75 d, its
   ``kepler_spline.fit_kepler_spline`` (break-point spacing chosen by BIC), divided out, folded,
   and binned by its ``binning.bin_and_aggregate`` (median). The few lines of
   ``astronet/data/preprocess.py`` that glue these together are restated here because that module
   imports TensorFlow.
2. ExoSieve with Astronet's geometry (``views: {global_bins: 2001, local_bins: 201,
   local_durations: 4, local_bin_width: 0.16, global_bin_width: spacing}``), through the same
   ``preprocess_star`` the workflow runs.
3. A plain lightkurve recipe: read, stitch, ``flatten`` with the TCE's transits masked, fold, and
   bin on Astronet's grid with Astronet's binning.

It prints Pearson's r of (2) and (3) against (1) for each TCE and the medians, overall and for
TCEs deeper than 500 ppm (Pearson's r ignores the views' different offsets and scales).

    pip install pydl six            # Astronet's spline needs them
    python benchmarks/astronet_views.py --astronet /path/to/exoplanet-ml   # the repository's root
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from exosieve.catalog.kepler import load_dr24  # noqa: E402
from exosieve.config import load  # noqa: E402
from exosieve.lightcurves.mast import find_kepler_lightcurves  # noqa: E402
from exosieve.preprocess import preprocess_star  # noqa: E402

sys.path.insert(0, str(REPO / "tests"))
from helpers import SHARED_DATA as SHARED, star_folders  # noqa: E402
ASTRONET_GEOMETRY = {"global_bins": 2001, "local_bins": 201, "local_durations": 4.0, "local_bin_width": 0.16,
                     "global_bin_width": "spacing"}


def import_astronet(root: Path):
    """Astronet's TensorFlow-free modules: binning, util and its Kepler spline."""
    base = root / "exoplanet-ml" if (root / "exoplanet-ml").is_dir() else root
    sys.path.insert(0, str(base))
    # Astronet's binning predates numpy 1.24, which removed these aliases.
    np.float, np.int = float, int  # type: ignore[attr-defined]
    from light_curve import binning, util
    from third_party.kepler_spline import kepler_spline
    return binning, util, kepler_spline


def astronet_views(paths, tce, binning, util, kepler_spline):
    """Astronet's preprocess.read_light_curve / process_light_curve / global_view / local_view."""
    from astropy.io import fits
    all_time, all_flux = [], []
    for path in paths:
        with fits.open(path) as hdul:
            data = hdul["LIGHTCURVE"].data
            time, flux = np.asarray(data.TIME, float), np.asarray(data.PDCSAP_FLUX, float)
        ok = np.isfinite(time) & np.isfinite(flux)
        all_time.append(time[ok])
        all_flux.append(flux[ok])
    all_time, all_flux = util.split(all_time, all_flux, gap_width=0.75)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spline = kepler_spline.fit_kepler_spline(all_time, all_flux, verbose=False)[0]
    time, flux, spline = (np.concatenate(x) for x in (all_time, all_flux, spline))
    finite = np.isfinite(spline)
    time, flux = time[finite], flux[finite] / spline[finite]
    period, duration = tce.period, tce.duration
    folded = util.phase_fold_time(time, period, tce.epoch)
    order = np.argsort(folded)
    return view(binning, folded[order], flux[order], period, duration)


def view(binning, folded, flux, period, duration):
    """Astronet's generate_view on its global and local grids, normalised its way."""
    out = []
    for num_bins, width, lo, hi in ((2001, period / 2001, -period / 2, period / 2),
                                    (201, 0.16 * duration, max(-period / 2, -4 * duration),
                                     min(period / 2, 4 * duration))):
        v, counts = binning.bin_and_aggregate(folded, flux, num_bins, width, lo, hi)
        v = np.where(counts > 0, v, np.median(flux))
        v -= np.median(v)
        out.append(v / np.abs(np.min(v)))
    return out


def lightkurve_views(paths, tce, binning):
    import lightkurve as lk
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lc = lk.LightCurveCollection([lk.read(p) for p in paths]).stitch().remove_nans()
        mask = lc.create_transit_mask(period=tce.period, transit_time=tce.epoch, duration=1.5 * tce.duration)
        flat = lc.flatten(window_length=101, mask=mask)
    t = np.asarray(flat.time.value, float)
    f = np.asarray(flat.flux.value, float)
    folded = (t - tce.epoch + 0.5 * tce.period) % tce.period - 0.5 * tce.period
    order = np.argsort(folded)
    return view(binning, folded[order], f[order], tce.period, tce.duration)


def pearson(a, b) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--astronet", required=True, type=Path, help="a checkout of google-research/exoplanet-ml")
    parser.add_argument("--data", type=Path, default=SHARED)
    args = parser.parse_args()
    binning, util, kepler_spline = import_astronet(args.astronet)
    dr24 = load_dr24(args.data / "catalogs" / "q1_q17_dr24_tce.csv", {"positive": ["PC"], "negative": ["AFP", "NTP"]})[0]
    root = args.data / "kepler" / "lightcurves"
    stars = sorted(star_folders(root))
    cfg = load({"views": ASTRONET_GEOMETRY, "models": {"enabled": ["exominer"], "primary": "exominer"}})
    rows = []
    for star in stars:
        paths = find_kepler_lightcurves(root, star)
        tces = dr24[dr24.star_id == star]
        if tces.empty or not paths:
            continue
        results, _ = preprocess_star(paths, tces, cfg)
        ours = {t.tce_id: v for t, v, _ in results}
        for tce in tces.itertuples():
            if tce.tce_id not in ours:
                continue
            a_global, a_local = astronet_views(paths, tce, binning, util, kepler_spline)
            k_global, k_local = lightkurve_views(paths, tce, binning)
            rows.append({"tce_id": tce.tce_id, "label": tce.disposition, "depth_ppm": tce.depth,
                         "r_local": pearson(ours[tce.tce_id]["local"], a_local),
                         "r_global": pearson(ours[tce.tce_id]["global"], a_global),
                         "lk_r_local": pearson(k_local, a_local), "lk_r_global": pearson(k_global, a_global)})
            print(f"  {tce.tce_id:<12} {tce.disposition:<4} {tce.depth:>9.1f} ppm  ExoSieve r local "
                  f"{rows[-1]['r_local']:.3f} global {rows[-1]['r_global']:.3f}   lightkurve r local "
                  f"{rows[-1]['lk_r_local']:.3f} global {rows[-1]['lk_r_global']:.3f}", flush=True)
    table = pd.DataFrame(rows)
    deep = table[table.depth_ppm > 500]
    for name, part in (("all", table), ("deeper than 500 ppm", deep)):
        med = part[["r_local", "r_global", "lk_r_local", "lk_r_global"]].median()
        print(f"median Pearson r against Astronet's own views, {name} ({len(part)} TCEs): ExoSieve local "
              f"{med.r_local:.3f}, global {med.r_global:.3f}; lightkurve flatten/fold local {med.lk_r_local:.3f}, "
              f"global {med.lk_r_global:.3f}")


if __name__ == "__main__":
    main()
