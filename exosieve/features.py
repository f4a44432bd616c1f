"""Scalar features of a TCE, measured from its detrended light curve (plus stellar parameters)."""

from __future__ import annotations

import numpy as np

MEASURED = ("period", "duration", "depth", "snr", "n_transits")


def transit_statistics(time: np.ndarray, phase: np.ndarray, flux: np.ndarray, duration: float,
                       period: float, epoch: float, other_transits: np.ndarray) -> dict[str, float]:
    """Depth [ppm] (median flux in the central half of the transit below the out-of-transit
    median), SNR of that depth, and the number of transits with data."""
    in_core = np.abs(phase) < 0.25 * duration
    in_transit = np.abs(phase) < 0.5 * duration
    out = (np.abs(phase) > duration) & ~other_transits
    if not out.any():
        out = np.abs(phase) > duration
    level = float(np.median(flux[out])) if out.any() else 1.0
    depth = (level - float(np.median(flux[in_core]))) * 1e6 if in_core.any() else 0.0
    scatter = 1.4826 * float(np.median(np.abs(flux[out] - level))) if out.any() else np.nan
    n_in = int(in_transit.sum())
    snr = depth * 1e-6 / (scatter / np.sqrt(n_in)) if n_in and scatter > 0 else 0.0
    cycles = np.unique(np.round((time[in_transit] - epoch) / period)).size
    return {"depth": depth, "snr": snr, "n_transits": float(cycles)}


# Heavy-tailed features are compared on a log scale (a 3 d and a 300 d period differ as much as
# 0.3 d and 3 d for vetting purposes).
LOG_FEATURES = {"period", "duration", "depth", "snr", "n_transits", "dens"}


class ScalarScaler:
    """Robust standardisation fitted on one fold's training TCEs only; missing values become the
    training median (0 after scaling). Serialisable so it travels with the model."""

    def __init__(self, names: list[str], center=None, scale=None):
        self.names = list(names)
        self.center = np.zeros(len(names)) if center is None else np.asarray(center, float)
        self.scale = np.ones(len(names)) if scale is None else np.asarray(scale, float)

    def _transform_raw(self, x: np.ndarray) -> np.ndarray:
        x = np.array(x, dtype=float, copy=True)
        for j, name in enumerate(self.names):
            if name in LOG_FEATURES:
                x[:, j] = np.sign(x[:, j]) * np.log10(1.0 + np.abs(x[:, j]))
        return x

    def fit(self, x: np.ndarray) -> "ScalarScaler":
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
        return {"names": self.names, "center": self.center.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "ScalarScaler":
        return cls(d["names"], d["center"], d["scale"])
