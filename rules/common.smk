# Shared settings and helpers: validated config, paths, and the shard/fold lists.
import glob
import os
import sys
import time

RUN_STARTED = time.time()  # the closing summary speaks only of a report this run wrote

# Jobs (scripts, --use-conda environments, cluster jobs) import the package from this checkout
# even when it is not pip-installed there.
_REPO = os.path.abspath(os.path.join(workflow.basedir))
sys.path.insert(0, _REPO)
from exosieve.utils import export_to_jobs

export_to_jobs(_REPO)

from exosieve import cluster
from exosieve.catalog.sources import ARCHIVE_SOURCES, get_source
from exosieve.catalog.views_dataset import views_paths
from exosieve.code_version import code_hash
from exosieve.layout import RunLayout
from exosieve.config import ConfigError, load as load_config, operational_settings, stage_settings
from exosieve.shards import read_manifest_shards

try:
    config = load_config(config)
except ConfigError as exc:
    raise WorkflowError(str(exc))

R = config["results"]
# Every path under the results folder comes from the run layout (exosieve/layout.py).
L = RunLayout(R)
SOURCE = get_source(config)
FOLDS = list(range(config["cv"]["folds"]))
ENV = "../envs/exosieve.yaml"
RUNTIME = config["resources"]["runtime_min"]
# On a cluster, rules that download run on the submitting host unless compute nodes have internet.
DOWNLOAD_LOCALLY = config["catalog"]["source"] in ARCHIVE_SOURCES and not config["resources"]["nodes_have_internet"]

# A rule's params are its script's only input from the configuration and its rerun trigger: a job
# reruns when what it reads changed (`settings`, exosieve.config.STAGE_KEYS)...
def settings(stage):
    return stage_settings(config, stage)


# ...or the package code its script runs: every rule's params hold CODE[its script], the hash of
# the script's import closure in the package (exosieve/code_version.py), computed, never listed.
CODE = {
    name[:-3]: code_hash(os.path.join(_REPO, "workflow_scripts", name))
    for name in os.listdir(os.path.join(_REPO, "workflow_scripts"))
    if name.endswith(".py")
}
MODELS = config["models"]["enabled"]
if config["catalog"]["source"] == "views":
    from exosieve.model_inputs import usable_models

    # A views file may lack what a model needs (raw_flux has no light curve to start from).
    MODELS, _skipped = usable_models(MODELS, SOURCE.view_arrays())
    if _skipped:
        logger.warning(f"models {_skipped} skipped: {config['catalog']['path']} lacks their input views")
    if config["models"]["primary"] not in MODELS:
        raise WorkflowError(f"models.primary {config['models']['primary']} cannot run on this views file")
# Models trained elsewhere (models.from: a bundle or a run's folder) score this catalog instead of
# training here: those it holds, each checked now to read inputs made as this configuration makes them.
FROM = config["models"]["from"]
FROM_FILES = {}
if FROM:
    from exosieve.model_files import ModelMismatchError, models_from

    try:
        FROM_FILES = {str(k): [str(p) for p in v] for k, v in models_from(FROM, config, MODELS).items()}
    except (ModelMismatchError, FileNotFoundError) as exc:
        raise WorkflowError(f"models.from: {exc}")
    MODELS = [m for m in MODELS if m in FROM_FILES]
    if config["models"]["primary"] not in MODELS:
        raise WorkflowError(f"models.from {FROM} holds no {config['models']['primary']} model (models.primary); "
                            f"it holds {', '.join(FROM_FILES) or 'none of models.enabled'}")
PRIMARY = config["models"]["primary"]
# CNNs whose folds have a tuning study: those tune.models names (snakemake tune), and those that
# train with its best settings (models.<name>.from_tuning).
TUNED = [m for m in MODELS if m != "trees" and (m in config["tune"]["models"] or config["models"][m]["from_tuning"])]


def per_model_settings(stage):
    """Params function of a per-model stage (train, tune): what its model's job reads."""
    return lambda wildcards: stage_settings(config, stage, wildcards.model)


# How a job works, not what it makes (download workers, the cache folder, memory for views):
# computed from the job's output, which keeps it out of Snakemake's params trigger.
def operational(wildcards, output):
    return operational_settings(config)

REPORT_FILES = [
    L.report_file("index.html"),
    L.report_file("metrics.csv"),
    L.report_file("vetted_catalog.csv"),
]


def shard_paths(pattern):
    """Input function: ``pattern`` for every shard of the run. The shard count comes from the
    assign_shards checkpoint (``shards: auto`` sizes it from the catalog)."""

    def paths(wildcards):
        manifest = checkpoints.assign_shards.get().output.manifest
        return expand(pattern, shard=read_manifest_shards(manifest))

    return paths


def shard_targets(wildcards):
    """The shard's target list, written by the assign_shards checkpoint only when it changed."""
    checkpoints.assign_shards.get()
    return L.shard_targets(wildcards.shard)


# Input and parameter functions of the light-curve and report rules.


def lightcurve_inputs(wildcards):
    inputs = {"targets": shard_targets(wildcards)}
    if config["catalog"]["source"] == "simulated":
        files = SOURCE.raw_catalog_files()
        inputs.update(stars=str(files["stars"]), truth=str(files["truth"]))
    return inputs


def lightcurve_files_digest(wildcards):
    # A local folder's files are no rule's output: a digest of the shard's stars' files (names,
    # sizes, times) reruns the shard when one of them is added, removed or replaced.
    if config["catalog"]["source"] != "local":
        return None
    return SOURCE.lightcurve_listing_digest(shard_targets(wildcards))


def lightcurve_sectors(wildcards):
    # The sectors the catalog's runs cover (tess_spoc), not the whole TCE table as an input:
    # a catalog update reruns only the shards whose stars changed. The raw table exists once
    # the shards are assigned.
    if config["catalog"]["source"] != "tess_spoc":
        return None
    checkpoints.assign_shards.get()
    return SOURCE.sectors()


def training_inputs(wildcards):
    """What training reads beyond the run's own shards: training.init_from's models and the files
    of training.extra_sources, so that a change to either retrains."""
    t = config["training"]
    files = []
    if t["init_from"]:
        path = os.path.expanduser(t["init_from"])
        files += glob.glob(os.path.join(path, "**", "fold_*", "model.pt"), recursive=True) if os.path.isdir(path) \
            else [path]
    for extra in t["extra_sources"]:
        path = os.path.expanduser(extra["path"])
        runs = [r for r in (os.path.join(path, "results"), path) if os.path.exists(os.path.join(r, "shards", "shard_list.csv"))]
        files += ([os.path.join(runs[0], "shards", "shard_list.csv"), os.path.join(runs[0], "folds", "folds.csv")]
                  if runs else [str(p) for p in views_paths(path)])
    return files


def tuned_settings(wildcards):
    """A fold's best tuned settings, when its model trains with them (models.<name>.from_tuning)."""
    if config["models"][wildcards.model].get("from_tuning"):
        return [L.tune_file(wildcards.model, wildcards.fold, "best.yaml")]
    return []


def report_extras(wildcards):
    extras = {}
    if config["catalog"]["source"] == "simulated":
        extras["truth"] = str(SOURCE.raw_catalog_files()["truth"])
    if config["evaluation"]["test_path"]:
        extras["test_scores"] = expand(L.test_set_scores("{model}"), model=MODELS)
    from_tuning = [m for m in TUNED if config["models"][m]["from_tuning"]]
    if from_tuning and not FROM:
        extras["tuning"] = expand(L.tune_file("{model}", "{fold}", "trials.csv"), model=from_tuning, fold=FOLDS)
    return extras
