"""Per-shard preprocessing: read each star's light curve once, detrend it with all its TCEs'
transits masked, then fold and bin every TCE into views and measure its scalar features."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from . import __version__
from .catalog.table import STELLAR_COLUMNS
from .config import preprocessing_hash
from .detrend import detrend, transit_mask
from .features import transit_statistics
from .lightcurves.reader import read_kepler_lightcurve
from .shards import ShardData, write_shard
from .utils import TargetError, atomic_output
from .views import global_view, local_view, phase_fold

log = logging.getLogger(__name__)
FAILURE_COLUMNS = ["tce_id", "star_id", "stage", "error"]


def tce_views_and_features(time, flux, tce, all_tces, cfg) -> tuple[dict, dict]:
    """Views and measured features of one TCE from its star's detrended light curve."""
    period, epoch, duration = float(tce.period), float(tce.epoch), float(tce.duration)
    baseline = float(time[-1] - time[0])
    if period > baseline:
        raise TargetError(f"TCE {tce.tce_id}: period {period:.4g} d is longer than the "
                          f"{baseline:.4g} d the light curve spans; it cannot be folded")
    phase = phase_fold(time, period, epoch)
    in_transit = np.abs(phase) < 0.5 * duration
    if not in_transit.any():
        raise TargetError(f"TCE {tce.tce_id}: no cadence falls inside any transit "
                          f"(P={period:.5g} d, epoch={epoch:.5g}, duration={duration * 24:.3g} h)")
    vcfg = cfg["views"]
    order = np.argsort(phase, kind="stable")
    phase, folded = phase[order], flux[order]
    views = {}
    if "global" in vcfg["enabled"]:
        views["global"] = global_view(phase, folded, period, vcfg["global_bins"])
    if "local" in vcfg["enabled"]:
        views["local"] = local_view(phase, folded, duration, vcfg["local_bins"], vcfg["local_durations"])
    others = all_tces[all_tces.tce_id != tce.tce_id]
    other_mask = transit_mask(time, others.period, others.epoch, others.duration,
                              cfg["detrend"]["mask_durations"])[order]
    stats = transit_statistics(time[order], phase, folded, duration, period, epoch, other_mask)
    features = {"period": period, "duration": duration * 24.0, **stats}
    for col in STELLAR_COLUMNS:
        features[col] = float(getattr(tce, col)) if pd.notna(getattr(tce, col, np.nan)) else np.nan
    return views, features


def preprocess_star(paths, star_tces: pd.DataFrame, cfg) -> tuple[list, list]:
    """(results, failures) for one star: a result is (tce row, views, features)."""
    star_id = str(star_tces.star_id.iloc[0])
    lc = read_kepler_lightcurve(paths, star_id, cfg["lightcurves"]["flux_column"],
                                cfg["lightcurves"]["quality_bitmask"])
    d = cfg["detrend"]
    flat, _ = detrend(lc.time, lc.flux, star_tces.period.to_numpy(), star_tces.epoch.to_numpy(),
                      star_tces.duration.to_numpy(), segment=lc.segment, knot_spacing=d["knot_spacing"],
                      gap=d["gap"], mask_durations=d["mask_durations"], sigma_clip=d["sigma_clip"],
                      iterations=d["iterations"])
    good = np.isfinite(flat)
    time, flat = lc.time[good], flat[good]
    results, failures = [], []
    for tce in star_tces.itertuples(index=False):
        try:
            views, feats = tce_views_and_features(time, flat, tce, star_tces, cfg)
            results.append((tce, views, feats))
        except TargetError as exc:
            failures.append({"tce_id": tce.tce_id, "star_id": star_id, "stage": "preprocess",
                             "error": str(exc)})
    return results, failures


def preprocess_shard(targets_csv: str | Path, lightcurve_index: str | Path, cfg: dict,
                     shard: str, out_h5: str | Path, failures_csv: str | Path,
                     lightcurve_failures: str | Path | None = None, progress: bool = True) -> dict:
    """Build one HDF5 shard and its failure manifest; returns counts."""
    targets = pd.read_csv(targets_csv, dtype={"tce_id": str, "star_id": str, "disposition": str})
    targets["disposition"] = targets["disposition"].fillna("")
    index = pd.read_csv(lightcurve_index, dtype={"star_id": str})
    files = index.groupby("star_id")["path"].apply(list).to_dict()
    failures: list[dict] = []
    if lightcurve_failures and Path(lightcurve_failures).exists():
        failures += pd.read_csv(lightcurve_failures, dtype=str).to_dict("records")
    failed_stars = {f["star_id"] for f in failures}
    results = []
    stars = list(targets.groupby("star_id", sort=True))
    for star_id, star_tces in tqdm(stars, desc=f"shard {shard}", unit="star", disable=not progress,
                                   mininterval=5):
        if star_id in failed_stars:
            continue
        try:
            res, fail = preprocess_star(files.get(star_id, []), star_tces, cfg)
        except TargetError as exc:
            res, fail = [], [{"tce_id": t, "star_id": star_id, "stage": "preprocess", "error": str(exc)}
                             for t in star_tces.tce_id]
        except Exception as exc:  # one star's surprise must not cost the other stars their results
            log.error("star %s: unexpected error\n%s", star_id, traceback.format_exc())
            res, fail = [], [{"tce_id": t, "star_id": star_id, "stage": "preprocess",
                              "error": f"star {star_id}: unexpected {type(exc).__name__}: {exc}"}
                             for t in star_tces.tce_id]
        results += res
        failures += fail
    if len(targets) and not results:
        raise RuntimeError(f"shard {shard}: every one of its {len(targets)} TCEs failed; first error: "
                           f"{failures[0]['error'] if failures else 'unknown'}")
    data = _assemble(results, cfg)
    write_shard(out_h5, data, {"config_hash": preprocessing_hash(cfg), "source": cfg["catalog"]["source"],
                               "shard": shard, "exosieve_version": __version__})
    fail_df = pd.DataFrame(failures, columns=FAILURE_COLUMNS)
    with atomic_output(failures_csv, ".csv") as tmp:
        fail_df.to_csv(tmp, index=False)
    for f in failures:
        log.warning("%s", f["error"])
    log.info("shard %s: %d TCEs preprocessed, %d failed", shard, len(results), len(failures))
    return {"tces": len(results), "failures": len(failures)}


def _assemble(results, cfg) -> ShardData:
    names = list(cfg["features"])
    enabled = list(cfg["views"]["enabled"])
    sizes = {"global": cfg["views"]["global_bins"], "local": cfg["views"]["local_bins"]}
    meta = pd.DataFrame([{"tce_id": t.tce_id, "star_id": t.star_id, "disposition": t.disposition,
                          "label": int(t.label), "period": t.period, "epoch": t.epoch,
                          "duration": t.duration} for t, _, _ in results],
                        columns=["tce_id", "star_id", "disposition", "label", "period", "epoch", "duration"])
    views = {v: np.array([r[1][v] for r in results], np.float32).reshape(len(results), sizes[v])
             for v in enabled}
    scalars = np.array([[r[2].get(n, np.nan) for n in names] for r in results], np.float32)
    return ShardData(meta=meta, views=views, scalars=scalars.reshape(len(results), len(names)),
                     scalar_names=names)
