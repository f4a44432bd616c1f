"""What the Kepler and TESS simulators share: the dispositions of the simulated classes, a star's
astrophysical signals, the light of its blended sources and how it moves the flux-weighted
centroid, and a light-curve file's aperture orientation on the sky (its pixel scale turned by the
camera's orientation), as both write it into the aperture WCS.

``lightcurves`` (Kepler) and ``tess`` import this; it imports neither, nor ``population``.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pandas as pd

from .signals import eclipse_signal, ellipsoidal_variation, glitches, pulsation, rotational_modulation, sudden_drops

# The catalog's disposition of each simulated class (``truth.true_class``).
DISPOSITION = {"planet": "PC", "eb": "AFP", "eb_secondary": "AFP", "blend": "AFP", "leak": "AFP",
               "ellipsoidal": "AFP", "spots": "NTP", "pulsation": "NTP", "systematic": "NTP", "glitch": "NTP",
               "dump": "NTP", "scattered": "NTP"}

# Light that is not the target's: a background binary within a few pixels, a bright neighbour's
# eclipses leaking in from the wings of its image much further out.
OFFSET_PIXELS = {"blend": (0.5, 2.5), "leak": (4.0, 15.0)}


def signal_rows(signals: pd.DataFrame) -> list[tuple]:
    """A small frame's rows as named tuples, as ``itertuples`` gives them: ``itertuples`` indexes
    each of its ~30 columns on every call, milliseconds that a survey's thousands of calls add up."""
    row = namedtuple("Signal", signals.columns)
    return [row._make(values) for values in signals.to_numpy(object)]


def star_signal(time: np.ndarray, signals: pd.DataFrame, rng) -> np.ndarray:
    """Sum of a star's astrophysical signals (``blended_light`` gives the blended sources' part,
    which moves the flux-weighted centroid)."""
    total = np.zeros_like(time)
    for sig in signal_rows(signals):
        total += one_signal(time, sig, rng)
    return total


def one_signal(time: np.ndarray, sig, rng) -> np.ndarray:
    """The relative flux of one signal (a ``signal_rows`` row) at ``time``."""
    kind = sig.sig_kind
    if kind in ("planet", "eb", "blend", "leak"):
        return eclipse_signal(time, sig.sig_period, sig.sig_epoch, sig.sig_k, sig.sig_a_rs, sig.sig_b,
                              sig.sig_u1, sig.sig_u2,
                              secondary_ratio=0.0 if kind == "planet" else sig.sig_sec_ratio,
                              secondary_phase=0.5 if kind == "planet" else sig.sig_sec_phase,
                              dilution=1.0 if kind == "planet" else sig.sig_dilution)
    if kind == "ellipsoidal":
        return ellipsoidal_variation(time, sig.sig_period, sig.sig_epoch, sig.sig_amp, sig.sig_sec_ratio)
    if kind == "spots":
        return rotational_modulation(time, sig.sig_var_period, sig.sig_amp, rng, evolution=60.0)
    if kind == "pulsation":
        n_modes = int(rng.integers(1, 4))
        periods = sig.sig_period * np.r_[1.0, rng.uniform(0.5, 2.0, n_modes - 1)]
        amps = sig.sig_amp * np.r_[1.0, rng.uniform(0.2, 0.6, n_modes - 1)]
        # Phase chosen so the catalog epoch falls on a minimum of the main mode.
        phases = np.r_[-2 * np.pi * sig.sig_epoch / sig.sig_period - np.pi / 2,
                       rng.uniform(0, 2 * np.pi, n_modes - 1)]
        return pulsation(time, periods, amps, phases)
    if kind == "systematic":
        events = [float(x) for x in str(sig.sig_events).split(";") if x]
        return sudden_drops(time, events, sig.sig_amp, sig.sig_event_width)
    if kind == "glitch":
        events = [float(x) for x in str(sig.sig_events).split(";") if x]
        return glitches(time, events, sig.sig_amp, sig.sig_event_width)
    if kind in ("dump", "scattered"):
        return np.zeros_like(time)      # made by the spacecraft, not the star (simulate/tess.py)
    raise ValueError(f"unknown simulated signal kind {kind!r}")


# Signals the spacecraft makes (simulate/tess.py), not the star: no fold of ``one_signal`` shows them.
INSTRUMENT_KINDS = ("dump", "scattered")
# Signals that repeat exactly at their period (the spots and pulsations drift or beat).
STRICTLY_PERIODIC = ("planet", "eb", "blend", "leak", "ellipsoidal")


def fold_depth(sig, period: float, epoch: float, duration: float, t_start: float, t_end: float) -> float:
    """The depth [relative] that a fold of one noise-free signal (``sig``: its ``sig_*`` fields, as
    ``one_signal`` reads them) shows at an ephemeris, measured as features.measure_features
    measures a TCE's: the median level beyond one duration from mid-transit minus the mean within
    a quarter duration of it, over every cycle in [t_start, t_end). What a pipeline that found the
    TCE there reports: a blend's diluted depth, a grazing eclipse's own (not k^2), a primary and a
    secondary folded together at half the period, a glitch's depth spread over every cycle it
    missed, a variable star's dip at that phase. Negative where the fold brightens."""
    cycles = np.arange(np.floor((t_start - epoch) / period), np.ceil((t_end - epoch) / period) + 1)
    cycles = cycles[(epoch + cycles * period >= t_start) & (epoch + cycles * period < t_end)]
    if sig.sig_kind in STRICTLY_PERIODIC:
        # Every cycle of a strictly periodic signal folds alike, at most three apart at the
        # reported ratios of its period (1/3, 1/2, 2/3, 3/2, 2, 3): six cycles say all of them.
        cycles = cycles[:6]
    core = (epoch + cycles[:, None] * period + np.linspace(-0.25, 0.25, 15)[None, :] * duration).ravel()
    if core.size == 0:
        return float("nan")
    # The level from every phase beyond one duration, on at most 200 cycles spread over the span.
    picked = cycles[np.unique(np.linspace(0, cycles.size - 1, min(cycles.size, 200)).astype(int))]
    offsets = np.linspace(duration, period - duration, 48) if period > 2 * duration else np.zeros(0)
    level_t = (epoch + picked[:, None] * period + offsets[None, :]).ravel()
    level_t = level_t[(level_t >= t_start) & (level_t < t_end)]
    # The variable signals draw their spot and mode phases from an rng: a fixed one, so that the
    # depth is the survey's own, whatever else was drawn before.
    flux = one_signal(np.concatenate([core, level_t]), sig, np.random.default_rng(0))
    level = float(np.median(flux[core.size:])) if level_t.size else 0.0
    return level - float(np.mean(flux[:core.size]))


def blend_sources(signals: pd.DataFrame) -> pd.DataFrame:
    """The star's signals whose light comes from another source (one row per signal)."""
    return signals[signals.sig_kind.isin(list(OFFSET_PIXELS))].drop_duplicates("sig_signal_id")


def on_sky(dist_arcsec: float, angle: float) -> np.ndarray:
    """A source ``dist_arcsec`` away at position angle ``angle`` [rad]: its (east, north) offset [arcsec]."""
    return dist_arcsec * np.array([np.cos(angle), np.sin(angle)])


def sky_matrix(orientation: float, scale: float) -> np.ndarray:
    """(column, row) pixel shifts -> (east, north) arcsec for an aperture WCS of ``scale``
    [arcsec/pixel] turned by ``orientation`` [rad]: CDELT1 = -scale, CDELT2 = scale, PC a
    rotation, as ``aperture_wcs`` writes it and as astropy reads it back (CDELT x PC)."""
    c, s = np.cos(orientation), np.sin(orientation)
    return np.diag([-scale, scale]) @ np.array([[c, -s], [s, c]])


def aperture_wcs(orientation: float, ra: float, dec: float, scale: float, reference_pixel: float) -> list[tuple]:
    """The celestial WCS keywords of a light-curve file's APERTURE extension (``sky_matrix``'s
    orientation and scale, centred on ``reference_pixel``), as (keyword, value, comment)."""
    c, s = np.cos(orientation), np.sin(orientation)
    deg = scale / 3600.0
    return [("RADESYS", "ICRS", "reference frame of celestial coordinates"), ("RA_OBJ", ra, "[deg] right ascension"),
            ("DEC_OBJ", dec, "[deg] declination"), ("EQUINOX", 2000.0, "equinox of celestial coordinate system"),
            ("WCSAXES", 2, "number of WCS axes"), ("CTYPE1", "RA---TAN", "right ascension coordinate type"),
            ("CTYPE2", "DEC--TAN", "declination coordinate type"),
            ("CRPIX1", reference_pixel, "[pixel] reference pixel along image axis 1"),
            ("CRPIX2", reference_pixel, "[pixel] reference pixel along image axis 2"),
            ("CRVAL1", ra, "[deg] right ascension at reference pixel"),
            ("CRVAL2", dec, "[deg] declination at reference pixel"),
            ("CUNIT1", "deg", "physical unit in column dimension"), ("CUNIT2", "deg", "physical unit in row dimension"),
            ("CDELT1", -deg, "[deg] pixel scale in RA dimension"), ("CDELT2", deg, "[deg] pixel scale in Dec dimension"),
            ("PC1_1", c, "linear transformation element cos(th)"), ("PC1_2", -s, "linear transformation element -sin(th)"),
            ("PC2_1", s, "linear transformation element sin(th)"), ("PC2_2", c, "linear transformation element cos(th)")]


def blended_light(time: np.ndarray, blends: pd.DataFrame, offsets: list[np.ndarray], to_pixels: np.ndarray,
                  rng) -> tuple[np.ndarray, np.ndarray]:
    """The light of the blended sources (``blend_sources``, each at its (east, north) offset
    [arcsec]) and the (column, row) shift [pixel] of the flux-weighted centroid, which moves away
    from a source while it dims. ``to_pixels``: (east, north) arcsec -> (column, row) pixels."""
    light = np.zeros(time.size)
    shift = np.zeros((2, time.size))
    for sig, offset in zip(signal_rows(blends), offsets):
        dimming = one_signal(time, sig, rng)
        light += dimming
        shift += np.outer(to_pixels @ offset, dimming)
    return light, shift


def contaminant_shift(to_pixels: np.ndarray, contaminant: np.ndarray, on_target: np.ndarray,
                      crowding: float) -> np.ndarray:
    """The (column, row) shift [pixel] of the centroid towards the contaminating star at
    ``contaminant`` (east, north) [arcsec] while the target dims by ``on_target``: a crowding
    of 1 (all the aperture's light the target's) leaves it where it is."""
    return np.outer(to_pixels @ contaminant, on_target * (1 - crowding))
