"""A seeded fuzzer over real Kepler light-curve files and real DR24 rows (../shared/data).

Each case takes one *subject* star, mutates one of its FITS files or its catalog row(s), and runs
the subject together with an untouched *control* star through the same package calls the
workflow's catalog, lightcurves and preprocess rules make. A case passes when:

- nothing raises, and no manifest holds an "unexpected" error (the preprocess catch-all);
- every subject TCE ends in the shard, in ``rejected.csv``, or in the failure manifest, and every
  manifest row about it names the subject (its star id, or the id text it was given);
- a skipped file is recorded with its file name;
- the control's shard row (views, scalar features, metadata) is byte-identical to a clean run's;
- mutations that change only how a value is written (time on another BJD reference, flux in other
  units, a row repeated) give the subject's clean output.

``FFIFuzzer`` does the same over real TESS FFI light curves (TGLC files, matched to their star by
header) and real TOI rows. ``tests/test_fuzz.py`` runs a few hundred cases; ``benchmarks/fuzz.py``
runs 1,000 (``--ffi-cases``: over the FFI readers) and prints the tally. Stars use a few quarters each so that a case costs a fraction of a second.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from astropy.io import fits

from exosieve.catalog.sources import LocalSource, build_catalog
from exosieve.catalog.table import CatalogError, write_normalized
from exosieve.config import load
from exosieve.lightcurves.mast import find_kepler_lightcurves, kepler_star_dir
from exosieve.lightcurves.obtain import write_lightcurve_index
from exosieve.preprocess import preprocess_shard
from exosieve.shards import read_shard

CONTROL = "757450"                         # Kepler-75 b (KOI-889), PC, P = 8.88 d
SUBJECTS = ["892772", "1162345", "2019477", "1292087", "892667"]
QUARTERS = slice(1, 4)                     # Q1-Q3: about 90 days, enough for every subject's periods

# A mutation that only changes how values are written must leave the output as it was.
SAME_OUTPUT = {"time_reference", "flux_units", "repeated_row"}


# ---------------------------------------------------------------------------------------------
# FITS mutations: each rewrites ``path`` (a private copy) in place.

def _flip_bits(path: Path, rng, start: int = 0) -> str:
    raw = bytearray(path.read_bytes())
    n = int(rng.integers(1, 65))
    at = rng.integers(start, len(raw), n)
    for i in at:
        raw[i] ^= 1 << int(rng.integers(0, 8))
    path.write_bytes(bytes(raw))
    return f"{n} bit(s)"


def edit_fits(path: Path, edit) -> None:
    """Rewrite a FITS file in place: ``edit`` changes a list of copies of its HDUs."""
    with fits.open(path, memmap=False) as hdul:
        hdus = [h.copy() for h in hdul]
    edit(hdus)
    fits.HDUList(hdus).writeto(path, overwrite=True, output_verify="silentfix")


def _replace_column(hdus, name: str, column: fits.Column | None) -> None:
    table = hdus[1]
    cols = [c if c.name != name else column for c in table.columns]
    new = fits.BinTableHDU.from_columns([c for c in cols if c is not None], header=table.header)
    hdus[1] = new


def _set_values(path: Path, rng, column: str, values) -> str:
    def edit(hdus):
        data = hdus[1].data[column]
        n = int(rng.integers(1, max(2, data.size // 20)))
        data[rng.integers(0, data.size, n)] = values
    edit_fits(path, edit)
    return column


def fits_mutations():
    def truncate(p, rng):
        raw = p.read_bytes()
        keep = int(rng.integers(0, len(raw)))
        p.write_bytes(raw[:keep])
        return f"{keep} of {len(raw)} bytes"

    def header_bits(p, rng):
        raw = bytearray(p.read_bytes())
        for i in rng.integers(0, 2880 * 3, int(rng.integers(1, 9))):   # primary and table headers
            raw[i] ^= 1 << int(rng.integers(0, 8))
        p.write_bytes(bytes(raw))
        return "header"

    def all_nan_flux(p, rng):
        edit_fits(p, lambda h: h[1].data["PDCSAP_FLUX"].__setitem__(slice(None), np.nan))

    def zero_flux(p, rng):
        edit_fits(p, lambda h: h[1].data["PDCSAP_FLUX"].__setitem__(slice(None), 0.0))

    def empty_table(p, rng):
        edit_fits(p, lambda h: h.__setitem__(1, fits.BinTableHDU(h[1].data[:0], header=h[1].header)))

    def primary_only(p, rng):
        edit_fits(p, lambda h: h.__delitem__(slice(1, None)))

    def wrong_star(p, rng):
        edit_fits(p, lambda h: h[0].header.__setitem__("KEPLERID", int(CONTROL)))

    def html_error_page(p, rng):
        p.write_text("<html><body><h1>503 Service Unavailable</h1></body></html>\n")

    def empty_file(p, rng):
        p.write_bytes(b"")

    def time_reference(p, rng):
        # The same instants on the full BJD scale (BJDREFI = 0), as files rewritten by other tools carry them.
        def edit(h):
            ref = h[1].header["BJDREFI"] + h[1].header["BJDREFF"]
            h[1].data["TIME"] += ref
            for key in ("TSTART", "TSTOP"):
                h[1].header[key] += ref
            h[1].header["BJDREFI"], h[1].header["BJDREFF"] = 0, 0.0
            h[1].header["TUNIT1"] = "BJD"
        edit_fits(p, edit)

    def flux_units(p, rng):
        # Flux in other units (a factor): each file is normalised by its own median, so nothing changes.
        def edit(h):
            for c in ("PDCSAP_FLUX", "PDCSAP_FLUX_ERR"):
                h[1].data[c] *= 4.0
        edit_fits(p, edit)

    columns = column_mutations(infinite=["PDCSAP_FLUX", "TIME", "MOM_CENTR1", "PDCSAP_FLUX_ERR"],
                               huge=["PDCSAP_FLUX", "MOM_CENTR2", "PDCSAP_FLUX_ERR"],
                               text=["PDCSAP_FLUX", "TIME", "SAP_QUALITY"], integer=["PDCSAP_FLUX", "TIME"],
                               missing=["PDCSAP_FLUX", "TIME", "SAP_QUALITY", "PDCSAP_FLUX_ERR", "MOM_CENTR1"])
    return {f.__name__: f for f in (truncate, header_bits, all_nan_flux, zero_flux, empty_table, primary_only,
                                    wrong_star, html_error_page, empty_file, time_reference, flux_units)} | columns | {
        "bit_flips": _flip_bits, "data_bit_flips": lambda p, rng: _flip_bits(p, rng, start=2880 * 3)}


def column_mutations(infinite, huge, text, integer, missing) -> dict:
    """The mutations of a light-curve table's columns, each drawing its column from its list:
    infinities or huge values written into some cadences, a column turned to text or to integers,
    a column removed."""
    def infinities(p, rng):
        return _set_values(p, rng, str(rng.choice(infinite)), rng.choice([np.inf, -np.inf]))

    def huge_values(p, rng):
        return _set_values(p, rng, str(rng.choice(huge)), rng.choice([1e30, -1e30, 3e38]))

    def string_column(p, rng):
        name = str(rng.choice(text))
        edit_fits(p, lambda h: _replace_column(
            h, name, fits.Column(name=name, format="8A", array=np.full(len(h[1].data), "n/a"))))
        return name

    def integer_column(p, rng):
        name = str(rng.choice(integer))
        edit_fits(p, lambda h: _replace_column(
            h, name, fits.Column(name=name, format="I", array=np.nan_to_num(h[1].data[name]).astype(np.int16))))
        return name

    def missing_column(p, rng):
        name = str(rng.choice(missing))
        edit_fits(p, lambda h: _replace_column(h, name, None))
        return name

    return {f.__name__: f for f in (infinities, huge_values, string_column, integer_column, missing_column)}


# ---------------------------------------------------------------------------------------------
# Catalog-row mutations: each takes the subject's rows (a DataFrame of DR24 columns, as read)
# and returns the rows to write.

def row_mutations(baseline_days: float):
    def set_value(column, choices):
        def mutate(rows, rng):
            rows = rows.astype(object)
            i = int(rng.integers(0, len(rows)))
            rows.iloc[i, rows.columns.get_loc(column)] = choices(rows.iloc[i], rng)
            return rows
        return mutate

    pick = lambda values: lambda row, rng: values[int(rng.integers(0, len(values)))]  # noqa: E731
    bad_numbers = ["", "abc", "nan", "inf", "-inf", "1e400", "--", " ", "0x1F", "9" * 400, "1,5"]
    mutations = {
        "period_bad": set_value("tce_period", pick(bad_numbers + [0, -1.5, -1e30, 1e30, 1e-9])),
        "period_longer_than_baseline": set_value(
            "tce_period", lambda row, rng: float(baseline_days * rng.uniform(1.05, 40))),
        "epoch_bad": set_value("tce_time0bk", pick(bad_numbers + [1e30, -1e30, 1e300])),
        "duration_bad": set_value("tce_duration", pick(bad_numbers + [0, -3.0, 1e30])),
        "duration_longer_than_period": set_value(
            "tce_duration", lambda row, rng: float(row.tce_period) * 24 * rng.uniform(1.0, 5.0)),
        "depth_bad": set_value("tce_depth", pick(bad_numbers)),
        "kepid_bad": set_value("kepid", pick(["", "../../etc/passwd", "..", "abc", "-5", "1.5", "12 34",
                                              "99999999999999999999999", "KIC 892772", "\x00"])),
        "tce_num_bad": set_value("tce_plnt_num", pick(["", "x", "-1", "1.5", "nan"])),
        "label_odd": set_value("av_training_set", pick(["", "XYZ", "pc", "NaN", "PC;AFP"])),
        "repeated_row": lambda rows, rng: pd.concat([rows, rows.iloc[[int(rng.integers(0, len(rows)))]]]),
        "clashing_duplicate": lambda rows, rng: pd.concat(
            [rows, rows.iloc[[0]].assign(tce_period=float(rows.tce_period.iloc[0]) * 1.5)]),
    }
    return mutations


# ---------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    seed: int
    subject: str
    kind: str              # "fits" or "row"
    mutation: str
    detail: str = ""
    result: str = ""       # processed | rejected | failed | skipped-file | mixed
    problems: list = field(default_factory=list)
    reasons: str = ""      # every reason the manifests give, joined: what a user reads

    @property
    def ok(self) -> bool:
        return not self.problems


class Fuzzer:
    """Holds the real inputs (a few quarters of each star, the stars' DR24 rows) and the clean
    outputs that cases are compared with."""

    control = CONTROL

    def __init__(self, shared_data: Path, workdir: Path):
        self.shared = Path(shared_data)
        self.workdir = Path(workdir)
        self.pristine = self.workdir / "pristine"
        dr24 = pd.read_csv(self.shared / "catalogs" / "q1_q17_dr24_tce.csv", comment="#", dtype=str)
        self.rows = {s: dr24[dr24.kepid == s].reset_index(drop=True) for s in [CONTROL, *SUBJECTS]}
        self.files = {}
        for star in [CONTROL, *SUBJECTS]:
            dest = kepler_star_dir(self.pristine, star)
            dest.mkdir(parents=True, exist_ok=True)
            self.files[star] = []
            for f in find_kepler_lightcurves(self.shared / "kepler" / "lightcurves", star)[QUARTERS]:
                shutil.copy(f, dest / f.name)
                self.files[star].append(dest / f.name)
        with fits.open(self.files[CONTROL][0]) as first, fits.open(self.files[CONTROL][-1]) as last:
            self.baseline_days = float(last[1].data["TIME"][-1] - first[1].data["TIME"][0])
        self.fits = fits_mutations()
        self.row = row_mutations(self.baseline_days)
        self.clean = {s: self._run(s, f"clean{s}", self.rows[s], self.files[s])[0] for s in SUBJECTS}
        self.control_digest = self.clean[SUBJECTS[0]]["digests"][f"{CONTROL}_1"]

    def plan(self, seed: int, rng=None) -> tuple[str, str, str]:
        """(subject, kind, mutation) of case ``seed``."""
        rng = rng if rng is not None else np.random.default_rng(seed)
        subject = SUBJECTS[int(rng.integers(0, len(SUBJECTS)))]
        kind = "fits" if rng.random() < 0.55 else "row"
        names = sorted(self.fits if kind == "fits" else self.row)
        return subject, kind, names[int(rng.integers(0, len(names)))]

    def case(self, seed: int) -> Outcome:
        rng = np.random.default_rng(seed)
        subject, kind, mutation = self.plan(seed, rng)
        out = Outcome(seed, subject, kind, mutation)
        case_dir = self.workdir / f"case{seed}"
        rows, files, mutated_file = self.rows[subject], list(self.files[subject]), None
        try:
            if kind == "fits":
                i = int(rng.integers(0, len(files)))
                mutated_file = case_dir / "mutated" / files[i].name
                mutated_file.parent.mkdir(parents=True)
                shutil.copy(files[i], mutated_file)
                out.detail = str(self.fits[mutation](mutated_file, rng) or "")
                files[i] = mutated_file
            else:
                rows = self.row[mutation](rows, rng)
            result, ids = self._run(subject, f"case{seed}", rows, files)
        except CatalogError as exc:
            out.result = "refused"
            out.problems.append(f"the catalog stage refused the whole table: {exc}")
            return out
        except Exception as exc:   # a crash: what the fuzzer is looking for
            out.problems.append(f"crash: {type(exc).__name__}: {exc}")
            return out
        finally:
            shutil.rmtree(case_dir, ignore_errors=True)
        self._judge(out, result, ids, mutated_file)
        return out

    def _run(self, subject: str, name: str, rows: pd.DataFrame, files: list[Path]):
        """The subject's and the control's rows through catalog -> lightcurves -> preprocess."""
        d = self.workdir / name
        root = d / "lightcurves"
        for star, paths in ((CONTROL, self.files[CONTROL]), (subject, files)):
            star_dir = kepler_star_dir(root, star)
            star_dir.mkdir(parents=True)
            for p in paths:
                (star_dir / p.name).symlink_to(p.resolve())
        table = d / "tces.csv"
        pd.concat([self.rows[CONTROL], rows]).to_csv(table, index=False)
        cfg = load({"catalog": {"source": "local", "path": str(table), "lightcurve_dir": str(root)},
                    "results": str(d / "results")})
        tces, rejected, shard, failures = self._pipeline(d, table, cfg)
        result = {"tces": list(shard.meta.tce_id), "catalog": list(tces.tce_id), "rows": len(rows),
                  "rejected": rejected.fillna(""), "failures": failures,
                  "digests": {t: _digest(shard, i) for i, t in enumerate(shard.meta.tce_id)},
                  "values": {t: _values(shard, i) for i, t in enumerate(shard.meta.tce_id)}}
        # ids the subject's rows were given, as text: what a manifest row must name
        # (a NUL or blank id is read back as no id at all)
        ids = {str(v).strip().strip("\x00") for v in rows.kepid} | set(tces.star_id[tces.star_id != CONTROL])
        if not name.startswith("clean"):
            shutil.rmtree(d, ignore_errors=True)
        return result, ids

    @staticmethod
    def _pipeline(d: Path, table: Path, cfg: dict):
        """The catalog, light-curve and preprocess steps on one case's folder, as the workflow runs
        them: (catalog, rejected rows, shard, failure manifest)."""
        tces, rejected = build_catalog(cfg, {"catalog": table})
        write_normalized(tces, d / "targets.csv")
        write_lightcurve_index(LocalSource(cfg), d / "targets.csv", d / "index.csv", d / "lc_failures.csv",
                               progress=False)
        preprocess_shard(d / "targets.csv", d / "index.csv", cfg, "000", d / "shard.h5", d / "failures.csv",
                         lightcurve_failures=d / "lc_failures.csv", progress=False)
        return tces, rejected, read_shard(d / "shard.h5"), pd.read_csv(d / "failures.csv", dtype=str).fillna("")

    def _judge(self, out: Outcome, result: dict, given_ids: set, mutated_file: Path | None) -> None:
        problems = out.problems
        rejected, failures = result["rejected"], result["failures"]
        for frame, what in ((rejected, "rejected.csv"), (failures, "failure manifest")):
            for row in frame.itertuples():
                if "unexpected" in row.error:
                    problems.append(f"{what}: unexpected error: {row.error}")
                if str(row.star_id) == self.control:
                    problems.append(f"{what}: the control star was hit: {row.error}")
                elif not (any(i and (i in row.error or i == str(row.star_id)) for i in given_ids)
                          or ("" in given_ids and row.star_id == "" and "star id is missing" in row.error)):
                    problems.append(f"{what}: a row does not name the subject ({sorted(given_ids)}): {row.error}")
        if result["digests"].get(f"{self.control}_1") != self.control_digest:
            problems.append("the control star's shard row changed")
        subject_tces = [t for t in result["tces"] if not t.startswith(self.control + "_")]
        catalog_tces = [t for t in result["catalog"] if not t.startswith(self.control + "_")]
        subject_rejected = rejected[rejected.star_id.astype(str) != self.control]
        if result["rows"] != len(catalog_tces) + len(subject_rejected):
            problems.append(f"{result['rows']} subject row(s) in, but {len(catalog_tces)} in the catalog and "
                            f"{len(subject_rejected)} rejected")
        lost = set(catalog_tces) - set(subject_tces) - set(failures.tce_id)
        if lost:
            problems.append(f"subject TCE(s) {sorted(lost)} neither in the shard nor in the failure manifest")
        if mutated_file is not None:
            skipped = failures[failures.stage == "file"]
            if len(skipped) and not skipped.error.str.contains(mutated_file.name, regex=False).all():
                problems.append(f"a skipped-file row does not name {mutated_file.name}")
        if out.mutation in SAME_OUTPUT:
            # Close, not byte-equal: full BJD in float64 rounds TIME at 1e-10 d.
            want = {t: v for t, v in self.clean[out.subject]["values"].items() if not t.startswith(self.control + "_")}
            got = result["values"]
            if set(subject_tces) != set(want) or not all(
                    np.allclose(got[t], want[t], rtol=1e-5, atol=1e-6, equal_nan=True) for t in want):
                problems.append(f"'{out.mutation}' changes only how values are written, yet the subject's "
                                f"output changed ({sorted(got)} against {sorted(want)})")
        out.reasons = " | ".join([*rejected.error, *failures.error])
        stages = set(rejected.stage) | set(failures.stage)
        out.result = ("processed" if subject_tces and not stages else
                      "partly processed" if subject_tces else
                      "rejected" if "catalog" in stages else
                      "failed" if stages else "lost")


# ---------------------------------------------------------------------------------------------
# TESS FFI light curves: real TGLC files (../shared/data/tess/ffi/tglc, one folder per TIC, files
# named by Gaia id: matched to their star by header) and the stars' rows of the real TOI table,
# through the same catalog, lightcurves and preprocess calls, mutated as above in TGLC's columns.

TGLC_CONTROL = "119585136"                  # TOI CP, P = 2.21 d, sectors 22 (30 min) and 49 (10 min)
TGLC_SUBJECTS = ["112115898", "285048486", "368287008", "50618703", "181804752"]   # 2 sectors each
TOI_COLUMNS = {"star_id": "tid", "period": "pl_orbper", "epoch": "pl_tranmid", "duration": "pl_trandurh",
               "depth": "pl_trandep", "disposition": "tfopwg_disp"}
TGLC_FLUXES = ("cal_psf_flux", "cal_aper_flux")
CENTROID_NOTE = re.escape("no centroid data (TGLC): centroid branch read as missing")


def tglc_mutations():
    """The FITS mutations in TGLC's own columns (time, cal_psf_flux, cal_aper_flux, TESS_flags,
    TGLC_flags), and every cadence flagged by one set of flags or the other. A header naming
    another star is left out: with files matched by header, such a file is that star's."""
    shared = fits_mutations()

    def all_nan_flux(p, rng):
        edit_fits(p, lambda h: [h[1].data[c].__setitem__(slice(None), np.nan) for c in TGLC_FLUXES])

    def psf_fit_failed(p, rng):
        # As in 13 real files: the PSF flux NaN throughout, the aperture flux read instead.
        edit_fits(p, lambda h: h[1].data["cal_psf_flux"].__setitem__(slice(None), np.nan))

    def zero_flux(p, rng):
        edit_fits(p, lambda h: [h[1].data[c].__setitem__(slice(None), 0.0) for c in TGLC_FLUXES])

    def all_flagged_tglc(p, rng):
        edit_fits(p, lambda h: h[1].data["TGLC_flags"].__setitem__(slice(None), 1))

    def all_flagged_tess(p, rng):
        edit_fits(p, lambda h: h[1].data["TESS_flags"].__setitem__(slice(None), 4))   # coarse point

    def time_reference(p, rng):
        def edit(h):
            h[1].data["time"] += 2457000.0
            for key in ("TSTART", "TSTOP"):
                h[1].header[key] += 2457000.0
            h[1].header["BJDREFI"] = 0
        edit_fits(p, edit)

    def flux_units(p, rng):
        edit_fits(p, lambda h: [h[1].data.__setitem__(c, h[1].data[c] * 4.0) for c in TGLC_FLUXES])

    mine = {f.__name__: f for f in (all_nan_flux, psf_fit_failed, zero_flux, all_flagged_tglc, all_flagged_tess,
                                    time_reference, flux_units)} | column_mutations(
        infinite=["cal_psf_flux", "time", "cal_aper_flux"], huge=["cal_psf_flux", "time"],
        text=["cal_psf_flux", "time", "TESS_flags", "TGLC_flags"], integer=["cal_psf_flux", "time"],
        missing=["cal_psf_flux", "time", "TESS_flags", "TGLC_flags"])
    kept = {k: shared[k] for k in ("truncate", "header_bits", "bit_flips", "data_bit_flips", "empty_table",
                                   "primary_only", "html_error_page", "empty_file")}
    return kept | mine


class FFIFuzzer(Fuzzer):
    """The Fuzzer's cases and checks over real TGLC files and real TOI rows: one file of a
    subject star mutated per case, beside an untouched control star."""

    control = TGLC_CONTROL

    def __init__(self, shared_data: Path, workdir: Path):
        self.shared = Path(shared_data)
        self.workdir = Path(workdir)
        self.pristine = self.workdir / "pristine"
        toi = pd.read_csv(self.shared / "catalogs" / "toi.csv", comment="#", dtype=str)
        stars = [TGLC_CONTROL, *TGLC_SUBJECTS]
        self.rows = {s: toi[toi.tid == s].reset_index(drop=True) for s in stars}
        self.files = {}
        for star in stars:
            dest = self.pristine / star
            dest.mkdir(parents=True, exist_ok=True)
            self.files[star] = []
            for f in sorted((self.shared / "tess" / "ffi" / "tglc" / star).glob("*.fits")):
                shutil.copy(f, dest / f.name)
                self.files[star].append(dest / f.name)
        self.fits = tglc_mutations()
        self.row = {}
        self.clean = {s: self._run(s, f"clean{s}", self.rows[s], self.files[s])[0] for s in TGLC_SUBJECTS}
        self.control_digest = self.clean[TGLC_SUBJECTS[0]]["digests"][f"{TGLC_CONTROL}_1"]

    def plan(self, seed: int, rng=None) -> tuple[str, str, str]:
        rng = rng if rng is not None else np.random.default_rng(seed)
        subject = TGLC_SUBJECTS[int(rng.integers(0, len(TGLC_SUBJECTS)))]
        rng.random()                       # the Fuzzer's draw of fits-or-row: always a file here
        names = sorted(self.fits)
        return subject, "fits", names[int(rng.integers(0, len(names)))]

    def _run(self, subject: str, name: str, rows: pd.DataFrame, files: list[Path]):
        d = self.workdir / name
        root = d / "lightcurves"
        for star, paths in ((TGLC_CONTROL, self.files[TGLC_CONTROL]), (subject, files)):
            star_dir = root / f"downloads_{star}"     # any folder names: files are matched by header
            star_dir.mkdir(parents=True)
            for p in paths:
                (star_dir / p.name).symlink_to(p.resolve())
        table = d / "toi.csv"
        pd.concat([self.rows[TGLC_CONTROL], rows]).to_csv(table, index=False)
        cfg = load({"catalog": {"source": "local", "path": str(table), "lightcurve_dir": str(root),
                                "columns": TOI_COLUMNS, "epoch_offset": 2457000, "mission": "tess",
                                "labels": {"positive": ["CP", "KP"], "negative": ["FP", "FA"]}},
                    "results": str(d / "results")})
        tces, rejected, shard, failures = self._pipeline(d, table, cfg)
        # Every TGLC TCE is flagged for its missing centroids (and only for that, when nothing else
        # is wrong): expected, not an outcome of the mutation.
        only_centroids = (failures.stage == "flagged") & failures.error.str.fullmatch(r"TCE \S+: " + CENTROID_NOTE)
        failures = failures[~only_centroids].reset_index(drop=True)
        result = {"tces": list(shard.meta.tce_id), "catalog": list(tces.tce_id), "rows": len(rows),
                  "rejected": rejected.fillna(""), "failures": failures,
                  "digests": {t: _digest(shard, i) for i, t in enumerate(shard.meta.tce_id)},
                  "values": {t: _values(shard, i) for i, t in enumerate(shard.meta.tce_id)}}
        ids = {str(v).strip() for v in rows.tid} | set(tces.star_id[tces.star_id != TGLC_CONTROL])
        if not name.startswith("clean"):
            shutil.rmtree(d, ignore_errors=True)
        return result, ids


def _digest(shard, i: int) -> str:
    h = hashlib.sha256()
    h.update(shard.meta.iloc[i].to_json().encode())
    for name in sorted(shard.views):
        h.update(np.ascontiguousarray(shard.views[name][i]).tobytes())
    h.update(np.ascontiguousarray(shard.scalars[i]).tobytes())
    return h.hexdigest()


def _values(shard, i: int) -> np.ndarray:
    return np.concatenate([np.ravel(shard.views[name][i]) for name in sorted(shard.views)] + [shard.scalars[i]])


def tally(outcomes: list[Outcome]) -> pd.DataFrame:
    """Cases per (kind, mutation, result), with the number that failed a check."""
    df = pd.DataFrame([{"kind": o.kind, "mutation": o.mutation, "result": o.result, "ok": o.ok}
                       for o in outcomes])
    return (df.groupby(["kind", "mutation", "result"]).ok.agg(cases="size", problems=lambda s: int((~s).sum()))
            .reset_index())


# ---------------------------------------------------------------------------------------------
# TFRecord views datasets: real DR24 records (DART-Vetter's, ../shared/data/views), one file mutated
# per case, read through the views source's own reader.

TFRECORD_LABELS = {"positive": [1], "negative": [0]}


def _reframe(records: list[bytes]) -> bytes:
    from exosieve.catalog.tfrecord import frame_record
    return b"".join(frame_record(r) for r in records)


def tfrecord_mutations():
    """Each takes (list of serialized records, rng) and returns (file bytes, index of the record it
    changed or None, what the reader must do: "error", "reject", "repeat" or "any")."""
    from exosieve.catalog.tfrecord import encode_example, frame_record, parse_example

    def pick(records, rng):
        return int(rng.integers(0, len(records)))

    def edited(records, rng, change):
        i = pick(records, rng)
        example = parse_example(records[i])
        change(example, rng)
        out = list(records)
        out[i] = encode_example(example)
        return _reframe(out), i

    def truncate(records, rng):
        raw = _reframe(records)
        keep = int(rng.integers(1, len(raw)))
        return raw[:keep], None, "any"     # a cut at a record boundary is a valid, shorter file

    def bit_flips(records, rng):
        raw = bytearray(_reframe(records))
        for at in rng.integers(0, len(raw), int(rng.integers(1, 9))):
            raw[at] ^= 1 << int(rng.integers(0, 8))
        return bytes(raw), None, "error"

    def wrong_crc(records, rng):
        framed = [bytearray(frame_record(r)) for r in records]
        i = pick(records, rng)
        framed[i][-1 if rng.random() < 0.5 else 11] ^= 0xFF      # the data's CRC, or the length's
        return b"".join(map(bytes, framed)), None, "error"

    def view_as_integers(records, rng):
        return (*edited(records, rng, lambda ex, r: ex.__setitem__("global_view", ex["global_view"].astype(np.int64))),
                "reject")

    def view_wrong_length(records, rng):
        def change(ex, r):
            name = "global_view" if r.random() < 0.5 else "local_view"
            cut = int(r.integers(1, 30))
            ex[name] = ex[name][:-cut] if r.random() < 0.5 else np.concatenate([ex[name], np.zeros(cut, np.float32)])
        return (*edited(records, rng, change), "reject")

    def view_not_finite(records, rng):
        def change(ex, r):
            ex["local_view"] = ex["local_view"].copy()
            ex["local_view"][int(r.integers(0, 61))] = r.choice([np.nan, np.inf, -np.inf])
        return (*edited(records, rng, change), "reject")

    def label_unmapped(records, rng):
        return (*edited(records, rng, lambda ex, r: ex.__setitem__("av_training_set", np.array([int(r.integers(2, 9))]))),
                "reject")

    def label_as_text(records, rng):
        return (*edited(records, rng, lambda ex, r: ex.__setitem__("av_training_set", [b"PC?"])), "reject")

    def missing_star_id(records, rng):
        return (*edited(records, rng, lambda ex, r: ex.pop("tic")), "reject")

    def not_an_example(records, rng):
        out = list(records)
        i = pick(records, rng)
        out[i] = bytes(rng.integers(0, 256, int(rng.integers(1, 200)), dtype=np.uint8))
        return _reframe(out), i, "any"     # random bytes may parse as an (empty) Example

    def repeated_record(records, rng):
        i = pick(records, rng)
        return _reframe(list(records) + [records[i]]), len(records), "repeat"

    return {f.__name__: f for f in (truncate, bit_flips, wrong_crc, view_as_integers, view_wrong_length,
                                    view_not_finite, label_unmapped, label_as_text, missing_star_id,
                                    not_an_example, repeated_record)}


class TFRecordFuzzer:
    """Mutates one file of real DR24 view records per case and reads it with the views source's
    reader. A case passes when nothing crashes and either the reader refuses the file with an error
    naming it and a byte offset (broken framing), or every record it does not reject is read exactly
    as the clean file reads, and the mutated record is rejected (or dropped as a repeat) with a
    reason naming its place."""

    def __init__(self, shared_data: Path, workdir: Path, n_records: int = 60):
        from exosieve.catalog.tfrecord import iter_records
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        source = Path(shared_data) / "views" / "kepler_dr24_dartvetter" / "train-0.tfrecord"
        every = [bytes(data) for _, data in iter_records(source)]
        # Planet candidates with their mirror images first in the file, then AFP/NTP records.
        self.records = every[:n_records // 2] + every[720:720 + n_records // 2]
        self.mutations = tfrecord_mutations()
        self.clean = self._read(_reframe(self.records), "clean")

    def _read(self, raw: bytes, name: str):
        from exosieve.catalog.views_dataset import ViewsDataset
        path = self.workdir / f"{name}.tfrecord"
        path.write_bytes(raw)
        # Damaged records are kept: the fuzzer judges framing and per-record rejections against a
        # clean read, and a damaged clean record would read as a rejection in every case.
        cat = load({"catalog": {"source": "views", "path": str(path), "labels": TFRECORD_LABELS,
                                "keep_damaged": True}})["catalog"]
        try:
            return ViewsDataset(path, cat)
        finally:
            path.unlink()

    def case(self, seed: int) -> Outcome:
        rng = np.random.default_rng(seed)
        names = sorted(self.mutations)
        mutation = names[int(rng.integers(0, len(names)))]
        out = Outcome(seed, "train-0.tfrecord", "tfrecord", mutation)
        raw, changed, expect = self.mutations[mutation](self.records, rng)
        try:
            dataset = self._read(raw, f"case{seed}")
        except CatalogError as exc:
            out.result = "refused"
            if not re.search(rf"case{seed}\.tfrecord.*byte \d+", str(exc)) and expect in ("error", "any"):
                out.problems.append(f"a refusal that does not name the file and byte offset: {exc}")
            elif expect not in ("error", "any"):
                out.problems.append(f"the whole file was refused for one bad record: {exc}")
            return out
        except Exception as exc:   # a crash: what the fuzzer is looking for
            out.problems.append(f"crash: {type(exc).__name__}: {exc}")
            return out
        if expect == "error":
            out.problems.append("a corrupt file was read without an error")
        self._judge(out, dataset, changed, expect)
        return out

    def _judge(self, out: Outcome, dataset, changed: int | None, expect: str) -> None:
        clean = self.clean.data
        got = dataset.data
        index = dict(zip(clean.meta.tce_id, range(len(clean))))
        for i, tce in enumerate(got.meta.tce_id):
            j = index.get(tce)
            if j is None:
                continue
            same = all(np.array_equal(got.views[v][i], clean.views[v][j]) for v in clean.views)
            if not same and changed is None:
                out.problems.append(f"{tce} was read with other views than the clean file's")
        rejected = dataset.rejected
        if changed is not None and expect in ("reject", "repeat"):
            stage = "catalog" if expect == "reject" else "repeat"
            mine = rejected[rejected.stage == stage]
            if mine.empty:
                out.problems.append(f"the mutated record {changed} was not {'rejected' if stage == 'catalog' else 'dropped'}")
            elif not mine.error.str.contains(r"record at case\d+\.tfrecord byte \d+", regex=True).all():
                out.problems.append(f"a rejection does not name its place: {mine.error.iloc[0]}")
            kept = len(got) + dataset.n_rejected + dataset.n_repeats
            if kept != dataset.n_records:
                out.problems.append(f"{dataset.n_records} records in, {kept} accounted for")
        out.result = ("rejected" if dataset.n_rejected else "repeat dropped" if dataset.n_repeats > self.clean.n_repeats
                      else "read")
