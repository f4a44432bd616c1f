"""What a model learned from, and whether a signal is like it: the out-of-domain flags.

Every model file records its training domain (``training_domain``): the mission of the light
curves, the 0.05th-99.95th percentile of the measured period, duration, depth and transit count
over its training TCEs, and a summary of their flux views. A score whose inputs fall outside it is
flagged with the reason (``domain_flags``), never refused: the score is still the models' best
guess, but not one they were shown to make well.

The views summary is model-agnostic (the trees read no views, the CNNs each their own): the
global and local flux views, projected on their first principal components and whitened there.
Two things make a signal's views unlike the training TCEs': its distance to the nearest of them,
and the shape its views hold that those components do not (the residual off them), each in units
of the training TCEs' own 99th percentile (the nearest-neighbour distance of each training TCE to
the others). One check reads both: the larger of the two ratios against the limit that 99.5% of
the training TCEs stay within (``combined_limit``). A k-d tree keeps the search O(n log n).

The designed false-alarm rate on TCEs drawn as the training TCEs were is about 1% in all: at most
0.1% per feature's range (four features, less where they go together) and 0.5% for the views. A
flag is worth reading only if it seldom fires on ordinary signals: with a 0.5th-99.5th percentile
range per feature and a 99th-percentile limit for each views distance, the checks fired on 5% of
the simulated survey's in-distribution TCEs by construction. Model files written before the
combined limit read it as 1 (either ratio above its 99th percentile, about 2%).
"""

from __future__ import annotations

import numpy as np

# The measured features whose range a model's training TCEs span.
DOMAIN_FEATURES = ("period", "duration", "depth", "n_transits")
# How the measured features are named in a flag, with their units.
DOMAIN_WORDS = {"period": ("period", "d"), "duration": ("duration", "h"), "depth": ("depth", "ppm"),
                "n_transits": ("transit count", "")}
# The views every preprocessing makes and whose distance from the training TCEs' is checked.
DOMAIN_VIEWS = ("global", "local")
# Principal components kept for the views distance: enough for the shapes a survey holds (the
# transit's depth and width, the secondary, the noise level), few enough that a neighbour is near.
VIEW_COMPONENTS = 8
VIEW_PERCENTILE = 99.0
# The percentiles of each feature over the training TCEs that bound its range, and the percentile
# of the training TCEs' combined views ratio that bounds theirs: the designed false-alarm rates.
RANGE_PERCENTILES = (0.05, 99.95)
COMBINED_VIEW_PERCENTILE = 99.5


def _flat_views(views: dict[str, np.ndarray], names) -> np.ndarray:
    x = np.concatenate([np.asarray(views[n], np.float64).reshape(len(views[n]), -1) for n in names], axis=1)
    return np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)


def views_summary(views: dict[str, np.ndarray]) -> dict | None:
    """The training TCEs' flux views as ``view_distances`` compares a signal's with them: the
    mean, the leading principal components and their spreads, the training TCEs' whitened
    coordinates, the 99th percentiles of their nearest-neighbour distances and of their residuals
    off the components, and the COMBINED_VIEW_PERCENTILE of the larger of the two ratios to those
    (``combined_limit``). None when the views are missing or too few to summarise."""
    import torch
    from scipy.spatial import cKDTree
    names = [n for n in DOMAIN_VIEWS if n in views]
    if len(names) != len(DOMAIN_VIEWS) or len(views[names[0]]) < 3 * VIEW_COMPONENTS:
        return None
    x = _flat_views(views, names)
    mean = x.mean(axis=0)
    _, sing, vt = np.linalg.svd(x - mean, full_matrices=False)
    k = min(VIEW_COMPONENTS, int((sing > sing[0] * 1e-6).sum()))
    components = vt[:k]
    scale = sing[:k] / np.sqrt(len(x) - 1)
    coords = (x - mean) @ components.T / scale
    residual = _residuals(x, mean, components, coords * scale)
    # Each training TCE's nearest other training TCE (its second neighbour: the first is itself).
    nearest = cKDTree(coords).query(coords, k=2)[0][:, 1]
    nearest_limit = float(np.percentile(nearest, VIEW_PERCENTILE))
    residual_limit = float(np.percentile(residual, VIEW_PERCENTILE))
    combined = np.maximum(nearest / nearest_limit, residual / residual_limit)
    return {"names": names, "shapes": [list(np.shape(views[n])[1:]) for n in names],
            "mean": torch.from_numpy(mean.astype(np.float32)),
            "components": torch.from_numpy(components.astype(np.float32)),
            "scale": torch.from_numpy(scale.astype(np.float32)),
            "coords": torch.from_numpy(coords.astype(np.float16)),
            "nearest_limit": nearest_limit, "residual_limit": residual_limit,
            "combined_limit": float(np.percentile(combined, COMBINED_VIEW_PERCENTILE))}


def _residuals(x: np.ndarray, mean: np.ndarray, components: np.ndarray, projected: np.ndarray) -> np.ndarray:
    """Root-mean-square of each row's part off the components."""
    return np.sqrt(np.mean((x - mean - projected @ components) ** 2, axis=1))


def view_distances(summary: dict, views: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Each signal's distance to its nearest training TCE and its residual off the components,
    both in units of the training TCEs' 99th percentile (above 1: farther than 99% of them)."""
    from scipy.spatial import cKDTree
    x = _flat_views(views, summary["names"])
    mean, components, scale = (np.asarray(summary[k], np.float64) for k in ("mean", "components", "scale"))
    coords = (x - mean) @ components.T / scale
    nearest = cKDTree(np.asarray(summary["coords"], np.float64)).query(coords, k=1)[0]
    residual = _residuals(x, mean, components, coords * scale)
    return nearest / summary["nearest_limit"], residual / summary["residual_limit"]


def source_mission(cfg: dict) -> str | None:
    """The mission of a run's light curves where its catalog source says it (a views dataset's
    where ``catalog.views_mission`` declares it); None for a local table, which may hold either
    mission's TCEs, and an undeclared views dataset (no mission is then flagged)."""
    source = cfg["catalog"]["source"]
    # Looked up for its own source only: a stage's settings (the report's) may hold no survey.
    if source == "simulated":
        return cfg["survey"]["mission"]
    if source == "views":
        return cfg["catalog"].get("views_mission")
    return {"kepler_dr24": "kepler", "kepler_dr25": "kepler", "tess_spoc": "tess"}.get(source)


def training_domain(scalars: np.ndarray, scalar_names: list[str], views: dict[str, np.ndarray],
                    mission: str | None) -> dict:
    """What a model learned from, as ``domain_flags`` checks a signal against it: the mission of
    its light curves (``source_mission``), the RANGE_PERCENTILES of each measured feature over its
    training TCEs (rows of ``scalars``), and their views' summary (``views_summary``)."""
    ranges = {}
    for name in DOMAIN_FEATURES:
        if name in scalar_names:
            values = scalars[:, scalar_names.index(name)]
            values = values[np.isfinite(values)]
            if values.size:
                ranges[name] = [float(v) for v in np.percentile(values, RANGE_PERCENTILES)]
    return {"mission": mission, "ranges": ranges, "views": views_summary(views)}


def merged_domain(domains: list[dict]) -> dict:
    """The domain of an ensemble of models: the missions they learned from, per measured feature
    the widest range any of them saw, and each one's views summary (one per distinct training set:
    the models of one fold share theirs)."""
    missions, ranges, views = set(), {}, {}
    for domain in domains:
        domain = domain or {}
        missions.add(domain.get("mission"))
        for name, (lo, hi) in (domain.get("ranges") or {}).items():
            old = ranges.get(name, (lo, hi))
            ranges[name] = (min(lo, old[0]), max(hi, old[1]))
        summary = domain.get("views")
        if summary is not None:
            views.setdefault((summary["nearest_limit"], summary["residual_limit"]), summary)
    return {"missions": missions - {None}, "ranges": ranges, "views": list(views.values())}


def _fits(summary: dict, views: dict[str, np.ndarray]) -> bool:
    """Whether ``views`` hold the summarised views at the summarised geometry."""
    return all(n in views and list(np.shape(views[n])[1:]) == list(shape)
               for n, shape in zip(summary["names"], summary["shapes"]))


def _mission_name(m: str) -> str:
    return m.upper() if m == "tess" else m.title()


def features_of(scalars: np.ndarray, scalar_names: list[str]) -> list[dict]:
    """Each row's measured features that a domain ranges over, by name."""
    cols = {n: scalar_names.index(n) for n in DOMAIN_FEATURES if n in scalar_names}
    return [{n: float(row[j]) for n, j in cols.items()} for row in np.asarray(scalars)]


def domain_flags(domain: dict, mission: str | None, features: list[dict],
                 views: dict[str, np.ndarray] | None = None) -> list[str]:
    """Why each signal is unlike what the models learned from (``merged_domain``), in words, ""
    when it is not: a light curve of another mission, a measured period, duration, depth or
    transit count outside the training TCEs' range, or views far from every training TCE's (for
    most of the ensemble's training sets). ``features`` holds each signal's measured features,
    ``views`` their view arrays (stacked, in the same order). Flagged, not refused."""
    reasons = [[] for _ in features]
    if mission and domain["missions"] and mission not in domain["missions"]:
        learned = ", ".join(sorted(_mission_name(m) for m in domain["missions"]))
        for r in reasons:
            r.append(f"a {_mission_name(mission)} light curve, and the models learned from {learned} ones")
    for r, feats in zip(reasons, features):
        for name, (lo, hi) in domain["ranges"].items():
            value = feats.get(name)
            if value is not None and np.isfinite(value) and not lo <= value <= hi:
                word, unit = DOMAIN_WORDS.get(name, (name, ""))
                r.append(f"its {word} {value:.4g}{' ' + unit if unit else ''} is outside the training TCEs' "
                         f"{lo:.4g}-{hi:.4g}")
    summaries = [s for s in domain.get("views") or [] if views is not None and _fits(s, views)]
    if summaries and features:
        distances = [view_distances(s, views) for s in summaries]
        limits = np.array([s.get("combined_limit", 1.0) for s in summaries])[:, None]
        nearest = np.median([d[0] for d in distances], axis=0)
        residual = np.median([d[1] for d in distances], axis=0)
        # One check: the larger ratio beyond its training set's combined limit, for most sets;
        # the reason names whichever ratio stands out.
        unlike = np.mean(np.maximum([d[0] for d in distances], [d[1] for d in distances]) > limits, axis=0) > 0.5
        for i, r in enumerate(reasons):
            if not unlike[i]:
                continue
            if nearest[i] >= residual[i]:
                r.append(f"its views are far from every training TCE's ({nearest[i]:.2g} times the distance "
                         f"within which 99% of the training TCEs have a neighbour)")
            else:
                r.append(f"its views hold a shape the training TCEs' do not ({residual[i]:.2g} times their "
                         f"99th-percentile residual)")
    return ["; ".join(r) for r in reasons]


def with_reasons(flags, reasons) -> list[str]:
    """Each TCE's transit flag (preprocess.transit_flag) and its out-of-domain reasons in one
    ``flag``, '' when neither says anything."""
    return ["; ".join(part for part in (a, b) if isinstance(part, str) and part) for a, b in zip(flags, reasons)]


def unlike_training(domain: dict, mission: str | None, data) -> list[str]:
    """``domain_flags`` for the rows of ``data`` (a ShardData) against ``domain``
    (``merged_domain`` of the scoring models'): what every scorer attaches to its scores."""
    return domain_flags(domain, mission, features_of(data.scalars, data.scalar_names), data.views)
