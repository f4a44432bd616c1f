"""Which arrays and features each model reads: the one place that says so, light to import (no
torch, no scipy), so that the workflow can decide which models a views dataset can feed while it
builds the job graph.

A CNN is a list of *branches*; each branch owns one or more *towers* (a stack of convolutions over
one group of shard arrays, ``models.ConvTower``) and is the unit that explanations occlude.
ExoMiner's odd/even branch runs odd and even views through one tower (shared weights) and passes
on the absolute difference of their features, so only a difference between them can move the
score. The boosted trees read the scalar features, or the flattened global and local views beside
them (``models.trees.inputs``).
"""

from __future__ import annotations

from dataclasses import dataclass

CNN_MODELS = ("exominer", "astronet", "raw_flux")


@dataclass(frozen=True)
class Branch:
    name: str
    towers: tuple[tuple[str, ...], ...]  # each tower: the shard arrays stacked as its channels
    paired: bool = False                 # two towers, shared weights, |difference| of features


def model_branches(model: str, arrays: list[str]) -> list[Branch]:
    """The branches of ``model`` given the view arrays the shards hold."""
    have = set(arrays)

    def tower(*names):
        return tuple(n for n in names if n in have)

    if model == "astronet":
        return [Branch("global", (("global",),)), Branch("local", (("local",),))]
    if model == "raw_flux":
        # The star's light curve in time, and the same cadences in this TCE's phase order: one tower
        # each, since their positions do not correspond (ROC-AUC 0.873 against 0.833 as two
        # channels of one tower, better in each of the 5 folds of the default run).
        return [Branch("raw_flux", (("raw_flux",), ("raw_flux_fold",)))]
    if model != "exominer":
        raise ValueError(f"{model} is not a CNN model")
    branches = []
    for flux in ("global", "local"):
        if flux in have:
            branches.append(Branch(flux, (tower(flux, f"{flux}_scatter", f"{flux}_coverage"),)))
    if {"odd_local", "even_local"} <= have:
        branches.append(Branch("odd_even", (("odd_local",), ("even_local",)), paired=True))
    if "secondary" in have:
        branches.append(Branch("secondary", (("secondary",),)))
    if {"centroid_global", "centroid_local"} & have:
        branches.append(Branch("centroid", tuple((n,) for n in ("centroid_global", "centroid_local")
                                                 if n in have)))
    for name in ("double_period", "unfolded", "momentum_dump", "flux_trend", "periodogram"):
        if name in have:
            branches.append(Branch(name, ((name,),)))
    return branches


def required_arrays(model: str) -> list[str]:
    """View arrays a model cannot do without (``trees`` reads only scalar features)."""
    return {"astronet": ["global", "local"], "exominer": ["global", "local"],
            "raw_flux": ["raw_flux", "raw_flux_fold"]}.get(model, [])


def usable_models(enabled: list[str], arrays: list[str]) -> tuple[list[str], list[str]]:
    """(models whose input arrays exist, models skipped for lack of them)."""
    ok = [m for m in enabled if set(required_arrays(m)) <= set(arrays)]
    return ok, [m for m in enabled if m not in ok]


def feature_names(cfg: dict, available: list[str]) -> list[str]:
    """Scalar features a model uses: the configured ones the shards hold (a ``views`` dataset
    brings its own columns, all used)."""
    if cfg["catalog"]["source"] == "views":
        return list(available)
    return [n for n in cfg["features"] if n in available]


TREE_VIEWS = ("global", "local")


def trees_read_views(cfg: dict, n_features: int) -> bool:
    """Whether the trees learn from the flattened global and local views (models.trees.inputs):
    asked for, or ``auto`` in a run without scalar features (a views dataset that names none)."""
    inputs = cfg["models"]["trees"]["inputs"]
    return inputs == "views" or (inputs == "auto" and n_features == 0)


def model_arrays(model: str, available: dict[str, tuple], cfg: dict | None = None, n_features: int = 0
                 ) -> dict[str, tuple]:
    """The view arrays (name -> per-TCE shape) that ``model`` reads."""
    if model not in CNN_MODELS:
        if cfg is None or not trees_read_views(cfg, n_features):
            return {}
        missing = [a for a in TREE_VIEWS if a not in available]
        if missing:
            raise RuntimeError(f"trees learn from the views here (models.trees.inputs), but the shards hold no "
                               f"{', '.join(missing)} view; name scalar features or set models.trees.inputs")
        return {n: available[n] for n in TREE_VIEWS}
    missing = [a for a in required_arrays(model) if a not in available]
    if missing:
        raise RuntimeError(f"model {model} needs view array(s) {', '.join(missing)}, which the shards "
                           f"do not hold (they hold {', '.join(available) or 'none'}); enable them in "
                           "views.enabled or drop the model from models.enabled")
    used = {n for br in model_branches(model, list(available)) for tower in br.towers for n in tower}
    return {n: shape for n, shape in available.items() if n in used}


