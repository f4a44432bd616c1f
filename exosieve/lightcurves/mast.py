"""MAST's layouts of light-curve files: Kepler long cadence ``NNNN/NNNNNNNNN/kplrNNNNNNNNN-TIMESTAMP_llc.fits``,
TESS SPOC 2-min ``sNNNN/AAAA/BBBB/CCCC/DDDD/tess*-s_lc.fits``, and the TESS-SPOC and QLP
full-frame-image HLSPs (below)."""

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


def tess_lightcurve_path(root: str | Path, sector: int, tic: int | str, stamp: str, pipeline: str = "0120") -> Path:
    """Where MAST's ``tid/`` tree keeps a SPOC 2-min light curve."""
    t = tic_string(tic)
    return tess_sector_dir(root, sector, tic) / f"tess{stamp}-s{int(sector):04d}-{t}-{pipeline}-s_lc.fits"


# The full-frame-image light curves MAST serves as high-level science products (HLSPs):
# TESS-SPOC (Caldwell et al. 2020; the SPOC format at the FFI cadence), in
#   s<sector>/target/AAAA/BBBB/CCCC/DDDD/hlsp_tess-spoc_tess_phot_<tic16>-s<sector>_tess_v1_lc.fits,
# and QLP (Huang et al. 2020; Kunimoto et al. 2021), in
#   s<sector>/AAAA/BBBB/CCCC/DDDD/hlsp_qlp_tess_ffi_s<sector>-<tic16>_tess_v01_llc.fits
# (archive.stsci.edu/hlsp/tess-spoc and /hlsp/qlp; the version tag may differ).
TESS_SPOC_FFI = re.compile(r"^hlsp_tess-spoc_tess_phot_(\d{16})-s(\d{4})_tess_v\d+_lc\.fits$")
QLP_FFI = re.compile(r"^hlsp_qlp_tess_ffi_s(\d{4})-(\d{16})_tess_v\d+_llc\.fits$")


def tess_ffi_lightcurve_path(root: str | Path, sector: int, tic: int | str, product: str) -> Path:
    """Where MAST keeps a TESS-SPOC or QLP FFI light curve, under that product's folder."""
    t, s = tic_string(tic), f"s{int(sector):04d}"
    tail = Path(t[:4]) / t[4:8] / t[8:12] / t[12:]
    if product == "tess-spoc":
        return Path(root) / s / "target" / tail / f"hlsp_tess-spoc_tess_phot_{t}-{s}_tess_v1_lc.fits"
    if product == "qlp":
        return Path(root) / s / tail / f"hlsp_qlp_tess_ffi_{s}-{t}_tess_v01_llc.fits"
    raise ValueError(f"unknown TESS FFI product {product!r} (tess-spoc or qlp)")


def find_tess_lightcurves(root: str | Path, tic: int | str) -> list[Path]:
    """Every TESS light curve of a star under ``root``, in sector order: SPOC 2-min files in
    MAST's ``tid/`` layout, and TESS-SPOC or QLP FFI files in theirs."""
    t = tic_string(tic)
    tail = f"{t[:4]}/{t[4:8]}/{t[8:12]}/{t[12:]}"
    found = [*Path(root).glob(f"s[0-9][0-9][0-9][0-9]/{tail}/tess*-{t}-*-s_lc.fits"),
             *Path(root).glob(f"s[0-9][0-9][0-9][0-9]/target/{tail}/hlsp_tess-spoc_tess_phot_{t}-s*_lc.fits"),
             *Path(root).glob(f"s[0-9][0-9][0-9][0-9]/{tail}/hlsp_qlp_tess_ffi_s*-{t}_tess_v*_llc.fits")]
    return sorted(found, key=lambda p: (_sector_of(p.name), p.name))


def _sector_of(name: str) -> int:
    m = re.search(r"-s(\d{4})-|-s(\d{4})_|_s(\d{4})-", name)
    return int(next(g for g in m.groups() if g)) if m else 0


KEPLER_LC = re.compile(r"^kplr(\d{9})-\d{13}_llc\.fits$")


def star_from_name(name: str) -> str | None:
    """The star id a file name in one of MAST's layouts carries (no leading zeros), else None."""
    m = KEPLER_LC.match(name) or TESS_LC.match(name)
    if m:
        return str(int(m.group(m.lastindex)))
    m = TESS_SPOC_FFI.match(name) or QLP_FFI.match(name)
    if m:
        return str(int(m.group(1) if m.re is TESS_SPOC_FFI else m.group(2)))
    return None


def index_lightcurves(root: str | Path) -> dict[str, list[Path]]:
    """star id -> its light-curve files, for every file under ``root`` named as in either layout,
    in one walk of the tree: what asking ``find_lightcurves`` star by star would cost a glob each
    (minutes for 200,000 stars, most of them without files). ``locate.index_folder`` adds the
    files of any other name, by their headers."""
    found: dict[str, list[Path]] = {}
    for folder, _, names in os.walk(root):
        for name in names:
            star = star_from_name(name)
            if star is not None:
                found.setdefault(star, []).append(Path(folder) / name)
    return {star: sort_by_sector(paths) for star, paths in found.items()}


def sort_by_sector(paths) -> list[Path]:
    """Light-curve paths in sector (quarter) order as their names say, then by name."""
    return sorted(paths, key=lambda p: (_sector_of(Path(p).name), Path(p).name))


def find_lightcurves(root: str | Path, star_id: int | str) -> list[Path]:
    """Every light curve of a star under ``root`` in either layout. A KIC and a TIC number can
    look alike, so the layout that holds files decides; an id of 10 or more digits is a TIC."""
    text = str(star_id).strip()
    if not text.isdigit() or int(text) <= 0:
        raise TargetError(f"star id {text!r} is neither a KIC (1-9 digits) nor a TIC number (1-16 digits)")
    kepler = find_kepler_lightcurves(root, text) if len(text) <= 9 else []
    return kepler or find_tess_lightcurves(root, text)
