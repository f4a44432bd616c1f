import subprocess
import sys

from exosieve import __version__
from exosieve.cli import main


def test_version():
    out = subprocess.run([sys.executable, "-m", "exosieve.cli", "--version"], capture_output=True, text=True)
    assert out.stdout.strip() == f"exosieve {__version__}"


def test_info_prints_schema_counts_provenance(tmp_path, capsys):
    from test_shards import _data
    from exosieve.shards import write_shard
    write_shard(tmp_path / "s.h5", _data(), {"config_hash": "abc123", "source": "simulated", "shard": "007"})
    assert main(["info", str(tmp_path / "s.h5")]) == 0
    out = capsys.readouterr().out
    assert "config_hash: abc123" in out and "schema_version: 2" in out
    assert "views/global" in out and "(5, 301)" in out
    assert "5 TCEs on 5 stars" in out and "PC: 2" in out


def test_info_refuses_corrupt_shard(tmp_path, capsys):
    (tmp_path / "bad.h5").write_bytes(b"not hdf5")
    assert main(["info", str(tmp_path / "bad.h5")]) == 2
    assert "corrupt or truncated" in capsys.readouterr().err


def test_check_config_reports_bad_key(tmp_path, capsys):
    (tmp_path / "c.yaml").write_text("cv:\n  folds: one\n")
    assert main(["check-config", str(tmp_path / "c.yaml")]) == 2
    assert "cv.folds: 'one' is not of type 'integer'" in capsys.readouterr().err
