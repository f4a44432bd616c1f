"""Kepler long-cadence light curves from MAST, cached in MAST's own layout.

MAST serves every Kepler light curve at
``{mast_url}/missions/kepler/lightcurves/NNNN/NNNNNNNNN/kplrNNNNNNNNN-TIMESTAMP_llc.fits``, with a
directory listing per star. A star's listing and files are cached under ``cache_dir`` in the same
layout (shared across runs and projects): a star whose listing and listed files are all cached
costs no request at all. ``offline`` uses the cache only and names what is missing.
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from ..http import DownloadError, RetryPolicy, fetch, session
from ..utils import TargetError
from .mast import kepid_string, kepler_star_dir
from .obtain import INDEX_COLUMNS
from .reader import validate_lightcurve_file

log = logging.getLogger(__name__)
LISTING = "listing.html"


def kepler_star_url(mast_url: str, kepid) -> str:
    k = kepid_string(kepid)
    return f"{mast_url.rstrip('/')}/missions/kepler/lightcurves/{k[:4]}/{k}/"


def listed_files(listing_html: str, kepid) -> list[str]:
    """Long-cadence file names in a MAST directory listing, in quarter order."""
    k = kepid_string(kepid)
    return sorted(set(re.findall(rf'href="(kplr{k}-\d{{13}}_llc\.fits)"', listing_html)))


def _validate_listing(path: Path, kepid) -> None:
    """A listing is kept only if it names at least one of the star's long-cadence files (a
    garbled or foreign page is retried, and never cached)."""
    if not listed_files(Path(path).read_text(errors="replace"), kepid):
        raise TargetError(f"star {kepid}: the MAST listing names no long-cadence light curves")


def fetch_star(kepid, cache_dir: Path, mast_url: str, policy: RetryPolicy, offline: bool,
               http=None) -> list[Path]:
    """Every long-cadence file of one star, from the cache or MAST; raises TargetError."""
    star_dir = kepler_star_dir(cache_dir, kepid)
    listing = star_dir / LISTING
    if not listing.exists():
        if offline:
            raise TargetError(f"star {kepid}: not in the light-curve cache {cache_dir} and offline is true")
        fetch(kepler_star_url(mast_url, kepid), listing, policy, http=http, what=f"star {kepid} file list",
              validate=lambda p: _validate_listing(p, kepid))
    names = listed_files(listing.read_text(errors="replace"), kepid)
    missing = [n for n in names if not (star_dir / n).exists()]
    if missing and offline:
        raise TargetError(f"star {kepid}: {len(missing)} of {len(names)} files missing from the cache "
                          f"(first: {missing[0]}) and offline is true")
    for name in missing:
        fetch(kepler_star_url(mast_url, kepid) + name, star_dir / name, policy, http=http,
              validate=lambda p: validate_lightcurve_file(p, str(kepid)), what=f"star {kepid} {name}")
    return [star_dir / n for n in names]


def download_kepler(star_ids, cache_dir: Path, mast_url: str, policy: RetryPolicy, offline: bool = False,
                    workers: int = 4, progress: bool = True) -> tuple[pd.DataFrame, list[dict]]:
    """(index: star_id, path; failures) for the stars, ``workers`` stars at a time."""
    http = session()
    rows, failures = [], []

    def one(sid):
        try:
            return sid, fetch_star(sid, Path(cache_dir), mast_url, policy, offline, http), None
        except (TargetError, DownloadError, OSError) as exc:
            return sid, [], str(exc)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for sid, paths, error in tqdm(pool.map(one, star_ids), total=len(star_ids), desc="download",
                                      unit="star", disable=not progress, mininterval=5):
            if error:
                failures.append({"star_id": sid, "stage": "download", "error": error})
                log.warning("%s", error)
            rows += [{"star_id": sid, "path": str(p)} for p in paths]
    return pd.DataFrame(rows, columns=INDEX_COLUMNS), failures
