import numpy as np
import pandas as pd
import pytest

from exosieve.catalog import CatalogError
from exosieve.catalog.kepler import load_dr24, normalize_dr24
from exosieve.catalog.table import write_normalized
from helpers import DR24, needs_shared_data

LABELS = {"positive": ["PC"], "negative": ["AFP", "NTP"]}


def dr24_frame(**overrides):
    df = pd.DataFrame({
        "kepid": [757450, 892772, 1162345], "tce_plnt_num": [1, 1, 2],
        "tce_period": [8.88492, 5.09, 0.83185], "tce_time0bk": [134.452, 135.0, 132.227],
        "tce_duration": [2.078, 3.0, 2.392], "tce_depth": [16310.0, 246.5, 6.09],
        "av_training_set": ["PC", "AFP", "UNK"],
    })
    for k, v in overrides.items():
        df[k] = v
    return df


def test_normalizes_units_ids_and_labels():
    tces, rejected = normalize_dr24(dr24_frame(), LABELS)
    assert rejected.empty
    row = tces.set_index("tce_id").loc["757450_1"]
    assert row.duration == pytest.approx(2.078 / 24)  # hours -> days
    assert row.label == 1 and row.star_id == "757450"
    assert tces.set_index("tce_id").loc["1162345_2"].label == -1  # UNK is unlabelled
    assert tces.set_index("tce_id").loc["892772_1"].label == 0


def test_missing_column_is_refused_by_name():
    with pytest.raises(CatalogError, match="missing required column\\(s\\) tce_period"):
        normalize_dr24(dr24_frame().drop(columns=["tce_period"]), LABELS)


def test_duplicates_are_rows_in_rejected_never_a_lost_catalog():
    """An identical repeat is dropped (and said); rows that share an id but differ are all
    rejected, since nothing says which is right; the other TCEs go on."""
    df = dr24_frame(kepid=[757450, 757450, 1162345], tce_plnt_num=[1, 1, 2])
    tces, rejected = normalize_dr24(df, LABELS)
    assert list(tces.tce_id) == ["1162345_2"]
    assert list(rejected.tce_id) == ["757450_1", "757450_1"]
    assert rejected.error.str.contains("appears in 2 rows with different values").all()
    same = pd.concat([dr24_frame(), dr24_frame().iloc[[0]]], ignore_index=True)
    tces, rejected = normalize_dr24(same, LABELS)
    assert list(tces.tce_id) == ["1162345_2", "757450_1", "892772_1"]
    assert list(rejected.error) == ["DR24 TCE table: repeats an earlier identical row"]


def test_each_odd_row_is_rejected_naming_its_value():
    odd = dr24_frame(kepid=["abc", 892772, 1162345], tce_plnt_num=[1, np.nan, 2], tce_depth=[1.0, 2.0, "deep"])
    tces, rejected = normalize_dr24(pd.concat([odd, dr24_frame().iloc[[0]]], ignore_index=True), LABELS)
    assert list(tces.tce_id) == ["757450_1"]
    reasons = dict(zip(rejected.tce_id, rejected.error))
    assert "star id 'abc' is not a KIC or TIC number" in reasons["abc_1"]
    assert "TCE number (tce_plnt_num) is missing" in reasons["892772_-1"]
    assert "depth is missing or not a number ('deep')" in reasons["1162345_2"]


def test_a_table_with_no_usable_row_is_one_clear_error(tmp_path):
    header_only = tmp_path / "empty.csv"
    header_only.write_text(",".join(dr24_frame().columns) + "\n")
    with pytest.raises(CatalogError, match=r"empty.csv: the table has no TCE rows"):
        load_dr24(header_only, LABELS)
    with pytest.raises(CatalogError, match=r"none of its 3 rows is a usable TCE \(3 x period is not positive.*"
                                           r"catalog.columns.*757450_1"):
        normalize_dr24(dr24_frame(tce_period=[-1.0, -2.0, -3.0]), LABELS)


def test_bad_rows_are_rejected_with_reasons_and_the_rest_kept():
    df = dr24_frame(tce_period=[np.nan, 0.05, 0.83185])  # NaN period; duration 3 h > 0.05 d
    tces, rejected = normalize_dr24(df, LABELS)
    assert list(tces.tce_id) == ["1162345_2"]
    reasons = rejected.set_index("tce_id")["error"]
    assert "period is missing" in reasons["757450_1"]
    assert "duration is not shorter than the period" in reasons["892772_1"]


def test_unsafe_star_id_is_rejected():
    from exosieve.catalog.table import STELLAR_COLUMNS, finalize
    df = normalize_dr24(dr24_frame(), LABELS)[0].drop(columns=["label", *STELLAR_COLUMNS])
    df.loc[0, "star_id"] = "../etc"
    good, rejected = finalize(df, None, LABELS, "test")
    assert "../etc" not in set(good.star_id)
    assert "not a valid identifier" in rejected.error.iloc[0]


@needs_shared_data
def test_reads_the_real_dr24_table_with_its_comment_header():
    tces, rejected = load_dr24(DR24, LABELS)
    assert len(tces) + len(rejected) == 20367
    assert tces.star_id.nunique() == 12669
    counts = tces.disposition.value_counts()
    assert counts["PC"] == 3600 and counts["AFP"] == 9596 and counts["NTP"] == 2541
    assert (tces.label == 1).sum() == 3600
    row = tces.set_index("tce_id").loc["757450_1"]
    assert row.period == pytest.approx(8.88492) and row.depth == pytest.approx(16310)


def _pandas_csv(df: pd.DataFrame) -> str:
    """What write_normalized wrote before it formatted columns itself: line breaks in text made
    spaces, then pandas' to_csv."""
    df = df.copy()
    for col in df.select_dtypes(include="object").columns:
        df[col] = df[col].where(df[col].isna(), df[col].astype(str).str.replace(r"[\r\n]+", " ", regex=True))
    return df.to_csv(index=False, float_format="%.10g")


def test_the_catalog_is_written_as_pandas_writes_it_one_line_per_row(tmp_path):
    df = pd.DataFrame({
        "tce_id": ["1_1", "2_1", "3_1", "4_1", "5_1"],
        "star_id": ["1", "2", "3", "4", "5"],
        "tce_num": np.array([1, 1, 1, 1, 1]),
        "period": [8.884920000001, np.nan, np.inf, -0.0, 1e-5],
        "epoch": [134.45212345678901, 1e12, 123456789012.5, -3.25, 0.1 + 0.2],
        "disposition": ['PC, "maybe"', "line\r\nbreak\n\nhere", None, np.nan, "AFP"],
        "label": np.array([1, 0, -1, -1, 0], np.int8),
        "teff": np.nan,
    })
    write_normalized(df, tmp_path / "tces.csv")
    text = (tmp_path / "tces.csv").read_text()
    assert text == _pandas_csv(df)
    assert len(text.splitlines()) == len(df) + 1
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "tces.csv", dtype={"tce_id": str, "star_id": str}),
                                  pd.read_csv(__import__("io").StringIO(_pandas_csv(df)),
                                              dtype={"tce_id": str, "star_id": str}))


@needs_shared_data
def test_the_real_dr24_catalog_is_written_byte_for_byte_as_pandas_writes_it(tmp_path):
    tces, _ = load_dr24(DR24, LABELS)
    write_normalized(tces, tmp_path / "tces.csv")
    assert (tmp_path / "tces.csv").read_text() == _pandas_csv(tces)


def test_catalog_targets_restrict_any_source(tmp_path, small_survey):
    from exosieve.catalog.sources import build_catalog, target_ids
    from exosieve.catalog.table import CatalogError
    from exosieve.config import load
    files = small_survey["files"]
    cfg = load({"catalog": {"source": "local", "path": str(files["catalog"]),
                            "lightcurve_dir": str(small_survey["lightcurves"])}})
    everything, _ = build_catalog(cfg, {"catalog": files["catalog"]})
    two = sorted(everything.star_id.unique())[:2]
    listed = tmp_path / "targets.txt"
    listed.write_text(f"# my stars\n{two[0]}\n\n{int(two[1]):09d}  # zero-padded KIC\n")
    assert target_ids(str(listed)) == set(two)
    for targets in (two, [int(t) for t in two], str(listed)):
        cfg["catalog"]["targets"] = targets
        tces, _ = build_catalog(cfg, {"catalog": files["catalog"]})
        assert set(tces.star_id) == set(two)
        assert len(tces) == everything.star_id.isin(two).sum()
    cfg["catalog"]["targets"] = ["999999999"]
    with pytest.raises(CatalogError, match="none of the 1 catalog.targets"):
        build_catalog(cfg, {"catalog": files["catalog"]})
