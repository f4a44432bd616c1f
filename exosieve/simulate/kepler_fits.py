"""Write Kepler long-cadence light-curve files (``kplr*_llc.fits``) in the archive's format.

Same HDUs (PRIMARY, LIGHTCURVE, APERTURE), the same 20 columns with their units, and the header
keywords a reader relies on (KEPLERID, QUARTER, BJDREFI, TSTART, ...), as in the files MAST serves.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from astropy.io import fits

from ..lightcurves.mast import kepler_lightcurve_path
from ..lightcurves.reader import MISSION_PIXEL_SCALE
from ..utils import atomic_output
from .common import aperture_wcs

LC_COLUMNS = [  # name, FITS format, unit
    ("TIME", "D", "BJD - 2454833"), ("TIMECORR", "E", "d"), ("CADENCENO", "J", None),
    ("SAP_FLUX", "E", "e-/s"), ("SAP_FLUX_ERR", "E", "e-/s"), ("SAP_BKG", "E", "e-/s"),
    ("SAP_BKG_ERR", "E", "e-/s"), ("PDCSAP_FLUX", "E", "e-/s"), ("PDCSAP_FLUX_ERR", "E", "e-/s"),
    ("SAP_QUALITY", "J", None), ("PSF_CENTR1", "D", "pixel"), ("PSF_CENTR1_ERR", "E", "pixel"),
    ("PSF_CENTR2", "D", "pixel"), ("PSF_CENTR2_ERR", "E", "pixel"), ("MOM_CENTR1", "D", "pixel"),
    ("MOM_CENTR1_ERR", "E", "pixel"), ("MOM_CENTR2", "D", "pixel"), ("MOM_CENTR2_ERR", "E", "pixel"),
    ("POS_CORR1", "E", "pixels"), ("POS_CORR2", "E", "pixels"),
]


_DTYPES = {"D": ">f8", "E": ">f4", "J": ">i4"}
PIXEL_ARCSEC = MISSION_PIXEL_SCALE["kepler"]


RECORD_DTYPE = np.dtype([(name, _DTYPES[fmt]) for name, fmt, _ in LC_COLUMNS])


@lru_cache(maxsize=1)
def _table_header_template() -> fits.Header:
    # Building column keywords card by card costs ~25 ms a file in astropy; do it once.
    empty = np.zeros(1, RECORD_DTYPE)
    cols = [fits.Column(name=n, format=f, unit=u, array=empty[n]) for n, f, u in LC_COLUMNS]
    return fits.BinTableHDU.from_columns(cols, name="LIGHTCURVE").header


@lru_cache(maxsize=32)
def _table_hdu(n_rows: int) -> fits.BinTableHDU:
    """A LIGHTCURVE extension of ``n_rows`` rows, reused for every file of that length (a
    simulated quarter always has the same cadences): each write fills its data and keywords in
    place, since building a table HDU costs astropy ~30 ms, more than writing the file."""
    table = fits.BinTableHDU(data=np.zeros(n_rows, RECORD_DTYPE), header=_table_header_template().copy())
    for name, _, unit in LC_COLUMNS:
        if unit:  # building from a structured array drops the template's units
            table.columns[name].unit = unit
    return table


def write_kepler_llc(root: str | Path, kepid: int, quarter: int, timestamp: str,
                     columns: dict[str, np.ndarray], star: dict, orientation: float = 0.0) -> Path:
    """Write one quarter of one star; returns the path (MAST layout under ``root``). The
    aperture extension's WCS is turned by ``orientation`` [rad] (see ``common.sky_matrix``)."""
    path = kepler_lightcurve_path(root, kepid, timestamp)
    n = len(columns["TIME"])
    records = np.zeros(n, RECORD_DTYPE)
    for name, fmt, _ in LC_COLUMNS:
        records[name] = columns[name] if name in columns else (np.nan if fmt in "DE" else 0)
    season = (quarter + 2) % 4
    primary = fits.PrimaryHDU()
    h = primary.header
    for key, value, comment in [
        ("NEXTEND", 2, "number of standard extensions"), ("EXTNAME", "PRIMARY", "name of extension"),
        ("ORIGIN", "ExoSieve simulated survey", "institution"),
        ("CREATOR", "exosieve.simulate", "program that wrote this file"),
        ("FILEVER", "6.1", "file format version"), ("TELESCOP", "Kepler", "telescope"),
        ("INSTRUME", "Kepler Photometer", "detector type"), ("OBJECT", f"KIC {kepid}", "string version of target id"),
        ("KEPLERID", int(kepid), "unique Kepler target identifier"), ("QUARTER", int(quarter), "Observing quarter"),
        ("SEASON", season, "mission season"),
        ("DATA_REL", 25, "data release version number"), ("OBSMODE", "long cadence", "observing mode"),
        ("MISSION", "Kepler", "Mission name"), ("KEPMAG", float(star["kepmag"]), "[mag] Kepler magnitude (Kp)"),
        ("TEFF", int(star["teff"]), "[K] Effective temperature"), ("LOGG", float(star["logg"]), "[cm/s2] log10 surface gravity"),
        ("FEH", float(star["feh"]), "[dex] metallicity"), ("RADIUS", float(star["radius"]), "[solar radii] stellar radius"),
    ]:
        h[key] = (value, comment)
    good_t = records["TIME"][np.isfinite(records["TIME"])]
    table = _table_hdu(n)
    for key, value, comment in [
        ("KEPLERID", int(kepid), "unique Kepler target identifier"), ("TIMEREF", "SOLARSYSTEM", "barycentric correction applied"),
        ("TIMESYS", "TDB", "time system is barycentric JD"), ("BJDREFI", 2454833, "integer part of BJD reference date"),
        ("BJDREFF", 0.0, "fraction of the day in BJD reference date"), ("TIMEUNIT", "d", "time unit for TIME, TSTART and TSTOP"),
        ("TSTART", float(good_t.min()), "observation start time in BJD-BJDREF"),
        ("TSTOP", float(good_t.max()), "observation stop time in BJD-BJDREF"),
        ("TIMEDEL", 0.02043359821692, "[d] time resolution of data"),
        ("CDPP6_0", float(star["cdpp6"]), "[ppm] RMS CDPP on 6.0-hr time scales"),
        ("CROWDSAP", float(star["crowding"]), "target flux over total flux in aperture"),
        ("FLFRCSAP", 0.85, "Frac. of target flux w/in the op. aperture"),
        ("PDCMETHD", "regularMap", "PDC algorithm used for target"),
    ]:
        table.header[key] = (value, comment)
    for name, _, _ in LC_COLUMNS:
        table.data[name][:] = records[name]
    aperture = fits.ImageHDU(np.full((5, 5), 3, dtype=np.int32), name="APERTURE")
    aperture.header["KEPLERID"] = int(kepid)
    # A position on the sky per star (the survey has none of its own; only the WCS's linear part,
    # the orientation and scale, means anything to ExoSieve).
    ra, dec = 280.0 + (int(kepid) % 10007) * 1e-3, 36.0 + (int(kepid) % 9973) * 1e-3
    for key, value, comment in aperture_wcs(orientation, ra, dec, PIXEL_ARCSEC, 3.0):
        aperture.header[key] = (value, comment)
    with atomic_output(path, ".fits") as tmp:
        fits.HDUList([primary, table, aperture]).writeto(tmp, checksum=True, overwrite=True, output_verify="ignore")
    return path
