"""TFRecord views datasets: the record framing and Example decoding (no TensorFlow), plain or
gzip/zlib-compressed, the real DR24 and TESS view sets in ../shared/data/views read as they are,
and a fuzzer over real records."""

from __future__ import annotations

import gzip
import logging
import struct
import zlib

import numpy as np
import pytest

from exosieve.catalog.table import CatalogError
from exosieve.catalog.tfrecord import (ExampleError, TFRecordError, compression, encode_example, frame_record,
                                       iter_records, masked_crc, parse_example, read_examples, write_tfrecord)
from exosieve.catalog.views_dataset import ViewsDataset, views_paths
from exosieve.config import load
from helpers import SHARED_DATA

VIEWS = SHARED_DATA / "views"
needs_views = pytest.mark.skipif(not (VIEWS / "kepler_dr24_dartvetter").is_dir(),
                                 reason=f"real view datasets not found at {VIEWS} (set EXOSIEVE_SHARED_DATA)")
INTEGER_LABELS = {"positive": [1], "negative": [0]}


def catalog(path, **extra):
    return load({"catalog": {"source": "views", "path": str(path), **extra}})["catalog"]


def test_masked_crc_is_tensorflows():
    # TensorFlow's record of an empty Example (b"") and crc32c's published check value.
    import google_crc32c
    assert google_crc32c.value(b"123456789") == 0xE3069283
    assert frame_record(b"") == struct.pack("<Q", 0) + struct.pack("<I", masked_crc(struct.pack("<Q", 0))) + \
        struct.pack("<I", masked_crc(b""))
    assert masked_crc(b"") == 0xA282EAD8      # crc 0, rotated, plus TensorFlow's delta


def test_examples_round_trip_every_feature_kind(tmp_path):
    examples = [{"global_view": np.linspace(-1, 0, 201, dtype=np.float32), "kepid": [757450],
                 "tce_plnt_num": [-3], "big": [2**62], "av_training_set": [b"PC"], "name": "Kepler-75 b"},
                {"global_view": np.zeros(201, np.float32), "kepid": [1], "empty": np.zeros(0, np.float32)}]
    write_tfrecord(tmp_path / "a.tfrecord", examples)
    read = [ex for _, ex in read_examples(tmp_path / "a.tfrecord")]
    np.testing.assert_array_equal(read[0]["global_view"], examples[0]["global_view"])
    assert read[0]["global_view"].dtype == np.float32
    assert read[0]["kepid"].tolist() == [757450] and read[0]["tce_plnt_num"].tolist() == [-3]
    assert read[0]["big"].tolist() == [2**62]
    assert read[0]["av_training_set"] == [b"PC"] and read[0]["name"] == [b"Kepler-75 b"]
    assert read[1]["empty"].size == 0


def test_broken_framing_is_an_error_naming_the_file_and_byte_offset(tmp_path):
    raw = b"".join(frame_record(encode_example({"kepid": [i], "global_view": np.zeros(5, np.float32)}))
                   for i in range(3))
    second = len(raw) // 3
    path = tmp_path / "cut.tfrecord"
    path.write_bytes(raw[:-2])
    with pytest.raises(TFRecordError, match=rf"cut\.tfrecord: record at byte {2 * second} is truncated"):
        list(iter_records(path))
    flipped = bytearray(raw)
    flipped[second + 20] ^= 0x10
    path.write_bytes(bytes(flipped))
    with pytest.raises(TFRecordError, match=rf"record at byte {second}: the data's CRC does not match"):
        list(iter_records(path))
    flipped = bytearray(raw)
    flipped[second + 1] ^= 0x01
    path.write_bytes(bytes(flipped))
    with pytest.raises(TFRecordError, match=rf"record at byte {second}: the length's CRC does not match"):
        list(iter_records(path))
    # Nothing of a broken file is ever handed on: the records before the break are not either.
    with pytest.raises(CatalogError, match=r"cut\.tfrecord: record at byte \d+.*corrupt"):
        ViewsDataset(path, catalog(path, labels=INTEGER_LABELS))


def records_of(path):
    return [(offset, bytes(data)) for offset, data in iter_records(path)]


def test_gzip_and_zlib_tfrecords_read_exactly_as_plain_ones(tmp_path):
    """TensorFlow's GZIP and ZLIB writer options compress the whole framed stream: told from the
    content, read with the same checks, found in a folder beside plain files."""
    rng = np.random.default_rng(3)
    examples = [{"kepid": [1000 + i], "av_training_set": [i % 2], "global_view": rng.normal(size=21).astype(np.float32),
                 "local_view": rng.normal(size=11).astype(np.float32)} for i in range(40)]
    write_tfrecord(tmp_path / "plain.tfrecord", examples)
    raw = (tmp_path / "plain.tfrecord").read_bytes()
    (tmp_path / "train.tfrecord.gz").write_bytes(gzip.compress(raw))
    (tmp_path / "train-zlib").write_bytes(zlib.compress(raw))
    write_tfrecord(tmp_path / "written.gz", examples, compression="gzip")
    write_tfrecord(tmp_path / "written.zlib", examples, compression="zlib")
    plain = records_of(tmp_path / "plain.tfrecord")
    assert len(plain) == 40 and compression(tmp_path / "plain.tfrecord") == ""
    for name, kind in (("train.tfrecord.gz", "gzip"), ("train-zlib", "zlib"), ("written.gz", "gzip"),
                       ("written.zlib", "zlib")):
        assert compression(tmp_path / name) == kind
        assert records_of(tmp_path / name) == plain, name
    (tmp_path / "notes.csv.gz").write_bytes(gzip.compress(b"kepid\n1\n"))     # gzip, but no TFRecord: passed over
    assert [p.name for p in views_paths(tmp_path)] == ["plain.tfrecord", "train-zlib", "train.tfrecord.gz",
                                                       "written.gz", "written.zlib"]
    cat = catalog(tmp_path / "train.tfrecord.gz", labels=INTEGER_LABELS)
    a = ViewsDataset(tmp_path / "plain.tfrecord", cat).data
    b = ViewsDataset(tmp_path / "train.tfrecord.gz", cat).data
    assert a.meta.equals(b.meta) and all(np.array_equal(a.views[v], b.views[v]) for v in a.views)


def test_a_plain_file_that_starts_like_gzip_or_zlib_is_read_as_plain(tmp_path):
    """A plain file's first 8 bytes are a length: 0x8b1f reads as the gzip magic, 0x0178 as a zlib
    header. A sound plain header wins."""
    for size, head in ((0x8B1F, b"\x1f\x8b"), (0x0178, b"\x78\x01")):
        path = tmp_path / f"{size}.tfrecord"
        path.write_bytes(frame_record(bytes(size)) + frame_record(b"next"))
        assert path.read_bytes()[:2] == head and compression(path) == ""
        assert [len(d) for _, d in records_of(path)] == [size, 4]


def test_a_cut_or_corrupt_compressed_file_is_an_error_naming_it(tmp_path):
    raw = b"".join(frame_record(encode_example({"kepid": [i], "global_view": np.arange(50, dtype=np.float32)}))
                   for i in range(30))
    for name, packed in (("cut.tfrecord.gz", gzip.compress(raw)), ("cut.zlib", zlib.compress(raw))):
        path = tmp_path / name
        path.write_bytes(packed[: len(packed) // 2])
        kind = compression(path)
        with pytest.raises(TFRecordError, match=rf"{name.replace('.', '[.]')} \({kind}-compressed; byte offsets in "
                                                rf"its decompressed stream\): the {kind} stream is cut short"):
            list(iter_records(path))
        with pytest.raises(CatalogError, match=rf"{name.replace('.', '[.]')}.*cut short.*corrupt"):
            ViewsDataset(path, catalog(path, labels=INTEGER_LABELS))
    # A record whose bytes changed inside an intact gzip stream: the same CRC error, at its offset.
    second = len(raw) // 30
    flipped = bytearray(raw)
    flipped[second + 20] ^= 0x10
    (tmp_path / "flipped.gz").write_bytes(gzip.compress(bytes(flipped)))
    with pytest.raises(TFRecordError, match=rf"flipped[.]gz \(gzip.*\): record at byte {second}: the data's CRC"):
        list(iter_records(tmp_path / "flipped.gz"))


def test_a_record_that_is_no_example_is_an_example_error():
    with pytest.raises(ExampleError):
        parse_example(b"\x0a\xff\xff\xff\x0f")            # a field claiming 4 GB
    with pytest.raises(ExampleError):
        parse_example(b"\x0f")                             # wire type 7


def test_bad_records_are_rejected_one_by_one_and_repeats_dropped(tmp_path):
    rng = np.random.default_rng(0)
    good = [{"kepid": [1000 + i], "av_training_set": [i % 2], "global_view": rng.normal(size=21).astype(np.float32),
             "local_view": rng.normal(size=11).astype(np.float32)} for i in range(8)]
    mirror = {**good[1], "global_view": good[1]["global_view"][::-1].copy(),
              "local_view": good[1]["local_view"][::-1].copy()}
    relabelled_copy = {**good[2], "av_training_set": [1]}        # same views, another label: no repeat
    bad = [{**good[3], "global_view": good[3]["global_view"][:-1]},
           {**good[4], "av_training_set": [7]},
           {**good[5], "local_view": np.full(11, np.nan, np.float32)},
           {**good[6], "global_view": np.arange(21)}]
    path = tmp_path / "v.tfrecord"
    write_tfrecord(path, [good[0], good[1], mirror, good[2], relabelled_copy, good[7], *bad, dict(good[0])])
    dataset = ViewsDataset(path, catalog(path, labels=INTEGER_LABELS))
    assert dataset.data.meta.tce_id.tolist() == ["1000_1", "1001_1", "1002_1", "1002_2", "1007_1"]
    assert (dataset.n_records, dataset.n_repeats, dataset.n_mirrors, dataset.n_rejected) == (11, 2, 1, 4)
    errors = dataset.rejected.set_index("stage").error
    assert errors["repeat"].str.contains("repeats 1001_1 as its mirror image").sum() == 1
    assert errors["repeat"].str.contains("repeats 1000_1 exactly").sum() == 1
    reasons = " | ".join(errors["catalog"])
    for reason in ("global_view has shape (20,), the dataset's is (21,)", "label '7' (av_training_set) maps to none",
                   "local_view holds NaN", "global_view is integers of shape (21,), not floats"):
        assert reason in reasons
    assert all("record at v.tfrecord byte" in e for e in errors)


def test_labels_that_map_to_nothing_say_how_to_map_them(tmp_path):
    path = tmp_path / "v.tfrecord"
    write_tfrecord(path, [{"kepid": [1], "av_training_set": [1], "global_view": np.zeros(5, np.float32),
                           "local_view": np.zeros(3, np.float32)}])
    with pytest.raises(CatalogError, match=r"none of its 1 records is usable.*e\.g\. \{positive: \[1\], negative: \[0\]\}"):
        ViewsDataset(path, catalog(path))


def test_folders_and_globs_name_every_tfrecord_file_in_natural_order(tmp_path):
    for i in (10, 2, 1):
        write_tfrecord(tmp_path / f"train-{i}", [{"kepid": [i], "av_training_set": [1],
                                                   "global_view": np.full(5, -i, np.float32),
                                                   "local_view": np.zeros(3, np.float32)}])
    (tmp_path / "README.csv").write_text("kepid\n1\n")
    assert [p.name for p in views_paths(tmp_path)] == ["train-1", "train-2", "train-10"]
    assert [p.name for p in views_paths(tmp_path / "train-1*")] == ["train-1", "train-10"]
    with pytest.raises(CatalogError, match="matches no file"):
        views_paths(tmp_path / "test-*")


@needs_views
def test_the_real_dr24_views_read_as_they_are_with_every_mirror_dropped():
    path = VIEWS / "kepler_dr24_dartvetter"
    dataset = ViewsDataset(path, catalog(path, labels=INTEGER_LABELS, keep_damaged=True))
    # 19,336 records: 15,736 TCEs on 9,864 stars, and a mirror image of each of the 3,600 PCs.
    assert (dataset.n_records, len(dataset.data), dataset.n_mirrors, dataset.n_rejected) == (19336, 15736, 3600, 0)
    assert dataset.data.meta.star_id.nunique() == 9864
    assert dataset.data.meta.label.value_counts().to_dict() == {0: 12136, 1: 3600}
    assert dataset.data.views["global"].shape == (15736, 201) and dataset.data.views["local"].shape == (15736, 61)
    # Kept on request, but found: the records carry no depth, so every one counts as 'unknown'.
    assert dataset.n_damaged == 470 and dataset.damaged_by_band["unknown"] == 470
    assert dataset.damage.disposition.value_counts().to_dict() == {"0": 414, "1": 56}


@needs_views
def test_real_dr24_records_read_alike_gzip_and_zlib_compressed(tmp_path):
    source = VIEWS / "kepler_dr24_dartvetter" / "train-0.tfrecord"
    plain = records_of(source)
    raw = source.read_bytes()
    (tmp_path / "train-0.tfrecord.gz").write_bytes(gzip.compress(raw))
    (tmp_path / "train-0.zlib").write_bytes(zlib.compress(raw))
    assert len(plain) == 1933
    assert records_of(tmp_path / "train-0.tfrecord.gz") == plain and records_of(tmp_path / "train-0.zlib") == plain


@needs_views
def test_the_real_tess_views_take_labels_from_the_toi_table():
    path = VIEWS / "tess_toi_hultstrand"
    dataset = ViewsDataset(path, catalog(path, labels_path=str(SHARED_DATA / "catalogs" / "toi.csv"),
                                         views_features=["SN"], keep_damaged=True))
    meta = dataset.data.meta
    assert dataset.n_records == 3012 and meta.star_id.nunique() == 1506 and dataset.n_repeats == 0
    # Its transits are bumps (its views are flipped): read upside down, few look damaged.
    assert dataset.n_damaged == 31 and dataset.damage.reason.str.startswith("(views read upside down").all()
    # Every TOI twice (its author's augmentation: two different views), labels from today's TOI table.
    counts = meta.disposition.value_counts().to_dict()
    assert counts["PC"] == 1074 and counts["AFP"] + counts["NTP"] == 790
    assert counts.get("UNK", 0) <= 60                       # no TOI of that TIC matches at all
    assert dataset.data.scalar_names == ["SN"] and np.isfinite(dataset.data.scalars).all()


@needs_views
def test_fuzzed_real_records_never_crash_and_every_bad_record_is_named(tmp_path):
    import sys
    from helpers import REPO
    sys.path.insert(0, str(REPO / "tests"))
    from fuzzing import TFRecordFuzzer, tally
    logging.disable(logging.CRITICAL)
    try:
        fuzzer = TFRecordFuzzer(SHARED_DATA, tmp_path)
        outcomes = [fuzzer.case(seed) for seed in range(300)]
    finally:
        logging.disable(logging.NOTSET)
    problems = [f"seed {o.seed} {o.mutation}: {p}" for o in outcomes for p in o.problems]
    assert not problems, "\n".join(problems[:20])
    table = tally(outcomes)
    assert set(table.mutation) == set(fuzzer.mutations)
    assert {"refused", "rejected", "repeat dropped"} <= set(table.result)


@needs_views
def test_the_tfrecord_fuzzer_sees_a_record_read_wrongly(tmp_path, monkeypatch):
    """The checks can fail: a reader that loses a record's bad value is reported."""
    import sys
    from helpers import REPO
    sys.path.insert(0, str(REPO / "tests"))
    from fuzzing import TFRecordFuzzer
    import exosieve.catalog.views_dataset as vd
    fuzzer = TFRecordFuzzer(SHARED_DATA, tmp_path)
    monkeypatch.setattr(vd.ViewsDataset, "_views", staticmethod(
        lambda records, keys, reject: {k: np.nan_to_num(np.array([np.resize(np.asarray(v, np.float32), 61 if k == "local" else 201)
                                                                  for v in records.values[f]], np.float32))
                                       for k, f in keys.items()}))
    seed = next(s for s in range(200) if sorted(fuzzer.mutations)[int(np.random.default_rng(s).integers(0, 11))]
                == "view_not_finite")
    assert any("was not rejected" in p for p in fuzzer.case(seed).problems)
