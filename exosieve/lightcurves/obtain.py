"""Locate or obtain every light-curve file of a shard's stars.

Returns an index (one row per file: star_id, path) and a failure list; a star whose files are
missing or cannot be made is recorded, never fatal for the shard.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from tqdm import tqdm

from ..utils import FAILURE_COLUMNS, TargetError, atomic_output
from .mast import find_kepler_lightcurves, find_lightcurves

INDEX_COLUMNS = ["star_id", "path"]


def locate_local(star_ids, root: Path, index: dict | None = None):
    """Each star's files under ``root``: in MAST's layout by a glob per star (no walk of a tree of
    200,000 stars' files), else in any layout, from one walk of the folder matching files by name
    or header (``locate.index_folder``; ``index``, when that walk was already made)."""
    from .locate import index_folder
    rows, failures = [], []
    if not Path(root).is_dir():
        raise FileNotFoundError(f"light-curve folder {root} does not exist (catalog.lightcurve_dir)")
    for sid in star_ids:
        try:
            paths = find_lightcurves(root, sid)
            if not paths:
                index = index_folder(root) if index is None else index
                paths = index.get(str(int(sid)), [])
            if not paths:
                raise TargetError(f"star {sid}: no light curves under {root}: no file named as in MAST's layout "
                                  "(NNNN/NNNNNNNNN/kplr*_llc.fits or sNNNN/AAAA/BBBB/CCCC/DDDD/tess*-s_lc.fits) and "
                                  "no FITS file whose header (TICID, KEPLERID, TIC_ID, OBJECT) names it")
        except TargetError as exc:
            failures.append({"star_id": sid, "stage": "lightcurves", "error": str(exc)})
            continue
        rows += [{"star_id": sid, "path": str(p)} for p in paths]
    return pd.DataFrame(rows, columns=INDEX_COLUMNS), failures


def generate_simulated(star_ids, catalog_files: dict, root: Path, survey: dict, progress: bool = True):
    """Generate (or reuse, when already complete) the simulated FITS files of these stars."""
    from ..simulate.lightcurves import generate_star
    from ..simulate.tess import generate_tess_star
    from .mast import find_tess_lightcurves
    stars = pd.read_csv(catalog_files["stars"]).set_index("kepid", drop=False)
    truth = pd.read_csv(catalog_files["truth"])
    by_star = dict(tuple(truth.groupby("kepid")))
    tess = survey.get("mission", "kepler") == "tess"
    rows, failures = [], []
    for sid in tqdm(star_ids, desc="light curves", unit="star", disable=not progress, mininterval=5):
        try:
            kepid = int(sid)
            if kepid not in stars.index:
                raise TargetError(f"star {sid} is not part of the simulated survey")
            star, signals = stars.loc[kepid], by_star.get(kepid, truth.iloc[:0])
            # Files are written atomically, so a full set is complete.
            if tess:
                expected = len(str(star["sectors"]).split(";"))
                paths = find_tess_lightcurves(root, sid)
                if len(paths) != expected:
                    paths = generate_tess_star(star, signals, survey["seed"], root, survey.get("tess_product", "spoc"))
            else:
                expected = survey["quarters"]
                paths = find_kepler_lightcurves(root, sid)
                if len(paths) != expected:
                    paths = generate_star(star, signals, expected, survey["seed"], root)
            assert len(paths) == expected
        except (TargetError, ValueError) as exc:
            failures.append({"star_id": sid, "stage": "lightcurves", "error": str(exc)})
            continue
        rows += [{"star_id": sid, "path": str(p)} for p in paths]
    return pd.DataFrame(rows, columns=INDEX_COLUMNS), failures


def write_lightcurve_index(source, targets_csv, index_csv, failures_csv, progress: bool = True) -> dict:
    targets = pd.read_csv(targets_csv, dtype={"star_id": str, "tce_id": str})
    star_ids = sorted(targets["star_id"].unique())
    index, failures = source.obtain_lightcurves(star_ids, progress)
    # A failed star fails each of its TCEs: expand so the manifest names every lost TCE.
    rows = []
    for f in failures:
        for tce in targets.loc[targets.star_id == f["star_id"], "tce_id"]:
            rows.append({"tce_id": tce, **f})
    with atomic_output(index_csv, ".csv") as tmp:
        index.to_csv(tmp, index=False)
    with atomic_output(failures_csv, ".csv") as tmp:
        pd.DataFrame(rows, columns=FAILURE_COLUMNS).to_csv(tmp, index=False)
    return {"stars": len(star_ids), "files": len(index), "failed_stars": len(failures)}
