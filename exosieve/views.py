"""Phase folding and binning into fixed-length views (Shallue & Vanderburg 2018; ExoMiner).

A view is a median-binned, phase-folded light curve: ``global`` spans the whole orbit, ``local``
spans ``local_durations`` transit durations either side of the transit. Views are normalised so
that the out-of-transit median is 0 and the minimum is -1; the raw depth is kept as a scalar.
"""

from __future__ import annotations

import numpy as np


def phase_fold(time: np.ndarray, period: float, epoch: float) -> np.ndarray:
    """Time from the nearest transit centre, in days, in [-period/2, period/2)."""
    return (time - epoch + 0.5 * period) % period - 0.5 * period


def binned_median(x: np.ndarray, y: np.ndarray, lo: float, hi: float, n_bins: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Median of ``y`` in ``n_bins`` equal bins of ``x`` over [lo, hi); (medians, counts).

    Vectorised: one lexsort by (bin, y) puts each bin's values in order, so each median is
    read off at the middle of its run. O(n log n), no Python loop over bins.
    """
    inside = (x >= lo) & (x < hi)
    idx = ((x[inside] - lo) / (hi - lo) * n_bins).astype(np.int64)
    idx = np.minimum(idx, n_bins - 1)
    vals = y[inside]
    order = np.lexsort((vals, idx))
    idx, vals = idx[order], vals[order]
    counts = np.bincount(idx, minlength=n_bins)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    med = np.full(n_bins, np.nan)
    has = counts > 0
    lo_mid = starts[has] + (counts[has] - 1) // 2
    hi_mid = starts[has] + counts[has] // 2
    med[has] = 0.5 * (vals[lo_mid] + vals[hi_mid])
    return med, counts


def fill_empty(view: np.ndarray) -> np.ndarray:
    """Linearly interpolate over empty (NaN) bins; a view with no data at all becomes zeros."""
    good = np.isfinite(view)
    if good.all():
        return view
    if not good.any():
        return np.zeros_like(view)
    i = np.arange(view.size)
    return np.interp(i, i[good], view[good])


def normalize_view(view: np.ndarray, baseline: float) -> np.ndarray:
    """Shift so ``baseline`` (the out-of-transit level) is 0 and scale so the minimum is -1."""
    v = view - baseline
    depth = -float(np.min(v))
    return v / depth if depth > 0 else v


def global_view(phase: np.ndarray, flux: np.ndarray, period: float, n_bins: int) -> np.ndarray:
    med, _ = binned_median(phase, flux, -0.5 * period, 0.5 * period, n_bins)
    med = fill_empty(med)
    return normalize_view(med, float(np.median(med)))


def local_view(phase: np.ndarray, flux: np.ndarray, duration: float, n_bins: int,
               half_width: float) -> np.ndarray:
    """``half_width`` durations either side of the transit centre."""
    lo, hi = -half_width * duration, half_width * duration
    med, _ = binned_median(phase, flux, lo, hi, n_bins)
    med = fill_empty(med)
    centres = np.linspace(lo, hi, n_bins, endpoint=False) + 0.5 * (hi - lo) / n_bins
    out_of_transit = np.abs(centres) > duration
    baseline = float(np.median(med[out_of_transit])) if out_of_transit.any() else float(np.median(med))
    return normalize_view(med, baseline)
