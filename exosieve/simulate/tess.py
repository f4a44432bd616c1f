"""The simulated TESS survey (``survey.mission: tess``): SPOC 2-min light-curve files as MAST
serves them, in its ``tid/`` layout, a SPOC TCE table in the ``dvr-tcestats`` format and a TOI-like
disposition table, so that the TESS readers, TOI labelling and ephemeris merging serve it unchanged.

The real files in ../shared/data/tess are the model: the SPOC file's three HDUs, header keywords,
20 columns and units; its sectors of 27.9 days in two orbits with a downlink gap of about a day
between them (rows kept, TIME NaN, QUALITY 8), momentum dumps every 2.5 days within an orbit
(seven cadences flagged 164, 164, 164, 160, 160, 32, 32, as SPOC flags them); the aperture image
with its celestial WCS (21" pixels) turned as the star's camera sees it that sector; the TCE
table's 123 columns, 80-character comment lines and file name. Stars are seen in one to four
consecutive sectors, some again a year (13 sectors) later, on another camera and CCD, at another
orientation each time. Blends are commoner and deeper than Kepler's (21" pixels hold more
background stars, and dilute them less). The instrument adds what TESS adds: a flux jump at each
momentum dump, relaxing over hours, and scattered light ramping up towards each orbit's start and
end (perigee); some TCEs are those (``dump`` at a multiple of the dump interval, ``scattered`` at
the orbit), non-transiting phenomena that ExoMiner++'s momentum-dump and flux-trend branches are
made to catch.

Cadence: SPOC 2-min files, or (``survey.tess_product``) the full-frame-image products: TESS-SPOC
(the SPOC format at the FFI cadence) or QLP (its own columns), at 30 min (sectors 1-26), 10 min
(27-55) or 200 s (56 on).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from astropy.io import fits

from ..lightcurves.mast import tess_ffi_lightcurve_path, tess_lightcurve_path
from ..lightcurves.reader import MISSION_PIXEL_SCALE
from ..utils import atomic_output
from .common import (DISPOSITION, OFFSET_PIXELS, aperture_wcs, blend_sources, blended_light, contaminant_shift, on_sky,
                     sky_matrix, star_signal)
from .signals import rotational_modulation

SECTOR_DAYS = 27.4                 # between sector starts
SECTOR_SPAN = 27.88                # TSTOP - TSTART of a sector's file
FIRST_SECTOR_START = 1325.2945     # BTJD of sector 1's first cadence
GAP_DAYS = 1.133                   # the downlink between the two orbits
DUMP_INTERVAL = 2.5                # days between momentum dumps within an orbit
DUMP_FLAGS = np.array([164, 164, 164, 160, 160, 32, 32])
SPOC_CADENCE = 2.0 / 60 / 24
FIRST_SIMULATED_TIC = 1_000_000_001
PIXEL_ARCSEC = MISSION_PIXEL_SCALE["tess"]
SEARCH_STAMP = "tess2018206190142"
REVISIT_SECTORS = 13               # a year later: TESS back in the same hemisphere


def ffi_cadence(sector: int) -> float:
    """The full-frame images' cadence [d] in a sector: 30 min in sectors 1-26, 10 min in
    27-55, 200 s from 56 on (TESS Science Support Center)."""
    return (30.0 if sector <= 26 else 10.0 if sector <= 55 else 200.0 / 60) / 60 / 24


def sector_start(sector: int) -> float:
    return FIRST_SECTOR_START + (sector - 1) * SECTOR_DAYS


def sector_times(sector: int, cadence: float = SPOC_CADENCE) -> tuple[np.ndarray, np.ndarray]:
    """(TIME, in the downlink gap) of a sector's cadences: the gap's rows are kept, as SPOC keeps them."""
    start = sector_start(sector)
    time = start + (np.arange(int(SECTOR_SPAN / cadence)) + 0.5) * cadence
    middle = start + 0.5 * (SECTOR_SPAN - GAP_DAYS)
    return time, (time >= middle) & (time < middle + GAP_DAYS)


def orbit_starts(sector: int) -> tuple[float, float, float, float]:
    """(start, end) of the sector's two orbits."""
    start = sector_start(sector)
    middle = start + 0.5 * (SECTOR_SPAN - GAP_DAYS)
    return start, middle, middle + GAP_DAYS, start + SECTOR_SPAN


def dump_times(sector: int, offset: float = 2.54) -> np.ndarray:
    """The first cadence time of each momentum dump: every 2.5 days, counted from each orbit's start."""
    a0, a1, b0, b1 = orbit_starts(sector)
    return np.concatenate([np.arange(a0 + offset, a1, DUMP_INTERVAL), np.arange(b0 + offset * 0.8, b1, DUMP_INTERVAL)])


# --------------------------------------------------------------------------------------------
# The survey: stars, the sectors each is seen in, and its signals (population.py's, at TESS's
# noise and baseline), the SPOC TCE table and the TOI table.

def draw_stars(rng, n: int, n_sectors: int) -> pd.DataFrame:
    teff = np.clip(rng.normal(5600, 900, n), 3300, 7500)
    mass = np.clip(rng.normal(0.55 + 0.45 * (teff / 5800) ** 2, 0.12), 0.2, 1.8)
    radius = mass ** 0.85 * np.exp(rng.normal(0, 0.1, n)) * np.where(rng.random(n) < 0.2, rng.uniform(1.5, 3, n), 1)
    first = rng.integers(1, n_sectors + 1, n)
    length = np.minimum(rng.choice([1, 1, 2, 2, 3, 4], n), n_sectors - first + 1)
    revisit = rng.random(n) < 0.3
    sectors = [";".join(str(s) for s in [*range(f, f + k), *([f + REVISIT_SECTORS] if r else [])])
               for f, k, r in zip(first, length, revisit)]
    observed = np.array([len(s.split(";")) for s in sectors]) * (SECTOR_DAYS - GAP_DAYS - 1.5)
    stars = pd.DataFrame({
        "tic": FIRST_SIMULATED_TIC + np.arange(n), "teff": teff.round(0), "mass": mass.round(3),
        "radius": radius.round(3), "logg": (4.438 + np.log10(mass / radius**2)).round(3),
        "feh": np.clip(rng.normal(-0.05, 0.22, n), -1.0, 0.5).round(2), "tessmag": rng.uniform(8.0, 13.0, n).round(3),
        # TESS's 6 h precision, photon noise growing with magnitude: about 30 ppm at T = 8, 75 at
        # T = 10 and 300 at T = 13 (a 2-min cadence scatters 13 times that).
        "cdpp6": (30 * 10 ** (0.2 * (rng.uniform(8.0, 13.0, n) - 8)) * np.exp(rng.normal(0, 0.2, n))).round(1),
        "var_amp": np.exp(rng.uniform(np.log(1e-4), np.log(3e-3), n)), "var_period": rng.uniform(1.0, 30.0, n),
        "jitter": np.exp(rng.uniform(np.log(1e-3), np.log(8e-3), n)),
        # 21" pixels gather more of the neighbours' light than Kepler's 4".
        "crowding": rng.uniform(0.6, 1.0, n).round(4),
        "contaminant_dist": rng.uniform(0.5, 2.5, n), "contaminant_angle": rng.uniform(0, 2 * np.pi, n),
        "sectors": sectors, "baseline": observed, "t_start": [sector_start(int(s.split(";")[0])) for s in sectors],
        "ra": rng.uniform(0, 360, n).round(6), "dec": np.degrees(np.arcsin(rng.uniform(-1, 1, n))).round(6),
        "dump_strength": np.exp(rng.uniform(np.log(1e-4), np.log(1.5e-3), n)),
        "scattered_light": np.exp(rng.uniform(np.log(2e-4), np.log(8e-3), n)),
    })
    stars["dens"] = (1.41 * stars["mass"] / stars["radius"] ** 3).round(4)
    return stars


def instrument_ntp(rng, kind: str, star) -> dict:
    """A TCE made by the spacecraft: the dumps' flux jumps folded at a multiple of their interval,
    or scattered light at the orbit's period, whose epoch falls where the systematic does."""
    first = int(str(star.sectors).split(";")[0])
    if kind == "dump":
        period = DUMP_INTERVAL * int(rng.choice([1, 2]))
        epoch = float(dump_times(first)[0]) + 0.05
        duration = float(rng.uniform(0.08, 0.25))
    else:
        period = float(rng.choice([SECTOR_DAYS / 2, SECTOR_DAYS / 4]))
        epoch = orbit_starts(first)[0] + 0.3
        duration = float(rng.uniform(0.2, 0.6))
    return dict(kind=kind, period=period, epoch=epoch, duration=duration, amp=np.nan,
                true_depth=float(rng.uniform(300, 3000)), snr=np.nan)


# TFOPWG dispositions a TCE's true class gets when it became a TOI (None: no TOI).
TOI_OUTCOMES = {
    "planet": (["CP", "KP", "PC", "APC"], [0.55, 0.15, 0.2, 0.1]),
    "afp": (["FP", "PC", "APC", None], [0.75, 0.05, 0.05, 0.15]),
    "ntp": (["FA", "FP", None], [0.6, 0.1, 0.3]),
}


def toi_table(truth: pd.DataFrame, rng) -> pd.DataFrame:
    """A TOI-like table (the Exoplanet Archive's columns: tid, toi, tfopwg_disp, pl_orbper,
    pl_tranmid [BJD], pl_trandurh, pl_trandep) for the TCEs that became TOIs."""
    rows, number = [], {}
    for t in truth.itertuples(index=False):
        group = {"PC": "planet", "AFP": "afp", "NTP": "ntp"}[DISPOSITION[t.true_class]]
        choices, probs = TOI_OUTCOMES[group]
        disp = choices[int(rng.choice(len(choices), p=probs))]
        if disp is None:
            continue
        number[t.kepid] = number.get(t.kepid, 0) + 1
        rows.append({"toi": float(f"{int(t.kepid) % 100000 + 1000}.{number[t.kepid]:02d}"), "tid": int(t.kepid),
                     "tfopwg_disp": disp, "pl_orbper": round(float(t.rep_period), 6),
                     "pl_tranmid": round(float(t.rep_epoch) + 2457000.0, 6),
                     "pl_trandurh": round(float(t.rep_duration) * 24, 4), "pl_trandep": round(float(t.rep_depth), 2)})
    return pd.DataFrame(rows, columns=["toi", "tid", "tfopwg_disp", "pl_orbper", "pl_tranmid", "pl_trandurh",
                                       "pl_trandep"])


SPOC_COLUMNS = (
    "tceid ticid tce_plnt_num sectors lastUpdate tce_period tce_period_err tce_time0bt tce_time0bt_err tce_time0 "
    "tce_time0_err tce_ror tce_ror_err tce_dor tce_dor_err tce_incl tce_incl_err tce_impact tce_impact_err "
    "tce_duration tce_duration_err tce_ingress tce_ingress_err tce_depth tce_depth_err tce_eccen tce_eccen_err "
    "tce_longp tce_longp_err tce_limbdark_mod tce_ldm_coeff1 tce_ldm_coeff2 tce_ldm_coeff3 tce_ldm_coeff4 "
    "tce_num_transits tce_trans_mod tce_full_conv tce_model_snr tce_model_chisq tce_model_dof tce_robstat tce_dof2 "
    "tce_chisq2 tce_chisqgofdof tce_chisqgof tce_prad tce_prad_err tce_sma tce_sma_err tce_eqt tce_eqt_err "
    "tce_insol tce_insol_err tce_ntoi tce_sectors tce_steff tce_steff_err tce_slogg tce_slogg_err tce_smet "
    "tce_smet_err tce_sradius tce_sradius_err tce_sdensity tce_sdensity_err tce_steff_prov tce_slogg_prov "
    "tce_smet_prov tce_sradius_prov tce_sdensity_prov tcet_period tcet_period_err tcet_time0bt tcet_time0bt_err "
    "tcet_time0 tcet_time0_err tcet_duration tcet_duration_err tcet_ingress tcet_ingress_err tcet_depth "
    "tcet_depth_err tcet_full_conv tcet_model_chisq tcet_model_dof wst_robstat wst_depth tce_ws_mesmedian "
    "tce_ws_mesmad tce_ws_maxmes tce_ws_minmes tce_ws_maxmesd tce_ws_minmesd tce_max_sngle_ev tce_max_mult_ev "
    "tce_bin_oedp_stat tce_bin_spc_stat tce_bin_lpc_stat tce_albedo tce_albedo_err tce_ptemp tce_ptemp_err "
    "tce_albedo_stat tce_ptemp_stat boot_fap boot_mesthresh boot_mesmean boot_messtd bootstrap_transit_count "
    "tce_cap_stat tce_hap_stat tce_dicco_mra tce_dicco_mra_err tce_dicco_mdec tce_dicco_mdec_err tce_dicco_msky "
    "tce_dicco_msky_err tce_ditco_mra tce_ditco_mra_err tce_ditco_mdec tce_ditco_mdec_err tce_ditco_msky "
    "tce_ditco_msky_err").split()


def run_name(n_sectors: int) -> str:
    """The SPOC sector run the survey's TCE table is: every sector, revisits included."""
    return f"s0001-s{n_sectors + REVISIT_SECTORS:04d}"


def spoc_table(truth: pd.DataFrame, stars: pd.DataFrame, n_sectors: int, rng) -> str:
    """The survey's TCEs as SPOC publishes them per sector run: 6 comment lines padded to 80
    characters, then the 123 columns of MAST's dvr-tcestats tables (durations in hours, depths in
    ppm, epochs in BTJD; -1 where a statistic is not made here)."""
    star = stars.set_index("tic")
    run = run_name(n_sectors)
    n = len(truth)
    out = pd.DataFrame(-1.0, index=range(n), columns=SPOC_COLUMNS)
    snr = np.clip(truth.sig_snr.fillna(12).to_numpy(), 7, 300)
    period = truth.rep_period.to_numpy()
    dur = truth.rep_duration.to_numpy()
    epoch_err = np.clip(0.08 * dur * (10 / snr), 2e-4, 0.05)
    st = star.loc[truth.kepid.to_numpy()]
    out["tceid"] = [f"{int(t):011d}-{int(k):02d}" for t, k in zip(truth.kepid, truth.tce_plnt_num)]
    out["ticid"] = truth.kepid.astype(np.int64).to_numpy()
    out["tce_plnt_num"] = truth.tce_plnt_num.to_numpy()
    out["sectors"] = run
    out["lastUpdate"] = "2026-06-01"
    out["tce_period"] = period + rng.normal(0, epoch_err / 4)
    out["tce_period_err"] = epoch_err / 4
    out["tce_time0bt"] = truth.rep_epoch.to_numpy() + rng.normal(0, epoch_err)
    out["tce_time0bt_err"] = epoch_err
    out["tce_time0"] = out["tce_time0bt"] + 2457000.0
    out["tce_time0_err"] = epoch_err
    out["tce_duration"] = 24 * dur * np.exp(rng.normal(0, 0.1, n))
    out["tce_duration_err"] = 24 * dur * 0.1
    out["tce_depth"] = np.abs(truth.rep_depth.to_numpy() * np.exp(rng.normal(0, 0.1, n)))
    out["tce_depth_err"] = truth.rep_depth.to_numpy() / snr
    out[["tce_eccen", "tce_eccen_err", "tce_longp", "tce_longp_err"]] = 0.0
    out["tce_limbdark_mod"] = "claret_tess_nonlinear_limb_darkening_model"
    out["tce_trans_mod"] = "mandel-agol_geometric_transit_model"
    out["tce_full_conv"] = "true"
    out["tcet_full_conv"] = "true"
    out["tce_model_snr"] = snr
    out["tce_num_transits"] = np.maximum(np.floor(st.baseline.to_numpy() / period), 1).astype(int)
    out["bootstrap_transit_count"] = out["tce_num_transits"]
    for col in ("tce_chisqgofdof", "tce_ntoi", "tcet_model_chisq", "tcet_model_dof"):
        out[col] = 0
    out["tce_sectors"] = [_sector_mask(s) for s in st.sectors]
    for col, name in (("tce_steff", "teff"), ("tce_slogg", "logg"), ("tce_smet", "feh"), ("tce_sradius", "radius")):
        out[col] = st[name].to_numpy()
    out["tce_sdensity"] = (st["dens"] / 1.408).to_numpy()
    for col in ("tce_steff_prov", "tce_slogg_prov", "tce_smet_prov", "tce_sradius_prov"):
        out[col] = "TIC8.2"
    out["tce_sdensity_prov"] = "TIC8.2-Der"
    header = ["#Select Statistics Per TCE From the Data Validation XML Files", "#Mission = TESS",
              f"#Search = {SEARCH_STAMP}", f"#Sectors = {run}", "#Created Date = 2026-06-01", "#"]
    body = out.to_csv(index=False, float_format="%.17g")
    return "".join(line.ljust(80) + "\n" for line in header) + body


def _sector_mask(sectors: str) -> str:
    """SPOC's tce_sectors: an 80-character string, position i standing for sector i."""
    mask = ["0"] * 80
    for s in str(sectors).split(";"):
        mask[int(s)] = "1"
    return "".join(mask)


# --------------------------------------------------------------------------------------------
# Light-curve files

SPOC_LC_COLUMNS = [  # name, format, unit (the real file's)
    ("TIME", "D", "BJD - 2457000, days"), ("TIMECORR", "E", "d"), ("CADENCENO", "J", None),
    ("SAP_FLUX", "E", "e-/s"), ("SAP_FLUX_ERR", "E", "e-/s"), ("SAP_BKG", "E", "e-/s"),
    ("SAP_BKG_ERR", "E", "e-/s"), ("PDCSAP_FLUX", "E", "e-/s"), ("PDCSAP_FLUX_ERR", "E", "e-/s"),
    ("QUALITY", "J", None), ("PSF_CENTR1", "D", "pixel"), ("PSF_CENTR1_ERR", "E", "pixel"),
    ("PSF_CENTR2", "D", "pixel"), ("PSF_CENTR2_ERR", "E", "pixel"), ("MOM_CENTR1", "D", "pixel"),
    ("MOM_CENTR1_ERR", "E", "pixel"), ("MOM_CENTR2", "D", "pixel"), ("MOM_CENTR2_ERR", "E", "pixel"),
    ("POS_CORR1", "E", "pixels"), ("POS_CORR2", "E", "pixels"),
]
# QLP's columns (sectors 1-55; MAST HLSP "qlp"): its own detrended flux is KSPSAP_FLUX.
QLP_LC_COLUMNS = [
    ("TIME", "D", "BJD - 2457000, days"), ("CADENCENO", "J", None), ("SAP_FLUX", "E", None),
    ("KSPSAP_FLUX", "E", None), ("KSPSAP_FLUX_ERR", "E", None), ("QUALITY", "J", None), ("ORBITID", "J", None),
    ("SAP_X", "E", "pixel"), ("SAP_Y", "E", "pixel"), ("SAP_BKG", "E", None), ("SAP_BKG_ERR", "E", None),
    ("KSPSAP_FLUX_SML", "E", None), ("KSPSAP_FLUX_LAG", "E", None),
]
_DTYPES = {"D": ">f8", "E": ">f4", "J": ">i4"}


@lru_cache(maxsize=4)
def _template(product: str) -> tuple:
    spec = QLP_LC_COLUMNS if product == "qlp" else SPOC_LC_COLUMNS
    dtype = np.dtype([(n, _DTYPES[f]) for n, f, _ in spec])
    empty = np.zeros(1, dtype)
    header = fits.BinTableHDU.from_columns([fits.Column(name=n, format=f, unit=u, array=empty[n])
                                            for n, f, u in spec], name="LIGHTCURVE").header
    return spec, dtype, header


def aperture_header(orientation: float, ra: float, dec: float, tic: int, column: float, row: float) -> list[tuple]:
    """The APERTURE extension's keywords: its celestial WCS (21" pixels, turned by the camera's
    orientation that sector) and the physical WCS of the stamp on the CCD, as in the real file."""
    return [("TELESCOP", "TESS", "telescope"), ("INSTRUME", "TESS Photometer", "detector type"),
            ("OBJECT", f"TIC {tic}", "string version of target id"), ("TICID", tic, "unique tess target identifier"),
            *aperture_wcs(orientation, ra, dec, PIXEL_ARCSEC, 6.0),
            ("WCSNAMEP", "PHYSICAL", "name of world coordinate system alternate P"),
            ("WCSAXESP", 2, "number of WCS physical axes"), ("CTYPE1P", "RAWX", "physical WCS axis 1 type CCD col"),
            ("CUNIT1P", "PIXEL", "physical WCS axis 1 unit"), ("CRPIX1P", 1, "reference CCD column"),
            ("CRVAL1P", int(column) - 5, "value at reference CCD column"), ("CDELT1P", 1.0, "physical WCS axis 1 step"),
            ("CTYPE2P", "RAWY", "physical WCS axis 2 type CCD row"), ("CUNIT2P", "PIXEL", "physical WCS axis 2 units"),
            ("CRPIX2P", 1, "reference CCD row"), ("CRVAL2P", int(row) - 5, "value at reference CCD row"),
            ("CDELT2P", 1.0, "physical WCS axis 2 step"), ("NPIXSAP", 12, "Number of pixels in optimal aperture"),
            ("NPIXMISS", 0, "Number of op. aperture pixels not collected")]


def write_tess_lc(root: str | Path, tic: int, sector: int, camera: int, ccd: int, columns: dict, star,
                  orientation: float, product: str = "spoc") -> Path:
    """One sector of one star as MAST serves it (``product``: spoc 2-min, or the FFI HLSPs
    tess-spoc and qlp), under ``root`` in MAST's layout; returns the path."""
    spec, dtype, template = _template(product)
    if product == "spoc":
        path = tess_lightcurve_path(root, sector, tic, stamp=_sector_stamp(sector))
    else:
        path = tess_ffi_lightcurve_path(root, sector, tic, product)
    n = len(columns["TIME"])
    records = np.zeros(n, dtype)
    for name, fmt, _ in spec:
        records[name] = columns[name] if name in columns else (np.nan if fmt in "DE" else 0)
    finite = records["TIME"][np.isfinite(records["TIME"])]
    tstart, tstop = float(finite.min()), float(finite.max())
    primary = fits.PrimaryHDU()
    origin = {"spoc": "NASA/Ames", "tess-spoc": "NASA/Ames", "qlp": "MIT/QLP"}[product]
    creator = "LightCurveExporterPipelineModule" if product != "qlp" else "QLP"
    for key, value, comment in [
        ("NEXTEND", 2, "number of standard extensions"), ("EXTNAME", "PRIMARY", "name of extension"),
        ("EXTVER", 1, "extension version number (not format version)"), ("SIMDATA", True, "file is based on simulated data"),
        ("ORIGIN", origin, "institution responsible for creating this file"),
        ("DATE", "2026-06-01", "file creation date."), ("TSTART", tstart, "observation start time in BTJD"),
        ("TSTOP", tstop, "observation stop time in BTJD"), ("CREATOR", f"1 {creator}", "pipeline job and program used"),
        ("PROCVER", "exosieve.simulate", "SW version"), ("FILEVER", "1.0", "file format version"),
        ("TIMVERSN", "OGIP/93-003", "OGIP memo number for file format"), ("TELESCOP", "TESS", "telescope"),
        ("INSTRUME", "TESS Photometer", "detector type"), ("DATA_REL", 42, "data release version number"),
        ("OBJECT", f"TIC {tic}", "string version of target id"), ("TICID", int(tic), "unique tess target identifier"),
        ("SECTOR", int(sector), "Observing sector"), ("CAMERA", int(camera), "Camera number"),
        ("CCD", int(ccd), "CCD chip number"), ("PXTABLE", 128, "pixel table id"),
        ("RADESYS", "ICRS", "reference frame of celestial coordinates"), ("RA_OBJ", float(star["ra"]), "[deg] right ascension"),
        ("DEC_OBJ", float(star["dec"]), "[deg] declination"), ("EQUINOX", 2000.0, "equinox of celestial coordinate system"),
        ("TESSMAG", float(star["tessmag"]), "[mag] TESS magnitude"), ("TEFF", float(star["teff"]), "[K] Effective temperature"),
        ("LOGG", float(star["logg"]), "[cm/s2] log10 surface gravity"),
        ("MH", float(star["feh"]), "[log10([M/H])] metallicity"), ("RADIUS", float(star["radius"]), "[solar radii] stellar radius"),
        ("TICVER", "8.2", "TIC version"),
    ]:
        primary.header[key] = (value, comment)
    cadence = SPOC_CADENCE if product == "spoc" else ffi_cadence(sector)
    table = fits.BinTableHDU(data=records, header=template.copy())
    for name, _, unit in spec:
        if unit:
            table.columns[name].unit = unit
    for key, value, comment in [
        ("INHERIT", True, "inherit the primary header"), ("TELESCOP", "TESS", "telescope"),
        ("OBJECT", f"TIC {tic}", "string version of target id"), ("TICID", int(tic), "unique tess target identifier"),
        ("TIMEREF", "SOLARSYSTEM", "barycentric correction applied to times"),
        ("TIMESYS", "TDB", "time system is Barycentric Dynamical Time (TDB)"),
        ("BJDREFI", 2457000, "integer part of BTJD reference date"),
        ("BJDREFF", 0.0, "fraction of the day in BTJD reference date"),
        ("TIMEUNIT", "d", "time unit for TIME, TSTART and TSTOP"),
        ("TSTART", tstart - 0.5 * cadence, "observation start time in BTJD"),
        ("TSTOP", tstop + 0.5 * cadence, "observation stop time in BTJD"),
        ("TIMEDEL", cadence, "[d] time resolution of data"),
        ("CDPP1_0", float(star["cdpp6"]) * 6 ** 0.5, "RMS CDPP on 1.0-hr time scales"),
        ("CROWDSAP", float(star["crowding"]), "Ratio of target flux to total flux in op. ap."),
        ("FLFRCSAP", 0.88, "Frac. of target flux w/in the op. aperture"),
        ("PDCMETHD", "msMAP", "PDC algorithm used for target"),
    ]:
        table.header[key] = (value, comment)
    aperture = fits.ImageHDU(np.full((11, 11), 257, dtype=np.int32), name="APERTURE")
    aperture.data[4:7, 4:8] = 267
    aperture.header["INHERIT"] = (True, "inherit the primary header")
    col = float(np.nanmedian(columns.get("MOM_CENTR1", np.array([600.0]))))
    row = float(np.nanmedian(columns.get("MOM_CENTR2", np.array([600.0]))))
    for key, value, comment in aperture_header(orientation, float(star["ra"]), float(star["dec"]), int(tic),
                                               col if np.isfinite(col) else 600.0, row if np.isfinite(row) else 600.0):
        aperture.header[key] = (value, comment)
    with atomic_output(path, ".fits") as tmp:
        fits.HDUList([primary, table, aperture]).writeto(tmp, checksum=True, overwrite=True, output_verify="ignore")
    return path


def _sector_stamp(sector: int) -> str:
    """A SPOC file's 13-digit timestamp (the sector's start, as MAST's names carry one)."""
    day = 206 + 27 * (sector - 1)
    return f"{2018 + (day - 1) // 365}{(day - 1) % 365 + 1:03d}045859"


def catalog_files(root: str | Path, n_sectors: int) -> dict[str, Path]:
    """The simulated TESS survey's tables: the SPOC TCE table as MAST names it, the TOI table, and
    the ground truth."""
    root = Path(root)
    return {"catalog": root / f"{SEARCH_STAMP}-{run_name(n_sectors)}_dvr-tcestats.csv", "toi": root / "toi.csv",
            "truth": root / "truth.csv", "stars": root / "stars_truth.csv"}


def write_catalog_files(survey, out_dir: str | Path, n_sectors: int, seed: int) -> dict[str, Path]:
    """Write the SPOC TCE table, the TOI table and the truth tables (TCE ids as the SPOC reader
    names them: <tic>_<run>_<tce_plnt_num>)."""
    paths = catalog_files(out_dir, n_sectors)
    rng = np.random.default_rng([seed, len(survey.stars), n_sectors, 3])
    truth = survey.truth.copy()
    truth["tce_id"] = [f"{int(t)}_{run_name(n_sectors)}_{int(k)}" for t, k in zip(truth.kepid, truth.tce_plnt_num)]
    with atomic_output(paths["catalog"], ".csv") as tmp:
        tmp.write_text(spoc_table(truth, survey.stars, n_sectors, rng))
    for key, frame in (("toi", toi_table(truth, rng)), ("truth", truth), ("stars", survey.stars)):
        with atomic_output(paths[key], ".csv") as tmp:
            frame.to_csv(tmp, index=False)
    return paths


def generate_tess_star(star, signals: pd.DataFrame, seed: int, root: str | Path, product: str = "spoc") -> list[Path]:
    """Write every sector of one star under ``root`` in MAST's layout; returns the paths. The
    star's astrophysical signals (simulate/common.py), its noise, the spacecraft's flux jump
    at each momentum dump and scattered light near each orbit's ends, and its centroids on the
    camera and CCD of that sector, turned as that camera sees the sky."""
    tic = int(star["tic"])
    rng = np.random.default_rng([seed, tic, 7])
    unique = signals.drop_duplicates("sig_signal_id")
    kinds = set(unique.sig_kind)
    dump_scale = star["dump_strength"] * (8.0 if "dump" in kinds else 1.0)
    light_scale = star["scattered_light"] * (6.0 if "scattered" in kinds else 1.0)
    blends = blend_sources(unique)
    offsets = [on_sky(PIXEL_ARCSEC * rng.uniform(*OFFSET_PIXELS[k]) / 4.0, a)
               for k, a in zip(blends.sig_kind, rng.uniform(0, 2 * np.pi, len(blends)))]
    contaminant = on_sky(PIXEL_ARCSEC * star["contaminant_dist"], star["contaminant_angle"])
    paths = []
    for sector in (int(s) for s in str(star["sectors"]).split(";")):
        cadence = SPOC_CADENCE if product == "spoc" else ffi_cadence(sector)
        time, gap = sector_times(sector, cadence)
        n = time.size
        camera, ccd, angle = int(rng.integers(1, 5)), int(rng.integers(1, 5)), float(rng.uniform(0, 2 * np.pi))
        to_pixels = np.linalg.inv(sky_matrix(angle, PIXEL_ARCSEC))
        sigma = star["cdpp6"] * 1e-6 * np.sqrt(0.25 / cadence)
        astro = star_signal(time, unique, rng)
        _, shift = blended_light(time, blends, offsets, to_pixels, rng)
        shift -= contaminant_shift(to_pixels, contaminant, astro, star["crowding"])
        variability = rotational_modulation(time, star["var_period"], star["var_amp"], rng)
        quality = np.zeros(n, np.int32)
        jumps = np.zeros(n)
        for t0 in dump_times(sector):
            at = int(np.searchsorted(time, t0))
            after = time >= time[min(at, n - 1)]
            jumps[after] += dump_scale * rng.normal() * np.exp(-(time[after] - time[min(at, n - 1)]) / rng.uniform(0.1, 0.3))
            flags = DUMP_FLAGS if product == "spoc" else DUMP_FLAGS[-1:]
            quality[at:at + len(flags)] |= flags[: max(0, min(len(flags), n - at))]
        a0, a1, b0, b1 = orbit_starts(sector)
        ramp = np.zeros(n)
        for start, end in ((a0, a1), (b0, b1)):
            inside = (time >= start) & (time < end)
            tau = rng.uniform(0.4, 1.2)
            ramp[inside] += light_scale * (rng.uniform(0.3, 1.0) * np.exp(-(time[inside] - start) / tau)
                                           + rng.uniform(0.3, 1.0) * np.exp((time[inside] - end) / tau))
        quality[ramp > 5 * sigma] |= 4096
        quality[gap] = 8
        rel = 1.0 + astro + variability + jumps + ramp + rng.normal(0, sigma, n)
        level = 1.5e4 * 10 ** (-0.4 * (star["tessmag"] - 10.0))
        flux = level * rel
        err = np.full(n, level * sigma)
        col0, row0 = rng.uniform(50, 2000), rng.uniform(50, 2000)
        drift = np.cumsum(rng.normal(0, 2e-4, n))
        mom_col = col0 + drift + shift[0] + rng.normal(0, star["jitter"], n)
        mom_row = row0 - 0.5 * drift + shift[1] + rng.normal(0, star["jitter"], n)
        bad = (quality & (32 | 8)) != 0
        for array in (flux, err, mom_col, mom_row):
            array[bad] = np.nan
        t_out = np.where(gap, np.nan, time)
        first_cadence = int(round((time[0] - FIRST_SECTOR_START) / cadence))
        if product == "qlp":
            # QLP's fluxes are normalised; its KSPSAP_FLUX has its own spline taken out.
            columns = {"TIME": t_out, "CADENCENO": np.arange(n) + first_cadence, "SAP_FLUX": np.where(bad, np.nan, rel),
                       "KSPSAP_FLUX": np.where(bad, np.nan, rel - ramp - variability),
                       "KSPSAP_FLUX_ERR": np.full(n, sigma), "QUALITY": quality,
                       "ORBITID": np.where(time < a1, 2 * sector - 1, 2 * sector) + 8, "SAP_X": mom_col,
                       "SAP_Y": mom_row, "SAP_BKG": np.full(n, 0.05), "SAP_BKG_ERR": np.full(n, 0.01)}
        else:
            columns = {"TIME": t_out, "TIMECORR": np.where(gap, 0.0, 9e-4), "CADENCENO": np.arange(n) + first_cadence,
                       "SAP_FLUX": flux / star["crowding"], "SAP_FLUX_ERR": err, "SAP_BKG": np.full(n, 0.06 * level),
                       "SAP_BKG_ERR": np.full(n, 3e-4 * level), "PDCSAP_FLUX": flux, "PDCSAP_FLUX_ERR": err,
                       "QUALITY": quality, "MOM_CENTR1": mom_col, "MOM_CENTR1_ERR": np.full(n, star["jitter"]),
                       "MOM_CENTR2": mom_row, "MOM_CENTR2_ERR": np.full(n, star["jitter"]),
                       "POS_CORR1": np.where(bad, np.nan, drift), "POS_CORR2": np.where(bad, np.nan, -0.5 * drift)}
        paths.append(write_tess_lc(root, tic, sector, camera, ccd, columns, star, angle, product))
    return paths
