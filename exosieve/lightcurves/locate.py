"""Where a star's light curves are, in any layout: files, glob patterns or folders, each file
matched to its star by the file name where it is one of MAST's (``mast.star_from_name``, no file
opened) and otherwise by its primary header's TICID, KEPLERID, TIC_ID or OBJECT 'TIC n'
(``reader.header_target``; only that header is read, so a folder of thousands stays fast).

TGLC's files are named by Gaia DR3 id, eleanor's and lightkurve's by whatever their user chose:
their headers say whose they are.
"""

from __future__ import annotations

import glob
import logging
import os
import re
from pathlib import Path

import numpy as np

from .mast import sort_by_sector, star_from_name

log = logging.getLogger(__name__)

FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz")


def _is_fits(name: str) -> bool:
    return name.lower().endswith(FITS_SUFFIXES)


def header_star(path: str | Path) -> str | None:
    """The star a FITS file's primary header names (no leading zeros), None when it names none
    or cannot be read (``index_files`` logs which and why)."""
    return _header_star(path)[0]


def _header_star(path) -> tuple[str | None, str, str | None]:
    """(star, '', Gaia DR3 id or None) or (None, why the header names no star, None)."""
    import warnings

    from astropy.io import fits

    from .reader import header_target
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")      # a damaged header's VerifyWarning: the reason below says it
            header = fits.getheader(path, 0)
            target = header_target(header)
            gaia = header.get("GAIADR3")
    except Exception as exc:                     # unreadable: no star can be told
        return None, f"its primary header cannot be read ({type(exc).__name__})", None
    if target is None:
        return None, "its primary header has no TICID, KEPLERID, TIC_ID or OBJECT 'TIC n'", None
    try:
        return str(int(target)), "", str(gaia) if isinstance(gaia, (int, np.integer)) else None
    except ValueError:
        return None, f"its header's star id {target!r} is no number", None


# TGLC names its files by Gaia DR3 id (hlsp_tglc_tess_ffi_gaiaid-<id>-s<sector>-...), and its
# headers carry both ids (GAIADR3, TICID): a file whose header cannot be read is its Gaia id's
# star when another file of that Gaia id says which, so that the reader can say what is wrong
# with it instead of the file going unnoticed.
TGLC_NAME = re.compile(r"^hlsp_tglc_tess_ffi_gaiaid-(\d+)-s\d{4}")


def star_of(path: Path) -> str | None:
    """A light-curve file's star: from its name when MAST named it, else from its header."""
    return star_from_name(path.name) or header_star(path)


def expand_sources(sources) -> list[Path]:
    """Every FITS file that ``sources`` names: one path or a list of files, glob patterns
    (``**`` recursive) and folders (walked for FITS files); raises FileNotFoundError naming a
    source that names nothing."""
    items = [sources] if isinstance(sources, (str, Path)) else list(sources)
    found: list[Path] = []
    for item in items:
        text = str(item)
        if Path(text).is_dir():
            found += [Path(folder) / n for folder, _, names in os.walk(text) for n in sorted(names) if _is_fits(n)]
        elif Path(text).is_file():
            found.append(Path(text))
        elif glob.has_magic(text):
            matched = sorted(glob.glob(text, recursive=True))
            if not matched:
                raise FileNotFoundError(f"no file matches {text}")
            for m in matched:
                found += expand_sources(m) if Path(m).is_dir() else [Path(m)]
        else:
            raise FileNotFoundError(f"light curves {text}: no such file or folder")
    return list(dict.fromkeys(found))


def index_files(paths) -> dict[str, list[Path]]:
    """star id -> its files among ``paths`` (each in sector order). A file whose star cannot be
    told (an unreadable header, or one naming no star; a TGLC file's Gaia id tells it when another
    file of that id is readable) belongs to no star: it is logged, once for all such files, with
    the first few and why."""
    found: dict[str, list[Path]] = {}
    gaia_star: dict[str, str] = {}
    unknown = []
    for path in map(Path, paths):
        star = star_from_name(path.name)
        if star is None:
            star, why, gaia = _header_star(path)
            if gaia is not None and star is not None:
                gaia_star[gaia] = star
            if star is None:
                unknown.append((path, why))
                continue
        found.setdefault(star, []).append(path)
    lost = []
    for path, why in unknown:
        m = TGLC_NAME.match(path.name)
        if m and m.group(1) in gaia_star:
            found.setdefault(gaia_star[m.group(1)], []).append(path)
        else:
            lost.append(f"{path}: {why}")
    if lost:
        log.warning("%d FITS file(s) belong to no star and are not read: %s%s", len(lost), "; ".join(lost[:3]),
                    "; ..." if len(lost) > 3 else "")
    return {star: sort_by_sector(files) for star, files in found.items()}


def index_folder(root: str | Path) -> dict[str, list[Path]]:
    """star id -> its light-curve files under ``root``, whatever their layout, in one walk."""
    return index_files(expand_sources(root))


def files_of_star(sources, star_id: str | int) -> list[Path]:
    """The files among ``sources`` (files, globs, folders) that belong to ``star_id``."""
    return index_files(expand_sources(sources)).get(str(int(str(star_id).strip())), [])
