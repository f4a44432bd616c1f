import os
from pathlib import Path
import subprocess
import sys

import h5py
import numpy as np
import pandas as pd
import pytest

from exosieve.shards import (SCHEMA_VERSION, ShardError, assign_shards, read_shard, read_shard_list, read_shards,
                             shard_of, write_shard, write_shard_list)
from helpers import shard_data


def test_round_trip(tmp_path):
    d = shard_data()
    write_shard(tmp_path / "s.h5", d, {"config_hash": "abc", "source": "test", "shard": "000"})
    back = read_shard(tmp_path / "s.h5")
    pd.testing.assert_frame_equal(back.meta, d.meta, check_dtype=False, check_like=True)
    np.testing.assert_array_equal(back.views["local"], d.views["local"])
    np.testing.assert_array_equal(back.scalars, d.scalars)
    assert back.scalar_names == d.scalar_names
    assert back.attrs["config_hash"] == "abc" and back.attrs["schema_version"] == SCHEMA_VERSION == 3


def test_same_inputs_give_byte_identical_shards(tmp_path):
    write_shard(tmp_path / "a.h5", shard_data(), {"config_hash": "x"})
    write_shard(tmp_path / "b.h5", shard_data(), {"config_hash": "x"})
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes()


def test_truncated_shard_is_refused(tmp_path):
    write_shard(tmp_path / "s.h5", shard_data(), {"config_hash": "abc"})
    raw = (tmp_path / "s.h5").read_bytes()
    (tmp_path / "t.h5").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ShardError, match="t.h5 is corrupt or truncated"):
        read_shard(tmp_path / "t.h5")


def test_shard_without_complete_mark_is_refused(tmp_path):
    write_shard(tmp_path / "s.h5", shard_data(), {"config_hash": "abc"})
    with h5py.File(tmp_path / "s.h5", "a") as h5:
        del h5.attrs["complete"]
    with pytest.raises(ShardError, match="incomplete"):
        read_shard(tmp_path / "s.h5")


def test_shards_of_different_settings_are_not_mixed(tmp_path):
    write_shard(tmp_path / "a.h5", shard_data(), {"config_hash": "one"})
    write_shard(tmp_path / "b.h5", shard_data(), {"config_hash": "two"})
    with pytest.raises(ShardError, match="different preprocessing settings"):
        read_shards([tmp_path / "a.h5", tmp_path / "b.h5"])


def test_the_shard_list_names_each_shard_with_its_size_and_refuses_an_incomplete_one(tmp_path):
    from exosieve import cluster
    paths = [tmp_path / "000.h5", tmp_path / "001.h5"]
    write_shard(paths[0], shard_data(5), {})
    write_shard(paths[1], shard_data(3, seed=1), {})
    table = write_shard_list([str(p) for p in paths], tmp_path / "shard_list.csv")
    assert list(table.n_tces) == [5, 3]
    assert read_shard_list(tmp_path / "shard_list.csv") == [str(p) for p in paths]
    assert cluster.shards_mb(tmp_path / "shard_list.csv") == sum(p.stat().st_size for p in paths) / 2**20
    with h5py.File(paths[1], "a") as h5:
        del h5.attrs["complete"]
    with pytest.raises(ShardError, match="001.h5 is incomplete"):
        write_shard_list([str(p) for p in paths], tmp_path / "other.csv")
    assert not (tmp_path / "other.csv").exists()


def test_failed_write_leaves_no_file(tmp_path):
    bad = shard_data()
    bad.scalars = np.zeros((2, 3), np.float32)  # wrong row count -> write fails
    with pytest.raises(Exception):
        write_shard(tmp_path / "s.h5", bad, {})
    assert list(tmp_path.iterdir()) == []


def test_stable_hash_is_the_same_in_another_process():
    ids = [str(i) for i in range(757450, 757470)]
    here = [shard_of(i, 16) for i in ids]
    code = f"from exosieve.shards import shard_of; print([shard_of(i, 16) for i in {ids!r}])"
    env = dict(os.environ, PYTHONHASHSEED="12345")
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert there.stdout.strip() == str(here)
    assert len(set(here)) > 5  # spreads stars out


def _csv(df: pd.DataFrame, path) -> str:
    df.to_csv(path, index=False)
    return str(path)


def test_assignment_rewrites_only_changed_shards(tmp_path):
    tces = pd.DataFrame({"tce_id": [f"{s}_1" for s in range(100, 160)], "star_id": [str(s) for s in range(100, 160)],
                         "tce_num": 1, "period": 3.0})
    m1 = assign_shards(_csv(tces, tmp_path / "t1.csv"), 8, tmp_path / "out")
    assert m1.rewritten.all() and m1.n_tces.sum() == 60
    mtimes = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "out").iterdir()}
    new = pd.concat([tces, pd.DataFrame({"tce_id": ["999_1"], "star_id": ["999"], "tce_num": [1], "period": [5.0]})])
    m2 = assign_shards(_csv(new, tmp_path / "t2.csv"), 8, tmp_path / "out")
    changed = m2[m2.rewritten].shard.tolist()
    assert changed == [f"{shard_of('999', 8):03d}"]
    for p in (tmp_path / "out").iterdir():
        if p.stem not in changed:
            assert p.stat().st_mtime_ns == mtimes[p.name]


def test_each_shard_holds_exactly_its_stars_rows_in_star_order(tmp_path):
    rng = np.random.default_rng(3)
    stars = rng.integers(1, 10**8, 300).astype(str)
    tces = pd.DataFrame({"star_id": np.repeat(stars, 2), "tce_num": np.tile([2, 1], 300)})
    tces["tce_id"] = tces.star_id + "_" + tces.tce_num.astype(str)
    manifest = assign_shards(_csv(tces.sample(frac=1, random_state=0), tmp_path / "t.csv"), 16, tmp_path)
    assert manifest.n_tces.sum() == 600 and len(manifest) == 16
    for name in manifest.shard:
        part = pd.read_csv(tmp_path / f"{name}.csv", dtype={"star_id": str})
        assert all(shard_of(s, 16) == int(name) for s in part.star_id)
        expected = tces[tces.star_id.map(lambda s: shard_of(s, 16)) == int(name)].sort_values(["star_id", "tce_num"])
        assert part.tce_id.tolist() == expected.tce_id.tolist()


def test_auto_shards_are_a_power_of_two_of_a_few_hundred_stars_each(tmp_path):
    from exosieve.shards import auto_shard_count
    assert ([auto_shard_count(n) for n in (1, 400, 600, 1000, 1300, 5000, 12_669, 200_000)]
            == [1, 1, 2, 2, 4, 16, 32, 512])
    for n in (1300, 34_032, 200_000):
        assert 200 <= n / auto_shard_count(n) <= 570
    # A catalog update of a few percent keeps the count, so only the changed shards rerun.
    assert auto_shard_count(200_000) == auto_shard_count(206_000) == auto_shard_count(194_000)
    tces = pd.DataFrame({"tce_id": [f"{s}_1" for s in range(1300)], "star_id": [str(s) for s in range(1300)],
                         "tce_num": 1})
    assert len(assign_shards(_csv(tces, tmp_path / "t.csv"), "auto", tmp_path)) == 4


def test_cluster_requests_grow_with_the_work_and_never_drop_below_the_config(tmp_path):
    from exosieve import cluster
    targets = tmp_path / "000.csv"
    targets.write_text("tce_id,star_id\n" + "".join(f"{i}_1,{i}\n" for i in range(900)))
    assert cluster.count_rows(targets) == 900
    assert cluster.shard_job_runtime(targets, 60, download=False) == 150      # 900 x 10 s
    assert cluster.shard_job_runtime(targets, 60, download=True) == 300
    targets.write_text("tce_id,star_id\n1_1,1\n")
    assert cluster.shard_job_runtime(targets, 60, download=True) == 60        # the floor
    targets.write_text("tce_id,star_id\n1_1,1\n2_1,2")                        # no final line break
    assert cluster.count_rows(targets) == 2
    assert cluster.shards_mb(tmp_path / "shard_list.csv") == 0.0     # not built yet (a dry run)
    # Training holds at most views_in_memory_mb of views (it streams the rest) plus ~200 B a TCE.
    assert cluster.train_mem_mb(10, 1000, 4000, 1024) == 4000
    assert cluster.train_mem_mb(500, 1000, 1000, 1024) == 1500
    assert cluster.train_mem_mb(20_000, 250_000, 1000, 1024) == 2071
    assert cluster.train_runtime(250_000, 40, 60) == 1667


def test_a_change_to_the_preprocessing_code_changes_the_hash_shards_record(tmp_path):
    """Shards record the hash of exosieve.preprocess's import closure: editing any module it runs
    (views.py, the reader, a helper imported inside a function) rebuilds them; editing a module
    it never imports (the report) does not."""
    import shutil

    import exosieve
    from exosieve.code_version import closure
    from exosieve.config import load, preprocessing_code_hash
    from exosieve.shards import provenance
    package = Path(exosieve.__file__).parent
    copy = tmp_path / "exosieve"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert preprocessing_code_hash(copy) == preprocessing_code_hash()
    runs = {str(p.relative_to(copy)) for p in closure(["exosieve.preprocess"], copy)}
    assert {"lightcurves/reader.py", "detrend.py", "views.py", "features.py", "preprocess.py", "shards.py",
            "catalog/ephemeris.py", "utils.py"} <= runs
    assert not {"report.py", "training.py", "models.py", "catalog/tfrecord.py"} & runs
    for name in sorted(runs) + ["report.py"]:
        edited = tmp_path / "edited"
        shutil.rmtree(edited, ignore_errors=True)
        shutil.copytree(copy, edited)
        (edited / name).write_text((edited / name).read_text() + "\n# a change\n")
        assert (preprocessing_code_hash(edited) != preprocessing_code_hash()) == (name in runs), name
    assert provenance(load({}), "000")["code_hash"] == preprocessing_code_hash()


def test_a_shard_set_reads_any_rows_in_any_order_as_a_full_read_does(tmp_path):
    """Training streams batches of random rows (repeats included, as balanced batches draw them)
    through ShardSet.views_of; evaluation reads chunks. Both must give exactly the full read's rows."""
    from exosieve.shards import ShardSet
    paths = []
    for k, n in enumerate([7, 0, 12, 3]):
        d = shard_data(n, seed=k)
        d.meta["tce_id"] = [f"{k}{i:02d}_1" for i in range(n)][::-1]      # out of id order within the file
        d.meta["star_id"] = [t[:-2] for t in d.meta["tce_id"]]
        paths.append(tmp_path / f"{k}.h5")
        write_shard(paths[-1], d, {"config_hash": "x"})
    with ShardSet(paths) as shards:
        full = shards.read()
        assert list(full.meta.tce_id) == sorted(full.meta.tce_id) and len(full) == 22
        rng = np.random.default_rng(1)
        for _ in range(20):
            idx = rng.integers(0, 22, rng.integers(1, 40))
            got = shards.views_of(idx)
            for name in ("global", "local"):
                np.testing.assert_array_equal(got[name], full.views[name][idx])
        pieces = [p for _, p in shards.chunks(np.arange(22), size=5)]
        assert [len(p) for p in pieces] == [5, 5, 5, 5, 2]
        np.testing.assert_array_equal(np.concatenate([p.views["global"] for p in pieces]), full.views["global"])
        assert shards.bytes_per_tce(["local"]) == 31 * 4
    # read_shards gives the same rows as the set.
    np.testing.assert_array_equal(read_shards(paths).scalars, full.scalars)


def test_target_lists_leave_the_labels_out_as_text_whatever_the_quoting(tmp_path):
    """Relabelling must not change a target list: disposition and label are left out, every other
    field copied as written (a quoted field with a comma included, before or after them)."""
    from exosieve.shards import _without_columns
    header = "tce_id,star_id,note,disposition,label,teff\n"
    lines = ['1_1,1,plain,PC,1,5000\n', '2_1,2,"a, b",AFP,0,5100\n', '3_1,3,x,NTP,0,"5,2"\n']
    head, out = _without_columns(header, lines, ("disposition", "label"))
    assert head == "tce_id,star_id,note,teff\n"
    assert out == ['1_1,1,plain,5000\n', '2_1,2,"a, b",5100\n', '3_1,3,x,"5,2"\n']
    fast = _without_columns(header, [lines[0], lines[2]], ("disposition", "label"))[1]
    assert fast == [out[0], out[2]]
