"""The vetting models: multi-branch 1D CNNs (ExoMiner, Astronet, a raw-flux CNN) in plain PyTorch,
and gradient-boosted trees on the scalar features (scikit-learn).

A CNN is a list of *branches*; each branch owns one or more *towers* (a stack of convolutions
over one group of channels) and is the unit that explanations occlude. ExoMiner's odd/even
branch runs odd and even views through one tower (shared weights) and passes on the absolute
difference of their features, so only a difference between them can move the score. Kept free of
Lightning so that scoring needs only torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import torch
from torch import nn

from .views import required_arrays, usable_models  # noqa: F401  (re-exported)

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
            branches.append(Branch(flux, (tower(flux, f"{flux}_scatter"),)))
    if {"odd_local", "even_local"} <= have:
        branches.append(Branch("odd_even", (("odd_local",), ("even_local",)), paired=True))
    if "secondary" in have:
        branches.append(Branch("secondary", (("secondary",),)))
    if {"centroid_global", "centroid_local"} & have:
        branches.append(Branch("centroid", tuple((n,) for n in ("centroid_global", "centroid_local")
                                                 if n in have)))
    for name in ("double_period", "unfolded"):
        if name in have:
            branches.append(Branch(name, ((name,),)))
    return branches


class WindowMax(nn.Module):
    """Max over ``out_length`` windows spanning the input, the windows of ``nn.AdaptiveMaxPool1d``
    (start floor(i*L/n), end ceil((i+1)*L/n)), so any view length gives the same feature size.
    Built from slices and ``amax`` because AdaptiveMaxPool1d runs through AdaptiveMaxPool2d, whose
    CUDA backward torch documents as nondeterministic: with deterministic algorithms on (as
    training runs) it raises on a GPU's first backward step. Same forward values."""

    def __init__(self, out_length: int):
        super().__init__()
        self.out_length = out_length

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, length = self.out_length, x.shape[-1]
        return torch.stack([x[..., (i * length) // n: -((-(i + 1) * length) // n)].amax(dim=-1)
                            for i in range(n)], dim=-1)


class ConvTower(nn.Module):
    """Blocks of two same-padded convolutions and a max pool, doubling filters each block, then
    a max over fixed windows so any view length (31, 301, 2001 bins) gives the same feature size."""

    def __init__(self, channels: int, blocks: int, filters: int, kernel_size: int, out_length: int = 4):
        super().__init__()
        layers: list[nn.Module] = []
        c_in = channels
        for b in range(blocks):
            c_out = filters * 2**b
            layers += [nn.Conv1d(c_in, c_out, kernel_size, padding=kernel_size // 2), nn.ReLU(),
                       nn.Conv1d(c_out, c_out, kernel_size, padding=kernel_size // 2), nn.ReLU(),
                       nn.MaxPool1d(kernel_size=3, stride=2, padding=1)]
            c_in = c_out
        layers += [WindowMax(out_length), nn.Flatten()]
        self.net = nn.Sequential(*layers)
        self.out_features = c_in * out_length

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def _stack(views: dict[str, torch.Tensor], names: tuple[str, ...]) -> torch.Tensor:
    """(batch, channels, length): 1D arrays become one channel, 2D arrays (unfolded) many."""
    return torch.cat([views[n].unsqueeze(1) if views[n].dim() == 2 else views[n] for n in names], dim=1)


class MultiBranchCNN(nn.Module):
    def __init__(self, branches: list[Branch], channels: dict[str, int], n_scalars: int,
                 conv_blocks: int = 2, filters: int = 16, kernel_size: int = 5, scalar_units: int = 32,
                 fc_units=(128, 64), dropout: float = 0.2):
        super().__init__()
        self.branch_specs = list(branches)
        self.towers = nn.ModuleDict()
        width = 0
        for br in branches:
            towers = br.towers[:1] if br.paired else br.towers
            for i, names in enumerate(towers):
                t = ConvTower(sum(channels[n] for n in names), conv_blocks, filters, kernel_size)
                self.towers[f"{br.name}_{i}"] = t
                width += t.out_features
        self.scalar_branch = None
        if n_scalars:
            self.scalar_branch = nn.Sequential(nn.Linear(n_scalars, scalar_units), nn.ReLU())
            width += scalar_units
        head: list[nn.Module] = []
        for units in fc_units:
            head += [nn.Linear(width, units), nn.ReLU(), nn.Dropout(dropout)]
            width = units
        head.append(nn.Linear(width, 1))
        self.head = nn.Sequential(*head)

    def forward(self, views: dict[str, torch.Tensor], scalars: torch.Tensor) -> torch.Tensor:
        parts = []
        for br in self.branch_specs:
            if br.paired:
                tower = self.towers[f"{br.name}_0"]
                a, b = (tower(_stack(views, names)) for names in br.towers)
                parts.append(torch.abs(a - b))
            else:
                parts += [self.towers[f"{br.name}_{i}"](_stack(views, names))
                          for i, names in enumerate(br.towers)]
        if self.scalar_branch is not None:
            parts.append(self.scalar_branch(scalars))
        return self.head(torch.cat(parts, dim=1)).squeeze(1)


def build_cnn(model: str, arrays: dict[str, tuple[int, ...]], n_scalars: int, model_cfg: dict) -> MultiBranchCNN:
    """``arrays``: the per-TCE shape of every view array the shards hold."""
    branches = model_branches(model, list(arrays))
    channels = {n: (shape[0] if len(shape) == 2 else 1) for n, shape in arrays.items()}
    return MultiBranchCNN(branches, channels, n_scalars if model_cfg.get("scalars", False) else 0,
                          conv_blocks=model_cfg["conv_blocks"], filters=model_cfg["filters"],
                          kernel_size=model_cfg["kernel_size"],
                          scalar_units=model_cfg.get("scalar_units", 32),
                          fc_units=tuple(model_cfg["fc_units"]), dropout=model_cfg["dropout"])


def build_trees(trees_cfg: dict, seed: int, imbalance: str = "class_weight"):
    from sklearn.ensemble import HistGradientBoostingClassifier
    # Missing features (no centroids, no stellar parameters) are handled natively as NaN. Trees
    # see every TCE each iteration, so balanced batches amount to balanced class weights.
    return HistGradientBoostingClassifier(max_iter=trees_cfg["max_iter"],
                                          learning_rate=trees_cfg["learning_rate"],
                                          max_leaf_nodes=trees_cfg["max_leaf_nodes"],
                                          class_weight=None if imbalance == "none" else "balanced",
                                          random_state=seed)


def tree_inputs(scalars: np.ndarray, views: dict[str, np.ndarray], arrays) -> np.ndarray:
    """The trees' feature matrix: the flattened views named in ``arrays`` (in that order), then
    the scalar features."""
    flat = [np.asarray(views[n]).reshape(len(scalars), -1) for n in arrays]
    return np.hstack([*flat, scalars]) if flat else scalars


TREE_FIELDS = ("feature_idx", "num_threshold", "missing_go_to_left", "left", "right", "is_leaf", "value")


class BoostedTrees:
    """A fitted HistGradientBoostingClassifier (binary, numeric features) as plain arrays, so that
    a model file holds numbers, never a pickled estimator that could run code when opened. Every
    tree's nodes are concatenated (child indices offset to match); ``predict_proba`` walks all
    rows down each tree at once, exactly as scikit-learn predicts from raw features."""

    def __init__(self, arrays: dict):
        self.arrays = {k: np.asarray(v) for k, v in arrays.items()}

    @classmethod
    def from_estimator(cls, clf) -> "BoostedTrees":
        parts, roots, offset = [], [], 0
        for per_iteration in clf._predictors:
            if len(per_iteration) != 1:
                raise ValueError("only binary classifiers can be exported")
            nodes = per_iteration[0].nodes
            if nodes["is_categorical"].any():
                raise ValueError("categorical splits cannot be exported")
            part = {k: np.array(nodes[k]) for k in TREE_FIELDS}
            part["left"] = part["left"].astype(np.int64) + offset
            part["right"] = part["right"].astype(np.int64) + offset
            parts.append(part)
            roots.append(offset)
            offset += len(nodes)
        arrays = {k: np.concatenate([p[k] for p in parts]) for k in TREE_FIELDS}
        arrays["roots"] = np.array(roots, np.int64)
        arrays["baseline"] = np.asarray(clf._baseline_prediction, np.float64).ravel()
        return cls(arrays)

    def to_tensors(self) -> dict[str, torch.Tensor]:
        return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in self.arrays.items()}

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """P(planet) per row of ``x`` (features in training order; NaN allowed)."""
        a = self.arrays
        x = np.asarray(x, np.float64)
        leaf, go_nan_left = a["is_leaf"].astype(bool), a["missing_go_to_left"].astype(bool)
        raw = np.full(len(x), float(a["baseline"][0]))
        for root in a["roots"]:
            node = np.full(len(x), root, np.int64)
            while True:
                active = np.flatnonzero(~leaf[node])
                if not active.size:
                    break
                at = node[active]
                value = x[active, a["feature_idx"][at]]
                left = np.where(np.isnan(value), go_nan_left[at], value <= a["num_threshold"][at])
                node[active] = np.where(left, a["left"][at], a["right"][at])
            raw += a["value"][node]
        return 1.0 / (1.0 + np.exp(-raw))
