"""The light-curve products a Kepler or TESS user holds, one reader each (as lightkurve's ``io/``
has one per product): each says from a file's headers and column names whether the file is its
product (``recognise``), and reads the product's own recommended flux, its own quality flags and
what it has of flux errors and centroids (``read``).

Formats follow each product's documentation as lightkurve 2.6 reads it (``lightkurve/io/``:
``detect.py`` for how a file is recognised, ``tglc.py``, ``qlp.py``, ``eleanor.py`` for columns):

- ``kepler``: Kepler long cadence (MAST), PDCSAP_FLUX or SAP_FLUX, SAP_QUALITY, MOM_CENTR1/2.
- ``spoc``: TESS SPOC 2-min (and 20-s) light curves, the same columns, QUALITY.
- ``tess-spoc``: the TESS-SPOC FFI HLSP (Caldwell et al. 2020): SPOC's format at the FFI cadence
  (200 s, 10 min or 30 min), told from SPOC by its HLSP keywords, file name or cadence.
- ``qlp``: MIT's Quick-Look Pipeline FFI HLSP (ORIGIN 'MIT/QLP'): SAP_FLUX (lightkurve's default:
  ExoSieve detrends the raw flux itself), the error of QLP's detrended flux (KSPSAP_FLUX_ERR,
  DET_FLUX_ERR from sector 56), QUALITY, SAP_X/SAP_Y centroids.
- ``tglc``: TESS-Gaia Light Curves (Han & Brandt 2023; ORIGIN 'UCSB/TGLC'): cal_psf_flux (TGLC's
  README: calibrated PSF flux gives the more accurate transit depth; ``lightcurves.product_flux``
  picks another), time, TESS_flags and TGLC_flags: TGLC's own code keeps a cadence only where both
  are 0 (``TESS_flags == 0 and TGLC_flags == 0`` in tglc's plotting and quick-look code), so any
  TGLC flag drops it, and TESS_flags, the FFIs' SPOC quality bits, go through the configured
  bitmask as every TESS product's do. No centroids, no per-cadence flux errors.
- ``eleanor``: eleanor and GSFC-ELEANOR-LITE (headers LITE and PCORIGIN, or TIC_ID with CORR_FLUX):
  CORR_FLUX (PCA_FLUX, PSF_FLUX by config), QUALITY (SPOC bits plus eleanor's bits 17 and 18,
  dropped with the ``hardest`` mask), X_CENTROID/Y_CENTROID, and FLUX_ERR, which is RAW_FLUX's
  error: scaled to the flux read by flux / RAW_FLUX, as lightkurve does.
- ``lightkurve``: files written by ``LightCurve.to_fits()`` (CREATOR names lightkurve; or a plain
  TIME, FLUX, FLUX_ERR table): FLUX, FLUX_ERR, QUALITY, MOM_CENTR1/2 or CENTROID_COL/ROW, the star
  in OBJECT.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

# lightkurve's TessQualityFlags: eleanor's own bits 17 and 18 (131072, 262144) join ``hardest``.
ELEANOR_HARDEST_EXTRA = (1 << 17) | (1 << 18)
# The shortest cadence MAST's FFI products use (200 s, from sector 56); SPOC's target-pixel
# light curves are 2 min or 20 s. [d]
SHORTEST_FFI_CADENCE = 199.0 / 86400.0


class ProductError(ValueError):
    """A file recognised as a product lacks what that product's reader needs (the reader names
    the star and file)."""


@dataclass
class ProductColumns:
    """What a product's reader takes from one file, before the stitching reader normalises it."""
    time: np.ndarray           # the table's own time column [d] on the file's BJD reference
    flux: np.ndarray
    flux_err: np.ndarray
    quality: np.ndarray        # mission-style QUALITY bits (momentum dumps are read from them)
    bad: np.ndarray            # cadences the product's own flags say to drop
    centroid_col: np.ndarray   # [pixel]; NaN where the product has none
    centroid_row: np.ndarray
    flux_column: str           # which column the flux is
    has_centroids: bool
    errors_estimated: bool     # flux errors made from the flux's own scatter (the product has none)
    note: str = ""             # what the reader chose that the configuration did not say


@dataclass(frozen=True)
class Product:
    name: str
    describe: str
    recognise: Callable     # (primary header, table header, column names) -> bool
    read: Callable          # (table data, names, table header, settings) -> ProductColumns


def _header_text(header, key: str) -> str:
    return str(header.get(key, "") or "").strip()


def _float_column(data, name: str) -> np.ndarray:
    column = data[name]
    if column.dtype.kind not in "fiu":    # text: not a time, flux or centroid we can trust
        raise ProductError(f"column {name} holds {column.dtype} values, not numbers")
    with np.errstate(invalid="ignore"):       # a damaged value becomes NaN, dropped with its cadence
        return np.asarray(column, dtype=float)


def _need(names: set, *columns: str) -> None:
    missing = [c for c in columns if c not in names]
    if missing:
        raise ProductError(f"lacks column(s) {', '.join(missing)}")


def _floating(data, *columns: str) -> None:
    for name in columns:
        if data[name].dtype.kind != "f":   # integers or text: not a time or a flux we can trust
            raise ProductError(f"column {name} holds {data[name].dtype} values, not floating point")


def _nan(n: int) -> np.ndarray:
    return np.full(n, np.nan)


def _quality(data, name: str) -> np.ndarray:
    q = data[name]
    if q.dtype.kind not in "iub":
        raise ProductError(f"column {name} holds {q.dtype} values, not integer flags")
    return np.asarray(q, dtype=np.int64)


def scatter_errors(flux: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """Per-cadence flux errors for a product that gives none (TGLC): the robust point-to-point
    scatter of the usable cadences, 1.4826 MAD of successive differences / sqrt(2), which white
    noise sets and slow trends or transits barely move; the same value for every cadence of the
    file (TGLC's header CPSF_ERR/CAPE_ERR is one number per file too)."""
    good = flux[usable & np.isfinite(flux)]
    if good.size < 3:
        return np.full(flux.size, np.nan)
    diff = np.diff(good)
    sigma = 1.4826 * np.median(np.abs(diff - np.median(diff))) / np.sqrt(2.0)
    return np.full(flux.size, sigma if np.isfinite(sigma) and sigma > 0 else np.nan)


# --- SPOC's format: Kepler, SPOC 2-min, TESS-SPOC FFI, lightkurve-written --------------------

def _read_spoc_format(data, names, header, settings) -> ProductColumns:
    flux_name = settings["flux_column"]
    if flux_name not in names and "SAP_FLUX" in names and "PDCSAP_FLUX" not in names:
        flux_name = "SAP_FLUX"     # a file rewritten with the raw flux only
    qcol = "SAP_QUALITY" if "SAP_QUALITY" in names else "QUALITY"
    _need(names, "TIME", flux_name, flux_name + "_ERR", qcol)
    _floating(data, "TIME", flux_name)
    quality = _quality(data, qcol)
    n = len(quality)
    has = "MOM_CENTR1" in names and "MOM_CENTR2" in names
    return ProductColumns(
        time=_float_column(data, "TIME"), flux=_float_column(data, flux_name),
        flux_err=_float_column(data, flux_name + "_ERR"), quality=quality,
        bad=(quality & settings["bitmask"]) != 0,
        centroid_col=_float_column(data, "MOM_CENTR1") if has else _nan(n),
        centroid_row=_float_column(data, "MOM_CENTR2") if has else _nan(n),
        flux_column=flux_name, has_centroids=has, errors_estimated=False)


def _is_tess(h0, h1) -> bool:
    return "TESS" in (_header_text(h0, "TELESCOP") + _header_text(h1, "TELESCOP")).upper() or \
        h0.get("TICID") not in (None, "")


def _has_spoc_flux(names) -> bool:
    return "PDCSAP_FLUX" in names or "SAP_FLUX" in names


def _cadence(h0, h1) -> float:
    """The file's cadence [d] from TIMEDEL (NaN if it says none)."""
    for header in (h1, h0):
        value = header.get("TIMEDEL")
        if isinstance(value, (int, float)) and np.isfinite(value) and value > 0:
            return float(value)
    return float("nan")


def _is_tess_spoc(h0, h1, names) -> bool:
    if not (_is_tess(h0, h1) and _has_spoc_flux(names)):
        return False
    hlsp = (_header_text(h0, "HLSPID") + _header_text(h0, "HLSPACRN")).upper()
    cadence = _cadence(h0, h1)
    return "TESS-SPOC" in hlsp or (np.isfinite(cadence) and cadence >= SHORTEST_FFI_CADENCE)


def _is_lightkurve(h0, h1, names) -> bool:
    if "lightkurve" in _header_text(h0, "CREATOR").lower():
        return True
    return {"TIME", "FLUX"} <= set(names) and not _has_spoc_flux(names)


def _read_lightkurve(data, names, header, settings) -> ProductColumns:
    _need(names, "TIME", "FLUX")
    _floating(data, "TIME", "FLUX")
    n = len(data["TIME"])
    quality = _quality(data, "QUALITY") if "QUALITY" in names else np.zeros(n, np.int64)
    col, row = next(((c, r) for c, r in (("MOM_CENTR1", "MOM_CENTR2"), ("CENTROID_COL", "CENTROID_ROW"))
                     if c in names and r in names), (None, None))
    flux = _float_column(data, "FLUX")
    estimated = "FLUX_ERR" not in names
    err = _float_column(data, "FLUX_ERR") if not estimated else scatter_errors(flux, (quality & settings["bitmask"]) == 0)
    return ProductColumns(
        time=_float_column(data, "TIME"), flux=flux, flux_err=err, quality=quality,
        bad=(quality & settings["bitmask"]) != 0,
        centroid_col=_float_column(data, col) if col else _nan(n),
        centroid_row=_float_column(data, row) if row else _nan(n),
        flux_column="FLUX", has_centroids=col is not None, errors_estimated=estimated)


# --- QLP ------------------------------------------------------------------------------------

# QLP's "low precision" bit (bit 13 in sectors 1-55, bit 31 from 56; QLP's product description),
# dropped with the hard and hardest masks as lightkurve does.
QLP_LOW_PRECISION = {"early": 1 << 12, "late": 1 << 30}


def _is_qlp(h0, h1, names) -> bool:
    return "mit/qlp" in _header_text(h0, "ORIGIN").lower()


# QLP renamed its detrended flux from sector 56: KSPSAP_FLUX became DET_FLUX (lightkurve's qlp.py).
QLP_RENAMED = {"KSPSAP_FLUX": "DET_FLUX", "DET_FLUX": "KSPSAP_FLUX"}


def _read_qlp(data, names, header, settings) -> ProductColumns:
    flux_name = settings["product_flux"]["qlp"]
    if flux_name not in names and QLP_RENAMED.get(flux_name) in names:
        flux_name = QLP_RENAMED[flux_name]
    err_name = next((c for c in (f"{flux_name}_ERR", "KSPSAP_FLUX_ERR", "DET_FLUX_ERR") if c in names), None)
    _need(names, "TIME", flux_name, "QUALITY")
    if err_name is None:
        raise ProductError("lacks column(s) KSPSAP_FLUX_ERR or DET_FLUX_ERR (QLP's flux error)")
    _floating(data, "TIME", flux_name)
    quality = _quality(data, "QUALITY")
    bad = (quality & settings["bitmask"]) != 0
    if settings["quality"] in ("hard", "hardest"):
        sector = header.get("SECTOR")
        late = isinstance(sector, (int, float)) and sector >= 56
        bad |= (quality & QLP_LOW_PRECISION["late" if late else "early"]) != 0
    n = len(quality)
    has = "SAP_X" in names and "SAP_Y" in names
    return ProductColumns(
        time=_float_column(data, "TIME"), flux=_float_column(data, flux_name), flux_err=_float_column(data, err_name),
        quality=quality, bad=bad,
        centroid_col=_float_column(data, "SAP_X") if has else _nan(n),
        centroid_row=_float_column(data, "SAP_Y") if has else _nan(n),
        flux_column=flux_name, has_centroids=has, errors_estimated=False)


# --- TGLC -----------------------------------------------------------------------------------

def _is_tglc(h0, h1, names) -> bool:
    return _header_text(h0, "ORIGIN") == "UCSB/TGLC" or {"cal_psf_flux", "TGLC_flags"} <= set(names)


# Where TGLC's PSF fit failed for a whole sector its PSF fluxes are all NaN and its aperture fluxes
# are not (13 of the 243 real files in ../shared/data): the other calibrated flux is read instead.
TGLC_OTHER_FLUX = {"cal_psf_flux": "cal_aper_flux", "cal_aper_flux": "cal_psf_flux",
                   "psf_flux": "aperture_flux", "aperture_flux": "psf_flux"}


def _read_tglc(data, names, header, settings) -> ProductColumns:
    flux_name = settings["product_flux"]["tglc"]
    _need(names, "time", flux_name, "TESS_flags", "TGLC_flags")
    _floating(data, "time", flux_name)
    tess_flags, tglc_flags = _quality(data, "TESS_flags"), _quality(data, "TGLC_flags")
    bad = ((tess_flags & settings["bitmask"]) != 0) | (tglc_flags != 0)
    flux = _float_column(data, flux_name)
    note = ""
    other = TGLC_OTHER_FLUX.get(flux_name)
    if not np.isfinite(flux[~bad]).any() and other in names and data[other].dtype.kind == "f":
        fallback = _float_column(data, other)
        if np.isfinite(fallback[~bad]).any():
            note = f"its {flux_name} is NaN at every good cadence (TGLC's fit failed there): read {other}"
            flux, flux_name = fallback, other
    n = len(flux)
    # TGLC gives no per-cadence flux error: estimated from the flux's own point-to-point scatter.
    return ProductColumns(
        time=_float_column(data, "time"), flux=flux, flux_err=scatter_errors(flux, ~bad), quality=tess_flags,
        bad=bad, centroid_col=_nan(n), centroid_row=_nan(n), flux_column=flux_name,
        has_centroids=False, errors_estimated=True, note=note)


# --- eleanor --------------------------------------------------------------------------------

def _is_eleanor(h0, h1, names) -> bool:
    if h0.get("LITE") is not None and h0.get("PCORIGIN") is not None:
        return True
    return h0.get("TIC_ID") not in (None, "") and "CORR_FLUX" in names


def _read_eleanor(data, names, header, settings) -> ProductColumns:
    flux_name = settings["product_flux"]["eleanor"]
    _need(names, "TIME", flux_name, "RAW_FLUX", "FLUX_ERR", "QUALITY")
    _floating(data, "TIME", flux_name)
    quality = _quality(data, "QUALITY")
    bitmask = settings["bitmask"] | (ELEANOR_HARDEST_EXTRA if settings["quality"] == "hardest" else 0)
    flux = _float_column(data, flux_name)
    with np.errstate(invalid="ignore", divide="ignore"):
        # FLUX_ERR is RAW_FLUX's error: scaled to the flux read (lightkurve's eleanor reader).
        err = _float_column(data, "FLUX_ERR") * np.abs(flux / _float_column(data, "RAW_FLUX"))
    n = len(flux)
    has = "X_CENTROID" in names and "Y_CENTROID" in names
    return ProductColumns(
        time=_float_column(data, "TIME"), flux=flux, flux_err=err, quality=quality,
        bad=(quality & bitmask) != 0,
        centroid_col=_float_column(data, "X_CENTROID") if has else _nan(n),
        centroid_row=_float_column(data, "Y_CENTROID") if has else _nan(n),
        flux_column=flux_name, has_centroids=has, errors_estimated=False)


def _is_kepler(h0, h1, names) -> bool:
    return (_header_text(h0, "TELESCOP").upper() == "KEPLER" or h0.get("KEPLERID") not in (None, "")) \
        and _has_spoc_flux(names)


def _is_spoc(h0, h1, names) -> bool:
    return _is_tess(h0, h1) and _has_spoc_flux(names)


# First match wins: the FFI HLSPs say who made them, SPOC's formats only by their columns.
PRODUCTS = [
    Product("tglc", "TGLC FFI light curve (Han & Brandt 2023)", _is_tglc, _read_tglc),
    Product("qlp", "QLP FFI light curve (MIT Quick-Look Pipeline)", _is_qlp, _read_qlp),
    Product("eleanor", "eleanor / GSFC-ELEANOR-LITE FFI light curve", _is_eleanor, _read_eleanor),
    Product("lightkurve", "light curve written by lightkurve", _is_lightkurve, _read_lightkurve),
    Product("tess-spoc", "TESS-SPOC FFI light curve", _is_tess_spoc, _read_spoc_format),
    Product("spoc", "TESS SPOC 2-min light curve", _is_spoc, _read_spoc_format),
    Product("kepler", "Kepler light curve", _is_kepler, _read_spoc_format),
]
PRODUCT_NAMES = [p.name for p in PRODUCTS]


def table_columns(table_header) -> list[str]:
    """Column names from a table header's TTYPEn cards (no data read)."""
    n = table_header.get("TFIELDS") or 0
    return [str(table_header.get(f"TTYPE{i}", "")).strip() for i in range(1, int(n) + 1)]


def recognise(primary_header, table_header, names) -> Product:
    """The product a file is, from its headers and column names; ProductError naming what the file
    lacks when it is none of them."""
    names = set(names)
    for product in PRODUCTS:
        if product.recognise(primary_header, table_header, names):
            return product
    shown = ", ".join(sorted(names)[:10]) + (", ..." if len(names) > 10 else "")
    raise ProductError(f"is none of the light-curve products ExoSieve reads ({', '.join(PRODUCT_NAMES)}): no "
                       f"ORIGIN of a known FFI pipeline and no flux column it knows (PDCSAP_FLUX, SAP_FLUX, FLUX, "
                       f"cal_psf_flux, CORR_FLUX); its columns: {shown or 'none'}")


def file_cadence(primary_header, table_header) -> float:
    """A file's cadence [d], from TIMEDEL (NaN when it says none)."""
    return _cadence(primary_header, table_header)
