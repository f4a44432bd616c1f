"""Figure helpers shared by the report and the diagnostic sheets: matplotlib on the file-only Agg
backend, imported only when a figure is drawn (it is slow to import), and figures written as
every other output is (temporary file, then rename)."""

from __future__ import annotations

from pathlib import Path

from .utils import atomic_output


def pyplot():
    """matplotlib.pyplot on the Agg backend."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, path: Path, dpi: int = 110, tight: bool = True) -> None:
    with atomic_output(path, ".png") as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight" if tight else None, format="png")
    pyplot().close(fig)
