"""Read Kepler (and TESS SPOC) light-curve FITS files into one stitched light curve.

One reader for simulated and real files: drops cadences flagged by lightkurve's quality bitmask
and cadences with NaN time or flux, normalises each file (quarter/sector) by its median so that
quarters stitch, and keeps the flux-weighted centroids for centroid diagnostics. A file that cannot
be read, belongs to another star, or holds no usable cadence is skipped and listed in
``LightCurve.skipped``; the star's other files are still used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits

from ..utils import TargetError, damage_reason


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
    for key in ("KEPLERID", "TICID"):
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


def _read_one(path: Path, star_id: str, flux_column: str, bitmask: int, mission_reference: float,
              pixel_scale: float):
    # Which part of the file is being read: a corrupt file can make astropy or numpy raise almost
    # anything (an AssertionError for a damaged column name), and the reason must say where.
    part = "file"
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
            qcol = "SAP_QUALITY" if "SAP_QUALITY" in names else "QUALITY"
            # A file rewritten by lightkurve holds FLUX; QLP's FFI files hold SAP_FLUX, their own
            # detrended KSPSAP_FLUX (DET_FLUX from sector 56) and its error only: ExoSieve detrends
            # the raw flux itself, with that error.
            flux_name = next((c for c in (flux_column, "FLUX", "SAP_FLUX") if c in names), flux_column)
            err_name = next((c for c in (flux_name + "_ERR", "KSPSAP_FLUX_ERR", "DET_FLUX_ERR") if c in names),
                            flux_name + "_ERR")
            need = ["TIME", flux_name, err_name, qcol]
            missing = [c for c in need if c not in names]
            if missing:
                raise LightCurveError(f"star {star_id}: {path.name} lacks column(s) {', '.join(missing)}")
            for name in ("TIME", flux_name):
                if data[name].dtype.kind != "f":   # integers or text: not a time or a flux we can trust
                    raise LightCurveError(f"star {star_id}: {path.name} column {name} holds {data[name].dtype} "
                                          "values, not floating point")
            part = "light-curve table data"
            shift = _time_shift(hdul[1].header, mission_reference)
            raw_time = np.asarray(data["TIME"], dtype=float)
            # A cadence outside the file's own span (TSTART..TSTOP, a day of slack) is a corrupt
            # value, not a time: one such cadence would stretch every binned view to nothing.
            span = [hdul[1].header.get(k) for k in ("TSTART", "TSTOP")]
            if all(isinstance(v, (int, float)) and np.isfinite(v) for v in span):
                with np.errstate(invalid="ignore"):
                    raw_time[(raw_time < span[0] - 1) | (raw_time > span[1] + 1)] = np.nan
            time = raw_time + shift
            flux = np.asarray(data[flux_name], dtype=float)
            err = np.asarray(data[err_name], dtype=float)
            quality = np.asarray(data[qcol], dtype=np.int64)
            # Flux-weighted centroids: SPOC's MOM_CENTR1/2, QLP's SAP_X/SAP_Y.
            col_name, row_name = ("MOM_CENTR1", "MOM_CENTR2") if "MOM_CENTR1" in names else ("SAP_X", "SAP_Y")
            ccol = np.asarray(data[col_name], dtype=float) if col_name in names else np.full_like(time, np.nan)
            crow = np.asarray(data[row_name], dtype=float) if row_name in names else np.full_like(time, np.nan)
            aperture = next((h.header for h in hdul[2:] if h.name == "APERTURE"), None)
            sky = pixel_to_sky_matrix(aperture if aperture is not None else {}, pixel_scale)
    except LightCurveError:
        raise
    except Exception as exc:   # whatever the type: one damaged file must never cost its star
        raise LightCurveError(f"star {star_id}: {path.name} is not a valid light-curve FITS file: "
                              f"{damage_reason(exc, part)}") from exc
    dumps = time[np.isfinite(time) & ((quality & MOMENTUM_DUMP) != 0)]
    keep = (np.isfinite(time) & np.isfinite(flux) & ((quality & bitmask) == 0))
    if not keep.any():
        return None
    flux, err = flux[keep], err[keep]
    median = np.median(flux)
    if not np.isfinite(median) or median <= 0:
        return None
    return time[keep], flux / median, err / median, ccol[keep], crow[keep], sky, dumps


def read_kepler_lightcurve(paths: list[str | Path], star_id: str,
                           flux_column: str = "PDCSAP_FLUX", quality: str = "default",
                           mission: str = "kepler") -> LightCurve:
    """Read and stitch every file of one star; raises LightCurveError naming the star and file."""
    if not paths:
        raise LightCurveError(f"star {star_id}: no light-curve files found")
    bitmask = quality_bitmask(quality, mission)
    parts, skipped, dumps = [], [], []
    pixel_to_sky = np.full((len(paths), 2, 2), np.nan)
    for i, p in enumerate(paths):
        try:
            part = _read_one(Path(p), star_id, flux_column, bitmask, MISSION_BJD_REFERENCE[mission],
                             MISSION_PIXEL_SCALE[mission])
        except LightCurveError as exc:
            skipped.append((Path(p).name, str(exc)))
            continue
        if part is None:
            skipped.append((Path(p).name, f"star {star_id}: {Path(p).name} has no usable cadences (all flux NaN, "
                                          "non-positive, or flagged)"))
            continue
        *columns, pixel_to_sky[i], file_dumps = part
        dumps.append(file_dumps)
        parts.append((*columns, np.full(part[0].size, i, dtype=np.int16)))
    if not parts:
        reasons = "; ".join(why for _, why in skipped[:3]) + ("; ..." if len(skipped) > 3 else "")
        raise LightCurveError(f"star {star_id}: none of its {len(paths)} file(s) is usable: {reasons}")
    cols = [np.concatenate(c) for c in zip(*parts)]
    order = np.argsort(cols[0], kind="stable")
    time, flux, err, ccol, crow, seg = (c[order] for c in cols)
    return LightCurve(star_id=str(star_id), time=time, flux=flux, flux_err=err, centroid_col=ccol,
                      centroid_row=crow, segment=seg, n_files=len(paths), skipped=skipped,
                      pixel_to_sky=pixel_to_sky, mission=mission, dump_times=np.sort(np.concatenate(dumps)))


def validate_lightcurve_file(path: str | Path, star_id: str, mission: str = "kepler") -> None:
    """Raise LightCurveError unless ``path`` opens as a light-curve FITS file of ``star_id`` with
    the columns the reader needs: what a download must pass before it is accepted."""
    _read_one(Path(path), star_id, "PDCSAP_FLUX", 0, MISSION_BJD_REFERENCE[mission], MISSION_PIXEL_SCALE[mission])


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
