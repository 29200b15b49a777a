"""The one HTTP session nzbot keeps with Alma: auth, timeouts, retries, pacing, quota.

Retries of 5xx and dropped connections are urllib3's `Retry` under requests, so backoff and
jitter are the library's; a POST is never repeated on them (it may have started a job), and
every retry waits its turn at the shared rate limiter. A 429 is retried here, GET or POST
(Alma refused it before doing anything), unless its errorCode says the daily quota is spent:
urllib3 cannot read that body.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
from collections import Counter
from urllib.parse import urlsplit
import time
import xml.etree.ElementTree as ET

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    NameResolutionError,
    NewConnectionError,
    ReadTimeoutError,
)
from urllib3.util.retry import Retry

from alma.calls import count_call
from alma.errors import (
    AlmaError,
    AlmaPermissionError,
    AlmaRateLimited,
    AlmaRequestError,
    AlmaServerError,
    AlmaUnavailable,
    JobLimitReached,
    QuotaSpent,
    QuotaTooLow,
)

log = logging.getLogger(__name__)

WSR_NS = "{http://com/exlibris/urm/general/xmlbeans}"
# Alma's codes for "job refused for now", from its OpenAPI spec (conf.json, POST
# /conf/jobs/{job_id}): 402222/402223 "Execution threshold reached" (which is the 3-jobs
# limit and which the 5-an-hour one is unconfirmed), 60347 "Job overlaps with running job".
JOB_LIMIT_CODES = frozenset({"402222", "402223", "60347"})
# 429s are retried by AlmaHttp itself: urllib3 cannot read the body that tells a per-second
# refusal (worth retrying) from a spent daily quota (not worth it).
RETRY_STATUSES = (500, 502, 503, 504)
UNAUTHORIZED = "UNAUTHORIZED"  # a key lacking a permission: HTTP 400, often an XML body
DAILY_THRESHOLD = "DAILY_THRESHOLD"  # 429: the daily quota is spent
QUOTA_RETRY_SECONDS = 3600.0  # background work asks again hourly: Alma does not say when it resets
# Alma's API areas by path: the permission a key needs (the Developer Network names them
# "Bibs", "Configuration", each read-only or read/write) and what they hold, in our words.
API_AREAS = (
    ("/bibs", "Bibs", "bib records"),
    ("/conf/sets", "Configuration", "sets"),
    ("/conf/jobs", "Configuration", "jobs"),
    ("/conf", "Configuration", "Alma's configuration"),
)


class RateLimiter:
    """Spaces requests evenly so that all threads together stay under `per_second`."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second
        self._next_slot = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


class QuotaGuard:
    """Remembers the daily quota Alma reports (X-Exl-Api-Remaining) and guards a floor."""

    def __init__(self, floor: int) -> None:
        self.floor = floor
        self.remaining: int | None = None
        self.spent_until: float | None = None  # monotonic; set by a 429 DAILY_THRESHOLD

    def observe(self, response: requests.Response) -> None:
        value = response.headers.get("X-Exl-Api-Remaining")
        if value and value.strip().isdigit():
            self.remaining = int(value)
        if response.status_code < 400:
            self.spent_until = None  # Alma answers again: its daily count was reset

    def spent(self) -> None:
        """Alma said the daily quota is spent: background work asks again only later."""
        self.spent_until = time.monotonic() + QUOTA_RETRY_SECONDS

    def check(self) -> None:
        if self.spent_until is not None and time.monotonic() < self.spent_until:
            raise QuotaSpent(
                "Alma's daily API quota is used up: background work is paused until Alma's "
                "daily reset (nzbot asks again every hour)."
            )
        if self.remaining is not None and self.remaining < self.floor:
            raise QuotaTooLow(
                f"Alma's daily API quota is nearly used up ({self.remaining:,} calls left, "
                f"below the {self.floor:,} kept for people). Background work is paused "
                "until the quota resets."
            )


class PacedRetry(Retry):
    """urllib3's Retry, plus: never POST, never 429 (see AlmaHttp.request), and retries
    wait at the limiter."""

    def __init__(self, *args, limiter: RateLimiter | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.limiter = limiter

    def new(self, **kwargs) -> "PacedRetry":
        retry = super().new(**kwargs)
        retry.limiter = self.limiter
        return retry

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code == 429 or method.upper() == "POST":
            return False  # 429: AlmaHttp.request decides; POST: it may have started a job
        return super().is_retry(method, status_code, has_retry_after)

    def sleep(self, response=None) -> None:
        super().sleep(response)
        if self.limiter is not None:
            self.limiter.wait()


class AlmaHttp:
    """Sends requests to Alma and turns every failure into a typed AlmaError."""

    def __init__(
        self,
        api_key: str,
        *,
        requests_per_second: float = 20.0,
        timeout_seconds: float = 30.0,
        max_retries: int = 5,
        backoff_factor: float = 0.5,
        quota_floor: int = 0,
    ) -> None:
        self.timeout = timeout_seconds
        self.max_retries = max_retries
        self.backoff_factor = backoff_factor
        self.limiter = RateLimiter(requests_per_second)
        self.quota = QuotaGuard(quota_floor)
        self.calls: Counter[str] = Counter()  # calls sent, by endpoint ("GET /bibs")
        # blockage (alma.errors.AlmaBlocked.blockage) -> when Alma last accepted a call it
        # would block (monotonic): how background work learns a blockage is over.
        self.accepted: dict[str, float] = {}
        self._calls_lock = threading.Lock()
        self.session = requests.Session()
        # The key travels in a header, never in a URL that could end up in a log.
        self.session.headers["Authorization"] = f"apikey {api_key}"
        self.session.headers["Accept"] = "application/json"
        retry = PacedRetry(
            total=max_retries,
            connect=max_retries,
            read=max_retries,
            status=max_retries,
            other=0,
            status_forcelist=RETRY_STATUSES,
            backoff_factor=backoff_factor,
            backoff_max=30,
            backoff_jitter=backoff_factor,
            raise_on_status=False,
            respect_retry_after_header=True,
            limiter=self.limiter,
        )
        adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=16)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def request(
        self,
        method: str,
        url: str,
        *,
        background: bool = False,
        params: dict | None = None,
        json_body: object = None,
        xml_body: str | None = None,
        accept: str = "application/json",
        authorized: bool = True,
    ) -> requests.Response:
        """One call to Alma. `background` work stops when the daily quota runs low."""
        if background:
            self.quota.check()
        headers: dict[str, str | None] = {"Accept": accept}
        if not authorized:
            headers["Authorization"] = None  # requests drops a session header set to None
        data = None
        if xml_body is not None:
            headers["Content-Type"] = "application/xml"
            data = xml_body.encode("utf-8")
        elif json_body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(json_body).encode("utf-8")
        with self._calls_lock:
            self.calls[endpoint_name(method, url)] += 1
        count_call(endpoint_name(method, url))  # and on the piece of work it is sent for
        for attempt in range(self.max_retries + 1):
            self.limiter.wait()
            try:
                response = self.session.request(
                    method, url, params=params, data=data, headers=headers, timeout=self.timeout
                )
            except (requests.Timeout, requests.ConnectionError) as exc:
                raise AlmaUnavailable(unreachable(exc, self.timeout)) from exc
            self.quota.observe(response)
            if response.status_code != 429 or attempt == self.max_retries:
                break
            if parse_error_body(response.text)[0] == DAILY_THRESHOLD:
                break  # retrying cannot help until Alma's daily reset
            # Alma refused before doing anything, so even a POST is safe to send again.
            time.sleep(self._pause_after_429(response, attempt))
        if response.status_code >= 400:
            error = error_from_response(response)
            if isinstance(error, QuotaSpent):
                self.quota.spent()
            raise error
        self._accepted(method, url, background)
        return response

    def _accepted(self, method: str, url: str, background: bool) -> None:
        now = time.monotonic()
        self.accepted["quota"] = now
        if background:
            self.accepted["quota floor"] = now
        area = area_of(url)
        if area:
            self.accepted[f"permission {area[0]} read"] = now
            if method.upper() != "GET":
                self.accepted[f"permission {area[0]} write"] = now

    def _pause_after_429(self, response: requests.Response, attempt: int) -> float:
        """Alma's Retry-After when it gives one, else exponential backoff with jitter."""
        after = (response.headers.get("Retry-After") or "").strip()
        if after.isdigit():
            return min(30.0, float(after))
        backoff = self.backoff_factor * (2 ** attempt)
        return min(30.0, backoff + random.uniform(0, self.backoff_factor))

    def json(self, response: requests.Response) -> object:
        """The JSON of an answer Alma sent as a success. A 200 that is not JSON (empty, an
        XML or HTML page from a proxy or a sign-in portal) is an AlmaServerError quoting a
        short, secret-free excerpt of what came back, never a raw JSONDecodeError."""
        try:
            return response.json()
        except ValueError:
            what = body_excerpt(response.text, secrets=(self._api_key(),))
            raise AlmaServerError(
                f"Alma answered {endpoint_name(response.request.method or 'GET', response.url)} "
                f"with HTTP {response.status_code} but not with JSON: {what}.",
                status=response.status_code,
            ) from None

    def _api_key(self) -> str:
        return str(self.session.headers.get("Authorization", "")).removeprefix("apikey ").strip()

    def close(self) -> None:
        self.session.close()


def unreachable(exc: requests.RequestException, timeout: float) -> str:
    """Why Alma could not be reached, in words. requests wraps urllib3's reasons (a read
    timeout that outlasted the retries arrives as a ConnectionError), so look inside."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    if isinstance(reason, NameResolutionError):
        return "Alma could not be reached: its host name does not resolve."
    if isinstance(reason, NewConnectionError):  # a subclass of ConnectTimeoutError: first
        return "Alma could not be reached: the connection was refused (nothing listens there)."
    if isinstance(exc, requests.Timeout) or isinstance(reason, (ReadTimeoutError, ConnectTimeoutError)):
        return f"Alma did not answer within {timeout:g} s."
    return "Alma could not be reached (the connection failed or was dropped)."


def endpoint_name(method: str, url: str) -> str:
    """'GET /bibs/{id}' for a call, ids folded so calls can be counted by endpoint."""
    path = urlsplit(url).path.removeprefix("/almaws/v1")
    if "/view/sru/" in path:
        return f"{method} SRU"
    return f"{method} " + re.sub(r"/\d+", "/{id}", path)


_TAG = re.compile(r"<[^>]*>")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
# "apikey l7xx…" or "apikey=l7xx…" echoed back by a proxy: keys are long; words are not.
_KEYLIKE = re.compile(r"(?i)(api[-_ ]?key\W{0,3})[\w-]{16,}")


def body_excerpt(text: str, *, secrets: tuple[str, ...] = (), limit: int = 120) -> str:
    """What an unexpected answer was, in a few words: 'an empty body', 'an HTML page
    titled "Sign in"', or its first characters, tags and secrets taken out."""
    text = (text or "").strip()
    if not text:
        return "an empty body"
    kind = "a body"
    head = text[:500].lower()
    if "<html" in head or "<!doctype html" in head:
        title = _TITLE.search(text)
        kind = "an HTML page" + (f" titled {' '.join(title.group(1).split())[:60]!r}" if title else "")
        text = _TAG.sub(" ", _TITLE.sub(" ", text, count=1))
    elif text.startswith("<"):
        kind = "XML"
        text = _TAG.sub(" ", text)
    words = " ".join(text.split())
    for secret in secrets:
        if secret:
            words = words.replace(secret, "[secret]")
    words = _KEYLIKE.sub(r"\1[secret]", words)
    if len(words) > limit:
        words = words[:limit].rstrip() + "…"
    return f"{kind} ({words!r})" if words else kind


def error_from_response(response: requests.Response) -> AlmaError:
    """Builds the typed error for an Alma error answer, JSON or XML. Which codes mean "not
    found" depends on the operation: the client maps those (alma.client.NOT_FOUND_CODES)."""
    status = response.status_code
    code, message, tracking_id = parse_error_body(response.text)
    message = message or f"Alma answered HTTP {status} with {body_excerpt(response.text, limit=80)}."
    kwargs = {"status": status, "code": code, "tracking_id": tracking_id}
    if code == UNAUTHORIZED:
        request = response.request
        return permission_error(request.method if request else "GET", response.url,
                                alma_message=message, **kwargs)
    if status == 429 and code == DAILY_THRESHOLD:
        return QuotaSpent(
            "Alma's daily API quota is used up: Alma refuses every request until its daily "
            "reset. Nothing was changed; please try again after the reset.", **kwargs)
    if status == 429:
        return AlmaRateLimited(message, **kwargs)
    if status >= 500:
        return AlmaServerError(message, **kwargs)
    if code in JOB_LIMIT_CODES:
        return JobLimitReached(message, **kwargs)
    return AlmaRequestError(message, **kwargs)


def area_of(url: str) -> tuple[str, str] | None:
    """(permission area, what it holds) of a REST call, from API_AREAS; None for others."""
    parts = urlsplit(url)
    if "/almaws/v1/" not in parts.path:
        return None
    path = parts.path.split("/almaws/v1", 1)[1]
    return next(((a, w) for prefix, a, w in API_AREAS if path.startswith(prefix)), None)


def permission_error(method: str, url: str, **kwargs) -> AlmaPermissionError:
    """Says which permission the key lacks for this call, from the call's path."""
    path = urlsplit(url).path.removeprefix("/almaws/v1")
    query = urlsplit(url).query
    area, what = area_of(url) or ("", f"call {method} {path}")
    access = "read" if method.upper() == "GET" else "write"
    if not area:
        verb = ""
    elif "op=run" in query:
        verb = "run "
    else:
        verb = "read " if access == "read" else "change "
    fix = f"give it {area} read/write" if area else "check its permissions"
    return AlmaPermissionError(
        f"The API key is not allowed to {verb}{what}: {fix} in the Ex Libris Developer "
        "Network (or check that ALMA_API_KEY is this institution's key).",
        permission=area or path, access=access, **kwargs)


def parse_error_body(text: str) -> tuple[str | None, str | None, str | None]:
    """(errorCode, errorMessage, trackingId) from Alma's JSON or XML error body."""
    text = (text or "").strip()
    if text.startswith("{"):
        try:
            errors = json.loads(text)["errorList"]["error"]
        except (ValueError, KeyError, TypeError):
            return None, None, None
        first = errors[0] if isinstance(errors, list) and errors else errors
        if not isinstance(first, dict):
            return None, None, None
        return (
            _str_or_none(first.get("errorCode")),
            _str_or_none(first.get("errorMessage")),
            _str_or_none(first.get("trackingId")),
        )
    if text.startswith("<"):
        try:
            root = ET.fromstring(text)
        except ET.ParseError:
            return None, None, None
        error = root.find(f".//{WSR_NS}error")
        if error is None:
            error = root.find(".//error")
        if error is None:
            return None, None, None

        def child(name: str) -> str | None:
            node = error.find(f"{WSR_NS}{name}")
            if node is None:
                node = error.find(name)
            return node.text.strip() if node is not None and node.text else None

        return child("errorCode"), child("errorMessage"), child("trackingId")
    return None, None, None


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)
