"""The model file (``results/models/<model>/fold_K/model.pt``): its format, how it is written and
read, and what it records about the run that trained it. Training writes it
(``write_trained_model``); evaluation, predict and scoring read it through ``FoldModel`` here.

A model file is one ``torch.save`` of a dict of tensors and plain values (never a pickled object):
``format``, ``kind`` (cnn or trees), ``model``, ``fold``, ``arrays`` (view array -> per-TCE shape),
``calibration``, ``settings`` (``model_settings``: preprocessing settings and their hash, shard
schema, code version, source, the run's fold count and seed), ``domain`` (what its training TCEs
span, domain.training_domain), and per kind the weights (``state_dict``, ``model_cfg``,
``scaler``, ``medians``) or the trees as arrays (``trees``, ``features``). It is loaded
weights-only, so opening a file someone shared cannot run code: a crafted pickle is refused
unopened.

Light to import (torch, scipy and the networks are imported when a file is read or written): the
workflow puts MODEL_FORMAT into the training rule's settings, so that a new format retrains.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .layout import RunLayout
from .utils import atomic_output, damage_reason

if TYPE_CHECKING:
    from .shards import ShardData

# 2 = weights-only file, trees as arrays, calibration, settings; 3 = raw_flux with one tower per channel.
MODEL_FORMAT = 3


class ModelMismatchError(ValueError):
    """A model file that cannot score under this configuration (other settings, folds or format)."""


def save_model_file(path: str | Path, contents: dict) -> None:
    """Write a model file: ``contents`` stamped with this ExoSieve's MODEL_FORMAT (the one place
    that stamps it)."""
    import torch
    with atomic_output(path, ".pt") as tmp:
        torch.save({**contents, "format": MODEL_FORMAT}, tmp)


def write_trained_model(path: str | Path, trained: dict, cfg: dict, domain: dict, calibration: dict) -> dict:
    """Write the model file of a fold that training made: ``trained`` (its kind, name, fold, view
    arrays, weights or trees, and what training says of them), with what every model file records
    besides: the run's settings (``model_settings``), the training domain
    (domain.training_domain) and the calibration. Returns the contents."""
    contents = {**trained, "settings": model_settings(cfg), "domain": domain, "calibration": calibration}
    save_model_file(path, contents)
    return contents


GZIP_MAGIC = b"\x1f\x8b"
# A compressed file that inflates beyond this is refused: no model file is this large.
MAX_INFLATED_BYTES = 2**31


def _inflated(path: str | Path):
    """A gzip-compressed file (as bundles are written) as an in-memory stream; any other as its
    path. The size is bounded, so a crafted file cannot fill the memory."""
    import gzip
    import io
    with open(path, "rb") as fh:
        if fh.read(2) != GZIP_MAGIC:
            return path
    with gzip.open(path, "rb") as fh:
        data = fh.read(MAX_INFLATED_BYTES + 1)
    if len(data) > MAX_INFLATED_BYTES:
        raise ValueError(f"it inflates beyond {MAX_INFLATED_BYTES} bytes")
    return io.BytesIO(data)


def load_weights_only(path: str | Path, what: str = "ExoSieve model file") -> object:
    """``torch.load`` of tensors and plain values only, refusing anything else unopened; a
    gzip-compressed file (a bundle) is inflated first."""
    import pickle

    import torch
    try:
        return torch.load(_inflated(path), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ModelMismatchError(f"{path}: no such {what}") from None
    except pickle.UnpicklingError as exc:
        raise ModelMismatchError(
            f"{path}: not a weights-only {what}, refused without running it ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:200]}). Retrain it with this ExoSieve: snakemake --cores N --forcerun train"
        ) from None
    except Exception as exc:    # a damaged zip archive or tensor can make torch raise almost anything
        raise ModelMismatchError(f"{path}: not a readable {what}: {damage_reason(exc, 'file')}. Copy it again, "
                                 "or retrain it with this ExoSieve: snakemake --cores N --forcerun train") from None


def load_model_file(path: str | Path) -> dict:
    """A model file's contents, loaded weights-only, of this ExoSieve's format."""
    contents = load_weights_only(path)
    if not isinstance(contents, dict) or contents.get("format") != MODEL_FORMAT:
        found = contents.get("format") if isinstance(contents, dict) else "?"
        raise ModelMismatchError(f"{path}: model file format {found}, this ExoSieve reads {MODEL_FORMAT}; retrain: "
                                 "snakemake --cores N --forcerun train")
    return contents


def model_settings(cfg: dict) -> dict:
    """What a model file records about how its inputs were made, which run it belongs to and which
    code trained it (the hash of ``exosieve.training``'s import closure, as shards record theirs)."""
    from . import __version__
    from .code_version import code_hash
    from .config import preprocessing_hash, preprocessing_settings
    from .shards import SCHEMA_VERSION
    return {"preprocessing_hash": preprocessing_hash(cfg), "preprocessing": preprocessing_settings(cfg),
            "schema_version": SCHEMA_VERSION, "code_version": __version__, "code_hash": code_hash("exosieve.training"),
            "source": cfg["catalog"]["source"], "folds": int(cfg["cv"]["folds"]), "cv_seed": int(cfg["cv"]["seed"])}


# What a views dataset's geometry is declared by (views.preset or these keys): all that a model
# trained on precomputed views knows of how its inputs were made.
GEOMETRY_KEYS = ("global_bins", "local_bins", "local_durations", "local_bin_width", "global_bin_width",
                 "normalize", "outlier_sigma")


def geometry(preprocessing: dict) -> dict:
    """The view geometry of preprocessing settings (defaults for keys an older file lacks): its
    views' keys and the detrending method the views were made with."""
    views = preprocessing["views"]
    defaults = {"local_bin_width": None, "global_bin_width": "transit", "normalize": "depth", "outlier_sigma": None}
    out = {k: views.get(k, defaults.get(k)) for k in GEOMETRY_KEYS}
    detrending = preprocessing.get("detrend") or {}
    out["detrend.method"] = detrending.get("method", "spline")
    if out["detrend.method"] == "savgol":
        out["detrend.window_length"] = detrending.get("window_length")
    return out


def check_model_settings(settings: dict, cfg: dict, where: str, same_run: bool = True,
                         reads_raw_flux: bool = True) -> None:
    """Refuse a model recorded with ``settings`` under ``cfg`` when its inputs were made with other
    preprocessing settings (they would mean something else) or, for a run's own models
    (``same_run``), when it belongs to another CV run. A model trained on a views dataset knows
    only its views' geometry: a light-curve catalog preprocessed at that geometry may use it."""
    from .config import describe_differences, preprocessing_mismatch
    problems = []
    if settings.get("source") == "views" and cfg["catalog"]["source"] != "views":
        recorded, here = geometry(settings["preprocessing"]), geometry(cfg)
        differs = describe_differences(recorded, here) if recorded != here else None
        if differs:
            problems.append(f"it was trained on views of another geometry than this configuration makes ({differs}); "
                            "set views (or views.preset) to the geometry it was trained on")
    else:
        differs = preprocessing_mismatch(settings["preprocessing_hash"], settings["preprocessing"], cfg,
                                         reads_raw_flux)
        if differs:
            problems.append(f"its inputs were preprocessed with other settings ({differs})")
    if same_run and (settings["folds"], settings["cv_seed"]) != (cfg["cv"]["folds"], cfg["cv"]["seed"]):
        problems.append(f"it belongs to a {settings['folds']}-fold run with cv.seed {settings['cv_seed']}, this "
                        f"configuration has cv.folds {cfg['cv']['folds']} and cv.seed {cfg['cv']['seed']}")
    if problems:
        raise ModelMismatchError(f"{where}: {'; '.join(problems)}. Retrain under this configuration "
                                 "(snakemake --cores N), or score with the configuration these models were trained with.")


# --- one fold's model, read from its file -------------------------------------------------------

class FoldModel:
    """One fold's trained model, CNN or trees, behind one interface: ``score`` (calibrated
    probability), ``raw_score`` and ``occlude``."""

    def __init__(self, path: str | Path | None = None, bundle: dict | None = None, where: str | None = None):
        self.path = Path(path) if path else None
        self.where = where or (str(path) if path else None)
        bundle = load_model_file(path) if bundle is None else bundle
        self.bundle, self.kind, self.name = bundle, bundle["kind"], bundle["model"]
        self.arrays = list(bundle["arrays"])
        self.settings = bundle.get("settings")
        self.calibration = None
        if bundle.get("calibration") is not None:
            from .calibration import Calibration
            self.calibration = Calibration.from_dict(bundle["calibration"])
        if self.kind == "cnn":
            from .features import ScalarScaler
            from .models import build_cnn
            self.scaler = ScalarScaler.from_dict(bundle["scaler"])
            self.net = build_cnn(self.name, bundle["arrays"], len(self.scaler.names), bundle["model_cfg"])
            self.net.load_state_dict(bundle["state_dict"])
            self.net.eval()
            self.medians = {k: np.asarray(v, np.float32) for k, v in bundle["medians"].items()}
        else:
            from .models import BoostedTrees
            self.trees = BoostedTrees({k: v.numpy() for k, v in bundle["trees"].items()})

    @property
    def domain(self) -> dict:
        """What this model learned from (domain.training_domain)."""
        return self.bundle.get("domain") or {}

    def check(self, cfg: dict, same_run: bool = True) -> None:
        """Refuse to score under a configuration other than the one this model was trained in
        (``same_run``: and to score for another CV run than its own)."""
        check_model_settings(self.settings, cfg, self.where or f"{self.name} fold {self.bundle.get('fold')}", same_run,
                             reads_raw_flux=any(a.startswith("raw_flux") for a in self.arrays))

    def require_inputs(self, data: ShardData) -> None:
        """Refuse, naming what is missing, data that lacks a view array or a scalar feature this
        model reads (a model trained on a views dataset's own features, scored on light curves)."""
        needs = self.bundle["features"] if self.kind == "trees" else self._scalar_names()
        missing_views = [a for a in self.arrays if a not in data.views]
        missing = [n for n in needs if n not in data.scalar_names]
        if missing_views or missing:
            what = ", ".join([*(f"view {a}" for a in missing_views), *(f"feature {n}" for n in missing)])
            raise ModelMismatchError(f"{self.where or self.name}: needs {what}, which these inputs lack (they hold "
                                     f"views {', '.join(data.views) or 'none'} and features "
                                     f"{', '.join(data.scalar_names) or 'none'})")

    def reads(self) -> set[str]:
        """The view arrays and scalar features this model reads."""
        return {*self.arrays, *(self.bundle["features"] if self.kind == "trees" else self._scalar_names())}

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        if self.calibration is None:
            raise ValueError(f"{self.path or 'this model'} has no calibration: it was trained by ExoSieve before "
                             "scores were calibrated; retrain it (snakemake --cores N --forcerun train)")
        return self.calibration(raw)

    @property
    def branches(self) -> list[str]:
        """Names of the input groups that occlusion can replace."""
        if self.kind != "cnn":
            return []
        names = [b.name for b in self.net.branch_specs]
        return names + (["scalars"] if self.net.scalar_branch is not None else [])

    def _scalar_names(self) -> list[str]:
        """The scalar features a CNN reads: its scaler's, unless it has no scalar branch (astronet:
        the scaler is kept, fitted on the shards' features, but the network never sees them, so
        light curves without a views dataset's own features can still be scored)."""
        return list(self.scaler.names) if self.net.scalar_branch is not None else []

    def _cnn_inputs(self, data: ShardData):
        """Arrays a CNN takes: its view arrays, and the scalars in the scaler's order, scaled
        (zeros for a CNN with no scalar branch, whose network ignores them)."""
        if self.net.scalar_branch is None:
            scalars = np.zeros((len(data), len(self.scaler.names)), np.float32)
        else:
            cols = [data.scalar_names.index(n) for n in self.scaler.names]
            raw = data.scalars[:, cols] if cols else np.zeros((len(data), 0), np.float32)
            scalars = self.scaler.transform(raw)
        return {v: np.asarray(data.views[v], np.float32) for v in self.arrays}, scalars

    def _cnn_scores(self, views: dict, scalars: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        import torch
        out = []
        with torch.no_grad():
            for start in range(0, scalars.shape[0], batch_size):
                sl = slice(start, start + batch_size)
                # Writable as torch wants: an occluded view is a read-only broadcast of the median,
                # contiguous (so never copied) when one TCE is scored.
                logits = self.net({v: torch.from_numpy(np.require(views[v][sl], requirements=["C", "W"]))
                                   for v in views}, torch.from_numpy(np.require(scalars[sl], requirements=["C", "W"])))
                # float64: a float32 sigmoid is exactly 1.0 above a logit of ~17, and TCEs there would tie
                out.append(torch.sigmoid(logits.double()).numpy())
        return np.concatenate(out) if out else np.zeros(0)

    def score(self, data: ShardData) -> np.ndarray:
        """Calibrated probabilities of "planet candidate" for every TCE in ``data``."""
        return self.calibrate(self.raw_score(data))

    def raw_score(self, data: ShardData) -> np.ndarray:
        """The model's own scores in [0, 1], before calibration."""
        if self.kind == "trees":
            from .models import tree_inputs
            cols = [data.scalar_names.index(n) for n in self.bundle["features"]]
            if not len(data):
                return np.zeros(0)
            return self.trees.predict_proba(tree_inputs(data.scalars[:, cols], data.views, self.arrays))
        views, scalars = self._cnn_inputs(data)
        return self._cnn_scores(views, scalars)

    def occlude(self, data: ShardData, scores: np.ndarray) -> dict[str, np.ndarray]:
        """Branch attributions by occlusion: the (calibrated) score minus the score with that
        branch's input replaced by its training median (scalars: by the training median, 0 after
        scaling). Positive means the branch pushed the TCE towards "planet"."""
        if self.kind != "cnn":
            return {}
        views, scalars = self._cnn_inputs(data)
        out = {}
        for br in self.net.branch_specs:
            occluded = dict(views)
            for tower in br.towers:
                for name in tower:
                    occluded[name] = np.broadcast_to(self.medians[name], views[name].shape)
            out[br.name] = scores - self.calibrate(self._cnn_scores(occluded, scalars))
        if self.net.scalar_branch is not None:
            out["scalars"] = scores - self.calibrate(self._cnn_scores(views, np.zeros_like(scalars)))
        return out


# --- several models' fold ensembles: a finished run's, or a portable bundle ----------------------

BUNDLE_KIND = "exosieve-bundle"
BUNDLE_VERSION = 1
BUNDLE_SUFFIX = ".exosieve"


class ModelSet:
    """Fold ensembles by model name (each fold a model file's contents), with ``about``: what a
    bundle records of its training (code version, preprocessing settings, label mapping, training
    data, cross-validated metrics); for a run's folder, what its files say."""

    def __init__(self, models: dict[str, list[dict]], about: dict, where: str):
        if not models:
            raise ModelMismatchError(f"{where}: no trained model in it")
        self.models, self.about, self.where = models, about, where

    @property
    def settings(self) -> dict:
        """The recorded settings of the first fold model (every fold of a run shares them)."""
        return next(iter(self.models.values()))[0]["settings"]

    def domain(self) -> dict:
        """What every model of the set learned from, merged (domain.merged_domain)."""
        from .domain import merged_domain
        return merged_domain([c.get("domain") for folds in self.models.values() for c in folds])

    def fold_models(self, name: str) -> list[FoldModel]:
        return [FoldModel(bundle=c, where=f"{self.where}: {name} fold {c.get('fold')}") for c in self.models[name]]


def run_model_paths(results: str | Path, folds: int | None = None, names=None) -> dict[str, list[Path]]:
    """Each model's fold files of the run whose results folder is ``results`` (layout.RunLayout):
    exactly folds 0..folds-1 when ``folds`` is given (never leftovers of a run with more folds),
    else 0, 1, ... as far as they go."""
    layout = RunLayout(results)
    root = Path(layout.models_dir())
    out = {}
    for model_dir in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        if names is not None and model_dir.name not in names:
            continue
        paths = []
        for k in range(folds if folds is not None else 10_000):
            path = Path(layout.model_file(model_dir.name, k))
            if not path.exists():
                if folds is not None:
                    raise FileNotFoundError(f"{model_dir.name}: fold {k} of {folds} is missing ({path}); finish "
                                            "the run first (snakemake --cores N)")
                break
            paths.append(path)
        if paths:
            out[model_dir.name] = paths
    return out


def _results_dir(path: Path) -> Path:
    """The results folder of a run given as its folder, its results folder or its models folder."""
    for candidate in (path / "results", path, path.parent):
        models = Path(RunLayout(candidate).models_dir())
        if models.is_dir() and any(Path(RunLayout(candidate).model_file(d.name, 0)).exists()
                                   for d in models.iterdir() if d.is_dir()):
            return candidate
    raise ModelMismatchError(f"{path}: no trained models there (looked for models/<model>/fold_0/model.pt "
                             "under it, its results/ and itself); give a finished run's folder or a bundle")


# Bundles shipped with ExoSieve (exosieve/bundles/, each with its model card beside it), and the
# one ``exosieve score`` and ``exosieve.score()`` use for each mission when no models are named:
# those that learned from real labels (the simulated ones stay, under their names).
SHIPPED_DIR = Path(__file__).resolve().parent / "bundles"
SHIPPED_FOR_MISSION = {"kepler": "kepler_dr24", "tess": "tess_yu2019"}


def shipped_bundles() -> dict[str, Path]:
    """Name -> path of every bundle shipped with the package."""
    return {p.stem: p for p in sorted(SHIPPED_DIR.glob(f"*{BUNDLE_SUFFIX}"))}


def shipped_for(mission: str) -> Path:
    """The shipped bundle for a mission's light curves; ModelMismatchError when there is none."""
    name = SHIPPED_FOR_MISSION.get(mission)
    path = shipped_bundles().get(name) if name else None
    if path is None:
        raise ModelMismatchError(f"ExoSieve ships no models for {mission.upper() if mission == 'tess' else mission} "
                                 "light curves yet; name some: a bundle (exosieve export-models) or a finished run's "
                                 "folder")
    return path


def resolve_models(path: str | Path) -> Path:
    """A shipped bundle's name (``kepler_simulated``) as its path; any other path as given."""
    return shipped_bundles().get(str(path), Path(path).expanduser())


def load_models(path: str | Path, names=None) -> ModelSet:
    """A bundle file (or a shipped bundle's name), or a finished run's folder (the run folder, its
    results folder, or its models folder); every file loaded weights-only."""
    path = resolve_models(path)
    if path.is_file():
        return load_bundle(path, names)
    if not path.exists():
        raise ModelMismatchError(f"{path} does not exist: give a bundle (exosieve export-models) or a finished run's folder")
    paths = run_model_paths(_results_dir(path), names=names)
    models = {name: [load_model_file(p) for p in files] for name, files in paths.items()}
    return ModelSet(models, {"from": str(path)}, str(path))


def models_from(path: str | Path, cfg: dict, names) -> dict[str, list[Path]]:
    """For ``models.from``: the files behind each usable model of ``names`` in a bundle or a run's
    folder (what Snakemake tracks), after checking that every fold model reads inputs made as
    ``cfg`` makes them; raises ModelMismatchError naming the differences."""
    path = resolve_models(path)
    model_set = load_models(path, names)
    for name in model_set.models:
        for fm in model_set.fold_models(name):
            fm.check(cfg, same_run=False)
    if path.is_file():
        return {name: [path] for name in model_set.models}
    return run_model_paths(_results_dir(path), names=list(model_set.models))


def _bundle_contents(path: str | Path) -> dict:
    """A bundle file's contents, read weights-only; refused unless it is an ExoSieve bundle."""
    contents = load_weights_only(path, "ExoSieve model bundle")
    if not isinstance(contents, dict) or contents.get("kind") != BUNDLE_KIND:
        raise ModelMismatchError(f"{path}: not an ExoSieve model bundle (write one with exosieve export-models)")
    return contents


def load_bundle(path: str | Path, names=None) -> ModelSet:
    contents = _bundle_contents(path)
    if contents.get("bundle_version") != BUNDLE_VERSION:
        raise ModelMismatchError(f"{path}: bundle version {contents.get('bundle_version')}, this ExoSieve reads "
                                 f"{BUNDLE_VERSION}; export it again with this ExoSieve")
    held = contents.get("models")
    if (not isinstance(held, dict) or not isinstance(contents.get("about"), dict)
            or not all(isinstance(folds, list) and all(isinstance(f, dict) for f in folds) for folds in held.values())):
        raise ModelMismatchError(f"{path}: the bundle's contents are damaged (no models by name, each a list of "
                                 "model files, or no description); export it again with exosieve export-models")
    for name, folds in held.items():
        for fold in folds:
            if fold.get("format") != MODEL_FORMAT:
                raise ModelMismatchError(f"{path}: {name} holds model files of format {fold.get('format')}, this "
                                         f"ExoSieve reads {MODEL_FORMAT}")
    models = {n: f for n, f in held.items() if names is None or n in names}
    return ModelSet(models, contents["about"], str(path))


def export_bundle(run_dir: str | Path, out: str | Path, cfg: dict, names=None, card: str | Path | None = None,
                  planet_fraction: float | None = None) -> Path:
    """Every fold model of a finished run (``cfg``'s results) as one bundle: weights-only tensors,
    calibration, scaler, the preprocessing settings (views geometry, features) they need, the label
    mapping, code version, a description of the training data and the cross-validated metrics;
    ``card``, a model card (Markdown) that ``exosieve info`` shows. With ``planet_fraction``, the
    bundle's probabilities are for a catalog of that planet fraction instead of the training
    TCEs' (``calibration.prior_shift``), and it says so."""
    import hashlib

    import pandas as pd

    from . import __version__
    results = Path(run_dir) / cfg["results"] if not Path(cfg["results"]).is_absolute() else Path(cfg["results"])
    layout = RunLayout(results)
    paths = run_model_paths(results, cfg["cv"]["folds"], names or cfg["models"]["enabled"])
    if not paths:
        raise ModelMismatchError(f"{layout.models_dir()}: no trained models; run the workflow first (snakemake --cores N)")
    models = {name: [load_model_file(p) for p in files] for name, files in paths.items()}
    for name, folds in models.items():
        for p, contents in zip(paths[name], folds):
            check_model_settings(contents["settings"], cfg, str(p))
    about = {"code_version": __version__, "model_format": MODEL_FORMAT, "source": cfg["catalog"]["source"],
             "catalog_path": str(cfg["catalog"].get("path") or ""), "labels": {
                 "positive": [str(v) for v in cfg["catalog"]["labels"]["positive"]],
                 "negative": [str(v) for v in cfg["catalog"]["labels"]["negative"]]},
             "folds": int(cfg["cv"]["folds"]), "cv_seed": int(cfg["cv"]["seed"])}
    folds_csv = Path(layout.folds())
    if folds_csv.exists():
        table = pd.read_csv(folds_csv, dtype={"tce_id": str, "star_id": str})
        about["training_data"] = {
            "tces": int(len(table)), "stars": int(table.star_id.nunique()),
            "positive": int((table.label == 1).sum()), "negative": int((table.label == 0).sum()),
            "unlabelled": int((table.label < 0).sum()),
            "digest": hashlib.sha256(folds_csv.read_bytes()).hexdigest()[:16]}
    comparison = Path(layout.report_file("model_comparison.csv"))
    if comparison.exists():
        about["metrics"] = {row["model"]: {k: str(v) for k, v in row.items() if k != "model"}
                            for row in pd.read_csv(comparison).to_dict("records") if row["model"] in models}
    if planet_fraction is not None:
        from .calibration import prior_shift
        data = about.get("training_data")
        if not data or not data["positive"] or not data["negative"]:
            raise ModelMismatchError(f"{folds_csv}: no labelled training TCEs of both classes to shift the "
                                     "probabilities from")
        trained = data["positive"] / (data["positive"] + data["negative"])
        shift = prior_shift(trained, planet_fraction)
        for folds in models.values():
            for contents in folds:
                contents["calibration"] = {**contents["calibration"], "prior_shift": shift}
        about["planet_fraction"] = {"trained": round(trained, 4), "scored_for": float(planet_fraction),
                                    "log_odds_shift": round(shift, 4)}
    if card is not None:
        about["card"] = Path(card).read_text()
    return _write_bundle({"kind": BUNDLE_KIND, "bundle_version": BUNDLE_VERSION, "models": models, "about": about},
                         out)


def _write_bundle(bundle: dict, out: str | Path) -> Path:
    import gzip
    import io

    import torch
    buffer = io.BytesIO()
    torch.save(bundle, buffer)
    # gzip (no timestamp: the same run gives the same file): the trees' arrays shrink to a third,
    # and a shipped bundle must stay small.
    with atomic_output(out, ".tmp") as tmp:
        tmp.write_bytes(gzip.compress(buffer.getvalue(), compresslevel=9, mtime=0))
    return Path(out)


def replace_card(path: str | Path, card: str | Path) -> Path:
    """A bundle with another model card and nothing else changed (what it says of itself can
    change after it was exported: a newer bundle became the default). Read weights-only."""
    contents = _bundle_contents(path)
    contents["about"] = {**contents["about"], "card": Path(card).read_text()}
    return _write_bundle(contents, path)


def describe(models: ModelSet) -> str:
    """What a model set holds, for ``exosieve info``."""
    s = models.settings
    views = s["preprocessing"]["views"]
    lines = [f"{models.where}", "models: " + ", ".join(f"{n} ({len(f)} folds)" for n, f in models.models.items())]
    about = models.about
    if "code_version" in about:
        lines.append(f"exported by ExoSieve {about['code_version']} (model format {about['model_format']}) from a "
                     f"{about['folds']}-fold run on the {about['source']} source {about.get('catalog_path') or ''}".rstrip())
    if "labels" in about:
        lines.append(f"labels: positive {about['labels']['positive']}, negative {about['labels']['negative']}")
    if "training_data" in about:
        t = about["training_data"]
        lines.append(f"training data: {t['tces']} TCEs on {t['stars']} stars: {t['positive']} positive, "
                     f"{t['negative']} negative, {t['unlabelled']} unlabelled (folds table digest {t['digest']})")
    lines.append(f"views: global {views['global_bins']} / local {views['local_bins']} bins, local +-"
                 f"{views['local_durations']:g} durations, normalize {views.get('normalize', 'depth')}, enabled "
                 f"{', '.join(views['enabled'])}")
    for name, folds in models.models.items():
        first = folds[0]
        needs = ", ".join(f"{a} {tuple(shape)}" for a, shape in first["arrays"].items()) or "no views"
        features = first.get("features") or (first.get("scaler") or {}).get("names") or []
        lines.append(f"  {name}: arrays {needs}; scalar features {', '.join(features) or 'none'}")
    for name, metrics in about.get("metrics", {}).items():
        lines.append(f"  {name} cross-validated: ROC-AUC {metrics.get('roc_auc')}, PR-AUC {metrics.get('pr_auc')}, "
                     f"ECE {metrics.get('ece')}")
    if "planet_fraction" in about:
        f = about["planet_fraction"]
        lines.append(f"probabilities for a catalog of {f['scored_for']:.0%} planets (trained on {f['trained']:.1%}; "
                     f"calibrated log-odds shifted by {f['log_odds_shift']:+.2f})")
    if about.get("card"):
        lines += ["", "model card:", about["card"].rstrip()]
    return "\n".join(lines)
