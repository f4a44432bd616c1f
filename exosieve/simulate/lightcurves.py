"""Generate one simulated star's Kepler long-cadence light curve, quarter by quarter.

Deterministic per star (seeded by survey seed and KIC), so the shard a star lands in, or the
order stars are generated in, never changes its data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .common import OFFSET_PIXELS, blend_sources, blended_light, contaminant_shift, on_sky, sky_matrix, star_signal
from .kepler_fits import PIXEL_ARCSEC, write_kepler_llc
from .population import KEPLER_QUARTERS
from .signals import KEPLER_LC_CADENCE, rotational_modulation

# Quality bits that lightkurve's default bitmask drops (their cadences are corrupted here) and
# bits it keeps (their cadences are fine), as in real Kepler data.
BAD_FLAGS = np.array([1, 4, 32, 256, 65536])
BENIGN_FLAGS = np.array([16, 128, 8192])
FLUX_AT_KP12 = 1.74e5  # [e-/s]


def _time_grid(quarter_start: float, quarter_end: float) -> np.ndarray:
    time = np.arange(quarter_start, quarter_end, KEPLER_LC_CADENCE)
    # Monthly data downlinks leave ~1 day gaps.
    keep = np.ones(time.size, bool)
    for gap_start in np.arange(quarter_start + 30.0, quarter_end - 5, 31.0):
        keep &= ~((time >= gap_start) & (time < gap_start + 1.0))
    return time[keep]


def instrument_systematics(time: np.ndarray, quarter_start: float, sigma: float, rng
                           ) -> tuple[np.ndarray, np.ndarray]:
    """What the spacecraft adds to a quarter's flux, relative, and moves the centroid by [pixel]:
    correlated noise (AR(1), about 6 h coherence), a step at each momentum dump (every 3 days, as
    Kepler's reaction wheels were desaturated) and a thermal ramp after each gap (the quarter's
    start and every downlink), decaying over hours. The spline leaves some of each in; a few of
    them look like dips. Returns (flux, centroid shift along the column)."""
    from scipy.signal import lfilter
    n = time.size
    coherence = np.exp(-np.median(np.diff(time)) / 0.25)
    red = lfilter([np.sqrt(1 - coherence**2)], [1, -coherence], rng.normal(0, 1, n))
    red *= rng.uniform(0.2, 0.8) * sigma
    dumps = quarter_start + rng.uniform(0, 3.0) + np.arange(0, 100, 3.0)
    step_at = np.searchsorted(dumps, time)                 # index of the last dump before each cadence
    steps = np.cumsum(rng.normal(0, 4e-5, dumps.size + 1))[step_at]
    starts = np.concatenate([[time[0]], time[1:][np.diff(time) > 0.5]])   # after every gap
    since = time - starts[np.searchsorted(starts, time, side="right") - 1]
    amp = rng.uniform(2e-4, 1.5e-3) * rng.choice([-1, 1])
    ramp = amp * np.exp(-since / rng.uniform(0.2, 0.8))
    flux = red + steps + ramp
    return flux, 30.0 * (steps + ramp)     # a few millipixels of pointing with each


def generate_star(star: pd.Series, signals: pd.DataFrame, n_quarters: int, seed: int,
                  root: str | Path) -> list[Path]:
    """Write every quarter of one star under ``root`` in MAST's layout; returns the paths."""
    kepid = int(star["kepid"])
    rng = np.random.default_rng([seed, kepid])
    sigma = star["cdpp6"] * 1e-6 * np.sqrt(0.25 / KEPLER_LC_CADENCE)  # per-cadence white noise
    level = FLUX_AT_KP12 * 10 ** (-0.4 * (star["kepmag"] - 12.0))
    # Each of the 4 seasons puts the star on a different CCD: other pixel positions and throughput.
    season_col = rng.uniform(20, 1100, 4)
    season_row = rng.uniform(20, 1000, 4)
    season_gain = rng.uniform(0.75, 1.0, 4)
    # ... and another orientation on the sky, which its files' aperture WCS records (as TESS's
    # cameras do from sector to sector; Kepler's kept theirs). Sources sit at fixed places on the
    # sky, so the same blend moves the centroid along other pixel axes each season.
    season_angle = rng.uniform(0, 2 * np.pi, 4)
    to_pixels = [np.linalg.inv(sky_matrix(a, PIXEL_ARCSEC)) for a in season_angle]
    contaminant = on_sky(PIXEL_ARCSEC * star["contaminant_dist"], star["contaminant_angle"])
    blend_signals = blend_sources(signals)
    blend_offsets = [on_sky(PIXEL_ARCSEC * float(rng.uniform(*OFFSET_PIXELS[kind])), float(rng.uniform(0, 2 * np.pi)))
                     for kind in blend_signals.sig_kind]
    paths = []
    unique_signals = signals.drop_duplicates("sig_signal_id")
    for quarter, stamp, q_start, q_end in KEPLER_QUARTERS[:n_quarters]:
        time = _time_grid(q_start, q_end)
        n = time.size
        season = (quarter + 2) % 4
        variability = rotational_modulation(time, star["var_period"], star["var_amp"], rng)
        astro = star_signal(time, unique_signals, rng)
        # The centroid moves away from a background source while it dims, and (through the
        # contaminating light) a little with the target's own dimming.
        blended, shift = blended_light(time, blend_signals, blend_offsets, to_pixels[season], rng)
        shift -= contaminant_shift(to_pixels[season], contaminant, astro - blended, star["crowding"])
        ramp = 2e-4 * rng.normal() * (time - time.mean()) / (q_end - q_start)
        systematics, pointing = instrument_systematics(time, q_start, sigma, rng)
        shift[0] += pointing
        rel = 1.0 + astro + variability + ramp + systematics + rng.normal(0, sigma, n)
        pdc = level * season_gain[season] * rel
        pdc_err = np.full(n, level * season_gain[season] * sigma)
        drift = np.cumsum(rng.normal(0, 2e-4, n))
        mom_col = season_col[season] + drift + shift[0] + rng.normal(0, star["jitter"], n)
        mom_row = season_row[season] - 0.5 * drift + shift[1] + rng.normal(0, star["jitter"], n)
        quality = np.zeros(n, dtype=np.int32)
        bad = rng.random(n) < 0.015
        quality[bad] = rng.choice(BAD_FLAGS, bad.sum())
        pdc[bad] *= 1 + rng.normal(0, 30 * sigma, bad.sum())  # flagged cadences are corrupted
        no_data = quality == 65536
        benign = (~bad) & (rng.random(n) < 0.01)
        quality[benign] = rng.choice(BENIGN_FLAGS, benign.sum())
        time_out = time.copy()
        pdc[no_data] = np.nan
        pdc_err[no_data] = np.nan
        time_out[no_data & (rng.random(n) < 0.5)] = np.nan  # real files have NaN TIME cadences too
        sap = pdc / star["crowding"] * (1 + 3e-3 * (time - q_start) / (q_end - q_start))
        columns = {
            "TIME": time_out, "TIMECORR": np.full(n, 1e-3, np.float32),
            "CADENCENO": np.arange(n, dtype=np.int32) + int((q_start - 131.5) / KEPLER_LC_CADENCE),
            "SAP_FLUX": sap.astype(np.float32), "SAP_FLUX_ERR": (pdc_err / star["crowding"]).astype(np.float32),
            "SAP_BKG": np.full(n, 0.02 * level, np.float32), "SAP_BKG_ERR": np.full(n, 1e-3 * level, np.float32),
            "PDCSAP_FLUX": pdc.astype(np.float32), "PDCSAP_FLUX_ERR": pdc_err.astype(np.float32),
            "SAP_QUALITY": quality, "MOM_CENTR1": mom_col, "MOM_CENTR1_ERR": np.full(n, star["jitter"], np.float32),
            "MOM_CENTR2": mom_row, "MOM_CENTR2_ERR": np.full(n, star["jitter"], np.float32),
            "POS_CORR1": drift.astype(np.float32), "POS_CORR2": (-0.5 * drift).astype(np.float32),
        }
        paths.append(write_kepler_llc(root, kepid, quarter, stamp, columns, star, season_angle[season]))
    return paths
