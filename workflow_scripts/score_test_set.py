# Thin entry point: rule score_test_set -> exosieve.evaluation.score_test_set, with the run's fold
# models of this model (or, with models.from, those it names).
from exosieve.evaluation import score_test_set
from exosieve.predict import run_models
from exosieve.utils import setup_logging

setup_logging(snakemake.log[0])
cfg = {**snakemake.config, "models": {**snakemake.config["models"], "enabled": [snakemake.wildcards.model]}}
score_test_set(run_models(cfg)[snakemake.wildcards.model], snakemake.config["evaluation"]["test_path"],
               snakemake.output.scores, snakemake.config)
