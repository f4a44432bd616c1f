"""Configuration: defaults, validation against ``config.schema.yaml`` and stable hashes.

The schema's ``default`` values are the single source of truth; every key a user omits is filled
from there, so ``config.yaml`` only needs what differs.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import jsonschema
import yaml


class ConfigError(ValueError):
    """The configuration does not satisfy the schema; the message names each bad key."""


# libyaml's loader where PyYAML was built with it: the schema took 0.1 s of every Snakemake start
# with the pure-Python one.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(text: str):
    """YAML text as Python objects, with the safe loader (tags that build objects are refused)."""
    return yaml.load(text, Loader=_YAML_LOADER)


@functools.lru_cache(maxsize=1)
def _schema() -> dict:
    return read_yaml(resources.files("exosieve").joinpath("config.schema.yaml").read_text())


def schema() -> dict:
    return copy.deepcopy(_schema())


def _resolve(node: dict) -> dict:
    """Inline a local ``$ref`` (``#/$defs/name``), keeping the referring node's own keys."""
    ref = node.get("$ref")
    if not ref:
        return node
    target = _schema()["$defs"][ref.rsplit("/", 1)[-1]]
    return {**target, **{k: v for k, v in node.items() if k != "$ref"}}


def _fill_defaults(node: dict, value: Any) -> Any:
    """Return ``value`` with schema defaults filled in recursively (objects only). A partly given
    object keeps the rest of its node's own default (e.g. models.exominer.scalars) before the
    per-key defaults apply."""
    node = _resolve(node)
    if value is None and "default" in node:
        value = copy.deepcopy(node["default"])
    elif isinstance(value, dict) and isinstance(node.get("default"), dict):
        value = {**copy.deepcopy(node["default"]), **value}
    if node.get("type") == "object" and isinstance(value, dict):
        for key, sub in node.get("properties", {}).items():
            if key in value:
                value[key] = _fill_defaults(sub, value[key])
            elif "default" in _resolve(sub):
                value[key] = _fill_defaults(sub, copy.deepcopy(_resolve(sub)["default"]))
    return value


def _coerce(node: dict, value: Any) -> Any:
    """Turn strings into the schema's types where they parse: Snakemake's ``--config
    'cv={folds: 10}'`` hands nested values over as strings."""
    node = _resolve(node)
    types = node.get("type")
    types = [types] if isinstance(types, str) else (types or [])
    if isinstance(value, str) and not ("string" in types or "enum" in node and value in node["enum"]):
        try:
            parsed = read_yaml(value)
        except yaml.YAMLError:
            parsed = value
        if not isinstance(parsed, str):
            value = parsed
        elif {"number", "integer"} & set(types):
            try:  # YAML 1.1 reads '3e-4' as a string
                value = float(value) if "number" in types else int(value)
            except ValueError:
                pass
    if isinstance(value, dict):
        for key, sub in node.get("properties", {}).items():
            if key in value:
                value[key] = _coerce(sub, value[key])
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        value = [_coerce(node["items"], v) for v in value]
    return value


def _describe(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        return f"{where}: {error.message}; allowed keys are {', '.join(allowed)}"
    if error.validator == "oneOf":
        return f"{where}: {error.instance!r} is none of: {'; '.join(map(_alternative, error.validator_value))}"
    return f"{where}: {error.message}"


def _alternative(schema: dict) -> str:
    """One branch of a oneOf, in words: 'an integer from 1 to 100000', "'auto'"."""
    if "const" in schema:
        return repr(schema["const"])
    bounds = [f"from {schema['minimum']}" if "minimum" in schema else "",
              f"to {schema['maximum']}" if "maximum" in schema else ""]
    return " ".join(["an", schema.get("type", "value"), *filter(None, bounds)])


# Published architectures, by name (models.<cnn>.preset); keys the user gives beside the preset win.
CNN_PRESETS = {
    # Shallue & Vanderburg (2018), Astronet's local_global configuration (exoplanet-ml,
    # astronet/astro_cnn_model/configurations.py): global tower 5 blocks of two convolutions
    # (16..256 filters, kernel 5) with max pools of 5 (stride 2, valid), local tower 2 blocks (16, 32)
    # with pools of 7, both flattened; 4 fully connected layers of 512 units, no dropout. It was trained
    # with Adam at 1e-5 (batch 64), later 2e-4 (batch 256), views mirrored with probability 0.5.
    "astronet": {"conv_blocks": 2, "filters": 16, "kernel_size": 5, "convs_per_block": 2, "pool_size": 5,
                 "pool_stride": 2, "pool_padding": "valid", "batch_norm": False, "output": "flatten",
                 "fc_units": [512, 512, 512, 512], "dropout": 0.0,
                 "towers": {"global": {"conv_blocks": 5, "pool_size": 5}, "local": {"conv_blocks": 2, "pool_size": 7}}},
}


# Published view geometries, by name (views.preset); keys the user gives beside the preset win.
VIEW_PRESETS = {
    # Shallue & Vanderburg (2018): global 2001 bins over the orbit, each P/2001 wide; local 201 bins
    # of 0.16 durations over +-4 durations; each view median 0 and minimum -1.
    "astronet": {"global_bins": 2001, "local_bins": 201, "local_durations": 4.0, "local_bin_width": 0.16,
                 "global_bin_width": "spacing", "normalize": "min"},
    # The DR24 views of DART-Vetter (stefanofisc/dartvetter, as in ../shared/data/views): global 201
    # bins of P/201, local 61 bins of 0.16 durations over +-2.5 durations (measured from the records:
    # the transit's width, and bins correlated with their neighbours only), median 0 and minimum -1;
    # made with lightkurve: flatten (window 101 cadences, the TCE's own transits masked over one duration),
    # then cadences beyond 3 sigma clipped before folding (remove_outliers). Each was chosen by how
    # closely the views match: benchmarks/views_geometry.py. Their clip was two-sided and emptied
    # the bins of a deep transit; this preset clips only the upper side, so as not to copy that
    # damage (the views source rejects the records it erased, as stage 'damaged').
    "dartvetter_dr24": {"global_bins": 201, "local_bins": 61, "local_durations": 2.5, "local_bin_width": 0.16,
                        "global_bin_width": "spacing", "normalize": "min", "outlier_sigma": 3.0,
                        "detrend": {"method": "savgol", "window_length": 101, "polyorder": 2, "mask_durations": 1.0,
                                    "mask_others": False}},
    # Yu et al. (2019)'s TESS views (github.com/yuliang419/Astronet-Vetting, astronet/data/preprocess.py):
    # global 201 bins each 1.2 bin spacings wide (overlapping), local 61 bins of 0.16 durations over
    # +-2 durations, each view median 0 and minimum -1, made from QLP's KSP-detrended light curves
    # after a 5-sigma clip of brightenings (their magnitudes more than 5 robust sigma above the median).
    "yu2019_tess": {"global_bins": 201, "local_bins": 61, "local_durations": 2.0, "local_bin_width": 0.16,
                    "global_bin_width": 1.2, "normalize": "min", "outlier_sigma": 5.0},
    # ExoSieve's own geometry with ExoMiner++'s TESS branches turned on.
    "tess": {"enabled": ["global", "local", "scatter", "odd_even", "secondary", "centroid", "double_period",
                         "unfolded", "coverage", "momentum_dump", "flux_trend", "periodogram"]},
}


def _expand_presets(data: dict) -> dict:
    """Each CNN's ``preset`` and the views' ``preset`` filled in under the keys given beside them."""
    views = data.get("views")
    if isinstance(views, dict) and views.get("preset") is not None:
        preset = VIEW_PRESETS.get(views["preset"])
        if preset is None:
            raise ConfigError(f"views.preset: {views['preset']!r} is none of {', '.join(VIEW_PRESETS)}")
        preset = copy.deepcopy(preset)
        # A preset that names its detrending sets it too, under any detrend keys given beside it.
        detrending = preset.pop("detrend", None)
        if detrending is not None:
            data["detrend"] = {**detrending, **(data.get("detrend") or {})}
        data["views"] = {**preset, **views}
    models = data.get("models")
    if not isinstance(models, dict):
        return data
    for name, given in models.items():
        if isinstance(given, dict) and given.get("preset") is not None:
            preset = CNN_PRESETS.get(given["preset"])
            if preset is None:
                raise ConfigError(f"models.{name}.preset: {given['preset']!r} is none of {', '.join(CNN_PRESETS)}")
            models[name] = {**copy.deepcopy(preset), **given}
    return data


def load(user: Mapping[str, Any] | str | Path | None = None, check_paths: bool = True) -> dict:
    """Validate a user configuration (a mapping or a YAML path) and fill in defaults.

    Raises ConfigError listing every problem, each with the dotted key it concerns. With
    ``check_paths`` false, the files and folders it names need not exist (a configuration checked
    for another machine).
    """
    if user is None:
        data: dict = {}
    elif isinstance(user, (str, Path)):
        path = Path(user)
        try:
            data = read_yaml(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    else:
        data = copy.deepcopy(dict(user))
    sch = schema()
    data = _fill_defaults(sch, _expand_presets(_coerce(sch, data)))
    validator = jsonschema.Draft202012Validator(sch)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        lines = "\n  ".join(_describe(e) for e in errors)
        raise ConfigError(f"invalid ExoSieve configuration:\n  {lines}\n"
                          "See config.yaml and exosieve/config.schema.yaml for every key.")
    _check_consistency(data, check_paths)
    return data


def _check_paths(cfg: dict) -> None:
    """Files and folders the configuration names must exist now, not when a job first reads them."""
    cat = cfg["catalog"]
    keys = {"catalog.path": cat.get("path") if cat["source"] in ("local", "views") else None,
            "catalog.lightcurve_dir": cat.get("lightcurve_dir") if cat["source"] == "local" else None,
            "catalog.labels_path": cat.get("labels_path") if cat["source"] in ("local", "views") else None,
            "catalog.stellar_path": cat.get("stellar_path") if cat["source"] == "local" else None,
            "catalog.targets": cat["targets"] if isinstance(cat.get("targets"), str) else None,
            "catalog.exclude": cat["exclude"] if isinstance(cat.get("exclude"), str) else None,
            "evaluation.test_path": cfg["evaluation"]["test_path"]}
    for key, value in keys.items():
        if value and any(ch in str(value) for ch in "*?[") and key in ("catalog.path", "evaluation.test_path"):
            import glob
            if not glob.glob(str(Path(value).expanduser())):
                raise ConfigError(f"{key}: the pattern {value} matches no file; fix it, relative to the folder "
                                  "snakemake runs in")
            continue
        if value and not Path(value).expanduser().exists():
            where = Path(value).expanduser()
            raise ConfigError(f"{key}: {value} does not exist (looked for {where.resolve()}); "
                              "fix the path, relative to the folder snakemake runs in")
    if cat["source"] == "local" and cat.get("lightcurve_dir") and not Path(cat["lightcurve_dir"]).expanduser().is_dir():
        raise ConfigError(f"catalog.lightcurve_dir: {cat['lightcurve_dir']} is not a folder (it should hold the "
                          "light curves in MAST's layout)")


def _check_consistency(cfg: dict, check_paths: bool = True) -> None:
    cat = cfg["catalog"]
    if cat["source"] == "local":
        missing = [k for k in ("path", "lightcurve_dir") if not cat.get(k)]
        if missing:
            raise ConfigError("catalog.source is 'local', so catalog." + " and catalog.".join(missing)
                              + " must be set (a TCE table and a folder of FITS light curves in "
                              "MAST's layout)")
    if cat["source"] == "views" and not cat.get("path"):
        raise ConfigError("catalog.source is 'views', so catalog.path must name precomputed views: TFRecord "
                          "files (a file, a glob or a folder), or an NPZ or HDF5 file (see "
                          "exosieve/catalog/views_dataset.py)")
    if check_paths:
        _check_paths(cfg)
    models = cfg["models"]
    if models["primary"] not in models["enabled"]:
        raise ConfigError(f"models.primary is {models['primary']!r} but models.enabled is "
                          f"{models['enabled']}; enable it or pick one of those")
    need_flux_views = {"exominer", "astronet"} & set(models["enabled"])
    missing_views = {"global", "local"} - set(cfg["views"]["enabled"])
    if need_flux_views and missing_views and cat["source"] != "views":
        raise ConfigError(f"models {sorted(need_flux_views)} need the views {sorted(missing_views)}: add "
                          "them to views.enabled or drop those models from models.enabled")
    for key in ("conv_blocks", "filters", "dropout", "learning_rate", "weight_decay", "mirror", "noise"):
        bounds = cfg["tune"]["space"][key]
        if len(bounds) == 1 or (len(bounds) == 2 and bounds[0] > bounds[1]):
            raise ConfigError(f"tune.space.{key}: {bounds} is no range; give [low, high], or [] not to search it")
    detrending = cfg["detrend"]
    if detrending["method"] == "savgol" and (detrending["window_length"] % 2 == 0
                                             or detrending["polyorder"] >= detrending["window_length"]):
        raise ConfigError(f"detrend.window_length: {detrending['window_length']} must be odd and larger than "
                          f"detrend.polyorder ({detrending['polyorder']}) for the savgol method")
    overlap = {str(v) for v in cat["labels"]["positive"]} & {str(v) for v in cat["labels"]["negative"]}
    if overlap:
        raise ConfigError(f"catalog.labels: {sorted(overlap)} listed as both positive and negative")


def stable_hash(obj: Any, length: int = 12) -> str:
    """A short hash of a JSON-able object, independent of key order and Python's hash seed."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


# lightcurves.* keys added after shards and models were first recorded: a preprocessing hash
# leaves each out while it is at its schema default.
LATER_READING_KEYS = ("product_preference", "product_flux")


def later_reading_defaults() -> dict:
    """The schema's defaults of ``LATER_READING_KEYS``."""
    node = _resolve(schema()["properties"]["lightcurves"])
    return {k: _fill_defaults(node["properties"][k], None) for k in LATER_READING_KEYS}


def preprocessing_settings(cfg: Mapping[str, Any]) -> dict:
    """Every setting that changes what a shard holds: recorded in each shard and each model file."""
    views = {k: v for k, v in cfg["views"].items() if k != "preset"}    # a preset is its settings, expanded
    # Reading settings added after shards and models were first recorded leave the hash as it was
    # while at their defaults (a SPOC or Kepler file is read as before): what older runs and the
    # shipped bundles recorded still matches.
    later = later_reading_defaults()
    lightcurves = {k: v for k, v in cfg["lightcurves"].items() if k not in later or v != later[k]}
    return {"lightcurves": lightcurves, **{k: cfg[k] for k in ("detrend", "features")}, "views": views,
            "raw_flux": "raw_flux" in cfg["models"]["enabled"],
            "views_features": cfg["catalog"].get("views_features", [])}


def preprocessing_hash(cfg: Mapping[str, Any]) -> str:
    """Hash of ``preprocessing_settings``; recorded in each shard."""
    return stable_hash(preprocessing_settings(cfg))


def preprocessing_code_hash(package_dir: str | Path | None = None) -> str:
    """Hash of the code that shapes a shard, the import closure of ``exosieve.preprocess``
    (code_version): recorded in each shard, so that a shard made by other code is rebuilt."""
    from .code_version import PACKAGE_DIR, code_hash
    return code_hash("exosieve.preprocess", root=package_dir or PACKAGE_DIR)


def preprocessing_mismatch(recorded_hash: Any, recorded_settings: Mapping[str, Any] | None,
                           cfg: Mapping[str, Any], reads_raw_flux: bool = True) -> str | None:
    """None when ``recorded_hash`` is ``cfg``'s preprocessing hash; else what differs, named by
    setting when the recorded settings are known. A reader of no raw-flux array (``reads_raw_flux``
    False: every model but raw_flux) ignores ``raw_flux``, which only adds those arrays to a shard."""
    here = preprocessing_settings(cfg)
    if not reads_raw_flux and recorded_settings is not None:
        recorded_settings = {**recorded_settings, "raw_flux": here["raw_flux"]}
        recorded_hash = stable_hash(recorded_settings)
    if str(recorded_hash) == stable_hash(here):
        return None
    if recorded_settings is None:
        return f"settings hash {recorded_hash} there, {stable_hash(here)} here"
    return describe_differences(recorded_settings, here)


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: obj}


def describe_differences(recorded: Mapping[str, Any], current: Mapping[str, Any], limit: int = 4) -> str:
    """'views.global_bins: 301 there, 101 here; ...' for the settings that differ."""
    a, b = _flatten(recorded), _flatten(current)
    keys = sorted(k for k in set(a) | set(b) if a.get(k, "(unset)") != b.get(k, "(unset)"))
    text = "; ".join(f"{k}: {a.get(k, '(unset)')!r} there, {b.get(k, '(unset)')!r} here" for k in keys[:limit])
    return text + (f"; and {len(keys) - limit} more" if len(keys) > limit else "")


# What each stage's job reads of the configuration. Its rule passes exactly this (stage_settings)
# as the params that are both the job's input and Snakemake's rerun trigger: a job reruns when,
# and only when, something it reads changed. A key a stage reads but its list lacks fails the job
# with a KeyError (a test runs every stage), never a silent default.
PREPROCESSING_KEYS = ("catalog.source", "catalog.views_features", "lightcurves", "detrend", "features", "views",
                      "models.enabled")
STAGE_KEYS: dict[str, tuple[str, ...]] = {
    "simulate_survey": ("results", "catalog.source", "survey"),
    "download_catalog": ("results", "catalog.source", "catalog.tess_runs", "archive.tap_url", "archive.mast_url"),
    "catalog": ("results", "catalog", "survey"),
    "lightcurves": ("results", "catalog.source", "catalog.path", "catalog.lightcurve_dir", "survey",
                    "archive.mast_url", "offline"),
    "preprocess": PREPROCESSING_KEYS,
    "import_views": ("catalog", *PREPROCESSING_KEYS),
    "train": ("results", "catalog", "survey.mission", "cv", "training", "models.{model}", *PREPROCESSING_KEYS),
    "tune": ("results", "catalog", "survey.mission", "cv", "training", "tune", "models.{model}", *PREPROCESSING_KEYS),
    "score_with_models": ("catalog", "survey.mission", "cv", *PREPROCESSING_KEYS),
    "score_test_set": ("results", "catalog", "survey.mission", "cv", "models", "evaluation.test_path",
                       *PREPROCESSING_KEYS),
    "report": ("catalog.source", "cv.folds", "report", "evaluation.multiplicity_prior", "models.primary",
               "models.from"),
    "predict": ("results", "catalog", "survey", "cv", "models", *PREPROCESSING_KEYS),
}
# How a job works, not what it makes (download workers and retries, the cache folder, offline
# for a one-off prediction, how much of the views training holds in memory): passed to the jobs
# that read them, never a reason to rerun one.
OPERATIONAL_KEYS = ("archive", "offline", "resources.views_in_memory_mb")
# The models whose inputs a shard holds beyond the views: of models.enabled, only these change
# what preprocessing makes, so enabling another model reruns no preprocessing (nor other models).
PREPROCESSED_MODELS = ("raw_flux",)


def _pick(cfg: Mapping[str, Any], keys) -> dict:
    out: dict = {}
    for key in keys:
        *parents, last = key.split(".")
        src, dst = cfg, out
        for part in parents:
            src, dst = src[part], dst.setdefault(part, {})
        dst[last] = copy.deepcopy(src[last])
    return out


def stage_settings(cfg: Mapping[str, Any], stage: str, model: str | None = None) -> dict:
    """The part of ``cfg`` that ``stage`` (a key of ``STAGE_KEYS``) reads; ``model`` names the
    model of a per-model stage (train, tune)."""
    keys = [k.format(model=model) for k in STAGE_KEYS[stage]]
    out = _pick(cfg, keys)
    if "models" not in keys:
        enabled = out.get("models", {}).get("enabled")
        if enabled is not None:
            out["models"]["enabled"] = [m for m in enabled if m in PREPROCESSED_MODELS]
    out.get("views", {}).pop("preset", None)     # a preset is its settings, expanded at load
    return out


def operational_settings(cfg: Mapping[str, Any]) -> dict:
    return _pick(cfg, OPERATIONAL_KEYS)


def job_config(settings: Mapping[str, Any], operational: Mapping[str, Any] | None = None) -> dict:
    """What a workflow job runs under: its stage's settings with the operational ones."""
    out = copy.deepcopy(dict(settings))
    for key, value in (operational or {}).items():
        if isinstance(value, Mapping):
            out[key] = {**out.get(key, {}), **value}
        else:
            out[key] = value
    return out


def survey_hash(cfg: Mapping[str, Any]) -> str:
    """Names the folder of a simulated survey, so different survey settings never share files."""
    return stable_hash(cfg["survey"], length=10)
