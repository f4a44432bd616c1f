import numpy as np
import pandas as pd

from exosieve.catalog.kepler import load_dr24
from exosieve.preprocess import preprocess_shard
from exosieve.shards import read_shard

LABELS = {"positive": ["PC"], "negative": ["AFP", "NTP"]}


def _shard_inputs(small_survey, tmp_path, n_stars=6):
    tces, _ = load_dr24(small_survey["files"]["catalog"], LABELS, small_survey["files"]["stellar"])
    stars = sorted(tces.star_id.unique())[:n_stars]
    targets = tces[tces.star_id.isin(stars)].copy()
    index = small_survey["index"][small_survey["index"].star_id.isin(stars)].copy()
    return targets, index


def test_one_bad_target_never_stops_the_rest(small_survey, tmp_path, cfg):
    targets, index = _shard_inputs(small_survey, tmp_path)
    stars = sorted(targets.star_id.unique())
    # Star 0: its first quarter is a corrupt download. Star 1: one TCE with a period longer than
    # the data and no transit in it (one with a transit in it would be scored, flagged as a single
    # transit). Star 2: no light-curve files at all.
    corrupt = tmp_path / "corrupt_llc.fits"
    corrupt.write_bytes(b"SIMPLE  =                    T" + b"\0" * 100)
    first = index.index[index.star_id == stars[0]][0]
    index.loc[first, "path"] = str(corrupt)
    long_tce = targets.index[targets.star_id == stars[1]][0]
    targets.loc[long_tce, "period"] = 5000.0
    targets.loc[long_tce, "epoch"] += 2500.0
    index = index[index.star_id != stars[2]]
    targets.to_csv(tmp_path / "targets.csv", index=False)
    index.to_csv(tmp_path / "index.csv", index=False)
    counts = preprocess_shard(tmp_path / "targets.csv", tmp_path / "index.csv", cfg, "000",
                              tmp_path / "s.h5", tmp_path / "f.csv", progress=False)
    failures = pd.read_csv(tmp_path / "f.csv", dtype=str)
    by_star = failures.groupby("star_id").error.first()
    assert "corrupt_llc.fits is not a valid light-curve FITS" in by_star[stars[0]]
    assert "no cadence falls inside any transit" in by_star[stars[1]]
    assert "its period 5000 d is longer than" in by_star[stars[1]]
    assert "no light-curve files found" in by_star[stars[2]]
    shard = read_shard(tmp_path / "s.h5")
    expected_ok = set(targets.tce_id) - set(failures.tce_id)
    assert set(shard.meta.tce_id) == expected_ok and len(expected_ok) >= 3
    flagged = int((failures.stage == "flagged").sum())
    assert counts == {"tces": len(expected_ok), "failures": len(failures) - flagged, "flagged": flagged,
                      "stars_preprocessed": 6, "stars_kept": 0}
    assert np.isfinite(shard.views["global"]).all() and np.isfinite(shard.views["local"]).all()
    assert shard.views["local"].shape[1] == 31


def test_preprocessing_is_deterministic(small_survey, tmp_path, cfg):
    targets, index = _shard_inputs(small_survey, tmp_path, 3)
    targets.to_csv(tmp_path / "t.csv", index=False)
    index.to_csv(tmp_path / "i.csv", index=False)
    for name in ("a", "b"):
        preprocess_shard(tmp_path / "t.csv", tmp_path / "i.csv", cfg, "000", tmp_path / f"{name}.h5",
                         tmp_path / f"{name}.csv", progress=False)
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes()


def test_a_rerun_preprocesses_only_the_stars_whose_inputs_changed(small_survey, tmp_path, cfg):
    """The shard being replaced lends the rows of stars whose catalog rows, light-curve files,
    settings and code are unchanged; the result is byte-identical to building from scratch."""
    import os
    targets, index = _shard_inputs(small_survey, tmp_path, 5)
    stars = sorted(targets.star_id.unique())
    index.to_csv(tmp_path / "i.csv", index=False)

    def run(name, table, out="s"):
        table.to_csv(tmp_path / "t.csv", index=False)
        return preprocess_shard(tmp_path / "t.csv", tmp_path / "i.csv", cfg, "000", tmp_path / f"{out}.h5",
                                tmp_path / f"{out}.csv", progress=False)

    assert run("first", targets)["stars_preprocessed"] == 5
    assert run("same", targets) == {"tces": len(targets), "failures": 0, "flagged": 0, "stars_preprocessed": 0,
                                    "stars_kept": 5}
    # A catalog update: one star's epoch refined, one star gone, its neighbour's file replaced.
    changed = targets.copy()
    changed.loc[changed.star_id == stars[0], "epoch"] += 0.001
    changed = changed[changed.star_id != stars[1]]
    touched = index.path[index.star_id == stars[2]].iloc[0]
    os.utime(touched, ns=(os.stat(touched).st_atime_ns, os.stat(touched).st_mtime_ns + 10**9))
    counts = run("update", changed)
    assert (counts["stars_preprocessed"], counts["stars_kept"]) == (2, 2)
    assert run("fresh", changed, out="fresh")["stars_preprocessed"] == 4
    assert (tmp_path / "s.h5").read_bytes() == (tmp_path / "fresh.h5").read_bytes()
    # Other settings: nothing is kept.
    other = {**cfg, "detrend": {**cfg["detrend"], "knot_spacing": cfg["detrend"]["knot_spacing"] * 2}}
    assert preprocess_shard(tmp_path / "t.csv", tmp_path / "i.csv", other, "000", tmp_path / "s.h5",
                            tmp_path / "s.csv", progress=False)["stars_kept"] == 0


def test_a_rerun_keeps_the_flags_of_the_stars_it_keeps(small_survey, tmp_path, cfg):
    """A kept star's flagged TCE is still flagged: the manifest (which the report reads each TCE's
    flag from) lists it after a rerun as after a fresh build, and the flagged are not failures."""
    targets, index = _shard_inputs(small_survey, tmp_path, 4)
    stars = sorted(targets.star_id.unique())
    on_kept_star = targets[targets.star_id == stars[0]].depth.idxmax()
    targets.loc[on_kept_star, "depth"] *= 50          # a catalog depth its light curve does not show
    index.to_csv(tmp_path / "i.csv", index=False)

    def run(table, out):
        table.to_csv(tmp_path / "t.csv", index=False)
        return preprocess_shard(tmp_path / "t.csv", tmp_path / "i.csv", cfg, "000", tmp_path / f"{out}.h5",
                                tmp_path / f"{out}.csv", progress=False)

    def flagged(out):
        manifest = pd.read_csv(tmp_path / f"{out}.csv", dtype=str)
        return manifest[manifest.stage == "flagged"].sort_values("tce_id").reset_index(drop=True)

    first = run(targets, "s")
    assert targets.tce_id[on_kept_star] in set(flagged("s").tce_id)
    assert first["flagged"] == len(flagged("s")) and first["failures"] == 0
    changed = targets.copy()
    changed.loc[changed.star_id == stars[1], "epoch"] += 0.001
    assert run(changed, "s")["stars_kept"] == 3
    run(changed, "fresh")
    pd.testing.assert_frame_equal(flagged("s"), flagged("fresh"))


def test_a_shard_whose_targets_all_fail_is_an_empty_shard_with_its_manifest(small_survey, tmp_path, cfg):
    targets, index = _shard_inputs(small_survey, tmp_path, 2)
    targets.to_csv(tmp_path / "t.csv", index=False)
    index.iloc[:0].to_csv(tmp_path / "i.csv", index=False)
    counts = preprocess_shard(tmp_path / "t.csv", tmp_path / "i.csv", cfg, "000", tmp_path / "s.h5",
                              tmp_path / "f.csv", progress=False)
    assert counts == {"tces": 0, "failures": len(targets), "flagged": 0, "stars_preprocessed": 2, "stars_kept": 0}
    shard = read_shard(tmp_path / "s.h5")                   # complete, and empty
    assert len(shard) == 0 and shard.views["global"].shape == (0, cfg["views"]["global_bins"])
    failures = pd.read_csv(tmp_path / "f.csv", dtype=str)
    assert sorted(failures.tce_id) == sorted(targets.tce_id)
    assert failures.error.str.contains("no light-curve files found").all()
