# Thin entry point: rule report -> exosieve.report.build_report.
import logging

from exosieve.report import build_report
from exosieve.utils import setup_logging

setup_logging(snakemake.log[0])
failures = [snakemake.input.rejected, *snakemake.input.failures]
metrics = build_report(snakemake.input.tces, snakemake.input.folds, list(snakemake.input.scores),
                       list(snakemake.input.histories), failures, snakemake.params.out_dir,
                       snakemake.config, truth_csv=snakemake.input.get("truth"))
logging.getLogger("exosieve").info("cross-validation metrics:\n%s", metrics.to_string(index=False))
