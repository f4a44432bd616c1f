"""Kepler long-cadence and TESS SPOC 2-min light curves from MAST, cached in MAST's own layout.

Kepler: MAST serves every light curve at
``{mast_url}/missions/kepler/lightcurves/NNNN/NNNNNNNNN/kplrNNNNNNNNN-TIMESTAMP_llc.fits``, with a
directory listing per star. A star's listing and files are cached under ``cache_dir`` in the same
layout (shared across runs and projects): a star whose listing and listed files are all cached
costs no request at all.

TESS: MAST's per-sector bulk-download script (``tesscurl_sector_N_lc.sh``) names every 2-min
light curve of the sector; each is fetched once and cached, then each star's files come from
``{mast_url}/missions/tess/tid/sNNNN/AAAA/BBBB/CCCC/DDDD/`` into ``cache_dir/tess/tid/`` in the
same layout.

``offline`` uses the cache only and names what is missing. Every download is validated (a FITS
light curve of the expected star) before it is renamed into the cache.
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
from .mast import TESS_LC, find_tess_lightcurves, kepid_string, kepler_star_dir, tess_sector_dir
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


def validate_listing(path: Path, kepid) -> None:
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
              validate=lambda p: validate_listing(p, kepid))
    names = listed_files(listing.read_text(errors="replace"), kepid)
    missing = [n for n in names if not (star_dir / n).exists()]
    if missing and offline:
        raise TargetError(f"star {kepid}: {len(missing)} of {len(names)} files missing from the cache "
                          f"(first: {missing[0]}) and offline is true")
    for name in missing:
        fetch(kepler_star_url(mast_url, kepid) + name, star_dir / name, policy, http=http,
              validate=lambda p: validate_lightcurve_file(p, str(kepid)), what=f"star {kepid} {name}")
    return [star_dir / n for n in names]


def _download_stars(fetch_one, star_ids, workers: int, progress: bool) -> tuple[pd.DataFrame, list[dict]]:
    """(index: star_id, path; failures) from ``fetch_one(star_id) -> paths``, ``workers`` stars at a time."""
    rows, failures = [], []

    def one(sid):
        try:
            return sid, fetch_one(sid), None
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


def download_kepler(star_ids, cache_dir: Path, mast_url: str, policy: RetryPolicy, offline: bool = False,
                    workers: int = 4, progress: bool = True) -> tuple[pd.DataFrame, list[dict]]:
    """(index: star_id, path; failures) for the Kepler stars."""
    http = session()
    return _download_stars(lambda sid: fetch_star(sid, Path(cache_dir), mast_url, policy, offline, http),
                           star_ids, workers, progress)


def sector_script_url(mast_url: str, sector: int) -> str:
    return f"{mast_url.rstrip('/')}/missions/tess/download_scripts/sector/tesscurl_sector_{int(sector)}_lc.sh"


def tess_file_url(mast_url: str, sector: int, tic, name: str) -> str:
    rel = tess_sector_dir("", sector, tic).as_posix()
    return f"{mast_url.rstrip('/')}/missions/tess/tid/{rel}/{name}"


def scripted_files(script: str, tics: set[str] | None = None) -> dict[str, str]:
    """TIC id -> 2-min light-curve file name in one sector's bulk-download script (optionally
    only for ``tics``)."""
    out = {}
    for name in re.findall(r"\b(tess\d{13}-s\d{4}-\d{16}-\d{4}-s_lc\.fits)\b", script):
        tic = str(int(TESS_LC.match(name).group(2)))
        if tics is None or tic in tics:
            out[tic] = name
    return out


def validate_sector_script(path: Path, sector: int) -> None:
    if not scripted_files(Path(path).read_text(errors="replace")):
        raise TargetError(f"sector {sector}: the MAST bulk-download script names no 2-min light curves")


def tess_sector_files(sectors, tics: set[str], cache_dir: Path, mast_url: str, policy: RetryPolicy,
                      offline: bool, http=None) -> tuple[dict[str, list[tuple[int, str]]], list[str]]:
    """{tic: [(sector, file name), ...]} for ``tics`` over ``sectors``, from the (cached) sector
    scripts, and the problems met (a sector whose script cannot be had is skipped, and said)."""
    found: dict[str, list[tuple[int, str]]] = {t: [] for t in tics}
    problems = []
    for sector in sectors:
        script = Path(cache_dir) / "tess" / "download_scripts" / f"tesscurl_sector_{int(sector)}_lc.sh"
        if not script.exists():
            if offline:
                problems.append(f"sector {sector}: file list not in the cache and offline is true")
                continue
            try:
                fetch(sector_script_url(mast_url, sector), script, policy, http=http,
                      what=f"sector {sector} file list", validate=lambda p, s=sector: validate_sector_script(p, s))
            except (TargetError, DownloadError) as exc:
                problems.append(str(exc))
                log.warning("%s", exc)
                continue
        for tic, name in scripted_files(script.read_text(errors="replace"), tics).items():
            found[tic].append((int(sector), name))
    return found, problems


def fetch_tess_star(tic, files: list[tuple[int, str]], cache_dir: Path, mast_url: str, policy: RetryPolicy,
                    offline: bool, problems: list[str], http=None) -> list[Path]:
    """Every listed 2-min light curve of one TESS star, from the cache or MAST; raises TargetError."""
    root = Path(cache_dir) / "tess" / "tid"
    if not files:
        cached = find_tess_lightcurves(root, tic)
        if cached:  # offline, or file lists missing: what the cache holds is what there is
            return cached
        why = f"; {problems[0]}" if problems else ""
        raise TargetError(f"star {tic}: no SPOC 2-min light curve in the sectors searched{why}")
    paths = [tess_sector_dir(root, sector, tic) / name for sector, name in files]
    missing = [(s, p) for s, p in zip((s for s, _ in files), paths) if not p.exists()]
    if missing and offline:
        raise TargetError(f"star {tic}: {len(missing)} of {len(paths)} files missing from the cache "
                          f"(first: {missing[0][1].name}) and offline is true")
    for sector, path in missing:
        fetch(tess_file_url(mast_url, sector, tic, path.name), path, policy, http=http,
              validate=lambda p: validate_lightcurve_file(p, str(tic), "tess"), what=f"star {tic} {path.name}")
    return paths


def download_tess(star_ids, sectors, cache_dir: Path, mast_url: str, policy: RetryPolicy,
                  offline: bool = False, workers: int = 4, progress: bool = True
                  ) -> tuple[pd.DataFrame, list[dict]]:
    """(index: star_id, path; failures) for the TESS stars over ``sectors``."""
    http = session()
    files, problems = tess_sector_files(sectors, {str(s) for s in star_ids}, cache_dir, mast_url, policy,
                                        offline, http)
    return _download_stars(lambda sid: fetch_tess_star(sid, files[str(sid)], Path(cache_dir), mast_url,
                                                       policy, offline, problems, http),
                           star_ids, workers, progress)
