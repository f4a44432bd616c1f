import subprocess
import sys

import yaml

from archive_server import ArchiveServer
from exosieve import __version__
from exosieve.cli import main
from helpers import SHARED_DATA, needs_shared_data, shard_data


def test_version():
    out = subprocess.run([sys.executable, "-m", "exosieve.cli", "--version"], capture_output=True, text=True)
    assert out.stdout.strip() == f"exosieve {__version__}"


def test_info_prints_schema_counts_provenance(tmp_path, capsys):
    from exosieve.shards import SCHEMA_VERSION, write_shard
    write_shard(tmp_path / "s.h5", shard_data(), {"config_hash": "abc123", "source": "simulated", "shard": "007"})
    assert main(["info", str(tmp_path / "s.h5")]) == 0
    out = capsys.readouterr().out
    assert "config_hash: abc123" in out and f"schema_version: {SCHEMA_VERSION}" in out
    assert "views/global" in out and "(5, 301)" in out
    assert "5 TCEs on 5 stars" in out


def test_info_refuses_corrupt_shard(tmp_path, capsys):
    (tmp_path / "bad.h5").write_bytes(b"not hdf5")
    assert main(["info", str(tmp_path / "bad.h5")]) == 2
    assert "corrupt or truncated" in capsys.readouterr().err


def test_check_config_reports_bad_key(tmp_path, capsys):
    (tmp_path / "c.yaml").write_text("cv:\n  folds: one\n")
    assert main(["check-config", str(tmp_path / "c.yaml")]) == 2
    assert "cv.folds: 'one' is not of type 'integer'" in capsys.readouterr().err


@needs_shared_data
def test_check_archives_says_per_endpoint_whether_it_answered(tmp_path, capsys, monkeypatch):
    """Against the local archive (tests/archive_server.py): all endpoints healthy, then a TAP table
    that refuses its query and a MAST listing that never answers."""
    with ArchiveServer(SHARED_DATA) as server:
        config = tmp_path / "c.yaml"
        config.write_text(yaml.safe_dump({"archive": {"tap_url": server.url + "/TAP", "mast_url": server.url,
                                                      "timeout": 2.0}}))
        assert main(["check-archives", "--config", str(config)]) == 0
        out = capsys.readouterr().out
        assert out.count("\nok   ") == 9 and "All 9 endpoints answered as expected." in out
        for endpoint in ("TAP table q1_q17_dr24_ks", "TAP table q1_q17_dr25_ks", "TAP table cumulative",
                         "TAP table toi", "MAST Kepler light-curve listing", "MAST TESS TCE table list",
                         "MAST TESS sector 1 file list"):
            assert endpoint in out
        # nothing reached the cache: a check leaves no files behind
        assert not (tmp_path / "cache").exists()
        server.faults["011442793/"] = ["500"] * 5
        from exosieve.catalog import archive
        monkeypatch.setitem(archive.QUERIES["kepler_dr24"], "stellar",
                            ("select kepid, teff from q1_q17_dr24_stellar", ["kepid"]))   # the retired name
        monkeypatch.setattr("exosieve.http.time.sleep", lambda s: None)
        assert main(["check-archives", "--config", str(config)]) == 1
        out = capsys.readouterr().out
        assert "FAIL TAP table q1_q17_dr24_stellar" in out and "ORA-00942: table or view does not exist" in out
        assert "FAIL MAST Kepler light-curve listing" in out and "HTTP 500" in out
        assert "2 of 9 endpoints did not answer as expected" in out
