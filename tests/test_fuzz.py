"""Fuzzing the catalog and preprocessing stages with mutated real inputs (tests/fuzzing.py):
a hundred seeded cases here, 1,000 in benchmarks/fuzz.py; and the FFI readers with mutated real
TGLC files (40 cases here, benchmarks/fuzz.py --ffi-cases 300)."""

from __future__ import annotations

import logging

import pytest

from helpers import SHARED_DATA, needs_shared_data

pytestmark = [needs_shared_data, pytest.mark.slow]

CASES = 70     # seeds 0-69 reach every mutation (the first 60 miss one)


@pytest.fixture(scope="module")
def fuzzer(tmp_path_factory):
    from fuzzing import Fuzzer
    return Fuzzer(SHARED_DATA, tmp_path_factory.mktemp("fuzz"))


def test_mutated_real_inputs_never_crash_and_every_bad_target_is_recorded(fuzzer, caplog):
    from fuzzing import tally
    caplog.set_level(logging.CRITICAL)    # hundreds of expected per-target warnings
    outcomes = [fuzzer.case(seed) for seed in range(CASES)]
    problems = [f"seed {o.seed} ({o.kind} {o.mutation} {o.detail} on {o.subject}): {p}"
                for o in outcomes for p in o.problems]
    assert not problems, "\n".join(problems[:20])
    table = tally(outcomes)
    # The fuzzer is not vacuous: every mutation ran, and they reached every outcome.
    assert set(table.mutation) == set(fuzzer.fits) | set(fuzzer.row)
    assert {"processed", "partly processed", "rejected", "failed"} <= set(table.result)


# Seeds that once failed, each run on its own beside the seeded sample.
REGRESSIONS = {
    # 31 bits flipped in one of KIC 892772's files damage a column name; astropy raised an
    # AssertionError, which escaped the per-file guard and cost the star its other quarters.
    92212: "light-curve table header damaged: a column definition is not valid FITS",
}


@pytest.mark.parametrize("seed", sorted(REGRESSIONS))
def test_a_seed_that_once_failed_skips_only_its_file_with_a_plain_reason(fuzzer, seed, caplog):
    caplog.set_level(logging.CRITICAL)
    outcome = fuzzer.case(seed)
    assert outcome.ok, outcome.problems
    assert outcome.result == "partly processed", outcome    # the star's other quarters still count
    assert REGRESSIONS[seed] in outcome.reasons, outcome.reasons


def test_the_fuzzer_sees_a_reader_that_lets_an_error_escape(fuzzer, monkeypatch):
    """The checks can fail: a reader that raises an unplanned error type on a corrupt file is
    caught by the preprocess catch-all, and the fuzzer reports it."""
    import exosieve.lightcurves.reader as reader
    real = reader._read_one

    def fragile(path, *args):
        if "mutated" in str(path.resolve()):   # the case links its mutated copy into the archive
            raise RuntimeError("boom")
        return real(path, *args)
    monkeypatch.setattr(reader, "_read_one", fragile)
    seed = next(s for s in range(100) if fuzzer.plan(s)[1] == "fits")
    outcome = fuzzer.case(seed)
    assert any("unexpected RuntimeError" in p for p in outcome.problems), outcome


def test_the_fuzzer_sees_a_changed_control(fuzzer, monkeypatch):
    fuzzer_digest = fuzzer.control_digest
    monkeypatch.setattr(fuzzer, "control_digest", "0" * 64)
    outcome = fuzzer.case(0)
    assert "the control star's shard row changed" in outcome.problems
    assert fuzzer_digest != "0" * 64


FFI_CASES = 40    # seeds 0-39 reach every TGLC mutation but one (about 14 s)
TGLC = SHARED_DATA / "tess" / "ffi" / "tglc"


@pytest.mark.skipif(not TGLC.is_dir(), reason=f"real TGLC light curves not found at {TGLC}")
def test_mutated_real_tglc_files_never_crash_and_every_bad_file_is_recorded(tmp_path, caplog):
    """Truncated, bit-flipped, column-less, all-flagged TGLC files (matched to their star by
    header) beside an untouched control star, through the workflow's own calls."""
    from fuzzing import FFIFuzzer, tally
    caplog.set_level(logging.CRITICAL)
    fuzzer = FFIFuzzer(SHARED_DATA, tmp_path)
    outcomes = [fuzzer.case(seed) for seed in range(FFI_CASES)]
    problems = [f"seed {o.seed} ({o.mutation} {o.detail} on {o.subject}): {p}" for o in outcomes for p in o.problems]
    assert not problems, "\n".join(problems[:20])
    table = tally(outcomes)
    assert {"all_flagged_tglc", "all_flagged_tess", "missing_column", "truncate", "bit_flips"} <= set(table.mutation)
    assert {"processed", "partly processed"} <= set(table.result)
    # A file whose every cadence is flagged is skipped with its name and reason; the star goes on.
    flagged = [o for o in outcomes if o.mutation == "all_flagged_tglc"]
    assert flagged and all("has no usable cadences" in o.reasons and o.result == "partly processed" for o in flagged)
