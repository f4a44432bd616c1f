"""Fuzz the catalog and preprocessing stages with 1,000 mutated real inputs, and the views source's
TFRecord reader with 1,000 mutated real view records, and print the tally.

Each case mutates one real Kepler FITS file or one real DR24 row of a subject star from
../shared/data (truncation, bit flips, wrong dtypes and units, NaN/inf, empty and huge values,
duplicated and unsafe ids, bad periods and durations) and runs it beside an untouched control star
through the workflow's own catalog, lightcurves and preprocess calls. Each TFRecord case mutates a
file of real DR24 view records (truncation, bit flips, a wrong CRC, a view of the wrong type or
length, NaN, a label that maps to nothing, a missing star id, bytes that are no Example, a repeated
record) and reads it with the views source's reader (see tests/fuzzing.py for what each case
checks). Exits 1 if any case crashed or lost a target.

With ``--ffi-cases N`` it runs N cases over the TESS FFI readers instead: one real TGLC file
(../shared/data/tess/ffi/tglc, matched to its star by header) of a subject star mutated per case
(truncation, bit flips, missing or mistyped columns, every cadence flagged by TESS_flags or
TGLC_flags, NaN/inf/huge fluxes, another time reference or flux unit), beside a control star, the
stars' rows from the real TOI table.

    python benchmarks/fuzz.py [--cases 1000] [--tfrecord-cases 1000] [--first-seed 0]
    python benchmarks/fuzz.py --ffi-cases 300
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from helpers import SHARED_DATA  # noqa: E402
from fuzzing import FFIFuzzer, Fuzzer, TFRecordFuzzer, tally  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--tfrecord-cases", type=int, default=1000)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--ffi-cases", type=int, default=0, help="run this many cases over the FFI readers (real TGLC "
                    "files) instead of the Kepler and TFRecord cases")
    args = ap.parse_args()
    if not (SHARED_DATA / "catalogs" / "q1_q17_dr24_tce.csv").exists():
        print(f"real data not found at {SHARED_DATA}; set EXOSIEVE_SHARED_DATA to its folder")
        return 2
    logging.disable(logging.CRITICAL)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        if args.ffi_cases:
            fuzzer = FFIFuzzer(SHARED_DATA, Path(tmp))
            outcomes = [fuzzer.case(s) for s in range(args.first_seed, args.first_seed + args.ffi_cases)]
        else:
            fuzzer = Fuzzer(SHARED_DATA, Path(tmp))
            outcomes = [fuzzer.case(s) for s in range(args.first_seed, args.first_seed + args.cases)]
        if not args.ffi_cases and args.tfrecord_cases and (SHARED_DATA / "views" / "kepler_dr24_dartvetter").is_dir():
            records = TFRecordFuzzer(SHARED_DATA, Path(tmp) / "tfrecord")
            outcomes += [records.case(s) for s in range(args.first_seed, args.first_seed + args.tfrecord_cases)]
        seconds = time.perf_counter() - start
    pd.set_option("display.width", 200)
    print(tally(outcomes).to_string(index=False))
    bad = [o for o in outcomes if not o.ok]
    for o in bad[:20]:
        print(f"seed {o.seed} ({o.kind} {o.mutation} {o.detail} on {o.subject}):", "; ".join(o.problems))
    print(f"\n{len(outcomes)} cases in {seconds:.0f} s: {len(outcomes) - len(bad)} passed every check, "
          f"{len(bad)} did not")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
