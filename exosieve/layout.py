"""Where a run keeps each thing under its results folder: the one place that spells those paths.

The rules take their inputs and outputs from here (through ``rules/common.smk``), and so do the
package's readers of a finished run (``exosieve predict``, ``export-models``, ``plan``, tuning's
best settings, ``init_from``). Each method returns a string; given Snakemake wildcards (``"{model}"``,
``"{fold}"``) it returns the rule's pattern, given values the file's path.

    results/
      survey/<hash>/, archive/<source>/  the source's raw catalog (catalog.sources)
      catalog/tces.csv, rejected.csv     the normalized TCE table and the rows it refused
      lightcurves/<shard>.csv            per shard: light-curve files found, and failures
      shards/<shard>.h5                  views and features; targets/, manifest.csv, shard_list.csv
      folds/folds.csv                    the CV folds
      models/<model>/fold_<k>/           model.pt and its training history (metrics.csv)
      scores/<model>/fold_<k>.csv        out-of-fold (and unlabelled) scores
      tune/<model>/fold_<k>/             a tuning study: best.yaml, trials.csv, importances.csv
      test_set/<model>/scores.csv        an external test set's scores
      predictions/predictions.csv        `snakemake predict`
      report/                            index.html, the vetted catalog, tables and figures
      logs/, benchmarks/                 each job's log and Snakemake benchmark
"""

from __future__ import annotations

from pathlib import Path


class RunLayout:
    """The paths of a run whose results folder is ``results``."""

    def __init__(self, results: str | Path):
        self.results = str(results)

    def _path(self, *parts) -> str:
        return str(Path(self.results, *map(str, parts)))

    # The source's own folders (raw catalog files and their download caches).
    def survey_dir(self, survey_hash: str) -> str:
        return self._path("survey", survey_hash)

    def archive_dir(self, source: str) -> str:
        return self._path("archive", source)

    # Catalog, light curves, shards and folds.
    def tces(self) -> str:
        return self._path("catalog", "tces.csv")

    def rejected(self) -> str:
        return self._path("catalog", "rejected.csv")

    def lightcurve_index(self, shard) -> str:
        return self._path("lightcurves", f"{shard}.csv")

    def lightcurve_failures(self, shard) -> str:
        return self._path("lightcurves", f"{shard}.failures.csv")

    def shard(self, shard) -> str:
        return self._path("shards", f"{shard}.h5")

    def shard_failures(self, shard) -> str:
        return self._path("shards", f"{shard}.failures.csv")

    def shard_targets_dir(self) -> str:
        return self._path("shards", "targets")

    def shard_targets(self, shard) -> str:
        return self._path("shards", "targets", f"{shard}.csv")

    def shard_manifest(self) -> str:
        return self._path("shards", "manifest.csv")

    def shard_list(self) -> str:
        return self._path("shards", "shard_list.csv")

    def folds(self) -> str:
        return self._path("folds", "folds.csv")

    # Models, their scores and tuning, fold by fold.
    def models_dir(self) -> str:
        return self._path("models")

    def model_dir(self, model, fold) -> str:
        return self._path("models", model, f"fold_{fold}")

    def model_file(self, model, fold) -> str:
        return self._path("models", model, f"fold_{fold}", "model.pt")

    def training_history(self, model, fold) -> str:
        return self._path("models", model, f"fold_{fold}", "metrics.csv")

    def scores(self, model, fold) -> str:
        return self._path("scores", model, f"fold_{fold}.csv")

    def tune_dir(self, model, fold) -> str:
        return self._path("tune", model, f"fold_{fold}")

    def tune_file(self, model, fold, name: str) -> str:
        """``best.yaml``, ``trials.csv`` or ``importances.csv`` of a study."""
        return self._path("tune", model, f"fold_{fold}", name)

    def test_set_scores(self, model) -> str:
        return self._path("test_set", model, "scores.csv")

    def predictions(self) -> str:
        return self._path("predictions", "predictions.csv")

    # The report.
    def report_dir(self) -> str:
        return self._path("report")

    def report_file(self, name: str) -> str:
        return self._path("report", name)

    # Each job's log and benchmark: the rule's name, then its wildcards as folders (the last a file).
    def log(self, rule: str, *wildcards) -> str:
        return self._job_file("logs", rule, wildcards, ".log")

    def benchmark(self, rule: str, *wildcards) -> str:
        return self._job_file("benchmarks", rule, wildcards, ".tsv")

    def _job_file(self, kind: str, rule: str, wildcards, suffix: str) -> str:
        if not wildcards:
            return self._path(kind, f"{rule}{suffix}")
        return self._path(kind, rule, *wildcards[:-1], f"{wildcards[-1]}{suffix}")

    def fold_name(self, fold) -> str:
        """A fold's folder or file stem (``fold_K``), for logs and benchmarks per fold."""
        return f"fold_{fold}"
