"""Every command the README and the documentation pages (docs/*.md) show runs as typed: each
`snakemake ... --config ...` line (and the SLURM profile's) parses with Snakemake's own config parser
and validates against the schema once merged into config.yaml, every `exosieve` subcommand they name
answers --help, and config.yaml's comments say what the schema says. The site itself is built in
tests/test_docs.py."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pytest
import yaml

from exosieve.config import load, schema
from helpers import REPO

README = (REPO / "README.md").read_text()
# The README and every page of the documentation site, by path: their commands are checked alike.
PAGES = {"README.md": README,
         **{f"docs/{page.name}": page.read_text() for page in sorted((REPO / "docs").glob("*.md"))}}


def code_lines(text: str) -> list[str]:
    """Command lines of the ```bash blocks, comments cut off, continuation lines joined."""
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                lines.append(line)
    return lines


def config_items(command: str) -> list[str]:
    """The items after --config in a shell command, as the shell hands them to Snakemake."""
    words = shlex.split(command, comments=True)
    if "--config" not in words:
        return []
    out = []
    for word in words[words.index("--config") + 1:]:
        if word.startswith("-") or word in ("&&", ";"):
            break
        out.append(word)
    return out


def merged_config(items: list[str]) -> dict:
    """config.yaml with Snakemake's --config items merged in, as Snakemake merges them."""
    from snakemake.cli import parse_config
    from snakemake.utils import update_config
    base = yaml.safe_load((REPO / "config.yaml").read_text())
    update_config(base, parse_config(items))
    return base


COMMAND_LINES = [c for text in PAGES.values() for c in code_lines(text)]
SNAKEMAKE_CONFIG_LINES = [c for c in COMMAND_LINES if "snakemake" in c and "--config" in c]
PROFILE_LINES = [line.split("`")[1] for line in (REPO / "slurm" / "config.yaml").read_text().splitlines()
                 if "--config" in line and "`" in line]


def test_the_readme_shows_config_overrides():
    assert len(SNAKEMAKE_CONFIG_LINES) >= 15
    assert PROFILE_LINES


def test_every_documentation_page_is_read():
    """The pages whose commands are checked are the site's (docs/*.md), and most show commands."""
    assert len(PAGES) > 5 and "docs/configuration.md" in PAGES and "docs/usage.md" in PAGES
    with_commands = [name for name, text in PAGES.items() if code_lines(text)]
    assert {"README.md", "docs/usage.md", "docs/sources.md", "docs/configuration.md"} <= set(with_commands)


@pytest.mark.parametrize("command", SNAKEMAKE_CONFIG_LINES + PROFILE_LINES)
def test_every_snakemake_config_line_parses_and_validates(command):
    cfg = load(merged_config(config_items(command)), check_paths=False)
    assert cfg["results"]


def test_the_gpu_line_asks_for_one_gpu_per_training_job():
    line = next(c for c in SNAKEMAKE_CONFIG_LINES if "--profile slurm" in c and "train_gpus" in c)
    cfg = load(merged_config(config_items(line)), check_paths=False)
    assert cfg["resources"]["train_gpus"] == 1
    assert cfg["resources"]["train_mem_mb"] == 4000       # the rest of config.yaml's resources stay


def test_a_dotted_key_is_refused_by_snakemake_itself():
    """Why the README writes nested keys as YAML: Snakemake 9 refuses resources.train_gpus=1."""
    from snakemake.cli import parse_config
    with pytest.raises(ValueError, match="valid identifier"):
        parse_config(["resources.train_gpus=1"])


EXOSIEVE_SUBCOMMANDS = sorted({m.group(1) for c in COMMAND_LINES
                               for m in [re.match(r"\s*exosieve ([a-z][a-z-]*)", c)] if m})


def test_every_exosieve_subcommand_the_readme_names_answers_help():
    assert {"simulate", "plan", "predict", "check-archives"} <= set(EXOSIEVE_SUBCOMMANDS)
    for sub in EXOSIEVE_SUBCOMMANDS:
        run = subprocess.run([sys.executable, "-m", "exosieve.cli", sub, "--help"], capture_output=True, text=True)
        assert run.returncode == 0 and "usage:" in run.stdout, (sub, run.stderr)


def test_config_yaml_comments_say_what_the_schema_says():
    text = (REPO / "config.yaml").read_text()
    props = schema()["properties"]
    # "source: simulated   # simulated | local | views | ..." lists every source the schema allows.
    listed = re.search(r"^\s*source: \w+\s*#\s*(.+)$", text, flags=re.M).group(1)
    assert set(re.findall(r"[a-z_0-9]+", listed)) == set(props["catalog"]["properties"]["source"]["enum"])
    # "shards: auto  # ... (N for the default survey)": what auto gives for the default survey.
    from exosieve.shards import auto_shard_count
    said = int(re.search(r"^shards: auto.*\((\d+) for the default survey\)", text, flags=re.M).group(1))
    assert said == auto_shard_count(load()["survey"]["stars"])
    # Every value config.yaml sets is valid, and every key it names exists in the schema.
    load(yaml.safe_load(text))


PRESET_LINES = [c for c in SNAKEMAKE_CONFIG_LINES if "preset:" in c]


def test_the_readme_shows_presets():
    assert any("preset: tess" in c for c in PRESET_LINES) and any("preset: dartvetter_dr24" in c for c in PRESET_LINES)


@pytest.mark.parametrize("command", PRESET_LINES)
def test_a_preset_on_the_command_line_is_not_overridden_by_config_yaml(command):
    """Snakemake merges --config into config.yaml key by key, and keys beside a preset override
    it: a views or CNN key written out in config.yaml would silently undo a preset given on the
    command line (`views={preset: tess}` would keep Kepler's groups)."""
    from exosieve.config import CNN_PRESETS, VIEW_PRESETS
    cfg = load(merged_config(config_items(command)), check_paths=False)
    line = parse_items(config_items(command))
    views = line.get("views") or {}
    if views.get("preset"):
        for key, value in VIEW_PRESETS[views["preset"]].items():
            if key == "detrend":            # a preset's own detrending, under the detrend keys given
                for dkey, dvalue in value.items():
                    assert cfg["detrend"][dkey] == (line.get("detrend") or {}).get(dkey, dvalue), (command, dkey)
                continue
            assert cfg["views"][key] == views.get(key, value), (command, key)
    for name, model in (line.get("models") or {}).items():
        if isinstance(model, dict) and model.get("preset"):
            for key, value in CNN_PRESETS[model["preset"]].items():
                assert cfg["models"][name][key] == model.get(key, value), (command, name, key)


def parse_items(items: list[str]) -> dict:
    from snakemake.cli import parse_config
    return parse_config(items)


def test_ci_runs_the_readme_test_command_as_typed():
    test_lines = [c for c in code_lines(README) if c.rstrip().endswith("python -m pytest -ra")]
    assert len(test_lines) == 1, test_lines
    assert test_lines[0].strip() in (REPO / ".ci" / "run").read_text().splitlines()
