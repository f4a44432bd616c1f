"""Centroid offsets on the sky: each light-curve file's residuals turned by its own WCS.

A blend sits at a fixed place on the sky; a file's pixel axes may point anywhere (TESS moves a
star between cameras from sector to sector). Combined in pixels, the shifts of differently turned
files cancel; combined on the sky they add up.
"""

import numpy as np
import pandas as pd
import pytest

from exosieve.config import load
from exosieve.features import measure_features
from exosieve.lightcurves.reader import LightCurve, read_kepler_lightcurve
from exosieve.preprocess import detrend_star
from exosieve.simulate.common import sky_matrix
from exosieve.simulate.kepler_fits import PIXEL_ARCSEC
from exosieve.simulate.signals import KEPLER_LC_CADENCE
from exosieve.views import phase_fold
from helpers import DR24, KEPLER_LC, SHARED_DATA, needs_shared_data

PERIOD, EPOCH, DURATION = 5.3, 2.1, 0.2


def _blend(angles, offset_arcsec=(1.5, -0.8), seed=0) -> LightCurve:
    """One 90-day file per angle: a 1% eclipse whose light comes from a source ``offset_arcsec``
    (east, north) away, so that in transit the centroid moves towards it; centroids in each
    file's own pixels, on their own arbitrary zero point and drift."""
    rng = np.random.default_rng(seed)
    parts = []
    for i, angle in enumerate(angles):
        t = np.arange(i * 93.0, i * 93.0 + 90.0, KEPLER_LC_CADENCE)
        dip = 0.01 * (np.abs(phase_fold(t, PERIOD, EPOCH)) < 0.5 * DURATION)
        shift_pixels = np.linalg.inv(sky_matrix(angle, PIXEL_ARCSEC)) @ np.asarray(offset_arcsec)
        col = 500 + 3e-3 * (t - t[0]) + dip * shift_pixels[0] + rng.normal(0, 2e-3, t.size)
        row = 200 - 2e-3 * (t - t[0]) + dip * shift_pixels[1] + rng.normal(0, 2e-3, t.size)
        parts.append((t, 1 - dip + rng.normal(0, 2e-4, t.size), col, row, np.full(t.size, i)))
    t, f, c, r, seg = (np.concatenate(x) for x in zip(*parts))
    return LightCurve("1", t, f, np.full(t.size, 2e-4), c, r, seg.astype(np.int16), len(angles),
                      pixel_to_sky=np.stack([sky_matrix(a, PIXEL_ARCSEC) for a in angles]))


def _centroid(lc: LightCurve) -> dict:
    cfg = load({"models": {"enabled": ["exominer"], "primary": "exominer"}})
    tces = pd.DataFrame({"period": [PERIOD], "epoch": [EPOCH], "duration": [DURATION]})
    star = detrend_star(lc, tces, cfg)
    phase = phase_fold(star.time, PERIOD, EPOCH)
    return measure_features(star.time, phase, star.flux, star.d_east, star.d_north, DURATION, PERIOD, EPOCH,
                            np.zeros(star.time.size, bool))


def test_a_blend_seen_through_differently_turned_files_keeps_its_significance():
    angles = np.radians([0, 90, 180, 270])
    single = _centroid(_blend(angles[:1]))
    combined = _centroid(_blend(angles))
    assert single["centroid_offset"] == pytest.approx(0.01 * np.hypot(1.5, 0.8), rel=0.1)   # arcsec
    assert combined["centroid_offset"] == pytest.approx(single["centroid_offset"], rel=0.1)
    assert combined["centroid_sigma"] >= 0.9 * single["centroid_sigma"] > 10
    # Combined in pixels (every file read as if turned like the first), the shifts cancel.
    in_pixels = _blend(angles)
    in_pixels.pixel_to_sky = np.stack([sky_matrix(angles[0], PIXEL_ARCSEC)] * 4)
    assert _centroid(in_pixels)["centroid_sigma"] < 0.3 * single["centroid_sigma"]


def test_the_simulated_survey_writes_the_orientation_its_blends_move_along(tmp_path):
    """The simulator turns each season's pixels on the sky and says so in the aperture WCS; the
    reader gets back the very matrix the simulator projected the blend's offset with."""
    from exosieve.lightcurves.obtain import generate_simulated
    from exosieve.simulate import draw_survey, write_catalog_files
    survey = draw_survey(12, 4, seed=3)
    files = write_catalog_files(survey, tmp_path)
    sid = str(survey.stars.kepid.iloc[0])
    index, _ = generate_simulated([sid], files, tmp_path / "lc", {"quarters": 4, "seed": 3}, progress=False)
    lc = read_kepler_lightcurve(list(index.path), sid)
    angles = [np.arctan2(m[1, 0], -m[0, 0]) for m in lc.pixel_to_sky]    # sky_matrix's own parameter
    for m, a in zip(lc.pixel_to_sky, angles):
        np.testing.assert_allclose(m, sky_matrix(a, PIXEL_ARCSEC), atol=1e-9)
    assert np.ptp(np.unwrap(angles)) > 0.1                                 # the seasons differ


@needs_shared_data
def test_real_kepler_centroids_agree_in_the_sky_and_pixel_frames():
    """Kepler's aperture WCS keeps its orientation through the rolls (KIC 757450: within 0.1
    degree over Q1-Q17), so on real Kepler files the sky frame must give what the pixel frame
    gave, times the pixel scale."""
    from exosieve.catalog.kepler import load_dr24
    from exosieve.lightcurves.mast import find_kepler_lightcurves
    dr24 = load_dr24(DR24, {"positive": ["PC"], "negative": ["AFP", "NTP"]})[0]
    cfg = load({})
    checked = 0
    for kic in ("757450", "892772", "1162345", "11442793"):
        lc = read_kepler_lightcurve(find_kepler_lightcurves(KEPLER_LC, kic), kic)
        turn = np.degrees(np.arctan2(lc.pixel_to_sky[:, 1, 0], lc.pixel_to_sky[:, 0, 0]))
        assert np.ptp(turn) < 0.2
        scale = np.sqrt(abs(np.linalg.det(lc.pixel_to_sky))).mean()
        assert scale == pytest.approx(3.98, rel=0.02)
        tces = dr24[dr24.star_id == kic]
        pixel = LightCurve(**{**lc.__dict__, "pixel_to_sky": np.stack([np.eye(2)] * len(lc.pixel_to_sky))})
        for frame in ("sky", "pixel"):
            star = detrend_star(lc if frame == "sky" else pixel, tces, cfg)
            for tce in tces.itertuples():
                phase = phase_fold(star.time, tce.period, tce.epoch)
                f = measure_features(star.time, phase, star.flux, star.d_east, star.d_north, tce.duration,
                                     tce.period, tce.epoch, np.zeros(star.time.size, bool))
                if frame == "sky":
                    sky_f = f
                    continue
                assert sky_f["centroid_offset"] == pytest.approx(scale * f["centroid_offset"], rel=0.1, abs=1e-3)
                assert sky_f["centroid_sigma"] == pytest.approx(f["centroid_sigma"], rel=0.25, abs=0.5)
                checked += 1
    assert checked >= 4


@needs_shared_data
def test_the_real_tess_file_goes_through_the_same_path():
    path = next((SHARED_DATA / "tess" / "tid").rglob("*-s_lc.fits"))
    tic = str(int(path.name.split("-")[2]))
    lc = read_kepler_lightcurve([path], tic, mission="tess")
    scale = np.sqrt(abs(np.linalg.det(lc.pixel_to_sky[0])))
    assert scale == pytest.approx(21.0, rel=0.05)                          # TESS: 21 arcsec pixels
    tces = pd.DataFrame({"period": [3.0], "epoch": [float(lc.time[0]) + 1.0], "duration": [0.1]})
    star = detrend_star(lc, tces, load({}))
    assert np.isfinite(star.d_east).mean() > 0.9 and np.isfinite(star.d_north).mean() > 0.9
    # Residual scatter in arcsec: a fraction of a 21" pixel, not pixels.
    assert 0.01 < np.nanstd(star.d_east) < 21.0
