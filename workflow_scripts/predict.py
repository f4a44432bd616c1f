# Thin entry point: rule predict -> exosieve.predict.predict_targets.
from exosieve.config import job_config
from exosieve.predict import predict_targets
from exosieve.utils import setup_logging

setup_logging(snakemake.log[0])
if not snakemake.params.targets:
    raise SystemExit("rule predict needs predict.targets, e.g. --config 'predict={targets: [757450]}'")
predict_targets(job_config(snakemake.params.settings, snakemake.params.operational), snakemake.params.targets, snakemake.output.scores, progress=False)
