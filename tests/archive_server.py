"""A local stand-in for the NASA Exoplanet Archive (TAP) and MAST, on 127.0.0.1, serving recorded
responses built from ../shared/data, with faults to inject on demand.

Routes:
- ``/TAP/sync?query=...&format=csv``: the DR24 TCE table for ``q1_q17_dr2?_tce``, the KOI table for
  ``cumulative``, and for the stellar tables a CSV built from the KOI table's stellar columns.
- ``/missions/kepler/lightcurves/NNNN/NNNNNNNNN/``: an Apache-style listing of the star's files.
- ``/missions/kepler/lightcurves/NNNN/NNNNNNNNN/<file>``: the FITS file itself.
- TAP ``from toi``: the TOI table.
- ``/tess/bulk_downloads/bulk_downloads_tce.html``: MAST's TCE bulk-download page, linking two SPOC
  TCE tables at ``/missions/tess/catalogs/tce/``: sector 2 alone and sectors 1-3. Both are built
  (``spoc_tce_table``) from the TOI row of WASP-18 b, TIC 100100827, the star of
  ``tess/wasp18b.fits``; the sector-2 run also has a second TCE that no TOI explains.
- ``/missions/tess/download_scripts/sector/tesscurl_sector_N_lc.sh`` (N = 1, 2, 3): bulk-download
  scripts; only sector 2's names WASP-18's light curve, which is served at
  ``/missions/tess/tid/s0002/0000/0001/0010/0827/`` + ``TESS_FILE``.

``server.faults[name] = [...]``: the next requests whose path ends with ``name`` get these faults,
one per request: ``"500"``, ``"404"``, ``"429"`` (Retry-After: 1), ``"stall"`` (says nothing for
``stall_seconds``), ``"truncate"`` (half the body, full Content-Length), ``"corrupt"`` (random
bytes) or ``"wrong_target"`` (another star's file). ``server.requests`` logs every path served.
"""

from __future__ import annotations

import io
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pandas as pd


WASP18_TIC = 100100827
TESS_FILE = "tess2018234235059-s0002-0000000100100827-0121-s_lc.fits"
TESS_RUNS = {"s0002-s0002": "tess2018235142541-s0002-s0002_dvr-tcestats.csv",
             "s0001-s0003": "tess2018206190142-s0001-s0003_dvr-tcestats.csv"}
SECTOR_START = 1354.1  # BTJD of sector 2's first cadence
SPOC_HEADER = ("#Select Statistics Per TCE From the Data Validation XML Files\n#Mission = TESS\n"
               "#Search = {search}\n#Sectors = {run}\n#Created Date = 2021-05-12\n#\n")


def spoc_tce_table(toi: pd.DataFrame, run: str) -> str:
    """A SPOC TCE table (MAST's CSV: comment header, DV column names) for one run, from WASP-18 b's
    TOI row: ephemeris moved to the sector's first transit, as SPOC reports it."""
    r = toi[toi.tid == WASP18_TIC].iloc[0]
    period, bjd = float(r.pl_orbper), float(r.pl_tranmid)
    epoch = bjd - 2457000.0
    epoch -= period * np.floor((epoch - SECTOR_START) / period)
    rows = [dict(tceid=f"{WASP18_TIC:011d}-01", ticid=WASP18_TIC, tce_plnt_num=1, sectors=run.split("-")[0],
                 tce_period=period, tce_time0bt=epoch, tce_duration=float(r.pl_trandurh), tce_depth=float(r.pl_trandep),
                 tce_model_snr=250.0, tce_steff=r.st_teff, tce_slogg=r.st_logg, tce_smet=0.1,
                 tce_sradius=r.st_rad, tce_sdensity=0.53)]
    if run == "s0002-s0002":  # a second signal on the star that no TOI explains
        rows.append({**rows[0], "tceid": f"{WASP18_TIC:011d}-02", "tce_plnt_num": 2, "tce_period": 3.7131,
                     "tce_time0bt": SECTOR_START + 1.3, "tce_duration": 3.1, "tce_depth": 310.0,
                     "tce_model_snr": 7.6})
    return SPOC_HEADER.format(search=TESS_RUNS[run][:17], run=run) + pd.DataFrame(rows).to_csv(index=False)


def sector_script(sector: int) -> str:
    """A sector's bulk-download script as MAST writes it (one curl line per light curve)."""
    names = [f"tess2018206045859-s{sector:04d}-0000000025155310-0120-s_lc.fits"]
    if sector == 2:
        names.append(TESS_FILE)
    return "#!/bin/sh\n" + "".join(f"curl -C - -L -o {n} https://mast.stsci.edu/api/v0.1/Download/file/"
                                   f"?uri=mast:TESS/product/{n}\n" for n in names)


class ArchiveServer:
    def __init__(self, shared_data: Path, stall_seconds: float = 3.0):
        self.data = Path(shared_data)
        self.lc_root = self.data / "kepler" / "lightcurves"
        self.faults: dict[str, list[str]] = {}
        self.requests: list[str] = []
        self.stall_seconds = stall_seconds
        self._lock = threading.Lock()
        self._stellar: bytes | None = None
        handler = type("Handler", (_Handler,), {"archive": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "ArchiveServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def take_fault(self, path: str) -> str | None:
        with self._lock:
            self.requests.append(path)
            for name, queue in self.faults.items():
                if path.endswith(name) and queue:
                    return queue.pop(0)
        return None

    def stellar_csv(self) -> bytes:
        """A stellar table answer from the KOI table's recorded stellar columns."""
        if self._stellar is None:
            koi = pd.read_csv(self.data / "catalogs" / "koi_cumulative.csv", comment="#")
            table = koi[["kepid", "koi_steff", "koi_slogg", "koi_srad"]].drop_duplicates("kepid")
            table.columns = ["kepid", "teff", "logg", "radius"]
            self._stellar = table.to_csv(index=False).encode()
        return self._stellar

    def tap_answer(self, query: str) -> bytes | None:
        q = query.lower()
        if re.search(r"from q1_q17_dr2[45]_tce", q):
            return (self.data / "catalogs" / "q1_q17_dr24_tce.csv").read_bytes()
        if "from cumulative" in q:
            return (self.data / "catalogs" / "koi_cumulative.csv").read_bytes()
        if "stellar" in q:
            return self.stellar_csv()
        if re.search(r"from toi\b", q):
            return (self.data / "catalogs" / "toi.csv").read_bytes()
        return None

    def tess_answer(self, path: str) -> tuple[bytes | None, str]:
        if path == "/tess/bulk_downloads/bulk_downloads_tce.html":
            links = "".join(f'<tr><td><a href="/missions/tess/catalogs/tce/{name}">{run}</a></td></tr>\n'
                            for run, name in TESS_RUNS.items())
            return f"<html><body><table>{links}</table></body></html>".encode(), "text/html"
        for run, name in TESS_RUNS.items():
            if path == f"/missions/tess/catalogs/tce/{name}":
                toi = pd.read_csv(self.data / "catalogs" / "toi.csv", comment="#")
                return spoc_tce_table(toi, run).encode(), "text/csv"
        m = re.match(r"^/missions/tess/download_scripts/sector/tesscurl_sector_(\d+)_lc\.sh$", path)
        if m and 1 <= int(m.group(1)) <= 3:
            return sector_script(int(m.group(1))).encode(), "text/plain"
        if path == f"/missions/tess/tid/s0002/0000/0001/0010/0827/{TESS_FILE}":
            return (self.data / "tess" / "wasp18b.fits").read_bytes(), "application/fits"
        return None, ""


class _Handler(BaseHTTPRequestHandler):
    archive: ArchiveServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: bytes, ctype: str = "application/octet-stream", headers=None,
              length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        if length is not None and length != len(body):
            self.close_connection = True

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        parsed = urlparse(self.path)
        fault = self.archive.take_fault(parsed.path)
        if fault == "stall":
            time.sleep(self.archive.stall_seconds)
            self.close_connection = True
            return
        if fault in ("500", "404"):
            return self._send(int(fault), b"injected fault", "text/plain")
        if fault == "429":
            return self._send(429, b"slow down", "text/plain", {"Retry-After": "1"})
        body, ctype = self._route(parsed)
        if body is None:
            return self._send(404, b"not found", "text/plain")
        if fault == "truncate":
            return self._send(200, body[: len(body) // 2], ctype, length=len(body))
        if fault == "corrupt":
            body = np.random.default_rng(0).integers(0, 256, len(body), dtype=np.uint8).tobytes()
        if fault == "wrong_target":
            other = sorted(p for p in self.archive.lc_root.rglob("*_llc.fits") if p.parent.name not in parsed.path)[0]
            body = other.read_bytes()
        self._send(200, body, ctype)

    def _route(self, parsed):
        if parsed.path.rstrip("/").endswith("/TAP/sync"):
            query = parse_qs(parsed.query).get("query", [""])[0]
            return self.archive.tap_answer(query), "text/csv"
        if parsed.path.startswith(("/tess/", "/missions/tess/")):
            return self.archive.tess_answer(parsed.path)
        m = re.match(r"^/missions/kepler/lightcurves/(\d{4})/(\d{9})/(.*)$", parsed.path)
        if not m:
            return None, ""
        star_dir = self.archive.lc_root / m.group(1) / m.group(2)
        if not star_dir.is_dir():
            return None, ""
        if m.group(3) == "":
            out = io.StringIO()
            out.write(f"<html><head><title>Index of {parsed.path}</title></head><body><pre>\n")
            out.write('<a href="../">Parent Directory</a>\n')
            for f in sorted(star_dir.glob("*.fits")):
                out.write(f'<a href="{f.name}">{f.name}</a>  {f.stat().st_size}\n')
            out.write("</pre></body></html>\n")
            return out.getvalue().encode(), "text/html"
        f = star_dir / m.group(3)
        return (f.read_bytes(), "application/fits") if f.is_file() and "/" not in m.group(3) else (None, "")
