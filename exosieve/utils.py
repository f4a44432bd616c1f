"""Small shared helpers: atomic file writes and target-id hygiene."""

from __future__ import annotations

import atexit
import contextlib
import gc
import glob
import logging
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Iterator

log = logging.getLogger("exosieve")

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
# mkstemp creates files 0600 whatever the umask; outputs and the shared light-curve cache must get
# the mode any other new file would (0644 under the usual 022). Read once, at import.
_UMASK = os.umask(0)
os.umask(_UMASK)


class TargetError(ValueError):
    """A problem with one target (star or TCE). Recorded in a failure manifest; the run goes on."""


# The columns of every failure manifest (light curves, preprocessing, catalog rejections).
FAILURE_COLUMNS = ["tce_id", "star_id", "stage", "error"]
# The manifest's stage of a TCE that was scored, with the reason its score may not be trusted.
FLAGGED_STAGE = "flagged"


# What a reader's exception says about the file, in a user's terms: the library's own words
# (astropy's "Column name must be a string able to fit in a single FITS card", numpy's dtype
# complaints) name its internals, not the damage. First match wins; the library's text follows.
_DAMAGE_WORDS = (
    (("column name", "ttype", "tform", "column format", "format code"), "a column definition is not valid FITS"),
    (("end card", "header missing", "card", "keyword"), "a header card is not valid FITS"),
    (("truncated", "end of file", "unexpected eof", "ended before", "not enough data", "buffer is smaller",
      "cannot reshape", "empty or corrupt"), "the file ends early (truncated or cut off in transfer)"),
    (("crc", "checksum"), "a checksum does not match (damaged bytes)"),
    (("decompress", "gzip", "zlib", "compressed"), "its compressed data are damaged"),
    (("codec", "decode", "utf-8", "ascii"), "it holds bytes that are not text where text belongs"),
    (("dtype", "data type", "invalid literal", "could not convert"), "a value is not of the type its field declares"),
)


def damage_reason(exc: BaseException, part: str) -> str:
    """``part`` (``header``, ``table``, ``data``, ...) damaged, in plain words, followed by the
    library's own words: the reason a failure manifest gives for a file a reader could not use,
    whatever the exception type (astropy raises AssertionError on some corrupt headers)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    lowered = f"{type(exc).__name__} {text}".lower()
    if isinstance(exc, MemoryError):
        what = "a size it declares is impossibly large"
    else:
        what = next((plain for words, plain in _DAMAGE_WORDS if any(w in lowered for w in words)),
                    "it is damaged or not in the expected format")
    detail = text if len(text) <= 160 else text[:157] + "..."
    return f"{part} damaged: {what} ({type(exc).__name__}{': ' + detail if detail else ''})"


def safe_id(value: object, what: str = "id") -> str:
    """Return ``value`` as a string that is safe to use in a file name, or raise TargetError.

    Ids end up in paths (light-curve folders, manifests); '../x' or 'a/b' must never get there.
    """
    text = str(value).strip()
    if not _SAFE_ID.match(text) or ".." in text:
        raise TargetError(f"{what} {text!r} is not a valid identifier (letters, digits, '_', '-', '.'; "
                          "no path separators or '..')")
    return text


def remove_stale_temporaries(path: Path, stale_after: float) -> int:
    """Delete the temporaries that earlier, killed writers of ``path`` left beside it (the
    ``.<name>.*.tmp`` files ``atomic_output`` makes) and that nothing has written to for
    ``stale_after`` seconds; returns how many."""
    import time
    removed = 0
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        try:
            if time.time() - tmp.stat().st_mtime >= stale_after:
                tmp.unlink()
                removed += 1
        except FileNotFoundError:
            pass
    if removed:
        log.info("removed %d leftover temporary file(s) of %s", removed, path)
    return removed


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, suffix: str = "", stale_after: float = 0.0) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    Readers therefore see either the old complete file or the new complete file, never a half.
    Temporaries that a killed writer of the same file left are removed first: at once by default
    (Snakemake never runs two writers of one output), or once idle for ``stale_after`` seconds
    where several runs may write the same file at once (the shared light-curve cache).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path, stale_after)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix + ".tmp", dir=path.parent)
    os.fchmod(fd, 0o666 & ~_UMASK)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text_if_changed(path: str | os.PathLike, text: str) -> bool:
    """Write ``text`` atomically unless the file already holds exactly that; True if written.

    Keeping an unchanged file's mtime is what lets Snakemake skip the jobs that read it.
    """
    path = Path(path)
    if path.exists() and path.read_text() == text:
        return False
    with atomic_output(path) as tmp:
        tmp.write_text(text)
    return True


def setup_logging(log_file: str | os.PathLike | None = None, level: int = logging.INFO) -> None:
    """Logging of a workflow job or a command (to ``log_file`` too, if given), and a quick exit:
    every object alive at exit is frozen out of the garbage collector first, since the collection
    that Python runs at exit would traverse all that torch and Lightning built on import (1.5 s a
    training job, for nothing: the process's memory goes back whole)."""
    atexit.unregister(gc.freeze)           # once, however often this is called
    atexit.register(gc.freeze)
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="w"))
    logging.basicConfig(level=level, handlers=handlers, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if log_file:
        # An error that ends the job goes into its log too: Snakemake points users at the log.
        def log_uncaught(kind, exc, tb):
            logging.getLogger("exosieve").critical("%s: %s", kind.__name__, exc, exc_info=(kind, exc, tb))
        sys.excepthook = log_uncaught


def export_to_jobs(package_root: str) -> None:
    """Put ``package_root`` on the PYTHONPATH that the workflow's jobs inherit (scripts,
    --use-conda environments, cluster jobs), so that they import this checkout's package even where
    it is not pip-installed."""
    current = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, current) if p)
