"""Diagnostic views and measured features on cases with known answers: an EB with a secondary
eclipse, a background blend moving the centroid, an EB detected at half its period, a single
glitch, and a plain planet that must show none of these."""

import numpy as np
import pytest

from exosieve.config import load
from exosieve.features import find_secondary, measure_features
from exosieve.views import ViewMaker, phase_fold, raw_flux_view, shard_arrays

CADENCE = 0.0204  # Kepler long cadence [d]
DURATION = 0.15


def box(time, period, epoch, depth, duration=DURATION):
    return np.where(np.abs(phase_fold(time, period, epoch)) < 0.5 * duration, -depth, 0.0)


def light_curve(signal_fn, days=200.0, noise=2e-4, seed=0):
    rng = np.random.default_rng(seed)
    time = np.arange(0.0, days, CADENCE)
    return time, 1.0 + signal_fn(time) + rng.normal(0, noise, time.size)


def views_and_features(time, flux, period, epoch, dcol=None, drow=None, duration=DURATION):
    cfg = load({})
    dcol = np.zeros(time.size) if dcol is None else dcol
    drow = np.zeros(time.size) if drow is None else drow
    phase = phase_fold(time, period, epoch)
    feats = measure_features(time, phase, flux, dcol, drow, duration, period, epoch, np.zeros(time.size, bool))
    names = [n for n in shard_arrays(cfg) if not n.startswith("raw_flux")]
    maker = ViewMaker(time, flux, dcol, drow, period, epoch, duration, cfg["views"])
    return maker.make(names, feats["secondary_phase"]), feats


def test_eb_secondary_shows_in_the_secondary_view_at_the_right_phase():
    period, epoch = 4.3, 1.0
    time, flux = light_curve(lambda t: box(t, period, epoch, 0.01) + box(t, period, epoch + 0.37 * period, 0.003))
    views, feats = views_and_features(time, flux, period, epoch)
    assert feats["secondary_phase"] == pytest.approx(0.37, abs=0.01)
    assert feats["secondary_depth"] == pytest.approx(3000, rel=0.1)
    assert feats["secondary_snr"] > 30
    sec = views["secondary"]
    assert abs(int(np.argmin(sec)) - sec.size // 2) <= 1       # centred on the secondary
    assert sec.min() == pytest.approx(-0.3, abs=0.05)           # on the primary's scale
    # The global view shows it too, at phase 0.37 from the primary.
    g = views["global"]
    out_of_primary = np.abs(np.arange(g.size) - g.size // 2) > 10
    where = np.flatnonzero(out_of_primary)[np.argmin(g[out_of_primary])]
    assert (where - g.size // 2) / g.size == pytest.approx(0.37, abs=0.01)


def test_planet_has_no_secondary_no_odd_even_difference_and_no_centroid_shift():
    period, epoch = 4.3, 1.0
    time, flux = light_curve(lambda t: box(t, period, epoch, 0.002))
    rng = np.random.default_rng(3)
    dcol, drow = rng.normal(0, 1e-3, time.size), rng.normal(0, 1e-3, time.size)
    views, feats = views_and_features(time, flux, period, epoch, dcol, drow)
    assert feats["secondary_snr"] < 5
    assert feats["odd_even_sigma"] < 4
    assert feats["centroid_sigma"] < 4
    assert np.abs(views["secondary"]).max() < 0.3
    assert np.abs(views["odd_local"] - views["even_local"]).max() < 0.3
    assert views["centroid_local"][views["centroid_local"].size // 2] < 5


def test_blend_shows_the_centroid_shift():
    period, epoch = 3.1, 0.5
    time, flux = light_curve(lambda t: box(t, period, epoch, 0.002))
    rng = np.random.default_rng(4)
    in_transit = box(time, period, epoch, 1.0) < 0
    # A background EB 2 pixels away: the flux-weighted centroid moves towards the target in transit.
    dcol = rng.normal(0, 1e-3, time.size) + np.where(in_transit, 0.004, 0.0)
    drow = rng.normal(0, 1e-3, time.size) - np.where(in_transit, 0.003, 0.0)
    views, feats = views_and_features(time, flux, period, epoch, dcol, drow)
    assert feats["centroid_offset"] == pytest.approx(0.005, rel=0.15)
    assert feats["centroid_sigma"] > 20
    assert feats["centroid_source_offset"] == pytest.approx(0.005 / 0.002, rel=0.2)  # pixels
    local = views["centroid_local"]
    centre = local.size // 2
    in_transit_bins = np.abs(np.arange(local.size) - centre) <= 3
    assert local[in_transit_bins].min() > 10 and np.abs(local[~in_transit_bins]).max() < 5
    glob = views["centroid_global"]
    assert glob[glob.size // 2 - 5: glob.size // 2 + 6].min() > 10 and np.median(np.abs(glob)) < 2


def test_eb_at_half_its_period_shows_unequal_odd_and_even_depths():
    true_period, epoch = 6.0, 2.0
    # Primary 1%, secondary 0.4% half an orbit later: detected at P/2 they fold on top of each other.
    time, flux = light_curve(lambda t: box(t, true_period, epoch, 0.01) +
                             box(t, true_period, epoch + 0.5 * true_period, 0.004))
    views, feats = views_and_features(time, flux, true_period / 2, epoch)
    odd, even = views["odd_local"], views["even_local"]
    c = odd.size // 2
    # Even cycles hold the primaries, odd the secondaries (on the local view's scale).
    assert even[c] < -0.9 and odd[c] > -0.6
    assert odd[c] / even[c] == pytest.approx(0.4, abs=0.05)
    assert feats["odd_even_sigma"] > 50
    assert feats["odd_even_diff"] == pytest.approx((0.004 - 0.01) / 0.007, abs=0.15)
    # The double-period view separates them: two dips at a quarter and three quarters.
    d = views["double_period"]
    q1, q3 = d[d.size // 4 - 3: d.size // 4 + 4].min(), d[3 * d.size // 4 - 3: 3 * d.size // 4 + 4].min()
    assert q1 == pytest.approx(-1, abs=0.05) and q3 == pytest.approx(-0.4, abs=0.08)


def test_unfolded_view_isolates_a_single_glitch():
    period, epoch = 10.0, 5.0
    time, flux = light_curve(lambda t: np.where(np.abs(t - 65.0) < 0.07, -0.01, 0.0))  # one event only
    views, _ = views_and_features(time, flux, period, epoch + 60.0 - 10.0 * 6)
    unfolded = views["unfolded"]
    assert unfolded.shape == (8, 31)
    c = unfolded.shape[1] // 2
    assert unfolded[0, c] == pytest.approx(-1, abs=0.1)     # deepest first: the glitch
    assert np.abs(unfolded[1:, c]).max() < 0.15            # every other transit is flat


def test_unfolded_view_of_a_planet_repeats_the_transit():
    period, epoch = 10.0, 5.0
    time, flux = light_curve(lambda t: box(t, period, epoch, 0.003))
    views, _ = views_and_features(time, flux, period, epoch)
    c = views["unfolded"].shape[1] // 2
    assert np.all(views["unfolded"][:, c] < -0.8)


def test_scatter_channel_is_larger_where_the_flux_is_noisier():
    period, epoch = 4.3, 1.0
    rng = np.random.default_rng(5)
    time = np.arange(0.0, 200.0, CADENCE)
    in_transit = box(time, period, epoch, 1.0) < 0
    noise = np.where(in_transit, 3e-3, 2e-4) * rng.normal(size=time.size)
    views, _ = views_and_features(time, 1 + box(time, period, epoch, 0.005) + noise, period, epoch)
    s = views["local_scatter"]
    # Relative to the star's own out-of-transit scatter: about 0 out of transit, 3e-3 / 2e-4 - 1 = 14 in it.
    assert abs(np.median(s[:4])) < 0.3 and s[s.size // 2] > 8


def test_scatter_raised_across_the_detrending_mask_reads_as_the_stars_own():
    """Inside a transit's detrending mask the trend is interpolated, not fitted, so on a star
    with correlated noise the residuals there scatter more than elsewhere, around every transit
    alike. Measured against the mask's own scatter just outside the transit, a planet on such a
    star shows none, while scatter that only the transit adds (an EB's changing depth) still does."""
    period, epoch = 4.3, 1.0
    rng = np.random.default_rng(6)
    time = np.arange(0.0, 200.0, CADENCE)
    phase = phase_fold(time, period, epoch)
    in_mask = np.abs(phase) < 1.5 * DURATION
    in_transit = np.abs(phase) < 0.5 * DURATION
    noise = np.where(in_mask, 6e-4, 2e-4) * rng.normal(size=time.size)
    cfg = load({})
    zeros = np.zeros(time.size)

    def local_scatter(flux, mask_half):
        return ViewMaker(time, flux, zeros, zeros, period, epoch, DURATION, cfg["views"],
                         mask_half=mask_half).make(["local_scatter"], 0.5)["local_scatter"]

    planet = 1 + box(time, period, epoch, 0.002) + noise
    centre = slice(13, 18)                                   # within half a duration of mid-transit
    assert np.median(local_scatter(planet, None)[centre]) > 1.0          # against the whole light curve
    assert abs(np.median(local_scatter(planet, 1.5)[centre])) < 0.3      # against the mask's own
    eb = planet + np.where(in_transit, 2e-3, 0.0) * rng.normal(size=time.size)
    assert np.median(local_scatter(eb, 1.5)[centre]) > 2


def test_find_secondary_ignores_the_primary_and_finds_a_dip_near_it():
    period, epoch = 5.0, 0.0
    time, flux = light_curve(lambda t: box(t, period, epoch, 0.01) + box(t, period, 0.2 * period, 0.002), noise=1e-4)
    phase = phase_fold(time, period, epoch)
    away = np.abs(phase) >= DURATION
    ph, depth, snr = find_secondary(phase[away], flux[away], period, DURATION, 1.0, 1e-4)
    assert ph == pytest.approx(0.2, abs=0.01) and depth == pytest.approx(0.002, rel=0.1) and snr > 20


def test_raw_flux_view_has_fixed_length_and_shows_the_dips():
    time, flux = light_curve(lambda t: box(t, 20.0, 10.0, 0.01))
    v = raw_flux_view(time, flux, 400)
    assert v.shape == (400,) and v.dtype == np.float32
    assert (v < -10).sum() >= 9                             # ten transits, each a few sigma deep


def test_raw_flux_fold_lines_up_this_tces_transits_and_no_others():
    """The raw_flux baseline's second channel: two TCEs of one star share the light curve, not
    the fold; each fold has its own transits at its centre and the other's smeared out."""
    from exosieve.views import raw_flux_fold
    time, flux = light_curve(lambda t: box(t, 20.0, 10.0, 0.01) + box(t, 7.0, 3.0, 0.002))
    first = raw_flux_fold(time, flux, 20.0, 10.0, DURATION, 400)
    second = raw_flux_fold(time, flux, 7.0, 3.0, DURATION, 400)
    assert first.shape == (400,) and first.dtype == np.float32
    centre = slice(195, 205)
    assert first[centre].min() < -20 and second[centre].min() < -5
    assert np.median(first[:150]) == pytest.approx(0, abs=1)
    # Each TCE's transit fills the middle quarter of the near half (+-0.5 of +-2 durations): 175-225.
    for fold in (first, second):
        assert (fold[180:220] < -5).mean() > 0.9
    deep = np.flatnonzero(first < -20)                    # the other TCE's dips (5x shallower) smeared
    assert 170 <= deep.min() and deep.max() < 230
    assert not np.array_equal(first, second)


def test_raw_flux_fold_resolves_a_long_period_transit():
    """P = 300 d, D = 0.4 d: over the whole orbit in 1,000 equal-count groups the transit would
    fill about one group; half the groups go to the cadences within two durations of it."""
    from exosieve.views import raw_flux_fold
    time, flux = light_curve(lambda t: box(t, 300.0, 150.0, 0.01, duration=0.4), days=1200.0)
    fold = raw_flux_fold(time, flux, 300.0, 150.0, 0.4, 1000)
    assert fold.shape == (1000,)
    in_transit = np.flatnonzero(fold < -10)
    assert in_transit.size >= 100                                  # a shape, not a spike
    assert 250 <= in_transit.min() and in_transit.max() < 750      # all within the near half
    assert abs(np.median(fold[:250])) < 1 and abs(np.median(fold[750:])) < 1
