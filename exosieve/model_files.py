"""The model file (``results/models/<model>/fold_K/model.pt``): its format, how it is written and
read, and what it records about the run that trained it. Training writes it, evaluation, predict
and scoring read it through here.

A model file is one ``torch.save`` of a dict of tensors and plain values (never a pickled object):
``format``, ``kind`` (cnn or trees), ``model``, ``fold``, ``arrays`` (view array -> per-TCE shape),
``calibration``, ``settings`` (``model_settings``: preprocessing settings and their hash, shard
schema, code version, source, the run's fold count and seed), and per kind the weights
(``state_dict``, ``model_cfg``, ``scaler``, ``medians``) or the trees as arrays (``trees``,
``features``). It is loaded weights-only, so opening a file someone shared cannot run code: a
crafted pickle is refused unopened.

Light to import (torch is imported when a file is read or written): the workflow puts
MODEL_FORMAT into the training rule's settings, so that a new format retrains.
"""

from __future__ import annotations

from pathlib import Path

from .utils import atomic_output

# 2 = weights-only file, trees as arrays, calibration, settings; 3 = raw_flux with one tower per channel.
MODEL_FORMAT = 3


class ModelMismatchError(ValueError):
    """A model file that cannot score under this configuration (other settings, folds or format)."""


def save_model_file(path: str | Path, contents: dict) -> None:
    import torch
    with atomic_output(path, ".pt") as tmp:
        torch.save({**contents, "format": MODEL_FORMAT}, tmp)


def load_weights_only(path: str | Path, what: str = "ExoSieve model file") -> object:
    """``torch.load`` of tensors and plain values only, refusing anything else unopened."""
    import pickle

    import torch
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, AttributeError, TypeError, EOFError) as exc:
        raise ModelMismatchError(
            f"{path}: not a weights-only {what}, refused without running it ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:200]}). Retrain it with this ExoSieve: snakemake --cores N --forcerun train"
        ) from None


def load_model_file(path: str | Path) -> dict:
    """A model file's contents, loaded weights-only, of this ExoSieve's format."""
    contents = load_weights_only(path)
    if not isinstance(contents, dict) or contents.get("format") != MODEL_FORMAT:
        found = contents.get("format") if isinstance(contents, dict) else "?"
        raise ModelMismatchError(f"{path}: model file format {found}, this ExoSieve reads {MODEL_FORMAT}; retrain: "
                                 "snakemake --cores N --forcerun train")
    return contents


def model_settings(cfg: dict) -> dict:
    """What a model file records about how its inputs were made and which run it belongs to."""
    from . import __version__
    from .config import preprocessing_hash, preprocessing_settings
    from .shards import SCHEMA_VERSION
    return {"preprocessing_hash": preprocessing_hash(cfg), "preprocessing": preprocessing_settings(cfg),
            "schema_version": SCHEMA_VERSION, "code_version": __version__, "source": cfg["catalog"]["source"],
            "folds": int(cfg["cv"]["folds"]), "cv_seed": int(cfg["cv"]["seed"])}


def check_model_settings(settings: dict, cfg: dict, where: str) -> None:
    """Refuse a model recorded with ``settings`` under ``cfg`` when its inputs were made with other
    preprocessing settings (they would mean something else) or it belongs to another CV run."""
    from .config import preprocessing_mismatch
    problems = []
    differs = preprocessing_mismatch(settings["preprocessing_hash"], settings["preprocessing"], cfg)
    if differs:
        problems.append(f"its inputs were preprocessed with other settings ({differs})")
    if (settings["folds"], settings["cv_seed"]) != (cfg["cv"]["folds"], cfg["cv"]["seed"]):
        problems.append(f"it belongs to a {settings['folds']}-fold run with cv.seed {settings['cv_seed']}, this "
                        f"configuration has cv.folds {cfg['cv']['folds']} and cv.seed {cfg['cv']['seed']}")
    if problems:
        raise ModelMismatchError(f"{where}: {'; '.join(problems)}. Retrain under this configuration "
                                 "(snakemake --cores N), or score with the configuration these models were trained with.")
