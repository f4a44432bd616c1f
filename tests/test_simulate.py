import numpy as np
import pandas as pd
import pytest
from astropy.io import fits

from exosieve.simulate import KEPLER_QUARTERS, draw_survey
from helpers import KEPLER_LC, needs_shared_data


def test_survey_is_deterministic_and_seed_dependent():
    a, b, c = draw_survey(60, 4, 5), draw_survey(60, 4, 5), draw_survey(60, 4, 6)
    pd.testing.assert_frame_equal(a.catalog, b.catalog)
    assert not a.catalog.equals(c.catalog)


def test_catalog_has_dr24_columns_units_and_all_classes():
    s = draw_survey(600, 6, 3)
    for col in ["kepid", "tce_plnt_num", "tce_period", "tce_time0bk", "tce_duration", "tce_depth", "av_training_set"]:
        assert col in s.catalog.columns
    assert set(s.catalog.av_training_set) == {"PC", "AFP", "NTP", "UNK"}
    assert {"planet", "eb", "blend", "spots", "pulsation", "systematic", "glitch"} <= set(s.truth.true_class)
    # Several TCEs per star sometimes.
    assert s.catalog.kepid.value_counts().max() >= 2
    # Durations in hours, epochs in BKJD within the observed span.
    assert 0.5 < s.catalog.tce_duration.median() < 24
    assert s.catalog.tce_time0bk.between(131, 700).all()
    # Ephemerides carry errors: not the true values.
    planets = s.truth.true_class == "planet"
    assert not np.allclose(s.catalog.tce_time0bk[planets], s.truth.rep_epoch[planets])
    # Many planets near the detection limit.
    snr = s.truth.loc[planets, "sig_snr"]
    assert snr.min() >= 7.1 and (snr < 12).mean() > 0.1
    # Some EBs are reported at twice or half their true period.
    assert {0.5, 2.0} <= set(s.truth.loc[s.truth.true_class == "eb", "rep_factor"])


def test_simulated_fits_reads_back(small_survey):
    from exosieve.lightcurves.reader import read_kepler_lightcurve
    sid = str(small_survey["survey"].stars.kepid.iloc[0])
    paths = list(small_survey["index"].query("star_id == @sid").path)
    assert len(paths) == 3
    lc = read_kepler_lightcurve(paths, sid)
    assert np.all(np.diff(lc.time) > 0) and np.isfinite(lc.flux).all()
    assert abs(np.median(lc.flux) - 1) < 1e-3


@needs_shared_data
def test_simulated_files_match_the_archive_format(small_survey):
    real_path = sorted((KEPLER_LC / "0007" / "000757450").glob("*.fits"))[2]
    sim_path = small_survey["index"].path.iloc[2]
    with fits.open(real_path) as real, fits.open(sim_path) as sim:
        assert [h.name for h in sim] == [h.name for h in real]
        assert sim[1].columns.names == real[1].columns.names
        assert [c.format for c in sim[1].columns] == [c.format for c in real[1].columns]
        assert [c.unit for c in sim[1].columns] == [c.unit for c in real[1].columns]
        for key in ["KEPLERID", "QUARTER", "OBJECT", "TELESCOP", "OBSMODE", "TEFF", "RADIUS"]:
            assert key in sim[0].header
        for key in ["BJDREFI", "TSTART", "TSTOP", "TIMEDEL", "CDPP6_0", "CROWDSAP"]:
            assert key in sim[1].header
        stamp = {q: ts for q, ts, _, _ in KEPLER_QUARTERS}[sim[0].header["QUARTER"]]
        kepid = small_survey["survey"].stars.kepid.iloc[0]
        assert sim_path.endswith(f"{kepid:09d}/kplr{kepid:09d}-{stamp}_llc.fits")
        flags = sim[1].data["SAP_QUALITY"]
        assert (flags != 0).any() and np.isnan(sim[1].data["PDCSAP_FLUX"]).any()


def test_blend_moves_the_centroid_in_transit(tmp_path):
    from exosieve.lightcurves.reader import read_kepler_lightcurve
    from exosieve.simulate.lightcurves import generate_star
    from exosieve.views import phase_fold
    s = draw_survey(300, 3, 9)
    truth = s.truth[(s.truth.true_class == "blend")].iloc[0]
    star = s.stars.set_index("kepid").loc[truth.kepid]
    star["kepid"] = truth.kepid
    paths = generate_star(star, s.truth[s.truth.kepid == truth.kepid], 3, 9, tmp_path)
    lc = read_kepler_lightcurve(paths, str(truth.kepid))
    ph = np.abs(phase_fold(lc.time, truth.sig_period, truth.sig_epoch))
    dur = truth.sig_duration
    inside, outside = ph < 0.3 * dur, (ph > 2 * dur) & (ph < 5 * dur)
    # Compare in-transit with nearby out-of-transit centroids, season by season.
    shifts = []
    for seg in np.unique(lc.segment):
        i, o = inside & (lc.segment == seg), outside & (lc.segment == seg)
        if i.sum() > 3:
            shifts.append(np.hypot(np.median(lc.centroid_col[i]) - np.median(lc.centroid_col[o]),
                                   np.median(lc.centroid_row[i]) - np.median(lc.centroid_row[o])))
    expected = truth.sig_true_depth * 1e-6 * 0.5  # at least half a pixel offset times the depth
    assert np.median(shifts) > expected


def test_the_labelled_class_mix_is_dr24s():
    """DR24's training set: 3,600 PC, 9,596 AFP, 2,541 NTP (23%, 61%, 16%)."""
    s = draw_survey(1300, 6, 2024)
    labelled = s.catalog.av_training_set[s.catalog.av_training_set != "UNK"]
    mix = labelled.value_counts(normalize=True)
    assert mix["PC"] == pytest.approx(0.23, abs=0.03)
    assert mix["AFP"] == pytest.approx(0.61, abs=0.04) and mix["NTP"] == pytest.approx(0.16, abs=0.03)


def test_the_survey_is_as_hard_as_the_sky_where_the_readme_says_so(tmp_path):
    """Wrong labels, DR24-like NTP durations, mixed-class stars, and light curves with correlated
    noise, dump steps and post-gap ramps (what a spline leaves behind is more than white noise)."""
    from exosieve.lightcurves.reader import read_kepler_lightcurve
    from exosieve.simulate.lightcurves import generate_star
    s = draw_survey(1300, 6, 2024)
    t = s.truth
    labelled = t[t.av_training_set != "UNK"]
    assert labelled.label_wrong.mean() == pytest.approx(0.03, abs=0.01)
    wrong = labelled[labelled.label_wrong]
    from exosieve.simulate.common import DISPOSITION
    assert (wrong.av_training_set != wrong.true_class.map(DISPOSITION)).all()
    # False positives crowd the detection threshold, as DR24's do (depth over its error under 10 for
    # 52% of its AFPs and 82% of its NTPs, 10% of its PCs); the deep EBs are the minority.
    cat = s.catalog[s.catalog.av_training_set != "UNK"]
    near = (cat.tce_depth / cat.tce_depth_err < 10).groupby(cat.av_training_set).mean()
    assert near["AFP"] > 0.3 and near["PC"] < 0.2
    assert {"leak", "ellipsoidal"} <= set(t.true_class)
    shallow_fp = cat[cat.av_training_set.isin(["AFP", "NTP"]) & (cat.tce_depth < 300)]
    assert len(shallow_fp) > len(cat[(cat.av_training_set == "PC") & (cat.tce_depth < 300)])
    ntp = t[t.true_class.isin(["spots", "pulsation", "systematic", "glitch"])]
    hours = np.log10(ntp.sig_duration * 24)
    assert hours.mean() == pytest.approx(0.64, abs=0.1) and hours.std() == pytest.approx(0.34, abs=0.08)
    assert abs(np.corrcoef(np.log(ntp.sig_period), ntp.sig_duration / ntp.sig_period)[0, 1]) < 0.9
    classes = t.groupby("kepid").true_class.agg(set)
    assert sum({"planet", "eb"} <= c for c in classes) >= 5 and sum({"planet", "blend"} <= c for c in classes) >= 5
    # A quiet star's light curve, detrended: more than its white noise is left at 6 h scales.
    from exosieve.detrend import detrend
    star = s.stars.sort_values("var_amp").iloc[0].copy()
    paths = generate_star(star, t.iloc[:0], 3, 2024, tmp_path)
    lc = read_kepler_lightcurve(paths, str(int(star.kepid)))
    flat, _ = detrend(lc.time, lc.flux, [], [], [], segment=lc.segment, flux_err=lc.flux_err)
    white = np.median(lc.flux_err)
    six_hours = np.convolve(flat - 1, np.ones(12) / 12, mode="valid")
    assert np.std(six_hours) > 1.2 * white / np.sqrt(12)


def test_simulate_prints_a_command_that_snakemake_accepts(tmp_path):
    import shlex
    import subprocess
    import sys
    from helpers import REPO
    out = subprocess.run([sys.executable, "-m", "exosieve.cli", "simulate", "--out", str(tmp_path / "sim"),
                          "--stars", "6", "--quarters", "1"], capture_output=True, text=True, check=True).stdout
    command = shlex.split(out.split("Use it as a local source: ")[1].strip())
    assert command[:3] == ["snakemake", "--cores", "2"]
    (tmp_path / "config.yaml").write_text((REPO / "config.yaml").read_text())
    dry = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory",
                          str(tmp_path), "-n", *command[3:]], capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr[-3000:]
    # Light curves and preprocessing join the plan once shard assignment (a checkpoint) has run.
    assert all(rule in dry.stdout for rule in ("catalog", "assign_shards", "train", "report"))


def test_systems_periods_and_false_positives_beside_other_tces_are_the_skys():
    """DR24's table: 41% of the PCs share their star with another PC, 6.9% have periods of
    100-500 d; 22% of the AFPs and 37% of the NTPs (44% of the PCs) share their star with a TCE at
    a period that is neither theirs nor twice or half it. Over Kepler's 17 quarters."""
    from exosieve.catalog.ephemeris import has_distinct_neighbour
    c = draw_survey(1500, 17, 2024).catalog.rename(columns={"kepid": "star_id", "tce_period": "period"})
    c["distinct"] = has_distinct_neighbour(c)
    labelled = c[c.av_training_set != "UNK"]
    pc = labelled[labelled.av_training_set == "PC"]
    assert (pc.star_id.map(pc.star_id.value_counts()) >= 2).mean() > 1 / 3
    assert pc.period.between(100, 500).mean() == pytest.approx(0.069, abs=0.03)
    assert pc.period.between(3, 30).mean() == pytest.approx(0.64, abs=0.08)
    share = labelled.groupby("av_training_set").distinct.mean()
    assert share["AFP"] == pytest.approx(0.22, abs=0.05) and share["NTP"] == pytest.approx(0.37, abs=0.07)
    assert share["PC"] > share["NTP"] > share["AFP"]


def test_a_planets_neighbours_transit_inside_its_secondary_window():
    """What the secondary search must not read as an eclipse is in the survey: over the default six
    quarters most planets beside another signal have one of its transits within a transit
    duration of their own phase 0.5."""
    from exosieve.simulate.population import quarters_for
    from exosieve.views import phase_fold
    s = draw_survey(1500, 6, 2024)
    start, end = quarters_for(6)[0][2], quarters_for(6)[-1][3]
    signals = s.truth.drop_duplicates(["kepid", "sig_signal_id"])
    pairs = signals[signals.true_class == "planet"].merge(signals, on="kepid", suffixes=("", "_o"))
    pairs = pairs[pairs.sig_signal_id != pairs.sig_signal_id_o]
    inside = []
    for p in pairs.itertuples():
        cycles = np.arange(np.ceil((start - p.sig_epoch_o) / p.sig_period_o),
                           np.floor((end - p.sig_epoch_o) / p.sig_period_o) + 1)
        from_secondary = phase_fold(p.sig_epoch_o + cycles * p.sig_period_o, p.sig_period,
                                    p.sig_epoch + 0.5 * p.sig_period)
        inside.append(np.any(np.abs(from_secondary) < p.sig_duration))
    per_planet = pd.Series(inside, index=pairs.kepid.astype(str) + "_" + pairs.sig_signal_id.astype(str))
    per_planet = per_planet.groupby(level=0).any()
    assert len(per_planet) > 150 and per_planet.mean() > 0.5


def test_the_catalog_depth_is_what_the_light_curve_shows(tmp_path):
    """Each TCE's catalog depth is its signal's own as a fold at its ephemeris shows it: a grazing
    eclipse's (not k^2 or half of it, up to 20 times deeper), a blend's diluted one, a glitch's
    spread over the cycles it missed. Measured in the generated light curve, detrended, as the
    preprocessing measures it: within a factor 1.6 either way (the catalog's 10% scatter and the
    noise), where each of these was under a third of the catalog's before."""
    from exosieve.detrend import detrend
    from exosieve.features import measure_features
    from exosieve.lightcurves.reader import read_kepler_lightcurve
    from exosieve.simulate.lightcurves import generate_star
    from exosieve.views import phase_fold
    s = draw_survey(400, 3, 9)
    t = s.truth.assign(tce_depth=s.catalog.tce_depth.to_numpy())
    alone = t.groupby("kepid").tce_id.transform("size") == 1       # no other signal in its fold
    grazing = (t.true_class.isin(["eb", "leak"]) & (t.sig_b > 1 - t.sig_k + 0.1 * t.sig_k) & (t.rep_factor == 1)
               & alone & (t.sig_snr > 20))
    picks = [t[grazing].iloc[0], t[(t.true_class == "blend") & alone & (t.sig_snr > 15)].iloc[0],
             t[(t.true_class == "glitch") & alone].iloc[0]]
    assert picks[0].sig_true_depth > 0 and picks[0].tce_depth < 0.7e6 * picks[0].sig_k ** 2    # grazing
    for tce in picks:
        star = s.stars.set_index("kepid").loc[tce.kepid]
        star["kepid"] = tce.kepid
        lc = read_kepler_lightcurve(generate_star(star, t[t.kepid == tce.kepid], 3, 9, tmp_path / str(tce.kepid)),
                                    str(tce.kepid))
        flux, _ = detrend(lc.time, lc.flux, [tce.rep_period], [tce.rep_epoch], [tce.rep_duration], lc.segment)
        phase = phase_fold(lc.time, tce.rep_period, tce.rep_epoch)
        zeros = np.zeros(lc.time.size)
        measured = measure_features(lc.time, phase, flux, zeros, zeros, tce.rep_duration, tce.rep_period,
                                    tce.rep_epoch, np.zeros(lc.time.size, bool))["depth"]
        assert 1 / 1.6 < measured / tce.tce_depth < 1.6, (tce.true_class, measured, tce.tce_depth)
