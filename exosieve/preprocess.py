"""Per-shard preprocessing: read each star's light curve once, detrend it with all its TCEs'
transits masked, then fold and bin every TCE into views and measure its scalar features.

Reruns are incremental per star: each shard row records its star's input digest (catalog rows
and light-curve files, ``star_digest``), and a rerun keeps the rows of every star whose digest,
settings and code are unchanged, preprocessing only the rest. A catalog update that touches 1% of
the stars redoes about 1% of the work, although it touches most shards
(benchmarks/incremental.py).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from .catalog.ephemeris import same_signal
from .catalog.table import STELLAR_COLUMNS
from .detrend import detrend, fit_trend, robust_std, transit_mask
from .features import measure_features
from .lightcurves.reader import read_configured
from .shards import ShardData, ShardError, ShardSet, provenance, write_shard
from .utils import FAILURE_COLUMNS, FLAGGED_STAGE, TargetError, atomic_output
from .views import ViewMaker, array_shape, phase_fold, raw_flux_fold, raw_flux_view, shard_arrays

log = logging.getLogger(__name__)


def foreign_transits(time: np.ndarray, phase: np.ndarray, tce, others: pd.DataFrame, width: float) -> np.ndarray:
    """Cadences in the transits of the star's other TCEs that cannot be this TCE's own signal
    (``same_signal``): left out of every view and feature of this TCE, or a second planet's
    transits fold into its secondary, odd/even and global views at the wrong period. A cadence in
    this TCE's own transit is never left out, whoever else transits then."""
    duration = float(tce.duration)
    foreign = others[~same_signal(float(tce.period), others.period.to_numpy())]
    if foreign.empty:
        return np.zeros(time.size, bool)
    mask = transit_mask(time, foreign.period, foreign.epoch, foreign.duration, width)
    return mask & (np.abs(phase) >= duration)


# A TCE whose views hold fewer in-transit cadences than this says nothing of its transit's shape.
MIN_IN_TRANSIT_CADENCES = 3
# A catalog depth this many times the fold's noise must show in the light curve; a measured depth
# under DEPTH_SHORTFALL of it says the transit did not reach the views (or the catalog is wrong).
EXPECTED_SNR = 7.0
DEPTH_SHORTFALL = 0.3
# Without a catalog depth to expect, a fold whose in-transit cadences sit within this many sigma
# of the out-of-transit level shows no dip at all at the given ephemeris: a detection's TCE stands
# at 7 or more (Kepler's threshold is 7.1), a wrong epoch near 0.
NO_DIP_SNR = 3.0


def transit_flag(phase: np.ndarray, flux: np.ndarray, duration: float, catalog_depth: float,
                 measured: dict) -> str:
    """Why the views of a TCE may not hold its transit, in words ('' when they do): too few
    in-transit cadences, a single transit, or a depth far below the catalog's where the catalog's
    depth would stand well above the noise. Scored all the same, with this flag beside the score:
    a model that never saw the transit must not read as confident that there is no planet.
    Without a catalog depth, a fold with no dip above the noise is flagged as such."""
    in_transit = np.abs(phase) < 0.5 * duration
    n_in = int(in_transit.sum())
    reasons = []
    if n_in < MIN_IN_TRANSIT_CADENCES:
        reasons.append(f"only {n_in} in-transit cadence(s) in its views")
    if measured.get("n_transits", 2) < 2:
        reasons.append("a single transit in the light curve: nothing confirms its period")
    if np.isfinite(catalog_depth) and catalog_depth > 0 and n_in:
        out = np.abs(phase) > duration
        scatter = robust_std(flux[out]) if out.sum() > 10 else float("nan")
        expected_snr = catalog_depth * 1e-6 / (scatter / np.sqrt(n_in)) if scatter > 0 else 0.0
        if expected_snr > EXPECTED_SNR and measured.get("depth", 0.0) < DEPTH_SHORTFALL * catalog_depth:
            reasons.append(f"its depth in the light curve, {measured.get('depth', 0.0):.0f} ppm, is far below the "
                           f"catalog's {catalog_depth:.0f} ppm")
    elif n_in and measured.get("snr", 0.0) < NO_DIP_SNR:
        reasons.append(f"no dip at this ephemeris: {measured.get('depth', 0.0):.0f} ppm in transit, "
                       f"{measured.get('snr', 0.0):.1f} sigma; check the period, epoch and duration")
    return "; ".join(reasons)


# How the flag of a light curve without centroids begins (scoring drops it where no model reads them).
NO_CENTROIDS = "no centroid data"


def tce_views_and_features(star: "DetrendedStar", tce, all_tces, cfg) -> tuple[dict, dict]:
    """Views and measured features of one TCE from its star's detrended light curve, the other
    TCEs' transits left out unless they may be this TCE's own signal (``foreign_transits``).
    ``features["flag"]`` says why its score may not be trusted (``transit_flag``), '' if nothing."""
    period, epoch, duration = float(tce.period), float(tce.epoch), float(tce.duration)
    phase = phase_fold(star.time, period, epoch)
    if not (np.abs(phase) < 0.5 * duration).any():
        baseline = float(star.time[-1] - star.time[0])
        longer = (f"; its period {period:.4g} d is longer than the {baseline:.4g} d the light curve spans"
                  if period > baseline else "")
        raise TargetError(f"TCE {tce.tce_id}: no cadence falls inside any transit "
                          f"(P={period:.5g} d, epoch={epoch:.5g}, duration={duration * 24:.3g} h){longer}")
    others = all_tces[all_tces.tce_id != tce.tce_id]
    width = cfg["detrend"]["mask_durations"]
    own = ~foreign_transits(star.time, phase, tce, others, width)
    time, flux, phase = star.time[own], star.flux[own], phase[own]
    d_east, d_north = star.d_east[own], star.d_north[own]
    other_mask = transit_mask(time, others.period, others.epoch, others.duration, width)
    measured = measure_features(time, phase, flux, d_east, d_north, duration, period, epoch, other_mask)
    keep = slice(None)
    if cfg["views"].get("outlier_sigma"):
        # Upper outliers only (flares, cosmic rays, as lightkurve's remove_outliers clips): DART-
        # Vetter's two-sided clip of the DR24 views erased every in-transit cadence of a deep,
        # short-duty-cycle transit, and a preprocessing that copies it scores a plain planet as
        # noise (a 6,092 ppm PC at 71.5 d scored 0.002). Transits and eclipses are dips: no clip
        # of the lower side keeps them whatever their depth.
        from astropy.stats import sigma_clip
        keep = ~np.ma.getmaskarray(sigma_clip(flux, sigma_lower=np.inf, sigma_upper=cfg["views"]["outlier_sigma"],
                                              maxiters=5))
    trend = star.trend[own][keep] if star.trend is not None else None
    maker = ViewMaker(time[keep], flux[keep], d_east[keep], d_north[keep], period, epoch, duration,
                      cfg["views"], phase[keep], trend=trend, dump_times=star.dump_times,
                      others_mask=other_mask[keep], mask_half=0.5 * width)
    names = [n for n in shard_arrays(cfg) if not n.startswith("raw_flux")]
    views = maker.make(names, measured["secondary_phase"])
    if star.raw_flux is not None:
        views["raw_flux"] = star.raw_flux
        views["raw_flux_fold"] = raw_flux_fold(time, flux, period, epoch, duration, cfg["views"]["raw_flux_bins"])
    features = {"period": period, "duration": duration * 24.0, **measured}
    for col in STELLAR_COLUMNS:
        features[col] = float(getattr(tce, col)) if pd.notna(getattr(tce, col, np.nan)) else np.nan
    depth = pd.to_numeric(getattr(tce, "depth", np.nan), errors="coerce")
    features["flag"] = transit_flag(phase[keep], flux[keep], duration, float(depth), measured)
    if not np.isfinite(star.d_east).any():
        # No centroid at any cadence (TGLC has none): the centroid views would be zeros, read as
        # "no centroid motion"; they are marked missing instead and scored as each model's
        # occlusion value (evaluation.read_as_missing), the centroid features left NaN.
        absent = [n for n in views if n.startswith("centroid")]
        features["missing"] = ",".join(absent)
        products = "/".join(p.upper() for p in star.no_centroid_products) or "these light curves"
        note = (f"{NO_CENTROIDS} ({products}): centroid {'branch' if absent else 'features'} read as missing")
        features["flag"] = "; ".join(part for part in (features["flag"], note) if part)
    return views, features



@dataclass
class DetrendedStar:
    time: np.ndarray
    flux: np.ndarray           # relative flux, trend divided out
    d_east: np.ndarray         # centroid residuals on the sky [arcsec] (east, north), each file's
    d_north: np.ndarray        # trend subtracted in its own pixels, then turned by its own WCS
    raw_flux: np.ndarray | None  # the raw_flux baseline's input, when that model is enabled
    trend: np.ndarray | None = None        # the trend divided out (relative), for the flux_trend view
    dump_times: np.ndarray | None = None   # momentum dumps, for the momentum_dump view
    no_centroid_products: tuple = ()       # the products read, when none of their cadences has a centroid


def detrend_star(lc, star_tces: pd.DataFrame, cfg) -> DetrendedStar:
    """Detrend flux (divide; ``detrend.method``) and centroids (subtract; the spline) with every
    TCE's transits masked. Centroid
    residuals are taken in each file's own pixels against its own out-of-transit trend (segments
    never span files), then turned into offsets on the sky by that file's WCS, so that quarters
    or sectors seen at other orientations (TESS: other cameras) add up instead of cancelling."""
    d = cfg["detrend"]
    spline = dict(segment=lc.segment, knot_spacing=d["knot_spacing"], gap=d["gap"],
                  sigma_clip=d["sigma_clip"], iterations=d["iterations"])
    flat, mask = detrend(lc.time, lc.flux, star_tces.period.to_numpy(), star_tces.epoch.to_numpy(),
                         star_tces.duration.to_numpy(), mask_durations=d["mask_durations"], flux_err=lc.flux_err,
                         method=d["method"], window_length=d["window_length"], polyorder=d["polyorder"], **spline)
    good = np.isfinite(flat)
    residuals = []
    for centroid in (lc.centroid_col, lc.centroid_row):
        res = np.full(lc.time.size, np.nan)
        ok = np.isfinite(centroid)
        if ok.sum() > 10:
            seg = spline["segment"][ok] if spline["segment"] is not None else None
            res[ok] = centroid[ok] - fit_trend(lc.time[ok], centroid[ok], mask[ok],
                                               **{**spline, "segment": seg})
        residuals.append(res)
    east, north = lc.centroid_on_sky(*residuals)
    trend = (lc.flux / flat)[good]
    time, flat = lc.time[good], flat[good]
    raw = None
    if "raw_flux" in cfg["models"]["enabled"]:
        raw = raw_flux_view(time, flat, cfg["views"]["raw_flux_bins"])
    return DetrendedStar(time, flat, east[good], north[good], raw, trend, getattr(lc, "dump_times", None),
                         () if lc.has_centroids else tuple(getattr(lc, "product_names", [])))


def preprocess_star(paths, star_tces: pd.DataFrame, cfg) -> tuple[list, list]:
    """(results, failures) for one star: a result is (tce row, views, features); a failure is a
    TCE that could not be made into views, or (``tce_id`` empty, stage ``file``) a light-curve file
    that was skipped."""
    star_id = str(star_tces.star_id.iloc[0])
    mission = "tess" if star_tces.mission.iloc[0] == "tess" else "kepler"
    lc = read_configured(paths, star_id, cfg["lightcurves"], mission)
    results, errors = star_views(lc, star_tces, cfg)
    # A skipped file costs no TCE, but is recorded (tce_id empty) so that nothing is lost silently.
    failures = [{"tce_id": "", "star_id": star_id, "stage": "file", "error": why} for _, why in lc.skipped]
    failures += [{"tce_id": tce_id, "star_id": star_id, "stage": "preprocess", "error": error}
                 for tce_id, error in errors.items()]
    return results, failures


def star_views(lc, star_tces: pd.DataFrame, cfg) -> tuple[list, dict[str, str]]:
    """(results, errors by tce_id) for one star's TCEs: a result is (tce row, views, features).
    The star is detrended once with every TCE's transits masked or, with ``detrend.mask_others``
    off, once per TCE with only its own masked (as DART-Vetter made the DR24 views)."""
    shared = detrend_star(lc, star_tces, cfg) if cfg["detrend"]["mask_others"] else None
    results, errors = [], {}
    for i, tce in enumerate(star_tces.itertuples(index=False)):
        try:
            star = shared if shared is not None else detrend_star(lc, star_tces.iloc[[i]], cfg)
            views, feats = tce_views_and_features(star, tce, star_tces, cfg)
            results.append((tce, views, feats))
        except TargetError as exc:
            errors[tce.tce_id] = str(exc)
    return results, errors


def preprocess_stars(tces: pd.DataFrame, files: dict[str, list], skip: set[str], cfg: dict,
                     desc: str = "preprocess", progress: bool = True) -> tuple[list, list]:
    """(results, failures) for every star of ``tces`` but those in ``skip`` (already failed);
    ``files`` maps star id -> its light-curve paths. A star that fails costs only its own TCEs."""
    results, failures = [], []
    stars = list(tces.groupby("star_id", sort=True))
    for star_id, star_tces in tqdm(stars, desc=desc, unit="star", disable=not progress, mininterval=5):
        if star_id in skip:
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
    return results, failures


def star_digest(star_tces: pd.DataFrame, paths: list) -> str:
    """What a star's shard rows depend on besides the settings and the code (both recorded in the
    shard): its catalog rows and its light-curve files (path, size, modification time, as make
    and Snakemake judge files). Labels are not in the catalog rows a shard sees."""
    digest = hashlib.sha256(star_tces.to_csv(index=False).encode())
    for path in sorted(map(str, paths)):
        try:
            st = os.stat(path)
            digest.update(f"\0{path}\0{st.st_size}\0{st.st_mtime_ns}".encode())
        except OSError:
            digest.update(f"\0{path}\0missing".encode())
    return digest.hexdigest()[:16]


def read_targets(path: str | Path) -> pd.DataFrame:
    """A shard's target list (assign_shards): the catalog rows of its stars, labels left out."""
    return pd.read_csv(path, dtype={"tce_id": str, "star_id": str})


def star_digests(targets: pd.DataFrame, files: dict[str, list]) -> dict[str, str]:
    """star id -> star_digest, for every star of a target list (``files``: star id -> its paths)."""
    return {sid: star_digest(rows, files.get(sid, [])) for sid, rows in targets.groupby("star_id", sort=True)}


def failed_stars(failures_csv: str | Path) -> set[str]:
    """Stars with a failure in a shard's manifest (a flagged TCE was scored: no failure)."""
    path = Path(failures_csv)
    if not path.exists() or not path.stat().st_size:
        return set()
    manifest = pd.read_csv(path, dtype=str)
    return set(manifest.loc[manifest.stage != FLAGGED_STAGE, "star_id"].dropna())


def kept_stars(held: pd.DataFrame, failed: set[str], digests: dict[str, str], targets: pd.DataFrame) -> set[str]:
    """Stars whose rows a shard made with these settings and this code (``held``: its tce_id,
    star_id, input_digest) may lend to a rerun: same digest, no failure, every TCE still there."""
    if held.empty:
        return set()
    wanted = targets.groupby("star_id")["tce_id"].apply(frozenset)
    has = held.groupby("star_id")["tce_id"].apply(frozenset)
    same = (held["input_digest"] == held["star_id"].map(digests)).groupby(held["star_id"]).all()
    return {sid for sid in has.index if sid in wanted.index and has[sid] == wanted[sid] and same[sid]
            and sid not in failed}


def previous_shard(shard_h5: str | Path, cfg: dict) -> ShardSet | None:
    """The shard a rerun replaces, when it was made with these settings and this code."""
    from .config import preprocessing_code_hash, preprocessing_hash
    if not Path(shard_h5).exists():
        return None
    try:
        old = ShardSet([shard_h5])
    except ShardError as exc:
        log.warning("%s cannot be reused, every star is preprocessed again: %s", shard_h5, exc)
        return None
    if (old.attrs.get("config_hash") != preprocessing_hash(cfg)
            or old.attrs.get("code_hash") != preprocessing_code_hash()):
        old.close()
        return None
    return old


def reusable_rows(shard_h5: str | Path, failures_csv: str | Path, digests: dict[str, str],
                  targets: pd.DataFrame, cfg: dict) -> ShardData | None:
    """The rows of the shard being replaced that a rerun may keep (``kept_stars``); None when
    there is no shard made with these settings and this code."""
    old = previous_shard(shard_h5, cfg)
    if old is None:
        return None
    with old:
        keep = kept_stars(old.meta, failed_stars(failures_csv), digests, targets)
        return old.read(np.flatnonzero(old.meta["star_id"].isin(keep).to_numpy()))


def preprocess_shard(targets_csv: str | Path, lightcurve_index: str | Path, cfg: dict,
                     shard: str, out_h5: str | Path, failures_csv: str | Path,
                     lightcurve_failures: str | Path | None = None, progress: bool = True) -> dict:
    """Build one HDF5 shard and its failure manifest, keeping the rows of the shard it replaces
    whose inputs did not change (``reusable_rows``); returns counts."""
    started = time.perf_counter()
    targets = read_targets(targets_csv)
    index = pd.read_csv(lightcurve_index, dtype={"star_id": str})
    files = index.groupby("star_id")["path"].apply(list).to_dict()
    failures: list[dict] = []
    if lightcurve_failures and Path(lightcurve_failures).exists():
        failures += pd.read_csv(lightcurve_failures, dtype=str).to_dict("records")
    digests = star_digests(targets, files)
    kept = reusable_rows(out_h5, failures_csv, digests, targets, cfg)
    kept_ids = set(kept.meta.star_id) if kept is not None else set()
    todo = targets[~targets.star_id.isin(kept_ids)]
    results, fail = preprocess_stars(todo, files, {f["star_id"] for f in failures}, cfg,
                                     desc=f"shard {shard}", progress=progress)
    failures += fail
    data = assemble(results, cfg)
    if kept is not None:
        data = ShardData.concat([kept, data])
    # Rows in the target list's order, digests as of now: a rerun writes what a first run would.
    position = pd.Series(np.arange(len(targets)), index=targets.tce_id)
    data = data.subset(np.argsort(position[data.meta.tce_id].to_numpy(), kind="stable"))
    data.meta["input_digest"] = data.meta.star_id.map(digests)
    if len(targets) and not len(data):
        # An empty shard plus its manifest, not a failed job: one shard of bad stars must not stop
        # the run's other shards or its report, which lists these failures.
        log.warning("shard %s: none of its %d TCEs could be preprocessed; first error: %s", shard, len(targets),
                    failures[0]["error"] if failures else "unknown")
    write_shard(out_h5, data, provenance(cfg, shard))
    for f in failures:
        log.warning("%s", f["error"])
    # Scored, but listed with why the score may not be trusted (the report reads each TCE's flag
    # from here). Taken from the shard's rows, kept stars' included: a rerun lists what a first
    # run would.
    flagged = data.meta[data.meta["flag"].fillna("") != ""]
    flagged_rows = [{"tce_id": t, "star_id": s, "stage": FLAGGED_STAGE, "error": f"TCE {t}: {flag}"}
                    for t, s, flag in zip(flagged.tce_id, flagged.star_id, flagged.flag)]
    if flagged_rows:
        # One line, not one per TCE: a survey can flag hundreds.
        log.warning("shard %s: %d of its %d TCEs scored with a flag, their scores not to be trusted (first: %s); "
                    "each with its reason in %s (stage %s) and in the report's vetted catalog", shard,
                    len(flagged_rows), len(data), flagged_rows[0]["error"], failures_csv, FLAGGED_STAGE)
    fail_df = pd.DataFrame(failures + flagged_rows, columns=FAILURE_COLUMNS)
    with atomic_output(failures_csv, ".csv") as tmp:
        fail_df.to_csv(tmp, index=False)
    n_stars = len(digests)
    log.info("shard %s: %d TCEs (%d failed, %d flagged); stars preprocessed: %d of %d (%d kept, inputs unchanged) "
             "in %.1f s", shard, len(data), len(failures), len(flagged_rows), n_stars - len(kept_ids), n_stars,
             len(kept_ids), time.perf_counter() - started)
    return {"tces": len(data), "failures": len(failures), "flagged": len(flagged_rows),
            "stars_preprocessed": n_stars - len(kept_ids), "stars_kept": len(kept_ids)}


def assemble(results, cfg) -> ShardData:
    """Preprocessed TCEs (``preprocess_stars``' (tce, views, features) triples) as the rows a
    shard holds: the inputs every scorer reads."""
    names = list(cfg["features"])
    meta = pd.DataFrame([{"tce_id": t.tce_id, "star_id": t.star_id, "period": t.period, "epoch": t.epoch,
                          "duration": t.duration, "flag": f.get("flag", ""), "missing": f.get("missing", "")}
                         for t, _, f in results],
                        columns=["tce_id", "star_id", "period", "epoch", "duration", "flag", "missing"])
    views = {v: np.array([r[1][v] for r in results], np.float32).reshape(len(results), *array_shape(v, cfg["views"]))
             for v in shard_arrays(cfg)}
    scalars = np.array([[r[2].get(n, np.nan) for n in names] for r in results], float)
    # A feature beyond float32 (a flux spike of 1e38 makes a depth of that size) is no measurement.
    with np.errstate(invalid="ignore"):
        scalars[~(np.abs(scalars) <= np.finfo(np.float32).max)] = np.nan
    scalars = scalars.astype(np.float32)
    return ShardData(meta=meta, views=views, scalars=scalars.reshape(len(results), len(names)),
                     scalar_names=names)
