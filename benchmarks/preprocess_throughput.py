"""Preprocessing throughput on real full-mission Kepler files with the DR24 ephemerides.

Prints TCEs per second on one core for the whole per-star preprocessing (read, detrend, every
view, every feature), and the I/O floor: reading the same FITS columns and nothing else.

    python benchmarks/preprocess_throughput.py [--data ../shared/data] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as one Snakemake job with threads: 1

import numpy as np  # noqa: E402
from astropy.io import fits  # noqa: E402

from exosieve.catalog.kepler import load_dr24  # noqa: E402
from exosieve.config import load  # noqa: E402
from exosieve.lightcurves.mast import find_kepler_lightcurves  # noqa: E402
from exosieve.preprocess import preprocess_star  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from helpers import SHARED_DATA  # noqa: E402

COLUMNS = ["TIME", "PDCSAP_FLUX", "PDCSAP_FLUX_ERR", "SAP_QUALITY", "MOM_CENTR1", "MOM_CENTR2"]


def read_columns_only(paths) -> int:
    n = 0
    for p in paths:
        with fits.open(p, memmap=False) as hdul:
            data = hdul[1].data
            n += sum(np.asarray(data[c]).size for c in COLUMNS)
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=SHARED_DATA)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    lc_root = args.data / "kepler" / "lightcurves"
    cfg = load({})
    tces, _ = load_dr24(args.data / "catalogs" / "q1_q17_dr24_tce.csv", cfg["catalog"]["labels"])
    stars = []
    for star_id, star_tces in tces.groupby("star_id"):
        paths = find_kepler_lightcurves(lc_root, star_id)
        if len(paths) >= 10:  # the full-mission stars (not Kepler-90, which has 3 quarters here)
            stars.append((star_id, paths, star_tces))
    if not stars:
        raise SystemExit(f"no full-mission Kepler stars under {lc_root}")
    n_tces = sum(len(t) for _, _, t in stars)
    n_files = sum(len(p) for _, p, _ in stars)
    best_pre, best_io = np.inf, np.inf
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        done = 0
        for _, paths, star_tces in stars:
            results, _ = preprocess_star(paths, star_tces, cfg)
            done += len(results)
        best_pre = min(best_pre, time.perf_counter() - t0)
        t0 = time.perf_counter()
        for _, paths, _ in stars:
            read_columns_only(paths)
        best_io = min(best_io, time.perf_counter() - t0)
    print(f"stars: {len(stars)}  FITS files: {n_files}  TCEs: {n_tces} (preprocessed: {done})")
    print(f"views: {', '.join(cfg['views']['enabled'])}")
    print(f"preprocess (read + detrend + views + features): {best_pre:.2f} s  -> "
          f"{n_tces / best_pre:.2f} TCEs/s, {len(stars) / best_pre:.2f} stars/s on one core")
    print(f"I/O floor (read the same FITS columns only):    {best_io:.2f} s  -> "
          f"{n_tces / best_io:.2f} TCEs/s")
    print(f"preprocessing / I/O floor: {best_pre / best_io:.1f}x")


if __name__ == "__main__":
    main()
