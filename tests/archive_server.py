"""A local stand-in for the NASA Exoplanet Archive's TAP service and for MAST, on 127.0.0.1. It
answers from the real files in ../shared/data, in the formats and with the behaviour those services
are known to have, and injects faults on demand. Where a behaviour comes from public code or
documentation rather than from a recorded response, the comment beside it names the source.

TAP (``/TAP/sync?query=<ADQL>&format=csv``):
- Only the tables the Exoplanet Archive's TAP service lists, with their columns: ``q1_q17_dr24_tce``
  and ``q1_q17_dr25_tce`` (the recorded DR24 export stands in for both), ``cumulative`` (the KOI
  table), ``toi``, and the Kepler stellar tables ``q1_q17_dr24_ks``, ``q1_q17_dr25_ks`` and
  ``keplerstellar``. ``select [top N] <columns|*> from <table>``; nothing else is understood.
- A bad query (unknown table or column, unparsable ADQL) is answered as the real service answers
  it: HTTP 200 with a JSON body ``{"status": "error", "msg": ...}`` (Caltech-IPAC/nexsciTAP, the
  archive's TAP server: ``TAP/tap.py`` ``__printError__``; it does not escape ``msg``). The
  messages follow its code path (``TAP/runquery.py`` passes the database's own error on, double
  quotes turned to single: ORA-00942 for an unknown table, ORA-00904 for an unknown column).
- A result is streamed without a Content-Length (chunked), as the real sync service streams it.

MAST:
- ``/missions/kepler/lightcurves/NNNN/NNNNNNNNN/``: an Apache-style listing; the FITS files under it.
- ``/tess/bulk_downloads/bulk_downloads_tce.html``: the TCE bulk-download page, linking the four
  real SPOC TCE tables of ../shared/data/tess/catalogs/tce by root-relative hrefs in each table
  row's third cell (the layout orionlee/tess_dv_fast scrapes); the tables themselves under
  ``/missions/tess/catalogs/tce/``.
- ``/missions/tess/download_scripts/sector/tesscurl_sector_1_lc.sh``: sector 1's 2-min
  light-curve script in MAST's format (``#!/bin/sh``, then ``curl -C - -L -o NAME URL`` per file,
  the shape of the recorded ``_dv.sh`` scripts). It names the real WASP-126 file plus one file
  per star of the recorded sector-1 DV script, named as that sector's files are; only WASP-126's
  file exists (``/missions/tess/tid/...``), the others answer 404 as a missing file would.
  Other sectors' scripts answer 404.

Framing and encoding: ``server.framing`` (None: Content-Length for files, chunked for TAP results;
or "length" / "chunked" for every answer) and ``server.gzip`` (True: text answers are
gzip-encoded for clients that accept it, as Apache's mod_deflate does).

``server.faults[name] = [...]``: the next requests whose path ends with ``name`` get these faults,
one per request: ``"500"``, ``"404"``, ``"429"`` (Retry-After: 1), ``"stall"`` (says nothing for
``stall_seconds``), ``"truncate"`` (half the body on the wire, then the connection closes),
``"corrupt"`` (random bytes), ``"wrong_target"`` (another star's file) or ``"gzip"`` (the answer
gzip-encoded whatever its type; a valid answer). ``server.random_faults(seed, rate)`` adds seeded
faults to every path: each request draws one with probability ``rate``, from (seed, path, how many
times that path was asked), so a run is reproducible whatever the order of concurrent requests;
``server.injected`` lists the (path, fault) pairs given. ``server.requests``
logs every path served, ``server.queries`` every ADQL query, and ``server.sent`` the
(path, Content-Encoding, framing) of every answer.
"""

from __future__ import annotations

import gzip
import io
import re
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pandas as pd

WASP126_TIC = 25155310                      # TOI 114.01 (KP), sector 1, the real SPOC file
WASP126_FILE = "tess2018206045859-s0001-0000000025155310-0120-s_lc.fits"
PI_MEN_TIC = 261136679                      # pi Men c = TOI 144.01 (CP), in all four SPOC tables
SECTOR1_STAMP, SECTOR1_VERSION = "2018206045859", "0120"   # sector 1's 2-min file names
TCE_DIR = "/missions/tess/catalogs/tce/"
TEXT_TYPES = ("text/", "application/json")

# The Kepler stellar tables' columns as the Exoplanet Archive documents them (Kepler Stellar
# table column definitions); values here come from the KOI table's stellar columns.
KEPLER_STELLAR_COLUMNS = ["kepid", "ra", "dec", "kepmag", "teff", "teff_err1", "teff_err2", "logg",
                          "logg_err1", "logg_err2", "feh", "feh_err1", "feh_err2", "radius",
                          "radius_err1", "radius_err2", "mass", "mass_err1", "mass_err2", "dens",
                          "dens_err1", "dens_err2"]
ADQL = re.compile(r"^\s*select\s+(?:top\s+(?P<top>\d+)\s+)?(?P<cols>.+?)\s+from\s+(?P<table>[\w.]+)\s*(?P<rest>.*?);?\s*$",
                  re.IGNORECASE | re.DOTALL)


def tap_error_body(msg: str) -> bytes:
    """The TAP server's error answer, byte for byte as nexsciTAP prints it (msg not escaped)."""
    return ('{\n    "status": "error",\n    "msg": "%s"\n}\n' % msg).encode()


def sector_lc_script(dv_script: str) -> str:
    """Sector 1's 2-min light-curve script: WASP-126 plus each star of the sector's DV script."""
    tics = sorted({int(t) for t in re.findall(r"-s0001-s0001-(\d{16})-", dv_script)} | {WASP126_TIC})
    names = [f"tess{SECTOR1_STAMP}-s0001-{tic:016d}-{SECTOR1_VERSION}-s_lc.fits" for tic in tics]
    return "#!/bin/sh\n" + "".join(f"curl -C - -L -o {n} https://mast.stsci.edu/api/v0.1/Download/file/"
                                   f"?uri=mast:TESS/product/{n}\n" for n in names)


RANDOM_FAULTS = ("500", "429", "stall", "truncate", "corrupt", "wrong_target", "gzip")


class ArchiveServer:
    def __init__(self, shared_data: Path, stall_seconds: float = 3.0, kepler_root: Path | None = None):
        self.data = Path(shared_data)
        # Kepler light curves in MAST's layout: the real ones, or another folder of them
        self.lc_root = Path(kepler_root) if kepler_root else self.data / "kepler" / "lightcurves"
        self.faults: dict[str, list[str]] = {}
        self.injected: list[tuple[str, str]] = []
        self._random: tuple[int, float, tuple[str, ...]] | None = None
        self._asked: dict[str, int] = {}
        self.requests: list[str] = []
        self.queries: list[str] = []
        self.sent: list[tuple[str, str, str]] = []
        self.stall_seconds = stall_seconds
        self.framing: str | None = None
        self.gzip = False
        self._lock = threading.Lock()
        self._tables: dict[str, pd.DataFrame] = {}
        self._answers: dict[str, tuple[bytes, str]] = {}
        handler = type("Handler", (_Handler,), {"archive": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, client: None   # a client that hung up (stall, timeout)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "ArchiveServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def random_faults(self, seed: int | None, rate: float = 0.0, kinds: tuple[str, ...] = RANDOM_FAULTS) -> None:
        """Seeded random faults on every request from now on (``seed`` None: none)."""
        self._random = None if seed is None else (seed, rate, tuple(kinds))

    def take_fault(self, path: str) -> str | None:
        with self._lock:
            self.requests.append(path)
            for name, queue in self.faults.items():
                if path.endswith(name) and queue:
                    return queue.pop(0)
            if self._random is None:
                return None
            seed, rate, kinds = self._random
            n = self._asked[path] = self._asked.get(path, 0) + 1
            rng = np.random.default_rng([seed, zlib.crc32(path.encode()), n])
            if rng.random() >= rate:
                return None
            fault = kinds[int(rng.integers(0, len(kinds)))]
            self.injected.append((path, fault))
            return fault

    # --- TAP -------------------------------------------------------------------------------
    TAP_FILES = {"q1_q17_dr24_tce": "q1_q17_dr24_tce.csv", "q1_q17_dr25_tce": "q1_q17_dr24_tce.csv",
                 "cumulative": "koi_cumulative.csv", "toi": "toi.csv"}
    STELLAR_TABLES = ("q1_q17_dr24_ks", "q1_q17_dr25_ks", "keplerstellar")

    def tap_table(self, name: str) -> pd.DataFrame | None:
        with self._lock:
            if name not in self._tables:
                if name in self.TAP_FILES:
                    self._tables[name] = pd.read_csv(self.data / "catalogs" / self.TAP_FILES[name], comment="#",
                                                     low_memory=False, dtype=str, keep_default_na=False)
                elif name in self.STELLAR_TABLES:
                    koi = pd.read_csv(self.data / "catalogs" / "koi_cumulative.csv", comment="#", dtype=str,
                                      keep_default_na=False).drop_duplicates("kepid")
                    out = pd.DataFrame("", index=koi.index, columns=KEPLER_STELLAR_COLUMNS)
                    for col, src in {"kepid": "kepid", "ra": "ra", "dec": "dec", "kepmag": "koi_kepmag",
                                     "teff": "koi_steff", "logg": "koi_slogg", "radius": "koi_srad"}.items():
                        out[col] = koi[src]
                    self._tables[name] = out
                else:
                    return None
            return self._tables[name]

    def tap_answer(self, query: str) -> tuple[bytes, str]:
        """(body, content type) for one sync query: CSV, or the service's JSON error."""
        with self._lock:
            self.queries.append(query)
            if query in self._answers:
                return self._answers[query]
        answer = self._tap_answer(query)
        with self._lock:
            self._answers[query] = answer
        return answer

    def _tap_answer(self, query: str) -> tuple[bytes, str]:
        m = ADQL.match(query or "")
        if not m:
            return tap_error_body("No table name found in ADQL query."), "application/json"
        table = self.tap_table(m["table"].lower())
        if table is None:
            # the data dictionary finds no columns, then the database refuses the query itself
            return tap_error_body("ORA-00942: table or view does not exist"), "application/json"
        if m["rest"]:
            return tap_error_body("ORA-00933: SQL command not properly ended (the local stand-in answers "
                                  "no WHERE or ORDER BY)"), "application/json"
        cols = [c.strip().lower() for c in m["cols"].split(",")]
        if cols != ["*"]:
            unknown = [c for c in cols if c not in table.columns]
            if unknown:
                return tap_error_body(f"ORA-00904: '{unknown[0].upper()}': invalid identifier"), "application/json"
            table = table[cols]
        if m["top"]:
            table = table.head(int(m["top"]))
        return table.to_csv(index=False).encode(), "text/csv"

    # --- MAST: TESS --------------------------------------------------------------------------
    def spoc_tables(self) -> list[Path]:
        return sorted((self.data / "tess" / "catalogs" / "tce").glob("*_dvr-tcestats.csv"))

    def tce_page(self) -> bytes:
        """MAST's TCE bulk-download page: one table per kind of run, a link per CSV in the third cell."""
        single = [p for p in self.spoc_tables() if re.search(r"-(s\d{4})-\1_dvr", p.name)]
        multi = [p for p in self.spoc_tables() if p not in single]

        def table(title, paths):
            rows = "".join(f'<tr><td>{p.name.split("-", 1)[1][:11]}</td><td>2025-10-04</td>'
                           f'<td><a href="{TCE_DIR}{p.name}">{p.name}</a></td></tr>\n' for p in reversed(paths))
            return f"<h3>{title}</h3>\n<table><tr><th>Sectors</th><th>Date</th><th>File</th></tr>\n{rows}</table>\n"
        intro = ('<table><tr><td><a href="/tess/bulk_downloads.html">Bulk downloads</a></td></tr></table>\n'
                 f'<p><a href="{TCE_DIR}TCE_csv_description.txt">Column descriptions</a></p>\n')
        return (f"<html><head><title>TESS TCE Bulk Downloads</title></head><body>\n{intro}"
                f"{table('SPOC single-sector TCEs', single)}{table('SPOC multi-sector TCEs', multi)}"
                "</body></html>\n").encode()

    def tess_answer(self, path: str) -> tuple[bytes | None, str]:
        if path == "/tess/bulk_downloads/bulk_downloads_tce.html":
            return self.tce_page(), "text/html"
        if path.startswith(TCE_DIR):
            for p in self.spoc_tables():
                if path == TCE_DIR + p.name:
                    return p.read_bytes(), "text/csv"
        if path == "/missions/tess/download_scripts/sector/tesscurl_sector_1_lc.sh":
            dv = (self.data / "tess" / "download_scripts" / "tesscurl_sector_1_dv.sh").read_text()
            return sector_lc_script(dv).encode(), "text/x-sh"
        m = re.match(r"^/missions/tess/tid/(s\d{4}/\d{4}/\d{4}/\d{4}/\d{4}/tess[\w-]+\.fits)$", path)
        if m and (self.data / "tess" / "tid" / m.group(1)).is_file():
            return (self.data / "tess" / "tid" / m.group(1)).read_bytes(), "application/fits"
        return None, ""


class _Handler(BaseHTTPRequestHandler):
    archive: ArchiveServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: bytes, ctype: str = "application/octet-stream", headers=None,
              framing: str = "length", truncate: bool = False, gzip_any: bool = False) -> None:
        accepts_gzip = "gzip" in self.headers.get("Accept-Encoding", "")
        headers = dict(headers or {})
        if accepts_gzip and (gzip_any or (self.archive.gzip and ctype.startswith(TEXT_TYPES))):
            body = gzip.compress(body, compresslevel=1, mtime=0)
            headers["Content-Encoding"] = "gzip"
        framing = self.archive.framing or framing
        with self.archive._lock:
            self.archive.sent.append((urlparse(self.path).path, headers.get("Content-Encoding", "identity"), framing))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if framing == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        sent = body[: len(body) // 2] if truncate else body
        if framing == "chunked":
            for i in range(0, len(sent), 1 << 14):
                piece = sent[i:i + (1 << 14)]
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            if not truncate:
                self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(sent)
        if truncate:
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
        body, ctype, framing = self._route(parsed)
        if body is None:
            return self._send(404, b"not found", "text/plain")
        if fault == "corrupt":
            body = np.random.default_rng(0).integers(0, 256, len(body), dtype=np.uint8).tobytes()
        if fault == "wrong_target":
            other = sorted(p for p in self.archive.lc_root.rglob("*_llc.fits") if p.parent.name not in parsed.path)[0]
            body = other.read_bytes()
        self._send(200, body, ctype, framing=framing, truncate=fault == "truncate", gzip_any=fault == "gzip")

    def _route(self, parsed) -> tuple[bytes | None, str, str]:
        if parsed.path.rstrip("/").endswith("/TAP/sync"):
            query = parse_qs(parsed.query).get("query", [""])[0]
            body, ctype = self.archive.tap_answer(query)
            return body, ctype, "chunked"
        if parsed.path.startswith(("/tess/", "/missions/tess/")):
            return (*self.archive.tess_answer(parsed.path), "length")
        m = re.match(r"^/missions/kepler/lightcurves/(\d{4})/(\d{9})/(.*)$", parsed.path)
        if not m:
            return None, "", "length"
        star_dir = self.archive.lc_root / m.group(1) / m.group(2)
        if not star_dir.is_dir():
            return None, "", "length"
        if m.group(3) == "":
            out = io.StringIO()
            out.write(f"<html><head><title>Index of {parsed.path}</title></head><body><pre>\n")
            out.write('<a href="../">Parent Directory</a>\n')
            for f in sorted(star_dir.glob("*.fits")):
                out.write(f'<a href="{f.name}">{f.name}</a>  {f.stat().st_size}\n')
            out.write("</pre></body></html>\n")
            return out.getvalue().encode(), "text/html", "length"
        f = star_dir / m.group(3)
        return ((f.read_bytes(), "application/fits", "length") if f.is_file() and "/" not in m.group(3)
                else (None, "", "length"))
