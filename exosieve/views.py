"""Phase folding and binning into fixed-length views (Shallue & Vanderburg 2018; ExoMiner).

A view is a median-binned, phase-folded light curve. Flux views are normalised so that the
out-of-transit level is 0 and the primary transit's depth, measured in the local view where the
transit is resolved, is -1; every view shares that scale, so an odd transit half as deep as the
even one reads -0.5, a secondary eclipse a third as deep reads -0.33, and no view stretches its
own noise to -1 when the transit is lost in it. ``views.normalize: min`` instead scales the global
and local views each by its own median and minimum (median 0, minimum -1), as Astronet's and
DART-Vetter's published views are, so that a model trained on those scores ExoSieve's views.

Global bins are P/bins apart, but each takes the median of the cadences within at most one
transit duration of its centre: a bin a day wide would bury a 0.4-day transit (fewer than half
its cadences in transit, so its median is the out-of-transit level), and the long-period
planets would vanish from the global view. With bins narrower than the transit nothing changes.

View groups (``views.enabled``) and the arrays each puts in a shard:

================  =============================  ==================================================
group             arrays                         what it catches
================  =============================  ==================================================
global            global (G)                     the whole orbit: secondaries, variability
local             local (L)                      the transit's shape (U vs V)
scatter           global_scatter, local_scatter  per-bin spread beside each flux view (ExoMiner++),
                                                 relative to the star's out-of-transit spread
odd_even          odd_local, even_local          EBs at half their period (unequal depths)
secondary         secondary (L)                  the most significant dip away from the transit
centroid          centroid_global, centroid_local  the image moving on the sky in transit: a blend
double_period     double_period (G)              the orbit folded at twice the period
unfolded          unfolded (K, L)                each transit on its own: single-event glitches
coverage          global_coverage (G),           which bins hold data (1) and which were filled
                  local_coverage (L)             by interpolation (0): phase coverage, said
================  =============================  ==================================================

Coverage is said, not faked. A bin with no cadence (a long period over a few quarters leaves much
of the orbit unobserved; a gap can fall across a transit) is filled by linear interpolation
between its neighbours, as Astronet does, so that the convolutions see a continuous view; the
``coverage`` arrays say which bins those are, and exominer reads each as a channel of its flux
view's tower, so a flat stretch of interpolation never reads as a flat, eclipse-free orbit.

``raw_flux`` (R) is the detrended light curve binned in time, unfolded, for the ``raw_flux``
baseline model; every TCE of a star shares it. ``raw_flux_fold`` (R), its second channel, is the
same cadences in order of this TCE's phase, averaged in groups of equal count (the unbinned fold,
resampled to the same length; half of the groups within two durations of the transit): the
transits of this TCE line up at its centre, so the baseline can tell a star's planet from the
eclipsing binary beside it, and sums what no single transit shows.
"""

from __future__ import annotations

import numpy as np

from .detrend import robust_std

VIEW_GROUPS = {
    "global": ["global"],
    "local": ["local"],
    "scatter": ["global_scatter", "local_scatter"],
    "odd_even": ["odd_local", "even_local"],
    "secondary": ["secondary"],
    "centroid": ["centroid_global", "centroid_local"],
    "double_period": ["double_period"],
    "unfolded": ["unfolded"],
    "coverage": ["global_coverage", "local_coverage"],
    # ExoMiner++'s TESS branches (Valizadegan et al. 2025); off in the Kepler default.
    "momentum_dump": ["momentum_dump"],
    "flux_trend": ["flux_trend"],
    "periodogram": ["periodogram"],
}
KEPLER_VIEW_GROUPS = ["global", "local", "scatter", "odd_even", "secondary", "centroid", "double_period", "unfolded",
                      "coverage"]
# Views are bounded so that no odd star (a shallow fold with one huge event, a near-zero depth)
# feeds a network values far outside what it trained on; the scalar features keep magnitudes.
# Flux views sit in about [-1, 0] and diagnostic views rarely leave [-3, 3]; centroid views are in
# units of the star's own centroid noise, where a blend often shows tens of sigma.
VIEW_CLIP = 10.0
CENTROID_CLIP = 20.0
RAW_FLUX_CLIP = 50.0


def shard_arrays(cfg: dict) -> list[str]:
    """Names of the view arrays preprocessing writes for this configuration."""
    names = [a for group in cfg["views"]["enabled"] for a in VIEW_GROUPS[group]]
    if "raw_flux" in cfg["models"]["enabled"]:
        names += ["raw_flux", "raw_flux_fold"]
    return names


def array_shape(name: str, vcfg: dict) -> tuple[int, ...]:
    if name == "unfolded":
        return (vcfg["unfolded_transits"], vcfg["local_bins"])
    if name in ("raw_flux", "raw_flux_fold"):
        return (vcfg["raw_flux_bins"],)
    if name in ("global", "global_scatter", "global_coverage", "centroid_global", "double_period", "flux_trend"):
        return (vcfg["global_bins"],)
    if name == "periodogram":
        return (vcfg["periodogram_bins"],)
    return (vcfg["local_bins"],)


def phase_fold(time: np.ndarray, period: float, epoch: float) -> np.ndarray:
    """Time from the nearest transit centre, in days, in [-period/2, period/2)."""
    return (time - epoch + 0.5 * period) % period - 0.5 * period


def bin_index(x: np.ndarray, lo: float, hi: float, n_bins: int) -> np.ndarray:
    """Bin of each ``x`` among ``n_bins`` equal bins of [lo, hi); -1 outside."""
    idx = np.floor((x - lo) / (hi - lo) * n_bins).astype(np.int64)
    idx[(x < lo) | (x >= hi)] = -1
    return np.minimum(idx, n_bins - 1)


def median_by_bin(idx: np.ndarray, y: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Median of ``y`` for each bin index in [0, n_bins) (others ignored); (medians, counts).

    Vectorised: one lexsort by (bin, y) puts each bin's values in order, so each median is
    read off at the middle of its run. O(n log n), no Python loop over bins.
    """
    keep = (idx >= 0) & np.isfinite(y)
    idx, vals = idx[keep], y[keep]
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


def window_index(x: np.ndarray, lo: float, hi: float, n_bins: int, width: float | None) -> np.ndarray:
    """``bin_index``, keeping only the points within ``width``/2 of their bin's centre (all of
    them when ``width`` is None or at least the bin spacing): windows narrower than the spacing."""
    idx = bin_index(x, lo, hi, n_bins)
    spacing = (hi - lo) / n_bins
    if width is not None and width < spacing:
        centre = lo + (idx + 0.5) * spacing
        idx = np.where(np.abs(x - centre) <= 0.5 * width, idx, -1)
    return idx


def binned_median(x, y, lo, hi, n_bins, width: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Median of ``y`` in ``n_bins`` equal bins of ``x`` over [lo, hi), each over a window of at
    most ``width`` around its centre; (medians, counts)."""
    return median_by_bin(window_index(np.asarray(x, float), lo, hi, n_bins, width), np.asarray(y, float), n_bins)


def windowed_median(x: np.ndarray, y: np.ndarray, centres: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
    """Median of ``y`` over the ``x`` within ``width``/2 of each centre (windows may overlap, as
    Astronet's local bins do); (medians, counts). Each cadence is counted in every window that
    holds it: O(n k log) for windows k times wider than their spacing, no loop over windows."""
    order = np.argsort(x, kind="stable")
    xs, ys = np.asarray(x, float)[order], np.asarray(y, float)[order]
    start = np.searchsorted(xs, centres - 0.5 * width, side="left")
    stop = np.searchsorted(xs, centres + 0.5 * width, side="left")
    counts = stop - start
    window = np.repeat(np.arange(centres.size), counts)
    position = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts) + np.repeat(start, counts)
    return median_by_bin(window, ys[position], centres.size)


def local_centres(half: float, n_bins: int, width: float | None) -> np.ndarray:
    """Local-view bin centres over [-half, half): bins as wide as their spacing, or (``width``
    given) Astronet's grid, centres from -half + width/2 to half - width/2."""
    if width is None:
        return bin_centres(-half, half, n_bins)
    return np.linspace(-half + 0.5 * width, half - 0.5 * width, n_bins)


def local_extent(vcfg: dict, period: float, duration: float) -> tuple[float, float | None]:
    """(half-width [d] of the local views, each local bin's window [d] or None for bins as wide
    as their spacing) of a TCE: what ViewMaker bins with, and what a diagnostic sheet reads
    the local views' time axis from."""
    half = min(vcfg["local_durations"] * duration, 0.5 * period)
    return half, (vcfg["local_bin_width"] * duration if vcfg.get("local_bin_width") else None)


def binned_std(x, y, lo, hi, n_bins, width: float | None = None) -> np.ndarray:
    """Standard deviation of ``y`` per bin (NaN with fewer than two points), by bincount sums."""
    idx = window_index(np.asarray(x, float), lo, hi, n_bins, width)
    keep = idx >= 0
    idx, v = idx[keep], y[keep] - np.median(y[keep]) if keep.any() else y[keep]
    n = np.bincount(idx, minlength=n_bins).astype(float)
    s1 = np.bincount(idx, v, minlength=n_bins)
    s2 = np.bincount(idx, v * v, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (s2 - s1 * s1 / n) / (n - 1)
    return np.where(n >= 2, np.sqrt(np.maximum(var, 0)), np.nan)


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


def bin_centres(lo: float, hi: float, n_bins: int) -> np.ndarray:
    return lo + (np.arange(n_bins) + 0.5) * (hi - lo) / n_bins


def out_of_transit_level(view: np.ndarray, centres: np.ndarray, duration: float) -> float:
    out = np.abs(centres) > duration
    return float(np.median(view[out])) if out.any() else float(np.median(view))


def global_view(phase: np.ndarray, flux: np.ndarray, period: float, n_bins: int,
                duration: float | None = None) -> np.ndarray:
    """The whole orbit, each bin over at most ``duration`` around its centre, scaled to its own
    minimum (ViewMaker scales it by the local view's depth instead)."""
    med, _ = binned_median(phase, flux, -0.5 * period, 0.5 * period, n_bins, duration)
    med = fill_empty(med)
    return normalize_view(med, float(np.median(med)))


def local_view(phase: np.ndarray, flux: np.ndarray, duration: float, n_bins: int,
               half_width: float) -> np.ndarray:
    """``half_width`` durations either side of the transit centre."""
    lo, hi = -half_width * duration, half_width * duration
    med = fill_empty(binned_median(phase, flux, lo, hi, n_bins)[0])
    return normalize_view(med, out_of_transit_level(med, bin_centres(lo, hi, n_bins), duration))


def _relative_scatter(std: np.ndarray, centres: np.ndarray, duration: float,
                      reference: tuple[float, float] | None = None) -> np.ndarray:
    """Per-bin scatter relative to the star's own out-of-transit scatter, minus one: 0 where a bin
    scatters as the star does, above where the flux scatters more (a spotted eclipsing binary's
    changing depth, a transit that comes and goes). Not over the depth: that ratio is the noise
    over the depth, whose value for a given signal-to-noise grows with the number of transits, so
    a model that learned it on six simulated quarters read it wrongly on seventeen real ones (the
    default run's exominer scored shallow real false positives up by 0.2-0.4 through it).
    ``reference``: the band of |time from transit| [d] whose bins set the star's level (default:
    beyond one duration)."""
    lo, hi = reference if reference is not None else (duration, np.inf)
    out = (np.abs(centres) > lo) & (np.abs(centres) < hi)
    ref = std[out] if np.isfinite(std[out]).any() else std
    level = float(np.nanmedian(ref)) if np.isfinite(ref).any() else float("nan")
    if not np.isfinite(level) or level <= 0:
        return np.zeros_like(std)
    return np.nan_to_num(std / level - 1.0, nan=0.0)


class ViewMaker:
    """Builds every enabled view of one TCE from its star's detrended light curve.

    ``time``/``flux`` are the detrended cadences; ``d_east``/``d_north`` the centroid residuals on
    the sky in arcsec (NaN where missing); ``phase``, when the caller has it, is ``phase_fold(time, ...)``.
    The local view's level and depth are measured once, where the transit is resolved, and scale
    every flux view.
    """

    def __init__(self, time, flux, d_east, d_north, period, epoch, duration, vcfg: dict, phase=None,
                 trend=None, dump_times=None, others_mask=None, mask_half=None):
        self.t, self.f, self.d_east, self.d_north = time, flux, d_east, d_north
        self.mask_half = mask_half      # half the detrending mask's width, in durations
        # The trend detrending divided out, the times of momentum dumps, and the cadences of the
        # star's other TCEs' transits (TESS branches).
        self.trend = trend
        self.dump_times = np.zeros(0) if dump_times is None else np.asarray(dump_times, float)
        self.others_mask = np.zeros(time.size, bool) if others_mask is None else others_mask
        self.period, self.epoch, self.duration = period, epoch, duration
        self.c = vcfg
        self.phase = phase_fold(time, period, epoch) if phase is None else phase
        self.half, self.lwidth = local_extent(vcfg, period, duration)
        self.lbins, self.gbins = vcfg["local_bins"], vcfg["global_bins"]
        # The global bins' window: at most a transit duration, (Astronet) the whole bin, or (Yu et
        # al. 2019) a number of bin spacings, overlapping.
        gwidth = vcfg.get("global_bin_width", "transit")
        self.gwidth = duration if gwidth == "transit" else None
        self.lcentres = local_centres(self.half, self.lbins, self.lwidth)
        self.local_raw, self.local_counts = self._bin_local(self.phase, flux, counts=True)
        self.level = out_of_transit_level(self.local_raw, self.lcentres, duration)
        self.depth = max(-float(np.min(self.local_raw - self.level)), 1e-9)
        if isinstance(gwidth, (int, float)) and not isinstance(gwidth, bool):
            global_med, self.global_counts = windowed_median(self.phase, flux, bin_centres(-0.5 * period, 0.5 * period,
                                                                                         self.gbins),
                                                             gwidth * period / self.gbins)
        else:
            global_med, self.global_counts = binned_median(self.phase, flux, -0.5 * period, 0.5 * period,
                                                           self.gbins, self.gwidth)
        self.global_raw = fill_empty(global_med)
        self.global_level = float(np.median(self.global_raw))

    def _bin_local(self, phase, values, counts: bool = False):
        """Median-binned local view of ``values`` (empty bins interpolated); with ``counts``, also
        each bin's number of cadences."""
        if self.lwidth is None:
            med, n = binned_median(phase, values, -self.half, self.half, self.lbins)
        else:
            med, n = windowed_median(phase, values, self.lcentres, self.lwidth)
        return (fill_empty(med), n) if counts else fill_empty(med)

    def _local_scaled(self, phase, flux) -> np.ndarray:
        med = self._bin_local(phase, flux)
        level = out_of_transit_level(med, self.lcentres, self.duration)
        return (med - level) / self.depth

    def make(self, names: list[str], secondary_phase: float) -> dict[str, np.ndarray]:
        out = {}
        for name in names:
            view = getattr(self, "_" + name)(secondary_phase)
            bound = CENTROID_CLIP if name.startswith("centroid") else VIEW_CLIP
            out[name] = np.clip(view, -bound, bound).astype(np.float32)
        return out

    def _global(self, _):
        if self.c.get("normalize") == "min":
            return normalize_view(self.global_raw, self.global_level)
        return (self.global_raw - self.global_level) / self.depth

    def _local(self, _):
        if self.c.get("normalize") == "min":
            return normalize_view(self.local_raw, float(np.median(self.local_raw)))
        return (self.local_raw - self.level) / self.depth

    def _global_coverage(self, _):
        return (self.global_counts > 0).astype(float)

    def _local_coverage(self, _):
        return (self.local_counts > 0).astype(float)

    def _global_scatter(self, _):
        std = binned_std(self.phase, self.f, -0.5 * self.period, 0.5 * self.period, self.gbins, self.gwidth)
        return _relative_scatter(std, bin_centres(-0.5 * self.period, 0.5 * self.period, self.gbins), self.duration)

    def _local_scatter(self, _):
        std = binned_std(self.phase, self.f, -self.half, self.half, self.lbins)
        centres = bin_centres(-self.half, self.half, self.lbins)
        # The level comes from just outside the transit but inside its detrending mask, where the
        # trend was interpolated rather than fitted: on a star with correlated noise the residuals
        # there scatter more than where the spline followed the flux, around every transit alike
        # (a real 70 ppm PC of KIC 2019477 read 3 times its star's scatter across the whole mask,
        # as only eclipsing binaries did in the simulation). Measured against the mask's own
        # scatter, only what the transit itself adds remains.
        reference = None
        if self.mask_half is not None:
            band = (0.75 * self.duration, self.mask_half * self.duration)
            if np.count_nonzero((np.abs(centres) > band[0]) & (np.abs(centres) < band[1])) >= 4:
                reference = band
        return _relative_scatter(std, centres, self.duration, reference)

    def _cycle(self) -> np.ndarray:
        return np.round((self.t - self.epoch) / self.period).astype(np.int64)

    def _odd_local(self, _):
        odd = self._cycle() % 2 == 1
        return self._local_scaled(self.phase[odd], self.f[odd])

    def _even_local(self, _):
        even = self._cycle() % 2 == 0
        return self._local_scaled(self.phase[even], self.f[even])

    def _secondary(self, secondary_phase):
        phase2 = phase_fold(self.t, self.period, self.epoch + secondary_phase * self.period)
        return self._local_scaled(phase2, self.f)

    def _centroid(self, binned, centres):
        """Centroid offset on the sky per bin (``binned`` bins one residual series), in units of
        its own out-of-transit noise."""
        parts = []
        for d in (self.d_east, self.d_north):
            med = binned(d)
            parts.append(med - out_of_transit_level(med, centres, self.duration))
        offset = np.hypot(*parts)
        offset = offset - out_of_transit_level(offset, centres, self.duration)
        noise = robust_std(offset[np.abs(centres) > self.duration])
        scale = noise if noise > 0 else 1.0
        return offset / scale

    def _centroid_global(self, _):
        lo, hi = -0.5 * self.period, 0.5 * self.period
        return self._centroid(lambda d: fill_empty(binned_median(self.phase, d, lo, hi, self.gbins, self.gwidth)[0]),
                              bin_centres(lo, hi, self.gbins))

    def _centroid_local(self, _):
        return self._centroid(lambda d: self._bin_local(self.phase, d), self.lcentres)

    def _double_period(self, _):
        # Fold at 2P about the point between two transits: even transits land at -P/2, odd at +P/2.
        p2 = 2 * self.period
        ph = phase_fold(self.t, p2, self.epoch + 0.5 * self.period)
        med = fill_empty(binned_median(ph, self.f, -self.period, self.period, self.gbins, self.gwidth)[0])
        return (med - float(np.median(med))) / self.depth

    def _momentum_dump(self, _):
        """Where reaction-wheel desaturations fall around the transits: per local-view bin, the
        fraction of the transits in the data with a dump in that bin. A flux jump at every dump
        folds into a false transit when the period is a multiple of the dump interval; this view
        shows the dumps lining up with it."""
        n = self.lbins
        cycles = np.unique(self._cycle()[np.abs(self.phase) < self.half])
        if not cycles.size or not self.dump_times.size:
            return np.zeros(n)
        dump_phase = phase_fold(self.dump_times, self.period, self.epoch)
        dump_cycle = np.round((self.dump_times - self.epoch) / self.period).astype(np.int64)
        near = (np.abs(dump_phase) < self.half) & np.isin(dump_cycle, cycles)
        if self.lwidth is None:
            idx = bin_index(dump_phase[near], -self.half, self.half, n)
        else:
            idx = np.argmin(np.abs(dump_phase[near][:, None] - self.lcentres[None, :]), axis=1)
        # Each transit counted once per bin however many dump cadences it holds.
        pairs = np.unique(np.stack([dump_cycle[near], idx]), axis=1) if idx.size else np.zeros((2, 0), int)
        return np.bincount(pairs[1], minlength=n)[:n] / cycles.size

    def _flux_trend(self, _):
        """The trend detrending removed, folded at the period and binned as the global view, on
        the flux views' scale: systematics (scattered light, thermal ramps) that line up with the
        transit show here even where the detrended flux no longer does."""
        if self.trend is None:
            return np.zeros(self.gbins)
        med = fill_empty(binned_median(self.phase, self.trend, -0.5 * self.period, 0.5 * self.period,
                                       self.gbins, self.gwidth)[0])
        return (med - float(np.median(med))) / self.depth

    def _periodogram(self, _):
        """A Lomb-Scargle spectrum of the detrended light curve with every TCE's transits masked,
        on a grid tied to the period: frequencies from 1/8 to 8 times 1/P, log-spaced, so the
        middle bin is the TCE's period and harmonics fall at fixed bins. Stellar variability at or
        near the period (what a spot or a pulsation folded into a TCE leaves) shows as a peak
        there. The power is Lomb-Scargle's standard one: the fraction of the light curve's
        variance a sinusoid of that frequency explains (0 to 1), comparable from star to star."""
        from astropy.timeseries import LombScargle
        n = self.c["periodogram_bins"]
        keep = ~self.others_mask & (np.abs(self.phase) > 0.75 * self.duration)
        if keep.sum() < 20:
            return np.zeros(n)
        freq = (1.0 / self.period) * 2.0 ** np.linspace(-3, 3, n)
        return LombScargle(self.t[keep], self.f[keep]).power(freq, assume_regular_frequency=False)

    def _unfolded(self, _):
        """Each transit's own local view (shared scale), deepest first, zero rows as padding."""
        k, n = self.c["unfolded_transits"], self.lbins
        near = np.abs(self.phase) < self.half
        cycles, row = np.unique(self._cycle()[near], return_inverse=True)
        out = np.zeros((k, n))
        if cycles.size == 0:
            return out
        local_idx = bin_index(self.phase[near], -self.half, self.half, n)
        med, counts = median_by_bin(row * n + local_idx, self.f[near], cycles.size * n)
        med, counts = med.reshape(-1, n), counts.reshape(-1, n)
        usable = (counts > 0).sum(axis=1) >= n // 3  # a transit mostly in a gap says nothing
        rows = np.array([fill_empty(r) for r in med[usable]]).reshape(-1, n)
        rows = rows - self.level
        core = np.abs(self.lcentres) < 0.5 * self.duration
        depth = -rows[:, core].mean(axis=1) if core.any() else -rows.mean(axis=1)
        order = np.argsort(-depth, kind="stable")[:k]
        # Scaled by the deepest transit, not the fold: a glitch folds to almost nothing, and
        # what this view must show is one transit standing out from the others.
        scale = max(-float(rows[order[0]].min()) if order.size else 0.0, self.depth)
        out[: order.size] = rows[order] / scale
        return out


def _in_noise(mean: np.ndarray) -> np.ndarray:
    """Group means in units of their own noise (0 at their median, empty groups 0, clipped): the
    scale of both raw_flux channels."""
    level = float(np.nanmedian(mean))
    noise = robust_std(mean) or 1.0
    z = np.nan_to_num((mean - level) / noise, nan=0.0)  # gaps read as "nothing happening"
    return np.clip(z, -RAW_FLUX_CLIP, RAW_FLUX_CLIP).astype(np.float32)


def raw_flux_view(time: np.ndarray, flux: np.ndarray, n_bins: int) -> np.ndarray:
    """The detrended light curve, unfolded, binned in time and in units of its own noise
    (0 out of transit, clipped): the input of the ``raw_flux`` baseline."""
    # Bin means, not medians: a transit shorter than half a bin would vanish from a median.
    idx = bin_index(time, float(time[0]), float(time[-1]) + 1e-9, n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(idx, flux, minlength=n_bins) / np.bincount(idx, minlength=n_bins)
    return _in_noise(mean)


# raw_flux_fold gives half its groups to the cadences within this many durations of the transit.
RAW_FLUX_NEAR_DURATIONS = 2.0


def raw_flux_fold(time: np.ndarray, flux: np.ndarray, period: float, epoch: float, duration: float,
                  n_bins: int) -> np.ndarray:
    """The detrended cadences in order of this TCE's phase (transit at the centre), averaged in
    groups of equal count and in units of their noise, as ``raw_flux_view`` scales. Half of the
    ``n_bins`` groups hold the cadences within RAW_FLUX_NEAR_DURATIONS durations of the transit,
    a quarter each the rest of the orbit before and after: with equal counts over the whole orbit
    a transit of 1% of the period fills 10 of 1,000 groups, too few to show its shape."""
    phase = phase_fold(time, period, epoch)
    order = np.argsort(phase, kind="stable")
    phase, flux = phase[order], flux[order]
    near = min(RAW_FLUX_NEAR_DURATIONS * duration, period / 4)
    n_near = n_bins // 2
    n_before = (n_bins - n_near) // 2
    parts = []
    for in_part, n in ((phase < -near, n_before), (np.abs(phase) <= near, n_near),
                       (phase > near, n_bins - n_near - n_before)):
        f = flux[in_part]
        if f.size == 0:
            parts.append(np.zeros(n, np.float32))
            continue
        # Group g averages cadences [g*m/n, (g+1)*m/n), at least one: with fewer cadences than
        # groups (a long period's few transits) each cadence spans several groups, not one
        # group with empty ones beside it.
        m = f.size
        starts = (np.arange(n) * m) // n
        ends = np.maximum((np.arange(1, n + 1) * m) // n, starts + 1)
        sums = np.concatenate([[0.0], np.cumsum(f)])
        parts.append(_in_noise((sums[ends] - sums[starts]) / (ends - starts)))
    return np.concatenate(parts)
