"""Cross-validation folds: stratified by label, grouped by star, deterministic from a seed.

No star's TCEs ever sit in two folds (a star's TCEs share its noise and systematics, so splitting
them would leak). Unlabelled TCEs get fold -1: they are scored by every fold's model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold


class FoldError(ValueError):
    pass


def assign_folds(tces: pd.DataFrame, n_folds: int, seed: int, trains: bool = True) -> pd.DataFrame:
    """Each labelled TCE's fold: stratified by label, grouped by star. A run that trains nothing
    (``trains`` False: models.from) uses the folds only to split the scoring among jobs, so a
    catalog of one class (a TOI list of planets) is no error there: its stars are dealt to the
    folds in a seeded order."""
    tces = tces.sort_values("tce_id", kind="stable").reset_index(drop=True)
    out = tces[["tce_id", "star_id", "label"]].copy()
    out["fold"] = -1
    labelled = np.flatnonzero(out["label"].to_numpy() >= 0)
    y = out["label"].to_numpy()[labelled]
    groups = out["star_id"].to_numpy()[labelled]
    for cls in (0, 1):
        n_stars = np.unique(groups[y == cls]).size
        if n_stars < n_folds:
            name = "positive" if cls else "negative"
            if not trains:
                stars = np.random.default_rng(seed).permutation(np.unique(groups))
                fold_of = {star: i % n_folds for i, star in enumerate(stars)}
                out.loc[labelled, "fold"] = [fold_of[g] for g in groups]
                return out
            raise FoldError(f"only {n_stars} stars have {name} TCEs, fewer than cv.folds={n_folds}; "
                            "lower cv.folds or use a larger catalog")
    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    fold = np.full(labelled.size, -1)
    for k, (_, test) in enumerate(splitter.split(np.zeros(labelled.size), y, groups)):
        fold[test] = k
    out.loc[labelled, "fold"] = fold
    return out


def validation_mask(labels: np.ndarray, groups: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Carve a star-grouped, label-stratified validation set out of the training folds."""
    n_splits = max(2, int(round(1.0 / fraction)))
    if np.unique(groups).size < n_splits:
        return np.zeros(labels.size, bool)  # too few stars to spare any; the caller decides
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    _, val = next(splitter.split(np.zeros(labels.size), labels, groups))
    mask = np.zeros(labels.size, bool)
    mask[val] = True
    return mask


def read_folds(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"tce_id": str, "star_id": str})


def labels_and_folds(tce_ids, folds: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(label, fold) of each of ``tce_ids`` from the folds table, which carries the catalog's
    labels (shards hold none). A TCE the table lacks gets label -1 and fold -2: never trained on,
    never scored."""
    table = folds.set_index("tce_id")
    ids = pd.Index(tce_ids)
    label = table["label"].reindex(ids).fillna(-1).astype(int).to_numpy()
    fold = table["fold"].reindex(ids).fillna(-2).astype(int).to_numpy()
    return label, fold
