# ExoSieve: TCE catalog -> light curves -> HDF5 shards -> k-fold CNN training -> CV report.
# Run `snakemake --cores N`; with no configuration it vets the embedded simulated survey.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


# `snakemake --report report.html`: this description, then the results registered with report().
report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/catalog.smk"
include: "rules/shards.smk"
include: "rules/lightcurves.smk"
include: "rules/preprocess.smk"
include: "rules/folds.smk"
include: "rules/tune.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/report.smk"
include: "rules/predict.smk"


rule all:
    input:
        REPORT_FILES,
    default_target: True


onsuccess:
    from exosieve.report import run_summary

    summary = run_summary(R, RUN_STARTED)
    if summary:
        logger.info(summary)
