"""What each job asks a cluster scheduler for, scaled with the work in it.

A fixed ``mem_mb``/``runtime`` per rule is wrong both ways: a 4,000-TCE shard's training job
needs more than a 40-TCE one, and asking every job for the worst case keeps them pending. The
figures come from the job's own inputs: a shard's target list (TCEs to preprocess) and the HDF5
shards (uncompressed float32, so their size on disk is what reading them costs in memory).
``resources.*`` in the config are floors. Rates are deliberately pessimistic: a job killed for
its time limit costs more than one that waited a little longer in the queue.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

# Training holds a fold's views once when they fit in resources.views_in_memory_mb and streams
# them otherwise; the scoring that ends a train job reads 4,096 TCEs at a time. Neither grows
# with the catalog beyond its ids and scalar features (about 200 bytes a TCE with pandas'
# overhead); benchmarks/training_memory.py measures the peak at 250,000 TCEs.
TRAIN_BASE_MB, META_BYTES_PER_TCE = 1000, 200
# Per TCE: a full-mission Kepler star takes about 2 s to preprocess on one core and its 17
# quarters about 10 s to download; training a CNN runs at no less than ~100 TCEs/s per epoch on CPU.
PREPROCESS_S_PER_TCE, DOWNLOAD_S_PER_TCE = 10.0, 20.0
TRAIN_TCE_EPOCHS_PER_S = 100.0


_ROWS: dict[tuple, int] = {}


def count_rows(csv_path: str | Path) -> int:
    """Data rows of a CSV (header excluded; one line a row, as ExoSieve writes them), without
    parsing it. Cached per version of the file: Snakemake asks once per job that reads it."""
    st = os.stat(csv_path)
    key = (str(csv_path), st.st_size, st.st_mtime_ns)
    if key not in _ROWS:
        with open(csv_path, "rb") as fh:
            data = fh.read()
        _ROWS[key] = max(0, data.count(b"\n") + (not data.endswith(b"\n")) - 1) if data else 0
    return _ROWS[key]


def shards_mb(shard_list: str | Path) -> float:
    """Size on disk of the shards a shard list names (exosieve.shards.write_shard_list), in MiB;
    0 before it exists (a dry run plans jobs whose inputs are not built yet)."""
    import pandas as pd
    try:
        return float(pd.read_csv(shard_list, usecols=["bytes"])["bytes"].sum()) / 2**20
    except FileNotFoundError:
        return 0.0


def shard_job_runtime(targets_csv: str | Path, floor_min: int, download: bool) -> int:
    """Minutes for one shard's light curves (``download``: from the archive) or preprocessing."""
    per_tce = DOWNLOAD_S_PER_TCE if download else PREPROCESS_S_PER_TCE
    return max(floor_min, math.ceil(count_rows(targets_csv) * per_tce / 60))


def train_mem_mb(shards_mb: float, n_tces: int, floor_mb: int, views_in_memory_mb: int) -> int:
    held = min(shards_mb, views_in_memory_mb) + n_tces * META_BYTES_PER_TCE / 2**20
    return max(floor_mb, int(TRAIN_BASE_MB + held))


def train_runtime(n_tces: int, max_epochs: int, floor_min: int) -> int:
    return max(floor_min, math.ceil(n_tces * max_epochs / TRAIN_TCE_EPOCHS_PER_S / 60))
