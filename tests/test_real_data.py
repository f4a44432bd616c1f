"""Real Kepler data through the same reader and preprocessing as the simulated survey."""

import numpy as np
import pytest

from exosieve.catalog.kepler import load_dr24
from exosieve.lightcurves.mast import find_kepler_lightcurves
from exosieve.preprocess import preprocess_star
from helpers import DR24, KEPLER_LC, needs_shared_data

pytestmark = needs_shared_data


@pytest.fixture(scope="module")
def dr24():
    return load_dr24(DR24, {"positive": ["PC"], "negative": ["AFP", "NTP"]})[0]


@pytest.mark.parametrize("kic,catalog_depth", [("757450", 16310.0), ("892772", 246.5)])
def test_real_transit_is_centred_with_catalog_depth(dr24, cfg, kic, catalog_depth):
    tces = dr24[dr24.star_id == kic]
    paths = find_kepler_lightcurves(KEPLER_LC, kic)
    assert len(paths) >= 7
    results, failures = preprocess_star(paths, tces, cfg)
    assert not failures
    tce, views, feats = results[0]
    assert tce.depth == pytest.approx(catalog_depth)
    local = views["local"]
    assert abs(int(np.argmin(local)) - len(local) // 2) <= 1
    assert abs(int(np.argmin(views["global"])) - len(views["global"]) // 2) <= 2
    assert feats["depth"] == pytest.approx(catalog_depth, rel=0.15)
    assert feats["snr"] > 7


def test_multi_tce_star(dr24, cfg):
    tces = dr24[dr24.star_id == "2019477"]
    results, failures = preprocess_star(find_kepler_lightcurves(KEPLER_LC, "2019477"), tces, cfg)
    assert len(results) == 4 and not failures
    depths = {t.tce_id: f["depth"] for t, _, f in results}
    assert depths["2019477_1"] == pytest.approx(82.34, rel=0.3)
