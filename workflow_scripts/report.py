# Thin entry point: rule report -> exosieve.report.build_report.
import logging

from exosieve.report import build_report, group_by_model
from exosieve.shards import failure_manifest, read_shard_list
from exosieve.utils import setup_logging

setup_logging(snakemake.log[0])
inp = snakemake.input
shards = read_shard_list(inp.shard_list)
comparison = build_report(
    inp.tces, inp.folds, group_by_model(inp.scores), group_by_model(inp.histories, levels_up=2),
    [inp.rejected, *map(failure_manifest, shards)], snakemake.params.out_dir, snakemake.params.settings,
    truth_csv=inp.get("truth"), shard_paths=shards,
    test_csvs={m: paths[0] for m, paths in group_by_model(inp.get("test_scores", [])).items()} or None,
    tuning_csvs=list(inp.get("tuning", [])), template=inp.template)
logging.getLogger("exosieve").info("models compared:\n%s", comparison.to_string(index=False))
