# Thin entry point: rule score_test_set -> exosieve.evaluation.score_test_set, with this model's
# fold models of the run (or, with models.from, those it names).
from exosieve.evaluation import score_test_set
from exosieve.predict import run_models
from exosieve.utils import setup_logging

setup_logging(snakemake.log[0])
settings = snakemake.params.settings
score_test_set(run_models(settings, [snakemake.wildcards.model])[snakemake.wildcards.model],
               settings["evaluation"]["test_path"], snakemake.output.scores, settings)
