"""Downloads that survive real archives: retries with exponential backoff that honour
``Retry-After``, timeouts against stalled connections, truncation checks, and acceptance only
after the file validates (written to a temporary name, then renamed).

One client for every endpoint (TAP queries, MAST listings, MAST files), built on ``requests``.
"""

from __future__ import annotations

import email.utils
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import requests

from .utils import TargetError, atomic_output

log = logging.getLogger(__name__)
USER_AGENT = "ExoSieve (transit-signal vetting pipeline)"


class DownloadError(TargetError):
    """A download that failed for good (after retries, or at once for a 4xx answer). A
    ``validate`` callback raises it (rather than TargetError) to refuse an answer without retrying:
    an archive that says the query itself is wrong will say so again."""


class _Retryable(Exception):
    def __init__(self, message: str, wait: float | None = None):
        super().__init__(message)
        self.wait = wait


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 4              # attempts after the first
    backoff: float = 2.0          # seconds before the first retry, doubling each time
    max_wait: float = 120.0       # cap on any single wait, Retry-After included
    timeout: float = 60.0         # seconds without a byte before the connection counts as stalled

    @classmethod
    def from_config(cls, d: dict) -> "RetryPolicy":
        return cls(d["retries"], d["backoff"], d["max_wait"], d["timeout"])


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a delay in seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def session() -> requests.Session:
    s = requests.Session()
    s.headers["User-Agent"] = USER_AGENT
    return s


def fetch(url: str, dest: str | Path, policy: RetryPolicy = RetryPolicy(), *, params: dict | None = None,
          validate: Callable[[Path], None] | None = None, http: requests.Session | None = None,
          what: str = "") -> Path:
    """Download ``url`` to ``dest``; ``validate(tmp_path)`` must return quietly for the file to be
    accepted (it raises to reject). Raises DownloadError naming ``what`` and the last problem."""
    http = http or session()
    label = what or url
    problem = ""
    for attempt in range(policy.retries + 1):
        wait = None
        try:
            _fetch_once(http, url, Path(dest), policy, params, validate)
            return Path(dest)
        except _Retryable as exc:
            problem, wait = str(exc), exc.wait
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            problem = f"{type(exc).__name__}: {exc}"
        if attempt == policy.retries:
            break
        delay = min(wait if wait is not None else policy.backoff * 2 ** attempt, policy.max_wait)
        log.warning("%s: %s; retry %d of %d in %.1f s", label, problem, attempt + 1, policy.retries, delay)
        time.sleep(delay)
    raise DownloadError(f"{label}: download failed after {policy.retries + 1} attempts; last problem: "
                        f"{problem}")


def peek(url: str, policy: RetryPolicy = RetryPolicy(), nbytes: int = 1 << 16, http: requests.Session | None = None,
         what: str = "") -> bytes:
    """The first ``nbytes`` of an answer (decoded), for checks that need not fetch a whole file
    (a sector's file list is megabytes). One try; raises DownloadError."""
    http = http or session()
    label = what or url
    try:
        with http.get(url, stream=True, timeout=(policy.timeout, policy.timeout)) as r:
            if r.status_code != 200:
                raise DownloadError(f"{label}: HTTP {r.status_code} ({r.reason}) from {r.url}")
            head = b""
            for chunk in r.iter_content(chunk_size=1 << 14):
                head += chunk
                if len(head) >= nbytes:
                    break
            return head[:nbytes]
    except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
        raise DownloadError(f"{label}: {type(exc).__name__}: {exc}") from exc


def _fetch_once(http, url, dest: Path, policy: RetryPolicy, params, validate) -> None:
    with http.get(url, params=params, stream=True, timeout=(policy.timeout, policy.timeout)) as r:
        if r.status_code == 429 or r.status_code >= 500:
            raise _Retryable(f"HTTP {r.status_code} from {r.url}", retry_after_seconds(r.headers.get("Retry-After")))
        if r.status_code != 200:
            raise DownloadError(f"{r.url}: HTTP {r.status_code} ({r.reason}); not retried")
        expected = r.headers.get("Content-Length")
        # Another run may be fetching the same cache file right now: only a temporary idle far
        # longer than any live download stalls (timeout) is a dead one.
        with atomic_output(dest, dest.suffix, stale_after=max(600.0, 10 * policy.timeout)) as tmp:
            with open(tmp, "wb") as fh:
                for chunk in r.iter_content(chunk_size=1 << 16):
                    fh.write(chunk)
            # Content-Length counts the bytes on the wire: compressed ones when the body is gzip
            # (``iter_content`` yields them decoded), so compare with what the socket delivered.
            # urllib3 2 checks this itself; urllib3 1.26 does not.
            received = r.raw.tell()
            if expected is not None and expected.isdigit() and received != int(expected):
                raise _Retryable(f"truncated body from {r.url}: {received} of {expected} bytes")
            if validate is not None:
                try:
                    validate(tmp)
                except DownloadError:
                    raise
                except TargetError as exc:
                    raise _Retryable(f"rejected {r.url}: {exc}") from exc
