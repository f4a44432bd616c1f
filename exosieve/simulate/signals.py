"""Signal models for the simulated survey: transits, eclipses, variability and systematics.

All functions are vectorised over a time array and return a fractional flux change (negative for
dimming) so that the light curve is ``1 + sum(signals) + noise``.
"""

from __future__ import annotations

import numpy as np

KEPLER_LC_CADENCE = 0.0204335982  # [d] Kepler long cadence (29.4 min)


def overlap_fraction(z: np.ndarray, k: float) -> np.ndarray:
    """Fraction of an occulting disc of radius ``k`` (stellar radii) that lies on the star,
    times k^2 over the star's area, i.e. the geometrically blocked fraction of the stellar disc,
    for centre separations ``z`` (stellar radii)."""
    z = np.abs(np.asarray(z, dtype=float))
    area = np.zeros_like(z)
    k2 = k * k
    inside = z <= abs(1.0 - k)
    area[inside] = min(k2, 1.0)
    part = (~inside) & (z < 1.0 + k)
    if part.any():
        zp = z[part]
        c0 = np.clip((k2 + zp**2 - 1.0) / (2.0 * k * zp), -1.0, 1.0)
        c1 = np.clip((1.0 - k2 + zp**2) / (2.0 * zp), -1.0, 1.0)
        root = np.sqrt(np.clip(4.0 * zp**2 - (1.0 + zp**2 - k2) ** 2, 0.0, None))
        area[part] = (k2 * np.arccos(c0) + np.arccos(c1) - 0.5 * root) / np.pi
    return area


def limb_darkened_deficit(z: np.ndarray, k: float, u1: float, u2: float) -> np.ndarray:
    """Flux deficit of a disc of radius k at separation z over a quadratically limb-darkened star.

    Uses the occulted area times the local intensity under the disc's centre (the small-planet
    approximation of Mandel & Agol 2002), exact enough for simulation and cheap to vectorise.
    """
    blocked = overlap_fraction(z, k)
    r = np.clip(np.abs(z), 0.0, 1.0)
    mu = np.sqrt(1.0 - r**2)
    intensity = 1.0 - u1 * (1.0 - mu) - u2 * (1.0 - mu) ** 2
    mean_intensity = 1.0 - u1 / 3.0 - u2 / 6.0
    fully_covered = np.abs(z) <= (k - 1.0)
    intensity = np.where(fully_covered, mean_intensity, intensity)
    return blocked * intensity / mean_intensity


def _supersample(time: np.ndarray, n: int) -> np.ndarray:
    offsets = (np.arange(n) + 0.5) / n - 0.5
    return time[:, None] + offsets[None, :] * KEPLER_LC_CADENCE


def eclipse_signal(time, period, epoch, k, a_rs, b, u1=0.4, u2=0.25, secondary_ratio=0.0,
                   secondary_phase=0.5, dilution=1.0, supersample=5):
    """Primary transit/eclipse (and optional secondary) on a circular-ish orbit.

    ``secondary_ratio`` scales the occultation depth relative to the primary (surface-brightness
    ratio for EBs); ``secondary_phase`` shifts it from 0.5 (eccentric orbits); ``dilution`` is
    the fraction of the aperture's light that comes from the eclipsed system (1 = isolated,
    ~1e-3 for a background binary blended into the target's aperture).
    """
    time = np.asarray(time, float)
    out = np.zeros(time.size)
    # Only cadences near an eclipse need the (supersampled) model; the rest are exactly zero.
    half_window = np.arcsin(min(1.0, (1 + k) / a_rs)) / np.pi + KEPLER_LC_CADENCE / period
    ph = ((time - epoch) / period) % 1.0
    near = (ph < half_window) | (ph > 1 - half_window)
    if secondary_ratio > 0:
        near |= np.abs(ph - secondary_phase) < half_window
    if not near.any():
        return out
    t = _supersample(time[near], supersample)
    phase = ((t - epoch) / period) % 1.0
    phi = 2 * np.pi * phase
    z = np.sqrt((a_rs * np.sin(phi)) ** 2 + (b * np.cos(phi)) ** 2)
    deficit = np.where(np.cos(phi) > 0, limb_darkened_deficit(z, k, u1, u2), 0.0)
    if secondary_ratio > 0:
        phi2 = 2 * np.pi * (phase - secondary_phase + 0.5)
        z2 = np.sqrt((a_rs * np.sin(phi2)) ** 2 + (b * np.cos(phi2)) ** 2)
        occ = np.where(np.cos(phi2) < 0, overlap_fraction(z2, k) / max(min(k * k, 1.0), 1e-12), 0.0)
        deficit = deficit + secondary_ratio * occ * limb_darkened_deficit(0.0 * z2, k, u1, u2)
    out[near] = -dilution * deficit.mean(axis=1)
    return out


def transit_duration(period, a_rs, k, b):
    """Total (first to fourth contact) duration of a circular-orbit transit [same unit as period]."""
    arg = np.sqrt(np.clip((1 + k) ** 2 - b**2, 0, None)) / a_rs
    return period / np.pi * np.arcsin(np.clip(arg, 0, 1))


def rotational_modulation(time, period, amplitude, rng, harmonics=2, evolution=40.0):
    """Spot modulation: a few harmonics whose amplitudes and phases drift on ``evolution`` days."""
    out = np.zeros_like(time)
    knots = np.arange(time.min() - evolution, time.max() + 2 * evolution, evolution)
    for h in range(1, harmonics + 1):
        amp = np.interp(time, knots, amplitude / h * rng.uniform(0.5, 1.0, knots.size))
        ph = np.interp(time, knots, rng.uniform(-0.6, 0.6, knots.size).cumsum())
        out += amp * np.sin(2 * np.pi * h * time / period + ph)
    return out


def pulsation(time, periods, amplitudes, phases):
    out = np.zeros_like(time)
    for p, a, ph in zip(periods, amplitudes, phases):
        out += a * np.sin(2 * np.pi * time / p + ph)
    return out


def sudden_drops(time, event_times, depth, recovery):
    """Sudden pixel-sensitivity drops: an instant fall by ``depth`` recovering on ``recovery`` days."""
    out = np.zeros_like(time)
    for te in event_times:
        after = time >= te
        out[after] -= depth * np.exp(-(time[after] - te) / recovery)
    return out


def glitches(time, event_times, depth, width):
    """Short single events (cosmic-ray trails, reaction-wheel jitter) a few cadences long."""
    out = np.zeros_like(time)
    for te in event_times:
        out -= depth * np.exp(-0.5 * ((time - te) / width) ** 2)
    return out


def ellipsoidal_variation(time, period, epoch, amplitude, unequal):
    """A close binary's ellipsoidal modulation: two minima per orbit, at ``epoch`` (depth
    ``amplitude``) and half an orbit later (shallower by the ``unequal`` fraction: gravity darkening
    and beaming)."""
    phase = 2 * np.pi * (time - epoch) / period
    return -amplitude * (np.cos(2 * phase) + unequal * np.cos(phase)) / (1 + unequal)
