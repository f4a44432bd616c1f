"""MAST's layouts of light-curve files: Kepler long cadence ``NNNN/NNNNNNNNN/kplrNNNNNNNNN-TIMESTAMP_llc.fits``
and TESS SPOC 2-min ``sNNNN/AAAA/BBBB/CCCC/DDDD/tess*-s_lc.fits``."""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..utils import TargetError


def kepid_string(kepid: int | str) -> str:
    """The zero-padded 9-digit KIC string; refuses anything that is not a plain KIC number."""
    text = str(kepid).strip()
    if not text.isdigit() or len(text) > 9 or int(text) <= 0:
        raise TargetError(f"Kepler star id {text!r} is not a KIC number (1 to 9 digits)")
    return f"{int(text):09d}"


def kepler_star_dir(root: str | Path, kepid: int | str) -> Path:
    k = kepid_string(kepid)
    return Path(root) / k[:4] / k


def kepler_lightcurve_path(root: str | Path, kepid: int | str, timestamp: str) -> Path:
    k = kepid_string(kepid)
    return kepler_star_dir(root, kepid) / f"kplr{k}-{timestamp}_llc.fits"


def find_kepler_lightcurves(root: str | Path, kepid: int | str) -> list[Path]:
    """Every long-cadence file of a star under ``root``, in quarter (timestamp) order."""
    return sorted(kepler_star_dir(root, kepid).glob(f"kplr{kepid_string(kepid)}-*_llc.fits"))


# TESS SPOC 2-min light curves: ``sNNNN/AAAA/BBBB/CCCC/DDDD/tess<stamp>-sNNNN-<tic16>-<ver>-s_lc.fits``,
# the 16-digit TIC id split in four (MAST's ``missions/tess/tid/`` tree).
TESS_LC = re.compile(r"^tess\d{13}-s(\d{4})-(\d{16})-\d{4}-s_lc\.fits$")


def tic_string(tic: int | str) -> str:
    """The zero-padded 16-digit TIC string; refuses anything that is not a plain TIC number."""
    text = str(tic).strip()
    if not text.isdigit() or len(text) > 16 or int(text) <= 0:
        raise TargetError(f"TESS star id {text!r} is not a TIC number (1 to 16 digits)")
    return f"{int(text):016d}"


def tess_sector_dir(root: str | Path, sector: int, tic: int | str) -> Path:
    t = tic_string(tic)
    return Path(root) / f"s{int(sector):04d}" / t[:4] / t[4:8] / t[8:12] / t[12:]


def find_tess_lightcurves(root: str | Path, tic: int | str) -> list[Path]:
    """Every SPOC 2-min light curve of a star under ``root``, in sector order."""
    t = tic_string(tic)
    return sorted(Path(root).glob(f"s[0-9][0-9][0-9][0-9]/{t[:4]}/{t[4:8]}/{t[8:12]}/{t[12:]}/tess*-{t}-*-s_lc.fits"))


KEPLER_LC = re.compile(r"^kplr(\d{9})-\d{13}_llc\.fits$")


def index_lightcurves(root: str | Path) -> dict[str, list[Path]]:
    """star id -> its light-curve files, for every file under ``root`` named as in either layout,
    in one walk of the tree: what asking ``find_lightcurves`` star by star would cost a glob each
    (minutes for 200,000 stars, most of them without files)."""
    found: dict[str, list[Path]] = {}
    for folder, _, names in os.walk(root):
        for name in names:
            m = KEPLER_LC.match(name) or TESS_LC.match(name)
            if m:
                found.setdefault(str(int(m.group(m.lastindex))), []).append(Path(folder) / name)
    return {star: sorted(paths) for star, paths in found.items()}


def find_lightcurves(root: str | Path, star_id: int | str) -> list[Path]:
    """Every light curve of a star under ``root`` in either layout. A KIC and a TIC number can
    look alike, so the layout that holds files decides; an id of 10 or more digits is a TIC."""
    text = str(star_id).strip()
    if not text.isdigit() or int(text) <= 0:
        raise TargetError(f"star id {text!r} is neither a KIC (1-9 digits) nor a TIC number (1-16 digits)")
    kepler = find_kepler_lightcurves(root, text) if len(text) <= 9 else []
    return kepler or find_tess_lightcurves(root, text)
