"""Scoring any signal with trained models: ``exosieve.score`` for lightkurve users, and the
``exosieve score`` command for one ephemeris.

Light curves may be a lightkurve ``LightCurve`` or ``LightCurveCollection``, light-curve FITS
files of any product (Kepler, SPOC, TESS-SPOC, QLP, TGLC, eleanor, lightkurve-written:
``lightcurves.products``), a folder of any layout or glob patterns (files matched to the star by
name or header: ``lightcurves.locate``), or plain arrays (a dict with ``time``, ``flux``
and optionally ``flux_err``, ``quality``, ``centroid_col``, ``centroid_row``, ``segment``), or a
dict of those by star id. Each signal is an ephemeris: ``period`` [d], ``epoch``, ``duration``
[d] (or ``duration_hours``), optionally ``depth`` [ppm], ``star_id`` and ``tce_id``. Times are
the mission's (BKJD for Kepler, BTJD for TESS) unless ``time_system`` says BJD (or BKJD/BTJD); with
no ``time_system`` named, an epoch above 2,400,000 is read as BJD (no mission's own system reaches
such values), and the log and the result's ``epoch_read_as`` (the system each epoch was read in;
``epoch`` itself is on the light curves' system) say so.

Models are a finished run's folder or a bundle (``exosieve export-models``). Scoring uses the
preprocessing settings the models record (the views geometry, detrending, features), through the
workflow's own reader, detrending, views and features: nothing is implemented twice. The result
is one row per signal: per model the calibrated probability (mean over folds), its spread, the raw
score, and per-branch attributions by occlusion; ``status`` and ``error`` say what went wrong for
a signal that could not be scored, and what to change. A signal whose transit did not reach its
views (too few in-transit cadences, a single transit, a depth far below the one given) is scored
with ``status`` ``flagged`` and the reason in ``flag``: its score is no confident verdict. So is a
signal unlike what the models learned from (``domain.domain_flags``): another mission's light
curve, a measured period, duration, depth or transit count outside their training TCEs' range, or
views far from every training TCE's.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from .catalog.table import STELLAR_COLUMNS
from .config import later_reading_defaults
from .domain import unlike_training, with_reasons
from .evaluation import ensemble_scores
from .lightcurves.reader import MISSION_BJD_REFERENCE, LightCurve, lightcurve_from_arrays
from .model_files import ModelSet, load_models
from .utils import TargetError

log = logging.getLogger(__name__)

TIME_SYSTEMS = {"BKJD": ("kepler", MISSION_BJD_REFERENCE["kepler"]), "BTJD": ("tess", MISSION_BJD_REFERENCE["tess"]),
                "BJD": (None, 0.0)}
# An epoch above this is a (B)JD whatever system it was meant in: BKJD and BTJD are BJD less
# 2454833 and 2457000, tens of thousands of days at most for any real light curve.
BJD_EPOCHS_ABOVE = 2_400_000.0


def read_as_bjd_note(epoch: float, option: str = "time_system") -> str:
    """What to tell a user whose epoch, given with no time system, was read as BJD by its value;
    ``option`` is how they name one (``time_system`` in Python, ``--time-system`` on the command line)."""
    return f"epoch {epoch:.2f} read as BJD (above 2,400,000); name {option} to say otherwise"


# How a light curve is read when no models say otherwise: the reader's defaults.
DEFAULT_READING = {"flux_column": "PDCSAP_FLUX", "quality_bitmask": "default"}


class ScoreError(ValueError):
    """Input that cannot be scored at all (no models, no signal, unknown time system)."""


def _mission_of_lightkurve(lc) -> str:
    mission = str(lc.meta.get("MISSION") or lc.meta.get("TELESCOP") or "").lower()
    return "tess" if "tess" in mission else "kepler"


def _from_lightkurve(obj, star_id, quality_mask: str) -> LightCurve:
    """A lightkurve LightCurve or LightCurveCollection, each light curve one segment; its times
    are the mission's (lightkurve keeps them as BKJD or BTJD)."""
    parts = list(obj) if hasattr(obj, "stitch") else [obj]
    mission = _mission_of_lightkurve(parts[0])
    star = star_id or parts[0].meta.get("KEPLERID") or parts[0].meta.get("TICID") or parts[0].meta.get("OBJECT")
    columns = {k: [] for k in ("time", "flux", "flux_err", "quality", "centroid_col", "centroid_row", "segment")}
    for i, lc in enumerate(parts):
        n = len(lc)
        columns["time"].append(np.asarray(lc.time.value, float))
        columns["flux"].append(np.asarray(getattr(lc.flux, "value", lc.flux), float))
        err = getattr(lc, "flux_err", None)
        columns["flux_err"].append(np.asarray(getattr(err, "value", err), float) if err is not None else np.full(n, np.nan))
        quality = lc["quality"] if "quality" in lc.colnames else np.zeros(n)
        columns["quality"].append(np.asarray(getattr(quality, "value", quality)).astype(np.int64))
        for name in ("centroid_col", "centroid_row"):
            col = lc[name] if name in lc.colnames else np.full(n, np.nan)
            columns[name].append(np.asarray(getattr(col, "value", col), float))
        columns["segment"].append(np.full(n, i))
    arrays = {k: np.concatenate(v) for k, v in columns.items()}
    return lightcurve_from_arrays(str(star).replace("KIC", "").replace("TIC", "").strip(), mission=mission,
                                  quality_mask=quality_mask, **arrays)


def _is_lightkurve(obj) -> bool:
    return hasattr(obj, "time") and hasattr(obj, "flux") and hasattr(obj, "meta") or hasattr(obj, "stitch")


def to_lightcurve(obj, star_id=None, time_system: str | None = None, cfg: dict | None = None) -> LightCurve:
    """Any supported light-curve input as the reader's LightCurve."""
    from .lightcurves.reader import header_target
    lc_cfg = (cfg or {}).get("lightcurves", DEFAULT_READING)
    if isinstance(obj, LightCurve):
        return obj
    if _is_lightkurve(obj):
        return _from_lightkurve(obj, star_id, lc_cfg["quality_bitmask"])
    if isinstance(obj, dict):
        if "time" not in obj or "flux" not in obj:
            raise ScoreError("light curve arrays need at least 'time' and 'flux'")
        system = (time_system or obj.get("time_system") or "").upper()
        if system not in TIME_SYSTEMS:
            raise ScoreError(f"name the arrays' time system: time_system='BKJD', 'BTJD' or 'BJD' (got {system or 'none'})")
        mission = obj.get("mission") or TIME_SYSTEMS[system][0] or "kepler"
        offset = -MISSION_BJD_REFERENCE[mission] if system == "BJD" else 0.0
        arrays = {k: obj.get(k) for k in ("flux_err", "quality", "centroid_col", "centroid_row", "segment")}
        return lightcurve_from_arrays(str(star_id or obj.get("star_id") or "0"), obj["time"], obj["flux"],
                                      mission=mission, time_offset=offset, quality_mask=lc_cfg["quality_bitmask"],
                                      **arrays)
    paths = lightcurve_files(obj, star_id)
    from astropy.io import fits
    with fits.open(paths[0], memmap=False) as hdul:
        header = hdul[0].header
        star = str(star_id or header_target(header) or "")
        # TIC_ID: eleanor's header names its star so, and may name no telescope
        tess = "TESS" in str(header.get("TELESCOP", "")).upper() or header.get("TICID") or header.get("TIC_ID")
        mission = "tess" if tess else "kepler"
    from .lightcurves.reader import read_configured
    lc = read_configured(paths, star, lc_cfg, mission)
    for name, why in lc.unused:
        log.info("%s not used: %s", name, why)
    return lc


def _explicit_files(obj) -> bool:
    items = [obj] if isinstance(obj, (str, Path)) else list(obj)
    return bool(items) and all(Path(str(p)).is_file() for p in items)


def lightcurve_files(obj, star_id=None) -> list[Path]:
    """The light-curve files ``obj`` names for one star: files as given (a file of another star is
    skipped by the reader, with its reason), or a folder of any layout and glob patterns, whose
    files are matched to ``star_id`` by name or header (``lightcurves.locate``)."""
    from .lightcurves.locate import expand_sources, index_files
    if _explicit_files(obj):
        return [Path(obj)] if isinstance(obj, (str, Path)) else [Path(p) for p in obj]
    try:
        paths = expand_sources(obj)
    except FileNotFoundError as exc:
        raise ScoreError(str(exc)) from exc
    if not paths:
        raise ScoreError(f"no light-curve file given (no FITS file in {obj})")
    by_star = index_files(paths)
    if star_id not in (None, ""):
        key = str(int(str(star_id).strip()))
        if key not in by_star:
            raise ScoreError(f"no light curve of star {key} among the {len(paths)} FITS file(s) of {obj} (matched "
                             "by MAST's file names and by each file's TICID, KEPLERID, TIC_ID or OBJECT header)")
        return by_star[key]
    if len(by_star) != 1:
        raise ScoreError(f"{obj} holds light curves of {len(by_star)} stars ({', '.join(sorted(by_star)[:5])}"
                         f"{', ...' if len(by_star) > 5 else ''}); name the star (star_id) or give each ephemeris "
                         "its star_id")
    return next(iter(by_star.values()))


def _by_star(lightcurves, ephemerides, star_id) -> dict:
    """Light curves by star id: a dict as given; a folder or glob of several stars' files split
    by star when the ephemerides name their stars; else everything as one star's."""
    if isinstance(lightcurves, dict) and "time" not in lightcurves:
        return lightcurves
    if star_id is None and isinstance(lightcurves, (str, Path, list, tuple)) and not _explicit_files(lightcurves):
        table = pd.DataFrame([ephemerides] if isinstance(ephemerides, dict) else ephemerides)
        if "star_id" in table and table["star_id"].notna().all():
            stars = list(dict.fromkeys(str(int(str(s).strip())) for s in table["star_id"]))
            return {sid: lightcurve_files(lightcurves, sid) for sid in stars}
    return {star_id: lightcurves}


def _signals(ephemerides, star_ids: list[str], time_system: str | None, mission: str) -> pd.DataFrame:
    table = pd.DataFrame([ephemerides] if isinstance(ephemerides, dict) else ephemerides)
    if table.empty:
        raise ScoreError("no ephemeris given: pass period, epoch and duration (one dict, a list, or a DataFrame)")
    if "duration_hours" in table:
        hours = pd.to_numeric(table["duration_hours"], errors="coerce") / 24.0
        table["duration"] = table["duration"].fillna(hours) if "duration" in table else hours
    missing = [c for c in ("period", "epoch", "duration") if c not in table]
    if missing:
        raise ScoreError(f"each ephemeris needs period [d], epoch and duration [d] (or duration_hours); missing "
                         f"{', '.join(missing)}")
    if "star_id" not in table:
        if len(star_ids) != 1:
            raise ScoreError("several stars' light curves: give each ephemeris its star_id")
        table["star_id"] = star_ids[0]
    table["star_id"] = table["star_id"].astype(str)
    system = (time_system or "").upper() or {"kepler": "BKJD", "tess": "BTJD"}[mission]
    if system not in TIME_SYSTEMS:
        raise ScoreError(f"time_system must be BKJD, BTJD or BJD, not {time_system!r}")
    epoch = pd.to_numeric(table["epoch"], errors="coerce")
    # Per epoch, the system it is read in: a named one as named; else the mission's, or BJD for an
    # epoch only a BJD can be (a TOI's or an exoplanet archive's, copied as given).
    systems = pd.Series(system, index=table.index)
    if not time_system:
        by_value = epoch > BJD_EPOCHS_ABOVE
        systems[by_value] = "BJD"
        for value in epoch[by_value]:
            log.info(read_as_bjd_note(value))
    # On BJD, then on the light curves' own system.
    table["epoch"] = epoch + systems.map(lambda s: TIME_SYSTEMS[s][1]) - MISSION_BJD_REFERENCE[mission]
    table["epoch_read_as"] = systems
    auto = table["star_id"] + "_" + (table.groupby("star_id").cumcount() + 1).astype(str)
    table["tce_id"] = table["tce_id"].where(table["tce_id"].notna(), auto).astype(str) if "tce_id" in table else auto
    if table["tce_id"].duplicated().any():
        raise ScoreError(f"signal ids repeat ({', '.join(table.tce_id[table.tce_id.duplicated()].head(3))}); give each "
                         "ephemeris its own tce_id")
    for col in ("depth", *STELLAR_COLUMNS):
        if col not in table:
            table[col] = np.nan
    table["mission"] = mission
    return table


def _transit_in(time: np.ndarray, sig) -> bool:
    """Whether any cadence falls inside one of the signal's transits."""
    from .views import phase_fold
    return bool((np.abs(phase_fold(time, sig.period, sig.epoch)) < 0.5 * sig.duration).any())


def _check_signal(sig, lc: LightCurve) -> None:
    """Mistakes a user makes with an ephemeris, each named with what to change."""
    start, end = float(lc.time.min()), float(lc.time.max())
    system = {"kepler": "BKJD (BJD - 2454833)", "tess": "BTJD (BJD - 2457000)"}["tess" if sig.mission == "tess" else "kepler"]
    if not (np.isfinite(sig.period) and sig.period > 0 and np.isfinite(sig.duration) and sig.duration > 0):
        raise TargetError(f"{sig.tce_id}: period {sig.period} d and duration {sig.duration} d must be positive numbers")
    if sig.duration >= sig.period:
        raise TargetError(f"{sig.tce_id}: the duration ({sig.duration * 24:.3g} h) is not shorter than the period "
                          f"({sig.period:.4g} d); durations are in days (or give duration_hours)")
    if abs(sig.epoch - 0.5 * (start + end)) > 1e5 and sig.epoch_read_as == "BJD":   # no other system fits it
        raise TargetError(f"{sig.tce_id}: epoch {sig.epoch + MISSION_BJD_REFERENCE[sig.mission]:.6g} BJD is "
                          f"{abs(sig.epoch - start):.3g} days from the light curve ({start:.1f}-{end:.1f} {system}): "
                          "check the epoch's value, and that the ephemeris is of this star")
    if abs(sig.epoch - 0.5 * (start + end)) > 1e5:
        raise TargetError(f"{sig.tce_id}: epoch {sig.epoch:.6g} is {abs(sig.epoch - start):.3g} days from the light "
                          f"curve ({start:.1f}-{end:.1f} {system}): it looks like another time system; give it in "
                          f"{system.split()[0]}, or say it is BJD (time_system='BJD'; exosieve score --time-system BJD)")
    if sig.period > end - start and not _transit_in(lc.time, sig):
        raise TargetError(f"{sig.tce_id}: period {sig.period:.4g} d is longer than the {end - start:.4g} d the light "
                          "curve spans and none of its transits falls in it; add quarters or sectors")


def _preprocess(lc: LightCurve, signals: pd.DataFrame, cfg: dict):
    """(results, errors by tce_id) for one star's signals, through the workflow's own calls."""
    from .preprocess import star_views
    errors, ok = {}, []
    for sig in signals.itertuples(index=False):
        try:
            _check_signal(sig, lc)
            ok.append(sig.tce_id)
        except TargetError as exc:
            errors[sig.tce_id] = str(exc)
    star_tces = signals[signals.tce_id.isin(ok)]
    if star_tces.empty:
        return [], errors
    results, failed = star_views(lc, star_tces, cfg)
    for tce_id, message in failed.items():
        if "no cadence falls inside any transit" in message:
            message += ("; check the epoch's time system (BKJD for Kepler, BTJD for TESS) and that the "
                        "ephemeris is of this star")
        errors[tce_id] = message
    return results, errors


def config_for(models: ModelSet) -> dict:
    """The preprocessing configuration the models were trained under (views geometry, detrending,
    features), to make the same inputs from light curves."""
    from .config import load
    pre = models.settings["preprocessing"]
    enabled = [m for m in models.models]
    views = {k: v for k, v in pre["views"].items()}
    return load({"lightcurves": pre["lightcurves"], "detrend": pre["detrend"], "views": views,
                 "features": pre["features"], "models": {"enabled": enabled, "primary": enabled[0]}},
                check_paths=False)


def _flag_for(feats: dict, read: set[str]) -> str:
    """A signal's transit flags, less the note that its light curves have no centroids where no
    model reads a centroid view or feature (Yu et al.'s TESS trees read two flux views): a flag
    that fires on every TGLC signal whatever the model teaches users to ignore flags."""
    flag = feats.get("flag", "")
    if any(name.startswith("centroid") for name in read):
        return flag
    from .preprocess import NO_CENTROIDS
    return "; ".join(part for part in flag.split("; ") if part and not part.startswith(NO_CENTROIDS))


def score(lightcurves, ephemerides, models=None, *, star_id=None, time_system: str | None = None,
          attributions: bool = True) -> pd.DataFrame:
    """Score one or many signals with every model of ``models`` (a run's folder, a bundle or a
    shipped bundle's name, or a loaded ModelSet; by default the bundle ExoSieve ships for the light
    curves' mission, named in the log and in ``out.attrs["models"]``). See the module's docstring
    for the inputs; returns one row per signal."""
    from .model_files import shipped_for
    from .preprocess import assemble
    by_star = _by_star(lightcurves, ephemerides, star_id)
    first = None
    if models is None:      # the light curves' mission picks the shipped models
        first = to_lightcurve(next(iter(by_star.values())), next(iter(by_star)), time_system)
        models = shipped_for(first.mission)
        log.info("scoring with the models ExoSieve ships for %s light curves: %s", first.mission, models.name)
    model_set = models if isinstance(models, ModelSet) else load_models(models)
    cfg = config_for(model_set)
    if first is not None and any(cfg["lightcurves"].get(k) != v for k, v in {**DEFAULT_READING, **later_reading_defaults()}.items()):
        first = None        # the models read light curves otherwise (another flux column or bitmask)
    curves = {}
    for i, (sid, obj) in enumerate(by_star.items()):
        lc = first if i == 0 and first is not None else to_lightcurve(obj, sid, time_system, cfg)
        curves[str(sid if sid is not None else lc.star_id)] = lc
    missions = {lc.mission for lc in curves.values()}
    if len(missions) > 1:
        raise ScoreError("Kepler and TESS light curves in one call: score each mission's separately")
    signals = _signals(ephemerides, list(curves), time_system, missions.pop())
    results, errors = [], {}
    for sid, group in signals.groupby("star_id", sort=False):
        if sid not in curves:
            errors.update({t: f"{t}: no light curve was given for star {sid}" for t in group.tce_id})
            continue
        r, e = _preprocess(curves[sid], group, cfg)
        results += r
        errors.update(e)
    out = signals[["tce_id", "star_id", "period", "epoch", "duration", "depth", "epoch_read_as"]].copy()
    flags = {}
    if results:
        data = assemble(results, cfg)
        unlike = unlike_training(model_set.domain(), next(iter(curves.values())).mission, data)
        read = set().union(*(f.reads() for name in model_set.models for f in model_set.fold_models(name)))
        flags = dict(zip((tce.tce_id for tce, _, _ in results),
                         with_reasons((_flag_for(feats, read) for _, _, feats in results), unlike)))
    out["status"] = np.where(out.tce_id.isin(errors), "failed",
                             np.where(out.tce_id.map(flags).fillna("") != "", "flagged", "scored"))
    out["flag"] = out.tce_id.map(flags).fillna("")
    # View arrays the light curve had no data for (a TGLC file's centroids), read as missing.
    out["missing"] = out.tce_id.map({tce.tce_id: feats.get("missing", "") for tce, _, feats in results}).fillna("")
    out["products"] = out.star_id.map({sid: "+".join(lc.product_names) for sid, lc in curves.items()}).fillna("")
    out["error"] = out.tce_id.map(errors)
    out.attrs["models"] = model_set.where
    # Per star, what its reader chose: files another of their sector replaced, other flux columns.
    out.attrs["lightcurves"] = {sid: {"unused": list(lc.unused), "notes": list(lc.notes), "skipped": list(lc.skipped)}
                                for sid, lc in curves.items()}
    out.attrs["views_config"] = cfg["views"]     # the views' geometry, for a diagnostic sheet's axes
    if not results:
        return out
    row = {t: i for i, t in enumerate(data.meta.tce_id)}
    at = out.tce_id.map(row)
    measured = pd.DataFrame(data.scalars, columns=data.scalar_names)
    for name in ("depth", "snr", "n_transits", "secondary_phase"):  # what the light curve says, beside the catalog's
        if name in measured:
            out[f"measured_{name}"] = np.where(at.notna(), measured[name].to_numpy()[at.fillna(0).astype(int)], np.nan)
    pick = lambda v: np.where(at.notna(), np.asarray(v)[at.fillna(0).astype(int)], np.nan)  # noqa: E731
    for name in model_set.models:
        scores = ensemble_scores(model_set.fold_models(name), data, attributions)
        out[name] = pick(scores["score"])
        out[f"{name}_std"] = pick(scores["score_std"])
        out[f"{name}_raw"] = pick(scores["score_raw"])
        for column in (c for c in scores if c.startswith("attr_")):
            out[f"{name}_{column}"] = pick(scores[column])
    out.attrs["views"] = {t: {k: v[i] for k, v in data.views.items()} for t, i in row.items()}
    return out
