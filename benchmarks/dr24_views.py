"""The real DR24 views of ../shared/data/views with each record's TCE recovered, in Astronet's
DR24 layout, for benchmarks that need more than the published records carry.

DART-Vetter's records hold only ``tic`` (the kepid), the label (1 = PC, 0 = AFP or NTP) and the two
views. They were written in the row order of the archive's DR24 table kept beside them
(``dr24_tce_full.csv``, Exoplanet Archive row order): each file ``train-f`` holds 720 PC records,
record j being PC row 360 f + j // 2 of that table (odd j the mirror image of the record before),
then AFP/NTP records, record 720 + j being AFP/NTP row 1213 f + j, with one AFP (KIC 9602595,
TCE 1, whose table row has zero errors) missing from the records. ``with_tce_ids`` writes a copy
of the records with ``kepid``, ``tce_plnt_num``, the DR24 disposition (PC, AFP, NTP) and the
ephemeris and depth from ``catalogs/q1_q17_dr24_tce.csv`` (whose epochs kept their decimal point)
added, and refuses to write it unless every record's kepid and label agree with the table row it
is given: the order is checked, not assumed. The copy lives under the benchmark's work folder,
never in the repository.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

DR24_DIR = "views/kepler_dr24_dartvetter"
PC_PER_FILE, NPC_PER_FILE = 360, 1213
MISSING = (9602595, 1)


def _table(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, comment="#")


def with_tce_ids(shared: Path, out_dir: Path) -> Path:
    """Write the DR24 records with their TCEs recovered into ``out_dir`` (once); returns it."""
    from exosieve.catalog.tfrecord import read_examples, write_tfrecord
    out_dir = Path(out_dir)
    done = out_dir / "complete"
    if done.exists():
        return out_dir
    source = Path(shared) / DR24_DIR
    order = _table(source / "dr24_tce_full.csv")
    tces = _table(Path(shared) / "catalogs" / "q1_q17_dr24_tce.csv").set_index(["kepid", "tce_plnt_num"])
    pcs = order[order.av_training_set == "PC"].reset_index(drop=True)
    npcs = order[order.av_training_set.isin(["AFP", "NTP"])]
    npcs = npcs[~((npcs.kepid == MISSING[0]) & (npcs.tce_plnt_num == MISSING[1]))].reset_index(drop=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = sorted(source.glob("train-*.tfrecord"), key=lambda p: int(p.stem.split("-")[1]))
    for f, path in enumerate(files):
        records = []
        for j, (offset, example) in enumerate(read_examples(path)):
            row = pcs.iloc[PC_PER_FILE * f + j // 2] if j < 2 * PC_PER_FILE else npcs.iloc[NPC_PER_FILE * f + j - 2 * PC_PER_FILE]
            kepid, label = int(example["tic"][0]), int(example["av_training_set"][0])
            if kepid != row.kepid or label != int(row.av_training_set == "PC"):
                raise RuntimeError(f"{path.name} byte {offset}: kepid {kepid} label {label}, but the table row it "
                                   f"should be is KIC {row.kepid} {row.av_training_set}; the record order is not "
                                   "the table's, so no TCE can be recovered")
            tce = tces.loc[(row.kepid, row.tce_plnt_num)]
            records.append({"kepid": [kepid], "tce_plnt_num": [int(row.tce_plnt_num)],
                            "av_training_set": [str(tce.av_training_set).encode()],
                            "tce_period": [float(tce.tce_period)], "tce_time0bk": [float(tce.tce_time0bk)],
                            "tce_duration": [float(tce.tce_duration)], "tce_depth": [float(tce.tce_depth)],
                            "global_view": example["global_view"], "local_view": example["local_view"]})
        write_tfrecord(out_dir / path.name, records)
    done.write_text("every record's kepid and label agree with its DR24 table row\n")
    return out_dir


if __name__ == "__main__":
    import sys
    here = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(here / "tests"))
    from conftest import SHARED_DATA
    target = with_tce_ids(SHARED_DATA, Path(sys.argv[1]) if len(sys.argv) > 1 else here / "results" / "dr24_tce_views")
    print(f"written: {target}")
