"""Detrending: remove stellar variability and instrumental trends, keeping transits intact.

Each continuous segment (split at gaps and quarter boundaries) gets a cubic least-squares spline
with knots every ``knot_spacing`` days, fitted with every TCE's transits masked and with iterative
sigma clipping (as Vanderburg & Johnson 2014 and Astronet do), each cadence weighted by its flux
error. A segment too short for two knot intervals (a stretch between gaps, where thermal ramps
after a safe mode or a downlink live) gets a low-order polynomial instead of a constant, so that
a ramp does not stay in to fake a transit. The mask spans ``mask_durations`` transit durations
(default 3: +-1.5 durations), so that ingress and egress stay out of the fit even when the
catalog's duration is off by tens of percent. Cost is O(n) per segment.

``method: savgol`` is lightkurve's ``flatten`` instead (a Savitzky-Golay filter over
``window_length`` cadences, split at gaps, masked cadences interpolated): how DART-Vetter made the
DR24 views in ../shared/data, so the ``dartvetter_dr24`` views preset detrends with it.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import LSQUnivariateSpline


# The most of a light curve the transit masks may hide from the fit: beyond it the spline has to
# guess across the gaps (a variable star with two short-period TCEs was 80% masked). TCEs with
# the largest duty cycle are left unmasked first; sigma clipping still keeps deep ones out.
MAX_MASKED_FRACTION = 0.3


def fit_mask(time: np.ndarray, periods, epochs, durations, width: float = 3.0) -> np.ndarray:
    """``transit_mask`` of the TCEs whose transits, taken in order of duty cycle, keep the masked
    cadences within MAX_MASKED_FRACTION."""
    periods, epochs, durations = (np.asarray(x, float) for x in (periods, epochs, durations))
    mask = np.zeros(time.size, bool)
    for i in np.argsort(width * durations / periods, kind="stable"):
        more = mask | transit_mask(time, periods[i:i + 1], epochs[i:i + 1], durations[i:i + 1], width)
        if more.mean() > MAX_MASKED_FRACTION:
            break
        mask = more
    return mask


def transit_mask(time: np.ndarray, periods, epochs, durations, width: float = 3.0) -> np.ndarray:
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


def _low_order(t, f, w, degree):
    """A weighted polynomial of ``degree`` (a constant median at 0), as a callable of time."""
    if degree == 0:
        level = float(np.median(f))
        return lambda x: np.full(np.shape(x), level)
    return np.polynomial.Polynomial.fit(t, f, degree, w=w)


def short_segment_degree(n_points: int, span: float) -> int:
    """Polynomial degree for a segment too short for the spline: a quadratic follows a thermal
    ramp's curvature over a day or two; fewer points or hours get a line or a constant."""
    if n_points < 10:
        return 0
    return 2 if n_points >= 30 and span >= 0.5 else 1


def _fit_segment(t, f, use, knot_spacing, sigma, iterations, w=None):
    """Trend of one segment, evaluated at every ``t``; ``use`` marks points it may fit, ``w`` are
    weights (1/flux error) or None."""
    w = np.ones(t.size) if w is None else w
    if not use.any():
        return np.full(t.size, np.median(f))
    for _ in range(iterations):
        tt, ff, ww = t[use], f[use], w[use]
        if tt.size < 8 or tt[-1] - tt[0] < 2 * knot_spacing:
            model = _low_order(tt, ff, ww, short_segment_degree(tt.size, tt[-1] - tt[0]))
        else:
            knots = np.arange(tt[0] + knot_spacing, tt[-1] - 0.5 * knot_spacing, knot_spacing)
            # Schoenberg-Whitney: every knot interval needs data, so drop knots over masked gaps.
            counts = np.diff(np.searchsorted(tt, np.concatenate([[tt[0]], knots, [tt[-1] + 1e-9]])))
            keep = np.ones(knots.size, bool)
            keep[(counts[:-1] < 4) | (counts[1:] < 4)] = False
            try:
                model = LSQUnivariateSpline(tt, ff, knots[keep], w=ww, k=3)
            except ValueError:
                model = _low_order(tt, ff, ww, 0)
        resid = f - model(t)
        scatter = robust_std(resid[use])
        new_use = use & (np.abs(resid) < sigma * scatter) if scatter > 0 else use
        if new_use.sum() == use.sum() or new_use.sum() < 3:
            break
        use = new_use
    return model(t)


def error_weights(flux_err: np.ndarray | None) -> np.ndarray | None:
    """1/sigma weights from flux errors; a missing or non-positive error gets the median error's
    weight, so one bad error neither dominates nor vanishes from the fit."""
    if flux_err is None:
        return None
    err = np.asarray(flux_err, float)
    good = np.isfinite(err) & (err > 0)
    if not good.any():
        return None
    err = np.where(good, err, np.median(err[good]))
    return 1.0 / err


def fit_trend(time, values, mask, segment=None, knot_spacing=1.5, gap=0.75, sigma_clip=3.0,
              iterations=3, weights=None) -> np.ndarray:
    """Trend of ``values`` fitted per segment, ignoring cadences where ``mask`` is True."""
    trend = np.empty_like(values)
    for start, stop in segment_bounds(time, segment, gap):
        sl = slice(start, stop)
        trend[sl] = _fit_segment(time[sl], values[sl], ~mask[sl], knot_spacing, sigma_clip, iterations,
                                 None if weights is None else weights[sl])
    return trend


def savgol_trend(time, flux, mask, window_length=101, polyorder=2, sigma_clip=3.0, iterations=3) -> np.ndarray:
    """lightkurve's ``flatten`` trend: a Savitzky-Golay filter over ``window_length`` cadences
    (segments split at gaps of five cadences; ``mask``ed cadences and outliers interpolated over)."""
    import warnings
    with warnings.catch_warnings():     # lightkurve warns on import about optional modules
        warnings.simplefilter("ignore")
        import lightkurve as lk         # seconds to import: only this method needs it
        lc = lk.LightCurve(time=np.asarray(time, float), flux=np.asarray(flux, float))
        _, trend = lc.flatten(window_length=window_length, polyorder=polyorder, return_trend=True,
                              niters=iterations, sigma=sigma_clip, mask=np.asarray(mask, bool))
    return np.asarray(trend.flux.value, float)


def detrend(time, flux, periods, epochs, durations, segment=None, knot_spacing=1.5, gap=0.75,
            mask_durations=3.0, sigma_clip=3.0, iterations=3, flux_err=None, method="spline",
            window_length=101, polyorder=2) -> tuple[np.ndarray, np.ndarray]:
    """Return (flux / trend, the mask the fit left out: ``fit_mask``). ``time`` must be sorted."""
    mask = fit_mask(time, periods, epochs, durations, mask_durations)
    if method == "savgol":
        trend = savgol_trend(time, flux, mask, window_length, polyorder, sigma_clip, iterations)
    else:
        trend = fit_trend(time, flux, mask, segment, knot_spacing, gap, sigma_clip, iterations,
                          error_weights(flux_err))
    return flux / trend, mask
