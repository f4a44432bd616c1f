"""Runs of the workflow on a simulated survey used through the `local` source like a bulk download:
catalog updates redo only what changed, down to the star, as `exosieve plan` says beforehand; a
shard of unreadable stars still ends in a report (minutes, marked slow)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from exosieve.shards import shard_of
from helpers import SNAKEMAKE, job_counts, snakemake

pytestmark = pytest.mark.slow


def planned_wildcards(dry_run_output: str, rule: str) -> list[str]:
    blocks = re.split(r"\n\s*(?=(?:local)?rule \w+:)", dry_run_output)   # group jobs indent theirs
    return [re.search(r"wildcards: (\S+)", b).group(1) for b in blocks
            if re.match(rf"(?:local)?rule {rule}:", b.strip()) and "wildcards:" in b]


@pytest.fixture(scope="module")
def local_survey(tmp_path_factory):
    """A simulated survey written to disk, used through the `local` source like a bulk download."""
    from helpers import write_survey
    written = write_survey(tmp_path_factory.mktemp("data"), 70, 2, 21)
    return written["dir"], written["survey"]


def _catalog_text(df: pd.DataFrame) -> str:
    return "# catalog update\n" + df.to_csv(index=False)


def test_catalog_updates_rerun_only_the_changed_stars_as_exosieve_plan_says(tmp_path, local_survey, monkeypatch):
    """Each update reruns only the shards it touches, each preprocesses only its changed stars
    (the others keep their rows), and `exosieve plan` says so beforehand: its per-shard counts are
    checked against what the preprocess jobs log. A new label mapping reruns no preprocessing; a
    replaced light-curve file in the local folder reruns its star."""
    import os
    from exosieve.config import load
    from exosieve.plan import plan_update
    data, survey = local_survey
    catalog = survey.catalog.copy()
    new_star = int(catalog.kepid.iloc[-1])
    base = catalog[catalog.kepid != new_star]
    cat_path = tmp_path / "tces.csv"
    cat_path.write_text(_catalog_text(base))
    n_shards = 3
    cfg = {"catalog": {"source": "local", "path": str(cat_path), "stellar_path": str(data / "keplerstellar.csv"),
                       "lightcurve_dir": str(data / "lightcurves")},
           "shards": n_shards, "cv": {"folds": 2}, "models": {"enabled": ["trees"], "primary": "trees"},
           "report": {"sheets": 0}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    snakemake(tmp_path)
    monkeypatch.chdir(tmp_path)                       # plan reads results/ as snakemake does

    def check_update(*stars: int) -> None:
        plan = plan_update(load(tmp_path / "config.yaml"))
        changed = pd.Series([f"{shard_of(str(s), n_shards):03d}" for s in stars]).value_counts().sort_index()
        rerun = plan.shards[plan.shards.rerun]
        assert list(rerun.shard) == list(changed.index), plan.format()
        assert list(rerun.stars_preprocessed) == list(changed), plan.format()
        assert plan.retrain
        snakemake(tmp_path, "results/shards/manifest.csv")  # catalog + shard assignment only
        dry = snakemake(tmp_path, "-n")
        counts = job_counts(dry)
        assert counts.get("preprocess") == len(changed) and counts.get("lightcurves") == len(changed), dry
        assert sorted(planned_wildcards(dry, "preprocess")) == [f"shard={s}" for s in changed.index]
        assert counts.get("folds") == 1 and counts.get("train") == 2 and "evaluate" not in counts
        assert counts.get("shard_list") == 1
        assert counts.get("report") == 1
        # Only the shards are brought up to date between updates (the dry run above is what a full
        # run would do); the last step below runs everything.
        snakemake(tmp_path, *(f"results/shards/{s}.h5" for s in plan.shards.shard))
        for (shard, k), n in zip(changed.items(), rerun.stars):
            log = (tmp_path / "results" / "logs" / "preprocess" / f"{shard}.log").read_text()
            assert f"stars preprocessed: {k} of {n} ({n - k} kept, inputs unchanged)" in log, log

    # Two updates, each of two kinds at once, to keep the test short.
    # 1. One TCE on a new star, and one light-curve file of another star replaced in the local
    #    folder (a repaired download: new modification time).
    added = pd.concat([base, catalog[catalog.kepid == new_star].head(1)], ignore_index=True)
    cat_path.write_text(_catalog_text(added))
    other = int(added.kepid.iloc[0])
    fits = sorted((data / "lightcurves").glob(f"*/{other:09d}/*.fits"))[0]
    os.utime(fits, ns=(fits.stat().st_atime_ns, fits.stat().st_mtime_ns + 10**9))
    check_update(new_star, other)
    # 2. On one star, one TCE removed and another's period changed.
    star = int(added.kepid[added.kepid.duplicated()].iloc[0])
    first, second = added.index[added.kepid == star][:2]
    changed = added.copy()
    changed.loc[second, "tce_period"] = changed.loc[second, "tce_period"] * 1.001
    changed = changed.drop(index=first).reset_index(drop=True)
    cat_path.write_text(_catalog_text(changed))
    check_update(star)
    # 4. A new label mapping (NTP no longer a negative): no light curve, no shard is redone.
    relabelled = {**cfg, "catalog": {**cfg["catalog"], "labels": {"positive": ["PC"], "negative": ["AFP"]}}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(relabelled))
    plan = plan_update(load(tmp_path / "config.yaml"))
    assert plan.stars_preprocessed == 0 and not plan.shards.rerun.any() and plan.retrain
    assert plan.catalog["relabelled"] == int((changed.av_training_set == "NTP").sum()) > 0, plan.format()
    snakemake(tmp_path, "results/shards/manifest.csv")
    counts = job_counts(snakemake(tmp_path, "-n"))
    assert "preprocess" not in counts and "lightcurves" not in counts, counts
    assert counts.get("folds") == 1 and counts.get("train") == 2
    snakemake(tmp_path)
    assert "Nothing to be done" in snakemake(tmp_path, "-n")


def _archive_with_bad_stars(data: Path, out: Path, bad: set[str]) -> Path:
    """A copy of the survey's light-curve folder (links) in which every file of the ``bad`` stars
    is an HTML error page saved under the FITS name, as a failed bulk download leaves it."""
    from exosieve.lightcurves.mast import find_kepler_lightcurves, kepler_star_dir
    root = out / "lightcurves"
    for star_dir in sorted((data / "lightcurves").glob("*/*")):
        sid = str(int(star_dir.name))
        dest = kepler_star_dir(root, sid)
        dest.mkdir(parents=True)
        for f in find_kepler_lightcurves(data / "lightcurves", sid):
            if sid in bad:
                (dest / f.name).write_text("<html><body>503 Service Unavailable</body></html>\n")
            else:
                (dest / f.name).symlink_to(f)
    return root


def test_a_shard_of_bad_stars_still_ends_in_a_report_and_only_a_run_with_nothing_scored_fails(tmp_path, local_survey):
    data, survey = local_survey
    n_shards, bad_shard = 3, 2
    stars = [str(k) for k in survey.catalog.kepid.unique()]
    bad = {s for s in stars if shard_of(s, n_shards) == bad_shard}
    assert 0 < len(bad) < len(stars)
    cfg = {"catalog": {"source": "local", "path": str(data / "q1_q17_dr24_tce.csv"),
                       "lightcurve_dir": str(_archive_with_bad_stars(data, tmp_path / "a", bad))},
           "shards": n_shards, "cv": {"folds": 2}, "training": {"max_epochs": 2, "patience": 1},
           "models": {"enabled": ["trees"], "primary": "trees"}, "report": {"sheets": 0}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    out = snakemake(tmp_path)

    shard = tmp_path / "results" / "shards" / f"{bad_shard:03d}"
    manifest = pd.read_csv(f"{shard}.failures.csv", dtype=str)
    tces = pd.read_csv(tmp_path / "results" / "catalog" / "tces.csv", dtype={"tce_id": str, "star_id": str})
    bad_tces = set(tces.tce_id[tces.star_id.isin(bad)])
    assert set(manifest.tce_id.dropna()) == bad_tces
    assert manifest.error.str.contains("none of its 2 file(s) is usable", regex=False).all()
    report = tmp_path / "results" / "report"
    failures = pd.read_csv(report / "failures.csv", dtype=str)
    assert bad_tces <= set(failures.tce_id)
    catalog = pd.read_csv(report / "vetted_catalog.csv", dtype={"tce_id": str})
    scored = catalog[catalog.score.notna()]
    assert set(scored.tce_id) == set(tces.tce_id) - bad_tces        # every other TCE was scored
    assert f"ExoSieve: {len(bad_tces)} TCE(s) on {len(bad)} star(s) could not be scored" in out
    assert (report / "index.html").stat().st_size > 0

    # Every star bad (one shard of them): nothing can be scored, and the run says why and what to do.
    run2 = tmp_path / "all_bad"
    run2.mkdir()
    cfg["catalog"]["lightcurve_dir"] = str(_archive_with_bad_stars(data, run2, set(stars)))
    cfg["shards"] = 1
    (run2 / "config.yaml").write_text(yaml.safe_dump(cfg))
    result = subprocess.run([*SNAKEMAKE, "--directory", str(run2)], capture_output=True, text=True)
    assert result.returncode != 0
    log = "".join(p.read_text() for p in (run2 / "results" / "logs" / "train").rglob("*.log"))
    labelled = int((tces.label >= 0).sum())
    assert (f"nothing to train on: the shards hold no labelled TCE outside this fold. {labelled} of the "
            f"catalog's {labelled} labelled TCEs could not be preprocessed (preprocess: {labelled}; first: star") in log
    assert "/*.failures.csv: fix what those rows name" in log
    assert all(pd.read_csv(m).shape[0] for m in (run2 / "results" / "shards").glob("*.failures.csv"))
    assert not (run2 / "results" / "report" / "index.html").exists()
