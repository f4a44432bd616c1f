"""Read Kepler (and TESS SPOC) light-curve FITS files into one stitched light curve.

One reader for simulated and real files: drops cadences flagged by lightkurve's quality bitmask
and cadences with NaN time or flux, normalises each file (quarter/sector) by its median so that
quarters stitch, and keeps the flux-weighted centroids for centroid diagnostics. A file that cannot
be read, belongs to another star, or holds no usable cadence is skipped and listed in
``LightCurve.skipped``; the star's other files are still used.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits

from ..utils import TargetError, damage_reason

log = logging.getLogger(__name__)


class LightCurveError(TargetError):
    """A light-curve file is unreadable, of the wrong target, or holds no usable cadences."""


@dataclass
class LightCurve:
    star_id: str
    time: np.ndarray        # [d], mission time system (BKJD / BTJD)
    flux: np.ndarray        # relative flux, median 1 per quarter
    flux_err: np.ndarray
    centroid_col: np.ndarray  # MOM_CENTR1 [pixel]
    centroid_row: np.ndarray  # MOM_CENTR2 [pixel]
    segment: np.ndarray     # quarter/sector index of each cadence (the file it came from)
    n_files: int
    skipped: list = field(default_factory=list)  # (file name, why) of every file left out
    # Per file (indexed by ``segment``): the 2x2 matrix taking a centroid shift in that file's
    # pixels (column, row) to an offset on the sky (east, north) in arcsec, from its own WCS.
    pixel_to_sky: np.ndarray = field(default_factory=lambda: np.zeros((0, 2, 2)))
    mission: str = "kepler"   # whose time system ``time`` is on: kepler (BKJD) or tess (BTJD)
    # Times of momentum dumps (reaction-wheel desaturations, QUALITY bit 32 in Kepler's and TESS's
    # flags), kept although their cadences are dropped: the momentum-dump view folds them.
    dump_times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # Per file (indexed by ``segment``): which product it was read as (exosieve/lightcurves/
    # products.py); '' for a file left out. Arrays made into a light curve say "arrays".
    products: list = field(default_factory=list)
    unused: list = field(default_factory=list)   # (file name, why) of readable files another file of its sector replaced
    estimated_errors: list = field(default_factory=list)  # products whose flux errors were estimated from scatter
    notes: list = field(default_factory=list)    # (file name, what its reader chose, e.g. another flux column)

    @property
    def product_names(self) -> list[str]:
        """The products the light curve's cadences come from, each once, in file order."""
        return list(dict.fromkeys(p for p in self.products if p))

    @property
    def has_centroids(self) -> bool:
        """Whether any cadence has a centroid: without, the centroid views and features say nothing."""
        return bool(np.isfinite(self.centroid_col).any() and np.isfinite(self.centroid_row).any())

    def centroid_on_sky(self, dcol: np.ndarray, drow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(east, north) [arcsec] of per-cadence centroid shifts given in each file's pixels."""
        m = self.pixel_to_sky[self.segment]
        return m[:, 0, 0] * dcol + m[:, 0, 1] * drow, m[:, 1, 0] * dcol + m[:, 1, 1] * drow

    def __len__(self) -> int:
        return self.time.size


# lightkurve's named quality bitmasks (KeplerQualityFlags.OPTIONS, TessQualityFlags.OPTIONS of
# lightkurve 2.4-2.6; tests/test_lightcurves.py checks them against the installed lightkurve).
# Written out because importing lightkurve costs seconds, paid by every job that reads a file.
QUALITY_BITMASKS = {
    "kepler": {"none": 0, "default": 1130799, "hard": 1664431, "hardest": 2096639},
    "tess": {"none": 0, "default": 17087, "hard": 24319, "hardest": 65535},
}


def quality_bitmask(name: str, mission: str = "kepler") -> int:
    """lightkurve's named quality bitmask ``name`` for the mission's QUALITY flags."""
    return QUALITY_BITMASKS[mission][name]


def header_target(header) -> str | None:
    """The star a light-curve file belongs to: KEPLERID or TICID, else an OBJECT such as
    'TIC 100100827' (files rewritten by lightkurve keep only OBJECT)."""
    for key in ("KEPLERID", "TICID", "TIC_ID"):   # TIC_ID: eleanor's
        if header.get(key) not in (None, ""):
            return str(header[key]).strip()
    m = re.fullmatch(r"\s*(?:KIC|TIC|KEPLER|TESS)?\s*(\d+)\s*", str(header.get("OBJECT", "")), re.IGNORECASE)
    return m.group(1) if m else None


# Reaction-wheel desaturation (momentum dump): the same quality bit in Kepler's and TESS's flags.
MOMENTUM_DUMP = 32
# Each mission's time system: BJD minus this (BKJD for Kepler, BTJD for TESS).
MISSION_BJD_REFERENCE = {"kepler": 2454833.0, "tess": 2457000.0}
# Pixel scales [arcsec], for a file whose aperture extension carries no usable WCS.
MISSION_PIXEL_SCALE = {"kepler": 3.98, "tess": 21.0}


def pixel_to_sky_matrix(header, fallback_scale: float) -> np.ndarray:
    """The 2x2 matrix taking (column, row) pixel shifts to (east, north) arcsec on the sky, from
    a light-curve file's aperture WCS (CDELTi x PCi_j, or CDi_j, as astropy reads them). Without
    a celestial WCS: the mission's pixel scale, axes taken as aligned with the sky."""
    import warnings

    from astropy.wcs import WCS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")         # FITSFixedWarning and the like on odd headers
            wcs = WCS(header, naxis=2)
        if wcs.has_celestial and wcs.wcs.lng == 0:
            matrix = np.asarray(wcs.celestial.pixel_scale_matrix, float) * 3600.0
            if np.isfinite(matrix).all() and abs(np.linalg.det(matrix)) > 0:
                # Intermediate world x grows with RA for a standard (CDELT1 < 0) WCS: east.
                return matrix
    except Exception:                                # a broken WCS is no reason to lose the star
        pass
    return np.diag([fallback_scale, fallback_scale])


def _time_shift(header, mission_reference: float) -> float:
    """Days to add to TIME to put it on the mission's system. Files say their own reference in
    BJDREFI + BJDREFF (files rewritten by other tools may hold full BJD, reference 0); a file that
    says nothing is taken to be on the mission's system already."""
    if header.get("BJDREFI") in (None, ""):
        return 0.0
    return (float(header["BJDREFI"]) - mission_reference) + float(header.get("BJDREFF") or 0.0)


@dataclass
class _FilePart:
    """One file's usable cadences, and which product, sector and cadence it is."""
    time: np.ndarray
    flux: np.ndarray
    flux_err: np.ndarray
    centroid_col: np.ndarray
    centroid_row: np.ndarray
    sky: np.ndarray
    dumps: np.ndarray
    product: str
    sector: int | None          # TESS sector or Kepler quarter, when the header says
    cadence: float              # [d], NaN when unknown
    has_centroids: bool
    errors_estimated: bool
    note: str


def reading_settings(flux_column: str = "PDCSAP_FLUX", quality: str = "default", mission: str = "kepler",
                     product_flux: dict | None = None) -> dict:
    """What every product's reader is told: SPOC's flux column, the named quality mask and its
    bits for the mission, and each FFI product's flux column (``lightcurves.product_flux``)."""
    return {"flux_column": flux_column, "quality": quality, "bitmask": quality_bitmask(quality, mission),
            "product_flux": {**DEFAULT_PRODUCT_FLUX, **(product_flux or {})}}


# Each FFI product's recommended flux (exosieve/lightcurves/products.py says whose advice).
DEFAULT_PRODUCT_FLUX = {"tglc": "cal_psf_flux", "qlp": "SAP_FLUX", "eleanor": "CORR_FLUX"}


def _read_one(path: Path, star_id: str, settings: dict, mission_reference: float, pixel_scale: float):
    from .products import ProductError, recognise
    # Which part of the file is being read: a corrupt file can make astropy or numpy raise almost
    # anything (an AssertionError for a damaged column name), and the reason must say where.
    part = "file"
    product = None
    try:
        with fits.open(path, memmap=False) as hdul:
            part = "primary header"
            target = header_target(hdul[0].header)
            if target is not None and str(int(target)) != str(int(star_id)):
                raise LightCurveError(f"star {star_id}: {path.name} is a light curve of target "
                                      f"{target}, not {star_id}")
            part = "light-curve table header"
            if len(hdul) < 2:
                raise LightCurveError(f"star {star_id}: {path.name} is not a valid light-curve FITS file: it "
                                      "ends after its primary header (truncated, or not a light curve)")
            if not isinstance(hdul[1], fits.BinTableHDU):
                raise LightCurveError(f"star {star_id}: {path.name} extension 1 is a {type(hdul[1]).__name__}, "
                                      "not the light-curve table")
            data = hdul[1].data
            names = set(data.columns.names)
            try:
                product = recognise(hdul[0].header, hdul[1].header, names)
                part = "light-curve table data"
                columns = product.read(data, names, hdul[0].header, settings)
            except ProductError as exc:
                what = f" ({product.describe})" if product is not None else ""
                raise LightCurveError(f"star {star_id}: {path.name}{what} {exc}") from exc
            shift = _time_shift(hdul[1].header, mission_reference)
            raw_time = columns.time
            # A cadence outside the file's own span (TSTART..TSTOP, a day of slack) is a corrupt
            # value, not a time: one such cadence would stretch every binned view to nothing.
            span = [hdul[1].header.get(k) for k in ("TSTART", "TSTOP")]
            if all(isinstance(v, (int, float)) and np.isfinite(v) for v in span):
                with np.errstate(invalid="ignore"):
                    raw_time[(raw_time < span[0] - 1) | (raw_time > span[1] + 1)] = np.nan
            time = raw_time + shift
            flux, err, quality = columns.flux, columns.flux_err, columns.quality
            ccol, crow = columns.centroid_col, columns.centroid_row
            aperture = next((h.header for h in hdul[2:] if h.name == "APERTURE"), None)
            sky = pixel_to_sky_matrix(aperture if aperture is not None else {}, pixel_scale)
            sector = next((hdul[0].header.get(k) for k in ("SECTOR", "QUARTER")
                           if isinstance(hdul[0].header.get(k), (int, np.integer))), None)
            from .products import file_cadence
            cadence = file_cadence(hdul[0].header, hdul[1].header)
            if not np.isfinite(cadence) and np.isfinite(time).sum() > 1:
                cadence = float(np.nanmedian(np.diff(time[np.isfinite(time)])))
    except LightCurveError:
        raise
    except Exception as exc:   # whatever the type: one damaged file must never cost its star
        raise LightCurveError(f"star {star_id}: {path.name} is not a valid light-curve FITS file: "
                              f"{damage_reason(exc, part)}") from exc
    if not (time.size == flux.size == err.size == quality.size):
        raise LightCurveError(f"star {star_id}: {path.name} columns differ in length")
    dumps = time[np.isfinite(time) & ((quality & MOMENTUM_DUMP) != 0)]
    keep = np.isfinite(time) & np.isfinite(flux) & ~columns.bad
    if not keep.any():
        return None
    flux, err = flux[keep], err[keep]
    median = np.median(flux)
    if not np.isfinite(median) or median <= 0:
        return None
    return _FilePart(time[keep], flux / median, err / median, ccol[keep], crow[keep], sky, dumps, product.name,
                     None if sector is None else int(sector), cadence, columns.has_centroids,
                     columns.errors_estimated, columns.note)


def choose_per_sector(parts: dict[int, _FilePart], preference: list[str]) -> tuple[list[int], list[tuple[int, str]]]:
    """(files kept, (file, why) of files left out): one file per sector (quarter), never two
    folded together: the first product of ``preference`` (``lightcurves.product_preference``;
    products it does not name come after, in its order of ExoSieve's readers), then the shortest
    cadence, then the first file given. Files whose header names no sector are each kept."""
    from .products import PRODUCT_NAMES
    rank = {name: i for i, name in enumerate(list(preference) + [p for p in PRODUCT_NAMES if p not in preference])}
    by_sector: dict = {}
    for i, part in parts.items():
        by_sector.setdefault(part.sector if part.sector is not None else ("file", i), []).append(i)
    kept, left = [], []
    for sector, files in by_sector.items():
        files.sort(key=lambda i: (rank.get(parts[i].product, len(rank)),
                                  parts[i].cadence if np.isfinite(parts[i].cadence) else np.inf, i))
        kept.append(files[0])
        best = parts[files[0]]
        for i in files[1:]:
            left.append((i, f"sector {sector}: read from the {best.product} file at {best.cadence * 1440:.3g}-min "
                            f"cadence instead of this {parts[i].product} one at {parts[i].cadence * 1440:.3g} min "
                            "(lightcurves.product_preference, then the shortest cadence)"))
    return sorted(kept), left


def read_kepler_lightcurve(paths: list[str | Path], star_id: str,
                           flux_column: str = "PDCSAP_FLUX", quality: str = "default",
                           mission: str = "kepler", product_flux: dict | None = None,
                           product_preference: list[str] | None = None) -> LightCurve:
    """Read and stitch every file of one star, whatever product each is (``products``), one
    file per sector (``choose_per_sector``); raises LightCurveError naming the star and file."""
    if not paths:
        raise LightCurveError(f"star {star_id}: no light-curve files found")
    settings = reading_settings(flux_column, quality, mission, product_flux)
    read, skipped = {}, []
    pixel_to_sky = np.full((len(paths), 2, 2), np.nan)
    for i, p in enumerate(paths):
        try:
            part = _read_one(Path(p), star_id, settings, MISSION_BJD_REFERENCE[mission],
                             MISSION_PIXEL_SCALE[mission])
        except LightCurveError as exc:
            skipped.append((Path(p).name, str(exc)))
            continue
        if part is None:
            skipped.append((Path(p).name, f"star {star_id}: {Path(p).name} has no usable cadences (all flux NaN, "
                                          "non-positive, or flagged)"))
            continue
        read[i] = part
    if not read:
        reasons = "; ".join(why for _, why in skipped[:3]) + ("; ..." if len(skipped) > 3 else "")
        raise LightCurveError(f"star {star_id}: none of its {len(paths)} file(s) is usable: {reasons}")
    kept, left_out = choose_per_sector(read, list(product_preference or DEFAULT_PRODUCT_PREFERENCE))
    unused = [(Path(paths[i]).name, why) for i, why in left_out]
    for name, why in unused:
        log.info("star %s: %s not used: %s", star_id, name, why)
    columns, dumps = [], []
    products = [""] * len(paths)
    notes = [(Path(paths[i]).name, read[i].note) for i in kept if read[i].note]
    for name, note in notes:
        log.info("star %s: %s: %s", star_id, name, note)
    for i in kept:
        part = read[i]
        pixel_to_sky[i] = part.sky
        products[i] = part.product
        dumps.append(part.dumps)
        columns.append((part.time, part.flux, part.flux_err, part.centroid_col, part.centroid_row,
                        np.full(part.time.size, i, dtype=np.int16)))
    cols = [np.concatenate(c) for c in zip(*columns)]
    order = np.argsort(cols[0], kind="stable")
    time, flux, err, ccol, crow, seg = (c[order] for c in cols)
    return LightCurve(star_id=str(star_id), time=time, flux=flux, flux_err=err, centroid_col=ccol,
                      centroid_row=crow, segment=seg, n_files=len(paths), skipped=skipped,
                      pixel_to_sky=pixel_to_sky, mission=mission, dump_times=np.sort(np.concatenate(dumps)),
                      products=products, unused=unused, notes=notes,
                      estimated_errors=sorted({read[i].product for i in kept if read[i].errors_estimated}))


# The order in which products are preferred when several hold one sector
# (``lightcurves.product_preference``'s default): SPOC's own photometry first, then the FFI HLSPs
# with centroids before those without.
DEFAULT_PRODUCT_PREFERENCE = ["kepler", "spoc", "tess-spoc", "qlp", "eleanor", "tglc", "lightkurve"]


def read_configured(paths: list[str | Path], star_id: str, lightcurves_cfg: dict, mission: str) -> LightCurve:
    """``read_kepler_lightcurve`` as the ``lightcurves`` section of a configuration says."""
    return read_kepler_lightcurve(paths, star_id, lightcurves_cfg.get("flux_column", "PDCSAP_FLUX"),
                                  lightcurves_cfg.get("quality_bitmask", "default"), mission,
                                  lightcurves_cfg.get("product_flux"), lightcurves_cfg.get("product_preference"))


def validate_lightcurve_file(path: str | Path, star_id: str, mission: str = "kepler") -> None:
    """Raise LightCurveError unless ``path`` opens as a light-curve FITS file of ``star_id`` with
    the columns the reader needs: what a download must pass before it is accepted."""
    _read_one(Path(path), star_id, reading_settings("PDCSAP_FLUX", "none", mission), MISSION_BJD_REFERENCE[mission],
              MISSION_PIXEL_SCALE[mission])


def lightcurve_from_arrays(star_id: str, time, flux, flux_err=None, quality=None, centroid_col=None,
                           centroid_row=None, segment=None, mission: str = "kepler", time_offset: float = 0.0,
                           quality_mask: str = "default") -> LightCurve:
    """A light curve from arrays, made as the FITS reader makes one: ``time + time_offset`` on the
    mission's system (BKJD/BTJD), cadences flagged by ``quality`` (lightkurve's named bitmask) or
    with NaN time or flux dropped, and each ``segment`` (quarter, sector; one if not given)
    normalised by its median. Centroids are in pixels, turned to the sky at the mission's pixel
    scale (arrays carry no WCS)."""
    n = np.asarray(time).size
    def column(values, fill=np.nan):
        return np.full(n, fill, float) if values is None else np.asarray(values, float).reshape(-1)
    t, f = column(time) + time_offset, column(flux)
    err = column(flux_err)
    ccol, crow = column(centroid_col), column(centroid_row)
    seg = np.zeros(n, np.int64) if segment is None else np.asarray(segment).reshape(-1)
    if any(a.size != n for a in (f, err, ccol, crow, seg)):
        raise LightCurveError(f"star {star_id}: time, flux and the other columns differ in length")
    keep = np.isfinite(t) & np.isfinite(f)
    dumps = np.zeros(0)
    if quality is not None:
        flags = np.asarray(quality).astype(np.int64)
        dumps = np.sort(t[np.isfinite(t) & ((flags & MOMENTUM_DUMP) != 0)])
        keep &= (flags & quality_bitmask(quality_mask, mission)) == 0
    segments, seg = np.unique(seg[keep], return_inverse=True)
    t, f, err, ccol, crow = t[keep], f[keep], err[keep], ccol[keep], crow[keep]
    for k in range(segments.size):
        part = seg == k
        median = np.median(f[part])
        if not np.isfinite(median) or median <= 0:
            raise LightCurveError(f"star {star_id}: segment {segments[k]} has no positive median flux")
        f[part] /= median
        err[part] /= median
    if not t.size:
        raise LightCurveError(f"star {star_id}: no usable cadence (every one NaN or flagged)")
    order = np.argsort(t, kind="stable")
    scale = MISSION_PIXEL_SCALE[mission]
    return LightCurve(star_id=str(star_id), time=t[order], flux=f[order], flux_err=err[order],
                      centroid_col=ccol[order], centroid_row=crow[order], segment=seg[order].astype(np.int16),
                      n_files=int(segments.size), pixel_to_sky=np.tile(np.diag([scale, scale]), (max(segments.size, 1), 1, 1)),
                      mission=mission, dump_times=dumps)
