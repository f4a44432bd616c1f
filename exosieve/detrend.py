"""Detrending: remove stellar variability and instrumental trends, keeping transits intact.

Each continuous segment (split at gaps and quarter boundaries) gets a cubic least-squares spline
with knots every ``knot_spacing`` days, fitted with every TCE's transits masked and with iterative
sigma clipping (as Vanderburg & Johnson 2014 and Astronet do). Cost is O(n) per segment.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import LSQUnivariateSpline


def transit_mask(time: np.ndarray, periods, epochs, durations, width: float = 1.5) -> np.ndarray:
    """True where any of the given transits (``width`` durations wide, centred) is in progress."""
    mask = np.zeros(time.size, bool)
    for period, epoch, duration in zip(periods, epochs, durations):
        half = 0.5 * width * duration
        phase = np.abs((time - epoch + 0.5 * period) % period - 0.5 * period)
        mask |= phase < half
    return mask


def segment_bounds(time: np.ndarray, segment: np.ndarray | None, gap: float) -> list[tuple[int, int]]:
    """[start, stop) index pairs of continuous stretches of sorted ``time``."""
    breaks = np.diff(time) > gap
    if segment is not None:
        breaks |= np.diff(segment) != 0
    edges = np.concatenate([[0], np.flatnonzero(breaks) + 1, [time.size]])
    return list(zip(edges[:-1], edges[1:]))


def robust_std(x: np.ndarray) -> float:
    """Standard deviation from the median absolute deviation, ignoring NaN; 0 with no data."""
    x = x[np.isfinite(x)]
    return 1.4826 * float(np.median(np.abs(x - np.median(x)))) if x.size else 0.0


def _fit_segment(t, f, use, knot_spacing, sigma, iterations):
    """Spline trend of one segment, evaluated at every ``t``; ``use`` marks points it may fit."""
    for _ in range(iterations):
        tt, ff = t[use], f[use]
        if tt.size < 8 or tt[-1] - tt[0] < 2 * knot_spacing:
            return np.full(t.size, np.median(ff) if ff.size else np.median(f))
        knots = np.arange(tt[0] + knot_spacing, tt[-1] - 0.5 * knot_spacing, knot_spacing)
        # Schoenberg-Whitney: every knot interval needs data, so drop knots over masked gaps.
        counts = np.diff(np.searchsorted(tt, np.concatenate([[tt[0]], knots, [tt[-1] + 1e-9]])))
        keep = np.ones(knots.size, bool)
        keep[(counts[:-1] < 4) | (counts[1:] < 4)] = False
        knots = knots[keep]
        try:
            spline = LSQUnivariateSpline(tt, ff, knots, k=3)
        except ValueError:
            return np.full(t.size, np.median(ff))
        resid = f - spline(t)
        scatter = robust_std(resid[use])
        new_use = use & (np.abs(resid) < sigma * scatter) if scatter > 0 else use
        if new_use.sum() == use.sum():
            break
        use = new_use
    return spline(t)


def fit_trend(time, values, mask, segment=None, knot_spacing=1.5, gap=0.75, sigma_clip=3.0,
              iterations=3) -> np.ndarray:
    """Spline trend of ``values`` fitted per segment, ignoring cadences where ``mask`` is True."""
    trend = np.empty_like(values)
    for start, stop in segment_bounds(time, segment, gap):
        sl = slice(start, stop)
        trend[sl] = _fit_segment(time[sl], values[sl], ~mask[sl], knot_spacing, sigma_clip, iterations)
    return trend


def detrend(time, flux, periods, epochs, durations, segment=None, knot_spacing=1.5, gap=0.75,
            mask_durations=1.5, sigma_clip=3.0, iterations=3) -> tuple[np.ndarray, np.ndarray]:
    """Return (flux / trend, in-transit mask). ``time`` must be sorted."""
    mask = transit_mask(time, periods, epochs, durations, mask_durations)
    trend = fit_trend(time, flux, mask, segment, knot_spacing, gap, sigma_clip, iterations)
    return flux / trend, mask
