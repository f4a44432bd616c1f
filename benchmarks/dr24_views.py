"""The real DR24 views of ../shared/data/views with each record's TCE recovered, in Astronet's
DR24 layout, for benchmarks that need more than the published records carry.

DART-Vetter's records hold only ``tic`` (the kepid), the label (1 = PC, 0 = AFP or NTP) and the two
views. They were written in the row order of the archive's DR24 table kept beside them
(``dr24_tce_full.csv``, Exoplanet Archive row order), so each record's TCE can be found from its
place in its file. ``with_tce_ids`` (tests/helpers.py, where tests and other benchmarks take it
from too; its docstring says how records map to rows) writes a copy of the records with
``kepid``, ``tce_plnt_num``, the DR24 disposition (PC, AFP, NTP) and the ephemeris and depth from
``catalogs/q1_q17_dr24_tce.csv`` added, and refuses to write it unless every record's kepid and
label agree with the table row it is given: the order is checked, not assumed. The copy lives
under the benchmark's work folder, never in the repository.

    python benchmarks/dr24_views.py [OUT_DIR]     # default results/dr24_tce_views
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from helpers import SHARED_DATA, with_tce_ids  # noqa: E402

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", nargs="?", type=Path, default=REPO / "results" / "dr24_tce_views",
                    help="where the copy goes (default results/dr24_tce_views)")
    target = with_tce_ids(SHARED_DATA, ap.parse_args().out)
    print(f"written: {target}")
