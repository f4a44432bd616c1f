import pytest

from exosieve.config import ConfigError, load, preprocessing_hash


def test_defaults_fill_every_section():
    cfg = load({})
    assert cfg["catalog"]["source"] == "simulated"
    assert cfg["views"]["global_bins"] == 301 and cfg["views"]["local_bins"] == 31
    assert cfg["cv"]["folds"] == 5
    assert cfg["catalog"]["labels"] == {"positive": ["PC"], "negative": ["AFP", "NTP"], "unlabelled": ["UNK"]}


def test_repo_config_yaml_is_valid():
    from helpers import REPO
    cfg = load(REPO / "config.yaml")
    assert cfg["survey"]["stars"] >= 1000


def test_unknown_key_is_named_with_allowed_keys():
    with pytest.raises(ConfigError, match=r"cv: Additional properties .*'fold'.*allowed keys are folds"):
        load({"cv": {"fold": 3}})


def test_bad_value_names_the_dotted_key():
    with pytest.raises(ConfigError, match=r"cv\.folds: 1 is less than the minimum of 2"):
        load({"cv": {"folds": 1}})


def test_strings_from_snakemake_command_line_are_coerced():
    cfg = load({"cv": {"folds": "10"}, "views": {"enabled": "[global, local, odd_even]"}, "training": {"learning_rate": "3e-4"}})
    assert cfg["cv"]["folds"] == 10
    assert cfg["views"]["enabled"] == ["global", "local", "odd_even"]
    assert cfg["training"]["learning_rate"] == pytest.approx(3e-4)


def test_local_source_requires_paths():
    with pytest.raises(ConfigError, match="catalog.path and catalog.lightcurve_dir must be set"):
        load({"catalog": {"source": "local"}})


def test_preprocessing_hash_ignores_training_settings():
    a = load({})
    assert preprocessing_hash(a) == preprocessing_hash(load({"training": {"max_epochs": 3}}))
    assert preprocessing_hash(a) != preprocessing_hash(load({"views": {"local_bins": 201}}))


def test_paths_in_the_config_are_checked_when_it_is_validated(tmp_path):
    table = tmp_path / "tces.csv"
    table.write_text("kepid\n")
    base = {"source": "local", "path": str(table), "lightcurve_dir": str(tmp_path)}
    load({"catalog": base})                                   # all there: fine
    cases = [({"lightcurve_dir": str(tmp_path / "lc")}, "catalog.lightcurve_dir: .*lc does not exist"),
             ({"lightcurve_dir": str(table)}, "catalog.lightcurve_dir: .* is not a folder"),
             ({"targets": str(tmp_path / "stars.txt")}, "catalog.targets: .*stars.txt does not exist"),
             ({"labels_path": str(tmp_path / "koi.csv")}, "catalog.labels_path: .*koi.csv does not exist")]
    for change, message in cases:
        with pytest.raises(ConfigError, match=message):
            load({"catalog": {**base, **change}})
    with pytest.raises(ConfigError, match="evaluation.test_path: .*test.npz does not exist"):
        load({"evaluation": {"test_path": str(tmp_path / "test.npz")}})


def test_shards_is_a_number_or_auto_and_a_bad_value_says_which():
    from exosieve.config import ConfigError, load
    assert load({})["shards"] == "auto" and load({"shards": 6})["shards"] == 6
    with pytest.raises(ConfigError, match=r"shards: 0 is none of: an integer from 1 to 100000; 'auto'"):
        load({"shards": 0})


def test_a_views_preset_with_its_own_detrending_sets_it_under_the_keys_given_beside_it():
    cfg = load({"views": {"preset": "dartvetter_dr24"}})
    assert (cfg["views"]["global_bins"], cfg["views"]["local_bins"]) == (201, 61)
    assert cfg["detrend"]["method"] == "savgol" and cfg["detrend"]["window_length"] == 101
    assert cfg["detrend"]["mask_durations"] == 1.0 and "detrend" not in cfg["views"]
    given = load({"views": {"preset": "dartvetter_dr24"}, "detrend": {"window_length": 51}})
    assert (given["detrend"]["method"], given["detrend"]["window_length"]) == ("savgol", 51)
    assert load({})["detrend"]["method"] == "spline"                     # the default stays the spline
    with pytest.raises(ConfigError, match="detrend.window_length: 100 must be odd"):
        load({"detrend": {"method": "savgol", "window_length": 100}})


def test_each_stage_gets_only_what_it_reads_and_enabling_a_model_reruns_no_other():
    from exosieve.config import job_config, operational_settings, preprocessing_settings, stage_settings
    cfg = load({})
    more = load({"models": {"enabled": ["trees", "raw_flux"], "primary": "trees"}})
    pre = stage_settings(cfg, "preprocess")
    assert set(pre) == {"catalog", "lightcurves", "detrend", "features", "views", "models"}
    assert set(pre["catalog"]) == {"source", "views_features"} and "preset" not in pre["views"]
    # What preprocessing and a model's training read of models.enabled is whether raw_flux is on.
    assert pre == stage_settings(more, "preprocess") and preprocessing_settings(pre) == preprocessing_settings(cfg)
    assert stage_settings(cfg, "train", "trees") == stage_settings(more, "train", "trees")
    assert stage_settings(cfg, "train", "trees")["models"].keys() == {"trees", "enabled"}
    assert stage_settings(cfg, "report") != stage_settings(more, "report")        # models.primary
    # Download workers and the cache folder reach the jobs, not their rerun trigger.
    assert "workers" not in stage_settings(cfg, "lightcurves")["archive"]
    job = job_config(stage_settings(cfg, "lightcurves"), operational_settings(cfg))
    assert job["archive"]["workers"] == cfg["archive"]["workers"] and job["archive"]["mast_url"] == cfg["archive"]["mast_url"]
    with pytest.raises(KeyError):      # a stage reading what its rule does not pass fails loudly
        stage_settings(cfg, "report")["training"]
