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
from pathlib import Path

from .mast import sort_by_sector, star_from_name

log = logging.getLogger(__name__)

FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz")


def _is_fits(name: str) -> bool:
    return name.lower().endswith(FITS_SUFFIXES)


def header_star(path: str | Path) -> str | None:
    """The star a FITS file's primary header names (no leading zeros), None when it names none
    or cannot be read (``index_files`` logs which and why)."""
    return _header_star(path)[0]


def _header_star(path) -> tuple[str | None, str]:
    """(star, '') or (None, why the header names no star)."""
    import warnings

    from astropy.io import fits

    from .reader import header_target
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")      # a damaged header's VerifyWarning: the reason below says it
            target = header_target(fits.getheader(path, 0))
    except Exception as exc:                     # unreadable: no star can be told
        return None, f"its primary header cannot be read ({type(exc).__name__})"
    try:
        return (str(int(target)), "") if target is not None else \
            (None, "its primary header has no TICID, KEPLERID, TIC_ID or OBJECT 'TIC n'")
    except ValueError:
        return None, f"its header's star id {target!r} is no number"


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
    told (an unreadable header, or one naming no star) belongs to no star: it is logged, once for
    all such files, with the first few and why."""
    found: dict[str, list[Path]] = {}
    unknown = []
    for path in map(Path, paths):
        star = star_from_name(path.name)
        if star is None:
            star, why = _header_star(path)
            if star is None:
                unknown.append(f"{path}: {why}")
                continue
        found.setdefault(star, []).append(path)
    if unknown:
        log.warning("%d FITS file(s) belong to no star and are not read: %s%s", len(unknown), "; ".join(unknown[:3]),
                    "; ..." if len(unknown) > 3 else "")
    return {star: sort_by_sector(files) for star, files in found.items()}


def index_folder(root: str | Path) -> dict[str, list[Path]]:
    """star id -> its light-curve files under ``root``, whatever their layout, in one walk."""
    return index_files(expand_sources(root))


def files_of_star(sources, star_id: str | int) -> list[Path]:
    """The files among ``sources`` (files, globs, folders) that belong to ``star_id``."""
    return index_files(expand_sources(sources)).get(str(int(str(star_id).strip())), [])
