"""`snakemake --profile slurm`, typed from the repository root, on a real one-node SLURM cluster.

The test installs Debian's SLURM and munge when they are absent (root and apt-get), starts
munged, slurmctld and slurmd on 127.0.0.1 with a minimal slurm.conf, runs a tiny workflow through
the repository's profile, reads SLURM's job-completion log to see that the jobs went through
SLURM, and stops the daemons it started by PID. It skips, saying why, without root or apt-get, and
when a SLURM it did not start is already configured here (it never touches someone's cluster).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from helpers import REPO

pytestmark = pytest.mark.slow

SLURM_CONF = """\
ClusterName=exosieve-test
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation={state}/slurmctld
SlurmdSpoolDir={state}/slurmd
SlurmctldPidFile={state}/slurmctld.pid
SlurmdPidFile={state}/slurmd.pid
SlurmctldLogFile={state}/slurmctld.log
SlurmdLogFile={state}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={state}/jobcomp.log
MinJobAge=300
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP DefMemPerCPU=1000
"""
CONF = Path("/etc/slurm/slurm.conf")


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "needs root to install and start SLURM and munge"
    if not (shutil.which("slurmctld") and shutil.which("slurmd") and shutil.which("munged")) and not shutil.which("apt-get"):
        return "SLURM is not installed and there is no apt-get to install Debian's slurm-wlm"
    if CONF.exists() and "exosieve-test" not in CONF.read_text():
        return f"{CONF} belongs to another SLURM setup; this test will not replace it"
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        return "snakemake-executor-plugin-slurm is not installed (pip install -e '.[test]')"
    return None


def _install() -> None:
    if shutil.which("slurmctld") and shutil.which("slurmd") and shutil.which("munged") and shutil.which("sbatch"):
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"],
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "slurmctld", "slurmd",
                 "slurm-client", "munge"]):
        out = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if out.returncode:
            pytest.skip(f"could not install SLURM with apt-get ({' '.join(cmd)}): {out.stderr[-500:]}")


def _pid(path: Path, timeout: float = 20) -> int:
    end = time.time() + timeout
    while time.time() < end:
        if path.exists() and path.read_text().strip():
            return int(path.read_text().split()[0])
        time.sleep(0.2)
    raise AssertionError(f"{path} never appeared")


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    why = _why_not()
    if why:
        pytest.skip(why)
    _install()
    state = Path("/var/lib/exosieve-test-slurm")
    shutil.rmtree(state, ignore_errors=True)
    for sub in ("slurmctld", "slurmd"):
        (state / sub).mkdir(parents=True)
    CONF.parent.mkdir(parents=True, exist_ok=True)
    memory = int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20 * 0.8)
    CONF.write_text(SLURM_CONF.format(state=state, cpus=os.cpu_count(), memory=memory))
    pids = []
    try:
        munge_run = Path("/run/munge")
        munge_run.mkdir(parents=True, exist_ok=True)
        shutil.chown(munge_run, "munge", "munge")
        if not Path("/etc/munge/munge.key").exists():
            subprocess.run(["/usr/sbin/mungekey", "--create"], check=True)
            shutil.chown("/etc/munge/munge.key", "munge", "munge")
        (munge_run / "munged.pid").unlink(missing_ok=True)
        subprocess.run(["runuser", "-u", "munge", "--", "/usr/sbin/munged"], check=True)
        pids.append(_pid(munge_run / "munged.pid"))
        subprocess.run(["/usr/sbin/slurmctld"], check=True)
        pids.append(_pid(state / "slurmctld.pid"))
        subprocess.run(["/usr/sbin/slurmd", "-N", "localhost"], check=True)
        pids.append(_pid(state / "slurmd.pid"))
        end = time.time() + 60
        while subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True).stdout.strip() != "idle":
            if time.time() > end:
                raise AssertionError("the SLURM node never became idle:\n" + (state / "slurmctld.log").read_text()[-2000:])
            time.sleep(0.5)
        yield state
    finally:
        for pid in reversed(pids):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        CONF.unlink(missing_ok=True)


def test_the_profile_as_typed_sends_the_heavy_jobs_through_slurm_and_keeps_tiny_ones_local(slurm_cluster, tmp_path):
    cfg = {"survey": {"stars": 60, "quarters": 2, "seed": 3}, "shards": 2, "cv": {"folds": 2},
           "models": {"enabled": ["trees"], "primary": "trees"}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    started = time.time()
    # Typed from the repository root, as docs/usage.md says: --profile slurm finds ./slurm/config.yaml.
    # The target is one fold's trees model: two SLURM levels (shards, then training) keep it short.
    model = "results/models/trees/fold_0/model.pt"
    out = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--profile", "slurm",
                          "--directory", str(tmp_path), "--slurm-keep-successful-logs",
                          "--slurm-init-seconds-before-status-checks", "2", model],
                         cwd=REPO, capture_output=True, text=True, timeout=900)
    took = time.time() - started
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-6000:]
    assert (tmp_path / model).stat().st_size > 0

    # SLURM's own record: every job it ran completed.
    lines = (slurm_cluster / "jobcomp.log").read_text().splitlines()
    states = [re.search(r"JobState=(\S+)", line).group(1) for line in lines]
    assert states and set(states) == {"COMPLETED"}, lines
    # What went through SLURM, by the plugin's per-rule log folders: one job per shard (its
    # light curves and preprocessing grouped) and the training job; the catalog, shard
    # assignment and folds ran on this host.
    logs = tmp_path / ".snakemake" / "slurm_logs"
    per_rule = {d.name: len(list(d.rglob("*.log"))) for d in logs.iterdir()}
    assert per_rule == {"group_shard_lightcurves_preprocess": 2, "rule_train": 1}, per_rule
    assert len(lines) == sum(per_rule.values())
    for local in ("catalog", "assign_shards", "folds", "shard_list"):
        assert (tmp_path / "results" / "logs" / f"{local}.log").exists()      # ran, but not through SLURM
    shards = pd.read_csv(tmp_path / "results" / "shards" / "manifest.csv")
    assert shards.n_tces.sum() > 0
    print(f"tiny workflow through SLURM: {len(lines)} SLURM jobs, {took:.0f} s")
