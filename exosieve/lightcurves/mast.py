"""MAST's layout of Kepler light-curve files: ``NNNN/NNNNNNNNN/kplrNNNNNNNNN-TIMESTAMP_llc.fits``."""

from __future__ import annotations

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
