"""The vetting models: multi-branch 1D CNNs (ExoMiner, Astronet, a raw-flux CNN) in plain PyTorch,
and gradient-boosted trees on the scalar features or the flattened views (scikit-learn). Which
arrays each model reads, and how its branches group them, is ``model_inputs``. Kept free of
Lightning so that scoring needs only torch.
"""

from __future__ import annotations

import numpy as np

import torch
from torch import nn

from .model_inputs import CNN_MODELS, Branch, model_branches  # noqa: F401  (re-exported)

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


# What a tower is made of, each settable per model and per view (``models.<name>.towers``).
TOWER_KEYS = ("conv_blocks", "filters", "kernel_size", "convs_per_block", "pool_size", "pool_stride",
              "pool_padding", "batch_norm", "output", "out_length")


class ConvTower(nn.Module):
    """Blocks of same-padded convolutions (``convs_per_block``, filters doubling each block) and a
    max pool, then the tower's output: ``window``, a max over ``out_length`` fixed windows, so
    that any view length (31, 301, 2001 bins) gives the same feature size; or ``flatten``, every
    position kept, as Astronet's towers do. Blocks that would pool the view below one bin are left
    out."""

    def __init__(self, channels: int, length: int, conv_blocks: int = 2, filters: int = 16, kernel_size: int = 5,
                 convs_per_block: int = 2, pool_size: int = 3, pool_stride: int = 2, pool_padding: str = "same",
                 batch_norm: bool = False, output: str = "window", out_length: int = 4):
        super().__init__()
        layers: list[nn.Module] = []
        c_in, n = channels, length
        pad = (pool_size - 1) // 2 if pool_padding == "same" else 0
        for b in range(conv_blocks):
            after = (n + 2 * pad - pool_size) // pool_stride + 1
            if after < 1:
                break
            c_out = filters * 2**b
            for _ in range(convs_per_block):
                layers += [nn.Conv1d(c_in, c_out, kernel_size, padding=kernel_size // 2), nn.ReLU()]
                c_in = c_out
            if batch_norm:
                layers.append(nn.BatchNorm1d(c_out))
            layers.append(nn.MaxPool1d(kernel_size=pool_size, stride=pool_stride, padding=pad))
            n = after
        if output == "flatten":
            layers.append(nn.Flatten())
            self.out_features = c_in * n
        else:
            layers += [WindowMax(out_length), nn.Flatten()]
            self.out_features = c_in * out_length
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def tower_settings(model_cfg: dict, first_array: str) -> dict:
    """A tower's settings: the model's, with those ``towers`` names for this view on top (a tower is
    named by its first array: global, local, odd_local, centroid_global, raw_flux_fold, ...)."""
    base = {k: model_cfg[k] for k in TOWER_KEYS if k in model_cfg}
    return {**base, **((model_cfg.get("towers") or {}).get(first_array) or {})}


def _stack(views: dict[str, torch.Tensor], names: tuple[str, ...]) -> torch.Tensor:
    """(batch, channels, length): 1D arrays become one channel, 2D arrays (unfolded) many."""
    return torch.cat([views[n].unsqueeze(1) if views[n].dim() == 2 else views[n] for n in names], dim=1)


class MultiBranchCNN(nn.Module):
    def __init__(self, branches: list[Branch], shapes: dict[str, tuple[int, ...]], n_scalars: int,
                 model_cfg: dict):
        super().__init__()
        self.branch_specs = list(branches)
        self.towers = nn.ModuleDict()
        channels = {n: (shape[0] if len(shape) == 2 else 1) for n, shape in shapes.items()}
        width = 0
        for br in branches:
            towers = br.towers[:1] if br.paired else br.towers
            for i, names in enumerate(towers):
                t = ConvTower(sum(channels[n] for n in names), shapes[names[0]][-1],
                              **tower_settings(model_cfg, names[0]))
                self.towers[f"{br.name}_{i}"] = t
                width += t.out_features
        scalar_units, dropout = model_cfg.get("scalar_units", 32), model_cfg["dropout"]
        self.scalar_branch = None
        if n_scalars:
            self.scalar_branch = nn.Sequential(nn.Linear(n_scalars, scalar_units), nn.ReLU())
            width += scalar_units
        head: list[nn.Module] = []
        for units in model_cfg["fc_units"]:
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
    return MultiBranchCNN(branches, {n: tuple(shape) for n, shape in arrays.items()},
                          n_scalars if model_cfg.get("scalars", False) else 0, model_cfg)


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
