"""What tests and benchmarks share. Real NASA data lives in ../shared/data (beside the checkout,
or $EXOSIEVE_SHARED_DATA); tests that need it skip with a reason when it is absent, as on a user's
machine. Here too: simulated surveys and light curves, small synthetic shards and views datasets,
the DR24 view records with their TCEs recovered, and running Snakemake on the workflow.

Test modules import these by name (pytest puts tests/ on sys.path) and benchmarks do too, after
putting tests/ on it; conftest.py keeps only fixtures. No test module imports another, nor
conftest: tests/test_conventions.py checks that.

The package is imported inside each helper, not here, so that a benchmark that takes only
SHARED_DATA from this module loads none of exosieve until it chooses to.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("EXOSIEVE_SHARED_DATA", REPO.parent / "shared" / "data"))
DR24 = SHARED_DATA / "catalogs" / "q1_q17_dr24_tce.csv"
KEPLER_LC = SHARED_DATA / "kepler" / "lightcurves"

needs_shared_data = pytest.mark.skipif(
    not (DR24.exists() and KEPLER_LC.is_dir()),
    reason=f"real Kepler data not found at {SHARED_DATA} (set EXOSIEVE_SHARED_DATA to its folder)",
)
# 71 more real Kepler stars with full-mission light curves, on which nothing was chosen (where they
# come from and how to fetch them: benchmarks/real_tces.py). Not in ../shared/data nor in this
# repository: beside the checkout, as ../shared/data is, or $EXOSIEVE_HELD_OUT_LIGHTCURVES.
HELD_OUT_LC = Path(os.environ.get("EXOSIEVE_HELD_OUT_LIGHTCURVES", REPO.parent / "data_ext" / "kepler_held_out"))
needs_held_out_stars = pytest.mark.skipif(
    not (DR24.exists() and HELD_OUT_LC.is_dir()),
    reason=f"the held-out Kepler stars' light curves not found at {HELD_OUT_LC} (benchmarks/real_tces.py says "
           "how to fetch them; set EXOSIEVE_HELD_OUT_LIGHTCURVES to their folder)",
)


# The TOI table's columns as ExoSieve's catalog columns (a local catalog's `columns` mapping).
TOI_COLUMNS = {"star_id": "tid", "period": "pl_orbper", "epoch": "pl_tranmid", "duration": "pl_trandurh",
               "depth": "pl_trandep", "disposition": "tfopwg_disp"}


def star_folders(root: Path) -> set[str]:
    """The stars of a folder of light curves in MAST's layout (NNNN/NNNNNNNNN/)."""
    return {p.name.lstrip("0") for p in Path(root).glob("*/*") if p.is_dir()}


def tess_stars(root: Path) -> set[str]:
    """The TIC ids of a folder of TESS SPOC light curves in MAST's tid/ layout (from file names,
    tess<date>-s<sector>-<16-digit TIC>-<id>-s_lc.fits)."""
    return {p.name.split("-")[2].lstrip("0") for p in Path(root).glob("s*/**/*_lc.fits")}


def real_kepler_tces(held_out: Path | None = None):
    """The DR24 TCEs of the real Kepler stars with light curves in ../shared/data, or with held_out,
    those of the stars under held_out that ../shared/data does not hold; and how to find a star's
    files."""
    from exosieve.catalog.kepler import load_dr24
    from exosieve.config import load
    from exosieve.lightcurves.mast import find_kepler_lightcurves
    root = held_out or KEPLER_LC
    stars = star_folders(root) - (star_folders(KEPLER_LC) if held_out else set())
    dr24 = load_dr24(DR24, load()["catalog"]["labels"])[0]
    return dr24[dr24.star_id.isin(stars)].reset_index(drop=True), lambda star: find_kepler_lightcurves(root, star)


def score_real_tces(tces: pd.DataFrame, find, models, depth: bool = True) -> pd.DataFrame:
    """Every TCE scored through exosieve.score, each star's signals together (so that each TCE's
    views leave out its neighbours' transits, as the workflow's do), beside its disposition."""
    from exosieve.scoring import score
    columns = ["tce_id", "star_id", "period", "epoch", "duration"] + (["depth"] if depth else [])
    scores = pd.concat(score(find(star), group[columns].to_dict("records"), models, attributions=False)
                       for star, group in tces.groupby("star_id", sort=False))
    return tces[["tce_id", "disposition", "period", "depth"]].merge(
        scores.drop(columns=[c for c in ("period", "depth") if c in scores]), on="tce_id")


def write_survey(out: Path, stars: int, quarters: int, seed: int) -> dict:
    """A simulated survey written to ``out``: catalog files, and FITS in MAST's layout under
    ``out/lightcurves``."""
    from exosieve.lightcurves.obtain import generate_simulated
    from exosieve.simulate import draw_survey, write_catalog_files
    survey = draw_survey(stars, quarters, seed=seed)
    files = write_catalog_files(survey, out)
    ids = [str(k) for k in survey.stars.kepid]
    index, failures = generate_simulated(ids, files, out / "lightcurves", {"quarters": quarters, "seed": seed},
                                         progress=False)
    assert not failures and index.star_id.nunique() == stars
    return {"dir": out, "files": files, "survey": survey, "index": index, "ids": ids,
            "lightcurves": out / "lightcurves"}


def synthetic_lightcurve(period=3.7, epoch=131.9, k=0.1, b=0.3, noise=2e-4, days=90.0, seed=0,
                         trend_amp=3e-3):
    """Kepler-cadence light curve with one limb-darkened transit signal, a slow sinusoidal trend
    and white noise; returns (time, flux, true depth, duration)."""
    from exosieve.simulate.signals import KEPLER_LC_CADENCE, eclipse_signal, transit_duration
    rng = np.random.default_rng(seed)
    time = np.arange(131.5, 131.5 + days, KEPLER_LC_CADENCE)
    a_rs = 12.0
    signal = eclipse_signal(time, period, epoch, k, a_rs, b, 0.4, 0.25)
    flux = (1 + signal) * (1 + trend_amp * np.sin(2 * np.pi * time / 11.0)) + rng.normal(0, noise, time.size)
    duration = float(transit_duration(period, a_rs, k, b))
    depth = -float(eclipse_signal(np.array([epoch]), period, epoch, k, a_rs, b, 0.4, 0.25, supersample=1)[0])
    return time, flux, depth, duration


def shard_data(n=5, seed=0):
    """A shard's worth of random TCEs: ``n`` stars of one TCE each, both views, three scalars, and
    the second TCE flagged as a single transit."""
    from exosieve.shards import ShardData
    rng = np.random.default_rng(seed)
    meta = pd.DataFrame({"tce_id": [f"{100 + i}_1" for i in range(n)], "star_id": [str(100 + i) for i in range(n)],
                         "period": rng.uniform(1, 10, n), "epoch": rng.uniform(130, 140, n),
                         "duration": rng.uniform(0.05, 0.3, n),
                         "flag": ["a single transit in the light curve: nothing confirms its period" if i == 1 else ""
                                  for i in range(n)]})
    return ShardData(meta=meta, views={"global": rng.normal(size=(n, 301)).astype(np.float32),
                                       "local": rng.normal(size=(n, 31)).astype(np.float32)},
                     scalars=rng.normal(size=(n, 3)).astype(np.float32), scalar_names=["period", "depth", "snr"])


def imbalanced_shards(tmp_path, cfg, n=5000, planet_fraction=0.03, seed=3):
    """Scalar features that tell planets apart only noisily, 3% planets, one TCE per star."""
    from exosieve.folds import assign_folds
    from exosieve.shards import ShardData, provenance, write_shard
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < planet_fraction).astype(int)
    x = np.column_stack([rng.normal(2.6 * y, 1.0), rng.normal(1.2 * y, 1.0), rng.normal(0, 1, n)])
    meta = pd.DataFrame({"tce_id": [f"{i + 1}_1" for i in range(n)], "star_id": [str(i + 1) for i in range(n)],
                         "disposition": np.where(y == 1, "PC", "AFP"), "label": y,
                         "period": 5.0, "epoch": 131.0, "duration": 0.1})
    data = ShardData(meta=meta, views={}, scalars=x.astype(np.float32), scalar_names=["snr", "depth", "period"])
    write_shard(tmp_path / "000.h5", data, provenance(cfg, "000"))
    folds = assign_folds(meta.assign(star_id=meta.star_id), 3, seed=1)
    folds.to_csv(tmp_path / "folds.csv", index=False)
    return [str(tmp_path / "000.h5")], str(tmp_path / "folds.csv")


# The labels make_views' datasets are read with.
LABELS = {"positive": ["PC", "EB"], "negative": ["NTP"]}


def make_views(n=240, seed=0, g=61, l=21):
    """Planets dip in both views; NTPs do not; EBs dip deeper; a few unlabelled (UNK)."""
    rng = np.random.default_rng(seed)
    label = rng.choice(["PC", "NTP", "EB", "UNK"], size=n, p=[0.4, 0.4, 0.15, 0.05])
    depth = np.where(label == "NTP", 0.0, np.where(label == "EB", 1.0, 0.6))
    gv = rng.normal(0, 0.15, (n, g))
    lv = rng.normal(0, 0.15, (n, l))
    gv[:, g // 2 - 1: g // 2 + 2] -= depth[:, None]
    lv[:, l // 2 - 3: l // 2 + 4] -= depth[:, None]
    return {"global_view": gv.astype(np.float32), "local_view": lv.astype(np.float32),
            "label": label.astype("U3"), "star_id": np.array([f"{1000 + i // 2}" for i in range(n)]),
            "snr": (depth * 20 + rng.normal(0, 3, n)).astype(np.float32)}


def views_run(folder, arrays, **cfg_extra):
    """A views dataset's catalog, folds and one shard, as the workflow writes them."""
    from exosieve.catalog.table import write_normalized
    from exosieve.catalog.views_dataset import views_catalog, write_views_shard
    from exosieve.config import load
    from exosieve.folds import assign_folds
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "views.npz", **arrays)
    cfg = load({"catalog": {"source": "views", "path": str(folder / "views.npz"), "labels": LABELS},
                "cv": {"folds": 2}, "models": {"enabled": ["astronet"], "primary": "astronet"},
                "training": {"max_epochs": 3, "patience": 2, "min_epochs": 1, **cfg_extra},
                "results": str(folder / "results")})
    tces, _ = views_catalog(folder / "views.npz", cfg["catalog"])
    write_normalized(tces, folder / "tces.csv")
    (folder / "results" / "folds").mkdir(parents=True)
    assign_folds(tces, 2, 17).to_csv(folder / "results" / "folds" / "folds.csv", index=False)
    (folder / "results" / "shards").mkdir()
    shard = folder / "results" / "shards" / "000.h5"
    write_views_shard(folder / "views.npz", folder / "tces.csv", cfg, "000", shard, folder / "f.csv")
    pd.DataFrame({"shard": ["results/shards/000.h5"], "n_tces": [len(tces)], "bytes": [shard.stat().st_size]}).to_csv(
        folder / "results" / "shards" / "shard_list.csv", index=False)
    return cfg, [str(shard)], str(folder / "results" / "folds" / "folds.csv")


# The real DR24 view records and how they were written, read by with_tce_ids.
DR24_DIR = "views/kepler_dr24_dartvetter"
PC_PER_FILE, NPC_PER_FILE = 360, 1213
MISSING = (9602595, 1)


def _table(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, comment="#")


def with_tce_ids(shared: Path, out_dir: Path) -> Path:
    """Write the DR24 records with their TCEs recovered into ``out_dir`` (once); returns it.

    DART-Vetter's records hold only ``tic`` (the kepid), the label (1 = PC, 0 = AFP or NTP) and the
    two views. They were written in the row order of the archive's DR24 table kept beside them
    (``dr24_tce_full.csv``, Exoplanet Archive row order): each file ``train-f`` holds 720 PC records,
    record j being PC row 360 f + j // 2 of that table (odd j the mirror image of the record before),
    then AFP/NTP records, record 720 + j being AFP/NTP row 1213 f + j, with one AFP (KIC 9602595,
    TCE 1, whose table row has zero errors) missing from the records. The copy has ``kepid``,
    ``tce_plnt_num``, the DR24 disposition (PC, AFP, NTP) and the ephemeris and depth from
    ``catalogs/q1_q17_dr24_tce.csv`` (whose epochs kept their decimal point) added, and is not
    written unless every record's kepid and label agree with the table row it is given: the order
    is checked, not assumed. ``out_dir`` is the caller's work folder, never the repository.
    """
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


# How the workflow tests run Snakemake: a run that fails is a failed test, with the tail of its log.
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--cores", "2"]


def snakemake(workdir: Path, *args: str) -> str:
    out = subprocess.run([*SNAKEMAKE, "--directory", str(workdir), *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{out.stdout[-4000:]}\n{out.stderr[-6000:]}")
    return out.stdout + out.stderr


def job_counts(dry_run_output: str) -> dict[str, int]:
    table = dry_run_output.split("Job stats:")[1]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


def run_workflow(folder: Path, cfg: dict, cores: int, extra_config: list[str] | tuple = ()) -> float:
    """Run the workflow's default target in `folder` with `cfg` (plus `--config` items); the seconds
    it took. A failed run stops the benchmark with the tail of Snakemake's log.

    This is how benchmarks run the workflow: a work folder with its own config.yaml, Snakemake in a
    child process (as a user runs it), and the wall time it took."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(cfg))
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(folder),
           "--configfile", str(folder / "config.yaml"), "--cores", str(cores), "--quiet", "rules",
           *(["--config", *extra_config] if extra_config else [])]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{folder.name}: the workflow failed:\n{done.stderr[-4000:]}")
    return time.perf_counter() - start


# A confirmed KOI is the DR24 TCE at the same period to this fraction.
SAME_PERIOD = 0.002


def transits_with_data(time: np.ndarray, period: float, epoch: float, duration: float) -> int:
    """How many of the signal's transits hold at least one cadence within half a duration of mid-transit."""
    n = np.round((time - epoch) / period)
    inside = np.abs(time - (epoch + n * period)) < duration / 2
    return int(np.unique(n[inside]).size)


def kepler_signals(roots: list[Path]) -> tuple[pd.DataFrame, callable]:
    """Every star's DR24 TCEs plus its confirmed KOIs that are none of them; ``role`` says which rows count."""
    from exosieve.catalog.kepler import load_dr24
    from exosieve.config import load
    from exosieve.lightcurves.mast import find_kepler_lightcurves
    where = {star: root for root in reversed(roots) for star in star_folders(root)}
    dr24 = load_dr24(DR24, load()["catalog"]["labels"])[0]
    dr24 = dr24[dr24.star_id.isin(set(where))].copy()
    koi = pd.read_csv(SHARED_DATA / "catalogs" / "koi_cumulative.csv", comment="#")
    koi = koi[koi.kepid.astype(str).isin(set(where)) & (koi.koi_disposition == "CONFIRMED")]
    dr24["role"] = np.where(dr24.disposition.isin(["AFP", "NTP"]), "false positive", "neighbour")
    dr24["name"] = dr24.tce_id
    extra = []
    for k in koi.itertuples():
        star = str(k.kepid)
        same = dr24[(dr24.star_id == star) & (np.abs(dr24.period / k.koi_period - 1) < SAME_PERIOD)]
        name = k.kepler_name if isinstance(k.kepler_name, str) else k.kepoi_name
        if len(same):
            dr24.loc[same.index[0], ["role", "name"]] = ["planet", name]
            continue
        extra.append({"tce_id": k.kepoi_name, "star_id": star, "period": k.koi_period, "epoch": k.koi_time0bk,
                      "duration": k.koi_duration / 24.0, "depth": k.koi_depth, "disposition": "CONFIRMED",
                      "role": "planet", "name": name})
    signals = pd.concat([dr24, pd.DataFrame(extra)], ignore_index=True)
    return signals, lambda star: find_kepler_lightcurves(where[star], star)


def tess_signals(roots: list[Path]) -> tuple[pd.DataFrame, callable]:
    from exosieve.catalog.table import normalize_columns
    from exosieve.lightcurves.locate import index_folder
    files: dict[str, list[Path]] = {}
    for root in roots:        # any layout: files are matched to their star by name or header
        for star, paths in index_folder(root).items():
            files.setdefault(star, []).extend(paths)
    toi = pd.read_csv(SHARED_DATA / "catalogs" / "toi.csv", comment="#", low_memory=False)
    toi = toi[toi.tid.astype(str).isin(set(files))]
    tces, _ = normalize_columns(toi, TOI_COLUMNS, {"positive": ["CP", "KP"], "negative": ["FP", "FA"]},
                                epoch_offset=2457000, mission="tess")
    # The table comes back in star order: each TOI's name is found again by its star and period.
    names = {(str(t), round(float(p), 6)): f"TOI-{n}" for t, p, n in zip(toi.tid, toi.pl_orbper, toi.toi)}
    tces["tce_id"] = [names[(s, round(float(p), 6))] for s, p in zip(tces.star_id, tces.period)]
    tces["name"] = tces.tce_id
    disp = tces.disposition.astype(str).to_numpy()
    tces["role"] = np.select([np.isin(disp, ["CP", "KP"]), np.isin(disp, ["FP", "FA"])],
                             ["planet", "false positive"], "neighbour")
    return tces.reset_index(drop=True), lambda star: files[str(star)]



def score_confirmed_planets(signals: pd.DataFrame, find, models) -> pd.DataFrame:
    """Each star's signals scored together through exosieve.score (so that each one's views leave
    out its neighbours' transits), with how many of its transits hold data; a star with no usable
    light curve is said and left out."""
    from exosieve.lightcurves.reader import LightCurveError
    from exosieve.scoring import config_for, score, to_lightcurve
    cfg = config_for(models)
    rows = []
    for star, group in signals.groupby("star_id", sort=False):
        try:
            lc = to_lightcurve(find(star), star, cfg=cfg)
        except LightCurveError as exc:
            print(f"star {star}: no usable light curve ({exc}); its {len(group)} signal(s) left out")
            continue
        group = group.assign(transits=[transits_with_data(lc.time, p, e, d)
                                       for p, e, d in zip(group.period, group.epoch, group.duration)])
        cols = ["tce_id", "star_id", "period", "epoch", "duration", "depth"]
        out = score(lc, group[cols].to_dict("records"), models, star_id=star, attributions=False)
        rows.append(group[["tce_id", "star_id", "name", "role", "disposition", "transits"]].merge(
            out.drop(columns=["star_id"]), on="tce_id"))
    return pd.concat(rows, ignore_index=True)


def confirmed_shares(table: pd.DataFrame, model: str) -> dict:
    """What a user reads of a model on these signals: of the confirmed planets and of the real false
    positives with 2+ transits in the data, how many it scores at p >= 0.5 (planets) and above 0.5
    (false positives), with the planets' names below 0.5."""
    counted = table[(table.role != "neighbour") & (table.transits >= 2)]
    planets, fps = counted[counted.role == "planet"], counted[counted.role == "false positive"]
    hit, false = planets[model] >= 0.5, fps[model] > 0.5
    return {"planets": len(planets), "planets_at_half": int(hit.sum()), "false_positives": len(fps),
            "false_above_half": int(false.sum()), "median_planet": float(planets[model].median()),
            "missed": list(zip(planets.name[~hit], planets[model][~hit])),
            "false": list(zip(fps.name[false], fps[model][false])), "stars": int(counted.star_id.nunique()),
            "left_out": int(((table.role != "neighbour") & (table.transits < 2)).sum())}
