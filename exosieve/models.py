"""The multi-branch 1D CNN (Astronet / ExoMiner family), in plain PyTorch.

One convolutional branch per view, a dense branch for the scalar features, concatenated into
fully connected layers with one logit (planet vs not). Kept free of Lightning so that scoring
needs only torch.
"""

from __future__ import annotations

import torch
from torch import nn


class ConvBranch(nn.Module):
    """Blocks of two same-padded convolutions and a max pool, doubling filters each block, then
    an adaptive pool so any view length (31, 301, 2001 bins) gives the same feature size."""

    def __init__(self, blocks: int, filters: int, kernel_size: int, out_length: int = 4):
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 1
        for b in range(blocks):
            c_out = filters * 2**b
            layers += [nn.Conv1d(c_in, c_out, kernel_size, padding=kernel_size // 2), nn.ReLU(),
                       nn.Conv1d(c_out, c_out, kernel_size, padding=kernel_size // 2), nn.ReLU(),
                       nn.MaxPool1d(kernel_size=3, stride=2, padding=1)]
            c_in = c_out
        layers += [nn.AdaptiveMaxPool1d(out_length), nn.Flatten()]
        self.net = nn.Sequential(*layers)
        self.out_features = c_in * out_length

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.unsqueeze(1))


class MultiBranchCNN(nn.Module):
    def __init__(self, views: list[str], n_scalars: int, conv_blocks: int = 2, filters: int = 16,
                 kernel_size: int = 5, scalar_units: int = 32, fc_units=(128, 64), dropout: float = 0.2):
        super().__init__()
        self.view_names = list(views)
        self.branches = nn.ModuleDict({v: ConvBranch(conv_blocks, filters, kernel_size) for v in views})
        width = sum(b.out_features for b in self.branches.values())
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
        parts = [self.branches[v](views[v]) for v in self.view_names]
        if self.scalar_branch is not None:
            parts.append(self.scalar_branch(scalars))
        return self.head(torch.cat(parts, dim=1)).squeeze(1)


def build_model(views: list[str], n_scalars: int, model_cfg: dict) -> MultiBranchCNN:
    return MultiBranchCNN(views, n_scalars, conv_blocks=model_cfg["conv_blocks"],
                          filters=model_cfg["filters"], kernel_size=model_cfg["kernel_size"],
                          scalar_units=model_cfg["scalar_units"], fc_units=tuple(model_cfg["fc_units"]),
                          dropout=model_cfg["dropout"])
