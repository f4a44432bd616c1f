"""Diagnostic sheets: one PNG per TCE with every view, every model's probability and the branch
attributions, for the top-ranked TCEs and the worst misclassifications (what a vetter looks at
first), and for one signal scored by ``exosieve score --sheet``.

Every axis is in physical units, read from the views' geometry (``views.bin_centres``,
``views.local_extent``) and the TCE's period and duration: the global views in orbital phase (the
transit at 0), the local views in hours from mid-transit (the secondary's in hours from the
secondary's centre), the periodogram in period [d]. The flux views keep the scale the models read
(out of transit 0, the local view's transit depth -1; views.py), and where the measured depth is
known a right-hand axis gives it in ppm; centroid views are in units of the star's out-of-transit
centroid noise, the raw-flux views in units of the binned light curve's own noise. The title holds
the star, the ephemeris, every model's probability (with its spread over fold models where there
is one) and the flag, if any: a sheet is read on its own, away from the catalog.

A view its light curve had no data for (a TGLC file's centroids: the row's ``missing``) is drawn as
an empty panel saying so, not as the zeros it is stored as: the models read it as missing
(``evaluation.read_as_missing``), and a flat line would read as "no centroid motion". Its branch's
bar among the attributions says it was read as missing too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from .domain import source_mission
from .model_inputs import CNN_MODELS, model_branches
from .plots import pyplot, save_figure
from .shards import read_tces
from .views import RAW_FLUX_NEAR_DURATIONS, bin_centres, local_centres, local_extent

FLUX_SCALE = "flux (transit depth = -1)"
MIN_SCALE = "flux (view minimum = -1)"
CENTROID_SCALE = "offset [out-of-transit σ]"
RAW_SCALE = "flux [σ of the binned light curve]"
LOCAL_X = "hours from mid-transit"
TITLE_WIDTH = 150      # characters of a title line across a sheet's 13.8 inches at 10 points
GLOBAL_X = "orbital phase (transit at 0)"
# (array, panel title, x frame, y label, scatter array drawn as a band around it). x frames:
# "global" phase over one period, "double" phase at twice the period, "local" hours from the
# centre, "secondary" hours from the secondary's centre, and the views' own ("unfolded", "time",
# "fold", "periodogram"). A y label of None is the flux scale, chosen by views.normalize.
PANELS = [
    ("global", "global view", "global", None, "global_scatter"),
    ("local", "local view", "local", None, "local_scatter"),
    ("odd_local", "odd (blue) / even (orange) transits", "local", FLUX_SCALE, None),
    ("secondary", "secondary eclipse, at the transit's scale", "secondary", FLUX_SCALE, None),
    ("double_period", "folded at twice the period (even transit at -0.5, odd at +0.5)", "double", FLUX_SCALE, None),
    ("centroid_global", "centroid offset, whole orbit", "global", CENTROID_SCALE, None),
    ("centroid_local", "centroid offset near the transit", "local", CENTROID_SCALE, None),
    ("unfolded", "individual transits, deepest first", "unfolded", "transit", None),
    ("raw_flux", "detrended light curve, unfolded", "time", RAW_SCALE, None),
    ("raw_flux_fold", "the same cadences in phase order (equal-count groups)", "fold", RAW_SCALE, None),
    ("momentum_dump", "momentum dumps around the transits", "local", "fraction of transits", None),
    ("flux_trend", "removed trend, folded at the period", "global", FLUX_SCALE, None),
    ("periodogram", "periodogram of the light curve, transits masked", "periodogram", "Lomb-Scargle power", None),
]
# Panels drawn on the transit's flux scale, which get a ppm axis where the depth is known.
PPM_PANELS = {"global", "local", "odd_local", "secondary", "double_period", "flux_trend"}


class ModelScore(NamedTuple):
    """One model's probability on a sheet; ``spread`` is its standard deviation over the fold
    models (NaN where one model scored it: an out-of-fold score)."""
    model: str
    probability: float
    spread: float = float("nan")


def view_positions(name: str, n: int, vcfg: dict, period: float, duration: float) -> np.ndarray:
    """The x position of each of the ``n`` bins of view ``name`` of a TCE (``period``,
    ``duration`` in days), in the frame its panel is drawn in: phase for the global views, hours
    from the centre for the local ones, period [d] for the periodogram, the fraction of the light
    curve's span for raw_flux, the group's order for raw_flux_fold."""
    frame = next((p[2] for p in PANELS if p[0] == name), "local")
    if frame == "global":
        return bin_centres(-0.5, 0.5, n)
    if frame == "double":       # folded at 2P about the point between two transits: [-P, P) in periods
        return bin_centres(-1.0, 1.0, n)
    if frame in ("local", "secondary"):
        half, width = local_extent(vcfg, period, duration)
        return local_centres(half, n, width) * 24.0
    if frame == "unfolded":     # each transit binned over [-half, half) as wide as the spacing
        half, _ = local_extent(vcfg, period, duration)
        return bin_centres(-half, half, n) * 24.0
    if frame == "periodogram":  # frequencies 1/8 to 8 times 1/P, log-spaced (views._periodogram)
        return period / 2.0 ** np.linspace(-3, 3, n)
    if frame == "time":
        return bin_centres(0.0, 1.0, n)
    return np.arange(n) + 0.5


def _fold_ticks(ax, n: int, period: float, duration: float) -> None:
    """raw_flux_fold's groups are equal in count, not in time: a quarter of them before the
    transit's neighbourhood, half within RAW_FLUX_NEAR_DURATIONS durations of it, a quarter after
    (views.raw_flux_fold); ticks at the joins say where each part starts, in time from mid-transit."""
    near = min(RAW_FLUX_NEAR_DURATIONS * duration, period / 4)
    n_near = n // 2
    n_before = (n - n_near) // 2
    ax.set_xticks([0, n_before, n / 2, n_before + n_near, n])
    ax.set_xticklabels([f"-{period / 2:.3g} d", f"-{near * 24:.3g} h", "0", f"+{near * 24:.3g} h",
                        f"+{period / 2:.3g} d"])
    for x in (n_before, n_before + n_near):
        ax.axvline(x, color="grey", lw=0.6, ls=":")
    ax.set_xlabel("time from mid-transit, cadences in phase order", fontsize=7)


def _star_name(star_id, mission: str | None) -> str:
    prefix = {"kepler": "KIC", "tess": "TIC"}.get(mission or "", "star")
    return f"{prefix} {star_id}"


def _number(v, fmt: str, unit: str = "") -> str:
    return f"{v:{fmt}}{unit}" if v is not None and pd.notna(v) else "?"


def missing_views(row: pd.Series) -> set[str]:
    """The view arrays ``row``'s light curve had no data for (its ``missing``, comma-separated)."""
    text = row.get("missing")
    return {n for n in text.split(",") if n} if isinstance(text, str) else set()


def missing_text(name: str, products) -> str:
    """What a missing view's panel says: which data the light curves lack (``products``, the
    products read, as ``exosieve.score`` gives them: "tglc" or "qlp+tglc") and how the models read it."""
    what = "centroid data" if name.startswith("centroid") else f"data for the {name} view"
    named = "/".join(p.upper() for p in products.split("+") if p) if isinstance(products, str) else ""
    return f"no {what} in these light curves{f' ({named})' if named else ''}:\nread as missing by the models"


def _draw_missing(ax, name: str, products) -> None:
    """An empty panel that says its view is missing: no curve, no axes' numbers to read."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color("grey")
        spine.set_linestyle(":")
    ax.text(0.5, 0.5, missing_text(name, products), transform=ax.transAxes, ha="center", va="center",
            fontsize=8, color="dimgrey", wrap=True)


def sheet_title(row: pd.Series, scores: list[ModelScore], kind: str, mission: str | None) -> str:
    """The sheet's title: the star and TCE, the ephemeris and depths, every model's probability
    (the first one's attributions are the sheet's) and the flag."""
    time_system = {"kepler": "BKJD", "tess": "BTJD"}.get(mission or "", "")
    depths = [f"catalog {row.depth_ppm:.0f} ppm" if pd.notna(row.get("depth_ppm")) else "",
              f"measured {row.measured_depth_ppm:.0f} ppm" if pd.notna(row.get("measured_depth_ppm")) else ""]
    depth = ", ".join(d for d in depths if d) or "?"
    if pd.isna(row.get("depth_ppm")) and pd.notna(row.get("measured_depth_ppm")):
        depth += " (no catalog depth given)"
    first = (f"{_star_name(row.get('star_id', '?'), mission)}, TCE {row.tce_id}: P = {_number(row.period, '.6g', ' d')}, "
             f"epoch {_number(row.get('epoch'), '.4f')} {time_system}".rstrip()
             + f", duration {_number(row.duration_hours, '.3g', ' h')}, depth: {depth}")
    if kind != "scored":
        label = {"top": "top-ranked", "false_positive": "worst false positive",
                 "missed_planet": "worst missed planet"}[kind]
        first = f"{label} (rank {row['rank']}, catalog label {row.get('disposition') or 'none'})\n{first}"
    probs = ", ".join(f"{s.model} {s.probability:.3f}" + (f" ± {s.spread:.3f}" if pd.notna(s.spread) else "")
                      for s in scores if pd.notna(s.probability))
    second = f"planet probability: {probs or 'none'}"
    if any(pd.notna(s.spread) for s in scores):
        second += " (± the spread over fold models)"
    flag = row.get("flag")
    third = f"FLAGGED, no confident verdict: {flag}" if isinstance(flag, str) and flag else "not flagged"
    return "\n".join(_wrap(line, TITLE_WIDTH) for line in (*first.split("\n"), second, third))


def _wrap(text: str, width: int) -> str:
    import textwrap
    return "\n".join(textwrap.wrap(text, width)) or text


def select_sheet_tces(catalog: pd.DataFrame, n: int) -> list[tuple[str, str]]:
    """(kind, tce_id): the n top-ranked TCEs, the n highest-scored negatives and the n
    lowest-scored positives (out-of-fold scores)."""
    scored = catalog[catalog.status.isin(["scored", "flagged"])]
    picks = [("top", t) for t in scored.sort_values("rank").tce_id.head(n)]
    picks += [("false_positive", t) for t in
              scored[scored.label == 0].sort_values("score", ascending=False).tce_id.head(n)]
    picks += [("missed_planet", t) for t in scored[scored.label == 1].sort_values("score").tce_id.head(n)]
    return picks


def draw_sheet(row: pd.Series, views: dict[str, np.ndarray], path: Path, kind: str, vcfg: dict,
               scores: list[ModelScore], mission: str | None = None):
    """Draw one TCE's sheet to ``path`` and return the figure (closed, still inspectable).

    ``row``: tce_id, star_id, period [d], epoch, duration_hours, depth_ppm (the catalog's, NaN if
    none), measured_depth_ppm, secondary_phase (fraction of the period), flag, and for the report's
    kinds rank and disposition; attr_<branch> columns are the attributions of ``scores[0]``'s
    model; optionally ``missing`` (view arrays the light curve had no data for, comma-separated)
    and ``products`` (the products read, "+"-joined), which its empty panels name. ``vcfg``: the views settings the views were made with. ``kind``: "scored" (one signal
    scored by ``exosieve score``) or a ``select_sheet_tces`` kind."""
    plt = pyplot()
    period, duration = float(row.period), float(row.duration_hours) / 24.0
    depth = row.get("measured_depth_ppm")
    depth = float(depth) if depth is not None and pd.notna(depth) and depth > 0 else None
    min_normalised = vcfg.get("normalize") == "min"
    panels = [p for p in PANELS if p[0] in views]
    attrs = {c[5:]: row[c] for c in row.index if c.startswith("attr_") and pd.notna(row[c])}
    missing = missing_views(row) & set(views)
    n = len(panels) + (1 if attrs else 0)
    cols = 3
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 2.9 * rows + 0.5), squeeze=False)
    for ax, (name, title, frame, ylabel, band) in zip(axes.flat, panels):
        v = np.asarray(views[name])
        if ylabel is None:
            ylabel = MIN_SCALE if min_normalised else FLUX_SCALE
        if name in missing:
            _draw_missing(ax, name, row.get("products"))
            ylabel = ""
        elif name == "unfolded":
            half, _ = local_extent(vcfg, period, duration)
            im = ax.imshow(v, aspect="auto", cmap="viridis_r", vmin=-1.5, vmax=0.5, interpolation="nearest",
                           extent=(-half * 24, half * 24, v.shape[0] - 0.5, -0.5))
            cbar = fig.colorbar(im, ax=ax, pad=0.01, fraction=0.05)
            cbar.set_label("flux (deepest = -1)", fontsize=7)
            cbar.ax.tick_params(labelsize=6)
            ax.set_xlabel(LOCAL_X, fontsize=7)
        else:
            x = view_positions(name, v.size, vcfg, period, duration)
            ax.plot(x, v, lw=1, color="C0", marker="." if frame in ("local", "secondary") else None, ms=2)
            if name == "odd_local" and "even_local" in views:
                ax.plot(x, views["even_local"], lw=1, color="C1", marker=".", ms=2)
            if band and band in views:     # the scatter relative to the star's own, drawn as a band
                noise = 1.4826 * np.median(np.abs(v - np.median(v)))
                width = noise * (1 + views[band])
                ax.fill_between(x, v - width, v + width, color="C0", alpha=0.2, lw=0, label="per-bin scatter")
            coverage = views.get(f"{name}_coverage")
            if coverage is not None and (coverage < 0.5).any():   # bins with no data: interpolated
                ax.fill_between(x, 0, 1, where=coverage < 0.5, color="grey", alpha=0.25, lw=0,
                                transform=ax.get_xaxis_transform(), label="no data")
            if frame == "fold":
                _fold_ticks(ax, v.size, period, duration)
            elif frame == "periodogram":
                ax.set_xscale("log")
                ax.axvline(period, color="grey", lw=0.6, ls=":")
                ax.set_xlabel("period [d] (dotted: the TCE's)", fontsize=7)
            elif frame == "time":
                ax.set_xlabel("time, as a fraction of the light curve's span", fontsize=7)
            elif frame == "global":
                ax.set_xlabel(f"{GLOBAL_X}, P = {period:.4g} d", fontsize=7)
            elif frame == "double":
                ax.set_xlabel("phase at twice the period [periods]", fontsize=7)
            elif frame == "secondary":
                phase = row.get("secondary_phase")
                at = f" at phase {phase:.3f}" if phase is not None and pd.notna(phase) else ""
                ax.set_xlabel(f"hours from the secondary's centre{at}", fontsize=7)
            else:
                ax.set_xlabel(LOCAL_X, fontsize=7)
            if frame in ("local", "secondary"):    # the TCE's duration, centred
                ax.axvspan(-12 * duration, 12 * duration, color="C2", alpha=0.1, lw=0,
                           label=f"duration {24 * duration:.3g} h" if name == "local" else None)
            if name in PPM_PANELS and depth is not None and not (min_normalised and name in ("global", "local")):
                right = ax.secondary_yaxis("right", functions=(lambda y, d=depth: y * d, lambda p, d=depth: p / d))
                right.set_ylabel("ppm", fontsize=7)
                right.tick_params(labelsize=6)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6, loc="lower left")
        ax.set_ylabel(ylabel, fontsize=7)
        ax.set_title(title, fontsize=9, y=1.0)   # a fixed height: no layout pass to place each title
        ax.tick_params(labelsize=7)
    if attrs:
        ax = axes.flat[len(panels)]
        names = list(attrs)
        vals = np.array([attrs[k] for k in names])
        # A branch whose every array is missing was occluded already: its bar is 0 by construction.
        absent = {b.name for b in model_branches(scores[0].model, list(views))
                  if all(set(t) <= missing for t in b.towers)} if scores[0].model in CNN_MODELS and missing else set()
        ax.barh([f"{k} (read as missing)" if k in absent else k for k in names], vals,
                color=np.where(vals >= 0, "C2", "C3"))
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_title(f"{scores[0].model}: probability change when a branch is occluded", fontsize=9, y=1.0)
        ax.set_xlabel("probability change", fontsize=7)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    title = sheet_title(row, scores, kind, mission)
    height = fig.get_figheight()
    fig.suptitle(title, fontsize=10, x=0.01, y=1 - 0.1 / height, ha="left", va="top")
    # Fixed margins, not tight_layout(): every sheet has the same grid, and measuring it drew each
    # sheet twice (40% of the report's time). The title's lines [in] and a panel title's above the grid.
    lines = title.count("\n") + 1
    fig.subplots_adjust(left=0.055, right=0.945, bottom=0.06, top=1 - (0.1 + 0.19 * lines + 0.35) / height,
                        wspace=0.42, hspace=0.62)
    save_figure(fig, path, dpi=90, tight=False)
    return fig


def _scalar(data, j: int, name: str) -> float:
    return float(data.scalars[j, data.scalar_names.index(name)]) if name in data.scalar_names else float("nan")


def write_sheets(catalog: pd.DataFrame, shard_paths: list[str], out_dir: Path, n: int,
                 cfg: dict) -> list[tuple[str, str]]:
    """Draw the sheets; returns (link text, file name) for the report. The primary model's
    probability (``score``, its spread over fold models ``score_std``) comes first, then each
    other model's (``score_<model>``)."""
    picks = select_sheet_tces(catalog, n)
    if not picks:
        return []
    data = read_tces(shard_paths, [t for _, t in picks])
    where = {t: i for i, t in enumerate(data.meta.tce_id)}
    by_id = catalog.set_index("tce_id", drop=False)
    primary = cfg["models"]["primary"]
    others = [c[len("score_"):] for c in catalog.columns if c.startswith("score_") and c not in ("score_std", "score_raw")]
    # The geometry the views were made with, as their shard records it (the run's own settings
    # where a shard does not).
    made_with = json.loads(data.attrs["preprocessing"]).get("views") if "preprocessing" in data.attrs else None
    vcfg = made_with or cfg["views"]
    mission = source_mission(cfg) if "survey" in cfg or cfg["catalog"]["source"] != "simulated" else None
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("*.png"):  # sheets of an earlier run's picks must not linger
        stale.unlink()
    made = []
    for i, (kind, tce) in enumerate(picks):
        if tce not in where:
            continue
        j = where[tce]
        row = by_id.loc[tce].copy()
        row["measured_depth_ppm"] = _scalar(data, j, "depth")
        row["secondary_phase"] = _scalar(data, j, "secondary_phase")
        if "missing" in data.meta:   # the shard's record of the views its light curve had no data for
            row["missing"] = data.meta["missing"].iloc[j]
        scores = [ModelScore(primary, row.score, row.get("score_std", float("nan")))]
        scores += [ModelScore(m, row[f"score_{m}"]) for m in others if m != primary]
        name = f"{kind}_{i:02d}_{tce}.png"
        draw_sheet(row, {k: v[j] for k, v in data.views.items()}, out_dir / name, kind, vcfg, scores, mission)
        made.append((f"{kind.replace('_', ' ')}: {tce} (score {by_id.loc[tce, 'score']:.3f})", name))
    return made
