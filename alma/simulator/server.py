"""The HTTP side: a local Alma on 127.0.0.1 with Alma's paths, statuses and bodies.

Every request goes through the same gate, in this order: count the call, drop it (fault),
wait (latency fault), answer 5xx (fault), then for the REST API: per-second limit, API key,
daily quota. Only then is it routed.
"""

from __future__ import annotations

import json
import random
import re
import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter, deque
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

from pymarc import Field, Subfield

from . import payloads as P
from . import sru
from .jobs import JobRefused, submit
from .marc import Marc, record_element_to_string, record_from_string, replace_local_fields
from .state import State
from .webhooks import WebhookProfile

MAX_IDS_PER_GET = 100
MAX_MEMBERS_PER_CALL = 1000
MAX_PAGE = 100
PER_SECOND_LIMIT = 25


@dataclass
class Faults:
    """Trouble to inject; change at run time (sim.faults.error_rate = 0.5)."""

    latency: float = 0.0  # seconds added before each answer
    error_rate: float = 0.0  # share of requests answered 500/503
    drop_rate: float = 0.0  # share of connections closed with no answer
    per_second_limit: int | None = None  # overrides Alma's 25 requests per second
    # How a job run's answer names its instance: "link" (additional_info link and value, as
    # the public sample), "value" (the "Job no. N triggered" text only), or "none".
    run_answer: str = "link"
    # Not Alma's documented behaviour, but what a gateway or proxy in front of it may do:
    # the 5xx error text quotes the request, API key included (issue 11: nzbot must never
    # pass such a text on unscrubbed).
    echo_key_in_errors: bool = False
    # Records whose PUT Alma refuses with 400 4022041, as it does a record catalogued at a
    # higher cataloger level than the API's user (bibs.json, PUT /bibs/{mms_id}, 400).
    # A record open in the Metadata Editor is saved anyway: override_lock defaults to true.
    refuse_put: set[str] = field(default_factory=set)
    # Records that someone saves in the Metadata Editor just before nzbot's next save of
    # them (once each): a 500 note is added and the 005 moves on, as any save does.
    saved_meanwhile: set[str] = field(default_factory=set)


class AlmaAnswer(Exception):
    """Raised inside a handler to answer with an Alma error body."""

    def __init__(self, status: int, code: str, message: str, *, xml: bool = False) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.xml = xml  # answer XML whatever the request asked for


def bad(code: str, message: str) -> AlmaAnswer:
    return AlmaAnswer(400, code, message)


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    headers: Any
    body: bytes
    match: re.Match
    zone: str = "iz"  # whose key came with it: "iz" (the institution's) or "nz" (the network's)

    @property
    def wants_json(self) -> bool:
        if self.params.get("format", "").lower() == "json":
            return True
        if self.params.get("format", "").lower() == "xml":
            return False
        return "json" in (self.headers.get("Accept") or "").lower()

    @property
    def sent_json(self) -> bool:
        return "json" in (self.headers.get("Content-Type") or "").lower()

    def json_body(self) -> Any:
        try:
            return json.loads(self.body or b"{}")
        except ValueError:
            raise bad(P.SETS_GENERAL_ERROR, "The request body is not valid JSON.") from None


Handler = Callable[["Simulator", Request], tuple[int, Any, str]]
ROUTES: list[tuple[str, re.Pattern, str, Handler]] = []
# What the NZ's key may call here: its bib records, read and replaced.
NZ_ROUTES = frozenset({"GET /almaws/v1/bibs/{mms_id}", "PUT /almaws/v1/bibs/{mms_id}",
                       "DELETE /almaws/v1/bibs/{mms_id}"})


def route(method: str, template: str):
    """Register a handler for `template` (e.g. /almaws/v1/bibs/{mms_id})."""
    pattern = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "/?$")

    def register(fn: Handler) -> Handler:
        ROUTES.append((method, pattern, f"{method} {template}", fn))
        return fn

    return register


class Simulator:
    """A local Alma. `with Simulator(state=seed.sample_state()) as sim: ...`"""

    def __init__(
        self,
        state: State | None = None,
        api_key: str = "sim-key-local",
        job_seconds: float = 1.0,
        host: str = "127.0.0.1",
        seed: int | None = None,
        nz_api_key: str = "sim-nz-key",
    ) -> None:
        if state is None:
            from .seed import sample_state

            state = sample_state()
        self.state = state
        self.state.job_seconds = job_seconds
        self.api_key = api_key
        # The Network Zone is an institution of its own with its own key, on the same
        # gateway: in Alma the key decides the zone (docs/alma.md, "The Alma REST API").
        self.nz_api_key = nz_api_key
        # More keys of institution zones (say, a second IZ key someone gives as the NZ's):
        # accepted, and they see the IZ, never the NZ's records.
        self.other_iz_keys: set[str] = set()
        self.host = host
        self.faults = Faults()
        # What the API key may do, per API area as the Developer Network grants it
        # ("read/write", "read", or None). Tests take a permission away to see the 400.
        self.key_permissions: dict[str, str | None] = {"Bibs": "read/write", "Configuration": "read/write"}
        self.calls: Counter[str] = Counter()
        self._calls_lock = threading.Lock()
        self._recent: deque[float] = deque()  # times of accepted REST calls, last second
        self._rate_lock = threading.Lock()
        self._random = random.Random(seed)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        # More member IZs sharing this one's NZ (consortium mode), by API key.
        self.zones: dict[str, MemberZone] = {}

    def add_institution(self, state: State, api_key: str) -> "MemberZone":
        """Another member IZ on this gateway: `state` (sharing this NZ, see
        State.share_nz) answered to `api_key`, with its own quota, per-second limit, job
        limits, faults and call counts; in Alma the key decides the institution."""
        if state.nz is not self.state.nz:
            state.share_nz(self.state)
        state.job_seconds = self.state.job_seconds
        zone = MemberZone(self, state, api_key)
        self.zones[api_key] = zone
        return zone

    def send_webhooks(self, url: str, secret: str) -> None:
        """Each member IZ sends Alma's JOB_END webhook to `url`, signed with `secret`, when a
        job instance ends, as a Webhooks integration profile subscribed to "Job end" does.
        Off until called; call after start() (the payload's links name the port)."""
        for state in [self.state, *(zone.state for zone in self.zones.values())]:
            state.webhook = WebhookProfile(url=url, secret=secret, base_url=self.base_url)

    def zone_for(self, key: str | None) -> "Simulator":
        """The member IZ a request's key belongs to (this one for its own key, the NZ's or none)."""
        return self.zones.get(key or "", self)

    # ---- life cycle --------------------------------------------------------------------
    @property
    def job_seconds(self) -> float:
        return self.state.job_seconds

    @job_seconds.setter
    def job_seconds(self, value: float) -> None:
        self.state.job_seconds = value
        for zone in self.zones.values():
            zone.state.job_seconds = value

    def start(self, port: int = 0) -> "Simulator":
        sim = self

        class _Handler(_AlmaHandler):
            simulator = sim

        self.state.stop_event.clear()
        self._server = _GatewayServer((self.host, port), _Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.state.stop_event.set()
        for zone in self.zones.values():
            zone.state.stop_event.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "Simulator":
        return self if self._server else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the simulator first"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def sru_url(self) -> str:
        return f"{self.base_url}/view/sru/{self.state.network_code}"

    def merge_nz(self, primary: str, duplicates: list[str]) -> None:
        """Merge Records and Combine Inventory in the NZ, as the Program Manager does in
        Alma's UI: only `primary` is left, IZ records linked to the duplicates follow it."""
        with self.state.lock:
            missing = [m for m in [primary, *duplicates] if m not in self.state.nz]
            if missing or primary in duplicates or not duplicates:
                raise ValueError(f"not NZ records to merge: {', '.join(missing) or primary}")
            self.state.merge_nz(primary, duplicates)

    # ---- call counting -----------------------------------------------------------------
    def count(self, key: str) -> None:
        with self._calls_lock:
            self.calls[key] += 1

    def reset_calls(self) -> None:
        with self._calls_lock:
            self.calls.clear()

    @property
    def total_calls(self) -> int:
        with self._calls_lock:
            return sum(self.calls.values())

    # ---- gates -------------------------------------------------------------------------
    def chance(self, rate: float) -> bool:
        return rate > 0 and self._random.random() < rate

    def over_per_second_limit(self) -> bool:
        limit = self.faults.per_second_limit or PER_SECOND_LIMIT
        now = time.monotonic()
        with self._rate_lock:
            while self._recent and now - self._recent[0] >= 1.0:
                self._recent.popleft()
            if len(self._recent) >= limit:
                return True
            self._recent.append(now)
            return False

    def key_allows(self, req: Request) -> bool:
        """Whether the key's permissions cover this call's API area and method."""
        area = "Bibs" if req.path.startswith("/almaws/v1/bibs") else (
            "Configuration" if req.path.startswith("/almaws/v1/conf") else None)
        if area is None:
            return True
        granted = self.key_permissions.get(area)
        return granted == "read/write" or (granted == "read" and req.method == "GET")

    def key_of(self, req: Request) -> str | None:
        header = req.headers.get("Authorization") or ""
        m = re.match(r"^\s*apikey\s+(\S+)\s*$", header, re.IGNORECASE)
        return m.group(1) if m else req.params.get("apikey")

    def key_ok(self, req: Request) -> bool:
        key = self.key_of(req)
        return (key == self.api_key or key in self.other_iz_keys
                or (bool(self.nz_api_key) and key == self.nz_api_key))

    def zone_of(self, req: Request) -> str:
        """ "nz" when the request came with the Network Zone's key, else "iz"."""
        return "nz" if self.nz_api_key and self.key_of(req) == self.nz_api_key else "iz"

    @property
    def control_url(self) -> str:
        """The simulator's own controls (not Alma's): merging NZ records as the PM would."""
        return f"{self.base_url}/_simulator"


class MemberZone:
    """A member IZ of a consortium simulator: the Simulator's methods, acting on this
    member's own state, key, faults, calls and per-second window; the NZ and the server
    are the Simulator's."""

    def __init__(self, sim: Simulator, state: State, api_key: str) -> None:
        self._sim = sim
        self.state = state
        self.api_key = api_key
        self.other_iz_keys: set[str] = set()
        self.faults = Faults()
        self.calls: Counter[str] = Counter()
        self._calls_lock = threading.Lock()
        self._recent: deque[float] = deque()
        self._rate_lock = threading.Lock()
        self._random = random.Random()

    def __getattr__(self, name: str):
        attr = getattr(type(self._sim), name, None)
        if callable(attr) and not isinstance(attr, type):  # a method: run it on this zone
            return attr.__get__(self)
        return getattr(self._sim, name)

    @property
    def institution_code(self) -> str:
        return self.state.institution_code


def member_key(api_key: str, number: int) -> str:
    """The API key of member IZ `number` (1-based) of a consortium simulator."""
    return api_key if number == 1 else f"{api_key}-{number}"


def consortium(n: int, *, api_key: str = "sim-key-local", job_seconds: float = 1.0,
               nz_api_key: str = "sim-nz-key", seed: int | None = None) -> Simulator:
    """A simulator (not started) serving `n` member IZs that share one NZ: member 1 on
    `api_key`, member k on member_key(api_key, k); its `zones` hold members 2..n."""
    from .seed import consortium_states

    states = consortium_states(n)
    sim = Simulator(state=states[0], api_key=api_key, job_seconds=job_seconds, nz_api_key=nz_api_key, seed=seed)
    for number, state in enumerate(states[1:], start=2):
        sim.add_institution(state, member_key(api_key, number))
    return sim


def serve(port: int = 0, *, api_key: str = "sim-key-local", job_seconds: float = 5.0,
          nz_api_key: str = "sim-nz-key", institutions: int = 1) -> int:
    """What `nzbot simulator` runs: the sample catalogue, served until Ctrl-C; with
    `institutions` > 1, that many member IZs sharing one NZ, each with its own key.
    It prints the settings that point `nzbot match`/`preview`/`run` at it, as `export`
    lines to paste, and the sample sets' ids. 1 when the port is taken (one line)."""
    import errno
    import sys

    try:
        sim = consortium(max(1, institutions), api_key=api_key, job_seconds=job_seconds,
                         nz_api_key=nz_api_key).start(port)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        print(f"nzbot simulator: port {port} is in use (another simulator?): choose another with --port.",
              file=sys.stderr)
        return 1
    for line in settings_lines(sim, api_key, nz_api_key, institutions):
        print(line)
    print("Press Ctrl-C to stop.", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


def settings_lines(sim: "Simulator", api_key: str, nz_api_key: str, institutions: int = 1) -> list[str]:
    """What `nzbot simulator` prints: the settings as `export` lines to paste into another
    terminal, each member IZ's key (a consortium), the sample sets and the merge control."""
    lines = ["Alma simulator running. To point nzbot at it, paste these lines into another terminal:",
             f"export ALMA_API_URL={sim.base_url}",
             f"export ALMA_API_KEY={api_key}",
             f"export ALMA_NZ_SRU_URL={sim.sru_url}",
             f"export ALMA_NZ_API_KEY={nz_api_key}"]
    if institutions > 1:
        lines.append("Each member IZ's key (ALMA_API_KEY above is IZ 1's; name these in NZBOT_CONFIG's api_key_env):")
        for number in range(1, institutions + 1):
            state = sim.state if number == 1 else sim.zones[member_key(api_key, number)].state
            lines.append(f"export ALMA_API_KEY_{number}={member_key(api_key, number)}"
                         f"  # IZ {number} {state.institution_code}")
    lines.append("Sample sets (nzbot preview SET_ID; SET_ID is the id or the exact name):")
    for stored in sim.state.sets.values():
        lines.append(f"  {stored.id}  {stored.name}, {len(stored.members)} members")
    lines.append(f"Merge NZ records as the Program Manager would: POST {sim.control_url}/nz/merge "
                 '{"primary": NZ_MMS_ID, "duplicates": [NZ_MMS_ID, ...]}')
    return lines


class _GatewayServer(ThreadingHTTPServer):
    """Alma's gateway sits behind a load balancer that takes every connection a client
    opens. socketserver's backlog of 5 would not: 40 members' clients connecting at once
    overflow it, the kernel drops their SYNs, and each retries 1, 3, 7, 15, 31 s later,
    stalls Alma never causes (seen as a minute's gap in bench/consortium.py at 100 members)."""

    daemon_threads = True
    request_queue_size = 1024


class _AlmaHandler(BaseHTTPRequestHandler):
    simulator: Simulator
    protocol_version = "HTTP/1.1"  # keep-alive, so clients with sessions stay fast
    server_version = "AlmaSimulator/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # quiet by default
        pass

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, keep-alive clients wait
        # ~40 ms per request on delayed ACKs.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        sim = self.simulator
        split = urlsplit(self.path)
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        if sim.zones:  # a consortium: the key says which member IZ answers
            sim = sim.zone_for(sim.key_of(Request(method, split.path, params, self.headers, b"", None)))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        is_sru = split.path.startswith("/view/sru")
        if split.path.startswith("/_simulator/"):
            self._control(method, split.path, body)
            return

        found = None
        for m_, pattern, key, fn in ROUTES:
            match = pattern.match(split.path)
            if match and m_ == method:
                found = (key, fn, match)
                break
        sim.count(found[0] if found else ("GET /view/sru" if is_sru else f"{method} (unknown)"))

        faults = sim.faults
        if sim.chance(faults.drop_rate):
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if faults.latency > 0:
            time.sleep(faults.latency)

        req = Request(method, split.path, params, self.headers, body, found[2] if found else None)
        if is_sru:
            self._sru(split.path, params)
            return
        try:
            if sim.chance(faults.error_rate):
                status = self._random_5xx()
                echoed = f" (request {method} {split.path}?apikey={sim.key_of(req)})" if faults.echo_key_in_errors else ""
                raise AlmaAnswer(status, P.SERVER_ERROR, "Internal server error; please retry." + echoed)
            if sim.over_per_second_limit():
                raise AlmaAnswer(
                    429, P.PER_SECOND_THRESHOLD, "HTTP requests are more than allowed per second"
                )
            if not sim.key_ok(req):
                raise AlmaAnswer(
                    401, P.UNAUTHORIZED, "API-key not defined or not configured to allow this API."
                )
            if not sim.key_allows(req):
                # Real Alma: 400 (not 401), and an XML web_service_result even to a JSON request.
                raise AlmaAnswer(
                    400, P.UNAUTHORIZED, "API-key not defined or not configured to allow this API.",
                    xml=True,
                )
            with sim.state.lock:
                if sim.state.quota_remaining <= 0:
                    raise AlmaAnswer(429, P.DAILY_THRESHOLD, "Daily API request threshold has been reached.")
                sim.state.quota_remaining -= 1
            if not found:
                raise AlmaAnswer(404, P.NOT_FOUND, f"No API at {method} {split.path}.")
            req.zone = sim.zone_of(req)
            if req.zone == "nz" and found[0] not in NZ_ROUTES:
                # the NZ key of nzbot's set-up has Bibs read/write only
                raise AlmaAnswer(400, P.UNAUTHORIZED, "API-key not defined or not configured to allow this API.",
                                 xml=True)  # as for the IZ key: XML even to a JSON request
            status, payload, kind = found[1](sim, req)
        except AlmaAnswer as e:
            xml = e.xml or not req.wants_json  # Alma answers errors in the format asked for
            body_out = P.error_xml(e.code, e.message) if xml else P.error_json(e.code, e.message)
            self._send(e.status, body_out, "application/xml" if xml else "application/json")
            return
        if kind == "json":
            self._send(status, json.dumps(payload).encode(), "application/json")
        elif kind == "xml":
            text = payload if payload.startswith("<?xml") else (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + payload
            )
            self._send(status, text.encode(), "application/xml")
        else:
            self._send(status, b"", None)

    def _control(self, method: str, path: str, body: bytes) -> None:
        """The simulator's controls, standing for what people do in Alma's UI."""
        if method == "POST" and path.rstrip("/") == "/_simulator/nz/merge":
            try:
                data = json.loads(body or b"{}")
                primary = str(data["primary"]).strip()
                duplicates = [str(d).strip() for d in data["duplicates"]]
                self.simulator.merge_nz(primary, duplicates)
            except (ValueError, KeyError, TypeError) as exc:
                self._send(400, json.dumps({"error": str(exc)}).encode(), "application/json")
                return
            self._send(200, json.dumps({"primary": primary, "merged": duplicates}).encode(), "application/json")
            return
        self._send(404, b'{"error": "no such control"}', "application/json")

    def _random_5xx(self) -> int:
        return 503 if self.simulator.chance(0.5) else 500

    def _sru(self, path: str, params: dict[str, str]) -> None:
        sim = self.simulator
        if sim.chance(sim.faults.error_rate):
            status = self._random_5xx()
            self._send(status, b"<html><body>Service unavailable</body></html>", "text/html")
            return
        if path.rstrip("/") != f"/view/sru/{sim.state.network_code}":
            self._send(404, b"<html><body>Not found</body></html>", "text/html")
            return
        self._send(200, sru.respond(sim.state, params).encode(), "text/xml;charset=UTF-8")

    def _send(self, status: int, body: bytes, content_type: str | None) -> None:
        try:
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Exl-Api-Remaining", str(max(0, self.simulator.state.quota_remaining)))
            self.send_header("Date", formatdate(usegmt=True))
            self.end_headers()
            if body:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


# ======================================================================================
# Endpoints
# ======================================================================================
def _answer(req: Request, obj: dict[str, Any], xml_root: str, status: int = 200):
    obj = P.without_empty_list(obj)
    if req.wants_json:
        return status, obj, "json"
    return status, P.to_xml(xml_root, obj), "xml"


def _page(req: Request, default: int = 10) -> tuple[int, int]:
    try:
        limit = int(req.params.get("limit", default))
        offset = int(req.params.get("offset", 0))
    except ValueError:
        raise bad(P.PARAMETER_NOT_VALID, "Parameters limit and offset must be numbers.") from None
    if not 0 <= limit <= MAX_PAGE:
        raise bad(P.PARAMETER_NOT_VALID, f"Parameter limit is not valid: {limit}; maximum is {MAX_PAGE}.")
    if offset < 0:
        raise bad(P.PARAMETER_NOT_VALID, f"Parameter offset is not valid: {offset}.")
    return limit, offset


def _check_mms_id(mms_id: str) -> None:
    if not mms_id.isdigit():
        raise bad(P.MMS_ID_NOT_NUMERIC, f"Input parameters mmsId {mms_id} is not numeric.")


# ---- bibs ------------------------------------------------------------------------------
@route("GET", "/almaws/v1/bibs")
def get_bibs(sim: Simulator, req: Request):
    state, base = sim.state, sim.base_url
    brief = req.params.get("view", "full") == "brief"
    if "nz_mms_id" in req.params:
        nz_id = req.params["nz_mms_id"].strip()
        _check_mms_id(nz_id)
        ids = state.iz_ids_linked_to(nz_id)
    elif req.params.get("mms_id", "").strip():
        ids = [i.strip() for i in req.params["mms_id"].split(",") if i.strip()]
        if len(ids) > MAX_IDS_PER_GET:
            raise bad(
                P.MMS_ID_LIST_NOT_VALID,
                f"The number of MMS IDs ({len(ids)}) exceeds the maximum of {MAX_IDS_PER_GET}.",
            )
        for i in ids:
            _check_mms_id(i)
    else:
        raise bad(P.BIBS_GENERAL_ERROR, "One of the parameters mms_id, nz_mms_id is mandatory.")
    with state.lock:
        bibs = [P.bib_json(state, state.iz[i], base, brief=brief) for i in dict.fromkeys(ids) if i in state.iz]
    if req.wants_json:
        return 200, P.without_empty_list({"bib": bibs, "total_record_count": len(bibs)}), "json"
    inner = "".join(P.bib_xml(b) for b in bibs)
    return 200, f'<bibs total_record_count="{len(bibs)}">{inner}</bibs>', "xml"


def _iz_bib(sim: Simulator, mms_id: str):
    _check_mms_id(mms_id)
    bib = sim.state.iz.get(mms_id)
    if bib is None:
        raise bad(P.MMS_ID_NOT_VALID, f"Input parameters mmsId {mms_id} is not valid.")
    return bib


def _one_bib(sim: Simulator, req: Request, bib, status: int = 200):
    with sim.state.lock:
        obj = P.bib_json(sim.state, bib, sim.base_url, brief=req.params.get("view") == "brief")
    if req.wants_json:
        return status, obj, "json"
    return status, P.bib_xml(obj), "xml"


@route("GET", "/almaws/v1/bibs/{mms_id}")
def get_bib(sim: Simulator, req: Request):
    if req.zone == "nz":
        return _one_bib(sim, req, _as_bib(_nz_bib(sim, req.match["mms_id"])))
    return _one_bib(sim, req, _iz_bib(sim, req.match["mms_id"]))


def _nz_bib(sim: Simulator, mms_id: str):
    """A record of the Network Zone, asked for with the NZ's key. With the IZ's key the
    same MMS ID is not one of the institution's records (_iz_bib answers that)."""
    _check_mms_id(mms_id)
    bib = sim.state.nz.get(mms_id)
    if bib is None:
        raise bad(P.MMS_ID_NOT_VALID, f"Input parameters mmsId {mms_id} is not valid.")
    return bib


def _as_bib(nz):
    """An NZ record in the shape bib_json reads (an NZ record is linked to nothing)."""
    from .state import IzBib

    return IzBib(nz.mms_id, nz.marc, None, nz.case, created_date=nz.created_date)


def _put_nz_bib(sim: Simulator, req: Request):
    """PUT with the NZ key: the whole NZ record is replaced (001 kept), re-indexed for SRU
    and the link job, so linked IZ records show the change."""
    nz = _nz_bib(sim, req.match["mms_id"])
    incoming = _xml_body_record(req)
    with sim.state.lock:
        if nz.mms_id in sim.faults.saved_meanwhile:
            sim.faults.saved_meanwhile.discard(nz.mms_id)
            sim.state.set_nz_marc(nz.mms_id, _edited_meanwhile(sim, nz.marc))
        _check_version(req, sim.state.nz[nz.mms_id].marc, incoming, sim.state.answers)
        for f in incoming.get_fields("001"):
            incoming.remove_field(f)
        incoming.add_ordered_field(Field(tag="001", data=nz.mms_id))
        sim.state.set_nz_marc(nz.mms_id, _stamped(sim, incoming))
        obj = P.bib_json(sim.state, _as_bib(sim.state.nz[nz.mms_id]), sim.base_url)
    return 200, P.bib_xml(obj), "xml"


# Alma's 005 is the date and time of the record's latest save (yyyymmddhhmmss.f); PUT
# /bibs/{mms_id} with stale_version_check=true refuses a record whose 005 is not the one
# stored, 400 4022034 "A newer version of this record exists in the repository."
# (bibs.json, PUT /bibs/{mms_id}: the parameter and the error): so a save made from a copy
# read before someone else's save cannot overwrite it.
def _check_version(req: Request, stored: Marc, incoming, answers=None) -> None:
    if req.params.get("stale_version_check", "false").lower() != "true":
        return
    if answers is not None and answers.no_005_passes_version_check and not _version(incoming):
        return  # AlmaAnswers: this Alma saves a record that has no 005 to compare
    if _version(stored.record()) != _version(incoming):
        raise bad(P.NEWER_VERSION_EXISTS, "A newer version of this record exists in the repository.")


def _version(record) -> str:
    return next((f.data for f in record.get_fields("005")), "")


def _stamped(sim: Simulator, record) -> Marc:
    """The record as saved: its 005 says when (each save a later one than the last)."""
    for f in record.get_fields("005"):
        record.remove_field(f)
    record.add_ordered_field(Field(tag="005", data=sim.state.next_version()))
    return Marc.from_record(record)


def _edited_meanwhile(sim: Simulator, stored: Marc) -> Marc:
    """A cataloger's save in the Metadata Editor: a note added (Faults.saved_meanwhile)."""
    record = stored.record()
    record.add_ordered_field(Field(tag="500", indicators=[" ", " "],
                                   subfields=[Subfield("a", EDITED_MEANWHILE)]))
    return _stamped(sim, record)


EDITED_MEANWHILE = "Note added in the Metadata Editor while nzbot was editing the record."


def _xml_body_record(req: Request):
    """The MARC record inside a <bib> XML body; bib updates are XML only in Alma."""
    if req.sent_json or not req.body.lstrip().startswith(b"<"):
        raise bad(P.JSON_NOT_SUPPORTED, "This API supports only XML for the request body (Content-Type: application/xml).")
    try:
        root = ET.fromstring(req.body)
    except ET.ParseError as e:
        raise bad(P.BIBS_GENERAL_ERROR, f"The XML body could not be parsed: {e}") from None
    record = next((e for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "record"), None)
    if record is None:
        raise bad(P.BIBS_GENERAL_ERROR, "The bib has no MARC <record>.")
    return record_from_string(record_element_to_string(record))


@route("PUT", "/almaws/v1/bibs/{mms_id}")
def put_bib(sim: Simulator, req: Request):
    if req.match["mms_id"] in sim.faults.refuse_put:
        raise bad(P.CATALOGER_LEVEL_TOO_LOW, "Cannot update this record due to insufficient cataloger level privileges.")
    if req.zone == "nz":
        return _put_nz_bib(sim, req)
    bib = _iz_bib(sim, req.match["mms_id"])
    incoming = _xml_body_record(req)
    with sim.state.lock:
        if bib.linked_nz_id:
            # the NZ part is not ours (and its 005 is the NZ's: no version check is played here)
            bib.marc = replace_local_fields(bib.marc, incoming)
        else:
            if bib.mms_id in sim.faults.saved_meanwhile:
                sim.faults.saved_meanwhile.discard(bib.mms_id)
                bib.marc = _edited_meanwhile(sim, bib.marc)
            _check_version(req, bib.marc, incoming, sim.state.answers)
            for f in incoming.get_fields("001"):
                incoming.remove_field(f)
            incoming.add_ordered_field(Field(tag="001", data=bib.mms_id))
            bib.marc = _stamped(sim, incoming)
        obj = P.bib_json(sim.state, bib, sim.base_url)
    return 200, P.bib_xml(obj), "xml"  # bib updates are XML in and out


@route("DELETE", "/almaws/v1/bibs/{mms_id}")
def delete_bib(sim: Simulator, req: Request):
    """Deletes an NZ record with the NZ key (what a probe's cleanup needs; bibs.json, DELETE
    /bibs/{mms_id}: 4022020 "Delete Bib error" while IZ records are still linked to it)."""
    if req.zone != "nz":
        raise bad(P.BIBS_GENERAL_ERROR, "The simulator deletes only NZ records (with the NZ key).")
    nz = _nz_bib(sim, req.match["mms_id"])
    with sim.state.lock:
        if any(member.iz_ids_linked_to(nz.mms_id) for member in sim.state._nz_owner._nz_members):
            raise bad(P.DELETE_BIB_ERROR, "Delete Bib error.")
        sim.state.remove_nz(nz.mms_id)
    return 204, None, "empty"


@route("POST", "/almaws/v1/bibs/{mms_id}")
def post_bib(sim: Simulator, req: Request):
    """Only op=unlink_from_nz exists (XML only): the IZ record keeps its shown MARC."""
    bib = _iz_bib(sim, req.match["mms_id"])
    if req.params.get("op") != "unlink_from_nz":
        raise bad(P.BIBS_GENERAL_ERROR, f"Parameter op value {req.params.get('op', '')} is not valid.")
    if req.sent_json:
        raise bad(P.JSON_NOT_SUPPORTED, "This API supports only XML for the request body.")
    with sim.state.lock:
        if bib.linked_nz_id:
            bib.marc = sim.state.shown_marc(bib)
            sim.state.unlink(bib.mms_id)
    return _one_bib(sim, req, bib)


# ---- sets ------------------------------------------------------------------------------
def _the_set(sim: Simulator, set_id: str):
    s = sim.state.sets.get(set_id)
    if s is None:
        raise bad(P.SET_NOT_FOUND, "Invalid set ID.")
    return s


@route("GET", "/almaws/v1/conf/sets")
def list_sets(sim: Simulator, req: Request):
    limit, offset = _page(req)
    q = req.params.get("q", "")
    wanted_name = None
    if q:
        m = re.match(r"^name~(.*)$", q, re.IGNORECASE)
        if not m:
            raise bad(P.QUERY_NOT_VALID, f"Parameter q value {q} is not valid; use name~TEXT.")
        wanted_name = m.group(1).strip().lower()
    content = req.params.get("content_type", "")
    set_type = req.params.get("set_type", "")
    with sim.state.lock:
        found = [
            s
            for s in sim.state.sets.values()
            if (wanted_name is None or wanted_name in s.name.lower())
            and (not content or s.content == content)
            and (not set_type or s.type == set_type)
        ]
        page = [P.set_json(s, sim.base_url) for s in found[offset : offset + limit]]
    return _answer(req, {"set": page, "total_record_count": len(found)}, "sets")


@route("GET", "/almaws/v1/conf/sets/{set_id}")
def get_set(sim: Simulator, req: Request):
    with sim.state.lock:
        return _answer(req, P.set_json(_the_set(sim, req.match["set_id"]), sim.base_url), "set")


@route("DELETE", "/almaws/v1/conf/sets/{set_id}")
def delete_set(sim: Simulator, req: Request):
    with sim.state.lock:
        if req.match["set_id"] not in sim.state.sets:
            raise bad(P.SET_ID_NOT_VALID, "Invalid Set ID.")
        del sim.state.sets[req.match["set_id"]]
    return 204, None, "empty"


@route("GET", "/almaws/v1/conf/sets/{set_id}/members")
def get_members(sim: Simulator, req: Request):
    limit, offset = _page(req)
    with sim.state.lock:
        s = _the_set(sim, req.match["set_id"])
        ids = s.member_ids()[offset : offset + limit]
        members = [P.member_json(sim.state, s, i, sim.base_url) for i in ids]
        total = len(s.members)
    return _answer(req, {"member": members, "total_record_count": total}, "members")


def _member_ids(body: dict[str, Any]) -> list[str]:
    members = (body.get("members") or {}).get("member") or []
    if isinstance(members, dict):
        members = [members]
    return [str(m.get("id", "")).strip() for m in members if str(m.get("id", "")).strip()]


def _check_members(sim: Simulator, req: Request, s, ids: list[str], op: str = "add_members") -> list[str]:
    if len(ids) > MAX_MEMBERS_PER_CALL:
        raise bad(P.TOO_MANY_MEMBERS, "Input set member list exceeds limit.")
    if len(set(ids)) < len(ids):
        raise bad(P.DUPLICATE_MEMBER, "Input set with duplicate member.")
    # Whether fail_on_invalid_id=false also lets an id already in the set through is
    # unconfirmed: refused, as the spec's 60115 says.
    if op == "add_members" and any(i in s.members for i in ids):
        raise bad(P.MEMBER_IN_SET, "A member ID is already in the set.")
    if s.content != "BIB_MMS":
        return ids
    invalid = [i for i in ids if i not in sim.state.iz]
    if invalid and req.params.get("fail_on_invalid_id", "true").lower() == "true":
        raise bad(P.INVALID_MEMBER, "A member ID is not valid for the content.")
    return [i for i in ids if i not in invalid]


@route("POST", "/almaws/v1/conf/sets")
def create_set(sim: Simulator, req: Request):
    # Alma makes an itemized set empty, whatever members the body names: "In order to create
    # an itemized set, first create an empty set using this API, and then use the Manage
    # Members API to populate it" (Ex Libris' OpenAPI, conf.json, post/almaws/v1/conf/sets;
    # its published example answers number_of_members 0 to a body with a member list).
    body = req.json_body()
    name = str(body.get("name") or "").strip()
    if not name:
        raise bad(P.SETS_GENERAL_ERROR, "Mandatory field name is missing.")
    set_type = ((body.get("type") or {}).get("value") or "ITEMIZED").upper()
    content = ((body.get("content") or {}).get("value") or "BIB_MMS").upper()
    if set_type not in ("ITEMIZED", "LOGICAL"):
        raise bad(P.SET_TYPE_NOT_VALID, f"Set type {set_type} is not valid.")
    with sim.state.lock:
        if any(other.name == name for other in sim.state.sets.values()):
            raise bad(P.SET_NAME_EXISTS, "The set name already exists. Please choose a different name.")
        s = sim.state.make_set(
            name,
            content=content,
            type=set_type,
            description=str(body.get("description") or ""),
            query=str((body.get("query") or {}).get("value") or ""),
            created_by="exl_api",
        )
        return _answer(req, P.set_json(s, sim.base_url), "set")


@route("POST", "/almaws/v1/conf/sets/{set_id}")
def change_members(sim: Simulator, req: Request):
    op = req.params.get("op", "")
    if op not in ("add_members", "delete_members", "replace_members"):
        raise bad(P.SET_OPERATION_NOT_VALID, f"Parameter op value {op} is not valid.")
    body = req.json_body()
    with sim.state.lock:
        s = _the_set(sim, req.match["set_id"])
        if s.type != "ITEMIZED":
            raise bad(P.SET_TYPE_NOT_ITEMIZED, "Members can be changed only in an itemized set.")
        ids = _check_members(sim, req, s, _member_ids(body), op)
        if op == "add_members":
            for i in ids:
                s.members.setdefault(i, "")
        elif op == "delete_members":
            for i in ids:
                s.members.pop(i, None)
        else:
            s.members = dict.fromkeys(ids, "")
        s.changed()
        return _answer(req, P.set_json(s, sim.base_url), "set")


# ---- jobs ------------------------------------------------------------------------------
def _the_job(sim: Simulator, job_id: str):
    job = sim.state.jobs.get(job_id)
    if job is None:
        raise bad(P.JOB_NOT_FOUND, "Invalid job id.")
    return job


@route("GET", "/almaws/v1/conf/jobs")
def list_jobs(sim: Simulator, req: Request):
    limit, offset = _page(req)
    job_type = req.params.get("type", "").upper()
    with sim.state.lock:
        found = [j for j in sim.state.jobs.values() if not job_type or j.type == job_type]
    page = [P.job_json(j, sim.base_url) for j in found[offset : offset + limit]]
    return _answer(req, {"job": page, "total_record_count": len(found)}, "jobs")


@route("GET", "/almaws/v1/conf/jobs/{job_id}")
def get_job(sim: Simulator, req: Request):
    return _answer(req, P.job_json(_the_job(sim, req.match["job_id"]), sim.base_url), "job")


def _job_params(req: Request) -> dict[str, str]:
    """Parameters from the JSON ({"parameter":[{"name":{"value"}, "value"}]}) or XML body."""
    params: dict[str, str] = {}
    if req.body.lstrip().startswith(b"<"):
        try:
            root = ET.fromstring(req.body)
        except ET.ParseError as e:
            raise bad(P.JOB_MISSING_PARAMETER, f"The XML body could not be parsed: {e}") from None
        for p in root.iter("parameter"):
            params[(p.findtext("name") or "").strip()] = (p.findtext("value") or "").strip()
        return params
    body = req.json_body()
    items = body.get("parameter") or []
    if isinstance(items, dict):
        items = [items]
    for p in items:
        name = p.get("name")
        name = name.get("value") if isinstance(name, dict) else name
        params[str(name or "").strip()] = str(p.get("value") or "").strip()
    return params


@route("POST", "/almaws/v1/conf/jobs/{job_id}")
def run_job(sim: Simulator, req: Request):
    job = _the_job(sim, req.match["job_id"])
    if not req.params.get("op"):
        raise bad(P.OPERATION_MISSING, "Operation was not provided.")
    if req.params.get("op") != "run":
        raise bad(P.OPERATION_NOT_SUPPORTED, f"Operation {req.params['op']} is not supported.")
    params = _job_params(req)
    try:
        run = submit(sim.state, job.id, params, by_api=True)
    except JobRefused as e:
        raise bad(e.code, e.message) from None
    out = P.job_json(job, sim.base_url)
    out["parameter"] = [{"name": {"value": k}, "value": v} for k, v in params.items()]
    out["additional_info"] = {
        "value": f"Job no. {run.id} triggered on {formatdate(run.submit_time.timestamp(), usegmt=True)}",
        "link": f"{sim.base_url}/almaws/v1/conf/jobs/{job.id}/instances/{run.id}",
    }
    if sim.faults.run_answer != "link":
        del out["additional_info"]["link"]
    if sim.faults.run_answer == "none":
        del out["additional_info"]
    link = out.pop("link")
    out["link"] = link  # keep Alma's order: link last
    return _answer(req, out, "job")


@route("GET", "/almaws/v1/conf/jobs/{job_id}/instances")
def list_runs(sim: Simulator, req: Request):
    job = _the_job(sim, req.match["job_id"])
    limit, offset = _page(req)
    date_from = req.params.get("submit_date_from", "")
    date_to = req.params.get("submit_date_to", "")
    status = req.params.get("status", "")
    for d in (date_from, date_to):
        if d and not re.match(r"^\d{4}-\d{2}-\d{2}Z?$", d):
            raise bad(P.DATE_NOT_VALID, f"Date {d} is not valid; use YYYY-MM-DD.")
    with sim.state.lock:
        runs = [
            r
            for r in sim.state.runs.values()
            if r.job_id == job.id
            and (not date_from or r.submit_time.strftime("%Y-%m-%d") >= date_from[:10])
            and (not date_to or r.submit_time.strftime("%Y-%m-%d") <= date_to[:10])
            and (not status or r.status == status)
        ]
        runs.sort(key=lambda r: r.submit_time, reverse=True)  # newest first
        page = [P.run_json(r, job, sim.base_url, sim.state.answers.counter_key_prefix) for r in runs[offset : offset + limit]]
    return _answer(req, {"job_instance": page, "total_record_count": len(runs)}, "job_instances")


@route("GET", "/almaws/v1/conf/jobs/{job_id}/instances/{instance_id}/matches")
def get_run_matches(sim: Simulator, req: Request):
    """conf.json: "single and multi match details for an import job" (match[] with
    incoming_record_id and mms_ids "a, b"). For the link job: AlmaAnswers.multi_matches_listed."""
    job = _the_job(sim, req.match["job_id"])
    if req.params.get("population") not in ("SINGLE_MATCHES", "MULTI_MATCHES"):
        raise bad(P.PARAMETER_NOT_VALID, "Population value is invalid.")
    with sim.state.lock:
        run = sim.state.runs.get(req.match["instance_id"])
        if run is None or run.job_id != job.id:
            raise bad(P.INSTANCE_NOT_FOUND, "Invalid job instance id.")
        if not sim.state.answers.multi_matches_listed:
            raise bad(P.JOBS_GENERAL_ERROR, "General error.")
        found = [] if req.params["population"] != "MULTI_MATCHES" else [
            {"incoming_record_id": iz_id, "mms_ids": ", ".join(nz_ids)} for iz_id, nz_ids in run.multi_matches.items()]
    limit, offset = _page(req)
    return _answer(req, {"match": found[offset: offset + limit], "total_record_count": len(found)},
                   "matches")


@route("GET", "/almaws/v1/conf/jobs/{job_id}/instances/{instance_id}")
def get_run(sim: Simulator, req: Request):
    job = _the_job(sim, req.match["job_id"])
    with sim.state.lock:
        run = sim.state.runs.get(req.match["instance_id"])
        if run is None or run.job_id != job.id:
            raise bad(P.INSTANCE_NOT_FOUND, "Invalid job instance id.")
        return _answer(req, P.run_json(run, job, sim.base_url, sim.state.answers.counter_key_prefix), "job_instance")
