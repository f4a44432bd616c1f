import numpy as np
import pytest
from astropy.io import fits

from exosieve.lightcurves.reader import LightCurveError, read_kepler_lightcurve
from exosieve.lightcurves.mast import find_kepler_lightcurves, kepid_string, kepler_lightcurve_path
from exosieve.utils import TargetError, safe_id


def _one_star(small_survey):
    sid = str(small_survey["survey"].stars.kepid.iloc[1])
    return sid, sorted(small_survey["index"].query("star_id == @sid").path)


def test_the_quality_bitmasks_are_lightkurve_s():
    """The named bitmasks are written out (importing lightkurve costs every job seconds): the same
    values as the installed lightkurve's, or a new lightkurve changed them."""
    from lightkurve.utils import KeplerQualityFlags, TessQualityFlags

    from exosieve.lightcurves.reader import QUALITY_BITMASKS
    assert QUALITY_BITMASKS == {"kepler": KeplerQualityFlags.OPTIONS, "tess": TessQualityFlags.OPTIONS}


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


def test_a_bad_quarter_is_skipped_and_recorded_and_the_star_still_scored(tmp_path, cfg):
    """Real Kepler quarters of KIC 757450 (Kepler-75 b, DR24 PC): one truncated download and one
    quarter whose flux is all NaN are skipped, each recorded by file; the other quarters are used."""
    import shutil
    from helpers import DR24, KEPLER_LC, needs_shared_data
    if not (DR24.exists() and KEPLER_LC.is_dir()):
        pytest.skip(needs_shared_data.kwargs["reason"])
    from exosieve.catalog.kepler import load_dr24
    from exosieve.preprocess import preprocess_star
    originals = find_kepler_lightcurves(KEPLER_LC, 757450)[:6]
    paths = [tmp_path / p.name for p in originals]
    for src, dst in zip(originals, paths):
        shutil.copy(src, dst)
    paths[1].write_bytes(originals[1].read_bytes()[:20000])          # truncated
    with fits.open(originals[3]) as h:
        h[1].data["PDCSAP_FLUX"][:] = np.nan
        h.writeto(paths[3], overwrite=True)
    lc = read_kepler_lightcurve(paths, "757450")
    assert [name for name, _ in lc.skipped] == [paths[1].name, paths[3].name]
    assert "not a valid light-curve FITS" in lc.skipped[0][1] and "no usable cadences" in lc.skipped[1][1]
    assert np.unique(lc.segment).tolist() == [0, 2, 4, 5]
    tces, _ = load_dr24(DR24, cfg["catalog"]["labels"])
    results, failures = preprocess_star(paths, tces[tces.star_id == "757450"], cfg)
    assert [r[0].tce_id for r in results] == ["757450_1"]
    assert [(f["tce_id"], f["stage"]) for f in failures] == [("", "file"), ("", "file")]
    assert paths[1].name in failures[0]["error"] and paths[3].name in failures[1]["error"]
    # every file bad: one error for the star, naming the files' problems
    with pytest.raises(LightCurveError, match=r"none of its 2 file\(s\) is usable: .*not a valid.*no usable cadences"):
        read_kepler_lightcurve([paths[1], paths[3]], "757450")


def test_temporaries_of_killed_writers_are_removed_on_the_next_write(tmp_path):
    import os
    import time
    from exosieve.utils import atomic_output
    target = tmp_path / "000.h5"
    killed = tmp_path / ".000.h5.k1ll3d.h5.tmp"               # what a kill -9 mid-write leaves
    other = tmp_path / ".001.h5.abcdef.h5.tmp"                # another target's: not ours to touch
    killed.write_bytes(b"half a shard")
    other.write_bytes(b"x")
    with atomic_output(target, ".h5") as tmp:
        tmp.write_bytes(b"whole")
    assert target.read_bytes() == b"whole" and not killed.exists() and other.exists()
    # in the shared cache another run may be writing: only an idle temporary is a dead one
    cached = tmp_path / "kplr.fits"
    live, dead = tmp_path / ".kplr.fits.live.fits.tmp", tmp_path / ".kplr.fits.dead.fits.tmp"
    live.write_bytes(b"downloading")
    dead.write_bytes(b"killed")
    os.utime(dead, (time.time() - 3600, time.time() - 3600))
    with atomic_output(cached, ".fits", stale_after=600) as tmp:
        tmp.write_bytes(b"file")
    assert live.exists() and not dead.exists()


def _rewritten(src, dest, edit):
    """A copy of ``src`` at ``dest``, edited by ``edit(hdus)`` (the fuzzer's own FITS editor)."""
    import shutil
    from fuzzing import edit_fits
    shutil.copy(src, dest)
    edit_fits(dest, edit)
    return dest


def test_time_is_read_on_each_files_own_bjd_reference_and_corrupt_times_are_dropped(small_survey, tmp_path):
    """Found by the fuzzer (tests/fuzzing.py): a file on full BJD (BJDREFI = 0) read as if on BKJD,
    and one bit-flipped TIME of 1e300 stretched every binned view to nothing."""
    sid = str(small_survey["survey"].stars.kepid.iloc[0])
    paths = find_kepler_lightcurves(small_survey["lightcurves"], sid)
    clean = read_kepler_lightcurve(paths, sid)

    from fuzzing import fits_mutations
    bjd = _rewritten(paths[0], tmp_path / "bjd.fits", lambda h: None)
    fits_mutations()["time_reference"](bjd, None)     # the same instants on full BJD, BJDREFI = 0
    shifted = read_kepler_lightcurve([bjd, *paths[1:]], sid)
    assert np.allclose(shifted.time, clean.time, atol=1e-8) and np.array_equal(shifted.flux, clean.flux)

    good = np.flatnonzero(np.isfinite(fits.getdata(paths[0], 1)["TIME"]))
    corrupt = _rewritten(paths[0], tmp_path / "corrupt.fits",
                         lambda h: h[1].data["TIME"].__setitem__(good[5], 1e300))
    lc = read_kepler_lightcurve([corrupt, *paths[1:]], sid)
    assert len(lc) == len(clean) - 1 and lc.time.max() == clean.time.max()


def test_a_file_whose_table_extension_is_not_a_table_is_skipped_with_its_reason(small_survey, tmp_path):
    sid = str(small_survey["survey"].stars.kepid.iloc[0])
    paths = find_kepler_lightcurves(small_survey["lightcurves"], sid)
    image = _rewritten(paths[0], tmp_path / paths[0].name,
                       lambda h: h.__setitem__(1, fits.ImageHDU(np.zeros((4, 4)))))
    lc = read_kepler_lightcurve([image, *paths[1:]], sid)
    assert lc.skipped == [(paths[0].name, f"star {sid}: {paths[0].name} extension 1 is a ImageHDU, "
                                          "not the light-curve table")]
