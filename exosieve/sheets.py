"""Diagnostic sheets: one PNG per TCE with every view, the score and the branch attributions, for
the top-ranked TCEs and for the worst misclassifications (what a vetter looks at first)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .plots import pyplot, save_figure
from .shards import read_tces

PANELS = [  # (array, title, scatter array drawn as a band around it)
    ("global", "global view", "global_scatter"),
    ("local", "local view", "local_scatter"),
    ("odd_local", "odd (blue) / even (orange) transits", None),
    ("secondary", "secondary eclipse (local scale)", None),
    ("double_period", "folded at twice the period", None),
    ("centroid_global", "centroid offset, global [sigma]", None),
    ("centroid_local", "centroid offset, local [sigma]", None),
    ("unfolded", "individual transits, deepest first", None),
    ("raw_flux", "detrended light curve, unfolded [sigma]", None),
    ("raw_flux_fold", "the same cadences in phase order, half within 2 durations [sigma]", None),
    ("momentum_dump", "momentum dumps around the transits (fraction of transits)", None),
    ("flux_trend", "removed trend, folded at the period", None),
    ("periodogram", "periodogram, 1/8 to 8 times 1/P (middle: the period)", None),
]


def select_sheet_tces(catalog: pd.DataFrame, n: int) -> list[tuple[str, str]]:
    """(kind, tce_id): the n top-ranked TCEs, the n highest-scored negatives and the n
    lowest-scored positives (out-of-fold scores)."""
    scored = catalog[catalog.status.isin(["scored", "flagged"])]
    picks = [("top", t) for t in scored.sort_values("rank").tce_id.head(n)]
    picks += [("false_positive", t) for t in
              scored[scored.label == 0].sort_values("score", ascending=False).tce_id.head(n)]
    picks += [("missed_planet", t) for t in scored[scored.label == 1].sort_values("score").tce_id.head(n)]
    return picks


def draw_sheet(row: pd.Series, views: dict[str, np.ndarray], path: Path, kind: str) -> None:
    plt = pyplot()
    panels = [p for p in PANELS if p[0] in views]
    attrs = {c[5:]: row[c] for c in row.index if c.startswith("attr_") and pd.notna(row[c])}
    n = len(panels) + (1 if attrs else 0)
    cols = 3
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.6 * rows), squeeze=False)
    for ax, (name, title, band) in zip(axes.flat, panels):
        v = views[name]
        if name == "unfolded":
            ax.imshow(v, aspect="auto", cmap="viridis_r", vmin=-1.5, vmax=0.5)
            ax.set_ylabel("transit")
        else:
            x = np.arange(v.size)
            ax.plot(x, v, lw=1, color="C0")
            if name == "odd_local" and "even_local" in views:
                ax.plot(x, views["even_local"], lw=1, color="C1")
            if band and band in views:     # the scatter relative to the star's own, drawn as a band
                noise = 1.4826 * np.median(np.abs(v - np.median(v)))
                width = noise * (1 + views[band])
                ax.fill_between(x, v - width, v + width, color="C0", alpha=0.2, lw=0)
            coverage = views.get(f"{name}_coverage")
            if coverage is not None and (coverage < 0.5).any():   # bins with no data: interpolated
                ax.fill_between(x, 0, 1, where=coverage < 0.5, color="grey", alpha=0.25, lw=0,
                                transform=ax.get_xaxis_transform(), label="no data")
                ax.legend(fontsize=6, loc="lower left")
        ax.set_title(title, fontsize=9, y=1.0)   # a fixed height: no layout pass to place each title
        ax.tick_params(labelsize=7)
    if attrs:
        ax = axes.flat[len(panels)]
        names = list(attrs)
        vals = np.array([attrs[k] for k in names])
        ax.barh(names, vals, color=np.where(vals >= 0, "C2", "C3"))
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_title("attribution (score change when occluded)", fontsize=9, y=1.0)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    ephemeris = f"P = {row.period:.4g} d, depth {row.depth_ppm:.0f} ppm, {row.duration_hours:.3g} h"
    if kind == "scored":      # one signal scored by `exosieve score`: ``disposition`` names the model
        title = f"{row.tce_id}: {row.disposition} probability {row.score:.3f}; {ephemeris}"
    else:
        label = {"top": "top-ranked", "false_positive": "worst false positive", "missed_planet": "worst missed planet"}[kind]
        title = (f"{row.tce_id} ({label}): {row.disposition or 'unlabelled'}, score {row.score:.3f}, "
                 f"rank {row['rank']}; {ephemeris}")
    fig.suptitle(title, fontsize=10)
    # Fixed margins, not tight_layout(): every sheet has the same grid, and measuring it drew each
    # sheet twice (40% of the report's time).
    fig.subplots_adjust(left=0.04, right=0.99, bottom=0.05, top=1 - 0.6 / fig.get_figheight(),
                        wspace=0.28, hspace=0.45)
    save_figure(fig, path, dpi=90, tight=False)


def write_sheets(catalog: pd.DataFrame, shard_paths: list[str], out_dir: Path, n: int,
                 cfg: dict) -> list[tuple[str, str]]:
    """Draw the sheets; returns (link text, file name) for the report."""
    picks = select_sheet_tces(catalog, n)
    if not picks:
        return []
    data = read_tces(shard_paths, [t for _, t in picks])
    where = {t: i for i, t in enumerate(data.meta.tce_id)}
    by_id = catalog.set_index("tce_id", drop=False)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("*.png"):  # sheets of an earlier run's picks must not linger
        stale.unlink()
    made = []
    for i, (kind, tce) in enumerate(picks):
        if tce not in where:
            continue
        j = where[tce]
        name = f"{kind}_{i:02d}_{tce}.png"
        draw_sheet(by_id.loc[tce], {k: v[j] for k, v in data.views.items()}, out_dir / name, kind)
        made.append((f"{kind.replace('_', ' ')}: {tce} (score {by_id.loc[tce, 'score']:.3f})", name))
    return made
