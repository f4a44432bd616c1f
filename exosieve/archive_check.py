"""``exosieve check-archives``: one small request to each archive endpoint ExoSieve uses, each
reported as answered-as-expected or not. Run it first on a new machine or cluster: it shows in
seconds whether the network, a proxy, or a change in the archives' formats would stop a long run.

Every check goes through the same client code and validation as the pipeline's own downloads
(TAP queries as ``select top 1`` of the real query, so every column the pipeline reads is asked
for), into a temporary folder: nothing is cached. Of a sector's file list (megabytes) only the
first 64 KB are read.
"""

from __future__ import annotations

import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .catalog.archive import QUERIES, TESS_TCE_INDEX, spoc_table_urls, tap_query, tap_sync_url, validate_tce_index
from .catalog.kepler import read_archive_csv
from .http import RetryPolicy, fetch, peek
from .lightcurves.download import kepler_star_url, listed_files, scripted_files, sector_script_url, validate_listing
from .utils import TargetError

CHECK_KIC = 11442793   # Kepler-90: a star every Kepler light-curve archive holds
CHECK_SECTOR = 1


@dataclass
class EndpointCheck:
    endpoint: str
    url: str
    ok: bool
    detail: str
    seconds: float


def _tap_checks() -> dict[str, tuple[str, list[str]]]:
    """Table -> (its pipeline query as ``select top 1 ...``, columns the answer must have)."""
    out = {}
    for queries in QUERIES.values():
        for query, columns in queries.values():
            table = re.search(r"\bfrom\s+(\w+)", query, re.IGNORECASE).group(1)
            out[table] = (re.sub(r"^select\s+", "select top 1 ", query, flags=re.IGNORECASE), columns)
    return out


def check_archives(cfg: dict) -> list[EndpointCheck]:
    a = cfg["archive"]
    policy = RetryPolicy(retries=1, backoff=1.0, max_wait=5.0, timeout=float(a["timeout"]))
    mast = a["mast_url"].rstrip("/")
    results = []

    def run(endpoint: str, url: str, check) -> None:
        start = time.perf_counter()
        try:
            ok, detail = True, check()
        except (TargetError, OSError) as exc:
            ok, detail = False, str(exc)
        results.append(EndpointCheck(endpoint, url, ok, detail, time.perf_counter() - start))

    with tempfile.TemporaryDirectory(prefix="exosieve-check-") as tmp:
        tmp = Path(tmp)
        for table, (query, columns) in _tap_checks().items():
            def tap(table=table, query=query, columns=columns):
                path = tap_query(a["tap_url"], query, tmp / f"{table}.csv", columns, policy, f"TAP table {table}")
                return f"{len(read_archive_csv(path).columns)} columns, including {', '.join(columns[:4])}"
            run(f"TAP table {table}", tap_sync_url(a["tap_url"]), tap)

        listing_url = kepler_star_url(mast, CHECK_KIC)

        def kepler_listing():
            path = fetch(listing_url, tmp / "listing.html", policy, what=f"KIC {CHECK_KIC} file list",
                         validate=lambda p: validate_listing(p, CHECK_KIC))
            return f"{len(listed_files(path.read_text(errors='replace'), CHECK_KIC))} long-cadence files listed"
        run("MAST Kepler light-curve listing", listing_url, kepler_listing)

        index_url = f"{mast}/{TESS_TCE_INDEX}"

        def tce_index():
            path = fetch(index_url, tmp / "tce.html", policy, what="TESS TCE table list", validate=validate_tce_index)
            runs = spoc_table_urls(path.read_text(errors="replace"), index_url)
            return f"{len(runs)} SPOC TCE tables linked (newest run ends {max(r[-5:] for r in runs)})"
        run("MAST TESS TCE table list", index_url, tce_index)

        script_url = sector_script_url(mast, CHECK_SECTOR)

        def sector_script():   # its first 64 KB: the whole list is megabytes
            head = peek(script_url, policy, what=f"sector {CHECK_SECTOR} file list").decode(errors="replace")
            names = scripted_files(head)
            if not head.startswith("#!/bin/sh") or not names:
                raise TargetError(f"sector {CHECK_SECTOR} file list at {script_url} is not a bulk-download script "
                                  f"naming 2-min light curves (it begins {head[:60]!r})")
            return f"a bulk-download script; its first 64 KB name {len(names)} 2-min light curves"
        run(f"MAST TESS sector {CHECK_SECTOR} file list", script_url, sector_script)
    return results


def format_checks(results: list[EndpointCheck]) -> str:
    lines = [f"{'ok' if r.ok else 'FAIL':<5}{r.endpoint:<34}{r.seconds:6.1f} s  {r.detail}" for r in results]
    failed = [r for r in results if not r.ok]
    if failed:
        lines.append(f"{len(failed)} of {len(results)} endpoints did not answer as expected. Check archive.tap_url "
                     "and archive.mast_url in your config, the network (a proxy needs HTTPS_PROXY), or the "
                     "archive's status page; a query refused by the archive quotes its message above.")
    else:
        lines.append(f"All {len(results)} endpoints answered as expected.")
    return "\n".join(lines)
