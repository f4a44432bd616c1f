import numpy as np
import pytest
from astropy.io import fits

from exosieve.lightcurves import LightCurveError, read_kepler_lightcurve
from exosieve.lightcurves.mast import find_kepler_lightcurves, kepid_string, kepler_lightcurve_path
from exosieve.utils import TargetError, safe_id


def _one_star(small_survey):
    sid = str(small_survey["survey"].stars.kepid.iloc[1])
    return sid, sorted(small_survey["index"].query("star_id == @sid").path)


def test_mast_layout():
    p = kepler_lightcurve_path("/root", 757450, "2009350155506")
    assert str(p) == "/root/0007/000757450/kplr000757450-2009350155506_llc.fits"


@pytest.mark.parametrize("bad", ["../x", "12/34", "..", "", "abc", "1234567890"])
def test_path_like_or_malformed_ids_are_refused(bad):
    with pytest.raises(TargetError):
        kepid_string(bad)


def test_safe_id_refuses_traversal():
    with pytest.raises(TargetError, match="not a valid identifier"):
        safe_id("../../etc/passwd")
    assert safe_id("TIC_123.01") == "TIC_123.01"


def test_flagged_and_nan_cadences_are_dropped(small_survey):
    sid, paths = _one_star(small_survey)
    lc = read_kepler_lightcurve(paths, sid)
    with fits.open(paths[0]) as h:
        d = h[1].data
        n_bad = (~np.isfinite(d["TIME"]) | ~np.isfinite(d["PDCSAP_FLUX"]) |
                 ((d["SAP_QUALITY"] & 1130799) != 0)).sum()
        n0 = len(d)
    assert (lc.segment == 0).sum() == n0 - n_bad
    none = read_kepler_lightcurve(paths, sid, quality="none")
    assert len(none) > len(lc)


def test_corrupt_fits_names_star_and_file(small_survey, tmp_path):
    sid, paths = _one_star(small_survey)
    bad = tmp_path / "kplr-bad_llc.fits"
    bad.write_bytes(open(paths[0], "rb").read()[:5000])  # truncated download
    with pytest.raises(LightCurveError, match=rf"star {sid}: kplr-bad_llc.fits is not a valid"):
        read_kepler_lightcurve([bad], sid)


def test_nan_only_flux_is_a_clear_error(small_survey, tmp_path):
    sid, paths = _one_star(small_survey)
    copies = []
    for p in paths:
        with fits.open(p) as h:
            h[1].data["PDCSAP_FLUX"][:] = np.nan
            out = tmp_path / p.split("/")[-1]
            h.writeto(out)
            copies.append(out)
    with pytest.raises(LightCurveError, match="no usable cadences"):
        read_kepler_lightcurve(copies, sid)


def test_file_of_another_target_is_refused(small_survey):
    sid, paths = _one_star(small_survey)
    other = str(small_survey["survey"].stars.kepid.iloc[2])
    with pytest.raises(LightCurveError, match=f"light curve of target {sid}, not {other}"):
        read_kepler_lightcurve(paths, other)


def test_find_in_mast_layout(small_survey, tmp_path):
    sid, paths = _one_star(small_survey)
    assert [str(p) for p in find_kepler_lightcurves(small_survey["lightcurves"], sid)] == paths
    assert find_kepler_lightcurves(tmp_path, sid) == []


def test_written_files_honour_the_umask(tmp_path):
    """mkstemp makes 0600 files; outputs and the shared cache must get the usual mode (0644 under 022)."""
    import os
    from exosieve.utils import atomic_output
    with atomic_output(tmp_path / "out.csv", ".csv") as tmp:
        tmp.write_text("a\n1\n")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "out.csv").stat().st_mode & 0o777 == 0o666 & ~umask
