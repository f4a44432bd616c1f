"""Scalar features of a TCE, measured by ExoSieve from its detrended light curve (never copied
from the catalog), plus the stellar parameters where the source has them."""

from __future__ import annotations

import numpy as np

from .detrend import robust_std

MEASURED = ("period", "duration", "depth", "snr", "n_transits", "odd_even_diff", "odd_even_sigma",
            "secondary_depth", "secondary_snr", "secondary_phase", "centroid_offset", "centroid_sigma",
            "centroid_source_offset", "transit_shape")


def _dip(flux: np.ndarray, sel: np.ndarray, level: float, scatter: float) -> tuple[float, float]:
    """(depth, its 1-sigma error) of the cadences ``sel`` below ``level``, in relative flux."""
    n = int(sel.sum())
    if n == 0:
        return float("nan"), float("nan")
    return level - float(np.mean(flux[sel])), scatter / np.sqrt(n)


def find_secondary(phase: np.ndarray, flux: np.ndarray, period: float, duration: float, level: float,
                   scatter: float) -> tuple[float, float, float]:
    """The most significant dip at least one transit duration away from the primary.

    Box search on a grid of quarter-duration steps by bincount sums and a circular running sum:
    O(n + P/D). Returns (phase as a fraction of the period in [0, 1), depth, SNR); (0.5, 0, 0)
    when no window has data.
    """
    n_bins = int(min(max(np.ceil(4 * period / duration), 8), 200000))
    x = (phase % period) / period  # primary at 0
    idx = np.minimum((x * n_bins).astype(np.int64), n_bins - 1)
    s = np.bincount(idx, level - flux, minlength=n_bins)
    n = np.bincount(idx, minlength=n_bins).astype(float)
    w = max(int(round(duration / period * n_bins)), 1)
    cs = np.concatenate([[0.0], np.concatenate([s, s[:w]]).cumsum()])
    cn = np.concatenate([[0.0], np.concatenate([n, n[:w]]).cumsum()])
    win_s, win_n = (cs[w:] - cs[:-w])[:n_bins], (cn[w:] - cn[:-w])[:n_bins]  # window i: bins i..i+w-1
    centre = ((np.arange(n_bins) + 0.5 * w) % n_bins) / n_bins
    dist = np.minimum(centre, 1 - centre) * period
    valid = (win_n > 0) & (dist > duration)
    if not valid.any() or not scatter > 0:
        return 0.5, 0.0, 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        snr = np.where(valid, win_s / np.sqrt(np.maximum(win_n, 1)) / scatter, -np.inf)
    best = int(np.argmax(snr))
    # The grid window may straddle the dip's edge; measure the depth on its central half instead.
    off = np.abs((x - centre[best] + 0.5) % 1.0 - 0.5) * period
    core = off < 0.25 * duration
    depth = float(np.mean(level - flux[core])) if core.any() else float(win_s[best] / win_n[best])
    return float(centre[best]), depth, float(snr[best])


def _centroid_shift(d_east, d_north, in_transit, baseline) -> tuple[float, float]:
    """(in-transit centroid shift [arcsec], its significance) from the centroid residuals on the
    sky. The significance is the shift's Mahalanobis length under the baseline's 2x2 covariance
    (outliers beyond 5 robust sigma left out), so that it does not depend on how the sky's axes
    are turned: what the pixel frame said on Kepler's files, the sky frame says too."""
    d = np.column_stack([d_east, d_north])
    ok = np.isfinite(d).all(axis=1)
    inn, base = ok & in_transit, ok & baseline
    if inn.sum() < 3 or base.sum() < 3:
        return float("nan"), float("nan")
    start = np.median(d[base], axis=0)
    spread = np.array([robust_std(d[base, 0]), robust_std(d[base, 1])])
    if not (spread > 0).all():
        return float(np.hypot(*(d[inn].mean(axis=0) - start))), 0.0
    # The reference and covariance are the mean and covariance of the typical baseline cadences,
    # both turning with the axes; the per-axis median and spread only pick which are typical.
    typical = base & (np.abs(d - start) < 5 * spread).all(axis=1)
    if typical.sum() <= 3:
        return float(np.hypot(*(d[inn].mean(axis=0) - start))), 0.0
    shift = d[inn].mean(axis=0) - d[typical].mean(axis=0)
    cov = np.cov(d[typical].T) * (1 / inn.sum() + 1 / typical.sum())
    if not np.isfinite(cov).all() or np.linalg.det(cov) <= 0:
        return float(np.hypot(*shift)), 0.0
    return float(np.hypot(*shift)), float(np.sqrt(shift @ np.linalg.solve(cov, shift)))


def measure_features(time, phase, flux, d_east, d_north, duration, period, epoch,
                     other_transits) -> dict[str, float]:
    """Every measured scalar of one TCE. ``phase`` is the time from the nearest transit [d];
    ``d_east``/``d_north`` the centroid residuals on the sky [arcsec]; ``other_transits`` marks
    cadences in the transits of the star's other TCEs that may be this one's own signal (kept out
    of baselines; ``preprocess.foreign_transits`` has already removed the rest).

    Depths are in ppm; ``odd_even_diff`` is relative to the depth; ``secondary_phase`` is a
    fraction of the period; ``transit_shape`` is the depth near ingress/egress over the central
    depth (about 1 for a box-shaped transit, well under 1 for a V).
    """
    a = np.abs(phase)
    clean = ~other_transits
    out = (a > duration) & clean
    if not out.any():
        out = a > duration
    level = float(np.median(flux[out])) if out.any() else 1.0
    scatter = robust_std(flux[out] - level) if out.any() else float("nan")
    in_transit = a < 0.5 * duration
    core = a < 0.25 * duration
    depth, _ = _dip(flux, core, level, scatter)
    depth = depth if np.isfinite(depth) else 0.0
    n_in = int(in_transit.sum())
    snr = depth / (scatter / np.sqrt(n_in)) if n_in and scatter > 0 else 0.0
    cycle = np.round((time - epoch) / period).astype(np.int64)

    d_odd, e_odd = _dip(flux, core & (cycle % 2 == 1), level, scatter)
    d_even, e_even = _dip(flux, core & (cycle % 2 == 0), level, scatter)
    odd_even_diff = odd_even_sigma = float("nan")
    if np.isfinite(d_odd) and np.isfinite(d_even) and depth > 0:
        odd_even_diff = (d_odd - d_even) / depth
        odd_even_sigma = abs(d_odd - d_even) / np.hypot(e_odd, e_even)

    # The search keeps the transits of the star's other TCEs at this period, twice or half it (the
    # caller has left out every other TCE's): an EB's secondary eclipse is often a TCE of its own,
    # and it is exactly what the search must find.
    away = a >= duration
    sec_phase, sec_depth, sec_snr = find_secondary(phase[away], flux[away], period, duration, level,
                                                   scatter)
    d_ring, _ = _dip(flux, (a > 0.3 * duration) & (a < 0.45 * duration), level, scatter)
    d_centre, _ = _dip(flux, a < 0.15 * duration, level, scatter)
    shape = d_ring / d_centre if np.isfinite(d_ring) and np.isfinite(d_centre) and d_centre > 0 else np.nan
    offset, offset_sigma = _centroid_shift(d_east, d_north, in_transit, (a > duration) & (a < 3 * duration) & clean)
    # How far from the centroid the dimming source must be to move it this much for this depth
    # (ExoMiner's transit-source offset) [arcsec]: about the blend's distance for a background EB,
    # a small fraction of an arcsec for the target itself.
    source_offset = float(np.clip(offset / depth, 0, 1000)) if depth > 0 and np.isfinite(offset) else np.nan
    return {"depth": depth * 1e6, "snr": snr, "n_transits": float(np.unique(cycle[in_transit]).size),
            "odd_even_diff": odd_even_diff, "odd_even_sigma": odd_even_sigma,
            "secondary_depth": sec_depth * 1e6, "secondary_snr": sec_snr, "secondary_phase": sec_phase,
            "centroid_offset": offset, "centroid_sigma": offset_sigma, "centroid_source_offset": source_offset,
            "transit_shape": float(np.clip(shape, -2, 3)) if np.isfinite(shape) else np.nan}


# Heavy-tailed features are compared on a log scale (a 3 d and a 300 d period differ as much as
# 0.3 d and 3 d for vetting purposes).
LOG_FEATURES = {"period", "duration", "depth", "snr", "n_transits", "dens", "odd_even_sigma",
                "secondary_depth", "secondary_snr", "centroid_offset", "centroid_sigma", "centroid_source_offset"}
# Features ExoSieve measures or the archives' stellar tables give, whose scale is known.
KNOWN_FEATURES = LOG_FEATURES | {"odd_even_diff", "secondary_phase", "transit_shape", "teff", "logg", "feh",
                                 "radius", "mass"}
# A feature of a views dataset (a name ExoSieve does not know: tce_period, SN, ...) is put on the log
# scale when it is never negative and spans this much: its 99th percentile over its median.
HEAVY_TAIL = 20.0


def heavy_tailed(values: np.ndarray) -> bool:
    v = values[np.isfinite(values)]
    if v.size < 10 or v.min() < 0:
        return False
    q50, q99 = np.percentile(v, [50, 99])
    return bool(q99 > HEAVY_TAIL * max(q50, 1e-12))


class ScalarScaler:
    """Robust standardisation fitted on one fold's training TCEs only; missing values become the
    training median (0 after scaling); heavy-tailed features on a log scale (LOG_FEATURES, and a
    views dataset's own features by their spread). Serialisable so it travels with the model."""

    def __init__(self, names: list[str], center=None, scale=None, log=None):
        self.names = list(names)
        self.center = np.zeros(len(names)) if center is None else np.asarray(center, float)
        self.scale = np.ones(len(names)) if scale is None else np.asarray(scale, float)
        self.log = [n in LOG_FEATURES for n in self.names] if log is None else [bool(v) for v in log]

    def _transform_raw(self, x: np.ndarray) -> np.ndarray:
        x = np.array(x, dtype=float, copy=True)
        for j, on_log in enumerate(self.log):
            if on_log:
                x[:, j] = np.sign(x[:, j]) * np.log10(1.0 + np.abs(x[:, j]))
        return x

    def fit(self, x: np.ndarray) -> "ScalarScaler":
        x = np.asarray(x, float)
        self.log = [n in LOG_FEATURES or (n not in KNOWN_FEATURES and heavy_tailed(x[:, j]))
                    for j, n in enumerate(self.names)]
        t = self._transform_raw(x)
        with np.errstate(all="ignore"):
            self.center = np.nan_to_num(np.nanmedian(t, axis=0), nan=0.0) if t.size else self.center
            q75, q25 = (np.nanpercentile(t, [75, 25], axis=0) if t.size else (self.scale, 0))
        scale = np.nan_to_num((np.asarray(q75) - np.asarray(q25)) / 1.349, nan=1.0)
        self.scale = np.where(scale > 1e-9, scale, 1.0)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        z = (self._transform_raw(x) - self.center) / self.scale
        return np.clip(np.nan_to_num(z, nan=0.0), -10, 10).astype(np.float32)

    def to_dict(self) -> dict:
        return {"names": self.names, "center": self.center.tolist(), "scale": self.scale.tolist(), "log": self.log}

    @classmethod
    def from_dict(cls, d: dict) -> "ScalarScaler":
        return cls(d["names"], d["center"], d["scale"], d.get("log"))
